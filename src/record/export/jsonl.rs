//! JSON Lines: one [`CellRecord`] per line, appended as each cell finishes.

use crate::os::error::UsageError;
use crate::record::result::CellRecord;
use anyhow::Context;
use std::io::Write;
use std::path::Path;

/// Appends `record` as one line, with a single `write` so a line is either
/// whole or absent, and syncs it to disk.
pub fn append_jsonl<T: serde::Serialize>(path: &Path, record: &T) -> anyhow::Result<()> {
    let mut line = serde_json::to_vec(record).context("encoding a record")?;
    line.push(b'\n');
    let mut file = crate::os::output::open_append(path)?;
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
/// error for a malformed line, which also names the file and the line (a
/// line that is not UTF-8 text too).
pub fn read_lines<T: serde::de::DeserializeOwned>(
    path: &Path,
    what: &str,
) -> anyhow::Result<Vec<T>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    // A byte-order mark (an editor's UTF-8 "signature") is not part of the first record.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let mut records = Vec::new();
    for (number, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = std::str::from_utf8(line).map_err(|error| {
            anyhow::anyhow!(
                "{}:{}: not {what}: not UTF-8 text (byte {} of the line)",
                path.display(),
                number + 1,
                error.valid_up_to() + 1
            )
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let record = serde_json::from_str(line)
            .with_context(|| format!("{}:{}: not {what}", path.display(), number + 1))?;
        records.push(record);
    }
    Ok(records)
}

/// Before appending to `path` (`sweep --resume`): makes sure its last line
/// is whole, so the next record starts a line of its own. A last line
/// without its newline that still holds a whole record gets the newline; a
/// cut-off one is refused as a [`UsageError`], because appending after it
/// would glue two records into one unreadable line.
pub fn repair_last_line(path: &Path) -> anyhow::Result<()> {
    repair_last_line_of::<CellRecord>(path)
}

/// [`repair_last_line`] for a JSON Lines file of records of type `T`
/// (`server.jsonl` holds server points).
pub fn repair_last_line_of<T: serde::de::DeserializeOwned>(path: &Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    if bytes.is_empty() || bytes.ends_with(b"\n") {
        return Ok(());
    }
    let start = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let number = bytes[..start].iter().filter(|&&b| b == b'\n').count() + 1;
    let last = &bytes[start..];
    let whole =
        last.iter().all(u8::is_ascii_whitespace) || serde_json::from_slice::<T>(last).is_ok();
    if !whole {
        return Err(UsageError(format!(
            "error: {}:{number}: the last line is cut off (no newline, not a whole record); \
             delete that line and rerun with --resume, or start again with --overwrite",
            path.display()
        ))
        .into());
    }
    let mut file = crate::os::output::open_append(path)?;
    file.write_all(b"\n")
        .and_then(|_| file.sync_data())
        .with_context(|| format!("appending to {}", path.display()))
}
