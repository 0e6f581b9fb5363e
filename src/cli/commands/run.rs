//! `run`: measure one cell and print its record.

use super::{invocation, workers_or_cores};
use crate::cell::{CellSpec, ChildProcess, Provenance};
use crate::cli::args::RunArgs;
use crate::error::EXIT_CELL_FAILED;
use crate::interrupt;
use crate::result::Status;
use crate::sweep;
use crate::table;
use anyhow::Context;
use std::time::Duration;

pub(super) fn run(args: RunArgs) -> anyhow::Result<i32> {
    interrupt::install().context("installing the SIGINT/SIGTERM handlers")?;
    let spec = CellSpec::new(&args.workload, &args.model, args.tasks)
        .with_workers(workers_or_cores(args.workers))
        .with_sleep_ms(args.sleep_ms)
        .with_cpu_us(args.cpu_us)
        .with_stack_kib(args.stack_kib.map(|k| k as usize))
        .with_reply_bytes(args.reply_bytes);
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
        eprintln!(
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
