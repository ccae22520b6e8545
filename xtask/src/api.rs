//! The public API, listed as text and committed under `api/`, so that CI
//! fails on a change nobody reviewed (issue 12, item 8).
//!
//! - `api/mesure-core.txt`: the Rust crate, from rustdoc's JSON output (the
//!   installed stable toolchain, its unstable `--output-format json` enabled
//!   with `RUSTC_BOOTSTRAP=1`): one line per public item, re-exports
//!   resolved to the path an app writes, signatures rendered from the types.
//!   `#[doc(hidden)]` items (the `testing` hooks) are not part of it.
//! - `api/kotlin.txt`: what the JVM sees of the wrapper and the generated
//!   bindings, `javap -public` on the classes `test-kotlin` compiles.
//! - `api/swift.txt`: the `public`/`open` declarations of the Swift wrapper
//!   and the generated bindings, each under the types that enclose it.
//!
//! `cargo xtask api` checks all three (`test-rust` checks the Rust and
//! Swift listings, `test-kotlin` the Kotlin one); `cargo xtask api --bless`
//! rewrites them after a reviewed change.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::util::{cargo, files_with_extension, output, root, target_dir, Result};
use crate::{bindings, kotlin};

/// Compares `actual` with `api/<name>.txt`, or writes it there when `bless`.
pub fn check(name: &str, actual: &str, bless: bool) -> Result<()> {
    let committed = root().join("api").join(format!("{name}.txt"));
    if bless {
        std::fs::create_dir_all(root().join("api")).map_err(|e| e.to_string())?;
        std::fs::write(&committed, actual).map_err(|e| format!("{}: {e}", committed.display()))?;
        eprintln!("xtask: wrote {} ({} lines)", committed.display(), actual.lines().count());
        return Ok(());
    }
    let expected = std::fs::read_to_string(&committed).unwrap_or_default();
    if expected == actual {
        eprintln!("xtask: public API {name}: unchanged ({} lines)", actual.lines().count());
        return Ok(());
    }
    let fresh = target_dir().join("api").join(format!("{name}.txt"));
    let _ = std::fs::create_dir_all(target_dir().join("api"));
    let _ = std::fs::write(&fresh, actual);
    let diff = line_diff(&expected, actual);
    Err(format!(
        "the public API {name} differs from {}:\n{}\nthe new listing is in {}; if the change is intended, review it and run `cargo xtask api --bless`",
        committed.display(),
        diff,
        fresh.display()
    ))
}

/// Lines removed (`-`) and added (`+`), as sets: enough to review a listing whose lines are unique.
pub fn line_diff(expected: &str, actual: &str) -> String {
    let old: BTreeSet<&str> = expected.lines().collect();
    let new: BTreeSet<&str> = actual.lines().collect();
    let mut out: Vec<String> = old.difference(&new).map(|l| format!("- {l}")).collect();
    out.extend(new.difference(&old).map(|l| format!("+ {l}")));
    if out.is_empty() {
        out.push("(the same lines in another order)".into());
    }
    out.join("\n")
}

/// `cargo xtask api [--bless]`: the three listings.
pub fn api(bless: bool) -> Result<()> {
    check("mesure-core", &rust_listing()?, bless)?;
    check("swift", &swift_listing()?, bless)?;
    let classes = kotlin::compile_for_listing()?;
    check("kotlin", &kotlin_listing(&classes)?, bless)
}

// ---------------------------------------------------------------- Rust

/// The public API of mesure-core, one item per line, sorted.
pub fn rust_listing() -> Result<String> {
    // A directory of its own: RUSTC_BOOTSTRAP changes the fingerprints.
    let dir = target_dir().join("api-rustdoc");
    crate::util::run(
        cargo()
            .args(["rustdoc", "-q", "-p", "mesure-core", "--lib", "--", "-Z", "unstable-options", "--output-format", "json"])
            .env("RUSTC_BOOTSTRAP", "1")
            .env("CARGO_TARGET_DIR", &dir),
    )?;
    let json = dir.join("doc/mesure_core.json");
    let text = std::fs::read_to_string(&json).map_err(|e| format!("{}: {e}", json.display()))?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", json.display()))?;
    Ok(render_crate(&doc))
}

