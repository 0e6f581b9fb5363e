//! The error a user's mistake becomes: one line on stderr and exit code 2.
//!
//! It lives below every command so that any layer (the record reader, the
//! report, the server) can say "this input is wrong" without importing the
//! command line.
//!
//! The exit codes of every command, in one place:
//!
//! | code | meaning |
//! |---|---|
//! | 0 | done |
//! | 1 | the lab failed (an I/O error, a full stdout, a failed experiment) |
//! | 2 | [`UsageError`]: a bad argument or input file, found before anything ran |
//! | 3 | [`EXIT_CELL_FAILED`]: `run` measured a cell that failed or timed out |
//! | 130 | SIGINT or SIGTERM stopped the command ([`crate::os::interrupt::EXIT_CODE`]) |

/// A user mistake found after parsing: reported in one line with exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// `run`'s exit code when its cell ended `failed` or `timeout`: the record
/// is still printed, and scripts can tell it from a cell that worked (0) and
/// from a mistake on the command line (2).
pub const EXIT_CELL_FAILED: i32 = 3;
