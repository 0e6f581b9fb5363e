//! What the CPU workload says about Python threads and the GIL: a sentence
//! for the CPU speedup chart, computed from the records (the speedups and
//! the cores each cell kept busy), never asserted in advance.

use super::data::{self, Dataset, Variant};
use super::python::{base, FREE_THREADED};
use crate::record::result::{CellRecord, Status};

/// Python threads "kept about one core busy" at or below this many cores
/// (CPU time ÷ wall time): with the GIL, one thread runs Python at a time.
pub const ONE_CORE_MAX: f64 = 1.2;

/// A speedup at or above this, with about one core busy, means the
/// one-thread baseline was slowed by other load.
pub const DISTURBED_SPEEDUP: f64 = 1.25;

/// Cores a cell kept busy: its CPU time (user + system) over its median
/// wall time. Not for `py-processes`, whose workers' CPU time is not
/// counted in the record.
pub fn cores_busy(record: &CellRecord) -> Option<f64> {
    let counted = record.status == Status::Ok
        && record.wall_ms.median > 0.0
        && base(&record.model) != "py-processes";
    counted.then(|| (record.cpu_user_ms + record.cpu_sys_ms) / record.wall_ms.median)
}

/// A sentence on Python threads and the GIL for the CPU speedup chart of
/// `variant`, when it holds `py-threads` and `py-sequential` at the same
/// task count. Computed from the records: the speedups at the largest such
/// count, and the cores each kept busy (CPU time ÷ wall time, which a busy
/// machine cannot fake upwards). The GIL is named only when some model
/// kept more than about one core busy on the same machine — otherwise the
/// sentence says the machine was too busy to show it.
pub fn gil_sentence(dataset: &Dataset, variant: &Variant) -> Option<String> {
    let speedups = data::speedups(dataset, variant);
    let (series, tasks, speedup) = speedups
        .iter()
        .filter(|(s, _)| base(&s.key.model) == "py-threads")
        .flat_map(|(s, points)| points.iter().map(move |(t, v)| (s, *t, *v)))
        .max_by_key(|(s, tasks, _)| (std::cmp::Reverse(s.key.machine), *tasks))?;
    let machine = series.key.machine;
    let cores = dataset.machines.get(machine).map_or(1, |m| m.cores);
    let suffix = if series.key.model.ends_with(FREE_THREADED) {
        FREE_THREADED
    } else {
        ""
    };
    let record = |model: &str| {
        dataset.records.iter().find(|r| {
            r.model == model
                && r.tasks == tasks
                && variant.workload == r.workload
                && variant.cpu_us == r.cpu_us
                && variant.sleep_ms == r.sleep_ms
                && dataset.machine_of(r) == machine
        })
    };
    let speedup_of = |model: &str| {
        speedups
            .iter()
            .filter(|(s, _)| s.key.model == model && s.key.machine == machine)
            .flat_map(|(_, points)| points.iter())
            .find(|(t, _)| *t == tasks)
            .map(|(_, speedup)| *speedup)
    };
    let threads_busy = record(&series.key.model).and_then(cores_busy)?;
    let sequential = format!("py-sequential{suffix}");
    let sequential_busy = record(&sequential).and_then(cores_busy);
    let mut sentence = format!(
        "On the {} CPU jobs, Python threads ({}) ran ×{speedup:.2} as fast as {sequential} \
         and kept {threads_busy:.2} cores busy (CPU time ÷ wall time)",
        data::count(tasks),
        series.label
    );
    let processes = format!("py-processes{suffix}");
    if let Some(v) = speedup_of(&processes) {
        sentence += &format!("; {processes} ran ×{v:.2}");
    }
    // The lab's own thread per task, as the registry names it.
    let rust_threads = crate::model::thread_per_task().name();
    if let (Some(v), Some(busy)) = (
        speedup_of(rust_threads),
        record(rust_threads).and_then(cores_busy),
    ) {
        sentence += &format!("; the lab's Rust threads ×{v:.2}, keeping {busy:.2} cores busy");
    }
    sentence += &format!(" (at most ×{cores} on {cores} cores).");
    if cores < 2 {
        return Some(sentence);
    }
    // The most cores any cell kept busy on this machine: what it had to give.
    let (best_model, best_busy) = dataset
        .records
        .iter()
        .filter(|r| r.workload == "cpu" && dataset.machine_of(r) == machine)
        .filter(|r| base(&r.model) != "py-threads")
        .filter_map(|r| cores_busy(r).map(|busy| (r.model.clone(), busy)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap_or_default();
    if threads_busy > ONE_CORE_MAX {
        sentence += &format!(
            " Python threads computed on more than one core at once here{}.",
            if suffix.is_empty() {
                " (work outside the GIL)"
            } else {
                ", on a free-threaded interpreter with the GIL off"
            }
        );
    } else if best_busy > ONE_CORE_MAX {
        sentence += &format!(
            " Python threads kept no more than about one core busy, while {best_model} kept \
             {best_busy:.2} busy on the same machine: the GIL lets one thread run Python code \
             at a time."
        );
    } else {
        sentence += &format!(
            " No CPU cell kept more than {best_busy:.2} cores busy on this machine, so it was \
             too busy to show the GIL: run the mirror and the sweep again on a quiet machine."
        );
    }
    if threads_busy <= ONE_CORE_MAX && speedup >= DISTURBED_SPEEDUP {
        sentence += &format!(
            " A ×{speedup:.2} speedup with about one core busy comes from a slowed baseline{}, \
             not from parallelism.",
            sequential_busy
                .map(|busy| format!(" ({sequential} kept only {busy:.2} cores busy)"))
                .unwrap_or_default()
        );
    }
    if speedup_of(rust_threads).is_none() {
        sentence += &format!(
            " To chart Rust beside it, measure the lab with the same jobs \
             (async-vs-blocking sweep --workloads cpu --models sequential,threads \
             --tasks {tasks} --cpu-us {} --out reports/cpu-same) and add that \
             results.jsonl to --input.",
            data::number(variant.cpu_us)
        );
    }
    Some(sentence)
}
