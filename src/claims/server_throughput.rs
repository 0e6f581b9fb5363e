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

use super::{figure, threshold, Claim, Failure, Trial, Trials, Verdict};
use crate::server::sweep::{self as server_sweep, Handler, ServerChild, Timing};
use std::path::Path;

pub const CLAIM: Claim = Claim {
    id: "async-server-throughput",
    claim: "An async server handles more requests per second.",
    demonstrates: None,
    experiment: "HTTP servers under open-loop load for 1 s per point at 80 % of what the case allows at best: 20 ms waits over 10 and 200 keep-alive connections (threads, tokio; at 200 also a pool of cores threads), and 1 ms of compute over 10 connections: achieved req/s.",
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
/// Points during which other programs used more than this many cores (on
/// average) are not judged.
pub const FOREIGN_CORES_MAX: f64 = 0.25;

/// How long each point runs: short, since the claims run as a whole in
/// about a minute.
const TIMING: Timing = Timing {
    warmup_s: 0.3,
    point_s: 1.0,
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
    pub p99_ms: f64,
    /// The point met the sweep's objective (p99 ≤ 5 × the handler's time, no errors).
    pub passed: bool,
    pub server_threads: u64,
    pub foreign_cpu_cores: Option<f64>,
}

/// What the experiment measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    pub cores: usize,
    pub points: Vec<Point>,
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
    super::decide(measure(trials.cores), judge)
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
fn measure(cores: usize) -> Result<Figures, Failure> {
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
            points.push(measure_one(&exe, case, model, cores)?);
        }
    }
    Ok(Figures { cores, points })
}

fn measure_one(exe: &Path, case: Case, model: &str, cores: usize) -> Result<Point, Failure> {
    let (handler, connections, rate) = plan(case, cores);
    let failed = |error: anyhow::Error| {
        Failure::new(
            format!("{model} server, {}: {error:#}", case.words()),
            vec![],
        )
    };
    let server = ServerChild::start(exe, model, cores).map_err(failed)?;
    let point =
        server_sweep::measure_point(exe, &server, model, &handler, connections, rate, TIMING)
            .map_err(failed)?;
    Ok(Point {
        case,
        model: model.into(),
        offered_rps: point.offered_rps,
        achieved_rps: point.achieved_rps,
        p99_ms: point.latency.p99_ms,
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
                "more (the other achieved nothing)".into()
            },
        )
    } else if b > CLEARLY_MORE * a {
        (
            Ordering::Less,
            if a > 0.0 {
                format!("×{:.1} less", b / a)
            } else {
                "nothing".into()
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
        .map(|p| {
            format!(
                "{}: {} {:.0} of {:.0} req/s (p99 {:.1} ms{}, {} threads)",
                p.case.words(),
                p.model,
                p.achieved_rps,
                p.offered_rps,
                p.p99_ms,
                if p.passed { "" } else { ", objective missed" },
                p.server_threads
            )
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
            "FOREIGN_CORES_MAX",
            FOREIGN_CORES_MAX,
            "points during which other programs used more cores than this are not judged",
        ),
    ];
    let busiest = figures
        .points
        .iter()
        .filter_map(|p| p.foreign_cpu_cores)
        .fold(0.0, f64::max);
    if busiest > FOREIGN_CORES_MAX {
        return Trial {
            measured,
            figures: figure_list,
            verdict: Verdict::NotMeasured,
            caveat: None,
            decided_by: format!(
                "not judged: other programs used up to {busiest:.2} cores while the servers ran \
                 (judging needs ≤ {FOREIGN_CORES_MAX}) — rerun on a quiet machine"
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
            format!("a pool of {} threads", figures.cores)
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
            "achieved rates compared against ×{CLEARLY_MORE}: {}; {} cores, other programs used at most {busiest:.2} cores",
            compared.iter().map(describe).collect::<Vec<_>>().join("; "),
            figures.cores
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

    fn point(case: Case, model: &str, achieved: f64) -> Point {
        Point {
            case,
            model: model.into(),
            offered_rps: 400.0,
            achieved_rps: achieved,
            p99_ms: 21.0,
            passed: true,
            server_threads: 4,
            foreign_cpu_cores: Some(0.0),
        }
    }

    /// tokio, threads and the pool at (few, many, computing).
    fn figures(tokio: [f64; 3], threads: [f64; 3], pool_many: f64) -> Figures {
        let cases = [Case::FewWaiting, Case::ManyWaiting, Case::Computing];
        let mut points = Vec::new();
        for (i, case) in cases.iter().enumerate() {
            points.push(point(*case, "tokio", tokio[i]));
            points.push(point(*case, "threads", threads[i]));
        }
        points.push(point(Case::ManyWaiting, "thread-pool", pool_many));
        Figures { cores: 2, points }
    }

    #[test]
    fn async_ahead_only_where_connections_outnumber_threads_is_a_caveat() {
        let trial = judge(&figures(
            [400.0, 8000.0, 1500.0],
            [400.0, 7900.0, 1550.0],
            100.0,
        ));
        assert_eq!(trial.verdict, Verdict::HoldsWithACaveat);
        let caveat = trial.caveat.unwrap();
        assert!(
            caveat.contains("a pool of 2 threads 100 (×80.0 more)"),
            "{caveat}"
        );
        assert!(caveat.contains("even elsewhere"), "{caveat}");
    }

    #[test]
    fn async_ahead_everywhere_holds_and_behind_anywhere_does_not() {
        let ahead = judge(&figures(
            [800.0, 8000.0, 2000.0],
            [400.0, 4000.0, 1000.0],
            100.0,
        ));
        assert_eq!(ahead.verdict, Verdict::Holds);
        assert!(ahead.caveat.is_none());
        let behind = judge(&figures(
            [400.0, 8000.0, 1000.0],
            [400.0, 8000.0, 1600.0],
            100.0,
        ));
        assert_eq!(behind.verdict, Verdict::DoesNotHold);
        assert!(behind
            .caveat
            .unwrap()
            .starts_with("a blocking server handled more"));
        let even = judge(&figures(
            [400.0, 8000.0, 1500.0],
            [400.0, 8000.0, 1500.0],
            7900.0,
        ));
        assert_eq!(even.verdict, Verdict::DoesNotHold);
        assert!(even
            .caveat
            .unwrap()
            .contains("every server carried the same rate"));
    }

    #[test]
    fn a_disturbed_run_or_a_missing_point_is_not_judged() {
        let mut busy = figures([400.0, 8000.0, 1500.0], [400.0, 7900.0, 1550.0], 100.0);
        busy.points[3].foreign_cpu_cores = Some(0.9);
        let trial = judge(&busy);
        assert_eq!(trial.verdict, Verdict::NotMeasured);
        assert!(
            trial.decided_by.starts_with("not judged"),
            "{}",
            trial.decided_by
        );
        assert!(!trial.measured.is_empty());
        let mut missing = figures([400.0, 8000.0, 1500.0], [400.0, 7900.0, 1550.0], 100.0);
        missing.points.retain(|p| p.model != "thread-pool");
        assert_eq!(judge(&missing).verdict, Verdict::NotMeasured);
    }

    #[test]
    fn each_case_is_offered_its_share_of_the_best_possible_rate() {
        assert_eq!(plan(Case::FewWaiting, 2).2, 400.0);
        assert_eq!(plan(Case::ManyWaiting, 2).2, 8000.0);
        assert_eq!(plan(Case::Computing, 2).2, 1600.0);
    }
}
