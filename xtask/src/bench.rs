//! `cargo xtask bench`: every figure of BENCHMARKS.md in one run. The Rust
//! benchmarks (against the SQLite floor and Glean), the stripped library
//! sizes with and without the Rust HTTP client, and `track` through the
//! Kotlin bindings on the JVM. Writes target/bench/BENCHMARKS.generated.md.
//!
//! `cargo xtask bench-swift`: `trackScreen` through the Swift wrapper
//! against an empty FFI call returning a boolean, in the Swift toolchain of
//! the Swift suite (tests/swift/bench). Prints its JSON line and writes
//! target/bench/swift.md.

use std::path::Path;
use std::process::Command;

use crate::bindings;
use crate::kotlin;
use crate::swift;
use crate::util::{cargo, output, root, run, target_dir, Result};

fn stripped_size(lib: &Path, out: &Path) -> Result<u64> {
    std::fs::copy(lib, out).map_err(|e| format!("{}: {e}", lib.display()))?;
    run(Command::new("strip").arg(out))?;
    Ok(std::fs::metadata(out).map_err(|e| e.to_string())?.len())
}

fn mb(bytes: u64) -> String {
    format!("{:.2} MB", bytes as f64 / 1_000_000.0)
}

fn kotlin_figures(dir: &Path) -> Result<String> {
    let home = kotlin::kotlin_home()?;
    let libs = [
        kotlin::debian_jar("jna"),
        home.join("lib/kotlin-stdlib.jar"),
        home.join("lib/kotlinx-coroutines-core-jvm.jar"),
    ];
    let out = dir.join("kotlin-bench");
    let [ffi, wrapper] = kotlin::compile_wrapper(&home, &libs, &out)?;
    let classes = out.join("bench");
    let _ = std::fs::remove_dir_all(&classes);
    let compiled = [libs.to_vec(), vec![ffi, wrapper]].concat();
    run(kotlin::kotlinc(&home, &compiled, &classes).arg(root().join("tests/kotlin/bench/TrackBench.kt")))?;
    let json = output(
        Command::new("java")
            .arg(format!("-Djna.library.path={}", target_dir().join("release").display()))
            .args(["-cp", &kotlin::classpath(&[vec![classes], compiled].concat()), "eu.mesure.bench.TrackBenchKt"]),
    )?;
    let line = json.lines().last().unwrap_or("").to_owned();
    let v = |key: &str, field: &str| json_field(&line, key, field) / 1000.0;
    let row = |label: &str, key: &str| {
        format!("| {label} | {:.2} µs | {:.2} µs | {:.2} µs |\n", v(key, "p50"), v(key, "p99"), v(key, "p999"))
    };
    Ok(format!(
        "### Tracking through Kotlin (desktop JVM, JNA)\n\n\
         100 bursts of 1000 calls after warm-up, waiting between bursts for the SDK to drain; baselines in the same JVM: calls across the same FFI that do nothing, one returning a string (`sdkVersion()`: a UniFFI buffer crosses back), one a boolean (`hasBuiltinHttpClient()`). `Mesure.trackScreen` is the wrapper's (convert, enqueue, return), its empty call measured interleaved with it; `MesureCore.trackScreen` is the core's work on the caller's thread.\n\n\
         | | p50 | p99 | p99.9 |\n|---|---|---|---|\n\
         {}{}{}{}{}\n\
         Wrapper: p50 {:.2}× the empty boolean call (target: 2× at most), p99.9 {:.3} ms (target: 1 ms at most). \
         `Mesure.start` on a store holding {} queued hits: {:.3} ms on the caller's thread (median of 5; the core was ready {:.1} ms after the call).\n\n\
         Raw: `{line}`\n",
        row("`Mesure.trackScreen` (wrapper, 3 properties)", "wrapper_track"),
        row("baseline: empty call returning a boolean, interleaved with it", "empty_call"),
        row("`MesureCore.trackScreen` (bindings, 3 properties)", "track"),
        row("baseline: empty call returning a string", "ffi_call"),
        row("baseline: empty call returning a boolean", "plain_call"),
        v("wrapper_track", "p50") / v("empty_call", "p50"),
        v("wrapper_track", "p999") / 1000.0,
        line.split("\"start_queued_hits\":").nth(1).and_then(|r| r.split(',').next()).unwrap_or("?"),
        v("start_caller_ns", "median") / 1000.0,
        v("start_ready_ns", "median") / 1000.0,
    ))
}

/// `"key":{..."field":N...}` in a one-line JSON object, as a number (NaN if absent).
fn json_field(line: &str, key: &str, field: &str) -> f64 {
    line.split(&format!("\"{key}\":{{"))
        .nth(1)
        .and_then(|r| r.split(&format!("\"{field}\":")).nth(1))
        .and_then(|r| r.split([',', '}']).next())
        .and_then(|n| n.parse::<f64>().ok())
        .unwrap_or(f64::NAN)
}

