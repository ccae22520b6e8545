//! What the app can see of what the SDK does: every upload request is
//! reported with the keys each hit carried (`Diagnostic::Sent`), every
//! refused event is reported (`Diagnostic::TrackRefused`), a value of a type
//! the SDK cannot send is dropped and reported, and a dry run builds,
//! filters and reports hits without sending anything.

mod common;

use common::*;
use mesure_core::*;
use serde_json::Value as Json;

fn sent(env: &Env) -> Vec<(String, Vec<SentHit>, Option<u16>, bool)> {
    env.recorder
        .diagnostics()
        .into_iter()
        .filter_map(|d| match d {
            Diagnostic::Sent { idclient, hits, status, dry_run } => Some((idclient, hits, status, dry_run)),
            _ => None,
        })
        .collect()
}

fn refused(env: &Env) -> Vec<(String, &'static str)> {
    env.recorder
        .diagnostics()
        .into_iter()
        .filter_map(|d| match d {
            Diagnostic::TrackRefused { event, error } => Some((event, error.code())),
            _ => None,
        })
        .collect()
}

fn keys(data: &Json) -> Vec<String> {
    let mut k: Vec<String> = data.as_object().expect("data is an object").keys().cloned().collect();
    k.sort();
    k
}

#[test]
fn each_request_is_reported_with_the_keys_that_left() {
    let env = Env::new();
    let sdk = env.sdk();
    let first = sdk.track(Event::screen("home").with("page_chapter1", "news").with("user_id", "u-42")).unwrap();
    let second = sdk.track(Event::click(ClickKind::Action, "buy")).unwrap();
    let report = sdk.flush().unwrap();
    assert_eq!(report.uploaded, 2);

    let requests = env.requests();
    assert_eq!(requests.len(), 1);
    let (idclient, events) = &requests[0];
    let reported = sent(&env);
    assert_eq!(reported.len(), 1, "one Sent per request: {reported:?}");
    let (id, hits, status, dry_run) = &reported[0];
    assert_eq!(id, idclient);
    assert_eq!(*status, Some(200));
    assert!(!dry_run);
    let ids: Vec<&str> = hits.iter().map(|h| h.event_id.as_str()).collect();
    let want: Vec<String> = [first, second]
        .into_iter()
        .map(|o| match o {
            TrackOutcome::Queued { event_id } => event_id,
            other => panic!("queued, not {other:?}"),
        })
        .collect();
    assert_eq!(ids, want.iter().map(String::as_str).collect::<Vec<_>>());
    // Exactly the keys the collector received, hit by hit, and no value.
    for (hit, wire) in hits.iter().zip(events) {
        assert_eq!(hit.event, wire["name"].as_str().unwrap());
        assert_eq!(hit.keys, keys(&wire["data"]));
    }
    assert_eq!(hits[0].event, "page.display");
    assert!(hits[0].keys.contains(&"page_chapter1".to_owned()));
    assert!(!hits[0].keys.contains(&"user_id".to_owned()), "held back in exempt, so not reported as sent");
}

#[test]
fn a_failed_request_is_reported_without_a_status() {
    let mut env = Env::new();
    env.config.collect_endpoint = "http://127.0.0.1:9".into(); // discard: nothing listens
    let sdk = env.sdk();
    sdk.track(Event::screen("home")).unwrap();
    let report = sdk.flush().unwrap();
    assert_eq!(report.uploaded, 0);
    assert_eq!(report.pending, 1);
    let reported = sent(&env);
    assert_eq!(reported.len(), 1);
    assert_eq!(reported[0].2, None, "no answer came");
    assert_eq!(reported[0].1.len(), 1);
}