/// Every public item of a rustdoc JSON document, walked from the root
/// module through public modules and re-exports.
pub fn render_crate(doc: &Value) -> String {
    let index = &doc["index"];
    let root_id = doc["root"].to_string();
    let crate_name = index[&root_id]["name"].as_str().unwrap_or("crate").to_owned();
    let mut lines = BTreeSet::new();
    let mut walker = Walker { index, lines: &mut lines, seen: BTreeSet::new() };
    walker.module(&root_id, &crate_name);
    let mut out = String::new();
    for l in lines {
        out.push_str(&l);
        out.push('\n');
    }
    out
}

struct Walker<'a> {
    index: &'a Value,
    lines: &'a mut BTreeSet<String>,
    seen: BTreeSet<(String, String)>,
}

impl Walker<'_> {
    fn item(&self, id: &str) -> &Value {
        &self.index[id]
    }

    /// A tuple struct's or variant's field types (`_` for a hidden one).
    fn tuple_fields(&self, ids: &Value) -> String {
        let fields: Vec<String> = ids
            .as_array()
            .map(|a| a.iter().map(|f| if f.is_null() { "_".into() } else { ty(&self.item(&f.to_string())["inner"]["struct_field"]) }).collect())
            .unwrap_or_default();
        fields.join(", ")
    }

    fn module(&mut self, id: &str, path: &str) {
        let items: Vec<String> =
            self.item(id)["inner"]["module"]["items"].as_array().map(|a| a.iter().map(|v| v.to_string()).collect()).unwrap_or_default();
        for child in items {
            let it = self.item(&child).clone();
            if it.is_null() || it["visibility"] != "public" {
                continue;
            }
            if let Some(u) = it["inner"].get("use") {
                let name = u["name"].as_str().unwrap_or("_");
                let target = u["id"].to_string();
                if u["is_glob"].as_bool() == Some(true) {
                    self.lines.insert(format!("pub use {path}::{}::*", u["source"].as_str().unwrap_or("?")));
                } else if self.item(&target).is_null() {
                    self.lines.insert(format!("pub use {path}::{name} = {}", u["source"].as_str().unwrap_or("?")));
                } else {
                    self.emit(&target, &format!("{path}::{name}"));
                }
            } else {
                let name = it["name"].as_str().unwrap_or("_");
                self.emit(&child, &format!("{path}::{name}"));
            }
        }
    }

    fn emit(&mut self, id: &str, path: &str) {
        if !self.seen.insert((id.to_owned(), path.to_owned())) {
            return;
        }
        let it = self.item(id).clone();
        let attrs = attrs_of(&it);
        let inner = &it["inner"];
        if inner.get("module").is_some() {
            self.lines.insert(format!("{attrs}pub mod {path}"));
            self.module(id, path);
        } else if let Some(s) = inner.get("struct") {
            self.lines.insert(format!("{attrs}pub struct {path}{}", generics_decl(&s["generics"])));
            let kind = &s["kind"];
            if let Some(plain) = kind.get("plain") {
                for f in ids(&plain["fields"]) {
                    let f = self.item(&f);
                    if f["visibility"] == "public" {
                        self.lines.insert(format!("pub {path}::{}: {}", f["name"].as_str().unwrap_or("_"), ty(&f["inner"]["struct_field"])));
                    }
                }
            } else if let Some(tuple) = kind.get("tuple") {
                self.lines.insert(format!("pub {path}({})", self.tuple_fields(tuple)));
            }
            self.impls(&s["impls"], path);
        } else if let Some(e) = inner.get("enum") {
            self.lines.insert(format!("{attrs}pub enum {path}{}", generics_decl(&e["generics"])));
            for v in ids(&e["variants"]) {
                let v = self.item(&v).clone();
                let vpath = format!("{path}::{}", v["name"].as_str().unwrap_or("_"));
                let kind = &v["inner"]["variant"]["kind"];
                if let Some(fields) = kind.get("struct") {
                    let names: Vec<String> = ids(&fields["fields"])
                        .iter()
                        .map(|f| {
                            let f = self.item(f);
                            format!("{}: {}", f["name"].as_str().unwrap_or("_"), ty(&f["inner"]["struct_field"]))
                        })
                        .collect();
                    self.lines.insert(format!("{}pub variant {vpath} {{ {} }}", attrs_of(&v), names.join(", ")));
                } else if let Some(tuple) = kind.get("tuple") {
                    self.lines.insert(format!("{}pub variant {vpath}({})", attrs_of(&v), self.tuple_fields(tuple)));
                } else {
                    self.lines.insert(format!("{}pub variant {vpath}", attrs_of(&v)));
                }
            }
            self.impls(&e["impls"], path);
        } else if let Some(f) = inner.get("function") {
            self.lines.insert(format!("{attrs}{}", function(path, f)));
        } else if let Some(c) = inner.get("constant") {
            // A computed constant's expression is `_` in rustdoc's output: its value then.
            let k = &c["const"];
            let value = if k["is_literal"].as_bool() == Some(true) { k["expr"].as_str() } else { k["value"].as_str().or(k["expr"].as_str()) };
            self.lines.insert(format!("pub const {path}: {} = {}", ty(&c["type"]), value.unwrap_or("?")));
        } else if let Some(s) = inner.get("static") {
            self.lines.insert(format!("pub static {path}: {}", ty(&s["type"])));
        } else if let Some(t) = inner.get("type_alias") {
            self.lines.insert(format!("pub type {path}{} = {}", generics_decl(&t["generics"]), ty(&t["type"])));
        } else if let Some(t) = inner.get("trait") {
            self.lines.insert(format!("{attrs}pub trait {path}{}", generics_decl(&t["generics"])));
            for m in ids(&t["items"]) {
                let m = self.item(&m).clone();
                let mpath = format!("{path}::{}", m["name"].as_str().unwrap_or("_"));
                if let Some(f) = m["inner"].get("function") {
                    self.lines.insert(function(&mpath, f));
                } else if m["inner"].get("assoc_type").is_some() {
                    self.lines.insert(format!("type {mpath}"));
                }
            }
        } else if inner.get("macro").is_some() {
            self.lines.insert(format!("macro {path}!"));
        } else {
            let kind = inner.as_object().and_then(|o| o.keys().next().cloned()).unwrap_or_default();
            self.lines.insert(format!("{kind} {path}"));
        }
    }

    /// Inherent methods and constants, and the names of the traits implemented
    /// (auto traits and blanket implementations are left out: the compiler
    /// derives them).
    fn impls(&mut self, impls: &Value, path: &str) {
        for id in ids(impls) {
            let imp = self.item(&id).clone();
            let i = &imp["inner"]["impl"];
            if i["is_synthetic"].as_bool() == Some(true) || !i["blanket_impl"].is_null() {
                continue;
            }
            if i["trait"].is_null() {
                for m in ids(&i["items"]) {
                    let m = self.item(&m).clone();
                    if m["visibility"] != "public" {
                        continue;
                    }
                    let mpath = format!("{path}::{}", m["name"].as_str().unwrap_or("_"));
                    if let Some(f) = m["inner"].get("function") {
                        self.lines.insert(format!("{}{}", attrs_of(&m), function(&mpath, f)));
                    } else if let Some(c) = m["inner"].get("assoc_const") {
                        self.lines.insert(format!("pub const {mpath}: {}", ty(&c["type"])));
                    }
                }
            } else {
                let t = &i["trait"];
                let neg = if i["is_negative"].as_bool() == Some(true) { "!" } else { "" };
                self.lines.insert(format!(
                    "impl{} {neg}{}{} for {path}",
                    generics_decl(&i["generics"]),
                    last(t["path"].as_str().unwrap_or("?")),
                    args(&t["args"])
                ));
            }
        }
    }
}

