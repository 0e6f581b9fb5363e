//! JSON Lines: one [`CellRecord`] per line, appended as each cell finishes.

use crate::result::CellRecord;
use anyhow::Context;
use std::io::Write;
use std::path::Path;

/// Appends `record` as one line, with a single `write` so a line is either
/// whole or absent, and syncs it to disk.
pub fn append_jsonl(path: &Path, record: &CellRecord) -> anyhow::Result<()> {
    append_line(path, record)
}

/// Appends any record type as one line (one `write`, then synced).
pub fn append_line<T: serde::Serialize>(path: &Path, record: &T) -> anyhow::Result<()> {
    let mut line = serde_json::to_vec(record).context("encoding a record")?;
    line.push(b'\n');
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    file.write_all(&line)
        .and_then(|_| file.sync_data())
        .with_context(|| format!("appending to {}", path.display()))
}

/// Reads every record of a JSON Lines file; a malformed line is an error
/// that names the file and the line.
pub fn read_jsonl(path: &Path) -> anyhow::Result<Vec<CellRecord>> {
    read_lines(path, "a lab record")
}

/// Reads a JSON Lines file of any record type; `what` names the type in the
/// error for a malformed line, which also names the file and the line.
pub fn read_lines<T: serde::de::DeserializeOwned>(
    path: &Path,
    what: &str,
) -> anyhow::Result<Vec<T>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut records = Vec::new();
    for (number, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let record = serde_json::from_str(line)
            .with_context(|| format!("{}:{}: not {what}", path.display(), number + 1))?;
        records.push(record);
    }
    Ok(records)
}
