//! Consent receipts (issue 19, item 1): every change of mode or purpose the
//! visitor makes is written, hash-chained, beside the database; a lapse is
//! not the visitor's and writes none; the chain shows any edited, removed
//! or reordered receipt; it survives a corrupt hit queue; it is exported,
//! proved by `consent_proof`, and erased by `delete_local_data`.

mod common;

use std::collections::BTreeMap;

use common::*;
use mesure_core::*;
use serde_json::Value as Json;

fn proof(sdk: &Sdk) -> Json {
    serde_json::from_str(&sdk.consent_proof().expect("proof")).expect("json")
}

fn receipts_file(env: &Env) -> std::path::PathBuf {
    env.dir.path().join("mesure.receipts")
}

fn with_purposes(env: &mut Env) {
    env.config.purposes = vec![PurposeConfig { name: "personalisation".into(), properties: vec!["reco_*".into()] }];
}

#[test]
fn every_answer_of_the_visitor_is_a_receipt_and_a_lapse_is_none() {
    let mut env = Env::new();
    with_purposes(&mut env);
    let sdk = env.sdk();
    sdk.set_consent(true).unwrap();
    env.clock.advance_ms(1_000);
    let answers: BTreeMap<String, PurposeMode> = [("personalisation".to_owned(), PurposeMode::OptOut)].into();
    sdk.set_purposes(&answers).unwrap();
    env.clock.advance_ms(1_000);
    sdk.set_opted_out(true).unwrap();
    // Six months and a day later: no answer, no receipt (the opt-out does not lapse anyway).
    sdk.set_mode(VisitorMode::OptIn).unwrap();
    env.clock.advance_ms(200 * 86_400_000);
    assert_eq!(sdk.mode(), VisitorMode::Exempt, "the consent lapsed");
    let p = proof(&sdk);
    assert_eq!(p["chain"], "intact", "{p}");
    let receipts = p["receipts"].as_array().unwrap();
    let summary: Vec<(u64, &str, &str)> = receipts
        .iter()
        .map(|r| (r["n"].as_u64().unwrap(), r["mode"].as_str().unwrap(), r["purposes"]["personalisation"].as_str().unwrap()))
        .collect();
    assert_eq!(summary, [(1, "optin", "opt-in"), (2, "optin", "opt-out"), (3, "optout", "opt-out"), (4, "optin", "opt-in")]);
    let consent_id = p["consent_id"].as_str().unwrap();
    assert!(is_uuid_v4(consent_id), "{consent_id}");
    assert!(receipts.iter().all(|r| r["consent_id"] == consent_id && r["policy"] == sdk.policy_hash().as_str() && r["sdk"] == SDK_VERSION));
    // The consent-proof id is not the visitor id, and never on a hit.
    let visitor = sdk.export_local_data().unwrap().visitor.map(|v| v.id);
    assert_ne!(visitor.as_deref(), Some(consent_id));
    sdk.track(Event::screen("home")).unwrap();
    sdk.flush().unwrap();
    for r in env.collector.received() {
        assert!(!r.body.contains(consent_id) && !r.query.values().any(|v| v.contains(consent_id)), "the consent-proof id on the wire");
    }
}

#[test]
fn an_edited_removed_or_reordered_receipt_breaks_the_chain() {
    let env = Env::new();
    let sdk = env.sdk();
    for m in [VisitorMode::OptIn, VisitorMode::Exempt, VisitorMode::OptIn, VisitorMode::OptOut] {
        sdk.set_mode(m).unwrap();
    }
    assert_eq!(proof(&sdk)["chain"], "intact");
    sdk.shutdown().unwrap();
    let path = receipts_file(&env);
    let original = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = original.lines().collect();
    assert_eq!(lines.len(), 4);
    let tampered = [
        ("edited", original.replacen("\"mode\":\"exempt\"", "\"mode\":\"optin\"", 1), "receipt 2 was edited"),
        ("removed", [lines[0], lines[2], lines[3]].join("\n"), "line 2 does not follow"),
        ("reordered", [lines[0], lines[2], lines[1], lines[3]].join("\n"), "line 2 does not follow"),
        ("the first removed", lines[1..].join("\n"), "line 1 does not follow"),
    ];
    for (what, text, expected) in tampered {
        std::fs::write(&path, format!("{text}\n")).unwrap();
        let sdk = env.sdk();
        let chain = proof(&sdk)["chain"].as_str().unwrap().to_owned();
        assert!(chain.starts_with("broken") && chain.contains(expected), "{what}: {chain}");
        sdk.shutdown().unwrap();
    }
}

#[test]
fn receipts_survive_a_corrupt_hit_queue_and_go_with_delete_local_data() {
    let env = Env::new();
    let sdk = env.sdk();
    sdk.set_mode(VisitorMode::OptIn).unwrap();
    sdk.track(Event::screen("home")).unwrap();
    sdk.shutdown().unwrap();
    std::fs::write(env.db_path(), vec![0x5a; 64 * 1024]).unwrap();
    let sdk = env.sdk();
    sdk.set_mode(VisitorMode::Exempt).unwrap();
    let p = proof(&sdk);
    assert_eq!(p["chain"], "intact", "{p}");
    assert_eq!(p["receipts"].as_array().unwrap().len(), 2, "the receipt made before the database was lost is still there");
    let exported: Json = serde_json::from_str(&sdk.export_local_data().unwrap().to_json()).unwrap();
    assert_eq!(exported["consent_receipts"].as_array().unwrap().len(), 2, "exported for the data subject");

    sdk.delete_local_data().unwrap();
    assert!(!receipts_file(&env).exists(), "erased with the data");
    assert_eq!(proof(&sdk)["receipts"].as_array().unwrap().len(), 0);
    // A new answer starts a new chain, with a new consent-proof id.
    sdk.set_mode(VisitorMode::OptIn).unwrap();
    let p2 = proof(&sdk);
    assert_eq!((p2["chain"].as_str(), p2["receipts"][0]["n"].as_u64()), (Some("intact"), Some(1)));
    assert_ne!(p2["consent_id"], p["consent_id"]);
}
