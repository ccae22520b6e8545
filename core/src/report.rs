//! For the data controller: the compliance report generated from the live
//! configuration, and the guarantees it lists.

use serde::Serialize;

use crate::clock::{format_rfc3339, EpochMillis};
use crate::collector::Collector;
use crate::config::Config;
use crate::hit::reserved;
use crate::mode::{PurposeMode, VisitorMode};
use crate::purpose::Overlap;
use crate::purpose::AUDIENCE_MEASUREMENT;
use crate::rules::{PropertyEntry, RuleBook};
use crate::sha256;
use crate::version::SDK_VERSION;
use crate::visitor_id::VISITOR_ID_LIFETIME_MONTHS;

/// What one mode lets leave the device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModeReport {
    /// The mode's wire name.
    pub mode: String,
    /// `visitor_privacy_consent` on its hits.
    pub consent: bool,
    /// Whether it carries everything and so needs the visitor's consent
    /// (opt-in, no-storage): never a default.
    pub requires_consent: bool,
    /// Whether it sends hits at all.
    pub sends_hits: bool,
    /// The `idclient` its hits carry.
    pub visitor_id: String,
    /// What the SDK keeps on the device in this mode.
    pub stored_on_device: Vec<String>,
    /// Event-name patterns allowed.
    pub events: Vec<String>,
    /// Properties allowed, each with its justification.
    pub properties: Vec<PropertyEntry>,
    /// Added by the SDK to every hit after filtering.
    pub added_by_sdk: Vec<String>,
    /// Property patterns never sent, whatever the app tags.
    pub forbidden: Vec<String>,
}

/// The compliance report of a live configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ComplianceReport {
    /// When the report was made (RFC 3339).
    pub generated_at: String,
    /// The SDK version.
    pub sdk_version: String,
    /// The collection endpoint.
    pub endpoint: String,
    /// The site id.
    pub site_id: u32,
    /// The mode before any choice.
    pub default_mode: String,
    /// The visitor id's fixed lifetime (13).
    pub visitor_id_lifetime_months: u32,
    /// Whether a visit extends it (never).
    pub visitor_id_extended_by_use: bool,
    /// Where the id comes from (a random UUID, app-scoped).
    pub visitor_id_source: String,
    /// How long an opt-in lasts.
    pub consent_lifetime_months: u32,
    /// The queue's bound by count.
    pub queue_max_hits: u32,
    /// The queue's bound by age.
    pub queue_max_age_days: u32,
    /// Event-name patterns never sent, in any mode.
    pub forbidden_events: Vec<String>,
    /// What each mode lets leave the device.
    pub modes: Vec<ModeReport>,
    /// The purposes of consent, their properties, and what each of their
    /// modes lets leave.
    pub purposes: Vec<PurposeReport>,
    /// Patterns of two purposes that one property can match both of: such
    /// a property leaves only with the consent to each.
    pub purpose_overlaps: Vec<Overlap>,
    /// What the SDK guarantees, and against whom (PRIVACY.md).
    pub guarantees: Vec<Guarantee>,
    /// Duties the collector and the controller must fulfil (seeds 000, 001, 004).
    pub server_side_duties: Vec<String>,
    /// The collector's wire, and the settings it needs on its side.
    pub collector: CollectorReport,
    /// Where consent receipts and consent statistics go, and whether the
    /// statistics count.
    pub consent: ConsentReport,
    /// The policy's hash: SHA-256 of this report without its date, as
    /// `sha256=<64 hex>`. Every request carries it (`Mesure-Policy`), so a
    /// received hit names the exact rules that let it out; the same
    /// configuration and SDK version give the same hash on every platform.
    pub policy_hash: String,
}

/// The header every request carries, naming the policy that filtered it.
pub const POLICY_HEADER: &str = "Mesure-Policy";

