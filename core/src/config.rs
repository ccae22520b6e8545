//! Configuration and its validation. Every error names the field at fault.

use std::net::IpAddr;
use std::path::PathBuf;

use serde::{Deserialize, Deserializer};

use crate::collector::Collector;
use crate::consent::ConsentSettings;
use crate::error::{ConfigError, ConfigErrorKind as K};
use crate::hit::{property_name_problem, Value};
use crate::identifying::identifying_reason;
use crate::mode::VisitorMode;
use crate::scrub::{self, TextKind};

/// Consent choices are kept 6 months (CNIL recommendations 2020-092, art. 2:
/// "conservation des choix: 6 mois", seed 002). Longer values are refused.
pub const DEFAULT_CONSENT_LIFETIME_MONTHS: u32 = 6;
/// The longest consent lifetime a configuration may set, in months.
pub const MAX_CONSENT_LIFETIME_MONTHS: u32 = 6;
/// Default queue bound by count: ~10 000 hits of ~400 bytes is ~4 MB on disk.
pub const DEFAULT_QUEUE_MAX_HITS: u32 = 10_000;
/// Default queue bound by age: a hit older than 30 days is dropped, not sent.
pub const DEFAULT_QUEUE_MAX_AGE_DAYS: u32 = 30;
/// Hits per request by default (at most; a request also stops at
/// `MAX_REQUEST_BYTES`), and the number of new hits that wakes the uploader
/// before its interval: a burst leaves once 50 hits are queued, in a body of
/// about 25 KB, without waiting for the timer. A backlog leaves in requests
/// sent back to back, within one radio wake-up (BENCHMARKS.md, upload and
/// battery).
pub const DEFAULT_BATCH_SIZE: u32 = 50;
/// Upload attempt interval when hits are pending: the longest a hit waits
/// before its first attempt (a full batch and the app going to the
/// background send sooner). Two minutes: at one event every 5 s
/// that is 30 radio wake-ups per hour at most, against 120 at 30 s
/// (BENCHMARKS.md, "Requests and radio wake-ups").
pub const DEFAULT_FLUSH_INTERVAL_MS: u64 = 120_000;
/// Longest wait for one upload request, the platform's HTTP client included.
pub const DEFAULT_REQUEST_TIMEOUT_MS: u64 = 15_000;
/// First retry delay after a failed upload; doubles per failure (with jitter).
pub const DEFAULT_RETRY_BASE_MS: u64 = 2_000;
/// Longest delay between retries (Retry-After may ask for more, up to a day).
pub const DEFAULT_RETRY_MAX_MS: u64 = 15 * 60_000;
/// Longest context string (OS name, device model, ...).
pub const MAX_CONTEXT_CHARS: usize = 256;
/// Most purposes a configuration lists beside audience measurement. IAB's
/// TCF v2.2 defines 11 purposes and 2 special features; a consent platform
/// with 32 is already unusual. Bounded so that `visitor_privacy_purposes`
/// (at most 33 × 57 bytes) can never crowd the strictly necessary fields
/// out of a hit's 64 KiB.
pub const MAX_PURPOSES: usize = 32;
/// Most property patterns one purpose lists.
pub const MAX_PURPOSE_PATTERNS: usize = 64;
/// The values `connection_type` may take: the SDK's own closed set (the
/// wrappers map the platform's network state onto it), so that the only
/// context value anonymous hits carry is never the app's words.
pub const CONNECTION_TYPES: [&str; 7] = ["wifi", "cellular", "ethernet", "bluetooth", "vpn", "offline", "other"];

/// A property the data controller allows in an exempt-derived mode, with the
/// written justification kept for the compliance report.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowedProperty {
    /// Exact property name (no wildcard: each property is justified on its own).
    pub property: String,
    /// Event-name pattern the allowance applies to (`*` by default).
    #[serde(default = "any")]
    pub events: String,
    /// Why it is strictly necessary.
    pub justification: String,
}

/// A property never sent (in any mode) with events matching `events`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PropertyRule {
    /// Property-name pattern.
    pub property: String,
    /// Event-name pattern (`*` by default).
    #[serde(default = "any")]
    pub events: String,
}

/// A purpose of consent (advertising, content personalisation...) and the
/// properties that serve it. Audience measurement is built in; listing it
/// here adds properties to it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PurposeConfig {
    /// `a-z`, `0-9` and `_`, starting with a letter (`advertising`), 40
    /// characters at most; [`MAX_PURPOSES`] purposes at most.
    pub name: String,
    /// Property-name patterns (`ad_*`), [`MAX_PURPOSE_PATTERNS`] at most. A
    /// property every pattern of several purposes names serves all of them,
    /// and leaves only with the consent to each. The strictly necessary set
    /// belongs to audience measurement.
    #[serde(default)]
    pub properties: Vec<String>,
}

