//! The storage thread: receives hits and state changes in the order they
//! were made, commits them in batched transactions, enforces the queue
//! bounds, and queues its reports for the listener's thread after each
//! commit (it never calls the app's code itself).
//!
//! If storage fails, writes stay in memory (at most
//! [`MAX_UNPERSISTED_HITS`] hits, oldest dropped and counted) and are retried
//! every [`STORAGE_RETRY`]. When the disk is full the writer stops competing
//! for space with the uploader: it writes back only as many hits as uploads
//! have deleted (plus one per retry, to notice space freed elsewhere), so the
//! uploader can always delete what the collector acknowledged. An unreadable
//! database is recreated and the visitor's state written again from memory.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::Connection;

use crate::clock::{queue_age_cutoff, uuid_v4, EpochMillis};
use crate::consent::outbox;
use crate::consent::receipts::{self, Receipt};
use crate::consent::stats::{ConsentStats, StatEvent};
use crate::consent::{self, Answer, ConsentContext};
use crate::diagnostics::{Diagnostic, TrimCause};
use crate::error::StoreError;
use crate::export::{ExportedHit, StoredData};
use crate::hit::QueuedHit;
use crate::messages::{DeleteAllOp, ModeOp, Op, UpMsg, VisitorAction};
use crate::mode::ModeChangeReason;
use crate::notifier::Notice;
use crate::shared::Shared;
use crate::stats::Counters;
use crate::store::choice::Choice;
use crate::store::{self, StoredState};
use crate::visitor_id::VisitorId;

/// Most operations committed in one transaction.
const MAX_OPS_PER_TX: usize = 4096;
/// Hits kept in memory while storage fails.
pub const MAX_UNPERSISTED_HITS: usize = 10_000;
/// Delay between attempts to write when storage fails.
pub const STORAGE_RETRY: Duration = Duration::from_secs(1);
/// The age bound is enforced at most this often (monotonic time).
const AGE_TRIM_EVERY_MS: u64 = 60_000;
/// Short sleeps the writer takes before parking: while hits keep coming it
/// is awake to take them, and tracking threads never need to wake it.
const IDLE_POLLS: u32 = 8;
const IDLE_POLL: Duration = Duration::from_micros(250);

enum Next {
    Op(Op),
    Tick,
    Closed,
}

/// A write waiting for its transaction.
enum Write {
    Hit(Box<QueuedHit>),
    NewVisitor(VisitorId),
    Visitor(VisitorAction),
    Mode {
        choice: Choice,
        visitor: VisitorAction,
    },
    DeleteAll {
        keep: Choice,
    },
    /// A real run deletes what a dry run queued.
    DropDryRunHits,
}

impl Write {
    /// Whether committing it deletes queued hits a purge forbids sending.
    fn purges(&self) -> bool {
        match self {
            Write::Visitor(a) | Write::Mode { visitor: a, .. } => a.purges(),
            Write::DeleteAll { .. } | Write::DropDryRunHits => true,
            Write::Hit(_) | Write::NewVisitor(_) => false,
        }
    }

    /// Whether committing it deletes an identifier (then the WAL is truncated).
    fn erases(&self) -> bool {
        self.purges() || matches!(self, Write::Visitor(VisitorAction::Forget) | Write::Mode { visitor: VisitorAction::Forget, .. })
    }
}

enum Control {
    Flush(SyncSender<Result<(), StoreError>>),
    Export(SyncSender<Result<StoredData, StoreError>>),
    DeleteAll(SyncSender<Result<u64, StoreError>>),
    Recover,
    Shutdown(SyncSender<Result<(), StoreError>>),
}

#[derive(Default)]
struct Committed {
    hits: u64,
    purged: u64,
    deleted: u64,
    trimmed_count: u64,
    trimmed_age: u64,
}

