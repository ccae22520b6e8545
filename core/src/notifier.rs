//! The listener's thread: every callback (mode changes, diagnostics) comes
//! from it, one at a time, in the order the SDK decided them.
//!
//! The storage and upload threads only queue notices here; they never wait
//! for the app's code. So a listener may call back into the SDK, even
//! `flush`, `delete_local_data`, `shutdown` or drop the last handle: none of
//! them waits on this thread (`shutdown` called from here detaches it
//! instead of joining it). A slow listener delays nothing but its own
//! callbacks: mode changes always wait for it, diagnostics beyond
//! [`MAX_QUEUED_DIAGNOSTICS`] are dropped and counted in one
//! [`Diagnostic::DiagnosticsDropped`].

use std::collections::VecDeque;
use std::sync::mpsc::{self, SyncSender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use crate::diagnostics::{Diagnostic, Listener, SdkState};
use crate::mode::ModeChange;

/// Diagnostics waiting for a slow listener, at most. About 2 MB.
pub const MAX_QUEUED_DIAGNOSTICS: usize = 10_000;

pub(crate) enum Notice {
    Mode(ModeChange),
    State(SdkState),
    Diagnostic(Diagnostic),
    /// Answered once every notice queued before it was delivered.
    Barrier(SyncSender<()>),
}

#[derive(Default)]
struct Queue {
    items: VecDeque<Notice>,
    diagnostics: usize,
    /// Diagnostics dropped since the last report of it.
    dropped: u64,
    closed: bool,
}

/// The queue between the SDK's threads and the listener's.
pub(crate) struct Notices {
    queue: Mutex<Queue>,
    ready: Condvar,
    /// No listener: notices are not kept.
    listening: bool,
}

impl Notices {
    pub fn new(listening: bool) -> Notices {
        Notices { queue: Mutex::new(Queue::default()), ready: Condvar::new(), listening }
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues a notice; never blocks.
    pub fn push(&self, notice: Notice) {
        if !self.listening {
            return;
        }
        let mut q = self.lock();
        if q.closed {
            return;
        }
        if let Notice::Diagnostic(_) = notice {
            if q.diagnostics >= MAX_QUEUED_DIAGNOSTICS {
                q.dropped += 1;
                return;
            }
            q.diagnostics += 1;
        }
        q.items.push_back(notice);
        drop(q);
        self.ready.notify_one();
    }

    pub fn diagnostic(&self, d: Diagnostic) {
        self.push(Notice::Diagnostic(d));
    }

    /// Whether a listener is set (a notice costly to build is built only then).
    pub fn listening(&self) -> bool {
        self.listening
    }

    /// Counts one `track` refused by back-pressure: consecutive refusals
    /// make one [`Diagnostic::Backpressure`], not one each.
    pub fn backpressure(&self) {
        if !self.listening {
            return;
        }
        let mut q = self.lock();
        if let Some(Notice::Diagnostic(Diagnostic::Backpressure { dropped })) = q.items.back_mut() {
            *dropped += 1;
            return;
        }
        drop(q);
        self.diagnostic(Diagnostic::Backpressure { dropped: 1 });
    }

    /// Publishes a state (the start's end, a failure, the stop).
    pub fn state(&self, state: SdkState) {
        if self.listening {
            self.push(Notice::State(state));
        }
    }

    /// Waits until the listener was told of everything queued so far (at
    /// most `timeout`: a listener stuck in a callback delays, never blocks).
    /// Not from the listener's own thread, which would wait for itself.
    pub fn settle(&self, timeout: Duration) {
        if !self.listening {
            return;
        }
        let (tx, rx) = mpsc::sync_channel(1);
        self.push(Notice::Barrier(tx));
        let _ = rx.recv_timeout(timeout);
    }

    /// No more notices: the thread delivers what is queued, then ends.
    pub fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
    }

    /// The next notice, waiting for one; `None` once closed and delivered.
    fn next(&self) -> Option<Notice> {
        let mut q = self.lock();
        loop {
            if q.dropped > 0 && q.diagnostics < MAX_QUEUED_DIAGNOSTICS {
                let dropped = std::mem::take(&mut q.dropped);
                return Some(Notice::Diagnostic(Diagnostic::DiagnosticsDropped { dropped }));
            }
            if let Some(n) = q.items.pop_front() {
                if let Notice::Diagnostic(_) = n {
                    q.diagnostics -= 1;
                }
                return Some(n);
            }
            if q.closed {
                return None;
            }
            q = self.ready.wait(q).unwrap_or_else(|p| p.into_inner());
        }
    }
}

/// The listener thread's loop. A callback that panics is skipped; the next
/// one is delivered.
pub(crate) fn run(notices: Arc<Notices>, listener: Arc<dyn Listener>) {
    // The published states never go back: a change persisted after the
    // start's state was published (it was queued before the store opened)
    // is told to `on_mode_changed`, but its older state is not published.
    let mut epoch = 0;
    while let Some(notice) = notices.next() {
        let l = &*listener;
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match &notice {
            Notice::Mode(change) => {
                l.on_mode_changed(change);
                if change.epoch >= epoch {
                    epoch = change.epoch;
                    l.on_state(&SdkState::after(change));
                }
            }
            Notice::State(state) => {
                epoch = epoch.max(state.epoch);
                l.on_state(state)
            }
            Notice::Diagnostic(d) => l.on_diagnostic(d),
            Notice::Barrier(done) => {
                let _ = done.try_send(());
            }
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slow_listener_bounds_the_diagnostics_and_says_how_many_it_missed() {
        let n = Notices::new(true);
        for _ in 0..MAX_QUEUED_DIAGNOSTICS + 5 {
            n.diagnostic(Diagnostic::StorageError { message: "x".into() });
        }
        n.close();
        let mut delivered = Vec::new();
        while let Some(Notice::Diagnostic(d)) = n.next() {
            delivered.push(d);
        }
        assert_eq!(delivered.len(), MAX_QUEUED_DIAGNOSTICS + 1);
        assert!(delivered.contains(&Diagnostic::DiagnosticsDropped { dropped: 5 }));
    }

    #[test]
    fn back_pressure_is_reported_once_per_burst() {
        let n = Notices::new(true);
        for _ in 0..3 {
            n.backpressure();
        }
        n.close();
        assert!(matches!(n.next(), Some(Notice::Diagnostic(Diagnostic::Backpressure { dropped: 3 }))));
        assert!(n.next().is_none());
    }
}
