//! Upload against a real loopback collector: the wire format, batching, and
//! every outcome (2xx, 5xx, 429 with Retry-After, timeouts, resets, garbage,
//! 4xx, 400 isolation), plus the completion contract of platform clients.

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use mesure_core::*;
use mesure_test_collector::Reply;

#[test]
fn requests_follow_the_collection_format() {
    let env = Env::new();
    let sdk = env.sdk();
    sdk.track(Event::screen("home")).unwrap();
    sdk.flush().unwrap();
    let r = &env.collector.received()[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/event");
    assert_eq!(r.query.keys().collect::<Vec<_>>(), ["idclient", "s"]);
    assert_eq!(r.query["s"], "42");
    assert_eq!(r.headers["content-type"], "application/json");
    assert_eq!(r.headers["user-agent"], "Mesure", "no version, OS or device in the headers");
    let body = r.json();
    assert_eq!(body.as_object().unwrap().keys().collect::<Vec<_>>(), ["events"]);
    assert_eq!(body["events"][0].as_object().unwrap().keys().collect::<Vec<_>>(), ["data", "name"]);
}

#[test]
fn one_visitor_id_per_request_in_tracking_order() {
    let mut env = Env::new();
    env.config.send_hits_in_opt_out = true;
    let sdk = env.sdk();
    sdk.set_mode(VisitorMode::OptOut).unwrap();
    sdk.track(Event::screen("o1")).unwrap();
    sdk.track(Event::screen("o2")).unwrap();
    sdk.set_mode(VisitorMode::Exempt).unwrap();
    sdk.track(Event::screen("a1")).unwrap();
    sdk.track(Event::screen("a2")).unwrap();
    sdk.set_mode(VisitorMode::NoStorage).unwrap();
    sdk.track(Event::screen("n1")).unwrap();
    sdk.flush().unwrap();
    let reqs = env.requests();
    let shape: Vec<(String, usize)> = reqs.iter().map(|(id, e)| (id.clone(), e.len())).collect();
    assert_eq!(shape, [("opt-out".into(), 2), ("no-storage".into(), 1)], "exempt hits were purged by no-storage");
    let pages: Vec<_> = reqs.iter().flat_map(|(_, e)| e.iter().map(|x| x["data"]["page"].clone())).collect();
    assert_eq!(pages, [serde_json::json!(null), serde_json::json!(null), serde_json::json!("n1")]);
}

#[test]
fn requests_split_where_the_visitor_id_changes() {
    let mut env = Env::new();
    env.config.send_hits_in_opt_out = true;
    let sdk = env.sdk();
    sdk.set_mode(VisitorMode::OptIn).unwrap();
    sdk.track(Event::screen("a")).unwrap();
    sdk.set_mode(VisitorMode::NoConsent).unwrap(); // purges "a"
    sdk.track(Event::screen("b")).unwrap();
    sdk.set_mode(VisitorMode::OptOut).unwrap();
    sdk.track(Event::screen("c")).unwrap();
    sdk.set_mode(VisitorMode::NoConsent).unwrap();
    sdk.track(Event::screen("d")).unwrap();
    sdk.flush().unwrap();
    let ids: Vec<_> = env.requests().into_iter().map(|(id, e)| (id, e.len())).collect();
    assert_eq!(ids, [("Consent-NO".into(), 1), ("opt-out".into(), 1), ("Consent-NO".into(), 1)]);
}

#[test]
fn every_hit_has_a_unique_event_id() {
    let env = Env::new();
    let sdk = env.sdk();
    let mut returned = Vec::new();
    for i in 0..120 {
        match sdk.track(Event::screen(format!("p{i}"))).unwrap() {
            TrackOutcome::Queued { event_id } => returned.push(event_id),
            other => panic!("{other:?}"),
        }
    }
    sdk.flush().unwrap();
    let sent: Vec<String> = env.collector.acknowledged_events().iter().map(|e| e["data"]["event_id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(sent, returned);
    assert_eq!(sent.iter().collect::<HashSet<_>>().len(), 120);
    assert!(sent.iter().all(|id| is_uuid_v4(id)));
}

#[test]
fn a_2xx_deletes_the_batch() {
    let env = Env::new();
    env.collector.script([Reply::Status(204)]);
    let sdk = env.sdk();
    sdk.track(Event::screen("home")).unwrap();
    let report = sdk.flush().unwrap();
    assert_eq!((report.uploaded, report.pending, report.deferred), (1, 0, None));
    assert!(env.queued().is_empty());
    assert_eq!(sdk.stats().uploaded, 1);
}

fn assert_kept_then_delivered(reply: Reply, cause_contains: &str) {
    let mut env = Env::new();
    env.config.request_timeout_ms = 300;
    env.collector.script([reply.clone()]);
    let sdk = env.sdk();
    sdk.track(Event::screen("home")).unwrap();
    let first = sdk.flush().unwrap();
    assert_eq!((first.uploaded, first.pending), (0, 1), "{reply:?}");
    let cause = first.deferred.clone().unwrap();
    assert!(cause.contains(cause_contains), "{reply:?}: {cause}");
    assert!(first.retry_in_ms.unwrap() >= 1_000, "backoff after a failure");
    assert_eq!(env.queued().len(), 1, "kept on disk");
    assert_eq!(sdk.stats().upload_failures, 1);
    assert!(env.recorder.diagnostics().iter().any(|d| matches!(d, Diagnostic::UploadDeferred { hits: 1, .. })));

    let second = sdk.flush().unwrap();
    assert_eq!((second.uploaded, second.pending), (1, 0), "{reply:?}");
    let acked = env.collector.acknowledged_events();
    assert_eq!(acked.len(), 1);
    let all: Vec<_> = env.collector.received().iter().flat_map(|r| r.events()).map(|e| e["data"]["event_id"].clone()).collect();
    assert!(all.iter().all(|id| *id == acked[0]["data"]["event_id"]), "the retry resends the same event_id");
}

#[test]
fn server_errors_keep_the_batch() {
    assert_kept_then_delivered(Reply::Status(500), "HTTP 500");
    assert_kept_then_delivered(Reply::Status(503), "HTTP 503");
}

#[test]
fn timeouts_keep_the_batch() {
    assert_kept_then_delivered(Reply::Stall(Duration::from_millis(1500)), "Timeout");
}

#[test]
fn connection_resets_keep_the_batch() {
    assert_kept_then_delivered(Reply::Reset, "Network");
}

#[test]
fn garbage_responses_keep_the_batch() {
    assert_kept_then_delivered(Reply::Garbage, "Network");
}

#[test]
fn retry_after_is_honoured_even_by_flush() {
    for status in [429, 503] {
        let env = Env::new();
        env.collector.script([Reply::RetryAfter(status, "120".into())]);
        let sdk = env.sdk();
        sdk.track(Event::screen("home")).unwrap();
        let first = sdk.flush().unwrap();
        assert_eq!(first.deferred.as_deref(), Some(format!("HTTP {status}").as_str()));
        assert!(first.retry_in_ms.unwrap() >= 120_000);

        env.clock.advance_ms(119_000);
        let early = sdk.flush().unwrap();
        assert_eq!((early.uploaded, early.pending), (0, 1));
        assert_eq!(env.collector.received().len(), 1, "no request before Retry-After");

        env.clock.advance_ms(1_000);
        let late = sdk.flush().unwrap();
        assert_eq!((late.uploaded, late.pending), (1, 0));
        assert_eq!(env.collector.received().len(), 2);
    }
}

#[test]
fn what_an_intermediary_can_answer_keeps_the_batch() {
    // A captive portal, an authenticating proxy, a redirect: never a loss.
    for status in [301, 302, 307, 308, 401, 403, 404, 405, 407, 410, 418, 451] {
        let env = Env::new();
        env.collector.script([Reply::Status(status)]);
        let sdk = env.sdk();
        sdk.track(Event::screen("a")).unwrap();
        sdk.track(Event::screen("b")).unwrap();
        let first = sdk.flush().unwrap();
        assert_eq!((first.uploaded, first.rejected, first.pending), (0, 0, 2), "HTTP {status}");
        assert_eq!(first.deferred.as_deref(), Some(format!("HTTP {status}").as_str()));
        assert_eq!(env.collector.received().len(), 1, "HTTP {status}: not split, not followed");
        let second = sdk.flush().unwrap();
        assert_eq!((second.uploaded, second.pending), (2, 0), "HTTP {status}: delivered once the network lets it");
        assert_eq!(sdk.stats().rejected_by_collector, 0);
    }
}

#[test]
fn a_refused_content_drops_only_the_bad_hit() {
    for status in [400, 413, 422] {
        let env = Env::new();
        env.collector.policy(move |r| {
            let bad = r.events().iter().any(|e| e["data"]["page"] == "bad");
            Some(Reply::Status(if bad { status } else { 200 }))
        });
        let sdk = env.sdk();
        for p in ["a", "bad", "c"] {
            sdk.track(Event::screen(p)).unwrap();
        }
        let report = sdk.flush().unwrap();
        assert_eq!((report.uploaded, report.rejected, report.pending), (2, 1, 0), "HTTP {status}");
        assert_eq!(sdk.stats().rejected_by_collector, 1);
        assert!(env.recorder.diagnostics().contains(&Diagnostic::HitsRejected { status, count: 1 }));
    }
}

#[test]
fn a_400_on_a_batch_isolates_the_bad_hit() {
    let env = Env::new();
    env.collector.policy(|r| {
        let bad = r.events().iter().any(|e| e["data"]["page"] == "bad");
        Some(Reply::Status(if bad { 400 } else { 200 }))
    });
    let sdk = env.sdk();
    for p in ["p0", "p1", "p2", "p3", "bad", "p5", "p6", "p7"] {
        sdk.track(Event::screen(p)).unwrap();
    }
    let report = sdk.flush().unwrap();
    assert_eq!((report.uploaded, report.rejected, report.pending), (7, 1, 0));
    let pages: Vec<_> = env.collector.acknowledged_events().iter().map(|e| e["data"]["page"].as_str().unwrap().to_owned()).collect();
    assert_eq!(pages, ["p0", "p1", "p2", "p3", "p5", "p6", "p7"]);
    // 8 -> 4+4 -> (2+2) -> (1+1): 1 + 2 + 2 + 2 requests
    assert_eq!(env.collector.received().len(), 7);
    assert!(env.recorder.diagnostics().contains(&Diagnostic::HitsRejected { status: 400, count: 1 }));
}

#[test]
fn a_413_is_split_too() {
    let env = Env::new();
    env.collector.policy(|r| Some(Reply::Status(if r.events().len() > 2 { 413 } else { 200 })));
    let sdk = env.sdk();
    for i in 0..8 {
        sdk.track(Event::screen(format!("p{i}"))).unwrap();
    }
    let report = sdk.flush().unwrap();
    assert_eq!((report.uploaded, report.rejected), (8, 0));
}

#[test]
fn retries_run_in_the_background_with_growing_delays() {
    let dir = tempfile::tempdir().unwrap();
    let collector = mesure_test_collector::Collector::start().unwrap();
    collector.script([Reply::Status(503), Reply::Status(503), Reply::Status(503)]);
    let mut config = Config::new(collector.url(), SITE, dir.path());
    config.retry_base_ms = 100;
    config.retry_max_ms = 1_000;
    config.flush_interval_ms = 100;
    let sdk = Sdk::builder(config).build().unwrap(); // the system clock
    sdk.track(Event::screen("home")).unwrap();
    let first = sdk.flush().unwrap();
    assert_eq!(first.deferred.as_deref(), Some("HTTP 503"));
    // No further call: the uploader retries on its own until acknowledged.
    assert!(collector.wait_for_requests(4, Duration::from_secs(10)));
    assert!(wait_until(Duration::from_secs(5), || sdk.stats().uploaded == 1));
    let times: Vec<Instant> = collector.received().iter().map(|r| r.at).collect();
    assert_eq!(times.len(), 4);
    // Equal jitter keeps each delay in the upper half of 100, 200, 400 ms:
    // lower bounds only, which a slow machine cannot break.
    for (i, min_ms) in [50u64, 100, 200].into_iter().enumerate() {
        let gap = times[i + 1].duration_since(times[i]);
        assert!(gap >= Duration::from_millis(min_ms), "attempt {}: {gap:?} < {min_ms} ms", i + 2);
    }
    assert_eq!(collector.acknowledged_events().len(), 1);
    assert_eq!(sdk.stats().upload_failures, 3);
}

/// A platform client that answers as told.
struct ScriptedClient {
    behaviour: fn(HttpRequest, Completion),
    calls: Mutex<usize>,
}

impl HttpClient for ScriptedClient {
    fn send(&self, request: HttpRequest, completion: Completion) {
        *self.calls.lock().unwrap() += 1;
        (self.behaviour)(request, completion)
    }
}

fn with_client(behaviour: fn(HttpRequest, Completion)) -> (Env, Sdk, Arc<ScriptedClient>) {
    let mut env = Env::new();
    env.config.request_timeout_ms = 200;
    let client = Arc::new(ScriptedClient { behaviour, calls: Mutex::new(0) });
    let sdk = Sdk::builder(env.config.clone()).clock(env.clock.clone()).listener(env.recorder.clone()).http_client(client.clone()).build().unwrap();
    (env, sdk, client)
}

#[test]
fn a_client_that_never_answers_times_out_and_the_batch_is_kept() {
    static HELD: Mutex<Vec<Completion>> = Mutex::new(Vec::new());
    let (env, sdk, _client) = with_client(|_, c| HELD.lock().unwrap().push(c));
    sdk.track(Event::screen("home")).unwrap();
    let started = Instant::now();
    let report = sdk.flush().unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!((report.uploaded, report.pending), (0, 1));
    assert!(report.deferred.unwrap().contains("Timeout"));
    assert_eq!(env.queued().len(), 1);
    // A late answer is ignored, and harmless.
    let late = HELD.lock().unwrap().pop().unwrap();
    assert!(!late.complete(HttpOutcome::Response { status: 200, retry_after: None, body: Vec::new() }));
    assert_eq!(env.queued().len(), 1);
}

#[test]
fn a_client_that_drops_the_completion_fails_at_once() {
    let (env, sdk, _client) = with_client(|_, c| drop(c));
    sdk.track(Event::screen("home")).unwrap();
    let report = sdk.flush().unwrap();
    assert!(report.deferred.unwrap().contains("without answering"));
    assert_eq!(env.queued().len(), 1);
}

#[test]
fn a_panicking_client_is_a_failed_attempt() {
    let (env, sdk, _client) = with_client(|_, _| panic!("client bug"));
    sdk.track(Event::screen("home")).unwrap();
    let report = sdk.flush().unwrap();
    assert!(report.deferred.unwrap().contains("panicked"));
    assert_eq!(env.queued().len(), 1);
    sdk.track(Event::screen("again")).unwrap();
    assert_eq!(sdk.stats().accepted, 2);
}

#[test]
fn a_client_may_answer_from_another_thread() {
    let (env, sdk, client) = with_client(|req, c| {
        std::thread::spawn(move || {
            assert!(req.url.contains("/event?s=42&idclient="));
            let names: Vec<&str> = req.headers.iter().map(|(k, _)| k.as_str()).collect();
            assert_eq!(names, ["Content-Type", "User-Agent", "Mesure-Policy"]);
            assert_eq!(
                req.headers[..2],
                [("Content-Type".to_owned(), "application/json".to_owned()), ("User-Agent".to_owned(), "Mesure".to_owned())]
            );
            std::thread::sleep(Duration::from_millis(20));
            c.complete(HttpOutcome::Response { status: 200, retry_after: None, body: Vec::new() });
        });
    });
    sdk.track(Event::screen("home")).unwrap();
    assert_eq!(sdk.flush().unwrap().uploaded, 1);
    assert_eq!(*client.calls.lock().unwrap(), 1);
    assert!(env.queued().is_empty());
}

/// The defaults send a burst without waiting for the timer: the 50th new
/// hit wakes the uploader (issue 20: fewer radio wake-ups with a 2-minute
/// interval, and no burst held for it). The interval here is an hour, so
/// only the full batch can have sent them.
#[test]
fn a_full_default_batch_leaves_before_the_interval() {
    assert_eq!((DEFAULT_BATCH_SIZE, DEFAULT_FLUSH_INTERVAL_MS), (50, 120_000));
    let mut env = Env::new();
    env.config.batch_size = DEFAULT_BATCH_SIZE;
    let sdk = env.sdk();
    for i in 0..DEFAULT_BATCH_SIZE {
        sdk.track(Event::screen(format!("p{i}"))).unwrap();
    }
    assert!(env.collector.wait_for_requests(1, Duration::from_secs(30)), "the full batch was not sent before the interval");
    let received = env.collector.received();
    let pages: Vec<String> =
        received[0].json()["events"].as_array().unwrap().iter().map(|e| e["data"]["page"].as_str().unwrap().to_owned()).collect();
    assert_eq!(pages, (0..DEFAULT_BATCH_SIZE).map(|i| format!("p{i}")).collect::<Vec<_>>());
    assert!(wait_until(Duration::from_secs(10), || sdk.stats().uploaded == u64::from(DEFAULT_BATCH_SIZE)));
}
