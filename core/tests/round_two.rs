//! The second adversarial round (issue 16): one probe per way out that the
//! first round's rules did not imagine. Each failed on the code before the
//! egress gate and the fixes that came with it.

mod common;

use std::collections::BTreeMap;

use common::*;
use mesure_core::testing::is_identifying;
use mesure_core::*;
use serde_json::Value as Json;

fn data_of(env: &Env) -> Vec<(String, Json)> {
    env.requests().into_iter().flat_map(|(id, events)| events.into_iter().map(move |e| (id.clone(), e))).collect()
}

fn allowance(property: &str) -> AllowedProperty {
    AllowedProperty { property: property.into(), events: "*".into(), justification: "the integrator says it is needed".into() }
}

/// Leak 1: glued and abbreviated identifying names.
#[test]
fn leak_01_glued_and_abbreviated_names_are_refused() {
    for name in ["customeruserid", "clientip", "geolat", "wifimac", "emailsha256", "usr_id"] {
        assert!(is_identifying(name), "{name} passes the classifier");
        let mut env = Env::new();
        env.config.exempt_allowlist.push(allowance(name));
        assert!(matches!(env.try_sdk(), Err(SdkError::Config(_))), "{name} accepted in the exempt allowlist");
    }
}

/// Leak 2: identifying values in allowed properties, in exempt mode.
#[test]
fn leak_02_identifying_values_do_not_leave_in_exempt() {
    let env = Env::new();
    let sdk = env.sdk();
    sdk.track_screen(
        "jane.doe@example.com",
        vec![("page_chapter1".into(), "+33 6 12 34 56 78".into()), ("previous_page".into(), "82.64.12.3".into())],
    )
    .unwrap();
    sdk.flush().unwrap();
    let sent = data_of(&env);
    assert_eq!(sent.len(), 1);
    let text = sent[0].1.to_string();
    for secret in ["jane.doe@example.com", "12 34 56 78", "82.64.12.3"] {
        assert!(!text.contains(secret), "{secret} left in exempt: {text}");
    }
    let data = &sent[0].1["data"];
    assert_eq!(
        (&data["page"], &data["page_chapter1"], &data["previous_page"]),
        (&Json::from("[email]"), &Json::from("[phone]"), &Json::from("[ip]"))
    );
    let dropped = env.recorder.dropped();
    for p in ["page", "page_chapter1", "previous_page"] {
        assert!(dropped.contains(&("exempt".into(), "page.display".into(), Some(p.into()), "identifying_value")), "{p}: {dropped:?}");
    }
    let said = format!("{:?}", env.recorder.diagnostics());
    assert!(!said.contains("jane.doe") && !said.contains("82.64"), "the diagnostics name the property, never the value");
}

/// Leak 2, with consent: the app's values are the visitor's to give.
#[test]
fn leak_02_values_leave_as_tagged_with_consent() {
    let env = Env::new();
    let sdk = env.sdk();
    sdk.set_consent(true).unwrap();
    sdk.track_screen("jane.doe@example.com", vec![]).unwrap();
    sdk.flush().unwrap();
    assert_eq!(data_of(&env)[0].1["data"]["page"], "jane.doe@example.com");
}

/// Leak 3a: no-storage as the default mode (it carries everything).
#[test]
fn leak_03a_no_storage_is_never_a_default() {
    let mut env = Env::new();
    env.config.default_mode = VisitorMode::NoStorage;
    assert!(matches!(env.try_sdk(), Err(SdkError::Config(_))), "no-storage accepted as a default");
}

/// Leak 3b: no-storage hits still queued survive an opt-out.
#[test]
fn leak_03b_an_opt_out_purges_no_storage_hits() {
    let env = Env::new();
    let sdk = env.sdk();
    sdk.set_mode(VisitorMode::NoStorage).unwrap();
    sdk.track(Event::screen("home").with("user_id", "jane")).unwrap();
    sdk.set_mode(VisitorMode::OptOut).unwrap();
    sdk.flush().unwrap();
    assert!(data_of(&env).is_empty(), "a no-storage hit left after the opt-out: {:?}", data_of(&env));
}

