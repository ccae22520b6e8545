//! What a configuration may not say, whoever writes it: an identifying
//! property in a consent-exempt allowlist, a custom mode that allows every
//! event, a justification that is not words. Each refusal names the field.

mod common;

use common::*;
use mesure_core::*;

fn refused(config: &Config) -> ConfigError {
    match config.validate() {
        Err(e) => e,
        Ok(()) => panic!("accepted: {config:?}"),
    }
}

fn allow(config: &mut Config, property: &str) {
    config.exempt_allowlist.push(AllowedProperty {
        property: property.into(),
        events: "*".into(),
        justification: "needed to measure the audience of each screen".into(),
    });
}

#[test]
fn identifying_names_are_refused_in_the_exempt_allowlist() {
    // Every one of these was accepted by the glob denylist this replaces.
    for name in [
        "userid",
        "username",
        "uid",
        "customer_id",
        "account_id",
        "client_id",
        "member_id",
        "deviceid",
        "androidid",
        "advertiserid",
        "ipaddress",
        "ip",
        "lat",
        "lng",
        "lon",
        "long",
        "geo_long",
        "location",
        "mail",
        "tel",
        "imsi",
        "iccid",
        "serialnumber",
        "macaddress",
        "idclient",
        "visitor_id",
        "login",
        "full_name",
        "birthdate",
        "address",
        "ssaid",
    ] {
        let mut c = Env::new().config;
        allow(&mut c, name);
        let e = refused(&c);
        assert_eq!((e.field.as_str(), e.kind), ("exempt_allowlist[0].property", ConfigErrorKind::IdentifyingProperty), "{name}");
    }
}

#[test]
fn identifying_names_are_refused_in_custom_modes() {
    let mut c = Env::new().config;
    c.custom_modes.push(CustomMode {
        name: "plus".into(),
        allowed_events: vec!["search.*".into()],
        allowed_properties: vec![AllowedProperty {
            property: "member_id".into(),
            events: "*".into(),
            justification: "needed to measure the audience of each screen".into(),
        }],
    });
    let e = refused(&c);
    assert_eq!((e.field.as_str(), e.kind), ("custom_modes[0].allowed_properties[0].property", ConfigErrorKind::IdentifyingProperty));
}

#[test]
fn ordinary_names_stay_accepted() {
    for name in ["ab_variant", "article_id", "video_duration", "search_results_count", "long_press_count", "error_code"] {
        let mut c = Env::new().config;
        allow(&mut c, name);
        assert_eq!(c.validate(), Ok(()), "{name}");
    }
}

#[test]
fn a_custom_mode_must_name_its_events() {
    for pattern in ["*", "**", "*.display", "*_signed_in"] {
        let mut c = Env::new().config;
        c.custom_modes.push(CustomMode { name: "plus".into(), allowed_events: vec![pattern.into()], allowed_properties: vec![] });
        let e = refused(&c);
        assert_eq!(e.field, "custom_modes[0].allowed_events[0]", "{pattern}");
    }
    let mut c = Env::new().config;
    c.custom_modes.push(CustomMode { name: "plus".into(), allowed_events: vec!["article.*".into(), "search".into()], allowed_properties: vec![] });
    assert_eq!(c.validate(), Ok(()), "a prefix or a name is fine");
}

#[test]
fn an_event_that_names_a_person_cannot_be_allowed_without_consent() {
    let mut c = Env::new().config;
    c.custom_modes.push(CustomMode { name: "plus".into(), allowed_events: vec!["user.login".into()], allowed_properties: vec![] });
    assert_eq!(refused(&c).kind, ConfigErrorKind::IdentifyingProperty);
}

#[test]
fn a_justification_is_words() {
    for (text, ok) in [
        ("..........", false),
        ("1234567890123456789012345", false),
        ("aaaaaaaaaaaaaaaaaaaaaaaaa", false),
        ("needed for stats", false),
        ("A/B test of the onboarding screen", true),
        ("mesure la durée de lecture des vidéos", true),
    ] {
        let mut c = Env::new().config;
        c.exempt_allowlist.push(AllowedProperty { property: "ab_variant".into(), events: "*".into(), justification: text.into() });
        match c.validate() {
            Ok(()) => assert!(ok, "{text:?} accepted"),
            Err(e) => {
                assert!(!ok, "{text:?} refused: {e}");
                assert_eq!((e.field.as_str(), e.kind), ("exempt_allowlist[0].justification", ConfigErrorKind::MissingJustification));
            }
        }
    }
}

#[test]
fn event_patterns_are_checked_where_they_appear() {
    let mut c = Env::new().config;
    c.forbidden_events = vec!["purchase".into(), "Bad Pattern".into()];
    assert_eq!(refused(&c).field, "forbidden_events[1]");
    let mut c = Env::new().config;
    c.anonymous_events = Some(vec!["*".into()]);
    assert_eq!(refused(&c).field, "anonymous_events[0]", "anonymous hits name their events too");
}
