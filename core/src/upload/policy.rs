//! What to do with an upload outcome, and how long to wait before retrying.

use chrono::DateTime;

use super::http::HttpOutcome;
use crate::clock::EpochMillis;

/// The longest `Retry-After` honoured (a server asking for more is capped).
pub const MAX_RETRY_AFTER_MS: u64 = 24 * 3_600_000;

/// The decision for a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// 2xx: delete the batch.
    Delivered,
    /// Keep it and retry later (see [`classify`]).
    Retry { retry_after_ms: Option<u64>, cause: String },
    /// The collector refused the content: a batch of several hits is split
    /// in halves to find the bad one; a single hit is dropped and counted.
    Rejected { status: u16 },
}

/// Statuses by which the collector refuses the content of a request
/// itself, whoever sends it: `400 Bad Request` (malformed), `413 Content Too
/// Large`, `422 Unprocessable Content`. No intermediary answers these for a
/// body it did not read, and resending the same hit would be refused again.
pub const CONTENT_REFUSED: [u16; 3] = [400, 413, 422];

/// What to do with an outcome. Only a refusal of the content itself drops a
/// hit ([`CONTENT_REFUSED`], after isolation); everything an intermediary
/// can answer keeps the batch and backs off, so a captive portal, a proxy or
/// a misconfigured network never loses hits:
///
/// | answer | verdict | why |
/// |---|---|---|
/// | 2xx | delivered | the collector has it |
/// | 400, 413, 422 | split, then drop the single bad hit | the collector refuses the content |
/// | 3xx | retry | redirects are not followed (a body resent elsewhere); portals redirect |
/// | 401, 403, 407 | retry | an authenticating proxy or a portal; the collector needs no credentials |
/// | 404, 405, 410 | retry | a portal or a proxy answering for the host; a wrong path is a configuration fixed by an update |
/// | 408, 425, 429 | retry, honouring `Retry-After` | try later |
/// | other 4xx | retry | nothing says the content is wrong |
/// | 5xx | retry, honouring `Retry-After` | the collector or a gateway failed |
/// | timeout, network, TLS | retry | no answer |
///
/// Hits kept this way are still bounded by the queue's age and count.
pub fn classify(outcome: &HttpOutcome, now: EpochMillis) -> Verdict {
    match outcome {
        HttpOutcome::Response { status, retry_after, .. } => match *status {
            200..=299 => Verdict::Delivered,
            s if CONTENT_REFUSED.contains(&s) => Verdict::Rejected { status: s },
            s => Verdict::Retry { retry_after_ms: retry_after.as_deref().and_then(|v| parse_retry_after(v, now)), cause: format!("HTTP {s}") },
        },
        HttpOutcome::Failed { kind, message } => Verdict::Retry { retry_after_ms: None, cause: format!("{kind:?}: {message}") },
    }
}

/// `Retry-After` as delay-seconds or an HTTP date, in milliseconds from `now`.
pub fn parse_retry_after(value: &str, now: EpochMillis) -> Option<u64> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(secs.saturating_mul(1000).min(MAX_RETRY_AFTER_MS));
    }
    let when = DateTime::parse_from_rfc2822(v).ok()?.timestamp_millis();
    Some((when.saturating_sub(now)).max(0).unsigned_abs().min(MAX_RETRY_AFTER_MS))
}

/// Delay before the next attempt after `failures` consecutive failures
/// (1 for the first): exponential from `base`, capped at `max`, with "equal
/// jitter" (uniform in the upper half, `unit` in `[0, 1)`) so that many
/// devices failing together do not retry together. A `Retry-After` is a floor.
pub fn retry_delay_ms(failures: u32, base: u64, max: u64, retry_after_ms: Option<u64>, unit: f64) -> u64 {
    let shift = failures.saturating_sub(1).min(32);
    let exp = base.saturating_mul(1u64 << shift).min(max);
    let half = exp / 2;
    let jittered = half + ((exp - half) as f64 * unit.clamp(0.0, 1.0)) as u64;
    match retry_after_ms {
        Some(ra) => jittered.max(ra.min(MAX_RETRY_AFTER_MS)),
        None => jittered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upload::http::FailureKind;

    fn resp(status: u16, ra: Option<&str>) -> HttpOutcome {
        HttpOutcome::Response { status, retry_after: ra.map(str::to_owned), body: Vec::new() }
    }

    #[test]
    fn classification() {
        assert_eq!(classify(&resp(200, None), 0), Verdict::Delivered);
        assert_eq!(classify(&resp(204, None), 0), Verdict::Delivered);
        for s in [400, 413, 422] {
            assert_eq!(classify(&resp(s, None), 0), Verdict::Rejected { status: s });
        }
        // Anything an intermediary can answer keeps the batch.
        for s in [100, 301, 302, 303, 307, 308, 401, 403, 404, 405, 407, 408, 410, 418, 425, 429, 451, 500, 502, 503, 599, 600] {
            assert!(matches!(classify(&resp(s, None), 0), Verdict::Retry { .. }), "{s}");
        }
        assert_eq!(classify(&resp(503, Some("7")), 0), Verdict::Retry { retry_after_ms: Some(7000), cause: "HTTP 503".into() });
        let f = HttpOutcome::Failed { kind: FailureKind::Timeout, message: "t".into() };
        assert!(matches!(classify(&f, 0), Verdict::Retry { retry_after_ms: None, .. }));
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("120", 0), Some(120_000));
        assert_eq!(parse_retry_after(" 0 ", 0), Some(0));
        let now = DateTime::parse_from_rfc3339("2026-11-23T10:00:00Z").unwrap().timestamp_millis();
        assert_eq!(parse_retry_after("Mon, 23 Nov 2026 10:00:30 GMT", now), Some(30_000));
        assert_eq!(parse_retry_after("Mon, 23 Nov 2026 09:00:00 GMT", now), Some(0));
        assert_eq!(parse_retry_after("99999999", 0), Some(MAX_RETRY_AFTER_MS));
        assert_eq!(parse_retry_after("soon", 0), None);
        assert_eq!(parse_retry_after("-5", 0), None);
    }

    #[test]
    fn exponential_with_equal_jitter() {
        // failures 1..: 1000, 2000, 4000, 8000, then capped at 5000
        assert_eq!(retry_delay_ms(1, 1000, 5000, None, 0.0), 500);
        assert_eq!(retry_delay_ms(1, 1000, 5000, None, 0.999_999), 999);
        assert_eq!(retry_delay_ms(2, 1000, 5000, None, 0.0), 1000);
        assert_eq!(retry_delay_ms(3, 1000, 5000, None, 0.5), 3000);
        assert_eq!(retry_delay_ms(4, 1000, 5000, None, 0.0), 2500);
        assert_eq!(retry_delay_ms(60, 1000, 5000, None, 0.0), 2500);
        // Retry-After is a floor, never shortened by jitter
        assert_eq!(retry_delay_ms(1, 1000, 5000, Some(30_000), 0.0), 30_000);
        assert_eq!(retry_delay_ms(4, 1000, 5000, Some(100), 1.0), 5000);
    }
}
