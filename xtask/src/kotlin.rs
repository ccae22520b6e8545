//! The Kotlin suite: generated bindings + the Kotlin wrapper + JUnit tests,
//! compiled with kotlinc (and one Java test with javac) and run on the
//! desktop JVM against the host library. Installs what it needs: JNA,
//! JUnit 4, Hamcrest and Gson from Debian, kotlinc from the npm package
//! `kotlin-compiler` (cached outside the tree).
//!
//! Three compilations, as in the Gradle build: the generated bindings (no
//! explicit visibility: UniFFI does not write any), the wrapper against
//! them in explicit-API mode (so every public declaration is deliberate),
//! then the tests, which see the wrapper's internals as Gradle's unit tests
//! would. Two more compile as an app's code would be: `tests/kotlin/app`
//! (Kotlin, no access to the internals, nothing imported from the
//! generated package) and the Java test, with javac.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::bindings;
use crate::util::{apt_install, cache_dir, root, run, target_dir, CollectorProcess, Result};

const KOTLIN_COMPILER: &str = "kotlin-compiler@2.4.20";
const DEBIAN_JARS: [&str; 4] = ["jna", "junit4", "hamcrest", "gson"];
/// Compiled as an app's code: it may import nothing from the generated package.
const APP_TESTS: &str = "tests/kotlin/app";
const TEST_CLASSES: [&str; 15] = [
    "eu.mesure.tests.ConformanceTest",
    "eu.mesure.tests.MatcherTest",
    "eu.mesure.tests.RoundTripTest",
    "eu.mesure.tests.ModeFlowTest",
    "eu.mesure.tests.ErrorsTest",
    "eu.mesure.tests.ProcessGuardTest",
    "eu.mesure.tests.TrackingTest",
    "eu.mesure.tests.OrderTest",
    "eu.mesure.tests.LifecycleTest",
    "eu.mesure.tests.StrictTest",
    "eu.mesure.tests.SitesTest",
    "eu.mesure.tests.DiagnosticsTest",
    "eu.mesure.tests.ConsentPromptTest",
    "eu.mesure.tests.JavaApiTest",
    "eu.mesure.tests.app.AppImportsTest",
];

/// kotlinc's home (bin/, lib/), installed on first use.
pub fn kotlin_home() -> Result<PathBuf> {
    let dir = cache_dir().join("kotlin");
    let home = dir.join("node_modules/kotlin-compiler");
    if !home.join("bin/kotlinc").exists() {
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        run(Command::new("npm").args(["install", "--silent", "--no-audit", "--no-fund", "--prefix"]).arg(&dir).arg(KOTLIN_COMPILER))?;
    }
    Ok(home)
}

pub fn classpath(parts: &[PathBuf]) -> String {
    parts.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(":")
}

/// A jar of a Debian `lib*-java` package.
pub fn debian_jar(name: &str) -> PathBuf {
    PathBuf::from("/usr/share/java").join(format!("{name}.jar"))
}

/// kotlinc for JVM 17, compiling against `classpath` into `out`.
pub fn kotlinc(home: &Path, classpath: &[PathBuf], out: &Path) -> Command {
    let mut c = Command::new(home.join("bin/kotlinc"));
    c.args(["-jvm-target", "17", "-cp"]).arg(self::classpath(classpath)).arg("-d").arg(out);
    c
}

pub fn kotlin_sources(dir: &Path) -> Vec<PathBuf> {
    crate::util::files_with_extension(dir, "kt")
}

pub fn java_sources(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "java")).collect())
        .unwrap_or_default();
    out.sort();
    out
}

/// The wrapper's JVM-portable sources (the Android glue needs the Android SDK).
pub fn wrapper_sources() -> Vec<PathBuf> {
    kotlin_sources(&root().join("android/src/main/kotlin"))
        .into_iter()
        .filter(|p| !p.to_string_lossy().contains("/android/src/main/kotlin/eu/mesure/android/"))
        .collect()
}

/// The generated bindings and the wrapper, compiled under `out` (`ffi/`,
/// `wrapper/`); returns both class directories. `libs`: JNA, the Kotlin
/// standard library and kotlinx-coroutines.
pub fn compile_wrapper(home: &Path, libs: &[PathBuf], out: &Path) -> Result<[PathBuf; 2]> {
    let generated = bindings::generate("kotlin")?;
    let ffi = out.join("ffi");
    let wrapper = out.join("wrapper");
    for d in [&ffi, &wrapper] {
        let _ = std::fs::remove_dir_all(d);
    }
    // The generated code warns (unused parameters, redundant casts): not ours to fix.
    run(kotlinc(home, libs, &ffi).args(["-module-name", "mesure-ffi", "-nowarn"]).args(kotlin_sources(&generated)))?;
    run(kotlinc(home, &[libs, std::slice::from_ref(&ffi)].concat(), &wrapper)
        .args(["-module-name", "mesure-android", "-Xexplicit-api=strict", "-Werror"])
        .args(wrapper_sources()))?;
    Ok([ffi, wrapper])
}

