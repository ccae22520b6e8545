//! What a `flush()` achieved, hit by hit.

use crate::error::StoreError;

/// What a `flush()` achieved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlushReport {
    /// Hits acknowledged by the collector and deleted.
    pub uploaded: u64,
    /// Hits the collector refused (4xx), dropped.
    pub rejected: u64,
    /// Hits past the queue's age bound, or whose visitor id reached its 13
    /// months, dropped unsent.
    pub expired: u64,
    /// Hits of the batches read for this flush that a purge (opt-out,
    /// no-consent, no-storage, `delete_local_data`) deleted before they could
    /// be sent or acknowledged: they never leave.
    pub purged: u64,
    /// Hits the egress gate held back and deleted: they never leave
    /// ([`crate::Diagnostic::HeldAtEgress`] says why).
    pub held_at_egress: u64,
    /// Hits still queued after the attempt.
    pub pending: u64,
    /// Why the upload stopped early (the hits stay queued).
    pub deferred: Option<String>,
    /// When the next automatic attempt is due.
    pub retry_in_ms: Option<u64>,
    /// A storage problem met while persisting or uploading.
    pub storage_error: Option<StoreError>,
}
