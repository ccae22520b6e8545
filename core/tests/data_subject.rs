//! Access and erasure for the data subject; the compliance report for the controller.

mod common;

use common::*;
use mesure_core::*;
use serde_json::Value as Json;

#[test]
fn export_lists_the_id_the_choices_and_the_pending_hits() {
    let env = Env::new();
    let sdk = env.sdk();
    sdk.track(Event::screen("home")).unwrap();
    env.clock.advance_ms(5_000);
    sdk.set_mode(VisitorMode::OptIn).unwrap();
    sdk.track(Event::screen("cart").with("user_id", "u-9")).unwrap();
    let data = sdk.export_local_data().unwrap();
    let id = env.stored_visitor().unwrap().0;
    assert_eq!(data.visitor.as_ref().unwrap().id, id);
    assert_eq!(data.mode_history.len(), 1);
    assert_eq!(data.pending_hits.len(), 2);

    let doc: Json = serde_json::from_str(&data.to_json()).unwrap();
    assert_eq!(doc["visitor_id"]["id"], id.as_str());
    // The consent renewed the id: the one stored was created with it.
    assert_eq!(doc["visitor_id"]["created_at"], "2026-03-03T10:00:05.000Z");
    assert_eq!(doc["visitor_id"]["expires_at"], "2027-04-03T10:00:05.000Z");
    assert_eq!(doc["current_mode"]["mode"], "optin");
    assert_eq!(doc["current_mode"]["consent_expires_at"], "2026-09-03T10:00:05.000Z");
    assert_eq!(doc["mode_history"][0]["mode"], "optin");
    assert_eq!(doc["mode_history"][0]["reason"], "set_by_app");
    assert_eq!(doc["pending_hits"][0]["event"]["data"]["page"], "home");
    assert_eq!(doc["pending_hits"][1]["event"]["data"]["user_id"], "u-9");
    assert_eq!(doc["pending_hits"][1]["visitor_id"], id.as_str());
    assert_ne!(doc["pending_hits"][0]["visitor_id"], id.as_str(), "the exempt hit keeps the id it was bound to");
}

#[test]
fn deleting_local_data_erases_id_queue_and_history() {
    let env = Env::new();
    let sdk = env.sdk();
    sdk.set_mode(VisitorMode::OptIn).unwrap();
    sdk.track(Event::screen("a")).unwrap();
    sdk.track(Event::screen("b")).unwrap();
    sdk.export_local_data().unwrap();
    let old = env.stored_visitor().unwrap().0;
    assert_eq!(sdk.delete_local_data().unwrap(), 2);
    assert_eq!(env.stored_visitor(), None);
    assert!(env.queued().is_empty());
    assert!(env.stored_modes().is_empty());
    assert_eq!(sdk.mode(), VisitorMode::Exempt, "back to the default");
    let last = env.recorder.changes().last().cloned().unwrap();
    assert_eq!(last.reason, ModeChangeReason::LocalDataDeleted);
    sdk.track(Event::screen("c")).unwrap();
    sdk.flush().unwrap();
    let reqs = env.requests();
    assert_eq!(reqs.len(), 1);
    assert_ne!(reqs[0].0, old);
}

#[test]
fn deleting_local_data_keeps_an_opt_out_in_force() {
    let env = Env::new();
    let sdk = env.sdk();
    sdk.set_mode(VisitorMode::OptOut).unwrap();
    sdk.delete_local_data().unwrap();
    assert_eq!(sdk.mode(), VisitorMode::OptOut);
    assert_eq!(env.stored_modes(), vec![("optout".into(), t0(), "set_by_app".into())]);
    drop(sdk);
    assert_eq!(env.sdk().mode(), VisitorMode::OptOut);
}