/// A controller-defined mode derived from exempt: the exempt defaults plus
/// its own allowlist of events and properties. It never sends consent and
/// never carries an identifying property.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomMode {
    /// The mode's name (never a built-in mode's).
    pub name: String,
    /// Event-name patterns it sends beside the exempt events; each names
    /// its events: an exact name, or a whole first segment then `*`
    /// (`article.*`; never `*` or `a*`).
    #[serde(default)]
    pub allowed_events: Vec<String>,
    /// Properties it sends beside the strictly necessary ones, each justified.
    #[serde(default)]
    pub allowed_properties: Vec<AllowedProperty>,
}

fn any() -> String {
    "*".to_owned()
}

/// What the platform knows about the device and the app; attached to every
/// hit before filtering, so each mode keeps only what it allows.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeviceContext {
    /// `os`: `android`, `ios`, ...
    pub os: Option<String>,
    /// `os_version`: `14`, `17.2`, ...
    pub os_version: Option<String>,
    /// `device_brand`: `Google`, `Apple`, ...
    pub device_brand: Option<String>,
    /// `device_model`: `Pixel 8`, `iPhone15,2`, ...
    pub device_model: Option<String>,
    /// `mobile`, `tablet`, `desktop`, `tv`, ...
    pub device_type: Option<String>,
    /// `device_screen_width`, in pixels.
    pub device_screen_width: Option<u32>,
    /// `device_screen_height`, in pixels.
    pub device_screen_height: Option<u32>,
    /// `app_version`: the app's version name.
    pub app_version: Option<String>,
    /// `wifi`, `cellular`, `offline`, ...
    pub connection_type: Option<String>,
    /// `event_collection_platform`: `android`, `ios`, ... (default `rust`).
    pub collection_platform: Option<String>,
}

impl DeviceContext {
    /// The context as hit properties, with `event_collection_version` (the
    /// SDK adds `device_timestamp_utc` per hit).
    pub fn properties(&self) -> Vec<(String, Value)> {
        let mut v = Vec::with_capacity(12);
        let mut s = |k: &str, val: &Option<String>| {
            if let Some(x) = val {
                v.push((k.to_owned(), Value::String(x.clone())));
            }
        };
        s("os", &self.os);
        s("os_version", &self.os_version);
        s("device_brand", &self.device_brand);
        s("device_model", &self.device_model);
        s("device_type", &self.device_type);
        s("app_version", &self.app_version);
        s("connection_type", &self.connection_type);
        v.push(("event_collection_platform".to_owned(), Value::String(self.collection_platform.clone().unwrap_or_else(|| "rust".to_owned()))));
        if let Some(w) = self.device_screen_width {
            v.push(("device_screen_width".to_owned(), Value::Int(w.into())));
        }
        if let Some(h) = self.device_screen_height {
            v.push(("device_screen_height".to_owned(), Value::Int(h.into())));
        }
        v.push((crate::hit::reserved::EVENT_COLLECTION_VERSION.to_owned(), Value::String(crate::version::SDK_VERSION.to_owned())));
        v
    }

    /// Checks string lengths and control characters, that `connection_type`
    /// is one of [`CONNECTION_TYPES`], and that no value holds an e-mail
    /// address, a phone number or another identifying value
    /// (PRIVACY.md, guarantee 1): the context rides on exempt hits.
    pub fn validate(&self, field: &str) -> Result<(), ConfigError> {
        let fields = [
            ("os", &self.os),
            ("os_version", &self.os_version),
            ("device_brand", &self.device_brand),
            ("device_model", &self.device_model),
            ("device_type", &self.device_type),
            ("app_version", &self.app_version),
            ("connection_type", &self.connection_type),
            ("collection_platform", &self.collection_platform),
        ];
        for (name, value) in fields {
            if let Some(v) = value {
                if v.chars().count() > MAX_CONTEXT_CHARS {
                    return Err(ConfigError::new(format!("{field}.{name}"), K::OutOfRange, format!("longer than {MAX_CONTEXT_CHARS} characters")));
                }
                if v.chars().any(char::is_control) {
                    return Err(ConfigError::new(format!("{field}.{name}"), K::Invalid, "control character"));
                }
                let kind = if name.ends_with("version") { TextKind::Version } else { TextKind::Free };
                if let Some(found) = scrub::find(v, kind) {
                    return Err(ConfigError::new(
                        format!("{field}.{name}"),
                        K::IdentifyingValue,
                        format!("holds an identifying value ({}): the context rides on hits sent without consent", found.code()),
                    ));
                }
            }
        }
        if let Some(c) = &self.connection_type {
            if !CONNECTION_TYPES.contains(&c.as_str()) {
                return Err(ConfigError::new(
                    format!("{field}.connection_type"),
                    K::IdentifyingValue,
                    format!("{c:?} is not one of {}: anonymous hits carry only the SDK's own values", CONNECTION_TYPES.join(", ")),
                ));
            }
        }
        Ok(())
    }
}

