//! Time and randomness, injected.
//!
//! Every rule that depends on time reads the [`Clock`] handed to the SDK, so
//! tests move time instead of sleeping. The clock has two faces: the wall
//! clock ([`Clock::now_ms`]), which dates records (13-month identifier,
//! 6-month consent, queue age) and may jump when the user or the network
//! sets it; and a monotonic clock ([`Clock::monotonic_ms`]), which never goes
//! back and times delays (upload backoff, `Retry-After`), so that a clock set
//! back cannot stall uploads and a clock set forward cannot skip a delay the
//! collector asked for. Identifiers come from [`Random`]; the production
//! implementation draws from the operating system's CSPRNG and is never
//! derived from a device or OS identifier.

use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Months, Utc};
use uuid::Uuid;

/// Milliseconds since the Unix epoch, UTC.
pub type EpochMillis = i64;

/// How far after "now" a stored date may lie and still be believed: one day,
/// the spread of time zones and of ordinary clock errors. A visitor id or a
/// consent dated later than this was recorded while the device clock ran
/// ahead; it counts as expired, so correcting the clock cannot stretch a
/// tracker's life (CNIL 2020-092: 13 months, "sans prorogation").
pub const FUTURE_TOLERANCE_MS: i64 = DAY_MS;

/// Whether a record dated `recorded_at` is believable at `now`.
pub fn dated_in_the_past(recorded_at: EpochMillis, now: EpochMillis) -> bool {
    recorded_at <= now.saturating_add(FUTURE_TOLERANCE_MS)
}

/// A source of the current time.
pub trait Clock: Send + Sync + 'static {
    /// Current time in milliseconds since the Unix epoch (UTC). May jump
    /// either way.
    fn now_ms(&self) -> EpochMillis;
    /// Milliseconds since an arbitrary origin; never decreases. Times delays.
    fn monotonic_ms(&self) -> u64;
}

/// The wall clock of the device, and `Instant` for the monotonic clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

/// The origin of [`SystemClock::monotonic_ms`]: the first call in the process.
fn process_start() -> Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    *START.get_or_init(Instant::now)
}

