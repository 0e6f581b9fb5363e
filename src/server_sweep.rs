//! The `server` sweep: every model's HTTP server under open-loop load,
//! from a low rate to past its knee, at several connection counts, for a
//! waiting handler and a computing one.
//!
//! Each point is one server process (`serve --model M`) and one generator
//! process (`load --json`), so neither measures the other: the server's peak
//! RSS, threads and CPU are read from `/proc/<pid>` while the load runs. The
//! rate search is a pure function ([`next_rate`]): double from
//! [`START_RPS`] until a point fails (p99 above the objective, errors, or
//! less than [`ACHIEVED_SHARE`] of the offered rate achieved), then bisect
//! (geometrically) [`REFINE_STEPS`] times between the last good and the
//! first bad rate. With [`IDLE_CONNECTIONS`] open, a single low rate is
//! offered: the point measures what holding that many connections costs,
//! and a server that cannot hold them is a recorded failure naming the
//! limit it printed.
//!
//! Points are appended to `server.jsonl` in the output directory, one
//! [`ServerPoint`] per line, as each finishes (results.jsonl holds cell
//! records, whose reader expects only those).

use crate::load::Quantiles;
use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The name `sweep --workloads` knows this sweep by.
pub const WORKLOAD: &str = "server";

/// The first rate offered, requests per second.
pub const START_RPS: f64 = 50.0;

/// No rate above this is offered (one generator thread cannot pace much more).
pub const MAX_RPS: f64 = 51_200.0;

/// Bisection steps between the last good and the first failed rate.
pub const REFINE_STEPS: usize = 2;

/// A point passes only if at least this share of the offered rate completed.
pub const ACHIEVED_SHARE: f64 = 0.9;

/// The objective is this many times the handler's own time (5 × D).
pub const OBJECTIVE_FACTOR: f64 = 5.0;

/// Connection counts searched for the knee.
pub const LOADED_CONNECTIONS: [u64; 2] = [10, 1_000];

/// Connections held open, mostly idle, at [`IDLE_RPS`].
pub const IDLE_CONNECTIONS: u64 = 10_000;

/// The rate offered over the idle connections.
pub const IDLE_RPS: f64 = 100.0;

/// Measured seconds per point, after [`WARMUP_S`] of warm-up.
pub const POINT_S: f64 = 3.0;
pub const WARMUP_S: f64 = 1.0;

/// A handler the sweep drives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Handler {
    pub name: &'static str,
    /// The request target.
    pub path: &'static str,
    /// The handler's own time (D or C), ms: the objective is 5 × this.
    pub own_ms: f64,
}

/// A waiting handler (D = 20 ms) and a computing one (C = 1 ms).
pub const HANDLERS: [Handler; 2] = [
    Handler {
        name: "wait 20 ms",
        path: "/work?wait_ms=20&bytes=64",
        own_ms: 20.0,
    },
    Handler {
        name: "compute 1 ms",
        path: "/work?cpu_us=1000&bytes=64",
        own_ms: 1.0,
    },
];

/// One measured point: one record in `server.jsonl`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ServerPoint {
    /// Always `server`.
    pub workload: String,
    pub model: String,
    pub handler: String,
    pub path: String,
    pub objective_ms: f64,
    pub offered_rps: f64,
    pub achieved_rps: f64,
    pub connections: u64,
    /// From each request's due time (coordinated omission corrected).
    pub latency: Quantiles,
    /// From each request's send (uncorrected).
    pub service: Quantiles,
    pub errors: u64,
    pub error_kinds: BTreeMap<String, u64>,
    /// True when the point met the objective (see [`passes`]).
    pub ok: bool,
    /// Why the point failed to run at all, or the limit the server reported.
    pub failure: Option<String>,
    pub server_peak_rss_kib: u64,
    pub server_threads: u64,
    pub server_cpu_s: f64,
    pub generator_behind_p99_ms: f64,
    pub generator_cpu_s: f64,
    pub shares_cores: bool,
    pub unix_s: u64,
}

