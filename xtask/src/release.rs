//! `cargo xtask release`: everything of a release that this machine can
//! build, with SHA-256 checksums, and the exact commands for the rest.
//!
//! Built here, into `target/release-artifacts/<version>/`:
//! - `mesure-core-<version>.crate`: `cargo package` (which builds the
//!   packaged sources on their own, so a file missing from the package
//!   fails here rather than for the first user);
//! - `libmesure_ffi-linux-x86_64.so` and `libmesure_ffi-linux-x86_64-mobile.so`:
//!   the desktop library (with the Rust HTTP client) and the mobile
//!   variant (without), release profile, stripped;
//! - `mesure-jvm-<version>.jar`: the wrapper and its generated bindings,
//!   compiled, with the desktop library at `linux-x86-64/` where JNA looks
//!   on the class path, so `java -cp mesure-jvm.jar:jna.jar:...` needs no
//!   `jna.library.path`; and `mesure-jvm-<version>-sources.jar`;
//! - `SHA256SUMS`.
//!
//! Printed for the JVM jar: the jars it was compiled against (JNA,
//! kotlin-stdlib, kotlinx-coroutines), their versions read from the jars
//! themselves, the classpath, and the `kotlinc` and `java` lines that
//! compile and run an app against it.
//!
//! Printed, for a machine with the Android SDK and NDK, and for a Mac with
//! Xcode: the AAR's Gradle commands and the XCFramework's plan
//! (`xcframework.rs`), with the step that writes the zip's checksum into
//! the root `Package.swift`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{cargo, have, output, root, run, target_dir, Result};
use crate::{bindings, kotlin, xcframework};

/// The workspace's version (xtask's own is the workspace's).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

pub fn release() -> Result<()> {
    let out = target_dir().join("release-artifacts").join(VERSION);
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut artifacts: Vec<PathBuf> = Vec::new();

    // The crate, packaged and built from its package alone.
    run(cargo().args(["package", "-p", "mesure-core", "--allow-dirty"]))?;
    let krate = target_dir().join("package").join(format!("mesure-core-{VERSION}.crate"));
    artifacts.push(copy(&krate, &out.join(krate.file_name().unwrap_or_default()))?);

    // The native libraries: mobile first (it is overwritten by the desktop build).
    let lib = bindings::lib_file_name();
    let release_lib = target_dir().join("release").join(lib);
    run(cargo().args(["build", "--release", "-p", "mesure-ffi", "--no-default-features", "--features", "bundled-sqlite"]))?;
    let mobile = copy(&release_lib, &out.join("libmesure_ffi-linux-x86_64-mobile.so"))?;
    strip(&mobile)?;
    artifacts.push(mobile);
    run(cargo().args(["build", "--release", "-p", "mesure-ffi"]))?;
    let desktop = copy(&release_lib, &out.join("libmesure_ffi-linux-x86_64.so"))?;
    strip(&desktop)?;
    artifacts.push(desktop.clone());

    // The JVM jar: the classes test-kotlin compiles, and the desktop library where JNA finds it.
    let [ffi, wrapper] = kotlin::compile_for_listing()?;
    let staging = target_dir().join("release-jar");
    let _ = std::fs::remove_dir_all(&staging);
    let native = staging.join("linux-x86-64");
    std::fs::create_dir_all(&native).map_err(|e| format!("{}: {e}", native.display()))?;
    copy(&desktop, &native.join(lib))?;
    let jar = out.join(format!("mesure-jvm-{VERSION}.jar"));
    run(Command::new("jar")
        .arg("--create")
        .arg("--file")
        .arg(&jar)
        .arg("-C")
        .arg(&ffi)
        .arg(".")
        .arg("-C")
        .arg(&wrapper)
        .arg(".")
        .arg("-C")
        .arg(&staging)
        .arg("."))?;
    artifacts.push(jar);
    let sources = out.join(format!("mesure-jvm-{VERSION}-sources.jar"));
    let generated = bindings::generate("kotlin")?;
    run(Command::new("jar")
        .arg("--create")
        .arg("--file")
        .arg(&sources)
        .arg("-C")
        .arg(&generated)
        .arg(".")
        .arg("-C")
        .arg(root().join("android/src/main/kotlin"))
        .arg("eu/mesure"))?;
    artifacts.push(sources);

    // Checksums, in sha256sum's format (`sha256sum -c SHA256SUMS` checks them).
    let mut sums = String::new();
    for a in &artifacts {
        let line = output(Command::new("sha256sum").arg(a.file_name().unwrap_or_default()).current_dir(&out))?;
        sums.push_str(&line);
        if !line.ends_with('\n') {
            sums.push('\n');
        }
    }
    std::fs::write(out.join("SHA256SUMS"), &sums).map_err(|e| e.to_string())?;

    println!("Mesure {VERSION}: built here, in {}", out.display());
    println!();
    for a in &artifacts {
        let size = std::fs::metadata(a).map(|m| m.len()).unwrap_or(0);
        println!("  {:<48} {:>10} bytes", a.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(), size);
    }
    println!();
    println!("SHA256SUMS:");
    print!("{sums}");
    println!();
    let home = kotlin::kotlin_home()?;
    let dependencies = jvm_dependencies(&home);
    for line in jvm_usage(&out.join(format!("mesure-jvm-{VERSION}.jar")), &dependencies, &kotlinc_version(&home)) {
        println!("{line}");
    }
    println!();
    println!("Not built here (no Android SDK or NDK, no Xcode). On a machine with them:");
    println!();
    for line in android_commands() {
        println!("  {line}");
    }
    println!();
    for line in xcframework::release_commands(&xcframework::Layout::here()) {
        println!("  {line}");
    }
    println!();
    println!(
        "Then: tag v{VERSION}, attach the files above, the AAR and MesureFFI.xcframework.zip to the release, and `cargo publish -p mesure-core`."
    );
    Ok(())
}

