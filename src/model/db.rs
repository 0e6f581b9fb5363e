//! The PostgreSQL drivers behind [`Op::Query`](crate::workload::Op::Query),
//! each with its ecosystem's connection pool, built (every connection
//! opened) before the timed region.
//!
//! - Blocking models: the `postgres` crate through an `r2d2` pool
//!   (`r2d2_postgres`). `postgres` is a blocking wrapper around
//!   `tokio-postgres`: every connection carries a small current-thread tokio
//!   runtime of its own that each call blocks on (`db-overhead` measures what
//!   that costs a query).
//! - tokio and tokio-current: `tokio-postgres` through a `deadpool-postgres`
//!   pool; each connection's I/O is a task on the model's own runtime.
//!
//! Every task runs the same two queries on the connection it checked out,
//! as unnamed statements (parse, bind, execute: the same messages for every
//! driver), and checks both answers. The pools are set alike: exactly
//! `--pool` connections, opened before the timed region, no health check
//! on checkout (r2d2's `test_on_check_out` off; deadpool's fast recycling),
//! a task that finds every connection busy waits for one.

use super::Batch;
use crate::workload::db::{expected_sum, first_id};
use crate::workload::Query;
use anyhow::Context;
use std::any::Any;
use std::time::Duration;

/// The wait: the task's own number comes back after `pg_sleep`.
pub const WAIT_SQL: &str = "SELECT $1::int4 FROM pg_sleep($2::float8)";

/// The lookup: a primary-key range scan and a small aggregate.
pub const LOOKUP_SQL: &str = "SELECT count(*)::int8, coalesce(sum(amount), 0)::int8 \
     FROM items WHERE id >= $1::int4 AND id < $1::int4 + $2::int4";

/// How long a task may wait for a free connection before it fails: long
/// enough for the slowest cell the lab runs (1,000 tasks through 2
/// connections).
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(3600);

/// A pool as a batch keeps it, whatever its driver.
pub type AnyPool = Box<dyn Any + Send + Sync>;

/// The blocking models' pool.
pub type BlockingPool = r2d2::Pool<r2d2_postgres::PostgresConnectionManager<postgres::NoTls>>;

/// The blocking driver, as `list` and the records name it.
pub const BLOCKING_DRIVER: &str = "postgres + r2d2";

/// tokio's driver, as `list` and the records name it.
pub const TOKIO_DRIVER: &str = "tokio-postgres + deadpool-postgres";

/// Every driver and pool crate, for the records' versions (a record keeps
/// those its driver's name mentions).
pub const DRIVER_CRATES: &[&str] = &["postgres", "r2d2", "tokio-postgres", "deadpool-postgres"];

fn url(query: &Query) -> String {
    format!(
        "postgresql://{}@{}/{}",
        crate::net::database::USER,
        query.database,
        crate::net::database::DBNAME
    )
}

fn check_port(query: &Query) -> anyhow::Result<()> {
    if query.database.port() == 0 {
        anyhow::bail!(
            "the db workload was given no database (the lab starts one for `run` and `sweep`)"
        );
    }
    Ok(())
}

/// Opens the blocking pool: `query.pool` connections, every one open
/// before this returns.
pub fn blocking_pool(query: &Query) -> anyhow::Result<AnyPool> {
    check_port(query)?;
    let config: postgres::Config = url(query).parse().context("the database URL")?;
    let manager = r2d2_postgres::PostgresConnectionManager::new(config, postgres::NoTls);
    let size = query.pool as u32;
    let pool = r2d2::Pool::builder()
        .max_size(size)
        .min_idle(Some(size))
        .test_on_check_out(false)
        .max_lifetime(None)
        .idle_timeout(None)
        .connection_timeout(CHECKOUT_TIMEOUT)
        .build(manager)
        .with_context(|| format!("opening {size} connections to {}", query.database))?;
    // `build` waits for min_idle connections; check that all are there.
    let open = pool.state().connections;
    anyhow::ensure!(open == size, "the pool opened {open} of {size} connections");
    Ok(Box::new(pool))
}

