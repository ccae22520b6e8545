//! What each visitor mode sends, stores and reports; mode changes and consent expiry.

mod common;

use common::*;
use mesure_core::*;
use serde_json::json;

fn tagged_page() -> Event {
    Event::screen("home").with("user_id", "u-123").with("basket_value", 12.5)
}

/// The anonymous hit of opt-out and no-consent for a page tracked at t0.
fn expected_minimal(mode: &str) -> serde_json::Value {
    json!({
        "connection_type": "wifi",
        "device_timestamp_utc": t0() / 1000,
        "visitor_privacy_consent": false,
        "visitor_privacy_mode": mode,
    })
}

#[test]
fn exempt_sends_only_strictly_necessary_fields() {
    let env = Env::new();
    let sdk = env.sdk();
    assert_eq!(sdk.mode(), VisitorMode::Exempt);
    let out = sdk.track(tagged_page()).unwrap();
    assert!(matches!(out, TrackOutcome::Queued { .. }));
    let report = sdk.flush().unwrap();
    assert_eq!(report.uploaded, 1);

    let reqs = env.requests();
    assert_eq!(reqs.len(), 1);
    let (idclient, events) = &reqs[0];
    assert!(is_uuid_v4(idclient), "{idclient}");
    assert_eq!(env.stored_visitor().unwrap().0, *idclient);
    let mut data = events[0]["data"].clone();
    take_event_id(&mut data);
    assert_eq!(events[0]["name"], "page.display");
    assert_eq!(data, expected_exempt_page(t0(), "home"));
    assert_eq!(
        env.recorder.dropped(),
        vec![
            ("exempt".into(), "page.display".into(), Some("basket_value".into()), "not_allowed_in_mode"),
            ("exempt".into(), "page.display".into(), Some("user_id".into()), "not_allowed_in_mode"),
        ]
    );
}

#[test]
fn exempt_holds_back_events_outside_its_list() {
    let env = Env::new();
    let sdk = env.sdk();
    let out = sdk.track(Event::new("purchase").with("amount", 10)).unwrap();
    assert_eq!(out, TrackOutcome::NotSent { reason: DropReason::EventNotAllowedInMode });
    for e in ["page.display", "click.action", "click.navigation", "click.download", "click.exit"] {
        assert!(matches!(sdk.track(Event::new(e)).unwrap(), TrackOutcome::Queued { .. }), "{e}");
    }
    sdk.flush().unwrap();
    let names: Vec<String> = env.requests()[0].1.iter().map(|e| e["name"].as_str().unwrap().to_owned()).collect();
    assert_eq!(names, ["page.display", "click.action", "click.navigation", "click.download", "click.exit"]);
    assert_eq!(env.recorder.dropped(), vec![("exempt".into(), "purchase".into(), None, "event_not_allowed_in_mode")]);
    assert_eq!(sdk.stats().events_dropped_by_mode, 1);
}

#[test]
fn opt_in_sends_everything_with_consent() {
    let env = Env::new();
    let sdk = env.sdk();
    sdk.set_mode(VisitorMode::OptIn).unwrap();
    sdk.track(tagged_page()).unwrap();
    sdk.track(Event::new("purchase").with("amount", 10)).unwrap();
    sdk.flush().unwrap();
    let reqs = env.requests();
    assert_eq!(reqs.len(), 1);
    let mut data = reqs[0].1[0]["data"].clone();
    take_event_id(&mut data);
    let mut expected = expected_exempt_page(t0(), "home");
    expected["user_id"] = json!("u-123");
    expected["basket_value"] = json!(12.5);
    expected["visitor_privacy_mode"] = json!("optin");
    expected["visitor_privacy_consent"] = json!(true);
    assert_eq!(data, expected);
    assert_eq!(reqs[0].1[1]["name"], "purchase");
    assert_eq!(reqs[0].1[1]["data"]["amount"], 10);
    assert!(env.recorder.dropped().is_empty());
}

