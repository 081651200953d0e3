//! Audit records sent to the local syslog daemon, one record per ref decision.
//!
//! The record is part of the decision: the daemon accepts an update only
//! after its record was delivered, so [`AuditLog::send`] reports every
//! failure. The module formats datagrams the way glibc's `syslog()` sends
//! them on the local socket (RFC 3164 with local time), and it does not log
//! anything itself except a warning before a retry.
//!
//! # Why not the `syslog` crate's logger
//!
//! The `syslog` crate (7.0) connects once and never reconnects, so after the
//! syslog daemon restarts and creates a new socket file every send fails.
//! Its RFC 3164 formatter also writes UTC without a zone and a zero-padded
//! day. This module keeps only its [`Facility`] type. Each datagram is sent
//! with `send_to(path)` from an unconnected socket, so every send looks up
//! the socket file again and a restarted syslog daemon costs no record.
//!
//! # Delivery
//!
//! A send that fails is retried once, after [`RETRY_DELAY`] and from a new
//! socket, and then reported. Each send waits at most [`WRITE_TIMEOUT`] for
//! room in the syslog daemon's receive queue, so a wedged syslog daemon
//! delays a push by about two timeouts instead of hanging it.
//!
//! # Message grammar
//!
//! The message after `ident[pid]: ` is a list of fields separated by one
//! space. Every record starts with the field `id`, unique per record:
//!
//! ```text
//! message = field *(SP field)
//! field   = key ("=" / "+=") value
//! key     = 1*(%x61-7A / "_")              ; a-z and _
//! value   = bare / quoted
//! bare    = 1*bare-char                    ; see below
//! quoted  = DQUOTE *(quoted-char / escape) DQUOTE
//! escape  = %x5C ( DQUOTE / %x5C           ; \" and \\
//!                / "x" 2HEXDIG             ; \xNN, a code point below U+0080
//!                / "u{" 1*6HEXDIG "}" )    ; \u{N}, any other code point
//! ```
//!
//! A `bare-char` is any character except the space, `"`, `\`, `=` and the
//! characters that must be escaped. A `quoted-char` is any character except
//! `"`, `\` and the characters that must be escaped.
//!
//! Hex digits are lowercase. A value is quoted when it is empty or contains
//! a space, `"`, `\`, `=` or a character that must be escaped. These are the
//! C0 controls, DEL and the C1 controls, Unicode white space other than the
//! ASCII space (such as U+2028 and U+00A0), and the format characters of
//! category Cf (such as the bidi overrides U+202A..U+202E and the zero-width
//! space). Other UTF-8 characters appear as they are. So a parser reads the
//! key up to `=` or `+=`, then a bare value up to the next space or a quoted
//! value up to the next unescaped `"`, and unescapes it.
//!
//! # Split records
//!
//! A record whose datagram would exceed [`MAX_DATAGRAM`] bytes is sent as
//! several datagrams, but it is still one record. Each datagram starts with
//! `id=ID part=I/N` (I counts from 1), and the parts in order contain every
//! field. Fields are split between parts where possible. A value that does
//! not fit in one part is cut into fragments at character boundaries. Each
//! fragment except the last is written `key+=fragment` and ends its part, so
//! the next fragment starts the next part. The last fragment is written
//! `key=fragment`. Joining the unescaped fragments gives the value. A record
//! that fits in one datagram has no `part` field.
//!
//! When a retry follows a partial delivery, it resends the parts from the
//! first one that failed, with the same id.

mod escape;
mod split;

use std::fmt;
use std::io;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Local};

pub use syslog::Facility;

/// Maximum size of one datagram in bytes, header included.
///
/// RFC 3164 limits a syslog packet to 1024 bytes, and syslog daemons have
/// their own limits: rsyslogd 8.2302 with its default `maxMessageSize` cut a
/// 12 000-byte datagram on its local socket to about 8 KiB. 2048 bytes keeps
/// an ordinary decision in one datagram and stays well below the daemons'
/// limits. Longer records are split into parts, never truncated.
pub const MAX_DATAGRAM: usize = 2048;

/// Maximum time that one datagram send waits for room in the syslog daemon's
/// receive queue before it fails.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(1);

/// Pause before the one retry, which lets a restarting syslog daemon create
/// its new socket.
pub const RETRY_DELAY: Duration = Duration::from_millis(100);

/// Minimum room in bytes for the message after the datagram header. A
/// longer ident is rejected at send time because it would leave almost
/// every record split into many parts.
const MIN_MESSAGE_ROOM: usize = 256;

/// Field keys that the sender writes itself and that a record cannot use.
const RESERVED_KEYS: [&str; 2] = ["id", "part"];

