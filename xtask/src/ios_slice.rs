//! `cargo xtask ios-slice`, and a step of `test-rust`: the iOS device slice
//! (`aarch64-apple-ios`, the system's SQLite, no Rust HTTP client: the build
//! of the XCFramework's `ios` library) compiled on Linux, so that code behind
//! `cfg(target_os = "ios")` and the `system-sqlite` feature is compiled on
//! every change, not only on a Mac at release time.
//!
//! No Apple tool is needed: with the system's SQLite nothing is compiled
//! from C, and a static library is not linked. `cargo rustc --crate-type
//! staticlib` builds that alone (the crate also declares a `cdylib`, whose
//! link would need Apple's linker). `SDKROOT` names an empty directory
//! under the target directory: no SDK is read (rustc 1.95 builds the archive
//! without the variable too), but a build script that wants one (the `cc`
//! crate) takes it from there rather than from `xcrun`, absent off macOS.
//!
//! The archive is then compared with the Linux library (the debug host
//! build, as `bindings.rs` makes it): the same UniFFI functions exported,
//! none defined by the SQLite (the app links the system's `libsqlite3`).
//! GNU `nm` does not read Mach-O: the archive is read by `llvm-nm`, from
//! Debian's `llvm` (installed if missing, as root), with `--no-llvm-bc`:
//! the standard library's objects carry bitcode from the toolchain's newer
//! LLVM, which Debian's cannot parse; the Mach-O symbol table is what counts.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use crate::bindings;
use crate::cross;
use crate::util::{apt_install, cargo, output, run, target_dir, Result};
use crate::xcframework::{IOS_DEPLOYMENT_TARGET, LIB};

/// The Rust target of the iOS device slice.
pub const TARGET: &str = "aarch64-apple-ios";
/// The exported functions UniFFI generates for `mesure_ffi`: the API
/// (`uniffi_mesure_ffi_fn_*`, `uniffi_mesure_ffi_checksum_*`) and the
/// scaffolding (`ffi_mesure_ffi_rustbuffer_*`, `ffi_mesure_ffi_rust_future_*`).
pub const UNIFFI_PREFIXES: [&str; 2] = ["uniffi_", "ffi_mesure_ffi_"];
const SQLITE_PREFIX: &str = "sqlite3_";

pub fn check() -> Result<()> {
    cross::add_target(TARGET)?;
    let archive = build_archive()?;
    let ios = nm(mach_o_nm()?.args(["--no-llvm-bc", "-g"]).arg(&archive), true)?;

    let host_lib = bindings::build_library()?;
    let mut host_nm = Command::new("nm");
    if cfg!(target_os = "macos") {
        host_nm.args(["-g", "--defined-only"]);
    } else {
        host_nm.args(["-D", "--defined-only"]);
    }
    let host = nm(host_nm.arg(&host_lib), cfg!(target_os = "macos"))?;

    eprintln!("xtask: {}", verdict(&ios, &host.defined)?);
    Ok(())
}

/// Builds the static library of the device slice and returns its path.
fn build_archive() -> Result<PathBuf> {
    let sdk = target_dir().join("ios-slice/empty-sdk");
    std::fs::create_dir_all(&sdk).map_err(|e| format!("{}: {e}", sdk.display()))?;
    run(cargo()
        .args(["rustc", "-p", "mesure-ffi", "--release", "--target", TARGET, "--no-default-features", "--features", "system-sqlite"])
        .args(["--crate-type", "staticlib"])
        .env("SDKROOT", &sdk)
        .env("IPHONEOS_DEPLOYMENT_TARGET", IOS_DEPLOYMENT_TARGET))?;
    let archive = target_dir().join(TARGET).join("release").join(LIB);
    if archive.exists() {
        Ok(archive)
    } else {
        Err(format!("{} was not built", archive.display()))
    }
}

/// An `nm` that reads Mach-O archives: Xcode's on a Mac, Debian's `llvm-nm` elsewhere.
fn mach_o_nm() -> Result<Command> {
    if cfg!(target_os = "macos") {
        return Ok(Command::new("nm"));
    }
    apt_install(&["llvm"])?;
    Ok(Command::new("llvm-nm"))
}

