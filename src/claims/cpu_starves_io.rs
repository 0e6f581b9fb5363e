//! cpu-starves-io: a long computation between two awaits delays every other
//! task on the executor. The common rule of thumb: do at most 10–100 µs of
//! work between awaits.
//!
//! A probe stands for a latency-sensitive I/O task: an outside thread sends
//! it a timestamped message every 1 ms (as a socket would become readable),
//! and the probe task records how long each message waited before the task
//! ran — its scheduling delay, with microsecond resolution (not limited by
//! tokio's 1 ms timer). Meanwhile one CPU task per worker computes in
//! chunks of growing size, three ways:
//!
//! - inline: compute, then `yield_now().await` — the pitfall when chunks grow;
//! - `spawn_blocking(chunk).await` — the work moves to tokio's blocking pool;
//! - handed to a rayon pool, the answer bridged back with a oneshot channel.
//!
//! The runtime (workers = cores), the rayon pool (threads = cores) and the
//! blocking pool are built and warmed before anything is measured.

use super::precision::{self, unanimous, Estimate};
use super::{
    decide, figure, quantile, threshold, Band, Chart, Claim, Failure, Line, Trial, Trials, Verdict,
};
use crate::model::runtimes;
use crate::stats::interval::Side;
use crate::workload::compute;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const CLAIM: Claim = Claim {
    id: "cpu-starves-io",
    claim: "A long computation between awaits delays every other task (keep it under 10–100 µs).",
    demonstrates: None,
    experiment: "p99 scheduling delay of a 1 ms periodic probe task while one CPU task per worker computes chunks of 10 µs–10 ms: inline, spawn_blocking, rayon + oneshot.",
    run,
};

/// Chunk sizes between awaits, µs.
pub const CHUNKS_US: &[f64] = &[10.0, 30.0, 100.0, 300.0, 1_000.0, 3_000.0, 10_000.0];
/// One measuring window. Each (mode, chunk) point is measured in `WINDOWS`
/// windows, taken in turns with the other modes, and the median of the
/// windows' p99 is kept: a burst of outside load on a shared machine then
/// spoils one window, not the point.
const WINDOW: Duration = Duration::from_millis(100);
const WINDOWS: usize = 3;
/// The probe's period.
const PROBE_PERIOD: Duration = Duration::from_millis(1);
/// Extra p99 delay over the idle probe that still counts as harmless: half
/// the probe period — a probe delayed less than that has missed no tick.
pub const HARMLESS_EXTRA_US: f64 = 500.0;
/// Inline computation "delays other tasks" when, at the largest chunk, the
/// probe's p99 delay is at least this fraction of the chunk.
pub const STARVED_FRACTION: f64 = 0.5;
/// The rule of thumb's range of work between awaits, µs.
pub const GUIDANCE_MIN_US: f64 = 10.0;
pub const GUIDANCE_MAX_US: f64 = 100.0;
/// Outside load above this share of the usable CPUs makes the windows not
/// judged: the load runs on every core, so other programs' CPU competes with
/// the probe (0.1 core on 2 CPUs, 0.8 on 16). The figure is other programs'
/// CPU only: the machine's busy time minus this process's own (its
/// runtime, rayon pool and probe), as `busy.rs` accounts it.
pub const OUTSIDE_SHARE_MAX: f64 = 0.05;

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Mode {
    Inline,
    SpawnBlocking,
    Rayon,
}

impl Mode {
    fn label(self) -> &'static str {
        match self {
            Mode::Inline => "inline between awaits",
            Mode::SpawnBlocking => "spawn_blocking",
            Mode::Rayon => "rayon + oneshot",
        }
    }
}

/// One point: the probe's delays while the load ran, µs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ProbePoint {
    pub p99_us: f64,
    pub max_us: f64,
    pub samples: usize,
    /// The lowest and highest p99 of the point's windows: the interval of
    /// the median window's p99 (the min–max range of 3 windows, 75 %).
    pub p99_range_us: (f64, f64),
}

impl ProbePoint {
    /// The p99 with the interval its windows give.
    fn p99(&self) -> Estimate {
        let (low, high) = self.p99_range_us;
        Estimate {
            value: self.p99_us,
            interval: crate::stats::interval::median_interval(&[low, self.p99_us, high])
                .unwrap_or(Estimate::exact(self.p99_us).interval),
        }
    }
}

