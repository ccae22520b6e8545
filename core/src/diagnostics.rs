//! What the SDK tells the app about itself: mode changes and diagnostics.
//! Nothing is dropped silently: every property or event held back, every hit
//! lost from the queue, every storage problem is reported here.

use std::collections::BTreeMap;

use crate::error::{SdkError, TrackError};
use crate::mode::{ModeChange, ModeStatus, PurposeMode, VisitorMode};

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
    /// One of its purposes (a property that several purposes name needs
    /// each of them; one with no purpose needs every purpose) is not
    /// consented to.
    PurposeNotConsented {
        /// The first purpose not consented to.
        purpose: String,
    },
    /// The value held an e-mail address, a phone number or another
    /// identifying value (see PRIVACY.md), in a mode without consent: the
    /// text was masked (the property leaves with `[email]`, `[phone]`...),
    /// or a number was held back.
    IdentifyingValue {
        /// What was found (`email`, `phone`, `number`, `ip`, `uuid`, ...).
        found: &'static str,
        /// True: masked and sent; false: the property was held back.
        masked: bool,
    },
    /// A value of a type the SDK cannot send (the platform's type name):
    /// the wrappers pass unknown types on as this instead of throwing.
    UnsupportedValue(String),
    /// The configured collector's wire has no place for this property and
    /// no custom dimension maps it: left out when the hit was sent.
    NotOnWire,
}

impl DropReason {
    /// Whether the property (or event) did not leave; false for a value cut
    /// to the limits or masked, which left altered.
    pub fn is_drop(&self) -> bool {
        !matches!(self, DropReason::Truncated | DropReason::IdentifyingValue { masked: true, .. })
    }

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
            DropReason::PurposeNotConsented { .. } => "purpose_not_consented",
            DropReason::IdentifyingValue { .. } => "identifying_value",
            DropReason::UnsupportedValue(_) => "unsupported_value",
            DropReason::NotOnWire => "not_on_wire",
        }
    }

    /// A sentence for a developer reading logs.
    pub fn explain(&self) -> String {
        match self {
            DropReason::InvalidName(why) => format!("invalid property name: {why}"),
            DropReason::Reserved => "reserved: the SDK sets this key itself".into(),
            DropReason::NonFiniteNumber => "NaN or infinite numbers cannot be sent".into(),
            DropReason::Truncated => "value cut to the length limits".into(),
            DropReason::NotAllowedInMode => "not strictly necessary: not allowed in this visitor mode".into(),
            DropReason::ForbiddenByRule => "forbidden by a configured rule".into(),
            DropReason::EventNotAllowedInMode => "event not allowed in this visitor mode".into(),
            DropReason::EventForbiddenByRule => "event forbidden by a configured rule".into(),
            DropReason::OptOutSendsNothing => "visitor opted out and anonymous opt-out hits are disabled".into(),
            DropReason::TooLarge => "the hit would exceed 64 KiB: its largest properties are left out".into(),
            DropReason::ReplacedByScreenName => "the screen name given to track_screen wins".into(),
            DropReason::PurposeNotConsented { purpose } => {
                format!("its purpose {purpose} is not consented to (opt-in) with audience measurement")
            }
            DropReason::IdentifyingValue { found, masked: true } => {
                format!("the value held an identifying value ({found}), masked: no consent was given")
            }
            DropReason::IdentifyingValue { found, masked: false } => {
                format!("the value is an identifying number ({found}), held back: no consent was given")
            }
            DropReason::UnsupportedValue(type_name) => {
                format!("a value of type {type_name} cannot be sent: use text, a number, a boolean, a date or a list of one of those")
            }
            DropReason::NotOnWire => "not on this collector's wire: no place for it and no custom dimension maps it (on Piwik PRO without consent, no dimension but the consent one)".into(),
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
    /// The visitor id they carry reached its 13 months: they may not leave
    /// with it (and never with another).
    IdExpired,
}

impl TrimCause {
    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            TrimCause::MaxHits => "max_hits",
            TrimCause::MaxAge => "max_age",
            TrimCause::IdExpired => "id_expired",
        }
    }
}

