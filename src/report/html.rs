//! The page: one self-contained HTML file filled from small serde structs
//! by a minijinja template embedded in the binary. Auto-escaping is on (the
//! template's name ends in `.html`); only the lab's own CSS and the SVG
//! plotters drew are inserted raw.

use super::charts::Chart;
use super::claims::{self as report_claims, FoundClaims};
use super::data::{self, Dataset};
use super::palette;
use super::published::ComparisonRow;
use super::python;
use super::servers;
use super::ReportData;
use crate::model;
use crate::record::claims::{self as claim_records, Verdict};
use crate::record::timers::{self, TimerRecord};
use serde::Serialize;

const TEMPLATE: &str = include_str!("templates/index.html");
const CSS: &str = include_str!("templates/style.css");

#[derive(Serialize)]
struct VerdictView {
    heading: String,
    findings: String,
    /// `all-good`, `none-good` or empty: the colour of the bar beside it.
    class: &'static str,
}

#[derive(Serialize)]
struct DecisionView {
    question: String,
    /// The anchor of the evidence on this page.
    evidence: String,
    size: String,
    best_async: String,
    thread_pool: String,
    thread_per_task: String,
    statement: String,
    bound: String,
    /// The one word, or "not measured".
    answer: &'static str,
    /// `helps`, `same`, `hurts`, `too-close-to-call` or `not-measured`.
    answer_class: String,
    command: String,
}

fn decision_views(
    dataset: &Dataset,
    points: &[crate::record::server_point::ServerPoint],
    charts: &[Chart],
) -> Vec<DecisionView> {
    super::decisions::rows(dataset, points)
        .into_iter()
        .map(|row| {
            // A workload's chart id carries its parameters when it has several.
            let evidence = charts
                .iter()
                .map(|c| c.id.as_str())
                .find(|id| id.starts_with(row.evidence))
                .map_or_else(
                    || {
                        if row.evidence.starts_with("wall-") {
                            "charts".to_string()
                        } else {
                            row.evidence.to_string()
                        }
                    },
                    str::to_string,
                );
            let answer = row.answer.map_or("not measured", |a| a.as_str());
            DecisionView {
                answer,
                answer_class: answer.replace(' ', "-"),
                question: row.question,
                evidence,
                size: row.size,
                best_async: row.best_async,
                thread_pool: row.thread_pool,
                thread_per_task: row.thread_per_task,
                statement: row.statement,
                bound: row.bound,
                command: row.command,
            }
        })
        .collect()
}

#[derive(Serialize)]
struct ModelView {
    label: String,
    colour: String,
    style: &'static str,
    description: String,
}

#[derive(Serialize)]
struct ChartView {
    id: String,
    title: String,
    caption: String,
    svg: String,
    file: String,
}

#[derive(Serialize)]
struct MemoryRow {
    label: String,
    colour: String,
    per_task: String,
    r_squared: String,
    virtual_per_task: String,
    points: usize,
    largest: String,
}

#[derive(Serialize)]
struct TimerRow {
    timer: String,
    colour: String,
    requested: String,
    min: String,
    median: String,
    max: String,
    samples: u32,
}

#[derive(Serialize)]
struct UnfinishedRow {
    workload: String,
    model: String,
    colour: String,
    tasks: String,
    status: &'static str,
    error: String,
}

#[derive(Serialize)]
struct SkippedRow {
    workload: String,
    model: String,
    colour: String,
    tasks: String,
    expected: String,
}

#[derive(Serialize)]
struct MachineView {
    name: String,
    cores: usize,
    cpu_model: String,
    kernel: String,
    rustc: String,
    crates: String,
    thp: String,
    limits: String,
    profiles: String,
    dates: String,
    cells: usize,
}

#[derive(Serialize)]
struct ThresholdView {
    name: String,
    value: String,
    meaning: String,
}

#[derive(Serialize)]
struct ClaimRow {
    id: String,
    claim: String,
    /// For a demonstration, what it shows; empty for a verdict.
    demonstration: String,
    measured: String,
    verdict: &'static str,
    /// `holds`, `holds-with-a-caveat`, `does-not-hold` or `not-measured`.
    verdict_class: &'static str,
    caveat: String,
    decided_by: String,
    thresholds: Vec<ThresholdView>,
    command: String,
    cores: usize,
    load_average: String,
    seconds: String,
    chart: Option<ChartView>,
}

