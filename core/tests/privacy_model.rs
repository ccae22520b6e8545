//! The privacy promise as a state machine, checked against a reference model.
//!
//! Random sequences drive the whole SDK (storage, uploader, a scripted HTTP
//! client) through what a careless app, a hostile integrator, a wrong clock,
//! a second process and a flaky network do: `track` with any name and key
//! (reserved keys in any case, identifying names, huge values), mode changes
//! of every kind, clock jumps both ways and time passing, flushes against a
//! collector answering 2xx, 400, 413, 503 or never, purges while a request is
//! in flight, restarts, a second instance, a database overwritten with
//! garbage, `delete_local_data`. The model is written from the rules (README,
//! PRIVACY.md), not from the code: it knows the mode in force, which hits
//! share an identity, and which were purged. After every step it checks:
//!
//! - the mode and the renewal flag read back equal the model's (no choice
//!   forgotten, by a restart or a lost database);
//! - every `track` outcome (queued, held back, refused) is the model's;
//! - every hit on the wire carries exactly the keys its mode allows for its
//!   event, with the app's values or the SDK's context values, never an
//!   event its mode forbids;
//! - anonymous hits carry their fixed id; identified hits carry an id that
//!   belongs to one model identity and no other (so no id crosses the
//!   consent boundary, outlives 13 months, or survives a purge or a clock
//!   correction);
//! - nothing a purge deleted is sent after the purge;
//! - no hit is invented, and every copy of a hit is the same hit;
//! - at the end, after a clean flush, every accepted hit was delivered or is
//!   accounted for by a documented bound (purged, refused by the collector,
//!   past the age bound, lost with a corrupt database).
//!
//! `MESURE_MODEL_SEQUENCES` sets the number of sequences (10 000 by
//! default, split over two test threads); the count is printed.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Months, Utc};
use mesure_core::*;
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, RngAlgorithm, TestRng, TestRunner};
use serde_json::{json, Value as Json};

// ---------------------------------------------------------------- the rules

const DAY: i64 = 86_400_000;
const EXEMPT_EVENTS: [&str; 5] = ["page.display", "click.action", "click.navigation", "click.download", "click.exit"];
/// The strictly necessary set of the README.
const EXEMPT_KEYS: [&str; 24] = [
    "page", "page_chapter1", "page_chapter2", "page_chapter3", "previous_page", "click", "click_chapter1",
    "click_chapter2", "click_chapter3", "device_type", "device_brand", "device_model", "device_screen_width",
    "device_screen_height", "os", "os_version", "app_version", "connection_type", "device_timestamp_utc",
    "event_collection_platform", "event_collection_version", "page_duration", "page_load_time", "page_scroll_depth",
];
const RESERVED: [&str; 6] = [
    "visitor_privacy_mode", "visitor_privacy_consent", "event_id", "device_timestamp_utc",
    "event_collection_platform", "event_collection_version",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum M {
    OptIn,
    Exempt,
    OptOut,
    NoConsent,
    NoStorage,
    Plus,
}

impl M {
    fn sdk(self) -> VisitorMode {
        match self {
            M::OptIn => VisitorMode::OptIn,
            M::Exempt => VisitorMode::Exempt,
            M::OptOut => VisitorMode::OptOut,
            M::NoConsent => VisitorMode::NoConsent,
            M::NoStorage => VisitorMode::NoStorage,
            M::Plus => VisitorMode::Custom("plus".into()),
        }
    }
    fn wire(self) -> &'static str {
        match self {
            M::OptIn => "optin",
            M::Exempt => "exempt",
            M::OptOut => "optout",
            M::NoConsent => "no-consent",
            M::NoStorage => "no-storage",
            M::Plus => "plus",
        }
    }
    fn identified(self) -> bool {
        matches!(self, M::OptIn | M::Exempt | M::Plus)
    }
    fn anonymous(self) -> bool {
        matches!(self, M::OptOut | M::NoConsent)
    }
    fn fixed_id(self) -> Option<&'static str> {
        match self {
            M::OptOut => Some("opt-out"),
            M::NoConsent => Some("Consent-NO"),
            M::NoStorage => Some("no-storage"),
            _ => None,
        }
    }
}

fn context() -> DeviceContext {
    common::context()
}

/// The context as it leaves the device (name, JSON value).
fn context_values() -> BTreeMap<&'static str, Json> {
    BTreeMap::from([
        ("app_version", json!("3.1.0")),
        ("connection_type", json!("wifi")),
        ("device_brand", json!("Fairphone")),
        ("device_model", json!("FP5")),
        ("device_screen_height", json!(2700)),
        ("device_screen_width", json!(1224)),
        ("device_type", json!("mobile")),
        ("event_collection_platform", json!("android")),
        ("event_collection_version", json!(SDK_VERSION)),
        ("os", json!("android")),
        ("os_version", json!("15")),
    ])
}

