//! What leaves for the consent endpoint: the receipts not sent yet, and the
//! consent statistics, each kind in requests of its own (a count never
//! travels beside a consent-proof id, so it stays unlinkable), and the
//! send-time check both pass ([`check`]).
//!
//! Which receipts were sent is a marker file beside the receipts (the
//! consent-proof id and the last number acknowledged), written by the
//! uploader alone. A chain started afresh (after `delete_local_data`) has a
//! new consent-proof id: the old marker no longer matches, and the new
//! chain is sent from its first receipt.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::stats::StatRow;
use crate::consent::receipts::{self, Receipt};
use crate::store::{remove_if_present, replace_file, StoreError};

/// Name of the marker file inside the storage directory.
pub const SENT_FILE_NAME: &str = "mesure.receipts.sent";
/// Receipts per request, at most.
pub const MAX_RECEIPTS_PER_REQUEST: usize = 50;
/// The `type` of a request of receipts.
pub const RECEIPTS_TYPE: &str = "consent_receipts";
/// The `type` of a request of statistics.
pub const STATISTICS_TYPE: &str = "consent_statistics";

/// The last receipt the consent endpoint acknowledged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SentMarker {
    pub consent_id: String,
    pub n: u64,
}

/// The receipts of the chain not acknowledged yet, oldest first, at most
/// [`MAX_RECEIPTS_PER_REQUEST`]. Reads up to the first line that does not
/// parse (a receipt being appended): it is sent next time.
pub fn unsent_receipts(dir: &Path) -> Result<Vec<Receipt>, StoreError> {
    let marker = read_marker(dir);
    let mut out = Vec::new();
    for line in receipts::read_lines(dir)? {
        let Ok(r) = serde_json::from_str::<Receipt>(&line) else { break };
        let sent = marker.as_ref().is_some_and(|m| m.consent_id == r.consent_id && r.n <= m.n);
        if !sent {
            out.push(r);
            if out.len() == MAX_RECEIPTS_PER_REQUEST {
                break;
            }
        }
    }
    Ok(out)
}

fn read_marker(dir: &Path) -> Option<SentMarker> {
    std::fs::read(dir.join(SENT_FILE_NAME)).ok().and_then(|b| serde_json::from_slice(&b).ok())
}

/// Records that the consent endpoint acknowledged receipts up to `last`.
pub fn mark_sent(dir: &Path, last: &Receipt) -> Result<(), StoreError> {
    let marker = SentMarker { consent_id: last.consent_id.clone(), n: last.n };
    let json = serde_json::to_vec(&marker).map_err(|e| StoreError::Unavailable(e.to_string()))?;
    replace_file(dir, SENT_FILE_NAME, &json)
}

/// Deletes the marker (`delete_local_data`).
pub fn delete_marker(dir: &Path) -> Result<(), StoreError> {
    remove_if_present(&dir.join(SENT_FILE_NAME)).map(drop)
}

/// The body of a request of receipts, each as stored.
pub fn receipts_body(receipts: &[Receipt]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "type": RECEIPTS_TYPE, "receipts": receipts })).unwrap_or_default()
}

/// The body of a request of statistics: counts, days and prompts only.
pub fn statistics_body(rows: &[StatRow]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "type": STATISTICS_TYPE, "counts": rows })).unwrap_or_default()
}

/// Keys a receipt request may hold (`purposes` holds the purposes' names).
const RECEIPT_KEYS: [&str; 11] = ["n", "consent_id", "at", "at_ms", "mode", "purposes", "prompt", "sdk", "policy", "prev", "hash"];
const PROMPT_KEYS: [&str; 3] = ["prompt_id", "prompt_version", "locale"];
const STAT_KEYS: [&str; 7] = ["day", "prompt_id", "prompt_version", "shown", "accepted_all", "refused_all", "customised"];

