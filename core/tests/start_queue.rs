//! The call queue in the core: `start` returns at once, the start thread
//! opens the store, and calls made meanwhile wait in order; one bound, the
//! oldest track dropped first, a change never; `stop` and `shutdown`; the
//! published state. The start thread is held at the door by a clock that
//! blocks it until the test opens the gate: no sleeps, no timing.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use mesure_core::*;

/// Records the published states too.
#[derive(Default)]
struct States {
    inner: Recorder,
    states: Mutex<Vec<SdkState>>,
}

impl Listener for States {
    fn on_mode_changed(&self, change: &ModeChange) {
        self.inner.on_mode_changed(change)
    }
    fn on_diagnostic(&self, d: &Diagnostic) {
        self.inner.on_diagnostic(d)
    }
    fn on_state(&self, state: &SdkState) {
        self.states.lock().unwrap().push(state.clone());
    }
}

fn held_start(env: &Env, listener: Arc<dyn Listener>) -> (Sdk, Arc<ThreadGate>, OpenOnDrop) {
    let gate = ThreadGate::new(env.clock.clone(), "mesure-start", false);
    let sdk = Sdk::builder(env.config.clone()).clock(gate.clone()).listener(listener).start().expect("start");
    let guard = OpenOnDrop(gate.clone());
    (sdk, gate, guard)
}

#[test]
fn calls_before_the_start_wait_in_order_and_are_filtered_under_their_mode() {
    let env = Env::new();
    let states = Arc::new(States::default());
    let (sdk, gate, _guard) = held_start(&env, states.clone());
    assert_eq!(sdk.started(), Ok(false));
    // Tagged before the store is open, in this order.
    assert_eq!(sdk.track_screen("before-optin", vec![("user_id".into(), Value::from("u-1"))]), Ok(TrackOutcome::Waiting));
    sdk.set_consent(true).unwrap();
    assert_eq!(sdk.track_screen("after-optin", vec![("user_id".into(), Value::from("u-1"))]), Ok(TrackOutcome::Waiting));
    sdk.set_opted_out(true).unwrap();
    assert_eq!(sdk.track_screen("after-optout", vec![]), Ok(TrackOutcome::Waiting));
    // Checked on the caller's thread: refused at once, also before the start.
    assert!(matches!(sdk.track(Event::new("Bad Name")), Err(TrackError::InvalidEventName { .. })));
    assert_eq!(sdk.set_mode(VisitorMode::Custom("nope".into())), Err(ModeError::UnknownMode("nope".into())));
    gate.open();
    sdk.wait_started().unwrap();
    sdk.await_applied().unwrap();

    // The opt-out purged what the opt-in queued; the exempt hit (before the
    // consent) went with the id at the consent boundary.
    assert!(env.queued().is_empty(), "{:?}", env.queued());
    let changes: Vec<String> = env_changes(&states);
    assert_eq!(changes, ["exempt->optin", "optin->optout"]);
    let dropped = states.inner.dropped();
    // The first hit was filtered in exempt (user_id held back), the second kept it.
    assert!(
        dropped.iter().any(|(mode, event, prop, _)| mode == "exempt" && event == "page.display" && prop.as_deref() == Some("user_id")),
        "{dropped:?}"
    );
    // The last one was held back in opt-out (no anonymous hits configured).
    assert!(dropped.iter().any(|(mode, _, prop, _)| mode == "optout" && prop.is_none()), "{dropped:?}");
    assert_eq!(sdk.stats().accepted, 2);
    assert_eq!(sdk.stats().purged_on_mode_change, 2);

    // Published: running in the last mode, after the changes' states.
    let published = states.states.lock().unwrap().clone();
    let last = published.last().expect("a state");
    assert_eq!((last.mode.clone(), last.run.clone()), (VisitorMode::OptOut, RunState::Running));
    assert!(published.windows(2).all(|w| w[0].epoch <= w[1].epoch), "{published:?}");
}

