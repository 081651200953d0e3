//! The pre-receive hook client: `foureyes hook pre-receive`.
//!
//! git runs it once per push with the ref updates on standard input and the
//! git directory as working directory. It collects what the daemon needs,
//! sends it over the Unix socket and relays the response. It starts no async
//! runtime and reads no repository data, so that a push pays little more
//! than a process start and one socket round trip.
//!
//! Exit status: 0 accept, 1 rejected by policy, 2 undecided (daemon
//! unreachable, timeout, protocol error). git rejects the push on 1 and 2.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::protocol::{self, Decision, Hello, RefUpdate, Request, Response};

/// Socket used when `FOUREYES_SOCKET` is not set.
pub const DEFAULT_SOCKET: &str = "/run/foureyes/foureyes.sock";

/// Time the client waits for the whole exchange when `FOUREYES_TIMEOUT_MS`
/// is not set: a little longer than the daemon's default per-request
/// deadline of 4 s, so the daemon's own, more precise, message usually wins,
/// and still inside the 5 s that some hosts give all pre-receive hooks.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(4500);

/// Largest hello frame the client accepts.
const MAX_HELLO_BYTES: usize = 64 * 1024;

/// Largest response frame the client accepts; a rejection of a 50 000-ref
/// mirror push stays well below it.
const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// Largest standard input the client accepts: 50 000 updates of SHA-256 ids
/// and long ref names.
const MAX_STDIN_BYTES: u64 = 64 * 1024 * 1024;

/// A failure that leaves the push undecided (exit 2).
#[derive(Debug)]
pub struct HookError {
    pub message: String,
    pub hint: String,
}

impl HookError {
    fn new(message: impl Into<String>, hint: impl Into<String>) -> HookError {
        HookError {
            message: message.into(),
            hint: hint.into(),
        }
    }
}

/// Runs the hook with the process's environment and standard streams and
/// returns the exit status.
pub fn run() -> u8 {
    let env: BTreeMap<String, String> = std::env::vars_os()
        .filter_map(|(key, value)| Some((key.into_string().ok()?, value.into_string().ok()?)))
        .collect();
    let gitlab = env.contains_key("GL_REPOSITORY");
    let mut stderr = io::stderr().lock();
    match run_with(&env, &mut io::stdin().lock()) {
        Ok(response) => {
            let _ = stderr.write_all(response.message.as_bytes());
            if !response.message.is_empty() && !response.message.ends_with('\n') {
                let _ = stderr.write_all(b"\n");
            }
            response.decision.exit_code()
        }
        Err(err) => {
            let prefix = if gitlab { "GL-HOOK-ERR: " } else { "" };
            let _ = writeln!(stderr, "{prefix}foureyes: {}", err.message);
            let _ = writeln!(
                stderr,
                "{prefix}foureyes: the push is rejected because it could not be checked"
            );
            let _ = writeln!(stderr, "{prefix}hint: {}", err.hint);
            Decision::Error.exit_code()
        }
    }
}

/// Collects the request from `env` and `stdin`, talks to the daemon and
/// returns its response.
pub fn run_with(
    env: &BTreeMap<String, String>,
    stdin: &mut impl Read,
) -> Result<Response, HookError> {
    let updates = read_updates(stdin)?;
    let repo = git_dir(env)?;
    let socket = env
        .get("FOUREYES_SOCKET")
        .filter(|value| !value.is_empty())
        .map_or_else(|| PathBuf::from(DEFAULT_SOCKET), PathBuf::from);
    let timeout = timeout_from(env)?;

    let quarantine = env
        .get("GIT_QUARANTINE_PATH")
        .filter(|value| !value.is_empty())
        .cloned();
    let push_options = push_options(env)?;
    let request = Request {
        version: protocol::VERSION,
        repo,
        updates,
        quarantine,
        push_options,
        env: BTreeMap::new(),
    };
    exchange(&socket, timeout, request, env)
}

