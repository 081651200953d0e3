//! The systemd integration: the unit files under `systemd/` as
//! `systemd-analyze` judges them, the daemon's side of socket activation and
//! of the notify protocol, and the system calls the daemon makes compared
//! with the unit's filter. systemd does not need to run as PID 1 for any of
//! this. Tests print a message and pass when a tool is missing.

use std::collections::BTreeSet;
use std::fs;
use std::io::ErrorKind;
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::support::{ALICE, BOB, Config, Daemon, Launch, SOCKET_ACTIVATE_BIN, reviewed};

/// The highest exposure score that `systemd-analyze security` may give
/// `foureyes.service`. systemd 252 scores the unit 0.2, all of it for the
/// settings listed in [`ACCEPTED_EXPOSURE`]. Removing any one of `User=`,
/// `NoNewPrivileges=`, `ProtectSystem=`, `ProtectHome=`, `PrivateTmp=`,
/// `PrivateUsers=`, `PrivateNetwork=`, `RestrictAddressFamilies=`,
/// `SystemCallFilter=` or `CapabilityBoundingSet=` raises it to 0.4 or more.
const MAX_EXPOSURE: f64 = 0.3;

/// The checks of `systemd-analyze security` (systemd 252) that the unit fails
/// on purpose. The daemon needs `AF_UNIX`, and `RemoveIPC=` would delete the
/// IPC objects of every git process. `ProtectClock=` itself allows reading
/// the RTC device. A separate root directory would need an image of the
/// daemon and its libraries.
const ACCEPTED_EXPOSURE: [&str; 4] = [
    "RemoveIPC=",
    "RootDirectory=/RootImage=",
    "RestrictAddressFamilies=~AF_UNIX",
    "DeviceAllow=",
];

fn unit_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd")
}

fn systemd_analyze() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/bin")])
        .map(|dir| dir.join("systemd-analyze"))
        .find(|candidate| candidate.is_file())
}