fn config(dir: &std::path::Path, send_hits_in_opt_out: bool, integrator: &Integrator) -> Config {
    let mut c = Config::new("https://collect.example.test", 42, dir);
    c.context = context();
    c.send_hits_in_opt_out = send_hits_in_opt_out;
    c.flush_interval_ms = 3_600_000;
    c.batch_size = 500;
    c.exempt_allowlist.push(AllowedProperty {
        property: "ab_variant".into(),
        events: "page.*".into(),
        justification: "A/B test of the onboarding screen".into(),
    });
    c.forbidden_properties.push(PropertyRule { property: "free_text".into(), events: "*".into() });
    c.forbidden_events.push("debug.*".into());
    if let Some(extra) = integrator.extra_allowance {
        c.exempt_allowlist.push(AllowedProperty {
            property: extra.into(),
            events: "*".into(),
            justification: "the integrator says it is strictly necessary".into(),
        });
    }
    c.custom_modes.push(CustomMode {
        name: "plus".into(),
        allowed_events: integrator.custom_events.map(str::to_owned).into_iter().collect(),
        allowed_properties: vec![AllowedProperty {
            property: "search_category".into(),
            events: "search.*".into(),
            justification: "which search categories return nothing".into(),
        }],
    });
    c
}

fn add_months(at: i64, months: u32) -> Option<i64> {
    let end = DateTime::<Utc>::from_timestamp_millis(at)?.checked_add_months(Months::new(months))?.timestamp_millis();
    (end > at).then_some(end)
}

/// A property name the collector accepts, lower-cased.
fn valid_name(k: &str) -> bool {
    let b = k.as_bytes();
    !b.is_empty()
        && b.len() <= 40
        && b[0].is_ascii_lowercase()
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_')
        && !k.starts_with("m_")
        && !k.starts_with("visit_")
}

/// Which app keys (lower-cased) a mode lets leave with an event; `None`: any.
fn allowed_app_keys(mode: M, event: &str, integrator: &Integrator) -> Option<BTreeSet<&'static str>> {
    match mode {
        M::OptIn | M::NoStorage => None,
        M::OptOut | M::NoConsent => Some(BTreeSet::new()),
        // A custom mode is the strictly necessary set plus its own
        // allowances; the exempt allowlist is exempt's.
        M::Exempt | M::Plus => {
            let mut keys: BTreeSet<&str> = EXEMPT_KEYS.into_iter().collect();
            if mode == M::Exempt && event.starts_with("page.") {
                keys.insert("ab_variant");
            }
            if mode == M::Exempt {
                keys.extend(integrator.extra_allowance);
            }
            if mode == M::Plus && event.starts_with("search.") {
                keys.insert("search_category");
            }
            Some(keys)
        }
    }
}

/// Whether the mode sends the event (`Err`: the reason code).
fn event_verdict(mode: M, event: &str, send_hits_in_opt_out: bool, integrator: &Integrator) -> Result<(), &'static str> {
    if mode == M::OptOut && !send_hits_in_opt_out {
        return Err("opt_out_sends_nothing");
    }
    if event.starts_with("debug.") {
        return Err("event_forbidden_by_rule");
    }
    let allowed = match mode {
        M::OptIn | M::NoStorage => true,
        M::Exempt | M::OptOut | M::NoConsent => EXEMPT_EVENTS.contains(&event),
        M::Plus => EXEMPT_EVENTS.contains(&event) || integrator.custom_events.is_some_and(|p| pattern_matches(p, event)),
    };
    if allowed {
        Ok(())
    } else {
        Err("event_not_allowed_in_mode")
    }
}

/// `name` or `prefix.*`, the only shapes the model's integrator uses.
fn pattern_matches(pattern: &str, event: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => event.starts_with(prefix),
        None => pattern == event,
    }
}

// ---------------------------------------------------------------- the integrator

/// Names a careless or hostile integrator may try to allow without consent.
/// Every one identifies a person or a device: the configuration is refused.
const IDENTIFYING: [&str; 40] = [
    "user_id", "userid", "username", "uid", "customer_id", "account_id", "client_id", "member_id", "deviceid",
    "device_id", "androidid", "android_id", "advertiserid", "advertising_id", "idfa", "idfv", "gaid", "ipaddress",
    "ip", "lat", "lng", "lon", "long", "geo_long", "geo_latitude", "location", "email", "mail", "tel",
    "phone_number", "imsi", "iccid", "serialnumber", "macaddress", "idclient", "visitor_id", "login", "full_name",
    "birthdate", "address",
];
/// Ordinary analytics names: accepted, and then sent in exempt.
const ORDINARY: [&str; 8] =
    ["article_id", "video_duration", "error_code", "theme", "search_results_count", "long_press_count", "app_language", "level"];
/// Event patterns for the custom mode: named ones are accepted, the others
/// (allowing every event, or an identifying name) refused.
const NAMED_EVENTS: [&str; 3] = ["search.*", "search.results", "video.*"];
const UNNAMED_EVENTS: [&str; 4] = ["*", "**", "*.results", "user.login"];

/// What the integrator configured beyond the fixed test configuration.
#[derive(Debug, Clone, Copy)]
struct Integrator {
    extra_allowance: Option<&'static str>,
    custom_events: Option<&'static str>,
}

impl Integrator {
    fn refused(&self) -> bool {
        self.extra_allowance.is_some_and(|a| IDENTIFYING.contains(&a))
            || self.custom_events.is_some_and(|e| UNNAMED_EVENTS.contains(&e))
    }
}

