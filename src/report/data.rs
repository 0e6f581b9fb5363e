//! The report's view of the records: machines, workload variants, one
//! series per model (and machine), and the figures computed from them —
//! verdicts, memory per unit, speedup. Everything here is derived from the
//! records; nothing is written in advance.

use crate::model;
use crate::record::result::{CellRecord, Machine, Status};
use crate::stats::interval::{side_of_line, Interval, IntervalMethod, Side};
use crate::stats::{self, LinearFit};
use crate::workload;
use std::collections::{BTreeMap, HashMap};

/// Efficiency at or above this counts as "within 90% of the ideal".
pub const GOOD_EFFICIENCY: f64 = crate::record::result::GOOD_EFFICIENCY;

/// Records merged from one or more files, one per cell.
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    /// One record per (workload variant, model, machine, stack, tasks): the
    /// latest measurement when a cell appears more than once.
    pub records: Vec<CellRecord>,
    /// The distinct machines, in order of first appearance.
    pub machines: Vec<Machine>,
    /// Records replaced by a later measurement of the same cell.
    pub superseded: usize,
}

/// What makes two records one cell (merged, the latest kept): the
/// variant, model, tasks, stack and machine. Floats by their bits, as
/// [`Variant`]'s `==` compares them (-0.0 made 0.0; NaN, which no record
/// holds, would differ).
#[derive(PartialEq, Eq, Hash)]
struct CellKey {
    workload: String,
    sleep_ms: u64,
    cpu_us: u64,
    file_kib: Option<u64>,
    pool: Option<u64>,
    model: String,
    tasks: u64,
    stack_kib: Option<u64>,
    machine: usize,
}

/// Two records come from the same machine when these agree (the record has
/// no host name; rustc or limits may change between runs on one machine).
pub fn same_machine(a: &Machine, b: &Machine) -> bool {
    a.cpu_model == b.cpu_model && a.cores == b.cores && a.kernel == b.kernel
}

/// A workload with its parameters: cells of different waits or compute
/// sizes are never drawn on one line.
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    pub workload: String,
    pub sleep_ms: f64,
    pub cpu_us: f64,
    /// The file each task reads, KiB (`file` workloads).
    pub file_kib: Option<u64>,
    /// The database pool's connections (`db` workload).
    pub pool: Option<u64>,
}

impl Variant {
    fn of(record: &CellRecord) -> Variant {
        Variant {
            workload: record.workload.clone(),
            sleep_ms: record.sleep_ms,
            cpu_us: record.cpu_us,
            file_kib: record.file_kib,
            pool: record.database.as_ref().map(|d| d.pool),
        }
    }

    fn matches(&self, record: &CellRecord) -> bool {
        record.workload == self.workload
            && record.sleep_ms == self.sleep_ms
            && record.cpu_us == self.cpu_us
            && record.file_kib == self.file_kib
            && record.database.as_ref().map(|d| d.pool) == self.pool
    }

    /// What each task does, e.g. "20 ms wait, then 500 µs compute".
    pub fn parameters(&self) -> String {
        if let Some(kib) = self.file_kib {
            return format!("reads its own {kib} KiB file");
        }
        if let Some(pool) = self.pool {
            return format!(
                "{} ms pg_sleep and a lookup per task, through a pool of {pool} connections",
                number(self.sleep_ms)
            );
        }
        match (self.sleep_ms > 0.0, self.cpu_us > 0.0) {
            (true, true) => format!(
                "{} ms wait, then {} µs compute per task",
                number(self.sleep_ms),
                number(self.cpu_us)
            ),
            (true, false) => format!("{} ms wait per task", number(self.sleep_ms)),
            (false, true) => format!("{} µs compute per task", number(self.cpu_us)),
            (false, false) => "no wait, no compute".to_string(),
        }
    }

    /// True when the workload waits (simulated or real I/O).
    pub fn waits(&self) -> bool {
        self.sleep_ms > 0.0 || self.workload == "socket"
    }

    /// True when the workload computes.
    pub fn computes(&self) -> bool {
        self.cpu_us > 0.0
    }

    /// True when every task reads a file.
    pub fn reads_files(&self) -> bool {
        self.file_kib.is_some()
    }
}

