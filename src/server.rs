//! The daemon: accepts hook connections and replies to each with a decision.
//!
//! [`serve`] takes an already-bound listener and a shutdown token, so tests
//! pass a temporary socket and systemd can pass an inherited one. Each
//! connection is one exchange (see [`crate::protocol`]). The repository work
//! is synchronous (gix) and runs on the blocking pool, limited by a
//! semaphore; the permit moves into the blocking task, so a request that
//! timed out keeps its slot until its work has really stopped.
//!
//! Every failure on a connection closes that connection only, and is logged
//! with the peer's pid and uid. A push that cannot be decided is rejected.

use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, error, info, warn};

use crate::audit::{AuditLog, Record, Severity};
use crate::config::{Config, OnFailure};
use crate::policy::{self, Detail, Push, PushVerdict};
use crate::protocol::{self, Decision, FrameError, Hello, Request, Response};
use crate::repo::PushRepo;
use crate::report;

/// Bytes in a frame's length prefix (see [`crate::protocol`]).
const HEADER_LEN: usize = 4;

/// Time allowed for writing a response to a client that does not read.
const WRITE_TIMEOUT: Duration = Duration::from_secs(2);

/// The configuration in force and everything derived from it. A reload
/// builds a new one; requests in flight keep the one they started with.
pub struct State {
    pub config: Config,
    pub audit: AuditLog,
    checks: Arc<Semaphore>,
    waiting: AtomicUsize,
    /// The daemon's own uid, allowed to connect in every configuration.
    own_uid: u32,
}

impl State {
    pub fn new(config: Config) -> State {
        let audit = AuditLog::new(
            config.syslog.socket.clone(),
            config.syslog.facility,
            config.syslog.ident.clone(),
        );
        State {
            checks: Arc::new(Semaphore::new(config.limits.max_concurrent_checks)),
            waiting: AtomicUsize::new(0),
            own_uid: nix::unistd::geteuid().as_raw(),
            audit,
            config,
        }
    }
}

/// The state shared by all connections; replaced as a whole on reload.
pub type SharedState = Arc<RwLock<Arc<State>>>;