#[test]
fn opt_out_sends_and_stores_nothing_by_default() {
    let env = Env::new();
    let sdk = env.sdk();
    sdk.set_mode(VisitorMode::OptOut).unwrap();
    assert_eq!(sdk.track(tagged_page()).unwrap(), TrackOutcome::NotSent { reason: DropReason::OptOutSendsNothing });
    let report = sdk.flush().unwrap();
    assert_eq!((report.uploaded, report.pending), (0, 0));
    assert!(env.collector.received().is_empty());
    assert!(env.queued().is_empty());
    assert_eq!(env.stored_visitor(), None);
    assert_eq!(env.stored_modes(), vec![("optout".into(), t0(), "set_by_app".into())]);
    assert_eq!(env.recorder.dropped(), vec![("optout".into(), "page.display".into(), None, "opt_out_sends_nothing")]);
}

#[test]
fn opt_out_anonymous_hits_carry_no_identifier() {
    let mut env = Env::new();
    env.config.send_hits_in_opt_out = true;
    let sdk = env.sdk();
    sdk.set_mode(VisitorMode::OptOut).unwrap();
    sdk.track(tagged_page()).unwrap();
    sdk.flush().unwrap();
    let reqs = env.requests();
    assert_eq!(reqs[0].0, "opt-out");
    let mut data = reqs[0].1[0]["data"].clone();
    take_event_id(&mut data);
    assert_eq!(data, expected_minimal("optout"));
    assert_eq!(env.stored_visitor(), None);
}

#[test]
fn no_consent_sends_minimal_hit_and_stores_only_the_choice_and_the_queue_row() {
    let env = Env::new();
    let sdk = env.sdk();
    sdk.set_mode(VisitorMode::NoConsent).unwrap();
    sdk.track(tagged_page()).unwrap();
    sdk.export_local_data().unwrap(); // waits for the write
    let rows = env.queued();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].0.as_str(), rows[0].1.as_str()), ("Consent-NO", "no-consent"));
    assert_eq!(env.stored_visitor(), None);
    assert_eq!(env.stored_modes(), vec![("no-consent".into(), t0(), "set_by_app".into())], "the refusal is recorded");
    sdk.flush().unwrap();
    let reqs = env.requests();
    assert_eq!(reqs[0].0, "Consent-NO");
    let mut data = reqs[0].1[0]["data"].clone();
    take_event_id(&mut data);
    assert_eq!(data, expected_minimal("no-consent"));
    // Recorded: a restart is still in no-consent, with no id.
    drop(sdk);
    assert_eq!(env.sdk().mode(), VisitorMode::NoConsent);
}

#[test]
fn no_storage_sends_all_properties_under_a_fixed_id_and_stores_no_identifier() {
    let env = Env::new();
    let sdk = env.sdk();
    sdk.set_mode(VisitorMode::NoStorage).unwrap();
    sdk.track(tagged_page()).unwrap();
    sdk.flush().unwrap();
    let reqs = env.requests();
    assert_eq!(reqs[0].0, "no-storage");
    let data = &reqs[0].1[0]["data"];
    assert_eq!(data["user_id"], "u-123");
    assert_eq!(data["visitor_privacy_mode"], "no-storage");
    assert_eq!(data["visitor_privacy_consent"], false);
    assert_eq!(env.stored_visitor(), None);
    assert_eq!(env.stored_modes(), vec![("no-storage".into(), t0(), "set_by_app".into())], "the choice only");
}

#[test]
fn custom_mode_extends_exempt_with_its_own_allowlist() {
    let mut env = Env::new();
    env.config.custom_modes.push(CustomMode {
        name: "exempt-search".into(),
        allowed_events: vec!["search.*".into()],
        allowed_properties: vec![AllowedProperty {
            property: "search_category".into(),
            events: "search.*".into(),
            justification: "measures which search categories fail (UX optimisation)".into(),
        }],
    });
    let sdk = env.sdk();
    sdk.set_mode(VisitorMode::Custom("exempt-search".into())).unwrap();
    sdk.track(Event::new("search.submit").with("search_category", "shoes").with("user_id", "u-1")).unwrap();
    sdk.track(Event::screen("results").with("search_category", "shoes")).unwrap();
    sdk.flush().unwrap();
    let events = &env.requests()[0].1;
    assert_eq!(events[0]["data"]["search_category"], "shoes");
    assert_eq!(events[0]["data"]["visitor_privacy_mode"], "exempt-search");
    assert_eq!(events[0]["data"]["visitor_privacy_consent"], false);
    assert!(events[0]["data"].get("user_id").is_none());
    assert!(events[1]["data"].get("search_category").is_none(), "allowed for search.* only");
    assert!(is_uuid_v4(&env.requests()[0].0));
}

