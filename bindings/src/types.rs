//! Records and enums that cross the FFI, and their conversions from and to
//! `mesure-core`. Conversions only: no rule is decided here.

use std::collections::HashMap;

use mesure_core as core;

use crate::error::MesureError;

/// A visitor mode. Printed (`toString`, `description`) as its wire name.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
#[uniffi::export(Display)]
pub enum VisitorMode {
    /// Consent given: every valid event and property is sent.
    OptIn,
    /// The default without consent: strictly necessary fields only.
    Exempt,
    /// Nothing identifying: nothing at all by default.
    OptOut,
    /// No answer and no exemption: a minimal anonymous hit.
    NoConsent,
    /// Nothing stored on the device; hits under a fixed id.
    NoStorage,
    /// A controller-defined mode derived from exempt.
    Custom {
        /// Its name, as configured.
        name: String,
    },
}

impl std::fmt::Display for VisitorMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(core::VisitorMode::from(self.clone()).wire_name())
    }
}

impl From<core::VisitorMode> for VisitorMode {
    fn from(m: core::VisitorMode) -> Self {
        match m {
            core::VisitorMode::OptIn => VisitorMode::OptIn,
            core::VisitorMode::Exempt => VisitorMode::Exempt,
            core::VisitorMode::OptOut => VisitorMode::OptOut,
            core::VisitorMode::NoConsent => VisitorMode::NoConsent,
            core::VisitorMode::NoStorage => VisitorMode::NoStorage,
            core::VisitorMode::Custom(name) => VisitorMode::Custom { name },
        }
    }
}

impl From<VisitorMode> for core::VisitorMode {
    fn from(m: VisitorMode) -> Self {
        match m {
            VisitorMode::OptIn => core::VisitorMode::OptIn,
            VisitorMode::Exempt => core::VisitorMode::Exempt,
            VisitorMode::OptOut => core::VisitorMode::OptOut,
            VisitorMode::NoConsent => core::VisitorMode::NoConsent,
            VisitorMode::NoStorage => core::VisitorMode::NoStorage,
            VisitorMode::Custom { name } => core::VisitorMode::Custom(name),
        }
    }
}

/// The wire name of a mode (`optin`, `exempt`, `optout`, `no-consent`, `no-storage`, or the custom name).
#[uniffi::export]
pub fn visitor_mode_name(mode: VisitorMode) -> String {
    core::VisitorMode::from(mode).wire_name().to_owned()
}

/// Parses a mode name (both `optin` and `opt-in` spellings); any other name is a custom mode.
#[uniffi::export]
pub fn visitor_mode_from_name(name: String) -> VisitorMode {
    core::VisitorMode::parse(&name).into()
}

/// A purpose's mode (consent by purpose). Printed as its wire name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
#[uniffi::export(Display)]
pub enum PurposeMode {
    /// Consent given for this purpose.
    OptIn,
    /// Strictly necessary only (the exemption; audience measurement only).
    Essential,
    /// Refused.
    OptOut,
    /// No answer yet.
    NotAcquired,
}

impl std::fmt::Display for PurposeMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(core::PurposeMode::from(*self).wire_name())
    }
}

impl From<core::PurposeMode> for PurposeMode {
    fn from(m: core::PurposeMode) -> Self {
        match m {
            core::PurposeMode::OptIn => PurposeMode::OptIn,
            core::PurposeMode::Essential => PurposeMode::Essential,
            core::PurposeMode::OptOut => PurposeMode::OptOut,
            core::PurposeMode::NotAcquired => PurposeMode::NotAcquired,
        }
    }
}

impl From<PurposeMode> for core::PurposeMode {
    fn from(m: PurposeMode) -> Self {
        match m {
            PurposeMode::OptIn => core::PurposeMode::OptIn,
            PurposeMode::Essential => core::PurposeMode::Essential,
            PurposeMode::OptOut => core::PurposeMode::OptOut,
            PurposeMode::NotAcquired => core::PurposeMode::NotAcquired,
        }
    }
}

/// The wire name of a purpose mode (`opt-in`, `essential`, `opt-out`, `not-acquired`).
#[uniffi::export]
pub fn purpose_mode_name(mode: PurposeMode) -> String {
    core::PurposeMode::from(mode).wire_name().to_owned()
}

/// Parses a purpose mode's wire name; `None` for anything else.
#[uniffi::export]
pub fn purpose_mode_from_name(name: String) -> Option<PurposeMode> {
    core::PurposeMode::parse(&name).map(Into::into)
}

pub(crate) fn purposes_map(m: &std::collections::BTreeMap<String, core::PurposeMode>) -> HashMap<String, PurposeMode> {
    m.iter().map(|(p, mode)| (p.clone(), (*mode).into())).collect()
}

/// A purpose of consent and the properties that serve it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PurposeConfig {
    /// The purpose's name (`advertising`).
    pub name: String,
    /// Property-name patterns (`ad_*`).
    #[uniffi(default)]
    pub properties: Vec<String>,
}

