//! The app-scoped visitor id.
//!
//! A random UUID v4 drawn from the injected [`Random`] (the OS CSPRNG in
//! production), never derived from a device, OS or advertising identifier
//! (CNIL 2020-091 §13 counts those as trackers). It lives exactly
//! [`VISITOR_ID_LIFETIME_MONTHS`] calendar months from its creation and is
//! never extended by use (CNIL 2020-092, art. 5: 13 months, "sans prorogation
//! automatique lors des nouvelles visites"; seed 000: "13 calendar months").

use crate::clock::{add_calendar_months, EpochMillis, Random};

/// Fixed lifetime of the visitor id.
pub const VISITOR_ID_LIFETIME_MONTHS: u32 = 13;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitorId {
    pub id: String,
    pub created_at_ms: EpochMillis,
    /// `created_at_ms` + 13 calendar months. From this instant on the id is expired.
    pub expires_at_ms: EpochMillis,
}

impl VisitorId {
    pub fn generate(random: &dyn Random, now: EpochMillis) -> VisitorId {
        VisitorId {
            id: random.uuid_v4().hyphenated().to_string(),
            created_at_ms: now,
            expires_at_ms: add_calendar_months(now, VISITOR_ID_LIFETIME_MONTHS).unwrap_or(now),
        }
    }

    /// Valid strictly before its expiry instant.
    pub fn is_valid_at(&self, now: EpochMillis) -> bool {
        now < self.expires_at_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SeededRandom;

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
}
