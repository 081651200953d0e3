//! Configuration: loads the TOML file, validates it and resolves it.
//!
//! The file is read in two stages. [`raw`] contains the serde types that mirror
//! the file, with source positions. [`resolve`] turns them into [`Config`]:
//! defaults filled in, globs compiled, identities normalized and indexed, and
//! every semantic error collected with its `line:col`. Code after loading sees
//! only [`Config`].
//!
//! `config/foureyes.toml` in the repository lists every key with its default.
//!
//! Pattern matching:
//!
//! - `refs` and `repos` globs are compiled with globset's defaults, so `*`
//!   also matches `/`: `refs/heads/release/*` matches
//!   `refs/heads/release/1.0/hotfix` too. A pattern therefore never protects
//!   less than it seems to. Matching is case-sensitive.
//! - `[[rule.paths]]` globs are compiled with `literal_separator(true)`, so
//!   `*` stays within one directory and `**` crosses directories, as in
//!   `.gitignore`: `crypto/*` matches `crypto/aes.c` but not
//!   `crypto/aes/impl.c`, while `crypto/**` matches both. Unlike
//!   `.gitignore`, a pattern always matches the whole path from the top of
//!   the tree, so `*.pem` matches `key.pem` but not `certs/key.pem`.
//!
//! This module does not read the environment and does not talk to syslog or
//! to repositories.

mod diagnostic;
mod raw;
mod resolve;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use globset::GlobSet;

use crate::identity;

pub use diagnostic::{ConfigError, Diagnostic};

/// The resolved configuration: every default filled in and every check passed.
#[derive(Clone, Debug)]
pub struct Config {
    pub daemon: Daemon,
    pub limits: Limits,
    pub syslog: Syslog,
    pub pusher: PusherSource,
    pub messages: Messages,
    pub people: People,
    pub groups: Groups,
    /// Rules in file order.
    pub rules: Vec<Rule>,
    /// The file the configuration was loaded from.
    pub path: PathBuf,
}

/// The `[daemon]` table: where the daemon listens and which repositories it
/// serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Daemon {
    /// Absolute path of the Unix socket.
    pub socket: PathBuf,
    /// Absolute paths of the directories that contain the served repositories.
    pub repo_roots: Vec<PathBuf>,
    /// Peer uids allowed to connect in addition to the daemon's own uid.
    pub allowed_uids: Vec<u32>,
    /// Permission bits of the socket file, at most `0o777`.
    pub socket_mode: u32,
}

/// The `[limits]` table: bounds on everything a client controls.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    pub max_request_bytes: usize,
    /// Ref updates per push.
    pub max_refs: usize,
    /// Commits checked per ref update.
    pub max_commits: usize,
    /// Message bytes read per commit.
    pub max_message_bytes: usize,
    /// Checks that run at the same time. A configured 0 is resolved to the
    /// number of CPUs at load time, so this is never 0.
    pub max_concurrent_checks: usize,
    /// Requests that may wait for a check slot; further requests get a "busy"
    /// response.
    pub max_queued_checks: usize,
    /// Time allowed for one request, from its first byte to the response.
    pub deadline: Duration,
    /// A connection that sends nothing for this long is closed.
    pub idle_timeout: Duration,
}

/// The `[syslog]` table: where audit records go.
#[derive(Clone, Debug)]
pub struct Syslog {
    /// Absolute path of the syslog datagram socket.
    pub socket: PathBuf,
    pub facility: syslog::Facility,
    /// The program name in each record; never empty, no whitespace, `[` or `:`.
    pub ident: String,
    pub on_failure: OnFailure,
}

/// Action for a push whose audit record cannot be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnFailure {
    Reject,
    Accept,
}

/// The `[pusher]` table: where the hook finds the pusher's name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PusherSource {
    /// Environment variable names, tried in order; the first non-empty wins.
    pub env: Vec<String>,
}

/// The `[messages]` table: how messages to the pusher are rendered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Messages {
    pub style: MessageStyle,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageStyle {
    Plain,
    /// Every line is prefixed with `GL-HOOK-ERR: `, which GitLab requires to
    /// show hook output in its web UI.
    Gitlab,
}

