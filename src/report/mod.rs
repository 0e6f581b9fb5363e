//! The report: charts and one self-contained HTML page that show where
//! async helps and where it doesn't.
//!
//! `report` either runs a sweep (and the small timer experiment) into its
//! output directory, or reads existing `results.jsonl` files — several
//! files are merged, and the machine becomes a dimension. It then writes
//! `index.html` (SVG and CSS inlined, nothing fetched from anywhere), each
//! chart as a standalone `.svg`, and the data as `results.jsonl`,
//! `results.csv`, `timers.jsonl` and (when claims were measured or found)
//! `claims.json`.
//!
//! - [`data`]: merging records, series, verdicts, memory per unit;
//! - [`plot`]: one line-chart renderer (plotters, SVG);
//! - [`charts`]: which records go on which chart, and the captions;
//! - [`timers`]: the timer-precision experiment;
//! - [`costs`]: spawn and switch costs with a small budget;
//! - [`published`]: published figures beside the lab's own;
//! - [`python`]: the Python mirror's models beside the lab's;
//! - [`claims`]: the "Claims on trial" section, from a `claims.json`;
//! - [`html`]: the page (minijinja template).

pub mod charts;
pub mod claims;
pub mod costs;
pub mod data;
pub mod html;
pub mod palette;
pub mod plot;
#[cfg(feature = "png")]
pub mod png;
pub mod published;
pub mod python;
pub mod timers;

use crate::cell::RepeatExecutor;
use crate::error::UsageError;
use crate::export;
use crate::interrupt;
use crate::output::path_in;
use crate::result::CellRecord;
use crate::sweep::{self, Skipped, SweepOptions};
use anyhow::Context;
use std::path::{Path, PathBuf};
use timers::TimerRecord;

/// Everything a report is drawn from.
#[derive(Debug, Clone, Default)]
pub struct ReportData {
    /// Every record read or measured, in order (duplicates included; the
    /// charts keep the latest of each cell).
    pub records: Vec<CellRecord>,
    /// Timer-precision results, if measured or found beside the inputs.
    pub timers: Vec<TimerRecord>,
    /// Cells the sweep left out for time (only known when the report ran it).
    pub skipped: Vec<Skipped>,
    /// The sweep's time budget per cell, ms (only when the report ran it).
    pub budget_ms: Option<f64>,
    /// The command line that made the report.
    pub invocation: String,
    /// Per-unit costs from the experiments, if measured or found.
    pub unit_costs: published::UnitCosts,
    /// True when SIGINT or SIGTERM stopped the sweep early (nothing else ran).
    pub interrupted: bool,
    /// Claims on trial, if measured by this report or found beside its data.
    pub claims: Option<claims::FoundClaims>,
    /// The results files the records were loaded from; empty when this
    /// report measured them itself. The page says which it was.
    pub loaded_from: Vec<PathBuf>,
}

/// Runs the sweep into `options.out` and the timer experiment, and returns
/// what the report is drawn from.
pub fn measure(
    options: &SweepOptions,
    executor: &dyn RepeatExecutor,
) -> anyhow::Result<ReportData> {
    let summary = sweep::run_sweep(options, executor)?;
    if summary.interrupted {
        return Ok(ReportData {
            records: summary.records,
            invocation: options.invocation.clone(),
            interrupted: true,
            ..ReportData::default()
        });
    }
    // The experiments below run in this process: between (and inside) them
    // a Ctrl-C or SIGTERM ends the report as it ends the sweep, keeping the
    // cells already saved.
    let stopped = |records: Vec<CellRecord>, timers: Vec<TimerRecord>| ReportData {
        records,
        timers,
        invocation: options.invocation.clone(),
        interrupted: true,
        ..ReportData::default()
    };
    if interrupt::requested() {
        return Ok(stopped(summary.records, Vec::new()));
    }
    eprintln!("measuring timer precision ...");
    // The sweep's results are saved already; a failed side experiment is
    // reported and leaves its chart out, it does not lose the run.
    let timers =
        timers::measure_timers(&timers::REQUESTED_MS, timers::SAMPLES).unwrap_or_else(|error| {
            eprintln!("warning: the timer experiment failed, its chart is left out: {error:#}");
            Vec::new()
        });
    if interrupt::requested() {
        return Ok(stopped(summary.records, timers));
    }
    eprintln!("measuring spawn and switch costs ...");
    let unit_costs = costs::measure_costs().unwrap_or_else(|error| {
        eprintln!("warning: the spawn/switch experiment failed, the table says so: {error:#}");
        published::UnitCosts::default()
    });
    if interrupt::requested() {
        return Ok(stopped(summary.records, timers));
    }
    Ok(ReportData {
        records: summary.records,
        timers,
        skipped: summary.skipped,
        budget_ms: Some(options.profile.max_expected_ms),
        invocation: options.invocation.clone(),
        unit_costs,
        interrupted: false,
        claims: None,
        loaded_from: Vec::new(),
    })
}

