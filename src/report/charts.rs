//! The report's charts: which records go on which chart, and the few
//! sentences that tell a workshop attendee what to look at.
//!
//! 1. wall time vs tasks, per workload, with the ideal dashed;
//! 2. efficiency (ideal / measured) vs tasks, per workload;
//! 3. peak resident memory vs tasks (the sleep workload);
//! 4. threads used vs tasks (the sleep workload);
//! 5. speedup over `sequential` for the CPU workload, with the core count;
//! 6. completion latency p50 / p99 for the workloads that wait;
//! 7. timer precision: requested vs actual sleep per timer.

use super::data::{self, Dataset, Series, Variant, GOOD_EFFICIENCY};
use super::marks;
use super::palette;
use super::plot::{Axis, Edge, Line, Marker, Plot, Shape, Stroke, Tip, Unfinished};
use crate::model;
use crate::record::result::CellRecord;
use crate::record::timers::TimerRecord;
use plotters::style::RGBColor;

/// A drawn chart and what the page says about it.
#[derive(Debug, Clone)]
pub struct Chart {
    /// Stable identifier: the SVG file is `<id>.svg`, the page anchor `#<id>`.
    pub id: String,
    pub title: String,
    /// Two or three sentences on what to look at.
    pub caption: String,
    /// The standalone SVG document.
    pub svg: String,
}

impl Chart {
    /// Draws `plot`; lines that lie on top of each other are told apart
    /// first ([`marks::mark_coinciding`]), and the caption says so.
    pub(super) fn new(id: String, plot: &Plot, caption: String) -> anyhow::Result<Chart> {
        let mut plot = plot.clone();
        let overlap = marks::mark_coinciding(&mut plot);
        Ok(Chart {
            // Ids carry workload names read from input files: they name files.
            id: crate::os::output::safe_name(&id),
            title: plot.title.clone(),
            caption: caption + &overlap,
            svg: plot.to_svg()?,
        })
    }

    /// Like [`Chart::new`], with exact values on hover over the given points.
    pub(super) fn with_tips(
        id: String,
        plot: &Plot,
        caption: String,
        tips: &[Tip],
    ) -> anyhow::Result<Chart> {
        let mut plot = plot.clone();
        let overlap = marks::mark_coinciding(&mut plot);
        Ok(Chart {
            id: crate::os::output::safe_name(&id),
            title: plot.title.clone(),
            caption: caption + &overlap,
            svg: plot.to_svg_with_tips(tips)?,
        })
    }

    /// The file name of the standalone SVG.
    pub fn file_name(&self) -> String {
        format!("{}.svg", self.id)
    }
}

/// A short, file-safe name for a variant: the workload, plus its
/// parameters when the workload appears with several.
fn variant_id(dataset: &Dataset, variant: &Variant) -> String {
    if dataset.has_several_variants(&variant.workload) {
        let file = variant
            .file_kib
            .map_or(String::new(), |kib| format!("-{kib}kib"));
        let pool = variant
            .pool
            .map_or(String::new(), |pool| format!("-pool{pool}"));
        format!(
            "{}-{}ms-{}us{file}{pool}",
            variant.workload,
            data::number(variant.sleep_ms),
            data::number(variant.cpu_us)
        )
        .replace('.', "_")
    } else {
        variant.workload.clone()
    }
}

fn variant_title(variant: &Variant) -> String {
    format!("{} ({})", variant.workload, variant.parameters())
}

fn shape(series: &Series) -> Shape {
    Shape::for_machine(series.key.machine)
}

fn unfinished(series: &[Series]) -> Vec<Unfinished> {
    series
        .iter()
        .flat_map(|s| {
            s.unfinished().map(|r| Unfinished {
                x: r.tasks as f64,
                colour: palette::colour(&s.key.model),
            })
        })
        .collect()
}

