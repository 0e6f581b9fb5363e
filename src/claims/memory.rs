//! Two claims about what concurrency costs in memory, measured with the
//! lab's `sleep` cells (each repeat in its own process, peak RSS = VmHWM).
//!
//! - threads-cost-memory: memory per unit is the slope of peak RSS against
//!   the number of waiting units, by the lab's one rule
//!   ([`crate::record::memory::MemoryRule::fit_kib_per_unit`]: only cells in which every unit was
//!   alive at once), so the fixed cost of the binary and the runtime drops
//!   out. Threads are measured with the platform's default stack and with
//!   64 KiB stacks. A thread's stack is *reserved* (virtual) up front but
//!   only the pages it touches become resident, and the kernel keeps a
//!   kernel stack per thread that RSS never shows; both are measured in
//!   this process with a few hundred parked threads (VmSize from
//!   /proc/self/status, KernelStack from /proc/meminfo — a system-wide
//!   counter, so other processes can add noise). The verdict compares
//!   resident memory with resident memory — a thread's against a task's —
//!   so it can come out either way; the reservation is shown beside it,
//!   never judged (on Linux a thread's reserved stack is always far larger
//!   than what it touches).
//! - scales-to-thousands: a million concurrent waits on tokio (a hundred
//!   thousand in the default report's quick budget); threads at ten
//!   thousand, and then asked for 200,000 to find where they stop. The
//!   stopping point is compared with the ceiling [`crate::os::limits`] computes
//!   from the OS limits. The `threads` model stops a few threads short of the
//!   memory-map limit (see `limits.rs`), so the run never exhausts the
//!   machine's PIDs: on a default Linux the map limit (65,530 / 4 maps per
//!   thread) comes well before `pid_max`. Then the same question for
//!   servers: a `threads` and a `tokio` HTTP server (`serve --model`, each
//!   its own process) hold 10,000 mostly idle keep-alive connections from
//!   the lab's generator, and the server's peak RSS and threads are read
//!   from /proc — the server sweep's idle point, shortened.

use super::precision::{self, unanimous, Estimate};
use super::{decide, figure, threshold, Claim, Failure, Trial, Trials, Verdict};
use crate::lab::cell::CellSpec;
use crate::os::limits::{self, ThreadCeiling};
use crate::os::measure::ProcStatus;
use crate::record::result::{CellRecord, Status};
use crate::stats::interval::{Interval, IntervalMethod, Side};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

pub const THREADS_COST_MEMORY: Claim = Claim {
    id: "threads-cost-memory",
    claim: "Threads use much more memory than async tasks.",
    demonstrates: None,
    experiment: "Peak RSS of 500 and 2,000 waiting threads (default and 64 KiB stacks) vs 10,000 and 100,000 waiting tasks on tokio, smol and async-std: KiB per unit; plus virtual and kernel memory per thread.",
    run: threads_cost_memory,
};

pub const SCALES_TO_THOUSANDS: Claim = Claim {
    id: "scales-to-thousands",
    claim: "Async handles thousands, even a million, concurrent waits with little memory; threads do not.",
    demonstrates: None,
    experiment: "1,000,000 concurrent 5 s waits on tokio; 10,000 concurrent 2 s waits on threads, then 200,000 threads asked for (3 s waits) to see where they stop, against the ceiling computed from the OS limits; and a thread-per-connection and a tokio HTTP server each holding 10,000 mostly idle keep-alive connections (server RSS and threads).",
    run: scales_to_thousands,
};

/// Wait per unit in the memory cells, ms: longer than starting 2,000
/// threads or 100,000 tasks takes, so every unit is alive at the peak.
const MEMORY_WAIT_MS: f64 = 500.0;
/// Three cells per line: a slope through three points has a 95 %
/// interval (two points always lie on a line and say nothing about it).
const THREAD_COUNTS: [u64; 3] = [500, 1_000, 2_000];
const TASK_COUNTS: [u64; 3] = [10_000, 50_000, 100_000];
const SMALL_STACK_KIB: usize = 64;
/// Parked threads for the virtual and kernel memory measurement.
const PARKED_THREADS: usize = 500;
/// "Much more memory": thread KiB per unit at least this many times the
/// largest async runtime's.
pub const MEMORY_RATIO_MIN: f64 = 4.0;

const MILLION: u64 = 1_000_000;
/// Concurrent async waits in the quick budget: still far beyond thousands.
const QUICK_ASYNC_WAITS: u64 = 100_000;
/// Their wait in the quick budget, ms: long enough to start them all.
const QUICK_ASYNC_WAIT_MS: f64 = 2_000.0;
const MILLION_WAIT_MS: f64 = 5_000.0;
const THOUSANDS: u64 = 10_000;
const THOUSANDS_WAIT_MS: f64 = 2_000.0;
/// Threads asked for to find the ceiling: more than any default limit allows.
const CEILING_ASK: u64 = 200_000;
/// Each of those threads waits this long: longer than starting the ~16,000
/// a default Linux allows takes, so none has ended (and given back its
/// maps) before the last one starts.
const CEILING_WAIT_MS: f64 = 3_000.0;
/// The ceiling computed from the limits "agrees" with where the threads
/// stopped when they differ by at most this fraction.
pub const CEILING_AGREEMENT_MAX: f64 = 0.05;
/// "Little memory" per async task: at most one 4 KiB page.
pub const ASYNC_KIB_PER_UNIT_MAX: f64 = 4.0;
/// Keep-alive connections each server holds open, mostly idle.
const IDLE_SERVER_CONNECTIONS: u64 = 10_000;
/// The rate offered over them, req/s (a trickle: the point is holding them).
const IDLE_SERVER_RPS: f64 = 100.0;
/// A short point: connections open, one second of trickle.
const IDLE_SERVER_TIMING: crate::server::sweep::Timing = crate::server::sweep::Timing {
    warmup_s: 0.2,
    point_s: 1.0,
    timeout_s: 1.0,
};