/// Consent proof and consent statistics in the compliance report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConsentReport {
    /// The consent endpoint; `None`: receipts and statistics stay on the
    /// device.
    pub endpoint: Option<String>,
    /// Where the receipts are, as a sentence.
    pub receipts: String,
    /// Whether, and how, the consent statistics count, as a sentence.
    pub statistics: String,
    /// A "refuse all" switches the statistics off on the device.
    pub refuse_all_stops_statistics: bool,
}

impl ConsentReport {
    fn new(config: &Config) -> ConsentReport {
        let endpoint = config.consent_endpoint();
        let receipts = match &endpoint {
            Some(url) => format!("every answer of the visitor is a hash-chained receipt on the device, also sent to {url} (no visitor id, no measurement property)"),
            None => "every answer of the visitor is a hash-chained receipt kept on the device only (no consent endpoint): `export_local_data` and `consent_proof` give them".to_owned(),
        };
        let c = &config.consent;
        let statistics = match (c.statistics, &endpoint) {
            (false, _) => "off: nothing is counted".to_owned(),
            (true, where_) => format!(
                "on: prompts shown, accepted all, refused all and customised, per prompt version and day, with no id of any kind, {}; \
                 the visitor can switch them off (`set_consent_statistics(false)`){}",
                if where_.is_some() { "sent in requests of their own" } else { "kept on the device (no consent endpoint)" },
                if c.refuse_all_stops_statistics { ", and a \"refuse all\" switches them off" } else { "" },
            ),
        };
        ConsentReport { endpoint, receipts, statistics, refuse_all_stops_statistics: c.refuse_all_stops_statistics }
    }
}

/// The collector's wire in the compliance report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CollectorReport {
    /// `piano`, `matomo`, `piwik_pro`.
    pub dialect: String,
    /// How the site is named on the wire.
    pub site: String,
    /// Properties sent as custom dimensions, `property -> dimension id`.
    pub dimensions: Vec<(String, u32)>,
    /// What else a hit may hold that this wire does not carry (held back
    /// and reported when it is an app's property).
    pub not_on_wire: Vec<String>,
    /// The settings the integrator must make on the collector for the
    /// exemption to hold, each with its source.
    pub settings: Vec<String>,
}

/// Matomo's settings for exempt audience measurement.
pub const MATOMO_SETTINGS: [&str; 7] = [
    "Anonymise visitors' IP addresses by at least 2 bytes, and use the anonymised IP for geolocation (Administration > Privacy > Anonymize data; seed 000 and seed 001 §4.3: IP truncation).",
    "Set `trust_visitors_cookies = 1` under `[Tracker]` in config.ini.php, so that a visit is the app-scoped `_id` the SDK sends (13 months, never extended), not a server-side fingerprint.",
    "Keep the Live plugin (Visits Log, Visitor Profile) disabled, or at least not readable for exempt data: no visitor-level analysis of exempt data (seed 001 §4.2, §4.7).",
    "Do not use the User ID feature, heatmaps or session recording on exempt data (the SDK sends `uid` only with consent).",
    "Delete old raw data after at most 25 months (Administration > Privacy > Anonymize data > Regularly delete old raw data; CNIL 2020-092, art. 5).",
    "Where the Matomo version offers its CNIL configuration (the exemption guide's settings), apply it, and geolocate no finer than the city (seed 000).",
    "Map the custom dimensions the configuration names (visitor_privacy_mode at least, scope visit and action) to tell exempt data from consented data at export.",
];

/// Piwik PRO's settings, from its guide to the CNIL exemption (seed 004).
pub const PIWIK_PRO_SETTINGS: [&str; 8] = [
    "Sign Piwik PRO's Data Processing Agreement (seed 004: DPA).",
    "Administration > Platform > Privacy: mask IP addresses (at least 1 byte) and use the masked IP address for the data (seed 004).",
    "Site settings > Privacy: ask visitors for consent, and when they do not consent, collect data without cookies (seed 004).",
    "Site settings > Tracking: exact URL matching (seed 004).",
    "Create a custom dimension at session and event level mapped to visitor_privacy_mode, and export only data collected with consent (seed 004: exports).",
    "Keep the session log hidden and remove API credentials that export data collected without consent (seed 004).",
    "No integration with other data sources (Analytics > Settings > Integrations), and no other custom dimension or identifier for visitors who did not consent: the SDK sends only the consent dimension and `uia=1` on their hits (seed 004).",
    "Host the data for at most 25 months (seed 004; CNIL 2020-092, art. 5).",
];

