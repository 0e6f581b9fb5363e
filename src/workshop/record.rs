//! What a check leaves behind: one flat record per exercise, the progress
//! table `check --all` prints, the JSON file a student hands in, and the
//! class view a teacher gets by merging those files (`check --merge`).

use super::verdict::Verdict;
use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The file `check --all` writes into its `--out` directory.
pub const FILE_NAME: &str = "workshop.json";

/// What to call this kind of file, so a merge can refuse other JSON.
pub const KIND: &str = "async-vs-blocking workshop check";

/// One exercise checked once.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CheckRecord {
    /// `01_blocking_sleep`.
    pub exercise: String,
    /// `student` (the exercise as the student left it) or `solution`.
    pub version: String,
    pub verdict: Verdict,
    /// What was measured, in words.
    pub figure: String,
    pub measured: Option<f64>,
    pub unit: String,
    /// The bound the figure is held to (at most), and its derivation.
    pub bound: Option<f64>,
    pub bound_why: Option<String>,
    /// Why the check abstained, or what went wrong (a compile error, a
    /// deadlock stopped by the time limit).
    pub note: Option<String>,
    /// The one hint a "not yet" gets.
    pub hint: Option<String>,
    /// Mean cores other programs used during the run.
    pub outside_cores: Option<f64>,
    pub cores: usize,
    /// Every figure the program reported and the check measured.
    pub figures: BTreeMap<String, f64>,
    /// How long the check took, building included.
    pub seconds: f64,
}

/// A file of records from one machine.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckFile {
    pub kind: String,
    /// The machine's host name, so a class's files can be told apart.
    pub host: String,
    /// Seconds since the Unix epoch when the checks ended.
    pub finished_unix_s: u64,
    pub records: Vec<CheckRecord>,
}

impl CheckFile {
    pub fn new(records: Vec<CheckRecord>) -> CheckFile {
        CheckFile {
            kind: KIND.to_string(),
            host: host_name(),
            finished_unix_s: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            records,
        }
    }

    /// Writes the file into `dir` (created if missing); returns its path.
    pub fn save(&self, dir: &Path) -> anyhow::Result<std::path::PathBuf> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = crate::os::output::path_in(dir, FILE_NAME)?;
        crate::os::output::replace_file(
            &path,
            (serde_json::to_string_pretty(self)? + "\n").as_bytes(),
        )
        .with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }

    /// Reads a file `save` wrote; the error says which file and why.
    pub fn load(path: &Path) -> Result<CheckFile, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let file: CheckFile = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not a workshop check file ({e})", path.display()))?;
        if file.kind != KIND {
            return Err(format!("{} is not a workshop check file", path.display()));
        }
        Ok(file)
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

/// A figure with its unit, or a dash.
pub fn with_unit(value: Option<f64>, unit: &str) -> String {
    match value {
        Some(v) if v >= 100.0 => format!("{v:.0} {unit}"),
        Some(v) => format!("{v:.1} {unit}"),
        None => "-".into(),
    }
}

/// The progress table: one row per record.
pub fn table(records: &[CheckRecord]) -> String {
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_BORDERS_ONLY);
    table.set_header([
        "exercise",
        "version",
        "verdict",
        "measured",
        "bound (at most)",
        "took",
    ]);
    for record in records {
        table.add_row([
            record.exercise.clone(),
            record.version.clone(),
            record.verdict.words().to_string(),
            with_unit(record.measured, &record.unit),
            with_unit(record.bound, &record.unit),
            format!("{:.1} s", record.seconds),
        ]);
    }
    table.to_string()
}

/// One exercise across a class's machines.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassRow {
    pub exercise: String,
    pub version: String,
    pub machines: usize,
    pub passed: usize,
    pub not_yet: usize,
    pub could_not_judge: usize,
    /// Smallest, median and largest measured figure.
    pub measured_min: Option<f64>,
    pub measured_median: Option<f64>,
    pub measured_max: Option<f64>,
    pub unit: String,
}