/// What the experiment measured.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Figures {
    /// (mode, chunk µs, the probe's delays) for every mode and chunk.
    pub points: Vec<(Mode, f64, ProbePoint)>,
    /// The probe with no load of ours (median p99 over the windows).
    pub idle: ProbePoint,
    /// Runtime workers = rayon threads = CPU tasks = cores.
    pub workers: usize,
    /// Cores other programs used during the windows, beyond the figure's
    /// resolution (the per-repeat accounting of `busy.rs`, over the whole
    /// experiment in this process).
    pub outside_cores: f64,
}

struct Setup {
    runtime: tokio::runtime::Runtime,
    pool: Arc<rayon::ThreadPool>,
    iters_per_us: f64,
    workers: usize,
}

/// Runs the probe for `WINDOW` while `workers` CPU tasks compute chunks of
/// `chunk_us` in `mode` (no CPU tasks when `chunk_us` is None).
fn probe(setup: &Setup, mode: Mode, chunk_us: Option<f64>) -> ProbePoint {
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel::<Instant>();
    let stop = Arc::new(AtomicBool::new(false));
    let sink = Arc::new(AtomicU64::new(0));
    let delays = setup.runtime.block_on(async {
        let probe = tokio::spawn(async move {
            let mut delays = Vec::with_capacity(512);
            while let Some(sent) = receiver.recv().await {
                delays.push(sent.elapsed().as_secs_f64() * 1e6);
            }
            delays
        });
        let mut loaders = Vec::new();
        if let Some(chunk_us) = chunk_us {
            let iterations = compute::iterations_for(chunk_us, setup.iters_per_us);
            for _ in 0..setup.workers {
                let stop = Arc::clone(&stop);
                let sink = Arc::clone(&sink);
                let pool = Arc::clone(&setup.pool);
                loaders.push(tokio::spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        let result = match mode {
                            Mode::Inline => {
                                let result = compute::spin(iterations);
                                tokio::task::yield_now().await;
                                result
                            }
                            Mode::SpawnBlocking => {
                                tokio::task::spawn_blocking(move || compute::spin(iterations))
                                    .await
                                    .unwrap_or(0)
                            }
                            Mode::Rayon => {
                                let (reply, answer) = tokio::sync::oneshot::channel();
                                pool.spawn(move || {
                                    let _ = reply.send(compute::spin(iterations));
                                });
                                answer.await.unwrap_or(0)
                            }
                        };
                        sink.fetch_add(result, Ordering::Relaxed);
                    }
                }));
            }
        }
        // The outside world: a message every period, stamped when sent.
        let ticker = std::thread::spawn(move || {
            let end = Instant::now() + WINDOW;
            while Instant::now() < end {
                std::thread::sleep(PROBE_PERIOD);
                if sender.send(Instant::now()).is_err() {
                    break;
                }
            }
        });
        let delays = probe.await.unwrap_or_default();
        let _ = ticker.join();
        stop.store(true, Ordering::Relaxed);
        for loader in loaders {
            let _ = loader.await;
        }
        delays
    });
    ProbePoint {
        p99_us: quantile(&delays, 0.99),
        max_us: quantile(&delays, 1.0),
        samples: delays.len(),
        p99_range_us: (quantile(&delays, 0.99), quantile(&delays, 0.99)),
    }
}

/// The window with the median p99 (its max and sample count with it).
fn median_window(windows: &[ProbePoint]) -> ProbePoint {
    let p99s: Vec<f64> = windows.iter().map(|w| w.p99_us).collect();
    let index = crate::stats::median_index(&p99s).unwrap_or(0);
    let low = p99s.iter().copied().fold(f64::INFINITY, f64::min);
    let high = p99s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    ProbePoint {
        samples: windows.iter().map(|w| w.samples).min().unwrap_or(0),
        p99_range_us: (low, high),
        ..windows[index]
    }
}

fn run(trials: &Trials) -> Trial {
    decide(measure(trials), judge)
}

