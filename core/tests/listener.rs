//! The listener is called from one thread of the SDK's own, in order, and
//! may call back into the SDK, whatever it calls: `flush`,
//! `delete_local_data`, `shutdown`, or dropping the last handle. An HTTP
//! client the SDK is calling gets a typed error for what would wait on
//! itself, and may shut the SDK down too. Each scenario runs on a helper
//! thread the test waits for with a deadline, so a hang fails instead of
//! hanging the suite.

mod common;

use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use common::*;
use mesure_core::*;
use mesure_test_collector::Reply;

/// Runs `f` on a helper thread; fails if it does not end within `within`.
fn ends_within<T: Send + 'static>(within: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(within).unwrap_or_else(|_| panic!("did not end within {within:?}: the SDK waits for itself"))
}

/// What [`CallsBack`] does on a mode change.
type OnChange = Box<dyn Fn(&Arc<Sdk>) + Send + Sync>;

/// A listener that runs `on_change` on every mode change, with the SDK.
struct CallsBack {
    sdk: OnceLock<Arc<Sdk>>,
    on_change: OnChange,
    done: Mutex<Vec<String>>,
}

impl Listener for CallsBack {
    fn on_mode_changed(&self, _change: &ModeChange) {
        if let Some(sdk) = self.sdk.get() {
            (self.on_change)(sdk);
            self.done.lock().unwrap().push("returned".into());
        }
    }
}

fn with_callback(env: &Env, on_change: impl Fn(&Arc<Sdk>) + Send + Sync + 'static) -> (Arc<Sdk>, Arc<CallsBack>) {
    let listener = Arc::new(CallsBack { sdk: OnceLock::new(), on_change: Box::new(on_change), done: Mutex::new(Vec::new()) });
    let sdk = Arc::new(Sdk::builder(env.config.clone()).clock(env.clock.clone()).listener(listener.clone()).build().unwrap());
    let _ = listener.sdk.set(sdk.clone());
    (sdk, listener)
}

#[test]
fn shutdown_from_a_mode_change_callback_returns() {
    let env = Env::new();
    let (sdk, listener) = with_callback(&env, |sdk| sdk.shutdown().unwrap());
    let app = sdk.clone();
    ends_within(Duration::from_secs(20), move || {
        app.set_mode(VisitorMode::OptOut).unwrap();
        // The app's own flush does not hang either: the SDK is, or is being, shut down.
        let _ = app.flush();
    });
    assert!(wait_until(Duration::from_secs(20), || listener.done.lock().unwrap().len() == 1), "the callback returned");
    assert_eq!(sdk.track(Event::screen("home")), Err(TrackError::ShutDown));
}

#[test]
fn flush_and_delete_from_a_callback_answer_at_once() {
    let env = Env::new();
    let answers = Arc::new(Mutex::new(Vec::new()));
    let seen = answers.clone();
    let (sdk, listener) = with_callback(&env, move |sdk| {
        let flushed = sdk.flush().map(|r| r.uploaded);
        let deleted = sdk.delete_local_data();
        seen.lock().unwrap().push((flushed, deleted));
    });
    sdk.track(Event::screen("home")).unwrap();
    let app = sdk.clone();
    let took = ends_within(Duration::from_secs(20), move || {
        let started = std::time::Instant::now();
        app.set_mode(VisitorMode::OptIn).unwrap();
        app.flush().unwrap();
        started.elapsed()
    });
    assert!(wait_until(Duration::from_secs(20), || !listener.done.lock().unwrap().is_empty()));
    let answers = answers.lock().unwrap().clone();
    assert_eq!(answers[0].0, Ok(1), "the callback's flush uploaded the hit");
    assert!(answers[0].1.is_ok(), "{answers:?}");
    assert!(took < Duration::from_secs(20), "no 30-second timeout: {took:?}");
}

#[test]
fn the_last_handle_dropped_in_a_callback_detaches_its_thread() {
    let env = Env::new();
    let slot: Arc<Mutex<Option<Arc<Sdk>>>> = Arc::new(Mutex::new(None));
    let (go_tx, go_rx) = mpsc::sync_channel::<()>(1);
    let go_rx = Mutex::new(go_rx);
    let held = slot.clone();
    let dropped = Arc::new(Mutex::new(false));
    let flag = dropped.clone();
    struct DropsLast<F: Fn() + Send + Sync + 'static>(F);
    impl<F: Fn() + Send + Sync + 'static> Listener for DropsLast<F> {
        fn on_mode_changed(&self, _c: &ModeChange) {
            (self.0)()
        }
    }
    let listener = Arc::new(DropsLast(move || {
        // Wait until the app has let go, then drop the last handle here.
        let _ = go_rx.lock().unwrap().recv_timeout(Duration::from_secs(20));
        let last = held.lock().unwrap().take();
        drop(last);
        *flag.lock().unwrap() = true;
    }));
    let sdk = Arc::new(Sdk::builder(env.config.clone()).clock(env.clock.clone()).listener(listener).build().unwrap());
    *slot.lock().unwrap() = Some(sdk.clone());
    sdk.set_mode(VisitorMode::OptOut).unwrap();
    drop(sdk);
    go_tx.send(()).unwrap();
    assert!(wait_until(Duration::from_secs(20), || *dropped.lock().unwrap()), "Drop on the listener's thread returned");
    // And the directory is free again once the SDK's threads have ended.
    assert!(wait_until(Duration::from_secs(20), || env.try_sdk().is_ok()), "the lock was released");
}