/// A sentence on marker shapes when several machines are shown.
fn machines_note(dataset: &Dataset) -> String {
    if dataset.machines.len() < 2 {
        return String::new();
    }
    let shapes = ["circles", "triangles", "squares", "crosses"];
    let parts: Vec<String> = (0..dataset.machines.len())
        .map(|i| {
            format!(
                "{} for machine {}",
                shapes[i % shapes.len()],
                Dataset::machine_name(i)
            )
        })
        .collect();
    format!(
        " Marker shapes tell the machines apart: {}.",
        data::join_words(&parts)
    )
}

/// The models the decision table compares on `variant` (best async, the
/// thread pool, a thread per task), from `compared` (per workload, as the
/// caller took them from the table); the table compares a workload's first
/// variant only, so other variants, and workloads without a row, get none
/// (then every line keeps its colour).
fn compared_models(
    dataset: &Dataset,
    variant: &Variant,
    compared: &[(String, Vec<String>)],
) -> Vec<String> {
    let first = dataset
        .variants()
        .into_iter()
        .find(|v| v.workload == variant.workload);
    if first.as_ref() != Some(variant) {
        return Vec::new();
    }
    compared
        .iter()
        .find(|(workload, _)| *workload == variant.workload)
        .map_or_else(Vec::new, |(_, models)| models.clone())
}

/// Draws the lines of models outside `compared` thin and grey, beneath
/// the compared ones, so the comparison the table makes stands out; the
/// caption's sentence says so ("" when nothing was muted).
fn mute_others(lines: &mut Vec<Line>, series: &[Series], compared: &[String]) -> String {
    if compared.is_empty() || series.len() != lines.len() {
        return String::new();
    }
    let mut muted = Vec::new();
    let mut kept = Vec::new();
    for (line, s) in lines.drain(..).zip(series) {
        if compared.contains(&s.key.model) {
            kept.push(line);
        } else {
            muted.push(Line {
                colour: super::plot::MUTED,
                width: 2,
                ..line
            });
        }
    }
    let any_muted = !muted.is_empty();
    lines.extend(muted);
    lines.extend(kept);
    if !any_muted {
        return String::new();
    }
    let names: Vec<String> = compared.iter().map(|m| model::label(m)).collect();
    format!(
        " In colour: the models the decision table compares here ({}); the others are grey, \
         for context.",
        data::join_words(&names)
    )
}

/// The ideal wall time of a variant on each machine, as dashed lines.
fn ideal_lines(dataset: &Dataset, series: &[Series]) -> Vec<Line> {
    let mut lines = Vec::new();
    for machine in 0..dataset.machines.len() {
        let mut points: Vec<(f64, f64)> = series
            .iter()
            .filter(|s| s.key.machine == machine)
            .flat_map(|s| s.records.iter().map(|r| (r.tasks as f64, r.ideal_ms)))
            .filter(|(_, ideal)| *ideal > 0.0)
            .collect();
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        points.dedup_by(|a, b| a.0 == b.0);
        if points.is_empty() {
            continue;
        }
        let label = if dataset.machines.len() > 1 {
            format!("ideal · {}", Dataset::machine_name(machine))
        } else {
            "ideal".to_string()
        };
        lines.push(Line::reference(&label, points));
    }
    lines
}

fn all_tasks(series: &[Series]) -> Vec<f64> {
    series
        .iter()
        .flat_map(|s| s.records.iter().map(|r| r.tasks as f64))
        .collect()
}

/// The hover text of one cell: its exact figures, the spread of its
/// repeats and the command that measures it again.
fn cell_tip(record: &CellRecord, x: f64, y: f64) -> Tip {
    let interval = data::efficiency_interval(record);
    let mut text = format!(
        "{} at {} tasks: median {} ms over {} repeats (repeats {}–{} ms); efficiency {} ({}–{}, {})",
        model::label(&record.model),
        data::count(record.tasks),
        data::ms(record.wall_ms.median),
        record.repeats,
        data::ms(record.wall_ms.min),
        data::ms(record.wall_ms.max),
        data::efficiency_text(record.efficiency),
        data::efficiency_text(interval.low),
        data::efficiency_text(interval.high),
        interval.method.describe()
    );
    if record.disturbed {
        text += "; disturbed by other programs";
    }
    if !record.command.is_empty() {
        text += &format!("; rerun: {}", record.command);
    }
    Tip { x, y, text }
}

