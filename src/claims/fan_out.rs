//! fan-out: three tasks that each wait finish in about one wait when run
//! concurrently, instead of three waits one after another.
//!
//! The lab's `sleep` workload, cell by cell: `sequential` waits one task at
//! a time; the threads and every async runtime start all tasks at once.
//! Then the fan-out is scaled up (10,000 async tasks, 1,000 threads) to see
//! whether "about one wait" survives. A fixed pool of `cores` workers is
//! shown beside them as a demonstration, outside the verdict: whether it
//! covers three tasks depends only on how many cores the machine has (two
//! workers take two waits for three tasks), not on anything measured.

use super::{decide, figure, median_ms, threshold, Claim, Failure, Trial, Trials, Verdict};

pub const CLAIM: Claim = Claim {
    id: "fan-out",
    claim: "Three tasks that each wait finish in about one wait when run concurrently, not in three waits.",
    demonstrates: None,
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

/// What the experiment measured: median walls, ms.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Figures {
    /// `sequential` at 3 tasks.
    pub sequential: f64,
    /// (model, tasks, wall) for each concurrent model at 3 tasks.
    pub small: Vec<(String, u64, f64)>,
    /// The fixed pool (workers = cores) at 3 tasks: the demonstration.
    pub pool: Result<f64, String>,
    /// The scaled-up cells; a failure is a finding, kept with its reason.
    pub scaled: Vec<(String, u64, Result<f64, String>)>,
    pub cores: usize,
    /// The `run` commands of the cells.
    pub cell_commands: Vec<String>,
}

fn run(trials: &Trials) -> Trial {
    decide(measure(trials), judge)
}

/// The experiment: the lab's sleep cells, one child process per repeat.
fn measure(trials: &Trials) -> Result<Figures, Failure> {
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
    let sequential = measure("sequential", TASKS);
    let mut small = Vec::new();
    let mut failed = sequential.clone().err();
    // Every model that starts all tasks at once, whatever the machine.
    for model in super::all_at_once(TASKS) {
        match measure(model, TASKS) {
            Ok(ms) => small.push((model.to_string(), TASKS, ms)),
            Err(error) => failed = failed.or(Some(error)),
        }
    }
    let pool = measure("thread-pool", TASKS);
    let mut scaled = Vec::new();
    for (model, tasks) in [
        ("tokio", ASYNC_SCALED_TASKS),
        ("smol", ASYNC_SCALED_TASKS),
        ("threads", THREADS_SCALED_TASKS),
    ] {
        scaled.push((model.to_string(), tasks, measure(model, tasks)));
    }
    match (sequential, failed) {
        (Ok(sequential), None) => Ok(Figures {
            sequential,
            small,
            pool,
            scaled,
            cores: trials.cores,
            cell_commands: commands,
        }),
        (_, Some(error)) | (Err(error), None) => Err(Failure::new(error, commands)),
    }
}

/// The rule, a pure function of the figures: sequential must add the waits
/// up, and every concurrent model must take about one wait at 3 tasks and
/// when scaled up. The pool is described, never judged.
pub(crate) fn judge(figures: &Figures) -> Trial {
    let Figures {
        sequential,
        small,
        pool,
        scaled,
        cores,
        cell_commands,
    } = figures;
    let sequential = *sequential;
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

    let mut figure_list = vec![figure("sequential, 3 tasks", sequential, "ms")];
    figure_list.extend(
        small
            .iter()
            .map(|(model, tasks, ms)| figure(format!("{model}, {tasks} tasks"), *ms, "ms")),
    );
    if let Ok(ms) = pool {
        figure_list.push(figure(
            format!("thread-pool ({cores} workers), 3 tasks"),
            *ms,
            "ms",
        ));
    }
    figure_list.extend(scaled.iter().filter_map(|(model, tasks, outcome)| {
        outcome
            .as_ref()
            .ok()
            .map(|ms| figure(format!("{model}, {tasks} tasks"), *ms, "ms"))
    }));
    let pool_text = match pool {
        Ok(ms) => format!(
            "Demonstration (not judged): a pool of {cores} workers ran the 3 tasks in {ms:.0} ms, {:.1} waits — it fans out only as wide as its workers.",
            ms / WAIT_MS
        ),
        Err(error) => format!("Demonstration (not judged): the pool of {cores} workers failed: {error}."),
    };
    let measured = format!(
        "3 × {WAIT_MS:.0} ms: sequential {sequential:.0} ms; {}. Scaled: {}. {pool_text}",
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
                "not for every model or size here — more than {CONCURRENT_MAX_WAITS} waits for: {}",
                not_fanned.join("; ")
            )),
        )
    };
    let decided_by = format!(
        "sequential {sequential:.0} ms {} {SEQUENTIAL_MIN_FRACTION} × {sum_of_waits:.0} ms; \
         {} of {} concurrent models at 3 tasks and {} of {} scaled cells ≤ {CONCURRENT_MAX_WAITS} × {WAIT_MS:.0} ms; \
         the pool (workers = cores = {cores}) is not judged",
        if one_after_another { "≥" } else { "<" },
        fanned.len(),
        small.len(),
        scaled
            .iter()
            .filter(|(_, _, o)| o.as_ref().is_ok_and(|ms| about_one_wait(*ms)))
            .count(),
        scaled.len(),
    );
    Trial {
        measured,
        figures: figure_list,
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
        cell_commands: cell_commands.clone(),
        chart: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures(sequential: f64, small_ms: f64, scaled: Result<f64, String>) -> Figures {
        Figures {
            sequential,
            small: crate::claims::all_at_once(TASKS)
                .iter()
                .map(|m| (m.to_string(), TASKS, small_ms))
                .collect(),
            pool: Ok(200.0),
            scaled: vec![("tokio".into(), ASYNC_SCALED_TASKS, scaled)],
            cores: 2,
            cell_commands: vec![],
        }
    }

    #[test]
    fn about_one_wait_everywhere_holds_whatever_the_pool_did() {
        let trial = judge(&figures(301.0, 101.0, Ok(120.0)));
        assert_eq!(trial.verdict, Verdict::Holds);
        assert!(trial
            .measured
            .contains("Demonstration (not judged): a pool of 2 workers"));
    }

    #[test]
    fn a_slow_or_failed_scaled_cell_is_a_caveat() {
        let slow = judge(&figures(301.0, 101.0, Ok(400.0)));
        assert_eq!(slow.verdict, Verdict::HoldsWithACaveat);
        assert!(slow.caveat.unwrap().contains("tokio at 10000: 400 ms"));
        let failed = judge(&figures(301.0, 101.0, Err("limit reached".into())));
        assert!(failed.caveat.unwrap().contains("limit reached"));
    }

    #[test]
    fn no_model_taking_about_one_wait_does_not_hold() {
        assert_eq!(
            judge(&figures(301.0, 290.0, Ok(120.0))).verdict,
            Verdict::DoesNotHold
        );
        // Nor when the sequential baseline did not add up its waits.
        assert_eq!(
            judge(&figures(120.0, 101.0, Ok(120.0))).verdict,
            Verdict::DoesNotHold
        );
    }
}
