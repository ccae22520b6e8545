//! The SDK facade: tracking on the caller's thread, the visitor's state in
//! memory ([`crate::state`]), all I/O on background threads: the storage
//! writer, the uploader, and the listener's thread, which alone calls the
//! app's listener.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::config::{Config, DeviceContext};
use crate::diagnostics::{Diagnostic, DropReason, Dropped};
use crate::error::{ConfigError, ModeError, SdkError, TrackError};
use crate::export::LocalData;
use crate::hit::{check_event_named, events, CheckedEvent, ClickKind, Context, Event, QueuedHit, Refusal, Value};
use crate::messages::{Op, UpMsg};
use crate::mode::{ModeStatus, PurposeMode, VisitorMode};
use crate::report::ComplianceReport;
use crate::rules::{Filter, PurposeFilter};
use crate::shared::Role;
use crate::state::{Engine, HandOver};
use crate::stats::{Counters, Stats};
use crate::upload::flush::FlushReport;

/// What became of a tracked event.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TrackOutcome {
    /// Queued for upload.
    Queued {
        /// The hit's `event_id` on the wire.
        event_id: String,
    },
    /// Not sent: the visitor mode does not allow this event (reported to the listener too).
    NotSent {
        /// Why.
        reason: DropReason,
    },
}

/// The SDK's threads, joined by `shutdown`.
pub(crate) struct Threads {
    pub writer: JoinHandle<()>,
    pub uploader: JoinHandle<()>,
    pub listener: Option<JoinHandle<()>>,
}

/// The Mesure SDK. Cheap to share (`Send + Sync`); create one per app.
pub struct Sdk {
    engine: Arc<Engine>,
    threads: Mutex<Option<Threads>>,
}

impl Sdk {
    pub(crate) fn new(engine: Arc<Engine>, threads: Threads) -> Sdk {
        Sdk { engine, threads: Mutex::new(Some(threads)) }
    }

    /// Filters the event under the mode in force now, binds the visitor id
    /// and hands the hit to the storage thread. Never touches disk or network.
    /// A refusal other than back-pressure or shut-down is also reported to
    /// the listener ([`Diagnostic::TrackRefused`]).
    pub fn track(&self, event: Event) -> Result<TrackOutcome, TrackError> {
        if self.engine.shared.is_closed() {
            return Err(TrackError::ShutDown);
        }
        let checked = check_event_named(event).map_err(|r| self.refused(r))?;
        self.track_checked(checked)
    }

    /// Tracks a screen view (`page.display` with `page = name`). The name
    /// given here wins over a `page` property, which is dropped and reported
    /// (`replaced_by_screen_name`). An empty or blank name is refused.
    pub fn track_screen(&self, name: &str, properties: Vec<(String, Value)>) -> Result<TrackOutcome, TrackError> {
        if self.engine.shared.is_closed() {
            return Err(TrackError::ShutDown);
        }
        if name.trim().is_empty() {
            return Err(self.refused(Refusal { event: events::PAGE_DISPLAY.to_owned(), error: TrackError::EmptyName { property: "page" } }));
        }
        let (page, others): (Vec<_>, Vec<_>) = properties.into_iter().partition(|(k, _)| k.eq_ignore_ascii_case("page"));
        let mut e = Event::screen(name);
        e.properties.extend(others);
        let mut checked = check_event_named(e).map_err(|r| self.refused(r))?;
        for (key, _) in page {
            checked.notes.push(Dropped { event: events::PAGE_DISPLAY.to_owned(), property: Some(key), reason: DropReason::ReplacedByScreenName });
        }
        self.track_checked(checked)
    }

