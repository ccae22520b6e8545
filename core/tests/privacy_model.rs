//! The privacy promise as a state machine, checked against a reference model.
//!
//! Random sequences drive the whole SDK (storage, uploader, a scripted HTTP
//! client) through what a careless app, a hostile integrator, a wrong clock,
//! a second process, a second site and a flaky network do: `track` with any
//! name, key and value (reserved keys in any case, identifying names, e-mail
//! addresses, phone numbers and long numbers as values, huge values), mode
//! changes of every kind, no-storage, consent by purpose with overlapping
//! patterns, the app's words in the device context, clock jumps both ways and
//! time passing (past the queue's longest age and the id's 13 months),
//! flushes against a collector answering 2xx, 400, 413, 503 or never, purges
//! and withdrawals while hits are queued or a request is in flight,
//! restarts, a dry run then a real run, a second instance, another site on
//! the same directory, a database overwritten with garbage,
//! `delete_local_data`, and an integrator's configuration (identifying
//! allowances, letter-prefix wildcards, a consent mode as default).
//!
//! The model is written from the rules (issue 16, README, PRIVACY.md), not
//! from the code. After every step it checks:
//!
//! - the mode, the purposes and the renewal flag read back are the model's;
//! - every `track` outcome (queued, held back, refused) is the model's;
//! - every hit on the wire carries exactly the keys and values the model
//!   computed when it was tracked (the mode's keys, the purposes in force
//!   for a consented hit, identifying values masked without consent), and
//!   never an event its mode holds back;
//! - anonymous hits carry their fixed id; identified hits an id that
//!   belongs to one model identity, valid when the request left;
//! - nothing purged (opt-out, no-storage, a withdrawal or lapse of consent,
//!   `delete_local_data`) is sent after the purge, and no purged id is left
//!   in any file of the storage directory;
//! - nothing tracked in a dry run ever reaches the collector;
//! - no hit is invented, and every copy of a hit is the same hit;
//! - at the end, after a clean flush, every accepted hit was delivered or is
//!   accounted for by a documented bound (purged, refused by the collector,
//!   past the age bound, its id expired, lost with a corrupt database).
//!
//! Three layer settings: both layers on (the egress gate must then never
//! hold anything back: the filter and the gate agree); the track-time filter
//! off (the egress gate alone must let nothing out that the rules forbid;
//! what it holds back is accounted for); the gate off (the filter and the
//! queue's maintenance alone hold).
//!
//! `MESURE_MODEL_SEQUENCES` sets the number of sequences with both layers
//! (10 000 by default, split over two test threads),
//! `MESURE_MODEL_LAYER_SEQUENCES` each single-layer run (1 000 by default);
//! the counts are printed.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Months, Utc};
use mesure_core::testing::Layers;
use mesure_core::*;
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, RngAlgorithm, TestRng, TestRunner};
use serde_json::{json, Value as Json};

// ---------------------------------------------------------------- the rules

const DAY: i64 = 86_400_000;
const SITE: u32 = 42;
const EXEMPT_EVENTS: [&str; 5] = ["page.display", "click.action", "click.navigation", "click.download", "click.exit"];
/// The strictly necessary set of the README: audience measurement's.
const EXEMPT_KEYS: [&str; 24] = [
    "page",
    "page_chapter1",
    "page_chapter2",
    "page_chapter3",
    "previous_page",
    "click",
    "click_chapter1",
    "click_chapter2",
    "click_chapter3",
    "device_type",
    "device_brand",
    "device_model",
    "device_screen_width",
    "device_screen_height",
    "os",
    "os_version",
    "app_version",
    "connection_type",
    "device_timestamp_utc",
    "event_collection_platform",
    "event_collection_version",
    "page_duration",
    "page_load_time",
    "page_scroll_depth",
];
const RESERVED: [&str; 7] = [
    "visitor_privacy_mode",
    "visitor_privacy_consent",
    "visitor_privacy_purposes",
    "event_id",
    "device_timestamp_utc",
    "event_collection_platform",
    "event_collection_version",
];
const AM: &str = "audience_measurement";
const RECO: &str = "personalisation";
const AD: &str = "advertising";
/// The purposes in the configuration's order, audience measurement first.
const PURPOSES: [&str; 3] = [AM, RECO, AD];

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
    /// An app-scoped id on the device and on its hits.
    fn identified(self) -> bool {
        matches!(self, M::OptIn | M::Exempt | M::Plus)
    }
    /// Only the SDK's own values, a fixed id.
    fn anonymous(self) -> bool {
        matches!(self, M::OptOut | M::NoConsent)
    }
    /// Carries everything: needs consent (issue 16, leak 3).
    fn consent_mode(self) -> bool {
        matches!(self, M::OptIn | M::NoStorage)
    }
    /// `visitor_privacy_consent`.
    fn consent_flag(self) -> bool {
        self == M::OptIn
    }
    fn exempt_like(self) -> bool {
        matches!(self, M::Exempt | M::Plus)
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

fn pm_wire(m: PurposeMode) -> &'static str {
    match m {
        PurposeMode::OptIn => "opt-in",
        PurposeMode::Essential => "essential",
        PurposeMode::OptOut => "opt-out",
        PurposeMode::NotAcquired => "not-acquired",
    }
}

/// The device contexts the app may set: some valid, some holding its own
/// words where only the SDK's closed sets or clean values may go.
fn contexts() -> Vec<(DeviceContext, bool)> {
    let base = common::context();
    let with = |f: &dyn Fn(&mut DeviceContext)| {
        let mut c = base.clone();
        f(&mut c);
        c
    };
    vec![
        (base.clone(), true),
        (
            with(&|c| {
                c.connection_type = Some("cellular".into());
                c.device_model = Some("Pixel 8".into());
            }),
            true,
        ),
        (with(&|c| c.connection_type = None), true),
        (with(&|c| c.connection_type = Some("jane.doe@example.com".into())), false),
        (with(&|c| c.connection_type = Some("5g".into())), false),
        (with(&|c| c.device_model = Some("Jane +33 6 12 34 56 78".into())), false),
    ]
}

/// The context as it leaves the device (name, JSON value).
fn context_values(c: &DeviceContext) -> BTreeMap<&'static str, Json> {
    let mut m = BTreeMap::new();
    let mut s = |k: &'static str, v: &Option<String>| {
        if let Some(v) = v {
            m.insert(k, json!(v));
        }
    };
    s("app_version", &c.app_version);
    s("connection_type", &c.connection_type);
    s("device_brand", &c.device_brand);
    s("device_model", &c.device_model);
    s("device_type", &c.device_type);
    s("os", &c.os);
    s("os_version", &c.os_version);
    m.insert("event_collection_platform", json!(c.collection_platform.clone().unwrap_or_else(|| "rust".into())));
    m.insert("event_collection_version", json!(SDK_VERSION));
    if let Some(w) = c.device_screen_width {
        m.insert("device_screen_width", json!(w));
    }
    if let Some(h) = c.device_screen_height {
        m.insert("device_screen_height", json!(h));
    }
    m
}

fn add_months(at: i64, months: u32) -> Option<i64> {
    let end = DateTime::<Utc>::from_timestamp_millis(at)?.checked_add_months(Months::new(months))?.timestamp_millis();
    (end > at).then_some(end)
}

