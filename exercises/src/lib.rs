//! The kit every exercise shares: how a program tells the grader what it
//! measured, and the pretend world the exercises run in.
//!
//! You do not need to change anything here. Each exercise calls
//! [`report`] once at the end (or [`ready`] once it is listening, for the
//! servers): one line on stdout that `async-vs-blocking check` reads. The
//! grader measures the rest from outside (the load generator, `/proc`).
//!
//! The pretend world: [`slow_service`] is a remote service that serves at
//! most [`SLOW_SERVICE_CONCURRENCY`] calls at once; [`blocking_db`] is a
//! database driver with only a blocking API (think of a synchronous
//! PostgreSQL or SQLite client); [`checksum`] is honest CPU work.

use std::time::{Duration, Instant};

/// The prefix of the one line a finished exercise prints for the grader.
pub const REPORT_PREFIX: &str = "workshop-report ";

/// The prefix of the line a server exercise prints once it listens.
pub const READY_PREFIX: &str = "workshop-ready ";

/// Prints the exercise's figures for the grader, as one JSON object
/// (`name: number` pairs; the names are the grader's, do not rename them).
pub fn report(figures: &[(&str, f64)]) {
    println!("{REPORT_PREFIX}{}", json_object(figures));
}

/// Prints the address a server exercise listens on, and its figures so far
/// (e.g. how many worker threads its runtime has).
pub fn ready(address: std::net::SocketAddr, figures: &[(&str, f64)]) {
    let mut object = json_object(figures);
    let separator = if figures.is_empty() { "" } else { "," };
    object.insert_str(1, &format!("\"address\":\"{address}\"{separator}"));
    println!("{READY_PREFIX}{object}");
}

/// Prints the figures the grader needs before the program ends (e.g. to set
/// how long it waits for a program that may never finish).
pub fn announce(figures: &[(&str, f64)]) {
    println!("{READY_PREFIX}{}", json_object(figures));
}

fn json_object(figures: &[(&str, f64)]) -> String {
    let fields: Vec<String> = figures
        .iter()
        .map(|(name, value)| {
            let value = if value.is_finite() { *value } else { -1.0 };
            format!("\"{name}\":{value}")
        })
        .collect();
    format!("{{{}}}", fields.join(","))
}

/// Milliseconds since `start`, as a float.
pub fn ms_since(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1e3
}

/// The worker threads of the tokio runtime this is called on.
pub fn tokio_workers() -> f64 {
    tokio::runtime::Handle::current().metrics().num_workers() as f64
}

