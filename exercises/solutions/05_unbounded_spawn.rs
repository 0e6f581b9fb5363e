//! Reference solution to exercise 5 (the essay and the bound are in
//! `exercises/src/bin/05_unbounded_spawn.rs`): a semaphore with as many
//! permits as the service takes at once; a request (and its body) is made
//! only when a permit is free, so at most that many exist at a time.

use std::sync::Arc;
use std::time::Instant;

/// Requests to forward, and each one's body.
const REQUESTS: usize = 50_000;
const BODY_BYTES: usize = 2048;

#[tokio::main]
async fn main() {
    let (start_rss_kib, _) = kit::rss_now_and_peak_kib();
    let start = Instant::now();

    let permits = Arc::new(tokio::sync::Semaphore::new(kit::SLOW_SERVICE_CONCURRENCY));
    // Each request's answer comes back on this channel.
    let (answers, mut answered) = tokio::sync::mpsc::unbounded_channel();
    for request in 0..REQUESTS {
        // Wait for a free permit before making the next request.
        let permit = permits.clone().acquire_owned().await.expect("never closed");
        let body = vec![request as u8; BODY_BYTES];
        let answers = answers.clone();
        tokio::spawn(async move {
            let answer = kit::slow_service(&body).await;
            drop(permit);
            let _ = answers.send(answer);
        });
    }
    for _ in 0..REQUESTS {
        let answer = answered.recv().await.expect("a request task panicked");
        assert_eq!(answer, BODY_BYTES, "the service lost part of a body");
    }

    let (_, peak_rss_kib) = kit::rss_now_and_peak_kib();
    kit::report(&[
        ("rss_growth_kib", peak_rss_kib - start_rss_kib),
        ("requests", REQUESTS as f64),
        ("body_kib", BODY_BYTES as f64 / 1024.0),
        ("service_concurrency", kit::SLOW_SERVICE_CONCURRENCY as f64),
        ("wall_ms", kit::ms_since(start)),
    ]);
}