/// The AAR and its publication, on a machine with the Android SDK and NDK (android/README.md).
pub fn android_commands() -> Vec<String> {
    vec![
        "# Android (ANDROID_HOME with platform 35 and NDK r27+; cargo install cargo-ndk):".into(),
        "rustup target add aarch64-linux-android armv7-linux-androideabi x86_64-linux-android i686-linux-android".into(),
        "(cd android && ./gradlew assembleRelease publishToMavenLocal)".into(),
        "cargo xtask check-16k android/build/outputs/aar/mesure-android-release.aar android/ffi/build/outputs/aar/mesure-android-ffi-release.aar"
            .into(),
        format!("sha256sum android/build/outputs/aar/*.aar android/ffi/build/outputs/aar/*.aar   # add to SHA256SUMS of {VERSION}"),
        "(cd android && ./gradlew publish)   # to the repository configured for eu.mesure, signed when signingKey is set".into(),
    ]
}

/// A jar the JVM jar was compiled against and needs at run time.
#[derive(Debug, Clone, PartialEq)]
pub struct JvmDependency {
    pub name: &'static str,
    /// Maven's `group:artifact` of the same jar.
    pub maven: &'static str,
    /// Read from the jar; "unknown" when it cannot be read.
    pub version: String,
    pub path: PathBuf,
}

/// JNA, kotlinx-coroutines and kotlin-stdlib, as `kotlin::compile_for_listing` compiles against them.
fn jvm_dependencies(home: &Path) -> Vec<JvmDependency> {
    let [jna, coroutines, stdlib] = kotlin::runtime_jars(home);
    let version = |jar: &Path, entry: &str, attribute: Option<&str>| -> String {
        let text = jar_entry(jar, entry).unwrap_or_default();
        let found = match attribute {
            Some(key) => manifest_attribute(&text, key),
            None => Some(text.trim().to_owned()).filter(|v| !v.is_empty()),
        };
        found.unwrap_or_else(|| "unknown".into())
    };
    vec![
        JvmDependency {
            name: "JNA",
            maven: "net.java.dev.jna:jna",
            version: version(&jna, "META-INF/MANIFEST.MF", Some("Bundle-Version")),
            path: jna.canonicalize().unwrap_or(jna),
        },
        JvmDependency {
            name: "kotlin-stdlib",
            maven: "org.jetbrains.kotlin:kotlin-stdlib",
            version: version(&stdlib, "META-INF/MANIFEST.MF", Some("Implementation-Version")),
            path: stdlib,
        },
        JvmDependency {
            name: "kotlinx-coroutines-core",
            maven: "org.jetbrains.kotlinx:kotlinx-coroutines-core-jvm",
            version: version(&coroutines, "META-INF/kotlinx_coroutines_core.version", None),
            path: coroutines,
        },
    ]
}

/// The version of the kotlinc that compiled the jar (its `build.txt`).
fn kotlinc_version(home: &Path) -> String {
    std::fs::read_to_string(home.join("build.txt")).map(|v| v.trim().to_owned()).unwrap_or_else(|_| "unknown".into())
}