fn skip_without_systemd_analyze() {
    println!("skipping: systemd-analyze is not installed; install it with apt-get install systemd");
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn run(command: &mut Command) -> Output {
    command
        .output()
        .unwrap_or_else(|err| panic!("failed to run {command:?}: {err}"))
}

/// Builds a file system root for `systemd-analyze verify --root`: the host's
/// system units (for `sysinit.target` and friends), our two unit files, and
/// the programs that `ExecStart=` and `ExecReload=` name, so that verify
/// checks the unit files unchanged.
fn verify_root(dir: &Path) -> PathBuf {
    let root = dir.join("root");
    let system_units = ["/usr/lib/systemd/system", "/lib/systemd/system"]
        .into_iter()
        .map(Path::new)
        .find(|path| path.is_dir())
        .expect("systemd-analyze is installed, so the system unit directory exists");
    copy_dir(system_units, &root.join("usr/lib/systemd/system"));

    let units = root.join("etc/systemd/system");
    fs::create_dir_all(&units).expect("create etc/systemd/system");
    for name in ["foureyes.service", "foureyes.socket"] {
        fs::copy(unit_dir().join(name), units.join(name)).expect("copy unit file");
    }

    let programs = [
        (
            PathBuf::from(env!("CARGO_BIN_EXE_foureyesd")),
            "usr/bin/foureyesd",
        ),
        (PathBuf::from("/bin/kill"), "bin/kill"),
    ];
    for (source, target) in programs {
        let target = root.join(target);
        fs::create_dir_all(target.parent().expect("target has a parent"))
            .expect("create bin directory");
        fs::copy(&source, &target).unwrap_or_else(|err| panic!("copy {}: {err}", source.display()));
    }
    root
}

fn copy_dir(source: &Path, target: &Path) {
    fs::create_dir_all(target).expect("create directory");
    for entry in fs::read_dir(source).expect("read directory") {
        let entry = entry.expect("read directory entry");
        let path = entry.path();
        let destination = target.join(entry.file_name());
        let file_type = entry.file_type().expect("read file type");
        if file_type.is_symlink() {
            let link = fs::read_link(&path).expect("read symlink");
            std::os::unix::fs::symlink(link, &destination).expect("copy symlink");
        } else if file_type.is_dir() {
            copy_dir(&path, &destination);
        } else {
            fs::copy(&path, &destination).expect("copy file");
        }
    }
}

#[test]
fn units_pass_systemd_analyze_verify() {
    let Some(analyze) = systemd_analyze() else {
        return skip_without_systemd_analyze();
    };
    let dir = tempfile::tempdir().expect("create temporary directory");
    let root = verify_root(dir.path());

    // Without --man=no, verify runs man(1) for each Documentation=man: line,
    // and whether man pages are installed depends on the machine.
    let output = run(Command::new(analyze)
        .arg("verify")
        .arg("--man=no")
        .arg(format!("--root={}", root.display()))
        .arg("foureyes.service")
        .arg("foureyes.socket")
        .current_dir(dir.path()));

    let stderr = text(&output.stderr);
    assert!(output.status.success(), "verify failed:\n{stderr}");
    // verify exits 0 on unknown keys and unparsable values, which it only
    // prints, so any output at all is a finding.
    assert_eq!(stderr, "", "verify printed findings");
    assert_eq!(text(&output.stdout), "", "verify printed findings");
}

#[test]
fn verify_reports_a_missing_program() {
    let Some(analyze) = systemd_analyze() else {
        return skip_without_systemd_analyze();
    };
    let dir = tempfile::tempdir().expect("create temporary directory");
    let root = verify_root(dir.path());
    fs::remove_file(root.join("usr/bin/foureyesd")).expect("remove foureyesd");

    let output = run(Command::new(analyze)
        .arg("verify")
        .arg("--man=no")
        .arg(format!("--root={}", root.display()))
        .arg("foureyes.service")
        .current_dir(dir.path()));

    let stderr = text(&output.stderr);
    assert!(!output.status.success(), "verify passed:\n{stderr}");
    assert!(stderr.contains("/usr/bin/foureyesd"), "{stderr}");
}

/// Returns the overall exposure score and the names of the failed checks.
fn parse_security(stdout: &str) -> (f64, Vec<String>) {
    let score = stdout
        .lines()
        .find_map(|line| line.split_once("Overall exposure level for foureyes.service: "))
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(|number| number.parse().ok())
        .unwrap_or_else(|| panic!("no overall exposure level in:\n{stdout}"));
    let failed = stdout
        .lines()
        .filter_map(|line| line.strip_prefix("✗ "))
        .filter_map(|rest| rest.split_whitespace().next())
        .map(str::to_owned)
        .collect();
    (score, failed)
}

#[test]
fn service_exposure_is_low() {
    let Some(analyze) = systemd_analyze() else {
        return skip_without_systemd_analyze();
    };
    let output = run(Command::new(analyze)
        .arg("security")
        .arg("--offline=yes")
        .arg("--no-pager")
        .arg(unit_dir().join("foureyes.service")));

    let stdout = text(&output.stdout);
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "security failed:\n{stderr}");
    assert_eq!(stderr, "", "security printed warnings");

    let (score, failed) = parse_security(&stdout);
    assert!(score <= MAX_EXPOSURE, "exposure {score}:\n{stdout}");
    for check in &failed {
        assert!(
            ACCEPTED_EXPOSURE.contains(&check.as_str()),
            "unexpected failed check {check}:\n{stdout}"
        );
    }
}

// --- Socket activation --------------------------------------------------

fn socket_activate_installed() -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).any(|dir| dir.join(SOCKET_ACTIVATE_BIN).is_file())
}

fn skip_without_socket_activate() {
    println!(
        "skipping: {SOCKET_ACTIVATE_BIN} is not installed; install it with apt-get install systemd"
    );
}

fn protect_main() -> Config {
    Config::team().rule("main", &["refs/heads/main"], "min_reviewers = 1")
}

