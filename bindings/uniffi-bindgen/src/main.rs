//! `cargo run -p uniffi-bindgen -- generate --library <lib> --language kotlin|swift --out-dir <dir>`
//! Built in its own cargo invocation so the `cli` feature never reaches the library.

fn main() {
    uniffi::uniffi_bindgen_main()
}
