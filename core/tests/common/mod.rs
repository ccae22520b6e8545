//! Shared test fixtures: a temp storage dir, a manual clock, a recording
//! listener, a real loopback collector, and direct reads of the database.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::DateTime;
use mesure_core::testing::ManualClock;
use mesure_core::*;
use mesure_test_collector::Collector;
use rusqlite::Connection;
use serde_json::{json, Value as Json};

pub const SITE: u32 = 42;

pub fn at(rfc3339: &str) -> i64 {
    DateTime::parse_from_rfc3339(rfc3339).expect("test timestamp").timestamp_millis()
}

/// Tuesday 2026-03-03, 10:00 UTC.
pub fn t0() -> i64 {
    at("2026-03-03T10:00:00Z")
}

#[derive(Default)]
pub struct Recorder {
    pub diagnostics: Mutex<Vec<Diagnostic>>,
    pub changes: Mutex<Vec<ModeChange>>,
}

impl Listener for Recorder {
    fn on_mode_changed(&self, change: &ModeChange) {
        self.changes.lock().unwrap().push(change.clone());
    }
    fn on_diagnostic(&self, d: &Diagnostic) {
        self.diagnostics.lock().unwrap().push(d.clone());
    }
}

impl Recorder {
    pub fn dropped(&self) -> Vec<(String, String, Option<String>, &'static str)> {
        self.diagnostics
            .lock()
            .unwrap()
            .iter()
            .filter_map(|d| match d {
                Diagnostic::Dropped { mode, dropped } => Some((mode.clone(), dropped.event.clone(), dropped.property.clone(), dropped.reason.code())),
                _ => None,
            })
            .collect()
    }
    pub fn changes(&self) -> Vec<ModeChange> {
        self.changes.lock().unwrap().clone()
    }
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        self.diagnostics.lock().unwrap().clone()
    }
    /// The tracks the Backpressure diagnostics reported dropped, in all.
    pub fn backpressure_reported(&self) -> u64 {
        self.diagnostics()
            .iter()
            .filter_map(|d| match d {
                Diagnostic::Backpressure { dropped } => Some(*dropped),
                _ => None,
            })
            .sum()
    }
}

pub fn context() -> DeviceContext {
    DeviceContext {
        os: Some("android".into()),
        os_version: Some("15".into()),
        device_brand: Some("Fairphone".into()),
        device_model: Some("FP5".into()),
        device_type: Some("mobile".into()),
        device_screen_width: Some(1224),
        device_screen_height: Some(2700),
        app_version: Some("3.1.0".into()),
        connection_type: Some("wifi".into()),
        collection_platform: Some("android".into()),
    }
}

pub struct Env {
    pub dir: tempfile::TempDir,
    pub clock: Arc<ManualClock>,
    pub collector: Collector,
    pub recorder: Arc<Recorder>,
    pub config: Config,
}

impl Env {
    pub fn new() -> Env {
        let dir = tempfile::tempdir().expect("tempdir");
        let collector = Collector::start().expect("collector");
        let mut config = Config::new(collector.url(), SITE, dir.path());
        // Uploads only when the test flushes: no timer, and no wake-up by the
        // writer before 500 hits are queued (the background uploader would
        // race the test's reads of the queue).
        config.flush_interval_ms = 3_600_000;
        config.batch_size = 500;
        config.request_timeout_ms = 2_000;
        config.context = context();
        Env { dir, clock: Arc::new(ManualClock::new(t0())), collector, recorder: Arc::new(Recorder::default()), config }
    }

    pub fn sdk(&self) -> Sdk {
        self.try_sdk().expect("sdk")
    }

    pub fn try_sdk(&self) -> Result<Sdk, SdkError> {
        Sdk::builder(self.config.clone()).clock(self.clock.clone()).listener(self.recorder.clone()).build()
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("mesure.sqlite3")
    }

    pub fn db(&self) -> Connection {
        Connection::open(self.db_path()).expect("open db")
    }