fn ids(v: &Value) -> Vec<String> {
    v.as_array().map(|a| a.iter().map(|x| x.to_string()).collect()).unwrap_or_default()
}

/// `#[non_exhaustive] `, the attribute that matters to semver, or nothing.
fn attrs_of(it: &Value) -> String {
    let mut out = String::new();
    for a in it["attrs"].as_array().into_iter().flatten() {
        let text = a.to_string();
        if text.contains("non_exhaustive") {
            out.push_str("#[non_exhaustive] ");
        }
    }
    out
}

fn last(path: &str) -> &str {
    path.rsplit("::").next().unwrap_or(path)
}

fn function(path: &str, f: &Value) -> String {
    let h = &f["header"];
    let mut q = String::new();
    if h["is_const"].as_bool() == Some(true) {
        q.push_str("const ");
    }
    if h["is_async"].as_bool() == Some(true) {
        q.push_str("async ");
    }
    if h["is_unsafe"].as_bool() == Some(true) {
        q.push_str("unsafe ");
    }
    let inputs: Vec<String> = f["sig"]["inputs"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let name = p[0].as_str().unwrap_or("_");
            let t = &p[1];
            if name == "self" {
                match ty(t).as_str() {
                    "Self" => "self".into(),
                    "&Self" => "&self".into(),
                    "&mut Self" => "&mut self".into(),
                    other => format!("self: {other}"),
                }
            } else {
                format!("{name}: {}", ty(t))
            }
        })
        .collect();
    let out = &f["sig"]["output"];
    let ret = if out.is_null() { String::new() } else { format!(" -> {}", ty(out)) };
    format!("pub {q}fn {path}{}({}){ret}{}", generics_decl(&f["generics"]), inputs.join(", "), where_clause(&f["generics"]))
}

