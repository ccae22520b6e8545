//! Error types of the public API. Each names what was wrong; none carries a
//! panic across a boundary.

use thiserror::Error;

/// A configuration field that failed validation. `field` is the path of the
/// field (`exempt_allowlist[2].property`), `problem` says what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid configuration: {field}: {problem}")]
pub struct ConfigError {
    /// The field's path (`exempt_allowlist[2].property`).
    pub field: String,
    /// The class of problem.
    pub kind: ConfigErrorKind,
    /// What is wrong, as a sentence.
    pub problem: String,
}

/// The class of a configuration error, for code that branches on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
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
    /// A mode that carries everything (opt-in, no-storage) cannot be a
    /// default: it needs the visitor's consent.
    ConsentModeAsDefault,
    /// A device-context value that identifies a person or a device (an
    /// e-mail address, a phone number...), or a value outside its closed set.
    IdentifyingValue,
    /// More of something than the SDK bounds (purposes, patterns).
    TooMany,
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
#[non_exhaustive]
pub enum TrackError {
    /// The event name breaks the collector's rules.
    #[error("invalid event name {name:?}: {reason}")]
    InvalidEventName {
        /// The name as given (cut to 100 characters).
        name: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// More properties than [`crate::limits::MAX_PROPERTIES`].
    #[error("{count} properties in one event; at most {max} are accepted")]
    TooManyProperties {
        /// Properties given.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// Two keys equal once lower-cased.
    #[error("property {name:?} appears twice once keys are lower-cased")]
    DuplicateProperty {
        /// The key, lower-cased.
        name: String,
    },
    /// The in-memory hand-off to the storage thread is full (storage stalled).
    #[error("the SDK's hand-off to storage is full; the event was not accepted")]
    QueueFull,
    /// `track_screen` or `track_click` with an empty (or blank) name.
    #[error("the {property} name is empty")]
    EmptyName {
        /// `page` or `click`.
        property: &'static str,
    },
    /// The SDK was shut down.
    #[error("the SDK is shut down")]
    ShutDown,
    /// The SDK did not start (its published state says why).
    #[error("the SDK did not start")]
    NotStarted,
    /// A call written by a wrapper into one buffer
    /// ([`crate::Sdk::track_encoded`]) does not decode.
    #[error("the call's buffer does not decode: {reason}")]
    InvalidEncoding {
        /// Which rule of the format it breaks.
        reason: &'static str,
    },
}

impl TrackError {
    /// Stable machine code, for the FFI's `TrackOutcome::Refused` and the
    /// `TrackRefused` diagnostic.
    pub fn code(&self) -> &'static str {
        match self {
            TrackError::InvalidEventName { .. } => "invalid_event_name",
            TrackError::TooManyProperties { .. } => "too_many_properties",
            TrackError::DuplicateProperty { .. } => "duplicate_property",
            TrackError::QueueFull => "queue_full",
            TrackError::EmptyName { .. } => "empty_name",
            TrackError::ShutDown => "shut_down",
            TrackError::NotStarted => "not_started",
            TrackError::InvalidEncoding { .. } => "invalid_call_encoding",
        }
    }
}

/// Why a visitor mode could not be set.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ModeError {
    /// No configured mode has this name.
    #[error("unknown visitor mode {0:?}")]
    UnknownMode(String),
    /// A purpose the configuration does not list.
    #[error("unknown purpose {0:?}")]
    UnknownPurpose(String),
    /// The SDK was shut down.
    #[error("the SDK is shut down")]
    ShutDown,
    /// The SDK did not start (its published state says why).
    #[error("the SDK did not start")]
    NotStarted,
    /// A consent prompt named with anything but a prompt's name.
    #[error("invalid consent prompt: {0}")]
    InvalidPrompt(ConfigError),
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
    NewerSchema {
        /// The file's schema version.
        found: i64,
        /// The newest this SDK reads.
        supported: i64,
    },
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
#[non_exhaustive]
pub enum SdkError {
    /// The configuration failed validation.
    #[error("invalid configuration: {0}")]
    Config(#[from] ConfigError),
    /// Storage failed; what was accepted waits in memory (bounded) and is
    /// written once storage works again.
    #[error("storage error: {0}")]
    Storage(#[from] StoreError),
    /// The SDK was shut down.
    #[error("the SDK is shut down")]
    ShutDown,
    /// The storage thread did not answer within this many milliseconds.
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
    CalledFromSdkThread {
        /// The operation refused.
        operation: &'static str,
    },
    /// Another SDK (in this process or another one) uses this storage
    /// directory. One instance per directory: on Android, start the SDK in
    /// the main process only.
    #[error("the storage directory {} is in use by another Mesure instance", dir.display())]
    StorageInUse {
        /// The directory.
        dir: std::path::PathBuf,
    },
    /// The storage directory holds another site's store (its visitor id,
    /// choice and queue): one directory per site. Give each site its own
    /// directory (the wrappers do: `<base>/mesure/<site>`).
    #[error("the storage directory {} belongs to site {site}: give each site its own directory", dir.display())]
    StorageOfAnotherSite {
        /// The directory.
        dir: std::path::PathBuf,
        /// The site it belongs to.
        site: String,
    },
}
