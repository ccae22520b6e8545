//! `cargo xtask ios-slice`, and a step of `test-rust`: the iOS device slice
//! (`aarch64-apple-ios`, the default `platform-sqlite`, the system's SQLite
//! there, no Rust HTTP client: the build of the XCFramework's `ios` library)
//! compiled on Linux, so that code behind `cfg(target_os = "ios")` and the
//! system's SQLite is compiled on every change, not only on a Mac at release
//! time.
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
//!
//! And the SQLite functions it imports are held to the minimum the core
//! checks when the store opens (`MIN_SQLITE_VERSION`, read from
//! core/src/store/sqlite_version.rs): each is looked up in
//! [`SQLITE_FUNCTIONS`] (the release that brought it), an unknown one fails
//! (a rusqlite upgrade calling something new must be looked up and added),
//! and the newest must not be newer than that minimum: a function the OS's
//! SQLite lacks stops the app in the dynamic loader, before any check. The
//! minimum must in turn be shipped by the deployment target's iOS
//! ([`IOS_SQLITE`]).
//! GNU `nm` does not read Mach-O: the archive is read by `llvm-nm`, from
//! Debian's `llvm` (installed if missing, as root), with `--no-llvm-bc`:
//! the standard library's objects carry bitcode from the toolchain's newer
//! LLVM, which Debian's cannot parse; the Mach-O symbol table is what counts.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use crate::bindings;
use crate::cross;
use crate::util::{apt_install, cargo, output, root, run, target_dir, Result};
use crate::xcframework::{IOS_DEPLOYMENT_TARGET, LIB};

/// The Rust target of the iOS device slice.
pub const TARGET: &str = "aarch64-apple-ios";
/// The exported functions UniFFI generates for `mesure_ffi`: the API
/// (`uniffi_mesure_ffi_fn_*`, `uniffi_mesure_ffi_checksum_*`) and the
/// scaffolding (`ffi_mesure_ffi_rustbuffer_*`, `ffi_mesure_ffi_rust_future_*`).
pub const UNIFFI_PREFIXES: [&str; 2] = ["uniffi_", "ffi_mesure_ffi_"];
const SQLITE_PREFIX: &str = "sqlite3_";

/// Functions older than 3.7.16: the first of SQLite's `sqlite3ext.h`
/// sections ("Version 3.7.16 and later"); every system this runs on has them.
const OLD: i32 = 3_007_016;

/// The SQLite functions the library may import, with the release that
/// brought each, as `sqlite3_libversion_number()` encodes it: from the
/// sections of SQLite's `sqlite3ext.h` (in libsqlite3-sys's `sqlite3/`);
/// where a section names a version never released (3.36.1), the next release.
pub const SQLITE_FUNCTIONS: &[(&str, i32)] = &[
    ("sqlite3_bind_blob64", 3_008_007),
    ("sqlite3_bind_double", OLD),
    ("sqlite3_bind_int64", OLD),
    ("sqlite3_bind_null", OLD),
    ("sqlite3_bind_parameter_count", OLD),
    ("sqlite3_bind_parameter_index", OLD),
    ("sqlite3_bind_text64", 3_008_007),
    ("sqlite3_bind_zeroblob64", 3_008_011),
    ("sqlite3_busy_timeout", OLD),
    ("sqlite3_changes", OLD),
    ("sqlite3_changes64", 3_037_000),
    ("sqlite3_clear_bindings", OLD),
    ("sqlite3_close", OLD),
    ("sqlite3_close_v2", 3_007_016),
    ("sqlite3_column_blob", OLD),
    ("sqlite3_column_bytes", OLD),
    ("sqlite3_column_count", OLD),
    ("sqlite3_column_double", OLD),
    ("sqlite3_column_int64", OLD),
    ("sqlite3_column_name", OLD),
    ("sqlite3_column_text", OLD),
    ("sqlite3_column_type", OLD),
    ("sqlite3_db_handle", OLD),
    ("sqlite3_errcode", OLD),
    ("sqlite3_errmsg", OLD),
    ("sqlite3_error_offset", 3_038_000),
    ("sqlite3_errstr", 3_007_016),
    ("sqlite3_expanded_sql", 3_014_000),
    ("sqlite3_extended_result_codes", OLD),
    ("sqlite3_finalize", OLD),
    ("sqlite3_free", OLD),
    ("sqlite3_get_autocommit", OLD),
    ("sqlite3_get_clientdata", 3_044_000),
    ("sqlite3_keyword_check", 3_024_000),
    ("sqlite3_last_insert_rowid", OLD),
    ("sqlite3_libversion_number", OLD),
    ("sqlite3_mutex_alloc", OLD),
    ("sqlite3_mutex_free", OLD),
    ("sqlite3_open_v2", OLD),
    ("sqlite3_prepare_v3", 3_020_000),
    ("sqlite3_reset", OLD),
    ("sqlite3_set_clientdata", 3_044_000),
    ("sqlite3_sql", OLD),
    ("sqlite3_step", OLD),
    ("sqlite3_stmt_isexplain", 3_028_000),
    ("sqlite3_stmt_readonly", 3_007_016),
    ("sqlite3_threadsafe", OLD),
    ("sqlite3_total_changes64", 3_037_000),
    ("sqlite3_txn_state", 3_034_000),
];