impl CollectorReport {
    fn new(config: &Config) -> CollectorReport {
        let dimensions: Vec<(String, u32)> =
            config.collector.dimensions().map(|d| d.iter().map(|(k, v)| (k.clone(), *v)).collect()).unwrap_or_default();
        let not_on_wire = |always: &[&str]| -> Vec<String> {
            always.iter().filter(|k| !dimensions.iter().any(|(p, _)| p == *k)).map(|k| (*k).to_owned()).collect()
        };
        let sdk_fields = [
            reserved::VISITOR_PRIVACY_MODE,
            reserved::VISITOR_PRIVACY_CONSENT,
            reserved::VISITOR_PRIVACY_PURPOSES,
            reserved::EVENT_COLLECTION_PLATFORM,
            reserved::EVENT_COLLECTION_VERSION,
            "device_brand",
            "device_type",
        ];
        let (site, not_on_wire, settings): (String, Vec<String>, Vec<String>) = match &config.collector {
            Collector::Piano => (format!("s={}", config.site_id), Vec::new(), Vec::new()),
            Collector::Matomo { .. } => {
                (format!("idsite={}", config.site_id), not_on_wire(&sdk_fields), MATOMO_SETTINGS.iter().map(|s| (*s).to_owned()).collect())
            }
            Collector::PiwikPro { app_id, .. } => (
                format!("idsite={}", app_id.to_ascii_lowercase()),
                not_on_wire(&sdk_fields),
                PIWIK_PRO_SETTINGS.iter().map(|s| (*s).to_owned()).collect(),
            ),
        };
        CollectorReport { dialect: config.collector.name().to_owned(), site, dimensions, not_on_wire, settings }
    }
}

/// A purpose of consent in the compliance report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PurposeReport {
    /// The purpose's name.
    pub purpose: String,
    /// The properties that serve it (names and patterns).
    pub properties: Vec<String>,
    /// Each mode (`opt-in`, `essential`, `opt-out`, `not-acquired`) and what
    /// it lets leave for this purpose.
    pub modes: Vec<(String, String)>,
}

impl PurposeReport {
    fn new(purpose: &str, patterns: &[String]) -> PurposeReport {
        let am = purpose == AUDIENCE_MEASUREMENT;
        let mut properties = Vec::new();
        if am {
            properties.push("the strictly necessary set and the exempt allowlist (see mode `exempt`)".to_owned());
        }
        properties.extend(patterns.iter().cloned());
        let nothing = "nothing of this purpose".to_owned();
        let modes = [
            (
                PurposeMode::OptIn,
                if am {
                    "every property of audience measurement, with consented hits (visitor mode `optin`)".to_owned()
                } else {
                    "its properties, with consented hits, when audience measurement is opt-in too".to_owned()
                },
            ),
            (
                PurposeMode::Essential,
                if am {
                    "the strictly necessary set only (visitor mode `exempt`)".to_owned()
                } else {
                    format!("{nothing}: no exemption applies beyond audience measurement")
                },
            ),
            (
                PurposeMode::OptOut,
                if am { "nothing identifying; anonymous counters at most (visitor mode `optout`)".to_owned() } else { nothing.clone() },
            ),
            (PurposeMode::NotAcquired, if am { "anonymous counters (visitor mode `no-consent`)".to_owned() } else { nothing }),
        ]
        .into_iter()
        .map(|(m, what)| (m.wire_name().to_owned(), what))
        .collect();
        PurposeReport { purpose: purpose.to_owned(), properties, modes }
    }
}

