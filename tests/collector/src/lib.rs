//! A loopback HTTP/1.1 collector for tests, the demo and the benchmarks.
//!
//! It records every request (query, headers, JSON body) and answers from a
//! script: a status (with `Retry-After`), a stall past the client's timeout,
//! a connection reset mid-request, or a garbage response. Each response is
//! written with one `write` on a `TCP_NODELAY` socket, so no Nagle/delayed-ACK
//! stall distorts timings.

use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How the collector answers one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Status(u16),
    /// A status with a `Retry-After` header.
    RetryAfter(u16, String),
    /// A redirect (3xx) to `Location`.
    Redirect(u16, String),
    /// A status with a body of that many bytes (a portal's page, an endless stream).
    Body(u16, usize),
    /// Waits, then answers 200 (the client has usually given up by then).
    Stall(Duration),
    /// Reads the headers only and closes the socket with the body unread: the
    /// kernel answers with a TCP reset while the client is still sending.
    Reset,
    /// Bytes that are not HTTP.
    Garbage,
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub query: BTreeMap<String, String>,
    pub headers: BTreeMap<String, String>,
    pub body: String,
    /// The reply it got.
    pub reply: Reply,
    /// When its headers arrived.
    pub at: Instant,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
    /// The `events` array of a collection request.
    pub fn events(&self) -> Vec<serde_json::Value> {
        match self.json().get("events") {
            Some(serde_json::Value::Array(v)) => v.clone(),
            _ => Vec::new(),
        }
    }
    /// Whether the client was told the batch was accepted.
    pub fn acknowledged(&self) -> bool {
        matches!(self.reply, Reply::Status(200..=299))
    }
}

type Policy = dyn Fn(&Received) -> Option<Reply> + Send + Sync;

#[derive(Default)]
struct Shared {
    received: Mutex<Vec<Received>>,
    arrived: Condvar,
    script: Mutex<VecDeque<Reply>>,
    policy: Mutex<Option<Arc<Policy>>>,
    stop: AtomicBool,
}

/// A running collector; stops when dropped.
pub struct Collector {
    port: u16,
    shared: Arc<Shared>,
}