/// This process's resident memory now and its peak so far, KiB, from
/// `/proc/self/status` (`VmRSS`, `VmHWM`: the kernel keeps the peak itself,
/// so nothing between two readings is missed). Zeros off Linux.
pub fn rss_now_and_peak_kib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| -> f64 {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse().ok())
            .unwrap_or(0.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Honest CPU work: FNV-1a over `data`, `rounds` times. About a nanosecond
/// per byte on a laptop; nothing in it ever waits.
pub fn checksum(data: &[u8], rounds: u32) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for round in 0..rounds {
        hash ^= u64::from(round);
        for byte in data {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    std::hint::black_box(hash)
}

/// A task that should tick every `period` on the runtime it was started
/// on, and remembers how late its worst tick was: the health check a load
/// balancer sends, or the keep-alive ping of a websocket.
pub struct Heartbeat {
    period: Duration,
    worst_late_ms: std::sync::Arc<std::sync::Mutex<f64>>,
    task: tokio::task::JoinHandle<()>,
}

impl Heartbeat {
    /// Starts ticking (call it inside a tokio runtime).
    pub fn start(period: Duration) -> Heartbeat {
        let worst_late_ms = std::sync::Arc::new(std::sync::Mutex::new(0.0f64));
        let worst = worst_late_ms.clone();
        let task = tokio::spawn(async move {
            let mut due = Instant::now() + period;
            loop {
                tokio::time::sleep_until(due.into()).await;
                let late_ms = ms_since(due);
                {
                    let mut worst = worst.lock().expect("never poisoned");
                    *worst = worst.max(late_ms);
                }
                due = Instant::now() + period;
            }
        });
        Heartbeat {
            period,
            worst_late_ms,
            task,
        }
    }

    /// Waits two more periods (so a tick held up until now is counted),
    /// stops, and returns the worst lateness, ms.
    pub async fn stop(self) -> f64 {
        tokio::time::sleep(self.period * 2).await;
        self.task.abort();
        let worst = *self.worst_late_ms.lock().expect("never poisoned");
        worst
    }
}

/// How many calls the pretend remote service serves at once; calls beyond
/// it queue (as at a real service's connection pool).
pub const SLOW_SERVICE_CONCURRENCY: usize = 200;

/// How long the pretend remote service takes per call.
pub const SLOW_SERVICE_TIME: Duration = Duration::from_millis(1);

static SLOW_SERVICE_SLOTS: tokio::sync::Semaphore =
    tokio::sync::Semaphore::const_new(SLOW_SERVICE_CONCURRENCY);

/// Sends `body` to the pretend remote service and returns its answer (the
/// body's length). Async, so waiting for it costs no thread.
pub async fn slow_service(body: &[u8]) -> usize {
    let _slot = SLOW_SERVICE_SLOTS
        .acquire()
        .await
        .expect("the service's semaphore is never closed");
    tokio::time::sleep(SLOW_SERVICE_TIME).await;
    body.len()
}

/// A database driver with only a blocking API, like many real ones.
pub mod blocking_db {
    use std::time::Duration;

    /// One query's round trip to the database server.
    pub const QUERY_TIME: Duration = Duration::from_millis(20);

    /// Looks a customer up. Blocks the calling thread for [`QUERY_TIME`]
    /// (the driver waits on its socket); the database serves any number of
    /// queries at once.
    pub fn query(customer: u64) -> String {
        std::thread::sleep(QUERY_TIME);
        format!("customer {customer}")
    }
}

/// Answers HTTP/1.1 requests on keep-alive connections with `handler`'s
/// body, one tokio task per connection. Just enough HTTP for the workshop:
/// the request's body is ignored.
pub mod http {
    use std::future::Future;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    /// Serves forever on `listener`: every request's path goes to `handler`.
    pub async fn serve<H, F>(listener: TcpListener, handler: H)
    where
        H: Fn(String) -> F + Clone + Send + 'static,
        F: Future<Output = String> + Send,
    {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let handler = handler.clone();
            tokio::spawn(async move {
                let _ = connection(stream, handler).await;
            });
        }
    }

    async fn connection<H, F>(mut stream: TcpStream, handler: H) -> std::io::Result<()>
    where
        H: Fn(String) -> F,
        F: Future<Output = String>,
    {
        let mut buffer = Vec::with_capacity(4096);
        let mut chunk = [0u8; 4096];
        loop {
            // Read until the end of a request head.
            let head_end = loop {
                if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                    break end + 4;
                }
                let read = stream.read(&mut chunk).await?;
                if read == 0 {
                    return Ok(());
                }
                buffer.extend_from_slice(&chunk[..read]);
            };
            let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
            buffer.drain(..head_end);
            let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
            let body = handler(path).await;
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\ncontent-type: text/plain\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(response.as_bytes()).await?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_is_one_json_object_the_grader_can_read() {
        let text = json_object(&[("wall_ms", 12.5), ("items", 3.0), ("bad", f64::NAN)]);
        assert_eq!(text, "{\"wall_ms\":12.5,\"items\":3,\"bad\":-1}");
    }

    #[test]
    fn the_checksum_depends_on_every_byte() {
        assert_ne!(checksum(b"abc", 1), checksum(b"abd", 1));
    }
}