/// Formats a parameter without trailing zeros: 20, 0.5, 1000.
pub fn number(value: f64) -> String {
    let text = format!("{value:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Formats a count with thousands separators: 10,000.
pub fn count(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// Formats a byte count: "312 B", "8.8 KiB", "12.5 MiB".
pub fn bytes(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude >= 1024.0 * 1024.0 {
        format!("{:.1} MiB", value / (1024.0 * 1024.0))
    } else if magnitude >= 1024.0 {
        format!("{:.1} KiB", value / 1024.0)
    } else {
        format!("{value:.0} B")
    }
}

/// Formats milliseconds with a precision that suits their size.
pub fn ms(value: f64) -> String {
    if value < 1.0 {
        format!("{value:.3}")
    } else if value < 100.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.0}")
    }
}

/// One line on a chart: a model on one machine (with one stack size).
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesKey {
    pub model: String,
    pub machine: usize,
    pub stack_kib: Option<u64>,
}

/// A series and its records, ordered by task count.
#[derive(Debug, Clone)]
pub struct Series<'a> {
    pub key: SeriesKey,
    /// The legend text.
    pub label: String,
    pub records: Vec<&'a CellRecord>,
}

impl<'a> Series<'a> {
    /// Records that finished.
    pub fn ok(&self) -> impl Iterator<Item = &'a CellRecord> + '_ {
        self.records
            .iter()
            .copied()
            .filter(|r| r.status == Status::Ok)
    }

    /// Records that failed or timed out.
    pub fn unfinished(&self) -> impl Iterator<Item = &'a CellRecord> + '_ {
        self.records
            .iter()
            .copied()
            .filter(|r| r.status != Status::Ok)
    }
}

/// The order models appear in: the lab's own order, then the Python
/// mirror's, other names last.
fn model_rank(name: &str) -> usize {
    let lab = model::names();
    match lab.iter().position(|n| *n == name) {
        Some(rank) => rank,
        None => super::python::rank(name).map_or(usize::MAX, |rank| lab.len() + rank),
    }
}

/// The order workloads appear in.
fn workload_rank(name: &str) -> usize {
    workload::names()
        .iter()
        .position(|n| *n == name)
        .unwrap_or(usize::MAX)
}

impl Dataset {
    /// Merges records, keeping the latest of each cell.
    pub fn new(records: Vec<CellRecord>) -> Dataset {
        // Indexed by key, not searched pairwise: a workshop merges tens of
        // thousands of records, and a pairwise search is quadratic in them.
        let mut machines: Vec<Machine> = Vec::new();
        let mut machine_indices: HashMap<(&str, usize, &str), usize> = HashMap::new();
        let mut cell_keys = Vec::with_capacity(records.len());
        for record in &records {
            let machine = &record.machine;
            let key = (
                machine.cpu_model.as_str(),
                machine.cores,
                machine.kernel.as_str(),
            );
            let index = *machine_indices.entry(key).or_insert_with(|| {
                machines.push(machine.clone());
                machines.len() - 1
            });
            cell_keys.push(CellKey {
                workload: record.workload.clone(),
                sleep_ms: (record.sleep_ms + 0.0).to_bits(),
                cpu_us: (record.cpu_us + 0.0).to_bits(),
                file_kib: record.file_kib,
                pool: record.database.as_ref().map(|d| d.pool),
                model: record.model.clone(),
                tasks: record.tasks,
                stack_kib: record.stack_kib,
                machine: index,
            });
        }
        drop(machine_indices);
        let mut kept: Vec<CellRecord> = Vec::new();
        let mut kept_at: HashMap<CellKey, usize> = HashMap::with_capacity(records.len());
        let mut superseded = 0;
        for (record, key) in records.into_iter().zip(cell_keys) {
            let same_cell = kept_at.get(&key).copied();
            if same_cell.is_none() {
                kept_at.insert(key, kept.len());
            }
            match same_cell {
                Some(index) => {
                    superseded += 1;
                    if record.started_unix_s >= kept[index].started_unix_s {
                        kept[index] = record;
                    }
                }
                None => kept.push(record),
            }
        }
        Dataset {
            records: kept,
            machines,
            superseded,
        }
    }

    /// The index of a record's machine in [`Dataset::machines`].
    pub fn machine_of(&self, record: &CellRecord) -> usize {
        self.machine_index(&record.machine).unwrap_or(0)
    }

    /// The index of `machine` in [`Dataset::machines`], if it is there.
    pub fn machine_index(&self, machine: &Machine) -> Option<usize> {
        self.machines.iter().position(|m| same_machine(m, machine))
    }

    /// Adds a machine seen only outside the records (e.g. in timer results).
    pub fn add_machine(&mut self, machine: &Machine) -> usize {
        match self.machine_index(machine) {
            Some(index) => index,
            None => {
                self.machines.push(machine.clone());
                self.machines.len() - 1
            }
        }
    }

