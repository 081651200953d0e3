//! `foureyesd`: the daemon that judges pushes for the pre-receive hook.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

#[derive(Parser)]
#[command(
    name = "foureyesd",
    version,
    about = "The foureyes daemon: judges pushes sent by the pre-receive hook"
)]
struct Cli {
    /// The configuration file.
    #[arg(long, default_value = "/etc/foureyes/foureyes.toml")]
    config: PathBuf,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    foureyes::daemon::init_logging();
    match foureyes::daemon::run(&cli.config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("foureyesd: {err:#}");
            ExitCode::FAILURE
        }
    }
}
