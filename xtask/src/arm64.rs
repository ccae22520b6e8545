//! `cargo xtask test-arm64`: the Rust suites of mesure-core and mesure-ffi
//! built for aarch64-unknown-linux-gnu and run under `qemu-aarch64` (Debian's
//! qemu-user), the cross toolchain installed on first use (`cross.rs`). Not
//! part of `.ci/run`: emulation makes it several times slower than
//! `test-rust`. Prints the wall time, pass or fail.
//!
//! A test that re-executes its own binary (the crash test) finds the runner
//! in `MESURE_TEST_RUNNER`: without binfmt_misc the kernel cannot start an
//! aarch64 program by itself.

use std::time::Instant;

use crate::cross::{self, AARCH64};
use crate::util::{run, Result};

pub fn test() -> Result<()> {
    cross::setup(true)?;
    let started = Instant::now();
    let result = run(cross::cargo_aarch64()
        .args(["test", "--no-fail-fast", "--target", AARCH64, "-p", "mesure-core", "-p", "mesure-ffi"])
        .env("MESURE_TEST_RUNNER", cross::runner()));
    eprintln!("xtask: aarch64 suites under qemu: {} in {:.0?}", if result.is_ok() { "passed" } else { "FAILED" }, started.elapsed());
    result
}
