//! Turns [`RawConfig`] into [`Config`]: fills defaults, compiles globs,
//! normalizes identities and collects every semantic error.
//!
//! Each check records a diagnostic and goes on with a placeholder value, so
//! one run reports all semantic errors of the file.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Display;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use toml::Spanned;

use super::raw::{
    RawConfig, RawDaemon, RawLimits, RawMessages, RawPathRule, RawPerson, RawPusher, RawQuota,
    RawRule, RawSyslog, SpannedList,
};
use super::{
    Config, ConfigError, Daemon, Diagnostic, Groups, Limits, MessageStyle, Messages, Mode,
    OnFailure, PathRule, People, Person, PusherSource, Quota, Rule, Scope, Syslog,
    UnknownReviewers,
};
use crate::{identity, quota};

const DEFAULT_SOCKET: &str = "/run/foureyes/foureyes.sock";
const DEFAULT_REPO_ROOT: &str = "/srv/git";
/// Owner and group may connect, so the git service user's group can be
/// given access without opening the socket to everyone.
const DEFAULT_SOCKET_MODE: u32 = 0o660;

/// 16 MiB. A ref update line is about 150 bytes (two SHA-1 ids and a ref
/// name), so a mirror push of 10 000 refs is an estimated 1.5 MB. This
/// leaves room for ten times that.
const DEFAULT_MAX_REQUEST_BYTES: usize = 16 * 1024 * 1024;
/// Five times a 10 000-ref mirror push.
const DEFAULT_MAX_REFS: usize = 50_000;
/// Walking, decoding and parsing trailers took about 4 µs per commit with
/// gix 0.91 on a 2-core machine, so a walk of this many commits takes about
/// 4 s and the default deadline usually ends it first.
const DEFAULT_MAX_COMMITS: usize = 1_000_000;
/// 1 MiB; only the trailer block at the end matters, and real messages are
/// far shorter.
const DEFAULT_MAX_MESSAGE_BYTES: usize = 1024 * 1024;
const DEFAULT_MAX_QUEUED_CHECKS: usize = 128;
/// GitHub Enterprise Server gives all pre-receive hooks 5 s together, so the
/// daemon responds before that.
const DEFAULT_DEADLINE_MS: u64 = 4000;
const DEFAULT_IDLE_TIMEOUT_MS: u64 = 2000;

const DEFAULT_SYSLOG_SOCKET: &str = "/dev/log";
const DEFAULT_FACILITY: syslog::Facility = syslog::Facility::LOG_AUTHPRIV;
const DEFAULT_IDENT: &str = "foureyes";

/// GitLab, Gitea and Forgejo, Gitolite, then `git http-backend`.
const DEFAULT_PUSHER_ENV: [&str; 4] =
    ["GL_USERNAME", "GITEA_PUSHER_NAME", "GL_USER", "REMOTE_USER"];

const DEFAULT_REVIEW_TRAILERS: [&str; 1] = ["Reviewed-by"];
const DEFAULT_COAUTHOR_TRAILERS: [&str; 2] = ["Co-authored-by", "Co-developed-by"];

pub(super) fn resolve(raw: RawConfig, text: &str, path: &Path) -> Result<Config, ConfigError> {
    let mut checker = Checker {
        path,
        text,
        diagnostics: Vec::new(),
    };

    let daemon = checker.daemon(raw.daemon);
    let limits = checker.limits(raw.limits);
    let syslog = checker.syslog(raw.syslog);
    let pusher = checker.pusher(raw.pusher);
    let messages = checker.messages(raw.messages);
    let people = checker.people(raw.people);
    let groups = checker.groups(raw.groups, &people);
    let rules = checker.rules(raw.rules, &people, &groups);

    if !checker.diagnostics.is_empty() {
        let mut diagnostics = checker.diagnostics;
        diagnostics.sort_by_key(|diagnostic| (diagnostic.line, diagnostic.column));
        return Err(ConfigError { diagnostics });
    }
    Ok(Config {
        daemon,
        limits,
        syslog,
        pusher,
        messages,
        people,
        groups,
        rules,
        path: path.to_path_buf(),
    })
}

struct Checker<'a> {
    path: &'a Path,
    text: &'a str,
    diagnostics: Vec<Diagnostic>,
}

