//! The messages between the facade and the background threads: what the
//! storage thread is asked to write or answer, and what wakes the uploader.
//! Their order on each channel is the order of the decisions that sent them.

use std::collections::BTreeMap;
use std::sync::mpsc::SyncSender;

use crate::clock::EpochMillis;
use crate::consent::stats::StatRow;
use crate::consent::ConsentContext;
use crate::diagnostics::Dropped;
use crate::error::StoreError;
use crate::export::StoredData;
use crate::hit::QueuedHit;
use crate::mode::{ModeChange, ModeRecord, VisitorMode};
use crate::purpose::PurposeChoice;
use crate::upload::flush::FlushReport;
use crate::visitor_id::VisitorId;

/// What a state change does to the stored ids and the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VisitorAction {
    Keep,
    /// Retire the id (it is renewed on next use); its queued hits still
    /// leave (exempt hits queued before a consent was given).
    Forget,
    /// A withdrawal (consent withdrawn or lapsed): delete every hit queued
    /// with consent, their ids and the current one (CNIL 2020-092 art. 3:
    /// withdrawal is effective for what is not yet sent).
    Withdraw,
    /// Entering no-storage: delete every app-scoped id and every hit that
    /// carries one.
    PurgeIdentified,
    /// Entering opt-out or no-consent: delete every id and every hit but
    /// the anonymous ones.
    PurgeAll,
}

impl VisitorAction {
    /// What leaving `from` for `to` does to the stored ids and the queue.
    pub fn between(from: &VisitorMode, to: &VisitorMode) -> VisitorAction {
        if to.anonymous() {
            VisitorAction::PurgeAll
        } else if *to == VisitorMode::NoStorage {
            if *from == VisitorMode::NoStorage {
                VisitorAction::Keep
            } else {
                VisitorAction::PurgeIdentified
            }
        } else if from.requires_consent() && !to.requires_consent() {
            VisitorAction::Withdraw
        } else if from.consent() != to.consent() {
            VisitorAction::Forget
        } else {
            VisitorAction::Keep
        }
    }

    /// Whether it deletes queued hits (a purge: nothing it deletes may
    /// leave once it has committed).
    pub fn purges(self) -> bool {
        matches!(self, VisitorAction::Withdraw | VisitorAction::PurgeIdentified | VisitorAction::PurgeAll)
    }
}

/// What the rest of the SDK sends to the storage thread. Kept small (large
/// payloads boxed): the hand-off is a preallocated ring of these.
pub(crate) enum Op {
    Hit {
        hit: Box<QueuedHit>,
        notes: Vec<Dropped>,
    },
    /// Drop notes of an event that produced no hit.
    Notes {
        mode: Box<str>,
        notes: Vec<Dropped>,
    },
    NewVisitor(Box<VisitorId>),
    Visitor(VisitorAction),
    Mode(Box<ModeOp>),
    Flush(SyncSender<Result<(), StoreError>>),
    Export(SyncSender<Result<StoredData, StoreError>>),
    DeleteAll(Box<DeleteAllOp>),
    /// The uploader read a damaged page.
    Recover,
    /// The uploader deleted this many acknowledged or rejected rows.
    SpaceFreed(u64),
    Shutdown(SyncSender<Result<(), StoreError>>),
    /// A real run starts: the rows a dry run left are deleted.
    DropDryRunHits,
    /// A consent prompt was shown at this time (the consent statistics).
    PromptShown(Box<ConsentContext>, EpochMillis),
    /// The visitor switched the consent statistics on or off.
    ConsentStatistics(bool),
    /// The consent endpoint acknowledged these counts: taken off, then
    /// the sender is answered.
    ConsentStatisticsSent(Vec<StatRow>, SyncSender<()>),
}

pub(crate) struct ModeOp {
    /// The choice to record (`None`: no choice, the default applies).
    pub record: Option<ModeRecord>,
    /// The purposes answered, all of them (replacing those recorded).
    pub purposes: BTreeMap<String, PurposeChoice>,
    pub visitor: VisitorAction,
    /// Reported once committed; `None` when only the record is written again.
    pub change: Option<ModeChange>,
    /// The consent prompt the visitor answered in, if the app named it.
    pub prompt: Option<Box<ConsentContext>>,
}

pub(crate) struct DeleteAllOp {
    pub keep: Option<ModeRecord>,
    /// The purpose answers kept (those of a refusal kept in force).
    pub purposes: BTreeMap<String, PurposeChoice>,
    pub change: Option<ModeChange>,
    pub reply: SyncSender<Result<u64, StoreError>>,
}

/// What wakes the uploader.
pub(crate) enum UpMsg {
    /// A full batch is queued.
    Wake,
    Flush(SyncSender<FlushReport>),
    Stop,
}
