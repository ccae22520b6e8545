//! The Matomo Tracking API, in bulk: `POST {endpoint}/matomo.php` with
//! `{"requests":["?idsite=..&rec=1&..", ..]}`, at most 50 entries of one
//! visitor, oldest first. Piwik PRO speaks the same protocol with a few
//! differences (`piwik_pro.rs` sets them).
//!
//! An entry carries only what the gated hit holds, in Matomo's own fields
//! where it has one (screens as pageviews, other events as events, the
//! screen size as `res`, the device as a user agent built from the hit's
//! fields), and the properties the configuration maps to custom
//! dimensions. Never a cookie, a referrer, a language, the device's local
//! time, campaign parameters or `token_auth`; the visitor as Matomo's
//! 16-hex `_id` from the app-scoped id (13 months, never extended), or, in
//! the anonymous modes, a fixed id shared by every visitor of that mode
//! with `new_visit=1`: sending no id is not anonymous in Matomo (the server
//! falls back to a daily fingerprint of the IP and the user agent).

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde_json::Value as Json;

use super::{json_headers, percent_encode, Batch, Dialect, Encoded, StoredHit};
use crate::clock::EpochMillis;
use crate::diagnostics::{DropReason, Dropped, EgressReason};
use crate::hit::{events, reserved};
use crate::mode::{VisitorMode, FIXED_VISITOR_IDS};
use crate::store::PendingRow;
use crate::upload::http::HttpRequest;
use crate::version::SDK_VERSION;

/// Entries in one bulk request, at most (Matomo's mobile SDKs' batch).
pub const MAX_ENTRIES: usize = 50;
/// A hit older than this is never sent: Matomo counts an action older than
/// 24 hours invalid without saying which (an hour of margin for the time
/// the request takes and clocks that disagree).
pub const MAX_AGE_MS: i64 = 23 * 3_600_000;
/// `{"requests":[` and `]}`.
const ENVELOPE_BYTES: usize = 16;
/// The fixed parameters of an entry, at most (`?idsite=..&rec=1&apiv=1&_id=..&cdo=..` and the like).
const ENTRY_OVERHEAD_BYTES: usize = 400;

/// The SDK's own fields that the wire carries in its own form, or that a
/// report about the configuration lists instead of each hit (not mapped:
/// left out without a note per hit).
const SDK_FIELDS: [&str; 9] = [
    reserved::EVENT_ID,
    reserved::VISITOR_PRIVACY_MODE,
    reserved::VISITOR_PRIVACY_CONSENT,
    reserved::VISITOR_PRIVACY_PURPOSES,
    reserved::DEVICE_TIMESTAMP_UTC,
    reserved::EVENT_COLLECTION_PLATFORM,
    reserved::EVENT_COLLECTION_VERSION,
    "device_brand",
    "device_type",
];
/// The properties that say whether the visitor consented: the only custom
/// dimensions a Piwik PRO hit without consent carries.
const CONSENT_FIELDS: [&str; 2] = [reserved::VISITOR_PRIVACY_MODE, reserved::VISITOR_PRIVACY_CONSENT];

/// What differs between collectors of this protocol.
pub(crate) struct Flavour {
    /// The tracker's path under the endpoint.
    pub path: &'static str,
    /// `ts_n` / `ts_v`: the tracker's name and version, when the collector wants them.
    pub tracker: Option<&'static str>,
    /// Hits without consent carry `uia=1` and no custom dimension but the consent ones.
    pub anonymous_without_consent: bool,
}

pub(crate) struct Matomo {
    /// `idsite`.
    pub idsite: String,
    pub app_host: String,
    pub dimensions: BTreeMap<String, u32>,
    pub flavour: Flavour,
    /// The visitor and `pv_id` of the last screen view encoded: hits leave
    /// oldest first, so a click whose screen left in an earlier request (a
    /// batch split by the collector, a full batch) still carries its
    /// screen's `pv_id`. Lost with the process: the first click after a
    /// restart carries none.
    pub last_screen: Mutex<Option<(String, String)>>,
}

impl Matomo {
    pub fn new(site_id: u32, app_host: &str, dimensions: &BTreeMap<String, u32>) -> Matomo {
        Matomo {
            idsite: site_id.to_string(),
            app_host: app_host.to_owned(),
            dimensions: dimensions.clone(),
            flavour: Flavour { path: "/matomo.php", tracker: None, anonymous_without_consent: false },
            last_screen: Mutex::new(None),
        }
    }