#[test]
fn unknown_mode_is_a_typed_error() {
    let env = Env::new();
    let sdk = env.sdk();
    assert_eq!(sdk.set_mode(VisitorMode::Custom("nope".into())), Err(ModeError::UnknownMode("nope".into())));
    assert_eq!(sdk.mode(), VisitorMode::Exempt);
}

#[test]
fn each_hit_keeps_the_mode_in_force_when_tracked() {
    let env = Env::new();
    let sdk = env.sdk();
    sdk.track(tagged_page()).unwrap();
    sdk.set_mode(VisitorMode::OptIn).unwrap();
    sdk.track(tagged_page()).unwrap();
    // Sent before the withdrawal, which purges consented hits still queued.
    sdk.flush().unwrap();
    sdk.set_mode(VisitorMode::Exempt).unwrap();
    sdk.track(tagged_page()).unwrap();
    sdk.flush().unwrap();
    let reqs = env.requests();
    assert_eq!(reqs.len(), 3, "each side of the consent boundary has its own id");
    let modes: Vec<_> = reqs.iter().flat_map(|r| r.1.iter().map(|e| e["data"]["visitor_privacy_mode"].clone())).collect();
    assert_eq!(modes, [json!("exempt"), json!("optin"), json!("exempt")]);
    let has_user: Vec<_> = reqs.iter().flat_map(|r| r.1.iter().map(|e| e["data"].get("user_id").is_some())).collect();
    assert_eq!(has_user, [false, true, false]);
}

#[test]
fn switching_to_opt_out_mid_queue_purges_identified_hits() {
    let mut env = Env::new();
    env.config.send_hits_in_opt_out = true;
    let sdk = env.sdk();
    sdk.track(Event::screen("a")).unwrap();
    sdk.set_mode(VisitorMode::OptIn).unwrap();
    sdk.track(Event::screen("b")).unwrap();
    sdk.export_local_data().unwrap();
    let first_id = env.stored_visitor().unwrap().0;
    assert_eq!(env.queued().len(), 2);

    sdk.set_mode(VisitorMode::OptOut).unwrap();
    sdk.track(Event::screen("c")).unwrap();
    sdk.export_local_data().unwrap();
    let rows = env.queued();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].0.as_str(), rows[0].1.as_str()), ("opt-out", "optout"));
    assert_eq!(env.stored_visitor(), None);
    assert_eq!(sdk.stats().purged_on_mode_change, 2);

    sdk.set_mode(VisitorMode::OptIn).unwrap();
    sdk.track(Event::screen("d")).unwrap();
    sdk.flush().unwrap();
    let reqs = env.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].0, "opt-out");
    assert_ne!(reqs[1].0, first_id, "a new id after opt-out, never the old one");
    assert!(is_uuid_v4(&reqs[1].0));
    assert!(reqs.iter().all(|(id, _)| *id != first_id));
}

#[test]
fn mode_changes_are_persisted_and_reported() {
    let env = Env::new();
    let sdk = env.sdk();
    sdk.set_mode(VisitorMode::OptIn).unwrap();
    env.clock.advance_ms(1000);
    sdk.set_mode(VisitorMode::OptOut).unwrap();
    sdk.flush().unwrap();
    assert_eq!(env.stored_modes(), vec![("optin".into(), t0(), "set_by_app".into()), ("optout".into(), t0() + 1000, "set_by_app".into())]);
    let changes = env.recorder.changes();
    assert_eq!(changes.len(), 2);
    assert_eq!((changes[0].previous.clone(), changes[0].current.clone()), (VisitorMode::Exempt, VisitorMode::OptIn));
    assert_eq!((changes[1].previous.clone(), changes[1].current.clone()), (VisitorMode::OptIn, VisitorMode::OptOut));
    assert!(changes.iter().all(|c| c.reason == ModeChangeReason::SetByApp && !c.consent_renewal_needed));
    drop(sdk);
    let sdk = env.sdk();
    let status = sdk.mode_status();
    assert_eq!(status.mode, VisitorMode::OptOut);
    assert_eq!(status.since_ms, Some(t0() + 1000));
}

