//! Spawn and switch costs per unit, measured with a small budget for the
//! report's "Published figures" table (`unit-costs.json`). The experiments
//! themselves are [`super::spawn_cost`] and [`super::context_switch`] (the
//! criterion benches time the same functions with criterion's budget); here
//! each runs a few batches and keeps the median, with every runtime built
//! before anything is timed.

use super::context_switch::{per_round_trip_median, Medium, Placement, SwitchCase, Units};
use super::spawn_cost::{per_unit_median, SpawnKind};
use crate::model;
use crate::record::costs::UnitCosts;
use anyhow::Context;

/// Units spawned and joined per batch, and batches per kind.
const SPAWN_UNITS: u64 = 500;
const SPAWN_BATCHES: usize = 5;
/// Round trips per ping-pong run, and runs per case.
const ROUND_TRIPS: u64 = 2_000;
const SWITCH_RUNS: usize = 3;

/// Measures spawn-and-join per unit and one switch (half a ping-pong round
/// trip) for each model that names its unit in [`crate::model::Offers`]
/// (threads and each async runtime with a timer of its own): spawn for
/// every one, a switch over a channel for every one that plays ping-pong,
/// then over a socket.
pub fn measure_costs() -> anyhow::Result<UnitCosts> {
    let rows: Vec<(&'static str, &'static str)> = model::all()
        .iter()
        .filter_map(|model| model.offers().unit.map(|unit| (model.name(), unit)))
        .collect();
    let mut spawn_ns = Vec::new();
    for &(model, label) in &rows {
        if crate::os::interrupt::requested() {
            break; // the caller stops the report
        }
        let kind = SpawnKind::of_model(model).context("a model without a spawn kind")?;
        let per_unit = per_unit_median(kind, SPAWN_UNITS, SPAWN_BATCHES)
            .with_context(|| format!("measuring the spawn cost of a {label}"))?;
        spawn_ns.push((label.to_string(), per_unit.as_secs_f64() * 1e9));
    }
    let mut switch_ns = Vec::new();
    for medium in Medium::ALL {
        for &(model, unit) in &rows {
            let Some(units) = Units::of_model(model) else {
                continue;
            };
            if crate::os::interrupt::requested() {
                break; // the caller stops the report
            }
            let label = format!("{unit} ({})", medium.name());
            let case = SwitchCase {
                units,
                medium,
                placement: Placement::Free,
            };
            let round_trip = per_round_trip_median(case, ROUND_TRIPS, SWITCH_RUNS)
                .with_context(|| format!("measuring the switch cost of a {label}"))?;
            // One round trip is two hand-offs.
            switch_ns.push((label, round_trip.as_secs_f64() * 1e9 / 2.0));
        }
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
        machine: Some(crate::lab::machine::machine()),
    })
}
