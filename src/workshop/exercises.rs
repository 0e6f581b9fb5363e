//! The workshop's exercises as data: what each one's check measures, the
//! bound it holds the figure to (a pure function of the program's own
//! figures and the machine), and the one hint a "not yet" gets.
//!
//! Each bound is the geometric middle of two physical figures: what a
//! fixed program cannot avoid (one backend wait, one job) and what the
//! unfixed program cannot go below (all waits in a row, every request held
//! at once). Both sides then have the same margin, √(floor / need), and
//! the exercise's essay (`exercises/src/bin/NN_*.rs`) derives both.

use super::verdict::Sensitivity;
use std::collections::BTreeMap;
use std::time::Duration;

/// The figures a check knows: the program's own (its `workshop-ready` and
/// `workshop-report` lines) and the ones the check measured or chose.
pub type Figures = BTreeMap<String, f64>;

/// How the check drives an exercise's program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Harness {
    /// The program runs to its end and reports its figures.
    RunsToEnd,
    /// An HTTP server: the check offers open-loop load and reads the p99.
    HttpLoad,
    /// A TCP server: the check opens idle connections and counts threads.
    IdleConnections,
}

/// A bound and where it comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct Bound {
    pub value: f64,
    pub why: String,
}

/// One exercise of the kit.
#[derive(Debug, Clone, Copy)]
pub struct Exercise {
    /// Two digits: the order of the workshop.
    pub number: &'static str,
    pub name: &'static str,
    pub title: &'static str,
    pub harness: Harness,
    /// What is measured, in words, and its key in [`Figures`].
    pub figure: &'static str,
    pub figure_key: &'static str,
    pub unit: &'static str,
    pub sensitivity: Sensitivity,
    pub hint: &'static str,
    bound: fn(&Figures) -> Option<Bound>,
}

impl Exercise {
    /// The binary's name: `01_blocking_sleep` (the reference solution's
    /// gets `_solution`).
    pub fn binary(&self, solution: bool) -> String {
        let suffix = if solution { "_solution" } else { "" };
        format!("{}_{}{suffix}", self.number, self.name)
    }

    /// The bound, from the figures (None when one it needs is missing).
    pub fn bound(&self, figures: &Figures) -> Option<Bound> {
        (self.bound)(figures)
    }

    /// The longest the check lets the program run before it stops it: a
    /// safety net, except for exercise 7, whose unfixed version deadlocks
    /// and is stopped after 4 × its requests' waits in a row.
    pub fn time_limit(&self, figures: &Figures) -> Duration {
        match (figures.get("backend_wait_ms"), figures.get("requests")) {
            (Some(wait), Some(requests)) if self.number == "07" => {
                Duration::from_secs_f64((4.0 * wait * requests / 1e3).clamp(0.5, 60.0))
            }
            _ => SAFETY_TIME_LIMIT,
        }
    }
}

/// How long any exercise may run before the check gives up on it.
pub const SAFETY_TIME_LIMIT: Duration = Duration::from_secs(60);

/// Threads a server that waits for connections asynchronously needs
/// besides one per core: the main thread, and a few a runtime or the
/// allocator may start.
pub const ASYNC_SERVER_SPARE_THREADS: f64 = 4.0;

/// Every exercise, in the workshop's order.
pub fn all() -> &'static [Exercise] {
    &EXERCISES
}

/// The names a user may type: `01`, `1`, `blocking_sleep`, `01_blocking_sleep`.
pub fn find(text: &str) -> Option<&'static Exercise> {
    let text = text.trim().trim_end_matches(".rs");
    all().iter().find(|exercise| {
        text == exercise.number
            || text == exercise.name
            || text == exercise.binary(false)
            || text.parse::<u32>().ok() == exercise.number.parse::<u32>().ok()
                && text.chars().all(|c| c.is_ascii_digit())
    })
}

/// Every accepted long name, for the error message.
pub fn names() -> Vec<String> {
    all()
        .iter()
        .map(|exercise| exercise.binary(false))
        .collect()
}

fn figure(figures: &Figures, key: &str) -> Option<f64> {
    figures
        .get(key)
        .copied()
        .filter(|v| v.is_finite() && *v > 0.0)
}

/// The geometric middle of what a fixed program needs and what the
/// unfixed one cannot go below.
fn middle(need: f64, floor: f64) -> f64 {
    (need * floor).sqrt()
}