    /// One entry's query string (with its leading `?`); the properties left
    /// out for want of a place on the wire go to `held`.
    fn entry(&self, row: &PendingRow, hit: &StoredHit, now: EpochMillis, screen: &mut Option<String>, held: &mut Vec<(String, Dropped)>) -> String {
        let mode = VisitorMode::parse(&row.mode);
        let consent = mode.consent();
        let data = &hit.data;
        let text = |k: &str| data.get(k).and_then(Json::as_str).filter(|s| !s.is_empty());
        let mut q = Query::default();
        q.add("idsite", &self.idsite);
        q.add("rec", "1");
        q.add("apiv", "1");
        if let Some(version) = self.flavour.tracker {
            q.add("ts_n", "mesure");
            q.add("ts_v", version);
        }
        // A fixed id: no page view id either (it would tie a screen to its clicks).
        let anonymous = FIXED_VISITOR_IDS.contains(&row.visitor_id.as_str());
        if anonymous {
            q.add("cid", &fixed_cid(&row.visitor_id));
            q.add("new_visit", "1");
        } else {
            q.add("_id", &hex16(&row.visitor_id));
        }
        let mut used: Vec<&str> = Vec::with_capacity(16);
        if mode == VisitorMode::OptIn {
            if let Some(uid) = text("user_id") {
                q.add("uid", uid);
                used.push("user_id");
            }
        }
        if self.flavour.anonymous_without_consent && !consent {
            q.add("uia", "1");
        }
        let age_s = now.saturating_sub(row.tracked_at_ms).max(0) / 1000;
        q.add("cdo", &age_s.to_string());
        let pv_id: String = row.event_id.chars().filter(char::is_ascii_hexdigit).take(6).collect::<String>().to_ascii_lowercase();
        if hit.name == events::PAGE_DISPLAY {
            let mut url = format!("https://{}/", self.app_host);
            let parts: Vec<&str> = ["page_chapter1", "page_chapter2", "page_chapter3", "page"].into_iter().filter(|k| text(k).is_some()).collect();
            url.push_str(&parts.iter().filter_map(|k| text(k)).map(percent_encode).collect::<Vec<_>>().join("/"));
            q.add("url", &url);
            if let Some(page) = text("page") {
                q.add("action_name", page);
            }
            // What is not text (a number as the page) falls to the dimensions.
            used.extend(parts);
            if !anonymous {
                q.add("pv_id", &pv_id);
                *screen = Some(pv_id);
            }
        } else {
            let (category, action) = match hit.name.split_once('.') {
                Some((c, a)) if !c.is_empty() && !a.is_empty() => (c, a),
                _ => (hit.name.as_str(), hit.name.as_str()),
            };
            q.add("e_c", category);
            q.add("e_a", action);
            if category == "click" {
                let parts: Vec<&str> =
                    ["click_chapter1", "click_chapter2", "click_chapter3", "click"].into_iter().filter(|k| text(k).is_some()).collect();
                if text("click").is_some() {
                    q.add("e_n", &parts.iter().filter_map(|k| text(k)).collect::<Vec<_>>().join("::"));
                    used.extend(parts);
                }
            }
            if let Some(pv) = screen.as_deref() {
                q.add("pv_id", pv);
            }
        }
        let number = |k: &str| data.get(k).and_then(Json::as_u64);
        if let (Some(w), Some(h)) = (number("device_screen_width"), number("device_screen_height")) {
            q.add("res", &format!("{w}x{h}"));
            used.extend(["device_screen_width", "device_screen_height"]);
        }
        if let Some(ua) = user_agent(text("os"), text("os_version"), text("device_model")) {
            q.add("ua", &ua);
            used.extend(["os", "os_version", "device_model"].into_iter().filter(|k| text(k).is_some()));
        }
        for (key, value) in data {
            if used.contains(&key.as_str()) {
                continue;
            }
            let dimension =
                self.dimensions.get(key).filter(|_| consent || !self.flavour.anonymous_without_consent || CONSENT_FIELDS.contains(&key.as_str()));
            match dimension {
                Some(n) => q.add(&format!("dimension{n}"), &dimension_text(value)),
                None if SDK_FIELDS.contains(&key.as_str()) => {}
                None => {
                    held.push((row.mode.clone(), Dropped { event: hit.name.clone(), property: Some(key.clone()), reason: DropReason::NotOnWire }))
                }
            }
        }
        q.0
    }
}

impl Dialect for Matomo {
    fn envelope_bytes(&self) -> usize {
        ENVELOPE_BYTES
    }