/// Syslog severity of a record, with the numeric codes of glibc's `<sys/syslog.h>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Alert,
    Err,
    Warning,
    Notice,
    Info,
}

impl Severity {
    fn code(self) -> u8 {
        match self {
            Severity::Alert => 1,
            Severity::Err => 3,
            Severity::Warning => 4,
            Severity::Notice => 5,
            Severity::Info => 6,
        }
    }
}

/// One audit record: ordered `key=value` fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub severity: Severity,
    pub fields: Vec<(String, String)>,
}

impl Record {
    pub fn new(severity: Severity) -> Record {
        Record {
            severity,
            fields: Vec::new(),
        }
    }

    /// Appends a field. `key` must match `[a-z_]+` and must not be `id` or
    /// `part`, which the sender writes. Debug builds panic otherwise.
    pub fn field(mut self, key: &str, value: impl fmt::Display) -> Record {
        debug_assert_valid_key(key);
        self.fields.push((key.to_owned(), value.to_string()));
        self
    }

    /// Returns the message text: `key=value key=value ...`, values escaped as
    /// the module documentation describes. It lacks the `id` field that
    /// [`AuditLog::send`] puts in front.
    pub fn to_message(&self) -> String {
        let mut message = String::new();
        for (key, value) in &self.fields {
            debug_assert_valid_key(key);
            if !message.is_empty() {
                message.push(' ');
            }
            message.push_str(key);
            message.push('=');
            escape::push_value(&mut message, value);
        }
        message
    }
}

fn debug_assert_valid_key(key: &str) {
    debug_assert!(
        !key.is_empty() && key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
        "audit field key {key:?} must match [a-z_]+"
    );
    debug_assert!(
        !RESERVED_KEYS.contains(&key),
        "audit field key {key:?} is reserved for the sender"
    );
}

/// Sender of audit records to a syslog daemon's datagram socket.
///
/// It is `Send + Sync`: many threads may call [`AuditLog::send`] at once.
pub struct AuditLog {
    socket_path: PathBuf,
    facility: Facility,
    ident: String,
    pid: u32,
    /// The unconnected, unbound socket that sends go out from. It is created
    /// on first use and replaced before a retry.
    sender: Mutex<Option<Arc<UnixDatagram>>>,
}

impl AuditLog {
    /// Creates a sender for the syslog socket at `socket` (usually
    /// `/dev/log`). Nothing is opened until the first send.
    ///
    /// `ident` is the syslog tag before `[pid]:`. It should be a short word
    /// such as `foureyes`, without spaces, `[` or `:`, because a syslog
    /// daemon could not tell where such a tag ends.
    pub fn new(socket: PathBuf, facility: Facility, ident: String) -> AuditLog {
        AuditLog {
            socket_path: socket,
            facility,
            ident,
            pid: std::process::id(),
            sender: Mutex::new(None),
        }
    }

    /// Sends the record; on failure reopens the sender and retries once, then
    /// returns the error (which names the socket path and the OS error).
    ///
    /// A record longer than [`MAX_DATAGRAM`] goes out as several datagrams
    /// and counts as sent only when every part was sent. Success means the
    /// syslog daemon's socket accepted the datagrams, not that the daemon
    /// wrote them to disk.
    pub fn send(&self, record: &Record) -> Result<(), AuditError> {
        let id = next_record_id(self.pid);
        let datagrams = self.datagrams(record, &id, Local::now())?;

        let mut sent = 0;
        let first_error = match self.send_from(&datagrams, &mut sent, false) {
            Ok(()) => return Ok(()),
            Err(error) => error,
        };
        tracing::warn!(
            socket = %self.socket_path.display(),
            error = %first_error,
            record_id = %id,
            parts_sent = sent,
            parts = datagrams.len(),
            "audit record not delivered, retrying from a new socket"
        );
        std::thread::sleep(RETRY_DELAY);

        self.send_from(&datagrams, &mut sent, true)
            .map_err(|error| self.error(AuditErrorKind::Io(error)))
    }

    /// Formats the record into one datagram, or several when it is too long.
    fn datagrams(
        &self,
        record: &Record,
        id: &str,
        now: DateTime<Local>,
    ) -> Result<Vec<Vec<u8>>, AuditError> {
        let header = format_datagram(
            self.facility,
            record.severity,
            &self.ident,
            self.pid,
            now,
            "",
        );
        let room = MAX_DATAGRAM.saturating_sub(header.len());
        if room < MIN_MESSAGE_ROOM {
            return Err(self.error(AuditErrorKind::IdentTooLong(self.ident.len())));
        }

        let messages = split::messages(id, &record.fields, room);
        let datagrams = messages
            .iter()
            .map(|message| {
                format_datagram(
                    self.facility,
                    record.severity,
                    &self.ident,
                    self.pid,
                    now,
                    message,
                )
            })
            .collect();
        Ok(datagrams)
    }

