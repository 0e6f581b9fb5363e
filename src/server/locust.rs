//! The lab's experiment as a Locust file (`load --export-locust`), for load
//! past what the lab's own generators reach: Locust's distributed mode
//! spreads users over workers on many machines. The file says, and the
//! report repeats, that Locust is closed-loop and so under-reports stalls
//! that the lab's open-loop generator catches.

use std::net::SocketAddr;
use std::time::Duration;

/// One experiment of `load`: what the Locust file reproduces.
#[derive(Debug, Clone)]
pub struct Experiment<'a> {
    pub target: SocketAddr,
    /// The request target, e.g. `/work?wait_ms=20`.
    pub path: &'a str,
    /// Requests per second, all users together.
    pub rate: f64,
    /// Users, each with one keep-alive connection.
    pub connections: usize,
    pub warmup: Duration,
    pub duration: Duration,
    pub timeout: Duration,
    /// p99 at or below this passes, ms.
    pub objective_ms: f64,
}

/// The template; `__NAME__` placeholders are filled by [`locustfile`].
const TEMPLATE: &str = include_str!("locustfile.py");

/// A Python literal for `text` (JSON's string syntax is Python's too, for
/// the printable ASCII a request target holds).
fn python_string(text: &str) -> String {
    serde_json::to_string(text).expect("a string encodes")
}

/// The Locust file for `options`.
pub fn locustfile(options: &Experiment) -> String {
    let target = match options.target {
        SocketAddr::V6(v6) => format!("http://[{}]:{}", v6.ip(), v6.port()),
        v4 => format!("http://{v4}"),
    };
    let number = |value: f64| format!("{value:?}");
    [
        ("__TARGET__", python_string(&target)),
        ("__PATH__", python_string(options.path)),
        ("__RATE__", number(options.rate)),
        ("__CONNECTIONS__", options.connections.to_string()),
        ("__WARMUP_S__", number(options.warmup.as_secs_f64())),
        ("__DURATION_S__", number(options.duration.as_secs_f64())),
        ("__TIMEOUT_S__", number(options.timeout.as_secs_f64())),
        ("__OBJECTIVE_MS__", number(options.objective_ms)),
    ]
    .iter()
    .fold(TEMPLATE.to_string(), |text, (name, value)| {
        text.replace(name, value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_locust_file_carries_the_same_experiment_and_says_it_is_closed_loop() {
        let options = Experiment {
            target: "127.0.0.1:8080".parse().unwrap(),
            path: "/work?wait_ms=20&mode=block",
            rate: 200.0,
            connections: 10,
            duration: Duration::from_secs(5),
            warmup: Duration::from_millis(500),
            timeout: Duration::from_secs(10),
            objective_ms: 100.0,
        };
        let text = locustfile(&options);
        for line in [
            "TARGET = \"http://127.0.0.1:8080\"",
            "PATH = \"/work?wait_ms=20&mode=block\"",
            "RATE = 200.0",
            "CONNECTIONS = 10",
            "WARMUP_S = 0.5",
            "DURATION_S = 5.0",
            "OBJECTIVE_MS = 100.0",
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
        assert!(!text.contains("__"), "an unfilled placeholder:\n{text}");
        assert!(text.contains("closed-loop"));
        let v6 = Experiment {
            target: "[::1]:9000".parse().unwrap(),
            ..options
        };
        assert!(locustfile(&v6).contains("TARGET = \"http://[::1]:9000\""));
    }
}
