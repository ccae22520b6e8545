//! The visitor's choice, in a tiny file of its own beside the database.
//!
//! A database can be lost (overwritten, corrupt, deleted); a refusal must not
//! be lost with it, or the SDK would come back in the default mode and create
//! an identifier the visitor refused. The choice is written here before the
//! transaction that records it in the database (so this file is never behind
//! the database), atomically: a temporary file, synced, then renamed over the
//! old one. It holds no identifier, only the mode, since when and why;
//! recording a refusal is not a tracker. A file that says "no choice" is
//! written rather than the file removed, so an erased choice cannot come back
//! from an older database.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::mode::{ModeChangeReason, ModeRecord, PurposeMode, VisitorMode};
use crate::purpose::PurposeChoice;

/// Name of the choice file inside the storage directory.
pub const CHOICE_FILE_NAME: &str = "mesure.choice";
/// 2 adds the purposes, 3 the site; older files are still read (without
/// a site: the first site that opens them takes them).
const FORMAT_VERSION: u32 = 3;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct OnDisk {
    version: u32,
    /// `None`: no choice recorded, the configured default applies.
    choice: Option<Recorded>,
    /// The purposes answered, by name.
    #[serde(default)]
    purposes: BTreeMap<String, RecordedPurpose>,
    /// The site the choice was made for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    site: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordedPurpose {
    mode: String,
    since_ms: i64,
}

/// The visitor's choice: the mode record, and the purposes answered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Choice {
    pub record: Option<ModeRecord>,
    pub purposes: BTreeMap<String, PurposeChoice>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Recorded {
    mode: String,
    since_ms: i64,
    reason: String,
}

/// What the file says, and the site it was written for (`None`: a file
/// from before sites were recorded): `Ok(None)` when there is no file; a
/// choice with no record when it records that no choice was made; an error
/// when it is unreadable.
pub(crate) fn read(dir: &Path) -> Result<Option<(Choice, Option<String>)>, StoreError> {
    let bytes = match std::fs::read(dir.join(CHOICE_FILE_NAME)) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let parsed: OnDisk = serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt(format!("{CHOICE_FILE_NAME}: {e}")))?;
    if !(1..=FORMAT_VERSION).contains(&parsed.version) {
        return Err(StoreError::Corrupt(format!("{CHOICE_FILE_NAME}: version {}", parsed.version)));
    }
    let record = match parsed.choice {
        None => None,
        Some(r) => {
            let reason =
                ModeChangeReason::parse(&r.reason).ok_or_else(|| StoreError::Corrupt(format!("{CHOICE_FILE_NAME}: reason {:?}", r.reason)))?;
            Some(ModeRecord { mode: VisitorMode::parse(&r.mode), since_ms: r.since_ms, reason })
        }
    };
    let mut purposes = BTreeMap::new();
    for (name, p) in parsed.purposes {
        let mode = PurposeMode::parse(&p.mode).ok_or_else(|| StoreError::Corrupt(format!("{CHOICE_FILE_NAME}: purpose mode {:?}", p.mode)))?;
        purposes.insert(name, PurposeChoice { mode, since_ms: p.since_ms });
    }
    Ok(Some((Choice { record, purposes }, parsed.site)))
}

/// Replaces the file atomically with `choice`, made for `site`.
pub(crate) fn write(dir: &Path, site: &str, choice: &Choice) -> Result<(), StoreError> {
    let doc = OnDisk {
        version: FORMAT_VERSION,
        site: Some(site.to_owned()),
        choice: choice.record.as_ref().map(|r| Recorded {
            mode: r.mode.wire_name().to_owned(),
            since_ms: r.since_ms,
            reason: r.reason.code().to_owned(),
        }),
        purposes: choice
            .purposes
            .iter()
            .map(|(p, c)| (p.clone(), RecordedPurpose { mode: c.mode.wire_name().to_owned(), since_ms: c.since_ms }))
            .collect(),
    };
    let bytes = serde_json::to_vec(&doc).map_err(|e| StoreError::Unavailable(e.to_string()))?;
    super::replace_file(dir, CHOICE_FILE_NAME, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_tells_missing_from_garbage() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(read(dir.path()), Ok(None)));
        let r = ModeRecord { mode: VisitorMode::NoConsent, since_ms: -5, reason: ModeChangeReason::SetByApp };
        let purposes = BTreeMap::from([("advertising".to_owned(), PurposeChoice { mode: PurposeMode::OptIn, since_ms: 7 })]);
        let choice = Choice { record: Some(r), purposes };
        write(dir.path(), "42", &choice).unwrap();
        assert_eq!(read(dir.path()).unwrap(), Some((choice, Some("42".to_owned()))));
        write(dir.path(), "42", &Choice::default()).unwrap();
        assert_eq!(read(dir.path()).unwrap(), Some((Choice::default(), Some("42".to_owned()))));
        // A version-1 file, from before purposes and sites, is read.
        std::fs::write(dir.path().join(CHOICE_FILE_NAME), br#"{"version":1,"choice":{"mode":"optout","since_ms":3,"reason":"set_by_app"}}"#).unwrap();
        let (old, site) = read(dir.path()).unwrap().unwrap();
        assert_eq!((old.record.unwrap().mode, site), (VisitorMode::OptOut, None));
        std::fs::write(dir.path().join(CHOICE_FILE_NAME), b"{\"version\":1,\"choice\":{\"mode\":\"optout\"}}").unwrap();
        assert!(matches!(read(dir.path()), Err(StoreError::Corrupt(_))));
        assert!(!dir.path().join(format!("{CHOICE_FILE_NAME}.tmp")).exists(), "renamed, not left behind");
    }
}
