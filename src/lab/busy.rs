//! A busy machine: what else ran while a repeat was timed, and whether that
//! disturbed it.
//!
//! `noisy` compares repeats with each other, so a steady outside load that
//! slows every repeat alike goes unseen, and a verdict then blames a model
//! for a browser's CPU time. Here every repeat accounts for the machine
//! instead: busy time from `/proc/stat` over the CPUs the lab may use (its
//! affinity mask: under `taskset -c 0` only cpu0 counts) minus the cell's own
//! process and the lab's parent is CPU time *other programs* used; steal
//! time is what the hypervisor took; and a short run of the compute kernel
//! just before and after the timed region catches a host that slows the
//! guest without any of that showing (a drift against the cell's
//! calibration).
//!
//! Short repeats are the hard case: a timed region of a few ms is below
//! what `/proc/stat`'s 10 ms ticks resolve. Two measures cover them. The
//! accounted window of a cell that computes is at least
//! [`MIN_ACCOUNTED_WINDOW`] long (the child waits out the rest after its
//! kernel probes), so a busy core beside it shows in the ticks; and the
//! timed region itself is judged by `/proc/pressure/cpu` (microseconds in
//! which some runnable task waited for a core), which reads true only while
//! the cell never has more threads computing than the machine has cores —
//! otherwise its own threads queue and the figure is recorded, not judged.
//! The kernel weighs each core's waiting by its busy time in whole jiffies
//! (1 to 10 ms), so a timed region shorter than a jiffy shows no waiting at
//! all: those repeats rely on the widened window's ticks alone.
//!
//! The policy is a set of pure functions of those figures, tested on
//! invented `/proc/stat` readings: [`sensitivity`] says how much outside
//! load a kind of cell tolerates, [`judge_repeat`] says whether one repeat
//! was disturbed, and [`steady_background`] decides when a steady, measured
//! load is judged against the capacity it leaves rather than refused.

use crate::os::measure::CpuTicks;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A CPU cell that needs every core is hurt by a tenth of a core of outside
/// load: on 2 cores that is 5 % of the capacity its ideal assumes.
pub const CPU_ALL_CORES_MAX_OUTSIDE_CORES: f64 = 0.1;

/// A CPU cell that uses fewer cores than the machine has leaves some spare;
/// outside load up to this share of the spare cores is absorbed by them
/// (the scheduler does not always place it there, hence not all of it).
pub const SPARE_CORES_ABSORB_SHARE: f64 = 0.5;

/// A cell that mostly waits (sleep, socket) needs little CPU: it tolerates
/// outside load up to this share of the machine's cores.
pub const WAIT_CELL_MAX_OUTSIDE_SHARE: f64 = 0.5;

/// The compute kernel may run this much slower around a timed region than
/// in the cell's calibration before the host counts as having slowed the
/// machine (fastest-of-several runs of 2 ms agree within a few per cent on
/// a quiet machine).
pub const KERNEL_DRIFT_TOLERANCE: f64 = 0.10;

/// A steady outside load of at most this share of the cores (a video call
/// using a third of a core on 2 cores is 17 %) is judged against the
/// capacity it leaves instead of making the cell "not judged".
pub const STEADY_BACKGROUND_MAX_SHARE: f64 = 0.25;

/// Outside load counts as steady when every repeat saw it within this many
/// cores of the others (plus the figure's own resolution).
pub const STEADY_SPREAD_CORES: f64 = 0.15;

/// The shortest accounted window of a repeat that computes. One tick per
/// core over 60 ms is a third of a core on 2 cores, so a busy core beside a
/// short repeat (1.0 - 0.33 > 0.1) is beyond doubt, while a quiet one needs
/// three stray ticks to look disturbed. A shorter repeat's child waits out
/// the rest after its kernel probes (sleeping: it takes no CPU).
pub const MIN_ACCOUNTED_WINDOW: Duration = Duration::from_millis(60);

/// Waiting for a core that a quiet machine causes anyway, in cores' worth:
/// the lab's 2 ms thread-count sampler, kernel threads and a runtime's own
/// waking workers preempt a cell's threads for a few per cent of its timed
/// region. Only CPU pressure beyond this counts as outside load; a busy
/// core beside a cell that uses every core shows as about one core.
pub const PRESSURE_HOUSEKEEPING_CORES: f64 = 0.3;

