//! The command line: [`args`] holds the clap definitions, [`commands`] one
//! handler per subcommand, [`report_run`] the report's measuring half and
//! [`table`] the terminal tables. It may import every part; nothing imports
//! it: the pieces every layer shares (the usage error, the record reader)
//! live below it, in [`crate::os::error`] and [`crate::record::reader`].

pub mod args;
pub mod commands;
pub mod report_run;
pub mod table;

pub use args::{one_line_error, Cli};
pub use commands::dispatch;
