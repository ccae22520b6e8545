//! Building an [`Sdk`]: validating the configuration, taking the storage
//! directory, reading back the visitor's choice and id, starting the threads.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::{JoinHandle, ThreadId};

use crate::clock::{Clock, OsRandom, Random, SystemClock};
use crate::config::Config;
use crate::diagnostics::{Diagnostic, Listener};
use crate::error::SdkError;
use crate::gate::EgressView;
use crate::hit::Context;
use crate::messages::{ModeOp, Op, VisitorAction};
use crate::mode::ModeChangeReason;
use crate::notifier::{self, Notices};
use crate::purpose::PurposeState;
use crate::report::ComplianceReport;
use crate::rules::RuleBook;
use crate::sdk::{Inner, Running, Sdk};
use crate::shared::{Layers, Shared};
use crate::state::{Engine, State, CONTROL_RESERVE, MAX_IN_FLIGHT};
use crate::stats::Counters;
use crate::store::choice::Choice;
use crate::store::lock::{DirClaim, DirLock, LockError};
use crate::store::{self, StoredState};
use crate::upload::http::HttpClient;
use crate::upload::uploader::Uploader;
use crate::upload::wire;
use crate::worker::Writer;

/// Builds an [`Sdk`]; every part but the configuration has a production default.
pub struct SdkBuilder {
    config: Config,
    clock: Option<Arc<dyn Clock>>,
    random: Option<Arc<dyn Random>>,
    listener: Option<Arc<dyn Listener>>,
    http: Option<Arc<dyn HttpClient>>,
    legacy_dir: Option<PathBuf>,
    layers: Layers,
}

impl Sdk {
    /// A builder for an SDK with `config`.
    pub fn builder(config: Config) -> SdkBuilder {
        SdkBuilder { config, clock: None, random: None, listener: None, http: None, legacy_dir: None, layers: Layers::default() }
    }
}

impl SdkBuilder {
    /// The time source (tests move it by hand); the device's clocks by default.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }
    /// Tests only: identifiers must come from the OS CSPRNG ([`OsRandom`], the default).
    pub fn random(mut self, random: Arc<dyn Random>) -> Self {
        self.random = Some(random);
        self
    }
    /// Receives mode changes and diagnostics, on a thread of its own.
    pub fn listener(mut self, listener: Arc<dyn Listener>) -> Self {
        self.listener = Some(listener);
        self
    }
    /// The platform's HTTP client; the built-in one by default (desktop builds).
    pub fn http_client(mut self, client: Arc<dyn HttpClient>) -> Self {
        self.http = Some(client);
        self
    }

