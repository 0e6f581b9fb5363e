//! Memory per unit of concurrency as records see it: which cells may enter
//! a fit of peak memory against tasks ([`MemoryRule`]), the fit itself, and
//! the fits' record (`memory.json`, [`MemoryPerUnit`]). One rule for every
//! place that computes memory per unit: `sweep`, the report and the claims.
//!
//! Whether a model gives every task its own thread is the model's to say
//! (`Model::thread_per_task`); records sit below the models, so the caller
//! builds the rule from the registry (`crate::model::memory_rule`).

use crate::record::result::{CellRecord, Status};
use crate::stats;
use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The fewest valid cells (distinct task counts) memory per unit is
/// computed from, everywhere: `sweep`, the report and the claims. A slope
/// needs two; with only two the line fits exactly, so r² says nothing and
/// the report says so.
pub const MIN_FIT_POINTS: usize = 2;

/// One model's memory per unit, from a linear fit over its cells.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryPerUnit {
    pub workload: String,
    pub model: String,
    /// Thread stack size asked for (null: the platform's default).
    pub stack_kib: Option<u64>,
    /// Cells in the fit.
    pub points: usize,
    pub tasks_min: u64,
    pub tasks_max: u64,
    /// Slope of peak RSS against tasks: resident bytes per task (or thread).
    pub bytes_per_unit: f64,
    /// Intercept of that line: the fixed resident cost, MiB.
    pub base_mib: f64,
    /// Fit quality of the RSS line (1.0: a perfect line).
    pub r_squared: f64,
    /// Slope of peak virtual size against tasks (null when not recorded).
    pub virtual_bytes_per_unit: Option<f64>,
}

/// Which cells count for memory per unit.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MemoryRule {
    /// The models that give every task its own thread: their cells had
    /// every unit alive when the peak thread count reached the task count.
    pub thread_per_task: Vec<String>,
}

impl MemoryRule {
    /// Whether every unit of a `sleep` cell was alive at the same moment — the
    /// condition for its peak RSS to count every unit's memory.
    ///
    /// For a model that gives every task its own thread, the peak thread
    /// count shows it. For tasks: each task ends
    /// one wait after it started, so if the whole run took less than two waits,
    /// the last task started before the first one could end.
    pub fn all_alive_at_once(&self, record: &CellRecord) -> bool {
        if self.thread_per_task.contains(&record.model) {
            record.peak_threads >= record.tasks
        } else {
            record.sleep_ms > 0.0 && record.wall_ms.max < 2.0 * record.sleep_ms
        }
    }

    /// Whether a cell may enter a memory-per-unit fit: it finished, recorded
    /// its peak, and every unit was alive at once. The one rule for every
    /// place that computes memory per unit.
    pub fn counts_for_memory(&self, record: &CellRecord) -> bool {
        record.status == Status::Ok && record.peak_rss_kib > 0 && self.all_alive_at_once(record)
    }

    /// Memory per unit from `records` by the one rule: the line through peak
    /// RSS (KiB) against tasks over the cells that [`MemoryRule::counts_for_memory`], if
    /// they cover at least [`MIN_FIT_POINTS`] task counts. The slope is KiB per
    /// unit.
    pub fn fit_kib_per_unit<'a>(
        &self,
        records: impl IntoIterator<Item = &'a CellRecord>,
    ) -> Option<stats::LinearFit> {
        let points: Vec<(f64, f64)> = records
            .into_iter()
            .filter(|r| self.counts_for_memory(r))
            .map(|r| (r.tasks as f64, r.peak_rss_kib as f64))
            .collect();
        let mut counts: Vec<u64> = points.iter().map(|(t, _)| *t as u64).collect();
        counts.sort_unstable();
        counts.dedup();
        if counts.len() < MIN_FIT_POINTS {
            return None;
        }
        stats::linear_fit(&points)
    }
}

/// Writes the fits to `dir/memory.json` (pretty JSON array) and returns the path.
pub fn write_json(dir: &Path, fits: &[MemoryPerUnit]) -> anyhow::Result<PathBuf> {
    let path = crate::os::output::path_in(dir, "memory.json")?;
    let text = serde_json::to_string_pretty(fits).context("encoding memory.json")?;
    crate::os::output::replace_file(&path, (text + "\n").as_bytes())?;
    Ok(path)
}
