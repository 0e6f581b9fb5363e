//! The `server` sweep: every model's HTTP server under open-loop load,
//! from a low rate to past its knee, at several connection counts, for a
//! waiting handler and a computing one — and, for async models, the
//! waiting handler with a blocking call inside the task (`mode=block`)
//! and with that call moved to the runtime's blocking pool
//! (`mode=offload`), the pitfall beside its fix.
//!
//! Each point is one server process (`serve --model M`) and one generator
//! process (`load --json`), so neither measures the other: the server's peak
//! RSS, threads and CPU are read from `/proc/<pid>` while the load runs, and
//! the CPU other programs took meanwhile from `/proc/stat`. The rate search
//! is a pure function ([`next_rate`]): double from [`START_RPS`] until a
//! point fails (p99 above the objective, errors, or less than
//! [`ACHIEVED_SHARE`] of the offered rate achieved), then bisect
//! (geometrically) [`REFINE_STEPS`] times between the last good and the
//! first bad rate. With [`IDLE_CONNECTIONS`] open, a single low rate is
//! offered: the point measures what holding that many connections costs,
//! and a server that cannot hold them is a recorded failure naming the
//! limit it printed.
//!
//! Points are appended to `server.jsonl` in the output directory, one
//! [`ServerPoint`] per line, the moment each is measured (see
//! [`crate::record::server_point`] for why they are not in results.jsonl). Because
//! the search is a function of the points so far, `--resume` continues
//! every unfinished search from the points already in the file.

pub use crate::record::server_point::{highest_passing, ServerPoint};
use anyhow::Context;
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

/// Connections for the `mode=block` / `mode=offload` searches: enough to
/// keep more requests waiting than an async runtime has worker threads,
/// few enough that the searches stay short.
pub const MODE_CONNECTIONS: [u64; 1] = [10];

/// Connections held open, mostly idle, at [`IDLE_RPS`].
pub const IDLE_CONNECTIONS: u64 = 10_000;

/// The rate offered over the idle connections.
pub const IDLE_RPS: f64 = 100.0;

/// Measured seconds per point, after [`WARMUP_S`] of warm-up.
pub const POINT_S: f64 = 3.0;
pub const WARMUP_S: f64 = 1.0;

/// A request not answered this long after it was due is a timeout.
pub const TIMEOUT_S: f64 = 5.0;

/// How long a point runs: warm-up, measured time, and the timeout after
/// which an unanswered request counts as failed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    pub warmup_s: f64,
    pub point_s: f64,
    pub timeout_s: f64,
}

/// The sweep's own timing.
pub const SWEEP_TIMING: Timing = Timing {
    warmup_s: WARMUP_S,
    point_s: POINT_S,
    timeout_s: TIMEOUT_S,
};

/// A handler the sweep drives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Handler {
    pub name: &'static str,
    /// The request target.
    pub path: &'static str,
    /// The handler's own time (D or C), ms: the objective is 5 × this.
    pub own_ms: f64,
    /// Only async models run it (`mode=` changes nothing in a blocking model).
    pub async_only: bool,
    /// The connection counts its knee is searched at.
    pub connections: &'static [u64],
}

impl Handler {
    /// True when `model` runs this handler: every model, or for an
    /// async-only handler the lab's async models and the Python servers
    /// (both asyncio; their handlers take the same `mode=`).
    pub fn applies_to(&self, model: &str) -> bool {
        !self.async_only
            || crate::server::python::is_python(model)
            || crate::model::by_name(model).is_some_and(|m| m.style() == crate::model::Style::Async)
    }
}

/// The waiting handler with the runtime's own wait.
pub const WAIT: Handler = Handler {
    name: "wait 20 ms",
    path: "/work?wait_ms=20&bytes=64",
    own_ms: 20.0,
    async_only: false,
    connections: &LOADED_CONNECTIONS,
};

/// The computing handler.
pub const COMPUTE: Handler = Handler {
    name: "compute 1 ms",
    path: "/work?cpu_us=1000&bytes=64",
    own_ms: 1.0,
    async_only: false,
    connections: &LOADED_CONNECTIONS,
};