fn env_changes(states: &States) -> Vec<String> {
    states.inner.changes().iter().map(|c| format!("{}->{}", c.previous.wire_name(), c.current.wire_name())).collect()
}

#[test]
fn past_the_bound_the_oldest_waiting_track_is_dropped_and_a_change_never() {
    let mut env = Env::new();
    env.config.queue_max_hits = 100_000;
    let states = Arc::new(States::default());
    let (sdk, gate, _guard) = held_start(&env, states.clone());
    sdk.set_consent(true).unwrap();
    for i in 0..MAX_WAITING_TRACKS + 3 {
        assert_eq!(sdk.track(Event::new("search.submit").with("n", i as i64)), Ok(TrackOutcome::Waiting));
    }
    // A change after the bound is reached still waits, and is applied last.
    sdk.set_mode(VisitorMode::Exempt).unwrap();
    gate.open();
    sdk.await_applied().unwrap();
    assert_eq!(sdk.mode(), VisitorMode::Exempt);

    let s = sdk.stats();
    assert_eq!(s.rejected_backpressure, 3);
    assert_eq!(s.accepted, MAX_WAITING_TRACKS as u64);
    // Leaving opt-in for exempt purges the consented hits (they were all
    // tracked in opt-in, before the change: it was not dropped and came
    // last). The uploader may have sent some before the change, and the
    // egress gate holds back those of a batch it read as the change was
    // published: each hit is counted once, by one of the three.
    assert_eq!(s.purged_on_mode_change + s.uploaded + s.held_at_egress, MAX_WAITING_TRACKS as u64, "{s:?}");
    while sdk.flush().unwrap().pending > 0 {}
    let sent: Vec<i64> =
        env.requests().iter().flat_map(|(_, events)| events.iter().map(|e| e["data"]["n"].as_i64().unwrap_or(-1)).collect::<Vec<_>>()).collect();
    // The three oldest are the dropped ones: anything the uploader sent
    // before the purge starts at n = 3.
    assert!(sent.iter().all(|n| *n >= 3), "{:?}", &sent[..sent.len().min(5)]);
    let reported = states.inner.backpressure_reported();
    assert_eq!(reported, 3);
}

#[test]
fn the_second_start_on_a_directory_is_always_the_refused_one() {
    let env = Env::new();
    for round in 0..100 {
        let first = Sdk::builder(env.config.clone()).clock(env.clock.clone()).start().unwrap_or_else(|e| panic!("round {round}: {e}"));
        let second = Sdk::builder(env.config.clone()).clock(env.clock.clone()).start();
        assert!(matches!(second, Err(SdkError::StorageInUse { .. })), "round {round}: {:?}", second.err());
        first.track_screen("home", vec![]).unwrap();
        first.flush().unwrap_or_else(|e| panic!("round {round}: {e}"));
        first.shutdown().unwrap();
    }
}

#[test]
fn stop_during_the_start_applies_what_came_before_and_refuses_the_rest() {
    let env = Env::new();
    let states = Arc::new(States::default());
    let (sdk, gate, _guard) = held_start(&env, states.clone());
    sdk.track_screen("home", vec![]).unwrap();
    sdk.set_mode(VisitorMode::NoConsent).unwrap();
    sdk.stop();
    assert_eq!(sdk.track_screen("late", vec![]), Err(TrackError::ShutDown));
    assert_eq!(sdk.set_consent(true), Err(ModeError::ShutDown));
    assert!(matches!(sdk.flush(), Err(SdkError::ShutDown)));
    gate.open();
    sdk.shutdown().unwrap();
    // Persisted before the stop ended: the directory is free, the row there.
    // The no-consent made before the stop was applied (and purged the
    // exempt hit tracked before it) and is what a new start reads back.
    assert!(env.queued().is_empty(), "{:?}", env.queued());
    assert_eq!(env.stored_modes().iter().map(|m| m.0.clone()).collect::<Vec<_>>(), ["no-consent"]);
    let published = states.states.lock().unwrap().clone();
    assert_eq!(published.last().map(|s| s.run.clone()), Some(RunState::Closed), "{published:?}");
    let again = env.sdk();
    assert_eq!(again.stats().accepted, 0);
    assert_eq!(again.mode(), VisitorMode::NoConsent);
}

