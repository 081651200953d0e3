//! The reviewer rule: decides each ref update of a push.
//!
//! [`judge_commit`] is pure: given a decoded commit, a rule and the people
//! table it says who counted as a reviewer and why every other reviewer
//! trailer did not. [`evaluate`] applies the rules to the ref updates of a
//! push, reading the repository through [`PushRepo`], and returns a
//! [`PushVerdict`] that other code renders, logs and acts on.

use std::collections::BTreeSet;
use std::fmt;

use gix::ObjectId;
use serde::Serialize;

use crate::config::{Config, Mode, Rule, Scope, UnknownReviewers};
use crate::identity::{self, Address, Pusher};
use crate::protocol::{Decision, RefUpdate};
use crate::repo::{CommitData, Peeled, PushRepo, RepoError};
use crate::trailer;

/// How many failing commits a verdict keeps in full for the daemon's
/// message; the rest are only counted.
pub const MAX_DETAILED_COMMITS: usize = 20;

/// How many commits are judged between two checks of the deadline.
const CHECK_EVERY: usize = 256;

/// A person from the people table, or an address that is in no entry.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Who {
    Person(String),
    Address(Address),
}

impl fmt::Display for Who {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Who::Person(id) => f.write_str(id),
            Who::Address(address) => write!(f, "{address}"),
        }
    }
}

/// Why a reviewer trailer did not count.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NotCountedReason {
    NoAddress,
    /// Looks like the given address (same confusable skeleton) but is not it.
    Lookalike(String),
    Unknown,
    Bot,
    NotInReviewerGroups,
    Author,
    CoAuthor,
    Pusher,
    Duplicate,
    NotInTrailerBlock,
}

impl NotCountedReason {
    pub fn describe(&self) -> String {
        let text = match self {
            NotCountedReason::NoAddress => "no email address in the trailer",
            NotCountedReason::Lookalike(of) => {
                return format!(
                    "looks like {} but is a different address (lookalike characters)",
                    escape(of)
                );
            }
            NotCountedReason::Unknown => "unknown address, not in the people table",
            NotCountedReason::Bot => "a bot account",
            NotCountedReason::NotInReviewerGroups => "not in the rule's reviewer groups",
            NotCountedReason::Author => "the commit's author",
            NotCountedReason::CoAuthor => "a co-author of the commit",
            NotCountedReason::Pusher => "the pusher",
            NotCountedReason::Duplicate => "the same person as an earlier reviewer",
            NotCountedReason::NotInTrailerBlock => {
                "not in the trailer block at the end of the message"
            }
        };
        text.to_owned()
    }
}

/// A reviewer trailer that did not count, with the reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NotCounted {
    pub trailer: String,
    pub reason: NotCountedReason,
}

/// The judgement of one commit under one rule.
#[derive(Clone, Debug, Serialize)]
pub struct CommitVerdict {
    pub id: String,
    pub subject: String,
    pub accepted: bool,
    /// People (or, with `unknown_reviewers = "count"`, addresses) that
    /// counted, sorted.
    pub reviewers: Vec<String>,
    pub required: usize,
    pub not_counted: Vec<NotCounted>,
    /// Why the commit fails, one sentence each; empty when accepted.
    pub problems: Vec<String>,
}

/// The decision of one rule on one ref update.
#[derive(Clone, Debug, Serialize)]
pub struct RuleVerdict {
    pub rule: String,
    pub mode: &'static str,
    /// The rule's own decision; in shadow mode it does not reject the push.
    pub decision: Decision,
    /// Problems with the update as a whole (deletion, force push, ...).
    pub problems: Vec<String>,
    /// Commits checked.
    pub checked: usize,
    /// Commits that fail.
    pub failed: usize,
    /// Every commit when the caller asked for all, else the first failing
    /// ones up to [`MAX_DETAILED_COMMITS`].
    pub commits: Vec<CommitVerdict>,
    /// Everyone who counted on any checked commit, sorted.
    pub reviewers: Vec<String>,
}

/// The decision on one ref update.
#[derive(Clone, Debug, Serialize)]
pub struct RefVerdict {
    #[serde(rename = "ref")]
    pub refname: String,
    pub old: String,
    pub new: String,
    pub decision: Decision,
    pub rules: Vec<RuleVerdict>,
}

impl RefVerdict {
    /// Whether any rule matched, i.e. whether the update is protected.
    pub fn is_protected(&self) -> bool {
        !self.rules.is_empty()
    }
}

