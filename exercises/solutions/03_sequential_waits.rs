//! Reference solution to exercise 3 (the essay and the bound are in
//! `exercises/src/bin/03_sequential_waits.rs`): `tokio::join!` polls the
//! three calls together, so the page takes the longest wait, not the sum.

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
    let (profile, orders, recommendations) =
        tokio::join!(fetch_profile(), fetch_orders(), fetch_recommendations());
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
