//! Faults with real processes and signals: a daemon that is missing,
//! stopped, killed, reloaded or terminated, a client that leaves mid-request
//! and a syslog socket that disappears. In every case the push is either
//! decided correctly or rejected as undecided, and no audit record is lost.

use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use foureyes::protocol::Decision;

use crate::support::{
    ALICE, BOB, CAROL, Config, Daemon, FOUREYES_BIN, PUSHER_VARIABLE, RawClient, Remote, ZERO_ID,
    git_command, request, reviewed, run_with_input,
};

/// Upper bound of every wait for something that must happen.
const WAIT_LIMIT: Duration = Duration::from_secs(20);

/// Exit status of the hook when the push is undecided.
const UNDECIDED: i32 = 2;

fn protect_main(settings: &str) -> Config {
    Config::team().rule("main", &["refs/heads/main"], settings)
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Makes one reviewed commit in `remote`'s work clone, stores it in the bare
/// repository under an unprotected ref and returns the stdin line that
/// creates `refs/heads/main` at it.
fn reviewed_update(remote: &Remote) -> String {
    let id = remote.commit("topic", ALICE, &reviewed("Reviewed change", &[BOB]));
    let pushed = remote.push(&["topic"]);
    assert_eq!(pushed.code, Some(0), "setup push failed: {}", pushed.stderr);
    format!("{ZERO_ID} {id} refs/heads/main\n")
}

/// Writes `count` unreviewed commits to `refs/heads/history` of the bare
/// repository with `git fast-import` and returns the tip.
fn long_history(remote: &Remote, count: usize) -> String {
    let mut script = String::new();
    for number in 1..=count {
        let _ = write!(
            script,
            "commit refs/heads/history\n\
             committer Alice <alice@example.com> {} +0000\n\
             data <<EOF\nChange {number}\nEOF\n\n",
            1_700_000_000 + number
        );
    }
    let mut command = git_command(&remote.home(), remote.bare());
    command.args(["fast-import", "--quiet"]);
    let output = run_with_input(&mut command, script.as_bytes());
    assert!(output.status.success(), "fast-import: {}", stderr(&output));
    remote.git_bare(&["rev-parse", "refs/heads/history"])
}

#[test]
fn daemon_not_running_names_socket() {
    let mut daemon = Daemon::start(&protect_main(""));
    let remote = daemon.remote("absent");
    let update = reviewed_update(&remote);
    daemon.signal(Signal::SIGKILL);
    daemon.wait_for_exit();

    let output = remote.run_hook(&update);

    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(UNDECIDED), "{text}");
    let expected = format!(
        "cannot reach the foureyes daemon at {}",
        daemon.socket().display()
    );
    assert!(text.contains(&expected), "{text}");
    assert!(
        text.contains("the push is rejected because it could not be checked"),
        "{text}"
    );
}

#[test]
fn daemon_killed_mid_request_then_restarted() {
    let mut daemon = Daemon::start(&protect_main(""));
    let remote = daemon.remote("killed");
    let update = reviewed_update(&remote);

    // A stopped daemon still completes connections in the kernel's backlog,
    // so the hook is connected and waiting when the daemon dies.
    daemon.signal(Signal::SIGSTOP);
    let hook = spawn_hook(remote.bare(), daemon.socket(), &update, "30000");
    wait_until_connected(&hook);
    daemon.signal(Signal::SIGKILL);
    let output = hook.wait_with_output().expect("cannot wait for the hook");
    daemon.wait_for_exit();

    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(UNDECIDED), "{text}");
    let expected = format!("foureyes daemon at {}", daemon.socket().display());
    assert!(text.contains(&expected), "{text}");
    assert!(
        daemon.socket().exists(),
        "the killed daemon leaves its socket"
    );

    daemon.restart();
    let again = remote.run_hook(&update);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    let log = daemon.log();
    assert!(log.contains("foureyesd ready"), "{log}");
}

/// Starts the hook in `bare` against `socket` with the client timeout
/// `timeout_ms`, `updates` already written to its standard input.
fn spawn_hook(bare: &Path, socket: &Path, updates: &str, timeout_ms: &str) -> Child {
    let mut child = Command::new(FOUREYES_BIN)
        .args(["hook", "pre-receive"])
        .current_dir(bare)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GIT_DIR", ".")
        .env("FOUREYES_SOCKET", socket)
        .env("FOUREYES_TIMEOUT_MS", timeout_ms)
        .env(PUSHER_VARIABLE, "dave")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start the hook");
    let mut stdin = child.stdin.take().expect("stdin was piped");
    stdin
        .write_all(updates.as_bytes())
        .expect("cannot write the hook's standard input");
    child
}