/// The send-time check of a consent request, whatever built it: only the
/// keys of its kind, purposes answered with a purpose mode, a statistics
/// request without any id, and no visitor id of the store anywhere in it
/// (`visitor_ids`). An error says what was found; the request is not sent.
pub fn check(body: &[u8], visitor_ids: &[String]) -> Result<(), String> {
    let json: Json = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let text = String::from_utf8_lossy(body);
    if let Some(id) = visitor_ids.iter().find(|id| id.len() >= 8 && text.contains(id.as_str())) {
        return Err(format!("it holds a visitor id ({})", crate::diagnostics::short_id(id)));
    }
    let Some(top) = json.as_object() else { return Err("not a JSON object".into()) };
    let only = |o: &serde_json::Map<String, Json>, keys: &[&str], what: &str| match o.keys().find(|k| !keys.contains(&k.as_str())) {
        Some(k) => Err(format!("{what} holds {k:?}")),
        None => Ok(()),
    };
    match top.get("type").and_then(Json::as_str) {
        Some(RECEIPTS_TYPE) => {
            only(top, &["type", "receipts"], "the request")?;
            for r in top.get("receipts").and_then(Json::as_array).ok_or("no receipts")? {
                let r = r.as_object().ok_or("a receipt is not an object")?;
                only(r, &RECEIPT_KEYS, "a receipt")?;
                if let Some(p) = r.get("prompt") {
                    only(p.as_object().ok_or("a prompt is not an object")?, &PROMPT_KEYS, "a prompt")?;
                }
                for answer in r.get("purposes").and_then(Json::as_object).into_iter().flat_map(|m| m.values()) {
                    if !matches!(answer.as_str(), Some("opt-in" | "essential" | "opt-out" | "not-acquired")) {
                        return Err(format!("a purpose is answered {answer}"));
                    }
                }
            }
            Ok(())
        }
        Some(STATISTICS_TYPE) => {
            only(top, &["type", "counts"], "the request")?;
            for row in top.get("counts").and_then(Json::as_array).ok_or("no counts")? {
                only(row.as_object().ok_or("a count is not an object")?, &STAT_KEYS, "a count")?;
            }
            Ok(())
        }
        _ => Err("an unknown request type".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn receipt(last: Option<&Receipt>, id: &str) -> Receipt {
        let purposes = BTreeMap::from([("audience_measurement".to_owned(), "opt-in".to_owned())]);
        Receipt::next(last, || id.to_owned(), 1_800_000_000_000, "optin", purposes, None, "sha256=ab")
    }

    #[test]
    fn sends_what_was_not_acknowledged_and_a_new_chain_from_its_start() {
        let dir = tempfile::tempdir().unwrap();
        let a = receipt(None, "c1");
        let b = receipt(Some(&a), "");
        receipts::append(dir.path(), &a).unwrap();
        receipts::append(dir.path(), &b).unwrap();
        assert_eq!(unsent_receipts(dir.path()).unwrap(), [a.clone(), b.clone()]);
        mark_sent(dir.path(), &a).unwrap();
        assert_eq!(unsent_receipts(dir.path()).unwrap(), std::slice::from_ref(&b));
        mark_sent(dir.path(), &b).unwrap();
        assert!(unsent_receipts(dir.path()).unwrap().is_empty());
        // delete_local_data, then a new answer: another consent-proof id.
        receipts::delete(dir.path()).unwrap();
        let c = receipt(None, "c2");
        receipts::append(dir.path(), &c).unwrap();
        assert_eq!(unsent_receipts(dir.path()).unwrap(), [c]);
    }

    #[test]
    fn the_check_refuses_a_visitor_id_an_extra_key_or_an_id_in_the_counts() {
        let r = receipt(None, "c1");
        let visitor = "6f1c2a4e-8b1d-4c2e-9f3a-0d5e7b9c1a2f".to_owned();
        assert_eq!(check(&receipts_body(std::slice::from_ref(&r)), std::slice::from_ref(&visitor)), Ok(()));
        let mut leaky = r.clone();
        leaky.consent_id = visitor.clone();
        assert!(check(&receipts_body(&[leaky]), std::slice::from_ref(&visitor)).unwrap_err().contains("visitor id"));
        let extra = br#"{"type":"consent_receipts","receipts":[{"n":1,"idclient":"x"}]}"#;
        assert_eq!(check(extra, &[]), Err("a receipt holds \"idclient\"".into()));
        let id_in_counts = br#"{"type":"consent_statistics","counts":[{"day":"2026-12-01","consent_id":"c1"}]}"#;
        assert_eq!(check(id_in_counts, &[]), Err("a count holds \"consent_id\"".into()));
        let mixed = br#"{"type":"consent_statistics","counts":[],"receipts":[]}"#;
        assert_eq!(check(mixed, &[]), Err("the request holds \"receipts\"".into()));
        let purpose = br#"{"type":"consent_receipts","receipts":[{"purposes":{"ads":"jane@example.com"}}]}"#;
        assert!(check(purpose, &[]).unwrap_err().starts_with("a purpose is answered"));
    }
}