/// A property value. The wrappers convert ordinary values (strings,
/// numbers, booleans, dates, lists of one of those) to it.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum PropertyValue {
    /// Text, cut to 255 characters.
    Text {
        /// The text.
        value: String,
    },
    /// A whole number.
    Integer {
        /// The number.
        value: i64,
    },
    /// A finite decimal number (NaN and infinities are dropped and reported).
    Decimal {
        /// The number.
        value: f64,
    },
    /// A boolean.
    Flag {
        /// The boolean.
        value: bool,
    },
    /// An instant. Sent as whole seconds since the Unix epoch (the
    /// collector's date format), rounded down.
    Date {
        /// Milliseconds since the Unix epoch.
        epoch_ms: i64,
    },
    /// A list of texts (at most 50 kept, each cut to 255 characters).
    TextList {
        /// The texts.
        values: Vec<String>,
    },
    /// A list of whole numbers.
    IntegerList {
        /// The numbers.
        values: Vec<i64>,
    },
    /// A list of finite decimal numbers.
    DecimalList {
        /// The numbers.
        values: Vec<f64>,
    },
    /// A list of booleans.
    FlagList {
        /// The booleans.
        values: Vec<bool>,
    },
    /// A list of instants, each sent as whole seconds since the epoch.
    DateList {
        /// Milliseconds since the Unix epoch.
        epoch_ms: Vec<i64>,
    },
    /// A value of a type the SDK cannot send: dropped and reported
    /// (`unsupported_value`), never sent, never thrown.
    Unsupported {
        /// The platform's name of the type (`android.net.Uri`, `URL`).
        type_name: String,
    },
}

impl From<PropertyValue> for core::Value {
    fn from(v: PropertyValue) -> Self {
        match v {
            PropertyValue::Text { value } => core::Value::String(value),
            PropertyValue::Integer { value } => core::Value::Int(value),
            PropertyValue::Decimal { value } => core::Value::Float(value),
            PropertyValue::Flag { value } => core::Value::Bool(value),
            PropertyValue::Date { epoch_ms } => core::Value::Date(epoch_ms),
            PropertyValue::TextList { values } => core::Value::StringArray(values),
            PropertyValue::IntegerList { values } => core::Value::IntArray(values),
            PropertyValue::DecimalList { values } => core::Value::FloatArray(values),
            PropertyValue::FlagList { values } => core::Value::BoolArray(values),
            PropertyValue::DateList { epoch_ms } => core::Value::DateArray(epoch_ms),
            PropertyValue::Unsupported { type_name } => core::Value::Unsupported(type_name),
        }
    }
}

pub(crate) fn properties(properties: HashMap<String, PropertyValue>) -> Vec<(String, core::Value)> {
    properties.into_iter().map(|(k, v)| (k, v.into())).collect()
}

pub(crate) fn event(name: String, properties: HashMap<String, PropertyValue>) -> core::Event {
    core::Event { name, properties: self::properties(properties) }
}

/// Converts a non-negative count or duration from the foreign side's signed
/// integers (Kotlin and Java have no unsigned types in public APIs).
fn unsigned<T: TryFrom<i64>>(field: &str, v: i64) -> Result<T, MesureError> {
    T::try_from(v)
        .map_err(|_| MesureError::InvalidConfig { field: field.to_owned(), reason: format!("{v} is out of range (negative, or too large)") })
}

/// A count from the core, as the foreign side's signed 64-bit integer (saturating).
pub(crate) fn count(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// The four standard click events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
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

impl From<ClickKind> for core::ClickKind {
    fn from(k: ClickKind) -> Self {
        match k {
            ClickKind::Action => core::ClickKind::Action,
            ClickKind::Navigation => core::ClickKind::Navigation,
            ClickKind::Download => core::ClickKind::Download,
            ClickKind::Exit => core::ClickKind::Exit,
        }
    }
}

/// What became of a tracked event. Tracking never throws: a refused event
/// is an outcome too, and is also reported to the listener.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum TrackOutcome {
    /// Queued for upload.
    Queued {
        /// The hit's `event_id` on the wire.
        event_id: String,
    },
    /// The visitor mode held the event back.
    NotSent {
        /// A stable code (`event_not_allowed_in_mode`, `opt_out_sends_nothing`, ...).
        reason: String,
    },
    /// Called before the SDK finished starting: the call waits in order in
    /// the start queue and is filtered once the store is open, under the
    /// mode in force at its place among the app's calls. What became of it
    /// reaches the listener.
    Waiting,
    /// The event was refused: nothing was queued.
    Refused {
        /// A stable code: `invalid_event_name`, `too_many_properties`,
        /// `duplicate_property`, `empty_name`, `queue_full`, `shut_down`,
        /// `not_started`, `invalid_call_encoding` (`track_encoded` only).
        reason: String,
        /// A sentence for logs.
        message: String,
    },
}

