//! The messages between the facade and the background threads: what the
//! storage thread is asked to write or answer, and what wakes the uploader.
//! Their order on each channel is the order of the decisions that sent them.

use std::collections::BTreeMap;
use std::sync::mpsc::SyncSender;

use crate::diagnostics::Dropped;
use crate::error::StoreError;
use crate::export::LocalData;
use crate::hit::QueuedHit;
use crate::mode::{ModeChange, ModeRecord};
use crate::purpose::PurposeChoice;
use crate::upload::flush::FlushReport;
use crate::visitor_id::VisitorId;

/// What a state change does to the stored visitor id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VisitorAction {
    Keep,
    /// Delete the id (it is renewed on next use); its queued hits still leave.
    Forget,
    /// Delete the id and every queued hit that carries a real id.
    Purge,
}

/// What the rest of the SDK sends to the storage thread. Kept small (large
/// payloads boxed): the hand-off is a preallocated ring of these.
pub(crate) enum Op {
    Hit { hit: Box<QueuedHit>, notes: Vec<Dropped> },
    /// Drop notes of an event that produced no hit.
    Notes { mode: Box<str>, notes: Vec<Dropped> },
    NewVisitor(Box<VisitorId>),
    Visitor(VisitorAction),
    Mode(Box<ModeOp>),
    Flush(SyncSender<Result<(), StoreError>>),
    Export(SyncSender<Result<LocalData, StoreError>>),
    DeleteAll(Box<DeleteAllOp>),
    /// The uploader read a damaged page.
    Recover,
    /// The uploader deleted this many acknowledged or rejected rows.
    SpaceFreed(u64),
    Shutdown(SyncSender<Result<(), StoreError>>),
}

pub(crate) struct ModeOp {
    /// The choice to record (`None`: no choice, the default applies).
    pub record: Option<ModeRecord>,
    /// The purposes answered, all of them (replacing those recorded).
    pub purposes: BTreeMap<String, PurposeChoice>,
    pub visitor: VisitorAction,
    /// Reported once committed; `None` when only the record is written again.
    pub change: Option<ModeChange>,
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