/// Chart 1: wall time vs tasks.
fn wall_chart(dataset: &Dataset, variant: &Variant, compared: &[String]) -> anyhow::Result<Chart> {
    let series = dataset.series(variant);
    let mut lines = Vec::new();
    for s in &series {
        let mut line = Line::measured(
            &s.label,
            palette::colour(&s.key.model),
            shape(s),
            s.ok().map(|r| (r.tasks as f64, r.wall_ms.median)).collect(),
        );
        // The interval of the median (the min–max range below 6 repeats,
        // and for records written before intervals).
        line.whiskers = s
            .ok()
            .map(|r| match r.wall_ms_ci {
                Some(ci) => (r.tasks as f64, ci.low, ci.high),
                None => (r.tasks as f64, r.wall_ms.min, r.wall_ms.max),
            })
            .collect();
        lines.push(line);
    }
    let muted = mute_others(&mut lines, &series, compared);
    let ideals = ideal_lines(dataset, &series);
    let y_values: Vec<f64> = lines
        .iter()
        .chain(&ideals)
        .flat_map(|l| {
            l.points
                .iter()
                .map(|p| p.1)
                .chain(l.whiskers.iter().flat_map(|w| [w.1, w.2]))
                .collect::<Vec<_>>()
        })
        .collect();
    lines.extend(ideals);
    let mut plot = Plot {
        title: format!("Wall time — {}", variant_title(variant)),
        x: Axis::log_covering("tasks (log scale)", all_tasks(&series)),
        y: Axis::log_covering("wall time, ms (log scale)", y_values),
        x_ticks: None,
        lines,
        unfinished: unfinished(&series),
        unfinished_edge: Edge::Top,
        legend_notes: Vec::new(),
        bands: Vec::new(),
    };
    let ideal = match (variant.waits(), variant.computes()) {
        _ if variant.reads_files() => {
            "one bare std::fs::read of such a file, timed in the cell's own process, for every \
             round of as many reads as there are cores"
        }
        _ if variant.workload == "socket" => {
            "the larger of one delay and the connections' CPU (tasks × one connection's cost, \
             timed in the cell's own process, over the cores); a cell's record names which \
             bound decided (conditions.connect_cost.bound)"
        }
        (true, false) => "all waits overlapped, so one wait however many tasks",
        (false, true) => "the work spread evenly over every core",
        (true, true) => "the waits overlapped plus the compute spread over every core",
        (false, false) => "the physical lower bound",
    };
    let disturbed =
        marks::mark_disturbed(&mut plot, &series, &[&|r: &CellRecord| r.wall_ms.median]);
    let caption = format!(
        "Each line is one model; lower is faster. The dashed line is the ideal: {ideal}. A line that climbs away \
         from it as tasks grow is doing one after another what could have overlapped.{muted}{}{disturbed}",
        machines_note(dataset)
    );
    let tips: Vec<Tip> = series
        .iter()
        .flat_map(|s| s.ok())
        .map(|r| cell_tip(r, r.tasks as f64, r.wall_ms.median))
        .collect();
    Chart::with_tips(
        format!("wall-{}", variant_id(dataset, variant)),
        &plot,
        caption,
        &tips,
    )
}

