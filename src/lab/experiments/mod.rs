//! Micro-experiments on the primitives under the models: what it costs to
//! create and join one unit of work ([`spawn_cost`]) and to hand control
//! from one unit to another and back ([`context_switch`]).
//!
//! They live in the library, not in the benches, so that `cargo bench`, the
//! `claims` command and the report all measure the same thing: the criterion
//! benches call these functions with criterion's iteration counts, other
//! callers with a small budget. Every function builds its runtime outside the
//! timed region and returns only the timed part. [`timers`] (timer
//! precision) and [`costs`] (spawn and switch costs with a small budget)
//! produce the report's `timers.jsonl` and `unit-costs.json`, written
//! through [`crate::record::timers`] and [`crate::record::costs`].

pub mod context_switch;
pub mod costs;
pub mod pin;
pub mod spawn_cost;
pub mod timers;

pub use context_switch::{ping_pong, Medium, Placement, SwitchCase, Units};
pub use spawn_cost::{spawn_and_join, SpawnKind, Spawner};

use crate::model::{Batch, Model, Runner};
use crate::workload::Plan;
use std::sync::Arc;
use std::time::Duration;

/// Worker threads for every experiment and bench: one per core. The same
/// everywhere, because async-std's global executor is sized once per
/// process and refuses a second size.
pub fn workers() -> usize {
    crate::os::measure::cores()
}

/// Runs `plan` once on a prepared runner: allocates the batch (untimed),
/// times the run from just before the first task starts until the last is
/// joined, then checks every task finished and did its work.
pub fn timed_run(runner: &mut dyn Runner, plan: Plan) -> anyhow::Result<(Duration, Arc<Batch>)> {
    let batch = Arc::new(Batch::new(plan));
    let start = batch.begin();
    runner.run(&batch)?;
    let elapsed = start.elapsed();
    batch.verify()?;
    Ok((elapsed, batch))
}

/// Runs `plan` `runs` times on a prepared runner and returns the summed
/// timed regions (each run's batch is allocated untimed): the body of a
/// criterion `iter_custom`.
pub fn time_runs(runner: &mut dyn Runner, plan: &Plan, runs: u64) -> anyhow::Result<Duration> {
    let mut total = Duration::ZERO;
    for _ in 0..runs {
        total += timed_run(runner, plan.clone())?.0;
    }
    Ok(total)
}

/// How long `model` should take for `plan` with `workers` workers on as many
/// cores, from how many waits it overlaps and computes it runs in parallel.
/// A budget estimate for skipping hopeless cells, never a result.
pub fn expected_ms(model: &dyn Model, plan: &Plan, workers: usize) -> f64 {
    plan.expected_ms(
        model.wait_concurrency(workers, plan.tasks),
        model
            .cpu_parallelism(workers, plan.tasks)
            .min(crate::os::measure::cores() as u64),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ModelConfig;
    use crate::workload::Op;

    #[test]
    fn time_runs_sums_whole_waits() {
        let model = crate::model::by_name("tokio").unwrap();
        let mut runner = model
            .prepare(&ModelConfig {
                workers: workers(),
                stack_kib: None,
            })
            .unwrap();
        let plan = Plan {
            tasks: 50,
            ops: vec![Op::Sleep(Duration::from_millis(5))],
        };
        // Three runs of 50 overlapping 5 ms waits: at least 3 waits, and far
        // less than the 150 waits a serial run would take.
        let total = time_runs(runner.as_mut(), &plan, 3).unwrap();
        assert!(total >= Duration::from_millis(15), "{total:?}");
        assert!(total < Duration::from_millis(750), "{total:?}");
    }

    #[test]
    fn expected_time_follows_wait_concurrency() {
        let plan = Plan {
            tasks: 100,
            ops: vec![Op::Sleep(Duration::from_millis(20))],
        };
        let sequential = crate::model::by_name("sequential").unwrap();
        let tokio = crate::model::by_name("tokio").unwrap();
        assert_eq!(expected_ms(sequential, &plan, 2), 2000.0);
        assert_eq!(expected_ms(tokio, &plan, 2), 20.0);
    }
}
