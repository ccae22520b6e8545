//! The upload thread: takes the oldest queued hits, sends them in batches of
//! one visitor id each, in the order tracked, and deletes them only once the
//! collector acknowledged them.
//!
//! It wakes on its own every `flush_interval_ms` while hits are pending, when
//! the storage thread has queued `batch_size` new hits (a full batch), and
//! on `flush()` (the wrappers' background flush). After a failure it
//! waits the backoff delay before the next attempt, on the monotonic clock:
//! a wall clock set back cannot stall it, one set forward cannot skip a
//! `Retry-After`.
//!
//! Before every request (a first attempt, each half of a split batch) it
//! checks, under the purge gate, which rows of the batch are still queued:
//! nothing a purge (opt-out, `delete_local_data`) deleted leaves once that
//! purge has committed.

use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::Connection;

use crate::upload::flush::FlushReport;
use crate::upload::http::{Completion, FailureKind, HttpOutcome, HttpRequest};
use crate::upload::policy::{classify, retry_delay_ms, Verdict};
use crate::upload::wire::{json_headers, Batch};
use std::collections::BTreeMap;

use crate::clock::{dated_in_the_past, queue_age_cutoff, EpochMillis};
use crate::consent::outbox;
use crate::consent::stats::ConsentStats;
use crate::diagnostics::{Diagnostic, EgressReason, SentHit, TrimCause};
use crate::error::StoreError;
use crate::gate::Gate;
use crate::hit::MAX_REQUEST_BYTES;
use crate::messages::{Op, UpMsg};
use crate::mode::FIXED_VISITOR_IDS;
use crate::report::POLICY_HEADER;
use crate::shared::Shared;
use crate::stats::Counters;
use crate::store::{self, PendingRow};

/// Extra time granted to the HTTP client beyond the request timeout before
/// the attempt counts as timed out.
const COMPLETION_GRACE: Duration = Duration::from_secs(2);
/// How often a wait for the HTTP client checks for shutdown.
const STOP_CHECK: Duration = Duration::from_millis(50);

pub(crate) struct Uploader {
    shared: Arc<Shared>,
    rx: Receiver<UpMsg>,
    conn: Option<Connection>,
    generation: u64,
    failures: u32,
    /// No automatic attempt before this instant (monotonic time).
    next_attempt_ms: u64,
    /// The server's Retry-After: not even `flush` sends before it (monotonic).
    retry_after_until_ms: u64,
}

/// What happened under the purge gate.
enum HandedOver {
    /// No row may leave.
    Nothing,
    /// An outcome already (a dry run, a client that panicked).
    Done(HttpOutcome, Vec<PendingRow>),
    /// Handed to the client; its answer comes on the receiver.
    Waiting(std::sync::mpsc::Receiver<HttpOutcome>, Vec<PendingRow>),
}

/// What became of one batch's attempt.
enum Sent {
    /// Every row of the batch was purged: nothing was sent.
    Purged,
    /// Sent (the rows a purge took are left out); the outcome, and the rows sent.
    Outcome(HttpOutcome, Vec<PendingRow>),
}

impl Uploader {
    pub fn new(shared: Arc<Shared>, rx: Receiver<UpMsg>) -> Uploader {
        Uploader { shared, rx, conn: None, generation: 0, failures: 0, next_attempt_ms: 0, retry_after_until_ms: 0 }
    }

