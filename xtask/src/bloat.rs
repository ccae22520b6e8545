//! What the mobile library is made of, for `cargo xtask bench-size`: its
//! symbols per crate (`nm -S --size-sort -C` on the unstripped release
//! library), its largest symbols, and its sections (`size -A`).
//!
//! A symbol is counted once per address (aliases share one), and only if
//! it takes room in the file (not `.bss`). Rust symbols go to the crate
//! their demangled path starts with; a qualified path (`<T as Trait>::f`)
//! to the crate of `T`, or of `Trait` when `T` has no path (`str`, `[u8]`,
//! a generic). Generic code goes to the crate that defines it, not the one
//! that instantiates it (`core::ptr::drop_in_place<mesure_core::Hit>` is
//! `core`'s), as cargo-bloat counts it. C symbols: the bundled SQLite's
//! (the names its archive `libsqlite3.a` defines, or any `sqlite3*`), the
//! UniFFI scaffolding's exports (`uniffi_*`, `ffi_*`: `mesure_ffi`), and the
//! rest (the C runtime's few).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{output, Result};

pub const SQLITE: &str = "SQLite (C)";
const OTHER_C: &str = "other C (runtime)";
/// Rows of the crate table before "the rest".
const TOP_CRATES: usize = 12;
const TOP_SYMBOLS: usize = 10;

/// The crate (or group) a demangled symbol name is counted under.
pub fn group(name: &str, sqlite: &HashSet<String>) -> String {
    if name.starts_with("sqlite3") || sqlite.contains(name) {
        return SQLITE.into();
    }
    if name.starts_with('<') {
        return qualified(name).into();
    }
    if name.contains("::") {
        return first_segment(name).into();
    }
    if name.starts_with("uniffi_") || name.starts_with("ffi_") {
        return "mesure_ffi".into();
    }
    if name.starts_with("__rust") || name.starts_with("rust_") || name.starts_with("__rdl_") || name.starts_with("__rg_") {
        return "std".into();
    }
    if name.starts_with("anon.") {
        // LTO's unnamed constants (string literals, tables): no owner left.
        return "anonymous constants (Rust)".into();
    }
    OTHER_C.into()
}

/// The crate of `<T as Trait>::f`, `<T>::f` or `<impl T>::f`: `T`'s, or
/// `Trait`'s when `T` names no path.
fn qualified(name: &str) -> &str {
    let inner = &name[1..];
    let (mut depth, mut end, mut as_at) = (0usize, inner.len(), None);
    for (i, c) in inner.char_indices() {
        match c {
            '<' | '(' | '[' => depth += 1,
            ')' | ']' => depth = depth.saturating_sub(1),
            '>' if depth == 0 => {
                end = i;
                break;
            }
            '>' => depth -= 1,
            ' ' if depth == 0 && as_at.is_none() && inner[i..].starts_with(" as ") => as_at = Some(i),
            _ => {}
        }
    }
    let self_type = inner[..as_at.unwrap_or(end)].trim_start_matches("impl ");
    let self_type = self_type.trim_start_matches(['&', '*', '[', '(', ' ']);
    let self_type = ["mut ", "const ", "dyn "].iter().fold(self_type, |t, p| t.strip_prefix(p).unwrap_or(t));
    if self_type.contains("::") {
        return first_segment(self_type);
    }
    match as_at {
        Some(a) if a + 4 < end => {
            let t = inner[a + 4..end].trim_start_matches("dyn ");
            if t.contains("::") {
                first_segment(t)
            } else {
                "core"
            }
        }
        _ => "core",
    }
}

fn first_segment(path: &str) -> &str {
    let end = path.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(path.len());
    if end == 0 {
        path
    } else {
        &path[..end]
    }
}

/// One library's breakdown.
#[derive(Debug, Default)]
pub struct Breakdown {
    /// Bytes of sized symbols per crate.
    pub crates: BTreeMap<String, u64>,
    /// The largest symbols: (bytes, crate, name).
    pub symbols: Vec<(u64, String, String)>,
    /// Allocated sections in file order: (name, bytes).
    pub sections: Vec<(String, u64)>,
}