#[derive(Serialize)]
struct ClaimsView {
    rows: Vec<ClaimRow>,
    tally: String,
    measured_on: String,
    /// Set when the claims ran on another machine than the cells.
    other_machine: bool,
    /// Claims this run did not include.
    missing: Vec<String>,
    source: String,
    invocation: String,
}

#[derive(Serialize)]
struct SustainedRow {
    label: String,
    colour: String,
    /// One cell per search, in the order of the header.
    rates: Vec<String>,
}

#[derive(Serialize)]
struct FootprintRow {
    label: String,
    colour: String,
    connections: String,
    rss: String,
    threads: String,
    result: String,
}

#[derive(Serialize)]
struct ModeRowView {
    label: String,
    colour: String,
    connections: String,
    runtime: String,
    block: String,
    offload: String,
}

#[derive(Serialize)]
struct ServersView {
    verdicts: Vec<String>,
    latency_charts: Vec<ChartView>,
    /// The searches, one column each of the sustained table.
    searches: Vec<String>,
    objectives: Vec<String>,
    sustained: Vec<SustainedRow>,
    footprint_charts: Vec<ChartView>,
    footprint: Vec<FootprintRow>,
    mode_charts: Vec<ChartView>,
    modes: Vec<ModeRowView>,
    measured_on: String,
    /// Set when some point ran while other programs used the cores.
    disturbed: String,
}

/// Said once above the charts instead of under each: one meaning per line
/// style and per marker.
pub const CHART_LEGEND: &str = "How to read every chart: a solid line with filled markers is one \
    model's median over its repeats; its whiskers span the interval of that median (95 % from \
    order statistics where a cell has 6 or more repeats, otherwise the min–max range of the \
    repeats); a dashed black line is the ideal or a physical limit, a dashed grey one a \
    threshold; a dotted line is a p99; a hollow grey marker is a cell disturbed by other \
    programs; a cross is a cell that did not finish. Where two models' lines lie on top of each \
    other, the earlier is drawn wide beneath the later, so both colours show. Hover a marker for \
    its exact values. Each line is named at its end; on the wall-time and efficiency charts the     models the decision table compares are drawn in colour, the others thin and grey beneath     them. Open “About this chart” under each for what to look at in it.";

/// True for the charts shown open: wall time and efficiency, the evidence
/// the decision table and the verdicts link to. The rest are folded.
fn shown_first(chart: &Chart) -> bool {
    chart.id.starts_with("wall-") || chart.id.starts_with("efficiency-")
}

/// Other programs using at least this many cores during a point make the
/// page say so beside the section (the sweep keeps every point).
pub const SERVER_DISTURBED_CORES: f64 = 0.25;

fn rate_cell(found: Option<(f64, Option<f64>)>) -> String {
    match found {
        None => "—".into(),
        Some((rate, _)) if rate > 0.0 => data::count(rate.round() as u64),
        Some((_, Some(failed))) => {
            format!("none (failed at {})", data::count(failed.round() as u64))
        }
        Some((_, None)) => "none".into(),
    }
}

