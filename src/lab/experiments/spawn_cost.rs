//! The cost to create one unit of work and wait for it to finish.
//!
//! Each unit is an empty task: it only records that it ran. So the time a
//! batch takes is the price of the spawn primitive, the hand-over to
//! whatever runs the unit, and the join, nothing else. Most kinds are the
//! lab's own models running an empty [`Plan`], so the figure is exactly what
//! each model pays per task in the workload benches; `rayon::spawn` (which
//! no model uses) is offered by the `rayon` model as another spawn. Every
//! kind comes from the model registry. `inline` runs the empty task
//! without spawning: the bookkeeping every kind shares, the floor under all
//! the others.
//!
//! Batches of one show the full round trip of a single spawn and join;
//! large batches spread the runtime's fixed costs (waking a worker, the
//! join loop) over many units and show the per-unit cost alone.

use super::{timed_run, workers};
use crate::model::{self, Batch, Model, ModelConfig, OtherSpawn, Runner};
use crate::workload::Plan;
use anyhow::Context;
use std::time::Duration;

/// A way to create and join a unit of work: the spawn of a model in the
/// registry (what it pays per task in the workload benches), or another
/// spawn its runtime offers ([`crate::model::OtherSpawn`]).
#[derive(Clone, Copy)]
pub struct SpawnKind {
    name: &'static str,
    description: &'static str,
    source: Source,
}

#[derive(Clone, Copy)]
enum Source {
    Model(&'static dyn Model),
    Other(&'static OtherSpawn),
}

impl PartialEq for SpawnKind {
    fn eq(&self, other: &SpawnKind) -> bool {
        self.name == other.name
    }
}

impl Eq for SpawnKind {}

impl std::fmt::Debug for SpawnKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SpawnKind({})", self.name)
    }
}

impl SpawnKind {
    /// Every kind, in the registry's order (a model's other spawns just
    /// before its own).
    pub fn all() -> Vec<SpawnKind> {
        let mut kinds = Vec::new();
        for &model in model::all() {
            for other in model.other_spawns() {
                kinds.push(SpawnKind {
                    name: other.name,
                    description: other.description,
                    source: Source::Other(other),
                });
            }
            let (name, description) = model.spawn_primitive();
            kinds.push(SpawnKind {
                name,
                description,
                source: Source::Model(model),
            });
        }
        kinds
    }

    /// The kind of the model named `model` (its own spawn).
    pub fn of_model(model: &str) -> Option<SpawnKind> {
        let model = model::by_name(model)?;
        SpawnKind::by_name(model.spawn_primitive().0)
    }

    /// A short name for tables and bench ids.
    pub fn name(self) -> &'static str {
        self.name
    }

    /// The primitive, in one line.
    pub fn description(self) -> &'static str {
        self.description
    }

    /// Finds a kind by its name.
    pub fn by_name(name: &str) -> Option<SpawnKind> {
        SpawnKind::all()
            .into_iter()
            .find(|kind| kind.name() == name)
    }
}

/// One measured batch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpawnRun {
    /// Units asked for.
    pub units: u64,
    /// Units that ran and were joined (counted by the units themselves).
    pub joined: u64,
    /// From just before the first spawn until the last unit was joined.
    pub elapsed: Duration,
}

impl SpawnRun {
    /// The time per unit.
    pub fn per_unit(&self) -> Duration {
        Duration::from_secs_f64(self.elapsed.as_secs_f64() / self.units.max(1) as f64)
    }
}

/// A runtime or pool built once, ready to spawn and join batches.
pub struct Spawner {
    kind: SpawnKind,
    runner: Box<dyn Runner>,
}

impl Spawner {
    /// Builds the runtime or pool for `kind` with `workers` threads. Not timed.
    pub fn new(kind: SpawnKind, workers: usize) -> anyhow::Result<Spawner> {
        let config = ModelConfig {
            workers,
            stack_kib: None,
        };
        let runner = match kind.source {
            Source::Model(model) => model.prepare(&config),
            Source::Other(other) => (other.prepare)(&config),
        }
        .with_context(|| format!("building the runtime for {}", kind.name()))?;
        Ok(Spawner { kind, runner })
    }

