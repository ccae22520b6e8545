//! Crash safety: a child process tracks at full speed and is SIGKILLed at
//! random moments, 60 times over the same storage. After each kill the
//! database must pass `PRAGMA integrity_check`, and every hit the child
//! reported as persisted must still be queued or acknowledged by the
//! collector, never twice under two event ids.
//!
//! The child is this test binary re-run with `MESURE_CRASH_CHILD` set.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mesure_core::*;
use mesure_test_collector::Collector;
use rusqlite::Connection;
use serde_json::Value as Json;

const KILLS: u64 = 60;
const SEQ_STRIDE: i64 = 10_000_000;

fn config(dir: &str, url: &str) -> Config {
    let mut c = Config::new(url, common::SITE, dir);
    c.flush_interval_ms = 100;
    c.batch_size = 100;
    c.queue_max_hits = 10_000_000;
    c.retry_base_ms = 50;
    c.retry_max_ms = 200;
    c
}

/// The child: opt-in (custom properties pass), tracks seq = offset + i, and
/// reports how many of its hits are committed, in order, every 200 hits.
#[test]
fn crash_child() {
    let Ok(spec) = std::env::var("MESURE_CRASH_CHILD") else { return };
    let mut parts = spec.splitn(3, '|');
    let (dir, url, offset) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap().parse::<i64>().unwrap());
    let sdk = Sdk::builder(config(dir, url)).build().unwrap();
    sdk.set_mode(VisitorMode::OptIn).unwrap();
    println!("persisted 0"); // started
    let mut i: i64 = 0;
    loop {
        match sdk.track(Event::screen("crash").with("seq", offset + i)) {
            Ok(_) => i += 1,
            Err(TrackError::QueueFull) => std::thread::yield_now(),
            Err(e) => panic!("{e}"),
        }
        if i % 200 == 0 {
            println!("persisted {}", sdk.stats().persisted);
        }
        if i % 20 == 0 {
            // ~20 000 hits/s: far above any app, and slow enough for the
            // uploader to keep the queue (and this test's checks) short.
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
}

struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// seq -> event ids queued in the database.
fn queued(db: &Connection) -> BTreeMap<i64, Vec<String>> {
    let mut queued: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    let mut st = db.prepare("SELECT event_id, body FROM hits").unwrap();
    let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))).unwrap();
    for row in rows {
        let (id, body) = row.unwrap();
        let v: Json = serde_json::from_str(&body).unwrap();
        queued.entry(v["data"]["seq"].as_i64().unwrap()).or_default().push(id);
    }
    queued
}

/// seq -> event ids acknowledged by the collector, followed incrementally.
#[derive(Default)]
struct Acked {
    seen: usize,
    by_seq: BTreeMap<i64, Vec<String>>,
}

impl Acked {
    fn update(&mut self, collector: &Collector) {
        let new = collector.received_since(self.seen);
        self.seen += new.len();
        for r in new.iter().filter(|r| r.acknowledged()) {
            for e in r.events() {
                let seq = e["data"]["seq"].as_i64().unwrap();
                self.by_seq.entry(seq).or_default().push(e["data"]["event_id"].as_str().unwrap().to_owned());
            }
        }
    }
}

#[test]
fn sigkill_at_random_moments_loses_nothing_persisted() {
    if std::env::var("MESURE_CRASH_CHILD").is_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start().unwrap();
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    eprintln!("crash test seed {seed}");
    let mut rng = Rng(seed);
    let exe = std::env::current_exe().unwrap();
    let mut persisted_per_run: HashMap<i64, u64> = HashMap::new();
    let mut acked = Acked::default();
    let started = Instant::now();

    for run in 0..KILLS as i64 {
        let offset = run * SEQ_STRIDE;
        // Under emulation (`cargo xtask test-arm64`) the child needs the
        // runner too: the kernel cannot start a foreign binary by itself.
        let runner = std::env::var("MESURE_TEST_RUNNER").unwrap_or_default();
        let mut runner = runner.split_whitespace();
        let mut child = match runner.next() {
            Some(program) => {
                let mut c = Command::new(program);
                c.args(runner).arg(&exe);
                c
            }
            None => Command::new(&exe),
        };
        let mut child = child
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env("MESURE_CRASH_CHILD", format!("{}|{}|{offset}", dir.path().display(), collector.url()))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let last: Arc<Mutex<Option<u64>>> = Arc::new(Mutex::new(None));
        let reader = {
            let out = child.stdout.take().unwrap();
            let last = last.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    if let Some(n) = line.strip_prefix("persisted ").and_then(|n| n.parse().ok()) {
                        *last.lock().unwrap() = Some(n);
                    }
                }
            })
        };
        // Let it start, then kill it somewhere in the next 5-150 ms.
        assert!(common::wait_until(Duration::from_secs(20), || last.lock().unwrap().is_some()), "run {run}: child did not start");
        std::thread::sleep(Duration::from_millis(5 + rng.below(145)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        reader.join().unwrap();
        let persisted = last.lock().unwrap().unwrap_or(0);
        persisted_per_run.insert(offset, persisted);

        let db = Connection::open(dir.path().join("mesure.sqlite3")).unwrap();
        let check: String = db.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(check, "ok", "run {run}");
        let queued = queued(&db);
        acked.update(&collector);
        for i in 0..persisted as i64 {
            let seq = offset + i;
            assert!(queued.contains_key(&seq) || acked.by_seq.contains_key(&seq), "run {run}: seq {i} of {persisted} persisted hits lost");
        }
    }

    // Drain what is left and check every persisted hit arrived exactly once.
    let sdk = Sdk::builder(config(&dir.path().display().to_string(), &collector.url())).build().unwrap();
    let report = sdk.flush().unwrap();
    assert_eq!(report.pending, 0, "{report:?}");
    sdk.shutdown().unwrap();
    let db = Connection::open(dir.path().join("mesure.sqlite3")).unwrap();
    assert!(queued(&db).is_empty());
    acked.update(&collector);
    let acked = acked.by_seq;
    for (seq, ids) in &acked {
        let first = &ids[0];
        assert!(ids.iter().all(|id| id == first), "seq {seq} sent under two event ids: {ids:?}");
    }
    let mut total = 0;
    for (offset, persisted) in &persisted_per_run {
        for i in 0..*persisted as i64 {
            assert!(acked.contains_key(&(offset + i)), "seq {} never acknowledged", offset + i);
        }
        total += persisted;
    }
    eprintln!(
        "{KILLS} kills, {total} hits reported persisted, {} distinct hits acknowledged, {} acknowledgements (duplicates removed by event_id), {:?}",
        acked.len(),
        acked.values().map(Vec::len).sum::<usize>(),
        started.elapsed()
    );
    assert!(total > 0);
}