/// Reads `nm -S --size-sort -C` output: `<address> <size> <type> <name...>`.
pub fn parse_nm(text: &str, sqlite: &HashSet<String>) -> Breakdown {
    let mut b = Breakdown::default();
    let mut seen = HashSet::new();
    let mut all = Vec::new();
    for line in text.lines() {
        let mut fields = line.splitn(4, ' ');
        let (Some(addr), Some(size), Some(kind), Some(name)) = (fields.next(), fields.next(), fields.next(), fields.next()) else { continue };
        let Ok(size) = u64::from_str_radix(size, 16) else { continue };
        if matches!(kind, "b" | "B") || size == 0 || !seen.insert(addr.to_owned()) {
            continue;
        }
        let crate_name = group(name, sqlite);
        *b.crates.entry(crate_name.clone()).or_default() += size;
        all.push((size, crate_name, name.to_owned()));
    }
    all.sort_by_key(|s| std::cmp::Reverse(s.0));
    all.truncate(TOP_SYMBOLS);
    b.symbols = all;
    b
}

/// Reads `size -A` output: the sections that take room in the loaded
/// library (address not 0), `.bss` left out (no room in the file).
pub fn parse_size(text: &str) -> Vec<(String, u64)> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            match f.as_slice() {
                [name, size, addr] if name.starts_with('.') && *name != ".bss" && *addr != "0" => Some(((*name).to_owned(), size.parse().ok()?)),
                _ => None,
            }
        })
        .collect()
}

/// The names the bundled SQLite's archive defines, statics included: its
/// functions keep their names in the library (the C code is not in Rust's
/// LTO). `build_dir` is the profile's `build/` directory; the newest
/// `libsqlite3-sys-*/out/libsqlite3.a` is read. Empty if none.
fn sqlite_names(build_dir: &Path, nm: &str) -> HashSet<String> {
    let newest = std::fs::read_dir(build_dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("out/libsqlite3.a"))
        .filter(|a| a.parent().and_then(Path::parent).and_then(Path::file_name).is_some_and(|n| n.to_string_lossy().starts_with("libsqlite3-sys-")))
        .filter_map(|a| Some((std::fs::metadata(&a).ok()?.modified().ok()?, a)))
        .max();
    let Some((_, archive)) = newest else { return HashSet::new() };
    let listing = output(Command::new(nm).arg("--defined-only").arg(&archive)).unwrap_or_default();
    listing.lines().filter_map(|l| l.split_whitespace().nth(2).map(str::to_owned)).collect()
}

/// The breakdown of the unstripped `lib`, with binutils `nm` and `size`
/// (`prefix`: `""`, or `aarch64-linux-gnu-`); `build_dir` as [`sqlite_names`].
pub fn measure(lib: &Path, build_dir: &Path, prefix: &str) -> Result<Breakdown> {
    let nm = format!("{prefix}nm");
    let sqlite = sqlite_names(build_dir, &nm);
    let mut b = parse_nm(&output(Command::new(&nm).args(["-S", "--size-sort", "-C"]).arg(lib))?, &sqlite);
    b.sections = parse_size(&output(Command::new(format!("{prefix}size")).arg("-A").arg(lib))?);
    if b.crates.is_empty() || b.sections.is_empty() {
        return Err(format!("{}: no symbols or sections (stripped?)", lib.display()));
    }
    Ok(b)
}

fn kb(bytes: u64) -> String {
    format!("{:.1} KB", bytes as f64 / 1000.0)
}

