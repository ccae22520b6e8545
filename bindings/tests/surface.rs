//! The FFI surface as Kotlin and Swift meet it: signed numbers checked into
//! the core's ranges with the field named, tracking that never throws, and
//! errors and modes that print as sentences and wire names.

use std::collections::HashMap;

use mesure_ffi::*;

fn config(dir: &tempfile::TempDir) -> MesureConfig {
    MesureConfig {
        collect_endpoint: "http://127.0.0.1:9".into(),
        site_id: 615_000,
        storage_dir: dir.path().display().to_string(),
        default_mode: None,
        exempt_allowlist: vec![],
        forbidden_properties: vec![],
        forbidden_events: vec![],
        anonymous_events: None,
        custom_modes: vec![],
        purposes: vec![],
        send_hits_in_opt_out: None,
        consent_lifetime_months: None,
        queue_max_hits: None,
        queue_max_age_days: None,
        batch_size: None,
        flush_interval_ms: Some(3_600_000),
        request_timeout_ms: None,
        retry_base_ms: None,
        retry_max_ms: None,
        context: None,
        dry_run: true,
        strict: false,
        legacy_storage_dir: None,
        collector: None,
        consent: None,
    }
}

fn field_of(e: MesureError) -> String {
    match e {
        MesureError::InvalidConfig { field, .. } => field,
        other => panic!("InvalidConfig, not {other:?}"),
    }
}

/// One change to a valid configuration.
type Edit = Box<dyn Fn(&mut MesureConfig)>;

#[test]
fn numbers_out_of_the_core_range_name_their_field() {
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, Edit)> = vec![
        ("site_id", Box::new(|c| c.site_id = -1)),
        ("site_id", Box::new(|c| c.site_id = 5_000_000_000)),
        ("site_id", Box::new(|c| c.site_id = 0)),
        ("batch_size", Box::new(|c| c.batch_size = Some(-1))),
        ("queue_max_hits", Box::new(|c| c.queue_max_hits = Some(-5))),
        ("consent_lifetime_months", Box::new(|c| c.consent_lifetime_months = Some(-6))),
        ("flush_interval_ms", Box::new(|c| c.flush_interval_ms = Some(-1))),
        ("retry_max_ms", Box::new(|c| c.retry_max_ms = Some(i64::MIN))),
        ("context.device_screen_width", Box::new(|c| c.context = Some(DeviceContext { device_screen_width: Some(-1), ..Default::default() }))),
    ];
    for (field, set) in cases {
        let mut c = config(&dir);
        set(&mut c);
        assert_eq!(field_of(validate_config(c.clone()).unwrap_err()), field);
        assert_eq!(field_of(MesureCore::new(c, None, None, None).err().expect("refused")), field);
    }
    assert_eq!(validate_config(config(&dir)), Ok(()));
    // validate_config starts nothing: the directory stays empty.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn tracking_never_throws() {
    let dir = tempfile::tempdir().unwrap();
    let sdk = MesureCore::new(config(&dir), None, None, None).unwrap();
    let refused = |o: TrackOutcome| match o {
        TrackOutcome::Refused { reason, message } => (reason, message),
        other => panic!("refused, not {other:?}"),
    };
    let (reason, message) = refused(sdk.track("Add to cart!".into(), HashMap::new()));
    assert_eq!(reason, "invalid_event_name");
    assert_eq!(message, r#"invalid event name "Add to cart!": must start with a lower-case letter"#);
    assert_eq!(refused(sdk.track_screen("".into(), HashMap::new())).0, "empty_name");
    assert_eq!(refused(sdk.track_click(ClickKind::Action, " ".into(), HashMap::new())).0, "empty_name");
    let many: HashMap<String, PropertyValue> = (0..501).map(|i| (format!("p{i}"), PropertyValue::Integer { value: i })).collect();
    assert_eq!(refused(sdk.track("search".into(), many)).0, "too_many_properties");

    let props = HashMap::from([
        ("link".to_owned(), PropertyValue::Unsupported { type_name: "java.net.URI".into() }),
        ("ratio".to_owned(), PropertyValue::Decimal { value: f64::NAN }),
    ]);
    // The refusals above answered at once, started or not; a valid event
    // is queued once the store is open (before, it waits: `Waiting`).
    sdk.wait_started().unwrap();
    assert!(matches!(sdk.track_screen("home".into(), props), TrackOutcome::Queued { .. }));

    sdk.shutdown().unwrap();
    sdk.shutdown().unwrap();
    assert_eq!(refused(sdk.track_screen("home".into(), HashMap::new())).0, "shut_down");
    assert_eq!(sdk.flush(), Err(MesureError::ShutDown));
}

