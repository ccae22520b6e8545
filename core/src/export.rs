//! For the data subject: everything the SDK stores on the device (right of
//! access, GDPR art. 15), as a self-describing JSON document.

use std::collections::BTreeMap;

use serde_json::{json, Value as Json};

use crate::clock::{format_rfc3339, EpochMillis};
use crate::mode::{ModeRecord, ModeStatus};
use crate::purpose::PurposeChoice;
use crate::store::PendingRow;
use crate::version::SDK_VERSION;
use crate::visitor_id::VisitorId;

/// Everything the SDK stores on the device (right of access, GDPR art. 15).
#[derive(Debug, Clone, PartialEq)]
pub struct LocalData {
    /// When the export was made.
    pub exported_at_ms: EpochMillis,
    /// The mode in force.
    pub current_mode: Option<ModeStatus>,
    /// The visitor id, if one is stored.
    pub visitor: Option<VisitorId>,
    /// Every recorded choice of mode, oldest first.
    pub mode_history: Vec<ModeRecord>,
    /// The purposes answered, with when.
    pub purposes: BTreeMap<String, PurposeChoice>,
    /// The hits queued for upload, oldest first.
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
                "purposes": m.purposes.iter().map(|(p, mode)| (p.clone(), json!(mode.wire_name()))).collect::<serde_json::Map<_, _>>(),
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
            "purposes_answered": self.purposes.iter().map(|(p, c)| (p.clone(), json!({
                "mode": c.mode.wire_name(),
                "since": format_rfc3339(c.since_ms),
            }))).collect::<serde_json::Map<_, _>>(),
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
