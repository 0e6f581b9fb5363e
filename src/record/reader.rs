//! Reading results files a user points the lab at (`--input`, `--resume`).
//!
//! The files are the user's input, so every fault in them — missing,
//! unreadable, empty, malformed — is a [`UsageError`]: one line naming the
//! file (and the line), exit code 2.

use crate::os::error::UsageError;
use crate::record::result::CellRecord;
use std::path::Path;

/// Reads a results file given by the user (`--input`). A missing,
/// unreadable, empty or malformed file is a usage error: one line naming the
/// file (and the line), exit code 2.
pub fn load_records(path: &Path) -> anyhow::Result<Vec<CellRecord>> {
    let records = read_records(path)?;
    if records.is_empty() {
        return Err(UsageError(format!(
            "error: {} holds no records (run `async-vs-blocking sweep` first)",
            path.display()
        ))
        .into());
    }
    Ok(records)
}

/// Like [`load_records`], but an empty file is fine (a sweep interrupted
/// before its first cell finished leaves one).
pub fn read_records(path: &Path) -> anyhow::Result<Vec<CellRecord>> {
    crate::record::export::read_jsonl(path).map_err(|error| {
        UsageError(format!(
            "error: {} (expected results.jsonl written by `async-vs-blocking sweep`)",
            format!("{error:#}").replace('\n', " ")
        ))
        .into()
    })
}
