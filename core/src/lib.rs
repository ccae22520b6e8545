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

pub mod clock;
pub mod config;
pub mod diagnostics;
pub mod error;
pub mod hit;
pub mod identifying;
pub mod mode;
pub mod report;
pub mod rules;
mod sdk;
pub mod stats;
pub mod store;
pub mod upload;
pub mod visitor_id;
mod worker;

pub use clock::{Clock, EpochMillis, ManualClock, OsRandom, Random, SeededRandom, SystemClock};

/// Version sent as `event_collection_version`.
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");
pub use config::{AllowedProperty, Config, CustomMode, DeviceContext, PropertyRule};
pub use diagnostics::{Diagnostic, DropReason, Dropped, Listener, TrimCause};
pub use error::{ConfigError, ConfigErrorKind, ModeError, SdkError, TrackError};
pub use hit::{ClickKind, Event, Hit, Value};
pub use mode::{ModeChange, ModeChangeReason, ModeRecord, ModeStatus, VisitorMode};
pub use report::{ComplianceReport, Guarantee, LocalData, ModeReport, GUARANTEES};
pub use sdk::{Sdk, SdkBuilder, TrackOutcome, MAX_IN_FLIGHT};
pub use stats::Stats;
pub use upload::uploader::FlushReport;
pub use upload::{Completion, FailureKind, HttpClient, HttpOutcome, HttpRequest};
pub use visitor_id::{VisitorId, VISITOR_ID_LIFETIME_MONTHS};
