//! The SDK facade. It routes each call: before the store is open, into the
//! start queue (`calls.rs`), in the order the app made them; once it is
//! open, straight to the engine (`state.rs`, `track.rs`). All I/O happens on
//! the background threads: the start thread (which opens the store and
//! applies the start queue), the storage thread (which writes), the uploader, and the listener's thread, which alone calls the
//! app's listener.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::thread::{JoinHandle, ThreadId};
use std::time::Duration;

use crate::calls::{Call, StartQueue};
use crate::clock::{Clock, EpochMillis};
use crate::config::{Config, DeviceContext};
use crate::consent::receipts;
use crate::consent::ConsentContext;
use crate::diagnostics::{Diagnostic, RunState, SdkState};
use crate::encoded::EncodedKind;
use crate::error::{ConfigError, ModeError, SdkError, TrackError};
use crate::export::LocalData;
use crate::hit::{check_event_named, ClickKind, Event, Refusal, Value};
use crate::messages::{Op, UpMsg};
use crate::mode::{ModeStatus, PurposeMode, VisitorMode};
use crate::notifier::Notices;
use crate::report::ComplianceReport;
use crate::rules::RuleBook;
use crate::shared::Role;
use crate::state::Engine;
use crate::stats::{Counters, Stats};
use crate::track::{check_click, check_screen, TrackOutcome};
use crate::upload::flush::FlushReport;

/// How long a waiting call waits for the store to open.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The Mesure SDK. Cheap to share (`Send + Sync`); create one per app.
///
/// [`SdkBuilder::start`](crate::SdkBuilder::start) returns it at once; the
/// start thread opens the store and loads the visitor's choice. Calls made
/// before that wait in the start queue, in order (one bound, the oldest
/// track dropped first, a mode, consent or purpose change never; each drop
/// reported); queries and waiting calls wait for the start. [`Sdk::stop`]
/// stops after the calls already made and returns at once;
/// [`Sdk::shutdown`] waits for it.
pub struct Sdk {
    inner: Arc<Inner>,
}

/// What the facade and the start thread share.
pub(crate) struct Inner {
    /// The engine, once the store is open and the start queue applied.
    running: OnceLock<Running>,
    phase: Mutex<Phase>,
    changed: Condvar,
    config: Config,
    rules: RuleBook,
    clock: Arc<dyn Clock>,
    notices: Arc<Notices>,
    /// The start thread (it opens the store, starts the storage thread and
    /// the uploader, applies the start queue, and ends) and the listener's
    /// thread, joined by the stop.
    start: Mutex<Option<JoinHandle<()>>>,
    listener: Mutex<Option<JoinHandle<()>>>,
    start_thread: OnceLock<ThreadId>,
}

/// The running engine and its threads.
pub(crate) struct Running {
    pub engine: Arc<Engine>,
    pub writer: Mutex<Option<JoinHandle<()>>>,
    pub uploader: Mutex<Option<JoinHandle<()>>>,
}

enum Phase {
    /// The start thread opens the store; calls wait in the queue (which
    /// refuses new ones once `stop` was called).
    Starting(StartQueue),
    Running,
    Failed(SdkError),
    /// `stop` was called: no call is accepted any more; the stop runs.
    Closing,
    /// Stopped: the threads ended (or were left to end on their own).
    Closed,
}

impl Sdk {
    pub(crate) fn new(inner: Arc<Inner>) -> Sdk {
        Sdk { inner }
    }

    /// Tracks an event under the mode in force at this call's place among
    /// the app's calls: filtered, its identifying values scrubbed, bound to
    /// the visitor id and handed to the storage thread. Never touches disk
    /// or network. A refusal other than back-pressure or shut-down is also
    /// reported to the listener ([`Diagnostic::TrackRefused`]). Before the
    /// store is open, the call waits in the start queue
    /// ([`TrackOutcome::Waiting`]; strict mode waits for the start instead).
    pub fn track(&self, event: Event) -> Result<TrackOutcome, TrackError> {
        self.track_checked(check_event_named(event))
    }

    /// Tracks a screen view (`page.display` with `page = name`). The name
    /// given here wins over a `page` property, which is dropped and reported
    /// (`replaced_by_screen_name`). An empty or blank name is refused.
    pub fn track_screen(&self, name: &str, properties: Vec<(String, Value)>) -> Result<TrackOutcome, TrackError> {
        self.track_checked(check_screen(name, properties))
    }

