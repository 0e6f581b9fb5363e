//! "Published figures": what public write-ups measured, beside what this
//! run measured — always labelled with source and hardware, never mixed
//! into the lab's data. The published side is copied from the project's
//! shared notes (`published-figures.md`); the measured side is computed from
//! this run's records, or says plainly that it was not measured.

use super::data::{self, Dataset};
use crate::model;
use crate::record::costs::UnitCosts;
use crate::record::result::Status;
use crate::record::timers::TimerRecord;

/// One published figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Published {
    pub topic: Topic,
    pub what: &'static str,
    pub figure: &'static str,
    pub source: &'static str,
    pub hardware: &'static str,
}

/// What a published figure is about, so the lab can put its own figure beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    SwitchCost,
    SpawnCost,
    MemoryFit,
    ConcurrencyCeiling,
    /// Peak memory with this many sleeping tasks.
    SleepingMemory(u64),
    /// Peak memory with this many sleeping threads.
    SleepingThreads(u64),
    TimerPrecision,
}

const CONTEXT_SWITCH: &str = "jimblandy/context-switch README";
const LAPTOP: &str = "4-core/8-thread laptop";

/// The published figures (from the project's `published-figures.md`).
pub const PUBLISHED: &[Published] = &[
    Published {
        topic: Topic::SwitchCost,
        what: "switch cost: async task vs thread",
        figure: "~0.2 µs vs ~1.7 µs; both ~1.7 µs when the switch is driven by I/O readiness",
        source: CONTEXT_SWITCH,
        hardware: LAPTOP,
    },
    Published {
        topic: Topic::SpawnCost,
        what: "spawn cost: task vs thread creation",
        figure: "~0.3 µs vs ~17 µs",
        source: CONTEXT_SWITCH,
        hardware: LAPTOP,
    },
    Published {
        topic: Topic::MemoryFit,
        what: "memory per unit",
        figure: "~0.4 KiB per tokio task vs ~9.5 KiB user (+~10 KiB kernel) per thread; \
                 50k units: 21 MiB vs 466 MiB RSS",
        source: "jimblandy/context-switch README and its issue #4",
        hardware: LAPTOP,
    },
    Published {
        topic: Topic::ConcurrencyCeiling,
        what: "concurrency ceiling",
        figure: "250k tasks fine; ~80k threads max after raising limits",
        source: CONTEXT_SWITCH,
        hardware: "4-core/8-thread laptop, 32 GiB",
    },
    Published {
        topic: Topic::SleepingMemory(10_000),
        what: "10k tasks sleeping, peak memory",
        figure: "Rust threads 48.3 MB, tokio 4.6 MB, async-std 8.1 MB",
        source: "Piotr Kołaczkowski, \"How much memory do you need to run 1 million \
                 concurrent tasks?\" (2023)",
        hardware: "Xeon E3-1505M v6",
    },
    Published {
        topic: Topic::SleepingMemory(1_000_000),
        what: "1M tasks sleeping, peak memory",
        figure: "tokio 213.6 MB, async-std 527.7 MB; 100k threads could not launch",
        source: "Piotr Kołaczkowski (2023), as above",
        hardware: "Xeon E3-1505M v6",
    },
    Published {
        topic: Topic::SleepingMemory(1_000_000),
        what: "1M tasks sleeping, 2024 rerun",
        figure: "tokio spawn 439 MB, async-std 502 MB, futures join_all 207 MB",
        source: "hez2010/async-runtimes-benchmarks-2024",
        hardware: "i7-13700K",
    },
    Published {
        topic: Topic::SleepingThreads(10_000),
        what: "10k threads sleeping",
        figure: "~97 MB RSS (~9.7 KB/thread); 20k threads hit threads-max",
        source: "manforowicz, intro_to_rust_async overhead experiment",
        hardware: "not given",
    },
    Published {
        topic: Topic::TimerPrecision,
        what: "timer precision",
        figure: "tokio sleeps at 1 ms granularity (rounds up); async-io timers precise on Linux",
        source: "tokio/src/time/sleep.rs docs; async-io docs",
        hardware: "—",
    },
];

/// One row of the comparison table.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ComparisonRow {
    pub what: String,
    pub measured: String,
    pub published: String,
    pub source: String,
    pub hardware: String,
}

/// The not-measured wording for costs the report's run does not measure.
pub const COST_NOT_MEASURED: &str = "not measured in this run (run cargo bench)";

fn format_ns(ns: f64) -> String {
    if ns >= 1_000.0 {
        format!("{:.1} µs", ns / 1_000.0)
    } else {
        format!("{ns:.0} ns")
    }
}