    /// Tracks a click (`click.action`, `click.navigation`, `click.download`
    /// or `click.exit` with `click = name`). An empty or blank name is
    /// refused, and so is a `click` property beside it (a key given twice).
    pub fn track_click(&self, kind: ClickKind, name: &str, properties: Vec<(String, Value)>) -> Result<TrackOutcome, TrackError> {
        if self.engine.shared.is_closed() {
            return Err(TrackError::ShutDown);
        }
        if name.trim().is_empty() {
            return Err(self.refused(Refusal { event: kind.event_name().to_owned(), error: TrackError::EmptyName { property: "click" } }));
        }
        let mut e = Event::click(kind, name);
        e.properties.extend(properties);
        let checked = check_event_named(e).map_err(|r| self.refused(r))?;
        self.track_checked(checked)
    }

    /// Reports a refused event to the listener; returns its error.
    fn refused(&self, refusal: Refusal) -> TrackError {
        let Refusal { event, error } = refusal;
        self.engine.shared.diagnostic(Diagnostic::TrackRefused { event, error: error.clone() });
        error
    }

    fn track_checked(&self, checked: CheckedEvent) -> Result<TrackOutcome, TrackError> {
        let engine = &*self.engine;
        let shared = &*engine.shared;
        let CheckedEvent { mut name, mut properties, notes } = checked;
        loop {
            let now = shared.clock.now_ms();
            let filter_on = shared.layers.track_filter;
            let (rules, epoch, context, purposes, consent_lapsed) = {
                let st = engine.read();
                let purposes = if filter_on { st.purpose_filter.clone().map(Purposes::Filter) } else { st.purpose_wire.clone().map(Purposes::Raw) };
                (st.rules.clone(), st.epoch, st.context.clone(), purposes, engine.consent_lapsed(&st, now))
            };
            if consent_lapsed {
                let mut st = engine.write();
                engine.expire_consent(&mut st, now);
                drop(st);
                shared.wake_writer();
                continue;
            }
            if let Some(Err(reason)) = filter_on.then(|| rules.event_verdict(&name)) {
                let mut notes = notes;
                Counters::add(&shared.counters.events_dropped_by_mode, 1);
                Counters::add(&shared.counters.properties_dropped, count_drops(&notes));
                notes.push(Dropped { event: name, property: None, reason: reason.clone() });
                engine.send_notes(&rules.mode, notes);
                return Ok(TrackOutcome::NotSent { reason });
            }
            // Built and serialised before any lock, on this thread: the
            // storage thread only writes it, and the properties are freed by
            // the thread that allocated them. Only the visitor id is decided
            // under the lock.
            let event_id = crate::clock::uuid_v4(shared.random.event_id()).hyphenated().to_string();
            let filter = match &purposes {
                _ if !filter_on => Filter::Off(match &purposes {
                    Some(Purposes::Raw(wire)) => Some(wire),
                    _ => None,
                }),
                Some(Purposes::Filter(f)) => Filter::On(Some(f)),
                _ => Filter::On(None),
            };
            let (hit, body, dropped) = rules.build_hit(std::mem::take(&mut name), &context, &mut properties, now, event_id, filter);
            let mut hit_notes = notes.clone();
            hit_notes.extend(dropped);
            let queued = Box::new(QueuedHit {
                event_id: hit.event_id.clone(),
                // Bound under the lock by hand_over.
                visitor_id: rules.wire.clone(),
                mode: rules.wire.clone(),
                tracked_at_ms: now,
                body,
            });
            let dropped = count_drops(&hit_notes);
            let handed = match &rules.fixed_visitor {
                Some(fixed) => engine.hand_over(&engine.read(), epoch, fixed.clone(), queued, hit_notes),
                None => {
                    // Usually the id exists: a read lock. Creating one takes the write lock.
                    let read = engine.read();
                    match read.valid_visitor(now) {
                        Some(id) => engine.hand_over(&read, epoch, id, queued, hit_notes),
                        None => {
                            drop(read);
                            let mut st = engine.write();
                            // A changed mode or a closing SDK is refused by
                            // hand_over: no id is created for a hit not sent.
                            let id = if st.epoch == epoch && !st.closed { engine.ensure_visitor(&mut st, now) } else { rules.wire.clone() };
                            engine.hand_over(&st, epoch, id, queued, hit_notes)
                        }
                    }
                }
            };
            match handed {
                Ok(()) => {
                    shared.wake_writer();
                    Counters::add(&shared.counters.properties_dropped, dropped);
                    Counters::add(&shared.counters.accepted, 1);
                    return Ok(TrackOutcome::Queued { event_id: hit.event_id });
                }
                Err(HandOver::Retry) => {
                    // The mode changed after filtering: filter again under
                    // the new one, from what the app tagged (the originals
                    // of masked values were kept in `properties`).
                    name = hit.name;
                    for (k, v) in hit.properties {
                        properties.entry(k).or_insert(v);
                    }
                }
                Err(HandOver::Failed(e)) => return Err(e),
            }
        }
    }

