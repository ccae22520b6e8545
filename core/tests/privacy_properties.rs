//! Privacy properties over arbitrary input (proptest): what exempt, opt-out
//! and no-consent can emit, and the 13-month boundary of the visitor id.
//! The pure properties run 100 000 cases each; the end-to-end ones drive the
//! whole SDK (storage, uploader, a capturing HTTP client) over random sessions.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, LazyLock, Mutex};

use mesure_core::testing::add_calendar_months;
use mesure_core::testing::is_identifying;
use mesure_core::testing::ManualClock;
use mesure_core::testing::RuleBook;
use mesure_core::testing::{check_event, reserved, Context};
use mesure_core::*;
use mesure_core::{EXEMPT_EVENTS, EXEMPT_PROPERTIES, MINIMAL_PROPERTIES};
use proptest::prelude::*;
use serde_json::Value as Json;

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        ".{0,40}".prop_map(Value::String),
        "x{990,1010}".prop_map(Value::String),
        any::<i64>().prop_map(Value::Int),
        any::<f64>().prop_map(Value::Float),
        Just(Value::Float(f64::NAN)),
        Just(Value::Float(f64::INFINITY)),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Date),
        prop::collection::vec(".{0,8}", 0..120).prop_map(Value::StringArray),
        prop::collection::vec(any::<f64>(), 0..5).prop_map(Value::FloatArray),
    ]
}

/// Property names: the ones the rules know, identifying ones, near misses, noise.
fn name() -> impl Strategy<Value = String> {
    let known: Vec<String> = EXEMPT_PROPERTIES.iter().map(|(n, _)| (*n).to_owned()).collect();
    prop_oneof![
        prop::sample::select(known),
        prop::sample::select(vec![
            "user_id",
            "USER_ID",
            "user_category",
            "email",
            "idfa",
            "gaid",
            "android_id",
            "geo_latitude",
            "advertising_id",
            "app_sessionid",
            "app_sc",
            "browser_language",
            "visitor_privacy_mode",
            "visitor_privacy_consent",
            "event_id",
            "m_x",
            "visit_x",
            "ab_variant",
            "Page",
            "PAGE_chapter1",
        ])
        .prop_map(str::to_owned),
        "[a-zA-Z_][a-zA-Z0-9_-]{0,44}",
    ]
}

fn event_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(EXEMPT_EVENTS.to_vec()).prop_map(str::to_owned),
        Just("purchase".to_owned()),
        Just("page.error".to_owned()),
        "[a-z][a-z0-9_.]{0,20}",
        ".{0,10}",
    ]
}

fn event() -> impl Strategy<Value = Event> {
    (event_name(), prop::collection::vec((name(), value()), 0..14)).prop_map(|(name, properties)| Event { name, properties })
}

fn config_with_allowlist() -> Config {
    let mut c = Config::new("https://collect.example.test", 1, "/tmp/unused");
    c.exempt_allowlist.push(AllowedProperty {
        property: "ab_variant".into(),
        events: "page.*".into(),
        justification: "A/B test of the onboarding screen".into(),
    });
    c.context = common::context();
    c
}

/// Built once: the rules are immutable and shared, as in the SDK.
static EXEMPT_BOOK: LazyLock<(Config, RuleBook, Arc<Context>)> = LazyLock::new(|| {
    let mut config = config_with_allowlist();
    config.send_hits_in_opt_out = true;
    let book = RuleBook::new(&config);
    let context = Arc::new(Context::new(config.context.properties()));
    (config, book, context)
});

const ADDED: [&str; 3] = [reserved::VISITOR_PRIVACY_MODE, reserved::VISITOR_PRIVACY_CONSENT, reserved::EVENT_ID];

proptest! {
    #![proptest_config(ProptestConfig { cases: 100_000, failure_persistence: None, ..ProptestConfig::default() })]

    /// Whatever the app tags, exempt emits only the exempt allowlist (defaults
    /// plus the controller's additions for matching events), never an
    /// identifying key, and only the five page/click events.
    #[test]
    fn exempt_never_emits_outside_its_allowlist(ev in event()) {
        let (_, book, context) = &*EXEMPT_BOOK;
        let rules = book.rules(&VisitorMode::Exempt).unwrap();
        let Ok(checked) = check_event(ev) else { return Ok(()) };
        if rules.event_verdict(&checked.name).is_err() {
            prop_assert!(!EXEMPT_EVENTS.contains(&checked.name.as_str()));
            return Ok(());
        }
        prop_assert!(EXEMPT_EVENTS.contains(&checked.name.as_str()));
        let (data, _) = rules.hit_data(&checked.name, context, &checked.properties, 0, "id");
        for key in data.keys() {
            let allowed = EXEMPT_PROPERTIES.iter().any(|(n, _)| n == key)
                || ADDED.contains(&key.as_str())
                || (key == "ab_variant" && checked.name.starts_with("page."));
            prop_assert!(allowed, "{} leaked with {}", key, checked.name);
            prop_assert!(!is_identifying(key), "{} is identifying", key);
        }
        prop_assert_eq!(&data[reserved::VISITOR_PRIVACY_MODE], &Value::String("exempt".into()));
        prop_assert_eq!(&data[reserved::VISITOR_PRIVACY_CONSENT], &Value::Bool(false));
    }

    /// Opt-out and no-consent hits carry the minimal anonymous fields only,
    /// under a fixed visitor id.
    #[test]
    fn anonymous_modes_emit_only_minimal_fields(ev in event(), no_consent in any::<bool>()) {
        let (_, book, context) = &*EXEMPT_BOOK;
        let mode = if no_consent { VisitorMode::NoConsent } else { VisitorMode::OptOut };
        let rules = book.rules(&mode).unwrap();
        prop_assert!(mode.fixed_visitor_id().is_some());
        prop_assert!(!mode.stores_visitor_id());
        let Ok(checked) = check_event(ev) else { return Ok(()) };
        let (data, _) = rules.hit_data(&checked.name, context, &checked.properties, 0, "id");
        for key in data.keys() {
            prop_assert!(MINIMAL_PROPERTIES.contains(&key.as_str()) || ADDED.contains(&key.as_str()), "{} in {}", key, mode);
        }
    }
}

