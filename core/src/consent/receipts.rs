//! Consent receipts (issue 19): every change of mode or purpose the visitor
//! makes (never a lapse) is written as one line of an append-only file
//! beside the database, each line holding the hash of the one before, so
//! that an edited, removed or reordered receipt is found ([`verify`]).
//!
//! The file is apart from the database: a corrupt hit queue (the database
//! recreated) leaves the proofs of consent as they were. A receipt carries
//! a consent-proof id of its own (random, the same for this device's
//! receipts, never the visitor id, never on a measurement hit), the time,
//! the resulting mode and every purpose's answer, the SDK version and the
//! policy hash in force. `delete_local_data` deletes the file.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::clock::{format_rfc3339, EpochMillis};
use crate::consent::ConsentContext;
use crate::sha256;
use crate::store::{private_file_options, remove_if_present, StoreError};

/// Name of the receipts file inside the storage directory.
pub const RECEIPTS_FILE_NAME: &str = "mesure.receipts";
/// The `prev` of the first receipt.
pub const GENESIS: &str = "sha256=0000000000000000000000000000000000000000000000000000000000000000";

/// One consent receipt, as stored and as a controller files it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// 1 for the first receipt of the chain, then one more each.
    pub n: u64,
    /// The consent-proof id: random, the same for every receipt of this
    /// device, never the visitor id.
    pub consent_id: String,
    /// When the visitor answered (RFC 3339) and as milliseconds.
    pub at: String,
    pub at_ms: EpochMillis,
    /// The visitor mode the answer put in force.
    pub mode: String,
    /// Every purpose's answer after it (`opt-in`, `essential`, ...).
    pub purposes: BTreeMap<String, String>,
    /// The consent prompt answered, as the app named it (absent when the
    /// app passed none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<ConsentContext>,
    /// The SDK version and the policy hash in force.
    pub sdk: String,
    pub policy: String,
    /// The hash of the receipt before (`GENESIS` for the first).
    pub prev: String,
    /// SHA-256 of this receipt without `hash`.
    pub hash: String,
}

impl Receipt {
    /// A receipt following `last` (the chain's last receipt, if any).
    pub fn next(
        last: Option<&Receipt>,
        new_id: impl FnOnce() -> String,
        at_ms: EpochMillis,
        mode: &str,
        purposes: BTreeMap<String, String>,
        prompt: Option<ConsentContext>,
        policy: &str,
    ) -> Receipt {
        let mut r = Receipt {
            n: last.map_or(1, |l| l.n.saturating_add(1)),
            consent_id: last.map_or_else(new_id, |l| l.consent_id.clone()),
            at: format_rfc3339(at_ms),
            at_ms,
            mode: mode.to_owned(),
            purposes,
            prompt,
            sdk: crate::version::SDK_VERSION.to_owned(),
            policy: policy.to_owned(),
            prev: last.map_or_else(|| GENESIS.to_owned(), |l| l.hash.clone()),
            hash: String::new(),
        };
        r.hash = r.digest();
        r
    }

    /// SHA-256 of the receipt's JSON without `hash`.
    fn digest(&self) -> String {
        let mut unsigned = self.clone();
        unsigned.hash.clear();
        format!("sha256={}", sha256::hex(serde_json::to_string(&unsigned).unwrap_or_default().as_bytes()))
    }
}

/// Why a chain of receipts is not intact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainBreak {
    /// Line `line` (1-based) is not a receipt.
    Unreadable { line: usize },
    /// Receipt `n`'s content does not match its hash (edited).
    Edited { n: u64 },
    /// The receipt at `line` is not the one expected there (one removed,
    /// inserted or moved): its number or its `prev` does not follow.
    OutOfOrder { line: usize },
    /// A receipt of another consent-proof id in the chain.
    ForeignId { line: usize },
}

impl std::fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChainBreak::Unreadable { line } => write!(f, "line {line} is not a receipt"),
            ChainBreak::Edited { n } => write!(f, "receipt {n} was edited: its content does not match its hash"),
            ChainBreak::OutOfOrder { line } => write!(f, "the receipt on line {line} does not follow the one before (removed, inserted or moved)"),
            ChainBreak::ForeignId { line } => write!(f, "the receipt on line {line} belongs to another consent-proof id"),
        }
    }
}

/// Reads the file's lines as they are (no receipts: an empty list).
pub fn read_lines(dir: &Path) -> Result<Vec<String>, StoreError> {
    match std::fs::File::open(dir.join(RECEIPTS_FILE_NAME)) {
        Ok(f) => BufReader::new(f).lines().map(|l| l.map_err(StoreError::from)).filter(|l| !matches!(l, Ok(s) if s.trim().is_empty())).collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e.into()),
    }
}

/// Checks a chain: every line a receipt, each one's hash its content's, each
/// numbered one more than the one before and holding its hash, one
/// consent-proof id. Returns the receipts when intact.
pub fn verify(lines: &[String]) -> Result<Vec<Receipt>, ChainBreak> {
    let mut out: Vec<Receipt> = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        let r: Receipt = serde_json::from_str(line).map_err(|_| ChainBreak::Unreadable { line: i + 1 })?;
        if r.digest() != r.hash {
            return Err(ChainBreak::Edited { n: r.n });
        }
        let (n, prev) = out.last().map_or((1, GENESIS.to_owned()), |l| (l.n.saturating_add(1), l.hash.clone()));
        if r.n != n || r.prev != prev {
            return Err(ChainBreak::OutOfOrder { line: i + 1 });
        }
        if out.first().is_some_and(|f| f.consent_id != r.consent_id) {
            return Err(ChainBreak::ForeignId { line: i + 1 });
        }
        out.push(r);
    }
    Ok(out)
}