/// The waiting handler with `std::thread::sleep` inside the async task.
pub const WAIT_BLOCK: Handler = Handler {
    name: "wait 20 ms, mode=block",
    path: "/work?wait_ms=20&bytes=64&mode=block",
    own_ms: 20.0,
    async_only: true,
    connections: &MODE_CONNECTIONS,
};

/// The waiting handler with the sleep on the runtime's blocking pool.
pub const WAIT_OFFLOAD: Handler = Handler {
    name: "wait 20 ms, mode=offload",
    path: "/work?wait_ms=20&bytes=64&mode=offload",
    own_ms: 20.0,
    async_only: true,
    connections: &MODE_CONNECTIONS,
};

/// Every handler the sweep drives, in the order it drives them.
pub const HANDLERS: [Handler; 4] = [WAIT, COMPUTE, WAIT_BLOCK, WAIT_OFFLOAD];

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

/// A `serve --model` child in its own process group, killed when dropped.
pub struct ServerChild {
    child: Child,
    addr: String,
    warnings: Arc<Mutex<Vec<String>>>,
}

impl ServerChild {
    /// Starts `exe serve --model model` on a free loopback port and waits
    /// for the address it prints.
    pub fn start(exe: &Path, model: &str, workers: usize) -> anyhow::Result<ServerChild> {
        use std::os::unix::process::CommandExt;
        // A lab model's `serve`, or a Python server by its `py-…` name.
        let mut command = crate::server::python::server_command(exe, model, workers)?;
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        crate::os::process::die_with_parent(&mut command);
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
        crate::os::process::kill_group(self.child.id());
        let _ = self.child.wait();
    }
}

/// CPU time (user + system) of process `pid` so far, s.
fn cpu_seconds(pid: u32) -> f64 {
    crate::os::measure::process_ticks(pid) as f64 * crate::os::measure::tick_ms() / 1e3
}

/// CPU time of this process and of its children that have been waited
/// for (the generators), s: what the sweep itself costs the machine.
fn own_and_children_cpu_s() -> f64 {
    let of = |who: libc::c_int| {
        // SAFETY: getrusage writes into the zeroed struct we own.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        if unsafe { libc::getrusage(who, &mut usage) } != 0 {
            return 0.0;
        }
        let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        seconds(usage.ru_utime) + seconds(usage.ru_stime)
    };
    of(libc::RUSAGE_SELF) + of(libc::RUSAGE_CHILDREN)
}

/// Mean cores other programs used over a window of `window_s`: the
/// machine's busy time minus the server's and the sweep's own (with its
/// generator), and minus the kernel's softirq time, where the loopback
/// networking between generator and server is counted (attributed to no
/// process, it is the lab's own work; other programs' network interrupts go
/// uncounted with it); `None` when `/proc/stat` could not be read.
fn foreign_cores(
    before: Option<crate::os::measure::CpuTicks>,
    after: Option<crate::os::measure::CpuTicks>,
    ours_s: f64,
    window_s: f64,
) -> Option<f64> {
    let (before, after) = (before?, after?);
    let busy = after.busy.saturating_sub(before.busy);
    let softirq = after.softirq.saturating_sub(before.softirq);
    let busy_s = busy.saturating_sub(softirq) as f64 * crate::os::measure::tick_ms() / 1e3;
    (window_s > 0.0).then(|| ((busy_s - ours_s) / window_s).max(0.0))
}