/// Chart 2: efficiency vs tasks.
fn efficiency_chart(
    dataset: &Dataset,
    variant: &Variant,
    compared: &[String],
) -> anyhow::Result<Chart> {
    let series = dataset.series(variant);
    let x = Axis::log_covering("tasks (log scale)", all_tasks(&series));
    let span = vec![(x.range.start, 1.0), (x.range.end, 1.0)];
    let threshold = vec![
        (x.range.start, GOOD_EFFICIENCY),
        (x.range.end, GOOD_EFFICIENCY),
    ];
    let mut lines: Vec<Line> = series
        .iter()
        .map(|s| {
            Line::measured(
                &s.label,
                palette::colour(&s.key.model),
                shape(s),
                s.ok().map(|r| (r.tasks as f64, r.efficiency)).collect(),
            )
        })
        .collect();
    let muted = mute_others(&mut lines, &series, compared);
    let efficiencies: Vec<f64> = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1))
        .collect();
    lines.push(Line::reference("ideal (1.0)", span));
    lines.push(Line {
        label: Some("90% of ideal".into()),
        colour: RGBColor(110, 110, 110),
        width: 2,
        stroke: Stroke::Dashed,
        marker: None,
        points: threshold,
        whiskers: Vec::new(),
    });
    let mut plot = Plot {
        title: format!("Efficiency — {}", variant_title(variant)),
        x,
        y: Axis::linear_covering("efficiency = ideal / measured", 0.0, 1.05, efficiencies),
        x_ticks: None,
        lines,
        unfinished: unfinished(&series),
        unfinished_edge: Edge::Bottom,
        legend_notes: Vec::new(),
        bands: Vec::new(),
    };
    let look_for = if variant.reads_files() {
        "Every model reads the same files; the async runtimes hand each read to a pool of \
         blocking threads (monoio submits it to io_uring instead). Look for whether that \
         hand-off made reading faster or only added a step — and see the threads chart for \
         the threads it took."
    } else if variant.waits() && !variant.computes() {
        "Look for the models that stay near 1.0 as the tasks grow: they keep every task \
         waiting at once, while a fixed number of threads falls away as soon as tasks \
         outnumber threads."
    } else if variant.computes() && !variant.waits() {
        "For computing, only cores help: look for which models hold their level as the \
         tasks grow, and which sit at 1 / cores because they compute on one thread."
    } else {
        "Here a model needs both: waits that overlap and compute on every core."
    };
    let above_ideal = series
        .iter()
        .flat_map(|s| s.ok())
        .filter(|r| r.efficiency > 1.0)
        .count();
    let above_note = if above_ideal == 0 {
        String::new()
    } else {
        format!(
            " {above_ideal} point(s) here lie above 1.0: there the ideal was not a lower bound \
             (the compute calibration ran slower than the cell, or the clock rounded)."
        )
    };
    let disturbed = marks::mark_disturbed(&mut plot, &series, &[&|r: &CellRecord| r.efficiency]);
    let caption = format!(
        "Efficiency is the ideal time divided by the measured time: 1.0 means as fast as \
         the ideal (the workload's lower bound on these cores), 0.5 took twice as long.{above_note} \
         Points above the dashed grey line are within 90% of the ideal, as counted in the \
         verdict at the top. A model's loss as tasks grow counts from its own efficiency at \
         its fewest tasks (hover a point: a timer that rounds up costs at one task already, \
         and is not concurrency's doing). {look_for}{muted}{}{disturbed}",
        machines_note(dataset)
    );
    let tips: Vec<Tip> = series
        .iter()
        .flat_map(|s| {
            let first = s.ok().next().map(|r| (r.tasks, r.efficiency));
            s.ok().map(move |r| {
                let mut tip = cell_tip(r, r.tasks as f64, r.efficiency);
                if let Some((tasks, efficiency)) = first.filter(|(tasks, _)| *tasks < r.tasks) {
                    tip.text += &format!(
                        "; its own efficiency at {} task{}: {} (×{:.2} of that here)",
                        data::count(tasks),
                        if tasks == 1 { "" } else { "s" },
                        data::efficiency_text(efficiency),
                        r.efficiency / efficiency.max(1e-9)
                    );
                }
                tip
            })
        })
        .collect();
    Chart::with_tips(
        format!("efficiency-{}", variant_id(dataset, variant)),
        &plot,
        caption,
        &tips,
    )
}