/// `<T: Bound, 'a>`: lifetimes, types (not the synthetic ones of `impl Trait` arguments) and consts.
fn generics_decl(g: &Value) -> String {
    let params: Vec<String> = g["params"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let name = p["name"].as_str().unwrap_or("_");
            let kind = &p["kind"];
            if let Some(t) = kind.get("type") {
                if t["is_synthetic"].as_bool() == Some(true) {
                    return None;
                }
                let b = bounds(&t["bounds"]);
                Some(if b.is_empty() { name.to_owned() } else { format!("{name}: {b}") })
            } else if let Some(c) = kind.get("const") {
                Some(format!("const {name}: {}", ty(&c["type"])))
            } else {
                Some(name.to_owned())
            }
        })
        .collect();
    if params.is_empty() {
        String::new()
    } else {
        format!("<{}>", params.join(", "))
    }
}

fn where_clause(g: &Value) -> String {
    let preds: Vec<String> = g["where_predicates"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p.get("bound_predicate").map(|b| format!("{}: {}", ty(&b["type"]), bounds(&b["bounds"]))))
        .collect();
    if preds.is_empty() {
        String::new()
    } else {
        format!(" where {}", preds.join(", "))
    }
}

fn bounds(b: &Value) -> String {
    b.as_array()
        .into_iter()
        .flatten()
        .map(|b| {
            if let Some(t) = b.get("trait_bound") {
                let m = if t["modifier"] == "maybe" { "?" } else { "" };
                format!("{m}{}{}", last(t["trait"]["path"].as_str().unwrap_or("?")), args(&t["trait"]["args"]))
            } else if let Some(l) = b.get("outlives") {
                l.as_str().unwrap_or("'_").to_owned()
            } else {
                "?".into()
            }
        })
        .collect::<Vec<_>>()
        .join(" + ")
}

fn args(a: &Value) -> String {
    if let Some(ab) = a.get("angle_bracketed") {
        let mut parts: Vec<String> = ab["args"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|g| {
                if let Some(t) = g.get("type") {
                    ty(t)
                } else if let Some(l) = g.get("lifetime") {
                    l.as_str().unwrap_or("'_").to_owned()
                } else if let Some(c) = g.get("const") {
                    c["expr"].as_str().unwrap_or("?").to_owned()
                } else {
                    "_".into()
                }
            })
            .collect();
        for c in ab["constraints"].as_array().into_iter().flatten() {
            let name = c["name"].as_str().unwrap_or("?");
            if let Some(eq) = c["binding"].get("equality") {
                parts.push(format!("{name} = {}", eq.get("type").map(ty).unwrap_or_else(|| "?".into())));
            } else if let Some(b) = c["binding"].get("constraint") {
                parts.push(format!("{name}: {}", bounds(b)));
            }
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!("<{}>", parts.join(", "))
        }
    } else if let Some(p) = a.get("parenthesized") {
        let inputs: Vec<String> = p["inputs"].as_array().into_iter().flatten().map(ty).collect();
        let out = if p["output"].is_null() { String::new() } else { format!(" -> {}", ty(&p["output"])) };
        format!("({}){out}", inputs.join(", "))
    } else {
        String::new()
    }
}

