//! Upload: the uploader thread (`uploader.rs`) and what it uses: the wire
//! (`wire/`, one file per collector dialect), the HTTP contract, the retry
//! policy, the flush report and the default client.

pub mod flush;
pub mod http;
pub mod policy;
pub(crate) mod uploader;
#[cfg(feature = "ureq-client")]
pub mod ureq_client;
pub(crate) mod wire;
