//! Bad inputs from every side: raw protocol frames sent straight to the
//! daemon's socket, hostile environments and paths for the hook, invalid
//! refs and objects, and commit messages built to confuse the parser or the
//! pusher's terminal.
//!
//! Each table row names the case, the setup, the exact outcome (hook exit
//! status, daemon decision or whether the ref moved) and a stable fragment
//! of the message. After every table the daemon must still decide a valid
//! push correctly, so no case may take it down.

use std::collections::BTreeSet;
use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use foureyes::protocol::{Decision, Request, Response};

use crate::support::{
    ALICE, BOB, CAROL, Config, Daemon, FOUREYES_BIN, Launch, PUSHER_VARIABLE, RawClient, Remote,
    ZERO_ID, git_command, request, reviewed, run_with_input,
};

/// Exit status of the hook when the policy rejects the push.
const REJECTED: i32 = 1;

/// Exit status of the hook when the push is undecided.
const UNDECIDED: i32 = 2;

/// `[limits]` of the daemon that receives raw frames: a short idle timeout
/// so the idle case ends quickly, and request limits that a test can
/// exceed without sending hundreds of megabytes.
const RAW_LIMITS: &str = "idle_timeout_ms = 300\nmax_refs = 10000\nmax_request_bytes = 2000000";

/// `max_request_bytes` of [`RAW_LIMITS`].
const MAX_REQUEST_BYTES: usize = 2_000_000;

/// How long a test waits for something that must happen.
const WAIT_LIMIT: Duration = Duration::from_secs(20);