/// Positions kept from a rule for the check that it can pass.
struct RuleSpans {
    name: Range<usize>,
    min_reviewers: Option<Range<usize>>,
    /// The `group` value of each quota in `require`.
    require: Vec<Range<usize>>,
    /// The `require` list of each `[[rule.paths]]` entry.
    paths: Vec<Range<usize>>,
}

impl Checker<'_> {
    fn error(&mut self, span: Range<usize>, message: String) {
        let diagnostic = Diagnostic::at(self.path, self.text, span, message);
        self.diagnostics.push(diagnostic);
    }

    fn daemon(&mut self, raw: RawDaemon) -> Daemon {
        let socket = match raw.socket {
            Some(value) => self.absolute_path("socket", value),
            None => PathBuf::from(DEFAULT_SOCKET),
        };

        let repo_roots = match raw.repo_roots {
            None => vec![PathBuf::from(DEFAULT_REPO_ROOT)],
            Some(list) => {
                if list.get_ref().is_empty() {
                    self.error(
                        list.span(),
                        "repo_roots is empty, so no repository could be served; list at least \
                         one absolute directory such as \"/srv/git\""
                            .to_string(),
                    );
                }
                list.into_inner()
                    .into_iter()
                    .map(|root| self.absolute_path("repo root", root))
                    .collect()
            }
        };

        let socket_mode = match raw.socket_mode {
            Some(value) => self.socket_mode(value),
            None => DEFAULT_SOCKET_MODE,
        };

        Daemon {
            socket,
            repo_roots,
            allowed_uids: raw.allowed_uids.unwrap_or_default(),
            socket_mode,
        }
    }

    fn absolute_path(&mut self, what: &str, value: Spanned<String>) -> PathBuf {
        if !Path::new(value.get_ref()).is_absolute() {
            self.error(
                value.span(),
                format!(
                    "{what} {:?} is not an absolute path; write the full path starting with \"/\"",
                    value.get_ref()
                ),
            );
        }
        PathBuf::from(value.into_inner())
    }

    fn socket_mode(&mut self, value: Spanned<String>) -> u32 {
        let text = value.get_ref();
        let octal = !text.is_empty() && text.bytes().all(|byte| (b'0'..=b'7').contains(&byte));
        if !octal {
            self.error(
                value.span(),
                format!(
                    "socket_mode {text:?} is not an octal number; write octal digits such as \"0660\""
                ),
            );
            return DEFAULT_SOCKET_MODE;
        }
        match u32::from_str_radix(text, 8) {
            Ok(mode) if mode <= 0o777 => mode,
            _ => {
                self.error(
                    value.span(),
                    format!(
                        "socket_mode {text:?} is greater than 0777; use permission bits only, \
                         such as \"0660\""
                    ),
                );
                DEFAULT_SOCKET_MODE
            }
        }
    }

    fn limits(&mut self, raw: RawLimits) -> Limits {
        let max_request_bytes = self.positive(
            "max_request_bytes",
            raw.max_request_bytes,
            DEFAULT_MAX_REQUEST_BYTES,
            "every request would be rejected",
        );
        let max_refs = self.positive(
            "max_refs",
            raw.max_refs,
            DEFAULT_MAX_REFS,
            "every push would be rejected",
        );
        let max_commits = self.positive(
            "max_commits",
            raw.max_commits,
            DEFAULT_MAX_COMMITS,
            "every ref update with new commits would be rejected",
        );
        let max_message_bytes = self.positive(
            "max_message_bytes",
            raw.max_message_bytes,
            DEFAULT_MAX_MESSAGE_BYTES,
            "no trailer could ever be read",
        );
        let deadline_ms = self.positive(
            "deadline_ms",
            raw.deadline_ms,
            DEFAULT_DEADLINE_MS,
            "every request would time out at once",
        );
        let idle_timeout_ms = self.positive(
            "idle_timeout_ms",
            raw.idle_timeout_ms,
            DEFAULT_IDLE_TIMEOUT_MS,
            "every connection would be closed at once",
        );

        // 0 means "one check per CPU", resolved here so that later code never
        // gets 0. A failed CPU query falls back to one check at a time.
        let max_concurrent_checks = match raw.max_concurrent_checks {
            Some(0) | None => std::thread::available_parallelism().map_or(1, |count| count.get()),
            Some(count) => count,
        };

        Limits {
            max_request_bytes,
            max_refs,
            max_commits,
            max_message_bytes,
            max_concurrent_checks,
            max_queued_checks: raw.max_queued_checks.unwrap_or(DEFAULT_MAX_QUEUED_CHECKS),
            deadline: Duration::from_millis(deadline_ms),
            idle_timeout: Duration::from_millis(idle_timeout_ms),
        }
    }

    /// Rejects 0 for a limit where 0 would make the daemon useless;
    /// `consequence` describes what 0 would do.
    fn positive<T>(
        &mut self,
        key: &str,
        value: Option<Spanned<T>>,
        default: T,
        consequence: &str,
    ) -> T
    where
        T: Copy + Default + PartialEq + Display,
    {
        let Some(value) = value else {
            return default;
        };
        if *value.get_ref() == T::default() {
            self.error(
                value.span(),
                format!("{key} is 0, so {consequence}; set a positive value such as {default}"),
            );
            return default;
        }
        value.into_inner()
    }

    /// Maps a string to one of `choices`, or records an error that lists
    /// them and returns `default`.
    fn choice<T: Copy>(
        &mut self,
        key: &str,
        value: Option<Spanned<String>>,
        choices: &[(&str, T)],
        default: T,
    ) -> T {
        let Some(value) = value else {
            return default;
        };
        if let Some((_, choice)) = choices.iter().find(|(name, _)| name == value.get_ref()) {
            return *choice;
        }
        let names: Vec<String> = choices
            .iter()
            .map(|(name, _)| format!("{name:?}"))
            .collect();
        self.error(
            value.span(),
            format!(
                "invalid {key} {:?}; use {}",
                value.get_ref(),
                names.join(" or ")
            ),
        );
        default
    }

    fn syslog(&mut self, raw: RawSyslog) -> Syslog {
        let socket = match raw.socket {
            Some(value) => self.absolute_path("syslog socket", value),
            None => PathBuf::from(DEFAULT_SYSLOG_SOCKET),
        };

        let facility = match raw.facility {
            None => DEFAULT_FACILITY,
            Some(value) => value.get_ref().parse().unwrap_or_else(|()| {
                self.error(
                    value.span(),
                    format!(
                        "invalid facility {:?}; use a syslog facility name such as \"authpriv\", \
                         \"auth\", \"daemon\" or \"local0\" to \"local7\"",
                        value.get_ref()
                    ),
                );
                DEFAULT_FACILITY
            }),
        };

        let ident = match raw.ident {
            None => DEFAULT_IDENT.to_string(),
            Some(value) => {
                self.check_ident(&value);
                value.into_inner()
            }
        };

        let on_failure = self.choice(
            "on_failure",
            raw.on_failure,
            &[("reject", OnFailure::Reject), ("accept", OnFailure::Accept)],
            OnFailure::Reject,
        );

        Syslog {
            socket,
            facility,
            ident,
            on_failure,
        }
    }

    /// Rejects an empty ident and one with whitespace, control characters,
    /// `[` or `:`, because the ident is the TAG of an RFC 3164 header and
    /// those characters end the TAG early.
    fn check_ident(&mut self, value: &Spanned<String>) {
        let ident = value.get_ref();
        if ident.is_empty() {
            self.error(
                value.span(),
                "ident is empty; set a program name such as \"foureyes\"".to_string(),
            );
            return;
        }
        let breaks_header = |c: char| c.is_whitespace() || c.is_control() || c == '[' || c == ':';
        if ident.chars().any(breaks_header) {
            self.error(
                value.span(),
                format!(
                    "ident {ident:?} contains whitespace, a control character, '[' or ':', which \
                     would end the syslog tag early; remove them"
                ),
            );
        }
    }

    fn pusher(&mut self, raw: RawPusher) -> PusherSource {
        let Some(list) = raw.env else {
            return PusherSource {
                env: DEFAULT_PUSHER_ENV.map(String::from).to_vec(),
            };
        };
        if list.get_ref().is_empty() {
            self.error(
                list.span(),
                "env is empty, so the pusher's name could never be found; list environment \
                 variables such as \"GL_USERNAME\""
                    .to_string(),
            );
        }
        let mut env = Vec::new();
        for name in list.into_inner() {
            if !is_env_name(name.get_ref()) {
                self.error(
                    name.span(),
                    format!(
                        "environment variable name {:?} is invalid; use letters, digits and '_', \
                         not starting with a digit",
                        name.get_ref()
                    ),
                );
            }
            env.push(name.into_inner());
        }
        PusherSource { env }
    }

    fn messages(&mut self, raw: RawMessages) -> Messages {
        let style = self.choice(
            "style",
            raw.style,
            &[
                ("plain", MessageStyle::Plain),
                ("gitlab", MessageStyle::Gitlab),
            ],
            MessageStyle::Plain,
        );
        Messages { style }
    }

    fn people(&mut self, raw: Vec<RawPerson>) -> People {
        let mut list: Vec<Person> = Vec::new();
        let mut ids: HashSet<String> = HashSet::new();
        // Normalized email or username to the id of the person who has it.
        let mut email_owner: HashMap<String, String> = HashMap::new();
        let mut username_owner: HashMap<String, String> = HashMap::new();

        for person in raw {
            let id = person.id.get_ref().clone();
            if !is_identifier(&id) {
                self.error(
                    person.id.span(),
                    format!(
                        "person id {id:?} is invalid; use only letters, digits, '.', '_' and '-'"
                    ),
                );
            }
            let duplicate = !ids.insert(id.clone());
            if duplicate {
                self.error(
                    person.id.span(),
                    format!(
                        "person id {id:?} is already used by an earlier [[person]]; give each \
                         person a unique id"
                    ),
                );
            }

            let mut emails = Vec::new();
            for email in person.emails {
                if !is_bare_address(email.get_ref()) {
                    self.error(
                        email.span(),
                        format!(
                            "email {:?} of person {id:?} is invalid; write a bare address such \
                             as \"alice@example.com\"",
                            email.get_ref()
                        ),
                    );
                    continue;
                }
                let normalized = identity::normalize(email.get_ref());
                if let Some(message) = reuse_message("email", &email, &id, &email_owner) {
                    self.error(email.span(), message);
                    continue;
                }
                email_owner.insert(normalized.clone(), id.clone());
                emails.push(normalized);
            }

            let mut usernames = Vec::new();
            for username in person.usernames {
                if username.get_ref().trim().is_empty() {
                    self.error(
                        username.span(),
                        format!(
                            "username of person {id:?} is empty; write the name the Git host \
                             reports for this person, or remove the entry"
                        ),
                    );
                    continue;
                }
                let normalized = identity::normalize(username.get_ref());
                if let Some(message) = reuse_message("username", &username, &id, &username_owner) {
                    self.error(username.span(), message);
                    continue;
                }
                username_owner.insert(normalized.clone(), id.clone());
                usernames.push(normalized);
            }

            if !duplicate {
                list.push(Person {
                    id,
                    emails,
                    usernames,
                    bot: person.bot,
                });
            }
        }
        People::new(list)
    }

    fn groups(
        &mut self,
        raw: BTreeMap<Spanned<String>, Vec<Spanned<String>>>,
        people: &People,
    ) -> Groups {
        let mut groups = Groups::default();
        for (name, members) in raw {
            if !is_identifier(name.get_ref()) {
                self.error(
                    name.span(),
                    format!(
                        "group name {:?} is invalid; use only letters, digits, '.', '_' and '-'",
                        name.get_ref()
                    ),
                );
            }
            let mut known = BTreeSet::new();
            for member in members {
                if people.get(member.get_ref()).is_none() {
                    self.error(
                        member.span(),
                        format!(
                            "group {:?} lists unknown person {:?}; add a [[person]] with that id \
                             or remove it from the group",
                            name.get_ref(),
                            member.get_ref()
                        ),
                    );
                    continue;
                }
                known.insert(member.into_inner());
            }
            groups.members.insert(name.into_inner(), known);
        }
        groups
    }

    fn rules(&mut self, raw: Vec<RawRule>, people: &People, groups: &Groups) -> Vec<Rule> {
        let mut names = HashSet::new();
        let mut rules = Vec::new();
        for raw_rule in raw {
            let name = raw_rule.name.get_ref();
            if name.trim().is_empty() {
                self.error(
                    raw_rule.name.span(),
                    "rule name is empty; give each rule a unique name".to_string(),
                );
            } else if !names.insert(name.clone()) {
                self.error(
                    raw_rule.name.span(),
                    format!(
                        "rule name {name:?} is already used by an earlier rule; give each rule a \
                         unique name"
                    ),
                );
            }
            rules.push(self.rule(raw_rule, people, groups));
        }
        rules
    }

    fn rule(&mut self, raw: RawRule, people: &People, groups: &Groups) -> Rule {
        let errors_before = self.diagnostics.len();
        let name = raw.name.get_ref().clone();

        let ref_patterns = self.ref_patterns(&raw.refs);
        let ref_set = self.glob_set(raw.refs.get_ref(), false);

        let (repo_patterns, repo_set) = match &raw.repos {
            None => (vec!["*".to_string()], match_everything()),
            Some(list) => {
                if list.get_ref().is_empty() {
                    self.error(
                        list.span(),
                        "repos is empty, so the rule protects nothing; use [\"*\"] for every \
                         repository"
                            .to_string(),
                    );
                }
                (
                    strings(list.get_ref()),
                    self.glob_set(list.get_ref(), false),
                )
            }
        };

        let (review_trailers, review_list) = self.trailers(
            "review_trailers",
            raw.review_trailers,
            &DEFAULT_REVIEW_TRAILERS,
        );
        if let Some(list) = &review_list
            && list.get_ref().is_empty()
        {
            self.error(
                list.span(),
                "review_trailers is empty, so no trailer could name a reviewer; list at least \
                 one key such as \"Reviewed-by\""
                    .to_string(),
            );
        }
        let (coauthor_trailers, coauthor_list) = self.trailers(
            "coauthor_trailers",
            raw.coauthor_trailers,
            &DEFAULT_COAUTHOR_TRAILERS,
        );
        self.check_trailer_overlap(
            review_list.as_ref(),
            coauthor_list.as_ref(),
            &coauthor_trailers,
        );

        let unknown_reviewers = self.choice(
            "unknown_reviewers",
            raw.unknown_reviewers,
            &[
                ("ignore", UnknownReviewers::Ignore),
                ("count", UnknownReviewers::Count),
            ],
            UnknownReviewers::Ignore,
        );
        let scope = self.choice(
            "scope",
            raw.scope,
            &[
                ("every-commit", Scope::EveryCommit),
                ("first-parent", Scope::FirstParent),
            ],
            Scope::EveryCommit,
        );
        let mode = self.choice(
            "mode",
            raw.mode,
            &[("enforce", Mode::Enforce), ("shadow", Mode::Shadow)],
            Mode::Enforce,
        );

        let reviewer_groups = raw
            .reviewer_groups
            .map(|list| self.group_names("reviewer_groups", list.into_inner(), groups));
        let (require, require_spans) = self.quotas(raw.require, groups);
        let pusher_groups = raw
            .pusher_groups
            .map(|list| self.group_names("pusher_groups", list.into_inner(), groups));
        let break_glass_groups =
            self.group_names("break_glass_groups", raw.break_glass_groups, groups);

        let mut paths = Vec::new();
        let mut path_spans = Vec::new();
        for entry in raw.paths {
            path_spans.push(entry.require.span());
            paths.push(self.path_rule(entry, groups));
        }

        let target_reachable_from = self.exact_refs(raw.target_reachable_from);

        let rule = Rule {
            name,
            ref_patterns,
            repo_patterns,
            min_reviewers: raw
                .min_reviewers
                .as_ref()
                .map_or(1, |value| *value.get_ref()),
            review_trailers,
            coauthor_trailers,
            unknown_reviewers,
            reviewer_may_be_pusher: raw.reviewer_may_be_pusher,
            allow_force_push: raw.allow_force_push,
            allow_delete: raw.allow_delete,
            scope,
            reviewer_groups,
            require,
            pusher_groups,
            pusher_may_be_author: raw.pusher_may_be_author.unwrap_or(true),
            break_glass_groups,
            mode,
            paths,
            target_reachable_from,
            ref_set,
            repo_set,
        };

        // The check needs valid group references and quotas. A rule with
        // other errors skips it, because those errors already show what to
        // fix and would otherwise be reported twice.
        if self.diagnostics.len() == errors_before {
            let spans = RuleSpans {
                name: raw.name.span(),
                min_reviewers: raw.min_reviewers.map(|value| value.span()),
                require: require_spans,
                paths: path_spans,
            };
            self.check_rule_can_pass(&rule, &spans, people, groups);
        }
        rule
    }

    /// Checks that every ref pattern starts with `refs/`; returns the
    /// patterns as written.
    fn ref_patterns(&mut self, list: &SpannedList) -> Vec<String> {
        if list.get_ref().is_empty() {
            self.error(
                list.span(),
                "refs is empty, so the rule protects nothing; list at least one pattern such as \
                 \"refs/heads/main\""
                    .to_string(),
            );
        }
        for pattern in list.get_ref() {
            if !pattern.get_ref().starts_with("refs/") {
                self.error(
                    pattern.span(),
                    format!(
                        "ref pattern {:?} does not start with \"refs/\"; write the full ref name, \
                         such as \"refs/heads/main\" or \"refs/tags/*\"",
                        pattern.get_ref()
                    ),
                );
            }
        }
        strings(list.get_ref())
    }

    /// Compiles `patterns` into one set. Invalid and empty patterns are
    /// reported and left out.
    fn glob_set(&mut self, patterns: &[Spanned<String>], literal_separator: bool) -> GlobSet {
        let mut builder = GlobSetBuilder::new();
        for pattern in patterns {
            if pattern.get_ref().is_empty() {
                self.error(
                    pattern.span(),
                    "glob is empty and would match nothing; write a pattern or remove the entry"
                        .to_string(),
                );
                continue;
            }
            let glob = GlobBuilder::new(pattern.get_ref())
                .literal_separator(literal_separator)
                .build();
            match glob {
                Ok(glob) => {
                    builder.add(glob);
                }
                Err(err) => self.error(
                    pattern.span(),
                    format!(
                        "invalid glob {:?}: {}; fix the pattern",
                        pattern.get_ref(),
                        err.kind()
                    ),
                ),
            }
        }
        builder.build().unwrap_or_else(|err| {
            // Only a pattern set too large for the regex engine gets here.
            let span = patterns.first().map_or(0..0, |pattern| pattern.span());
            self.error(
                span,
                format!("failed to compile the globs: {err}; use fewer or simpler patterns"),
            );
            GlobSet::empty()
        })
    }

    /// Reads a trailer key list or its default. Returns the keys and, when
    /// the list was written, the list itself for further checks.
    fn trailers(
        &mut self,
        key: &str,
        list: Option<SpannedList>,
        default: &[&str],
    ) -> (Vec<String>, Option<SpannedList>) {
        let Some(list) = list else {
            return (default.iter().map(|name| name.to_string()).collect(), None);
        };
        for token in list.get_ref() {
            if !is_trailer_token(token.get_ref()) {
                self.error(
                    token.span(),
                    format!(
                        "trailer key {:?} in {key} is invalid; git trailer keys contain only \
                         letters, digits and '-', such as \"Reviewed-by\"",
                        token.get_ref()
                    ),
                );
            }
        }
        (strings(list.get_ref()), Some(list))
    }

    /// Rejects a key that is in both lists, because one trailer would then
    /// be a review and a co-author claim at once. Defaults never overlap,
    /// so only a written list can cause this.
    fn check_trailer_overlap(
        &mut self,
        review_list: Option<&SpannedList>,
        coauthor_list: Option<&SpannedList>,
        coauthor_keys: &[String],
    ) {
        match (review_list, coauthor_list) {
            (_, Some(coauthor)) => {
                let review_keys: Vec<&str> = match review_list {
                    Some(review) => review
                        .get_ref()
                        .iter()
                        .map(|key| key.get_ref().as_str())
                        .collect(),
                    None => DEFAULT_REVIEW_TRAILERS.to_vec(),
                };
                for token in coauthor.get_ref() {
                    if review_keys
                        .iter()
                        .any(|key| key.eq_ignore_ascii_case(token.get_ref()))
                    {
                        self.error(
                            token.span(),
                            format!(
                                "trailer key {:?} is in both review_trailers and \
                                 coauthor_trailers; remove it from one of them",
                                token.get_ref()
                            ),
                        );
                    }
                }
            }
            (Some(review), None) => {
                for token in review.get_ref() {
                    if coauthor_keys
                        .iter()
                        .any(|key| key.eq_ignore_ascii_case(token.get_ref()))
                    {
                        self.error(
                            token.span(),
                            format!(
                                "trailer key {:?} is also a default coauthor_trailers key; \
                                 remove it here or set coauthor_trailers without it",
                                token.get_ref()
                            ),
                        );
                    }
                }
            }
            (None, None) => {}
        }
    }

    /// Checks that every name is a group; returns the names as written.
    fn group_names(
        &mut self,
        key: &str,
        list: Vec<Spanned<String>>,
        groups: &Groups,
    ) -> Vec<String> {
        for name in &list {
            if groups.members(name.get_ref()).is_none() {
                self.error(
                    name.span(),
                    format!(
                        "unknown group {:?} in {key}; define it under [groups] or fix the name",
                        name.get_ref()
                    ),
                );
            }
        }
        list.into_iter().map(Spanned::into_inner).collect()
    }

    /// Checks each quota; returns the quotas and the span of each `group`.
    fn quotas(&mut self, raw: Vec<RawQuota>, groups: &Groups) -> (Vec<Quota>, Vec<Range<usize>>) {
        let mut quotas = Vec::new();
        let mut spans = Vec::new();
        for quota in raw {
            let group = quota.group.get_ref();
            match groups.members(group) {
                None => self.error(
                    quota.group.span(),
                    format!("unknown group {group:?} in require; define it under [groups] or fix the name"),
                ),
                Some(members) if members.is_empty() => self.error(
                    quota.group.span(),
                    format!(
                        "group {group:?} is empty, so a quota on it can never be filled; add \
                         members to the group"
                    ),
                ),
                Some(_) => {}
            }
            if *quota.count.get_ref() == 0 {
                self.error(
                    quota.count.span(),
                    "quota count is 0, which requires nobody; set a count of 1 or more, or \
                     remove the quota"
                        .to_string(),
                );
            }
            spans.push(quota.group.span());
            quotas.push(Quota {
                group: group.clone(),
                count: *quota.count.get_ref(),
            });
        }
        (quotas, spans)
    }

    fn path_rule(&mut self, raw: RawPathRule, groups: &Groups) -> PathRule {
        if raw.patterns.get_ref().is_empty() {
            self.error(
                raw.patterns.span(),
                "patterns is empty, so this paths entry matches nothing; list globs such as \
                 \"crypto/**\""
                    .to_string(),
            );
        }
        let set = self.glob_set(raw.patterns.get_ref(), true);

        if raw.require.get_ref().is_empty() {
            self.error(
                raw.require.span(),
                "require is empty, so this paths entry adds nothing; add a quota such as \
                 { group = \"security\", count = 1 }"
                    .to_string(),
            );
        }
        let (require, _) = self.quotas(raw.require.into_inner(), groups);

        PathRule {
            patterns: strings(raw.patterns.get_ref()),
            require,
            set,
        }
    }

    fn exact_refs(&mut self, list: Vec<Spanned<String>>) -> Vec<String> {
        for name in &list {
            let refname = name.get_ref();
            if !refname.starts_with("refs/") {
                self.error(
                    name.span(),
                    format!(
                        "target_reachable_from entry {refname:?} does not start with \"refs/\"; \
                         write the full ref name, such as \"refs/heads/main\""
                    ),
                );
            } else if refname.contains(['*', '?', '[']) {
                self.error(
                    name.span(),
                    format!(
                        "target_reachable_from entry {refname:?} contains a glob character; \
                         write exact ref names"
                    ),
                );
            }
        }
        list.into_iter().map(Spanned::into_inner).collect()
    }

    /// Rejects a rule that no set of reviewers could satisfy: too few
    /// eligible people for `min_reviewers`, or quotas that eligible people
    /// cannot fill. Eligible people are the non-bot people, limited to the
    /// members of `reviewer_groups` when that is set.
    fn check_rule_can_pass(
        &mut self,
        rule: &Rule,
        spans: &RuleSpans,
        people: &People,
        groups: &Groups,
    ) {
        let eligible: Vec<&str> = people
            .iter()
            .filter(|person| !person.bot)
            .filter(|person| match &rule.reviewer_groups {
                None => true,
                Some(names) => names.iter().any(|group| groups.contains(group, &person.id)),
            })
            .map(|person| person.id.as_str())
            .collect();
        let among = if rule.reviewer_groups.is_some() {
            "eligible non-bot people in reviewer_groups"
        } else {
            "eligible non-bot people"
        };

        // With unknown_reviewers = "count", addresses that belong to no
        // person count too, so any min_reviewers can be reached.
        if rule.unknown_reviewers == UnknownReviewers::Ignore && rule.min_reviewers > eligible.len()
        {
            let span = spans.min_reviewers.clone().unwrap_or(spans.name.clone());
            self.error(
                span,
                format!(
                    "rule {:?} can never pass: min_reviewers is {} but there are only {} {among}; \
                     lower min_reviewers, add people, or set unknown_reviewers = \"count\"",
                    rule.name,
                    rule.min_reviewers,
                    eligible.len()
                ),
            );
        }

        let assignment = quota::assign(&eligible, &rule.require, groups);
        if let Some(&(index, _)) = assignment.missing.first() {
            let shortfall = describe_missing(&assignment.missing, &rule.require);
            self.error(
                spans.require[index].clone(),
                format!(
                    "rule {:?} can never pass: {among} cannot fill {shortfall}, because each \
                     person fills one slot; add members to the group or lower the count",
                    rule.name
                ),
            );
            // Every paths entry would report the same shortfall again.
            return;
        }

        for (path_rule, span) in rule.paths.iter().zip(&spans.paths) {
            let mut quotas = rule.require.clone();
            quotas.extend(path_rule.require.iter().cloned());
            let assignment = quota::assign(&eligible, &quotas, groups);
            if assignment.is_complete() {
                continue;
            }
            let shortfall = describe_missing(&assignment.missing, &quotas);
            self.error(
                span.clone(),
                format!(
                    "rule {:?} can never pass for paths {:?}: {among} cannot fill {shortfall} \
                     (the rule's quotas plus these), because each person fills one slot; add \
                     members to the groups or lower the counts",
                    rule.name, path_rule.patterns
                ),
            );
        }
    }
}