impl From<Result<core::TrackOutcome, core::TrackError>> for TrackOutcome {
    fn from(o: Result<core::TrackOutcome, core::TrackError>) -> Self {
        match o {
            Ok(core::TrackOutcome::Queued { event_id }) => TrackOutcome::Queued { event_id },
            Ok(core::TrackOutcome::NotSent { reason }) => TrackOutcome::NotSent { reason: reason.code().to_owned() },
            Ok(core::TrackOutcome::Waiting) => TrackOutcome::Waiting,
            // An outcome of a newer core: not queued as far as these bindings know.
            Ok(other) => TrackOutcome::NotSent { reason: format!("{other:?}") },
            Err(e) => TrackOutcome::Refused { reason: e.code().to_owned(), message: e.to_string() },
        }
    }
}

/// A property allowed in an exempt-derived mode, with its justification.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AllowedProperty {
    /// The exact property name.
    pub property: String,
    /// The event-name pattern it applies to (`*`: every event).
    #[uniffi(default = "*")]
    pub events: String,
    /// Why it is strictly necessary (shown in the compliance report).
    pub justification: String,
}

/// A property never sent with events matching `events`.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PropertyRule {
    /// A property-name pattern (`user_*`).
    pub property: String,
    /// The event-name pattern it applies to (`*`: every event).
    #[uniffi(default = "*")]
    pub events: String,
}

/// A controller-defined mode derived from exempt.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CustomMode {
    /// The mode's name (not a built-in mode's).
    pub name: String,
    /// Event-name patterns it sends beside the exempt events.
    #[uniffi(default)]
    pub allowed_events: Vec<String>,
    /// Properties it sends beside the exempt ones, each justified.
    #[uniffi(default)]
    pub allowed_properties: Vec<AllowedProperty>,
}

/// What the platform knows about the device and the app (each field is a
/// hit property of the same name; the visitor mode decides which leave).
#[derive(Debug, Clone, PartialEq, Eq, Default, uniffi::Record)]
pub struct DeviceContext {
    /// `os`: `android`, `ios`.
    #[uniffi(default)]
    pub os: Option<String>,
    /// `os_version`: `14`, `17.2`.
    #[uniffi(default)]
    pub os_version: Option<String>,
    /// `device_brand`: `Google`, `Apple`.
    #[uniffi(default)]
    pub device_brand: Option<String>,
    /// `device_model`: `Pixel 8`, `iPhone15,2`.
    #[uniffi(default)]
    pub device_model: Option<String>,
    /// `device_type`: `mobile`, `tablet`.
    #[uniffi(default)]
    pub device_type: Option<String>,
    /// `device_screen_width`, in pixels (0 or more).
    #[uniffi(default)]
    pub device_screen_width: Option<i32>,
    /// `device_screen_height`, in pixels (0 or more).
    #[uniffi(default)]
    pub device_screen_height: Option<i32>,
    /// `app_version`: the app's version name.
    #[uniffi(default)]
    pub app_version: Option<String>,
    /// `connection_type`: `wifi`, `cellular`, `offline`.
    #[uniffi(default)]
    pub connection_type: Option<String>,
    /// `event_collection_platform`: `android`, `ios` (`rust` by default).
    #[uniffi(default)]
    pub collection_platform: Option<String>,
}

impl DeviceContext {
    /// The core's context; `field` prefixes the names of fields at fault.
    pub(crate) fn into_core(self, field: &str) -> Result<core::DeviceContext, MesureError> {
        let size = |name: &str, v: Option<i32>| -> Result<Option<u32>, MesureError> {
            v.map(|v| unsigned(&format!("{field}.{name}"), i64::from(v))).transpose()
        };
        Ok(core::DeviceContext {
            device_screen_width: size("device_screen_width", self.device_screen_width)?,
            device_screen_height: size("device_screen_height", self.device_screen_height)?,
            os: self.os,
            os_version: self.os_version,
            device_brand: self.device_brand,
            device_model: self.device_model,
            device_type: self.device_type,
            app_version: self.app_version,
            connection_type: self.connection_type,
            collection_platform: self.collection_platform,
        })
    }
}

/// The collector and its wire. Everything above the wire (modes, rules,
/// scrubbing, the egress gate, the queue) is the same for each.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum Collector {
    /// Piano Analytics (the default): `{collect_endpoint}/event?s={site_id}&idclient=..`.
    Piano,
    /// The Matomo Tracking API in bulk: `{collect_endpoint}/matomo.php`, `idsite` = `site_id`.
    Matomo {
        /// The host of the screens' URLs: the app's id (`com.example.news`).
        app_host: String,
        /// Properties sent as custom dimensions (property name to dimension
        /// id, 1 to 999); a property the wire has no place for and no
        /// dimension maps is held back and reported (`not_on_wire`).
        dimensions: HashMap<String, i32>,
    },
    /// Piwik PRO: `{collect_endpoint}/ppms.php`, `idsite` = `app_id` (`site_id` is not sent).
    /// Hits without consent carry `uia=1` and only the consent dimension.
    PiwikPro {
        /// The app's id in Piwik PRO (a UUID).
        app_id: String,
        /// As for Matomo.
        app_host: String,
        /// As for Matomo; map `visitor_privacy_mode` to the consent dimension.
        dimensions: HashMap<String, i32>,
    },
}

