//! The SDK's version, at the bottom of the crate: every layer may name it.

/// Version sent as `event_collection_version`.
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");
