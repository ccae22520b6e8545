//! The egress gate: every hit, at send time, passes one function that
//! re-checks it from what is stored, independently of the filter that built
//! it when it was tracked. A hit that fails is held back (deleted) and
//! reported ([`crate::Diagnostic::HeldAtEgress`]); with the track-time
//! filter working, none ever does.
//!
//! What it checks, for each row of a batch about to leave:
//!
//! - it was queued for the configured site, by a real run (a dry run's rows
//!   never reach a collector, and a dry run never sends a real run's);
//! - it is well formed: a mode the configuration defines, a body whose mode,
//!   consent flag and event id are the row's;
//! - whose it is: an anonymous mode's fixed id; an app-scoped id that is
//!   still on the device (not purged, not erased), of this site, and valid
//!   now (13 months from its creation, not dated in the future);
//! - that the mode in force still lets its class of hit out: a hit tracked
//!   with consent only while consent is in force now (not withdrawn, not
//!   lapsed), an identified hit only while the mode in force keeps an id;
//! - that its event and each of its keys are allowed by the mode it was
//!   tracked in, and, for a hit tracked with consent, by the purposes it
//!   was tracked under (a key that several purposes name needs each);
//! - without consent: no identifying name, no identifying value
//!   ([`crate::scrub`]), nothing per visitor (the purpose answers), and on
//!   anonymous hits only the SDK's own values from closed sets.

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json};

use crate::clock::{dated_in_the_past, EpochMillis};
use crate::config::{Config, CONNECTION_TYPES};
use crate::diagnostics::EgressReason;
use crate::hit::reserved;
use crate::mode::{consent_lapse, PurposeMode, VisitorMode};
use crate::purpose::AUDIENCE_MEASUREMENT;
use crate::rules::RuleBook;
use crate::scrub::{self, TextKind};
use crate::store::{PendingRow, StoredIdentity};
use crate::upload::wire::StoredHit;

/// The mode in force as the gate sees it: published by the visitor's state
/// at every change, before the change is persisted (so a withdrawal holds
/// back consented hits at once, even while storage fails).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EgressView {
    pub mode: VisitorMode,
    /// When the choice in force was made (`None`: the default applies).
    pub since_ms: Option<EpochMillis>,
}

/// One batch's check: the configuration, the rules, the mode in force and
/// the time, fixed for the batch.
pub(crate) struct Gate<'a> {
    pub config: &'a Config,
    pub site: &'a str,
    pub rules: &'a RuleBook,
    pub view: &'a EgressView,
    pub now: EpochMillis,
}

/// Reads a field's text as a version or as free text.
fn text_kind(key: &str) -> TextKind {
    if key.ends_with("_version") {
        TextKind::Version
    } else {
        TextKind::Free
    }
}

/// Whether a JSON value holds an identifying value (strings masked by the
/// filter never do).
fn identifying_value(key: &str, v: &Json) -> bool {
    match v {
        Json::String(s) => scrub::find(s, text_kind(key)).is_some(),
        Json::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => scrub::int_is_identifying(i),
            (None, Some(f)) => scrub::float_is_identifying(f),
            _ => true,
        },
        Json::Array(items) => items.iter().any(|i| identifying_value(key, i)),
        Json::Bool(_) => false,
        Json::Null | Json::Object(_) => true,
    }
}

