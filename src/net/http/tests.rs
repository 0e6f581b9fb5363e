use super::request::{parse, RequestBuffer, Route, WaitMode, MAX_HEAD_BYTES};
use super::response::{body_byte, Response, CHUNK_BYTES};
use std::time::Duration;

fn work(target: &str) -> super::request::Work {
    let head = format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n");
    match parse(head.as_bytes()).unwrap().unwrap().0.route {
        Route::Work(work) => work,
        other => panic!("{other:?}"),
    }
}

#[test]
fn work_parameters_are_read_and_checked() {
    let w = work("/work?wait_ms=20&cpu_us=1000&bytes=7&mode=offload");
    assert_eq!(w.wait, Duration::from_millis(20));
    assert_eq!((w.cpu_us, w.bytes, w.mode), (1000.0, 7, WaitMode::Offload));
    assert_eq!(work("/work").mode, WaitMode::Own);
    for bad in [
        "/work?wait_ms=-1",
        "/work?bytes=x",
        "/work?mode=nap",
        "/work?speed=9",
    ] {
        let head = format!("GET {bad} HTTP/1.1\r\n\r\n");
        let rejection = parse(head.as_bytes()).unwrap_err();
        assert_eq!(rejection.status, 400, "{bad}");
        assert!(
            rejection.reason.contains("valid") || rejection.reason.contains("from 0"),
            "{rejection:?}"
        );
    }
}

#[test]
fn malformed_heads_unknown_paths_and_bodies_are_refused_with_a_reason() {
    let status = |bytes: &[u8]| parse(bytes).unwrap_err().status;
    assert_eq!(status(b"\x00\x01garbage\r\n\r\n"), 400);
    assert_eq!(status(b"GET /nope HTTP/1.1\r\n\r\n"), 404);
    assert_eq!(status(b"POST /work HTTP/1.1\r\n\r\n"), 405);
    assert_eq!(
        status(b"GET /work HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"),
        400
    );
    let long = format!("GET /work HTTP/1.1\r\nX: {}", "a".repeat(MAX_HEAD_BYTES));
    assert_eq!(status(long.as_bytes()), 431);
    let many: String = (0..40).map(|i| format!("H{i}: v\r\n")).collect();
    assert_eq!(
        status(format!("GET /health HTTP/1.1\r\n{many}\r\n").as_bytes()),
        400
    );
    // Half a request is not an error: more may come.
    assert_eq!(parse(b"GET /health HTT").unwrap(), None);
}

#[test]
fn keep_alive_follows_the_version_and_connection_header() {
    let keep = |head: &[u8]| parse(head).unwrap().unwrap().0.keep_alive;
    assert!(keep(b"GET /health HTTP/1.1\r\n\r\n"));
    assert!(!keep(b"GET /health HTTP/1.1\r\nConnection: close\r\n\r\n"));
    assert!(!keep(b"GET /health HTTP/1.0\r\n\r\n"));
    assert!(keep(
        b"GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
    ));
}

#[test]
fn the_buffer_keeps_what_follows_a_request_for_the_next() {
    let mut buffer = RequestBuffer::default();
    let two = b"GET /health HTTP/1.1\r\n\r\nGET /work?bytes=3 HTTP/1.1\r\n\r\nGET /he";
    buffer.spare()[..two.len()].copy_from_slice(two);
    buffer.filled(two.len());
    assert_eq!(buffer.next_request().unwrap().unwrap().route, Route::Health);
    assert!(
        matches!(buffer.next_request().unwrap().unwrap().route, Route::Work(w) if w.bytes == 3)
    );
    assert_eq!(buffer.next_request().unwrap(), None);
    assert!(buffer.has_partial());
}

#[test]
fn a_long_body_arrives_whole_and_checkable_in_pieces() {
    let total = 3 * CHUNK_BYTES as u64 + 17;
    let response = Response::pattern(total, true);
    let first = response.first_piece();
    let head_end = first.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let head = std::str::from_utf8(&first[..head_end]).unwrap();
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(
        head.contains(&format!("Content-Length: {total}\r\n")),
        "{head}"
    );
    assert!(!head.contains("Connection: close"));
    let mut body = first[head_end..].to_vec();
    let mut sent = response.body_in_first_piece();
    while let Some(piece) = response.body_piece(sent) {
        body.extend_from_slice(piece);
        sent += piece.len() as u64;
    }
    assert_eq!(body.len() as u64, total);
    assert!(body
        .iter()
        .enumerate()
        .all(|(k, &b)| b == body_byte(k as u64)));
    let closing = Response::text(400, "bad\r\nline", false).first_piece();
    let text = String::from_utf8(closing).unwrap();
    assert!(
        text.contains("Connection: close") && text.ends_with("bad  line\n"),
        "{text}"
    );
}

#[test]
fn descriptor_waits_count_once_per_wait_not_per_accept_retry() {
    use super::{blocking::accept_failed, Server};
    use std::sync::atomic::Ordering;
    let server = Server::new(1.0, std::time::Duration::from_secs(1));
    let out_of_descriptors = std::io::Error::from_raw_os_error(libc::EMFILE);
    for _ in 0..50 {
        let pause = accept_failed(&out_of_descriptors, &server).unwrap();
        assert!(!pause.is_zero(), "a retry waits for a descriptor to close");
    }
    assert_eq!(server.stats.descriptor_waits.load(Ordering::Relaxed), 1);
    // A connection served ends the wait; the next failure is a new one.
    drop(server.stats.open_connection());
    accept_failed(&std::io::Error::from_raw_os_error(libc::ENFILE), &server).unwrap();
    accept_failed(&out_of_descriptors, &server).unwrap();
    assert_eq!(server.stats.descriptor_waits.load(Ordering::Relaxed), 2);
    // Transient errors are no wait at all.
    drop(server.stats.open_connection());
    let aborted = std::io::Error::from(std::io::ErrorKind::ConnectionAborted);
    assert!(accept_failed(&aborted, &server).unwrap().is_zero());
    assert_eq!(server.stats.descriptor_waits.load(Ordering::Relaxed), 2);
    assert!(server
        .stats
        .summary()
        .contains("2 waits for a free descriptor"));
}