/// The tables for one or more ABIs: crates (ordered by the first ABI, the
/// top ones, then the rest), sections, and the first ABI's largest symbols.
pub fn render(abis: &[(&str, &Breakdown)]) -> String {
    let Some((_, first)) = abis.first() else { return String::new() };
    let heads: String = abis.iter().map(|(abi, _)| format!(" {abi} |")).collect();
    let rule: String = abis.iter().map(|_| "---|").collect();
    let mut order: Vec<(&String, &u64)> = first.crates.iter().collect();
    order.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let top: BTreeSet<&str> = order.iter().take(TOP_CRATES).map(|(n, _)| n.as_str()).collect();
    let total = |b: &Breakdown| b.crates.values().sum::<u64>();
    let cell = |bytes: u64, b: &Breakdown| format!(" {} ({:.1}%) |", kb(bytes), 100.0 * bytes as f64 / total(b).max(1) as f64);
    let mut out = format!("| crate |{heads}\n|---|{rule}\n");
    for (name, _) in order.iter().take(TOP_CRATES) {
        let cells: String = abis.iter().map(|(_, b)| cell(b.crates.get(*name).copied().unwrap_or(0), b)).collect();
        out += &format!("| {name} |{cells}\n");
    }
    let rest = |b: &Breakdown| b.crates.iter().filter(|(n, _)| !top.contains(n.as_str())).map(|(_, s)| s).sum::<u64>();
    let rest_count = first.crates.len().saturating_sub(TOP_CRATES);
    let cells: String = abis.iter().map(|(_, b)| cell(rest(b), b)).collect();
    out += &format!("| the rest ({rest_count} crates) |{cells}\n");
    let cells: String = abis.iter().map(|(_, b)| format!(" **{}** |", kb(total(b)))).collect();
    out += &format!("| all sized symbols |{cells}\n\n| section |{heads}\n|---|{rule}\n");
    let mut names: Vec<&str> = Vec::new();
    for (_, b) in abis {
        for (n, _) in &b.sections {
            if !names.contains(&n.as_str()) {
                names.push(n);
            }
        }
    }
    // Sections under 1 KB in every ABI are summed in one row.
    let small = |n: &str| abis.iter().all(|(_, b)| b.sections.iter().all(|(s, size)| s != n || *size < 1000));
    let (small_names, names): (Vec<&str>, Vec<&str>) = names.into_iter().partition(|n| small(n));
    for n in names {
        let cells: String = abis
            .iter()
            .map(|(_, b)| b.sections.iter().find(|(s, _)| s == n).map_or(" - |".to_owned(), |(_, size)| format!(" {} |", kb(*size))))
            .collect();
        out += &format!("| `{n}` |{cells}\n");
    }
    let cells: String = abis
        .iter()
        .map(|(_, b)| format!(" {} |", kb(b.sections.iter().filter(|(s, _)| small_names.contains(&s.as_str())).map(|(_, z)| z).sum())))
        .collect();
    out += &format!("| {} others under 1 KB |{cells}\n", small_names.len());
    out += &format!("\nThe largest symbols ({}):\n\n| symbol | crate | size |\n|---|---|---|\n", abis[0].0);
    for (size, krate, name) in &first.symbols {
        let short: String = name.chars().take(90).collect();
        let short = if short.len() < name.len() { format!("{short}…") } else { short };
        out += &format!("| `{}` | {krate} | {} |\n", short.replace('|', "\\|"), kb(*size));
    }
    out
}

