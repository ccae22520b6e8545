//! The wrappers' tracking calls in one FFI crossing each.
//!
//! A method call through UniFFI's Kotlin bindings crosses JNA once to clone
//! the object's handle, once per argument it lowers into a buffer (the
//! name, the map of properties), once for the call and once to free the
//! returned outcome: five crossings for `trackScreen`, each costing about
//! an empty call (BENCHMARKS.md). [`track_encoded`] is a free function
//! (no handle to clone) taking one buffer (the call as
//! `mesure_core::encode_call` writes it) and returning an integer (nothing
//! to free): two crossings, the buffer's allocation and the call.
//!
//! On the JVM even those two are most of the cost: JNA builds the buffer's
//! structure by reflection to return it from the allocation and again to
//! pass it. [`mesure_track_encoded`] is the same call for JNA's direct
//! mapping, outside UniFFI: a key, a byte array JNA copies for the call,
//! its length, an integer back. One crossing, no structure. Swift calls
//! C directly and uses [`track_encoded`].
//!
//! It finds its `MesureCore` by key in a registry of weak references, so a
//! key outlives nothing: a key whose object is gone (closed, collected)
//! answers `shut_down`. A refusal's reason and message are kept, by
//! ticket, for the wrapper to take (`MesureCore::take_refusal`): strict
//! mode throws them; nothing else needs them on the caller's side (the
//! core reports every refusal to the listener).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock, Weak};

use mesure_core as core;

use crate::{MesureCore, TrackOutcome};

/// [`track_encoded`]: queued.
pub const QUEUED: i64 = 0;
/// [`track_encoded`]: held back by the visitor mode (reported to the listener).
pub const NOT_SENT: i64 = 1;
/// [`track_encoded`]: waiting in order for the start (reported to the listener).
pub const WAITING: i64 = 2;

/// [`track_encoded`]: refused as shut down, the key's object being gone
/// (no ticket to take).
pub const GONE: i64 = i64::MIN;

/// [`mesure_track_encoded`]: the core panicked on this call (a bug; the
/// call is lost, the app is not).
pub const PANICKED: i64 = i64::MIN + 1;

/// How many refusals an SDK keeps for its wrapper to take.
const KEPT_REFUSALS: usize = 64;

fn registry() -> &'static RwLock<HashMap<u64, Weak<MesureCore>>> {
    static REGISTRY: OnceLock<RwLock<HashMap<u64, Weak<MesureCore>>>> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

/// A key never given before, for a new `MesureCore`.
pub(crate) fn new_key() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Makes `core` reachable by its key.
pub(crate) fn register(core: &Arc<MesureCore>) {
    let mut map = registry().write().unwrap_or_else(PoisonError::into_inner);
    map.insert(core.key, Arc::downgrade(core));
}

/// Called when the `MesureCore` is dropped.
pub(crate) fn unregister(key: u64) {
    registry().write().unwrap_or_else(PoisonError::into_inner).remove(&key);
}

/// The refusals an SDK keeps for its wrapper, by ticket (the last [`KEPT_REFUSALS`]).
#[derive(Default)]
pub(crate) struct Refusals {
    next: AtomicI64,
    kept: Mutex<VecDeque<(i64, TrackOutcome)>>,
}

impl Refusals {
    fn keep(&self, outcome: TrackOutcome) -> i64 {
        let ticket = self.next.fetch_add(1, Ordering::Relaxed).saturating_add(1);
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        if kept.len() == KEPT_REFUSALS {
            kept.pop_front();
        }
        kept.push_back((ticket, outcome));
        ticket
    }

    pub(crate) fn take(&self, ticket: i64) -> Option<TrackOutcome> {
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        let at = kept.iter().position(|(t, _)| *t == ticket)?;
        kept.remove(at).map(|(_, outcome)| outcome)
    }
}

/// `track`, `track_screen` or `track_click` of the `MesureCore` whose key
/// is `instance` (its `call_key()`), written into one buffer by the
/// wrapper. Returns [`QUEUED`], [`NOT_SENT`], [`WAITING`], or, for a
/// refusal, a negative ticket: `MesureCore::take_refusal(-ticket)` gives
/// its reason and message. An unknown key (the object is gone) answers
/// [`GONE`].
#[uniffi::export]
pub fn track_encoded(instance: u64, call: Vec<u8>) -> i64 {
    track_bytes(instance, &call)
}

/// [`track_encoded`] for JNA's direct mapping (the Kotlin wrapper's
/// `FastTrack`): `call` is `len` bytes. A null pointer or a length below 1
/// is the empty buffer, refused like any buffer that does not decode. A
/// panic is caught here ([`PANICKED`]): UniFFI's scaffolding, which catches
/// them for its own functions, is not on this path.
///
/// # Safety
///
/// `call` must point to `len` bytes readable for the whole call (JNA's
/// copy of a Java byte array is), or be null.
#[no_mangle]
pub unsafe extern "C" fn mesure_track_encoded(instance: u64, call: *const u8, len: i32) -> i64 {
    let bytes: &[u8] = match usize::try_from(len) {
        Ok(len) if len > 0 && !call.is_null() => {
            // SAFETY: the caller's contract: `len` readable bytes at `call`.
            unsafe { std::slice::from_raw_parts(call, len) }
        }
        _ => &[],
    };
    std::panic::catch_unwind(|| track_bytes(instance, bytes)).unwrap_or(PANICKED)
}

fn track_bytes(instance: u64, call: &[u8]) -> i64 {
    let found = registry().read().unwrap_or_else(PoisonError::into_inner).get(&instance).and_then(Weak::upgrade);
    let Some(core) = found else {
        return GONE;
    };
    match core.sdk.track_encoded(call) {
        Ok(core::TrackOutcome::Queued { .. }) => QUEUED,
        Ok(core::TrackOutcome::Waiting) => WAITING,
        Ok(_) => NOT_SENT,
        Err(e) => -core.refusals.keep(Err(e).into()),
    }
}
