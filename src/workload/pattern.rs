//! The checkable byte pattern every reply and every task file is made of:
//! byte `k` of stream `id` is `ALPHABET[(id + k) % ALPHABET.len()]`, so a
//! reader can check every byte it gets and tell one stream from another.
//! The latency server's replies ([`crate::net::protocol`]), the HTTP
//! server's bodies and the `file` workload's task files all use it, so it
//! lives here, below all of them. It imports nothing from the crate.

use std::io;

/// How many first bytes of a reply a [`ReplyCheck`] keeps, to show a
/// server's `ERR` line (as long as the longest request line,
/// `protocol::MAX_REQUEST_BYTES`).
const KEPT_HEAD_BYTES: usize = 64;

/// The characters replies are made of (printable, so a reply can be read by eye).
pub const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// The prefix of a server's refusal: a reply that starts with it is an
/// `ERR <reason>` line, not the pattern.
pub const ERROR_PREFIX: &[u8] = b"ERR ";

/// Byte `offset` of the reply to request `id`.
pub fn reply_byte(id: u64, offset: u64) -> u8 {
    let len = ALPHABET.len() as u64;
    ALPHABET[((id % len + offset % len) % len) as usize]
}

/// A buffer from which any slice of any reply can be cut without computing
/// it byte by byte: `pattern[start..start + n]` with `start = (id + offset)
/// % ALPHABET.len()` is bytes `offset..offset + n` of reply `id`, for any
/// `n <= chunk`.
pub fn reply_pattern(chunk: usize) -> Vec<u8> {
    (0..ALPHABET.len() + chunk)
        .map(|i| ALPHABET[i % ALPHABET.len()])
        .collect()
}

/// Where in [`reply_pattern`] bytes from `offset` of reply `id` start.
pub fn pattern_start(id: u64, offset: u64) -> usize {
    let len = ALPHABET.len() as u64;
    ((id % len + offset % len) % len) as usize
}

/// Checks a reply as it arrives, without keeping it.
#[derive(Debug, Clone)]
pub struct ReplyCheck {
    id: u64,
    expected_bytes: u64,
    received_bytes: u64,
    /// The first bytes, kept to show the server's `ERR` line if there is one.
    head: Vec<u8>,
    mismatch: Option<u64>,
}

impl ReplyCheck {
    /// Expects the reply to request `id`, `expected_bytes` long.
    pub fn new(id: u64, expected_bytes: u64) -> ReplyCheck {
        ReplyCheck {
            id,
            expected_bytes,
            received_bytes: 0,
            head: Vec::new(),
            mismatch: None,
        }
    }

    /// Takes the next bytes of the reply.
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.head.len() < KEPT_HEAD_BYTES {
            let room = KEPT_HEAD_BYTES - self.head.len();
            self.head.extend_from_slice(&bytes[..bytes.len().min(room)]);
        }
        if self.mismatch.is_none() {
            for (i, byte) in bytes.iter().enumerate() {
                let offset = self.received_bytes + i as u64;
                if offset >= self.expected_bytes || *byte != reply_byte(self.id, offset) {
                    self.mismatch = Some(offset);
                    break;
                }
            }
        }
        self.received_bytes += bytes.len() as u64;
    }

    /// Bytes received so far.
    pub fn received_bytes(&self) -> u64 {
        self.received_bytes
    }

    /// After the server closed the connection: was the reply complete and right?
    pub fn finish(&self) -> io::Result<()> {
        let invalid = |message: String| Err(io::Error::new(io::ErrorKind::InvalidData, message));
        if self.head.starts_with(ERROR_PREFIX) {
            let line = String::from_utf8_lossy(&self.head);
            let line = line.lines().next().unwrap_or_default();
            return invalid(format!("the server refused the request: {line}"));
        }
        if self.received_bytes != self.expected_bytes {
            return invalid(format!(
                "the reply had {} bytes, expected {}",
                self.received_bytes, self.expected_bytes
            ));
        }
        if let Some(offset) = self.mismatch {
            return invalid(format!(
                "byte {offset} of the reply to request {} is not the expected pattern",
                self.id
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(id: u64, len: u64) -> Vec<u8> {
        (0..len).map(|k| reply_byte(id, k)).collect()
    }

    #[test]
    fn pattern_slices_equal_the_byte_formula() {
        let pattern = reply_pattern(100);
        for id in [0, 5, 61, 62, 1000] {
            for offset in [0, 1, 70, 12345] {
                let start = pattern_start(id, offset);
                let expected: Vec<u8> = (offset..offset + 100).map(|k| reply_byte(id, k)).collect();
                assert_eq!(&pattern[start..start + 100], &expected[..]);
            }
        }
    }

    #[test]
    fn a_correct_reply_passes_in_any_chunking() {
        let bytes = reply(9, 1000);
        let mut check = ReplyCheck::new(9, 1000);
        for chunk in bytes.chunks(7) {
            check.feed(chunk);
        }
        assert!(check.finish().is_ok());
        assert!(ReplyCheck::new(3, 0).finish().is_ok());
    }

    #[test]
    fn wrong_replies_are_caught() {
        let mut short = ReplyCheck::new(1, 10);
        short.feed(&reply(1, 9));
        assert!(short.finish().unwrap_err().to_string().contains("9 bytes"));

        let mut long = ReplyCheck::new(1, 10);
        long.feed(&reply(1, 11));
        assert!(long.finish().is_err());

        // Another request's reply differs from the first byte.
        let mut other = ReplyCheck::new(1, 10);
        other.feed(&reply(2, 10));
        assert!(other.finish().unwrap_err().to_string().contains("byte 0"));

        let mut flipped = reply(1, 10);
        flipped[6] ^= 1;
        let mut corrupt = ReplyCheck::new(1, 10);
        corrupt.feed(&flipped);
        assert!(corrupt.finish().unwrap_err().to_string().contains("byte 6"));

        let mut refused = ReplyCheck::new(1, 10);
        refused.feed(b"ERR expected `GET <id>`\n");
        let error = refused.finish().unwrap_err().to_string();
        assert!(
            error.contains("refused") && error.contains("GET"),
            "{error}"
        );
    }
}