#[test]
fn a_dry_run_builds_filters_and_reports_but_sends_nothing() {
    let mut env = Env::new();
    env.config.dry_run = true;
    let sdk = env.sdk();
    sdk.track(Event::screen("home").with("user_id", "u-42")).unwrap();
    sdk.track(Event::screen("basket")).unwrap();
    let report = sdk.flush().unwrap();
    assert_eq!((report.uploaded, report.pending), (2, 0));
    assert!(env.collector.received().is_empty(), "nothing left the device");
    assert!(env.queued().is_empty(), "the queue is emptied as if acknowledged");
    let reported = sent(&env);
    assert_eq!(reported.len(), 1);
    let (idclient, hits, status, dry_run) = &reported[0];
    assert!(dry_run);
    assert_eq!(*status, None);
    assert_eq!(idclient, &env.stored_visitor().expect("exempt keeps its id").0);
    assert_eq!(hits.len(), 2);
    assert!(!hits[0].keys.contains(&"user_id".to_owned()), "filtered as for real");
    assert!(env.recorder.dropped().contains(&("exempt".into(), "page.display".into(), Some("user_id".into()), "not_allowed_in_mode")));
}

#[test]
fn refused_events_are_reported_to_the_listener() {
    let env = Env::new();
    let sdk = env.sdk();
    assert!(matches!(sdk.track(Event::new("Add to cart!")), Err(TrackError::InvalidEventName { .. })));
    assert_eq!(sdk.track_screen("", vec![]), Err(TrackError::EmptyName { property: "page" }));
    assert_eq!(sdk.track_screen(" \t", vec![]), Err(TrackError::EmptyName { property: "page" }));
    assert_eq!(sdk.track_click(ClickKind::Exit, "", vec![]), Err(TrackError::EmptyName { property: "click" }));
    let many: Vec<(String, Value)> = (0..101).map(|i| (format!("p{i}"), Value::Int(i))).collect();
    assert!(matches!(sdk.track(Event { name: "search".into(), properties: many }), Err(TrackError::TooManyProperties { .. })));
    let twice = Event::new("search").with("q", "a").with("Q", "b");
    assert_eq!(sdk.track(twice), Err(TrackError::DuplicateProperty { name: "q".into() }));
    // A click name given twice (as the name and as a property) is a key given twice.
    assert!(matches!(sdk.track_click(ClickKind::Action, "buy", vec![("click".into(), "other".into())]), Err(TrackError::DuplicateProperty { .. })));
    sdk.flush().unwrap(); // the listener has been told of everything before it
    assert_eq!(
        refused(&env),
        vec![
            ("Add to cart!".to_owned(), "invalid_event_name"),
            ("page.display".to_owned(), "empty_name"),
            ("page.display".to_owned(), "empty_name"),
            ("click.exit".to_owned(), "empty_name"),
            ("search".to_owned(), "too_many_properties"),
            ("search".to_owned(), "duplicate_property"),
            ("click.action".to_owned(), "duplicate_property"),
        ]
    );
    assert!(env.queued().is_empty());
    assert_eq!(sdk.stats().accepted, 0);
}

#[test]
fn a_refused_event_name_is_cut_in_the_report() {
    let env = Env::new();
    let sdk = env.sdk();
    let long = "X".repeat(10_000);
    assert!(sdk.track(Event::new(long)).is_err());
    sdk.flush().unwrap();
    let r = refused(&env);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].0.chars().count(), 100);
}

#[test]
fn a_value_of_an_unsupported_type_is_dropped_and_reported() {
    let env = Env::new();
    let sdk = env.sdk();
    sdk.set_mode(VisitorMode::OptIn).unwrap();
    let outcome = sdk.track(Event::new("share").with("link", Value::Unsupported("java.net.URI".into())).with("target", "mail")).unwrap();
    assert!(matches!(outcome, TrackOutcome::Queued { .. }));
    sdk.flush().unwrap();
    let requests = env.requests();
    let data = &requests[0].1[0]["data"];
    assert_eq!(data["target"], "mail");
    assert!(data.get("link").is_none());
    let reasons: Vec<DropReason> = env
        .recorder
        .diagnostics()
        .into_iter()
        .filter_map(|d| match d {
            Diagnostic::Dropped { dropped, .. } if dropped.property.as_deref() == Some("link") => Some(dropped.reason),
            _ => None,
        })
        .collect();
    assert_eq!(reasons, vec![DropReason::UnsupportedValue("java.net.URI".into())]);
    assert_eq!(reasons[0].code(), "unsupported_value");
    assert!(reasons[0].explain().contains("java.net.URI"));
}
