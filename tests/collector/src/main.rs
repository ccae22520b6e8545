//! `mesure-test-collector`: the loopback collector as a process, for the
//! Kotlin and Swift suites. Prints `http://127.0.0.1:<port>` on its first
//! line, serves until its standard input closes.
//!
//! `--dialect piano` (the default) or `--dialect matomo` (a Matomo / Piwik PRO
//! tracker: `/matomo.php` and `/ppms.php`); with Matomo,
//! `--consent-dimension <N>` names the custom dimension a `uid` needs
//! (`POST /_config` changes it later).

use std::io::{BufRead, Write};

const USAGE: &str = "usage: mesure-test-collector [--dialect piano|matomo] [--consent-dimension N]";

enum Running {
    Piano(mesure_test_collector::Collector),
    Matomo(mesure_test_collector::MatomoCollector),
}

fn main() {
    let mut dialect = String::from("piano");
    let mut consent_dimension: Option<u32> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
            None => (arg.clone(), None),
        };
        let mut value = || inline.clone().or_else(|| args.next()).unwrap_or_else(|| fail(&format!("{name} needs a value")));
        match name.as_str() {
            "--dialect" => dialect = value(),
            "--consent-dimension" => consent_dimension = Some(value().parse().unwrap_or_else(|_| fail("--consent-dimension takes a number"))),
            "-h" | "--help" => {
                println!("{USAGE}");
                return;
            }
            other => fail(&format!("unknown argument {other}")),
        }
    }
    let started = match dialect.as_str() {
        "piano" => mesure_test_collector::Collector::start().map(Running::Piano),
        "matomo" | "piwik-pro" => mesure_test_collector::MatomoCollector::start().map(|c| {
            c.consent_dimension(consent_dimension);
            Running::Matomo(c)
        }),
        other => fail(&format!("unknown dialect {other}")),
    };
    let collector = match started {
        Ok(c) => c,
        Err(e) => {
            eprintln!("collector: {e}");
            std::process::exit(1);
        }
    };
    let url = match &collector {
        Running::Piano(c) => c.url(),
        Running::Matomo(c) => c.url(),
    };
    println!("{url}");
    let _ = std::io::stdout().flush();
    // Serve until the parent closes our stdin (or dies).
    for line in std::io::stdin().lock().lines() {
        if line.is_err() {
            break;
        }
    }
    drop(collector);
}

fn fail(message: &str) -> ! {
    eprintln!("collector: {message}\n{USAGE}");
    std::process::exit(2);
}
