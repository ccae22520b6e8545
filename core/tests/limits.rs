//! Sizes are bounded, whatever one call passes: a value (8 KiB serialised),
//! a hit (64 KiB), a request (1 MiB). Each cut is reported, and the event
//! itself still leaves.

mod common;

use common::*;
use mesure_core::limits::{MAX_HIT_BYTES, MAX_REQUEST_BYTES, MAX_VALUE_BYTES};
use mesure_core::testing::ManualClock;
use mesure_core::*;

/// 100 arrays of 100 strings of 1000 emoji: about 40 MB once serialised.
fn huge_event() -> Event {
    let emoji = "😀".repeat(1000);
    let mut e = Event::new("purchase");
    for i in 0..100 {
        e = e.with(format!("list{i}"), Value::StringArray(vec![emoji.clone(); 100]));
    }
    e
}

#[test]
fn one_track_cannot_build_a_huge_request() {
    let env = Env::new();
    let sdk = env.sdk();
    sdk.set_consent(true).unwrap();
    assert!(matches!(sdk.track(huge_event()).unwrap(), TrackOutcome::Queued { .. }), "the event itself still leaves");
    sdk.flush().unwrap();
    let received = env.collector.received();
    assert_eq!(received.len(), 1);
    let body = received[0].body.len();
    assert!(body <= MAX_HIT_BYTES + 64, "a {body}-byte request for one hit");
    let event = &received[0].events()[0];
    let kept = event["data"].as_object().unwrap().keys().filter(|k| k.starts_with("list")).count();
    assert!((1..100).contains(&kept), "some arrays kept, the largest left out: {kept}");
    for (k, v) in event["data"].as_object().unwrap() {
        if k.starts_with("list") {
            assert!(serde_json::to_string(v).unwrap().len() <= MAX_VALUE_BYTES, "{k}");
        }
    }
    let dropped = env.recorder.dropped();
    let count = |code: &str| dropped.iter().filter(|d| d.3 == code).count();
    assert_eq!(count("truncated"), 100, "each array cut to 8 KiB, reported");
    assert_eq!(count("too_large") + kept, 100, "each array left out reported too_large");
    assert_eq!(sdk.stats().properties_dropped as usize, 100 - kept);
}

#[test]
fn requests_are_cut_to_their_byte_bound() {
    let mut env = Env::new();
    env.config.batch_size = 500;
    let sdk = env.sdk();
    sdk.set_consent(true).unwrap();
    let big = "x".repeat(1000);
    for i in 0..60 {
        let mut e = Event::new("purchase").with("n", i);
        for j in 0..7 {
            e = e.with(format!("list{j}"), Value::StringArray(vec![big.clone(); 8]));
        }
        sdk.track(e).unwrap();
    }
    let report = sdk.flush().unwrap();
    assert_eq!((report.uploaded, report.pending), (60, 0));
    let received = env.collector.received();
    assert!(received.len() >= 2, "60 hits of ~57 KiB need several requests");
    for r in &received {
        assert!(r.body.len() <= MAX_REQUEST_BYTES, "{} bytes", r.body.len());
    }
    let ns: Vec<i64> = received.iter().flat_map(|r| r.events()).map(|e| e["data"]["n"].as_i64().unwrap()).collect();
    assert_eq!(ns, (0..60).collect::<Vec<_>>(), "all sent, in order");
}

#[test]
fn a_stalled_store_refuses_tracks_and_says_so_once_per_burst() {
    let env = Env::new();
    // The storage thread stalls at its next reading of the clock.
    let clock = ThreadGate::new(std::sync::Arc::new(ManualClock::new(t0())), "mesure-storage", true);
    let sdk = Sdk::builder(env.config.clone()).clock(clock.clone()).listener(env.recorder.clone()).build().unwrap();
    clock.close();
    let _open = OpenOnDrop(clock.clone());
    let mut refused = 0;
    // The writer holds one transaction's worth (4096) while it stalls; the
    // hand-off holds MAX_IN_FLIGHT more.
    for i in 0..(3 * MAX_IN_FLIGHT) {
        match sdk.track(Event::screen(format!("p{i}"))) {
            Ok(TrackOutcome::Queued { .. }) => {}
            Err(TrackError::QueueFull) => refused += 1,
            other => panic!("{other:?}"),
        }
    }
    assert!(refused >= MAX_IN_FLIGHT / 2, "the hand-off is bounded: {refused} refused");
    clock.open();
    sdk.flush().unwrap();
    assert_eq!(sdk.stats().rejected_backpressure, refused as u64);
    let reported = env.recorder.backpressure_reported();
    assert_eq!(reported, refused as u64, "every refusal reported, in Backpressure diagnostics");
}
