//! The public error of the FFI: small, typed, stable. Each core error maps to
//! one variant; details travel as text.

use mesure_core as core;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum MesureError {
    /// A configuration field failed validation; `field` names it (`site_id`, `exempt_allowlist[0].property`).
    #[error("invalid configuration: {field}: {reason}")]
    InvalidConfig { field: String, reason: String },
    /// The event name breaks the rules.
    #[error("invalid event name {name:?}: {reason}")]
    InvalidEventName { name: String, reason: String },
    #[error("{count} properties; at most {max}")]
    TooManyProperties { count: u32, max: u32 },
    #[error("property {name:?} given twice (keys are lower-cased)")]
    DuplicateProperty { name: String },
    /// Storage is stalled; the event was not accepted.
    #[error("queue full")]
    QueueFull,
    #[error("unknown visitor mode {name:?}")]
    UnknownMode { name: String },
    /// A purpose the configuration does not list.
    #[error("unknown purpose {name:?}")]
    UnknownPurpose { name: String },
    #[error("storage: {detail}")]
    Storage { detail: String },
    #[error("the SDK is shut down")]
    ShutDown,
    #[error("the SDK's background thread did not answer in time")]
    Timeout,
    /// Another Mesure instance (in this process or another) uses this storage
    /// directory. One per directory: on Android, start Mesure in the main
    /// process only.
    #[error("the storage directory {dir} is in use by another Mesure instance")]
    StorageInUse { dir: String },
    /// A background thread could not be started.
    #[error("could not start the SDK's background thread: {detail}")]
    Thread { detail: String },
    /// The built-in HTTP client could not be started.
    #[error("could not start the HTTP client: {detail}")]
    HttpClient { detail: String },
    /// An operation that waits on the SDK's own threads was called from one
    /// of them (an HTTP client or a clock calling back into the SDK).
    /// Listener callbacks may call anything.
    #[error("{operation} cannot be called from the SDK's own threads")]
    CalledFromSdkThread { operation: String },
}

impl From<core::ConfigError> for MesureError {
    fn from(e: core::ConfigError) -> Self {
        MesureError::InvalidConfig { field: e.field, reason: e.problem }
    }
}

impl From<core::TrackError> for MesureError {
    fn from(e: core::TrackError) -> Self {
        match e {
            core::TrackError::InvalidEventName { name, reason } => {
                MesureError::InvalidEventName { name, reason: reason.to_owned() }
            }
            core::TrackError::TooManyProperties { count, max } => MesureError::TooManyProperties {
                count: u32::try_from(count).unwrap_or(u32::MAX),
                max: u32::try_from(max).unwrap_or(u32::MAX),
            },
            core::TrackError::DuplicateProperty { name } => MesureError::DuplicateProperty { name },
            core::TrackError::QueueFull => MesureError::QueueFull,
            core::TrackError::ShutDown => MesureError::ShutDown,
        }
    }
}

impl From<core::ModeError> for MesureError {
    fn from(e: core::ModeError) -> Self {
        match e {
            core::ModeError::UnknownMode(name) => MesureError::UnknownMode { name },
            core::ModeError::UnknownPurpose(name) => MesureError::UnknownPurpose { name },
            core::ModeError::ShutDown => MesureError::ShutDown,
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
        }
    }
}

/// What a foreign callback (listener, HTTP client, clock) may throw. The SDK
/// never lets it escape: a failing listener is skipped, a failing HTTP client
/// is a failed upload attempt, a failing clock falls back to the system clock.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum CallbackError {
    #[error("callback failed: {reason}")]
    Failed { reason: String },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for CallbackError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        CallbackError::Failed { reason: e.reason }
    }
}
