//! A loopback Matomo / Piwik PRO tracker: what `matomo.php` and `ppms.php`
//! do with what Mesure sends (`/work/notes/matomo_wire.md`, issue 18), so a
//! test sees what Matomo would have stored rather than what was sent.
//!
//! - `POST …/matomo.php` (or `…/piwik.php`) and `POST …/ppms.php` with a bulk
//!   body `{"requests":["?k=v&…", …]}`; a single request as a query string
//!   (`GET`, or `POST` with the query and/or a form body) is served too.
//! - Each entry is decoded as PHP's `parse_str` does (`+` is a space, `%XX`,
//!   the last of repeated keys wins, `.` and ` ` in a name become `_`,
//!   `a[]`/`a[k]` keys are kept as they are written), and resolved as
//!   Matomo's tracker does: the action type (an event only when `e_c` and
//!   `e_a` are both non-empty, a pageview otherwise, which is Matomo's silent
//!   fallback), the action time (the request time on the collector's own
//!   clock minus `|cdo|`, or `cdt`), and whether it is invalid (no `idsite`,
//!   `rec` not 1, an action 24 h or more old, …).
//! - It answers as Matomo does: 200 `{"status":"success","tracked":n,"invalid":m,"invalid_indices":[…]}`
//!   for `matomo.php`, 202 with no body for `ppms.php`.
//! - Faults are scripted like the Piano collector's [`Reply`]: [`MatomoReply`]
//!   (rollback, partial commit, a lost entry, 503, an answer held after the
//!   commit until a [`Gate`] opens or more requests arrive), or any generic
//!   [`Reply`] (reset, stall, garbage, …).
//! - Every request is checked against what no hit of Mesure may carry; each
//!   breach is a [`Violation`], and the request is answered 400 (nothing
//!   recorded) so the SDK's own test notices.
//!
//! Run as a process (`mesure-test-collector --dialect matomo
//! [--consent-dimension N]`), it has control endpoints:
//!
//! | request | does / answers |
//! |---|---|
//! | `GET /_received` | the requests: `{"method", "path", "flavour": "matomo"/"piwik_pro"/null, "query", "headers", "body", "bulk", "time", "entries": [{"index", "raw", "params", "action": "pageview"/"event"/…, "action_time", "valid", "invalid": "too_old"/…/null, "recorded"}], "violations": [text], "reply", "status", "response", "answered", "acknowledged"}` |
//! | `GET /_entries` | the entries stored (as above) |
//! | `GET /_violations` | every violation, as text |
//! | `POST /_script` | queues answers: `{"commit": true}`, `{"rollback": true}`, `{"partial": k}`, `{"lose": i}`, `{"retry_after": "5"}` (a 503), `{"hold": true}` (until `POST /_release`), `{"hold_requests": k}`, `{"reject": true}`, or any of the Piano collector's forms (`{"status": 429}`, `{"reset": true}`, …) |
//! | `POST /_release` | sends the answers held by `{"hold": true}`, and every later one, until `/_reset` |
//! | `POST /_config` | `{"now": <Unix seconds, or null for the system clock>, "consent_dimension": <N or null>, "reject_violations": <bool>}`, each key optional |
//! | `POST /_reset` | forgets the requests and the script, sends any held answer |

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value as Json};

use crate::http::{percent_decode, response, typed, Conn, Flow, Handler, Head, Server};
use crate::{lock, Reply};

/// Entries in one request, at most (the wire contract).
pub const MAX_ENTRIES: usize = 50;
/// An action this old or older (seconds before the request time) is invalid:
/// Matomo's `tracking_requests_require_authentication_when_custom_timestamp_newer_than`.
pub const MAX_AGE_SECS: i64 = 86_400;
/// Matomo's `isTimestampValid`: a custom time older than this is ignored (the request time is used).
const TWENTY_YEARS_SECS: i64 = 20 * 365 * 86_400;

/// Matomo's 1x1 transparent GIF, the answer to a single tracking request.
const GIF: [u8; 43] = [
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x21, 0xf9, 0x04, 0x01, 0x00,
    0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
];

/// Parameters no hit of Mesure may carry (the contract's "never" list; `_refts`
/// belongs with `_ref`). Matched on the name before any `[`, case-insensitively.
const NEVER: [&str; 22] = [
    "urlref",
    "lang",
    "h",
    "m",
    "s",
    "_idts",
    "_idvc",
    "_viewts",
    "_ref",
    "_refts",
    "_rcn",
    "_rck",
    "search",
    "search_cat",
    "search_count",
    "cip",
    "cdt",
    "token_auth",
    "cookie",
    "send_image",
    "link",
    "download",
];
/// Prefixes of parameter families no hit may carry: ecommerce and campaigns.
const NEVER_PREFIXES: [&str; 4] = ["ec_", "mtm_", "pk_", "utm_"];
/// Campaign parameters Matomo reads inside the `url` (query or fragment).
const CAMPAIGN_PREFIXES: [&str; 3] = ["mtm_", "pk_", "utm_"];
/// Values of the consent dimension that say the visitor consented
/// (`visitor_privacy_consent` as the SDK writes it, or `visitor_privacy_mode`).
const CONSENTING: [&str; 2] = ["true", "optin"];

/// Which tracker a path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// `…/matomo.php` (or the older `…/piwik.php`).
    Matomo,
    /// `…/ppms.php`.
    PiwikPro,
}

impl Flavour {
    fn of(path: &str) -> Option<Flavour> {
        if path.ends_with("/matomo.php") || path.ends_with("/piwik.php") {
            Some(Flavour::Matomo)
        } else if path.ends_with("/ppms.php") {
            Some(Flavour::PiwikPro)
        } else {
            None
        }
    }

    /// The tracker's path under the endpoint.
    pub fn path(self) -> &'static str {
        match self {
            Flavour::Matomo => "/matomo.php",
            Flavour::PiwikPro => "/ppms.php",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Flavour::Matomo => "matomo",
            Flavour::PiwikPro => "piwik_pro",
        }
    }
}

/// The action an entry becomes, as Matomo's `Action::factory` resolves it
/// (by priority: download, outlink, event, site search, content, pageview).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionType {
    /// What anything else becomes, an event without `e_c` or `e_a` included.
    Pageview,
    /// `e_c` and `e_a` both non-empty.
    Event,
    /// `download` set.
    Download,
    /// `link` set.
    Outlink,
    /// `search` set.
    SiteSearch,
    /// `c_n` set.
    Content,
    /// `ping=1`: updates the visit, no action.
    Ping,
}

impl ActionType {
    fn resolve(params: &BTreeMap<String, String>) -> ActionType {
        // Matomo reads a string parameter through sanitizeLineBreaks (\n, \r and NUL removed).
        let text = |k: &str| params.get(k).map(|v| v.replace(['\n', '\r', '\0'], "")).unwrap_or_default();
        let php_empty = |k: &str| {
            let v = text(k);
            v.is_empty() || v == "0"
        };
        if php_int(params.get("ping").map(String::as_str)) == Some(1) {
            ActionType::Ping
        } else if !php_empty("download") {
            ActionType::Download
        } else if !php_empty("link") {
            ActionType::Outlink
        } else if !text("e_c").is_empty() && !text("e_a").is_empty() {
            ActionType::Event
        } else if !php_empty("search") {
            ActionType::SiteSearch
        } else if !php_empty("c_n") {
            ActionType::Content
        } else {
            ActionType::Pageview
        }
    }

    fn name(self) -> &'static str {
        match self {
            ActionType::Pageview => "pageview",
            ActionType::Event => "event",
            ActionType::Download => "download",
            ActionType::Outlink => "outlink",
            ActionType::SiteSearch => "site_search",
            ActionType::Content => "content",
            ActionType::Ping => "ping",
        }
    }
}

/// Why an entry was not tracked. How Matomo's answer counts it: see each variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalid {
    /// A string entry without a query (`"idsite=1&rec=1"`, `"?"`): Matomo
    /// drops it before tracking, so it is neither tracked nor invalid in the
    /// answer, and the later entries' `invalid_indices` shift down by one.
    NoQuery,
    /// An entry with no parameter at all (`{}`, `null`, a number): Matomo
    /// counts it tracked and stores nothing.
    Empty,
    /// `rec` is not 1. Counted invalid.
    NotRecording,
    /// No `idsite`, or not a site id (Matomo: a positive integer; Piwik PRO: a UUID). Counted invalid.
    NoSite,
    /// The action time is [`MAX_AGE_SECS`] or more before the request time
    /// (Matomo wants a `token_auth` for that). Counted invalid.
    TooOld { age_secs: i64 },
    /// A `cid` that is not 16 characters. Counted invalid.
    BadVisitorId,
    /// A `cip` (the client's IP), which needs a `token_auth`. Counted invalid.
    CipWithoutAuth,
}

impl Invalid {
    fn name(&self) -> &'static str {
        match self {
            Invalid::NoQuery => "no_query",
            Invalid::Empty => "empty",
            Invalid::NotRecording => "not_recording",
            Invalid::NoSite => "no_site",
            Invalid::TooOld { .. } => "too_old",
            Invalid::BadVisitorId => "bad_visitor_id",
            Invalid::CipWithoutAuth => "cip_without_auth",
        }
    }
}

/// One entry of a request, decoded and resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its position in the body's `requests` array (0 for a single request).
    pub index: usize,
    /// As sent (`"?idsite=1&…"`; a JSON entry that is not a string as JSON text).
    pub raw: String,
    /// Its parameters, decoded as PHP's `parse_str` does.
    pub params: BTreeMap<String, String>,
    /// What Matomo makes of it.
    pub action: ActionType,
    /// When the action happened, Unix seconds: the request time minus `|cdo|` (or `cdt`), as Matomo computes it.
    pub action_time: i64,
    /// Why it was not tracked; `None` for a valid entry.
    pub invalid: Option<Invalid>,
    /// Whether it is in Matomo's database: valid, and not rolled back, past a
    /// partial commit, lost, or refused for a privacy violation.
    pub recorded: bool,
}