/// Accepts connections until `shutdown` is cancelled, then waits for the
/// requests in flight to finish.
pub async fn serve(listener: UnixListener, state: SharedState, shutdown: CancellationToken) {
    let tracker = TaskTracker::new();
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, _)) => {
                let current = state
                    .read()
                    .expect("the state lock is never poisoned")
                    .clone();
                tracker.spawn(handle_connection(stream, current));
            }
            Err(err) => {
                // EMFILE and friends: back off briefly instead of spinning.
                warn!(error = %err, "cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    // Closing the listener makes new clients fail at once with "connection
    // refused" instead of waiting in the backlog until the daemon exits.
    drop(listener);
    tracker.close();
    info!(
        in_flight = tracker.len(),
        "stopped accepting connections; finishing requests in flight"
    );
    tracker.wait().await;
}

/// The peer of a connection, as the kernel reports it (`SO_PEERCRED`).
#[derive(Clone, Copy, Debug)]
struct Peer {
    uid: u32,
    pid: i32,
}

async fn handle_connection(mut stream: UnixStream, state: Arc<State>) {
    let peer = match stream.peer_cred() {
        Ok(cred) => Peer {
            uid: cred.uid(),
            pid: cred.pid().unwrap_or(0),
        },
        Err(err) => {
            warn!(error = %err, "cannot read peer credentials; closing the connection");
            return;
        }
    };
    if let Err(reason) = check_peer(&state, peer) {
        warn!(uid = peer.uid, pid = peer.pid, "{reason}");
        let record = Record::new(Severity::Warning)
            .field("decision", "error")
            .field("reason", "peer not allowed")
            .field("uid", peer.uid)
            .field("pid", peer.pid);
        send_audit(&state, vec![record]).await;
        // The greeting requests no variables, so a refused client learns
        // nothing about the configuration; the error follows at once,
        // without reading the request.
        let hello = Hello {
            version: protocol::VERSION,
            env: Vec::new(),
        };
        let response = Response {
            decision: Decision::Error,
            message: report::styled(
                format!("foureyes: push rejected: {reason}\n"),
                state.config.messages.style,
            ),
        };
        if write_message(&mut stream, &hello).await.is_ok() {
            let _ = write_message(&mut stream, &response).await;
        }
        return;
    }

    let hello = Hello {
        version: protocol::VERSION,
        env: state.config.pusher.env.clone(),
    };
    if let Err(err) = write_message(&mut stream, &hello).await {
        debug!(uid = peer.uid, pid = peer.pid, error = %err, "client left before the greeting");
        return;
    }
    let payload = match read_payload(&mut stream, &state).await {
        Ok(payload) => payload,
        Err(FrameError::TooLarge { length, max }) => {
            warn!(
                uid = peer.uid,
                pid = peer.pid,
                length,
                max,
                "closing connection: request too large"
            );
            let reason = format!(
                "the request has {length} bytes, more than the limit max_request_bytes ({max}); push fewer refs at once"
            );
            let record = Record::new(Severity::Err)
                .field("decision", "error")
                .field("reason", &reason)
                .field("uid", peer.uid)
                .field("pid", peer.pid);
            send_audit(&state, vec![record]).await;
            let response = Response {
                decision: Decision::Error,
                message: report::styled(
                    format!("foureyes: push rejected: {reason}\n"),
                    state.config.messages.style,
                ),
            };
            let _ = write_message(&mut stream, &response).await;
            return;
        }
        Err(FrameError::Incomplete { received: 0 }) => {
            // `foureyes doctor` and health checks read the greeting and leave.
            debug!(
                uid = peer.uid,
                pid = peer.pid,
                "client closed the connection after the greeting"
            );
            return;
        }
        Err(err) => {
            warn!(uid = peer.uid, pid = peer.pid, error = %err, "closing connection: bad or missing request");
            return;
        }
    };
    // The version is checked before the other fields, so that a client of
    // another version learns why even when its request has fields that this
    // version does not know.
    if let Some(version) = protocol::peek_version(&payload)
        && version != protocol::VERSION
    {
        warn!(
            uid = peer.uid,
            pid = peer.pid,
            version,
            "closing connection: wrong protocol version"
        );
        let response = Response {
            decision: Decision::Error,
            message: format!(
                "foureyes: the hook speaks protocol version {}, the daemon speaks {}\nhint: install the same foureyes version for the hook and the daemon\n",
                version,
                protocol::VERSION
            ),
        };
        let _ = write_message(&mut stream, &response).await;
        return;
    }
    let request: Request = match protocol::decode_payload(&payload) {
        Ok(request) => request,
        Err(err) => {
            warn!(uid = peer.uid, pid = peer.pid, error = %err, "closing connection: bad or missing request");
            return;
        }
    };

    let response = decide(&mut stream, &state, request, peer).await;
    if let Err(err) = write_message(&mut stream, &response).await {
        warn!(uid = peer.uid, pid = peer.pid, error = %err, "cannot send the decision; the client is gone");
    }
}

fn check_peer(state: &State, peer: Peer) -> Result<(), String> {
    let allowed = &state.config.daemon.allowed_uids;
    if peer.uid == state.own_uid || allowed.contains(&peer.uid) {
        Ok(())
    } else {
        Err(format!(
            "uid {} may not use this daemon; add it to [daemon] allowed_uids",
            peer.uid
        ))
    }
}

/// Validates the request, evaluates it and writes the audit records.
async fn decide(
    stream: &mut UnixStream,
    state: &Arc<State>,
    request: Request,
    peer: Peer,
) -> Response {
    let started = Instant::now();
    let config = &state.config;
    let checked = match check_request(config, &request) {
        Ok(checked) => checked,
        Err(reason) => {
            warn!(uid = peer.uid, pid = peer.pid, repo = %request.repo, "request rejected: {reason}");
            let record = Record::new(Severity::Err)
                .field("decision", "error")
                .field("repo", &request.repo)
                .field("reason", &reason)
                .field("uid", peer.uid)
                .field("pid", peer.pid);
            send_audit(state, vec![record]).await;
            return Response {
                decision: Decision::Error,
                message: report::styled(
                    format!("foureyes: push rejected: {reason}\n"),
                    config.messages.style,
                ),
            };
        }
    };

    let pusher = policy::pusher_from_env(&config.pusher.env, |name| {
        request.env.get(name).map(String::as_str)
    });
    if !policy::needs_repository(config, &checked.relative, &request.updates) {
        debug!(repo = %checked.relative, refs = request.updates.len(), "no rule matches; accepted");
        return Response {
            decision: Decision::Accept,
            message: String::new(),
        };
    }

    // Bounded queue: past max_queued_checks waiting requests, reject at once.
    let waiting = state.waiting.fetch_add(1, Ordering::SeqCst);
    if waiting >= config.limits.max_queued_checks && state.checks.available_permits() == 0 {
        state.waiting.fetch_sub(1, Ordering::SeqCst);
        warn!(repo = %checked.relative, waiting, "busy: too many checks waiting");
        let verdict = undecided(
            config,
            &checked,
            &request,
            pusher.clone(),
            "the daemon is busy: too many pushes are waiting (limit max_queued_checks)",
        );
        return finish(state, &checked, verdict).await;
    }
    let deadline = started + config.limits.deadline;
    let permit = tokio::select! {
        permit = state.checks.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
        () = tokio::time::sleep_until(deadline.into()) => {
            state.waiting.fetch_sub(1, Ordering::SeqCst);
            let verdict = undecided(config, &checked, &request, pusher.clone(), &format!("timed out after {} ms waiting for a free check slot (limit deadline_ms)", config.limits.deadline.as_millis()));
            return finish(state, &checked, verdict).await;
        }
    };
    state.waiting.fetch_sub(1, Ordering::SeqCst);

    let cancelled = Arc::new(AtomicBool::new(false));
    let work = {
        let state = state.clone();
        let cancelled = cancelled.clone();
        let request = request.clone();
        let checked = checked.clone();
        let pusher = pusher.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            evaluate_blocking(
                &state.config,
                &checked,
                &request,
                pusher,
                deadline,
                &cancelled,
            )
        })
    };
    tokio::pin!(work);

    let mut probe = [0u8; 1];
    let grace = Duration::from_millis(250);
    let pusher_name = pusher.clone();
    let verdict = tokio::select! {
        joined = &mut work => match joined {
            Ok(verdict) => verdict,
            Err(err) => {
                error!(repo = %checked.relative, error = %err, "the check panicked; rejecting the push");
                undecided(config, &checked, &request, pusher_name, "internal error while checking (see the foureyesd log)")
            }
        },
        () = tokio::time::sleep_until((deadline + grace).into()) => {
            cancelled.store(true, Ordering::SeqCst);
            warn!(repo = %checked.relative, "deadline passed; rejecting the push");
            let reason = deadline_reason(config);
            undecided(config, &checked, &request, pusher_name, &reason)
        }
        read = stream.read(&mut probe) => {
            // The client sends nothing after its request, so any read result
            // means it hung up or broke the protocol. Either way the check is
            // cancelled and the record gives the reason.
            cancelled.store(true, Ordering::SeqCst);
            let reason = match read {
                Ok(0) | Err(_) => {
                    info!(repo = %checked.relative, "client went away; cancelling its check");
                    "the client went away before the decision"
                }
                Ok(_) => {
                    warn!(uid = peer.uid, pid = peer.pid, repo = %checked.relative, "client sent data after its request; cancelling its check");
                    "the client sent data after its request (protocol error)"
                }
            };
            let _ = (&mut work).await;
            undecided(config, &checked, &request, pusher_name, reason)
        }
    };
    let elapsed = started.elapsed();
    debug!(repo = %checked.relative, ms = elapsed.as_millis() as u64, "decided");
    finish(state, &checked, verdict).await
}

