//! `foureyes check-config`: validates a configuration file the way the
//! daemon does before it starts, and summarizes a valid one.
//!
//! The checks are exactly [`config::check_permissions`] and [`config::load`],
//! the two calls `foureyesd` makes, so a file that passes here also passes
//! there. Both run even when the first fails, so one run reports every
//! problem. It does not look at repositories or at the socket: `foureyes
//! doctor` does that.

use std::fmt::Write as _;
use std::path::Path;

use crate::config::{self, Config, ConfigError, Diagnostic};

/// Validates the file at `path` and returns the summary of the valid
/// configuration.
///
/// # Errors
///
/// Returns the permission problem (if any) followed by every problem the
/// loader found.
pub fn check(path: &Path) -> Result<String, ConfigError> {
    // A file that cannot be read has one problem, not a permission problem
    // and a load problem.
    if let Err(err) = std::fs::metadata(path) {
        return Err(ConfigError::single(
            path,
            format!("cannot read the file: {err}"),
        ));
    }
    let permissions = config::check_permissions(path);
    let loaded = config::load(path);
    match (permissions, loaded) {
        (Ok(()), Ok(config)) => Ok(summary(&config)),
        (permissions, loaded) => {
            let mut diagnostics: Vec<Diagnostic> = Vec::new();
            if let Err(err) = permissions {
                diagnostics.extend(err.diagnostics);
            }
            if let Err(err) = loaded {
                diagnostics.extend(err.diagnostics);
            }
            Err(ConfigError { diagnostics })
        }
    }
}

/// Counts people, groups and rules, then lists what each rule protects, one
/// line per rule.
pub fn summary(config: &Config) -> String {
    let mut out = format!(
        "{}: {} {}, {} {}, {} {}\n",
        config.path.display(),
        config.people.len(),
        plural(config.people.len(), "person", "people"),
        config.groups.names().count(),
        plural(config.groups.names().count(), "group", "groups"),
        config.rules.len(),
        plural(config.rules.len(), "rule", "rules"),
    );
    for rule in &config.rules {
        let _ = write!(
            out,
            "rule {:?} protects {} in repositories {}: {} {}",
            rule.name,
            rule.ref_patterns.join(", "),
            rule.repo_patterns.join(", "),
            rule.min_reviewers,
            plural(rule.min_reviewers, "reviewer", "reviewers"),
        );
        for quota in &rule.require {
            let _ = write!(out, ", {} from {}", quota.count, quota.group);
        }
        for path_rule in &rule.paths {
            let _ = write!(out, ", more for paths {}", path_rule.patterns.join(", "));
        }
        if rule.mode == config::Mode::Shadow {
            out.push_str(" (shadow mode: failures are only reported)");
        }
        out.push('\n');
    }
    if config.rules.is_empty() {
        out.push_str("no rules, so every push is accepted\n");
    }
    out
}

fn plural(count: usize, one: &'static str, many: &'static str) -> &'static str {
    if count == 1 { one } else { many }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    const VALID: &str = r#"
[[person]]
id = "alice"
emails = ["alice@example.com"]

[[person]]
id = "bob"
emails = ["bob@example.com"]

[groups]
core = ["alice", "bob"]

[[rule]]
name = "mainline"
refs = ["refs/heads/main"]
min_reviewers = 1
require = [{ group = "core", count = 1 }]

[[rule]]
name = "tags"
refs = ["refs/tags/*"]
repos = ["team/*"]
mode = "shadow"
"#;

    fn write_config(text: &str, mode: u32) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().expect("create temp dir");
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod dir");
        let path = dir.path().join("foureyes.toml");
        fs::write(&path, text).expect("write config");
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).expect("chmod config");
        (dir, path)
    }

    #[test]
    fn check_valid_summary() {
        let (_dir, path) = write_config(VALID, 0o644);
        let summary = check(&path).expect("valid config");
        let lines: Vec<&str> = summary.lines().collect();
        assert_eq!(
            lines[0],
            format!("{}: 2 people, 1 group, 2 rules", path.display())
        );
        assert_eq!(
            lines[1],
            "rule \"mainline\" protects refs/heads/main in repositories *: 1 reviewer, 1 from core"
        );
        assert_eq!(
            lines[2],
            "rule \"tags\" protects refs/tags/* in repositories team/*: 1 reviewer \
             (shadow mode: failures are only reported)"
        );
        assert_eq!(lines.len(), 3);
    }

    #[test]
    fn check_reports_permissions_and_errors() {
        let broken = VALID.replace("group = \"core\"", "group = \"nobody\"");
        let (_dir, path) = write_config(&broken, 0o666);
        let err = check(&path).expect_err("broken config");
        assert_eq!(err.diagnostics.len(), 2, "{err}");
        assert!(
            err.diagnostics[0]
                .message
                .contains("writable by group or others"),
            "{err}"
        );
        assert!(err.diagnostics[1].message.contains("nobody"), "{err}");
        assert!(err.diagnostics[1].line > 0, "{err}");
    }

    #[test]
    fn check_missing_file() {
        let dir = tempfile::tempdir().expect("create temp dir");
        let err = check(&dir.path().join("absent.toml")).expect_err("missing file");
        assert!(!err.diagnostics.is_empty());
        assert!(
            err.diagnostics
                .iter()
                .all(|diagnostic| diagnostic.line == 0),
            "{err}"
        );
    }
}
