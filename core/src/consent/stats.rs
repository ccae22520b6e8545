//! The anonymous consent statistics: how often each version of a consent
//! prompt was shown, accepted in full, refused in full or customised, per
//! day, counted on the device. A row names a day and a prompt, never a
//! device or a person; what was sent is subtracted, so the collector sums
//! what it receives.
//!
//! One file beside the database, written whole (a temporary file renamed
//! over it) by the storage thread alone. The visitor's own opt-out (and,
//! when the controller links them, a "refuse all") is kept in it: the
//! counters are then deleted and nothing is counted again.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Answer, ConsentContext};
use crate::clock::EpochMillis;
use crate::store::{remove_if_present, replace_file, StoreError};

/// Name of the statistics file inside the storage directory.
pub const STATS_FILE_NAME: &str = "mesure.consent-stats";
/// Rows kept at most (days × prompt versions): past it the oldest day goes.
pub const MAX_STAT_ROWS: usize = 256;

/// One day's counts for one prompt version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatRow {
    /// The day (UTC), `YYYY-MM-DD`.
    pub day: String,
    /// The prompt, as the app names it.
    pub prompt_id: String,
    /// Its version.
    pub prompt_version: String,
    /// Times it was shown.
    pub shown: u64,
    /// Answers that opted in to every purpose.
    pub accepted_all: u64,
    /// Answers that opted in to none.
    pub refused_all: u64,
    /// Answers that opted in to some.
    pub customised: u64,
}

impl StatRow {
    fn is_empty(&self) -> bool {
        self.shown == 0 && self.accepted_all == 0 && self.refused_all == 0 && self.customised == 0
    }
}

/// What is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatEvent {
    /// The prompt was shown.
    Shown,
    /// The prompt was answered.
    Answered(Answer),
}

/// The file's content.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentStats {
    /// Switched off on this device (the visitor's opt-out, or a refusal
    /// the controller links them to): nothing is counted.
    #[serde(default)]
    pub off: bool,
    /// The counts not sent yet, oldest day first.
    #[serde(default)]
    pub rows: Vec<StatRow>,
}

impl ConsentStats {
    /// The file's content; none yet: empty. An unreadable file is an
    /// error (the caller starts afresh and says so).
    pub fn load(dir: &Path) -> Result<ConsentStats, StoreError> {
        match std::fs::read(dir.join(STATS_FILE_NAME)) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt(format!("{STATS_FILE_NAME}: {e}"))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ConsentStats::default()),
            Err(e) => Err(e.into()),
        }
    }

    /// Writes the file whole and syncs it (a temporary file renamed over it).
    pub fn save(&self, dir: &Path) -> Result<(), StoreError> {
        let json = serde_json::to_vec(self).map_err(|e| StoreError::Unavailable(e.to_string()))?;
        replace_file(dir, STATS_FILE_NAME, &json)
    }

    /// Counts one event of the prompt `context` on the day of `at_ms`
    /// (nothing once switched off).
    pub fn count(&mut self, at_ms: EpochMillis, context: &ConsentContext, event: StatEvent) {
        if self.off {
            return;
        }
        let day = day_of(at_ms);
        let i = match self.rows.iter().position(|r| r.day == day && r.prompt_id == context.prompt_id && r.prompt_version == context.prompt_version) {
            Some(i) => i,
            None => {
                self.rows.push(StatRow {
                    day: day.clone(),
                    prompt_id: context.prompt_id.clone(),
                    prompt_version: context.prompt_version.clone(),
                    shown: 0,
                    accepted_all: 0,
                    refused_all: 0,
                    customised: 0,
                });
                self.rows.sort_by(|a, b| a.day.cmp(&b.day));
                while self.rows.len() > MAX_STAT_ROWS {
                    self.rows.remove(0);
                }
                match self.rows.iter().position(|r| r.day == day && r.prompt_id == context.prompt_id && r.prompt_version == context.prompt_version) {
                    Some(i) => i,
                    // The new row was the oldest day past the bound: dropped.
                    None => return,
                }
            }
        };
        let r = &mut self.rows[i];
        let n = match event {
            StatEvent::Shown => &mut r.shown,
            StatEvent::Answered(Answer::AcceptedAll) => &mut r.accepted_all,
            StatEvent::Answered(Answer::RefusedAll) => &mut r.refused_all,
            StatEvent::Answered(Answer::Customised) => &mut r.customised,
        };
        *n = n.saturating_add(1);
    }

    /// Switches the statistics off for good on this device and deletes the
    /// counts not sent.
    pub fn switch_off(&mut self) {
        self.off = true;
        self.rows.clear();
    }

    /// The counts to send (rows with anything counted).
    pub fn pending(&self) -> Vec<StatRow> {
        self.rows.iter().filter(|r| !r.is_empty()).cloned().collect()
    }

    /// Takes what the collector acknowledged off the counts.
    pub fn subtract(&mut self, sent: &[StatRow]) {
        for s in sent {
            if let Some(r) = self.rows.iter_mut().find(|r| r.day == s.day && r.prompt_id == s.prompt_id && r.prompt_version == s.prompt_version) {
                r.shown = r.shown.saturating_sub(s.shown);
                r.accepted_all = r.accepted_all.saturating_sub(s.accepted_all);
                r.refused_all = r.refused_all.saturating_sub(s.refused_all);
                r.customised = r.customised.saturating_sub(s.customised);
            }
        }
        self.rows.retain(|r| !r.is_empty());
    }
}

