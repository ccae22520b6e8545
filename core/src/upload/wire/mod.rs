//! The wire: how a batch of stored hits that passed the egress gate becomes
//! one request, and what the collector's answer says. Everything above it
//! (modes, filtering, scrubbing, the gate, the queue, purges, reports) is
//! shared; a dialect only encodes and classifies. One file per dialect:
//! `piano.rs` sends the stored hits as they are, `matomo.rs` turns each into
//! a Matomo Tracking API entry, `piwik_pro.rs` sets Piwik PRO's differences.
//!
//! The stored form of a hit (written by [`crate::hit::Hit::write_wire_json`]
//! on the tracking thread, read back here by [`StoredHit::read`]) is
//! `{"name": <event>, "data": {<key>: <value>, ..}}`.

use serde_json::{Map, Value as Json};

use crate::clock::EpochMillis;
use crate::collector::Collector;
use crate::diagnostics::{Dropped, EgressReason};
use crate::store::PendingRow;
use crate::upload::http::HttpRequest;

pub(crate) mod matomo;
pub(crate) mod piano;
pub(crate) mod piwik_pro;

/// The `User-Agent` of every upload, whatever the HTTP client. A platform's
/// default (app name and build, OS, device model) would tell the collector
/// what the visitor mode may hold back from the body; the SDK version already
/// travels in the body as `event_collection_version`.
pub const USER_AGENT: &str = "Mesure";

/// The headers of every JSON request the SDK sends (a collector's, the
/// consent endpoint's): its content type and [`USER_AGENT`], nothing else.
pub(crate) fn json_headers() -> Vec<(String, String)> {
    vec![("Content-Type".into(), "application/json".into()), ("User-Agent".into(), USER_AGENT.into())]
}

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
    /// The time of sending (wall clock).
    pub now_ms: EpochMillis,
}

/// One batch's request, and the properties the wire had no place for
/// (each with the wire name of the mode its hit was tracked in).
pub(crate) struct Encoded {
    pub request: HttpRequest,
    pub held: Vec<(String, Dropped)>,
}

/// A collector's wire.
pub(crate) trait Dialect: Send + Sync {
    /// The bytes a request spends around its hits.
    fn envelope_bytes(&self) -> usize;
    /// At most the bytes one stored hit takes in a request body (with its
    /// separator).
    fn hit_bytes(&self, row: &PendingRow) -> usize;
    /// Hits in one request, at most.
    fn max_hits(&self) -> usize {
        usize::MAX
    }
    /// Why the collector would count this hit invalid (it is then held
    /// back, with the egress gate's refusals): `None` to send it.
    fn hold(&self, _row: &PendingRow, _now: EpochMillis) -> Option<EgressReason> {
        None
    }
    /// The request for one batch.
    fn request(&self, batch: &Batch<'_>) -> Encoded;
    /// What one hit carried on this wire, for the listener
    /// ([`crate::Diagnostic::Sent`]): its event name and the keys it left
    /// with (`None` when the row is not a stored hit). The stored keys by
    /// default.
    fn sent(&self, row: &PendingRow, _now: EpochMillis) -> Option<(String, Vec<String>)> {
        StoredHit::read(&row.body).map(|h| (h.name, h.data.into_iter().map(|(k, _)| k).collect()))
    }
    /// What a 2xx answer's body says the collector recorded of `sent`
    /// hits, when it says less than all of them: `(tracked, invalid)` (a
    /// diagnostic; the batch is acknowledged either way).
    fn miscounted(&self, _body: &[u8], _sent: u64) -> Option<(u64, u64)> {
        None
    }
}

/// The dialect a configuration names.
pub(crate) fn dialect(collector: &Collector, site_id: u32) -> Box<dyn Dialect> {
    match collector {
        Collector::Piano => Box::new(piano::Piano),
        Collector::Matomo { app_host, dimensions } => Box::new(matomo::Matomo::new(site_id, app_host, dimensions)),
        Collector::PiwikPro { app_id, app_host, dimensions } => Box::new(piwik_pro::piwik_pro(app_id, app_host, dimensions)),
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub(crate) fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{percent_encode, StoredHit};

    #[test]
    fn percent_encoding() {
        assert_eq!(percent_encode("Consent-NO"), "Consent-NO");
        assert_eq!(percent_encode("a b&c=d/é+"), "a%20b%26c%3Dd%2F%C3%A9%2B");
    }

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
