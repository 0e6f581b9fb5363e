//! async-server-throughput: does an async server handle more requests per
//! second?
//!
//! A short, reduced run of the server sweep's machinery: each model's HTTP
//! server (`serve --model M`, its own process) driven by the open-loop
//! generator (`load`, its own process) for one short point per case, at
//! [`LOAD_SHARE`] of what the case's shape allows at best — one request in
//! flight per connection over a D = 20 ms wait (connections ÷ D), or the
//! cores over a C = 1 ms compute (cores ÷ C):
//!
//! 1. few connections ([`FEW_CONNECTIONS`]) and a waiting handler: a thread
//!    per connection against tokio;
//! 2. many connections ([`MANY_CONNECTIONS`]) and a waiting handler: the
//!    same two, and a pool of `cores` threads — the case where connections
//!    far outnumber the threads that serve them;
//! 3. a computing handler at few connections: the cores decide.
//!
//! The figure is the rate each server achieved. The rule ([`judge`]) is a
//! pure function of those figures; nothing about which side wins is written
//! in advance. Points measured while other programs used the cores are not
//! judged: their rates say more about the load than about the models.
//!
//! It is a demonstration: each case is offered a rate every model can carry
//! in principle (one request in flight per connection over the wait, or the
//! cores over the compute), and no server can exceed that rate, so async
//! cannot come out ahead everywhere. What the run shows is where the rate
//! is set by the connections and the cores, and the one case (a pool of
//! `cores` threads behind many waiting connections) where the model
//! decides.
//!
//! Other programs' CPU is the machine's busy time minus the lab's own
//! process tree (this process, the server, the generator) and minus the
//! kernel's softirq time, where the loopback networking it does on the
//! lab's behalf is counted (so other programs' network interrupts are not
//! counted either). The gate is a share of the usable CPUs.

use super::machine::CpuTopology;
use super::physics::{ensure, ensure_at_most_offered, Physical};
use super::{figure, threshold, Claim, Failure, Trial, Trials, Verdict};
use crate::server::sweep::{self as server_sweep, Handler, ServerChild, Timing};
use std::path::Path;

pub const CLAIM: Claim = Claim {
    id: "async-server-throughput",
    claim: "An async server handles more requests per second.",
    demonstrates: Some(
        "every case is offered a rate each model can carry in principle and no server can exceed it, so async cannot come out ahead everywhere; the run shows where the connections and the cores set the rate, and where the model does (a pool of cores threads behind many waiting connections)",
    ),
    experiment: "HTTP servers under open-loop load for 1 s per point (0.5 s in the default report) at 80 % of what the case allows at best: 20 ms waits over 10 and 200 keep-alive connections (threads, tokio; at 200 also a pool of cores threads), and 1 ms of compute over 10 connections: achieved req/s.",
    run,
};

/// Connections in the few-connections case.
pub const FEW_CONNECTIONS: u64 = 10;
/// Connections in the many-connections case: far more than a pool of
/// `cores` threads, few enough for a short run.
pub const MANY_CONNECTIONS: u64 = 200;
/// Each case is offered this share of its best possible rate (connections
/// ÷ D, or cores ÷ C): a server that keeps up carries it all.
pub const LOAD_SHARE: f64 = 0.8;
/// One side handles "more" when it achieved more than this many times the
/// other's rate; within it, the two are even.
pub const CLEARLY_MORE: f64 = 1.2;
/// Points during which other programs used more than this share of the
/// usable CPUs (on average) are not judged: 0.25 core on 2 CPUs, 2 on 16.
pub const OUTSIDE_SHARE_MAX: f64 = 0.125;

/// How long each point runs: short, since the claims run as a whole in
/// about a minute.
const TIMING: Timing = Timing {
    warmup_s: 0.3,
    point_s: 1.0,
    timeout_s: 1.0,
};
/// The default report's quick budget: half-second points (a few hundred
/// requests even at the smallest rate, enough for the achieved rate that
/// decides; the p99 of so few is shown, not judged).
const QUICK_TIMING: Timing = Timing {
    warmup_s: 0.2,
    point_s: 0.5,
    timeout_s: 1.0,
};

const WAIT_MS: f64 = 20.0;
const COMPUTE_US: f64 = 1000.0;

/// The three cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    FewWaiting,
    ManyWaiting,
    Computing,
}

