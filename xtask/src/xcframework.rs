//! `cargo xtask xcframework`: builds `ios/MesureFFI.xcframework` (the Rust
//! core, static, per Apple platform), copies the generated Swift bindings
//! into `ios/Sources/MesureBindings`, zips the xcframework and prints its
//! SwiftPM checksum. `cargo xtask xcframework-manifest <url> <checksum>`
//! then writes both into the root `Package.swift` (the release step).
//!
//! The plan is data ([`plan`]): a pure function of the paths, unit-tested
//! here on Linux. It is executed only on macOS with Xcode; elsewhere it is
//! printed, as [`release_commands`] prints it for a release.
//!
//! Slices: iOS device; iOS simulator, Mac Catalyst and macOS (for `swift
//! test` and Mac apps), each arm64 and x86_64 lipo'd together. The
//! mobile build of the library (`--no-default-features --features
//! platform-sqlite`): no Rust HTTP client, uploads go through URLSession;
//! the system's SQLite, which the app links (Package.swift). The C header and its module map
//! sit in `Headers/mesure_ffiFFI/`, not at the top of `Headers/`: Xcode
//! copies every static xcframework's headers into one `include/` directory,
//! where two `module.modulemap` of two Rust libraries collide.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{have, output, root, run, target_dir, Result};

/// The module the generated Swift imports (`import mesure_ffiFFI`).
pub const FFI_MODULE: &str = "mesure_ffiFFI";
/// The static library of every Apple target.
pub const LIB: &str = "libmesure_ffi.a";
/// Keep in step with `platforms:` in Package.swift. The library calls the
/// system's SQLite: iOS 16 is the first to ship the 3.38 it needs
/// (`ios_slice.rs` checks it), macOS 13 its contemporary.
pub const IOS_DEPLOYMENT_TARGET: &str = "16.0";
const MACOS_DEPLOYMENT_TARGET: &str = "13.0";

/// One library of the xcframework: a platform, and the Rust targets lipo'd into it.
pub struct Slice {
    pub name: &'static str,
    pub targets: &'static [&'static str],
}

pub const SLICES: [Slice; 4] = [
    Slice { name: "ios", targets: &["aarch64-apple-ios"] },
    Slice { name: "ios-simulator", targets: &["aarch64-apple-ios-sim", "x86_64-apple-ios"] },
    Slice { name: "ios-macabi", targets: &["aarch64-apple-ios-macabi", "x86_64-apple-ios-macabi"] },
    Slice { name: "macos", targets: &["aarch64-apple-darwin", "x86_64-apple-darwin"] },
];

/// Where things are read and written.
pub struct Layout {
    /// The repository.
    pub root: PathBuf,
    /// Cargo's target directory.
    pub target: PathBuf,
}

impl Layout {
    pub fn here() -> Layout {
        Layout { root: root(), target: target_dir() }
    }
    fn work(&self) -> PathBuf {
        self.target.join("xcframework")
    }
    fn headers(&self) -> PathBuf {
        self.work().join("headers")
    }
    pub fn xcframework(&self) -> PathBuf {
        self.root.join("ios/MesureFFI.xcframework")
    }
    pub fn zip(&self) -> PathBuf {
        self.work().join("MesureFFI.xcframework.zip")
    }
    fn generated(&self) -> PathBuf {
        self.target.join("bindings/swift")
    }
    fn privacy_manifest(&self) -> PathBuf {
        self.root.join("ios/Sources/Mesure/PrivacyInfo.xcprivacy")
    }
}

/// One step of the plan.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Run {
        program: String,
        args: Vec<String>,
        env: Vec<(String, String)>,
    },
    RemoveDir(PathBuf),
    CreateDir(PathBuf),
    Copy {
        from: PathBuf,
        to: PathBuf,
    },
    Write {
        path: PathBuf,
        contents: String,
    },
    /// `nm -u` on these libraries: every required-reason API category they
    /// use must be declared in the privacy manifest (see [`privacy_problems`]).
    CheckPrivacy {
        libs: Vec<PathBuf>,
        manifest: PathBuf,
    },
}

