//! async-database: do async database drivers let a service handle more queries?
//!
//! Every source article names database queries as where async shines. The
//! experiment is the lab's `db` cells against a real, throwaway PostgreSQL
//! ([`crate::net::database`]): [`TASKS`] tasks at once, each taking a
//! connection from a pool of P and running `pg_sleep(`[`WAIT_MS`]` ms)`
//! and an indexed lookup, for P in [`POOLS`], under the thread-per-task
//! model (the `postgres` crate, r2d2) and the reference async runtime
//! (`tokio-postgres`, deadpool), both from the registry. A pool of P
//! connections runs at most P queries at once, so no model can pass P ÷
//! query time: the pool, not the driver, is the bound, and the physics
//! check refuses figures that pass it.
//!
//! The rule compares the two models' throughput at each pool size by the
//! 95 % bootstrap interval of the ratio of their median walls: async is
//! ahead, even or behind only when the whole interval is above, inside or
//! below the band [1/[`SAME_BAND`], [`SAME_BAND`]]; otherwise it is too
//! close to call. The claim is open both ways: a driver with a costlier
//! client could fall behind, a blocking pool of too few threads would let
//! async ahead.

use super::{decide, figure, physics, threshold, Claim, Failure, Trial, Trials, Verdict};
use crate::stats::interval::{ratio_of_medians, side_of_band, BandSide};

pub const CLAIM: Claim = Claim {
    id: "async-database",
    claim: "Async database drivers let a service handle more queries.",
    demonstrates: None,
    experiment: "1,000 tasks at once against a real PostgreSQL, each taking one of P pooled connections (P = 2, 8, 32) for SELECT FROM pg_sleep(20 ms) and an indexed lookup: a thread per task with the postgres crate (r2d2) vs tokio with tokio-postgres (deadpool); throughput against the pool's bound P ÷ query time.",
    run,
};

/// Tasks waiting at once.
pub const TASKS: u64 = 1000;
/// The database's wait per query, ms.
pub const WAIT_MS: f64 = 20.0;
/// The pool sizes.
pub const POOLS: [usize; 3] = [2, 8, 32];
/// Rows of the generated table: enough for an index to matter, loaded in a
/// few seconds.
const ROWS: u64 = 1_000_000;
/// Async and blocking handle "the same" queries per second when the ratio
/// of their throughputs lies within [1/this, this].
pub const SAME_BAND: f64 = 1.10;

/// One pool size: each model's wall per repeat, ms.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PoolCell {
    pub pool: usize,
    pub blocking_walls: Vec<f64>,
    pub async_walls: Vec<f64>,
}

/// What the experiment measured.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Figures {
    pub tasks: u64,
    pub wait_ms: f64,
    pub blocking: String,
    pub asynchronous: String,
    pub cells: Vec<PoolCell>,
    pub cell_commands: Vec<String>,
}

impl PoolCell {
    /// The least wall the pool allows: ⌈N/P⌉ waits.
    fn bound_ms(&self, tasks: u64, wait_ms: f64) -> f64 {
        tasks.div_ceil(self.pool.max(1) as u64) as f64 * wait_ms
    }
}

impl physics::Physical for Figures {
    /// No model passes the pool's bound: every wall holds ⌈N/P⌉ waits.
    fn check(&self) -> Result<(), String> {
        for cell in &self.cells {
            let least = cell.bound_ms(self.tasks, self.wait_ms);
            for (model, walls) in [
                (&self.blocking, &cell.blocking_walls),
                (&self.asynchronous, &cell.async_walls),
            ] {
                for &wall in walls {
                    physics::ensure_at_least(
                        &format!("{model} with a pool of {}", cell.pool),
                        wall,
                        least,
                    )?;
                }
            }
        }
        Ok(())
    }
}

fn run(trials: &Trials) -> Trial {
    if trials.budget() == super::Budget::Quick {
        return Trial::not_measured(
            "left out of the default report: it needs PostgreSQL and about two minutes \
             (`async-vs-blocking claims --only async-database`, or scripts/db_sweep.sh)",
            Vec::new(),
        );
    }
    decide(measure(trials), judge)
}

