//! # Exercise 1: a blocking sleep in an async HTTP handler
//!
//! **What the program does.** A tokio HTTP server. Each request looks an
//! order up in a slow backend that takes 50 ms to answer, then replies.
//! The Python original is `time.sleep(0.05)` inside a FastAPI `async def`.
//!
//! **What users see.** One request at a time, every answer takes 50 ms:
//! nothing looks wrong. Under load, answers take seconds.
//!
//! **The question.** How many requests can this server have "waiting for
//! the backend" at the same moment? (Hint: count tokio's worker threads.)
//!
//! **How the check grades it.** `async-vs-blocking check 01` offers
//! requests at a constant rate R for D = 2 s with the lab's open-loop load
//! generator (latency counts from when each request was due, so a stall is
//! not hidden) and holds the 99th-percentile latency to a bound:
//! - while a handler sleeps with `std::thread::sleep`, it holds a worker
//!   thread, so W workers serve at most C = W / 50 ms requests per second.
//!   The check offers R = 2C: a queue grows at C per second, and the
//!   request due at time t waits at least t. So the p99 is at least about
//!   D = 2 s.
//! - a server that waits without holding a thread answers every request
//!   in 50 ms plus a little.
//! - the bound is the geometric middle, √(50 ms × 2 s) ≈ 316 ms: about 6×
//!   away from both, so scheduling noise on a busy laptop cannot cross it.

use std::time::Duration;

/// How long the backend takes to answer one lookup.
const BACKEND_WAIT: Duration = Duration::from_millis(50);

/// Looks the order up in the backend and answers.
async fn handle(_path: String) -> String {
    // TODO: this waits for the backend by blocking the worker thread, so
    // no other request can run on it meanwhile. Wait without blocking.
    std::thread::sleep(BACKEND_WAIT);
    "your order has shipped\n".to_string()
}

#[tokio::main]
async fn main() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("cannot listen on loopback");
    let address = listener
        .local_addr()
        .expect("a bound listener has an address");
    kit::ready(
        address,
        &[
            ("workers", kit::tokio_workers()),
            ("backend_wait_ms", BACKEND_WAIT.as_secs_f64() * 1e3),
        ],
    );
    kit::http::serve(listener, handle).await;
}