/// One entry of a jar, through `unzip -p` (as `check-16k` reads an AAR).
fn jar_entry(jar: &Path, entry: &str) -> Option<String> {
    let out = Command::new("unzip").arg("-p").arg(jar).arg(entry).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A main attribute of a jar manifest (lines of 72 bytes at most, continued
/// on lines that start with a space).
fn manifest_attribute(manifest: &str, key: &str) -> Option<String> {
    let mut joined: Vec<String> = Vec::new();
    for line in manifest.lines() {
        match (line.strip_prefix(' '), joined.last_mut()) {
            (Some(rest), Some(last)) => last.push_str(rest),
            _ => joined.push(line.to_owned()),
        }
    }
    joined.iter().find_map(|l| l.strip_prefix(key)?.strip_prefix(':').map(|v| v.trim().to_owned()))
}

/// How to use the JVM jar: what it was compiled against, the classpath,
/// and the lines that compile and run an app (`App.kt`, `fun main()`, no
/// package) against it.
pub fn jvm_usage(jar: &Path, dependencies: &[JvmDependency], kotlinc: &str) -> Vec<String> {
    let mut classpath = vec![jar.display().to_string()];
    classpath.extend(dependencies.iter().map(|d| d.path.display().to_string()));
    let classpath = classpath.join(":");
    let mut lines = vec![format!(
        "The JVM jar (Linux x86-64: JNA loads the library it carries; JDK 17 or later) was compiled by kotlinc {kotlinc} against, and runs with:"
    )];
    for d in dependencies {
        lines.push(format!("  {:<24} {:<10} {}   (Maven: {}:{})", d.name, d.version, d.path.display(), d.maven, d.version));
    }
    lines.push(String::new());
    lines.push("Classpath:".into());
    lines.push(format!("  {classpath}"));
    lines.push(String::new());
    lines.push(format!("An app against it (App.kt: `import eu.mesure.*`, `fun main()`; kotlinc {kotlinc} or later):"));
    lines.push(format!("  kotlinc -jvm-target 17 -cp {classpath} App.kt -d app"));
    lines.push(format!("  java -cp app:{classpath} AppKt"));
    lines
}

fn copy(from: &Path, to: &Path) -> Result<PathBuf> {
    std::fs::copy(from, to).map_err(|e| format!("copy {} to {}: {e}", from.display(), to.display()))?;
    Ok(to.to_path_buf())
}

fn strip(file: &Path) -> Result<()> {
    if have("strip") {
        run(Command::new("strip").arg(file))
    } else {
        eprintln!("xtask: no strip on this machine; {} left unstripped", file.display());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_android_commands_check_every_aar_for_16k_pages() {
        let lines = android_commands();
        let check = lines.iter().find(|l| l.starts_with("cargo xtask check-16k")).expect("a 16 KB check");
        assert!(check.contains("mesure-android-release.aar") && check.contains("mesure-android-ffi-release.aar"));
        assert!(VERSION.split('.').count() == 3);
    }

    #[test]
    fn reads_a_manifest_attribute_continued_on_the_next_line() {
        let manifest = "Manifest-Version: 1.0\r\nBundle-Version: 5.13.0\r\nExport-Package:  com.sun.jna;version=\"5.13\r\n .0\"\r\n";
        assert_eq!(manifest_attribute(manifest, "Bundle-Version").as_deref(), Some("5.13.0"));
        assert_eq!(manifest_attribute(manifest, "Export-Package").as_deref(), Some("com.sun.jna;version=\"5.13.0\""));
        assert_eq!(manifest_attribute(manifest, "Bundle"), None);
    }

    #[test]
    fn the_jvm_usage_names_every_jar_on_one_classpath() {
        let dep = |name, maven, version: &str, path: &str| JvmDependency { name, maven, version: version.into(), path: PathBuf::from(path) };
        let deps = [
            dep("JNA", "net.java.dev.jna:jna", "5.13.0", "/usr/share/java/jna-5.13.0.jar"),
            dep("kotlin-stdlib", "org.jetbrains.kotlin:kotlin-stdlib", "2.4.20", "/k/lib/kotlin-stdlib.jar"),
        ];
        let lines = jvm_usage(Path::new("/out/mesure-jvm.jar"), &deps, "2.4.20");
        let cp = "/out/mesure-jvm.jar:/usr/share/java/jna-5.13.0.jar:/k/lib/kotlin-stdlib.jar";
        assert!(lines.iter().any(|l| l.contains("(Maven: net.java.dev.jna:jna:5.13.0)")));
        assert!(lines.contains(&format!("  kotlinc -jvm-target 17 -cp {cp} App.kt -d app")));
        assert!(lines.contains(&format!("  java -cp app:{cp} AppKt")));
    }
}
