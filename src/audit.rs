//! Audit records sent to syslog. Stub: see the interface in the helper brief.