/// One `[[person]]` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    /// Unique id of letters, digits, `.`, `_` and `-`.
    pub id: String,
    /// Addresses in comparison form ([`identity::normalize`]), unique across
    /// all people.
    pub emails: Vec<String>,
    /// Pusher names in comparison form ([`identity::normalize`]), unique
    /// across all people.
    pub usernames: Vec<String>,
    /// Bots never count as reviewers.
    pub bot: bool,
}

/// All people, indexed by id, address and username.
#[derive(Clone, Debug, Default)]
pub struct People {
    list: Vec<Person>,
    by_id: HashMap<String, usize>,
    by_email: HashMap<String, usize>,
    by_username: HashMap<String, usize>,
    /// UTS #39 skeleton of every listed address, to the address.
    by_skeleton: HashMap<String, String>,
}

impl People {
    /// Builds the indexes. The caller has already rejected duplicates; a
    /// later duplicate would shadow an earlier one.
    fn new(list: Vec<Person>) -> People {
        let mut people = People::default();
        for (index, person) in list.iter().enumerate() {
            people.by_id.insert(person.id.clone(), index);
            for email in &person.emails {
                people.by_email.insert(email.clone(), index);
                people
                    .by_skeleton
                    .insert(identity::skeleton(email), email.clone());
            }
            for username in &person.usernames {
                people.by_username.insert(username.clone(), index);
            }
        }
        people.list = list;
        people
    }

    pub fn get(&self, id: &str) -> Option<&Person> {
        self.by_id.get(id).map(|&index| &self.list[index])
    }

    pub fn by_email(&self, address: &identity::Address) -> Option<&Person> {
        self.by_email
            .get(address.as_str())
            .map(|&index| &self.list[index])
    }

    /// Returns the listed address that `address` imitates: a different
    /// address with the same confusable skeleton (Unicode TS #39), such as
    /// `b\u{43e}b@example.com` with a Cyrillic `о` for `bob@example.com`.
    pub fn lookalike(&self, address: &identity::Address) -> Option<&str> {
        if self.by_email.contains_key(address.as_str()) {
            return None;
        }
        self.by_skeleton
            .get(&identity::skeleton(address.as_str()))
            .map(String::as_str)
    }

    /// Looks up a pusher name after normalizing it with
    /// [`identity::normalize`].
    pub fn by_username(&self, name: &str) -> Option<&Person> {
        let name = identity::normalize(name);
        self.by_username.get(&name).map(|&index| &self.list[index])
    }

    /// Iterates in file order.
    pub fn iter(&self) -> impl Iterator<Item = &Person> {
        self.list.iter()
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// The `[groups]` table: group name to the ids of its members.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Groups {
    members: BTreeMap<String, BTreeSet<String>>,
}

impl Groups {
    /// Returns false for an unknown group.
    pub fn contains(&self, group: &str, person_id: &str) -> bool {
        self.members
            .get(group)
            .is_some_and(|members| members.contains(person_id))
    }

    pub fn members(&self, group: &str) -> Option<&BTreeSet<String>> {
        self.members.get(group)
    }

    /// Iterates in sorted order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.members.keys().map(String::as_str)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnknownReviewers {
    /// Addresses that belong to no person do not count.
    Ignore,
    /// Each distinct unknown address counts as one reviewer.
    Count,
}

/// Selection of the commits of a ref update that are checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    EveryCommit,
    FirstParent,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A failing check rejects the push.
    Enforce,
    /// A failing check is logged and reported, and the push is accepted.
    Shadow,
}

/// `count` reviewers must be members of `group`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quota {
    pub group: String,
    /// At least 1.
    pub count: usize,
}

/// One `[[rule.paths]]` entry: extra quotas for commits that touch matching
/// paths.
#[derive(Clone, Debug)]
pub struct PathRule {
    /// The globs as written, for messages.
    pub patterns: Vec<String>,
    pub require: Vec<Quota>,
    set: GlobSet,
}

impl PathRule {
    /// Matches a path in the tree, relative to its root and `/`-separated.
    /// `*` stays within one directory and `**` crosses directories.
    pub fn matches(&self, path: &str) -> bool {
        self.set.is_match(path)
    }
}