#[test]
fn consent_lapses_after_six_calendar_months_to_the_default_mode() {
    let env = Env::new();
    let sdk = env.sdk();
    sdk.set_mode(VisitorMode::OptIn).unwrap();
    let expiry = at("2026-09-03T10:00:00Z");
    assert_eq!(sdk.mode_status().consent_expires_at_ms, Some(expiry));

    env.clock.set_ms(expiry - 1000);
    assert_eq!(sdk.mode(), VisitorMode::OptIn);
    sdk.track(tagged_page()).unwrap();

    env.clock.set_ms(expiry + 1000);
    sdk.track(tagged_page()).unwrap();
    let status = sdk.mode_status();
    assert_eq!(status.mode, VisitorMode::Exempt);
    assert!(status.consent_renewal_needed);
    assert_eq!(status.since_ms, Some(expiry));

    sdk.flush().unwrap();
    let reqs = env.requests();
    assert_eq!(reqs.len(), 1, "the lapse withdrew the consent: the opt-in hit still queued never leaves");
    assert_eq!(sdk.stats().purged_on_mode_change, 1);
    let events: Vec<_> = reqs.iter().flat_map(|r| r.1.clone()).collect();
    assert_eq!(events[0]["data"]["visitor_privacy_mode"], "exempt");
    assert!(events[0]["data"].get("user_id").is_none());
    assert!(env.queued().is_empty());

    let change = env.recorder.changes().last().cloned().unwrap();
    assert_eq!(change.reason, ModeChangeReason::ConsentExpired);
    assert!(change.consent_renewal_needed);
    assert_eq!((change.previous, change.current, change.at_ms), (VisitorMode::OptIn, VisitorMode::Exempt, expiry));
    assert_eq!(env.stored_modes().last().cloned().unwrap(), ("exempt".into(), expiry, "consent_expired".into()));

    // The renewal request survives a restart, and a new choice clears it.
    drop(sdk);
    let sdk = env.sdk();
    assert!(sdk.mode_status().consent_renewal_needed);
    sdk.set_mode(VisitorMode::OptIn).unwrap();
    assert!(!sdk.mode_status().consent_renewal_needed);
}

#[test]
fn consent_lapses_exactly_at_the_boundary() {
    let env = Env::new();
    let sdk = env.sdk();
    sdk.set_mode(VisitorMode::OptIn).unwrap();
    let expiry = at("2026-09-03T10:00:00Z");
    env.clock.set_ms(expiry - 1);
    assert_eq!(sdk.mode(), VisitorMode::OptIn);
    env.clock.set_ms(expiry);
    assert_eq!(sdk.mode(), VisitorMode::Exempt);
}

#[test]
fn lapsed_consent_returns_to_the_configured_default_and_drops_the_id() {
    let mut env = Env::new();
    env.config.default_mode = VisitorMode::NoConsent;
    let sdk = env.sdk();
    assert_eq!(sdk.mode(), VisitorMode::NoConsent);
    sdk.set_mode(VisitorMode::OptIn).unwrap();
    sdk.track(tagged_page()).unwrap();
    sdk.export_local_data().unwrap();
    assert!(env.stored_visitor().is_some());
    env.clock.set_ms(at("2026-09-03T10:00:00Z"));
    assert_eq!(sdk.mode(), VisitorMode::NoConsent);
    sdk.export_local_data().unwrap();
    assert_eq!(env.stored_visitor(), None);
    assert!(env.queued().is_empty(), "hits carrying the id are purged with it");
}