/// The rule a point is judged by: no errors, p99 within the objective, and
/// at least [`ACHIEVED_SHARE`] of the offered rate achieved.
pub fn passes(errors: u64, p99_ms: f64, objective_ms: f64, achieved: f64, offered: f64) -> bool {
    errors == 0 && p99_ms <= objective_ms && achieved >= ACHIEVED_SHARE * offered
}

/// The next rate to offer after the points so far (`(rate, passed)`, in
/// the order measured), or `None` when the knee is found.
pub fn next_rate(history: &[(f64, bool)]) -> Option<f64> {
    let Some(&(last, _)) = history.last() else {
        return Some(START_RPS);
    };
    let first_failure = history.iter().position(|(_, ok)| !ok);
    match first_failure {
        // Still doubling.
        None if last * 2.0 <= MAX_RPS => Some(last * 2.0),
        None => None,
        Some(failed_at) => {
            let refined = history.len() - 1 - failed_at;
            if refined >= REFINE_STEPS {
                return None;
            }
            let good = history
                .iter()
                .filter(|(_, ok)| *ok)
                .map(|(rate, _)| *rate)
                .fold(0.0, f64::max);
            let bad = history
                .iter()
                .filter(|(_, ok)| !ok)
                .map(|(rate, _)| *rate)
                .fold(f64::INFINITY, f64::min);
            if good <= 0.0 {
                // Failed at the first rate: nothing below to refine towards.
                return None;
            }
            Some((good * bad).sqrt().round())
        }
    }
}

/// The highest passing rate of a search (0 when none passed).
pub fn highest_passing(points: &[ServerPoint]) -> f64 {
    points
        .iter()
        .filter(|p| p.ok)
        .map(|p| p.offered_rps)
        .fold(0.0, f64::max)
}

/// A `serve --model` child in its own process group, killed when dropped.
struct ServerChild {
    child: Child,
    addr: String,
    warnings: Arc<Mutex<Vec<String>>>,
}

impl ServerChild {
    fn start(exe: &Path, model: &str, workers: usize) -> anyhow::Result<ServerChild> {
        use std::os::unix::process::CommandExt;
        // A lab model's `serve`, or a Python server by its `py-…` name.
        let mut command = crate::python_servers::server_command(exe, model, workers)?;
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        crate::cell::die_with_parent(&mut command);
        let mut child = command.spawn().context("starting `serve --model`")?;
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let warnings = Arc::new(Mutex::new(Vec::new()));
        let mut server = ServerChild {
            child,
            addr: String::new(),
            warnings: Arc::clone(&warnings),
        };
        if let Some(stderr) = stderr {
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if line.starts_with("warning:") {
                        if let Ok(mut kept) = warnings.lock() {
                            kept.push(line);
                        }
                    }
                }
            });
        }
        let mut line = String::new();
        if let Some(stdout) = stdout {
            let mut reader = BufReader::new(stdout);
            reader
                .read_line(&mut line)
                .context("reading the server's address")?;
            // Keep draining, so the server never blocks on a full pipe.
            std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        }
        anyhow::ensure!(
            !line.trim().is_empty(),
            "the {model} server printed no address"
        );
        server.addr = line.trim().to_string();
        Ok(server)
    }

    fn last_warning(&self) -> Option<String> {
        self.warnings.lock().ok()?.last().cloned()
    }
}

impl Drop for ServerChild {
    fn drop(&mut self) {
        crate::cell::kill_group(self.child.id());
        let _ = self.child.wait();
    }
}

/// CPU time (user + system) of process `pid` so far, s.
fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command name, which may hold spaces: utime is the 14th field.
    let Some(rest) = stat.rsplit_once(')').map(|(_, rest)| rest) else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // SAFETY: sysconf takes no pointers.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    (ticks(11) + ticks(12)) / per_second
}

