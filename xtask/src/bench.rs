//! `cargo xtask bench`: every figure of BENCHMARKS.md in one run. The Rust
//! benchmarks (against the SQLite floor and Glean), the stripped library
//! sizes with and without the Rust HTTP client (and the mobile one per ABI,
//! x86_64 and aarch64, stripped and deflated, with JNA's native library and
//! Glean's own library built the same way), and `track` through the Kotlin
//! bindings on the JVM. Writes target/bench/BENCHMARKS.generated.md.
//! `cargo xtask bench-size`: the sizes alone.
//!
//! `cargo xtask bench-swift`: `trackScreen` through the Swift wrapper
//! against an empty FFI call returning a boolean, in the Swift toolchain of
//! the Swift suite (tests/swift/bench). Prints its JSON line and writes
//! target/bench/swift.md.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::bindings;
use crate::bloat;
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

/// The version of Glean measured beside Mesure: the one `bench/` runs.
const GLEAN_CORE: &str = "71.0.0";

/// `[profile.release]` of the workspace manifest, header included, up to
/// the next table: the throwaway crates are built with the same profile.
fn release_profile(manifest: &str) -> Option<String> {
    let start = manifest.find("\n[profile.release]")? + 1;
    let body = &manifest[start..];
    let end = body[1..].find("\n[").map_or(body.len(), |i| i + 2);
    Some(body[..end].trim_end().to_owned())
}

/// The manifest of the throwaway crate that builds Glean's library as its
/// Android build links it: mozilla/glean's `glean-core/bundle-android`, a
/// cdylib named `xul` re-exporting glean-core (whose UniFFI scaffolding
/// comes with it), here with our release profile. Its own `[workspace]`
/// keeps it out of ours.
fn glean_manifest(profile: &str) -> String {
    format!(
        "# Written by `cargo xtask bench-size` (xtask/src/bench.rs); not part of the repository.\n\
         [package]\nname = \"glean-size\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
         [lib]\nname = \"xul\"\ncrate-type = [\"cdylib\"]\npath = \"lib.rs\"\n\n\
         [dependencies]\nglean-core = \"={GLEAN_CORE}\"\n\n[workspace]\n\n{profile}\n"
    )
}

/// Writes the throwaway crate under target/glean-size/crate and returns
/// its manifest. The workspace's Cargo.lock goes beside it: glean-core and
/// its dependencies are locked there (the benchmarks depend on Glean), so
/// the build resolves nothing new and works offline; cargo drops the rest.
fn glean_crate() -> Result<PathBuf> {
    let dir = target_dir().join("glean-size/crate");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let workspace = std::fs::read_to_string(root().join("Cargo.toml")).map_err(|e| format!("Cargo.toml: {e}"))?;
    let profile = release_profile(&workspace).ok_or("Cargo.toml has no [profile.release]")?;
    let write = |name: &str, text: &str| std::fs::write(dir.join(name), text).map_err(|e| format!("{}: {e}", dir.join(name).display()));
    write("Cargo.toml", &glean_manifest(&profile))?;
    write("lib.rs", "pub use glean_core::*;\n")?;
    let lock = dir.join("Cargo.lock");
    std::fs::copy(root().join("Cargo.lock"), &lock).map_err(|e| format!("{}: {e}", lock.display()))?;
    Ok(dir.join("Cargo.toml"))
}

