//! Turns a [`PushVerdict`] into text for the pusher and records for syslog.
//!
//! git shows the text to the pusher as `remote:` lines of `git push`. Everything
//! taken from commits (subjects, trailer values) is escaped so that control
//! characters never reach a terminal.

use std::fmt::Write as _;

use crate::audit::{Record, Severity};
use crate::config::MessageStyle;
use crate::policy::{
    self, BreakGlassOutcome, CommitVerdict, PushVerdict, RefVerdict, RuleVerdict, escape,
};
use crate::protocol::Decision;

/// Renders the message for the pusher.
pub fn render(verdict: &PushVerdict, style: MessageStyle) -> String {
    let mut out = String::new();
    let protected: Vec<&RefVerdict> = verdict.refs.iter().filter(|r| r.is_protected()).collect();
    match verdict.decision {
        Decision::Accept => {}
        Decision::Reject => out.push_str("foureyes: push rejected\n"),
        Decision::Error => out.push_str("foureyes: push rejected: foureyes could not check it\n"),
    }
    let mut hints = Hints::default();
    for reference in &protected {
        for rule in &reference.rules {
            render_rule(&mut out, reference, rule, &mut hints);
        }
    }
    hints.render(&mut out);
    for reference in &protected {
        for rule in reference.rules.iter().filter(|rule| rule.failed > 0) {
            let _ = writeln!(
                out,
                "foureyes: {}: {} of {} checked commits fail (rule {:?})",
                escape(&reference.refname),
                rule.failed,
                rule.checked,
                rule.rule
            );
        }
    }
    styled(out, style)
}

/// Applies the host-specific line format to a message for the pusher.
pub fn styled(text: String, style: MessageStyle) -> String {
    match style {
        MessageStyle::Plain => text,
        MessageStyle::Gitlab => prefix_lines(&text, "GL-HOOK-ERR: "),
    }
}

