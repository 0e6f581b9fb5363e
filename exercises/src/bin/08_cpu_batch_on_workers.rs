//! # Exercise 8: a CPU-bound batch on tokio's worker threads
//!
//! **What the program does.** A multi-threaded tokio service receives a
//! batch of image thumbnails to compute: 16 jobs per worker thread, each
//! about 5 ms of pure CPU. It spawns one tokio task per job. The same
//! runtime also answers the service's network requests.
//!
//! **What users see.** While a batch runs, every worker is busy computing,
//! so requests that only need a few microseconds of a worker wait for a
//! job to end first; tokio-console and tokio-metrics show "slow polls".
//!
//! **The question.** tokio's workers are meant to switch between many
//! tasks that mostly wait. What happens to that switching when each poll
//! computes for 5 ms? Which pool is made for jobs that only compute?
//! (Look up `rayon::spawn` with a `tokio::sync::oneshot` channel, or
//! `tokio::task::spawn_blocking`.)
//!
//! **How the check grades it.** tokio-metrics' `TaskMonitor` watches the
//! batch's tasks and adds up the time spent in slow polls (polls longer
//! than 50 µs: time a worker could not switch). The program also reports
//! one job's time c and the number of jobs N.
//! - computing inside the tasks puts all the work in slow polls: about
//!   N × c;
//! - computing elsewhere leaves each task's polls a few µs long: about 0,
//!   plus a few ms when the machine preempts a worker mid-poll;
//! - the bound is the geometric middle of one job and all of them,
//!   √N × c: with 2 workers (N = 32) about 5.7 c, 5.7× from the unfixed
//!   side. It is in units of the program's own c, so a busy machine moves
//!   both sides alike.

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
    // TODO: this computes for ~5 ms inside one poll of a tokio task,
    // holding a worker thread that should be switching between tasks. Hand
    // the computation to a pool made for it, and await its answer.
    thumbnail(&image)
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