    /// The visitor mode in force.
    pub fn mode(&self) -> VisitorMode {
        self.mode_status().mode
    }

    /// The mode in force, since when, whether consent must be asked again,
    /// and its epoch.
    pub fn mode_status(&self) -> ModeStatus {
        let engine = &*self.engine;
        let mut st = engine.write();
        let lapsed = engine.expire_consent(&mut st, engine.shared.clock.now_ms());
        let status = engine.status(&st);
        drop(st);
        if lapsed {
            engine.shared.wake_writer();
        }
        status
    }

    /// Sets the visitor mode; effective for the next `track` on any thread.
    /// Leaving for opt-out, no-consent or no-storage deletes the visitor id
    /// and every queued hit that carries it, in one transaction; crossing
    /// the consent boundary renews the id. The change is persisted by the
    /// storage thread, then reported to the listener; `flush` waits for it.
    pub fn set_mode(&self, mode: VisitorMode) -> Result<(), ModeError> {
        if !self.engine.rules.knows(&mode) {
            return Err(ModeError::UnknownMode(mode.wire_name().to_owned()));
        }
        self.engine.change_mode(|_| Some(mode))
    }

    /// For an opt-out switch in settings. On: opt-out. Off: from opt-out,
    /// back to the configured default mode; in any other mode nothing
    /// changes, so a consent given (opt-in) is never dropped by the switch.
    pub fn set_opted_out(&self, opted_out: bool) -> Result<(), ModeError> {
        let default = self.engine.shared.config.default_mode.clone();
        self.engine.change_mode(|current| match (opted_out, current) {
            (true, _) => Some(VisitorMode::OptOut),
            (false, VisitorMode::OptOut) => Some(default),
            (false, _) => None,
        })
    }

