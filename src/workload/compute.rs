//! The deterministic compute kernel behind the `cpu` and `mixed` workloads.
//!
//! A chain of dependent multiply–xorshift steps: each step needs the result
//! of the one before, so the compiler cannot vectorise, reorder or fold it,
//! and every task's result is checked after the run, so it cannot be removed.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// The seed every task starts from (any odd constant works).
pub const SEED: u64 = 0x9E37_79B9_7F4A_7C15;

/// Runs `iterations` dependent steps and returns the final state.
#[inline(never)]
pub fn spin(iterations: u64) -> u64 {
    let mut x = black_box(SEED);
    for _ in 0..black_box(iterations) {
        x = x
            .wrapping_mul(0x5851_F42D_4C95_7F2D)
            .wrapping_add(0x1405_7B7E_F767_814F);
        x ^= x >> 29;
    }
    black_box(x)
}

/// Measures how many [`spin`] iterations one core does per microsecond.
///
/// Takes the fastest of several short runs: on a shared machine, slower runs
/// are interference, not the core's speed, and a rate measured too low would
/// make every task shorter than asked and flatter every model.
pub fn calibrate() -> f64 {
    // Grow a run until it lasts at least 2 ms, so the clock's resolution is noise.
    let mut iterations: u64 = 1 << 12;
    loop {
        let start = Instant::now();
        spin(iterations);
        if start.elapsed() >= Duration::from_millis(2) || iterations >= 1 << 34 {
            break;
        }
        iterations *= 2;
    }
    let mut best = 0.0f64;
    for _ in 0..7 {
        let start = Instant::now();
        spin(iterations);
        let micros = start.elapsed().as_secs_f64() * 1e6;
        if micros > 0.0 {
            best = best.max(iterations as f64 / micros);
        }
    }
    best.max(1.0)
}

/// Runs `iterations` steps `runs` times and returns the fastest and the
/// slowest rate seen, in iterations per µs. Used just before and after a
/// timed region, in the cell's own process, to calibrate the ideal and to
/// notice a host that slowed the machine.
pub fn probe(iterations: u64, runs: u32) -> (f64, f64) {
    let mut fastest = 0.0f64;
    let mut slowest = f64::INFINITY;
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        spin(iterations);
        let micros = start.elapsed().as_secs_f64() * 1e6;
        if micros > 0.0 {
            let rate = iterations as f64 / micros;
            fastest = fastest.max(rate);
            slowest = slowest.min(rate);
        }
    }
    if slowest.is_infinite() {
        slowest = fastest;
    }
    (fastest.max(1e-9), slowest.max(1e-9))
}

/// The number of iterations that take `micros` at `iters_per_us`.
pub fn iterations_for(micros: f64, iters_per_us: f64) -> u64 {
    (micros * iters_per_us).round().max(1.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spin_is_deterministic_and_depends_on_length() {
        assert_eq!(spin(1000), spin(1000));
        assert_ne!(spin(1000), spin(1001));
    }

    #[test]
    fn calibration_gives_a_usable_rate() {
        let rate = calibrate();
        // Any machine from the last two decades does between 10 and 100k
        // dependent steps per microsecond; outside that, calibration is broken.
        assert!((10.0..100_000.0).contains(&rate), "{rate}");
        // A 20 ms job at that rate takes at least 20 ms (the rate is the fastest seen).
        let start = Instant::now();
        spin(iterations_for(20_000.0, rate));
        assert!(
            start.elapsed() >= Duration::from_millis(15),
            "{:?}",
            start.elapsed()
        );
    }
}
