//! `check`: the workshop's grader. One exercise (`check 03`), every
//! exercise in order with a progress table and a JSON file for the teacher
//! (`check --all`), or a class's files merged (`check --merge a.json b.json`).
//! Exit 0 whatever the verdicts (a "not yet" is progress, not failure);
//! 2 for input it cannot use; 1 when a check could not run at all.

use crate::cli::args::CheckArgs;
use crate::os::error::UsageError;
use crate::workshop::{self, exercises, record};

pub fn check(args: CheckArgs) -> anyhow::Result<i32> {
    if !args.merge.is_empty() {
        return merge(&args);
    }
    let chosen: Vec<&exercises::Exercise> = match (&args.exercise, args.all) {
        (Some(_), true) => {
            return Err(UsageError("error: give one exercise or --all, not both".into()).into());
        }
        (None, false) => {
            return Err(UsageError(format!(
                "error: name an exercise or give --all; the exercises: {}",
                exercises::names().join(", ")
            ))
            .into());
        }
        (None, true) => exercises::all().iter().collect(),
        (Some(name), false) => match exercises::find(name) {
            Some(exercise) => vec![exercise],
            None => {
                return Err(UsageError(format!(
                    "error: no exercise {name:?}; the exercises: {} (or their numbers, 1 to 8)",
                    exercises::names().join(", ")
                ))
                .into())
            }
        },
    };
    let out = args
        .out
        .clone()
        .or_else(|| args.all.then(|| "reports/workshop".into()));
    if let Some(dir) = &out {
        super::check_writable(dir)?;
    }
    let root = workshop::run::workspace_root();
    let mut records = Vec::new();
    for exercise in chosen {
        let record = workshop::check(exercise, args.solution, &root, args.connections)?;
        say!("{}\n", workshop::text(&record, exercise));
        records.push(record);
        if let Some(dir) = &out {
            // Saved after every exercise, so a later failure loses nothing.
            record::CheckFile::new(records.clone()).save(dir)?;
        }
    }
    if args.all {
        say!("{}", record::table(&records));
    }
    if let Some(dir) = &out {
        say!("written: {}", dir.join(record::FILE_NAME).display());
    }
    Ok(0)
}

fn merge(args: &CheckArgs) -> anyhow::Result<i32> {
    if args.exercise.is_some() || args.all || args.solution {
        return Err(UsageError("error: --merge takes only files (and --out)".into()).into());
    }
    let mut files = Vec::new();
    for path in &args.merge {
        files.push(record::CheckFile::load(path).map_err(|e| UsageError(format!("error: {e}")))?);
    }
    let rows = record::merge(&files);
    say!("{} machines", files.len());
    say!("{}", record::class_table(&rows));
    if let Some(dir) = &args.out {
        super::check_writable(dir)?;
        std::fs::create_dir_all(dir)?;
        let path = crate::os::output::path_in(dir, "class.json")?;
        crate::os::output::replace_file(
            &path,
            (serde_json::to_string_pretty(&rows)? + "\n").as_bytes(),
        )?;
        say!("written: {}", path.display());
    }
    Ok(0)
}