/// Leak 3c: no-storage lets a refused purpose's properties out.
#[test]
fn leak_03c_no_storage_obeys_every_purpose_answer() {
    let mut env = Env::new();
    env.config.purposes = vec![PurposeConfig { name: "advertising".into(), properties: vec!["ad_*".into()] }];
    let sdk = env.sdk();
    sdk.set_purpose("advertising", PurposeMode::OptOut).unwrap();
    sdk.set_mode(VisitorMode::NoStorage).unwrap();
    sdk.track(Event::screen("home").with("ad_campaign", "spring")).unwrap();
    sdk.flush().unwrap();
    let sent = data_of(&env);
    assert!(sent.iter().all(|(_, e)| e["data"].get("ad_campaign").is_none()), "a refused purpose's property left: {sent:?}");
}

/// Leak 4: prefix wildcards that open every event.
#[test]
fn leak_04_prefix_wildcards_are_refused() {
    let mut env = Env::new();
    env.config.custom_modes.push(CustomMode {
        name: "letters".into(),
        allowed_events: ('a'..='z').map(|c| format!("{c}*")).collect(),
        allowed_properties: vec![],
    });
    assert!(matches!(env.try_sdk(), Err(SdkError::Config(_))), "a*..z* accepted as a custom mode's events");
    let mut env = Env::new();
    env.config.anonymous_events = Some(vec!["p*".into(), "c*".into()]);
    assert!(matches!(env.try_sdk(), Err(SdkError::Config(_))), "anonymous events as letter prefixes accepted");
}

/// Leak 5: a second site on a directory another site used.
#[test]
fn leak_05_a_directory_belongs_to_one_site() {
    let env = Env::new();
    let a = env.sdk();
    a.set_consent(true).unwrap();
    a.track(Event::new("login").with("user_id", "jane")).unwrap();
    a.shutdown().unwrap();
    drop(a);
    let mut other = env.config.clone();
    other.site_id = SITE + 1;
    let b = Sdk::builder(other).clock(env.clock.clone()).build();
    match b {
        Err(SdkError::StorageOfAnotherSite { site, .. }) => assert_eq!(site, SITE.to_string()),
        Err(e) => panic!("{e}"),
        Ok(b) => {
            assert_ne!(b.mode(), VisitorMode::OptIn, "site B started in site A's mode");
            b.flush().unwrap();
            assert!(data_of(&env).is_empty(), "site A's hits left stamped with site B: {:?}", env.collector.received());
            panic!("site B started on site A's store");
        }
    }
    // Site A finds its own store as it left it.
    let a = env.sdk();
    assert_eq!(a.mode(), VisitorMode::OptIn);
    a.flush().unwrap();
    assert_eq!(data_of(&env).len(), 1);
}

