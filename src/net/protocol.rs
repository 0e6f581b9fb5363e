//! The latency server's wire protocol, shared by the server and every
//! model's client, so that all of them speak and check it identically.
//!
//! One request per connection:
//!
//! 1. The client connects and sends one ASCII line: `GET <id>\n`, where
//!    `<id>` is a decimal number (the lab sends the task index). The line is
//!    at most [`MAX_REQUEST_BYTES`] long.
//! 2. The server waits its delay, measured from the moment the whole line
//!    has arrived, then sends exactly `reply_bytes` bytes and closes the
//!    connection; the end of the stream marks the end of the reply.
//!    Byte `k` of the reply to request `id` is the checkable pattern of
//!    [`crate::workload::pattern`], so a client can check every byte and tell
//!    a reply meant for another request from its own.
//! 3. A request the server cannot read — including a line the client
//!    half-closed before its newline — is answered at once with one line
//!    `ERR <reason>\n` ([`crate::workload::pattern::ERROR_PREFIX`]), then the connection is closed. A connection that sends
//!    or takes nothing for `serve --idle-timeout-s` (default 60 s) is closed
//!    without an answer; the server's own delay does not count as idle.
//!
//! Try it by hand: `printf 'GET 3\n' | nc 127.0.0.1 <port>`.

/// The longest request line the server accepts, newline included.
pub const MAX_REQUEST_BYTES: usize = 64;

/// The request line for request `id`.
pub fn request_line(id: u64) -> Vec<u8> {
    format!("GET {id}\n").into_bytes()
}

/// Parses a request line (with or without its newline) into its id.
pub fn parse_request(line: &[u8]) -> Result<u64, String> {
    let text = std::str::from_utf8(line).map_err(|_| "the request is not ASCII".to_string())?;
    let text = text.strip_suffix('\n').unwrap_or(text);
    let text = text.strip_suffix('\r').unwrap_or(text);
    let id = text
        .strip_prefix("GET ")
        .ok_or_else(|| format!("expected `GET <id>`, got {text:?}"))?;
    id.parse::<u64>()
        .map_err(|_| format!("the id in {text:?} is not a number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip() {
        assert_eq!(request_line(42), b"GET 42\n");
        assert_eq!(parse_request(b"GET 42\n"), Ok(42));
        assert_eq!(parse_request(b"GET 7\r\n"), Ok(7));
        assert!(parse_request(b"PUT 1\n").is_err());
        assert!(parse_request(b"GET x\n").is_err());
        assert!(request_line(u64::MAX).len() <= MAX_REQUEST_BYTES);
    }
}