/// Waits until the hook process has a socket open and sleeps, which after it
/// read its standard input means it is connected and waiting for the
/// daemon. Panics after a bounded wait.
fn wait_until_connected(hook: &Child) {
    let proc_dir = PathBuf::from(format!("/proc/{}", hook.id()));
    let started = Instant::now();
    loop {
        let has_socket = fs::read_dir(proc_dir.join("fd"))
            .map(|entries| {
                entries.filter_map(Result::ok).any(|entry| {
                    fs::read_link(entry.path())
                        .is_ok_and(|target| target.to_string_lossy().starts_with("socket:"))
                })
            })
            .unwrap_or(false);
        let stat = fs::read_to_string(proc_dir.join("stat")).unwrap_or_default();
        // The state follows the parenthesized command name.
        let sleeping = stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('S'));
        if has_socket && sleeping {
            return;
        }
        assert!(
            started.elapsed() < WAIT_LIMIT,
            "the hook did not connect within {WAIT_LIMIT:?}"
        );
        thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn stopped_daemon_times_out() {
    let daemon = Daemon::start(&protect_main(""));
    let remote = daemon.remote("stopped");
    let update = reviewed_update(&remote);
    daemon.signal(Signal::SIGSTOP);

    let hook = spawn_hook(remote.bare(), daemon.socket(), &update, "500");
    let output = hook.wait_with_output().expect("cannot wait for the hook");
    daemon.signal(Signal::SIGCONT);

    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(UNDECIDED), "{text}");
    let expected = format!(
        "the foureyes daemon at {} did not answer within 500 ms (while reading the greeting)",
        daemon.socket().display()
    );
    assert!(text.contains(&expected), "{text}");
    let again = remote.run_hook(&update);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
}

#[test]
fn client_gone_cancels_check() {
    let daemon = Daemon::start(&protect_main("").limits("deadline_ms = 60000"));
    let remote = daemon.remote("gone");
    let tip = long_history(&remote, 10_000);
    let mut client = RawClient::connect(daemon.socket());
    client
        .send_request(&request(
            remote.bare(),
            &[(ZERO_ID, &tip, "refs/heads/main")],
        ))
        .expect("cannot send the request");
    drop(client);

    let log = daemon.wait_for_log("client went away; cancelling its check");
    assert!(log.contains("client went away"), "{log}");
    let records = daemon.wait_for_records(1);
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0].get("decision"), Some("error"));
    assert_eq!(records[0].get("new"), Some(tip.as_str()));
    assert_eq!(
        records[0].get("problems"),
        Some("the client went away before the decision")
    );
    let update = reviewed_update(&remote);
    let again = remote.run_hook(&update);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
}

#[test]
fn reload_applies_new_rule() {
    let mut config = protect_main("min_reviewers = 1");
    let daemon = Daemon::start(&config);
    let remote = daemon.remote("reload");
    let update = reviewed_update(&remote);
    let before = remote.run_hook(&update);
    assert_eq!(before.status.code(), Some(0), "{}", stderr(&before));

    config = protect_main("min_reviewers = 2");
    daemon.write_config(&config);
    daemon.signal(Signal::SIGHUP);
    daemon.wait_for_log("configuration reloaded");

    let after = remote.run_hook(&update);
    let text = stderr(&after);
    assert_eq!(after.status.code(), Some(1), "{text}");
    assert!(
        text.contains("has 1 of 2 required reviewers (bob)"),
        "{text}"
    );
}

#[test]
fn invalid_reload_keeps_old_config() {
    let daemon = Daemon::start(&protect_main("min_reviewers = 1"));
    let remote = daemon.remote("bad-reload");
    let update = reviewed_update(&remote);
    let path = daemon.config_path();
    let mut text = fs::read_to_string(&path).expect("cannot read the configuration");
    text.push_str("[[rule]]\nname = \"strict\"\nrefs = [\"refs/heads/*\"]\n");
    let line = text.lines().count() + 1;
    text.push_str("min_reviewers = \"two\"\n");
    fs::write(&path, text).expect("cannot write the configuration");

    daemon.signal(Signal::SIGHUP);
    let log = daemon.wait_for_log("reload failed");

    let location = format!("{}:{line}:17", path.display());
    assert!(log.contains(&location), "{log}");
    let output = remote.run_hook(&update);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

#[test]
fn sigterm_finishes_request_in_flight() {
    let mut daemon = Daemon::start(&protect_main("").limits("idle_timeout_ms = 20000"));
    let remote = daemon.remote("terminate");
    let update = reviewed_update(&remote);
    let fields: Vec<&str> = update.split_whitespace().collect();
    let frame = foureyes::protocol::encode(&request(
        remote.bare(),
        &[(fields[0], fields[1], fields[2])],
    ));
    let (first, rest) = frame.split_at(frame.len() / 2);
    let mut client = RawClient::connect(daemon.socket());
    client.send(first).expect("cannot send the first half");

    daemon.signal(Signal::SIGTERM);
    daemon.wait_for_log("stopped accepting connections");
    let refused = std::os::unix::net::UnixStream::connect(daemon.socket());
    assert!(refused.is_err(), "a connection was accepted while stopping");
    client.send(rest).expect("cannot send the second half");
    let response = client
        .response()
        .expect("no response to the request in flight");
    let status = daemon.wait_for_exit();

    assert_eq!(response.decision, Decision::Accept, "{}", response.message);
    assert_eq!(status.code(), Some(0), "{}", daemon.log());
    assert!(!daemon.socket().exists(), "the socket file was not removed");
    let records = daemon.records();
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0].get("decision"), Some("accept"));
}