#[test]
fn stop_returns_at_once_and_shutdown_waits_for_the_end() {
    let env = Env::new();
    let states = Arc::new(States::default());
    let sdk = Sdk::builder(env.config.clone()).clock(env.clock.clone()).listener(states.clone()).build().unwrap();
    sdk.track_screen("home", vec![]).unwrap();
    sdk.stop();
    assert_eq!(sdk.track_screen("late", vec![]), Err(TrackError::ShutDown));
    sdk.shutdown().unwrap();
    assert_eq!(env.queued().len(), 1);
    // Stopped: the directory is free for a new SDK.
    let again = env.sdk();
    assert_eq!(again.stats().accepted, 0);
    let published = states.states.lock().unwrap().clone();
    let runs: Vec<RunState> = published.iter().map(|s| s.run.clone()).collect();
    assert_eq!(runs, [RunState::Running, RunState::Closed]);
}

#[test]
fn strict_mode_waits_for_the_start_and_answers_each_call() {
    let mut env = Env::new();
    env.config.strict = true;
    let (sdk, gate, _guard) = held_start(&env, Arc::new(States::default()));
    let sdk = Arc::new(sdk);
    let caller = {
        let sdk = sdk.clone();
        std::thread::spawn(move || sdk.track_screen("home", vec![]))
    };
    // The caller waits for the start: nothing runs until the gate opens.
    assert_eq!(sdk.started(), Ok(false));
    gate.open();
    let outcome = caller.join().unwrap();
    assert!(matches!(outcome, Ok(TrackOutcome::Queued { .. })), "{outcome:?}");
}

#[test]
fn a_start_that_fails_is_published_and_calls_are_refused() {
    let env = Env::new();
    // Another site's store in the directory.
    let mut other = env.config.clone();
    other.site_id = SITE + 1;
    drop(Sdk::builder(other).clock(env.clock.clone()).build().unwrap());
    let states = Arc::new(States::default());
    let sdk = Sdk::builder(env.config.clone()).clock(env.clock.clone()).listener(states.clone()).start().unwrap();
    assert!(matches!(sdk.wait_started(), Err(SdkError::StorageOfAnotherSite { .. })));
    assert_eq!(sdk.track_screen("home", vec![]), Err(TrackError::NotStarted));
    assert_eq!(sdk.set_consent(true), Err(ModeError::NotStarted));
    assert!(matches!(sdk.flush(), Err(SdkError::StorageOfAnotherSite { .. })));
    assert!(wait_until(Duration::from_secs(10), || !states.states.lock().unwrap().is_empty()));
    let published = states.states.lock().unwrap().clone();
    assert!(matches!(&published[0].run, RunState::Failed(SdkError::StorageOfAnotherSite { .. })), "{published:?}");
    sdk.shutdown().unwrap();
}

/// Racing the start (no gate): whether the change is queued or applied
/// directly, `stop` persists it before the directory is free again.
#[test]
fn a_change_made_right_before_stop_is_what_the_next_start_reads() {
    let env = Env::new();
    for round in 0..200 {
        let sdk = Sdk::builder(env.config.clone()).clock(env.clock.clone()).start().unwrap();
        let want = if round % 2 == 0 { VisitorMode::OptOut } else { VisitorMode::Exempt };
        sdk.set_opted_out(round % 2 == 0).unwrap();
        sdk.stop();
        sdk.shutdown().unwrap();
        drop(sdk);
        let again = Sdk::builder(env.config.clone()).clock(env.clock.clone()).build().unwrap();
        assert_eq!(again.mode(), want, "round {round}");
        again.shutdown().unwrap();
    }
}