/// Default for `--retries`: extra repeats a cell may run to replace
/// disturbed ones.
pub const DEFAULT_RETRIES: u32 = 3;

/// The pause before a disturbed repeat runs again, so a short burst of
/// outside load can end first.
pub const RETRY_PAUSE: Duration = Duration::from_millis(250);

/// Efficiency above this cannot happen on a quiet machine with an ideal
/// calibrated in the cell's own process; where it does, the record says why.
pub const EFFICIENCY_CEILING: f64 = 1.05;

/// What to do with a disturbed repeat (`--on-busy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnBusy {
    /// Run it again after a short pause, up to `--retries` times per cell;
    /// then record the cell as disturbed.
    #[default]
    Retry,
    /// Keep it and record the cell as disturbed.
    Mark,
    /// Keep it and judge nothing (the outside load is still recorded).
    Ignore,
}

impl OnBusy {
    pub const NAMES: &'static [&'static str] = &["retry", "mark", "ignore"];

    pub fn parse(name: &str) -> Option<OnBusy> {
        match name {
            "retry" => Some(OnBusy::Retry),
            "mark" => Some(OnBusy::Mark),
            "ignore" => Some(OnBusy::Ignore),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OnBusy::Retry => "retry",
            OnBusy::Mark => "mark",
            OnBusy::Ignore => "ignore",
        }
    }
}

/// `--on-busy` and `--retries` together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BusyPolicy {
    pub on_busy: OnBusy,
    /// Extra repeats a cell may run to replace disturbed ones.
    pub retries: u32,
}

impl Default for BusyPolicy {
    fn default() -> Self {
        BusyPolicy {
            on_busy: OnBusy::Retry,
            retries: DEFAULT_RETRIES,
        }
    }
}

/// `--on-busy` and `--retries`, shared by `run`, `sweep` and `report`.
#[derive(Debug, Clone, clap::Args)]
pub struct BusyArgs {
    /// What to do with a repeat disturbed by other programs or a slowed
    /// host: retry it after a short pause (up to --retries per cell), mark
    /// the cell disturbed, or ignore it (the outside load is still recorded).
    #[arg(long, default_value = "retry", value_parser = clap::builder::PossibleValuesParser::new(OnBusy::NAMES))]
    pub on_busy: String,
    /// Extra repeats a cell may run to replace disturbed ones (0 to 100).
    #[arg(long, default_value_t = DEFAULT_RETRIES, value_parser = clap::value_parser!(u32).range(0..=100))]
    pub retries: u32,
}

impl BusyArgs {
    pub fn policy(&self) -> BusyPolicy {
        BusyPolicy {
            on_busy: OnBusy::parse(&self.on_busy).unwrap_or_default(),
            retries: self.retries,
        }
    }
}

/// What the machine did during one repeat's accounted window: the timed
/// region plus the kernel probes around it, widened to at least
/// [`MIN_ACCOUNTED_WINDOW`] for cells that compute (so a short repeat's
/// 10 ms ticks weigh less).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct RepeatConditions {
    /// Length of the accounted window, ms.
    pub window_ms: f64,
    /// Machine-wide busy CPU time in the window (`/proc/stat`), ms.
    pub busy_ms: f64,
    /// CPU time of the cell's own process in the window (getrusage), ms.
    pub own_cpu_ms: f64,
    /// CPU time of the lab's parent process in the window, ms.
    pub parent_cpu_ms: f64,
    /// Steal time in the window (all cores), ms.
    pub steal_ms: f64,
    /// Time some runnable task waited for a CPU (`/proc/pressure/cpu`,
    /// `some`), ms; includes the cell's own threads queueing for cores.
    pub cpu_pressure_ms: Option<f64>,
    /// One clock tick of `/proc/stat`, ms (10 on Linux).
    pub tick_ms: f64,
    /// Cores the machine counts.
    pub cores: usize,
    /// Compute kernel speed just before the timed region (fastest of
    /// several runs), iterations per µs.
    pub kernel_rate_before: Option<f64>,
    /// The slowest of those runs (their spread is the calibration's noise).
    pub kernel_rate_before_slowest: Option<f64>,
    /// Compute kernel speed just after the timed region (fastest of a few).
    pub kernel_rate_after: Option<f64>,
    /// Length of the timed region alone, ms (0 in records from before it
    /// was kept).
    #[serde(default)]
    pub region_ms: f64,
    /// CPU pressure (`/proc/pressure/cpu` `some`, microsecond resolution)
    /// during the timed region alone, ms; None without PSI.
    #[serde(default)]
    pub region_pressure_ms: Option<f64>,
}

