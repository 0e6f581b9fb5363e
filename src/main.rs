//! The `async-vs-blocking` binary: parse, dispatch, turn errors into exit codes.

use async_vs_blocking::cli::{self, Cli};
use async_vs_blocking::os::error::UsageError;
use clap::error::ErrorKind;
use clap::Parser;
// Never panics: an error line lost to a full stderr still leaves the exit code.
use async_vs_blocking::os::output::write_stderr;

fn main() {
    // Like other Unix tools, end quietly when the reader of our output goes
    // away (`... | head`), instead of panicking on a failed print.
    // SAFETY: restoring the default disposition of one signal at start-up.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => match error.kind() {
            ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => error.exit(),
            _ => {
                write_stderr(format_args!("{}", cli::one_line_error(&error)));
                std::process::exit(2);
            }
        },
    };
    let code = match cli::dispatch(cli) {
        Ok(code) => code,
        Err(error) => {
            if let Some(usage) = error.downcast_ref::<UsageError>() {
                write_stderr(format_args!("{usage}"));
                2
            } else {
                write_stderr(format_args!(
                    "error: {}",
                    format!("{error:#}").replace('\n', " ")
                ));
                1
            }
        }
    };
    std::process::exit(code);
}
