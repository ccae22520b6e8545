//! For the data subject and the data controller: the export of local data and
//! the compliance report generated from the live configuration.

use serde::Serialize;
use serde_json::{json, Value as Json};

use crate::clock::{format_rfc3339, EpochMillis};
use crate::config::Config;
use crate::hit::reserved;
use crate::mode::{ModeRecord, ModeStatus, VisitorMode};
use crate::rules::{PropertyEntry, RuleBook};
use crate::SDK_VERSION;
use crate::store::PendingRow;
use crate::visitor_id::{VisitorId, VISITOR_ID_LIFETIME_MONTHS};

/// Everything the SDK stores on the device (right of access, GDPR art. 15).
#[derive(Debug, Clone, PartialEq)]
pub struct LocalData {
    pub exported_at_ms: EpochMillis,
    pub current_mode: Option<ModeStatus>,
    pub visitor: Option<VisitorId>,
    pub mode_history: Vec<ModeRecord>,
    pub pending_hits: Vec<PendingRow>,
}

impl LocalData {
    /// A self-describing JSON document.
    pub fn to_json(&self) -> String {
        let mode = self.current_mode.as_ref().map(|m| {
            json!({
                "mode": m.mode.wire_name(),
                "since": m.since_ms.map(format_rfc3339),
                "consent_expires_at": m.consent_expires_at_ms.map(format_rfc3339),
                "consent_renewal_needed": m.consent_renewal_needed,
            })
        });
        let doc = json!({
            "exported_at": format_rfc3339(self.exported_at_ms),
            "sdk": format!("mesure {SDK_VERSION}"),
            "visitor_id": self.visitor.as_ref().map(|v| json!({
                "id": v.id,
                "created_at": format_rfc3339(v.created_at_ms),
                "expires_at": format_rfc3339(v.expires_at_ms),
            })),
            "current_mode": mode,
            "mode_history": self.mode_history.iter().map(|r| json!({
                "mode": r.mode.wire_name(),
                "since": format_rfc3339(r.since_ms),
                "reason": r.reason.code(),
            })).collect::<Vec<_>>(),
            "pending_hits": self.pending_hits.iter().map(|h| json!({
                "event_id": h.event_id,
                "visitor_id": h.visitor_id,
                "mode": h.mode,
                "tracked_at": format_rfc3339(h.tracked_at_ms),
                "event": serde_json::from_str::<Json>(&h.body).unwrap_or(Json::String(h.body.clone())),
            })).collect::<Vec<_>>(),
        });
        serde_json::to_string_pretty(&doc).unwrap_or_default()
    }
}

/// What one mode lets leave the device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModeReport {
    pub mode: String,
    pub consent: bool,
    pub sends_hits: bool,
    /// The `idclient` its hits carry.
    pub visitor_id: String,
    /// What the SDK keeps on the device in this mode.
    pub stored_on_device: Vec<String>,
    /// Event-name patterns allowed.
    pub events: Vec<String>,
    /// Properties allowed, each with its justification.
    pub properties: Vec<PropertyEntry>,
    /// Added by the SDK to every hit after filtering.
    pub added_by_sdk: Vec<String>,
    /// Property patterns never sent, whatever the app tags.
    pub forbidden: Vec<String>,
}

/// The compliance report of a live configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ComplianceReport {
    pub generated_at: String,
    pub sdk_version: String,
    pub endpoint: String,
    pub site_id: u32,
    pub default_mode: String,
    pub visitor_id_lifetime_months: u32,
    pub visitor_id_extended_by_use: bool,
    pub visitor_id_source: String,
    pub consent_lifetime_months: u32,
    pub queue_max_hits: u32,
    pub queue_max_age_days: u32,
    pub modes: Vec<ModeReport>,
    /// Duties the collector and the controller must fulfil (seeds 000, 001, 004).
    pub server_side_duties: Vec<String>,
}

/// Server-side conditions of the exemption that no SDK can enforce.
pub const SERVER_SIDE_DUTIES: [&str; 7] = [
    "Truncate the IP address (at least the last octet) before any processing (seed 000; seed 001 §4.3; seed 004).",
    "Keep audience data at most 25 months (CNIL 2020-092, art. 5; seed 000: erasure after 25 rolling months).",
    "Geolocate no finer than the city (seed 000; seed 001 §4.3).",
    "Mask the visitor id in the data model: no visitor-level analysis of exempt data (seed 000; seed 001 §4.2, §4.7).",
    "No cross-referencing with other processing, no import of external data, no transfer to third parties (CNIL 2020-091 §51; seed 001 §4.4).",
    "Export only aggregated, anonymous data collected without consent (seed 001 §4.5; seed 004).",
    "Tell users in the privacy policy about the exempt tracker and offer the opt-out (seed 000; CNIL 2020-092, art. 5).",
];