pub(crate) struct Writer {
    shared: Arc<Shared>,
    rx: Receiver<Op>,
    conn: Option<Connection>,
    /// The visitor state the database holds (written again after a recreation).
    mirror: StoredState,
    pending: VecDeque<Write>,
    pending_hits: usize,
    /// The storage error in force, reported once.
    failing: Option<StoreError>,
    since_wake: u64,
    /// Monotonic time of the last age trim.
    last_age_trim: Option<u64>,
    /// Result of the last DeleteAll commit, for its reply.
    last_deleted: u64,
    /// Set while the disk is full: how many hits may be written back.
    full_budget: Option<u64>,
    /// The choice to write to the choice file before the next transaction.
    choice_due: Option<Choice>,
    /// A purge committed but its WAL could not be truncated yet.
    checkpoint_due: bool,
    /// The consent receipts' chain ([`receipts`]).
    receipts: ReceiptLog,
    /// The consent statistics, read at first use.
    consent_stats: Option<ConsentStats>,
}

/// The writer's side of the consent receipts: the chain's last receipt
/// (read once), and the answers not yet written (storage failing).
#[derive(Default)]
struct ReceiptLog {
    /// `None` until the file was read.
    last: Option<Option<Receipt>>,
    /// The answers not written yet, oldest first.
    unwritten: Vec<Answered>,
}

/// An answer of the visitor, as its receipt records it: when, the mode it
/// put in force, every purpose's answer, the prompt.
type Answered = (EpochMillis, String, BTreeMap<String, String>, Option<ConsentContext>);

impl Writer {
    pub fn new(shared: Arc<Shared>, rx: Receiver<Op>, conn: Option<Connection>, mirror: StoredState) -> Writer {
        let failing = conn.is_none().then(|| StoreError::Unavailable("storage could not be opened".to_owned()));
        Writer {
            shared,
            rx,
            conn,
            mirror,
            pending: VecDeque::new(),
            pending_hits: 0,
            failing,
            since_wake: 0,
            last_age_trim: None,
            last_deleted: 0,
            full_budget: None,
            receipts: ReceiptLog::default(),
            consent_stats: None,
            choice_due: None,
            checkpoint_due: false,
        }
    }

    /// Whether something waits for storage (then the writer retries on a timer).
    fn owes_writes(&self) -> bool {
        !self.pending.is_empty() || self.choice_due.is_some() || self.checkpoint_due
    }

    /// The next operation. While there is work the writer polls (a few
    /// short sleeps), so senders need no system call to reach it; once idle
    /// it parks and the next sender unparks it ([`Shared::wake_writer`](crate::shared::Shared::wake_writer)).
    /// `Tick` when storage is failing and it is time to retry.
    fn next(&mut self) -> Next {
        let mut polls = 0;
        loop {
            match self.rx.try_recv() {
                Ok(op) => return Next::Op(op),
                Err(TryRecvError::Disconnected) => return Next::Closed,
                Err(TryRecvError::Empty) => {}
            }
            if polls < IDLE_POLLS {
                polls += 1;
                std::thread::park_timeout(IDLE_POLL);
                continue;
            }
            self.shared.writer_idle.store(true, Ordering::SeqCst);
            // Checked again once idleness is announced, so that a sender that
            // looked at the flag just before it was set is not missed.
            let op = self.rx.try_recv();
            if let Ok(op) = op {
                self.shared.writer_idle.store(false, Ordering::SeqCst);
                return Next::Op(op);
            }
            if matches!(op, Err(TryRecvError::Disconnected)) {
                return Next::Closed;
            }
            let retrying = self.owes_writes();
            if retrying {
                std::thread::park_timeout(STORAGE_RETRY);
            } else {
                std::thread::park();
            }
            self.shared.writer_idle.store(false, Ordering::SeqCst);
            if retrying {
                return Next::Tick;
            }
            polls = 0;
        }
    }

    pub fn run(mut self) {
        // Registered before the writer can ever park, so no wake-up is lost.
        let _ = self.shared.writer.set(std::thread::current());
        loop {
            let first = match self.next() {
                Next::Op(op) => op,
                Next::Closed => return,
                Next::Tick => {
                    if let Some(b) = &mut self.full_budget {
                        *b += 1; // probe: space may have been freed by someone else
                    }
                    let mut notices = Vec::new();
                    self.commit(&mut notices);
                    self.deliver(notices);
                    continue;
                }
            };
            let mut notices = Vec::new();
            let mut control = self.take(first, &mut notices);
            let mut taken = 1;
            while control.is_none() && taken < MAX_OPS_PER_TX {
                match self.rx.try_recv() {
                    Ok(op) => {
                        control = self.take(op, &mut notices);
                        taken += 1;
                    }
                    Err(_) => break,
                }
            }
            self.commit(&mut notices);
            self.deliver(notices);
            if let Some(c) = control {
                if !self.control(c) {
                    return;
                }
            }
        }
    }

