//! `foureyes explain`: the daemon's decision, computed in-process.
//!
//! It evaluates the same policy on the same code path as the daemon, but
//! keeps the verdict of every checked commit, and prints it as text or JSON.
//! It writes no audit records.
//!
//! Text output is coloured only when asked to or when standard output is a
//! terminal. A walk that takes more than a second shows the elapsed time on
//! standard error, again only on a terminal, so that redirected output stays
//! clean.

use std::cell::Cell;
use std::io::{self, BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::config::{self, Config};
use crate::identity::Pusher;
use crate::policy::{self, BreakGlass, CommitVerdict, Detail, Push, PushVerdict};
use crate::protocol::{Decision, RefUpdate};
use crate::repo::PushRepo;
use crate::server;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// The arguments of `foureyes explain`.
pub struct Options {
    pub config: PathBuf,
    pub repo: PathBuf,
    pub pusher: Option<String>,
    /// Push options, as `git push -o` passes them.
    pub push_options: Vec<String>,
    pub format: Format,
    /// Colour the text output with ANSI escapes.
    pub color: bool,
    /// Print the time each step took to standard error.
    pub verbose: bool,
    /// `OLD NEW REF` triples; empty means read lines from standard input.
    pub updates: Vec<String>,
}

/// Time a check may run before the progress line appears.
const PROGRESS_AFTER: Duration = Duration::from_secs(1);

/// Minimum time between two updates of the progress line.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// Runs explain and returns the exit status (0 accept, 1 reject, 2 error).
pub fn run(options: &Options) -> Result<u8> {
    let started = Instant::now();
    let config = config::load(&options.config).map_err(|err| anyhow::anyhow!("{err}"))?;
    let loaded = Instant::now();
    let updates = if options.updates.is_empty() {
        read_updates(io::stdin().lock())?
    } else {
        parse_triples(&options.updates)?
    };
    let updates = resolve_names(&options.repo, updates)?;

    let progress = Progress::new(io::stderr().is_terminal());
    let interrupt = || {
        progress.tick();
        None
    };
    let verdict = explain_with(
        &config,
        &options.repo,
        options.pusher.as_deref(),
        &options.push_options,
        &updates,
        &interrupt,
    );
    progress.clear();
    let verdict = verdict?;
    let evaluated = Instant::now();

    match options.format {
        Format::Json => {
            let json =
                serde_json::to_string_pretty(&to_json(&verdict)).expect("verdicts serialize");
            println!("{json}");
        }
        Format::Text => print!("{}", render_text(&verdict, options.color)),
    }
    if options.verbose {
        let checked: usize = verdict
            .refs
            .iter()
            .flat_map(|reference| &reference.rules)
            .map(|rule| rule.checked)
            .sum();
        let updates_noun = if updates.len() == 1 {
            "update"
        } else {
            "updates"
        };
        eprintln!(
            "timing: configuration {} ms, evaluation {} ms, output {} ms; {} ref {updates_noun}, \
             {checked} commits checked",
            (loaded - started).as_millis(),
            (evaluated - loaded).as_millis(),
            evaluated.elapsed().as_millis(),
            updates.len(),
        );
    }
    Ok(verdict.decision.exit_code())
}

/// The "checking ..." line on standard error for slow walks. It is drawn
/// from the policy's interrupt callback, which runs every few hundred
/// commits, so it shows the time spent rather than a commit count.
struct Progress {
    enabled: bool,
    started: Instant,
    last_drawn: Cell<Option<Instant>>,
}

impl Progress {
    fn new(enabled: bool) -> Progress {
        Progress {
            enabled,
            started: Instant::now(),
            last_drawn: Cell::new(None),
        }
    }

    fn tick(&self) {
        if !self.enabled {
            return;
        }
        let now = Instant::now();
        let elapsed = now - self.started;
        let due = match self.last_drawn.get() {
            None => elapsed >= PROGRESS_AFTER,
            Some(last) => now - last >= PROGRESS_EVERY,
        };
        if due {
            let mut stderr = io::stderr().lock();
            let _ = write!(
                stderr,
                "\rfoureyes explain: checking commits, {:.1} s",
                elapsed.as_secs_f64()
            );
            let _ = stderr.flush();
            self.last_drawn.set(Some(now));
        }
    }

    /// Erases the progress line when one was drawn.
    fn clear(&self) {
        if self.last_drawn.get().is_some() {
            let mut stderr = io::stderr().lock();
            let _ = write!(stderr, "\r\x1b[K");
            let _ = stderr.flush();
        }
    }
}

/// Evaluates `updates` against the repository at `repo`.
pub fn explain(
    config: &Config,
    repo: &Path,
    pusher: Option<&str>,
    push_options: &[String],
    updates: &[RefUpdate],
) -> Result<PushVerdict> {
    explain_with(config, repo, pusher, push_options, updates, &|| None)
}

/// As [`explain`], calling `interrupt` between commits as the daemon's
/// deadline check would be called.
fn explain_with(
    config: &Config,
    repo: &Path,
    pusher: Option<&str>,
    push_options: &[String],
    updates: &[RefUpdate],
    interrupt: &dyn Fn() -> Option<String>,
) -> Result<PushVerdict> {
    let absolute = std::path::absolute(repo)
        .with_context(|| format!("invalid repository path {}", repo.display()))?;
    let git_dir = git_dir_of(&absolute)?;
    let relative = match server::locate_repository(config, &git_dir) {
        Ok((_, relative)) => relative,
        Err(_) => git_dir.to_string_lossy().trim_start_matches('/').to_owned(),
    };
    let pusher = match pusher {
        Some(name) => Some(Pusher {
            source: "--pusher".into(),
            name: name.to_owned(),
        }),
        None => {
            let env: std::collections::HashMap<String, String> = std::env::vars().collect();
            policy::pusher_from_env(&config.pusher.env, |name| env.get(name).map(String::as_str))
        }
    };
    let push = Push {
        config,
        repo_relative: &relative,
        updates,
        push_options,
        pusher,
        detail: Detail::All,
        interrupt,
    };
    if !policy::needs_repository(config, &relative, updates) {
        return Ok(policy::evaluate(&push, None));
    }
    let repo = PushRepo::open(&git_dir, None).map_err(|err| anyhow::anyhow!("{err}"))?;
    Ok(policy::evaluate(&push, Some(&repo)))
}

/// Accepts a bare repository or a work tree, returning the git directory.
/// Replaces OLD and NEW values that are ref names (`main`, `origin/main`,
/// `refs/tags/v1`) with the object ids they point to, so that explain
/// accepts what a person types. Full hex ids pass unchanged.
fn resolve_names(repo: &Path, updates: Vec<RefUpdate>) -> Result<Vec<RefUpdate>> {
    let is_id = |text: &str| {
        matches!(text.len(), 40 | 64) && text.bytes().all(|byte| byte.is_ascii_hexdigit())
    };
    if updates
        .iter()
        .all(|update| is_id(&update.old) && is_id(&update.new))
    {
        return Ok(updates);
    }
    let git_dir = git_dir_of(&std::path::absolute(repo)?)?;
    let opened = PushRepo::open(&git_dir, None).map_err(|err| anyhow::anyhow!("{err}"))?;
    let resolve = |text: &str| -> Result<String> {
        if is_id(text) {
            return Ok(text.to_owned());
        }
        let candidates = [
            text.to_owned(),
            format!("refs/heads/{text}"),
            format!("refs/tags/{text}"),
            format!("refs/remotes/{text}"),
        ];
        for candidate in candidates
            .iter()
            .filter(|name| name.starts_with("refs/") || *name == "HEAD")
        {
            if let Some(id) = opened
                .ref_value(candidate)
                .map_err(|err| anyhow::anyhow!("{err}"))?
            {
                return Ok(id.to_string());
            }
        }
        bail!(
            "{text:?} is neither a full object id nor a ref of {}; give a commit id or a ref name",
            git_dir.display()
        )
    };
    updates
        .into_iter()
        .map(|update| {
            Ok(RefUpdate {
                old: resolve(&update.old)?,
                new: resolve(&update.new)?,
                refname: update.refname,
            })
        })
        .collect()
}

fn git_dir_of(path: &Path) -> Result<PathBuf> {
    let dot_git = path.join(".git");
    let candidate = if dot_git.is_dir() {
        dot_git
    } else {
        path.to_path_buf()
    };
    if !candidate.join("objects").is_dir() {
        bail!(
            "{} is not a git repository (no objects directory)",
            path.display()
        );
    }
    Ok(candidate.canonicalize().unwrap_or(candidate))
}

fn parse_triples(words: &[String]) -> Result<Vec<RefUpdate>> {
    if !words.len().is_multiple_of(3) {
        bail!("expected OLD NEW REF triples, got {} words", words.len());
    }
    Ok(words
        .chunks(3)
        .map(|chunk| RefUpdate {
            old: chunk[0].clone(),
            new: chunk[1].clone(),
            refname: chunk[2].clone(),
        })
        .collect())
}

fn read_updates(input: impl BufRead) -> Result<Vec<RefUpdate>> {
    let mut updates = Vec::new();
    for (number, line) in input.lines().enumerate() {
        let line = line.context("cannot read updates from standard input")?;
        if line.trim().is_empty() {
            continue;
        }
        let words: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
        if words.len() != 3 {
            bail!(
                "line {} of standard input: expected \"OLD NEW REF\", got {line:?}",
                number + 1
            );
        }
        updates.extend(parse_triples(&words)?);
    }
    Ok(updates)
}

/// One ref and rule pair in the JSON output.
#[derive(Serialize)]
struct JsonRef<'a> {
    #[serde(rename = "ref")]
    refname: &'a str,
    old: &'a str,
    new: &'a str,
    decision: Decision,
    rule: Option<&'a str>,
    mode: Option<&'a str>,
    break_glass: Option<&'a BreakGlass>,
    problems: &'a [String],
    checked: usize,
    failed: usize,
    commits: &'a [CommitVerdict],
}