fn integrator() -> impl Strategy<Value = Integrator> {
    let allowance = prop_oneof![
        3 => Just(None),
        1 => prop::sample::select(IDENTIFYING.to_vec()).prop_map(Some),
        1 => prop::sample::select(ORDINARY.to_vec()).prop_map(Some),
    ];
    let events = prop_oneof![
        4 => prop::sample::select(NAMED_EVENTS.to_vec()).prop_map(Some),
        1 => prop::sample::select(UNNAMED_EVENTS.to_vec()).prop_map(Some),
    ];
    (allowance, events).prop_map(|(extra_allowance, custom_events)| Integrator { extra_allowance, custom_events })
}

// ---------------------------------------------------------------- input

#[derive(Debug, Clone)]
enum V {
    Text(String),
    Int(i64),
    Float(f64),
    Flag(bool),
    List(Vec<String>),
}

impl V {
    fn sdk(&self) -> Value {
        match self {
            V::Text(s) => Value::String(s.clone()),
            V::Int(i) => Value::Int(*i),
            V::Float(f) => Value::Float(*f),
            V::Flag(b) => Value::Bool(*b),
            V::List(l) => Value::StringArray(l.clone()),
        }
    }
    /// The value on the wire, after the length limits; `None` when refused.
    fn wire(&self) -> Option<Json> {
        let cut = |s: &String| s.chars().take(1000).collect::<String>();
        match self {
            V::Text(s) => Some(json!(cut(s))),
            V::Int(i) => Some(json!(i)),
            V::Float(f) if f.is_finite() => Some(json!(f)),
            V::Float(_) => None,
            V::Flag(b) => Some(json!(b)),
            V::List(l) => Some(Json::Array(l.iter().take(100).map(|s| json!(cut(s))).collect())),
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Purge {
    To(M),
    DeleteLocalData,
}

#[derive(Debug, Clone)]
enum Step {
    Track(String, Vec<(String, V)>),
    SetMode(M),
    SetConsent(bool),
    SetOptedOut(bool),
    /// The wall clock is set to `start + offset` (a jump, either way).
    SetClock(i64),
    /// Time passes.
    Advance(i64),
    /// The collector answers each request with the next status (0: never;
    /// then 200).
    Flush(Vec<u16>),
    /// A flush whose first request is in flight while the purge commits; then
    /// the collector answers it with `status`.
    PurgeInFlight(Purge, u16),
    DeleteLocalData,
    Restart,
    SecondInstance,
    CorruptDatabase,
}

fn event_name() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(EXEMPT_EVENTS.to_vec()).prop_map(str::to_owned),
        3 => prop::sample::select(vec![
            "purchase", "search.results", "search.none", "user.jane_doe_signed_in", "debug.trace", "video.play",
            "Page Display",
        ])
        .prop_map(str::to_owned),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "page", "Page", "page_chapter1", "click", "previous_page", "device_model", "connection_type", "os",
        "ab_variant", "search_category", "free_text", "user_id", "USER_ID", "Email", "idfa", "geo_latitude",
        "member_id", "event_id", "Event_Id", "VISITOR_PRIVACY_MODE", "visitor_privacy_consent", "idclient",
        "device_timestamp_utc", "event_collection_version", "m_x", "bad-name", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "basket_value", "long_text", "list", "article_id", "theme", "level", "location", "ip",
    ])
    .prop_map(str::to_owned)
}

fn value() -> impl Strategy<Value = V> {
    prop_oneof![
        4 => prop::sample::select(vec!["home", "jane.doe@example.com", "B", ""]).prop_map(|s| V::Text(s.to_owned())),
        1 => (1000usize..1200).prop_map(|n| V::Text("é".repeat(n))),
        2 => any::<i64>().prop_map(V::Int),
        1 => prop_oneof![Just(f64::NAN), Just(f64::INFINITY), Just(12.5), Just(-0.0)].prop_map(V::Float),
        1 => any::<bool>().prop_map(V::Flag),
        1 => (0usize..150).prop_map(|n| V::List((0..n).map(|i| format!("i{i}")).collect())),
    ]
}

fn mode() -> impl Strategy<Value = M> {
    prop::sample::select(vec![M::OptIn, M::Exempt, M::OptOut, M::NoConsent, M::NoStorage, M::Plus])
}

fn step() -> impl Strategy<Value = Step> {
    let status = prop::sample::select(vec![200u16, 400, 413, 503, 0]);
    prop_oneof![
        12 => (event_name(), prop::collection::vec((key(), value()), 0..6)).prop_map(|(n, p)| Step::Track(n, p)),
        3 => mode().prop_map(Step::SetMode),
        2 => any::<bool>().prop_map(Step::SetConsent),
        1 => any::<bool>().prop_map(Step::SetOptedOut),
        2 => prop_oneof![
            -3 * 365 * DAY..3 * 365 * DAY,
            Just(-DAY - 1),
            Just(DAY + 1),
            Just(i64::MIN / 2),
            Just(i64::MAX / 2),
        ]
        .prop_map(Step::SetClock),
        2 => prop_oneof![0i64..10_000, DAY..45 * DAY, Just(183 * DAY), Just(400 * DAY)].prop_map(Step::Advance),
        3 => prop::collection::vec(status.clone(), 0..3).prop_map(Step::Flush),
        1 => (
            prop_oneof![mode().prop_map(Purge::To), Just(Purge::DeleteLocalData)],
            prop::sample::select(vec![200u16, 400, 413, 503]),
        )
            .prop_map(|(p, s)| Step::PurgeInFlight(p, s)),
        1 => Just(Step::DeleteLocalData),
        1 => Just(Step::Restart),
        1 => Just(Step::SecondInstance),
        1 => Just(Step::CorruptDatabase),
    ]
}