    fn queue(&mut self, w: Write) {
        if matches!(w, Write::Hit(_)) {
            self.pending_hits += 1;
        }
        self.pending.push_back(w);
        if self.pending_hits > MAX_UNPERSISTED_HITS {
            // Storage has been failing for a while: the oldest waiting hit goes.
            if let Some(i) = self.pending.iter().position(|w| matches!(w, Write::Hit(_))) {
                self.pending.remove(i);
                self.pending_hits -= 1;
                Counters::add(&self.shared.counters.lost_storage_failure, 1);
            }
        }
    }

    /// Sorts an operation into writes, notices and control.
    fn take(&mut self, op: Op, notices: &mut Vec<Notice>) -> Option<Control> {
        match op {
            Op::Hit { hit, notes } => {
                self.shared.in_flight.fetch_sub(1, Ordering::Relaxed);
                for dropped in notes {
                    notices.push(Notice::Diagnostic(Diagnostic::Dropped { mode: hit.mode.to_string(), dropped }));
                }
                self.queue(Write::Hit(hit));
            }
            Op::Notes { mode, notes } => {
                self.shared.in_flight.fetch_sub(1, Ordering::Relaxed);
                for dropped in notes {
                    notices.push(Notice::Diagnostic(Diagnostic::Dropped { mode: mode.to_string(), dropped }));
                }
            }
            Op::NewVisitor(v) => self.queue(Write::NewVisitor(*v)),
            Op::Visitor(action) => self.queue(Write::Visitor(action)),
            Op::DropDryRunHits => self.queue(Write::DropDryRunHits),
            Op::Mode(op) => {
                let ModeOp { record, purposes, visitor, change, prompt } = *op;
                if let Some(c) = change.as_ref().filter(|c| c.reason == ModeChangeReason::SetByApp) {
                    let answers = purposes.iter().map(|(p, choice)| (p.clone(), choice.mode.wire_name().to_owned())).collect();
                    self.receipts.unwritten.push((c.at_ms, c.current.wire_name().to_owned(), answers, prompt.as_deref().cloned()));
                    self.write_receipts(notices);
                    let answer = Answer::of(&c.current, purposes.values().map(|p| p.mode));
                    let refusal_stops = answer == Answer::RefusedAll && self.shared.config.consent.refuse_all_stops_statistics;
                    if let Some(prompt) = prompt.as_deref() {
                        self.count_consent(notices, |s| s.count(c.at_ms, prompt, StatEvent::Answered(answer)));
                    }
                    if refusal_stops {
                        self.count_consent(notices, ConsentStats::switch_off);
                    }
                }
                let choice = Choice { record, purposes };
                self.choice_due = Some(choice.clone());
                self.queue(Write::Mode { choice, visitor });
                if let Some(change) = change {
                    notices.push(Notice::Mode(change));
                }
            }
            Op::PromptShown(prompt, at_ms) => self.count_consent(notices, |s| s.count(at_ms, &prompt, StatEvent::Shown)),
            Op::ConsentStatistics(on) => self.count_consent(notices, |s| if on { s.off = false } else { s.switch_off() }),
            Op::ConsentStatisticsSent(rows, done) => {
                self.count_consent(notices, |s| s.subtract(&rows));
                let _ = done.send(());
            }
            Op::SpaceFreed(n) => {
                if let Some(b) = &mut self.full_budget {
                    *b += n;
                }
            }
            Op::DeleteAll(op) => {
                let DeleteAllOp { keep, purposes, change, reply } = *op;
                // The proofs of consent go with the data (right to erasure).
                self.receipts = ReceiptLog { last: Some(None), unwritten: Vec::new() };
                let dir = &self.shared.storage_dir;
                if let Err(e) = receipts::delete(dir).and_then(|_| outbox::delete_marker(dir)) {
                    notices.push(Notice::Diagnostic(Diagnostic::StorageError { message: format!("the consent receipts could not be deleted: {e}") }));
                }
                // The counts go; a switch-off stays in force (a refusal kept).
                self.count_consent(notices, |s| s.rows.clear());
                let keep = Choice { record: keep, purposes };
                self.choice_due = Some(keep.clone());
                self.queue(Write::DeleteAll { keep });
                if let Some(c) = change {
                    notices.push(Notice::Mode(c));
                }
                return Some(Control::DeleteAll(reply));
            }
            Op::Flush(r) => return Some(Control::Flush(r)),
            Op::Export(r) => return Some(Control::Export(r)),
            Op::Recover => return Some(Control::Recover),
            Op::Shutdown(r) => return Some(Control::Shutdown(r)),
        }
        None
    }

