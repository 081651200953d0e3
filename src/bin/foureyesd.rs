//! `foureyesd`: the daemon that judges pushes for the pre-receive hook.

use std::process::ExitCode;

use clap::Parser;

use foureyes::cli::DaemonCli;

fn main() -> ExitCode {
    let cli = DaemonCli::parse();
    foureyes::daemon::init_logging();
    match foureyes::daemon::run(&cli.config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("foureyesd: {err:#}");
            ExitCode::FAILURE
        }
    }
}
