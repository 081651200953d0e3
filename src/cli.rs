//! The command-line definitions of `foureyes` and `foureyesd`.
//!
//! They live in the library so that `foureyes generate` can render man pages
//! and shell completions for both programs from the same definitions the
//! binaries parse with.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::explain::Format;
use crate::hook::DEFAULT_SOCKET;
use crate::install::Layout;

/// The `foureyes` client and ops tool.
#[derive(Parser)]
#[command(
    name = "foureyes",
    version,
    about = "Four-eyes review checks for pushes to protected Git refs"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run as a git hook (what the installed pre-receive hook execs).
    Hook {
        #[arg(value_parser = ["pre-receive"])]
        hook: String,
    },
    /// Evaluate the policy in-process for OLD NEW REF updates, without a daemon.
    Explain {
        /// The foureyes configuration file.
        #[arg(long)]
        config: PathBuf,
        /// The repository (bare, or a work tree with .git).
        #[arg(long)]
        repo: PathBuf,
        /// The pusher's username; default: the first non-empty [pusher] env variable.
        #[arg(long)]
        pusher: Option<String>,
        /// A push option, as given to `git push -o`, such as
        /// foureyes.break-glass="INC-123: reason"; repeat for several.
        #[arg(long = "push-option", short = 'o', value_name = "OPTION")]
        push_options: Vec<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// When to colour the text output.
        #[arg(long, value_enum, default_value_t = Color::Auto)]
        color: Color,
        /// Print the time each step took to standard error.
        #[arg(long, short)]
        verbose: bool,
        /// OLD NEW REF triples; without them, "OLD NEW REF" lines are read from standard input.
        updates: Vec<String>,
    },
    /// Show a rejected and an accepted push on a temporary repository.
    Demo,
    /// Validate a configuration file as foureyesd does before it starts.
    ///
    /// Prints every problem with its position, the source line and a caret,
    /// and exits 1; prints a summary and exits 0 when the file is valid.
    CheckConfig {
        /// The configuration file.
        path: PathBuf,
    },
    /// Install the pre-receive hook into repositories.
    ///
    /// Writes a hook that execs this foureyes binary and sets
    /// receive.advertisePushOptions=true. A different existing hook is left
    /// unchanged unless --force is given. Running it again is harmless.
    InstallHook {
        /// The hook layout of the host: plain (hooks/pre-receive), gitea
        /// (hooks/pre-receive.d/foureyes, also Forgejo), gitlab
        /// (custom_hooks/pre-receive.d/foureyes), or auto to detect it.
        #[arg(long, value_enum, default_value_t = Layout::Auto)]
        layout: Layout,
        /// Replace an existing hook that is not a foureyes hook.
        #[arg(long)]
        force: bool,
        /// The daemon's socket, written into the hook as the default of FOUREYES_SOCKET.
        #[arg(long, default_value = DEFAULT_SOCKET)]
        socket: PathBuf,
        /// The foureyes binary the hook runs; default: this binary.
        #[arg(long)]
        binary: Option<PathBuf>,
        /// Repositories (bare, or work trees with .git).
        #[arg(required = true)]
        repos: Vec<PathBuf>,
    },
    /// Check that the hook really runs and the daemon responds.
    ///
    /// Prints one line per check, "ok: ..." or "problem: ...; fix: ...", and
    /// exits 1 when any check finds a problem.
    Doctor {
        /// The configuration file; enables the configuration, socket and rule checks.
        #[arg(long)]
        config: Option<PathBuf>,
        /// The hook layout to check; see install-hook.
        #[arg(long, value_enum, default_value_t = Layout::Auto)]
        layout: Layout,
        /// Repositories (bare, or work trees with .git).
        repos: Vec<PathBuf>,
    },
    /// Write man pages or shell completions into a directory.
    #[command(hide = true)]
    Generate {
        #[arg(value_enum)]
        kind: Generated,
        /// The output directory; created when missing.
        dir: PathBuf,
    },
}

/// When `foureyes explain` colours its text output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Color {
    /// Only when standard output is a terminal.
    Auto,
    Always,
    Never,
}

/// The files `foureyes generate` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Generated {
    /// foureyes.1, one page per subcommand, and foureyesd.8.
    Man,
    /// Completions for bash, zsh and fish, for both programs.
    Completions,
}

/// The `foureyesd` daemon.
#[derive(Parser)]
#[command(
    name = "foureyesd",
    version,
    about = "The foureyes daemon: judges pushes sent by the pre-receive hook"
)]
pub struct DaemonCli {
    /// The configuration file.
    #[arg(long, default_value = "/etc/foureyes/foureyes.toml")]
    pub config: PathBuf,
}