    /// Hands the reports of a commit to the listener's thread (never waits).
    fn deliver(&self, notices: Vec<Notice>) {
        for n in notices {
            self.shared.notices.push(n);
        }
    }

    /// Answers a control request; false to stop the thread.
    fn control(&mut self, c: Control) -> bool {
        if matches!(c, Control::Flush(_)) && !self.receipts.unwritten.is_empty() {
            let mut notices = Vec::new();
            self.write_receipts(&mut notices);
            self.deliver(notices);
        }
        let status = || match &self.failing {
            Some(e) if !self.pending.is_empty() => Err(e.clone()),
            _ => Ok(()),
        };
        match c {
            Control::Flush(reply) => {
                self.since_wake = 0;
                let _ = reply.send(status());
            }
            Control::Export(reply) => {
                let _ = reply.send(self.export());
            }
            Control::DeleteAll(reply) => {
                let r = status().map(|()| self.last_deleted);
                let _ = reply.send(r);
            }
            Control::Recover => {
                let damaged = match &self.conn {
                    Some(conn) => conn.query_row("PRAGMA quick_check", [], |r| r.get::<_, String>(0)).map(|s| s != "ok").unwrap_or(true),
                    None => false,
                };
                if damaged {
                    let mut notices = Vec::new();
                    self.recreate("damaged page found while uploading".into(), &mut notices);
                    self.deliver(notices);
                }
            }
            Control::Shutdown(reply) => {
                let _ = reply.send(status());
                return false;
            }
        }
        true
    }

    /// Writes the choice file when a change of choice is due. Until it is
    /// written nothing is committed, so the file is never behind the database.
    fn write_choice(&mut self, notices: &mut Vec<Notice>) -> bool {
        let Some(choice) = &self.choice_due else { return true };
        match store::choice::write(&self.shared.storage_dir, &self.shared.site, choice) {
            Ok(()) => {
                self.choice_due = None;
                true
            }
            Err(e) => {
                self.failed(e, notices);
                false
            }
        }
    }

    /// Truncates the WAL once a purge is committed, retried until no reader
    /// holds it.
    fn truncate_wal(&mut self) {
        if let Some(conn) = &self.conn {
            self.checkpoint_due = !matches!(store::checkpoint_truncate(conn), Ok(true));
        }
    }

