//! Consent by purpose, the filter's side: which purposes each property
//! serves (`PurposeBook`, from the configuration) and what a consented hit
//! may carry under the visitor's answers (`PurposeFilter`). The answers
//! themselves and their resolution into modes are `purpose/mod.rs`.

use std::sync::Arc;

use serde::Serialize;

use crate::config::Config;
use crate::pattern::{globs_intersect, NameSet};
use crate::purpose::{PurposeMode, PurposeState, AUDIENCE_MEASUREMENT};

/// Which purposes each property serves (consent by purpose, [`crate::purpose`]).
#[derive(Debug)]
pub struct PurposeBook {
    /// Audience measurement first, then the configured purposes in order.
    names: Vec<String>,
    /// The properties of each purpose, by the same index.
    properties: Vec<NameSet>,
    /// The configured patterns of each purpose, for the compliance report.
    patterns: Vec<Vec<String>>,
    /// The exempt allowlist's properties (audience measurement's too).
    allowlist: Vec<String>,
    /// The strictly necessary set (audience measurement's).
    necessary: Vec<String>,
}

/// Two purposes' patterns that one property name can match both of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Overlap {
    /// A purpose.
    pub purpose: String,
    /// Its pattern (or property).
    pub pattern: String,
    /// The other purpose.
    pub other_purpose: String,
    /// The other's pattern.
    pub other_pattern: String,
}

impl PurposeBook {
    /// `strictly_necessary`: the exempt set's properties, which serve
    /// audience measurement with the exempt allowlist.
    pub(crate) fn new(config: &Config, strictly_necessary: &[&str]) -> PurposeBook {
        let mut names = vec![AUDIENCE_MEASUREMENT.to_owned()];
        let mut audience = NameSet::default();
        let mut patterns = vec![Vec::new()];
        // The strictly necessary set and the controller's justified additions
        // serve audience measurement.
        for p in strictly_necessary {
            audience.add(p);
        }
        for a in &config.exempt_allowlist {
            audience.add(&a.property);
        }
        let mut properties = vec![audience];
        for p in &config.purposes {
            let (i, set) = match names.iter().position(|n| *n == p.name) {
                Some(i) => (i, &mut properties[i]),
                None => {
                    names.push(p.name.clone());
                    properties.push(NameSet::default());
                    patterns.push(Vec::new());
                    (names.len() - 1, properties.last_mut().expect("just pushed"))
                }
            };
            for pattern in &p.properties {
                set.add(pattern);
                patterns[i].push(pattern.clone());
            }
        }
        let allowlist = config.exempt_allowlist.iter().map(|a| a.property.clone()).collect();
        let necessary = strictly_necessary.iter().map(|p| (*p).to_owned()).collect();
        PurposeBook { names, properties, patterns, allowlist, necessary }
    }

    /// Audience measurement first, then the configured purposes.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The purposes a property serves: every purpose one of whose
    /// patterns names it (audience measurement for the strictly necessary
    /// set and the exempt allowlist).
    pub fn purposes_of<'a>(&'a self, property: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.indices_of(property).map(|i| self.names[i].as_str())
    }

    fn indices_of<'a>(&'a self, property: &'a str) -> impl Iterator<Item = usize> + 'a {
        self.properties.iter().enumerate().filter(move |(_, set)| set.contains(property)).map(|(i, _)| i)
    }

    /// Patterns of two purposes that some property name matches both of
    /// (`reco_*` and `*_segment` share `reco_segment`): such a property
    /// leaves only with the consent to both. For the compliance report.
    pub fn overlaps(&self) -> Vec<Overlap> {
        let listed = |i: usize| -> Vec<String> {
            if i == 0 {
                let mut v: Vec<String> = self.necessary.clone();
                v.extend(self.patterns[0].iter().cloned());
                v.extend(self.allowlist.iter().cloned());
                v
            } else {
                self.patterns[i].clone()
            }
        };
        let mut out = Vec::new();
        for a in 0..self.names.len() {
            for b in a + 1..self.names.len() {
                for pa in listed(a) {
                    for pb in listed(b) {
                        if globs_intersect(pa.as_bytes(), pb.as_bytes()) {
                            out.push(Overlap {
                                purpose: self.names[a].clone(),
                                pattern: pa.clone(),
                                other_purpose: self.names[b].clone(),
                                other_pattern: pb,
                            });
                        }
                    }
                }
            }
        }
        out
    }

    /// The configured property patterns of each purpose.
    pub fn patterns(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.names.iter().map(String::as_str).zip(self.patterns.iter().map(Vec::as_slice))
    }
}

/// The purposes in force on a hit tracked with consent, when not every
/// purpose is consented to: which properties may leave, and what each hit
/// says of them. Modes without consent have none: their rules already keep
/// audience measurement's properties only, and their hits carry nothing of
/// the visitor's answers.
#[derive(Debug)]
pub struct PurposeFilter {
    book: Arc<PurposeBook>,
    /// By purpose index: consented to. Audience measurement is, the mode
    /// itself being the consent.
    allowed: Vec<bool>,
    /// `visitor_privacy_purposes`, serialised once.
    pub wire: Arc<str>,
}

impl PurposeFilter {
    /// `None` when every purpose is consented to (nothing to hold back, nothing to add).
    pub fn new(book: Arc<PurposeBook>, state: &PurposeState) -> Option<PurposeFilter> {
        let wire = purposes_wire(state)?;
        let allowed = book.names.iter().enumerate().map(|(i, p)| i == 0 || state.mode_of(p) == Some(PurposeMode::OptIn)).collect();
        Some(PurposeFilter { book, allowed, wire })
    }

    /// Whether an app property may leave under these purposes (after the
    /// mode's rules let it): each purpose that names it must be consented
    /// to, and a property no purpose names needs every purpose. `Err`: the
    /// first purpose that is not.
    pub(crate) fn verdict(&self, property: &str) -> Result<(), &str> {
        let mut named = false;
        for i in self.book.indices_of(property) {
            named = true;
            if !self.allowed.get(i).copied().unwrap_or(false) {
                return Err(&self.book.names[i]);
            }
        }
        if !named {
            if let Some(i) = self.allowed.iter().position(|a| !a) {
                return Err(&self.book.names[i]);
            }
        }
        Ok(())
    }
}

/// `visitor_privacy_purposes` of a purpose state, serialised; `None` when
/// the state is a visitor mode's.
pub(crate) fn purposes_wire(state: &PurposeState) -> Option<Arc<str>> {
    let items = state.wire()?;
    Some(Arc::from(serde_json::to_string(&items).unwrap_or_else(|_| "[]".to_owned())))
}
