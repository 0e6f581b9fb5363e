//! The records a claims run leaves: verdicts, figures, thresholds, charts
//! and the run as `claims.json` stores it.
//!
//! They sit below both the claims, which measure and judge
//! ([`crate::claims`]), and the report, which only draws them: the report
//! reads these types and never the experiments. What the report needs to
//! know about claims it was not given (their ids, which are
//! demonstrations) comes as a [`CatalogueEntry`] list from whoever calls it.

use crate::record::result::Machine;
use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// What an experiment concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// The measurements agree with the claim.
    Holds,
    /// The claim is true only in part or under a condition; see `caveat`.
    HoldsWithACaveat,
    /// The measurements contradict the claim (a `caveat`, when present,
    /// says what is true instead).
    DoesNotHold,
    /// The figure's 95 % interval straddles the line that decides: the
    /// measurement cannot tell at this precision (`decided_by` shows the
    /// interval and the line; more repeats may decide it).
    TooCloseToCall,
    /// The experiment failed to produce the numbers it needs; see `decided_by`.
    NotMeasured,
}

impl Verdict {
    /// The verdict in words.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Holds => "holds",
            Verdict::HoldsWithACaveat => "holds with a caveat",
            Verdict::DoesNotHold => "does not hold",
            Verdict::TooCloseToCall => "too close to call at this precision",
            Verdict::NotMeasured => "not measured",
        }
    }
}

/// Whether a claim's outcome is decided by its measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// The measurement decides: the claim could hold or not on this machine.
    Verdict,
    /// The language or the machine fixes the outcome; the run shows it
    /// happening, with numbers. Its "verdict" only says whether the run
    /// showed what it is meant to show.
    Demonstration,
}

/// One measured number behind a verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    /// What was measured, e.g. `tokio wall` or `threads RSS per unit`.
    pub label: String,
    pub value: f64,
    /// `ms`, `µs`, `ns`, `KiB`, `x` (a ratio), `count`...
    pub unit: String,
    /// The value's 95 % interval, for a figure that a judge compares with
    /// a line (absent where the figure only describes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<crate::stats::interval::Interval>,
}

/// A threshold a verdict is compared against: the name of the constant in
/// the claim's source file and its value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Threshold {
    /// The constant's name, e.g. `PARALLEL_SPEEDUP_MIN`.
    pub name: String,
    pub value: f64,
    /// What crossing it means.
    pub meaning: String,
}

/// A line of a chart: `(x, y)` points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line {
    pub label: String,
    pub points: Vec<[f64; 2]>,
}

/// A vertical marker on a chart (e.g. the 10–100 µs guidance).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mark {
    pub x: f64,
    pub label: String,
}

/// A span of x shaded on a chart (e.g. the 10–100 µs rule of thumb).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Band {
    pub from: f64,
    pub to: f64,
    pub label: String,
}

/// Data for one chart, ready to draw: lines over a shared x axis. A line
/// whose label starts with "idle" is a baseline (drawn dashed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    /// True when the x axis should be logarithmic.
    pub x_log: bool,
    pub lines: Vec<Line>,
    pub marks: Vec<Mark>,
    #[serde(default)]
    pub bands: Vec<Band>,
    /// What to look at, in a sentence or two, for the caption.
    #[serde(default)]
    pub note: String,
}

/// The outcome of one claim's experiment: the row of the claims table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClaimResult {
    /// The claim's id, as `--only` accepts it.
    pub id: String,
    /// The claim in plain words.
    pub claim: String,
    /// For a demonstration: what it shows ("demonstration: …" where shown);
    /// `None` for a claim whose measurement decides its verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub demonstration: Option<String>,
    /// What the experiment does.
    pub experiment: String,
    /// The key numbers, in one or two sentences.
    pub measured: String,
    /// The numbers themselves.
    pub figures: Vec<Figure>,
    pub verdict: Verdict,
    /// For `holds with a caveat`: the condition or the part that does not hold.
    pub caveat: Option<String>,
    /// Which numbers crossed which thresholds, on how many cores.
    pub decided_by: String,
    /// The thresholds this experiment compares against.
    pub thresholds: Vec<Threshold>,
    /// The command that reproduces this row.
    pub command: String,
    /// `run` commands that measure the underlying cells one at a time.
    pub cell_commands: Vec<String>,
    /// A chart of the experiment, where one helps.
    pub chart: Option<Chart>,
    /// Cores available when it was measured (verdicts can depend on it).
    pub cores: usize,
    /// The 1-minute load average when the experiment started: above `cores`,
    /// other processes were competing for the CPU and timings are noisy.
    pub load_average: f64,
    /// How long the experiment took, s.
    pub seconds: f64,
    /// Sequential sampling: when the first pass was too close to call, the
    /// repeats of the second pass that measured the claim again (the
    /// verdict is that pass's); 0 when the first pass decided.
    #[serde(default)]
    pub extra_repeats: u32,
}

