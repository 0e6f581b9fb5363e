//! The cost to create one unit of work and wait for it to finish.
//!
//! Each unit is an empty task: it only records that it ran. So the time a
//! batch takes is the price of the spawn primitive, the hand-over to
//! whatever runs the unit, and the join, nothing else. Most kinds are the
//! lab's own models running an empty [`Plan`], so the figure is exactly what
//! each model pays per task in the workload benches; `rayon::spawn` (which
//! no model uses) is the one kind built here. `inline` runs the empty task
//! without spawning: the bookkeeping every kind shares, the floor under all
//! the others.
//!
//! Batches of one show the full round trip of a single spawn and join;
//! large batches spread the runtime's fixed costs (waking a worker, the
//! join loop) over many units and show the per-unit cost alone.

use super::{timed_run, workers};
use crate::model::{self, Batch, ModelConfig, Runner};
use crate::workload::Plan;
use anyhow::Context;
use std::sync::{mpsc, Arc};
use std::time::Duration;

/// A way to create and join a unit of work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpawnKind {
    /// No spawn at all: the empty task called in place (the `sequential` model).
    Inline,
    /// `std::thread::spawn` and `join` per unit (the `threads` model).
    Thread,
    /// A job sent to a fixed pool of worker threads, joined by a completion
    /// message (the `thread-pool` model).
    PoolJob,
    /// `tokio::spawn` on the multi-thread runtime, handles awaited (`tokio`).
    Tokio,
    /// `tokio::spawn` on the current-thread runtime (`tokio-current`).
    TokioCurrent,
    /// `async_std::task::spawn` on its global executor (`async-std`).
    AsyncStd,
    /// `Executor::spawn` on an N-thread async-executor (`smol`).
    Smol,
    /// `rayon::ThreadPool::spawn`, joined by a completion message.
    RayonSpawn,
    /// `rayon::ThreadPool::scope` with one `scope.spawn` per unit (`rayon`).
    RayonScope,
}

impl SpawnKind {
    /// Every kind, in the order tables show them.
    pub const ALL: [SpawnKind; 9] = [
        SpawnKind::Inline,
        SpawnKind::Thread,
        SpawnKind::PoolJob,
        SpawnKind::Tokio,
        SpawnKind::TokioCurrent,
        SpawnKind::AsyncStd,
        SpawnKind::Smol,
        SpawnKind::RayonSpawn,
        SpawnKind::RayonScope,
    ];

    /// A short name for tables and bench ids.
    pub fn name(self) -> &'static str {
        match self {
            SpawnKind::Inline => "inline",
            SpawnKind::Thread => "thread",
            SpawnKind::PoolJob => "pool-job",
            SpawnKind::Tokio => "tokio",
            SpawnKind::TokioCurrent => "tokio-current",
            SpawnKind::AsyncStd => "async-std",
            SpawnKind::Smol => "smol",
            SpawnKind::RayonSpawn => "rayon-spawn",
            SpawnKind::RayonScope => "rayon-scope",
        }
    }

    /// The primitive, in one line.
    pub fn description(self) -> &'static str {
        match self {
            SpawnKind::Inline => "no spawn: the empty task called in place (the floor)",
            SpawnKind::Thread => "std::thread::spawn + join",
            SpawnKind::PoolJob => "a job on a fixed thread pool + completion message",
            SpawnKind::Tokio => "tokio::spawn on the multi-thread runtime + await handle",
            SpawnKind::TokioCurrent => "tokio::spawn on the current-thread runtime + await handle",
            SpawnKind::AsyncStd => "async_std::task::spawn + await handle",
            SpawnKind::Smol => "smol Executor::spawn on N threads + await task",
            SpawnKind::RayonSpawn => "rayon ThreadPool::spawn + completion message",
            SpawnKind::RayonScope => "rayon ThreadPool::scope with scope.spawn per unit",
        }
    }

    /// Finds a kind by its name.
    pub fn by_name(name: &str) -> Option<SpawnKind> {
        SpawnKind::ALL.into_iter().find(|kind| kind.name() == name)
    }

    /// The lab model that spawns this way, if one does.
    fn model(self) -> Option<&'static str> {
        match self {
            SpawnKind::Inline => Some("sequential"),
            SpawnKind::Thread => Some("threads"),
            SpawnKind::PoolJob => Some("thread-pool"),
            SpawnKind::Tokio => Some("tokio"),
            SpawnKind::TokioCurrent => Some("tokio-current"),
            SpawnKind::AsyncStd => Some("async-std"),
            SpawnKind::Smol => Some("smol"),
            SpawnKind::RayonScope => Some("rayon"),
            SpawnKind::RayonSpawn => None,
        }
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
    inner: Inner,
}

enum Inner {
    Model(Box<dyn Runner>),
    RayonSpawn(rayon::ThreadPool),
}

impl Spawner {
    /// Builds the runtime or pool for `kind` with `workers` threads. Not timed.
    pub fn new(kind: SpawnKind, workers: usize) -> anyhow::Result<Spawner> {
        let inner = match kind.model() {
            Some(name) => {
                let model = model::by_name(name).context("a spawn kind names an unknown model")?;
                let runner = model
                    .prepare(&ModelConfig {
                        workers,
                        stack_kib: None,
                    })
                    .with_context(|| format!("building the {name} runtime"))?;
                Inner::Model(runner)
            }
            None => {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(workers)
                    .build()
                    .context("building a rayon pool")?;
                // Make sure every worker has started before anything is timed.
                pool.broadcast(|_| ());
                Inner::RayonSpawn(pool)
            }
        };
        Ok(Spawner { kind, inner })
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
        match &mut self.inner {
            Inner::Model(runner) => {
                let (elapsed, batch) = timed_run(runner.as_mut(), plan)?;
                Ok(SpawnRun {
                    units,
                    joined: joined(&batch),
                    elapsed,
                })
            }
            Inner::RayonSpawn(pool) => {
                let batch = Arc::new(Batch::new(plan));
                let (finished, all_finished) = mpsc::channel();
                let start = batch.begin();
                for index in 0..units as usize {
                    let batch = Arc::clone(&batch);
                    let finished = finished.clone();
                    pool.spawn(move || {
                        batch.done(index, 0);
                        let _ = finished.send(());
                    });
                }
                drop(finished);
                for _ in 0..units {
                    all_finished
                        .recv()
                        .context("a rayon job ended without reporting")?;
                }
                let elapsed = start.elapsed();
                batch.verify()?;
                Ok(SpawnRun {
                    units,
                    joined: joined(&batch),
                    elapsed,
                })
            }
        }
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
    times.sort();
    Ok(times[times.len() / 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_joins_every_unit() {
        for kind in SpawnKind::ALL {
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
        assert!(spawn_and_join(SpawnKind::Thread, 10).unwrap() > Duration::ZERO);
        let per_unit = per_unit_median(SpawnKind::Tokio, 10, 3).unwrap();
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
        let run = Spawner::new(SpawnKind::RayonSpawn, workers())
            .unwrap()
            .run(0)
            .unwrap();
        assert_eq!(run.joined, 0);
    }

    #[test]
    fn names_round_trip() {
        for kind in SpawnKind::ALL {
            assert_eq!(SpawnKind::by_name(kind.name()), Some(kind));
        }
        assert_eq!(SpawnKind::by_name("fork"), None);
    }
}
