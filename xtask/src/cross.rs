//! The aarch64 Linux cross toolchain: Rust's target, Debian's cross gcc (the
//! linker, and the C compiler of the bundled SQLite) and binutils, and
//! qemu-user to run what it builds. Installed on first use, as root.

use std::path::PathBuf;
use std::process::Command;

use crate::util::{apt_install, cargo, output, run, Result};

pub const AARCH64: &str = "aarch64-unknown-linux-gnu";
/// Debian's aarch64 libraries, for qemu's `-L`.
pub const SYSROOT: &str = "/usr/aarch64-linux-gnu";
pub const STRIP: &str = "aarch64-linux-gnu-strip";
/// Debian's aarch64 binutils (`nm`, `size`) are this prefix and the tool's name.
pub const BINUTILS_PREFIX: &str = "aarch64-linux-gnu-";

/// Installs the Rust target and the Debian packages that are missing
/// (`qemu` adds qemu-user). Err says what could not be installed.
pub fn setup(qemu: bool) -> Result<()> {
    let mut packages = vec!["gcc-aarch64-linux-gnu", "binutils-aarch64-linux-gnu", "libc6-dev-arm64-cross"];
    if qemu {
        packages.push("qemu-user");
    }
    apt_install(&packages)?;
    add_target(AARCH64)
}

/// Installs the Rust standard library of `target` unless rustup has it.
pub fn add_target(target: &str) -> Result<()> {
    let installed = output(Command::new("rustup").args(["target", "list", "--installed"]))?;
    if installed.lines().any(|t| t.trim() == target) {
        return Ok(());
    }
    run(Command::new("rustup").args(["target", "add", target]))
}

/// `qemu-aarch64 -L <sysroot>`, the runner of aarch64 binaries.
pub fn runner() -> String {
    format!("qemu-aarch64 -L {SYSROOT}")
}

/// `cargo` with Debian's cross gcc as aarch64 linker and C compiler, and
/// qemu as the runner of what `cargo test` builds for aarch64.
pub fn cargo_aarch64() -> Command {
    let mut c = cargo();
    c.env("CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER", "aarch64-linux-gnu-gcc")
        .env("CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER", runner())
        .env("CC_aarch64_unknown_linux_gnu", "aarch64-linux-gnu-gcc")
        .env("AR_aarch64_unknown_linux_gnu", "aarch64-linux-gnu-ar");
    c
}

/// Where `cargo build --target aarch64-unknown-linux-gnu --target-dir <dir>` puts `profile`'s output.
pub fn out_dir(dir: &std::path::Path, profile: &str) -> PathBuf {
    dir.join(AARCH64).join(profile)
}