/// Why the egress gate held a hit back at send time ([`Diagnostic::HeldAtEgress`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum EgressReason {
    /// Queued for another site than the configured one.
    OtherSite,
    /// Tracked in a dry run (or a real hit met by a dry run).
    DryRun,
    /// Its visitor id belongs to no identity on the device (purged, erased).
    UnknownIdentity,
    /// Its visitor id reached its 13 months, or is dated in the future.
    IdentityExpired,
    /// The mode in force no longer lets its class of hit out: consent
    /// withdrawn or lapsed for a hit tracked with consent, an opt-out or a
    /// refusal for an identified hit.
    ModeNotInForce,
    /// A mode the configuration no longer defines, or a malformed row.
    Malformed,
    /// An event the mode it was tracked in does not send.
    EventNotAllowed,
    /// A property the mode it was tracked in does not let out (or an
    /// identifying name without consent, or a purpose not consented to).
    PropertyNotAllowed,
    /// An identifying value without consent.
    IdentifyingValue,
    /// Something per visitor (the purpose answers) on a hit without consent,
    /// or a value outside the SDK's closed sets on an anonymous hit.
    PerVisitorWithoutConsent,
    /// Older than the configured collector accepts (Matomo counts an action
    /// older than 24 hours invalid, without saying which).
    TooOldForCollector,
}

impl EgressReason {
    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            EgressReason::OtherSite => "other_site",
            EgressReason::DryRun => "dry_run",
            EgressReason::UnknownIdentity => "unknown_identity",
            EgressReason::IdentityExpired => "identity_expired",
            EgressReason::ModeNotInForce => "mode_not_in_force",
            EgressReason::Malformed => "malformed",
            EgressReason::EventNotAllowed => "event_not_allowed",
            EgressReason::PropertyNotAllowed => "property_not_allowed",
            EgressReason::IdentifyingValue => "identifying_value",
            EgressReason::PerVisitorWithoutConsent => "per_visitor_without_consent",
            EgressReason::TooOldForCollector => "too_old_for_collector",
        }
    }
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
    /// The collector acknowledged a request but counted fewer hits than it
    /// was sent, or found some invalid (Matomo's `{"tracked":n,"invalid":m}`):
    /// the hits are not resent (they are deleted as delivered), and what the
    /// collector lost is told here.
    CollectorMiscounted {
        /// Hits in the request.
        sent: u64,
        /// Hits the collector says it recorded.
        tracked: u64,
        /// Hits it says were invalid.
        invalid: u64,
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
    /// The egress gate, re-checking each hit at send time, held these hits
    /// back and deleted them: they never leave. With the track-time filter
    /// working this never happens; it is the second line.
    HeldAtEgress {
        /// Why.
        reason: EgressReason,
        /// The hits' `event_id`s.
        event_ids: Vec<String>,
    },
    /// A request of consent receipts or of consent statistics went to the
    /// consent endpoint (or was held back by its send-time check: `held`
    /// says why, and it is never sent).
    ConsentSent {
        /// `receipts` or `statistics`.
        kind: String,
        /// Receipts, or rows of counts, in the request.
        count: u64,
        /// The endpoint's HTTP status; `None` when none came or when held.
        status: Option<u16>,
        /// Why the send-time check held it back.
        held: Option<String>,
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
    /// The state to show (a settings screen's): at the start's end, after
    /// every mode or purpose change (right after `on_mode_changed`), when
    /// the start fails and when the SDK stops. The wrappers adapt it to
    /// their observable types and keep no state of their own.
    fn on_state(&self, _state: &SdkState) {}
    /// Something was held back, refused, sent, or went wrong.
    fn on_diagnostic(&self, _diagnostic: &Diagnostic) {}
}

/// Whether the SDK runs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RunState {
    /// The storage thread opens the store; calls wait in the start queue.
    Starting,
    /// The store is open and the start queue applied.
    Running,
    /// The start failed (the directory is another process's or site's):
    /// calls are refused, waiting calls answer this error.
    Failed(SdkError),
    /// Closed: calls are refused.
    Closed,
}

