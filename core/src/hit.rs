//! Events as the app tags them, hits as they leave the device, and the
//! collector's naming and value rules.

use std::collections::BTreeMap;

use std::sync::Arc;

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
/// The most one value takes once serialised: arrays are cut to fit, with a
/// diagnostic. A string of [`MAX_STRING_CHARS`] fits whatever its characters
/// (6 bytes for the worst escaped one).
pub const MAX_VALUE_BYTES: usize = 8 * 1024;
/// The most one hit takes once serialised: past it, its largest properties
/// are left out (`too_large`). A typical hit is 400 bytes.
pub const MAX_HIT_BYTES: usize = 64 * 1024;
/// The most one upload request carries: batches are cut to fit, so no
/// request body exceeds it whatever `batch_size` says.
pub const MAX_REQUEST_BYTES: usize = 1024 * 1024;

/// Counts bytes written, to size JSON without building it.
struct ByteCount(usize);

impl std::io::Write for ByteCount {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The length of `v` serialised as JSON, computed without allocating.
pub fn json_len<T: Serialize + ?Sized>(v: &T) -> usize {
    let mut n = ByteCount(0);
    match serde_json::to_writer(&mut n, v) {
        Ok(()) => n.0,
        Err(_) => usize::MAX,
    }
}

/// Standard event names.
pub mod events {
    #![allow(missing_docs)]
    pub const PAGE_DISPLAY: &str = "page.display";
    pub const CLICK_ACTION: &str = "click.action";
    pub const CLICK_NAVIGATION: &str = "click.navigation";
    pub const CLICK_DOWNLOAD: &str = "click.download";
    pub const CLICK_EXIT: &str = "click.exit";
}

/// Property names the SDK itself writes. The app cannot set them.
pub mod reserved {
    #![allow(missing_docs)]
    pub const VISITOR_PRIVACY_MODE: &str = "visitor_privacy_mode";
    pub const VISITOR_PRIVACY_CONSENT: &str = "visitor_privacy_consent";
    pub const EVENT_ID: &str = "event_id";
    pub const DEVICE_TIMESTAMP_UTC: &str = "device_timestamp_utc";
    pub const EVENT_COLLECTION_PLATFORM: &str = "event_collection_platform";
    pub const EVENT_COLLECTION_VERSION: &str = "event_collection_version";
    /// The purposes in force, when no visitor mode stands for them.
    pub const VISITOR_PRIVACY_PURPOSES: &str = "visitor_privacy_purposes";
    pub const ALL: [&str; 7] = [
        VISITOR_PRIVACY_MODE,
        VISITOR_PRIVACY_CONSENT,
        VISITOR_PRIVACY_PURPOSES,
        EVENT_ID,
        DEVICE_TIMESTAMP_UTC,
        EVENT_COLLECTION_PLATFORM,
        EVENT_COLLECTION_VERSION,
    ];
}

/// A property value: strings, numbers, booleans, dates, or arrays of one of those.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Text, cut to [`crate::limits::MAX_STRING_CHARS`] characters.
    String(String),
    /// A whole number.
    Int(i64),
    /// A finite number (NaN and infinities are dropped and reported).
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// An instant, milliseconds since the epoch; sent as whole seconds (collector format).
    Date(EpochMillis),
    /// Texts (at most [`crate::limits::MAX_ARRAY_LEN`], each cut like a text).
    StringArray(Vec<String>),
    /// Whole numbers.
    IntArray(Vec<i64>),
    /// Finite numbers.
    FloatArray(Vec<f64>),
    /// Booleans.
    BoolArray(Vec<bool>),
    /// Instants, milliseconds since the epoch; each sent as whole seconds.
    DateArray(Vec<EpochMillis>),
    /// A value of a type the SDK cannot send, with the platform's type name
    /// (a Kotlin `Uri`, a Swift `URL`): dropped and reported
    /// ([`DropReason::UnsupportedValue`]), never sent. The wrappers pass
    /// unknown types on as this so that tracking never throws.
    Unsupported(String),
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
            // Never reaches a hit: check_event drops it.
            Value::Unsupported(_) => s.serialize_unit(),
        }
    }
}