/// The SQLite an iOS release ships, lowest first: iOS 15: 3.36 (3.37.0 on
/// 15.7), 16: 3.39 (SQLiteFlow-Issues#198), 18: 3.43.2
/// (orbitinghail/sqlite-plugin#32), 26: 3.51.0 (groue/GRDB.swift#1874).
/// A release not listed has at least the SQLite of the one before it.
pub const IOS_SQLITE: &[(u32, i32)] = &[(15, 3_036_000), (16, 3_039_000), (18, 3_043_002), (26, 3_051_000)];

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
    eprintln!("xtask: {}", sqlite_floor(&ios.undefined, core_minimum()?, IOS_DEPLOYMENT_TARGET)?);
    Ok(())
}

/// `MIN_SQLITE_VERSION` of core/src/store/sqlite_version.rs.
fn core_minimum() -> Result<i32> {
    let file = root().join("core/src/store/sqlite_version.rs");
    let text = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    parse_minimum(&text).ok_or_else(|| format!("{}: no `pub const MIN_SQLITE_VERSION: i32 = ...;`", file.display()))
}

fn parse_minimum(source: &str) -> Option<i32> {
    let line = source.lines().find(|l| l.trim_start().starts_with("pub const MIN_SQLITE_VERSION: i32 ="))?;
    line.split('=').nth(1)?.trim().trim_end_matches(';').replace('_', "").parse().ok()
}

/// `3038000` as `3.38.0`.
fn dotted(v: i32) -> String {
    format!("{}.{}.{}", v / 1_000_000, v / 1000 % 1000, v % 1000)
}

/// The SQLite functions among `imports`, each with the release that brought
/// it, held to `minimum` (the core's), and `minimum` to the SQLite of the
/// iOS `deployment_target`: the line to print, or what is wrong.
pub fn sqlite_floor(imports: &BTreeSet<String>, minimum: i32, deployment_target: &str) -> Result<String> {
    let sqlite: Vec<&str> = imports.iter().map(String::as_str).filter(|n| n.starts_with(SQLITE_PREFIX)).collect();
    let unknown: Vec<&str> = sqlite.iter().copied().filter(|n| !SQLITE_FUNCTIONS.iter().any(|(f, _)| f == n)).collect();
    if !unknown.is_empty() {
        return Err(format!(
            "the iOS slice imports SQLite functions xtask/src/ios_slice.rs does not know: {} (add each to SQLITE_FUNCTIONS with the release that brought it)",
            unknown.join(", ")
        ));
    }
    let version = |n: &str| SQLITE_FUNCTIONS.iter().find(|(f, _)| *f == n).map_or(0, |(_, v)| *v);
    let Some(newest) = sqlite.iter().copied().max_by_key(|n| (version(n), std::cmp::Reverse(*n))) else {
        return Err("the iOS slice imports no SQLite function: is it linked to the system's SQLite?".into());
    };
    let too_new: Vec<String> = sqlite.iter().filter(|n| version(n) > minimum).map(|n| format!("{n} ({})", dotted(version(n)))).collect();
    if !too_new.is_empty() {
        return Err(format!(
            "the iOS slice imports SQLite functions newer than MIN_SQLITE_VERSION {} (core/src/store/sqlite_version.rs): {}; \
             an older system SQLite would stop the app in the dynamic loader",
            dotted(minimum),
            too_new.join(", ")
        ));
    }
    let major: u32 =
        deployment_target.split('.').next().and_then(|m| m.parse().ok()).ok_or_else(|| format!("iOS deployment target {deployment_target:?}"))?;
    let shipped = IOS_SQLITE.iter().filter(|(ios, _)| *ios <= major).map(|(_, v)| *v).max().unwrap_or(0);
    if shipped < minimum {
        return Err(format!(
            "iOS {deployment_target} ships SQLite {}, older than MIN_SQLITE_VERSION {}: raise the deployment target (xcframework.rs, Package.swift) or lower the minimum",
            dotted(shipped),
            dotted(minimum)
        ));
    }
    Ok(format!(
        "{} SQLite functions imported, the newest {newest} ({}), within the core's minimum {}; iOS {deployment_target} ships {} or newer",
        sqlite.len(),
        dotted(version(newest)),
        dotted(minimum),
        dotted(shipped)
    ))
}