/// A type as it would be written, paths cut to their last segment.
pub fn ty(t: &Value) -> String {
    if let Some(p) = t.get("resolved_path") {
        format!("{}{}", last(p["path"].as_str().unwrap_or("?")), args(&p["args"]))
    } else if let Some(g) = t.get("generic") {
        g.as_str().unwrap_or("?").to_owned()
    } else if let Some(p) = t.get("primitive") {
        p.as_str().unwrap_or("?").to_owned()
    } else if let Some(items) = t.get("tuple") {
        let parts: Vec<String> = items.as_array().into_iter().flatten().map(ty).collect();
        format!("({})", parts.join(", "))
    } else if let Some(s) = t.get("slice") {
        format!("[{}]", ty(s))
    } else if let Some(a) = t.get("array") {
        format!("[{}; {}]", ty(&a["type"]), a["len"].as_str().unwrap_or("?"))
    } else if let Some(r) = t.get("borrowed_ref") {
        let lt = r["lifetime"].as_str().map(|l| format!("{l} ")).unwrap_or_default();
        let m = if r["is_mutable"].as_bool() == Some(true) { "mut " } else { "" };
        format!("&{lt}{m}{}", ty(&r["type"]))
    } else if let Some(r) = t.get("raw_pointer") {
        let m = if r["is_mutable"].as_bool() == Some(true) { "mut" } else { "const" };
        format!("*{m} {}", ty(&r["type"]))
    } else if let Some(b) = t.get("impl_trait") {
        format!("impl {}", bounds(b))
    } else if let Some(d) = t.get("dyn_trait") {
        let mut parts: Vec<String> = d["traits"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| format!("{}{}", last(p["trait"]["path"].as_str().unwrap_or("?")), args(&p["trait"]["args"])))
            .collect();
        if let Some(l) = d["lifetime"].as_str() {
            parts.push(l.to_owned());
        }
        format!("dyn {}", parts.join(" + "))
    } else if let Some(f) = t.get("function_pointer") {
        let inputs: Vec<String> = f["sig"]["inputs"].as_array().into_iter().flatten().map(|p| ty(&p[1])).collect();
        let out = if f["sig"]["output"].is_null() { String::new() } else { format!(" -> {}", ty(&f["sig"]["output"])) };
        format!("fn({}){out}", inputs.join(", "))
    } else if let Some(q) = t.get("qualified_path") {
        let tr = if q["trait"].is_null() { String::new() } else { format!(" as {}", last(q["trait"]["path"].as_str().unwrap_or("?"))) };
        format!("<{}{tr}>::{}", ty(&q["self_type"]), q["name"].as_str().unwrap_or("?"))
    } else if t.get("infer").is_some() || t == "infer" {
        "_".into()
    } else {
        "?".into()
    }
}

// ---------------------------------------------------------------- Kotlin

/// `javap -public` of every class under `dirs`, by class name.
pub fn kotlin_listing(dirs: &[PathBuf]) -> Result<String> {
    let mut out = String::new();
    for dir in dirs {
        let classes = files_with_extension(dir, "class");
        for chunk in classes.chunks(200) {
            let text = output(Command::new("javap").arg("-public").args(chunk))?;
            out.push_str(&normalize_javap(&text));
        }
    }
    Ok(out)
}