/// A consent (or an id) dated `since` holds at `now`: not more than a day
/// in the future, and before its end.
fn holds(since: i64, months: u32, now: i64) -> bool {
    since <= now.saturating_add(DAY) && add_months(since, months).is_some_and(|e| now < e)
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

// ---------------------------------------------------------------- the integrator

/// Names a careless or hostile integrator may try to allow without consent.
/// Every one identifies a person or a device, glued and abbreviated ones
/// included (issue 16, leak 1): the configuration is refused.
const IDENTIFYING: [&str; 46] = [
    "user_id",
    "userid",
    "username",
    "uid",
    "customer_id",
    "account_id",
    "client_id",
    "member_id",
    "deviceid",
    "device_id",
    "androidid",
    "android_id",
    "advertiserid",
    "advertising_id",
    "idfa",
    "idfv",
    "gaid",
    "ipaddress",
    "ip",
    "lat",
    "lng",
    "lon",
    "long",
    "geo_long",
    "geo_latitude",
    "location",
    "email",
    "mail",
    "tel",
    "phone_number",
    "imsi",
    "iccid",
    "serialnumber",
    "macaddress",
    "idclient",
    "visitor_id",
    "login",
    "full_name",
    "birthdate",
    "address",
    "customeruserid",
    "clientip",
    "geolat",
    "wifimac",
    "emailsha256",
    "usr_id",
];
/// Ordinary analytics names: accepted, and then sent in exempt.
const ORDINARY: [&str; 8] =
    ["article_id", "video_duration", "error_code", "theme", "search_results_count", "long_press_count", "app_language", "level"];
/// Event patterns for the custom mode: named ones are accepted; the others
/// (every event, a letter prefix, an identifying name) refused.
const NAMED_EVENTS: [&str; 3] = ["search.*", "search.results", "video.*"];
const UNNAMED_EVENTS: [&str; 6] = ["*", "**", "*.results", "user.login", "s*", "sea*.results"];
/// Anonymous event lists: exact names, or patterns (refused).
const ANONYMOUS_OK: [&str; 2] = ["page.display", "video.play"];
const ANONYMOUS_BAD: [&str; 2] = ["page.*", "p*"];

/// What the integrator configured beyond the fixed test configuration.
#[derive(Debug, Clone, Copy)]
struct Integrator {
    extra_allowance: Option<&'static str>,
    custom_events: Option<&'static str>,
    /// `Some(true)`: exact names; `Some(false)`: patterns (refused).
    anonymous_events: Option<bool>,
    default: M,
    queue_max_age_days: u32,
}

impl Integrator {
    /// The field validation names first, if the configuration is refused
    /// (the order `Config::validate` checks them in).
    fn refusal(&self) -> Option<(&'static str, ConfigErrorKind)> {
        if self.extra_allowance.is_some_and(|a| IDENTIFYING.contains(&a)) {
            return Some(("exempt_allowlist[1].property", ConfigErrorKind::IdentifyingProperty));
        }
        if self.anonymous_events == Some(false) {
            return Some(("anonymous_events[0]", ConfigErrorKind::Invalid));
        }
        if let Some(e) = self.custom_events.filter(|e| UNNAMED_EVENTS.contains(e)) {
            let kind = if e == "user.login" { ConfigErrorKind::IdentifyingProperty } else { ConfigErrorKind::Invalid };
            return Some(("custom_modes[0].allowed_events[0]", kind));
        }
        if self.default.consent_mode() {
            return Some(("default_mode", ConfigErrorKind::ConsentModeAsDefault));
        }
        None
    }

    fn anonymous_events(&self) -> Vec<&'static str> {
        match self.anonymous_events {
            Some(true) => ANONYMOUS_OK.to_vec(),
            _ => EXEMPT_EVENTS.to_vec(),
        }
    }
}

fn integrator() -> impl Strategy<Value = Integrator> {
    // Refused configurations are a few percent each: most sequences run.
    let allowance = prop_oneof![
        5 => Just(None),
        1 => prop::sample::select(IDENTIFYING.to_vec()).prop_map(Some),
        2 => prop::sample::select(ORDINARY.to_vec()).prop_map(Some),
    ];
    let events = prop_oneof![
        12 => prop::sample::select(NAMED_EVENTS.to_vec()).prop_map(Some),
        1 => prop::sample::select(UNNAMED_EVENTS.to_vec()).prop_map(Some),
    ];
    let anonymous = prop_oneof![8 => Just(None), 4 => Just(Some(true)), 1 => Just(Some(false))];
    let default = prop_oneof![16 => Just(M::Exempt), 6 => Just(M::NoConsent), 1 => Just(M::NoStorage), 1 => Just(M::OptIn)];
    let age = prop_oneof![Just(30u32), Just(395u32)];
    (allowance, events, anonymous, default, age).prop_map(|(extra_allowance, custom_events, anonymous_events, default, queue_max_age_days)| {
        Integrator { extra_allowance, custom_events, anonymous_events, default, queue_max_age_days }
    })
}

fn config(dir: &std::path::Path, send_hits_in_opt_out: bool, integrator: &Integrator, wire: Wire) -> Config {
    let mut c = Config::new("https://collect.example.test", SITE, dir);
    if wire == Wire::Matomo {
        c.collector = mesure_core::Collector::Matomo { app_host: matomo::HOST.into(), dimensions: matomo::dimensions() };
    }
    c.context = common::context();
    c.send_hits_in_opt_out = send_hits_in_opt_out;
    c.flush_interval_ms = 3_600_000;
    c.batch_size = 500;
    c.default_mode = integrator.default.sdk();
    c.queue_max_age_days = integrator.queue_max_age_days;
    c.exempt_allowlist.push(AllowedProperty {
        property: "ab_variant".into(),
        events: "page.*".into(),
        justification: "A/B test of the onboarding screen".into(),
    });
    c.forbidden_properties.push(PropertyRule { property: "free_text".into(), events: "*".into() });
    c.forbidden_events.push("debug.*".into());
    // Receipts and consent statistics leave too (the HTTP client is the model's).
    c.consent.endpoint = Some("https://consent.example.test/consent".into());
    if let Some(extra) = integrator.extra_allowance {
        c.exempt_allowlist.push(AllowedProperty {
            property: extra.into(),
            events: "*".into(),
            justification: "the integrator says it is strictly necessary".into(),
        });
    }
    c.anonymous_events = match integrator.anonymous_events {
        None => None,
        Some(true) => Some(ANONYMOUS_OK.iter().map(|s| (*s).to_owned()).collect()),
        Some(false) => Some(ANONYMOUS_BAD.iter().map(|s| (*s).to_owned()).collect()),
    };
    c.custom_modes.push(CustomMode {
        name: "plus".into(),
        allowed_events: integrator.custom_events.map(str::to_owned).into_iter().collect(),
        allowed_properties: vec![AllowedProperty {
            property: "search_category".into(),
            events: "search.*".into(),
            justification: "which search categories return nothing".into(),
        }],
    });
    // `reco_segment` serves both: it needs both consents (leak 10).
    c.purposes = vec![
        PurposeConfig { name: RECO.into(), properties: vec!["reco_*".into()] },
        PurposeConfig { name: AD.into(), properties: vec!["ad_*".into(), "*_segment".into()] },
    ];
    c
}

/// Which app keys (lower-cased) a mode's rules let leave with an event;
/// `None`: any. (Purposes and values are judged after.)
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
        M::Exempt => EXEMPT_EVENTS.contains(&event),
        M::OptOut | M::NoConsent => integrator.anonymous_events().contains(&event),
        M::Plus => EXEMPT_EVENTS.contains(&event) || integrator.custom_events.is_some_and(|p| pattern_matches(p, event)),
    };
    if allowed {
        Ok(())
    } else {
        Err("event_not_allowed_in_mode")
    }
}

/// `name` or `prefix.*`, the only accepted shapes the model's integrator uses.
fn pattern_matches(pattern: &str, event: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => event.starts_with(prefix),
        None => pattern == event,
    }
}

/// The purposes (besides audience measurement) a property serves.
fn purposes_of(key: &str) -> Vec<&'static str> {
    let mut v = Vec::new();
    if key.starts_with("reco_") {
        v.push(RECO);
    }
    if key.starts_with("ad_") || key.ends_with("_segment") {
        v.push(AD);
    }
    v
}