/// The last receipt of the file, if it reads (the next one chains to it).
pub fn last(dir: &Path) -> Result<Option<Receipt>, StoreError> {
    Ok(read_lines(dir)?.last().and_then(|l| serde_json::from_str(l).ok()))
}

/// Appends one receipt and syncs it to the disk.
pub fn append(dir: &Path, receipt: &Receipt) -> Result<(), StoreError> {
    let mut line = serde_json::to_string(receipt).map_err(|e| StoreError::Unavailable(e.to_string()))?;
    line.push('\n');
    let mut f = private_file_options().append(true).open(dir.join(RECEIPTS_FILE_NAME))?;
    f.write_all(line.as_bytes())?;
    f.sync_data()?;
    Ok(())
}

/// Deletes the file (`delete_local_data`); true when there was one.
pub fn delete(dir: &Path) -> Result<bool, StoreError> {
    remove_if_present(&dir.join(RECEIPTS_FILE_NAME))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: usize) -> Vec<String> {
        let mut out: Vec<Receipt> = Vec::new();
        for i in 0..n {
            let purposes = [("audience_measurement".to_owned(), if i % 2 == 0 { "opt-in" } else { "opt-out" }.to_owned())].into();
            let r = Receipt::next(
                out.last(),
                || "c0a8e1f2-0000-4000-8000-000000000001".into(),
                1_800_000_000_000 + i as i64,
                "optin",
                purposes,
                None,
                "sha256=ab",
            );
            out.push(r);
        }
        out.iter().map(|r| serde_json::to_string(r).unwrap()).collect()
    }

    #[test]
    fn an_intact_chain_verifies() {
        let lines = chain(4);
        let receipts = verify(&lines).unwrap();
        assert_eq!(receipts.iter().map(|r| r.n).collect::<Vec<_>>(), [1, 2, 3, 4]);
        assert_eq!(receipts[0].prev, GENESIS);
        assert_eq!(receipts[1].prev, receipts[0].hash);
        assert!(receipts.iter().all(|r| r.consent_id == receipts[0].consent_id));
    }

    #[test]
    fn an_edited_receipt_is_found() {
        let mut lines = chain(3);
        lines[1] = lines[1].replace("\"opt-out\"", "\"opt-in\"");
        assert_eq!(verify(&lines), Err(ChainBreak::Edited { n: 2 }));
        // Edited and re-hashed: the next receipt's prev no longer matches.
        let mut r: Receipt = serde_json::from_str(&chain(3)[1]).unwrap();
        r.mode = "exempt".into();
        r.hash = r.digest();
        let mut lines = chain(3);
        lines[1] = serde_json::to_string(&r).unwrap();
        assert_eq!(verify(&lines), Err(ChainBreak::OutOfOrder { line: 3 }));
    }

    #[test]
    fn a_removed_receipt_is_found() {
        let mut lines = chain(3);
        lines.remove(1);
        assert_eq!(verify(&lines), Err(ChainBreak::OutOfOrder { line: 2 }));
        let mut lines = chain(3);
        lines.remove(0);
        assert_eq!(verify(&lines), Err(ChainBreak::OutOfOrder { line: 1 }), "the first one too");
    }

    #[test]
    fn a_reordered_chain_is_found() {
        let mut lines = chain(3);
        lines.swap(1, 2);
        assert_eq!(verify(&lines), Err(ChainBreak::OutOfOrder { line: 2 }));
    }

    #[test]
    fn a_foreign_or_unreadable_line_is_found() {
        let mut lines = chain(2);
        lines.insert(1, "{not json".into());
        assert_eq!(verify(&lines), Err(ChainBreak::Unreadable { line: 2 }));
        // A whole chain of another id cannot be spliced in either.
        let mut other: Receipt = serde_json::from_str(&chain(2)[1]).unwrap();
        other.consent_id = "another".into();
        other.hash = other.digest();
        let mut lines = chain(2);
        lines[1] = serde_json::to_string(&other).unwrap();
        assert_eq!(verify(&lines), Err(ChainBreak::ForeignId { line: 2 }));
    }

    #[test]
    fn the_file_appends_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(last(dir.path()).unwrap(), None);
        let a = Receipt::next(None, || "id".into(), 1, "optin", BTreeMap::new(), Some(ConsentContext::new("banner", "3").with_locale("fr")), "p");
        append(dir.path(), &a).unwrap();
        let b = Receipt::next(last(dir.path()).unwrap().as_ref(), || unreachable!(), 2, "exempt", BTreeMap::new(), None, "p");
        append(dir.path(), &b).unwrap();
        assert_eq!(verify(&read_lines(dir.path()).unwrap()).unwrap(), [a, b]);
        assert!(delete(dir.path()).unwrap());
        assert!(!delete(dir.path()).unwrap());
        assert!(read_lines(dir.path()).unwrap().is_empty());
    }
}
