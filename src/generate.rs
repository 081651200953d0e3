//! `foureyes generate`: man pages and shell completions, rendered from the
//! command-line definitions in [`crate::cli`].
//!
//! It is a hidden subcommand rather than a build script or an xtask, so that
//! a binary installed with `cargo install` can write its own pages:
//! `foureyes generate man /usr/local/share/man/man1`.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::{Cli, DaemonCli, Generated};

/// Writes the requested files into `dir` and returns their paths.
pub fn run(kind: Generated, dir: &Path) -> Result<Vec<PathBuf>> {
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    match kind {
        Generated::Man => man_pages(dir),
        Generated::Completions => completions(dir),
    }
}

/// Writes `foureyes.1`, `foureyes-<subcommand>.1` for every visible
/// subcommand, and `foureyesd.8` (section 8: system administration).
fn man_pages(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    let mut client = Cli::command().disable_help_subcommand(true);
    client.build();
    let pages = std::iter::once(client.clone()).chain(
        client
            .get_subcommands()
            .filter(|subcommand| !subcommand.is_hide_set())
            .cloned(),
    );
    for page in pages {
        let man = clap_mangen::Man::new(page);
        let path = man
            .generate_to(dir)
            .with_context(|| format!("cannot write a man page into {}", dir.display()))?;
        written.push(path);
    }

    let daemon = clap_mangen::Man::new(DaemonCli::command()).section("8");
    let path = daemon
        .generate_to(dir)
        .with_context(|| format!("cannot write a man page into {}", dir.display()))?;
    written.push(path);
    Ok(written)
}

/// Writes completion scripts for bash, zsh and fish, for both programs.
fn completions(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        for mut command in [Cli::command(), DaemonCli::command()] {
            let name = command.get_name().to_owned();
            let path =
                clap_complete::generate_to(shell, &mut command, name, dir).with_context(|| {
                    format!("cannot write {shell} completions into {}", dir.display())
                })?;
            written.push(path);
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generate_man_pages() {
        let dir = tempfile::tempdir().expect("create temp dir");
        run(Generated::Man, dir.path()).expect("generate man pages");
        for name in [
            "foureyes.1",
            "foureyes-check-config.1",
            "foureyes-install-hook.1",
            "foureyes-doctor.1",
            "foureyes-explain.1",
            "foureyesd.8",
        ] {
            assert!(dir.path().join(name).is_file(), "{name} missing");
        }
        assert!(!dir.path().join("foureyes-generate.1").exists());
        let daemon = fs::read_to_string(dir.path().join("foureyesd.8")).unwrap();
        assert!(daemon.contains("\\-\\-config"), "{daemon}");
    }

    #[test]
    fn generate_completions() {
        let dir = tempfile::tempdir().expect("create temp dir");
        run(Generated::Completions, dir.path()).expect("generate completions");
        for name in [
            "foureyes.bash",
            "_foureyes",
            "foureyes.fish",
            "foureyesd.bash",
        ] {
            assert!(dir.path().join(name).is_file(), "{name} missing");
        }
        let bash = fs::read_to_string(dir.path().join("foureyes.bash")).unwrap();
        assert!(bash.contains("install-hook"));
    }
}
