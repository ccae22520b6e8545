//! Counters of what happened to hits, for tests, benchmarks and the app's logs.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

macro_rules! counters {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        #[derive(Debug, Default)]
        pub(crate) struct Counters { $(pub $name: AtomicU64,)* }

        /// A snapshot of the SDK's counters since it started.
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct Stats { $($(#[$doc])* pub $name: u64,)* }

        impl Counters {
            pub fn snapshot(&self) -> Stats {
                Stats { $($name: self.$name.load(Relaxed),)* }
            }
        }
    };
}

counters! {
    /// Hits accepted by `track` and handed to the storage thread.
    accepted,
    /// Hits committed to the queue (in the order they were accepted).
    persisted,
    /// Hits acknowledged by the collector and deleted.
    uploaded,
    /// Events not sent because the visitor mode does not allow them.
    events_dropped_by_mode,
    /// Properties held back (mode, rules, invalid names or values).
    properties_dropped,
    /// Hits refused because the hand-off to storage was full.
    rejected_backpressure,
    /// Hits removed by the count bound.
    trimmed_max_hits,
    /// Hits removed by the age bound.
    trimmed_max_age,
    /// Hits with a real visitor id purged when the mode stopped allowing it.
    purged_on_mode_change,
    /// Hits deleted with all local data.
    deleted_with_local_data,
    /// Hits the collector refused (4xx) and that were dropped.
    rejected_by_collector,
    /// Hits lost because storage failed longer than the in-memory buffer could hold.
    lost_storage_failure,
    /// Upload attempts that failed and will be retried.
    upload_failures,
    /// Hits the egress gate held back at send time (never, while the
    /// track-time filter works).
    held_at_egress,
}

impl Counters {
    pub fn add(counter: &AtomicU64, n: u64) {
        if n > 0 {
            counter.fetch_add(n, Relaxed);
        }
    }
}
