//! Arbitrary bytes as a configuration and as events: whatever comes in, the
//! core returns a typed error or a result, never panics; and what it lets
//! through in exempt and opt-out stays within those modes' allowlists.
#![no_main]

use std::collections::BTreeMap;
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use mesure_core::testing::{check_event, Context};
use mesure_core::testing::{is_identifying, RuleBook};
use mesure_core::MINIMAL_PROPERTIES;
use mesure_core::{Config, Event, Value, VisitorMode};
use serde_json::Value as Json;

/// A wire body with the keys of `data` in the order they were written
/// (a JSON map would hide a key written twice).
#[derive(serde::Deserialize)]
struct Body {
    name: String,
    data: Keys,
}

struct Keys(Vec<String>);

impl<'de> serde::Deserialize<'de> for Keys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Keys;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Keys, A::Error> {
                let mut keys = Vec::new();
                while let Some(k) = map.next_key::<String>()? {
                    map.next_value::<serde::de::IgnoredAny>()?;
                    keys.push(k);
                }
                Ok(Keys(keys))
            }
        }
        d.deserialize_map(V)
    }
}

/// JSON values to property values, the way an app's loosely typed layer would.
fn value(v: &Json, depth: usize) -> Option<Value> {
    Some(match v {
        Json::String(s) => Value::String(s.clone()),
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64()?),
        },
        Json::Array(items) if depth == 0 => {
            let inner: Vec<Value> = items.iter().filter_map(|i| value(i, depth + 1)).collect();
            if inner.iter().all(|x| matches!(x, Value::String(_))) {
                Value::StringArray(inner.into_iter().filter_map(|x| if let Value::String(s) = x { Some(s) } else { None }).collect())
            } else {
                Value::FloatArray(inner.into_iter().filter_map(|x| match x { Value::Int(i) => Some(i as f64), Value::Float(f) => Some(f), _ => None }).collect())
            }
        }
        _ => return None,
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // As a configuration: parse and validate must not panic.
    let config = match Config::from_json(text) {
        Ok(c) => {
            let _ = c.validate();
            c
        }
        Err(_) => Config::new("https://collect.example.test", 1, "/tmp/fuzz"),
    };
    let config = if config.validate().is_ok() { config } else { Config::new("https://collect.example.test", 1, "/tmp/fuzz") };
    // As events: {"name": ..., "properties": {...}} or a list of them.
    let Ok(doc) = serde_json::from_str::<Json>(text) else { return };
    let events: Vec<&Json> = match &doc {
        Json::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    let book = RuleBook::new(&config);
    let context = Arc::new(Context::new(config.context.properties()));
    for e in events {
        let name = e.get("name").and_then(Json::as_str).unwrap_or("").to_owned();
        let properties: Vec<(String, Value)> = e
            .get("properties")
            .and_then(Json::as_object)
            .map(|o| o.iter().filter_map(|(k, v)| Some((k.clone(), value(v, 0)?))).collect())
            .unwrap_or_default();
        let Ok(checked) = check_event(Event { name, properties }) else { continue };
        for mode in [VisitorMode::Exempt, VisitorMode::OptOut, VisitorMode::OptIn, VisitorMode::NoConsent] {
            let Some(rules) = book.rules(&mode) else { continue };
            // The wire text itself, as `track` writes it: valid JSON whose
            // `data` holds exactly the fields the mode selected.
            let (hit, _) = rules.hit(&checked.name, &context, &checked.properties, 0, "00000000-0000-4000-8000-000000000000");
            let text = hit.wire_json();
            let wire: Body = serde_json::from_str(&text).expect("wire body is JSON");
            let data = hit.data();
            // In written order: sorted, each key once, exactly the selection.
            assert!(wire.data.0.iter().eq(data.keys()), "wire keys {:?} differ from the selection", wire.data.0);
            assert_eq!(wire.name, checked.name);
            let added = ["visitor_privacy_mode", "visitor_privacy_consent", "event_id"];
            match mode {
                VisitorMode::Exempt => {
                    for k in data.keys() {
                        assert!(!is_identifying(k), "identifying {k} left in exempt");
                        assert!(added.contains(&k.as_str()) || rules.property_verdict(&checked.name, k).is_ok());
                    }
                }
                VisitorMode::OptOut | VisitorMode::NoConsent => {
                    for k in data.keys() {
                        assert!(MINIMAL_PROPERTIES.contains(&k.as_str()) || added.contains(&k.as_str()), "{k} in {mode}");
                    }
                }
                _ => {}
            }
            let _: BTreeMap<String, Value> = data;
        }
    }
});
