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