fn cmd(program: &str, args: &[&str]) -> Step {
    Step::Run { program: program.into(), args: args.iter().map(|a| (*a).to_owned()).collect(), env: Vec::new() }
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

/// Every step, in order.
pub fn plan(l: &Layout) -> Vec<Step> {
    let mut steps = Vec::new();
    let targets: Vec<&str> = SLICES.iter().flat_map(|s| s.targets.iter().copied()).collect();
    steps.push(cmd("rustup", &[&["target", "add"][..], &targets[..]].concat()));
    let manifest = path(&l.root.join("Cargo.toml"));
    for t in &targets {
        steps.push(Step::Run {
            program: "cargo".into(),
            args: [
                "build",
                "--manifest-path",
                &manifest,
                "--release",
                "-p",
                "mesure-ffi",
                "--no-default-features",
                "--features",
                "platform-sqlite",
                "--target",
                *t,
            ]
            .map(str::to_owned)
            .to_vec(),
            env: vec![
                ("IPHONEOS_DEPLOYMENT_TARGET".into(), IOS_DEPLOYMENT_TARGET.into()),
                ("MACOSX_DEPLOYMENT_TARGET".into(), MACOS_DEPLOYMENT_TARGET.into()),
            ],
        });
    }
    // The bindings come from a host build: the UniFFI metadata is the same for every target.
    steps.push(cmd("cargo", &["xtask", "bindings", "swift"]));

    let module_dir = l.headers().join(FFI_MODULE);
    steps.push(Step::RemoveDir(l.work()));
    steps.push(Step::CreateDir(module_dir.clone()));
    let header = format!("{FFI_MODULE}.h");
    steps.push(Step::Copy { from: l.generated().join(&header), to: module_dir.join(&header) });
    // Written here rather than copied from uniffi's: no `link` line (the
    // binary target links the static library itself), and none of its `use`
    // lines naming Clang's builtin modules, which recent Xcodes no longer have.
    steps.push(Step::Write {
        path: module_dir.join("module.modulemap"),
        contents: format!("module {FFI_MODULE} {{\n    header \"{header}\"\n    export *\n}}\n"),
    });

    let slice_lib = |s: &Slice| l.work().join(s.name).join(LIB);
    for s in &SLICES {
        steps.push(Step::CreateDir(l.work().join(s.name)));
        let libs: Vec<PathBuf> = s.targets.iter().map(|t| l.target.join(t).join("release").join(LIB)).collect();
        if let [only] = libs.as_slice() {
            steps.push(Step::Copy { from: only.clone(), to: slice_lib(s) });
        } else {
            let mut args = vec!["-create".to_owned()];
            args.extend(libs.iter().map(|p| path(p)));
            args.extend(["-output".to_owned(), path(&slice_lib(s))]);
            steps.push(Step::Run { program: "lipo".into(), args, env: Vec::new() });
        }
    }
    steps.push(Step::CheckPrivacy {
        libs: SLICES.iter().filter(|s| matches!(s.name, "ios" | "macos")).map(slice_lib).collect(),
        manifest: l.privacy_manifest(),
    });

    steps.push(Step::RemoveDir(l.xcframework()));
    let mut args = vec!["-create-xcframework".to_owned()];
    for s in &SLICES {
        args.extend(["-library".to_owned(), path(&slice_lib(s)), "-headers".to_owned(), path(&l.headers())]);
    }
    args.extend(["-output".to_owned(), path(&l.xcframework())]);
    steps.push(Step::Run { program: "xcodebuild".into(), args, env: Vec::new() });

    let bindings = l.root.join("ios/Sources/MesureBindings");
    steps.push(Step::CreateDir(bindings.clone()));
    steps.push(Step::Copy { from: l.generated().join("MesureFFI.swift"), to: bindings.join("MesureFFI.swift") });

    // ditto keeps the bundle as Xcode expects it (what `Compress` in Finder does).
    steps.push(cmd("ditto", &["-c", "-k", "--sequesterRsrc", "--keepParent", &path(&l.xcframework()), &path(&l.zip())]));
    steps.push(cmd("swift", &["package", "compute-checksum", &path(&l.zip())]));
    steps
}

/// Shell-like, for printing.
impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let quote = |s: &str| {
            if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:+@,".contains(c)) {
                s.to_owned()
            } else {
                format!("'{}'", s.replace('\'', r"'\''"))
            }
        };
        match self {
            Step::Run { program, args, env } => {
                for (k, v) in env {
                    write!(f, "{k}={} ", quote(v))?;
                }
                write!(f, "{program}")?;
                for a in args {
                    write!(f, " {}", quote(a))?;
                }
                Ok(())
            }
            Step::RemoveDir(p) => write!(f, "rm -rf {}", quote(&path(p))),
            Step::CreateDir(p) => write!(f, "mkdir -p {}", quote(&path(p))),
            Step::Copy { from, to } => write!(f, "cp {} {}", quote(&path(from)), quote(&path(to))),
            Step::Write { path: p, contents } => write!(f, "cat > {} <<'EOF'\n{contents}EOF", quote(&path(p))),
            Step::CheckPrivacy { libs, manifest } => write!(
                f,
                "# check: `nm -u {}` uses no required-reason API undeclared in {}",
                libs.iter().map(|p| path(p)).collect::<Vec<_>>().join(" "),
                path(manifest)
            ),
        }
    }
}

