//! Runs the cross-language conformance vectors (`tests/vectors/*.json`)
//! against the Rust API. The Kotlin and Swift runners run the same files
//! through the generated bindings. The format is described in
//! `tests/vectors/README.md`.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use chrono::DateTime;
use mesure_core::testing::ManualClock;
use mesure_core::*;
use serde_json::{json, Map, Value as Json};

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors")
}

/// The consent endpoint a vector's `"consent": {"endpoint":
/// "$consent_endpoint"}` stands for: the same URL in every runner (the
/// policy hash covers it).
const CONSENT_ENDPOINT: &str = "https://collect.example.test/consent";

/// One request to the consent endpoint: its `Mesure-Policy` header, its
/// body as sent and as JSON.
struct ConsentRequest {
    policy: Option<String>,
    text: String,
    body: Json,
}

/// Records every request and acknowledges it: the collection requests in
/// `requests`, those to the consent endpoint apart, in `consent`.
#[derive(Default)]
struct Capture {
    requests: Mutex<Vec<(String, Json)>>,
    consent: Mutex<Vec<ConsentRequest>>,
}

impl HttpClient for Capture {
    fn send(&self, request: HttpRequest, completion: Completion) {
        let body = serde_json::from_slice(&request.body).unwrap_or(Json::Null);
        if request.url == CONSENT_ENDPOINT {
            let policy = request.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("Mesure-Policy")).map(|(_, v)| v.clone());
            let text = String::from_utf8_lossy(&request.body).into_owned();
            self.consent.lock().unwrap().push(ConsentRequest { policy, text, body });
        } else {
            self.requests.lock().unwrap().push((request.url, body));
        }
        completion.complete(HttpOutcome::Response { status: 200, retry_after: None, body: Vec::new() });
    }
}

fn ms(rfc3339: &str) -> i64 {
    DateTime::parse_from_rfc3339(rfc3339).expect("vector timestamp").timestamp_millis()
}

fn value(v: &Json) -> Value {
    fn list<T>(v: &Json, f: impl Fn(&Json) -> T) -> Vec<T> {
        v.as_array().expect("array").iter().map(f).collect()
    }
    match v {
        Json::String(s) => Value::String(s.clone()),
        Json::Object(o) => {
            let (kind, x) = o.iter().next().expect("typed value");
            match kind.as_str() {
                "int" => Value::Int(x.as_i64().expect("int")),
                "float" => Value::Float(x.as_f64().expect("float")),
                "bool" => Value::Bool(x.as_bool().expect("bool")),
                "date" => Value::Date(ms(x.as_str().expect("date"))),
                "strings" => Value::StringArray(list(x, |e| e.as_str().expect("string").to_owned())),
                "ints" => Value::IntArray(list(x, |e| e.as_i64().expect("int"))),
                "floats" => Value::FloatArray(list(x, |e| e.as_f64().expect("float"))),
                "bools" => Value::BoolArray(list(x, |e| e.as_bool().expect("bool"))),
                "dates" => Value::DateArray(list(x, |e| ms(e.as_str().expect("date")))),
                other => panic!("unknown value type {other}"),
            }
        }
        other => panic!("property values are strings or typed objects, not {other}"),
    }
}

fn track_error_code(e: &TrackError) -> &'static str {
    e.code()
}

/// Placeholder bindings shared by one vector run.
#[derive(Default)]
struct Bindings {
    visitors: HashMap<String, String>,
    event_ids: HashSet<String>,
    /// `$hashN`: one `sha256=<64 hex>` per N.
    hashes: HashMap<String, String>,
    /// `$consent_id`: the consent-proof id, once seen.
    consent_id: Option<String>,
    /// `$policy`: the SDK's policy hash in this run.
    policy: String,
}

/// The same id, whichever form each place shows: Matomo's `_id` is the
/// first 16 hex digits of the app-scoped UUID.
fn same_id(x: &str, y: &str) -> bool {
    x == y || (x.len() != y.len() && hex16(x) == hex16(y))
}