/// One privacy guarantee of the SDK: what holds, against whom, and the test
/// that proves it. PRIVACY.md lists the same table, word for word.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Guarantee {
    /// What holds.
    pub guarantee: &'static str,
    /// Who or what it holds against.
    pub adversary: &'static str,
    /// The tests (files under `core/tests/`, vectors under `tests/vectors/`).
    pub proof: &'static str,
}

const fn g(guarantee: &'static str, adversary: &'static str, proof: &'static str) -> Guarantee {
    Guarantee { guarantee, adversary, proof }
}

/// What the library itself guarantees, whatever the app, the integrator,
/// the device clock, a second process or site, the network or the storage
/// do. Two layers hold each rule about what leaves: the filter that builds a
/// hit when it is tracked, and the egress gate that re-checks it when it is
/// sent. The stateful model (`privacy_model.rs`) checks every step with both
/// layers, and with each alone.
pub const GUARANTEES: [Guarantee; 25] = [
    g(
        "In exempt mode only the strictly necessary events and properties leave the device, whatever the app tags: other names are held back, and identifying values in allowed properties (e-mail addresses, phone numbers, IP addresses, UUIDs, long numbers, IBANs, coordinates, credentials and tokens) are masked, or held back when they are numbers.",
        "app bug, hostile integrator",
        "modes.rs exempt_*; privacy_properties.rs; round_two.rs leak_02; privacy_model.rs; vectors exempt_holds_back_non_necessary, scrubbed_values",
    ),
    g(
        "No identifying name (user, account, device, OS or advertising id, network or hardware address, precise location, contact details, a person's name, birth date or postal address, token, session or transaction id, glued, abbreviated or hashed) can be allowed without consent: the configuration is refused, naming the field.",
        "hostile integrator",
        "identifying_names.rs (545 refused and 1 460 accepted real names, each with its source); config.rs; round_two.rs leak_01",
    ),
    g(
        "A custom mode names its events (an exact name, or a whole first segment then `*`) and anonymous events are exact names: no configuration lets every event, or every event of a letter, out without consent.",
        "hostile integrator",
        "config.rs a_custom_mode_must_name_its_events; round_two.rs leak_04",
    ),
    g(
        "Anonymous hits (opt-out counters, no-consent) carry only the configured event names and values the SDK itself produces from closed sets (the connection type, the timestamp); a device context holding the app's words or an identifying value is refused.",
        "app bug, hostile integrator",
        "modes.rs anonymous_*; round_two.rs leak_07a; vector anonymous_hits_sdk_values",
    ),
    g(
        "A forbidden property or event never leaves, in any mode.",
        "app bug",
        "modes.rs a_forbidden_event_is_held_back_in_every_mode; vectors forbidden_events, controller_allowlist_and_forbidden",
    ),
    g(
        "The visitor id is a random UUID scoped to this app, lives 13 calendar months from its creation and is never extended by use; a hit leaves only while its id is valid when it is sent, however long it was queued.",
        "app bug, a long queue",
        "visitor_id.rs; round_two.rs leak_08; vectors visitor_id_13_months, id_expires_in_the_queue",
    ),
    g(
        "Crossing the consent boundary (consent given, withdrawn or lapsed) renews the visitor id: exempt statistics never share an id with identified opt-in hits. A withdrawal or a lapse deletes, in the same transaction as the renewal, every hit queued with consent and not yet sent.",
        "the collector cross-referencing two streams, app bug",
        "visitor_id.rs *_renews_the_id*, a_withdrawal_deletes_*; round_two.rs leak_11; vectors consent_boundary_renews_id, consent_expiry_6_months",
    ),
    g(
        "A consent (opt-in, no-storage) lapses 6 calendar months after it was given (less if configured), back to the default mode, and the app is told to ask again, after a restart too; an opt-out never lapses.",
        "app bug",
        "modes.rs consent_*; privacy_model.rs; vector consent_expiry_6_months",
    ),
    g(
        "A visitor id or a consent dated more than a day after now counts as expired: a clock that ran ahead and was corrected cannot extend them.",
        "wrong device clock",
        "clock.rs; vector clock_corrected",
    ),
    g(
        "A date that cannot be represented is already expired, and no clock value makes the SDK panic or stop.",
        "wrong device clock",
        "clock.rs (property tests over the whole i64 range)",
    ),
    g(
        "Upload delays run on a monotonic clock: a clock set back cannot stall retries, one set forward cannot skip a Retry-After.",
        "wrong device clock, network",
        "clock.rs a_clock_set_*",
    ),
    g(
        "Entering opt-out or no-consent deletes every queued hit but anonymous counters, entering no-storage every hit that carries an app-scoped id, a withdrawal every hit queued with consent, delete_local_data everything; nothing a purge deleted leaves once it has committed, not even a batch the collector refused and the SDK split, or one kept for a retry.",
        "network, app bug",
        "purge.rs; round_two.rs leak_03b, leak_11; privacy_model.rs",
    ),
    g(
        "One SDK per storage directory and one site per store: a second instance fails with StorageInUse, another site with StorageOfAnotherSite, every queued hit and id is bound to its site, and on Android the SDK starts in the main process only.",
        "second process, second site",
        "instances.rs; round_two.rs leak_05, a_legacy_store_*; Kotlin ProcessGuardTest; Swift MesureSDKTests",
    ),
    g(
        "The visitor's choice survives a lost or corrupt database and every mode change, a refusal (no-consent, no-storage) included.",
        "storage fault",
        "choice.rs; vector choice_remembered",
    ),
    g(
        "A deleted identifier leaves no byte behind in the database, its WAL or its free pages; the files are private to the app (0600 in a 0700 directory, an existing wider directory narrowed) and never backed up.",
        "storage forensics, device backups",
        "data_subject.rs *_leaves_no_byte_*, the_files_are_private_to_the_app; round_two.rs leak_13; privacy_model.rs",
    ),
    g(
        "By purpose: a purpose never answered never reads as opt-in; a property leaves on a consented hit only when every purpose that names it is consented to, and one with no purpose only with a consent to every purpose; the visitor's answers ride only on consented hits.",
        "app bug, hostile integrator, a consent-management platform's partial answer",
        "purposes.rs; round_two.rs leak_07b, leak_10; privacy_model.rs; vectors purposes_*",
    ),
    g(
        "No-storage carries everything, so it needs consent: it is never a default, it keeps every purpose's answer (a refused purpose stays refused), and an opt-out or a withdrawal deletes what it queued.",
        "hostile integrator, app bug",
        "round_two.rs leak_03a, leak_03b, leak_03c; purposes.rs no_storage_*; privacy_model.rs; vectors no_storage_all_properties, no_storage_needs_consent",
    ),
    g(
        "Nothing tracked in a dry run ever reaches a collector, and a dry run never sends or deletes what a real run queued.",
        "app bug",
        "round_two.rs leak_06; gate.rs; privacy_model.rs",
    ),
    g(
        "Every hit passes, when it is sent, the egress gate: one function that re-checks its site, its id, the mode in force, its keys, its values and its purposes from what is stored, independently of the filter that built it; a hit that fails is deleted and reported, and with the filter switched off the gate alone lets out nothing the rules forbid.",
        "a defect in the track-time filter, a storage fault",
        "gate.rs; privacy_model.rs (the egress gate alone, the filter alone)",
    ),
    g(
        "A hit stays within 64 KiB without losing its strictly necessary fields: the SDK's own fields are bounded (32 purposes at most), and the app's extra properties go first.",
        "hostile integrator, app bug",
        "round_two.rs leak_09; limits.rs",
    ),
    g(
        "The debug log never shows a property value or a visitor id in clear: the core writes each line (one line, the site first, an app-scoped id cut to four characters), Apple's unified log marks it private, and a release build of the app logs nothing unless the debug log is forced by name.",
        "whoever reads the device's log",
        "diagnostics.rs log_lines_*; Kotlin DiagnosticsTest; Swift DebugLogTests",
    ),
    g(
        "On the Matomo and Piwik PRO wires a hit carries only what passed the egress gate, in the collector's own fields or a custom dimension the configuration maps (anything else is held back and reported); never a cookie, a referrer, a language, the device's local time, a campaign parameter or a token; no property value can forge a parameter; without consent no uid, and the hits of an anonymous mode share one fixed id and start a new visit each (Piwik PRO: uia=1 and only the consent dimensions).",
        "app bug, hostile integrator, a collector's fingerprinting",
        "wire/matomo.rs; matomo.rs (the loopback Matomo refuses the rest; hostile_values_never_forge_a_parameter); vectors wire.matomo, wire.piwik_pro",
    ),
    g(
        "Every property or event held back, and every hit the gate or a bound removed, is reported to the listener with its reason.",
        "app bug",
        "the conformance vectors (dropped lists); gate.rs; privacy_model.rs",
    ),
    g(
        "Every answer of the visitor (never a lapse) writes a consent receipt, hash-chained to the one before, so that an edited, removed or reordered receipt is found; a receipt carries a consent-proof id of its own, never the visitor id, never rides on a measurement hit, survives a corrupt hit queue, and is erased by delete_local_data.",
        "a controller asked to prove consent, storage faults, tampering with the file",
        "receipts.rs; consent/receipts.rs tests",
    ),
    g(
        "What leaves for the consent endpoint carries no app-scoped id and no measurement property, passes a send-time check of its keys, and never leaves in a dry run; the consent statistics carry no id of any kind (counts per day and prompt version), leave in requests of their own, are never counted twice, and stop once the visitor switches them off (or refuses all, when the controller links them).",
        "app bug, a consent endpoint linking counts to people, network",
        "consent.rs; consent/outbox.rs tests; privacy_model.rs (consent steps); vector consent_statistics.json (Rust, Kotlin, Swift)",
    ),
];

