//! `run`: measure one cell and print its record.

use super::{invocation, workers_or_cores};
use crate::cli::args::RunArgs;
use crate::cli::table;
use crate::lab::cell::{CellSpec, ChildProcess, Provenance};
use crate::lab::sweep;
use crate::os::error::{UsageError, EXIT_CELL_FAILED};
use crate::os::interrupt;
use crate::record::result::Status;
use anyhow::Context;
use std::time::Duration;

pub(super) fn run(args: RunArgs) -> anyhow::Result<i32> {
    interrupt::install().context("installing the SIGINT/SIGTERM handlers")?;
    let spec = CellSpec::new(&args.workload, &args.model, args.tasks)
        .with_workers(workers_or_cores(args.workers))
        .with_sleep_ms(args.sleep_ms)
        .with_cpu_us(args.cpu_us)
        .with_stack_kib(args.stack_kib.map(|k| k as usize))
        .with_reply_bytes(args.reply_bytes)
        .with_file_kib(args.file_kib)
        .with_pool(args.pool);
    let mut database = None;
    if let Some(workload) = crate::workload::by_name(&args.workload) {
        if workload.uses_files() {
            check_file_bytes(args.tasks, args.file_kib)?;
        }
        if workload.uses_database() {
            check_driver(&args.model)?;
            let exe = std::env::current_exe().context("finding the lab's own binary")?;
            database = Some(crate::net::database::Database::start(&exe, args.db_rows)?);
        }
    }
    let spec = spec.with_database(database.as_ref().map(|d| d.ready.target()));
    let executor = ChildProcess::current()?;
    let (record, server_note) = sweep::measure_cell_noting_server(
        spec,
        args.repeat,
        Duration::from_secs(args.timeout_s),
        &executor,
        &Provenance {
            profile: None,
            invocation: invocation(),
        },
        args.busy.policy(),
    );
    if interrupt::requested() {
        crate::os::output::stderr_line!(
            "interrupted by {}: the cell was stopped and not recorded",
            interrupt::signal_name().unwrap_or("a signal")
        );
        return Ok(interrupt::EXIT_CODE);
    }
    if args.json {
        say!("{}", serde_json::to_string(&record)?);
    } else {
        say!("{}", table::record_table(std::slice::from_ref(&record)));
        if let (Some(bytes), Some(rate)) = (record.reply_bytes, record.bytes_per_s) {
            say!(
                "replies: {bytes} bytes each, {:.2} MB/s of payload",
                rate / 1e6
            );
        }
        if let (Some(kib), Some(cache)) = (record.file_kib, &record.file_cache) {
            say!(
                "files: {kib} KiB each, one per task, on {}; {} ({:.0} % of their pages cached at \
                 the start); one bare read {:.1} µs",
                cache.file_system,
                match (cache.cold, cache.really_cold) {
                    (false, _) => "warm",
                    (true, true) => "cold",
                    (true, false) => "cold asked for, NOT cold",
                },
                cache.resident_share_max * 100.0,
                cache.bare_read_us
            );
            if let Some(note) = &cache.note {
                say!("files: {note}");
            }
        }
        if let Some(extra) = record.extra_threads.filter(|_| record.file_kib.is_some()) {
            say!("threads the run started beyond the runtime's own: {extra}");
        }
        if let Some(note) = server_note {
            say!("{note}");
        }
        say!("{}", table::machine_line(&record.machine));
        if let Some(error) = &record.error {
            say!("{}: {error}", record.status.as_str());
        }
    }
    Ok(if record.status == Status::Ok {
        0
    } else {
        EXIT_CELL_FAILED
    })
}

/// Refuses, before the database starts, a model that has no PostgreSQL driver.
fn check_driver(model: &str) -> Result<(), UsageError> {
    if crate::model::by_name(model).is_some_and(|m| m.database_driver().is_some()) {
        return Ok(());
    }
    Err(UsageError(format!(
        "error: the {model} model has no PostgreSQL driver here; models with one: {}",
        crate::model::with_database_driver().join(", ")
    )))
}

/// Refuses, before anything runs, a file cell whose files would not fit in
/// what one cell may write.
fn check_file_bytes(tasks: u64, file_kib: u64) -> Result<(), UsageError> {
    crate::workload::files::check_fit(tasks, file_kib)
        .map_err(|reason| UsageError(format!("error: {reason}")))
}