    /// A short name for machine `index`: "A" ... "Z", then "AA", "AB" ...
    /// (as spreadsheet columns), so no two machines share one.
    pub fn machine_name(index: usize) -> String {
        let mut name = Vec::new();
        let mut rest = index + 1;
        while rest > 0 {
            rest -= 1;
            name.push(b'A' + (rest % 26) as u8);
            rest /= 26;
        }
        name.reverse();
        String::from_utf8(name).expect("ASCII letters")
    }

    /// Every workload variant, workloads in the lab's order.
    pub fn variants(&self) -> Vec<Variant> {
        let mut variants: Vec<Variant> = Vec::new();
        for record in &self.records {
            let variant = Variant::of(record);
            if !variants.contains(&variant) {
                variants.push(variant);
            }
        }
        variants.sort_by(|a, b| {
            workload_rank(&a.workload)
                .cmp(&workload_rank(&b.workload))
                .then(a.workload.cmp(&b.workload))
                .then(a.sleep_ms.total_cmp(&b.sleep_ms))
                .then(a.cpu_us.total_cmp(&b.cpu_us))
                .then(a.file_kib.cmp(&b.file_kib))
        });
        variants
    }

    /// True when the workload has more than one variant (titles then name
    /// the parameters).
    pub fn has_several_variants(&self, workload: &str) -> bool {
        self.variants()
            .iter()
            .filter(|v| v.workload == workload)
            .count()
            > 1
    }

    /// The series of one variant, in model order, then machine.
    pub fn series(&self, variant: &Variant) -> Vec<Series<'_>> {
        let mut series: Vec<Series> = Vec::new();
        for record in self.records.iter().filter(|r| variant.matches(r)) {
            let key = SeriesKey {
                model: record.model.clone(),
                machine: self.machine_of(record),
                stack_kib: record.stack_kib,
            };
            match series.iter_mut().find(|s| s.key == key) {
                Some(existing) => existing.records.push(record),
                None => series.push(Series {
                    label: self.series_label(&key),
                    key,
                    records: vec![record],
                }),
            }
        }
        for s in &mut series {
            s.records.sort_by_key(|r| r.tasks);
        }
        series.sort_by(|a, b| {
            model_rank(&a.key.model)
                .cmp(&model_rank(&b.key.model))
                .then(a.key.model.cmp(&b.key.model))
                .then(a.key.machine.cmp(&b.key.machine))
                .then(a.key.stack_kib.cmp(&b.key.stack_kib))
        });
        series
    }

    /// "tokio", "async-std (legacy)", "threads, 64 KiB stack · machine B".
    pub fn series_label(&self, key: &SeriesKey) -> String {
        let mut label = model::label(&key.model);
        if let Some(kib) = key.stack_kib {
            label += &format!(", {kib} KiB stack");
        }
        if self.machines.len() > 1 {
            label += &format!(" · {}", Dataset::machine_name(key.machine));
        }
        label
    }

    /// Records that failed or timed out, in report order.
    pub fn unfinished(&self) -> Vec<&CellRecord> {
        let mut list: Vec<&CellRecord> = self
            .records
            .iter()
            .filter(|r| r.status != Status::Ok)
            .collect();
        list.sort_by(|a, b| {
            workload_rank(&a.workload)
                .cmp(&workload_rank(&b.workload))
                .then(model_rank(&a.model).cmp(&model_rank(&b.model)))
                .then(a.tasks.cmp(&b.tasks))
        });
        list
    }

    /// The profiles that produced the records (e.g. "quick").
    pub fn profiles(&self) -> Vec<String> {
        let mut profiles: Vec<String> = self
            .records
            .iter()
            .map(|r| r.profile.clone().unwrap_or_else(|| "single runs".into()))
            .collect();
        profiles.sort();
        profiles.dedup();
        profiles
    }
}

/// One model's standing in a verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Standing {
    pub label: String,
    pub efficiency: f64,
    /// The efficiency's interval ([`efficiency_interval`]): what decides.
    pub interval: Interval,
    pub noisy: bool,
    /// Repeats sequential sampling added because the interval straddled
    /// the line (said in the sentence: "+3 repeats").
    pub extra_repeats: u32,
}

impl Standing {
    /// "smol at 0.91 (0.88–0.93)", or without the interval when the
    /// repeats agreed exactly; "(noisy)" when they did not agree at all.
    fn text(&self) -> String {
        let interval = if self.interval.low == self.interval.high {
            String::new()
        } else {
            format!(
                " ({}–{})",
                efficiency_text(self.interval.low),
                efficiency_text(self.interval.high)
            )
        };
        let extra = match self.extra_repeats {
            0 => String::new(),
            1 => " (+1 repeat)".to_string(),
            n => format!(" (+{n} repeats)"),
        };
        format!(
            "{} at {}{interval}{extra}{}",
            self.label,
            efficiency_text(self.efficiency),
            if self.noisy { " (noisy)" } else { "" }
        )
    }
}

