//! Upload, the parts below the uploader thread (`crate::uploader`): the
//! HTTP contract, the retry policy, the flush report and the default client.

pub mod flush;
pub mod http;
pub mod policy;
#[cfg(feature = "ureq-client")]
pub mod ureq_client;
