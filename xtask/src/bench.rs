//! `cargo xtask bench`: every figure of BENCHMARKS.md in one run. The Rust
//! benchmarks (against the SQLite floor and Glean), the stripped library
//! sizes with and without the Rust HTTP client (and the mobile one per ABI,
//! x86_64 and aarch64, with JNA's native library), and `track` through the
//! Kotlin bindings on the JVM. Writes target/bench/BENCHMARKS.generated.md.
//! `cargo xtask bench-size`: the sizes alone.
//!
//! `cargo xtask bench-swift`: `trackScreen` through the Swift wrapper
//! against an empty FFI call returning a boolean, in the Swift toolchain of
//! the Swift suite (tests/swift/bench). Prints its JSON line and writes
//! target/bench/swift.md.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::bindings;
use crate::cross;
use crate::kotlin;
use crate::swift;
use crate::util::{apt_install, cache_dir, cargo, is_root, output, root, run, target_dir, Result};

fn stripped_size(lib: &Path, out: &Path, strip: &str) -> Result<u64> {
    std::fs::copy(lib, out).map_err(|e| format!("{}: {e}", lib.display()))?;
    run(Command::new(strip).arg(out))?;
    Ok(std::fs::metadata(out).map_err(|e| e.to_string())?.len())
}

/// JNA's native library for a Debian architecture (`amd64`, `arm64`), from
/// Debian's libjna-jni: installed for the host's, downloaded and unpacked
/// into the cache for another (`dpkg --add-architecture` first, as root).
fn jnidispatch(arch: &str, multiarch: &str) -> Result<PathBuf> {
    let file = format!("usr/lib/{multiarch}/jni/libjnidispatch.system.so");
    let installed = Path::new("/").join(&file);
    if output(Command::new("dpkg").arg("--print-architecture"))?.trim() == arch {
        apt_install(&["libjna-jni"])?;
        return Ok(installed);
    }
    let dir = cache_dir().join(format!("libjna-jni-{arch}"));
    let lib = dir.join(&file);
    if lib.exists() {
        return Ok(lib);
    }
    if !is_root() {
        return Err(format!("libjna-jni:{arch} missing: run as root to download it"));
    }
    if !output(Command::new("dpkg").arg("--print-foreign-architectures"))?.lines().any(|a| a == arch) {
        run(Command::new("dpkg").args(["--add-architecture", arch]))?;
        run(Command::new("apt-get").args(["update", "-qq"]))?;
    }
    let debs = dir.join("debs");
    std::fs::create_dir_all(&debs).map_err(|e| format!("{}: {e}", debs.display()))?;
    run(Command::new("apt-get").args(["download", &format!("libjna-jni:{arch}")]).current_dir(&debs))?;
    for deb in std::fs::read_dir(&debs).map_err(|e| e.to_string())? {
        let deb = deb.map_err(|e| e.to_string())?.path();
        if deb.extension().is_some_and(|x| x == "deb") {
            run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&dir))?;
        }
    }
    if lib.exists() {
        Ok(lib)
    } else {
        Err(format!("libjna-jni:{arch} has no {file}"))
    }
}

/// One row of the per-ABI table: the mobile library and JNA's, stripped.
fn abi_row(dir: &Path, abi: &str, lib: &Path, strip: &str, deb_arch: &str, multiarch: &str) -> Result<String> {
    let tag = abi.split_whitespace().next().unwrap_or(abi);
    let ours = stripped_size(lib, &dir.join(format!("mobile-{tag}.so")), strip)?;
    let (jna, total) = match jnidispatch(deb_arch, multiarch).and_then(|j| stripped_size(&j, &dir.join(format!("jnidispatch-{tag}.so")), strip)) {
        Ok(jna) => (mb(jna), mb(ours + jna)),
        Err(e) => (format!("not measured: {e}"), "-".into()),
    };
    Ok(format!("| {abi} | {} | {jna} | {total} |\n", mb(ours)))
}

/// The mobile library (`--no-default-features`) per ABI, with the JNA
/// library the AAR carries beside it: x86_64 here, aarch64 through Debian's
/// cross toolchain when it is there or can be installed.
fn mobile_sizes(dir: &Path) -> Result<String> {
    let mobile = target_dir().join("mobile");
    let mut rows = abi_row(dir, "x86_64", &mobile.join("release").join(bindings::lib_file_name()), "strip", "amd64", "x86_64-linux-gnu")?;
    match cross::setup(false) {
        Ok(()) => {
            run(cross::cargo_aarch64()
                .args([
                    "build",
                    "--release",
                    "-p",
                    "mesure-ffi",
                    "--no-default-features",
                    "--features",
                    "bundled-sqlite",
                    "--target",
                    cross::AARCH64,
                    "--target-dir",
                ])
                .arg(&mobile))?;
            let lib = cross::out_dir(&mobile, "release").join(bindings::lib_file_name());
            rows += &abi_row(dir, "aarch64 (arm64-v8a)", &lib, cross::STRIP, "arm64", "aarch64-linux-gnu")?;
        }
        Err(e) => rows += &format!("| aarch64 (arm64-v8a) | not measured: {e} | | |\n"),
    }
    Ok(rows)
}

