//! # Exercise 2: a CPU-heavy loop starves a heartbeat on the same runtime
//!
//! **What the program does.** A single-threaded tokio runtime (as in a
//! small service, or a Python asyncio program) runs two tasks: a heartbeat
//! that should tick every 10 ms (think of it as the task that answers a
//! load balancer's health check), and a batch job that checksums 64
//! uploaded files, about 5 ms of CPU each, with no `.await` in between.
//!
//! **What users see.** The health check misses its deadline for the whole
//! batch; the load balancer decides the service is dead.
//!
//! **The question.** While the batch loop runs, who else can run on this
//! runtime's one thread? When does the heartbeat get its turn?
//!
//! **How the check grades it.** The program measures how late the
//! heartbeat ticked at worst, and how long one file's checksum took (c).
//! - as written, the batch runs in one poll: the heartbeat waits for all
//!   N = 64 files, a delay of at least N × c.
//! - a fix that moves the work off the runtime (`spawn_blocking`, rayon)
//!   leaves the heartbeat late by a timer tick or so; a fix that yields
//!   after every file leaves it late by at most one file, c.
//! - the bound is the geometric middle of c and N × c: √N × c = 8c, 8×
//!   from both sides. It is in units of the program's own c, so a slow or
//!   busy machine moves both sides alike.
//!
//! The grader also shows the batch task's slow polls (tokio-metrics'
//! TaskMonitor: polls longer than 50 µs), the ecosystem's own measure of
//! "blocking the executor".

use std::time::{Duration, Instant};

/// Files in the batch.
const FILES: usize = 64;
/// Bytes per file, and checksum rounds over it: about 5 ms of CPU.
const FILE_BYTES: usize = 1 << 20;
const ROUNDS: u32 = 5;
/// How often the heartbeat should tick.
const HEARTBEAT_EVERY: Duration = Duration::from_millis(10);

/// Checksums every file; returns how long each one took, ms.
async fn checksum_batch(files: Vec<Vec<u8>>) -> Vec<f64> {
    let mut per_file_ms = Vec::new();
    for file in files {
        // TODO: this computes for ~5 ms without an `.await`, 64 times in
        // a row, and nothing else runs on this thread meanwhile. Move the
        // work off the runtime's thread (or give the runtime a turn
        // between files).
        let start = Instant::now();
        kit::checksum(&file, ROUNDS);
        per_file_ms.push(kit::ms_since(start));
    }
    per_file_ms
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let files: Vec<Vec<u8>> = (0..FILES).map(|i| vec![i as u8; FILE_BYTES]).collect();
    let heartbeat = kit::Heartbeat::start(HEARTBEAT_EVERY);

    // The batch runs as its own task, watched by tokio-metrics.
    let monitor = tokio_metrics::TaskMonitor::new();
    let mut per_file_ms = tokio::spawn(monitor.instrument(checksum_batch(files)))
        .await
        .expect("the batch task panicked");

    let heartbeat_late_ms = heartbeat.stop().await;
    per_file_ms.sort_by(f64::total_cmp);
    kit::report(&[
        ("heartbeat_late_ms", heartbeat_late_ms),
        ("file_ms", per_file_ms[per_file_ms.len() / 2]),
        ("files", FILES as f64),
        (
            "slow_polls",
            monitor.cumulative().total_slow_poll_count as f64,
        ),
    ]);
}
