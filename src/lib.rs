//! foureyes: the four-eyes principle for pushes to protected Git refs.
//!
//! The life of a push:
//!
//! 1. git runs `hooks/pre-receive`, which execs `foureyes hook pre-receive`
//!    ([`hook`]). The client reads the ref updates, collects the quarantine
//!    paths, push options and the pusher's environment, and sends them to the
//!    daemon over a Unix socket ([`protocol`]).
//! 2. The daemon ([`server`]) checks the request, opens the repository with
//!    the quarantine in front of the real object store ([`repo`]) and asks the
//!    policy ([`policy`]) for a verdict on each ref update. The policy parses
//!    trailers as git does ([`trailer`]) and resolves addresses to people
//!    ([`identity`]), using the resolved configuration ([`config`]).
//! 3. The daemon writes one audit record per ref decision ([`audit`]), renders
//!    the verdict for the pusher ([`report`]) and answers the client, which
//!    prints the message and exits 0 (accept), 1 (reject) or 2 (undecided).
//!
//! `foureyes explain` runs step 2 in-process, and `foureyes demo` ([`demo`])
//! shows the whole path on a temporary repository.
//!
//! The ops commands: `foureyes check-config` ([`check`]), `install-hook`
//! ([`install`]) and `doctor` ([`doctor`]); [`cli`] defines both programs'
//! command lines, from which [`generate`] renders man pages and completions.

#![forbid(unsafe_code)]

pub mod audit;
pub mod check;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod demo;
pub mod doctor;
pub mod explain;
pub mod generate;
pub mod hook;
pub mod identity;
pub mod install;
pub mod policy;
pub mod protocol;
pub mod quota;
pub mod repo;
pub mod report;
pub mod server;
pub mod trailer;