impl Clock for SystemClock {
    fn now_ms(&self) -> EpochMillis {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
            // A clock set before 1970 is a broken device; treat it as the epoch.
            Err(_) => 0,
        }
    }

    fn monotonic_ms(&self) -> u64 {
        u64::try_from(process_start().elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

impl<T: Clock> Clock for std::sync::Arc<T> {
    fn now_ms(&self) -> EpochMillis {
        (**self).now_ms()
    }
    fn monotonic_ms(&self) -> u64 {
        (**self).monotonic_ms()
    }
}

/// A source of randomness. Its methods return plain bytes, so that no
/// dependency's type (a UUID crate's) is part of this trait: the SDK makes
/// version-4 UUIDs of them itself.
pub trait Random: Send + Sync + 'static {
    /// 16 unpredictable bytes: the visitor id's.
    fn uuid_v4(&self) -> [u8; 16];
    /// 16 unpredictable bytes for a hit's `event_id`, on the tracking hot
    /// path. Same requirements, may be cheaper (see [`OsRandom`]).
    fn event_id(&self) -> [u8; 16] {
        self.uuid_v4()
    }
    /// A uniformly distributed number in `[0, 1)`, used for backoff jitter.
    fn unit(&self) -> f64 {
        // 53 random bits make an exactly representable f64 in [0, 1).
        let bits = (u128::from_be_bytes(self.uuid_v4()) >> 75) as u64;
        bits as f64 / (1u64 << 53) as f64
    }
}

/// 16 random bytes as a version-4 UUID (the version and variant bits set).
pub(crate) fn uuid_v4(bytes: [u8; 16]) -> Uuid {
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// Randomness from the operating system's CSPRNG (`getrandom`).
///
/// Visitor ids take 16 fresh bytes per call. Event ids are drawn from the
/// same source 4 KiB at a time (a per-thread buffer, each byte used once),
/// which spares `track` a system call per hit.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRandom;

/// Bytes of OS randomness fetched at once for event ids.
const EVENT_ID_POOL: usize = 4096;

thread_local! {
    static POOL: std::cell::RefCell<([u8; EVENT_ID_POOL], usize)> =
        const { std::cell::RefCell::new(([0; EVENT_ID_POOL], EVENT_ID_POOL)) };
}

impl Random for OsRandom {
    fn uuid_v4(&self) -> [u8; 16] {
        *Uuid::new_v4().as_bytes()
    }

    fn event_id(&self) -> [u8; 16] {
        let bytes = POOL.with(|pool| {
            let mut pool = pool.borrow_mut();
            let (buf, used) = &mut *pool;
            if *used + 16 > EVENT_ID_POOL {
                if getrandom::fill(buf).is_err() {
                    return None;
                }
                *used = 0;
            }
            let mut out = [0u8; 16];
            out.copy_from_slice(&buf[*used..*used + 16]);
            // Each byte leaves the pool once.
            buf[*used..*used + 16].fill(0);
            *used += 16;
            Some(out)
        });
        match bytes {
            Some(b) => b,
            None => *Uuid::new_v4().as_bytes(),
        }
    }
}

/// `start` plus `months` calendar months, in UTC. The day of month is clamped
/// to the last day of the target month (31 January + 1 month = 28/29 February),
/// the time of day is kept. `None` when either instant is out of chrono's
/// range: callers treat an expiry that cannot be represented as already
/// passed (they fail closed).
pub fn add_calendar_months(start: EpochMillis, months: u32) -> Option<EpochMillis> {
    let dt = DateTime::<Utc>::from_timestamp_millis(start)?;
    dt.checked_add_months(Months::new(months)).map(|d| d.timestamp_millis()).filter(|end| *end > start || months == 0)
}

/// A day in milliseconds.
pub const DAY_MS: i64 = 86_400_000;

/// Hits tracked before this instant are past the queue's age bound.
pub fn queue_age_cutoff(now: EpochMillis, max_age_days: u32) -> EpochMillis {
    now.saturating_sub(i64::from(max_age_days).saturating_mul(DAY_MS))
}

/// RFC 3339 rendering of an epoch-millisecond instant (for reports and exports).
pub fn format_rfc3339(ms: EpochMillis) -> String {
    match DateTime::<Utc>::from_timestamp_millis(ms) {
        Some(dt) => dt.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        None => ms.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::SeededRandom;

    fn at(s: &str) -> EpochMillis {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis()
    }

    #[test]
    fn calendar_months_clamp_to_month_end() {
        assert_eq!(add_calendar_months(at("2026-01-31T10:00:00Z"), 13), Some(at("2027-02-28T10:00:00Z")));
        assert_eq!(add_calendar_months(at("2027-01-31T10:00:00Z"), 13), Some(at("2028-02-29T10:00:00Z")));
        assert_eq!(add_calendar_months(at("2026-03-15T23:59:59.999Z"), 6), Some(at("2026-09-15T23:59:59.999Z")));
    }

    #[test]
    fn seeded_random_makes_distinct_v4_uuids() {
        let r = SeededRandom::new(7);
        let a = uuid_v4(r.uuid_v4());
        let b = uuid_v4(r.uuid_v4());
        assert_ne!(a, b);
        assert_eq!(a.get_version_num(), 4);
        assert_eq!(b.get_variant(), uuid::Variant::RFC4122);
        let u = r.unit();
        assert!((0.0..1.0).contains(&u));
    }

    #[test]
    fn os_random_is_v4_and_never_repeats() {
        assert_eq!(uuid_v4(OsRandom.uuid_v4()).get_version_num(), 4);
        let ids: std::collections::HashSet<Uuid> = (0..10_000).map(|_| uuid_v4(OsRandom.event_id())).collect();
        assert_eq!(ids.len(), 10_000, "across several pool refills");
        assert!(ids.iter().all(|u| u.get_version_num() == 4 && u.get_variant() == uuid::Variant::RFC4122));
    }
}