/// Runs one point: a `load --json` child against `server`, sampling the
/// server's threads and RSS while it runs.
fn measure_point(
    exe: &Path,
    server: &ServerChild,
    model: &str,
    handler: &Handler,
    connections: u64,
    rate: f64,
) -> anyhow::Result<ServerPoint> {
    let pid = server.child.id();
    let cpu_before = cpu_seconds(pid);
    let mut command = Command::new(exe);
    command
        .args(["load", "--target", &server.addr, "--path", handler.path])
        .args([
            "--rate",
            &rate.to_string(),
            "--connections",
            &connections.to_string(),
        ])
        .args([
            "--duration-s",
            &POINT_S.to_string(),
            "--warmup-s",
            &WARMUP_S.to_string(),
        ])
        .args(["--timeout-s", "5", "--json"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // The generator dies with the sweep, even if the sweep is killed outright.
    crate::cell::die_with_parent(&mut command);
    let mut load = command.spawn().context("starting `load`")?;
    let mut threads = 0;
    let deadline = Instant::now() + Duration::from_secs_f64(POINT_S + WARMUP_S + 30.0);
    let status = loop {
        let proc = crate::measure::ProcStatus::of_pid(pid);
        threads = threads.max(proc.threads);
        if let Some(status) = load.try_wait()? {
            break status;
        }
        if Instant::now() > deadline || crate::interrupt::requested() {
            let _ = load.kill();
            let _ = load.wait();
            anyhow::bail!("the generator did not finish in time");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let output = load.wait_with_output()?;
    anyhow::ensure!(
        status.success(),
        "the generator failed: {}",
        String::from_utf8_lossy(&output.stderr).trim()
    );
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).context("reading the generator's JSON report")?;
    let report: crate::load::LoadReport = serde_json::from_value(report)?;
    let proc = crate::measure::ProcStatus::of_pid(pid);
    let objective_ms = OBJECTIVE_FACTOR * handler.own_ms;
    let errors = report.error_count();
    let all_open = report.connections_open_at_end >= connections as usize;
    let failure = (!all_open).then(|| {
        let limit = server
            .last_warning()
            .unwrap_or_else(|| "the server printed no limit".into());
        format!(
            "only {} of {connections} connections were open: {limit}",
            report.connections_open_at_end
        )
    });
    Ok(ServerPoint {
        workload: "server".into(),
        model: model.into(),
        handler: handler.name.into(),
        path: handler.path.into(),
        objective_ms,
        offered_rps: rate,
        achieved_rps: report.achieved_rps,
        connections,
        latency: report.latency,
        service: report.service,
        errors,
        error_kinds: report.errors.clone(),
        ok: all_open
            && passes(
                errors,
                report.latency.p99_ms,
                objective_ms,
                report.achieved_rps,
                rate,
            ),
        failure,
        server_peak_rss_kib: proc.vm_hwm_kib,
        server_threads: threads.max(proc.threads),
        server_cpu_s: cpu_seconds(pid) - cpu_before,
        generator_behind_p99_ms: report.behind_schedule.p99_ms,
        generator_cpu_s: report.generator_cpu_s,
        shares_cores: report.shares_cores,
        unix_s: crate::measure::unix_now_s(),
    })
}

/// A point that failed because Ctrl-C reached the generator too is the
/// interruption (`None`), not an error.
fn unless_interrupted(
    measured: anyhow::Result<ServerPoint>,
) -> anyhow::Result<Option<ServerPoint>> {
    match measured {
        Ok(point) => Ok(Some(point)),
        Err(_) if crate::interrupt::requested() => Ok(None),
        Err(error) => Err(error),
    }
}

/// Runs the server sweep for `models`, appending each point to
/// `out/server.jsonl`; prints one line per point on stderr.
pub fn run(models: &[String], workers: usize, out: &Path) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("finding the lab's own binary")?;
    let path = crate::output::path_in(out, "server.jsonl")?;
    let started = Instant::now();
    let record = |point: &ServerPoint| -> anyhow::Result<()> {
        eprintln!(
            "server {} / {} / {} connections / {:.0} req/s: achieved {:.0}, p99 {:.1} ms, {} errors{} ({:.0} s so far)",
            point.model,
            point.handler,
            point.connections,
            point.offered_rps,
            point.achieved_rps,
            point.latency.p99_ms,
            point.errors,
            point.failure.as_deref().map(|f| format!("; {f}")).unwrap_or_default(),
            started.elapsed().as_secs_f64()
        );
        crate::export::append_jsonl(&path, point)
    };
    for model in models {
        for handler in &HANDLERS {
            for connections in LOADED_CONNECTIONS {
                // A fresh server per search: one search's leftovers do not burden the next.
                let server = ServerChild::start(&exe, model, workers)?;
                let mut history = Vec::new();
                while let Some(rate) = next_rate(&history) {
                    if crate::interrupt::requested() {
                        return Ok(path);
                    }
                    let measured = measure_point(&exe, &server, model, handler, connections, rate);
                    let Some(point) = unless_interrupted(measured)? else {
                        return Ok(path);
                    };
                    history.push((rate, point.ok));
                    record(&point)?;
                }
            }
        }
        let server = ServerChild::start(&exe, model, workers)?;
        let measured = measure_point(
            &exe,
            &server,
            model,
            &HANDLERS[0],
            IDLE_CONNECTIONS,
            IDLE_RPS,
        );
        let Some(point) = unless_interrupted(measured)? else {
            return Ok(path);
        };
        record(&point)?;
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn search(knee: f64) -> Vec<f64> {
        let mut history = Vec::new();
        while let Some(rate) = next_rate(&history) {
            history.push((rate, rate <= knee));
        }
        history.into_iter().map(|(rate, _)| rate).collect()
    }

    #[test]
    fn the_search_doubles_to_the_first_failure_then_bisects_towards_the_knee() {
        let rates = search(700.0);
        assert_eq!(
            &rates[..6],
            &[
                50.0,
                100.0,
                200.0,
                400.0,
                800.0,
                (400.0f64 * 800.0).sqrt().round()
            ]
        );
        assert_eq!(rates.len(), 5 + REFINE_STEPS);
        // The refined rates stay between the last good and the first bad rate.
        assert!(
            rates[5..].iter().all(|r| (400.0..800.0).contains(r)),
            "{rates:?}"
        );
    }

    #[test]
    fn the_search_ends_at_the_ceiling_or_at_a_first_failure() {
        assert_eq!(*search(f64::INFINITY).last().unwrap(), MAX_RPS);
        assert_eq!(search(10.0), vec![START_RPS]);
    }

    #[test]
    fn a_point_passes_only_within_the_objective_without_errors_at_the_offered_rate() {
        assert!(passes(0, 99.0, 100.0, 95.0, 100.0));
        assert!(!passes(1, 10.0, 100.0, 100.0, 100.0));
        assert!(!passes(0, 101.0, 100.0, 100.0, 100.0));
        assert!(!passes(0, 10.0, 100.0, 80.0, 100.0));
    }
}

/// The best model of one style in one search, with its highest passing rate.
fn best_of(
    points: &[ServerPoint],
    style: crate::model::Style,
    handler: &str,
    connections: u64,
) -> Option<(String, f64)> {
    let mut models: Vec<&str> = points
        .iter()
        .filter(|p| p.handler == handler && p.connections == connections)
        .filter(|p| crate::model::by_name(&p.model).is_some_and(|m| m.style() == style))
        .map(|p| p.model.as_str())
        .collect();
    models.sort_unstable();
    models.dedup();
    models
        .into_iter()
        .map(|model| {
            let mine: Vec<ServerPoint> = points
                .iter()
                .filter(|p| {
                    p.model == model && p.handler == handler && p.connections == connections
                })
                .cloned()
                .collect();
            (model.to_string(), highest_passing(&mine))
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

/// Sentences computed from the points: for each handler and connection
/// count, the best async server against the best blocking one (highest
/// rate with p99 under the objective), and what 10,000 idle connections
/// cost each model. Nothing here is written in advance of the data.
pub fn verdicts(points: &[ServerPoint]) -> Vec<String> {
    use crate::model::Style;
    let mut sentences = Vec::new();
    for handler in HANDLERS {
        for connections in LOADED_CONNECTIONS {
            let asynchronous = best_of(points, Style::Async, handler.name, connections);
            let blocking = best_of(points, Style::Blocking, handler.name, connections);
            let (Some((async_model, async_rps)), Some((blocking_model, blocking_rps))) =
                (asynchronous, blocking)
            else {
                continue;
            };
            let objective = OBJECTIVE_FACTOR * handler.own_ms;
            let comparison = if async_rps > 1.2 * blocking_rps {
                "async sustained more"
            } else if blocking_rps > 1.2 * async_rps {
                "blocking sustained more"
            } else {
                "within 20 % of each other"
            };
            sentences.push(format!(
                "{}, {connections} connections: the best async server ({async_model}) sustained \
                 {async_rps:.0} req/s with p99 under {objective:.0} ms, the best blocking server \
                 ({blocking_model}) {blocking_rps:.0} req/s — {comparison}.",
                handler.name
            ));
        }
    }
    for point in points.iter().filter(|p| p.connections == IDLE_CONNECTIONS) {
        sentences.push(match &point.failure {
            Some(failure) => format!(
                "{} could not hold {IDLE_CONNECTIONS} connections: {failure}.",
                point.model
            ),
            None => format!(
                "{} held {IDLE_CONNECTIONS} connections with {:.1} MiB resident and {} threads \
                 ({:.1} KiB per connection at most).",
                point.model,
                point.server_peak_rss_kib as f64 / 1024.0,
                point.server_threads,
                point.server_peak_rss_kib as f64 / IDLE_CONNECTIONS as f64
            ),
        });
    }
    sentences
}

#[cfg(test)]
mod verdict_tests {
    use super::*;

    fn point(model: &str, connections: u64, rate: f64, ok: bool) -> ServerPoint {
        ServerPoint {
            workload: WORKLOAD.into(),
            model: model.into(),
            handler: HANDLERS[0].name.into(),
            path: HANDLERS[0].path.into(),
            objective_ms: 100.0,
            offered_rps: rate,
            achieved_rps: rate,
            connections,
            latency: Quantiles::default(),
            service: Quantiles::default(),
            errors: 0,
            error_kinds: BTreeMap::new(),
            ok,
            failure: None,
            server_peak_rss_kib: 20_480,
            server_threads: 4,
            server_cpu_s: 1.0,
            generator_behind_p99_ms: 0.1,
            generator_cpu_s: 0.5,
            shares_cores: true,
            unix_s: 0,
        }
    }

    #[test]
    fn verdicts_compare_the_best_of_each_style_from_the_figures() {
        let points = vec![
            point("tokio", 1000, 400.0, true),
            point("tokio", 1000, 800.0, false),
            point("smol", 1000, 200.0, true),
            point("threads", 1000, 100.0, true),
            point("threads", 1000, 200.0, false),
            point("tokio", 10, 400.0, true),
            point("threads", 10, 380.0, true),
        ];
        let sentences = verdicts(&points);
        assert_eq!(sentences.len(), 2, "{sentences:?}");
        assert!(
            sentences[0].contains("10 connections") && sentences[0].contains("within 20 %"),
            "{sentences:?}"
        );
        assert!(
            sentences[1].contains("(tokio) sustained 400")
                && sentences[1].contains("async sustained more"),
            "{sentences:?}"
        );
        let mut idle = point("threads", IDLE_CONNECTIONS, IDLE_RPS, false);
        idle.failure =
            Some("only 5000 of 10000 connections were open: vm.max_map_count reached".into());
        let sentences = verdicts(&[idle]);
        assert!(
            sentences[0].contains("could not hold") && sentences[0].contains("vm.max_map_count"),
            "{sentences:?}"
        );
    }
}