impl Collector {
    fn into_core(self) -> Result<core::Collector, MesureError> {
        fn dims(d: HashMap<String, i32>) -> Result<std::collections::BTreeMap<String, u32>, MesureError> {
            d.into_iter().map(|(k, v)| unsigned(&format!("collector.dimensions[{k:?}]"), i64::from(v)).map(|v| (k, v))).collect()
        }
        Ok(match self {
            Collector::Piano => core::Collector::Piano,
            Collector::Matomo { app_host, dimensions } => core::Collector::Matomo { app_host, dimensions: dims(dimensions)? },
            Collector::PiwikPro { app_id, app_host, dimensions } => core::Collector::PiwikPro { app_id, app_host, dimensions: dims(dimensions)? },
        })
    }
}

/// The SDK configuration. Optional tunables left empty take the core's
/// defaults (documented in the compliance report and the README). Numbers
/// are signed for Java and Kotlin callers; a negative one is refused
/// (`InvalidConfig` naming the field).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct MesureConfig {
    /// `https://...` (plain `http://` only to loopback).
    pub collect_endpoint: String,
    /// The site id in the collector (1 to 4 294 967 295).
    pub site_id: i64,
    /// An app-private directory, absolute path; one SDK per directory (use
    /// one per site id).
    pub storage_dir: String,
    /// Exempt when empty. Never opt-in.
    #[uniffi(default)]
    pub default_mode: Option<VisitorMode>,
    /// Properties the controller allows in exempt mode, each justified.
    #[uniffi(default)]
    pub exempt_allowlist: Vec<AllowedProperty>,
    /// Properties never sent, in any mode.
    #[uniffi(default)]
    pub forbidden_properties: Vec<PropertyRule>,
    /// Event-name patterns never sent, in any mode.
    #[uniffi(default)]
    pub forbidden_events: Vec<String>,
    /// The events anonymous hits (opt-out with `send_hits_in_opt_out`,
    /// no-consent) may carry; empty: the exempt events.
    #[uniffi(default)]
    pub anonymous_events: Option<Vec<String>>,
    /// Controller-defined modes derived from exempt.
    #[uniffi(default)]
    pub custom_modes: Vec<CustomMode>,
    /// Purposes of consent beside audience measurement.
    #[uniffi(default)]
    pub purposes: Vec<PurposeConfig>,
    /// Anonymous counters (id `opt-out`) in opt-out; off by default.
    #[uniffi(default)]
    pub send_hits_in_opt_out: Option<bool>,
    /// How long an opt-in lasts, in calendar months (1 to 6; 6 by default).
    #[uniffi(default)]
    pub consent_lifetime_months: Option<i32>,
    /// Queue bound by count (10 000 by default); the oldest hits go first.
    #[uniffi(default)]
    pub queue_max_hits: Option<i32>,
    /// Queue bound by age, in days (30 by default).
    #[uniffi(default)]
    pub queue_max_age_days: Option<i32>,
    /// Hits per upload request, at most (50 by default, 1 to 500); also the
    /// number of new hits that wakes the uploader before its interval.
    #[uniffi(default)]
    pub batch_size: Option<i32>,
    /// Interval between upload attempts while hits are pending (2 min by
    /// default): the longest a hit waits before its first attempt.
    #[uniffi(default)]
    pub flush_interval_ms: Option<i64>,
    /// Longest wait for one upload request (15 s by default).
    #[uniffi(default)]
    pub request_timeout_ms: Option<i64>,
    /// First retry delay after a failed upload (2 s by default).
    #[uniffi(default)]
    pub retry_base_ms: Option<i64>,
    /// Longest retry delay (15 min by default).
    #[uniffi(default)]
    pub retry_max_ms: Option<i64>,
    /// The device and app context attached to hits.
    #[uniffi(default)]
    pub context: Option<DeviceContext>,
    /// Dry run: hits are built, filtered and reported (`Diagnostic.Sent`
    /// with `dry_run`) but never sent. For trying a tagging plan.
    #[uniffi(default = false)]
    pub dry_run: bool,
    /// Strict mode, for debug builds: a call made before the store is open
    /// waits for it instead of joining the start queue, so each call
    /// answers with its own outcome; the wrappers throw what the core
    /// returns (a refused event, an unknown mode, a call after close).
    #[uniffi(default = false)]
    pub strict: bool,
    /// Where an earlier version kept one store for the app (the wrappers'
    /// `<base>/mesure`): a store found there moves into `storage_dir` when it
    /// belongs to this site (or to no site yet) and `storage_dir` has none.
    #[uniffi(default)]
    pub legacy_storage_dir: Option<String>,
    /// The collector's wire; Piano when empty.
    #[uniffi(default)]
    pub collector: Option<Collector>,
    /// Consent proof and consent statistics; the defaults when empty (no
    /// consent endpoint, statistics counted on the device).
    #[uniffi(default)]
    pub consent: Option<ConsentSettings>,
}