/// The experiment: one database, then a cell per model and pool size.
fn measure(trials: &Trials) -> Result<Figures, Failure> {
    let blocking = crate::model::thread_per_task();
    let asynchronous = crate::model::reference_async();
    for model in [blocking, asynchronous] {
        if model.database_driver().is_none() {
            return Err(Failure::new(
                format!("{} has no PostgreSQL driver", model.name()),
                Vec::new(),
            ));
        }
    }
    let exe = std::env::current_exe()
        .map_err(|e| Failure::new(format!("finding the lab's binary: {e}"), Vec::new()))?;
    let database = crate::net::database::Database::start(&exe, ROWS)
        .map_err(|e| Failure::new(format!("{e:#}"), Vec::new()))?;
    let target = database.ready.target();
    let mut commands = Vec::new();
    let mut cells = Vec::new();
    for pool in POOLS {
        let mut walls = Vec::new();
        for model in [blocking, asynchronous] {
            let spec = trials
                .spec("db", model.name(), TASKS)
                .with_sleep_ms(WAIT_MS)
                .with_pool(pool)
                .with_database(Some(target.clone()));
            let record = trials.cell(spec, trials.repeats());
            commands.push(record.command.clone());
            super::median_ms(&record).map_err(|why| Failure::new(why, commands.clone()))?;
            if record.disturbed {
                return Err(Failure::new(
                    format!(
                        "other programs used up to {:.2} cores during {} with a pool of {pool}: \
                         rerun on a quiet machine",
                        record.conditions.foreign_cpu_cores_max,
                        model.name()
                    ),
                    commands,
                ));
            }
            walls.push(record.wall_ms_repeats.clone());
        }
        let async_walls = walls.pop().unwrap_or_default();
        let blocking_walls = walls.pop().unwrap_or_default();
        cells.push(PoolCell {
            pool,
            blocking_walls,
            async_walls,
        });
    }
    Ok(Figures {
        tasks: TASKS,
        wait_ms: WAIT_MS,
        blocking: blocking.name().to_string(),
        asynchronous: asynchronous.name().to_string(),
        cells,
        cell_commands: commands,
    })
}

fn median(walls: &[f64]) -> f64 {
    crate::stats::median(walls)
}