/// Required-reason API categories and the symbols that need them (Apple's
/// list, as the static library's `nm -u` spells them, `_` prefix dropped).
const PRIVACY_CATEGORIES: [(&str, &[&str]); 3] = [
    (
        "NSPrivacyAccessedAPICategoryFileTimestamp",
        &["stat", "fstat", "fstatat", "lstat", "getattrlist", "getattrlistbulk", "fgetattrlist", "getattrlistat"],
    ),
    ("NSPrivacyAccessedAPICategoryDiskSpace", &["statfs", "fstatfs", "statvfs", "fstatvfs"]),
    ("NSPrivacyAccessedAPICategorySystemBootTime", &["mach_absolute_time"]),
];

/// Checks `nm -u` output against the privacy manifest: errors for a used
/// category not declared (App Store Connect rejects the app, ITMS-91053),
/// warnings for a declared category no symbol needs any more.
pub fn privacy_problems(nm_undefined: &str, manifest: &str) -> (Vec<String>, Vec<String>) {
    let symbols: Vec<&str> = nm_undefined
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .map(|s| s.strip_prefix('_').unwrap_or(s))
        .map(|s| s.strip_suffix("$INODE64").unwrap_or(s))
        .collect();
    let (mut errors, mut warnings) = (Vec::new(), Vec::new());
    for (category, names) in PRIVACY_CATEGORIES {
        let mut used: Vec<&str> = symbols.iter().copied().filter(|s| names.contains(s)).collect();
        used.sort_unstable();
        used.dedup();
        let declared = manifest.contains(&format!("<string>{category}</string>"));
        if !used.is_empty() && !declared {
            errors.push(format!("the library uses {} ({category}) but the privacy manifest does not declare it", used.join(", ")));
        } else if used.is_empty() && declared {
            warnings.push(format!("the privacy manifest declares {category} but no symbol needs it: declare only what is used"));
        }
    }
    (errors, warnings)
}

fn execute(step: &Step) -> Result<()> {
    let io = |p: &Path, e: std::io::Error| format!("{}: {e}", p.display());
    match step {
        Step::Run { program, args, env } => {
            let mut c = Command::new(program);
            c.args(args).current_dir(root());
            for (k, v) in env {
                c.env(k, v);
            }
            run(&mut c)
        }
        Step::RemoveDir(p) => match std::fs::remove_dir_all(p) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(p, e)),
            _ => Ok(()),
        },
        Step::CreateDir(p) => std::fs::create_dir_all(p).map_err(|e| io(p, e)),
        Step::Copy { from, to } => std::fs::copy(from, to).map(drop).map_err(|e| io(from, e)),
        Step::Write { path, contents } => std::fs::write(path, contents).map_err(|e| io(path, e)),
        Step::CheckPrivacy { libs, manifest } => {
            let symbols = output(Command::new("nm").arg("-u").args(libs))?;
            let text = std::fs::read_to_string(manifest).map_err(|e| io(manifest, e))?;
            let (errors, warnings) = privacy_problems(&symbols, &text);
            warnings.iter().for_each(|w| eprintln!("xtask: warning: {w}"));
            if errors.is_empty() {
                Ok(())
            } else {
                Err(errors.join("\n"))
            }
        }
    }
}

/// The plan as commands, for a release run on a Mac.
pub fn release_commands(l: &Layout) -> Vec<String> {
    let mut lines: Vec<String> = plan(l).iter().map(ToString::to_string).collect();
    lines.push(format!(
        "cargo xtask xcframework-manifest <release URL of {}> <the checksum printed above>",
        l.zip().file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    ));
    lines.push("git add -f ios/Sources/MesureBindings/MesureFFI.swift Package.swift".into());
    lines
}

