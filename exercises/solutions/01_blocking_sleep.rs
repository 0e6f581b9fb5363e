//! Reference solution to exercise 1 (the essay and the bound are in
//! `exercises/src/bin/01_blocking_sleep.rs`): the handler waits for the
//! backend with tokio's sleep, which gives the worker thread back while it
//! waits, so one worker serves many waiting requests.

use std::time::Duration;

/// How long the backend takes to answer one lookup.
const BACKEND_WAIT: Duration = Duration::from_millis(50);

/// Looks the order up in the backend and answers.
async fn handle(_path: String) -> String {
    tokio::time::sleep(BACKEND_WAIT).await;
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