    fn hit_bytes(&self, row: &PendingRow) -> usize {
        // Every byte percent-encoded at worst, plus the fixed parameters.
        row.body.len() * 3 + ENTRY_OVERHEAD_BYTES
    }

    fn max_hits(&self) -> usize {
        MAX_ENTRIES
    }

    fn hold(&self, row: &PendingRow, now: EpochMillis) -> Option<EgressReason> {
        (now.saturating_sub(row.tracked_at_ms) > MAX_AGE_MS).then_some(EgressReason::TooOldForCollector)
    }

    fn request(&self, batch: &Batch<'_>) -> Encoded {
        let mut held = Vec::new();
        let mut last = self.last_screen.lock().unwrap_or_else(|p| p.into_inner());
        let mut screen = last.as_ref().filter(|(visitor, _)| visitor == batch.visitor).map(|(_, pv)| pv.clone());
        let entries: Vec<Json> = batch
            .rows
            .iter()
            .filter_map(|row| StoredHit::read(&row.body).map(|hit| Json::String(self.entry(row, &hit, batch.now_ms, &mut screen, &mut held))))
            .collect();
        if let Some(pv) = screen {
            *last = Some((batch.visitor.to_owned(), pv));
        }
        drop(last);
        let body = serde_json::json!({ "requests": entries }).to_string();
        let request = HttpRequest {
            url: format!("{}{}", batch.endpoint, self.flavour.path),
            headers: json_headers(),
            body: body.into_bytes(),
            timeout_ms: batch.timeout_ms,
        };
        Encoded { request, held }
    }

    fn sent(&self, row: &PendingRow, now: EpochMillis) -> Option<(String, Vec<String>)> {
        let hit = StoredHit::read(&row.body)?;
        let entry = self.entry(row, &hit, now, &mut None, &mut Vec::new());
        let keys = entry.trim_start_matches('?').split('&').filter_map(|kv| kv.split_once('=')).map(|(k, _)| k.to_owned()).collect();
        Some((hit.name, keys))
    }

    fn miscounted(&self, body: &[u8], sent: u64) -> Option<(u64, u64)> {
        let answer: Json = serde_json::from_slice(body).ok()?;
        let tracked = answer.get("tracked").and_then(Json::as_u64)?;
        let invalid = answer.get("invalid").and_then(Json::as_u64).unwrap_or(0);
        (invalid > 0 || tracked.saturating_add(invalid) < sent).then_some((tracked, invalid))
    }
}

/// Query parameters, percent-encoded as they are added.
#[derive(Default)]
struct Query(String);

impl Query {
    fn add(&mut self, key: &str, value: &str) {
        self.0.push(if self.0.is_empty() { '?' } else { '&' });
        self.0.push_str(key);
        self.0.push('=');
        self.0.push_str(&percent_encode(value));
    }
}

/// Matomo's `_id`: the first 16 hex digits of the app-scoped id.
fn hex16(visitor: &str) -> String {
    let hex: String = visitor.chars().filter(char::is_ascii_hexdigit).take(16).collect::<String>().to_ascii_lowercase();
    format!("{hex:0<16}")
}