static EXERCISES: [Exercise; 8] = [
    Exercise {
        number: "01",
        name: "blocking_sleep",
        title: "a blocking sleep in an async HTTP handler",
        harness: Harness::HttpLoad,
        figure: "p99 latency under open-loop load",
        figure_key: "p99_ms",
        unit: "ms",
        sensitivity: Sensitivity::Capacity,
        hint: "the handler holds its worker thread while it waits: wait with \
               tokio::time::sleep(BACKEND_WAIT).await instead of std::thread::sleep",
        bound: |f| {
            let wait = figure(f, "backend_wait_ms")?;
            let duration = figure(f, "load_duration_ms")?;
            let workers = figure(f, "workers")?;
            Some(Bound {
                value: middle(wait, duration),
                why: format!(
                    "the geometric middle of one backend wait ({wait:.0} ms, what a server that \
                     waits without a thread needs) and the load's {duration:.0} ms (the least p99 \
                     of {workers:.0} workers that each sleep: offered twice their {:.0} req/s, the \
                     request due at t waits t)",
                    workers * 1e3 / wait
                ),
            })
        },
    },
    Exercise {
        number: "02",
        name: "cpu_starves_heartbeat",
        title: "a CPU-heavy loop starves a heartbeat",
        harness: Harness::RunsToEnd,
        figure: "heartbeat's worst lateness",
        figure_key: "heartbeat_late_ms",
        unit: "ms",
        sensitivity: Sensitivity::Capacity,
        hint: "the batch never gives the thread back: run each checksum with \
               tokio::task::spawn_blocking(...).await (or tokio::task::yield_now().await \
               between files)",
        bound: |f| {
            let file = figure(f, "file_ms")?;
            let files = figure(f, "files")?;
            Some(Bound {
                value: file * files.sqrt(),
                why: format!(
                    "the geometric middle of one file's checksum ({file:.1} ms, the most a fix \
                     that yields between files leaves) and all {files:.0} in one poll \
                     ({:.0} ms, the least the unfixed batch holds the thread)",
                    file * files
                ),
            })
        },
    },
    Exercise {
        number: "03",
        name: "sequential_waits",
        title: "three independent waits awaited in sequence",
        harness: Harness::RunsToEnd,
        figure: "median page time",
        figure_key: "page_ms",
        unit: "ms",
        sensitivity: Sensitivity::Waits,
        hint: "start the three calls together: \
               tokio::join!(fetch_profile(), fetch_orders(), fetch_recommendations())",
        bound: |f| {
            let longest = figure(f, "longest_wait_ms")?;
            let sum = figure(f, "sum_of_waits_ms")?;
            Some(Bound {
                value: middle(longest, sum),
                why: format!(
                    "the geometric middle of the longest wait ({longest:.0} ms, a joined page) \
                     and the sum of the waits ({sum:.0} ms, a page that awaits them in turn)"
                ),
            })
        },
    },
    Exercise {
        number: "04",
        name: "blocking_client",
        title: "a blocking database call inside async code",
        harness: Harness::RunsToEnd,
        figure: "time for all lookups",
        figure_key: "all_lookups_ms",
        unit: "ms",
        sensitivity: Sensitivity::Waits,
        hint: "run the blocking query where blocking is allowed: \
               tokio::task::spawn_blocking(move || kit::blocking_db::query(customer)).await",
        bound: |f| {
            let query = figure(f, "query_ms")?;
            let lookups = figure(f, "lookups")?;
            let workers = figure(f, "workers")?;
            let floor = lookups * query / workers;
            Some(Bound {
                value: middle(query, floor),
                why: format!(
                    "the geometric middle of one query ({query:.0} ms, all waiting together) and \
                     {lookups:.0} queries on {workers:.0} blocked workers ({floor:.0} ms)"
                ),
            })
        },
    },
    Exercise {
        number: "05",
        name: "unbounded_spawn",
        title: "every request spawned at once against a slow service",
        harness: Harness::RunsToEnd,
        figure: "resident memory growth",
        figure_key: "rss_growth_kib",
        unit: "KiB",
        sensitivity: Sensitivity::Unmoved,
        hint: "make a request only when the service can take it: a tokio::sync::Semaphore \
               with kit::SLOW_SERVICE_CONCURRENCY permits, acquired before the body is made",
        bound: |f| {
            let requests = figure(f, "requests")?;
            let body = figure(f, "body_kib")?;
            let limit = figure(f, "service_concurrency")?;
            Some(Bound {
                value: (requests * limit).sqrt() * body,
                why: format!(
                    "√(N × L) bodies of {body:.0} KiB: the geometric middle of the L = {limit:.0} \
                     bodies the service takes at once ({:.0} KiB) and all N = {requests:.0} \
                     ({:.0} KiB; at least half are held at once, since spawning outruns the \
                     service)",
                    limit * body,
                    requests * body
                ),
            })
        },
    },
    Exercise {
        number: "06",
        name: "thread_per_connection",
        title: "a thread per connection under many idle connections",
        harness: Harness::IdleConnections,
        figure: "server threads with the connections open",
        figure_key: "peak_threads",
        unit: "threads",
        sensitivity: Sensitivity::Unmoved,
        hint: "wait for the connections with a few threads: a tokio::net::TcpListener in \
               #[tokio::main], and tokio::spawn one task per connection",
        bound: |f| {
            let cores = figure(f, "cores")?;
            let connections = figure(f, "connections")?;
            let need = cores + ASYNC_SERVER_SPARE_THREADS;
            Some(Bound {
                value: middle(need, connections),
                why: format!(
                    "the geometric middle of one thread per core plus \
                     {ASYNC_SERVER_SPARE_THREADS:.0} ({need:.0}, an async server) and one per \
                     connection ({connections:.0})"
                ),
            })
        },
    },
    Exercise {
        number: "07",
        name: "mutex_across_await",
        title: "a std::sync::Mutex guard held across an .await",
        harness: Harness::RunsToEnd,
        figure: "time for all requests",
        figure_key: "all_requests_ms",
        unit: "ms",
        sensitivity: Sensitivity::Waits,
        hint: "drop the guard before the .await: lock in one statement to read, fetch, then \
               lock again to store",
        bound: |f| {
            let wait = figure(f, "backend_wait_ms")?;
            let requests = figure(f, "requests")?;
            Some(Bound {
                value: middle(wait, wait * requests),
                why: format!(
                    "the geometric middle of one backend wait ({wait:.0} ms, fetches that wait \
                     together) and {requests:.0} in a row ({:.0} ms, one lock held across each)",
                    wait * requests
                ),
            })
        },
    },
    Exercise {
        number: "08",
        name: "cpu_batch_on_workers",
        title: "a CPU-bound batch on tokio's worker threads",
        harness: Harness::RunsToEnd,
        figure: "time in slow polls (tokio-metrics)",
        figure_key: "slow_poll_ms",
        unit: "ms",
        sensitivity: Sensitivity::Capacity,
        hint: "compute on a pool made for it: rayon::spawn with a tokio::sync::oneshot \
               channel (or tokio::task::spawn_blocking), and await the answer",
        bound: |f| {
            let job = figure(f, "job_ms")?;
            let jobs = figure(f, "jobs")?;
            Some(Bound {
                value: job * jobs.sqrt(),
                why: format!(
                    "the geometric middle of one job ({job:.1} ms) and all {jobs:.0} computed \
                     inside polls ({:.0} ms)",
                    job * jobs
                ),
            })
        },
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workshop::verdict::{judge, Verdict};

    fn figures(pairs: &[(&str, f64)]) -> Figures {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    fn exercise(number: &str) -> &'static Exercise {
        find(number).unwrap()
    }

    /// Judges a figure on a quiet machine.
    fn quiet(exercise: &Exercise, figures: &Figures, measured: f64) -> Verdict {
        let bound = exercise.bound(figures).unwrap().value;
        judge(measured, bound, 0.0, 2, exercise.sensitivity).verdict
    }

    #[test]
    fn every_spelling_of_an_exercise_finds_it_and_nothing_else_does() {
        for text in [
            "01",
            "1",
            "blocking_sleep",
            "01_blocking_sleep",
            "01_blocking_sleep.rs",
        ] {
            assert_eq!(find(text).unwrap().number, "01", "{text}");
        }
        assert_eq!(find("8").unwrap().name, "cpu_batch_on_workers");
        for text in ["", "9", "00", "blocking", "1a"] {
            assert!(find(text).is_none(), "{text}");
        }
    }

    #[test]
    fn the_blocking_handlers_floor_fails_and_one_wait_passes_on_1_to_64_cores() {
        for workers in [1.0, 2.0, 8.0, 64.0] {
            let f = figures(&[
                ("backend_wait_ms", 50.0),
                ("load_duration_ms", 2000.0),
                ("workers", workers),
            ]);
            let e = exercise("01");
            assert_eq!(quiet(e, &f, 2000.0), Verdict::NotYet);
            assert_eq!(quiet(e, &f, 50.0 + 20.0), Verdict::Pass);
        }
    }

    #[test]
    fn a_heartbeat_late_by_the_whole_batch_fails_and_by_one_file_passes() {
        let f = figures(&[("file_ms", 5.0), ("files", 64.0)]);
        let e = exercise("02");
        assert_eq!(quiet(e, &f, 64.0 * 5.0), Verdict::NotYet);
        assert_eq!(quiet(e, &f, 5.0 + 1.0), Verdict::Pass);
    }

    #[test]
    fn a_page_as_long_as_its_waits_summed_fails_and_as_the_longest_passes() {
        let f = figures(&[("longest_wait_ms", 100.0), ("sum_of_waits_ms", 300.0)]);
        let e = exercise("03");
        assert_eq!(quiet(e, &f, 300.0), Verdict::NotYet);
        assert_eq!(quiet(e, &f, 102.0), Verdict::Pass);
    }

    #[test]
    fn lookups_through_blocked_workers_fail_and_lookups_waiting_together_pass() {
        for workers in [1.0, 2.0, 8.0, 32.0] {
            let lookups = 16.0 * workers;
            let f = figures(&[
                ("query_ms", 20.0),
                ("lookups", lookups),
                ("workers", workers),
            ]);
            let e = exercise("04");
            assert_eq!(quiet(e, &f, lookups * 20.0 / workers), Verdict::NotYet);
            assert_eq!(quiet(e, &f, 20.0 + 5.0), Verdict::Pass);
        }
    }

    #[test]
    fn half_the_requests_held_at_once_fail_and_the_services_share_passes() {
        let f = figures(&[
            ("requests", 50_000.0),
            ("body_kib", 2.0),
            ("service_concurrency", 200.0),
        ]);
        let e = exercise("05");
        assert_eq!(quiet(e, &f, 25_000.0 * 2.0), Verdict::NotYet);
        assert_eq!(quiet(e, &f, 200.0 * 2.0 + 1024.0), Verdict::Pass);
    }

    #[test]
    fn a_thread_per_connection_fails_and_a_thread_per_core_passes_on_1_to_64_cores() {
        for cores in [1.0, 2.0, 8.0, 64.0] {
            let f = figures(&[("cores", cores), ("connections", 20_000.0)]);
            let e = exercise("06");
            assert_eq!(quiet(e, &f, 20_001.0), Verdict::NotYet);
            assert_eq!(quiet(e, &f, cores + 2.0), Verdict::Pass);
        }
    }

    #[test]
    fn requests_serialised_by_a_lock_fail_and_a_deadlock_is_stopped_at_four_times_that() {
        let f = figures(&[("backend_wait_ms", 50.0), ("requests", 10.0)]);
        let e = exercise("07");
        assert_eq!(quiet(e, &f, 500.0), Verdict::NotYet);
        assert_eq!(quiet(e, &f, 55.0), Verdict::Pass);
        assert_eq!(e.time_limit(&f), Duration::from_secs(2));
        assert_eq!(exercise("03").time_limit(&f), SAFETY_TIME_LIMIT);
    }

    #[test]
    fn a_batch_computed_inside_polls_fails_and_one_computed_elsewhere_passes() {
        let f = figures(&[("job_ms", 5.0), ("jobs", 32.0)]);
        let e = exercise("08");
        assert_eq!(quiet(e, &f, 32.0 * 5.0), Verdict::NotYet);
        assert_eq!(quiet(e, &f, 3.0), Verdict::Pass);
    }

    #[test]
    fn a_bound_needs_every_figure_it_is_derived_from() {
        for exercise in all() {
            assert!(
                exercise.bound(&Figures::new()).is_none(),
                "{}",
                exercise.name
            );
        }
    }
}
