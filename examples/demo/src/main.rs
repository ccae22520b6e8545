//! A scripted app session: the same tagging under exempt, opt-in and opt-out,
//! against a real HTTP collector on loopback, with local SQLite storage.
//! Prints, per mode, exactly what the collector received, what the SDK
//! reported as sent (`Diagnostic::Sent`), what it held back or refused, and
//! why; then the same session as a dry run, which sends nothing.
//!
//! The visitor answers a consent prompt the app names (`main_banner`,
//! version `2026-12`): each answer is a hash-chained consent receipt, sent
//! with the anonymous consent statistics to a second loopback server, the
//! consent endpoint. Every request carries the policy hash
//! (`Mesure-Policy`).
//!
//! `--collector matomo` or `--collector piwik-pro` runs the same session on
//! the Matomo or Piwik PRO wire, against the loopback Matomo of
//! `tests/collector` (which refuses anything no hit of Mesure may carry).

use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use mesure_core::*;
use mesure_test_collector::{Collector as PianoCollector, MatomoCollector};
use serde_json::Value as Json;

#[derive(Default)]
struct HeldBack(Mutex<Vec<Diagnostic>>);

impl Listener for HeldBack {
    fn on_diagnostic(&self, d: &Diagnostic) {
        if let Ok(mut v) = self.0.lock() {
            v.push(d.clone());
        }
    }
}

impl HeldBack {
    fn take(&self) -> Vec<Diagnostic> {
        self.0.lock().map(|mut v| std::mem::take(&mut *v)).unwrap_or_default()
    }
}

/// The app's tagging: the same calls in every mode, mistakes included.
fn session(sdk: &Sdk) -> Result<(), TrackError> {
    sdk.track(
        Event::screen("home")
            .with("page_chapter1", "news")
            .with("user_id", "u-123") // tagging mistake for exempt: identifies the user
            .with("basket_value", 12.5) // custom property: not strictly necessary
            // An allowed property holding an e-mail address: masked without consent.
            .with("previous_page", "reset password for jane.doe@example.com"),
    )?;
    sdk.track(Event::click(ClickKind::Navigation, "open_article").with("click_chapter1", "headlines"))?;
    sdk.track(Event::new("purchase").with("amount", 30).with("currency", "EUR"))?;
    // A tagging mistake: refused, and reported to the listener (printed below).
    let refused = sdk.track(Event::new("Add to cart!"));
    debug_assert!(refused.is_err());
    Ok(())
}

fn show_tagging() {
    println!("The app tags, in every mode:");
    println!("  page.display      page=home page_chapter1=news user_id=u-123 basket_value=12.5");
    println!("                    previous_page=\"reset password for jane.doe@example.com\"");
    println!("  click.navigation  click=open_article click_chapter1=headlines");
    println!("  purchase          amount=30 currency=EUR");
    println!("  Add to cart!      (an invalid event name)");
}

fn print_received(collector: &PianoCollector, seen: &mut usize) {
    let all = collector.received();
    let new = &all[*seen..];
    *seen = all.len();
    if new.is_empty() {
        println!("  Collector received: nothing.");
        return;
    }
    for r in new {
        println!(
            "  Collector received POST {}?s={}&idclient={} ({})",
            r.path,
            r.query.get("s").map(String::as_str).unwrap_or(""),
            r.query.get("idclient").map(String::as_str).unwrap_or(""),
            if r.acknowledged() { "acknowledged" } else { "refused" }
        );
        println!("    {POLICY_HEADER}: {}", r.headers.get(&POLICY_HEADER.to_ascii_lowercase()).map(String::as_str).unwrap_or("(none)"));
        for e in r.events() {
            println!("    {}", e["name"].as_str().unwrap_or("?"));
            if let Some(data) = e["data"].as_object() {
                for (k, v) in data {
                    println!("      {k:<28} {}", compact(v));
                }
            }
        }
    }
}

fn print_matomo(collector: &MatomoCollector, seen: &mut usize) {
    let all = collector.received();
    let new = &all[*seen..];
    *seen = all.len();
    if new.is_empty() {
        println!("  Collector received: nothing.");
        return;
    }
    for r in new {
        let state = if r.acknowledged() { "acknowledged" } else { "refused" };
        println!("  Collector received POST {} with {} entries ({state}, HTTP {})", r.path, r.entries.len(), r.status.unwrap_or(0));
        println!("    {POLICY_HEADER}: {}", r.headers.get(&POLICY_HEADER.to_ascii_lowercase()).map(String::as_str).unwrap_or("(none)"));
        for e in &r.entries {
            println!("    {:?}{}", e.action, if e.recorded { "" } else { " (not recorded)" });
            for (k, v) in &e.params {
                println!("      {k:<28} {v:?}");
            }
        }
    }
    for v in collector.violations() {
        println!("  VIOLATION: {v}");
    }
}