    /// Rows of the queue: (visitor_id, mode, event name, data).
    pub fn queued(&self) -> Vec<(String, String, String, Json)> {
        let db = self.db();
        let mut st = db.prepare("SELECT visitor_id, mode, body FROM hits ORDER BY seq").unwrap();
        st.query_map([], |r| {
            let body: String = r.get(2)?;
            let v: Json = serde_json::from_str(&body).unwrap();
            Ok((r.get(0)?, r.get(1)?, v["name"].as_str().unwrap().to_owned(), v["data"].clone()))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
    }

    /// The stored visitor row: (id, created_at_ms, expires_at_ms).
    pub fn stored_visitor(&self) -> Option<(String, i64, i64)> {
        let db = self.db();
        db.query_row("SELECT visitor_id, created_at_ms, expires_at_ms FROM visitor", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).ok()
    }

    pub fn stored_modes(&self) -> Vec<(String, i64, String)> {
        let db = self.db();
        let mut st = db.prepare("SELECT mode, since_ms, reason FROM mode_history ORDER BY seq").unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().collect::<Result<_, _>>().unwrap()
    }

    /// (idclient, events) of every request the collector received.
    pub fn requests(&self) -> Vec<(String, Vec<Json>)> {
        self.collector.received().iter().map(|r| (r.query.get("idclient").cloned().unwrap_or_default(), r.events())).collect()
    }
}

/// The data a mode sends for a page view tagged with the standard test
/// context, `page = "home"`, at `now`: everything but `event_id`, which is
/// random and checked separately.
pub fn expected_exempt_page(now_ms: i64, page: &str) -> Json {
    json!({
        "app_version": "3.1.0",
        "connection_type": "wifi",
        "device_brand": "Fairphone",
        "device_model": "FP5",
        "device_screen_height": 2700,
        "device_screen_width": 1224,
        "device_timestamp_utc": now_ms / 1000,
        "device_type": "mobile",
        "event_collection_platform": "android",
        "event_collection_version": SDK_VERSION,
        "os": "android",
        "os_version": "15",
        "page": page,
        "visitor_privacy_consent": false,
        "visitor_privacy_mode": "exempt",
    })
}

/// Removes `event_id` after checking it is a v4 UUID; returns it.
pub fn take_event_id(data: &mut Json) -> String {
    let id = data.as_object_mut().and_then(|o| o.remove("event_id")).and_then(|v| v.as_str().map(str::to_owned)).expect("event_id present");
    let u = uuid::Uuid::parse_str(&id).expect("event_id is a UUID");
    assert_eq!(u.get_version_num(), 4, "event_id is v4");
    id
}

pub fn is_uuid_v4(s: &str) -> bool {
    uuid::Uuid::parse_str(s).map(|u| u.get_version_num() == 4).unwrap_or(false)
}

pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    f()
}

/// A clock that holds one of the SDK's threads (by name: `mesure-start`,
/// `mesure-storage`) at its next reading while the gate is closed; every
/// other thread reads the manual clock. Tests stall a thread with it
/// instead of sleeping.
pub struct ThreadGate {
    clock: Arc<ManualClock>,
    thread: &'static str,
    open: Mutex<bool>,
    opened: std::sync::Condvar,
}

impl ThreadGate {
    pub fn new(clock: Arc<ManualClock>, thread: &'static str, open: bool) -> Arc<ThreadGate> {
        Arc::new(ThreadGate { clock, thread, open: Mutex::new(open), opened: std::sync::Condvar::new() })
    }
    pub fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.opened.notify_all();
    }
    pub fn close(&self) {
        *self.open.lock().unwrap() = false;
    }
}

impl Clock for ThreadGate {
    fn now_ms(&self) -> i64 {
        if std::thread::current().name() == Some(self.thread) {
            let mut open = self.open.lock().unwrap();
            while !*open {
                open = self.opened.wait(open).unwrap();
            }
        }
        self.clock.now_ms()
    }
    fn monotonic_ms(&self) -> u64 {
        self.clock.monotonic_ms()
    }
}

/// Opens the gate when the test ends, even by a failed assertion, so that
/// shutting the SDK down never waits for a thread held forever.
pub struct OpenOnDrop(pub Arc<ThreadGate>);

impl Drop for OpenOnDrop {
    fn drop(&mut self) {
        self.0.open();
    }
}

/// Percent-decoding as PHP's `parse_str` does (`+` is a space, `%XX` a
/// byte): how Matomo reads each entry of a bulk request.
pub fn form_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok()) {
                Some(b) => {
                    out.push(b);
                    i += 2;
                }
                None => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
