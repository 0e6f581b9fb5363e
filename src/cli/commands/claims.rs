//! `claims`: put popular claims about async on trial and save claims.json.

use super::{check_writable, invocation};
use crate::claims;
use crate::cli::args::ClaimsArgs;
use crate::cli::table;
use crate::lab::cell::ChildProcess;
use crate::os::measure;

/// Runs the claims in `only` (all when empty) with progress on stderr.
pub(super) fn measure_claims(
    only: &[String],
    repeats: u32,
    budget: claims::Budget,
) -> anyhow::Result<claims::ClaimsReport> {
    let executor = ChildProcess::current()?;
    let started = std::time::Instant::now();
    let started_unix_s = measure::unix_now_s();
    let progress = |position: usize, total: usize, id: &str| {
        crate::os::output::stderr_line!(
            "[{position}/{total}] {id} ({:.0} s so far)",
            started.elapsed().as_secs_f64()
        )
    };
    let options = claims::ClaimOptions {
        executor: &executor,
        repeats,
        invocation: invocation(),
        on_start: &progress,
        budget,
    };
    let results = claims::run_claims(only, &options);
    Ok(claims::ClaimsReport {
        machine: crate::lab::machine::machine(),
        started_unix_s,
        seconds: started.elapsed().as_secs_f64(),
        invocation: options.invocation.clone(),
        claims: results,
    })
}

pub(super) fn claims(args: ClaimsArgs) -> anyhow::Result<i32> {
    if args.list {
        say!("{}", claims::list_text());
        return Ok(0);
    }
    check_writable(&args.out)?;
    let _lock = crate::os::output::lock_output_dir(&args.out)?;
    let saved = crate::os::output::path_in(&args.out, crate::record::claims::FILE_NAME)?;
    // `--only` reruns some claims: the others' verdicts in claims.json are
    // kept, not lost. A file that cannot be read is the user's to fix first.
    let earlier = if !args.only.is_empty() && saved.exists() {
        Some(
            crate::record::claims::read_claims(&saved, &claims::catalogue()).map_err(|error| {
                crate::os::error::UsageError(format!(
                    "error: {} (move it away, or choose another --out)",
                    format!("{error:#}").replace('\n', " ")
                ))
            })?,
        )
    } else {
        None
    };
    crate::lab::doctor::before_measuring(&args.out);
    let report = measure_claims(&args.only, args.repeat, claims::Budget::Full)?;
    let kept = earlier.as_ref().map_or(0, |earlier| {
        earlier
            .claims
            .iter()
            .filter(|old| !report.claims.iter().any(|new| new.id == old.id))
            .count()
    });
    let file = match earlier {
        Some(earlier) => merge_claims(earlier, &report),
        None => report.clone(),
    };
    crate::record::claims::write_claims(&saved, &file)?;
    if kept > 0 {
        crate::os::output::stderr_line!(
            "kept {kept} earlier verdict{} in {} beside the {} rerun",
            if kept == 1 { "" } else { "s" },
            saved.display(),
            report.claims.len()
        );
    }
    if args.json {
        say!("{}", serde_json::to_string(&report)?);
    } else if args.markdown {
        say_raw!("{}", claims::claims_markdown(&report));
    } else {
        say!("{}", claims::claims_table(&report.claims));
        say!(
            "{} — started {}, took {:.0} s. Verdicts come from thresholds named in src/claims/; \
             with another number of cores some may change.",
            claims::tally(&report.claims),
            crate::os::measure::utc_date(report.started_unix_s),
            report.seconds
        );
        say!("{}", table::machine_line(&report.machine));
        say!(
            "Sizes and gates scaled to this machine: {} (see USABLE_LOGICAL_CPUS and USABLE_PHYSICAL_CORES beside each verdict).",
            claims::CpuTopology::detect().describe()
        );
        let busiest = report
            .claims
            .iter()
            .map(|c| c.load_average)
            .fold(0.0, f64::max);
        if busiest > report.machine.cores as f64 {
            say!(
                "The machine was busy: load average up to {busiest:.1} on {} cores. Timings are noisy; \
                 claims that need free cores say so instead of judging.",
                report.machine.cores
            );
        }
    }
    let shown = format!(
        "saved {}: a report written to {} (or drawn from a results.jsonl there) shows these verdicts",
        saved.display(),
        args.out.display()
    );
    if args.json || args.markdown {
        // stdout is the document itself.
        crate::os::output::stderr_line!("{shown}");
    } else {
        say!("{shown}");
    }
    Ok(0)
}

/// `earlier` with `rerun`'s claims in place of the same ids (new ids
/// appended), under the rerun's machine and command line.
fn merge_claims(
    earlier: claims::ClaimsReport,
    rerun: &claims::ClaimsReport,
) -> claims::ClaimsReport {
    let mut merged = earlier.claims;
    for result in &rerun.claims {
        match merged.iter_mut().find(|old| old.id == result.id) {
            Some(old) => *old = result.clone(),
            None => merged.push(result.clone()),
        }
    }
    claims::ClaimsReport {
        claims: merged,
        started_unix_s: earlier.started_unix_s.min(rerun.started_unix_s),
        seconds: earlier.seconds + rerun.seconds,
        ..rerun.clone()
    }
}
