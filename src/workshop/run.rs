//! Running one check: build the exercise's program (the student's version,
//! or the reference solution), run it under the lab's machinery, and take
//! the figures its bound needs.
//!
//! The program tells the check its own figures on two lines of stdout
//! (`workshop-ready {..}` early, `workshop-report {..}` at its end; the kit
//! in `exercises/src/lib.rs` writes them). The check measures the rest
//! itself: the lab's open-loop load generator for the HTTP exercise (latency
//! from each request's due time, coordinated omission corrected), the
//! server's thread count from `/proc/<pid>/status` for the connections
//! exercise. Around the run it accounts for the machine as the lab's cells
//! do ([`crate::lab::busy`]): `/proc/stat`'s busy time minus the check's own
//! and its children's CPU is what other programs took.

use super::exercises::{Exercise, Figures, Harness};
use anyhow::Context;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The exercise kit's report prefixes (as `exercises/src/lib.rs` prints them).
const READY_PREFIX: &str = "workshop-ready ";
const REPORT_PREFIX: &str = "workshop-report ";

/// The HTTP exercise's load: offered for this long after the warm-up.
pub const LOAD_DURATION: Duration = Duration::from_secs(2);
/// Requests due in the warm-up are sent but not counted.
pub const LOAD_WARMUP: Duration = Duration::from_millis(250);
/// A request not answered this long after it was due counts as a timeout,
/// which is later than any answered one.
pub const LOAD_TIMEOUT: Duration = Duration::from_secs(3);
/// The load offers this many times the capacity of workers that each
/// block for the whole wait.
pub const LOAD_OVER_BLOCKED_CAPACITY: f64 = 2.0;

/// Idle connections the connections exercise is held to, where the
/// machine's limits allow.
pub const WANTED_IDLE_CONNECTIONS: u64 = 20_000;
/// A connection not accepted within this long counts as refused (a
/// loopback connect takes microseconds unless the listen queue is full).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// After this many refused connections the server has stopped accepting:
/// the check stops trying and counts the threads it has.
const MAX_REFUSED_CONNECTIONS: u64 = 3;
/// How often the server's thread count is read.
const THREAD_SAMPLE_EVERY: Duration = Duration::from_millis(20);
/// The thread count is settled when it has not changed for this long.
const THREADS_SETTLED_AFTER: Duration = Duration::from_millis(300);

/// Where the workspace is: the lab's own source tree, where it was built.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// What a check found before judging.
#[derive(Debug, Default)]
pub struct Outcome {
    pub figures: Figures,
    /// Something the student should read (a compile error, a crash, a
    /// deadlock stopped by the time limit).
    pub problem: Option<String>,
    /// True when the program never finished and the check stopped it.
    pub timed_out: bool,
    /// Mean cores other programs used during the run.
    pub outside_cores: Option<f64>,
    /// How the connection count was chosen (exercise 6).
    pub scale_note: Option<String>,
}

/// Builds the exercise's program; a compile error is the student's to fix
/// (returned as `Err` with its first lines), a missing cargo is ours.
pub fn build(
    exercise: &Exercise,
    solution: bool,
    root: &Path,
) -> anyhow::Result<Result<PathBuf, String>> {
    let binary = exercise.binary(solution);
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command
        .current_dir(root)
        .args([
            "build",
            "--release",
            "--quiet",
            "-p",
            "workshop-exercises",
            "--bin",
        ])
        .arg(&binary)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if solution {
        command.args(["--features", "solutions"]);
    }
    let output = command
        .output()
        .with_context(|| format!("running cargo in {} to build {binary}", root.display()))?;
    if !output.status.success() {
        let errors = String::from_utf8_lossy(&output.stderr);
        let first: Vec<&str> = errors
            .lines()
            .filter(|l| !l.trim().is_empty())
            .take(6)
            .collect();
        return Ok(Err(format!(
            "it does not compile:\n    {}",
            first.join("\n    ")
        )));
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    Ok(Ok(target.join("release").join(binary)))
}

/// Runs the built program under the exercise's harness.
pub fn run(
    exercise: &Exercise,
    program: &Path,
    connections: Option<u64>,
) -> anyhow::Result<Outcome> {
    let window = Window::open();
    let mut child = Command::new(program)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", program.display()))?;
    let lines = read_lines(&mut child);
    let stderr_tail = keep_stderr_tail(&mut child);
    let mut outcome = match exercise.harness {
        Harness::RunsToEnd => runs_to_end(exercise, &mut child, &lines),
        Harness::HttpLoad => http_load(&mut child, &lines),
        Harness::IdleConnections => idle_connections(&mut child, &lines, connections),
    }?;
    let _ = child.kill();
    let status = child.wait().context("waiting for the exercise")?;
    if outcome.problem.is_none()
        && !outcome.timed_out
        && !outcome.figures.contains_key(exercise.figure_key)
    {
        let last = stderr_tail.join().unwrap_or_default();
        outcome.problem = Some(format!(
            "it ended ({status}) without reporting its figures{}",
            if last.is_empty() {
                String::new()
            } else {
                format!(": {}", last.join(" / "))
            }
        ));
    }
    outcome.outside_cores = window.close();
    Ok(outcome)
}

/// The program's stdout, line by line, read on a thread so a silent
/// program cannot block the check.
fn read_lines(child: &mut Child) -> mpsc::Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    if let Some(stdout) = child.stdout.take() {
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
    }
    receiver
}

