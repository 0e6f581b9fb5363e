//! Three claims about CPU-bound work, answered by the same lab cells: four
//! jobs of 10 ms of computation per usable logical CPU, run sequentially, on
//! a single-threaded executor, on multi-thread async runtimes, on threads
//! and on rayon.
//!
//! - async-not-for-cpu: does async speed CPU work up?
//! - concurrency-is-not-parallelism: do tasks on one thread overlap at all?
//!   (The same executor overlaps *waits* perfectly: that is concurrency.)
//! - threads-for-cpu: do threads give a speedup that grows with the cores?
//!
//! Speedup is the sequential median wall divided by the model's. The work
//! and the bar for "parallel" are functions of the machine
//! ([`CpuTopology`]): the jobs grow with the logical CPUs, the bar stands on
//! physical cores (hyperthreads share a core), and no speedup may exceed
//! the usable CPUs. With one usable core nothing can run in parallel: the
//! claim that needs parallelism says "not measured" rather than "does not
//! hold".

use super::machine::{CpuTopology, PARALLEL_FRACTION};
use super::physics::{self, ensure, Physical};
use super::precision::{self, unanimous, Estimate};
use super::{decide, figure, median_ms, threshold, Claim, Failure, Trial, Trials, Verdict};
use crate::stats::interval::Side;

pub const ASYNC_NOT_FOR_CPU: Claim = Claim {
    id: "async-not-for-cpu",
    claim: "Async gives no speedup for CPU-bound work; use threads or processes instead.",
    demonstrates: Some(
        "a one-thread executor keeps at most one core busy, and a multi-thread runtime computes on its worker threads like any thread pool, so the answer is fixed by construction (one thread: no speedup; several: the threads' speedup); the run shows both speedups against the cores",
    ),
    experiment: "4 jobs × 10 ms of compute per usable CPU: sequential vs tokio current-thread, tokio and smol multi-thread, threads, rayon; speedup vs physical cores.",
    run: async_not_for_cpu,
};

pub const CONCURRENCY_IS_NOT_PARALLELISM: Claim = Claim {
    id: "concurrency-is-not-parallelism",
    claim: "Coroutines on an event loop run in parallel.",
    demonstrates: Some(
        "one thread can keep at most one core busy, so CPU jobs on a one-thread executor run one at a time by construction; the run shows it (cores kept busy ≈ 1) next to waits on the same thread, which do overlap",
    ),
    experiment: "The same CPU jobs (4 per usable CPU) on one-thread tokio vs sequential (do they overlap?), and as many waits of 50 ms on the same executor (they do).",
    run: concurrency_is_not_parallelism,
};

pub const THREADS_FOR_CPU: Claim = Claim {
    id: "threads-for-cpu",
    claim: "Threads are the right tool for CPU-bound work (Python's GIL aside).",
    demonstrates: None,
    experiment: "The same CPU jobs (4 per usable CPU): one thread (sequential) vs a thread per job, a fixed pool and rayon; speedup vs physical cores (not measured on one usable core).",
    run: threads_for_cpu,
};

/// Compute per job, µs.
const JOB_US: f64 = 10_000.0;
/// Waits for the concurrency half of concurrency-is-not-parallelism.
const WAIT_MS: f64 = 50.0;
/// A speedup below this is "no speedup" (noise on a shared machine reaches
/// about 10–20%).
pub const NO_SPEEDUP_MAX: f64 = 1.25;

/// The sequential run may take at most this many times its calibrated
/// compute (jobs × µs per job). Beyond it, other processes were using the
/// cores, a speedup cannot be judged, and the claims that need free cores
/// report "not measured" with the numbers they saw.
pub const CONTENTION_MAX: f64 = 1.5;
/// No model can beat sequential by more than the cores; beyond this many
/// times the cores, the sequential baseline was disturbed.
pub const IMPOSSIBLE_SPEEDUP_SLACK: f64 = 1.15;

/// How long each thread spins when measuring how many cores are free.
const CAPACITY_PROBE: std::time::Duration = std::time::Duration::from_millis(50);
/// The cores this process actually got, as a fraction of the cores it may
/// use, must be at least this to judge a parallel speedup.
pub const FREE_CORES_MIN_FRACTION: f64 = 0.8;

/// CPU time of the calling thread.
fn thread_cpu_time() -> std::time::Duration {
    // SAFETY: clock_gettime writes into the timespec we own.
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    std::time::Duration::new(now.tv_sec.max(0) as u64, now.tv_nsec.max(0) as u32)
}

/// How many cores this process gets right now: one spinning thread per
/// core for `CAPACITY_PROBE`, their CPU time summed over the wall time. On
/// an idle machine it equals the cores; other busy processes take a share.
fn free_cores(cores: usize) -> f64 {
    let barrier = std::sync::Barrier::new(cores + 1);
    let cpu_seconds: f64 = std::thread::scope(|scope| {
        let spinners: Vec<_> = (0..cores)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    let cpu_before = thread_cpu_time();
                    let start = std::time::Instant::now();
                    while start.elapsed() < CAPACITY_PROBE {
                        std::hint::black_box(crate::workload::compute::spin(1_000));
                    }
                    (thread_cpu_time() - cpu_before).as_secs_f64() / start.elapsed().as_secs_f64()
                })
            })
            .collect();
        barrier.wait();
        spinners.into_iter().map(|s| s.join().unwrap_or(0.0)).sum()
    });
    cpu_seconds
}