/// A server holding [`IDLE_SERVER_CONNECTIONS`] open connections.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct IdleServer {
    pub model: String,
    /// Every connection was open when the trickle ended.
    pub held: bool,
    /// The limit the server printed, or why the point did not run.
    pub failure: Option<String>,
    pub peak_rss_kib: u64,
    pub threads: u64,
}

impl IdleServer {
    fn words(&self) -> String {
        match &self.failure {
            None => format!(
                "{} {:.0} MiB, {} threads",
                self.model,
                self.peak_rss_kib as f64 / 1024.0,
                self.threads
            ),
            Some(failure) => format!("{} could not: {failure}", self.model),
        }
    }
}

/// Each model's server holding [`IDLE_SERVER_CONNECTIONS`] connections; a
/// server that did not run is recorded with why.
fn idle_servers(cores: usize) -> Vec<IdleServer> {
    use crate::server::sweep::{self as server_sweep, ServerChild};
    let Ok(exe) = std::env::current_exe() else {
        return Vec::new();
    };
    [super::thread_per_task(), super::reference_async()]
        .iter()
        .map(|model| {
            let measured = ServerChild::start(&exe, model, cores).and_then(|server| {
                server_sweep::measure_point(
                    &exe,
                    &server,
                    model,
                    &server_sweep::WAIT,
                    IDLE_SERVER_CONNECTIONS,
                    IDLE_SERVER_RPS,
                    IDLE_SERVER_TIMING,
                )
            });
            match measured {
                Ok(point) => IdleServer {
                    model: model.to_string(),
                    held: point.failure.is_none(),
                    failure: point.failure,
                    peak_rss_kib: point.server_peak_rss_kib,
                    threads: point.server_threads,
                },
                Err(error) => IdleServer {
                    model: model.to_string(),
                    held: false,
                    failure: Some(format!("{error:#}")),
                    peak_rss_kib: 0,
                    threads: 0,
                },
            }
        })
        .collect()
}

/// One series of memory cells: KiB per unit by the one rule, and the peaks.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PerUnit {
    /// None when fewer than `MIN_FIT_POINTS` cells had every unit alive.
    pub kib_per_unit: Option<f64>,
    /// The slope's 95 % interval (Student's t on the fitted cells); None
    /// with fewer than 3 of them.
    pub kib_per_unit_ci: Option<Interval>,
    /// (units, peak RSS KiB) of every cell.
    pub peak_rss_kib: Vec<(u64, u64)>,
    /// Unit counts whose cell did not have every unit alive at once.
    pub not_alive: Vec<u64>,
}

fn per_unit(
    trials: &Trials,
    model: &str,
    counts: &[u64],
    stack_kib: Option<usize>,
    commands: &mut Vec<String>,
) -> Result<PerUnit, String> {
    let mut records = Vec::new();
    for &tasks in counts {
        let spec = CellSpec {
            sleep_ms: MEMORY_WAIT_MS,
            stack_kib,
            ..trials.spec("sleep", model, tasks)
        };
        let record = trials.cell(spec, 1);
        commands.push(record.command.clone());
        super::median_ms(&record)?;
        records.push(record);
    }
    let rule = crate::model::memory_rule();
    let fitted: Vec<(f64, f64)> = records
        .iter()
        .filter(|r| rule.counts_for_memory(r))
        .map(|r| (r.tasks as f64, r.peak_rss_kib as f64))
        .collect();
    Ok(PerUnit {
        kib_per_unit: rule.fit_kib_per_unit(&records).map(|fit| fit.slope),
        kib_per_unit_ci: crate::stats::interval::slope_interval(&fitted),
        peak_rss_kib: records.iter().map(|r| (r.tasks, r.peak_rss_kib)).collect(),
        not_alive: records
            .iter()
            .filter(|r| !rule.all_alive_at_once(r))
            .map(|r| r.tasks)
            .collect(),
    })
}

