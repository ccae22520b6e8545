//! What tests need from the SDK, in one module: the clock that moves only
//! when told to and the deterministic random source they inject, then the
//! hooks of this workspace's tests, benchmarks and fuzz targets (below the
//! line: no semver promise for those).

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use crate::clock::{Clock, EpochMillis, Random};

/// A clock that only moves when told to. For tests and conformance vectors.
///
/// [`ManualClock::advance_ms`] is time passing: both faces move.
/// [`ManualClock::set_ms`] is someone setting the wall clock: only the wall
/// clock jumps, the monotonic clock stays where it is.
#[derive(Debug, Default)]
pub struct ManualClock {
    now: AtomicI64,
    monotonic: AtomicU64,
}

impl ManualClock {
    /// A clock reading `start_ms` (wall) and 0 (monotonic) until moved.
    pub fn new(start_ms: EpochMillis) -> Self {
        Self { now: AtomicI64::new(start_ms), monotonic: AtomicU64::new(0) }
    }
    /// Sets the wall clock (a jump, either way); no real time passes.
    pub fn set_ms(&self, ms: EpochMillis) {
        self.now.store(ms, Ordering::SeqCst);
    }
    /// Lets `delta` milliseconds pass: the wall clock moves by `delta`
    /// (saturating), the monotonic clock by `delta` when it is positive.
    pub fn advance_ms(&self, delta: i64) {
        let _ = self.now.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| Some(n.saturating_add(delta)));
        if delta > 0 {
            let _ = self.monotonic.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |m| Some(m.saturating_add(delta.unsigned_abs())));
        }
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> EpochMillis {
        self.now.load(Ordering::SeqCst)
    }
    fn monotonic_ms(&self) -> u64 {
        self.monotonic.load(Ordering::SeqCst)
    }
}

/// Deterministic randomness for tests: a SplitMix64 sequence formatted as v4 UUIDs.
/// Never use it in an app: identifiers must be unpredictable.
#[derive(Debug)]
pub struct SeededRandom {
    state: AtomicU64,
}

impl SeededRandom {
    /// A deterministic source: the same seed gives the same ids.
    pub fn new(seed: u64) -> Self {
        Self { state: AtomicU64::new(seed) }
    }
    fn next_u64(&self) -> u64 {
        let mut z = self.state.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed).wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl Random for SeededRandom {
    fn uuid_v4(&self) -> [u8; 16] {
        let hi = self.next_u64() as u128;
        let lo = self.next_u64() as u128;
        ((hi << 64) | lo).to_be_bytes()
    }
}

// --- this workspace's hooks (not API) ------------------------------------

#[doc(hidden)]
pub use crate::clock::add_calendar_months;
#[doc(hidden)]
pub use crate::gate::GateProbe;
#[doc(hidden)]
pub use crate::hit::{check_event, reserved, CheckedEvent, Context, Hit};
#[doc(hidden)]
pub use crate::identifying::is_identifying;
#[doc(hidden)]
pub use crate::mode::consent_expiry;
#[doc(hidden)]
pub use crate::rules::RuleBook;
#[doc(hidden)]
pub use crate::scrub::{find as find_identifying_value, scrub, Finding, TextKind};
#[doc(hidden)]
pub use crate::shared::Layers;

/// The database file in a storage directory.
#[doc(hidden)]
pub fn db_path(dir: &std::path::Path) -> std::path::PathBuf {
    crate::store::db_path(dir)
}

/// Creates the store (schema, pragmas) in `dir` and closes it.
#[doc(hidden)]
pub fn create_store(dir: &std::path::Path) -> Result<(), crate::StoreError> {
    crate::store::open(dir).map(drop)
}