fn mode_from_str<'de, D: Deserializer<'de>>(d: D) -> Result<VisitorMode, D::Error> {
    let s = String::deserialize(d)?;
    Ok(VisitorMode::parse(&s))
}

/// The SDK configuration. Build it with [`Config::new`] and adjust fields;
/// [`Config::validate`] (called by the SDK) names the first bad field.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Collection endpoint, `https://` (plain `http://` only to a loopback host).
    pub collect_endpoint: String,
    /// Site id in the collector (a positive integer; not used with Piwik
    /// PRO, whose `collector.app_id` names the site).
    pub site_id: u32,
    /// The collector's wire (Piano by default).
    pub collector: Collector,
    /// An app-private directory (absolute path); the SDK creates `mesure.sqlite3` in it.
    pub storage_dir: PathBuf,
    /// The mode before any choice, and after an opt-in lapses. Never opt-in
    /// or no-storage: they carry everything and need consent.
    #[serde(deserialize_with = "mode_from_str")]
    pub default_mode: VisitorMode,
    /// Properties the controller allows in exempt mode, each justified.
    pub exempt_allowlist: Vec<AllowedProperty>,
    /// Properties never sent, in any mode.
    pub forbidden_properties: Vec<PropertyRule>,
    /// Event-name patterns never sent, in any mode (opt-in, no-storage and
    /// anonymous opt-out included).
    pub forbidden_events: Vec<String>,
    /// The event names an anonymous hit (opt-out with
    /// `send_hits_in_opt_out`, no-consent) may carry; `None`: the exempt
    /// events (`page.display` and the four clicks). Exact names only: an
    /// anonymous counter counts a named event.
    pub anonymous_events: Option<Vec<String>>,
    /// Controller-defined modes derived from exempt.
    pub custom_modes: Vec<CustomMode>,
    /// Purposes of consent beside audience measurement, with their
    /// properties (see `set_purposes`).
    pub purposes: Vec<PurposeConfig>,
    /// Send anonymous counters (visitor id `opt-out`) when the visitor opted out.
    pub send_hits_in_opt_out: bool,
    /// Lifetime of an opt-in choice, in calendar months (1 to 6).
    pub consent_lifetime_months: u32,
    /// Queue bound by count; the oldest hits go first.
    pub queue_max_hits: u32,
    /// Queue bound by age, in days.
    pub queue_max_age_days: u32,
    /// Hits per upload request, at most (1 to 500); also the number of new
    /// hits that wakes the uploader before its interval.
    pub batch_size: u32,
    /// Interval between upload attempts while hits are pending.
    pub flush_interval_ms: u64,
    /// Longest wait for an upload request.
    pub request_timeout_ms: u64,
    /// First retry delay after a failed upload.
    pub retry_base_ms: u64,
    /// Longest retry delay.
    pub retry_max_ms: u64,
    /// Device and app context, attached to every hit before filtering.
    pub context: DeviceContext,
    /// Dry run: hits are built, filtered, queued and reported
    /// ([`crate::Diagnostic::Sent`] with `dry_run` set) but never sent; the
    /// uploader deletes them as if the collector had acknowledged them. No
    /// HTTP client is needed. For trying a tagging plan, never for release.
    pub dry_run: bool,
    /// Strict mode, for debug builds: a call made before the store is open
    /// waits for it instead of joining the start queue, so every call
    /// answers with its own outcome (a refused event, an unknown mode) on
    /// the caller's thread; the wrappers then throw what the core returns.
    pub strict: bool,
    /// Consent proof and consent statistics: where they are sent, and
    /// whether the statistics count.
    pub consent: ConsentSettings,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            collect_endpoint: String::new(),
            site_id: 0,
            collector: Collector::Piano,
            storage_dir: PathBuf::new(),
            default_mode: VisitorMode::Exempt,
            exempt_allowlist: Vec::new(),
            forbidden_properties: Vec::new(),
            forbidden_events: Vec::new(),
            anonymous_events: None,
            custom_modes: Vec::new(),
            purposes: Vec::new(),
            send_hits_in_opt_out: false,
            consent_lifetime_months: DEFAULT_CONSENT_LIFETIME_MONTHS,
            queue_max_hits: DEFAULT_QUEUE_MAX_HITS,
            queue_max_age_days: DEFAULT_QUEUE_MAX_AGE_DAYS,
            batch_size: DEFAULT_BATCH_SIZE,
            flush_interval_ms: DEFAULT_FLUSH_INTERVAL_MS,
            request_timeout_ms: DEFAULT_REQUEST_TIMEOUT_MS,
            retry_base_ms: DEFAULT_RETRY_BASE_MS,
            retry_max_ms: DEFAULT_RETRY_MAX_MS,
            context: DeviceContext::default(),
            dry_run: false,
            strict: false,
            consent: ConsentSettings::default(),
        }
    }
}

