//! Temporary stand-in until the real sender lands.

use std::path::PathBuf;

pub use syslog::Facility;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Alert,
    Err,
    Warning,
    Notice,
    Info,
}

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
    pub fn field(mut self, key: &str, value: impl std::fmt::Display) -> Record {
        self.fields.push((key.to_owned(), value.to_string()));
        self
    }
    pub fn to_message(&self) -> String {
        self.fields
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

pub struct AuditLog {
    socket: PathBuf,
    ident: String,
}

#[derive(Debug)]
pub struct AuditError(pub String);
impl std::fmt::Display for AuditError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl AuditLog {
    pub fn new(socket: PathBuf, _facility: Facility, ident: String) -> AuditLog {
        AuditLog { socket, ident }
    }
    pub fn send(&self, record: &Record) -> Result<(), AuditError> {
        let sock =
            std::os::unix::net::UnixDatagram::unbound().map_err(|e| AuditError(e.to_string()))?;
        let msg = format!("<85>{}: {}", self.ident, record.to_message());
        sock.send_to(msg.as_bytes(), &self.socket).map_err(|e| {
            AuditError(format!(
                "cannot write audit record to {}: {e}",
                self.socket.display()
            ))
        })?;
        Ok(())
    }
}