/// Runs one point: a `load --json` child against `server`, sampling the
/// server's threads and RSS while it runs.
pub fn measure_point(
    exe: &Path,
    server: &ServerChild,
    model: &str,
    handler: &Handler,
    connections: u64,
    rate: f64,
    timing: Timing,
) -> anyhow::Result<ServerPoint> {
    let pid = server.child.id();
    let cpu_before = cpu_seconds(pid);
    let ours_before = own_and_children_cpu_s();
    let machine_before = crate::os::measure::CpuTicks::now();
    let window = Instant::now();
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
            &timing.point_s.to_string(),
            "--warmup-s",
            &timing.warmup_s.to_string(),
        ])
        .args(["--timeout-s", &timing.timeout_s.to_string(), "--json"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // The generator dies with the sweep, even if the sweep is killed outright.
    crate::os::process::die_with_parent(&mut command);
    let mut load = command.spawn().context("starting `load`")?;
    let mut threads = 0;
    let deadline = Instant::now()
        + Duration::from_secs_f64(timing.point_s + timing.warmup_s + timing.timeout_s + 30.0);
    let status = loop {
        let proc = crate::os::measure::ProcStatus::of_pid(pid);
        threads = threads.max(proc.threads);
        if let Some(status) = load.try_wait()? {
            break status;
        }
        if Instant::now() > deadline || crate::os::interrupt::requested() {
            let _ = load.kill();
            let _ = load.wait();
            anyhow::bail!("the generator did not finish in time");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let output = load.wait_with_output()?;
    let server_cpu_s = cpu_seconds(pid) - cpu_before;
    let foreign_cpu_cores = foreign_cores(
        machine_before,
        crate::os::measure::CpuTicks::now(),
        server_cpu_s + own_and_children_cpu_s() - ours_before,
        window.elapsed().as_secs_f64(),
    );
    anyhow::ensure!(
        status.success(),
        "the generator failed: {}",
        String::from_utf8_lossy(&output.stderr).trim()
    );
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).context("reading the generator's JSON report")?;
    let report: crate::server::load::LoadReport = serde_json::from_value(report)?;
    let proc = crate::os::measure::ProcStatus::of_pid(pid);
    let objective_ms = OBJECTIVE_FACTOR * handler.own_ms;
    let errors = report.error_count();
    let all_open = report.connections_open_at_end >= connections as usize;
    let failure = (!all_open).then(|| {
        let limit = server.last_warning().unwrap_or_else(|| {
            // A server that accepts only the connections it is serving
            // leaves the rest to the kernel's listen queue.
            let somaxconn = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
                .map(|s| s.trim().to_string())
                .unwrap_or_else(|_| "unknown".into());
            format!(
                "the server printed no limit; connections it had not accepted waited in \
                     the kernel's listen queue (at most net.core.somaxconn = {somaxconn})"
            )
        });
        format!(
            "only {} of {connections} connections were open: {limit}",
            report.connections_open_at_end
        )
    });
    Ok(ServerPoint {
        workload: WORKLOAD.into(),
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
        server_cpu_s,
        generator_behind_p99_ms: report.behind_schedule.p99_ms,
        generator_cpu_s: report.generator_cpu_s,
        shares_cores: report.shares_cores,
        foreign_cpu_cores,
        unix_s: crate::os::measure::unix_now_s(),
    })
}

/// A point that failed because Ctrl-C reached the generator too is the
/// interruption (`None`), not an error.
fn unless_interrupted(
    measured: anyhow::Result<ServerPoint>,
) -> anyhow::Result<Option<ServerPoint>> {
    match measured {
        Ok(point) => Ok(Some(point)),
        Err(_) if crate::os::interrupt::requested() => Ok(None),
        Err(error) => Err(error),
    }
}

/// The `(rate, passed)` history of one search among points already
/// measured, in the order they were written.
pub fn history_of(
    points: &[ServerPoint],
    model: &str,
    handler: &Handler,
    connections: u64,
) -> Vec<(f64, bool)> {
    points
        .iter()
        .filter(|p| p.model == model && p.handler == handler.name && p.connections == connections)
        .map(|p| (p.offered_rps, p.ok))
        .collect()
}

/// What to sweep, and where.
pub struct SweepRun<'a> {
    /// The lab's own binary: it runs the servers and the generators.
    pub exe: &'a Path,
    pub models: &'a [String],
    pub workers: usize,
    pub out: &'a Path,
    /// Continue the searches of the points already in `server.jsonl`.
    pub resume: bool,
}

/// Runs the server sweep, appending each point to `out/server.jsonl`;
/// prints one line per point on stderr.
pub fn run(sweep: &SweepRun) -> anyhow::Result<PathBuf> {
    let exe = sweep.exe;
    let path = crate::os::output::path_in(sweep.out, crate::record::server_point::FILE_NAME)?;
    let done = if sweep.resume && path.is_file() {
        crate::record::export::repair_last_line_of::<ServerPoint>(&path)?;
        crate::record::server_point::read_points(&path)?
    } else {
        Vec::new()
    };
    let started = Instant::now();
    let record = |point: &ServerPoint| -> anyhow::Result<()> {
        crate::os::output::stderr_line!(
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
        crate::record::export::append_jsonl(&path, point)
    };
    for model in sweep.models {
        for handler in HANDLERS.iter().filter(|h| h.applies_to(model)) {
            for &connections in handler.connections {
                let mut history = history_of(&done, model, handler, connections);
                if next_rate(&history).is_none() {
                    continue; // finished by the run being resumed
                }
                // A fresh server per search: one search's leftovers do not burden the next.
                let server = ServerChild::start(exe, model, sweep.workers)?;
                while let Some(rate) = next_rate(&history) {
                    if crate::os::interrupt::requested() {
                        return Ok(path);
                    }
                    let measured = measure_point(
                        exe,
                        &server,
                        model,
                        handler,
                        connections,
                        rate,
                        SWEEP_TIMING,
                    );
                    let Some(point) = unless_interrupted(measured)? else {
                        return Ok(path);
                    };
                    history.push((rate, point.ok));
                    record(&point)?;
                }
            }
        }
        if done
            .iter()
            .any(|p| p.model == *model && p.connections == IDLE_CONNECTIONS)
        {
            continue;
        }
        let server = ServerChild::start(exe, model, sweep.workers)?;
        let measured = measure_point(
            exe,
            &server,
            model,
            &WAIT,
            IDLE_CONNECTIONS,
            IDLE_RPS,
            SWEEP_TIMING,
        );
        let Some(point) = unless_interrupted(measured)? else {
            return Ok(path);
        };
        record(&point)?;
    }
    Ok(path)
}

/// The reduced run `report` measures (quick profile): two models, one
/// blocking and one async, the waiting handler at [`QUICK_CONNECTIONS`]
/// offered [`QUICK_RATES`] — below, near and past what the connections can
/// carry — and [`QUICK_IDLE_CONNECTIONS`] mostly idle; short points. The
/// whole sweep stays a command of its own (`sweep --workloads server`).
pub const QUICK_MODELS: [&str; 2] = ["threads", "tokio"];

/// Connections of the quick run's searches: their cap is 1,000 ÷ 20 ms =
/// 50,000 req/s, far above what 2 to 16 cores serve, so the cores (and a
/// thread per connection's switching), not the connections, decide where
/// the models part. With 100 connections the cap (5,000 req/s) bound every
/// model alike, and the page taught "async does not help" from a capped case.
pub const QUICK_CONNECTIONS: u64 = 1_000;

/// Rates the quick run offers: low, middling and high for a laptop's cores
/// (all well under the connections' cap): three points per model, as before.
pub const QUICK_RATES: [f64; 3] = [2_000.0, 8_000.0, 16_000.0];

/// Connections the quick run holds open, mostly idle.
pub const QUICK_IDLE_CONNECTIONS: u64 = 2_000;

/// The quick run's points: a second each.
pub const QUICK_TIMING: Timing = Timing {
    warmup_s: 0.3,
    point_s: 1.0,
    timeout_s: 1.0,
};

/// Runs the reduced server run into `out/server.jsonl` (replacing an older
/// one: this is the report's own measurement), each point appended as it
/// is measured. Stops quietly at Ctrl-C with the points so far.
pub fn run_quick(exe: &Path, workers: usize, out: &Path) -> anyhow::Result<PathBuf> {
    let path = crate::os::output::path_in(out, crate::record::server_point::FILE_NAME)?;
    if path.exists() {
        std::fs::remove_file(&path).with_context(|| format!("replacing {}", path.display()))?;
    }
    // The rates on one server, then the idle connections on a fresh one.
    let searches: [(u64, &[f64]); 2] = [
        (QUICK_CONNECTIONS, &QUICK_RATES),
        (QUICK_IDLE_CONNECTIONS, &[IDLE_RPS]),
    ];
    for model in QUICK_MODELS {
        for (connections, rates) in searches {
            let server = ServerChild::start(exe, model, workers)?;
            for &rate in rates {
                if crate::os::interrupt::requested() {
                    return Ok(path);
                }
                let measured =
                    measure_point(exe, &server, model, &WAIT, connections, rate, QUICK_TIMING);
                let Some(point) = unless_interrupted(measured)? else {
                    return Ok(path);
                };
                crate::record::export::append_jsonl(&path, &point)?;
            }
        }
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
    fn a_resumed_search_continues_from_the_points_already_measured() {
        // Interrupted after 400 passed: the next rate is the one the
        // uninterrupted search would have offered.
        let so_far: Vec<(f64, bool)> = [50.0, 100.0, 200.0, 400.0]
            .iter()
            .map(|r| (*r, true))
            .collect();
        assert_eq!(next_rate(&so_far), Some(800.0));
        let finished: Vec<(f64, bool)> =
            search(700.0).into_iter().map(|r| (r, r <= 700.0)).collect();
        assert_eq!(next_rate(&finished), None);
    }

    #[test]
    fn a_point_passes_only_within_the_objective_without_errors_at_the_offered_rate() {
        assert!(passes(0, 99.0, 100.0, 95.0, 100.0));
        assert!(!passes(1, 10.0, 100.0, 100.0, 100.0));
        assert!(!passes(0, 101.0, 100.0, 100.0, 100.0));
        assert!(!passes(0, 10.0, 100.0, 80.0, 100.0));
    }

    #[test]
    fn block_and_offload_run_on_async_models_only() {
        assert!(WAIT_BLOCK.applies_to("tokio") && WAIT_OFFLOAD.applies_to("smol"));
        assert!(!WAIT_BLOCK.applies_to("threads") && !WAIT_OFFLOAD.applies_to("thread-pool"));
        // The Python servers are asyncio: they take mode= too; a name the
        // lab does not know gets the shared handlers only.
        assert!(WAIT_BLOCK.applies_to("py-aiohttp") && WAIT_OFFLOAD.applies_to("py-fastapi"));
        assert!(WAIT.applies_to("go-net-http") && !WAIT_BLOCK.applies_to("go-net-http"));
    }

    #[test]
    fn other_programs_cpu_is_the_machine_busy_time_minus_ours() {
        use crate::os::measure::CpuTicks;
        let ticks = |busy| CpuTicks {
            busy,
            ..CpuTicks::default()
        };
        let tick_s = crate::os::measure::tick_ms() / 1e3;
        // 200 ticks busy over 1 s, of which 100 ticks were ours: one core of others.
        let foreign = foreign_cores(
            Some(ticks(0)),
            Some(ticks(200)),
            100.0 * tick_s,
            200.0 * tick_s / 2.0,
        );
        assert!((foreign.unwrap() - 1.0).abs() < 1e-9, "{foreign:?}");
        // The kernel's softirq time (loopback networking for the lab) is
        // not another program's.
        let with_softirq = |busy, softirq| CpuTicks {
            busy,
            softirq,
            ..CpuTicks::default()
        };
        let foreign = foreign_cores(
            Some(with_softirq(0, 0)),
            Some(with_softirq(300, 100)),
            100.0 * tick_s,
            200.0 * tick_s / 2.0,
        );
        assert!((foreign.unwrap() - 1.0).abs() < 1e-9, "{foreign:?}");
        assert_eq!(foreign_cores(None, Some(ticks(1)), 0.0, 1.0), None);
        // Never below zero (tick rounding).
        assert_eq!(
            foreign_cores(Some(ticks(0)), Some(ticks(1)), 1.0, 1.0),
            Some(0.0)
        );
    }
}
