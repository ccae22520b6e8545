//! Visitor modes, the record of the visitor's choice, and its expiry.
//!
//! An opt-in choice lasts the configured consent lifetime (6 calendar months by
//! default: CNIL recommendations 2020-092, art. 2, "conservation des choix",
//! seed 002); then the SDK returns to the configured default mode, never to
//! opt-in, and reports that consent must be asked again. An opt-out never
//! expires by itself.

use std::collections::BTreeMap;

use crate::clock::{add_calendar_months, dated_in_the_past, EpochMillis};

/// Visitor id sent in opt-out (when anonymous opt-out hits are enabled).
pub const OPT_OUT_VISITOR_ID: &str = "opt-out";
/// Visitor id sent in no-consent.
pub const NO_CONSENT_VISITOR_ID: &str = "Consent-NO";
/// Visitor id sent in no-storage.
pub const NO_STORAGE_VISITOR_ID: &str = "no-storage";
/// The fixed, non-identifying visitor ids. A queued hit carrying anything
/// else carries a real, app-scoped identifier.
pub const FIXED_VISITOR_IDS: [&str; 3] = [OPT_OUT_VISITOR_ID, NO_CONSENT_VISITOR_ID, NO_STORAGE_VISITOR_ID];

/// A visitor mode.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VisitorMode {
    /// Consent given: every valid property and event, app-scoped id.
    OptIn,
    /// No consent asked: only strictly necessary data, app-scoped id (CNIL exemption).
    Exempt,
    /// The visitor objected: nothing, or anonymous counters with visitor id `opt-out`.
    OptOut,
    /// Consent refused through a CMP: minimal anonymous hits, visitor id
    /// `Consent-NO`; nothing stored but the choice and the queued hits.
    NoConsent,
    /// Consent given to measurement, not to storing an identifier: every
    /// valid property and event (within the purposes answered), visitor id
    /// `no-storage`; nothing stored but the choice and the queued hits.
    /// Needs consent: never a default.
    NoStorage,
    /// A controller-defined mode derived from exempt, with its own allowlist.
    Custom(String),
}

impl VisitorMode {
    /// The value of `visitor_privacy_mode` on the wire (Piano Analytics names).
    pub fn wire_name(&self) -> &str {
        match self {
            VisitorMode::OptIn => "optin",
            VisitorMode::Exempt => "exempt",
            VisitorMode::OptOut => "optout",
            VisitorMode::NoConsent => "no-consent",
            VisitorMode::NoStorage => "no-storage",
            VisitorMode::Custom(name) => name,
        }
    }

    /// Parses a mode name. Built-in names are recognised in both spellings
    /// (`optin`/`opt-in`); any other name is taken as a custom mode, which the
    /// SDK checks against its configuration.
    pub fn parse(name: &str) -> VisitorMode {
        match name {
            "optin" | "opt-in" => VisitorMode::OptIn,
            "exempt" => VisitorMode::Exempt,
            "optout" | "opt-out" => VisitorMode::OptOut,
            "no-consent" => VisitorMode::NoConsent,
            "no-storage" => VisitorMode::NoStorage,
            other => VisitorMode::Custom(other.to_owned()),
        }
    }

    /// `visitor_privacy_consent`: true only in opt-in.
    pub fn consent(&self) -> bool {
        matches!(self, VisitorMode::OptIn)
    }

    /// Whether the mode carries every property the app tags, and so needs
    /// the visitor's consent: opt-in, and no-storage (everything, without an
    /// identifier on the device). Never a default; leaving it purges what it
    /// queued (a withdrawal is effective, CNIL 2020-092 art. 3).
    pub fn requires_consent(&self) -> bool {
        matches!(self, VisitorMode::OptIn | VisitorMode::NoStorage)
    }

    /// Whether hits carry only values the SDK itself produces (opt-out
    /// counters, no-consent): never the app's properties, never an id.
    pub fn anonymous(&self) -> bool {
        matches!(self, VisitorMode::OptOut | VisitorMode::NoConsent)
    }

    /// Whether the app-scoped identifier may exist on the device in this mode.
    pub fn stores_visitor_id(&self) -> bool {
        matches!(self, VisitorMode::OptIn | VisitorMode::Exempt | VisitorMode::Custom(_))
    }

    /// The fixed visitor id of the anonymous modes.
    pub fn fixed_visitor_id(&self) -> Option<&'static str> {
        match self {
            VisitorMode::OptOut => Some(OPT_OUT_VISITOR_ID),
            VisitorMode::NoConsent => Some(NO_CONSENT_VISITOR_ID),
            VisitorMode::NoStorage => Some(NO_STORAGE_VISITOR_ID),
            _ => None,
        }
    }
}

impl std::fmt::Display for VisitorMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.wire_name())
    }
}

/// A purpose's mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PurposeMode {
    /// Consent given for this purpose.
    OptIn,
    /// Strictly necessary only (the CNIL exemption): meaningful for audience
    /// measurement; for any other purpose it sends nothing of it.
    Essential,
    /// The visitor refused this purpose.
    OptOut,
    /// No answer yet (the consent-management platform has none).
    NotAcquired,
}

