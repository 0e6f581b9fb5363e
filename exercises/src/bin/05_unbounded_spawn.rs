//! # Exercise 5: spawning every request at once against a slow service
//!
//! **What the program does.** Forwards 50,000 requests (2 KiB each) to a
//! remote service that serves at most 200 at a time
//! (`kit::slow_service`, 1 ms a call). It spawns one task per request, all
//! at once: tasks are cheap, so why not? (At a million requests, the same
//! program needs a million times the request's size.)
//!
//! **What users see.** Memory climbs with the number of requests waiting,
//! not with the number being served; a bigger burst ends in the
//! out-of-memory killer, and every queued request gets slower.
//!
//! **The question.** The service takes 200 at a time. Where do the other
//! 49,800 requests wait, and what do they hold while they wait? (Look up
//! `tokio::sync::Semaphore`, or `buffer_unordered` in the `futures` crate.)
//!
//! **How the check grades it.** The program reports how much its resident
//! memory grew (peak minus start, from `/proc/self/status`).
//! - spawning all N = 50,000 at once holds most of them at the same time:
//!   spawning outruns the service, so at least N / 2 × 2 KiB ≈ 50 MB;
//! - letting at most L = 200 (the service's own limit) exist at once holds
//!   L × 2 KiB = 400 KiB;
//! - the bound is the geometric middle, √(N × L) × 2 KiB ≈ 6.3 MB: 16×
//!   from the fixed side's need and 8× from the unfixed side's floor.

use std::time::Instant;

/// Requests to forward, and each one's body.
const REQUESTS: usize = 50_000;
const BODY_BYTES: usize = 2048;

#[tokio::main]
async fn main() {
    let (start_rss_kib, _) = kit::rss_now_and_peak_kib();
    let start = Instant::now();

    // Each request's answer comes back on this channel.
    let (answers, mut answered) = tokio::sync::mpsc::unbounded_channel();
    for request in 0..REQUESTS {
        // TODO: this makes all 50,000 requests (and their bodies) at once,
        // while the service takes 200 at a time. Let only about as many
        // exist as the service can take.
        let body = vec![request as u8; BODY_BYTES];
        let answers = answers.clone();
        tokio::spawn(async move {
            let _ = answers.send(kit::slow_service(&body).await);
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