/// A clock that shuts the SDK down from the start thread itself (as an
/// app's clock or HTTP client might, from inside the start).
struct ShutsDownFromTheStart {
    clock: Arc<mesure_core::testing::ManualClock>,
    sdk: std::sync::OnceLock<Arc<Sdk>>,
    fired: std::sync::atomic::AtomicBool,
}

impl Clock for ShutsDownFromTheStart {
    fn now_ms(&self) -> i64 {
        if std::thread::current().name() == Some("mesure-start") && !self.fired.swap(true, std::sync::atomic::Ordering::SeqCst) {
            // Wait until the test has handed the SDK over (bounded: the test fails if it never comes).
            if wait_until(Duration::from_secs(20), || self.sdk.get().is_some()) {
                if let Some(sdk) = self.sdk.get() {
                    let _ = sdk.shutdown();
                }
            }
        }
        self.clock.now_ms()
    }
    fn monotonic_ms(&self) -> u64 {
        self.clock.monotonic_ms()
    }
}

#[test]
fn a_shutdown_from_the_start_thread_stops_what_the_start_then_builds() {
    let env = Env::new();
    let clock = Arc::new(ShutsDownFromTheStart { clock: env.clock.clone(), sdk: Default::default(), fired: Default::default() });
    let sdk = Arc::new(Sdk::builder(env.config.clone()).clock(clock.clone()).start().unwrap());
    let _ = clock.sdk.set(sdk.clone());
    // The start goes on after the shutdown it called: what it built is
    // stopped and the directory freed, so a new SDK can take it.
    assert!(wait_until(Duration::from_secs(20), || Sdk::builder(env.config.clone()).clock(env.clock.clone()).build().is_ok()));
    assert_eq!(sdk.track_screen("late", vec![]), Err(TrackError::ShutDown));
}

/// A consent answered, or an event tracked, before the store opened is
/// dated when it was made, not when the start applied it: a consent given
/// before the start lapses six months after the answer (the Kotlin runner's
/// `purposes_lapse` vector failed under load when the start applied the
/// answer after the clock had moved).
#[test]
fn a_call_that_waited_for_the_start_is_dated_when_it_was_made() {
    let env = Env::new();
    let states = Arc::new(States::default());
    let (sdk, gate, _guard) = held_start(&env, states.clone());
    let t0 = env.clock.now_ms();
    sdk.set_consent(true).unwrap();
    assert_eq!(sdk.track_screen("home", vec![]), Ok(TrackOutcome::Waiting));
    // The start is slow: the answer is applied seven months later.
    env.clock.advance_ms(7 * 31 * 86_400_000);
    gate.open();
    sdk.wait_started().unwrap();
    sdk.await_applied().unwrap();
    let status = sdk.mode_status();
    assert_eq!((status.mode, status.consent_renewal_needed), (VisitorMode::Exempt, true), "the consent given at t0 has lapsed");
    let history = sdk.export_local_data().unwrap().mode_history;
    assert_eq!(history.first().map(|r| (r.mode.clone(), r.since_ms)), Some((VisitorMode::OptIn, t0)), "{history:?}");
    // A hit tracked before the start carries the time it was tracked (the
    // one above went with the lapse: an exempt hit, in a second SDK).
    let env2 = Env::new();
    let (sdk2, gate2, _guard2) = held_start(&env2, Arc::new(States::default()));
    let t1 = env2.clock.now_ms();
    assert_eq!(sdk2.track_screen("early", vec![]), Ok(TrackOutcome::Waiting));
    env2.clock.advance_ms(3_600_000);
    gate2.open();
    sdk2.wait_started().unwrap();
    sdk2.await_applied().unwrap();
    let queued = sdk2.export_local_data().unwrap().pending_hits;
    assert_eq!(queued.iter().map(|h| h.tracked_at_ms).collect::<Vec<_>>(), [t1], "tracked when the app tracked it");
}