/// The controller's consent settings.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ConsentSettings {
    /// Where consent receipts and consent statistics are sent (`https://`;
    /// `http://` only to loopback). Empty: they stay on the device.
    #[uniffi(default)]
    pub endpoint: Option<String>,
    /// Count the consent prompt's answers anonymously (on by default).
    #[uniffi(default = true)]
    pub statistics: bool,
    /// A "refuse all" also switches the consent statistics off on the device.
    #[uniffi(default = false)]
    pub refuse_all_stops_statistics: bool,
}

/// The consent prompt a visitor answered, as the app names it (letters,
/// digits and `. _ : / -`; never data about a person).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ConsentContext {
    /// The prompt's identifier (`main_banner`).
    pub prompt_id: String,
    /// The prompt's version (`2026-11`).
    pub prompt_version: String,
    /// The locale it was shown in (`fr-FR`).
    #[uniffi(default)]
    pub locale: Option<String>,
}

impl From<ConsentContext> for core::ConsentContext {
    fn from(c: ConsentContext) -> Self {
        core::ConsentContext { prompt_id: c.prompt_id, prompt_version: c.prompt_version, locale: c.locale }
    }
}

impl TryFrom<MesureConfig> for core::Config {
    type Error = MesureError;

    fn try_from(c: MesureConfig) -> Result<Self, MesureError> {
        let mut out = core::Config::new(c.collect_endpoint, unsigned("site_id", c.site_id)?, c.storage_dir);
        if let Some(m) = c.default_mode {
            out.default_mode = m.into();
        }
        out.exempt_allowlist = c.exempt_allowlist.into_iter().map(allowed).collect();
        out.forbidden_properties =
            c.forbidden_properties.into_iter().map(|r| core::PropertyRule { property: r.property, events: r.events }).collect();
        out.forbidden_events = c.forbidden_events;
        out.purposes = c.purposes.into_iter().map(|p| core::PurposeConfig { name: p.name, properties: p.properties }).collect();
        out.anonymous_events = c.anonymous_events;
        out.custom_modes = c
            .custom_modes
            .into_iter()
            .map(|m| core::CustomMode {
                name: m.name,
                allowed_events: m.allowed_events,
                allowed_properties: m.allowed_properties.into_iter().map(allowed).collect(),
            })
            .collect();
        fn set<T: TryFrom<i64>>(field: &mut T, name: &str, v: Option<impl Into<i64>>) -> Result<(), MesureError> {
            if let Some(v) = v {
                *field = unsigned(name, v.into())?;
            }
            Ok(())
        }
        set(&mut out.consent_lifetime_months, "consent_lifetime_months", c.consent_lifetime_months)?;
        set(&mut out.queue_max_hits, "queue_max_hits", c.queue_max_hits)?;
        set(&mut out.queue_max_age_days, "queue_max_age_days", c.queue_max_age_days)?;
        set(&mut out.batch_size, "batch_size", c.batch_size)?;
        set(&mut out.flush_interval_ms, "flush_interval_ms", c.flush_interval_ms)?;
        set(&mut out.request_timeout_ms, "request_timeout_ms", c.request_timeout_ms)?;
        set(&mut out.retry_base_ms, "retry_base_ms", c.retry_base_ms)?;
        set(&mut out.retry_max_ms, "retry_max_ms", c.retry_max_ms)?;
        if let Some(b) = c.send_hits_in_opt_out {
            out.send_hits_in_opt_out = b;
        }
        if let Some(ctx) = c.context {
            out.context = ctx.into_core("context")?;
        }
        if let Some(collector) = c.collector {
            out.collector = collector.into_core()?;
        }
        if let Some(consent) = c.consent {
            out.consent = core::ConsentSettings {
                endpoint: consent.endpoint,
                statistics: consent.statistics,
                refuse_all_stops_statistics: consent.refuse_all_stops_statistics,
            };
        }
        out.dry_run = c.dry_run;
        out.strict = c.strict;
        Ok(out)
    }
}

fn allowed(a: AllowedProperty) -> core::AllowedProperty {
    core::AllowedProperty { property: a.property, events: a.events, justification: a.justification }
}

/// Why the mode changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ModeChangeReason {
    /// The app set it (a mode setter, a consent answer, a purpose's answer).
    SetByApp,
    /// An opt-in (or a purpose's opt-in) lapsed: back to the default.
    ConsentExpired,
    /// `delete_local_data` erased the history of choices.
    LocalDataDeleted,
}