// ---------------------------------------------------------------- the wire

/// One request as the collector saw it.
#[derive(Debug, Clone)]
struct Request {
    idclient: String,
    events: Vec<Json>,
    /// The answer (0: none).
    status: u16,
}

enum Held {
    Request(Completion),
    FlushDone,
}

/// Records every request; answers from a script, or holds one request.
#[derive(Default)]
struct Collector {
    log: Mutex<Vec<Request>>,
    script: Mutex<Vec<u16>>,
    hold: Mutex<Option<Sender<Held>>>,
}

impl HttpClient for Collector {
    fn send(&self, request: HttpRequest, completion: Completion) {
        let body: Json = serde_json::from_slice(&request.body).unwrap_or(Json::Null);
        let idclient = request.url.split("idclient=").nth(1).unwrap_or("").to_owned();
        let events = body["events"].as_array().cloned().unwrap_or_default();
        let held = self.hold.lock().unwrap().take();
        let status = match &held {
            Some(_) => 0,
            None => {
                let mut script = self.script.lock().unwrap();
                if script.is_empty() { 200 } else { script.remove(0) }
            }
        };
        let index = {
            let mut log = self.log.lock().unwrap();
            log.push(Request { idclient, events, status });
            log.len() - 1
        };
        match (held, status) {
            (Some(tx), _) => {
                // The driver answers later; it fills in the status.
                let _ = tx.send(Held::Request(completion));
                let _ = index;
            }
            (None, 0) => drop(completion),
            (None, s) => {
                completion.complete(HttpOutcome::Response { status: s, retry_after: None });
            }
        }
    }
}

// ---------------------------------------------------------------- the model

#[derive(Debug, Clone)]
struct Tracked {
    event: String,
    /// The app's properties after the collector's rules (lower-cased keys,
    /// reserved and invalid ones and non-finite numbers removed), with their
    /// wire values.
    props: BTreeMap<String, Json>,
    mode: M,
    /// The model identity of an identified hit.
    identity: Option<u64>,
    at: i64,
}

#[derive(Debug, Clone, Copy)]
struct Identity {
    n: u64,
    created: i64,
    expires: Option<i64>,
}

impl Identity {
    fn valid_at(&self, now: i64) -> bool {
        self.created <= now.saturating_add(DAY) && self.expires.is_some_and(|e| now < e)
    }
}

struct Model {
    send_hits_in_opt_out: bool,
    mode: M,
    /// The opt-in's date, when the mode is opt-in.
    consent_since: Option<i64>,
    renewal: bool,
    identity: Option<Identity>,
    next_identity: u64,
    now: i64,
    /// The latest wall time any commit or flush may have used.
    max_now: i64,
    hits: HashMap<String, Tracked>,
    /// The length of the wire log when the current step began.
    log_len: usize,
    /// Hits a purge deleted, with the length of the wire log at that moment.
    purged: HashMap<String, usize>,
    /// Hits lost with a corrupt database.
    lost: HashSet<String>,
}

impl Model {
    fn new(send_hits_in_opt_out: bool, now: i64) -> Model {
        Model {
            send_hits_in_opt_out,
            mode: M::Exempt,
            consent_since: None,
            renewal: false,
            identity: None,
            next_identity: 0,
            now,
            max_now: now,
            hits: HashMap::new(),
            log_len: 0,
            purged: HashMap::new(),
            lost: HashSet::new(),
        }
    }

    /// The opt-in lapses 6 calendar months after it was given, at once if it
    /// is dated more than a day in the future or its expiry cannot be
    /// represented; then the default mode, and consent must be asked again.
    fn lapse(&mut self) {
        if self.mode != M::OptIn {
            return;
        }
        let since = self.consent_since.unwrap_or(i64::MAX);
        let holds = since <= self.now.saturating_add(DAY) && add_months(since, 6).is_some_and(|e| self.now < e);
        if !holds {
            self.change(M::Exempt);
            self.renewal = true;
        }
    }

    /// The identity rule: leaving for a mode without an id purges it and its
    /// queued hits; crossing the consent boundary renews it.
    fn change(&mut self, to: M) {
        let from = self.mode;
        self.mode = to;
        self.renewal = false;
        self.consent_since = (to == M::OptIn).then_some(self.now);
        if !to.identified() {
            self.identity = None;
            self.purge(|t| t.identity.is_some());
        } else if (from == M::OptIn) != (to == M::OptIn) {
            self.identity = None;
        }
    }

    fn purge(&mut self, which: impl Fn(&Tracked) -> bool) {
        for (id, t) in &self.hits {
            if which(t) && !self.purged.contains_key(id) && !self.lost.contains(id) {
                self.purged.insert(id.clone(), self.log_len);
            }
        }
    }

    fn identity_for_track(&mut self) -> u64 {
        match self.identity {
            Some(i) if i.valid_at(self.now) => i.n,
            _ => {
                let n = self.next_identity;
                self.next_identity += 1;
                self.identity = Some(Identity { n, created: self.now, expires: add_months(self.now, 13).or(Some(self.now)) });
                n
            }
        }
    }
}

// ---------------------------------------------------------------- the driver