/// Writes the audit records and renders the response, rejecting an accepted
/// push whose record could not be written (unless configured otherwise).
async fn finish(
    state: &Arc<State>,
    checked: &CheckedRequest,
    mut verdict: PushVerdict,
) -> Response {
    let records = report::audit_records(&verdict, &checked.display);
    let delivered = send_audit(state, records).await;
    // Rendered before an audit failure overrides the decision, so the
    // message does not claim that the push could not be checked.
    let mut message = report::render(&verdict, state.config.messages.style);
    if !delivered && verdict.decision == Decision::Accept {
        match state.config.syslog.on_failure {
            OnFailure::Reject => {
                verdict.decision = Decision::Error;
                // The notice comes first: the lines below it list which rules
                // passed, but the push is rejected all the same.
                let notice = "foureyes: push rejected: audit log unavailable; the decision could not be recorded\n\
                              hint: ask the server's administrators to check the syslog daemon\n";
                message.insert_str(
                    0,
                    &report::styled(notice.to_owned(), state.config.messages.style),
                );
            }
            OnFailure::Accept => {
                warn!(repo = %checked.display, "audit log unavailable; accepting anyway (on_failure = \"accept\")");
            }
        }
    }
    Response {
        decision: verdict.decision,
        message,
    }
}

/// Sends records on the blocking pool; returns whether all were delivered.
async fn send_audit(state: &Arc<State>, records: Vec<Record>) -> bool {
    if records.is_empty() {
        return true;
    }
    let state = state.clone();
    let sent = tokio::task::spawn_blocking(move || {
        let mut all = true;
        for record in &records {
            if let Err(err) = state.audit.send(record) {
                error!(error = %err, record = %record.to_message(), "audit record not delivered");
                all = false;
            }
        }
        all
    })
    .await;
    sent.unwrap_or(false)
}

