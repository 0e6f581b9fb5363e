//! `list`: the execution models and workloads, as tables or JSON.

use crate::cli::table;

pub(super) fn list(json: bool) -> anyhow::Result<i32> {
    say!(
        "{}",
        if json {
            table::list_json()
        } else {
            table::list_text()
        }
    );
    Ok(0)
}
