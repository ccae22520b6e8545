//! The Swift suite: the generated bindings, the iOS wrapper and the XCTest
//! tests, built with SwiftPM and run on this machine against the host
//! library and a loopback collector process.
//!
//! What is compiled: `target/bindings/swift` (generated), the wrapper
//! `ios/Sources/Mesure` (its Apple-only parts sit behind `#if
//! canImport(UIKit)` / `canImport(Combine)`), the wrapper's own tests
//! `ios/Tests/MesureTests` and the Linux suite `tests/swift`. They are staged
//! as one package (manifest `tests/swift/Package.swift`) next to
//! `libmesure_ffi`, never inside the source tree.
//!
//! The toolchain: `swift` on the PATH when there is one (a Mac, a Linux box
//! with Swift). Otherwise Debian 13's `swiftlang` in a chroot built on first
//! use under the cache dir and reused (it needs root, as CI has). The chroot's
//! /proc, /sys and /dev are bind-mounted for the run and unmounted when it
//! ends, failed or not; a run killed outright (SIGKILL, Ctrl-C) cannot, so
//! every run first removes mounts a previous one left. Runs sharing a cache
//! dir take turns (a lock file). `MESURE_DEBIAN_MIRROR` overrides the mirror
//! found in apt's sources.
//!
//! `cargo xtask swift-package --out DIR` lays out the same sources as a
//! package an app on Linux depends on by path (manifest
//! `ios/linux-package/Package.swift`); the suite then builds and runs a
//! tiny app against it (`tests/swift/app`).

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::bindings;
use crate::util::{apt_install, cache_dir, cargo, files_with_extension, have, is_root, output, root, run, target_dir, CollectorProcess, Result};

/// Debian 13: the first release whose `swiftlang` ships SwiftPM, Foundation and XCTest.
const SUITE: &str = "trixie";
const PACKAGES: [&str; 3] = ["swiftlang", "libc6-dev", "libstdc++-14-dev"];
/// Written last by a successful bootstrap: a directory without it is a broken one.
const READY_MARKER: &str = ".mesure-swift-ready";
/// Where the package is staged inside the chroot.
const CHROOT_STAGE: &str = "/mesure";
/// Where the benchmark's package is staged inside the chroot (its release build cache kept apart).
const CHROOT_BENCH_STAGE: &str = "/mesure-bench";
/// Where the tiny app and the package it uses are staged inside the chroot.
const CHROOT_APP_STAGE: &str = "/mesure-app";
/// What the manifest `swift-package` writes says of itself: it overwrites no other.
const LINUX_MANIFEST_MARK: &str = "`cargo xtask swift-package --out";
/// Fewer would mean tests were lost on the way (a file not staged, a class not discovered).
const MIN_TESTS: u32 = 50;
const MOUNTS: [&str; 3] = ["proc", "sys", "dev"];

pub fn test() -> Result<()> {
    let started = Instant::now();
    let generated = bindings::generate("swift")?;
    let lib = target_dir().join("debug").join(bindings::lib_file_name());
    let collector = CollectorProcess::start()?;
    let run = if have("swift") { run_on_host(&generated, &lib, &collector.url) } else { run_in_chroot(&generated, &lib, &collector.url) };
    // The app runs whatever the suite's verdict: both are reported.
    let app = run_app(&generated, &lib);
    let result = run.clone().and_then(|r| r.verdict()).and(app);
    eprintln!("xtask: Swift suite {} after {:.1} s", if result.is_ok() { "passed" } else { "failed" }, started.elapsed().as_secs_f64());
    // Last, so that CI reads it as the suite's closing line.
    if let Ok(r) = &run {
        println!("swift: {} passed, {} failed", r.executed.saturating_sub(r.failures), r.failures);
    }
    result
}

/// What `swift test` reported.
#[derive(Clone)]
struct SwiftRun {
    executed: u32,
    failures: u32,
    status: std::process::ExitStatus,
}

impl SwiftRun {
    fn verdict(self) -> Result<()> {
        let SwiftRun { executed, failures, status } = self;
        if failures > 0 {
            return Err(format!("{failures} of {executed} Swift tests failed"));
        }
        if !status.success() {
            return Err(format!("swift test failed ({status}) although all {executed} tests passed"));
        }
        if executed < MIN_TESTS {
            return Err(format!("only {executed} Swift tests ran (expected at least {MIN_TESTS})"));
        }
        Ok(())
    }
}