/// The first 16 hex digits of an id (Matomo's `_id` of an app-scoped id).
fn hex16(s: &str) -> String {
    s.chars().filter(char::is_ascii_hexdigit).take(16).collect()
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn is_uuid_v4(s: &str) -> bool {
    uuid::Uuid::parse_str(s).map(|u| u.get_version_num() == 4).unwrap_or(false)
}

/// Compares `actual` with `expected`, where expected strings may be placeholders:
/// `$uuid` (a v4 UUID never seen before in this run), `$visitorN` (a v4 UUID,
/// the same for the same N, different for different N), `$sdk_version`,
/// and in consent requests `$consent_id` (one v4 UUID throughout the run,
/// never a visitor's id), `$hashN` (`sha256=<64 hex>`, bound as `$visitorN`)
/// and `$policy` (the SDK's policy hash).
fn matches(expected: &Json, actual: &Json, b: &mut Bindings, path: &str) -> Result<(), String> {
    let fail = |why: String| Err(format!("{path}: {why}"));
    match (expected, actual) {
        (Json::String(e), _) if e == "$uuid" => match actual.as_str() {
            Some(a) if is_uuid_v4(a) && b.event_ids.insert(a.to_owned()) => Ok(()),
            _ => fail(format!("expected a fresh v4 UUID, got {actual}")),
        },
        (Json::String(e), _) if e == "$consent_id" => {
            let Some(a) = actual.as_str().filter(|a| is_uuid_v4(a)) else {
                return fail(format!("expected the consent-proof id, a v4 UUID, got {actual}"));
            };
            if let Some((v, _)) = b.visitors.iter().find(|(k, v)| k.starts_with("$visitor") && same_id(v, a)) {
                return fail(format!("the consent-proof id {a} is {v}'s id"));
            }
            match &b.consent_id {
                Some(bound) if bound == a => Ok(()),
                Some(bound) => fail(format!("$consent_id was {bound}, now {a}")),
                None => {
                    b.consent_id = Some(a.to_owned());
                    Ok(())
                }
            }
        }
        (Json::String(e), _) if e == "$policy" => match actual.as_str() {
            Some(a) if a == b.policy => Ok(()),
            _ => fail(format!("expected the SDK's policy hash {}, got {actual}", b.policy)),
        },
        (Json::String(e), _) if e.starts_with("$hash") => {
            let Some(a) = actual.as_str().filter(|a| a.strip_prefix("sha256=").is_some_and(|h| is_hex(h, 64))) else {
                return fail(format!("expected sha256=<64 hex> for {e}, got {actual}"));
            };
            match b.hashes.get(e) {
                Some(bound) if bound == a => Ok(()),
                Some(bound) => fail(format!("{e} was {bound}, now {a}")),
                None if b.hashes.values().any(|h| h == a) => fail(format!("{e} is another placeholder's hash {a}")),
                None => {
                    b.hashes.insert(e.clone(), a.to_owned());
                    Ok(())
                }
            }
        }
        (Json::String(e), _) if e.starts_with("$visitor") || e.starts_with("$pv") => {
            // A visitor: a v4 UUID (Piano), Matomo's 16-hex `_id`; a screen view: 6 hex.
            let ok = |a: &&str| match e.starts_with("$pv") {
                true => is_hex(a, 6),
                false => is_uuid_v4(a) || is_hex(a, 16),
            };
            let Some(a) = actual.as_str().filter(ok) else {
                return fail(format!("expected a fresh id for {e}, got {actual}"));
            };
            // Matomo's `_id` is the first 16 hex digits of the app-scoped
            // id: the same visitor whichever form each place shows.
            match b.visitors.get(e) {
                Some(bound) if same_id(bound, a) => Ok(()),
                Some(bound) => fail(format!("{e} was {bound}, now {a}")),
                None if b.visitors.values().any(|v| same_id(v, a)) => fail(format!("{e} reuses another visitor's id {a}")),
                None if b.consent_id.as_deref().is_some_and(|c| same_id(c, a)) => fail(format!("{e} is the consent-proof id {a}")),
                None => {
                    b.visitors.insert(e.clone(), a.to_owned());
                    Ok(())
                }
            }
        }
        (Json::String(e), Json::String(a)) if e.contains("$sdk_version") => {
            if *a == e.replace("$sdk_version", SDK_VERSION) {
                Ok(())
            } else {
                fail(format!("expected {e} with the sdk version, got {a}"))
            }
        }
        (Json::Object(e), Json::Object(a)) => {
            let ek: Vec<_> = e.keys().collect();
            let ak: Vec<_> = a.keys().collect();
            if ek != ak {
                return fail(format!("keys differ: expected {ek:?}, got {ak:?}"));
            }
            for (k, ev) in e {
                matches(ev, &a[k], b, &format!("{path}.{k}"))?;
            }
            Ok(())
        }
        (Json::Array(e), Json::Array(a)) => {
            if e.len() != a.len() {
                return fail(format!("expected {} items, got {}: {actual}", e.len(), a.len()));
            }
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                matches(ev, av, b, &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        (Json::Number(e), Json::Number(a)) if e.as_f64() == a.as_f64() => Ok(()),
        _ if expected == actual => Ok(()),
        _ => fail(format!("expected {expected}, got {actual}")),
    }
}

/// The dialects every vector runs under, and the collector each sets
/// (`tests/vectors/README.md`).
const DIALECTS: [&str; 3] = ["piano", "matomo", "piwik_pro"];

fn collector(dialect: &str) -> Json {
    let dimensions = json!({"app_version": 1, "connection_type": 2, "visitor_privacy_mode": 3, "visitor_privacy_consent": 4});
    match dialect {
        "matomo" => json!({"dialect": "matomo", "app_host": "app.example", "dimensions": dimensions}),
        "piwik_pro" => json!({"dialect": "piwik_pro", "app_id": PIWIK_PRO_APP, "app_host": "app.example", "dimensions": dimensions}),
        _ => json!({"dialect": "piano"}),
    }
}

const PIWIK_PRO_APP: &str = "0b7f6e5a-1c2d-4e3f-9a8b-7c6d5e4f3a2b";

/// A Matomo bulk request as the vectors state it: the path and each entry's parameters, decoded.
fn matomo_request(url: &str, body: &Json) -> Json {
    let path = url.strip_prefix("https://collect.example.test").unwrap_or(url);
    let entries: Vec<Json> = body["requests"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|e| {
                    let q = e.as_str().unwrap_or_default().trim_start_matches('?');
                    let map: Map<String, Json> = q
                        .split('&')
                        .filter_map(|kv| kv.split_once('='))
                        .map(|(k, v)| (common::form_decode(k), Json::String(common::form_decode(v))))
                        .collect();
                    Json::Object(map)
                })
                .collect()
        })
        .unwrap_or_default();
    json!({"path": path, "entries": entries})
}

fn run(path: &PathBuf, dialect: &str) -> Result<(), String> {
    let v: Json = serde_json::from_str(&std::fs::read_to_string(path).map_err(|e| e.to_string())?).map_err(|e| format!("bad JSON: {e}"))?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut cfg: Map<String, Json> = v["config"].as_object().cloned().unwrap_or_default();
    cfg.insert("collector".into(), collector(dialect));
    cfg.insert("collect_endpoint".into(), json!("https://collect.example.test"));
    cfg.insert("storage_dir".into(), json!(dir.path()));
    cfg.insert("flush_interval_ms".into(), json!(3_600_000));
    if let Some(consent) = cfg.get_mut("consent").and_then(Json::as_object_mut) {
        if consent.get("endpoint").and_then(Json::as_str) == Some("$consent_endpoint") {
            consent.insert("endpoint".into(), json!(CONSENT_ENDPOINT));
        }
    }
    let config = Config::from_json(&Json::Object(cfg).to_string()).map_err(|e| e.to_string())?;
    let site = config.site_id.to_string();
    let clock = Arc::new(ManualClock::new(ms(v["start"].as_str().ok_or("start")?)));
    let recorder = Arc::new(common::Recorder::default());
    let capture = Arc::new(Capture::default());
    let builder = || Sdk::builder(config.clone()).clock(clock.clone()).listener(recorder.clone()).http_client(capture.clone());
    let build = || builder().build().map_err(|e| e.to_string());
    let mut sdk = build()?;
    // The SDK's own hash of the configuration it was given: the same file,
    // translated by another runner into its language's config types, must
    // give the same (`tests/vectors/README.md`, "The policy hash").
    let bless_mode = std::env::var_os("MESURE_BLESS_WIRE").is_some();
    if bless_mode {
        bless(path, "policy_hash", dialect, json!(sdk.policy_hash()))?;
    } else {
        check_policy_hash(&v, dialect, &sdk.policy_hash())?;
    }
    // False after `{"restart": "no_wait"}` until a step that waits for the
    // start: a track may then be in the start queue (`Waiting`).
    let mut started = true;
    let mut b = Bindings { policy: sdk.policy_hash(), ..Bindings::default() };

    for (i, step) in v["steps"].as_array().ok_or("steps")?.iter().enumerate() {
        let at = format!("step {i} {step}");
        let expected_error = step.get("error").and_then(Json::as_str);
        let prompt = step.get("prompt").map(|p| prompt_of(p, &at)).transpose()?;
        if let Some(t) = step.get("track") {
            let mut event = Event::new(t["name"].as_str().ok_or("name")?);
            if let Some(props) = t.get("properties").and_then(Json::as_object) {
                event.properties = props.iter().map(|(k, x)| (k.clone(), value(x))).collect();
            }
            let got = sdk.track(event);
            match (got, expected_error, step.get("not_sent").and_then(Json::as_str)) {
                (Err(e), Some(code), _) if track_error_code(&e) == code => {}
                (Ok(TrackOutcome::Waiting), None, _) if !started => {}
                (Ok(TrackOutcome::NotSent { reason }), None, Some(code)) if reason.code() == code => {}
                (Ok(TrackOutcome::Queued { .. }), None, None) => {}
                (got, _, _) => return Err(format!("{at}: got {got:?}")),
            }
        } else if let Some(m) = step.get("set_mode").and_then(Json::as_str) {
            match (sdk.set_mode_from_prompt(VisitorMode::parse(m), prompt), expected_error) {
                (Ok(()), None) => {}
                (Err(ModeError::UnknownMode(_)), Some("unknown_mode")) => {}
                (Err(ModeError::ShutDown), Some("shut_down")) => {}
                (got, _) => return Err(format!("{at}: got {got:?}")),
            }
        } else if let Some(granted) = step.get("set_consent").and_then(Json::as_bool) {
            sdk.set_consent_from_prompt(granted, prompt).map_err(|e| format!("{at}: {e}"))?;
        } else if let Some(p) = step.get("consent_prompt_shown") {
            sdk.consent_prompt_shown(prompt_of(p, &at)?).map_err(|e| format!("{at}: {e}"))?;
        } else if let Some(on) = step.get("set_consent_statistics").and_then(Json::as_bool) {
            sdk.set_consent_statistics(on).map_err(|e| format!("{at}: {e}"))?;
        } else if let Some(on) = step.get("set_opted_out").and_then(Json::as_bool) {
            sdk.set_opted_out(on).map_err(|e| format!("{at}: {e}"))?;
        } else if let Some(answers) = step.get("set_purposes").and_then(Json::as_object) {
            let answers = answers
                .iter()
                .map(|(p, m)| Ok((p.clone(), PurposeMode::parse(m.as_str().unwrap_or("")).ok_or(format!("{at}: mode {m}"))?)))
                .collect::<Result<BTreeMap<_, _>, String>>()?;
            sdk.set_purposes_from_prompt(&answers, prompt).map_err(|e| format!("{at}: {e}"))?;
        } else if let Some(one) = step.get("set_purpose") {
            let mode = PurposeMode::parse(one["mode"].as_str().unwrap_or("")).ok_or(format!("{at}: mode"))?;
            sdk.set_purpose(one["purpose"].as_str().unwrap_or(""), mode).map_err(|e| format!("{at}: {e}"))?;
        } else if let Some(e) = step.get("expect_purposes") {
            let got: Map<String, Json> = sdk.purposes().into_iter().map(|(p, m)| (p, json!(m.wire_name()))).collect();
            matches(e, &Json::Object(got), &mut b, &at)?;
        } else if let Some(t) = step.get("set_time").and_then(Json::as_str) {
            clock.set_ms(ms(t));
        } else if let Some(s) = step.get("advance_seconds").and_then(Json::as_i64) {
            clock.advance_ms(s * 1000);
        } else if step.get("flush").is_some() {
            sdk.flush().map_err(|e| format!("{at}: {e}"))?;
            started = true;
        } else if let Some(how) = step.get("restart") {
            sdk.shutdown().map_err(|e| format!("{at}: {e}"))?;
            if how.as_str() == Some("no_wait") {
                sdk = builder().start().map_err(|e| format!("{at}: {e}"))?;
                started = false;
            } else {
                sdk = build()?;
                started = true;
            }
        } else if step.get("stop").is_some() {
            sdk.stop();
        } else if step.get("delete_local_data").is_some() {
            sdk.delete_local_data().map_err(|e| format!("{at}: {e}"))?;
        } else if let Some(e) = step.get("expect_mode") {
            let s = sdk.mode_status();
            let got = json!({"mode": s.mode.wire_name(), "consent_renewal_needed": s.consent_renewal_needed});
            matches(e, &got, &mut b, &at)?;
        } else if let Some(e) = step.get("expect_export") {
            let doc: Json = serde_json::from_str(&sdk.export_local_data().map_err(|e| e.to_string())?.to_json()).map_err(|e| e.to_string())?;
            let got = json!({
                "visitor": doc["visitor_id"].get("id").cloned().unwrap_or(Json::Null),
                "pending_hits": doc["pending_hits"].as_array().map(Vec::len),
                "mode_history": doc["mode_history"].as_array().map(|h| h.iter().map(|r| r["mode"].clone()).collect::<Vec<_>>()),
            });
            matches(e, &got, &mut b, &at)?;
        } else {
            return Err(format!("{at}: unknown step"));
        }
    }
    sdk.shutdown().map_err(|e| e.to_string())?;

    let dropped: Vec<Json> = recorder
        .dropped()
        .into_iter()
        .map(|(mode, event, property, reason)| json!({"mode": mode, "event": event, "property": property, "reason": reason}))
        .collect();
    if dialect != "piano" {
        let requests: Vec<Json> = capture.requests.lock().unwrap().iter().map(|(url, body)| matomo_request(url, body)).collect();
        let got = json!({"requests": requests, "dropped": dropped});
        if bless_mode {
            bless(path, "wire", dialect, with_placeholders(&got))?;
        } else {
            let expected = v.get("wire").and_then(|w| w.get(dialect)).ok_or(format!("no expected wire for {dialect}"))?;
            matches(expected, &got, &mut b, &format!("wire.{dialect}"))?;
        }
    } else {
        let requests: Vec<Json> = capture
            .requests
            .lock()
            .unwrap()
            .iter()
            .map(|(url, body)| {
                let query: BTreeMap<String, String> = url
                    .split_once('?')
                    .map(|(_, q)| q.split('&').filter_map(|p| p.split_once('=')).map(|(k, v)| (k.to_owned(), v.to_owned())).collect())
                    .unwrap_or_default();
                assert_eq!(query.get("s"), Some(&site), "site id in every request");
                assert!(url.starts_with("https://collect.example.test/event?"), "{url}");
                json!({"idclient": query.get("idclient"), "events": body["events"]})
            })
            .collect();
        matches(&v["requests"], &Json::Array(requests), &mut b, "requests")?;
        matches(&v["dropped"], &Json::Array(dropped), &mut b, "dropped")?;
    }

    check_consent_requests(&v, &capture, &mut b)?;

    let changes: Vec<Json> = recorder
        .changes()
        .into_iter()
        .map(|c| {
            json!({
                "previous": c.previous.wire_name(),
                "current": c.current.wire_name(),
                "reason": c.reason.code(),
                "consent_renewal_needed": c.consent_renewal_needed,
            })
        })
        .collect();
    matches(&v["mode_changes"], &Json::Array(changes), &mut b, "mode_changes")?;
    Ok(())
}

#[test]
fn conformance_vectors() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(vectors_dir())
        .expect("tests/vectors")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 29, "vectors missing: {files:?}");
    let failures: Vec<String> = files
        .iter()
        .flat_map(|f| DIALECTS.iter().map(move |d| (f, d)))
        .filter_map(|(f, d)| run(f, d).err().map(|e| format!("{} ({d}): {e}", f.file_name().unwrap().to_string_lossy())))
        .collect();
    assert!(failures.is_empty(), "{} of {} vectors failed:\n{}", failures.len(), files.len(), failures.join("\n"));
}