/// Reads and merges results files; timers come from a `timers.jsonl`
/// beside each file, when there is one. A missing, empty or malformed
/// file is a [`UsageError`] in one line that names the file (and line).
pub fn read_inputs(inputs: &[PathBuf], invocation: &str) -> anyhow::Result<ReportData> {
    let one_line = |error: anyhow::Error| {
        anyhow::Error::new(UsageError(format!(
            "error: {}",
            format!("{error:#}").replace('\n', " ")
        )))
    };
    let mut data = ReportData {
        invocation: invocation.to_string(),
        loaded_from: inputs.to_vec(),
        ..ReportData::default()
    };
    for input in inputs {
        let records = crate::records::load_records(input)?;
        data.records.extend(records);
        let beside = input
            .parent()
            .unwrap_or(Path::new("."))
            .join(timers::FILE_NAME);
        if beside.is_file() {
            for record in timers::read_timers(&beside).map_err(one_line)? {
                if !data.timers.contains(&record) {
                    data.timers.push(record);
                }
            }
        }
        let costs_beside = beside.with_file_name(costs::FILE_NAME);
        if costs_beside.is_file() && data.unit_costs.spawn_ns.is_empty() {
            data.unit_costs = costs::read_costs(&costs_beside).map_err(one_line)?;
        }
    }
    Ok(data)
}

/// What [`write`] produced.
#[derive(Debug, Clone)]
pub struct Written {
    pub index: PathBuf,
    pub charts: Vec<PathBuf>,
    pub verdicts: Vec<String>,
}

/// Writes the report into `out`: results.jsonl / .csv, timers.jsonl, one
/// SVG per chart and index.html.
pub fn write(out: &Path, report: &ReportData) -> anyhow::Result<Written> {
    std::fs::create_dir_all(out)
        .with_context(|| format!("creating the report directory {}", out.display()))?;
    let jsonl = path_in(out, "results.jsonl")?;
    let mut lines = Vec::new();
    for record in &report.records {
        serde_json::to_writer(&mut lines, record).context("encoding a record")?;
        lines.push(b'\n');
    }
    std::fs::write(&jsonl, lines).with_context(|| format!("writing {}", jsonl.display()))?;
    export::write_csv(&path_in(out, "results.csv")?, &report.records)?;
    if !report.timers.is_empty() {
        timers::write_timers(&path_in(out, timers::FILE_NAME)?, &report.timers)?;
    }
    if !report.unit_costs.spawn_ns.is_empty() || !report.unit_costs.switch_ns.is_empty() {
        costs::write_costs(&path_in(out, costs::FILE_NAME)?, &report.unit_costs)?;
    }

    let mut dataset = data::Dataset::new(report.records.clone());
    for timer in &report.timers {
        dataset.add_machine(&timer.machine);
    }
    let charts = charts::all(&dataset, &report.timers)?;
    let mut chart_files = Vec::new();
    for chart in &charts {
        let path = path_in(out, &chart.file_name())?;
        std::fs::write(&path, &chart.svg).with_context(|| format!("writing {}", path.display()))?;
        chart_files.push(path);
        #[cfg(feature = "png")]
        png::write_png(&chart.svg, &path_in(out, &format!("{}.png", chart.id))?)?;
    }
    let claim_charts = match &report.claims {
        Some(found) => {
            claims::write_claims(&path_in(out, claims::FILE_NAME)?, &found.report)?;
            claims::charts(&found.report)?
        }
        None => Vec::new(),
    };
    for chart in &claim_charts {
        let path = path_in(out, &chart.file_name())?;
        std::fs::write(&path, &chart.svg).with_context(|| format!("writing {}", path.display()))?;
        chart_files.push(path);
        #[cfg(feature = "png")]
        png::write_png(&chart.svg, &path_in(out, &format!("{}.png", chart.id))?)?;
    }
    let comparison = published::comparison(&dataset, &report.timers, &report.unit_costs);
    let page = html::render(
        report,
        &dataset,
        &charts,
        comparison,
        html::ClaimsSection {
            found: report.claims.as_ref(),
            charts: &claim_charts,
            command: claims::how_to_measure(out),
        },
    )?;
    let index = path_in(out, "index.html")?;
    std::fs::write(&index, page).with_context(|| format!("writing {}", index.display()))?;
    let verdicts = data::verdict_sentences(&dataset)
        .into_iter()
        .map(|(_, heading, findings)| format!("{heading} {findings}"))
        .collect();
    Ok(Written {
        index,
        charts: chart_files,
        verdicts,
    })
}