impl Entry {
    pub fn valid(&self) -> bool {
        self.invalid.is_none()
    }

    /// A parameter's value.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.params.get(key).map(String::as_str)
    }

    /// The visitor Matomo files it under: `cid` when set, else `_id`.
    pub fn visitor(&self) -> Option<&str> {
        self.get("cid").filter(|v| !v.is_empty()).or_else(|| self.get("_id").filter(|v| !v.is_empty()))
    }

    /// Counted tracked in Matomo's answer (valid, or an empty request).
    fn counts_tracked(&self) -> bool {
        matches!(self.invalid, None | Some(Invalid::Empty))
    }

    fn to_json(&self) -> Json {
        json!({
            "index": self.index,
            "raw": self.raw,
            "params": self.params,
            "action": self.action.name(),
            "action_time": self.action_time,
            "valid": self.valid(),
            "invalid": self.invalid.as_ref().map(Invalid::name),
            "recorded": self.recorded,
        })
    }
}

/// Something no hit of Mesure may carry. Entry positions are those of the body's `requests` array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// A parameter of the contract's "never" list (`urlref`, `lang`, `h`,
    /// `cdt`, `cip`, `token_auth`, `ec_*`, `utm_*`, `send_image`, `link`, …),
    /// in an entry, or in the request itself (`entry: None`: its URL query,
    /// or the bulk body beside `requests`).
    Param { entry: Option<usize>, key: String },
    /// A campaign parameter inside an entry's `url` (query or fragment), where Matomo reads it.
    CampaignInUrl { entry: usize, key: String },
    /// A `Cookie` or `Accept-Language` header (the lower-case name).
    Header(String),
    /// A `User-Agent` other than `Mesure` (`None`: no User-Agent at all).
    UserAgent(Option<String>),
    /// More than [`MAX_ENTRIES`] entries in one request.
    TooManyEntries(usize),
    /// Entries of more than one visitor in one request (their `cid` / `_id`, sorted).
    SeveralVisitors(Vec<String>),
    /// An entry with neither `_id` nor `cid`: Matomo would fingerprint the IP and user agent.
    NoVisitorId { entry: usize },
    /// A `uid` on an entry whose consent dimension does not say consent (absent, or not `true` / `optin`).
    UidWithoutConsent { entry: usize },
    /// A `uid` while no consent dimension is configured on the collector ([`MatomoCollector::consent_dimension`]).
    UidWithoutConsentDimension { entry: usize },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::Param { entry: Some(i), key } => write!(f, "entry {i}: parameter `{key}` is never sent"),
            Violation::Param { entry: None, key } => write!(f, "request: parameter `{key}` is never sent"),
            Violation::CampaignInUrl { entry, key } => write!(f, "entry {entry}: campaign parameter `{key}` in `url`"),
            Violation::Header(h) => write!(f, "header `{h}` is never sent"),
            Violation::UserAgent(Some(ua)) => write!(f, "User-Agent `{ua}` is not `Mesure`"),
            Violation::UserAgent(None) => write!(f, "no User-Agent (must be `Mesure`)"),
            Violation::TooManyEntries(n) => write!(f, "{n} entries in one request (at most {MAX_ENTRIES})"),
            Violation::SeveralVisitors(v) => write!(f, "entries of several visitors in one request: {}", v.join(", ")),
            Violation::NoVisitorId { entry } => write!(f, "entry {entry}: neither `_id` nor `cid`"),
            Violation::UidWithoutConsent { entry } => write!(f, "entry {entry}: `uid` without consent"),
            Violation::UidWithoutConsentDimension { entry } => write!(f, "entry {entry}: `uid` while no consent dimension is configured"),
        }
    }
}

/// A switch a held answer waits on: made by [`MatomoCollector::gate`], opened
/// by the test (before or after the request arrives: it stays open).
#[derive(Clone)]
pub struct Gate {
    open: Arc<AtomicBool>,
    wake: Arc<Wake>,
}

impl Gate {
    /// Releases every answer held on this gate, now and later.
    pub fn open(&self) {
        self.open.store(true, Ordering::SeqCst);
        self.wake.notify();
    }

    pub fn is_open(&self) -> bool {
        self.open.load(Ordering::SeqCst)
    }
}

impl fmt::Debug for Gate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Gate {{ open: {} }}", self.is_open())
    }
}

impl PartialEq for Gate {
    fn eq(&self, other: &Gate) -> bool {
        Arc::ptr_eq(&self.open, &other.open)
    }
}

impl Eq for Gate {}

/// When a held answer goes out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Release {
    /// When the gate opens (a gate of the same collector).
    Gate(Gate),
    /// When this many more requests have arrived after the held one (its
    /// retry, typically, once the client has given up on the held answer).
    Requests(usize),
}

/// How the collector answers one request, when the request has no violation.
/// Positions are those of the body's `requests` array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MatomoReply {
    /// What Matomo does: stores the valid entries and answers with the counts
    /// (Piwik PRO: 202, no body). The default.
    Commit,
    /// A bulk transaction rolled back: nothing stored, 500 (`{"status":"error","tracked":0,"invalid":0}`).
    Rollback,
    /// No transaction: the valid entries among the first `k` are stored, then
    /// 500 (`{"status":"error","tracked":…,"invalid":…}` for those `k`).
    PartialCommit(usize),
    /// Entry `i` is counted tracked in the answer (200) but never stored.
    LoseEntry(usize),
    /// 503 with this `Retry-After`; nothing stored.
    RetryAfter(String),
    /// Stores the entries as [`MatomoReply::Commit`] does, then holds the
    /// answer until released. The request is in [`MatomoCollector::received`]
    /// (with `answered == false`) as soon as it is stored.
    Hold(Release),
    /// 400 `{"status":"error","violations":[…]}`, nothing stored: what a
    /// request with a violation gets (scripted, it refuses a clean request).
    Reject,
    /// A generic answer, as the Piano collector gives it (a reset, a stall,
    /// garbage, a redirect, any status); nothing stored.
    Http(Reply),
}

impl MatomoReply {
    fn to_json(&self) -> Json {
        match self {
            MatomoReply::Commit => json!({"commit": true}),
            MatomoReply::Rollback => json!({"rollback": true}),
            MatomoReply::PartialCommit(k) => json!({"partial": k}),
            MatomoReply::LoseEntry(i) => json!({"lose": i}),
            MatomoReply::RetryAfter(ra) => json!({"retry_after": ra}),
            MatomoReply::Hold(Release::Gate(_)) => json!({"hold": true}),
            MatomoReply::Hold(Release::Requests(k)) => json!({"hold_requests": k}),
            MatomoReply::Reject => json!({"reject": true}),
            MatomoReply::Http(r) => r.to_json(),
        }
    }

    /// The `/_script` forms; `{"hold": true}` waits on the control gate (`POST /_release`).
    fn from_json(v: &Json, control_gate: &Gate) -> Option<MatomoReply> {
        let usize_of = |k: &str| v.get(k).and_then(Json::as_u64).and_then(|n| usize::try_from(n).ok());
        if v.get("commit").is_some() {
            return Some(MatomoReply::Commit);
        }
        if v.get("rollback").is_some() {
            return Some(MatomoReply::Rollback);
        }
        if let Some(k) = usize_of("partial") {
            return Some(MatomoReply::PartialCommit(k));
        }
        if let Some(i) = usize_of("lose") {
            return Some(MatomoReply::LoseEntry(i));
        }
        if v.get("status").is_none() {
            if let Some(ra) = v.get("retry_after").and_then(Json::as_str) {
                return Some(MatomoReply::RetryAfter(ra.to_owned()));
            }
        }
        if v.get("hold").is_some() {
            return Some(MatomoReply::Hold(Release::Gate(control_gate.clone())));
        }
        if let Some(k) = usize_of("hold_requests") {
            return Some(MatomoReply::Hold(Release::Requests(k)));
        }
        if v.get("reject").is_some() {
            return Some(MatomoReply::Reject);
        }
        Reply::from_json(v).map(MatomoReply::Http)
    }
}

/// One request as received, decoded, checked and answered.
#[derive(Debug, Clone)]
pub struct MatomoRequest {
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The tracker the path names; `None` for any other path (answered 404).
    pub flavour: Option<Flavour>,
    /// The URL's query, decoded as PHP does.
    pub query: BTreeMap<String, String>,
    /// Header names lower-cased.
    pub headers: BTreeMap<String, String>,
    pub body: String,
    /// A bulk request (`{"requests":[…]}`), or a single one (the query string and form body).
    pub bulk: bool,
    /// The request time on the collector's clock, Unix seconds.
    pub time: i64,
    pub entries: Vec<Entry>,
    /// What it carried that no hit of Mesure may carry.
    pub violations: Vec<Violation>,
    /// The answer applied.
    pub reply: MatomoReply,
    /// The status answered (`None`: a reset or garbage, no HTTP answer).
    pub status: Option<u16>,
    /// The body answered.
    pub response: String,
    /// Whether the answer went out (false while it is held, or if the collector stopped first).
    pub answered: bool,
    /// When its headers arrived.
    pub at: Instant,
    /// Finds a held request again.
    seq: u64,
}

impl MatomoRequest {
    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> Json {
        serde_json::from_str(&self.body).unwrap_or(Json::Null)
    }

    /// Whether the client has been told the request succeeded (a 2xx went out).
    pub fn acknowledged(&self) -> bool {
        self.answered && self.status.is_some_and(|s| (200..300).contains(&s))
    }

    /// The entries it got into Matomo's database.
    pub fn recorded(&self) -> Vec<&Entry> {
        self.entries.iter().filter(|e| e.recorded).collect()
    }

    /// Matomo's `tracked` and `invalid_indices` over the first `upto` entries
    /// (the indices count the entries that were not dropped for want of a query).
    fn counts(&self, upto: usize) -> (usize, Vec<usize>) {
        let mut tracked = 0;
        let mut invalid = Vec::new();
        let kept = self.entries.iter().filter(|e| e.invalid != Some(Invalid::NoQuery));
        for (k, e) in kept.enumerate().filter(|(_, e)| e.index < upto) {
            if e.counts_tracked() {
                tracked += 1;
            } else {
                invalid.push(k);
            }
        }
        (tracked, invalid)
    }