fn range<T: PartialOrd + std::fmt::Display + Copy>(field: &str, v: T, min: T, max: T) -> Result<(), ConfigError> {
    if v < min || v > max {
        return Err(ConfigError::new(field, K::OutOfRange, format!("{v} is outside {min}..={max}")));
    }
    Ok(())
}

fn check_pattern(field: &str, p: &str, what: &str) -> Result<(), ConfigError> {
    let ok = !p.is_empty() && p.len() <= 80 && p.bytes().all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'*'));
    if ok {
        Ok(())
    } else {
        Err(ConfigError::new(field, K::Invalid, format!("{p:?} is not a valid {what} pattern (a-z, 0-9, '_', '.', '*')")))
    }
}

/// An event pattern that names its events: an exact name (`search`), or
/// at least one whole first segment before any `*` (`article.*`,
/// `video.play_*`); never `*`, `a*`, `art*.x` or `*.display`, which let
/// every event, or every event of a letter, out without consent.
fn check_named_events(field: &str, p: &str) -> Result<(), ConfigError> {
    check_pattern(field, p, "event")?;
    let named = match (p.find('*'), p.find('.')) {
        (None, _) => true,
        (Some(star), Some(dot)) => dot > 0 && dot < star,
        (Some(_), None) => false,
    };
    if !named {
        return Err(ConfigError::new(
            field,
            K::Invalid,
            format!("{p:?} does not name its events: give a name, or a whole first segment and then `*` (\"article.*\")"),
        ));
    }
    refuse_identifying(field, p)
}

/// An anonymous event: an exact name, never a pattern (anonymous counters
/// count named events).
fn check_exact_event(field: &str, p: &str) -> Result<(), ConfigError> {
    check_pattern(field, p, "event")?;
    if p.contains('*') {
        return Err(ConfigError::new(field, K::Invalid, format!("{p:?}: anonymous events are exact names, not patterns")));
    }
    refuse_identifying(field, p)
}

/// Refuses a property or event name that identifies a person or a device
/// ([`crate::identifying`]): such data needs consent.
fn refuse_identifying(field: &str, name: &str) -> Result<(), ConfigError> {
    match identifying_reason(name) {
        Some(why) => Err(ConfigError::new(
            field,
            K::IdentifyingProperty,
            format!("{name:?} looks like {why}: it identifies a person or a device and can only be sent with consent (opt-in)"),
        )),
        None => Ok(()),
    }
}

/// A justification is words: at least [`MIN_JUSTIFICATION_LETTERS`] letters
/// in at least [`MIN_JUSTIFICATION_WORDS`] words of two letters or more, so
/// that the compliance report says why, not `..........`.
pub const MIN_JUSTIFICATION_LETTERS: usize = 20;
/// See [`MIN_JUSTIFICATION_LETTERS`].
pub const MIN_JUSTIFICATION_WORDS: usize = 3;

fn is_a_justification(text: &str) -> bool {
    let words = text.split(|c: char| !c.is_alphabetic()).filter(|w| w.chars().count() >= 2).collect::<Vec<_>>();
    let letters: usize = words.iter().map(|w| w.chars().count()).sum();
    let distinct: std::collections::BTreeSet<String> = words.iter().map(|w| w.to_lowercase()).collect();
    letters >= MIN_JUSTIFICATION_LETTERS && distinct.len() >= MIN_JUSTIFICATION_WORDS
}

fn check_allowance(field: &str, a: &AllowedProperty) -> Result<(), ConfigError> {
    if let Some(why) = property_name_problem(&a.property) {
        return Err(ConfigError::new(format!("{field}.property"), K::Invalid, format!("{:?}: {why}", a.property)));
    }
    refuse_identifying(&format!("{field}.property"), &a.property)?;
    check_pattern(&format!("{field}.events"), &a.events, "event")?;
    if !is_a_justification(&a.justification) {
        return Err(ConfigError::new(
            format!("{field}.justification"),
            K::MissingJustification,
            format!(
                "{:?} needs a written justification for the compliance report: words, at least \
                 {MIN_JUSTIFICATION_LETTERS} letters in {MIN_JUSTIFICATION_WORDS} words",
                a.property
            ),
        ));
    }
    Ok(())
}

