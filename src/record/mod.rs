//! Every record the lab writes and the report reads: one cell's result,
//! one server point, claim verdicts, and their readers and exporters (JSON
//! Lines, CSV). Both the measuring side and the report stand on this layer,
//! so the report never needs the code that measured. It may import only
//! [`crate::os`] and [`crate::stats`].

pub mod claims;
pub mod costs;
pub mod doctor;
pub mod export;
pub mod load_point;
pub mod memory;
pub mod reader;
pub mod result;
pub mod server_point;
pub mod timers;