/// The interval a record's efficiency is judged on: the recorded one, or
/// for records written before intervals the min–max range of its repeats
/// (labelled [`IntervalMethod::Range`], never narrower than the data).
pub fn efficiency_interval(record: &CellRecord) -> Interval {
    if let Some(interval) = record.efficiency_ci {
        return interval;
    }
    let range = Interval {
        low: record.wall_ms.min,
        high: record.wall_ms.max,
        method: IntervalMethod::Range,
        coverage: 0.0,
    };
    range
        .reciprocal_scaled(record.ideal_ms)
        .unwrap_or(Interval {
            low: record.efficiency,
            high: record.efficiency,
            ..range
        })
}

/// The verdict for one variant on one machine, at its largest task count.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub variant: Variant,
    pub machine: usize,
    pub tasks: u64,
    pub within: Vec<Standing>,
    pub short: Vec<Standing>,
    /// Models whose efficiency interval straddles the 0.9 line: too close
    /// to call at this precision.
    pub too_close: Vec<Standing>,
    /// Models that failed or timed out at `tasks`, with the status.
    pub unfinished: Vec<(String, &'static str)>,
    /// Models measured at smaller counts only.
    pub not_measured: Vec<String>,
    /// Models whose cell was disturbed by outside load (`disturbed: true`),
    /// with the cores other programs used: no verdict is drawn from them.
    pub not_judged: Vec<(String, f64)>,
}

impl Verdict {
    /// One sentence, computed from the figures.
    pub fn sentence(&self, workload_title: &str, machine_note: &str) -> String {
        format!(
            "{} {}",
            self.heading(workload_title, machine_note),
            self.findings()
        )
    }

    /// The start of the sentence: which workload, where, at what size.
    pub fn heading(&self, workload_title: &str, machine_note: &str) -> String {
        format!(
            "{workload_title}{machine_note}, at {} tasks:",
            count(self.tasks)
        )
    }

    /// The rest of the sentence: who came within 90% and who did not.
    pub fn findings(&self) -> String {
        let list =
            |items: &[Standing]| join_words(&items.iter().map(Standing::text).collect::<Vec<_>>());
        let mut parts = Vec::new();
        let judged = self.within.len() + self.short.len() + self.too_close.len();
        if judged == 0 && !self.not_judged.is_empty() {
            // Nothing was judged: say only that, never "no model came within".
        } else if self.within.is_empty() && self.too_close.is_empty() {
            parts.push("no model came within 90% of the ideal".to_string());
        } else if self.within.is_empty() {
            parts.push("no model came clearly within 90% of the ideal".to_string());
        } else {
            parts.push(format!(
                "{} came within 90% of the ideal",
                list(&self.within)
            ));
        }
        if !self.short.is_empty() {
            parts.push(format!("{} fell short", list(&self.short)));
        }
        if !self.too_close.is_empty() {
            parts.push(format!(
                "too close to call at this precision: {}",
                list(&self.too_close)
            ));
        }
        if !self.unfinished.is_empty() {
            parts.push(format!(
                "{} did not finish",
                join_words(
                    &self
                        .unfinished
                        .iter()
                        .map(|(label, status)| format!("{label} ({status})"))
                        .collect::<Vec<_>>()
                )
            ));
        }
        if !self.not_judged.is_empty() {
            let most = self
                .not_judged
                .iter()
                .map(|(_, cores)| *cores)
                .fold(0.0, f64::max);
            parts.push(format!(
                "{} not judged: other programs used up to {most:.2} cores during these \
                 cells — rerun on a quiet machine",
                join_words(
                    &self
                        .not_judged
                        .iter()
                        .map(|(label, _)| label.clone())
                        .collect::<Vec<_>>()
                )
            ));
        }
        if !self.not_measured.is_empty() {
            parts.push(format!(
                "{} {} not measured at this size",
                join_words(&self.not_measured),
                if self.not_measured.len() == 1 {
                    "was"
                } else {
                    "were"
                }
            ));
        }
        format!("{}.", join_clauses(&parts))
    }
}

/// An efficiency with two decimals, or three where two would round it
/// across the 0.9 line (0.8996 is "0.900" would read as within; it is not).
pub fn efficiency_text(efficiency: f64) -> String {
    let two = format!("{efficiency:.2}");
    let rounded: f64 = two.parse().unwrap_or(efficiency);
    if (rounded >= GOOD_EFFICIENCY) != (efficiency >= GOOD_EFFICIENCY) {
        let three = format!("{efficiency:.3}");
        if three.parse::<f64>().unwrap_or(efficiency) >= GOOD_EFFICIENCY
            && efficiency < GOOD_EFFICIENCY
        {
            format!("{:.4}", efficiency)
        } else {
            three
        }
    } else {
        two
    }
}