/// Runs task `index`'s queries on a connection from the blocking pool.
pub fn blocking_query(batch: &Batch, index: usize, query: &Query) -> Result<(), String> {
    let pool = batch
        .database::<BlockingPool>()
        .ok_or("no blocking database pool was opened for this run")?;
    let mut client = pool.get().map_err(|e| format!("checking out: {e}"))?;
    let row = client
        .query_one(WAIT_SQL, &[&(index as i32), &query.wait.as_secs_f64()])
        .map_err(|e| format!("the wait query: {e}"))?;
    check_wait(index, row.get(0))?;
    let first = first_id(index as u64, query.rows);
    let row = client
        .query_one(LOOKUP_SQL, &[&(first as i32), &(query.lookup_rows as i32)])
        .map_err(|e| format!("the lookup: {e}"))?;
    check_lookup(query, first, row.get(0), row.get(1))
}

/// Opens tokio's pool on `runtime`: `query.pool` connections, each one's
/// I/O a task on that runtime, every one open before this returns.
pub fn tokio_pool(runtime: &tokio::runtime::Runtime, query: &Query) -> anyhow::Result<AnyPool> {
    check_port(query)?;
    let config: tokio_postgres::Config = url(query).parse().context("the database URL")?;
    let manager = deadpool_postgres::Manager::from_config(
        config,
        tokio_postgres::NoTls,
        deadpool_postgres::ManagerConfig {
            recycling_method: deadpool_postgres::RecyclingMethod::Fast,
        },
    );
    let pool = deadpool_postgres::Pool::builder(manager)
        .max_size(query.pool)
        .build()
        .context("building the deadpool-postgres pool")?;
    runtime.block_on(async {
        let mut held = Vec::with_capacity(query.pool);
        for _ in 0..query.pool {
            held.push(pool.get().await.with_context(|| {
                format!("opening {} connections to {}", query.pool, query.database)
            })?);
        }
        anyhow::Ok(())
    })?;
    Ok(Box::new(pool))
}

/// Runs task `index`'s queries on a connection from tokio's pool.
pub async fn tokio_query(batch: &Batch, index: usize, query: &Query) -> Result<(), String> {
    let pool = batch
        .database::<deadpool_postgres::Pool>()
        .ok_or("no tokio database pool was opened for this run")?;
    let client = pool.get().await.map_err(|e| format!("checking out: {e}"))?;
    let row = client
        .query_one(WAIT_SQL, &[&(index as i32), &query.wait.as_secs_f64()])
        .await
        .map_err(|e| format!("the wait query: {e}"))?;
    check_wait(index, row.get(0))?;
    let first = first_id(index as u64, query.rows);
    let row = client
        .query_one(LOOKUP_SQL, &[&(first as i32), &(query.lookup_rows as i32)])
        .await
        .map_err(|e| format!("the lookup: {e}"))?;
    check_lookup(query, first, row.get(0), row.get(1))
}

fn check_wait(index: usize, answered: i32) -> Result<(), String> {
    if answered as i64 != index as i64 {
        return Err(format!(
            "the wait query answered {answered}, not the task's number {index}"
        ));
    }
    Ok(())
}

fn check_lookup(query: &Query, first: u64, count: i64, sum: i64) -> Result<(), String> {
    let expected = expected_sum(first, query.lookup_rows, query.rows);
    if (count as u64, sum as u64) != expected {
        return Err(format!(
            "the lookup from id {first} answered count {count}, sum {sum}; the table holds {expected:?}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrong_answer_is_an_error() {
        assert!(check_wait(3, 3).is_ok());
        assert!(check_wait(3, 4).is_err());
        let query = Query {
            database: std::net::SocketAddr::from(([127, 0, 0, 1], 1)),
            wait: Duration::ZERO,
            rows: 10,
            lookup_rows: 2,
            pool: 1,
        };
        assert!(check_lookup(&query, 1, 2, 21).is_ok());
        assert!(check_lookup(&query, 1, 2, 22).is_err());
        assert!(check_lookup(&query, 1, 1, 21).is_err());
    }
}
