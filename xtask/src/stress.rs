//! `cargo xtask stress [runs]`: the whole Rust suite, `runs` times (20 by
//! default), while `stress-ng` keeps both cores busy, the way CI's shared
//! machine often is. A test that fails once here is a flaky test.
//!
//! The test binaries are built once, then run directly: nothing is
//! recompiled between runs. Not part of `cargo xtask test` (it takes about
//! an hour); RELIABILITY.md records its last result.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::util::{apt_install, cargo, output, Result};

/// One test binary: where it is, and the package directory it runs in.
struct Binary {
    executable: PathBuf,
    dir: PathBuf,
    name: String,
}

/// The value of a string field in one line of cargo's JSON messages.
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let start = line.find(&format!("\"{key}\":\""))? + key.len() + 4;
    let end = line[start..].find('"')?;
    Some(&line[start..start + end])
}

fn test_binaries() -> Result<Vec<Binary>> {
    let json = output(cargo().args([
        "test",
        "--workspace",
        "--exclude",
        "xtask",
        "--exclude",
        "uniffi-bindgen",
        "--exclude",
        "mesure-bench",
        "--no-run",
        "--message-format=json",
    ]))?;
    let mut out = Vec::new();
    for line in json.lines().filter(|l| l.contains("\"reason\":\"compiler-artifact\"") && l.contains("\"test\":true")) {
        let (Some(exe), Some(manifest), Some(name)) = (field(line, "executable"), field(line, "manifest_path"), field(line, "name")) else {
            continue;
        };
        let dir = PathBuf::from(manifest).parent().map(PathBuf::from).unwrap_or_default();
        out.push(Binary { executable: PathBuf::from(exe), dir, name: name.to_owned() });
    }
    if out.is_empty() {
        return Err("no test binary found".into());
    }
    Ok(out)
}

pub fn stress(runs: u32) -> Result<()> {
    apt_install(&["stress-ng"])?;
    let binaries = test_binaries()?;
    let mut load = Command::new("stress-ng")
        .args(["--cpu", "2", "--cpu-load", "100", "--quiet"])
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("stress-ng: {e}"))?;
    let started = Instant::now();
    let mut failures = Vec::new();
    for run in 1..=runs {
        let run_started = Instant::now();
        for b in &binaries {
            let out = Command::new(&b.executable).current_dir(&b.dir).arg("--quiet").output();
            match out {
                Ok(o) if o.status.success() => {}
                Ok(o) => {
                    let text = String::from_utf8_lossy(&o.stdout);
                    let failed: Vec<&str> = text.lines().filter(|l| l.ends_with("FAILED") || l.contains("panicked at")).collect();
                    eprintln!("xtask: run {run}: {} FAILED\n{}", b.name, failed.join("\n"));
                    failures.push(format!("run {run}: {} ({})", b.name, failed.join("; ")));
                }
                Err(e) => failures.push(format!("run {run}: {}: {e}", b.name)),
            }
        }
        eprintln!(
            "xtask: stress run {run}/{runs}: {} binaries, {:.0} s, {} failures so far",
            binaries.len(),
            run_started.elapsed().as_secs_f64(),
            failures.len()
        );
    }
    let _ = load.kill();
    let _ = load.wait();
    eprintln!(
        "xtask: {runs} runs of the whole Rust suite ({} test binaries) under stress-ng --cpu 2: {} failures, {:.0} min",
        binaries.len(),
        failures.len(),
        started.elapsed().as_secs_f64() / 60.0
    );
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}