impl Gate<'_> {
    /// Checks one row. `identity`: the stored identity of its visitor id
    /// (the caller looks it up once per batch; `None` for a fixed id or an
    /// id the device no longer holds).
    pub fn check(&self, row: &PendingRow, identity: Option<&StoredIdentity>) -> Result<(), EgressReason> {
        if row.site != self.site {
            return Err(EgressReason::OtherSite);
        }
        if row.dry_run != self.config.dry_run {
            return Err(EgressReason::DryRun);
        }
        let mode = VisitorMode::parse(&row.mode);
        let rules = self.rules.rules(&mode).ok_or(EgressReason::Malformed)?;
        let StoredHit { name, data } = StoredHit::read(&row.body).ok_or(EgressReason::Malformed)?;
        let (name, data) = (name.as_str(), &data);
        let well_formed = data.get(reserved::VISITOR_PRIVACY_MODE).and_then(Json::as_str) == Some(row.mode.as_str())
            && data.get(reserved::VISITOR_PRIVACY_CONSENT).and_then(Json::as_bool) == Some(mode.consent())
            && data.get(reserved::EVENT_ID).and_then(Json::as_str) == Some(row.event_id.as_str());
        if !well_formed {
            return Err(EgressReason::Malformed);
        }
        self.whose(&mode, row, identity)?;
        self.in_force(&mode)?;
        rules.event_verdict(name).map_err(|_| EgressReason::EventNotAllowed)?;
        let purposes = self.purposes_of_hit(&mode, data)?;
        for (key, value) in data {
            self.key(&mode, rules, name, key, value, purposes.as_ref())?;
        }
        Ok(())
    }

    /// The fixed id of an anonymous (or no-storage) hit; a known, valid id
    /// of this site for the others.
    fn whose(&self, mode: &VisitorMode, row: &PendingRow, identity: Option<&StoredIdentity>) -> Result<(), EgressReason> {
        if let Some(fixed) = mode.fixed_visitor_id() {
            return if row.visitor_id == fixed { Ok(()) } else { Err(EgressReason::Malformed) };
        }
        let id = identity.ok_or(EgressReason::UnknownIdentity)?;
        if id.site != self.site {
            return Err(EgressReason::OtherSite);
        }
        if !(dated_in_the_past(id.created_at_ms, self.now) && self.now < id.expires_at_ms) {
            return Err(EgressReason::IdentityExpired);
        }
        Ok(())
    }

    /// Whether the mode in force still lets this class of hit out.
    fn in_force(&self, mode: &VisitorMode) -> Result<(), EgressReason> {
        let view = self.view;
        let ok = if mode.anonymous() {
            true
        } else if mode.requires_consent() {
            let consented = match (*mode == VisitorMode::OptIn, &view.mode) {
                (true, VisitorMode::OptIn) => true,
                (false, m) => m.requires_consent(),
                _ => false,
            };
            let holds = view.since_ms.is_some_and(|since| consent_lapse(since, self.config.consent_lifetime_months, self.now).is_none());
            consented && holds
        } else {
            view.mode.stores_visitor_id()
        };
        if ok {
            Ok(())
        } else {
            Err(EgressReason::ModeNotInForce)
        }
    }

    /// The purposes a hit tracked with consent was tracked under (`None`:
    /// every purpose consented, the canonical opt-in). A hit without
    /// consent carries none.
    fn purposes_of_hit(&self, mode: &VisitorMode, data: &Map<String, Json>) -> Result<Option<BTreeMap<String, PurposeMode>>, EgressReason> {
        let Some(items) = data.get(reserved::VISITOR_PRIVACY_PURPOSES) else { return Ok(None) };
        if !mode.requires_consent() {
            return Err(EgressReason::PerVisitorWithoutConsent);
        }
        let items = items.as_array().ok_or(EgressReason::Malformed)?;
        let mut answers = BTreeMap::new();
        for item in items {
            let (purpose, m) = item.as_str().and_then(|s| s.split_once(':')).ok_or(EgressReason::Malformed)?;
            answers.insert(purpose.to_owned(), PurposeMode::parse(m).ok_or(EgressReason::Malformed)?);
        }
        Ok(Some(answers))
    }

    fn key(
        &self,
        mode: &VisitorMode,
        rules: &crate::rules::ModeRules,
        event: &str,
        key: &str,
        value: &Json,
        purposes: Option<&BTreeMap<String, PurposeMode>>,
    ) -> Result<(), EgressReason> {
        match key {
            // Checked against the row already.
            reserved::EVENT_ID | reserved::VISITOR_PRIVACY_MODE | reserved::VISITOR_PRIVACY_CONSENT | reserved::VISITOR_PRIVACY_PURPOSES => {
                return Ok(())
            }
            reserved::DEVICE_TIMESTAMP_UTC => {
                rules.property_verdict(event, key).map_err(|_| EgressReason::PropertyNotAllowed)?;
                return if value.is_i64() { Ok(()) } else { Err(EgressReason::Malformed) };
            }
            _ => {}
        }
        rules.property_verdict(event, key).map_err(|_| EgressReason::PropertyNotAllowed)?;
        if mode.anonymous() {
            // The SDK's own values only, from closed sets.
            let closed = key == "connection_type" && value.as_str().is_some_and(|v| CONNECTION_TYPES.contains(&v));
            return if closed { Ok(()) } else { Err(EgressReason::PerVisitorWithoutConsent) };
        }
        if !mode.requires_consent() {
            if self.rules.identifying(key) {
                return Err(EgressReason::PropertyNotAllowed);
            }
            if identifying_value(key, value) {
                return Err(EgressReason::IdentifyingValue);
            }
            return Ok(());
        }
        // With consent: the purposes it was tracked under.
        let Some(answers) = purposes else { return Ok(()) };
        let book = self.rules.purposes();
        let consented = |p: &str| p == AUDIENCE_MEASUREMENT || answers.get(p) == Some(&PurposeMode::OptIn);
        let mut named = false;
        for p in book.purposes_of(key) {
            named = true;
            if !consented(p) {
                return Err(EgressReason::PropertyNotAllowed);
            }
        }
        if !named && !book.names().iter().all(|p| consented(p)) {
            return Err(EgressReason::PropertyNotAllowed);
        }
        Ok(())
    }
}