impl Case {
    fn words(self) -> String {
        match self {
            Case::FewWaiting => format!("{FEW_CONNECTIONS} connections, 20 ms wait"),
            Case::ManyWaiting => format!("{MANY_CONNECTIONS} connections, 20 ms wait"),
            Case::Computing => format!("{FEW_CONNECTIONS} connections, 1 ms compute"),
        }
    }
}

/// One point of the run.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub case: Case,
    pub model: String,
    pub offered_rps: f64,
    pub achieved_rps: f64,
    /// None when no request was answered: a point without responses has no
    /// latency.
    pub p99_ms: Option<f64>,
    /// Why the point failed, when the server reported a limit.
    pub failure: Option<String>,
    /// The point met the sweep's objective (p99 ≤ 5 × the handler's time, no errors).
    pub passed: bool,
    pub server_threads: u64,
    pub foreign_cpu_cores: Option<f64>,
}

/// What the experiment measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    /// The machine the servers ran on (workers = its usable CPUs).
    pub machine: CpuTopology,
    pub points: Vec<Point>,
}

impl Physical for Figures {
    /// No server achieves more than it was offered; a latency exists only
    /// for a point that answered requests; outside load is never negative.
    fn check(&self) -> Result<(), String> {
        for p in &self.points {
            let what = format!("{} at {}", p.model, p.case.words());
            ensure_at_most_offered(&what, p.achieved_rps, p.offered_rps)?;
            match p.p99_ms {
                Some(p99) => ensure(p.achieved_rps > 0.0 && p99.is_finite() && p99 > 0.0, || {
                    format!(
                        "{what}: a p99 of {p99} ms with {:.0} req/s answered",
                        p.achieved_rps
                    )
                })?,
                // Achieved counts only requests due inside the window, the
                // same requests the latency is measured on: none, no rate.
                None => ensure(p.achieved_rps == 0.0, || {
                    format!(
                        "{what}: {:.0} req/s answered without a latency",
                        p.achieved_rps
                    )
                })?,
            }
            ensure(p.foreign_cpu_cores.map_or(true, |c| c >= 0.0), || {
                format!("{what}: negative outside load")
            })?;
        }
        Ok(())
    }
}

impl Figures {
    fn achieved(&self, case: Case, model: &str) -> Option<f64> {
        self.points
            .iter()
            .find(|p| p.case == case && p.model == model)
            .map(|p| p.achieved_rps)
    }
}

fn run(trials: &Trials) -> Trial {
    let timing = match trials.budget() {
        super::Budget::Full => TIMING,
        super::Budget::Quick => QUICK_TIMING,
    };
    super::decide(measure(trials.machine, timing), judge)
}

/// The handler and offered rate of a case on `cores` cores.
fn plan(case: Case, cores: usize) -> (Handler, u64, f64) {
    match case {
        Case::FewWaiting | Case::ManyWaiting => {
            let connections = if case == Case::FewWaiting {
                FEW_CONNECTIONS
            } else {
                MANY_CONNECTIONS
            };
            let best = connections as f64 * 1e3 / WAIT_MS;
            (server_sweep::WAIT, connections, (LOAD_SHARE * best).round())
        }
        Case::Computing => {
            let best = cores as f64 * 1e6 / COMPUTE_US;
            (
                server_sweep::COMPUTE,
                FEW_CONNECTIONS,
                (LOAD_SHARE * best).round(),
            )
        }
    }
}

/// The experiment: one server process per point (a fresh server, so one
/// point's leftovers do not burden the next), one generator process.
fn measure(machine: CpuTopology, timing: Timing) -> Result<Figures, Failure> {
    let cores = machine.usable_logical;
    let exe = std::env::current_exe()
        .map_err(|error| Failure::new(format!("finding the lab's own binary: {error}"), vec![]))?;
    let cases: [(Case, &[&str]); 3] = [
        (Case::FewWaiting, &["threads", "tokio"]),
        (Case::ManyWaiting, &["threads", "thread-pool", "tokio"]),
        (Case::Computing, &["threads", "tokio"]),
    ];
    let mut points = Vec::new();
    for (case, models) in cases {
        for model in models {
            points.push(measure_one(&exe, case, model, cores, timing)?);
        }
    }
    Ok(Figures { machine, points })
}

