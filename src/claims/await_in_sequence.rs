//! await-in-sequence: the mistake behind a fan-out that does not fan out.
//!
//! A future does nothing until it is awaited, and `a.await; b.await;` awaits
//! `b` only after `a` has finished — so the waits add up. `join!` polls both
//! futures together, and `spawn` starts a task at once, so both overlap the
//! waits. The pitfall next to its fixes, on one tokio multi-thread runtime
//! built before timing:
//!
//! - `a.await; b.await; c.await` (pitfall)
//! - `spawn(a).await; spawn(b).await; ...` (pitfall: spawned, then awaited at once)
//! - `tokio::join!(a, b, c)` (fix)
//! - spawn all first, then await the handles one after another (fix)

use super::{figure, spread_text, threshold, timed, Claim, Trial, Trials, Verdict};
use std::time::{Duration, Instant};

pub const CLAIM: Claim = Claim {
    id: "await-in-sequence",
    claim: "Awaiting futures one after another (a.await; b.await) runs them concurrently.",
    experiment: "3 waits of 50 ms on tokio: awaited in sequence, spawned-and-awaited at once, join!, spawned first then awaited.",
    run,
};

/// Waits per run.
const WAITS: u32 = 3;
/// Each wait, ms (well above tokio's 1 ms timer granularity).
const WAIT_MS: u64 = 50;
/// A run "overlapped its waits" when it takes at most this many waits.
pub const CONCURRENT_MAX_WAITS: f64 = 1.5;
/// A run "did one wait after another" when it takes at least this fraction
/// of the sum of the waits.
pub const SEQUENTIAL_MIN_FRACTION: f64 = 0.9;

/// One simulated request. An `async fn` starts nothing until it is first
/// polled, like a real request future. (A bare `tokio::time::sleep` would
/// not do: it fixes its deadline when it is created, so three sleeps created
/// together end together however they are awaited.)
async fn wait() {
    tokio::time::sleep(Duration::from_millis(WAIT_MS)).await
}

fn run(trials: &Trials) -> Trial {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(trials.cores)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return Trial::not_measured(format!("building tokio: {error}"), vec![]),
    };
    let repeats = trials.repeats();
    let in_sequence = timed(repeats, || {
        runtime.block_on(async {
            let start = Instant::now();
            let (a, b, c) = (wait(), wait(), wait());
            a.await;
            b.await;
            c.await;
            start.elapsed()
        })
    });
    let spawn_then_await_each = timed(repeats, || {
        runtime.block_on(async {
            let start = Instant::now();
            for _ in 0..WAITS {
                let _ = tokio::spawn(wait()).await;
            }
            start.elapsed()
        })
    });
    let joined = timed(repeats, || {
        runtime.block_on(async {
            let start = Instant::now();
            tokio::join!(wait(), wait(), wait());
            start.elapsed()
        })
    });
    let spawned_first = timed(repeats, || {
        runtime.block_on(async {
            let start = Instant::now();
            let handles: Vec<_> = (0..WAITS).map(|_| tokio::spawn(wait())).collect();
            for handle in handles {
                let _ = handle.await;
            }
            start.elapsed()
        })
    });

    let sum_ms = (WAITS as u64 * WAIT_MS) as f64;
    let sequential = in_sequence.median >= SEQUENTIAL_MIN_FRACTION * sum_ms;
    let concurrent = in_sequence.median <= CONCURRENT_MAX_WAITS * WAIT_MS as f64;
    let fixes_overlap = joined.median <= CONCURRENT_MAX_WAITS * WAIT_MS as f64
        && spawned_first.median <= CONCURRENT_MAX_WAITS * WAIT_MS as f64;
    let (verdict, caveat) = if concurrent {
        (Verdict::Holds, None)
    } else if sequential {
        (Verdict::DoesNotHold, None)
    } else {
        (
            Verdict::HoldsWithACaveat,
            Some(format!(
                "the waits partly overlapped ({:.0} ms of {sum_ms:.0} ms)",
                in_sequence.median
            )),
        )
    };
    Trial {
        measured: format!(
            "3 × {WAIT_MS} ms: a.await; b.await; c.await {}; spawn(x).await each {}; join! {}; spawn all, then await {}.",
            spread_text(&in_sequence),
            spread_text(&spawn_then_await_each),
            spread_text(&joined),
            spread_text(&spawned_first)
        ),
        figures: vec![
            figure("awaited in sequence", in_sequence.median, "ms"),
            figure("spawned and awaited one at a time", spawn_then_await_each.median, "ms"),
            figure("join!", joined.median, "ms"),
            figure("spawned first, then awaited", spawned_first.median, "ms"),
        ],
        verdict,
        caveat,
        decided_by: format!(
            "in sequence {:.0} ms vs {SEQUENTIAL_MIN_FRACTION} × {sum_ms:.0} ms (one after another) and \
             {CONCURRENT_MAX_WAITS} × {WAIT_MS} ms (concurrent); the fixes {} ({} tokio workers)",
            in_sequence.median,
            if fixes_overlap {
                "overlap the waits"
            } else {
                "did NOT overlap the waits here (busy machine?)"
            },
            trials.cores
        ),
        thresholds: vec![
            threshold(
                "CONCURRENT_MAX_WAITS",
                CONCURRENT_MAX_WAITS,
                "at most this many waits: the waits overlapped",
            ),
            threshold(
                "SEQUENTIAL_MIN_FRACTION",
                SEQUENTIAL_MIN_FRACTION,
                "at least this fraction of the sum: one after another",
            ),
        ],
        cell_commands: vec![],
        chart: None,
    }
}