/// The egress gate over rows built by hand, for the benchmarks (not API).
#[doc(hidden)]
pub struct GateProbe {
    config: Config,
    rules: RuleBook,
    view: EgressView,
}

impl GateProbe {
    /// A gate for `config`, with `mode` in force (chosen now).
    pub fn new(config: Config, mode: VisitorMode, now: EpochMillis) -> GateProbe {
        let rules = RuleBook::new(&config);
        GateProbe { config, rules, view: EgressView { mode, since_ms: Some(now) } }
    }

    /// Whether a stored hit (`mode`, `visitor_id`, `event_id`, `body`) of
    /// this site, with a valid identity, may leave at `now`.
    pub fn passes(&self, mode: &str, visitor_id: &str, event_id: &str, body: &str, now: EpochMillis) -> bool {
        let site = self.config.site_key();
        let row = PendingRow {
            seq: 1,
            event_id: event_id.to_owned(),
            visitor_id: visitor_id.to_owned(),
            mode: mode.to_owned(),
            tracked_at_ms: now,
            body: body.to_owned(),
            site: site.clone(),
            dry_run: self.config.dry_run,
        };
        let identity = StoredIdentity { site: site.clone(), created_at_ms: now, expires_at_ms: now.saturating_add(86_400_000) };
        Gate { config: &self.config, site: &site, rules: &self.rules, view: &self.view, now }.check(&row, Some(&identity)).is_ok()
    }
}

#[cfg(test)]
mod tests {
    //! Checks the gate makes that the API cannot reach (the filter and the
    //! configuration stop such rows first): rows crafted as a defect, a
    //! storage fault or another version might leave them.
    use super::*;
    use crate::config::PurposeConfig;

    const NOW: EpochMillis = 1_772_532_000_000;
    const ID: &str = "7b7c5a52-2f0d-4f7a-9a4e-0d1f3c2b1a00";

    fn config() -> Config {
        let mut c = Config::new("https://collect.example.com", 42, "/tmp/gate");
        c.send_hits_in_opt_out = true;
        c.purposes = vec![PurposeConfig { name: "advertising".into(), properties: vec!["ad_*".into()] }];
        c
    }