/// Describes empty slots as `1 of 2 slots of group "security"`, joined by
/// "and".
fn describe_missing(missing: &[(usize, usize)], quotas: &[Quota]) -> String {
    let parts: Vec<String> = missing
        .iter()
        .map(|&(index, empty)| {
            let quota = &quotas[index];
            let noun = if quota.count == 1 { "slot" } else { "slots" };
            format!(
                "{empty} of {} {noun} of group {:?}",
                quota.count, quota.group
            )
        })
        .collect();
    parts.join(" and ")
}

/// Returns the message for an email or username that is already taken, by
/// this person or another.
fn reuse_message(
    what: &str,
    value: &Spanned<String>,
    id: &str,
    owners: &HashMap<String, String>,
) -> Option<String> {
    let normalized = identity::normalize(value.get_ref());
    let owner = owners.get(&normalized)?;
    let message = if owner == id {
        format!(
            "{what} {:?} is listed twice for person {id:?} (compared after lowercasing and \
             Unicode normalization); remove one",
            value.get_ref()
        )
    } else {
        format!(
            "{what} {:?} already belongs to person {owner:?} (compared after lowercasing and \
             Unicode normalization); list it under one person only",
            value.get_ref()
        )
    };
    Some(message)
}

/// Builds the set for the default `repos = ["*"]`.
fn match_everything() -> GlobSet {
    let glob = globset::Glob::new("*").expect("\"*\" is a valid glob");
    GlobSet::new([glob]).expect("a set of one simple glob compiles")
}

fn strings(list: &[Spanned<String>]) -> Vec<String> {
    list.iter().map(|item| item.get_ref().clone()).collect()
}

/// `[A-Za-z0-9._-]+`, the form of person ids and group names.
fn is_identifier(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'-'))
}

/// `[A-Za-z0-9-]+`, the form git accepts for a trailer key.
fn is_trailer_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-')
}

/// `[A-Za-z_][A-Za-z0-9_]*`, a portable environment variable name.
fn is_env_name(text: &str) -> bool {
    let mut bytes = text.bytes();
    let Some(first) = bytes.next() else {
        return false;
    };
    (first.is_ascii_alphabetic() || first == b'_')
        && bytes.all(|byte| byte.is_ascii_alphanumeric() || byte == b'_')
}

/// `local@domain` with both parts non-empty and no whitespace or angle
/// brackets: the address alone, without a display name.
fn is_bare_address(text: &str) -> bool {
    let Some((local, domain)) = text.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.is_empty()
        && !text
            .chars()
            .any(|c| c.is_whitespace() || c == '<' || c == '>')
}
