//! Which collector's wire the SDK speaks: a value of the configuration.
//! Everything above the wire (modes, rules, scrubbing, the egress gate, the
//! queue, purges, reports) is the same whichever is chosen; the dialect
//! (`upload/wire/`) only encodes a filtered, gated hit.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::error::{ConfigError, ConfigErrorKind as K};
use crate::hit::property_name_problem;

/// The most custom dimensions a configuration maps.
pub const MAX_DIMENSIONS: usize = 64;
/// The highest custom dimension id accepted.
pub const MAX_DIMENSION_ID: u32 = 999;

/// The collector and its wire.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(tag = "dialect", rename_all = "snake_case", deny_unknown_fields)]
pub enum Collector {
    /// Piano Analytics: `POST {collect_endpoint}/event?s={site_id}&idclient=..`
    /// with `{"events":[..]}`.
    #[default]
    Piano,
    /// The Matomo Tracking API, in bulk: `POST {collect_endpoint}/matomo.php`,
    /// `idsite` = `site_id`.
    Matomo {
        /// The host of the screens' URLs (`https://{app_host}/{chapters}/{screen}`):
        /// the app's id, such as `com.example.news`.
        app_host: String,
        /// Properties sent as custom dimensions: property name to dimension
        /// id. A property the wire has no place for and no dimension maps is
        /// held back and reported.
        #[serde(default)]
        dimensions: BTreeMap<String, u32>,
    },
    /// Piwik PRO: `POST {collect_endpoint}/ppms.php`, `idsite` = `app_id`
    /// (`site_id` is not sent). Hits without consent carry `uia=1` and no
    /// custom dimension but the consent one, as Piwik PRO's CNIL guide asks.
    PiwikPro {
        /// The app's id in Piwik PRO (a UUID).
        app_id: String,
        /// As for Matomo.
        app_host: String,
        /// As for Matomo; map `visitor_privacy_mode` (or
        /// `visitor_privacy_consent`) to the session and event dimension
        /// the guide asks for to tell exempt data from consented data.
        #[serde(default)]
        dimensions: BTreeMap<String, u32>,
    },
}

impl Collector {
    /// The dialect's stable name (`piano`, `matomo`, `piwik_pro`).
    pub fn name(&self) -> &'static str {
        match self {
            Collector::Piano => "piano",
            Collector::Matomo { .. } => "matomo",
            Collector::PiwikPro { .. } => "piwik_pro",
        }
    }

    /// The custom dimensions mapped (empty for Piano).
    pub fn dimensions(&self) -> Option<&BTreeMap<String, u32>> {
        match self {
            Collector::Piano => None,
            Collector::Matomo { dimensions, .. } | Collector::PiwikPro { dimensions, .. } => Some(dimensions),
        }
    }

    /// Whether the collector names the site by `site_id`.
    pub fn uses_site_id(&self) -> bool {
        !matches!(self, Collector::PiwikPro { .. })
    }

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        let (host, dimensions) = match self {
            Collector::Piano => return Ok(()),
            Collector::Matomo { app_host, dimensions } => (app_host, dimensions),
            Collector::PiwikPro { app_id, app_host, dimensions } => {
                if !is_uuid(app_id) {
                    return Err(ConfigError::new("collector.app_id", K::Invalid, format!("{app_id:?} is not a UUID (8-4-4-4-12 hex digits)")));
                }
                (app_host, dimensions)
            }
        };
        let host_ok = !host.is_empty()
            && host.len() <= 253
            && host.split('.').all(|l| !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        if !host_ok {
            return Err(ConfigError::new(
                "collector.app_host",
                K::Invalid,
                format!("{host:?} is not a host name (the app's id, such as com.example.news)"),
            ));
        }
        if dimensions.len() > MAX_DIMENSIONS {
            return Err(ConfigError::new("collector.dimensions", K::TooMany, format!("{} dimensions; at most {MAX_DIMENSIONS}", dimensions.len())));
        }
        let mut ids: Vec<u32> = Vec::with_capacity(dimensions.len());
        for (name, id) in dimensions {
            let field = format!("collector.dimensions[{name:?}]");
            if let Some(problem) = property_name_problem(name) {
                return Err(ConfigError::new(field, K::Invalid, problem));
            }
            if !(1..=MAX_DIMENSION_ID).contains(id) {
                return Err(ConfigError::new(field, K::OutOfRange, format!("{id} is outside 1..={MAX_DIMENSION_ID}")));
            }
            if ids.contains(id) {
                return Err(ConfigError::new(field, K::Invalid, format!("dimension {id} is mapped twice")));
            }
            ids.push(*id);
        }
        Ok(())
    }
}

/// 8-4-4-4-12 hex digits.
fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5 && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matomo(host: &str, dims: &[(&str, u32)]) -> Collector {
        Collector::Matomo { app_host: host.into(), dimensions: dims.iter().map(|(k, v)| (k.to_string(), *v)).collect() }
    }

    #[test]
    fn validation_names_the_field() {
        assert_eq!(Collector::Piano.validate(), Ok(()));
        assert_eq!(matomo("com.example.news", &[("app_version", 1), ("visitor_privacy_mode", 2)]).validate(), Ok(()));
        let field = |c: Collector| c.validate().unwrap_err().field;
        assert_eq!(field(matomo("", &[])), "collector.app_host");
        assert_eq!(field(matomo("a b", &[])), "collector.app_host");
        assert_eq!(field(matomo("a..b", &[])), "collector.app_host");
        assert_eq!(field(matomo("a", &[("App", 1)])), "collector.dimensions[\"App\"]");
        assert_eq!(field(matomo("a", &[("x", 0)])), "collector.dimensions[\"x\"]");
        assert_eq!(field(matomo("a", &[("x", 1000)])), "collector.dimensions[\"x\"]");
        assert_eq!(field(matomo("a", &[("x", 3), ("y", 3)])), "collector.dimensions[\"y\"]");
        let piwik = |id: &str| Collector::PiwikPro { app_id: id.into(), app_host: "a".into(), dimensions: BTreeMap::new() };
        assert_eq!(piwik("0b7f6e5a-1c2d-4e3f-9a8b-7c6d5e4f3a2b").validate(), Ok(()));
        assert_eq!(field(piwik("12")), "collector.app_id");
        assert_eq!(field(piwik("0b7f6e5a-1c2d-4e3f-9a8b-7c6d5e4f3a2g")), "collector.app_id");
    }

    #[test]
    fn reads_from_json() {
        let c: Collector = serde_json::from_str(r#"{"dialect":"matomo","app_host":"com.example","dimensions":{"app_version":1}}"#).unwrap();
        assert_eq!(c, matomo("com.example", &[("app_version", 1)]));
        let c: Collector = serde_json::from_str(r#"{"dialect":"piano"}"#).unwrap();
        assert_eq!(c, Collector::Piano);
        assert!(serde_json::from_str::<Collector>(r#"{"dialect":"matomo","app_host":"a","extra":1}"#).is_err());
    }
}
