//! The visitor's state in memory (mode, choice, visitor id, device context)
//! and the rules for changing it.
//!
//! Locking: one `RwLock` guards the state. Tracking threads take it for
//! reading, together: to read the mode's rules, then again to bind the
//! visitor id and hand the hit to the writer. Mode changes, id creation and
//! context updates take it for writing. Every hand-over to the writer happens
//! **while the lock is held**, so the writer's queue order is the order of
//! decisions: a purge on opt-out always comes after every hit bound to the
//! purged id. Under the lock there are only assignments and non-blocking
//! sends: no listener is called, no disk or network touched.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::clock::EpochMillis;
use crate::consent::ConsentContext;
use crate::diagnostics::Dropped;
use crate::error::{ModeError, SdkError, StoreError, TrackError};
use crate::gate::EgressView;
use crate::hit::{Context, EncodedHit};
use crate::messages::{DeleteAllOp, ModeOp, Op, VisitorAction};
use crate::mode::{consent_expiry, consent_lapse, ModeChange, ModeChangeReason, ModeRecord, ModeStatus, VisitorMode};
use crate::purpose::{mode_answers, resolve, visitor_mode_for, PurposeChoice, PurposeMode, PurposeState, AUDIENCE_MEASUREMENT};
use crate::purpose::{purposes_wire, PurposeFilter};
use crate::rules::{ModeRules, RuleBook};
use crate::shared::Shared;
use crate::stats::Counters;
use crate::visitor_id::VisitorId;

/// Hits handed to the writer and not yet taken by it. Past this, `track`
/// refuses with [`TrackError::QueueFull`] instead of growing memory: the
/// writer commits ~10^5 hits/s, so this is a stall of storage, not load.
pub const MAX_IN_FLIGHT: usize = 8192;
/// Room kept in the hand-off for everything but hits (mode changes, flush,
/// export...): hits can never take it, so those never wait in practice.
pub(crate) const CONTROL_RESERVE: usize = 1024;

pub(crate) struct State {
    /// The recorded choice; `None` while the configured default applies.
    pub record: Option<ModeRecord>,
    pub mode: VisitorMode,
    pub rules: Arc<ModeRules>,
    pub renewal_needed: bool,
    pub visitor: Option<VisitorId>,
    /// `visitor.id`, shared by the hits that carry it.
    pub visitor_wire: Option<Arc<str>>,
    pub context: Arc<Context>,
    /// The purposes answered explicitly (a visitor mode set by the app
    /// answers every purpose; see [`crate::purpose`]).
    pub purpose_answers: BTreeMap<String, PurposeChoice>,
    /// Every configured purpose's mode, from the answers and the mode.
    pub purposes: PurposeState,
    /// What hits tracked with consent add and hold back when not every
    /// purpose is consented to (`None` without consent: see [`PurposeFilter`]).
    pub purpose_filter: Option<Arc<PurposeFilter>>,
    /// The purpose answers' wire whatever the mode, for the unfiltered test
    /// path only ([`crate::rules::Filter::Off`]).
    pub purpose_wire: Option<Arc<str>>,
    /// Bumped at each change of mode or erasure; `track` re-filters when it
    /// moved, and the wrappers publish no state older than one they have.
    pub epoch: u64,
    pub closed: bool,
}

impl State {
    /// The visitor id a hit tracked at `now` may carry: the stored one while
    /// it is valid ([`VisitorId::is_valid_at`]), else none (a new one must be
    /// created).
    pub fn valid_visitor(&self, now: EpochMillis) -> Option<Arc<str>> {
        match (&self.visitor, &self.visitor_wire) {
            (Some(v), Some(wire)) if v.is_valid_at(now) => Some(wire.clone()),
            _ => None,
        }
    }
}

/// Why a hit was not handed over.
pub(crate) enum HandOver {
    /// The mode changed after filtering: filter again.
    Retry,
    Failed(TrackError),
}

/// The state, its lock, and what the transitions need.
pub(crate) struct Engine {
    pub shared: Arc<Shared>,
    pub rules: RuleBook,
    state: RwLock<State>,
}