/// A step's prompt, `{"prompt_id": "...", "prompt_version": "...", "locale": "..."}` (locale optional).
fn prompt_of(p: &Json, at: &str) -> Result<ConsentContext, String> {
    let field = |k: &str| p.get(k).and_then(Json::as_str).map(str::to_owned);
    let prompt =
        ConsentContext::new(field("prompt_id").ok_or(format!("{at}: prompt_id"))?, field("prompt_version").ok_or(format!("{at}: prompt_version"))?);
    Ok(match field("locale") {
        Some(locale) => prompt.with_locale(locale),
        None => prompt,
    })
}

/// What reached the consent endpoint, in order, against the vector's
/// `consent_requests` (none when the vector has none): each request's
/// `Mesure-Policy` header (`$policy`) and body. Whatever the vector says, a
/// statistics request holds neither the consent-proof id nor any visitor's
/// id, and no request holds a visitor's id.
fn check_consent_requests(v: &Json, capture: &Capture, b: &mut Bindings) -> Result<(), String> {
    let consent = capture.consent.lock().unwrap();
    let got: Vec<Json> = consent.iter().map(|r| json!({"policy": r.policy, "body": r.body})).collect();
    let expected = v.get("consent_requests").cloned().unwrap_or(json!([]));
    matches(&expected, &Json::Array(got), b, "consent_requests")?;
    let visitors: Vec<&String> = b.visitors.iter().filter(|(k, _)| k.starts_with("$visitor")).map(|(_, id)| id).collect();
    for (i, r) in consent.iter().enumerate() {
        if let Some(id) = visitors.iter().find(|id| r.text.contains(id.as_str()) || r.text.replace('-', "").contains(&hex16(id))) {
            return Err(format!("consent_requests[{i}]: holds the visitor id {id}"));
        }
        let statistics = r.body["type"] == "consent_statistics";
        if let Some(c) = b.consent_id.as_deref().filter(|c| statistics && r.text.contains(c)) {
            return Err(format!("consent_requests[{i}]: the consent statistics hold the consent-proof id {c}"));
        }
    }
    Ok(())
}

