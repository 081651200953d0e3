//! `foureyes explain`: the daemon's decision, computed in-process.
//!
//! It evaluates the same policy on the same code path as the daemon, but
//! keeps the verdict of every checked commit, and prints it as text or JSON.
//! It writes no audit records.

use std::io::{self, BufRead};
use std::path::{Path, PathBuf};

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
    /// `OLD NEW REF` triples; empty means read lines from standard input.
    pub updates: Vec<String>,
}

/// Runs explain and returns the exit status (0 accept, 1 reject, 2 error).
pub fn run(options: &Options) -> Result<u8> {
    let config = config::load(&options.config).map_err(|err| anyhow::anyhow!("{err}"))?;
    let updates = if options.updates.is_empty() {
        read_updates(io::stdin().lock())?
    } else {
        parse_triples(&options.updates)?
    };
    let verdict = explain(
        &config,
        &options.repo,
        options.pusher.as_deref(),
        &options.push_options,
        &updates,
    )?;
    match options.format {
        Format::Json => {
            let json =
                serde_json::to_string_pretty(&to_json(&verdict)).expect("verdicts serialize");
            println!("{json}");
        }
        Format::Text => print!("{}", render_text(&verdict)),
    }
    Ok(verdict.decision.exit_code())
}

/// Evaluates `updates` against the repository at `repo`.
pub fn explain(
    config: &Config,
    repo: &Path,
    pusher: Option<&str>,
    push_options: &[String],
    updates: &[RefUpdate],
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
    let none = || None;
    let push = Push {
        config,
        repo_relative: &relative,
        updates,
        push_options,
        pusher,
        detail: Detail::All,
        interrupt: &none,
    };
    if !policy::needs_repository(config, &relative, updates) {
        return Ok(policy::evaluate(&push, None));
    }
    let repo = PushRepo::open(&git_dir, None).map_err(|err| anyhow::anyhow!("{err}"))?;
    Ok(policy::evaluate(&push, Some(&repo)))
}

/// Accepts a bare repository or a work tree, returning the git directory.
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

/// Lists every checked commit with its reviewers, then the summary.
fn render_text(verdict: &PushVerdict) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for reference in &verdict.refs {
        if reference.rules.is_empty() {
            let _ = writeln!(
                out,
                "{}: accept (no rule matches)",
                policy::escape(&reference.refname)
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
                "{}: {} by rule {:?} ({mode}): {} checked, {} failing",
                policy::escape(&reference.refname),
                rule.decision.as_str(),
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
                let mark = if commit.accepted { "ok  " } else { "FAIL" };
                let _ = writeln!(
                    out,
                    "  {mark} {} {}",
                    &commit.id[..12.min(commit.id.len())],
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
    let _ = writeln!(out, "decision: {}", verdict.decision.as_str());
    out
}
