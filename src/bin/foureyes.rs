//! `foureyes`: the pre-receive hook client and the tools around the daemon.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use foureyes::explain::{self, Format};

#[derive(Parser)]
#[command(
    name = "foureyes",
    version,
    about = "Four-eyes review checks for pushes to protected Git refs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run as a git hook (what hooks/pre-receive execs).
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
        /// OLD NEW REF triples; without them, "OLD NEW REF" lines are read from standard input.
        updates: Vec<String>,
    },
    /// Show a rejected and an accepted push on a temporary repository.
    Demo,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Hook { .. } => ExitCode::from(foureyes::hook::run()),
        Command::Explain {
            config,
            repo,
            pusher,
            push_options,
            format,
            updates,
        } => {
            let options = explain::Options {
                config,
                repo,
                pusher,
                push_options,
                format,
                updates,
            };
            match explain::run(&options) {
                Ok(code) => ExitCode::from(code),
                Err(err) => {
                    eprintln!("foureyes explain: {err:#}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Demo => match foureyes::demo::run() {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("foureyes demo: {err:#}");
                ExitCode::FAILURE
            }
        },
    }
}