    /// Where an earlier version kept the store of every site together (the
    /// wrappers' `<base>/mesure`). At build, a store found there moves into
    /// the configured storage directory (database, its companions and the
    /// choice file) when it belongs to this site, or to no site yet (a store
    /// from before sites were recorded: one site per app then), and the
    /// storage directory holds no store of its own; otherwise it stays where
    /// it is, for the site it belongs to.
    pub fn legacy_storage_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.legacy_dir = Some(dir.into());
        self
    }

    /// Tests only: switches off the track-time filter or the egress gate,
    /// to prove that the other holds alone.
    #[cfg(feature = "test-hooks")]
    #[doc(hidden)]
    pub fn layers(mut self, layers: Layers) -> Self {
        self.layers = layers;
        self
    }

    /// Validates the configuration, claims the storage directory (one SDK
    /// per directory: of two starts on one, the second gets
    /// [`SdkError::StorageInUse`] at once, in call order) and returns: the
    /// start thread then takes the directory's file lock (another
    /// process's store fails the start: published to the listener as
    /// [`crate::RunState::Failed`]), opens the store (recreating it if
    /// unreadable; running without storage if it cannot be opened), loads
    /// the visitor's choice and id, starts the uploader and applies the
    /// calls made meanwhile, in order.
    pub fn start(self) -> Result<Sdk, SdkError> {
        let config = self.config;
        config.validate()?;
        let http = match self.http {
            Some(h) => h,
            // A dry run never calls a client: none is needed.
            None if config.dry_run => Arc::new(crate::upload::http::DryRun),
            None => default_http_client()?,
        };
        let clock = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let random = self.random.unwrap_or_else(|| Arc::new(OsRandom));
        let rules = RuleBook::new(&config);
        let claim = match DirClaim::take(&config.storage_dir) {
            Ok(claim) => claim,
            Err(_) => return Err(SdkError::StorageInUse { dir: config.storage_dir.clone() }),
        };
        let notices = Arc::new(Notices::new(self.listener.is_some()));
        let inner = Arc::new(Inner::new(config.clone(), rules.clone(), clock.clone(), notices.clone()));
        let listener = match self.listener {
            Some(l) => {
                let notices = notices.clone();
                Some(spawn("mesure-listener", move || notifier::run(notices, l))?)
            }
            None => None,
        };
        let opening = Opening {
            config,
            http,
            clock,
            random,
            rules,
            notices: notices.clone(),
            legacy_dir: self.legacy_dir,
            layers: self.layers,
            claim,
            listener_thread: listener.as_ref().map(|h| h.thread().id()),
        };
        let starting = inner.clone();
        // The start thread opens the store, starts the storage thread and
        // the uploader, applies the start queue, and ends. (The storage
        // thread writes while the queue is applied: the hand-off between
        // them is bounded.)
        let start = spawn("mesure-start", move || {
            starting.start_thread_is_this_one();
            match opening.open().and_then(start_engine) {
                Ok(running) => starting.run(running),
                Err(e) => starting.fail(e),
            }
        });
        let start = match start {
            Ok(s) => s,
            Err(e) => {
                notices.close();
                return Err(e);
            }
        };
        inner.set_threads(start, listener);
        Ok(Sdk::new(inner))
    }

    /// [`SdkBuilder::start`], then waits for the start to end: the start's
    /// error if it failed.
    pub fn build(self) -> Result<Sdk, SdkError> {
        let sdk = self.start()?;
        sdk.wait_started()?;
        Ok(sdk)
    }
}

/// Starts the storage thread and the uploader for the engine just built.
fn start_engine((engine, writer, uploader): (Arc<Engine>, Writer, Uploader)) -> Result<Running, SdkError> {
    let writer = spawn("mesure-storage", move || writer.run())?;
    let uploader = match spawn("mesure-uploader", move || uploader.run()) {
        Ok(u) => u,
        Err(e) => {
            // Stops the storage thread before the error is published.
            engine.shared.closed.store(true, Ordering::SeqCst);
            let (tx, _rx) = mpsc::sync_channel(1);
            let _ = engine.shared.ops_send(crate::messages::Op::Shutdown(tx));
            let _ = writer.join();
            return Err(e);
        }
    };
    Ok(Running { engine, writer: Mutex::new(Some(writer)), uploader: Mutex::new(Some(uploader)) })
}

/// What the start thread needs to open the store and build the engine.
struct Opening {
    config: Config,
    http: Arc<dyn HttpClient>,
    clock: Arc<dyn Clock>,
    random: Arc<dyn Random>,
    rules: RuleBook,
    notices: Arc<Notices>,
    legacy_dir: Option<PathBuf>,
    layers: Layers,
    claim: DirClaim,
    listener_thread: Option<ThreadId>,
}

