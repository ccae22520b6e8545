//! Records and enums that cross the FFI, and their conversions from and to
//! `mesure-core`. Conversions only: no rule is decided here.

use std::collections::HashMap;

use mesure_core as core;

/// A visitor mode.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum VisitorMode {
    OptIn,
    Exempt,
    OptOut,
    NoConsent,
    NoStorage,
    Custom { name: String },
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

/// A purpose's mode (consent by purpose).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
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
    pub name: String,
    /// Property-name patterns (`ad_*`).
    #[uniffi(default)]
    pub properties: Vec<String>,
}

/// A property value.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum PropertyValue {
    Text { value: String },
    Integer { value: i64 },
    Decimal { value: f64 },
    Flag { value: bool },
    /// Milliseconds since the epoch; sent in seconds.
    Date { epoch_ms: i64 },
    TextList { values: Vec<String> },
    IntegerList { values: Vec<i64> },
    DecimalList { values: Vec<f64> },
    FlagList { values: Vec<bool> },
    DateList { epoch_ms: Vec<i64> },
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
        }
    }
}

pub(crate) fn properties(properties: HashMap<String, PropertyValue>) -> Vec<(String, core::Value)> {
    properties.into_iter().map(|(k, v)| (k, v.into())).collect()
}

pub(crate) fn event(name: String, properties: HashMap<String, PropertyValue>) -> core::Event {
    core::Event { name, properties: self::properties(properties) }
}

/// The four standard click events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ClickKind {
    Action,
    Navigation,
    Download,
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

/// What became of a tracked event.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum TrackOutcome {
    Queued { event_id: String },
    /// The mode held the event back; `reason` is a stable code (`event_not_allowed_in_mode`, ...).
    NotSent { reason: String },
}

impl From<core::TrackOutcome> for TrackOutcome {
    fn from(o: core::TrackOutcome) -> Self {
        match o {
            core::TrackOutcome::Queued { event_id } => TrackOutcome::Queued { event_id },
            core::TrackOutcome::NotSent { reason } => TrackOutcome::NotSent { reason: reason.code().to_owned() },
        }
    }
}

/// A property allowed in an exempt-derived mode, with its justification.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AllowedProperty {
    pub property: String,
    #[uniffi(default = "*")]
    pub events: String,
    pub justification: String,
}

/// A property never sent with events matching `events`.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PropertyRule {
    pub property: String,
    #[uniffi(default = "*")]
    pub events: String,
}

/// A controller-defined mode derived from exempt.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CustomMode {
    pub name: String,
    #[uniffi(default)]
    pub allowed_events: Vec<String>,
    #[uniffi(default)]
    pub allowed_properties: Vec<AllowedProperty>,
}

/// What the platform knows about the device and the app.
#[derive(Debug, Clone, PartialEq, Eq, Default, uniffi::Record)]
pub struct DeviceContext {
    #[uniffi(default)]
    pub os: Option<String>,
    #[uniffi(default)]
    pub os_version: Option<String>,
    #[uniffi(default)]
    pub device_brand: Option<String>,
    #[uniffi(default)]
    pub device_model: Option<String>,
    #[uniffi(default)]
    pub device_type: Option<String>,
    #[uniffi(default)]
    pub device_screen_width: Option<u32>,
    #[uniffi(default)]
    pub device_screen_height: Option<u32>,
    #[uniffi(default)]
    pub app_version: Option<String>,
    #[uniffi(default)]
    pub connection_type: Option<String>,
    #[uniffi(default)]
    pub collection_platform: Option<String>,
}

impl From<DeviceContext> for core::DeviceContext {
    fn from(c: DeviceContext) -> Self {
        core::DeviceContext {
            os: c.os,
            os_version: c.os_version,
            device_brand: c.device_brand,
            device_model: c.device_model,
            device_type: c.device_type,
            device_screen_width: c.device_screen_width,
            device_screen_height: c.device_screen_height,
            app_version: c.app_version,
            connection_type: c.connection_type,
            collection_platform: c.collection_platform,
        }
    }
}

