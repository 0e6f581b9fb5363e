//! Spawn and switch costs per unit, measured with a small budget for the
//! "Published figures" table. The experiments themselves live in
//! [`crate::experiments`] (the criterion benches time the same functions
//! with criterion's budget); here each runs a few batches and keeps the
//! median, with every runtime built before anything is timed.

use super::published::UnitCosts;
use crate::experiments::context_switch::{
    per_round_trip_median, Medium, Placement, SwitchCase, Units,
};
use crate::experiments::spawn_cost::{per_unit_median, SpawnKind};
use crate::measure;
use anyhow::Context;
use std::path::Path;

/// Units spawned and joined per batch, and batches per kind.
const SPAWN_UNITS: u64 = 500;
const SPAWN_BATCHES: usize = 5;
/// Round trips per ping-pong run, and runs per case.
const ROUND_TRIPS: u64 = 2_000;
const SWITCH_RUNS: usize = 3;

/// The file the costs are kept in, beside results.jsonl.
pub const FILE_NAME: &str = "unit-costs.json";

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
        if crate::interrupt::requested() {
            break; // the caller stops the report
        }
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
        if crate::interrupt::requested() {
            break; // the caller stops the report
        }
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

/// Writes the costs as one JSON document.
pub fn write_costs(path: &Path, costs: &UnitCosts) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(costs).context("encoding unit costs")?;
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// Reads costs written by [`write_costs`].
pub fn read_costs(path: &Path) -> anyhow::Result<UnitCosts> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{}: not a unit-costs file", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costs_round_trip_through_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let costs = UnitCosts {
            spawn_ns: vec![("thread".into(), 20_000.0)],
            switch_ns: vec![("tokio task (channel)".into(), 150.0)],
            source: "test".into(),
            machine: None,
        };
        write_costs(&path, &costs).unwrap();
        assert_eq!(read_costs(&path).unwrap(), costs);
        std::fs::write(&path, "[]").unwrap();
        assert!(format!("{:#}", read_costs(&path).unwrap_err()).contains("unit-costs.json"));
    }
}