/// Leak 5, the wrappers' move: a store left where an earlier version kept
/// one for the app moves only into the site it belongs to.
#[test]
fn a_legacy_store_moves_into_its_site_only() {
    let root = tempfile::tempdir().unwrap();
    let legacy = root.path().join("mesure");
    let env = Env::new();
    let start = |site: u32, dir: &std::path::Path| {
        let mut c = env.config.clone();
        c.site_id = site;
        c.storage_dir = dir.to_owned();
        Sdk::builder(c).clock(env.clock.clone()).legacy_storage_dir(&legacy).build().unwrap()
    };
    // An earlier version's store, for site 42.
    let old = {
        let mut c = env.config.clone();
        c.storage_dir = legacy.clone();
        Sdk::builder(c).clock(env.clock.clone()).build().unwrap()
    };
    old.set_mode(VisitorMode::OptOut).unwrap();
    old.consent_prompt_shown(ConsentContext::new("main_banner", "1")).unwrap();
    let proof_before = old.consent_proof().unwrap();
    old.shutdown().unwrap();
    drop(old);
    // Site 43 starts first: the store is not its own and stays.
    let other = start(43, &legacy.join("43"));
    assert_eq!(other.mode(), VisitorMode::Exempt);
    other.shutdown().unwrap();
    drop(other);
    assert!(legacy.join("mesure.sqlite3").exists() && legacy.join("mesure.choice").exists());
    // Site 42 takes it, choice file included: the opt-out stands.
    let own = start(42, &legacy.join("42"));
    assert_eq!(own.mode(), VisitorMode::OptOut);
    assert!(!legacy.join("mesure.choice").exists() && legacy.join("42").join("mesure.choice").exists());
    // The consent proof and the consent statistics move with it.
    for f in ["mesure.receipts", "mesure.consent-stats"] {
        assert!(!legacy.join(f).exists() && legacy.join("42").join(f).exists(), "{f}");
    }
    let proof: serde_json::Value = serde_json::from_str(&own.consent_proof().unwrap()).unwrap();
    let before: serde_json::Value = serde_json::from_str(&proof_before).unwrap();
    assert_eq!(proof["chain"], "intact");
    assert_eq!(proof["receipts"], before["receipts"]);
    assert_eq!(proof["receipts"].as_array().map(Vec::len), Some(1));
    assert_eq!(own.export_local_data().unwrap().consent_statistics.len(), 1);
}

/// Leak 5: a store from before sites were recorded (schema 2, choice file
/// version 2) is taken by the first site that opens it, then is that site's.
#[test]
fn a_store_from_before_sites_is_bound_to_the_first_site() {
    let env = Env::new();
    let db = rusqlite::Connection::open(env.db_path()).unwrap();
    db.execute_batch(
        "CREATE TABLE hits (seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL, visitor_id TEXT NOT NULL, mode TEXT NOT NULL, tracked_at_ms INTEGER NOT NULL, body TEXT NOT NULL);
         CREATE TABLE visitor (slot INTEGER PRIMARY KEY CHECK (slot = 1), visitor_id TEXT NOT NULL, created_at_ms INTEGER NOT NULL, expires_at_ms INTEGER NOT NULL);
         CREATE TABLE mode_history (seq INTEGER PRIMARY KEY AUTOINCREMENT, mode TEXT NOT NULL, since_ms INTEGER NOT NULL, reason TEXT NOT NULL);
         CREATE TABLE purpose_choice (purpose TEXT PRIMARY KEY, mode TEXT NOT NULL, since_ms INTEGER NOT NULL);
         PRAGMA user_version = 2;",
    )
    .unwrap();
    let id = "7b7c5a52-2f0d-4f7a-9a4e-0d1f3c2b1a00";
    db.execute("INSERT INTO visitor VALUES (1, ?1, ?2, ?3)", rusqlite::params![id, t0(), t0() + 400 * 86_400_000]).unwrap();
    let body = r#"{"name":"page.display","data":{"device_timestamp_utc":1772532000,"event_id":"e-old","page":"home","visitor_privacy_consent":false,"visitor_privacy_mode":"exempt"}}"#;
    db.execute(
        "INSERT INTO hits (event_id, visitor_id, mode, tracked_at_ms, body) VALUES ('e-old', ?1, 'exempt', ?2, ?3)",
        rusqlite::params![id, t0(), body],
    )
    .unwrap();
    drop(db);
    let sdk = env.sdk();
    sdk.flush().unwrap();
    assert_eq!(env.requests().len(), 1, "the migrated hit leaves, for the site that took the store");
    assert_eq!(env.requests()[0].0, id);
    sdk.shutdown().unwrap();
    drop(sdk);
    let mut other = env.config.clone();
    other.site_id = SITE + 1;
    assert!(matches!(Sdk::builder(other).clock(env.clock.clone()).build(), Err(SdkError::StorageOfAnotherSite { .. })));
}

/// Leak 6: hits tracked in a dry run are sent by a later, real run.
#[test]
fn leak_06_dry_run_hits_never_reach_a_collector() {
    let mut env = Env::new();
    env.config.dry_run = true;
    let dry = env.sdk();
    dry.track_screen("home", vec![]).unwrap();
    dry.shutdown().unwrap();
    drop(dry);
    env.config.dry_run = false;
    let real = env.sdk();
    real.flush().unwrap();
    assert!(data_of(&env).is_empty(), "a dry-run hit was sent: {:?}", data_of(&env));
}