/// Chart 3: peak resident memory vs tasks.
fn memory_chart(dataset: &Dataset, variant: &Variant) -> anyhow::Result<Chart> {
    let series = dataset.series(variant);
    let lines: Vec<Line> = series
        .iter()
        .map(|s| {
            Line::measured(
                &s.label,
                palette::colour(&s.key.model),
                shape(s),
                s.ok()
                    .map(|r| (r.tasks as f64, r.peak_rss_kib as f64 / 1024.0))
                    .collect(),
            )
        })
        .collect();
    let values: Vec<f64> = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1))
        .collect();
    let plot = Plot {
        title: format!("Peak memory — {}", variant_title(variant)),
        x: Axis::log_covering("tasks (log scale)", all_tasks(&series)),
        y: Axis::log_covering("peak resident memory, MiB (log scale)", values),
        x_ticks: None,
        lines,
        unfinished: unfinished(&series),
        unfinished_edge: Edge::Top,
        legend_notes: Vec::new(),
        bands: Vec::new(),
    };
    let finished: Vec<&CellRecord> = series.iter().flat_map(|s| s.ok()).collect();
    let rule = crate::model::memory_rule();
    let not_alive = finished
        .iter()
        .filter(|r| !rule.all_alive_at_once(r))
        .count();
    let alive_note = if not_alive == 0 {
        "In every cell here every task was alive at once (checked from the peak thread \
         count, or a run shorter than two waits)."
            .to_string()
    } else {
        format!(
            "In {not_alive} of {} cells not every task was alive at once (starting them \
             outlasted the wait): their peak understates the cost, and the slope in the \
             table below leaves them out.",
            finished.len()
        )
    };
    let caption = format!(
        "Peak resident memory (RSS) of the whole process. {alive_note} The flat start is \
         the program and its runtime; the rise is what each extra task or thread costs, \
         measured as a slope in the table below. RSS counts only memory actually touched: \
         most of a thread's stack is reserved but never used, and the kernel's own memory \
         per thread is not included.{}",
        machines_note(dataset)
    );
    Chart::new(
        format!("memory-{}", variant_id(dataset, variant)),
        &plot,
        caption,
    )
}

/// Chart 4: threads used vs tasks.
fn threads_chart(dataset: &Dataset, variant: &Variant) -> anyhow::Result<Chart> {
    let series = dataset.series(variant);
    let tasks = all_tasks(&series);
    let mut lines: Vec<Line> = series
        .iter()
        .map(|s| {
            Line::measured(
                &s.label,
                palette::colour(&s.key.model),
                shape(s),
                s.ok()
                    .map(|r| (r.tasks as f64, r.peak_threads.max(1) as f64))
                    .collect(),
            )
        })
        .collect();
    let values: Vec<f64> = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1))
        .chain(tasks.iter().map(|t| t + 1.0))
        .collect();
    let x = Axis::log_covering("tasks (log scale)", tasks.clone());
    // tasks + 1 (the main thread) is a curve on log axes: draw it in small steps.
    let steps = 48;
    let ratio = (x.range.end / x.range.start).powf(1.0 / steps as f64);
    lines.push(Line {
        label: Some("one thread per task".into()),
        colour: RGBColor(110, 110, 110),
        width: 2,
        stroke: Stroke::Dashed,
        marker: None,
        points: (0..=steps)
            .map(|i| x.range.start * ratio.powi(i))
            .map(|tasks| (tasks, tasks + 1.0))
            .collect(),
        whiskers: Vec::new(),
    });
    let plot = Plot {
        title: format!("Threads — {}", variant_title(variant)),
        x,
        y: Axis::log_covering("most threads at once (log scale)", values),
        x_ticks: None,
        lines,
        unfinished: unfinished(&series),
        unfinished_edge: Edge::Top,
        legend_notes: Vec::new(),
        bands: Vec::new(),
    };
    let caption = format!(
        "The most OS threads the process had at once, including the main thread. Pools \
         and async runtimes keep a fixed set of workers however many tasks there are; \
         one thread per task follows the dotted line, until the operating system's limits \
         stop it. A count below the line means early threads had already finished before \
         the last ones started.{}{}",
        if variant.reads_files() {
            " For file reads, an async runtime's count above its workers is the blocking \
             pool it handed the reads to (io_uring's own workers count too: the kernel runs \
             them as threads of the process)."
        } else {
            ""
        },
        machines_note(dataset)
    );
    Chart::new(
        format!("threads-{}", variant_id(dataset, variant)),
        &plot,
        caption,
    )
}

