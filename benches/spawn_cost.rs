//! `spawn_cost`: what it costs to create one unit of work and wait for it —
//! an OS thread, a job on a thread pool, a task of each async runtime, a
//! rayon job — in batches of 1, 100 and 10,000 units. It teaches why async
//! runtimes can afford a task per request while a thread per request costs
//! tens of microseconds before any work is done, and how batching spreads a
//! runtime's fixed costs (waking a worker, joining) over many units. It does
//! not teach what a unit costs while alive (memory; see `sweep`) or what
//! switching between units costs (see `context_switch`).
//!
//! The figure criterion shows is the time **per unit**: each sample spawns
//! and joins whole batches of empty units with
//! `experiments::spawn_cost::Spawner` (the lab's own models on an empty
//! plan, plus `rayon::spawn`) and divides by the batch size. Runtimes and
//! pools are built once per kind, outside the timed region.

use async_vs_blocking::lab::experiments::{self, SpawnKind, Spawner};
use criterion::{
    criterion_group, criterion_main, AxisScale, BenchmarkId, Criterion, PlotConfiguration,
    Throughput,
};
use std::time::Duration;

/// Units per batch: one alone, a burst, and a flood (a logarithmic axis).
const BATCHES: [u64; 3] = [1, 100, 10_000];
/// Samples per cell: criterion's minimum, to keep `cargo bench` short.
const SAMPLES: usize = 10;
/// Bootstrap resamples for criterion's confidence intervals (default
/// 100,000). With 10 samples, 10,000 give the same intervals to within a
/// few percent, and drawing the report's distribution plots gets ten times
/// cheaper (those plots took ~5 s of CPU per cell at the default).
const RESAMPLES: usize = 10_000;
/// Warm-up per cell.
const WARM_UP: Duration = Duration::from_millis(300);
/// Measured time per cell.
const MEASUREMENT: Duration = Duration::from_millis(1_500);

/// Builds the runtime or pool for `kind` with one worker per core. Not timed.
fn spawner(kind: SpawnKind) -> Spawner {
    Spawner::new(kind, experiments::workers())
        .unwrap_or_else(|error| panic!("building {}: {error:#}", kind.name()))
}

fn spawn_cost(c: &mut Criterion) {
    let mut group = c.benchmark_group("spawn_cost");
    group
        .plot_config(PlotConfiguration::default().summary_scale(AxisScale::Logarithmic))
        .sample_size(SAMPLES)
        .nresamples(RESAMPLES)
        .warm_up_time(WARM_UP)
        .measurement_time(MEASUREMENT)
        // One criterion iteration is one unit: throughput reads as units/s.
        .throughput(Throughput::Elements(1));
    for kind in SpawnKind::all() {
        let mut spawner = spawner(kind);
        for units in BATCHES {
            group.bench_with_input(BenchmarkId::new(kind.name(), units), &units, |b, &units| {
                b.iter_custom(|batches| {
                    let mut total = Duration::ZERO;
                    for _ in 0..batches {
                        let run = spawner
                            .run(units)
                            .unwrap_or_else(|error| panic!("{}: {error:#}", kind.name()));
                        assert_eq!(run.joined, units, "{}: units lost", kind.name());
                        total += run.elapsed;
                    }
                    // `batches` batches of `units`: report the time per unit.
                    total / units as u32
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, spawn_cost);
criterion_main!(benches);
