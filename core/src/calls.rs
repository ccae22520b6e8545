//! The start queue: the calls made before the store is open, waiting in the
//! order they were made. The storage thread applies them once the engine is
//! built, then the facade routes calls straight to it.
//!
//! One bound, on tracks only: past [`MAX_WAITING_TRACKS`] waiting tracks the
//! oldest waiting track is dropped (and reported as back-pressure). A mode,
//! consent, purpose or context change is never dropped and never counts: a
//! setting never costs a track its place.

use std::collections::{BTreeMap, VecDeque};

use crate::clock::EpochMillis;
use crate::config::DeviceContext;
use crate::consent::ConsentContext;
use crate::hit::CheckedEvent;
use crate::mode::{PurposeMode, VisitorMode};

/// How many tracks may wait for the start (about 5 MB at the largest events).
pub const MAX_WAITING_TRACKS: usize = 10_000;

/// A call, checked on the caller's thread, waiting for the engine.
pub(crate) enum Call {
    Track(CheckedEvent),
    /// The prompt the answer was given in, if the app says.
    SetMode(VisitorMode, Option<Box<ConsentContext>>),
    SetOptedOut(bool),
    SetConsent(bool, Option<Box<ConsentContext>>),
    SetPurposes(BTreeMap<String, PurposeMode>, Option<Box<ConsentContext>>),
    SetContext(Box<DeviceContext>),
    /// A consent prompt was shown (the consent statistics count it).
    PromptShown(Box<ConsentContext>),
    /// The visitor's own switch of the consent statistics.
    SetConsentStatistics(bool),
}

#[derive(Default)]
pub(crate) struct StartQueue {
    /// Each call with when it was made: it is applied as of then.
    calls: VecDeque<(Call, EpochMillis)>,
    tracks: usize,
    dropped: u64,
    /// `close` was called during the start: later calls are refused.
    pub closing: bool,
}

impl StartQueue {
    /// Queues `call`; returns how many tracks it dropped (0 or 1).
    pub fn push(&mut self, call: Call, at: EpochMillis) -> u64 {
        let mut dropped = 0;
        if matches!(call, Call::Track(_)) {
            if self.tracks >= MAX_WAITING_TRACKS {
                if let Some(oldest) = self.calls.iter().position(|(c, _)| matches!(c, Call::Track(_))) {
                    self.calls.remove(oldest);
                    dropped = 1;
                }
            } else {
                self.tracks += 1;
            }
        }
        self.dropped += dropped;
        self.calls.push_back((call, at));
        dropped
    }

    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    /// Every waiting call, in order.
    pub fn take(&mut self) -> VecDeque<(Call, EpochMillis)> {
        self.tracks = 0;
        std::mem::take(&mut self.calls)
    }

    /// Tracks dropped since the start.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hit::{check_event_named, Event};

    fn track(n: usize) -> Call {
        Call::Track(check_event_named(Event::screen(format!("s{n}"))).unwrap_or_else(|_| panic!("valid")))
    }

    fn names(q: &mut StartQueue) -> Vec<String> {
        q.take()
            .into_iter()
            .map(|(c, _)| match c {
                Call::Track(e) => e.properties.get("page").map(|v| format!("{v:?}")).unwrap_or_default(),
                Call::SetMode(m, _) => m.wire_name().to_owned(),
                _ => "other".into(),
            })
            .collect()
    }

    #[test]
    fn the_oldest_track_goes_first_and_a_change_never() {
        let mut q = StartQueue::default();
        q.push(Call::SetMode(VisitorMode::OptOut, None), 0);
        for n in 0..MAX_WAITING_TRACKS {
            assert_eq!(q.push(track(n), 0), 0);
        }
        q.push(Call::SetMode(VisitorMode::OptIn, None), 0);
        assert_eq!(q.push(track(MAX_WAITING_TRACKS), 0), 1);
        assert_eq!(q.push(track(MAX_WAITING_TRACKS + 1), 0), 1);
        assert_eq!(q.dropped(), 2);
        let order = names(&mut q);
        assert_eq!(order.len(), MAX_WAITING_TRACKS + 2);
        assert_eq!(order[0], "optout");
        assert!(order[1].contains("s2"), "{}", order[1]);
        assert_eq!(order[MAX_WAITING_TRACKS - 1], "optin");
        assert!(order.last().is_some_and(|l| l.contains(&format!("s{}", MAX_WAITING_TRACKS + 1))));
        // Taken: the bound counts afresh.
        assert_eq!(q.push(track(0), 0), 0);
    }
}