    fn row(mode: &str, visitor: &str, data: Json) -> PendingRow {
        let mut data = data.as_object().cloned().unwrap_or_default();
        data.insert("event_id".into(), Json::from("e1"));
        data.insert("visitor_privacy_mode".into(), Json::from(mode));
        data.insert("visitor_privacy_consent".into(), Json::from(mode == "optin"));
        data.insert("device_timestamp_utc".into(), Json::from(NOW / 1000));
        PendingRow {
            seq: 1,
            event_id: "e1".into(),
            visitor_id: visitor.into(),
            mode: mode.into(),
            tracked_at_ms: NOW,
            body: serde_json::json!({"name": "page.display", "data": data}).to_string(),
            site: "42".into(),
            dry_run: false,
        }
    }

    fn identity(created: EpochMillis) -> StoredIdentity {
        StoredIdentity { site: "42".into(), created_at_ms: created, expires_at_ms: created + 400 * 86_400_000 }
    }

    fn check(view: VisitorMode, since: Option<EpochMillis>, r: &PendingRow, id: Option<&StoredIdentity>) -> Result<(), EgressReason> {
        let config = config();
        let rules = RuleBook::new(&config);
        let view = EgressView { mode: view, since_ms: since };
        Gate { config: &config, site: "42", rules: &rules, view: &view, now: NOW }.check(r, id)
    }

    #[test]
    fn a_clean_hit_passes() {
        let r = row("exempt", ID, serde_json::json!({"page": "home"}));
        assert_eq!(check(VisitorMode::Exempt, None, &r, Some(&identity(NOW))), Ok(()));
        let r = row("optout", "opt-out", serde_json::json!({"connection_type": "wifi"}));
        assert_eq!(check(VisitorMode::OptOut, None, &r, None), Ok(()));
    }

    #[test]
    fn where_and_when_it_was_queued() {
        let id = identity(NOW);
        let mut r = row("exempt", ID, serde_json::json!({"page": "home"}));
        r.site = "43".into();
        assert_eq!(check(VisitorMode::Exempt, None, &r, Some(&id)), Err(EgressReason::OtherSite));
        let mut r = row("exempt", ID, serde_json::json!({"page": "home"}));
        r.dry_run = true;
        assert_eq!(check(VisitorMode::Exempt, None, &r, Some(&id)), Err(EgressReason::DryRun));
        let mut other = identity(NOW);
        other.site = "43".into();
        let r = row("exempt", ID, serde_json::json!({"page": "home"}));
        assert_eq!(check(VisitorMode::Exempt, None, &r, Some(&other)), Err(EgressReason::OtherSite));
    }

    #[test]
    fn malformed_rows_never_leave() {
        let id = identity(NOW);
        let r = row("gone-custom", ID, serde_json::json!({"page": "home"}));
        assert_eq!(check(VisitorMode::Exempt, None, &r, Some(&id)), Err(EgressReason::Malformed));
        let mut r = row("exempt", ID, serde_json::json!({"page": "home"}));
        r.mode = "optin".into();
        assert_eq!(check(VisitorMode::OptIn, Some(NOW), &r, Some(&id)), Err(EgressReason::Malformed), "body and row disagree");
        let mut r = row("exempt", ID, serde_json::json!({}));
        r.body = "{not json".into();
        assert_eq!(check(VisitorMode::Exempt, None, &r, Some(&id)), Err(EgressReason::Malformed));
        let r = row("optout", ID, serde_json::json!({}));
        assert_eq!(check(VisitorMode::OptOut, None, &r, None), Err(EgressReason::Malformed), "an anonymous hit with a real id");
    }

    #[test]
    fn whose_id() {
        let r = row("exempt", ID, serde_json::json!({"page": "home"}));
        assert_eq!(check(VisitorMode::Exempt, None, &r, None), Err(EgressReason::UnknownIdentity));
        let old = identity(NOW - 401 * 86_400_000);
        assert_eq!(check(VisitorMode::Exempt, None, &r, Some(&old)), Err(EgressReason::IdentityExpired));
        let ahead = identity(NOW + 2 * 86_400_000);
        assert_eq!(check(VisitorMode::Exempt, None, &r, Some(&ahead)), Err(EgressReason::IdentityExpired));
    }

