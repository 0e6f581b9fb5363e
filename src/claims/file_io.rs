//! async-file-io: does async make reading files faster?
//!
//! The tokio tutorial lists "reading a lot of files" under *when not to use
//! Tokio*, and tokio's `fs` documentation says why: "most operating systems
//! do not provide asynchronous file system APIs", so tokio runs every file
//! operation on its `spawn_blocking` pool. async-std and smol (`unblock`) do
//! the same with the `blocking` crate's pool; monoio submits reads to
//! io_uring instead.
//!
//! The experiment is the lab's `file` and `file-cold` cells (each repeat in
//! its own process): [`TASKS`] tasks each read their own [`FILE_KIB`] KiB
//! file, from the page cache and after dropping it, with `std::fs` on a
//! thread pool and on a thread per task, and with every async runtime's own
//! file API. It compares wall times and shows the threads each runtime
//! started for the reads (`extra_threads` of the cell's record).

use super::precision::{self, unanimous, Estimate};
use super::{decide, figure, median_ms, threshold, Claim, Failure, Trial, Trials, Verdict};
use crate::model::{self, Style};
use crate::stats::interval::Side;

pub const CLAIM: Claim = Claim {
    id: "async-file-io",
    claim: "Async makes reading files faster.",
    demonstrates: None,
    experiment: "200 tasks each read their own 16 KiB file, from the page cache and dropped from it: std::fs on a thread pool and on a thread per task vs every async runtime's file API (tokio::fs, async-std's fs, smol's unblock: blocking thread pools; monoio: io_uring); wall time and the threads each started.",
    run,
};

/// Tasks per cell, each reading its own file.
const TASKS: u64 = 200;
/// Size of every task's file, KiB.
const FILE_KIB: u64 = 16;
/// The blocking models async is compared with: `std::fs` on a pool of
/// `cores` workers and on a thread per task. The faster of the two counts.
const BLOCKING_MODELS: [&str; 2] = ["thread-pool", "threads"];
/// Async reads files "faster" when its wall time is at most this fraction
/// of the faster blocking model's (the same bar as one-request-not-faster).
pub const FASTER_FRACTION_MAX: f64 = 0.8;

/// One model's cell in one case (warm or cold).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row {
    pub model: String,
    /// True for an async runtime.
    pub asynchronous: bool,
    /// Median wall time, ms.
    pub wall_ms: f64,
    /// Every repeat's wall, ms: the ratios' intervals come from these.
    pub wall_ms_repeats: Vec<f64>,
    /// Threads the run started beyond the runtime's own (its blocking pool,
    /// io_uring workers; for `threads`, a thread per task).
    pub extra_threads: u64,
    /// Cores other programs used, when the cell was marked disturbed.
    pub disturbed: Option<f64>,
}

/// The cells of one case: warm or cold files.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Case {
    pub cold: bool,
    /// Why the cold files were not cold (a tmpfs, pages the kernel kept):
    /// such a case is shown, not judged.
    pub not_cold: Option<String>,
    pub rows: Vec<Row>,
}

impl Case {
    fn name(&self) -> &'static str {
        if self.cold {
            "cold"
        } else {
            "warm"
        }
    }

    /// The faster blocking model's row.
    fn best_blocking(&self) -> Option<&Row> {
        self.rows
            .iter()
            .filter(|row| !row.asynchronous)
            .min_by(|a, b| a.wall_ms.total_cmp(&b.wall_ms))
    }
}

/// What the experiment measured.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Figures {
    /// Warm, then cold.
    pub cases: Vec<Case>,
    pub cores: usize,
    pub cell_commands: Vec<String>,
}

fn run(trials: &Trials) -> Trial {
    decide(measure(trials), judge)
}

/// The async models, from the registry: every runtime's own file API.
fn async_models() -> Vec<&'static str> {
    model::all()
        .iter()
        .filter(|model| model.style() == Style::Async)
        .map(|model| model.name())
        .collect()
}