fn measure_one(
    exe: &Path,
    case: Case,
    model: &str,
    cores: usize,
    timing: Timing,
) -> Result<Point, Failure> {
    let (handler, connections, rate) = plan(case, cores);
    let failed = |error: anyhow::Error| {
        Failure::new(
            format!("{model} server, {}: {error:#}", case.words()),
            vec![],
        )
    };
    let server = ServerChild::start(exe, model, cores).map_err(failed)?;
    let point =
        server_sweep::measure_point(exe, &server, model, &handler, connections, rate, timing)
            .map_err(failed)?;
    Ok(Point {
        case,
        model: model.into(),
        offered_rps: point.offered_rps,
        achieved_rps: point.achieved_rps,
        // A latency exists only where a request due inside the window
        // completed (the histogram is empty otherwise, and reads 0).
        p99_ms: (point.latency.max_ms > 0.0).then_some(point.latency.p99_ms),
        failure: point.failure.clone(),
        passed: point.ok,
        server_threads: point.server_threads,
        foreign_cpu_cores: point.foreign_cpu_cores,
    })
}

/// "a" over "b" in words: "×3.1 more", "even (×1.05)".
fn compare(a: f64, b: f64) -> (std::cmp::Ordering, String) {
    use std::cmp::Ordering;
    if a > CLEARLY_MORE * b {
        (
            Ordering::Greater,
            if b > 0.0 {
                format!("×{:.1} more", a / b)
            } else {
                "more: the other carried no request".into()
            },
        )
    } else if b > CLEARLY_MORE * a {
        (
            Ordering::Less,
            if a > 0.0 {
                format!("×{:.1} less", b / a)
            } else {
                "less: it carried no request".into()
            },
        )
    } else {
        (Ordering::Equal, "even".into())
    }
}

