//! Command handlers: one file per subcommand, each turning parsed arguments
//! into work and an exit code. `serve` is [`serve`] here; `load` and the
//! hidden child-cell command are handled by their own modules
//! ([`crate::server::load`], [`crate::lab::cell`]).

/// `println!` that returns an error instead of panicking when stdout is
/// full or closed (`list > /dev/full`): the command then ends with one line
/// and exit code 1.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::os::output::write_stdout(format_args!($($arg)*), true)?
    };
}

/// `print!` with the same care as [`say!`].
macro_rules! say_raw {
    ($($arg:tt)*) => {
        $crate::os::output::write_stdout(format_args!($($arg)*), false)?
    };
}

mod check;
mod claims;
mod db;
mod list;
mod overhead;
mod report;
mod run;
pub mod serve;
mod sweep;

use super::args::{Cli, Command};
use crate::os::measure;
pub(super) use crate::os::output::check_writable;

pub use crate::lab::cell::invocation;

fn workers_or_cores(workers: Option<u64>) -> usize {
    workers.map_or_else(measure::cores, |w| w as usize)
}

/// Runs a parsed command; returns the process exit code.
pub fn dispatch(cli: Cli) -> anyhow::Result<i32> {
    // Every socket costs a descriptor: allow as many as the hard limit does.
    crate::os::descriptors::raise_nofile_limit();
    match cli.command {
        Command::List { json } => list::list(json),
        Command::Run(args) => run::run(args),
        Command::Sweep(args) => sweep::sweep(args),
        Command::Report(args) => report::report(args),
        Command::Claims(args) => claims::claims(args),
        Command::Doctor { json } => {
            let examination = crate::lab::doctor::examine(crate::lab::doctor::SAMPLE);
            if json {
                say!("{}", serde_json::to_string_pretty(&examination)?);
            } else {
                say!("{}", examination.text());
            }
            Ok(0)
        }
        Command::Overhead(args) => overhead::overhead(args),
        Command::Check(args) => check::check(args),
        Command::Serve(args) => serve::serve(args),
        Command::Load(args) => crate::server::load::load_main(args),
        Command::Db(args) => db::db(args),
        Command::DbKeeper { rows } => crate::net::database::keeper_main(rows),
        Command::Cell { spec } => Ok(crate::lab::cell::child_main(&spec)),
    }
}