fn evaluate_blocking(
    config: &Config,
    checked: &CheckedRequest,
    request: &Request,
    pusher: Option<crate::identity::Pusher>,
    deadline: Instant,
    cancelled: &AtomicBool,
) -> PushVerdict {
    let interrupt = || {
        if cancelled.load(Ordering::SeqCst) {
            Some("the check was cancelled".to_owned())
        } else if Instant::now() >= deadline {
            Some(deadline_reason(config))
        } else {
            None
        }
    };
    let push = daemon_push(config, checked, request, pusher, &interrupt);
    match PushRepo::open(&checked.git_dir, checked.quarantine.as_deref()) {
        Ok(repo) => policy::evaluate(&push, Some(&repo)),
        Err(err) => {
            warn!(repo = %checked.display, error = %err, "cannot open repository");
            policy::undecided_push(&push, &err.to_string())
        }
    }
}

fn undecided(
    config: &Config,
    checked: &CheckedRequest,
    request: &Request,
    pusher: Option<crate::identity::Pusher>,
    reason: &str,
) -> PushVerdict {
    let none = || None;
    let push = daemon_push(config, checked, request, pusher, &none);
    policy::undecided_push(&push, reason)
}

/// Builds the policy's view of a checked request, keeping only failing
/// commits in detail, as the daemon's message needs.
fn daemon_push<'a>(
    config: &'a Config,
    checked: &'a CheckedRequest,
    request: &'a Request,
    pusher: Option<crate::identity::Pusher>,
    interrupt: &'a dyn Fn() -> Option<String>,
) -> Push<'a> {
    Push {
        config,
        repo_relative: &checked.relative,
        updates: &request.updates,
        push_options: &request.push_options,
        pusher,
        detail: Detail::Failing,
        interrupt,
    }
}

/// Returns the reason given when a request runs past `[limits] deadline_ms`.
fn deadline_reason(config: &Config) -> String {
    format!(
        "timed out after {} ms (limit deadline_ms); push fewer commits or refs at once, \
         or ask the administrators to raise [limits] deadline_ms",
        config.limits.deadline.as_millis()
    )
}

/// A request whose paths were checked.
#[derive(Clone, Debug)]
pub struct CheckedRequest {
    /// The canonical git directory.
    pub git_dir: PathBuf,
    /// The path relative to its repo root, for `repos` globs.
    pub relative: String,
    /// The canonical path, for messages and audit records.
    pub display: String,
    pub quarantine: Option<PathBuf>,
}

/// Checks the paths and sizes of a request before anything is read.
pub fn check_request(config: &Config, request: &Request) -> Result<CheckedRequest, String> {
    if request.updates.len() > config.limits.max_refs {
        return Err(format!(
            "the push updates {} refs, more than the limit max_refs ({}); push in smaller parts",
            request.updates.len(),
            config.limits.max_refs
        ));
    }
    let (git_dir, relative) = locate_repository(config, Path::new(&request.repo))?;
    let quarantine = match &request.quarantine {
        None => None,
        Some(path) => Some(check_quarantine(&git_dir, Path::new(path))?),
    };
    Ok(CheckedRequest {
        display: git_dir.display().to_string(),
        git_dir,
        relative,
        quarantine,
    })
}