fn mb(bytes: u64) -> String {
    format!("{:.2} MB", bytes as f64 / 1_000_000.0)
}

fn kotlin_figures(dir: &Path) -> Result<String> {
    let home = kotlin::kotlin_home()?;
    let libs = [kotlin::debian_jar("jna"), home.join("lib/kotlin-stdlib.jar"), home.join("lib/kotlinx-coroutines-core-jvm.jar")];
    let out = dir.join("kotlin-bench");
    let [ffi, wrapper] = kotlin::compile_wrapper(&home, &libs, &out)?;
    let classes = out.join("bench");
    let _ = std::fs::remove_dir_all(&classes);
    let compiled = [libs.to_vec(), vec![ffi, wrapper]].concat();
    run(kotlin::kotlinc(&home, &compiled, &classes).arg(root().join("tests/kotlin/bench/TrackBench.kt")))?;
    let json = output(Command::new("java").arg(format!("-Djna.library.path={}", target_dir().join("release").display())).args([
        "-cp",
        &kotlin::classpath(&[vec![classes], compiled].concat()),
        "eu.mesure.bench.TrackBenchKt",
    ]))?;
    let line = json.lines().last().unwrap_or("").to_owned();
    let v = |key: &str, field: &str| json_field(&line, key, field) / 1000.0;
    let row = |label: &str, key: &str| format!("| {label} | {:.2} µs | {:.2} µs | {:.2} µs |\n", v(key, "p50"), v(key, "p99"), v(key, "p999"));
    Ok(format!(
        "### Tracking through Kotlin (desktop JVM, JNA)\n\n\
         100 bursts of 1000 calls after warm-up, waiting between bursts for the SDK to drain; baselines in the same JVM: calls across the same FFI that do nothing, one returning a string (`sdkVersion()`: a UniFFI buffer crosses back), one a boolean (`hasBuiltinHttpClient()`). `Mesure.trackScreen` is the wrapper's (convert the properties, then the core's `trackScreen` on the caller's thread: no wrapper queue since issue 17), its empty call measured interleaved with it; `MesureCore.trackScreen` is the core's work on the caller's thread.\n\n\
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

/// The "Library size" section: desktop against mobile on x86_64, then the
/// mobile library per ABI with JNA's. SQLite is built with the omissions of
/// `.cargo/config.toml` (`LIBSQLITE3_FLAGS`), as the Android and iOS builds.
fn library_sizes(dir: &Path) -> Result<String> {
    run(cargo().args(["build", "--release", "-p", "mesure-ffi"]))?;
    run(cargo()
        .args(["build", "--release", "-p", "mesure-ffi", "--no-default-features", "--features", "bundled-sqlite", "--target-dir"])
        .arg(target_dir().join("mobile")))?;
    let full = stripped_size(&target_dir().join("release").join(bindings::lib_file_name()), &dir.join("full.so"), "strip")?;
    let mobile = stripped_size(&target_dir().join("mobile/release").join(bindings::lib_file_name()), &dir.join("mobile.so"), "strip")?;
    Ok(format!(
        "### Library size\n\nStripped release cdylib (`lto`, `opt-level = \"s\"`, one codegen unit; SQLite without the features the store does not use, `LIBSQLITE3_FLAGS` in `.cargo/config.toml`), x86_64 Linux:\n\n\
         | build | size |\n|---|---|\n| with the Rust HTTP client (ureq + rustls) | {} |\n| mobile: without it (platform HTTP client) | {} |\n\n\
         Ratio: the mobile build is {:.2}× the desktop one.\n\n\
         Per ABI, the native code the AAR carries: the mobile library and JNA's `libjnidispatch.so`. \
         Linux (glibc) builds stand in for the Android ones (same code; the NDK's libc and linker differ); \
         JNA's library is Debian's libjna-jni, where the AAR takes JNA's own Android build from Maven.\n\n\
         | ABI | `libmesure_ffi.so` (mobile) | `libjnidispatch.so` (JNA) | total |\n|---|---|---|---|\n{}",
        mb(full),
        mb(mobile),
        mobile as f64 / full as f64,
        mobile_sizes(dir)?
    ))
}

/// `cargo xtask bench-size`: the "Library size" section alone, printed.
pub fn bench_size() -> Result<()> {
    let dir = target_dir().join("bench");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    println!("{}", library_sizes(&dir)?);
    Ok(())
}

pub fn bench() -> Result<()> {
    let dir = target_dir().join("bench");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let rust_md = dir.join("rust.md");

    run(cargo().args(["build", "--release", "-p", "mesure-bench"]))?;
    run(Command::new(target_dir().join("release/mesure-bench")).current_dir(root()).env("MESURE_BENCH_OUT", &rust_md))?;

    let sizes = library_sizes(&dir)?;

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
