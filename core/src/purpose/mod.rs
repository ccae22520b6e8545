//! Consent by purpose, on top of the visitor modes.
//!
//! A consent-management platform answers per purpose: audience measurement,
//! advertising, content personalisation... Each configured purpose has a
//! mode ([`PurposeMode`]); each property belongs to at most one purpose
//! (the strictly necessary set to audience measurement, the others by the
//! configuration's patterns). The visitor mode follows audience measurement:
//! opt-in is `optin`, essential is `exempt` (or the exempt-derived default),
//! opt-out is `optout`, not acquired is `no-consent`.
//!
//! The rules that make it safe:
//!
//! - **A purpose never set never reads as opt-in.** Unset purposes read as
//!   the visitor mode in force implies, opt-in excepted: under `optin` a
//!   purpose the visitor was never asked about (added by an app update)
//!   reads `not-acquired`. Piano reads unset purposes as opt-in once any
//!   purpose is set; Mesure does not.
//! - **Other purposes ride only on a consented stream.** A purpose's
//!   properties leave only when audience measurement is opt-in too: the
//!   exempt stream carries the strictly necessary set and nothing else
//!   (CNIL 2020-091 §51: no cross-referencing).
//! - **A property with no purpose never leaves on a purpose's consent**:
//!   only a consent to every purpose (`optin`) lets it out.
//! - Each opt-in lapses like consent does (6 months), with the renewal signal.
//!
//! Both ways: `optin` is every purpose opt-in; `exempt` is audience
//! measurement essential and every other purpose opt-out; `optout` is every
//! purpose opt-out; `no-consent` is every purpose not acquired. Any other
//! combination keeps the visitor mode of audience measurement, and its hits
//! carry `visitor_privacy_purposes` (see [`PurposeState::wire`]); an app that
//! only sets modes sees no change on the wire.

use std::collections::BTreeMap;

use crate::clock::EpochMillis;
pub use crate::mode::PurposeMode;
use crate::mode::VisitorMode;

mod filter;
pub(crate) use filter::purposes_wire;
pub use filter::{Overlap, PurposeBook, PurposeFilter};

/// The built-in purpose of the exemption; always present.
pub const AUDIENCE_MEASUREMENT: &str = "audience_measurement";

/// A purpose's answer and when it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PurposeChoice {
    /// The answer.
    pub mode: PurposeMode,
    /// When it was given.
    pub since_ms: EpochMillis,
}

/// What an unset purpose reads as under `mode` (never opt-in).
pub(crate) fn unset_reads_as(mode: &VisitorMode, purpose: &str) -> PurposeMode {
    let am = purpose == AUDIENCE_MEASUREMENT;
    match mode {
        VisitorMode::Exempt | VisitorMode::Custom(_) if am => PurposeMode::Essential,
        VisitorMode::Exempt | VisitorMode::Custom(_) | VisitorMode::OptOut => PurposeMode::OptOut,
        VisitorMode::OptIn | VisitorMode::NoConsent | VisitorMode::NoStorage => PurposeMode::NotAcquired,
    }
}

/// What a purpose reads as when a visitor mode itself is the answer
/// (`set_mode`, `set_consent`, `set_opted_out`): the expansion of that mode.
/// `None`: the mode answers nothing for this purpose, its answer stays
/// (no-storage is a consent to measurement without storage: it answers
/// audience measurement, and every other purpose keeps its own answer, so a
/// refused purpose stays refused).
pub(crate) fn mode_answers(mode: &VisitorMode, purpose: &str) -> Option<PurposeMode> {
    match mode {
        VisitorMode::OptIn => Some(PurposeMode::OptIn),
        VisitorMode::NoStorage if purpose == AUDIENCE_MEASUREMENT => Some(PurposeMode::OptIn),
        VisitorMode::NoStorage => None,
        other => Some(unset_reads_as(other, purpose)),
    }
}

/// The purposes as they stand: every configured purpose with its mode.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PurposeState {
    /// Configured purposes, audience measurement first, in configuration order.
    pub modes: Vec<(String, PurposeMode)>,
    /// Whether the combination is one a visitor mode stands for exactly
    /// (then hits carry nothing more than their mode).
    pub canonical: bool,
}

impl PurposeState {
    /// The mode of `purpose`.
    pub fn mode_of(&self, purpose: &str) -> Option<PurposeMode> {
        self.modes.iter().find(|(p, _)| p == purpose).map(|(_, m)| *m)
    }

    /// As a map, for the API.
    pub fn to_map(&self) -> BTreeMap<String, PurposeMode> {
        self.modes.iter().cloned().collect()
    }

    /// `visitor_privacy_purposes` on the wire: `["advertising:opt-out",
    /// "audience_measurement:opt-in", ...]`, sorted by purpose; `None` when
    /// the combination is a visitor mode's (the hit's mode says it all).
    pub fn wire(&self) -> Option<Vec<String>> {
        if self.canonical {
            return None;
        }
        let mut v: Vec<String> = self.modes.iter().map(|(p, m)| format!("{p}:{}", m.wire_name())).collect();
        v.sort();
        Some(v)
    }
}