impl Engine {
    pub fn new(shared: Arc<Shared>, rules: RuleBook, state: State) -> Engine {
        Engine { shared, rules, state: RwLock::new(state) }
    }

    /// For changes of state (mode, visitor id, context).
    pub fn write(&self) -> RwLockWriteGuard<'_, State> {
        // The state stays consistent even if a thread panicked while holding
        // the lock: every update is a few assignments with no early return.
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }

    /// For tracking: any number of threads read and hand over hits at once;
    /// a change of mode (write lock) waits for them.
    pub fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Puts `mode` in force in memory with its `record` (`None`: no choice
    /// recorded) and returns the change to report and what becomes of the
    /// stored visitor id.
    ///
    /// The visitor id: a mode that may not hold one deletes it with every
    /// queued hit that carries it (a purge); crossing the consent boundary
    /// (into or out of opt-in) deletes it so that the next hit gets a new one,
    /// and the identified stream of opt-in never shares an id with the
    /// anonymous statistics of the exempt modes (CNIL 2020-091 §51: no
    /// cross-referencing). Hits already queued keep the id they were bound to.
    fn enter(
        &self,
        st: &mut State,
        mode: VisitorMode,
        record: Option<ModeRecord>,
        at: EpochMillis,
        reason: ModeChangeReason,
    ) -> (ModeChange, VisitorAction) {
        let previous = std::mem::replace(&mut st.mode, mode.clone());
        let visitor = VisitorAction::between(&previous, &mode);
        if visitor != VisitorAction::Keep {
            st.visitor = None;
            st.visitor_wire = None;
        }
        st.record = record;
        st.rules = self.rules.shared(&mode);
        st.renewal_needed = reason == ModeChangeReason::ConsentExpired;
        (self.changed(st, previous, at, reason), visitor)
    }

    /// Resolves the purposes again, bumps the epoch, tells the egress gate,
    /// and describes the change.
    fn changed(&self, st: &mut State, previous: VisitorMode, at: EpochMillis, reason: ModeChangeReason) -> ModeChange {
        self.refresh_purposes(st);
        st.epoch += 1;
        self.publish(st);
        ModeChange {
            previous,
            current: st.mode.clone(),
            at_ms: at,
            reason,
            consent_renewal_needed: st.renewal_needed,
            purposes: st.purposes.to_map(),
            epoch: st.epoch,
        }
    }

    pub fn refresh_purposes(&self, st: &mut State) {
        let book = self.rules.purposes();
        st.purposes = resolve(book.names(), &st.purpose_answers, &st.mode);
        st.purpose_wire = purposes_wire(&st.purposes);
        st.purpose_filter = if st.mode.requires_consent() { PurposeFilter::new(book.clone(), &st.purposes).map(Arc::new) } else { None };
    }

    /// Publishes the mode in force to the egress gate (under the state's
    /// write lock: the gate never sees an older state after a newer one).
    pub fn publish(&self, st: &State) {
        let view = EgressView { mode: st.mode.clone(), since_ms: st.record.as_ref().map(|r| r.since_ms) };
        *self.shared.egress.lock().unwrap_or_else(|p| p.into_inner()) = Arc::new(view);
    }

    /// Records a mode change in memory and hands its persistence to the
    /// writer. A mode the app sets answers every purpose (`set_mode(optin)`
    /// is a consent to each purpose configured now, not to those added later).
    /// `prompt`: the consent prompt the app says the answer was given in.
    pub fn apply_mode(&self, st: &mut State, mode: VisitorMode, at: EpochMillis, reason: ModeChangeReason, prompt: Option<Box<ConsentContext>>) {
        if reason == ModeChangeReason::SetByApp {
            for p in self.rules.purposes().names() {
                // A mode answers the purposes it stands for; no-storage
                // leaves the others' answers as they are.
                if let Some(m) = mode_answers(&mode, p) {
                    st.purpose_answers.insert(p.clone(), PurposeChoice { mode: m, since_ms: at });
                }
            }
        }
        let record = ModeRecord { mode: mode.clone(), since_ms: at, reason };
        let (change, visitor) = self.enter(st, mode, Some(record.clone()), at, reason);
        self.persist(st, Some(record), visitor, Some(change), prompt);
    }

    /// Hands the choice (mode record and purpose answers) to the writer.
    fn persist(
        &self,
        st: &State,
        record: Option<ModeRecord>,
        visitor: VisitorAction,
        change: Option<ModeChange>,
        prompt: Option<Box<ConsentContext>>,
    ) {
        let purposes = st.purpose_answers.clone();
        // Mode operations bypass the in-flight bound: they must never be lost.
        let _ = self.shared.ops.send(Op::Mode(Box::new(ModeOp { record, purposes, visitor, change, prompt })));
    }

    /// The answers of a consent-management platform, purpose by purpose.
    /// Audience measurement's answer decides the visitor mode
    /// ([`visitor_mode_for`]); the others decide which of their properties
    /// leave with consented hits. Unknown purposes are refused, whole.
    /// `at`: when the call was made (a call that waited in the start
    /// queue), `None`: now.
    pub fn set_purposes(
        &self,
        answers: &BTreeMap<String, PurposeMode>,
        at: Option<EpochMillis>,
        prompt: Option<Box<ConsentContext>>,
    ) -> Result<(), ModeError> {
        let names = self.rules.purposes().names();
        if let Some(unknown) = answers.keys().find(|p| !names.contains(p)) {
            return Err(ModeError::UnknownPurpose(unknown.clone()));
        }
        let mut st = self.write();
        if st.closed {
            return Err(ModeError::ShutDown);
        }
        let now = at.unwrap_or_else(|| self.shared.clock.now_ms());
        self.expire_consent(&mut st, now);
        for (p, mode) in answers {
            st.purpose_answers.insert(p.clone(), PurposeChoice { mode: *mode, since_ms: now });
        }
        match answers.get(AUDIENCE_MEASUREMENT) {
            Some(am) => {
                let mode = visitor_mode_for(*am, &st.mode, &self.shared.config.default_mode);
                let record = ModeRecord { mode: mode.clone(), since_ms: now, reason: ModeChangeReason::SetByApp };
                let (change, visitor) = self.enter(&mut st, mode, Some(record.clone()), now, ModeChangeReason::SetByApp);
                self.persist(&st, Some(record), visitor, Some(change), prompt);
            }
            None => {
                st.renewal_needed = false;
                // The answer settles a pending renewal, after a restart too.
                if let Some(r) = st.record.as_mut().filter(|r| r.reason == ModeChangeReason::ConsentExpired) {
                    r.reason = ModeChangeReason::SetByApp;
                }
                let previous = st.mode.clone();
                let change = self.changed(&mut st, previous, now, ModeChangeReason::SetByApp);
                let record = st.record.clone();
                self.persist(&st, record, VisitorAction::Keep, Some(change), prompt);
            }
        }
        drop(st);
        self.shared.wake_writer();
        Ok(())
    }

    /// Erases the visitor id, the queue and the history of choices. An
    /// opt-out (or no-consent, no-storage) in force stays in force, so
    /// erasing data never restarts tracking; other modes return to the
    /// default with no choice recorded. The writer answers on `reply`.
    pub fn erase(&self, st: &mut State, now: EpochMillis, reply: SyncSender<Result<u64, StoreError>>) -> Result<(), SdkError> {
        // A refusal stays in force; a renewal it had pending is settled
        // with the data (so a restart does not ask again either).
        let keep = if st.mode.stores_visitor_id() {
            None
        } else {
            st.record.clone().map(|r| match r.reason {
                ModeChangeReason::ConsentExpired => ModeRecord { reason: ModeChangeReason::LocalDataDeleted, ..r },
                _ => r,
            })
        };
        if keep.is_none() {
            // Back to the default: no answer left, for any purpose.
            st.purpose_answers.clear();
        }
        let (change, _) = match &keep {
            Some(_) => {
                let mode = st.mode.clone();
                self.enter(st, mode, keep.clone(), now, ModeChangeReason::LocalDataDeleted)
            }
            None => self.enter(st, self.shared.config.default_mode.clone(), None, now, ModeChangeReason::LocalDataDeleted),
        };
        st.renewal_needed = false;
        st.visitor = None;
        st.visitor_wire = None;
        // Reported only when the mode itself changed.
        let change = (change.previous != change.current).then_some(change);
        let purposes = st.purpose_answers.clone();
        self.shared.ops.send(Op::DeleteAll(Box::new(DeleteAllOp { keep, purposes, change, reply }))).map_err(|_| SdkError::ShutDown)
    }

    /// When the consent in force (opt-in, no-storage) lapses; `None` in any
    /// other mode, and when its expiry cannot be represented (it has lapsed
    /// already).
    pub fn consent_expires_at(&self, st: &State) -> Option<EpochMillis> {
        match (&st.mode, &st.record) {
            (m, Some(r)) if m.requires_consent() => consent_expiry(r.since_ms, self.shared.config.consent_lifetime_months),
            _ => None,
        }
    }

    /// When the opt-in in force lapsed, if it has at `now` ([`consent_lapse`]).
    fn consent_lapsed_at(&self, st: &State, now: EpochMillis) -> Option<EpochMillis> {
        match (&st.mode, &st.record) {
            (m, Some(r)) if m.requires_consent() => consent_lapse(r.since_ms, self.shared.config.consent_lifetime_months, now),
            // A consent mode without a record cannot be: fail closed.
            (m, None) if m.requires_consent() => Some(now),
            _ => None,
        }
    }

    /// The purposes whose opt-in lapsed at `now`, each with its lapse.
    fn lapsed_purposes(&self, st: &State, now: EpochMillis) -> Vec<(String, EpochMillis)> {
        let months = self.shared.config.consent_lifetime_months;
        st.purpose_answers
            .iter()
            .filter(|(_, c)| c.mode == PurposeMode::OptIn)
            .filter_map(|(p, c)| consent_lapse(c.since_ms, months, now).map(|at| (p.clone(), at)))
            .collect()
    }

    /// Whether an opt-in in force (the mode's or a purpose's) has lapsed at
    /// `now` (read-only check).
    pub fn consent_lapsed(&self, st: &State, now: EpochMillis) -> bool {
        self.consent_lapsed_at(st, now).is_some() || !self.lapsed_purposes(st, now).is_empty()
    }

    /// Ends every opt-in that lapsed: the mode's returns to the default mode,
    /// a purpose's becomes unanswered (never read as opt-in); either way the
    /// app is told to ask again. True when something lapsed (the caller
    /// wakes the writer once the lock is released).
    pub fn expire_consent(&self, st: &mut State, now: EpochMillis) -> bool {
        let purposes = self.lapsed_purposes(st, now);
        for (p, _) in &purposes {
            st.purpose_answers.remove(p);
        }
        match self.consent_lapsed_at(st, now) {
            Some(at) => {
                self.apply_mode(st, self.shared.config.default_mode.clone(), at, ModeChangeReason::ConsentExpired, None);
                true
            }
            None if !purposes.is_empty() => {
                let at = purposes.iter().map(|(_, at)| *at).min().unwrap_or(now);
                st.renewal_needed = true;
                // Recorded, so that the app is told to ask again after a
                // restart too (the mode and its date stand).
                let since_ms = st.record.as_ref().map_or(at, |r| r.since_ms);
                st.record = Some(ModeRecord { mode: st.mode.clone(), since_ms, reason: ModeChangeReason::ConsentExpired });
                let previous = st.mode.clone();
                let change = self.changed(st, previous, at, ModeChangeReason::ConsentExpired);
                let record = st.record.clone();
                self.persist(st, record, VisitorAction::Keep, Some(change), None);
                true
            }
            None => false,
        }
    }

    /// The mode in force, since when, when an opt-in lapses, and whether
    /// consent must be asked again.
    pub fn status(&self, st: &State) -> ModeStatus {
        ModeStatus {
            mode: st.mode.clone(),
            since_ms: st.record.as_ref().map(|r| r.since_ms),
            consent_expires_at_ms: self.consent_expires_at(st),
            consent_renewal_needed: st.renewal_needed,
            purposes: st.purposes.to_map(),
            epoch: st.epoch,
        }
    }

    /// Applies the mode `choose` picks from the one in force (after a lapsed
    /// consent is expired), all under the state lock, so the choice and the
    /// change are one step; `None` changes nothing.
    /// `at`: when the call was made (a call that waited in the start
    /// queue), `None`: now.
    pub fn change_mode(
        &self,
        at: Option<EpochMillis>,
        prompt: Option<Box<ConsentContext>>,
        choose: impl FnOnce(&VisitorMode) -> Option<VisitorMode>,
    ) -> Result<(), ModeError> {
        let mut st = self.write();
        if st.closed {
            return Err(ModeError::ShutDown);
        }
        let now = at.unwrap_or_else(|| self.shared.clock.now_ms());
        self.expire_consent(&mut st, now);
        if let Some(mode) = choose(&st.mode) {
            self.apply_mode(&mut st, mode, now, ModeChangeReason::SetByApp, prompt);
        }
        drop(st);
        self.shared.wake_writer();
        Ok(())
    }

    /// The app-scoped id, created when missing or no longer valid (never extended).
    pub fn ensure_visitor(&self, st: &mut State, now: EpochMillis) -> Arc<str> {
        if let Some(wire) = st.valid_visitor(now) {
            return wire;
        }
        let v = VisitorId::generate(&*self.shared.random, now);
        let wire: Arc<str> = Arc::from(v.id.as_str());
        let _ = self.shared.ops.send(Op::NewVisitor(Box::new(v.clone())));
        st.visitor = Some(v);
        st.visitor_wire = Some(wire.clone());
        wire
    }

    /// Whether a hit filtered under `epoch` may still be handed over: the
    /// mode has not changed since and the SDK is not closing.
    pub fn admits(&self, st: &State, epoch: u64) -> Result<(), HandOver> {
        if st.closed {
            return Err(HandOver::Failed(TrackError::ShutDown));
        }
        if st.epoch != epoch {
            return Err(HandOver::Retry);
        }
        Ok(())
    }

    /// Hands a hit to the writer under a lock on the state (read or write),
    /// unless the mode changed since it was filtered or the SDK is closing.
    pub fn hand_over(&self, st: &State, epoch: u64, visitor_id: Arc<str>, hit: EncodedHit, notes: Vec<Dropped>) -> Result<(), HandOver> {
        let shared = &*self.shared;
        self.admits(st, epoch)?;
        if shared.in_flight.load(Ordering::Relaxed) >= MAX_IN_FLIGHT {
            return Err(HandOver::Failed(self.refused()));
        }
        let hit = Box::new(hit.queued(visitor_id));
        shared.in_flight.fetch_add(1, Ordering::Relaxed);
        match shared.ops.try_send(Op::Hit { hit, notes }) {
            Ok(()) => Ok(()),
            Err(e) => {
                shared.in_flight.fetch_sub(1, Ordering::Relaxed);
                Err(HandOver::Failed(match e {
                    TrySendError::Full(_) => self.refused(),
                    TrySendError::Disconnected(_) => TrackError::ShutDown,
                }))
            }
        }
    }

    /// Counts and reports a hit refused by back-pressure.
    fn refused(&self) -> TrackError {
        Counters::add(&self.shared.counters.rejected_backpressure, 1);
        self.shared.notices.backpressure();
        TrackError::QueueFull
    }

    /// Hands the drop notes of an event that produced no hit to the writer,
    /// so they reach the listener in order with the others.
    pub fn send_notes(&self, mode: &VisitorMode, notes: Vec<Dropped>) {
        let shared = &*self.shared;
        if notes.is_empty() || shared.in_flight.load(Ordering::Relaxed) >= MAX_IN_FLIGHT {
            return;
        }
        shared.in_flight.fetch_add(1, Ordering::Relaxed);
        if shared.ops.try_send(Op::Notes { mode: mode.wire_name().into(), notes }).is_err() {
            shared.in_flight.fetch_sub(1, Ordering::Relaxed);
        }
        shared.wake_writer();
    }
}
