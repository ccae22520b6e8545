//! A wrong device clock never extends a tracker. A visitor id or a consent
//! dated after "now" (beyond a day's tolerance) counts as expired, so a clock
//! that ran ahead and was then corrected cannot stretch their lives; a date
//! that cannot be represented is already expired; no clock value panics
//! anything; retry delays run on a monotonic clock, so a clock set back does
//! not stall uploads.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use mesure_core::testing::add_calendar_months;
use mesure_core::testing::consent_expiry;
use mesure_core::testing::{ManualClock, SeededRandom};
use mesure_core::*;
use mesure_test_collector::Reply;
use proptest::prelude::*;

const DAY: i64 = 86_400_000;

fn months(n: u32) -> i64 {
    add_calendar_months(t0(), n).unwrap()
}

#[test]
fn a_consent_given_while_the_clock_ran_ahead_lapses_once_it_is_corrected() {
    let env = Env::new();
    let sdk = env.sdk();
    env.clock.set_ms(months(24));
    sdk.set_consent(true).unwrap();
    assert_eq!(sdk.mode(), VisitorMode::OptIn);
    // The clock is corrected: the choice is dated two years in the future.
    env.clock.set_ms(t0());
    let status = sdk.mode_status();
    assert_eq!(status.mode, VisitorMode::Exempt, "a consent dated in the future is not a consent");
    assert!(status.consent_renewal_needed, "the app is told to ask again");
    // Twenty real months later it has not come back.
    env.clock.advance_ms(months(20) - t0());
    assert_eq!(sdk.mode(), VisitorMode::Exempt);
    let changes = env.recorder.changes();
    assert!(wait_until(Duration::from_secs(10), || env.recorder.changes().len() == 2), "{changes:?}");
    let lapse = &env.recorder.changes()[1];
    assert_eq!((lapse.reason, lapse.at_ms), (ModeChangeReason::ConsentExpired, t0()));
}

#[test]
fn a_future_dated_consent_on_disk_lapses_at_start_up() {
    let env = Env::new();
    env.clock.set_ms(months(24));
    let sdk = env.sdk();
    sdk.set_consent(true).unwrap();
    sdk.shutdown().unwrap();
    drop(sdk);
    env.clock.set_ms(t0());
    let sdk = env.sdk();
    let status = sdk.mode_status();
    assert_eq!((status.mode, status.consent_renewal_needed), (VisitorMode::Exempt, true));
}

#[test]
fn a_consent_within_the_tolerance_holds() {
    // A clock a few hours off either way is ordinary: the consent stands.
    let env = Env::new();
    let sdk = env.sdk();
    env.clock.set_ms(t0() + 20 * 3_600_000);
    sdk.set_consent(true).unwrap();
    env.clock.set_ms(t0());
    assert_eq!(sdk.mode(), VisitorMode::OptIn);
}

#[test]
fn an_id_created_while_the_clock_ran_ahead_is_renewed_once_it_is_corrected() {
    let env = Env::new();
    let sdk = env.sdk();
    env.clock.set_ms(add_calendar_months(t0(), 60).unwrap());
    sdk.track(Event::screen("ahead")).unwrap();
    sdk.flush().unwrap();
    env.clock.set_ms(t0());
    sdk.track(Event::screen("corrected")).unwrap();
    env.clock.advance_ms(months(12) - t0());
    sdk.track(Event::screen("twelve_months_later")).unwrap();
    sdk.flush().unwrap();
    let (_, created, expires) = env.stored_visitor().unwrap();
    assert_eq!((created, expires), (t0(), months(13)), "the id created once the clock was right lives its 13 months");
    env.clock.advance_ms(months(40) - months(12));
    sdk.track(Event::screen("forty_months_later")).unwrap();
    sdk.flush().unwrap();
    let ids: Vec<String> = env.requests().into_iter().map(|(id, _)| id).collect();
    assert_eq!(ids.len(), 3, "one request per id: {ids:?}");
    assert_ne!(ids[0], ids[1], "the id dated five years ahead is not used once the clock is right");
    assert_ne!(ids[0], ids[2], "nor forty months later");
    assert_ne!(ids[1], ids[2], "and the right one is not extended past its 13 months");
}

#[test]
fn a_future_dated_id_on_disk_is_renewed_at_start_up() {
    let env = Env::new();
    env.clock.set_ms(add_calendar_months(t0(), 60).unwrap());
    let sdk = env.sdk();
    sdk.track(Event::screen("ahead")).unwrap();
    sdk.shutdown().unwrap();
    drop(sdk);
    let ahead = env.stored_visitor().unwrap().0;
    env.clock.set_ms(t0());
    let sdk = env.sdk();
    sdk.track(Event::screen("corrected")).unwrap();
    sdk.flush().unwrap();
    let ids: Vec<String> = env.requests().into_iter().map(|(id, _)| id).collect();
    assert_eq!(ids.len(), 1, "the hit tracked then never leaves: its id is dated five years ahead, so expired");
    assert_ne!(ids[0], ahead);
    assert_eq!(env.stored_visitor().unwrap().1, t0());
    assert!(env.recorder.diagnostics().contains(&Diagnostic::QueueTrimmed { cause: TrimCause::IdExpired, dropped: 1 }), "and its loss is reported");
}