impl Config {
    /// A configuration with every default: exempt by default, no allowlist,
    /// no opt-out hits, 6-month consent, 10 000 hits / 30 days of queue.
    pub fn new(collect_endpoint: impl Into<String>, site_id: u32, storage_dir: impl Into<PathBuf>) -> Self {
        Config { collect_endpoint: collect_endpoint.into(), site_id, storage_dir: storage_dir.into(), ..Config::default() }
    }

    /// Parses a JSON configuration (same field names); unknown fields are refused.
    pub fn from_json(json: &str) -> Result<Config, ConfigError> {
        serde_json::from_str(json).map_err(|e| ConfigError::new("json", K::Invalid, e.to_string()))
    }

    /// The site the store, the choice and every queued hit belong to: a
    /// directory holds one site's data, and a hit leaves only for its site.
    pub fn site_key(&self) -> String {
        match &self.collector {
            Collector::PiwikPro { app_id, .. } => app_id.to_ascii_lowercase(),
            _ => self.site_id.to_string(),
        }
    }

    /// The endpoint requests are sent to: scheme and host lower-cased, no
    /// trailing slash (`collect_endpoint` as given when it does not parse:
    /// [`Config::validate`] refuses it).
    pub fn endpoint_base(&self) -> String {
        parse_endpoint(&self.collect_endpoint).unwrap_or_else(|_| self.collect_endpoint.trim_end_matches('/').to_owned())
    }

    /// The consent endpoint, normalised as [`Config::endpoint_base`] is;
    /// `None` when none is configured (or it does not parse: refused by
    /// [`Config::validate`]).
    pub fn consent_endpoint(&self) -> Option<String> {
        self.consent.endpoint.as_deref().and_then(|u| parse_endpoint_for("consent.endpoint", u).ok())
    }

    /// Checks every field; the error names the first one at fault.
    pub fn validate(&self) -> Result<(), ConfigError> {
        parse_endpoint(&self.collect_endpoint)?;
        if let Some(url) = &self.consent.endpoint {
            parse_endpoint_for("consent.endpoint", url)?;
        }
        self.collector.validate()?;
        if self.site_id == 0 && self.collector.uses_site_id() {
            return Err(ConfigError::new("site_id", K::OutOfRange, "must be a positive integer"));
        }
        if self.storage_dir.as_os_str().is_empty() || !self.storage_dir.is_absolute() {
            return Err(ConfigError::new("storage_dir", K::Invalid, "must be an absolute path to an app-private directory"));
        }
        for (i, a) in self.exempt_allowlist.iter().enumerate() {
            check_allowance(&format!("exempt_allowlist[{i}]"), a)?;
        }
        for (i, r) in self.forbidden_properties.iter().enumerate() {
            check_pattern(&format!("forbidden_properties[{i}].property"), &r.property, "property")?;
            check_pattern(&format!("forbidden_properties[{i}].events"), &r.events, "event")?;
        }
        for (i, e) in self.forbidden_events.iter().enumerate() {
            check_pattern(&format!("forbidden_events[{i}]"), e, "event")?;
        }
        for (i, e) in self.anonymous_events.iter().flatten().enumerate() {
            check_exact_event(&format!("anonymous_events[{i}]"), e)?;
        }
        let mut names: Vec<&str> = Vec::new();
        for (i, m) in self.custom_modes.iter().enumerate() {
            let field = format!("custom_modes[{i}]");
            let name_ok = m.name.len() <= 40
                && m.name.starts_with(|c: char| c.is_ascii_lowercase())
                && m.name.bytes().all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-'));
            if !name_ok {
                return Err(ConfigError::new(
                    format!("{field}.name"),
                    K::Invalid,
                    format!("{:?}: a-z, 0-9, '_' and '-', starting with a letter, 40 at most", m.name),
                ));
            }
            if !matches!(VisitorMode::parse(&m.name), VisitorMode::Custom(_)) || names.contains(&m.name.as_str()) {
                return Err(ConfigError::new(format!("{field}.name"), K::DuplicateMode, format!("{:?} is already a mode", m.name)));
            }
            names.push(&m.name);
            for (j, e) in m.allowed_events.iter().enumerate() {
                check_named_events(&format!("{field}.allowed_events[{j}]"), e)?;
            }
            for (j, a) in m.allowed_properties.iter().enumerate() {
                check_allowance(&format!("{field}.allowed_properties[{j}]"), a)?;
            }
        }
        if self.purposes.len() > MAX_PURPOSES {
            return Err(ConfigError::new("purposes", K::TooMany, format!("{} purposes; at most {MAX_PURPOSES}", self.purposes.len())));
        }
        let mut purposes: Vec<&str> = Vec::new();
        for (i, p) in self.purposes.iter().enumerate() {
            let field = format!("purposes[{i}]");
            if property_name_problem(&p.name).is_some() {
                return Err(ConfigError::new(format!("{field}.name"), K::Invalid, format!("{:?}: a-z, 0-9 and '_', starting with a letter", p.name)));
            }
            if purposes.contains(&p.name.as_str()) {
                return Err(ConfigError::new(format!("{field}.name"), K::DuplicateMode, format!("{:?} is listed twice", p.name)));
            }
            purposes.push(&p.name);
            if p.properties.len() > MAX_PURPOSE_PATTERNS {
                return Err(ConfigError::new(
                    format!("{field}.properties"),
                    K::TooMany,
                    format!("{} patterns; at most {MAX_PURPOSE_PATTERNS}", p.properties.len()),
                ));
            }
            for (j, pattern) in p.properties.iter().enumerate() {
                check_pattern(&format!("{field}.properties[{j}]"), pattern, "property")?;
            }
        }
        match &self.default_mode {
            VisitorMode::OptIn | VisitorMode::NoStorage => {
                return Err(ConfigError::new(
                    "default_mode",
                    K::ConsentModeAsDefault,
                    format!("{} carries every property and requires the visitor's consent: it cannot be a default", self.default_mode),
                ));
            }
            VisitorMode::Custom(name) if !names.contains(&name.as_str()) => {
                return Err(ConfigError::new("default_mode", K::Invalid, format!("unknown mode {name:?}")));
            }
            _ => {}
        }
        range("consent_lifetime_months", self.consent_lifetime_months, 1, MAX_CONSENT_LIFETIME_MONTHS)?;
        range("queue_max_hits", self.queue_max_hits, 100, 10_000_000)?;
        range("queue_max_age_days", self.queue_max_age_days, 1, 395)?;
        range("batch_size", self.batch_size, 1, 500)?;
        range("flush_interval_ms", self.flush_interval_ms, 100, 3_600_000)?;
        range("request_timeout_ms", self.request_timeout_ms, 100, 120_000)?;
        range("retry_base_ms", self.retry_base_ms, 10, 600_000)?;
        range("retry_max_ms", self.retry_max_ms, self.retry_base_ms, 86_400_000)?;
        self.context.validate("context")?;
        Ok(())
    }
}

