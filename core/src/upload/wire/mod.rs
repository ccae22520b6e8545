//! The wire: how a batch of stored hits that passed the egress gate becomes
//! one request, and what the collector's answer says. Everything above it
//! (modes, filtering, scrubbing, the gate, the queue, purges, reports) is
//! shared; a dialect only encodes and classifies. One file per dialect:
//! `piano.rs` sends the stored hits as they are.
//!
//! The stored form of a hit (written by [`crate::hit::Hit::write_wire_json`]
//! on the tracking thread, read back here by [`StoredHit::read`]) is
//! `{"name": <event>, "data": {<key>: <value>, ..}}`.

use serde_json::{Map, Value as Json};

use crate::store::PendingRow;
use crate::upload::http::HttpRequest;

pub(crate) mod piano;

/// The `User-Agent` of every upload, whatever the HTTP client. A platform's
/// default (app name and build, OS, device model) would tell the collector
/// what the visitor mode may hold back from the body; the SDK version already
/// travels in the body as `event_collection_version`.
pub const USER_AGENT: &str = "Mesure";

/// A stored hit read back: its event name and its fields.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StoredHit {
    pub name: String,
    pub data: Map<String, Json>,
}

impl StoredHit {
    /// `None` when the body is not a stored hit.
    pub fn read(body: &str) -> Option<StoredHit> {
        let Json::Object(mut doc) = serde_json::from_str(body).ok()? else { return None };
        let Json::String(name) = doc.remove("name")? else { return None };
        let Json::Object(data) = doc.remove("data")? else { return None };
        Some(StoredHit { name, data })
    }
}

/// What one request of a dialect is made of.
pub(crate) struct Batch<'a> {
    /// The collection endpoint, normalised ([`crate::Config::endpoint_base`]).
    pub endpoint: &'a str,
    pub site_id: u32,
    /// The one visitor id every row of the batch leaves with.
    pub visitor: &'a str,
    /// The rows, oldest first, each passed by the egress gate.
    pub rows: &'a [PendingRow],
    pub timeout_ms: u64,
}

/// A collector's wire.
pub(crate) trait Dialect: Send + Sync {
    /// The bytes a request spends around its hits.
    fn envelope_bytes(&self) -> usize;
    /// At most the bytes one stored hit takes in a request body (with its
    /// separator).
    fn hit_bytes(&self, row: &PendingRow) -> usize;
    /// The request for one batch.
    fn request(&self, batch: &Batch<'_>) -> HttpRequest;
}

#[cfg(test)]
mod tests {
    use super::StoredHit;

    #[test]
    fn a_stored_hit_reads_back() {
        let hit = StoredHit::read(r#"{"name":"page.display","data":{"page":"home","n":2}}"#).unwrap();
        assert_eq!(hit.name, "page.display");
        assert_eq!(hit.data.len(), 2);
        assert_eq!(hit.data["page"], "home");
        for bad in ["{not json", "[]", r#"{"name":1,"data":{}}"#, r#"{"name":"a","data":[]}"#, r#"{"data":{}}"#] {
            assert_eq!(StoredHit::read(bad), None, "{bad}");
        }
    }
}
