//! # mesure-ffi
//!
//! The UniFFI surface of Mesure for Kotlin and Swift. It adapts
//! `mesure-core`: types are converted, errors mapped to [`MesureError`],
//! foreign callbacks wrapped. No privacy rule lives here.
//!
//! Panics: the core does not panic on input or I/O; UniFFI's scaffolding
//! catches any panic at the boundary and turns it into an error (the one
//! function outside UniFFI, `mesure_track_encoded`, catches its own), and
//! the core contains panics of foreign callbacks on its own threads.

#![warn(missing_docs)]

mod callbacks;
mod error;
mod fast;
mod types;

use std::collections::HashMap;
use std::sync::Arc;

use mesure_core as core;

pub use callbacks::{HttpFailure, HttpHeader, HttpRequest, MesureClock, MesureListener, PlatformHttpClient, UploadCompletion};
pub use error::{CallbackError, MesureError};
pub use fast::{mesure_track_encoded, track_encoded, GONE, NOT_SENT, PANICKED, QUEUED, WAITING};
pub use types::*;

uniffi::setup_scaffolding!();

/// The SDK version (`event_collection_version` on the wire).
#[uniffi::export]
pub fn sdk_version() -> String {
    core::SDK_VERSION.to_owned()
}

/// Whether this build carries the Rust HTTP client (desktop builds do;
/// mobile builds leave it out and need a platform client).
#[uniffi::export]
pub fn has_builtin_http_client() -> bool {
    cfg!(feature = "ureq-client")
}

/// Checks a configuration without starting anything (no file, no thread):
/// the error `MesureCore::new` would give for it, if any. The wrappers call
/// it on the caller's thread before starting the SDK on a background one.
#[uniffi::export]
pub fn validate_config(config: MesureConfig) -> Result<(), MesureError> {
    let config = core::Config::try_from(config)?;
    Ok(config.validate()?)
}

/// The Mesure SDK's core object, as generated for Kotlin and Swift. Apps use
/// the platform wrappers (`eu.mesure.Mesure`, `MesureSDK`) rather than this.
/// One per storage directory; every method is thread-safe.
#[derive(uniffi::Object)]
pub struct MesureCore {
    sdk: core::Sdk,
    // Its key in the fast path's registry (`track_encoded`).
    key: u64,
    refusals: fast::Refusals,
}

impl Drop for MesureCore {
    fn drop(&mut self) {
        fast::unregister(self.key);
    }
}

#[uniffi::export]
impl MesureCore {
    /// Validates the configuration and claims the storage directory (of two
    /// starts on one directory the second throws `StorageInUse`, in call
    /// order), then returns: the storage thread opens the store, and calls
    /// made meanwhile wait in order in the core (`TrackOutcome::Waiting`;
    /// the listener's `on_state` tells when it runs, or why it failed).
    /// `http_client`: the platform's client; without it the built-in Rust
    /// client is used (absent from mobile builds; a dry run needs none).
    /// `clock`: for tests only.
    #[uniffi::constructor(default(listener = None, http_client = None, clock = None))]
    pub fn new(
        config: MesureConfig,
        listener: Option<Arc<dyn MesureListener>>,
        http_client: Option<Arc<dyn PlatformHttpClient>>,
        clock: Option<Arc<dyn MesureClock>>,
    ) -> Result<Arc<Self>, MesureError> {
        let legacy = config.legacy_storage_dir.clone();
        let config: core::Config = config.try_into()?;
        let site = config.site_key();
        let mut builder = core::Sdk::builder(config);
        if let Some(dir) = legacy {
            builder = builder.legacy_storage_dir(dir);
        }
        if let Some(listener) = listener {
            builder = builder.listener(Arc::new(callbacks::ListenerAdapter { listener, site }));
        }
        if let Some(h) = http_client {
            builder = builder.http_client(Arc::new(callbacks::HttpAdapter(h)));
        }
        if let Some(c) = clock {
            builder = builder.clock(Arc::new(callbacks::ClockAdapter(c)));
        }
        let core = Arc::new(MesureCore { sdk: builder.start()?, key: fast::new_key(), refusals: Default::default() });
        fast::register(&core);
        Ok(core)
    }

