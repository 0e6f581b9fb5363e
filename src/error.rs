//! The error a user's mistake becomes: one line on stderr and exit code 2.
//!
//! It lives below every command so that any layer (the record reader, the
//! report, the server) can say "this input is wrong" without importing the
//! command line.

/// A user mistake found after parsing: reported in one line with exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);