    fn to_json(&self) -> Json {
        json!({
            "method": self.method,
            "path": self.path,
            "flavour": self.flavour.map(Flavour::name),
            "query": self.query,
            "headers": self.headers,
            "body": self.json(),
            "bulk": self.bulk,
            "time": self.time,
            "entries": self.entries.iter().map(Entry::to_json).collect::<Vec<_>>(),
            "violations": self.violations.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "reply": self.reply.to_json(),
            "status": self.status,
            "response": self.response,
            "answered": self.answered,
            "acknowledged": self.acknowledged(),
        })
    }
}

type MatomoPolicy = dyn Fn(&MatomoRequest) -> Option<MatomoReply> + Send + Sync;
type ClockFn = dyn Fn() -> i64 + Send + Sync;

/// What held answers wait on: gates opening, requests arriving, the collector stopping.
struct Wake {
    lock: Mutex<()>,
    cv: Condvar,
    stop: AtomicBool,
}

impl Wake {
    fn notify(&self) {
        let _held = lock(&self.lock);
        self.cv.notify_all();
    }
}

struct State {
    received: Mutex<Vec<MatomoRequest>>,
    /// Signalled (with `received`) whenever a request is recorded or answered.
    changed: Condvar,
    script: Mutex<VecDeque<MatomoReply>>,
    policy: Mutex<Option<Arc<MatomoPolicy>>>,
    clock: Mutex<Arc<ClockFn>>,
    consent_dimension: Mutex<Option<u32>>,
    reject_violations: AtomicBool,
    wake: Arc<Wake>,
    /// Requests recorded since the start (never cleared).
    arrivals: AtomicU64,
    next_seq: AtomicU64,
    /// The gate `{"hold": true}` scripts wait on (`POST /_release` opens it).
    control_gate: Mutex<Gate>,
}

/// A running loopback Matomo / Piwik PRO; stops when dropped (held answers are never sent then).
pub struct MatomoCollector {
    state: Arc<State>,
    server: Server,
}

fn system_clock() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

impl MatomoCollector {
    /// Binds `127.0.0.1` on a free port and serves `…/matomo.php`, `…/piwik.php` and `…/ppms.php` under any prefix.
    pub fn start() -> std::io::Result<MatomoCollector> {
        let wake = Arc::new(Wake { lock: Mutex::new(()), cv: Condvar::new(), stop: AtomicBool::new(false) });
        let control_gate = Gate { open: Arc::new(AtomicBool::new(false)), wake: wake.clone() };
        let state = Arc::new(State {
            received: Mutex::new(Vec::new()),
            changed: Condvar::new(),
            script: Mutex::new(VecDeque::new()),
            policy: Mutex::new(None),
            clock: Mutex::new(Arc::new(system_clock)),
            consent_dimension: Mutex::new(None),
            reject_violations: AtomicBool::new(true),
            wake,
            arrivals: AtomicU64::new(0),
            next_seq: AtomicU64::new(0),
            control_gate: Mutex::new(control_gate),
        });
        let server = Server::start(state.clone())?;
        Ok(MatomoCollector { state, server })
    }

    /// The endpoint to configure: the SDK appends `/matomo.php` or `/ppms.php`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Queues answers for the next tracker requests (then [`MatomoReply::Commit`] again).
    pub fn script(&self, replies: impl IntoIterator<Item = MatomoReply>) {
        lock(&self.state.script).extend(replies);
    }

    /// Decides answers from the decoded request (checked before the script,
    /// which is consumed all the same; never asked about a request refused for
    /// a violation); `None` falls through to the script.
    pub fn policy(&self, f: impl Fn(&MatomoRequest) -> Option<MatomoReply> + Send + Sync + 'static) {
        *lock(&self.state.policy) = Some(Arc::new(f));
    }

    /// A new, closed gate for [`Release::Gate`].
    pub fn gate(&self) -> Gate {
        Gate { open: Arc::new(AtomicBool::new(false)), wake: self.state.wake.clone() }
    }

    /// The collector's clock (Unix seconds), read once per request: its request time.
    pub fn clock(&self, now: impl Fn() -> i64 + Send + Sync + 'static) {
        *lock(&self.state.clock) = Arc::new(now);
    }

    /// Stops the collector's clock at this time (Unix seconds).
    pub fn set_now(&self, unix_secs: i64) {
        self.clock(move || unix_secs);
    }

    /// Back to the system's clock.
    pub fn system_clock(&self) {
        self.clock(system_clock);
    }

    /// The custom dimension that says whether the visitor consented (`dimension<N>`
    /// is `true` or `optin`); a `uid` needs it. `None` (the default): any `uid` is a violation.
    pub fn consent_dimension(&self, index: Option<u32>) {
        *lock(&self.state.consent_dimension) = index;
    }

    /// Whether a request with a violation is refused (400, nothing stored; the
    /// default) or served as if it had none (the violations are recorded all the same).
    pub fn reject_violations(&self, reject: bool) {
        self.state.reject_violations.store(reject, Ordering::SeqCst);
    }

    /// Every request so far (control requests aside).
    pub fn received(&self) -> Vec<MatomoRequest> {
        lock(&self.state.received).clone()
    }

    /// The requests after the first `n`.
    pub fn received_since(&self, n: usize) -> Vec<MatomoRequest> {
        lock(&self.state.received).iter().skip(n).cloned().collect()
    }

    /// What Matomo's database holds: the entries stored, in the order they were stored.
    pub fn matomo_entries(&self) -> Vec<Entry> {
        lock(&self.state.received).iter().flat_map(|r| r.entries.iter().filter(|e| e.recorded).cloned()).collect()
    }

    /// Every entry of the acknowledged requests (a 2xx went out), valid or
    /// not, stored or not: what the client was told arrived.
    pub fn acknowledged_entries(&self) -> Vec<Entry> {
        lock(&self.state.received).iter().filter(|r| r.acknowledged()).flat_map(|r| r.entries.clone()).collect()
    }

    /// Every violation so far, in arrival order.
    pub fn violations(&self) -> Vec<Violation> {
        lock(&self.state.received).iter().flat_map(|r| r.violations.clone()).collect()
    }

    /// Waits until `done` holds over the requests received (checked now and
    /// each time a request is recorded or answered); false on timeout.
    pub fn wait_until(&self, timeout: Duration, done: impl Fn(&[MatomoRequest]) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let mut got = lock(&self.state.received);
        while !done(&got) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            got = match self.state.changed.wait_timeout(got, left) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
        true
    }

    /// Waits until at least `n` requests arrived; false on timeout.
    pub fn wait_for_requests(&self, n: usize, timeout: Duration) -> bool {
        self.wait_until(timeout, |r| r.len() >= n)
    }

    /// Waits until Matomo's database holds at least `n` entries; false on timeout.
    pub fn wait_for_entries(&self, n: usize, timeout: Duration) -> bool {
        self.wait_until(timeout, |r| r.iter().map(|q| q.entries.iter().filter(|e| e.recorded).count()).sum::<usize>() >= n)
    }

    /// Forgets the requests (and so the stored entries); the script and settings stay.
    pub fn clear(&self) {
        lock(&self.state.received).clear();
    }
}

impl Drop for MatomoCollector {
    fn drop(&mut self) {
        self.state.wake.stop.store(true, Ordering::SeqCst);
        self.state.wake.notify();
    }
}

/// PHP's `parse_str` (without building arrays: `a[]` and `a[k]` stay keys as written).
pub(crate) fn parse_str(q: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for pair in q.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if let Some(key) = php_name(&percent_decode(k, true)) {
            out.insert(key, percent_decode(v, true));
        }
    }
    out
}

/// A variable name as PHP registers it: leading spaces dropped, cut at a NUL,
/// `.` and ` ` turned into `_` before the first `[`; an unmatched `[` becomes `_`.
fn php_name(raw: &str) -> Option<String> {
    let raw = raw.trim_start_matches(' ').split('\0').next().unwrap_or("");
    let mut out = String::with_capacity(raw.len());
    for (i, c) in raw.char_indices() {
        match c {
            '[' if raw[i..].contains(']') => {
                if out.is_empty() {
                    return None;
                }
                out.push_str(&raw[i..]);
                return Some(out);
            }
            '[' => {
                out.push('_');
                out.push_str(&raw[i + 1..]);
                return Some(out);
            }
            ' ' | '.' => out.push('_'),
            c => out.push(c),
        }
    }
    (!out.is_empty()).then_some(out)
}

/// PHP's `is_numeric`: optional surrounding whitespace, a sign, digits, a point, an exponent.
fn php_number(s: &str) -> Option<f64> {
    let t = s.trim_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let ok = !t.is_empty() && t.bytes().any(|b| b.is_ascii_digit()) && t.bytes().all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b));
    t.parse::<f64>().ok().filter(|f| ok && f.is_finite())
}

/// Matomo's `int` parameter: a number truncated, or nothing.
fn php_int(s: Option<&str>) -> Option<i64> {
    php_number(s?).map(|f| f as i64)
}

/// PHP's `empty()` on a string.
fn php_empty(s: &str) -> bool {
    s.is_empty() || s == "0"
}

/// `strtotime` for the forms a tracker gets (UTC): `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS`, with `T` and `Z` allowed.
fn strtotime(s: &str) -> Option<i64> {
    let s = s.trim().trim_end_matches('Z');
    let (date, time) = s.split_once([' ', 'T']).unwrap_or((s, "00:00:00"));
    let num = |p: &str| p.parse::<i64>().ok();
    let d: Vec<i64> = date.split('-').map(num).collect::<Option<_>>()?;
    let t: Vec<i64> = time.split(':').map(num).collect::<Option<_>>()?;
    let (&[y, mo, da], &[h, mi, se]) = (&d[..], &t[..]) else { return None };
    if !(1..=12).contains(&mo) || !(1..=31).contains(&da) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let doy = (153 * ((mo + 9) % 12) + 2) / 5 + da - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + se)
}