/// Server-side conditions of the exemption that no SDK can enforce.
pub const SERVER_SIDE_DUTIES: [&str; 8] = [
    "Truncate the IP address (at least the last octet) before any processing (seed 000; seed 001 §4.3; seed 004).",
    "Keep audience data at most 25 months (CNIL 2020-092, art. 5; seed 000: erasure after 25 rolling months).",
    "Geolocate no finer than the city (seed 000; seed 001 §4.3).",
    "Mask the visitor id in the data model: no visitor-level analysis of exempt data (seed 000; seed 001 §4.2, §4.7).",
    "No cross-referencing with other processing, no import of external data, no transfer to third parties (CNIL 2020-091 §51; seed 001 §4.4).",
    "Export only aggregated, anonymous data collected without consent (seed 001 §4.5; seed 004).",
    "Tell users in the privacy policy about the exempt tracker and offer the opt-out (seed 000; CNIL 2020-092, art. 5).",
    "At the consent endpoint: keep the receipts as long as the consent plus 13 months, as the proof of consent (GDPR art. 7.1); never log an IP address or any request metadata with the consent statistics, and never join them to receipts or audience data.",
];

impl ComplianceReport {
    pub(crate) fn new(config: &Config, rules: &RuleBook, now: EpochMillis) -> ComplianceReport {
        let modes = rules
            .all()
            .into_iter()
            .map(|r| {
                let m = &r.mode;
                let visitor_id = match m.fixed_visitor_id() {
                    Some(f) => format!("fixed value \"{f}\" (identifies no one)"),
                    None => format!("app-scoped random UUID v4, {VISITOR_ID_LIFETIME_MONTHS} months, not extended"),
                };
                let mut stored = Vec::new();
                if m.stores_visitor_id() {
                    stored.push("visitor id".to_owned());
                }
                stored.push("the visitor's choice (mode and date; a refusal is recorded too)".to_owned());
                stored.push("queued hits until acknowledged".to_owned());
                ModeReport {
                    mode: m.wire_name().to_owned(),
                    consent: m.consent(),
                    requires_consent: m.requires_consent(),
                    sends_hits: r.sends_hits,
                    visitor_id,
                    stored_on_device: stored,
                    events: r.event_patterns.clone(),
                    properties: r.property_entries.clone(),
                    added_by_sdk: vec![
                        reserved::VISITOR_PRIVACY_MODE.to_owned(),
                        reserved::VISITOR_PRIVACY_CONSENT.to_owned(),
                        format!("{} (random per hit, for de-duplication; links nothing)", reserved::EVENT_ID),
                    ],
                    forbidden: r.forbidden_patterns.clone(),
                }
            })
            .collect();
        let mut report = ComplianceReport {
            generated_at: format_rfc3339(now),
            sdk_version: SDK_VERSION.to_owned(),
            endpoint: config.endpoint_base(),
            site_id: config.site_id,
            default_mode: config.default_mode.wire_name().to_owned(),
            visitor_id_lifetime_months: VISITOR_ID_LIFETIME_MONTHS,
            visitor_id_extended_by_use: false,
            visitor_id_source: "random UUID v4 from the OS CSPRNG, scoped to this app; never an OS, hardware or advertising id".into(),
            consent_lifetime_months: config.consent_lifetime_months,
            queue_max_hits: config.queue_max_hits,
            queue_max_age_days: config.queue_max_age_days,
            forbidden_events: config.forbidden_events.clone(),
            modes,
            purposes: rules.purposes().patterns().map(|(p, patterns)| PurposeReport::new(p, patterns)).collect(),
            purpose_overlaps: rules.purposes().overlaps(),
            guarantees: GUARANTEES.to_vec(),
            server_side_duties: SERVER_SIDE_DUTIES.iter().map(|s| (*s).to_owned()).collect(),
            collector: CollectorReport::new(config),
            consent: ConsentReport::new(config),
            policy_hash: String::new(),
        };
        report.policy_hash = report.hash();
        report
    }

