//! `mesure-bench`: every Mesure figure of BENCHMARKS.md, with its baseline,
//! measured in one run on one machine. Run it through `cargo xtask bench`
//! (release build, plus library sizes and the Kotlin figure).
//!
//! Each figure is reported with a baseline taken in the same run, and the
//! ratio between them: the machine is shared and noisy, ratios travel better
//! than absolute times. Targets are checked here and reported, never asserted
//! in unit tests.
//!
//! Sub-commands (used as child processes, so that global state and memory are
//! measured in isolation): `rss <queued> <dir>`, `glean-latency <dir>`,
//! `glean-ingest <n> <dir>`.

mod glean_peer;
mod measure;
mod report;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        None | Some("all") => measure::all(),
        Some("rss") => measure::rss_child(&args[1..]),
        Some("ingest") => measure::ingest_only(),
        Some("upload") => measure::upload_only(),
        Some("latency") => measure::latency_only(),
        Some("privacy") => measure::privacy_only(),
        Some("glean-latency") => glean_peer::latency(&args[1..]),
        Some("glean-ingest") => glean_peer::ingest(&args[1..]),
        Some(other) => Err(format!("unknown sub-command {other}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mesure-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