#[test]
fn missing_syslog_rejects_undecided() {
    let daemon = Daemon::start(&protect_main(""));
    let remote = daemon.remote("no-syslog");
    let update = reviewed_update(&remote);
    daemon.remove_syslog_socket();

    let output = remote.run_hook(&update);

    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(UNDECIDED), "{text}");
    assert!(text.contains("audit log unavailable"), "{text}");
    let log = daemon.log();
    assert!(log.contains("audit record not delivered"), "{log}");
}

#[test]
fn missing_syslog_accepts_when_configured() {
    let daemon = Daemon::start(&protect_main("").syslog("on_failure = \"accept\""));
    let remote = daemon.remote("syslog-optional");
    let update = reviewed_update(&remote);
    daemon.remove_syslog_socket();

    let output = remote.run_hook(&update);

    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(!text.contains("audit log unavailable"), "{text}");
    let log = daemon.log();
    assert!(log.contains("accepting anyway"), "{log}");
}

#[test]
fn syslog_restart_loses_no_record() {
    let mut daemon = Daemon::start(&protect_main(""));
    let remote = daemon.remote("syslog-restart");
    let first = reviewed_update(&remote);
    let output = remote.run_hook(&first);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));

    daemon.restart_syslog();
    let second_id = remote.commit("topic", ALICE, &reviewed("Second change", &[CAROL]));
    let pushed = remote.push(&["topic"]);
    assert_eq!(pushed.code, Some(0), "setup push failed: {}", pushed.stderr);
    let second = format!("{ZERO_ID} {second_id} refs/heads/main\n");
    let output = remote.run_hook(&second);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));

    let records = daemon.records_for("refs/heads/main");
    assert_eq!(records.len(), 2, "{records:?}");
    let first_id = first.split(' ').nth(1).expect("the update has a new id");
    assert_eq!(records[0].get("new"), Some(first_id));
    assert_eq!(records[1].get("new"), Some(second_id.as_str()));
}

#[test]
fn full_queue_answers_busy() {
    // One check slot and no queue: while a long walk occupies the slot, every
    // further protected push is turned away at once as busy.
    let config = protect_main("")
        .limits("deadline_ms = 60000\nmax_concurrent_checks = 1\nmax_queued_checks = 0");
    let daemon = Daemon::start(&config);
    let remote = daemon.remote("busy");
    let update = reviewed_update(&remote);
    let tip = long_history(&remote, 50_000);
    let mut slow = RawClient::connect(daemon.socket());
    slow.send_request(&request(
        remote.bare(),
        &[(ZERO_ID, &tip, "refs/heads/main")],
    ))
    .expect("cannot send the request");

    // The slow check may not have taken its slot yet when the first call
    // arrives, so try a few times while it runs.
    let mut busy = None;
    for _ in 0..200 {
        let output = remote.run_hook(&update);
        let text = stderr(&output);
        if text.contains("the daemon is busy") {
            busy = Some((output.status.code(), text));
            break;
        }
        thread::sleep(Duration::from_millis(5));
    }
    let slow_response = slow.response().expect("the slow check answers");

    let (code, text) = busy.expect("no call was turned away while the slot was taken");
    assert_eq!(code, Some(UNDECIDED), "{text}");
    assert!(text.contains("limit max_queued_checks"), "{text}");
    assert_eq!(
        slow_response.decision,
        Decision::Reject,
        "{}",
        slow_response.message
    );
    let after = remote.run_hook(&update);
    assert_eq!(after.status.code(), Some(0), "{}", stderr(&after));
}

#[test]
fn idle_connections_do_not_block_pushes() {
    // Idle connections hold no check slot: with one slot and a long idle
    // timeout, 100 silent clients stay connected while a push is decided.
    let config = protect_main("")
        .limits("idle_timeout_ms = 60000\nmax_concurrent_checks = 1\nmax_queued_checks = 0");
    let daemon = Daemon::start(&config);
    let remote = daemon.remote("idle");
    let update = reviewed_update(&remote);
    let idle: Vec<RawClient> = (0..100)
        .map(|_| RawClient::connect(daemon.socket()))
        .collect();

    let output = remote.run_hook(&update);

    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("passes rule"),
        "{}",
        stderr(&output)
    );
    assert_eq!(idle.len(), 100);
    drop(idle);
    let records = daemon.wait_for_records(1);
    assert_eq!(records[0].get("decision"), Some("accept"));
}