/// The vector's `policy_hash.<dialect>` must be the hash of the SDK started
/// from its `config`: exactly, as every runner compares it.
fn check_policy_hash(v: &Json, dialect: &str, got: &str) -> Result<(), String> {
    match v.get("policy_hash").and_then(|p| p.get(dialect)).and_then(Json::as_str) {
        Some(expected) if expected == got => Ok(()),
        Some(expected) => Err(format!(
            "policy_hash.{dialect}: the SDK started from this vector's config has the policy hash {got}, the vector expects {expected} \
             (a config field translated differently, or the policy model changed: re-bless with MESURE_BLESS_WIRE=1)"
        )),
        None => Err(format!("policy_hash.{dialect}: missing (the SDK's is {got}; MESURE_BLESS_WIRE=1 writes it)")),
    }
}

/// What a dialect sent, with the run's random ids as placeholders: the
/// visitors' `_id` as `$visitorN`, screen views as `$pvN`, the version as
/// `$sdk_version`.
fn with_placeholders(got: &Json) -> Json {
    fn placeholders(v: &mut Json, key: Option<&str>, seen: &mut HashMap<String, String>) {
        match v {
            Json::Object(m) => m.iter_mut().for_each(|(k, x)| placeholders(x, Some(k), seen)),
            Json::Array(a) => a.iter_mut().for_each(|x| placeholders(x, None, seen)),
            Json::String(s) => {
                let prefix = match key {
                    Some("_id") => "$visitor",
                    Some("pv_id") => "$pv",
                    _ => {
                        *s = s.replace(SDK_VERSION, "$sdk_version");
                        return;
                    }
                };
                let n = seen.keys().filter(|k| k.starts_with(prefix)).count() + 1;
                let name = seen.iter().find(|(_, id)| *id == s).map(|(k, _)| k.clone()).unwrap_or_else(|| format!("{prefix}{n}"));
                seen.insert(name.clone(), s.clone());
                *s = name;
            }
            _ => {}
        }
    }
    let mut got = got.clone();
    placeholders(&mut got, None, &mut HashMap::new());
    got
}