#[test]
fn the_compliance_report_follows_the_live_configuration() {
    let mut env = Env::new();
    env.config.exempt_allowlist.push(AllowedProperty {
        property: "ab_variant".into(),
        events: "page.display".into(),
        justification: "A/B test of the onboarding screen's load time".into(),
    });
    env.config.forbidden_properties.push(PropertyRule { property: "free_text".into(), events: "*".into() });
    let sdk = env.sdk();
    let report = sdk.compliance_report();
    assert_eq!(report.visitor_id_lifetime_months, 13);
    assert!(!report.visitor_id_extended_by_use);
    assert_eq!(report.consent_lifetime_months, 6);
    assert_eq!((report.queue_max_hits, report.queue_max_age_days), (10_000, 30));
    assert_eq!(report.endpoint, env.collector.url());

    let exempt = report.mode(&VisitorMode::Exempt).unwrap();
    assert!(!exempt.consent && exempt.sends_hits);
    assert_eq!(exempt.events, ["page.display", "click.action", "click.navigation", "click.download", "click.exit"]);
    let props: Vec<&str> = exempt.properties.iter().map(|p| p.property.as_str()).collect();
    assert!(props.contains(&"page") && props.contains(&"device_model") && props.contains(&"ab_variant"));
    assert!(!props.contains(&"user_id"));
    let ab = exempt.properties.iter().find(|p| p.property == "ab_variant").unwrap();
    assert!(ab.added_by_controller);
    assert_eq!(ab.justification, "A/B test of the onboarding screen's load time");
    assert!(exempt.forbidden.iter().any(|f| f.starts_with("any identifying name")), "{:?}", exempt.forbidden);
    assert!(exempt.forbidden.contains(&"free_text".to_owned()));

    let opt_out = report.mode(&VisitorMode::OptOut).unwrap();
    assert!(!opt_out.sends_hits);
    assert!(opt_out.visitor_id.contains("opt-out"));
    let opt_in = report.mode(&VisitorMode::OptIn).unwrap();
    assert!(opt_in.consent);
    assert!(opt_in.forbidden.contains(&"free_text".to_owned()));

    let duties = report.server_side_duties.join("\n");
    for needle in ["IP address", "25 months", "city"] {
        assert!(duties.contains(needle), "{needle}");
    }
    let md = report.to_markdown();
    assert!(md.contains("## Mode `exempt`"));
    assert!(md.contains("| `ab_variant` | `page.display` | controller: A/B test"));
    let json: Json = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(json["modes"].as_array().unwrap().len(), 5);
}

/// Every byte of every file in the storage directory.
fn bytes_on_disk(env: &Env) -> Vec<(String, Vec<u8>)> {
    std::fs::read_dir(env.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_file())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap()))
        .collect()
}

fn files_holding(env: &Env, needle: &str) -> Vec<String> {
    bytes_on_disk(env).into_iter().filter(|(_, bytes)| bytes.windows(needle.len()).any(|w| w == needle.as_bytes())).map(|(name, _)| name).collect()
}

/// Tracks enough hits under one id that its bytes are spread over WAL frames
/// and pages; returns the id.
fn an_id_on_disk(env: &Env, sdk: &Sdk) -> String {
    for i in 0..300 {
        sdk.track(Event::screen(format!("screen-{i}")).with("page_chapter1", "x".repeat(200))).unwrap();
    }
    sdk.export_local_data().unwrap();
    let id = env.stored_visitor().unwrap().0;
    assert!(!files_holding(env, &id).is_empty(), "the test can see the id on disk");
    id
}

#[test]
fn an_opt_out_leaves_no_byte_of_the_old_id_on_disk() {
    let env = Env::new();
    let sdk = env.sdk();
    let id = an_id_on_disk(&env, &sdk);
    sdk.set_mode(VisitorMode::OptOut).unwrap();
    sdk.export_local_data().unwrap();
    assert_eq!(files_holding(&env, &id), Vec::<String>::new(), "not in the database, its WAL or its free pages");
}

#[test]
fn deleting_local_data_leaves_no_byte_of_the_old_id_on_disk() {
    let env = Env::new();
    let sdk = env.sdk();
    let id = an_id_on_disk(&env, &sdk);
    sdk.delete_local_data().unwrap();
    assert_eq!(files_holding(&env, &id), Vec::<String>::new());
}

#[test]
fn the_files_are_private_to_the_app() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    let dir = env.dir.path().join("store");
    let mut config = env.config.clone();
    config.storage_dir = dir.clone();
    let sdk = Sdk::builder(config).clock(env.clock.clone()).build().unwrap();
    sdk.track(Event::screen("home")).unwrap();
    sdk.set_mode(VisitorMode::OptOut).unwrap();
    sdk.export_local_data().unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700, "the directory the SDK created");
    let mut seen = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        assert_eq!(mode(&p), 0o600, "{}", p.display());
        seen += 1;
    }
    assert!(seen >= 3, "database, WAL, choice file at least");
}

#[test]
fn privacy_md_lists_every_guarantee() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../PRIVACY.md")).unwrap();
    for (i, g) in GUARANTEES.iter().enumerate() {
        let row = format!("| {} | {} | {} | {} |", i + 1, g.guarantee, g.adversary, g.proof);
        assert!(doc.contains(&row), "PRIVACY.md lacks, word for word:\n{row}");
    }
    let env = Env::new();
    let report = env.sdk().compliance_report();
    assert_eq!(report.guarantees, GUARANTEES.to_vec());
    let md = report.to_markdown();
    assert!(GUARANTEES.iter().all(|g| md.contains(g.guarantee)), "the report lists them too");
}
