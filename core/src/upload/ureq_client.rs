//! The default HTTP client: ureq (rustls), on its own thread so the uploader
//! can always stop waiting. Redirects are not followed: hits go to the
//! configured collector and nowhere else.

use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

use super::http::{Completion, FailureKind, HttpClient, HttpOutcome, HttpRequest};

/// The longest response body read (and discarded) to keep the connection reusable.
const MAX_RESPONSE_BODY: u64 = 64 * 1024;

/// How long a resolved collector address is reused.
const DNS_TTL: Duration = Duration::from_secs(60);

/// The last resolution: (host and port, when, the addresses).
type Resolved = Arc<Mutex<Option<(String, Instant, ResolvedSocketAddrs)>>>;

/// ureq resolves the host before every request, pooled connection or not,
/// and with a timeout set its default resolver starts a thread for each
/// lookup: one thread per request. This keeps the collector's addresses for
/// [`DNS_TTL`] (one host: the configured collector), forgets them after a
/// network failure, and asks the default resolver, timeout and all, otherwise.
struct CachingResolver {
    inner: DefaultResolver,
    last: Resolved,
}

impl std::fmt::Debug for CachingResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CachingResolver")
    }
}

impl Resolver for CachingResolver {
    fn resolve(&self, uri: &http::Uri, config: &ureq::config::Config, timeout: NextTimeout) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let key = uri.authority().map(|a| a.as_str().to_owned()).unwrap_or_default();
        let last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((host, at, addrs)) = last.as_ref() {
            if *host == key && at.elapsed() < DNS_TTL {
                return Ok(addrs.clone());
            }
        }
        drop(last);
        let addrs = self.inner.resolve(uri, config, timeout)?;
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Some((key, Instant::now(), addrs.clone()));
        Ok(addrs)
    }
}

pub struct UreqClient {
    jobs: Mutex<Sender<(HttpRequest, Completion)>>,
}

impl UreqClient {
    /// Starts the client's thread.
    pub fn new() -> std::io::Result<UreqClient> {
        let (tx, rx) = mpsc::channel::<(HttpRequest, Completion)>();
        let config = ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).no_delay(true).build();
        let last: Resolved = Arc::default();
        let resolver = CachingResolver { inner: DefaultResolver::default(), last: last.clone() };
        let agent = ureq::Agent::with_parts(config, DefaultConnector::default(), resolver);
        thread::Builder::new().name("mesure-http".into()).spawn(move || {
            // Ends when the client (the sender) is dropped.
            for (request, completion) in rx {
                let outcome = perform(&agent, request);
                if matches!(outcome, HttpOutcome::Failed { kind: FailureKind::Network, .. }) {
                    // The address may have moved: resolve again next time.
                    *last.lock().unwrap_or_else(|p| p.into_inner()) = None;
                }
                completion.complete(outcome);
            }
        })?;
        Ok(UreqClient { jobs: Mutex::new(tx) })
    }
}

fn perform(agent: &ureq::Agent, request: HttpRequest) -> HttpOutcome {
    let mut builder = agent.post(&request.url).config().timeout_global(Some(Duration::from_millis(request.timeout_ms))).build();
    for (k, v) in &request.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    match builder.send(&request.body[..]) {
        Ok(mut response) => {
            let status = response.status().as_u16();
            let retry_after = response.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
            // Read (bounded) so the connection can be reused; a dialect may
            // read what the collector counted in a 2xx answer's body.
            let body = response.body_mut().with_config().limit(MAX_RESPONSE_BODY).read_to_vec().unwrap_or_default();
            let body = if (200..300).contains(&status) { body } else { Vec::new() };
            HttpOutcome::Response { status, retry_after, body }
        }
        Err(ureq::Error::Timeout(t)) => HttpOutcome::Failed { kind: FailureKind::Timeout, message: t.to_string() },
        Err(e @ (ureq::Error::Io(_) | ureq::Error::HostNotFound | ureq::Error::ConnectionFailed | ureq::Error::Protocol(_))) => {
            HttpOutcome::Failed { kind: FailureKind::Network, message: e.to_string() }
        }
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
            completion.complete(HttpOutcome::Failed { kind: FailureKind::Other, message: "HTTP thread stopped".into() });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(r: &CachingResolver, url: &str) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let uri: http::Uri = url.parse().map_err(|_| ureq::Error::BadUri(url.into()))?;
        let config = ureq::config::Config::default();
        let timeout = NextTimeout { after: ureq::unversioned::transport::time::Duration::Exact(Duration::from_secs(5)), ..NextTimeout::default() };
        r.resolve(&uri, &config, timeout)
    }

    #[test]
    fn the_collector_address_is_resolved_once_per_ttl_and_per_host() {
        let last: Resolved = Arc::default();
        let r = CachingResolver { inner: DefaultResolver::default(), last: last.clone() };
        let first = resolve(&r, "http://127.0.0.1:8080/event").expect("an IP literal resolves");
        let at = last.lock().unwrap().as_ref().map(|(host, at, _)| (host.clone(), *at));
        assert_eq!(at.as_ref().map(|(h, _)| h.as_str()), Some("127.0.0.1:8080"));
        // A second request to the same host reuses it: same instant recorded, same addresses.
        let again = resolve(&r, "http://127.0.0.1:8080/event").expect("cached");
        assert_eq!(again.len(), first.len());
        assert_eq!(last.lock().unwrap().as_ref().map(|(h, t, _)| (h.clone(), *t)), at);
        // Another host replaces the entry.
        resolve(&r, "http://127.0.0.2:9090/").expect("an IP literal resolves");
        assert_eq!(last.lock().unwrap().as_ref().map(|(h, _, _)| h.clone()).as_deref(), Some("127.0.0.2:9090"));
        // An entry older than the TTL is resolved again.
        if let Some((_, at, _)) = last.lock().unwrap().as_mut() {
            *at = Instant::now().checked_sub(DNS_TTL + Duration::from_secs(1)).unwrap_or(*at);
        }
        let before = last.lock().unwrap().as_ref().map(|(_, t, _)| *t);
        resolve(&r, "http://127.0.0.2:9090/").expect("resolves");
        assert_ne!(last.lock().unwrap().as_ref().map(|(_, t, _)| *t), before);
    }
}