fn servers_view(
    points: &[crate::record::server_point::ServerPoint],
    charts: &[Chart],
) -> Option<ServersView> {
    if points.is_empty() {
        return None;
    }
    let searches: Vec<servers::Group> = servers::searches(points);
    let models = servers::models(points);
    let sustained = models
        .iter()
        .map(|model| SustainedRow {
            label: servers::label(model),
            colour: palette::css(model),
            rates: searches
                .iter()
                .map(|group| rate_cell(servers::sustained(points, model, group)))
                .collect(),
        })
        .collect();
    let footprint = models
        .iter()
        .flat_map(|model| {
            servers::footprint(points, model).into_iter().map(
                move |(connections, rss_kib, threads, failure)| FootprintRow {
                    label: servers::label(model),
                    colour: palette::css(model),
                    connections: data::count(connections),
                    rss: format!("{:.1} MiB", rss_kib as f64 / 1024.0),
                    threads: data::count(threads),
                    result: failure.unwrap_or_else(|| "held".into()),
                },
            )
        })
        .collect();
    let modes = servers::mode_rows(points)
        .into_iter()
        .map(|row| ModeRowView {
            label: servers::label(&row.model),
            colour: palette::css(&row.model),
            connections: data::count(row.connections),
            runtime: rate_cell(row.runtime),
            block: rate_cell(row.block),
            offload: rate_cell(row.offload),
        })
        .collect();
    let pick = |prefix: &str| -> Vec<ChartView> {
        charts
            .iter()
            .filter(|c| c.id.starts_with(prefix))
            .map(chart_view)
            .collect()
    };
    let disturbed: Vec<f64> = points
        .iter()
        .filter_map(|p| p.foreign_cpu_cores)
        .filter(|cores| *cores >= SERVER_DISTURBED_CORES)
        .collect();
    let disturbed = if disturbed.is_empty() {
        String::new()
    } else {
        format!(
            "{} of {} points ran while other programs used {} cores or more (up to {:.2}): \
             read their rates with care.",
            disturbed.len(),
            points.len(),
            SERVER_DISTURBED_CORES,
            disturbed.iter().copied().fold(0.0, f64::max)
        )
    };
    Some(ServersView {
        verdicts: servers::verdicts(points),
        latency_charts: pick("server-latency-"),
        objectives: searches
            .iter()
            .map(|g| format!("p99 ≤ {} ms", data::number(g.objective_ms)))
            .collect(),
        searches: searches.iter().map(servers::Group::title).collect(),
        sustained,
        footprint_charts: ["server-memory", "server-threads"]
            .iter()
            .flat_map(|id| charts.iter().filter(move |c| c.id == *id))
            .map(chart_view)
            .collect(),
        footprint,
        mode_charts: pick("server-modes-"),
        modes,
        measured_on: format!(
            "{} points measured {}; the generator and the server {}",
            points.len(),
            date_range(points.iter().map(|p| p.unix_s)),
            if points.iter().all(|p| p.shares_cores) {
                "shared this machine's cores"
            } else if points.iter().any(|p| p.shares_cores) {
                "shared the machine's cores for some points"
            } else {
                "ran on different machines"
            }
        ),
        disturbed,
    })
}

#[derive(Serialize)]
struct Page {
    title: &'static str,
    subtitle: String,
    css: &'static str,
    decisions: Vec<DecisionView>,
    /// The band within which two figures are "the same" (×1.1).
    same_within: String,
    /// What the charts' line styles, markers and whiskers mean, said once.
    chart_legend: &'static str,
    verdicts: Vec<VerdictView>,
    /// Noisy cells among those the verdicts judge (each marked "noisy").
    noisy_count: usize,
    models: Vec<ModelView>,
    /// The charts the decision table and the verdicts rest on (wall time
    /// and efficiency per workload), shown.
    charts: Vec<ChartView>,
    /// Every other chart (latency, memory, threads, speedup, timers),
    /// folded away under one summary.
    more_charts: Vec<ChartView>,
    memory_rows: Vec<MemoryRow>,
    min_fit_points: usize,
    timer_rows: Vec<TimerRow>,
    comparison: Vec<ComparisonRow>,
    costs_method: String,
    measured_on: String,
    unfinished: Vec<UnfinishedRow>,
    skipped: Vec<SkippedRow>,
    budget_s: String,
    machines: Vec<MachineView>,
    superseded: usize,
    invocation: String,
    has_unit_costs: bool,
    claims: Option<ClaimsView>,
    /// The command that measures the claims, for a page without them.
    claims_command: String,
    /// Where each kind of figure came from: measured by this report's own
    /// run, loaded from a file (when and where it was measured), or quoted.
    provenance: Vec<String>,
    /// The doctor's findings and each cell's outside load.
    conditions: super::conditions::ConditionsView,
    servers: Option<ServersView>,
    /// The command that measures the server sweep, for a page without it.
    servers_command: &'static str,
    /// Load merged from several generators, and Locust's, when given.
    loads: Option<super::load_points::LoadsView>,
}

/// One machine in a few words: "2 cores, Intel(R) Xeon(R) Processor".
fn machine_words(machine: &crate::record::result::Machine) -> String {
    format!("{} cores, {}", machine.cores, machine.cpu_model)
}