/// Chart 5: speedup over sequential, with the core count as the limit.
fn speedup_chart(dataset: &Dataset, variant: &Variant) -> anyhow::Result<Option<Chart>> {
    let speedups = data::speedups(dataset, variant);
    if speedups.is_empty() {
        return Ok(None);
    }
    let series = dataset.series(variant);
    let x = Axis::log_covering("tasks (log scale)", all_tasks(&series));
    let mut lines: Vec<Line> = speedups
        .iter()
        .map(|(s, points)| {
            Line::measured(
                &s.label,
                palette::colour(&s.key.model),
                shape(s),
                points.iter().map(|(t, v)| (*t as f64, *v)).collect(),
            )
        })
        .collect();
    let mut values: Vec<f64> = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1))
        .collect();
    let mut cores_seen: Vec<usize> = dataset.machines.iter().map(|m| m.cores).collect();
    cores_seen.sort();
    cores_seen.dedup();
    for cores in &cores_seen {
        values.push(*cores as f64);
        lines.push(Line::reference(
            &format!("limit: {cores} cores"),
            vec![(x.range.start, *cores as f64), (x.range.end, *cores as f64)],
        ));
    }
    let plot = Plot {
        title: format!("Speedup over sequential — {}", variant_title(variant)),
        x,
        y: Axis::linear_covering("speedup (sequential time / model time)", 0.0, 1.5, values),
        x_ticks: None,
        lines,
        unfinished: unfinished(&series),
        unfinished_edge: Edge::Bottom,
        legend_notes: Vec::new(),
        bands: Vec::new(),
    };
    let python = series.iter().any(|s| data::is_python(&s.key.model));
    let mut caption = format!(
        "How many times faster than the same jobs run one after another on one thread{}. \
         The dashed line is the number of cores, the most any model can reach: for \
         computing, only running on several cores at once helps, whether the code is \
         async or not. A model that runs every task on one thread cannot pass 1.{}",
        if python {
            " (the Python mirror's models against py-sequential, the lab's against sequential)"
        } else {
            ""
        },
        machines_note(dataset)
    );
    if let Some(gil) = super::gil::gil_sentence(dataset, variant) {
        caption += &format!(" {gil}");
    }
    Ok(Some(Chart::new(
        format!("speedup-{}", variant_id(dataset, variant)),
        &plot,
        caption,
    )?))
}

