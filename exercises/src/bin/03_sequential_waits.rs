//! # Exercise 3: three independent waits, awaited one after another
//!
//! **What the program does.** Builds a shop's home page from three
//! services: the customer's profile, their recent orders and some
//! recommendations, each a 100 ms network call. None needs another's
//! answer. It builds the page 5 times and reports the median time.
//! (The Python original forgets `asyncio.gather`.)
//!
//! **What users see.** A page that takes as long as all three calls added
//! up, although the three could have been in flight together.
//!
//! **The question.** `.await` means "wait here until this is done". What
//! is each call waiting for, and could the others have started meanwhile?
//! (Look up `tokio::join!`.)
//!
//! **How the check grades it.** The program reports the median page time
//! and its three waits.
//! - awaited in sequence, a page takes at least the sum of the waits,
//!   3 × 100 ms = 300 ms;
//! - joined, it takes the longest wait, 100 ms, plus a timer tick;
//! - the bound is the geometric middle, √(100 × 300) ≈ 173 ms: 1.7× from
//!   both sides, where scheduling noise is a few ms.

use std::time::{Duration, Instant};

/// How long each service takes to answer.
const PROFILE_WAIT: Duration = Duration::from_millis(100);
const ORDERS_WAIT: Duration = Duration::from_millis(100);
const RECOMMENDATIONS_WAIT: Duration = Duration::from_millis(100);

/// Pages built; the median's time is reported.
const PAGES: usize = 5;

async fn fetch_profile() -> String {
    tokio::time::sleep(PROFILE_WAIT).await;
    "Ada".to_string()
}

async fn fetch_orders() -> Vec<u32> {
    tokio::time::sleep(ORDERS_WAIT).await;
    vec![1815, 1843]
}

async fn fetch_recommendations() -> Vec<&'static str> {
    tokio::time::sleep(RECOMMENDATIONS_WAIT).await;
    vec!["a difference engine", "punched cards"]
}

/// Builds the home page from the three services' answers.
async fn home_page() -> String {
    // TODO: each `.await` waits for one call to finish before the next
    // starts. The three do not depend on each other: wait for them together.
    let profile = fetch_profile().await;
    let orders = fetch_orders().await;
    let recommendations = fetch_recommendations().await;
    format!("Hello {profile}: orders {orders:?}, you may like {recommendations:?}")
}

#[tokio::main]
async fn main() {
    let mut page_ms = Vec::new();
    for _ in 0..PAGES {
        let start = Instant::now();
        let page = home_page().await;
        page_ms.push(kit::ms_since(start));
        assert!(page.starts_with("Hello Ada"), "the page lost its content");
    }
    page_ms.sort_by(f64::total_cmp);
    let waits_ms = [PROFILE_WAIT, ORDERS_WAIT, RECOMMENDATIONS_WAIT].map(|w| w.as_secs_f64() * 1e3);
    kit::report(&[
        ("page_ms", page_ms[PAGES / 2]),
        (
            "longest_wait_ms",
            waits_ms.iter().copied().fold(0.0, f64::max),
        ),
        ("sum_of_waits_ms", waits_ms.iter().sum()),
    ]);
}
