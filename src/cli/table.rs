//! Terminal output: readable tables of models, workloads and records.

use crate::model;
use crate::record::result::{CellRecord, Machine, Status};
use crate::workload;
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};

/// The models and workloads as two tables.
pub fn list_text() -> String {
    let mut models = Table::new();
    models.load_preset(UTF8_FULL_CONDENSED);
    models.set_header(["model", "style", "what it is", "PostgreSQL driver (db)"]);
    for m in model::all() {
        let style = match m.style() {
            model::Style::Blocking => "blocking",
            model::Style::Async => "async",
        };
        models.add_row([
            model::label(m.name()).as_str(),
            style,
            m.description(),
            m.database_driver().unwrap_or(NO_DRIVER),
        ]);
    }
    let mut workloads = Table::new();
    workloads.load_preset(UTF8_FULL_CONDENSED);
    workloads.set_header(["workload", "what each task does"]);
    for w in workload::all() {
        workloads.add_row([w.name(), w.description()]);
    }
    format!("Models\n{models}\n\nWorkloads\n{workloads}")
}

/// What `list` says of a model without a PostgreSQL driver: it runs no `db` cell.
const NO_DRIVER: &str = "none here: no db cells";

/// The models and workloads as JSON.
pub fn list_json() -> String {
    let models: Vec<_> = model::all()
        .iter()
        .map(|m| {
            serde_json::json!({
                "name": m.name(),
                "style": match m.style() { model::Style::Blocking => "blocking", model::Style::Async => "async" },
                "legacy": m.legacy(),
                "description": m.description(),
                "database_driver": m.database_driver(),
            })
        })
        .collect();
    let workloads: Vec<_> = workload::all()
        .iter()
        .map(|w| serde_json::json!({"name": w.name(), "description": w.description()}))
        .collect();
    serde_json::json!({"models": models, "workloads": workloads}).to_string()
}

/// Records as a table: one row per cell.
pub fn record_table(records: &[CellRecord]) -> Table {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED);
    table.set_header([
        "workload",
        "model",
        "tasks",
        "workers",
        "wall ms (min/med/max)",
        "ideal ms",
        "efficiency",
        "p99 ms",
        "peak RSS MiB",
        "threads",
        "status",
    ]);
    for r in records {
        let ok = r.status == Status::Ok;
        let dash = || "-".to_string();
        table.add_row([
            r.workload.clone(),
            match r.stack_kib {
                Some(kib) => format!("{} ({kib} KiB stacks)", model::label(&r.model)),
                None => model::label(&r.model),
            },
            r.tasks.to_string(),
            r.workers.to_string(),
            if ok {
                format!(
                    "{:.1} / {:.1} / {:.1}",
                    r.wall_ms.min, r.wall_ms.median, r.wall_ms.max
                )
            } else {
                dash()
            },
            format!("{:.1}", r.ideal_ms),
            if ok {
                format!("{:.2}", r.efficiency)
            } else {
                dash()
            },
            if ok {
                format!("{:.1}", r.latency_ms.p99)
            } else {
                dash()
            },
            if ok {
                format!("{:.1}", r.peak_rss_kib as f64 / 1024.0)
            } else {
                dash()
            },
            if ok {
                r.peak_threads.to_string()
            } else {
                dash()
            },
            if r.noisy {
                format!("{} (noisy)", r.status.as_str())
            } else {
                r.status.as_str().to_string()
            },
        ]);
    }
    table
}

/// One line describing the machine.
pub fn machine_line(machine: &Machine) -> String {
    format!(
        "machine: {} cores, {}, Linux {}, {}",
        machine.cores, machine.cpu_model, machine.kernel, machine.rustc
    )
}
