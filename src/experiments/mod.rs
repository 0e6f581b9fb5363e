//! Micro-experiments on the primitives under the models: what it costs to
//! create and join one unit of work ([`spawn_cost`]) and to hand control
//! from one unit to another and back ([`context_switch`]).
//!
//! They live in the library, not in the benches, so that `cargo bench`, the
//! `claims` command and the report all measure the same thing: the criterion
//! benches call these functions with criterion's iteration counts, other
//! callers with a small budget. Every function builds its runtime outside the
//! timed region and returns only the timed part.

pub mod context_switch;
pub mod pin;
pub mod spawn_cost;

pub use context_switch::{ping_pong, Medium, Placement, SwitchCase, Units};
pub use spawn_cost::{spawn_and_join, SpawnKind, Spawner};

use crate::model::{Batch, Runner};
use crate::workload::Plan;
use std::sync::Arc;
use std::time::Duration;

/// Worker threads for every experiment and bench: one per core. The same
/// everywhere, because async-std's global executor is sized once per
/// process and refuses a second size.
pub fn workers() -> usize {
    crate::measure::cores()
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