/// One `[[rule]]` entry.
#[derive(Clone, Debug)]
pub struct Rule {
    pub name: String,
    /// Globs on full ref names, as written.
    pub ref_patterns: Vec<String>,
    /// Globs on the repository path relative to its root, as written.
    pub repo_patterns: Vec<String>,
    /// Reviewers each checked commit needs. Quotas can raise this in
    /// practice: each person fills at most one quota slot, so the quotas of
    /// `require` (plus those of matching `paths`) need as many distinct
    /// reviewers as they have slots, even when `min_reviewers` is lower.
    pub min_reviewers: usize,
    /// Trailer keys that name a reviewer, compared case-insensitively.
    pub review_trailers: Vec<String>,
    /// Trailer keys that name a co-author; a co-author never counts as a
    /// reviewer.
    pub coauthor_trailers: Vec<String>,
    pub unknown_reviewers: UnknownReviewers,
    pub reviewer_may_be_pusher: bool,
    pub allow_force_push: bool,
    pub allow_delete: bool,
    pub scope: Scope,
    /// When set, only members of these groups count as reviewers.
    pub reviewer_groups: Option<Vec<String>>,
    pub require: Vec<Quota>,
    /// When set, only members of these groups may push.
    pub pusher_groups: Option<Vec<String>>,
    pub pusher_may_be_author: bool,
    pub break_glass_groups: Vec<String>,
    pub mode: Mode,
    pub paths: Vec<PathRule>,
    /// Exact ref names; the new target must be reachable from one of them.
    pub target_reachable_from: Vec<String>,
    ref_set: GlobSet,
    repo_set: GlobSet,
}

impl Rule {
    /// Matches a full ref name such as `refs/heads/main`. `*` also matches
    /// `/`.
    pub fn matches_ref(&self, refname: &str) -> bool {
        self.ref_set.is_match(refname)
    }

    /// Matches a repository path relative to its root, such as
    /// `team/app.git`. `*` also matches `/`, and case matters.
    pub fn matches_repo(&self, relative_path: &str) -> bool {
        self.repo_set.is_match(relative_path)
    }

    /// Returns whether this rule needs the pusher's identity at all.
    pub fn needs_pusher(&self) -> bool {
        !self.reviewer_may_be_pusher
            || self.pusher_groups.is_some()
            || !self.pusher_may_be_author
            || !self.break_glass_groups.is_empty()
    }
}

impl Config {
    /// Rules whose refs and repos both match, in file order.
    pub fn rules_for<'a>(
        &'a self,
        repo_relative: &'a str,
        refname: &'a str,
    ) -> impl Iterator<Item = &'a Rule> + 'a {
        self.rules
            .iter()
            .filter(move |rule| rule.matches_repo(repo_relative) && rule.matches_ref(refname))
    }
}

/// Reads and validates the file at `path`.
///
/// This does not check who may write the file: the daemon calls
/// [`check_permissions`] first.
///
/// # Errors
///
/// Returns every problem found, each with its position when it has one. An
/// unreadable file and a TOML syntax or type error stop the check early, so
/// those come alone.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|err| {
        ConfigError::single(
            path,
            format!(
                "failed to read the configuration file: {err}; check the path and its permissions"
            ),
        )
    })?;
    parse(&text, path)
}

/// Rejects a configuration file that group or others can write, and one in a
/// directory that group or others can write (unless the directory has the
/// sticky bit, like `/tmp`), because either would let another user change
/// the policy. When `path` is a symlink, the directory of the link and the
/// directory of the file it resolves to are both checked.
///
/// # Limitations
///
/// The owner is not checked: a file owned by another non-root user passes,
/// and that user can change it. Directories above the parent are not
/// checked either.
pub fn check_permissions(path: &Path) -> Result<(), ConfigError> {
    let metadata = std::fs::metadata(path).map_err(|err| {
        ConfigError::single(
            path,
            format!("failed to read file metadata: {err}; check the path"),
        )
    })?;
    let mode = metadata.permissions().mode();
    if mode & 0o022 != 0 {
        return Err(ConfigError::single(
            path,
            format!(
                "file is writable by group or others (mode {:04o}), so they could change the \
                 policy; run chmod go-w {}",
                mode & 0o7777,
                path.display()
            ),
        ));
    }

    check_directory(path, &parent_directory(path))?;
    let resolved = std::fs::canonicalize(path).map_err(|err| {
        ConfigError::single(
            path,
            format!("failed to resolve the path: {err}; check the path"),
        )
    })?;
    let resolved_directory = parent_directory(&resolved);
    if resolved_directory != parent_directory(path) {
        check_directory(path, &resolved_directory)?;
    }
    Ok(())
}

