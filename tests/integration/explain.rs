//! `foureyes explain`: the JSON shape, exit codes and where updates come
//! from. It runs without a daemon, on the work clone of a [`Remote`].

use std::fs;
use std::path::PathBuf;
use std::process::Output;

use serde_json::Value;
use tempfile::TempDir;

use crate::support::{ALICE, BOB, CAROL, Config, Remote, ZERO_ID, explain, reviewed};

/// A work clone with one reviewed and one unreviewed commit on `main`, and
/// a configuration that requires two reviewers on `refs/heads/main`.
struct Setup {
    _root: TempDir,
    remote: Remote,
    config: PathBuf,
    reviewed: String,
    unreviewed: String,
}

fn setup() -> Setup {
    let root = tempfile::tempdir().expect("cannot create a temporary directory");
    let socket = root.path().join("unused.sock");
    let remote = Remote::new(root.path(), "explain", &socket);
    let reviewed = remote.commit("main", ALICE, &reviewed("Reviewed change", &[BOB, CAROL]));
    let unreviewed = remote.commit("main", ALICE, "Unreviewed change\n");
    let config = root.path().join("foureyes.toml");
    let text = Config::team()
        .rule("main", &["refs/heads/main"], "min_reviewers = 2")
        .to_toml(
            &socket,
            root.path(),
            &root.path().join("unused-syslog.sock"),
        );
    fs::write(&config, text).expect("cannot write the configuration");
    Setup {
        _root: root,
        remote,
        config,
        reviewed,
        unreviewed,
    }
}

impl Setup {
    /// Runs `foureyes explain --format json` as pusher Dave with `updates`
    /// as arguments (empty: none) and `stdin`.
    fn explain(&self, updates: &[&str], stdin: &str) -> Output {
        let config = self.config.to_str().expect("temporary paths are UTF-8");
        let repo = self
            .remote
            .work()
            .to_str()
            .expect("temporary paths are UTF-8");
        let mut args = vec![
            "--config", config, "--repo", repo, "--pusher", "dave", "--format", "json",
        ];
        args.extend_from_slice(updates);
        explain(&args, stdin)
    }
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|err| {
        panic!(
            "explain output is not JSON ({err}):\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

#[test]
fn explain_json_shape() {
    let setup = setup();

    // main already points to the tip. The update's old id (zero) is what
    // hides commits for main itself, so both commits are checked.
    let output = setup.explain(&[ZERO_ID, &setup.unreviewed, "refs/heads/main"], "");

    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let verdict = json(&output);
    assert_eq!(verdict["decision"], "reject");
    assert_eq!(verdict["refs"].as_array().map(Vec::len), Some(1));
    let reference = &verdict["refs"][0];
    assert_eq!(reference["ref"], "refs/heads/main");
    assert_eq!(reference["decision"], "reject");
    assert_eq!(reference["rule"], "main");
    let commits = reference["commits"]
        .as_array()
        .expect("commits is an array");
    assert_eq!(commits.len(), 2);

    // Newest first: the unreviewed commit, then the reviewed one.
    assert_eq!(commits[0]["id"], setup.unreviewed.as_str());
    assert_eq!(commits[0]["accepted"], false);
    assert_eq!(commits[0]["reviewers"], serde_json::json!([]));
    assert_eq!(
        commits[0]["problems"],
        serde_json::json!(["has 0 of 2 required reviewers"])
    );
    assert_eq!(commits[1]["id"], setup.reviewed.as_str());
    assert_eq!(commits[1]["accepted"], true);
    assert_eq!(commits[1]["reviewers"], serde_json::json!(["bob", "carol"]));
    assert_eq!(commits[1]["problems"], serde_json::json!([]));
}

#[test]
fn explain_accepted_exits_zero() {
    let setup = setup();

    let output = setup.explain(&[ZERO_ID, &setup.reviewed, "refs/heads/main"], "");

    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let verdict = json(&output);
    assert_eq!(verdict["decision"], "accept");
    assert_eq!(verdict["refs"][0]["decision"], "accept");
    assert_eq!(verdict["refs"][0]["commits"][0]["accepted"], true);
}

#[test]
fn explain_reads_updates_from_stdin() {
    let setup = setup();
    let stdin = format!(
        "{ZERO_ID} {} refs/heads/main\n{ZERO_ID} {} refs/heads/topic\n",
        setup.reviewed, setup.unreviewed
    );

    let output = setup.explain(&[], &stdin);

    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let verdict = json(&output);
    assert_eq!(verdict["decision"], "accept");
    let refs = verdict["refs"].as_array().expect("refs is an array");
    assert_eq!(refs.len(), 2);
    assert_eq!(refs[0]["ref"], "refs/heads/main");
    assert_eq!(refs[0]["rule"], "main");
    assert_eq!(refs[1]["ref"], "refs/heads/topic");
    assert_eq!(refs[1]["rule"], Value::Null);
    assert_eq!(refs[1]["decision"], "accept");
}

#[test]
fn explain_malformed_stdin_exits_two() {
    let setup = setup();

    let output = setup.explain(&[], "not an update line\n");

    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("line 1 of standard input"), "{stderr}");
}

#[test]
fn explain_accepts_ref_names() {
    let setup = setup();

    let by_name = setup.explain(&[ZERO_ID, "main", "refs/heads/main"], "");
    let by_head = setup.explain(&[ZERO_ID, "HEAD", "refs/heads/main"], "");
    let by_id = setup.explain(&[ZERO_ID, &setup.unreviewed, "refs/heads/main"], "");

    assert_eq!(by_name.status.code(), Some(1));
    assert_eq!(json(&by_name)["refs"], json(&by_id)["refs"]);
    assert_eq!(json(&by_head)["refs"], json(&by_id)["refs"]);
}

#[test]
fn explain_unknown_name_is_usage_error() {
    let setup = setup();

    let output = setup.explain(&[ZERO_ID, "no-such-branch", "refs/heads/main"], "");

    assert_eq!(output.status.code(), Some(2));
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(
        text.contains("\"no-such-branch\" is neither a full object id nor a ref"),
        "{text}"
    );
}
