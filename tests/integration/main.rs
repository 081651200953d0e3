//! The integration tests: one binary that drives the real `foureyes` and
//! `foureyesd` binaries with real git repositories and real sockets.

mod explain;
mod history;
mod push;
mod rsyslog;
mod support;
mod trailers;