fn parent_directory(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Rejects `directory`, which contains the configuration file `path`, when
/// group or others can write it and it has no sticky bit.
fn check_directory(path: &Path, directory: &Path) -> Result<(), ConfigError> {
    let metadata = std::fs::metadata(directory).map_err(|err| {
        ConfigError::single(
            path,
            format!(
                "failed to read metadata of directory {}: {err}",
                directory.display()
            ),
        )
    })?;
    let mode = metadata.permissions().mode();
    let sticky = mode & 0o1000 != 0;
    if mode & 0o022 != 0 && !sticky {
        return Err(ConfigError::single(
            path,
            format!(
                "directory {} is writable by group or others (mode {:04o}), so they could \
                 replace the file; run chmod go-w {}",
                directory.display(),
                mode & 0o7777,
                directory.display()
            ),
        ));
    }
    Ok(())
}

/// Replaces Rust type names in serde's messages ("expected usize") with
/// the words a TOML author uses.
fn plain_type_names(message: &str) -> String {
    const NAMES: &[(&str, &str)] = &[
        ("expected usize", "expected a whole number of 0 or more"),
        ("expected u64", "expected a whole number of 0 or more"),
        ("expected u32", "expected a whole number of 0 or more"),
        ("expected a sequence", "expected an array"),
        ("expected a boolean", "expected true or false"),
    ];
    let mut message = message.to_owned();
    for (rust, plain) in NAMES {
        message = message.replace(rust, plain);
    }
    message
}

/// Parses and validates `text`; `path` is used in diagnostics and stored in
/// [`Config::path`].
///
/// # Errors
///
/// As for [`load`].
pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
    // serde stops at the first wrong key or type. To report the others too,
    // the line of each such error is blanked and the text parsed again,
    // while the text stays valid TOML; semantic errors are then added from
    // the blanked text. A syntax error ends the search, since nothing after
    // it can be read.
    let mut diagnostics = Vec::new();
    let mut current = text.to_owned();
    let mut blanked_keys: Vec<String> = Vec::new();
    for _ in 0..MAX_TYPE_ERRORS {
        let err = match toml::from_str::<raw::RawConfig>(&current) {
            Ok(raw) => {
                return match resolve::resolve(raw, text, path) {
                    Ok(config) if diagnostics.is_empty() => Ok(config),
                    Ok(_) => Err(ConfigError { diagnostics }),
                    Err(err) => {
                        diagnostics.extend(err.diagnostics);
                        diagnostics.sort_by_key(|diagnostic| (diagnostic.line, diagnostic.column));
                        Err(ConfigError { diagnostics })
                    }
                };
            }
            Err(err) => err,
        };
        let message = plain_type_names(err.message().trim_end());
        let is_syntax_error = current.parse::<toml::Table>().is_err();
        // A required key on a blanked line now reports as missing; the
        // error for that line is already listed.
        let repeats = blanked_keys
            .iter()
            .any(|key| message.starts_with(&format!("missing field `{key}`")));
        if !repeats {
            diagnostics.push(match err.span() {
                Some(span) => Diagnostic::at(path, text, span, message),
                None => ConfigError::single(path, message).diagnostics.remove(0),
            });
        }
        let Some(span) = err.span().filter(|_| !is_syntax_error && !repeats) else {
            break;
        };
        let line_start = current[..span.start].rfind('\n').map_or(0, |at| at + 1);
        let line_end = current[span.start..]
            .find('\n')
            .map_or(current.len(), |at| span.start + at);
        let line = &current[line_start..line_end];
        match line.split_once('=') {
            Some((key, _)) if !line.trim_start().starts_with('[') => {
                blanked_keys.push(key.trim().to_owned());
            }
            // Not a `key = value` line (a table header, a value continued
            // over lines): blanking it could change what the rest means.
            _ => break,
        }
        let spaces = " ".repeat(line_end - line_start);
        current.replace_range(line_start..line_end, &spaces);
        if current.parse::<toml::Table>().is_err() {
            break;
        }
    }
    Err(ConfigError { diagnostics })
}

/// Most wrong keys and types reported from one file; past this the file is
/// more likely not a foureyes configuration at all.
const MAX_TYPE_ERRORS: usize = 50;
