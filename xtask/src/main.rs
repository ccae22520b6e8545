//! `cargo xtask <command>`: the project's build and test tooling.
//!
//! - `test`: every suite, as CI runs it (Rust, then Kotlin, then Swift).
//! - `test-rust`, `test-kotlin`, `test-swift`: one suite (`test-rust` first
//!   runs `lint`, and checks the docs, see `docs.rs`, and the iOS device
//!   slice, see `ios_slice.rs`).
//! - `lint`: `cargo fmt --check`, clippy with `-D warnings` on every target,
//!   the private doc links (`lint.rs`).
//! - `bindings kotlin|swift`: generate the bindings into target/bindings/.
//! - `check-docs`: the documentation checks of `docs.rs` alone.
//! - `ios-slice`: the iOS device library (system SQLite) built on Linux, its
//!   UniFFI exports compared with the Linux library's, its SQLite imports
//!   held to the core's minimum SQLite (`ios_slice.rs`; also a step of
//!   `test-rust`).
//! - `release`: the release's artifacts this machine can build, checksummed,
//!   the JVM jar's classpath and how to run an app against it, and the
//!   commands for the AAR and the XCFramework (`release.rs`).
//! - `api [--bless]`: the public API listings under api/ (Rust, Kotlin,
//!   Swift) checked, or rewritten after a reviewed change (`api.rs`).
//! - `bench`: the benchmarks of BENCHMARKS.md (release builds; minutes);
//!   `bench kotlin`: the JVM figures alone.
//! - `bench-swift`: `trackScreen` through the Swift wrapper against an empty FFI call (JSON).
//! - `swift-package --out DIR [--release]`: the Swift package an app on
//!   Linux depends on by path: the generated bindings, their module map,
//!   the wrapper and the desktop library (`swift.rs`; `test-swift` builds a
//!   tiny app against one).
//! - `bench-size`: the "Library size" section of `bench` alone: the stripped
//!   mobile library per ABI (x86_64, and aarch64 with Debian's cross
//!   toolchain, installed if missing), stripped and deflated, with JNA's
//!   native library and Glean's library built the same way.
//! - `test-arm64`: the core and FFI suites built for aarch64 Linux and run
//!   under qemu-aarch64 (not in `.ci/run`: slow; see `arm64.rs`).
//! - `stress [runs]`: the whole Rust suite `runs` times (20) under stress-ng.
//! - `check-16k <file.so|dir|file.aar>...`: every library 16 KB page aligned.
//! - `xcframework [--print]`: ios/MesureFFI.xcframework, its zip and checksum
//!   (macOS with Xcode; prints the plan with `--print` or elsewhere). `xcframework-manifest <url> <checksum>`
//!   writes the released zip into the root Package.swift.

mod api;
mod arm64;
mod bench;
mod bindings;
mod bloat;
mod cross;
mod docs;
mod elf;
mod ios_slice;
mod kotlin;
mod lint;
mod release;
mod stress;
mod swift;
mod util;
mod xcframework;

use std::process::ExitCode;

use util::{cargo, run, Result};

/// The stateful privacy model (core/tests/privacy_model.rs): run on its own
/// so that its count of sequences is printed.
const PRIVACY_MODEL: &str = "privacy_model_";

fn test_rust() -> Result<()> {
    lint::lint()?;
    // The bindgen and the benchmarks (which build Glean) are not part of the test build.
    run(cargo().args(["test", "--workspace", "--exclude", "xtask", "--exclude", "uniffi-bindgen", "--exclude", "mesure-bench"]).args([
        "--",
        "--skip",
        PRIVACY_MODEL,
    ]))?;
    run(cargo().args(["test", "-p", "mesure-core", "--test", "privacy_model", "--", "--nocapture", PRIVACY_MODEL]))?;
    run(cargo().args(["test", "-p", "xtask"]))?;
    docs::check()?;
    ios_slice::check()?;
    // The Kotlin listing needs kotlinc: test-kotlin checks it.
    api::check("mesure-core", &api::rust_listing()?, false)?;
    api::check("swift", &api::swift_listing()?, false)
}

/// The Kotlin listing of `api/kotlin.txt`, from the compiled class directories.
fn check_kotlin_api(classes: &[std::path::PathBuf]) -> Result<()> {
    api::check("kotlin", &api::kotlin_listing(classes)?, false)
}

fn dispatch(args: &[String]) -> Result<()> {
    match args.first().map(String::as_str) {
        Some("test") | None => {
            test_rust()?;
            kotlin::test(check_kotlin_api)?;
            swift::test()
        }
        Some("test-rust") => test_rust(),
        Some("test-kotlin") => kotlin::test(check_kotlin_api),
        Some("test-swift") => swift::test(),
        Some("bench") if args.get(1).map(String::as_str) == Some("kotlin") => bench::bench_kotlin(),
        Some("test-arm64") => arm64::test(),
        Some("bench") => bench::bench(),
        Some("check-docs") => docs::check(),
        Some("ios-slice") => ios_slice::check(),
        Some("lint") => lint::lint(),
        Some("release") => release::release(),
        Some("api") => api::api(args.get(1).is_some_and(|a| a == "--bless")),
        Some("bench-swift") => bench::bench_swift(),
        Some("swift-package") => swift::package(&args[1..]),
        Some("bench-size") => bench::bench_size(),
        Some("stress") => {
            let runs = args.get(1).map(|n| n.parse().map_err(|_| format!("not a number of runs: {n}"))).transpose()?;
            stress::stress(runs.unwrap_or(20))
        }
        Some("check-16k") => elf::check_16k(&args[1..]),
        Some("xcframework") => xcframework::xcframework(args.get(1).is_some_and(|a| a == "--print")),
        Some("xcframework-manifest") => match (args.get(1), args.get(2)) {
            (Some(url), Some(checksum)) => xcframework::write_manifest(url, checksum),
            _ => Err("usage: cargo xtask xcframework-manifest <url of MesureFFI.xcframework.zip> <checksum>".into()),
        },
        Some("bindings") => match args.get(1).map(String::as_str) {
            Some(lang @ ("kotlin" | "swift")) => bindings::generate(lang).map(|dir| eprintln!("xtask: {}", dir.display())),
            _ => Err("usage: cargo xtask bindings kotlin|swift".into()),
        },
        Some(other) => Err(format!("unknown command {other:?}; try: test, test-rust, test-kotlin, test-swift, lint, bindings, bench, stress, check-docs, ios-slice, api, release, check-16k, bench-swift, swift-package, xcframework, xcframework-manifest, bench-size, test-arm64")),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match dispatch(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