/// Where the page's figures came from, one sentence per kind. A figure
/// loaded from a file is never called measured by this report.
fn provenance(report: &ReportData, dataset: &Dataset, claims: Option<&FoundClaims>) -> Vec<String> {
    let cell_dates = date_range(dataset.records.iter().map(|r| r.started_unix_s));
    let mut lines = Vec::new();
    if report.loaded_from.is_empty() {
        lines.push(format!(
            "Cells: measured by this report's own run, {cell_dates}, on {}.",
            measured_on(dataset)
        ));
    } else {
        lines.push(format!(
            "Cells: loaded from {} — measured {cell_dates} on {}, not by this report.",
            report
                .loaded_from
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            measured_on(dataset)
        ));
    }
    if !report.timers.is_empty() {
        let dates = date_range(report.timers.iter().map(|t| t.started_unix_s));
        let machine = report
            .timers
            .first()
            .map(|t| machine_words(&t.machine))
            .unwrap_or_default();
        lines.push(if report.loaded_from.is_empty() {
            format!("Timer precision: measured by this report's own run, {dates}, on {machine}.")
        } else {
            format!(
                "Timer precision: loaded from the {} beside the input — measured {dates} on {machine}, not by this report.",
                timers::FILE_NAME
            )
        });
    }
    if !report.unit_costs.spawn_ns.is_empty() || !report.unit_costs.switch_ns.is_empty() {
        let machine = report
            .unit_costs
            .machine
            .as_ref()
            .map(|m| format!(" on {}", machine_words(m)))
            .unwrap_or_default();
        lines.push(if report.loaded_from.is_empty() {
            format!("Spawn and switch costs: measured by this report's own run{machine}.")
        } else {
            format!(
                "Spawn and switch costs: loaded from the {} beside the input{machine}, not measured by this report.",
                crate::record::costs::FILE_NAME
            )
        });
    }
    if let Some(found) = claims {
        let when = date_range(std::iter::once(found.report.started_unix_s));
        let machine = &found.report.machine;
        let machine = format!("{} (Linux {})", machine_words(machine), machine.kernel);
        lines.push(if found.measured_here {
            format!("Claims on trial: measured by this report (the claims' quick budget), {when}, on {machine}.")
        } else {
            format!(
                "Claims on trial: loaded — {} — measured {when} on {machine}, not by this report.",
                found.source.to_lowercase()
            )
        });
    }
    if !report.servers.is_empty() {
        let dates = date_range(report.servers.iter().map(|p| p.unix_s));
        lines.push(format!(
            "Servers under load: read from the server sweep's {} (given as input, or found beside \
             an input or in the output directory) — measured {dates}.",
            crate::record::server_point::FILE_NAME
        ));
    }
    lines.push(
        "Published figures: quoted from the sources named in their table, measured by others on their hardware."
            .to_string(),
    );
    lines
}

/// "2026-11-21 20:53 UTC", or a range when the records span minutes or days.
fn date_range(times: impl Iterator<Item = u64>) -> String {
    let times: Vec<u64> = times.filter(|t| *t > 0).collect();
    let (Some(first), Some(last)) = (times.iter().min(), times.iter().max()) else {
        return "unknown".into();
    };
    let (first, last) = (
        crate::os::measure::utc_date(*first),
        crate::os::measure::utc_date(*last),
    );
    if first == last {
        first
    } else {
        format!("{first} to {last}")
    }
}

fn verdict_views(dataset: &Dataset) -> Vec<VerdictView> {
    data::verdict_sentences(dataset)
        .into_iter()
        .map(|(verdict, heading, findings)| {
            let measured = verdict.within.len()
                + verdict.short.len()
                + verdict.too_close.len()
                + verdict.unfinished.len();
            VerdictView {
                heading,
                findings,
                class: if verdict.within.is_empty() {
                    "none-good"
                } else if verdict.within.len() == measured {
                    "all-good"
                } else {
                    ""
                },
            }
        })
        .collect()
}

/// A slope as bytes per task, or "not measurable" when it cannot be told
/// from zero: its 95 % interval reaches zero, or (two points, no interval)
/// it is not above zero. Memory per task is never shown negative.
fn per_task_text(slope_kib: f64, interval: Option<&crate::stats::interval::Interval>) -> String {
    let measurable = match interval {
        Some(interval) => interval.low > 0.0,
        None => slope_kib > 0.0,
    };
    if measurable {
        data::bytes(slope_kib * 1024.0)
    } else {
        // The section's paragraph says once what this means.
        "not measurable".to_string()
    }
}