/// The state the core publishes ([`Listener::on_state`]): everything a
/// settings screen shows, in one record, written once here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdkState {
    /// The visitor mode in force.
    pub mode: VisitorMode,
    /// Every configured purpose's mode (audience measurement always).
    pub purposes: BTreeMap<String, PurposeMode>,
    /// An opt-in lapsed: ask for consent again.
    pub consent_renewal_needed: bool,
    /// The epoch of the last change ([`ModeChange::epoch`]): a state with a
    /// lower epoch is older.
    pub epoch: u64,
    /// Whether the SDK runs.
    pub run: RunState,
}

impl SdkState {
    pub(crate) fn of(status: &ModeStatus, run: RunState) -> SdkState {
        SdkState {
            mode: status.mode.clone(),
            purposes: status.purposes.clone(),
            consent_renewal_needed: status.consent_renewal_needed,
            epoch: status.epoch,
            run,
        }
    }

    /// The running state after `change`.
    pub(crate) fn after(change: &ModeChange) -> SdkState {
        SdkState {
            mode: change.current.clone(),
            purposes: change.purposes.clone(),
            consent_renewal_needed: change.consent_renewal_needed,
            epoch: change.epoch,
            run: RunState::Running,
        }
    }
}

/// An id as the logs show it: a fixed id (`opt-out`, `Consent-NO`,
/// `no-storage`) whole, an app-scoped one by its first four characters
/// (65 536 values: enough to tell two apart in one session, not to find a
/// visitor in the collector's data).
pub fn short_id(id: &str) -> String {
    if crate::mode::FIXED_VISITOR_IDS.contains(&id) {
        id.to_owned()
    } else {
        format!("{}…", id.chars().take(4).collect::<String>())
    }
}

impl Diagnostic {
    /// The line the wrappers' debug logs print: one line, prefixed with the
    /// site, names and codes only, never a property value; an app-scoped id
    /// shortened ([`short_id`]). Written once here, for every platform.
    pub fn log_line(&self, site: &str) -> String {
        let body = match self {
            Diagnostic::Dropped { mode, dropped } => {
                let verb = match dropped.reason {
                    DropReason::Truncated => "cut",
                    DropReason::IdentifyingValue { masked: true, .. } => "masked",
                    _ => "held back",
                };
                let what = match &dropped.property {
                    Some(p) => format!("property \"{p}\" {verb}"),
                    None => format!("event {verb}"),
                };
                format!("{}: {what} in mode {mode}: {} ({})", dropped.event, dropped.reason.explain(), dropped.reason.code())
            }
            Diagnostic::Backpressure { dropped } => format!("{dropped} track call(s) refused: the hand-off to storage was full"),
            Diagnostic::QueueTrimmed { cause, dropped } => format!("{dropped} queued hit(s) removed ({})", cause.code()),
            Diagnostic::HitsRejected { status, count } => format!("the collector refused {count} hit(s) (HTTP {status}): dropped"),
            Diagnostic::CollectorMiscounted { sent, tracked, invalid } => {
                format!("the collector acknowledged {sent} hit(s) but recorded {tracked} and found {invalid} invalid")
            }
            Diagnostic::UploadDeferred { hits, cause, retry_in_ms } => {
                format!("upload of {hits} hit(s) deferred ({cause}); next attempt in {retry_in_ms} ms")
            }
            Diagnostic::StorageError { message } => format!("storage error: {message}"),
            Diagnostic::StorageRecovered { reason } => format!("the database was recreated: {reason}"),
            Diagnostic::DiagnosticsDropped { dropped } => format!("{dropped} diagnostic(s) dropped: the listener was too slow"),
            Diagnostic::TrackRefused { event, error } => format!("refused event \"{event}\": {error} ({})", error.code()),
            Diagnostic::HeldAtEgress { reason, event_ids } => {
                format!("the egress gate held back {} hit(s) at send time ({})", event_ids.len(), reason.code())
            }
            Diagnostic::ConsentSent { kind, count, status, held } => match (held, status) {
                (Some(why), _) => format!("consent {kind}: {count} held back by the send-time check ({why}), never sent"),
                (None, Some(s)) => format!("consent {kind}: {count} sent to the consent endpoint (HTTP {s})"),
                (None, None) => format!("consent {kind}: {count} sent to the consent endpoint (no answer)"),
            },
            Diagnostic::Sent { idclient, hits, status, dry_run } => {
                let how = match (dry_run, status) {
                    (true, _) => "dry run, nothing left the device".to_owned(),
                    (false, Some(s)) => format!("HTTP {s}"),
                    (false, None) => "no answer".to_owned(),
                };
                let events: Vec<String> = hits.iter().map(|h| format!("{} [{}]", h.event, h.keys.join(", "))).collect();
                format!("sent {} hit(s) for idclient {} ({how}): {}", hits.len(), short_id(idclient), events.join("; "))
            }
        };
        format!("[mesure {site}] {body}")
    }
}

