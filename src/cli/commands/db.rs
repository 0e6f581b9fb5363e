//! `db`: a throwaway PostgreSQL for as long as a command runs (or until
//! Ctrl-C), for the Python mirror, `psql` or any driver by hand.
//!
//! It starts the keeper ([`crate::net::database`]), prints the URL, the
//! server's version and how long start and load took, then runs the
//! command after `--` with `DATABASE_URL` set, and ends with that
//! command's exit code. Without a command it waits for SIGINT or SIGTERM.
//! Either way the server and its directory are gone when it returns, and
//! also when it is killed (the keeper notices its pipe close).

use crate::cli::args::DbArgs;
use crate::net::database::Database;
use crate::os::interrupt;
use anyhow::Context;
use std::process::Command;
use std::time::Duration;

/// `async-vs-blocking db [--rows N] [-- COMMAND ...]`.
pub fn db(args: DbArgs) -> anyhow::Result<i32> {
    interrupt::install().context("installing the signal handlers")?;
    let exe = std::env::current_exe().context("finding the lab's own binary")?;
    let database = Database::start(&exe, args.rows)?;
    let ready = &database.ready;
    crate::os::output::stderr_line!(
        "PostgreSQL ready: {} rows in `items`, started in {:.0} ms, loaded in {:.0} ms, \
         running as {} in {}\n{}",
        ready.rows,
        ready.start_ms,
        ready.load_ms,
        ready.os_user,
        ready.dir.display(),
        ready.version
    );
    say!("{}", ready.url());
    let code = match args.command.split_first() {
        Some((program, rest)) => {
            let mut child = Command::new(program)
                .args(rest)
                .env("DATABASE_URL", ready.url())
                .spawn()
                .with_context(|| format!("starting {program}"))?;
            // The child shares the terminal's process group, so Ctrl-C
            // reaches it too; wait for it either way.
            let status = child
                .wait()
                .with_context(|| format!("waiting for {program}"))?;
            if interrupt::requested() {
                interrupt::EXIT_CODE
            } else {
                status.code().unwrap_or(1)
            }
        }
        None => {
            crate::os::output::stderr_line!("waiting for Ctrl-C (SIGINT) or SIGTERM");
            while !interrupt::requested() {
                std::thread::sleep(Duration::from_millis(50));
            }
            interrupt::EXIT_CODE
        }
    };
    let stopped = database.stop();
    crate::os::output::stderr_line!(
        "PostgreSQL stopped and removed in {:.0} ms",
        stopped.as_secs_f64() * 1e3
    );
    Ok(code)
}
