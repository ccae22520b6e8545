//! Traits the apps implement (listener, HTTP client, clock) and their
//! adapters to the core's traits.

use std::sync::Arc;

use mesure_core as core;

use crate::error::CallbackError;
use crate::types::{Diagnostic, ModeChange, SdkState};

/// Receives mode changes and diagnostics, one at a time and in order, on
/// the SDK's listener thread (`mesure-listener`), which does nothing else.
/// Calling back into the SDK from it is safe. Hop to your UI thread yourself.
#[uniffi::export(foreign)]
pub trait MesureListener: Send + Sync {
    /// The visitor mode (or the purposes) changed, reported once persisted.
    /// `log_line`: the debug log's line for it, the same on every platform.
    fn on_mode_changed(&self, change: ModeChange, log_line: String) -> Result<(), CallbackError>;
    /// Something held back, refused, sent, or a problem of the SDK's own.
    /// `log_line`: the debug log's line for it (one line, the site first,
    /// never a property value, an app-scoped id shortened).
    fn on_diagnostic(&self, diagnostic: Diagnostic, log_line: String) -> Result<(), CallbackError>;
    /// The state to show: at the start's end, after every mode or purpose
    /// change (right after `on_mode_changed`), when the start fails and
    /// when the SDK stops. `log_line`: the debug log's line for it.
    fn on_state(&self, state: SdkState, log_line: String) -> Result<(), CallbackError>;
}

pub(crate) struct ListenerAdapter {
    pub listener: Arc<dyn MesureListener>,
    /// The site the log lines name.
    pub site: String,
}

impl core::Listener for ListenerAdapter {
    fn on_mode_changed(&self, change: &core::ModeChange) {
        // A throwing listener must not stop the SDK: its error is dropped.
        let _ = self.listener.on_mode_changed(change.into(), change.log_line(&self.site));
    }
    fn on_diagnostic(&self, diagnostic: &core::Diagnostic) {
        let _ = self.listener.on_diagnostic(diagnostic.into(), diagnostic.log_line(&self.site));
    }
    fn on_state(&self, state: &core::SdkState) {
        let _ = self.listener.on_state(state.into(), state.log_line(&self.site));
    }
}

/// An HTTP header.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpHeader {
    /// The header's name.
    pub name: String,
    /// Its value.
    pub value: String,
}

/// One upload request for the platform's HTTP client.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpRequest {
    /// The URL to POST to.
    pub url: String,
    /// Headers to set (`Content-Type`, `User-Agent`); set no others.
    pub headers: Vec<HttpHeader>,
    /// The JSON body.
    pub body: Vec<u8>,
    /// Give up after this long.
    pub timeout_ms: i64,
}

/// How a request failed before an HTTP status arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum HttpFailure {
    /// No answer within the timeout.
    Timeout,
    /// DNS, connection, TLS, a malformed response.
    Network,
    /// Anything else (a redirect refused, a client error).
    Other,
}

/// The answer channel of one request. Call exactly one of its methods, once,
/// from any thread. If neither is called within the request timeout (plus two
/// seconds), or the object is dropped unanswered, the attempt counts as failed
/// and the batch stays queued; a late or second answer is ignored.
#[derive(uniffi::Object)]
pub struct UploadCompletion {
    inner: core::Completion,
}

#[uniffi::export]
impl UploadCompletion {
    /// The server answered. `retry_after`: the raw `Retry-After` header, if any.
    /// Returns false when the SDK had stopped waiting or already had an answer.
    /// A status outside 100..=599 counts as a failed attempt.
    pub fn response(&self, status: i32, retry_after: Option<String>) -> bool {
        self.response_with_body(status, retry_after, Vec::new())
    }

    /// The same, with the body of the answer (read it for a 2xx answer, at
    /// most 64 KiB: a dialect may find in it what the collector counted,
    /// such as Matomo's `{"tracked":n,"invalid":m}`).
    pub fn response_with_body(&self, status: i32, retry_after: Option<String>, body: Vec<u8>) -> bool {
        match u16::try_from(status) {
            Ok(status) if (100..=599).contains(&status) => self.inner.complete(core::HttpOutcome::Response { status, retry_after, body }),
            _ => self.inner.complete(core::HttpOutcome::Failed {
                kind: core::FailureKind::Other,
                message: format!("the platform HTTP client answered an invalid status {status}"),
            }),
        }
    }

    /// The request failed without an HTTP status.
    pub fn failure(&self, kind: HttpFailure, message: String) -> bool {
        let kind = match kind {
            HttpFailure::Timeout => core::FailureKind::Timeout,
            HttpFailure::Network => core::FailureKind::Network,
            HttpFailure::Other => core::FailureKind::Other,
        };
        self.inner.complete(core::HttpOutcome::Failed { kind, message })
    }
}

/// The platform's HTTP client (OkHttp or HttpURLConnection, URLSession).
/// `send` must return at once and answer through `completion` later.
#[uniffi::export(foreign)]
pub trait PlatformHttpClient: Send + Sync {
    /// Starts the request; returns at once.
    fn send(&self, request: HttpRequest, completion: Arc<UploadCompletion>) -> Result<(), CallbackError>;
}

pub(crate) struct HttpAdapter(pub Arc<dyn PlatformHttpClient>);

impl core::HttpClient for HttpAdapter {
    fn send(&self, request: core::HttpRequest, completion: core::Completion) {
        let request = HttpRequest {
            url: request.url,
            headers: request.headers.into_iter().map(|(name, value)| HttpHeader { name, value }).collect(),
            body: request.body,
            timeout_ms: i64::try_from(request.timeout_ms).unwrap_or(i64::MAX),
        };
        let handle = Arc::new(UploadCompletion { inner: completion.clone() });
        if let Err(CallbackError::Failed { reason }) = self.0.send(request, handle) {
            completion
                .complete(core::HttpOutcome::Failed { kind: core::FailureKind::Other, message: format!("the platform HTTP client threw: {reason}") });
        }
    }
}

/// A time source, for tests (the conformance vectors move time by hand).
/// Apps leave it out: the system clock is used.
#[uniffi::export(foreign)]
pub trait MesureClock: Send + Sync {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> Result<i64, CallbackError>;
}

pub(crate) struct ClockAdapter(pub Arc<dyn MesureClock>);

impl core::Clock for ClockAdapter {
    fn now_ms(&self) -> core::EpochMillis {
        self.0.now_ms().unwrap_or_else(|_| core::SystemClock.now_ms())
    }
    /// Delays run on real time: a foreign test clock moves the wall clock
    /// (expiry, lapse), never the backoff.
    fn monotonic_ms(&self) -> u64 {
        core::SystemClock.monotonic_ms()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_outside_http_ranges_is_a_failed_attempt() {
        for (status, delivered) in [(200, true), (599, true), (100, true), (99, false), (600, false), (-1, false), (70_000, false)] {
            let (inner, answer) = core::Completion::pair();
            let completion = UploadCompletion { inner };
            assert!(completion.response(status, None));
            let outcome = answer.recv().unwrap();
            assert_eq!(matches!(outcome, core::HttpOutcome::Response { .. }), delivered, "status {status}: {outcome:?}");
        }
    }
}