    /// The kind this spawner measures.
    pub fn kind(&self) -> SpawnKind {
        self.kind
    }

    /// Spawns `units` empty units, joins them all, and reports the time.
    pub fn run(&mut self, units: u64) -> anyhow::Result<SpawnRun> {
        let plan = Plan {
            tasks: units,
            ops: Vec::new(),
        };
        let (elapsed, batch) = timed_run(self.runner.as_mut(), plan)?;
        Ok(SpawnRun {
            units,
            joined: joined(&batch),
            elapsed,
        })
    }
}

/// The units that recorded that they ran.
fn joined(batch: &Batch) -> u64 {
    batch.completions_ns().iter().filter(|&&ns| ns > 0).count() as u64
}

/// Builds `kind` with one worker per core, spawns and joins `units` units
/// once, and returns the time (runtime construction not included). For
/// repeated measurements, build a [`Spawner`] once instead.
pub fn spawn_and_join(kind: SpawnKind, units: u64) -> anyhow::Result<Duration> {
    let run = Spawner::new(kind, workers())?.run(units)?;
    if run.joined != units {
        anyhow::bail!(
            "{}: {} of {units} units were joined",
            kind.name(),
            run.joined
        );
    }
    Ok(run.elapsed)
}

/// The time per unit of `kind` over `batches` batches of `units`: the
/// median batch divided by `units`, for callers with a small budget (the
/// `claims` command, the report).
pub fn per_unit_median(kind: SpawnKind, units: u64, batches: usize) -> anyhow::Result<Duration> {
    let mut times = per_unit_repeats(kind, units, batches)?;
    times.sort();
    Ok(times[times.len() / 2])
}

/// The time per unit of each of `batches` batches of `units`, in the
/// order measured (at least one): what an interval is computed from.
pub fn per_unit_repeats(
    kind: SpawnKind,
    units: u64,
    batches: usize,
) -> anyhow::Result<Vec<Duration>> {
    let mut spawner = Spawner::new(kind, workers())?;
    let mut times = Vec::with_capacity(batches.max(1));
    for _ in 0..batches.max(1) {
        let run = spawner.run(units)?;
        if run.joined != units {
            anyhow::bail!(
                "{}: {} of {units} units were joined",
                kind.name(),
                run.joined
            );
        }
        times.push(run.per_unit());
    }
    Ok(times)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_joins_every_unit() {
        for kind in SpawnKind::all() {
            let mut spawner = Spawner::new(kind, workers()).unwrap();
            for units in [1, 10] {
                let run = spawner.run(units).unwrap();
                assert_eq!(run.joined, units, "{}", kind.name());
                assert!(run.elapsed > Duration::ZERO, "{}", kind.name());
            }
        }
    }

    #[test]
    fn one_call_helpers_measure_whole_batches() {
        let thread = SpawnKind::of_model("threads").unwrap();
        assert!(spawn_and_join(thread, 10).unwrap() > Duration::ZERO);
        let per_unit = per_unit_median(SpawnKind::of_model("tokio").unwrap(), 10, 3).unwrap();
        assert!(per_unit > Duration::ZERO);
        // Ten empty tasks cannot take a second each, even on a busy machine.
        assert!(per_unit < Duration::from_secs(1), "{per_unit:?}");
    }

    #[test]
    fn per_unit_divides_by_the_batch() {
        let run = SpawnRun {
            units: 4,
            joined: 4,
            elapsed: Duration::from_micros(10),
        };
        assert_eq!(run.per_unit(), Duration::from_nanos(2_500));
    }

    #[test]
    fn an_empty_batch_joins_nothing() {
        let run = Spawner::new(SpawnKind::by_name("rayon-spawn").unwrap(), workers())
            .unwrap()
            .run(0)
            .unwrap();
        assert_eq!(run.joined, 0);
    }

    #[test]
    fn names_round_trip() {
        for kind in SpawnKind::all() {
            assert_eq!(SpawnKind::by_name(kind.name()), Some(kind));
        }
        assert_eq!(SpawnKind::by_name("fork"), None);
    }
}
