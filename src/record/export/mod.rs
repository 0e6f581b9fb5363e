//! Writing and reading results. One file per format; the [`ExportManager`]
//! updates every file after each cell, so a sweep that stops halfway keeps
//! every cell it finished.

mod csv;
mod jsonl;

pub use self::csv::write_csv;
pub use self::jsonl::{
    append_jsonl, read_jsonl, read_lines, repair_last_line, repair_last_line_of,
};

use crate::os::output::path_in;
use crate::record::result::CellRecord;
use anyhow::Context;
use std::path::{Path, PathBuf};

/// Keeps `results.jsonl` and `results.csv` in a directory up to date.
pub struct ExportManager {
    pub jsonl: PathBuf,
    pub csv: PathBuf,
    records: Vec<CellRecord>,
}

impl ExportManager {
    /// Starts fresh files in `dir` (creating it), or with `keep_existing`
    /// continues the records already in `dir/results.jsonl`.
    pub fn create(dir: &Path, keep_existing: bool) -> anyhow::Result<ExportManager> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the output directory {}", dir.display()))?;
        let jsonl = path_in(dir, "results.jsonl")?;
        let csv = path_in(dir, "results.csv")?;
        let records = if keep_existing && jsonl.exists() {
            repair_last_line(&jsonl)?;
            read_jsonl(&jsonl)?
        } else {
            crate::os::output::replace_file(&jsonl, b"")?;
            Vec::new()
        };
        let manager = ExportManager {
            jsonl,
            csv,
            records,
        };
        write_csv(&manager.csv, &manager.records)?;
        Ok(manager)
    }

    /// The records written so far.
    pub fn records(&self) -> &[CellRecord] {
        &self.records
    }

    /// Appends one record to the JSON Lines file and rewrites the CSV.
    pub fn add(&mut self, record: CellRecord) -> anyhow::Result<()> {
        append_jsonl(&self.jsonl, &record)?;
        self.records.push(record);
        write_csv(&self.csv, &self.records)
    }
}