/// The rule, a pure function of the figures: per pool size, the ratio of
/// async's throughput to blocking's (blocking wall ÷ async wall) against
/// the band [1/[`SAME_BAND`], [`SAME_BAND`]], judged by its interval.
/// Ahead at every pool: holds; at some: holds with a caveat; even or behind
/// everywhere: does not hold; otherwise too close to call (not judged).
pub(crate) fn judge(figures: &Figures) -> Trial {
    let Figures {
        tasks,
        wait_ms,
        blocking,
        asynchronous,
        cells,
        cell_commands,
    } = figures;
    let thresholds = vec![threshold(
        "SAME_BAND",
        SAME_BAND,
        "async ÷ blocking throughput inside [1/this, this] (whole 95 % interval): the same",
    )];
    let mut result_figures = Vec::new();
    let mut sides = Vec::new();
    let mut parts = Vec::new();
    for cell in cells {
        let bound_qps = cell.pool as f64 / (wait_ms / 1e3);
        let blocking_ms = median(&cell.blocking_walls);
        let async_ms = median(&cell.async_walls);
        let qps = |ms: f64| *tasks as f64 / (ms / 1e3);
        result_figures.push(figure(
            format!("pool {}: {blocking} queries/s", cell.pool),
            qps(blocking_ms),
            "1/s",
        ));
        result_figures.push(figure(
            format!("pool {}: {asynchronous} queries/s", cell.pool),
            qps(async_ms),
            "1/s",
        ));
        result_figures.push(figure(
            format!("pool {}: bound pool ÷ query time", cell.pool),
            bound_qps,
            "1/s",
        ));
        let Some(ratio) = ratio_of_medians(&cell.blocking_walls, &cell.async_walls) else {
            return Trial {
                figures: result_figures,
                thresholds,
                ..Trial::not_measured(
                    format!("pool {}: no walls to compare", cell.pool),
                    cell_commands.clone(),
                )
            };
        };
        let side = side_of_band(&ratio.interval, SAME_BAND);
        sides.push((cell.pool, side));
        parts.push(format!(
            "pool {}: {blocking} {:.0}/s, {asynchronous} {:.0}/s of a bound {:.0}/s, async ÷ \
             blocking ×{:.2} [{:.2}, {:.2}] ({})",
            cell.pool,
            qps(blocking_ms),
            qps(async_ms),
            bound_qps,
            ratio.ratio,
            ratio.interval.low,
            ratio.interval.high,
            match side {
                BandSide::Above => "async ahead",
                BandSide::Below => "async behind",
                BandSide::Within => "the same",
                BandSide::TooClose => "too close to call",
            }
        ));
    }
    let measured = format!(
        "{tasks} tasks at once, each one query of {wait_ms} ms in the database and a lookup, \
         median of the repeats: {}.",
        parts.join("; ")
    );
    let pools_where = |wanted: BandSide| -> Vec<String> {
        sides
            .iter()
            .filter(|(_, side)| *side == wanted)
            .map(|(pool, _)| pool.to_string())
            .collect()
    };
    let ahead = pools_where(BandSide::Above);
    let behind = pools_where(BandSide::Below);
    let close = pools_where(BandSide::TooClose);
    let n = sides.len();
    let (verdict, caveat) = if n == 0 {
        (Verdict::NotMeasured, None)
    } else if ahead.len() == n {
        (Verdict::Holds, None)
    } else if !ahead.is_empty() {
        (
            Verdict::HoldsWithACaveat,
            Some(format!(
                "only with a pool of {}: elsewhere the pool, not the driver, was the bound",
                ahead.join(", ")
            )),
        )
    } else if close.is_empty() {
        (
            Verdict::DoesNotHold,
            Some(if behind.is_empty() {
                "the pool is the bound: at every pool size both models served the same queries \
                 per second, capped at pool ÷ query time; async saves the threads that wait for \
                 a connection, it does not add database capacity"
                    .to_string()
            } else {
                format!(
                    "async served fewer queries with a pool of {} and the same elsewhere: the \
                     pool is the bound, and the driver's own cost decides the rest",
                    behind.join(", ")
                )
            }),
        )
    } else {
        (Verdict::NotMeasured, None)
    };
    let decided_by = if verdict == Verdict::NotMeasured && n > 0 {
        format!(
            "too close to call at this precision with a pool of {} (the interval straddles the \
             band ×1/{SAME_BAND}..×{SAME_BAND}); more repeats may decide",
            close.join(", ")
        )
    } else {
        format!(
            "async ahead {}, the same or behind elsewhere, band ×1/{SAME_BAND}..×{SAME_BAND} \
             on the 95 % interval of the throughput ratio",
            if ahead.is_empty() {
                "at no pool size".to_string()
            } else {
                format!("with a pool of {}", ahead.join(", "))
            }
        )
    };
    Trial {
        measured,
        figures: result_figures,
        verdict,
        caveat,
        decided_by,
        thresholds,
        cell_commands: cell_commands.clone(),
        chart: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::physics::Physical;

    /// Walls of five repeats around `ms` (±1 %).
    fn walls(ms: f64) -> Vec<f64> {
        [0.99, 0.995, 1.0, 1.005, 1.01]
            .iter()
            .map(|f| ms * f)
            .collect()
    }

    /// Figures where, at every pool, blocking takes `blocking` × the bound
    /// and async `asynchronous` × the bound (both ≥ 1: physically possible).
    fn figures(blocking: f64, asynchronous: f64) -> Figures {
        let cells = POOLS
            .iter()
            .map(|&pool| {
                let bound = TASKS.div_ceil(pool as u64) as f64 * WAIT_MS;
                PoolCell {
                    pool,
                    blocking_walls: walls(bound * blocking),
                    async_walls: walls(bound * asynchronous),
                }
            })
            .collect();
        Figures {
            tasks: TASKS,
            wait_ms: WAIT_MS,
            blocking: "threads".into(),
            asynchronous: "tokio".into(),
            cells,
            cell_commands: vec!["async-vs-blocking run --workload db".into()],
        }
    }

    #[test]
    fn even_at_the_pools_bound_does_not_hold() {
        let f = figures(1.05, 1.04);
        assert!(f.check().is_ok());
        let trial = judge(&f);
        assert_eq!(trial.verdict, Verdict::DoesNotHold, "{}", trial.decided_by);
        assert!(trial.caveat.unwrap().contains("the pool is the bound"));
        assert!(trial.measured.contains("pool 32"));
    }

    #[test]
    fn async_ahead_at_every_pool_holds() {
        // Blocking at half the bound's throughput (a starved thread pool).
        let f = figures(2.0, 1.05);
        assert!(f.check().is_ok());
        assert_eq!(judge(&f).verdict, Verdict::Holds);
    }

    #[test]
    fn async_ahead_at_one_pool_only_holds_with_a_caveat() {
        let mut f = figures(1.05, 1.05);
        let bound = TASKS.div_ceil(32) as f64 * WAIT_MS;
        f.cells[2].blocking_walls = walls(bound * 1.6);
        let trial = judge(&f);
        assert_eq!(trial.verdict, Verdict::HoldsWithACaveat);
        assert!(trial.caveat.unwrap().contains("32"));
    }

    #[test]
    fn async_behind_does_not_hold_and_says_so() {
        let f = figures(1.02, 1.5);
        assert!(f.check().is_ok());
        let trial = judge(&f);
        assert_eq!(trial.verdict, Verdict::DoesNotHold);
        assert!(trial.caveat.unwrap().contains("fewer queries"));
    }

    #[test]
    fn an_interval_across_the_band_is_too_close_to_call() {
        let mut f = figures(1.05, 1.05);
        // Async's repeats spread from even to 20 % slower: straddles 1.10.
        let bound = TASKS.div_ceil(2) as f64 * WAIT_MS;
        f.cells[0].async_walls = [1.0, 1.05, 1.1, 1.2, 1.26]
            .iter()
            .map(|x| bound * x)
            .collect();
        let trial = judge(&f);
        assert_eq!(trial.verdict, Verdict::NotMeasured);
        assert!(trial.decided_by.contains("too close to call"));
    }

    #[test]
    fn a_wall_faster_than_the_pool_allows_is_refused() {
        // 1,000 tasks through 2 connections cannot finish in 9 s.
        let f = figures(0.9, 1.05);
        assert!(f.check().is_err());
    }
}