/// The experiment: every (mode, chunk) point, in windows taken in turns.
fn measure(trials: &Trials) -> Result<Figures, Failure> {
    let workers = trials.cores;
    let runtime = runtimes::tokio_multi(&runtimes::workers(workers))
        .map_err(|error| Failure::new(format!("building tokio: {error}"), vec![]))?;
    // Every worker of the pool has started when it returns.
    let pool = runtimes::rayon_pool(&runtimes::workers(workers))
        .map(Arc::new)
        .map_err(|error| Failure::new(format!("building rayon: {error}"), vec![]))?;
    // Start as many blocking-pool threads as the load will use.
    runtime.block_on(async {
        let warm: Vec<_> = (0..workers)
            .map(|_| tokio::task::spawn_blocking(|| std::thread::sleep(Duration::from_millis(5))))
            .collect();
        for handle in warm {
            let _ = handle.await;
        }
    });
    let setup = Setup {
        runtime,
        pool,
        iters_per_us: compute::calibrate(),
        workers,
    };

    // Chunk by chunk, an idle probe and the three modes take turns, window
    // after window, so a burst of outside load hits neighbours alike.
    let modes = [Mode::Inline, Mode::SpawnBlocking, Mode::Rayon];
    let mut points: Vec<(Mode, f64, ProbePoint)> = Vec::new();
    let mut idle_p99s = Vec::new();
    let accounting = crate::lab::busy::Accounting::start();
    for &chunk in CHUNKS_US {
        let mut windows: Vec<Vec<ProbePoint>> = vec![Vec::new(); modes.len()];
        for _ in 0..WINDOWS {
            idle_p99s.push(probe(&setup, Mode::Inline, None).p99_us);
            for (index, &mode) in modes.iter().enumerate() {
                windows[index].push(probe(&setup, mode, Some(chunk)));
            }
        }
        for (index, &mode) in modes.iter().enumerate() {
            points.push((mode, chunk, median_window(&windows[index])));
        }
    }
    let idle = ProbePoint {
        p99_us: crate::stats::median(&idle_p99s),
        max_us: quantile(&idle_p99s, 1.0),
        samples: 0,
        p99_range_us: (quantile(&idle_p99s, 0.0), quantile(&idle_p99s, 1.0)),
    };
    let conditions = accounting.finish();
    let outside_cores = (conditions.foreign_cpu_cores() + conditions.steal_cores()
        - conditions.resolution_cores())
    .max(0.0);
    Ok(Figures {
        points,
        idle,
        workers,
        outside_cores,
    })
}