/// The wall clock moves as the steps say; the monotonic clock never does, so
/// nothing is uploaded in the background (no retry timer ever fires): every
/// request comes from a step, and the checks never race the uploader.
#[derive(Default)]
struct StepClock(std::sync::atomic::AtomicI64);

impl Clock for StepClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
    fn monotonic_ms(&self) -> u64 {
        0
    }
}

fn storage_root() -> tempfile::TempDir {
    // tmpfs when there is one: the model runs thousands of SDKs.
    tempfile::Builder::new().prefix("mesure-model").tempdir_in("/dev/shm").or_else(|_| tempfile::tempdir()).expect("tempdir")
}

struct Run {
    dir: tempfile::TempDir,
    config: Config,
    clock: Arc<StepClock>,
    collector: Arc<Collector>,
    sdk: Arc<Sdk>,
    model: Model,
    integrator: Integrator,
    start: i64,
    /// The wire log entries already checked.
    checked: usize,
    /// identity <-> idclient.
    ids: HashMap<u64, String>,
    owners: HashMap<String, u64>,
    /// For each hit, the latest wall time seen since it was tracked.
    latest_after: HashMap<String, i64>,
}

type Check = Result<(), TestCaseError>;

macro_rules! ensure {
    ($cond:expr, $($arg:tt)+) => {
        if !$cond {
            return Err(TestCaseError::fail(format!($($arg)+)));
        }
    };
}

impl Run {
    /// A run, or `None` when the configuration is refused, as it must be.
    fn new(send_hits_in_opt_out: bool, integrator: Integrator) -> Result<Option<Run>, TestCaseError> {
        let dir = storage_root();
        let config = config(dir.path(), send_hits_in_opt_out, &integrator);
        let start = common::t0();
        let clock = Arc::new(StepClock(start.into()));
        let collector = Arc::new(Collector::default());
        let built = Self::build(&config, &clock, &collector);
        if integrator.refused() {
            let field_ok = |e: &ConfigError| {
                (integrator.extra_allowance.is_some_and(|a| IDENTIFYING.contains(&a))
                    && e.field == "exempt_allowlist[1].property"
                    && e.kind == ConfigErrorKind::IdentifyingProperty)
                    || (integrator.custom_events.is_some_and(|a| UNNAMED_EVENTS.contains(&a))
                        && e.field == "custom_modes[0].allowed_events[0]")
            };
            return match built {
                Err(SdkError::Config(e)) if field_ok(&e) => Ok(None),
                other => Err(TestCaseError::fail(format!("{integrator:?} must be refused, naming the field: {:?}", other.map(|_| ())))),
            };
        }
        let sdk = Arc::new(built.map_err(|e| TestCaseError::fail(format!("{integrator:?}: {e}")))?);
        Ok(Some(Run {
            dir,
            config,
            clock,
            collector,
            sdk,
            model: Model::new(send_hits_in_opt_out, start),
            integrator,
            start,
            checked: 0,
            ids: HashMap::new(),
            owners: HashMap::new(),
            latest_after: HashMap::new(),
        }))
    }

    fn build(config: &Config, clock: &Arc<StepClock>, collector: &Arc<Collector>) -> Result<Sdk, SdkError> {
        Sdk::builder(config.clone()).clock(clock.clone()).http_client(collector.clone()).build()
    }

    fn restart(&mut self, between: impl FnOnce(&std::path::Path)) -> Check {
        self.sdk.shutdown().map_err(|e| TestCaseError::fail(format!("shutdown: {e}")))?;
        between(self.dir.path());
        self.sdk = Arc::new(Self::build(&self.config, &self.clock, &self.collector).map_err(|e| TestCaseError::fail(format!("restart: {e}")))?);
        Ok(())
    }

    fn log_len(&self) -> usize {
        self.collector.log.lock().unwrap().len()
    }

    fn delivered(&self) -> HashSet<String> {
        let log = self.collector.log.lock().unwrap();
        let mut out = HashSet::new();
        for r in log.iter() {
            let acked = (200..300).contains(&r.status);
            let refused = matches!(r.status, 400 | 413) && r.events.len() == 1;
            if acked || refused {
                for e in &r.events {
                    if let Some(id) = e["data"]["event_id"].as_str() {
                        out.insert(id.to_owned());
                    }
                }
            }
        }
        out
    }

    /// Every app-scoped id on the device or on the wire so far.
    fn ids_seen(&self) -> Result<BTreeSet<String>, TestCaseError> {
        let data = self.sdk.export_local_data().map_err(|e| TestCaseError::fail(format!("export: {e}")))?;
        let mut ids: BTreeSet<String> = data.visitor.map(|v| v.id).into_iter().collect();
        ids.extend(data.pending_hits.into_iter().map(|h| h.visitor_id));
        ids.extend(self.owners.keys().cloned());
        ids.extend(self.collector.log.lock().unwrap().iter().map(|r| r.idclient.clone()));
        ids.retain(|id| common::is_uuid_v4(id));
        Ok(ids)
    }

    /// After a purge has committed, no byte of any id is left in any file of
    /// the storage directory (database, WAL, free pages).
    fn check_erased(&self, ids: &BTreeSet<String>) -> Check {
        self.sdk.export_local_data().map_err(|e| TestCaseError::fail(format!("export: {e}")))?;
        for entry in std::fs::read_dir(self.dir.path()).map_err(|e| TestCaseError::fail(e.to_string()))? {
            let path = entry.map_err(|e| TestCaseError::fail(e.to_string()))?.path();
            let Ok(bytes) = std::fs::read(&path) else { continue };
            for id in ids {
                ensure!(!bytes.windows(id.len()).any(|w| w == id.as_bytes()), "id {id} still in {} after a purge", path.display());
            }
        }
        Ok(())
    }

