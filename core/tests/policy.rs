//! The policy hash (issue 19, item 4): a stable SHA-256 of the effective
//! policy, on every request, in the compliance report, the same for the
//! same configuration, different for any change of a rule, and never a
//! property of the device.

mod common;

use common::*;
use mesure_core::*;

fn hash_of(config: &Config) -> String {
    let sdk = Sdk::builder(config.clone()).build().expect("sdk");
    let hash = sdk.policy_hash();
    sdk.shutdown().expect("shutdown");
    hash
}

#[test]
fn every_request_names_the_policy_that_filtered_it() {
    let env = Env::new();
    let sdk = env.sdk();
    let hash = sdk.policy_hash();
    assert!(hash.starts_with("sha256=") && hash.len() == 71 && hash[7..].bytes().all(|b| b.is_ascii_hexdigit()), "{hash}");
    sdk.track(Event::screen("home")).unwrap();
    sdk.set_mode(VisitorMode::OptIn).unwrap();
    sdk.track(Event::screen("home")).unwrap();
    sdk.flush().unwrap();
    let received = env.collector.received();
    assert_eq!(received.len(), 2);
    for r in &received {
        assert_eq!(r.headers.get("mesure-policy"), Some(&hash), "{:?}", r.headers);
    }
    let report = sdk.compliance_report();
    assert_eq!(report.policy_hash, hash);
    assert!(report.to_markdown().contains(&format!("Policy hash: `{hash}`")));
}

#[test]
fn the_same_policy_gives_the_same_hash_and_any_rule_changes_it() {
    let env = Env::new();
    let base = hash_of(&env.config);
    assert_eq!(hash_of(&env.config), base, "stable across starts");

    // Not the device: the context, the storage directory, the timers are no policy.
    let mut same = env.config.clone();
    same.context = DeviceContext { os: Some("ios".into()), device_model: Some("iPhone15,2".into()), ..same.context };
    same.flush_interval_ms -= 1;
    same.request_timeout_ms += 1;
    let other_dir = tempfile::tempdir().unwrap();
    same.storage_dir = other_dir.path().to_owned();
    assert_eq!(hash_of(&same), base, "a device's context or the app's timers are not the policy: the hash must not tell devices apart");

    type Change = Box<dyn Fn(&mut Config)>;
    let changes: Vec<(&str, Change)> = vec![
        (
            "an allowance",
            Box::new(|c| {
                c.exempt_allowlist.push(AllowedProperty {
                    property: "theme".into(),
                    events: "*".into(),
                    justification: "the theme of the screen, for the audience per theme".into(),
                })
            }),
        ),
        (
            "a justification",
            Box::new(|c| {
                c.exempt_allowlist = vec![AllowedProperty {
                    property: "theme".into(),
                    events: "*".into(),
                    justification: "another written reason, for the audience per theme".into(),
                }]
            }),
        ),
        ("a forbidden property", Box::new(|c| c.forbidden_properties.push(PropertyRule { property: "free_text".into(), events: "*".into() }))),
        ("a forbidden event", Box::new(|c| c.forbidden_events.push("debug.*".into()))),
        ("a purpose", Box::new(|c| c.purposes.push(PurposeConfig { name: "advertising".into(), properties: vec!["ad_*".into()] }))),
        ("the consent lifetime", Box::new(|c| c.consent_lifetime_months = 3)),
        ("the queue's bound", Box::new(|c| c.queue_max_hits = 5_000)),
        ("the default mode", Box::new(|c| c.default_mode = VisitorMode::NoConsent)),
        ("anonymous counters", Box::new(|c| c.send_hits_in_opt_out = true)),
        ("the wire", Box::new(|c| c.collector = Collector::Matomo { app_host: "app".into(), dimensions: Default::default() })),
        ("the site", Box::new(|c| c.site_id += 1)),
    ];
    let mut seen = vec![base.clone()];
    for (what, change) in changes {
        let dir = tempfile::tempdir().unwrap();
        let mut config = env.config.clone();
        config.storage_dir = dir.path().to_owned();
        change(&mut config);
        let hash = hash_of(&config);
        assert!(!seen.contains(&hash), "{what} left the hash unchanged");
        seen.push(hash);
    }
}