    /// Commits every pending write in one transaction.
    fn commit(&mut self, notices: &mut Vec<Notice>) {
        if !self.owes_writes() {
            return;
        }
        // The directory is ours (it may have been unusable at start-up),
        // then the choice is on disk, then the database follows.
        if let Err(e) = self.shared.lock_storage() {
            return self.failed(e, notices);
        }
        if !self.write_choice(notices) {
            return;
        }
        if self.conn.is_none() {
            match store::open_or_recreate(&self.shared.storage_dir) {
                Ok((conn, recovered)) => {
                    self.conn = Some(conn);
                    if let Some(reason) = recovered {
                        self.after_recreate(reason, notices);
                    }
                }
                Err(e) => return self.failed(e, notices),
            }
        }
        if self.full_budget.is_some() {
            // The WAL only shrinks once checkpointed; on a full disk that is
            // what gives uploads and writes room again.
            if let Some(conn) = &self.conn {
                let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
            }
        }
        // One transaction for everything pending; on an I/O error, smaller
        // ones, so whatever can be written is. While the disk is full, only
        // as many hits as the budget allows.
        let mut chunk = self.writable_ops();
        while chunk > 0 {
            let n = chunk.min(self.pending.len());
            let mut result = self.try_commit(n);
            if let Err(StoreError::Corrupt(why)) = &result {
                self.recreate(why.clone(), notices);
                result = self.try_commit(n);
            }
            match result {
                Ok(done) => {
                    if let Some(b) = &mut self.full_budget {
                        *b = b.saturating_sub(done.hits);
                    }
                    self.committed(n, done, notices);
                    chunk = self.writable_ops();
                }
                Err(StoreError::Unavailable(_)) if n > 1 => chunk = n / 2,
                Err(e) => {
                    if matches!(e, StoreError::Full(_)) {
                        self.full_budget = Some(0);
                        self.shared.disk_full.store(true, Ordering::Relaxed);
                        // Start afresh once space is back: SQLite may keep the
                        // connection's WAL state from the failed write.
                        self.conn = None;
                    }
                    return self.failed(e, notices);
                }
            }
        }
        if self.checkpoint_due {
            self.truncate_wal();
        }
        if self.pending.is_empty() {
            self.failing = None;
            self.full_budget = None;
            self.shared.disk_full.store(false, Ordering::Relaxed);
        }
    }

    /// How many leading pending writes may be attempted now: all of them,
    /// or, while the disk is full, those holding at most the budget in hits.
    fn writable_ops(&self) -> usize {
        let Some(budget) = self.full_budget else { return self.pending.len() };
        let mut hits = 0;
        for (i, w) in self.pending.iter().enumerate() {
            if matches!(w, Write::Hit(_)) {
                if hits == budget {
                    return i;
                }
                hits += 1;
            }
        }
        self.pending.len()
    }

    /// Commits the first `n` pending writes in one transaction.
    fn try_commit(&mut self, n: usize) -> Result<Committed, StoreError> {
        let now = self.shared.clock.now_ms();
        let tick = self.shared.clock.monotonic_ms();
        let config = &self.shared.config;
        let site = &self.shared.site;
        let purges = self.pending.iter().take(n).any(Write::purges);
        let erases = purges || self.pending.iter().take(n).any(Write::erases);
        let conn = self.conn.as_mut().ok_or_else(|| StoreError::Unavailable("no database".into()))?;
        let tx = conn.transaction()?;
        let mut done = Committed::default();
        let mut insert = store::hit_inserter(&tx)?;
        for w in self.pending.iter().take(n) {
            match w {
                Write::Hit(hit) => {
                    store::insert_hit(&mut insert, hit, site, config.dry_run)?;
                    done.hits += 1;
                }
                Write::NewVisitor(v) => store::save_visitor(&tx, v, site)?,
                Write::DropDryRunHits => done.purged += store::delete_dry_run_hits(&tx)?,
                Write::Visitor(action) => done.purged += apply_visitor(&tx, *action)?,
                Write::Mode { choice, visitor } => {
                    done.purged += apply_visitor(&tx, *visitor)?;
                    match &choice.record {
                        Some(r) => store::push_mode(&tx, r)?,
                        None => store::clear_modes(&tx)?,
                    }
                    store::replace_purposes(&tx, &choice.purposes)?;
                }
                Write::DeleteAll { keep } => {
                    done.deleted += store::delete_all(&tx)?;
                    if let Some(r) = &keep.record {
                        store::push_mode(&tx, r)?;
                    }
                    store::replace_purposes(&tx, &keep.purposes)?;
                }
            }
        }
        drop(insert);
        done.trimmed_count = store::trim_to_count(&tx, config.queue_max_hits)?;
        let age_trim_due = self.last_age_trim.is_none_or(|t| tick.saturating_sub(t) >= AGE_TRIM_EVERY_MS);
        if age_trim_due {
            done.trimmed_age = store::trim_older_than(&tx, queue_age_cutoff(now, config.queue_max_age_days))?;
        }
        if purges {
            // Nothing a purge deletes may leave once it has committed: the
            // uploader checks its batch against the store under this gate
            // before every request.
            let _gate = self.shared.purge_gate.lock().unwrap_or_else(|p| p.into_inner());
            tx.commit()?;
        } else {
            tx.commit()?;
        }
        if age_trim_due {
            self.last_age_trim = Some(tick);
        }
        if erases {
            self.truncate_wal();
        }
        Ok(done)
    }