impl RepeatConditions {
    /// Turns two `/proc/stat` readings and the lab's own CPU times into
    /// the window's accounting (kernel probes left empty).
    pub fn from_readings(
        before: CpuTicks,
        after: CpuTicks,
        window_ms: f64,
        own_cpu_ms: f64,
        parent_ticks: u64,
        tick_ms: f64,
        cores: usize,
    ) -> RepeatConditions {
        RepeatConditions {
            window_ms,
            busy_ms: after.busy.saturating_sub(before.busy) as f64 * tick_ms,
            own_cpu_ms,
            parent_cpu_ms: parent_ticks as f64 * tick_ms,
            steal_ms: after.steal.saturating_sub(before.steal) as f64 * tick_ms,
            cpu_pressure_ms: None,
            tick_ms,
            cores,
            kernel_rate_before: None,
            kernel_rate_before_slowest: None,
            kernel_rate_after: None,
            region_ms: 0.0,
            region_pressure_ms: None,
        }
    }

    /// CPU time other programs used in the window, ms (never below 0: tick
    /// rounding can make the difference slightly negative).
    pub fn foreign_cpu_ms(&self) -> f64 {
        (self.busy_ms - self.own_cpu_ms - self.parent_cpu_ms).max(0.0)
    }

    /// Mean cores other programs used during the window.
    pub fn foreign_cpu_cores(&self) -> f64 {
        per_window(self.foreign_cpu_ms(), self.window_ms)
    }

    /// Mean cores the hypervisor took during the window.
    pub fn steal_cores(&self) -> f64 {
        per_window(self.steal_ms, self.window_ms)
    }

    /// How coarse [`Self::foreign_cpu_cores`] is: each core's counter
    /// moves in whole ticks, so the busy time is known to about one tick
    /// per core over the window.
    pub fn resolution_cores(&self) -> f64 {
        per_window(self.tick_ms * self.cores as f64, self.window_ms)
    }

    /// Cores' worth of waiting for a CPU during the timed region: the
    /// kernel weighs each core's waiting time by how busy that core was,
    /// so on a machine kept busy a core shared with one other program
    /// waits all the time and shows as `1 / cores` of the region — times
    /// the cores, one core's worth. None without PSI or a timed region.
    pub fn region_waiting_cores(&self) -> Option<f64> {
        let pressure_ms = self.region_pressure_ms?;
        (self.region_ms > 0.0).then(|| pressure_ms / self.region_ms * self.cores as f64)
    }

    /// Outside load as this cell's policy sees it, in cores: other
    /// programs and steal over the window, or — where the cell's own
    /// threads cannot queue (`pressure_is_outside`) — the waiting for a
    /// core during the timed region beyond [`PRESSURE_HOUSEKEEPING_CORES`],
    /// whichever is larger.
    pub fn outside_cores(&self, sensitivity: Sensitivity) -> f64 {
        let ticks = self.foreign_cpu_cores() + self.steal_cores();
        match self.region_waiting_cores() {
            Some(waiting) if sensitivity.pressure_is_outside => {
                ticks.max(waiting - PRESSURE_HOUSEKEEPING_CORES)
            }
            _ => ticks,
        }
    }

    /// The fastest kernel speed seen around the timed region.
    pub fn fastest_kernel_rate(&self) -> Option<f64> {
        match (self.kernel_rate_before, self.kernel_rate_after) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    /// How much slower the kernel ran around the timed region than at
    /// `reference` iterations per µs (the cell's calibration): 0.2 means
    /// 20 % slower; negative means faster.
    pub fn kernel_slowdown(&self, reference: f64) -> Option<f64> {
        let slowest = match (self.kernel_rate_before, self.kernel_rate_after) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b)?,
        };
        (reference > 0.0).then(|| 1.0 - slowest / reference)
    }
}

fn per_window(ms: f64, window_ms: f64) -> f64 {
    if window_ms > 0.0 {
        ms / window_ms
    } else {
        0.0
    }
}

/// The readings taken when a repeat's accounted window opens; [`Self::finish`]
/// takes them again and turns the differences into [`RepeatConditions`].
/// Runs in the cell's process, so its own CPU time is exact (getrusage).
pub struct Accounting {
    started: std::time::Instant,
    machine: Option<CpuTicks>,
    own: crate::os::measure::Usage,
    parent_pid: u32,
    parent_ticks: u64,
    pressure_us: Option<u64>,
}

