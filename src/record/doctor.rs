//! The doctor's findings as a record (`doctor.json`): what on the machine
//! would disturb measurements, as [`crate::lab::doctor`] found it before a
//! run. The lab writes it; the report reads it to show the conditions.

use serde::{Deserialize, Serialize};
use std::path::Path;

/// File name of the stored findings, beside `results.jsonl` or `claims.json`.
pub const FILE_NAME: &str = "doctor.json";

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; changes no number.
    Info,
    /// May disturb some cells; the per-repeat accounting will tell which.
    Warning,
    /// Most CPU cells would be disturbed: measure elsewhere or later.
    Unfit,
}

/// One thing the doctor found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub severity: Severity,
    /// What was looked at (`other programs`, `steal`, `cgroup`, ...).
    pub topic: String,
    pub text: String,
}

/// Another program's CPU use during the sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BusyProgram {
    pub pid: u32,
    pub name: String,
    pub cores: f64,
}

/// The doctor's findings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Examination {
    /// Mean cores used by programs other than the lab during the sample.
    pub foreign_cpu_cores: f64,
    pub steal_cores: f64,
    pub top_programs: Vec<BusyProgram>,
    pub findings: Vec<Finding>,
    /// `fit`, `fit with warnings` or `unfit`.
    pub fitness: String,
    /// The final line, with advice.
    pub summary: String,
    pub unix_s: u64,
}

impl Examination {
    /// The findings worth printing before a measurement (warnings and worse).
    pub fn warnings(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity >= Severity::Warning)
    }

    /// Saves the findings as `dir/doctor.json`.
    pub fn save(&self, dir: &Path) -> anyhow::Result<()> {
        let path = crate::os::output::path_in(dir, FILE_NAME)?;
        crate::os::output::replace_file(&path, &serde_json::to_vec_pretty(self)?)
    }

    /// Reads `dir/doctor.json` if there is one.
    pub fn load(dir: &Path) -> Option<Examination> {
        serde_json::from_slice(&std::fs::read(dir.join(FILE_NAME)).ok()?).ok()
    }

    /// The findings as text, one line each, then the final line.
    pub fn text(&self) -> String {
        let mut text = String::new();
        for finding in &self.findings {
            let mark = match finding.severity {
                Severity::Info => "  ",
                Severity::Warning => "! ",
                Severity::Unfit => "!!",
            };
            text += &format!("{mark} {}: {}\n", finding.topic, finding.text);
        }
        text + &self.summary
    }
}