/// The decision on a whole push.
#[derive(Clone, Debug, Serialize)]
#[must_use]
pub struct PushVerdict {
    pub decision: Decision,
    pub refs: Vec<RefVerdict>,
    /// The pusher, when one could be determined.
    pub pusher: Option<String>,
}

/// The refs a rule matches with their commit tips before the push, or why
/// they could not be listed.
type RefTips = Result<Vec<(String, ObjectId)>, RepoError>;

/// Which commit verdicts to keep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detail {
    /// Every checked commit (explain).
    All,
    /// Failing commits up to [`MAX_DETAILED_COMMITS`] (the daemon).
    Failing,
}

/// Everything about a push besides the repository.
pub struct Push<'a> {
    pub config: &'a Config,
    /// The repository path relative to its repo root, matched by `repos`.
    pub repo_relative: &'a str,
    pub updates: &'a [RefUpdate],
    pub pusher: Option<Pusher>,
    pub detail: Detail,
    /// Called between commits; returns a reason to stop (deadline passed,
    /// client gone), which makes the update undecided.
    pub interrupt: &'a dyn Fn() -> Option<String>,
}

/// Returns the pusher from the first non-empty variable of `names`.
pub fn pusher_from_env<'a>(
    names: &[String],
    lookup: impl Fn(&str) -> Option<&'a str>,
) -> Option<Pusher> {
    names.iter().find_map(|name| {
        lookup(name)
            .filter(|value| !value.is_empty())
            .map(|value| Pusher {
                source: name.clone(),
                name: value.to_owned(),
            })
    })
}

/// Decides every ref update of a push. Updates no rule matches are accepted
/// without reading any object; the repository is opened by the caller only
/// when [`needs_repository`] says so.
pub fn evaluate(push: &Push<'_>, repo: Option<&PushRepo>) -> PushVerdict {
    let mut refs = Vec::with_capacity(push.updates.len());
    let mut hidden_cache: Vec<(usize, RefTips)> = Vec::new();
    for update in push.updates {
        let rules: Vec<(usize, &Rule)> = push
            .config
            .rules
            .iter()
            .enumerate()
            .filter(|(_, rule)| {
                rule.matches_ref(&update.refname) && rule.matches_repo(push.repo_relative)
            })
            .collect();
        let mut verdicts = Vec::with_capacity(rules.len());
        for (index, rule) in rules {
            let verdict = match repo {
                Some(repo) => {
                    if !hidden_cache.iter().any(|(cached, _)| *cached == index) {
                        let tips = repo.ref_tips(|name| rule.matches_ref(name));
                        hidden_cache.push((index, tips));
                    }
                    let hidden = &hidden_cache
                        .iter()
                        .find(|(cached, _)| *cached == index)
                        .expect("the hidden tips of this rule were just computed")
                        .1;
                    judge_update(push, repo, rule, update, hidden)
                }
                None => undecided(rule, "the repository could not be opened".into()),
            };
            verdicts.push(verdict);
        }
        refs.push(RefVerdict {
            refname: update.refname.clone(),
            old: update.old.clone(),
            new: update.new.clone(),
            decision: combine(verdicts.iter().map(effective_decision)),
            rules: verdicts,
        });
    }
    PushVerdict {
        decision: combine(refs.iter().map(|verdict| verdict.decision)),
        refs,
        pusher: push.pusher.as_ref().map(|pusher| pusher.name.clone()),
    }
}

/// Whether any update of the push is protected, so the repository must be
/// read.
pub fn needs_repository(config: &Config, repo_relative: &str, updates: &[RefUpdate]) -> bool {
    updates.iter().any(|update| {
        config
            .rules_for(repo_relative, &update.refname)
            .next()
            .is_some()
    })
}

/// A verdict for every update that matched a rule, for when the repository
/// cannot be read at all.
pub fn undecided_push(push: &Push<'_>, reason: &str) -> PushVerdict {
    let refs: Vec<RefVerdict> = push
        .updates
        .iter()
        .map(|update| {
            let rules: Vec<RuleVerdict> = push
                .config
                .rules_for(push.repo_relative, &update.refname)
                .map(|rule| undecided(rule, reason.to_owned()))
                .collect();
            RefVerdict {
                refname: update.refname.clone(),
                old: update.old.clone(),
                new: update.new.clone(),
                decision: combine(rules.iter().map(effective_decision)),
                rules,
            }
        })
        .collect();
    PushVerdict {
        decision: combine(refs.iter().map(|verdict| verdict.decision)),
        refs,
        pusher: push.pusher.as_ref().map(|pusher| pusher.name.clone()),
    }
}

