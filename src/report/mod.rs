//! The report: charts and one self-contained HTML page that show where
//! async helps and where it doesn't. It reads records only: it may import
//! [`crate::record`], [`crate::stats`], [`crate::os`], [`crate::workload`]
//! and the model registry ([`crate::model`]: names, order, colours,
//! capabilities), never the lab, the servers, the claims, the network code
//! or the CLI, and it writes no record.
//!
//! The report only draws: it is a function from data files to a page, and
//! imports nothing that measures. `report` first measures into its output
//! directory ([`crate::cli::report_run`]: the sweep, the timer experiment,
//! the spawn/switch costs, each writing its own data file), then draws
//! with [`draw`]; `report --input` reads existing `results.jsonl` files —
//! several are merged, and the machine becomes a dimension — and the
//! command copies the data into the output directory (through
//! [`crate::record`]; the report writes no record) and draws with the same
//! [`draw`]: `index.html` (SVG and CSS inlined, nothing fetched from
//! anywhere) and each chart as a standalone `.svg`.
//!
//! - [`data`]: merging records, series, verdicts, memory per unit;
//! - [`plot`]: one line-chart renderer (plotters, SVG);
//! - [`charts`]: which records go on which chart, and the captions;
//! - [`marks`]: disturbed cells drawn hollow, coinciding lines told apart;
//! - [`published`]: published figures beside the lab's own;
//! - [`python`]: the Python mirror's models beside the lab's; [`gil`]: what
//!   the CPU workload says about Python threads and the GIL;
//! - [`claims`]: the "Claims on trial" section, from a `claims.json`;
//! - [`conditions`]: the "Measurement conditions" section, from `doctor.json`
//!   and the records' outside load;
//! - [`servers`]: the "Servers under load" section, from a `server.jsonl`;
//! - [`load_points`]: load from several generators and from Locust, from
//!   interval logs, Locust's CSV or a `load.jsonl`;
//! - [`html`]: the page (minijinja template).

pub mod charts;
pub mod claims;
pub mod conditions;
pub mod data;
pub mod decisions;
pub mod gil;
pub mod html;
pub mod load_points;
pub mod marks;
pub mod palette;
pub mod plot;
#[cfg(feature = "png")]
pub mod png;
pub mod published;
pub mod python;
pub mod servers;

use crate::os::error::UsageError;
use crate::os::output::path_in;
use crate::record::costs;
use crate::record::load_point::{self, LoadPoint};
use crate::record::result::{CellRecord, Skipped};
use crate::record::server_point::{self, ServerPoint};
use crate::record::timers::{self, TimerRecord};
use anyhow::Context;
use std::path::{Path, PathBuf};

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
    pub unit_costs: costs::UnitCosts,
    /// True when SIGINT or SIGTERM stopped the sweep early (nothing else ran).
    pub interrupted: bool,
    /// Claims on trial, if measured by this report or found beside its data.
    pub claims: Option<claims::FoundClaims>,
    /// The results files the records were loaded from; empty when this
    /// report measured them itself. The page says which it was.
    pub loaded_from: Vec<PathBuf>,
    /// What `doctor` found just before the cells were measured (the first
    /// `doctor.json` found beside the inputs, or in the output directory).
    pub doctor: Option<crate::record::doctor::Examination>,
    /// Server sweep points, from a `server.jsonl` given as input or found
    /// beside one.
    pub servers: Vec<ServerPoint>,
    /// Load from several generators merged, or from Locust: from interval
    /// logs and Locust CSV given as inputs, or a `load.jsonl` beside one.
    pub loads: Vec<LoadPoint>,
}

/// Reads and merges results files; timers come from a `timers.jsonl`
/// beside each file, when there is one. An input may also be a
/// `server.jsonl` of the server sweep (recognised by its first record). A
/// missing, empty or malformed file is a [`UsageError`] in one line that
/// names the file (and line).
pub fn read_inputs(inputs: &[PathBuf], invocation: &str) -> anyhow::Result<ReportData> {
    let mut data = ReportData {
        invocation: invocation.to_string(),
        loaded_from: inputs.to_vec(),
        ..ReportData::default()
    };
    // The interval logs given together are generators that ran together:
    // one point.
    let mut logs = Vec::new();
    for input in inputs {
        let name = input.to_string_lossy();
        if name.ends_with(".hlog") {
            logs.push(load_point::read_interval_log(input)?);
            read_beside(&mut data, input.parent().unwrap_or(Path::new(".")))?;
            continue;
        }
        if name.ends_with("_stats.csv") {
            add_loads(&mut data, vec![load_point::read_locust(input)?]);
            read_beside(&mut data, input.parent().unwrap_or(Path::new(".")))?;
            continue;
        }
        if server_point::holds_points(input) {
            add_servers(&mut data, server_point::read_points(input)?);
        } else {
            let records = crate::record::reader::load_records(input)?;
            data.records.extend(records);
        }
        read_beside(&mut data, input.parent().unwrap_or(Path::new(".")))?;
    }
    if !logs.is_empty() {
        add_loads(&mut data, vec![load_point::merge(&logs)?]);
    }
    Ok(data)
}

