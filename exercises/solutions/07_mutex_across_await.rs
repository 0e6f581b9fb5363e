//! Reference solution to exercise 7 (the essay and the bound are in
//! `exercises/src/bin/07_mutex_across_await.rs`): the guard lives in a
//! block that ends before the fetch's `.await`, and the lock is taken again
//! to store the result, so no task waits while holding it.

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
    if let Some(found) = cache.lock().unwrap().get(&product) {
        return found.clone();
    }
    let fetched = fetch_from_backend(product).await;
    cache.lock().unwrap().insert(product, fetched.clone());
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
