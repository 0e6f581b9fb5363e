//! Reference solution to exercise 6 (the essay and the bound are in
//! `exercises/src/bin/06_thread_per_connection.rs`): tokio waits for every
//! connection with one epoll set and its worker threads; an idle client
//! costs a small task, not a thread.

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// Answers each `ping` line with `pong` until the client leaves.
async fn serve_client(stream: TcpStream) -> std::io::Result<()> {
    let (reader, mut writer) = stream.into_split();
    let mut lines = BufReader::new(reader).lines();
    while let Some(line) = lines.next_line().await? {
        if line.trim() == "ping" {
            writer.write_all(b"pong\n").await?;
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("cannot listen on loopback");
    let address = listener
        .local_addr()
        .expect("a bound listener has an address");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    kit::ready(address, &[("cores", cores as f64)]);

    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(serve_client(stream));
    }
}
