//! The bare reference for the lab's `tokio` model on the `sleep` workload:
//! a multi-thread runtime with one worker per core, N tasks that each sleep
//! D, joined; prints the wall time and peak RSS. Nothing else, so
//! `scripts/overhead.sh` can show how much the lab's harness adds to what
//! `run --model tokio` reports.
//!
//! `cargo run --release --example bare_tokio -- N D_MS`

use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(tasks), Some(sleep_ms)) = (
        args.get(1).and_then(|a| a.parse::<u64>().ok()),
        args.get(2).and_then(|a| a.parse::<f64>().ok()),
    ) else {
        eprintln!("usage: bare_tokio TASKS SLEEP_MS");
        std::process::exit(2);
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_time()
        .build()
        .expect("building the runtime");
    let sleep = Duration::from_secs_f64(sleep_ms / 1e3);
    let wall_ms = runtime.block_on(async move {
        let start = Instant::now();
        let handles: Vec<_> = (0..tasks)
            .map(|_| tokio::spawn(tokio::time::sleep(sleep)))
            .collect();
        for handle in handles {
            handle.await.expect("a sleeping task does not panic");
        }
        start.elapsed().as_secs_f64() * 1e3
    });
    println!("wall_ms={wall_ms:.3} peak_rss_kib={}", peak_rss_kib());
}

/// VmHWM of this process, KiB.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}