/// Matomo's `Request::getCurrentTimestamp` for an entry: the action time, and
/// whether it is too old to be tracked without a `token_auth`.
fn action_time(params: &BTreeMap<String, String>, now: i64) -> (i64, Option<Invalid>) {
    if !params.contains_key("cdt") && !params.contains_key("cdo") {
        return (now, None);
    }
    let cdt = params.get("cdt").map(String::as_str).unwrap_or("");
    let cdo = php_int(params.get("cdo").map(String::as_str)).unwrap_or(0);
    let base = if php_empty(cdt) && cdo != 0 {
        now
    } else if php_empty(cdt) {
        return (now, None);
    } else {
        match php_number(cdt) {
            Some(n) => n as i64,
            // strtotime's false is 0 in the subtraction below.
            None => strtotime(cdt).unwrap_or(0),
        }
    };
    let t = base.saturating_sub(cdo.saturating_abs());
    // isTimestampValid: in the future or before 20 years, the request time stands.
    if !(t <= now && t > now - TWENTY_YEARS_SECS) {
        return (now, None);
    }
    let age = now - t;
    (t, (age >= MAX_AGE_SECS).then_some(Invalid::TooOld { age_secs: age }))
}

fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12]) && parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// One entry decoded and resolved (not yet stored).
fn entry(index: usize, item: &Json, flavour: Flavour, now: i64) -> Entry {
    let (raw, params) = match item {
        // parse_url: the query is what follows the first `?`, up to a `#`.
        Json::String(s) => {
            let query = s.split_once('?').map(|(_, q)| q.split('#').next().unwrap_or("")).unwrap_or("");
            (s.clone(), (!query.is_empty()).then(|| parse_str(query)))
        }
        Json::Object(m) => {
            let text = |v: &Json| match v {
                Json::String(s) => s.clone(),
                other => other.to_string(),
            };
            (item.to_string(), Some(m.iter().map(|(k, v)| (k.clone(), text(v))).collect()))
        }
        other => (other.to_string(), Some(BTreeMap::new())),
    };
    let Some(params) = params else {
        return Entry {
            index,
            raw,
            params: BTreeMap::new(),
            action: ActionType::Pageview,
            action_time: now,
            invalid: Some(Invalid::NoQuery),
            recorded: false,
        };
    };
    let action = ActionType::resolve(&params);
    let (action_time, too_old) = action_time(&params, now);
    let get = |k: &str| params.get(k).map(String::as_str);
    let invalid = if params.is_empty() {
        Some(Invalid::Empty)
    } else if php_int(get("rec")) != Some(1) {
        Some(Invalid::NotRecording)
    } else if !match flavour {
        Flavour::Matomo => php_int(get("idsite")).is_some_and(|id| id > 0),
        Flavour::PiwikPro => get("idsite").is_some_and(is_uuid),
    } {
        Some(Invalid::NoSite)
    } else if too_old.is_some() {
        too_old
    } else if get("cid").is_some_and(|c| !c.is_empty() && c.chars().count() != 16) {
        Some(Invalid::BadVisitorId)
    } else if get("cip").is_some_and(|c| !c.is_empty()) {
        Some(Invalid::CipWithoutAuth)
    } else {
        None
    };
    Entry { index, raw, params, action, action_time, invalid, recorded: false }
}

fn never_sent(key: &str) -> bool {
    let base = key.split('[').next().unwrap_or(key).to_ascii_lowercase();
    NEVER.contains(&base.as_str()) || NEVER_PREFIXES.iter().any(|p| base.starts_with(p))
}

/// What an answer is made of before it goes out.
enum Answer {
    Bytes { status: u16, bytes: Vec<u8>, body: String },
    Generic(Reply),
}

impl State {
    fn now(&self) -> i64 {
        let clock = lock(&self.clock).clone();
        clock()
    }

