//! The HTTP/1.1 server both dialects share: an accept loop on loopback, a
//! thread per connection, keep-alive, `Content-Length` and chunked bodies.
//! Every socket has `TCP_NODELAY` and every response is built whole, then
//! written with one `write_all`, so no Nagle/delayed-ACK stall distorts
//! timings.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use crate::Reply;

/// A request line and its headers (names lower-cased).
pub(crate) struct Head {
    pub method: String,
    pub target: String,
    pub headers: BTreeMap<String, String>,
}

impl Head {
    /// The header, by its lower-case name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

/// What happens to the connection after a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    KeepOpen,
    Close,
}

/// Serves the requests of one dialect.
pub(crate) trait Handler: Send + Sync + 'static {
    /// Answers one request whose head has been read; reads its body from `conn` if it wants it.
    fn handle(&self, head: Head, conn: &mut Conn) -> Flow;
}

/// One client connection.
pub(crate) struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Conn {
    pub fn read_body(&mut self, head: &Head) -> Option<Vec<u8>> {
        read_body(&mut self.reader, &head.headers)
    }

    /// Writes a whole response in one call.
    pub fn send(&mut self, bytes: &[u8]) -> Flow {
        match self.writer.write_all(bytes) {
            Ok(()) => Flow::KeepOpen,
            Err(_) => Flow::Close,
        }
    }

    /// Answers with one of the generic replies.
    pub fn reply(&mut self, reply: &Reply) -> Flow {
        let bytes = match reply {
            Reply::Status(s) => response(*s, None),
            Reply::RetryAfter(s, ra) => response(*s, Some(ra)),
            Reply::Redirect(s, to) => redirect(*s, to),
            Reply::Body(s, n) => with_body(*s, *n),
            Reply::Json(s, body) => typed(*s, "application/json", body.as_bytes()),
            Reply::Stall(d) => {
                thread::sleep(*d);
                response(200, None)
            }
            // The body is left unread: closing now makes the kernel answer with a reset.
            Reply::Reset => return Flow::Close,
            Reply::Garbage => {
                let _ = self.writer.write_all(b"\x00\x01garbage, not HTTP\r\n\r\n");
                return Flow::Close;
            }
        };
        self.send(&bytes)
    }
}

/// A listening socket on `127.0.0.1`; stops accepting when dropped.
pub(crate) struct Server {
    port: u16,
    stop: Arc<AtomicBool>,
}

impl Server {
    pub fn start<H: Handler>(handler: Arc<H>) -> std::io::Result<Server> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        thread::Builder::new().name("collector-accept".into()).spawn(move || {
            for conn in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = conn {
                    let h = handler.clone();
                    let _ = thread::Builder::new().name("collector-conn".into()).spawn(move || serve(stream, &*h));
                }
            }
        })?;
        Ok(Server { port, stop })
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve<H: Handler>(stream: TcpStream, handler: &H) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let Ok(writer) = stream.try_clone() else { return };
    let mut conn = Conn { reader: BufReader::new(stream), writer };
    while let Some(head) = read_head(&mut conn.reader) {
        let close = head.header("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
        if handler.handle(head, &mut conn) == Flow::Close || close {
            let _ = conn.writer.shutdown(Shutdown::Both);
            return;
        }
    }
}

fn read_head(reader: &mut BufReader<TcpStream>) -> Option<Head> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let target = parts.next()?.to_owned();
    let mut headers = BTreeMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).ok()? == 0 {
            return None;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    Some(Head { method, target, headers })
}

fn read_body(reader: &mut BufReader<TcpStream>, headers: &BTreeMap<String, String>) -> Option<Vec<u8>> {
    if headers.get("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        let mut body = Vec::new();
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).ok()?;
            let n = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
            let mut chunk = vec![0; n + 2];
            reader.read_exact(&mut chunk).ok()?;
            if n == 0 {
                return Some(body);
            }
            body.extend_from_slice(&chunk[..n]);
        }
    }
    let len: usize = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some(body)
}

/// The path and the query (`%XX` decoded, `+` kept: the Piano dialect's reading).
pub(crate) fn parse_query(target: &str) -> (String, BTreeMap<String, String>) {
    let (path, q) = target.split_once('?').unwrap_or((target, ""));
    let query = q
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k, false), percent_decode(v, false))
        })
        .collect();
    (path.to_owned(), query)
}

/// `%XX` decoded (a malformed escape is kept as it is); with `plus`, a `+` is a space (PHP's `urldecode`).
pub(crate) fn percent_decode(s: &str, plus: bool) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(if plus && b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        202 => "Accepted",
        204 => "No Content",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// A response with no body (and a `Retry-After` when given).
pub(crate) fn response(status: u16, retry_after: Option<&str>) -> Vec<u8> {
    let mut r = format!("HTTP/1.1 {status} {}\r\nContent-Length: 0\r\n", reason(status));
    if let Some(ra) = retry_after {
        r.push_str(&format!("Retry-After: {ra}\r\n"));
    }
    r.push_str("\r\n");
    r.into_bytes()
}

/// A response with a body of that type.
pub(crate) fn typed(status: u16, content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut r =
        format!("HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n", reason(status), body.len()).into_bytes();
    r.extend_from_slice(body);
    r
}

fn redirect(status: u16, location: &str) -> Vec<u8> {
    format!("HTTP/1.1 {status} {}\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n", reason(status)).into_bytes()
}

fn with_body(status: u16, len: usize) -> Vec<u8> {
    let mut r = format!("HTTP/1.1 {status} {}\r\nContent-Type: text/html\r\nContent-Length: {len}\r\n\r\n", reason(status)).into_bytes();
    r.resize(r.len() + len, b'x');
    r
}
