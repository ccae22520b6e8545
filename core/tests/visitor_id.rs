//! The app-scoped visitor id: lazy creation, fixed 13-month life, no extension,
//! deletion with the hits that carry it.

mod common;

use common::*;
use mesure_core::*;

fn flushed_ids(env: &Env) -> Vec<String> {
    env.requests().into_iter().map(|(id, _)| id).collect()
}

#[test]
fn created_lazily_with_a_fixed_thirteen_month_life() {
    let env = Env::new();
    let sdk = env.sdk();
    sdk.export_local_data().unwrap();
    assert_eq!(env.stored_visitor(), None, "no id before a hit needs one");
    sdk.track(Event::screen("home")).unwrap();
    sdk.export_local_data().unwrap();
    let (id, created, expires) = env.stored_visitor().unwrap();
    assert!(is_uuid_v4(&id));
    assert_eq!(created, t0());
    assert_eq!(expires, at("2027-04-03T10:00:00Z"));
}

#[test]
fn use_never_extends_it() {
    let env = Env::new();
    let sdk = env.sdk();
    sdk.track(Event::screen("a")).unwrap();
    sdk.export_local_data().unwrap();
    let before = env.stored_visitor().unwrap();
    for month in ["2026-06-01T00:00:00Z", "2026-12-24T00:00:00Z", "2027-04-03T09:59:59Z"] {
        env.clock.set_ms(at(month));
        sdk.track(Event::screen("b")).unwrap();
    }
    sdk.export_local_data().unwrap();
    assert_eq!(env.stored_visitor().unwrap(), before);
}

#[test]
fn expires_at_thirteen_months_plus_or_minus_one_second() {
    let env = Env::new();
    let sdk = env.sdk();
    sdk.track(Event::screen("start")).unwrap();
    sdk.flush().unwrap(); // sent now: the queue's 30-day bound would drop it otherwise
    let expiry = at("2027-04-03T10:00:00Z");
    env.clock.set_ms(expiry - 1000);
    sdk.track(Event::screen("before")).unwrap();
    // Sent while its id is valid: once expired, the id never leaves again.
    sdk.flush().unwrap();
    env.clock.set_ms(expiry + 1000);
    sdk.track(Event::screen("after")).unwrap();
    sdk.flush().unwrap();
    let reqs = env.requests();
    assert_eq!(reqs.len(), 3);
    let pages: Vec<_> = reqs.iter().map(|(_, e)| e[0]["data"]["page"].as_str().unwrap().to_owned()).collect();
    assert_eq!(pages, ["start", "before", "after"]);
    assert_eq!(reqs[0].0, reqs[1].0, "one second before expiry: the same id");
    assert_ne!(reqs[1].0, reqs[2].0, "one second after: a new id");
    assert!(is_uuid_v4(&reqs[2].0));
    let (id, created, expires) = env.stored_visitor().unwrap();
    assert_eq!((id, created, expires), (reqs[2].0.clone(), expiry + 1000, at("2028-05-03T10:00:01Z")));
}

#[test]
fn the_expiry_instant_itself_is_expired() {
    let env = Env::new();
    let sdk = env.sdk();
    sdk.track(Event::screen("start")).unwrap();
    sdk.flush().unwrap();
    env.clock.set_ms(at("2027-04-03T10:00:00Z"));
    sdk.track(Event::screen("at")).unwrap();
    sdk.flush().unwrap();
    let ids = flushed_ids(&env);
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[0], ids[1]);
}

#[test]
fn an_expired_id_is_deleted_at_start_up() {
    let env = Env::new();
    let sdk = env.sdk();
    sdk.track(Event::screen("start")).unwrap();
    sdk.shutdown().unwrap();
    assert!(env.stored_visitor().is_some());
    env.clock.set_ms(at("2027-04-03T10:00:00Z"));
    let sdk = env.sdk();
    sdk.export_local_data().unwrap();
    assert_eq!(env.stored_visitor(), None, "deleted before any hit asks for it");
}

#[test]
fn the_id_survives_restarts_within_its_life() {
    let env = Env::new();
    let sdk = env.sdk();
    sdk.track(Event::screen("a")).unwrap();
    drop(sdk);
    env.clock.advance_ms(86_400_000);
    let sdk = env.sdk();
    sdk.track(Event::screen("b")).unwrap();
    sdk.flush().unwrap();
    let reqs = env.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].1.len(), 2);
}

#[test]
fn ids_are_random_not_derived_from_the_device() {
    let a = Env::new();
    let b = Env::new();
    let (sa, sb) = (a.sdk(), b.sdk());
    sa.track(Event::screen("x")).unwrap();
    sb.track(Event::screen("x")).unwrap();
    sa.flush().unwrap();
    sb.flush().unwrap();
    assert_ne!(flushed_ids(&a), flushed_ids(&b), "same device, same clock, different ids");
}

#[test]
fn leaving_for_anonymous_modes_deletes_the_id_and_its_hits() {
    for mode in [VisitorMode::OptOut, VisitorMode::NoConsent, VisitorMode::NoStorage] {
        let env = Env::new();
        let sdk = env.sdk();
        sdk.track(Event::screen("a")).unwrap();
        sdk.track(Event::screen("b")).unwrap();
        sdk.export_local_data().unwrap();
        assert!(env.stored_visitor().is_some());
        sdk.set_mode(mode.clone()).unwrap();
        sdk.export_local_data().unwrap();
        assert_eq!(env.stored_visitor(), None, "{mode}");
        assert!(env.queued().is_empty(), "{mode}");
        sdk.flush().unwrap();
        assert!(env.collector.received().is_empty(), "{mode}: nothing identified leaves after the switch");
    }
}