/// An event as the app tags it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Event {
    /// The event name (`page.display`, `article.read`).
    pub name: String,
    /// The properties as tagged (keys are lower-cased when checked).
    pub properties: Vec<(String, Value)>,
}

impl Event {
    /// An event with no property.
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
    /// Adds a property.
    pub fn with(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.properties.push((key.into(), value.into()));
        self
    }
}

/// The four standard click events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClickKind {
    /// `click.action`: an action in the app.
    Action,
    /// `click.navigation`: a move to another screen.
    Navigation,
    /// `click.download`: a download.
    Download,
    /// `click.exit`: a link out of the app.
    Exit,
}

impl ClickKind {
    /// The event's wire name.
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
    let bad = |reason: &'static str| Err(TrackError::InvalidEventName { name: truncate_chars(name, 100), reason });
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
fn normalise_value(event: &str, name: &str, value: &mut Value, notes: &mut Vec<Dropped>) -> Result<(), DropReason> {
    let mut truncated = false;
    match value {
        Value::Unsupported(type_name) => return Err(DropReason::UnsupportedValue(truncate_chars(type_name, 100))),
        Value::Float(f) if !f.is_finite() => return Err(DropReason::NonFiniteNumber),
        Value::FloatArray(v) if v.iter().any(|f| !f.is_finite()) => return Err(DropReason::NonFiniteNumber),
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
    if let Value::StringArray(v) = value {
        truncated |= fit_bytes(v);
    }
    if truncated {
        notes.push(Dropped { event: event.to_owned(), property: Some(name.to_owned()), reason: DropReason::Truncated });
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

/// Cuts a string array to [`MAX_VALUE_BYTES`] serialised (the only values
/// that can exceed it once their length limits hold).
fn fit_bytes(v: &mut Vec<String>) -> bool {
    let mut total = 2; // []
    for (i, s) in v.iter().enumerate() {
        total += json_len(s.as_str()) + usize::from(i > 0);
        if total > MAX_VALUE_BYTES {
            v.truncate(i);
            return true;
        }
    }
    false
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
    /// The event name.
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
    check_event_named(event).map_err(|r| r.error)
}

/// A refused event: the error, and the event's name (cut to 100 characters)
/// for the diagnostic that reports it.
#[derive(Debug)]
pub(crate) struct Refusal {
    pub event: String,
    pub error: TrackError,
}

/// [`check_event`], keeping the event's name when it refuses.
pub(crate) fn check_event_named(event: Event) -> Result<CheckedEvent, Refusal> {
    let refuse = |error: TrackError, name: &str| Refusal { event: truncate_chars(name, 100), error };
    if let Err(e) = validate_event_name(&event.name) {
        return Err(refuse(e, &event.name));
    }
    if event.properties.len() > MAX_PROPERTIES {
        let error = TrackError::TooManyProperties { count: event.properties.len(), max: MAX_PROPERTIES };
        return Err(refuse(error, &event.name));
    }
    // Keys are lower-cased and handled in sorted order, so diagnostics come
    // out in the same order on every platform (maps crossing FFI have none).
    let mut input = event.properties;
    for (key, _) in input.iter_mut() {
        key.make_ascii_lowercase();
    }
    input.sort_by(|a, b| a.0.cmp(&b.0));
    if let Some(w) = input.windows(2).find(|w| w[0].0 == w[1].0) {
        let error = TrackError::DuplicateProperty { name: truncate_chars(&w[0].0, 100) };
        return Err(refuse(error, &event.name));
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
            Err(reason) => notes.push(Dropped { event: event.name.clone(), property: Some(truncate_chars(&key, 100)), reason }),
        }
    }
    Ok(CheckedEvent { name: event.name, properties, notes })
}

/// The device context attached to hits: each property with its JSON text,
/// serialised once when the context is set, sorted by key.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Context {
    entries: Vec<(String, Value, String)>,
}

impl Context {
    /// The context of these properties, each serialised once.
    pub fn new(mut properties: Vec<(String, Value)>) -> Context {
        properties.sort_by(|a, b| a.0.cmp(&b.0));
        properties.dedup_by(|a, b| a.0 == b.0);
        let entries = properties
            .into_iter()
            .map(|(k, v)| {
                let json = serde_json::to_string(&v).unwrap_or_else(|_| "null".to_owned());
                (k, v, json)
            })
            .collect();
        Context { entries }
    }

    /// Keys and values, in key order.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.entries.iter().map(|(k, v, _)| (k.as_str(), v))
    }

    /// The index of `key`, if the context has it (at most a few dozen keys).
    pub fn position(&self, key: &str) -> Option<usize> {
        self.entries.iter().position(|(k, _, _)| k == key)
    }
}

/// The most context properties a hit can select from (one bit each).
pub const MAX_CONTEXT_PROPERTIES: usize = 64;

/// A filtered event, as it will leave the device. The device context is
/// shared between hits and referenced by a mask, so tracking copies nothing
/// of it. The visitor id travels beside it, in the request URL.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The hit's random `event_id`.
    pub event_id: String,
    /// The event name.
    pub name: String,
    /// Wire name of the visitor mode in force when the event was tracked.
    pub mode: Arc<str>,
    /// `visitor_privacy_consent`.
    pub consent: bool,
    /// When it was tracked.
    pub tracked_at_ms: EpochMillis,
    /// The device context in force.
    pub context: Arc<Context>,
    /// Bit `i` set: context entry `i` leaves with this hit.
    pub context_mask: u64,
    /// Whether the mode lets `device_timestamp_utc` leave.
    pub timestamp: bool,
    /// `visitor_privacy_purposes` as JSON text, when the purposes in force
    /// are not a visitor mode's.
    pub purposes: Option<Arc<str>>,
    /// The app's properties the mode allows, in key order.
    pub properties: Vec<(String, Value)>,
}

