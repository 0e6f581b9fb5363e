//! Writing responses: a status line, `Content-Length`, `Connection` and a
//! body. `/work`'s body is checkable: byte `k` is
//! `crate::workload::pattern::ALPHABET[k % 62]` (the latency server's pattern for id 0), so
//! a client can tell a whole, right reply from a cut or shifted one.
//!
//! The head and the start of the body leave in one write; a long body
//! follows in [`CHUNK_BYTES`] pieces cut from one shared pattern buffer.

use std::sync::OnceLock;

/// Long bodies are written in pieces of at most this many bytes.
pub const CHUNK_BYTES: usize = 64 * 1024;

/// The body of one response.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Body {
    /// `n` bytes of the checkable pattern.
    Pattern(u64),
    /// A line of text (health, errors).
    Text(String),
}

/// One response, ready to encode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    body: Body,
    /// False adds `Connection: close`; the server closes after writing.
    pub keep_alive: bool,
}

impl Response {
    /// A text body (a newline is added).
    pub fn text(status: u16, text: &str, keep_alive: bool) -> Response {
        Response {
            status,
            body: Body::Text(format!("{}\n", text.replace(['\r', '\n'], " "))),
            keep_alive,
        }
    }

    /// `bytes` bytes of the checkable pattern.
    pub fn pattern(bytes: u64, keep_alive: bool) -> Response {
        Response {
            status: 200,
            body: Body::Pattern(bytes),
            keep_alive,
        }
    }

    fn body_len(&self) -> u64 {
        match &self.body {
            Body::Pattern(bytes) => *bytes,
            Body::Text(text) => text.len() as u64,
        }
    }

    /// The head and as much of the body as fits in one chunk.
    pub fn first_piece(&self) -> Vec<u8> {
        let mut out = format!(
            "HTTP/1.1 {} {}\r\nContent-Length: {}\r\nContent-Type: {}\r\n{}\r\n",
            self.status,
            reason_phrase(self.status),
            self.body_len(),
            match self.body {
                Body::Pattern(_) => "application/octet-stream",
                Body::Text(_) => "text/plain; charset=utf-8",
            },
            if self.keep_alive {
                ""
            } else {
                "Connection: close\r\n"
            }
        )
        .into_bytes();
        match &self.body {
            Body::Text(text) => out.extend_from_slice(text.as_bytes()),
            Body::Pattern(_) => out.extend_from_slice(self.body_piece(0).unwrap_or(&[])),
        }
        out
    }

    /// The body from byte `sent` on, at most one chunk; `None` when all of
    /// it has been sent. Text bodies go whole in [`Response::first_piece`].
    pub fn body_piece(&self, sent: u64) -> Option<&'static [u8]> {
        let Body::Pattern(total) = self.body else {
            return None;
        };
        if sent >= total {
            return None;
        }
        let piece = (total - sent).min(CHUNK_BYTES as u64) as usize;
        let start = crate::workload::pattern::pattern_start(0, sent);
        Some(&pattern()[start..start + piece])
    }

    /// Bytes of body that [`Response::first_piece`] already carries.
    pub fn body_in_first_piece(&self) -> u64 {
        match &self.body {
            Body::Pattern(total) => (*total).min(CHUNK_BYTES as u64),
            Body::Text(text) => text.len() as u64,
        }
    }
}

fn pattern() -> &'static [u8] {
    static PATTERN: OnceLock<Vec<u8>> = OnceLock::new();
    PATTERN.get_or_init(|| crate::workload::pattern::reply_pattern(CHUNK_BYTES))
}

/// Byte `offset` of every `/work` body.
pub fn body_byte(offset: u64) -> u8 {
    crate::workload::pattern::reply_byte(0, offset)
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "Error",
    }
}
