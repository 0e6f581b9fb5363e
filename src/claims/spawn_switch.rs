//! threads-cost-to-spawn and switch-cost (placeholder).

use super::{Claim, Trial, Trials};

pub const THREADS_COST_TO_SPAWN: Claim = Claim {
    id: "threads-cost-to-spawn",
    claim: "Creating a thread costs far more than creating an async task.",
    experiment: "spawn-and-join cost per unit: std::thread vs tokio and smol tasks.",
    run: spawn_cost,
};

pub const SWITCH_COST: Claim = Claim {
    id: "switch-cost",
    claim: "Switching between async tasks is cheaper than switching between threads.",
    experiment: "ping-pong between two units over a channel and over a socket pair: cost per switch, threads vs tasks.",
    run: switch_cost,
};

fn spawn_cost(_trials: &Trials) -> Trial {
    Trial::not_measured("not written yet", vec![])
}

fn switch_cost(_trials: &Trials) -> Trial {
    Trial::not_measured("not written yet", vec![])
}
