//! The cost of handing control from one unit of work to another and back.
//!
//! Two units play ping-pong (the body is written once, in
//! [`crate::model::lab`]; each model runs it on its own runtime): one sends a one-byte message, the other waits
//! for it and sends it back, and the first waits for the reply. One round
//! trip is two hand-offs, each a wake-up of a unit that was blocked (a
//! thread) or parked (a task). The link is either the runtime's own channel
//! or a Unix socket pair, where the wake-up comes from I/O readiness (the
//! kernel for threads, the runtime's reactor for tasks).
//!
//! Each measurement builds its runtime, creates the link and starts both
//! units untimed, exchanges one untimed warm-up message, and then times
//! `round_trips` round trips inside the pinging unit. The ponging unit
//! counts its echoes, so a run that lost a message is an error, not a fast
//! result. With [`Placement::OneCore`] every thread of the process is pinned
//! to one CPU for the exchange (see [`super::pin`] for exactly what).

use super::pin::OneCore;
use super::workers;
use crate::model::{self, Model, ModelConfig};
use anyhow::Context;
use std::time::Duration;

pub use crate::model::Medium;

/// What the two units are: those of a model that offers a ping-pong
/// (threads for `threads`, tasks for each async runtime), by the model's
/// name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Units(&'static str);

/// Where the threads may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Wherever the scheduler puts them.
    Free,
    /// Every thread of the process pinned to one CPU.
    OneCore,
}

/// One ping-pong configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SwitchCase {
    pub units: Units,
    pub medium: Medium,
    pub placement: Placement,
}

impl Units {
    /// Every model that offers a ping-pong, in the registry's order.
    pub fn all() -> Vec<Units> {
        model::all()
            .iter()
            .filter(|model| model.offers().ping_pong.is_some())
            .map(|model| Units(model.name()))
            .collect()
    }

    /// The units of the model named `model`, if it offers a ping-pong.
    pub fn of_model(model: &str) -> Option<Units> {
        Units::all().into_iter().find(|units| units.0 == model)
    }

    /// The model's name.
    pub fn name(self) -> &'static str {
        self.0
    }

    fn model(self) -> &'static dyn Model {
        model::by_name(self.0).expect("units come from the registry")
    }
}

impl Placement {
    pub const ALL: [Placement; 2] = [Placement::Free, Placement::OneCore];

    pub fn name(self) -> &'static str {
        match self {
            Placement::Free => "free",
            Placement::OneCore => "one-core",
        }
    }
}

impl SwitchCase {
    /// Every combination of units, medium and placement.
    pub fn all() -> Vec<SwitchCase> {
        let mut cases = Vec::new();
        for placement in Placement::ALL {
            for medium in Medium::ALL {
                for units in Units::all() {
                    cases.push(SwitchCase {
                        units,
                        medium,
                        placement,
                    });
                }
            }
        }
        cases
    }

    /// `units/medium/placement`, e.g. `tokio/socket/one-core`.
    pub fn name(&self) -> String {
        format!(
            "{}/{}/{}",
            self.units.name(),
            self.medium.name(),
            self.placement.name()
        )
    }

    /// The primitives used, in one line.
    pub fn description(&self) -> &'static str {
        let links = self
            .units
            .model()
            .offers()
            .ping_pong
            .expect("units offer a ping-pong");
        match self.medium {
            Medium::Channel => links.channel,
            Medium::Socket => links.socket,
        }
    }
}

/// One measured ping-pong.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PingPongRun {
    /// Round trips timed.
    pub round_trips: u64,
    /// Messages the ponging unit sent back (the timed ones plus one warm-up).
    pub echoed: u64,
    /// Time for the timed round trips.
    pub elapsed: Duration,
}

impl PingPongRun {
    /// The time per round trip (two hand-offs).
    pub fn per_round_trip(&self) -> Duration {
        Duration::from_secs_f64(self.elapsed.as_secs_f64() / self.round_trips.max(1) as f64)
    }
}

/// Runs `round_trips` timed round trips of `case` and returns their time
/// (runtime construction, set-up and the warm-up exchange not included).
pub fn ping_pong(case: SwitchCase, round_trips: u64) -> anyhow::Result<Duration> {
    Ok(measure(case, round_trips)?.elapsed)
}

/// The median time per round trip over `repeats` runs of `round_trips`, for
/// callers with a small budget (the `claims` command, the report).
pub fn per_round_trip_median(
    case: SwitchCase,
    round_trips: u64,
    repeats: usize,
) -> anyhow::Result<Duration> {
    let mut times = per_round_trip_repeats(case, round_trips, repeats)?;
    times.sort();
    Ok(times[times.len() / 2])
}

/// The time per round trip of each of `repeats` runs (at least one), in the
/// order measured: what an interval is computed from.
pub fn per_round_trip_repeats(
    case: SwitchCase,
    round_trips: u64,
    repeats: usize,
) -> anyhow::Result<Vec<Duration>> {
    (0..repeats.max(1))
        .map(|_| Ok(measure(case, round_trips)?.per_round_trip()))
        .collect()
}

/// Runs `case` and checks that every message came back.
pub fn measure(case: SwitchCase, round_trips: u64) -> anyhow::Result<PingPongRun> {
    let (elapsed, echoed) = run_case(case, round_trips).with_context(|| case.name())?;
    if echoed != round_trips + 1 {
        anyhow::bail!(
            "{}: {echoed} echoes for {round_trips} round trips and one warm-up",
            case.name()
        );
    }
    Ok(PingPongRun {
        round_trips,
        echoed,
        elapsed,
    })
}

/// Pins the process for a one-core case; the guard unpins when dropped.
fn place(placement: Placement) -> anyhow::Result<Option<OneCore>> {
    match placement {
        Placement::Free => Ok(None),
        Placement::OneCore => Ok(Some(OneCore::pin_process()?)),
    }
}

/// Builds the model's runtime (untimed), pins the process for a one-core
/// case, and plays.
fn run_case(case: SwitchCase, round_trips: u64) -> anyhow::Result<(Duration, u64)> {
    let mut lab = case.units.model().lab(&ModelConfig {
        workers: workers(),
        stack_kib: None,
    })?;
    let _pinned = place(case.placement)?;
    lab.ping_pong(case.medium, round_trips)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_free_case_echoes_every_message() {
        for case in SwitchCase::all() {
            if case.placement != Placement::Free {
                continue; // pinning the test process would slow other tests; see tests/pinning.rs
            }
            let run = measure(case, 100).unwrap();
            assert_eq!(run.echoed, 101, "{}", case.name());
            assert!(run.elapsed > Duration::ZERO, "{}", case.name());
            // 100 round trips are 200 hand-offs; even a busy machine does
            // them in far less than 10 s (each is microseconds).
            assert!(run.elapsed < Duration::from_secs(10), "{}", case.name());
        }
    }

    #[test]
    fn the_median_helper_reports_per_round_trip() {
        let case = SwitchCase {
            units: Units::of_model("tokio-current").unwrap(),
            medium: Medium::Channel,
            placement: Placement::Free,
        };
        let per_round_trip = per_round_trip_median(case, 100, 3).unwrap();
        assert!(per_round_trip > Duration::ZERO);
        assert!(
            per_round_trip < Duration::from_millis(100),
            "{per_round_trip:?}"
        );
    }

    #[test]
    fn names_are_unique() {
        let names: Vec<String> = SwitchCase::all().iter().map(|c| c.name()).collect();
        assert_eq!(names.len(), Units::all().len() * 4);
        for name in &names {
            assert_eq!(names.iter().filter(|n| *n == name).count(), 1, "{name}");
        }
    }
}
