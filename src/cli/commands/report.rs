//! `report`: measure (or read results), then write charts and the HTML page.

use super::claims::measure_claims;
use super::{check_writable, invocation};
use crate::cli::args::ReportArgs;
use crate::lab::cell::ChildProcess;
use crate::lab::sweep::{self, SweepOptions};
use crate::model;
use crate::os::error::UsageError;
use crate::os::interrupt;
use crate::os::measure;
use crate::os::output::path_in;
use crate::record::claims as claim_records;
use crate::record::{costs, export, server_point, timers};
use crate::report::{self, ReportData};
use crate::workload;
use anyhow::Context;
use std::path::Path;

pub(super) fn report(args: ReportArgs) -> anyhow::Result<i32> {
    check_writable(&args.out)?;
    let _lock = crate::os::output::lock_output_dir(&args.out)?;
    let inputs_in_out = inputs_among_outputs(&args.input, &args.out)?;
    if args.input.is_empty() || args.claims {
        crate::lab::doctor::before_measuring(&args.out);
    }
    // The claims run first, before the sweep installs its Ctrl-C handler:
    // an interrupted claims run just ends the command. A measuring report
    // teaches with them unless told not to; a report drawn from saved
    // files measures them only when asked.
    let measure_them = (args.input.is_empty() && !args.no_claims) || args.claims;
    let measured_claims = if measure_them {
        crate::os::output::stderr_line!(
            "putting the claims on trial with their quick budget (shorter server points, \
             100,000 rather than 1,000,000 async waits; `claims` measures the full sizes; \
             --no-claims leaves them out) ..."
        );
        let claims = measure_claims(&[], 3, crate::claims::Budget::Quick)?;
        let path = crate::os::output::path_in(&args.out, crate::record::claims::FILE_NAME)?;
        crate::record::claims::write_claims(&path, &claims)?;
        Some(report::claims::FoundClaims {
            report: claims,
            source: "Measured by this report (quick budget)".into(),
            measured_here: true,
            catalogue: crate::claims::catalogue(),
        })
    } else {
        None
    };
    let mut data = if args.input.is_empty() {
        let profile = sweep::profile(&args.profile).expect("clap checked the profile name");
        let workloads = if profile.workloads.is_empty() {
            workload::names()
        } else {
            profile.workloads.clone()
        };
        let options = SweepOptions {
            profile,
            workloads: workloads.into_iter().map(String::from).collect(),
            models: model::names().into_iter().map(String::from).collect(),
            workers: measure::cores(),
            out: args.out.clone(),
            invocation: invocation(),
            resume: false,
            policy: args.busy.policy(),
            db_rows: crate::workload::db::DEFAULT_ROWS,
        };
        interrupt::install().context("installing the SIGINT/SIGTERM handlers")?;
        let data = crate::cli::report_run::measure(&options, &ChildProcess::current()?)?;
        if data.interrupted {
            crate::os::output::stderr_line!(
                "interrupted by {}: stopped the measurements; kept {} finished cells in {}; \
                 draw them with: async-vs-blocking report --input {}",
                interrupt::signal_name().unwrap_or("a signal"),
                data.records.len(),
                options.out.join("results.jsonl").display(),
                options.out.join("results.jsonl").display()
            );
            return Ok(interrupt::EXIT_CODE);
        }
        data
    } else {
        report::read_inputs(&args.input, &invocation())?
    };
    let measured = args.input.is_empty();
    data.claims = match measured_claims {
        Some(found) => Some(found),
        None => report::claims::find(
            &report::claims::candidates(&args.input, &args.out),
            &crate::claims::catalogue(),
        )
        .map_err(|error| {
            UsageError(format!(
                "error: {}",
                format!("{error:#}").replace('\n', " ")
            ))
        })?,
    };
    if !measured && !inputs_in_out {
        // Measuring wrote each data file once; drawn from saved files, the
        // report keeps a copy of what it was drawn from beside the page.
        save_data(&args.out, &data)?;
    }
    let written = report::draw(&args.out, &data)?;
    for sentence in &written.verdicts {
        say!("{sentence}");
    }
    say!("{} charts in {}", written.charts.len(), args.out.display());
    say!("{}", written.index.display());
    Ok(0)
}

/// The data files [`report::save_data`] writes into `--out`.
const SAVED_FILES: &[&str] = &[
    "results.jsonl",
    "results.csv",
    timers::FILE_NAME,
    costs::FILE_NAME,
    claim_records::FILE_NAME,
    server_point::FILE_NAME,
    crate::record::load_point::FILE_NAME,
    crate::record::doctor::FILE_NAME,
];

/// Whether an input is one of the files the report would save into `out`.
/// One input that is already there (`report --input D/results.jsonl --out
/// D`, a redraw) is not copied onto itself: true. Several inputs merged
/// into one of them would replace an input with the merged set: refused,
/// before anything is written.
fn inputs_among_outputs(
    inputs: &[std::path::PathBuf],
    out: &std::path::Path,
) -> anyhow::Result<bool> {
    for name in SAVED_FILES {
        let saved = crate::os::output::path_in(out, name)?;
        let Some(input) = inputs
            .iter()
            .find(|input| crate::os::output::same_file(input, &saved))
        else {
            continue;
        };
        if inputs.len() == 1 {
            return Ok(true);
        }
        return Err(UsageError(format!(
            "error: --out {} holds the input {}, which the merged data would replace; \
             choose another --out",
            out.display(),
            input.display()
        ))
        .into());
    }
    Ok(false)
}

/// Copies the data a report was drawn from into `out` — results.jsonl /
/// .csv, timers.jsonl, unit-costs.json, claims.json, server.jsonl and doctor.json — so that the page's
/// links work and the directory can be redrawn. For `report --input` only:
/// when the report measured, each of these files was written by the
/// experiment that measured it, and is not written again.
fn save_data(out: &Path, report: &ReportData) -> anyhow::Result<()> {
    std::fs::create_dir_all(out)
        .with_context(|| format!("creating the report directory {}", out.display()))?;
    let jsonl = path_in(out, "results.jsonl")?;
    let mut lines = Vec::new();
    for record in &report.records {
        serde_json::to_writer(&mut lines, record).context("encoding a record")?;
        lines.push(b'\n');
    }
    crate::os::output::replace_file(&jsonl, &lines)?;
    export::write_csv(&path_in(out, "results.csv")?, &report.records)?;
    if !report.timers.is_empty() {
        timers::write_timers(&path_in(out, timers::FILE_NAME)?, &report.timers)?;
    }
    if !report.unit_costs.spawn_ns.is_empty() || !report.unit_costs.switch_ns.is_empty() {
        costs::write_costs(&path_in(out, costs::FILE_NAME)?, &report.unit_costs)?;
    }
    if let Some(found) = &report.claims {
        claim_records::write_claims(&path_in(out, claim_records::FILE_NAME)?, &found.report)?;
    }
    if !report.servers.is_empty() {
        let mut lines = Vec::new();
        for point in &report.servers {
            serde_json::to_writer(&mut lines, point).context("encoding a server point")?;
            lines.push(b'\n');
        }
        let servers = path_in(out, server_point::FILE_NAME)?;
        crate::os::output::replace_file(&servers, &lines)?;
    }
    if !report.loads.is_empty() {
        let loads = path_in(out, crate::record::load_point::FILE_NAME)?;
        crate::record::load_point::write_points(&loads, &report.loads)?;
    }
    if let Some(doctor) = &report.doctor {
        doctor.save(out)?;
    }
    Ok(())
}
