//! `cargo xtask <command>`: the project's build and test tooling.
//!
//! - `test`: every suite, as CI runs it.
//! - `test-rust`: the Rust workspace tests.

use std::process::{Command, ExitCode};

fn run(cmd: &mut Command) -> Result<(), String> {
    eprintln!("xtask: {cmd:?}");
    let status = cmd.status().map_err(|e| format!("{cmd:?}: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("{cmd:?} failed: {status}")) }
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn test_rust() -> Result<(), String> {
    run(cargo().args(["test", "--workspace", "--exclude", "xtask"]))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") | None => test_rust(),
        Some("test-rust") => test_rust(),
        Some(other) => Err(format!("unknown command {other:?}; try: test, test-rust")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
