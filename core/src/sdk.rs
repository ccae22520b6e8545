//! The SDK facade: tracking on the caller's thread, state in memory, all I/O
//! on two background threads (storage writer, uploader).
//!
//! Locking: one mutex guards the visitor state (mode, visitor id, device
//! context). `track` takes it twice, briefly: once to read the mode, once to
//! bind the visitor id and hand the hit to the writer. Handing over under the
//! lock makes the writer's queue order the order of mode changes and hits, so
//! a purge on opt-out always follows every hit bound to the purged id. No
//! listener is ever called, and no disk or network touched, under the lock.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Sender, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread::{JoinHandle, Thread};
use std::time::Duration;

use crate::clock::{Clock, EpochMillis, OsRandom, Random, SystemClock};
use crate::config::{Config, DeviceContext};
use crate::diagnostics::{Diagnostic, DropReason, Dropped, Listener};
use crate::error::{ConfigError, ModeError, SdkError, TrackError};
use crate::hit::{check_event, CheckedEvent, Context, Event, Hit, QueuedHit, Value};
use crate::mode::{consent_expiry, consent_lapse, ModeChange, ModeChangeReason, ModeRecord, ModeStatus, VisitorMode};
use crate::report::{ComplianceReport, LocalData};
use crate::rules::{ModeRules, RuleBook};
use crate::stats::{Counters, Stats};
use crate::store::lock::{DirLock, LockError};
use crate::store::{self, StoreError, StoredState};
use crate::upload::uploader::{FlushReport, UpMsg, Uploader};
use crate::upload::HttpClient;
use crate::visitor_id::VisitorId;
use crate::worker::{DeleteAllOp, ModeOp, Op, VisitorAction, Writer};

/// Hits handed to the writer and not yet taken by it. Past this, `track`
/// refuses with [`TrackError::QueueFull`] instead of growing memory: the
/// writer commits ~10^5 hits/s, so this is a stall of storage, not load.
pub const MAX_IN_FLIGHT: usize = 8192;
/// Room kept in the hand-off for everything but hits (mode changes, flush,
/// export...): hits can never take it, so those never wait in practice.
const CONTROL_RESERVE: usize = 1024;

/// How long a caller waits for the writer to answer (flush, export, delete).
const WRITER_ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

/// What became of a tracked event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrackOutcome {
    /// Queued for upload, with the hit's `event_id`.
    Queued { event_id: String },
    /// Not sent: the visitor mode does not allow this event (reported to the listener too).
    NotSent { reason: DropReason },
}

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
    /// Bumped at each mode change; `track` re-filters when it moved.
    pub epoch: u64,
    pub closed: bool,
}

impl State {
    /// The visitor id a hit tracked at `now` may carry: the stored one while
    /// it is within its 13 months, else none (a new one must be created).
    fn valid_visitor(&self, now: EpochMillis) -> Option<Arc<str>> {
        match (&self.visitor, &self.visitor_wire) {
            (Some(v), Some(wire)) if v.is_valid_at(now) => Some(wire.clone()),
            _ => None,
        }
    }
}

pub(crate) struct Inner {
    pub config: Config,
    pub rules: RuleBook,
    pub clock: Arc<dyn Clock>,
    pub random: Arc<dyn Random>,
    pub listener: Option<Arc<dyn Listener>>,
    pub http: Arc<dyn HttpClient>,
    pub counters: Counters,
    pub storage_dir: PathBuf,
    /// Bumped by the writer each time it recreates the database file.
    pub db_generation: AtomicU64,
    /// Hits (and drop notes) sent to the writer and not yet received by it.
    pub in_flight: AtomicUsize,
    pub uploads: Sender<UpMsg>,
    state: RwLock<State>,
    /// Preallocated ring: handing a hit over allocates nothing.
    ops: SyncSender<Op>,
    closed: AtomicBool,
    /// The writer thread, and whether it is parked waiting for work.
    pub writer: OnceLock<Thread>,
    pub writer_idle: AtomicBool,
    /// Set by the writer while the disk is full: it then wants to hear of
    /// every row the uploader deletes.
    pub disk_full: AtomicBool,
    /// Held by the writer while it commits a purge, and by the uploader from
    /// its check of a batch against the store to the request's hand-over.
    pub purge_gate: Mutex<()>,
    /// The storage directory's lock: one SDK per directory. Taken at build,
    /// or by the writer once an unusable directory becomes usable; released
    /// when the SDK has shut down.
    dir_lock: Mutex<Option<DirLock>>,
}

