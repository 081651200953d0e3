//! Configuration. Temporary stand-in with the resolved API; replaced by the
//! full loader.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::Deserialize;

use crate::identity::{self, Address};

pub struct Config {
    pub daemon: Daemon,
    pub limits: Limits,
    pub syslog: Syslog,
    pub pusher: PusherSource,
    pub messages: Messages,
    pub people: People,
    pub groups: Groups,
    pub rules: Vec<Rule>,
    pub path: PathBuf,
}
pub struct Daemon {
    pub socket: PathBuf,
    pub repo_roots: Vec<PathBuf>,
    pub allowed_uids: Vec<u32>,
    pub socket_mode: u32,
}
pub struct Limits {
    pub max_request_bytes: usize,
    pub max_refs: usize,
    pub max_commits: usize,
    pub max_message_bytes: usize,
    pub max_concurrent_checks: usize,
    pub max_queued_checks: usize,
    pub deadline: Duration,
    pub idle_timeout: Duration,
}
pub struct Syslog {
    pub socket: PathBuf,
    pub facility: syslog::Facility,
    pub ident: String,
    pub on_failure: OnFailure,
}
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnFailure {
    Reject,
    Accept,
}
pub struct PusherSource {
    pub env: Vec<String>,
}
pub struct Messages {
    pub style: MessageStyle,
}
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageStyle {
    Plain,
    Gitlab,
}
#[derive(Debug, Deserialize)]
pub struct Person {
    pub id: String,
    #[serde(default)]
    pub emails: Vec<String>,
    #[serde(default)]
    pub usernames: Vec<String>,
    #[serde(default)]
    pub bot: bool,
}
pub struct People {
    persons: Vec<Person>,
    by_email: HashMap<String, usize>,
    by_username: HashMap<String, usize>,
}
impl People {
    pub fn get(&self, id: &str) -> Option<&Person> {
        self.persons.iter().find(|p| p.id == id)
    }
    pub fn by_email(&self, address: &Address) -> Option<&Person> {
        self.by_email
            .get(address.as_str())
            .map(|&i| &self.persons[i])
    }
    pub fn by_username(&self, name: &str) -> Option<&Person> {
        self.by_username
            .get(&identity::normalize(name))
            .map(|&i| &self.persons[i])
    }
    pub fn iter(&self) -> impl Iterator<Item = &Person> {
        self.persons.iter()
    }
    pub fn len(&self) -> usize {
        self.persons.len()
    }
    pub fn is_empty(&self) -> bool {
        self.persons.is_empty()
    }
}
pub struct Groups {
    map: BTreeMap<String, BTreeSet<String>>,
}
impl Groups {
    pub fn contains(&self, group: &str, person_id: &str) -> bool {
        self.map.get(group).is_some_and(|m| m.contains(person_id))
    }
    pub fn members(&self, group: &str) -> Option<&BTreeSet<String>> {
        self.map.get(group)
    }
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.map.keys().map(String::as_str)
    }
}
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnknownReviewers {
    Ignore,
    Count,
}
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    EveryCommit,
    FirstParent,
}
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Enforce,
    Shadow,
}
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Quota {
    pub group: String,
    pub count: usize,
}
pub struct PathRule {
    pub patterns: Vec<String>,
    pub require: Vec<Quota>,
    set: GlobSet,
}
impl PathRule {
    pub fn matches(&self, path: &str) -> bool {
        self.set.is_match(path)
    }
}
pub struct Rule {
    pub name: String,
    pub ref_patterns: Vec<String>,
    pub repo_patterns: Vec<String>,
    pub min_reviewers: usize,
    pub review_trailers: Vec<String>,
    pub coauthor_trailers: Vec<String>,
    pub unknown_reviewers: UnknownReviewers,
    pub reviewer_may_be_pusher: bool,
    pub allow_force_push: bool,
    pub allow_delete: bool,
    pub scope: Scope,
    pub reviewer_groups: Option<Vec<String>>,
    pub require: Vec<Quota>,
    pub pusher_groups: Option<Vec<String>>,
    pub pusher_may_be_author: bool,
    pub break_glass_groups: Vec<String>,
    pub mode: Mode,
    pub paths: Vec<PathRule>,
    pub target_reachable_from: Vec<String>,
    refs: GlobSet,
    repos: GlobSet,
}
impl Rule {
    pub fn matches_ref(&self, refname: &str) -> bool {
        self.refs.is_match(refname)
    }
    pub fn matches_repo(&self, relative_path: &str) -> bool {
        self.repos.is_match(relative_path)
    }
    pub fn needs_pusher(&self) -> bool {
        !self.reviewer_may_be_pusher
            || self.pusher_groups.is_some()
            || !self.pusher_may_be_author
            || !self.break_glass_groups.is_empty()
    }
}
impl Config {
    pub fn rules_for<'a>(
        &'a self,
        repo_relative: &'a str,
        refname: &'a str,
    ) -> impl Iterator<Item = &'a Rule> + 'a {
        self.rules
            .iter()
            .filter(move |r| r.matches_ref(refname) && r.matches_repo(repo_relative))
    }
}

