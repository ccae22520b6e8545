//! `cargo xtask check-16k <file.so|dir|file.aar>...`: every shared library
//! must load on Android devices with 16 KB memory pages (Android 15+; Google
//! Play requires it of apps targeting Android 15 from November 2025). A
//! library linked for 4 KB pages has `PT_LOAD` segments aligned to 0x1000: on
//! a 16 KB device the loader refuses it and the app crashes at
//! `System.loadLibrary` (JNA before 5.15 did: JNA issue 1618).
//!
//! The check reads the ELF program headers itself (32 and 64 bit, either
//! byte order): every `PT_LOAD` segment's `p_align` must be at least 0x4000.
//! An `.aar` (or `.apk`, a zip) is read through `unzip`, entry by entry,
//! for every `*.so` it carries.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::Result;

/// The page size the libraries must support: 16 KiB.
pub const PAGE_16K: u64 = 0x4000;

const PT_LOAD: u32 = 1;
/// `e_phnum` saying "too many: the count is in section header 0's `sh_info`".
const PN_XNUM: u16 = 0xffff;

/// One loadable segment: its file offset and its alignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Load {
    pub offset: u64,
    pub align: u64,
}

/// Reads fixed-width integers in the file's byte order, bounds-checked.
struct Reader<'a> {
    bytes: &'a [u8],
    little: bool,
}

impl Reader<'_> {
    fn uint(&self, at: u64, width: usize) -> Result<u64> {
        let start = usize::try_from(at).map_err(|_| "offset out of range".to_owned())?;
        let field = start
            .checked_add(width)
            .and_then(|end| self.bytes.get(start..end))
            .ok_or_else(|| format!("truncated ELF file: {width} bytes wanted at offset {at:#x}"))?;
        let mut v = 0u64;
        for i in 0..width {
            let b = if self.little { field[width - 1 - i] } else { field[i] };
            v = (v << 8) | u64::from(b);
        }
        Ok(v)
    }
    fn u16(&self, at: u64) -> Result<u16> {
        self.uint(at, 2).map(|v| v as u16)
    }
    fn u32(&self, at: u64) -> Result<u32> {
        self.uint(at, 4).map(|v| v as u32)
    }
}

/// The `PT_LOAD` segments of an ELF file.
pub fn load_segments(bytes: &[u8]) -> Result<Vec<Load>> {
    if bytes.len() < 16 || &bytes[..4] != b"\x7fELF" {
        return Err("not an ELF file".into());
    }
    let wide = match bytes[4] {
        1 => false,
        2 => true,
        c => return Err(format!("unknown ELF class {c}")),
    };
    let little = match bytes[5] {
        1 => true,
        2 => false,
        d => return Err(format!("unknown ELF byte order {d}")),
    };
    let r = Reader { bytes, little };
    // e_phoff, e_shoff, e_phentsize, e_phnum, e_shentsize.
    let (phoff, shoff, phentsize, phnum, shentsize) = if wide {
        (r.uint(0x20, 8)?, r.uint(0x28, 8)?, r.u16(0x36)?, r.u16(0x38)?, r.u16(0x3a)?)
    } else {
        (u64::from(r.u32(0x1c)?), u64::from(r.u32(0x20)?), r.u16(0x2a)?, r.u16(0x2c)?, r.u16(0x2e)?)
    };
    let count = if phnum == PN_XNUM {
        // sh_info of section header 0.
        if shoff == 0 || shentsize == 0 {
            return Err("e_phnum is PN_XNUM but there is no section header 0".into());
        }
        u64::from(r.u32(shoff + if wide { 0x2c } else { 0x1c })?)
    } else {
        u64::from(phnum)
    };
    let mut loads = Vec::new();
    for i in 0..count {
        let at = phoff + i * u64::from(phentsize);
        if r.u32(at)? != PT_LOAD {
            continue;
        }
        let (offset, align) =
            if wide { (r.uint(at + 0x08, 8)?, r.uint(at + 0x30, 8)?) } else { (u64::from(r.u32(at + 0x04)?), u64::from(r.u32(at + 0x1c)?)) };
        loads.push(Load { offset, align });
    }
    if loads.is_empty() {
        return Err("no PT_LOAD segment".into());
    }
    Ok(loads)
}

/// `Ok(())` when every `PT_LOAD` segment is aligned to 16 KiB at least;
/// otherwise the offending segments, in a sentence.
pub fn check_bytes(bytes: &[u8]) -> Result<()> {
    let loads = load_segments(bytes)?;
    let short: Vec<String> =
        loads.iter().filter(|l| l.align < PAGE_16K).map(|l| format!("PT_LOAD at offset {:#x} aligned to {:#x}", l.offset, l.align)).collect();
    if short.is_empty() {
        Ok(())
    } else {
        Err(format!("{} (needs {PAGE_16K:#x}: link with -Wl,-z,max-page-size=16384)", short.join(", ")))
    }
}