/// The idclient of each request, with the `visitor_privacy_mode` of its hits.
fn ids_and_modes(env: &Env) -> Vec<(String, String)> {
    env.requests().into_iter().map(|(id, events)| (id, events[0]["data"]["visitor_privacy_mode"].as_str().unwrap().to_owned())).collect()
}

#[test]
fn a_withdrawn_consent_renews_the_id() {
    // Opt-in hits may carry a user id; exempt hits sharing their idclient
    // would be linked to that person by the collector.
    let env = Env::new();
    let sdk = env.sdk();
    sdk.set_consent(true).unwrap();
    sdk.track(Event::new("login").with("user_id", "jane")).unwrap();
    sdk.flush().unwrap(); // sent before the withdrawal, which purges what is still queued
    sdk.set_consent(false).unwrap();
    sdk.track(Event::screen("home")).unwrap();
    sdk.flush().unwrap();
    let got = ids_and_modes(&env);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!((got[0].1.as_str(), got[1].1.as_str()), ("optin", "exempt"));
    assert_ne!(got[0].0, got[1].0, "the exempt hit cannot be linked to the identified one");
    assert_eq!(env.stored_visitor().unwrap().0, got[1].0);
}

#[test]
fn a_lapsed_consent_renews_the_id() {
    let mut env = Env::new();
    env.config.queue_max_age_days = 395;
    let sdk = env.sdk();
    sdk.set_consent(true).unwrap();
    sdk.track(Event::new("login").with("user_id", "jane")).unwrap();
    sdk.flush().unwrap(); // sent before the lapse, which purges what is still queued
    env.clock.set_ms(at("2026-09-03T10:00:00Z"));
    sdk.track(Event::screen("home")).unwrap();
    sdk.flush().unwrap();
    let got = ids_and_modes(&env);
    assert_eq!((got[0].1.as_str(), got[1].1.as_str()), ("optin", "exempt"));
    assert_ne!(got[0].0, got[1].0);
}

#[test]
fn a_consent_given_renews_the_id_too() {
    // The exempt hits before the consent stay anonymous statistics: the
    // identified stream starts under an id of its own.
    let env = Env::new();
    let sdk = env.sdk();
    sdk.track(Event::screen("home")).unwrap();
    sdk.set_consent(true).unwrap();
    sdk.track(Event::new("login").with("user_id", "jane")).unwrap();
    sdk.flush().unwrap();
    let got = ids_and_modes(&env);
    assert_eq!((got[0].1.as_str(), got[1].1.as_str()), ("exempt", "optin"));
    assert_ne!(got[0].0, got[1].0);
}

#[test]
fn moving_between_exempt_modes_keeps_the_id() {
    let mut env = Env::new();
    env.config.custom_modes.push(CustomMode { name: "plus".into(), allowed_events: vec!["search".into()], allowed_properties: vec![] });
    let sdk = env.sdk();
    sdk.track(Event::screen("a")).unwrap();
    sdk.set_mode(VisitorMode::Custom("plus".into())).unwrap();
    sdk.track(Event::screen("b")).unwrap();
    sdk.set_mode(VisitorMode::Exempt).unwrap();
    sdk.track(Event::screen("c")).unwrap();
    sdk.flush().unwrap();
    let ids: Vec<String> = flushed_ids(&env);
    assert_eq!(ids.len(), 1, "one id, one request: {ids:?}");
}

#[test]
fn the_queued_hits_keep_the_id_they_were_bound_to() {
    let env = Env::new();
    let sdk = env.sdk();
    sdk.track(Event::screen("a")).unwrap();
    sdk.export_local_data().unwrap();
    let first = env.stored_visitor().unwrap().0;
    sdk.set_consent(true).unwrap();
    sdk.export_local_data().unwrap();
    assert_eq!(env.stored_visitor(), None, "the exempt id is no longer the current one");
    assert_eq!(env.queued()[0].0, first, "the exempt hit still leaves, with the id it was bound to");
    sdk.flush().unwrap();
    assert_eq!(env.requests()[0].0, first);
}

#[test]
fn a_withdrawal_deletes_the_consented_hits_still_queued_and_their_id() {
    let env = Env::new();
    let sdk = env.sdk();
    sdk.set_consent(true).unwrap();
    sdk.track(Event::new("login").with("user_id", "jane")).unwrap();
    sdk.export_local_data().unwrap();
    let consented = env.stored_visitor().unwrap().0;
    sdk.set_consent(false).unwrap();
    sdk.export_local_data().unwrap();
    assert_eq!(env.stored_visitor(), None);
    assert!(env.queued().is_empty(), "withdrawal is effective for what is queued");
    let identities: i64 = env.db().query_row("SELECT count(*) FROM identity WHERE visitor_id = ?1", [&consented], |r| r.get(0)).unwrap();
    assert_eq!(identities, 0, "and the id it carried is gone with it");
    sdk.flush().unwrap();
    assert!(env.requests().is_empty());
}
