//! The Matomo and Piwik PRO wires end to end: the SDK's default HTTP client
//! against the loopback Matomo of `tests/collector` (PHP decoding, action
//! types, the 24-hour window, the answer's counts, faults), which refuses
//! anything no hit of Mesure may carry.

mod common;

use std::collections::BTreeMap;

use common::*;
use mesure_core::*;
use mesure_test_collector::{ActionType, MatomoCollector, MatomoReply};

const PIWIK_APP: &str = "0b7f6e5a-1c2d-4e3f-9a8b-7c6d5e4f3a2b";

fn dimensions() -> BTreeMap<String, u32> {
    [("app_version", 1), ("connection_type", 2), ("visitor_privacy_mode", 3), ("visitor_privacy_consent", 4)]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
}

struct Wire {
    env: Env,
    collector: MatomoCollector,
}

impl Wire {
    fn new(piwik: bool) -> Wire {
        let mut env = Env::new();
        let collector = MatomoCollector::start().expect("collector");
        collector.consent_dimension(Some(4));
        let clock = env.clock.clone();
        collector.clock(move || clock.now_ms() / 1000);
        env.config.collect_endpoint = collector.url();
        env.config.collector = if piwik {
            Collector::PiwikPro { app_id: PIWIK_APP.into(), app_host: "com.example.news".into(), dimensions: dimensions() }
        } else {
            Collector::Matomo { app_host: "com.example.news".into(), dimensions: dimensions() }
        };
        env.config.send_hits_in_opt_out = true;
        Wire { env, collector }
    }

    fn session(sdk: &Sdk) {
        sdk.track(Event::screen("home").with("page_chapter1", "news").with("user_id", "u-123").with("basket_value", 12.5)).unwrap();
        sdk.track(Event::click(ClickKind::Navigation, "open_article").with("click_chapter1", "headlines")).unwrap();
    }
}

fn param<'a>(e: &'a mesure_test_collector::Entry, k: &str) -> Option<&'a str> {
    e.params.get(k).map(String::as_str)
}