impl PurposeMode {
    /// The name on the wire and in configurations.
    pub fn wire_name(self) -> &'static str {
        match self {
            PurposeMode::OptIn => "opt-in",
            PurposeMode::Essential => "essential",
            PurposeMode::OptOut => "opt-out",
            PurposeMode::NotAcquired => "not-acquired",
        }
    }

    /// Parses a wire name (`opt-in`, `essential`, `opt-out`, `not-acquired`).
    pub fn parse(name: &str) -> Option<PurposeMode> {
        match name {
            "opt-in" | "optin" => Some(PurposeMode::OptIn),
            "essential" | "exempt" => Some(PurposeMode::Essential),
            "opt-out" | "optout" => Some(PurposeMode::OptOut),
            "not-acquired" | "no-consent" => Some(PurposeMode::NotAcquired),
            _ => None,
        }
    }
}

/// Why the mode changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModeChangeReason {
    /// The app called `set_mode`.
    SetByApp,
    /// The opt-in choice reached its lifetime: back to the default mode.
    ConsentExpired,
    /// The app deleted all local data.
    LocalDataDeleted,
}

impl ModeChangeReason {
    /// Stable code, as stored and exported.
    pub fn code(self) -> &'static str {
        match self {
            ModeChangeReason::SetByApp => "set_by_app",
            ModeChangeReason::ConsentExpired => "consent_expired",
            ModeChangeReason::LocalDataDeleted => "local_data_deleted",
        }
    }
    /// The reason of a stored code.
    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "set_by_app" => Some(ModeChangeReason::SetByApp),
            "consent_expired" => Some(ModeChangeReason::ConsentExpired),
            "local_data_deleted" => Some(ModeChangeReason::LocalDataDeleted),
            _ => None,
        }
    }
}

/// A mode and when it took effect, as persisted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModeRecord {
    /// The mode.
    pub mode: VisitorMode,
    /// When it took effect.
    pub since_ms: EpochMillis,
    /// Why.
    pub reason: ModeChangeReason,
}

/// A change of mode, reported to the listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModeChange {
    /// The mode before.
    pub previous: VisitorMode,
    /// The mode now in force.
    pub current: VisitorMode,
    /// When it changed.
    pub at_ms: EpochMillis,
    /// Why it changed.
    pub reason: ModeChangeReason,
    /// True when an opt-in expired: the app should ask for consent again.
    pub consent_renewal_needed: bool,
    /// Every configured purpose's mode after the change.
    pub purposes: BTreeMap<String, PurposeMode>,
    /// Increases with every change of mode (and erasure) of this SDK
    /// instance: a state with a lower epoch is older. Platform wrappers that
    /// publish the mode from several threads keep the highest.
    pub epoch: u64,
}

/// The mode in force, for a settings screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModeStatus {
    /// The mode in force.
    pub mode: VisitorMode,
    /// When the mode took effect; `None` when it is the configured default
    /// and no choice is recorded.
    pub since_ms: Option<EpochMillis>,
    /// When an opt-in choice lapses.
    pub consent_expires_at_ms: Option<EpochMillis>,
    /// The current mode results from an expired consent: ask again.
    pub consent_renewal_needed: bool,
    /// Every configured purpose's mode (audience measurement always).
    pub purposes: BTreeMap<String, PurposeMode>,
    /// The epoch of the last change ([`ModeChange::epoch`]); 0 before any.
    pub epoch: u64,
}

/// The instant an opt-in choice set at `since_ms` lapses (inclusive: at that
/// instant the choice is no longer valid). `None` when that instant cannot be
/// represented: such a consent is already lapsed (fail closed).
pub fn consent_expiry(since_ms: EpochMillis, lifetime_months: u32) -> Option<EpochMillis> {
    add_calendar_months(since_ms, lifetime_months)
}

/// When an opt-in given at `since_ms` lapsed, if it has by `now`: at its
/// expiry; at once when the expiry cannot be represented; and at once when
/// the choice is dated in the future (beyond [`crate::clock::FUTURE_TOLERANCE_MS`]), i.e.
/// it was recorded while the clock ran ahead. `None` while it holds.
pub fn consent_lapse(since_ms: EpochMillis, lifetime_months: u32, now: EpochMillis) -> Option<EpochMillis> {
    if !dated_in_the_past(since_ms, now) {
        return Some(now);
    }
    match consent_expiry(since_ms, lifetime_months) {
        Some(expiry) if now < expiry => None,
        Some(expiry) => Some(expiry),
        None => Some(now.min(since_ms)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for m in [
            VisitorMode::OptIn,
            VisitorMode::Exempt,
            VisitorMode::OptOut,
            VisitorMode::NoConsent,
            VisitorMode::NoStorage,
            VisitorMode::Custom("audience_plus".into()),
        ] {
            assert_eq!(VisitorMode::parse(m.wire_name()), m);
        }
        assert_eq!(VisitorMode::parse("opt-in"), VisitorMode::OptIn);
        assert_eq!(VisitorMode::parse("opt-out"), VisitorMode::OptOut);
    }

    #[test]
    fn only_opt_in_consents_and_only_identified_modes_store_an_id() {
        assert!(VisitorMode::OptIn.consent());
        assert!(!VisitorMode::Exempt.consent());
        assert!(!VisitorMode::Custom("x".into()).consent());
        assert!(VisitorMode::Exempt.stores_visitor_id());
        assert!(!VisitorMode::OptOut.stores_visitor_id());
        assert!(!VisitorMode::NoConsent.stores_visitor_id());
        assert!(!VisitorMode::NoStorage.stores_visitor_id());
    }
}
