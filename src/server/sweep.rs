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
//! is a pure function ([`next_rate`]) of the points so far. It starts from
//! a capacity estimate instead of doubling from a low rate: a first point
//! at a quarter of what the connections can carry (connections ÷ the
//! handler's own time, [`Search::connection_cap_rps`]), or the cores for a
//! computing handler (cores ÷ its compute), measures the CPU a
//! request costs, from which the CPU ceiling follows (cores ÷ CPU per
//! request); the next point goes to the lower of the two. From then on it
//! bisects on the log of the rate between the highest passing and the
//! lowest failing rate (a point fails with its p99 above the objective,
//! any error, or less than [`ACHIEVED_SHARE`] of the offered rate
//! achieved), taking a failed point's achieved rate as the next guess when
//! it falls well inside the interval, and stops when the interval is within
//! [`KNEE_SPREAD`] — finer steps would rank the run-to-run spread — or
//! after [`MAX_POINTS`]. No rate above `connection_cap_rps /
//! ACHIEVED_SHARE` can pass (every request holds its connection for the
//! handler's time at least), so that is the interval's top until a point
//! fails below it. Points end early once their p99 has converged
//! ([`crate::server::converge`]); each says how long it measured.
//! With [`IDLE_CONNECTIONS`] open, a single low rate is
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
pub use crate::server::placement::Placement;
use anyhow::Context;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The name `sweep --workloads` knows this sweep by.
pub const WORKLOAD: &str = "server";

/// The first point's share of what the connections can carry: low enough
/// that most servers pass it, so it measures a request's CPU cost.
pub const PROBE_SHARE: f64 = 0.25;

/// No rate below this is offered: a server that fails here has no knee worth finding.
pub const MIN_RPS: f64 = 10.0;

/// No rate above this is offered (one generator thread cannot pace much more).
pub const MAX_RPS: f64 = 51_200.0;

/// The search stops when the highest passing and the lowest failing rate
/// are within this ratio of each other (1 + spread). A parameter: on a
/// shared 2-core machine separate sweeps do not find the same knee to
/// better than about this, so a finer bisection would rank noise.
pub const KNEE_SPREAD: f64 = 0.2;

/// No search measures more points than this.
pub const MAX_POINTS: usize = 5;

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

/// Measured seconds per point at most, after [`WARMUP_S`] of warm-up.
pub const POINT_S: f64 = 1.5;
pub const WARMUP_S: f64 = 0.5;

/// A point whose p99 has converged ends after this many measured seconds.
pub const CONVERGED_AFTER_S: f64 = 0.75;

/// A request not answered this long after it was due is a timeout (ten
/// times the largest objective: such a request has failed it anyway).
pub const TIMEOUT_S: f64 = 1.0;

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

/// One point of a search, as the search reads it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tried {
    pub rate: f64,
    pub ok: bool,
    pub achieved: f64,
    /// CPU seconds (server and generator) per completed request.
    pub cpu_s_per_request: Option<f64>,
}

/// What the search knows before it measures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Search {
    /// connections ÷ the handler's own time: no server carries more.
    pub connection_cap_rps: f64,
    /// cores ÷ the handler's compute, for a computing handler: no server
    /// computes faster than its cores (infinite for a waiting handler).
    pub compute_cap_rps: f64,
    /// Cores the server and the generator may use between them.
    pub cores: f64,
}

impl Search {
    pub fn of(handler: &Handler, connections: u64, cores: f64) -> Search {
        let cpu_us = handler
            .path
            .split(['?', '&'])
            .find_map(|pair| pair.strip_prefix("cpu_us="))
            .and_then(|us| us.parse::<f64>().ok())
            .unwrap_or(0.0);
        Search {
            connection_cap_rps: connections as f64 * 1e3 / handler.own_ms,
            compute_cap_rps: if cpu_us > 0.0 {
                cores * 1e6 / cpu_us
            } else {
                f64::INFINITY
            },
            cores,
        }
    }

    /// The first rate offered.
    pub fn probe(&self) -> f64 {
        let cap = self
            .connection_cap_rps
            .min(self.compute_cap_rps)
            .min(MAX_RPS);
        (cap * PROBE_SHARE).max(MIN_RPS)
    }