/// The loopback collector of the chosen wire.
enum Loopback {
    Piano(PianoCollector),
    Matomo(MatomoCollector),
}

impl Loopback {
    fn url(&self) -> String {
        match self {
            Loopback::Piano(c) => c.url(),
            Loopback::Matomo(c) => c.url(),
        }
    }

    fn print(&self, seen: &mut usize) {
        match self {
            Loopback::Piano(c) => print_received(c, seen),
            Loopback::Matomo(c) => print_matomo(c, seen),
        }
    }

    fn received(&self) -> usize {
        match self {
            Loopback::Piano(c) => c.received().len(),
            Loopback::Matomo(c) => c.received().len(),
        }
    }
}

/// `--collector piano|matomo|piwik-pro`.
fn chosen() -> Result<(Loopback, Collector), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let name = match args.as_slice() {
        [] => "piano",
        [flag, name] if flag == "--collector" => name.as_str(),
        _ => return Err("usage: mesure-demo [--collector piano|matomo|piwik-pro]".into()),
    };
    let dimensions: std::collections::BTreeMap<String, u32> =
        [("app_version", 1), ("connection_type", 2), ("visitor_privacy_mode", 3), ("visitor_privacy_consent", 4)]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
    let matomo = || -> Result<MatomoCollector, String> {
        let c = MatomoCollector::start().map_err(|e| e.to_string())?;
        c.consent_dimension(Some(4));
        Ok(c)
    };
    Ok(match name {
        "piano" => (Loopback::Piano(PianoCollector::start().map_err(|e| e.to_string())?), Collector::Piano),
        "matomo" => (Loopback::Matomo(matomo()?), Collector::Matomo { app_host: "com.example.news".into(), dimensions }),
        "piwik-pro" => (
            Loopback::Matomo(matomo()?),
            Collector::PiwikPro { app_id: "0b7f6e5a-1c2d-4e3f-9a8b-7c6d5e4f3a2b".into(), app_host: "com.example.news".into(), dimensions },
        ),
        other => return Err(format!("unknown collector {other:?}: piano, matomo or piwik-pro")),
    })
}

/// What the consent endpoint received since the last call: the first
/// receipt in full, then one line per request.
fn print_consent(endpoint: &PianoCollector, seen: &mut usize, shown_receipt: &mut bool) {
    let all = endpoint.received();
    for r in &all[*seen..] {
        let body = r.json();
        match body["type"].as_str() {
            Some("consent_receipts") => {
                let receipts = body["receipts"].as_array().cloned().unwrap_or_default();
                let numbers: Vec<String> = receipts.iter().map(|x| format!("#{} {}", x["n"], x["mode"].as_str().unwrap_or("?"))).collect();
                println!("  Consent endpoint received {} receipt(s): {}", receipts.len(), numbers.join(", "));
                if let (false, Some(first)) = (*shown_receipt, receipts.first()) {
                    *shown_receipt = true;
                    let pretty = serde_json::to_string_pretty(first).unwrap_or_default();
                    for line in pretty.lines() {
                        println!("    {line}");
                    }
                }
            }
            Some("consent_statistics") => {
                println!("  Consent endpoint received the consent statistics (no id of any kind):");
                for row in body["counts"].as_array().into_iter().flatten() {
                    println!(
                        "    {} {} v{}: shown {}, accepted all {}, refused all {}, customised {}",
                        row["day"].as_str().unwrap_or("?"),
                        row["prompt_id"].as_str().unwrap_or("?"),
                        row["prompt_version"].as_str().unwrap_or("?"),
                        row["shown"],
                        row["accepted_all"],
                        row["refused_all"],
                        row["customised"]
                    );
                }
            }
            _ => println!("  Consent endpoint received: {}", r.body),
        }
    }
    *seen = all.len();
}

