//! The workshop holds together: WORKSHOP.md's plan adds up to 90 minutes
//! and every command it mentions parses; every exercise in the kit has its
//! essay, its TODO and a reference solution; and the grader tells them
//! apart by measuring — every unfixed exercise is "not yet" and every
//! reference solution passes on this machine, and again with a busy loop
//! burning one core beside them, where a check may abstain but must say
//! why.
//!
//! The checks run one after another in a single test (a second test
//! running beside them would be the outside load they account for).

use assert_cmd::Command;
use async_vs_blocking::cli::Cli;
use async_vs_blocking::workshop::exercises;
use async_vs_blocking::workshop::record::{CheckFile, CheckRecord, FILE_NAME};
use async_vs_blocking::workshop::verdict::Verdict;
use clap::Parser;
use std::path::Path;
use std::process::Stdio;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn workshop() -> String {
    std::fs::read_to_string(repo().join("WORKSHOP.md")).expect("WORKSHOP.md exists")
}

/// `async-vs-blocking ...` commands in backticks or in ```sh blocks.
fn lab_commands(text: &str) -> Vec<String> {
    let mut commands = Vec::new();
    let mut in_block = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if in_block {
            if trimmed.starts_with("async-vs-blocking ") {
                commands.push(trimmed.to_string());
            }
            continue;
        }
        for (i, span) in line.split('`').enumerate() {
            if i % 2 == 1 && span.starts_with("async-vs-blocking ") {
                commands.push(span.to_string());
            }
        }
    }
    commands
}

#[test]
fn every_lab_command_in_the_workshop_parses() {
    let commands = lab_commands(&workshop());
    assert!(commands.iter().any(|c| c.contains("check --all")));
    for command in commands {
        if let Err(error) = Cli::try_parse_from(command.split_whitespace()) {
            panic!("WORKSHOP.md mentions `{command}`, which does not parse: {error}");
        }
    }
}

#[test]
fn the_plan_adds_up_to_ninety_minutes() {
    let text = workshop();
    let plan: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("## The 90-minute plan"))
        .skip(1)
        .take_while(|l| !l.starts_with("## "))
        .filter(|l| l.starts_with('|') && !l.contains("---"))
        .skip(1)
        .collect();
    assert!(plan.len() >= 8, "the plan has a row per part: {plan:?}");
    let minutes: u32 = plan
        .iter()
        .map(|row| {
            let cell = row.split('|').nth(2).unwrap_or("").trim();
            cell.parse::<u32>()
                .unwrap_or_else(|_| panic!("the plan's minutes column reads {cell:?} in {row}"))
        })
        .sum();
    assert_eq!(minutes, 90, "the plan's rows add up to {minutes} minutes");
}

#[test]
fn every_exercise_has_an_essay_a_todo_a_solution_and_a_place_in_the_workshop() {
    let text = workshop();
    for exercise in exercises::all() {
        let binary = exercise.binary(false);
        let source = std::fs::read_to_string(repo().join(format!("exercises/src/bin/{binary}.rs")))
            .unwrap_or_else(|e| panic!("{binary}: {e}"));
        for part in [
            "**What the program does.**",
            "**What users see.**",
            "**The question.**",
            "**How the check grades it.**",
            "geometric middle",
        ] {
            assert!(source.contains(part), "{binary}'s essay lacks {part}");
        }
        assert!(
            source.contains("// TODO"),
            "{binary} has no TODO for the student"
        );
        let solution =
            std::fs::read_to_string(repo().join(format!("exercises/solutions/{binary}.rs")))
                .unwrap_or_else(|e| panic!("{binary}'s reference solution: {e}"));
        assert!(
            !solution.contains("TODO"),
            "{binary}'s solution still has a TODO"
        );
        assert!(text.contains(&binary), "WORKSHOP.md never names {binary}");
    }
}

