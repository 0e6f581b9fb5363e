//! The latency server as a child process of the lab, for one socket cell.
//!
//! The server runs as `<lab binary> serve` in its own process, so the
//! client's measurements (peak RSS, threads, CPU) stay the client's, and in
//! its own process group, so stopping it stops everything it started.
//! [`ServerProcess`] is a guard: dropping it kills the server, whichever way
//! the cell ended (ok, failed, timed out). If the lab itself dies, the
//! kernel kills the server too (`PR_SET_PDEATHSIG`).

use crate::os::process::kill_group;
use anyhow::{bail, Context};
use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long the server may take to start and accept a first connection.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the server may take to report and exit after SIGTERM.
const STOP_GRACE: Duration = Duration::from_millis(500);

/// A running latency server; killed when dropped.
pub struct ServerProcess {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    stderr: Option<JoinHandle<String>>,
    stopped: bool,
}

impl ServerProcess {
    /// Starts `<exe> serve` on 127.0.0.1 (any free port) and waits until it
    /// accepts connections.
    pub fn start(exe: &Path, delay_ms: f64, reply_bytes: u64) -> anyhow::Result<ServerProcess> {
        use std::os::unix::process::CommandExt;
        let mut command = Command::new(exe);
        command
            .args(["serve", "--bind", "127.0.0.1", "--port", "0"])
            .args(["--delay-ms", &delay_ms.to_string()])
            .args(["--reply-bytes", &reply_bytes.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        // Die with the lab, even if it is killed before it can stop us. (The
        // signal comes when the thread that started the server ends; the lab
        // starts it from the thread that runs the cell and outlives it.)
        crate::os::process::die_with_parent(&mut command);
        let mut child = command
            .spawn()
            .with_context(|| format!("starting `{} serve`", exe.display()))?;
        let stdout = child.stdout.take();
        let stderr = child.stderr.take().map(drain);
        // From here on, the guard kills the server on every error path.
        let mut server = ServerProcess {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            stderr,
            stopped: false,
        };

        let (first_line, line_read) = mpsc::channel();
        std::thread::spawn(move || {
            let Some(stdout) = stdout else { return };
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = first_line.send(reader.read_line(&mut line).map(|_| line));
            // Keep reading until the server exits, so it never blocks on a full pipe.
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let deadline = Instant::now() + START_TIMEOUT;
        let line = match line_read.recv_timeout(START_TIMEOUT) {
            Ok(Ok(line)) if !line.trim().is_empty() => line,
            Ok(_) | Err(_) => bail!(
                "the latency server printed no address within {} s: {}",
                START_TIMEOUT.as_secs(),
                server.stop_and_explain()
            ),
        };
        server.addr = line.trim().parse().with_context(|| {
            format!(
                "the latency server printed {:?}, not an address",
                line.trim()
            )
        })?;
        loop {
            match TcpStream::connect_timeout(&server.addr, Duration::from_millis(500)) {
                Ok(_) => return Ok(server),
                Err(error) if Instant::now() >= deadline => {
                    let addr = server.addr;
                    bail!(
                        "the latency server on {addr} accepts no connection: {error}: {}",
                        server.stop_and_explain()
                    )
                }
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    }

    /// The server's process id (also its process group id).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Asks the server to stop (SIGTERM), so that it reports how late its
    /// delays ended, and returns that report; kills it if it has not exited
    /// within [`STOP_GRACE`].
    pub fn finish(mut self) -> Option<String> {
        if !self.stopped {
            // SAFETY: kill takes no pointers; the child has not been waited for,
            // so its pid is still ours.
            unsafe {
                libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
            }
            let deadline = Instant::now() + STOP_GRACE;
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    // Exited and reaped: nothing left to kill.
                    self.stopped = true;
                    break;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        self.stop();
        let text = self.stderr.take()?.join().ok()?;
        text.lines()
            .find(|line| line.starts_with("served "))
            .map(|line| format!("latency server: {line}"))
    }

    /// Kills the server and returns the last line it wrote to stderr.
    fn stop_and_explain(&mut self) -> String {
        self.stop();
        let text = self
            .stderr
            .take()
            .and_then(|handle| handle.join().ok())
            .unwrap_or_default();
        match text.lines().rev().map(str::trim).find(|l| !l.is_empty()) {
            Some(line) => format!("server stderr: {line}"),
            None => "the server wrote nothing to stderr".into(),
        }
    }

    fn stop(&mut self) {
        // Once waited for, the id may belong to someone else: signal it only once.
        if !self.stopped {
            self.stopped = true;
            kill_group(self.child.id());
            let _ = self.child.wait();
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

fn drain<R: Read + Send + 'static>(mut pipe: R) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    })
}