/// What the wrapper and its bindings are compiled against and need at run
/// time: JNA (Debian's), kotlinx-coroutines and the Kotlin standard
/// library (both kotlinc's own).
pub fn runtime_jars(home: &Path) -> [PathBuf; 3] {
    [debian_jar("jna"), home.join("lib/kotlinx-coroutines-core-jvm.jar"), home.join("lib/kotlin-stdlib.jar")]
}

/// The generated bindings and the wrapper compiled on their own (for
/// `cargo xtask api` and the release's jar): the two class directories.
pub fn compile_for_listing() -> Result<[PathBuf; 2]> {
    apt_install(&["libjna-java"])?;
    let home = kotlin_home()?;
    compile_wrapper(&home, &runtime_jars(&home), &target_dir().join("kotlin-api"))
}

/// The Kotlin suite. `check_api` checks what the JVM sees of the compiled
/// bindings and wrapper (the caller passes `api.rs`'s check: this module
/// does not import `api.rs`, which imports it).
pub fn test(check_api: impl Fn(&[PathBuf]) -> Result<()>) -> Result<()> {
    apt_install(&["libjna-java", "junit4", "libhamcrest-java", "libgoogle-gson-java"])?;
    let home = kotlin_home()?;
    let root = root();
    let lib_dir = target_dir().join("debug");
    let out = target_dir().join("kotlin-tests");

    let mut deps: Vec<PathBuf> = DEBIAN_JARS.iter().map(|j| debian_jar(j)).collect();
    deps.push(home.join("lib/kotlinx-coroutines-core-jvm.jar"));
    let runtime = [home.join("lib/kotlin-stdlib.jar"), home.join("lib/kotlin-test.jar"), home.join("lib/kotlin-test-junit.jar")];
    let libs = [deps.clone(), runtime.to_vec()].concat();
    let [ffi, wrapper] = compile_wrapper(&home, &libs, &out)?;
    // What the JVM sees of both, as committed in api/kotlin.txt.
    check_api(&[ffi.clone(), wrapper.clone()])?;

    let tests = out.join("classes");
    let _ = std::fs::remove_dir_all(&tests);
    let compiled = [libs.clone(), vec![ffi.clone(), wrapper.clone()]].concat();
    run(kotlinc(&home, &compiled, &tests)
        .arg(format!("-Xfriend-paths={}", wrapper.display()))
        .args(kotlin_sources(&root.join("tests/kotlin")).into_iter().filter(|p| {
            let p = p.to_string_lossy();
            !p.contains("/tests/kotlin/bench/") && !p.contains(&format!("/{APP_TESTS}/"))
        }))
        .args(kotlin_sources(&root.join("examples/jvm"))))?;
    // An app's Kotlin: `import eu.mesure.*` only, no friend paths.
    let app_sources = kotlin_sources(&root.join(APP_TESTS));
    for source in &app_sources {
        let text = std::fs::read_to_string(source).map_err(|e| format!("{}: {e}", source.display()))?;
        if text.contains("eu.mesure.ffi") {
            return Err(format!(
                "{} names eu.mesure.ffi: an app's code imports eu.mesure.* only (alias the type in GeneratedTypes.kt)",
                source.display()
            ));
        }
    }
    let app = out.join("app");
    let _ = std::fs::remove_dir_all(&app);
    run(kotlinc(&home, &compiled, &app).args(&app_sources))?;
    // Java callers: compiled by javac against the wrapper alone, as an app's Java code would be.
    let java = out.join("java");
    let _ = std::fs::remove_dir_all(&java);
    run(Command::new("javac")
        .args(["-Xlint:all", "-Werror", "--release", "17", "-d"])
        .arg(&java)
        .arg("-cp")
        .arg(classpath(&[compiled.clone(), vec![tests.clone()]].concat()))
        .args(java_sources(&root.join("tests/kotlin"))))?;

    let collector = CollectorProcess::start()?;
    let cp = classpath(&[vec![tests, java, app], compiled].concat());
    let mut junit = Command::new("java");
    junit
        .current_dir(&root)
        .env("MESURE_COLLECTOR_URL", &collector.url)
        .env("MESURE_VECTORS_DIR", root.join("tests/vectors"))
        .arg(format!("-Djna.library.path={}", lib_dir.display()))
        .args(["-cp", &cp, "org.junit.runner.JUnitCore"])
        .args(TEST_CLASSES);
    run(&mut junit)?;

    // The JVM example must keep working: run it against the same collector.
    let mut example = Command::new("java");
    example.current_dir(&root).env("MESURE_COLLECTOR_URL", &collector.url).arg(format!("-Djna.library.path={}", lib_dir.display())).args([
        "-cp",
        &cp,
        "eu.mesure.example.MainKt",
    ]);
    run(&mut example)
}