#[derive(Debug)]
pub struct ConfigError {
    pub message: String,
}
impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}
impl std::error::Error for ConfigError {}

#[derive(Deserialize)]
struct RawConfig {
    #[serde(default)]
    daemon: RawDaemon,
    #[serde(default)]
    syslog: RawSyslog,
    #[serde(default)]
    person: Vec<Person>,
    #[serde(default)]
    rule: Vec<RawRule>,
}
#[derive(Deserialize, Default)]
struct RawDaemon {
    socket: Option<PathBuf>,
    repo_roots: Option<Vec<PathBuf>>,
}
#[derive(Deserialize, Default)]
struct RawSyslog {
    socket: Option<PathBuf>,
}
#[derive(Deserialize)]
struct RawRule {
    name: String,
    refs: Vec<String>,
    min_reviewers: Option<usize>,
    unknown_reviewers: Option<String>,
    reviewer_may_be_pusher: Option<bool>,
    allow_force_push: Option<bool>,
    allow_delete: Option<bool>,
    scope: Option<String>,
}

fn set(patterns: &[String]) -> GlobSet {
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        b.add(Glob::new(p).unwrap());
    }
    b.build().unwrap()
}

pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        message: e.to_string(),
    })?;
    parse(&text, path)
}

pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
    let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError {
        message: e.to_string(),
    })?;
    let mut by_email = HashMap::new();
    let mut by_username = HashMap::new();
    for (i, p) in raw.person.iter().enumerate() {
        for e in &p.emails {
            by_email.insert(identity::normalize(e), i);
        }
        for u in &p.usernames {
            by_username.insert(identity::normalize(u), i);
        }
    }
    let rules = raw
        .rule
        .into_iter()
        .map(|r| Rule {
            name: r.name,
            refs: set(&r.refs),
            ref_patterns: r.refs,
            repo_patterns: vec!["*".into()],
            repos: set(&["*".into()]),
            min_reviewers: r.min_reviewers.unwrap_or(1),
            review_trailers: vec!["Reviewed-by".into()],
            coauthor_trailers: vec!["Co-authored-by".into(), "Co-developed-by".into()],
            unknown_reviewers: if r.unknown_reviewers.as_deref() == Some("count") {
                UnknownReviewers::Count
            } else {
                UnknownReviewers::Ignore
            },
            reviewer_may_be_pusher: r.reviewer_may_be_pusher.unwrap_or(false),
            allow_force_push: r.allow_force_push.unwrap_or(false),
            allow_delete: r.allow_delete.unwrap_or(false),
            scope: if r.scope.as_deref() == Some("first-parent") {
                Scope::FirstParent
            } else {
                Scope::EveryCommit
            },
            reviewer_groups: None,
            require: vec![],
            pusher_groups: None,
            pusher_may_be_author: true,
            break_glass_groups: vec![],
            mode: Mode::Enforce,
            paths: vec![],
            target_reachable_from: vec![],
        })
        .collect();
    Ok(Config {
        daemon: Daemon {
            socket: raw
                .daemon
                .socket
                .unwrap_or("/run/foureyes/foureyes.sock".into()),
            repo_roots: raw.daemon.repo_roots.unwrap_or(vec!["/srv/git".into()]),
            allowed_uids: vec![],
            socket_mode: 0o660,
        },
        limits: Limits {
            max_request_bytes: 16 << 20,
            max_refs: 50000,
            max_commits: 1_000_000,
            max_message_bytes: 1 << 20,
            max_concurrent_checks: 2,
            max_queued_checks: 128,
            deadline: Duration::from_millis(4000),
            idle_timeout: Duration::from_millis(2000),
        },
        syslog: Syslog {
            socket: raw.syslog.socket.unwrap_or("/dev/log".into()),
            facility: syslog::Facility::LOG_AUTHPRIV,
            ident: "foureyes".into(),
            on_failure: OnFailure::Reject,
        },
        pusher: PusherSource {
            env: vec![
                "GL_USERNAME".into(),
                "GITEA_PUSHER_NAME".into(),
                "GL_USER".into(),
                "REMOTE_USER".into(),
            ],
        },
        messages: Messages {
            style: MessageStyle::Plain,
        },
        people: People {
            persons: raw.person,
            by_email,
            by_username,
        },
        groups: Groups {
            map: BTreeMap::new(),
        },
        rules,
        path: path.to_path_buf(),
    })
}
pub fn check_permissions(_path: &Path) -> Result<(), ConfigError> {
    Ok(())
}