#[test]
fn socket_activation_serves_pushes() {
    if !socket_activate_installed() {
        return skip_without_socket_activate();
    }
    let launch = Launch {
        socket_activated: true,
        ..Launch::default()
    };
    let mut daemon = Daemon::start_with(&protect_main(), &launch);
    let remote = daemon.remote("activated");

    remote.commit("main", ALICE, "Unreviewed change\n");
    let rejected = remote.push(&["main"]);
    assert_ne!(rejected.code, Some(0), "{}", rejected.stderr);
    assert!(!rejected.moved("refs/heads/main"));

    // Start main again from nothing, so the next push carries only the
    // reviewed commit.
    remote.git(&["update-ref", "-d", "refs/heads/main"]);
    let reviewed_id = remote.commit("main", ALICE, &reviewed("Reviewed change", &[BOB]));
    let accepted = remote.push(&["main"]);
    assert_eq!(accepted.code, Some(0), "{}", accepted.stderr);
    assert!(accepted.moved("refs/heads/main"));
    assert_eq!(accepted.after.get("refs/heads/main"), Some(&reviewed_id));

    let log = daemon.log();
    assert!(
        log.contains("listening on the socket passed by systemd"),
        "{log}"
    );
    let decisions: Vec<Option<String>> = daemon
        .records()
        .iter()
        .map(|record| record.get("decision").map(str::to_owned))
        .collect();
    assert_eq!(
        decisions,
        [Some("reject".to_owned()), Some("accept".to_owned())]
    );

    // systemd-socket-activate bound the socket file, so it removes it, and
    // the daemon leaves it in place.
    daemon.signal(Signal::SIGTERM);
    let status = daemon.wait_for_exit();
    assert!(status.success(), "{status}:\n{}", daemon.log());
    assert!(daemon.socket().exists());
}

#[test]
fn bound_socket_removed_at_exit() {
    let mut daemon = Daemon::start(&protect_main());
    let log = daemon.log();
    assert!(
        log.contains("listening on a socket bound by foureyesd"),
        "{log}"
    );

    daemon.signal(Signal::SIGTERM);
    let status = daemon.wait_for_exit();
    assert!(status.success(), "{status}:\n{}", daemon.log());
    assert!(!daemon.socket().exists());
}

#[test]
fn socket_for_another_process_ignored() {
    // LISTEN_PID names the process the sockets are meant for, so a daemon
    // that inherits the variables from a parent binds its own socket.
    let launch = Launch {
        env: vec![
            ("LISTEN_FDS".to_owned(), "1".to_owned()),
            ("LISTEN_PID".to_owned(), "1".to_owned()),
        ],
        ..Launch::default()
    };
    let daemon = Daemon::start_with(&protect_main(), &launch);
    let log = daemon.log();
    assert!(
        log.contains("listening on a socket bound by foureyesd"),
        "{log}"
    );
}

// --- The notify protocol -------------------------------------------------

/// A stand-in for systemd's notification socket.
struct NotifySocket {
    _dir: tempfile::TempDir,
    path: PathBuf,
    socket: UnixDatagram,
}

impl NotifySocket {
    fn bind() -> NotifySocket {
        let dir = tempfile::tempdir().expect("create temporary directory");
        let path = dir.path().join("notify.sock");
        let socket = UnixDatagram::bind(&path).expect("bind the notify socket");
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .expect("a positive timeout is valid");
        NotifySocket {
            _dir: dir,
            path,
            socket,
        }
    }

    fn env(&self) -> (String, String) {
        let path = self.path.to_str().expect("temporary paths are UTF-8");
        ("NOTIFY_SOCKET".to_owned(), path.to_owned())
    }

    /// Returns the next message that is not a watchdog ping, as its lines;
    /// panics when none arrives within [`NOTIFY_TIMEOUT`].
    fn next(&self) -> Vec<String> {
        let deadline = Instant::now() + NOTIFY_TIMEOUT;
        loop {
            if let Some(message) = self.receive()
                && message != ["WATCHDOG=1"]
            {
                return message;
            }
            assert!(
                Instant::now() < deadline,
                "no notification within {NOTIFY_TIMEOUT:?}"
            );
        }
    }

    /// Returns the messages that arrive within `window`.
    fn collect(&self, window: Duration) -> Vec<Vec<String>> {
        let end = Instant::now() + window;
        let mut messages = Vec::new();
        while Instant::now() < end {
            messages.extend(self.receive());
        }
        messages
    }

    fn receive(&self) -> Option<Vec<String>> {
        let mut buffer = [0u8; 4096];
        match self.socket.recv(&mut buffer) {
            Ok(length) => {
                let text = std::str::from_utf8(&buffer[..length]).expect("notifications are UTF-8");
                Some(text.lines().map(str::to_owned).collect())
            }
            Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => None,
            Err(err) => panic!("receiving a notification failed: {err}"),
        }
    }
}

/// How long a notification may take to arrive. Generous, because tests share
/// two cores.
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(20);

/// Returns the value of `KEY=` in `message`.
fn value<'a>(message: &'a [String], key: &str) -> Option<&'a str> {
    message
        .iter()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
}

