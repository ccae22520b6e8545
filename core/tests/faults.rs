//! Fault suite: a misbehaving collector, broken storage, concurrent mode
//! flips, and shutdown while tracking. Bounded in time; figures in RELIABILITY.md.

mod common;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use mesure_core::testing::reserved;
use mesure_core::testing::RuleBook;
use mesure_core::*;
use mesure_test_collector::{Collector, Reply};
use serde_json::Value as Json;

fn system_clock_sdk(config: Config, listener: Option<Arc<Recorder>>) -> Sdk {
    let mut b = Sdk::builder(config);
    if let Some(l) = listener {
        b = b.listener(l);
    }
    b.build().unwrap()
}

#[test]
fn a_misbehaving_collector_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start().unwrap();
    let counter = AtomicU64::new(0);
    // Every other request fails, cycling through every kind of failure.
    collector.policy(move |_| {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        Some(match n % 14 {
            0 => Reply::Status(500),
            2 => Reply::RetryAfter(503, "1".into()),
            4 => Reply::RetryAfter(429, "1".into()),
            6 => Reply::Stall(Duration::from_millis(700)),
            8 => Reply::Reset,
            10 => Reply::Garbage,
            12 => Reply::Status(502),
            _ => Reply::Status(200),
        })
    });
    let mut config = Config::new(collector.url(), SITE, dir.path());
    config.batch_size = 40;
    config.flush_interval_ms = 100;
    config.request_timeout_ms = 300;
    config.retry_base_ms = 20;
    config.retry_max_ms = 200;
    let recorder = Arc::new(Recorder::default());
    let sdk = system_clock_sdk(config, Some(recorder.clone()));
    let mut ids = HashSet::new();
    for i in 0..1000 {
        match sdk.track(Event::screen(format!("p{i}"))).unwrap() {
            TrackOutcome::Queued { event_id } => ids.insert(event_id),
            other => panic!("{other:?}"),
        };
    }
    // No flush: the uploader works through the failures on its own.
    assert!(wait_until(Duration::from_secs(90), || sdk.stats().uploaded == 1000), "{:?}", sdk.stats());
    let acked: Vec<String> = collector.acknowledged_events().iter().map(|e| e["data"]["event_id"].as_str().unwrap().to_owned()).collect();
    let distinct: HashSet<String> = acked.iter().cloned().collect();
    assert_eq!(distinct, ids, "every hit acknowledged, none invented");
    assert!(acked.len() >= distinct.len());
    let stats = sdk.stats();
    assert!(stats.upload_failures >= 6, "{stats:?}");
    assert_eq!(stats.rejected_by_collector, 0);

    // Retry-After was honoured: after each 503/429 the SDK received (its own
    // Sent report says so; on a loaded machine a reply can come after the
    // client's 300 ms timeout, and then it was a timeout, not a Retry-After),
    // the collector's next request came at least 1 s after that one arrived.
    let received = collector.received();
    // The request that carried this batch and was answered with a Retry-After
    // (a batch is retried, so it may have been in earlier requests too; if two
    // of its requests got a Retry-After, which one the SDK saw is ambiguous).
    let arrived_with = |event_id: &str| {
        let mut answered = received.iter().filter(|r| r.body.contains(event_id) && matches!(r.reply, Reply::RetryAfter(..)));
        match (answered.next(), answered.next()) {
            (Some(r), None) => Some(r.at),
            _ => None,
        }
    };
    let sent = recorder.diagnostics.lock().unwrap().clone();
    let mut honoured = 0;
    for d in &sent {
        let Diagnostic::Sent { hits, status: Some(503 | 429), .. } = d else { continue };
        let Some(at) = hits.first().and_then(|h| arrived_with(&h.event_id)) else { continue };
        if let Some(next) = received.iter().map(|r| r.at).filter(|t| *t > at).min() {
            let gap = next.duration_since(at);
            assert!(gap >= Duration::from_millis(1000), "retried {gap:?} after a Retry-After of 1 s");
            honoured += 1;
        }
    }
    assert!(honoured >= 1, "no Retry-After reached the SDK: {sent:?}");
    // Backoff grows between consecutive failures (lower bounds only).
    eprintln!(
        "1000 hits, {} requests, {} acknowledged events ({} duplicates removed by event_id), {} failed attempts",
        received.len(),
        acked.len(),
        acked.len() - distinct.len(),
        stats.upload_failures
    );
}