impl Accounting {
    /// Opens the window.
    pub fn start() -> Accounting {
        // SAFETY: getppid has no arguments and cannot fail.
        let parent_pid = unsafe { libc::getppid() } as u32;
        Accounting {
            parent_ticks: crate::os::measure::process_ticks(parent_pid),
            parent_pid,
            pressure_us: crate::os::measure::cpu_pressure_us(),
            own: crate::os::measure::Usage::now(),
            machine: CpuTicks::now(),
            started: std::time::Instant::now(),
        }
    }

    /// How long the window has been open.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Closes the window.
    pub fn finish(self) -> RepeatConditions {
        let machine = CpuTicks::now();
        let window_ms = self.started.elapsed().as_secs_f64() * 1e3;
        let own = crate::os::measure::Usage::now().since(&self.own);
        let parent_ticks =
            crate::os::measure::process_ticks(self.parent_pid).saturating_sub(self.parent_ticks);
        let pressure_ms = match (self.pressure_us, crate::os::measure::cpu_pressure_us()) {
            (Some(before), Some(after)) => Some(after.saturating_sub(before) as f64 / 1e3),
            _ => None,
        };
        let (before, after) = match (self.machine, machine) {
            (Some(b), Some(a)) => (b, a),
            _ => (CpuTicks::default(), CpuTicks::default()),
        };
        let mut conditions = RepeatConditions::from_readings(
            before,
            after,
            window_ms,
            (own.user + own.sys).as_secs_f64() * 1e3,
            parent_ticks,
            crate::os::measure::tick_ms(),
            crate::os::measure::cores(),
        );
        conditions.cpu_pressure_ms = pressure_ms;
        conditions
    }
}

/// How long a repeat's child waits after its kernel probes so that the
/// accounted window (already `elapsed` long) reaches [`MIN_ACCOUNTED_WINDOW`];
/// nothing for a cell that mostly waits (it tolerates far more, and its
/// timed region is long against the ticks anyway).
pub fn window_padding(elapsed: Duration, computes: bool) -> Duration {
    if computes {
        MIN_ACCOUNTED_WINDOW.saturating_sub(elapsed)
    } else {
        Duration::ZERO
    }
}

/// How much outside load a cell tolerates, and why.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sensitivity {
    /// Outside cores (other programs plus steal) above which a repeat is disturbed.
    pub max_outside_cores: f64,
    /// True when the cell's speed is set by CPU (the kernel drift applies).
    pub cpu_bound: bool,
    /// True when the cell computes on no more threads than there are
    /// cores: then its own threads never queue for a core, and CPU
    /// pressure during its timed region is someone else's doing.
    pub pressure_is_outside: bool,
}

/// The tolerance of a cell that computes (`computes`) on
/// `computing_threads` threads at once (before the core limit: a model's
/// workers, or one thread per task), on a machine of `cores`; or of a cell
/// that mostly waits.
pub fn sensitivity(computes: bool, computing_threads: u64, cores: usize) -> Sensitivity {
    let cores_f = cores.max(1) as f64;
    if !computes {
        return Sensitivity {
            max_outside_cores: WAIT_CELL_MAX_OUTSIDE_SHARE * cores_f,
            cpu_bound: false,
            pressure_is_outside: false,
        };
    }
    let spare = (cores_f - computing_threads.min(cores.max(1) as u64) as f64).max(0.0);
    Sensitivity {
        max_outside_cores: (spare * SPARE_CORES_ABSORB_SHARE).max(CPU_ALL_CORES_MAX_OUTSIDE_CORES),
        cpu_bound: true,
        pressure_is_outside: computing_threads <= cores.max(1) as u64,
    }
}

/// Whether one repeat can be trusted.
#[derive(Debug, Clone, PartialEq)]
pub enum Judgement {
    Quiet,
    /// Disturbed, and by what (one sentence).
    Disturbed(String),
}