    /// Above this no point can pass: at most `connection_cap_rps` complete.
    fn top(&self) -> f64 {
        (self.connection_cap_rps / ACHIEVED_SHARE).min(MAX_RPS * (1.0 + KNEE_SPREAD))
    }
}

/// The next rate to offer after the points so far (in the order measured),
/// or `None` when the knee is found (see the module's description).
pub fn next_rate(history: &[Tried], search: &Search) -> Option<f64> {
    if history.is_empty() {
        return Some(search.probe());
    }
    if history.len() >= MAX_POINTS {
        return None;
    }
    let good = history
        .iter()
        .filter(|t| t.ok)
        .map(|t| t.rate)
        .fold(None, |best: Option<f64>, r| {
            Some(best.map_or(r, |b| b.max(r)))
        });
    // The lowest failure above the highest pass (a failure below a pass is noise).
    let lowest_failure = history
        .iter()
        .filter(|t| !t.ok && good.map_or(true, |g| t.rate > g))
        .min_by(|a, b| a.rate.total_cmp(&b.rate))
        .copied();
    let Some(good) = good else {
        let failed = lowest_failure?;
        // Below what the server carried at its lowest failure, and at
        // least a step below that failure; a quarter of it when the server
        // carried nothing there (it collapsed: its timeouts say nothing of
        // its capacity).
        let next = if failed.achieved >= MIN_RPS {
            (0.9 * failed.achieved).min(failed.rate / (1.0 + KNEE_SPREAD))
        } else {
            failed.rate / 4.0
        };
        return (next >= MIN_RPS).then_some(next.round());
    };
    if good >= MAX_RPS {
        return None;
    }
    let top = lowest_failure.map_or(search.top(), |t| t.rate);
    let step = 1.0 + KNEE_SPREAD;
    if top / good <= step {
        return None;
    }
    // Guesses: the CPU ceiling from the first point that measured it, and
    // what the lowest failure carried when it fell short of its rate.
    let cpu_ceiling = history
        .iter()
        .find_map(|t| t.cpu_s_per_request)
        .filter(|&s| s > 0.0)
        .map(|s| search.cores / s);
    let carried = lowest_failure
        .filter(|t| t.achieved >= MIN_RPS && t.achieved < ACHIEVED_SHARE * t.rate)
        .map(|t| t.achieved);
    let guess = [
        cpu_ceiling,
        carried,
        Some(search.connection_cap_rps),
        Some(search.compute_cap_rps),
    ]
    .into_iter()
    .flatten()
    .fold(f64::INFINITY, f64::min);
    let inner = step.sqrt();
    let tried_near = |rate: f64| history.iter().any(|t| (t.rate / rate - 1.0).abs() < 0.02);
    let next = if guess > good * inner && guess < top / inner && !tried_near(guess) {
        guess
    } else {
        (good * top).sqrt()
    };
    Some(next.min(MAX_RPS).round())
}

/// What one search costs at most: [`MAX_POINTS`] points of the whole
/// warm-up and measured time (a converged point is shorter; a failing one
/// may wait up to the timeout for its last answers).
pub fn point_s_at_most(timing: Timing) -> f64 {
    timing.warmup_s + timing.point_s
}

/// The searches the sweep runs for `models`, in order: (model, handler, connections).
pub fn plan(models: &[String]) -> Vec<(String, Handler, u64)> {
    let mut searches = Vec::new();
    for model in models {
        for handler in HANDLERS.iter().filter(|h| h.applies_to(model)) {
            for &connections in handler.connections {
                searches.push((model.clone(), *handler, connections));
            }
        }
    }
    searches
}

