//! The claims table for the terminal, and the JSON document for the report.

use super::{tally, ClaimResult, ClaimsReport, Kind};
use comfy_table::{presets::UTF8_FULL_CONDENSED, ColumnConstraint, ContentArrangement, Table};

/// Table width when the terminal's is unknown.
const DEFAULT_WIDTH: u16 = 180;

fn verdict_text(result: &ClaimResult) -> String {
    let mut text = result.verdict_line();
    text += &format!("\n\ndecided by: {}", result.decided_by);
    if !result.thresholds.is_empty() {
        text += &format!(
            "\nthresholds: {}",
            result
                .thresholds
                .iter()
                .map(|t| format!("{} = {}", t.name, t.value))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    text
}

/// The claims as a table: claim, what was measured, verdict, command.
pub fn claims_table(results: &[ClaimResult]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    if table.width().is_none() {
        table.set_width(DEFAULT_WIDTH);
    }
    table.set_header(["claim", "measured", "verdict", "reproduce"]);
    for result in results {
        table.add_row([
            format!("{}\n{}", result.id, result.claim),
            result.measured.clone(),
            verdict_text(result),
            result.command.clone(),
        ]);
    }
    // A command is for copying: never wrap it.
    if let Some(column) = table.column_mut(3) {
        column.set_constraint(ColumnConstraint::ContentWidth);
    }
    table
}

/// The claims as a Markdown table (for a README or the report), with the
/// machine and the run's load underneath.
pub fn claims_markdown(report: &ClaimsReport) -> String {
    let cell = |text: &str| text.replace('|', "\\|").replace('\n', " ");
    let out = String::from(
        "| id | claim | measured here | verdict | reproduce |\n|---|---|---|---|---|\n",
    );
    let started = crate::os::measure::utc_date(report.started_unix_s);
    let mut out = format!(
        "Claims measured {started} on {} cores ({}), with `{}`.\n\n{out}",
        report.machine.cores,
        report.machine.cpu_model,
        report.invocation.trim()
    );
    for kind in [Kind::Verdict, Kind::Demonstration] {
        let rows: Vec<&ClaimResult> = report.claims.iter().filter(|c| c.kind() == kind).collect();
        if rows.is_empty() {
            continue;
        }
        if kind == Kind::Demonstration {
            out += "\nDemonstrations: the language or the machine fixes these outcomes; the run shows them happening.\n\n\
                    | id | claim | measured here | demonstration | reproduce |\n|---|---|---|---|---|\n";
        }
        for result in rows {
            let verdict = match &result.demonstration {
                Some(_) => format!(
                    "{} (checked by: {})",
                    result.verdict_line(),
                    result.decided_by
                ),
                None => {
                    let line = result.verdict_line();
                    let (head, tail) = line.split_once(": ").unwrap_or((&line, ""));
                    let tail = if tail.is_empty() {
                        String::new()
                    } else {
                        format!(": {tail}")
                    };
                    format!("**{head}**{tail} (decided by: {})", result.decided_by)
                }
            };
            out += &format!(
                "| `{}` | {} | {} | {} | `{}` |\n",
                result.id,
                cell(&result.claim),
                cell(&result.measured),
                cell(&verdict),
                result.command
            );
        }
    }
    let busiest = report
        .claims
        .iter()
        .map(|c| c.load_average)
        .fold(0.0, f64::max);
    out += &format!(
        "\nMeasured {started} in {:.0} s on {} cores ({}, Linux {}), load average up to {busiest:.1}. {}\n",
        report.seconds,
        report.machine.cores,
        report.machine.cpu_model,
        report.machine.kernel,
        tally(&report.claims)
    );
    out
}

/// The claims without measuring anything: id and claim.
pub fn list_text() -> Table {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    if table.width().is_none() {
        table.set_width(DEFAULT_WIDTH);
    }
    table.set_header(["id", "claim", "experiment"]);
    for claim in super::all() {
        let claim_text = match claim.demonstrates {
            Some(what) => format!("{}\n(demonstration: {what})", claim.claim),
            None => claim.claim.to_string(),
        };
        table.add_row([
            claim.id.to_string(),
            claim_text,
            claim.experiment.to_string(),
        ]);
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::claims::Verdict;
    use crate::record::result::Machine;

    fn result(id: &str, verdict: Verdict, caveat: Option<&str>) -> ClaimResult {
        ClaimResult {
            id: id.into(),
            claim: "A | B\nC".into(),
            demonstration: None,
            experiment: String::new(),
            measured: "1 ms".into(),
            figures: vec![],
            verdict,
            caveat: caveat.map(String::from),
            decided_by: "x ≥ y".into(),
            thresholds: vec![],
            command: format!("async-vs-blocking claims --only {id}"),
            cell_commands: vec![],
            chart: None,
            cores: 2,
            load_average: 0.5,
            seconds: 1.0,
            extra_repeats: 0,
        }
    }

    #[test]
    fn tally_counts_each_verdict_and_hides_an_empty_not_measured() {
        let results = [
            result("a", Verdict::Holds, None),
            result("b", Verdict::HoldsWithACaveat, Some("only so")),
            result("c", Verdict::HoldsWithACaveat, Some("only so")),
        ];
        assert_eq!(
            tally(&results),
            "verdicts: holds 1, holds with a caveat 2, does not hold 0"
        );
        let missing = [result("d", Verdict::NotMeasured, None)];
        assert!(tally(&missing).ends_with("not measured 1"));
    }

    #[test]
    fn tally_counts_demonstrations_apart_from_verdicts() {
        let mut shown = result("a", Verdict::Holds, None);
        shown.demonstration = Some("sequential awaits add up".into());
        let mut not_shown = result("b", Verdict::DoesNotHold, None);
        not_shown.demonstration = Some("x".into());
        let results = [shown, not_shown, result("c", Verdict::DoesNotHold, None)];
        assert_eq!(
            tally(&results),
            "verdicts: holds 0, holds with a caveat 0, does not hold 1; \
             demonstrations (outcome fixed in advance): 2 — holds 1, does not hold 1"
        );
        assert_eq!(
            results[0].verdict_line(),
            "demonstration: sequential awaits add up; as measured: holds"
        );
    }

    #[test]
    fn markdown_rows_escape_pipes_and_newlines() {
        let report = ClaimsReport {
            machine: Machine {
                cores: 2,
                ..Machine::default()
            },
            started_unix_s: 86_400,
            seconds: 3.0,
            invocation: "async-vs-blocking claims --markdown".into(),
            claims: vec![
                result("fan-out", Verdict::HoldsWithACaveat, Some("wide")),
                ClaimResult {
                    demonstration: Some("waits add up".into()),
                    ..result("await-in-sequence", Verdict::Holds, None)
                },
            ],
        };
        let text = claims_markdown(&report);
        assert!(
            text.starts_with("Claims measured 1970-01-02 00:00 UTC on 2 cores"),
            "{text}"
        );
        assert!(text.contains("`async-vs-blocking claims --markdown`"));
        let row = text.lines().nth(4).unwrap();
        assert!(row.starts_with("| `fan-out` | A \\| B C |"), "{row}");
        assert!(row.contains("**holds with a caveat**: wide"), "{row}");
        assert!(row.ends_with("| `async-vs-blocking claims --only fan-out` |"));
        assert!(text.contains("on 2 cores"));
        let demonstrations = text
            .find("Demonstrations:")
            .expect("a section of their own");
        assert!(text[demonstrations..].contains("| `await-in-sequence` |"));
        assert!(text[demonstrations..].contains("demonstration: waits add up; as measured: holds"));
        assert!(!text[..demonstrations].contains("await-in-sequence"));
        assert!(text.contains("demonstrations (outcome fixed in advance): 1"));
    }
}
