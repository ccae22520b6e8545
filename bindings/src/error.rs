//! The public error of the FFI: small, typed, stable. Each core error maps to
//! one variant; details travel as text.

use mesure_core as core;

/// What an SDK operation can fail with. Printed (`toString`, `description`)
/// as a sentence; the fields carry the details for code that branches on
/// them. Tracking never throws: its refusals are `TrackOutcome::Refused`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
#[uniffi::export(Display)]
pub enum MesureError {
    /// A configuration field failed validation.
    #[error("invalid configuration: {field}: {reason}")]
    InvalidConfig {
        /// The field's path (`site_id`, `exempt_allowlist[0].property`).
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `track` refused an event; thrown only by the wrappers' strict mode.
    /// (Not `message`: a field of that name clashes with Kotlin's
    /// `Throwable.message` and the generated Kotlin does not compile,
    /// uniffi-rs issue 1434.)
    #[error("{explanation}")]
    TrackRefused {
        /// A stable code (`invalid_event_name`, ...; see `TrackOutcome::Refused`).
        reason: String,
        /// A sentence.
        explanation: String,
    },
    /// A mode name no configured mode has.
    #[error("unknown visitor mode {name:?}")]
    UnknownMode {
        /// The name given.
        name: String,
    },
    /// A purpose the configuration does not list.
    #[error("unknown purpose {name:?}: list it in the configuration's purposes")]
    UnknownPurpose {
        /// The name given.
        name: String,
    },
    /// Storage failed; what was accepted waits in memory (bounded).
    #[error("storage error: {detail}")]
    Storage {
        /// What failed.
        detail: String,
    },
    /// The SDK was shut down (closed): start a new one.
    #[error("the SDK is shut down")]
    ShutDown,
    /// The SDK did not start: its state (`RunState::Failed`) says why.
    #[error("the SDK did not start")]
    NotStarted,
    /// The SDK's background thread did not answer in time.
    #[error("the SDK's background thread did not answer in time")]
    Timeout,
    /// Another Mesure instance (in this process or another) uses this storage
    /// directory. One per directory: on Android, start Mesure in the main
    /// process only.
    #[error("the storage directory {dir} is in use by another Mesure instance")]
    StorageInUse {
        /// The directory.
        dir: String,
    },
    /// The storage directory holds another site's store: one directory per site.
    #[error("the storage directory {dir} belongs to site {site}: give each site its own directory")]
    StorageOfAnotherSite {
        /// The directory.
        dir: String,
        /// The site it belongs to.
        site: String,
    },
    /// A background thread could not be started.
    #[error("could not start the SDK's background thread: {detail}")]
    Thread {
        /// The system's error.
        detail: String,
    },
    /// The built-in HTTP client could not be started.
    #[error("could not start the HTTP client: {detail}")]
    HttpClient {
        /// The client's error.
        detail: String,
    },
    /// An operation that waits on the SDK's own threads was called from one
    /// of them (an HTTP client or a clock calling back into the SDK).
    /// Listener callbacks may call anything.
    #[error("{operation} cannot be called from the SDK's own threads")]
    CalledFromSdkThread {
        /// The operation.
        operation: String,
    },
    /// An error of a newer core these bindings do not classify (the two
    /// ship together, so this is not expected).
    #[error("{detail}")]
    Internal {
        /// The core's message.
        detail: String,
    },
}

impl From<core::ConfigError> for MesureError {
    fn from(e: core::ConfigError) -> Self {
        MesureError::InvalidConfig { field: e.field, reason: e.problem }
    }
}

impl From<core::ModeError> for MesureError {
    fn from(e: core::ModeError) -> Self {
        match e {
            core::ModeError::UnknownMode(name) => MesureError::UnknownMode { name },
            core::ModeError::UnknownPurpose(name) => MesureError::UnknownPurpose { name },
            core::ModeError::ShutDown => MesureError::ShutDown,
            core::ModeError::NotStarted => MesureError::NotStarted,
            core::ModeError::InvalidPrompt(c) => c.into(),
            other => MesureError::Internal { detail: other.to_string() },
        }
    }
}

impl From<core::SdkError> for MesureError {
    fn from(e: core::SdkError) -> Self {
        match e {
            core::SdkError::Config(c) => c.into(),
            core::SdkError::Storage(e) => MesureError::Storage { detail: e.to_string() },
            core::SdkError::ShutDown => MesureError::ShutDown,
            core::SdkError::Timeout(_) => MesureError::Timeout,
            core::SdkError::Thread(detail) => MesureError::Thread { detail },
            core::SdkError::HttpClient(detail) => MesureError::HttpClient { detail },
            core::SdkError::CalledFromSdkThread { operation } => MesureError::CalledFromSdkThread { operation: operation.to_owned() },
            core::SdkError::StorageInUse { dir } => MesureError::StorageInUse { dir: dir.display().to_string() },
            core::SdkError::StorageOfAnotherSite { dir, site } => MesureError::StorageOfAnotherSite { dir: dir.display().to_string(), site },
            other => MesureError::Internal { detail: other.to_string() },
        }
    }
}

/// What a foreign callback (listener, HTTP client, clock) may throw. The SDK
/// never lets it escape: a failing listener is skipped, a failing HTTP client
/// is a failed upload attempt, a failing clock falls back to the system clock.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum CallbackError {
    /// The callback threw.
    #[error("callback failed: {reason}")]
    Failed {
        /// What it threw.
        reason: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for CallbackError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        CallbackError::Failed { reason: e.reason }
    }
}
