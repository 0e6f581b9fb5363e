//! Two claims about what concurrency costs in memory, measured with the
//! lab's `sleep` cells (each repeat in its own process, peak RSS = VmHWM).
//!
//! - threads-cost-memory: memory per unit is the slope of peak RSS against
//!   the number of waiting units (a line through two sizes), so the fixed
//!   cost of the binary and the runtime drops out. Threads are measured with
//!   the platform's default stack and with 64 KiB stacks. A thread's stack
//!   is *reserved* (virtual) up front but only the pages it touches become
//!   resident, and the kernel keeps a kernel stack per thread that RSS never
//!   shows; both are measured in this process with a few hundred parked
//!   threads (VmSize from /proc/self/status, KernelStack from /proc/meminfo —
//!   a system-wide counter, so other processes can add noise).
//! - scales-to-thousands: a million concurrent waits on tokio, ten thousand
//!   on threads. Each wait lasts longer than it takes to start them all, so
//!   all are alive at once (for threads the peak thread count proves it).
//!   The OS ceiling for threads is read from /proc, not pushed to: reaching
//!   it on a shared machine would leave other processes without pids.

use super::{figure, median_ms, threshold, Claim, Trial, Trials, Verdict};
use crate::cell::CellSpec;
use crate::measure::ProcStatus;
use crate::result::{CellRecord, Status};
use crate::stats;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

pub const THREADS_COST_MEMORY: Claim = Claim {
    id: "threads-cost-memory",
    claim: "Threads use much more memory than async tasks.",
    experiment: "Peak RSS of 500 and 2,000 waiting threads (default and 64 KiB stacks) vs 10,000 and 100,000 waiting tasks on tokio, smol and async-std: KiB per unit; plus virtual and kernel memory per thread.",
    run: threads_cost_memory,
};

pub const SCALES_TO_THOUSANDS: Claim = Claim {
    id: "scales-to-thousands",
    claim: "Async handles thousands, even a million, concurrent waits with little memory; threads do not.",
    experiment: "1,000,000 concurrent 5 s waits on tokio and 10,000 concurrent 2 s waits on threads: did they finish, at what peak RSS; the OS limits on threads.",
    run: scales_to_thousands,
};

/// Wait per unit in the memory cells, ms: longer than starting 2,000
/// threads or 100,000 tasks takes, so every unit is alive at the peak.
const MEMORY_WAIT_MS: f64 = 500.0;
const THREAD_COUNTS: [u64; 2] = [500, 2_000];
const TASK_COUNTS: [u64; 2] = [10_000, 100_000];
const SMALL_STACK_KIB: usize = 64;
/// Parked threads for the virtual and kernel memory measurement.
const PARKED_THREADS: usize = 500;
/// "Much more memory": thread KiB per unit at least this many times the
/// largest async runtime's.
pub const MEMORY_RATIO_MIN: f64 = 4.0;
/// Resident memory per thread at most this fraction of its reserved
/// (virtual) stack: "a thread's stack costs its full size" overstates.
pub const RESIDENT_OF_VIRTUAL_MAX: f64 = 0.5;

const MILLION: u64 = 1_000_000;
const MILLION_WAIT_MS: f64 = 5_000.0;
const THOUSANDS: u64 = 10_000;
const THOUSANDS_WAIT_MS: f64 = 2_000.0;
/// "Little memory" per async task: at most one 4 KiB page.
pub const ASYNC_KIB_PER_UNIT_MAX: f64 = 4.0;

/// Memory per unit from two or more cells: the slope, KiB per unit.
struct PerUnit {
    kib_per_unit: f64,
    all_alive: bool,
    peak_rss_kib: Vec<(u64, u64)>,
}

fn per_unit(
    trials: &Trials,
    model: &str,
    counts: &[u64],
    stack_kib: Option<usize>,
    commands: &mut Vec<String>,
) -> Result<PerUnit, String> {
    let mut points = Vec::new();
    let mut all_alive = true;
    let mut peaks = Vec::new();
    for &tasks in counts {
        let spec = CellSpec {
            sleep_ms: MEMORY_WAIT_MS,
            stack_kib,
            ..trials.spec("sleep", model, tasks)
        };
        let record = trials.cell(spec, 1);
        commands.push(record.command.clone());
        median_ms(&record)?;
        if !all_alive_at_once(&record) {
            all_alive = false;
        }
        points.push((tasks as f64, record.peak_rss_kib as f64));
        peaks.push((tasks, record.peak_rss_kib));
    }
    let fit = stats::linear_fit(&points).ok_or("fewer than two sizes measured")?;
    Ok(PerUnit {
        kib_per_unit: fit.slope,
        all_alive,
        peak_rss_kib: peaks,
    })
}

