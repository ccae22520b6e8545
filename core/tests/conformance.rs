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

/// Records every request and acknowledges it.
#[derive(Default)]
struct Capture {
    requests: Mutex<Vec<(String, Json)>>,
}

impl HttpClient for Capture {
    fn send(&self, request: HttpRequest, completion: Completion) {
        let body = serde_json::from_slice(&request.body).unwrap_or(Json::Null);
        self.requests.lock().unwrap().push((request.url, body));
        completion.complete(HttpOutcome::Response { status: 200, retry_after: None });
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
}

fn is_uuid_v4(s: &str) -> bool {
    uuid::Uuid::parse_str(s).map(|u| u.get_version_num() == 4).unwrap_or(false)
}

/// Compares `actual` with `expected`, where expected strings may be placeholders:
/// `$uuid` (a v4 UUID never seen before in this run), `$visitorN` (a v4 UUID,
/// the same for the same N, different for different N), `$sdk_version`.
fn matches(expected: &Json, actual: &Json, b: &mut Bindings, path: &str) -> Result<(), String> {
    let fail = |why: String| Err(format!("{path}: {why}"));
    match (expected, actual) {
        (Json::String(e), _) if e == "$uuid" => match actual.as_str() {
            Some(a) if is_uuid_v4(a) && b.event_ids.insert(a.to_owned()) => Ok(()),
            _ => fail(format!("expected a fresh v4 UUID, got {actual}")),
        },
        (Json::String(e), _) if e.starts_with("$visitor") => {
            let Some(a) = actual.as_str().filter(|a| is_uuid_v4(a)) else {
                return fail(format!("expected a v4 UUID for {e}, got {actual}"));
            };
            match b.visitors.get(e) {
                Some(bound) if bound == a => Ok(()),
                Some(bound) => fail(format!("{e} was {bound}, now {a}")),
                None if b.visitors.values().any(|v| v == a) => fail(format!("{e} reuses another visitor's id {a}")),
                None => {
                    b.visitors.insert(e.clone(), a.to_owned());
                    Ok(())
                }
            }
        }
        (Json::String(e), Json::String(a)) if e == "$sdk_version" => {
            if a == SDK_VERSION {
                Ok(())
            } else {
                fail(format!("sdk version {a}"))
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

fn run(path: &PathBuf) -> Result<(), String> {
    let v: Json = serde_json::from_str(&std::fs::read_to_string(path).map_err(|e| e.to_string())?).map_err(|e| format!("bad JSON: {e}"))?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut cfg: Map<String, Json> = v["config"].as_object().cloned().unwrap_or_default();
    cfg.insert("collect_endpoint".into(), json!("https://collect.example.test"));
    cfg.insert("storage_dir".into(), json!(dir.path()));
    cfg.insert("flush_interval_ms".into(), json!(3_600_000));
    let config = Config::from_json(&Json::Object(cfg).to_string()).map_err(|e| e.to_string())?;
    let site = config.site_id.to_string();
    let clock = Arc::new(ManualClock::new(ms(v["start"].as_str().ok_or("start")?)));
    let recorder = Arc::new(common::Recorder::default());
    let capture = Arc::new(Capture::default());
    let builder = || Sdk::builder(config.clone()).clock(clock.clone()).listener(recorder.clone()).http_client(capture.clone());
    let build = || builder().build().map_err(|e| e.to_string());
    let mut sdk = build()?;
    // False after `{"restart": "no_wait"}` until a step that waits for the
    // start: a track may then be in the start queue (`Waiting`).
    let mut started = true;
    let mut b = Bindings::default();

    for (i, step) in v["steps"].as_array().ok_or("steps")?.iter().enumerate() {
        let at = format!("step {i} {step}");
        let expected_error = step.get("error").and_then(Json::as_str);
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
            match (sdk.set_mode(VisitorMode::parse(m)), expected_error) {
                (Ok(()), None) => {}
                (Err(ModeError::UnknownMode(_)), Some("unknown_mode")) => {}
                (Err(ModeError::ShutDown), Some("shut_down")) => {}
                (got, _) => return Err(format!("{at}: got {got:?}")),
            }
        } else if let Some(granted) = step.get("set_consent").and_then(Json::as_bool) {
            sdk.set_consent(granted).map_err(|e| format!("{at}: {e}"))?;
        } else if let Some(on) = step.get("set_opted_out").and_then(Json::as_bool) {
            sdk.set_opted_out(on).map_err(|e| format!("{at}: {e}"))?;
        } else if let Some(answers) = step.get("set_purposes").and_then(Json::as_object) {
            let answers = answers
                .iter()
                .map(|(p, m)| Ok((p.clone(), PurposeMode::parse(m.as_str().unwrap_or("")).ok_or(format!("{at}: mode {m}"))?)))
                .collect::<Result<BTreeMap<_, _>, String>>()?;
            sdk.set_purposes(&answers).map_err(|e| format!("{at}: {e}"))?;
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

    let dropped: Vec<Json> = recorder
        .dropped()
        .into_iter()
        .map(|(mode, event, property, reason)| json!({"mode": mode, "event": event, "property": property, "reason": reason}))
        .collect();
    matches(&v["dropped"], &Json::Array(dropped), &mut b, "dropped")?;

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
    let failures: Vec<String> =
        files.iter().filter_map(|f| run(f).err().map(|e| format!("{}: {e}", f.file_name().unwrap().to_string_lossy()))).collect();
    assert!(failures.is_empty(), "{} of {} vectors failed:\n{}", failures.len(), files.len(), failures.join("\n"));
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
    assert!(matches(&json!(1), &json!(2), &mut b, "x").is_err());
}
