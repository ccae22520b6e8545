//! Piwik PRO: Matomo's protocol (`matomo.rs`) at `POST {endpoint}/ppms.php`,
//! `idsite` = the app's UUID, the tracker named (`ts_n`, `ts_v`), and, as
//! its CNIL guide asks (seed 004), hits without consent marked anonymous
//! (`uia=1`: every IP byte masked, no geography below the country) with no
//! custom dimension but the one that tells exempt data from consented data.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::matomo::{Flavour, Matomo};
use crate::version::SDK_VERSION;

pub(crate) fn piwik_pro(app_id: &str, app_host: &str, dimensions: &BTreeMap<String, u32>) -> Matomo {
    Matomo {
        idsite: app_id.to_ascii_lowercase(),
        app_host: app_host.to_owned(),
        dimensions: dimensions.clone(),
        flavour: Flavour { path: "/ppms.php", tracker: Some(SDK_VERSION), anonymous_without_consent: true },
        last_screen: Mutex::new(None),
    }
}