fn memory_rows(dataset: &Dataset) -> Vec<MemoryRow> {
    data::memory_per_unit(dataset)
        .into_iter()
        .map(|row| {
            let (per_task, r_squared) = match row.fit {
                // Two points always lie on a line: r² would say nothing.
                Some(fit) if row.points < 3 => {
                    (per_task_text(fit.slope, None), "— (2 points)".to_string())
                }
                Some(fit) => (
                    per_task_text(fit.slope, row.interval.as_ref()),
                    format!("{:.2}", fit.r_squared),
                ),
                None => ("too few valid cells".to_string(), "—".to_string()),
            };
            let virtual_per_task = row.virtual_fit.map_or_else(
                || "—".to_string(),
                |fit| per_task_text(fit.slope, row.virtual_interval.as_ref()),
            );
            MemoryRow {
                virtual_per_task,
                colour: palette::css(&row.model),
                label: row.label,
                per_task,
                r_squared,
                points: row.points,
                largest: format!(
                    "{:.1} MiB at {} tasks",
                    row.peak_rss_kib_at_largest as f64 / 1024.0,
                    data::count(row.largest_tasks)
                ),
            }
        })
        .collect()
}

fn timer_rows(dataset: &Dataset, timers: &[TimerRecord]) -> Vec<TimerRow> {
    timers
        .iter()
        .map(|t| {
            let mut timer = model::label(&t.timer);
            if dataset.machines.len() > 1 {
                let machine = dataset.machine_index(&t.machine).unwrap_or(0);
                timer += &format!(" · {}", Dataset::machine_name(machine));
            }
            TimerRow {
                timer,
                colour: palette::css(&t.model),
                requested: format!("{} ms", data::number(t.requested_ms)),
                min: format!("{} ms", data::ms(t.actual_ms.min)),
                median: format!("{} ms", data::ms(t.actual_ms.median)),
                max: format!("{} ms", data::ms(t.actual_ms.max)),
                samples: t.samples,
            }
        })
        .collect()
}

fn machine_views(dataset: &Dataset) -> Vec<MachineView> {
    dataset
        .machines
        .iter()
        .enumerate()
        .map(|(index, machine)| {
            let records: Vec<_> = dataset
                .records
                .iter()
                .filter(|r| dataset.machine_of(r) == index)
                .collect();
            // Records from the Python mirror carry no rustc; their crates
            // list the interpreter (python, python-gil), shown beside the lab's.
            let mut rustc: Vec<&str> = records
                .iter()
                .map(|r| r.machine.rustc.as_str())
                .filter(|rustc| !rustc.is_empty())
                .collect();
            rustc.sort();
            rustc.dedup();
            let mut crates: std::collections::BTreeMap<&str, Vec<&str>> = machine
                .crates
                .iter()
                .map(|(name, version)| (name.as_str(), vec![version.as_str()]))
                .collect();
            for record in &records {
                for (name, version) in &record.machine.crates {
                    let versions = crates.entry(name.as_str()).or_default();
                    if !versions.contains(&version.as_str()) {
                        versions.push(version.as_str());
                    }
                }
            }
            let mut profiles: Vec<String> = records
                .iter()
                .map(|r| r.profile.clone().unwrap_or_else(|| "single runs".into()))
                .collect();
            profiles.sort();
            profiles.dedup();
            let limit = |value: u64| {
                if value == u64::MAX {
                    "unlimited".to_string()
                } else {
                    data::count(value)
                }
            };
            MachineView {
                name: Dataset::machine_name(index),
                cores: machine.cores,
                cpu_model: machine.cpu_model.clone(),
                kernel: machine.kernel.clone(),
                rustc: if rustc.is_empty() {
                    machine.rustc.clone()
                } else {
                    rustc.join("; ")
                },
                crates: crates
                    .iter()
                    .map(|(name, versions)| format!("{name} {}", versions.join(" / ")))
                    .collect::<Vec<_>>()
                    .join(", "),
                thp: if machine.thp.is_empty() {
                    "unknown".into()
                } else {
                    format!("transparent huge pages: {}", machine.thp)
                },
                limits: format!(
                    "open files {}, processes {}, threads-max {}, timer slack {} µs",
                    limit(machine.rlimit_nofile),
                    limit(machine.rlimit_nproc),
                    limit(machine.threads_max),
                    data::number(machine.timer_slack_ns as f64 / 1e3)
                ),
                profiles: profiles.join(", "),
                dates: date_range(records.iter().map(|r| r.started_unix_s)),
                cells: records.len(),
            }
        })
        .collect()
}