/// Judges one repeat: disturbed when outside load beyond doubt (the figure
/// minus its resolution) exceeded the cell's tolerance; when, in a cell
/// whose own threads cannot queue, its threads waited for a core beyond
/// [`PRESSURE_HOUSEKEEPING_CORES`] and the tolerance; or when the kernel
/// ran more than [`KERNEL_DRIFT_TOLERANCE`] slower than `calibration`
/// (iterations per µs; for cells that compute).
pub fn judge_repeat(
    conditions: &RepeatConditions,
    sensitivity: Sensitivity,
    calibration: Option<f64>,
) -> Judgement {
    let outside = conditions.foreign_cpu_cores() + conditions.steal_cores();
    let resolution = conditions.resolution_cores();
    if outside - resolution > sensitivity.max_outside_cores {
        return Judgement::Disturbed(format!(
            "other programs used {outside:.2} cores (±{resolution:.2}) during the repeat; \
             this cell tolerates {:.2}",
            sensitivity.max_outside_cores
        ));
    }
    if sensitivity.pressure_is_outside {
        if let Some(waiting) = conditions.region_waiting_cores() {
            if waiting - PRESSURE_HOUSEKEEPING_CORES > sensitivity.max_outside_cores {
                return Judgement::Disturbed(format!(
                    "the cell's threads waited for a core, {waiting:.2} cores' worth during \
                     its {:.1} ms timed region (/proc/pressure/cpu, of which \
                     {PRESSURE_HOUSEKEEPING_CORES} is the machine's own housekeeping): other \
                     programs competed for its cores; this cell tolerates {:.2} more",
                    conditions.region_ms, sensitivity.max_outside_cores
                ));
            }
        }
    }
    if sensitivity.cpu_bound {
        if let Some(slowdown) = calibration.and_then(|c| conditions.kernel_slowdown(c)) {
            if slowdown > KERNEL_DRIFT_TOLERANCE {
                return Judgement::Disturbed(format!(
                    "the compute kernel ran {:.0} % slower around the repeat than in the \
                     cell's calibration, with no matching outside load: the host slowed \
                     this machine",
                    slowdown * 100.0
                ));
            }
        }
    }
    Judgement::Quiet
}

