//! The hands-on workshop's grader: `async-vs-blocking check <exercise>`
//! builds an exercise of the kit (`exercises/`), runs it under the lab's
//! machinery, and judges the fix by measuring it — pass, not yet, or could
//! not judge — against a bound derived from the program's own waits and
//! the machine.
//!
//! [`exercises`] holds the exercises as data (figure, bound, hint),
//! [`verdict`] the pure judging rule, [`run`] the building and measuring,
//! [`record`] the records, tables and the class merge.

pub mod exercises;
pub mod record;
pub mod run;
pub mod verdict;

use exercises::Exercise;
use record::CheckRecord;
use std::path::Path;
use std::time::Instant;

/// Builds, runs and judges one exercise. Errors are the lab's (no cargo,
/// no /proc); the student's mistakes (a compile error, a crash, a
/// deadlock) end in a "not yet" record that says what happened.
pub fn check(
    exercise: &Exercise,
    solution: bool,
    root: &Path,
    connections: Option<u64>,
) -> anyhow::Result<CheckRecord> {
    let started = Instant::now();
    let mut record = CheckRecord {
        exercise: exercise.binary(false),
        version: if solution { "solution" } else { "student" }.into(),
        verdict: verdict::Verdict::NotYet,
        figure: exercise.figure.into(),
        measured: None,
        unit: exercise.unit.into(),
        bound: None,
        bound_why: None,
        note: None,
        hint: None,
        outside_cores: None,
        cores: crate::os::measure::cores(),
        figures: Default::default(),
        seconds: 0.0,
    };
    let program = match run::build(exercise, solution, root)? {
        Ok(program) => program,
        Err(compile_error) => {
            record.note = Some(compile_error);
            record.hint = Some(format!(
                "build it yourself to see every error: cargo build -p workshop-exercises --bin {}",
                exercise.binary(solution)
            ));
            record.seconds = started.elapsed().as_secs_f64();
            return Ok(record);
        }
    };
    let outcome = run::run(exercise, &program, connections)?;
    record.measured = outcome.figures.get(exercise.figure_key).copied();
    let bound = exercise.bound(&outcome.figures);
    record.bound = bound.as_ref().map(|b| b.value);
    record.bound_why = bound.map(|b| b.why);
    record.outside_cores = outcome.outside_cores;
    record.figures = outcome.figures;
    let notes: Vec<String> = [outcome.scale_note, outcome.problem.clone()]
        .into_iter()
        .flatten()
        .collect();
    if outcome.problem.is_some() && !outcome.timed_out {
        // It crashed or said nothing: the student's to fix, not judged.
        record.verdict = verdict::Verdict::NotYet;
    } else if outcome.timed_out {
        // A program that never finishes is not slowed by other programs.
        record.verdict = verdict::Verdict::NotYet;
    } else {
        let judged = verdict::judge(
            record.measured.unwrap_or(f64::NAN),
            record.bound.unwrap_or(f64::NAN),
            record.outside_cores.unwrap_or(0.0),
            record.cores,
            exercise.sensitivity,
        );
        record.verdict = judged.verdict;
        if let Some(why) = judged.abstained_because {
            record.note = Some(why);
        }
    }
    if !notes.is_empty() {
        let mut all = notes;
        all.extend(record.note.take());
        record.note = Some(all.join("; "));
    }
    if record.verdict == verdict::Verdict::NotYet {
        record.hint = Some(exercise.hint.into());
    }
    record.seconds = started.elapsed().as_secs_f64();
    Ok(record)
}

/// The lines `check <exercise>` prints for one record.
pub fn text(record: &CheckRecord, exercise: &Exercise) -> String {
    let mut lines = vec![format!(
        "exercise {}: {} ({} version)",
        record.exercise, exercise.title, record.version
    )];
    lines.push(format!(
        "  measured  {}: {}",
        record.figure,
        record::with_unit(record.measured, &record.unit)
    ));
    match (&record.bound, &record.bound_why) {
        (Some(_), Some(why)) => lines.push(format!(
            "  bound     at most {}: {why}",
            record::with_unit(record.bound, &record.unit)
        )),
        _ => lines.push("  bound     none: the program did not report what it needs".into()),
    }
    if let Some(outside) = record.outside_cores {
        lines.push(format!(
            "  machine   other programs used {outside:.2} of {} cores meanwhile",
            record.cores
        ));
    }
    if let Some(note) = &record.note {
        lines.push(format!("  note      {note}"));
    }
    lines.push(format!("  verdict   {}", record.verdict.words()));
    if let Some(hint) = &record.hint {
        lines.push(format!("  hint      {hint}"));
    }
    lines.push(format!("  took      {:.1} s", record.seconds));
    lines.join("\n")
}