/// The blessed fields, written last in each vector, in this order.
const BLESSED: [&str; 2] = ["policy_hash", "wire"];

/// Writes `value` into the vector's `<field>.<dialect>` (`MESURE_BLESS_WIRE=1`;
/// `field` is `policy_hash` or `wire`). The rest of the file keeps its text;
/// the blessed fields are written last, `policy_hash` then `wire`. Review
/// the diff before committing it.
fn bless(path: &PathBuf, field: &str, dialect: &str, value: Json) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let doc: Json = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let mut blessed = Map::new();
    for f in BLESSED {
        let mut x = doc.get(f).cloned().unwrap_or(json!({}));
        if f == field {
            x[dialect] = value.clone();
        }
        if x.as_object().is_some_and(|o| !o.is_empty()) {
            blessed.insert(f.to_owned(), x);
        }
    }
    let head = match BLESSED.iter().filter_map(|f| text.find(&format!("\n  \"{f}\": {{"))).min() {
        Some(i) => text[..i].trim_end().trim_end_matches(',').to_owned(),
        None => text.trim_end().trim_end_matches('}').trim_end().to_owned(),
    };
    let tail = serde_json::to_string_pretty(&Json::Object(blessed.clone())).map_err(|e| e.to_string())?;
    let tail = tail.trim_start_matches('{').trim_end_matches('}').trim_matches('\n');
    let out = format!("{head},\n{tail}\n}}\n");
    // Nothing but the blessed field may change: a vector whose blessed
    // fields are not its last ones would lose what follows them.
    let mut want = doc.clone();
    want.as_object_mut().ok_or("a vector is an object")?.extend(blessed);
    if serde_json::from_str::<Json>(&out).ok() != Some(want) {
        return Err(format!("bless would change more than {field}.{dialect}: {} must be the file's last fields", BLESSED.join(" and ")));
    }
    std::fs::write(path, out).map_err(|e| e.to_string())
}

