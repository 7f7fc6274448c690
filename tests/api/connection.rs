//! Connections: an idle keep-alive connection is kept, and announced, long enough for the
//! client pools that reuse a connection after a pause (issue: actix's default closed it after
//! 5 s and the client saw "connection closed without response").

use crate::helpers::spawn_app;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Send one request on `stream` and read one whole response (head and `Content-Length` body).
async fn exchange(stream: &mut TcpStream, request: &str) -> String {
    stream.write_all(request.as_bytes()).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut buf = Vec::new();
    loop {
        if let Some(head_end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
            let length: usize =
                head.lines().find_map(|l| l.strip_prefix("content-length:")).map_or(0, |v| v.trim().parse().unwrap());
            if buf.len() >= head_end + 4 + length {
                return String::from_utf8_lossy(&buf).into_owned();
            }
        }
        let mut chunk = [0u8; 4096];
        let left = deadline.saturating_duration_since(Instant::now());
        let n = tokio::time::timeout(left, stream.read(&mut chunk)).await.expect("a response within 10 s").unwrap();
        assert!(
            n > 0,
            "the server closed the connection without a response; read so far: {:?}",
            String::from_utf8_lossy(&buf)
        );
        buf.extend_from_slice(&chunk[..n]);
    }
}

#[tokio::test]
async fn a_connection_reused_after_more_than_five_idle_seconds_is_answered() {
    let app = spawn_app().await;
    let mut stream = TcpStream::connect(app.running.addr).await.unwrap();
    let first = exchange(&mut stream, "GET /_sim/health HTTP/1.1\r\nHost: sim\r\n\r\n").await;
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    assert!(first.to_ascii_lowercase().contains("\r\nkeep-alive: timeout=75\r\n"), "{first}");

    // Stay idle past actix's default keep-alive (5 s). The wait is a read with a 6 s deadline:
    // if the server drops the connection the read returns at once and the test says when.
    let idle = Instant::now();
    let mut byte = [0u8; 1];
    if let Ok(read) = tokio::time::timeout(Duration::from_secs(6), stream.read(&mut byte)).await {
        panic!("the server ended the idle connection after {:?} ({read:?})", idle.elapsed());
    }

    // The same connection still answers, on the platform API too, and says so again.
    let second = exchange(
        &mut stream,
        "GET /cdb-open-api/v1/rent/cabinet/query?deviceId=BJD60151 HTTP/1.1\r\nHost: sim\r\n\
         Authorization: Basic ZGVtbzpkZW1v\r\n\r\n",
    )
    .await;
    assert!(second.starts_with("HTTP/1.1 200"), "{second}");
    assert!(second.contains("\"code\":0"), "{second}");
    assert!(second.to_ascii_lowercase().contains("\r\nkeep-alive: timeout=75\r\n"), "{second}");
}
