//! one-request-not-faster: does async make I/O itself faster?
//!
//! Two measurements against the lab's latency server on loopback (a
//! separate process, `async-vs-blocking serve`), speaking the lab's protocol
//! and checking every reply byte:
//!
//! 1. One request at a time, 200 times per client, the clients taking
//!    turns: connect, send, read the reply, close — with `std::net` (blocking) and with `tokio::net` on a
//!    current-thread and a multi-thread runtime (built before timing). The
//!    server answers at once, so the time is the I/O path itself.
//! 2. Many requests at once: the lab's `socket` cells, 1,000 requests whose
//!    server answers after 50 ms, per model; throughput = requests / wall.
//!    (`sequential` does ten, one after another.)
//!
//! Async changes how many requests can *wait* at once per thread, not how
//! fast one request travels: a single request goes through the same
//! syscalls, plus the reactor's registration and wake-up.

use super::precision::{self, unanimous, Estimate};
use super::{
    decide, figure, median_ms, quantile, threshold, Claim, Failure, Trial, Trials, Verdict,
};
use crate::model::runtimes;
use crate::model::READ_BUFFER_BYTES;
use crate::net::latency::process::ServerProcess;
use crate::net::protocol;
use crate::stats::interval::Side;
use crate::workload::pattern::ReplyCheck;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

pub const CLAIM: Claim = Claim {
    id: "one-request-not-faster",
    claim: "Async makes I/O faster.",
    demonstrates: None,
    experiment: "200 loopback requests one at a time: std::net vs tokio::net (p50 latency); then 1,000 concurrent requests of 50 ms: throughput per model.",
    run,
};

/// Requests in the one-at-a-time measurement.
const REQUESTS: u64 = 200;
/// Reply size for both measurements, bytes.
const REPLY_BYTES: u64 = 1024;
/// Concurrent requests in the throughput cells.
const CONCURRENT: u64 = 1_000;
/// The server's delay in the throughput cells, ms.
const SERVICE_MS: f64 = 50.0;
/// Requests the one-at-a-time `sequential` cell makes.
const SEQUENTIAL_REQUESTS: u64 = 10;
/// Async is "faster" per request when its p50 is at most this fraction of
/// the blocking client's.
pub const FASTER_FRACTION_MAX: f64 = 0.8;
/// Async has "more throughput" when it serves at least this many times the
/// requests per second of one thread per request.
pub const THROUGHPUT_RATIO_MIN: f64 = 1.25;

fn blocking_request(server: SocketAddr, id: u64) -> io::Result<Duration> {
    let start = Instant::now();
    let mut stream = std::net::TcpStream::connect(server)?;
    stream.write_all(&protocol::request_line(id))?;
    let mut reply = ReplyCheck::new(id, REPLY_BYTES);
    let mut buffer = [0u8; READ_BUFFER_BYTES];
    loop {
        match stream.read(&mut buffer)? {
            0 => break,
            read => reply.feed(&buffer[..read]),
        }
    }
    reply.finish()?;
    Ok(start.elapsed())
}

async fn tokio_request(server: SocketAddr, id: u64) -> io::Result<Duration> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let start = Instant::now();
    let mut stream = tokio::net::TcpStream::connect(server).await?;
    stream.write_all(&protocol::request_line(id)).await?;
    let mut reply = ReplyCheck::new(id, REPLY_BYTES);
    let mut buffer = [0u8; READ_BUFFER_BYTES];
    loop {
        match stream.read(&mut buffer).await? {
            0 => break,
            read => reply.feed(&buffer[..read]),
        }
    }
    reply.finish()?;
    Ok(start.elapsed())
}

/// A one-at-a-time client: one request, its latency.
type Client<'a> = Box<dyn FnMut(u64) -> io::Result<Duration> + 'a>;

