//! For the data subject: everything the SDK stores on the device (right of
//! access, GDPR art. 15), as a self-describing JSON document.

use std::collections::BTreeMap;

use serde_json::{json, Value as Json};

use crate::clock::{format_rfc3339, EpochMillis};
use crate::consent::stats::{ConsentStats, StatRow};
use crate::hit::QueuedHit;
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
    pub current_mode: ModeStatus,
    /// The visitor id, if one is stored.
    pub visitor: Option<VisitorId>,
    /// Every recorded choice of mode, oldest first.
    pub mode_history: Vec<ModeRecord>,
    /// The purposes answered, with when.
    pub purposes: BTreeMap<String, PurposeChoice>,
    /// The hits queued for upload, oldest first.
    pub pending_hits: Vec<ExportedHit>,
    /// The consent receipts, as stored (one JSON object per line, oldest
    /// first, hash-chained: [`crate::Sdk::consent_proof`] checks them).
    pub consent_receipts: Vec<String>,
    /// The consent statistics counted and not sent yet (no id of any kind).
    pub consent_statistics: Vec<StatRow>,
    /// Whether the consent statistics are switched off on this device.
    pub consent_statistics_off: bool,
}

/// One hit queued for upload, as the export shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedHit {
    /// The hit's `event_id`.
    pub event_id: String,
    /// The visitor id it leaves with.
    pub visitor_id: String,
    /// The wire name of the mode it was tracked in.
    pub mode: String,
    /// When it was tracked.
    pub tracked_at_ms: EpochMillis,
    /// The event in its stored form, `{"name":..,"data":{..}}`.
    pub body: String,
}

impl From<PendingRow> for ExportedHit {
    fn from(r: PendingRow) -> ExportedHit {
        ExportedHit { event_id: r.event_id, visitor_id: r.visitor_id, mode: r.mode, tracked_at_ms: r.tracked_at_ms, body: r.body }
    }
}

impl From<&QueuedHit> for ExportedHit {
    fn from(h: &QueuedHit) -> ExportedHit {
        ExportedHit {
            event_id: h.event_id.clone(),
            visitor_id: h.visitor_id.to_string(),
            mode: h.mode.to_string(),
            tracked_at_ms: h.tracked_at_ms,
            body: h.body.clone(),
        }
    }
}

/// What the storage thread reads for an export: the stored part of
/// [`LocalData`], which [`LocalData::new`] dates and completes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StoredData {
    pub visitor: Option<VisitorId>,
    pub mode_history: Vec<ModeRecord>,
    pub purposes: BTreeMap<String, PurposeChoice>,
    pub pending_hits: Vec<ExportedHit>,
    pub consent_receipts: Vec<String>,
    pub consent_statistics: ConsentStats,
}

impl LocalData {
    /// The export made at `exported_at_ms` under the mode `current_mode`.
    pub(crate) fn new(stored: StoredData, exported_at_ms: EpochMillis, current_mode: ModeStatus) -> LocalData {
        let StoredData { visitor, mode_history, purposes, pending_hits, consent_receipts, consent_statistics } = stored;
        LocalData {
            exported_at_ms,
            current_mode,
            visitor,
            mode_history,
            purposes,
            pending_hits,
            consent_receipts,
            consent_statistics: consent_statistics.rows,
            consent_statistics_off: consent_statistics.off,
        }
    }

    /// A self-describing JSON document.
    pub fn to_json(&self) -> String {
        let mode = {
            let m = &self.current_mode;
            json!({
                "mode": m.mode.wire_name(),
                "since": m.since_ms.map(format_rfc3339),
                "consent_expires_at": m.consent_expires_at_ms.map(format_rfc3339),
                "consent_renewal_needed": m.consent_renewal_needed,
                "purposes": m.purposes.iter().map(|(p, mode)| (p.clone(), json!(mode.wire_name()))).collect::<serde_json::Map<_, _>>(),
            })
        };
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
            "consent_receipts": self.consent_receipts.iter().map(|l| serde_json::from_str::<Json>(l).unwrap_or(Json::String(l.clone()))).collect::<Vec<_>>(),
            "consent_statistics": {
                "off": self.consent_statistics_off,
                "unsent": self.consent_statistics,
            },
        });
        serde_json::to_string_pretty(&doc).unwrap_or_default()
    }
}
