//! # Exercise 4: a blocking database call inside async code
//!
//! **What the program does.** A tokio program looks up 16 customers per
//! worker thread, all at once, each with one query through a database
//! driver that only has a blocking API (`kit::blocking_db::query`, 20 ms a
//! round trip; the database serves any number of queries at once). The same
//! happens with `std::fs` on a slow disk, or a synchronous HTTP client.
//!
//! **What users see.** The lookups were started together, yet they finish
//! a few at a time, and everything else on the runtime stalls meanwhile.
//!
//! **The question.** `query` is an ordinary function: while it waits for
//! the database, what is the tokio worker thread that called it doing?
//! (Look up `tokio::task::spawn_blocking`.)
//!
//! **How the check grades it.** The program reports the time for all
//! lookups, with its worker count W and the query time q = 20 ms.
//! - each blocking query holds a worker for q, so W workers finish the
//!   N = 16 W queries in at least N q / W = 16 q = 320 ms;
//! - queries moved to threads made for blocking all wait together: about
//!   q, plus starting those threads;
//! - the bound is the geometric middle, √(q × 16 q) = 4 q = 80 ms, 4× from
//!   both sides. (tokio's blocking pool has 512 threads: on a machine with
//!   more than 32 cores N exceeds it and the bound would need a larger q.)

use std::time::Instant;

/// Lookups per tokio worker thread.
const LOOKUPS_PER_WORKER: u64 = 16;

/// Looks one customer up.
async fn lookup(customer: u64) -> String {
    // TODO: `query` blocks this worker thread for the whole round trip.
    // Run it where blocking is allowed, and await its result here.
    kit::blocking_db::query(customer)
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