/// Parses `<old> SP <new> SP <ref> LF` lines.
fn read_updates(stdin: &mut impl Read) -> Result<Vec<RefUpdate>, HookError> {
    let mut input = Vec::new();
    stdin
        .take(MAX_STDIN_BYTES + 1)
        .read_to_end(&mut input)
        .map_err(|err| {
            HookError::new(
                format!("cannot read ref updates from standard input: {err}"),
                "check that git runs this program as a pre-receive hook",
            )
        })?;
    if input.len() as u64 > MAX_STDIN_BYTES {
        return Err(HookError::new(
            format!("more than {MAX_STDIN_BYTES} bytes of ref updates on standard input"),
            "push fewer refs at once",
        ));
    }
    let input = String::from_utf8(input).map_err(|_| {
        HookError::new(
            "a ref name on standard input is not valid UTF-8",
            "rename the ref to UTF-8; foureyes cannot judge other names",
        )
    })?;
    input
        .lines()
        .filter(|line| !line.is_empty())
        .map(parse_update_line)
        .collect()
}

fn parse_update_line(line: &str) -> Result<RefUpdate, HookError> {
    let mut parts = line.splitn(3, ' ');
    let (Some(old), Some(new), Some(refname)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(HookError::new(
            format!(
                "malformed ref update line {:?}: expected \"<old> <new> <ref>\"",
                line
            ),
            "check that git runs this program as a pre-receive hook",
        ));
    };
    Ok(RefUpdate {
        old: old.to_owned(),
        new: new.to_owned(),
        refname: refname.to_owned(),
    })
}

/// Returns the absolute git directory: `GIT_DIR` resolved against the
/// working directory, which is the git directory itself when git runs hooks.
fn git_dir(env: &BTreeMap<String, String>) -> Result<String, HookError> {
    let cwd = std::env::current_dir().map_err(|err| {
        HookError::new(
            format!("cannot determine the working directory: {err}"),
            "run the hook from inside the repository, as git does",
        )
    })?;
    let dir = match env.get("GIT_DIR").filter(|value| !value.is_empty()) {
        Some(git_dir) if Path::new(git_dir).is_absolute() => PathBuf::from(git_dir),
        Some(git_dir) => cwd.join(git_dir),
        None => cwd,
    };
    dir.into_os_string().into_string().map_err(|path| {
        HookError::new(
            format!("repository path {path:?} is not valid UTF-8"),
            "move the repository to a UTF-8 path",
        )
    })
}

fn timeout_from(env: &BTreeMap<String, String>) -> Result<Duration, HookError> {
    match env
        .get("FOUREYES_TIMEOUT_MS")
        .filter(|value| !value.is_empty())
    {
        None => Ok(DEFAULT_TIMEOUT),
        Some(text) => match text.parse::<u64>() {
            Ok(ms) if ms > 0 => Ok(Duration::from_millis(ms)),
            _ => Err(HookError::new(
                format!("invalid FOUREYES_TIMEOUT_MS {text:?}: expected milliseconds above 0"),
                "fix or unset FOUREYES_TIMEOUT_MS in the hook's environment",
            )),
        },
    }
}

/// Collects `GIT_PUSH_OPTION_0` .. `GIT_PUSH_OPTION_<count-1>`.
fn push_options(env: &BTreeMap<String, String>) -> Result<Vec<String>, HookError> {
    let Some(count) = env.get("GIT_PUSH_OPTION_COUNT") else {
        return Ok(Vec::new());
    };
    let count: usize = count.parse().map_err(|_| {
        HookError::new(
            format!("invalid GIT_PUSH_OPTION_COUNT {count:?}"),
            "check that git runs this program as a pre-receive hook",
        )
    })?;
    (0..count)
        .map(|index| {
            env.get(&format!("GIT_PUSH_OPTION_{index}"))
                .cloned()
                .ok_or_else(|| {
                    HookError::new(
                        format!("GIT_PUSH_OPTION_{index} is missing or not valid UTF-8"),
                        "push again with UTF-8 push options",
                    )
                })
        })
        .collect()
}

