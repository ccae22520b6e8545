//! The offline queue: exact rows on disk, bounds, persistence across restarts
//! and shutdown, and recovery from broken storage.

mod common;

use std::time::Duration;

use common::*;
use mesure_core::*;

#[test]
fn rows_on_disk_are_the_filtered_hits() {
    let env = Env::new();
    let sdk = env.sdk();
    sdk.track(Event::screen("home").with("user_id", "u-1")).unwrap();
    sdk.track(Event::click(ClickKind::Navigation, "menu").with("Click_Chapter1", "header")).unwrap();
    sdk.export_local_data().unwrap();
    let rows = env.queued();
    let id = env.stored_visitor().unwrap().0;
    assert_eq!(rows.len(), 2);
    let (v, m, name, mut data) = rows[0].clone();
    assert_eq!((v.as_str(), m.as_str(), name.as_str()), (id.as_str(), "exempt", "page.display"));
    take_event_id(&mut data);
    assert_eq!(data, expected_exempt_page(t0(), "home"));
    let (_, _, name, data) = rows[1].clone();
    assert_eq!(name, "click.navigation");
    assert_eq!(data["click"], "menu");
    assert_eq!(data["click_chapter1"], "header", "keys are lower-cased");
}

#[test]
fn the_count_bound_drops_the_oldest_and_counts_them() {
    let mut env = Env::new();
    env.config.queue_max_hits = 100;
    let sdk = env.sdk();
    for i in 0..150 {
        sdk.track(Event::screen(format!("p{i}"))).unwrap();
    }
    sdk.export_local_data().unwrap();
    let rows = env.queued();
    assert_eq!(rows.len(), 100);
    assert_eq!(rows[0].3["page"], "p50");
    assert_eq!(rows[99].3["page"], "p149");
    assert_eq!(sdk.stats().trimmed_max_hits, 50);
    let trimmed: u64 = env
        .recorder
        .diagnostics()
        .iter()
        .filter_map(|d| match d {
            Diagnostic::QueueTrimmed { cause: TrimCause::MaxHits, dropped } => Some(*dropped),
            _ => None,
        })
        .sum();
    assert_eq!(trimmed, 50);
}

#[test]
fn the_age_bound_drops_old_hits_and_never_sends_them() {
    let mut env = Env::new();
    env.config.queue_max_age_days = 1;
    let sdk = env.sdk();
    sdk.track(Event::screen("old")).unwrap();
    sdk.export_local_data().unwrap();
    env.clock.advance_ms(2 * 86_400_000);
    // At send time the old hit is past the bound: dropped, not sent.
    let report = sdk.flush().unwrap();
    assert_eq!((report.uploaded, report.expired, report.pending), (0, 1, 0));
    assert!(env.collector.received().is_empty());
    // And the writer trims by age as it commits.
    sdk.track(Event::screen("a")).unwrap();
    env.clock.advance_ms(2 * 86_400_000);
    sdk.track(Event::screen("b")).unwrap();
    sdk.export_local_data().unwrap();
    let rows = env.queued();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].3["page"], "b");
    assert_eq!(sdk.stats().trimmed_max_age, 2);
}

#[test]
fn shutdown_persists_everything_accepted_and_a_restart_sends_it_in_order() {
    let mut env = Env::new();
    env.config.batch_size = 50;
    // The collector is down: the full batches the writer announces stay queued.
    env.collector.policy(|_| Some(mesure_test_collector::Reply::Status(503)));
    let sdk = env.sdk();
    for i in 0..1000 {
        sdk.track(Event::screen(format!("p{i}"))).unwrap();
    }
    sdk.shutdown().unwrap();
    assert_eq!(env.queued().len(), 1000);
    assert_eq!(sdk.stats().persisted, 1000);
    assert_eq!(sdk.track(Event::screen("late")), Err(TrackError::ShutDown));
    assert!(matches!(sdk.flush(), Err(SdkError::ShutDown)));

    env.collector.policy(|_| None);
    env.collector.clear();
    let sdk = env.sdk();
    let report = sdk.flush().unwrap();
    assert_eq!((report.uploaded, report.pending), (1000, 0));
    let reqs = env.requests();
    assert_eq!(reqs.len(), 20, "batches of 50");
    let pages: Vec<String> = env.collector.acknowledged_events().iter().map(|x| x["data"]["page"].as_str().unwrap().to_owned()).collect();
    let expected: Vec<String> = (0..1000).map(|i| format!("p{i}")).collect();
    assert_eq!(pages, expected);
    assert!(env.queued().is_empty());
}