/// An HTTP client that calls back into the SDK from `send` (the uploader's thread).
struct ReentrantClient {
    sdk: OnceLock<Arc<Sdk>>,
    flush: Mutex<Option<Result<FlushReport, SdkError>>>,
    shutdown: bool,
}

impl HttpClient for ReentrantClient {
    fn send(&self, _request: HttpRequest, completion: Completion) {
        if let Some(sdk) = self.sdk.get() {
            *self.flush.lock().unwrap() = Some(sdk.flush());
            if self.shutdown {
                let _ = sdk.shutdown();
            }
        }
        completion.complete(HttpOutcome::Response { status: 200, retry_after: None, body: Vec::new() });
    }
}

#[test]
fn an_http_client_calling_flush_gets_a_typed_error() {
    let env = Env::new();
    let client = Arc::new(ReentrantClient { sdk: OnceLock::new(), flush: Mutex::new(None), shutdown: false });
    let sdk = Arc::new(Sdk::builder(env.config.clone()).clock(env.clock.clone()).http_client(client.clone()).build().unwrap());
    let _ = client.sdk.set(sdk.clone());
    sdk.track(Event::screen("home")).unwrap();
    let app = sdk.clone();
    let report = ends_within(Duration::from_secs(20), move || app.flush().unwrap());
    assert_eq!(report.uploaded, 1);
    assert_eq!(*client.flush.lock().unwrap(), Some(Err(SdkError::CalledFromSdkThread { operation: "flush" })));
}

#[test]
fn an_http_client_may_shut_the_sdk_down() {
    let env = Env::new();
    let client = Arc::new(ReentrantClient { sdk: OnceLock::new(), flush: Mutex::new(None), shutdown: true });
    let sdk = Arc::new(Sdk::builder(env.config.clone()).clock(env.clock.clone()).http_client(client.clone()).build().unwrap());
    let _ = client.sdk.set(sdk.clone());
    sdk.track(Event::screen("home")).unwrap();
    let app = sdk.clone();
    ends_within(Duration::from_secs(20), move || {
        let _ = app.flush();
    });
    assert_eq!(sdk.track(Event::screen("again")), Err(TrackError::ShutDown));
}

/// Records on which thread and in which order the callbacks came.
#[derive(Default)]
struct Threads {
    seen: Mutex<Vec<(String, String)>>,
}

impl Listener for Threads {
    fn on_mode_changed(&self, c: &ModeChange) {
        let t = std::thread::current().name().unwrap_or("?").to_owned();
        self.seen.lock().unwrap().push((t, format!("mode {} epoch {}", c.current, c.epoch)));
    }
    fn on_diagnostic(&self, d: &Diagnostic) {
        let t = std::thread::current().name().unwrap_or("?").to_owned();
        let what = match d {
            Diagnostic::UploadDeferred { .. } => "upload deferred".to_owned(),
            Diagnostic::HitsRejected { .. } => "hits rejected".to_owned(),
            Diagnostic::Dropped { .. } => "dropped".to_owned(),
            Diagnostic::Sent { hits, status, .. } => format!("sent {} hit(s), status {status:?}", hits.len()),
            other => format!("{other:?}"),
        };
        self.seen.lock().unwrap().push((t, what));
    }
}

#[test]
fn one_thread_calls_the_listener_in_order() {
    let env = Env::new();
    env.collector.script([Reply::Status(503)]);
    let threads = Arc::new(Threads::default());
    let sdk = Sdk::builder(env.config.clone()).clock(env.clock.clone()).listener(threads.clone()).build().unwrap();
    sdk.track(Event::screen("home").with("user_id", "x")).unwrap();
    sdk.set_mode(VisitorMode::OptIn).unwrap();
    sdk.set_mode(VisitorMode::Exempt).unwrap();
    assert_eq!(sdk.flush().unwrap().deferred.as_deref(), Some("HTTP 503"));
    env.collector.script([Reply::Status(403)]);
    sdk.set_mode(VisitorMode::OptOut).unwrap();
    sdk.flush().unwrap();
    let seen = threads.seen.lock().unwrap().clone();
    assert!(seen.iter().all(|(t, _)| t == "mesure-listener"), "{seen:?}");
    let what: Vec<&str> = seen.iter().map(|(_, w)| w.as_str()).collect();
    assert_eq!(
        what,
        ["dropped", "mode optin epoch 1", "mode exempt epoch 2", "sent 1 hit(s), status Some(503)", "upload deferred", "mode optout epoch 3"],
        "the uploader's reports come from the same thread, in order"
    );
    assert_eq!(sdk.mode_status().epoch, 3);
}

#[test]
fn a_listener_that_panics_does_not_stop_the_others() {
    struct Panics;
    impl Listener for Panics {
        fn on_mode_changed(&self, _c: &ModeChange) {
            panic!("listener bug");
        }
    }
    let env = Env::new();
    let sdk = Sdk::builder(env.config.clone()).clock(env.clock.clone()).listener(Arc::new(Panics)).build().unwrap();
    sdk.set_mode(VisitorMode::OptIn).unwrap();
    sdk.set_mode(VisitorMode::Exempt).unwrap();
    sdk.track(Event::screen("home")).unwrap();
    assert_eq!(sdk.flush().unwrap().uploaded, 1);
}