    /// Tracks a click (`click.action`, `click.navigation`, `click.download`
    /// or `click.exit` with `click = name`). An empty or blank name is
    /// refused, and so is a `click` property beside it (a key given twice).
    pub fn track_click(&self, kind: ClickKind, name: &str, properties: Vec<(String, Value)>) -> Result<TrackOutcome, TrackError> {
        self.track_checked(check_click(kind, name, properties))
    }

    /// One of the three calls above, written into one buffer by a wrapper
    /// (the format: [`encode_call`](crate::encode_call)): the Kotlin and
    /// Swift wrappers cross the FFI once per call this way. A buffer that
    /// does not decode is refused (`invalid_call_encoding`) and reported
    /// like any refusal; nothing is queued.
    pub fn track_encoded(&self, call: &[u8]) -> Result<TrackOutcome, TrackError> {
        let call = match crate::encoded::decode(call) {
            Ok(call) => call,
            Err(error) => return Err(self.inner.refused(Refusal { event: String::new(), error })),
        };
        match call.kind {
            EncodedKind::Track => self.track(Event { name: call.name, properties: call.properties }),
            EncodedKind::Screen => self.track_screen(&call.name, call.properties),
            EncodedKind::Click(kind) => self.track_click(kind, &call.name, call.properties),
        }
    }

    fn track_checked(&self, checked: Result<crate::hit::CheckedEvent, Refusal>) -> Result<TrackOutcome, TrackError> {
        let inner = &*self.inner;
        if let Some(r) = inner.running.get() {
            if r.engine.shared.is_closed() {
                return Err(TrackError::ShutDown);
            }
            return r.engine.track(checked.map_err(|refusal| inner.refused(refusal))?, None);
        }
        // Checked on the caller's thread (config-free): a refusal is
        // answered now, before the start too.
        let checked = checked.map_err(|refusal| inner.refused(refusal))?;
        match inner.enter(Call::Track(checked)) {
            Entered::Now(r, Call::Track(checked)) => r.engine.track(checked, None),
            Entered::Now(..) | Entered::Queued => Ok(TrackOutcome::Waiting),
            Entered::Refused(Refused::Closed) => Err(TrackError::ShutDown),
            Entered::Refused(Refused::Failed) => Err(TrackError::NotStarted),
        }
    }

    /// The visitor mode in force (waits for the start).
    pub fn mode(&self) -> VisitorMode {
        self.mode_status().mode
    }

    /// The mode in force, since when, whether consent must be asked again,
    /// and its epoch. Waits for the start (the configured default if it
    /// failed).
    pub fn mode_status(&self) -> ModeStatus {
        match self.inner.wait_running() {
            Ok(r) => r.mode_status(),
            Err(_) => self.inner.default_status(),
        }
    }

    /// Sets the visitor mode; effective for the calls after this one, on
    /// any thread. Leaving for opt-out, no-consent or no-storage deletes
    /// the visitor id and every queued hit that carries it, in one
    /// transaction; crossing the consent boundary renews the id. The change
    /// is persisted by the storage thread, then reported to the listener;
    /// `flush` waits for it. An unknown mode is refused at once, also
    /// before the start.
    pub fn set_mode(&self, mode: VisitorMode) -> Result<(), ModeError> {
        self.set_mode_from_prompt(mode, None)
    }

    /// [`Sdk::set_mode`], answered in the consent prompt `prompt` (its id,
    /// version and locale go into the consent receipt, its id and version
    /// into the consent statistics). A prompt named with anything but a
    /// prompt's name (an e-mail address, a phone number) is refused.
    pub fn set_mode_from_prompt(&self, mode: VisitorMode, prompt: Option<ConsentContext>) -> Result<(), ModeError> {
        if !self.inner.rules.knows(&mode) {
            return Err(ModeError::UnknownMode(mode.wire_name().to_owned()));
        }
        let prompt = checked_prompt(prompt)?;
        self.inner.change(Call::SetMode(mode, prompt))
    }

    /// For an opt-out switch in settings. On: opt-out. Off: from opt-out,
    /// back to the configured default mode; in any other mode nothing
    /// changes, so a consent given (opt-in) is never dropped by the switch.
    pub fn set_opted_out(&self, opted_out: bool) -> Result<(), ModeError> {
        self.inner.change(Call::SetOptedOut(opted_out))
    }

    /// The answer to a consent prompt (also the one due when
    /// [`ModeStatus::consent_renewal_needed`] is set). Granted: opt-in.
    /// Declined: a consent in force (opt-in, no-storage) is withdrawn (back
    /// to the configured default, and what it queued is purged);
    /// any other mode is recorded again as the answer (an opt-out stays in
    /// force), which settles a pending renewal.
    pub fn set_consent(&self, granted: bool) -> Result<(), ModeError> {
        self.set_consent_from_prompt(granted, None)
    }