/// The sweep's time at most, s: every search's [`MAX_POINTS`] points and
/// each model's idle point, by their planned durations (start-up of each
/// server and the time to open 10,000 connections excluded).
pub fn estimate_s(models: &[String]) -> (usize, f64) {
    let points = plan(models).len() * MAX_POINTS + models.len();
    (points, points as f64 * point_s_at_most(SWEEP_TIMING))
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
        ServerChild::start_placed(exe, model, workers, &Placement::shared())
    }

    /// [`ServerChild::start`] on `placement`'s CPUs and in its namespace,
    /// listening on the veth address there.
    pub fn start_placed(
        exe: &Path,
        model: &str,
        workers: usize,
        placement: &Placement,
    ) -> anyhow::Result<ServerChild> {
        use std::os::unix::process::CommandExt;
        // A lab model's `serve`, or a Python server by its `py-…` name.
        let mut command = crate::server::python::server_command(exe, model, workers)?;
        if placement.netns.is_some() {
            if crate::server::python::is_python(model) {
                command.arg("--allow-remote");
            } else {
                command.args([
                    "--bind",
                    crate::server::placement::SERVER_ADDR,
                    "--allow-remote",
                ]);
            }
        }
        let mut command = placement.server_command(command);
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
                    // The warning --allow-remote prints is not a limit.
                    if line.starts_with("warning:") && !line.contains("--allow-remote") {
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
        if placement.netns.is_some() {
            // Reached over the veth pair, whatever address the server printed.
            let port = server
                .addr
                .rsplit(':')
                .next()
                .unwrap_or_default()
                .to_string();
            server.addr = format!("{}:{port}", crate::server::placement::SERVER_ADDR);
        }
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
    let setup = PointSetup {
        placement: &Placement::shared(),
        converge_after_s: None,
    };
    measure_point_on(
        exe,
        server,
        model,
        handler,
        connections,
        rate,
        timing,
        &setup,
    )
}

/// How a point runs besides its rate and connections.
pub struct PointSetup<'a> {
    /// Where the generator and the server run.
    pub placement: &'a Placement,
    /// End the point once its p99 has converged, after this many measured seconds.
    pub converge_after_s: Option<f64>,
}

