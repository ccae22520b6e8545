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

mod builder;
pub mod clock;
pub mod config;
pub mod diagnostics;
pub mod error;
pub mod export;
pub mod hit;
pub mod identifying;
mod messages;
pub mod mode;
pub mod purpose;
mod notifier;
pub mod report;
pub mod rules;
mod sdk;
mod shared;
mod state;
pub mod stats;
pub mod store;
pub mod upload;
pub mod visitor_id;
mod uploader;
mod version;
mod worker;

pub use builder::SdkBuilder;
pub use clock::{Clock, EpochMillis, ManualClock, OsRandom, Random, SeededRandom, SystemClock};
pub use config::{AllowedProperty, Config, CustomMode, DeviceContext, PropertyRule, PurposeConfig};
pub use purpose::{PurposeMode, AUDIENCE_MEASUREMENT};
pub use diagnostics::{Diagnostic, DropReason, Dropped, Listener, TrimCause};
pub use error::{ConfigError, ConfigErrorKind, ModeError, SdkError, StoreError, TrackError};
pub use export::LocalData;
pub use hit::{ClickKind, Event, Hit, Value};
pub use mode::{ModeChange, ModeChangeReason, ModeRecord, ModeStatus, VisitorMode};
pub use notifier::MAX_QUEUED_DIAGNOSTICS;
pub use report::{ComplianceReport, Guarantee, ModeReport, PurposeReport, GUARANTEES};
pub use sdk::{Sdk, TrackOutcome};
pub use state::MAX_IN_FLIGHT;
pub use stats::Stats;
pub use upload::flush::FlushReport;
pub use upload::{Completion, FailureKind, HttpClient, HttpOutcome, HttpRequest};
pub use version::SDK_VERSION;
pub use visitor_id::{VisitorId, VISITOR_ID_LIFETIME_MONTHS};
