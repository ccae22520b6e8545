//! One SDK per storage directory. A second instance on the same directory
//! (a second process of a multi-process Android app, or a second `build`
//! in one process) would keep its own copy of the visitor's choice and id
//! in memory and upload the same rows: it is refused with a typed error.

mod common;

use common::*;
use mesure_core::*;

#[test]
fn a_second_instance_on_one_directory_is_refused() {
    let env = Env::new();
    let first = env.sdk();
    match env.try_sdk() {
        Err(SdkError::StorageInUse { dir }) => assert_eq!(dir, env.dir.path()),
        Err(other) => panic!("expected StorageInUse, got {other}"),
        Ok(_) => panic!("two instances opened one storage directory"),
    }
    // The first instance is untouched by the attempt.
    first.set_mode(VisitorMode::OptOut).unwrap();
    assert_eq!(first.mode(), VisitorMode::OptOut);
    assert!(first.track(Event::screen("home")).is_ok());
}

#[test]
fn the_directory_is_free_again_once_the_first_instance_shut_down() {
    let env = Env::new();
    let first = env.sdk();
    first.set_mode(VisitorMode::OptOut).unwrap();
    first.shutdown().unwrap();
    let second = env.try_sdk().expect("the lock is released by shutdown, before the object is dropped");
    assert_eq!(second.mode(), VisitorMode::OptOut, "and the choice is read back");
    drop(second);
    drop(first);
    let third = env.try_sdk().expect("and by drop");
    assert_eq!(third.mode(), VisitorMode::OptOut);
}

#[test]
fn the_opt_out_of_one_instance_cannot_be_ignored_by_another() {
    // The defect this replaces: instance B kept its in-memory exempt state
    // after A opted out, and sent its next hit with the real id.
    let env = Env::new();
    let a = env.sdk();
    a.track(Event::screen("home")).unwrap();
    a.set_mode(VisitorMode::OptOut).unwrap();
    assert!(env.try_sdk().is_err());
    a.flush().unwrap();
    assert!(env.requests().is_empty(), "nothing identified left the device");
}

#[test]
fn two_directories_make_two_independent_instances() {
    let env = Env::new();
    let other = tempfile::tempdir().unwrap();
    let a = env.sdk();
    let mut config = env.config.clone();
    config.storage_dir = other.path().to_owned();
    let b = Sdk::builder(config).clock(env.clock.clone()).build().expect("another directory is another instance");
    b.set_mode(VisitorMode::OptOut).unwrap();
    assert_eq!(a.mode(), VisitorMode::Exempt);
}
