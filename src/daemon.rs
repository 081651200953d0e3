//! `foureyesd`'s life cycle: load the configuration, take the listening
//! socket from systemd or bind it, serve, reload on `SIGHUP`, and stop
//! cleanly on `SIGTERM` or `SIGINT`. Each step is reported to systemd when
//! it runs the daemon as a `Type=notify` service.

use std::fs;
use std::io;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener as StdUnixListener, UnixStream as StdUnixStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use tokio::net::UnixListener;
use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::config::{self, Config};
use crate::server::{self, SharedState, State};

mod systemd;

/// Sends diagnostics to stderr (the journal under systemd). `RUST_LOG`
/// selects the level; the default is `info`.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(io::stderr)
        .with_ansi(io::IsTerminal::is_terminal(&io::stderr()))
        .with_target(false)
        .init();
}

/// Loads a configuration the daemon may trust: valid, and writable only by
/// its owner.
pub fn load_config(path: &Path) -> Result<Config> {
    config::check_permissions(path).map_err(|err| anyhow!("{err}"))?;
    config::load(path).map_err(|err| anyhow!("{err}"))
}

/// Runs the daemon until a stop signal.
pub fn run(config_path: &Path) -> Result<()> {
    // Read everything systemd passes in the environment before the runtime
    // starts threads, because taking the inherited socket edits it.
    let inherited = systemd::take_inherited_listener()?;
    let watchdog = systemd::watchdog_interval();

    let config = load_config(config_path)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(run_async(
        config_path.to_path_buf(),
        config,
        inherited,
        watchdog,
    ))
}

/// Where the listening socket came from, which decides who removes the
/// socket file at exit.
enum Origin {
    /// Passed by systemd, which owns the file and removes it itself.
    Inherited,
    /// Bound by this process at this path.
    Bound(PathBuf),
}

async fn run_async(
    config_path: PathBuf,
    config: Config,
    inherited: Option<StdUnixListener>,
    watchdog: Option<Duration>,
) -> Result<()> {
    let (listener, origin) = listen(&config, inherited)?;
    let rules = config.rules.len();
    warn_if_syslog_missing(&config);
    let state: SharedState = Arc::new(RwLock::new(Arc::new(State::new(config))));
    let shutdown = CancellationToken::new();

    let mut terminate =
        signal(SignalKind::terminate()).context("cannot install the SIGTERM handler")?;
    let mut interrupt =
        signal(SignalKind::interrupt()).context("cannot install the SIGINT handler")?;
    let mut hangup = signal(SignalKind::hangup()).context("cannot install the SIGHUP handler")?;
    let server = tokio::spawn(server::serve(listener, state.clone(), shutdown.clone()));

    // The watchdog keeps pinging while requests in flight finish, so a slow
    // drain is not mistaken for a hang.
    let watchdog_stop = CancellationToken::new();
    if let Some(interval) = watchdog {
        info!(interval_ms = interval.as_millis(), "sending watchdog pings");
        tokio::spawn(systemd::ping_watchdog(interval, watchdog_stop.clone()));
    }

    info!(config = %config_path.display(), rules, "foureyesd ready");
    systemd::notify_ready(&ready_status(rules));
    loop {
        tokio::select! {
            _ = terminate.recv() => { info!("SIGTERM received; stopping"); break; }
            _ = interrupt.recv() => { info!("SIGINT received; stopping"); break; }
            _ = hangup.recv() => reload(&config_path, &state),
        }
    }

    systemd::notify_stopping("stopping: finishing requests in flight");
    shutdown.cancel();
    let _ = server.await;
    watchdog_stop.cancel();
    if let Origin::Bound(socket) = origin {
        remove_socket(&socket);
    }
    info!("foureyesd stopped");
    Ok(())
}

/// Returns the listener to serve: the one systemd passed, else a socket
/// bound at the configured path.
fn listen(config: &Config, inherited: Option<StdUnixListener>) -> Result<(UnixListener, Origin)> {
    let configured = &config.daemon.socket;
    let Some(inherited) = inherited else {
        let listener = bind(configured, config.daemon.socket_mode)?;
        info!(socket = %configured.display(), "listening on a socket bound by foureyesd");
        return Ok((listener, Origin::Bound(configured.clone())));
    };

    let listener = UnixListener::from_std(inherited)
        .context("cannot register the socket passed by systemd with the async runtime")?;
    let address = listener
        .local_addr()
        .context("cannot read the address of the socket passed by systemd")?;
    let path = address.as_pathname().map(Path::to_path_buf);
    match &path {
        Some(path) if path == configured => {}
        Some(path) => warn!(
            socket = %path.display(),
            configured = %configured.display(),
            "systemd passed a socket at another path than [daemon] socket; serving the passed one, \
             so make the hooks' FOUREYES_SOCKET name it"
        ),
        None => warn!(
            configured = %configured.display(),
            "systemd passed an unnamed or abstract socket; hooks can only reach a socket file"
        ),
    }
    let display_path = path.unwrap_or_default();
    info!(
        socket = %display_path.display(),
        "listening on the socket passed by systemd; its owner and mode come from the socket unit"
    );
    Ok((listener, Origin::Inherited))
}

