//! Events as the app tags them, hits as they leave the device, and the
//! collector's naming and value rules.

use std::collections::BTreeMap;

use serde::ser::{SerializeMap, SerializeStruct};
use serde::{Serialize, Serializer};

use crate::clock::EpochMillis;
use crate::diagnostics::{DropReason, Dropped};
use crate::error::TrackError;

/// Longest accepted event name (characters).
pub const MAX_EVENT_NAME_LEN: usize = 80;
/// Longest property name the collector accepts (Piano Analytics rule).
pub const MAX_PROPERTY_NAME_LEN: usize = 40;
/// More properties than this in one event is a tagging bug: the event is rejected.
pub const MAX_PROPERTIES: usize = 100;
/// String values longer than this (characters) are truncated, with a diagnostic.
pub const MAX_STRING_CHARS: usize = 1000;
/// Arrays longer than this are truncated, with a diagnostic.
pub const MAX_ARRAY_LEN: usize = 100;

/// Standard event names.
pub mod events {
    pub const PAGE_DISPLAY: &str = "page.display";
    pub const CLICK_ACTION: &str = "click.action";
    pub const CLICK_NAVIGATION: &str = "click.navigation";
    pub const CLICK_DOWNLOAD: &str = "click.download";
    pub const CLICK_EXIT: &str = "click.exit";
}

/// Property names the SDK itself writes. The app cannot set them.
pub mod reserved {
    pub const VISITOR_PRIVACY_MODE: &str = "visitor_privacy_mode";
    pub const VISITOR_PRIVACY_CONSENT: &str = "visitor_privacy_consent";
    pub const EVENT_ID: &str = "event_id";
    pub const DEVICE_TIMESTAMP_UTC: &str = "device_timestamp_utc";
    pub const EVENT_COLLECTION_PLATFORM: &str = "event_collection_platform";
    pub const EVENT_COLLECTION_VERSION: &str = "event_collection_version";
    pub const ALL: [&str; 6] = [
        VISITOR_PRIVACY_MODE,
        VISITOR_PRIVACY_CONSENT,
        EVENT_ID,
        DEVICE_TIMESTAMP_UTC,
        EVENT_COLLECTION_PLATFORM,
        EVENT_COLLECTION_VERSION,
    ];
}

/// A property value: strings, numbers, booleans, dates, or arrays of one of those.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    String(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// An instant, milliseconds since the epoch; sent as whole seconds (collector format).
    Date(EpochMillis),
    StringArray(Vec<String>),
    IntArray(Vec<i64>),
    FloatArray(Vec<f64>),
    BoolArray(Vec<bool>),
    DateArray(Vec<EpochMillis>),
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::String(v.to_owned())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::String(v)
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Int(v.into())
    }
}
impl From<u32> for Value {
    fn from(v: u32) -> Self {
        Value::Int(v.into())
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

fn date_seconds(ms: EpochMillis) -> i64 {
    ms.div_euclid(1000)
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::String(v) => s.serialize_str(v),
            Value::Int(v) => s.serialize_i64(*v),
            Value::Float(v) => s.serialize_f64(*v),
            Value::Bool(v) => s.serialize_bool(*v),
            Value::Date(v) => s.serialize_i64(date_seconds(*v)),
            Value::StringArray(v) => v.serialize(s),
            Value::IntArray(v) => v.serialize(s),
            Value::FloatArray(v) => v.serialize(s),
            Value::BoolArray(v) => v.serialize(s),
            Value::DateArray(v) => s.collect_seq(v.iter().map(|ms| date_seconds(*ms))),
        }
    }
}

/// An event as the app tags it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Event {
    pub name: String,
    pub properties: Vec<(String, Value)>,
}

impl Event {
    pub fn new(name: impl Into<String>) -> Self {
        Self { name: name.into(), properties: Vec::new() }
    }
    /// A screen view (`page.display` with `page` set).
    pub fn screen(name: impl Into<String>) -> Self {
        Self::new(events::PAGE_DISPLAY).with("page", name.into())
    }
    /// A click (`click.action`, `click.navigation`, `click.download` or `click.exit`).
    pub fn click(kind: ClickKind, name: impl Into<String>) -> Self {
        Self::new(kind.event_name()).with("click", name.into())
    }
    pub fn with(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.properties.push((key.into(), value.into()));
        self
    }
}

/// The four standard click events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClickKind {
    Action,
    Navigation,
    Download,
    Exit,
}

impl ClickKind {
    pub fn event_name(self) -> &'static str {
        match self {
            ClickKind::Action => events::CLICK_ACTION,
            ClickKind::Navigation => events::CLICK_NAVIGATION,
            ClickKind::Download => events::CLICK_DOWNLOAD,
            ClickKind::Exit => events::CLICK_EXIT,
        }
    }
}

