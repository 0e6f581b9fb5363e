//! Memory per unit of concurrency: what one more task (or thread) costs.
//!
//! Peak RSS of a cell is the runtime's fixed cost plus the cost of each task
//! it holds at once. Fitting a line through peak RSS at several task counts
//! separates the two: the slope is bytes per unit, the intercept the fixed
//! cost, and r² says how straight the line is (near 1: the cost really is
//! per unit; lower: something else moved the peak, such as allocator
//! behaviour or another process's noise).
//!
//! RSS counts only pages the process touched: a thread's 2 MiB stack is
//! reserved (virtual) in full but only the few pages it used are resident,
//! which is why the lab also fits peak virtual size. Neither includes the
//! kernel's own memory for each thread (its kernel stack, 16 KiB on x86-64,
//! and task structures), which is real but belongs to no process.

use crate::model;
use crate::record::memory::MemoryPerUnit;
use crate::record::result::CellRecord;
use crate::stats;

/// Fits peak RSS against tasks for every (workload, model, stack size) with
/// at least [`crate::record::memory::MIN_FIT_POINTS`] task counts among the cells that
/// [`crate::record::memory::MemoryRule::counts_for_memory`] (finished, every unit alive at once). Ordered as
/// `list` shows the models, default stacks before small ones.
pub fn memory_per_unit(records: &[CellRecord]) -> Vec<MemoryPerUnit> {
    let rule = model::memory_rule();
    type Key = (String, String, Option<u64>);
    let mut groups: Vec<(Key, Vec<&CellRecord>)> = Vec::new();
    for record in records.iter().filter(|r| rule.counts_for_memory(r)) {
        let key = (
            record.workload.clone(),
            record.model.clone(),
            record.stack_kib,
        );
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, members)) => members.push(record),
            None => groups.push((key, vec![record])),
        }
    }
    let mut fits: Vec<MemoryPerUnit> = groups
        .into_iter()
        .filter_map(|((workload, model, stack_kib), members)| {
            let fit = rule.fit_kib_per_unit(members.iter().copied())?;
            let virtual_fit = if members.iter().all(|r| r.peak_vm_kib > 0) {
                let points: Vec<(f64, f64)> = members
                    .iter()
                    .map(|r| (r.tasks as f64, r.peak_vm_kib as f64 * 1024.0))
                    .collect();
                stats::linear_fit(&points).map(|f| f.slope)
            } else {
                None
            };
            Some(MemoryPerUnit {
                workload,
                model,
                stack_kib,
                points: members.len(),
                tasks_min: members.iter().map(|r| r.tasks).min().unwrap_or(0),
                tasks_max: members.iter().map(|r| r.tasks).max().unwrap_or(0),
                bytes_per_unit: fit.slope * 1024.0,
                base_mib: fit.intercept / 1024.0,
                r_squared: fit.r_squared,
                virtual_bytes_per_unit: virtual_fit,
            })
        })
        .collect();
    let order = |name: &str| {
        model::names()
            .iter()
            .position(|n| *n == name)
            .unwrap_or(usize::MAX)
    };
    fits.sort_by(|a, b| {
        (
            a.workload.as_str(),
            order(&a.model),
            a.stack_kib.is_some(),
            a.stack_kib,
        )
            .cmp(&(
                b.workload.as_str(),
                order(&b.model),
                b.stack_kib.is_some(),
                b.stack_kib,
            ))
    });
    fits
}

fn kib(bytes: f64) -> String {
    format!("{:.2}", bytes / 1024.0)
}