#[derive(Serialize)]
struct JsonVerdict<'a> {
    decision: Decision,
    pusher: Option<&'a str>,
    refs: Vec<JsonRef<'a>>,
}

/// Flattens the verdict into one entry per ref and matching rule (one entry
/// with `rule: null` for an unprotected ref).
fn to_json(verdict: &PushVerdict) -> JsonVerdict<'_> {
    let mut refs = Vec::new();
    for reference in &verdict.refs {
        if reference.rules.is_empty() {
            refs.push(JsonRef {
                refname: &reference.refname,
                old: &reference.old,
                new: &reference.new,
                decision: reference.decision,
                rule: None,
                mode: None,
                break_glass: None,
                problems: &[],
                checked: 0,
                failed: 0,
                commits: &[],
            });
        }
        for rule in &reference.rules {
            refs.push(JsonRef {
                refname: &reference.refname,
                old: &reference.old,
                new: &reference.new,
                decision: rule.decision,
                rule: Some(&rule.rule),
                mode: Some(rule.mode),
                break_glass: rule.break_glass.as_ref(),
                problems: &rule.problems,
                checked: rule.checked,
                failed: rule.failed,
                commits: &rule.commits,
            });
        }
    }
    JsonVerdict {
        decision: verdict.decision,
        pusher: verdict.pusher.as_deref(),
        refs,
    }
}