/// The id shared by every visitor of an anonymous mode: the first 8 bytes
/// of its fixed name, in hex (`opt-out` is `6f70742d6f757400`).
pub(crate) fn fixed_cid(fixed: &str) -> String {
    let mut bytes = [0u8; 8];
    for (b, c) in bytes.iter_mut().zip(fixed.bytes()) {
        *b = c;
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A custom dimension's text: strings as they are, other values as JSON.
fn dimension_text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A user agent Matomo's device detection reads, built from the hit's own
/// fields only (never the system's, which names the app and its build).
fn user_agent(os: Option<&str>, version: Option<&str>, model: Option<&str>) -> Option<String> {
    let os = os?;
    let product = format!("Mesure/{SDK_VERSION}");
    Some(match os.to_ascii_lowercase().as_str() {
        "android" => {
            let mut parts = vec!["Linux".to_owned(), version.map_or("Android".to_owned(), |v| format!("Android {v}"))];
            parts.extend(model.map(str::to_owned));
            format!("Mozilla/5.0 ({}) {product}", parts.join("; "))
        }
        "ios" | "ipados" => {
            let device = if model.is_some_and(|m| m.starts_with("iPad")) { "iPad" } else { "iPhone" };
            let version = version.map(|v| format!(" {}", v.replace('.', "_"))).unwrap_or_default();
            format!("Mozilla/5.0 ({device}; CPU {device} OS{version} like Mac OS X) {product}")
        }
        _ => format!("{product} ({})", [Some(os), version].into_iter().flatten().collect::<Vec<_>>().join(" ")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upload::wire::piwik_pro::piwik_pro;

    const NOW: EpochMillis = 1_800_000_000_000;
    const VISITOR: &str = "3f2a9c4e-8b1d-4f6a-9e2b-7c5d1a0f4e3b";

    fn row(seq: i64, visitor: &str, mode: &str, age_ms: i64, body: Json) -> PendingRow {
        PendingRow {
            seq,
            event_id: format!("a1b2c3d4-0000-4000-8000-00000000000{seq}"),
            visitor_id: visitor.into(),
            mode: mode.into(),
            tracked_at_ms: NOW - age_ms,
            body: body.to_string(),
            site: "7".into(),
            dry_run: false,
        }
    }

    fn dims(d: &[(&str, u32)]) -> BTreeMap<String, u32> {
        d.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    fn entries(wire: &Matomo, rows: &[PendingRow]) -> (HttpRequest, Vec<String>, Vec<(String, Dropped)>) {
        let batch = Batch { endpoint: "https://m.example", site_id: 7, visitor: &rows[0].visitor_id, rows, timeout_ms: 5, now_ms: NOW };
        let Encoded { request, held } = wire.request(&batch);
        let body: Json = serde_json::from_slice(&request.body).unwrap();
        let list = body["requests"].as_array().unwrap().iter().map(|e| e.as_str().unwrap().to_owned()).collect();
        (request, list, held)
    }

    #[test]
    fn an_exempt_screen_and_click_on_the_matomo_wire() {
        let wire = Matomo::new(7, "com.example.news", &dims(&[("app_version", 1), ("visitor_privacy_mode", 2)]));
        let screen = serde_json::json!({"name": "page.display", "data": {
            "page": "Top stories", "page_chapter1": "news", "event_id": "x", "os": "android", "os_version": "14",
            "device_model": "Pixel 8", "device_screen_width": 1080, "device_screen_height": 2400, "app_version": "3.2",
            "visitor_privacy_mode": "exempt", "visitor_privacy_consent": false, "event_collection_platform": "android",
            "device_timestamp_utc": 1, "connection_type": "wifi"}});
        let click =
            serde_json::json!({"name": "click.navigation", "data": {"click": "More", "click_chapter1": "menu", "visitor_privacy_mode": "exempt"}});
        let rows = [row(1, VISITOR, "exempt", 90_500, screen), row(2, VISITOR, "exempt", 1_000, click)];
        let (request, list, held) = entries(&wire, &rows);
        assert_eq!(request.url, "https://m.example/matomo.php");
        assert_eq!(request.headers, vec![("Content-Type".into(), "application/json".into()), ("User-Agent".into(), "Mesure".into())]);
        let ua = percent_encode(&format!("Mozilla/5.0 (Linux; Android 14; Pixel 8) Mesure/{SDK_VERSION}"));
        assert_eq!(
            list[0],
            format!(
                "?idsite=7&rec=1&apiv=1&_id=3f2a9c4e8b1d4f6a&cdo=90&url=https%3A%2F%2Fcom.example.news%2Fnews%2FTop%2520stories\
                 &action_name=Top%20stories&pv_id=a1b2c3&res=1080x2400&ua={ua}&dimension1=3.2&dimension2=exempt"
            )
        );
        assert_eq!(
            list[1],
            "?idsite=7&rec=1&apiv=1&_id=3f2a9c4e8b1d4f6a&cdo=1&e_c=click&e_a=navigation&e_n=menu%3A%3AMore&pv_id=a1b2c3&dimension2=exempt"
        );
        // connection_type is not mapped: held back and reported.
        assert_eq!(held.len(), 1);
        assert_eq!(
            (held[0].0.as_str(), held[0].1.property.as_deref(), &held[0].1.reason),
            ("exempt", Some("connection_type"), &DropReason::NotOnWire)
        );
    }

    #[test]
    fn a_click_sent_after_its_screen_keeps_the_screen_view_id() {
        let wire = Matomo::new(7, "app", &BTreeMap::new());
        let screen = row(1, VISITOR, "exempt", 0, serde_json::json!({"name": "page.display", "data": {"page": "p"}}));
        let click = row(2, VISITOR, "exempt", 0, serde_json::json!({"name": "click.action", "data": {"click": "c"}}));
        let (_, both, _) = entries(&wire, &[screen.clone(), click.clone()]);
        // The same click alone, after its screen left in an earlier request (a split batch).
        let (_, alone, _) = entries(&wire, std::slice::from_ref(&click));
        assert_eq!(alone[0], both[1]);
        assert!(alone[0].ends_with("&pv_id=a1b2c3"), "{}", alone[0]);
        // Another visitor's click does not take it.
        let other = row(3, "9f2a9c4e-8b1d-4f6a-9e2b-7c5d1a0f4e3b", "exempt", 0, serde_json::json!({"name": "click.action", "data": {"click": "c"}}));
        let (_, list, _) = entries(&wire, &[other]);
        assert!(!list[0].contains("pv_id"), "{}", list[0]);
    }

    #[test]
    fn anonymous_modes_share_a_fixed_id_and_start_a_visit_each_time() {
        let wire = Matomo::new(7, "app", &BTreeMap::new());
        let rows = [row(1, "opt-out", "optout", 0, serde_json::json!({"name": "page.display", "data": {"page": "p"}}))];
        let (_, list, _) = entries(&wire, &rows);
        assert_eq!(list[0], "?idsite=7&rec=1&apiv=1&cid=6f70742d6f757400&new_visit=1&cdo=0&url=https%3A%2F%2Fapp%2Fp&action_name=p");
        assert_eq!(fixed_cid("Consent-NO"), "436f6e73656e742d");
        assert_eq!(fixed_cid("no-storage"), "6e6f2d73746f7261");
    }

    #[test]
    fn a_user_id_leaves_only_as_uid_in_opt_in() {
        let wire = Matomo::new(7, "app", &BTreeMap::new());
        let hit = serde_json::json!({"name": "search.submit", "data": {"user_id": "u-9"}});
        let (_, list, held) = entries(&wire, &[row(1, VISITOR, "optin", 0, hit.clone())]);
        assert_eq!(list[0], "?idsite=7&rec=1&apiv=1&_id=3f2a9c4e8b1d4f6a&uid=u-9&cdo=0&e_c=search&e_a=submit");
        assert!(held.is_empty());
        // In any other mode (the gate would not let it out, but the wire never writes it either).
        let (_, list, held) = entries(&wire, &[row(1, VISITOR, "exempt", 0, hit)]);
        assert!(!list[0].contains("uid="), "{}", list[0]);
        assert_eq!(held[0].1.property.as_deref(), Some("user_id"));
    }

    #[test]
    fn events_always_have_a_category_and_an_action() {
        let wire = Matomo::new(7, "app", &BTreeMap::new());
        for (name, ca) in [("search", "e_c=search&e_a=search"), ("a.b.c", "e_c=a&e_a=b.c"), ("click.exit", "e_c=click&e_a=exit")] {
            let (_, list, _) = entries(&wire, &[row(1, VISITOR, "exempt", 0, serde_json::json!({"name": name, "data": {}}))]);
            assert!(list[0].ends_with(ca), "{name}: {}", list[0]);
        }
    }

    #[test]
    fn nothing_a_hit_must_not_carry_is_ever_written() {
        let wire = Matomo::new(7, "app", &dims(&[("visitor_privacy_mode", 1)]));
        let hit = serde_json::json!({"name": "page.display", "data": {"page": "p", "previous_page": "q", "device_timestamp_utc": 5}});
        let (_, list, _) = entries(&wire, &[row(1, VISITOR, "exempt", 0, hit)]);
        let keys: Vec<&str> = list[0][1..].split('&').map(|kv| kv.split('=').next().unwrap()).collect();
        for never in ["urlref", "lang", "h", "m", "s", "_idts", "_idvc", "_viewts", "_rcn", "_rck", "cip", "cdt", "token_auth", "uid"] {
            assert!(!keys.contains(&never), "{never} in {}", list[0]);
        }
    }

    #[test]
    fn a_field_that_is_not_text_is_never_dropped_silently() {
        let wire = Matomo::new(7, "app", &dims(&[("page", 5)]));
        let hit = serde_json::json!({"name": "page.display", "data": {"page": 12, "page_chapter1": "news", "os": 3}});
        let (_, list, held) = entries(&wire, &[row(1, VISITOR, "exempt", 0, hit)]);
        // Not a name for the URL: the mapped page goes to its dimension, the unmapped os is reported.
        assert_eq!(list[0], "?idsite=7&rec=1&apiv=1&_id=3f2a9c4e8b1d4f6a&cdo=0&url=https%3A%2F%2Fapp%2Fnews&pv_id=a1b2c3&dimension5=12");
        assert_eq!(held.iter().map(|(_, d)| d.property.as_deref()).collect::<Vec<_>>(), [Some("os")]);
    }

    #[test]
    fn hits_older_than_23_hours_are_held_back() {
        let wire = Matomo::new(7, "app", &BTreeMap::new());
        let hit = serde_json::json!({"name": "page.display", "data": {}});
        assert_eq!(wire.hold(&row(1, VISITOR, "exempt", MAX_AGE_MS, hit.clone()), NOW), None);
        assert_eq!(wire.hold(&row(1, VISITOR, "exempt", MAX_AGE_MS + 1, hit.clone()), NOW), Some(EgressReason::TooOldForCollector));
        // Dated in the future (a clock set back): sent, with cdo 0.
        assert_eq!(wire.hold(&row(1, VISITOR, "exempt", -60_000, hit.clone()), NOW), None);
        let (_, list, _) = entries(&wire, &[row(1, VISITOR, "exempt", -60_000, hit)]);
        assert!(list[0].contains("&cdo=0&"), "{}", list[0]);
    }

    #[test]
    fn the_answer_counts() {
        let wire = Matomo::new(7, "app", &BTreeMap::new());
        assert_eq!(wire.miscounted(br#"{"status":"success","tracked":3,"invalid":0}"#, 3), None);
        assert_eq!(wire.miscounted(br#"{"status":"success","tracked":2,"invalid":1}"#, 3), Some((2, 1)));
        assert_eq!(wire.miscounted(br#"{"status":"success","tracked":2,"invalid":0}"#, 3), Some((2, 0)));
        assert_eq!(wire.miscounted(b"", 3), None);
        assert_eq!(wire.miscounted(b"<html>", 3), None);
    }

    #[test]
    fn piwik_pro_marks_unconsented_hits_anonymous_and_keeps_only_the_consent_dimension() {
        let app = "0B7F6E5A-1C2D-4E3F-9A8B-7C6D5E4F3A2B";
        let wire = piwik_pro(app, "com.example", &dims(&[("app_version", 1), ("visitor_privacy_mode", 2)]));
        let data = serde_json::json!({"page": "p", "app_version": "3.2", "visitor_privacy_mode": "exempt"});
        let (request, list, held) = entries(&wire, &[row(1, VISITOR, "exempt", 0, serde_json::json!({"name": "page.display", "data": data}))]);
        assert_eq!(request.url, "https://m.example/ppms.php");
        assert_eq!(
            list[0],
            format!(
                "?idsite=0b7f6e5a-1c2d-4e3f-9a8b-7c6d5e4f3a2b&rec=1&apiv=1&ts_n=mesure&ts_v={SDK_VERSION}&_id=3f2a9c4e8b1d4f6a&uia=1&cdo=0\
                 &url=https%3A%2F%2Fcom.example%2Fp&action_name=p&pv_id=a1b2c3&dimension2=exempt"
            )
        );
        assert_eq!(held[0].1.property.as_deref(), Some("app_version"));
        // With consent: every mapped dimension, no uia.
        let data = serde_json::json!({"page": "p", "app_version": "3.2", "visitor_privacy_mode": "optin"});
        let (_, list, held) = entries(&wire, &[row(1, VISITOR, "optin", 0, serde_json::json!({"name": "page.display", "data": data}))]);
        assert!(!list[0].contains("uia="), "{}", list[0]);
        assert!(list[0].ends_with("&dimension1=3.2&dimension2=optin"), "{}", list[0]);
        assert!(held.is_empty());
    }

    #[test]
    fn user_agents_from_the_hit_only() {
        let v = SDK_VERSION;
        assert_eq!(
            user_agent(Some("ios"), Some("17.2"), Some("iPad13,4")).unwrap(),
            format!("Mozilla/5.0 (iPad; CPU iPad OS 17_2 like Mac OS X) Mesure/{v}")
        );
        assert_eq!(user_agent(Some("ios"), None, None).unwrap(), format!("Mozilla/5.0 (iPhone; CPU iPhone OS like Mac OS X) Mesure/{v}"));
        assert_eq!(user_agent(Some("android"), None, None).unwrap(), format!("Mozilla/5.0 (Linux; Android) Mesure/{v}"));
        assert_eq!(user_agent(Some("linux"), Some("6.1"), Some("x")).unwrap(), format!("Mesure/{v} (linux 6.1)"));
        assert_eq!(user_agent(None, Some("14"), Some("Pixel")), None);
    }
}
