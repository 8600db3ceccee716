//! Hostile clients on a raw socket: a request body the server does not read
//! must not hold the connection open, whatever the answer; a body it reads
//! in full keeps the connection alive.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::helpers::{sibling_monitor, spawn_app, spawn_app_with, TestApp, ADMIN_KEY};

/// A body larger than MAX_REQUEST_BODY_BYTES (1 MiB by default).
const BIG_BODY_BYTES: usize = 1_200_000;
/// Chunks a big chunked body is sent in.
const CHUNKS: usize = 12;
/// Longest wait for an answer or a close before the connection counts as hung.
const PATIENCE: Duration = Duration::from_secs(5);
/// The request sent after the first one on the same connection.
const SECOND_REQUEST: &[u8] = b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n";

/// An answer read off the socket.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn announces_close(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }
}

/// The reading side of a raw connection, with what was read but not yet parsed.
struct Reader {
    read: OwnedReadHalf,
    buf: Vec<u8>,
}

impl Reader {
    /// The next complete answer, or `None` when the server closes the
    /// connection (end of stream or reset) first.
    async fn answer(&mut self) -> Option<Answer> {
        loop {
            if let Some(answer) = self.parse() {
                return Some(answer);
            }
            let mut chunk = [0u8; 16 * 1024];
            match self.read.read(&mut chunk).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    fn parse(&mut self) -> Option<Answer> {
        let head_end = self.buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
        let head = String::from_utf8_lossy(&self.buf[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|line| line.split(' ').nth(1))
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("malformed status line in {head:?}"));
        let headers: Vec<(String, String)> = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
            .collect();
        let answer = Answer { status, headers };
        let length: usize = answer
            .header("content-length")
            .unwrap_or_else(|| panic!("answer without Content-Length: {head:?}"))
            .parse()
            .unwrap();
        if self.buf.len() < head_end + length {
            return None;
        }
        self.buf.drain(..head_end + length);
        Some(answer)
    }
}

/// A connection whose first request is written in the background while its
/// answer is read (the server may answer before it has read the body).
struct Exchange {
    reader: Reader,
    writer: tokio::task::JoinHandle<std::io::Result<OwnedWriteHalf>>,
}

impl Exchange {
    async fn start(app: &TestApp, first_request: Vec<u8>) -> Self {
        let address = app.address.trim_start_matches("http://");
        let stream = TcpStream::connect(address).await.unwrap();
        let (read, mut write) = stream.into_split();
        let writer = tokio::spawn(async move {
            write.write_all(&first_request).await?;
            Ok(write)
        });
        Self {
            reader: Reader {
                read,
                buf: Vec::new(),
            },
            writer,
        }
    }

    /// The answer to the first request.
    async fn first_answer(&mut self) -> Answer {
        timeout(PATIENCE, self.reader.answer())
            .await
            .expect("no answer to the first request")
            .expect("the connection closed before the first answer")
    }

    /// Sends a second request once the first is written and returns the
    /// answer, or `None` if the server closed the connection instead. Panics
    /// if the server does neither within [`PATIENCE`] (the connection hangs).
    async fn second_answer(mut self) -> Option<Answer> {
        let written = timeout(PATIENCE, self.writer)
            .await
            .expect("the server neither read the first body nor closed the connection")
            .unwrap();
        let Ok(mut write) = written else {
            // The server closed the connection while the body was being sent.
            let next = timeout(PATIENCE, self.reader.answer())
                .await
                .expect("the connection hangs after a failed write");
            assert!(next.is_none(), "an answer nobody asked for: {next:?}");
            return None;
        };
        // A failed write means the server has closed the connection; the
        // read below sees it.
        let _ = write.write_all(SECOND_REQUEST).await;
        let next = timeout(PATIENCE, self.reader.answer())
            .await
            .expect("the second request on the connection was neither answered nor closed");
        // Only now: closing our side earlier could make the server close too.
        drop(write);
        next
    }
}

fn chunked_request(method: &str, path: &str, headers: &str, body: &[u8]) -> Vec<u8> {
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\n{headers}Transfer-Encoding: chunked\r\n\r\n")
            .into_bytes();
    for chunk in body.chunks(body.len().div_ceil(CHUNKS).max(1)) {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    request
}

fn sized_request(method: &str, path: &str, headers: &str, body: &[u8]) -> Vec<u8> {
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\n{headers}Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    request
}

fn big_body() -> Vec<u8> {
    vec![b'x'; BIG_BODY_BYTES]
}

/// An oversized JSON document (the server stops reading at its limit).
fn big_json() -> Vec<u8> {
    let mut body = br#"{"name": ""#.to_vec();
    body.resize(BIG_BODY_BYTES, b'x');
    body.extend_from_slice(br#""}"#);
    body
}

fn admin_json_headers() -> String {
    format!("Authorization: Bearer {ADMIN_KEY}\r\nContent-Type: application/json\r\n")
}

/// After an answer to a request whose body was not read, the connection is
/// closed or answers the next request: it never hangs.
fn assert_answered_or_closed(second: Option<Answer>) {
    if let Some(answer) = second {
        assert_eq!(answer.status, 200, "{answer:?}");
    }
}

#[tokio::test]
async fn an_unread_chunked_body_does_not_hang_the_connection() {
    let app = spawn_app().await;
    let mut exchange =
        Exchange::start(&app, chunked_request("GET", "/health", "", &big_body())).await;
    assert_eq!(exchange.first_answer().await.status, 200);
    assert_answered_or_closed(exchange.second_answer().await);
}

#[tokio::test]
async fn an_unread_sized_body_does_not_hang_the_connection() {
    let app = spawn_app().await;
    let mut exchange =
        Exchange::start(&app, sized_request("GET", "/health", "", &big_body())).await;
    assert_eq!(exchange.first_answer().await.status, 200);
    assert_answered_or_closed(exchange.second_answer().await);
}

#[tokio::test]
async fn an_unread_body_of_a_refused_request_does_not_hang_the_connection() {
    let app = spawn_app().await;
    let mut exchange = Exchange::start(
        &app,
        chunked_request(
            "POST",
            "/api/v1/monitors",
            "Content-Type: application/json\r\n",
            &big_json(),
        ),
    )
    .await;
    assert_eq!(exchange.first_answer().await.status, 401);
    assert_answered_or_closed(exchange.second_answer().await);
}

#[tokio::test]
async fn a_body_over_the_limit_does_not_hang_the_connection() {
    let app = spawn_app().await;
    let mut exchange = Exchange::start(
        &app,
        chunked_request(
            "POST",
            "/api/v1/monitors",
            &admin_json_headers(),
            &big_json(),
        ),
    )
    .await;
    assert_eq!(exchange.first_answer().await.status, 413);
    assert_answered_or_closed(exchange.second_answer().await);
}

/// Sends a request head and then a chunked body that never ends, a chunk
/// every 100 ms, until the server closes the connection.
async fn start_trickle(app: &TestApp, head: String) -> (Reader, tokio::task::JoinHandle<()>) {
    let address = app.address.trim_start_matches("http://");
    let stream = TcpStream::connect(address).await.unwrap();
    let (read, mut write) = stream.into_split();
    write.write_all(head.as_bytes()).await.unwrap();
    let trickle = tokio::spawn(async move {
        while write.write_all(b"1\r\nx\r\n").await.is_ok() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let reader = Reader {
        read,
        buf: Vec::new(),
    };
    (reader, trickle)
}

/// After the answer, the server closes the connection although the body
/// is still coming.
async fn assert_closed_while_trickling(mut reader: Reader, trickle: tokio::task::JoinHandle<()>) {
    let next = timeout(PATIENCE, reader.answer())
        .await
        .expect("the connection stays open while a body nobody reads trickles in");
    assert!(next.is_none(), "an answer nobody asked for: {next:?}");
    trickle.abort();
}

#[tokio::test]
async fn a_body_trickled_after_the_answer_does_not_hold_the_connection() {
    let app = spawn_app().await;
    let head = "GET /health HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n";
    let (mut reader, trickle) = start_trickle(&app, head.to_owned()).await;
    let answer = timeout(PATIENCE, reader.answer())
        .await
        .expect("no answer")
        .expect("closed before the answer");
    assert_eq!(answer.status, 200);
    assert_closed_while_trickling(reader, trickle).await;
}

#[tokio::test]
async fn a_request_abandoned_at_the_deadline_while_its_body_trickles_closes_the_connection() {
    let app = spawn_app_with(&[("API_WRITE_TIMEOUT_SECONDS", "1")]).await;
    let head = format!(
        "POST /api/v1/monitors HTTP/1.1\r\nHost: localhost\r\n{}Transfer-Encoding: chunked\r\n\r\n",
        admin_json_headers()
    );
    let (mut reader, trickle) = start_trickle(&app, head).await;
    let answer = timeout(PATIENCE, reader.answer())
        .await
        .expect("no answer at the deadline")
        .expect("closed before the answer");
    assert_eq!(answer.status, 503, "{answer:?}");
    assert_closed_while_trickling(reader, trickle).await;
}

#[tokio::test]
async fn a_fully_read_body_keeps_the_connection_alive() {
    let app = spawn_app().await;
    let monitor = serde_json::to_vec(&sibling_monitor()).unwrap();
    for first in [
        sized_request("POST", "/api/v1/monitors", &admin_json_headers(), &monitor),
        chunked_request("POST", "/api/v1/monitors", &admin_json_headers(), &monitor),
    ] {
        let mut exchange = Exchange::start(&app, first).await;
        let answer = exchange.first_answer().await;
        assert_eq!(answer.status, 201, "{answer:?}");
        assert!(!answer.announces_close(), "{answer:?}");
        let second = exchange
            .second_answer()
            .await
            .expect("the connection was closed after a fully read body");
        assert_eq!(second.status, 200);
    }
}

#[tokio::test]
async fn a_small_body_the_handler_ignores_keeps_the_connection_alive() {
    let app = spawn_app().await;
    let mut exchange = Exchange::start(&app, sized_request("GET", "/health", "", b"{}")).await;
    let answer = exchange.first_answer().await;
    assert_eq!(answer.status, 200);
    assert!(!answer.announces_close(), "{answer:?}");
    let second = exchange
        .second_answer()
        .await
        .expect("the connection was closed after a small ignored body");
    assert_eq!(second.status, 200);
}