/// "a", "a and b", "a, b and c".
pub fn join_words(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

fn join_clauses(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{}; {last}", rest.join("; ")),
    }
}

/// Verdicts for every variant and machine: at the largest task count
/// measured, which models reached efficiency ≥ 0.9 and which did not.
pub fn verdicts(dataset: &Dataset) -> Vec<Verdict> {
    let mut verdicts = Vec::new();
    for variant in dataset.variants() {
        let series = dataset.series(&variant);
        for machine in 0..dataset.machines.len() {
            let on_machine: Vec<&Series> =
                series.iter().filter(|s| s.key.machine == machine).collect();
            let Some(tasks) = on_machine
                .iter()
                .flat_map(|s| s.records.iter().map(|r| r.tasks))
                .max()
            else {
                continue;
            };
            let mut verdict = Verdict {
                variant: variant.clone(),
                machine,
                tasks,
                within: Vec::new(),
                short: Vec::new(),
                too_close: Vec::new(),
                unfinished: Vec::new(),
                not_measured: Vec::new(),
                not_judged: Vec::new(),
            };
            let label = |s: &Series| {
                let mut label = model::label(&s.key.model);
                if let Some(kib) = s.key.stack_kib {
                    label += &format!(", {kib} KiB stack");
                }
                label
            };
            for s in on_machine {
                match s.records.iter().find(|r| r.tasks == tasks) {
                    Some(record) if record.status == Status::Ok && record.disturbed => {
                        let outside = record.conditions.foreign_cpu_cores
                            + record.conditions.steal_ms / record.conditions.window_ms.max(1.0);
                        verdict.not_judged.push((label(s), outside));
                    }
                    Some(record) if record.status == Status::Ok => {
                        let standing = Standing {
                            label: label(s),
                            efficiency: record.efficiency,
                            interval: efficiency_interval(record),
                            noisy: record.noisy,
                            extra_repeats: record.extra_repeats,
                        };
                        // Judged on the interval: a side only when all of it is there.
                        match side_of_line(&standing.interval, GOOD_EFFICIENCY) {
                            Side::Below => verdict.short.push(standing),
                            Side::TooClose if standing.interval.low < standing.interval.high => {
                                verdict.too_close.push(standing)
                            }
                            // A point interval exactly on the line reached it.
                            Side::Above | Side::TooClose => verdict.within.push(standing),
                        }
                    }
                    Some(record) => verdict.unfinished.push((label(s), record.status.as_str())),
                    None => verdict.not_measured.push(label(s)),
                }
            }
            let by_efficiency = |a: &Standing, b: &Standing| b.efficiency.total_cmp(&a.efficiency);
            verdict.within.sort_by(by_efficiency);
            verdict.short.sort_by(by_efficiency);
            verdict.too_close.sort_by(by_efficiency);
            verdicts.push(verdict);
        }
    }
    verdicts
}

/// Every verdict with its sentence, as the page and the terminal show it:
/// (verdict, heading, findings).
pub fn verdict_sentences(dataset: &Dataset) -> Vec<(Verdict, String, String)> {
    verdicts(dataset)
        .into_iter()
        .map(|verdict| {
            let title = format!(
                "{} ({})",
                verdict.variant.workload,
                verdict.variant.parameters()
            );
            let machine_note = if dataset.machines.len() > 1 {
                format!(" on machine {}", Dataset::machine_name(verdict.machine))
            } else {
                String::new()
            };
            let heading = verdict.heading(&title, &machine_note);
            let findings = verdict.findings();
            (verdict, heading, findings)
        })
        .collect()
}

/// Memory per unit of work for one series: the slope of peak RSS against
/// the task count.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryFit {
    pub label: String,
    pub model: String,
    pub machine: usize,
    /// Peak RSS (KiB) against tasks: the slope is KiB per task; None when too few points.
    pub fit: Option<LinearFit>,
    /// Peak virtual size (KiB) against tasks, when every cell recorded it.
    pub virtual_fit: Option<LinearFit>,
    /// 95 % intervals of the two slopes (KiB per task); None under 3 points.
    pub interval: Option<Interval>,
    pub virtual_interval: Option<Interval>,
    /// Task counts the fit used.
    pub points: usize,
    pub largest_tasks: u64,
    pub peak_rss_kib_at_largest: u64,
}

impl MemoryFit {
    /// Bytes per task from the slope (KiB per task × 1024).
    pub fn bytes_per_task(&self) -> Option<f64> {
        self.fit.map(|f| f.slope * 1024.0)
    }
}