#[test]
fn a_clock_set_back_does_not_stall_background_retries() {
    let mut env = Env::new();
    env.config.retry_base_ms = 100;
    env.config.retry_max_ms = 200;
    env.config.flush_interval_ms = 100;
    env.collector.script([Reply::Status(503)]);
    let sdk = env.sdk();
    sdk.track(Event::screen("home")).unwrap();
    assert_eq!(sdk.flush().unwrap().deferred.as_deref(), Some("HTTP 503"));
    // The wall clock goes back a day; real time moves on past the delay.
    env.clock.set_ms(t0() - DAY);
    env.clock.advance_ms(1_000);
    assert!(env.collector.wait_for_requests(2, Duration::from_secs(20)), "the retry ran on its own");
    assert!(wait_until(Duration::from_secs(20), || sdk.stats().uploaded == 1));
}

#[test]
fn a_clock_set_forward_does_not_skip_a_retry_after() {
    let env = Env::new();
    env.collector.script([Reply::RetryAfter(503, "120".into())]);
    let sdk = env.sdk();
    sdk.track(Event::screen("home")).unwrap();
    sdk.flush().unwrap();
    env.clock.set_ms(t0() + 365 * DAY);
    let report = sdk.flush().unwrap();
    assert_eq!((report.uploaded, report.pending), (0, 1), "the collector's delay is real time, not wall time");
    assert_eq!(env.collector.received().len(), 1);
}

#[test]
fn an_expiry_that_cannot_be_represented_is_already_expired() {
    let env = Env::new();
    let sdk = env.sdk();
    // Within chrono's range, but not once six months are added.
    let edge = chrono::DateTime::<chrono::Utc>::MAX_UTC.timestamp_millis() - DAY;
    env.clock.set_ms(edge);
    sdk.set_consent(true).unwrap();
    let status = sdk.mode_status();
    assert_ne!(status.mode, VisitorMode::OptIn, "no consent without a representable expiry: {status:?}");
    assert_eq!(status.consent_expires_at_ms, None);
    assert_eq!(consent_expiry(edge, 6), None);
}

#[test]
fn extreme_clocks_answer_and_keep_the_sdk_alive() {
    let env = Env::new();
    let sdk = env.sdk();
    for now in [i64::MIN, i64::MIN + 1, -1, 0, i64::MAX - 1, i64::MAX, t0()] {
        env.clock.set_ms(now);
        assert!(sdk.track(Event::screen("home")).is_ok(), "{now}");
        sdk.set_consent(true).unwrap();
        sdk.mode_status();
        sdk.set_consent(false).unwrap();
        sdk.flush().unwrap_or_else(|e| panic!("clock {now}: {e}"));
        assert!(sdk.export_local_data().is_ok(), "{now}");
    }
    assert!(sdk.track(Event::screen("home")).is_ok(), "still running, not ShutDown");
}

fn any_clock() -> impl Strategy<Value = i64> {
    prop_oneof![
        any::<i64>(),
        Just(i64::MIN),
        Just(i64::MAX),
        Just(8_210_000_000_000_000i64),
        Just(chrono::DateTime::<chrono::Utc>::MAX_UTC.timestamp_millis() - DAY),
        Just(chrono::DateTime::<chrono::Utc>::MIN_UTC.timestamp_millis()),
        -86_400_000i64..86_400_000,
        (0i64..4_102_444_800_000),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200_000, failure_persistence: None, ..ProptestConfig::default() })]

    /// Over the whole range: an expiry is strictly later than its start and
    /// at most the lifetime away, or there is none (already expired).
    #[test]
    fn expiries_are_later_and_bounded_or_absent(since in any_clock(), months in 1u32..=13) {
        if let Some(e) = consent_expiry(since, months) {
            prop_assert!(e > since);
            prop_assert!(e - since <= i64::from(months) * 31 * DAY);
        }
        let v = mesure_core::VisitorId::generate(&SeededRandom::new(1), since);
        if v.is_valid_at(since) {
            prop_assert!(v.expires_at_ms > since);
            prop_assert!(v.expires_at_ms - v.created_at_ms <= 13 * 31 * DAY);
        }
        prop_assert!(!v.is_valid_at(v.expires_at_ms));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    /// The SDK answers at any clock value and any sequence of them: nothing
    /// panics (debug build: overflow checks on), nothing stops the SDK, and
    /// an opt-in in force always has an expiry after now.
    #[test]
    fn no_clock_value_panics_or_extends_a_consent(clocks in prop::collection::vec(any_clock(), 1..8)) {
        let env = Env::new();
        let clock = Arc::new(ManualClock::new(clocks[0]));
        let build = || Sdk::builder(env.config.clone()).clock(clock.clone()).http_client(Arc::new(Ack)).build().unwrap();
        let mut sdk = build();
        for (i, now) in clocks.iter().enumerate() {
            clock.set_ms(*now);
            prop_assert!(sdk.track(Event::screen("home")).is_ok());
            if i % 2 == 0 {
                sdk.set_consent(true).unwrap();
            }
            let s = sdk.mode_status();
            if s.mode == VisitorMode::OptIn {
                let expiry = s.consent_expires_at_ms.expect("an opt-in has an expiry");
                prop_assert!(expiry > *now);
                prop_assert!(s.since_ms.unwrap() <= now.saturating_add(DAY));
            }
            prop_assert!(sdk.flush().is_ok());
            if i % 3 == 2 {
                sdk.shutdown().unwrap();
                drop(sdk);
                sdk = build();
            }
        }
    }
}

struct Ack;

impl HttpClient for Ack {
    fn send(&self, _request: HttpRequest, completion: Completion) {
        completion.complete(HttpOutcome::Response { status: 200, retry_after: None, body: Vec::new() });
    }
}