/// Returns the status line systemd shows while the daemon serves.
fn ready_status(rules: usize) -> String {
    let noun = if rules == 1 { "rule" } else { "rules" };
    format!("serving with {rules} {noun}")
}

/// Replaces the configuration atomically; an invalid file leaves the old
/// one in force. systemd receives RELOADING=1 followed by
/// READY=1 in both cases, with the outcome in the status line.
fn reload(path: &Path, state: &SharedState) {
    systemd::notify_reloading();
    match load_config(path) {
        Ok(config) => {
            let rules = config.rules.len();
            let mut current = state.write().expect("the state lock is never poisoned");
            // The listening socket is bound once; a reload cannot move it.
            let (old_daemon, new_daemon) = (&current.config.daemon, &config.daemon);
            if old_daemon.socket != new_daemon.socket
                || old_daemon.socket_mode != new_daemon.socket_mode
            {
                warn!(
                    listening = %old_daemon.socket.display(),
                    configured = %new_daemon.socket.display(),
                    "[daemon] socket and socket_mode take effect only when foureyesd restarts; still listening on the old socket"
                );
            }
            warn_if_syslog_missing(&config);
            *current = Arc::new(State::new(config));
            drop(current);
            info!(config = %path.display(), rules, "configuration reloaded");
            systemd::notify_ready(&ready_status(rules));
        }
        Err(err) => {
            error!(config = %path.display(), "reload failed; keeping the configuration in force:\n{err:#}");
            let rules = state
                .read()
                .expect("the state lock is never poisoned")
                .config
                .rules
                .len();
            let status = format!(
                "{}; the last reload failed, see the log",
                ready_status(rules)
            );
            systemd::notify_ready(&status);
        }
    }
}

/// Warns when the syslog socket is missing or not a datagram socket: every
/// accepted push would then be rejected with "audit log unavailable" (unless
/// `on_failure = "accept"`). Checked without sending anything.
pub fn warn_if_syslog_missing(config: &Config) {
    if let Err(err) = probe_syslog(&config.syslog.socket) {
        warn!(socket = %config.syslog.socket.display(), error = %err, "the syslog socket does not accept datagrams; audit records will fail until it does");
    }
}

/// Connects a datagram socket to `path` without sending: fails when the
/// path is missing or is not a datagram socket.
pub fn probe_syslog(path: &Path) -> io::Result<()> {
    let probe = std::os::unix::net::UnixDatagram::unbound()?;
    probe.connect(path)
}

/// Binds the listening socket: creates the parent directory, replaces a
/// stale socket file, refuses to steal the socket of a running daemon.
pub fn bind(socket: &Path, mode: u32) -> Result<UnixListener> {
    if let Some(parent) = socket.parent()
        && !parent.as_os_str().is_empty()
    {
        fs::create_dir_all(parent)
            .with_context(|| format!("cannot create socket directory {}", parent.display()))?;
    }
    match fs::symlink_metadata(socket) {
        Ok(metadata) if metadata.file_type().is_socket() => {
            if StdUnixStream::connect(socket).is_ok() {
                bail!(
                    "another daemon is listening on {}; stop it first or choose another [daemon] socket",
                    socket.display()
                );
            }
            fs::remove_file(socket)
                .with_context(|| format!("cannot remove stale socket {}", socket.display()))?;
        }
        Ok(_) => bail!(
            "{} exists and is not a socket; remove it or choose another [daemon] socket",
            socket.display()
        ),
        Err(err) if err.kind() == io::ErrorKind::NotFound => {}
        Err(err) => {
            return Err(err).with_context(|| format!("cannot inspect {}", socket.display()));
        }
    }
    let listener = UnixListener::bind(socket)
        .with_context(|| format!("cannot listen on {}", socket.display()))?;
    fs::set_permissions(socket, fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot set mode {mode:o} on {}", socket.display()))?;
    Ok(listener)
}

fn remove_socket(socket: &Path) {
    if let Err(err) = fs::remove_file(socket)
        && err.kind() != io::ErrorKind::NotFound
    {
        error!(socket = %socket.display(), error = %err, "cannot remove the socket");
    }
}
