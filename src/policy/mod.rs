//! The reviewer rule: decides each ref update of a push.
//!
//! [`judge_commit`] is pure: given a decoded commit, a rule and the people
//! table it returns who counted as a reviewer and why every other reviewer
//! trailer did not. [`evaluate`] applies the rules to the ref updates of a
//! push, reading the repository through [`PushRepo`], and returns a
//! [`PushVerdict`] that other code renders, logs and acts on.
//!
//! Per ref update, the checks that need the repository or the whole push
//! live here too: `pusher_groups`, deletion and force push, the target of
//! `target_reachable_from`, the changed paths that select `[[rule.paths]]`
//! quotas, and the `foureyes.break-glass` push option, which is applied
//! last to the rule's verdict.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashSet};
use std::fmt::{self, Write as _};
use std::ops::ControlFlow;

use gix::ObjectId;
use serde::Serialize;

use crate::config::{Config, Mode, Quota, Rule, Scope, UnknownReviewers};
use crate::identity::{self, Address, Pusher};
use crate::protocol::{Decision, RefUpdate};
use crate::repo::{CommitData, Peeled, PushRepo, RepoError};
use crate::{quota, trailer};

mod commit;

pub use commit::judge_commit;

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

/// The reason a reviewer trailer did not count.
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

/// One quota as applied to a commit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QuotaVerdict {
    pub group: String,
    pub count: usize,
    /// The patterns of the `[[rule.paths]]` entry the quota comes from, or
    /// `None` for the rule's own `require`.
    pub paths: Option<Vec<String>>,
    /// The people assigned to its slots; each person fills one slot of all
    /// the quotas together.
    pub filled_by: Vec<String>,
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
    /// Quotas of the rule and of the paths entries that apply, in that
    /// order, with the people assigned to their slots.
    pub quotas: Vec<QuotaVerdict>,
    pub not_counted: Vec<NotCounted>,
    /// The reasons the commit fails, one sentence each; empty when accepted.
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
    /// Set when the push requested a break-glass bypass.
    pub break_glass: Option<BreakGlass>,
}

/// A break-glass request as applied to one rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BreakGlass {
    /// The reason given with the push option, trimmed; may be empty.
    pub reason: String,
    pub outcome: BreakGlassOutcome,
}

/// The outcome of a break-glass request under one rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BreakGlassOutcome {
    /// The rule rejected the update and the bypass accepted it. The rule
    /// verdict keeps the problems and failing commits that were bypassed.
    Used,
    /// The rule accepts the update anyway, so nothing was bypassed.
    NotNeeded,
    /// The request was invalid (empty reason, pusher not allowed) or the
    /// update could not be checked; the update is not accepted.
    Rejected,
}

impl BreakGlassOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            BreakGlassOutcome::Used => "used",
            BreakGlassOutcome::NotNeeded => "not-needed",
            BreakGlassOutcome::Rejected => "rejected",
        }
    }
}

/// The push option that requests a break-glass bypass, as in
/// `git push -o foureyes.break-glass="INC-123: reason"`.
pub const BREAK_GLASS_OPTION: &str = "foureyes.break-glass";

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
    /// Returns whether any rule matched, i.e. whether the update is protected.
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

/// The state one rule keeps while judging the updates of a push.
struct RuleScratch {
    index: usize,
    tips: RefTips,
    /// Every pre-push tip, sorted: the hidden set of an update whose ref
    /// still points to its old id, which is every update the daemon receives.
    all_tips: Vec<ObjectId>,
    /// Commits already judged under this rule in this push (every-commit
    /// scope only). A commit's verdict does not depend on the update that
    /// brings it, so a mirror push of many refs into one history judges each
    /// commit once, under the first update that brings it.
    judged: HashSet<ObjectId>,
    /// Whether any commit judged so far failed. From then on walks do not
    /// stop at judged commits, so that every update's own verdict and record
    /// name the failing commits it brings in.
    any_failed: bool,
}