/// The rule, a pure function of the figures: tokio against a thread per
/// connection in every case, and against a pool of `cores` threads with
/// many connections.
pub fn judge(figures: &Figures) -> Trial {
    use std::cmp::Ordering;
    let measured = figures
        .points
        .iter()
        .map(|p| match p.p99_ms {
            Some(p99) => format!(
                "{}: {} {:.0} of {:.0} req/s (p99 {p99:.1} ms{}, {} threads)",
                p.case.words(),
                p.model,
                p.achieved_rps,
                p.offered_rps,
                if p.passed { "" } else { ", objective missed" },
                p.server_threads
            ),
            None => format!(
                "{}: {} answered no request of {:.0} req/s offered (no latency: {})",
                p.case.words(),
                p.model,
                p.offered_rps,
                p.failure
                    .as_deref()
                    .unwrap_or("the server answered nothing")
            ),
        })
        .collect::<Vec<_>>()
        .join("; ");
    let figure_list = figures
        .points
        .iter()
        .map(|p| {
            figure(
                format!("{}: {} achieved", p.case.words(), p.model),
                p.achieved_rps,
                "req/s",
            )
        })
        .collect();
    let outside_max = figures.machine.share_of_cpus(OUTSIDE_SHARE_MAX);
    let thresholds = vec![
        threshold(
            "LOAD_SHARE",
            LOAD_SHARE,
            "each case is offered this share of its best possible rate (connections ÷ wait, or cores ÷ compute)",
        ),
        threshold(
            "CLEARLY_MORE",
            CLEARLY_MORE,
            "one server handles more when it achieved more than this many times the other's rate",
        ),
        threshold(
            "OUTSIDE_SHARE_MAX",
            OUTSIDE_SHARE_MAX,
            &format!(
                "points during which other programs (not the lab's process tree, not the kernel's softirq work) used more than this share of the {} usable CPUs = {outside_max:.2} cores are not judged",
                figures.machine.usable_logical
            ),
        ),
    ];
    let busiest = figures
        .points
        .iter()
        .filter_map(|p| p.foreign_cpu_cores)
        .fold(0.0, f64::max);
    if busiest > outside_max {
        return Trial {
            measured,
            figures: figure_list,
            verdict: Verdict::NotMeasured,
            caveat: None,
            decided_by: format!(
                "not judged: other programs used up to {busiest:.2} cores while the servers ran \
                 (judging needs ≤ {outside_max:.2}, {OUTSIDE_SHARE_MAX} of {} usable CPUs) — rerun on a quiet machine",
                figures.machine.usable_logical
            ),
            thresholds,
            cell_commands: vec![],
            chart: None,
        };
    }
    let rates = |case: Case, model: &str| figures.achieved(case, model);
    let pairs = [
        (Case::FewWaiting, "threads"),
        (Case::ManyWaiting, "threads"),
        (Case::ManyWaiting, "thread-pool"),
        (Case::Computing, "threads"),
    ];
    let mut compared = Vec::new();
    for (case, blocking) in pairs {
        let (Some(asynchronous), Some(blocked)) = (rates(case, "tokio"), rates(case, blocking))
        else {
            return Trial::not_measured(
                format!("no {blocking} or tokio point for {}", case.words()),
                vec![],
            );
        };
        let (order, words) = compare(asynchronous, blocked);
        compared.push((case, blocking, order, words, asynchronous, blocked));
    }
    let describe = |(case, blocking, _, words, asynchronous, blocked): &(
        Case,
        &str,
        Ordering,
        String,
        f64,
        f64,
    )| {
        let blocking = if *blocking == "thread-pool" {
            format!("a pool of {} threads", figures.machine.usable_logical)
        } else {
            "a thread per connection".to_string()
        };
        format!(
            "{}: tokio {asynchronous:.0} req/s vs {blocking} {blocked:.0} ({words})",
            case.words()
        )
    };
    let ahead: Vec<String> = compared
        .iter()
        .filter(|c| c.2 == Ordering::Greater)
        .map(describe)
        .collect();
    let behind: Vec<String> = compared
        .iter()
        .filter(|c| c.2 == Ordering::Less)
        .map(describe)
        .collect();
    let even: Vec<String> = compared
        .iter()
        .filter(|c| c.2 == Ordering::Equal)
        .map(describe)
        .collect();
    let (verdict, caveat) = if !behind.is_empty() {
        (
            Verdict::DoesNotHold,
            Some(format!(
                "a blocking server handled more: {}{}",
                behind.join("; "),
                if ahead.is_empty() {
                    String::new()
                } else {
                    format!("; async handled more only here: {}", ahead.join("; "))
                }
            )),
        )
    } else if ahead.is_empty() {
        (
            Verdict::DoesNotHold,
            Some(format!(
                "every server carried the same rate: {} — the rate is set by the connections and the cores, not by async",
                even.join("; ")
            )),
        )
    } else if even.is_empty() {
        (Verdict::Holds, None)
    } else {
        (
            Verdict::HoldsWithACaveat,
            Some(format!(
                "only where connections outnumber the threads serving them: {}; even elsewhere: {}",
                ahead.join("; "),
                even.join("; ")
            )),
        )
    };
    Trial {
        measured,
        figures: figure_list,
        verdict,
        caveat,
        decided_by: format!(
            "achieved rates compared against ×{CLEARLY_MORE}: {}; {}, other programs used at most {busiest:.2} cores",
            compared.iter().map(describe).collect::<Vec<_>>().join("; "),
            figures.machine.describe()
        ),
        thresholds,
        cell_commands: vec![
            "async-vs-blocking sweep --workloads server --models threads,thread-pool,tokio --out reports/servers"
                .to_string(),
        ],
        chart: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::physics::possible;

    /// A point offered what the plan offers on `machine`, achieving
    /// `share` of it (so never more than offered).
    fn point(machine: CpuTopology, case: Case, model: &str, share: f64) -> Point {
        let offered = plan(case, machine.usable_logical).2;
        let achieved = (share * offered).round();
        Point {
            case,
            model: model.into(),
            offered_rps: offered,
            achieved_rps: achieved,
            p99_ms: (achieved > 0.0).then_some(21.0),
            failure: None,
            passed: share > 0.9,
            server_threads: 4,
            foreign_cpu_cores: Some(0.0),
        }
    }

    /// tokio's, threads' and the pool's achieved share of the offered rate
    /// at (few, many, computing); the pool only at many.
    fn figures(
        machine: CpuTopology,
        tokio: [f64; 3],
        threads: [f64; 3],
        pool_many: f64,
    ) -> Figures {
        let cases = [Case::FewWaiting, Case::ManyWaiting, Case::Computing];
        let mut points = Vec::new();
        for (i, case) in cases.iter().enumerate() {
            points.push(point(machine, *case, "tokio", tokio[i]));
            points.push(point(machine, *case, "threads", threads[i]));
        }
        points.push(point(machine, Case::ManyWaiting, "thread-pool", pool_many));
        possible(Figures { machine, points })
    }

    #[test]
    fn the_demonstration_shows_each_outcome_from_possible_figures_on_every_machine() {
        for machine in CpuTopology::simulated_machines() {
            let judged = |tokio, threads, pool| judge(&figures(machine, tokio, threads, pool));
            let usual = judged([1.0, 1.0, 1.0], [1.0, 0.99, 1.0], 0.02);
            assert_eq!(usual.verdict, Verdict::HoldsWithACaveat, "{machine:?}");
            let caveat = usual.caveat.unwrap();
            assert!(
                caveat.contains(&format!("a pool of {} threads", machine.usable_logical)),
                "{caveat}"
            );
            assert!(caveat.contains("even elsewhere"), "{caveat}");
            assert_eq!(
                judged([1.0, 1.0, 1.0], [0.5, 0.5, 0.5], 0.02).verdict,
                Verdict::Holds
            );
            let behind = judged([1.0, 1.0, 0.5], [1.0, 1.0, 1.0], 0.02);
            assert_eq!(behind.verdict, Verdict::DoesNotHold);
            assert!(behind
                .caveat
                .unwrap()
                .starts_with("a blocking server handled more"));
            let even = judged([1.0, 1.0, 1.0], [1.0, 1.0, 1.0], 0.99);
            assert_eq!(even.verdict, Verdict::DoesNotHold);
            assert!(even
                .caveat
                .unwrap()
                .contains("every server carried the same rate"));
            assert!(CLAIM.demonstrates.is_some());
        }
    }

    #[test]
    fn a_server_achieving_more_than_it_was_offered_is_impossible() {
        let machine = CpuTopology::simulated(2, 2);
        let mut impossible = figures(machine, [1.0; 3], [1.0; 3], 0.02);
        impossible.points[0].achieved_rps = 2.0 * impossible.points[0].offered_rps;
        let trial = crate::claims::decide(Ok(impossible), judge);
        assert_eq!(trial.verdict, Verdict::NotMeasured);
        assert!(
            trial.decided_by.contains("more than was sent"),
            "{}",
            trial.decided_by
        );
    }

    #[test]
    fn a_point_without_responses_shows_no_latency() {
        let machine = CpuTopology::simulated(2, 2);
        let mut failed = figures(machine, [1.0; 3], [1.0; 3], 0.0);
        let pool = failed
            .points
            .iter_mut()
            .find(|p| p.model == "thread-pool")
            .unwrap();
        assert_eq!(pool.p99_ms, None);
        pool.failure = Some("only 2 of 200 connections were open".into());
        let trial = judge(&possible(failed));
        assert!(
            trial.measured.contains(
                "thread-pool answered no request of 8000 req/s offered (no latency: only 2 of 200"
            ),
            "{}",
            trial.measured
        );
        assert!(!trial.measured.contains("p99 0.0"));
        // A latency without responses is impossible.
        let mut impossible = figures(machine, [1.0; 3], [1.0; 3], 0.0);
        impossible.points[6].p99_ms = Some(0.0);
        assert!(impossible.check().is_err());
    }

    #[test]
    fn the_outside_load_gate_is_a_share_of_the_usable_cpus() {
        let busy = |machine: CpuTopology, cores| {
            let mut busy = figures(machine, [1.0; 3], [1.0, 0.99, 1.0], 0.02);
            busy.points[3].foreign_cpu_cores = Some(cores);
            judge(&possible(busy))
        };
        let two = busy(CpuTopology::simulated(2, 2), 0.73);
        assert_eq!(two.verdict, Verdict::NotMeasured);
        assert!(
            two.decided_by.starts_with("not judged"),
            "{}",
            two.decided_by
        );
        assert!(!two.measured.is_empty());
        // The same outside load on 16 CPUs leaves the servers their cores.
        assert_ne!(
            busy(CpuTopology::simulated(16, 8), 0.73).verdict,
            Verdict::NotMeasured
        );
        let mut missing = figures(CpuTopology::simulated(2, 2), [1.0; 3], [1.0; 3], 0.02);
        missing.points.retain(|p| p.model != "thread-pool");
        assert_eq!(judge(&missing).verdict, Verdict::NotMeasured);
    }

    #[test]
    fn each_case_is_offered_its_share_of_the_best_possible_rate() {
        assert_eq!(plan(Case::FewWaiting, 2).2, 400.0);
        assert_eq!(plan(Case::ManyWaiting, 2).2, 8000.0);
        assert_eq!(plan(Case::Computing, 2).2, 1600.0);
        assert_eq!(plan(Case::Computing, 16).2, 12800.0);
    }
}
