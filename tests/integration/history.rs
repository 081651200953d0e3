//! A real review history: 1348 commits of a project that reviews every
//! change in Gerrit, with people and addresses replaced by made-up ones
//! (`tests/data/crypto-history`). The expected counts were computed with
//! git's own trailer parser (`git log --format=%(trailers:...)`) under the
//! same rule: distinct people named by `Reviewed-by` addresses, never the
//! author, a `Co-authored-by` or a `Co-developed-by`.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;
use tempfile::TempDir;

use crate::support::{Config, ZERO_ID, explain, git_command, run_with_input};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/crypto-history");

/// The tip of `main` after the import; the import is deterministic.
const MAIN: &str = "dff9ec01e90feb632e88c91f24202ddea934a454";

/// Commits reachable from [`MAIN`].
const COMMITS: u64 = 1348;

/// A bare repository with the history imported.
struct History {
    root: TempDir,
    repo: PathBuf,
}

fn import() -> History {
    let root = tempfile::tempdir().expect("cannot create a temporary directory");
    let home = root.path().join("home");
    fs::create_dir(&home).expect("cannot create the temporary HOME");
    let repo = root.path().join("history.git");
    let run = |dir: &Path, args: &[&str], input: &[u8]| {
        let mut command = git_command(&home, dir);
        command.args(args);
        let output = run_with_input(&mut command, input);
        assert!(
            output.status.success(),
            "{command:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("git output is UTF-8")
    };
    run(
        root.path(),
        &["init", "--quiet", "--bare", "-b", "main", "history.git"],
        b"",
    );
    let stream = fs::read(Path::new(DATA).join("history.fi")).expect("cannot read history.fi");
    run(&repo, &["fast-import", "--quiet"], &stream);
    let main = run(&repo, &["rev-parse", "refs/heads/main"], b"");
    assert_eq!(main.trim(), MAIN);
    History { root, repo }
}

/// Runs explain for the creation of `main` under a rule with `settings`,
/// and returns (checked, accepted) commit counts.
fn accepted_commits(history: &History, people: bool, settings: &str) -> (u64, u64) {
    let mut config = Config::new();
    if people {
        let table = fs::read_to_string(Path::new(DATA).join("people.toml"))
            .expect("cannot read people.toml");
        config = config.raw(&table);
    }
    let config = config.rule("main", &["refs/heads/main"], settings);
    let root = history.root.path();
    let config_path = root.join(format!(
        "foureyes-{}.toml",
        if people { "people" } else { "none" }
    ));
    let text = config.to_toml(
        &root.join("unused.sock"),
        root,
        &root.join("unused-syslog.sock"),
    );
    fs::write(&config_path, text).expect("cannot write the configuration");

    let output = explain(
        &[
            "--config",
            config_path.to_str().expect("temporary paths are UTF-8"),
            "--repo",
            history.repo.to_str().expect("temporary paths are UTF-8"),
            "--format",
            "json",
            ZERO_ID,
            MAIN,
            "refs/heads/main",
        ],
        "",
    );
    let verdict: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|err| {
        panic!(
            "explain output is not JSON ({err}): {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let reference = &verdict["refs"][0];
    let checked = reference["checked"].as_u64().expect("checked is a number");
    let accepted = reference["commits"]
        .as_array()
        .expect("commits is an array")
        .iter()
        .filter(|commit| commit["accepted"] == true)
        .count() as u64;
    (checked, accepted)
}

/// Returns the rule settings shared by every case. explain runs without a
/// pusher, so the rule must not need one.
fn settings(min_reviewers: usize, extra: &str) -> String {
    format!("min_reviewers = {min_reviewers}\nreviewer_may_be_pusher = true\n{extra}")
}

#[test]
fn history_one_reviewer() {
    let history = import();

    let (checked, accepted) = accepted_commits(&history, true, &settings(1, ""));

    assert_eq!(checked, COMMITS);
    assert_eq!(accepted, 1088);
}

#[test]
fn history_two_reviewers() {
    let history = import();

    let (checked, accepted) = accepted_commits(&history, true, &settings(2, ""));

    assert_eq!(checked, COMMITS);
    assert_eq!(accepted, 397);
}

#[test]
fn history_three_reviewers() {
    let history = import();

    let (checked, accepted) = accepted_commits(&history, true, &settings(3, ""));

    assert_eq!(checked, COMMITS);
    assert_eq!(accepted, 175);
}

#[test]
fn history_addresses_without_people() {
    let history = import();

    let (checked, accepted) = accepted_commits(
        &history,
        false,
        &settings(2, "unknown_reviewers = \"count\""),
    );

    assert_eq!(checked, COMMITS);
    assert_eq!(accepted, 418);
}
