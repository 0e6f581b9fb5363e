//! Reference solution to exercise 2 (the essay and the bound are in
//! `exercises/src/bin/02_cpu_starves_heartbeat.rs`): each file's checksum
//! runs on tokio's blocking pool (`spawn_blocking`), so the runtime's one
//! thread only waits for the results and the heartbeat ticks on time.
//! (Yielding with `tokio::task::yield_now().await` after each file also
//! passes: the heartbeat is then late by at most one file.)

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
        let file_ms = tokio::task::spawn_blocking(move || {
            let start = Instant::now();
            kit::checksum(&file, ROUNDS);
            kit::ms_since(start)
        })
        .await
        .expect("a checksum panicked");
        per_file_ms.push(file_ms);
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