/// Builds Glean's library with `cargo` (the host's, or the aarch64 one)
/// for `target` (None: the host) and returns it.
fn glean_library(mut cargo: Command, target: Option<&str>) -> Result<PathBuf> {
    let manifest = glean_crate()?;
    let out = target_dir().join("glean-size/target");
    cargo.args(["build", "--release", "--manifest-path"]).arg(&manifest).arg("--target-dir").arg(&out);
    if let Some(t) = target {
        cargo.args(["--target", t]);
    }
    run(&mut cargo)?;
    let dir = match target {
        Some(t) => out.join(t).join("release"),
        None => out.join("release"),
    };
    Ok(dir.join(format!("{}xul.{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_EXTENSION)))
}

/// The size of `file` deflated as zip stores an entry (deflate at zlib's
/// default level 6, zip's default): `gzip -6 -n`'s output without its
/// 10-byte header and 8-byte trailer, which is the raw deflate stream.
fn deflated_size(file: &Path) -> Result<u64> {
    let out = Command::new("gzip").args(["-6", "-n", "-c"]).arg(file).output().map_err(|e| format!("gzip: {e}"))?;
    if !out.status.success() {
        return Err(format!("gzip {}: {}", file.display(), String::from_utf8_lossy(&out.stderr)));
    }
    Ok((out.stdout.len() as u64).saturating_sub(18))
}

/// Stripped (copied to `dir/<name>`) and deflated sizes of `lib`.
fn sizes(lib: &Path, dir: &Path, name: &str, strip: &str) -> Result<(u64, u64)> {
    let out = dir.join(name);
    let stripped = stripped_size(lib, &out, strip)?;
    Ok((stripped, deflated_size(&out)?))
}

/// One row of the per-ABI table: the mobile library, Glean's and JNA's,
/// stripped, and the first two deflated as well.
fn abi_row(dir: &Path, abi: &str, lib: &Path, glean: Result<PathBuf>, strip: &str, deb_arch: &str, multiarch: &str) -> Result<String> {
    let tag = abi.split_whitespace().next().unwrap_or(abi);
    let (ours, ours_z) = sizes(lib, dir, &format!("mobile-{tag}.so"), strip)?;
    let glean = glean.and_then(|g| sizes(&g, dir, &format!("glean-{tag}.so"), strip));
    let (glean, glean_z) = match glean {
        Ok((g, z)) => (format!("{} ({:.2}×)", mb(g), ours as f64 / g as f64), format!("{} ({:.2}×)", mb(z), ours_z as f64 / z as f64)),
        Err(e) => (format!("not measured: {e}"), "-".into()),
    };
    let (jna, total) = match jnidispatch(deb_arch, multiarch).and_then(|j| stripped_size(&j, &dir.join(format!("jnidispatch-{tag}.so")), strip)) {
        Ok(jna) => (mb(jna), mb(ours + jna)),
        Err(e) => (format!("not measured: {e}"), "-".into()),
    };
    Ok(format!("| {abi} | {} | {} | {glean} | {glean_z} | {jna} | {total} |\n", mb(ours), mb(ours_z)))
}

/// The mobile library (`--no-default-features`) per ABI, with Glean's and
/// the JNA library the AAR carries beside it: x86_64 here, aarch64 through
/// Debian's cross toolchain when it is there or can be installed. Returns
/// the table's rows and the mobile library's breakdown (`bloat.rs`) per ABI.
fn mobile_sizes(dir: &Path) -> Result<(String, String)> {
    let mobile = target_dir().join("mobile");
    let lib = mobile.join("release").join(bindings::lib_file_name());
    let mut rows = abi_row(dir, "x86_64", &lib, glean_library(cargo(), None), "strip", "amd64", "x86_64-linux-gnu")?;
    let x86 = bloat::measure(&lib, &bloat::build_dir_of(&lib), "")?;
    let mut arm = None;
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
            let glean = glean_library(cross::cargo_aarch64(), Some(cross::AARCH64));
            rows += &abi_row(dir, "aarch64 (arm64-v8a)", &lib, glean, cross::STRIP, "arm64", "aarch64-linux-gnu")?;
            arm = Some(bloat::measure(&lib, &bloat::build_dir_of(&lib), cross::BINUTILS_PREFIX)?);
        }
        Err(e) => rows += &format!("| aarch64 (arm64-v8a) | not measured: {e} | | | | | |\n"),
    }
    let mut abis = vec![("x86_64", &x86)];
    if let Some(arm) = &arm {
        abis.push(("aarch64", arm));
    }
    Ok((rows, bloat::render(&abis)))
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
         100 bursts of 1000 calls after warm-up, waiting between bursts for the SDK to drain; baselines in the same JVM: calls across the same FFI that do nothing, one returning a string (`sdkVersion()`: a UniFFI buffer crosses back), one a boolean (`hasBuiltinHttpClient()`). `Mesure.trackScreen` is the wrapper's (convert the properties, write them with the call into one buffer, one JNA call by direct mapping into the core, `mesure_track_encoded`, which does its work on the caller's thread: issue 20), its empty call measured interleaved with it; `MesureCore.trackScreen` is the generated bindings' call (the handle cloned, the name and a map of sealed values lowered, the outcome lifted and freed: five JNA crossings).\n\n\
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
    let system = system_sqlite_size(dir).map_or_else(|e| format!("not measured: {e}"), |(s, z)| format!("{} ({} deflated)", mb(s), mb(z)));
    let (rows, breakdown) = mobile_sizes(dir)?;
    Ok(format!(
        "### Library size\n\nStripped release cdylib (`lto`, `opt-level = \"s\"`, one codegen unit; SQLite without the features the store does not use, `LIBSQLITE3_FLAGS` in `.cargo/config.toml`), x86_64 Linux:\n\n\
         | build | size |\n|---|---|\n| with the Rust HTTP client (ureq + rustls) | {} |\n| mobile: without it (platform HTTP client) | {} |\n\
         | mobile, the system's SQLite (`system-sqlite`: the stand-in for iOS, where `platform-sqlite` links the system's) | {system} |\n\n\
         Ratio: the mobile build is {:.2}× the desktop one.\n\n\
         Per ABI, the native code the AAR carries: the mobile library and JNA's `libjnidispatch.so`, beside Glean's own Rust library \
         built the same way (glean-core {GLEAN_CORE} in a cdylib re-exporting it, as Glean's `glean-core/bundle-android` does: \
         its UniFFI scaffolding included; same profile, same targets, same `strip`; Glean's AAR carries JNA too). \
         Linux (glibc) builds stand in for the Android ones (same code; the NDK's libc and linker differ); \
         JNA's library is Debian's libjna-jni, where the AAR takes JNA's own Android build from Maven. \
         Deflated: the stripped library as a zip entry compressed with deflate at zip's default level 6 (the raw stream, headers left out). \
         With minSdk ≥ 23 the Android Gradle plugin's default (`useLegacyPackaging = false`) stores `.so` files uncompressed and page-aligned, \
         loaded in place from the APK: the installed size is the stripped one, the download (compressed in transit) about the deflated one.\n\n\
         | ABI | Mesure `libmesure_ffi.so` (mobile) | deflated | Glean `libxul.so` (Mesure / Glean) | deflated (Mesure / Glean) | `libjnidispatch.so` (JNA) | Mesure + JNA |\n\
         |---|---|---|---|---|---|---|\n{rows}\n\
         #### What the mobile library is made of\n\n\
         The unstripped release library's symbols (`nm -S --size-sort -C`, each address once, `.bss` left out) per crate \
         (`xtask/src/bloat.rs`: generic code counts for the crate that defines it, a `<T as Trait>` method for `T`'s crate), \
         then its sections (`size -A`, those loaded). Symbols cover `.text` and most of `.rodata`; unwind tables (`.eh_frame`) and \
         `.gcc_except_table` have no symbols.\n\n{breakdown}",
        mb(full),
        mb(mobile),
        mobile as f64 / full as f64,
    ))
}