fn run_on_host(generated: &Path, lib: &Path, collector_url: &str) -> Result<SwiftRun> {
    let stage = target_dir().join("swift-suite");
    stage_package(&stage, generated, lib)?;
    let pkg = stage.join("pkg");
    let lib_dir = stage.join("lib");
    let mut cmd = Command::new("swift");
    cmd.env("MESURE_COLLECTOR_URL", collector_url).env("MESURE_VECTORS_DIR", stage.join("vectors"));
    swift_test(cmd, &pkg.to_string_lossy(), &lib_dir.to_string_lossy(), &|| Command::new("swift"))
}

fn run_in_chroot(generated: &Path, lib: &Path, collector_url: &str) -> Result<SwiftRun> {
    let t = Instant::now();
    // Held to the end of the run (released by the kernel even if the process
    // is killed): a second run would otherwise take the first one's mounts
    // for leftovers and unmount them under it.
    let _lock = lock_exclusive(&cache_dir().join("swift-chroot.lock"))?;
    let chroot = Chroot::ready()?;
    eprintln!("xtask: Swift toolchain ready in {:.1} s ({})", t.elapsed().as_secs_f64(), chroot.root.display());
    stage_package(&chroot.root.join(CHROOT_STAGE.trim_start_matches('/')), generated, lib)?;
    let _mounts = chroot.mount()?;
    let pkg = format!("{CHROOT_STAGE}/pkg");
    let lib_dir = format!("{CHROOT_STAGE}/lib");
    let env = [("MESURE_COLLECTOR_URL".to_owned(), collector_url.to_owned()), ("MESURE_VECTORS_DIR".to_owned(), format!("{CHROOT_STAGE}/vectors"))];
    let cmd = chroot.command("swift", &env);
    swift_test(cmd, &pkg, &lib_dir, &|| chroot.command("swift", &[]))
}

/// `cargo xtask bench-swift`: builds the benchmark (tests/swift/bench) in
/// release mode against `lib` (a release build of libmesure_ffi) and runs
/// it, on the host's Swift or in the chroot as the suite does. Returns its
/// JSON line.
pub fn bench(lib: &Path) -> Result<String> {
    let generated = bindings::generate("swift")?;
    let args = |pkg: &str, lib_dir: &str| -> Vec<String> {
        [
            "run",
            "-c",
            "release",
            "--package-path",
            pkg,
            "-Xlinker",
            "-L",
            "-Xlinker",
            lib_dir,
            "-Xlinker",
            "-rpath",
            "-Xlinker",
            lib_dir,
            "MesureBench",
        ]
        .map(str::to_owned)
        .to_vec()
    };
    let out = if have("swift") {
        let stage = target_dir().join("swift-bench");
        stage_bench(&stage, &generated, lib)?;
        let (pkg, lib_dir) = (stage.join("pkg"), stage.join("lib"));
        output(Command::new("swift").args(args(&pkg.to_string_lossy(), &lib_dir.to_string_lossy())))?
    } else {
        let _lock = lock_exclusive(&cache_dir().join("swift-chroot.lock"))?;
        let chroot = Chroot::ready()?;
        stage_bench(&chroot.root.join(CHROOT_BENCH_STAGE.trim_start_matches('/')), &generated, lib)?;
        let _mounts = chroot.mount()?;
        let mut cmd = chroot.command("swift", &[]);
        cmd.args(args(&format!("{CHROOT_BENCH_STAGE}/pkg"), &format!("{CHROOT_BENCH_STAGE}/lib")));
        eprintln!("xtask: {cmd:?}");
        output(&mut cmd)?
    };
    out.lines().rev().find(|l| l.starts_with('{')).map(str::to_owned).ok_or_else(|| format!("the Swift benchmark printed no JSON line:\n{out}"))
}

