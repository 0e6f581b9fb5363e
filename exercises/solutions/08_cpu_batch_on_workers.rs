//! Reference solution to exercise 8 (the essay and the bound are in
//! `exercises/src/bin/08_cpu_batch_on_workers.rs`): each job computes on
//! rayon's pool and sends its answer back through a oneshot channel; the
//! tokio task only waits for it, so its polls stay a few µs long.

use std::time::Instant;

/// Jobs per tokio worker thread.
const JOBS_PER_WORKER: usize = 16;
/// Bytes per image, and checksum rounds over it: about 5 ms of CPU.
const IMAGE_BYTES: usize = 1 << 20;
const ROUNDS: u32 = 5;

/// Computes one thumbnail; returns how long it took, ms.
fn thumbnail(image: &[u8]) -> f64 {
    let start = Instant::now();
    kit::checksum(image, ROUNDS);
    kit::ms_since(start)
}

/// One job of the batch, as a tokio task runs it.
async fn job(image: Vec<u8>) -> f64 {
    let (answer, answered) = tokio::sync::oneshot::channel();
    rayon::spawn(move || {
        let _ = answer.send(thumbnail(&image));
    });
    answered.await.expect("a rayon job panicked")
}

#[tokio::main]
async fn main() {
    let jobs = JOBS_PER_WORKER * kit::tokio_workers() as usize;
    let images: Vec<Vec<u8>> = (0..jobs).map(|i| vec![i as u8; IMAGE_BYTES]).collect();

    let monitor = tokio_metrics::TaskMonitor::new();
    let tasks: Vec<_> = images
        .into_iter()
        .map(|image| tokio::spawn(monitor.instrument(job(image))))
        .collect();
    let mut job_ms = Vec::new();
    for task in tasks {
        job_ms.push(task.await.expect("a job panicked"));
    }

    job_ms.sort_by(f64::total_cmp);
    let polls = monitor.cumulative();
    kit::report(&[
        (
            "slow_poll_ms",
            polls.total_slow_poll_duration.as_secs_f64() * 1e3,
        ),
        ("slow_polls", polls.total_slow_poll_count as f64),
        ("job_ms", job_ms[job_ms.len() / 2]),
        ("jobs", jobs as f64),
    ]);
}