/// The decision a rule verdict contributes to its ref: shadow rules never
/// reject.
fn effective_decision(verdict: &RuleVerdict) -> Decision {
    if verdict.mode == "shadow" {
        Decision::Accept
    } else {
        verdict.decision
    }
}

/// Undecided dominates rejected, which dominates accepted.
fn combine(decisions: impl Iterator<Item = Decision>) -> Decision {
    decisions.fold(Decision::Accept, |acc, decision| match (acc, decision) {
        (Decision::Error, _) | (_, Decision::Error) => Decision::Error,
        (Decision::Reject, _) | (_, Decision::Reject) => Decision::Reject,
        _ => Decision::Accept,
    })
}

fn mode_name(rule: &Rule) -> &'static str {
    match rule.mode {
        Mode::Enforce => "enforce",
        Mode::Shadow => "shadow",
    }
}

fn new_verdict(rule: &Rule) -> RuleVerdict {
    RuleVerdict {
        rule: rule.name.clone(),
        mode: mode_name(rule),
        decision: Decision::Accept,
        problems: Vec::new(),
        checked: 0,
        failed: 0,
        commits: Vec::new(),
        reviewers: Vec::new(),
    }
}

fn undecided(rule: &Rule, reason: String) -> RuleVerdict {
    let mut verdict = new_verdict(rule);
    verdict.decision = Decision::Error;
    verdict.problems.push(reason);
    verdict
}

fn is_zero_id(hex: &str) -> bool {
    !hex.is_empty() && hex.bytes().all(|byte| byte == b'0')
}

/// Applies one rule to one ref update.
fn judge_update(
    push: &Push<'_>,
    repo: &PushRepo,
    rule: &Rule,
    update: &RefUpdate,
    hidden: &RefTips,
) -> RuleVerdict {
    let mut verdict = new_verdict(rule);
    match judge_update_inner(push, repo, rule, update, hidden, &mut verdict) {
        Ok(()) => {}
        Err(err) => {
            verdict.decision = Decision::Error;
            verdict.problems.push(err.to_string());
        }
    }
    verdict
}

fn reject(verdict: &mut RuleVerdict, problem: String) {
    if verdict.decision == Decision::Accept {
        verdict.decision = Decision::Reject;
    }
    verdict.problems.push(problem);
}