impl crate::mode::ModeChange {
    /// The debug-log line of a change of mode or of purposes (see
    /// [`Diagnostic::log_line`]).
    pub fn log_line(&self, site: &str) -> String {
        let renewal = if self.consent_renewal_needed { ", consent renewal needed" } else { "" };
        let why = format!("{}, epoch {}{renewal}", self.reason.code(), self.epoch);
        if self.previous == self.current {
            let purposes: Vec<String> = self.purposes.iter().map(|(p, m)| format!("{p} {}", m.wire_name())).collect();
            format!("[mesure {site}] purposes in mode {}: {} ({why})", self.current, purposes.join(", "))
        } else {
            format!("[mesure {site}] visitor mode {} -> {} ({why})", self.previous, self.current)
        }
    }
}

impl SdkState {
    /// The debug-log line of a published state: the start's end, its
    /// failure, the stop (a change's state repeats its `ModeChange` line:
    /// the wrappers log that one).
    pub fn log_line(&self, site: &str) -> String {
        match &self.run {
            RunState::Starting => format!("[mesure {site}] starting"),
            RunState::Running => format!("[mesure {site}] running in mode {} (epoch {})", self.mode, self.epoch),
            RunState::Failed(e) => format!("[mesure {site}] did not start: {e}"),
            RunState::Closed => format!("[mesure {site}] closed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_shorten_ids_and_never_carry_values() {
        let id = "7b7c5a52-2f0d-4f7a-9a4e-0d1f3c2b1a00";
        let sent = Diagnostic::Sent {
            idclient: id.into(),
            hits: vec![SentHit { event_id: "e".into(), event: "page.display".into(), keys: vec!["page".into()] }],
            status: Some(200),
            dry_run: false,
        };
        let line = sent.log_line("42");
        assert_eq!(line, "[mesure 42] sent 1 hit(s) for idclient 7b7c… (HTTP 200): page.display [page]");
        assert!(!line.contains(id) && !line.contains('\n'));
        let fixed = Diagnostic::Sent { idclient: "opt-out".into(), hits: vec![], status: None, dry_run: true };
        assert!(fixed.log_line("42").contains("idclient opt-out (dry run"));
        let masked = Diagnostic::Dropped {
            mode: "exempt".into(),
            dropped: Dropped {
                event: "page.display".into(),
                property: Some("page".into()),
                reason: DropReason::IdentifyingValue { found: "email", masked: true },
            },
        };
        assert_eq!(
            masked.log_line("42"),
            "[mesure 42] page.display: property \"page\" masked in mode exempt: the value held an identifying value (email), masked: no consent was given (identifying_value)"
        );
    }

    #[test]
    fn a_purposes_change_is_not_a_mode_change() {
        use crate::mode::{ModeChange, ModeChangeReason, PurposeMode, VisitorMode};
        let change = ModeChange {
            previous: VisitorMode::OptIn,
            current: VisitorMode::OptIn,
            at_ms: 0,
            reason: ModeChangeReason::SetByApp,
            consent_renewal_needed: false,
            purposes: [("advertising".to_owned(), PurposeMode::OptOut)].into(),
            epoch: 3,
        };
        assert_eq!(change.log_line("42"), "[mesure 42] purposes in mode optin: advertising opt-out (set_by_app, epoch 3)");
        let change = ModeChange { previous: VisitorMode::Exempt, ..change };
        assert_eq!(change.log_line("42"), "[mesure 42] visitor mode exempt -> optin (set_by_app, epoch 3)");
    }
}