/// The SDK configuration. Optional tunables left empty take the core's
/// defaults (documented in the compliance report and the README).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct MesureConfig {
    /// `https://...` (plain `http://` only to loopback).
    pub collect_endpoint: String,
    pub site_id: u32,
    /// An app-private directory, absolute path.
    pub storage_dir: String,
    /// Exempt when empty. Never opt-in.
    #[uniffi(default)]
    pub default_mode: Option<VisitorMode>,
    #[uniffi(default)]
    pub exempt_allowlist: Vec<AllowedProperty>,
    #[uniffi(default)]
    pub forbidden_properties: Vec<PropertyRule>,
    /// Event-name patterns never sent, in any mode.
    #[uniffi(default)]
    pub forbidden_events: Vec<String>,
    /// The events anonymous hits (opt-out with `send_hits_in_opt_out`,
    /// no-consent) may carry; empty: the exempt events.
    #[uniffi(default)]
    pub anonymous_events: Option<Vec<String>>,
    #[uniffi(default)]
    pub custom_modes: Vec<CustomMode>,
    /// Purposes of consent beside audience measurement.
    #[uniffi(default)]
    pub purposes: Vec<PurposeConfig>,
    #[uniffi(default)]
    pub send_hits_in_opt_out: Option<bool>,
    #[uniffi(default)]
    pub consent_lifetime_months: Option<u32>,
    #[uniffi(default)]
    pub queue_max_hits: Option<u32>,
    #[uniffi(default)]
    pub queue_max_age_days: Option<u32>,
    #[uniffi(default)]
    pub batch_size: Option<u32>,
    #[uniffi(default)]
    pub flush_interval_ms: Option<u64>,
    #[uniffi(default)]
    pub request_timeout_ms: Option<u64>,
    #[uniffi(default)]
    pub retry_base_ms: Option<u64>,
    #[uniffi(default)]
    pub retry_max_ms: Option<u64>,
    #[uniffi(default)]
    pub context: Option<DeviceContext>,
}

impl From<MesureConfig> for core::Config {
    fn from(c: MesureConfig) -> Self {
        let mut out = core::Config::new(c.collect_endpoint, c.site_id, c.storage_dir);
        if let Some(m) = c.default_mode {
            out.default_mode = m.into();
        }
        out.exempt_allowlist = c.exempt_allowlist.into_iter().map(allowed).collect();
        out.forbidden_properties = c
            .forbidden_properties
            .into_iter()
            .map(|r| core::PropertyRule { property: r.property, events: r.events })
            .collect();
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
        let set = |field: &mut u32, v: Option<u32>| {
            if let Some(v) = v {
                *field = v;
            }
        };
        set(&mut out.consent_lifetime_months, c.consent_lifetime_months);
        set(&mut out.queue_max_hits, c.queue_max_hits);
        set(&mut out.queue_max_age_days, c.queue_max_age_days);
        set(&mut out.batch_size, c.batch_size);
        let set64 = |field: &mut u64, v: Option<u64>| {
            if let Some(v) = v {
                *field = v;
            }
        };
        set64(&mut out.flush_interval_ms, c.flush_interval_ms);
        set64(&mut out.request_timeout_ms, c.request_timeout_ms);
        set64(&mut out.retry_base_ms, c.retry_base_ms);
        set64(&mut out.retry_max_ms, c.retry_max_ms);
        if let Some(b) = c.send_hits_in_opt_out {
            out.send_hits_in_opt_out = b;
        }
        if let Some(ctx) = c.context {
            out.context = ctx.into();
        }
        out
    }
}

fn allowed(a: AllowedProperty) -> core::AllowedProperty {
    core::AllowedProperty { property: a.property, events: a.events, justification: a.justification }
}

/// Why the mode changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ModeChangeReason {
    SetByApp,
    ConsentExpired,
    LocalDataDeleted,
}

/// A change of visitor mode.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ModeChange {
    pub previous: VisitorMode,
    pub current: VisitorMode,
    pub at_ms: i64,
    pub reason: ModeChangeReason,
    /// An opt-in lapsed: ask for consent again.
    pub consent_renewal_needed: bool,
    /// Every configured purpose's mode after the change.
    pub purposes: HashMap<String, PurposeMode>,
    /// Increases with every change: publish nothing older than what you have.
    pub epoch: u64,
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
            epoch: c.epoch,
        }
    }
}

/// The mode in force, for settings screens.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ModeStatus {
    pub mode: VisitorMode,
    pub since_ms: Option<i64>,
    pub consent_expires_at_ms: Option<i64>,
    pub consent_renewal_needed: bool,
    /// Every configured purpose's mode.
    pub purposes: HashMap<String, PurposeMode>,
    /// The epoch of the last change ([`ModeChange::epoch`]).
    pub epoch: u64,
}