    fn committed(&mut self, n: usize, done: Committed, notices: &mut Vec<Notice>) {
        for w in self.pending.drain(..n) {
            match w {
                Write::Hit(_) => self.pending_hits -= 1,
                Write::NewVisitor(v) => self.mirror.visitor = Some(v),
                Write::Visitor(action) => {
                    if action != VisitorAction::Keep {
                        self.mirror.visitor = None;
                    }
                }
                Write::Mode { choice, visitor } => {
                    if visitor != VisitorAction::Keep {
                        self.mirror.visitor = None;
                    }
                    self.mirror.mode = choice.record;
                    self.mirror.purposes = choice.purposes;
                }
                Write::DeleteAll { keep } => {
                    self.mirror = StoredState { mode: keep.record, purposes: keep.purposes, visitor: None };
                }
                Write::DropDryRunHits => {}
            }
        }
        self.last_deleted = done.deleted;
        let c = &self.shared.counters;
        Counters::add(&c.persisted, done.hits);
        Counters::add(&c.purged_on_mode_change, done.purged);
        Counters::add(&c.deleted_with_local_data, done.deleted);
        Counters::add(&c.trimmed_max_hits, done.trimmed_count);
        Counters::add(&c.trimmed_max_age, done.trimmed_age);
        if done.trimmed_count > 0 {
            notices.push(Notice::Diagnostic(Diagnostic::QueueTrimmed { cause: TrimCause::MaxHits, dropped: done.trimmed_count }));
        }
        if done.trimmed_age > 0 {
            notices.push(Notice::Diagnostic(Diagnostic::QueueTrimmed { cause: TrimCause::MaxAge, dropped: done.trimmed_age }));
        }
        self.since_wake += done.hits;
        if self.since_wake >= u64::from(self.shared.config.batch_size) {
            self.since_wake = 0;
            let _ = self.shared.uploads.send(UpMsg::Wake);
        }
    }

    fn failed(&mut self, e: StoreError, notices: &mut Vec<Notice>) {
        if self.failing.as_ref() != Some(&e) {
            notices.push(Notice::Diagnostic(Diagnostic::StorageError { message: e.to_string() }));
        }
        let newer = matches!(e, StoreError::NewerSchema { .. });
        self.failing = Some(e);
        if newer {
            // Not ours to touch: stop writing to it and keep retrying to open it
            // (a newer SDK may migrate it back, or the app may delete it).
            self.conn = None;
        }
    }

    /// Replaces an unreadable database with a new one holding the visitor's state.
    fn recreate(&mut self, reason: String, notices: &mut Vec<Notice>) {
        self.conn = None;
        let opened = store::remove_files(&self.shared.storage_dir).and_then(|()| store::open(&self.shared.storage_dir));
        match opened {
            Ok(conn) => {
                self.conn = Some(conn);
                self.after_recreate(reason, notices);
            }
            Err(e) => self.failed(e, notices),
        }
    }

    fn after_recreate(&mut self, reason: String, notices: &mut Vec<Notice>) {
        self.shared.db_generation.fetch_add(1, Ordering::SeqCst);
        notices.push(Notice::Diagnostic(Diagnostic::StorageRecovered { reason }));
        // The committed state is gone with the file: queue it again, before
        // the pending writes that were meant to follow it.
        if let Some(v) = self.mirror.visitor.clone() {
            self.pending.push_front(Write::NewVisitor(v));
        }
        if self.mirror.mode.is_some() || !self.mirror.purposes.is_empty() {
            let choice = Choice { record: self.mirror.mode.clone(), purposes: self.mirror.purposes.clone() };
            self.pending.push_front(Write::Mode { choice, visitor: VisitorAction::Keep });
        }
    }