/// Event names: a lower-case letter, then lower-case letters, digits, `_` and `.`.
pub fn validate_event_name(name: &str) -> Result<(), TrackError> {
    let bad = |reason: &'static str| {
        Err(TrackError::InvalidEventName { name: truncate_chars(name, 100), reason })
    };
    if name.is_empty() {
        return bad("empty");
    }
    if name.chars().count() > MAX_EVENT_NAME_LEN {
        return bad("longer than 80 characters");
    }
    let mut bytes = name.bytes();
    if !matches!(bytes.next(), Some(b'a'..=b'z')) {
        return bad("must start with a lower-case letter");
    }
    if !bytes.all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.')) {
        return bad("only a-z, 0-9, '_' and '.' are allowed");
    }
    Ok(())
}

/// Why a property name breaks the collector's rules, if it does.
/// `name` must already be lower-cased.
pub fn property_name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return Some("empty");
    }
    if name.len() > MAX_PROPERTY_NAME_LEN {
        return Some("longer than 40 characters");
    }
    let mut bytes = name.bytes();
    if !matches!(bytes.next(), Some(b'a'..=b'z')) {
        return Some("must start with a letter");
    }
    if !bytes.all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_')) {
        return Some("only a-z, 0-9 and '_' are allowed");
    }
    if name.starts_with("m_") || name.starts_with("visit_") {
        return Some("the prefixes 'm_' and 'visit_' are reserved by the collector");
    }
    None
}

fn truncate_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((idx, _)) => s[..idx].to_owned(),
        None => s.to_owned(),
    }
}

/// Applies the value rules: non-finite floats are refused, long strings and
/// arrays are truncated. Returns the reason when the value is refused, and
/// records truncations in `notes`.
fn normalise_value(
    event: &str,
    name: &str,
    value: &mut Value,
    notes: &mut Vec<Dropped>,
) -> Result<(), DropReason> {
    let mut truncated = false;
    match value {
        Value::Float(f) if !f.is_finite() => return Err(DropReason::NonFiniteNumber),
        Value::FloatArray(v) if v.iter().any(|f| !f.is_finite()) => {
            return Err(DropReason::NonFiniteNumber)
        }
        Value::String(s) => truncated = truncate_string(s),
        Value::StringArray(v) => {
            truncated |= truncate_vec(v);
            for s in v.iter_mut() {
                truncated |= truncate_string(s);
            }
        }
        Value::IntArray(v) => truncated |= truncate_vec(v),
        Value::FloatArray(v) => truncated |= truncate_vec(v),
        Value::BoolArray(v) => truncated |= truncate_vec(v),
        Value::DateArray(v) => truncated |= truncate_vec(v),
        _ => {}
    }
    if truncated {
        notes.push(Dropped {
            event: event.to_owned(),
            property: Some(name.to_owned()),
            reason: DropReason::Truncated,
        });
    }
    Ok(())
}

fn truncate_string(s: &mut String) -> bool {
    // Byte length bounds the character count from above: the count is only
    // computed for strings that may be too long.
    if s.len() > MAX_STRING_CHARS && s.chars().count() > MAX_STRING_CHARS {
        *s = truncate_chars(s, MAX_STRING_CHARS);
        true
    } else {
        false
    }
}

fn truncate_vec<T>(v: &mut Vec<T>) -> bool {
    if v.len() > MAX_ARRAY_LEN {
        v.truncate(MAX_ARRAY_LEN);
        true
    } else {
        false
    }
}

/// An event whose name and properties passed the collector's rules.
#[derive(Debug)]
pub struct CheckedEvent {
    pub name: String,
    /// Lower-cased keys, sorted, unique.
    pub properties: BTreeMap<String, Value>,
    /// Properties removed or altered by the rules (not by the mode).
    pub notes: Vec<Dropped>,
}

/// Validates an event: a bad name, too many properties or two keys that are
/// equal once lower-cased reject the event; a bad property name, a reserved
/// key or a non-finite number drops that property; long values are truncated.
pub fn check_event(event: Event) -> Result<CheckedEvent, TrackError> {
    validate_event_name(&event.name)?;
    if event.properties.len() > MAX_PROPERTIES {
        return Err(TrackError::TooManyProperties {
            count: event.properties.len(),
            max: MAX_PROPERTIES,
        });
    }
    // Keys are lower-cased and handled in sorted order, so diagnostics come
    // out in the same order on every platform (maps crossing FFI have none).
    let mut input = event.properties;
    for (key, _) in input.iter_mut() {
        key.make_ascii_lowercase();
    }
    input.sort_by(|a, b| a.0.cmp(&b.0));
    if let Some(w) = input.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(TrackError::DuplicateProperty { name: w[0].0.clone() });
    }
    let mut properties = BTreeMap::new();
    let mut notes = Vec::new();
    for (key, mut value) in input {
        let verdict = if let Some(why) = property_name_problem(&key) {
            Err(DropReason::InvalidName(why))
        } else if reserved::ALL.contains(&key.as_str()) {
            Err(DropReason::Reserved)
        } else {
            normalise_value(&event.name, &key, &mut value, &mut notes)
        };
        match verdict {
            Ok(()) => {
                properties.insert(key, value);
            }
            Err(reason) => notes.push(Dropped {
                event: event.name.clone(),
                property: Some(truncate_chars(&key, 100)),
                reason,
            }),
        }
    }
    Ok(CheckedEvent { name: event.name, properties, notes })
}