/// `cargo xtask xcframework [--print]`: runs the plan on macOS with Xcode;
/// prints it (with the release's last steps) with `--print` or elsewhere.
pub fn xcframework(print_only: bool) -> Result<()> {
    let l = Layout::here();
    let can_run = cfg!(target_os = "macos") && have("xcodebuild");
    if print_only || !can_run {
        if !can_run {
            eprintln!("xtask: the xcframework needs macOS with Xcode (xcodebuild, lipo, the Apple SDKs); not run. The plan:");
        }
        for line in release_commands(&l) {
            println!("{line}");
        }
        return Ok(());
    }
    let steps = plan(&l);
    for s in &steps {
        eprintln!("xtask: {s}");
        execute(s)?;
    }
    eprintln!("xtask: built {} and {}", l.xcframework().display(), l.zip().display());
    Ok(())
}

/// Sets the binary target's `url:` and `checksum:` in the root Package.swift
/// (the lines marked `// release:`), leaving everything else as it is.
pub fn fill_manifest(manifest: &str, url: &str, checksum: &str) -> Result<String> {
    if !checksum.chars().all(|c| c.is_ascii_hexdigit()) || checksum.len() != 64 {
        return Err(format!("not a SwiftPM checksum (64 hex digits): {checksum:?}"));
    }
    if !url.starts_with("https://") || url.contains('"') {
        return Err(format!("not an https URL: {url:?}"));
    }
    let (mut urls, mut sums) = (0, 0);
    let mut out = String::with_capacity(manifest.len());
    for line in manifest.split_inclusive('\n') {
        let indent = &line[..line.len() - line.trim_start().len()];
        if line.contains("// release: url") {
            urls += 1;
            out.push_str(&format!("{indent}url: \"{url}\", // release: url\n"));
        } else if line.contains("// release: checksum") {
            sums += 1;
            out.push_str(&format!("{indent}checksum: \"{checksum}\" // release: checksum\n"));
        } else {
            out.push_str(line);
        }
    }
    if (urls, sums) != (1, 1) {
        return Err(format!("Package.swift must have one `// release: url` and one `// release: checksum` line (found {urls} and {sums})"));
    }
    Ok(out)
}