/// `cargo xtask swift-package --out DIR [--release]`: the Swift package an
/// app on Linux depends on by path, with the generated bindings, the
/// wrapper and the desktop library (debug, or release with `--release`).
pub fn package(args: &[String]) -> Result<()> {
    let usage = "usage: cargo xtask swift-package --out DIR [--release]";
    let (mut out, mut release) = (None, false);
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--out" => out = Some(PathBuf::from(rest.next().ok_or(usage)?)),
            "--release" => release = true,
            _ => return Err(usage.into()),
        }
    }
    let out = out.ok_or(usage)?;
    let out = if out.is_absolute() { out } else { std::env::current_dir().map_err(|e| e.to_string())?.join(out) };
    let generated = bindings::generate("swift")?;
    let profile = if release { "release" } else { "debug" };
    if release {
        run(cargo().args(["build", "--release", "-p", "mesure-ffi"]))?;
    }
    write_linux_package(&out, &generated, &target_dir().join(profile).join(bindings::lib_file_name()))?;
    let identity = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    println!("Mesure {}: a Swift package for Linux in {} ({profile} build of the desktop library).", crate::release::VERSION, out.display());
    println!("In the app's Package.swift:");
    println!("    dependencies: [.package(path: \"{}\")],", out.display());
    println!("    // the target's dependencies:");
    println!("    .product(name: \"Mesure\", package: \"{identity}\"),");
    println!(
        "then `import Mesure`; `swift build` and `swift run` need no flag (the package points the linker and the rpath at {}/lib).",
        out.display()
    );
    Ok(())
}

/// Writes the package `swift-package` makes into `dir`: the manifest, the
/// sources, the library. Refuses a directory whose Package.swift is another.
fn write_linux_package(dir: &Path, generated: &Path, lib: &Path) -> Result<()> {
    let manifest = dir.join("Package.swift");
    if let Ok(existing) = fs::read_to_string(&manifest) {
        if !existing.contains(LINUX_MANIFEST_MARK) {
            return Err(format!("{} is not a package `cargo xtask swift-package` made: choose another --out", manifest.display()));
        }
    }
    sync_file(&root().join("ios/linux-package/Package.swift"), &manifest)?;
    stage_sources(dir, generated)?;
    stage_library(dir, lib)
}