/// The lab's models, then any other model in the data (the Python
/// mirror's, or names this build does not know), in chart order.
fn model_views(dataset: &Dataset) -> Vec<ModelView> {
    let mut views: Vec<ModelView> = model::all()
        .iter()
        .map(|m| ModelView {
            label: model::label(m.name()),
            colour: palette::css(m.name()),
            style: match m.style() {
                model::Style::Blocking => "blocking",
                model::Style::Async => "async",
            },
            description: m.description().to_string(),
        })
        .collect();
    let mut seen: Vec<String> = model::names().into_iter().map(String::from).collect();
    for variant in dataset.variants() {
        for series in dataset.series(&variant) {
            let name = series.key.model.clone();
            if seen.contains(&name) {
                continue;
            }
            let (style, description) = python::describe(&name).unwrap_or((
                "—",
                "not a model of this build of the lab (read from the input)".to_string(),
            ));
            views.push(ModelView {
                label: model::label(&name),
                colour: palette::css(&name),
                style,
                description,
            });
            seen.push(name);
        }
    }
    views
}

fn chart_view(chart: &Chart) -> ChartView {
    ChartView {
        id: chart.id.clone(),
        title: chart.title.clone(),
        caption: chart.caption.clone(),
        svg: inline_svg(&chart.svg, &chart.title),
        file: chart.file_name(),
    }
}

fn verdict_class(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Holds => "holds",
        Verdict::HoldsWithACaveat => "holds-with-a-caveat",
        Verdict::DoesNotHold => "does-not-hold",
        Verdict::TooCloseToCall => "too-close-to-call",
        Verdict::NotMeasured => "not-measured",
    }
}

fn claims_view(found: &FoundClaims, dataset: &Dataset, charts: &[Chart]) -> ClaimsView {
    let report = &found.report;
    let loads: Vec<f64> = report.claims.iter().map(|c| c.load_average).collect();
    let (low, high) = loads.iter().fold((f64::INFINITY, 0.0_f64), |(lo, hi), l| {
        (lo.min(*l), hi.max(*l))
    });
    let load = if loads.is_empty() {
        String::new()
    } else if format!("{low:.1}") == format!("{high:.1}") {
        format!("; load average {high:.1}")
    } else {
        format!("; load average {low:.1} to {high:.1} while they ran")
    };
    let machine = &report.machine;
    let measured_on = format!(
        "Measured {} on {} cores ({}, Linux {}), in {:.0} s{load}",
        crate::os::measure::utc_date(report.started_unix_s),
        machine.cores,
        machine.cpu_model,
        machine.kernel,
        report.seconds,
    );
    let rows = report
        .claims
        .iter()
        .map(|c| ClaimRow {
            id: c.id.clone(),
            demonstration: c.demonstration.clone().unwrap_or_default(),
            claim: c.claim.clone(),
            measured: c.measured.clone(),
            verdict: c.verdict.as_str(),
            verdict_class: verdict_class(c.verdict),
            caveat: c.caveat.clone().unwrap_or_default(),
            decided_by: c.decided_by.clone(),
            thresholds: c
                .thresholds
                .iter()
                .map(|t| ThresholdView {
                    name: t.name.clone(),
                    value: report_claims::threshold_value(t.value),
                    meaning: t.meaning.clone(),
                })
                .collect(),
            command: c.command.clone(),
            cores: c.cores,
            load_average: format!("{:.1}", c.load_average),
            seconds: format!("{:.1}", c.seconds),
            chart: charts
                .iter()
                .find(|chart| chart.id == report_claims::chart_id(&c.id))
                .map(chart_view),
        })
        .collect();
    ClaimsView {
        rows,
        tally: claim_records::tally(&report.claims),
        measured_on,
        other_machine: !dataset.machines.is_empty() && dataset.machine_index(machine).is_none(),
        missing: found
            .catalogue
            .iter()
            .filter(|entry| !report.claims.iter().any(|c| c.id == entry.id))
            .map(|entry| entry.id.clone())
            .collect(),
        source: found.source.clone(),
        invocation: report.invocation.clone(),
    }
}