fn prefix_lines(text: &str, prefix: &str) -> String {
    let mut out = String::with_capacity(text.len() + prefix.len() * 8);
    for line in text.lines() {
        out.push_str(prefix);
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The hints the message ends with.
#[derive(Default)]
struct Hints {
    add_trailers: bool,
    undecided: bool,
}

impl Hints {
    fn render(&self, out: &mut String) {
        if self.add_trailers {
            out.push_str(
                "hint: reviewers are trailers in the last paragraph of each commit message, one per person:\n\
                 hint:   git commit --amend --no-edit --trailer \"Reviewed-by: Name <email>\"   (the newest commit)\n\
                 hint:   git rebase -i <base>, then \"reword\" each commit                   (older commits)\n\
                 hint: a reviewer must be someone other than the author, co-authors and the pusher\n",
            );
        }
        if self.undecided {
            out.push_str(
                "hint: push again; if it keeps failing, ask the server's administrators to check the foureyesd log\n",
            );
        }
    }
}

fn render_rule(out: &mut String, reference: &RefVerdict, rule: &RuleVerdict, hints: &mut Hints) {
    let refname = escape(&reference.refname);
    let shadow = if rule.mode == "shadow" {
        " (shadow mode: not enforced)"
    } else {
        ""
    };
    let outcome = rule.break_glass.as_ref().map(|request| request.outcome);
    match rule.decision {
        Decision::Accept if outcome == Some(BreakGlassOutcome::Used) => {
            render_bypass(out, &refname, rule);
            return;
        }
        Decision::Accept => {
            let _ = writeln!(
                out,
                "foureyes: {refname}: passes rule {:?}{shadow}: {} {} checked, all reviewed",
                rule.rule,
                rule.checked,
                plural(rule.checked, "commit", "commits"),
            );
            if outcome == Some(BreakGlassOutcome::NotNeeded) {
                out.push_str(
                    "  break-glass not needed: the rule accepts this update, so nothing was bypassed\n",
                );
            }
            return;
        }
        Decision::Reject => {
            let verb = if shadow.is_empty() {
                "rejected"
            } else {
                "would be rejected"
            };
            let _ = writeln!(
                out,
                "foureyes: {refname}: {verb} by rule {:?}{shadow}",
                rule.rule
            );
        }
        Decision::Error => {
            let _ = writeln!(
                out,
                "foureyes: {refname}: could not be checked under rule {:?}",
                rule.rule
            );
            hints.undecided = true;
        }
    }
    for problem in &rule.problems {
        let _ = writeln!(out, "  {}", escape(problem));
    }
    for commit in rule.commits.iter().filter(|commit| !commit.accepted) {
        render_commit(out, commit);
        hints.add_trailers = true;
    }
    let shown = rule
        .commits
        .iter()
        .filter(|commit| !commit.accepted)
        .count();
    if rule.failed > shown {
        let _ = writeln!(
            out,
            "  ... and {} more failing commits not shown",
            rule.failed - shown
        );
    }
}

/// Tells the pusher what a break-glass bypass let through.
fn render_bypass(out: &mut String, refname: &str, rule: &RuleVerdict) {
    let reason = rule
        .break_glass
        .as_ref()
        .map_or("", |request| request.reason.as_str());
    let _ = writeln!(
        out,
        "foureyes: {refname}: accepted by break-glass under rule {:?}; the bypass was recorded in the audit log",
        rule.rule
    );
    let _ = writeln!(out, "  reason: {}", escape(reason));
    for problem in &rule.problems {
        let _ = writeln!(out, "  bypassed: {}", escape(problem));
    }
    for commit in rule.commits.iter().filter(|commit| !commit.accepted) {
        render_commit(out, commit);
    }
}

fn render_commit(out: &mut String, commit: &CommitVerdict) {
    let _ = writeln!(
        out,
        "  {} {}",
        &commit.id[..12.min(commit.id.len())],
        escape(&commit.subject)
    );
    for problem in &commit.problems {
        let _ = writeln!(out, "    {}", escape(problem));
    }
    for skipped in &commit.not_counted {
        let _ = writeln!(
            out,
            "    not counted: {}: {}",
            escape(&skipped.trailer),
            skipped.reason.describe()
        );
    }
}

fn plural<'a>(count: usize, one: &'a str, many: &'a str) -> &'a str {
    if count == 1 { one } else { many }
}

/// Builds one audit record per protected ref update.
pub fn audit_records(verdict: &PushVerdict, repo: &str) -> Vec<Record> {
    verdict
        .refs
        .iter()
        .filter(|reference| reference.is_protected())
        .map(|reference| audit_record(verdict, reference, repo))
        .collect()
}

fn audit_record(verdict: &PushVerdict, reference: &RefVerdict, repo: &str) -> Record {
    let bypassed = reference.rules.iter().any(|rule| {
        rule.break_glass
            .as_ref()
            .is_some_and(|request| request.outcome == BreakGlassOutcome::Used)
    });
    let severity = match reference.decision {
        _ if bypassed => Severity::Alert,
        Decision::Accept => Severity::Notice,
        Decision::Reject => Severity::Warning,
        Decision::Error => Severity::Err,
    };
    let join = |values: &mut dyn Iterator<Item = String>| values.collect::<Vec<_>>().join(",");
    let rules = join(&mut reference.rules.iter().map(|rule| rule.rule.clone()));
    let modes = join(&mut reference.rules.iter().map(|rule| rule.mode.to_owned()));
    let checked: usize = reference
        .rules
        .iter()
        .map(|rule| rule.checked)
        .max()
        .unwrap_or(0);
    let failed: usize = reference
        .rules
        .iter()
        .map(|rule| rule.failed)
        .max()
        .unwrap_or(0);
    let mut reviewers: Vec<String> = reference
        .rules
        .iter()
        .flat_map(|rule| rule.reviewers.iter().cloned())
        .collect();
    reviewers.sort();
    reviewers.dedup();
    let would: Vec<String> = reference
        .rules
        .iter()
        .map(|rule| format!("{}={}", rule.rule, rule.decision.as_str()))
        .collect();
    let problems: Vec<String> = reference
        .rules
        .iter()
        .flat_map(|rule| rule.problems.iter().cloned())
        .collect();
    let mut record = Record::new(severity)
        .field("decision", reference.decision.as_str())
        .field("push", verdict.decision.as_str())
        .field("repo", repo)
        .field("ref", &reference.refname)
        .field("old", &reference.old)
        .field("new", &reference.new)
        .field("pusher", verdict.pusher.as_deref().unwrap_or(""))
        .field("rule", rules)
        .field("mode", modes)
        .field("rule_decisions", would.join(","))
        .field("checked", checked)
        .field("failed", failed)
        .field("reviewers", reviewers.join(","))
        .field("problems", problems.join("; "));

    // A shadow rule's own decision does not reject; this field shows what
    // the ref would get if every matching rule were enforced.
    if reference.rules.iter().any(|rule| rule.mode == "shadow") {
        let enforced = policy::combine(reference.rules.iter().map(|rule| rule.decision));
        record = record.field("shadow_decision", enforced.as_str());
    }
    if let Some(request) = reference
        .rules
        .iter()
        .find_map(|rule| rule.break_glass.as_ref())
    {
        let outcomes: Vec<String> = reference
            .rules
            .iter()
            .filter_map(|rule| {
                let request = rule.break_glass.as_ref()?;
                Some(format!("{}={}", rule.rule, request.outcome.as_str()))
            })
            .collect();
        record = record
            .field("break_glass", outcomes.join(","))
            .field("break_glass_reason", &request.reason)
            .field("bypassed", bypassed_checks(reference).join("; "));
    }
    record
}

/// Everything a break-glass bypass let through on one ref: each problem of
/// the bypassed rules, and each failing commit with its problems.
fn bypassed_checks(reference: &RefVerdict) -> Vec<String> {
    let mut checks = Vec::new();
    let used = reference.rules.iter().filter(|rule| {
        rule.break_glass
            .as_ref()
            .is_some_and(|request| request.outcome == BreakGlassOutcome::Used)
    });
    for rule in used {
        for problem in &rule.problems {
            checks.push(format!("{}: {problem}", rule.rule));
        }
        let mut shown = 0;
        for commit in rule.commits.iter().filter(|commit| !commit.accepted) {
            shown += 1;
            checks.push(format!(
                "{}: commit {} {}",
                rule.rule,
                commit.id,
                commit.problems.join(", ")
            ));
        }
        if rule.failed > shown {
            checks.push(format!(
                "{}: {} more failing commits",
                rule.rule,
                rule.failed - shown
            ));
        }
    }
    checks
}