/// Leak 7a: the app's words ride on anonymous hits through the context.
#[test]
fn leak_07a_anonymous_hits_carry_no_app_words() {
    let mut env = Env::new();
    env.config.send_hits_in_opt_out = true;
    let sdk = env.sdk();
    sdk.set_mode(VisitorMode::OptOut).unwrap();
    let mut context = common::context();
    context.connection_type = Some("jane.doe@example.com".into());
    let accepted = sdk.set_context(context).is_ok();
    sdk.track_screen("home", vec![]).unwrap();
    sdk.flush().unwrap();
    let sent = data_of(&env);
    let text = format!("{sent:?}");
    assert!(!text.contains("jane.doe"), "app words on an anonymous hit (context accepted: {accepted}): {text}");
}

/// Leak 7b: the visitor's purpose answers ride on exempt hits.
#[test]
fn leak_07b_purpose_answers_ride_only_with_consent() {
    let mut env = Env::new();
    env.config.purposes = vec![PurposeConfig { name: "advertising".into(), properties: vec!["ad_*".into()] }];
    let sdk = env.sdk();
    sdk.set_purpose("advertising", PurposeMode::OptIn).unwrap();
    assert_eq!(sdk.mode(), VisitorMode::Exempt);
    sdk.track_screen("home", vec![]).unwrap();
    sdk.flush().unwrap();
    let sent = data_of(&env);
    assert_eq!(sent.len(), 1);
    assert!(sent[0].1["data"].get("visitor_privacy_purposes").is_none(), "purpose answers on an exempt hit: {}", sent[0].1);
}

/// Leak 8: a hit queued just before its id's 13 months leaves with the id
/// long after.
#[test]
fn leak_08_an_expired_id_does_not_leave_from_the_queue() {
    let mut env = Env::new();
    env.config.queue_max_age_days = 395;
    let sdk = env.sdk();
    sdk.track_screen("first", vec![]).unwrap();
    let created = t0();
    let expiry = mesure_core::testing::add_calendar_months(created, 13).unwrap();
    env.clock.set_ms(expiry - 60_000);
    sdk.track_screen("last", vec![]).unwrap();
    env.clock.set_ms(expiry + 200 * 86_400_000);
    sdk.flush().unwrap();
    let sent = data_of(&env);
    assert!(sent.iter().all(|(_, e)| e["data"]["page"] != "last"), "a hit left with an id past its 13 months: {sent:?}");
}

/// Leak 9: purposes without bound push the screen name out of the hit.
#[test]
fn leak_09_purposes_are_bounded_and_the_screen_name_stays() {
    let mut env = Env::new();
    env.config.purposes = (0..1600).map(|i| PurposeConfig { name: format!("purpose_number_{i:04}"), properties: vec![] }).collect();
    match env.try_sdk() {
        Err(SdkError::Config(e)) => assert_eq!((e.field.as_str(), e.kind), ("purposes", ConfigErrorKind::TooMany)),
        Ok(sdk) => {
            sdk.set_purpose(AUDIENCE_MEASUREMENT, PurposeMode::OptIn).unwrap();
            sdk.track_screen("home", vec![]).unwrap();
            sdk.flush().unwrap();
            let sent = data_of(&env);
            assert!(sent.iter().all(|(_, e)| e["data"]["page"] == "home"), "the screen name was dropped for the purposes");
            panic!("1600 purposes accepted");
        }
        Err(e) => panic!("{e}"),
    }
    // The most purposes allowed, the longest names, and extras that fill the
    // hit: the extras go, the screen name stays.
    let mut env = Env::new();
    env.config.purposes =
        (0..MAX_PURPOSES).map(|i| PurposeConfig { name: format!("purpose_with_a_long_name_{i:015}"), properties: vec![] }).collect();
    env.config.purposes[0].properties = vec!["extra_*".into()];
    let first = env.config.purposes[0].name.clone();
    let sdk = env.sdk();
    sdk.set_purposes(&BTreeMap::from([(AUDIENCE_MEASUREMENT.to_owned(), PurposeMode::OptIn), (first, PurposeMode::OptIn)])).unwrap();
    let big: Vec<(String, Value)> = (0..12).map(|i| (format!("extra_{i}"), Value::StringArray(vec!["x".repeat(900); 8]))).collect();
    let mut props = big;
    props.push(("page_chapter1".into(), Value::String("é".repeat(1000))));
    sdk.track_screen(&"s".repeat(1000), props).unwrap();
    sdk.flush().unwrap();
    let sent = data_of(&env);
    let data = &sent[0].1["data"];
    assert_eq!(data["page"].as_str().map(str::len), Some(1000), "the screen name stays");
    assert!(data.get("page_chapter1").is_some(), "a strictly necessary field stays");
    assert!(data.get("visitor_privacy_purposes").is_some());
    assert!(sent[0].1.to_string().len() <= 64 * 1024);
    assert!(env.recorder.dropped().iter().any(|d| d.3 == "too_large"), "the extras went");
}

