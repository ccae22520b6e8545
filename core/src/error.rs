//! Error types of the public API. Each names what was wrong; none carries a
//! panic across a boundary.

use thiserror::Error;

/// A configuration field that failed validation. `field` is the path of the
/// field (`exempt_allowlist[2].property`), `problem` says what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid configuration: {field}: {problem}")]
pub struct ConfigError {
    pub field: String,
    pub kind: ConfigErrorKind,
    pub problem: String,
}

/// The class of a configuration error, for code that branches on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigErrorKind {
    /// Malformed value (URL, name, pattern, mode name).
    Invalid,
    /// A number outside its allowed range.
    OutOfRange,
    /// Plain `http://` to a host that is not loopback.
    InsecureEndpoint,
    /// An identifying property allowlisted for a consent-exempt mode, or an
    /// identifying event name among the events such a mode may send.
    IdentifyingProperty,
    /// An allowlisted property without its written justification.
    MissingJustification,
    /// Opt-in cannot be a default: consent must come from the user.
    OptInAsDefault,
    /// Two custom modes with one name, or a custom mode named like a built-in one.
    DuplicateMode,
}

impl ConfigError {
    pub(crate) fn new(field: impl Into<String>, kind: ConfigErrorKind, problem: impl Into<String>) -> Self {
        Self { field: field.into(), kind, problem: problem.into() }
    }
}

/// Why `track` refused an event. Properties alone are never a reason to
/// refuse: they are dropped and reported through diagnostics.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TrackError {
    #[error("invalid event name {name:?}: {reason}")]
    InvalidEventName { name: String, reason: &'static str },
    #[error("{count} properties in one event; at most {max} are accepted")]
    TooManyProperties { count: usize, max: usize },
    #[error("property {name:?} appears twice once keys are lower-cased")]
    DuplicateProperty { name: String },
    #[error("the SDK's hand-off to storage is full; the event was not accepted")]
    QueueFull,
    #[error("the SDK is shut down")]
    ShutDown,
}

/// Why a visitor mode could not be set.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ModeError {
    #[error("unknown visitor mode {0:?}")]
    UnknownMode(String),
    #[error("the SDK is shut down")]
    ShutDown,
}

/// Errors of SDK operations other than tracking and configuration.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SdkError {
    #[error("invalid configuration: {0}")]
    Config(#[from] ConfigError),
    #[error("storage error: {0}")]
    Storage(String),
    #[error("the SDK is shut down")]
    ShutDown,
    #[error("the background thread did not answer within {0} ms")]
    Timeout(u64),
    #[error("could not start the SDK's background thread: {0}")]
    Thread(String),
    /// Another SDK (in this process or another one) uses this storage
    /// directory. One instance per directory: on Android, start the SDK in
    /// the main process only.
    #[error("the storage directory {} is in use by another Mesure instance", dir.display())]
    StorageInUse { dir: std::path::PathBuf },
}