fn kernel_stack_kib() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("KernelStack:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Virtual, resident and kernel-stack KiB per parked thread (default stack).
fn parked_thread_costs() -> Result<(f64, f64, f64), String> {
    let before = ProcStatus::current();
    let kernel_before = kernel_stack_kib();
    // Threads park on a read lock this thread holds for writing.
    let gate = Arc::new(RwLock::new(()));
    let parked = Arc::new(AtomicUsize::new(0));
    let closed = gate.write().map_err(|_| "the gate lock is poisoned")?;
    let mut handles = Vec::new();
    let mut refused = None;
    for _ in 0..PARKED_THREADS {
        let (gate, parked) = (Arc::clone(&gate), Arc::clone(&parked));
        match std::thread::Builder::new().spawn(move || {
            parked.fetch_add(1, Ordering::SeqCst);
            let _open = gate.read();
        }) {
            Ok(handle) => handles.push(handle),
            Err(error) => {
                refused = Some(error);
                break;
            }
        }
    }
    while parked.load(Ordering::SeqCst) < handles.len() {
        std::thread::yield_now();
    }
    let during = ProcStatus::current();
    let kernel_during = kernel_stack_kib();
    drop(closed);
    for handle in handles {
        let _ = handle.join();
    }
    if let Some(error) = refused {
        return Err(format!("starting {PARKED_THREADS} parked threads: {error}"));
    }
    let n = PARKED_THREADS as f64;
    Ok((
        during.vm_size_kib.saturating_sub(before.vm_size_kib) as f64 / n,
        during.vm_rss_kib.saturating_sub(before.vm_rss_kib) as f64 / n,
        kernel_during.saturating_sub(kernel_before) as f64 / n,
    ))
}

/// What threads-cost-memory measured.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MemoryFigures {
    pub threads: PerUnit,
    pub small_stack: PerUnit,
    pub asyncs: Vec<(&'static str, PerUnit)>,
    /// Virtual, resident and kernel-stack KiB per parked thread, or why not.
    pub parked: Result<(f64, f64, f64), String>,
    pub cell_commands: Vec<String>,
}

fn threads_cost_memory(trials: &Trials) -> Trial {
    decide(measure_memory(trials), judge_memory)
}

/// The experiment: the memory cells, then the parked threads.
fn measure_memory(trials: &Trials) -> Result<MemoryFigures, Failure> {
    let mut commands = Vec::new();
    let mut measure = |model: &str, counts: &[u64], stack: Option<usize>| {
        per_unit(trials, model, counts, stack, &mut commands)
    };
    let threads = measure(super::thread_per_task(), &THREAD_COUNTS, None);
    let small = measure(
        super::thread_per_task(),
        &THREAD_COUNTS,
        Some(SMALL_STACK_KIB),
    );
    // Every async runtime in the registry.
    let asyncs: Vec<(&'static str, Result<PerUnit, String>)> = super::async_models()
        .into_iter()
        .map(|m| (m, measure(m, &TASK_COUNTS, None)))
        .collect();
    let (threads, small_stack) = match (threads, small) {
        (Ok(t), Ok(s)) => (t, s),
        (Err(e), _) | (_, Err(e)) => return Err(Failure::new(e, commands)),
    };
    let mut async_units = Vec::new();
    for (model, outcome) in asyncs {
        match outcome {
            Ok(unit) => async_units.push((model, unit)),
            Err(error) => return Err(Failure::new(error, commands)),
        }
    }
    Ok(MemoryFigures {
        threads,
        small_stack,
        asyncs: async_units,
        parked: parked_thread_costs(),
        cell_commands: commands,
    })
}

/// The rule of threads-cost-memory, a pure function of the figures.
pub(crate) fn judge_memory(figures: &MemoryFigures) -> Trial {
    let MemoryFigures {
        threads,
        small_stack,
        asyncs,
        parked,
        cell_commands,
    } = figures;
    let series = [
        (super::thread_per_task(), threads),
        ("threads (64 KiB stack)", small_stack),
    ]
    .into_iter()
    .chain(asyncs.iter().map(|(m, u)| (*m, u)));
    let peaks = |unit: &PerUnit| {
        unit.peak_rss_kib
            .iter()
            .map(|(n, kib)| format!("{n}: {:.1} MiB", *kib as f64 / 1024.0))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let kib = |unit: &PerUnit| {
        unit.kib_per_unit
            .map_or("–".to_string(), |k| format!("{k:.2}"))
    };
    let measured_peaks = format!(
        "KiB per waiting unit (slope of peak RSS over cells with every unit alive): threads {} (peaks {}), threads {SMALL_STACK_KIB} KiB stack {} (peaks {}), {}.",
        kib(threads),
        peaks(threads),
        kib(small_stack),
        peaks(small_stack),
        asyncs
            .iter()
            .map(|(m, u)| format!("{m} {} (peaks {})", kib(u), peaks(u)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let unfit: Vec<String> = series
        .clone()
        .filter(|(_, u)| u.kib_per_unit.is_none())
        .map(|(m, u)| {
            format!(
                "{m} (not every unit alive at once at {:?} units)",
                u.not_alive
            )
        })
        .collect();
    if !unfit.is_empty() {
        return Trial {
            measured: measured_peaks,
            figures: Vec::new(),
            verdict: Verdict::NotMeasured,
            caveat: None,
            decided_by: format!(
                "memory per unit needs {} cells in which every unit was alive at once (starting them must take less than the {MEMORY_WAIT_MS:.0} ms wait); \
                 too few for: {}",
                crate::record::memory::MIN_FIT_POINTS,
                unfit.join("; ")
            ),
            thresholds: Vec::new(),
            cell_commands: cell_commands.clone(),
            chart: None,
        };
    }
    let per = |unit: &PerUnit| unit.kib_per_unit.unwrap_or(f64::NAN);
    let (threads_kib, small_kib) = (per(threads), per(small_stack));
    // Each slope with its 95 % interval; a line fitted through fewer than
    // three cells has none and counts as its point.
    let estimate = |unit: &PerUnit| match unit.kib_per_unit_ci {
        Some(interval) => Estimate {
            value: per(unit),
            interval,
        },
        None => Estimate::exact(per(unit)),
    };
    let hungriest = asyncs
        .iter()
        .max_by(|a, b| per(&a.1).total_cmp(&per(&b.1)))
        .map(|(_, u)| estimate(u))
        .unwrap_or_else(|| Estimate::exact(0.01));
    let largest_async = hungriest.value.max(0.01);
    let ratio = threads_kib / largest_async;
    // The ratios' intervals: extreme ratios of the two slopes' intervals
    // (an async slope that may be 0 leaves the ratio unbounded above).
    let ratio_estimate = |threads: Estimate| {
        Estimate::ratio_of(&threads, &hungriest).unwrap_or_else(|| Estimate {
            value: threads.value / largest_async,
            interval: Interval {
                low: f64::NEG_INFINITY,
                high: f64::INFINITY,
                method: IntervalMethod::Range,
                coverage: 1.0,
            },
        })
    };
    let ratio_default = ratio_estimate(estimate(threads));
    let ratio_small = ratio_estimate(estimate(small_stack));
    let sides = [
        ratio_default.side(MEMORY_RATIO_MIN),
        ratio_small.side(MEMORY_RATIO_MIN),
    ];
    let outcome = |above: &[bool]| match (above[0], above[1]) {
        (false, _) => Verdict::DoesNotHold,
        (true, true) => Verdict::Holds,
        (true, false) => Verdict::HoldsWithACaveat,
    };
    let decided = unanimous(&sides, outcome);

    let mut caveats = Vec::new();
    let mut figure_list = vec![
        estimate(threads).figure("threads (default stack) KiB per unit", "KiB"),
        estimate(small_stack).figure(
            format!("threads ({SMALL_STACK_KIB} KiB stack) KiB per unit"),
            "KiB",
        ),
    ];
    for (model, unit) in asyncs {
        figure_list.push(estimate(unit).figure(format!("{model} KiB per unit"), "KiB"));
    }
    figure_list.push(ratio_default.figure("threads / hungriest async, resident per unit", "x"));
    figure_list.push(ratio_small.figure(
        format!("threads ({SMALL_STACK_KIB} KiB stack) / hungriest async, resident per unit"),
        "x",
    ));
    let extra = match parked {
        Ok((virtual_kib, resident_kib, kernel_kib)) => {
            figure_list.push(figure("parked thread: address space", *virtual_kib, "KiB"));
            figure_list.push(figure("parked thread: resident", *resident_kib, "KiB"));
            figure_list.push(figure("parked thread: kernel stack", *kernel_kib, "KiB"));
            format!(
                " A parked thread: {virtual_kib:.0} KiB of address space (stack reservation, malloc arenas: reserved, not used), {resident_kib:.0} KiB resident, {kernel_kib:.0} KiB kernel stack (outside RSS)."
            )
        }
        Err(error) => format!(" Virtual/kernel memory not measured: {error}."),
    };
    // Resident against resident: a small stack shrinks the reservation,
    // and the verdict says whether it shrinks what is resident too.
    let small_ratio = small_kib / largest_async;
    let thresholds = vec![threshold(
        "MEMORY_RATIO_MIN",
        MEMORY_RATIO_MIN,
        "threads' KiB per unit ≥ this × async's: much more memory",
    )];
    let Some(verdict) = decided else {
        let straddling: Vec<String> = [
            ("threads / hungriest async ×", ratio_default),
            ("64 KiB-stack threads / hungriest async ×", ratio_small),
        ]
        .iter()
        .filter(|(_, r)| r.side(MEMORY_RATIO_MIN) == Side::TooClose)
        .map(|(what, r)| precision::straddles(what, r, MEMORY_RATIO_MIN, 1))
        .collect();
        return precision::too_close(
            measured_peaks + &extra,
            figure_list,
            &straddling,
            THREAD_COUNTS.len(),
            thresholds,
            cell_commands.clone(),
        );
    };
    if verdict == Verdict::HoldsWithACaveat {
        caveats.push(format!(
            "only with the default stack: with {SMALL_STACK_KIB} KiB stacks a thread used {small_kib:.1} KiB resident, ×{small_ratio:.1} the hungriest async task's"
        ));
    }
    Trial {
        measured: measured_peaks + &extra,
        figures: figure_list,
        verdict,
        caveat: (!caveats.is_empty()).then(|| caveats.join("; ")),
        decided_by: format!(
            "resident memory per unit: threads ×{ratio:.1} the hungriest async runtime with the default stack, ×{small_ratio:.1} with {SMALL_STACK_KIB} KiB stacks \
             (≥ {MEMORY_RATIO_MIN} = much more; 95 % intervals of the slopes' ratio ×{} and ×{}); reserved address space is shown, not judged",
            ratio_default.text(1),
            ratio_small.text(1),
        ),
        thresholds,
        cell_commands: cell_commands.clone(),
        chart: None,
    }
}

/// "1,000,000" for 1000000.
fn thousands_separated(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

impl crate::claims::physics::Physical for MemoryFigures {
    /// Memory is never negative, and a parked thread's resident memory is
    /// part of its address space.
    fn check(&self) -> Result<(), String> {
        use crate::claims::physics::ensure;
        let series = [
            ("default-stack threads", &self.threads),
            ("small-stack threads", &self.small_stack),
        ]
        .into_iter()
        .chain(self.asyncs.iter().map(|(m, u)| (*m, u)));
        for (model, unit) in series {
            // A fitted slope may dip a little below zero in noise, never far.
            if let Some(kib) = unit.kib_per_unit {
                ensure(kib.is_finite() && kib > -1.0, || {
                    format!("{model}: {kib} KiB per unit")
                })?;
                if let Some(ci) = unit.kib_per_unit_ci {
                    ensure(ci.contains(kib), || {
                        format!("{model}: {kib} KiB per unit outside its interval {ci:?}")
                    })?;
                }
            }
            ensure(unit.peak_rss_kib.iter().all(|(_, kib)| *kib > 0), || {
                format!("{model}: a peak RSS of 0 KiB")
            })?;
        }
        if let Ok((virtual_kib, resident_kib, kernel_kib)) = self.parked {
            ensure(
                resident_kib >= 0.0 && kernel_kib >= 0.0 && resident_kib <= virtual_kib,
                || {
                    format!("a parked thread with {resident_kib:.0} KiB resident of {virtual_kib:.0} KiB address space")
                },
            )?;
        }
        Ok(())
    }
}

impl crate::claims::physics::Physical for ScaleFigures {
    /// Threads started never exceed those asked for; a finished cell had
    /// memory and at least one thread per thread-per-wait unit.
    fn check(&self) -> Result<(), String> {
        use crate::claims::physics::ensure;
        ensure(
            self.threads_reached.map_or(true, |n| n <= CEILING_ASK),
            || {
                format!(
                    "{:?} threads started of {CEILING_ASK} asked for",
                    self.threads_reached
                )
            },
        )?;
        for scale in [&self.million, &self.thousands] {
            ensure(!scale.finished || scale.peak_rss_kib > 0, || {
                format!("{} units finished with a peak RSS of 0 KiB", scale.tasks)
            })?;
        }
        ensure(
            !self.thousands.all_alive || self.thousands.peak_threads >= self.thousands.tasks,
            || {
                format!(
                    "{} threads all alive at once with a peak of {} threads",
                    self.thousands.tasks, self.thousands.peak_threads
                )
            },
        )?;
        for server in &self.servers {
            ensure(!server.held || server.peak_rss_kib > 0, || {
                format!("the {} server held its connections in 0 KiB", server.model)
            })?;
        }
        Ok(())
    }
}

/// What one scale cell showed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Scale {
    pub tasks: u64,
    /// The cell finished every unit.
    pub finished: bool,
    /// Why it did not, when it did not.
    pub error: Option<String>,
    pub wall_s: f64,
    pub peak_rss_kib: u64,
    pub peak_threads: u64,
    /// Every unit alive at the same moment (see `all_alive_at_once`).
    pub all_alive: bool,
}

impl Scale {
    fn of(record: &CellRecord) -> Scale {
        let finished = record.status == Status::Ok;
        Scale {
            tasks: record.tasks,
            finished,
            error: (!finished).then(|| {
                format!(
                    "{} ({})",
                    record.status.as_str(),
                    record.error.as_deref().unwrap_or("no detail")
                )
            }),
            wall_s: record.wall_ms.max / 1e3,
            peak_rss_kib: record.peak_rss_kib,
            peak_threads: record.peak_threads,
            all_alive: finished && crate::model::memory_rule().all_alive_at_once(record),
        }
    }

    fn mib(&self) -> f64 {
        self.peak_rss_kib as f64 / 1024.0
    }
}

/// How many threads a `threads` cell started before a limit stopped it, from
/// the error the model reports ("stopped before thread N of …", "the OS
/// refused thread N of …"); all of them when it finished.
fn threads_started(record: &CellRecord) -> Option<u64> {
    if record.status == Status::Ok {
        return Some(record.tasks);
    }
    started_before_refusal(record.error.as_deref()?)
}

/// The N − 1 of "… thread N of …" in a refusal.
fn started_before_refusal(error: &str) -> Option<u64> {
    error.match_indices("thread ").find_map(|(at, word)| {
        let rest = &error[at + word.len()..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let number = digits.parse::<u64>().ok()?;
        rest[digits.len()..]
            .starts_with(" of ")
            .then(|| number.saturating_sub(1))
    })
}

/// What scales-to-thousands measured.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ScaleFigures {
    /// tokio, a million waits (fewer in the quick budget: `tasks` says).
    pub million: Scale,
    /// Each of those waits, ms.
    pub async_wait_ms: f64,
    /// threads, ten thousand waits.
    pub thousands: Scale,
    /// Threads started when `CEILING_ASK` were asked for.
    pub threads_reached: Option<u64>,
    /// The ceiling computed from the OS limits before asking.
    pub ceiling: Option<ThreadCeiling>,
    /// A threads and a tokio HTTP server holding idle connections.
    pub servers: Vec<IdleServer>,
    pub cell_commands: Vec<String>,
}

fn scales_to_thousands(trials: &Trials) -> Trial {
    decide(measure_scale(trials), judge_scale)
}

/// The experiment: the three cells, one process each, and the ceiling the
/// limits allow, read just before the threads are asked for.
fn measure_scale(trials: &Trials) -> Result<ScaleFigures, Failure> {
    let mut commands = Vec::new();
    let mut cell = |model: &str, tasks: u64, wait_ms: f64| -> CellRecord {
        let spec = CellSpec {
            sleep_ms: wait_ms,
            ..trials.spec("sleep", model, tasks)
        };
        let record = trials.cell(spec, 1);
        commands.push(record.command.clone());
        record
    };
    let (async_waits, async_wait_ms) = match trials.budget() {
        super::Budget::Full => (MILLION, MILLION_WAIT_MS),
        super::Budget::Quick => (QUICK_ASYNC_WAITS, QUICK_ASYNC_WAIT_MS),
    };
    let million = cell(super::reference_async(), async_waits, async_wait_ms);
    let thousands = cell(super::thread_per_task(), THOUSANDS, THOUSANDS_WAIT_MS);
    let ceiling = limits::thread_ceiling(None);
    let asked = cell(super::thread_per_task(), CEILING_ASK, CEILING_WAIT_MS);
    Ok(ScaleFigures {
        million: Scale::of(&million),
        async_wait_ms,
        thousands: Scale::of(&thousands),
        threads_reached: threads_started(&asked),
        ceiling,
        servers: idle_servers(trials.cores),
        cell_commands: commands,
    })
}

/// The rule of scales-to-thousands, a pure function of the figures. The
/// claim has two halves: async handles a million (or as many as the budget
/// asked for) with little memory, and
/// threads do not handle thousands. Threads that handle ten thousand make
/// the second half false for thousands, so the verdict cannot be a plain
/// "holds" then: it says how far threads went and at what cost.
pub(crate) fn judge_scale(figures: &ScaleFigures) -> Trial {
    let ScaleFigures {
        million,
        async_wait_ms,
        thousands,
        threads_reached,
        ceiling,
        servers,
        cell_commands,
    } = figures;
    let async_waits = million.tasks;
    let async_words = format!(
        "tokio, {} waits of {:.0} s",
        thousands_separated(async_waits),
        async_wait_ms / 1e3
    );
    // The async half is measured or nothing is: a tokio cell that timed
    // out, was killed or refused says nothing about async's memory.
    if !million.finished {
        return Trial::not_measured(
            format!(
                "{async_words}: {}",
                million.error.as_deref().unwrap_or("did not finish")
            ),
            cell_commands.clone(),
        );
    }
    let async_kib_per_wait = million.peak_rss_kib as f64 / async_waits.max(1) as f64;
    let async_little = async_kib_per_wait <= ASYNC_KIB_PER_UNIT_MAX;
    let threads_thousands = thousands.finished && thousands.all_alive;
    let thread_kib_per_wait = thousands.peak_rss_kib as f64 / THOUSANDS as f64;
    let reached = threads_reached.unwrap_or(0);
    let ceiling_text = match ceiling {
        Some(c) => format!(
            "{} threads computed from the limits ({}; tightest: {})",
            c.threads, c.detail, c.limit
        ),
        None => "no limit readable".to_string(),
    };
    let agreement = ceiling.as_ref().and_then(|c| {
        threads_reached.map(|n| (n as f64 - c.threads as f64).abs() / (c.threads.max(1) as f64))
    });
    let describe = |scale: &Scale, what: &str| match &scale.error {
        None => format!(
            "{what}: done in {:.1} s, peak RSS {:.0} MiB, {} threads at the peak",
            scale.wall_s,
            scale.mib(),
            scale.peak_threads
        ),
        Some(error) => format!("{what}: {error}"),
    };
    let mut caveats = Vec::new();
    if async_little && !million.all_alive {
        caveats.push(format!(
            "starting {} tasks took longer than one {:.0} s wait here ({:.1} s in all), so not all were alive at once",
            thousands_separated(async_waits),
            async_wait_ms / 1e3,
            million.wall_s
        ));
    }
    if threads_thousands {
        caveats.push(format!(
            "for {}, not for thousands: threads handled {THOUSANDS} concurrent waits too ({:.0} MiB, {thread_kib_per_wait:.1} KiB per wait, \
             ×{:.0} tokio's {async_kib_per_wait:.2}); asked for {CEILING_ASK}, they stopped at {}",
            thousands_separated(async_waits),
            thousands.mib(),
            thread_kib_per_wait / async_kib_per_wait.max(1e-9),
            threads_reached.map_or("an unknown count".to_string(), |n| n.to_string())
        ));
    }
    let server = |model: &str| servers.iter().find(|s| s.model == model);
    if let (Some(threads_server), Some(async_server)) = (
        server(super::thread_per_task()),
        server(super::reference_async()),
    ) {
        if threads_server.held && async_server.held {
            caveats.push(format!(
                "a thread-per-connection HTTP server held {IDLE_SERVER_CONNECTIONS} mostly idle \
                 keep-alive connections too, with {:.0} MiB and {} threads against tokio's {:.0} MiB \
                 and {} threads",
                threads_server.peak_rss_kib as f64 / 1024.0,
                threads_server.threads,
                async_server.peak_rss_kib as f64 / 1024.0,
                async_server.threads
            ));
        }
    }
    let servers_text = if servers.is_empty() {
        String::new()
    } else {
        format!(
            "; HTTP servers holding {IDLE_SERVER_CONNECTIONS} mostly idle keep-alive connections: {}",
            servers
                .iter()
                .map(IdleServer::words)
                .collect::<Vec<_>>()
                .join("; ")
        )
    };
    // Threads cannot reach a million here: they are asked for
    // CEILING_ASK, and every OS limit stops them far sooner.
    let verdict = if !async_little {
        Verdict::DoesNotHold
    } else if caveats.is_empty() {
        Verdict::Holds
    } else {
        Verdict::HoldsWithACaveat
    };
    let mut figure_list = vec![
        figure(
            format!("tokio {} waits: peak RSS", thousands_separated(async_waits)),
            million.mib(),
            "MiB",
        ),
        figure("tokio KiB per wait", async_kib_per_wait, "KiB"),
        figure("threads 10,000 waits: peak RSS", thousands.mib(), "MiB"),
        figure("threads KiB per wait", thread_kib_per_wait, "KiB"),
        figure(
            "threads at the peak",
            thousands.peak_threads as f64,
            "count",
        ),
    ];
    if let Some(n) = threads_reached {
        figure_list.push(figure(
            format!("threads started when {CEILING_ASK} were asked for"),
            *n as f64,
            "count",
        ));
    }
    if let Some(c) = ceiling {
        figure_list.push(figure(
            "thread ceiling computed from the OS limits",
            c.threads as f64,
            "count",
        ));
    }
    for held in servers.iter().filter(|s| s.held) {
        figure_list.push(figure(
            format!(
                "{} server, {IDLE_SERVER_CONNECTIONS} connections: peak RSS",
                held.model
            ),
            held.peak_rss_kib as f64 / 1024.0,
            "MiB",
        ));
        figure_list.push(figure(
            format!(
                "{} server, {IDLE_SERVER_CONNECTIONS} connections: threads",
                held.model
            ),
            held.threads as f64,
            "count",
        ));
    }
    Trial {
        measured: format!(
            "{}; {}; threads asked for {CEILING_ASK} (waits of {:.0} s) started {}; ceiling: {ceiling_text}{servers_text}.",
            describe(million, &async_words),
            describe(thousands, "threads, 10,000 waits of 2 s"),
            CEILING_WAIT_MS / 1e3,
            threads_reached.map_or("an unknown count".to_string(), |n| n.to_string()),
        ),
        figures: figure_list,
        verdict,
        caveat: (!caveats.is_empty()).then(|| caveats.join("; ")),
        decided_by: format!(
            "tokio finished {} waits with {async_kib_per_wait:.2} KiB per wait (≤ {ASYNC_KIB_PER_UNIT_MAX} = little), all alive at once: {}; \
             threads {} {THOUSANDS} waits (all alive at once: the peak thread count) and reached {reached} of the {CEILING_ASK} asked for; \
             the computed ceiling {}",
            thousands_separated(async_waits),
            if million.all_alive { "yes" } else { "no" },
            if threads_thousands { "handled" } else { "did not handle" },
            match agreement {
                Some(gap) if gap <= CEILING_AGREEMENT_MAX =>
                    format!("agrees with where the threads stopped ({:.1} % apart, ≤ {:.0} %)", gap * 100.0, CEILING_AGREEMENT_MAX * 100.0),
                Some(gap) => format!("is {:.1} % from where the threads stopped (more than {:.0} %)", gap * 100.0, CEILING_AGREEMENT_MAX * 100.0),
                None => "could not be compared".to_string(),
            }
        ),
        thresholds: vec![
            threshold(
                "ASYNC_KIB_PER_UNIT_MAX",
                ASYNC_KIB_PER_UNIT_MAX,
                "peak RSS per async wait at most this (one page): little memory",
            ),
            threshold(
                "CEILING_AGREEMENT_MAX",
                CEILING_AGREEMENT_MAX,
                "the computed thread ceiling and where threads stopped differ by at most this fraction",
            ),
        ],
        cell_commands: cell_commands.clone(),
        chart: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::physics::possible;

    fn unit(kib_per_unit: Option<f64>) -> PerUnit {
        PerUnit {
            kib_per_unit,
            kib_per_unit_ci: kib_per_unit.map(|kib| Interval {
                low: kib * 0.99,
                high: kib * 1.01,
                method: IntervalMethod::Regression,
                coverage: 0.95,
            }),
            peak_rss_kib: vec![(500, 9_000), (1_000, 14_000), (2_000, 24_000)],
            not_alive: if kib_per_unit.is_none() {
                vec![2_000]
            } else {
                vec![]
            },
        }
    }

    /// Invented memory figures: threads' and small-stack threads' resident
    /// KiB per unit against tokio's 0.4 and smol's 0.3, a parked thread
    /// reserving 8,200 KiB and touching 10. Checked against physics.
    fn memory(threads: Option<f64>, small_stack: f64) -> MemoryFigures {
        possible(MemoryFigures {
            threads: unit(threads),
            small_stack: unit(Some(small_stack)),
            asyncs: vec![("tokio", unit(Some(0.4))), ("smol", unit(Some(0.3)))],
            parked: Ok((8_200.0, 10.0, 16.0)),
            cell_commands: vec![],
        })
    }

    #[test]
    fn threads_cost_memory_reaches_every_verdict_on_resident_memory() {
        let holds = judge_memory(&memory(Some(10.0), 9.0));
        assert_eq!(holds.verdict, Verdict::Holds);
        // The reservation is shown, never a caveat: it is always there.
        assert!(
            holds.measured.contains("8200 KiB of address space"),
            "{}",
            holds.measured
        );
        let small = judge_memory(&memory(Some(10.0), 1.2));
        assert_eq!(small.verdict, Verdict::HoldsWithACaveat);
        let caveat = small.caveat.unwrap();
        assert!(
            caveat.starts_with("only with the default stack"),
            "{caveat}"
        );
        assert_eq!(
            judge_memory(&memory(Some(1.0), 1.0)).verdict,
            Verdict::DoesNotHold
        );
        let unfit = judge_memory(&memory(None, 9.0));
        assert_eq!(unfit.verdict, Verdict::NotMeasured);
        assert!(unfit.decided_by.contains("every unit was alive"));
    }

    #[test]
    fn a_memory_ratio_whose_interval_straddles_much_more_is_too_close_to_call() {
        // Threads 1.6 KiB per unit, tokio's 0.4: ×4, the slopes ±20 %.
        let mut close = memory(Some(1.6), 1.6);
        for unit in [&mut close.threads, &mut close.small_stack] {
            unit.kib_per_unit_ci = Some(Interval {
                low: 1.3,
                high: 1.9,
                method: IntervalMethod::Regression,
                coverage: 0.95,
            });
        }
        let trial = judge_memory(&possible(close));
        assert_eq!(trial.verdict, Verdict::TooCloseToCall);
        assert!(
            trial.decided_by.contains("straddles 4.0"),
            "{}",
            trial.decided_by
        );
    }

    #[test]
    fn a_thread_more_resident_than_its_address_space_is_impossible() {
        let mut figures = memory(Some(10.0), 9.0);
        figures.parked = Ok((8.0, 10.0, 16.0));
        let trial = decide(Ok(figures), judge_memory);
        assert_eq!(trial.verdict, Verdict::NotMeasured);
        assert!(trial.decided_by.contains("physically impossible"));
    }

    fn scale(tasks: u64, finished: bool, peak_rss_kib: u64) -> Scale {
        Scale {
            tasks,
            finished,
            error: (!finished).then(|| "failed (refused)".to_string()),
            wall_s: 2.5,
            peak_rss_kib,
            peak_threads: if finished { tasks + 1 } else { 0 },
            all_alive: finished,
        }
    }

    fn scale_figures(async_rss_kib: u64, threads_finished: bool, reached: u64) -> ScaleFigures {
        possible(ScaleFigures {
            million: scale(MILLION, true, async_rss_kib),
            async_wait_ms: MILLION_WAIT_MS,
            thousands: scale(THOUSANDS, threads_finished, 100_000),
            threads_reached: Some(reached),
            ceiling: Some(ThreadCeiling {
                threads: 16_300,
                limit: "vm.max_map_count",
                detail: "vm.max_map_count 16300, kernel.pid_max 32000".into(),
            }),
            servers: Vec::new(),
            cell_commands: vec![],
        })
    }

    fn idle_server(model: &str, held: bool, peak_rss_kib: u64, threads: u64) -> IdleServer {
        IdleServer {
            model: model.into(),
            held,
            failure: (!held).then(|| "only 5000 of 10000 connections were open".to_string()),
            peak_rss_kib,
            threads,
        }
    }

    #[test]
    fn a_threads_server_holding_ten_thousand_connections_is_a_caveat_with_its_cost() {
        let mut figures = scale_figures(600_000, false, 3_000);
        figures.servers = vec![
            idle_server("threads", true, 112_640, 10_002),
            idle_server("tokio", true, 30_720, 4),
        ];
        let trial = judge_scale(&figures);
        assert_eq!(trial.verdict, Verdict::HoldsWithACaveat);
        let caveat = trial.caveat.unwrap();
        assert!(
            caveat.contains("110 MiB and 10002 threads against tokio's 30 MiB and 4 threads"),
            "{caveat}"
        );
        // A threads server that could not hold them leaves a plain verdict,
        // and the measurement says why.
        figures.servers[0] = idle_server("threads", false, 60_000, 5_000);
        let trial = judge_scale(&figures);
        assert_eq!(trial.verdict, Verdict::Holds);
        assert!(
            trial.measured.contains("threads could not: only 5000"),
            "{}",
            trial.measured
        );
    }

    #[test]
    fn threads_that_handle_thousands_keep_scales_to_thousands_from_a_plain_holds() {
        let trial = judge_scale(&scale_figures(600_000, true, 16_250));
        assert_eq!(trial.verdict, Verdict::HoldsWithACaveat);
        let caveat = trial.caveat.unwrap();
        assert!(
            caveat.starts_with("for 1,000,000, not for thousands"),
            "{caveat}"
        );
        assert!(caveat.contains("stopped at 16250"), "{caveat}");
        assert!(!caveat.contains("far more"));
        assert!(trial
            .decided_by
            .contains("agrees with where the threads stopped"));
    }

    #[test]
    fn scales_to_thousands_reaches_holds_and_does_not_hold() {
        assert_eq!(
            judge_scale(&scale_figures(600_000, false, 3_000)).verdict,
            Verdict::Holds
        );
        // A million async waits over a page each: not "little memory".
        assert_eq!(
            judge_scale(&scale_figures(8_000_000, false, 3_000)).verdict,
            Verdict::DoesNotHold
        );
        // Threads handling thousands keep it from a plain "holds"; they
        // cannot reach a million: only CEILING_ASK are asked for.
        let mut impossible = scale_figures(600_000, true, 16_000);
        impossible.threads_reached = Some(MILLION);
        assert!(crate::claims::physics::Physical::check(&impossible).is_err());
        let far = judge_scale(&scale_figures(600_000, true, 12_000));
        assert!(
            far.decided_by.contains("more than 5 %"),
            "{}",
            far.decided_by
        );
    }

    #[test]
    fn a_tokio_cell_that_timed_out_or_was_killed_is_not_measured_with_the_reason() {
        let mut figures = scale_figures(600_000, false, 3_000);
        figures.million = Scale {
            error: Some("timeout (killed after 60 s)".into()),
            ..scale(MILLION, false, 0)
        };
        let trial = judge_scale(&possible(figures));
        assert_eq!(trial.verdict, Verdict::NotMeasured);
        assert!(
            trial.decided_by.contains("timeout (killed after 60 s)"),
            "{}",
            trial.decided_by
        );
    }

    #[test]
    fn the_quick_budget_states_how_many_async_waits_it_measured() {
        let mut figures = scale_figures(60_000, false, 3_000);
        figures.million = scale(QUICK_ASYNC_WAITS, true, 60_000);
        figures.async_wait_ms = QUICK_ASYNC_WAIT_MS;
        let trial = judge_scale(&possible(figures));
        assert_eq!(trial.verdict, Verdict::Holds);
        assert!(
            trial.measured.contains("tokio, 100,000 waits of 2 s"),
            "{}",
            trial.measured
        );
    }

    #[test]
    fn threads_started_is_read_from_the_models_refusal() {
        assert_eq!(
            started_before_refusal(
                "stopped before thread 16301 of 200000: vm.max_map_count reached; 16300 threads had started (all were joined)"
            ),
            Some(16_300)
        );
        assert_eq!(
            started_before_refusal("the OS refused thread 9001 of 200000: EAGAIN"),
            Some(9_000)
        );
        assert_eq!(started_before_refusal("timeout"), None);
        assert_eq!(
            started_before_refusal("a thread panicked; the OS refused thread 12 of 30: EAGAIN"),
            Some(11)
        );
    }
}