impl Collector {
    /// Binds `127.0.0.1` on a free port and starts serving.
    pub fn start() -> std::io::Result<Collector> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let shared = Arc::new(Shared::default());
        let s = shared.clone();
        thread::Builder::new().name("collector-accept".into()).spawn(move || {
            for conn in listener.incoming() {
                if s.stop.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = conn {
                    let s = s.clone();
                    let _ = thread::Builder::new().name("collector-conn".into()).spawn(move || serve(stream, &s));
                }
            }
        })?;
        Ok(Collector { port, shared })
    }

    /// The base URL to configure as the collection endpoint.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Queues replies for the next requests (then 200 again).
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        lock(&self.shared.script).extend(replies);
    }

    /// Decides replies from the request itself (checked before the script);
    /// `None` falls through to the script.
    pub fn policy(&self, f: impl Fn(&Received) -> Option<Reply> + Send + Sync + 'static) {
        *lock(&self.shared.policy) = Some(Arc::new(f));
    }

    /// Every request so far.
    pub fn received(&self) -> Vec<Received> {
        lock(&self.shared.received).clone()
    }

    /// The requests after the first `n` (to follow a long run without
    /// copying everything each time).
    pub fn received_since(&self, n: usize) -> Vec<Received> {
        lock(&self.shared.received).iter().skip(n).cloned().collect()
    }

    /// Events of acknowledged requests, in arrival order.
    pub fn acknowledged_events(&self) -> Vec<serde_json::Value> {
        self.received().iter().filter(|r| r.acknowledged()).flat_map(|r| r.events()).collect()
    }

    /// Waits until at least `n` requests arrived; false on timeout.
    pub fn wait_for_requests(&self, n: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut got = lock(&self.shared.received);
        while got.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            got = match self.shared.arrived.wait_timeout(got, left) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
        true
    }

    pub fn clear(&self) {
        lock(&self.shared.received).clear();
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

struct Head {
    method: String,
    target: String,
    headers: BTreeMap<String, String>,
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

fn parse_query(target: &str) -> (String, BTreeMap<String, String>) {
    let (path, q) = target.split_once('?').unwrap_or((target, ""));
    let query = q
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect();
    (path.to_owned(), query)
}

fn percent_decode(s: &str) -> String {
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
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn head_is_control(path: &str) -> bool {
    path.starts_with("/_")
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
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

fn response(status: u16, retry_after: Option<&str>) -> Vec<u8> {
    let mut r = format!("HTTP/1.1 {status} {}\r\nContent-Length: 0\r\n", reason(status));
    if let Some(ra) = retry_after {
        r.push_str(&format!("Retry-After: {ra}\r\n"));
    }
    r.push_str("\r\n");
    r.into_bytes()
}

fn redirect(status: u16, location: &str) -> Vec<u8> {
    format!("HTTP/1.1 {status} {}\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n", reason(status)).into_bytes()
}

fn with_body(status: u16, len: usize) -> Vec<u8> {
    let mut r = format!("HTTP/1.1 {status} {}\r\nContent-Type: text/html\r\nContent-Length: {len}\r\n\r\n", reason(status)).into_bytes();
    r.resize(r.len() + len, b'x');
    r
}

impl Reply {
    fn to_json(&self) -> serde_json::Value {
        use serde_json::json;
        match self {
            Reply::Status(s) => json!({"status": s}),
            Reply::RetryAfter(s, ra) => json!({"status": s, "retry_after": ra}),
            Reply::Redirect(s, to) => json!({"status": s, "location": to}),
            Reply::Body(s, n) => json!({"status": s, "body_bytes": n}),
            Reply::Stall(d) => json!({"stall_ms": d.as_millis() as u64}),
            Reply::Reset => json!({"reset": true}),
            Reply::Garbage => json!({"garbage": true}),
        }
    }

    fn from_json(v: &serde_json::Value) -> Option<Reply> {
        if let Some(ms) = v.get("stall_ms").and_then(|x| x.as_u64()) {
            return Some(Reply::Stall(Duration::from_millis(ms)));
        }
        if v.get("reset").is_some() {
            return Some(Reply::Reset);
        }
        if v.get("garbage").is_some() {
            return Some(Reply::Garbage);
        }
        let status = u16::try_from(v.get("status")?.as_u64()?).ok()?;
        if let Some(to) = v.get("location").and_then(|x| x.as_str()) {
            return Some(Reply::Redirect(status, to.to_owned()));
        }
        if let Some(n) = v.get("body_bytes").and_then(|x| x.as_u64()) {
            return Some(Reply::Body(status, usize::try_from(n).ok()?));
        }
        Some(match v.get("retry_after").and_then(|x| x.as_str()) {
            Some(ra) => Reply::RetryAfter(status, ra.to_owned()),
            None => Reply::Status(status),
        })
    }
}

/// Control endpoints for tests in other languages, which run this collector
/// as a process (`mesure-test-collector` binary): `GET /_received` lists the
/// requests, `POST /_reset` forgets them and the script, `POST /_script`
/// queues replies (a JSON array of `{"status": 503, "retry_after": "1"}`,
/// `{"status": 307, "location": "http://..."}`, `{"status": 200, "body_bytes": 10000000}`,
/// `{"stall_ms": 1500}`, `{"reset": true}`, `{"garbage": true}`).
fn control(shared: &Shared, req: &Received) -> Vec<u8> {
    let ok = |body: String| format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len()).into_bytes();
    match (req.method.as_str(), req.path.as_str()) {
        ("GET", "/_received") => {
            let list: Vec<serde_json::Value> = lock(&shared.received)
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "method": r.method,
                        "path": r.path,
                        "query": r.query,
                        "headers": r.headers,
                        "body": r.json(),
                        "reply": r.reply.to_json(),
                        "acknowledged": r.acknowledged(),
                    })
                })
                .collect();
            ok(serde_json::Value::Array(list).to_string())
        }
        ("POST", "/_reset") => {
            lock(&shared.received).clear();
            lock(&shared.script).clear();
            ok("{}".into())
        }
        ("POST", "/_script") => {
            let replies: Vec<Reply> = match serde_json::from_str::<serde_json::Value>(&req.body) {
                Ok(serde_json::Value::Array(items)) => items.iter().filter_map(Reply::from_json).collect(),
                _ => return response(400, None),
            };
            lock(&shared.script).extend(replies);
            ok("{}".into())
        }
        _ => response(404, None),
    }
}

