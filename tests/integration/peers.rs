//! Who may talk to the daemon: the kernel's peer credentials decide, not
//! the request. These tests run the hook client as another user
//! (`setpriv`), so they need root; elsewhere they print why they skip.

use std::path::Path;
use std::process::{Command, Output};

use crate::support::{BOB, Config, Daemon, FOUREYES_BIN, ZERO_ID, reviewed, run_with_input};

/// The uid the client runs as: `nobody` on Debian.
const OTHER_UID: u32 = 65534;

fn can_switch_user() -> bool {
    if !nix::unistd::geteuid().is_root() {
        println!("skipping: switching to uid {OTHER_UID} needs root");
        return false;
    }
    if Command::new("setpriv").arg("--version").output().is_err() {
        println!("skipping: setpriv not found; install it with apt-get install util-linux");
        return false;
    }
    true
}

/// Runs the hook as [`OTHER_UID`] for `updates` of the repository `bare`,
/// from `/` so that the client needs no access to the repository itself.
fn hook_as_other_user(bare: &Path, socket: &Path, updates: &str) -> Output {
    let mut command = Command::new("setpriv");
    command
        .args([
            &format!("--reuid={OTHER_UID}"),
            &format!("--regid={OTHER_UID}"),
            "--clear-groups",
            FOUREYES_BIN,
            "hook",
            "pre-receive",
        ])
        .current_dir("/")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GIT_DIR", bare)
        .env("FOUREYES_SOCKET", socket)
        .env("REMOTE_USER", "alice");
    run_with_input(&mut command, updates.as_bytes())
}

/// A world-connectable socket, so that only the peer check is between
/// the other user and the daemon.
fn open_socket_config(daemon_settings: &str) -> Config {
    Config::team()
        .daemon(&format!("socket_mode = \"0666\"\n{daemon_settings}"))
        .rule("main", &["refs/heads/main"], "")
}

/// Makes the daemon's temporary directory traversable, so the other user
/// can reach the socket inside it.
fn open_directory(socket: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let dir = socket.parent().expect("the socket is in a directory");
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o711))
        .expect("cannot open the daemon's directory");
}

#[test]
fn other_uid_refused_and_recorded() {
    if !can_switch_user() {
        return;
    }
    let daemon = Daemon::start(&open_socket_config(""));
    open_directory(daemon.socket());
    let remote = daemon.remote("peers");
    let id = remote.commit("main", crate::support::ALICE, &reviewed("Reviewed", &[BOB]));
    let updates = format!("{ZERO_ID} {id} refs/heads/main\n");

    let output = hook_as_other_user(remote.bare(), daemon.socket(), &updates);

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("uid {OTHER_UID} may not use this daemon")),
        "{stderr}"
    );
    let records = daemon.wait_for_records(1);
    assert_eq!(records[0].get("reason"), Some("peer not allowed"));
    assert_eq!(records[0].get("uid"), Some(OTHER_UID.to_string().as_str()));
}

#[test]
fn allowed_uid_is_served() {
    if !can_switch_user() {
        return;
    }
    let daemon = Daemon::start(&open_socket_config(&format!(
        "allowed_uids = [{OTHER_UID}]"
    )));
    open_directory(daemon.socket());
    let remote = daemon.remote("allowed");
    let id = remote.commit("main", crate::support::ALICE, &reviewed("Reviewed", &[BOB]));
    remote.fetch_into_bare("refs/heads/main", "refs/keep/main");
    let updates = format!("{ZERO_ID} {id} refs/heads/main\n");

    let output = hook_as_other_user(remote.bare(), daemon.socket(), &updates);

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("passes rule"), "{stderr}");
}

#[test]
fn default_socket_mode_keeps_others_out() {
    if !can_switch_user() {
        return;
    }
    let daemon = Daemon::start(&Config::team().rule("main", &["refs/heads/main"], ""));
    open_directory(daemon.socket());
    let remote = daemon.remote("closed");
    let updates = format!("{ZERO_ID} {ZERO_ID} refs/heads/main\n");

    let output = hook_as_other_user(remote.bare(), daemon.socket(), &updates);

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot reach the foureyes daemon"),
        "{stderr}"
    );
    assert!(stderr.contains("Permission denied"), "{stderr}");
}
