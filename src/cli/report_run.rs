//! The measuring half of `report`: runs the sweep, the timer experiment,
//! the spawn/switch costs and the reduced server run into the output
//! directory and writes their data files — `results.jsonl` and
//! `results.csv` (the sweep's exporter), `timers.jsonl` and
//! `unit-costs.json` (here), `server.jsonl` (the server sweep's code). Each file has this one
//! writer. Then the drawing half, [`crate::report`], reads those files back
//! exactly as `report --input` reads saved ones, so a page drawn from saved
//! data is the page the measuring run drew.

use crate::lab::cell::RepeatExecutor;
use crate::lab::experiments::{costs, timers};
use crate::lab::sweep::{self, SweepOptions};
use crate::os::interrupt;
use crate::os::output::path_in;
use crate::record::result::CellRecord;
use crate::report::{self, ReportData};
use crate::server::sweep as server_sweep;

/// Measures everything a report shows into `options.out`, then reads it
/// back for drawing. When SIGINT or SIGTERM stopped the sweep, nothing else
/// runs and the data says `interrupted`.
pub fn measure(
    options: &SweepOptions,
    executor: &dyn RepeatExecutor,
) -> anyhow::Result<ReportData> {
    let summary = sweep::run_sweep(options, executor)?;
    // Stopped by SIGINT or SIGTERM (during the sweep or the experiments
    // below, which run in this process): the cells, and the timers when
    // they finished, are saved already; nothing else runs.
    let stopped = |records: Vec<CellRecord>| -> anyhow::Result<ReportData> {
        let mut data = ReportData {
            records,
            invocation: options.invocation.clone(),
            interrupted: true,
            ..ReportData::default()
        };
        report::read_beside(&mut data, &options.out)?;
        Ok(data)
    };
    if summary.interrupted || interrupt::requested() {
        return stopped(summary.records);
    }
    crate::os::output::stderr_line!("measuring timer precision ...");
    // The sweep's results are saved already; a failed side experiment is
    // reported and leaves its chart out, it does not lose the run.
    match timers::measure_timers(&timers::REQUESTED_MS, timers::SAMPLES) {
        Ok(records) => crate::record::timers::write_timers(
            &path_in(&options.out, crate::record::timers::FILE_NAME)?,
            &records,
        )?,
        Err(error) => {
            crate::os::output::stderr_line!(
                "warning: the timer experiment failed, its chart is left out: {error:#}"
            )
        }
    }
    if interrupt::requested() {
        return stopped(summary.records);
    }
    crate::os::output::stderr_line!("measuring spawn and switch costs ...");
    match costs::measure_costs() {
        // Costs cut short by a signal are not saved.
        Ok(_) if interrupt::requested() => return stopped(summary.records),
        Ok(unit_costs) => crate::record::costs::write_costs(
            &path_in(&options.out, crate::record::costs::FILE_NAME)?,
            &unit_costs,
        )?,
        Err(error) => {
            crate::os::output::stderr_line!(
                "warning: the spawn/switch experiment failed, the table says so: {error:#}"
            )
        }
    }
    if options.profile.report_servers {
        measure_servers(options);
        if interrupt::requested() {
            return stopped(summary.records);
        }
    }
    // The records are the ones just written to results.jsonl; the side
    // experiments are read back from their files, as `report --input` would.
    let mut data = ReportData {
        records: summary.records,
        skipped: summary.skipped,
        budget_ms: Some(options.profile.max_expected_ms),
        invocation: options.invocation.clone(),
        ..ReportData::default()
    };
    report::read_beside(&mut data, &options.out)?;
    Ok(data)
}

/// The reduced server run ([`server_sweep::run_quick`]) into
/// `options.out`. Servers and generators are this binary's `serve` and
/// `load`, so it runs only from the lab's own binary; a failure is
/// reported and leaves the section to say how to measure it.
fn measure_servers(options: &SweepOptions) {
    crate::os::output::stderr_line!(
        "measuring servers under load ({} and {}: {} connections at {:?} req/s, then {} idle) ...",
        server_sweep::QUICK_MODELS[0],
        server_sweep::QUICK_MODELS[1],
        server_sweep::QUICK_CONNECTIONS,
        server_sweep::QUICK_RATES,
        server_sweep::QUICK_IDLE_CONNECTIONS
    );
    let measured = std::env::current_exe()
        .map_err(anyhow::Error::from)
        .and_then(|exe| server_sweep::run_quick(&exe, options.workers, &options.out));
    if let Err(error) = measured {
        crate::os::output::stderr_line!(
            "warning: the server run failed, its section says how to measure it: {error:#}"
        );
    }
}