#[test]
fn notify_reports_life_cycle() {
    let notify = NotifySocket::bind();
    let launch = Launch {
        env: vec![notify.env()],
        ..Launch::default()
    };
    let mut daemon = Daemon::start_with(&protect_main(), &launch);

    let ready = notify.next();
    assert_eq!(value(&ready, "READY"), Some("1"), "{ready:?}");
    assert_eq!(value(&ready, "STATUS"), Some("serving with 1 rule"));

    daemon.signal(Signal::SIGHUP);
    let reloading = notify.next();
    assert_eq!(value(&reloading, "RELOADING"), Some("1"), "{reloading:?}");
    let first_time: u64 = value(&reloading, "MONOTONIC_USEC")
        .expect("RELOADING=1 comes with MONOTONIC_USEC")
        .parse()
        .expect("MONOTONIC_USEC is a number");
    let reloaded = notify.next();
    assert_eq!(value(&reloaded, "READY"), Some("1"), "{reloaded:?}");
    assert_eq!(value(&reloaded, "STATUS"), Some("serving with 1 rule"));

    // A broken file keeps the old configuration, and systemd still gets
    // READY=1, or it would wait for the reload until its timeout.
    fs::write(daemon.config_path(), "[daemon\n").expect("write a broken configuration");
    daemon.signal(Signal::SIGHUP);
    let reloading = notify.next();
    assert_eq!(value(&reloading, "RELOADING"), Some("1"), "{reloading:?}");
    let second_time: u64 = value(&reloading, "MONOTONIC_USEC")
        .expect("RELOADING=1 comes with MONOTONIC_USEC")
        .parse()
        .expect("MONOTONIC_USEC is a number");
    assert!(second_time > first_time, "{second_time} <= {first_time}");
    let failed = notify.next();
    assert_eq!(value(&failed, "READY"), Some("1"), "{failed:?}");
    assert_eq!(
        value(&failed, "STATUS"),
        Some("serving with 1 rule; the last reload failed, see the log")
    );

    daemon.signal(Signal::SIGTERM);
    let stopping = notify.next();
    assert_eq!(value(&stopping, "STOPPING"), Some("1"), "{stopping:?}");
    let status = daemon.wait_for_exit();
    assert!(status.success(), "{status}:\n{}", daemon.log());
}

#[test]
fn watchdog_pings_at_half_timeout() {
    let notify = NotifySocket::bind();
    let launch = Launch {
        env: vec![
            notify.env(),
            ("WATCHDOG_USEC".to_owned(), "200000".to_owned()),
        ],
        ..Launch::default()
    };
    let _daemon = Daemon::start_with(&protect_main(), &launch);

    // 100 ms between pings gives about 10 in one second; a loaded machine
    // may delay some, so ask for 3.
    let pings = notify
        .collect(Duration::from_secs(1))
        .into_iter()
        .filter(|message| message == &["WATCHDOG=1"])
        .count();
    assert!(pings >= 3, "{pings} pings in 1 s");
}

#[test]
fn watchdog_for_another_process_ignored() {
    let notify = NotifySocket::bind();
    let launch = Launch {
        env: vec![
            notify.env(),
            ("WATCHDOG_USEC".to_owned(), "200000".to_owned()),
            ("WATCHDOG_PID".to_owned(), "1".to_owned()),
        ],
        ..Launch::default()
    };
    let _daemon = Daemon::start_with(&protect_main(), &launch);

    let messages = notify.collect(Duration::from_secs(1));
    let pings = messages
        .iter()
        .filter(|message| *message == &["WATCHDOG=1"])
        .count();
    assert_eq!(pings, 0, "{messages:?}");
}

// --- The system call filter -----------------------------------------------

/// Returns the entries of the `SystemCallFilter=` lines of
/// `foureyes.service`: the allow list, and the deny list (lines that start
/// with `~`), which systemd applies after it.
fn unit_syscall_filter() -> (Vec<String>, Vec<String>) {
    let path = unit_dir().join("foureyes.service");
    let unit = fs::read_to_string(&path).expect("read foureyes.service");
    let mut allow = Vec::new();
    let mut deny = Vec::new();
    for line in unit.lines() {
        let Some(value) = line.strip_prefix("SystemCallFilter=") else {
            continue;
        };
        match value.strip_prefix('~') {
            Some(denied) => deny.extend(denied.split_whitespace().map(str::to_owned)),
            None => allow.extend(value.split_whitespace().map(str::to_owned)),
        }
    }
    (allow, deny)
}

fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Returns the system calls in `group`, expanding nested groups, as
/// `systemd-analyze syscall-filter` lists them. A name without `@` is a
/// single system call.
fn expand_syscall_group(analyze: &Path, group: &str) -> BTreeSet<String> {
    if !group.starts_with('@') {
        return BTreeSet::from([group.to_owned()]);
    }
    let output = run(Command::new(analyze).args(["syscall-filter", group]));
    assert!(
        output.status.success(),
        "syscall-filter {group} failed:\n{}",
        text(&output.stderr)
    );
    let mut syscalls = BTreeSet::new();
    let stdout = text(&output.stdout);
    // The first line names the group itself; members are indented, and
    // comment lines start with '#'.
    for line in stdout.lines().skip(1) {
        let member = line.trim();
        if member.is_empty() || member.starts_with('#') {
            continue;
        }
        syscalls.extend(expand_syscall_group(analyze, member));
    }
    syscalls
}

/// Returns the names of the system calls in an `strace -f` log.
fn traced_syscalls(log: &str) -> BTreeSet<String> {
    log.lines()
        .filter_map(|line| {
            // "PID name(args) = result" or "PID name(args <unfinished ...>";
            // resumed calls, signals and exits start with '<', '-' or '+'.
            let (_, call) = line.split_once(char::is_whitespace)?;
            let (name, _) = call.trim_start().split_once('(')?;
            let is_name = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            is_name.then(|| name.to_owned())
        })
        .collect()
}

/// Returns the pid of the only child of `pid`.
fn only_child(pid: i32) -> i32 {
    let path = format!("/proc/{pid}/task/{pid}/children");
    let children = fs::read_to_string(&path).unwrap_or_else(|err| panic!("read {path}: {err}"));
    let pids: Vec<i32> = children
        .split_whitespace()
        .map(|child| child.parse().expect("pids are numbers"))
        .collect();
    assert_eq!(pids.len(), 1, "children of {pid}: {children:?}");
    pids[0]
}

#[test]
fn daemon_syscalls_pass_the_filter() {
    let Some(analyze) = systemd_analyze() else {
        return skip_without_systemd_analyze();
    };
    let Some(strace) = find_program("strace") else {
        println!("skipping: strace is not installed; install it with apt-get install strace");
        return;
    };
    let (allow, deny) = unit_syscall_filter();
    assert_eq!(allow, ["@system-service"]);
    let mut allowed = BTreeSet::new();
    for group in &allow {
        allowed.extend(expand_syscall_group(&analyze, group));
    }
    for group in &deny {
        for syscall in expand_syscall_group(&analyze, group) {
            allowed.remove(&syscall);
        }
    }

    // Run the daemon through every phase: start, an accepted and a rejected
    // push, a reload, a failed reload and a stop.
    let trace_dir = tempfile::tempdir().expect("create temporary directory");
    let trace = trace_dir.path().join("strace.log");
    let launch = Launch {
        wrapper: vec![
            strace.display().to_string(),
            "-f".to_owned(),
            "-qq".to_owned(),
            "-o".to_owned(),
            trace.display().to_string(),
        ],
        ..Launch::default()
    };
    let mut daemon = Daemon::start_with(&protect_main(), &launch);
    let remote = daemon.remote("traced");
    remote.commit("main", ALICE, &reviewed("Reviewed change", &[BOB]));
    let accepted = remote.push(&["main"]);
    assert_eq!(accepted.code, Some(0), "{}", accepted.stderr);
    remote.commit("main", ALICE, "Unreviewed change\n");
    let rejected = remote.push(&["main"]);
    assert_ne!(rejected.code, Some(0), "{}", rejected.stderr);

    let foureyesd = Pid::from_raw(only_child(daemon.pid().as_raw()));
    let config = fs::read_to_string(daemon.config_path()).expect("read the configuration");
    kill(foureyesd, Signal::SIGHUP).expect("send SIGHUP");
    wait_for_log(&daemon, "configuration reloaded");
    fs::write(daemon.config_path(), "[daemon\n").expect("write a broken configuration");
    kill(foureyesd, Signal::SIGHUP).expect("send SIGHUP");
    wait_for_log(&daemon, "reload failed");
    fs::write(daemon.config_path(), config).expect("restore the configuration");
    kill(foureyesd, Signal::SIGTERM).expect("send SIGTERM");
    let status = daemon.wait_for_exit();
    assert!(status.success(), "{status}:\n{}", daemon.log());

    let log = fs::read_to_string(&trace).expect("read the strace log");
    let used = traced_syscalls(&log);
    assert!(used.contains("accept4"), "no accept4 in {used:?}");
    let blocked: Vec<&String> = used.difference(&allowed).collect();
    assert!(
        blocked.is_empty(),
        "foureyesd used system calls that foureyes.service blocks: {blocked:?}"
    );
}