/// A hit serialised on the tracking thread, before any lock (so the storage
/// thread only writes it, and frees one string instead of every property).
/// It has no visitor id yet: that is decided under the state lock, when it
/// becomes a [`QueuedHit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedHit {
    pub event_id: String,
    pub mode: Arc<str>,
    pub tracked_at_ms: EpochMillis,
    /// The event in its stored form, `{"name":..,"data":{..}}`.
    pub body: String,
}

impl EncodedHit {
    /// The hit queued with the visitor id it leaves with.
    pub fn queued(self, visitor_id: Arc<str>) -> QueuedHit {
        let EncodedHit { event_id, mode, tracked_at_ms, body } = self;
        QueuedHit { event_id, visitor_id, mode, tracked_at_ms, body }
    }
}

/// A hit as handed to the storage thread: every field set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedHit {
    pub event_id: String,
    pub visitor_id: Arc<str>,
    pub mode: Arc<str>,
    pub tracked_at_ms: EpochMillis,
    /// The event in its stored form, `{"name":..,"data":{..}}`.
    pub body: String,
}

thread_local! {
    /// Reused by each tracking thread to serialise its hits.
    static WIRE_BUFFER: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(Vec::with_capacity(1024));
}

/// Where one `data` entry of a hit comes from.
enum Field<'a> {
    /// A context entry: its value, and its JSON text serialised once.
    Context(&'a Value, &'a str),
    Value(&'a Value),
    Int(i64),
    Bool(bool),
    Str(&'a str),
    /// JSON text written as it is (`visitor_privacy_purposes`).
    Json(&'a str),
}

impl Hit {
    /// Calls `f` with every field that leaves the device, in key order: the
    /// selected context, the app's properties (which win over the context),
    /// the timestamp, `event_id` and the `visitor_privacy_*` pair. A merge of
    /// three sorted sequences: no allocation, no sort.
    fn for_each_field<'a>(&'a self, mut f: impl FnMut(&'a str, Field<'a>)) {
        let mut context = self
            .context
            .entries
            .iter()
            .enumerate()
            .filter(|(i, _)| *i < MAX_CONTEXT_PROPERTIES && self.context_mask & (1 << i) != 0)
            .map(|(_, (k, v, json))| (k.as_str(), Field::Context(v, json)))
            .peekable();
        let mut properties = self.properties.iter().map(|(k, v)| (k.as_str(), Field::Value(v))).peekable();
        let timestamp = self.timestamp.then(|| (reserved::DEVICE_TIMESTAMP_UTC, Field::Int(self.tracked_at_ms.div_euclid(1000))));
        // Already in key order.
        let mut fixed = timestamp
            .into_iter()
            .chain([
                (reserved::EVENT_ID, Field::Str(&self.event_id)),
                (reserved::VISITOR_PRIVACY_CONSENT, Field::Bool(self.consent)),
                (reserved::VISITOR_PRIVACY_MODE, Field::Str(&self.mode)),
            ])
            .chain(self.purposes.as_deref().map(|json| (reserved::VISITOR_PRIVACY_PURPOSES, Field::Json(json))))
            .peekable();
        loop {
            let keys = [context.peek().map(|e| e.0), properties.peek().map(|e| e.0), fixed.peek().map(|e| e.0)];
            let smallest = keys.iter().enumerate().filter_map(|(i, k)| k.map(|k| (k, i))).min();
            let next = match smallest {
                Some((_, 0)) => context.next(),
                Some((_, 1)) => properties.next(),
                Some(_) => fixed.next(),
                None => return,
            };
            if let Some((k, field)) = next {
                f(k, field);
            }
        }
    }

    /// What leaves the device, as values (for inspection and tests).
    pub fn data(&self) -> BTreeMap<String, Value> {
        let mut out = BTreeMap::new();
        self.for_each_field(|k, f| {
            let v = match f {
                Field::Context(v, _) | Field::Value(v) => v.clone(),
                Field::Json(json) => Value::StringArray(serde_json::from_str(json).unwrap_or_default()),
                Field::Int(i) => Value::Int(i),
                Field::Bool(b) => Value::Bool(b),
                Field::Str(s) => Value::String(s.to_owned()),
            };
            out.insert(k.to_owned(), v);
        });
        out
    }

    /// The event as the collector receives it: `{"name": ..., "data": {...}}`.
    pub fn wire_json(&self) -> String {
        WIRE_BUFFER.with(|b| match b.try_borrow_mut() {
            Ok(mut buf) => self.write_wire_json(&mut buf).to_owned(),
            Err(_) => self.write_wire_json(&mut Vec::with_capacity(512)).to_owned(),
        })
    }

    /// The same, written into a reused buffer; returns the JSON text. Keys
    /// are written as they are: every one was checked against `[a-z0-9_]`.
    pub fn write_wire_json<'b>(&self, buf: &'b mut Vec<u8>) -> &'b str {
        buf.clear();
        buf.extend_from_slice(b"{\"name\":");
        let mut ok = serde_json::to_writer(&mut *buf, &self.name).is_ok();
        buf.extend_from_slice(b",\"data\":{");
        let mut first = true;
        self.for_each_field(|k, f| {
            if !first {
                buf.push(b',');
            }
            first = false;
            buf.push(b'"');
            buf.extend_from_slice(k.as_bytes());
            buf.extend_from_slice(b"\":");
            match f {
                Field::Context(_, json) | Field::Json(json) => buf.extend_from_slice(json.as_bytes()),
                Field::Value(v) => ok &= serde_json::to_writer(&mut *buf, v).is_ok(),
                // Written in place: no temporary string.
                Field::Int(n) => ok &= std::io::Write::write_fmt(&mut *buf, format_args!("{n}")).is_ok(),
                Field::Bool(b) => buf.extend_from_slice(if b { b"true" } else { b"false" }),
                Field::Str(s) => ok &= serde_json::to_writer(&mut *buf, s).is_ok(),
            }
        });
        buf.extend_from_slice(b"}}");
        // Owned, finite values always serialise; an empty object is the
        // defensive answer should that ever break.
        if !ok || std::str::from_utf8(buf).is_err() {
            buf.clear();
            buf.extend_from_slice(b"{}");
        }
        std::str::from_utf8(buf).unwrap_or("{}")
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
            assert!(matches!(validate_event_name(bad), Err(TrackError::InvalidEventName { .. })), "{bad:?}");
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
            .with("long", "é".repeat(1001))
            .with("list", Value::IntArray((0..150).collect()));
        let c = check_event(ev).unwrap();
        assert_eq!(c.properties.keys().collect::<Vec<_>>(), vec!["list", "long", "page"]);
        assert_eq!(c.properties["list"], Value::IntArray((0..100).collect()));
        assert_eq!(c.properties["page"], Value::String("Home".into()));
        match &c.properties["long"] {
            Value::String(s) => assert_eq!(s.chars().count(), 1000),
            other => panic!("{other:?}"),
        }
        let reasons: Vec<_> = c.notes.iter().map(|n| (n.property.as_deref().unwrap(), n.reason.code())).collect();
        assert_eq!(
            reasons,
            vec![
                ("bad-name", "invalid_name"),
                ("event_id", "reserved"),
                ("list", "truncated"),
                ("long", "truncated"),
                ("ratio", "non_finite_number")
            ]
        );
    }

    #[test]
    fn duplicate_after_lowercase_rejects() {
        let ev = Event::new("page.display").with("Page", "a").with("page", "b");
        assert_eq!(check_event(ev).unwrap_err(), TrackError::DuplicateProperty { name: "page".into() });
    }

    #[test]
    fn too_many_properties_rejects() {
        let mut ev = Event::new("x");
        for i in 0..=MAX_PROPERTIES {
            ev = ev.with(format!("p{i}"), 1);
        }
        assert_eq!(check_event(ev).unwrap_err(), TrackError::TooManyProperties { count: 101, max: 100 });
    }

    #[test]
    fn wire_format_sorts_keys_and_sends_dates_in_seconds() {
        let context = Arc::new(Context::new(vec![
            ("os".into(), Value::from("android")),
            ("app_version".into(), Value::from("1.0")),
            ("connection_type".into(), Value::from("wifi")),
        ]));
        let hit = Hit {
            event_id: "e".into(),
            name: "page.display".into(),
            mode: "exempt".into(),
            consent: false,
            tracked_at_ms: 1_700_000_000_999,
            context,
            context_mask: 0b101, // app_version, os
            timestamp: true,
            purposes: None,
            properties: vec![
                ("a".to_owned(), Value::StringArray(vec!["x\"y".into()])),
                ("f".to_owned(), Value::Float(1.5)),
                ("z".to_owned(), Value::Date(1_700_000_000_999)),
            ],
        };
        assert_eq!(
            hit.wire_json(),
            r#"{"name":"page.display","data":{"a":["x\"y"],"app_version":"1.0","device_timestamp_utc":1700000000,"event_id":"e","f":1.5,"os":"android","visitor_privacy_consent":false,"visitor_privacy_mode":"exempt","z":1700000000}}"#
        );
        let parsed: serde_json::Value = serde_json::from_str(&hit.wire_json()).unwrap();
        assert_eq!(parsed["data"].as_object().unwrap().len(), hit.data().len());
    }
}
