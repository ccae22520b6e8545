//! Documentation checks, run by `cargo xtask test-rust`:
//!
//! - every public item of `mesure-core` and `mesure-ffi` is documented, and
//!   no doc link is broken (`cargo doc` with warnings denied; both crates
//!   carry `#![warn(missing_docs)]`);
//! - the FFI's doc comments reach the generated Kotlin and Swift: each line
//!   of the doc of every exported item (function, method, record, field,
//!   enum, variant, foreign trait method) appears in both generated sources.

use std::path::Path;

use crate::bindings;
use crate::util::{cargo, root, run, Result};

pub fn check() -> Result<()> {
    run(cargo().args(["doc", "--no-deps", "-p", "mesure-core", "-p", "mesure-ffi"]).env("RUSTDOCFLAGS", "-D warnings"))?;
    let docs = exported_docs(&root().join("bindings/src"))?;
    for language in ["kotlin", "swift"] {
        let dir = bindings::generate(language)?;
        let generated = read_tree(&dir)?;
        let missing: Vec<&String> = docs.iter().filter(|line| !generated.contains(line.as_str())).collect();
        if !missing.is_empty() {
            return Err(format!("{} FFI doc lines are missing from the generated {language}: {missing:#?}", missing.len()));
        }
        eprintln!("xtask: {} FFI doc lines found in the generated {language}", docs.len());
    }
    Ok(())
}

fn read_tree(dir: &Path) -> Result<String> {
    let mut out = String::new();
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_dir() {
            out.push_str(&read_tree(&path)?);
        } else if matches!(path.extension().and_then(|e| e.to_str()), Some("kt" | "swift")) {
            out.push_str(&std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?);
        }
    }
    Ok(out)
}

/// The doc lines of the items the FFI exports, read from its sources.
fn exported_docs(src: &Path) -> Result<Vec<String>> {
    let mut lines = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(src)
        .map_err(|e| format!("{}: {e}", src.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("rs"))
        .collect();
    files.sort();
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        lines.extend(docs_of_exported_items(&text));
    }
    Ok(lines)
}

/// Doc lines followed (after attributes) by an exported item: `pub` items
/// other than `pub(crate)`, fields and enum variants of public types, and
/// the methods of public traits. Docs of private helpers and of trait
/// impls are skipped, and so are those of what UniFFI does not export: a
/// constant, a hand-written `extern "C"` function (the Kotlin wrapper's
/// direct-mapped call), a private field. Blocks inside `#[cfg(test)]`
/// modules are skipped.
pub fn docs_of_exported_items(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut pending: Vec<String> = Vec::new();
    let mut in_pub_type = false; // a `pub struct`, `pub enum` or `pub trait` body
    for raw in text.lines() {
        if raw.starts_with("#[cfg(test)]") {
            break;
        }
        let line = raw.trim();
        if let Some(doc) = line.strip_prefix("///") {
            pending.push(doc.trim().to_owned());
            continue;
        }
        if line.starts_with("#[") || line.is_empty() {
            continue;
        }
        let top_level = !raw.starts_with(' ');
        if top_level {
            in_pub_type = ["pub struct ", "pub enum ", "pub trait "].iter().any(|p| line.starts_with(p));
        }
        let exported = if top_level {
            line.starts_with("pub ") && !line.starts_with("pub(") && !line.starts_with("pub const ") && !line.contains("extern \"C\"")
        } else if line.starts_with("pub(") {
            false
        } else {
            // A field, a variant, a trait method, or a method of an exported impl.
            in_pub_type || line.starts_with("pub fn ")
        };
        if exported {
            out.extend(pending.drain(..).filter(|d| !d.is_empty()));
        }
        pending.clear();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::docs_of_exported_items;

    #[test]
    fn only_exported_items_docs_are_collected() {
        let src = r#"
/// Exported function.
#[uniffi::export]
pub fn exported() {}

/// Private helper.
fn helper() {}

/// Crate-only.
pub(crate) fn internal() {}

/// A record.
pub struct Record {
    /// A field.
    pub field: i64,
}

/// A constant: UniFFI exports none.
pub const ANSWER: i64 = 0;

/// A hand-written C function, outside UniFFI.
#[no_mangle]
pub unsafe extern "C" fn by_hand(len: i32) -> i64 { 0 }

/// An enum.
pub enum Kind {
    /// A variant.
    First,
    /// Another, with a field.
    Second {
        /// Its field.
        value: String,
    },
}

impl Adapter {
    /// An adapter's method, not exported.
    fn adapt(&self) {}
}

#[uniffi::export]
impl Object {
    /// A method.
    pub fn method(&self) {}
    /// Crate-only method.
    pub(crate) fn hidden(&self) {}
}

#[cfg(test)]
mod tests {
    /// A test helper.
    pub fn helper() {}
}
"#;
        assert_eq!(
            docs_of_exported_items(src),
            ["Exported function.", "A record.", "A field.", "An enum.", "A variant.", "Another, with a field.", "Its field.", "A method."]
        );
    }
}