    pub fn run(mut self) {
        let _ = self.shared.uploader.set(std::thread::current().id());
        let interval = self.shared.config.flush_interval_ms;
        loop {
            let now = self.shared.clock.monotonic_ms();
            let wait = if self.next_attempt_ms > now { (self.next_attempt_ms - now).clamp(10, interval) } else { interval };
            match self.rx.recv_timeout(Duration::from_millis(wait)) {
                Ok(UpMsg::Wake) | Err(RecvTimeoutError::Timeout) => {
                    if self.shared.clock.monotonic_ms() >= self.next_attempt_ms {
                        self.drain(false);
                    }
                }
                Ok(UpMsg::Flush(reply)) => {
                    let report = self.drain(true);
                    let _ = reply.send(report);
                }
                Ok(UpMsg::Stop) | Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    fn connection(&mut self) -> Result<&Connection, StoreError> {
        let generation = self.shared.db_generation.load(Ordering::SeqCst);
        if self.conn.is_none() || generation != self.generation {
            self.conn = None;
            self.conn = Some(store::open_reader(&self.shared.storage_dir)?);
            self.generation = generation;
        }
        self.conn.as_ref().ok_or_else(|| StoreError::Unavailable("no database".into()))
    }

    fn storage_failed(&mut self, e: StoreError, report: &mut FlushReport) {
        if matches!(e, StoreError::Corrupt(_)) {
            let _ = self.shared.ops_send(Op::Recover);
        }
        self.conn = None;
        report.storage_error = Some(e);
    }

    /// Uploads until the queue is empty, an attempt fails, or the SDK stops.
    fn drain(&mut self, forced: bool) -> FlushReport {
        let mut report = FlushReport::default();
        let now = self.shared.clock.monotonic_ms();
        if now < self.retry_after_until_ms || (!forced && now < self.next_attempt_ms) {
            report.deferred = Some("waiting for the retry delay the collector asked for".into());
            report.retry_in_ms = Some(self.next_attempt_ms.max(self.retry_after_until_ms) - now);
        } else {
            // A flush uploads what was queued when it began, not what keeps
            // coming while it runs (under steady tracking it would never end).
            let until = if forced { self.connection().and_then(store::last_seq).unwrap_or(None) } else { None };
            while !self.shared.is_closed() || forced {
                match self.upload_one_group(&mut report, until) {
                    Ok(true) => continue,
                    Ok(false) => break,
                    Err(e) => {
                        self.storage_failed(e, &mut report);
                        break;
                    }
                }
            }
            if report.deferred.is_none() && report.storage_error.is_none() && (!self.shared.is_closed() || forced) {
                self.send_consent(&mut report);
            }
        }
        if forced {
            let dry_run = self.shared.config.dry_run;
            match self.connection().and_then(|c| store::count_hits(c, dry_run)) {
                Ok(n) => report.pending = n,
                Err(e) => self.storage_failed(e, &mut report),
            }
        }
        report
    }

    /// Sends the oldest run of hits sharing one visitor id (queued no later
    /// than `until`, when given). Ok(true) when it went through and more
    /// may follow.
    fn upload_one_group(&mut self, report: &mut FlushReport, until: Option<i64>) -> Result<bool, StoreError> {
        let inner = self.shared.clone();
        let config = &inner.config;
        let batch_size = config.batch_size;
        let now = self.shared.clock.now_ms();
        let cutoff = queue_age_cutoff(now, config.queue_max_age_days);
        let mut rows = store::oldest_hits(self.connection()?, config.dry_run, batch_size, MAX_REQUEST_BYTES)?;
        if let Some(last) = until {
            rows.retain(|r| r.seq <= last);
        }
        let Some(first) = rows.first() else { return Ok(false) };
        let visitor = first.visitor_id.clone();
        let fixed = FIXED_VISITOR_IDS.contains(&visitor.as_str());

        // An id past its 13 months (or dated in the future) never leaves,
        // whenever its hits were queued: they go with it.
        if !fixed {
            let conn = self.connection()?;
            let valid = store::identity(conn, &visitor)?.is_some_and(|id| dated_in_the_past(id.created_at_ms, now) && now < id.expires_at_ms);
            if !valid {
                let n = store::delete_hits_of(conn, &visitor)?;
                store::drop_unused_identity(conn, &visitor)?;
                report.expired += n;
                Counters::add(&self.shared.counters.trimmed_max_age, n);
                self.shared.diagnostic(Diagnostic::QueueTrimmed { cause: TrimCause::IdExpired, dropped: n });
                return Ok(true);
            }
        }
        // One visitor id per request, and at most MAX_REQUEST_BYTES of body
        // (each hit is at most MAX_HIT_BYTES, so at least one always fits).
        let wire = &*self.shared.wire;
        let mut bytes = wire.envelope_bytes();
        let mut group: Vec<PendingRow> = rows
            .into_iter()
            .take_while(|r| r.visitor_id == visitor)
            .take(wire.max_hits())
            .enumerate()
            .take_while(|(i, r)| {
                bytes += wire.hit_bytes(r);
                *i == 0 || bytes <= MAX_REQUEST_BYTES
            })
            .map(|(_, r)| r)
            .collect();

        // Never send a hit past the queue's age bound.
        if group.iter().any(|r| r.tracked_at_ms < cutoff) {
            let (old, young): (Vec<_>, Vec<_>) = group.into_iter().partition(|r| r.tracked_at_ms < cutoff);
            let conn = self.connection()?;
            for r in &old {
                store::delete_range(conn, r.seq, r.seq)?;
            }
            let n = old.len() as u64;
            report.expired += n;
            Counters::add(&self.shared.counters.trimmed_max_age, n);
            self.shared.diagnostic(Diagnostic::QueueTrimmed { cause: TrimCause::MaxAge, dropped: n });
            group = young;
            if group.is_empty() {
                return Ok(true);
            }
        }

        // Batches to send, last to first; 400/413 splits a batch in halves.
        let mut stack = vec![group];
        while let Some(batch) = stack.pop() {
            let (outcome, batch) = match self.send(&visitor, batch, report)? {
                Sent::Purged => continue,
                Sent::Outcome(outcome, batch) => (outcome, batch),
            };
            let (first_seq, last_seq) = match (batch.first(), batch.last()) {
                (Some(a), Some(b)) => (a.seq, b.seq),
                _ => continue,
            };
            let n = batch.len() as u64;
            let now = self.shared.clock.now_ms();
            match classify(&outcome, now) {
                Verdict::Delivered => {
                    if let HttpOutcome::Response { body, .. } = &outcome {
                        if let Some((tracked, invalid)) = self.shared.wire.miscounted(body, n) {
                            self.shared.diagnostic(Diagnostic::CollectorMiscounted { sent: n, tracked, invalid });
                        }
                    }
                    // Rows a purge removed while the request was in flight
                    // are counted by the purge, not here.
                    let deleted = store::delete_range(self.connection()?, first_seq, last_seq)?;
                    if !fixed {
                        store::drop_unused_identity(self.connection()?, &visitor)?;
                    }
                    self.shared.space_freed(deleted);
                    self.failures = 0;
                    self.next_attempt_ms = 0;
                    report.uploaded += deleted;
                    report.purged += n - deleted.min(n);
                    Counters::add(&self.shared.counters.uploaded, deleted);
                }
                Verdict::Rejected { .. } if batch.len() > 1 => {
                    let mut left = batch;
                    let right = left.split_off(left.len() / 2);
                    stack.push(right);
                    stack.push(left);
                }
                Verdict::Rejected { status } => {
                    let deleted = store::delete_range(self.connection()?, first_seq, last_seq)?;
                    self.shared.space_freed(deleted);
                    report.rejected += deleted;
                    report.purged += n - deleted.min(n);
                    Counters::add(&self.shared.counters.rejected_by_collector, deleted);
                    self.shared.diagnostic(Diagnostic::HitsRejected { status, count: deleted });
                }
                Verdict::Retry { retry_after_ms, cause } => {
                    let delay = self.back_off(retry_after_ms);
                    Counters::add(&self.shared.counters.upload_failures, 1);
                    let pending_in_group: u64 = n + stack.iter().map(|b| b.len() as u64).sum::<u64>();
                    self.shared.diagnostic(Diagnostic::UploadDeferred { hits: pending_in_group, cause: cause.clone(), retry_in_ms: delay });
                    report.deferred = Some(cause);
                    report.retry_in_ms = Some(delay);
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    /// One request through the configured client, for the rows of `batch`
    /// still queued that the egress gate lets out; waits for its
    /// completion at most the request timeout plus a grace period.
    fn send(&mut self, visitor: &str, batch: Vec<PendingRow>, report: &mut FlushReport) -> Result<Sent, StoreError> {
        let (first, last) = match (batch.first(), batch.last()) {
            (Some(a), Some(b)) => (a.seq, b.seq),
            _ => return Ok(Sent::Purged),
        };
        let shared = self.shared.clone();
        let mut held = Vec::new();
        let handed = {
            // Held from the check to the hand-over: a purge commits either
            // before (and the check sees it) or after the request left. Only
            // reads happen under it (the writer takes it inside its write
            // transaction: a write here would wait for that transaction).
            let _gate = shared.purge_gate.lock().unwrap_or_else(|p| p.into_inner());
            self.check_and_hand_over(visitor, batch, first, last, &mut held, report)
        };
        // What the gate held back is deleted once the purge gate is free.
        self.held_at_egress(held, report)?;
        let (answer, batch) = match handed? {
            HandedOver::Nothing => return Ok(Sent::Purged),
            HandedOver::Done(outcome, batch) => return Ok(Sent::Outcome(outcome, batch)),
            HandedOver::Waiting(answer, batch) => (answer, batch),
        };
        let outcome = self.wait(answer);
        self.report_sent(visitor, &batch, outcome.status());
        Ok(Sent::Outcome(outcome, batch))
    }

    /// Under the purge gate: keeps the rows still queued, passes them
    /// through the egress gate (the refused ones into `held`), and hands
    /// the request to the client.
    fn check_and_hand_over(
        &mut self,
        visitor: &str,
        batch: Vec<PendingRow>,
        first: i64,
        last: i64,
        held: &mut Vec<(EgressReason, PendingRow)>,
        report: &mut FlushReport,
    ) -> Result<HandedOver, StoreError> {
        let shared = self.shared.clone();
        let queued = store::queued_seqs(self.connection()?, first, last)?;
        let before = batch.len();
        let batch: Vec<PendingRow> = batch.into_iter().filter(|r| queued.binary_search(&r.seq).is_ok()).collect();
        report.purged += (before - batch.len()) as u64;
        let gated = if shared.layers.egress_gate { self.gate(visitor, batch, held)? } else { batch };
        // What the collector would count invalid is held back with the gate's refusals.
        let now = shared.clock.now_ms();
        let mut batch = Vec::with_capacity(gated.len());
        for row in gated {
            match shared.wire.hold(&row, now) {
                None => batch.push(row),
                Some(reason) => held.push((reason, row)),
            }
        }
        if batch.is_empty() {
            return Ok(HandedOver::Nothing);
        }
        if shared.config.dry_run {
            // Acknowledged here, as the collector would: the rows go.
            self.report_sent(visitor, &batch, None);
            return Ok(HandedOver::Done(HttpOutcome::Response { status: 204, retry_after: None, body: Vec::new() }, batch));
        }
        let request = self.request(visitor, &batch, now);
        Ok(match self.hand_to_client(request) {
            Ok(answer) => HandedOver::Waiting(answer, batch),
            Err(failed) => HandedOver::Done(failed, batch),
        })
    }

    /// Hands `request` to the configured client; its answer comes on the
    /// receiver. A client that panics is a failed attempt, not a dead thread.
    fn hand_to_client(&self, request: HttpRequest) -> Result<std::sync::mpsc::Receiver<HttpOutcome>, HttpOutcome> {
        let (completion, answer) = Completion::pair();
        let client = self.shared.http.clone();
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || client.send(request, completion))) {
            Ok(()) => Ok(answer),
            Err(_) => Err(HttpOutcome::Failed { kind: FailureKind::Other, message: "the HTTP client panicked".into() }),
        }
    }

    /// The egress gate ([`crate::gate`]): the rows of `batch` that may
    /// leave; the others go to `held`. Reads only (it runs under the purge gate).
    fn gate(&mut self, visitor: &str, batch: Vec<PendingRow>, held: &mut Vec<(EgressReason, PendingRow)>) -> Result<Vec<PendingRow>, StoreError> {
        let shared = self.shared.clone();
        let identity = if FIXED_VISITOR_IDS.contains(&visitor) { None } else { store::identity(self.connection()?, visitor)? };
        let view = shared.egress_view();
        let gate = Gate { config: &shared.config, site: &shared.site, rules: &shared.rules, view: &view, now: shared.clock.now_ms() };
        let mut passed = Vec::with_capacity(batch.len());
        for row in batch {
            match gate.check(&row, identity.as_ref()) {
                Ok(()) => passed.push(row),
                Err(reason) => held.push((reason, row)),
            }
        }
        Ok(passed)
    }

    /// Deletes the rows the egress gate held back, and reports them.
    fn held_at_egress(&mut self, held: Vec<(EgressReason, PendingRow)>, report: &mut FlushReport) -> Result<(), StoreError> {
        if held.is_empty() {
            return Ok(());
        }
        let seqs: Vec<i64> = held.iter().map(|(_, row)| row.seq).collect();
        // The gate's check and this delete are not one transaction: a purge
        // that committed in between deleted (and counted) some of these rows.
        // Only the rows this delete took are held here, so no hit is counted
        // twice.
        let deleted = store::delete_seqs(self.connection()?, &seqs)?;
        let mut by_reason: BTreeMap<EgressReason, Vec<String>> = BTreeMap::new();
        for (reason, row) in held {
            if deleted.binary_search(&row.seq).is_ok() {
                by_reason.entry(reason).or_default().push(row.event_id);
            }
        }
        let shared = self.shared.clone();
        for (reason, event_ids) in by_reason {
            let n = event_ids.len() as u64;
            report.held_at_egress += n;
            Counters::add(&shared.counters.held_at_egress, n);
            shared.diagnostic(Diagnostic::HeldAtEgress { reason, event_ids });
        }
        Ok(())
    }

    /// Tells the listener what one request carried: per hit, the event and
    /// the keys, read back from the stored bodies (only when someone listens).
    fn report_sent(&self, visitor: &str, batch: &[PendingRow], status: Option<u16>) {
        if !self.shared.notices.listening() {
            return;
        }
        let now = self.shared.clock.now_ms();
        let hits = batch
            .iter()
            .map(|r| {
                let (event, keys) = self.shared.wire.sent(r, now).unwrap_or_default();
                SentHit { event_id: r.event_id.clone(), event, keys }
            })
            .collect();
        self.shared.diagnostic(Diagnostic::Sent { idclient: visitor.to_owned(), hits, status, dry_run: self.shared.config.dry_run });
    }

    /// The collection request for one batch of one visitor id, in the
    /// configured dialect; the properties it had no place for are reported.
    fn request(&self, visitor: &str, batch: &[PendingRow], now_ms: EpochMillis) -> HttpRequest {
        let shared = &*self.shared;
        let config = &shared.config;
        let encoded = shared.wire.request(&Batch {
            endpoint: &shared.endpoint,
            site_id: config.site_id,
            visitor,
            rows: batch,
            timeout_ms: config.request_timeout_ms,
            now_ms,
        });
        Counters::add(&shared.counters.properties_dropped, encoded.held.len() as u64);
        for (mode, dropped) in encoded.held {
            shared.diagnostic(Diagnostic::Dropped { mode, dropped });
        }
        let mut request = encoded.request;
        request.headers.push((POLICY_HEADER.into(), shared.policy_hash.clone()));
        request
    }

    /// Counts a failed attempt and sets the delay before the next one (the
    /// collector's `Retry-After` when it gave one); returns the delay.
    fn back_off(&mut self, retry_after_ms: Option<u64>) -> u64 {
        let config = &self.shared.config;
        self.failures = self.failures.saturating_add(1);
        let delay = retry_delay_ms(self.failures, config.retry_base_ms, config.retry_max_ms, retry_after_ms, self.shared.random.unit());
        let tick = self.shared.clock.monotonic_ms();
        self.next_attempt_ms = tick.saturating_add(delay);
        if let Some(ra) = retry_after_ms {
            self.retry_after_until_ms = tick.saturating_add(ra);
        }
        delay
    }

    /// Sends what the consent endpoint has not acknowledged: the receipts,
    /// oldest first, then the consent statistics, each kind in requests of
    /// its own. Nothing without an endpoint or in a dry run. Each request
    /// passes [`outbox::check`] first; a failure backs off like a batch of
    /// hits (the same policy), and the rest waits for the next attempt.
    fn send_consent(&mut self, report: &mut FlushReport) {
        let shared = self.shared.clone();
        let Some(endpoint) = shared.config.consent_endpoint() else { return };
        if shared.config.dry_run {
            return;
        }
        let dir = &shared.storage_dir;
        let storage_error = |e: StoreError| Diagnostic::StorageError { message: format!("the consent receipts could not be read: {e}") };
        loop {
            let receipts = match outbox::unsent_receipts(dir) {
                Ok(r) => r,
                Err(e) => return shared.diagnostic(storage_error(e)),
            };
            let Some(last) = receipts.last().cloned() else { break };
            match self.send_consent_request(&endpoint, ConsentKind::Receipts, outbox::receipts_body(&receipts), receipts.len() as u64, report) {
                Some(_) => {
                    if let Err(e) = outbox::mark_sent(dir, &last) {
                        return shared.diagnostic(storage_error(e));
                    }
                }
                None => return,
            }
        }
        if !shared.config.consent.statistics {
            return;
        }
        let stats = match ConsentStats::load(dir) {
            Ok(s) if !s.off => s.pending(),
            _ => return,
        };
        if stats.is_empty() {
            return;
        }
        let n = stats.len() as u64;
        if self.send_consent_request(&endpoint, ConsentKind::Statistics, outbox::statistics_body(&stats), n, report).is_some() {
            // Taken off the counts by the storage thread before the next
            // attempt reads them again (never counted twice).
            let (tx, rx) = std::sync::mpsc::sync_channel(1);
            if shared.ops_send(Op::ConsentStatisticsSent(stats, tx)).is_ok() {
                let _ = rx.recv();
            }
        }
    }

    /// One consent request: checked, sent, classified. `Some(status)` when
    /// it is done with (acknowledged, refused for good, or held back by the
    /// check: never sent again); `None` when it is to be retried.
    fn send_consent_request(
        &mut self,
        endpoint: &str,
        kind: ConsentKind,
        body: Vec<u8>,
        count: u64,
        report: &mut FlushReport,
    ) -> Option<Option<u16>> {
        let shared = self.shared.clone();
        let visitor_ids = self.connection().and_then(store::visitor_ids).unwrap_or_default();
        if let Err(why) = outbox::check(&body, &visitor_ids) {
            shared.diagnostic(Diagnostic::ConsentSent { kind: kind.name().into(), count, status: None, held: Some(why) });
            return Some(None);
        }
        let mut headers = json_headers();
        headers.push((POLICY_HEADER.into(), shared.policy_hash.clone()));
        let request = HttpRequest { url: endpoint.to_owned(), headers, body, timeout_ms: shared.config.request_timeout_ms };
        let outcome = match self.hand_to_client(request) {
            Ok(answer) => self.wait(answer),
            Err(failed) => failed,
        };
        let status = outcome.status();
        match classify(&outcome, shared.clock.now_ms()) {
            Verdict::Delivered | Verdict::Rejected { .. } => {
                shared.diagnostic(Diagnostic::ConsentSent { kind: kind.name().into(), count, status, held: None });
                Some(status)
            }
            Verdict::Retry { retry_after_ms, cause } => {
                let delay = self.back_off(retry_after_ms);
                Counters::add(&shared.counters.upload_failures, 1);
                shared.diagnostic(Diagnostic::UploadDeferred { hits: 0, cause: format!("consent {}: {cause}", kind.name()), retry_in_ms: delay });
                report.deferred = Some(cause);
                report.retry_in_ms = Some(delay);
                None
            }
        }
    }

    /// Waits for the client's answer, at most the request timeout plus a
    /// grace period, checking for shutdown.
    fn wait(&self, answer: std::sync::mpsc::Receiver<HttpOutcome>) -> HttpOutcome {
        let deadline = Instant::now() + Duration::from_millis(self.shared.config.request_timeout_ms) + COMPLETION_GRACE;
        loop {
            match answer.recv_timeout(STOP_CHECK) {
                Ok(outcome) => return outcome,
                Err(RecvTimeoutError::Disconnected) => {
                    return HttpOutcome::Failed { kind: FailureKind::Other, message: "the HTTP client dropped the request without answering".into() }
                }
                Err(RecvTimeoutError::Timeout) => {
                    if Instant::now() >= deadline {
                        return HttpOutcome::Failed { kind: FailureKind::Timeout, message: "the HTTP client did not answer in time".into() };
                    }
                    if self.shared.is_closed() {
                        return HttpOutcome::Failed { kind: FailureKind::Other, message: "SDK shutting down".into() };
                    }
                }
            }
        }
    }
}

/// What a consent request carries.
#[derive(Clone, Copy)]
enum ConsentKind {
    Receipts,
    Statistics,
}

impl ConsentKind {
    fn name(self) -> &'static str {
        match self {
            ConsentKind::Receipts => "receipts",
            ConsentKind::Statistics => "statistics",
        }
    }
}