    /// SHA-256 of the report without its date (and without this hash).
    fn hash(&self) -> String {
        let mut canonical = self.clone();
        canonical.generated_at.clear();
        canonical.policy_hash.clear();
        format!("sha256={}", sha256::hex(serde_json::to_string(&canonical).unwrap_or_default().as_bytes()))
    }

    /// The policy hash of a configuration ([`ComplianceReport::policy_hash`]).
    pub(crate) fn policy_hash_of(config: &Config, rules: &RuleBook) -> String {
        ComplianceReport::new(config, rules, 0).policy_hash
    }

    /// The report as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// A document for the controller's records.
    pub fn to_markdown(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = writeln!(s, "# Mesure compliance report\n");
        let _ = writeln!(s, "Generated {} by mesure {}.\n", self.generated_at, self.sdk_version);
        let _ = writeln!(s, "- Collection endpoint: `{}`, {} wire (`{}`)", self.endpoint, self.collector.dialect, self.collector.site);
        let _ = writeln!(s, "- Policy hash: `{}` (every request carries it in the `{POLICY_HEADER}` header)", self.policy_hash);
        let _ = writeln!(s, "- Default mode (before any choice, and after consent lapses): `{}`", self.default_mode);
        let _ = writeln!(
            s,
            "- Visitor id: {}; lifetime {} calendar months from creation, not extended by use",
            self.visitor_id_source, self.visitor_id_lifetime_months
        );
        let _ = writeln!(s, "- Consent (opt-in) kept {} calendar months, then asked again", self.consent_lifetime_months);
        let _ = writeln!(s, "- Queue: at most {} hits, {} days; oldest dropped first", self.queue_max_hits, self.queue_max_age_days);
        let _ = writeln!(s, "- Consent receipts: {}", self.consent.receipts);
        let _ = writeln!(s, "- Consent statistics: {}", self.consent.statistics);
        if !self.forbidden_events.is_empty() {
            let _ = writeln!(s, "- Events never sent, in any mode: {}", self.forbidden_events.join(", "));
        }
        let _ = writeln!(s);
        for m in &self.modes {
            let _ = writeln!(s, "## Mode `{}`\n", m.mode);
            let _ = writeln!(s, "- Consent flag: {}; needs consent: {}; sends hits: {}", m.consent, m.requires_consent, m.sends_hits);
            let _ = writeln!(s, "- Visitor id sent: {}", m.visitor_id);
            let _ = writeln!(s, "- Stored on the device: {}", m.stored_on_device.join(", "));
            let _ = writeln!(s, "- Events: {}", m.events.join(", "));
            let _ = writeln!(s, "- Added by the SDK: {}", m.added_by_sdk.join(", "));
            if !m.forbidden.is_empty() {
                let _ = writeln!(s, "- Never sent: {}", m.forbidden.join(", "));
            }
            let _ = writeln!(s, "\n| property | events | why |\n|---|---|---|");
            for p in &m.properties {
                let who = if p.added_by_controller { "controller: " } else { "" };
                let _ = writeln!(s, "| `{}` | `{}` | {}{} |", p.property, p.events, who, p.justification);
            }
            let _ = writeln!(s);
        }
        let _ = writeln!(s, "## Purposes of consent\n");
        let _ =
            writeln!(s, "A property with no purpose leaves only with a consent to every purpose; a purpose never answered never reads as opt-in.\n");
        for p in &self.purposes {
            let _ = writeln!(s, "### `{}`\n\n- Properties: {}", p.purpose, p.properties.join(", "));
            for (mode, what) in &p.modes {
                let _ = writeln!(s, "- `{mode}`: {what}");
            }
            let _ = writeln!(s);
        }
        if !self.purpose_overlaps.is_empty() {
            let _ = writeln!(s, "Overlapping patterns (a property they both match needs both consents):\n");
            for o in &self.purpose_overlaps {
                let _ = writeln!(s, "- `{}` of `{}` and `{}` of `{}`", o.pattern, o.purpose, o.other_pattern, o.other_purpose);
            }
            let _ = writeln!(s);
        }
        let _ = writeln!(s, "## What the SDK guarantees\n\n| guarantee | holds against | proved by |\n|---|---|---|");
        for g in &self.guarantees {
            let _ = writeln!(s, "| {} | {} | {} |", g.guarantee, g.adversary, g.proof);
        }
        let _ = writeln!(s);
        let _ = writeln!(s, "## Duties left to the server side and the controller\n");
        for d in &self.server_side_duties {
            let _ = writeln!(s, "- {d}");
        }
        if !self.collector.settings.is_empty() {
            let c = &self.collector;
            let _ = writeln!(s, "\n## The {} collector\n", c.dialect);
            let dims: Vec<String> = c.dimensions.iter().map(|(p, n)| format!("`{p}` -> dimension {n}")).collect();
            let _ = writeln!(s, "- Custom dimensions: {}", if dims.is_empty() { "none".to_owned() } else { dims.join(", ") });
            if !c.not_on_wire.is_empty() {
                let _ = writeln!(s, "- Not carried by this wire (no dimension maps them): {}", c.not_on_wire.join(", "));
            }
            let _ = writeln!(s, "\nSettings to make on the collector:\n");
            for setting in &c.settings {
                let _ = writeln!(s, "- {setting}");
            }
        }
        s
    }

    /// The report of one mode.
    pub fn mode(&self, mode: &VisitorMode) -> Option<&ModeReport> {
        self.modes.iter().find(|m| m.mode == mode.wire_name())
    }
}
