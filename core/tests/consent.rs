//! Consent receipts sent, and the anonymous consent statistics (issue 19,
//! items 2 and 3): with a consent endpoint, the receipts leave once each,
//! with no visitor id and no measurement property; the statistics leave in
//! requests of their own, with no id of any kind, counted once, and stop
//! after their own opt-out (and after a "refuse all" when the controller
//! links them). Without an endpoint, or in a dry run, nothing leaves.

mod common;

use std::collections::BTreeMap;

use common::*;
use mesure_core::*;
use mesure_test_collector::{Received, Reply};
use serde_json::{json, Value as Json};

const PROMPT: &str = "main_banner";

fn banner(version: &str) -> ConsentContext {
    ConsentContext::new(PROMPT, version).with_locale("fr-FR")
}

fn with_endpoint(env: &mut Env) {
    env.config.consent.endpoint = Some(format!("{}/consent", env.collector.url()));
    env.config.purposes = vec![PurposeConfig { name: "personalisation".into(), properties: vec!["reco_*".into()] }];
}

fn consent_requests(env: &Env) -> Vec<Received> {
    env.collector.received().into_iter().filter(|r| r.path == "/consent").collect()
}

fn of_type<'a>(requests: &'a [Received], kind: &str) -> Vec<&'a Received> {
    requests.iter().filter(|r| r.json()["type"] == kind).collect()
}

#[test]
fn receipts_and_statistics_leave_apart_and_without_any_visitor_id() {
    let mut env = Env::new();
    with_endpoint(&mut env);
    let sdk = env.sdk();
    sdk.consent_prompt_shown(banner("7")).unwrap();
    let answers: BTreeMap<String, PurposeMode> =
        [(AUDIENCE_MEASUREMENT.to_owned(), PurposeMode::OptIn), ("personalisation".to_owned(), PurposeMode::OptOut)].into();
    sdk.set_purposes_from_prompt(&answers, Some(banner("7"))).unwrap();
    sdk.track(Event::screen("home").with("reco_id", "r1")).unwrap();
    sdk.flush().unwrap();
    let visitor = sdk.export_local_data().unwrap().visitor.expect("an id in opt-in").id;

    let consent = consent_requests(&env);
    let receipts = of_type(&consent, "consent_receipts");
    let stats = of_type(&consent, "consent_statistics");
    assert_eq!((receipts.len(), stats.len(), consent.len()), (1, 1, 2), "one request of each kind");
    let receipt = &receipts[0].json()["receipts"][0];
    assert_eq!(receipt["n"], 1);
    assert_eq!(receipt["mode"], "optin");
    assert_eq!(receipt["purposes"], json!({"audience_measurement": "opt-in", "personalisation": "opt-out"}));
    assert_eq!(receipt["prompt"], json!({"prompt_id": PROMPT, "prompt_version": "7", "locale": "fr-FR"}));
    assert_eq!(receipt["policy"], sdk.policy_hash().as_str());
    let day = receipt["at"].as_str().unwrap()[..10].to_owned();
    assert_eq!(
        stats[0].json(),
        json!({"type": "consent_statistics", "counts": [{
            "day": day, "prompt_id": PROMPT, "prompt_version": "7",
            "shown": 1, "accepted_all": 0, "refused_all": 0, "customised": 1,
        }]}),
        "counts, a day and a prompt: no id of any kind, no locale"
    );
    for r in &consent {
        assert!(!r.body.contains(&visitor), "the visitor id left for the consent endpoint");
        assert!(!r.body.contains("reco_") && !r.body.contains("home"), "a measurement property left for the consent endpoint");
        assert_eq!(r.headers.get("mesure-policy").map(String::as_str), Some(sdk.policy_hash().as_str()));
    }
    // Sent once: nothing new, nothing again.
    sdk.flush().unwrap();
    assert_eq!(consent_requests(&env).len(), 2);
    // A new answer: only it leaves, and only what was counted since.
    sdk.set_consent_from_prompt(true, Some(banner("7"))).unwrap();
    sdk.flush().unwrap();
    let since = consent_requests(&env)[2..].to_vec();
    assert_eq!(
        of_type(&since, "consent_receipts")[0].json()["receipts"].as_array().map(|a| a.iter().map(|r| r["n"].clone()).collect::<Vec<_>>()),
        Some(vec![json!(2)])
    );
    let counts = &of_type(&since, "consent_statistics")[0].json()["counts"][0];
    assert_eq!((counts["shown"].clone(), counts["accepted_all"].clone(), counts["customised"].clone()), (json!(0), json!(1), json!(0)));
    assert!(matches!(env.recorder.diagnostics().iter().find(|d| matches!(d, Diagnostic::ConsentSent { .. })),
        Some(Diagnostic::ConsentSent { kind, count: 1, status: Some(200), held: None }) if kind == "receipts"));
}