impl ComplianceReport {
    pub fn new(config: &Config, rules: &RuleBook, now: EpochMillis) -> ComplianceReport {
        let modes = rules
            .all()
            .into_iter()
            .map(|r| {
                let m = &r.mode;
                let visitor_id = match m.fixed_visitor_id() {
                    Some(f) => format!("fixed value \"{f}\" (identifies no one)"),
                    None => format!("app-scoped random UUID v4, {VISITOR_ID_LIFETIME_MONTHS} months, not extended"),
                };
                let mut stored = Vec::new();
                if m.stores_visitor_id() {
                    stored.push("visitor id".to_owned());
                }
                stored.push("the visitor's choice (mode and date; a refusal is recorded too)".to_owned());
                stored.push("queued hits until acknowledged".to_owned());
                ModeReport {
                    mode: m.wire_name().to_owned(),
                    consent: m.consent(),
                    sends_hits: r.sends_hits,
                    visitor_id,
                    stored_on_device: stored,
                    events: r.event_patterns.clone(),
                    properties: r.property_entries.clone(),
                    added_by_sdk: vec![
                        reserved::VISITOR_PRIVACY_MODE.to_owned(),
                        reserved::VISITOR_PRIVACY_CONSENT.to_owned(),
                        format!("{} (random per hit, for de-duplication; links nothing)", reserved::EVENT_ID),
                    ],
                    forbidden: r.forbidden_patterns.clone(),
                }
            })
            .collect();
        ComplianceReport {
            generated_at: format_rfc3339(now),
            sdk_version: SDK_VERSION.to_owned(),
            endpoint: config.endpoint_base().to_owned(),
            site_id: config.site_id,
            default_mode: config.default_mode.wire_name().to_owned(),
            visitor_id_lifetime_months: VISITOR_ID_LIFETIME_MONTHS,
            visitor_id_extended_by_use: false,
            visitor_id_source: "random UUID v4 from the OS CSPRNG, scoped to this app; never an OS, hardware or advertising id".into(),
            consent_lifetime_months: config.consent_lifetime_months,
            queue_max_hits: config.queue_max_hits,
            queue_max_age_days: config.queue_max_age_days,
            modes,
            server_side_duties: SERVER_SIDE_DUTIES.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// A document for the controller's records.
    pub fn to_markdown(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = writeln!(s, "# Mesure compliance report\n");
        let _ = writeln!(s, "Generated {} by mesure {}.\n", self.generated_at, self.sdk_version);
        let _ = writeln!(s, "- Collection endpoint: `{}` (site {})", self.endpoint, self.site_id);
        let _ = writeln!(s, "- Default mode (before any choice, and after consent lapses): `{}`", self.default_mode);
        let _ = writeln!(
            s,
            "- Visitor id: {}; lifetime {} calendar months from creation, not extended by use",
            self.visitor_id_source, self.visitor_id_lifetime_months
        );
        let _ = writeln!(s, "- Consent (opt-in) kept {} calendar months, then asked again", self.consent_lifetime_months);
        let _ = writeln!(s, "- Queue: at most {} hits, {} days; oldest dropped first\n", self.queue_max_hits, self.queue_max_age_days);
        for m in &self.modes {
            let _ = writeln!(s, "## Mode `{}`\n", m.mode);
            let _ = writeln!(s, "- Consent flag: {}; sends hits: {}", m.consent, m.sends_hits);
            let _ = writeln!(s, "- Visitor id sent: {}", m.visitor_id);
            let _ = writeln!(s, "- Stored on the device: {}", m.stored_on_device.join(", "));
            let _ = writeln!(s, "- Events: {}", m.events.join(", "));
            let _ = writeln!(s, "- Added by the SDK: {}", m.added_by_sdk.join(", "));
            if !m.forbidden.is_empty() {
                let _ = writeln!(s, "- Never sent: {}", m.forbidden.join(", "));
            }
            let _ = writeln!(s, "\n| property | events | why |\n|---|---|---|");
            for p in &m.properties {
                let who = if p.added_by_controller { "controller: " } else { "" };
                let _ = writeln!(s, "| `{}` | `{}` | {}{} |", p.property, p.events, who, p.justification);
            }
            let _ = writeln!(s);
        }
        let _ = writeln!(s, "## Duties left to the server side and the controller\n");
        for d in &self.server_side_duties {
            let _ = writeln!(s, "- {d}");
        }
        s
    }

    /// The report of one mode.
    pub fn mode(&self, mode: &VisitorMode) -> Option<&ModeReport> {
        self.modes.iter().find(|m| m.mode == mode.wire_name())
    }
}
