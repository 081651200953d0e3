//! A private `rsyslogd` for tests: its own configuration, work directory,
//! pid file and sockets in a temporary directory, never the system's
//! `/dev/log`. Tests that need one print a message and pass when rsyslogd is
//! not installed, because the harness's own receiver covers the datagrams.

use std::fs;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// How long to wait for rsyslogd to start or to write records.
const TIMEOUT: Duration = Duration::from_secs(20);

/// Output line format of [`Rsyslogd::local`]: facility, severity, tag, pid
/// and message, separated by `|`. rsyslog keeps the space after
/// `ident[pid]:` in `%msg%`.
pub const FIELDS_TEMPLATE: &str =
    "%syslogfacility-text%|%syslogseverity-text%|%programname%|%procid%|%msg%\\n";

/// A running rsyslogd, stopped with SIGTERM on drop.
pub struct Rsyslogd {
    dir: PathBuf,
    child: Child,
}

/// Returns the path of rsyslogd, or `None` when it is not installed.
pub fn find_rsyslogd() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|dir| dir.join("rsyslogd"))
        .find(|candidate| candidate.is_file())
}

/// Prints why a test that needs rsyslogd passes without running.
pub fn skip_without_rsyslogd() {
    println!("skipping: rsyslogd is not installed; install it with apt-get install rsyslog");
}

/// Returns a TCP port on 127.0.0.1 that was free a moment ago: the kernel
/// picks it for a listener on port 0, which is then closed. Another process
/// could take it in between, which is unlikely on a test machine.
pub fn free_local_port() -> u16 {
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("cannot bind a TCP port on 127.0.0.1");
    listener
        .local_addr()
        .expect("a bound listener has an address")
        .port()
}

/// Polls `condition` every 20 ms; panics when it is still false after
/// [`TIMEOUT`].
pub fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + TIMEOUT;
    while !condition() {
        assert!(
            Instant::now() < deadline,
            "timed out after {TIMEOUT:?} waiting until {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Rsyslogd {
    /// Starts rsyslogd in `dir` with `config`, after a line that sets the
    /// work directory to `dir`. Returns `None` when rsyslogd is not
    /// installed. The caller waits for the inputs it needs.
    pub fn start(dir: &Path, config: &str) -> Option<Rsyslogd> {
        let program = find_rsyslogd()?;
        let config_path = dir.join("rsyslog.conf");
        let text = format!(
            "global(workDirectory=\"{dir}\")\n{config}",
            dir = dir.display()
        );
        fs::write(&config_path, text).expect("cannot write rsyslog.conf");
        let errors = fs::File::create(dir.join("rsyslogd.err"))
            .expect("cannot create the rsyslogd error log");
        let child = Command::new(program)
            .arg("-n")
            .arg("-f")
            .arg(&config_path)
            .arg("-i")
            .arg(dir.join("rsyslogd.pid"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(errors)
            .spawn()
            .expect("cannot start rsyslogd");
        Some(Rsyslogd {
            dir: dir.to_owned(),
            child,
        })
    }

    /// Starts rsyslogd reading the datagram socket [`Rsyslogd::socket`] and
    /// writing every message to [`Rsyslogd::output`] with
    /// [`FIELDS_TEMPLATE`]; waits until the socket exists.
    pub fn local(dir: &Path) -> Option<Rsyslogd> {
        let socket = dir.join("log");
        let config = format!(
            "module(load=\"imuxsock\" SysSock.Use=\"off\")\n\
             input(type=\"imuxsock\" Socket=\"{socket}\" RateLimit.Interval=\"0\")\n\
             template(name=\"fields\" type=\"string\" string=\"{FIELDS_TEMPLATE}\")\n\
             *.* action(type=\"omfile\" file=\"{output}\" template=\"fields\")\n",
            socket = socket.display(),
            output = dir.join("out.log").display(),
        );
        // A restarted rsyslogd must create a new socket file, as after a
        // real restart, so remove the old one first.
        let _ = fs::remove_file(&socket);
        let rsyslogd = Rsyslogd::start(dir, &config)?;
        rsyslogd.wait_for_file(&socket);
        Some(rsyslogd)
    }

    /// Returns the datagram socket of [`Rsyslogd::local`].
    pub fn socket(&self) -> PathBuf {
        self.dir.join("log")
    }

    /// Returns the output file of [`Rsyslogd::local`].
    pub fn output(&self) -> PathBuf {
        self.dir.join("out.log")
    }

    /// Waits until `path` exists, such as an input socket.
    pub fn wait_for_file(&self, path: &Path) {
        wait_until(&format!("rsyslogd creates {}", path.display()), || {
            path.exists()
        });
    }

    /// Returns the lines of `file`, waiting until there are at least
    /// `count`.
    pub fn lines_of(&self, file: &Path, count: usize) -> Vec<String> {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let text = fs::read_to_string(file).unwrap_or_default();
            let lines: Vec<String> = text.lines().map(str::to_owned).collect();
            if lines.len() >= count {
                return lines;
            }
            assert!(
                Instant::now() < deadline,
                "rsyslogd wrote {} of {count} lines to {} within {TIMEOUT:?}:\n{text}\nrsyslogd errors:\n{}",
                lines.len(),
                file.display(),
                self.errors()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Returns the lines of [`Rsyslogd::output`], waiting until there are at
    /// least `count`.
    pub fn lines(&self, count: usize) -> Vec<String> {
        self.lines_of(&self.output(), count)
    }

    /// Returns what rsyslogd printed on stderr so far.
    pub fn errors(&self) -> String {
        fs::read_to_string(self.dir.join("rsyslogd.err")).unwrap_or_default()
    }

    /// Stops rsyslogd with SIGTERM, waits for it to exit and returns its
    /// directory.
    pub fn stop(mut self) -> PathBuf {
        self.terminate();
        self.dir.clone()
    }

    fn terminate(&mut self) {
        let pid = Pid::from_raw(i32::try_from(self.child.id()).expect("process ids fit in i32"));
        if kill(pid, Signal::SIGTERM).is_ok() {
            let _ = self.child.wait();
        }
    }
}

impl Drop for Rsyslogd {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            self.terminate();
        }
    }
}