    /// Sends `datagrams[*sent..]` and counts each delivered one in `sent`,
    /// so that a retry can resume at the first part that failed.
    fn send_from(&self, datagrams: &[Vec<u8>], sent: &mut usize, reopen: bool) -> io::Result<()> {
        let socket = self.sender(reopen)?;
        for datagram in &datagrams[*sent..] {
            let written = socket.send_to(datagram, &self.socket_path)?;
            if written != datagram.len() {
                return Err(io::Error::other(format!(
                    "sent {written} of {} bytes of a datagram",
                    datagram.len()
                )));
            }
            *sent += 1;
        }
        Ok(())
    }

    /// Returns the shared sending socket, creating a new one when there is
    /// none yet or when `reopen` is set.
    fn sender(&self, reopen: bool) -> io::Result<Arc<UnixDatagram>> {
        // A panic while the lock is held cannot leave the slot half-written,
        // so a poisoned lock is still usable.
        let mut slot = self.sender.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(socket) = slot.as_ref().filter(|_| !reopen) {
            return Ok(Arc::clone(socket));
        }
        let socket = UnixDatagram::unbound()?;
        socket.set_write_timeout(Some(WRITE_TIMEOUT))?;
        let socket = Arc::new(socket);
        *slot = Some(Arc::clone(&socket));
        Ok(socket)
    }

    fn error(&self, kind: AuditErrorKind) -> AuditError {
        AuditError {
            socket_path: self.socket_path.clone(),
            kind,
        }
    }
}

/// Returns a record id that is unique across processes and restarts: the
/// process id, the Unix time in seconds of the process's first record, and a
/// counter. Two ids collide only if a process id is reused within the same
/// second.
fn next_record_id(pid: u32) -> String {
    static FIRST_RECORD_TIME: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(1);

    let first_time = *FIRST_RECORD_TIME.get_or_init(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs())
    });
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{pid}-{first_time}-{count}")
}

/// Error of [`AuditLog::send`]: the record was not delivered.
#[derive(Debug)]
pub struct AuditError {
    socket_path: PathBuf,
    kind: AuditErrorKind,
}

#[derive(Debug)]
enum AuditErrorKind {
    Io(io::Error),
    IdentTooLong(usize),
}

impl AuditError {
    /// Returns the path of the syslog socket that the record was sent to.
    pub fn socket_path(&self) -> &Path {
        &self.socket_path
    }
}

impl fmt::Display for AuditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot write audit record to {}: ",
            self.socket_path.display()
        )?;
        match &self.kind {
            AuditErrorKind::Io(error) => {
                write!(f, "{error}")?;
                match error.kind() {
                    io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused => f.write_str(
                        "; check that the syslog daemon is running and listens on this socket",
                    ),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => write!(
                        f,
                        "; the send timed out after {} s because the syslog daemon is not \
                         reading its socket",
                        WRITE_TIMEOUT.as_secs()
                    ),
                    _ => Ok(()),
                }
            }
            AuditErrorKind::IdentTooLong(len) => write!(
                f,
                "the syslog ident is {len} bytes long and leaves less than \
                 {MIN_MESSAGE_ROOM} bytes for the message in a {MAX_DATAGRAM}-byte datagram; \
                 configure a shorter ident"
            ),
        }
    }
}

impl std::error::Error for AuditError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            AuditErrorKind::Io(error) => Some(error),
            AuditErrorKind::IdentTooLong(_) => None,
        }
    }
}

/// Formats one datagram (RFC 3164 as glibc's syslog() sends it on the local
/// socket): `<PRI>Mmm dd hh:mm:ss ident[pid]: message` with local time
/// (chrono::Local, space-padded day).
///
/// PRI is facility code * 8 + severity code. [`Facility`] values are already
/// multiplied by 8, e.g. `LOG_AUTHPRIV` is 80, so authpriv with notice gives
/// `<85>`. The month is the English abbreviation, as in the C locale.
pub fn format_datagram(
    facility: Facility,
    severity: Severity,
    ident: &str,
    pid: u32,
    now: DateTime<Local>,
    message: &str,
) -> Vec<u8> {
    let priority = facility as u32 + u32::from(severity.code());
    let timestamp = now.format("%b %e %H:%M:%S");
    format!("<{priority}>{timestamp} {ident}[{pid}]: {message}").into_bytes()
}

#[cfg(test)]
mod tests;