/// The fits as a terminal table.
pub fn table(fits: &[MemoryPerUnit]) -> comfy_table::Table {
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_header([
        "model",
        "stack",
        "tasks",
        "KiB/unit resident",
        "r²",
        "base MiB",
        "KiB/unit virtual",
    ]);
    for fit in fits {
        table.add_row([
            model::label(&fit.model),
            fit.stack_kib
                .map_or_else(|| "default".to_string(), |k| format!("{k} KiB")),
            format!(
                "{}..{} ({} cells)",
                fit.tasks_min, fit.tasks_max, fit.points
            ),
            kib(fit.bytes_per_unit),
            format!("{:.3}", fit.r_squared),
            format!("{:.1}", fit.base_mib),
            fit.virtual_bytes_per_unit.map_or_else(|| "-".into(), kib),
        ]);
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::result::{LatencyMs, Machine, Status, WallMs};

    fn record(model: &str, tasks: u64, rss_kib: u64, stack_kib: Option<u64>) -> CellRecord {
        CellRecord {
            extra_repeats: 0,
            workload: "sleep".into(),
            model: model.into(),
            tasks,
            workers: 2,
            sleep_ms: 1000.0,
            cpu_us: 0.0,
            repeats: 1,
            wall_ms: WallMs::default(),
            ideal_ms: 1000.0,
            efficiency: 1.0,
            wall_ms_repeats: Vec::new(),
            wall_ms_ci: None,
            efficiency_ci: None,
            latency_ms: LatencyMs::default(),
            peak_rss_kib: rss_kib,
            // Every thread alive at the peak, and the main thread.
            peak_threads: tasks + 1,
            peak_vm_kib: 0,
            spawn_ms: None,
            cpu_user_ms: 0.0,
            cpu_sys_ms: 0.0,
            ctx_voluntary: 0,
            ctx_involuntary: 0,
            status: Status::Ok,
            error: None,
            machine: Machine::default(),
            legacy: false,
            reply_bytes: None,
            bytes_per_s: None,
            stack_kib,
            file_kib: None,
            file_cache: None,
            database: None,
            extra_threads: None,
            noisy: false,
            disturbed: false,
            conditions: Default::default(),
            profile: Some("memory".into()),
            started_unix_s: 0,
            command: String::new(),
            invocation: String::new(),
        }
    }

    #[test]
    fn slope_is_bytes_per_task_and_groups_are_separate() {
        // threads: 4 MiB base + 10 KiB per thread; with 64 KiB stacks: + 8 KiB.
        let mut records: Vec<CellRecord> = [1000u64, 2000, 5000]
            .iter()
            .flat_map(|&n| {
                [
                    record("threads", n, 4096 + 10 * n, None),
                    record("threads", n, 4096 + 8 * n, Some(64)),
                    record("tokio", n, 3000 + n / 2, None),
                ]
            })
            .collect();
        // Failed cells and single-count groups are left out.
        let mut failed = record("tokio", 9000, 1, None);
        failed.status = Status::Timeout;
        records.push(failed);
        records.push(record("smol", 1000, 5000, None));

        let fits = memory_per_unit(&records);
        let names: Vec<_> = fits
            .iter()
            .map(|f| (f.model.as_str(), f.stack_kib))
            .collect();
        assert_eq!(
            names,
            [("threads", None), ("threads", Some(64)), ("tokio", None)]
        );
        assert!((fits[0].bytes_per_unit - 10.0 * 1024.0).abs() < 1e-6);
        assert!((fits[0].base_mib - 4.0).abs() < 1e-9);
        assert!((fits[1].bytes_per_unit - 8.0 * 1024.0).abs() < 1e-6);
        assert!((fits[2].bytes_per_unit - 512.0).abs() < 1.0);
        assert!(fits.iter().all(|f| f.r_squared > 0.999 && f.points == 3));
        assert!(fits[0].virtual_bytes_per_unit.is_none());
    }

    #[test]
    fn cells_where_not_every_unit_was_alive_are_left_out_of_the_fit() {
        let mut late = record("threads", 4000, 4096 + 10 * 4000, None);
        late.peak_threads = 1_500; // threads ended before the last ones started
        let slow = WallMs {
            min: 2_500.0,
            median: 2_500.0,
            max: 2_500.0,
        };
        let mut slow_tasks = record("tokio", 4000, 9_999_999, None);
        slow_tasks.wall_ms = slow;
        let rule = model::memory_rule();
        assert!(!rule.all_alive_at_once(&late) && !rule.all_alive_at_once(&slow_tasks));
        let records = vec![
            record("threads", 1000, 4096 + 10 * 1000, None),
            record("threads", 2000, 4096 + 10 * 2000, None),
            late,
            record("tokio", 1000, 3000, None),
            slow_tasks,
        ];
        let fit = model::memory_rule()
            .fit_kib_per_unit(&records[..3])
            .unwrap();
        assert!((fit.slope - 10.0).abs() < 1e-9);
        // tokio keeps one valid count: fewer than MIN_FIT_POINTS, no fit.
        assert_eq!(model::memory_rule().fit_kib_per_unit(&records[3..]), None);
        let fits = memory_per_unit(&records);
        assert_eq!(fits.len(), 1);
        assert_eq!(fits[0].points, 2);
    }
}