#[test]
fn the_matcher_can_fail() {
    let mut b = Bindings::default();
    let id = "7b7c5a52-2f0d-4f7a-9a4e-0d1f3c2b1a00";
    assert!(matches(&json!("$visitor1"), &json!(id), &mut b, "x").is_ok());
    assert!(matches(&json!("$visitor1"), &json!("8b7c5a52-2f0d-4f7a-9a4e-0d1f3c2b1a00"), &mut b, "x").is_err());
    assert!(matches(&json!("$visitor2"), &json!(id), &mut b, "x").is_err(), "distinct placeholders, distinct ids");
    assert!(matches(&json!("$uuid"), &json!(id), &mut b, "x").is_ok());
    assert!(matches(&json!("$uuid"), &json!(id), &mut b, "x").is_err(), "event ids are unique");
    assert!(matches(&json!("$uuid"), &json!("not-a-uuid"), &mut b, "x").is_err());
    assert!(matches(&json!({"a": 1}), &json!({"a": 1, "b": 2}), &mut b, "x").is_err(), "extra keys fail");
    assert!(matches(&json!([1, 2]), &json!([1]), &mut b, "x").is_err());
    assert!(matches(&json!(12.5), &json!(12.5), &mut b, "x").is_ok());
    // Matomo's 16-hex `_id` is the same visitor as the UUID it comes from, and no other.
    assert!(matches(&json!("$visitor1"), &json!("7b7c5a522f0d4f7a"), &mut b, "x").is_ok());
    assert!(matches(&json!("$visitor1"), &json!("8b7c5a522f0d4f7a"), &mut b, "x").is_err());
    assert!(matches(&json!("$pv1"), &json!("abc123"), &mut b, "x").is_ok());
    assert!(matches(&json!("$pv1"), &json!("abc124"), &mut b, "x").is_err());
    assert!(matches(&json!("Mesure/$sdk_version"), &json!(format!("Mesure/{SDK_VERSION}")), &mut b, "x").is_ok());
    assert!(matches(&json!("Mesure/$sdk_version"), &json!("Mesure/0.0.0-x"), &mut b, "x").is_err());
    assert!(matches(&json!(1), &json!(2), &mut b, "x").is_err());
}