/// Chart 6: completion latency p50 and p99 for a workload that waits.
fn latency_chart(dataset: &Dataset, variant: &Variant) -> anyhow::Result<Chart> {
    let series = dataset.series(variant);
    let x = Axis::log_covering("tasks (log scale)", all_tasks(&series));
    let mut lines = Vec::new();
    for s in &series {
        let colour = palette::colour(&s.key.model);
        lines.push(Line::measured(
            &s.label,
            colour,
            shape(s),
            s.ok().map(|r| (r.tasks as f64, r.latency_ms.p50)).collect(),
        ));
        lines.push(Line {
            label: None,
            colour,
            width: 2,
            stroke: Stroke::Dotted,
            // Hollow markers mean "disturbed" on every chart: p99 gets its
            // own shape instead (one machine; several keep their shapes).
            marker: Some(Marker {
                shape: if dataset.machines.len() > 1 {
                    shape(s)
                } else {
                    Shape::Triangle
                },
                filled: true,
            }),
            points: s.ok().map(|r| (r.tasks as f64, r.latency_ms.p99)).collect(),
            whiskers: Vec::new(),
        });
    }
    let mut values: Vec<f64> = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1))
        .collect();
    if variant.sleep_ms > 0.0 {
        values.push(variant.sleep_ms);
        lines.push(Line::reference(
            "one wait (the floor)",
            vec![
                (x.range.start, variant.sleep_ms),
                (x.range.end, variant.sleep_ms),
            ],
        ));
    }
    let grey = RGBColor(0, 0, 0);
    let note = |stroke, shape, label: &str| {
        (
            Line {
                label: None,
                colour: grey,
                width: if stroke == Stroke::Solid { 3 } else { 2 },
                stroke,
                marker: Some(Marker {
                    shape,
                    filled: true,
                }),
                points: Vec::new(),
                whiskers: Vec::new(),
            },
            label.to_string(),
        )
    };
    let mut plot = Plot {
        title: format!("Latency p50 / p99 — {}", variant_title(variant)),
        x,
        y: Axis::log_covering("task completion time, ms (log scale)", values),
        x_ticks: None,
        lines,
        unfinished: unfinished(&series),
        unfinished_edge: Edge::Top,
        legend_notes: vec![
            note(Stroke::Solid, Shape::Circle, "p50 (median task)"),
            note(Stroke::Dotted, Shape::Triangle, "p99"),
        ],
        bands: Vec::new(),
    };
    let disturbed = marks::mark_disturbed(
        &mut plot,
        &series,
        &[&|r: &CellRecord| r.latency_ms.p50, &|r: &CellRecord| {
            r.latency_ms.p99
        }],
    );
    let caption = format!(
        "When each task finished, counted from the start of the batch: the median task \
         (p50, solid) and the 99th percentile (p99, dotted, hollow markers). The dashed \
         line is one wait, the earliest a task can finish. A p99 far above the p50 means \
         tasks queued for a free thread before they could even start waiting.{}{disturbed}",
        machines_note(dataset)
    );
    Chart::new(
        format!("latency-{}", variant_id(dataset, variant)),
        &plot,
        caption,
    )
}

