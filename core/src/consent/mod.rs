//! Consent proof and consent statistics (issue 19), beside the measurement:
//! what the app says about its consent prompt ([`ConsentContext`]), the
//! controller's settings ([`ConsentSettings`]), the anonymous counters of
//! the prompt's answers ([`stats`]), and what leaves for the consent
//! endpoint ([`outbox`]). The receipts themselves are a hash-chained file
//! beside the database ([`receipts`]).
//!
//! Nothing here ever carries the visitor id or a measurement property: a
//! receipt carries its own consent-proof id; the statistics carry no id of
//! any kind and leave in requests of their own, never beside a receipt.

pub(crate) mod outbox;
pub(crate) mod receipts;
pub(crate) mod stats;

use serde::{Deserialize, Serialize};

use crate::error::{ConfigError, ConfigErrorKind as K};
use crate::mode::VisitorMode;
use crate::purpose::PurposeMode;
use crate::scrub::{self, TextKind};

/// Longest prompt id or version, in characters.
pub const MAX_PROMPT_FIELD_CHARS: usize = 64;

/// The consent prompt a visitor answered, as the app names it: the prompt's
/// id and version (the controller's records of the consent tool's
/// successive configurations, CNIL recommendation 2020-092 art. 4) and the
/// locale it was shown in. Carried by the receipt of the answer, and by the
/// consent statistics (id and version only).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentContext {
    /// The prompt's identifier (`main_banner`, `settings_screen`).
    pub prompt_id: String,
    /// The prompt's version (`2026-11`, `4.2`).
    pub prompt_version: String,
    /// The locale the prompt was shown in (`fr-FR`), if the app says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
}

impl ConsentContext {
    /// A prompt's id and version, without a locale.
    pub fn new(prompt_id: impl Into<String>, prompt_version: impl Into<String>) -> ConsentContext {
        ConsentContext { prompt_id: prompt_id.into(), prompt_version: prompt_version.into(), locale: None }
    }

    /// The same, shown in `locale`.
    pub fn with_locale(mut self, locale: impl Into<String>) -> ConsentContext {
        self.locale = Some(locale.into());
        self
    }

    /// Names of a prompt, never data about a person: 1 to 64 characters of
    /// letters, digits and `. _ : / -` (no e-mail address, no white space),
    /// and nothing the value scrubber reads as identifying (a phone number,
    /// a UUID, a long number); a locale is a BCP 47 tag (`fr`, `fr-FR`,
    /// `zh-Hant-TW`).
    pub fn validate(&self, field: &str) -> Result<(), ConfigError> {
        for (name, value) in [("prompt_id", &self.prompt_id), ("prompt_version", &self.prompt_version)] {
            let f = format!("{field}.{name}");
            let chars_ok = value.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'/' | b'-'));
            if value.is_empty() || value.chars().count() > MAX_PROMPT_FIELD_CHARS || !chars_ok {
                return Err(ConfigError::new(&f, K::Invalid, format!("{value:?}: 1 to {MAX_PROMPT_FIELD_CHARS} letters, digits or . _ : / -")));
            }
            if let Some(finding) = scrub::find(value, TextKind::Free) {
                return Err(ConfigError::new(&f, K::Invalid, format!("looks like {}: a prompt's name, never data about a person", finding.code())));
            }
        }
        if let Some(locale) = &self.locale {
            let ok = !locale.is_empty()
                && locale.len() <= 35
                && locale.split('-').enumerate().all(|(i, part)| {
                    let len_ok = if i == 0 { (2..=3).contains(&part.len()) } else { (1..=8).contains(&part.len()) };
                    len_ok && part.bytes().all(|b| b.is_ascii_alphanumeric()) && (i > 0 || part.bytes().all(|b| b.is_ascii_alphabetic()))
                });
            if !ok {
                return Err(ConfigError::new(format!("{field}.locale"), K::Invalid, format!("{locale:?} is not a BCP 47 language tag")));
            }
        }
        Ok(())
    }
}

/// The controller's consent settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsentSettings {
    /// Where consent receipts and consent statistics are sent (`https://`;
    /// `http://` only to a loopback host). `None`: they stay on the device
    /// (`export_local_data`, `consent_proof`).
    pub endpoint: Option<String>,
    /// Count the consent prompt's answers, anonymously (shown, accepted
    /// all, refused all, customised, per prompt version and day). The
    /// visitor can still switch them off (`set_consent_statistics(false)`).
    pub statistics: bool,
    /// A "refuse all" answer also switches the consent statistics off, for
    /// good, on this device (a controller linking them to the refusal).
    pub refuse_all_stops_statistics: bool,
}

impl Default for ConsentSettings {
    fn default() -> Self {
        ConsentSettings { endpoint: None, statistics: true, refuse_all_stops_statistics: false }
    }
}

/// How a prompt was answered, as the consent statistics count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Every purpose opted in.
    AcceptedAll,
    /// No purpose opted in.
    RefusedAll,
    /// Some purposes opted in, others not.
    Customised,
}

impl Answer {
    /// The answer a resulting mode and every purpose's answer make.
    pub fn of(mode: &VisitorMode, purposes: impl IntoIterator<Item = PurposeMode>) -> Answer {
        let (mut yes, mut no) = (0usize, 0usize);
        for p in purposes {
            if p == PurposeMode::OptIn {
                yes += 1;
            } else {
                no += 1;
            }
        }
        match (yes, no) {
            (0, 0) if *mode == VisitorMode::OptIn => Answer::AcceptedAll,
            (0, _) => Answer::RefusedAll,
            (_, 0) => Answer::AcceptedAll,
            _ => Answer::Customised,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prompt_is_named_never_a_person() {
        assert!(ConsentContext::new("main_banner", "2026-11").with_locale("fr-FR").validate("c").is_ok());
        assert!(ConsentContext::new("settings/privacy", "4.2.1").with_locale("zh-Hant-TW").validate("c").is_ok());
        for (id, version, field) in [
            ("", "1", "c.prompt_id"),
            ("jane@example.com", "1", "c.prompt_id"),
            ("banner", "has space", "c.prompt_version"),
            ("0612345678", "1", "c.prompt_id"),
            ("banner", "0612345678", "c.prompt_version"),
            ("6f1c2a4e-8b1d-4c2e-9f3a-0d5e7b9c1a2f", "1", "c.prompt_id"),
            (&"a".repeat(65), "1", "c.prompt_id"),
        ] {
            let e = ConsentContext::new(id, version).validate("c").unwrap_err();
            assert_eq!(e.field, field, "{id:?} {version:?}");
        }
        for locale in ["", "f", "fr_FR", "12-FR", "fr-", "fr-toolongsubtag"] {
            let e = ConsentContext::new("b", "1").with_locale(locale).validate("c").unwrap_err();
            assert_eq!(e.field, "c.locale", "{locale:?}");
        }
    }

    #[test]
    fn answers_are_classified_by_every_purpose() {
        use PurposeMode::*;
        assert_eq!(Answer::of(&VisitorMode::OptIn, []), Answer::AcceptedAll);
        assert_eq!(Answer::of(&VisitorMode::Exempt, []), Answer::RefusedAll);
        assert_eq!(Answer::of(&VisitorMode::OptIn, [OptIn, OptIn]), Answer::AcceptedAll);
        assert_eq!(Answer::of(&VisitorMode::Exempt, [Essential, OptOut]), Answer::RefusedAll);
        assert_eq!(Answer::of(&VisitorMode::OptIn, [OptIn, OptOut]), Answer::Customised);
    }
}