/// A runner that translates one field of the configuration differently
/// starts an SDK with another policy, and the vector fails on its
/// `policy_hash`, naming it, before any step.
#[test]
fn a_config_translated_differently_fails_on_the_policy_hash() {
    if std::env::var_os("MESURE_BLESS_WIRE").is_some() {
        return; // blessing would write the changed hash into the copy
    }
    let original: Json = serde_json::from_str(&std::fs::read_to_string(vectors_dir().join("policy_hash_every_rule.json")).unwrap()).unwrap();
    type Change = fn(&mut Json);
    let changes: [(&str, Change); 8] = [
        ("an allowlist justification", |c| c["exempt_allowlist"][0]["justification"] = json!("another reason, for the audience per theme")),
        ("a custom mode's justification", |c| {
            c["custom_modes"][0]["allowed_properties"][0]["justification"] = json!("another reason, the audience of each section")
        }),
        ("a custom mode's events", |c| c["custom_modes"][0]["allowed_events"] = json!(["article.read"])),
        ("a forbidden property's events", |c| c["forbidden_properties"][1]["events"] = json!("*")),
        ("a forbidden event", |c| c["forbidden_events"] = json!([])),
        ("a purpose's properties", |c| c["purposes"][0]["properties"] = json!(["ad_*"])),
        ("the default mode", |c| c["default_mode"] = json!("exempt")),
        ("the anonymous events", |c| c["anonymous_events"] = json!(["page.display", "click.action"])),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (what, change) in changes {
        let mut v = original.clone();
        change(&mut v["config"]);
        let path = dir.path().join("changed.json");
        std::fs::write(&path, v.to_string()).unwrap();
        for dialect in DIALECTS {
            let err = run(&path, dialect).expect_err(what);
            assert!(err.starts_with(&format!("policy_hash.{dialect}: ")), "{what} ({dialect}): {err}");
        }
    }
    run(&vectors_dir().join("policy_hash_every_rule.json"), "piano").expect("the vector itself passes");
}