/// Leak 10: a property of two purposes leaves on the consent to one.
#[test]
fn leak_10_a_property_of_two_purposes_needs_both() {
    let mut env = Env::new();
    env.config.purposes = vec![
        PurposeConfig { name: "personalisation".into(), properties: vec!["reco_*".into()] },
        PurposeConfig { name: "advertising".into(), properties: vec!["*_segment".into()] },
    ];
    let sdk = env.sdk();
    let answers = BTreeMap::from([
        (AUDIENCE_MEASUREMENT.to_owned(), PurposeMode::OptIn),
        ("personalisation".to_owned(), PurposeMode::OptIn),
        ("advertising".to_owned(), PurposeMode::OptOut),
    ]);
    sdk.set_purposes(&answers).unwrap();
    sdk.track_screen("home", vec![("reco_segment".into(), "sports".into())]).unwrap();
    sdk.flush().unwrap();
    let sent = data_of(&env);
    assert!(sent.iter().all(|(_, e)| e["data"].get("reco_segment").is_none()), "reco_segment left without advertising: {sent:?}");
    assert!(
        env.recorder.diagnostics().iter().any(|d| matches!(d,
        Diagnostic::Dropped { dropped: Dropped { property: Some(p), reason: DropReason::PurposeNotConsented { purpose }, .. }, .. }
            if p == "reco_segment" && purpose == "advertising")),
        "the diagnostic names the purpose (leak 13)"
    );
    let report = sdk.compliance_report();
    assert!(
        report.purpose_overlaps.iter().any(|o| (o.pattern.as_str(), o.other_pattern.as_str()) == ("reco_*", "*_segment")),
        "the overlap is reported: {:?}",
        report.purpose_overlaps
    );
}

/// Leak 11: consented hits still queued leave after the withdrawal.
#[test]
fn leak_11_withdrawal_purges_consented_hits_not_yet_sent() {
    let env = Env::new();
    let sdk = env.sdk();
    sdk.set_consent(true).unwrap();
    sdk.track(Event::new("login").with("user_id", "jane")).unwrap();
    sdk.set_consent(false).unwrap();
    sdk.flush().unwrap();
    let sent = data_of(&env);
    assert!(sent.iter().all(|(_, e)| e["data"]["visitor_privacy_mode"] != "optin"), "an opt-in hit left after the withdrawal: {sent:?}");
}

/// Leak 13: an existing storage directory wider than 0700 is narrowed.
#[cfg(unix)]
#[test]
fn leak_13_a_wide_storage_directory_is_narrowed() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    std::fs::set_permissions(env.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let sdk = env.sdk();
    let mode = std::fs::metadata(env.dir.path()).unwrap().permissions().mode() & 0o777;
    drop(sdk);
    assert_eq!(mode, 0o700, "the directory stays {mode:o}");
}
