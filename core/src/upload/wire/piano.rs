//! Piano Analytics' collection wire: `POST {endpoint}/event?s={site}&idclient={visitor}`
//! with `{"events":[<hit>,..]}`, each hit in its stored form.

use super::{json_headers, percent_encode, Batch, Dialect, Encoded};
use crate::store::PendingRow;
use crate::upload::http::HttpRequest;

/// `{"events":[` and `]}` around the hits of a request.
const ENVELOPE_BYTES: usize = 13;

pub(crate) struct Piano;

impl Dialect for Piano {
    fn envelope_bytes(&self) -> usize {
        ENVELOPE_BYTES
    }

    fn hit_bytes(&self, row: &PendingRow) -> usize {
        row.body.len() + 1
    }

    fn request(&self, batch: &Batch<'_>) -> Encoded {
        let url = format!("{}/event?s={}&idclient={}", batch.endpoint, batch.site_id, percent_encode(batch.visitor));
        let mut body = String::with_capacity(ENVELOPE_BYTES + batch.rows.iter().map(|r| self.hit_bytes(r)).sum::<usize>());
        body.push_str("{\"events\":[");
        for (i, r) in batch.rows.iter().enumerate() {
            if i > 0 {
                body.push(',');
            }
            body.push_str(&r.body);
        }
        body.push_str("]}");
        let request = HttpRequest { url, headers: json_headers(), body: body.into_bytes(), timeout_ms: batch.timeout_ms };
        Encoded { request, held: Vec::new() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(seq: i64, body: &str) -> PendingRow {
        PendingRow {
            seq,
            event_id: format!("e{seq}"),
            visitor_id: "v".into(),
            mode: "exempt".into(),
            tracked_at_ms: 0,
            body: body.into(),
            site: "7".into(),
            dry_run: false,
        }
    }

    #[test]
    fn one_request_holds_the_stored_hits_as_they_are() {
        let rows = [row(1, r#"{"name":"a","data":{}}"#), row(2, r#"{"name":"b","data":{"x":1}}"#)];
        let batch = Batch { endpoint: "https://c.example", site_id: 7, visitor: "id 1", rows: &rows, timeout_ms: 9, now_ms: 0 };
        let req = Piano.request(&batch).request;
        assert_eq!(req.url, "https://c.example/event?s=7&idclient=id%201");
        let body = String::from_utf8(req.body).unwrap();
        assert_eq!(body, r#"{"events":[{"name":"a","data":{}},{"name":"b","data":{"x":1}}]}"#);
        assert_eq!(body.len(), ENVELOPE_BYTES + rows.iter().map(|r| Piano.hit_bytes(r)).sum::<usize>() - 1);
        assert_eq!(req.headers, vec![("Content-Type".into(), "application/json".into()), ("User-Agent".into(), "Mesure".into())]);
        assert_eq!(req.timeout_ms, 9);
    }
}