#[test]
fn a_wrong_exercise_name_exits_2_naming_the_choices() {
    let output = Command::cargo_bin("async-vs-blocking")
        .unwrap()
        .args(["check", "nine"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("01_blocking_sleep") && stderr.contains("08_cpu_batch_on_workers"));
    let neither = Command::cargo_bin("async-vs-blocking")
        .unwrap()
        .args(["check"])
        .output()
        .unwrap();
    assert_eq!(neither.status.code(), Some(2));
}

/// Runs `check --all` (optionally on the solutions) into `out`; returns its records.
fn check_all(out: &Path, solution: bool) -> Vec<CheckRecord> {
    let mut command = Command::cargo_bin("async-vs-blocking").unwrap();
    command.args(["check", "--all", "--out"]).arg(out);
    if solution {
        command.arg("--solution");
    }
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "check --all failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    println!("{stdout}");
    let records = CheckFile::load(&out.join(FILE_NAME)).unwrap().records;
    assert_eq!(records.len(), exercises::all().len(), "{stdout}");
    records
}

/// Every record has the verdict `wanted`, or — where `may_abstain` — says
/// why it could not judge; never the opposite verdict (an unfixed program
/// passing, a reference solution "not yet"). Memory and thread counts are
/// never excused by outside load.
fn assert_verdicts(records: &[CheckRecord], wanted: Verdict, may_abstain: bool) {
    for record in records {
        let abstained_with_reason = may_abstain
            && record.verdict == Verdict::CouldNotJudge
            && record
                .note
                .as_deref()
                .is_some_and(|n| n.contains("other programs used"));
        assert!(
            record.verdict == wanted || abstained_with_reason,
            "{} ({}): {} instead of {}, measured {:?} against {:?}; note: {:?}",
            record.exercise,
            record.version,
            record.verdict.words(),
            wanted.words(),
            record.measured,
            record.bound,
            record.note
        );
        if record.exercise.starts_with("05") || record.exercise.starts_with("06") {
            assert_eq!(
                record.verdict, wanted,
                "{}: memory and threads are judged under any load",
                record.exercise
            );
        }
        assert!(record.measured.is_some(), "{}: no figure", record.exercise);
        assert!(
            record.bound_why.is_some(),
            "{}: no bound's derivation",
            record.exercise
        );
        if record.verdict == Verdict::NotYet {
            assert!(
                record.hint.is_some(),
                "{}: a not yet without a hint",
                record.exercise
            );
        }
    }
}

#[test]
fn unfixed_exercises_are_not_yet_and_reference_solutions_pass_even_beside_a_busy_loop() {
    let dir = tempfile::tempdir().unwrap();
    let quiet_student = check_all(&dir.path().join("student"), false);
    // This machine is shared: where other programs took more CPU than a
    // check tolerates, it abstains (and says so) even without our busy loop.
    assert_verdicts(&quiet_student, Verdict::NotYet, true);
    let quiet_solution = check_all(&dir.path().join("solution"), true);
    assert_verdicts(&quiet_solution, Verdict::Pass, true);

    // One core burnt beside the checks, as a student's browser might.
    let mut busy_loop = std::process::Command::new("yes")
        .stdout(Stdio::null())
        .spawn()
        .expect("`yes` runs");
    let busy_student = check_all(&dir.path().join("busy-student"), false);
    let busy_solution = check_all(&dir.path().join("busy-solution"), true);
    busy_loop.kill().unwrap();
    busy_loop.wait().unwrap();
    assert_verdicts(&busy_student, Verdict::NotYet, true);
    assert_verdicts(&busy_solution, Verdict::Pass, true);

    // A teacher merges the room: here, four "machines".
    let output = Command::cargo_bin("async-vs-blocking")
        .unwrap()
        .arg("check")
        .arg("--merge")
        .args(
            ["student", "solution", "busy-student", "busy-solution"]
                .map(|d| dir.path().join(d).join(FILE_NAME)),
        )
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(table.starts_with("4 machines"), "{table}");
    assert!(table.contains("03_sequential_waits"), "{table}");
}