/// The UTC day of an instant, `YYYY-MM-DD` (`1970-01-01` out of range).
pub fn day_of(ms: EpochMillis) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms).map_or_else(|| "1970-01-01".to_owned(), |d| d.format("%Y-%m-%d").to_string())
}

/// Deletes the file (`delete_local_data`).
pub fn delete(dir: &Path) -> Result<(), StoreError> {
    remove_if_present(&dir.join(STATS_FILE_NAME)).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: EpochMillis = 86_400_000;
    const T0: EpochMillis = 1_796_083_200_000; // 2026-12-01T00:00:00Z

    #[test]
    fn counts_per_day_and_prompt_version_then_subtracts_what_was_sent() {
        let v1 = ConsentContext::new("banner", "1");
        let v2 = ConsentContext::new("banner", "2").with_locale("fr-FR");
        let mut s = ConsentStats::default();
        s.count(T0 + 5, &v1, StatEvent::Shown);
        s.count(T0 + 6, &v1, StatEvent::Answered(Answer::AcceptedAll));
        s.count(T0 + DAY + 1, &v2, StatEvent::Shown);
        s.count(T0 + DAY + 2, &v2, StatEvent::Answered(Answer::Customised));
        s.count(T0 + 7, &v1, StatEvent::Shown);
        let sent = s.pending();
        assert_eq!(sent.len(), 2);
        assert_eq!((sent[0].day.as_str(), sent[0].shown, sent[0].accepted_all), ("2026-12-01", 2, 1));
        assert_eq!((sent[1].day.as_str(), sent[1].prompt_version.as_str(), sent[1].customised), ("2026-12-02", "2", 1));
        // Counted while the request was in flight: kept.
        s.count(T0 + 8, &v1, StatEvent::Answered(Answer::RefusedAll));
        s.subtract(&sent);
        assert_eq!(s.pending().len(), 1);
        assert_eq!((s.pending()[0].refused_all, s.pending()[0].shown), (1, 0));
    }

    #[test]
    fn switched_off_counts_nothing_and_forgets_the_rest() {
        let v1 = ConsentContext::new("banner", "1");
        let mut s = ConsentStats::default();
        s.count(T0, &v1, StatEvent::Shown);
        s.switch_off();
        s.count(T0, &v1, StatEvent::Shown);
        assert!(s.pending().is_empty());
        let dir = tempfile::tempdir().unwrap();
        s.save(dir.path()).unwrap();
        assert_eq!(ConsentStats::load(dir.path()).unwrap(), s);
        delete(dir.path()).unwrap();
        assert_eq!(ConsentStats::load(dir.path()).unwrap(), ConsentStats::default());
    }

    #[test]
    fn the_rows_are_bounded_oldest_day_first() {
        let mut s = ConsentStats::default();
        for d in 0..(MAX_STAT_ROWS as i64 + 10) {
            s.count(T0 + d * DAY, &ConsentContext::new("b", "1"), StatEvent::Shown);
        }
        assert_eq!(s.rows.len(), MAX_STAT_ROWS);
        assert_eq!(s.rows[0].day, day_of(T0 + 10 * DAY));
        // A day older than every row kept, past the bound: not kept.
        s.count(T0, &ConsentContext::new("b", "1"), StatEvent::Shown);
        assert_eq!(s.rows[0].day, day_of(T0 + 10 * DAY));
    }
}