/// The last lines the program wrote to stderr (a panic's message), read on
/// a thread so a chatty program never fills the pipe and stalls.
fn keep_stderr_tail(child: &mut Child) -> std::thread::JoinHandle<Vec<String>> {
    let stderr = child.stderr.take();
    std::thread::spawn(move || {
        let mut tail = std::collections::VecDeque::new();
        if let Some(stderr) = stderr {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tail.len() == 3 {
                    tail.pop_front();
                }
                tail.push_back(line);
            }
        }
        tail.into_iter().collect()
    })
}

/// Adds a `workshop-ready`/`workshop-report` line's numbers to `figures`;
/// returns the address a server gave, if any.
fn take_figures(line: &str, figures: &mut Figures) -> Option<String> {
    let json = line
        .strip_prefix(READY_PREFIX)
        .or_else(|| line.strip_prefix(REPORT_PREFIX))?;
    let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(json).ok()?;
    let mut address = None;
    for (key, value) in object {
        match value {
            serde_json::Value::Number(n) => {
                if let Some(v) = n.as_f64() {
                    figures.insert(key, v);
                }
            }
            serde_json::Value::String(text) if key == "address" => address = Some(text),
            _ => {}
        }
    }
    address
}

fn runs_to_end(
    exercise: &Exercise,
    child: &mut Child,
    lines: &mpsc::Receiver<String>,
) -> anyhow::Result<Outcome> {
    let mut outcome = Outcome::default();
    let start = Instant::now();
    loop {
        let limit = exercise.time_limit(&outcome.figures);
        let left = limit.saturating_sub(start.elapsed());
        match lines.recv_timeout(left.min(Duration::from_millis(100))) {
            Ok(line) => {
                let reported = line.starts_with(REPORT_PREFIX);
                take_figures(&line, &mut outcome.figures);
                if reported {
                    return Ok(outcome);
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(outcome),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        if start.elapsed() >= limit {
            let _ = child.kill();
            outcome.timed_out = true;
            let waited_ms = start.elapsed().as_secs_f64() * 1e3;
            outcome
                .figures
                .insert(exercise.figure_key.to_string(), waited_ms);
            outcome.problem = Some(format!(
                "it did not finish within {:.1} s and was stopped: its tasks are all waiting \
                 for each other (a deadlock) or it is far too slow",
                limit.as_secs_f64()
            ));
            return Ok(outcome);
        }
    }
}

/// Waits for the server's `workshop-ready` line and returns its address.
fn server_address(
    lines: &mpsc::Receiver<String>,
    figures: &mut Figures,
) -> anyhow::Result<Option<SocketAddr>> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match lines.recv_timeout(left) {
            Ok(line) => {
                if let Some(address) = take_figures(&line, figures) {
                    return Ok(Some(address.parse().context("the server's address")?));
                }
            }
            Err(_) => return Ok(None),
        }
    }
    Ok(None)
}

fn http_load(child: &mut Child, lines: &mpsc::Receiver<String>) -> anyhow::Result<Outcome> {
    let mut outcome = Outcome::default();
    let Some(target) = server_address(lines, &mut outcome.figures)? else {
        outcome.problem = Some("the server never said where it listens".into());
        let _ = child.kill();
        return Ok(outcome);
    };
    let (Some(&wait_ms), Some(&workers)) = (
        outcome.figures.get("backend_wait_ms"),
        outcome.figures.get("workers"),
    ) else {
        outcome.problem = Some("the server did not report its wait and worker count".into());
        return Ok(outcome);
    };
    // Twice what workers that each block for the whole wait can serve.
    let blocked_capacity = workers.max(1.0) * 1e3 / wait_ms.max(1.0);
    let rate = LOAD_OVER_BLOCKED_CAPACITY * blocked_capacity;
    // Enough connections for every request a non-blocking server has in
    // flight (rate × wait), several times over.
    let in_flight = rate * wait_ms / 1e3;
    let connections = (4.0 * in_flight).ceil().max(16.0) as usize;
    let report = crate::server::load::run(&crate::server::load::LoadOptions {
        target,
        path: "/order".into(),
        rate,
        connections,
        duration: LOAD_DURATION,
        warmup: LOAD_WARMUP,
        timeout: LOAD_TIMEOUT,
    })?;
    let failed = report.scheduled.saturating_sub(report.completed);
    let failed_share = failed as f64 / report.scheduled.max(1) as f64;
    // Unanswered requests are later than every answered one: past the
    // 99th percentile, the p99 is at least the timeout.
    let p99_ms = if failed_share > 0.01 {
        report.latency.p99_ms.max(LOAD_TIMEOUT.as_secs_f64() * 1e3)
    } else {
        report.latency.p99_ms
    };
    let f = &mut outcome.figures;
    f.insert("p99_ms".into(), p99_ms);
    f.insert("p50_ms".into(), report.latency.p50_ms);
    f.insert("offered_rps".into(), rate);
    f.insert("achieved_rps".into(), report.achieved_rps);
    f.insert("unanswered".into(), failed as f64);
    f.insert("load_duration_ms".into(), LOAD_DURATION.as_secs_f64() * 1e3);
    Ok(outcome)
}

/// Idle connections the machine allows: the open-file limit of the check
/// (the server inherits the same), less what a process needs besides.
pub fn idle_connections_allowed() -> (u64, String) {
    let nofile = crate::os::descriptors::raise_nofile_limit();
    let by_files = nofile.saturating_sub(4 * crate::os::descriptors::RESERVED_DESCRIPTORS);
    let by_ports = crate::os::descriptors::ephemeral_ports().map(|p| p / 2);
    let mut allowed = WANTED_IDLE_CONNECTIONS.min(by_files);
    let mut why = format!("{WANTED_IDLE_CONNECTIONS} wanted");
    if by_files < WANTED_IDLE_CONNECTIONS {
        why = format!("the open-file limit ({nofile}) allows {by_files}");
    }
    if let Some(ports) = by_ports.filter(|p| *p < allowed) {
        allowed = ports;
        why = format!("half the ephemeral ports allow {ports}");
    }
    (allowed, why)
}

fn idle_connections(
    child: &mut Child,
    lines: &mpsc::Receiver<String>,
    wanted: Option<u64>,
) -> anyhow::Result<Outcome> {
    let mut outcome = Outcome::default();
    let Some(target) = server_address(lines, &mut outcome.figures)? else {
        outcome.problem = Some("the server never said where it listens".into());
        return Ok(outcome);
    };
    let (allowed, why) = idle_connections_allowed();
    let connections = wanted.map_or(allowed, |w| w.min(allowed));
    outcome.scale_note = Some(match wanted {
        Some(w) if w <= allowed => format!("{connections} idle connections (as asked)"),
        _ => format!("{connections} idle connections ({why})"),
    });
    let pid = child.id();
    let mut peak_threads = threads_of(pid).unwrap_or(0);
    let mut open = Vec::with_capacity(connections as usize);
    let mut refused = 0u64;
    for index in 0..connections {
        match TcpStream::connect_timeout(&target, CONNECT_TIMEOUT) {
            Ok(stream) => {
                // Closed with a reset at the end, so no port waits in TIME_WAIT.
                let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
                open.push(stream);
            }
            Err(_) => refused += 1,
        }
        if index % PACE_EVERY == 0 {
            peak_threads = peak_threads.max(threads_of(pid).unwrap_or(0));
            wait_for_room_in_accept_queue(target.port());
        }
        if refused >= MAX_REFUSED_CONNECTIONS {
            // The server has stopped taking connections (a ceiling reached).
            break;
        }
    }
    // Wait for the server to take them all in: its thread count settles.
    let mut last = threads_of(pid).unwrap_or(0);
    let mut unchanged_since = Instant::now();
    let give_up = Instant::now() + Duration::from_secs(10);
    while unchanged_since.elapsed() < THREADS_SETTLED_AFTER && Instant::now() < give_up {
        std::thread::sleep(THREAD_SAMPLE_EVERY);
        let Some(now) = threads_of(pid) else { break };
        peak_threads = peak_threads.max(now);
        if now != last {
            last = now;
            unchanged_since = Instant::now();
        }
    }
    drop(open);
    let f = &mut outcome.figures;
    f.insert("peak_threads".into(), peak_threads as f64);
    f.insert("connections".into(), connections as f64);
    f.insert("connections_refused".into(), refused as f64);
    Ok(outcome)
}

/// Connections opened between two looks at the server's accept queue.
const PACE_EVERY: u64 = 32;
/// The listen queue a server gets from `std::net::TcpListener::bind`: a
/// connection beyond it has its handshake dropped and retried by the kernel
/// a second later, so the check never lets the queue fill.
const LISTEN_QUEUE: u64 = 128;

/// Waits (at most 5 s) until the server's accept queue has room for the
/// next [`PACE_EVERY`] connections, so a server slower to accept than the
/// check is to connect is measured, not its listen queue's overflow.
fn wait_for_room_in_accept_queue(port: u16) {
    let give_up = Instant::now() + Duration::from_secs(5);
    while let Some(queued) = accept_queue(port) {
        if queued + 2 * PACE_EVERY <= LISTEN_QUEUE || Instant::now() > give_up {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Connections waiting in the accept queue of the loopback listener on
/// `port`: `rx_queue` of its LISTEN line in `/proc/net/tcp` (listening
/// sockets come first in that file, so reading stops early).
fn accept_queue(port: u16) -> Option<u64> {
    let file = std::fs::File::open("/proc/net/tcp").ok()?;
    let local = format!(":{port:04X}");
    for line in BufReader::new(file).lines().map_while(Result::ok).skip(1) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some(address), Some(state), Some(queues)) =
            (fields.get(1), fields.get(3), fields.get(4))
        else {
            continue;
        };
        if *state == "0A" && address.ends_with(&local) {
            let rx = queues.split(':').nth(1)?;
            return u64::from_str_radix(rx, 16).ok();
        }
        if *state != "0A" {
            // Past the listening sockets.
            return None;
        }
    }
    None
}

/// `Threads:` of `/proc/<pid>/status` (None once the process is gone).
fn threads_of(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
}

/// The machine's accounting around one run, as [`crate::lab::busy`] does it for
/// a cell, except that the exercise is a child process: its CPU comes from
/// `getrusage(RUSAGE_CHILDREN)` once it has been waited for.
struct Window {
    started: Instant,
    machine: Option<crate::os::measure::CpuTicks>,
    own_ms: f64,
}

fn cpu_ms(who: libc::c_int) -> f64 {
    // SAFETY: getrusage writes into the zeroed struct we own.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(who, &mut usage) } != 0 {
        return 0.0;
    }
    let ms = |t: libc::timeval| t.tv_sec as f64 * 1e3 + t.tv_usec as f64 / 1e3;
    ms(usage.ru_utime) + ms(usage.ru_stime)
}

impl Window {
    fn open() -> Window {
        Window {
            started: Instant::now(),
            machine: crate::os::measure::CpuTicks::now(),
            own_ms: cpu_ms(libc::RUSAGE_SELF) + cpu_ms(libc::RUSAGE_CHILDREN),
        }
    }

    /// Mean cores other programs used since [`Self::open`].
    fn close(self) -> Option<f64> {
        let after = crate::os::measure::CpuTicks::now()?;
        let own_ms = cpu_ms(libc::RUSAGE_SELF) + cpu_ms(libc::RUSAGE_CHILDREN) - self.own_ms;
        let conditions = crate::lab::busy::RepeatConditions::from_readings(
            self.machine?,
            after,
            self.started.elapsed().as_secs_f64() * 1e3,
            own_ms,
            0,
            crate::os::measure::tick_ms(),
            crate::os::measure::cores(),
        );
        Some(conditions.foreign_cpu_cores())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_line_gives_its_numbers_and_a_ready_line_its_address() {
        let mut figures = Figures::new();
        let address = take_figures(
            "workshop-ready {\"address\":\"127.0.0.1:8080\",\"workers\":2}",
            &mut figures,
        );
        assert_eq!(address.as_deref(), Some("127.0.0.1:8080"));
        assert_eq!(figures["workers"], 2.0);
        assert!(take_figures("workshop-report {\"page_ms\":101.5}", &mut figures).is_none());
        assert_eq!(figures["page_ms"], 101.5);
        assert!(take_figures("hello", &mut figures).is_none());
        assert!(take_figures("workshop-report {not json", &mut figures).is_none());
    }
}