/// Drops `Compiled from` lines (they name source files, not API) and the
/// compiler's synthetic members (`access$...` accessors, `...$default`
/// stubs, `DefaultConstructorMarker` constructors): they follow the
/// implementation, no caller writes them.
pub fn normalize_javap(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        if line.starts_with("Compiled from")
            || line.trim().is_empty()
            || line.contains("access$")
            || line.contains("$default(")
            || line.contains("DefaultConstructorMarker")
        {
            continue;
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

// ---------------------------------------------------------------- Swift

/// The public declarations of the Swift wrapper and of the generated
/// bindings, file by file.
pub fn swift_listing() -> Result<String> {
    let generated = bindings::generate("swift")?;
    let files = files_with_extension(&root().join("ios/Sources"), "swift");
    let generated_files = files_with_extension(&generated, "swift");
    let mut out = String::new();
    for (label, file) in files.iter().map(|f| (f.strip_prefix(root()).unwrap_or(f).display().to_string(), f)).chain(
        generated_files.iter().map(|f| (format!("(generated) {}", f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()), f)),
    ) {
        let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        for decl in swift_public_declarations(&text) {
            out.push_str(&format!("{label}: {decl}\n"));
        }
    }
    Ok(out)
}

/// Each `public` or `open` declaration, prefixed with the types and
/// extensions that enclose it (`MesureSDK.track(...)`); bodies, comments and
/// string contents are skipped.
pub fn swift_public_declarations(text: &str) -> Vec<String> {
    struct Scope {
        name: String,
        depth: usize,
        public_enum: bool,
    }
    let mut out = Vec::new();
    let mut scopes: Vec<Scope> = Vec::new();
    let mut depth = 0usize;
    // A type or extension whose body opens at the next `{`: (name, public enum).
    let mut pending: Option<(String, bool)> = None;
    // A public declaration spread over lines, until its parentheses balance.
    let mut partial: Option<String> = None;
    let mut in_block_comment = false;
    let mut in_multiline_string = false;
    for raw in text.lines() {
        let line = strip_swift_line(raw, &mut in_block_comment, &mut in_multiline_string);
        let trimmed = line.trim();
        if let Some(mut decl) = partial.take() {
            decl.push(' ');
            decl.push_str(trimmed.split('{').next().unwrap_or("").trim_end());
            if balanced(&decl) {
                // Comment lines inside a signature leave blanks: one space between words.
                out.push(decl.split_whitespace().collect::<Vec<_>>().join(" "));
            } else {
                partial = Some(decl);
            }
        } else if !trimmed.is_empty() {
            let decl = trimmed.split('{').next().unwrap_or("").trim_end();
            let words: Vec<&str> = decl.split_whitespace().collect();
            let modifiers: Vec<&str> = words.iter().copied().take_while(|w| is_modifier(w)).collect();
            let is_public = modifiers.iter().any(|w| *w == "public" || *w == "open" || w.starts_with("public("));
            let kind = words.get(modifiers.len()).copied().unwrap_or("");
            if matches!(kind, "class" | "struct" | "enum" | "protocol" | "actor" | "extension") {
                let name = words.get(modifiers.len() + 1).map(|n| n.split([':', '<', '{']).next().unwrap_or(n).to_owned()).unwrap_or_default();
                pending = Some((name, is_public && kind == "enum"));
            }
            let innermost = scopes.last();
            let at_member_level = depth == innermost.map(|s| s.depth).unwrap_or(0);
            let public_case = kind == "case" && innermost.is_some_and(|s| s.public_enum);
            if (is_public || public_case) && at_member_level {
                let prefix: Vec<&str> = scopes.iter().map(|s| s.name.as_str()).collect();
                let decl = words.join(" ");
                let decl = if prefix.is_empty() { decl } else { format!("{}: {decl}", prefix.join(".")) };
                if balanced(&decl) {
                    out.push(decl);
                } else {
                    partial = Some(decl);
                }
            }
        }
        for c in line.chars() {
            match c {
                '{' => {
                    depth += 1;
                    if let Some((name, public_enum)) = pending.take() {
                        scopes.push(Scope { name, depth, public_enum });
                    }
                }
                '}' => {
                    if scopes.last().is_some_and(|s| s.depth == depth) {
                        scopes.pop();
                    }
                    depth = depth.saturating_sub(1);
                }
                _ => {}
            }
        }
    }
    out
}

fn balanced(decl: &str) -> bool {
    decl.matches('(').count() <= decl.matches(')').count()
}

/// Declaration modifiers and attributes (`class` is left out: it is also a declaration).
fn is_modifier(w: &str) -> bool {
    w.starts_with('@')
        || w.starts_with("public(")
        || matches!(
            w,
            "public"
                | "open"
                | "final"
                | "static"
                | "override"
                | "required"
                | "convenience"
                | "mutating"
                | "nonmutating"
                | "nonisolated"
                | "indirect"
                | "dynamic"
                | "lazy"
                | "weak"
                | "unowned"
                | "internal"
                | "private"
                | "fileprivate"
        )
}

/// The line without comments and string contents, tracking `/* */` and `"""` across lines.
fn strip_swift_line(line: &str, in_block: &mut bool, in_multi: &mut bool) -> String {
    let mut out = String::new();
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    let mut in_string = false;
    while i < chars.len() {
        let rest: String = chars[i..].iter().take(3).collect();
        if *in_block {
            if rest.starts_with("*/") {
                *in_block = false;
                i += 2;
            } else {
                i += 1;
            }
            continue;
        }
        if *in_multi {
            if rest == "\"\"\"" {
                *in_multi = false;
                out.push_str("\"\"");
                i += 3;
            } else {
                i += 1;
            }
            continue;
        }
        if in_string {
            if chars[i] == '\\' {
                i += 2;
                continue;
            }
            if chars[i] == '"' {
                in_string = false;
                out.push('"');
            }
            i += 1;
            continue;
        }
        if rest == "\"\"\"" {
            *in_multi = true;
            i += 3;
            continue;
        }
        if rest.starts_with("//") {
            break;
        }
        if rest.starts_with("/*") {
            *in_block = true;
            i += 2;
            continue;
        }
        if chars[i] == '"' {
            in_string = true;
            out.push('"');
            i += 1;
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swift_declarations_are_scoped_and_bodies_skipped() {
        let src = r#"
import Foundation
/// Docs { not a brace }
public final class MesureSDK: Sendable {
    public let strict: Bool
    private var queue = "{"
    public func track(_ event: String, properties: [String: Any?] = [:]) {
        let x = "public func hidden() {"
        if true { public_thing() }
    }
    /* public func commented() */
    public enum Kind {
        case a
        case b(String)
    }
    public init(
        /// Doc comments between parameters leave no trace.
        strict: Bool,

        name: String
    ) {}
}
extension MesureSDK {
    public static func start() -> MesureSDK { fatalError() }
}
struct Internal {
    var notPublic: Int
}
"#;
        let got = swift_public_declarations(src);
        assert_eq!(
            got,
            vec![
                "public final class MesureSDK: Sendable",
                "MesureSDK: public let strict: Bool",
                "MesureSDK: public func track(_ event: String, properties: [String: Any?] = [:])",
                "MesureSDK: public enum Kind",
                "MesureSDK.Kind: case a",
                "MesureSDK.Kind: case b(String)",
                "MesureSDK: public init( strict: Bool, name: String )",
                "MesureSDK: public static func start() -> MesureSDK",
            ]
        );
    }

    #[test]
    fn rust_items_render_with_their_signatures() {
        let doc: Value = serde_json::from_str(
            r#"{"root": 0, "index": {
            "0": {"name": "demo", "visibility": "public", "attrs": [], "inner": {"module": {"items": [1, 2, 5]}}},
            "1": {"name": "f", "visibility": "public", "attrs": [], "inner": {"function": {
                "sig": {"inputs": [["name", {"borrowed_ref": {"lifetime": null, "is_mutable": false, "type": {"primitive": "str"}}}]],
                        "output": {"resolved_path": {"path": "std::result::Result", "id": 9, "args": {"angle_bracketed": {"args": [{"type": {"tuple": []}}, {"type": {"resolved_path": {"path": "crate::E", "id": 2, "args": null}}}], "constraints": []}}}}},
                "generics": {"params": [], "where_predicates": []}, "header": {"is_const": false, "is_unsafe": false, "is_async": false}}}},
            "2": {"name": "E", "visibility": "public", "attrs": ["non_exhaustive"], "inner": {"enum": {"generics": {"params": [], "where_predicates": []}, "variants": [3], "impls": []}}},
            "3": {"name": "Bad", "visibility": "default", "attrs": [], "inner": {"variant": {"kind": {"tuple": [4]}}}},
            "4": {"name": "0", "visibility": "default", "attrs": [], "inner": {"struct_field": {"primitive": "u16"}}},
            "5": {"name": null, "visibility": "public", "attrs": [], "inner": {"use": {"source": "inner::Alias", "name": "Alias", "id": 2, "is_glob": false}}}
        }}"#,
        )
        .unwrap();
        assert_eq!(
            render_crate(&doc),
            "#[non_exhaustive] pub enum demo::Alias\n\
             #[non_exhaustive] pub enum demo::E\n\
             pub fn demo::f(name: &str) -> Result<(), E>\n\
             pub variant demo::Alias::Bad(u16)\n\
             pub variant demo::E::Bad(u16)\n"
        );
    }

    #[test]
    fn javap_listing_keeps_what_callers_write() {
        let text = "Compiled from \"Mesure.kt\"\npublic final class eu.mesure.Mesure {\n  public final void track(java.lang.String);\n  public static void track$default(eu.mesure.Mesure, java.lang.String, int, java.lang.Object);\n  public static final long access$delete(eu.mesure.Mesure);\n  public eu.mesure.Mesure(int, kotlin.jvm.internal.DefaultConstructorMarker);\n}\n";
        assert_eq!(normalize_javap(text), "public final class eu.mesure.Mesure {\n  public final void track(java.lang.String);\n}\n");
    }

    #[test]
    fn the_diff_names_removed_and_added_lines() {
        assert_eq!(line_diff("a\nb\n", "b\nc\n"), "- a\n+ c");
    }
}
