//! Two claims about the price of a unit of concurrency, measured with the
//! lab's micro-experiments in [`crate::experiments`] on a small budget.
//!
//! - threads-cost-to-spawn: the time to create and join one empty unit,
//!   in large batches (the per-unit price) and alone (a full round trip,
//!   including waking whoever runs it).
//! - switch-cost: two units play ping-pong; half a round trip is one
//!   hand-off. Threads hand off through the kernel; tasks on one thread
//!   hand off inside the runtime; tasks on a multi-thread runtime often wake
//!   another worker thread, which is a thread hand-off again. Threads are
//!   also measured pinned to one core, to separate the switch itself from
//!   the cross-core wake-up.

use super::{figure, threshold, Claim, Trial, Trials, Verdict};
use crate::experiments::context_switch::per_round_trip_median;
use crate::experiments::spawn_cost::per_unit_median;
use crate::experiments::{Medium, Placement, SpawnKind, SwitchCase, Units};

pub const THREADS_COST_TO_SPAWN: Claim = Claim {
    id: "threads-cost-to-spawn",
    claim: "Creating a thread costs far more than creating an async task.",
    experiment: "Spawn and join empty units: 1,000 threads vs 10,000 tasks on tokio, tokio current-thread and smol (and a pool job); then one unit alone.",
    run: spawn_cost,
};

pub const SWITCH_COST: Claim = Claim {
    id: "switch-cost",
    claim: "Switching between async tasks is cheaper than switching between threads.",
    experiment: "Ping-pong between two threads vs two tasks (one-thread and multi-thread tokio, smol) over a channel and a Unix socket pair; threads also pinned to one core.",
    run: switch_cost,
};

/// Threads per spawn batch (each a real OS thread).
const THREAD_UNITS: u64 = 1_000;
/// Tasks per spawn batch.
const TASK_UNITS: u64 = 10_000;
/// Batches of one, for the single spawn-and-join round trip.
const SINGLE_BATCHES: usize = 21;
/// "Far more": a thread's per-unit cost at least this many times the
/// dearest async runtime's.
pub const SPAWN_RATIO_MIN: f64 = 10.0;

/// Round trips per ping-pong run.
const ROUND_TRIPS: u64 = 20_000;
/// "Cheaper": a thread hand-off at least this many times a task hand-off.
pub const SWITCH_RATIO_MIN: f64 = 1.5;

fn micros(duration: std::time::Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}

