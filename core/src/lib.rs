//! # mesure-core
//!
//! The privacy engine of the Mesure audience-measurement SDK: visitor modes,
//! per-mode filtering of what leaves the device, an app-scoped visitor id with
//! a fixed 13-month life, and an offline SQLite queue uploaded in batches.
//! Pure Rust; the UniFFI adapter lives in `mesure-ffi`.
//!
//! ```no_run
//! use mesure_core::{Config, Event, Sdk, VisitorMode};
//! let config = Config::new("https://collect.example.com", 1234, "/data/data/app/files/mesure");
//! let sdk = Sdk::builder(config).build()?;
//! sdk.track(Event::screen("home").with("page_chapter1", "news"))?;
//! sdk.set_mode(VisitorMode::OptOut)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

#[cfg(not(any(feature = "platform-sqlite", feature = "bundled-sqlite", feature = "system-sqlite")))]
compile_error!(
    "mesure-core: choose the SQLite: feature `platform-sqlite` (the default: the system's on Apple targets, compiled in elsewhere), \
     `bundled-sqlite` (compiled in everywhere) or `system-sqlite` (the system's libsqlite3 everywhere)"
);
#[cfg(all(feature = "system-sqlite", feature = "bundled-sqlite"))]
compile_error!("mesure-core: features `bundled-sqlite` and `system-sqlite` exclude each other");
#[cfg(all(feature = "system-sqlite", feature = "platform-sqlite", not(target_vendor = "apple")))]
compile_error!(
    "mesure-core: `system-sqlite` excludes `platform-sqlite`, a default feature that compiles SQLite in off Apple targets: \
     build with `--no-default-features --features system-sqlite`"
);

mod builder;
mod calls;
mod clock;
mod collector;
mod config;
mod consent;
mod diagnostics;
mod encoded;
mod error;
mod export;
mod gate;
mod hit;
mod identifying;
mod messages;
mod mode;
mod notifier;
mod pattern;
mod purpose;
mod report;
mod rules;
mod scrub;
mod sdk;
mod sha256;
mod shared;
mod state;
mod stats;
mod store;
mod track;
mod upload;
mod version;
mod visitor_id;
mod worker;

pub use builder::SdkBuilder;
pub use calls::MAX_WAITING_TRACKS;
pub use clock::{Clock, EpochMillis, OsRandom, Random, SystemClock};
pub use collector::{Collector, MAX_DIMENSIONS, MAX_DIMENSION_ID};
pub use config::{
    AllowedProperty, Config, CustomMode, DeviceContext, PropertyRule, PurposeConfig, CONNECTION_TYPES, DEFAULT_BATCH_SIZE,
    DEFAULT_CONSENT_LIFETIME_MONTHS, DEFAULT_FLUSH_INTERVAL_MS, DEFAULT_QUEUE_MAX_AGE_DAYS, DEFAULT_QUEUE_MAX_HITS, DEFAULT_REQUEST_TIMEOUT_MS,
    DEFAULT_RETRY_BASE_MS, DEFAULT_RETRY_MAX_MS, MAX_CONSENT_LIFETIME_MONTHS, MAX_PURPOSES, MAX_PURPOSE_PATTERNS,
};
pub use consent::stats::StatRow;
pub use consent::{ConsentContext, ConsentSettings, MAX_PROMPT_FIELD_CHARS};
pub use diagnostics::{short_id, Diagnostic, DropReason, Dropped, EgressReason, Listener, RunState, SdkState, SentHit, TrimCause};
pub use encoded::{encode_call, EncodedKind, ENCODING_VERSION};
pub use error::{ConfigError, ConfigErrorKind, ModeError, SdkError, StoreError, TrackError};
pub use export::{ExportedHit, LocalData};
pub use hit::{ClickKind, Event, Value};
pub use mode::{ModeChange, ModeChangeReason, ModeRecord, ModeStatus, VisitorMode, NO_CONSENT_VISITOR_ID, NO_STORAGE_VISITOR_ID, OPT_OUT_VISITOR_ID};
pub use notifier::MAX_QUEUED_DIAGNOSTICS;
pub use purpose::Overlap;
pub use purpose::PurposeChoice;
pub use purpose::{PurposeMode, AUDIENCE_MEASUREMENT};
pub use report::{
    CollectorReport, ComplianceReport, ConsentReport, Guarantee, ModeReport, PurposeReport, GUARANTEES, MATOMO_SETTINGS, PIWIK_PRO_SETTINGS,
    POLICY_HEADER,
};
pub use rules::{PropertyEntry, EXEMPT_EVENTS, EXEMPT_PROPERTIES, MINIMAL_PROPERTIES};
pub use sdk::Sdk;
pub use state::MAX_IN_FLIGHT;
pub use stats::Stats;
pub use track::TrackOutcome;
pub use upload::flush::FlushReport;
pub use upload::http::{Completion, FailureKind, HttpClient, HttpOutcome, HttpRequest};
pub use upload::wire::USER_AGENT;
pub use version::SDK_VERSION;
pub use visitor_id::VisitorId;
pub use visitor_id::VISITOR_ID_LIFETIME_MONTHS;

/// The limits every event is held to, on every platform (the README's
/// table of rules and limits lists them).
pub mod limits {
    pub use crate::hit::{
        MAX_ARRAY_LEN, MAX_EVENT_NAME_LEN, MAX_HIT_BYTES, MAX_PROPERTIES, MAX_PROPERTY_NAME_LEN, MAX_REQUEST_BYTES, MAX_STRING_CHARS, MAX_VALUE_BYTES,
    };
}

/// What tests need from the SDK: the clocks and random sources they
/// inject ([`testing::ManualClock`], [`testing::SeededRandom`]), and this
/// workspace's hooks for its tests, benchmarks and fuzz targets.
pub mod testing;