/// The experiment: a `file` and a `file-cold` cell per model.
fn measure(trials: &Trials) -> Result<Figures, Failure> {
    let mut commands = Vec::new();
    let mut cases = Vec::new();
    for (workload, cold) in [("file", false), ("file-cold", true)] {
        let mut rows = Vec::new();
        let mut not_cold = None;
        let models = BLOCKING_MODELS
            .iter()
            .map(|name| (*name, false))
            .chain(async_models().into_iter().map(|name| (name, true)));
        for (name, asynchronous) in models {
            let spec = trials.spec(workload, name, TASKS).with_file_kib(FILE_KIB);
            let record = trials.cell(spec, trials.repeats());
            commands.push(record.command.clone());
            let wall_ms = median_ms(&record).map_err(|why| Failure::new(why, commands.clone()))?;
            if let Some(cache) = record
                .file_cache
                .as_ref()
                .filter(|c| c.cold && !c.really_cold)
            {
                not_cold.get_or_insert_with(|| {
                    cache.note.clone().unwrap_or_else(|| {
                        format!(
                            "{:.0} % of the files' pages stayed cached",
                            cache.resident_share_max * 100.0
                        )
                    })
                });
            }
            rows.push(Row {
                model: name.to_string(),
                asynchronous,
                wall_ms,
                wall_ms_repeats: if record.wall_ms_repeats.is_empty() {
                    vec![wall_ms]
                } else {
                    record.wall_ms_repeats.clone()
                },
                extra_threads: record.extra_threads.unwrap_or(0),
                disturbed: record
                    .disturbed
                    .then_some(record.conditions.foreign_cpu_cores_max),
            });
        }
        cases.push(Case {
            cold,
            not_cold,
            rows,
        });
    }
    Ok(Figures {
        cases,
        cores: trials.cores,
        cell_commands: commands,
    })
}

