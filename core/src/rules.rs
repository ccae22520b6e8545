//! Per-mode filtering rules. Built once from the configuration, immutable,
//! shared by every tracking thread.
//!
//! Rules are keyed by event-name patterns (`page.*`, `click_*`, `*`) and
//! merged across every pattern that matches the event: a property is kept
//! when some matching *allowed* rule names it and no matching *forbidden* rule
//! does (allowed first, then forbidden).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::Serialize;

use crate::clock::EpochMillis;
use crate::config::{AllowedProperty, Config, CustomMode, PropertyRule};
use crate::diagnostics::{DropReason, Dropped};
use crate::hit::{events, json_len, reserved, Context, Hit, Value, MAX_CONTEXT_PROPERTIES, MAX_HIT_BYTES};
use crate::identifying::is_identifying;
use crate::mode::VisitorMode;
use crate::pattern::{NameSet, Pattern};
use crate::purpose::{PurposeBook, PurposeFilter};
use crate::scrub::{self, Finding, TextKind};

/// Names allowed (or forbidden) for events matching `events`.
#[derive(Debug, Clone)]
struct Scoped {
    events: Pattern,
    names: NameSet,
}

fn scoped_add(list: &mut Vec<Scoped>, events: &str, name: &str) {
    if let Some(s) = list.iter_mut().find(|s| s.events.as_str() == events) {
        s.names.add(name);
    } else {
        let mut names = NameSet::default();
        names.add(name);
        list.push(Scoped { events: Pattern::new(events), names });
    }
}

/// Where an allowed property comes from, for the compliance report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PropertyEntry {
    /// The events it may leave with (a pattern: `*`, `page.*`, an exact name).
    pub events: String,
    /// The property's name.
    pub property: String,
    /// The reason it may leave the device: a default's source, or the controller's justification.
    pub justification: String,
    /// Added by the app's configuration (an exempt allowlist entry), not one of the SDK's defaults.
    pub added_by_controller: bool,
}

/// The rules of one visitor mode.
#[derive(Debug, Clone)]
pub struct ModeRules {
    pub mode: VisitorMode,
    /// `mode.wire_name()`, shared by every hit of this mode.
    pub wire: Arc<str>,
    /// `mode.fixed_visitor_id()`, shared likewise.
    pub fixed_visitor: Option<Arc<str>>,
    /// False in opt-out unless anonymous opt-out hits are enabled.
    pub sends_hits: bool,
    /// False in the anonymous modes: their hits carry only values the SDK
    /// owns (the device context, the timestamp), never the app's, whatever
    /// their names.
    pub takes_app_properties: bool,
    allowed_events: NameSet,
    forbidden_events: NameSet,
    allowed: Vec<Scoped>,
    forbidden: Vec<Scoped>,
    /// Report view of the rules above.
    pub event_patterns: Vec<String>,
    pub property_entries: Vec<PropertyEntry>,
    pub forbidden_patterns: Vec<String>,
    pub forbidden_event_patterns: Vec<String>,
}

impl ModeRules {
    fn new(mode: VisitorMode, sends_hits: bool) -> Self {
        ModeRules {
            wire: Arc::from(mode.wire_name()),
            fixed_visitor: mode.fixed_visitor_id().map(Arc::from),
            mode,
            sends_hits,
            takes_app_properties: true,
            allowed_events: NameSet::default(),
            forbidden_events: NameSet::default(),
            allowed: Vec::new(),
            forbidden: Vec::new(),
            event_patterns: Vec::new(),
            property_entries: Vec::new(),
            forbidden_patterns: Vec::new(),
            forbidden_event_patterns: Vec::new(),
        }
    }

    fn allow_event(&mut self, pattern: &str) {
        self.allowed_events.add(pattern);
        self.event_patterns.push(pattern.to_owned());
    }

    fn allow(&mut self, events: &str, property: &str, justification: &str, by_controller: bool) {
        scoped_add(&mut self.allowed, events, property);
        self.property_entries.push(PropertyEntry {
            events: events.to_owned(),
            property: property.to_owned(),
            justification: justification.to_owned(),
            added_by_controller: by_controller,
        });
    }