/// Builds the static library of the device slice and returns its path.
fn build_archive() -> Result<PathBuf> {
    let sdk = target_dir().join("ios-slice/empty-sdk");
    std::fs::create_dir_all(&sdk).map_err(|e| format!("{}: {e}", sdk.display()))?;
    run(cargo()
        .args(["rustc", "-p", "mesure-ffi", "--release", "--target", TARGET, "--no-default-features", "--features", "platform-sqlite"])
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
            "the iOS slice defines {} sqlite3_* symbols (it must use the system's SQLite: `platform-sqlite`, not `bundled-sqlite`): {}",
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

    fn imports(names: &[&str]) -> BTreeSet<String> {
        set(names)
    }

    #[test]
    fn the_newest_sqlite_import_is_held_to_the_minimum_and_the_deployment_target() {
        let today = imports(&["sqlite3_open_v2", "sqlite3_prepare_v3", "sqlite3_error_offset", "sqlite3_changes64", "memcpy"]);
        assert_eq!(
            sqlite_floor(&today, 3_038_000, "16.0"),
            Ok("4 SQLite functions imported, the newest sqlite3_error_offset (3.38.0), within the core's minimum 3.38.0; iOS 16.0 ships 3.39.0 or newer".into())
        );
        // iOS 17 is not listed: at least iOS 16's.
        assert!(sqlite_floor(&today, 3_038_000, "17.2").is_ok_and(|l| l.ends_with("iOS 17.2 ships 3.39.0 or newer")));

        let e = sqlite_floor(&imports(&["sqlite3_open_v2", "sqlite3_set_clientdata"]), 3_038_000, "16.0").unwrap_err();
        assert!(e.contains("newer than MIN_SQLITE_VERSION 3.38.0") && e.contains("sqlite3_set_clientdata (3.44.0)"), "{e}");

        let e = sqlite_floor(&imports(&["sqlite3_open_v2", "sqlite3_something_new"]), 3_038_000, "16.0").unwrap_err();
        assert!(e.contains("does not know: sqlite3_something_new"), "{e}");

        let e = sqlite_floor(&today, 3_038_000, "15.0").unwrap_err();
        assert!(e.contains("iOS 15.0 ships SQLite 3.36.0, older than MIN_SQLITE_VERSION 3.38.0"), "{e}");

        assert!(sqlite_floor(&imports(&["memcpy"]), 3_038_000, "16.0").unwrap_err().contains("imports no SQLite function"));
    }

    #[test]
    fn the_core_minimum_is_read_from_its_source() {
        assert_eq!(parse_minimum("//! doc\npub const MIN_SQLITE_VERSION: i32 = 3_038_000;\n"), Some(3_038_000));
        assert_eq!(parse_minimum("const OTHER: i32 = 1;"), None);
        assert!(core_minimum().is_ok_and(|v| v >= 3_007_016));
        assert_eq!(dotted(3_043_002), "3.43.2");
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