#[test]
fn bad_events_get_typed_errors_and_bad_properties_are_reported() {
    let env = Env::new();
    let sdk = env.sdk();
    assert!(matches!(sdk.track(Event::new("")), Err(TrackError::InvalidEventName { .. })));
    assert!(matches!(sdk.track(Event::new("Page.Display")), Err(TrackError::InvalidEventName { .. })));
    let mut many = Event::screen("x");
    for i in 0..100 {
        many = many.with(format!("k{i}"), i);
    }
    assert_eq!(sdk.track(many), Err(TrackError::TooManyProperties { count: 101, max: 100 }));
    assert_eq!(
        sdk.track(Event::screen("x").with("Page_Chapter1", "a").with("page_chapter1", "b")),
        Err(TrackError::DuplicateProperty { name: "page_chapter1".into() })
    );
    sdk.track(
        Event::screen("x")
            .with("page_load_time", f64::INFINITY)
            .with("m_secret", 1)
            .with("event_id", "forged")
            .with("page_chapter1", "é".repeat(1500)),
    )
    .unwrap();
    sdk.flush().unwrap();
    let data = &env.requests()[0].1[0]["data"];
    assert_eq!(data["page_chapter1"].as_str().unwrap().chars().count(), 1000);
    assert!(data.get("page_load_time").is_none());
    assert_ne!(data["event_id"], "forged");
    let dropped = env.recorder.dropped();
    let codes: Vec<(Option<String>, &str)> = dropped.iter().map(|d| (d.2.clone(), d.3)).collect();
    assert_eq!(
        codes,
        vec![
            (Some("event_id".into()), "reserved"),
            (Some("m_secret".into()), "invalid_name"),
            (Some("page_chapter1".into()), "truncated"),
            (Some("page_load_time".into()), "non_finite_number"),
        ],
        "in key order"
    );
}

#[test]
fn a_corrupt_database_is_recreated_and_reported() {
    let env = Env::new();
    std::fs::write(env.db_path(), b"this is not a database, it is a very broken file.....").unwrap();
    let sdk = env.sdk();
    sdk.track(Event::screen("home")).unwrap();
    let report = sdk.flush().unwrap();
    assert_eq!(report.uploaded, 1);
    assert!(env.recorder.diagnostics().iter().any(|d| matches!(d, Diagnostic::StorageRecovered { .. })));
}

#[test]
fn a_database_from_a_newer_sdk_is_left_untouched() {
    let env = Env::new();
    {
        let db = env.db();
        db.execute_batch("CREATE TABLE future (x); PRAGMA user_version = 99;").unwrap();
    }
    let sdk = env.sdk();
    assert!(matches!(sdk.track(Event::screen("home")).unwrap(), TrackOutcome::Queued { .. }));
    let report = sdk.flush().unwrap();
    assert!(matches!(report.storage_error, Some(StoreError::NewerSchema { .. })), "{report:?}");
    assert_eq!(report.uploaded, 0);
    let v: i64 = env.db().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(v, 99);
    assert!(env.recorder.diagnostics().iter().any(|d| matches!(d, Diagnostic::StorageError { message } if message.contains("newer"))));
    // The SDK keeps answering.
    sdk.set_mode(VisitorMode::OptOut).unwrap();
    assert_eq!(sdk.mode(), VisitorMode::OptOut);
}

#[test]
fn an_unusable_storage_directory_keeps_the_sdk_alive() {
    let mut env = Env::new();
    let file = env.dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    env.config.storage_dir = file.join("sub");
    let sdk = env.sdk();
    assert!(matches!(sdk.track(Event::screen("home")).unwrap(), TrackOutcome::Queued { .. }));
    let report = sdk.flush().unwrap();
    assert!(report.storage_error.is_some());
    assert!(env.recorder.diagnostics().iter().any(|d| matches!(d, Diagnostic::StorageError { .. })));
    // The hit waits in memory and is exported from there.
    assert!(sdk.export_local_data().is_err());
    assert_eq!(sdk.stats().persisted, 0);
    // Once the directory is usable the hit is written and sent.
    std::fs::remove_file(&file).unwrap();
    assert!(wait_until(Duration::from_secs(5), || sdk.stats().persisted == 1));
    assert_eq!(sdk.flush().unwrap().uploaded, 1);
}

#[test]
fn invalid_configurations_are_refused_with_the_field_named() {
    let mut env = Env::new();
    env.config.exempt_allowlist.push(AllowedProperty { property: "user_id".into(), events: "*".into(), justification: "we need to know who".into() });
    match env.try_sdk() {
        Err(SdkError::Config(e)) => {
            assert_eq!(e.field, "exempt_allowlist[0].property");
            assert_eq!(e.kind, ConfigErrorKind::IdentifyingProperty);
        }
        other => panic!("{:?}", other.map(|_| ())),
    }
}

#[test]
fn a_screen_name_wins_over_a_page_property() {
    let env = Env::new();
    let sdk = env.sdk();
    let out = sdk.track_screen("home", vec![("Page".into(), Value::from("other")), ("page_chapter1".into(), Value::from("news"))]);
    assert!(matches!(out, Ok(TrackOutcome::Queued { .. })), "not a DuplicateProperty: {out:?}");
    sdk.flush().unwrap();
    let sent = &env.requests()[0].1[0]["data"];
    assert_eq!((sent["page"].as_str(), sent["page_chapter1"].as_str()), (Some("home"), Some("news")));
    assert_eq!(env.recorder.dropped(), vec![("exempt".into(), "page.display".into(), Some("Page".into()), "replaced_by_screen_name")]);
}