#[test]
fn the_three_modes_on_the_matomo_wire() {
    let w = Wire::new(false);
    let sdk = w.env.sdk();
    for mode in [None, Some(VisitorMode::OptIn), Some(VisitorMode::OptOut)] {
        if let Some(m) = &mode {
            sdk.set_mode(m.clone()).unwrap();
        }
        Wire::session(&sdk);
        let report = sdk.flush().unwrap();
        assert_eq!((report.uploaded, report.pending), (2, 0), "{mode:?}: {report:?}");
    }
    assert!(w.collector.violations().is_empty(), "{:?}", w.collector.violations());
    let entries = w.collector.matomo_entries();
    assert_eq!(entries.len(), 6);
    let actions: Vec<ActionType> = entries.iter().map(|e| e.action).collect();
    assert_eq!(actions, [ActionType::Pageview, ActionType::Event].repeat(3), "screens as pageviews, clicks as events: never the silent fallback");

    // Exempt: the app-scoped id as 16 hex, no uid, the strictly necessary fields only.
    let (exempt, rest) = entries.split_at(2);
    let (optin, optout) = rest.split_at(2);
    let id = param(&exempt[0], "_id").expect("_id");
    assert!(id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    assert_eq!(param(&exempt[0], "url"), Some("https://com.example.news/news/home"));
    assert_eq!(param(&exempt[0], "action_name"), Some("home"));
    assert_eq!(param(&exempt[0], "uid"), None);
    assert_eq!(param(&exempt[0], "dimension3"), Some("exempt"));
    assert_eq!(param(&exempt[0], "dimension4"), Some("false"));
    assert_eq!(
        (param(&exempt[1], "e_c"), param(&exempt[1], "e_a"), param(&exempt[1], "e_n")),
        (Some("click"), Some("navigation"), Some("headlines::open_article"))
    );
    assert_eq!(param(&exempt[1], "pv_id"), param(&exempt[0], "pv_id"), "the click belongs to its screen");
    for e in exempt {
        let keys: Vec<&str> = e.params.keys().map(String::as_str).collect();
        for k in &keys {
            assert!(
                ["idsite", "rec", "apiv", "_id", "cdo", "url", "action_name", "pv_id", "e_c", "e_a", "e_n", "res", "ua"].contains(k)
                    || k.starts_with("dimension"),
                "{k} on an exempt entry: {keys:?}"
            );
        }
    }
    // Opt-in: a new id (the consent boundary renews it), and the user id as uid.
    let optin_id = param(&optin[0], "_id").expect("_id");
    assert_ne!(optin_id, id, "the consent boundary renews the id");
    assert_eq!(param(&optin[0], "uid"), Some("u-123"));
    assert_eq!(param(&optin[0], "dimension4"), Some("true"));
    // Opt-out: the shared fixed id, a new visit each time, nothing of the page.
    for e in optout {
        assert_eq!((param(e, "cid"), param(e, "new_visit"), param(e, "_id"), param(e, "pv_id")), (Some("6f70742d6f757400"), Some("1"), None, None));
    }
    assert_eq!(param(&optout[0], "url"), Some("https://com.example.news/"));
    let requests = w.collector.received();
    for r in &requests {
        assert_eq!(r.path, "/matomo.php");
        assert_eq!(r.headers.get("user-agent").map(String::as_str), Some("Mesure"));
        assert!(!r.headers.contains_key("cookie") && !r.headers.contains_key("accept-language"), "{:?}", r.headers);
    }
    // What exempt and opt-out held back, and what the wire had no place for, was reported.
    let dropped = w.env.recorder.dropped();
    assert!(dropped
        .iter()
        .any(|(m, e, p, r)| (m.as_str(), e.as_str(), p.as_deref(), *r) == ("exempt", "page.display", Some("user_id"), "not_allowed_in_mode")));
    assert!(dropped.iter().any(|(m, _, p, r)| (m.as_str(), p.as_deref(), *r) == ("optin", Some("basket_value"), "not_on_wire")));
}

#[test]
fn piwik_pro_marks_exempt_hits_anonymous() {
    let w = Wire::new(true);
    let sdk = w.env.sdk();
    Wire::session(&sdk);
    sdk.set_mode(VisitorMode::OptIn).unwrap();
    Wire::session(&sdk);
    let report = sdk.flush().unwrap();
    assert_eq!((report.uploaded, report.pending), (4, 0), "{report:?}");
    assert!(w.collector.violations().is_empty(), "{:?}", w.collector.violations());
    let requests = w.collector.received();
    assert!(
        requests.iter().all(|r| r.path == "/ppms.php" && r.status == Some(202)),
        "{:?}",
        requests.iter().map(|r| (&r.path, r.status)).collect::<Vec<_>>()
    );
    let entries = w.collector.matomo_entries();
    assert_eq!(entries.len(), 4);
    for e in &entries[..2] {
        assert_eq!((param(e, "idsite"), param(e, "uia"), param(e, "ts_n")), (Some(PIWIK_APP), Some("1"), Some("mesure")));
        let dims: Vec<&str> = e.params.keys().filter(|k| k.starts_with("dimension")).map(String::as_str).collect();
        assert_eq!(dims, ["dimension3", "dimension4"], "without consent only the consent dimensions");
    }
    for e in &entries[2..] {
        assert_eq!(param(e, "uia"), None);
        assert_eq!(param(e, "dimension1"), Some("3.1.0"));
    }
}

#[test]
fn a_rolled_back_bulk_is_sent_again_and_recorded_once() {
    let w = Wire::new(false);
    w.collector.script([MatomoReply::Rollback]);
    let sdk = w.env.sdk();
    Wire::session(&sdk);
    let first = sdk.flush().unwrap();
    assert_eq!((first.uploaded, first.pending), (0, 2), "{first:?}");
    assert!(w.collector.matomo_entries().is_empty(), "the 500 rolled back");
    let second = sdk.flush().unwrap();
    assert_eq!((second.uploaded, second.pending), (2, 0), "{second:?}");
    assert_eq!(w.collector.matomo_entries().len(), 2, "recorded once");
}

/// Answers every request 200 with Matomo's counts: one entry fewer
/// tracked than sent, and one invalid.
struct Miscounting;

impl HttpClient for Miscounting {
    fn send(&self, request: HttpRequest, completion: Completion) {
        let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap_or_default();
        let sent = body["requests"].as_array().map_or(0, Vec::len);
        let answer = serde_json::json!({"status": "success", "tracked": sent - 1, "invalid": 1}).to_string();
        completion.complete(HttpOutcome::Response { status: 200, retry_after: None, body: answer.into_bytes() });
    }
}

#[test]
fn what_the_collector_counts_invalid_is_reported() {
    let w = Wire::new(false);
    let sdk = Sdk::builder(w.env.config.clone())
        .clock(w.env.clock.clone())
        .listener(w.env.recorder.clone())
        .http_client(std::sync::Arc::new(Miscounting))
        .build()
        .unwrap();
    Wire::session(&sdk);
    let report = sdk.flush().unwrap();
    assert_eq!((report.uploaded, report.pending), (2, 0), "acknowledged: resending would count the tracked ones twice");
    let told: Vec<Diagnostic> = w.env.recorder.diagnostics().into_iter().filter(|d| matches!(d, Diagnostic::CollectorMiscounted { .. })).collect();
    assert_eq!(told, [Diagnostic::CollectorMiscounted { sent: 2, tracked: 1, invalid: 1 }]);
}

#[test]
fn the_real_answer_counts_match_what_was_sent() {
    let w = Wire::new(false);
    let sdk = w.env.sdk();
    Wire::session(&sdk);
    assert_eq!(sdk.flush().unwrap().uploaded, 2);
    let r = &w.collector.received()[0];
    let answer: serde_json::Value = serde_json::from_str(&r.response).unwrap_or_default();
    assert_eq!(answer["tracked"], 2, "{}", r.response);
    assert!(!w.env.recorder.diagnostics().iter().any(|d| matches!(d, Diagnostic::CollectorMiscounted { .. })));
}

#[test]
fn a_hit_older_than_23_hours_never_reaches_matomo() {
    let w = Wire::new(false);
    let sdk = w.env.sdk();
    sdk.track(Event::screen("old")).unwrap();
    sdk.await_applied().unwrap();
    w.env.clock.advance_ms(23 * 3_600_000 + 1);
    sdk.track(Event::screen("new")).unwrap();
    let report = sdk.flush().unwrap();
    assert_eq!((report.uploaded, report.held_at_egress, report.pending), (1, 1, 0), "{report:?}");
    let entries = w.collector.matomo_entries();
    assert_eq!(entries.iter().map(|e| param(e, "action_name")).collect::<Vec<_>>(), [Some("new")]);
    assert_eq!(param(&entries[0], "cdo"), Some("0"));
    let held: Vec<Diagnostic> = w.env.recorder.diagnostics().into_iter().filter(|d| matches!(d, Diagnostic::HeldAtEgress { .. })).collect();
    assert!(
        matches!(&held[..], [Diagnostic::HeldAtEgress { reason: EgressReason::TooOldForCollector, event_ids }] if event_ids.len() == 1),
        "{held:?}"
    );
}

#[test]
fn at_most_50_entries_per_bulk_request() {
    let w = Wire::new(false);
    let sdk = w.env.sdk();
    for i in 0..120 {
        sdk.track(Event::screen(format!("s{i}"))).unwrap();
    }
    let report = sdk.flush().unwrap();
    assert_eq!(report.uploaded, 120);
    let sizes: Vec<usize> = w.collector.received().iter().map(|r| r.entries.len()).collect();
    assert_eq!(sizes, [50, 50, 20]);
    let names: Vec<String> = w.collector.matomo_entries().iter().filter_map(|e| param(e, "action_name").map(str::to_owned)).collect();
    assert_eq!(names, (0..120).map(|i| format!("s{i}")).collect::<Vec<_>>(), "oldest first");
}

// ------------------------------------------------- a probe of the encoding

mod probe {
    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::{Config as RunnerConfig, RngAlgorithm, TestRng, TestRunner};

    /// Values written to break a query string or a URL path.
    const HOSTILE: [&str; 12] = [
        "home&uid=bob",
        "1&_id=0000000000000000",
        "a+b",
        "%41%",
        "x=y",
        "?q=1",
        "#frag",
        "é/ü/ß",
        "line\nbreak",
        "  ",
        "a;b,c",
        "dimension1=spoofed",
    ];

    fn props() -> impl Strategy<Value = Vec<(String, String)>> {
        let key =
            prop::sample::select(vec!["page", "page_chapter1", "page_chapter3", "click", "theme", "user_id", "search_category", "previous_page"]);
        prop::collection::vec((key.prop_map(str::to_owned), prop::sample::select(HOSTILE.to_vec()).prop_map(str::to_owned)), 0..6)
    }

    fn step() -> impl Strategy<Value = (u8, &'static str, Vec<(String, String)>)> {
        (0u8..4, prop::sample::select(vec!["page.display", "click.navigation", "click.exit", "search.submit"]), props())
    }

    const ALLOWED: [&str; 20] = [
        "idsite",
        "rec",
        "apiv",
        "_id",
        "cid",
        "new_visit",
        "uid",
        "cdo",
        "url",
        "action_name",
        "pv_id",
        "e_c",
        "e_a",
        "e_n",
        "res",
        "ua",
        "dimension1",
        "dimension2",
        "dimension3",
        "dimension4",
    ];

    #[test]
    fn hostile_values_never_forge_a_parameter() {
        let config = RunnerConfig { cases: 48, failure_persistence: None, ..RunnerConfig::default() };
        let mut runner = TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &[18; 32]));
        let result = runner.run(&prop::collection::vec(step(), 1..8), |steps| {
            let mut w = Wire::new(false);
            w.env.config.exempt_allowlist = vec![AllowedProperty {
                property: "theme".into(),
                events: "*".into(),
                justification: "the screen's theme, for the audience per theme".into(),
            }];
            let sdk = w.env.sdk();
            for (mode, event, props) in &steps {
                let mode = [VisitorMode::Exempt, VisitorMode::OptIn, VisitorMode::OptOut, VisitorMode::NoConsent][usize::from(*mode)].clone();
                sdk.set_mode(mode).unwrap();
                let mut e = Event::new(*event);
                for (k, v) in props {
                    e = e.with(k.as_str(), v.as_str());
                }
                let _ = sdk.track(e);
            }
            let report = sdk.flush().map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(report.pending, 0);
            prop_assert!(w.collector.violations().is_empty(), "{:?}", w.collector.violations());
            for e in w.collector.matomo_entries() {
                for k in e.params.keys() {
                    prop_assert!(ALLOWED.contains(&k.as_str()), "{} in {:?}", k, e.params);
                }
                let consent = param(&e, "dimension4") == Some("true");
                prop_assert!(param(&e, "uid").is_none() || consent, "uid without consent: {:?}", e.params);
                prop_assert!(param(&e, "_id").is_some() != param(&e, "cid").is_some(), "one visitor: {:?}", e.params);
                // What a hostile value became is itself, whole: a name or a page.
                for v in [param(&e, "action_name"), param(&e, "e_n"), param(&e, "uid")].into_iter().flatten() {
                    prop_assert!(
                        HOSTILE.iter().any(|h| v.split("::").all(|part| HOSTILE.contains(&part) || part == *h)) || v.starts_with('['),
                        "{v:?}"
                    );
                }
            }
            Ok(())
        });
        if let Err(e) = result {
            panic!("{e}");
        }
    }
}