/// The outside load (cores) to judge a cell against when every repeat was
/// disturbed by the same, steady, modest load and by nothing else: the
/// median over the repeats (each repeat's [`RepeatConditions::outside_cores`]).
/// None when the load varied, was too large to judge around (more than
/// [`STEADY_BACKGROUND_MAX_SHARE`] of the cores), or the kernel drifted.
pub fn steady_background(
    repeats: &[RepeatConditions],
    sensitivity: Sensitivity,
    calibration: Option<f64>,
) -> Option<f64> {
    let first = repeats.first()?;
    let outside: Vec<f64> = repeats
        .iter()
        .map(|r| r.outside_cores(sensitivity))
        .collect();
    let resolution = repeats
        .iter()
        .map(RepeatConditions::resolution_cores)
        .fold(0.0, f64::max);
    let lowest = outside.iter().copied().fold(f64::INFINITY, f64::min);
    let highest = outside.iter().copied().fold(0.0, f64::max);
    let drifted = repeats.iter().any(|r| {
        calibration
            .and_then(|c| r.kernel_slowdown(c))
            .is_some_and(|s| s > KERNEL_DRIFT_TOLERANCE)
    });
    let median = crate::stats::median(&outside);
    let steady = highest - lowest <= STEADY_SPREAD_CORES + resolution;
    let modest = median <= STEADY_BACKGROUND_MAX_SHARE * first.cores as f64;
    (steady && modest && !drifted).then_some(median)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TICK_MS: f64 = 10.0;

    /// Two `/proc/stat` texts `window_ms` apart on a 2-core machine in
    /// which everything busy was `busy_ticks`, of which the cell used
    /// `own_ms` and the parent `parent_ticks`.
    fn repeat(window_ms: f64, busy_ticks: u64, own_ms: f64, parent_ticks: u64) -> RepeatConditions {
        let before = CpuTicks::parse("cpu  1000 0 500 90000 10 0 0 5 0 0\n").unwrap();
        let after_text = format!("cpu  {} 0 500 90100 10 0 0 5 0 0\n", 1000 + busy_ticks);
        let after = CpuTicks::parse(&after_text).unwrap();
        RepeatConditions::from_readings(before, after, window_ms, own_ms, parent_ticks, TICK_MS, 2)
    }

    fn all_cores_cpu() -> Sensitivity {
        sensitivity(true, 2, 2)
    }

    #[test]
    fn under_taskset_a_hog_on_another_cpu_does_not_disturb_a_one_cpu_cell() {
        // A 2-CPU machine, the lab on cpu0 (`taskset -c 0`): the cell kept
        // cpu0 busy for the whole 1 s window, a hog kept cpu1 busy too.
        let before = "cpu  1000 0 0 2000 0 0 0 0 0 0\n\
                      cpu0 500 0 0 1000 0 0 0 0 0 0\n\
                      cpu1 500 0 0 1000 0 0 0 0 0 0\n";
        let after = "cpu  1200 0 0 2000 0 0 0 0 0 0\n\
                     cpu0 600 0 0 1000 0 0 0 0 0 0\n\
                     cpu1 600 0 0 1000 0 0 0 0 0 0\n";
        let window = |allowed: Option<&[usize]>, cores| {
            RepeatConditions::from_readings(
                CpuTicks::parse_cpus(before, allowed).unwrap(),
                CpuTicks::parse_cpus(after, allowed).unwrap(),
                1000.0,
                1000.0,
                0,
                TICK_MS,
                cores,
            )
        };
        let one_cpu = window(Some(&[0]), 1);
        assert_eq!(one_cpu.foreign_cpu_cores(), 0.0);
        assert_eq!(
            judge_repeat(&one_cpu, sensitivity(true, 1, 1), None),
            Judgement::Quiet
        );
        // Counted over the whole machine, the hog on cpu1 was a whole core.
        let whole = window(None, 2);
        assert!((whole.foreign_cpu_cores() - 1.0).abs() < 1e-9);
        assert_ne!(
            judge_repeat(&whole, sensitivity(true, 1, 2), None),
            Judgement::Quiet
        );
    }

    #[test]
    fn foreign_time_is_busy_time_minus_the_cell_and_the_lab() {
        // 1 s window: 260 ticks busy = 2.6 s, the cell 2 s, the lab 0.1 s.
        let r = repeat(1000.0, 260, 2000.0, 10);
        assert!((r.foreign_cpu_ms() - 500.0).abs() < 1e-9);
        assert!((r.foreign_cpu_cores() - 0.5).abs() < 1e-9);
        assert!((r.resolution_cores() - 0.02).abs() < 1e-9);
        // Rounding never shows as negative load.
        assert_eq!(repeat(1000.0, 200, 2005.0, 0).foreign_cpu_cores(), 0.0);
    }

    #[test]
    fn a_quiet_repeat_is_quiet() {
        let r = repeat(1000.0, 201, 2000.0, 1);
        assert_eq!(judge_repeat(&r, all_cores_cpu(), None), Judgement::Quiet);
    }

    #[test]
    fn a_tenth_of_a_core_disturbs_a_cpu_cell_that_needs_every_core() {
        // 0.25 cores outside over 1 s: beyond 0.1 + 0.02 resolution.
        let r = repeat(1000.0, 225, 2000.0, 0);
        assert!(matches!(
            judge_repeat(&r, all_cores_cpu(), None),
            Judgement::Disturbed(why) if why.contains("0.25 cores")
        ));
    }

    #[test]
    fn a_sleep_cell_tolerates_far_more() {
        // A whole hog core beside a 1 s sleep cell on 2 cores: tolerated up to 1 core.
        let sleep = sensitivity(false, 2, 2);
        assert_eq!(sleep.max_outside_cores, 1.0);
        let r = repeat(1000.0, 95, 5.0, 0);
        assert_eq!(judge_repeat(&r, sleep, None), Judgement::Quiet);
        let r = repeat(1000.0, 150, 5.0, 0);
        assert!(matches!(
            judge_repeat(&r, sleep, None),
            Judgement::Disturbed(_)
        ));
    }

    #[test]
    fn a_cell_on_one_core_leaves_a_spare_one_to_absorb_load() {
        let one_core = sensitivity(true, 1, 2);
        assert_eq!(one_core.max_outside_cores, 0.5);
        assert_eq!(sensitivity(true, 1, 1).max_outside_cores, 0.1);
    }

    #[test]
    fn load_within_the_ticks_resolution_is_not_called_a_disturbance() {
        // A 50 ms window: one tick per core is 0.4 cores of resolution, so
        // one stray tick (0.2 cores) is not proof of anything.
        let r = repeat(50.0, 11, 100.0, 0);
        assert!((r.foreign_cpu_cores() - 0.2).abs() < 1e-9);
        assert_eq!(judge_repeat(&r, all_cores_cpu(), None), Judgement::Quiet);
        // A hog core over the same window is: 0.98 - 0.4 > 0.1.
        let hog = repeat(50.0, 15, 100.0, 0);
        assert!(matches!(
            judge_repeat(&hog, all_cores_cpu(), None),
            Judgement::Disturbed(_)
        ));
    }

    #[test]
    fn steal_counts_as_outside_load() {
        let before = CpuTicks::parse("cpu  0 0 0 0 0 0 0 0\n").unwrap();
        let after = CpuTicks::parse("cpu  200 0 0 0 0 0 0 50\n").unwrap();
        let r = RepeatConditions::from_readings(before, after, 1000.0, 2000.0, 0, TICK_MS, 2);
        assert_eq!(r.foreign_cpu_cores(), 0.0);
        assert!((r.steal_cores() - 0.5).abs() < 1e-9);
        assert!(matches!(
            judge_repeat(&r, all_cores_cpu(), None),
            Judgement::Disturbed(_)
        ));
    }

    #[test]
    fn an_invisibly_slowed_host_disturbs_cpu_cells_only() {
        let mut r = repeat(1000.0, 200, 2000.0, 0);
        r.kernel_rate_before = Some(100.0);
        r.kernel_rate_after = Some(80.0);
        assert!((r.kernel_slowdown(100.0).unwrap() - 0.2).abs() < 1e-9);
        assert!(matches!(
            judge_repeat(&r, all_cores_cpu(), Some(100.0)),
            Judgement::Disturbed(why) if why.contains("20 % slower")
        ));
        assert_eq!(
            judge_repeat(&r, sensitivity(false, 2, 2), Some(100.0)),
            Judgement::Quiet
        );
        // Within the tolerance: quiet.
        r.kernel_rate_after = Some(95.0);
        assert_eq!(
            judge_repeat(&r, all_cores_cpu(), Some(100.0)),
            Judgement::Quiet
        );
    }

    #[test]
    fn a_steady_modest_background_is_judged_on_the_capacity_left() {
        // A video call: about 0.3 cores in every repeat.
        let calls = [
            repeat(1000.0, 230, 2000.0, 0),
            repeat(1000.0, 232, 2000.0, 0),
            repeat(1000.0, 229, 2000.0, 0),
        ];
        let load = steady_background(&calls, all_cores_cpu(), None).unwrap();
        assert!((load - 0.30).abs() < 1e-9, "{load}");
        // A hog core is half this machine: too much to judge around.
        let hog = [
            repeat(1000.0, 300, 2000.0, 0),
            repeat(1000.0, 300, 2000.0, 0),
        ];
        assert_eq!(steady_background(&hog, all_cores_cpu(), None), None);
        // A burst in one repeat is not steady.
        let burst = [
            repeat(1000.0, 202, 2000.0, 0),
            repeat(1000.0, 245, 2000.0, 0),
        ];
        assert_eq!(steady_background(&burst, all_cores_cpu(), None), None);
        assert_eq!(steady_background(&[], all_cores_cpu(), None), None);
    }

    /// A repeat with a timed region of `region_ms` in which some task
    /// waited `pressure_ms` for a core, in an otherwise quiet 60 ms window
    /// on 2 cores (the cell used both cores during the region).
    fn short_repeat(region_ms: f64, pressure_ms: f64) -> RepeatConditions {
        let mut r = repeat(
            60.0,
            (region_ms * 2.0 / TICK_MS).round() as u64,
            region_ms * 2.0,
            0,
        );
        r.region_ms = region_ms;
        r.region_pressure_ms = Some(pressure_ms);
        r
    }

    #[test]
    fn a_short_repeat_beside_a_busy_core_is_seen_by_its_cpu_pressure() {
        // 2.5 ms of two computing threads beside a hog: one core holds two
        // runnable tasks all the time, which the kernel weighs as half the
        // region, one core's worth. The 10 ms ticks could not have said so.
        let hogged = short_repeat(2.5, 1.25);
        assert!((hogged.region_waiting_cores().unwrap() - 1.0).abs() < 1e-9);
        assert!(matches!(
            judge_repeat(&hogged, all_cores_cpu(), None),
            Judgement::Disturbed(why) if why.contains("waited for a core")
        ));
        // A quiet machine's housekeeping (the sampler, kernel threads) makes
        // the threads wait a few per cent of the time: not a disturbance.
        let quiet = short_repeat(2.5, 0.1);
        assert_eq!(
            judge_repeat(&quiet, all_cores_cpu(), None),
            Judgement::Quiet
        );
        // Housekeeping (0.3) plus the 0.1-core tolerance is 0.4 cores' worth,
        // 0.5 ms of this region: just within, and just beyond.
        let within = short_repeat(2.5, 0.45);
        assert_eq!(
            judge_repeat(&within, all_cores_cpu(), None),
            Judgement::Quiet
        );
        let edge = short_repeat(2.5, 0.55);
        assert!(matches!(
            judge_repeat(&edge, all_cores_cpu(), None),
            Judgement::Disturbed(_)
        ));
    }

    #[test]
    fn cpu_pressure_is_not_judged_where_the_cells_own_threads_queue() {
        // Ten threads computing on 2 cores wait for each other all the time.
        let many_threads = sensitivity(true, 10, 2);
        assert!(!many_threads.pressure_is_outside);
        let own_queueing = short_repeat(2.5, 2.5);
        assert_eq!(
            judge_repeat(&own_queueing, many_threads, None),
            Judgement::Quiet
        );
        // Nor for cells that mostly wait, nor without PSI.
        assert_eq!(
            judge_repeat(&own_queueing, sensitivity(false, 2, 2), None),
            Judgement::Quiet
        );
        let mut no_psi = short_repeat(2.5, 0.0);
        no_psi.region_pressure_ms = None;
        assert_eq!(no_psi.region_waiting_cores(), None);
        assert_eq!(
            judge_repeat(&no_psi, all_cores_cpu(), None),
            Judgement::Quiet
        );
    }

    #[test]
    fn a_cell_with_fewer_tasks_than_cores_has_a_spare_core() {
        // One task on a pool of 2 workers computes on one core.
        let one_task = sensitivity(true, 1, 2);
        assert_eq!(one_task.max_outside_cores, 0.5);
        assert!(one_task.pressure_is_outside);
        // Its thread sharing a core with a hog for the whole region is
        // still seen: the busy core waits all the time, the other idles.
        let shared = short_repeat(0.5, 0.5);
        assert!(matches!(
            judge_repeat(&shared, one_task, None),
            Judgement::Disturbed(_)
        ));
    }

    #[test]
    fn a_short_repeat_beside_a_busy_core_is_seen_in_its_widened_window() {
        // Without PSI: the 60 ms window holds 6 ticks of a hog core.
        let mut r = repeat(60.0, 6 + 1, 5.0, 0);
        r.region_ms = 2.5;
        assert!((r.resolution_cores() - 1.0 / 3.0).abs() < 1e-9);
        assert!(matches!(
            judge_repeat(&r, all_cores_cpu(), None),
            Judgement::Disturbed(why) if why.contains("other programs used")
        ));
        // Two stray ticks over the same window are within its doubt.
        let stray = repeat(60.0, 2 + 1, 5.0, 0);
        assert_eq!(
            judge_repeat(&stray, all_cores_cpu(), None),
            Judgement::Quiet
        );
    }

    #[test]
    fn only_short_repeats_that_compute_are_widened() {
        let short = Duration::from_millis(20);
        assert_eq!(window_padding(short, true), MIN_ACCOUNTED_WINDOW - short);
        assert_eq!(window_padding(short, false), Duration::ZERO);
        assert_eq!(window_padding(Duration::from_secs(1), true), Duration::ZERO);
    }

    #[test]
    fn a_steady_background_counts_the_cpu_pressure_too() {
        // The ticks saw a modest 0.2 cores, but the cell's threads waited a
        // core's worth: too much to judge around.
        let waited: Vec<RepeatConditions> = (0..3)
            .map(|_| {
                let mut r = repeat(1000.0, 220, 2000.0, 0);
                r.region_ms = 900.0;
                r.region_pressure_ms = Some(450.0);
                r
            })
            .collect();
        assert_eq!(steady_background(&waited, all_cores_cpu(), None), None);
        let not_judged = sensitivity(true, 10, 2);
        assert!(steady_background(&waited, not_judged, None).is_some());
    }

    #[test]
    fn on_busy_names_round_trip() {
        for name in OnBusy::NAMES {
            assert_eq!(OnBusy::parse(name).unwrap().as_str(), *name);
        }
        assert_eq!(OnBusy::parse("sometimes"), None);
        assert_eq!(BusyPolicy::default().on_busy, OnBusy::Retry);
    }
}