/// The rule, a pure function of the figures.
pub(crate) fn judge(figures: &Figures) -> Trial {
    let Figures {
        points,
        idle,
        workers,
        outside_cores,
    } = figures;
    let outside_cores = *outside_cores;
    let (idle, workers) = (*idle, *workers);
    let modes = [Mode::Inline, Mode::SpawnBlocking, Mode::Rayon];
    let at = |mode: Mode, chunk: f64| {
        points
            .iter()
            .find(|(m, c, _)| *m == mode && *c == chunk)
            .map_or(
                ProbePoint {
                    p99_us: f64::NAN,
                    max_us: f64::NAN,
                    samples: 0,
                    p99_range_us: (f64::NAN, f64::NAN),
                },
                |(_, _, p)| *p,
            )
    };
    let largest = *CHUNKS_US.last().expect("there are chunk sizes");
    let harmless_line = idle.p99_us + HARMLESS_EXTRA_US;
    let harmless = |p: ProbePoint| p.p99_us <= harmless_line;
    let inline_largest = at(Mode::Inline, largest);
    let starved_line = STARVED_FRACTION * largest;
    // The lines that decide, each p99 on the interval of its windows:
    // starved (above), the guidance chunk and both offloads harmless (below).
    let decisive = [
        (
            "inline p99 at the largest chunk",
            inline_largest,
            starved_line,
        ),
        (
            "inline p99 at the guidance chunk",
            at(Mode::Inline, GUIDANCE_MAX_US),
            harmless_line,
        ),
        (
            "spawn_blocking p99",
            at(Mode::SpawnBlocking, largest),
            harmless_line,
        ),
        ("rayon p99", at(Mode::Rayon, largest), harmless_line),
    ];
    let sides: Vec<Side> = decisive
        .iter()
        .map(|(_, point, line)| point.p99().side(*line))
        .collect();
    let outcome = |above: &[bool]| (above[0], above[1..].iter().all(|a| !a));
    let decided = unanimous(&sides, outcome);
    let guidance_ok = harmless(at(Mode::Inline, GUIDANCE_MAX_US)) && sides[1] != Side::Above;
    // The largest chunk such that it and every smaller one stayed harmless.
    let largest_harmless_inline = CHUNKS_US
        .iter()
        .copied()
        .take_while(|&c| harmless(at(Mode::Inline, c)))
        .last()
        .unwrap_or(0.0);
    let offload_ok: Vec<(Mode, ProbePoint, bool)> = [Mode::SpawnBlocking, Mode::Rayon]
        .iter()
        .map(|&m| (m, at(m, largest), harmless(at(m, largest))))
        .collect();

    let mut caveats = Vec::new();
    if !guidance_ok {
        caveats.push(format!(
            "even {GUIDANCE_MAX_US:.0} µs chunks pushed the probe's p99 to {:.0} µs here (idle {:.0} µs)",
            at(Mode::Inline, GUIDANCE_MAX_US).p99_us,
            idle.p99_us
        ));
    }
    for (mode, point, ok) in &offload_ok {
        if !ok {
            caveats.push(format!(
                "{} kept the runtime's workers free, yet the probe's p99 was {:.0} µs at {largest:.0} µs chunks (idle {:.0} µs): \
                 the offloaded computation still competed with the probe for the {workers} core(s)",
                mode.label(),
                point.p99_us,
                idle.p99_us
            ));
        }
    }
    // Without any load of ours, the probe should be on time; when it is not,
    // other processes delay it as much as the effect under test.
    // The load runs on every core, so a small share of the cores used by
    // other programs already competes with the probe.
    let outside_gate = OUTSIDE_SHARE_MAX * workers.max(1) as f64;
    let others_busy = outside_cores > outside_gate;
    let too_busy = idle.p99_us > HARMLESS_EXTRA_US || others_busy;
    let verdict = match (too_busy, decided) {
        (true, _) => Verdict::NotMeasured,
        (false, None) => Verdict::TooCloseToCall,
        (false, Some((false, _))) => Verdict::DoesNotHold,
        (false, Some((true, true))) => Verdict::Holds,
        (false, Some((true, false))) => Verdict::HoldsWithACaveat,
    };
    let straddling: Vec<String> = decisive
        .iter()
        .zip(&sides)
        .filter(|(_, side)| **side == Side::TooClose)
        .map(|((what, point, line), _)| {
            precision::straddles(&format!("{what} "), &point.p99(), *line, 0)
        })
        .collect();
    if too_busy || verdict == Verdict::TooCloseToCall {
        caveats.clear();
    }

    let mut lines: Vec<Line> = modes
        .iter()
        .map(|&mode| Line {
            label: mode.label().into(),
            points: CHUNKS_US
                .iter()
                .map(|&c| [c, at(mode, c).p99_us / 1e3])
                .collect(),
        })
        .collect();
    lines.push(Line {
        label: "idle probe (no CPU load)".into(),
        points: vec![
            [CHUNKS_US[0], idle.p99_us / 1e3],
            [largest, idle.p99_us / 1e3],
        ],
    });
    let chart = Chart {
        title: "A 1 ms probe task's p99 delay while CPU chunks run".into(),
        x_label: "CPU µs between awaits (log scale)".into(),
        y_label: "probe p99 delay, ms".into(),
        x_log: true,
        lines,
        marks: Vec::new(),
        bands: vec![Band {
            from: GUIDANCE_MIN_US,
            to: GUIDANCE_MAX_US,
            label: format!("rule of thumb: {GUIDANCE_MIN_US:.0}–{GUIDANCE_MAX_US:.0} µs"),
        }],
        note: format!(
            "Where a line leaves the idle probe's level, chunks of that size between two \
             awaits delayed the other tasks; the rule of thumb says chunks inside the band \
             are harmless. Offloading (spawn_blocking, rayon) frees the runtime's \
             {workers} workers; where an offloaded line still leaves the idle level, the \
             computation still competed with the probe for the cores."
        ),
    };

    let mut figures = vec![figure(
        "idle probe p99 (median over the chunk sizes)",
        idle.p99_us,
        "µs",
    )];
    for (mode, chunk, point) in points {
        figures.push(figure(
            format!("{} {chunk:.0} µs: probe p99", mode.label()),
            point.p99_us,
            "µs",
        ));
        figures.push(figure(
            format!("{} {chunk:.0} µs: probe max", mode.label()),
            point.max_us,
            "µs",
        ));
    }
    let row = |mode: Mode| {
        [10.0, 100.0, 1_000.0, largest]
            .iter()
            .map(|&c| format!("{:.0}", at(mode, c).p99_us))
            .collect::<Vec<_>>()
            .join(" / ")
    };
    let samples = points.iter().map(|(_, _, p)| p.samples).min().unwrap_or(0);
    Trial {
        measured: format!(
            "probe p99 delay (µs) at 10 / 100 / 1,000 / 10,000 µs chunks — inline: {}; spawn_blocking: {}; rayon: {}; idle {:.0} µs (median; worst idle {:.0}). \
             {}. (median of {WINDOWS} windows of ≥ {samples} probes per point)",
            row(Mode::Inline),
            row(Mode::SpawnBlocking),
            row(Mode::Rayon),
            idle.p99_us,
            idle.max_us,
            if largest_harmless_inline > 0.0 {
                format!(
                    "Inline stayed within {HARMLESS_EXTRA_US:.0} µs of idle for every chunk up to {largest_harmless_inline:.0} µs"
                )
            } else {
                format!(
                    "Inline was more than {HARMLESS_EXTRA_US:.0} µs later than idle even at the smallest chunk ({:.0} µs)",
                    CHUNKS_US[0]
                )
            },
        ),
        figures,
        verdict,
        caveat: (!caveats.is_empty()).then(|| caveats.join("; ")),
        decided_by: format!(
            "{}inline p99 at {largest:.0} µs chunks {:.0} µs vs {STARVED_FRACTION} × chunk; at {GUIDANCE_MAX_US:.0} µs {:.0} µs vs idle {:.0} + {HARMLESS_EXTRA_US:.0} µs; \
             offloaded at {largest:.0} µs: {}; {workers} workers = cores",
            if others_busy {
                format!(
                    "not judged: other programs used {outside_cores:.2} cores during these windows (judging needs ≤ {outside_gate:.2}, {OUTSIDE_SHARE_MAX} of {workers} CPUs) — rerun on a quiet machine. "
                )
            } else if too_busy {
                format!(
                    "the machine was too busy to judge: with no load of ours the probe's p99 was {:.0} µs (> {HARMLESS_EXTRA_US:.0}). ",
                    idle.p99_us
                )
            } else if verdict == Verdict::TooCloseToCall {
                format!(
                    "too close to call at this precision: {} (intervals: the range of {WINDOWS} windows' p99). ",
                    straddling.join("; ")
                )
            } else {
                String::new()
            },
            inline_largest.p99_us,
            at(Mode::Inline, GUIDANCE_MAX_US).p99_us,
            idle.p99_us,
            offload_ok
                .iter()
                .map(|(m, p, _)| format!("{} {:.0} µs", m.label(), p.p99_us))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        thresholds: vec![
            threshold(
                "STARVED_FRACTION",
                STARVED_FRACTION,
                "inline p99 at the largest chunk ≥ this × chunk: the computation delays other tasks",
            ),
            threshold(
                "HARMLESS_EXTRA_US",
                HARMLESS_EXTRA_US,
                "p99 within this many µs of the idle probe: harmless (half the probe period); an idle probe later than this: too busy to judge",
            ),
            threshold(
                "GUIDANCE_MAX_US",
                GUIDANCE_MAX_US,
                "the rule of thumb's upper end, checked for harmlessness",
            ),
            threshold(
                "OUTSIDE_SHARE_MAX",
                OUTSIDE_SHARE_MAX,
                &format!(
                    "other programs may use at most this share of the {workers} usable CPUs = {outside_gate:.2} cores (this process's own CPU not counted)"
                ),
            ),
        ],
        cell_commands: vec![],
        chart: Some(chart),
    }
}

impl crate::claims::physics::Physical for Figures {
    /// A probe's p99 is a delay no larger than its maximum; outside load is
    /// at least none.
    fn check(&self) -> Result<(), String> {
        use crate::claims::physics::ensure;
        for (mode, chunk, point) in
            self.points
                .iter()
                .chain(std::iter::once(&(Mode::Inline, 0.0, self.idle)))
        {
            ensure(
                point.p99_us >= 0.0 && point.p99_us.is_finite() && point.p99_us <= point.max_us,
                || {
                    format!(
                        "{} at {chunk} µs: p99 {} µs, max {} µs",
                        mode.label(),
                        point.p99_us,
                        point.max_us
                    )
                },
            )?;
            let (low, high) = point.p99_range_us;
            ensure(low <= point.p99_us && point.p99_us <= high, || {
                format!(
                    "{} at {chunk} µs: p99 {} µs outside its windows' range {low}–{high} µs",
                    mode.label(),
                    point.p99_us
                )
            })?;
        }
        ensure(self.outside_cores >= 0.0, || {
            format!("outside load of {} cores", self.outside_cores)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::physics::possible;
    use crate::claims::CpuTopology;

    fn point(p99_us: f64) -> ProbePoint {
        ProbePoint {
            p99_us,
            max_us: p99_us * 1.01,
            samples: 100,
            p99_range_us: (p99_us * 0.99, p99_us * 1.01),
        }
    }

    /// Invented figures on `machine`: the inline probe delay grows with
    /// the chunk (`inline_of(chunk)`), offloaded modes stay at `offloaded`
    /// µs. Checked against physics.
    fn figures_on(
        machine: CpuTopology,
        idle: f64,
        inline_of: impl Fn(f64) -> f64,
        offloaded: f64,
    ) -> Figures {
        let mut points = Vec::new();
        for &chunk in CHUNKS_US {
            points.push((Mode::Inline, chunk, point(inline_of(chunk))));
            points.push((Mode::SpawnBlocking, chunk, point(offloaded)));
            points.push((Mode::Rayon, chunk, point(offloaded)));
        }
        possible(Figures {
            points,
            idle: point(idle),
            workers: machine.usable_logical,
            outside_cores: 0.0,
        })
    }

    #[test]
    fn every_outcome_is_reached_on_every_simulated_machine() {
        for machine in CpuTopology::simulated_machines() {
            let figures = |idle, inline_of: fn(f64) -> f64, offloaded| {
                figures_on(machine, idle, inline_of, offloaded)
            };
            let holds = judge(&figures(60.0, |chunk| chunk + 60.0, 80.0));
            assert_eq!(holds.verdict, Verdict::Holds, "{machine:?}");
            assert!(holds.chart.is_some());
            let caveat = judge(&figures(60.0, |chunk| chunk + 60.0, 4_000.0));
            assert_eq!(caveat.verdict, Verdict::HoldsWithACaveat, "{machine:?}");
            let caveat = caveat.caveat.unwrap();
            assert!(caveat.contains("p99 was 4000 µs"), "{caveat}");
            assert_eq!(
                judge(&figures(60.0, |_| 70.0, 80.0)).verdict,
                Verdict::DoesNotHold,
                "{machine:?}"
            );
            let late = judge(&figures(2_000.0, |chunk| chunk + 60.0, 80.0));
            assert_eq!(late.verdict, Verdict::NotMeasured);
            assert_eq!(late.caveat, None);
        }
    }

    #[test]
    fn an_inline_p99_whose_windows_straddle_starved_is_too_close_to_call() {
        for machine in CpuTopology::simulated_machines() {
            let largest = *CHUNKS_US.last().unwrap();
            let mut figures = figures_on(machine, 60.0, |chunk| chunk + 60.0, 80.0);
            for (mode, chunk, point) in &mut figures.points {
                if *mode == Mode::Inline && *chunk == largest {
                    let line = STARVED_FRACTION * largest;
                    *point = ProbePoint {
                        p99_us: line,
                        max_us: largest,
                        samples: 100,
                        p99_range_us: (line * 0.8, line * 1.2),
                    };
                }
            }
            let trial = judge(&possible(figures));
            assert_eq!(trial.verdict, Verdict::TooCloseToCall, "{machine:?}");
            assert!(trial.caveat.is_none());
            assert!(
                trial.decided_by.starts_with(
                    "too close to call at this precision: inline p99 at the largest chunk"
                ),
                "{}",
                trial.decided_by
            );
        }
    }

    #[test]
    fn the_outside_load_gate_is_a_share_of_the_machines_cpus() {
        let hogged = |machine: CpuTopology, outside_cores| {
            let mut figures = figures_on(machine, 60.0, |chunk| chunk + 60.0, 80.0);
            figures.outside_cores = outside_cores;
            judge(&possible(figures))
        };
        let two = hogged(CpuTopology::simulated(2, 2), 0.5);
        assert_eq!(two.verdict, Verdict::NotMeasured);
        assert!(
            two.decided_by
                .starts_with("not judged: other programs used 0.50 cores"),
            "{}",
            two.decided_by
        );
        // Half a core on a 16-CPU laptop leaves the probe its cores.
        assert_eq!(
            hogged(CpuTopology::simulated(16, 8), 0.5).verdict,
            Verdict::Holds
        );
        assert_eq!(
            hogged(CpuTopology::simulated(64, 32), 2.0).verdict,
            Verdict::Holds
        );
    }

    #[test]
    fn a_p99_beyond_its_maximum_is_impossible() {
        let mut figures = figures_on(CpuTopology::simulated(2, 2), 60.0, |c| c, 80.0);
        figures.idle.max_us = 10.0;
        assert!(crate::claims::physics::Physical::check(&figures).is_err());
    }
}