/// The mobile library linked to the system's SQLite, as the iOS one is
/// (`platform-sqlite` on Apple targets), built here with `system-sqlite`
/// against Debian's libsqlite3 (libsqlite3-dev, installed if missing), in
/// its own target directory: stripped and deflated sizes.
fn system_sqlite_size(dir: &Path) -> Result<(u64, u64)> {
    apt_install(&["libsqlite3-dev"])?;
    let target = target_dir().join("mobile-system-sqlite");
    run(cargo()
        .args(["build", "--release", "-p", "mesure-ffi", "--no-default-features", "--features", "system-sqlite", "--target-dir"])
        .arg(&target))?;
    sizes(&target.join("release").join(bindings::lib_file_name()), dir, "mobile-system-sqlite.so", "strip")
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
    fn glean_is_built_with_the_workspace_release_profile() {
        let manifest = "[workspace]\nmembers = []\n\n[profile.release]\nlto = true\nopt-level = \"s\"\n\n# comment\n[profile.dev.package.\"*\"]\nopt-level = 2\n";
        let profile = release_profile(manifest);
        assert_eq!(profile.as_deref(), Some("[profile.release]\nlto = true\nopt-level = \"s\"\n\n# comment"));
        assert_eq!(release_profile("[profile.release]\nlto = true\n"), None, "only a table after a newline counts");
        assert_eq!(release_profile("[package]\n\n[profile.release]\nlto = true\n").as_deref(), Some("[profile.release]\nlto = true"));
        let ours = std::fs::read_to_string(root().join("Cargo.toml")).unwrap_or_default();
        let glean = glean_manifest(&release_profile(&ours).unwrap_or_default());
        assert!(
            glean.contains("glean-core = \"=71.0.0\"") && glean.contains("[workspace]") && glean.contains("crate-type = [\"cdylib\"]"),
            "{glean}"
        );
        assert!(glean.contains("[profile.release]\nlto = true\ncodegen-units = 1\nopt-level = \"s\""), "{glean}");
    }

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
