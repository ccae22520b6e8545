//! The wrappers' one-buffer call (`Sdk::track_encoded`) in front of the
//! adversary: the same call by either path puts the same rows on disk and
//! the same data on the wire in every mode, and what only a forged buffer
//! can say (a key twice, a key the SDK owns, a page beside a screen name,
//! bytes that do not decode) is refused or held back as the direct call's
//! equivalent is, never queued around the rules.

mod common;

use common::*;
use mesure_core::*;
use serde_json::Value as Json;

/// Values a careless app tags with, identifying and SDK-owned keys among them.
fn tagged() -> Vec<(String, Value)> {
    vec![
        ("page_chapter1".into(), Value::String("jane.doe@example.com".into())),
        ("previous_page".into(), Value::String("82.64.12.3".into())),
        ("user_id".into(), Value::Int(123_456_789)),
        ("idclient".into(), Value::String("forged".into())),
        ("visitor_privacy_mode".into(), Value::String("optin".into())),
        ("event_id".into(), Value::String("forged".into())),
        ("tags".into(), Value::StringArray(vec!["+33 6 12 34 56 78".into()])),
        ("ratio".into(), Value::Float(f64::NAN)),
        ("link".into(), Value::Unsupported("java.net.URI".into())),
    ]
}

/// The queue's rows and the wire's events, the random event id taken out.
fn rows_and_wire(env: &Env, sdk: &Sdk) -> (Vec<(String, String, Json)>, Vec<Json>) {
    sdk.await_applied().unwrap();
    let rows = env
        .queued()
        .into_iter()
        .map(|(_, mode, name, mut data)| {
            take_event_id(&mut data);
            (mode, name, data)
        })
        .collect();
    sdk.flush().unwrap();
    let wire = env
        .requests()
        .into_iter()
        .flat_map(|(_, events)| events)
        .map(|mut e| {
            take_event_id(&mut e["data"]);
            e
        })
        .collect();
    (rows, wire)
}

fn calls(sdk: &Sdk, encoded: bool) {
    let props = tagged();
    if encoded {
        for (kind, name) in [(EncodedKind::Screen, "home"), (EncodedKind::Click(ClickKind::Exit), "out"), (EncodedKind::Track, "video.play")] {
            let _ = sdk.track_encoded(&encode_call(kind, name, &props));
        }
    } else {
        let _ = sdk.track_screen("home", props.clone());
        let _ = sdk.track_click(ClickKind::Exit, "out", props.clone());
        let _ = sdk.track(Event { name: "video.play".into(), properties: props });
    }
}

#[test]
fn either_path_queues_and_sends_the_same_in_every_mode() {
    for mode in [VisitorMode::OptIn, VisitorMode::Exempt, VisitorMode::OptOut, VisitorMode::NoConsent, VisitorMode::NoStorage] {
        let mut seen = vec![];
        let mut said = vec![];
        for encoded in [false, true] {
            let env = Env::new();
            let sdk = env.sdk();
            sdk.set_mode(mode.clone()).unwrap();
            calls(&sdk, encoded);
            seen.push(rows_and_wire(&env, &sdk));
            said.push(env.recorder.dropped());
        }
        assert_eq!(seen[0], seen[1], "{mode:?}: the encoded call differs on disk or on the wire");
        assert_eq!(said[0], said[1], "{mode:?}: the encoded call is reported otherwise");
        // Opt-in and no-storage send what the app tags (consented); no
        // mode without consent lets an identifying or forged value through.
        let wire = serde_json::to_string(&seen[1].1).unwrap();
        if matches!(mode, VisitorMode::OptIn | VisitorMode::NoStorage) {
            assert!(wire.contains("jane.doe@example.com"), "{wire}");
        } else {
            for secret in ["forged", "\"user_id\"", "jane.doe", "82.64.12.3", "12 34 56 78", "123456789"] {
                assert!(!wire.contains(secret), "{mode:?}: {secret} left: {wire}");
            }
        }
    }
}

/// What a `Map` cannot hold but a buffer can: refused as the direct call
/// refuses its equivalent, reported, and nothing queued.
#[test]
fn what_only_a_forged_buffer_can_say_is_refused_and_reported() {
    let env = Env::new();
    let sdk = env.sdk();
    sdk.set_mode(VisitorMode::OptIn).unwrap();
    let twice = [("title".to_owned(), Value::from("a")), ("title".to_owned(), Value::from("b"))];
    let cased = [("title".to_owned(), Value::from("a")), ("TITLE".to_owned(), Value::from("b"))];
    let click_twice = [("click".to_owned(), Value::from("other"))];
    let code = |r: Result<TrackOutcome, TrackError>| r.map_err(|e| e.code());
    assert_eq!(code(sdk.track_encoded(&encode_call(EncodedKind::Track, "search", &twice))), Err("duplicate_property"));
    assert_eq!(code(sdk.track_encoded(&encode_call(EncodedKind::Screen, "home", &cased))), Err("duplicate_property"));
    assert_eq!(code(sdk.track_encoded(&encode_call(EncodedKind::Click(ClickKind::Action), "buy", &click_twice))), Err("duplicate_property"));
    let many: Vec<(String, Value)> = (0..101).map(|i| (format!("p{i}"), Value::Int(i))).collect();
    assert_eq!(code(sdk.track_encoded(&encode_call(EncodedKind::Track, "search", &many))), Err("too_many_properties"));
    let mut trailing = encode_call(EncodedKind::Screen, "home", &[]);
    trailing.extend_from_slice(b"{\"user_id\":1}");
    assert_eq!(code(sdk.track_encoded(&trailing)), Err("invalid_call_encoding"));
    let mut newer = encode_call(EncodedKind::Screen, "home", &[]);
    newer[0] = ENCODING_VERSION + 1;
    assert_eq!(code(sdk.track_encoded(&newer)), Err("invalid_call_encoding"));
    assert_eq!(code(sdk.track_encoded(&[])), Err("invalid_call_encoding"));

    sdk.await_applied().unwrap();
    assert_eq!(env.queued(), vec![], "a refused call queued something");
    let refused: Vec<(String, &str)> = env
        .recorder
        .diagnostics()
        .into_iter()
        .filter_map(|d| match d {
            Diagnostic::TrackRefused { event, error } => Some((event, error.code())),
            _ => None,
        })
        .collect();
    assert_eq!(
        refused,
        [
            ("search", "duplicate_property"),
            ("page.display", "duplicate_property"),
            ("click.action", "duplicate_property"),
            ("search", "too_many_properties"),
            ("", "invalid_call_encoding"),
            ("", "invalid_call_encoding"),
            ("", "invalid_call_encoding"),
        ]
        .map(|(e, c)| (e.to_owned(), c))
    );
}

/// A screen's `page` property in the buffer loses to the screen's name, as
/// with the direct call.
#[test]
fn a_page_beside_the_screen_name_is_replaced() {
    let env = Env::new();
    let sdk = env.sdk();
    sdk.set_mode(VisitorMode::OptIn).unwrap();
    let page = [("page".to_owned(), Value::from("secret"))];
    assert!(matches!(sdk.track_encoded(&encode_call(EncodedKind::Screen, "home", &page)), Ok(TrackOutcome::Queued { .. })));
    sdk.await_applied().unwrap();
    let rows = env.queued();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].3["page"], Json::from("home"));
    assert!(
        env.recorder.dropped().iter().any(|d| d.2.as_deref() == Some("page") && d.3 == "replaced_by_screen_name"),
        "{:?}",
        env.recorder.dropped()
    );
}