    /// The answer to a consent prompt (also the one due when
    /// [`ModeStatus::consent_renewal_needed`] is set). Granted: opt-in.
    /// Declined: a consent in force (opt-in, no-storage) is withdrawn (back
    /// to the configured default, and what it queued is purged);
    /// any other mode is recorded again as the answer (an opt-out stays in
    /// force), which settles a pending renewal.
    pub fn set_consent(&self, granted: bool) -> Result<(), ModeError> {
        let default = self.engine.shared.config.default_mode.clone();
        self.engine.change_mode(|current| match (granted, current) {
            (true, _) => Some(VisitorMode::OptIn),
            (false, m) if m.requires_consent() => Some(default),
            (false, other) => Some(other.clone()),
        })
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
    /// opt-in. Persisted; each opt-in lapses like consent does.
    pub fn set_purposes(&self, answers: &BTreeMap<String, PurposeMode>) -> Result<(), ModeError> {
        self.engine.set_purposes(answers)
    }

    /// Every configured purpose's mode, audience measurement included.
    pub fn purposes(&self) -> BTreeMap<String, PurposeMode> {
        self.mode_status().purposes
    }

    /// Replaces the device and app context attached to later hits.
    pub fn set_context(&self, context: DeviceContext) -> Result<(), ConfigError> {
        context.validate("context")?;
        let props = Arc::new(Context::new(context.properties()));
        self.engine.write().context = props;
        Ok(())
    }

    /// Persists every accepted hit, then tries to upload the queue now (an
    /// exponential backoff is skipped, a server's Retry-After is not).
    /// Blocks until the attempt ends: call it off the main thread. From a
    /// listener callback it works; from an HTTP client or a clock the SDK
    /// is calling, it is refused ([`SdkError::CalledFromSdkThread`]).
    pub fn flush(&self) -> Result<FlushReport, SdkError> {
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

    /// Everything stored on the device about this visitor, for an access request.
    pub fn export_local_data(&self) -> Result<LocalData, SdkError> {
        let status = self.mode_status();
        let shared = &*self.engine.shared;
        let now = shared.clock.now_ms();
        let mut data = shared.ask_writer("export_local_data", Op::Export)??;
        data.exported_at_ms = now;
        data.current_mode = Some(status);
        Ok(data)
    }

    /// Deletes the visitor id, the queue and the history of choices, from
    /// the disk too. An opt-out (or no-consent, no-storage) in force stays in
    /// force, so erasing data never restarts tracking; other modes return to
    /// the default. Returns the number of queued hits deleted.
    pub fn delete_local_data(&self) -> Result<u64, SdkError> {
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

    /// What each mode lets leave the device, from the live configuration.
    pub fn compliance_report(&self) -> ComplianceReport {
        let shared = &*self.engine.shared;
        ComplianceReport::new(&shared.config, &self.engine.rules, shared.clock.now_ms())
    }

    /// The counters since this SDK started.
    pub fn stats(&self) -> Stats {
        self.engine.shared.counters.snapshot()
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.engine.shared.config
    }

    /// Persists everything accepted and stops the background threads. Later
    /// calls return [`TrackError::ShutDown`] / [`SdkError::ShutDown`].
    ///
    /// Safe from a listener callback, and from an HTTP client or a clock the
    /// SDK is calling: a thread never waits for itself, it is left to finish
    /// on its own (the directory lock is then released when it ends).
    pub fn shutdown(&self) -> Result<(), SdkError> {
        // Taken out, and the mutex released at once: a second caller (a
        // listener reacting to the first) returns instead of waiting for it.
        let taken = self.threads.lock().unwrap_or_else(|p| p.into_inner()).take();
        let Some(Threads { writer, uploader, listener }) = taken else { return Ok(()) };
        let shared = &*self.engine.shared;
        let role = shared.role();
        let (tx, rx) = mpsc::sync_channel(1);
        {
            let mut st = self.engine.write();
            st.closed = true;
            shared.closed.store(true, Ordering::Release);
            let _ = shared.ops.send(Op::Shutdown(tx));
        }
        shared.wake_writer();
        // The writer cannot answer its own thread; everyone else waits for
        // what was accepted to be persisted.
        let persisted = if role == Some(Role::Writer) { Ok(Ok(())) } else { rx.recv() };
        let _ = shared.uploads.send(UpMsg::Stop);
        let mut detached = false;
        for (handle, own) in [(writer, Role::Writer), (uploader, Role::Uploader)] {
            if role == Some(own) {
                detached = true;
            } else {
                let _ = handle.join();
            }
        }
        // Every notice queued so far is delivered before the listener's
        // thread ends (unless this is that thread: it ends after this callback).
        shared.notices.close();
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

impl Drop for Sdk {
    /// Shuts down; on one of the SDK's own threads (the last handle dropped
    /// in a callback) that thread is detached rather than joined.
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

fn count_drops(notes: &[Dropped]) -> u64 {
    notes.iter().filter(|n| n.reason.is_drop()).count() as u64
}

/// The purposes as `track` reads them under the state lock.
enum Purposes {
    Filter(Arc<PurposeFilter>),
    /// The unfiltered test path's wire.
    Raw(Arc<str>),
}