    fn forbid_event(&mut self, pattern: &str) {
        self.forbidden_events.add(pattern);
        self.forbidden_event_patterns.push(pattern.to_owned());
    }

    fn forbid(&mut self, events: &str, property: &str) {
        scoped_add(&mut self.forbidden, events, property);
        self.forbidden_patterns.push(if events == "*" { property.to_owned() } else { format!("{property} (events {events})") });
    }

    /// Whether an event may leave the device in this mode.
    pub fn event_verdict(&self, event: &str) -> Result<(), DropReason> {
        if !self.sends_hits {
            return Err(DropReason::OptOutSendsNothing);
        }
        if self.forbidden_events.contains(event) {
            Err(DropReason::EventForbiddenByRule)
        } else if self.allowed_events.contains(event) {
            Ok(())
        } else {
            Err(DropReason::EventNotAllowedInMode)
        }
    }

    /// Whether a property may leave the device with `event` in this mode.
    pub fn property_verdict(&self, event: &str, property: &str) -> Result<(), DropReason> {
        let allowed = self.allowed.iter().any(|s| s.names.contains(property) && s.events.matches(event));
        if !allowed {
            return Err(DropReason::NotAllowedInMode);
        }
        let forbidden = self.forbidden.iter().any(|s| s.names.contains(property) && s.events.matches(event));
        if forbidden {
            Err(DropReason::ForbiddenByRule)
        } else {
            Ok(())
        }
    }
}

/// Which parts of an event leave the device in one mode (see [`ModeRules::select`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    /// Bit `i`: context entry `i` is sent.
    pub context_mask: u64,
    /// One flag per app property, in key order: sent or not.
    pub keep: Vec<bool>,
    /// Whether `device_timestamp_utc` is sent.
    pub timestamp: bool,
    /// The app's properties held back, and why.
    pub dropped: Vec<Dropped>,
}