/// The visitor mode a purpose combination stands for exactly, if one does.
fn canonical_mode(modes: &[(String, PurposeMode)], default_exempt: &VisitorMode) -> Option<VisitorMode> {
    let all = |m: PurposeMode| modes.iter().all(|(_, x)| *x == m);
    if all(PurposeMode::OptIn) {
        return Some(VisitorMode::OptIn);
    }
    if all(PurposeMode::OptOut) {
        return Some(VisitorMode::OptOut);
    }
    if all(PurposeMode::NotAcquired) {
        return Some(VisitorMode::NoConsent);
    }
    let exempt = modes.iter().all(|(p, m)| if p == AUDIENCE_MEASUREMENT { *m == PurposeMode::Essential } else { *m == PurposeMode::OptOut });
    exempt.then(|| default_exempt.clone())
}

/// The visitor mode audience measurement's answer puts in force.
/// `current`: the mode before, kept when it already fits (a custom mode
/// under essential, no-storage under opt-in: a consent to measurement says
/// nothing of storage); `default`: the configured default mode.
pub(crate) fn visitor_mode_for(am: PurposeMode, current: &VisitorMode, default: &VisitorMode) -> VisitorMode {
    match am {
        PurposeMode::OptIn if *current == VisitorMode::NoStorage => VisitorMode::NoStorage,
        PurposeMode::OptIn => VisitorMode::OptIn,
        PurposeMode::OptOut => VisitorMode::OptOut,
        PurposeMode::NotAcquired => VisitorMode::NoConsent,
        PurposeMode::Essential => match (current, default) {
            (VisitorMode::Exempt | VisitorMode::Custom(_), _) => current.clone(),
            (_, VisitorMode::Exempt | VisitorMode::Custom(_)) => default.clone(),
            _ => VisitorMode::Exempt,
        },
    }
}

/// Every configured purpose's mode: its explicit answer if it has one, else
/// what the visitor mode in force implies for an unset purpose.
pub(crate) fn resolve(purposes: &[String], set: &BTreeMap<String, PurposeChoice>, mode: &VisitorMode) -> PurposeState {
    let modes: Vec<(String, PurposeMode)> =
        purposes.iter().map(|p| (p.clone(), set.get(p).map_or_else(|| unset_reads_as(mode, p), |c| c.mode))).collect();
    // No-storage with every purpose consented is no change on the wire.
    let canonical = canonical_mode(&modes, mode).is_some_and(|m| &m == mode)
        || (matches!(mode, VisitorMode::NoStorage) && modes.iter().all(|(_, m)| *m == PurposeMode::OptIn));
    PurposeState { modes, canonical }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn purposes() -> Vec<String> {
        vec![AUDIENCE_MEASUREMENT.into(), "advertising".into(), "personalisation".into()]
    }

    fn set(pairs: &[(&str, PurposeMode)]) -> BTreeMap<String, PurposeChoice> {
        pairs.iter().map(|(p, m)| ((*p).to_owned(), PurposeChoice { mode: *m, since_ms: 0 })).collect()
    }

    #[test]
    fn each_visitor_mode_is_a_combination_and_back() {
        use PurposeMode::*;
        for (mode, expected) in [
            (VisitorMode::OptIn, [OptIn, OptIn, OptIn]),
            (VisitorMode::Exempt, [Essential, OptOut, OptOut]),
            (VisitorMode::OptOut, [OptOut, OptOut, OptOut]),
            (VisitorMode::NoConsent, [NotAcquired, NotAcquired, NotAcquired]),
        ] {
            let answers: BTreeMap<String, PurposeChoice> =
                purposes().iter().filter_map(|p| mode_answers(&mode, p).map(|m| (p.clone(), PurposeChoice { mode: m, since_ms: 0 }))).collect();
            let state = resolve(&purposes(), &answers, &mode);
            assert_eq!(state.modes.iter().map(|(_, m)| *m).collect::<Vec<_>>(), expected, "{mode}");
            assert!(state.canonical, "{mode}: no wire change");
            assert_eq!(canonical_mode(&state.modes, &VisitorMode::Exempt), Some(mode.clone()), "{mode} back");
        }
    }

    #[test]
    fn an_unset_purpose_never_reads_as_opt_in() {
        for mode in [VisitorMode::OptIn, VisitorMode::Exempt, VisitorMode::OptOut, VisitorMode::NoConsent, VisitorMode::NoStorage] {
            for p in purposes() {
                assert_ne!(unset_reads_as(&mode, &p), PurposeMode::OptIn, "{mode} {p}");
            }
        }
        // Opt-in on two purposes, the third never asked: not `optin`.
        let s = resolve(&purposes(), &set(&[(AUDIENCE_MEASUREMENT, PurposeMode::OptIn), ("advertising", PurposeMode::OptIn)]), &VisitorMode::OptIn);
        assert_eq!(s.mode_of("personalisation"), Some(PurposeMode::NotAcquired));
        assert!(!s.canonical);
        assert_eq!(s.wire().unwrap(), ["advertising:opt-in", "audience_measurement:opt-in", "personalisation:not-acquired"]);
    }

    #[test]
    fn audience_measurement_decides_the_visitor_mode() {
        let ex = VisitorMode::Exempt;
        assert_eq!(visitor_mode_for(PurposeMode::OptIn, &ex, &ex), VisitorMode::OptIn);
        assert_eq!(visitor_mode_for(PurposeMode::Essential, &VisitorMode::OptIn, &ex), VisitorMode::Exempt);
        let custom = VisitorMode::Custom("plus".into());
        assert_eq!(visitor_mode_for(PurposeMode::Essential, &custom, &ex), custom);
        assert_eq!(visitor_mode_for(PurposeMode::OptOut, &ex, &ex), VisitorMode::OptOut);
        assert_eq!(visitor_mode_for(PurposeMode::NotAcquired, &ex, &ex), VisitorMode::NoConsent);
    }
}
