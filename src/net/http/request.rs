//! Reading requests: `httparse` for the head, the lab's two routes, and the
//! limits that keep a hostile or broken client from costing the server more
//! than a few KiB.
//!
//! Routes:
//! - `GET /health`: answered at once.
//! - `GET /work?wait_ms=D&cpu_us=C&bytes=R[&mode=block|offload]`: wait D ms
//!   (the model's own wait, standing in for a database call), compute C µs
//!   with the calibrated kernel, answer R checkable bytes. `mode` matters
//!   only to async models: `block` waits with `std::thread::sleep` inside
//!   the handler (the pitfall), `offload` runs the wait and the compute on
//!   the runtime's blocking pool.
//!
//! Requests carry no body (`Content-Length` above 0 or `Transfer-Encoding`
//! are refused) and no pipelining is needed: bytes after one request stay
//! in the buffer for the next.

pub use crate::record::server_point::WaitMode;
use std::time::Duration;

/// The longest request head accepted (request line and headers), bytes.
pub const MAX_HEAD_BYTES: usize = 8 * 1024;

/// The most header lines accepted.
pub const MAX_HEADERS: usize = 32;

/// Each connection's buffer starts this large and grows, up to
/// [`MAX_HEAD_BYTES`], only for long heads: an idle connection costs little.
pub const INITIAL_BUFFER_BYTES: usize = 1024;

/// The longest wait `/work` accepts, ms (one minute).
pub const MAX_WAIT_MS: f64 = 60_000.0;

/// The longest compute `/work` accepts, µs (ten seconds).
pub const MAX_CPU_US: f64 = 10_000_000.0;

/// The largest body `/work` sends (64 MiB).
pub const MAX_BODY_BYTES: u64 = 64 * 1024 * 1024;

/// The body size of `/work` when `bytes` is not given.
pub const DEFAULT_BODY_BYTES: u64 = 64;

/// What `/work` asks for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Work {
    pub wait: Duration,
    pub cpu_us: f64,
    pub bytes: u64,
    pub mode: WaitMode,
}

/// A request the server understood.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Route {
    Health,
    Work(Work),
}

/// One parsed request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Request {
    pub route: Route,
    /// False for `Connection: close` (or HTTP/1.0 without keep-alive).
    pub keep_alive: bool,
}

/// Why a request is refused: a status and one line saying why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub status: u16,
    pub reason: String,
}

impl Rejection {
    fn bad(reason: impl Into<String>) -> Rejection {
        Rejection {
            status: 400,
            reason: reason.into(),
        }
    }
}

/// Parses one request from the start of `bytes`: `Ok(None)` while the head
/// is incomplete, otherwise the request and the number of bytes it took.
pub fn parse(bytes: &[u8]) -> Result<Option<(Request, usize)>, Rejection> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let head_len = match request.parse(bytes) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if bytes.len() >= MAX_HEAD_BYTES => {
            return Err(too_long());
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(Rejection::bad(format!(
                "more than {MAX_HEADERS} header lines"
            )))
        }
        Err(error) => return Err(Rejection::bad(format!("malformed request: {error}"))),
    };
    if head_len > MAX_HEAD_BYTES {
        return Err(too_long());
    }
    let version = request.version.unwrap_or(1);
    let mut keep_alive = version == 1;
    for header in request.headers.iter() {
        let value = std::str::from_utf8(header.value).unwrap_or("").trim();
        if header.name.eq_ignore_ascii_case("connection") {
            // A token list (`keep-alive, close`, `close, TE`): close wins.
            if connection_has(value, "close") {
                keep_alive = false;
            } else if connection_has(value, "keep-alive") {
                keep_alive = true;
            }
        } else if header.name.eq_ignore_ascii_case("transfer-encoding")
            || (header.name.eq_ignore_ascii_case("content-length") && value != "0")
        {
            return Err(Rejection::bad("requests with a body are not accepted"));
        }
    }
    let method = request.method.unwrap_or("");
    let path = request.path.unwrap_or("");
    if method != "GET" {
        return Err(Rejection {
            status: 405,
            reason: format!("method {method} is not allowed; use GET"),
        });
    }
    let route = route(path)?;
    Ok(Some((Request { route, keep_alive }, head_len)))
}

/// True when a `Connection` header's value lists `token` (it is a
/// comma-separated list of case-insensitive tokens, RFC 9110 §7.6.1).
pub fn connection_has(value: &str, token: &str) -> bool {
    value
        .split(',')
        .any(|listed| listed.trim().eq_ignore_ascii_case(token))
}

fn too_long() -> Rejection {
    Rejection {
        status: 431,
        reason: format!("the request head is longer than {MAX_HEAD_BYTES} bytes"),
    }
}