    /// [`Sdk::set_consent`], answered in the consent prompt `prompt` (see
    /// [`Sdk::set_mode_from_prompt`]).
    pub fn set_consent_from_prompt(&self, granted: bool, prompt: Option<ConsentContext>) -> Result<(), ModeError> {
        let prompt = checked_prompt(prompt)?;
        self.inner.change(Call::SetConsent(granted, prompt))
    }

    /// The answer for one purpose (see [`Sdk::set_purposes`]).
    pub fn set_purpose(&self, purpose: &str, mode: PurposeMode) -> Result<(), ModeError> {
        self.set_purposes(&BTreeMap::from([(purpose.to_owned(), mode)]))
    }

    /// The answers of a consent-management platform, purpose by purpose;
    /// the purposes not named keep their answer. Audience measurement's
    /// answer decides the visitor mode (opt-in: `optin`, essential: the
    /// exempt default, opt-out: `optout`, not acquired: `no-consent`); the
    /// other purposes' properties leave only with consented hits, and only
    /// if their purpose is opt-in. A purpose never answered never reads as
    /// opt-in. Persisted; each opt-in lapses like consent does. A purpose
    /// the configuration does not list is refused at once.
    pub fn set_purposes(&self, answers: &BTreeMap<String, PurposeMode>) -> Result<(), ModeError> {
        self.set_purposes_from_prompt(answers, None)
    }

    /// [`Sdk::set_purposes`], answered in the consent prompt `prompt` (see
    /// [`Sdk::set_mode_from_prompt`]).
    pub fn set_purposes_from_prompt(&self, answers: &BTreeMap<String, PurposeMode>, prompt: Option<ConsentContext>) -> Result<(), ModeError> {
        if let Some(unknown) = answers.keys().find(|p| !self.inner.rules.purposes().names().contains(*p)) {
            return Err(ModeError::UnknownPurpose(unknown.clone()));
        }
        let prompt = checked_prompt(prompt)?;
        self.inner.change(Call::SetPurposes(answers.clone(), prompt))
    }

    /// The consent prompt `prompt` was shown: counted by the anonymous
    /// consent statistics (per prompt version and day, no id of any kind),
    /// unless they are off.
    pub fn consent_prompt_shown(&self, prompt: ConsentContext) -> Result<(), ModeError> {
        prompt.validate("prompt").map_err(ModeError::InvalidPrompt)?;
        self.inner.change(Call::PromptShown(Box::new(prompt)))
    }

    /// The visitor's own switch of the consent statistics: off deletes the
    /// counts not sent and counts nothing more on this device (kept across
    /// restarts); on counts again, unless the configuration has them off.
    pub fn set_consent_statistics(&self, enabled: bool) -> Result<(), ModeError> {
        self.inner.change(Call::SetConsentStatistics(enabled))
    }

    /// Every configured purpose's mode, audience measurement included (waits for the start).
    pub fn purposes(&self) -> BTreeMap<String, PurposeMode> {
        self.mode_status().purposes
    }

    /// Replaces the device and app context attached to the hits of later
    /// calls. An invalid context is refused at once.
    pub fn set_context(&self, context: DeviceContext) -> Result<(), ConfigError> {
        context.validate("context")?;
        match self.inner.change(Call::SetContext(Box::new(context))) {
            // Refused after close or a failed start: nothing to attach it to.
            Ok(()) | Err(_) => Ok(()),
        }
    }

    /// Returns once every call made before it was applied, persisted, and
    /// what it changed reached the listener (the published state included).
    pub fn await_applied(&self) -> Result<(), SdkError> {
        let r = self.inner.wait_running()?;
        // The storage thread answers once it persisted everything handed before.
        let _persisted = r.engine.shared.ask_writer("await_applied", Op::Flush)?;
        Ok(())
    }

    /// Persists every accepted hit, then tries to upload the queue now (an
    /// exponential backoff is skipped, a server's Retry-After is not).
    /// Blocks until the attempt ends: call it off the main thread. From a
    /// listener callback it works; from an HTTP client or a clock the SDK
    /// is calling, it is refused ([`SdkError::CalledFromSdkThread`]).
    pub fn flush(&self) -> Result<FlushReport, SdkError> {
        self.inner.wait_running()?.flush()
    }

