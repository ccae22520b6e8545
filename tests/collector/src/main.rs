//! `mesure-test-collector`: the loopback collector as a process, for the
//! Kotlin and Swift suites. Prints `http://127.0.0.1:<port>` on its first
//! line, serves until its standard input closes.

use std::io::{BufRead, Write};

fn main() {
    let collector = match mesure_test_collector::Collector::start() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("collector: {e}");
            std::process::exit(1);
        }
    };
    println!("{}", collector.url());
    let _ = std::io::stdout().flush();
    // Serve until the parent closes our stdin (or dies).
    for line in std::io::stdin().lock().lines() {
        if line.is_err() {
            break;
        }
    }
}