/// Groups every file's records by exercise and version: how many machines
/// passed, and the spread of what they measured.
pub fn merge(files: &[CheckFile]) -> Vec<ClassRow> {
    let mut groups: BTreeMap<(String, String), Vec<&CheckRecord>> = BTreeMap::new();
    for file in files {
        for record in &file.records {
            groups
                .entry((record.exercise.clone(), record.version.clone()))
                .or_default()
                .push(record);
        }
    }
    groups
        .into_iter()
        .map(|((exercise, version), records)| {
            let count = |v: Verdict| records.iter().filter(|r| r.verdict == v).count();
            let mut measured: Vec<f64> = records.iter().filter_map(|r| r.measured).collect();
            measured.sort_by(f64::total_cmp);
            ClassRow {
                exercise,
                version,
                machines: records.len(),
                passed: count(Verdict::Pass),
                not_yet: count(Verdict::NotYet),
                could_not_judge: count(Verdict::CouldNotJudge),
                measured_min: measured.first().copied(),
                measured_median: measured.get(measured.len() / 2).copied(),
                measured_max: measured.last().copied(),
                unit: records[0].unit.clone(),
            }
        })
        .collect()
}

/// The class table.
pub fn class_table(rows: &[ClassRow]) -> String {
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_BORDERS_ONLY);
    table.set_header([
        "exercise",
        "version",
        "machines",
        "pass",
        "not yet",
        "could not judge",
        "measured: min / median / max",
    ]);
    for row in rows {
        table.add_row([
            row.exercise.clone(),
            row.version.clone(),
            row.machines.to_string(),
            row.passed.to_string(),
            row.not_yet.to_string(),
            row.could_not_judge.to_string(),
            format!(
                "{} / {} / {}",
                with_unit(row.measured_min, &row.unit),
                with_unit(row.measured_median, &row.unit),
                with_unit(row.measured_max, &row.unit)
            ),
        ]);
    }
    table.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(exercise: &str, verdict: Verdict, measured: f64) -> CheckRecord {
        CheckRecord {
            exercise: exercise.into(),
            version: "student".into(),
            verdict,
            figure: "median page time".into(),
            measured: Some(measured),
            unit: "ms".into(),
            bound: Some(173.2),
            bound_why: None,
            note: None,
            hint: None,
            outside_cores: Some(0.1),
            cores: 2,
            figures: BTreeMap::new(),
            seconds: 1.0,
        }
    }

    #[test]
    fn a_class_merge_counts_verdicts_and_spreads_figures_per_exercise() {
        let machine = |records| CheckFile::new(records);
        let files = vec![
            machine(vec![record("03_sequential_waits", Verdict::NotYet, 301.0)]),
            machine(vec![record("03_sequential_waits", Verdict::Pass, 101.0)]),
            machine(vec![
                record("03_sequential_waits", Verdict::Pass, 103.0),
                record("01_blocking_sleep", Verdict::CouldNotJudge, 400.0),
            ]),
        ];
        let rows = merge(&files);
        assert_eq!(rows.len(), 2);
        let waits = rows
            .iter()
            .find(|r| r.exercise == "03_sequential_waits")
            .unwrap();
        assert_eq!((waits.machines, waits.passed, waits.not_yet), (3, 2, 1));
        assert_eq!(waits.measured_min, Some(101.0));
        assert_eq!(waits.measured_median, Some(103.0));
        assert_eq!(waits.measured_max, Some(301.0));
        // comfy-table may wrap a long cell: look for each figure, not the line.
        let table = class_table(&rows);
        for figure in ["101 ms", "103 ms", "301 ms", "03_sequential_waits"] {
            assert!(table.contains(figure), "{figure} missing from\n{table}");
        }
    }

    #[test]
    fn a_saved_file_reads_back_and_other_json_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = CheckFile::new(vec![record("03_sequential_waits", Verdict::Pass, 101.0)])
            .save(dir.path())
            .unwrap();
        assert_eq!(CheckFile::load(&path).unwrap().records.len(), 1);
        let other = dir.path().join("other.json");
        std::fs::write(&other, "{\"kind\": \"something else\", \"host\": \"h\", \"finished_unix_s\": 0, \"records\": []}").unwrap();
        assert!(CheckFile::load(&other)
            .unwrap_err()
            .contains("not a workshop check file"));
    }
}
