//! The visitor's recorded choice survives what the database may not: a file
//! overwritten with garbage, a recreation, every mode change (no-consent and
//! no-storage included: recording a refusal is not a tracker).

mod common;

use common::*;
use mesure_core::*;

fn restarted(env: &Env, sdk: Sdk) -> Sdk {
    sdk.shutdown().unwrap();
    drop(sdk);
    env.sdk()
}

#[test]
fn an_opt_out_survives_a_database_overwritten_with_garbage() {
    let env = Env::new();
    let sdk = env.sdk();
    sdk.track(Event::screen("home")).unwrap();
    sdk.set_mode(VisitorMode::OptOut).unwrap();
    sdk.shutdown().unwrap();
    drop(sdk);
    std::fs::write(env.db_path(), vec![0x5a; 64 * 1024]).unwrap();
    let sdk = env.sdk();
    assert_eq!(sdk.mode(), VisitorMode::OptOut, "the refusal is not forgotten");
    sdk.track(Event::screen("again")).unwrap();
    sdk.flush().unwrap();
    assert!(env.requests().is_empty());
    assert_eq!(env.stored_visitor(), None, "and no id was created");
    assert!(env.recorder.diagnostics().iter().any(|d| matches!(d, Diagnostic::StorageRecovered { .. })));
}

#[test]
fn an_opt_out_survives_a_database_destroyed_while_running() {
    let env = Env::new();
    let sdk = env.sdk();
    sdk.set_mode(VisitorMode::OptOut).unwrap();
    sdk.export_local_data().unwrap();
    std::fs::remove_file(env.db_path()).unwrap();
    let sdk = restarted(&env, sdk);
    assert_eq!(sdk.mode(), VisitorMode::OptOut);
}

#[test]
fn no_consent_is_remembered_across_a_restart() {
    let env = Env::new();
    let sdk = env.sdk();
    sdk.set_mode(VisitorMode::OptOut).unwrap();
    sdk.set_mode(VisitorMode::NoConsent).unwrap();
    let sdk = restarted(&env, sdk);
    assert_eq!(sdk.mode(), VisitorMode::NoConsent, "not exempt with a new id");
    sdk.track(Event::screen("home")).unwrap();
    sdk.export_local_data().unwrap();
    assert_eq!(env.stored_visitor(), None);
    assert_eq!(env.queued()[0].0, "Consent-NO");
}

#[test]
fn no_storage_is_remembered_across_a_restart() {
    let env = Env::new();
    let sdk = env.sdk();
    sdk.set_mode(VisitorMode::NoStorage).unwrap();
    let sdk = restarted(&env, sdk);
    assert_eq!(sdk.mode(), VisitorMode::NoStorage);
    sdk.track(Event::screen("home")).unwrap();
    sdk.export_local_data().unwrap();
    assert_eq!(env.stored_visitor(), None, "no identifier is stored");
}

#[test]
fn every_mode_change_is_the_choice_read_back() {
    let mut env = Env::new();
    env.config.custom_modes.push(CustomMode { name: "plus".into(), allowed_events: vec!["search".into()], allowed_properties: vec![] });
    let mut sdk = env.sdk();
    for mode in [
        VisitorMode::OptIn,
        VisitorMode::NoConsent,
        VisitorMode::Custom("plus".into()),
        VisitorMode::NoStorage,
        VisitorMode::OptOut,
        VisitorMode::Exempt,
    ] {
        sdk.set_mode(mode.clone()).unwrap();
        sdk = restarted(&env, sdk);
        assert_eq!(sdk.mode(), mode);
        std::fs::write(env.db_path(), b"not a database").unwrap();
        sdk = restarted(&env, sdk);
        assert_eq!(sdk.mode(), mode, "{mode} read back without the database");
    }
}

#[test]
fn a_garbage_choice_file_falls_back_to_the_database() {
    let env = Env::new();
    let sdk = env.sdk();
    sdk.set_mode(VisitorMode::OptOut).unwrap();
    sdk.shutdown().unwrap();
    drop(sdk);
    let choice = env.dir.path().join("mesure.choice");
    assert!(choice.exists(), "the choice is written beside the database");
    std::fs::write(&choice, b"\xff\xfe garbage").unwrap();
    let sdk = env.sdk();
    assert_eq!(sdk.mode(), VisitorMode::OptOut);
}

#[test]
fn deleting_local_data_forgets_a_consent_but_not_a_refusal() {
    let env = Env::new();
    let sdk = env.sdk();
    sdk.set_consent(true).unwrap();
    sdk.delete_local_data().unwrap();
    let sdk = restarted(&env, sdk);
    assert_eq!(sdk.mode(), VisitorMode::Exempt);
    sdk.set_mode(VisitorMode::NoConsent).unwrap();
    sdk.delete_local_data().unwrap();
    let sdk = restarted(&env, sdk);
    assert_eq!(sdk.mode(), VisitorMode::NoConsent);
}
