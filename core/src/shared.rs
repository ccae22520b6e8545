//! What the facade and the background threads share: the configuration and
//! the injected parts, the channels, the counters, and the few flags the
//! threads coordinate with. The storage and upload threads see this and
//! nothing else of the SDK (the visitor's state stays with the facade).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Sender, SyncSender};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::{Thread, ThreadId};
use std::time::Duration;

use crate::clock::{Clock, Random};
use crate::config::Config;
use crate::diagnostics::Diagnostic;
use crate::error::{SdkError, StoreError};
use crate::gate::EgressView;
use crate::messages::{Op, UpMsg};
use crate::notifier::Notices;
use crate::rules::RuleBook;
use crate::stats::Counters;
use crate::store::lock::{DirClaim, DirLock, LockError};
use crate::store::{self};
use crate::upload::http::HttpClient;
use crate::upload::wire::Dialect;

/// How long a caller waits for the writer to answer (flush, export, delete).
pub(crate) const WRITER_ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

/// Which of the SDK's threads is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Writer,
    Uploader,
    Listener,
}

/// The two layers that keep what a mode does not allow from leaving: the
/// filter that builds each hit when it is tracked, and the egress gate that
/// re-checks it when it is sent. Both are on in every build; the
/// `test-hooks` feature (tests only) can switch one off, to prove that the
/// other holds alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layers {
    /// The track-time filter: the mode's rules, the purposes, value scrubbing.
    pub track_filter: bool,
    /// The send-time egress gate (`gate.rs`, PRIVACY.md).
    pub egress_gate: bool,
}

impl Default for Layers {
    fn default() -> Self {
        Layers { track_filter: true, egress_gate: true }
    }
}

pub(crate) struct Shared {
    pub config: Config,
    /// `config.site_key()`: the site this SDK's rows and ids belong to.
    pub site: String,
    /// The mode in force as the egress gate sees it.
    pub egress: Mutex<Arc<EgressView>>,
    pub layers: Layers,
    /// The rules of every mode (the egress gate's; the visitor's state
    /// holds the same book).
    pub rules: RuleBook,
    pub clock: Arc<dyn Clock>,
    pub random: Arc<dyn Random>,
    pub http: Arc<dyn HttpClient>,
    pub counters: Counters,
    pub storage_dir: PathBuf,
    /// The collection endpoint, normalised once ([`Config::endpoint_base`]).
    pub endpoint: String,
    /// The collector's wire.
    pub wire: Box<dyn Dialect>,
    /// `sha256=<hex>`: the policy's hash, sent with every request.
    pub policy_hash: String,
    /// Mode changes and diagnostics for the listener's thread.
    pub notices: Arc<Notices>,
    /// Bumped by the writer each time it recreates the database file.
    pub db_generation: AtomicU64,
    /// Hits (and drop notes) sent to the writer and not yet received by it.
    pub in_flight: AtomicUsize,
    /// Preallocated ring: handing a hit over allocates nothing.
    pub ops: SyncSender<Op>,
    pub uploads: Sender<UpMsg>,
    pub closed: AtomicBool,
    /// The writer thread, and whether it is parked waiting for work.
    pub writer: OnceLock<Thread>,
    pub writer_idle: AtomicBool,
    pub uploader: OnceLock<ThreadId>,
    pub listener: OnceLock<ThreadId>,
    /// Set by the writer while the disk is full: it then wants to hear of
    /// every row the uploader deletes.
    pub disk_full: AtomicBool,
    /// Held by the writer while it commits a purge, and by the uploader from
    /// its check of a batch against the store to the request's hand-over.
    pub purge_gate: Mutex<()>,
    /// The storage directory's lock: one SDK per directory. Taken at build,
    /// or by the writer once an unusable directory becomes usable; released
    /// when the SDK has shut down.
    pub dir_lock: Mutex<Option<DirLock>>,
    /// This process's claim on the directory ([`DirClaim`]), released with the lock.
    pub dir_claim: Mutex<Option<DirClaim>>,
}

