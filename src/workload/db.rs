//! `db`: each task takes a connection from its model's pool of `--pool`
//! connections to a real PostgreSQL, and runs two queries on it: a
//! server-side wait, `SELECT $task FROM pg_sleep(D)` (the database is
//! slow: `--sleep-ms`), then an indexed range lookup with a small
//! aggregate over the generated `items` table (the database works). Both
//! answers are checked: the wait must return the task's own number, the
//! lookup the count and sum the table's formula gives
//! ([`expected_sum`]).
//!
//! The lab starts the database for the sweep or the run (a throwaway
//! cluster, [`crate::net::database`]) and its address reaches the plan
//! through [`Params::database`]. The pool is the bound: at most `pool`
//! queries run at once, whatever the model, so N tasks need at least
//! ⌈N/pool⌉ waits of D — the ideal. Async saves threads while tasks wait
//! for a connection; it does not make the database answer more at once.

use super::{Op, Params, Query, Workload};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::time::Duration;

/// The database a `db` cell queries, as the lab started it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Target {
    /// Where it listens (loopback).
    pub addr: SocketAddr,
    /// Rows of its `items` table.
    pub rows: u64,
    /// Its `SELECT version()`.
    pub version: String,
}

/// Rows of the generated table when none are asked for: a million, loaded
/// (with its two indexes) in a few seconds.
pub const DEFAULT_ROWS: u64 = 1_000_000;

/// The most rows `--rows` accepts (the ids are 32-bit integers, and the
/// amounts `id · 7 mod 10007` must stay within them).
pub const MAX_ROWS: u64 = 100_000_000;

/// Connections in a model's pool when `--pool` is not given.
pub const DEFAULT_POOL: usize = 8;

/// The largest `--pool` the lab accepts (the server allows a few more
/// connections: [`crate::net::database`]'s `MAX_CONNECTIONS`).
pub const MAX_POOL: usize = 256;

/// Rows each lookup reads (consecutive ids through the primary key).
pub const LOOKUP_ROWS: u64 = 100;

pub struct Db;

impl Workload for Db {
    fn name(&self) -> &'static str {
        "db"
    }
    fn description(&self) -> &'static str {
        "each task takes one of --pool PostgreSQL connections and runs SELECT FROM pg_sleep(--sleep-ms) \
         and an indexed lookup with a sum, both checked (ideal: ceil(N/pool) waits)"
    }
    fn uses_sleep(&self) -> bool {
        true
    }
    fn uses_cpu(&self) -> bool {
        false
    }
    fn uses_database(&self) -> bool {
        true
    }
    /// It needs PostgreSQL installed and a cluster loaded: never in the
    /// default report (`scripts/db_sweep.sh` sweeps it).
    fn fits_the_quick_profile(&self) -> bool {
        false
    }
    fn ops(&self, params: &Params) -> Vec<Op> {
        vec![Op::Query(Query {
            // Port 0 until the lab has started the database: connecting fails clearly.
            database: params
                .database
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0))),
            wait: Duration::from_secs_f64(params.sleep_ms / 1e3),
            rows: params.db_rows,
            lookup_rows: LOOKUP_ROWS,
            pool: params.pool.max(1),
        })]
    }
}

/// The first id task `index` looks up: spread over the table by a prime
/// stride, so tasks read different pages.
pub fn first_id(index: u64, rows: u64) -> u64 {
    (index.wrapping_mul(7919)) % rows.max(1) + 1
}

/// The table every `db` query reads: `items(id, grp, amount)`, `id` from 1
/// to `rows` (primary key), `grp = id mod 1000` (indexed), `amount = id · 7
/// mod 10007` (so any answer can be checked without the database:
/// [`expected_sum`]). Unlogged and without fsync: the cluster is thrown away.
pub fn load_sql(rows: u64) -> String {
    format!(
        "CREATE UNLOGGED TABLE items AS \
           SELECT g::int4 AS id, (g % 1000)::int4 AS grp, (g * 7 % 10007)::int4 AS amount \
           FROM generate_series(1, {rows}) AS g; \
         ALTER TABLE items ADD PRIMARY KEY (id); \
         CREATE INDEX items_grp ON items (grp); \
         ANALYZE items;"
    )
}

/// The sum of `amount` over ids `first..first + count` (ids past `rows`
/// do not exist): what the lookup query must answer.
pub fn expected_sum(first: u64, count: u64, rows: u64) -> (u64, u64) {
    let last = (first + count).min(rows + 1);
    let present = last.saturating_sub(first);
    let sum = (first..last).map(|id| id * 7 % 10007).sum();
    (present, sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_expected_sum_follows_the_table_formula() {
        assert_eq!(expected_sum(1, 3, 10), (3, 7 + 14 + 21));
        // 10007 wraps: id 1430 gives 10010 mod 10007 = 3.
        assert_eq!(expected_sum(1430, 1, 2000), (1, 3));
        // Ids past the last row are absent.
        assert_eq!(expected_sum(9, 5, 10), (2, 63 + 70));
        assert_eq!(expected_sum(20, 5, 10), (0, 0));
        assert!(load_sql(42).contains("generate_series(1, 42)"));
    }

    #[test]
    fn lookups_start_inside_the_table() {
        for index in [0, 1, 999, 1_000_000] {
            let first = first_id(index, 1000);
            assert!((1..=1000).contains(&first), "{first}");
        }
    }
}
