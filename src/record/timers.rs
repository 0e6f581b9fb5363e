//! Timer precision: the `timers.jsonl` record of how
//! long a sleep of 0.1, 1 and 10 ms really took with each async runtime's own
//! timer and with `std::thread::sleep`. The experiment that measures it
//! ([`crate::lab::experiments::timers`]) writes it; the report reads it.
//! This file only defines the record and reads and writes the file.
//!
//! Every sleep in the lab's workloads goes through one of these timers, so
//! this small experiment explains a systematic gap in the other charts:
//! tokio's timer wheel ticks once per millisecond and rounds a sleep up to
//! the next tick, while async-io (smol, async-std) and the kernel's
//! `nanosleep` wake close to the requested time. Each runtime is built
//! before any sleep is timed, one untimed sleep warms its timer up, and every
//! figure is the spread of several samples (min / median / max).

use crate::record::result::{Machine, WallMs};
use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The file the results are kept in, beside results.jsonl.
pub const FILE_NAME: &str = "timers.jsonl";

/// One timer at one requested sleep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimerRecord {
    /// `tokio`, `async-std`, `smol` or `std::thread::sleep`.
    pub timer: String,
    /// The model whose colour the timer is drawn in (`threads` for std).
    pub model: String,
    /// The sleep asked for, in ms.
    pub requested_ms: f64,
    /// Timed samples behind `actual_ms`.
    pub samples: u32,
    /// How long the sleep really took: min / median / max over the samples.
    pub actual_ms: WallMs,
    /// The machine it was measured on.
    pub machine: Machine,
    /// When the experiment started, seconds since the Unix epoch (UTC).
    pub started_unix_s: u64,
}

/// Writes the records as JSON Lines (replacing the file).
pub fn write_timers(path: &Path, records: &[TimerRecord]) -> anyhow::Result<()> {
    let mut text = Vec::new();
    for record in records {
        serde_json::to_writer(&mut text, record).context("encoding a timer record")?;
        text.push(b'\n');
    }
    crate::os::output::replace_file(path, &text)
}

/// Reads timer records; a malformed line is an error naming file and line.
pub fn read_timers(path: &Path) -> anyhow::Result<Vec<TimerRecord>> {
    crate::record::export::read_lines(path, "a timer record")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timer_records_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let record = TimerRecord {
            timer: "smol".into(),
            model: "smol".into(),
            requested_ms: 1.0,
            samples: 3,
            actual_ms: WallMs {
                min: 1.01,
                median: 1.05,
                max: 1.2,
            },
            machine: Machine::default(),
            started_unix_s: 1,
        };
        write_timers(&path, std::slice::from_ref(&record)).unwrap();
        assert_eq!(read_timers(&path).unwrap(), vec![record]);
        std::fs::write(&path, "{}\n").unwrap();
        let error = format!("{:#}", read_timers(&path).unwrap_err());
        assert!(error.contains("timers.jsonl:1"), "{error}");
    }
}