/// [`measure_point`] with a placement and, optionally, an early end once
/// the p99 has converged.
#[allow(clippy::too_many_arguments)]
pub fn measure_point_on(
    exe: &Path,
    server: &ServerChild,
    model: &str,
    handler: &Handler,
    connections: u64,
    rate: f64,
    timing: Timing,
    setup: &PointSetup,
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
        .args(["--timeout-s", &timing.timeout_s.to_string(), "--json"]);
    if let Some(after) = setup.converge_after_s {
        command.args(["--converge-min-s", &after.to_string()]);
    }
    // Placed first: the wrapper keeps the arguments, not the pipes.
    let mut command = setup.placement.generator_command(command);
    command
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
        // Apart, the generator's CPUs are not the server's, though the
        // machine is the same; shared, the generator's own answer.
        shares_cores: report.shares_cores && setup.placement.shares_cores(),
        foreign_cpu_cores,
        unix_s: crate::os::measure::unix_now_s(),
        measured_s: Some(report.duration_s),
        p99_converged: setup.converge_after_s.map(|_| report.converged),
        server_cpus: Some(setup.placement.server_cpu_list()),
        generator_cpus: Some(setup.placement.generator_cpu_list()),
        network: Some(setup.placement.network().into()),
        generator_host: Some(report.generator_host.clone()),
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

/// How the search reads a measured point.
pub fn tried(point: &ServerPoint) -> Tried {
    let measured_s = point.measured_s.unwrap_or(POINT_S);
    // Warm-up requests cost CPU too; they ran at the offered rate, or at
    // what the server carried if less.
    let requests = point.achieved_rps * measured_s
        + point.offered_rps.min(point.achieved_rps.max(1.0)) * WARMUP_S;
    Tried {
        rate: point.offered_rps,
        ok: point.ok,
        achieved: point.achieved_rps,
        cpu_s_per_request: (requests >= 1.0)
            .then(|| (point.server_cpu_s + point.generator_cpu_s) / requests),
    }
}

/// The history of one search among points already measured, in the order
/// they were written.
pub fn history_of(
    points: &[ServerPoint],
    model: &str,
    handler: &Handler,
    connections: u64,
) -> Vec<Tried> {
    points
        .iter()
        .filter(|p| p.model == model && p.handler == handler.name && p.connections == connections)
        .map(tried)
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
    /// Where the generator and the server run.
    pub placement: &'a Placement,
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
            "server {} / {} / {} connections / {:.0} req/s: achieved {:.0}, {}, {} errors{} ({:.0} s so far)",
            point.model,
            point.handler,
            point.connections,
            point.offered_rps,
            point.achieved_rps,
            // A latency exists only where a request due inside the window
            // completed; an empty histogram reads 0, which is no latency.
            if point.latency.max_ms > 0.0 {
                format!("p99 {:.1} ms", point.latency.p99_ms)
            } else {
                "no response inside the window".to_string()
            },
            point.errors,
            point.failure.as_deref().map(|f| format!("; {f}")).unwrap_or_default(),
            started.elapsed().as_secs_f64()
        );
        crate::record::export::append_jsonl(&path, point)
    };
    let placement = sweep.placement;
    let cores = match (&placement.server_cpus, &placement.generator_cpus) {
        (Some(server), Some(generator)) => (server.len() + generator.len()) as f64,
        _ => crate::os::measure::cores() as f64,
    };
    let converging = PointSetup {
        placement,
        converge_after_s: Some(CONVERGED_AFTER_S),
    };
    for model in sweep.models {
        for (_, handler, connections) in plan(std::slice::from_ref(model)) {
            let handler = &handler;
            let search = Search::of(handler, connections, cores);
            let mut history = history_of(&done, model, handler, connections);
            if next_rate(&history, &search).is_none() {
                continue; // finished by the run being resumed
            }
            // A fresh server per search: one search's leftovers do not burden the next.
            let server = ServerChild::start_placed(exe, model, sweep.workers, placement)?;
            while let Some(rate) = next_rate(&history, &search) {
                if crate::os::interrupt::requested() {
                    return Ok(path);
                }
                let measured = measure_point_on(
                    exe,
                    &server,
                    model,
                    handler,
                    connections,
                    rate,
                    SWEEP_TIMING,
                    &converging,
                );
                let Some(point) = unless_interrupted(measured)? else {
                    return Ok(path);
                };
                history.push(tried(&point));
                record(&point)?;
            }
        }
        if done
            .iter()
            .any(|p| p.model == *model && p.connections == IDLE_CONNECTIONS)
        {
            continue;
        }
        let server = ServerChild::start_placed(exe, model, sweep.workers, placement)?;
        let idle = PointSetup {
            placement,
            converge_after_s: None,
        };
        let measured = measure_point_on(
            exe,
            &server,
            model,
            &WAIT,
            IDLE_CONNECTIONS,
            IDLE_RPS,
            SWEEP_TIMING,
            &idle,
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

    /// A server whose p99 holds up to `knee` req/s, that carries at most
    /// `capacity`, and whose requests cost `cpu_s` of CPU each.
    fn search_with(search: &Search, knee: f64, capacity: f64, cpu_s: f64) -> Vec<Tried> {
        let mut history = Vec::new();
        while let Some(rate) = next_rate(&history, search) {
            history.push(Tried {
                rate,
                ok: rate <= knee,
                achieved: rate.min(capacity),
                cpu_s_per_request: Some(cpu_s),
            });
        }
        history
    }

    fn bracket(history: &[Tried]) -> (f64, f64) {
        let good = history
            .iter()
            .filter(|t| t.ok)
            .map(|t| t.rate)
            .fold(0.0, f64::max);
        let bad = history
            .iter()
            .filter(|t| !t.ok && t.rate > good)
            .map(|t| t.rate)
            .fold(f64::INFINITY, f64::min);
        (good, bad)
    }

    #[test]
    fn the_search_starts_at_a_quarter_of_the_connections_cap_then_tries_the_lower_estimate() {
        // 1,000 connections of a 20 ms wait carry at most 50,000 req/s; a
        // request costing 50 µs on 2 cores caps the CPU at 40,000 req/s.
        let search = Search::of(&WAIT, 1_000, 2.0);
        let history = search_with(&search, 30_000.0, 36_000.0, 50e-6);
        assert_eq!(history[0].rate, 12_500.0);
        assert_eq!(history[1].rate, 40_000.0);
        let (good, bad) = bracket(&history);
        assert!(good <= 30_000.0 && bad > 30_000.0, "{history:?}");
        assert!(bad / good <= 1.0 + KNEE_SPREAD, "{good} .. {bad}");
    }

    #[test]
    fn at_the_connections_cap_the_search_stops_without_offering_the_impossible() {
        // 10 connections of 20 ms: 500 req/s at most; no rate above
        // 500 / 0.9 can pass, so a pass at 500 ends the search.
        let search = Search::of(&WAIT, 10, 2.0);
        let history = search_with(&search, 520.0, 520.0, 40e-6);
        let rates: Vec<f64> = history.iter().map(|t| t.rate).collect();
        assert_eq!(rates, [125.0, 500.0]);
    }

    #[test]
    fn the_search_brackets_every_knee_within_the_spread_or_its_point_budget() {
        // Knees from a one-worker pool to a fast async server, for the
        // three shapes of search (waiting at 10 and 1,000 connections,
        // computing), on 1 to 64 cores.
        for cores in [1.0, 2.0, 8.0, 64.0] {
            for (handler, connections) in [(WAIT, 10), (WAIT, 1_000), (COMPUTE, 10)] {
                let search = Search::of(&handler, connections, cores);
                // No knee above what the connections carry or the cores compute.
                let cap = search
                    .connection_cap_rps
                    .min(search.compute_cap_rps)
                    .min(MAX_RPS);
                let mut knee = 12.0;
                while knee < cap {
                    let capacity = knee * 1.1;
                    let cpu_s = cores / capacity;
                    let history = search_with(&search, knee, capacity, cpu_s);
                    assert!(history.len() <= MAX_POINTS, "{history:?}");
                    assert!(history
                        .iter()
                        .all(|t| (MIN_RPS..=MAX_RPS).contains(&t.rate)));
                    let (good, bad) = bracket(&history);
                    assert!(good <= knee && bad > knee, "knee {knee}: {history:?}");
                    if bad.is_finite() {
                        // Within the spread, or at worst one more step.
                        assert!(
                            bad / good <= (1.0 + KNEE_SPREAD).powi(2),
                            "knee {knee} on {cores} cores: {history:?}"
                        );
                    }
                    knee *= 1.37;
                }
            }
        }
    }

    #[test]
    fn a_server_that_collapsed_is_searched_a_quarter_lower_down_to_the_floor() {
        let search = Search::of(&WAIT_BLOCK, 10, 2.0);
        let collapsed = |rate| Tried {
            rate,
            ok: false,
            achieved: 0.0,
            cpu_s_per_request: None,
        };
        assert_eq!(next_rate(&[collapsed(125.0)], &search), Some(31.0));
        assert_eq!(
            next_rate(&[collapsed(125.0), collapsed(31.0)], &search),
            None
        );
    }

    #[test]
    fn a_computing_handler_is_probed_below_what_the_cores_can_compute() {
        // 1 ms of compute on 2 cores: 2,000 req/s at most, whatever the connections.
        for connections in LOADED_CONNECTIONS {
            assert_eq!(Search::of(&COMPUTE, connections, 2.0).probe(), 500.0);
        }
    }

    #[test]
    fn a_resumed_search_continues_from_the_points_already_measured() {
        let search = Search::of(&WAIT, 1_000, 2.0);
        let whole = search_with(&search, 30_000.0, 36_000.0, 50e-6);
        for cut in 0..whole.len() {
            assert_eq!(next_rate(&whole[..cut], &search), Some(whole[cut].rate));
        }
        assert_eq!(next_rate(&whole, &search), None);
    }

    #[test]
    fn the_full_sweeps_plan_fits_twelve_minutes_at_its_worst() {
        let mut models: Vec<String> = crate::model::names()
            .iter()
            .map(|s| s.to_string())
            .collect();
        models.extend(crate::server::python::names().iter().map(|s| s.to_string()));
        let (points, seconds) = estimate_s(&models);
        assert!(
            points > 0 && seconds <= 12.0 * 60.0,
            "{points} points, {seconds} s"
        );
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
