//! # Exercise 7: a `std::sync::Mutex` guard held across an `.await`
//!
//! **What the program does.** A single-threaded tokio server (tasks made
//! with `spawn_local`, as in many small services) answers 10 requests at
//! once. Each looks its product up in a shared cache; on a miss it fetches
//! the product from the backend (50 ms) and stores it. The cache is a
//! `std::sync::Mutex<HashMap>`, locked once for the whole lookup.
//!
//! **What users see.** The server freezes: no request is ever answered.
//! (On a multi-threaded runtime the same mistake serialises requests, or
//! does not compile when the task must be `Send`.)
//!
//! **The question.** The first request holds the lock while it waits for
//! the backend. The second asks for the lock: what does a
//! `std::sync::Mutex` do with the thread that asks for a lock it cannot
//! have, and which thread would have to run to release it?
//! (`cargo clippy` knows this one: its lint `await_holding_lock`.)
//!
//! **How the check grades it.** The program reports the time for all 10
//! requests, and the backend's wait w = 50 ms.
//! - held across the fetch, the lock lets one request wait at a time: at
//!   least 10 w = 500 ms (with `tokio::sync::Mutex`), or never (with
//!   `std::sync::Mutex` on one thread: a deadlock; the check stops the
//!   program after 4 × 10 w);
//! - held only to read and to write the cache, the 10 fetches wait
//!   together: about w;
//! - the bound is the geometric middle, √(w × 10 w) ≈ 158 ms, 3× from both.
#![allow(clippy::await_holding_lock)] // the pitfall this exercise plants

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long the backend takes to return one product.
const BACKEND_WAIT: Duration = Duration::from_millis(50);
/// Requests answered at once.
const REQUESTS: u32 = 10;

type Cache = Rc<Mutex<HashMap<u32, String>>>;

async fn fetch_from_backend(product: u32) -> String {
    tokio::time::sleep(BACKEND_WAIT).await;
    format!("product {product}")
}

/// Returns the product, from the cache when it is there.
async fn lookup(cache: Cache, product: u32) -> String {
    // TODO: the guard lives until the end of this function, across the
    // fetch's `.await`. Hold the lock only to read, and again to write.
    let mut entries = cache.lock().unwrap();
    if let Some(found) = entries.get(&product) {
        return found.clone();
    }
    let fetched = fetch_from_backend(product).await;
    entries.insert(product, fetched.clone());
    fetched
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    kit::announce(&[
        ("backend_wait_ms", BACKEND_WAIT.as_secs_f64() * 1e3),
        ("requests", f64::from(REQUESTS)),
    ]);
    let cache: Cache = Rc::new(Mutex::new(HashMap::new()));
    let tasks = tokio::task::LocalSet::new();
    let start = Instant::now();
    tasks
        .run_until(async {
            let requests: Vec<_> = (0..REQUESTS)
                .map(|product| tokio::task::spawn_local(lookup(cache.clone(), product)))
                .collect();
            for request in requests {
                request.await.expect("a request panicked");
            }
        })
        .await;
    kit::report(&[
        ("all_requests_ms", kit::ms_since(start)),
        ("backend_wait_ms", BACKEND_WAIT.as_secs_f64() * 1e3),
        ("requests", f64::from(REQUESTS)),
    ]);
}
