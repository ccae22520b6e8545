//! The habits checked before any test runs (`cargo xtask test-rust`, and
//! `cargo xtask lint` alone): the committed `rustfmt.toml` applied
//! everywhere, clippy without a warning on every target, and the doc
//! links of private items resolved too (`docs.rs` checks the public ones).

use std::process::{Command, Stdio};

use crate::util::{cargo, run, Result};

pub fn lint() -> Result<()> {
    for component in ["rustfmt", "clippy"] {
        ensure_component(component)?;
    }
    run(cargo().args(["fmt", "--all", "--check"]))?;
    run(cargo().args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))?;
    run(cargo()
        .args(["doc", "--no-deps", "--document-private-items", "-p", "mesure-core", "-p", "mesure-ffi"])
        // docs.rs builds the public docs after this, over these.
        .env("RUSTDOCFLAGS", "-D warnings"))
}

/// Installs a rustup component when the toolchain lacks it (a clean CI
/// machine has the minimal profile).
fn ensure_component(component: &str) -> Result<()> {
    let probe = if component == "rustfmt" { "fmt" } else { component };
    let present = cargo().args([probe, "--version"]).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success());
    if present {
        return Ok(());
    }
    run(Command::new("rustup").args(["component", "add", component]))
}