#[test]
fn opt_out_never_lapses() {
    let env = Env::new();
    let sdk = env.sdk();
    sdk.set_mode(VisitorMode::OptOut).unwrap();
    env.clock.set_ms(at("2031-03-03T10:00:00Z"));
    assert_eq!(sdk.mode(), VisitorMode::OptOut);
    drop(sdk);
    assert_eq!(env.sdk().mode(), VisitorMode::OptOut);
}

#[test]
fn consent_lapse_is_detected_at_start_up() {
    let env = Env::new();
    let sdk = env.sdk();
    sdk.set_mode(VisitorMode::OptIn).unwrap();
    drop(sdk);
    env.clock.set_ms(at("2027-01-01T00:00:00Z"));
    let sdk = env.sdk();
    let s = sdk.mode_status();
    assert_eq!((s.mode, s.consent_renewal_needed), (VisitorMode::Exempt, true));
    sdk.flush().unwrap();
    let last = env.recorder.changes().last().cloned().unwrap();
    assert_eq!(last.reason, ModeChangeReason::ConsentExpired);
}

#[test]
fn the_opt_out_switch_never_drops_a_consent() {
    let mut env = Env::new();
    env.config.default_mode = VisitorMode::NoConsent;
    let sdk = env.sdk();
    sdk.set_opted_out(true).unwrap();
    assert_eq!(sdk.mode(), VisitorMode::OptOut);
    sdk.set_opted_out(false).unwrap();
    assert_eq!(sdk.mode(), VisitorMode::NoConsent, "off: back to the configured default");
    sdk.set_mode(VisitorMode::OptIn).unwrap();
    sdk.set_opted_out(false).unwrap();
    assert_eq!(sdk.mode(), VisitorMode::OptIn, "off while opted in: nothing changes");
    sdk.flush().unwrap();
    let changes: Vec<VisitorMode> = env.recorder.changes().into_iter().map(|c| c.current).collect();
    assert_eq!(changes, vec![VisitorMode::OptOut, VisitorMode::NoConsent, VisitorMode::OptIn], "the no-op changes nothing");
}

#[test]
fn a_consent_answer_sets_withdraws_or_settles() {
    let env = Env::new();
    let sdk = env.sdk();
    sdk.set_consent(true).unwrap();
    assert_eq!(sdk.mode(), VisitorMode::OptIn);
    sdk.set_consent(false).unwrap();
    assert_eq!(sdk.mode(), VisitorMode::Exempt, "declining withdraws the consent");
    sdk.set_opted_out(true).unwrap();
    sdk.set_consent(false).unwrap();
    assert_eq!(sdk.mode(), VisitorMode::OptOut, "declining leaves an opt-out in force");

    // A lapsed consent asks for an answer; declining settles it.
    sdk.set_consent(true).unwrap();
    env.clock.set_ms(at("2026-09-03T10:00:00Z"));
    assert!(sdk.mode_status().consent_renewal_needed);
    sdk.set_consent(false).unwrap();
    let status = sdk.mode_status();
    assert_eq!((status.mode, status.consent_renewal_needed), (VisitorMode::Exempt, false));
    assert!(sdk.set_consent(true).is_ok());
    sdk.shutdown().unwrap();
    assert_eq!(sdk.set_opted_out(true), Err(mesure_core::ModeError::ShutDown));
    assert_eq!(sdk.set_consent(true), Err(mesure_core::ModeError::ShutDown));
}

#[test]
fn anonymous_hits_carry_only_values_the_sdk_owns() {
    // An app value under a minimal field's name never reaches the wire in an
    // anonymous mode: the device context's value does, or nothing.
    for mode in [VisitorMode::OptOut, VisitorMode::NoConsent] {
        let mut env = Env::new();
        env.config.send_hits_in_opt_out = true;
        let sdk = env.sdk();
        sdk.set_mode(mode.clone()).unwrap();
        let tagged =
            Event::screen("home").with("connection_type", "jane.doe@example.com").with("device_timestamp_utc", 1).with("page_chapter1", "account");
        assert!(matches!(sdk.track(tagged).unwrap(), TrackOutcome::Queued { .. }), "{mode}");
        sdk.flush().unwrap();
        let reqs = env.requests();
        let mut data = reqs[0].1[0]["data"].clone();
        take_event_id(&mut data);
        assert_eq!(data, expected_minimal(mode.wire_name()), "{mode}");
        let dropped = env.recorder.dropped();
        assert!(
            dropped.contains(&(mode.wire_name().into(), "page.display".into(), Some("connection_type".into()), "not_allowed_in_mode")),
            "{mode}: the app's value is reported as held back: {dropped:?}"
        );
    }
}

