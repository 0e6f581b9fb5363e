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
//!
//! The claim is a demonstration: a model that starts every task at once
//! overlaps their waits by construction, and sequential waits add up by
//! construction (physics: a wall cannot be shorter than the waits it
//! contains). What the run can show is *how close* to one wait each model
//! comes, and where scaling up breaks it (a thread limit, a slow start).

use super::{decide, figure, median_ms, threshold, Claim, Failure, Trial, Trials, Verdict};

pub const CLAIM: Claim = Claim {
    id: "fan-out",
    claim: "Three tasks that each wait finish in about one wait when run concurrently, not in three waits.",
    demonstrates: Some(
        "a model that starts every task at once overlaps their waits by construction, and waits one after another add up; the run shows how close to one wait each model comes, and where scaling up breaks it",
    ),
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

impl crate::claims::physics::Physical for Figures {
    /// No run is shorter than the waits it contains: the sequential one
    /// than all three, any other than one.
    fn check(&self) -> Result<(), String> {
        use crate::claims::physics::ensure_at_least;
        ensure_at_least("sequential", self.sequential, TASKS as f64 * WAIT_MS)?;
        for (model, tasks, ms) in &self.small {
            ensure_at_least(&format!("{model} at {tasks}"), *ms, WAIT_MS)?;
        }
        if let Ok(ms) = &self.pool {
            ensure_at_least("the pool", *ms, WAIT_MS)?;
        }
        for (model, tasks, outcome) in &self.scaled {
            if let Ok(ms) = outcome {
                ensure_at_least(&format!("{model} at {tasks}"), *ms, WAIT_MS)?;
            }
        }
        Ok(())
    }
}

/// The rule (a demonstration), a pure function of the figures: every
/// concurrent model must take about one wait at 3 tasks and when scaled up.
/// The sequential run adds the waits up by physics, so it is shown, not
/// tested. The pool is described, never judged.
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
    let (verdict, caveat) = if fanned.is_empty() {
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
        "sequential {sequential:.0} ms (the waits add up); \
         {} of {} concurrent models at 3 tasks and {} of {} scaled cells ≤ {CONCURRENT_MAX_WAITS} × {WAIT_MS:.0} ms; \
         the pool (workers = cores = {cores}) is not judged",
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
        thresholds: vec![threshold(
            "CONCURRENT_MAX_WAITS",
            CONCURRENT_MAX_WAITS,
            "a concurrent run takes at most this many waits",
        )],
        cell_commands: cell_commands.clone(),
        chart: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::physics::possible;
    use crate::claims::CpuTopology;

    fn figures_on(
        cores: usize,
        sequential: f64,
        small_ms: f64,
        scaled: Result<f64, String>,
    ) -> Figures {
        // A pool of `cores` workers takes ceil(3 / cores) waits.
        let pool = TASKS.div_ceil(cores as u64) as f64 * WAIT_MS + 1.0;
        possible(Figures {
            sequential,
            small: crate::claims::all_at_once(TASKS)
                .iter()
                .map(|m| (m.to_string(), TASKS, small_ms))
                .collect(),
            pool: Ok(pool),
            scaled: vec![("tokio".into(), ASYNC_SCALED_TASKS, scaled)],
            cores,
            cell_commands: vec![],
        })
    }

    fn figures(sequential: f64, small_ms: f64, scaled: Result<f64, String>) -> Figures {
        figures_on(2, sequential, small_ms, scaled)
    }

    #[test]
    fn about_one_wait_everywhere_holds_whatever_the_pool_did() {
        for machine in CpuTopology::simulated_machines() {
            let trial = judge(&figures_on(machine.usable_logical, 301.0, 101.0, Ok(120.0)));
            assert_eq!(trial.verdict, Verdict::Holds, "{machine:?}");
            assert!(trial.measured.contains(&format!(
                "Demonstration (not judged): a pool of {} workers",
                machine.usable_logical
            )));
        }
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
    fn no_model_taking_about_one_wait_does_not_show_the_fan_out() {
        assert_eq!(
            judge(&figures(301.0, 290.0, Ok(120.0))).verdict,
            Verdict::DoesNotHold
        );
    }

    #[test]
    fn runs_shorter_than_their_waits_are_impossible_and_not_measured() {
        let impossible = Figures {
            sequential: 120.0,
            ..figures(301.0, 101.0, Ok(120.0))
        };
        let trial = decide(Ok(impossible), judge);
        assert_eq!(trial.verdict, Verdict::NotMeasured);
        assert!(
            trial.decided_by.contains("less than the 300.00 ms"),
            "{}",
            trial.decided_by
        );
    }

    #[test]
    fn fan_out_is_labelled_a_demonstration() {
        assert!(CLAIM.demonstrates.is_some());
    }
}