    #[test]
    fn the_mode_in_force_decides() {
        let id = identity(NOW);
        let opt_in = row("optin", ID, serde_json::json!({"user_id": "jane"}));
        assert_eq!(check(VisitorMode::OptIn, Some(NOW), &opt_in, Some(&id)), Ok(()));
        assert_eq!(check(VisitorMode::Exempt, None, &opt_in, Some(&id)), Err(EgressReason::ModeNotInForce), "withdrawn");
        let lapsed = NOW - 200 * 86_400_000;
        assert_eq!(check(VisitorMode::OptIn, Some(lapsed), &opt_in, Some(&id)), Err(EgressReason::ModeNotInForce), "lapsed");
        let exempt = row("exempt", ID, serde_json::json!({"page": "home"}));
        assert_eq!(check(VisitorMode::OptOut, None, &exempt, Some(&id)), Err(EgressReason::ModeNotInForce));
        let no_storage = row("no-storage", "no-storage", serde_json::json!({"user_id": "jane"}));
        assert_eq!(check(VisitorMode::OptIn, Some(NOW), &no_storage, None), Ok(()), "consent continues");
        assert_eq!(check(VisitorMode::NoConsent, None, &no_storage, None), Err(EgressReason::ModeNotInForce));
    }

    #[test]
    fn without_consent_nothing_identifying() {
        let id = identity(NOW);
        let cases = [
            (serde_json::json!({"user_id": "jane"}), EgressReason::PropertyNotAllowed),
            (serde_json::json!({"page": "jane.doe@example.com"}), EgressReason::IdentifyingValue),
            (serde_json::json!({"page_load_time": 33_612_345_678_i64}), EgressReason::IdentifyingValue),
            (serde_json::json!({"page_chapter1": ["a", "+33 6 12 34 56 78"]}), EgressReason::IdentifyingValue),
            (serde_json::json!({"visitor_privacy_purposes": ["advertising:opt-in"]}), EgressReason::PerVisitorWithoutConsent),
        ];
        for (data, reason) in cases {
            let r = row("exempt", ID, data.clone());
            assert_eq!(check(VisitorMode::Exempt, None, &r, Some(&id)), Err(reason), "{data}");
        }
        for value in ["jane", "5g"] {
            let r = row("optout", "opt-out", serde_json::json!({"connection_type": value}));
            assert_eq!(check(VisitorMode::OptOut, None, &r, None), Err(EgressReason::PerVisitorWithoutConsent), "{value}");
        }
        let r = row("optout", "opt-out", serde_json::json!({"os": "android"}));
        assert_eq!(check(VisitorMode::OptOut, None, &r, None), Err(EgressReason::PropertyNotAllowed));
    }

    #[test]
    fn with_consent_the_purposes_it_was_tracked_under() {
        let id = identity(NOW);
        let refused =
            serde_json::json!({"ad_campaign": "spring", "visitor_privacy_purposes": ["advertising:opt-out", "audience_measurement:opt-in"]});
        let r = row("optin", ID, refused);
        assert_eq!(check(VisitorMode::OptIn, Some(NOW), &r, Some(&id)), Err(EgressReason::PropertyNotAllowed));
        let no_purpose = serde_json::json!({"user_id": "jane", "visitor_privacy_purposes": ["advertising:opt-out", "audience_measurement:opt-in"]});
        let r = row("optin", ID, no_purpose);
        assert_eq!(check(VisitorMode::OptIn, Some(NOW), &r, Some(&id)), Err(EgressReason::PropertyNotAllowed));
        let given = serde_json::json!({"ad_campaign": "spring", "page": "home", "visitor_privacy_purposes": ["advertising:opt-in", "audience_measurement:opt-in"]});
        let r = row("optin", ID, given);
        assert_eq!(check(VisitorMode::OptIn, Some(NOW), &r, Some(&id)), Ok(()));
    }
}