/// Connects, exchanges the hello, request and response, all within `timeout`.
fn exchange(
    socket: &Path,
    timeout: Duration,
    mut request: Request,
    env: &BTreeMap<String, String>,
) -> Result<Response, HookError> {
    let started = Instant::now();
    let unreachable = |err: &dyn std::fmt::Display| {
        HookError::new(
            format!(
                "cannot reach the foureyes daemon at {}: {err}",
                socket.display()
            ),
            "ask the server's administrators to start foureyesd (systemctl start foureyes.socket) \
             or to set FOUREYES_SOCKET to the daemon's socket",
        )
    };
    let mut stream = UnixStream::connect(socket).map_err(|err| unreachable(&err))?;

    let remaining = |what: &str| {
        timeout
            .checked_sub(started.elapsed())
            .filter(|left| !left.is_zero())
            .ok_or_else(|| timed_out(socket, timeout, what))
    };
    let broken = |what: &str, err: &dyn std::fmt::Display| {
        HookError::new(
            format!(
                "{what} with the foureyes daemon at {} failed: {err}",
                socket.display()
            ),
            "push again; if it keeps failing, ask the server's administrators to check the foureyesd log",
        )
    };

    stream
        .set_read_timeout(Some(remaining("reading the greeting")?))
        .map_err(|err| broken("setting a timeout", &err))?;
    let hello: Hello = protocol::read_frame(&mut stream, MAX_HELLO_BYTES)
        .map_err(|err| frame_failure(socket, timeout, "reading the greeting", err))?;
    if hello.version != protocol::VERSION {
        return Err(HookError::new(
            format!(
                "the foureyes daemon at {} speaks protocol version {}, this client speaks {}",
                socket.display(),
                hello.version,
                protocol::VERSION
            ),
            "install the same foureyes version for the hook and the daemon",
        ));
    }
    for name in &hello.env {
        if let Some(value) = env.get(name) {
            request.env.insert(name.clone(), value.clone());
        }
    }

    stream
        .set_write_timeout(Some(remaining("sending the request")?))
        .map_err(|err| broken("setting a timeout", &err))?;
    if let Err(err) = protocol::write_frame(&mut stream, &request) {
        // The daemon may have rejected the request before reading all of
        // it (too large) and explained why; prefer its response.
        let _ = stream.set_read_timeout(Some(remaining("reading the decision")?));
        return match protocol::read_frame::<Response>(&mut stream, MAX_RESPONSE_BYTES) {
            Ok(response) => Ok(response),
            Err(_) => Err(broken("sending the request", &err)),
        };
    }

    stream
        .set_read_timeout(Some(remaining("reading the decision")?))
        .map_err(|err| broken("setting a timeout", &err))?;
    protocol::read_frame(&mut stream, MAX_RESPONSE_BYTES)
        .map_err(|err| frame_failure(socket, timeout, "reading the decision", err))
}

fn timed_out(socket: &Path, timeout: Duration, what: &str) -> HookError {
    HookError::new(
        format!(
            "the foureyes daemon at {} did not answer within {} ms (while {what})",
            socket.display(),
            timeout.as_millis()
        ),
        "push again; if it keeps timing out, ask the server's administrators to check the foureyesd load and log",
    )
}

fn frame_failure(
    socket: &Path,
    timeout: Duration,
    what: &str,
    err: protocol::FrameError,
) -> HookError {
    match err {
        protocol::FrameError::Io(io)
            if matches!(
                io.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) =>
        {
            timed_out(socket, timeout, what)
        }
        other => HookError::new(
            format!(
                "{what} from the foureyes daemon at {} failed: {other}",
                socket.display()
            ),
            "push again; if it keeps failing, ask the server's administrators to check the foureyesd log",
        ),
    }
}
