//! fan-out: three tasks that each wait finish in about one wait when run
//! concurrently, instead of three waits one after another.
//!
//! The lab's `sleep` workload, cell by cell: `sequential` waits one task at
//! a time; the threads and every async runtime start all tasks at once.
//! Then the fan-out is scaled up (10,000 async tasks, 1,000 threads) to see
//! whether "about one wait" survives. A fixed pool with fewer workers than
//! tasks is included on purpose: it fans out only as wide as it has threads.

use super::{figure, median_ms, threshold, Claim, Trial, Trials, Verdict};

pub const CLAIM: Claim = Claim {
    id: "fan-out",
    claim: "Three tasks that each wait finish in about one wait when run concurrently, not in three waits.",
    experiment: "3 tasks × 100 ms wait: sequential vs threads, a fixed pool (workers = cores) and each async runtime; then 10,000 async tasks and 1,000 threads.",
    run,
};

/// Tasks in the small fan-out (the claim's three).
const TASKS: u64 = 3;
/// Each task's wait, ms: long against tokio's 1 ms timer granularity.
const WAIT_MS: f64 = 100.0;
/// Scaled-up fan-out for the async runtimes.
const ASYNC_SCALED_TASKS: u64 = 10_000;
/// Scaled-up fan-out for one-thread-per-task.
const THREADS_SCALED_TASKS: u64 = 1_000;
/// A concurrent run "takes about one wait" when its median wall is at most
/// this many waits.
pub const CONCURRENT_MAX_WAITS: f64 = 1.5;
/// A run "waits one after another" when its median wall is at least this
/// fraction of the sum of the waits.
pub const SEQUENTIAL_MIN_FRACTION: f64 = 0.9;

const CONCURRENT_MODELS: &[&str] = &[
    "threads",
    "thread-pool",
    "tokio",
    "tokio-current",
    "smol",
    "async-std",
];

fn run(trials: &Trials) -> Trial {
    let repeats = trials.repeats();
    let spec = |model: &str, tasks: u64| {
        let mut spec = trials.spec("sleep", model, tasks);
        spec.sleep_ms = WAIT_MS;
        spec
    };
    let mut commands = Vec::new();
    let mut measure = |model: &str, tasks: u64| {
        let record = trials.cell(spec(model, tasks), repeats);
        commands.push(record.command.clone());
        median_ms(&record)
    };

    let sequential = match measure("sequential", TASKS) {
        Ok(ms) => ms,
        Err(error) => return Trial::not_measured(error, commands),
    };
    let mut small = Vec::new();
    for model in CONCURRENT_MODELS {
        match measure(model, TASKS) {
            Ok(ms) => small.push((model.to_string(), TASKS, ms)),
            Err(error) => return Trial::not_measured(error, commands),
        }
    }
    let mut scaled = Vec::new();
    for (model, tasks) in [
        ("tokio", ASYNC_SCALED_TASKS),
        ("smol", ASYNC_SCALED_TASKS),
        ("threads", THREADS_SCALED_TASKS),
    ] {
        // A scaled cell that fails is a finding, not a broken experiment.
        scaled.push((model.to_string(), tasks, measure(model, tasks)));
    }

    let sum_of_waits = TASKS as f64 * WAIT_MS;
    let one_after_another = sequential >= SEQUENTIAL_MIN_FRACTION * sum_of_waits;
    let about_one_wait = |ms: f64| ms <= CONCURRENT_MAX_WAITS * WAIT_MS;
    let fanned: Vec<&(String, u64, f64)> = small.iter().filter(|m| about_one_wait(m.2)).collect();
    let not_fanned: Vec<String> = small
        .iter()
        .filter(|m| !about_one_wait(m.2))
        .map(|(model, tasks, ms)| format!("{model} at {tasks}: {ms:.0} ms"))
        .chain(
            scaled
                .iter()
                .filter_map(|(model, tasks, outcome)| match outcome {
                    Ok(ms) if about_one_wait(*ms) => None,
                    Ok(ms) => Some(format!("{model} at {tasks}: {ms:.0} ms")),
                    Err(error) => Some(format!("{model} at {tasks}: {error}")),
                }),
        )
        .collect();

    let mut figures = vec![figure("sequential, 3 tasks", sequential, "ms")];
    figures.extend(
        small
            .iter()
            .map(|(model, tasks, ms)| figure(format!("{model}, {tasks} tasks"), *ms, "ms")),
    );
    figures.extend(scaled.iter().filter_map(|(model, tasks, outcome)| {
        outcome
            .as_ref()
            .ok()
            .map(|ms| figure(format!("{model}, {tasks} tasks"), *ms, "ms"))
    }));
    let measured = format!(
        "3 × {WAIT_MS:.0} ms: sequential {sequential:.0} ms; {}. Scaled: {}.",
        small
            .iter()
            .map(|(model, _, ms)| format!("{model} {ms:.0}"))
            .collect::<Vec<_>>()
            .join(", ")
            + " ms",
        scaled
            .iter()
            .map(|(model, tasks, outcome)| match outcome {
                Ok(ms) => format!("{model} × {tasks} {ms:.0} ms"),
                Err(_) => format!("{model} × {tasks} failed"),
            })
            .collect::<Vec<_>>()
            .join(", ")
    );
    let (verdict, caveat) = if !one_after_another || fanned.is_empty() {
        (Verdict::DoesNotHold, None)
    } else if not_fanned.is_empty() {
        (Verdict::Holds, None)
    } else {
        (
            Verdict::HoldsWithACaveat,
            Some(format!(
                "only as wide as the model fans out — more than {CONCURRENT_MAX_WAITS} waits for: {}",
                not_fanned.join("; ")
            )),
        )
    };
    let decided_by = format!(
        "sequential {sequential:.0} ms {} {SEQUENTIAL_MIN_FRACTION} × {sum_of_waits:.0} ms; \
         {} of {} concurrent models at 3 tasks ≤ {CONCURRENT_MAX_WAITS} × {WAIT_MS:.0} ms; \
         workers = cores = {}",
        if one_after_another { "≥" } else { "<" },
        fanned.len(),
        small.len(),
        trials.cores
    );
    Trial {
        measured,
        figures,
        verdict,
        caveat,
        decided_by,
        thresholds: vec![
            threshold(
                "CONCURRENT_MAX_WAITS",
                CONCURRENT_MAX_WAITS,
                "a concurrent run takes at most this many waits",
            ),
            threshold(
                "SEQUENTIAL_MIN_FRACTION",
                SEQUENTIAL_MIN_FRACTION,
                "a sequential run takes at least this fraction of the sum of waits",
            ),
        ],
        cell_commands: commands,
        chart: None,
    }
}