#[test]
fn the_statistics_stop_after_their_own_opt_out_even_across_a_restart() {
    let mut env = Env::new();
    with_endpoint(&mut env);
    let sdk = env.sdk();
    sdk.consent_prompt_shown(banner("1")).unwrap();
    sdk.set_consent_statistics(false).unwrap();
    sdk.consent_prompt_shown(banner("1")).unwrap();
    sdk.set_consent_from_prompt(false, Some(banner("1"))).unwrap();
    sdk.flush().unwrap();
    let data = sdk.export_local_data().unwrap();
    assert!(data.consent_statistics_off && data.consent_statistics.is_empty(), "what was counted before the opt-out is deleted");
    sdk.shutdown().unwrap();
    let sdk = env.sdk();
    sdk.consent_prompt_shown(banner("1")).unwrap();
    sdk.flush().unwrap();
    let consent = consent_requests(&env);
    assert!(of_type(&consent, "consent_statistics").is_empty(), "no statistics after their opt-out");
    assert_eq!(of_type(&consent, "consent_receipts").len(), 1, "the refusal's receipt still leaves");
    // Switched on again by the visitor: counted again.
    sdk.set_consent_statistics(true).unwrap();
    sdk.consent_prompt_shown(banner("1")).unwrap();
    sdk.flush().unwrap();
    assert_eq!(of_type(&consent_requests(&env), "consent_statistics").len(), 1);
}

#[test]
fn a_refuse_all_stops_the_statistics_when_the_controller_links_them() {
    for linked in [false, true] {
        let mut env = Env::new();
        with_endpoint(&mut env);
        env.config.consent.refuse_all_stops_statistics = linked;
        let sdk = env.sdk();
        sdk.consent_prompt_shown(banner("1")).unwrap();
        sdk.set_mode_from_prompt(VisitorMode::Exempt, Some(banner("1"))).unwrap();
        sdk.consent_prompt_shown(banner("1")).unwrap();
        sdk.flush().unwrap();
        let stats = of_type(&consent_requests(&env), "consent_statistics").into_iter().map(|r| r.json()["counts"][0].clone()).collect::<Vec<_>>();
        if linked {
            assert!(stats.is_empty(), "linked: the refusal switched them off");
            assert!(sdk.export_local_data().unwrap().consent_statistics_off);
        } else {
            assert_eq!(stats.len(), 1);
            assert_eq!((stats[0]["shown"].clone(), stats[0]["refused_all"].clone()), (json!(2), json!(1)));
        }
    }
}

#[test]
fn a_failed_consent_request_backs_off_and_is_counted_once() {
    let mut env = Env::new();
    with_endpoint(&mut env);
    let sdk = env.sdk();
    sdk.consent_prompt_shown(banner("1")).unwrap();
    sdk.set_consent_from_prompt(true, Some(banner("1"))).unwrap();
    env.collector.script([Reply::Status(503)]);
    let report = sdk.flush().unwrap();
    assert!(report.deferred.is_some(), "{report:?}");
    assert_eq!(consent_requests(&env).len(), 1, "the statistics wait behind the failed receipts");
    // The retry delay passes (on the monotonic clock), then both leave once.
    env.clock.advance_ms(report.retry_in_ms.unwrap_or(0) as i64 + 1);
    sdk.flush().unwrap();
    sdk.flush().unwrap();
    let consent = consent_requests(&env);
    assert_eq!(of_type(&consent, "consent_receipts").len(), 2, "the failed one, then its retry");
    assert!(consent.iter().filter(|r| r.json()["type"] == "consent_receipts").all(|r| r.json()["receipts"].as_array().map(Vec::len) == Some(1)));
    let stats = of_type(&consent, "consent_statistics");
    assert_eq!(stats.len(), 1);
    assert_eq!(stats[0].json()["counts"][0]["accepted_all"], 1);
}