impl Shared {
    /// Wakes the writer if it is parked. Called after handing it something,
    /// outside the state lock: a wake-up is a system call, and it is only
    /// needed when the writer has gone idle (it polls while busy).
    pub fn wake_writer(&self) {
        if self.writer_idle.load(Ordering::SeqCst) {
            if let Some(t) = self.writer.get() {
                t.unpark();
            }
        }
    }

    /// The mode in force, for the egress gate.
    pub fn egress_view(&self) -> Arc<EgressView> {
        self.egress.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Tells the writer the uploader deleted rows (it paces writes on a full disk).
    pub fn space_freed(&self, rows: u64) {
        if rows > 0 && self.disk_full.load(Ordering::Relaxed) {
            let _ = self.ops.send(Op::SpaceFreed(rows));
            self.wake_writer();
        }
    }

    pub fn ops_send(&self, op: Op) -> Result<(), SdkError> {
        self.ops.send(op).map_err(|_| SdkError::ShutDown)?;
        self.wake_writer();
        Ok(())
    }

    pub fn diagnostic(&self, d: Diagnostic) {
        self.notices.diagnostic(d);
    }

    /// Which of this SDK's threads the caller is on, if any.
    pub fn role(&self) -> Option<Role> {
        let me = std::thread::current().id();
        if self.writer.get().is_some_and(|t| t.id() == me) {
            Some(Role::Writer)
        } else if self.uploader.get() == Some(&me) {
            Some(Role::Uploader)
        } else if self.listener.get() == Some(&me) {
            Some(Role::Listener)
        } else {
            None
        }
    }

    /// Refuses an operation that waits on the writer or the uploader when
    /// called from one of them (a foreign HTTP client or clock calling back):
    /// it would wait for itself.
    pub fn may_wait(&self, operation: &'static str) -> Result<(), SdkError> {
        match self.role() {
            Some(Role::Writer | Role::Uploader) => Err(SdkError::CalledFromSdkThread { operation }),
            _ => Ok(()),
        }
    }

    /// Sends the writer a request and waits for its answer.
    pub fn ask_writer<T>(&self, operation: &'static str, make: impl FnOnce(SyncSender<T>) -> Op) -> Result<T, SdkError> {
        self.may_wait(operation)?;
        let (tx, rx) = mpsc::sync_channel(1);
        self.ops_send(make(tx))?;
        self.writer_answer(rx)
    }

    /// Waits for the writer's answer to a request already sent, then for the
    /// listener to have been told of everything the writer did before it:
    /// once `flush`, `export_local_data` or `delete_local_data` return, the
    /// listener has seen every mode change and diagnostic that preceded them.
    pub fn writer_answer<T>(&self, rx: mpsc::Receiver<T>) -> Result<T, SdkError> {
        let answer = rx.recv_timeout(WRITER_ANSWER_TIMEOUT).map_err(|e| match e {
            mpsc::RecvTimeoutError::Timeout => SdkError::Timeout(WRITER_ANSWER_TIMEOUT.as_millis() as u64),
            mpsc::RecvTimeoutError::Disconnected => SdkError::ShutDown,
        })?;
        self.settle();
        Ok(answer)
    }

    /// Waits for the listener to have been told of everything queued so far
    /// (not on the listener's own thread, which would wait for itself).
    pub fn settle(&self) {
        if self.role() != Some(Role::Listener) {
            self.notices.settle(WRITER_ANSWER_TIMEOUT);
        }
    }

    /// Takes the storage directory's lock if this SDK does not hold it yet
    /// (the directory was unusable at build).
    pub fn lock_storage(&self) -> Result<(), StoreError> {
        let mut held = self.dir_lock.lock().unwrap_or_else(|p| p.into_inner());
        if held.is_none() {
            store::create_private_dir(&self.storage_dir)?;
            *held = Some(DirLock::acquire(&self.storage_dir).map_err(|e| match e {
                LockError::InUse => StoreError::InUse,
                LockError::Io(e) => e.into(),
            })?);
        }
        Ok(())
    }

    /// Frees the directory for another SDK (once both connections are closed).
    pub fn release_storage(&self) {
        self.dir_lock.lock().unwrap_or_else(|p| p.into_inner()).take();
        self.dir_claim.lock().unwrap_or_else(|p| p.into_inner()).take();
    }
}