/// The profile's `build/` directory beside a library in `<target>/<profile>/`.
pub fn build_dir_of(lib: &Path) -> PathBuf {
    lib.parent().map(|d| d.join("build")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(name: &str) -> String {
        group(name, &HashSet::from(["pager_open".to_owned(), "vdbeRecordCompare".to_owned()]))
    }

    #[test]
    fn rust_paths_go_to_their_first_segment() {
        assert_eq!(g("mesure_core::store::Store::open"), "mesure_core");
        assert_eq!(g("core::ptr::drop_in_place<mesure_core::hit::Hit>"), "core");
        assert_eq!(g("alloc::raw_vec::RawVec<T,A>::grow_one"), "alloc");
        assert_eq!(g("std::sys::backtrace::__rust_begin_short_backtrace.llvm.123"), "std");
        assert_eq!(g("serde_json::de::Deserializer<R>::parse_whitespace"), "serde_json");
    }

    #[test]
    fn qualified_paths_go_to_the_self_type_or_else_the_trait() {
        assert_eq!(g("<mesure_core::hit::Value as core::fmt::Debug>::fmt"), "mesure_core");
        assert_eq!(g("<&mesure_core::hit::Value as core::fmt::Debug>::fmt"), "mesure_core");
        assert_eq!(g("<alloc::vec::Vec<mesure_core::Hit> as core::ops::drop::Drop>::drop"), "alloc");
        assert_eq!(g("<str as serde_json::value::index::Index>::index_into"), "serde_json");
        assert_eq!(g("<[u8] as core::fmt::Debug>::fmt"), "core");
        assert_eq!(g("<*mut rusqlite::ffi::sqlite3 as core::fmt::Debug>::fmt"), "rusqlite");
        assert_eq!(g("<(A,B) as uniffi_core::Lower<UT>>::write"), "uniffi_core");
        assert_eq!(g("<dyn core::any::Any as core::fmt::Debug>::fmt"), "core");
        assert_eq!(g("<T as alloc::string::ToString>::to_string"), "alloc");
        assert_eq!(g("<impl mesure_core::Sdk>::track"), "mesure_core");
        assert_eq!(g("<u64>::fmt"), "core");
    }

    #[test]
    fn c_symbols_are_sqlite_uniffi_or_the_runtime() {
        assert_eq!(g("sqlite3VdbeExec"), SQLITE);
        assert_eq!(g("sqlite3_prepare_v3"), SQLITE);
        assert_eq!(g("pager_open"), SQLITE);
        assert_eq!(g("vdbeRecordCompare"), SQLITE);
        assert_eq!(g("uniffi_mesure_ffi_fn_func_track_screen"), "mesure_ffi");
        assert_eq!(g("ffi_mesure_ffi_rustbuffer_free"), "mesure_ffi");
        assert_eq!(g("__rust_alloc"), "std");
        assert_eq!(g("rust_eh_personality"), "std");
        assert_eq!(g("anon.0123abcd.42"), "anonymous constants (Rust)");
        assert_eq!(g("frame_dummy"), OTHER_C);
    }

    #[test]
    fn nm_lines_are_counted_once_per_address_without_bss() {
        let nm = "\
0000000000001000 0000000000000010 t frame_dummy
0000000000002000 0000000000000100 T sqlite3_open_v2
0000000000002000 0000000000000100 T sqlite3_open_alias
0000000000003000 0000000000000200 t <mesure_core::hit::Value as core::fmt::Debug>::fmt
0000000000004000 0000000000000400 b some_bss
0000000000005000 0000000000000040 r anon.1.2
not a line
";
        let b = parse_nm(nm, &HashSet::new());
        assert_eq!(
            b.crates,
            BTreeMap::from([
                (SQLITE.to_owned(), 0x100),
                ("mesure_core".to_owned(), 0x200),
                (OTHER_C.to_owned(), 0x10),
                ("anonymous constants (Rust)".to_owned(), 0x40)
            ])
        );
        assert_eq!(b.symbols[0], (0x200, "mesure_core".to_owned(), "<mesure_core::hit::Value as core::fmt::Debug>::fmt".to_owned()));
        let table = render(&[("x86_64", &b)]);
        assert!(table.contains("| mesure_core | 0.5 KB (60.4%) |"), "{table}");
        assert!(table.contains("| all sized symbols | **0.8 KB** |"), "{table}");
    }

    #[test]
    fn size_lists_the_loaded_sections() {
        let size = "\
libmesure_ffi.so  :
section                 size      addr
.dynsym                 9000       712
.text                1200000     90000
.bss                     400   2200000
.comment                 100         0
.symtab               300000         0
Total                1600000
";
        assert_eq!(parse_size(size), vec![(".dynsym".to_owned(), 9000), (".text".to_owned(), 1_200_000)]);
    }
}
