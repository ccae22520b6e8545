//! The app-scoped visitor id.
//!
//! A random UUID v4 drawn from the injected [`Random`] (the OS CSPRNG in
//! production), never derived from a device, OS or advertising identifier
//! (CNIL 2020-091 §13 counts those as trackers). It lives exactly
//! [`VISITOR_ID_LIFETIME_MONTHS`] calendar months from its creation and is
//! never extended by use (CNIL 2020-092, art. 5: 13 months, "sans prorogation
//! automatique lors des nouvelles visites"; seed 000: "13 calendar months").

use crate::clock::{add_calendar_months, dated_in_the_past, EpochMillis, Random};

/// Fixed lifetime of the visitor id.
pub const VISITOR_ID_LIFETIME_MONTHS: u32 = 13;

/// The app-scoped visitor id: a random UUID v4 with a fixed life of 13
/// calendar months from its creation, never extended by use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitorId {
    /// The UUID, hyphenated.
    pub id: String,
    /// When it was created.
    pub created_at_ms: EpochMillis,
    /// `created_at_ms` + 13 calendar months. From this instant on the id is expired.
    pub expires_at_ms: EpochMillis,
}

impl VisitorId {
    /// A new id created at `now`. When its expiry cannot be represented (a
    /// clock at the edge of the calendar) it expires at once: it serves the
    /// hit it was created for and is never reused.
    pub fn generate(random: &dyn Random, now: EpochMillis) -> VisitorId {
        VisitorId {
            id: crate::clock::uuid_v4(random.uuid_v4()).hyphenated().to_string(),
            created_at_ms: now,
            expires_at_ms: add_calendar_months(now, VISITOR_ID_LIFETIME_MONTHS).unwrap_or(now),
        }
    }

    /// Valid strictly before its expiry instant, and only if it was not
    /// created in the future: an id dated more than a day after `now` was
    /// made while the clock ran ahead, and correcting the clock must not
    /// stretch its life (one day of tolerance).
    pub fn is_valid_at(&self, now: EpochMillis) -> bool {
        dated_in_the_past(self.created_at_ms, now) && now < self.expires_at_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FUTURE_TOLERANCE_MS;
    use crate::testing::SeededRandom;

    #[test]
    fn thirteen_calendar_months_to_the_millisecond() {
        let created = chrono::DateTime::parse_from_rfc3339("2026-01-31T08:30:00Z").unwrap().timestamp_millis();
        let id = VisitorId::generate(&SeededRandom::new(1), created);
        let expiry = chrono::DateTime::parse_from_rfc3339("2027-02-28T08:30:00Z").unwrap().timestamp_millis();
        assert_eq!(id.expires_at_ms, expiry);
        assert!(id.is_valid_at(expiry - 1));
        assert!(!id.is_valid_at(expiry));
        assert_eq!(uuid::Uuid::parse_str(&id.id).unwrap().get_version_num(), 4);
    }

    #[test]
    fn an_id_dated_after_now_is_not_valid() {
        let id = VisitorId::generate(&SeededRandom::new(1), 10 * FUTURE_TOLERANCE_MS);
        assert!(id.is_valid_at(9 * FUTURE_TOLERANCE_MS), "within the tolerance");
        assert!(!id.is_valid_at(9 * FUTURE_TOLERANCE_MS - 1), "beyond it");
    }

    #[test]
    fn an_id_at_the_edge_of_the_calendar_expires_at_once() {
        for now in [i64::MIN, i64::MAX, 8_262_000_000_000_000] {
            let id = VisitorId::generate(&SeededRandom::new(1), now);
            assert!(!id.is_valid_at(now), "{now}");
        }
    }
}