    /// The entries of a tracker request, and whether it is a bulk one.
    fn decode(&self, req: &mut MatomoRequest, raw_query: &str, flavour: Flavour) {
        // BulkTracking's isUsingBulkRequest: `"requests"` anywhere in the body (but at its very start).
        let bulk = ["\"requests\"", "'requests'"].iter().any(|k| req.body.find(k).is_some_and(|at| at > 0));
        req.bulk = bulk;
        if bulk {
            let json: Json = serde_json::from_str(req.body.trim()).unwrap_or(Json::Null);
            let items = json.get("requests").and_then(Json::as_array).cloned().unwrap_or_default();
            req.entries = items.iter().enumerate().map(|(i, item)| entry(i, item, flavour, req.time)).collect();
            return;
        }
        // One request: $_GET + $_POST (the query wins), the form body only when it is a form.
        let mut params = parse_str(raw_query);
        let form = req.headers.get("content-type").is_some_and(|t| t.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"));
        if form {
            for (k, v) in parse_str(&req.body) {
                params.entry(k).or_insert(v);
            }
        }
        if !params.is_empty() {
            req.entries = vec![entry(0, &Json::Object(params.into_iter().map(|(k, v)| (k, Json::String(v))).collect()), flavour, req.time)];
            let raw = if form && !req.body.is_empty() { format!("?{raw_query}&{}", req.body) } else { format!("?{raw_query}") };
            req.entries[0].raw = raw;
        }
    }

    /// What no hit of Mesure may carry.
    fn check(&self, req: &MatomoRequest) -> Vec<Violation> {
        let mut v = Vec::new();
        for h in ["cookie", "accept-language"] {
            if req.headers.contains_key(h) {
                v.push(Violation::Header(h.to_owned()));
            }
        }
        match req.headers.get("user-agent") {
            Some(ua) if ua == "Mesure" => {}
            ua => v.push(Violation::UserAgent(ua.cloned())),
        }
        // A single request's query is its entry, checked below.
        if req.bulk {
            for key in req.query.keys().filter(|k| never_sent(k)) {
                v.push(Violation::Param { entry: None, key: key.clone() });
            }
            if let Some(top) = req.json().as_object() {
                for key in top.keys().filter(|k| never_sent(k)) {
                    v.push(Violation::Param { entry: None, key: key.clone() });
                }
            }
        }
        if req.entries.len() > MAX_ENTRIES {
            v.push(Violation::TooManyEntries(req.entries.len()));
        }
        let consent_dimension = *lock(&self.consent_dimension);
        let mut visitors = BTreeSet::new();
        for e in req.entries.iter().filter(|e| !matches!(e.invalid, Some(Invalid::NoQuery | Invalid::Empty))) {
            for key in e.params.keys().filter(|k| never_sent(k)) {
                v.push(Violation::Param { entry: Some(e.index), key: key.clone() });
            }
            if let Some(url) = e.get("url") {
                let after = url.split_once(['?', '#']).map(|(_, rest)| rest).unwrap_or("");
                for part in after.split(['?', '#']) {
                    for key in parse_str(part).into_keys() {
                        let lower = key.to_ascii_lowercase();
                        if CAMPAIGN_PREFIXES.iter().any(|p| lower.starts_with(p)) || lower == "_rcn" || lower == "_rck" {
                            v.push(Violation::CampaignInUrl { entry: e.index, key });
                        }
                    }
                }
            }
            match e.visitor() {
                Some(id) => {
                    visitors.insert(id.to_owned());
                }
                None => v.push(Violation::NoVisitorId { entry: e.index }),
            }
            if e.get("uid").is_some_and(|u| !u.is_empty()) {
                match consent_dimension {
                    None => v.push(Violation::UidWithoutConsentDimension { entry: e.index }),
                    Some(n) => {
                        if !e.get(&format!("dimension{n}")).is_some_and(|c| CONSENTING.contains(&c)) {
                            v.push(Violation::UidWithoutConsent { entry: e.index });
                        }
                    }
                }
            }
        }
        if visitors.len() > 1 {
            v.push(Violation::SeveralVisitors(visitors.into_iter().collect()));
        }
        v
    }

    /// Stores what the reply lets through and builds the answer.
    fn apply(&self, req: &mut MatomoRequest, flavour: Flavour, reply: &MatomoReply) -> Answer {
        let n = req.entries.len();
        let (stored_upto, lost) = match reply {
            MatomoReply::Commit | MatomoReply::Hold(_) => (n, None),
            MatomoReply::LoseEntry(i) => (n, Some(*i)),
            MatomoReply::PartialCommit(k) => ((*k).min(n), None),
            MatomoReply::Rollback | MatomoReply::RetryAfter(_) | MatomoReply::Reject | MatomoReply::Http(_) => (0, None),
        };
        for e in req.entries.iter_mut() {
            e.recorded = e.valid() && e.index < stored_upto && Some(e.index) != lost;
        }
        let counts = |status: &str, upto: usize| {
            let (tracked, invalid) = req.counts(upto);
            let indices: Vec<String> = invalid.iter().map(ToString::to_string).collect();
            format!(r#"{{"status":"{status}","tracked":{tracked},"invalid":{},"invalid_indices":[{}]}}"#, invalid.len(), indices.join(","))
        };
        let json_answer = |status: u16, body: String| Answer::Bytes { status, bytes: typed(status, "application/json", body.as_bytes()), body };
        let empty = |status: u16| Answer::Bytes { status, bytes: response(status, None), body: String::new() };
        match (reply, flavour) {
            (MatomoReply::Http(r), _) => Answer::Generic(r.clone()),
            (MatomoReply::RetryAfter(ra), _) => Answer::Bytes { status: 503, bytes: response(503, Some(ra)), body: String::new() },
            (MatomoReply::Reject, _) => {
                let list: Vec<String> = req.violations.iter().map(ToString::to_string).collect();
                json_answer(400, json!({"status": "error", "violations": list}).to_string())
            }
            (MatomoReply::Rollback, Flavour::Matomo) if req.bulk => json_answer(500, r#"{"status":"error","tracked":0,"invalid":0}"#.into()),
            (MatomoReply::PartialCommit(k), Flavour::Matomo) if req.bulk => json_answer(500, counts("error", *k)),
            (MatomoReply::Rollback | MatomoReply::PartialCommit(_), _) => empty(500),
            (_, Flavour::PiwikPro) => empty(202),
            (_, Flavour::Matomo) if req.bulk => {
                // BulkTracking answers 204 when the body says send_image=0.
                let quiet =
                    req.json().get("send_image").is_some_and(|s| matches!(s, Json::Bool(false)) || s.as_str() == Some("0") || s.as_u64() == Some(0));
                if quiet {
                    empty(204)
                } else {
                    json_answer(200, counts("success", n))
                }
            }
            (_, Flavour::Matomo) => match req.entries.first() {
                None => {
                    let body = "This resource is part of Matomo. It is the endpoint for the Matomo tracking API.\n";
                    Answer::Bytes { status: 200, bytes: typed(200, "text/html; charset=utf-8", body.as_bytes()), body: body.into() }
                }
                Some(e) if !e.counts_tracked() => {
                    json_answer(400, json!({"status": "error", "invalid": e.invalid.as_ref().map(Invalid::name)}).to_string())
                }
                Some(e) if e.get("send_image") == Some("0") => empty(204),
                Some(_) => Answer::Bytes { status: 200, bytes: typed(200, "image/gif", &GIF), body: String::new() },
            },
        }
    }

    /// Records the request and wakes whoever waits on arrivals; returns its
    /// id and the number of arrivals, itself included.
    fn record(&self, mut req: MatomoRequest) -> (u64, u64) {
        let seq = self.next_seq.fetch_add(1, Ordering::SeqCst);
        req.seq = seq;
        let arrival = {
            let mut got = lock(&self.received);
            got.push(req);
            self.changed.notify_all();
            self.arrivals.fetch_add(1, Ordering::SeqCst) + 1
        };
        self.wake.notify();
        (seq, arrival)
    }

    /// Marks a held answer as sent.
    fn answered(&self, seq: u64) {
        let mut got = lock(&self.received);
        if let Some(r) = got.iter_mut().find(|r| r.seq == seq) {
            r.answered = true;
        }
        self.changed.notify_all();
    }

    /// Waits for the release; false when the collector stopped first.
    fn wait_release(&self, release: &Release, arrival: u64) -> bool {
        let mut held = lock(&self.wake.lock);
        loop {
            if self.wake.stop.load(Ordering::SeqCst) {
                return false;
            }
            let done = match release {
                Release::Gate(gate) => gate.is_open(),
                Release::Requests(k) => self.arrivals.load(Ordering::SeqCst) >= arrival + *k as u64,
            };
            if done {
                return true;
            }
            held = self.wake.cv.wait(held).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Control endpoints for the collector run as a process (`--dialect matomo`).
    fn control(&self, method: &str, path: &str, body: &str) -> Vec<u8> {
        let ok = |v: Json| typed(200, "application/json", v.to_string().as_bytes());
        match (method, path) {
            ("GET", "/_received") => ok(Json::Array(lock(&self.received).iter().map(MatomoRequest::to_json).collect())),
            ("GET", "/_entries") => {
                let got = lock(&self.received);
                ok(Json::Array(got.iter().flat_map(|r| r.entries.iter().filter(|e| e.recorded).map(Entry::to_json)).collect()))
            }
            ("GET", "/_violations") => {
                let got = lock(&self.received);
                ok(Json::Array(got.iter().flat_map(|r| r.violations.iter().map(|v| Json::String(v.to_string()))).collect()))
            }
            ("POST", "/_reset") => {
                lock(&self.received).clear();
                lock(&self.script).clear();
                // Held answers go out; later holds wait on a new, closed gate.
                let fresh = Gate { open: Arc::new(AtomicBool::new(false)), wake: self.wake.clone() };
                std::mem::replace(&mut *lock(&self.control_gate), fresh).open();
                ok(json!({}))
            }
            ("POST", "/_script") => {
                let gate = lock(&self.control_gate).clone();
                let replies: Vec<MatomoReply> = match serde_json::from_str::<Json>(body) {
                    Ok(Json::Array(items)) => items.iter().filter_map(|v| MatomoReply::from_json(v, &gate)).collect(),
                    _ => return response(400, None),
                };
                lock(&self.script).extend(replies);
                ok(json!({}))
            }
            ("POST", "/_release") => {
                lock(&self.control_gate).open();
                ok(json!({}))
            }
            ("POST", "/_config") => {
                let Ok(Json::Object(config)) = serde_json::from_str::<Json>(body) else { return response(400, None) };
                if let Some(now) = config.get("now") {
                    let fixed = now.as_i64();
                    *lock(&self.clock) = match fixed {
                        Some(t) => Arc::new(move || t),
                        None => Arc::new(system_clock),
                    };
                }
                if let Some(d) = config.get("consent_dimension") {
                    *lock(&self.consent_dimension) = d.as_u64().and_then(|n| u32::try_from(n).ok());
                }
                if let Some(r) = config.get("reject_violations").and_then(Json::as_bool) {
                    self.reject_violations.store(r, Ordering::SeqCst);
                }
                ok(json!({}))
            }
            _ => response(404, None),
        }
    }
}

impl Handler for State {
    fn handle(&self, head: Head, conn: &mut Conn) -> Flow {
        let at = Instant::now();
        let time = self.now();
        let (path, raw_query) = head.target.split_once('?').unwrap_or((&head.target, ""));
        let (path, raw_query) = (path.to_owned(), raw_query.split('#').next().unwrap_or("").to_owned());
        if path.starts_with("/_") {
            let Some(body) = conn.read_body(&head) else { return Flow::Close };
            return conn.send(&self.control(&head.method, &path, &String::from_utf8_lossy(&body)));
        }
        let flavour = Flavour::of(&path);
        // Chosen before the body is read, so a Reset can leave it unread.
        let scripted = if flavour.is_some() { lock(&self.script).pop_front() } else { None };
        let mut req = MatomoRequest {
            method: head.method.clone(),
            path,
            flavour,
            query: parse_str(&raw_query),
            headers: head.headers.clone(),
            body: String::new(),
            bulk: false,
            time,
            entries: Vec::new(),
            violations: Vec::new(),
            reply: MatomoReply::Commit,
            status: None,
            response: String::new(),
            answered: false,
            at,
            seq: 0,
        };
        if scripted == Some(MatomoReply::Http(Reply::Reset)) {
            req.violations = self.check(&req);
            req.reply = MatomoReply::Http(Reply::Reset);
            self.record(req);
            return Flow::Close;
        }
        let Some(body) = conn.read_body(&head) else { return Flow::Close };
        req.body = String::from_utf8_lossy(&body).into_owned();
        let Some(flavour) = flavour else {
            req.reply = MatomoReply::Http(Reply::Status(404));
            req.status = Some(404);
            req.answered = true;
            self.record(req);
            return conn.send(&response(404, None));
        };
        self.decode(&mut req, &raw_query, flavour);
        req.violations = self.check(&req);
        let policy = lock(&self.policy).clone();
        let reply = if !req.violations.is_empty() && self.reject_violations.load(Ordering::SeqCst) {
            MatomoReply::Reject
        } else {
            policy.and_then(|p| p(&req)).or(scripted).unwrap_or(MatomoReply::Commit)
        };
        let answer = self.apply(&mut req, flavour, &reply);
        req.reply = reply.clone();
        match answer {
            Answer::Generic(r) => {
                req.status = match &r {
                    Reply::Status(s) | Reply::RetryAfter(s, _) | Reply::Redirect(s, _) | Reply::Body(s, _) | Reply::Json(s, _) => Some(*s),
                    Reply::Stall(_) => Some(200),
                    Reply::Reset | Reply::Garbage => None,
                };
                req.answered = req.status.is_some();
                self.record(req);
                conn.reply(&r)
            }
            Answer::Bytes { status, bytes, body } => {
                req.status = Some(status);
                req.response = body;
                let MatomoReply::Hold(release) = reply else {
                    req.answered = true;
                    self.record(req);
                    return conn.send(&bytes);
                };
                let (seq, arrival) = self.record(req);
                if !self.wait_release(&release, arrival) {
                    return Flow::Close;
                }
                self.answered(seq);
                conn.send(&bytes)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::sync::mpsc;

    /// Long enough for a loaded machine; every wait returns as soon as its condition holds.
    const WAIT: Duration = Duration::from_secs(20);
    /// 2023-11-14 22:13:20 UTC.
    const NOW: i64 = 1_700_000_000;
    const ID: &str = "3f2a9c4e8b1d4f6a";
    const UUID: &str = "0b7f6e5a-1c2d-4e3f-9a8b-7c6d5e4f3a2b";
    const MESURE: &[(&str, &str)] = &[("Content-Type", "application/json"), ("User-Agent", "Mesure")];

    #[derive(Debug)]
    struct Got {
        status: u16,
        headers: BTreeMap<String, String>,
        body: Vec<u8>,
    }

    impl Got {
        fn text(&self) -> String {
            String::from_utf8_lossy(&self.body).into_owned()
        }
    }

    /// One request on its own connection; `None` when no HTTP answer came back.
    fn send(url: &str, method: &str, target: &str, headers: &[(&str, &str)], body: &str) -> Option<Got> {
        let mut s = TcpStream::connect(url.trim_start_matches("http://")).unwrap();
        let mut head = format!("{method} {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        let _ = s.write_all(head.as_bytes()).and_then(|()| s.write_all(body.as_bytes()));
        let mut raw = Vec::new();
        let _ = s.read_to_end(&mut raw);
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
        let head = String::from_utf8_lossy(&raw[..split]).into_owned();
        let mut lines = head.lines();
        let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
        let headers = lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned())).collect();
        Some(Got { status, headers, body: raw[split + 4..].to_vec() })
    }

    /// A bulk request as Mesure sends it.
    fn post(c: &MatomoCollector, path: &str, entries: &[String]) -> Got {
        send(&c.url(), "POST", path, MESURE, &bulk(entries)).expect("an HTTP answer")
    }

    fn bulk(entries: &[String]) -> String {
        json!({ "requests": entries }).to_string()
    }

    /// A clean entry of visitor ID (a pageview unless `extra` makes it something else).
    fn hit(extra: &str) -> String {
        format!("?idsite=7&rec=1&apiv=1&_id={ID}&cdo=0{extra}")
    }

    fn screen(page: &str) -> String {
        hit(&format!("&url=https%3A%2F%2Fapp%2F{page}&action_name={page}"))
    }

    fn collector() -> MatomoCollector {
        let c = MatomoCollector::start().unwrap();
        c.set_now(NOW);
        c
    }

    #[test]
    fn entries_are_decoded_as_php_parse_str() {
        let p = parse_str("a=1+2&b=%41%2b%2&a=3&x.y=1&+lead=2&arr[]=1&arr[]=2&un[b=3&e=&bare&%zz=%zz&=nokey&sp%20ace=1");
        let want: BTreeMap<String, String> = [
            ("a", "3"),
            ("b", "A+%2"),
            ("x_y", "1"),
            ("lead", "2"),
            ("arr[]", "2"),
            ("un_b", "3"),
            ("e", ""),
            ("bare", ""),
            ("%zz", "%zz"),
            ("sp_ace", "1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(p, want);
        // The same through HTTP, in an entry.
        let c = collector();
        post(&c, "/matomo.php", &[hit("&action_name=Top+stories%20now&action_name=Last%2FOne&e_n=a%3A%3Ab")]);
        let e = &c.received()[0].entries[0];
        assert_eq!(e.get("action_name"), Some("Last/One"));
        assert_eq!(e.get("e_n"), Some("a::b"));
        assert_eq!(e.get("_id"), Some(ID));
    }

    #[test]
    fn a_bulk_request_is_tracked_counted_and_answered_as_matomo() {
        let c = collector();
        let entries = [
            "idsite=7&rec=1".to_owned(), // no `?`: dropped before tracking, the indices shift
            screen("home"),
            hit("&e_c=click&e_a=navigation"),
            format!("?rec=1&_id={ID}&cdo=0"),
            format!("?idsite=7&rec=0&_id={ID}&cdo=0"),
        ];
        let got = post(&c, "/matomo.php", &entries);
        assert_eq!(got.status, 200);
        assert_eq!(got.headers["content-type"], "application/json");
        assert_eq!(got.text(), r#"{"status":"success","tracked":2,"invalid":2,"invalid_indices":[2,3]}"#);
        let r = &c.received()[0];
        assert!(r.bulk && r.acknowledged() && r.answered);
        assert_eq!((r.flavour, r.time, r.response.as_str()), (Some(Flavour::Matomo), NOW, got.text().as_str()));
        let invalid: Vec<Option<Invalid>> = r.entries.iter().map(|e| e.invalid.clone()).collect();
        assert_eq!(invalid, [Some(Invalid::NoQuery), None, None, Some(Invalid::NoSite), Some(Invalid::NotRecording)]);
        let stored = c.matomo_entries();
        assert_eq!(stored.iter().map(|e| (e.index, e.action)).collect::<Vec<_>>(), [(1, ActionType::Pageview), (2, ActionType::Event)]);
        assert_eq!(stored[0].get("url"), Some("https://app/home"));
        // The client was told about all five; Matomo holds two.
        assert_eq!(c.acknowledged_entries().len(), 5);
        assert!(c.violations().is_empty(), "{:?}", c.violations());
    }

    #[test]
    fn the_action_type_is_resolved_as_matomo_does() {
        let c = collector();
        c.reject_violations(false); // link, download and search are never sent, but Matomo resolves them
        let cases = [
            ("&e_c=click&e_a=navigation", ActionType::Event),
            ("&e_c=click", ActionType::Pageview),
            ("&e_a=navigation", ActionType::Pageview),
            ("&e_c=&e_a=navigation", ActionType::Pageview),
            ("&e_c=%0A&e_a=navigation", ActionType::Pageview),
            ("&e_c=0&e_a=0", ActionType::Event),
            ("&e_c[]=click&e_a=navigation", ActionType::Pageview),
            ("&e_c=click&e_a=navigation&link=https%3A%2F%2Fx", ActionType::Outlink),
            ("&e_c=click&e_a=navigation&link=x&download=y", ActionType::Download),
            ("&search=shoes&c_n=banner", ActionType::SiteSearch),
            ("&c_n=banner", ActionType::Content),
            ("&c_n=0", ActionType::Pageview),
            ("&ping=1&e_c=click&e_a=navigation", ActionType::Ping),
            ("&action_name=home", ActionType::Pageview),
        ];
        let entries: Vec<String> = cases.iter().map(|(extra, _)| hit(extra)).collect();
        assert_eq!(post(&c, "/matomo.php", &entries).status, 200);
        let got: Vec<(&str, ActionType)> = c.received()[0].entries.iter().zip(&cases).map(|(e, (extra, _))| (*extra, e.action)).collect();
        let want: Vec<(&str, ActionType)> = cases.to_vec();
        assert_eq!(got, want);
    }

    #[test]
    fn the_action_time_is_the_request_time_minus_cdo_and_a_day_old_entry_is_invalid() {
        let c = collector();
        c.reject_violations(false); // cdt is never sent, but Matomo reads it
        let entry = |q: &str| format!("?idsite=7&rec=1&_id={ID}{q}");
        let cases: [(String, i64, Option<Invalid>); 10] = [
            (entry(""), NOW, None),
            (entry("&cdo=0"), NOW, None),
            (entry("&cdo=90"), NOW - 90, None),
            (entry("&cdo=-90"), NOW - 90, None),
            (entry("&cdo=abc"), NOW, None),
            (entry("&cdo=86399"), NOW - 86_399, None),
            (entry("&cdo=86400"), NOW - 86_400, Some(Invalid::TooOld { age_secs: 86_400 })),
            (entry(&format!("&cdt={}", NOW - 100)), NOW - 100, None),
            (entry(&format!("&cdt={}", NOW + 100)), NOW, None),
            (entry("&cdt=2023-11-14%2022%3A13%3A20&cdo=10"), NOW - 10, None),
        ];
        let entries: Vec<String> = cases.iter().map(|(e, _, _)| e.clone()).collect();
        let got = post(&c, "/matomo.php", &entries);
        assert_eq!(got.text(), r#"{"status":"success","tracked":9,"invalid":1,"invalid_indices":[6]}"#);
        let r = &c.received()[0];
        for (e, (raw, time, invalid)) in r.entries.iter().zip(&cases) {
            assert_eq!((e.action_time, &e.invalid), (*time, invalid), "{raw}");
        }
        assert_eq!(c.matomo_entries().len(), 9);
    }

    #[test]
    fn the_clock_is_the_collectors_and_a_test_sets_it() {
        let c = collector();
        c.reject_violations(false); // cdt is never sent, but Matomo reads it
        let now = Arc::new(std::sync::atomic::AtomicI64::new(NOW));
        let clock = now.clone();
        c.clock(move || clock.load(Ordering::SeqCst));
        let relative = hit("&e_c=a&e_a=b").replace("&cdo=0", "&cdo=1000");
        let absolute = format!("?idsite=7&rec=1&_id={ID}&cdt={}", NOW - 1000);
        post(&c, "/matomo.php", &[relative.clone(), absolute.clone()]);
        // A day later on the collector's clock: cdo still says 1000 s ago, cdt is now too old.
        now.store(NOW + MAX_AGE_SECS, Ordering::SeqCst);
        let got = post(&c, "/matomo.php", &[relative, absolute]);
        assert_eq!(got.text(), r#"{"status":"success","tracked":1,"invalid":1,"invalid_indices":[1]}"#);
        let r = c.received();
        assert_eq!((r[0].time, r[1].time), (NOW, NOW + MAX_AGE_SECS));
        let times = |r: &MatomoRequest| r.entries.iter().map(|e| (e.action_time, e.invalid.clone())).collect::<Vec<_>>();
        assert_eq!(times(&r[0]), [(NOW - 1000, None), (NOW - 1000, None)]);
        assert_eq!(times(&r[1]), [(NOW + MAX_AGE_SECS - 1000, None), (NOW - 1000, Some(Invalid::TooOld { age_secs: MAX_AGE_SECS + 1000 }))]);
        assert_eq!(c.matomo_entries().len(), 3);
        c.system_clock();
        post(&c, "/matomo.php", &[hit("")]);
        assert!(c.received()[2].time > NOW);
    }

    #[test]
    fn piwik_pro_answers_202_without_a_body_and_wants_a_uuid_site() {
        let c = collector();
        let pro = |extra: &str| format!("?idsite={UUID}&rec=1&apiv=1&ts_n=mesure&ts_v=0.1.0&_id={ID}&uia=1&cdo=0{extra}");
        let got = post(&c, "/analytics/ppms.php", &[pro("&action_name=p"), pro("&e_c=a&e_a=b"), hit("")]);
        assert_eq!((got.status, got.body.len()), (202, 0));
        let r = &c.received()[0];
        assert_eq!((r.flavour, r.path.as_str()), (Some(Flavour::PiwikPro), "/analytics/ppms.php"));
        // Matomo's integer site id is no Piwik PRO app id.
        assert_eq!(r.entries[2].invalid, Some(Invalid::NoSite));
        assert_eq!(c.matomo_entries().iter().map(|e| e.action).collect::<Vec<_>>(), [ActionType::Pageview, ActionType::Event]);
        // And a UUID is no Matomo site id.
        post(&c, "/matomo.php", &[pro("")]);
        assert_eq!(c.received()[1].entries[0].invalid, Some(Invalid::NoSite));
    }

    #[test]
    fn a_single_request_is_served_as_matomo_serves_it() {
        let c = collector();
        let url = c.url();
        let ua = [("User-Agent", "Mesure")];
        let got = send(&url, "GET", &format!("/matomo.php{}", screen("p")), &ua, "").unwrap();
        assert_eq!((got.status, got.headers["content-type"].as_str(), got.body.len()), (200, "image/gif", 43));
        // A form body: $_GET + $_POST, the query wins.
        let form = [("User-Agent", "Mesure"), ("Content-Type", "application/x-www-form-urlencoded")];
        let got = send(&url, "POST", "/matomo.php?action_name=query", &form, &format!("{}&action_name=form", &hit("")[1..])).unwrap();
        assert_eq!(got.status, 200);
        let invalid = send(&url, "GET", &format!("/matomo.php?rec=1&_id={ID}"), &ua, "").unwrap();
        assert_eq!(invalid.status, 400);
        let empty = send(&url, "GET", "/matomo.php", &ua, "").unwrap();
        assert_eq!((empty.status, empty.text().contains("Matomo")), (200, true));
        let stored = c.matomo_entries();
        assert_eq!(stored.len(), 2);
        assert_eq!((stored[0].get("action_name"), stored[1].get("action_name")), (Some("p"), Some("query")));
        let r = c.received();
        assert!(!r[0].bulk && r[3].entries.is_empty());
        assert_eq!(r[2].entries[0].invalid, Some(Invalid::NoSite));
        // send_image=0: 204 (send_image is never sent by Mesure).
        c.reject_violations(false);
        let quiet = send(&url, "GET", &format!("/matomo.php{}", hit("&send_image=0")), &ua, "").unwrap();
        assert_eq!(quiet.status, 204);
        // Reported once: a single request's query is its entry.
        assert_eq!(c.received()[4].violations, [Violation::Param { entry: Some(0), key: "send_image".into() }]);
    }

    #[test]
    fn another_path_is_404_and_leaves_the_script_alone() {
        let c = collector();
        c.script([MatomoReply::RetryAfter("9".into())]);
        let got = send(&c.url(), "POST", "/event?s=1", MESURE, "{}").unwrap();
        assert_eq!(got.status, 404);
        assert_eq!(c.received()[0].flavour, None);
        let got = post(&c, "/matomo.php", &[hit("")]);
        assert_eq!((got.status, got.headers["retry-after"].as_str()), (503, "9"));
    }

    #[test]
    fn a_rollback_stores_nothing_and_its_retry_stores_once() {
        let c = collector();
        c.script([MatomoReply::Rollback]);
        let batch = [screen("a"), screen("b"), hit("&e_c=x&e_a=y")];
        let got = post(&c, "/matomo.php", &batch);
        assert_eq!((got.status, got.text().as_str()), (500, r#"{"status":"error","tracked":0,"invalid":0}"#));
        assert!(c.matomo_entries().is_empty());
        assert!(c.acknowledged_entries().is_empty());
        assert_eq!(post(&c, "/matomo.php", &batch).status, 200);
        assert_eq!(c.matomo_entries().len(), 3);
        assert_eq!(c.acknowledged_entries().len(), 3);
        // Piwik PRO: an empty 500.
        c.script([MatomoReply::Rollback]);
        let pro = format!("?idsite={UUID}&rec=1&_id={ID}&cdo=0");
        let got = post(&c, "/ppms.php", &[pro]);
        assert_eq!((got.status, got.body.len()), (500, 0));
        assert_eq!(c.matomo_entries().len(), 3);
    }

    #[test]
    fn a_partial_commit_stores_the_first_entries_then_fails() {
        let c = collector();
        c.script([MatomoReply::PartialCommit(2)]);
        let batch = [screen("a"), format!("?rec=1&_id={ID}"), screen("c"), screen("d")];
        let got = post(&c, "/matomo.php", &batch);
        assert_eq!((got.status, got.text().as_str()), (500, r#"{"status":"error","tracked":1,"invalid":1,"invalid_indices":[1]}"#));
        let stored = |c: &MatomoCollector| c.matomo_entries().iter().map(|e| e.get("action_name").unwrap_or("-").to_owned()).collect::<Vec<_>>();
        assert_eq!(stored(&c), ["a"]);
        assert!(!c.received()[0].acknowledged());
        // The retry duplicates what the failed request had stored.
        post(&c, "/matomo.php", &batch);
        assert_eq!(stored(&c), ["a", "a", "c", "d"]);
    }

    #[test]
    fn a_lost_entry_is_counted_tracked_but_never_stored() {
        let c = collector();
        c.script([MatomoReply::LoseEntry(1)]);
        let got = post(&c, "/matomo.php", &[screen("a"), screen("b"), screen("c")]);
        assert_eq!((got.status, got.text().as_str()), (200, r#"{"status":"success","tracked":3,"invalid":0,"invalid_indices":[]}"#));
        assert_eq!(c.matomo_entries().iter().map(|e| e.index).collect::<Vec<_>>(), [0, 2]);
        assert_eq!(c.acknowledged_entries().len(), 3);
        assert_eq!(c.received()[0].reply, MatomoReply::LoseEntry(1));
    }

    #[test]
    fn a_503_says_when_to_come_back_and_stores_nothing() {
        let c = collector();
        c.script([MatomoReply::RetryAfter("7".into())]);
        let got = post(&c, "/matomo.php", &[screen("a")]);
        assert_eq!((got.status, got.headers.get("retry-after").map(String::as_str)), (503, Some("7")));
        assert!(c.matomo_entries().is_empty());
        assert!(!c.received()[0].acknowledged());
        assert_eq!(post(&c, "/matomo.php", &[screen("a")]).status, 200);
    }

    /// Sends on another thread; the answer comes back on the channel.
    fn post_later(c: &MatomoCollector, entries: Vec<String>) -> mpsc::Receiver<Option<Got>> {
        let (tx, rx) = mpsc::channel();
        let url = c.url();
        std::thread::spawn(move || tx.send(send(&url, "POST", "/matomo.php", MESURE, &bulk(&entries))));
        rx
    }

    #[test]
    fn a_held_answer_comes_after_the_commit_when_its_gate_opens() {
        let c = collector();
        let gate = c.gate();
        c.script([MatomoReply::Hold(Release::Gate(gate.clone()))]);
        let answer = post_later(&c, vec![screen("a"), screen("b")]);
        // Stored before the answer goes out.
        assert!(c.wait_for_entries(2, WAIT));
        assert!(!c.received()[0].answered && !c.received()[0].acknowledged());
        assert!(c.acknowledged_entries().is_empty());
        assert!(answer.try_recv().is_err(), "answered before the gate opened");
        gate.open();
        let got = answer.recv_timeout(WAIT).unwrap().unwrap();
        assert_eq!((got.status, got.text().as_str()), (200, r#"{"status":"success","tracked":2,"invalid":0,"invalid_indices":[]}"#));
        assert!(c.wait_until(WAIT, |r| r[0].acknowledged()));
        assert_eq!(c.acknowledged_entries().len(), 2);
        // A gate opened before the request: the answer goes out at once.
        c.script([MatomoReply::Hold(Release::Gate(gate))]);
        assert_eq!(post(&c, "/matomo.php", &[screen("c")]).status, 200);
    }

    #[test]
    fn a_held_answer_can_wait_for_the_retry() {
        let c = collector();
        c.script([MatomoReply::Hold(Release::Requests(1))]);
        let batch = vec![screen("a"), screen("b")];
        let first = post_later(&c, batch.clone());
        assert!(c.wait_for_requests(1, WAIT));
        assert!(first.try_recv().is_err(), "answered before the retry");
        // The client gave up and sends again: both stored twice.
        assert_eq!(post(&c, "/matomo.php", &batch).status, 200);
        assert_eq!(first.recv_timeout(WAIT).unwrap().unwrap().status, 200);
        assert_eq!(c.matomo_entries().len(), 4);
    }

    #[test]
    fn a_policy_sees_the_decoded_request() {
        let c = collector();
        c.policy(|r| r.entries.iter().any(|e| e.action == ActionType::Event).then_some(MatomoReply::Rollback));
        assert_eq!(post(&c, "/matomo.php", &[screen("a")]).status, 200);
        assert_eq!(post(&c, "/matomo.php", &[screen("a"), hit("&e_c=x&e_a=y")]).status, 500);
        assert_eq!(c.matomo_entries().len(), 1);
    }

    #[test]
    fn generic_replies_answer_and_store_nothing() {
        let c = collector();
        c.script([MatomoReply::Http(Reply::Reset), MatomoReply::Http(Reply::Status(429)), MatomoReply::Http(Reply::Garbage)]);
        let big: Vec<String> = (0..50).map(|i| screen(&format!("p{i}{}", "x".repeat(2000)))).collect();
        assert!(send(&c.url(), "POST", "/matomo.php", MESURE, &bulk(&big)).is_none());
        assert_eq!(post(&c, "/matomo.php", &[screen("a")]).status, 429);
        assert!(send(&c.url(), "POST", "/matomo.php", MESURE, &bulk(&[screen("a")])).is_none());
        let r = c.received();
        assert_eq!(r.iter().map(|r| r.status).collect::<Vec<_>>(), [None, Some(429), None]);
        assert!(r[0].entries.is_empty() && r[0].body.is_empty(), "a reset leaves the body unread");
        assert!(c.matomo_entries().is_empty());
        assert_eq!(post(&c, "/matomo.php", &[screen("a")]).status, 200);
    }

    #[test]
    fn a_request_as_mesure_sends_it_has_no_violation() {
        let c = collector();
        c.consent_dimension(Some(2));
        let ua = "Mozilla%2F5.0%20%28Linux%3B%20Android%2014%3B%20Pixel%208%29%20Mesure%2F0.1.0";
        let entries = [
            format!(
                "?idsite=7&rec=1&apiv=1&_id={ID}&cdo=90&url=https%3A%2F%2Fcom.example.news%2Fnews%2FTop%2520stories\
                 &action_name=Top%20stories&pv_id=a1b2c3&res=1080x2400&ua={ua}&dimension1=3.2&dimension2=exempt"
            ),
            format!("?idsite=7&rec=1&apiv=1&_id={ID}&cdo=1&e_c=click&e_a=navigation&e_n=menu%3A%3AMore&pv_id=a1b2c3&dimension2=exempt"),
            format!("?idsite=7&rec=1&apiv=1&_id={ID}&uid=u-9&cdo=0&e_c=search&e_a=submit&dimension2=optin"),
        ];
        let got = post(&c, "/matomo.php", &entries);
        assert_eq!(got.status, 200, "{}", got.text());
        assert!(c.violations().is_empty(), "{:?}", c.violations());
        let stored = c.matomo_entries();
        assert_eq!(stored[0].get("url"), Some("https://com.example.news/news/Top%20stories"));
        assert_eq!(stored[0].get("ua"), Some("Mozilla/5.0 (Linux; Android 14; Pixel 8) Mesure/0.1.0"));
        assert_eq!(stored.iter().map(|e| e.action).collect::<Vec<_>>(), [ActionType::Pageview, ActionType::Event, ActionType::Event]);
        assert_eq!(stored[0].action_time, NOW - 90);
    }

    /// Posts one request and returns its violations, checking it was refused.
    fn refused(c: &MatomoCollector, target: &str, headers: &[(&str, &str)], body: &str) -> Vec<Violation> {
        c.clear();
        let got = send(&c.url(), "POST", target, headers, body).unwrap();
        assert_eq!(got.status, 400, "{target} {body}: {}", got.text());
        let r = &c.received()[0];
        assert!(got.text().contains("violations") && r.reply == MatomoReply::Reject);
        assert!(c.matomo_entries().is_empty(), "{body}: stored despite a violation");
        r.violations.clone()
    }

    #[test]
    fn each_parameter_never_sent_is_a_violation_and_refused() {
        let c = collector();
        let mut keys: Vec<&str> = NEVER.to_vec();
        keys.extend(["ec_id", "ec_items", "mtm_campaign", "pk_kwd", "utm_source", "UTM_MEDIUM", "_ref[x]"]);
        for key in keys {
            let body = bulk(&[screen("a"), hit(&format!("&{key}=1"))]);
            assert_eq!(refused(&c, "/matomo.php", MESURE, &body), [Violation::Param { entry: Some(1), key: key.to_owned() }], "{key}");
        }
        // In the request itself: its URL query, the bulk body beside `requests`.
        let body = bulk(&[screen("a")]);
        assert_eq!(refused(&c, "/matomo.php?token_auth=t", MESURE, &body), [Violation::Param { entry: None, key: "token_auth".into() }]);
        let body = json!({"requests": [screen("a")], "token_auth": "t"}).to_string();
        assert_eq!(refused(&c, "/ppms.php", MESURE, &body), [Violation::Param { entry: None, key: "token_auth".into() }]);
        // Campaign parameters inside the url.
        let body = bulk(&[hit("&url=https%3A%2F%2Fapp%2Fp%3Futm_source%3Dx%23mtm_kwd%3Dy")]);
        assert_eq!(
            refused(&c, "/matomo.php", MESURE, &body),
            [Violation::CampaignInUrl { entry: 0, key: "utm_source".into() }, Violation::CampaignInUrl { entry: 0, key: "mtm_kwd".into() }]
        );
    }

    #[test]
    fn headers_a_hit_never_carries_are_violations() {
        let c = collector();
        let body = bulk(&[screen("a")]);
        let with = |extra: (&'static str, &'static str)| [MESURE[0], MESURE[1], extra];
        assert_eq!(refused(&c, "/matomo.php", &with(("Cookie", "MATOMO_SESSID=1")), &body), [Violation::Header("cookie".into())]);
        assert_eq!(refused(&c, "/matomo.php", &with(("Accept-Language", "fr-FR")), &body), [Violation::Header("accept-language".into())]);
        let other = [("Content-Type", "application/json"), ("User-Agent", "okhttp/4.12")];
        assert_eq!(refused(&c, "/matomo.php", &other, &body), [Violation::UserAgent(Some("okhttp/4.12".into()))]);
        assert_eq!(refused(&c, "/matomo.php", &MESURE[..1], &body), [Violation::UserAgent(None)]);
    }

    #[test]
    fn more_than_50_entries_or_several_visitors_in_a_request_are_violations() {
        let c = collector();
        let fifty: Vec<String> = (0..50).map(|i| screen(&format!("p{i}"))).collect();
        assert_eq!(post(&c, "/matomo.php", &fifty).status, 200);
        let fifty_one: Vec<String> = (0..51).map(|i| screen(&format!("p{i}"))).collect();
        assert_eq!(refused(&c, "/matomo.php", MESURE, &bulk(&fifty_one)), [Violation::TooManyEntries(51)]);
        let other = "?idsite=7&rec=1&cid=6f70742d6f757400&new_visit=1&cdo=0".to_owned();
        assert_eq!(
            refused(&c, "/matomo.php", MESURE, &bulk(&[screen("a"), other])),
            [Violation::SeveralVisitors(vec![ID.into(), "6f70742d6f757400".into()])]
        );
        // cid wins over _id, as in Matomo: one visitor.
        let both = format!("?idsite=7&rec=1&cid=6f70742d6f757400&_id={ID}&cdo=0");
        c.clear();
        assert_eq!(post(&c, "/matomo.php", &[both, "?idsite=7&rec=1&cid=6f70742d6f757400&cdo=0".into()]).status, 200);
        assert_eq!(refused(&c, "/matomo.php", MESURE, &bulk(&["?idsite=7&rec=1&cdo=0".into()])), [Violation::NoVisitorId { entry: 0 }]);
    }

    #[test]
    fn a_uid_needs_a_consent_dimension_that_says_consent() {
        let c = collector();
        let uid = |dims: &str| bulk(&[hit(&format!("&uid=u-9&e_c=a&e_a=b{dims}"))]);
        assert_eq!(refused(&c, "/matomo.php", MESURE, &uid("&dimension3=true")), [Violation::UidWithoutConsentDimension { entry: 0 }]);
        c.consent_dimension(Some(3));
        for no in ["&dimension3=false", "&dimension3=exempt", "", "&dimension4=true"] {
            assert_eq!(refused(&c, "/matomo.php", MESURE, &uid(no)), [Violation::UidWithoutConsent { entry: 0 }], "{no}");
        }
        for yes in ["&dimension3=true", "&dimension3=optin"] {
            c.clear();
            assert_eq!(post(&c, "/matomo.php", &[hit(&format!("&uid=u-9{yes}"))]).status, 200, "{yes}");
        }
        assert_eq!(c.matomo_entries()[0].get("uid"), Some("u-9"));
        c.consent_dimension(None);
        assert_eq!(refused(&c, "/matomo.php", MESURE, &uid("&dimension3=true")), [Violation::UidWithoutConsentDimension { entry: 0 }]);
    }

    #[test]
    fn violations_are_recorded_but_served_when_not_refusing() {
        let c = collector();
        c.reject_violations(false);
        let got = send(&c.url(), "POST", "/matomo.php", &[MESURE[0], MESURE[1], ("Cookie", "a=b")], &bulk(&[hit("&lang=fr")])).unwrap();
        assert_eq!(got.status, 200);
        assert_eq!(c.matomo_entries().len(), 1);
        assert_eq!(c.violations(), [Violation::Header("cookie".into()), Violation::Param { entry: Some(0), key: "lang".into() }]);
        assert_eq!(c.violations()[1].to_string(), "entry 0: parameter `lang` is never sent");
    }

    #[test]
    fn the_control_endpoints_drive_the_collector_as_a_process() {
        let c = MatomoCollector::start().unwrap();
        let url = c.url();
        let control = |method: &str, path: &str, body: &str| {
            let got = send(&url, method, path, &[], body).unwrap();
            assert_eq!(got.status, 200, "{path}");
            serde_json::from_slice::<Json>(&got.body).unwrap()
        };
        control("POST", "/_config", &json!({"now": NOW, "consent_dimension": 2}).to_string());
        control(
            "POST",
            "/_script",
            r#"[{"rollback": true}, {"hold": true}, {"status": 503, "retry_after": "1"}, {"retry_after": "4"}, {"lose": 0}]"#,
        );
        assert_eq!(post(&c, "/matomo.php", &[screen("a")]).status, 500);
        let held = post_later(&c, vec![hit("&uid=u&dimension2=true")]);
        assert!(c.wait_for_entries(1, WAIT));
        assert!(held.try_recv().is_err(), "answered before /_release");
        control("POST", "/_release", "");
        assert_eq!(held.recv_timeout(WAIT).unwrap().unwrap().status, 200);
        let got = post(&c, "/matomo.php", &[screen("b")]);
        assert_eq!((got.status, got.headers["retry-after"].as_str()), (503, "1"));
        assert_eq!(post(&c, "/matomo.php", &[screen("b")]).headers["retry-after"], "4");
        post(&c, "/matomo.php", &[screen("lost")]);
        let received = control("GET", "/_received", "");
        assert_eq!(received.as_array().unwrap().len(), 5);
        let second = &received[1];
        assert_eq!((second["flavour"].as_str(), second["time"].as_i64(), second["acknowledged"].as_bool()), (Some("matomo"), Some(NOW), Some(true)));
        assert_eq!(second["entries"][0]["action"], "pageview");
        assert_eq!(second["entries"][0]["params"]["uid"], "u");
        assert_eq!(received[0]["reply"], json!({"rollback": true}));
        assert_eq!(received[4]["reply"], json!({"lose": 0}));
        assert_eq!(control("GET", "/_entries", "").as_array().unwrap().len(), 1);
        // A violation, listed as text.
        control("POST", "/_config", &json!({"consent_dimension": null}).to_string());
        assert_eq!(post(&c, "/matomo.php", &[hit("&uid=u&dimension2=true")]).status, 400);
        assert_eq!(control("GET", "/_violations", ""), json!(["entry 0: `uid` while no consent dimension is configured"]));
        control("POST", "/_reset", "");
        assert_eq!(control("GET", "/_received", ""), json!([]));
        assert_eq!(send(&url, "POST", "/_script", &[], "{}").unwrap().status, 400);
    }

    #[test]
    fn a_collector_dropped_while_holding_an_answer_closes_it_unanswered() {
        let c = collector();
        c.script([MatomoReply::Hold(Release::Requests(1))]);
        let held = post_later(&c, vec![screen("a")]);
        assert!(c.wait_for_requests(1, WAIT));
        drop(c);
        assert!(held.recv_timeout(WAIT).unwrap().is_none());
    }
}
