//! `context_switch`: two units of work play ping-pong, and the figure is the
//! time per round trip (two hand-offs): two threads, and two tasks of each
//! async runtime, over the runtime's channel and over a Unix socket pair;
//! each once free and once with every thread of the process pinned to one
//! CPU. It teaches where the often-quoted "async switches are cheaper"
//! comes from and where it ends: a channel hand-off between tasks stays in
//! user space, a socket hand-off goes through the kernel and the reactor for
//! tasks too, and pinning shows how much of a thread switch is really
//! cross-core wake-up. It does not teach switch costs under load (many
//! units, full run queues) or memory.
//!
//! Each sample calls `experiments::context_switch::ping_pong` with
//! criterion's iteration count as the number of round trips; the runtime,
//! the link and both units are set up untimed, and one warm-up exchange
//! precedes the timed ones. Pinned cases are skipped where pinning is not
//! possible (not Linux, or the process may not change its affinity).

use async_vs_blocking::lab::experiments::pin::OneCore;
use async_vs_blocking::lab::experiments::{ping_pong, Medium, Placement, SwitchCase, Units};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::time::Duration;

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

/// Whether this process may pin itself to one core.
fn can_pin() -> bool {
    match OneCore::pin_process() {
        Ok(_unpinned_on_drop) => true,
        Err(error) => {
            eprintln!("context_switch: one-core cases skipped: {error:#}");
            false
        }
    }
}

fn context_switch(c: &mut Criterion) {
    let placements: Vec<Placement> = if can_pin() {
        Placement::ALL.to_vec()
    } else {
        vec![Placement::Free]
    };
    for medium in Medium::ALL {
        let mut group = c.benchmark_group(format!("context_switch_{}", medium.name()));
        group
            .sample_size(SAMPLES)
            .nresamples(RESAMPLES)
            .warm_up_time(WARM_UP)
            .measurement_time(MEASUREMENT)
            // One criterion iteration is one round trip.
            .throughput(Throughput::Elements(1));
        for units in Units::all() {
            for &placement in &placements {
                let case = SwitchCase {
                    units,
                    medium,
                    placement,
                };
                group.bench_function(BenchmarkId::new(units.name(), placement.name()), |b| {
                    b.iter_custom(|round_trips| {
                        ping_pong(case, round_trips)
                            .unwrap_or_else(|error| panic!("{}: {error:#}", case.name()))
                    })
                });
            }
        }
        group.finish();
    }
}

criterion_group!(benches, context_switch);
criterion_main!(benches);