fn nm(cmd: &mut Command, mach_o: bool) -> Result<Symbols> {
    let text = output(cmd)?;
    let symbols = Symbols::parse(&text, mach_o);
    if symbols.defined.is_empty() {
        return Err(format!("{cmd:?} listed no defined symbol"));
    }
    Ok(symbols)
}

/// The global symbols of a library, as `nm -g` lists them, named as the C
/// source spells them (Mach-O's leading underscore dropped).
#[derive(Debug, Default, PartialEq)]
pub struct Symbols {
    pub defined: BTreeSet<String>,
    pub undefined: BTreeSet<String>,
}

impl Symbols {
    /// Reads `nm` output: `<address> <type> <name>` for a defined symbol,
    /// `<type> <name>` for an undefined one (`U`, or weak `w`/`v`); an
    /// archive's member headers (`lib.a(member.o):`) and blank lines skipped.
    pub fn parse(nm: &str, mach_o: bool) -> Symbols {
        let mut symbols = Symbols::default();
        for line in nm.lines().map(str::trim).filter(|l| !l.is_empty() && !l.ends_with(':')) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [.., kind, name] = fields.as_slice() else { continue };
            let name = if mach_o { name.strip_prefix('_').unwrap_or(name) } else { name };
            match *kind {
                "U" | "w" | "v" => symbols.undefined.insert(name.to_owned()),
                _ => symbols.defined.insert(name.to_owned()),
            };
        }
        symbols
    }
}

/// The names among `names` that UniFFI generates (see [`UNIFFI_PREFIXES`]).
pub fn uniffi(names: &BTreeSet<String>) -> BTreeSet<&str> {
    names.iter().map(String::as_str).filter(|n| UNIFFI_PREFIXES.iter().any(|p| n.starts_with(p))).collect()
}

