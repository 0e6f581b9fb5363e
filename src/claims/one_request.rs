//! one-request-not-faster (placeholder).

use super::{Claim, Trial, Trials};

pub const CLAIM: Claim = Claim {
    id: "one-request-not-faster",
    claim: "Async makes I/O faster.",
    experiment: "one request's latency over loopback, blocking vs async; then many concurrent requests: throughput per model.",
    run,
};

fn run(_trials: &Trials) -> Trial {
    Trial::not_measured("not written yet", vec![])
}