/// How [`ModeRules::build_hit`] filters an event.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Filter<'a> {
    /// The mode's rules; with consent, the purposes in force (if not every
    /// purpose is consented to); without consent, values scrubbed.
    On(Option<&'a PurposeFilter>),
    /// The track-time filter switched off (a test hook, so that the egress
    /// gate is proven to hold alone): the event as tagged, the whole
    /// context, and the purpose answers whatever the mode.
    Off(Option<&'a Arc<str>>),
}

impl ModeRules {
    /// Decides, for one event in this mode, which context entries and which
    /// of the app's properties leave the device. The app's properties win
    /// over context entries of the same name. Context entries a mode does not
    /// allow are left out by design, not reported. Pure: no I/O, no clock.
    pub fn select(&self, event: &str, context: &Context, properties: &BTreeMap<String, Value>, purposes: Option<&PurposeFilter>) -> Selection {
        let mut context_mask = 0u64;
        for (i, (k, _)) in context.entries().enumerate().take(MAX_CONTEXT_PROPERTIES) {
            if self.property_verdict(event, k).is_ok() {
                context_mask |= 1 << i;
            }
        }
        let mut keep = Vec::with_capacity(properties.len());
        let mut dropped = Vec::new();
        for k in properties.keys() {
            let verdict = if self.takes_app_properties {
                self.property_verdict(event, k).and_then(|()| match purposes.map(|p| p.verdict(k)) {
                    Some(Err(purpose)) => Err(DropReason::PurposeNotConsented { purpose: purpose.to_owned() }),
                    _ => Ok(()),
                })
            } else {
                Err(DropReason::NotAllowedInMode)
            };
            match verdict {
                Ok(()) => {
                    keep.push(true);
                    if let Some(i) = context.position(k).filter(|i| *i < MAX_CONTEXT_PROPERTIES) {
                        context_mask &= !(1 << i);
                    }
                }
                Err(reason) => {
                    keep.push(false);
                    dropped.push(Dropped { event: event.to_owned(), property: Some(k.clone()), reason });
                }
            }
        }
        let timestamp = self.property_verdict(event, reserved::DEVICE_TIMESTAMP_UTC).is_ok();
        Selection { context_mask, keep, timestamp, dropped }
    }

    /// Everything: the unfiltered selection of [`Filter::Off`].
    fn select_all(context: &Context, properties: &BTreeMap<String, Value>) -> Selection {
        let entries = context.entries().count().min(MAX_CONTEXT_PROPERTIES);
        let mut context_mask = if entries == 64 { u64::MAX } else { (1u64 << entries) - 1 };
        for k in properties.keys() {
            if let Some(i) = context.position(k).filter(|i| *i < MAX_CONTEXT_PROPERTIES) {
                context_mask &= !(1 << i);
            }
        }
        Selection { context_mask, keep: vec![true; properties.len()], timestamp: true, dropped: Vec::new() }
    }

    /// The hit one event makes in this mode, its wire body, and the app's
    /// properties held back or altered. The properties the mode lets out
    /// move from `properties` into the hit; the others stay there (and so
    /// does the original of a masked value), so a retry under another mode
    /// still has everything the app tagged. Without consent, values are
    /// scrubbed ([`crate::scrub`]): identifying text is masked, identifying
    /// numbers are held back. The hit is kept within [`MAX_HIT_BYTES`]: past
    /// it, the largest of the app's properties are left out, each reported
    /// `too_large`, the strictly necessary ones last. The one constructor of
    /// hits, for `Sdk::track` and [`ModeRules::hit`].
    pub(crate) fn build_hit(
        &self,
        name: String,
        context: &Arc<Context>,
        properties: &mut BTreeMap<String, Value>,
        now: EpochMillis,
        event_id: String,
        filter: Filter<'_>,
    ) -> (Hit, String, Vec<Dropped>) {
        let (selection, purposes) = match filter {
            Filter::On(purposes) => (self.select(&name, context, properties, purposes), purposes.map(|p| p.wire.clone())),
            Filter::Off(wire) => (Self::select_all(context, properties), wire.cloned()),
        };
        let mut kept = Vec::with_capacity(properties.len());
        for ((k, v), keep) in std::mem::take(properties).into_iter().zip(&selection.keep) {
            if *keep {
                kept.push((k, v));
            } else {
                properties.insert(k, v);
            }
        }
        let mut dropped = selection.dropped;
        if matches!(filter, Filter::On(_)) && !self.mode.requires_consent() {
            kept = scrub_values(&name, kept, properties, &mut dropped);
        }
        let mut hit = Hit {
            event_id,
            name,
            mode: self.wire.clone(),
            consent: self.mode.consent(),
            tracked_at_ms: now,
            context: context.clone(),
            context_mask: selection.context_mask,
            timestamp: selection.timestamp,
            purposes,
            properties: kept,
        };
        let mut body = hit.wire_json();
        while body.len() > MAX_HIT_BYTES {
            // The extras first, largest first; the strictly necessary set last.
            let largest = |necessary: bool| {
                hit.properties
                    .iter()
                    .enumerate()
                    .filter(|(_, (k, _))| is_strictly_necessary(k) == necessary)
                    .max_by_key(|(_, (_, v))| json_len(v))
                    .map(|(i, _)| i)
            };
            let Some(i) = largest(false).or_else(|| largest(true)) else { break };
            let (k, v) = hit.properties.remove(i);
            dropped.push(Dropped { event: hit.name.clone(), property: Some(k.clone()), reason: DropReason::TooLarge });
            properties.entry(k).or_insert(v);
            body = hit.wire_json();
        }
        (hit, body, dropped)
    }

    /// The hit `track` would build for one event in this mode (the app's
    /// properties copied, not moved), and the app's properties held back.
    /// For inspection, tests and fuzzing.
    pub fn hit(
        &self,
        event: &str,
        context: &Arc<Context>,
        properties: &BTreeMap<String, Value>,
        now: EpochMillis,
        event_id: &str,
    ) -> (Hit, Vec<Dropped>) {
        let mut properties = properties.clone();
        let (hit, _, dropped) = self.build_hit(event.to_owned(), context, &mut properties, now, event_id.to_owned(), Filter::On(None));
        (hit, dropped)
    }

    /// What leaves the device for one event in this mode, as values
    /// (`visitor_privacy_*` and `event_id` included), and the app's
    /// properties held back.
    pub fn hit_data(
        &self,
        event: &str,
        context: &Arc<Context>,
        properties: &BTreeMap<String, Value>,
        now: EpochMillis,
        event_id: &str,
    ) -> (BTreeMap<String, Value>, Vec<Dropped>) {
        let (hit, dropped) = self.hit(event, context, properties, now, event_id);
        (hit.data(), dropped)
    }
}

/// Scrubs the values of a hit without consent: identifying text masked
/// (the original kept in `held` for a retry), identifying numbers moved
/// to `held`; each reported `identifying_value`.
fn scrub_values(event: &str, kept: Vec<(String, Value)>, held: &mut BTreeMap<String, Value>, dropped: &mut Vec<Dropped>) -> Vec<(String, Value)> {
    let note = |k: &str, found: Finding, masked: bool| Dropped {
        event: event.to_owned(),
        property: Some(k.to_owned()),
        reason: DropReason::IdentifyingValue { found: found.code(), masked },
    };
    let mut out = Vec::with_capacity(kept.len());
    for (k, v) in kept {
        let kind = if k.ends_with("_version") { TextKind::Version } else { TextKind::Free };
        match &v {
            Value::String(s) => match scrub::scrub(s, kind) {
                Some((masked, found)) => {
                    dropped.push(note(&k, found[0], true));
                    held.insert(k.clone(), v);
                    out.push((k, Value::String(masked)));
                }
                None => out.push((k, v)),
            },
            Value::StringArray(items) => {
                let mut first = None;
                let masked: Vec<String> = items
                    .iter()
                    .map(|s| match scrub::scrub(s, kind) {
                        Some((m, found)) => {
                            first = first.or(Some(found[0]));
                            m
                        }
                        None => s.clone(),
                    })
                    .collect();
                match first {
                    Some(found) => {
                        dropped.push(note(&k, found, true));
                        held.insert(k.clone(), v);
                        out.push((k, Value::StringArray(masked)));
                    }
                    None => out.push((k, v)),
                }
            }
            Value::Int(n) if scrub::int_is_identifying(*n) => {
                dropped.push(note(&k, Finding::Number, false));
                held.insert(k, v);
            }
            Value::Float(f) if scrub::float_is_identifying(*f) => {
                dropped.push(note(&k, Finding::Number, false));
                held.insert(k, v);
            }
            Value::IntArray(a) if a.iter().any(|n| scrub::int_is_identifying(*n)) => {
                dropped.push(note(&k, Finding::Number, false));
                held.insert(k, v);
            }
            Value::FloatArray(a) if a.iter().any(|f| scrub::float_is_identifying(*f)) => {
                dropped.push(note(&k, Finding::Number, false));
                held.insert(k, v);
            }
            _ => out.push((k, v)),
        }
    }
    out
}

/// Citation used for the defaults below.
const SEED_NECESSARY: &str = "strictly necessary (CNIL 2020-091 §50; seeds 000, 004)";

/// Events allowed without consent (seed 000: page and click hits only).
pub const EXEMPT_EVENTS: [&str; 5] =
    [events::PAGE_DISPLAY, events::CLICK_ACTION, events::CLICK_NAVIGATION, events::CLICK_DOWNLOAD, events::CLICK_EXIT];

/// Properties the exempt mode lets leave the device by default, each with the
/// measurement it serves in the CNIL's list (seed 004) or the hit fields of
/// seed 000 (`s, idclient, vm, vc, ts, vtag, ptag, p, type, click`).
pub const EXEMPT_PROPERTIES: [(&str, &str); 24] = [
    ("page", "screen audience, screen by screen (seed 004; seed 000 'p')"),
    ("page_chapter1", "screen audience, screen by screen (seed 004)"),
    ("page_chapter2", "screen audience, screen by screen (seed 004)"),
    ("page_chapter3", "screen audience, screen by screen (seed 004)"),
    ("previous_page", "screen from which the current one was reached: the app's referrer (seed 004)"),
    ("click", "statistics on user actions (seed 004; seed 000 'click')"),
    ("click_chapter1", "statistics on user actions (seed 004)"),
    ("click_chapter2", "statistics on user actions (seed 004)"),
    ("click_chapter3", "statistics on user actions (seed 004)"),
    ("device_type", "terminal type (seed 004)"),
    ("device_brand", "terminal type (seed 004)"),
    ("device_model", "terminal type (seed 004)"),
    ("device_screen_width", "screen size (seed 004)"),
    ("device_screen_height", "screen size (seed 004)"),
    ("os", "detection of navigation problems (CNIL 2020-091 §50)"),
    ("os_version", "detection of navigation problems (CNIL 2020-091 §50)"),
    ("app_version", "detection of navigation problems, technical optimisation (§50)"),
    ("connection_type", "technical performance (§50); minimal field of anonymous hits"),
    ("device_timestamp_utc", "hit timestamp (seed 000 'ts')"),
    ("event_collection_platform", "platform using the tag (seed 000 'ptag')"),
    ("event_collection_version", "tag version (seed 000 'vtag')"),
    ("page_duration", "time spent on each screen (seed 004)"),
    ("page_load_time", "load-time statistics (seed 004)"),
    ("page_scroll_depth", "scroll depth (seed 004)"),
];

/// What an anonymous hit (opt-out with hits enabled, no-consent) may carry
/// besides the event name and the `visitor_privacy_*` pair.
pub const MINIMAL_PROPERTIES: [&str; 2] = ["connection_type", "device_timestamp_utc"];

/// What the compliance report says exempt-derived modes never send: the
/// names [`crate::identifying`] classifies, refused in their allowlists
/// when the configuration is validated and never allowed by the defaults.
pub const IDENTIFYING_RULE: &str = "any identifying name: user, account, customer, device, OS or advertising ids, \
    network and hardware addresses, precise location, contact details, a person's name, birth date or postal \
    address, tokens, session and transaction ids (refused in the allowlist)";

/// The rules of every mode of one configuration.
#[derive(Debug, Clone)]
pub struct RuleBook {
    modes: HashMap<VisitorMode, Arc<ModeRules>>,
    purposes: Arc<PurposeBook>,
    /// [`is_identifying`] of every name an exempt-derived mode allows,
    /// judged once (the egress gate asks for each key of each hit).
    identifying: Arc<HashMap<String, bool>>,
}

/// Whether a property is one of the strictly necessary set: never dropped
/// to make room for others in a hit's byte bound.
pub(crate) fn is_strictly_necessary(property: &str) -> bool {
    EXEMPT_PROPERTIES.iter().any(|(p, _)| *p == property)
}

impl RuleBook {
    /// Builds the rules. The configuration must have been validated.
    pub fn new(config: &Config) -> RuleBook {
        let mut modes = HashMap::new();
        let everything = "every valid property (consent given)";

        let mut opt_in = ModeRules::new(VisitorMode::OptIn, true);
        opt_in.allow_event("*");
        opt_in.allow("*", "*", everything, false);
        modes.insert(VisitorMode::OptIn, opt_in);

        let mut no_storage = ModeRules::new(VisitorMode::NoStorage, true);
        no_storage.allow_event("*");
        no_storage.allow("*", "*", "every valid property (no identifier on the device)", false);
        modes.insert(VisitorMode::NoStorage, no_storage);

        let exempt = exempt_derived(VisitorMode::Exempt, &config.exempt_allowlist, &[]);
        modes.insert(VisitorMode::Exempt, exempt);

        for CustomMode { name, allowed_events, allowed_properties } in &config.custom_modes {
            let mode = VisitorMode::Custom(name.clone());
            let rules = exempt_derived(mode.clone(), allowed_properties, allowed_events);
            modes.insert(mode, rules);
        }

        let minimal = |mode: VisitorMode, sends: bool| {
            let mut r = ModeRules::new(mode, sends);
            r.takes_app_properties = false;
            match &config.anonymous_events {
                Some(events) => events.iter().for_each(|e| r.allow_event(e)),
                None => EXEMPT_EVENTS.iter().for_each(|e| r.allow_event(e)),
            }
            for p in MINIMAL_PROPERTIES {
                r.allow("*", p, "anonymous counter field, from the SDK's own context (seed 000; seed 001 §4.9)", false);
            }
            r
        };
        modes.insert(VisitorMode::OptOut, minimal(VisitorMode::OptOut, config.send_hits_in_opt_out));
        modes.insert(VisitorMode::NoConsent, minimal(VisitorMode::NoConsent, true));

        for rules in modes.values_mut() {
            for PropertyRule { events, property } in &config.forbidden_properties {
                rules.forbid(events, property);
            }
            for pattern in &config.forbidden_events {
                rules.forbid_event(pattern);
            }
        }
        let mut identifying = HashMap::new();
        let allowed = EXEMPT_PROPERTIES
            .iter()
            .map(|(p, _)| *p)
            .chain(config.exempt_allowlist.iter().map(|a| a.property.as_str()))
            .chain(config.custom_modes.iter().flat_map(|m| m.allowed_properties.iter().map(|a| a.property.as_str())));
        for name in allowed {
            identifying.insert(name.to_owned(), is_identifying(name));
        }
        RuleBook {
            modes: modes.into_iter().map(|(k, v)| (k, Arc::new(v))).collect(),
            purposes: Arc::new(PurposeBook::new(config, &EXEMPT_PROPERTIES.map(|(p, _)| p))),
            identifying: Arc::new(identifying),
        }
    }

    /// Whether a property name identifies a person or a device
    /// ([`is_identifying`]), from the names judged when the book was built.
    pub fn identifying(&self, name: &str) -> bool {
        self.identifying.get(name).copied().unwrap_or_else(|| is_identifying(name))
    }

    /// Which purpose each property serves.
    pub fn purposes(&self) -> &Arc<PurposeBook> {
        &self.purposes
    }

    /// The rules of `mode`, if the book knows it.
    pub fn rules(&self, mode: &VisitorMode) -> Option<&ModeRules> {
        self.modes.get(mode).map(|r| &**r)
    }

    /// The shared rules of `mode`; exempt's for a mode the book does not know
    /// (callers check [`RuleBook::knows`] first, so this is a safe fallback).
    pub(crate) fn shared(&self, mode: &VisitorMode) -> Arc<ModeRules> {
        match self.modes.get(mode).or_else(|| self.modes.get(&VisitorMode::Exempt)) {
            Some(r) => r.clone(),
            None => Arc::new(exempt_derived(VisitorMode::Exempt, &[], &[])),
        }
    }

    /// Whether `mode` is built in or configured.
    pub fn knows(&self, mode: &VisitorMode) -> bool {
        self.modes.contains_key(mode)
    }

    /// Every mode, built-in ones first, then custom ones by name.
    pub fn all(&self) -> Vec<&ModeRules> {
        let mut v: Vec<&ModeRules> = self.modes.values().map(|r| &**r).collect();
        v.sort_by(|a, b| a.mode.cmp(&b.mode));
        v
    }
}

fn exempt_derived(mode: VisitorMode, extra: &[AllowedProperty], extra_events: &[String]) -> ModeRules {
    let mut r = ModeRules::new(mode, true);
    for e in EXEMPT_EVENTS {
        r.allow_event(e);
    }
    for e in extra_events {
        r.allow_event(e);
    }
    for (p, why) in EXEMPT_PROPERTIES {
        r.allow("*", p, &format!("{SEED_NECESSARY}: {why}"), false);
    }
    // Validation refuses identifying names; skipped here too, so rules built
    // from an unvalidated configuration still never allow one.
    for a in extra.iter().filter(|a| !is_identifying(&a.property)) {
        r.allow(&a.events, &a.property, &a.justification, true);
    }
    r.forbidden_patterns.push(IDENTIFYING_RULE.to_owned());
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob() {
        let m = |p: &str, t: &str| Pattern::new(p).matches(t);
        assert!(m("*", ""));
        assert!(m("*", "page.display"));
        assert!(m("page.*", "page.display"));
        assert!(!m("page.*", "page"));
        assert!(m("click_*", "click_chapter1"));
        assert!(m("*_id", "user_id"));
        assert!(m("a*b*c", "axxbyyc"));
        assert!(!m("a*b*c", "axxbyy"));
        assert!(m("page.display", "page.display"));
        assert!(!m("page.display", "page.displays"));
        assert!(m("**", "x"));
    }

    #[test]
    fn no_default_is_identifying() {
        for (p, _) in EXEMPT_PROPERTIES {
            assert!(!is_identifying(p), "{p}");
        }
        for p in MINIMAL_PROPERTIES.iter().chain(EXEMPT_EVENTS.iter()) {
            assert!(!is_identifying(p), "{p}");
        }
    }

    #[test]
    fn an_unvalidated_identifying_allowance_is_never_allowed() {
        let mut c = config();
        c.exempt_allowlist.push(AllowedProperty {
            events: "*".into(),
            property: "user_id".into(),
            justification: "a careless integrator's reason".into(),
        });
        let book = RuleBook::new(&c);
        let ex = book.rules(&VisitorMode::Exempt).unwrap();
        assert_eq!(ex.property_verdict("page.display", "user_id"), Err(DropReason::NotAllowedInMode));
    }

    fn config() -> Config {
        let mut c = Config::new("https://collect.example.com", 1, "/tmp/x");
        c.exempt_allowlist.push(AllowedProperty {
            events: "page.*".into(),
            property: "ab_variant".into(),
            justification: "UX optimisation of the checkout screen".into(),
        });
        c.forbidden_properties.push(PropertyRule { events: "click.*".into(), property: "click_chapter3".into() });
        c
    }

    #[test]
    fn exempt_merges_patterns_then_applies_forbidden() {
        let book = RuleBook::new(&config());
        let ex = book.rules(&VisitorMode::Exempt).unwrap();
        assert!(ex.property_verdict("page.display", "page").is_ok());
        assert!(ex.property_verdict("page.display", "ab_variant").is_ok());
        assert_eq!(ex.property_verdict("click.action", "ab_variant"), Err(DropReason::NotAllowedInMode));
        assert_eq!(ex.property_verdict("page.display", "user_id"), Err(DropReason::NotAllowedInMode));
        assert_eq!(ex.property_verdict("click.exit", "click_chapter3"), Err(DropReason::ForbiddenByRule));
        assert!(ex.property_verdict("page.display", "click_chapter3").is_ok());
        assert!(ex.event_verdict("page.display").is_ok());
        assert_eq!(ex.event_verdict("purchase"), Err(DropReason::EventNotAllowedInMode));
    }

    #[test]
    fn opt_in_allows_everything_but_forbidden() {
        let book = RuleBook::new(&config());
        let r = book.rules(&VisitorMode::OptIn).unwrap();
        assert!(r.property_verdict("purchase", "user_id").is_ok());
        assert!(r.event_verdict("purchase").is_ok());
        assert_eq!(r.property_verdict("click.action", "click_chapter3"), Err(DropReason::ForbiddenByRule));
    }

    #[test]
    fn opt_out_sends_nothing_unless_enabled() {
        let mut c = config();
        let book = RuleBook::new(&c);
        assert_eq!(book.rules(&VisitorMode::OptOut).unwrap().event_verdict("page.display"), Err(DropReason::OptOutSendsNothing));
        c.send_hits_in_opt_out = true;
        let book = RuleBook::new(&c);
        let r = book.rules(&VisitorMode::OptOut).unwrap();
        assert!(r.event_verdict("page.display").is_ok());
        assert_eq!(r.event_verdict("anything"), Err(DropReason::EventNotAllowedInMode), "anonymous hits name their events");
        assert!(r.property_verdict("page.display", "connection_type").is_ok());
        assert_eq!(r.property_verdict("page.display", "page"), Err(DropReason::NotAllowedInMode));
        assert!(!r.takes_app_properties, "and carry only the SDK's own values");
    }
}
