//! Upload: the HTTP contract, the retry policy, the default client and the
//! background uploader.

pub mod http;
pub mod policy;
pub(crate) mod uploader;
#[cfg(feature = "ureq-client")]
pub mod ureq_client;

pub use http::{Completion, FailureKind, HttpClient, HttpOutcome, HttpRequest};
