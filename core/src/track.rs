//! One event's way into the queue, under the mode in force at its place in
//! the app's calls: checked, filtered, scrubbed, serialised, bound to the
//! visitor id and handed to the storage thread. The lock sequence lives
//! here, with the engine whose state it reads; `sdk.rs` only routes calls.

use crate::clock::EpochMillis;
use crate::diagnostics::{DropReason, Dropped};
use crate::error::TrackError;
use crate::hit::{check_event_named, events, CheckedEvent, ClickKind, EncodedHit, Event, Refusal, Value};
use crate::purpose::PurposeFilter;
use crate::rules::Filter;
use crate::state::{Engine, HandOver};
use crate::stats::Counters;
use std::sync::Arc;

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
    /// Called before the SDK finished starting: the call waits in order in
    /// the start queue and is filtered, under the mode in force at its
    /// place among the app's calls, once the store is open. What became of
    /// it reaches the listener.
    Waiting,
}

/// A screen view (`page.display` with `page = name`), checked. The name
/// given wins over a `page` property, which is dropped and reported
/// (`replaced_by_screen_name`); an empty or blank name is refused.
pub(crate) fn check_screen(name: &str, properties: Vec<(String, Value)>) -> Result<CheckedEvent, Refusal> {
    if name.trim().is_empty() {
        return Err(Refusal { event: events::PAGE_DISPLAY.to_owned(), error: TrackError::EmptyName { property: "page" } });
    }
    let (page, others): (Vec<_>, Vec<_>) = properties.into_iter().partition(|(k, _)| k.eq_ignore_ascii_case("page"));
    let mut e = Event::screen(name);
    e.properties.extend(others);
    let mut checked = check_event_named(e)?;
    for (key, _) in page {
        checked.notes.push(Dropped { event: events::PAGE_DISPLAY.to_owned(), property: Some(key), reason: DropReason::ReplacedByScreenName });
    }
    Ok(checked)
}

/// A click (`click.<kind>` with `click = name`), checked; an empty or blank
/// name is refused, and so is a `click` property beside it.
pub(crate) fn check_click(kind: ClickKind, name: &str, properties: Vec<(String, Value)>) -> Result<CheckedEvent, Refusal> {
    if name.trim().is_empty() {
        return Err(Refusal { event: kind.event_name().to_owned(), error: TrackError::EmptyName { property: "click" } });
    }
    let mut e = Event::click(kind, name);
    e.properties.extend(properties);
    check_event_named(e)
}

impl Engine {
    /// Filters a checked event under the mode in force now, binds the
    /// visitor id and hands the hit to the storage thread. Never touches
    /// disk or network.
    ///
    /// `at`: when the call was made, for a call that waited in the start
    /// queue (`None`: now).
    pub fn track(&self, checked: CheckedEvent, at: Option<EpochMillis>) -> Result<TrackOutcome, TrackError> {
        let engine = self;
        let shared = &*engine.shared;
        let CheckedEvent { mut name, mut properties, notes } = checked;
        loop {
            let now = at.unwrap_or_else(|| shared.clock.now_ms());
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
            let queued = EncodedHit { event_id: hit.event_id.clone(), mode: rules.wire.clone(), tracked_at_ms: now, body };
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
                            // No id is created for a hit that will not be sent.
                            engine.admits(&st, epoch).and_then(|()| {
                                let id = engine.ensure_visitor(&mut st, now);
                                engine.hand_over(&st, epoch, id, queued, hit_notes)
                            })
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