/// Builds and runs the tiny app of `tests/swift/app` against a package made
/// as `swift-package` makes it, as an app on Linux would use it; checks the
/// line it prints.
fn run_app(generated: &Path, lib: &Path) -> Result<()> {
    let t = Instant::now();
    let app = root().join("tests/swift/app");
    let stage = |dir: &Path| -> Result<()> {
        // SwiftPM does not look again at the files of a path dependency
        // whose manifest is unchanged: a wrapper file added or removed
        // would be missing from (or linger in) the app's build. Such a
        // change starts the app's build afresh.
        let sources = dir.join("Mesure/Sources/Mesure");
        let before = files_with_extension(&sources, "swift");
        write_linux_package(&dir.join("Mesure"), generated, lib)?;
        if files_with_extension(&sources, "swift") != before {
            let build = dir.join("app/.build");
            if build.exists() {
                fs::remove_dir_all(&build).map_err(|e| format!("{}: {e}", build.display()))?;
            }
        }
        sync_file(&app.join("Package.swift"), &dir.join("app/Package.swift"))?;
        sync_dir(&dir.join("app/Sources/MesureApp"), vec![("main.swift".to_owned(), read(&app.join("main.swift"))?)])
    };
    let out = if have("swift") {
        let dir = target_dir().join("swift-app");
        stage(&dir)?;
        Command::new("swift").args(["run", "--package-path"]).arg(dir.join("app")).output()
    } else {
        let _lock = lock_exclusive(&cache_dir().join("swift-chroot.lock"))?;
        let chroot = Chroot::ready()?;
        stage(&chroot.root.join(CHROOT_APP_STAGE.trim_start_matches('/')))?;
        let _mounts = chroot.mount()?;
        let mut cmd = chroot.command("swift", &[]);
        cmd.args(["run", "--package-path", &format!("{CHROOT_APP_STAGE}/app")]);
        eprintln!("xtask: {cmd:?}");
        cmd.output()
    }
    .map_err(|e| format!("swift run: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().find(|l| l.starts_with("mesure-app: "));
    match line {
        Some(line) if out.status.success() && line.contains(", 2 hits built in a dry run, then ") => {
            eprintln!("xtask: the app against `swift-package`'s package ran in {:.1} s: {line}", t.elapsed().as_secs_f64());
            Ok(())
        }
        _ => Err(format!("the app against `swift-package`'s package failed ({}):\n{stdout}\n{}", out.status, String::from_utf8_lossy(&out.stderr))),
    }
}

/// `swift test` on the staged package; an error if it ended without XCTest's final summary.
fn swift_test(mut cmd: Command, pkg: &str, lib_dir: &str, swift: &dyn Fn() -> Command) -> Result<SwiftRun> {
    cmd.args(["test", "--package-path", pkg])
        // The C module map autolinks mesure_ffi; the linker needs its directory,
        // the test process finds it again through the rpath.
        .args(["-Xlinker", "-L", "-Xlinker", lib_dir, "-Xlinker", "-rpath", "-Xlinker", lib_dir]);
    // Swift 6 also runs swift-testing, which then reports "0 tests" after the
    // XCTest summary: CI would read that last line as a run without tests.
    let help = output(swift().args(["test", "--help"])).unwrap_or_default();
    if help.contains("--disable-swift-testing") {
        cmd.arg("--disable-swift-testing");
    }
    eprintln!("xtask: {cmd:?}");
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().map_err(|e| format!("{cmd:?}: {e}"))?;
    // XCTest reports on stdout on Linux and on stderr on macOS: read both.
    let err_reader = child.stderr.take().map(|err| std::thread::spawn(move || final_summary(err, true)));
    let from_stdout = child.stdout.take().and_then(|out| final_summary(out, false));
    let from_stderr = err_reader.and_then(|t| t.join().ok()).flatten();
    let status = child.wait().map_err(|e| e.to_string())?;
    let Some((executed, failures)) = from_stdout.or(from_stderr) else {
        return Err(format!("swift test ended ({status}) before XCTest's final summary: a build failure or a crash"));
    };
    Ok(SwiftRun { executed, failures, status })
}

/// Echoes `stream` and returns the counts of XCTest's final summary, the one
/// after "Test Suite 'All tests' passed|failed" (the others are per class);
/// none if the test process died midway.
fn final_summary(stream: impl std::io::Read, to_stderr: bool) -> Option<(u32, u32)> {
    let (mut summary, mut all_tests_ended) = (None, false);
    for line in BufReader::new(stream).lines().map_while(std::result::Result::ok) {
        if to_stderr {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
        if line.starts_with("Test Suite 'All tests' passed") || line.starts_with("Test Suite 'All tests' failed") {
            all_tests_ended = true;
        } else if all_tests_ended && summary.is_none() {
            summary = xctest_summary(&line);
        }
    }
    summary
}

/// Parses XCTest's `Executed 27 tests, with 0 failures (0 unexpected) in ...`.
fn xctest_summary(line: &str) -> Option<(u32, u32)> {
    let rest = line.trim().strip_prefix("Executed ")?;
    let (executed, rest) = rest.split_once(" test")?;
    let rest = rest.split_once("with ")?.1;
    let failures = rest.split_whitespace().next()?;
    Some((executed.parse().ok()?, failures.parse().ok()?))
}

// ---------------------------------------------------------------------------
// Staging

/// Lays out the SwiftPM package under `stage/pkg`, the library under
/// `stage/lib` and the vectors under `stage/vectors`. Files are rewritten only
/// when their content changed, so SwiftPM's incremental build survives runs.
fn stage_package(stage: &Path, generated: &Path, lib: &Path) -> Result<()> {
    let root = root();
    let pkg = stage.join("pkg");
    sync_file(&root.join("tests/swift/Package.swift"), &pkg.join("Package.swift"))?;
    stage_sources(&pkg, generated)?;

    let mut tests = files_with_ext(&root.join("ios/Tests/MesureTests"), "swift")?;
    for (name, bytes) in files_with_ext(&root.join("tests/swift"), "swift")? {
        if name == "Package.swift" {
            continue;
        }
        if tests.iter().any(|(n, _)| *n == name) {
            return Err(format!("tests/swift/{name} and ios/Tests/MesureTests/{name} share a name"));
        }
        tests.push((name, bytes));
    }
    sync_dir(&pkg.join("Tests/MesureTests"), tests)?;
    stage_library(stage, lib)?;
    sync_dir(&stage.join("vectors"), files_with_ext(&root.join("tests/vectors"), "json")?)
}

/// The benchmark's package (manifest and main.swift from `tests/swift/bench`)
/// under `stage/pkg`, the library under `stage/lib`.
fn stage_bench(stage: &Path, generated: &Path, lib: &Path) -> Result<()> {
    let bench = root().join("tests/swift/bench");
    let pkg = stage.join("pkg");
    sync_file(&bench.join("Package.swift"), &pkg.join("Package.swift"))?;
    stage_sources(&pkg, generated)?;
    sync_dir(&pkg.join("Sources/MesureBench"), vec![("main.swift".to_owned(), read(&bench.join("main.swift"))?)])?;
    stage_library(stage, lib)
}

/// What the suite and the benchmark share: the generated C module and
/// Swift, and the wrapper's sources.
fn stage_sources(pkg: &Path, generated: &Path) -> Result<()> {
    // The generated module map has no `link` line (the xcframework links the
    // static library itself); here the C module must pull in libmesure_ffi.
    let header = "mesure_ffiFFI.h";
    sync_dir(
        &pkg.join("Sources/mesure_ffiFFI"),
        vec![
            (header.to_owned(), read(&generated.join(header))?),
            (
                "module.modulemap".to_owned(),
                format!("module mesure_ffiFFI {{\n    header \"{header}\"\n    link \"mesure_ffi\"\n    export *\n}}\n").into_bytes(),
            ),
        ],
    )?;
    sync_dir(&pkg.join("Sources/MesureBindings"), vec![("MesureFFI.swift".to_owned(), read(&generated.join("MesureFFI.swift"))?)])?;
    sync_dir(&pkg.join("Sources/Mesure"), files_with_ext(&root().join("ios/Sources/Mesure"), "swift")?)
}

fn stage_library(stage: &Path, lib: &Path) -> Result<()> {
    let lib_name = lib.file_name().map(|n| n.to_string_lossy().into_owned()).ok_or("library file name")?;
    sync_dir(&stage.join("lib"), vec![(lib_name, read(lib)?)])
}

fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// The files of `dir` ending in `.ext`, by name, sorted.
fn files_with_ext(dir: &Path, ext: &str) -> Result<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_file() && path.extension().is_some_and(|x| x == ext) {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            out.push((name, read(&path)?));
        }
    }
    out.sort();
    Ok(out)
}

fn sync_file(from: &Path, to: &Path) -> Result<()> {
    write_if_changed(to, &read(from)?)
}

fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<()> {
    if fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// Makes `dir` hold exactly `files`: a test deleted from the tree must not
/// linger in the staged package and keep passing there.
fn sync_dir(dir: &Path, files: Vec<(String, Vec<u8>)>) -> Result<()> {
    fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in fs::read_dir(dir).map_err(|e| e.to_string())? {
        let path = entry.map_err(|e| e.to_string())?.path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if !files.iter().any(|(n, _)| *n == name) {
            fs::remove_file(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    for (name, bytes) in files {
        write_if_changed(&dir.join(name), &bytes)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The Debian 13 chroot

struct Chroot {
    root: PathBuf,
}

impl Chroot {
    /// The chroot with Swift installed, built on first use.
    fn ready() -> Result<Chroot> {
        if !is_root() {
            return Err("no `swift` on the PATH, and building the Swift chroot needs root (debootstrap, chroot, mount): \
                        install Swift 6 or run as root"
                .into());
        }
        let chroot = Chroot { root: cache_dir().join("swift-chroot") };
        unmount_all_under(&chroot.root)?;
        let wanted = marker_text();
        let marker = chroot.root.join(READY_MARKER);
        match fs::read_to_string(&marker) {
            Ok(found) if found == wanted => return Ok(chroot),
            // A finished chroot whose package list changed: top it up.
            Ok(_) => {}
            Err(_) => chroot.bootstrap()?,
        }
        chroot.install_packages()?;
        fs::write(&marker, wanted).map_err(|e| format!("{}: {e}", marker.display()))?;
        Ok(chroot)
    }

    fn bootstrap(&self) -> Result<()> {
        if self.root.exists() {
            eprintln!("xtask: {} is an unfinished chroot: rebuilding it", self.root.display());
            remove_tree(&self.root)?;
        }
        apt_install(&["debootstrap"])?;
        let mirror = debian_mirror()?;
        let parent = self.root.parent().ok_or("chroot path has no parent")?;
        fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        run(Command::new("debootstrap").args(["--variant=minbase", SUITE]).arg(&self.root).arg(&mirror))
    }

    fn install_packages(&self) -> Result<()> {
        // apt inside the chroot resolves the mirror with the host's resolver.
        fs::copy("/etc/resolv.conf", self.root.join("etc/resolv.conf")).map_err(|e| format!("resolv.conf: {e}"))?;
        let _mounts = self.mount()?;
        let env = [("DEBIAN_FRONTEND".to_owned(), "noninteractive".to_owned())];
        run(self.command("apt-get", &env).args(["update", "-qq"]))?;
        run(self.command("apt-get", &env).args(["install", "-y", "-qq", "--no-install-recommends"]).args(PACKAGES))?;
        // The downloaded .debs are half a gigabyte nobody needs again.
        run(self.command("apt-get", &env).arg("clean"))?;
        let version = output(self.command("swift", &[]).arg("--version"))?;
        eprintln!("xtask: chroot toolchain: {}", version.lines().next().unwrap_or_default());
        Ok(())
    }

    /// A command run inside the chroot with a clean environment (the host's
    /// cargo and rustup variables mean nothing there), plus `env`.
    fn command(&self, program: &str, env: &[(String, String)]) -> Command {
        let mut cmd = Command::new("chroot");
        cmd.arg(&self.root).args(["/usr/bin/env", "-i", "HOME=/root", "PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"]);
        for key in ["http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "TERM"] {
            if let Ok(v) = std::env::var(key) {
                cmd.arg(format!("{key}={v}"));
            }
        }
        for (k, v) in env {
            cmd.arg(format!("{k}={v}"));
        }
        cmd.arg(program);
        cmd
    }

    /// Bind-mounts /proc, /sys and /dev into the chroot until the guard drops.
    fn mount(&self) -> Result<Mounts> {
        let mut mounts = Mounts { points: Vec::new() };
        for name in MOUNTS {
            let point = self.root.join(name);
            fs::create_dir_all(&point).map_err(|e| format!("{}: {e}", point.display()))?;
            // Not --rbind: submounts (/dev/pts, cgroups) are not needed, and a
            // plain bind comes off with one umount.
            run(Command::new("mount").arg("--bind").arg(format!("/{name}")).arg(&point))?;
            mounts.points.push(point);
        }
        Ok(mounts)
    }
}

fn marker_text() -> String {
    format!("{SUITE} {}\n", PACKAGES.join(" "))
}

/// An exclusive `flock` on `path`, waited for; released when the file closes.
fn lock_exclusive(path: &Path) -> Result<fs::File> {
    use std::os::fd::AsRawFd;
    extern "C" {
        fn flock(fd: i32, operation: i32) -> i32;
    }
    const LOCK_EX: i32 = 2;
    const LOCK_NB: i32 = 4;
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    let file = fs::OpenOptions::new().create(true).truncate(false).write(true).open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    // SAFETY: flock only reads the descriptor, which `file` keeps open.
    if unsafe { flock(file.as_raw_fd(), LOCK_EX | LOCK_NB) } != 0 {
        eprintln!("xtask: another Swift run holds {}; waiting for it", path.display());
        // SAFETY: as above.
        if unsafe { flock(file.as_raw_fd(), LOCK_EX) } != 0 {
            return Err(format!("{}: {}", path.display(), std::io::Error::last_os_error()));
        }
    }
    Ok(file)
}

/// Mounts made for one run; unmounted in reverse order on drop, whatever happened.
struct Mounts {
    points: Vec<PathBuf>,
}

impl Drop for Mounts {
    fn drop(&mut self) {
        while let Some(point) = self.points.pop() {
            if let Err(e) = unmount(&point) {
                eprintln!("xtask: {e}");
            }
        }
    }
}

fn unmount(point: &Path) -> Result<()> {
    let ok = |c: &mut Command| c.stderr(Stdio::null()).status().is_ok_and(|s| s.success());
    if ok(Command::new("umount").arg(point)) {
        return Ok(());
    }
    // Busy (a process left behind): detach it now, the kernel finishes later.
    if ok(Command::new("umount").arg("--lazy").arg(point)) {
        return Ok(());
    }
    Err(format!("could not unmount {}: see `mount | grep {}`", point.display(), point.display()))
}

/// Mount points at or below `dir`, deepest first.
fn mounts_under(dir: &Path) -> Result<Vec<PathBuf>> {
    let Ok(dir) = dir.canonicalize() else { return Ok(Vec::new()) };
    let table = fs::read_to_string("/proc/self/mountinfo").map_err(|e| format!("/proc/self/mountinfo: {e}"))?;
    let mut points: Vec<PathBuf> =
        table.lines().filter_map(|l| l.split(' ').nth(4)).map(|p| PathBuf::from(unescape_mount_path(p))).filter(|p| p.starts_with(&dir)).collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    points.dedup();
    Ok(points)
}

/// mountinfo writes space, tab, newline and backslash as `\ooo`.
fn unescape_mount_path(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c)) {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Removes mounts a killed run left in the chroot.
fn unmount_all_under(dir: &Path) -> Result<()> {
    for point in mounts_under(dir)? {
        eprintln!("xtask: unmounting {} (left by an interrupted run)", point.display());
        unmount(&point)?;
    }
    Ok(())
}

/// Deletes a chroot directory, never following a mount into the host's
/// /dev, /proc or /sys: it refuses while anything is mounted below, and rm
/// stays on one file system besides.
fn remove_tree(dir: &Path) -> Result<()> {
    unmount_all_under(dir)?;
    let left = mounts_under(dir)?;
    if !left.is_empty() {
        return Err(format!("refusing to delete {}: still mounted: {left:?}", dir.display()));
    }
    run(Command::new("rm").args(["-rf", "--one-file-system"]).arg(dir))
}

/// The Debian mirror apt already uses on this machine.
fn debian_mirror() -> Result<String> {
    if let Ok(m) = std::env::var("MESURE_DEBIAN_MIRROR") {
        return Ok(m);
    }
    let mut texts = Vec::new();
    if let Ok(t) = fs::read_to_string("/etc/apt/sources.list") {
        texts.push(t);
    }
    if let Ok(entries) = fs::read_dir("/etc/apt/sources.list.d") {
        let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            if p.extension().is_some_and(|x| x == "list" || x == "sources") {
                if let Ok(t) = fs::read_to_string(&p) {
                    texts.push(t);
                }
            }
        }
    }
    texts
        .iter()
        .flat_map(|t| t.lines())
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .flat_map(|l| {
            // deb822 `URIs: a b`, or one-line `deb [opts] URI suite ...`.
            if let Some(uris) = l.strip_prefix("URIs:") {
                uris.split_whitespace().map(str::to_owned).collect::<Vec<_>>()
            } else if l.starts_with("deb ") {
                l.split_whitespace().filter(|w| w.contains("://")).take(1).map(str::to_owned).collect()
            } else {
                Vec::new()
            }
        })
        .find(|u| u.trim_end_matches('/').ends_with("/debian"))
        .ok_or_else(|| "no Debian mirror in /etc/apt/sources.list{,.d}: set MESURE_DEBIAN_MIRROR".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_xctest_summary() {
        assert_eq!(xctest_summary("\t Executed 27 tests, with 0 failures (0 unexpected) in 3.2 (3.2) seconds"), Some((27, 0)));
        assert_eq!(xctest_summary("Executed 1 test, with 1 failure (0 unexpected) in 0.1 (0.1) seconds"), Some((1, 1)));
        assert_eq!(xctest_summary("Test Suite 'All tests' passed"), None);
    }

    #[test]
    fn takes_the_summary_of_all_tests_only() {
        let out = "Test Suite 'A' passed at x\n\t Executed 3 tests, with 0 failures (0 unexpected) in 1 (1) seconds\n\
                   Test Suite 'All tests' failed at x\n\t Executed 29 tests, with 2 failures (0 unexpected) in 4 (4) seconds\n";
        assert_eq!(final_summary(out.as_bytes(), false), Some((29, 2)));
        let crashed = "Test Suite 'A' passed at x\n\t Executed 3 tests, with 0 failures (0 unexpected) in 1 (1) seconds\n";
        assert_eq!(final_summary(crashed.as_bytes(), false), None);
    }

    #[test]
    fn swift_package_overwrites_no_manifest_of_another() {
        let dir = std::env::temp_dir().join(format!("mesure-swift-package-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("Package.swift"), "// someone's package\n").unwrap();
        let refused = write_linux_package(&dir, Path::new("/nonexistent"), Path::new("/nonexistent")).unwrap_err();
        assert!(refused.contains("not a package `cargo xtask swift-package` made"), "{refused}");
        assert_eq!(fs::read_to_string(dir.join("Package.swift")).unwrap(), "// someone's package\n");
        let ours = fs::read_to_string(root().join("ios/linux-package/Package.swift")).unwrap();
        assert!(ours.contains(LINUX_MANIFEST_MARK), "the manifest must carry the mark it is recognised by");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unescapes_mount_paths() {
        assert_eq!(unescape_mount_path("/a\\040b/c"), "/a b/c");
        assert_eq!(unescape_mount_path("/plain"), "/plain");
    }
}
