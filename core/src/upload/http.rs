//! The HTTP client contract. The platforms plug their own client (OkHttp,
//! URLSession); the Rust ureq client is the default.
//!
//! Completion contract: `send` hands over a [`Completion`] that must be
//! completed once. The SDK waits at most the request timeout plus a grace
//! period; a client that never answers, or drops the completion unanswered,
//! counts as a failed attempt and the batch stays queued. A completion
//! delivered late, or twice, is ignored.

use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};

/// One upload request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// The URL to POST to.
    pub url: String,
    /// Header name and value pairs (`Content-Type: application/json`).
    pub headers: Vec<(String, String)>,
    /// The JSON body.
    pub body: Vec<u8>,
    /// The client should give up after this long.
    pub timeout_ms: u64,
}

/// How a request failed before any HTTP status was received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailureKind {
    /// No answer within the timeout.
    Timeout,
    /// DNS, connection refused or reset, TLS, malformed response.
    Network,
    /// Anything else (a redirect refused, a client's own error).
    Other,
}

/// What became of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HttpOutcome {
    /// The server answered with a status.
    Response {
        /// The HTTP status.
        status: u16,
        /// The raw `Retry-After` header, if any.
        retry_after: Option<String>,
        /// The body of a 2xx answer when the client read it (empty
        /// otherwise): a dialect may find in it what the collector
        /// counted (Matomo's `{"tracked":n,"invalid":m}`).
        body: Vec<u8>,
    },
    /// No status arrived.
    Failed {
        /// How it failed.
        kind: FailureKind,
        /// What the client said.
        message: String,
    },
}

impl HttpOutcome {
    /// The status the server answered, if one arrived.
    pub(crate) fn status(&self) -> Option<u16> {
        match self {
            HttpOutcome::Response { status, .. } => Some(*status),
            HttpOutcome::Failed { .. } => None,
        }
    }
}

/// The one-shot answer channel of a request.
#[derive(Debug, Clone)]
pub struct Completion {
    slot: Arc<Mutex<Option<SyncSender<HttpOutcome>>>>,
}

impl Completion {
    /// A completion and the receiver the SDK waits on.
    pub fn pair() -> (Completion, Receiver<HttpOutcome>) {
        let (tx, rx) = mpsc::sync_channel(1);
        (Completion { slot: Arc::new(Mutex::new(Some(tx))) }, rx)
    }

    /// Delivers the outcome. Returns false when it was already delivered (the
    /// later answer is ignored).
    pub fn complete(&self, outcome: HttpOutcome) -> bool {
        let sender = match self.slot.lock() {
            Ok(mut g) => g.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        match sender {
            // A send error means the SDK stopped waiting (timeout): ignored.
            Some(tx) => tx.try_send(outcome).is_ok(),
            None => false,
        }
    }
}

/// An HTTP client the uploader can use.
pub trait HttpClient: Send + Sync + 'static {
    /// Starts `request` and completes `completion` when it ends, on any thread.
    fn send(&self, request: HttpRequest, completion: Completion);
}

/// The client of a dry run: the uploader never calls it (it answers for the
/// collector itself); should it be called, the attempt fails.
pub(crate) struct DryRun;

impl HttpClient for DryRun {
    fn send(&self, _request: HttpRequest, completion: Completion) {
        completion.complete(HttpOutcome::Failed { kind: FailureKind::Other, message: "dry run: nothing is sent".into() });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completion_is_one_shot() {
        let (c, rx) = Completion::pair();
        let c2 = c.clone();
        assert!(c.complete(HttpOutcome::Response { status: 200, retry_after: None, body: Vec::new() }));
        assert!(!c2.complete(HttpOutcome::Response { status: 500, retry_after: None, body: Vec::new() }));
        assert_eq!(rx.recv().unwrap(), HttpOutcome::Response { status: 200, retry_after: None, body: Vec::new() });
    }

    #[test]
    fn dropped_completion_disconnects() {
        let (c, rx) = Completion::pair();
        drop(c);
        assert!(rx.recv().is_err());
    }
}