/// The iOS archive's symbols against the Linux library's exports: the line
/// to print, or every difference (both ways) and any SQLite defined in the archive.
pub fn verdict(ios: &Symbols, linux_defined: &BTreeSet<String>) -> Result<String> {
    let (ios_fns, linux_fns) = (uniffi(&ios.defined), uniffi(linux_defined));
    let mut problems = Vec::new();
    if linux_fns.is_empty() {
        problems.push(format!("the Linux library exports no UniFFI function (no name starting with {UNIFFI_PREFIXES:?})"));
    }
    let only_ios: Vec<&str> = ios_fns.difference(&linux_fns).copied().collect();
    if !only_ios.is_empty() {
        problems.push(format!("{} UniFFI functions in the iOS slice only:\n    {}", only_ios.len(), only_ios.join("\n    ")));
    }
    let only_linux: Vec<&str> = linux_fns.difference(&ios_fns).copied().collect();
    if !only_linux.is_empty() {
        problems.push(format!(
            "{} UniFFI functions missing from the iOS slice (exported on Linux):\n    {}",
            only_linux.len(),
            only_linux.join("\n    ")
        ));
    }
    let sqlite_defined: Vec<&str> = ios.defined.iter().map(String::as_str).filter(|n| n.starts_with(SQLITE_PREFIX)).collect();
    if !sqlite_defined.is_empty() {
        problems.push(format!(
            "the iOS slice defines {} sqlite3_* symbols (it must use the system's SQLite: `system-sqlite`, not `bundled-sqlite`): {}",
            sqlite_defined.len(),
            sqlite_defined.join(", ")
        ));
    }
    if !problems.is_empty() {
        return Err(format!("iOS device slice ({TARGET}): {}", problems.join("\n")));
    }
    let sqlite_left = ios.undefined.iter().filter(|n| n.starts_with(SQLITE_PREFIX)).count();
    Ok(format!("iOS device slice: {} UniFFI functions, the same as Linux; {sqlite_left} sqlite3_* symbols left to the system", ios_fns.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    /// `llvm-nm -g` on a Mach-O archive: member headers, addresses, underscores.
    const IOS_NM: &str = "
libmesure_ffi.a(mesure_ffi-1.mesure_ffi.2-cgu.0.rcgu.o):
0000000000000000 T _uniffi_mesure_ffi_fn_func_track_screen
0000000000000010 T _uniffi_mesure_ffi_checksum_func_track_screen
0000000000000020 T _ffi_mesure_ffi_rustbuffer_free
0000000000000030 S _UNIFFI_META_MESURE_FFI_FUNC_TRACK_SCREEN
0000000000000040 T __ZN4core3fmt5write17h0123456789abcdefE
                 U _sqlite3_open_v2
                 U _sqlite3_close

libmesure_ffi.a(rusqlite-3.rusqlite.4-cgu.0.rcgu.o):
                 U _sqlite3_open_v2
                 U _memcpy
";

    #[test]
    fn mach_o_names_lose_their_underscore_and_archive_headers_are_skipped() {
        let s = Symbols::parse(IOS_NM, true);
        assert_eq!(
            s.defined,
            set(&[
                "uniffi_mesure_ffi_fn_func_track_screen",
                "uniffi_mesure_ffi_checksum_func_track_screen",
                "ffi_mesure_ffi_rustbuffer_free",
                "UNIFFI_META_MESURE_FFI_FUNC_TRACK_SCREEN",
                "_ZN4core3fmt5write17h0123456789abcdefE",
            ])
        );
        assert_eq!(s.undefined, set(&["sqlite3_open_v2", "sqlite3_close", "memcpy"]));
        // ELF names are kept as they are.
        let elf = Symbols::parse("0000000000001000 T _start_like\n0000000000002000 T uniffi_mesure_ffi_fn_x\n", false);
        assert_eq!(elf.defined, set(&["_start_like", "uniffi_mesure_ffi_fn_x"]));
    }

    #[test]
    fn only_uniffi_functions_are_compared() {
        let names = set(&["uniffi_mesure_ffi_fn_a", "ffi_mesure_ffi_rustbuffer_free", "UNIFFI_META_X", "ffi_other_crate_y", "sqlite3_open", "main"]);
        assert_eq!(uniffi(&names), BTreeSet::from(["ffi_mesure_ffi_rustbuffer_free", "uniffi_mesure_ffi_fn_a"]));
    }

    #[test]
    fn the_same_functions_and_the_systems_sqlite_pass() {
        let ios = Symbols::parse(IOS_NM, true);
        let linux = set(&[
            "uniffi_mesure_ffi_fn_func_track_screen",
            "uniffi_mesure_ffi_checksum_func_track_screen",
            "ffi_mesure_ffi_rustbuffer_free",
            "UNIFFI_META_MESURE_FFI_FUNC_TRACK_SCREEN",
            "sqlite3_open_v2",
        ]);
        assert_eq!(
            verdict(&ios, &linux),
            Ok("iOS device slice: 3 UniFFI functions, the same as Linux; 2 sqlite3_* symbols left to the system".to_owned())
        );
    }

    #[test]
    fn differences_are_reported_both_ways() {
        let ios = Symbols::parse(IOS_NM, true);
        let linux = set(&["uniffi_mesure_ffi_fn_func_track_screen", "ffi_mesure_ffi_rustbuffer_free", "uniffi_mesure_ffi_fn_func_flush"]);
        let e = verdict(&ios, &linux).unwrap_err();
        assert!(e.contains("1 UniFFI functions in the iOS slice only:\n    uniffi_mesure_ffi_checksum_func_track_screen"), "{e}");
        assert!(e.contains("1 UniFFI functions missing from the iOS slice (exported on Linux):\n    uniffi_mesure_ffi_fn_func_flush"), "{e}");
        assert!(!e.contains("sqlite3_"), "{e}");
    }

    #[test]
    fn a_bundled_sqlite_or_an_empty_listing_fails() {
        let mut ios = Symbols::parse(IOS_NM, true);
        let linux: BTreeSet<String> = uniffi(&ios.defined).into_iter().map(str::to_owned).collect();
        ios.defined.insert("sqlite3_open_v2".into());
        ios.defined.insert("sqlite3_close".into());
        let e = verdict(&ios, &linux).unwrap_err();
        assert!(e.contains("defines 2 sqlite3_* symbols") && e.contains("sqlite3_close, sqlite3_open_v2"), "{e}");

        let e = verdict(&Symbols::default(), &BTreeSet::new()).unwrap_err();
        assert!(e.contains("exports no UniFFI function"), "{e}");
    }
}