fn cpu_thresholds(machine: &CpuTopology) -> Vec<super::Threshold> {
    vec![
        threshold(
            "NO_SPEEDUP_MAX",
            NO_SPEEDUP_MAX,
            "a speedup below this is no speedup",
        ),
        threshold(
            "PARALLEL_FRACTION",
            PARALLEL_FRACTION,
            &format!(
                "parallel means a speedup of at least 1 + this × (physical cores − 1) = {:.2} on {} usable physical core(s)",
                machine.parallel_bar(),
                machine.usable_cores
            ),
        ),
        threshold(
            "CPU_JOBS",
            machine.cpu_jobs() as f64,
            &format!(
                "jobs of {:.0} ms per cell: {} per usable logical CPU × {}",
                JOB_US / 1e3,
                super::machine::JOBS_PER_CPU,
                machine.usable_logical
            ),
        ),
    ]
}

/// The figures of the CPU cells: median walls by model, cores busy, the
/// load around them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CpuCells {
    /// The machine the cells ran on.
    machine: CpuTopology,
    /// CPU jobs per cell ([`CpuTopology::cpu_jobs`]).
    jobs: u64,
    /// The 1-minute load average when the cells were measured.
    load_average: f64,
    /// Cores left for the cells: the cores minus the most other programs
    /// used during any cell (per-repeat accounting, `busy.rs`); the mean of
    /// a probe before and after only where the cells carry no accounting.
    free_cores: f64,
    /// Cells marked disturbed by outside load, with the cores other
    /// programs used during them: no speedup is judged from them.
    disturbed: Vec<(&'static str, f64)>,
    sequential_ms: f64,
    by_model: Vec<(&'static str, f64)>,
    /// Every repeat's wall, ms, of the sequential run and of each model:
    /// the speedups' intervals come from these.
    walls: Vec<(&'static str, Vec<f64>)>,
    /// Cores kept busy on average, by model: (user + sys CPU time) / wall
    /// of the median repeat. One thread can never exceed 1.
    cores_busy: Vec<(&'static str, f64)>,
    commands: Vec<String>,
}

impl CpuCells {
    /// Sequential wall over its calibrated compute: 1.0 on free cores.
    fn contention(&self) -> f64 {
        self.sequential_ms / self.compute_ms()
    }

    /// The calibrated compute of one cell: jobs × the compute per job, ms.
    fn compute_ms(&self) -> f64 {
        self.jobs as f64 * JOB_US / 1e3
    }

    /// Logical CPUs this process may use.
    fn cores(&self) -> usize {
        self.machine.usable_logical
    }

    /// A "not measured" trial when the cores were busy, keeping the numbers.
    fn busy(&self, thresholds: Vec<super::Threshold>) -> Option<Trial> {
        if let Some(trial) = self.disturbed_trial(thresholds.clone()) {
            return Some(trial);
        }
        let contention = self.contention();
        let free_fraction = self.free_cores / self.cores() as f64;
        if contention <= CONTENTION_MAX && free_fraction >= FREE_CORES_MIN_FRACTION {
            return None;
        }
        let (measured, figures) = speedup_figures(self);
        let mut thresholds = thresholds;
        thresholds.push(threshold(
            "CONTENTION_MAX",
            CONTENTION_MAX,
            "sequential wall ≤ this × its calibrated compute: the cores were free enough to judge a speedup",
        ));
        thresholds.push(threshold(
            "FREE_CORES_MIN_FRACTION",
            FREE_CORES_MIN_FRACTION,
            "cores this process got ≥ this × its cores: free enough to judge a speedup",
        ));
        Some(Trial {
            measured,
            figures,
            verdict: Verdict::NotMeasured,
            caveat: None,
            decided_by: format!(
                "the cores were busy with other work: this process got {:.1} of the {} core(s) it may use (judging needs {:.1}) \
                 and the sequential run took ×{contention:.1} its calibrated {:.0} ms (judging needs ≤ ×{CONTENTION_MAX}; load average {:.1}), \
                 so speedups say more about the load than about the model — rerun on a quiet machine",
                self.free_cores,
                self.cores(),
                FREE_CORES_MIN_FRACTION * self.cores() as f64,
                self.compute_ms(),
                self.load_average,
            ),
            thresholds,
            cell_commands: self.commands.clone(),
            chart: None,
        })
    }

    /// A "not measured" trial when a cell was disturbed by outside load
    /// (its repeats were retried and still disturbed), keeping the numbers.
    fn disturbed_trial(&self, thresholds: Vec<super::Threshold>) -> Option<Trial> {
        if self.disturbed.is_empty() {
            return None;
        }
        let most = self
            .disturbed
            .iter()
            .map(|(_, cores)| *cores)
            .fold(0.0, f64::max);
        let models: Vec<&str> = self.disturbed.iter().map(|(m, _)| *m).collect();
        let (measured, figures) = speedup_figures(self);
        Some(Trial {
            measured,
            figures,
            verdict: Verdict::NotMeasured,
            caveat: None,
            decided_by: format!(
                "not judged: other programs used up to {most:.2} cores during these cells ({}) — \
                 rerun on a quiet machine",
                models.join(", ")
            ),
            thresholds,
            cell_commands: self.commands.clone(),
            chart: None,
        })
    }

    /// Cores `model` kept busy on average.
    fn cores_busy(&self, model: &str) -> f64 {
        self.cores_busy
            .iter()
            .find(|(m, _)| *m == model)
            .map_or(0.0, |(_, busy)| *busy)
    }

    /// `model`'s speedup with its 95 % interval (a bootstrap over the
    /// sequential repeats and the model's).
    fn speedup_estimate(&self, model: &str) -> Estimate {
        let walls = |name: &str| {
            self.walls
                .iter()
                .find(|(m, _)| *m == name)
                .map(|(_, walls)| walls.clone())
                .unwrap_or_default()
        };
        Estimate::ratio(&walls("sequential"), &walls(model))
            .unwrap_or_else(|| Estimate::exact(self.speedup(model)))
    }

    /// "Too close to call" with the speedups, naming each model whose
    /// interval straddles its line.
    fn too_close(&self, lines: &[(&str, f64)], estimates: &[Estimate], sides: &[Side]) -> Trial {
        let (measured, figures) = speedup_figures(self);
        precision::too_close(
            measured,
            figures,
            &straddling(lines, estimates, sides),
            self.repeats(),
            cpu_thresholds(&self.machine),
            self.commands.clone(),
        )
    }

    /// How many repeats the speedups rest on (the fewest of any cell).
    fn repeats(&self) -> usize {
        self.walls
            .iter()
            .map(|(_, walls)| walls.len())
            .min()
            .unwrap_or(0)
    }

    fn speedup(&self, model: &str) -> f64 {
        self.by_model
            .iter()
            .find(|(m, _)| *m == model)
            .map_or(0.0, |(_, ms)| self.sequential_ms / ms)
    }
}

impl Physical for CpuCells {
    /// The sequential run takes at least its calibrated compute; no model
    /// beats it by more than the usable CPUs (beyond that, the sequential
    /// baseline was slowed by other work); no model keeps more CPUs busy
    /// than the process may use.
    fn check(&self) -> Result<(), String> {
        let least = self.compute_ms() * (1.0 - physics::CALIBRATION_ERROR);
        physics::ensure_at_least("the sequential run", self.sequential_ms, least)?;
        let cpus = self.machine.speedup_limit();
        for (model, ms) in &self.by_model {
            physics::ensure_wall(model, *ms)?;
            let speedup = self.speedup(model);
            let limit = IMPOSSIBLE_SPEEDUP_SLACK * cpus;
            ensure(speedup <= limit, || {
                format!(
                    "{model} ran ×{speedup:.2} faster than sequential on {} usable CPU(s) (more than ×{limit:.2} is impossible): \
                     the sequential run was slowed by other work — rerun on a quieter machine",
                    self.machine.usable_logical
                )
            })?;
        }
        for (model, busy) in &self.cores_busy {
            ensure(
                *busy >= 0.0 && *busy <= IMPOSSIBLE_SPEEDUP_SLACK * cpus,
                || format!("{model} kept {busy:.2} CPUs busy of the {cpus} it may use"),
            )?;
        }
        ensure(
            self.free_cores >= 0.0 && self.free_cores <= IMPOSSIBLE_SPEEDUP_SLACK * cpus,
            || format!("{:.2} free cores of {cpus}", self.free_cores),
        )
    }
}

/// The experiment shared by the three claims: the CPU cells, with a probe
/// of the free cores before and after.
fn cpu_cells(trials: &Trials, models: &[&'static str]) -> Result<CpuCells, Failure> {
    let load_average = super::load_average();
    let machine = trials.machine;
    let jobs = machine.cpu_jobs();
    let free_before = free_cores(trials.cores);
    let mut commands = Vec::new();
    let mut cores_busy = Vec::new();
    let mut outside = Vec::new();
    let mut disturbed = Vec::new();
    let mut walls = Vec::new();
    let mut measure = |model: &'static str| {
        let mut spec = trials.spec("cpu", model, jobs);
        spec.cpu_us = JOB_US;
        let record = trials.cell(spec, trials.repeats());
        commands.push(record.command.clone());
        let conditions = &record.conditions;
        if conditions.window_ms > 0.0 {
            let cores = conditions.foreign_cpu_cores + conditions.steal_ms / conditions.window_ms;
            outside.push(cores);
            if record.disturbed {
                disturbed.push((model, cores));
            }
        }
        let ms = median_ms(&record)?;
        walls.push((
            model,
            if record.wall_ms_repeats.is_empty() {
                vec![ms]
            } else {
                record.wall_ms_repeats.clone()
            },
        ));
        cores_busy.push((model, (record.cpu_user_ms + record.cpu_sys_ms) / ms));
        Ok::<f64, String>(ms)
    };
    let sequential_ms = match measure("sequential") {
        Ok(ms) => ms,
        Err(error) => return Err(Failure::new(error, commands)),
    };
    let mut by_model = Vec::new();
    for &model in models {
        match measure(model) {
            Ok(ms) => by_model.push((model, ms)),
            Err(error) => return Err(Failure::new(error, commands)),
        }
    }
    let free_cores = if outside.is_empty() {
        (free_before + free_cores(trials.cores)) / 2.0
    } else {
        let most = outside.iter().copied().fold(0.0, f64::max);
        (trials.cores as f64 - most).max(0.0)
    };
    Ok(CpuCells {
        disturbed,
        machine,
        jobs,
        load_average,
        free_cores,
        sequential_ms,
        by_model,
        walls,
        cores_busy,
        commands,
    })
}

fn speedup_figures(cells: &CpuCells) -> (String, Vec<super::Figure>) {
    let mut figures = vec![
        figure("sequential wall", cells.sequential_ms, "ms"),
        figure("cores this process got", cells.free_cores, "cores"),
    ];
    let mut parts = vec![format!("sequential {:.0} ms", cells.sequential_ms)];
    for (model, ms) in &cells.by_model {
        figures.push(figure(format!("{model} wall"), *ms, "ms"));
        let speedup = cells.speedup_estimate(model);
        figures.push(speedup.figure(format!("{model} speedup"), "x"));
        parts.push(format!("{model} ×{}", speedup.text(2)));
    }
    (
        format!(
            "{} × {:.0} ms of compute on {}: {} (cores free for us: {:.1}).",
            cells.jobs,
            JOB_US / 1e3,
            cells.machine.describe(),
            parts.join(", "),
            cells.free_cores
        ),
        figures,
    )
}

fn async_not_for_cpu(trials: &Trials) -> Trial {
    decide(
        cpu_cells(
            trials,
            &["tokio-current", "tokio", "smol", "threads", "rayon"],
        ),
        judge_async_not_for_cpu,
    )
}

/// The rule of async-not-for-cpu (a demonstration), a pure function of
/// the figures: the one-thread executor against "no speedup", the
/// multi-thread runtimes and threads against the parallel bar of the
/// machine's physical cores.
pub(crate) fn judge_async_not_for_cpu(cells: &CpuCells) -> Trial {
    let machine = cells.machine;
    if let Some(busy) = cells.busy(cpu_thresholds(&machine)) {
        return busy;
    }
    let parallel = machine.parallel_bar();
    let one_thread = cells.speedup("tokio-current");
    let multi = cells.speedup("tokio").max(cells.speedup("smol"));
    let threads = cells.speedup("threads").max(cells.speedup("rayon"));
    // Each speedup against its line, on its interval: the one-thread
    // executor against "no speedup", the others against the parallel bar.
    let lines = [
        ("tokio-current", NO_SPEEDUP_MAX),
        ("tokio", parallel),
        ("smol", parallel),
        ("threads", parallel),
        ("rayon", parallel),
    ];
    let estimates: Vec<Estimate> = lines
        .iter()
        .map(|(model, _)| cells.speedup_estimate(model))
        .collect();
    let sides: Vec<Side> = estimates
        .iter()
        .zip(lines)
        .map(|(estimate, (_, line))| estimate.side(line))
        .collect();
    let can_parallel = machine.can_run_in_parallel();
    let outcome = |above: &[bool]| -> u8 {
        let (one_thread_fast, multi_fast, threads_fast) =
            (above[0], above[1] || above[2], above[3] || above[4]);
        match (one_thread_fast, can_parallel, multi_fast, threads_fast) {
            (true, ..) => 0,
            (false, false, ..) => 1,
            (false, true, true, _) => 2,
            (false, true, false, false) => 3,
            (false, true, false, true) => 4,
        }
    };
    let Some(outcome) = unanimous(&sides, outcome) else {
        return cells.too_close(&lines, &estimates, &sides);
    };
    let (verdict, caveat) = if outcome == 0 {
        (Verdict::DoesNotHold, None)
    } else if outcome == 1 {
        (
            Verdict::HoldsWithACaveat,
            Some(format!(
                "on one usable physical core nothing runs in parallel, async or not (threads ×{threads:.2}, multi-thread async ×{multi:.2}); \
                 with more cores a multi-thread runtime computes on its worker threads like a thread pool"
            )),
        )
    } else if outcome == 2 {
        (
            Verdict::HoldsWithACaveat,
            Some(format!(
                "only for a single-threaded executor (×{one_thread:.2}); a multi-thread runtime ran the jobs on its {} worker threads \
                 (×{multi:.2}, threads ×{threads:.2}) — the speedup comes from its threads, and while they compute they serve no I/O (see cpu-starves-io)",
                cells.cores()
            )),
        )
    } else if outcome == 3 {
        (
            Verdict::HoldsWithACaveat,
            Some(format!(
                "but threads gave no parallel speedup here either ({} usable physical core(s), threads ×{threads:.2} vs the ×{parallel:.2} parallel needs); processes were not measured",
                machine.usable_cores
            )),
        )
    } else {
        (Verdict::Holds, None)
    };
    let (measured, figures) = speedup_figures(cells);
    Trial {
        measured,
        figures,
        verdict,
        caveat,
        decided_by: format!(
            "one-thread executor ×{one_thread:.2} vs {NO_SPEEDUP_MAX}; best multi-thread async ×{multi:.2} and best threads ×{threads:.2} \
             vs {parallel:.2} (parallel on {} usable physical core(s))",
            machine.usable_cores
        ),
        thresholds: cpu_thresholds(&machine),
        cell_commands: cells.commands.clone(),
        chart: None,
    }
}

/// The figures of concurrency-is-not-parallelism: the CPU cells and the
/// waits on the same one-thread executor.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ConcurrencyFigures {
    cells: CpuCells,
    /// As many waits of `WAIT_MS` as CPU jobs, on tokio current-thread,
    /// median wall, ms.
    waits_ms: f64,
}

impl Physical for ConcurrencyFigures {
    /// The CPU cells' physics, and waits that take at least one wait.
    fn check(&self) -> Result<(), String> {
        self.cells.check()?;
        physics::ensure_at_least("the waits on one thread", self.waits_ms, WAIT_MS)
    }
}

fn concurrency_is_not_parallelism(trials: &Trials) -> Trial {
    decide(measure_concurrency(trials), judge_concurrency)
}

/// The experiment: the CPU cells and the waits on one thread.
fn measure_concurrency(trials: &Trials) -> Result<ConcurrencyFigures, Failure> {
    let mut cells = cpu_cells(trials, &["tokio-current", "tokio"])?;
    let mut spec = trials.spec("sleep", "tokio-current", cells.jobs);
    spec.sleep_ms = WAIT_MS;
    let record = trials.cell(spec, trials.repeats());
    cells.commands.push(record.command.clone());
    match median_ms(&record) {
        Ok(waits_ms) => Ok(ConcurrencyFigures { cells, waits_ms }),
        Err(error) => Err(Failure::new(error, cells.commands)),
    }
}

/// The rule of concurrency-is-not-parallelism (a demonstration), a pure
/// function of the figures. CPU time over wall time is used, not a
/// speedup: it does not depend on a noisy sequential baseline.
pub(crate) fn judge_concurrency(figures: &ConcurrencyFigures) -> Trial {
    let ConcurrencyFigures { cells, waits_ms } = figures;
    // Cores kept busy do not depend on a baseline, but a cell disturbed by
    // outside load cannot show how many cores a model would keep busy.
    if let Some(trial) = cells.disturbed_trial(Vec::new()) {
        return trial;
    }
    let waits_ms = *waits_ms;
    let commands = cells.commands.clone();
    // CPU time over wall time: how many cores the jobs kept busy at once.
    // It does not depend on a noisy sequential baseline, and one thread
    // cannot exceed 1 however the machine behaves.
    let one_thread_busy = cells.cores_busy("tokio-current");
    let multi_busy = cells.cores_busy("tokio");
    let wall = |model: &str| {
        cells
            .by_model
            .iter()
            .find(|(m, _)| *m == model)
            .map_or(0.0, |(_, ms)| *ms)
    };
    let jobs = cells.jobs;
    let wait_overlap = jobs as f64 * WAIT_MS / waits_ms;
    let verdict = if one_thread_busy < NO_SPEEDUP_MAX {
        Verdict::DoesNotHold
    } else {
        Verdict::Holds
    };
    Trial {
        measured: format!(
            "one thread (tokio current-thread): {jobs} CPU jobs took {:.0} ms (sequential {:.0} ms) keeping {one_thread_busy:.2} cores busy; \
             {jobs} waits of {WAIT_MS:.0} ms took {waits_ms:.0} ms (overlap ×{wait_overlap:.1}). tokio multi-thread: {:.0} ms, {multi_busy:.2} cores busy (cores free for us: {:.1}).",
            wall("tokio-current"),
            cells.sequential_ms,
            wall("tokio"),
            cells.free_cores,
        ),
        figures: vec![
            figure("sequential CPU jobs wall", cells.sequential_ms, "ms"),
            figure("tokio-current CPU jobs wall", wall("tokio-current"), "ms"),
            figure("tokio-current cores busy", one_thread_busy, "cores"),
            figure("tokio multi-thread CPU jobs wall", wall("tokio"), "ms"),
            figure("tokio multi-thread cores busy", multi_busy, "cores"),
            figure("tokio-current waits wall", waits_ms, "ms"),
            figure("wait overlap on one thread", wait_overlap, "x"),
        ],
        verdict,
        caveat: None,
        decided_by: format!(
            "on one thread the CPU jobs kept {one_thread_busy:.2} cores busy vs {NO_SPEEDUP_MAX} (below: one job at a time); \
             the waits overlapped ×{wait_overlap:.1} — concurrency without parallelism. Tasks run in parallel only on a runtime \
             with several worker threads (tokio multi-thread: {multi_busy:.2} cores busy)"
        ),
        thresholds: vec![threshold(
            "NO_SPEEDUP_MAX",
            NO_SPEEDUP_MAX,
            "fewer cores busy than this means the jobs ran one at a time",
        )],
        cell_commands: commands,
        chart: None,
    }
}

/// "thread-pool speedup ×1.49 (1.41–1.58) straddles 1.50" for each
/// model whose interval straddles its line.
fn straddling(lines: &[(&str, f64)], estimates: &[Estimate], sides: &[Side]) -> Vec<String> {
    lines
        .iter()
        .zip(estimates.iter().zip(sides))
        .filter(|(_, (_, side))| **side == Side::TooClose)
        .map(|((model, line), (estimate, _))| {
            precision::straddles(&format!("{model} speedup ×"), estimate, *line, 2)
        })
        .collect()
}

fn threads_for_cpu(trials: &Trials) -> Trial {
    decide(
        cpu_cells(trials, &["threads", "thread-pool", "rayon"]),
        judge_threads_for_cpu,
    )
}

/// The rule of threads-for-cpu, a pure function of the figures. With one
/// usable physical core no speedup is possible, so the claim is not
/// measured there rather than refuted.
pub(crate) fn judge_threads_for_cpu(cells: &CpuCells) -> Trial {
    let machine = cells.machine;
    // One usable core is checked first: it is the reason whatever else ran
    // beside the cells (under `taskset -c 0` outside load is beside the
    // point).
    if machine.can_run_in_parallel() {
        if let Some(busy) = cells.busy(cpu_thresholds(&machine)) {
            return busy;
        }
    }
    let parallel = machine.parallel_bar();
    let models = ["threads", "thread-pool", "rayon"];
    let speedups = models.map(|m| cells.speedup(m));
    let worst = speedups.iter().copied().fold(f64::INFINITY, f64::min);
    let best = speedups.iter().copied().fold(0.0, f64::max);
    let (measured, figures) = speedup_figures(cells);
    if !machine.can_run_in_parallel() {
        return Trial {
            measured,
            figures,
            verdict: Verdict::NotMeasured,
            caveat: None,
            decided_by: format!(
                "a parallel speedup needs at least two usable physical cores; this process may use {} — \
                 rerun without a CPU restriction (taskset, a container's cpuset) or on a machine with more cores",
                machine.describe()
            ),
            thresholds: cpu_thresholds(&machine),
            cell_commands: cells.commands.clone(),
            chart: None,
        };
    }
    // Each model's speedup interval against the bar: the verdict stands
    // only when every way the straddling ones could fall gives it.
    let estimates = models.map(|m| cells.speedup_estimate(m));
    let sides = estimates.map(|e| e.side(parallel));
    let outcome = |above: &[bool]| (above.iter().all(|a| *a), above.iter().any(|a| *a));
    let Some((all_parallel, any_parallel)) = unanimous(&sides, outcome) else {
        return cells.too_close(&models.map(|m| (m, parallel)), &estimates, &sides);
    };
    let (verdict, caveat) = if all_parallel {
        (Verdict::Holds, None)
    } else if any_parallel {
        (
            Verdict::HoldsWithACaveat,
            Some(format!(
                "not every way of using threads reached ×{parallel:.2} here (slowest ×{worst:.2}); see the per-model speedups"
            )),
        )
    } else {
        (Verdict::DoesNotHold, None)
    };
    Trial {
        measured,
        figures,
        verdict,
        caveat,
        decided_by: format!(
            "thread speedups ×{worst:.2}–×{best:.2} vs {parallel:.2} (parallel on {} usable physical core(s)); \
             95 % intervals from {} repeats: {}",
            machine.usable_cores,
            cells.repeats(),
            models
                .iter()
                .zip(&estimates)
                .map(|(model, estimate)| format!("{model} ×{}", estimate.text(2)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        thresholds: cpu_thresholds(&machine),
        cell_commands: cells.commands.clone(),
        chart: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::physics::possible;
    use crate::claims::precision::spread;

    /// The same cells with `model`'s repeats spread `relative` apart (a
    /// noisy model: its speedup interval widens).
    fn noisy(mut cells: CpuCells, model: &str, relative: f64) -> CpuCells {
        for (m, walls) in &mut cells.walls {
            if *m == model {
                let median = crate::stats::median(walls);
                *walls = spread::around(median, relative);
            }
        }
        possible(cells)
    }

    /// Invented CPU cells on `machine`: the sequential run on time, each
    /// model at the given speedup (keeping as many CPUs busy), every core
    /// free. Checked against physics.
    fn cells(machine: CpuTopology, speedups: &[(&'static str, f64)]) -> CpuCells {
        possible(unchecked_cells(machine, speedups))
    }

    fn unchecked_cells(machine: CpuTopology, speedups: &[(&'static str, f64)]) -> CpuCells {
        let jobs = machine.cpu_jobs();
        // The sequential run a little over its calibrated compute, so its
        // tight spread stays physically possible.
        let sequential_ms = jobs as f64 * JOB_US / 1e3 * 1.01;
        let mut walls = vec![("sequential", spread::tight(sequential_ms))];
        walls.extend(
            speedups
                .iter()
                .map(|(m, speedup)| (*m, spread::tight(sequential_ms / speedup))),
        );
        CpuCells {
            walls,
            machine,
            jobs,
            load_average: 0.1,
            free_cores: machine.usable_logical as f64,
            disturbed: vec![],
            sequential_ms,
            by_model: speedups
                .iter()
                .map(|(m, speedup)| (*m, sequential_ms / speedup))
                .collect(),
            cores_busy: speedups.to_vec(),
            commands: vec![],
        }
    }

    /// A speedup that clears the machine's parallel bar without exceeding
    /// its physical cores.
    fn parallel(machine: CpuTopology) -> f64 {
        let bar = machine.parallel_bar();
        bar + 0.5 * (machine.usable_cores as f64 - bar)
    }

    const TWO_CORES: CpuTopology = CpuTopology::simulated(2, 2);
    const ONE_OF_TWO: CpuTopology = CpuTopology::simulated_machines()[6];

    #[test]
    fn a_cell_disturbed_by_outside_load_is_not_judged_in_either_claim() {
        let speedups = [
            ("tokio-current", 1.0),
            ("tokio", 1.9),
            ("smol", 1.9),
            ("threads", 1.9),
            ("rayon", 1.9),
        ];
        let mut hogged = cells(TWO_CORES, &speedups);
        hogged.disturbed = vec![("rayon", 0.98)];
        let trial = judge_async_not_for_cpu(&hogged);
        assert_eq!(trial.verdict, Verdict::NotMeasured);
        assert!(
            trial
                .decided_by
                .contains("not judged: other programs used up to 0.98 cores"),
            "{}",
            trial.decided_by
        );
        let trial = judge_concurrency(&possible(ConcurrencyFigures {
            cells: hogged,
            waits_ms: WAIT_MS,
        }));
        assert_eq!(trial.verdict, Verdict::NotMeasured);
    }

    #[test]
    fn async_not_for_cpu_shows_both_speedups_on_every_simulated_machine() {
        for machine in CpuTopology::simulated_machines() {
            let all = |one_thread, multi, threads| {
                cells(
                    machine,
                    &[
                        ("tokio-current", one_thread),
                        ("tokio", multi),
                        ("smol", multi),
                        ("threads", threads),
                        ("rayon", threads),
                    ],
                )
            };
            let fast = parallel(machine);
            let shown = judge_async_not_for_cpu(&all(1.0, fast, fast));
            assert_eq!(shown.verdict, Verdict::HoldsWithACaveat, "{machine:?}");
            let caveat = shown.caveat.unwrap();
            if machine.can_run_in_parallel() {
                assert!(caveat.contains("single-threaded executor"), "{caveat}");
                assert_eq!(
                    judge_async_not_for_cpu(&all(1.0, 1.1, fast)).verdict,
                    Verdict::Holds,
                    "{machine:?}"
                );
                assert!(judge_async_not_for_cpu(&all(1.0, 1.0, 1.1))
                    .caveat
                    .unwrap()
                    .contains("processes were not measured"));
                assert_eq!(
                    judge_async_not_for_cpu(&all(1.6, fast, fast)).verdict,
                    Verdict::DoesNotHold
                );
            } else {
                assert!(caveat.contains("one usable physical core"), "{caveat}");
            }
            assert!(shown
                .thresholds
                .iter()
                .any(|t| t.name == "CPU_JOBS" && t.value == (4 * machine.usable_logical) as f64));
        }
    }

    #[test]
    fn busy_cores_or_an_impossible_speedup_are_not_measured() {
        let speedups = [("threads", 1.9), ("thread-pool", 1.9), ("rayon", 1.9)];
        let mut busy = cells(TWO_CORES, &speedups);
        busy.free_cores = 1.0;
        let trial = judge_threads_for_cpu(&busy);
        assert_eq!(trial.verdict, Verdict::NotMeasured);
        assert!(trial.decided_by.contains("busy"), "{}", trial.decided_by);
        let impossible = unchecked_cells(
            TWO_CORES,
            &[("threads", 3.0), ("thread-pool", 1.9), ("rayon", 1.9)],
        );
        assert!(impossible.check().unwrap_err().contains("impossible"));
        let trial = decide(Ok(impossible), judge_threads_for_cpu);
        assert_eq!(trial.verdict, Verdict::NotMeasured);
        assert!(trial.decided_by.contains("physically impossible"));
        // Hyperthreads can beat the physical cores, never the logical CPUs.
        let smt = CpuTopology::simulated(16, 8);
        assert!(unchecked_cells(smt, &[("threads", 12.0)]).check().is_ok());
        assert!(unchecked_cells(smt, &[("threads", 20.0)]).check().is_err());
    }

    #[test]
    fn threads_for_cpu_reaches_every_verdict_on_every_machine_with_two_cores_or_more() {
        for machine in CpuTopology::simulated_machines() {
            let models = |a, b| cells(machine, &[("threads", a), ("thread-pool", b), ("rayon", a)]);
            let fast = parallel(machine);
            if !machine.can_run_in_parallel() {
                for (a, b) in [(1.0, 1.0), (1.1, 0.9), (0.9, 0.9)] {
                    let trial = judge_threads_for_cpu(&models(a, b));
                    assert_eq!(trial.verdict, Verdict::NotMeasured, "{machine:?}");
                    assert!(trial.decided_by.contains("two usable physical cores"));
                }
                continue;
            }
            assert_eq!(
                judge_threads_for_cpu(&models(fast, fast)).verdict,
                Verdict::Holds,
                "{machine:?}"
            );
            assert_eq!(
                judge_threads_for_cpu(&models(fast, 1.1)).verdict,
                Verdict::HoldsWithACaveat,
                "{machine:?}"
            );
            assert_eq!(
                judge_threads_for_cpu(&models(1.1, 1.1)).verdict,
                Verdict::DoesNotHold,
                "{machine:?}"
            );
            // A pool whose speedup interval straddles the bar: whether it
            // holds or holds with a caveat is too close to call.
            let bar = machine.parallel_bar();
            let close = noisy(models(fast, bar), "thread-pool", 0.05);
            let trial = judge_threads_for_cpu(&close);
            assert_eq!(trial.verdict, Verdict::TooCloseToCall, "{machine:?}");
            assert!(
                trial.decided_by.contains("thread-pool speedup ×")
                    && trial.decided_by.contains(&format!("straddles {bar:.2}")),
                "{}",
                trial.decided_by
            );
            let shown = trial
                .figures
                .iter()
                .find(|f| f.label == "thread-pool speedup")
                .and_then(|f| f.interval)
                .unwrap();
            assert!(shown.contains(bar), "{shown:?}");
            // The same noise far from the bar decides.
            assert_eq!(
                judge_threads_for_cpu(&noisy(models(fast, 1.0), "thread-pool", 0.05)).verdict,
                Verdict::HoldsWithACaveat,
                "{machine:?}"
            );
        }
    }

    #[test]
    fn on_one_usable_cpu_the_parallelism_claims_never_say_does_not_hold() {
        // `taskset -c 0` on a 2-core machine: every physically possible
        // speedup on one CPU, for every model.
        for machine in [ONE_OF_TWO, CpuTopology::simulated(1, 1)] {
            for speedup in [0.5, 0.9, 1.0, 1.1, IMPOSSIBLE_SPEEDUP_SLACK] {
                let all = cells(
                    machine,
                    &[
                        ("tokio-current", 1.0),
                        ("tokio", speedup),
                        ("smol", speedup),
                        ("threads", speedup),
                        ("thread-pool", speedup),
                        ("rayon", speedup),
                    ],
                );
                assert_eq!(
                    judge_threads_for_cpu(&all).verdict,
                    Verdict::NotMeasured,
                    "{machine:?} ×{speedup}"
                );
                let trial = judge_async_not_for_cpu(&all);
                assert_eq!(trial.verdict, Verdict::HoldsWithACaveat);
                assert!(trial.caveat.unwrap().contains("one usable physical core"));
            }
            // A one-thread executor cannot beat sequential on one CPU: such
            // figures are impossible, so never judged.
            let impossible = unchecked_cells(machine, &[("tokio-current", 1.6)]);
            assert!(impossible.check().is_err());
        }
    }

    #[test]
    fn async_not_for_cpu_is_too_close_to_call_when_the_one_thread_speedup_straddles_no_speedup() {
        let machine = TWO_CORES;
        let fast = parallel(machine);
        let all = cells(
            machine,
            &[
                ("tokio-current", NO_SPEEDUP_MAX),
                ("tokio", fast),
                ("smol", fast),
                ("threads", fast),
                ("rayon", fast),
            ],
        );
        let trial = judge_async_not_for_cpu(&noisy(all, "tokio-current", 0.05));
        assert_eq!(trial.verdict, Verdict::TooCloseToCall);
        assert!(trial.decided_by.contains("tokio-current speedup"));
    }

    #[test]
    fn one_thread_keeping_one_core_busy_shows_concurrency_is_not_parallelism() {
        for machine in CpuTopology::simulated_machines() {
            let jobs = machine.cpu_jobs() as f64;
            let figures = |one_thread_busy| {
                possible(ConcurrencyFigures {
                    cells: cells(
                        machine,
                        &[("tokio-current", one_thread_busy), ("tokio", 1.0)],
                    ),
                    waits_ms: WAIT_MS * 1.04,
                })
            };
            let shown = judge_concurrency(&figures(0.98));
            assert_eq!(shown.verdict, Verdict::DoesNotHold, "{machine:?}");
            let overlap = format!("overlap ×{:.1}", jobs / 1.04);
            assert!(shown.measured.contains(&overlap), "{}", shown.measured);
        }
        // Only figures from a machine with two CPUs or more can show a
        // one-thread executor keeping more than a core busy.
        let two = |busy| ConcurrencyFigures {
            cells: cells(TWO_CORES, &[("tokio-current", busy), ("tokio", 1.9)]),
            waits_ms: 52.0,
        };
        assert_eq!(
            judge_concurrency(&possible(two(1.9))).verdict,
            Verdict::Holds
        );
    }
}