/// A change of visitor mode.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ModeChange {
    /// The mode before.
    pub previous: VisitorMode,
    /// The mode now in force.
    pub current: VisitorMode,
    /// When it changed, milliseconds since the epoch.
    pub at_ms: i64,
    /// Why it changed.
    pub reason: ModeChangeReason,
    /// An opt-in lapsed: ask for consent again.
    pub consent_renewal_needed: bool,
    /// Every configured purpose's mode after the change.
    pub purposes: HashMap<String, PurposeMode>,
    /// Increases with every change: publish nothing older than what you have.
    pub epoch: i64,
}

impl From<&core::ModeChange> for ModeChange {
    fn from(c: &core::ModeChange) -> Self {
        ModeChange {
            previous: c.previous.clone().into(),
            current: c.current.clone().into(),
            at_ms: c.at_ms,
            reason: match c.reason {
                core::ModeChangeReason::SetByApp => ModeChangeReason::SetByApp,
                core::ModeChangeReason::ConsentExpired => ModeChangeReason::ConsentExpired,
                core::ModeChangeReason::LocalDataDeleted => ModeChangeReason::LocalDataDeleted,
            },
            consent_renewal_needed: c.consent_renewal_needed,
            purposes: purposes_map(&c.purposes),
            epoch: count(c.epoch),
        }
    }
}

/// The mode in force, for settings screens.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ModeStatus {
    /// The mode in force.
    pub mode: VisitorMode,
    /// When it was chosen (milliseconds since the epoch); none before any choice.
    pub since_ms: Option<i64>,
    /// When an opt-in lapses (milliseconds since the epoch).
    pub consent_expires_at_ms: Option<i64>,
    /// An opt-in lapsed: ask for consent again.
    pub consent_renewal_needed: bool,
    /// Every configured purpose's mode.
    pub purposes: HashMap<String, PurposeMode>,
    /// The epoch of the last change ([`ModeChange::epoch`]).
    pub epoch: i64,
}

impl From<core::ModeStatus> for ModeStatus {
    fn from(s: core::ModeStatus) -> Self {
        ModeStatus {
            mode: s.mode.into(),
            since_ms: s.since_ms,
            consent_expires_at_ms: s.consent_expires_at_ms,
            consent_renewal_needed: s.consent_renewal_needed,
            purposes: purposes_map(&s.purposes),
            epoch: count(s.epoch),
        }
    }
}

/// Whether the SDK runs ([`SdkState::run`]).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum RunState {
    /// The store is being opened; calls wait in the start queue, in order.
    Starting,
    /// The store is open and the calls made meanwhile applied.
    Running,
    /// The start failed: calls are refused, waiting calls throw `error`.
    Failed {
        /// Why (`StorageInUse` from another process, `StorageOfAnotherSite`...).
        error: crate::error::MesureError,
    },
    /// Closed: calls are refused.
    Closed,
}

/// The state the core publishes to the listener (`on_state`): everything a
/// settings screen shows. The wrappers expose it as it comes, with no
/// reducer of their own.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SdkState {
    /// The visitor mode in force.
    pub mode: VisitorMode,
    /// Every configured purpose's mode (audience measurement always).
    pub purposes: HashMap<String, PurposeMode>,
    /// An opt-in lapsed: ask for consent again.
    pub consent_renewal_needed: bool,
    /// The epoch of the last change: a state with a lower epoch is older.
    pub epoch: i64,
    /// Whether the SDK runs.
    pub run: RunState,
}

impl From<&core::SdkState> for SdkState {
    fn from(s: &core::SdkState) -> Self {
        SdkState {
            mode: s.mode.clone().into(),
            purposes: purposes_map(&s.purposes),
            consent_renewal_needed: s.consent_renewal_needed,
            epoch: count(s.epoch),
            run: match &s.run {
                core::RunState::Starting => RunState::Starting,
                core::RunState::Running => RunState::Running,
                core::RunState::Failed(e) => RunState::Failed { error: e.clone().into() },
                _ => RunState::Closed,
            },
        }
    }
}

/// One hit of an upload request ([`Diagnostic::Sent`]).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SentHit {
    /// The hit's `event_id` (the one `track` returned).
    pub event_id: String,
    /// The event name.
    pub event: String,
    /// The property keys it carried, sorted (never the values).
    pub keys: Vec<String>,
}