#[test]
fn errors_and_modes_print_as_sentences_and_wire_names() {
    assert_eq!(MesureError::ShutDown.to_string(), "the SDK is shut down");
    assert_eq!(
        MesureError::InvalidConfig { field: "site_id".into(), reason: "-1 is out of range".into() }.to_string(),
        "invalid configuration: site_id: -1 is out of range"
    );
    assert_eq!(VisitorMode::Exempt.to_string(), "exempt");
    assert_eq!(VisitorMode::OptIn.to_string(), "optin");
    assert_eq!(VisitorMode::Custom { name: "members".into() }.to_string(), "members");
    assert_eq!(PurposeMode::NotAcquired.to_string(), "not-acquired");
}

#[test]
fn the_one_buffer_call_answers_as_the_map_call_and_keeps_each_refusal_once() {
    use mesure_core::{encode_call, ClickKind as Kind, EncodedKind, Value};
    let dir = tempfile::tempdir().unwrap();
    let sdk = MesureCore::new(config(&dir), None, None, None).unwrap();
    let key = sdk.call_key();
    let refusal = |code: i64| {
        assert!(code < 0 && code != i64::MIN, "a refusal's ticket, not {code}");
        let outcome = sdk.take_refusal(-code);
        assert_eq!(sdk.take_refusal(-code), None, "taken once");
        match outcome {
            Some(TrackOutcome::Refused { reason, message }) => (reason, message),
            other => panic!("a kept refusal, not {other:?}"),
        }
    };
    let (reason, message) = refusal(track_encoded(key, encode_call(EncodedKind::Track, "Add to cart!", &[])));
    assert_eq!(reason, "invalid_event_name");
    assert_eq!(message, r#"invalid event name "Add to cart!": must start with a lower-case letter"#);
    assert_eq!(refusal(track_encoded(key, encode_call(EncodedKind::Screen, " ", &[]))).0, "empty_name");
    assert_eq!(refusal(track_encoded(key, encode_call(EncodedKind::Click(Kind::Exit), "", &[]))).0, "empty_name");
    let (reason, message) = refusal(track_encoded(key, vec![1, 9]));
    assert_eq!(reason, "invalid_call_encoding");
    assert_eq!(message, "the call's buffer does not decode: unknown call kind");
    assert_eq!(refusal(track_encoded(key, vec![])).0, "invalid_call_encoding");

    sdk.wait_started().unwrap();
    let props = [("section".to_owned(), Value::String("news".into())), ("ratio".to_owned(), Value::Float(f64::NAN))];
    assert_eq!(track_encoded(key, encode_call(EncodedKind::Screen, "home", &props)), QUEUED);
    assert_eq!(track_encoded(key, encode_call(EncodedKind::Click(Kind::Download), "pdf", &[])), QUEUED);
    // The default mode (exempt) holds a custom event back.
    assert_eq!(track_encoded(key, encode_call(EncodedKind::Track, "search", &props)), NOT_SENT);
    let stats = sdk.stats();
    assert_eq!((stats.accepted, stats.events_dropped_by_mode), (2, 1));

    // Only the last 64 refusals are kept.
    let first = track_encoded(key, vec![]);
    for _ in 0..64 {
        track_encoded(key, vec![]);
    }
    assert_eq!(sdk.take_refusal(-first), None);

    // The same call as JNA's direct mapping makes it: a pointer and a length.
    let bytes = encode_call(EncodedKind::Screen, "news", &props);
    assert_eq!(unsafe { mesure_track_encoded(key, bytes.as_ptr(), bytes.len() as i32) }, QUEUED);
    let short = unsafe { mesure_track_encoded(key, bytes.as_ptr(), bytes.len() as i32 - 1) };
    assert_eq!(refusal(short).1, "the call's buffer does not decode: the buffer ends inside a field");
    for (ptr, len) in [(std::ptr::null(), 10), (bytes.as_ptr(), 0), (bytes.as_ptr(), -1)] {
        assert_eq!(refusal(unsafe { mesure_track_encoded(key, ptr, len) }).0, "invalid_call_encoding");
    }
    assert_eq!(sdk.stats().accepted, 3);

    sdk.shutdown().unwrap();
    assert_eq!(refusal(track_encoded(key, encode_call(EncodedKind::Screen, "home", &[]))).0, "shut_down");
    // A key whose object is gone, or was never given, reaches nothing.
    drop(sdk);
    assert_eq!(track_encoded(key, encode_call(EncodedKind::Screen, "home", &[])), i64::MIN);
    assert_eq!(track_encoded(u64::MAX, encode_call(EncodedKind::Screen, "home", &[])), i64::MIN);
}