impl Opening {
    /// On the start thread: takes the directory, opens the store, reads
    /// back the visitor's choice and id, and builds the engine.
    fn open(self) -> Result<(Arc<Engine>, Writer, Uploader), SdkError> {
        let Opening { config, http, clock, random, rules, notices, legacy_dir, layers, claim, listener_thread } = self;
        let now = clock.now_ms();
        let site = config.site_key();
        if let Some(legacy) = &legacy_dir {
            if let Some(message) = adopt_legacy_store(legacy, &config.storage_dir, &site) {
                notices.diagnostic(Diagnostic::StorageError { message });
            }
        }

        // The lock comes first: nothing of the directory is read before it
        // is ours. A directory that cannot be created or locked for another
        // reason leaves the SDK running from memory; the writer takes the
        // lock when the directory becomes usable.
        let dir = &config.storage_dir;
        let dir_lock = match store::create_private_dir(dir)
            .map_err(|e| LockError::Io(std::io::Error::other(e.to_string())))
            .and_then(|()| DirLock::acquire(dir))
        {
            Ok(lock) => Some(lock),
            Err(LockError::InUse) => return Err(SdkError::StorageInUse { dir: dir.clone() }),
            Err(LockError::Io(e)) => {
                notices.diagnostic(Diagnostic::StorageError { message: format!("storage directory unusable: {e}") });
                None
            }
        };
        let (conn, stored) = match dir_lock.as_ref().map(|_| store::open_or_recreate(dir)) {
            Some(Ok((conn, recovered))) => {
                if let Some(reason) = recovered {
                    notices.diagnostic(Diagnostic::StorageRecovered { reason });
                }
                // One directory, one site: its id, choice and queue are that site's.
                match store::site(&conn) {
                    Ok(Some(other)) if other != site => {
                        return Err(SdkError::StorageOfAnotherSite { dir: dir.clone(), site: other });
                    }
                    Ok(Some(_)) => {}
                    Ok(None) => {
                        if let Err(e) = store::bind_site(&conn, &site) {
                            notices.diagnostic(Diagnostic::StorageError { message: e.to_string() });
                        }
                    }
                    Err(e) => notices.diagnostic(Diagnostic::StorageError { message: e.to_string() }),
                }
                match store::load_state(&conn) {
                    Ok(s) => (Some(conn), s),
                    Err(e) => {
                        notices.diagnostic(Diagnostic::StorageError { message: e.to_string() });
                        (Some(conn), StoredState::default())
                    }
                }
            }
            Some(Err(e)) => {
                notices.diagnostic(Diagnostic::StorageError { message: e.to_string() });
                (None, StoredState::default())
            }
            None => (None, StoredState::default()),
        };
        // The choice file outlives the database; it is never behind it.
        let from_db = Choice { record: stored.mode.clone(), purposes: stored.purposes.clone() };
        let recorded = from_db.record.is_some() || !from_db.purposes.is_empty();
        let (choice, rewrite_choice) = match dir_lock.as_ref().map(|_| store::choice::read(dir)) {
            Some(Ok(Some((_, Some(other))))) if other != site => {
                return Err(SdkError::StorageOfAnotherSite { dir: dir.clone(), site: other });
            }
            Some(Ok(Some((choice, file_site)))) => {
                let differs = choice != from_db || file_site.is_none();
                (choice, differs)
            }
            // No file yet: a fresh install, or a store from a version
            // without one (then the file is written from the database).
            Some(Ok(None)) => (from_db, recorded),
            None => (from_db, false),
            Some(Err(e)) => {
                notices.diagnostic(Diagnostic::StorageError { message: format!("choice file unreadable, read from the database: {e}") });
                (from_db, true)
            }
        };

        let mut mode = config.default_mode.clone();
        let mut record = None;
        let mut renewal_needed = false;
        // Answers for purposes the configuration no longer has are dropped.
        let mut purpose_answers = choice.purposes.clone();
        purpose_answers.retain(|p, _| rules.purposes().names().contains(p));
        if let Some(r) = choice.record.clone() {
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
            context: Arc::new(Context::new(config.context.properties())),
            purpose_answers,
            purposes: PurposeState::default(),
            purpose_filter: None,
            purpose_wire: None,
            epoch: 0,
            closed: false,
        };
        let view = EgressView { mode: state.mode.clone(), since_ms: state.record.as_ref().map(|r| r.since_ms) };
        let dry_run = config.dry_run;
        let shared = Arc::new(Shared {
            site,
            egress: Mutex::new(Arc::new(view)),
            layers,
            rules: rules.clone(),
            storage_dir: config.storage_dir.clone(),
            endpoint: config.endpoint_base(),
            wire: wire::dialect(&config.collector, config.site_id),
            policy_hash: ComplianceReport::policy_hash_of(&config, &rules),
            config,
            clock,
            random,
            http,
            counters: Counters::default(),
            notices: notices.clone(),
            db_generation: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            ops: ops_tx,
            uploads: up_tx,
            closed: AtomicBool::new(false),
            writer: OnceLock::new(),
            writer_idle: AtomicBool::new(false),
            uploader: OnceLock::new(),
            listener: OnceLock::new(),
            disk_full: AtomicBool::new(false),
            purge_gate: Mutex::new(()),
            dir_lock: Mutex::new(dir_lock),
            dir_claim: Mutex::new(Some(claim)),
        });
        if let Some(id) = listener_thread {
            let _ = shared.listener.set(id);
        }
        let engine = Arc::new(Engine::new(shared.clone(), rules, state));
        {
            let mut st = engine.write();
            engine.refresh_purposes(&mut st);
            if rewrite_choice && conn.is_some() {
                // The database lost the choice (recreated, or behind the file
                // after a crash), or the file is missing or unreadable:
                // record the choice in both again.
                let Choice { record, purposes } = choice;
                let _ = shared.ops.send(Op::Mode(Box::new(ModeOp { record, purposes, visitor: VisitorAction::Keep, change: None, prompt: None })));
            }
            if !dry_run && conn.is_some() {
                // What a dry run queued never reaches a collector.
                let _ = shared.ops.send(Op::DropDryRunHits);
            }
            if stale_visitor {
                // Expired, dated in the future, or left by a mode that may
                // not hold one: delete it now.
                let action = if st.mode.stores_visitor_id() { VisitorAction::Forget } else { VisitorAction::PurgeIdentified };
                let _ = shared.ops.send(Op::Visitor(action));
            }
            engine.expire_consent(&mut st, now);
        }

        let writer = Writer::new(shared.clone(), ops_rx, conn, stored);
        let uploader = Uploader::new(shared.clone(), up_rx);
        Ok((engine, writer, uploader))
    }
}