/// `https://host[:port][/path]`; `http://` only to `localhost`, `127.0.0.0/8`
/// or `[::1]`. No user info, query or fragment. Parsed by `http::Uri`
/// (RFC 3986), then the host checked as a DNS name (labels of a-z, 0-9 and
/// inner hyphens, 63 characters at most, 253 in all) or an IP literal.
/// Scheme and host are case-insensitive; the result is lower-cased, without
/// a trailing slash, and is what requests are sent to.
fn parse_endpoint(url: &str) -> Result<String, ConfigError> {
    parse_endpoint_for("collect_endpoint", url)
}

/// [`parse_endpoint`] for the field `f`.
pub(crate) fn parse_endpoint_for(f: &str, url: &str) -> Result<String, ConfigError> {
    let bad = |p: &str| Err(ConfigError::new(f, K::Invalid, format!("{url:?}: {p}")));
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("contains white space or control characters");
    }
    if url.contains('#') {
        return bad("must not contain a fragment");
    }
    let uri: http::Uri = match url.parse() {
        Ok(u) => u,
        Err(e) => return bad(&format!("not a URL ({e})")),
    };
    let secure = match uri.scheme_str().map(str::to_ascii_lowercase).as_deref() {
        Some("https") => true,
        Some("http") => false,
        _ => return bad("must start with https://"),
    };
    if uri.query().is_some() {
        return bad("must not contain a query");
    }
    let Some(authority) = uri.authority() else { return bad("missing host") };
    if authority.as_str().contains('@') {
        return bad("must not contain user information");
    }
    let host = authority.host().to_ascii_lowercase();
    // What follows the host: nothing, or `:` and a port in 1..=65535.
    let after_host = &authority.as_str()[authority.host().len()..];
    let port = match after_host.strip_prefix(':') {
        None if after_host.is_empty() => None,
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => match p.parse::<u16>() {
            Ok(n) if n > 0 => Some(n),
            _ => return bad("invalid port"),
        },
        _ => return bad("invalid port"),
    };
    let ip = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(&host).parse::<IpAddr>().ok();
    if ip.is_none() && !is_dns_name(&host) {
        return bad("invalid host name");
    }
    if !secure && !is_loopback(&host, ip) {
        return Err(ConfigError::new(f, K::InsecureEndpoint, format!("{url:?}: plain http is only accepted for loopback hosts; use https")));
    }
    let scheme = if secure { "https" } else { "http" };
    let port = port.map(|p| format!(":{p}")).unwrap_or_default();
    Ok(format!("{scheme}://{host}{port}{}", uri.path().trim_end_matches('/')))
}

