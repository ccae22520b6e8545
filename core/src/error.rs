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
    /// A purpose the configuration does not list.
    #[error("unknown purpose {0:?}")]
    UnknownPurpose(String),
    #[error("the SDK is shut down")]
    ShutDown,
}

/// A storage failure, classified by what the SDK does about it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The file is not a database or is damaged: it is recreated.
    #[error("database corrupt: {0}")]
    Corrupt(String),
    /// Written by a newer SDK: left untouched, the SDK runs without storage.
    #[error("database schema version {found} is newer than this SDK's {supported}")]
    NewerSchema { found: i64, supported: i64 },
    /// No space left: writes wait in memory and resume as uploads free rows.
    #[error("storage full: {0}")]
    Full(String),
    /// Another SDK holds the storage directory (the writer found it taken
    /// when the directory became usable after start-up).
    #[error("the storage directory is in use by another Mesure instance")]
    InUse,
    /// Read-only, permissions, I/O: kept in memory and retried.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

/// Errors of SDK operations other than tracking and configuration.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SdkError {
    #[error("invalid configuration: {0}")]
    Config(#[from] ConfigError),
    /// Storage failed; what was accepted waits in memory (bounded) and is
    /// written once storage works again.
    #[error("storage error: {0}")]
    Storage(#[from] StoreError),
    #[error("the SDK is shut down")]
    ShutDown,
    #[error("the background thread did not answer within {0} ms")]
    Timeout(u64),
    /// A background thread could not be started.
    #[error("could not start the SDK's background thread: {0}")]
    Thread(String),
    /// The built-in HTTP client could not be started.
    #[error("could not start the HTTP client: {0}")]
    HttpClient(String),
    /// Called from one of the SDK's own threads (an HTTP client or a clock
    /// calling back into the SDK) an operation that waits on that thread.
    /// Listener callbacks run on a thread of their own and may call anything.
    #[error("{operation} waits on the SDK's own threads and cannot be called from one of them")]
    CalledFromSdkThread { operation: &'static str },
    /// Another SDK (in this process or another one) uses this storage
    /// directory. One instance per directory: on Android, start the SDK in
    /// the main process only.
    #[error("the storage directory {} is in use by another Mesure instance", dir.display())]
    StorageInUse { dir: std::path::PathBuf },
}
