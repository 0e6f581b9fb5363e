//! `overhead`: the lab's `run` beside a bare program doing the same.

use crate::cli::args::OverheadArgs;
use crate::os::interrupt;
use anyhow::Context;

pub(super) fn overhead(args: OverheadArgs) -> anyhow::Result<i32> {
    interrupt::install().context("installing the SIGINT/SIGTERM handlers")?;
    let comparison = crate::lab::overhead::measure(
        &args.model,
        args.tasks,
        args.sleep_ms,
        args.repeat,
        std::time::Duration::from_secs(args.timeout_s),
    )?;
    if interrupt::requested() {
        crate::os::output::stderr_line!(
            "interrupted by {}: the comparison was cut short",
            interrupt::signal_name().unwrap_or("a signal")
        );
        return Ok(interrupt::EXIT_CODE);
    }
    if args.json {
        say!("{}", serde_json::to_string(&comparison)?);
    } else {
        say!("{}", comparison.text());
    }
    Ok(0)
}
