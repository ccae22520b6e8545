//! A loopback HTTP/1.1 collector for tests, the demo and the benchmarks, in
//! two dialects on one HTTP server (`http.rs`):
//!
//! - [`Collector`], Piano style: records every request (query, headers, JSON
//!   body) and answers from a script: a status (with `Retry-After`), a stall
//!   past the client's timeout, a connection reset mid-request, or a garbage
//!   response.
//! - [`MatomoCollector`]: a faithful Matomo / Piwik PRO tracker
//!   (`/matomo.php`, `/ppms.php`): decodes bulk entries as PHP does, resolves
//!   their action type and time, counts the invalid ones, answers as Matomo
//!   does, checks each request against what no hit of Mesure may carry, and
//!   fails the way a real one does (rollback, partial commit, a lost entry,
//!   503, an answer held after the commit).
//!
//! Each response is written with one `write` on a `TCP_NODELAY` socket, so
//! no Nagle/delayed-ACK stall distorts timings.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

mod http;
mod matomo;

use http::{parse_query, response, Conn, Flow, Handler, Head, Server};
pub use matomo::{ActionType, Entry, Flavour, Gate, Invalid, MatomoCollector, MatomoReply, MatomoRequest, Release, Violation};

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
    /// A status with that JSON body (a collector's counts, such as Matomo's
    /// `{"tracked":n,"invalid":m}`, whatever was sent).
    Json(u16, String),
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
        matches!(self.reply, Reply::Status(200..=299) | Reply::Json(200..=299, _))
    }
}

type Policy = dyn Fn(&Received) -> Option<Reply> + Send + Sync;

#[derive(Default)]
struct Shared {
    received: Mutex<Vec<Received>>,
    arrived: Condvar,
    script: Mutex<VecDeque<Reply>>,
    policy: Mutex<Option<Arc<Policy>>>,
}

/// A running collector; stops when dropped.
pub struct Collector {
    server: Server,
    shared: Arc<Shared>,
}

impl Collector {
    /// Binds `127.0.0.1` on a free port and starts serving.
    pub fn start() -> std::io::Result<Collector> {
        let shared = Arc::new(Shared::default());
        let server = Server::start(shared.clone())?;
        Ok(Collector { server, shared })
    }

    /// The base URL to configure as the collection endpoint.
    pub fn url(&self) -> String {
        self.server.url()
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

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn head_is_control(path: &str) -> bool {
    path.starts_with("/_")
}

impl Reply {
    pub(crate) fn to_json(&self) -> serde_json::Value {
        use serde_json::json;
        match self {
            Reply::Status(s) => json!({"status": s}),
            Reply::RetryAfter(s, ra) => json!({"status": s, "retry_after": ra}),
            Reply::Redirect(s, to) => json!({"status": s, "location": to}),
            Reply::Body(s, n) => json!({"status": s, "body_bytes": n}),
            Reply::Json(s, body) => json!({"status": s, "json": body}),
            Reply::Stall(d) => json!({"stall_ms": d.as_millis() as u64}),
            Reply::Reset => json!({"reset": true}),
            Reply::Garbage => json!({"garbage": true}),
        }
    }

    pub(crate) fn from_json(v: &serde_json::Value) -> Option<Reply> {
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
        if let Some(body) = v.get("json").and_then(|x| x.as_str()) {
            return Some(Reply::Json(status, body.to_owned()));
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
/// `{"status": 200, "json": "{\"tracked\":1,\"invalid\":1}"}`,
/// `{"stall_ms": 1500}`, `{"reset": true}`, `{"garbage": true}`).
impl Shared {
    fn control(&self, req: &Received) -> Vec<u8> {
        let ok =
            |body: String| format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len()).into_bytes();
        match (req.method.as_str(), req.path.as_str()) {
            ("GET", "/_received") => {
                let list: Vec<serde_json::Value> = lock(&self.received)
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
                lock(&self.received).clear();
                lock(&self.script).clear();
                ok("{}".into())
            }
            ("POST", "/_script") => {
                let replies: Vec<Reply> = match serde_json::from_str::<serde_json::Value>(&req.body) {
                    Ok(serde_json::Value::Array(items)) => items.iter().filter_map(Reply::from_json).collect(),
                    _ => return response(400, None),
                };
                lock(&self.script).extend(replies);
                ok("{}".into())
            }
            _ => response(404, None),
        }
    }
}

impl Handler for Shared {
    fn handle(&self, head: Head, conn: &mut Conn) -> Flow {
        let (path, query) = parse_query(&head.target);
        let control = head_is_control(&path);
        let mut req = Received {
            method: head.method.clone(),
            path,
            query,
            headers: head.headers.clone(),
            body: String::new(),
            reply: Reply::Status(200),
            at: Instant::now(),
        };
        let policy = lock(&self.policy).clone();
        // The reply is chosen before the body is read, so Reset can leave it unread;
        // a policy sees the body, so it is read first when a policy is set.
        let scripted = if control { None } else { lock(&self.script).pop_front() };
        if scripted != Some(Reply::Reset) {
            let Some(body) = conn.read_body(&head) else { return Flow::Close };
            req.body = String::from_utf8_lossy(&body).into_owned();
        }
        if control {
            return conn.send(&self.control(&req));
        }
        let reply = policy.and_then(|p| p(&req)).or(scripted).unwrap_or(Reply::Status(200));
        req.reply = reply.clone();
        {
            lock(&self.received).push(req);
            self.arrived.notify_all();
        }
        conn.reply(&reply)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpStream;

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

    #[test]
    fn answers_a_scripted_json_body() {
        let c = Collector::start().unwrap();
        let reply = Reply::from_json(&serde_json::json!({"status": 200, "json": r#"{"tracked":1,"invalid":1}"#})).unwrap();
        assert_eq!(reply, Reply::Json(200, r#"{"tracked":1,"invalid":1}"#.into()));
        assert_eq!(Reply::from_json(&reply.to_json()), Some(reply.clone()));
        c.script([reply]);
        let r = post(&c.url(), r#"{"events":[]}"#);
        assert!(r.starts_with("HTTP/1.1 200"), "{r}");
        assert!(r.contains("Content-Type: application/json"), "{r}");
        assert!(r.ends_with("\r\n\r\n{\"tracked\":1,\"invalid\":1}"), "{r}");
        assert!(c.received()[0].acknowledged());
    }
}