fn serve(stream: TcpStream, shared: &Shared) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let Ok(mut writer) = stream.try_clone() else { return };
    let mut reader = BufReader::new(stream);
    while let Some(head) = read_head(&mut reader) {
        let (path, query) = parse_query(&head.target);
        let mut req =
            Received { method: head.method, path, query, headers: head.headers, body: String::new(), reply: Reply::Status(200), at: Instant::now() };
        let close = req.headers.get("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
        let policy = lock(&shared.policy).clone();
        // The reply is chosen before the body is read, so Reset can leave it unread;
        // a policy sees the body, so it is read first when a policy is set.
        let scripted = if head_is_control(&req.path) { None } else { lock(&shared.script).pop_front() };
        if scripted != Some(Reply::Reset) {
            let Some(body) = read_body(&mut reader, &req.headers) else { return };
            req.body = String::from_utf8_lossy(&body).into_owned();
        }
        if head_is_control(&req.path) {
            let bytes = control(shared, &req);
            if writer.write_all(&bytes).is_err() || close {
                let _ = writer.shutdown(Shutdown::Both);
                return;
            }
            continue;
        }
        let reply = policy.and_then(|p| p(&req)).or(scripted).unwrap_or(Reply::Status(200));
        req.reply = reply.clone();
        {
            lock(&shared.received).push(req);
            shared.arrived.notify_all();
        }
        let bytes = match reply {
            Reply::Status(s) => response(s, None),
            Reply::RetryAfter(s, ra) => response(s, Some(&ra)),
            Reply::Redirect(s, to) => redirect(s, &to),
            Reply::Body(s, n) => with_body(s, n),
            Reply::Stall(d) => {
                thread::sleep(d);
                response(200, None)
            }
            Reply::Reset => {
                let _ = writer.shutdown(Shutdown::Both);
                return;
            }
            Reply::Garbage => {
                let _ = writer.write_all(b"\x00\x01garbage, not HTTP\r\n\r\n");
                let _ = writer.shutdown(Shutdown::Both);
                return;
            }
        };
        if writer.write_all(&bytes).is_err() || close {
            let _ = writer.shutdown(Shutdown::Both);
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(url: &str, body: &str) -> String {
        let addr = url.trim_start_matches("http://");
        let mut s = TcpStream::connect(addr).unwrap();
        write!(s, "POST /event?s=1&idclient=a%2Db HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    }

    #[test]
    fn records_and_scripts() {
        let c = Collector::start().unwrap();
        c.script([Reply::RetryAfter(503, "3".into())]);
        let r = post(&c.url(), r#"{"events":[{"name":"x","data":{}}]}"#);
        assert!(r.starts_with("HTTP/1.1 503"), "{r}");
        assert!(r.contains("Retry-After: 3"));
        let r = post(&c.url(), r#"{"events":[]}"#);
        assert!(r.starts_with("HTTP/1.1 200"));
        let got = c.received();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].query["idclient"], "a-b");
        assert_eq!(got[0].events().len(), 1);
        assert!(!got[0].acknowledged());
        assert!(got[1].acknowledged());
        assert_eq!(c.acknowledged_events().len(), 0);
    }
}
