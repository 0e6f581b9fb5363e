//! Spawn and switch costs per unit: the `unit-costs.json` record. The
//! experiment that measures them with a small budget
//! ([`crate::lab::experiments::costs`]) writes it; the report reads it. This
//! file only defines the record and reads and writes the file.

use crate::record::result::Machine;
use anyhow::Context;
use std::path::Path;

/// The file the costs are kept in, beside results.jsonl.
pub const FILE_NAME: &str = "unit-costs.json";

/// Per-unit costs measured by the lab, when there are any.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct UnitCosts {
    /// (unit kind, ns per spawn-and-join).
    pub spawn_ns: Vec<(String, f64)>,
    /// (unit kind, ns per switch).
    pub switch_ns: Vec<(String, f64)>,
    /// How the figures were measured.
    pub source: String,
    /// The machine they were measured on.
    #[serde(default)]
    pub machine: Option<Machine>,
}

/// Writes the costs as one JSON document.
pub fn write_costs(path: &Path, costs: &UnitCosts) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(costs).context("encoding unit costs")?;
    crate::os::output::replace_file(path, text.as_bytes())
}

/// Reads costs written by [`write_costs`].
pub fn read_costs(path: &Path) -> anyhow::Result<UnitCosts> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{}: not a unit-costs file", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costs_round_trip_through_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let costs = UnitCosts {
            spawn_ns: vec![("thread".into(), 20_000.0)],
            switch_ns: vec![("tokio task (channel)".into(), 150.0)],
            source: "test".into(),
            machine: None,
        };
        write_costs(&path, &costs).unwrap();
        assert_eq!(read_costs(&path).unwrap(), costs);
        std::fs::write(&path, "[]").unwrap();
        assert!(format!("{:#}", read_costs(&path).unwrap_err()).contains("unit-costs.json"));
    }
}