    fn step(&mut self, step: &Step) -> Check {
        let purges = match step {
            Step::SetMode(m) | Step::PurgeInFlight(Purge::To(m), _) => !m.identified(),
            Step::SetOptedOut(true) | Step::DeleteLocalData | Step::PurgeInFlight(Purge::DeleteLocalData, _) => true,
            _ => false,
        };
        let erased = if purges { Some(self.ids_seen()?) } else { None };
        self.one_step(step)?;
        match erased {
            Some(ids) => self.check_erased(&ids),
            None => Ok(()),
        }
    }

    fn one_step(&mut self, step: &Step) -> Check {
        self.model.now = self.clock.now_ms();
        self.model.log_len = self.log_len();
        match step {
            Step::Track(name, props) => self.track(name, props)?,
            Step::SetMode(m) => {
                self.model.lapse();
                self.sdk.set_mode(m.sdk()).map_err(|e| TestCaseError::fail(e.to_string()))?;
                self.model.change(*m);
            }
            Step::SetConsent(granted) => {
                self.model.lapse();
                self.sdk.set_consent(*granted).map_err(|e| TestCaseError::fail(e.to_string()))?;
                let to = match (*granted, self.model.mode) {
                    (true, _) => M::OptIn,
                    (false, M::OptIn) => M::Exempt,
                    (false, m) => m,
                };
                self.model.change(to);
            }
            Step::SetOptedOut(on) => {
                self.model.lapse();
                self.sdk.set_opted_out(*on).map_err(|e| TestCaseError::fail(e.to_string()))?;
                match (*on, self.model.mode) {
                    (true, _) => self.model.change(M::OptOut),
                    (false, M::OptOut) => self.model.change(M::Exempt),
                    _ => {}
                }
            }
            Step::SetClock(offset) => self.clock.0.store(self.start.saturating_add(*offset), Ordering::SeqCst),
            Step::Advance(ms) => {
                let _ = self.clock.0.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| Some(n.saturating_add(*ms)));
            }
            Step::Flush(script) => {
                *self.collector.script.lock().unwrap() = script.clone();
                self.sdk.flush().map_err(|e| TestCaseError::fail(format!("flush: {e}")))?;
                self.collector.script.lock().unwrap().clear();
            }
            Step::PurgeInFlight(purge, status) => self.purge_in_flight(*purge, *status)?,
            Step::DeleteLocalData => self.delete_local_data()?,
            Step::Restart => {
                self.restart(|_| {})?;
                self.after_restart();
            }
            Step::SecondInstance => {
                let second = Self::build(&self.config, &self.clock, &self.collector);
                ensure!(matches!(second, Err(SdkError::StorageInUse { .. })), "a second instance on one directory: {:?}", second.map(|_| ()));
            }
            Step::CorruptDatabase => {
                self.restart(|dir| {
                    std::fs::write(dir.join("mesure.sqlite3"), vec![0xA5; 8192]).expect("garbage");
                    for suffix in ["-wal", "-shm"] {
                        let _ = std::fs::remove_file(dir.join(format!("mesure.sqlite3{suffix}")));
                    }
                })?;
                // The queue and the id go with the file; the choice does not.
                let delivered = self.delivered();
                for id in self.model.hits.keys() {
                    if !delivered.contains(id) && !self.model.purged.contains_key(id) {
                        self.model.lost.insert(id.clone());
                    }
                }
                self.model.identity = None;
                self.after_restart();
            }
        }
        self.model.now = self.clock.now_ms();
        self.model.max_now = self.model.max_now.max(self.model.now);
        let now = self.model.now;
        for latest in self.latest_after.values_mut() {
            *latest = (*latest).max(now);
        }
        self.model.lapse();
        let status = self.sdk.mode_status();
        ensure!(
            status.mode == self.model.mode.sdk() && status.consent_renewal_needed == self.model.renewal,
            "after {step:?}: the SDK says {status:?}, the model {:?} (renewal {})",
            self.model.mode,
            self.model.renewal
        );
        self.check_wire()
    }

    fn after_restart(&mut self) {
        self.model.lapse();
        if self.model.identity.is_some_and(|i| !i.valid_at(self.model.now)) {
            self.model.identity = None;
        }
    }

    fn delete_local_data(&mut self) -> Check {
        self.model.lapse();
        self.sdk.delete_local_data().map_err(|e| TestCaseError::fail(format!("delete_local_data: {e}")))?;
        self.model.purge(|_| true);
        if self.model.mode.identified() {
            self.model.mode = M::Exempt;
            self.model.consent_since = None;
            self.model.renewal = false;
        }
        self.model.identity = None;
        Ok(())
    }

    fn track(&mut self, name: &str, props: &[(String, V)]) -> Check {
        let event = Event { name: name.to_owned(), properties: props.iter().map(|(k, v)| (k.clone(), v.sdk())).collect() };
        let got = self.sdk.track(event);
        // The collector's rules, then the mode's.
        let lowered: Vec<String> = props.iter().map(|(k, _)| k.to_ascii_lowercase()).collect();
        let expected_error = if name.bytes().any(|b| !(b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'_')) {
            Some("invalid event name")
        } else if lowered.iter().collect::<HashSet<_>>().len() != lowered.len() {
            Some("duplicate property")
        } else {
            None
        };
        match (expected_error, &got) {
            (Some(_), Err(TrackError::InvalidEventName { .. })) if expected_error == Some("invalid event name") => return Ok(()),
            (Some(_), Err(TrackError::DuplicateProperty { .. })) if expected_error == Some("duplicate property") => return Ok(()),
            (Some(e), _) => return Err(TestCaseError::fail(format!("track {name}: expected {e}, got {got:?}"))),
            (None, Err(e)) => return Err(TestCaseError::fail(format!("track {name}: refused: {e}"))),
            (None, Ok(_)) => {}
        }
        self.model.lapse();
        let mode = self.model.mode;
        match (event_verdict(mode, name, self.model.send_hits_in_opt_out, &self.integrator), got) {
            (Err(code), Ok(TrackOutcome::NotSent { reason })) => {
                ensure!(reason.code() == code, "track {name} in {mode:?}: held back for {}, expected {code}", reason.code());
            }
            (Ok(()), Ok(TrackOutcome::Queued { event_id })) => {
                let props: BTreeMap<String, Json> = props
                    .iter()
                    .filter_map(|(k, v)| {
                        let k = k.to_ascii_lowercase();
                        (valid_name(&k) && !RESERVED.contains(&k.as_str())).then_some(())?;
                        Some((k, v.wire()?))
                    })
                    .collect();
                let identity = mode.identified().then(|| self.model.identity_for_track());
                let at = self.model.now;
                self.latest_after.insert(event_id.clone(), at);
                self.model.hits.insert(event_id, Tracked { event: name.to_owned(), props, mode, identity, at });
            }
            (want, got) => return Err(TestCaseError::fail(format!("track {name} in {mode:?}: model {want:?}, SDK {got:?}"))),
        }
        Ok(())
    }

    fn purge_in_flight(&mut self, purge: Purge, status: u16) -> Check {
        let (tx, rx): (Sender<Held>, Receiver<Held>) = mpsc::channel();
        *self.collector.hold.lock().unwrap() = Some(tx.clone());
        let flusher = {
            let sdk = self.sdk.clone();
            std::thread::spawn(move || {
                let r = sdk.flush().map(|_| ());
                let _ = tx.send(Held::FlushDone);
                r
            })
        };
        let first = rx.recv_timeout(Duration::from_secs(60)).map_err(|_| TestCaseError::fail("flush never ended"))?;
        let held_index = self.log_len().checked_sub(1);
        self.model.log_len = self.log_len();
        match purge {
            Purge::To(m) => {
                self.model.lapse();
                self.sdk.set_mode(m.sdk()).map_err(|e| TestCaseError::fail(e.to_string()))?;
                self.model.change(m);
            }
            Purge::DeleteLocalData => self.delete_local_data()?,
        }
        // Once the writer answers, the purge has committed.
        self.sdk.export_local_data().map_err(|e| TestCaseError::fail(format!("export: {e}")))?;
        match first {
            Held::Request(completion) => {
                if let Some(i) = held_index {
                    self.collector.log.lock().unwrap()[i].status = status;
                }
                completion.complete(HttpOutcome::Response { status, retry_after: None });
                match rx.recv_timeout(Duration::from_secs(60)) {
                    Ok(Held::FlushDone) => {}
                    _ => return Err(TestCaseError::fail("the flush did not end after its answer")),
                }
            }
            Held::FlushDone => {
                // Nothing was queued: no request to hold.
                self.collector.hold.lock().unwrap().take();
            }
        }
        flusher.join().map_err(|_| TestCaseError::fail("flush thread panicked"))?.map_err(|e| TestCaseError::fail(format!("flush: {e}")))?;
        Ok(())
    }

    /// Checks the requests sent since the last check.
    fn check_wire(&mut self) -> Check {
        let log = self.collector.log.lock().unwrap().clone();
        let known_ids: HashSet<String> = self.owners.keys().cloned().collect();
        for (index, request) in log.iter().enumerate().skip(self.checked) {
            let idclient = &request.idclient;
            for e in &request.events {
                let data = e["data"].as_object().cloned().unwrap_or_default();
                let Some(event_id) = data.get("event_id").and_then(Json::as_str).map(str::to_owned) else {
                    return Err(TestCaseError::fail(format!("a hit without event_id: {e}")));
                };
                let Some(t) = self.model.hits.get(&event_id).cloned() else {
                    return Err(TestCaseError::fail(format!("a hit nobody tracked: {e}")));
                };
                if let Some(at) = self.model.purged.get(&event_id) {
                    ensure!(index < *at, "purged hit {event_id} sent after the purge (request {index}, purge at {at}): {e}");
                }
                ensure!(e["name"] == json!(t.event), "event name: {e} for {t:?}");
                // Whose hit: anonymous modes their fixed id; identified hits
                // one id per model identity, never shared.
                match (t.mode.fixed_id(), t.identity) {
                    (Some(fixed), _) => ensure!(idclient == fixed, "{:?} hit under {idclient}", t.mode),
                    (None, Some(n)) => {
                        ensure!(common::is_uuid_v4(idclient), "identified hit under {idclient}");
                        let bound = self.ids.entry(n).or_insert_with(|| idclient.clone());
                        ensure!(bound == idclient, "identity {n} sent under {idclient} and {bound}");
                        let owner = self.owners.entry(idclient.clone()).or_insert(n);
                        ensure!(*owner == n, "id {idclient} carries identities {owner} and {n}");
                    }
                    (None, None) => return Err(TestCaseError::fail("an identified hit without identity")),
                }
                // Exactly what its mode allows, with the right values.
                let expected = expected_data(&t, &event_id, &self.integrator);
                ensure!(Json::Object(data.clone()) == expected, "{:?} hit {}:\n sent     {}\n expected {}", t.mode, t.event, Json::Object(data), expected);
                for v in data.values() {
                    if let Some(s) = v.as_str() {
                        ensure!(!known_ids.contains(s), "a visitor id inside the data: {s}");
                    }
                }
            }
        }
        self.checked = log.len();
        Ok(())
    }

    /// The end: a clean flush, then every accepted hit is delivered or
    /// accounted for by a documented bound; no hit was sent after it was
    /// acknowledged or refused, and all copies of a hit are one hit.
    fn finish(&mut self) -> Check {
        self.model.log_len = self.log_len();
        self.collector.script.lock().unwrap().clear();
        self.sdk.flush().map_err(|e| TestCaseError::fail(format!("final flush: {e}")))?;
        self.check_wire()?;
        let log = self.collector.log.lock().unwrap().clone();
        let mut copies: HashMap<String, (String, Json)> = HashMap::new();
        let mut settled: HashSet<String> = HashSet::new();
        for r in &log {
            let acked = (200..300).contains(&r.status);
            let refused = matches!(r.status, 400 | 413) && r.events.len() == 1;
            for e in &r.events {
                let id = e["data"]["event_id"].as_str().unwrap_or_default().to_owned();
                ensure!(!settled.contains(&id), "hit {id} sent again after it was acknowledged or refused");
                let copy = (r.idclient.clone(), e.clone());
                let first = copies.entry(id.clone()).or_insert_with(|| copy.clone());
                ensure!(*first == copy, "two different copies of hit {id}: {first:?} / {copy:?}");
                if acked || refused {
                    settled.insert(id.clone());
                }
            }
        }
        for (id, t) in &self.model.hits {
            let expirable = t.at < self.latest_after[id].saturating_sub(30 * DAY);
            let accounted = settled.contains(id) || self.model.purged.contains_key(id) || self.model.lost.contains(id) || expirable;
            ensure!(accounted, "accepted hit {id} ({t:?}) was neither delivered nor accounted for");
        }
        Ok(())
    }
}

