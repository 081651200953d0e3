//! The daemon's side of the systemd protocols: the listening socket passed by
//! socket activation (`LISTEN_FDS`, `LISTEN_PID`), readiness and status
//! messages on `NOTIFY_SOCKET`, and watchdog pings when `WATCHDOG_USEC` is
//! set. Without these variables every function here does nothing, so the
//! daemon runs the same way outside systemd.
//!
//! The protocol is described in the `sd_listen_fds(3)`, `sd_notify(3)` and
//! `systemd.service(5)` manual pages.

use std::os::unix::net::UnixListener as StdUnixListener;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use listenfd::ListenFd;
use sd_notify::NotifyState;
use tokio_util::sync::CancellationToken;
use tracing::warn;

/// Takes the listening socket that systemd passed, if any.
///
/// Must run before the async runtime starts threads, because taking the
/// socket removes `LISTEN_FDS` and `LISTEN_PID` from the environment.
///
/// # Errors
///
/// Fails when the variables are malformed, when more than one socket was
/// passed, or when the socket is not a Unix stream socket.
pub fn take_inherited_listener() -> Result<Option<StdUnixListener>> {
    // sd-notify applies systemd's rule that the variables count only when
    // LISTEN_PID is our pid, so a socket meant for a parent is left alone.
    let count = sd_notify::listen_fds()
        .context("invalid socket activation variables LISTEN_FDS or LISTEN_PID")?
        .len();
    if count == 0 {
        return Ok(None);
    }
    if count > 1 {
        bail!(
            "systemd passed {count} sockets but foureyesd serves exactly one; \
             give the socket unit a single ListenStream= line"
        );
    }

    // listenfd checks that descriptor 3 is a Unix stream socket and takes
    // ownership of it, which needs unsafe code that this crate forbids.
    let listener = ListenFd::from_env()
        .take_unix_listener(0)
        .context("the socket passed by systemd is not a Unix stream socket")?
        .context("systemd set LISTEN_FDS=1 but descriptor 3 is not available")?;

    // systemd passes a blocking socket unless the unit sets NonBlocking=yes,
    // and tokio requires a non-blocking one.
    listener
        .set_nonblocking(true)
        .context("cannot make the socket passed by systemd non-blocking")?;
    Ok(Some(listener))
}

/// Tells systemd that the daemon is ready to serve, with a status line.
pub fn notify_ready(status: &str) {
    send(&[NotifyState::Ready, NotifyState::Status(status)]);
}

/// Tells systemd that a configuration reload has started.
///
/// The sd-notify 0.5 documentation says that systemd 253 and later fail a
/// reload whose `RELOADING=1` comes without `MONOTONIC_USEC`, so the field is
/// always sent. systemd 252 accepts the message with it.
pub fn notify_reloading() {
    match NotifyState::monotonic_usec_now() {
        Ok(now) => send(&[
            NotifyState::Reloading,
            now,
            NotifyState::Status("reloading the configuration"),
        ]),
        Err(err) => {
            warn!(error = %err, "cannot read the monotonic clock; sending RELOADING=1 without MONOTONIC_USEC");
            send(&[
                NotifyState::Reloading,
                NotifyState::Status("reloading the configuration"),
            ]);
        }
    }
}

/// Tells systemd that the daemon is stopping.
pub fn notify_stopping(status: &str) {
    send(&[NotifyState::Stopping, NotifyState::Status(status)]);
}

/// Returns the interval between watchdog pings: half of `WATCHDOG_USEC`, as
/// `sd_watchdog_enabled(3)` recommends, or `None` when the watchdog is off.
pub fn watchdog_interval() -> Option<Duration> {
    sd_notify::watchdog_enabled()
        .filter(|timeout| !timeout.is_zero())
        .map(|timeout| timeout / 2)
}

/// Sends `WATCHDOG=1` every `interval` until `stop` is cancelled.
///
/// The pings come from a task on the async runtime, so they stop when the
/// runtime can no longer schedule tasks, and systemd then restarts the
/// daemon. A check that blocks one worker thread does not stop them.
pub async fn ping_watchdog(interval: Duration, stop: CancellationToken) {
    let mut ticks = tokio::time::interval(interval);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = ticks.tick() => send(&[NotifyState::Watchdog]),
        }
    }
}

/// Sends one notification datagram. Outside systemd `NOTIFY_SOCKET` is unset
/// and this does nothing. A failed send is logged and otherwise ignored,
/// because serving pushes matters more than the service manager's view.
fn send(states: &[NotifyState]) {
    if let Err(err) = sd_notify::notify(states) {
        let message: Vec<String> = states.iter().map(ToString::to_string).collect();
        warn!(error = %err, message = %message.join(" "), "cannot send a notification to systemd");
    }
}