/// The Swift benchmark's JSON (nanoseconds) as a Markdown table (microseconds).
fn swift_table(line: &str) -> String {
    let row = |label: &str, key: &str| {
        let us = |f: &str| json_field(line, key, f) / 1000.0;
        format!("| {label} | {:.2} µs | {:.2} µs | {:.2} µs |\n", us("p50"), us("p99"), us("p999"))
    };
    let ratio = |f: &str| json_field(line, "ratio_to_ffi_bool", f);
    let bare = |f: &str| json_field(line, "ratio_no_properties_to_ffi_bool", f);
    format!(
        "### `trackScreen` through the Swift wrapper (Swift 6, Linux)\n\n\
         100 bursts of 1000 calls after two warm-up bursts, each call timed; the SDK flushed between bursts, untimed. \
         Baseline in the same process: an empty FFI call returning a boolean (`hasBuiltinHttpClient()`).\n\n\
         | | p50 | p99 | p99.9 |\n|---|---|---|---|\n{}{}{}{}{}\n\
         Ratio to the empty call, 3 properties: p50 {:.1}×, p99 {:.1}×, p99.9 {:.1}×; no properties: p50 {:.1}×, p99 {:.1}×, p99.9 {:.1}×. \
         Raw: `{line}`\n",
        row("`sdk.trackScreen` (3 properties)", "track_screen"),
        row("`sdk.trackScreen` (no properties)", "track_screen_no_properties"),
        row("the caller's own `[String: Any?]` literal of those 3 properties, no call", "dictionary_literal_only"),
        row("raw `MesureCore.trackScreen` (3 properties, the core's work on the caller's thread)", "core_track_screen"),
        row("baseline: empty call returning a boolean", "ffi_bool"),
        ratio("p50"),
        ratio("p99"),
        ratio("p999"),
        bare("p50"),
        bare("p99"),
        bare("p999"),
    )
}

pub fn bench_swift() -> Result<()> {
    run(cargo().args(["build", "--release", "-p", "mesure-ffi"]))?;
    let json = swift::bench(&target_dir().join("release").join(bindings::lib_file_name()))?;
    let dir = target_dir().join("bench");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let out = dir.join("swift.md");
    std::fs::write(&out, swift_table(&json)).map_err(|e| e.to_string())?;
    eprintln!("xtask: table written to {}", out.display());
    println!("{json}");
    Ok(())
}

/// `cargo xtask bench kotlin`: the JVM figures alone (the release library, the wrapper, TrackBench).
pub fn bench_kotlin() -> Result<()> {
    let dir = target_dir().join("bench");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    run(cargo().args(["build", "--release", "-p", "mesure-ffi"]))?;
    let kotlin = kotlin_figures(&dir)?;
    let out = dir.join("kotlin.md");
    std::fs::write(&out, &kotlin).map_err(|e| e.to_string())?;
    println!("{kotlin}");
    eprintln!("xtask: report written to {}", out.display());
    Ok(())
}

pub fn bench() -> Result<()> {
    let dir = target_dir().join("bench");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let rust_md = dir.join("rust.md");

    run(cargo().args(["build", "--release", "-p", "mesure-bench"]))?;
    run(Command::new(target_dir().join("release/mesure-bench")).current_dir(root()).env("MESURE_BENCH_OUT", &rust_md))?;

    // Sizes: the desktop library (with ureq) and the mobile variant (without).
    run(cargo().args(["build", "--release", "-p", "mesure-ffi"]))?;
    run(cargo().args(["build", "--release", "-p", "mesure-ffi", "--no-default-features", "--features", "bundled-sqlite", "--target-dir"]).arg(target_dir().join("mobile")))?;
    let full = stripped_size(&target_dir().join("release").join(bindings::lib_file_name()), &dir.join("full.so"))?;
    let mobile = stripped_size(&target_dir().join("mobile/release").join(bindings::lib_file_name()), &dir.join("mobile.so"))?;
    let sizes = format!(
        "### Library size\n\nStripped release cdylib (`lto`, `opt-level = \"s\"`, one codegen unit), x86_64 Linux:\n\n\
         | build | size |\n|---|---|\n| with the Rust HTTP client (ureq + rustls) | {} |\n| mobile: without it (platform HTTP client) | {} |\n\n\
         Ratio: the mobile build is {:.2}× the desktop one.\n",
        mb(full),
        mb(mobile),
        mobile as f64 / full as f64
    );

    let kotlin = kotlin_figures(&dir)?;
    let rust = std::fs::read_to_string(&rust_md).map_err(|e| e.to_string())?;
    let report = format!("{rust}\n{sizes}\n{kotlin}");
    let out = dir.join("BENCHMARKS.generated.md");
    std::fs::write(&out, &report).map_err(|e| e.to_string())?;
    println!("{sizes}\n{kotlin}");
    eprintln!("xtask: report written to {}", out.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_swift_benchmark_line() {
        let line = r#"{"unit":"ns","track_screen":{"p50":900,"p99":4000,"p999":21000,"max":90000},"ffi_bool":{"p50":60,"p99":80,"p999":300,"max":900},"ratio_to_ffi_bool":{"p50":15.0,"p99":50.0,"p999":70.0}}"#;
        assert_eq!(json_field(line, "track_screen", "p99"), 4000.0);
        assert_eq!(json_field(line, "ffi_bool", "p50"), 60.0);
        assert!(json_field(line, "core_track_screen", "p50").is_nan());
        let table = swift_table(line);
        assert!(table.contains("| `sdk.trackScreen` (3 properties) | 0.90 µs | 4.00 µs | 21.00 µs |"), "{table}");
        assert!(table.contains("3 properties: p50 15.0×, p99 50.0×, p99.9 70.0×"), "{table}");
    }
}