    /// Everything stored on the device about this visitor, for an access request.
    pub fn export_local_data(&self) -> Result<LocalData, SdkError> {
        self.inner.wait_running()?.export_local_data()
    }

    /// Deletes the visitor id, the queue and the history of choices, from
    /// the disk too. An opt-out (or no-consent, no-storage) in force stays in
    /// force, so erasing data never restarts tracking; other modes return to
    /// the default (a consent given is withdrawn with the data that proves
    /// it). Returns the number of queued hits deleted.
    pub fn delete_local_data(&self) -> Result<u64, SdkError> {
        self.inner.wait_running()?.delete_local_data()
    }

    /// What each mode lets leave the device, from the live configuration.
    pub fn compliance_report(&self) -> ComplianceReport {
        ComplianceReport::new(&self.inner.config, &self.inner.rules, self.inner.clock.now_ms())
    }

    /// The proof of every consent the visitor gave or withdrew on this
    /// device, as a JSON document a controller can file: the consent-proof
    /// id, whether the receipts' hash chain is intact (or where it breaks:
    /// an edited, removed or reordered receipt), and the receipts, oldest
    /// first. Waits for the calls made before it to be applied.
    pub fn consent_proof(&self) -> Result<String, SdkError> {
        let data = self.export_local_data()?;
        let (chain, receipts) = match receipts::verify(&data.consent_receipts) {
            Ok(r) => ("intact".to_owned(), r.into_iter().map(|r| serde_json::to_value(r).unwrap_or_default()).collect::<Vec<_>>()),
            Err(e) => (
                format!("broken: {e}"),
                data.consent_receipts.iter().map(|l| serde_json::from_str(l).unwrap_or(serde_json::Value::String(l.clone()))).collect(),
            ),
        };
        let doc = serde_json::json!({
            "consent_id": receipts.first().and_then(|r| r.get("consent_id")).cloned(),
            "generated_at": crate::clock::format_rfc3339(data.exported_at_ms),
            "sdk": format!("mesure {}", crate::version::SDK_VERSION),
            "policy_hash": self.policy_hash(),
            "chain": chain,
            "receipts": receipts,
        });
        Ok(serde_json::to_string_pretty(&doc).unwrap_or_default())
    }

    /// The policy's hash (`sha256=<hex>`): the same for the same
    /// configuration and SDK version, on every platform; every request
    /// carries it in the `Mesure-Policy` header.
    pub fn policy_hash(&self) -> String {
        ComplianceReport::policy_hash_of(&self.inner.config, &self.inner.rules)
    }