/// Audience measurement's properties: the strictly necessary set and the
/// exempt allowlist.
fn serves_audience(key: &str, integrator: &Integrator) -> bool {
    EXEMPT_KEYS.contains(&key) || key == "ab_variant" || integrator.extra_allowance == Some(key)
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

/// Texts whose masked form without consent is known (leak 2).
const MASKED: [(&str, &str); 6] = [
    ("jane.doe@example.com", "[email]"),
    ("call +33 6 12 34 56 78", "call [phone]"),
    ("from 82.64.12.3", "from [ip]"),
    ("card 4111111111111111", "card [number]"),
    ("idfa 6D92078A-8246-4BA4-AE5B-76104861E7DC", "idfa [uuid]"),
    ("at 48.8566, 2.3522", "at [coordinates]"),
];

fn mask(s: &str) -> String {
    MASKED.iter().find(|(t, _)| *t == s).map_or_else(|| s.to_owned(), |(_, m)| (*m).to_owned())
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
    /// Without consent, identifying text is masked and identifying numbers
    /// (9 digits or more) are held back: `None` too.
    fn wire(&self, consent: bool) -> Option<Json> {
        let cut = |s: &String| s.chars().take(1000).collect::<String>();
        let text = |s: &String| if consent { cut(s) } else { mask(&cut(s)) };
        match self {
            V::Text(s) => Some(json!(text(s))),
            V::Int(i) if !consent && i.unsigned_abs() >= 100_000_000 => None,
            V::Int(i) => Some(json!(i)),
            V::Float(f) if f.is_finite() => Some(json!(f)),
            V::Float(_) => None,
            V::Flag(b) => Some(json!(b)),
            V::List(l) => Some(Json::Array(l.iter().take(100).map(|s| json!(text(s))).collect())),
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
    /// An event; `true`: written into one buffer, as the Kotlin and Swift
    /// wrappers hand it over (`Sdk::track_encoded`).
    Track(String, Vec<(String, V)>, bool),
    SetMode(M),
    SetConsent(bool),
    SetOptedOut(bool),
    SetPurposes(Vec<(&'static str, PurposeMode)>),
    SetContext(usize),
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
    /// Restart in a dry run (true) or a real run (false).
    DryRun(bool),
    SecondInstance,
    /// Another site starts on this directory.
    OtherSite,
    CorruptDatabase,
    /// The consent prompt was shown (the consent statistics count it).
    PromptShown,
    /// The visitor answered the prompt (`set_consent` with the prompt).
    AnswerInPrompt(bool),
    /// The visitor's own switch of the consent statistics.
    ConsentStatistics(bool),
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

/// The property names the adversary tags with (valid, invalid, identifying,
/// reserved, SDK-owned, purpose-bound).
const KEYS: [&str; 41] = [
    "page",
    "Page",
    "page_chapter1",
    "click",
    "previous_page",
    "device_model",
    "connection_type",
    "os",
    "ab_variant",
    "search_category",
    "free_text",
    "user_id",
    "USER_ID",
    "Email",
    "idfa",
    "geo_latitude",
    "member_id",
    "event_id",
    "Event_Id",
    "VISITOR_PRIVACY_MODE",
    "visitor_privacy_consent",
    "idclient",
    "visitor_privacy_purposes",
    "device_timestamp_utc",
    "event_collection_version",
    "m_x",
    "bad-name",
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "basket_value",
    "long_text",
    "list",
    "article_id",
    "theme",
    "level",
    "location",
    "ip",
    "reco_slot",
    "ad_campaign",
    "reco_segment",
    "user_segment",
    "page_load_time",
];

fn key() -> impl Strategy<Value = String> {
    prop::sample::select(KEYS.to_vec()).prop_map(str::to_owned)
}

fn value() -> impl Strategy<Value = V> {
    prop_oneof![
        4 => prop::sample::select(vec!["home", "B", ""]).prop_map(|s| V::Text(s.to_owned())),
        3 => prop::sample::select(MASKED.iter().map(|(t, _)| *t).collect::<Vec<_>>()).prop_map(|s| V::Text(s.to_owned())),
        1 => (1000usize..1200).prop_map(|n| V::Text("é".repeat(n))),
        2 => any::<i64>().prop_map(V::Int),
        1 => prop_oneof![Just(12i64), Just(99_999_999), Just(100_000_000), Just(33_612_345_678)].prop_map(V::Int),
        1 => prop_oneof![Just(f64::NAN), Just(f64::INFINITY), Just(12.5), Just(-0.0)].prop_map(V::Float),
        1 => any::<bool>().prop_map(V::Flag),
        1 => (0usize..150).prop_map(|n| V::List((0..n).map(|i| format!("i{i}")).collect())),
        1 => Just(V::List(vec!["home".into(), "jane.doe@example.com".into()])),
    ]
}

fn mode() -> impl Strategy<Value = M> {
    prop::sample::select(vec![M::OptIn, M::Exempt, M::OptOut, M::NoConsent, M::NoStorage, M::Plus])
}

fn purpose_mode() -> impl Strategy<Value = PurposeMode> {
    prop::sample::select(vec![PurposeMode::OptIn, PurposeMode::Essential, PurposeMode::OptOut, PurposeMode::NotAcquired])
}

fn step() -> impl Strategy<Value = Step> {
    let status = prop::sample::select(vec![200u16, 400, 413, 503, 0]);
    prop_oneof![
        12 => (event_name(), prop::collection::vec((key(), value()), 0..6), any::<bool>()).prop_map(|(n, p, e)| Step::Track(n, p, e)),
        3 => mode().prop_map(Step::SetMode),
        2 => any::<bool>().prop_map(Step::SetConsent),
        1 => any::<bool>().prop_map(Step::SetOptedOut),
        2 => prop::collection::vec((prop::sample::select(PURPOSES.to_vec()), purpose_mode()), 1..4).prop_map(Step::SetPurposes),
        1 => (0usize..6).prop_map(Step::SetContext),
        2 => prop_oneof![
            -3 * 365 * DAY..3 * 365 * DAY,
            Just(-DAY - 1),
            Just(DAY + 1),
            Just(i64::MIN / 2),
            Just(i64::MAX / 2),
        ]
        .prop_map(Step::SetClock),
        2 => prop_oneof![0i64..10_000, DAY..45 * DAY, Just(183 * DAY), Just(200 * DAY), Just(400 * DAY)].prop_map(Step::Advance),
        3 => prop::collection::vec(status.clone(), 0..3).prop_map(Step::Flush),
        1 => (
            prop_oneof![mode().prop_map(Purge::To), Just(Purge::DeleteLocalData)],
            prop::sample::select(vec![200u16, 400, 413, 503]),
        )
            .prop_map(|(p, s)| Step::PurgeInFlight(p, s)),
        1 => Just(Step::DeleteLocalData),
        1 => Just(Step::Restart),
        1 => any::<bool>().prop_map(Step::DryRun),
        1 => Just(Step::SecondInstance),
        1 => Just(Step::OtherSite),
        1 => Just(Step::CorruptDatabase),
        1 => Just(Step::PromptShown),
        1 => any::<bool>().prop_map(Step::AnswerInPrompt),
        1 => any::<bool>().prop_map(Step::ConsentStatistics),
    ]
}

// ---------------------------------------------------------------- the wire

/// One request as the collector saw it.
#[derive(Debug, Clone)]
struct Request {
    idclient: String,
    site: String,
    /// Piano: the hits. Matomo: one `{"data": {"event_id": ..}, "params": {..}}`
    /// per entry (the event id from its mapped dimension).
    events: Vec<Json>,
    /// The answer (0: none).
    status: u16,
    /// The wall clock when it left.
    at: i64,
}

enum Held {
    Request(Completion),
    FlushDone,
}

/// One request to the consent endpoint: its body, its answer.
#[derive(Debug, Clone)]
struct ConsentRequest {
    body: String,
    status: u16,
}

/// Records every request; answers from a script, or holds one request.
struct Collector {
    clock: Arc<StepClock>,
    log: Mutex<Vec<Request>>,
    consent: Mutex<Vec<ConsentRequest>>,
    script: Mutex<Vec<u16>>,
    hold: Mutex<Option<Sender<Held>>>,
}

impl HttpClient for Collector {
    fn send(&self, request: HttpRequest, completion: Completion) {
        if request.url.ends_with("/consent") {
            let status = {
                let mut script = self.script.lock().unwrap();
                if script.is_empty() {
                    200
                } else {
                    script.remove(0)
                }
            };
            let body = String::from_utf8_lossy(&request.body).into_owned();
            self.consent.lock().unwrap().push(ConsentRequest { body, status });
            if status != 0 {
                completion.complete(HttpOutcome::Response { status, retry_after: None, body: Vec::new() });
            }
            return;
        }
        let body: Json = serde_json::from_slice(&request.body).unwrap_or(Json::Null);
        let query = |k: &str| request.url.split(&format!("{k}=")).nth(1).unwrap_or("").split('&').next().unwrap_or("").to_owned();
        let (idclient, site, events) = if request.url.ends_with("/matomo.php") {
            let entries: Vec<BTreeMap<String, String>> =
                body["requests"].as_array().into_iter().flatten().map(|e| matomo::decode(e.as_str().unwrap_or(""))).collect();
            let first = entries.first().cloned().unwrap_or_default();
            let who = first.get("_id").or(first.get("cid")).cloned().unwrap_or_default();
            let site = first.get("idsite").cloned().unwrap_or_default();
            let events = entries
                .into_iter()
                .map(|p| json!({"data": {"event_id": p.get(&format!("dimension{}", matomo::event_id_dimension()))}, "params": p}))
                .collect();
            (who, site, events)
        } else {
            (query("idclient"), query("s"), body["events"].as_array().cloned().unwrap_or_default())
        };
        let held = self.hold.lock().unwrap().take();
        let status = match &held {
            Some(_) => 0,
            None => {
                let mut script = self.script.lock().unwrap();
                if script.is_empty() {
                    200
                } else {
                    script.remove(0)
                }
            }
        };
        let at = self.clock.now_ms();
        self.log.lock().unwrap().push(Request { idclient, site, events, status, at });
        match (held, status) {
            // The driver answers later; it fills in the status.
            (Some(tx), _) => {
                let _ = tx.send(Held::Request(completion));
            }
            (None, 0) => drop(completion),
            (None, s) => {
                completion.complete(HttpOutcome::Response { status: s, retry_after: None, body: Vec::new() });
            }
        }
    }
}

/// What the egress gate held back, by event id.
#[derive(Default)]
struct GateWatch(Mutex<Vec<(EgressReason, String)>>);

impl Listener for GateWatch {
    fn on_diagnostic(&self, d: &Diagnostic) {
        if let Diagnostic::HeldAtEgress { reason, event_ids } = d {
            self.0.lock().unwrap().extend(event_ids.iter().map(|id| (*reason, id.clone())));
        }
    }
}

// ---------------------------------------------------------------- the model

#[derive(Debug, Clone)]
struct Tracked {
    event: String,
    mode: M,
    /// The data it must carry on the wire, computed from the rules when it
    /// was tracked (without `event_id`).
    data: BTreeMap<String, Json>,
    /// The model identity of an identified hit.
    identity: Option<u64>,
    at: i64,
    /// Tracked in a dry run: never on the wire.
    dry: bool,
    /// With the filter off: what the filter would have answered (the gate
    /// must then hold it back).
    held_by_filter: Option<&'static str>,
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

/// What a purge step deletes, for the check that no byte of an id is left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Erasure {
    /// Every id (opt-out, no-consent, no-storage, delete_local_data).
    All,
    /// The ids of consented hits and the current one (a withdrawal).
    Consented,
}

struct Model {
    send_hits_in_opt_out: bool,
    integrator: Integrator,
    mode: M,
    /// The consent's date, when the mode is a consent mode.
    consent_since: Option<i64>,
    renewal: bool,
    /// A choice is recorded (else the configured default applies).
    recorded: bool,
    /// The purposes answered, with when.
    answers: BTreeMap<&'static str, (PurposeMode, i64)>,
    context: usize,
    dry: bool,
    identity: Option<Identity>,
    identities: HashMap<u64, Identity>,
    next_identity: u64,
    now: i64,
    hits: HashMap<String, Tracked>,
    /// The length of the wire log when the current step began.
    log_len: usize,
    /// Hits a purge deleted, with the length of the wire log at that moment.
    purged: HashMap<String, usize>,
    /// Hits lost with a corrupt database.
    lost: HashSet<String>,
    /// What the current step erased, if anything.
    erasure: Option<Erasure>,
    /// The visitor switched the consent statistics off.
    statistics_off: bool,
    /// Counts the consent statistics took while on (shown, answered).
    counted: u64,
}

impl Model {
    fn new(send_hits_in_opt_out: bool, integrator: Integrator, now: i64) -> Model {
        Model {
            send_hits_in_opt_out,
            integrator,
            mode: integrator.default,
            consent_since: None,
            renewal: false,
            recorded: false,
            answers: BTreeMap::new(),
            context: 0,
            dry: false,
            identity: None,
            identities: HashMap::new(),
            next_identity: 0,
            now,
            hits: HashMap::new(),
            log_len: 0,
            purged: HashMap::new(),
            lost: HashSet::new(),
            erasure: None,
            statistics_off: false,
            counted: 0,
        }
    }

    /// What an unanswered purpose reads as (never opt-in).
    fn unset(mode: M, p: &str) -> PurposeMode {
        match mode {
            M::Exempt | M::Plus if p == AM => PurposeMode::Essential,
            M::Exempt | M::Plus | M::OptOut => PurposeMode::OptOut,
            M::OptIn | M::NoConsent | M::NoStorage => PurposeMode::NotAcquired,
        }
    }

    fn purposes(&self) -> Vec<(&'static str, PurposeMode)> {
        PURPOSES.iter().map(|p| (*p, self.answers.get(p).map_or_else(|| Self::unset(self.mode, p), |a| a.0))).collect()
    }

    /// The combination stands for the mode itself: nothing more on the wire.
    fn canonical(&self) -> bool {
        let all = |m: PurposeMode| self.purposes().iter().all(|(_, x)| *x == m);
        match self.mode {
            M::OptIn | M::NoStorage => all(PurposeMode::OptIn),
            M::OptOut => all(PurposeMode::OptOut),
            M::NoConsent => all(PurposeMode::NotAcquired),
            M::Exempt | M::Plus => self.purposes().iter().all(|(p, m)| *m == if *p == AM { PurposeMode::Essential } else { PurposeMode::OptOut }),
        }
    }

    /// A consented hit's purposes: whether `key` may leave.
    fn purposes_allow(&self, key: &str) -> bool {
        if self.canonical() {
            return true;
        }
        let modes: BTreeMap<&str, PurposeMode> = self.purposes().into_iter().collect();
        let ok = |p: &str| p == AM || modes[p] == PurposeMode::OptIn;
        let named = purposes_of(key);
        if named.is_empty() {
            serves_audience(key, &self.integrator) || PURPOSES.iter().all(|p| ok(p))
        } else {
            named.iter().all(|p| ok(p))
        }
    }

    /// The mode's own answers, when a mode is the answer (`None`: the
    /// purpose's answer stays).
    fn mode_answers(mode: M, p: &str) -> Option<PurposeMode> {
        match mode {
            M::OptIn => Some(PurposeMode::OptIn),
            M::NoStorage if p == AM => Some(PurposeMode::OptIn),
            M::NoStorage => None,
            other => Some(Self::unset(other, p)),
        }
    }

    /// Consents lapse 6 calendar months after they were given (at once if
    /// dated more than a day ahead): each purpose's opt-in, and a consent
    /// mode, which returns to the default; consent must be asked again.
    fn lapse(&mut self) {
        let now = self.now;
        let lapsed: Vec<&str> =
            self.answers.iter().filter(|(_, (m, since))| *m == PurposeMode::OptIn && !holds(*since, 6, now)).map(|(p, _)| *p).collect();
        for p in &lapsed {
            self.answers.remove(p);
        }
        if self.mode.consent_mode() && !self.consent_since.is_some_and(|s| holds(s, 6, now)) {
            let default = self.integrator.default;
            self.change(default);
            self.renewal = true;
        } else if !lapsed.is_empty() {
            self.renewal = true;
            self.recorded = true;
        }
    }

    /// The identity rule and the purges (issue 16): entering an anonymous
    /// mode purges every hit but anonymous ones; entering no-storage purges
    /// identified hits; leaving consent (opt-in, no-storage) for a mode
    /// without purges what was queued with consent; each renews the id, and
    /// so does giving consent.
    fn change(&mut self, to: M) {
        let from = self.mode;
        if to.anonymous() {
            self.purge(|t| !t.mode.anonymous());
            self.identity = None;
            self.erasure = Some(Erasure::All);
        } else if to == M::NoStorage && from != M::NoStorage {
            self.purge(|t| t.mode.identified());
            self.identity = None;
            self.erasure = Some(Erasure::All);
        } else if from.consent_mode() && !to.consent_mode() {
            self.purge(|t| t.mode.consent_mode());
            self.identity = None;
            self.erasure = Some(Erasure::Consented);
        } else if from.consent_flag() != to.consent_flag() {
            self.identity = None;
        }
        self.mode = to;
        self.renewal = false;
        self.recorded = true;
        self.consent_since = to.consent_mode().then_some(self.now);
    }

    /// A mode the app sets: it answers the purposes it stands for.
    fn set_mode(&mut self, to: M) {
        for p in PURPOSES {
            if let Some(m) = Self::mode_answers(to, p) {
                self.answers.insert(p, (m, self.now));
            }
        }
        self.change(to);
    }

    fn set_purposes(&mut self, answers: &[(&'static str, PurposeMode)]) {
        for (p, m) in answers {
            self.answers.insert(*p, (*m, self.now));
        }
        match answers.iter().rev().find(|(p, _)| *p == AM).map(|(_, m)| *m) {
            Some(am) => {
                let to = match am {
                    PurposeMode::OptIn if self.mode == M::NoStorage => M::NoStorage,
                    PurposeMode::OptIn => M::OptIn,
                    PurposeMode::OptOut => M::OptOut,
                    PurposeMode::NotAcquired => M::NoConsent,
                    _ if self.mode.exempt_like() => self.mode,
                    _ if self.integrator.default.exempt_like() => self.integrator.default,
                    _ => M::Exempt,
                };
                self.change(to);
            }
            None => self.renewal = false,
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
                let i = Identity { n, created: self.now, expires: add_months(self.now, 13).or(Some(self.now)) };
                self.identity = Some(i);
                self.identities.insert(n, i);
                n
            }
        }
    }

    /// The data a hit of `mode` carries, from the rules alone.
    fn expected_data(&self, mode: M, event: &str, props: &[(String, V)]) -> BTreeMap<String, Json> {
        let mut out = BTreeMap::new();
        let consent = mode.consent_mode();
        let (context, _) = &contexts()[self.context];
        let context = context_values(context);
        let allowed = allowed_app_keys(mode, event, &self.integrator);
        let rules_let = |k: &str| allowed.as_ref().is_none_or(|a| a.contains(k)) && k != "free_text";
        if mode.anonymous() {
            if let Some(c) = context.get("connection_type") {
                out.insert("connection_type".into(), c.clone());
            }
        } else {
            for (k, v) in &context {
                if rules_let(k) {
                    out.insert((*k).to_owned(), v.clone());
                }
            }
            for (k, v) in props {
                let k = k.to_ascii_lowercase();
                if !valid_name(&k) || RESERVED.contains(&k.as_str()) || !rules_let(&k) {
                    continue;
                }
                if consent && !self.purposes_allow(&k) {
                    continue;
                }
                match v.wire(consent) {
                    Some(w) => {
                        out.insert(k, w);
                    }
                    // Refused (a non-finite number): the context's value stays.
                    None if v.wire(true).is_none() => {}
                    // Held back (an identifying number): nothing, and the
                    // context's value of that name does not come back.
                    None => {
                        out.remove(&k);
                    }
                }
            }
        }
        out.insert("device_timestamp_utc".into(), json!(self.now.div_euclid(1000)));
        out.insert("visitor_privacy_consent".into(), json!(mode.consent_flag()));
        out.insert("visitor_privacy_mode".into(), json!(mode.wire()));
        if consent && !self.canonical() {
            let mut items: Vec<String> = self.purposes().iter().map(|(p, m)| format!("{p}:{}", pm_wire(*m))).collect();
            items.sort();
            out.insert("visitor_privacy_purposes".into(), json!(items));
        }
        out
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
    wire: Wire,
    config: Config,
    layers: Layers,
    clock: Arc<StepClock>,
    collector: Arc<Collector>,
    gate: Arc<GateWatch>,
    sdk: Arc<Sdk>,
    model: Model,
    start: i64,
    /// The wire log entries already checked.
    checked: usize,
    /// The consent requests already checked.
    consent_checked: usize,
    /// identity <-> idclient.
    ids: HashMap<u64, String>,
    owners: HashMap<String, u64>,
    /// For each hit, the latest wall time seen since it was tracked.
    latest_after: HashMap<String, i64>,
    /// Hits whose id was seen invalid after they were tracked.
    id_invalid_seen: HashSet<String>,
}

type Check = Result<(), TestCaseError>;

macro_rules! ensure {
    ($cond:expr, $($arg:tt)+) => {
        if !$cond {
            return Err(TestCaseError::fail(format!($($arg)+)));
        }
    };
}

fn fail(what: impl std::fmt::Display) -> TestCaseError {
    TestCaseError::fail(what.to_string())
}

impl Run {
    /// A run, or `None` when the configuration is refused, as it must be.
    fn new(send_hits_in_opt_out: bool, integrator: Integrator, layers: Layers, wire: Wire) -> Result<Option<Run>, TestCaseError> {
        let dir = storage_root();
        let config = config(dir.path(), send_hits_in_opt_out, &integrator, wire);
        let start = common::t0();
        let clock = Arc::new(StepClock(start.into()));
        let collector = Arc::new(Collector {
            clock: clock.clone(),
            log: Mutex::default(),
            consent: Mutex::default(),
            script: Mutex::default(),
            hold: Mutex::default(),
        });
        let gate = Arc::new(GateWatch::default());
        let built = Self::build(&config, layers, &clock, &collector, &gate);
        if let Some((field, kind)) = integrator.refusal() {
            return match built {
                Err(SdkError::Config(e)) if e.field == field && e.kind == kind => Ok(None),
                other => Err(fail(format!("{integrator:?} must be refused naming {field} ({kind:?}): {:?}", other.map(|_| ())))),
            };
        }
        let sdk = Arc::new(built.map_err(|e| fail(format!("{integrator:?}: {e}")))?);
        Ok(Some(Run {
            dir,
            wire,
            config,
            layers,
            clock,
            collector,
            gate,
            sdk,
            model: Model::new(send_hits_in_opt_out, integrator, start),
            start,
            checked: 0,
            consent_checked: 0,
            ids: HashMap::new(),
            owners: HashMap::new(),
            latest_after: HashMap::new(),
            id_invalid_seen: HashSet::new(),
        }))
    }

    fn build(config: &Config, layers: Layers, clock: &Arc<StepClock>, collector: &Arc<Collector>, gate: &Arc<GateWatch>) -> Result<Sdk, SdkError> {
        Sdk::builder(config.clone()).clock(clock.clone()).http_client(collector.clone()).listener(gate.clone()).layers(layers).build()
    }

    fn restart(&mut self, between: impl FnOnce(&std::path::Path)) -> Check {
        self.sdk.shutdown().map_err(|e| fail(format!("shutdown: {e}")))?;
        between(self.dir.path());
        self.sdk =
            Arc::new(Self::build(&self.config, self.layers, &self.clock, &self.collector, &self.gate).map_err(|e| fail(format!("restart: {e}")))?);
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

    fn export(&self) -> Result<LocalData, TestCaseError> {
        self.sdk.export_local_data().map_err(|e| fail(format!("export: {e}")))
    }

    /// Every app-scoped id on the device or on the wire so far.
    fn ids_seen(&self) -> Result<BTreeSet<String>, TestCaseError> {
        let data = self.export()?;
        let mut ids: BTreeSet<String> = data.visitor.map(|v| v.id).into_iter().collect();
        ids.extend(data.pending_hits.into_iter().map(|h| h.visitor_id));
        ids.extend(self.owners.keys().cloned());
        ids.extend(self.collector.log.lock().unwrap().iter().map(|r| r.idclient.clone()));
        ids.retain(|id| common::is_uuid_v4(id));
        Ok(ids)
    }

    /// The ids a withdrawal erases: the current one, and those of the hits
    /// queued with consent.
    fn consented_ids(&self) -> Result<BTreeSet<String>, TestCaseError> {
        let data = self.export()?;
        let mut ids: BTreeSet<String> = BTreeSet::new();
        if self.model.mode == M::OptIn {
            ids.extend(data.visitor.map(|v| v.id));
        }
        ids.extend(data.pending_hits.into_iter().filter(|h| h.mode == "optin").map(|h| h.visitor_id));
        Ok(ids)
    }

    /// After a purge has committed, no byte of the ids it erased is left in
    /// any file of the storage directory (database, WAL, free pages).
    fn check_erased(&self, ids: &BTreeSet<String>) -> Check {
        self.export()?;
        for entry in std::fs::read_dir(self.dir.path()).map_err(fail)? {
            let path = entry.map_err(fail)?.path();
            let Ok(bytes) = std::fs::read(&path) else { continue };
            for id in ids {
                ensure!(!bytes.windows(id.len()).any(|w| w == id.as_bytes()), "id {id} still in {} after a purge", path.display());
            }
        }
        Ok(())
    }

    fn step(&mut self, step: &Step) -> Check {
        let all = self.ids_seen()?;
        let consented = self.consented_ids()?;
        self.model.erasure = None;
        self.one_step(step)?;
        match self.model.erasure {
            Some(Erasure::All) => self.check_erased(&all),
            Some(Erasure::Consented) => self.check_erased(&consented),
            None => Ok(()),
        }
    }

    fn one_step(&mut self, step: &Step) -> Check {
        self.model.now = self.clock.now_ms();
        self.model.log_len = self.log_len();
        match step {
            Step::Track(name, props, encoded) => self.track(name, props, *encoded)?,
            Step::SetMode(m) => {
                self.model.lapse();
                self.sdk.set_mode(m.sdk()).map_err(fail)?;
                self.model.set_mode(*m);
            }
            Step::SetConsent(granted) => {
                self.model.lapse();
                self.sdk.set_consent(*granted).map_err(fail)?;
                let to = match (*granted, self.model.mode) {
                    (true, _) => M::OptIn,
                    (false, m) if m.consent_mode() => self.model.integrator.default,
                    (false, m) => m,
                };
                self.model.set_mode(to);
            }
            Step::SetOptedOut(on) => {
                self.model.lapse();
                self.sdk.set_opted_out(*on).map_err(fail)?;
                match (*on, self.model.mode) {
                    (true, _) => self.model.set_mode(M::OptOut),
                    (false, M::OptOut) => self.model.set_mode(self.model.integrator.default),
                    _ => {}
                }
            }
            Step::SetPurposes(answers) => {
                self.model.lapse();
                let map: BTreeMap<String, PurposeMode> = answers.iter().map(|(p, m)| ((*p).to_owned(), *m)).collect();
                self.sdk.set_purposes(&map).map_err(fail)?;
                // The last answer for a purpose wins, as in the map.
                let dedup: Vec<(&'static str, PurposeMode)> =
                    PURPOSES.iter().filter_map(|p| answers.iter().rev().find(|(q, _)| q == p).copied()).collect();
                self.model.set_purposes(&dedup);
            }
            Step::SetContext(i) => {
                let (context, valid) = contexts()[*i].clone();
                let got = self.sdk.set_context(context);
                ensure!(got.is_ok() == valid, "set_context #{i}: {got:?}, valid {valid}");
                if valid {
                    self.model.context = *i;
                }
            }
            Step::SetClock(offset) => self.clock.0.store(self.start.saturating_add(*offset), Ordering::SeqCst),
            Step::Advance(ms) => {
                let _ = self.clock.0.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| Some(n.saturating_add(*ms)));
            }
            Step::Flush(script) => {
                self.model.lapse();
                *self.collector.script.lock().unwrap() = script.clone();
                self.sdk.flush().map_err(|e| fail(format!("flush: {e}")))?;
                self.collector.script.lock().unwrap().clear();
            }
            Step::PurgeInFlight(purge, status) => self.purge_in_flight(*purge, *status)?,
            Step::DeleteLocalData => self.delete_local_data()?,
            Step::Restart => {
                self.restart(|_| {})?;
                self.after_restart();
            }
            Step::DryRun(on) => {
                self.config.dry_run = *on;
                // A real run deletes what a dry run queued: those hits are
                // accounted for as dry, and must never reach the collector.
                self.restart(|_| {})?;
                self.model.dry = *on;
                self.after_restart();
            }
            Step::SecondInstance => {
                let second = Self::build(&self.config, self.layers, &self.clock, &self.collector, &self.gate);
                ensure!(matches!(second, Err(SdkError::StorageInUse { .. })), "a second instance on one directory: {:?}", second.map(|_| ()));
            }
            Step::OtherSite => {
                self.sdk.shutdown().map_err(fail)?;
                let mut other = self.config.clone();
                other.site_id = SITE + 1;
                let got = Sdk::builder(other).clock(self.clock.clone()).http_client(self.collector.clone()).build();
                ensure!(
                    matches!(&got, Err(SdkError::StorageOfAnotherSite { site, .. }) if site == &SITE.to_string()),
                    "another site on this directory: {:?}",
                    got.map(|_| ())
                );
                self.restart(|_| {})?;
                self.after_restart();
            }
            Step::PromptShown => {
                self.sdk.consent_prompt_shown(prompt()).map_err(fail)?;
                if !self.model.statistics_off {
                    self.model.counted += 1;
                }
            }
            Step::AnswerInPrompt(granted) => {
                self.model.lapse();
                self.sdk.set_consent_from_prompt(*granted, Some(prompt())).map_err(fail)?;
                let to = match (*granted, self.model.mode) {
                    (true, _) => M::OptIn,
                    (false, m) if m.consent_mode() => self.model.integrator.default,
                    (false, m) => m,
                };
                self.model.set_mode(to);
                if !self.model.statistics_off {
                    self.model.counted += 1;
                }
            }
            Step::ConsentStatistics(on) => {
                self.sdk.set_consent_statistics(*on).map_err(fail)?;
                self.model.statistics_off = !*on;
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
        let now = self.model.now;
        for latest in self.latest_after.values_mut() {
            *latest = (*latest).max(now);
        }
        for (id, t) in &self.model.hits {
            if let Some(i) = t.identity.and_then(|n| self.model.identities.get(&n)) {
                if !i.valid_at(now) {
                    self.id_invalid_seen.insert(id.clone());
                }
            }
        }
        self.model.lapse();
        let status = self.sdk.mode_status();
        ensure!(
            status.mode == self.model.mode.sdk() && status.consent_renewal_needed == self.model.renewal,
            "after {step:?}: the SDK says {status:?}, the model {:?} (renewal {})",
            self.model.mode,
            self.model.renewal
        );
        let purposes: BTreeMap<String, PurposeMode> = self.model.purposes().into_iter().map(|(p, m)| (p.to_owned(), m)).collect();
        ensure!(status.purposes == purposes, "after {step:?}: purposes {:?}, the model {purposes:?}", status.purposes);
        self.check_consent(step)?;
        self.check_wire()
    }

    /// The requests to the consent endpoint since the last check: none in a
    /// dry run; no app-scoped id in any of them; receipts and counts never
    /// together, and only their own keys; no count once the visitor
    /// switched the statistics off; never more counted than was counted.
    fn check_consent(&mut self, step: &Step) -> Check {
        let log = self.collector.consent.lock().unwrap().clone();
        let ids = if log.len() > self.consent_checked { self.ids_seen()? } else { BTreeSet::new() };
        for r in log.iter().skip(self.consent_checked) {
            ensure!(!self.model.dry, "a consent request in a dry run: {}", r.body);
            for id in &ids {
                ensure!(!r.body.contains(id.as_str()), "app-scoped id {id} in a consent request: {}", r.body);
            }
            let body: Json = serde_json::from_str(&r.body).map_err(fail)?;
            let keys = |v: &Json| v.as_object().map(|o| o.keys().cloned().collect::<BTreeSet<_>>()).unwrap_or_default();
            match body["type"].as_str() {
                Some("consent_receipts") => {
                    ensure!(keys(&body) == BTreeSet::from(["type".to_owned(), "receipts".to_owned()]), "a receipts request holds {body}");
                    for receipt in body["receipts"].as_array().into_iter().flatten() {
                        let allowed = ["n", "consent_id", "at", "at_ms", "mode", "purposes", "prompt", "sdk", "policy", "prev", "hash"];
                        ensure!(keys(receipt).iter().all(|k| allowed.contains(&k.as_str())), "a receipt holds {receipt}");
                        ensure!(receipt["policy"] == self.sdk.policy_hash().as_str(), "a receipt of another policy: {receipt}");
                    }
                }
                Some("consent_statistics") => {
                    ensure!(!self.model.statistics_off, "consent statistics sent after their opt-out (after {step:?}): {}", r.body);
                    ensure!(keys(&body) == BTreeSet::from(["type".to_owned(), "counts".to_owned()]), "a statistics request holds {body}");
                    let row_keys: BTreeSet<String> =
                        ["day", "prompt_id", "prompt_version", "shown", "accepted_all", "refused_all", "customised"].map(str::to_owned).into();
                    for row in body["counts"].as_array().into_iter().flatten() {
                        ensure!(keys(row) == row_keys, "a count holds {row}");
                    }
                }
                _ => return Err(fail(format!("an unknown consent request: {}", r.body))),
            }
        }
        self.consent_checked = log.len();
        let acknowledged: u64 = log
            .iter()
            .filter(|r| (200..300).contains(&r.status))
            .filter_map(|r| serde_json::from_str::<Json>(&r.body).ok())
            .filter(|b| b["type"] == "consent_statistics")
            .flat_map(|b| b["counts"].as_array().cloned().unwrap_or_default())
            .map(|row| ["shown", "accepted_all", "refused_all", "customised"].iter().map(|k| row[*k].as_u64().unwrap_or(0)).sum::<u64>())
            .sum();
        ensure!(acknowledged <= self.model.counted, "the consent endpoint acknowledged {acknowledged} counts of {} counted", self.model.counted);
        Ok(())
    }

    fn after_restart(&mut self) {
        // The context is the configuration's again.
        self.model.context = 0;
        self.model.lapse();
        if self.model.identity.is_some_and(|i| !i.valid_at(self.model.now)) {
            self.model.identity = None;
        }
    }

    fn delete_local_data(&mut self) -> Check {
        self.model.lapse();
        self.sdk.delete_local_data().map_err(|e| fail(format!("delete_local_data: {e}")))?;
        self.model.purge(|_| true);
        self.model.erasure = Some(Erasure::All);
        // A refusal recorded stays in force (erasing data never restarts
        // tracking); anything else returns to the default, answers erased.
        if self.model.mode.identified() || !self.model.recorded {
            self.model.mode = self.model.integrator.default;
            self.model.consent_since = None;
            self.model.answers.clear();
            self.model.recorded = false;
        }
        self.model.renewal = false;
        self.model.identity = None;
        Ok(())
    }

    fn track(&mut self, name: &str, props: &[(String, V)], encoded: bool) -> Check {
        let event = Event { name: name.to_owned(), properties: props.iter().map(|(k, v)| (k.clone(), v.sdk())).collect() };
        let got =
            if encoded { self.sdk.track_encoded(&encode_call(EncodedKind::Track, &event.name, &event.properties)) } else { self.sdk.track(event) };
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
            (Some("invalid event name"), Err(TrackError::InvalidEventName { .. })) => return Ok(()),
            (Some("duplicate property"), Err(TrackError::DuplicateProperty { .. })) => return Ok(()),
            (Some(e), _) => return Err(fail(format!("track {name}: expected {e}, got {got:?}"))),
            (None, Err(e)) => return Err(fail(format!("track {name}: refused: {e}"))),
            (None, Ok(_)) => {}
        }
        self.model.lapse();
        let mode = self.model.mode;
        let verdict = event_verdict(mode, name, self.model.send_hits_in_opt_out, &self.model.integrator);
        let filtered = self.layers.track_filter;
        let (event_id, held_by_filter) = match (verdict, got) {
            (Err(code), Ok(TrackOutcome::NotSent { reason })) if filtered => {
                ensure!(reason.code() == code, "track {name} in {mode:?}: held back for {}, expected {code}", reason.code());
                return Ok(());
            }
            (Ok(()), Ok(TrackOutcome::Queued { event_id })) => (event_id, None),
            // Without the filter every valid event is queued: the gate must hold it back.
            (Err(code), Ok(TrackOutcome::Queued { event_id })) if !filtered => (event_id, Some(code)),
            (want, got) => return Err(fail(format!("track {name} in {mode:?}: model {want:?}, SDK {got:?}"))),
        };
        let data = self.model.expected_data(mode, name, props);
        let identity = mode.identified().then(|| self.model.identity_for_track());
        let at = self.model.now;
        self.latest_after.insert(event_id.clone(), at);
        let dry = self.model.dry;
        self.model.hits.insert(event_id, Tracked { event: name.to_owned(), mode, data, identity, at, dry, held_by_filter });
        Ok(())
    }

    fn purge_in_flight(&mut self, purge: Purge, status: u16) -> Check {
        let (tx, rx): (Sender<Held>, Receiver<Held>) = mpsc::channel();
        *self.collector.hold.lock().unwrap() = Some(tx.clone());
        self.model.lapse();
        let flusher = {
            let sdk = self.sdk.clone();
            std::thread::spawn(move || {
                let r = sdk.flush().map(|_| ());
                let _ = tx.send(Held::FlushDone);
                r
            })
        };
        let first = rx.recv_timeout(Duration::from_secs(60)).map_err(|_| fail("flush never ended"))?;
        let held_index = self.log_len().checked_sub(1);
        self.model.log_len = self.log_len();
        match purge {
            Purge::To(m) => {
                self.model.lapse();
                self.sdk.set_mode(m.sdk()).map_err(fail)?;
                self.model.set_mode(m);
            }
            Purge::DeleteLocalData => self.delete_local_data()?,
        }
        // Once the writer answers, the purge has committed.
        self.export()?;
        match first {
            Held::Request(completion) => {
                if let Some(i) = held_index {
                    self.collector.log.lock().unwrap()[i].status = status;
                }
                completion.complete(HttpOutcome::Response { status, retry_after: None, body: Vec::new() });
                match rx.recv_timeout(Duration::from_secs(60)) {
                    Ok(Held::FlushDone) => {}
                    _ => return Err(fail("the flush did not end after its answer")),
                }
            }
            Held::FlushDone => {
                // Nothing was sent: no request to hold.
                self.collector.hold.lock().unwrap().take();
            }
        }
        flusher.join().map_err(|_| fail("flush thread panicked"))?.map_err(|e| fail(format!("flush: {e}")))?;
        Ok(())
    }

    /// Checks the requests sent since the last check.
    fn check_wire(&mut self) -> Check {
        let log = self.collector.log.lock().unwrap().clone();
        let known_ids: HashSet<String> = self.owners.keys().cloned().collect();
        for (index, request) in log.iter().enumerate().skip(self.checked) {
            let idclient = &request.idclient;
            ensure!(request.site == SITE.to_string(), "a request for site {}", request.site);
            for e in &request.events {
                let data = e["data"].as_object().cloned().unwrap_or_default();
                let Some(event_id) = data.get("event_id").and_then(Json::as_str).map(str::to_owned) else {
                    return Err(fail(format!("a hit without event_id: {e}")));
                };
                let Some(t) = self.model.hits.get(&event_id).cloned() else {
                    return Err(fail(format!("a hit nobody tracked: {e}")));
                };
                ensure!(!t.dry, "a hit tracked in a dry run reached the collector: {e}");
                ensure!(t.held_by_filter.is_none(), "the egress gate let out a hit the rules hold back ({:?}): {e}", t.held_by_filter);
                if let Some(at) = self.model.purged.get(&event_id) {
                    ensure!(index < *at, "purged hit {event_id} sent after the purge (request {index}, purge at {at}): {e}");
                }
                if self.wire == Wire::Piano {
                    ensure!(e["name"] == json!(t.event), "event name: {e} for {t:?}");
                }
                // Whose hit: anonymous modes their fixed id; identified hits
                // one id per model identity, never shared, valid when sent.
                match (t.mode.fixed_id(), t.identity) {
                    (Some(fixed), _) if self.wire == Wire::Matomo => {
                        ensure!(*idclient == matomo::fixed_cid(fixed) && e["params"]["new_visit"] == "1", "{:?} hit under {idclient}: {e}", t.mode);
                        ensure!(e["params"].get("_id").is_none(), "an anonymous hit with an _id: {e}");
                    }
                    (Some(fixed), _) => ensure!(idclient == fixed, "{:?} hit under {idclient}", t.mode),
                    (None, Some(n)) => {
                        let well_formed = match self.wire {
                            Wire::Piano => common::is_uuid_v4(idclient),
                            Wire::Matomo => {
                                idclient.len() == 16 && idclient.bytes().all(|b| b.is_ascii_hexdigit()) && e["params"].get("cid").is_none()
                            }
                        };
                        ensure!(well_formed, "identified hit under {idclient}");
                        let bound = self.ids.entry(n).or_insert_with(|| idclient.clone());
                        ensure!(bound == idclient, "identity {n} sent under {idclient} and {bound}");
                        let owner = self.owners.entry(idclient.clone()).or_insert(n);
                        ensure!(*owner == n, "id {idclient} carries identities {owner} and {n}");
                        let identity = self.model.identities[&n];
                        ensure!(identity.valid_at(request.at), "identity {n} sent at {} outside its life {identity:?}", request.at);
                    }
                    (None, None) => return Err(fail("an identified hit without identity")),
                }
                if self.wire == Wire::Matomo {
                    let sent: BTreeMap<String, String> = serde_json::from_value(e["params"].clone()).unwrap_or_default();
                    let expected = matomo::expected(&t, &event_id, request.at);
                    let (sent, expected) = (matomo::comparable(&sent), matomo::comparable(&expected));
                    ensure!(sent == expected, "{:?} hit {} on the Matomo wire:\n sent     {sent:?}\n expected {expected:?}", t.mode, t.event);
                    for (k, v) in e["params"].as_object().into_iter().flatten() {
                        let v = v.as_str().filter(|_| k != "_id").unwrap_or_default();
                        ensure!(!known_ids.iter().any(|id| v.contains(id.as_str())), "a visitor id inside an entry: {v}");
                    }
                    continue;
                }
                // Exactly what the rules allow, with the right values.
                let mut expected: serde_json::Map<String, Json> = t.data.clone().into_iter().collect();
                expected.insert("event_id".into(), json!(event_id));
                ensure!(
                    Json::Object(data.clone()) == Json::Object(expected.clone()),
                    "{:?} hit {}:\n sent     {}\n expected {}",
                    t.mode,
                    t.event,
                    Json::Object(data),
                    Json::Object(expected)
                );
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

    /// The end: a clean flush in a real run, then every accepted hit is
    /// delivered or accounted for by a documented bound; no hit was sent
    /// after it was acknowledged or refused, and all copies of a hit are
    /// one hit. With both layers, the gate never held anything back.
    fn finish(&mut self) -> Check {
        if self.model.dry {
            self.config.dry_run = false;
            self.restart(|_| {})?;
            self.model.dry = false;
            self.after_restart();
        }
        self.model.now = self.clock.now_ms();
        self.model.log_len = self.log_len();
        self.model.lapse();
        self.collector.script.lock().unwrap().clear();
        self.sdk.flush().map_err(|e| fail(format!("final flush: {e}")))?;
        self.check_wire()?;
        let now = self.clock.now_ms();
        for (id, t) in &self.model.hits {
            if t.identity.and_then(|n| self.model.identities.get(&n)).is_some_and(|i| !i.valid_at(now)) {
                self.id_invalid_seen.insert(id.clone());
            }
        }
        let log = self.collector.log.lock().unwrap().clone();
        let mut copies: HashMap<String, (String, Json)> = HashMap::new();
        let mut settled: HashSet<String> = HashSet::new();
        for r in &log {
            let acked = (200..300).contains(&r.status);
            let refused = matches!(r.status, 400 | 413) && r.events.len() == 1;
            for e in &r.events {
                let id = e["data"]["event_id"].as_str().unwrap_or_default().to_owned();
                ensure!(!settled.contains(&id), "hit {id} sent again after it was acknowledged or refused");
                // A retry on the Matomo wire says again how long ago the event
                // was (cdo), and a click's screen view id is the last one the
                // process sent (none after a restart).
                let mut e = e.clone();
                if let Some(params) = e.get_mut("params").and_then(Json::as_object_mut) {
                    params.remove("cdo");
                    params.remove("pv_id");
                }
                let copy = (r.idclient.clone(), e);
                let first = copies.entry(id.clone()).or_insert_with(|| copy.clone());
                ensure!(*first == copy, "two different copies of hit {id}: {first:?} / {copy:?}");
                if acked || refused {
                    settled.insert(id.clone());
                }
            }
        }
        let held: HashMap<String, EgressReason> = self.gate.0.lock().unwrap().iter().map(|(r, id)| (id.clone(), *r)).collect();
        // Matomo counts an action older than 24 hours invalid: such hits are held back (and reported), by design.
        let too_old: HashSet<String> = held.iter().filter(|(_, r)| **r == EgressReason::TooOldForCollector).map(|(id, _)| id.clone()).collect();
        if self.layers.track_filter && self.layers.egress_gate {
            ensure!(held.len() == too_old.len(), "with the filter on, the egress gate held hits back: {held:?}");
        }
        let age = i64::from(self.model.integrator.queue_max_age_days) * DAY;
        for (id, t) in &self.model.hits {
            let expirable = t.at < self.latest_after[id].saturating_sub(age);
            let accounted = settled.contains(id)
                || self.model.purged.contains_key(id)
                || self.model.lost.contains(id)
                || t.dry
                || expirable
                || self.id_invalid_seen.contains(id)
                || too_old.contains(id)
                || (!self.layers.track_filter && held.contains_key(id));
            ensure!(accounted, "accepted hit {id} ({t:?}) was neither delivered nor accounted for");
        }
        Ok(())
    }
}

fn sequence() -> impl Strategy<Value = (bool, Integrator, Vec<Step>)> {
    (any::<bool>(), integrator(), prop::collection::vec(step(), 1..30))
}

fn run_sequence(send_hits_in_opt_out: bool, integrator: Integrator, steps: &[Step], layers: Layers, wire: Wire) -> Check {
    let Some(mut run) = Run::new(send_hits_in_opt_out, integrator, layers, wire)? else { return Ok(()) };
    for s in steps {
        run.step(s)?;
    }
    run.finish()?;
    run.sdk.shutdown().map_err(|e| fail(format!("shutdown: {e}")))
}

fn count(var: &str, default: u32) -> u32 {
    std::env::var(var).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

static STEPS_RUN: AtomicU64 = AtomicU64::new(0);

/// `cases` sequences from a seed of their own, with these layers.
fn run(cases: u32, seed: u8, layers: Layers, what: &str) {
    run_on(cases, seed, layers, Wire::Piano, what)
}

fn run_on(cases: u32, seed: u8, layers: Layers, wire: Wire, what: &str) {
    let config = RunnerConfig { cases, failure_persistence: None, ..RunnerConfig::default() };
    let mut runner = TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &[seed; 32]));
    let result = runner.run(&sequence(), |(opt_out_hits, integrator, steps)| {
        STEPS_RUN.fetch_add(steps.len() as u64, Ordering::Relaxed);
        run_sequence(opt_out_hits, integrator, &steps, layers, wire)
    });
    if let Err(e) = result {
        panic!("{what}: {e}");
    }
    println!("privacy model ({what}): {cases} random sequences, {} steps in all so far, passed (seed {seed})", STEPS_RUN.load(Ordering::Relaxed));
}

const BOTH: Layers = Layers { track_filter: true, egress_gate: true };

#[test]
fn privacy_model_sequences_a() {
    run(count("MESURE_MODEL_SEQUENCES", 10_000).div_ceil(2), 1, BOTH, "both layers");
}

#[test]
fn privacy_model_sequences_b() {
    run(count("MESURE_MODEL_SEQUENCES", 10_000).div_ceil(2), 2, BOTH, "both layers");
}

#[test]
fn privacy_model_the_egress_gate_alone() {
    run(count("MESURE_MODEL_LAYER_SEQUENCES", 1_000), 3, Layers { track_filter: false, egress_gate: true }, "egress gate alone");
}

#[test]
fn privacy_model_the_filter_alone() {
    run(count("MESURE_MODEL_LAYER_SEQUENCES", 1_000), 4, Layers { track_filter: true, egress_gate: false }, "track-time filter alone");
}

#[test]
fn privacy_model_on_the_matomo_wire() {
    run_on(count("MESURE_MODEL_LAYER_SEQUENCES", 1_000), 5, BOTH, Wire::Matomo, "both layers, Matomo wire");
}

/// Which collector's wire the run speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wire {
    Piano,
    Matomo,
}

/// The Matomo wire as the model expects it, written from the wire's
/// contract (tests/vectors/README.md, issue 18), not from the encoder.
mod matomo {
    use super::*;

    pub const HOST: &str = "app.example";
    /// The SDK's own names a hit carries besides [`KEYS`].
    const SDK_NAMES: [&str; 12] = [
        "page_chapter2",
        "page_chapter3",
        "click_chapter1",
        "click_chapter2",
        "os_version",
        "visitor_privacy_mode",
        "event_collection_platform",
        "device_brand",
        "device_type",
        "device_screen_width",
        "device_screen_height",
        "app_version",
    ];

    /// Every name a hit of the model can carry, each mapped to a custom
    /// dimension, so that everything that leaves is compared: the valid
    /// names of [`KEYS`] (lower-case, not `m_`-prefixed, at most 40), then
    /// the SDK's own.
    fn mapped() -> Vec<&'static str> {
        let valid = |k: &&str| k.len() <= 40 && !k.starts_with("m_") && k.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        let mut names: Vec<&str> = KEYS.iter().copied().filter(valid).collect();
        names.extend(SDK_NAMES.iter().filter(|k| !names.contains(k)).collect::<Vec<_>>());
        names
    }

    pub fn event_id_dimension() -> usize {
        mapped().iter().position(|k| *k == "event_id").map_or(0, |i| i + 1)
    }

    pub fn dimensions() -> BTreeMap<String, u32> {
        mapped().iter().enumerate().map(|(i, k)| ((*k).to_owned(), i as u32 + 1)).collect()
    }

    fn dimension(key: &str) -> Option<String> {
        mapped().iter().position(|k| *k == key).map(|i| format!("dimension{}", i + 1))
    }

    pub fn decode(entry: &str) -> BTreeMap<String, String> {
        entry
            .trim_start_matches('?')
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (common::form_decode(k), common::form_decode(v)))
            .collect()
    }

    pub fn fixed_cid(fixed: &str) -> String {
        let mut bytes = [0u8; 8];
        bytes.iter_mut().zip(fixed.bytes()).for_each(|(b, c)| *b = c);
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn text(v: &Json) -> String {
        match v {
            Json::String(s) => s.clone(),
            other => other.to_string(),
        }
    }

    /// The entry a tracked hit must leave as, but for the visitor
    /// (`_id`/`cid`, `new_visit`: checked as whose it is), `pv_id` and `ua`
    /// (their form only, see [`comparable`]).
    pub fn expected(t: &Tracked, event_id: &str, sent_at: i64) -> BTreeMap<String, String> {
        let mut data: BTreeMap<String, Json> = t.data.clone();
        data.insert("event_id".into(), json!(event_id));
        let txt = |k: &str| data.get(k).and_then(Json::as_str).filter(|s| !s.is_empty()).map(str::to_owned);
        let mut out = BTreeMap::new();
        let mut put = |k: &str, v: String| {
            out.insert(k.to_owned(), v);
        };
        put("idsite", SITE.to_string());
        put("rec", "1".into());
        put("apiv", "1".into());
        put("cdo", (sent_at.saturating_sub(t.at).max(0) / 1000).to_string());
        let mut used: Vec<&str> = Vec::new();
        if t.mode == M::OptIn {
            if let Some(uid) = txt("user_id") {
                put("uid", uid);
                used.push("user_id");
            }
        }
        if t.event == "page.display" {
            let parts: Vec<&str> = ["page_chapter1", "page_chapter2", "page_chapter3", "page"].into_iter().filter(|k| txt(k).is_some()).collect();
            let path: Vec<String> = parts.iter().filter_map(|k| txt(k)).map(|s| pct(&s)).collect();
            put("url", format!("https://{HOST}/{}", path.join("/")));
            if let Some(p) = txt("page") {
                put("action_name", p);
            }
            used.extend(parts);
        } else {
            let (c, a) = match t.event.split_once('.') {
                Some((c, a)) if !c.is_empty() && !a.is_empty() => (c.to_owned(), a.to_owned()),
                _ => (t.event.clone(), t.event.clone()),
            };
            if c == "click" && txt("click").is_some() {
                let parts: Vec<&str> =
                    ["click_chapter1", "click_chapter2", "click_chapter3", "click"].into_iter().filter(|k| txt(k).is_some()).collect();
                put("e_n", parts.iter().filter_map(|k| txt(k)).collect::<Vec<_>>().join("::"));
                used.extend(parts);
            }
            put("e_c", c);
            put("e_a", a);
        }
        let num = |k: &str| data.get(k).and_then(Json::as_u64);
        if let (Some(w), Some(h)) = (num("device_screen_width"), num("device_screen_height")) {
            put("res", format!("{w}x{h}"));
            used.extend(["device_screen_width", "device_screen_height"]);
        }
        if txt("os").is_some() {
            put("ua", String::new());
            used.extend(["os", "os_version", "device_model"].into_iter().filter(|k| txt(k).is_some()));
        }
        for (k, v) in &data {
            if used.contains(&k.as_str()) {
                continue;
            }
            if let Some(d) = dimension(k) {
                put(&d, text(v));
            }
        }
        out
    }

    fn pct(s: &str) -> String {
        s.bytes()
            .map(|b| if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') { (b as char).to_string() } else { format!("%{b:02X}") })
            .collect()
    }

    /// An entry without its visitor, with `pv_id` and `ua` reduced to
    /// their form (6 hex digits; a user agent naming the SDK).
    pub fn comparable(entry: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        let mut out = entry.clone();
        for k in ["_id", "cid", "new_visit", "pv_id"] {
            out.remove(k);
        }
        if let Some(ua) = out.get_mut("ua") {
            *ua = if ua.is_empty() || ua.contains("Mesure/") { "Mesure".into() } else { format!("not the SDK's: {ua}") };
        }
        if let Some(pv) = entry.get("pv_id") {
            if !(pv.len() == 6 && pv.bytes().all(|b| b.is_ascii_hexdigit())) {
                out.insert("pv_id".into(), pv.clone());
            }
        }
        out
    }
}

/// The consent prompt the model's visitor answers.
fn prompt() -> ConsentContext {
    ConsentContext::new("main_banner", "2026-12").with_locale("fr-FR")
}
