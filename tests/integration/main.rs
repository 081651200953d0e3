//! The integration tests: one binary that drives the real `foureyes` and
//! `foureyesd` binaries with real git repositories and real sockets.

mod explain;
mod faults;
mod history;
mod hostile;
mod load;
mod push;
mod rsyslog;
mod support;
mod trailers;
