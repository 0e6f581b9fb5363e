//! The "Measurement conditions" section: what `doctor` found on the machine
//! just before the run (`doctor.json`), and the outside load each cell's
//! repeats saw (the records' `conditions`), so a reader can tell which
//! numbers were taken on a busy machine. Drawn from the data files only.

use super::data::{self, Dataset};
use super::palette;
use crate::model;
use crate::record::doctor::Examination;
use crate::record::result::{CellRecord, Status};
use serde::Serialize;

/// One finding of the doctor, for the page.
#[derive(Debug, Clone, Serialize)]
pub struct FindingView {
    /// `info`, `warning` or `unfit`.
    pub severity: String,
    pub topic: String,
    pub text: String,
}

/// The doctor's examination, for the page.
#[derive(Debug, Clone, Serialize)]
pub struct DoctorView {
    pub when: String,
    pub fitness: String,
    pub summary: String,
    pub findings: Vec<FindingView>,
}

/// One cell's outside load.
#[derive(Debug, Clone, Serialize)]
pub struct ConditionsRow {
    pub workload: String,
    pub model: String,
    pub colour: String,
    pub tasks: String,
    /// Other programs' cores: median and largest over the repeats.
    pub foreign_median: String,
    pub foreign_max: String,
    /// Steal over the repeats, ms.
    pub steal: String,
    /// The most waiting for a core in one timed region, cores' worth;
    /// "(own)" where the cell's own threads queue and it is not judged.
    pub waiting: String,
    /// The kernel's largest slowdown around a timed region.
    pub drift: String,
    pub retried: u32,
    /// `disturbed`, `on capacity left` or `quiet`.
    pub standing: &'static str,
    /// Why, in the lab's words (disturbed, judged on capacity left, ...).
    pub note: String,
}

/// The whole section.
#[derive(Debug, Clone, Serialize)]
pub struct ConditionsView {
    pub doctor: Option<DoctorView>,
    /// One sentence: how many cells were retried, disturbed, judged on capacity left.
    pub summary: String,
    pub rows: Vec<ConditionsRow>,
}

/// The doctor's findings as the page shows them.
pub fn doctor_view(examination: &Examination) -> DoctorView {
    DoctorView {
        when: crate::os::measure::utc_date(examination.unix_s),
        fitness: examination.fitness.clone(),
        summary: examination.summary.clone(),
        findings: examination
            .findings
            .iter()
            .map(|f| FindingView {
                severity: format!("{:?}", f.severity).to_lowercase(),
                topic: f.topic.clone(),
                text: f.text.clone(),
            })
            .collect(),
    }
}

/// A cell's standing under the busy policy.
fn standing(record: &CellRecord) -> &'static str {
    if record.disturbed {
        "disturbed"
    } else if record.conditions.capacity_left_cores.is_some() {
        "on capacity left"
    } else {
        "quiet"
    }
}

fn cores(value: f64) -> String {
    format!("{value:.2}")
}

/// One row per finished cell that was not quiet (disturbed, or judged on
/// the capacity left), in the charts' order: the quiet ones are one line
/// of the summary.
pub fn rows(dataset: &Dataset) -> Vec<ConditionsRow> {
    let mut rows = Vec::new();
    for variant in dataset.variants() {
        for series in dataset.series(&variant) {
            for record in series.ok().filter(|r| standing(r) != "quiet") {
                rows.push(row(record));
            }
        }
    }
    rows
}

/// "1 cell", "2 cells".
pub fn counted(count: usize, singular: &str, plural: &str) -> String {
    if count == 1 {
        format!("1 {singular}")
    } else {
        format!("{} {plural}", data::count(count as u64))
    }
}

