//! The bare reference for the lab's `threads` model on the `sleep` workload:
//! spawn N threads that each sleep D, join them, print the wall time and
//! peak RSS. Nothing else, so `scripts/overhead.sh` can show how much the
//! lab's harness adds to what `run --model threads` reports.
//!
//! `cargo run --release --example bare_threads -- N D_MS`

use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(tasks), Some(sleep_ms)) = (
        args.get(1).and_then(|a| a.parse::<u64>().ok()),
        args.get(2).and_then(|a| a.parse::<f64>().ok()),
    ) else {
        eprintln!("usage: bare_threads TASKS SLEEP_MS");
        std::process::exit(2);
    };
    let sleep = Duration::from_secs_f64(sleep_ms / 1e3);
    let start = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|_| std::thread::spawn(move || std::thread::sleep(sleep)))
        .collect();
    for handle in handles {
        handle.join().expect("a sleeping thread does not panic");
    }
    let wall_ms = start.elapsed().as_secs_f64() * 1e3;
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