/// p50 and p99 latency, µs, of `REQUESTS` requests per client, after 10
/// untimed ones each. The clients take turns request by request, so a
/// burst of load on a shared machine hits them all alike.
fn one_at_a_time(
    clients: &mut [(&'static str, Client)],
) -> io::Result<Vec<(&'static str, Vec<f64>)>> {
    for (_, client) in clients.iter_mut() {
        for id in 0..10 {
            client(id)?;
        }
    }
    let mut micros = vec![Vec::with_capacity(REQUESTS as usize); clients.len()];
    for id in 0..REQUESTS {
        for (samples, (_, client)) in micros.iter_mut().zip(clients.iter_mut()) {
            samples.push(client(id)?.as_secs_f64() * 1e6);
        }
    }
    Ok(clients
        .iter()
        .zip(&micros)
        .map(|((label, _), samples)| (*label, samples.clone()))
        .collect())
}

fn latencies(trials: &Trials) -> anyhow::Result<Vec<(&'static str, Vec<f64>)>> {
    let exe = std::env::current_exe()?;
    let server = ServerProcess::start(&exe, 0.0, REPLY_BYTES)?;
    let addr = server.addr;
    let current = runtimes::tokio_current()?;
    let multi = runtimes::tokio_multi(&runtimes::workers(trials.cores))?;
    let mut clients: Vec<(&'static str, Client)> = vec![
        (
            BLOCKING_CLIENT,
            Box::new(move |id| blocking_request(addr, id)),
        ),
        (
            ASYNC_CLIENTS[0],
            Box::new(|id| current.block_on(tokio_request(addr, id))),
        ),
        (
            ASYNC_CLIENTS[1],
            // Spawned, as a server's handler would be: the request runs on a worker.
            Box::new(|id| {
                multi.block_on(async move {
                    tokio::spawn(tokio_request(addr, id))
                        .await
                        .map_err(io::Error::other)?
                })
            }),
        ),
    ];
    Ok(one_at_a_time(&mut clients)?)
}

/// What the experiment measured.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Figures {
    /// (client, every request's latency in µs) for one request at a time.
    pub latencies: Vec<(&'static str, Vec<f64>)>,
    /// (model, requests per second) with many requests at once.
    pub throughput: Vec<(&'static str, f64)>,
    pub cores: usize,
    pub cell_commands: Vec<String>,
}

/// The blocking client's label, and the async clients'.
const BLOCKING_CLIENT: &str = "std::net (blocking)";
const ASYNC_CLIENTS: [&str; 2] = ["tokio::net, current-thread", "tokio::net, multi-thread"];

fn run(trials: &Trials) -> Trial {
    decide(measure(trials), judge)
}

/// The experiment: latencies one at a time, then the throughput cells.
fn measure(trials: &Trials) -> Result<Figures, Failure> {
    let latencies =
        latencies(trials).map_err(|error| Failure::new(format!("{error:#}"), vec![]))?;
    let mut commands = Vec::new();
    let mut throughput = Vec::new();
    // One at a time as the baseline, then every model that has all the
    // requests in flight at once.
    let at_once = super::all_at_once(CONCURRENT)
        .into_iter()
        .map(|model| (model, CONCURRENT));
    for (model, tasks) in std::iter::once(("sequential", SEQUENTIAL_REQUESTS)).chain(at_once) {
        let spec = crate::lab::cell::CellSpec {
            sleep_ms: SERVICE_MS,
            reply_bytes: REPLY_BYTES,
            ..trials.spec("socket", model, tasks)
        };
        let record = trials.cell(spec, trials.repeats());
        commands.push(record.command.clone());
        match median_ms(&record) {
            Ok(ms) => throughput.push((model, tasks as f64 / (ms / 1e3))),
            Err(error) => return Err(Failure::new(error, commands)),
        }
    }
    Ok(Figures {
        latencies,
        throughput,
        cores: trials.cores,
        cell_commands: commands,
    })
}

/// The rule, a pure function of the figures. The claim is about speed, so
/// the per-request latency decides it; throughput is what async gives
/// instead, and the verdict says so without calling it "faster".
pub(crate) fn judge(figures: &Figures) -> Trial {
    let Figures {
        latencies,
        throughput,
        cores,
        cell_commands,
    } = figures;
    let samples = |label: &str| {
        latencies
            .iter()
            .find(|(l, _)| *l == label)
            .map(|(_, micros)| micros.clone())
            .unwrap_or_default()
    };
    let p50 = |label: &str| quantile(&samples(label), 0.5);
    let blocking = p50(BLOCKING_CLIENT);
    let async_p50s = ASYNC_CLIENTS.map(p50);
    // Each async client's median over the blocking median, with its 95 %
    // interval (a bootstrap over both clients' requests), against
    // FASTER_FRACTION_MAX: below it, async made one request faster.
    let ratios = ASYNC_CLIENTS.map(|client| {
        Estimate::ratio(&samples(client), &samples(BLOCKING_CLIENT))
            .unwrap_or_else(|| Estimate::exact(1.0))
    });
    let sides = ratios.map(|r| r.side(FASTER_FRACTION_MAX));
    let fastest_async = async_p50s[0].min(async_p50s[1]);
    let slowest_async = async_p50s[0].max(async_p50s[1]);
    let rate = |model: &str| {
        throughput
            .iter()
            .find(|(m, _)| *m == model)
            .map_or(0.0, |(_, r)| *r)
    };
    let threads_rate = rate(super::thread_per_task()).max(1e-9);
    let best_async = super::async_models()
        .into_iter()
        .map(|m| (m, rate(m)))
        .fold(
            ("", 0.0),
            |best, next| if next.1 > best.1 { next } else { best },
        );
    let more_throughput = best_async.1 >= THROUGHPUT_RATIO_MIN * threads_rate;
    let instead = if more_throughput {
        format!(
            "what async gave instead is throughput: with {CONCURRENT} requests at once {} served {:.0} req/s vs {threads_rate:.0} \
             for a thread per request — more requests in flight, not faster ones",
            best_async.0, best_async.1
        )
    } else {
        format!(
            "nor did it serve more requests at once here ({} {:.0} req/s vs {threads_rate:.0} for a thread per request)",
            best_async.0, best_async.1
        )
    };
    // True = above the line = not faster.
    let outcome = |slower: &[bool]| (slower.iter().all(|s| !s), slower.iter().any(|s| !s));
    let mut figures: Vec<_> = latencies
        .iter()
        .flat_map(|(label, micros)| {
            [
                Estimate::median_of(micros)
                    .unwrap_or_else(|| Estimate::exact(0.0))
                    .figure(format!("{label}: one request p50"), "µs"),
                figure(
                    format!("{label}: one request p99"),
                    quantile(micros, 0.99),
                    "µs",
                ),
            ]
        })
        .collect();
    for (client, ratio) in ASYNC_CLIENTS.iter().zip(&ratios) {
        figures.push(ratio.figure(format!("{client}: p50 / blocking p50"), "x"));
    }
    figures.extend(
        throughput
            .iter()
            .map(|(model, r)| figure(format!("{model}: throughput"), *r, "req/s")),
    );
    let measured = format!(
        "one request at a time, p50 (p99) µs: {}. {CONCURRENT} requests of {SERVICE_MS:.0} ms at once, req/s: {}.",
        latencies
            .iter()
            .map(|(label, micros)| format!(
                "{label} {:.0} ({:.0})",
                quantile(micros, 0.5),
                quantile(micros, 0.99)
            ))
            .collect::<Vec<_>>()
            .join(", "),
        throughput
            .iter()
            .map(|(model, r)| {
                if *model == "sequential" {
                    format!("{model} {r:.0} (one at a time)")
                } else {
                    format!("{model} {r:.0}")
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    );
    let thresholds = vec![
        threshold(
            "FASTER_FRACTION_MAX",
            FASTER_FRACTION_MAX,
            "async p50 ≤ this × blocking p50: async made one request faster",
        ),
        threshold(
            "THROUGHPUT_RATIO_MIN",
            THROUGHPUT_RATIO_MIN,
            "async req/s ≥ this × thread-per-request req/s: more throughput",
        ),
    ];
    let Some((all_faster, any_faster)) = unanimous(&sides, outcome) else {
        let straddling: Vec<String> = ASYNC_CLIENTS
            .iter()
            .zip(&ratios)
            .filter(|(_, r)| r.side(FASTER_FRACTION_MAX) == Side::TooClose)
            .map(|(client, r)| {
                precision::straddles(
                    &format!("{client} p50 / blocking ×"),
                    r,
                    FASTER_FRACTION_MAX,
                    2,
                )
            })
            .collect();
        let requests = latencies.iter().map(|(_, m)| m.len()).min().unwrap_or(0);
        return precision::too_close(
            measured,
            figures,
            &straddling,
            requests,
            thresholds,
            cell_commands.clone(),
        );
    };
    let (verdict, caveat) = if all_faster {
        (Verdict::Holds, None)
    } else if any_faster {
        (
            Verdict::HoldsWithACaveat,
            Some(format!(
                "only for one async client: p50 {fastest_async:.0} and {slowest_async:.0} µs vs {blocking:.0} µs blocking"
            )),
        )
    } else {
        (
            Verdict::DoesNotHold,
            Some(format!(
                "one request is not faster (p50 {fastest_async:.0} µs async vs {blocking:.0} µs blocking); {instead}"
            )),
        )
    };
    Trial {
        measured,
        figures,
        verdict,
        caveat,
        decided_by: format!(
            "async p50 {fastest_async:.0}–{slowest_async:.0} µs vs {FASTER_FRACTION_MAX} × blocking {blocking:.0} µs \
             (async / blocking: {}, 95 % intervals over the requests); best async {:.0} req/s vs \
             {THROUGHPUT_RATIO_MIN} × threads {threads_rate:.0} req/s (described, not judged); workers = cores = {cores}",
            ratios.map(|r| format!("×{}", r.text(2))).join(" and "),
            best_async.1
        ),
        thresholds,
        cell_commands: cell_commands.clone(),
        chart: None,
    }
}

impl crate::claims::physics::Physical for Figures {
    /// Latencies are positive with p50 ≤ p99; throughput is at most what
    /// the concurrent requests allow ({CONCURRENT} each waiting
    /// {SERVICE_MS} ms at the server).
    fn check(&self) -> Result<(), String> {
        use crate::claims::physics::ensure;
        for (client, micros) in &self.latencies {
            ensure(
                !micros.is_empty() && micros.iter().all(|us| *us > 0.0 && us.is_finite()),
                || format!("{client}: request latencies {micros:?} µs"),
            )?;
        }
        let most = CONCURRENT as f64 * 1e3 / SERVICE_MS;
        for (model, rate) in &self.throughput {
            ensure(*rate >= 0.0 && *rate <= most * 1.05, || {
                format!("{model}: {rate:.0} req/s, more than {CONCURRENT} requests of {SERVICE_MS} ms allow ({most:.0})")
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::precision::spread::{around, tight};

    fn figures(blocking: f64, async_p50: [f64; 2], async_rate: f64) -> Figures {
        crate::claims::physics::possible(Figures {
            latencies: vec![
                (BLOCKING_CLIENT, tight(blocking)),
                (ASYNC_CLIENTS[0], tight(async_p50[0])),
                (ASYNC_CLIENTS[1], tight(async_p50[1])),
            ],
            throughput: vec![
                ("sequential", 190.0),
                ("threads", 5_000.0),
                ("tokio", async_rate),
                ("smol", async_rate / 2.0),
            ],
            cores: 2,
            cell_commands: vec![],
        })
    }

    #[test]
    fn a_request_no_faster_does_not_hold_and_names_the_throughput_instead() {
        let trial = judge(&figures(100.0, [110.0, 130.0], 15_000.0));
        assert_eq!(trial.verdict, Verdict::DoesNotHold);
        let caveat = trial.caveat.unwrap();
        assert!(caveat.starts_with("one request is not faster"), "{caveat}");
        assert!(caveat.contains("more requests in flight, not faster ones"));
        let no_gain = judge(&figures(100.0, [110.0, 130.0], 5_000.0));
        assert!(no_gain.caveat.unwrap().contains("nor did it serve more"));
    }

    #[test]
    fn every_async_client_clearly_faster_holds() {
        assert_eq!(
            judge(&figures(100.0, [60.0, 70.0], 5_000.0)).verdict,
            Verdict::Holds
        );
    }

    #[test]
    fn one_faster_async_client_holds_with_a_caveat() {
        let trial = judge(&figures(100.0, [60.0, 130.0], 5_000.0));
        assert_eq!(trial.verdict, Verdict::HoldsWithACaveat);
        assert!(trial.caveat.unwrap().contains("only for one async client"));
    }

    #[test]
    fn an_async_p50_whose_interval_straddles_faster_is_too_close_to_call() {
        let mut close = figures(100.0, [80.0, 60.0], 5_000.0);
        close.latencies[1].1 = around(80.0, 0.05);
        let trial = judge(&crate::claims::physics::possible(close));
        assert_eq!(trial.verdict, Verdict::TooCloseToCall);
        assert!(
            trial.decided_by.contains("straddles 0.80"),
            "{}",
            trial.decided_by
        );
    }

    #[test]
    fn the_judge_gives_the_same_outcome_on_every_simulated_machine() {
        for machine in crate::claims::CpuTopology::simulated_machines() {
            for (blocking, async_p50, rate) in [
                (50.0, [60.0, 70.0], 19_000.0),
                (50.0, [20.0, 20.0], 5_000.0),
            ] {
                let on_two = judge(&figures(blocking, async_p50, rate));
                let here = judge(&Figures {
                    cores: machine.usable_logical,
                    ..figures(blocking, async_p50, rate)
                });
                assert_eq!(here.verdict, on_two.verdict, "{machine:?}");
            }
        }
    }
}