/// Whether every unit of a `sleep` cell was alive at the same moment.
///
/// For threads the peak thread count shows it. For tasks: each task ends
/// one wait after it started, so if the whole run took less than two waits,
/// the last task started before the first one could end.
fn all_alive_at_once(record: &CellRecord) -> bool {
    if record.model == "threads" {
        record.peak_threads >= record.tasks
    } else {
        record.wall_ms.max < 2.0 * record.sleep_ms
    }
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

fn threads_cost_memory(trials: &Trials) -> Trial {
    let mut commands = Vec::new();
    let mut measure = |model: &str, counts: &[u64], stack: Option<usize>| {
        per_unit(trials, model, counts, stack, &mut commands)
    };
    let threads = measure("threads", &THREAD_COUNTS, None);
    let small = measure("threads", &THREAD_COUNTS, Some(SMALL_STACK_KIB));
    let asyncs: Vec<(&str, Result<PerUnit, String>)> = ["tokio", "smol", "async-std"]
        .into_iter()
        .map(|m| (m, measure(m, &TASK_COUNTS, None)))
        .collect();
    let (threads, small) = match (threads, small) {
        (Ok(t), Ok(s)) => (t, s),
        (Err(e), _) | (_, Err(e)) => return Trial::not_measured(e, commands),
    };
    let mut async_units = Vec::new();
    for (model, outcome) in asyncs {
        match outcome {
            Ok(unit) => async_units.push((model, unit)),
            Err(error) => return Trial::not_measured(error, commands),
        }
    }
    let costs = parked_thread_costs();
    let largest_async = async_units
        .iter()
        .map(|(_, u)| u.kib_per_unit)
        .fold(f64::MIN, f64::max)
        .max(0.01);
    let ratio = threads.kib_per_unit / largest_async;

    let mut caveats = Vec::new();
    let mut figures = vec![
        figure(
            "threads (default stack) KiB per unit",
            threads.kib_per_unit,
            "KiB",
        ),
        figure(
            format!("threads ({SMALL_STACK_KIB} KiB stack) KiB per unit"),
            small.kib_per_unit,
            "KiB",
        ),
    ];
    for (model, unit) in &async_units {
        figures.push(figure(
            format!("{model} KiB per unit"),
            unit.kib_per_unit,
            "KiB",
        ));
    }
    let extra = match &costs {
        Ok((virtual_kib, resident_kib, kernel_kib)) => {
            figures.push(figure("parked thread: address space", *virtual_kib, "KiB"));
            figures.push(figure("parked thread: resident", *resident_kib, "KiB"));
            figures.push(figure("parked thread: kernel stack", *kernel_kib, "KiB"));
            if threads.kib_per_unit <= RESIDENT_OF_VIRTUAL_MAX * virtual_kib {
                caveats.push(format!(
                    "a thread's stack is reserved, not resident: {virtual_kib:.0} KiB of address space but {:.0} KiB resident per waiting thread, \
                     and a {SMALL_STACK_KIB} KiB stack changes little ({:.0} KiB); the kernel adds about {kernel_kib:.0} KiB per thread that RSS does not show",
                    threads.kib_per_unit, small.kib_per_unit
                ));
            }
            format!(
                " A parked thread: {virtual_kib:.0} KiB of address space (stack reservation, malloc arenas), {resident_kib:.0} KiB resident, {kernel_kib:.0} KiB kernel stack (outside RSS)."
            )
        }
        Err(error) => format!(" Virtual/kernel memory not measured: {error}."),
    };
    let not_alive: Vec<&str> = [("threads", &threads), ("threads (small stack)", &small)]
        .into_iter()
        .chain(async_units.iter().map(|(m, u)| (*m, u)))
        .filter(|(_, u)| !u.all_alive)
        .map(|(m, _)| m)
        .collect();
    if !not_alive.is_empty() {
        caveats.push(format!(
            "not every unit was alive at the peak for {} (starting them outlasted the {MEMORY_WAIT_MS:.0} ms wait), so their KiB per unit is understated",
            not_alive.join(", ")
        ));
    }
    let verdict = match (ratio >= MEMORY_RATIO_MIN, caveats.is_empty()) {
        (false, _) => Verdict::DoesNotHold,
        (true, true) => Verdict::Holds,
        (true, false) => Verdict::HoldsWithACaveat,
    };
    let peaks = |unit: &PerUnit| {
        unit.peak_rss_kib
            .iter()
            .map(|(n, kib)| format!("{n}: {:.1} MiB", *kib as f64 / 1024.0))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Trial {
        measured: format!(
            "KiB per waiting unit (slope of peak RSS): threads {:.1} (peaks {}), threads {SMALL_STACK_KIB} KiB stack {:.1}, {}.{extra}",
            threads.kib_per_unit,
            peaks(&threads),
            small.kib_per_unit,
            async_units
                .iter()
                .map(|(m, u)| format!("{m} {:.2} (peaks {})", u.kib_per_unit, peaks(u)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        figures,
        verdict,
        caveat: (!caveats.is_empty()).then(|| caveats.join("; ")),
        decided_by: format!(
            "threads use ×{ratio:.0} the KiB per unit of the hungriest async runtime (≥ {MEMORY_RATIO_MIN} = much more); \
             resident vs {RESIDENT_OF_VIRTUAL_MAX} × virtual per thread decides the caveat"
        ),
        thresholds: vec![
            threshold(
                "MEMORY_RATIO_MIN",
                MEMORY_RATIO_MIN,
                "threads' KiB per unit ≥ this × async's: much more memory",
            ),
            threshold(
                "RESIDENT_OF_VIRTUAL_MAX",
                RESIDENT_OF_VIRTUAL_MAX,
                "resident ≤ this × virtual per thread: the stack is mostly reserved, not used",
            ),
        ],
        cell_commands: commands,
        chart: None,
    }
}

fn read_limit(path: &str) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn scales_to_thousands(trials: &Trials) -> Trial {
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
    let million = cell("tokio", MILLION, MILLION_WAIT_MS);
    let thousands = cell("threads", THOUSANDS, THOUSANDS_WAIT_MS);

    let pid_max = read_limit("/proc/sys/kernel/pid_max");
    let threads_max = read_limit("/proc/sys/kernel/threads-max");
    // Each thread stack is a mapping plus a guard page: two map entries.
    let map_limit = read_limit("/proc/sys/vm/max_map_count").map(|n| n / 2);
    let ceiling = [pid_max, threads_max, map_limit]
        .into_iter()
        .flatten()
        .min();
    let limits = format!(
        "pid_max {}, threads-max {}, max_map_count/2 {}",
        pid_max.map_or("?".into(), |v| v.to_string()),
        threads_max.map_or("?".into(), |v| v.to_string()),
        map_limit.map_or("?".into(), |v| v.to_string())
    );

    let mib = |record: &CellRecord| record.peak_rss_kib as f64 / 1024.0;
    let async_ok = million.status == Status::Ok;
    let async_kib_per_unit = million.peak_rss_kib as f64 / MILLION as f64;
    let async_little = async_ok && async_kib_per_unit <= ASYNC_KIB_PER_UNIT_MAX;
    let async_at_once = async_ok && all_alive_at_once(&million);
    let threads_ok = thousands.status == Status::Ok && all_alive_at_once(&thousands);
    let describe = |record: &CellRecord, what: &str| match record.status {
        Status::Ok => format!(
            "{what}: done in {:.1} s, peak RSS {:.0} MiB, {} threads at the peak",
            record.wall_ms.median / 1e3,
            mib(record),
            record.peak_threads
        ),
        _ => format!(
            "{what}: {} ({})",
            record.status.as_str(),
            record.error.as_deref().unwrap_or("no detail")
        ),
    };
    let mut caveats = Vec::new();
    if threads_ok {
        caveats.push(format!(
            "threads handle thousands too: {THOUSANDS} concurrent waits took {:.0} MiB ({:.0} KiB each); they stop at the OS \
             ceiling, here about {} threads ({limits}; read from /proc, not pushed to), and cost far more memory per wait",
            mib(&thousands),
            thousands.peak_rss_kib as f64 / THOUSANDS as f64,
            ceiling.map_or("?".into(), |c| c.to_string())
        ));
    }
    if async_little && !async_at_once {
        caveats.push(format!(
            "starting a million tasks took longer than one {:.0} s wait here ({:.1} s in all), so not all were alive at once",
            MILLION_WAIT_MS / 1e3,
            million.wall_ms.max / 1e3
        ));
    }
    let verdict = match (async_little, caveats.is_empty()) {
        (false, _) => Verdict::DoesNotHold,
        (true, true) => Verdict::Holds,
        (true, false) => Verdict::HoldsWithACaveat,
    };
    let caveat = (!caveats.is_empty()).then(|| caveats.join("; "));
    let mut figures = vec![
        figure("tokio 1,000,000 waits: peak RSS", mib(&million), "MiB"),
        figure("tokio KiB per wait", async_kib_per_unit, "KiB"),
        figure("threads 10,000 waits: peak RSS", mib(&thousands), "MiB"),
        figure(
            "threads at the peak",
            thousands.peak_threads as f64,
            "count",
        ),
    ];
    if let Some(ceiling) = ceiling {
        figures.push(figure(
            "OS thread ceiling (from /proc)",
            ceiling as f64,
            "count",
        ));
    }
    Trial {
        measured: format!(
            "{}; {}. OS limits: {limits}.",
            describe(&million, "tokio, 1,000,000 waits of 5 s"),
            describe(&thousands, "threads, 10,000 waits of 2 s")
        ),
        figures,
        verdict,
        caveat,
        decided_by: format!(
            "tokio {} with {async_kib_per_unit:.2} KiB per wait (≤ {ASYNC_KIB_PER_UNIT_MAX} = little), all alive at once: {}; threads {} {THOUSANDS} concurrent waits \
             (alive at once: the run took < 2 waits, or the peak thread count)",
            if async_ok { "finished" } else { "did not finish" },
            if async_at_once { "yes" } else { "no" },
            if threads_ok { "held" } else { "did not hold" }
        ),
        thresholds: vec![threshold(
            "ASYNC_KIB_PER_UNIT_MAX",
            ASYNC_KIB_PER_UNIT_MAX,
            "peak RSS per async wait at most this (one page): little memory",
        )],
        cell_commands: commands,
        chart: None,
    }
}
