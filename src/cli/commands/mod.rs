//! Command handlers: one file per subcommand, each turning parsed arguments
//! into work and an exit code. `serve` and the hidden child-cell command are
//! handled by their own modules ([`crate::server`], [`crate::cell`]).

mod claims;
mod list;
mod report;
mod run;
mod sweep;

use super::args::{Cli, Command};
use crate::error::UsageError;
use crate::measure;

/// The exact command line of this process.
pub fn invocation() -> String {
    std::env::args().collect::<Vec<_>>().join(" ")
}

fn workers_or_cores(workers: Option<u64>) -> usize {
    workers.map_or_else(measure::cores, |w| w as usize)
}

/// Runs a parsed command; returns the process exit code.
pub fn dispatch(cli: Cli) -> anyhow::Result<i32> {
    // Every socket costs a descriptor: allow as many as the hard limit does.
    crate::descriptors::raise_nofile_limit();
    match cli.command {
        Command::List { json } => list::list(json),
        Command::Run(args) => run::run(args),
        Command::Sweep(args) => sweep::sweep(args),
        Command::Report(args) => report::report(args),
        Command::Claims(args) => claims::claims(args),
        Command::Doctor { json } => {
            let examination = crate::doctor::examine(crate::doctor::SAMPLE);
            if json {
                println!("{}", serde_json::to_string_pretty(&examination)?);
            } else {
                println!("{}", examination.text());
            }
            Ok(0)
        }
        Command::Serve(args) => crate::server::serve_main(args),
        Command::Cell { spec } => Ok(crate::cell::child_main(&spec)),
    }
}

/// Fails early, as a usage error, when results could not be written to `dir`.
pub fn check_writable(dir: &std::path::Path) -> anyhow::Result<()> {
    let probe = dir.join(".write-test");
    let outcome = std::fs::create_dir_all(dir).and_then(|_| std::fs::write(&probe, b""));
    let _ = std::fs::remove_file(&probe);
    outcome.map_err(|error| {
        UsageError(format!(
            "error: cannot write to the output directory {}: {error} (choose another with --out)",
            dir.display()
        ))
        .into()
    })
}