/// The fewest valid cells a slope is computed from: the one rule.
pub use crate::record::memory::MIN_FIT_POINTS;

/// Memory per unit for every series of the `sleep` workload variants, by
/// the lab's one rule ([`crate::record::memory::MemoryRule::fit_kib_per_unit`]): only cells in
/// which every task was alive at once count.
pub fn memory_per_unit(dataset: &Dataset) -> Vec<MemoryFit> {
    let rule = crate::model::memory_rule();
    let mut rows = Vec::new();
    for variant in dataset.variants().iter().filter(|v| v.workload == "sleep") {
        for series in dataset.series(variant) {
            let valid: Vec<&CellRecord> =
                series.ok().filter(|r| rule.counts_for_memory(r)).collect();
            let Some(largest) = series.ok().last() else {
                continue;
            };
            let fit = rule.fit_kib_per_unit(valid.iter().copied());
            let virtual_points: Vec<(f64, f64)> = valid
                .iter()
                .filter(|r| r.peak_vm_kib > 0)
                .map(|r| (r.tasks as f64, r.peak_vm_kib as f64))
                .collect();
            let virtual_fit = if virtual_points.len() == valid.len() && fit.is_some() {
                stats::linear_fit(&virtual_points)
            } else {
                None
            };
            let rss_points: Vec<(f64, f64)> = valid
                .iter()
                .map(|r| (r.tasks as f64, r.peak_rss_kib as f64))
                .collect();
            rows.push(MemoryFit {
                interval: fit.and_then(|_| crate::stats::interval::slope_interval(&rss_points)),
                virtual_interval: virtual_fit
                    .and_then(|_| crate::stats::interval::slope_interval(&virtual_points)),
                label: series.label.clone(),
                model: series.key.model.clone(),
                machine: series.key.machine,
                fit,
                virtual_fit,
                points: valid.len(),
                largest_tasks: largest.tasks,
                peak_rss_kib_at_largest: largest.peak_rss_kib,
            });
        }
    }
    rows
}

/// True for a model of the Python mirror (`py-threads`, `py-asyncio`, ...).
pub fn is_python(model: &str) -> bool {
    model.starts_with("py-")
}

/// The one-thread baseline a model's speedup is measured against: the
/// lab's `sequential`, or for the Python mirror's models `py-sequential`
/// (`py-sequential-ft` on a free-threaded interpreter) — Python is compared
/// with Python, so the chart shows what its threads add, not the language.
pub fn sequential_for(model: &str) -> String {
    if is_python(model) {
        match model.strip_suffix("-ft") {
            Some(_) => "py-sequential-ft".into(),
            None => "py-sequential".into(),
        }
    } else {
        "sequential".into()
    }
}

/// Speedup of each record over its one-thread baseline ([`sequential_for`])
/// at the same task count on the same machine: the baseline's median wall /
/// the model's median wall.
pub fn speedups<'a>(dataset: &'a Dataset, variant: &Variant) -> Vec<(Series<'a>, Vec<(u64, f64)>)> {
    let series = dataset.series(variant);
    let mut baselines: BTreeMap<(String, usize, u64), f64> = BTreeMap::new();
    for s in &series {
        for r in s.ok() {
            baselines.insert(
                (s.key.model.clone(), s.key.machine, r.tasks),
                r.wall_ms.median,
            );
        }
    }
    series
        .into_iter()
        .filter_map(|s| {
            let baseline_model = sequential_for(&s.key.model);
            let points: Vec<(u64, f64)> = s
                .ok()
                .filter_map(|r| {
                    let baseline =
                        baselines.get(&(baseline_model.clone(), s.key.machine, r.tasks))?;
                    (r.wall_ms.median > 0.0).then(|| (r.tasks, baseline / r.wall_ms.median))
                })
                .collect();
            (!points.is_empty()).then_some((s, points))
        })
        .collect()
}