/// Moves the store of `legacy` into `dir` when it is this site's (or no
/// site's yet) and `dir` has none; returns what went wrong, for a diagnostic.
fn adopt_legacy_store(legacy: &Path, dir: &Path, site: &str) -> Option<String> {
    if legacy == dir || !store::has_store(legacy) || store::has_store(dir) {
        return None;
    }
    // The legacy directory is locked like any store: an SDK of an older
    // version (another process) may still use it.
    let _lock = match DirLock::acquire(legacy) {
        Ok(lock) => lock,
        Err(LockError::InUse) => return Some(format!("the store in {} is in use; it stays there", legacy.display())),
        Err(LockError::Io(e)) => return Some(format!("the store in {} cannot be locked: {e}", legacy.display())),
    };
    match store::site_of(legacy) {
        Ok(Some(other)) if other != site => return None,
        Ok(_) => {}
        Err(e) => return Some(format!("the store in {} cannot be read ({e}); it stays there", legacy.display())),
    }
    if let Err(e) = store::create_private_dir(dir) {
        return Some(format!("cannot create {} to move the store of {} into it: {e}", dir.display(), legacy.display()));
    }
    let failed: Vec<String> = store::store_files()
        .into_iter()
        .chain(consent_files())
        .filter(|f| legacy.join(f).exists())
        .filter(|f| std::fs::rename(legacy.join(f), dir.join(f)).is_err())
        .collect();
    (!failed.is_empty()).then(|| format!("could not move {} from {} into {}", failed.join(", "), legacy.display(), dir.display()))
}

/// The consent module's files beside the store: the receipts (the proof
/// of every answer, which a move must not leave behind), what the consent
/// endpoint acknowledged, and the consent statistics with their switch.
fn consent_files() -> [String; 3] {
    [
        crate::consent::receipts::RECEIPTS_FILE_NAME.to_owned(),
        crate::consent::outbox::SENT_FILE_NAME.to_owned(),
        crate::consent::stats::STATS_FILE_NAME.to_owned(),
    ]
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>, SdkError> {
    std::thread::Builder::new().name(name.to_owned()).spawn(f).map_err(|e| SdkError::Thread(format!("{name}: {e}")))
}

#[cfg(feature = "ureq-client")]
fn default_http_client() -> Result<Arc<dyn HttpClient>, SdkError> {
    crate::upload::ureq_client::UreqClient::new().map(|c| Arc::new(c) as Arc<dyn HttpClient>).map_err(|e| SdkError::HttpClient(e.to_string()))
}

#[cfg(not(feature = "ureq-client"))]
fn default_http_client() -> Result<Arc<dyn HttpClient>, SdkError> {
    Err(SdkError::Config(crate::error::ConfigError::new(
        "http_client",
        crate::error::ConfigErrorKind::Invalid,
        "this build has no built-in HTTP client: pass the platform's client",
    )))
}
