//! Consent by purpose: what each purpose's mode lets leave, that a purpose
//! never answered never reads as opt-in, that other purposes never ride on
//! the exempt stream, that answers persist and lapse, and that an app that
//! only sets modes sees no change.

mod common;

use std::collections::BTreeMap;

use common::*;
use mesure_core::testing::add_calendar_months;
use mesure_core::*;
use serde_json::{json, Value as Json};

const AD: &str = "advertising";
const RECO: &str = "personalisation";

fn env() -> Env {
    let mut env = Env::new();
    env.config.purposes = vec![
        PurposeConfig { name: AD.into(), properties: vec!["ad_*".into()] },
        PurposeConfig { name: RECO.into(), properties: vec!["reco_*".into()] },
    ];
    env
}

fn answers(pairs: &[(&str, PurposeMode)]) -> BTreeMap<String, PurposeMode> {
    pairs.iter().map(|(p, m)| ((*p).to_owned(), *m)).collect()
}

fn tagged() -> Event {
    Event::screen("home").with("ad_campaign", "spring").with("reco_slot", 3).with("user_id", "jane")
}

/// The data of the only hit sent, without its event id.
fn sent(env: &Env) -> (String, Json) {
    let reqs = env.requests();
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    let mut data = reqs[0].1[0]["data"].clone();
    take_event_id(&mut data);
    (reqs[0].0.clone(), data)
}

#[test]
fn each_purpose_lets_out_its_own_properties() {
    let env = env();
    let sdk = env.sdk();
    use PurposeMode::*;
    sdk.set_purposes(&answers(&[(AUDIENCE_MEASUREMENT, OptIn), (AD, OptIn), (RECO, OptOut)])).unwrap();
    assert_eq!(sdk.mode(), VisitorMode::OptIn, "audience measurement decides the visitor mode");
    sdk.track(tagged()).unwrap();
    sdk.flush().unwrap();
    let (id, data) = sent(&env);
    assert!(is_uuid_v4(&id));
    let mut expected = expected_exempt_page(t0(), "home");
    expected["ad_campaign"] = json!("spring");
    expected["visitor_privacy_mode"] = json!("optin");
    expected["visitor_privacy_consent"] = json!(true);
    expected["visitor_privacy_purposes"] = json!(["advertising:opt-in", "audience_measurement:opt-in", "personalisation:opt-out"]);
    assert_eq!(data, expected, "reco_slot (opted out) and user_id (no purpose) held back");
    let dropped = env.recorder.dropped();
    for p in ["reco_slot", "user_id"] {
        assert!(dropped.contains(&("optin".into(), "page.display".into(), Some(p.into()), "purpose_not_consented")), "{p}: {dropped:?}");
    }
}

#[test]
fn a_purpose_never_answered_never_reads_as_opt_in() {
    let env = env();
    let sdk = env.sdk();
    use PurposeMode::*;
    assert_eq!(sdk.purposes(), answers(&[(AUDIENCE_MEASUREMENT, Essential), (AD, OptOut), (RECO, OptOut)]), "the default: exempt");
    sdk.set_purpose(AD, OptIn).unwrap();
    assert_eq!(sdk.mode(), VisitorMode::Exempt);
    assert_eq!(sdk.purposes()[RECO], OptOut, "not opt-in because another purpose was answered");
    sdk.set_purpose(AUDIENCE_MEASUREMENT, OptIn).unwrap();
    assert_eq!(sdk.purposes(), answers(&[(AUDIENCE_MEASUREMENT, OptIn), (AD, OptIn), (RECO, NotAcquired)]));
    sdk.track(tagged()).unwrap();
    sdk.flush().unwrap();
    let (_, data) = sent(&env);
    assert_eq!(data["ad_campaign"], "spring");
    assert!(data.get("reco_slot").is_none() && data.get("user_id").is_none(), "{data}");
    assert_eq!(data["visitor_privacy_purposes"], json!(["advertising:opt-in", "audience_measurement:opt-in", "personalisation:not-acquired"]));
}