/// The route of a request target (path and query).
pub fn route(target: &str) -> Result<Route, Rejection> {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    match path {
        "/health" => Ok(Route::Health),
        "/work" => work(query).map(Route::Work),
        _ => Err(Rejection {
            status: 404,
            reason: format!("no such path {path:?}; valid: /work, /health"),
        }),
    }
}

fn work(query: &str) -> Result<Work, Rejection> {
    let mut work = Work {
        wait: Duration::ZERO,
        cpu_us: 0.0,
        bytes: DEFAULT_BODY_BYTES,
        mode: WaitMode::Own,
    };
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let number = |max: f64| -> Result<f64, Rejection> {
            match value.parse::<f64>() {
                Ok(v) if v.is_finite() && (0.0..=max).contains(&v) => Ok(v),
                _ => Err(Rejection::bad(format!(
                    "{name}={value:?} must be a number from 0 to {max}"
                ))),
            }
        };
        match name {
            "wait_ms" => work.wait = Duration::from_secs_f64(number(MAX_WAIT_MS)? / 1e3),
            "cpu_us" => work.cpu_us = number(MAX_CPU_US)?,
            "bytes" => {
                work.bytes = value
                    .parse::<u64>()
                    .ok()
                    .filter(|b| *b <= MAX_BODY_BYTES)
                    .ok_or_else(|| {
                        Rejection::bad(format!(
                            "bytes={value:?} must be a whole number from 0 to {MAX_BODY_BYTES}"
                        ))
                    })?
            }
            "mode" => {
                work.mode = match value {
                    "block" => WaitMode::Block,
                    "offload" => WaitMode::Offload,
                    "" | "own" => WaitMode::Own,
                    _ => {
                        return Err(Rejection::bad(format!(
                            "mode={value:?} is not a mode; valid: own, block, offload"
                        )))
                    }
                }
            }
            _ => {
                return Err(Rejection::bad(format!(
                    "unknown parameter {name:?}; valid: wait_ms, cpu_us, bytes, mode"
                )))
            }
        }
    }
    Ok(work)
}

/// A connection's unread bytes: requests are parsed from its start, and
/// whatever follows a request (the next one, pipelined) is kept.
#[derive(Debug)]
pub struct RequestBuffer {
    bytes: Vec<u8>,
    filled: usize,
}

impl Default for RequestBuffer {
    fn default() -> Self {
        RequestBuffer {
            bytes: vec![0; INITIAL_BUFFER_BYTES],
            filled: 0,
        }
    }
}

impl RequestBuffer {
    /// The next complete request, if one has arrived; it is removed from the buffer.
    pub fn next_request(&mut self) -> Result<Option<Request>, Rejection> {
        if self.filled == 0 {
            return Ok(None);
        }
        let parsed = parse(&self.bytes[..self.filled])?;
        if let Some((request, used)) = parsed {
            self.bytes.copy_within(used..self.filled, 0);
            self.filled -= used;
            return Ok(Some(request));
        }
        Ok(None)
    }

    /// True when part of a request has arrived.
    pub fn has_partial(&self) -> bool {
        self.filled > 0
    }

    /// Room to read into (grows the buffer up to [`MAX_HEAD_BYTES`]; a full
    /// buffer holding no complete head was already refused by `next_request`).
    pub fn spare(&mut self) -> &mut [u8] {
        self.grow_if_full();
        &mut self.bytes[self.filled..]
    }

    /// Lends the whole buffer to a read that must own it (io_uring: the
    /// kernel fills it while the task is parked, so it cannot be borrowed):
    /// the bytes, and where the room to read into starts (as
    /// [`RequestBuffer::spare`]). Hand it back, at the same length, with
    /// [`RequestBuffer::give_back`]; until then only
    /// [`RequestBuffer::has_partial`] may be asked.
    pub fn lend(&mut self) -> (Vec<u8>, usize) {
        self.grow_if_full();
        (std::mem::take(&mut self.bytes), self.filled)
    }

    /// Takes back a lent buffer with `read` more bytes filled.
    pub fn give_back(&mut self, bytes: Vec<u8>, read: usize) {
        self.bytes = bytes;
        self.filled(read);
    }

    fn grow_if_full(&mut self) {
        if self.filled == self.bytes.len() && self.bytes.len() < MAX_HEAD_BYTES {
            self.bytes
                .resize((self.bytes.len() * 2).min(MAX_HEAD_BYTES), 0);
        }
    }

    /// Marks `read` more bytes (read into [`RequestBuffer::spare`]) as filled.
    pub fn filled(&mut self, read: usize) {
        self.filled = (self.filled + read).min(self.bytes.len());
    }
}
