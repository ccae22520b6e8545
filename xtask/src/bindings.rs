//! Builds the FFI library and generates the Kotlin and Swift bindings from it.
//! Generated files go under target/: they are build output, never committed.

use std::path::PathBuf;

use crate::util::{cargo, root, run, target_dir, Result};

/// The debug host library (unstripped: the generator reads its UniFFI metadata).
pub fn build_library() -> Result<PathBuf> {
    // On its own, so uniffi's `cli` feature (wanted by the bindgen) stays out of it.
    run(cargo().args(["build", "-p", "mesure-ffi"]))?;
    let lib = target_dir().join("debug").join(lib_file_name());
    if lib.exists() {
        Ok(lib)
    } else {
        Err(format!("{} was not built", lib.display()))
    }
}

pub fn lib_file_name() -> &'static str {
    if cfg!(target_os = "macos") {
        "libmesure_ffi.dylib"
    } else {
        "libmesure_ffi.so"
    }
}

/// Generates `language` bindings into `target/bindings/<language>` and returns that directory.
pub fn generate(language: &str) -> Result<PathBuf> {
    let lib = build_library()?;
    run(cargo().args(["build", "-p", "uniffi-bindgen"]))?;
    let out = target_dir().join("bindings").join(language);
    let _ = std::fs::remove_dir_all(&out);
    run(std::process::Command::new(target_dir().join("debug/uniffi-bindgen"))
        .current_dir(root().join("bindings"))
        .arg("generate")
        .arg(&lib)
        .args(["--language", language, "--no-format", "--out-dir"])
        .arg(&out))?;
    Ok(out)
}