/// `cargo xtask xcframework-manifest <url> <checksum>`.
pub fn write_manifest(url: &str, checksum: &str) -> Result<()> {
    let p = root().join("Package.swift");
    let text = std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
    std::fs::write(&p, fill_manifest(&text, url, checksum)?).map_err(|e| format!("{}: {e}", p.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> Layout {
        Layout { root: PathBuf::from("/repo"), target: PathBuf::from("/repo/target") }
    }

    fn runs(steps: &[Step], program: &str) -> Vec<Vec<String>> {
        steps
            .iter()
            .filter_map(|s| match s {
                Step::Run { program: p, args, .. } if p == program => Some(args.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn builds_every_slice_with_mac_catalyst() {
        let steps = plan(&layout());
        let built: Vec<String> = runs(&steps, "cargo").iter().filter(|a| a[0] == "build").map(|a| a.last().cloned().unwrap_or_default()).collect();
        assert_eq!(
            built,
            [
                "aarch64-apple-ios",
                "aarch64-apple-ios-sim",
                "x86_64-apple-ios",
                "aarch64-apple-ios-macabi",
                "x86_64-apple-ios-macabi",
                "aarch64-apple-darwin",
                "x86_64-apple-darwin"
            ]
        );
        assert!(runs(&steps, "cargo").iter().filter(|a| a[0] == "build").all(|a| a.contains(&"--no-default-features".to_owned())));
        let lipos = runs(&steps, "lipo");
        assert_eq!(lipos.len(), 3, "simulator, Catalyst and macOS are fat; the device slice is one architecture");
        assert_eq!(
            lipos[1],
            [
                "-create",
                "/repo/target/aarch64-apple-ios-macabi/release/libmesure_ffi.a",
                "/repo/target/x86_64-apple-ios-macabi/release/libmesure_ffi.a",
                "-output",
                "/repo/target/xcframework/ios-macabi/libmesure_ffi.a"
            ]
        );
    }

    #[test]
    fn the_module_map_sits_in_its_own_headers_subdirectory() {
        let steps = plan(&layout());
        let write = steps.iter().find_map(|s| match s {
            Step::Write { path, contents } => Some((path.clone(), contents.clone())),
            _ => None,
        });
        let (path, contents) = write.expect("a module map is written");
        assert_eq!(path, PathBuf::from("/repo/target/xcframework/headers/mesure_ffiFFI/module.modulemap"));
        assert_eq!(contents, "module mesure_ffiFFI {\n    header \"mesure_ffiFFI.h\"\n    export *\n}\n");
        assert!(steps.contains(&Step::Copy {
            from: PathBuf::from("/repo/target/bindings/swift/mesure_ffiFFI.h"),
            to: PathBuf::from("/repo/target/xcframework/headers/mesure_ffiFFI/mesure_ffiFFI.h"),
        }));
        // Each library is given the headers root, which holds only the module's directory.
        let xcodebuild = &runs(&steps, "xcodebuild")[0];
        assert_eq!(xcodebuild.iter().filter(|a| *a == "/repo/target/xcframework/headers").count(), 4);
        assert_eq!(xcodebuild.iter().filter(|a| *a == "-library").count(), 4);
        assert_eq!(xcodebuild.last().map(String::as_str), Some("/repo/ios/MesureFFI.xcframework"));
    }

    #[test]
    fn ends_with_the_zip_and_its_checksum() {
        let steps = plan(&layout());
        let n = steps.len();
        assert_eq!(steps[n - 1].to_string(), "swift package compute-checksum /repo/target/xcframework/MesureFFI.xcframework.zip");
        assert!(steps[n - 2].to_string().starts_with("ditto -c -k --sequesterRsrc --keepParent /repo/ios/MesureFFI.xcframework "));
        let position = |want: &str| steps.iter().position(|s| s.to_string().starts_with(want));
        assert!(position("xcodebuild") < position("ditto"), "zipped once built");
        assert!(position("# check:") < position("xcodebuild"), "the privacy check runs before the xcframework is made");
    }

    #[test]
    fn prints_as_shell_commands() {
        let step = Step::Run {
            program: "cargo".into(),
            args: vec!["build".into(), "a b".into()],
            env: vec![("IPHONEOS_DEPLOYMENT_TARGET".into(), "15.0".into())],
        };
        assert_eq!(step.to_string(), "IPHONEOS_DEPLOYMENT_TARGET=15.0 cargo build 'a b'");
        let lines = release_commands(&layout());
        assert!(lines.iter().any(|l| l.starts_with("cargo xtask xcframework-manifest")));
        assert_eq!(lines.len(), plan(&layout()).len() + 2);
    }

    #[test]
    fn privacy_check_finds_undeclared_and_stale_categories() {
        let nm = "                 U _fstat$INODE64\n                 U _statfs\n                 U _memcpy\n";
        let declared = "<string>NSPrivacyAccessedAPICategoryFileTimestamp</string>";
        let (errors, warnings) = privacy_problems(nm, declared);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].contains("statfs") && errors[0].contains("DiskSpace"), "{errors:?}");
        assert!(warnings.is_empty());
        let both = "<string>NSPrivacyAccessedAPICategoryFileTimestamp</string><string>NSPrivacyAccessedAPICategoryDiskSpace</string>\
                    <string>NSPrivacyAccessedAPICategorySystemBootTime</string>";
        let (errors, warnings) = privacy_problems(nm, both);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("SystemBootTime"));
    }

    #[test]
    fn fills_the_release_lines_of_the_manifest() {
        let manifest = "let x = 1\n        .binaryTarget(\n            name: \"MesureFFI\",\n            url: \"https://example.invalid/placeholder.zip\", // release: url\n            checksum: \"0000\" // release: checksum\n        )\n";
        let sum = "a".repeat(64);
        let filled =
            fill_manifest(manifest, "https://github.com/o/mesure/releases/download/1.0.0/MesureFFI.xcframework.zip", &sum).unwrap_or_default();
        assert!(
            filled.contains("            url: \"https://github.com/o/mesure/releases/download/1.0.0/MesureFFI.xcframework.zip\", // release: url\n")
        );
        assert!(filled.contains(&format!("            checksum: \"{sum}\" // release: checksum\n")));
        assert!(filled.starts_with("let x = 1\n") && filled.ends_with("        )\n"));
        assert!(fill_manifest(manifest, "https://x", "not-hex").is_err());
        assert!(fill_manifest(manifest, "http://x", &sum).is_err());
        assert!(fill_manifest("no markers\n", "https://x", &sum).is_err());
    }

    #[test]
    fn the_root_manifest_has_the_release_markers() {
        let text = std::fs::read_to_string(root().join("Package.swift")).unwrap_or_default();
        assert!(fill_manifest(&text, "https://example.com/MesureFFI.xcframework.zip", &"0".repeat(64)).is_ok());
        assert!(text.contains("linkedLibrary(\"sqlite3\""), "the library calls the system's SQLite: the package links it");
        assert!(text.contains(&format!(".iOS(.v{})", IOS_DEPLOYMENT_TARGET.trim_end_matches(".0"))), "platforms: in step with IOS_DEPLOYMENT_TARGET");
    }
}