#[test]
fn the_compliance_report_names_the_wire_and_the_collector_settings() {
    let w = Wire::new(true);
    let report = w.env.sdk().compliance_report();
    let c = &report.collector;
    assert_eq!((c.dialect.as_str(), c.site.as_str()), ("piwik_pro", format!("idsite={PIWIK_APP}").as_str()));
    assert_eq!(
        c.dimensions.iter().map(|(p, n)| (p.as_str(), *n)).collect::<Vec<_>>(),
        [("app_version", 1), ("connection_type", 2), ("visitor_privacy_consent", 4), ("visitor_privacy_mode", 3)]
    );
    assert_eq!(c.settings, PIWIK_PRO_SETTINGS.map(str::to_owned));
    assert!(c.not_on_wire.contains(&"device_type".to_owned()) && !c.not_on_wire.contains(&"visitor_privacy_mode".to_owned()), "{:?}", c.not_on_wire);
    let md = report.to_markdown();
    assert!(md.contains("## The piwik_pro collector") && PIWIK_PRO_SETTINGS.iter().all(|s| md.contains(s)), "{md}");
    let piano = Env::new().sdk().compliance_report();
    assert_eq!((piano.collector.dialect.as_str(), piano.collector.settings.len()), ("piano", 0));
    let matomo = Wire::new(false).env.sdk().compliance_report();
    assert_eq!(matomo.collector.settings, MATOMO_SETTINGS.map(str::to_owned));
}