impl ClaimResult {
    /// Whether the measurement decided this row.
    pub fn kind(&self) -> Kind {
        match self.demonstration {
            Some(_) => Kind::Demonstration,
            None => Kind::Verdict,
        }
    }

    /// The verdict as shown: "holds with a caveat: …", or for a
    /// demonstration "demonstration: …; as measured: does not hold".
    pub fn verdict_line(&self) -> String {
        let mut text = self.verdict.as_str().to_string();
        if let Some(caveat) = &self.caveat {
            text += &format!(": {caveat}");
        }
        match &self.demonstration {
            Some(what) => format!("demonstration: {what}; as measured: {text}"),
            None => text,
        }
    }
}

/// Everything one `claims` run produced: what `--json` prints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClaimsReport {
    /// The machine the claims ran on; verdicts may differ on another.
    pub machine: Machine,
    /// When the run started, seconds since the Unix epoch.
    pub started_unix_s: u64,
    /// How long the whole run took, s.
    pub seconds: f64,
    /// The exact command line.
    pub invocation: String,
    pub claims: Vec<ClaimResult>,
}

/// How many claims got each verdict, with the demonstrations counted apart,
/// e.g. "verdicts: holds 3, holds with a caveat 4, does not hold 2;
/// demonstrations (outcome fixed in advance): 4 — does not hold 2, holds
/// with a caveat 2".
pub fn tally(results: &[ClaimResult]) -> String {
    let count = |kind: Kind| -> Vec<(Verdict, usize)> {
        [
            Verdict::Holds,
            Verdict::HoldsWithACaveat,
            Verdict::DoesNotHold,
            Verdict::TooCloseToCall,
            Verdict::NotMeasured,
        ]
        .iter()
        .map(|&v| {
            (
                v,
                results
                    .iter()
                    .filter(|r| r.kind() == kind && r.verdict == v)
                    .count(),
            )
        })
        .collect()
    };
    let verdicts = count(Kind::Verdict)
        .into_iter()
        .filter(|&(v, n)| n > 0 || !matches!(v, Verdict::NotMeasured | Verdict::TooCloseToCall))
        .map(|(v, n)| format!("{} {n}", v.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let demonstrations = count(Kind::Demonstration);
    let shown: usize = demonstrations.iter().map(|(_, n)| n).sum();
    if shown == 0 {
        return format!("verdicts: {verdicts}");
    }
    format!(
        "verdicts: {verdicts}; demonstrations (outcome fixed in advance): {shown} — {}",
        demonstrations
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(v, n)| format!("{} {n}", v.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// What a report knows about a claim it may not have results for: its id,
/// and what it shows when it is a demonstration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogueEntry {
    pub id: String,
    /// For a demonstration, what it shows; None for a verdict.
    pub demonstrates: Option<String>,
}

/// The file `claims` writes and `report` reads, beside results.jsonl or in
/// the report's directory.
pub const FILE_NAME: &str = "claims.json";

/// Writes a claims run as one JSON document.
pub fn write_claims(path: &Path, report: &ClaimsReport) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(report).context("encoding the claims")?;
    crate::os::output::replace_file(path, (text + "\n").as_bytes())
}

/// Reads a claims run written by [`write_claims`] or `claims --json`;
/// `catalogue` labels the demonstrations of files written before they were.
pub fn read_claims(path: &Path, catalogue: &[CatalogueEntry]) -> anyhow::Result<ClaimsReport> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut report: ClaimsReport = serde_json::from_str(&text).with_context(|| {
        format!(
            "{}: not a claims file (expected the output of `async-vs-blocking claims --json`)",
            path.display()
        )
    })?;
    // Files written before demonstrations were labelled: the label belongs
    // to the claim's definition, not to the measurement, so it is added.
    for result in &mut report.claims {
        if result.demonstration.is_none() {
            result.demonstration = catalogue
                .iter()
                .find(|entry| entry.id == result.id)
                .and_then(|entry| entry.demonstrates.clone());
        }
    }
    Ok(report)
}