/// Chart 7: timer precision, requested vs actual sleep.
fn timer_chart(dataset: &Dataset, timers: &[TimerRecord]) -> anyhow::Result<Option<Chart>> {
    if timers.is_empty() {
        return Ok(None);
    }
    let mut requested: Vec<f64> = timers.iter().map(|t| t.requested_ms).collect();
    requested.sort_by(f64::total_cmp);
    requested.dedup();
    // One series per timer and machine, side by side within each group.
    let mut keys: Vec<(String, String, usize)> = Vec::new();
    for t in timers {
        let machine = dataset.machine_index(&t.machine).unwrap_or(0);
        let key = (t.timer.clone(), t.model.clone(), machine);
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    let width = 0.7;
    let step = width / keys.len().max(1) as f64;
    let mut lines = Vec::new();
    for (index, (timer, model_name, machine)) in keys.iter().enumerate() {
        let offset = -width / 2.0 + step * (index as f64 + 0.5);
        let records: Vec<&TimerRecord> = timers
            .iter()
            .filter(|t| {
                &t.timer == timer && dataset.machine_index(&t.machine).unwrap_or(0) == *machine
            })
            .collect();
        let position = |t: &TimerRecord| {
            requested
                .iter()
                .position(|r| *r == t.requested_ms)
                .unwrap_or(0) as f64
                + 1.0
                + offset
        };
        let mut label = model::label(timer);
        if dataset.machines.len() > 1 {
            label += &format!(" · {}", Dataset::machine_name(*machine));
        }
        let colour = palette::colour(model_name);
        lines.push(Line {
            label: Some(label),
            colour,
            width: 3,
            stroke: Stroke::None,
            marker: Some(Marker {
                shape: Shape::for_machine(*machine),
                filled: true,
            }),
            points: records
                .iter()
                .map(|t| (position(t), t.actual_ms.median))
                .collect(),
            whiskers: records
                .iter()
                .map(|t| (position(t), t.actual_ms.min, t.actual_ms.max))
                .collect(),
        });
    }
    let values: Vec<f64> = timers
        .iter()
        .flat_map(|t| [t.actual_ms.min, t.actual_ms.max, t.requested_ms])
        .collect();
    for (index, ms) in requested.iter().enumerate() {
        let centre = index as f64 + 1.0;
        let mut line = Line::reference(
            "time requested",
            vec![(centre - 0.45, *ms), (centre + 0.45, *ms)],
        );
        if index > 0 {
            line.label = None;
        }
        lines.push(line);
    }
    let samples = timers.iter().map(|t| t.samples).max().unwrap_or(0);
    let plot = Plot {
        title: "Timer precision — requested vs actual sleep".into(),
        x: Axis {
            description: "sleep requested".into(),
            log: false,
            range: 0.5..requested.len() as f64 + 0.5,
        },
        y: Axis::log_covering("actual sleep, ms (log scale)", values),
        x_ticks: Some(
            requested
                .iter()
                .enumerate()
                .map(|(i, ms)| (i as f64 + 1.0, format!("{} ms", data::number(*ms))))
                .collect(),
        ),
        lines,
        unfinished: Vec::new(),
        unfinished_edge: Edge::Top,
        legend_notes: Vec::new(),
        bands: Vec::new(),
    };
    let early: Vec<&TimerRecord> = timers
        .iter()
        .filter(|t| t.actual_ms.min < t.requested_ms)
        .collect();
    let early_note = match early.first() {
        None => "no timer woke early here".to_string(),
        Some(first) => format!(
            "{} of {} timer measurements woke early at least once (e.g. {} on {}: {} ms for {} ms)",
            early.len(),
            timers.len(),
            first.timer,
            first.model,
            data::number(first.actual_ms.min),
            data::number(first.requested_ms)
        ),
    };
    let caption = format!(
        "Each timer was asked to sleep {}, {samples} times each after one untimed \
         warm-up; the marker is the median and the whisker spans the shortest and longest \
         sleep. The dashed line marks the time requested: {early_note}, and the \
         gap above it is the timer's overshoot. tokio's timer counts whole milliseconds and \
         rounds a sleep up to the next one, so compare runtimes with waits of 10 ms or more.",
        data::join_words(
            &requested
                .iter()
                .map(|ms| format!("{} ms", data::number(*ms)))
                .collect::<Vec<_>>()
        )
    );
    Ok(Some(Chart::new("timers".into(), &plot, caption)?))
}

/// Every chart, in the order the page shows them. `compared` names, per
/// workload, the models the decision table compares there: the wall-time
/// and efficiency charts draw them in colour and the rest grey.
pub fn all(
    dataset: &Dataset,
    timers: &[TimerRecord],
    compared: &[(String, Vec<String>)],
) -> anyhow::Result<Vec<Chart>> {
    let variants = dataset.variants();
    let mut charts = Vec::new();
    for variant in &variants {
        let models = compared_models(dataset, variant, compared);
        charts.push(wall_chart(dataset, variant, &models)?);
        charts.push(efficiency_chart(dataset, variant, &models)?);
    }
    for variant in variants.iter().filter(|v| v.workload == "sleep") {
        charts.push(memory_chart(dataset, variant)?);
        charts.push(threads_chart(dataset, variant)?);
    }
    // The threads a runtime starts for file reads (its blocking pool) are the lesson there.
    for variant in variants.iter().filter(|v| v.reads_files()) {
        charts.push(threads_chart(dataset, variant)?);
    }
    for variant in variants.iter().filter(|v| v.workload == "cpu") {
        charts.extend(speedup_chart(dataset, variant)?);
    }
    for variant in variants.iter().filter(|v| v.waits()) {
        charts.push(latency_chart(dataset, variant)?);
    }
    charts.extend(timer_chart(dataset, timers)?);
    Ok(charts)
}
