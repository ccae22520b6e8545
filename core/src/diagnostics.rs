//! What the SDK tells the app about itself: mode changes and diagnostics.
//! Nothing is dropped silently: every property or event held back, every hit
//! lost from the queue, every storage problem is reported here.

use crate::error::TrackError;
use crate::mode::ModeChange;

/// Why a property or an event did not leave the device as tagged.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DropReason {
    /// The property name breaks the collector's rules (the text says which).
    InvalidName(&'static str),
    /// The key is written by the SDK itself (`visitor_privacy_*`, `event_id`, ...).
    Reserved,
    /// NaN or an infinite number cannot be sent.
    NonFiniteNumber,
    /// Kept, but cut to the length limits (not a drop).
    Truncated,
    /// The visitor mode in force does not allow this property.
    NotAllowedInMode,
    /// A forbidden-property rule matched.
    ForbiddenByRule,
    /// The visitor mode in force does not allow this event.
    EventNotAllowedInMode,
    /// A forbidden-event rule matched (applies in every mode).
    EventForbiddenByRule,
    /// Opt-out: the configuration sends no hit at all.
    OptOutSendsNothing,
    /// Left out to keep the hit within its size bound ([`crate::hit::MAX_HIT_BYTES`]).
    TooLarge,
    /// `track_screen`'s explicit screen name wins over a `page` property.
    ReplacedByScreenName,
    /// Its purpose (or, for a property with no purpose, every purpose) is
    /// not consented to.
    PurposeNotConsented,
    /// A value of a type the SDK cannot send (the platform's type name):
    /// the wrappers pass unknown types on as this instead of throwing.
    UnsupportedValue(String),
}

impl DropReason {
    /// Stable machine code (used by the conformance vectors and the FFI).
    pub fn code(&self) -> &'static str {
        match self {
            DropReason::InvalidName(_) => "invalid_name",
            DropReason::Reserved => "reserved",
            DropReason::NonFiniteNumber => "non_finite_number",
            DropReason::Truncated => "truncated",
            DropReason::NotAllowedInMode => "not_allowed_in_mode",
            DropReason::ForbiddenByRule => "forbidden_by_rule",
            DropReason::EventNotAllowedInMode => "event_not_allowed_in_mode",
            DropReason::EventForbiddenByRule => "event_forbidden_by_rule",
            DropReason::OptOutSendsNothing => "opt_out_sends_nothing",
            DropReason::TooLarge => "too_large",
            DropReason::ReplacedByScreenName => "replaced_by_screen_name",
            DropReason::PurposeNotConsented => "purpose_not_consented",
            DropReason::UnsupportedValue(_) => "unsupported_value",
        }
    }

    /// A sentence for a developer reading logs.
    pub fn explain(&self) -> String {
        match self {
            DropReason::InvalidName(why) => format!("invalid property name: {why}"),
            DropReason::Reserved => "reserved: the SDK sets this key itself".into(),
            DropReason::NonFiniteNumber => "NaN or infinite numbers cannot be sent".into(),
            DropReason::Truncated => "value cut to the length limits".into(),
            DropReason::NotAllowedInMode => {
                "not strictly necessary: not allowed in this visitor mode".into()
            }
            DropReason::ForbiddenByRule => "forbidden by a configured rule".into(),
            DropReason::EventNotAllowedInMode => "event not allowed in this visitor mode".into(),
            DropReason::EventForbiddenByRule => "event forbidden by a configured rule".into(),
            DropReason::OptOutSendsNothing => {
                "visitor opted out and anonymous opt-out hits are disabled".into()
            }
            DropReason::TooLarge => "the hit would exceed 64 KiB: its largest properties are left out".into(),
            DropReason::ReplacedByScreenName => "the screen name given to track_screen wins".into(),
            DropReason::PurposeNotConsented => "its purpose is not consented to (opt-in) with audience measurement".into(),
            DropReason::UnsupportedValue(type_name) => format!(
                "a value of type {type_name} cannot be sent: use text, a number, a boolean, a date or a list of one of those"
            ),
        }
    }
}