/// The measured costs; how they were measured is said once, under the table.
fn costs(list: &[(String, f64)]) -> String {
    if list.is_empty() {
        return COST_NOT_MEASURED.to_string();
    }
    list.iter()
        .map(|(kind, ns)| format!("{kind} {}", format_ns(*ns)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The models whose figures the published work reports.
const COMPARED: &[&str] = &["threads", "tokio", "async-std", "smol"];

fn memory_per_unit(dataset: &Dataset) -> String {
    let rows = data::memory_per_unit(dataset);
    let parts: Vec<String> = rows
        .iter()
        .filter(|r| COMPARED.contains(&r.model.as_str()))
        .filter_map(|r| {
            let fit = r.fit?;
            Some(format!(
                "{} {} per task (r² {:.2})",
                r.label,
                data::bytes(fit.slope * 1024.0),
                fit.r_squared
            ))
        })
        .collect();
    if parts.is_empty() {
        format!(
            "not measured: needs sleep cells at {} or more task counts per model",
            data::MIN_FIT_POINTS
        )
    } else {
        parts.join("; ")
    }
}

fn ceiling(dataset: &Dataset) -> String {
    let rows = data::ceilings(dataset);
    let parts: Vec<String> = rows
        .iter()
        .filter(|r| COMPARED.contains(&r.model.as_str()))
        .map(|r| {
            let reached = r.largest_ok.map_or_else(
                || "none finished".to_string(),
                |t| format!("{} finished", data::count(t)),
            );
            match r.smallest_unfinished {
                Some((tasks, status)) => {
                    format!("{} {reached}, {} {status}", r.label, data::count(tasks))
                }
                None => format!("{} {reached}", r.label),
            }
        })
        .collect();
    if parts.is_empty() {
        "not measured (no sleep cells)".into()
    } else {
        format!(
            "largest sleep cells in this run: {} (a larger run, e.g. --profile full, goes further)",
            parts.join("; ")
        )
    }
}

fn largest_sleep(dataset: &Dataset) -> u64 {
    dataset
        .records
        .iter()
        .filter(|r| r.workload == "sleep")
        .map(|r| r.tasks)
        .max()
        .unwrap_or(0)
}

fn sleeping_memory(dataset: &Dataset, tasks: u64, models: &[&str]) -> String {
    let parts: Vec<String> = dataset
        .records
        .iter()
        .filter(|r| r.workload == "sleep" && r.tasks == tasks && models.contains(&r.model.as_str()))
        .map(|r| match r.status {
            Status::Ok => format!(
                "{} {:.1} MiB",
                model::label(&r.model),
                r.peak_rss_kib as f64 / 1024.0
            ),
            other => format!("{} {}", model::label(&r.model), other.as_str()),
        })
        .collect();
    if parts.is_empty() {
        format!(
            "not measured at {} tasks (largest sleep cell: {})",
            data::count(tasks),
            data::count(largest_sleep(dataset))
        )
    } else {
        format!("peak RSS: {}", parts.join(", "))
    }
}

fn timer_precision(timers: &[TimerRecord]) -> String {
    let smallest = timers
        .iter()
        .map(|t| t.requested_ms)
        .fold(f64::INFINITY, f64::min);
    let parts: Vec<String> = timers
        .iter()
        .filter(|t| t.requested_ms == smallest)
        .map(|t| {
            format!(
                "{} {} ms → {} ms",
                model::label(&t.timer),
                data::number(t.requested_ms),
                data::ms(t.actual_ms.median)
            )
        })
        .collect();
    if parts.is_empty() {
        "not measured in this run".into()
    } else {
        format!("median sleep: {}", parts.join(", "))
    }
}

/// The comparison table: each published figure beside the lab's own.
pub fn comparison(
    dataset: &Dataset,
    timers: &[TimerRecord],
    unit_costs: &UnitCosts,
) -> Vec<ComparisonRow> {
    PUBLISHED
        .iter()
        .map(|published| {
            let measured = match published.topic {
                Topic::SwitchCost => costs(&unit_costs.switch_ns),
                Topic::SpawnCost => costs(&unit_costs.spawn_ns),
                Topic::MemoryFit => memory_per_unit(dataset),
                Topic::ConcurrencyCeiling => ceiling(dataset),
                Topic::SleepingMemory(tasks) => {
                    sleeping_memory(dataset, tasks, &["threads", "tokio", "async-std"])
                }
                Topic::SleepingThreads(tasks) => sleeping_memory(dataset, tasks, &["threads"]),
                Topic::TimerPrecision => timer_precision(timers),
            };
            ComparisonRow {
                what: published.what.to_string(),
                measured,
                published: published.figure.to_string(),
                source: published.source.to_string(),
                hardware: published.hardware.to_string(),
            }
        })
        .collect()
}