/// ANSI colours for the text output; every method returns the text
/// unchanged when colour is off.
struct Palette {
    enabled: bool,
}

impl Palette {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.enabled {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    fn decision(&self, decision: Decision) -> String {
        let code = match decision {
            Decision::Accept => "32",
            Decision::Reject => "31",
            Decision::Error => "33",
        };
        self.paint(code, decision.as_str())
    }

    fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }

    fn dim(&self, text: &str) -> String {
        self.paint("2", text)
    }
}

/// Lists every checked commit with its reviewers, then the summary.
fn render_text(verdict: &PushVerdict, color: bool) -> String {
    use std::fmt::Write as _;
    let palette = Palette { enabled: color };
    let mut out = String::new();
    for reference in &verdict.refs {
        let refname = palette.bold(&policy::escape(&reference.refname));
        if reference.rules.is_empty() {
            let _ = writeln!(
                out,
                "{refname}: {} (no rule matches)",
                palette.decision(Decision::Accept)
            );
        }
        for rule in &reference.rules {
            let mode = if rule.mode == "shadow" {
                "shadow mode, not enforced"
            } else {
                rule.mode
            };
            let _ = writeln!(
                out,
                "{refname}: {} by rule {:?} ({mode}): {} checked, {} failing",
                palette.decision(rule.decision),
                rule.rule,
                rule.checked,
                rule.failed
            );
            if let Some(request) = &rule.break_glass {
                let _ = writeln!(
                    out,
                    "  break-glass {}: reason {:?}",
                    request.outcome.as_str(),
                    policy::escape(&request.reason)
                );
            }
            for problem in &rule.problems {
                let _ = writeln!(out, "  {}", policy::escape(problem));
            }
            for commit in &rule.commits {
                let mark = if commit.accepted {
                    palette.paint("32", "ok  ")
                } else {
                    palette.paint("31", "FAIL")
                };
                let _ = writeln!(
                    out,
                    "  {mark} {} {}",
                    palette.dim(&commit.id[..12.min(commit.id.len())]),
                    policy::escape(&commit.subject)
                );
                if !commit.reviewers.is_empty() {
                    let _ = writeln!(out, "       reviewers: {}", commit.reviewers.join(", "));
                }
                for quota in &commit.quotas {
                    let paths = match &quota.paths {
                        Some(patterns) => format!(" for changes to {}", patterns.join(", ")),
                        None => String::new(),
                    };
                    let _ = writeln!(
                        out,
                        "       quota: {} of {} from group {}{paths} ({})",
                        quota.filled_by.len(),
                        quota.count,
                        quota.group,
                        quota.filled_by.join(", ")
                    );
                }
                for problem in &commit.problems {
                    let _ = writeln!(out, "       {}", policy::escape(problem));
                }
                for skipped in &commit.not_counted {
                    let _ = writeln!(
                        out,
                        "       not counted: {}: {}",
                        policy::escape(&skipped.trailer),
                        skipped.reason.describe()
                    );
                }
            }
        }
    }
    let _ = writeln!(out, "decision: {}", palette.decision(verdict.decision));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::RefVerdict;

    fn unprotected_push() -> PushVerdict {
        PushVerdict {
            decision: Decision::Accept,
            refs: vec![RefVerdict {
                refname: "refs/heads/topic".into(),
                old: "0".repeat(40),
                new: "a".repeat(40),
                decision: Decision::Accept,
                rules: Vec::new(),
            }],
            pusher: None,
        }
    }

    #[test]
    fn text_without_colour() {
        let text = render_text(&unprotected_push(), false);
        assert_eq!(
            text,
            "refs/heads/topic: accept (no rule matches)\ndecision: accept\n"
        );
    }

    #[test]
    fn text_with_colour() {
        let text = render_text(&unprotected_push(), true);
        assert!(text.contains("\x1b[1mrefs/heads/topic\x1b[0m"), "{text:?}");
        assert!(text.contains("decision: \x1b[32maccept\x1b[0m"), "{text:?}");
    }
}