/// One property (or, when `property` is `None`, a whole event) held back or altered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    /// The event's name.
    pub event: String,
    /// The property; `None` when the whole event was held back.
    pub property: Option<String>,
    /// Why.
    pub reason: DropReason,
}

/// Which queue bound removed hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TrimCause {
    /// `queue_max_hits`: the oldest hits went first.
    MaxHits,
    /// `queue_max_age_days`: hits too old to send.
    MaxAge,
}

/// A report about the SDK's own behaviour, delivered on the SDK's background thread.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Diagnostic {
    /// A property or event was held back (or truncated) when tracked.
    Dropped {
        /// The wire name of the mode in force.
        mode: String,
        /// What was held back, and why.
        dropped: Dropped,
    },
    /// `track` was refused (`QueueFull`) because the in-memory hand-off to
    /// the storage thread was full.
    Backpressure {
        /// Calls refused in a row.
        dropped: u64,
    },
    /// The queue bounds removed the oldest hits.
    QueueTrimmed {
        /// Which bound.
        cause: TrimCause,
        /// Hits removed.
        dropped: u64,
    },
    /// The collector refused hits (400, 413, 422, down to a single hit);
    /// they are dropped and counted.
    HitsRejected {
        /// The HTTP status.
        status: u16,
        /// Hits dropped.
        count: u64,
    },
    /// An upload failed; the hits stay queued and are retried after the delay.
    UploadDeferred {
        /// Hits waiting.
        hits: u64,
        /// Why the attempt failed.
        cause: String,
        /// The delay before the next attempt.
        retry_in_ms: u64,
    },
    /// Storage failed; hits are kept in memory (bounded) and writing is retried.
    StorageError {
        /// What failed.
        message: String,
    },
    /// The database could not be read and was recreated.
    StorageRecovered {
        /// Why it could not be read.
        reason: String,
    },
    /// The listener was slower than the SDK: diagnostics were dropped
    /// rather than queued without bound (mode changes never are).
    DiagnosticsDropped {
        /// Diagnostics dropped.
        dropped: u64,
    },
    /// `track` refused an event (bad name, too many properties, a key given
    /// twice, an empty screen or click name). Back-pressure is reported as
    /// [`Diagnostic::Backpressure`] instead.
    TrackRefused {
        /// The event name as given, cut to 100 characters.
        event: String,
        /// Why it was refused.
        error: TrackError,
    },
    /// One upload request left the device (or, in dry-run mode, would have):
    /// the visitor id it carried and, hit by hit, the event and the property
    /// keys, never the values. Reported only when a listener is set.
    Sent {
        /// The visitor id of the request (`idclient`).
        idclient: String,
        /// Its hits, in order.
        hits: Vec<SentHit>,
        /// The collector's HTTP status; `None` when none came (network
        /// failure, timeout) or in dry-run mode.
        status: Option<u16>,
        /// A dry run: nothing left the device.
        dry_run: bool,
    },
}

/// One hit of an upload request, as [`Diagnostic::Sent`] shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentHit {
    /// The hit's `event_id` (the one `track` returned).
    pub event_id: String,
    /// The event name.
    pub event: String,
    /// The property keys the hit carried, sorted (`event_id` and the privacy
    /// fields included: everything that left).
    pub keys: Vec<String>,
}

/// Receives mode changes and diagnostics, one at a time and in order, on a
/// thread of the SDK's own (`mesure-listener`) that does nothing else. A
/// mode change is reported once it is persisted. Calling back into the SDK
/// from a callback is safe, `flush`, `delete_local_data` and `shutdown`
/// included: none of them waits on this thread. A slow listener delays only
/// its own callbacks.
pub trait Listener: Send + Sync + 'static {
    /// The visitor mode changed (called once the change is persisted).
    fn on_mode_changed(&self, _change: &ModeChange) {}
    /// Something was held back, refused, sent, or went wrong.
    fn on_diagnostic(&self, _diagnostic: &Diagnostic) {}
}