/// Mounts a small tmpfs (tests run as root in CI); unmounted on drop.
struct Tmpfs(tempfile::TempDir);

impl Tmpfs {
    fn mount(options: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().ok()?;
        let ok =
            Command::new("mount").args(["-t", "tmpfs", "-o", options, "mesure-test"]).arg(dir.path()).status().map(|s| s.success()).unwrap_or(false);
        ok.then_some(Tmpfs(dir))
    }
    fn path(&self) -> &Path {
        self.0.path()
    }
    fn remount(&self, opt: &str) {
        let s = Command::new("mount").args(["-o", &format!("remount,{opt}")]).arg(self.path()).status().unwrap();
        assert!(s.success());
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.path()).status();
    }
}

fn need_tmpfs(options: &str) -> Tmpfs {
    Tmpfs::mount(options).expect("mounting a tmpfs needs root (CI runs as root); this test cannot run without it")
}

#[test]
fn a_full_disk_keeps_the_sdk_alive_and_counts_what_it_loses() {
    let fs = need_tmpfs("size=4m");
    // Another app's data takes most of the disk; deleting it later is the
    // user freeing space. (WAL mode needs room to checkpoint: recovery needs
    // free space of the order of the queue itself.)
    let other = fs.path().join("other-app-data");
    std::fs::write(&other, vec![0u8; 3 * 1024 * 1024]).unwrap();
    let collector = Collector::start().unwrap();
    collector.policy(|_| Some(Reply::Status(503))); // nothing drains while the disk fills
    let recorder = Arc::new(Recorder::default());
    let mut config = Config::new(collector.url(), SITE, fs.path().join("mesure"));
    config.flush_interval_ms = 3_600_000;
    config.queue_max_hits = 1_000_000;
    let sdk = system_clock_sdk(config, Some(recorder.clone()));
    sdk.set_mode(VisitorMode::OptIn).unwrap();
    let filler = "x".repeat(900);
    let mut accepted = 0u64;
    for i in 0..20_000 {
        match sdk.track(Event::screen(format!("p{i}")).with("filler", filler.as_str())) {
            Ok(_) => accepted += 1,
            Err(TrackError::QueueFull) => std::thread::sleep(Duration::from_millis(1)),
            Err(e) => panic!("{e}"),
        }
    }
    let report = sdk.flush().unwrap();
    assert!(report.storage_error.is_some(), "the disk should be full: {report:?}");
    assert!(recorder.diagnostics().iter().any(|d| matches!(d, Diagnostic::StorageError { message } if message.contains("full"))));
    assert!(sdk.track(Event::screen("still accepted")).is_ok());
    accepted += 1;

    std::fs::remove_file(&other).unwrap();
    collector.policy(|_| Some(Reply::Status(200)));
    for _ in 0..300 {
        let r = sdk.flush().unwrap();
        if r.pending == 0 && r.storage_error.is_none() {
            break;
        }
    }
    let s = sdk.stats();
    assert_eq!(s.accepted, accepted);
    assert_eq!(s.accepted, s.persisted + s.lost_storage_failure, "every hit is persisted or counted as lost: {s:?}");
    assert!(s.lost_storage_failure > 0, "the in-memory buffer is bounded: {s:?}");
    assert_eq!(s.uploaded, s.persisted, "everything persisted was delivered: {s:?}");
    let distinct: HashSet<String> = collector.acknowledged_events().iter().map(|e| e["data"]["event_id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(distinct.len() as u64, s.persisted, "after de-duplication by event_id");
    let db = rusqlite::Connection::open(fs.path().join("mesure/mesure.sqlite3")).unwrap();
    let check: String = db.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
    eprintln!("full disk: {s:?}");
    sdk.shutdown().unwrap();
}

#[test]
fn a_read_only_store_holds_hits_in_memory_until_writable_again() {
    // Read-only from the start: the SDK cannot even create its database.
    let fs = need_tmpfs("size=16m,ro");
    let collector = Collector::start().unwrap();
    let mut config = Config::new(collector.url(), SITE, fs.path().join("mesure"));
    config.flush_interval_ms = 3_600_000;
    let recorder = Arc::new(Recorder::default());
    let sdk = system_clock_sdk(config, Some(recorder.clone()));
    for i in 0..50 {
        sdk.track(Event::screen(format!("ro{i}"))).unwrap();
    }
    let report = sdk.flush().unwrap();
    assert!(report.storage_error.is_some(), "{report:?}");
    assert!(
        recorder.diagnostics().iter().any(|d| matches!(d, Diagnostic::StorageError { message } if message.contains("Read-only"))),
        "{:?}",
        recorder.diagnostics()
    );
    sdk.set_mode(VisitorMode::OptIn).unwrap();
    assert_eq!(sdk.mode(), VisitorMode::OptIn, "the SDK keeps answering");
    sdk.track(Event::screen("consented")).unwrap();
    fs.remount("rw");
    assert!(wait_until(Duration::from_secs(10), || sdk.stats().persisted == 51), "{:?}", sdk.stats());
    let report = sdk.flush().unwrap();
    assert_eq!((report.pending, report.storage_error.clone()), (0, None), "{report:?}");
    let acked = collector.acknowledged_events();
    assert_eq!(acked.len(), 51);
    assert_eq!(acked[50]["data"]["visitor_privacy_mode"], "optin");
    assert_eq!(sdk.stats().lost_storage_failure, 0);
    sdk.shutdown().unwrap();
}

/// The keys a mode may emit for an event, from the live rules.
fn allowed_for(book: &RuleBook, mode: &str, event: &str, key: &str) -> bool {
    [reserved::VISITOR_PRIVACY_MODE, reserved::VISITOR_PRIVACY_CONSENT, reserved::EVENT_ID].contains(&key)
        || book.rules(&VisitorMode::parse(mode)).is_some_and(|r| r.property_verdict(event, key).is_ok())
}

#[test]
fn concurrent_tracking_while_the_mode_flips() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start().unwrap();
    let mut config = Config::new(collector.url(), SITE, dir.path());
    config.flush_interval_ms = 100;
    config.send_hits_in_opt_out = true;
    config.context = context();
    config.queue_max_hits = 1_000_000;
    config.custom_modes.push(CustomMode { name: "exempt-plus".into(), allowed_events: vec!["search.*".into()], allowed_properties: vec![] });
    let book = RuleBook::new(&config);
    let sdk = Arc::new(system_clock_sdk(config, None));
    let stop = Arc::new(AtomicBool::new(false));
    let pause = Arc::new(AtomicBool::new(false));
    let watchdog_started = Instant::now();

    let trackers: Vec<_> = (0..8)
        .map(|t| {
            let (sdk, stop, pause) = (sdk.clone(), stop.clone(), pause.clone());
            std::thread::spawn(move || {
                let mut queued = 0u64;
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    if pause.load(Ordering::Relaxed) {
                        std::thread::sleep(Duration::from_millis(1));
                        continue;
                    }
                    let e = match i % 3 {
                        0 => Event::screen(format!("t{t}-{i}")).with("user_id", "u-1").with("page_chapter1", "c"),
                        1 => Event::new("search.submit").with("query", "shoes"),
                        _ => Event::click(ClickKind::Action, "buy").with("amount", 3),
                    };
                    match sdk.track(e) {
                        Ok(TrackOutcome::Queued { .. }) => queued += 1,
                        Ok(TrackOutcome::NotSent { .. }) | Err(TrackError::QueueFull) => {}
                        Ok(other) => panic!("{other:?}"),
                        Err(e) => panic!("{e}"),
                    }
                    i += 1;
                    if i.is_multiple_of(8) {
                        // Bursts, so uploads keep up and hits of every mode reach the wire.
                        std::thread::sleep(Duration::from_millis(1));
                    }
                }
                queued
            })
        })
        .collect();
    let flipper = {
        let (sdk, stop, pause) = (sdk.clone(), stop.clone(), pause.clone());
        std::thread::spawn(move || {
            let modes = [
                VisitorMode::OptIn,
                VisitorMode::Exempt,
                VisitorMode::OptOut,
                VisitorMode::NoConsent,
                VisitorMode::NoStorage,
                VisitorMode::Custom("exempt-plus".into()),
            ];
            let mut n = 0usize;
            let flipping = Instant::now();
            while flipping.elapsed() < Duration::from_millis(1500) {
                sdk.set_mode(modes[(n * 7 + n / 3) % modes.len()].clone()).unwrap();
                n += 1;
                std::thread::sleep(Duration::from_millis(15));
            }
            // End in each mode that a later change purges (no-storage,
            // exempt-plus) with a flush before leaving it, and in opt-in:
            // hits tracked in them are sure to reach the wire and be checked.
            // The trackers pause for the flush: it uploads what was queued
            // before it, and 8 threads tracking flat out would keep the
            // storage thread's lock from the uploader's deletes.
            for mode in [VisitorMode::NoStorage, VisitorMode::Custom("exempt-plus".into()), VisitorMode::OptIn] {
                sdk.set_mode(mode).unwrap();
                std::thread::sleep(Duration::from_millis(150));
                pause.store(true, Ordering::SeqCst);
                sdk.flush().unwrap();
                pause.store(false, Ordering::SeqCst);
            }
            stop.store(true, Ordering::Relaxed);
            n + 3
        })
    };
    let flips = flipper.join().unwrap();
    let queued: u64 = trackers.into_iter().map(|h| h.join().unwrap()).sum();
    assert!(watchdog_started.elapsed() < Duration::from_secs(30), "no deadlock");

    let mut report = sdk.flush().unwrap();
    while report.pending > 0 {
        report = sdk.flush().unwrap();
    }
    let s = sdk.stats();
    assert_eq!(s.accepted, queued);
    // A batch read just before a purge commits is held back by the egress
    // gate, which sees the new mode as soon as it is decided.
    assert_eq!(s.accepted, s.uploaded + s.purged_on_mode_change + s.held_at_egress, "{s:?}");

    let mut per_mode: HashMap<String, u64> = HashMap::new();
    for r in collector.received().iter().filter(|r| r.acknowledged()) {
        let idclient = &r.query["idclient"];
        for e in r.events() {
            let name = e["name"].as_str().unwrap();
            let data = e["data"].as_object().unwrap();
            let mode = data["visitor_privacy_mode"].as_str().unwrap();
            *per_mode.entry(mode.to_owned()).or_default() += 1;
            for key in data.keys() {
                assert!(allowed_for(&book, mode, name, key), "{key} sent with {name} in {mode}");
            }
            assert_eq!(data["visitor_privacy_consent"], Json::Bool(mode == "optin"));
            match mode {
                "optout" => assert_eq!(idclient, "opt-out"),
                "no-consent" => assert_eq!(idclient, "Consent-NO"),
                "no-storage" => assert_eq!(idclient, "no-storage"),
                _ => assert!(is_uuid_v4(idclient), "{mode} with {idclient}"),
            }
        }
    }
    eprintln!("{queued} hits from 8 threads, {flips} mode flips, {} purged on opt-out; on the wire per mode: {per_mode:?}", s.purged_on_mode_change);
    // Identified hits still queued at a switch to an anonymous mode are purged,
    // so exempt may send nothing; the others must show up.
    for mode in ["optin", "exempt-plus", "optout", "no-consent", "no-storage"] {
        assert!(per_mode.contains_key(mode), "{mode} never reached the wire: {per_mode:?}");
    }
}

