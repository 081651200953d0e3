//! End-to-end checks of the audit sender against a real `rsyslogd` on a
//! private socket. The tests print a message and pass when rsyslogd is not
//! installed, because the unit tests already cover the datagrams.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use foureyes::audit::{AuditLog, Facility, MAX_DATAGRAM, Record, Severity};

/// Output line format: facility, severity, tag, pid and message, separated
/// by `|`. rsyslog keeps the space after `ident[pid]:` in `%msg%`.
const TEMPLATE: &str =
    "%syslogfacility-text%|%syslogseverity-text%|%programname%|%procid%|%msg%\\n";

/// A private rsyslogd that reads `socket` and writes every message to
/// `output` with [`TEMPLATE`].
struct Rsyslogd {
    dir: PathBuf,
    socket: PathBuf,
    output: PathBuf,
    child: Child,
}

impl Rsyslogd {
    /// Starts rsyslogd in `dir`, or returns `None` when it is not installed.
    fn start(dir: &Path) -> Option<Rsyslogd> {
        let program = find_rsyslogd()?;
        let socket = dir.join("log");
        let output = dir.join("out.log");
        let config = dir.join("rsyslog.conf");
        let config_text = format!(
            "global(workDirectory=\"{dir}\")\n\
             module(load=\"imuxsock\" SysSock.Use=\"off\")\n\
             input(type=\"imuxsock\" Socket=\"{socket}\" RateLimit.Interval=\"0\")\n\
             template(name=\"fields\" type=\"string\" string=\"{TEMPLATE}\")\n\
             *.* action(type=\"omfile\" file=\"{output}\" template=\"fields\")\n",
            dir = dir.display(),
            socket = socket.display(),
            output = output.display(),
        );
        fs::write(&config, config_text).expect("write rsyslog.conf");

        // A restarted rsyslogd must create a new socket file, as after a
        // real restart, so remove the old one first.
        let _ = fs::remove_file(&socket);
        let child = Command::new(program)
            .arg("-n")
            .arg("-f")
            .arg(&config)
            .arg("-i")
            .arg(dir.join("rsyslogd.pid"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start rsyslogd");
        let rsyslogd = Rsyslogd {
            dir: dir.to_owned(),
            socket,
            output,
            child,
        };
        wait_until("rsyslogd creates its socket", || rsyslogd.socket.exists());
        Some(rsyslogd)
    }

    /// Stops rsyslogd with SIGTERM and waits for it to exit.
    fn stop(mut self) -> PathBuf {
        self.terminate();
        self.dir.clone()
    }

    fn terminate(&mut self) {
        let pid = Pid::from_raw(self.child.id() as i32);
        if kill(pid, Signal::SIGTERM).is_ok() {
            let _ = self.child.wait();
        }
    }

    /// Returns the output lines, waiting until there are at least `count`.
    fn lines(&self, count: usize) -> Vec<String> {
        let mut lines = Vec::new();
        wait_until("rsyslogd writes the records", || {
            let text = fs::read_to_string(&self.output).unwrap_or_default();
            lines = text.lines().map(str::to_owned).collect();
            lines.len() >= count
        });
        lines
    }
}

impl Drop for Rsyslogd {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            self.terminate();
        }
    }
}

fn find_rsyslogd() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|dir| dir.join("rsyslogd"))
        .find(|candidate| candidate.is_file())
}

fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn skip_message() {
    println!("skipping: rsyslogd is not installed; install it with apt-get install rsyslog");
}

fn audit_log(socket: &Path) -> AuditLog {
    AuditLog::new(
        socket.to_owned(),
        Facility::LOG_AUTHPRIV,
        "foureyes".to_owned(),
    )
}

#[test]
fn rsyslog_stores_record_unchanged() {
    let dir = tempfile::tempdir().expect("create temporary directory");
    let Some(rsyslogd) = Rsyslogd::start(dir.path()) else {
        return skip_message();
    };
    let log = audit_log(&rsyslogd.socket);
    let record = Record::new(Severity::Notice)
        .field("ref", "refs/heads/main")
        .field("reviewer", "Ren\u{e9} \u{202e}<r@x>\n")
        .field("result", "accept");
    log.send(&record).expect("send record");

    let lines = rsyslogd.lines(1);
    let pid = std::process::id();
    let prefix = format!("authpriv|notice|foureyes|{pid}| id={pid}-");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].starts_with(&prefix), "{}", lines[0]);
    let expected_end = format!(" {}", record.to_message());
    assert!(lines[0].ends_with(&expected_end), "{}", lines[0]);
}

#[test]
fn rsyslog_receives_every_part() {
    let dir = tempfile::tempdir().expect("create temporary directory");
    let Some(rsyslogd) = Rsyslogd::start(dir.path()) else {
        return skip_message();
    };
    let log = audit_log(&rsyslogd.socket);
    let record = Record::new(Severity::Warning)
        .field("message", "x".repeat(3 * MAX_DATAGRAM))
        .field("result", "reject");
    log.send(&record).expect("send record");

    // The first part to arrive says how many parts to wait for.
    let first = rsyslogd.lines(1).remove(0);
    let count: usize = first
        .split_once("part=1/")
        .and_then(|(_, rest)| rest.split(' ').next())
        .expect("first part has part=1/N")
        .parse()
        .expect("part count is a number");
    assert!(count >= 4, "6 KiB value in {count} parts");
    let lines = rsyslogd.lines(count);
    assert_eq!(lines.len(), count, "{lines:?}");
    for (index, line) in lines.iter().enumerate() {
        let message = line.split('|').nth(4).expect("five columns");
        let part = message
            .split(' ')
            .find_map(|field| field.strip_prefix("part="))
            .expect("part field");
        assert_eq!(part, format!("{}/{count}", index + 1), "{line}");
        assert!(
            message.len() < MAX_DATAGRAM,
            "part of {} bytes",
            message.len()
        );
    }
    let last = lines.last().unwrap();
    assert!(last.ends_with(" result=reject"), "{last}");
}

#[test]
fn rsyslog_restart_loses_no_record() {
    let dir = tempfile::tempdir().expect("create temporary directory");
    let Some(rsyslogd) = Rsyslogd::start(dir.path()) else {
        return skip_message();
    };
    let log = audit_log(&rsyslogd.socket);
    log.send(&Record::new(Severity::Info).field("n", 1))
        .expect("send before restart");
    rsyslogd.lines(1);

    let dir_path = rsyslogd.stop();
    let rsyslogd = Rsyslogd::start(&dir_path).expect("rsyslogd starts again");
    log.send(&Record::new(Severity::Info).field("n", 2))
        .expect("send after restart");

    let lines = rsyslogd.lines(2);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].ends_with(" n=1"), "{}", lines[0]);
    assert!(lines[1].ends_with(" n=2"), "{}", lines[1]);
}