/// The data a tracked hit must carry, from the rules alone.
fn expected_data(t: &Tracked, event_id: &str, integrator: &Integrator) -> Json {
    let mut out = serde_json::Map::new();
    let allowed = allowed_app_keys(t.mode, &t.event, integrator);
    let lets = |k: &str| allowed.as_ref().is_none_or(|a| a.contains(k)) && k != "free_text";
    let context = context_values();
    if t.mode.anonymous() {
        out.insert("connection_type".into(), context["connection_type"].clone());
    } else {
        for (k, v) in &context {
            if lets(k) {
                out.insert((*k).to_owned(), v.clone());
            }
        }
        for (k, v) in &t.props {
            if lets(k) {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    out.insert("device_timestamp_utc".into(), json!(t.at.div_euclid(1000)));
    out.insert("event_id".into(), json!(event_id));
    out.insert("visitor_privacy_consent".into(), json!(t.mode == M::OptIn));
    out.insert("visitor_privacy_mode".into(), json!(t.mode.wire()));
    Json::Object(out)
}

fn sequence() -> impl Strategy<Value = (bool, Integrator, Vec<Step>)> {
    (any::<bool>(), integrator(), prop::collection::vec(step(), 1..30))
}

fn run_sequence(send_hits_in_opt_out: bool, integrator: Integrator, steps: &[Step]) -> Check {
    let Some(mut run) = Run::new(send_hits_in_opt_out, integrator)? else { return Ok(()) };
    for s in steps {
        run.step(s)?;
    }
    run.finish()?;
    run.sdk.shutdown().map_err(|e| TestCaseError::fail(format!("shutdown: {e}")))
}

fn sequences() -> u32 {
    std::env::var("MESURE_MODEL_SEQUENCES").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000)
}

static STEPS_RUN: AtomicU64 = AtomicU64::new(0);

/// Half the sequences, from a seed of its own.
fn half(seed: u8) {
    let cases = sequences().div_ceil(2);
    let config = RunnerConfig { cases, failure_persistence: None, ..RunnerConfig::default() };
    let mut runner = TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &[seed; 32]));
    let result = runner.run(&sequence(), |(opt_out_hits, integrator, steps)| {
        STEPS_RUN.fetch_add(steps.len() as u64, Ordering::Relaxed);
        run_sequence(opt_out_hits, integrator, &steps)
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    println!("privacy model: {cases} random sequences, {} steps in all so far, passed (seed {seed})", STEPS_RUN.load(Ordering::Relaxed));
}

#[test]
fn privacy_model_sequences_a() {
    half(1);
}

#[test]
fn privacy_model_sequences_b() {
    half(2);
}