#[test]
fn other_purposes_never_ride_on_the_exempt_stream() {
    let env = env();
    let sdk = env.sdk();
    use PurposeMode::*;
    sdk.set_purposes(&answers(&[(AUDIENCE_MEASUREMENT, Essential), (AD, OptIn), (RECO, OptIn)])).unwrap();
    sdk.track(tagged()).unwrap();
    sdk.flush().unwrap();
    let (_, data) = sent(&env);
    assert_eq!(data, expected_exempt_page(t0(), "home"), "only the strictly necessary set under the exempt id, and nothing of the visitor's answers");
}

#[test]
fn each_visitor_mode_is_a_combination_of_purposes_and_back() {
    use PurposeMode::*;
    for (mode, combination) in [
        (VisitorMode::OptIn, [OptIn, OptIn, OptIn]),
        (VisitorMode::Exempt, [Essential, OptOut, OptOut]),
        (VisitorMode::OptOut, [OptOut, OptOut, OptOut]),
        (VisitorMode::NoConsent, [NotAcquired, NotAcquired, NotAcquired]),
    ] {
        let env = env();
        let sdk = env.sdk();
        sdk.set_mode(mode.clone()).unwrap();
        let expected = answers(&[(AUDIENCE_MEASUREMENT, combination[0]), (AD, combination[1]), (RECO, combination[2])]);
        assert_eq!(sdk.purposes(), expected, "{mode} as purposes");
        let elsewhere = if mode == VisitorMode::OptOut { VisitorMode::NoConsent } else { VisitorMode::OptOut };
        sdk.set_mode(elsewhere).unwrap();
        sdk.set_purposes(&expected).unwrap();
        assert_eq!(sdk.mode(), mode, "purposes as {mode}");
        if mode.stores_visitor_id() || mode == VisitorMode::NoConsent {
            sdk.track(Event::screen("home")).unwrap();
            sdk.flush().unwrap();
            let data = &env.requests()[0].1[0]["data"];
            assert!(data.get("visitor_privacy_purposes").is_none(), "{mode}: a visitor mode's combination changes nothing on the wire");
        }
    }
}

#[test]
fn no_storage_is_a_consent_that_keeps_every_other_answer() {
    let env = env();
    let sdk = env.sdk();
    use PurposeMode::*;
    sdk.set_purpose(AD, OptOut).unwrap();
    sdk.set_mode(VisitorMode::NoStorage).unwrap();
    assert_eq!(
        sdk.purposes(),
        answers(&[(AUDIENCE_MEASUREMENT, OptIn), (AD, OptOut), (RECO, NotAcquired)]),
        "no-storage answers audience measurement; the refusal of advertising stands"
    );
    sdk.set_purpose(AUDIENCE_MEASUREMENT, OptIn).unwrap();
    assert_eq!(sdk.mode(), VisitorMode::NoStorage, "a consent to measurement says nothing of storage");
    sdk.track(tagged()).unwrap();
    sdk.flush().unwrap();
    let (id, data) = sent(&env);
    assert_eq!(id, "no-storage");
    assert!(data.get("ad_campaign").is_none() && data.get("reco_slot").is_none() && data.get("user_id").is_none(), "{data}");
    assert_eq!(data["visitor_privacy_purposes"], json!(["advertising:opt-out", "audience_measurement:opt-in", "personalisation:not-acquired"]));
    let dropped = env.recorder.dropped();
    assert!(dropped.contains(&("no-storage".into(), "page.display".into(), Some("ad_campaign".into()), "purpose_not_consented")), "{dropped:?}");
}