/// Returns the team and one rule that protects every branch with one
/// reviewer.
fn protect_branches() -> Config {
    Config::team().rule("branches", &["refs/heads/*"], "min_reviewers = 1")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Makes a commit on `branch` of the work clone and returns its id. The
/// commit is copied into the bare repository as `refs/keep/<branch>`, which
/// no rule matches, so it exists there without hiding it from the checks.
fn stored_commit(remote: &Remote, branch: &str, message: &str) -> String {
    let id = remote.commit(branch, ALICE, message);
    store(remote, &format!("refs/heads/{branch}"), branch);
    id
}

/// Copies `refname` of the work clone into the bare repository as
/// `refs/keep/<name>`.
fn store(remote: &Remote, refname: &str, name: &str) {
    remote.fetch_into_bare(refname, &format!("refs/keep/{name}"));
}

// --- Raw frames ---------------------------------------------------------------

/// What must follow a raw frame.
#[derive(Debug)]
enum After {
    /// The daemon closes the connection without a response and logs a line
    /// that contains the fragment.
    Closed(&'static str),
    /// The daemon responds with this decision and a message that contains
    /// the fragment.
    Answer(Decision, &'static str),
}

/// One raw-frame case: the bytes sent after the greeting, and whether the
/// client then closes its sending half.
struct FrameCase {
    name: &'static str,
    bytes: Vec<u8>,
    close: bool,
    after: After,
}

/// Returns a frame whose length prefix announces `payload`'s length.
fn frame(payload: &[u8]) -> Vec<u8> {
    let mut bytes = u32::try_from(payload.len())
        .expect("test payloads are small")
        .to_be_bytes()
        .to_vec();
    bytes.extend_from_slice(payload);
    bytes
}

/// Returns `request` as JSON with `edit` applied to the object.
fn edited_json(
    request: &Request,
    edit: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>),
) -> Vec<u8> {
    let mut value = serde_json::to_value(request).expect("requests serialize");
    edit(value.as_object_mut().expect("a request is a JSON object"));
    serde_json::to_vec(&value).expect("JSON values serialize")
}

/// Returns `count` updates that each create `refs/heads/release/<n>` at `id`.
fn release_updates(count: usize, id: &str) -> Vec<(String, String, String)> {
    (0..count)
        .map(|number| {
            (
                ZERO_ID.to_owned(),
                id.to_owned(),
                format!("refs/heads/release/{number}"),
            )
        })
        .collect()
}

fn borrowed(updates: &[(String, String, String)]) -> Vec<(&str, &str, &str)> {
    updates
        .iter()
        .map(|(old, new, refname)| (old.as_str(), new.as_str(), refname.as_str()))
        .collect()
}

/// Sends `case` on a new connection and returns the response, or `None`
/// when the daemon closed the connection without one.
fn run_frame_case(daemon: &Daemon, case: &FrameCase) -> Option<Response> {
    let mut client = RawClient::connect(daemon.socket());
    assert_eq!(client.hello.version, foureyes::protocol::VERSION);
    if let Err(err) = client.send(&case.bytes) {
        // The daemon may close while a large frame is still being written.
        assert!(
            matches!(
                err.kind(),
                ErrorKind::BrokenPipe | ErrorKind::ConnectionReset
            ),
            "{}: sending failed: {err}",
            case.name
        );
    }
    if case.close {
        client.finish_sending();
    }
    match client.response() {
        Ok(response) => Some(response),
        Err(foureyes::protocol::FrameError::Incomplete { received: 0 }) => None,
        Err(foureyes::protocol::FrameError::Io(err))
            if err.kind() == ErrorKind::ConnectionReset =>
        {
            None
        }
        Err(err) => panic!("{}: reading the response failed: {err}", case.name),
    }
}

#[test]
fn raw_frames_table() {
    // Debug level, because a client that leaves right after the greeting
    // (as `foureyes doctor` does) is logged only there.
    let launch = Launch {
        env: vec![("RUST_LOG".into(), "debug".into())],
        ..Launch::default()
    };
    let daemon = Daemon::start_with(&protect_branches().limits(RAW_LIMITS), &launch);
    let remote = daemon.remote("frames");
    let id = stored_commit(&remote, "topic", &reviewed("Reviewed", &[BOB]));
    let valid = request(remote.bare(), &[(ZERO_ID, &id, "refs/heads/main")]);
    let valid_json = serde_json::to_vec(&valid).expect("requests serialize");
    let too_many = request(remote.bare(), &borrowed(&release_updates(10_001, &id)));
    let mut oversized = valid.clone();
    oversized.push_options = vec!["x".repeat(MAX_REQUEST_BYTES)];

    let cases = vec![
        FrameCase {
            name: "length prefix of 4 GiB",
            bytes: vec![0xff; 4],
            close: false,
            after: After::Answer(
                Decision::Error,
                "4294967295 bytes, more than the limit max_request_bytes (2000000)",
            ),
        },
        FrameCase {
            name: "length prefix one above max_request_bytes",
            bytes: 2_000_001u32.to_be_bytes().to_vec(),
            close: false,
            after: After::Answer(
                Decision::Error,
                "2000001 bytes, more than the limit max_request_bytes (2000000)",
            ),
        },
        FrameCase {
            name: "request bigger than max_request_bytes",
            bytes: foureyes::protocol::encode(&oversized),
            close: false,
            after: After::Answer(Decision::Error, "more than the limit max_request_bytes"),
        },
        FrameCase {
            name: "truncated frame then close",
            bytes: {
                let mut bytes = 100u32.to_be_bytes().to_vec();
                bytes.extend_from_slice(b"{\"version\":");
                bytes
            },
            close: true,
            after: After::Closed("connection closed after 15 bytes of a frame"),
        },
        FrameCase {
            name: "half a length prefix then close",
            bytes: vec![0, 0],
            close: true,
            after: After::Closed("connection closed after 2 bytes of a frame"),
        },
        FrameCase {
            name: "close before any frame",
            bytes: Vec::new(),
            close: true,
            after: After::Closed("client closed the connection after the greeting"),
        },
        FrameCase {
            name: "zero-length frame",
            bytes: frame(b""),
            close: false,
            after: After::Closed("malformed frame: EOF while parsing a value"),
        },
        FrameCase {
            name: "malformed JSON",
            bytes: frame(b"{nope"),
            close: false,
            after: After::Closed("malformed frame: key must be a string"),
        },
        FrameCase {
            name: "JSON array instead of an object",
            bytes: frame(b"[1,2,3]"),
            close: false,
            after: After::Closed("malformed frame: invalid type: integer `2`, expected a string"),
        },
        FrameCase {
            name: "unknown field",
            bytes: frame(&edited_json(&valid, |object| {
                object.insert("admin".into(), true.into());
            })),
            close: false,
            after: After::Closed("malformed frame: unknown field `admin`"),
        },
        FrameCase {
            name: "missing field",
            bytes: frame(&edited_json(&valid, |object| {
                object.remove("updates");
            })),
            close: false,
            after: After::Closed("malformed frame: missing field `updates`"),
        },
        FrameCase {
            name: "version as a string",
            bytes: frame(&edited_json(&valid, |object| {
                object.insert("version".into(), "1".into());
            })),
            close: false,
            after: After::Closed("malformed frame: invalid type: string \"1\""),
        },
        FrameCase {
            name: "invalid UTF-8 inside a JSON string",
            bytes: frame(
                &String::from_utf8(valid_json.clone())
                    .expect("JSON is UTF-8")
                    .replace("refs/heads/main", "refs/heads/\u{1}")
                    .into_bytes()
                    .into_iter()
                    .map(|byte| if byte == 1 { 0xff } else { byte })
                    .collect::<Vec<u8>>(),
            ),
            close: false,
            after: After::Closed("malformed frame: invalid unicode code point"),
        },
        FrameCase {
            name: "lone surrogate escape in a JSON string",
            bytes: frame(
                String::from_utf8(valid_json.clone())
                    .expect("JSON is UTF-8")
                    .replace("refs/heads/main", "refs/heads/\\ud800")
                    .as_bytes(),
            ),
            close: false,
            after: After::Closed("malformed frame: unexpected end of hex escape"),
        },
        FrameCase {
            name: "wrong protocol version",
            bytes: frame(&edited_json(&valid, |object| {
                object.insert("version".into(), 2.into());
            })),
            close: false,
            after: After::Answer(
                Decision::Error,
                "the hook speaks protocol version 2, the daemon speaks 1",
            ),
        },
        FrameCase {
            name: "newer protocol version with new fields",
            bytes: frame(&edited_json(&valid, |object| {
                object.insert("version".into(), 2.into());
                object.insert("signature".into(), "abc".into());
            })),
            close: false,
            after: After::Answer(
                Decision::Error,
                "the hook speaks protocol version 2, the daemon speaks 1",
            ),
        },
        FrameCase {
            name: "idle connection",
            bytes: Vec::new(),
            close: false,
            after: After::Closed("idle for 300 ms"),
        },
        FrameCase {
            name: "request then extra bytes",
            bytes: {
                let mut bytes = foureyes::protocol::encode(&valid);
                bytes.extend_from_slice(b"trailing garbage");
                bytes
            },
            close: false,
            after: After::Answer(Decision::Error, "sent data after its request"),
        },
        FrameCase {
            name: "more updates than max_refs",
            bytes: foureyes::protocol::encode(&too_many),
            close: false,
            after: After::Answer(
                Decision::Error,
                "the push updates 10001 refs, more than the limit max_refs (10000)",
            ),
        },
    ];

    let started = Instant::now();
    for case in &cases {
        let log_before = daemon.log().len();
        let response = run_frame_case(&daemon, case);
        match (&case.after, response) {
            (After::Closed(fragment), None) => {
                let started = Instant::now();
                loop {
                    let log = daemon.log();
                    if log[log_before..].contains(fragment) {
                        break;
                    }
                    assert!(
                        started.elapsed() < WAIT_LIMIT,
                        "{}: the log does not show {fragment:?}:\n{}",
                        case.name,
                        &log[log_before..]
                    );
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
            (After::Closed(_), Some(response)) => {
                panic!("{}: expected no response, got {response:?}", case.name)
            }
            (After::Answer(decision, fragment), Some(response)) => {
                assert_eq!(response.decision, *decision, "{}: {response:?}", case.name);
                assert!(
                    response.message.contains(fragment),
                    "{}: {:?}",
                    case.name,
                    response.message
                );
            }
            (After::Answer(..), None) => panic!("{}: the daemon sent no response", case.name),
        }
    }
    assert!(
        started.elapsed() < WAIT_LIMIT * 2,
        "the table took too long"
    );

    let output = remote.run_hook(&format!("{ZERO_ID} {id} refs/heads/main\n"));
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

#[test]
fn ten_thousand_updates_decided() {
    // A debug build needs a few seconds for 10 000 protected updates on two
    // shared cores, close to the default deadline of 4 s. This test is about
    // correctness, so it allows two minutes.
    let limits = format!("{RAW_LIMITS}\ndeadline_ms = 120000");
    let daemon = Daemon::start(&protect_branches().limits(&limits));
    let remote = daemon.remote("many");
    let id = stored_commit(&remote, "topic", &reviewed("Reviewed", &[BOB]));
    let updates = release_updates(10_000, &id);
    // Encoded before connecting, so the daemon's idle timeout of 300 ms
    // never runs while the test builds the frame.
    let frame = foureyes::protocol::encode(&request(remote.bare(), &borrowed(&updates)));
    let mut client = RawClient::connect(daemon.socket());

    client
        .send(&frame)
        .unwrap_or_else(|err| panic!("cannot send the request: {err}\n{}", daemon.log()));
    let started = Instant::now();
    let response = client.response().expect("no response");
    println!("10 000 updates decided in {:?}", started.elapsed());

    assert_eq!(response.decision, Decision::Accept, "{}", response.message);
    let records = daemon.wait_for_records(10_000);
    assert_eq!(records.len(), 10_000);
    let refs: BTreeSet<&str> = records.iter().filter_map(|r| r.get("ref")).collect();
    assert_eq!(refs.len(), 10_000);
    assert!(records.iter().all(|r| r.get("decision") == Some("accept")));
}

#[test]
fn oversized_push_names_the_limit() {
    let daemon = Daemon::start(&protect_branches().limits("max_request_bytes = 2000"));
    let remote = daemon.remote("oversized");
    remote.commit("main", ALICE, &reviewed("Reviewed", &[BOB]));
    let branches: Vec<String> = (0..40)
        .map(|n| format!("main:refs/heads/topic/{n:02}"))
        .collect();
    let args: Vec<&str> = branches.iter().map(String::as_str).collect();

    let outcome = remote.push(&args);

    assert_eq!(outcome.code, Some(1), "git push fails: {}", outcome.stderr);
    assert!(
        outcome
            .remote_text()
            .contains("more than the limit max_request_bytes (2000)"),
        "{}",
        outcome.stderr
    );
    assert!(!outcome.moved("refs/heads/topic/00"));
    let records = daemon.wait_for_records(1);
    assert_eq!(records[0].get("decision"), Some("error"));
}

// --- Paths in requests ----------------------------------------------------------

/// One request-path case: how to build the repository and quarantine paths,
/// and the fragment of the error response.
struct PathCase {
    name: &'static str,
    repo: PathBuf,
    quarantine: Option<PathBuf>,
    fragment: &'static str,
}

#[test]
fn request_paths_table() {
    let daemon = Daemon::start(&protect_branches());
    let remote = daemon.remote("paths");
    let id = stored_commit(&remote, "topic", &reviewed("Reviewed", &[BOB]));
    let outside = tempfile::tempdir().expect("cannot create a temporary directory");
    let outside_repo = outside.path().join("outside.git");
    let init = git_command(&remote.home(), outside.path())
        .args(["init", "--quiet", "--bare", "outside.git"])
        .output()
        .expect("cannot run git init");
    assert!(init.status.success());
    let root = daemon.repo_root();
    let bare = remote.bare().to_path_buf();
    symlink(&outside_repo, root.join("link.git")).expect("cannot create a symlink");
    fs::create_dir(root.join("plain")).expect("cannot create a directory");
    let objects = bare.join("objects");
    symlink(outside.path(), objects.join("tmp_objdir-link")).expect("cannot create a symlink");
    fs::write(objects.join("not-a-directory"), b"").expect("cannot create a file");
    // `objects/../..` and so on up to the root, then down to the outside
    // directory: a path that starts inside the object store.
    let mut up_to_root = objects.clone();
    for _ in 1..objects.components().count() {
        up_to_root.push("..");
    }

    let cases = vec![
        PathCase {
            name: "repository outside repo_roots",
            repo: outside_repo.clone(),
            quarantine: None,
            fragment: "is outside the configured repo_roots",
        },
        PathCase {
            name: "relative repository path",
            repo: PathBuf::from("repos/paths.git"),
            quarantine: None,
            fragment: "repository path repos/paths.git is not absolute",
        },
        PathCase {
            name: "symlink in a root pointing outside",
            repo: root.join("link.git"),
            quarantine: None,
            fragment: "is outside the configured repo_roots",
        },
        PathCase {
            name: "dot-dot from the object store to outside the root",
            repo: up_to_root.join(outside_repo.strip_prefix("/").unwrap()),
            quarantine: None,
            fragment: "is outside the configured repo_roots",
        },
        PathCase {
            name: "directory that is not a git directory",
            repo: root.join("plain"),
            quarantine: None,
            fragment: "is not a git directory",
        },
        PathCase {
            name: "repository that does not exist",
            repo: root.join("missing.git"),
            quarantine: None,
            fragment: "repository",
        },
        PathCase {
            name: "quarantine outside the object store",
            repo: bare.clone(),
            quarantine: Some(outside.path().to_path_buf()),
            fragment: "is not inside the repository's object store",
        },
        PathCase {
            name: "quarantine escaping with dot-dot",
            repo: bare.clone(),
            quarantine: Some(up_to_root.join(outside.path().strip_prefix("/").unwrap())),
            fragment: "is not inside the repository's object store",
        },
        PathCase {
            name: "quarantine is the object store itself",
            repo: bare.clone(),
            quarantine: Some(objects.clone()),
            fragment: "is not inside the repository's object store",
        },
        PathCase {
            name: "quarantine is the parent of the object store",
            repo: bare.clone(),
            quarantine: Some(objects.join("..")),
            fragment: "is not inside the repository's object store",
        },
        PathCase {
            name: "quarantine symlink pointing outside",
            repo: bare.clone(),
            quarantine: Some(objects.join("tmp_objdir-link")),
            fragment: "is not inside the repository's object store",
        },
        PathCase {
            name: "quarantine that is a file",
            repo: bare.clone(),
            quarantine: Some(objects.join("not-a-directory")),
            fragment: "is not a directory",
        },
        PathCase {
            name: "quarantine that does not exist",
            repo: bare.clone(),
            quarantine: Some(objects.join("tmp_objdir-incoming-gone")),
            fragment: "cannot be resolved",
        },
    ];

    for case in &cases {
        let mut request = request(&case.repo, &[(ZERO_ID, &id, "refs/heads/main")]);
        request.quarantine = case
            .quarantine
            .as_ref()
            .map(|path| path.display().to_string());
        let mut client = RawClient::connect(daemon.socket());
        client.send_request(&request).expect("cannot send");
        let response = client
            .response()
            .unwrap_or_else(|err| panic!("{}: no response: {err}", case.name));
        assert_eq!(response.decision, Decision::Error, "{}", case.name);
        assert!(
            response.message.contains(case.fragment),
            "{}: {:?}",
            case.name,
            response.message
        );
    }
    let records = daemon.records();
    assert_eq!(records.len(), cases.len(), "{records:?}");
    assert!(records.iter().all(|r| r.get("decision") == Some("error")));

    let output = remote.run_hook(&format!("{ZERO_ID} {id} refs/heads/main\n"));
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

// --- The hook's environment ------------------------------------------------------

/// One hook case: what differs from a correct hook run, the exit status and
/// a fragment of its stderr.
struct HookCase {
    name: &'static str,
    stdin: Vec<u8>,
    /// Variables set or, with `None`, removed.
    env: Vec<(&'static str, Option<String>)>,
    cwd: Option<PathBuf>,
    code: i32,
    fragment: String,
}

/// Runs the hook in `bare` with `case`'s changes to a correct environment.
fn run_hook_case(bare: &Path, socket: &Path, case: &HookCase) -> Output {
    let mut command = Command::new(FOUREYES_BIN);
    command
        .args(["hook", "pre-receive"])
        .current_dir(case.cwd.as_deref().unwrap_or(bare))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GIT_DIR", ".")
        .env("FOUREYES_SOCKET", socket)
        .env("FOUREYES_TIMEOUT_MS", "30000")
        .env("GIT_PUSH_OPTION_COUNT", "0")
        .env(PUSHER_VARIABLE, "dave");
    for (name, value) in &case.env {
        match value {
            Some(value) => command.env(name, value),
            None => command.env_remove(name),
        };
    }
    run_with_input(&mut command, &case.stdin)
}

#[test]
fn hook_environment_table() {
    let daemon = Daemon::start(&protect_branches());
    let remote = daemon.remote("environment");
    let id = stored_commit(&remote, "topic", &reviewed("Reviewed", &[BOB]));
    let line = format!("{ZERO_ID} {id} refs/heads/main\n").into_bytes();
    let outside = tempfile::tempdir().expect("cannot create a temporary directory");
    let plain = daemon.repo_root().join("plain");
    fs::create_dir(&plain).expect("cannot create a directory");
    let missing_socket = outside.path().join("no-daemon.sock");
    let outside_repo = outside.path().join("outside.git");
    let init = git_command(&remote.home(), outside.path())
        .args(["init", "--quiet", "--bare", "outside.git"])
        .output()
        .expect("cannot run git init");
    assert!(init.status.success());

    let case =
        |name, stdin: &[u8], env: Vec<(&'static str, Option<String>)>, code, fragment: &str| {
            HookCase {
                name,
                stdin: stdin.to_vec(),
                env,
                cwd: None,
                code,
                fragment: fragment.to_owned(),
            }
        };
    let mut cases = vec![
        case(
            "malformed stdin line",
            b"garbage\n",
            vec![],
            UNDECIDED,
            "malformed ref update line \"garbage\"",
        ),
        case(
            "stdin line with two fields",
            format!("{ZERO_ID} {id}\n").as_bytes(),
            vec![],
            UNDECIDED,
            "malformed ref update line",
        ),
        case(
            "non-UTF-8 ref name",
            &[
                ZERO_ID.as_bytes(),
                b" ",
                id.as_bytes(),
                b" refs/heads/\xff\n",
            ]
            .concat(),
            vec![],
            UNDECIDED,
            "is not valid UTF-8",
        ),
        case(
            "timeout that is not a number",
            &line,
            vec![("FOUREYES_TIMEOUT_MS", Some("soon".into()))],
            UNDECIDED,
            "invalid FOUREYES_TIMEOUT_MS \"soon\"",
        ),
        case(
            "timeout of zero",
            &line,
            vec![("FOUREYES_TIMEOUT_MS", Some("0".into()))],
            UNDECIDED,
            "invalid FOUREYES_TIMEOUT_MS \"0\"",
        ),
        case(
            "negative timeout",
            &line,
            vec![("FOUREYES_TIMEOUT_MS", Some("-5".into()))],
            UNDECIDED,
            "invalid FOUREYES_TIMEOUT_MS \"-5\"",
        ),
        case(
            "socket that does not exist",
            &line,
            vec![(
                "FOUREYES_SOCKET",
                Some(missing_socket.display().to_string()),
            )],
            UNDECIDED,
            &format!(
                "cannot reach the foureyes daemon at {}",
                missing_socket.display()
            ),
        ),
        case(
            "push option count garbage",
            &line,
            vec![("GIT_PUSH_OPTION_COUNT", Some("many".into()))],
            UNDECIDED,
            "invalid GIT_PUSH_OPTION_COUNT \"many\"",
        ),
        case(
            "push option missing",
            &line,
            vec![
                ("GIT_PUSH_OPTION_COUNT", Some("2".into())),
                ("GIT_PUSH_OPTION_0", Some("ci.skip".into())),
            ],
            UNDECIDED,
            "GIT_PUSH_OPTION_1 is missing",
        ),
        case(
            "GIT_DIR naming a plain directory",
            &line,
            vec![("GIT_DIR", Some(plain.display().to_string()))],
            UNDECIDED,
            "is not a git directory",
        ),
    ];
    cases.push(HookCase {
        cwd: Some(outside.path().to_path_buf()),
        ..case(
            "working directory that is not a repository",
            &line,
            vec![],
            UNDECIDED,
            "is not a git directory",
        )
    });
    cases.push(HookCase {
        cwd: Some(outside_repo.clone()),
        ..case(
            "repository outside repo_roots",
            &line,
            vec![],
            UNDECIDED,
            "is outside the configured repo_roots",
        )
    });

    for case in &cases {
        let output = run_hook_case(remote.bare(), daemon.socket(), case);
        let text = stderr(&output);
        assert_eq!(
            output.status.code(),
            Some(case.code),
            "{}: {text}",
            case.name
        );
        assert!(text.contains(&case.fragment), "{}: {text}", case.name);
    }
}

// --- Refs and objects ---------------------------------------------------------------

#[test]
fn refs_and_objects_table() {
    let daemon = Daemon::start(&protect_branches());
    let remote = daemon.remote("objects");
    let id = stored_commit(&remote, "topic", &reviewed("Reviewed", &[BOB]));
    let tree = remote.git(&["rev-parse", &format!("{id}^{{tree}}")]);
    let blob = {
        let mut command = git_command(&remote.home(), remote.work());
        command.args(["hash-object", "-w", "--stdin"]);
        let output = run_with_input(&mut command, b"just a file\n");
        String::from_utf8(output.stdout)
            .expect("ids are ASCII")
            .trim()
            .to_owned()
    };
    remote.git(&["update-ref", "refs/tree-holder", &tree]);
    remote.git(&["update-ref", "refs/blob-holder", &blob]);
    store(&remote, "refs/tree-holder", "tree");
    store(&remote, "refs/blob-holder", "blob");
    let missing = "1234567890123456789012345678901234567890";

    let cases: Vec<(&str, String, i32, String)> = vec![
        (
            "ref name with dot-dot",
            format!("{ZERO_ID} {id} refs/heads/a..b"),
            REJECTED,
            "refs/heads/a..b is not a valid ref name".into(),
        ),
        (
            "ref name ending in .lock",
            format!("{ZERO_ID} {id} refs/heads/x.lock"),
            REJECTED,
            "refs/heads/x.lock is not a valid ref name".into(),
        ),
        (
            "ref name with an escape character",
            format!("{ZERO_ID} {id} refs/heads/\u{1b}[2J"),
            REJECTED,
            "refs/heads/\\u{1b}[2J is not a valid ref name".into(),
        ),
        (
            "ref name with a space",
            format!("{ZERO_ID} {id} refs/heads/a b"),
            REJECTED,
            "refs/heads/a b is not a valid ref name".into(),
        ),
        (
            "new id one digit short",
            format!("{ZERO_ID} {} refs/heads/main", &id[..39]),
            UNDECIDED,
            "expected 40 hex digits".into(),
        ),
        (
            "new id of SHA-256 length",
            format!("{ZERO_ID} {id}{} refs/heads/main", &id[..24]),
            UNDECIDED,
            "expected 40 hex digits".into(),
        ),
        (
            "new id not hex",
            format!("{ZERO_ID} {} refs/heads/main", "z".repeat(40)),
            UNDECIDED,
            "invalid object id".into(),
        ),
        (
            "old id not hex",
            format!("{} {id} refs/heads/main", "g".repeat(40)),
            UNDECIDED,
            "invalid object id".into(),
        ),
        (
            "zero id one digit short",
            format!("{ZERO_ID} {} refs/heads/main", &ZERO_ID[..39]),
            UNDECIDED,
            "expected 40 hex digits".into(),
        ),
        (
            "missing object",
            format!("{ZERO_ID} {missing} refs/heads/main"),
            UNDECIDED,
            format!("cannot read object {missing}"),
        ),
        (
            "new value is a tree",
            format!("{ZERO_ID} {tree} refs/heads/main"),
            REJECTED,
            format!("refs/heads/main would point to {tree}, a tree, not a commit"),
        ),
        (
            "new value is a blob",
            format!("{ZERO_ID} {blob} refs/heads/main"),
            REJECTED,
            format!("refs/heads/main would point to {blob}, a blob, not a commit"),
        ),
    ];

    for (name, line, code, fragment) in &cases {
        let output = remote.run_hook(&format!("{line}\n"));
        let text = stderr(&output);
        assert_eq!(output.status.code(), Some(*code), "{name}: {text}");
        assert!(text.contains(fragment.as_str()), "{name}: {text}");
        assert!(!text.contains('\u{1b}'), "{name}: raw escape in {text:?}");
    }
    let records = daemon.records();
    assert_eq!(records.len(), cases.len(), "{records:?}");
}

#[test]
fn corrupt_loose_object_undecided() {
    let daemon = Daemon::start(&protect_branches());
    let remote = daemon.remote("corrupt");
    let id = remote.commit("topic", ALICE, &reviewed("Reviewed", &[BOB]));
    let pushed = remote.push(&["topic:refs/tags/keep"]);
    assert_eq!(pushed.code, Some(0), "{}", pushed.stderr);
    let loose = remote
        .bare()
        .join(format!("objects/{}/{}", &id[..2], &id[2..]));
    let mut permissions = fs::metadata(&loose)
        .expect("the object is loose")
        .permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    permissions.set_readonly(false);
    fs::set_permissions(&loose, permissions).expect("cannot make the object writable");
    fs::write(&loose, b"this is not zlib data").expect("cannot corrupt the object");

    let output = remote.run_hook(&format!("{ZERO_ID} {id} refs/heads/main\n"));

    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(UNDECIDED), "{text}");
    assert!(text.contains(&format!("cannot read object {id}")), "{text}");
    let records = daemon.records();
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0].get("decision"), Some("error"));
}

// --- Commit messages in real pushes ---------------------------------------------------

/// Writes a commit object with the raw `header_extra` lines and `message`
/// bytes, bypassing git's checks, and points `refs/heads/main` of the work
/// clone at it.
/// Encodes `text` as UTF-16LE without a byte order mark.
fn utf16le(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

fn raw_commit(remote: &Remote, header_extra: &[u8], message: &[u8]) -> String {
    let tree = remote.git(&["mktree"]);
    let mut object = format!(
        "tree {tree}\n\
         author Alice Liddell <alice@example.com> 1700000000 +0000\n\
         committer Alice Liddell <alice@example.com> 1700000000 +0000\n"
    )
    .into_bytes();
    object.extend_from_slice(header_extra);
    object.push(b'\n');
    object.extend_from_slice(message);
    let mut command = git_command(&remote.home(), remote.work());
    command.args([
        "hash-object",
        "-t",
        "commit",
        "-w",
        "--stdin",
        "--literally",
    ]);
    let output = run_with_input(&mut command, &object);
    assert!(output.status.success(), "hash-object: {}", stderr(&output));
    let id = String::from_utf8(output.stdout)
        .expect("ids are ASCII")
        .trim()
        .to_owned();
    remote.git(&["update-ref", "refs/heads/main", &id]);
    id
}

/// One message case: the raw commit, whether the push must land and a
/// fragment of the hook's output (empty to check only the outcome).
struct MessageCase {
    name: &'static str,
    header_extra: Vec<u8>,
    message: Vec<u8>,
    accepted: bool,
    fragment: &'static str,
}

#[test]
fn commit_messages_table() {
    let daemon = Daemon::start(&protect_branches());
    let bob = BOB.ident();
    let mut ten_thousand_unknown = b"Many claims\n\n".to_vec();
    let mut ten_thousand_then_bob = b"Many claims and one review\n\n".to_vec();
    for number in 0..10_000 {
        let line = format!("Reviewed-by: Stranger {number} <s{number}@elsewhere.example>\n");
        ten_thousand_unknown.extend_from_slice(line.as_bytes());
        ten_thousand_then_bob.extend_from_slice(line.as_bytes());
    }
    ten_thousand_then_bob.extend_from_slice(format!("Reviewed-by: {bob}\n").as_bytes());
    let long_body = "All work and no review. ".repeat(40_000);
    let case = |name, header_extra: &[u8], message: Vec<u8>, accepted, fragment| MessageCase {
        name,
        header_extra: header_extra.to_vec(),
        message,
        accepted,
        fragment,
    };

    let cases = vec![
        case(
            "invalid UTF-8 without encoding header",
            b"",
            b"Caf\xe9 fix\n\nReviewed-by: Bob Builder <bob@example.com>\n".to_vec(),
            true,
            "passes rule",
        ),
        case(
            "ISO-8859-1 name with encoding header",
            b"encoding ISO-8859-1\n",
            b"Fix\n\nReviewed-by: Bj\xf6rn Builder <bob@example.com>\n".to_vec(),
            true,
            "passes rule",
        ),
        case(
            "invalid UTF-8 inside the address",
            b"",
            b"Fix\n\nReviewed-by: Bob <b\xf6b@example.com>\n".to_vec(),
            false,
            "has 0 of 1 required reviewers",
        ),
        case(
            "message of about 1 MB",
            b"",
            format!("Long\n\n{long_body}\n\nReviewed-by: {bob}\n").into_bytes(),
            true,
            "passes rule",
        ),
        case(
            "message above max_message_bytes",
            b"",
            format!("Longer\n\n{long_body}{long_body}\n\nReviewed-by: {bob}\n").into_bytes(),
            false,
            "the message is longer than 1048576 bytes",
        ),
        case(
            "10 000 unknown reviewer trailers",
            b"",
            ten_thousand_unknown,
            false,
            "has 0 of 1 required reviewers",
        ),
        case(
            "10 000 trailers and a known reviewer",
            b"",
            ten_thousand_then_bob,
            true,
            "passes rule",
        ),
        case(
            "lookalike address",
            b"",
            "Fix\n\nReviewed-by: Bob Builder <b\u{43e}b@example.com>\n".as_bytes().to_vec(),
            false,
            "looks like bob@example.com",
        ),
        case(
            "escape sequences in subject and trailer",
            b"",
            "Fix \u{1b}]0;owned\u{7} \u{1b}[2J\n\nReviewed-by: Eve \u{1b}[31m<eve@elsewhere.example>\n".as_bytes().to_vec(),
            false,
            "\\u{1b}[2J",
        ),
        case(
            "carriage return in the subject",
            b"",
            b"Fix\rremote: foureyes: accepted\n\nReviewed-by: Nobody <nobody@elsewhere.example>\n".to_vec(),
            false,
            "Fix\\rremote: foureyes: accepted",
        ),
        case(
            "NUL bytes in the message",
            b"",
            b"Fix\0hidden\n\nReviewed-by: Bob Builder <bob@example.com>\n".to_vec(),
            false,
            "has 0 of 1 required reviewers",
        ),
        case(
            "UTF-16 message ends at its first NUL, as in git",
            b"encoding UTF-16LE\n",
            utf16le("Fix\n\nReviewed-by: Bob Builder <bob@example.com>\n"),
            false,
            "has 0 of 1 required reviewers",
        ),
        case(
            "NUL byte inside the trailer",
            b"",
            b"Fix\n\nReviewed-by: Bob Builder <bob@example.com>\0\n".to_vec(),
            true,
            "",
        ),
    ];

    for (index, case) in cases.iter().enumerate() {
        let remote = daemon.remote(&format!("message-{index}"));
        raw_commit(&remote, &case.header_extra, &case.message);
        let outcome = remote.push(&["main"]);
        let expected_code = if case.accepted { 0 } else { 1 };
        assert_eq!(
            outcome.code,
            Some(expected_code),
            "{}: {}",
            case.name,
            outcome.stderr
        );
        assert_eq!(
            outcome.moved("refs/heads/main"),
            case.accepted,
            "{}",
            case.name
        );
        assert!(
            outcome.remote_text().contains(case.fragment),
            "{}: {}",
            case.name,
            outcome.stderr
        );
        assert!(
            !outcome.stderr.contains('\u{1b}'),
            "{}: raw escape in {:?}",
            case.name,
            outcome.stderr
        );
        assert!(
            !outcome.stderr.contains('\r'),
            "{}: raw carriage return",
            case.name
        );
    }
}

#[test]
fn sha256_repository_judged() {
    let daemon = Daemon::start(&protect_branches());
    let cases = [
        (
            "sha256-reviewed",
            reviewed("Reviewed", &[BOB, CAROL]),
            true,
            "passes rule",
        ),
        (
            "sha256-unreviewed",
            "Unreviewed\n".to_owned(),
            false,
            "has 0 of 1 required reviewers",
        ),
    ];
    for (name, message, accepted, fragment) in cases {
        let remote = daemon.remote_with_format(name, "sha256");
        let id = remote.commit("main", ALICE, &message);
        assert_eq!(id.len(), 64, "{name}: not a SHA-256 id");

        let outcome = remote.push(&["main"]);

        let expected_code = if accepted { 0 } else { 1 };
        assert_eq!(
            outcome.code,
            Some(expected_code),
            "{name}: {}",
            outcome.stderr
        );
        assert_eq!(outcome.moved("refs/heads/main"), accepted, "{name}");
        assert!(
            outcome.remote_text().contains(fragment),
            "{name}: {}",
            outcome.stderr
        );
    }
    let records = daemon.records();
    assert_eq!(records.len(), 2, "{records:?}");
    assert_eq!(records[0].get("new").map(str::len), Some(64));
}
