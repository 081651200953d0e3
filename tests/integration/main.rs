//! The integration tests: one binary that drives the real `foureyes` and
//! `foureyesd` binaries with real git repositories and real sockets.

mod explain;
mod faults;
mod fleet;
mod history;
mod hostile;
mod http_backend;
mod load;
mod ops;
mod peers;
mod policy;
mod push;
mod rsyslog;
mod support;
mod systemd;
mod trailers;