/// The `*.so` entries of a zip archive (an AAR, an APK), with their bytes.
fn zip_libraries(archive: &Path) -> Result<Vec<(String, Vec<u8>)>> {
    let listing = Command::new("unzip").arg("-Z1").arg(archive).output().map_err(|e| format!("unzip (needed to read {}): {e}", archive.display()))?;
    if !listing.status.success() {
        return Err(format!("{}: not a readable zip archive", archive.display()));
    }
    let mut out = Vec::new();
    for entry in String::from_utf8_lossy(&listing.stdout).lines().filter(|e| e.ends_with(".so")) {
        // `unzip -p` treats its arguments as patterns: escape the wildcards.
        let pattern: String = entry.chars().flat_map(|c| if "[]*?\\".contains(c) { vec!['\\', c] } else { vec![c] }).collect();
        let data = Command::new("unzip").arg("-p").arg(archive).arg(&pattern).output().map_err(|e| e.to_string())?;
        if !data.status.success() {
            return Err(format!("{}: cannot read {entry}", archive.display()));
        }
        out.push((entry.to_owned(), data.stdout));
    }
    Ok(out)
}

fn is_archive(path: &Path) -> bool {
    path.extension().is_some_and(|x| x == "aar" || x == "apk" || x == "zip")
}

fn shared_libraries(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            shared_libraries(&p, out)?;
        } else if p.extension().is_some_and(|x| x == "so") || is_archive(&p) {
            out.push(p);
        }
    }
    Ok(())
}

/// Checks every library under `paths` (files, directories, archives).
/// Returns one line per library checked; fails listing every misaligned one.
pub fn check_paths(paths: &[PathBuf]) -> Result<Vec<String>> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            shared_libraries(p, &mut files)?;
        } else {
            files.push(p.clone());
        }
    }
    files.sort();
    if files.is_empty() {
        return Err("no .so, .aar or .apk file found".into());
    }
    let mut verdicts: Vec<(String, Result<()>)> = Vec::new();
    for f in &files {
        if is_archive(f) {
            let libs = zip_libraries(f)?;
            if libs.is_empty() {
                verdicts.push((f.display().to_string(), Err("carries no .so file".into())));
            }
            for (entry, bytes) in libs {
                verdicts.push((format!("{}!{entry}", f.display()), check_bytes(&bytes)));
            }
        } else {
            let bytes = std::fs::read(f).map_err(|e| format!("{}: {e}", f.display()))?;
            verdicts.push((f.display().to_string(), check_bytes(&bytes)));
        }
    }
    let failures: Vec<String> = verdicts.iter().filter_map(|(name, v)| v.as_ref().err().map(|e| format!("{name}: {e}"))).collect();
    if failures.is_empty() {
        Ok(verdicts.into_iter().map(|(name, _)| format!("ok   {name}")).collect())
    } else {
        Err(format!("not 16 KB page aligned:\n  {}", failures.join("\n  ")))
    }
}