// ---- end to end: random sessions through the whole SDK ----

#[derive(Default)]
struct Capture(Mutex<Vec<(String, Json)>>);

impl HttpClient for Capture {
    fn send(&self, request: HttpRequest, completion: Completion) {
        let body = serde_json::from_slice(&request.body).unwrap_or(Json::Null);
        let id = request.url.split("idclient=").nth(1).unwrap_or("").to_owned();
        self.0.lock().unwrap().push((id, body));
        completion.complete(HttpOutcome::Response { status: 200, retry_after: None, body: Vec::new() });
    }
}

#[derive(Debug, Clone)]
enum Op {
    Track(Event),
    SetMode(u8),
    Advance(i64),
    Flush,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => event().prop_map(Op::Track),
        2 => (0u8..6).prop_map(Op::SetMode),
        2 => prop_oneof![0i64..5_000, 86_400_000i64..(40 * 86_400_000), Just(395 * 86_400_000i64)].prop_map(Op::Advance),
        1 => Just(Op::Flush),
    ]
}

fn mode_of(i: u8) -> VisitorMode {
    match i {
        0 => VisitorMode::OptIn,
        1 => VisitorMode::Exempt,
        2 => VisitorMode::OptOut,
        3 => VisitorMode::NoConsent,
        4 => VisitorMode::NoStorage,
        _ => VisitorMode::Custom("exempt-plus".into()),
    }
}

fn is_uuid(s: &str) -> bool {
    common::is_uuid_v4(s)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    /// Over random sessions: anonymous-mode hits never carry a real visitor
    /// id, identified hits never carry a fixed one, no visitor id appears in
    /// any hit's data, and no hit is sent with an id at or past its 13-month
    /// boundary (measured from the id's first use, which is its creation).
    #[test]
    fn sessions_never_leak_an_id(ops in prop::collection::vec(op(), 1..40)) {
        let dir = tempfile::tempdir().unwrap();
        let mut config = config_with_allowlist();
        config.storage_dir = dir.path().to_owned();
        config.send_hits_in_opt_out = true;
        config.flush_interval_ms = 3_600_000;
        config.queue_max_age_days = 395;
        config.custom_modes.push(CustomMode { name: "exempt-plus".into(), allowed_events: vec!["search.*".into()], allowed_properties: vec![] });
        let clock = Arc::new(ManualClock::new(common::t0()));
        let capture = Arc::new(Capture::default());
        let sdk = Sdk::builder(config).clock(clock.clone()).http_client(capture.clone()).build().unwrap();
        let mut tracked_at: HashMap<String, i64> = HashMap::new();
        for op in ops {
            match op {
                Op::Track(e) => {
                    if let Ok(TrackOutcome::Queued { event_id }) = sdk.track(e) {
                        tracked_at.insert(event_id, clock.now_ms());
                    }
                }
                Op::SetMode(m) => sdk.set_mode(mode_of(m)).unwrap(),
                Op::Advance(ms) => clock.advance_ms(ms),
                Op::Flush => { sdk.flush().unwrap(); }
            }
        }
        sdk.flush().unwrap();
        sdk.shutdown().unwrap();

        let requests = capture.0.lock().unwrap().clone();
        let mut first_use: BTreeMap<String, i64> = BTreeMap::new();
        let mut hits = Vec::new();
        for (idclient, body) in &requests {
            for e in body["events"].as_array().unwrap() {
                let data = e["data"].as_object().unwrap();
                let event_id = data["event_id"].as_str().unwrap().to_owned();
                let at = tracked_at[&event_id];
                let mode = data["visitor_privacy_mode"].as_str().unwrap().to_owned();
                hits.push((idclient.clone(), mode, at, data.clone()));
                if is_uuid(idclient) {
                    let t = first_use.entry(idclient.clone()).or_insert(at);
                    *t = (*t).min(at);
                }
            }
        }
        let ids: HashSet<&String> = first_use.keys().collect();
        for (idclient, mode, at, data) in &hits {
            match mode.as_str() {
                "optout" => prop_assert_eq!(idclient, "opt-out"),
                "no-consent" => prop_assert_eq!(idclient, "Consent-NO"),
                "no-storage" => prop_assert_eq!(idclient, "no-storage"),
                _ => {
                    prop_assert!(is_uuid(idclient), "{} hit with {}", mode, idclient);
                    let expiry = add_calendar_months(first_use[idclient], VISITOR_ID_LIFETIME_MONTHS).unwrap();
                    prop_assert!(*at < expiry, "id {} used at {} past its expiry {}", idclient, at, expiry);
                }
            }
            for v in data.values() {
                if let Some(s) = v.as_str() {
                    prop_assert!(!ids.contains(&s.to_owned()), "a visitor id inside the data");
                }
            }
        }
    }
}