fn judge_update_inner(
    push: &Push<'_>,
    repo: &PushRepo,
    rule: &Rule,
    update: &RefUpdate,
    tips: &RefTips,
    verdict: &mut RuleVerdict,
) -> Result<(), RepoError> {
    if gix::validate::reference::name(update.refname.as_bytes().into()).is_err()
        || !update.refname.starts_with("refs/")
    {
        reject(
            verdict,
            format!("{} is not a valid ref name", escape(&update.refname)),
        );
        return Ok(());
    }
    let old = (!is_zero_id(&update.old))
        .then(|| repo.parse_id(&update.old))
        .transpose()?;
    if is_zero_id(&update.new) {
        repo.parse_id(&update.new)?;
        if !rule.allow_delete {
            reject(
                verdict,
                format!(
                    "deleting {} is not allowed by rule {:?}",
                    update.refname, rule.name
                ),
            );
        }
        return Ok(());
    }
    let new = repo.parse_id(&update.new)?;

    // The pusher: needed to exclude them as a reviewer.
    let pusher = match (&push.pusher, rule.needs_pusher()) {
        (_, false) => None,
        (None, true) => {
            reject(
                verdict,
                format!(
                    "cannot tell who is pushing: none of {} is set, and rule {:?} must know the pusher",
                    push.config.pusher.env.join(", "),
                    rule.name
                ),
            );
            return Ok(());
        }
        (Some(pusher), true) => match push.config.people.by_username(&pusher.name) {
            Some(person) => Some(Who::Person(person.id.clone())),
            None => {
                reject(
                    verdict,
                    format!(
                        "pusher {} (from {}) is not in the people table, and rule {:?} must know who the pusher is",
                        escape(&pusher.name),
                        pusher.source,
                        rule.name
                    ),
                );
                return Ok(());
            }
        },
    };

    let new_commit = match repo.peel(new)? {
        Peeled::Commit(id) => id,
        Peeled::Other(id, kind) => {
            reject(
                verdict,
                format!(
                    "{} would point to {id}, a {kind}, not a commit",
                    update.refname
                ),
            );
            return Ok(());
        }
    };
    let old_commit = match old {
        Some(old) => match repo.peel(old)? {
            Peeled::Commit(id) => Some(id),
            Peeled::Other(..) => None,
        },
        None => None,
    };
    // The fast-forward check runs after the range walk, which usually
    // proves it: the old tip is then a parent of a walked commit. A separate
    // walk would read every pushed commit once more, because commits in the
    // quarantine are not in the commit-graph. Its problem still comes first.
    let fast_forward_check = old_commit.filter(|_| !rule.allow_force_push);
    let fast_forward_problem_at = verdict.problems.len();
    let mut reaches_old = false;

    let tips = match tips {
        Ok(tips) => tips,
        Err(err) => return Err(RepoError(err.0.clone())),
    };
    // The updated ref's own pre-push tip is the update's old id, not the
    // ref's current value. git applies the update only while the ref still
    // points to old, and explain may run on refs that already point to new.
    let mut hidden: Vec<ObjectId> = tips
        .iter()
        .filter(|(name, _)| *name != update.refname)
        .map(|(_, id)| *id)
        .chain(old_commit)
        .collect();
    hidden.sort();
    hidden.dedup();
    let first_parent = rule.scope == Scope::FirstParent;
    let mut reviewers = BTreeSet::new();
    for (index, id) in repo.walk(new_commit, &hidden, first_parent)?.enumerate() {
        let id = id?;
        if index % CHECK_EVERY == 0
            && let Some(reason) = (push.interrupt)()
        {
            return Err(RepoError(reason));
        }
        if verdict.checked >= push.config.limits.max_commits {
            reject(
                verdict,
                format!(
                    "the update brings more than {} commits, the limit max_commits; push it in smaller parts or raise [limits] max_commits",
                    push.config.limits.max_commits
                ),
            );
            break;
        }
        let commit = repo.commit(id, push.config.limits.max_message_bytes)?;
        if let Some(old_commit) = fast_forward_check {
            reaches_old |= id == old_commit || commit.parents.contains(&old_commit);
        }
        let judged = judge_commit(push.config, rule, &commit, pusher.as_ref());
        verdict.checked += 1;
        reviewers.extend(judged.reviewers.iter().cloned());
        if !judged.accepted {
            verdict.failed += 1;
        }
        let keep = match push.detail {
            Detail::All => true,
            Detail::Failing => !judged.accepted && verdict.commits.len() < MAX_DETAILED_COMMITS,
        };
        if keep {
            verdict.commits.push(judged);
        }
    }
    verdict.reviewers = reviewers.into_iter().collect();

    // Without a walked child of the old tip (a cut walk, a first-parent
    // scope, or the old tip reached only through a hidden commit), ask git's
    // question directly.
    if let Some(old_commit) = fast_forward_check
        && !reaches_old
        && !repo.is_ancestor(old_commit, new_commit)?
    {
        if verdict.decision == Decision::Accept {
            verdict.decision = Decision::Reject;
        }
        verdict.problems.insert(
            fast_forward_problem_at,
            format!(
                "{} is not a fast-forward of {}: rewriting history is not allowed by rule {:?}",
                short(&new_commit),
                short(&old_commit),
                rule.name
            ),
        );
    }
    if verdict.failed > 0 && verdict.decision == Decision::Accept {
        verdict.decision = Decision::Reject;
    }
    Ok(())
}

/// Resolves an address to a person when the people table lists it.
fn identify(config: &Config, address: Address) -> Who {
    match config.people.by_email(&address) {
        Some(person) => Who::Person(person.id.clone()),
        None => Who::Address(address),
    }
}

fn key_in(key: &str, keys: &[String]) -> bool {
    keys.iter().any(|wanted| wanted.eq_ignore_ascii_case(key))
}