pub fn check_16k(args: &[String]) -> Result<()> {
    if args.is_empty() {
        return Err("usage: cargo xtask check-16k <file.so|dir|file.aar>...".into());
    }
    let paths: Vec<PathBuf> = args.iter().map(PathBuf::from).collect();
    for line in check_paths(&paths)? {
        eprintln!("xtask: {line}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A shared library built here with the system's C compiler.
    fn build_so(dir: &Path, name: &str, extra: &[&str]) -> PathBuf {
        let src = dir.join("lib.c");
        std::fs::write(&src, "int mesure_answer(void) { return 42; }\n").unwrap();
        let out = dir.join(name);
        let status = Command::new("cc")
            .args(["-shared", "-fPIC", "-o"])
            .arg(&out)
            .arg(&src)
            .args(extra)
            .status()
            .expect("cc (the C compiler Rust links with) runs");
        assert!(status.success(), "cc failed");
        out
    }

    fn temp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("mesure-elf-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn a_library_linked_for_16k_pages_passes_and_one_for_4k_fails() {
        let d = temp("cc");
        let aligned = build_so(&d, "libaligned.so", &["-Wl,-z,max-page-size=16384"]);
        let small = build_so(&d, "libsmall.so", &["-Wl,-z,max-page-size=4096"]);
        let loads = load_segments(&std::fs::read(&aligned).unwrap()).unwrap();
        assert!(loads.iter().all(|l| l.align == 0x4000), "{loads:?}");
        assert_eq!(check_bytes(&std::fs::read(&aligned).unwrap()), Ok(()));

        let loads = load_segments(&std::fs::read(&small).unwrap()).unwrap();
        assert!(loads.iter().all(|l| l.align == 0x1000), "{loads:?}");
        let e = check_bytes(&std::fs::read(&small).unwrap()).unwrap_err();
        assert!(e.contains("aligned to 0x1000") && e.contains("max-page-size=16384"), "{e}");

        // A directory: both found, the small one named.
        let e = check_paths(std::slice::from_ref(&d)).unwrap_err();
        assert!(e.contains("libsmall.so") && !e.contains("libaligned.so"), "{e}");
        std::fs::remove_file(&small).unwrap();
        assert_eq!(check_paths(std::slice::from_ref(&d)).unwrap().len(), 1);
    }

    #[test]
    fn every_library_inside_an_aar_is_checked() {
        let d = temp("aar");
        let jni = d.join("jni/arm64-v8a");
        std::fs::create_dir_all(&jni).unwrap();
        let x86 = d.join("jni/x86_64");
        std::fs::create_dir_all(&x86).unwrap();
        build_so(&jni, "libmesure_ffi.so", &["-Wl,-z,max-page-size=16384"]);
        build_so(&x86, "libjnidispatch.so", &["-Wl,-z,max-page-size=4096"]);
        std::fs::remove_file(jni.join("lib.c")).unwrap();
        std::fs::remove_file(x86.join("lib.c")).unwrap();
        let aar = d.join("mesure.aar");
        let zipped = Command::new("zip").current_dir(&d).arg("-qr").arg(&aar).arg("jni").status().unwrap();
        assert!(zipped.success());
        let e = check_paths(std::slice::from_ref(&aar)).unwrap_err();
        assert!(e.contains("mesure.aar!jni/x86_64/libjnidispatch.so"), "{e}");
        assert!(!e.contains("libmesure_ffi.so"), "{e}");

        build_so(&x86, "libjnidispatch.so", &["-Wl,-z,max-page-size=16384"]);
        std::fs::remove_file(x86.join("lib.c")).unwrap();
        std::fs::remove_file(&aar).unwrap();
        assert!(Command::new("zip").current_dir(&d).arg("-qr").arg(&aar).arg("jni").status().unwrap().success());
        let ok = check_paths(&[aar]).unwrap();
        assert_eq!(ok.len(), 2, "{ok:?}");
    }

    /// A 32-bit ELF image (as armeabi-v7a and x86 libraries are) with two
    /// PT_LOAD segments and one other header, written by hand.
    fn elf32(big_endian: bool, aligns: [u32; 2]) -> Vec<u8> {
        let mut b = vec![0u8; 0x34 + 3 * 0x20];
        b[..4].copy_from_slice(b"\x7fELF");
        b[4] = 1; // ELFCLASS32
        b[5] = if big_endian { 2 } else { 1 };
        let put16 = |b: &mut Vec<u8>, at: usize, v: u16| {
            let bytes = if big_endian { v.to_be_bytes() } else { v.to_le_bytes() };
            b[at..at + 2].copy_from_slice(&bytes);
        };
        let put32 = |b: &mut Vec<u8>, at: usize, v: u32| {
            let bytes = if big_endian { v.to_be_bytes() } else { v.to_le_bytes() };
            b[at..at + 4].copy_from_slice(&bytes);
        };
        put32(&mut b, 0x1c, 0x34); // e_phoff
        put16(&mut b, 0x2a, 0x20); // e_phentsize
        put16(&mut b, 0x2c, 3); // e_phnum
        put32(&mut b, 0x34, 6); // PT_PHDR, not checked
        put32(&mut b, 0x34 + 0x1c, 4);
        for (i, align) in aligns.iter().enumerate() {
            let at = 0x34 + (i + 1) * 0x20;
            put32(&mut b, at, PT_LOAD);
            put32(&mut b, at + 0x04, 0x1000 * i as u32);
            put32(&mut b, at + 0x1c, *align);
        }
        b
    }

    #[test]
    fn thirty_two_bit_libraries_are_read_in_either_byte_order() {
        for be in [false, true] {
            assert_eq!(
                load_segments(&elf32(be, [0x4000, 0x10000])).unwrap(),
                vec![Load { offset: 0, align: 0x4000 }, Load { offset: 0x1000, align: 0x10000 }]
            );
            assert_eq!(check_bytes(&elf32(be, [0x4000, 0x4000])), Ok(()));
            let e = check_bytes(&elf32(be, [0x4000, 0x1000])).unwrap_err();
            assert!(e.contains("offset 0x1000 aligned to 0x1000"), "{e}");
        }
    }

    #[test]
    fn what_is_not_an_elf_library_is_refused() {
        assert_eq!(load_segments(b"PK\x03\x04 not elf"), Err("not an ELF file".to_owned()));
        let mut truncated = elf32(false, [0x4000, 0x4000]);
        truncated.truncate(0x60);
        assert!(load_segments(&truncated).unwrap_err().contains("truncated"));
        let mut no_load = elf32(false, [0x4000, 0x4000]);
        no_load[0x2c] = 1; // only the PT_PHDR header remains
        assert_eq!(load_segments(&no_load), Err("no PT_LOAD segment".to_owned()));
    }
}