    /// This object's key for [`track_encoded`], the wrappers' one-crossing
    /// tracking call.
    pub fn call_key(&self) -> u64 {
        self.key
    }

    /// The refusal [`track_encoded`] answered with `-ticket`, once (the
    /// last 64 are kept).
    pub fn take_refusal(&self, ticket: i64) -> Option<TrackOutcome> {
        self.refusals.take(ticket)
    }

    /// Tracks an event; returns without touching disk or network, and never
    /// throws: a refused event is `TrackOutcome::Refused` (also reported to
    /// the listener).
    #[uniffi::method(default(properties))]
    pub fn track(&self, name: String, properties: HashMap<String, PropertyValue>) -> TrackOutcome {
        self.sdk.track(types::event(name, properties)).into()
    }

    /// A screen view: `page.display` with `page = name` (an empty name is refused).
    #[uniffi::method(default(properties))]
    pub fn track_screen(&self, name: String, properties: HashMap<String, PropertyValue>) -> TrackOutcome {
        self.sdk.track_screen(&name, types::properties(properties)).into()
    }

    /// A click: `click.action|navigation|download|exit` with `click = name`
    /// (an empty name is refused).
    #[uniffi::method(default(properties))]
    pub fn track_click(&self, kind: ClickKind, name: String, properties: HashMap<String, PropertyValue>) -> TrackOutcome {
        self.sdk.track_click(kind.into(), &name, types::properties(properties)).into()
    }

    /// The visitor mode in force.
    pub fn mode(&self) -> VisitorMode {
        self.sdk.mode().into()
    }

    /// The mode in force with its dates, purposes and epoch.
    pub fn mode_status(&self) -> ModeStatus {
        self.sdk.mode_status().into()
    }

    /// Sets the visitor mode. Leaving for opt-out, no-consent or no-storage
    /// deletes the visitor id and its queued hits. `prompt`: the consent
    /// prompt it was answered in (into the consent receipt and statistics).
    #[uniffi::method(default(prompt = None))]
    pub fn set_mode(&self, mode: VisitorMode, prompt: Option<ConsentContext>) -> Result<(), MesureError> {
        Ok(self.sdk.set_mode_from_prompt(mode.into(), prompt.map(Into::into))?)
    }

    /// For an opt-out switch: on opts out; off returns from opt-out to the
    /// configured default and changes nothing in any other mode (a consent
    /// is never dropped by the switch).
    pub fn set_opted_out(&self, opted_out: bool) -> Result<(), MesureError> {
        Ok(self.sdk.set_opted_out(opted_out)?)
    }

    /// The answer to a consent prompt: granted opts in; declined withdraws an
    /// opt-in (back to the default), leaves an opt-out in force, and settles
    /// a pending renewal.
    #[uniffi::method(default(prompt = None))]
    pub fn set_consent(&self, granted: bool, prompt: Option<ConsentContext>) -> Result<(), MesureError> {
        Ok(self.sdk.set_consent_from_prompt(granted, prompt.map(Into::into))?)
    }

    /// The answer for one purpose (see `set_purposes`).
    pub fn set_purpose(&self, purpose: String, mode: PurposeMode) -> Result<(), MesureError> {
        Ok(self.sdk.set_purpose(&purpose, mode.into())?)
    }

    /// A consent-management platform's answers, purpose by purpose; purposes
    /// not named keep their answer. Audience measurement's answer decides
    /// the visitor mode; a purpose never answered never reads as opt-in.
    #[uniffi::method(default(prompt = None))]
    pub fn set_purposes(&self, answers: HashMap<String, PurposeMode>, prompt: Option<ConsentContext>) -> Result<(), MesureError> {
        let answers = answers.into_iter().map(|(p, m)| (p, m.into())).collect();
        Ok(self.sdk.set_purposes_from_prompt(&answers, prompt.map(Into::into))?)
    }