fn spawn_cost(trials: &Trials) -> Trial {
    let batches = trials.repeats() as usize;
    let of = |model: &str| SpawnKind::of_model(model).expect("the registry has this model");
    // Every current async runtime in the registry is held to the claim.
    let runtimes: Vec<SpawnKind> = crate::model::all()
        .iter()
        .filter(|model| model.style() == crate::model::Style::Async && !model.legacy())
        .filter_map(|model| SpawnKind::of_model(model.name()))
        .collect();
    let mut kinds = vec![
        (of("sequential"), TASK_UNITS),
        (of("threads"), THREAD_UNITS),
        (of("thread-pool"), TASK_UNITS),
    ];
    kinds.extend(runtimes.iter().map(|&kind| (kind, TASK_UNITS)));
    let mut per_unit = Vec::new();
    for (kind, units) in kinds {
        match per_unit_median(kind, units, batches) {
            Ok(duration) => per_unit.push((kind, micros(duration))),
            Err(error) => return Trial::not_measured(format!("{error:#}"), vec![]),
        }
    }
    let single = |kind| per_unit_median(kind, 1, SINGLE_BATCHES).map(micros);
    let (thread_single, tokio_single) = match (single(of("threads")), single(of("tokio"))) {
        (Ok(t), Ok(k)) => (t, k),
        (Err(error), _) | (_, Err(error)) => {
            return Trial::not_measured(format!("{error:#}"), vec![])
        }
    };
    let cost = |kind: SpawnKind| {
        per_unit
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or(0.0, |(_, us)| *us)
    };
    let thread = cost(of("threads"));
    let ratios: Vec<(SpawnKind, f64)> = runtimes
        .iter()
        .map(|&kind| (kind, thread / cost(kind).max(1e-6)))
        .collect();
    let below: Vec<String> = ratios
        .iter()
        .filter(|(_, ratio)| *ratio < SPAWN_RATIO_MIN)
        .map(|(kind, ratio)| {
            format!(
                "{} {:.2} µs per task (×{ratio:.0})",
                kind.name(),
                cost(*kind)
            )
        })
        .collect();
    let single_ratio = thread_single / tokio_single.max(1e-6);
    let mut caveats = Vec::new();
    if !below.is_empty() {
        caveats.push(format!(
            "not against every runtime here: {}",
            below.join(", ")
        ));
    }
    if single_ratio < SPAWN_RATIO_MIN {
        caveats.push(format!(
            "in bulk only: one spawn-and-join alone costs {thread_single:.1} µs for a thread vs {tokio_single:.1} µs for a tokio task \
             (×{single_ratio:.1}) — waking a worker thread dominates a lone task; a pool job avoids thread creation ({:.2} µs)",
            cost(of("thread-pool"))
        ));
    }
    let verdict = match (below.len() == runtimes.len(), caveats.is_empty()) {
        (true, _) => Verdict::DoesNotHold,
        (false, true) => Verdict::Holds,
        (false, false) => Verdict::HoldsWithACaveat,
    };
    let caveat = (!caveats.is_empty()).then(|| caveats.join("; "));
    let mut figures: Vec<_> = per_unit
        .iter()
        .map(|(kind, us)| figure(format!("{} per unit", kind.name()), *us, "µs"))
        .collect();
    figures.push(figure("thread, one alone", thread_single, "µs"));
    figures.push(figure("tokio, one alone", tokio_single, "µs"));
    Trial {
        measured: format!(
            "µs per unit spawned and joined: {}; one alone: thread {thread_single:.1}, tokio {tokio_single:.1}.",
            per_unit
                .iter()
                .map(|(kind, us)| format!("{} {us:.2}", kind.name()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        figures,
        verdict,
        caveat,
        decided_by: format!(
            "thread {thread:.1} µs per unit vs tasks: {} (≥ {SPAWN_RATIO_MIN} = far more); alone ×{single_ratio:.1}; \
             median of {batches} batches, workers = cores = {}",
            ratios
                .iter()
                .map(|(kind, ratio)| format!("{} ×{ratio:.0}", kind.name()))
                .collect::<Vec<_>>()
                .join(", "),
            trials.cores
        ),
        thresholds: vec![threshold(
            "SPAWN_RATIO_MIN",
            SPAWN_RATIO_MIN,
            "thread cost per unit ≥ this × a task's: far more",
        )],
        cell_commands: vec![],
        chart: None,
    }
}

fn switch_cost(trials: &Trials) -> Trial {
    let repeats = trials.repeats() as usize;
    let case = |model: &str, medium, placement| SwitchCase {
        units: Units::of_model(model).expect("the registry has this model"),
        medium,
        placement,
    };
    let cases = [
        (
            "threads, channel",
            case("threads", Medium::Channel, Placement::Free),
        ),
        (
            "threads, channel, one core",
            case("threads", Medium::Channel, Placement::OneCore),
        ),
        (
            "tokio current-thread, channel",
            case("tokio-current", Medium::Channel, Placement::Free),
        ),
        (
            "tokio multi-thread, channel",
            case("tokio", Medium::Channel, Placement::Free),
        ),
        (
            "smol, channel",
            case("smol", Medium::Channel, Placement::Free),
        ),
        (
            "threads, socket",
            case("threads", Medium::Socket, Placement::Free),
        ),
        (
            "tokio current-thread, socket",
            case("tokio-current", Medium::Socket, Placement::Free),
        ),
    ];
    let mut per_switch = Vec::new();
    let mut skipped = Vec::new();
    for (label, case) in cases {
        match per_round_trip_median(case, ROUND_TRIPS, repeats) {
            // One round trip is two hand-offs.
            Ok(duration) => per_switch.push((label, micros(duration) / 2.0)),
            // Pinning may be refused (e.g. outside Linux): report, don't fail.
            Err(error) if case.placement == Placement::OneCore => {
                skipped.push(format!("{label}: {error:#}"))
            }
            Err(error) => return Trial::not_measured(format!("{error:#}"), vec![]),
        }
    }
    let cost = |label: &str| {
        per_switch
            .iter()
            .find(|(l, _)| *l == label)
            .map(|(_, us)| *us)
    };
    let thread = cost("threads, channel").unwrap_or(0.0);
    let one_thread_task = cost("tokio current-thread, channel")
        .unwrap_or(0.0)
        .max(1e-6);
    let multi_task = cost("tokio multi-thread, channel").unwrap_or(0.0).max(1e-6);
    let ratio = thread / one_thread_task;
    let multi_ratio = thread / multi_task;
    let mut caveats = Vec::new();
    if multi_ratio < SWITCH_RATIO_MIN {
        caveats.push(format!(
            "on tokio's multi-thread runtime the tasks woke each other across workers and paid {multi_task:.2} µs per hand-off \
             (threads ×{multi_ratio:.1} that), much of a thread hand-off's price{}",
            cost("threads, channel, one core")
                .map(|us| format!("; pinned to one core a thread hand-off costs {us:.2} µs"))
                .unwrap_or_default()
        ));
    }
    if let (Some(thread_socket), Some(task_socket)) = (
        cost("threads, socket"),
        cost("tokio current-thread, socket"),
    ) {
        if thread_socket < SWITCH_RATIO_MIN * task_socket {
            caveats.push(format!(
                "over a socket the gap closes: {task_socket:.2} µs per hand-off for tasks vs {thread_socket:.2} µs for threads — \
                 each hand-off is a system call either way, and the reactor adds its own"
            ));
        }
    }
    let verdict = match (ratio >= SWITCH_RATIO_MIN, caveats.is_empty()) {
        (false, _) => Verdict::DoesNotHold,
        (true, true) => Verdict::Holds,
        (true, false) => Verdict::HoldsWithACaveat,
    };
    let caveat = (!caveats.is_empty()).then(|| {
        format!(
            "for channel hand-offs between tasks on one thread (×{ratio:.0}); {}",
            caveats.join("; ")
        )
    });
    Trial {
        measured: format!(
            "µs per hand-off (half a round trip, {ROUND_TRIPS} round trips): {}.{}",
            per_switch
                .iter()
                .map(|(label, us)| format!("{label} {us:.2}"))
                .collect::<Vec<_>>()
                .join(", "),
            if skipped.is_empty() {
                String::new()
            } else {
                format!(" Not measured: {}.", skipped.join("; "))
            }
        ),
        figures: per_switch
            .iter()
            .map(|(label, us)| figure(format!("{label} per hand-off"), *us, "µs"))
            .collect(),
        verdict,
        caveat,
        decided_by: format!(
            "thread hand-off {thread:.2} µs vs one-thread task {one_thread_task:.2} µs (×{ratio:.1}) and multi-thread task \
             {multi_task:.2} µs (×{multi_ratio:.1}), against {SWITCH_RATIO_MIN}; median of {repeats} runs, cores = {}",
            trials.cores
        ),
        thresholds: vec![threshold(
            "SWITCH_RATIO_MIN",
            SWITCH_RATIO_MIN,
            "thread hand-off ≥ this × a task hand-off: cheaper",
        )],
        cell_commands: vec![],
        chart: None,
    }
}