#[test]
fn shutdown_while_tracking_loses_nothing_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start().unwrap();
    collector.policy(|_| Some(Reply::Status(503))); // keep everything on disk
    let mut config = Config::new(collector.url(), SITE, dir.path());
    config.queue_max_hits = 1_000_000;
    let sdk = Arc::new(system_clock_sdk(config, None));
    let accepted = Arc::new(Mutex::new(Vec::new()));
    let trackers: Vec<_> = (0..8)
        .map(|t| {
            let (sdk, accepted) = (sdk.clone(), accepted.clone());
            std::thread::spawn(move || {
                let mut mine = Vec::new();
                for i in 0.. {
                    match sdk.track(Event::screen(format!("t{t}-{i}"))) {
                        Ok(TrackOutcome::Queued { event_id }) => mine.push(event_id),
                        Err(TrackError::ShutDown) => break,
                        Err(TrackError::QueueFull) => std::thread::yield_now(),
                        other => panic!("{other:?}"),
                    }
                }
                accepted.lock().unwrap().extend(mine);
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    sdk.shutdown().unwrap();
    for t in trackers {
        t.join().unwrap();
    }
    let accepted = accepted.lock().unwrap().clone();
    let db = rusqlite::Connection::open(dir.path().join("mesure.sqlite3")).unwrap();
    let mut st = db.prepare("SELECT event_id FROM hits").unwrap();
    let on_disk: HashSet<String> = st.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
    let missing = accepted.iter().filter(|id| !on_disk.contains(*id)).count();
    eprintln!("{} hits accepted before shutdown, {} on disk after it", accepted.len(), on_disk.len());
    assert!(!accepted.is_empty());
    assert_eq!(missing, 0, "accepted hits missing after shutdown");
    assert_eq!(on_disk.len(), accepted.len());
}