/// The commit verdicts a caller keeps.
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
    /// The `git push -o` values, in order.
    pub push_options: &'a [String],
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
/// when [`needs_repository`] returns true.
pub fn evaluate(push: &Push<'_>, repo: Option<&PushRepo>) -> PushVerdict {
    let mut refs = Vec::with_capacity(push.updates.len());
    let mut scratch: Vec<RuleScratch> = Vec::new();
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
                    let position = match scratch.iter().position(|entry| entry.index == index) {
                        Some(position) => position,
                        None => {
                            let tips = repo.ref_tips(|name| rule.matches_ref(name));
                            let mut all_tips: Vec<ObjectId> = match &tips {
                                Ok(tips) => tips.iter().map(|(_, id)| *id).collect(),
                                Err(_) => Vec::new(),
                            };
                            all_tips.sort();
                            all_tips.dedup();
                            scratch.push(RuleScratch {
                                index,
                                tips,
                                all_tips,
                                judged: HashSet::new(),
                                any_failed: false,
                            });
                            scratch.len() - 1
                        }
                    };
                    judge_update(push, repo, rule, update, &mut scratch[position])
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

/// Returns an undecided verdict for every update that matched a rule, for
/// when the repository cannot be read at all.
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

/// Returns the decision a rule verdict contributes to its ref: shadow rules
/// never reject.
fn effective_decision(verdict: &RuleVerdict) -> Decision {
    if verdict.mode == "shadow" {
        Decision::Accept
    } else {
        verdict.decision
    }
}

/// Combines decisions: undecided dominates rejected, which dominates
/// accepted.
pub fn combine(decisions: impl Iterator<Item = Decision>) -> Decision {
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
        break_glass: None,
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
    scratch: &mut RuleScratch,
) -> RuleVerdict {
    let mut verdict = new_verdict(rule);
    match judge_update_inner(push, repo, rule, update, scratch, &mut verdict) {
        Ok(()) => {}
        Err(err) => {
            verdict.decision = Decision::Error;
            verdict.problems.push(err.to_string());
        }
    }
    if let Some(reason) = break_glass_reason(push.push_options) {
        apply_break_glass(push, rule, reason, &mut verdict);
    }
    verdict
}

/// Returns the break-glass reason when any push option requests a bypass:
/// `foureyes.break-glass=REASON`, or the bare name for an empty reason. The
/// reasons of several such options are joined with "; ".
pub fn break_glass_reason(options: &[String]) -> Option<String> {
    let mut requested = false;
    let mut reasons = Vec::new();
    for option in options {
        let value = match option.split_once('=') {
            Some((name, value)) if name == BREAK_GLASS_OPTION => value,
            None if option == BREAK_GLASS_OPTION => "",
            _ => continue,
        };
        requested = true;
        if !value.trim().is_empty() {
            reasons.push(value.trim());
        }
    }
    requested.then(|| reasons.join("; "))
}

/// Lets an allowed pusher with a reason through what `rule` rejected, and
/// rejects the update for any other break-glass request. A check that could
/// not run is never bypassed, because what it would have found is unknown.
fn apply_break_glass(push: &Push<'_>, rule: &Rule, reason: String, verdict: &mut RuleVerdict) {
    let refused = if reason.is_empty() {
        Some(format!(
            "break-glass rejected: the reason is empty; give one, as in git push -o \
             {BREAK_GLASS_OPTION}=\"INC-123: what happened\""
        ))
    } else if rule.break_glass_groups.is_empty() {
        Some(format!(
            "break-glass rejected: rule {:?} has no break_glass_groups, so nobody may bypass it",
            rule.name
        ))
    } else {
        match resolve_pusher(push) {
            Err(problem) => Some(format!("break-glass rejected: {}", problem.subject)),
            Ok(Who::Person(id)) if in_any_group(push.config, &rule.break_glass_groups, &id) => None,
            Ok(who) => Some(format!(
                "break-glass rejected: pusher {} is not in break_glass_groups of rule {:?} ({})",
                escape(&who.to_string()),
                rule.name,
                rule.break_glass_groups.join(", ")
            )),
        }
    };

    let outcome = match (refused, verdict.decision) {
        (Some(problem), _) => {
            reject(verdict, problem);
            BreakGlassOutcome::Rejected
        }
        (None, Decision::Accept) => BreakGlassOutcome::NotNeeded,
        (None, Decision::Reject) => {
            verdict.decision = Decision::Accept;
            BreakGlassOutcome::Used
        }
        (None, Decision::Error) => {
            verdict.problems.push(
                "break-glass rejected: the update could not be checked, and break-glass only \
                 bypasses checks that ran"
                    .to_owned(),
            );
            BreakGlassOutcome::Rejected
        }
    };
    verdict.break_glass = Some(BreakGlass { reason, outcome });
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
    scratch: &mut RuleScratch,
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

    let pusher = resolve_pusher(push);
    let mut pusher_reported = false;
    if let Some(groups) = &rule.pusher_groups {
        match &pusher {
            Ok(Who::Person(id)) if in_any_group(push.config, groups, id) => {}
            Ok(who) => reject(
                verdict,
                format!(
                    "pusher {} is not in pusher_groups of rule {:?} ({}); ask a member to push",
                    escape(&who.to_string()),
                    rule.name,
                    groups.join(", ")
                ),
            ),
            Err(problem) => {
                reject(verdict, problem.for_rule(rule));
                pusher_reported = true;
            }
        }
    }

    if is_zero_id(&update.new) {
        repo.parse_id(&update.new)?;
        if !rule.allow_delete {
            reject(
                verdict,
                format!(
                    "deleting {} is not allowed by rule {:?}; ask the repository's administrators if it must go",
                    update.refname, rule.name
                ),
            );
        }
        return Ok(());
    }
    let new = repo.parse_id(&update.new)?;

    // The pusher: needed to exclude them as a reviewer and as an author.
    let pusher = match (pusher, rule.needs_pusher()) {
        (_, false) => None,
        (Ok(who), true) => Some(who),
        (Err(problem), true) => {
            if !pusher_reported {
                reject(verdict, problem.for_rule(rule));
            }
            return Ok(());
        }
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
    check_reachable(push, repo, rule, new_commit, verdict)?;
    let reaches_old = judge_range(
        push,
        repo,
        rule,
        update,
        scratch,
        pusher.as_ref(),
        (old_commit, new_commit),
        fast_forward_check,
        verdict,
    )?;

    // Every path through judge_range ends here. Without a walked child of
    // the old tip (no walk, a cut walk, a first-parent scope, or the old tip
    // reached only through a hidden or already judged commit), ask git's
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
                "{} is not a fast-forward of {}: rewriting history is not allowed by rule {:?}; \
                 fetch, rebase your commits onto the server's branch and push without --force",
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

/// Walks and judges the commits that `new_commit` brings in under `rule`.
/// Returns whether the walk proved that `fast_forward_check`, the old tip,
/// is an ancestor of the new one; `false` means "not proved", not "no".
#[allow(clippy::too_many_arguments)]
fn judge_range(
    push: &Push<'_>,
    repo: &PushRepo,
    rule: &Rule,
    update: &RefUpdate,
    scratch: &mut RuleScratch,
    pusher: Option<&Who>,
    (old_commit, new_commit): (Option<ObjectId>, ObjectId),
    fast_forward_check: Option<ObjectId>,
    verdict: &mut RuleVerdict,
) -> Result<bool, RepoError> {
    if !checks_commits(rule) {
        return Ok(false);
    }
    let hidden = hidden_tips(scratch, update, old_commit)?;
    let first_parent = rule.scope == Scope::FirstParent;
    let share = !first_parent && !scratch.any_failed;
    if share && scratch.judged.contains(&new_commit) {
        return Ok(false);
    }
    let mut reaches_old = false;
    let mut reviewers = BTreeSet::new();
    let mut newly_judged = Vec::new();
    let no_skip = HashSet::new();
    // First-parent verdicts depend on the chain walked, and after a failure
    // each update must find its own failing commits, so neither shares.
    let done = if share { &scratch.judged } else { &no_skip };
    for (index, id) in repo
        .walk(new_commit, &hidden, first_parent, done)?
        .enumerate()
    {
        let id = id?;
        newly_judged.push(id);
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
        let matched_paths = changed_path_rules(repo, rule, &commit)?;
        let judged = judge_commit(push.config, rule, &commit, pusher, &matched_paths);
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
    if share {
        scratch.judged.extend(newly_judged);
    }
    if verdict.failed > 0 {
        scratch.any_failed = true;
    }
    verdict.reviewers = reviewers.into_iter().collect();
    Ok(reaches_old)
}

/// Returns the pre-push tips that hide what the update's range excludes.
///
/// The updated ref's own pre-push tip is the update's old id, not the ref's
/// current value: git applies the update only while the ref still points to
/// old, and explain may run on refs that already point to new.
fn hidden_tips<'s>(
    scratch: &'s RuleScratch,
    update: &RefUpdate,
    old_commit: Option<ObjectId>,
) -> Result<Cow<'s, [ObjectId]>, RepoError> {
    let tips = match &scratch.tips {
        Ok(tips) => tips,
        Err(err) => return Err(RepoError(err.0.clone())),
    };
    let current = tips
        .iter()
        .find(|(name, _)| *name == update.refname)
        .map(|(_, id)| *id);
    if current == old_commit {
        return Ok(Cow::Borrowed(&scratch.all_tips));
    }
    let mut ids: Vec<ObjectId> = tips
        .iter()
        .filter(|(name, _)| *name != update.refname)
        .map(|(_, id)| *id)
        .chain(old_commit)
        .collect();
    ids.sort();
    ids.dedup();
    Ok(Cow::Owned(ids))
}

/// Returns whether any commit could fail the rule. When none could, the walk is
/// skipped: a rule with `min_reviewers = 0` and no quotas on a tag pattern
/// would otherwise walk the whole history for the first matching tag.
fn checks_commits(rule: &Rule) -> bool {
    rule.min_reviewers > 0
        || !rule.require.is_empty()
        || !rule.paths.is_empty()
        || !rule.pusher_may_be_author
}

/// Identifies the pusher as a person of the people table, or returns why
/// that is not possible.
fn resolve_pusher(push: &Push<'_>) -> Result<Who, PusherProblem> {
    let Some(pusher) = &push.pusher else {
        let names = &push.config.pusher.env;
        let subject = match names.as_slice() {
            [one] => format!("cannot tell who is pushing: {one} is not set"),
            _ => format!(
                "cannot tell who is pushing: none of {} is set",
                names.join(", ")
            ),
        };
        return Err(PusherProblem {
            subject,
            fix: "push through the Git host (ssh or https), which names the pusher".to_owned(),
        });
    };
    match push.config.people.by_username(&pusher.name) {
        Some(person) => Ok(Who::Person(person.id.clone())),
        None => Err(PusherProblem {
            subject: format!(
                "pusher {} (from {}) is not in the people table",
                escape(&pusher.name),
                pusher.source
            ),
            fix: format!(
                "ask the foureyes administrators to add {} to the usernames of your [[person]] entry",
                escape(&pusher.name)
            ),
        }),
    }
}

/// The reason the pusher could not be identified, and the pusher's fix.
struct PusherProblem {
    subject: String,
    fix: String,
}

impl PusherProblem {
    fn for_rule(&self, rule: &Rule) -> String {
        format!(
            "{}, and rule {:?} must know the pusher; {}",
            self.subject, rule.name, self.fix
        )
    }
}

fn in_any_group(config: &Config, groups: &[String], person_id: &str) -> bool {
    groups
        .iter()
        .any(|group| config.groups.contains(group, person_id))
}

/// Indexes of the `[[rule.paths]]` entries whose patterns match a path that
/// `commit` changes against its first parent. Reads trees only when the rule
/// has paths entries, and stops once every entry matched.
fn changed_path_rules(
    repo: &PushRepo,
    rule: &Rule,
    commit: &CommitData,
) -> Result<Vec<usize>, RepoError> {
    let mut matched = Vec::new();
    if rule.paths.is_empty() {
        return Ok(matched);
    }
    repo.for_each_changed_path(commit, &mut |path| {
        for (index, entry) in rule.paths.iter().enumerate() {
            if !matched.contains(&index) && entry.matches(path) {
                matched.push(index);
            }
        }
        if matched.len() == rule.paths.len() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })?;
    matched.sort_unstable();
    Ok(matched)
}

/// Indexes of the `[[rule.paths]]` entries whose patterns match any of
/// `paths`, in order.
pub fn matching_path_rules<'p>(
    rule: &Rule,
    paths: impl IntoIterator<Item = &'p str>,
) -> Vec<usize> {
    let paths: Vec<&str> = paths.into_iter().collect();
    (0..rule.paths.len())
        .filter(|&index| paths.iter().any(|path| rule.paths[index].matches(path)))
        .collect()
}

/// Rejects a target that is not reachable from any ref of
/// `target_reachable_from`, as the ref is before the push or as another
/// update of the same push sets it.
///
/// NOTE: git applies the updates only after pre-receive accepts, and may still
/// refuse one of them (for example a non-fast-forward under
/// `receive.denyNonFastForwards`) while applying the others. A target that is
/// reachable only through such a refused update then ends up unreachable.
fn check_reachable(
    push: &Push<'_>,
    repo: &PushRepo,
    rule: &Rule,
    target: ObjectId,
    verdict: &mut RuleVerdict,
) -> Result<(), RepoError> {
    if rule.target_reachable_from.is_empty() {
        return Ok(());
    }
    for refname in &rule.target_reachable_from {
        let mut tips = Vec::new();
        if let Some(current) = repo.ref_value(refname)? {
            tips.push(current);
        }
        for other in push
            .updates
            .iter()
            .filter(|other| &other.refname == refname)
        {
            if !is_zero_id(&other.new) {
                tips.push(repo.parse_id(&other.new)?);
            }
        }
        for tip in tips {
            if let Peeled::Commit(tip) = repo.peel(tip)?
                && repo.is_ancestor(target, tip)?
            {
                return Ok(());
            }
        }
    }
    reject(
        verdict,
        format!(
            "{} is not reachable from {} (as it is before this push or as this push sets it), \
             and rule {:?} requires that; point the ref at a commit on {}",
            short(&target),
            rule.target_reachable_from.join(" or "),
            rule.name,
            rule.target_reachable_from.join(" or "),
        ),
    );
    Ok(())
}

/// Returns the abbreviated id shown to people.
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
mod rule_tests;

#[cfg(test)]
mod org_tests;