/// A report about the SDK's own behaviour.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum Diagnostic {
    /// A property (or, with `property` empty, an event) held back or truncated.
    Dropped {
        /// The wire name of the mode in force.
        mode: String,
        /// The event.
        event: String,
        /// The property; none when the whole event was held back.
        property: Option<String>,
        /// A stable code (`not_allowed_in_mode`, `unsupported_value`, ...).
        reason: String,
        /// A sentence for logs.
        explanation: String,
    },
    /// `track` was refused because the hand-off to storage was full, this
    /// many calls in a row.
    Backpressure {
        /// Calls refused.
        dropped: i64,
    },
    /// The queue bounds removed the oldest hits.
    QueueTrimmed {
        /// `max_hits`, `max_age`, or `id_expired` (the visitor id they
        /// carry reached its 13 months).
        cause: String,
        /// Hits removed.
        dropped: i64,
    },
    /// The collector refused hits (400, 413, 422 once split to one hit): dropped.
    HitsRejected {
        /// The HTTP status.
        status: i32,
        /// Hits dropped.
        count: i64,
    },
    /// The collector acknowledged a request but recorded fewer hits than it
    /// was sent, or found some invalid (Matomo's answer counts): not resent.
    CollectorMiscounted {
        /// Hits in the request.
        sent: i64,
        /// Hits the collector says it recorded.
        tracked: i64,
        /// Hits it says were invalid.
        invalid: i64,
    },
    /// An upload failed; the hits stay queued and are retried after the delay.
    UploadDeferred {
        /// Hits waiting.
        hits: i64,
        /// Why.
        cause: String,
        /// The delay before the next attempt.
        retry_in_ms: i64,
    },
    /// Storage failed; hits wait in memory (bounded) and writing is retried.
    StorageError {
        /// What failed.
        message: String,
    },
    /// The database could not be read and was recreated.
    StorageRecovered {
        /// Why.
        reason: String,
    },
    /// The listener was slower than the SDK: this many diagnostics were dropped.
    DiagnosticsDropped {
        /// Diagnostics dropped.
        dropped: i64,
    },
    /// `track` refused an event (the same refusal its outcome carried).
    TrackRefused {
        /// The event name as given (cut to 100 characters).
        event: String,
        /// A stable code (`invalid_event_name`, ...; see [`TrackOutcome::Refused`]).
        reason: String,
        /// A sentence for logs.
        message: String,
    },
    /// A report of a newer core these bindings do not know (the two ship
    /// together, so this is not expected).
    Other {
        /// The report, as the core prints it.
        description: String,
    },
    /// The egress gate, re-checking each hit at send time, held these hits
    /// back: they never leave (never, while the track-time filter works).
    HeldAtEgress {
        /// A stable code (`mode_not_in_force`, `identifying_value`, ...).
        reason: String,
        /// The hits' event ids.
        event_ids: Vec<String>,
    },
    /// Consent receipts or consent statistics went to the consent endpoint
    /// (or were held back by its send-time check: `held` says why).
    ConsentSent {
        /// `receipts` or `statistics`.
        kind: String,
        /// Receipts, or rows of counts, in the request.
        count: i64,
        /// The endpoint's HTTP status; none when none came or when held.
        status: Option<i32>,
        /// Why the send-time check held it back.
        held: Option<String>,
    },
    /// One upload request left the device (or, in a dry run, would have).
    Sent {
        /// The visitor id it carried (`idclient`).
        idclient: String,
        /// Hit by hit: the event and the property keys.
        hits: Vec<SentHit>,
        /// The collector's HTTP status; none when no answer came or in a dry run.
        status: Option<i32>,
        /// A dry run: nothing left the device.
        dry_run: bool,
    },
}

impl From<&core::Diagnostic> for Diagnostic {
    fn from(d: &core::Diagnostic) -> Self {
        match d {
            core::Diagnostic::Dropped { mode, dropped } => Diagnostic::Dropped {
                mode: mode.clone(),
                event: dropped.event.clone(),
                property: dropped.property.clone(),
                reason: dropped.reason.code().to_owned(),
                explanation: dropped.reason.explain(),
            },
            core::Diagnostic::Backpressure { dropped } => Diagnostic::Backpressure { dropped: count(*dropped) },
            core::Diagnostic::QueueTrimmed { cause, dropped } => {
                Diagnostic::QueueTrimmed { cause: cause.code().to_owned(), dropped: count(*dropped) }
            }
            core::Diagnostic::HeldAtEgress { reason, event_ids } => {
                Diagnostic::HeldAtEgress { reason: reason.code().to_owned(), event_ids: event_ids.clone() }
            }
            core::Diagnostic::HitsRejected { status, count: n } => Diagnostic::HitsRejected { status: i32::from(*status), count: count(*n) },
            core::Diagnostic::CollectorMiscounted { sent, tracked, invalid } => {
                Diagnostic::CollectorMiscounted { sent: count(*sent), tracked: count(*tracked), invalid: count(*invalid) }
            }
            core::Diagnostic::UploadDeferred { hits, cause, retry_in_ms } => {
                Diagnostic::UploadDeferred { hits: count(*hits), cause: cause.clone(), retry_in_ms: count(*retry_in_ms) }
            }
            core::Diagnostic::StorageError { message } => Diagnostic::StorageError { message: message.clone() },
            core::Diagnostic::StorageRecovered { reason } => Diagnostic::StorageRecovered { reason: reason.clone() },
            core::Diagnostic::DiagnosticsDropped { dropped } => Diagnostic::DiagnosticsDropped { dropped: count(*dropped) },
            core::Diagnostic::TrackRefused { event, error } => {
                Diagnostic::TrackRefused { event: event.clone(), reason: error.code().to_owned(), message: error.to_string() }
            }
            core::Diagnostic::Sent { idclient, hits, status, dry_run } => Diagnostic::Sent {
                idclient: idclient.clone(),
                hits: hits.iter().map(|h| SentHit { event_id: h.event_id.clone(), event: h.event.clone(), keys: h.keys.clone() }).collect(),
                status: status.map(i32::from),
                dry_run: *dry_run,
            },
            core::Diagnostic::ConsentSent { kind, count: n, status, held } => {
                Diagnostic::ConsentSent { kind: kind.clone(), count: count(*n), status: status.map(i32::from), held: held.clone() }
            }
            other => Diagnostic::Other { description: format!("{other:?}") },
        }
    }
}