fn compact(v: &Json) -> String {
    match v {
        Json::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

/// What the SDK told its listener: each request as sent (event and keys,
/// never values), each property or event held back, each event refused.
fn print_reports(listener: &HeldBack) {
    let mut held = 0;
    for d in listener.take() {
        match d {
            Diagnostic::Sent { idclient, hits, status, dry_run } => {
                let how = match (dry_run, status) {
                    (true, _) => "dry run: not sent".to_owned(),
                    (false, Some(s)) => format!("HTTP {s}"),
                    (false, None) => "no answer".to_owned(),
                };
                println!("  SDK reports sent idclient={idclient} ({how}):");
                for h in hits {
                    println!("    {:<18} keys: {}", h.event, h.keys.join(", "));
                }
            }
            Diagnostic::Dropped { dropped, .. } if !dropped.reason.is_drop() => {
                let what = format!("{}.{}", dropped.event, dropped.property.as_deref().unwrap_or(""));
                println!("  Masked    {what:<36} {}", dropped.reason.explain());
            }
            Diagnostic::Dropped { dropped, .. } => {
                held += 1;
                let what = match &dropped.property {
                    Some(p) => format!("{}.{p}", dropped.event),
                    None => format!("event {}", dropped.event),
                };
                println!("  Held back {what:<36} {}", dropped.reason.explain());
            }
            Diagnostic::TrackRefused { event, error } => println!("  Refused {event:?}: {error}"),
            _ => {}
        }
    }
    if held == 0 {
        println!("  Held back: nothing.");
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let (collector, wire) = chosen()?;
    let storage = tempfile::tempdir()?;
    let consent_endpoint = PianoCollector::start()?;
    let mut config = Config::new(collector.url(), 615_000, storage.path());
    config.collector = wire.clone();
    config.consent.endpoint = Some(format!("{}/consent", consent_endpoint.url()));
    config.context = DeviceContext {
        os: Some("android".into()),
        os_version: Some("15".into()),
        device_brand: Some("Fairphone".into()),
        device_model: Some("FP5".into()),
        device_type: Some("mobile".into()),
        device_screen_width: Some(1224),
        device_screen_height: Some(2700),
        app_version: Some("3.1.0".into()),
        connection_type: Some("wifi".into()),
        collection_platform: Some("android".into()),
    };
    let listener = Arc::new(HeldBack::default());
    let sdk = Sdk::builder(config).listener(listener.clone()).build()?;

    println!("Mesure {SDK_VERSION} demo");
    println!("Collector: {} (real HTTP on loopback), {} wire", collector.url(), wire.name());
    println!("Consent:   {}/consent (receipts and consent statistics)", consent_endpoint.url());
    println!("Storage:   {}", storage.path().join("mesure.sqlite3").display());
    println!("Policy:    {} (on every request, in the {POLICY_HEADER} header)\n", sdk.policy_hash());
    show_tagging();

    let prompt = ConsentContext::new("main_banner", "2026-12").with_locale("fr-FR");
    let (mut seen, mut consent_seen, mut shown_receipt) = (0, 0, false);
    let steps = [
        (None, "exempt: the default, no consent asked (CNIL exemption)"),
        (Some(VisitorMode::OptIn), "opt-in: the visitor consented"),
        (Some(VisitorMode::OptOut), "opt-out: the visitor objected"),
    ];
    for (mode, title) in steps {
        if let Some(m) = mode {
            // The app showed its consent banner; the visitor answered in it.
            sdk.consent_prompt_shown(prompt.clone())?;
            sdk.set_mode_from_prompt(m, Some(prompt.clone()))?;
        }
        println!("\n== Mode {title} ==");
        session(&sdk)?;
        let report = sdk.flush()?;
        collector.print(&mut seen);
        print_reports(&listener);
        println!("  Queue after flush: {} uploaded, {} pending", report.uploaded, report.pending);
        print_consent(&consent_endpoint, &mut consent_seen, &mut shown_receipt);
    }
    let proof: Json = serde_json::from_str(&sdk.consent_proof()?)?;
    println!("\nConsent proof on the device: chain {}, {} receipt(s)", proof["chain"], proof["receipts"].as_array().map_or(0, Vec::len));

    let stored = sdk.export_local_data()?;
    println!(
        "\nOn the device after opt-out: visitor id {}, {} queued hits, choices recorded: {}",
        stored.visitor.as_ref().map(|v| v.id.as_str()).unwrap_or("none (deleted)"),
        stored.pending_hits.len(),
        stored.mode_history.iter().map(|r| r.mode.wire_name().to_owned()).collect::<Vec<_>>().join(" -> ")
    );

    let report_path = std::env::temp_dir().join("mesure-compliance-report.md");
    std::fs::write(&report_path, sdk.compliance_report().to_markdown())?;
    println!("Compliance report of this configuration: {}", report_path.display());
    sdk.shutdown()?;

    // The same session as a dry run: built, filtered and reported, never sent.
    let dry_storage = tempfile::tempdir()?;
    let mut config = Config::new(collector.url(), 615_000, dry_storage.path());
    config.collector = wire;
    config.dry_run = true;
    let dry = Sdk::builder(config).listener(listener.clone()).build()?;
    println!("\n== Dry run (config.dry_run = true), exempt ==");
    let before = collector.received();
    session(&dry)?;
    dry.flush()?;
    print_reports(&listener);
    println!("  Collector received: {} new requests.", collector.received() - before);
    dry.shutdown()?;
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("demo failed: {e}");
            ExitCode::FAILURE
        }
    }
}
