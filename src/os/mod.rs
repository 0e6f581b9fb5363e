//! The operating system, seen by the lab: clocks and `/proc` readings
//! ([`measure`]), resource limits, file descriptors, signals, child
//! processes, and careful output. This is the bottom layer: it imports
//! nothing from the crate outside this folder.

pub mod descriptors;
pub mod error;
pub mod interrupt;
pub mod limits;
pub mod measure;
pub mod output;
pub mod process;