    /// The consent prompt was shown: counted by the anonymous consent
    /// statistics (per prompt version and day, no id of any kind).
    pub fn consent_prompt_shown(&self, prompt: ConsentContext) -> Result<(), MesureError> {
        Ok(self.sdk.consent_prompt_shown(prompt.into())?)
    }

    /// The visitor's own switch of the consent statistics: off deletes the
    /// counts not sent and counts nothing more on this device.
    pub fn set_consent_statistics(&self, enabled: bool) -> Result<(), MesureError> {
        Ok(self.sdk.set_consent_statistics(enabled)?)
    }

    /// Every configured purpose's mode, audience measurement included.
    pub fn purposes(&self) -> HashMap<String, PurposeMode> {
        types::purposes_map(&self.sdk.purposes())
    }

    /// Replaces the device context (connection type changed, app updated...).
    pub fn set_context(&self, context: DeviceContext) -> Result<(), MesureError> {
        Ok(self.sdk.set_context(context.into_core("context")?)?)
    }

    /// Persists and uploads now. Blocks: call it off the main thread.
    pub fn flush(&self) -> Result<FlushReport, MesureError> {
        Ok(self.sdk.flush()?.into())
    }

    /// Persists everything accepted and stops, and waits for it. Later
    /// calls fail with `ShutDown` (tracking: `Refused` with `shut_down`). A
    /// second call waits for the first (from a listener callback it returns
    /// at once).
    pub fn shutdown(&self) -> Result<(), MesureError> {
        Ok(self.sdk.shutdown()?)
    }

    /// Stops after the calls already made, and returns at once; later calls
    /// are refused. `shutdown` waits for the end. A second call does nothing.
    /// (Not `close`: the generated Kotlin class has its own, which frees it.)
    pub fn stop(&self) {
        self.sdk.stop()
    }

    /// Returns once every call made before it was applied and persisted, and
    /// what it changed (the published state included) reached the listener.
    pub fn await_applied(&self) -> Result<(), MesureError> {
        Ok(self.sdk.await_applied()?)
    }

    /// Waits for the start to end; throws the start's error if it failed.
    pub fn wait_started(&self) -> Result<(), MesureError> {
        Ok(self.sdk.wait_started()?)
    }

    /// Everything stored on the device, as a JSON document (right of access).
    pub fn export_local_data(&self) -> Result<String, MesureError> {
        Ok(self.sdk.export_local_data()?.to_json())
    }

    /// Deletes the id, the queue and the history of choices (right to erasure).
    /// Opt-out, no-consent and no-storage stay in force; opt-in, exempt and
    /// a custom mode return to the configured default (a consent is
    /// withdrawn), and every purpose's answer is forgotten.
    /// Returns the number of hits deleted.
    pub fn delete_local_data(&self) -> Result<i64, MesureError> {
        Ok(types::count(self.sdk.delete_local_data()?))
    }

    /// The compliance report of the live configuration, as JSON.
    pub fn compliance_report_json(&self) -> String {
        self.sdk.compliance_report().to_json()
    }

    /// The compliance report of the live configuration, as Markdown.
    pub fn compliance_report_markdown(&self) -> String {
        self.sdk.compliance_report().to_markdown()
    }

    /// The proof of every consent given or withdrawn on this device, as a
    /// JSON document a controller can file: the consent-proof id, whether
    /// the receipts' hash chain is intact (or where it breaks), and the
    /// receipts. Waits for the calls made before it.
    pub fn consent_proof(&self) -> Result<String, MesureError> {
        Ok(self.sdk.consent_proof()?)
    }

    /// The policy's hash (`sha256=<hex>`), the same for the same
    /// configuration and SDK version on every platform; every request
    /// carries it in the `Mesure-Policy` header.
    pub fn policy_hash(&self) -> String {
        self.sdk.policy_hash()
    }

    /// Counters since the SDK started.
    pub fn stats(&self) -> Stats {
        self.sdk.stats().into()
    }
}