fn row(record: &CellRecord) -> ConditionsRow {
    let c = &record.conditions;
    let mut note = c.note.clone().unwrap_or_default();
    if let Some(left) = c.capacity_left_cores {
        if note.is_empty() {
            note = format!("judged on the {left:.2} cores left");
        }
    }
    ConditionsRow {
        workload: record.workload.clone(),
        model: model::label(&record.model),
        colour: palette::css(&record.model),
        tasks: data::count(record.tasks),
        foreign_median: cores(c.foreign_cpu_cores_median),
        foreign_max: cores(c.foreign_cpu_cores_max),
        steal: format!("{:.0}", c.steal_ms),
        waiting: match c.region_waiting_cores_max {
            Some(waiting) if c.pressure_judged => cores(waiting),
            Some(waiting) => format!("{} (own)", cores(waiting)),
            None => "—".into(),
        },
        drift: c
            .kernel_drift
            .map_or_else(|| "—".into(), |d| format!("{:.0} %", d * 100.0)),
        retried: c.retried,
        standing: standing(record),
        note,
    }
}

/// The section: the doctor's findings (if a `doctor.json` was found) and
/// every finished cell's outside load.
pub fn view(dataset: &Dataset, doctor: Option<&Examination>) -> ConditionsView {
    let finished: Vec<&CellRecord> = dataset
        .records
        .iter()
        .filter(|r| r.status == Status::Ok)
        .collect();
    let retried: u32 = finished.iter().map(|r| r.conditions.retried).sum();
    let count = |name: &str| finished.iter().filter(|r| standing(r) == name).count();
    let summary = format!(
        "{}: {} run again because they were disturbed; {} marked disturbed (no verdict \
         drawn from them); {} judged on the capacity a steady outside load left; {} quiet.",
        counted(finished.len(), "finished cell", "finished cells"),
        counted(retried as usize, "repeat", "repeats"),
        counted(count("disturbed"), "cell", "cells"),
        counted(count("on capacity left"), "cell", "cells"),
        counted(count("quiet"), "cell", "cells"),
    );
    let mut doctor = doctor.map(doctor_view);
    if let Some(view) = doctor.as_mut() {
        // The doctor looked for a second before the run; what the run
        // itself met is said beside its word, so "fit" never stands alone
        // above repeats that had to be run again.
        if retried > 0 {
            view.fitness = format!(
                "{} before the run; during it {} disturbed and run again",
                view.fitness,
                counted(retried as usize, "repeat was", "repeats were")
            );
        }
    }
    ConditionsView {
        doctor,
        summary,
        rows: rows(dataset),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::data::tests::record;

    #[test]
    fn each_cell_shows_its_outside_load_and_standing() {
        let quiet = record("cpu", "tokio", 10, 0.9);
        let mut hogged = record("cpu", "rayon", 10, 0.45);
        hogged.disturbed = true;
        hogged.conditions.foreign_cpu_cores_max = 0.98;
        hogged.conditions.region_waiting_cores_max = Some(1.02);
        hogged.conditions.pressure_judged = true;
        hogged.conditions.retried = 3;
        let mut steady = record("cpu", "smol", 10, 0.9);
        steady.conditions.capacity_left_cores = Some(1.7);
        let mut own = record("cpu", "threads", 10, 0.5);
        own.conditions.region_waiting_cores_max = Some(1.5);
        let view = view(&Dataset::new(vec![quiet, hogged, steady, own]), None);
        assert!(
            view.summary.starts_with("4 finished cells: 3 repeats"),
            "{}",
            view.summary
        );
        assert!(
            view.summary.contains("1 cell marked disturbed"),
            "one is singular: {}",
            view.summary
        );
        assert!(view.summary.contains("2 cells quiet"), "{}", view.summary);
        assert_eq!(
            view.rows.len(),
            2,
            "only the cells that were not quiet get a row"
        );
        let by_model = |name: &str| view.rows.iter().find(|r| r.model == name).unwrap();
        let rayon = by_model("rayon");
        assert_eq!(rayon.standing, "disturbed");
        assert_eq!(rayon.foreign_max, "0.98");
        assert_eq!(rayon.waiting, "1.02");
        assert_eq!(by_model("smol").standing, "on capacity left");
        assert!(by_model("smol").note.contains("1.70 cores left"));
        assert!(view.doctor.is_none());
    }
}