impl From<core::ModeStatus> for ModeStatus {
    fn from(s: core::ModeStatus) -> Self {
        ModeStatus {
            mode: s.mode.into(),
            since_ms: s.since_ms,
            consent_expires_at_ms: s.consent_expires_at_ms,
            consent_renewal_needed: s.consent_renewal_needed,
            purposes: purposes_map(&s.purposes),
            epoch: s.epoch,
        }
    }
}

/// A report about the SDK's own behaviour.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum Diagnostic {
    /// A property (or, with `property` empty, an event) held back or truncated.
    /// `reason` is a stable code, `explanation` a sentence for logs.
    Dropped { mode: String, event: String, property: Option<String>, reason: String, explanation: String },
    Backpressure { dropped: u64 },
    /// `cause`: `max_hits` or `max_age`.
    QueueTrimmed { cause: String, dropped: u64 },
    HitsRejected { status: u16, count: u64 },
    UploadDeferred { hits: u64, cause: String, retry_in_ms: u64 },
    StorageError { message: String },
    StorageRecovered { reason: String },
    /// The listener was slower than the SDK: this many diagnostics were dropped.
    DiagnosticsDropped { dropped: u64 },
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
            core::Diagnostic::Backpressure { dropped } => Diagnostic::Backpressure { dropped: *dropped },
            core::Diagnostic::QueueTrimmed { cause, dropped } => Diagnostic::QueueTrimmed {
                cause: match cause {
                    core::TrimCause::MaxHits => "max_hits".into(),
                    core::TrimCause::MaxAge => "max_age".into(),
                },
                dropped: *dropped,
            },
            core::Diagnostic::HitsRejected { status, count } => Diagnostic::HitsRejected { status: *status, count: *count },
            core::Diagnostic::UploadDeferred { hits, cause, retry_in_ms } => {
                Diagnostic::UploadDeferred { hits: *hits, cause: cause.clone(), retry_in_ms: *retry_in_ms }
            }
            core::Diagnostic::StorageError { message } => Diagnostic::StorageError { message: message.clone() },
            core::Diagnostic::StorageRecovered { reason } => Diagnostic::StorageRecovered { reason: reason.clone() },
            core::Diagnostic::DiagnosticsDropped { dropped } => Diagnostic::DiagnosticsDropped { dropped: *dropped },
        }
    }
}

/// What a flush achieved.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct FlushReport {
    pub uploaded: u64,
    pub rejected: u64,
    pub expired: u64,
    /// Hits a purge (opt-out, `delete_local_data`) deleted while this flush
    /// held them: they never leave.
    pub purged: u64,
    pub pending: u64,
    pub deferred: Option<String>,
    pub retry_in_ms: Option<u64>,
    pub storage_error: Option<String>,
}

impl From<core::FlushReport> for FlushReport {
    fn from(r: core::FlushReport) -> Self {
        FlushReport {
            uploaded: r.uploaded,
            rejected: r.rejected,
            expired: r.expired,
            purged: r.purged,
            pending: r.pending,
            deferred: r.deferred,
            retry_in_ms: r.retry_in_ms,
            storage_error: r.storage_error.map(|e| e.to_string()),
        }
    }
}

/// Counters since the SDK started.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Stats {
    pub accepted: u64,
    pub persisted: u64,
    pub uploaded: u64,
    pub events_dropped_by_mode: u64,
    pub properties_dropped: u64,
    pub rejected_backpressure: u64,
    pub trimmed_max_hits: u64,
    pub trimmed_max_age: u64,
    pub purged_on_mode_change: u64,
    pub deleted_with_local_data: u64,
    pub rejected_by_collector: u64,
    pub lost_storage_failure: u64,
    pub upload_failures: u64,
}

impl From<core::Stats> for Stats {
    fn from(s: core::Stats) -> Self {
        Stats {
            accepted: s.accepted,
            persisted: s.persisted,
            uploaded: s.uploaded,
            events_dropped_by_mode: s.events_dropped_by_mode,
            properties_dropped: s.properties_dropped,
            rejected_backpressure: s.rejected_backpressure,
            trimmed_max_hits: s.trimmed_max_hits,
            trimmed_max_age: s.trimmed_max_age,
            purged_on_mode_change: s.purged_on_mode_change,
            deleted_with_local_data: s.deleted_with_local_data,
            rejected_by_collector: s.rejected_by_collector,
            lost_storage_failure: s.lost_storage_failure,
            upload_failures: s.upload_failures,
        }
    }
}
