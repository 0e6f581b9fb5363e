//! Reference solution to exercise 4 (the essay and the bound are in
//! `exercises/src/bin/04_blocking_client.rs`): the blocking query runs on
//! tokio's blocking pool (`spawn_blocking`); the async task only awaits
//! its result, so the workers stay free and the queries wait together.

use std::time::Instant;

/// Lookups per tokio worker thread.
const LOOKUPS_PER_WORKER: u64 = 16;

/// Looks one customer up.
async fn lookup(customer: u64) -> String {
    tokio::task::spawn_blocking(move || kit::blocking_db::query(customer))
        .await
        .expect("a query panicked")
}

#[tokio::main]
async fn main() {
    let workers = kit::tokio_workers();
    let lookups = LOOKUPS_PER_WORKER * workers as u64;
    let start = Instant::now();
    let tasks: Vec<_> = (0..lookups)
        .map(|customer| tokio::spawn(lookup(customer)))
        .collect();
    for task in tasks {
        let row = task.await.expect("a lookup panicked");
        assert!(row.starts_with("customer"), "a lookup lost its row");
    }
    kit::report(&[
        ("all_lookups_ms", kit::ms_since(start)),
        ("query_ms", kit::blocking_db::QUERY_TIME.as_secs_f64() * 1e3),
        ("lookups", lookups as f64),
        ("workers", workers),
    ]);
}