/// What a flush achieved. Counts cover this flush's own attempt only: hits
/// the background uploader sent before it are in [`Stats::uploaded`].
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct FlushReport {
    /// Hits this attempt delivered (acknowledged by the collector, then
    /// deleted; in a dry run, the hits it would have sent).
    pub uploaded: i64,
    /// Hits the collector refused, dropped.
    pub rejected: i64,
    /// Hits past the queue's age bound, dropped unsent.
    pub expired: i64,
    /// Hits a purge (opt-out, `delete_local_data`) deleted while this flush
    /// held them: they never leave.
    pub purged: i64,
    /// Hits the egress gate held back at send time: they never leave.
    pub held_at_egress: i64,
    /// Hits still queued after the attempt.
    pub pending: i64,
    /// Why the upload stopped early (the hits stay queued).
    pub deferred: Option<String>,
    /// When the next automatic attempt is due.
    pub retry_in_ms: Option<i64>,
    /// A storage problem met while persisting or uploading.
    pub storage_error: Option<String>,
}

impl From<core::FlushReport> for FlushReport {
    fn from(r: core::FlushReport) -> Self {
        FlushReport {
            uploaded: count(r.uploaded),
            rejected: count(r.rejected),
            expired: count(r.expired),
            purged: count(r.purged),
            held_at_egress: count(r.held_at_egress),
            pending: count(r.pending),
            deferred: r.deferred,
            retry_in_ms: r.retry_in_ms.map(count),
            storage_error: r.storage_error.map(|e| e.to_string()),
        }
    }
}

/// Counters since the SDK started.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Stats {
    /// Events accepted by `track` (queued).
    pub accepted: i64,
    /// Hits written to the queue on disk.
    pub persisted: i64,
    /// Hits delivered (by the background uploader and by `flush`).
    pub uploaded: i64,
    /// Events the visitor mode held back.
    pub events_dropped_by_mode: i64,
    /// Properties held back (by the mode or the rules).
    pub properties_dropped: i64,
    /// `track` calls refused by back-pressure.
    pub rejected_backpressure: i64,
    /// Hits removed by the count bound.
    pub trimmed_max_hits: i64,
    /// Hits removed by the age bound.
    pub trimmed_max_age: i64,
    /// Hits deleted by a change of mode: to opt-out, no-consent or
    /// no-storage, or a withdrawal or lapse of consent.
    pub purged_on_mode_change: i64,
    /// Hits deleted by `delete_local_data`.
    pub deleted_with_local_data: i64,
    /// Hits the collector refused.
    pub rejected_by_collector: i64,
    /// Hits lost to a storage failure.
    pub lost_storage_failure: i64,
    /// Failed upload attempts.
    pub upload_failures: i64,
    /// Hits the egress gate held back at send time (never, while the
    /// track-time filter works).
    pub held_at_egress: i64,
}

impl From<core::Stats> for Stats {
    fn from(s: core::Stats) -> Self {
        Stats {
            accepted: count(s.accepted),
            persisted: count(s.persisted),
            uploaded: count(s.uploaded),
            events_dropped_by_mode: count(s.events_dropped_by_mode),
            properties_dropped: count(s.properties_dropped),
            rejected_backpressure: count(s.rejected_backpressure),
            trimmed_max_hits: count(s.trimmed_max_hits),
            trimmed_max_age: count(s.trimmed_max_age),
            purged_on_mode_change: count(s.purged_on_mode_change),
            deleted_with_local_data: count(s.deleted_with_local_data),
            rejected_by_collector: count(s.rejected_by_collector),
            lost_storage_failure: count(s.lost_storage_failure),
            upload_failures: count(s.upload_failures),
            held_at_egress: count(s.held_at_egress),
        }
    }
}