/// The largest task count each model finished, per variant, with the
/// smallest it failed at (if any): the concurrency it reached in this run.
#[derive(Debug, Clone, PartialEq)]
pub struct Ceiling {
    pub label: String,
    pub model: String,
    pub largest_ok: Option<u64>,
    pub smallest_unfinished: Option<(u64, &'static str)>,
}

/// Ceilings for the `sleep` workload: how many concurrent waits each
/// model completed.
pub fn ceilings(dataset: &Dataset) -> Vec<Ceiling> {
    let mut rows = Vec::new();
    for variant in dataset.variants().iter().filter(|v| v.workload == "sleep") {
        for series in dataset.series(variant) {
            rows.push(Ceiling {
                label: series.label.clone(),
                model: series.key.model.clone(),
                largest_ok: series.ok().map(|r| r.tasks).max(),
                smallest_unfinished: series
                    .unfinished()
                    .map(|r| (r.tasks, r.status.as_str()))
                    .min_by_key(|(tasks, _)| *tasks),
            });
        }
    }
    rows
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::record::result::{LatencyMs, WallMs};

    pub(crate) fn record(workload: &str, model: &str, tasks: u64, efficiency: f64) -> CellRecord {
        CellRecord {
            extra_repeats: 0,
            workload: workload.into(),
            model: model.into(),
            tasks,
            workers: 2,
            sleep_ms: if workload == "cpu" { 0.0 } else { 20.0 },
            cpu_us: if workload == "sleep" { 0.0 } else { 500.0 },
            repeats: 3,
            wall_ms: WallMs {
                min: 20.0 / efficiency,
                median: 20.0 / efficiency,
                max: 20.0 / efficiency,
            },
            ideal_ms: 20.0,
            efficiency,
            wall_ms_repeats: Vec::new(),
            wall_ms_ci: None,
            efficiency_ci: None,
            latency_ms: LatencyMs::default(),
            peak_rss_kib: 4000 + tasks * 8,
            peak_vm_kib: 0,
            spawn_ms: None,
            peak_threads: tasks,
            cpu_user_ms: 0.0,
            cpu_sys_ms: 0.0,
            ctx_voluntary: 0,
            ctx_involuntary: 0,
            status: Status::Ok,
            error: None,
            machine: Machine {
                cores: 2,
                cpu_model: "test cpu".into(),
                kernel: "6.0".into(),
                ..Machine::default()
            },
            legacy: model == "async-std",
            reply_bytes: None,
            bytes_per_s: None,
            stack_kib: None,
            file_kib: None,
            file_cache: None,
            database: None,
            extra_threads: None,
            noisy: false,
            disturbed: false,
            conditions: Default::default(),
            profile: Some("quick".into()),
            started_unix_s: 1_000,
            command: String::new(),
            invocation: String::new(),
        }
    }

    #[test]
    fn verdict_sorts_models_by_how_close_they_came() {
        let mut failed = record("sleep", "threads", 1000, 0.0);
        failed.status = Status::Failed;
        let dataset = Dataset::new(vec![
            record("sleep", "tokio", 10, 0.5),
            record("sleep", "tokio", 1000, 0.95),
            record("sleep", "smol", 1000, 0.97),
            record("sleep", "async-std", 1000, 0.4),
            failed,
            record("sleep", "sequential", 10, 0.1),
        ]);
        let verdicts = verdicts(&dataset);
        assert_eq!(verdicts.len(), 1);
        assert_eq!(
            verdicts[0].sentence("sleep", ""),
            "sleep, at 1,000 tasks: smol at 0.97 and tokio at 0.95 came within 90% of the ideal; \
             async-std (legacy) at 0.40 fell short; threads (failed) did not finish; \
             sequential was not measured at this size."
        );
    }

    #[test]
    fn disturbed_cells_are_not_judged_and_never_named_as_falling_short() {
        let mut hogged = record("cpu", "smol", 1000, 0.49);
        hogged.disturbed = true;
        hogged.conditions.foreign_cpu_cores = 0.98;
        hogged.conditions.window_ms = 1000.0;
        let dataset = Dataset::new(vec![hogged, record("cpu", "tokio", 1000, 0.93)]);
        let sentence = verdicts(&dataset)[0].sentence("cpu", "");
        assert_eq!(
            sentence,
            "cpu, at 1,000 tasks: tokio at 0.93 came within 90% of the ideal; smol not judged: \
             other programs used up to 0.98 cores during these cells — rerun on a quiet machine."
        );
        // Nothing judged at all: no "no model came within" either.
        let mut alone = record("cpu", "smol", 1000, 0.49);
        alone.disturbed = true;
        let sentence = verdicts(&Dataset::new(vec![alone]))[0].sentence("cpu", "");
        assert!(!sentence.contains("fell short") && !sentence.contains("no model"));
        assert!(sentence.contains("smol not judged"), "{sentence}");
    }

    #[test]
    fn a_later_measurement_of_the_same_cell_replaces_the_earlier() {
        let mut later = record("sleep", "tokio", 10, 0.9);
        later.started_unix_s = 2_000;
        let dataset = Dataset::new(vec![record("sleep", "tokio", 10, 0.5), later]);
        assert_eq!(dataset.records.len(), 1);
        assert_eq!(dataset.records[0].efficiency, 0.9);
        assert_eq!(dataset.superseded, 1);
    }

    #[test]
    fn machines_become_a_dimension() {
        let mut other = record("sleep", "tokio", 10, 0.9);
        other.machine.cpu_model = "another cpu".into();
        let dataset = Dataset::new(vec![record("sleep", "tokio", 10, 0.9), other]);
        assert_eq!(dataset.machines.len(), 2);
        let variant = &dataset.variants()[0];
        let labels: Vec<String> = dataset
            .series(variant)
            .iter()
            .map(|s| s.label.clone())
            .collect();
        assert_eq!(labels, ["tokio · A", "tokio · B"]);
        assert_eq!(verdicts(&dataset).len(), 2);
    }

    #[test]
    fn memory_per_unit_is_the_slope_of_cells_where_every_task_was_alive() {
        let mut late = record("sleep", "threads", 2000, 0.9);
        late.peak_threads = 700; // the first threads ended before the last started
        let mut slow = record("sleep", "tokio", 1000, 0.9);
        slow.wall_ms.max = 45.0; // over two 20 ms waits: not all alive at once
        let dataset = Dataset::new(vec![
            record("sleep", "threads", 10, 0.9),
            record("sleep", "threads", 100, 0.9),
            record("sleep", "threads", 1000, 0.9),
            late,
            record("sleep", "tokio", 10, 0.9),
            slow,
        ]);
        let rows = memory_per_unit(&dataset);
        let threads = rows.iter().find(|r| r.model == "threads").unwrap();
        assert!((threads.bytes_per_task().unwrap() - 8.0 * 1024.0).abs() < 1e-6);
        assert!((threads.fit.unwrap().r_squared - 1.0).abs() < 1e-9);
        assert_eq!(threads.points, 3);
        let tokio = rows.iter().find(|r| r.model == "tokio").unwrap();
        assert_eq!(
            tokio.fit, None,
            "one valid cell is fewer than MIN_FIT_POINTS"
        );
    }

    #[test]
    fn speedup_is_over_sequential_at_the_same_count() {
        let dataset = Dataset::new(vec![
            record("cpu", "sequential", 10, 0.5),
            record("cpu", "rayon", 10, 1.0),
            record("cpu", "rayon", 100, 1.0),
        ]);
        let variant = &dataset.variants()[0];
        let speedups = speedups(&dataset, variant);
        let rayon = speedups
            .iter()
            .find(|(s, _)| s.key.model == "rayon")
            .unwrap();
        assert_eq!(rayon.1, vec![(10, 2.0)]);
    }

    #[test]
    fn python_models_are_compared_with_python_sequential() {
        let dataset = Dataset::new(vec![
            record("cpu", "sequential", 8, 0.5),
            record("cpu", "threads", 8, 1.0),
            record("cpu", "py-sequential", 8, 0.25),
            record("cpu", "py-threads", 8, 0.25),
            record("cpu", "py-processes", 8, 0.5),
        ]);
        let variant = &dataset.variants()[0];
        let speedups = speedups(&dataset, variant);
        let of = |model: &str| {
            speedups
                .iter()
                .find(|(s, _)| s.key.model == model)
                .map(|(_, points)| points[0].1)
                .unwrap()
        };
        assert_eq!(of("threads"), 2.0);
        assert_eq!(of("py-threads"), 1.0);
        assert_eq!(of("py-processes"), 2.0);
        assert_eq!(sequential_for("py-threads-ft"), "py-sequential-ft");
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(count(1), "1");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(number(20.0), "20");
        assert_eq!(number(0.5), "0.5");
        assert_eq!(ms(0.1234), "0.123");
        assert_eq!(ms(21.04), "21.0");
        assert_eq!(ms(1234.4), "1234");
        assert_eq!(bytes(312.4), "312 B");
        assert_eq!(efficiency_text(0.934), "0.93");
        assert_eq!(efficiency_text(0.8996), "0.8996");
        assert_eq!(efficiency_text(0.897), "0.897");
        assert_eq!(efficiency_text(0.9), "0.90");
        assert_eq!(bytes(9031.0), "8.8 KiB");
    }

    #[test]
    fn files_of_different_sizes_are_different_variants() {
        let file = |kib: u64, tasks: u64| CellRecord {
            sleep_ms: 0.0,
            cpu_us: 0.0,
            file_kib: Some(kib),
            ..record("file", "tokio", tasks, 0.5)
        };
        let dataset = Dataset::new(vec![file(16, 10), file(16, 100), file(64, 10)]);
        let variants = dataset.variants();
        assert_eq!(variants.len(), 2);
        assert!(variants.iter().all(Variant::reads_files));
        assert_eq!(variants[0].parameters(), "reads its own 16 KiB file");
        assert_eq!(dataset.series(&variants[1])[0].ok().count(), 1);
    }
}