    /// Writes the receipts of the answers not yet written, each chained to
    /// the one before; stops at the first failure (retried with the next
    /// answer and at each flush).
    fn write_receipts(&mut self, notices: &mut Vec<Notice>) {
        let dir = self.shared.storage_dir.clone();
        if self.receipts.last.is_none() {
            match receipts::last(&dir) {
                Ok(last) => self.receipts.last = Some(last),
                Err(_) => return,
            }
        }
        while !self.receipts.unwritten.is_empty() {
            let (at_ms, mode, answers, prompt) = self.receipts.unwritten[0].clone();
            let last = self.receipts.last.as_ref().and_then(Option::as_ref);
            let random = self.shared.random.clone();
            let new_id = || uuid_v4(random.uuid_v4()).hyphenated().to_string();
            let receipt = Receipt::next(last, new_id, at_ms, &mode, answers, prompt, &self.shared.policy_hash);
            match receipts::append(&dir, &receipt) {
                Ok(()) => {
                    self.receipts.unwritten.remove(0);
                    self.receipts.last = Some(Some(receipt));
                }
                Err(e) => {
                    notices.push(Notice::Diagnostic(Diagnostic::StorageError {
                        message: format!("a consent receipt could not be written (kept, retried): {e}"),
                    }));
                    return;
                }
            }
        }
    }

    /// Changes the consent statistics (read at first use; a damaged file
    /// starts afresh, and says so) and writes them whole. Counting is off
    /// when the configuration says so.
    fn count_consent(&mut self, notices: &mut Vec<Notice>, change: impl FnOnce(&mut ConsentStats)) {
        let dir = self.shared.storage_dir.clone();
        let stats = match self.consent_stats.take() {
            Some(s) => s,
            None => ConsentStats::load(&dir).unwrap_or_else(|e| {
                notices.push(Notice::Diagnostic(Diagnostic::StorageError {
                    message: format!("the consent statistics were unreadable and start afresh: {e}"),
                }));
                ConsentStats::default()
            }),
        };
        let mut changed = stats.clone();
        change(&mut changed);
        if !self.shared.config.consent.statistics {
            changed.rows.clear();
        }
        if changed != stats {
            let saved = if changed == ConsentStats::default() { consent::stats::delete(&dir) } else { changed.save(&dir) };
            if let Err(e) = saved {
                notices.push(Notice::Diagnostic(Diagnostic::StorageError { message: format!("the consent statistics could not be written: {e}") }));
            }
        }
        self.consent_stats = Some(changed);
    }

    fn export(&self) -> Result<StoredData, StoreError> {
        let conn = self.conn.as_ref().ok_or_else(|| self.failing.clone().unwrap_or_else(|| StoreError::Unavailable("no database".into())))?;
        let state = store::load_state(conn)?;
        let mut pending: Vec<ExportedHit> = store::queued_hits(conn)?.into_iter().map(ExportedHit::from).collect();
        // Hits still waiting in memory because storage failed.
        pending.extend(self.pending.iter().filter_map(|w| match w {
            Write::Hit(h) => Some(ExportedHit::from(&**h)),
            _ => None,
        }));
        let consent_receipts = receipts::read_lines(&self.shared.storage_dir)?;
        let consent_statistics = match &self.consent_stats {
            Some(s) => s.clone(),
            None => ConsentStats::load(&self.shared.storage_dir).unwrap_or_default(),
        };
        Ok(StoredData {
            consent_statistics,
            visitor: state.visitor,
            mode_history: store::mode_history(conn)?,
            purposes: state.purposes,
            pending_hits: pending,
            consent_receipts,
        })
    }
}

/// Applies a visitor action in a transaction; returns the hits purged.
fn apply_visitor(tx: &rusqlite::Transaction<'_>, action: VisitorAction) -> Result<u64, StoreError> {
    match action {
        VisitorAction::Keep => Ok(0),
        VisitorAction::Forget => store::delete_visitor(tx).map(|()| 0),
        VisitorAction::Withdraw => store::withdraw_consent(tx),
        VisitorAction::PurgeIdentified => store::purge_identified_hits(tx),
        VisitorAction::PurgeAll => store::purge_all_but_anonymous(tx),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_hand_off_slot_stays_small() {
        // The ring holds MAX_IN_FLIGHT + CONTROL_RESERVE of these, preallocated.
        assert!(std::mem::size_of::<super::Op>() <= 48, "{}", std::mem::size_of::<super::Op>());
    }
}