    /// The counters since this SDK started (zero before the store is open).
    pub fn stats(&self) -> Stats {
        match self.inner.running.get() {
            Some(r) => r.engine.shared.counters.snapshot(),
            None => Counters::default().snapshot(),
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Whether the store is open and the start queue applied; the start's
    /// error if it failed.
    pub fn started(&self) -> Result<bool, SdkError> {
        match &*self.inner.phase() {
            Phase::Starting(_) => Ok(false),
            Phase::Failed(e) => Err(e.clone()),
            Phase::Running | Phase::Closing | Phase::Closed => Ok(true),
        }
    }

    /// Waits for the start to end: the start's error if it failed.
    pub fn wait_started(&self) -> Result<(), SdkError> {
        match self.inner.wait_running() {
            Ok(_) | Err(SdkError::ShutDown) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Stops after the calls already made: what they queued is persisted,
    /// the threads end. Returns at once; later calls are refused
    /// ([`TrackError::ShutDown`], [`SdkError::ShutDown`]). [`Sdk::shutdown`]
    /// waits for the end. A second call does nothing.
    pub fn stop(&self) {
        if !self.inner.begin_close() {
            return;
        }
        let inner = self.inner.clone();
        let spawned = std::thread::Builder::new().name("mesure-stop".into()).spawn(move || {
            let _ = inner.stop();
        });
        if spawned.is_err() {
            // No thread to spare: stop on this one.
            let _ = self.inner.stop();
        }
    }

    /// Persists everything accepted and stops the background threads, and
    /// waits for it. Later calls return [`TrackError::ShutDown`] /
    /// [`SdkError::ShutDown`].
    ///
    /// Safe from a listener callback, and from an HTTP client or a clock the
    /// SDK is calling: a thread never waits for itself, it is left to finish
    /// on its own (the directory lock is then released when it ends).
    pub fn shutdown(&self) -> Result<(), SdkError> {
        self.inner.begin_close();
        self.inner.stop()
    }
}

impl Drop for Sdk {
    /// Shuts down; on one of the SDK's own threads (the last handle dropped
    /// in a callback) that thread is detached rather than joined.
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

/// Where a call went.
enum Entered<'a> {
    /// The engine runs: the caller applies it now.
    Now(&'a Running, Call),
    /// In the start queue.
    Queued,
    Refused(Refused),
}

enum Refused {
    Closed,
    /// The start failed.
    Failed,
}

impl Inner {
    pub(crate) fn new(config: Config, rules: RuleBook, clock: Arc<dyn Clock>, notices: Arc<Notices>) -> Inner {
        Inner {
            running: OnceLock::new(),
            phase: Mutex::new(Phase::Starting(StartQueue::default())),
            changed: Condvar::new(),
            config,
            rules,
            clock,
            notices,
            start: Mutex::new(None),
            listener: Mutex::new(None),
            start_thread: OnceLock::new(),
        }
    }

    /// The threads `start` spawned: the start thread and the listener's.
    pub(crate) fn set_threads(&self, start: JoinHandle<()>, listener: Option<JoinHandle<()>>) {
        *self.start.lock().unwrap_or_else(|p| p.into_inner()) = Some(start);
        *self.listener.lock().unwrap_or_else(|p| p.into_inner()) = listener;
    }

    /// Called first on the start thread.
    pub(crate) fn start_thread_is_this_one(&self) {
        let _ = self.start_thread.set(std::thread::current().id());
    }

    fn phase(&self) -> MutexGuard<'_, Phase> {
        self.phase.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn on_start_thread(&self) -> bool {
        self.start_thread.get() == Some(&std::thread::current().id())
    }

    /// Reports a refused event to the listener; returns its error.
    fn refused(&self, refusal: Refusal) -> TrackError {
        let Refusal { event, error } = refusal;
        self.notices.diagnostic(Diagnostic::TrackRefused { event, error: error.clone() });
        error
    }

    /// Routes `call`: to the engine once the start queue is applied, into
    /// the queue before (strict mode waits for the start instead).
    fn enter(&self, call: Call) -> Entered<'_> {
        let mut phase = self.phase();
        let mut strict_waited = false;
        // When the call was made, read (outside the lock: the clock may be
        // the app's) only for a call that joins the queue.
        let mut at: Option<EpochMillis> = None;
        loop {
            match &mut *phase {
                Phase::Starting(queue) if queue.closing => return Entered::Refused(Refused::Closed),
                Phase::Starting(_) if self.config.strict && !strict_waited && !self.on_start_thread() => {
                    // Strict: wait for the start (once, bounded), then answer
                    // from the engine; a start that takes longer queues it.
                    phase = self.changed.wait_timeout(phase, START_TIMEOUT).map(|(g, _)| g).unwrap_or_else(|p| p.into_inner().0);
                    strict_waited = true;
                }
                Phase::Starting(_) if at.is_none() => {
                    drop(phase);
                    at = Some(self.clock.now_ms());
                    phase = self.phase();
                }
                Phase::Starting(queue) => {
                    let dropped = queue.push(call, at.unwrap_or_default());
                    drop(phase);
                    for _ in 0..dropped {
                        self.notices.backpressure();
                    }
                    return Entered::Queued;
                }
                Phase::Running => {
                    return match self.running.get() {
                        Some(r) => Entered::Now(r, call),
                        None => Entered::Refused(Refused::Closed),
                    }
                }
                Phase::Failed(_) => return Entered::Refused(Refused::Failed),
                Phase::Closing | Phase::Closed => return Entered::Refused(Refused::Closed),
            }
        }
    }

    /// A mode, consent, purpose or context change: applied now, or queued.
    fn change(&self, call: Call) -> Result<(), ModeError> {
        if let Some(r) = self.running.get() {
            return if r.engine.shared.is_closed() { Err(ModeError::ShutDown) } else { r.apply(call, None) };
        }
        match self.enter(call) {
            Entered::Now(r, call) => r.apply(call, None),
            Entered::Queued => Ok(()),
            Entered::Refused(Refused::Closed) => Err(ModeError::ShutDown),
            Entered::Refused(Refused::Failed) => Err(ModeError::NotStarted),
        }
    }

    /// The engine, once the start has ended; the start's error, or
    /// `ShutDown` after close. Not from the start thread
    /// (a clock or HTTP client called from there would wait for itself).
    fn wait_running(&self) -> Result<&Running, SdkError> {
        if let Some(r) = self.running.get() {
            return if r.engine.shared.is_closed() { Err(SdkError::ShutDown) } else { Ok(r) };
        }
        if self.on_start_thread() {
            return Err(SdkError::CalledFromSdkThread { operation: "a waiting call during the start" });
        }
        let mut phase = self.phase();
        loop {
            match &*phase {
                Phase::Starting(queue) if queue.closing => return Err(SdkError::ShutDown),
                Phase::Starting(_) => {
                    let (next, timeout) = self.changed.wait_timeout(phase, START_TIMEOUT).unwrap_or_else(|p| p.into_inner());
                    phase = next;
                    if timeout.timed_out() && matches!(&*phase, Phase::Starting(_)) {
                        return Err(SdkError::Timeout(START_TIMEOUT.as_millis() as u64));
                    }
                }
                Phase::Running => return self.running.get().ok_or(SdkError::ShutDown),
                Phase::Failed(e) => return Err(e.clone()),
                Phase::Closing | Phase::Closed => return Err(SdkError::ShutDown),
            }
        }
    }

    /// The status a failed or unfinished start answers: the configured default.
    fn default_status(&self) -> ModeStatus {
        let mode = self.config.default_mode.clone();
        ModeStatus {
            purposes: crate::purpose::resolve(self.rules.purposes().names(), &BTreeMap::new(), &mode).to_map(),
            mode,
            since_ms: None,
            consent_expires_at_ms: None,
            consent_renewal_needed: false,
            epoch: 0,
        }
    }

    /// Called by the start thread once the engine is built: applies the
    /// start queue in order, then lets calls through to the engine. A call
    /// made meanwhile joins the queue and is applied in its turn.
    pub(crate) fn run(&self, running: Running) {
        loop {
            // Read before the lock (the clock may be the app's); nothing
            // changes the engine's state between here and the lock but this
            // thread.
            let status = running.mode_status();
            let calls = {
                let mut phase = self.phase();
                let Phase::Starting(queue) = &mut *phase else {
                    // Stopped from the start thread itself (a clock or HTTP
                    // client the start called): stop what was just started.
                    drop(phase);
                    let writer = running.writer.lock().unwrap_or_else(|p| p.into_inner()).take();
                    let uploader = running.uploader.lock().unwrap_or_else(|p| p.into_inner()).take();
                    if let Some(writer) = writer {
                        let _ = running.stop(writer, uploader, None, &self.notices);
                    }
                    return;
                };
                if queue.is_empty() {
                    Counters::add(&running.engine.shared.counters.rejected_backpressure, queue.dropped());
                    let closing = queue.closing;
                    if closing {
                        // Closed during the start: every call made before
                        // close was applied; the stop takes it from here.
                        running.refuse_calls();
                    }
                    if !closing {
                        // Published before any call can reach the engine or
                        // stop it: a stop that did not join this thread
                        // still publishes Closed after Running.
                        self.notices.state(SdkState::of(&status, RunState::Running));
                    }
                    *phase = if closing { Phase::Closing } else { Phase::Running };
                    // From now on calls reach the engine without the queue.
                    let _ = self.running.set(running);
                    break;
                }
                queue.take()
            };
            // Errors of queued calls reached the listener from the engine
            // (back-pressure); a refused event was answered when it was made.
            // Each as of when it was made (a consent answered before the
            // store opened is dated then, and lapses from then).
            for (call, at) in calls {
                if matches!(call, Call::Track(_)) {
                    running.wait_for_room();
                }
                let _ = running.apply(call, Some(at));
            }
        }
        self.changed.notify_all();
    }

    /// Called by the start thread when the start failed (the directory
    /// belongs to another process or site, a thread could not start): the
    /// queued calls are dropped, later ones refused, the listener told.
    pub(crate) fn fail(&self, error: SdkError) {
        *self.phase() = Phase::Failed(error.clone());
        self.changed.notify_all();
        self.notices.state(SdkState::of(&self.default_status(), RunState::Failed(error)));
        self.notices.close();
    }

    /// Refuses every later call; false if close had already begun.
    fn begin_close(&self) -> bool {
        let mut phase = self.phase();
        match &mut *phase {
            Phase::Closing | Phase::Closed => false,
            Phase::Starting(queue) if queue.closing => false,
            Phase::Starting(queue) => {
                // The calls made before close stay queued: the start applies them.
                queue.closing = true;
                true
            }
            Phase::Failed(_) => {
                *phase = Phase::Closed;
                true
            }
            Phase::Running => {
                *phase = Phase::Closing;
                drop(phase);
                // Refused from now on, also on the path that skips the phase.
                if let Some(r) = self.running.get() {
                    r.refuse_calls();
                }
                true
            }
        }
    }

    /// Waits out the start, then stops the engine: what was accepted is
    /// persisted and the threads end. The first caller stops; the others
    /// wait for it (a thread of the SDK never waits for itself).
    fn stop(&self) -> Result<(), SdkError> {
        if !self.on_start_thread() {
            let mut phase = self.phase();
            while matches!(&*phase, Phase::Starting(_)) {
                phase = self.changed.wait(phase).unwrap_or_else(|p| p.into_inner());
            }
        }
        let start = self.start.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(start) = start {
            if start.thread().id() != std::thread::current().id() {
                let _ = start.join();
            }
        }
        let Some(r) = self.running.get() else {
            // Never ran (a failed start): the listener's thread ends after
            // the failure it was told of.
            let listener = self.listener.lock().unwrap_or_else(|p| p.into_inner()).take();
            if let Some(handle) = listener {
                if handle.thread().id() != std::thread::current().id() {
                    let _ = handle.join();
                }
            }
            *self.phase() = Phase::Closed;
            self.changed.notify_all();
            return Ok(());
        };
        let writer = r.writer.lock().unwrap_or_else(|p| p.into_inner()).take();
        let Some(writer) = writer else {
            // Another caller stops it: wait for the end, unless this is one
            // of the threads it waits for.
            if r.engine.shared.role().is_none() && !self.on_start_thread() {
                let mut phase = self.phase();
                while !matches!(&*phase, Phase::Closed) {
                    phase = self.changed.wait(phase).unwrap_or_else(|p| p.into_inner());
                }
            }
            return Ok(());
        };
        let uploader = r.uploader.lock().unwrap_or_else(|p| p.into_inner()).take();
        let listener = self.listener.lock().unwrap_or_else(|p| p.into_inner()).take();
        let result = r.stop(writer, uploader, listener, &self.notices);
        *self.phase() = Phase::Closed;
        self.changed.notify_all();
        result
    }
}

impl Running {
    /// From now on the engine refuses calls (`ShutDown`), on every path:
    /// the state's flag for the hand-over, the shared one for the fast path.
    fn refuse_calls(&self) {
        self.engine.write().closed = true;
        self.engine.shared.closed.store(true, Ordering::Release);
    }

    /// On the start thread, before a waiting track: waits (a bounded time)
    /// for the storage thread to take what was handed to it, so that the
    /// start queue, which may hold more than the hand-off, loses nothing.
    fn wait_for_room(&self) {
        let shared = &*self.engine.shared;
        let deadline = std::time::Instant::now() + crate::shared::WRITER_ANSWER_TIMEOUT;
        while shared.in_flight.load(Ordering::Relaxed) >= crate::state::MAX_IN_FLIGHT / 2 && std::time::Instant::now() < deadline {
            shared.wake_writer();
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Applies a call on the caller's thread (`at`: `None`, now), or one
    /// that waited in the start queue, as of when it was made.
    fn apply(&self, call: Call, at: Option<EpochMillis>) -> Result<(), ModeError> {
        let engine = &*self.engine;
        match call {
            Call::Track(checked) => engine.track(checked, at).map(drop).or(Ok(())),
            Call::SetMode(mode, prompt) => engine.change_mode(at, prompt, |_| Some(mode)),
            Call::SetOptedOut(opted_out) => {
                let default = engine.shared.config.default_mode.clone();
                engine.change_mode(at, None, |current| match (opted_out, current) {
                    (true, _) => Some(VisitorMode::OptOut),
                    (false, VisitorMode::OptOut) => Some(default),
                    (false, _) => None,
                })
            }
            Call::SetConsent(granted, prompt) => {
                let default = engine.shared.config.default_mode.clone();
                engine.change_mode(at, prompt, |current| match (granted, current) {
                    (true, _) => Some(VisitorMode::OptIn),
                    (false, m) if m.requires_consent() => Some(default),
                    (false, other) => Some(other.clone()),
                })
            }
            Call::SetPurposes(answers, prompt) => engine.set_purposes(&answers, at, prompt),
            Call::PromptShown(prompt) => {
                let at = at.unwrap_or_else(|| engine.shared.clock.now_ms());
                let _ = engine.shared.ops.send(Op::PromptShown(prompt, at));
                engine.shared.wake_writer();
                Ok(())
            }
            Call::SetConsentStatistics(enabled) => {
                let _ = engine.shared.ops.send(Op::ConsentStatistics(enabled));
                engine.shared.wake_writer();
                Ok(())
            }
            Call::SetContext(context) => {
                engine.write().context = Arc::new(crate::hit::Context::new(context.properties()));
                Ok(())
            }
        }
    }

    fn mode_status(&self) -> ModeStatus {
        let engine = &*self.engine;
        // The clock (possibly the app's) is read before the lock is taken.
        let now = engine.shared.clock.now_ms();
        let mut st = engine.write();
        let lapsed = engine.expire_consent(&mut st, now);
        let status = engine.status(&st);
        drop(st);
        if lapsed {
            engine.shared.wake_writer();
        }
        status
    }

    fn flush(&self) -> Result<FlushReport, SdkError> {
        // A consent that lapsed is withdrawn first: what it let queue is
        // purged before anything is sent.
        self.mode_status();
        let shared = &*self.engine.shared;
        let persisted = shared.ask_writer("flush", Op::Flush)?;
        let (tx, rx) = mpsc::sync_channel(1);
        shared.uploads.send(UpMsg::Flush(tx)).map_err(|_| SdkError::ShutDown)?;
        let mut report = rx.recv().map_err(|_| SdkError::ShutDown)?;
        // What the attempt reported (deferred, rejected) has reached the listener.
        shared.settle();
        if let Err(e) = persisted {
            report.storage_error = Some(e);
        }
        Ok(report)
    }

    fn export_local_data(&self) -> Result<LocalData, SdkError> {
        let status = self.mode_status();
        let shared = &*self.engine.shared;
        let now = shared.clock.now_ms();
        let stored = shared.ask_writer("export_local_data", Op::Export)??;
        Ok(LocalData::new(stored, now, status))
    }

    fn delete_local_data(&self) -> Result<u64, SdkError> {
        let engine = &*self.engine;
        let shared = &*engine.shared;
        shared.may_wait("delete_local_data")?;
        let (tx, rx) = mpsc::sync_channel(1);
        {
            let mut st = engine.write();
            if st.closed {
                return Err(SdkError::ShutDown);
            }
            let now = shared.clock.now_ms();
            engine.expire_consent(&mut st, now);
            engine.erase(&mut st, now, tx)?;
        }
        shared.wake_writer();
        Ok(shared.writer_answer(rx)??)
    }

    /// Persists what was accepted and ends the threads (those that are not
    /// the caller's own: they are left to finish).
    fn stop(
        &self,
        writer: JoinHandle<()>,
        uploader: Option<JoinHandle<()>>,
        listener: Option<JoinHandle<()>>,
        notices: &Notices,
    ) -> Result<(), SdkError> {
        let shared = &*self.engine.shared;
        let role = shared.role();
        let (tx, rx) = mpsc::sync_channel(1);
        let status = {
            let mut st = self.engine.write();
            st.closed = true;
            shared.closed.store(true, Ordering::Release);
            let _ = shared.ops.send(Op::Shutdown(tx));
            self.engine.status(&st)
        };
        shared.wake_writer();
        // The writer cannot answer its own thread; everyone else waits for
        // what was accepted to be persisted.
        let persisted = if role == Some(Role::Writer) { Ok(Ok(())) } else { rx.recv() };
        let _ = shared.uploads.send(UpMsg::Stop);
        let mut detached = false;
        for (handle, own) in [(Some(writer), Role::Writer), (uploader, Role::Uploader)] {
            let Some(handle) = handle else { continue };
            if role == Some(own) {
                detached = true;
            } else {
                let _ = handle.join();
            }
        }
        // Every notice queued so far is delivered before the listener's
        // thread ends (unless this is that thread: it ends after this callback).
        notices.state(SdkState::of(&status, RunState::Closed));
        notices.close();
        if let Some(handle) = listener {
            if role != Some(Role::Listener) {
                let _ = handle.join();
            }
        }
        if !detached {
            // Both connections are closed: the directory is free for another SDK.
            shared.release_storage();
        }
        match persisted {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(SdkError::Storage(e)),
            Err(_) => Err(SdkError::ShutDown),
        }
    }
}

/// A prompt's names, checked on the caller's thread.
fn checked_prompt(prompt: Option<ConsentContext>) -> Result<Option<Box<ConsentContext>>, ModeError> {
    match prompt {
        Some(p) => {
            p.validate("prompt").map_err(ModeError::InvalidPrompt)?;
            Ok(Some(Box::new(p)))
        }
        None => Ok(None),
    }
}