impl Inner {
    /// For changes of state (mode, visitor id, context).
    fn lock(&self) -> RwLockWriteGuard<'_, State> {
        // The state stays consistent even if a thread panicked while holding
        // the lock: every update is a few assignments with no early return.
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }

    /// For tracking: any number of threads read and hand over hits at once;
    /// a change of mode (write lock) waits for them, so the writer's queue
    /// still receives hits and mode changes in a consistent order.
    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    fn rules_for(&self, mode: &VisitorMode) -> Arc<ModeRules> {
        self.rules.shared(mode)
    }

    /// Records a mode change in memory and hands its persistence to the writer.
    ///
    /// The visitor id: a mode that may not hold one deletes it with every
    /// queued hit that carries it (a purge); crossing the consent boundary
    /// (into or out of opt-in) deletes it so that the next hit gets a new one,
    /// and the identified stream of opt-in never shares an id with the
    /// anonymous statistics of the exempt modes (CNIL 2020-091 §51: no
    /// cross-referencing). Hits already queued keep the id they were bound to.
    fn apply_mode(&self, st: &mut State, mode: VisitorMode, at: EpochMillis, reason: ModeChangeReason) {
        let previous = std::mem::replace(&mut st.mode, mode.clone());
        let visitor = if !mode.stores_visitor_id() {
            VisitorAction::Purge
        } else if previous.consent() != mode.consent() {
            VisitorAction::Forget
        } else {
            VisitorAction::Keep
        };
        let record = ModeRecord { mode: mode.clone(), since_ms: at, reason };
        st.record = Some(record.clone());
        if visitor != VisitorAction::Keep {
            st.visitor = None;
            st.visitor_wire = None;
        }
        st.rules = self.rules_for(&mode);
        st.renewal_needed = reason == ModeChangeReason::ConsentExpired;
        st.epoch += 1;
        let change = ModeChange {
            previous,
            current: mode,
            at_ms: at,
            reason,
            consent_renewal_needed: reason == ModeChangeReason::ConsentExpired,
        };
        // Mode operations bypass the in-flight bound: they must never be lost.
        let _ = self.ops.send(Op::Mode(Box::new(ModeOp { record: Some(record), visitor, change: Some(change) })));
    }

    /// When the opt-in in force lapses; `None` in any other mode, and when
    /// its expiry cannot be represented (it has lapsed already).
    fn consent_expires_at(&self, st: &State) -> Option<EpochMillis> {
        match (&st.mode, &st.record) {
            (VisitorMode::OptIn, Some(r)) => consent_expiry(r.since_ms, self.config.consent_lifetime_months),
            _ => None,
        }
    }

    /// When the opt-in in force lapsed, if it has at `now` ([`consent_lapse`]).
    fn consent_lapsed_at(&self, st: &State, now: EpochMillis) -> Option<EpochMillis> {
        match (&st.mode, &st.record) {
            (VisitorMode::OptIn, Some(r)) => consent_lapse(r.since_ms, self.config.consent_lifetime_months, now),
            // An opt-in without a record cannot be: fail closed.
            (VisitorMode::OptIn, None) => Some(now),
            _ => None,
        }
    }

    /// Whether an opt-in in force has lapsed at `now` (read-only check).
    fn consent_lapsed(&self, st: &State, now: EpochMillis) -> bool {
        self.consent_lapsed_at(st, now).is_some()
    }

    /// Takes the storage directory's lock if this SDK does not hold it yet
    /// (the directory was unusable at build).
    pub(crate) fn lock_storage(&self) -> Result<(), StoreError> {
        let mut held = self.dir_lock.lock().unwrap_or_else(|p| p.into_inner());
        if held.is_none() {
            store::create_private_dir(&self.storage_dir)?;
            *held = Some(DirLock::acquire(&self.storage_dir).map_err(|e| match e {
                LockError::InUse => StoreError::Unavailable("the storage directory is in use by another Mesure instance".into()),
                LockError::Io(e) => e.into(),
            })?);
        }
        Ok(())
    }

    /// Hands a hit to the writer under a lock on the state (read or write),
    /// unless the mode changed since it was filtered or the SDK is closing.
    fn hand_over(&self, st: &State, epoch: u64, visitor_id: Arc<str>, mut hit: Box<QueuedHit>, notes: Vec<Dropped>) -> Result<(), HandOver> {
        if st.closed {
            return Err(HandOver::Failed(TrackError::ShutDown));
        }
        if st.epoch != epoch {
            return Err(HandOver::Retry);
        }
        if self.in_flight.load(Ordering::Relaxed) >= MAX_IN_FLIGHT {
            Counters::add(&self.counters.rejected_backpressure, 1);
            return Err(HandOver::Failed(TrackError::QueueFull));
        }
        hit.visitor_id = visitor_id;
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        match self.ops.try_send(Op::Hit { hit, notes }) {
            Ok(()) => Ok(()),
            Err(e) => {
                self.in_flight.fetch_sub(1, Ordering::Relaxed);
                Err(HandOver::Failed(match e {
                    TrySendError::Full(_) => TrackError::QueueFull,
                    TrySendError::Disconnected(_) => TrackError::ShutDown,
                }))
            }
        }
    }

    /// Returns to the default mode once an opt-in choice has lapsed. True
    /// when it did (the caller wakes the writer once the lock is released).
    fn expire_consent(&self, st: &mut State, now: EpochMillis) -> bool {
        match self.consent_lapsed_at(st, now) {
            Some(at) => {
                self.apply_mode(st, self.config.default_mode.clone(), at, ModeChangeReason::ConsentExpired);
                true
            }
            None => false,
        }
    }

    /// The app-scoped id, created when missing or expired (never extended).
    fn ensure_visitor(&self, st: &mut State, now: EpochMillis) -> Arc<str> {
        if let Some(wire) = st.valid_visitor(now) {
            return wire;
        }
        let v = VisitorId::generate(&*self.random, now);
        let wire: Arc<str> = Arc::from(v.id.as_str());
        let _ = self.ops.send(Op::NewVisitor(Box::new(v.clone())));
        st.visitor = Some(v);
        st.visitor_wire = Some(wire.clone());
        wire
    }

    fn send_notes(&self, mode: &VisitorMode, notes: Vec<Dropped>) {
        if notes.is_empty() || self.in_flight.load(Ordering::Relaxed) >= MAX_IN_FLIGHT {
            return;
        }
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        if self.ops.try_send(Op::Notes { mode: mode.wire_name().into(), notes }).is_err() {
            self.in_flight.fetch_sub(1, Ordering::Relaxed);
        }
        self.wake_writer();
    }

    pub(crate) fn notify_diagnostic(&self, d: Diagnostic) {
        if let Some(l) = &self.listener {
            let l = l.clone();
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || l.on_diagnostic(&d)));
        }
    }

    pub(crate) fn notify_mode(&self, c: &ModeChange) {
        if let Some(l) = &self.listener {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| l.on_mode_changed(c)));
        }
    }

    /// Wakes the writer if it is parked. Called after handing it something,
    /// outside the state lock: a wake-up is a system call, and it is only
    /// needed when the writer has gone idle (it polls while busy).
    pub(crate) fn wake_writer(&self) {
        if self.writer_idle.load(Ordering::SeqCst) {
            if let Some(t) = self.writer.get() {
                t.unpark();
            }
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Tells the writer the uploader deleted rows (it paces writes on a full disk).
    pub(crate) fn space_freed(&self, rows: u64) {
        if rows > 0 && self.disk_full.load(Ordering::Relaxed) {
            let _ = self.ops.send(Op::SpaceFreed(rows));
            self.wake_writer();
        }
    }

    pub(crate) fn ops_send(&self, op: Op) -> Result<(), SdkError> {
        self.ops.send(op).map_err(|_| SdkError::ShutDown)?;
        self.wake_writer();
        Ok(())
    }

    fn ask_writer<T>(&self, make: impl FnOnce(mpsc::SyncSender<T>) -> Op) -> Result<T, SdkError> {
        let (tx, rx) = mpsc::sync_channel(1);
        self.ops_send(make(tx))?;
        rx.recv_timeout(WRITER_ANSWER_TIMEOUT).map_err(|e| match e {
            mpsc::RecvTimeoutError::Timeout => SdkError::Timeout(WRITER_ANSWER_TIMEOUT.as_millis() as u64),
            mpsc::RecvTimeoutError::Disconnected => SdkError::ShutDown,
        })
    }
}

fn context_properties(ctx: &DeviceContext) -> Arc<Context> {
    Arc::new(Context::new(ctx.properties()))
}

enum HandOver {
    /// The mode changed after filtering: filter again.
    Retry,
    Failed(TrackError),
}

/// Builds an [`Sdk`]; every part but the configuration has a production default.
pub struct SdkBuilder {
    config: Config,
    clock: Option<Arc<dyn Clock>>,
    random: Option<Arc<dyn Random>>,
    listener: Option<Arc<dyn Listener>>,
    http: Option<Arc<dyn HttpClient>>,
}

impl SdkBuilder {
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }
    /// Tests only: identifiers must come from the OS CSPRNG ([`OsRandom`], the default).
    pub fn random(mut self, random: Arc<dyn Random>) -> Self {
        self.random = Some(random);
        self
    }
    pub fn listener(mut self, listener: Arc<dyn Listener>) -> Self {
        self.listener = Some(listener);
        self
    }
    pub fn http_client(mut self, client: Arc<dyn HttpClient>) -> Self {
        self.http = Some(client);
        self
    }

    /// Validates the configuration, takes the storage directory (one SDK per
    /// directory: a second gets [`SdkError::StorageInUse`]), opens the store
    /// (recreating it if unreadable; running without storage if it cannot be
    /// opened), loads the visitor's choice and id, and starts the background
    /// threads.
    pub fn build(self) -> Result<Sdk, SdkError> {
        let config = self.config;
        config.validate()?;
        let http = match self.http {
            Some(h) => h,
            None => default_http_client()?,
        };
        let clock = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let random = self.random.unwrap_or_else(|| Arc::new(OsRandom));
        let rules = RuleBook::new(&config);
        let now = clock.now_ms();
        let mut startup = Vec::new();

        // The lock comes first: nothing of the directory is read before it
        // is ours. A directory that cannot be created or locked for another
        // reason leaves the SDK running from memory; the writer takes the
        // lock when the directory becomes usable.
        let dir = &config.storage_dir;
        let dir_lock = match store::create_private_dir(dir).map_err(|e| LockError::Io(std::io::Error::other(e.to_string())))
            .and_then(|()| DirLock::acquire(dir))
        {
            Ok(lock) => Some(lock),
            Err(LockError::InUse) => return Err(SdkError::StorageInUse { dir: dir.clone() }),
            Err(LockError::Io(e)) => {
                startup.push(Diagnostic::StorageError { message: format!("storage directory unusable: {e}") });
                None
            }
        };
        let (conn, stored) = match dir_lock.as_ref().map(|_| store::open_or_recreate(dir)) {
            Some(Ok((conn, recovered))) => {
                if let Some(reason) = recovered {
                    startup.push(Diagnostic::StorageRecovered { reason });
                }
                match store::load_state(&conn) {
                    Ok(s) => (Some(conn), s),
                    Err(e) => {
                        startup.push(Diagnostic::StorageError { message: e.to_string() });
                        (Some(conn), StoredState::default())
                    }
                }
            }
            Some(Err(e)) => {
                startup.push(Diagnostic::StorageError { message: e.to_string() });
                (None, StoredState::default())
            }
            None => (None, StoredState::default()),
        };
        // The choice file outlives the database; it is never behind it.
        let from_db = stored.mode.clone();
        let (choice, rewrite_choice) = match dir_lock.as_ref().map(|_| store::choice::read(dir)) {
            Some(Ok(Some(choice))) => {
                let differs = choice != from_db;
                (choice, differs)
            }
            // No file yet: a fresh install, or a store from a version
            // without one (then the file is written from the database).
            Some(Ok(None)) => (from_db.clone(), from_db.is_some()),
            None => (from_db.clone(), false),
            Some(Err(e)) => {
                startup.push(Diagnostic::StorageError { message: format!("choice file unreadable, read from the database: {e}") });
                (from_db.clone(), true)
            }
        };

        let mut mode = config.default_mode.clone();
        let mut record = None;
        let mut renewal_needed = false;
        if let Some(r) = choice.clone() {
            // A custom mode the configuration no longer defines falls back to the default.
            if rules.knows(&r.mode) {
                mode = r.mode.clone();
                renewal_needed = r.reason == ModeChangeReason::ConsentExpired;
                record = Some(r);
            }
        }
        let visitor = stored.visitor.clone().filter(|v| v.is_valid_at(now) && mode.stores_visitor_id());
        let stale_visitor = stored.visitor.is_some() && visitor.is_none();

        let (ops_tx, ops_rx) = mpsc::sync_channel(MAX_IN_FLIGHT + CONTROL_RESERVE);
        let (up_tx, up_rx) = mpsc::channel();
        let state = State {
            record,
            rules: rules.shared(&mode),
            mode,
            renewal_needed,
            visitor_wire: visitor.as_ref().map(|v| Arc::from(v.id.as_str())),
            visitor,
            context: context_properties(&config.context),
            epoch: 0,
            closed: false,
        };
        let inner = Arc::new(Inner {
            storage_dir: config.storage_dir.clone(),
            config,
            rules,
            clock,
            random,
            listener: self.listener,
            http,
            counters: Counters::default(),
            db_generation: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            uploads: up_tx,
            state: RwLock::new(state),
            ops: ops_tx,
            closed: AtomicBool::new(false),
            writer: OnceLock::new(),
            writer_idle: AtomicBool::new(false),
            disk_full: AtomicBool::new(false),
            purge_gate: Mutex::new(()),
            dir_lock: Mutex::new(dir_lock),
        });
        {
            let mut st = inner.lock();
            if rewrite_choice && conn.is_some() {
                // The database lost the choice (recreated, or behind the file
                // after a crash), or the file is missing or unreadable:
                // record the choice in both again.
                let _ = inner.ops.send(Op::Mode(Box::new(ModeOp { record: choice, visitor: VisitorAction::Keep, change: None })));
            }
            if stale_visitor {
                // Expired, dated in the future, or left by a mode that may
                // not hold one: delete it now.
                let action = if st.mode.stores_visitor_id() { VisitorAction::Forget } else { VisitorAction::Purge };
                let _ = inner.ops.send(Op::Visitor(action));
            }
            inner.expire_consent(&mut st, now);
        }
        for d in startup {
            let _ = inner.ops.send(Op::Diagnostic(Box::new(d)));
        }

        let writer = Writer::new(inner.clone(), ops_rx, conn, stored);
        let writer = spawn("mesure-writer", move || writer.run())?;
        let uploader = Uploader::new(inner.clone(), up_rx);
        let uploader = match spawn("mesure-uploader", move || uploader.run()) {
            Ok(h) => h,
            Err(e) => {
                inner.closed.store(true, Ordering::SeqCst);
                let (tx, _rx) = mpsc::sync_channel(1);
                let _ = inner.ops_send(Op::Shutdown(tx));
                let _ = writer.join();
                return Err(e);
            }
        };
        Ok(Sdk { inner, threads: Mutex::new(Some((writer, uploader))) })
    }
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>, SdkError> {
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(f)
        .map_err(|e| SdkError::Thread(e.to_string()))
}

#[cfg(feature = "ureq-client")]
fn default_http_client() -> Result<Arc<dyn HttpClient>, SdkError> {
    crate::upload::ureq_client::UreqClient::new()
        .map(|c| Arc::new(c) as Arc<dyn HttpClient>)
        .map_err(|e| SdkError::Thread(e.to_string()))
}

#[cfg(not(feature = "ureq-client"))]
fn default_http_client() -> Result<Arc<dyn HttpClient>, SdkError> {
    Err(SdkError::Config(ConfigError::new(
        "http_client",
        crate::error::ConfigErrorKind::Invalid,
        "this build has no built-in HTTP client: pass the platform's client",
    )))
}

/// The Mesure SDK. Cheap to share (`Send + Sync`); create one per app.
pub struct Sdk {
    inner: Arc<Inner>,
    threads: Mutex<Option<(JoinHandle<()>, JoinHandle<()>)>>,
}

impl Sdk {
    pub fn builder(config: Config) -> SdkBuilder {
        SdkBuilder { config, clock: None, random: None, listener: None, http: None }
    }

    /// Filters the event under the mode in force now, binds the visitor id
    /// and hands the hit to the storage thread. Never touches disk or network.
    pub fn track(&self, event: Event) -> Result<TrackOutcome, TrackError> {
        let inner = &*self.inner;
        if inner.closed.load(Ordering::Acquire) {
            return Err(TrackError::ShutDown);
        }
        let CheckedEvent { mut name, mut properties, notes } = check_event(event)?;
        loop {
            let now = inner.clock.now_ms();
            let (rules, epoch, context, consent_lapsed) = {
                let st = inner.read();
                (st.rules.clone(), st.epoch, st.context.clone(), inner.consent_lapsed(&st, now))
            };
            if consent_lapsed {
                let mut st = inner.lock();
                inner.expire_consent(&mut st, now);
                drop(st);
                inner.wake_writer();
                continue;
            }
            if let Err(reason) = rules.event_verdict(&name) {
                let mut notes = notes;
                Counters::add(&inner.counters.events_dropped_by_mode, 1);
                Counters::add(&inner.counters.properties_dropped, count_drops(&notes));
                notes.push(Dropped { event: name, property: None, reason: reason.clone() });
                inner.send_notes(&rules.mode, notes);
                return Ok(TrackOutcome::NotSent { reason });
            }
            let selection = rules.select(&name, &context, &properties);
            // The allowed properties move into the hit; the others stay, so a
            // retry under another mode still has everything the app tagged.
            let all = std::mem::take(&mut properties);
            let mut kept = Vec::with_capacity(all.len());
            for ((k, v), keep) in all.into_iter().zip(&selection.keep) {
                if *keep {
                    kept.push((k, v));
                } else {
                    properties.insert(k, v);
                }
            }
            let mut hit_notes = notes.clone();
            hit_notes.extend(selection.dropped);
            let event_id = inner.random.event_id().hyphenated().to_string();
            // Built (and allocated) before any lock; only the visitor id is
            // decided under it.
            let hit = Hit {
                event_id,
                name: std::mem::take(&mut name),
                mode: rules.wire.clone(),
                consent: rules.mode.consent(),
                tracked_at_ms: now,
                context,
                context_mask: selection.context_mask,
                timestamp: selection.timestamp,
                properties: kept,
            };
            // Serialised here, before any lock: the storage thread only
            // writes it, and the properties are freed by the thread that
            // allocated them.
            let queued = Box::new(QueuedHit {
                event_id: hit.event_id.clone(),
                // Bound under the lock by hand_over.
                visitor_id: rules.wire.clone(),
                mode: rules.wire.clone(),
                tracked_at_ms: now,
                body: hit.wire_json(),
            });
            let dropped = count_drops(&hit_notes);
            let handed = match &rules.fixed_visitor {
                Some(fixed) => inner.hand_over(&inner.read(), epoch, fixed.clone(), queued, hit_notes),
                None => {
                    // Usually the id exists: a read lock. Creating one takes the write lock.
                    let read = inner.read();
                    match read.valid_visitor(now) {
                        Some(id) => inner.hand_over(&read, epoch, id, queued, hit_notes),
                        None => {
                            drop(read);
                            let mut st = inner.lock();
                            // A changed mode or a closing SDK is refused by
                            // hand_over: no id is created for a hit not sent.
                            let id = if st.epoch == epoch && !st.closed {
                                inner.ensure_visitor(&mut st, now)
                            } else {
                                rules.wire.clone()
                            };
                            inner.hand_over(&st, epoch, id, queued, hit_notes)
                        }
                    }
                }
            };
            let Hit { event_id, name: hit_name, properties: hit_properties, .. } = hit;
            match handed {
                Ok(()) => {
                    inner.wake_writer();
                    Counters::add(&inner.counters.properties_dropped, dropped);
                    Counters::add(&inner.counters.accepted, 1);
                    return Ok(TrackOutcome::Queued { event_id });
                }
                Err(HandOver::Retry) => {
                    // The mode changed after filtering: filter again under the new one.
                    name = hit_name;
                    properties.extend(hit_properties);
                }
                Err(HandOver::Failed(e)) => return Err(e),
            }
        }
    }

    /// Tracks a screen view (`page.display`).
    pub fn track_screen(&self, name: &str, properties: Vec<(String, Value)>) -> Result<TrackOutcome, TrackError> {
        let mut e = Event::screen(name);
        e.properties.extend(properties);
        self.track(e)
    }

    /// The visitor mode in force.
    pub fn mode(&self) -> VisitorMode {
        let mut st = self.inner.lock();
        let lapsed = self.inner.expire_consent(&mut st, self.inner.clock.now_ms());
        let mode = st.mode.clone();
        drop(st);
        if lapsed {
            self.inner.wake_writer();
        }
        mode
    }

    /// The mode in force, since when, and whether consent must be asked again.
    pub fn mode_status(&self) -> ModeStatus {
        let mut st = self.inner.lock();
        let now = self.inner.clock.now_ms();
        if self.inner.expire_consent(&mut st, now) {
            drop(st);
            self.inner.wake_writer();
            st = self.inner.lock();
        }
        let since_ms = st.record.as_ref().map(|r| r.since_ms);
        ModeStatus {
            mode: st.mode.clone(),
            since_ms,
            consent_expires_at_ms: self.inner.consent_expires_at(&st),
            consent_renewal_needed: st.renewal_needed,
        }
    }

    /// Sets the visitor mode; effective for the next `track` on any thread.
    /// Leaving for opt-out, no-consent or no-storage deletes the visitor id
    /// and every queued hit that carries it, in one transaction. The change
    /// is persisted by the storage thread, then reported to the listener;
    /// `flush` waits for it.
    pub fn set_mode(&self, mode: VisitorMode) -> Result<(), ModeError> {
        if !self.inner.rules.knows(&mode) {
            return Err(ModeError::UnknownMode(mode.wire_name().to_owned()));
        }
        self.change_mode(|_| Some(mode))
    }

    /// For an opt-out switch in settings. On: opt-out. Off: from opt-out,
    /// back to the configured default mode; in any other mode nothing
    /// changes, so a consent given (opt-in) is never dropped by the switch.
    pub fn set_opted_out(&self, opted_out: bool) -> Result<(), ModeError> {
        let default = self.inner.config.default_mode.clone();
        self.change_mode(|current| match (opted_out, current) {
            (true, _) => Some(VisitorMode::OptOut),
            (false, VisitorMode::OptOut) => Some(default),
            (false, _) => None,
        })
    }

    /// The answer to a consent prompt (also the one due when
    /// [`ModeStatus::consent_renewal_needed`] is set). Granted: opt-in.
    /// Declined: an opt-in is withdrawn (back to the configured default);
    /// any other mode is recorded again as the answer (an opt-out stays in
    /// force), which settles a pending renewal.
    pub fn set_consent(&self, granted: bool) -> Result<(), ModeError> {
        let default = self.inner.config.default_mode.clone();
        self.change_mode(|current| match (granted, current) {
            (true, _) => Some(VisitorMode::OptIn),
            (false, VisitorMode::OptIn) => Some(default),
            (false, other) => Some(other.clone()),
        })
    }

    /// Applies the mode `choose` picks from the one in force (after a lapsed
    /// consent is expired), all under the state lock, so the choice and the
    /// change are one step; `None` changes nothing.
    fn change_mode(&self, choose: impl FnOnce(&VisitorMode) -> Option<VisitorMode>) -> Result<(), ModeError> {
        let inner = &*self.inner;
        let mut st = inner.lock();
        if st.closed {
            return Err(ModeError::ShutDown);
        }
        let now = inner.clock.now_ms();
        inner.expire_consent(&mut st, now);
        if let Some(mode) = choose(&st.mode) {
            inner.apply_mode(&mut st, mode, now, ModeChangeReason::SetByApp);
        }
        drop(st);
        inner.wake_writer();
        Ok(())
    }

    /// Replaces the device and app context attached to later hits.
    pub fn set_context(&self, context: DeviceContext) -> Result<(), ConfigError> {
        context.validate("context")?;
        let props = context_properties(&context);
        self.inner.lock().context = props;
        Ok(())
    }

    /// Persists every accepted hit, then tries to upload the queue now (an
    /// exponential backoff is skipped, a server's Retry-After is not).
    /// Blocks until the attempt ends: call it off the main thread.
    pub fn flush(&self) -> Result<FlushReport, SdkError> {
        let persisted = self.inner.ask_writer(Op::Flush)?;
        let (tx, rx) = mpsc::sync_channel(1);
        self.inner.uploads.send(UpMsg::Flush(tx)).map_err(|_| SdkError::ShutDown)?;
        let mut report = rx.recv().map_err(|_| SdkError::ShutDown)?;
        if let Err(message) = persisted {
            report.storage_error = Some(message);
        }
        Ok(report)
    }

    /// Everything stored on the device about this visitor, for an access request.
    pub fn export_local_data(&self) -> Result<LocalData, SdkError> {
        let status = self.mode_status();
        let now = self.inner.clock.now_ms();
        let mut data = self.inner.ask_writer(Op::Export)?.map_err(SdkError::Storage)?;
        data.exported_at_ms = now;
        data.current_mode = Some(status);
        Ok(data)
    }

    /// Deletes the visitor id, the queue and the history of choices. An
    /// opt-out (or no-consent, no-storage) in force stays in force, so erasing
    /// data never restarts tracking; other modes return to the default.
    /// Returns the number of queued hits deleted.
    pub fn delete_local_data(&self) -> Result<u64, SdkError> {
        let inner = &*self.inner;
        let (tx, rx) = mpsc::sync_channel(1);
        {
            let mut st = inner.lock();
            if st.closed {
                return Err(SdkError::ShutDown);
            }
            let now = inner.clock.now_ms();
            inner.expire_consent(&mut st, now);
            let previous = st.mode.clone();
            let keep = if st.mode.stores_visitor_id() {
                st.record = None;
                st.mode = inner.config.default_mode.clone();
                st.rules = inner.rules_for(&st.mode);
                st.renewal_needed = false;
                None
            } else {
                st.record.clone()
            };
            st.visitor = None;
            st.visitor_wire = None;
            st.epoch += 1;
            let change = (previous != st.mode).then(|| ModeChange {
                previous,
                current: st.mode.clone(),
                at_ms: now,
                reason: ModeChangeReason::LocalDataDeleted,
                consent_renewal_needed: false,
            });
            inner.ops.send(Op::DeleteAll(Box::new(DeleteAllOp { keep, change, reply: tx }))).map_err(|_| SdkError::ShutDown)?;
        }
        inner.wake_writer();
        match rx.recv_timeout(WRITER_ANSWER_TIMEOUT) {
            Ok(r) => r.map_err(SdkError::Storage),
            Err(mpsc::RecvTimeoutError::Timeout) => Err(SdkError::Timeout(WRITER_ANSWER_TIMEOUT.as_millis() as u64)),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(SdkError::ShutDown),
        }
    }

    /// What each mode lets leave the device, from the live configuration.
    pub fn compliance_report(&self) -> ComplianceReport {
        ComplianceReport::new(&self.inner.config, &self.inner.rules, self.inner.clock.now_ms())
    }

    pub fn stats(&self) -> Stats {
        self.inner.counters.snapshot()
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Persists everything accepted and stops the background threads. Later
    /// calls return [`TrackError::ShutDown`] / [`SdkError::ShutDown`].
    pub fn shutdown(&self) -> Result<(), SdkError> {
        let mut threads = self.threads.lock().unwrap_or_else(|p| p.into_inner());
        let Some((writer, uploader)) = threads.take() else { return Ok(()) };
        let (tx, rx) = mpsc::sync_channel(1);
        {
            let mut st = self.inner.lock();
            st.closed = true;
            self.inner.closed.store(true, Ordering::Release);
            let _ = self.inner.ops.send(Op::Shutdown(tx));
        }
        self.inner.wake_writer();
        let persisted = rx.recv().map_err(|_| SdkError::ShutDown);
        let _ = self.inner.uploads.send(UpMsg::Stop);
        let _ = writer.join();
        let _ = uploader.join();
        // Both connections are closed: the directory is free for another SDK.
        self.inner.dir_lock.lock().unwrap_or_else(|p| p.into_inner()).take();
        match persisted? {
            Ok(()) => Ok(()),
            Err(message) => Err(SdkError::Storage(message)),
        }
    }
}

impl Drop for Sdk {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

fn count_drops(notes: &[Dropped]) -> u64 {
    notes.iter().filter(|n| n.reason != DropReason::Truncated).count() as u64
}