/// "tokio 12.3 ms (+4 threads)" for each row of a case.
fn case_text(case: &Case) -> String {
    let rows = case
        .rows
        .iter()
        .map(|row| {
            format!(
                "{} {:.1} ms (+{} threads)",
                row.model, row.wall_ms, row.extra_threads
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    match &case.not_cold {
        Some(why) => format!(
            "{}: {rows} — not judged: cold was not cold ({why})",
            case.name()
        ),
        None => format!("{}: {rows}", case.name()),
    }
}

/// The rule, a pure function of the figures: async "makes reading files
/// faster" where an async runtime's wall is at most [`FASTER_FRACTION_MAX`]
/// of the faster blocking model's, in a case that was measured as asked
/// (cold files really out of the page cache). Disturbed cells abstain.
pub(crate) fn judge(figures: &Figures) -> Trial {
    let Figures {
        cases,
        cores,
        cell_commands,
    } = figures;
    let thresholds = vec![threshold(
        "FASTER_FRACTION_MAX",
        FASTER_FRACTION_MAX,
        "async wall ≤ this × the faster blocking model's wall: async read the files faster",
    )];
    let measured = format!(
        "{TASKS} tasks × their own {FILE_KIB} KiB file, median wall and the threads each run started: {}.",
        cases.iter().map(case_text).collect::<Vec<_>>().join("; ")
    );
    let mut result_figures = Vec::new();
    for case in cases {
        for row in &case.rows {
            result_figures.push(figure(
                format!("{} {}: wall", case.name(), row.model),
                row.wall_ms,
                "ms",
            ));
            result_figures.push(figure(
                format!("{} {}: extra threads", case.name(), row.model),
                row.extra_threads as f64,
                "count",
            ));
        }
    }
    let disturbed: Vec<(&str, f64)> = cases
        .iter()
        .flat_map(|case| &case.rows)
        .filter_map(|row| Some((row.model.as_str(), row.disturbed?)))
        .collect();
    if !disturbed.is_empty() {
        let most = disturbed.iter().map(|(_, c)| *c).fold(0.0, f64::max);
        let mut models: Vec<&str> = disturbed.iter().map(|(m, _)| *m).collect();
        models.dedup();
        return Trial {
            measured,
            figures: result_figures,
            verdict: Verdict::NotMeasured,
            caveat: None,
            decided_by: format!(
                "not judged: other programs used up to {most:.2} cores during these cells ({}) — \
                 rerun on a quiet machine",
                models.join(", ")
            ),
            thresholds,
            cell_commands: cell_commands.clone(),
            chart: None,
        };
    }
    // (case, model, ratio to the faster blocking model with its 95 %
    // interval, extra threads) for every judged async cell.
    let mut estimates: Vec<(&str, &str, Estimate, u64)> = Vec::new();
    let mut bases = Vec::new();
    for case in cases.iter().filter(|case| case.not_cold.is_none()) {
        let Some(base) = case.best_blocking() else {
            continue;
        };
        bases.push(format!(
            "{} {} {:.1} ms",
            case.name(),
            base.model,
            base.wall_ms
        ));
        for row in case.rows.iter().filter(|row| row.asynchronous) {
            let ratio = Estimate::ratio(&row.wall_ms_repeats, &base.wall_ms_repeats)
                .unwrap_or_else(|| Estimate::exact(row.wall_ms / base.wall_ms.max(1e-9)));
            estimates.push((case.name(), row.model.as_str(), ratio, row.extra_threads));
        }
    }
    for (case, model, ratio, _) in &estimates {
        result_figures
            .push(ratio.figure(format!("{case} {model}: wall / faster blocking wall"), "x"));
    }
    let sides: Vec<Side> = estimates
        .iter()
        .map(|(_, _, ratio, _)| ratio.side(FASTER_FRACTION_MAX))
        .collect();
    let ratios: Vec<(&str, &str, f64, u64)> = estimates
        .iter()
        .map(|(case, model, ratio, extra)| (*case, *model, ratio.value, *extra))
        .collect();
    if ratios.is_empty() {
        return Trial {
            figures: result_figures,
            thresholds,
            ..Trial::not_measured(
                "no case could be judged: the cells lacked a blocking baseline or an async runtime",
                cell_commands.clone(),
            )
        };
    }
    // True = above the line = not faster.
    let outcome = |slower: &[bool]| (slower.iter().all(|s| !s), slower.iter().all(|s| *s));
    let Some((all_faster, none_faster)) = unanimous(&sides, outcome) else {
        let straddling: Vec<String> = estimates
            .iter()
            .zip(&sides)
            .filter(|(_, side)| **side == Side::TooClose)
            .map(|((case, model, ratio, _), _)| {
                precision::straddles(
                    &format!("{model} {case} wall / blocking ×"),
                    ratio,
                    FASTER_FRACTION_MAX,
                    2,
                )
            })
            .collect();
        let repeats = cases
            .iter()
            .flat_map(|case| &case.rows)
            .map(|row| row.wall_ms_repeats.len())
            .min()
            .unwrap_or(0);
        return precision::too_close(
            measured,
            result_figures,
            &straddling,
            repeats,
            thresholds,
            cell_commands.clone(),
        );
    };
    let faster: Vec<&(&str, &str, f64, u64)> = ratios
        .iter()
        .zip(&sides)
        .filter(|(_, side)| **side == Side::Below)
        .map(|(ratio, _)| ratio)
        .collect();
    let best = ratios
        .iter()
        .min_by(|a, b| a.2.total_cmp(&b.2))
        .expect("not empty");
    let pools: Vec<String> = cases
        .iter()
        .filter(|case| !case.cold)
        .flat_map(|case| case.rows.iter().filter(|row| row.asynchronous))
        .map(|row| format!("{} +{}", row.model, row.extra_threads))
        .collect();
    let (verdict, caveat) = if all_faster {
        (Verdict::Holds, None)
    } else if none_faster {
        (
            Verdict::DoesNotHold,
            Some(format!(
                "no async runtime read the files faster than std::fs on threads (best: {} {} at \
                 ×{:.2} of the blocking wall); they read through the same system calls, most of \
                 them handed to a pool of blocking threads (threads started, warm: {})",
                best.1,
                best.0,
                best.2,
                pools.join(", ")
            )),
        )
    } else {
        (
            Verdict::HoldsWithACaveat,
            Some(format!(
                "only for {} — the other async cells were not faster than std::fs on threads",
                faster
                    .iter()
                    .map(|(case, model, ratio, extra)| format!(
                        "{model} {case} (×{ratio:.2}, +{extra} threads)"
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        )
    };
    let skipped: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            case.not_cold
                .as_ref()
                .map(|why| format!("{} not judged ({why})", case.name()))
        })
        .collect();
    Trial {
        measured,
        figures: result_figures,
        verdict,
        caveat,
        decided_by: format!(
            "{} of {} async cells ≤ {FASTER_FRACTION_MAX} × the faster blocking wall ({}); best \
             async ×{:.2} ({} {}){}; workers = cores = {cores}",
            faster.len(),
            ratios.len(),
            bases.join(", "),
            best.2,
            best.1,
            best.0,
            if skipped.is_empty() {
                String::new()
            } else {
                format!("; {}", skipped.join("; "))
            }
        ),
        thresholds,
        cell_commands: cell_commands.clone(),
        chart: None,
    }
}

impl crate::claims::physics::Physical for Figures {
    /// Reading files takes time.
    fn check(&self) -> Result<(), String> {
        for case in &self.cases {
            for row in &case.rows {
                crate::claims::physics::ensure_wall(&row.model, row.wall_ms)?;
                for wall in &row.wall_ms_repeats {
                    crate::claims::physics::ensure_wall(&row.model, *wall)?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(model: &str, asynchronous: bool, wall_ms: f64, extra_threads: u64) -> Row {
        Row {
            model: model.into(),
            asynchronous,
            wall_ms,
            wall_ms_repeats: crate::claims::precision::spread::tight(wall_ms),
            extra_threads,
            disturbed: None,
        }
    }

    /// Warm and cold cases: the pool takes 10 ms warm and 40 ms cold; tokio
    /// and monoio take what they are given.
    fn figures(tokio: [f64; 2], monoio: [f64; 2]) -> Figures {
        let case = |cold: bool, i: usize, pool: f64| Case {
            cold,
            not_cold: None,
            rows: vec![
                row("thread-pool", false, pool, 0),
                row("threads", false, pool * 2.0, 200),
                row("tokio", true, tokio[i], 8),
                row("monoio", true, monoio[i], 0),
            ],
        };
        crate::claims::physics::possible(Figures {
            cases: vec![case(false, 0, 10.0), case(true, 1, 40.0)],
            cores: 2,
            cell_commands: vec![],
        })
    }

    #[test]
    fn no_faster_async_read_does_not_hold_and_names_the_pools() {
        let trial = judge(&figures([12.0, 45.0], [11.0, 41.0]));
        assert_eq!(trial.verdict, Verdict::DoesNotHold);
        let caveat = trial.caveat.unwrap();
        assert!(caveat.contains("tokio +8"), "{caveat}");
        assert!(
            trial.decided_by.starts_with("0 of 4 async cells"),
            "{}",
            trial.decided_by
        );
    }

    #[test]
    fn every_async_cell_clearly_faster_holds() {
        let trial = judge(&figures([7.0, 20.0], [5.0, 10.0]));
        assert_eq!(trial.verdict, Verdict::Holds);
        assert!(trial.caveat.is_none());
    }

    #[test]
    fn only_io_uring_cold_faster_holds_with_a_caveat_naming_it() {
        let trial = judge(&figures([12.0, 45.0], [11.0, 20.0]));
        assert_eq!(trial.verdict, Verdict::HoldsWithACaveat);
        let caveat = trial.caveat.unwrap();
        assert!(
            caveat.starts_with("only for monoio cold (×0.50"),
            "{caveat}"
        );
    }

    #[test]
    fn an_async_wall_whose_ratio_straddles_faster_is_too_close_to_call() {
        // monoio cold at 0.8 × the pool's 40 ms, its repeats 5 % apart.
        let mut close = figures([12.0, 45.0], [11.0, 32.0]);
        close.cases[1].rows[3].wall_ms_repeats =
            crate::claims::precision::spread::around(32.0, 0.05);
        let trial = judge(&crate::claims::physics::possible(close));
        assert_eq!(trial.verdict, Verdict::TooCloseToCall);
        assert!(
            trial
                .decided_by
                .contains("monoio cold wall / blocking ×0.80"),
            "{}",
            trial.decided_by
        );
    }

    #[test]
    fn a_disturbed_cell_is_not_judged() {
        let mut hogged = figures([7.0, 20.0], [5.0, 10.0]);
        hogged.cases[1].rows[2].disturbed = Some(0.9);
        let trial = judge(&hogged);
        assert_eq!(trial.verdict, Verdict::NotMeasured);
        assert!(trial
            .decided_by
            .starts_with("not judged: other programs used up to 0.90 cores"));
        assert!(!trial.figures.is_empty(), "the numbers are kept");
    }

    #[test]
    fn cold_files_that_stayed_cached_are_shown_not_judged() {
        let mut tmpfs = figures([12.0, 45.0], [11.0, 20.0]);
        tmpfs.cases[1].not_cold = Some("the files are on a tmpfs".into());
        let trial = judge(&tmpfs);
        // Only the warm case counts, and nothing there was faster.
        assert_eq!(trial.verdict, Verdict::DoesNotHold);
        assert!(trial
            .decided_by
            .contains("cold not judged (the files are on a tmpfs)"));
        assert!(trial.measured.contains("not judged: cold was not cold"));
    }

    #[test]
    fn without_a_blocking_baseline_nothing_is_judged() {
        let mut lonely = figures([12.0, 45.0], [11.0, 20.0]);
        for case in &mut lonely.cases {
            case.rows.retain(|row| row.asynchronous);
        }
        assert_eq!(judge(&lonely).verdict, Verdict::NotMeasured);
    }

    #[test]
    fn the_judge_gives_the_same_outcome_on_every_simulated_machine() {
        for machine in crate::claims::CpuTopology::simulated_machines() {
            for (tokio, monoio) in [([12.0, 45.0], [5.0, 20.0]), ([12.0, 45.0], [12.0, 45.0])] {
                let on_two = judge(&figures(tokio, monoio));
                let here = judge(&Figures {
                    cores: machine.usable_logical,
                    ..figures(tokio, monoio)
                });
                assert_eq!(here.verdict, on_two.verdict, "{machine:?}");
            }
        }
    }
}
