//! The machine every record describes: the OS's facts ([`Machine::describe`])
//! with the runtime crates and runtime choices of every model in the
//! registry, so a new model's crates appear in every record without a list
//! to update.

use crate::model;
use crate::record::result::Machine;

/// Describes this machine for a record.
pub fn machine() -> Machine {
    let runtime_crates: Vec<&str> = model::all()
        .iter()
        .flat_map(|model| model.crates().iter().copied())
        .collect();
    let runtimes = model::all()
        .iter()
        .filter_map(|model| Some((model.name().to_string(), model.runtime_note()?)))
        .collect();
    Machine::describe(&runtime_crates, runtimes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine_is_described_with_every_models_crates() {
        let m = machine();
        assert!(m.cores >= 1);
        assert!(m.rustc.starts_with("rustc"), "{}", m.rustc);
        for model in model::all() {
            for name in model.crates() {
                assert!(m.crates.contains_key(*name), "{name} in {:?}", m.crates);
            }
        }
    }
}
