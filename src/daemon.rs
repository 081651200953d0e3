//! `foureyesd`'s life cycle: load the configuration, bind the socket, serve,
//! reload on `SIGHUP`, and stop cleanly on `SIGTERM` or `SIGINT`.

use std::fs;
use std::io;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::UnixStream as StdUnixStream;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use anyhow::{Context, Result, anyhow, bail};
use tokio::net::UnixListener;
use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;
use tracing::{error, info};

use crate::config::{self, Config};
use crate::server::{self, SharedState, State};

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
    let config = load_config(config_path)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(run_async(config_path.to_path_buf(), config))
}

async fn run_async(config_path: PathBuf, config: Config) -> Result<()> {
    let socket = config.daemon.socket.clone();
    let listener = bind(&socket, config.daemon.socket_mode)?;
    info!(socket = %socket.display(), config = %config_path.display(), rules = config.rules.len(), "foureyesd listening");
    let state: SharedState = Arc::new(RwLock::new(Arc::new(State::new(config))));
    let shutdown = CancellationToken::new();

    let mut terminate =
        signal(SignalKind::terminate()).context("cannot install the SIGTERM handler")?;
    let mut interrupt =
        signal(SignalKind::interrupt()).context("cannot install the SIGINT handler")?;
    let mut hangup = signal(SignalKind::hangup()).context("cannot install the SIGHUP handler")?;
    let server = tokio::spawn(server::serve(listener, state.clone(), shutdown.clone()));
    loop {
        tokio::select! {
            _ = terminate.recv() => { info!("SIGTERM received; stopping"); break; }
            _ = interrupt.recv() => { info!("SIGINT received; stopping"); break; }
            _ = hangup.recv() => reload(&config_path, &state),
        }
    }
    shutdown.cancel();
    let _ = server.await;
    remove_socket(&socket);
    info!("foureyesd stopped");
    Ok(())
}

/// Replaces the configuration atomically; an invalid file leaves the old
/// one in force.
fn reload(path: &Path, state: &SharedState) {
    match load_config(path) {
        Ok(config) => {
            let rules = config.rules.len();
            *state.write().expect("the state lock is never poisoned") =
                Arc::new(State::new(config));
            info!(config = %path.display(), rules, "configuration reloaded");
        }
        Err(err) => {
            error!(config = %path.display(), "reload failed; keeping the configuration in force:\n{err:#}");
        }
    }
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