/// Adds load points, each once.
fn add_loads(data: &mut ReportData, points: Vec<LoadPoint>) {
    for point in points {
        if !data.loads.contains(&point) {
            data.loads.push(point);
        }
    }
}

/// Adds server points, each once (an input and the same file found beside
/// another input are one file).
fn add_servers(data: &mut ReportData, points: Vec<ServerPoint>) {
    for point in points {
        if !data.servers.contains(&point) {
            data.servers.push(point);
        }
    }
}

/// Adds the side experiments' files in `dir` (`timers.jsonl`,
/// `unit-costs.json`, `server.jsonl`) to `data`, when they are there. A malformed file is a
/// [`UsageError`] in one line that names the file (and line).
pub fn read_beside(data: &mut ReportData, dir: &Path) -> anyhow::Result<()> {
    let one_line = |error: anyhow::Error| {
        anyhow::Error::new(UsageError(format!(
            "error: {}",
            format!("{error:#}").replace('\n', " ")
        )))
    };
    let timers_file = dir.join(timers::FILE_NAME);
    if timers_file.is_file() {
        for record in timers::read_timers(&timers_file).map_err(one_line)? {
            if !data.timers.contains(&record) {
                data.timers.push(record);
            }
        }
    }
    let costs_file = dir.join(costs::FILE_NAME);
    if costs_file.is_file() && data.unit_costs.spawn_ns.is_empty() {
        data.unit_costs = costs::read_costs(&costs_file).map_err(one_line)?;
    }
    let servers_file = dir.join(server_point::FILE_NAME);
    if servers_file.is_file() {
        add_servers(data, server_point::read_points(&servers_file)?);
    }
    let loads_file = dir.join(load_point::FILE_NAME);
    if loads_file.is_file() {
        add_loads(data, load_point::read_points(&loads_file)?);
    }
    // The doctor's findings are context, not figures: an unreadable file
    // leaves them out instead of refusing the report.
    if data.doctor.is_none() {
        data.doctor = crate::record::doctor::Examination::load(dir);
    }
    Ok(())
}

/// What [`write`] produced.
#[derive(Debug, Clone)]
pub struct Written {
    pub index: PathBuf,
    pub charts: Vec<PathBuf>,
    pub verdicts: Vec<String>,
}

/// Draws the report into `out` from data already saved there: one SVG per
/// chart and index.html. The same code draws a report that just measured
/// and one drawn from saved files (`report --input`).
pub fn draw(out: &Path, report: &ReportData) -> anyhow::Result<Written> {
    std::fs::create_dir_all(out)
        .with_context(|| format!("creating the report directory {}", out.display()))?;
    let mut dataset = data::Dataset::new(report.records.clone());
    for timer in &report.timers {
        dataset.add_machine(&timer.machine);
    }
    // The decision table's comparisons, so the charts colour what it compares.
    let compared: Vec<(String, Vec<String>)> = decisions::rows(&dataset, &report.servers)
        .into_iter()
        .filter(|row| !row.workload.is_empty())
        .map(|row| (row.workload, row.compared))
        .collect();
    let charts = charts::all(&dataset, &report.timers, &compared)?;
    let mut chart_files = Vec::new();
    for chart in &charts {
        let path = path_in(out, &chart.file_name())?;
        crate::os::output::replace_file(&path, chart.svg.as_bytes())?;
        chart_files.push(path);
        #[cfg(feature = "png")]
        png::write_png(&chart.svg, &path_in(out, &format!("{}.png", chart.id))?)?;
    }
    let claim_charts = match &report.claims {
        Some(found) => claims::charts(&found.report)?,
        None => Vec::new(),
    };
    for chart in &claim_charts {
        let path = path_in(out, &chart.file_name())?;
        crate::os::output::replace_file(&path, chart.svg.as_bytes())?;
        chart_files.push(path);
        #[cfg(feature = "png")]
        png::write_png(&chart.svg, &path_in(out, &format!("{}.png", chart.id))?)?;
    }
    let server_charts = servers::charts(&report.servers)?;
    for chart in &server_charts {
        let path = path_in(out, &chart.file_name())?;
        crate::os::output::replace_file(&path, chart.svg.as_bytes())?;
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
        &server_charts,
    )?;
    let index = path_in(out, "index.html")?;
    crate::os::output::replace_file(&index, page.as_bytes())?;
    let mut verdicts: Vec<String> = data::verdict_sentences(&dataset)
        .into_iter()
        .map(|(_, heading, findings)| format!("{heading} {findings}"))
        .collect();
    verdicts.extend(
        servers::verdicts(&report.servers)
            .into_iter()
            .map(|sentence| format!("Servers: {sentence}")),
    );
    Ok(Written {
        index,
        charts: chart_files,
        verdicts,
    })
}