#[test]
fn a_purpose_opt_in_lapses_and_asks_again() {
    let mut env = env();
    env.config.queue_max_age_days = 395;
    let sdk = env.sdk();
    use PurposeMode::*;
    sdk.set_purpose(AD, OptIn).unwrap();
    env.clock.set_ms(add_calendar_months(t0(), 3).unwrap());
    sdk.set_purpose(AUDIENCE_MEASUREMENT, OptIn).unwrap();
    env.clock.set_ms(add_calendar_months(t0(), 6).unwrap());
    let status = sdk.mode_status();
    assert_eq!(status.mode, VisitorMode::OptIn, "audience measurement was answered later: it holds");
    assert_eq!(status.purposes[AD], NotAcquired, "advertising lapsed: unanswered, not opt-in");
    assert!(status.consent_renewal_needed);
    sdk.track(tagged()).unwrap();
    sdk.flush().unwrap();
    let (_, data) = sent(&env);
    assert!(data.get("ad_campaign").is_none(), "{data}");
    let change = env.recorder.changes().last().cloned().unwrap();
    assert_eq!((change.reason, change.consent_renewal_needed), (ModeChangeReason::ConsentExpired, true));
    assert_eq!(change.purposes[AD], NotAcquired);
}

#[test]
fn answers_survive_a_restart_and_a_lost_database() {
    let env = env();
    use PurposeMode::*;
    let given = answers(&[(AUDIENCE_MEASUREMENT, OptIn), (AD, OptOut), (RECO, OptIn)]);
    let sdk = env.sdk();
    sdk.set_purposes(&given).unwrap();
    sdk.shutdown().unwrap();
    drop(sdk);
    assert_eq!(env.sdk().purposes(), given);
    std::fs::write(env.db_path(), b"garbage").unwrap();
    let sdk = env.sdk();
    assert_eq!(sdk.purposes(), given, "kept in the choice file");
    let exported: Json = serde_json::from_str(&sdk.export_local_data().unwrap().to_json()).unwrap();
    assert_eq!(exported["purposes_answered"][AD]["mode"], "opt-out", "and written back to the database");
}

#[test]
fn a_purpose_added_by_an_update_is_not_consented() {
    let mut env = env();
    let sdk = env.sdk();
    sdk.set_mode(VisitorMode::OptIn).unwrap();
    sdk.shutdown().unwrap();
    drop(sdk);
    env.config.purposes.push(PurposeConfig { name: "newsletter".into(), properties: vec!["mail_*".into()] });
    let sdk = env.sdk();
    assert_eq!(sdk.mode(), VisitorMode::OptIn);
    assert_eq!(sdk.purposes()["newsletter"], PurposeMode::NotAcquired, "a consent given before it existed does not cover it");
    sdk.track(Event::screen("home").with("mail_topic", "x").with("ad_campaign", "y")).unwrap();
    sdk.flush().unwrap();
    let (_, data) = sent(&env);
    assert!(data.get("mail_topic").is_none() && data["ad_campaign"] == "y", "{data}");
}

#[test]
fn opting_out_of_audience_measurement_purges() {
    let env = env();
    let sdk = env.sdk();
    sdk.track(Event::screen("before")).unwrap();
    sdk.export_local_data().unwrap();
    assert!(env.stored_visitor().is_some());
    sdk.set_purpose(AUDIENCE_MEASUREMENT, PurposeMode::OptOut).unwrap();
    assert_eq!(sdk.mode(), VisitorMode::OptOut);
    sdk.flush().unwrap();
    assert!(env.requests().is_empty(), "the queued identified hit was purged");
    assert_eq!(env.stored_visitor(), None);
}

#[test]
fn an_unknown_purpose_is_refused_whole() {
    let env = env();
    let sdk = env.sdk();
    let err = sdk.set_purposes(&answers(&[(AD, PurposeMode::OptIn), ("crm", PurposeMode::OptIn)])).unwrap_err();
    assert_eq!(err, ModeError::UnknownPurpose("crm".into()));
    assert_eq!(sdk.purposes()[AD], PurposeMode::OptOut, "nothing of the call applied");
}

#[test]
fn the_compliance_report_lists_the_purposes() {
    let env = env();
    let report = env.sdk().compliance_report();
    let names: Vec<&str> = report.purposes.iter().map(|p| p.purpose.as_str()).collect();
    assert_eq!(names, [AUDIENCE_MEASUREMENT, AD, RECO]);
    assert_eq!(report.purposes[1].properties, ["ad_*"]);
    assert_eq!(report.purposes[1].modes.len(), 4);
    assert!(report.to_markdown().contains("### `advertising`"));
}