/// A DNS name: dot-separated labels of a-z, 0-9 and hyphens (not first or
/// last), 1 to 63 characters each, 253 in all; the last label not all digits.
fn is_dns_name(host: &str) -> bool {
    let labels: Vec<&str> = host.split('.').collect();
    host.len() <= 253
        && labels.iter().all(|l| {
            (1..=63).contains(&l.len())
                && l.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
        && labels.last().is_some_and(|l| !l.bytes().all(|b| b.is_ascii_digit()))
}

fn is_loopback(host: &str, ip: Option<IpAddr>) -> bool {
    host == "localhost" || ip.is_some_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok() -> Config {
        Config::new("https://collect.example.com/", 42, "/data/app/files/mesure")
    }

    fn err(c: &Config) -> (String, K) {
        let e = c.validate().unwrap_err();
        (e.field, e.kind)
    }

    #[test]
    fn defaults_are_valid() {
        ok().validate().unwrap();
        assert_eq!(ok().endpoint_base(), "https://collect.example.com");
        assert_eq!(ok().default_mode, VisitorMode::Exempt);
        assert!(!ok().send_hits_in_opt_out);
        assert_eq!(ok().consent_lifetime_months, 6);
    }

    #[test]
    fn endpoints() {
        for (good, normal) in [
            ("https://a.b", "https://a.b"),
            ("https://a.b:8443/x/y/", "https://a.b:8443/x/y"),
            ("http://127.0.0.1:9000", "http://127.0.0.1:9000"),
            ("http://localhost:1", "http://localhost:1"),
            ("http://[::1]:80", "http://[::1]:80"),
            ("https://[2001:db8::1]", "https://[2001:db8::1]"),
            ("HTTP://LOCALHOST", "http://localhost"),
            ("Https://Collect.Example.COM/Path", "https://collect.example.com/Path"),
            ("https://x-y.example.com", "https://x-y.example.com"),
        ] {
            let mut c = ok();
            c.collect_endpoint = good.into();
            assert!(c.validate().is_ok(), "{good}");
            assert_eq!(c.endpoint_base(), normal, "{good}");
        }
        for (bad, kind) in [
            ("http://collect.example.com", K::InsecureEndpoint),
            ("http://10.0.0.1", K::InsecureEndpoint),
            ("ftp://x", K::Invalid),
            ("https://", K::Invalid),
            ("https://u:p@x.com", K::Invalid),
            ("https://x.com?a=1", K::Invalid),
            ("https://x.com:0", K::Invalid),
            ("https://x.com:99999", K::Invalid),
            ("https://x .com", K::Invalid),
            ("https://[::1", K::Invalid),
            ("", K::Invalid),
            ("https://x.com:443:444", K::Invalid),
            ("https://a..b", K::Invalid),
            ("https://...", K::Invalid),
            ("https://-.-", K::Invalid),
            ("https://x_y.com", K::Invalid),
            ("https://x.com:", K::Invalid),
            ("https://x.com#top", K::Invalid),
            ("https://1.2.3", K::Invalid),
            ("https://a.-b.com", K::Invalid),
            ("HTTP://collect.example.com", K::InsecureEndpoint),
        ] {
            let mut c = ok();
            c.collect_endpoint = bad.into();
            assert_eq!(err(&c), ("collect_endpoint".into(), kind), "{bad}");
        }
    }

    #[test]
    fn each_field_is_named() {
        type Case = (Box<dyn Fn(&mut Config)>, &'static str, K);
        let cases: Vec<Case> = vec![
            (Box::new(|c| c.site_id = 0), "site_id", K::OutOfRange),
            (Box::new(|c| c.storage_dir = "relative/dir".into()), "storage_dir", K::Invalid),
            (Box::new(|c| c.default_mode = VisitorMode::OptIn), "default_mode", K::ConsentModeAsDefault),
            (Box::new(|c| c.default_mode = VisitorMode::NoStorage), "default_mode", K::ConsentModeAsDefault),
            (Box::new(|c| c.default_mode = VisitorMode::Custom("nope".into())), "default_mode", K::Invalid),
            (Box::new(|c| c.consent_lifetime_months = 7), "consent_lifetime_months", K::OutOfRange),
            (Box::new(|c| c.consent_lifetime_months = 0), "consent_lifetime_months", K::OutOfRange),
            (Box::new(|c| c.queue_max_hits = 1), "queue_max_hits", K::OutOfRange),
            (Box::new(|c| c.queue_max_age_days = 0), "queue_max_age_days", K::OutOfRange),
            (Box::new(|c| c.batch_size = 0), "batch_size", K::OutOfRange),
            (Box::new(|c| c.flush_interval_ms = 1), "flush_interval_ms", K::OutOfRange),
            (Box::new(|c| c.request_timeout_ms = 0), "request_timeout_ms", K::OutOfRange),
            (Box::new(|c| c.retry_base_ms = 1), "retry_base_ms", K::OutOfRange),
            (Box::new(|c| c.retry_max_ms = 10), "retry_max_ms", K::OutOfRange),
            (Box::new(|c| c.context.device_model = Some("x".repeat(300))), "context.device_model", K::OutOfRange),
            (Box::new(|c| c.context.os = Some("a\nb".into())), "context.os", K::Invalid),
            (
                Box::new(|c| c.forbidden_properties.push(PropertyRule { property: "Bad!".into(), events: "*".into() })),
                "forbidden_properties[0].property",
                K::Invalid,
            ),
            (
                Box::new(|c| c.custom_modes.push(CustomMode { name: "exempt".into(), allowed_events: vec![], allowed_properties: vec![] })),
                "custom_modes[0].name",
                K::DuplicateMode,
            ),
            (
                Box::new(|c| c.custom_modes.push(CustomMode { name: "Bad Name".into(), allowed_events: vec![], allowed_properties: vec![] })),
                "custom_modes[0].name",
                K::Invalid,
            ),
            (
                Box::new(|c| c.custom_modes.push(CustomMode { name: "plus".into(), allowed_events: vec!["Bad".into()], allowed_properties: vec![] })),
                "custom_modes[0].allowed_events[0]",
                K::Invalid,
            ),
        ];
        for (mutate, field, kind) in cases {
            let mut c = ok();
            mutate(&mut c);
            assert_eq!(err(&c), (field.to_owned(), kind), "{field}");
        }
    }

    #[test]
    fn allowlist_refuses_identifying_and_unjustified() {
        for (prop, kind) in [
            ("user_id", K::IdentifyingProperty),
            ("advertising_id", K::IdentifyingProperty),
            ("idfa", K::IdentifyingProperty),
            ("geo_latitude", K::IdentifyingProperty),
            ("email", K::IdentifyingProperty),
        ] {
            let mut c = ok();
            c.exempt_allowlist.push(AllowedProperty {
                property: prop.into(),
                events: "*".into(),
                justification: "we really need it for the audience".into(),
            });
            assert_eq!(err(&c), ("exempt_allowlist[0].property".into(), kind), "{prop}");
        }
        let mut c = ok();
        c.exempt_allowlist.push(AllowedProperty { property: "ab_variant".into(), events: "*".into(), justification: " ".into() });
        assert_eq!(err(&c), ("exempt_allowlist[0].justification".into(), K::MissingJustification));
        let mut c = ok();
        c.exempt_allowlist.push(AllowedProperty {
            property: "ab_*".into(),
            events: "*".into(),
            justification: "a long enough reason to keep it".into(),
        });
        assert_eq!(err(&c), ("exempt_allowlist[0].property".into(), K::Invalid));
        let mut c = ok();
        c.custom_modes.push(CustomMode {
            name: "plus".into(),
            allowed_events: vec![],
            allowed_properties: vec![AllowedProperty {
                property: "user_category".into(),
                events: "*".into(),
                justification: "segmenting the audience by plan".into(),
            }],
        });
        assert_eq!(err(&c), ("custom_modes[0].allowed_properties[0].property".into(), K::IdentifyingProperty));
    }

    #[test]
    fn json_round() {
        let c = Config::from_json(r#"{"collect_endpoint":"https://x.y","site_id":3,"storage_dir":"/tmp/a","default_mode":"no-consent"}"#).unwrap();
        assert_eq!(c.default_mode, VisitorMode::NoConsent);
        c.validate().unwrap();
        let e = Config::from_json(r#"{"site_id":-1}"#).unwrap_err();
        assert_eq!(e.field, "json");
        assert!(Config::from_json(r#"{"unknown_field":1}"#).is_err());
        // Deep nesting is refused by the parser's depth limit, not by the stack.
        let deep = format!(r#"{{"custom_modes":{}{}}}"#, "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(Config::from_json(&deep).unwrap_err().field, "json");
    }
}
