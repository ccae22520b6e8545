//! The default HTTP client: ureq (rustls), on its own thread so the uploader
//! can always stop waiting. Redirects are not followed: hits go to the
//! configured collector and nowhere else.

use std::sync::mpsc::{self, Sender};
use std::sync::Mutex;
use std::thread;
use std::time::Duration;

use super::http::{Completion, FailureKind, HttpClient, HttpOutcome, HttpRequest};

/// The longest response body read (and discarded) to keep the connection reusable.
const MAX_RESPONSE_BODY: u64 = 64 * 1024;

pub struct UreqClient {
    jobs: Mutex<Sender<(HttpRequest, Completion)>>,
}

impl UreqClient {
    /// Starts the client's thread.
    pub fn new() -> std::io::Result<UreqClient> {
        let (tx, rx) = mpsc::channel::<(HttpRequest, Completion)>();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .no_delay(true)
            .build()
            .into();
        thread::Builder::new().name("mesure-http".into()).spawn(move || {
            // Ends when the client (the sender) is dropped.
            for (request, completion) in rx {
                completion.complete(perform(&agent, request));
            }
        })?;
        Ok(UreqClient { jobs: Mutex::new(tx) })
    }
}

fn perform(agent: &ureq::Agent, request: HttpRequest) -> HttpOutcome {
    let mut builder = agent
        .post(&request.url)
        .config()
        .timeout_global(Some(Duration::from_millis(request.timeout_ms)))
        .build();
    for (k, v) in &request.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    match builder.send(&request.body[..]) {
        Ok(mut response) => {
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            // Drain the body so the connection can be reused; its content is ignored.
            let _ = response.body_mut().with_config().limit(MAX_RESPONSE_BODY).read_to_vec();
            HttpOutcome::Response { status, retry_after }
        }
        Err(ureq::Error::Timeout(t)) => HttpOutcome::Failed { kind: FailureKind::Timeout, message: t.to_string() },
        Err(e @ (ureq::Error::Io(_)
        | ureq::Error::HostNotFound
        | ureq::Error::ConnectionFailed
        | ureq::Error::Protocol(_))) => HttpOutcome::Failed { kind: FailureKind::Network, message: e.to_string() },
        Err(e) => HttpOutcome::Failed { kind: FailureKind::Other, message: e.to_string() },
    }
}

impl HttpClient for UreqClient {
    fn send(&self, request: HttpRequest, completion: Completion) {
        let sent = match self.jobs.lock() {
            Ok(tx) => tx.send((request, completion)),
            Err(poisoned) => poisoned.into_inner().send((request, completion)),
        };
        if let Err(mpsc::SendError((_, completion))) = sent {
            completion.complete(HttpOutcome::Failed {
                kind: FailureKind::Other,
                message: "HTTP thread stopped".into(),
            });
        }
    }
}