/// A filtered hit, bound to its visitor id, ready for the queue.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub event_id: String,
    pub name: String,
    pub visitor_id: String,
    /// Wire name of the visitor mode in force when the event was tracked.
    pub mode: String,
    pub tracked_at_ms: EpochMillis,
    /// Everything that leaves the device, `visitor_privacy_*` and `event_id` included.
    pub data: BTreeMap<String, Value>,
}

impl Hit {
    /// The event as the collector receives it: `{"name": ..., "data": {...}}`.
    pub fn wire_json(&self) -> String {
        // Serialising owned, finite data into a String cannot fail; an empty
        // object is the defensive answer should serde ever disagree.
        serde_json::to_string(&WireEvent(self)).unwrap_or_else(|_| String::from("{}"))
    }
}

struct WireEvent<'a>(&'a Hit);

impl Serialize for WireEvent<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Event", 2)?;
        st.serialize_field("name", &self.0.name)?;
        st.serialize_field("data", &WireData(&self.0.data))?;
        st.end()
    }
}

struct WireData<'a>(&'a BTreeMap<String, Value>);

impl Serialize for WireData<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_names() {
        assert!(validate_event_name("page.display").is_ok());
        assert!(validate_event_name("my_event2").is_ok());
        for bad in ["", "Page.display", "1abc", "page display", "é", &"a".repeat(81)] {
            assert!(
                matches!(validate_event_name(bad), Err(TrackError::InvalidEventName { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn property_names() {
        assert_eq!(property_name_problem("page_chapter1"), None);
        assert_eq!(property_name_problem(&"a".repeat(40)), None);
        assert!(property_name_problem(&"a".repeat(41)).is_some());
        assert!(property_name_problem("m_x").is_some());
        assert!(property_name_problem("visit_x").is_some());
        assert!(property_name_problem("_x").is_some());
        assert!(property_name_problem("a-b").is_some());
        assert!(property_name_problem("").is_some());
    }

    #[test]
    fn check_lowercases_drops_and_truncates() {
        let ev = Event::new("page.display")
            .with("Page", "Home")
            .with("bad-name", 1)
            .with("event_id", "forged")
            .with("ratio", f64::NAN)
            .with("long", "é".repeat(1001));
        let c = check_event(ev).unwrap();
        assert_eq!(c.properties.keys().collect::<Vec<_>>(), vec!["long", "page"]);
        assert_eq!(c.properties["page"], Value::String("Home".into()));
        match &c.properties["long"] {
            Value::String(s) => assert_eq!(s.chars().count(), 1000),
            other => panic!("{other:?}"),
        }
        let reasons: Vec<_> = c.notes.iter().map(|n| (n.property.as_deref().unwrap(), n.reason.code())).collect();
        assert_eq!(
            reasons,
            vec![("bad-name", "invalid_name"), ("event_id", "reserved"), ("long", "truncated"), ("ratio", "non_finite_number")]
        );
    }

    #[test]
    fn duplicate_after_lowercase_rejects() {
        let ev = Event::new("page.display").with("Page", "a").with("page", "b");
        assert_eq!(
            check_event(ev).unwrap_err(),
            TrackError::DuplicateProperty { name: "page".into() }
        );
    }

    #[test]
    fn too_many_properties_rejects() {
        let mut ev = Event::new("x");
        for i in 0..=MAX_PROPERTIES {
            ev = ev.with(format!("p{i}"), 1);
        }
        assert_eq!(
            check_event(ev).unwrap_err(),
            TrackError::TooManyProperties { count: 101, max: 100 }
        );
    }

    #[test]
    fn wire_format_sorts_keys_and_sends_dates_in_seconds() {
        let mut data = BTreeMap::new();
        data.insert("z".to_owned(), Value::Date(1_700_000_000_999));
        data.insert("a".to_owned(), Value::StringArray(vec!["x".into()]));
        data.insert("f".to_owned(), Value::Float(1.5));
        let hit = Hit {
            event_id: "e".into(),
            name: "page.display".into(),
            visitor_id: "v".into(),
            mode: "exempt".into(),
            tracked_at_ms: 0,
            data,
        };
        assert_eq!(
            hit.wire_json(),
            r#"{"name":"page.display","data":{"a":["x"],"f":1.5,"z":1700000000}}"#
        );
    }
}