#[test]
fn anonymous_hits_send_only_the_configured_event_names() {
    for mode in [VisitorMode::OptOut, VisitorMode::NoConsent] {
        let mut env = Env::new();
        env.config.send_hits_in_opt_out = true;
        let sdk = env.sdk();
        sdk.set_mode(mode.clone()).unwrap();
        assert_eq!(
            sdk.track(Event::new("user.jane_doe_signed_in")).unwrap(),
            TrackOutcome::NotSent { reason: DropReason::EventNotAllowedInMode },
            "{mode}"
        );
        for e in ["page.display", "click.action", "click.navigation", "click.download", "click.exit"] {
            assert!(matches!(sdk.track(Event::new(e)).unwrap(), TrackOutcome::Queued { .. }), "{mode} {e}");
        }
        sdk.flush().unwrap();
        let names: Vec<String> = env.requests()[0].1.iter().map(|e| e["name"].as_str().unwrap().to_owned()).collect();
        assert_eq!(names, ["page.display", "click.action", "click.navigation", "click.download", "click.exit"], "{mode}");
        assert_eq!(env.recorder.dropped(), vec![(mode.wire_name().into(), "user.jane_doe_signed_in".into(), None, "event_not_allowed_in_mode")]);
    }
}

#[test]
fn the_anonymous_event_list_is_configurable() {
    let mut env = Env::new();
    env.config = Config::from_json(&format!(
        r#"{{"collect_endpoint": "{}", "site_id": 42, "storage_dir": {:?}, "send_hits_in_opt_out": true,
            "anonymous_events": ["page.display", "video.play"]}}"#,
        env.collector.url(),
        env.dir.path()
    ))
    .expect("anonymous_events is a configuration field");
    env.config.context = context();
    let sdk = env.sdk();
    sdk.set_mode(VisitorMode::OptOut).unwrap();
    assert!(matches!(sdk.track(Event::new("video.play")).unwrap(), TrackOutcome::Queued { .. }));
    assert!(matches!(sdk.track(Event::new("click.action")).unwrap(), TrackOutcome::NotSent { .. }));
}

#[test]
fn a_forbidden_event_is_held_back_in_every_mode() {
    let mut env = Env::new();
    env.config = Config::from_json(&format!(
        r#"{{"collect_endpoint": "{}", "site_id": 42, "storage_dir": {:?}, "send_hits_in_opt_out": true,
            "forbidden_events": ["purchase", "debug.*", "click.exit"]}}"#,
        env.collector.url(),
        env.dir.path()
    ))
    .expect("forbidden_events is a configuration field");
    let sdk = env.sdk();
    let forbidden = TrackOutcome::NotSent { reason: DropReason::EventForbiddenByRule };
    for mode in [VisitorMode::OptIn, VisitorMode::NoStorage, VisitorMode::OptOut, VisitorMode::NoConsent, VisitorMode::Exempt] {
        sdk.set_mode(mode.clone()).unwrap();
        for e in ["purchase", "debug.trace", "click.exit"] {
            assert_eq!(sdk.track(Event::new(e)).unwrap(), forbidden, "{mode} {e}");
        }
        assert!(matches!(sdk.track(Event::new("page.display")).unwrap(), TrackOutcome::Queued { .. }), "{mode}");
    }
    sdk.flush().unwrap();
    let names: Vec<String> = env.requests().iter().flat_map(|(_, e)| e.iter().map(|x| x["name"].as_str().unwrap().to_owned())).collect();
    assert!(names.iter().all(|n| n == "page.display"), "{names:?}");
    assert_eq!(sdk.stats().events_dropped_by_mode, 15);
}