#[test]
fn delete_local_data_starts_a_chain_that_is_sent_from_its_first_receipt() {
    let mut env = Env::new();
    with_endpoint(&mut env);
    let sdk = env.sdk();
    sdk.set_consent(true).unwrap();
    sdk.set_consent(false).unwrap();
    sdk.flush().unwrap();
    let first: Vec<Json> = consent_requests(&env).iter().flat_map(|r| r.json()["receipts"].as_array().cloned().unwrap_or_default()).collect();
    assert_eq!(first.iter().map(|r| r["n"].as_u64().unwrap()).collect::<Vec<_>>(), [1, 2]);
    sdk.delete_local_data().unwrap();
    assert!(!env.dir.path().join("mesure.receipts.sent").exists(), "the marker goes with the receipts");
    sdk.set_consent(true).unwrap();
    sdk.flush().unwrap();
    let all: Vec<Json> = consent_requests(&env).iter().flat_map(|r| r.json()["receipts"].as_array().cloned().unwrap_or_default()).collect();
    assert_eq!(all.len(), 3);
    assert_eq!(all[2]["n"], 1, "a new chain, sent from its first receipt");
    assert_ne!(all[2]["consent_id"], first[0]["consent_id"], "with a new consent-proof id");
}

#[test]
fn without_an_endpoint_or_in_a_dry_run_nothing_leaves_for_consent() {
    for dry_run in [false, true] {
        let mut env = Env::new();
        with_endpoint(&mut env);
        if dry_run {
            env.config.dry_run = true;
        } else {
            env.config.consent.endpoint = None;
        }
        let sdk = env.sdk();
        sdk.consent_prompt_shown(banner("1")).unwrap();
        sdk.set_consent_from_prompt(true, Some(banner("1"))).unwrap();
        sdk.flush().unwrap();
        assert!(consent_requests(&env).is_empty(), "dry run {dry_run}");
        let data = sdk.export_local_data().unwrap();
        assert_eq!(data.consent_receipts.len(), 1, "kept on the device");
        assert_eq!(data.consent_statistics.len(), 1, "kept on the device");
        let report = sdk.compliance_report();
        assert_eq!(report.consent.endpoint, if dry_run { Some(format!("{}/consent", env.collector.url())) } else { None });
    }
}

#[test]
fn a_prompt_named_with_personal_data_is_refused_and_writes_nothing() {
    let mut env = Env::new();
    with_endpoint(&mut env);
    let sdk = env.sdk();
    for prompt in [
        ConsentContext::new("jane@example.com", "1"),
        ConsentContext::new("banner", "0612345678"),
        ConsentContext::new("banner", "1").with_locale("not a locale"),
    ] {
        assert!(matches!(sdk.set_mode_from_prompt(VisitorMode::OptIn, Some(prompt.clone())), Err(ModeError::InvalidPrompt(_))), "{prompt:?}");
        assert!(matches!(sdk.consent_prompt_shown(prompt.clone()), Err(ModeError::InvalidPrompt(_))), "{prompt:?}");
    }
    assert_eq!(sdk.mode(), VisitorMode::Exempt);
    let data = sdk.export_local_data().unwrap();
    assert!(data.consent_receipts.is_empty() && data.consent_statistics.is_empty());
}

#[test]
fn the_consent_endpoint_is_checked_like_the_collection_endpoint() {
    let mut env = Env::new();
    env.config.consent.endpoint = Some("http://consent.example.com/receipts".into());
    let e = env.try_sdk().err().expect("plain http to a remote host is refused");
    assert!(matches!(&e, SdkError::Config(c) if c.field == "consent.endpoint"), "{e:?}");
}
