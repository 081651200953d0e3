//! `foureyes`: the pre-receive hook client and the tools around the daemon.

use std::io::{self, IsTerminal};
use std::process::ExitCode;

use clap::Parser;

use foureyes::cli::{Cli, Color, Command};
use foureyes::{check, doctor, explain, generate, install};

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
            color,
            verbose,
            updates,
        } => {
            let color = match color {
                Color::Always => true,
                Color::Never => false,
                Color::Auto => io::stdout().is_terminal(),
            };
            let options = explain::Options {
                config,
                repo,
                pusher,
                push_options,
                format,
                color,
                verbose,
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
        Command::CheckConfig { path } => match check::check(&path) {
            Ok(summary) => {
                print!("{summary}");
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("{err}");
                eprintln!(
                    "foureyes check-config: {} found; foureyesd does not start with this file",
                    problems(err.diagnostics.len())
                );
                ExitCode::FAILURE
            }
        },
        Command::InstallHook {
            layout,
            force,
            socket,
            binary,
            repos,
        } => run_install(layout, force, socket, binary, &repos),
        Command::Doctor {
            config,
            layout,
            repos,
        } => {
            let options = doctor::Options {
                config,
                layout,
                repos,
            };
            match doctor::run(&options, &mut io::stdout().lock()) {
                Ok(true) => ExitCode::SUCCESS,
                Ok(false) => ExitCode::FAILURE,
                Err(err) => {
                    eprintln!("foureyes doctor: cannot write the report: {err}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Generate { kind, dir } => match generate::run(kind, &dir) {
            Ok(paths) => {
                for path in paths {
                    println!("{}", path.display());
                }
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("foureyes generate: {err:#}");
                ExitCode::FAILURE
            }
        },
    }
}

fn problems(count: usize) -> String {
    if count == 1 {
        "1 problem".into()
    } else {
        format!("{count} problems")
    }
}

/// Installs into every repository, reporting each, and fails when any
/// failed.
fn run_install(
    layout: install::Layout,
    force: bool,
    socket: std::path::PathBuf,
    binary: Option<std::path::PathBuf>,
    repos: &[std::path::PathBuf],
) -> ExitCode {
    let binary = match binary.map_or_else(std::env::current_exe, std::path::absolute) {
        Ok(binary) => binary,
        Err(err) => {
            eprintln!(
                "foureyes install-hook: cannot find the path of the foureyes binary: {err}; \
                 pass it with --binary"
            );
            return ExitCode::FAILURE;
        }
    };
    let options = install::Options {
        layout,
        force,
        binary,
        socket,
    };
    let mut failed = false;
    for repo in repos {
        match install::install(repo, &options) {
            Ok(installed) => {
                let action = match installed.outcome {
                    install::Outcome::Created => "installed",
                    install::Outcome::Replaced => "replaced",
                    install::Outcome::Unchanged => "already installed",
                };
                println!(
                    "{}: {action} {} ({} layout); receive.advertisePushOptions=true",
                    installed.git_dir.display(),
                    installed.hook.display(),
                    installed.layout.name()
                );
                if let Some((hooks_dir, origin)) = installed.shadowed_by {
                    eprintln!(
                        "foureyes install-hook: {}: core.hooksPath is set ({origin}), so git runs \
                         hooks from {} and not this hook; unset core.hooksPath, or copy the hook \
                         into that directory",
                        installed.git_dir.display(),
                        hooks_dir.display()
                    );
                    failed = true;
                }
            }
            Err(err) => {
                eprintln!("foureyes install-hook: {}: {err:#}", repo.display());
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