/// Judges one commit: who counts as a reviewer and whether that is enough.
pub fn judge_commit(
    config: &Config,
    rule: &Rule,
    commit: &CommitData,
    pusher: Option<&Who>,
) -> CommitVerdict {
    let (trailers, stray) = trailer::parse_with_stray(&commit.message, &rule.review_trailers);
    let author = identify(config, Address::new(commit.author_email.trim()));
    let coauthors: Vec<Who> = trailers
        .iter()
        .filter(|trailer| key_in(&trailer.key, &rule.coauthor_trailers))
        .filter_map(|trailer| identity::address_of(&trailer.value))
        .map(|address| identify(config, address))
        .collect();

    let mut counted: Vec<Who> = Vec::new();
    let mut not_counted = Vec::new();
    for trailer in trailers
        .iter()
        .filter(|trailer| key_in(&trailer.key, &rule.review_trailers))
    {
        match reviewer_status(
            config,
            rule,
            &trailer.value,
            &author,
            &coauthors,
            pusher,
            &counted,
        ) {
            Ok(who) => counted.push(who),
            Err(reason) => not_counted.push(NotCounted {
                trailer: format!("{}: {}", trailer.key, trailer.value),
                reason,
            }),
        }
    }
    for stray in stray {
        not_counted.push(NotCounted {
            trailer: format!("{}: {}", stray.key, stray.value),
            reason: NotCountedReason::NotInTrailerBlock,
        });
    }

    let mut problems = Vec::new();
    if commit.message_truncated {
        problems.push(format!(
            "the message is longer than {} bytes, the limit max_message_bytes",
            config.limits.max_message_bytes
        ));
    }
    if counted.len() < rule.min_reviewers {
        let names: Vec<String> = counted.iter().map(ToString::to_string).collect();
        problems.push(format!(
            "has {} of {} required reviewers{}",
            counted.len(),
            rule.min_reviewers,
            if names.is_empty() {
                String::new()
            } else {
                format!(" ({})", names.join(", "))
            }
        ));
    }
    let mut reviewers: Vec<String> = counted.iter().map(ToString::to_string).collect();
    reviewers.sort();
    CommitVerdict {
        id: commit.id.to_string(),
        subject: commit.message.lines().next().unwrap_or("").to_owned(),
        accepted: problems.is_empty(),
        reviewers,
        required: rule.min_reviewers,
        not_counted,
        problems,
    }
}

/// Decides whether one reviewer trailer value counts.
fn reviewer_status(
    config: &Config,
    rule: &Rule,
    value: &str,
    author: &Who,
    coauthors: &[Who],
    pusher: Option<&Who>,
    counted: &[Who],
) -> Result<Who, NotCountedReason> {
    let address = identity::address_of(value).ok_or(NotCountedReason::NoAddress)?;
    if let Some(imitated) = config.people.lookalike(&address) {
        return Err(NotCountedReason::Lookalike(imitated.to_owned()));
    }
    // Skeletons are costly and only needed against unlisted addresses, so
    // the common case (everyone is in the people table) computes none.
    let mut skeleton = None;
    let known = counted
        .iter()
        .chain(coauthors)
        .chain(std::iter::once(author));
    for earlier in known {
        if let Who::Address(earlier) = earlier
            && earlier != &address
            && identity::skeleton(earlier.as_str())
                == *skeleton.get_or_insert_with(|| identity::skeleton(address.as_str()))
        {
            return Err(NotCountedReason::Lookalike(earlier.to_string()));
        }
    }
    let who = identify(config, address);
    match &who {
        Who::Address(_) if rule.unknown_reviewers == UnknownReviewers::Ignore => {
            return Err(NotCountedReason::Unknown);
        }
        Who::Person(id) if config.people.get(id).is_some_and(|person| person.bot) => {
            return Err(NotCountedReason::Bot);
        }
        _ => {}
    }
    if let Some(groups) = &rule.reviewer_groups {
        let member = match &who {
            Who::Person(id) => groups.iter().any(|group| config.groups.contains(group, id)),
            Who::Address(_) => false,
        };
        if !member {
            return Err(NotCountedReason::NotInReviewerGroups);
        }
    }
    if &who == author {
        return Err(NotCountedReason::Author);
    }
    if coauthors.contains(&who) {
        return Err(NotCountedReason::CoAuthor);
    }
    if !rule.reviewer_may_be_pusher && pusher == Some(&who) {
        return Err(NotCountedReason::Pusher);
    }
    if counted.contains(&who) {
        return Err(NotCountedReason::Duplicate);
    }
    Ok(who)
}

/// The abbreviated id shown to people.
pub fn short(id: &ObjectId) -> String {
    id.to_hex_with_len(12).to_string()
}

/// Escapes control characters so text from commits never reaches a
/// terminal raw.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control()
            || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
#[path = "policy_rule_tests.rs"]
mod rule_tests;