fn wait_for_log(daemon: &Daemon, text: &str) {
    let deadline = Instant::now() + NOTIFY_TIMEOUT;
    while !daemon.log().contains(text) {
        assert!(
            Instant::now() < deadline,
            "no {text:?} in the log within {NOTIFY_TIMEOUT:?}:\n{}",
            daemon.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs foureyesd under systemd-socket-activate with `arguments` before it,
/// wakes it with `wake` and returns its exit status and stderr.
fn activate_and_wait(
    dir: &Path,
    arguments: &[&str],
    wake: impl FnOnce(),
) -> (std::process::ExitStatus, String) {
    let config = dir.join("foureyes.toml");
    let repo_root = dir.join("repos");
    fs::create_dir_all(&repo_root).expect("create the repo root");
    fs::write(
        &config,
        protect_main().to_toml(&dir.join("foureyes.sock"), &repo_root, &dir.join("log")),
    )
    .expect("write the configuration");
    let stderr_path = dir.join("stderr.log");
    let stderr = fs::File::create(&stderr_path).expect("create the stderr file");
    let mut child = Command::new(SOCKET_ACTIVATE_BIN)
        .args(arguments)
        .arg(env!("CARGO_BIN_EXE_foureyesd"))
        .arg("--config")
        .arg(&config)
        .stderr(stderr)
        .spawn()
        .expect("start systemd-socket-activate");

    wake();
    let deadline = Instant::now() + NOTIFY_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("poll foureyesd") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "foureyesd did not exit within {NOTIFY_TIMEOUT:?}:\n{}",
                fs::read_to_string(&stderr_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (status, fs::read_to_string(&stderr_path).unwrap_or_default())
}

/// Connects to `path` once it exists, which makes systemd-socket-activate
/// start the daemon.
fn connect_when_ready(path: &Path) {
    let deadline = Instant::now() + NOTIFY_TIMEOUT;
    while UnixStream::connect(path).is_err() {
        assert!(
            Instant::now() < deadline,
            "{} did not accept a connection",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn two_inherited_sockets_rejected() {
    if !socket_activate_installed() {
        return skip_without_socket_activate();
    }
    let dir = tempfile::tempdir().expect("create temporary directory");
    let first = dir.path().join("first.sock");
    let second = dir.path().join("second.sock");
    let first_arg = first.display().to_string();
    let second_arg = second.display().to_string();

    let (status, stderr) =
        activate_and_wait(dir.path(), &["-l", &first_arg, "-l", &second_arg], || {
            connect_when_ready(&first)
        });

    assert!(!status.success(), "{stderr}");
    assert!(
        stderr.contains("systemd passed 2 sockets but foureyesd serves exactly one"),
        "{stderr}"
    );
}

#[test]
fn inherited_datagram_socket_rejected() {
    if !socket_activate_installed() {
        return skip_without_socket_activate();
    }
    let dir = tempfile::tempdir().expect("create temporary directory");
    let socket = dir.path().join("datagram.sock");
    let socket_arg = socket.display().to_string();

    let (status, stderr) =
        activate_and_wait(dir.path(), &["--datagram", "-l", &socket_arg], || {
            let deadline = Instant::now() + NOTIFY_TIMEOUT;
            let sender = UnixDatagram::unbound().expect("create a datagram socket");
            while sender.send_to(b"wake up", &socket).is_err() {
                assert!(
                    Instant::now() < deadline,
                    "no datagram socket at {socket_arg}"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        });

    assert!(!status.success(), "{stderr}");
    assert!(
        stderr.contains("the socket passed by systemd is not a Unix stream socket"),
        "{stderr}"
    );
}
