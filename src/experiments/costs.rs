//! Spawn and switch costs per unit, measured with a small budget for the
//! report's "Published figures" table (`unit-costs.json`). The experiments
//! themselves are [`super::spawn_cost`] and [`super::context_switch`] (the
//! criterion benches time the same functions with criterion's budget); here
//! each runs a few batches and keeps the median, with every runtime built
//! before anything is timed.

use super::context_switch::{per_round_trip_median, Medium, Placement, SwitchCase, Units};
use super::spawn_cost::{per_unit_median, SpawnKind};
use crate::measure;
use crate::report::published::UnitCosts;
use anyhow::Context;

/// Units spawned and joined per batch, and batches per kind.
const SPAWN_UNITS: u64 = 500;
const SPAWN_BATCHES: usize = 5;
/// Round trips per ping-pong run, and runs per case.
const ROUND_TRIPS: u64 = 2_000;
const SWITCH_RUNS: usize = 3;

/// Measures spawn-and-join per unit and one switch (half a ping-pong round
/// trip) for threads and each async runtime.
pub fn measure_costs() -> anyhow::Result<UnitCosts> {
    let spawn_kinds = [
        (SpawnKind::Thread, "thread"),
        (SpawnKind::Tokio, "tokio task"),
        (SpawnKind::AsyncStd, "async-std task"),
        (SpawnKind::Smol, "smol task"),
    ];
    let mut spawn_ns = Vec::new();
    for (kind, label) in spawn_kinds {
        let per_unit = per_unit_median(kind, SPAWN_UNITS, SPAWN_BATCHES)
            .with_context(|| format!("measuring the spawn cost of a {label}"))?;
        spawn_ns.push((label.to_string(), per_unit.as_secs_f64() * 1e9));
    }
    let switch_cases = [
        (Units::Threads, Medium::Channel, "thread (channel)"),
        (Units::Tokio, Medium::Channel, "tokio task (channel)"),
        (Units::AsyncStd, Medium::Channel, "async-std task (channel)"),
        (Units::Smol, Medium::Channel, "smol task (channel)"),
        (Units::Threads, Medium::Socket, "thread (socket)"),
        (Units::Tokio, Medium::Socket, "tokio task (socket)"),
    ];
    let mut switch_ns = Vec::new();
    for (units, medium, label) in switch_cases {
        let case = SwitchCase {
            units,
            medium,
            placement: Placement::Free,
        };
        let round_trip = per_round_trip_median(case, ROUND_TRIPS, SWITCH_RUNS)
            .with_context(|| format!("measuring the switch cost of a {label}"))?;
        // One round trip is two hand-offs.
        switch_ns.push((label.to_string(), round_trip.as_secs_f64() * 1e9 / 2.0));
    }
    Ok(UnitCosts {
        spawn_ns,
        switch_ns,
        source: format!(
            "Spawn cost: the median of {SPAWN_BATCHES} batches, each spawning and joining \
             {SPAWN_UNITS} empty units, per unit. Switch cost: half a ping-pong round trip \
             between two units (over a channel, or a Unix socket pair), median of \
             {SWITCH_RUNS} runs of {ROUND_TRIPS} round trips. One worker thread per core; \
             runtimes built before timing."
        ),
        machine: Some(measure::machine()),
    })
}