fn measured_on(dataset: &Dataset) -> String {
    let describe =
        |m: &crate::record::result::Machine| format!("{} cores, {}", m.cores, m.cpu_model);
    match dataset.machines.as_slice() {
        [] => "no machine".into(),
        [one] => describe(one),
        many => many
            .iter()
            .enumerate()
            .map(|(i, m)| format!("machine {} ({})", Dataset::machine_name(i), describe(m)))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// The claims section's content: the claims found (if any), their charts,
/// and the command that measures them when there are none.
pub struct ClaimsSection<'a> {
    pub found: Option<&'a FoundClaims>,
    pub charts: &'a [Chart],
    pub command: String,
}

/// Renders the page.
pub fn render(
    report: &ReportData,
    dataset: &Dataset,
    charts: &[Chart],
    comparison: Vec<ComparisonRow>,
    claims_section: ClaimsSection,
    server_charts: &[Chart],
) -> anyhow::Result<String> {
    let profiles = dataset.profiles();
    let subtitle = format!(
        "{} cells ({} profile) on {}, measured {}.",
        dataset.records.len(),
        profiles.join(" + "),
        measured_on(dataset),
        date_range(dataset.records.iter().map(|r| r.started_unix_s))
    );
    let page = Page {
        title: "Async vs blocking: where async helps and where it doesn't",
        subtitle,
        css: CSS,
        decisions: decision_views(dataset, &report.servers, charts),
        same_within: data::number(super::decisions::SAME_WITHIN),
        chart_legend: CHART_LEGEND,
        verdicts: verdict_views(dataset),
        noisy_count: data::verdicts(dataset)
            .iter()
            .flat_map(|v| v.within.iter().chain(&v.short).chain(&v.too_close))
            .filter(|s| s.noisy)
            .count(),
        models: model_views(dataset),
        charts: charts
            .iter()
            .filter(|c| shown_first(c))
            .map(chart_view)
            .collect(),
        more_charts: charts
            .iter()
            .filter(|c| !shown_first(c))
            .map(chart_view)
            .collect(),
        memory_rows: memory_rows(dataset),
        min_fit_points: data::MIN_FIT_POINTS,
        timer_rows: timer_rows(dataset, &report.timers),
        comparison,
        costs_method: report.unit_costs.source.clone(),
        measured_on: measured_on(dataset),
        unfinished: dataset
            .unfinished()
            .into_iter()
            .map(|r| UnfinishedRow {
                workload: r.workload.clone(),
                model: model::label(&r.model),
                colour: palette::css(&r.model),
                tasks: data::count(r.tasks),
                status: r.status.as_str(),
                error: r
                    .error
                    .clone()
                    .unwrap_or_else(|| "no detail recorded".into()),
            })
            .collect(),
        skipped: report
            .skipped
            .iter()
            .map(|s| SkippedRow {
                workload: s.workload.clone(),
                model: model::label(&s.model),
                colour: palette::css(&s.model),
                tasks: data::count(s.tasks),
                expected: format!("{:.1} s", s.expected_ms / 1e3),
            })
            .collect(),
        budget_s: report
            .budget_ms
            .map_or_else(String::new, |ms| format!("{:.1}", ms / 1e3)),
        machines: machine_views(dataset),
        superseded: dataset.superseded,
        invocation: report.invocation.clone(),
        has_unit_costs: !report.unit_costs.spawn_ns.is_empty()
            || !report.unit_costs.switch_ns.is_empty(),
        claims: claims_section
            .found
            .map(|found| claims_view(found, dataset, claims_section.charts)),
        claims_command: claims_section.command,
        provenance: provenance(report, dataset, claims_section.found),
        conditions: super::conditions::view(dataset, report.doctor.as_ref()),
        servers: servers_view(&report.servers, server_charts),
        servers_command: super::servers::SERVERS_COMMAND,
        loads: super::load_points::view(&report.loads),
    };
    let mut env = minijinja::Environment::new();
    env.add_template("index.html", TEMPLATE)?;
    Ok(env.get_template("index.html")?.render(page)?)
}

/// Prepares a chart's SVG for inlining: an accessible name, and no XML
/// namespace attribute (HTML parsers know SVG; the standalone files keep it).
fn inline_svg(svg: &str, title: &str) -> String {
    let label = minijinja::HtmlEscape(title).to_string();
    svg.replacen(
        " xmlns=\"http://www.w3.org/2000/svg\"",
        &format!(" role=\"img\" aria-label=\"{label}\""),
        1,
    )
}