/// Canonicalizes `repo` and finds the repo root it lies under.
pub fn locate_repository(config: &Config, repo: &Path) -> Result<(PathBuf, String), String> {
    if !repo.is_absolute() {
        return Err(format!(
            "repository path {} is not absolute",
            repo.display()
        ));
    }
    let git_dir = repo
        .canonicalize()
        .map_err(|err| format!("repository {} cannot be resolved: {err}", repo.display()))?;
    if !git_dir.join("objects").is_dir() || !git_dir.join("HEAD").is_file() {
        return Err(format!("{} is not a git directory", git_dir.display()));
    }
    for root in &config.daemon.repo_roots {
        let Ok(root) = root.canonicalize() else {
            continue;
        };
        if let Ok(relative) = git_dir.strip_prefix(&root) {
            let relative = relative.to_string_lossy().into_owned();
            // A non-bare repository's git directory is `<work tree>/.git`;
            // `repos` globs name the work tree.
            let relative = relative
                .strip_suffix("/.git")
                .map(str::to_owned)
                .unwrap_or(relative);
            return Ok((git_dir, relative));
        }
    }
    Err(format!(
        "repository {} is outside the configured repo_roots; add its root to [daemon] repo_roots",
        git_dir.display()
    ))
}

/// The quarantine must be a directory inside the repository's object store.
fn check_quarantine(git_dir: &Path, quarantine: &Path) -> Result<PathBuf, String> {
    let resolved = quarantine.canonicalize().map_err(|err| {
        format!(
            "quarantine directory {} cannot be resolved: {err}",
            quarantine.display()
        )
    })?;
    let objects = git_dir.join("objects");
    let objects = objects.canonicalize().unwrap_or(objects);
    if resolved == objects || !resolved.starts_with(&objects) {
        return Err(format!(
            "quarantine directory {} is not inside the repository's object store {}",
            resolved.display(),
            objects.display()
        ));
    }
    let metadata = std::fs::metadata(&resolved).map_err(|err| {
        format!(
            "quarantine directory {} cannot be read: {err}",
            resolved.display()
        )
    })?;
    if !metadata.is_dir() {
        return Err(format!(
            "quarantine {} is not a directory",
            resolved.display()
        ));
    }
    let _ = metadata.mode();
    Ok(resolved)
}

async fn write_message<T: serde::Serialize>(
    stream: &mut UnixStream,
    message: &T,
) -> io::Result<()> {
    let frame = protocol::encode(message);
    match tokio::time::timeout(WRITE_TIMEOUT, stream.write_all(&frame)).await {
        Ok(result) => result,
        Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "writing timed out")),
    }
}

/// Reads the payload of the request frame, failing on idleness or oversize.
async fn read_payload(stream: &mut UnixStream, state: &State) -> Result<Vec<u8>, FrameError> {
    let idle = state.config.limits.idle_timeout;
    let mut header = [0u8; HEADER_LEN];
    read_with_idle(stream, &mut header, idle, 0).await?;
    let length = protocol::decode_header(header, state.config.limits.max_request_bytes)?;
    let mut payload = vec![0u8; length];
    read_with_idle(stream, &mut payload, idle, HEADER_LEN).await?;
    Ok(payload)
}

/// Fills `buf`, failing when the peer sends nothing for `idle`.
async fn read_with_idle(
    stream: &mut UnixStream,
    buf: &mut [u8],
    idle: Duration,
    already: usize,
) -> Result<(), FrameError> {
    let mut filled = 0;
    while filled < buf.len() {
        let read = tokio::time::timeout(idle, stream.read(&mut buf[filled..]))
            .await
            .map_err(|_| {
                FrameError::Io(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("idle for {} ms", idle.as_millis()),
                ))
            })?;
        match read? {
            0 => {
                return Err(FrameError::Incomplete {
                    received: already + filled,
                });
            }
            n => filled += n,
        }
    }
    Ok(())
}
