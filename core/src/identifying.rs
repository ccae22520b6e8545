//! Which property names identify a person or a device.
//!
//! Without consent ("exempt" mode) audience measurement may only send
//! strictly necessary, non-identifying fields (CNIL deliberation 2020-091).
//! A data controller may add properties to the exempt allowlist; this module
//! decides, from the property *name* alone, whether that name identifies a
//! person or a device, and must therefore be refused.
//!
//! # Method
//!
//! 1. **Tokens.** The name is lower-cased and split into tokens on every
//!    character that is not a letter `a`–`z` (`_`, `-`, `.`, `$`, digits...):
//!    `ipv4` gives `ipv`, `page_chapter1` gives `page`, `chapter`, `User-ID`
//!    gives `user`, `id`, `$distinct_id` gives `distinct`, `id`. camelCase
//!    arrives lower-cased (`userId` is `userid`) and is read as a glued token.
//! 2. **Words.** Each token is segmented into known words: of the ways to cut
//!    it into pieces that are *all* known words (every word list below,
//!    including [`NEUTRAL_WORDS`] and [`GUARD_WORDS`]), the one with the
//!    fewest pieces wins (ties: the longest first piece). So
//!    `customeruserid` reads `customer`, `user`, `id`; `clientip` reads
//!    `client`, `ip`; `geolat` reads `geo`, `lat`; `emailsha` reads `email`,
//!    `sha`. A token that is itself a known word stays whole (one piece beats
//!    two): this is why real words holding an identifier fragment are listed
//!    (`ipad`, `iphone`, `latency`, `hotel`, `tooltip`, `template`,
//!    `microphone`, `webmail`...). A token with no complete segmentation also
//!    stays whole: an unknown word is never cut around a fragment
//!    (`allocation` is not `al` + `location`). Pieces have two letters at
//!    least, and tokens longer than [`MAX_SEGMENTED_TOKEN`] letters are kept
//!    whole, which bounds the work to a few hash lookups per letter.
//! 3. **Rules**, on the sequence of words. Words are compared whole, never as
//!    substrings. A name is identifying when one of these holds:
//!    1. *Strong word.* A word, or two or three adjacent words written
//!       together (four letters at least), is a strong identifying word:
//!       `email`, `ip`, `imei`, `lat`, `address`, `token`, `usr`, `gclid`...
//!       (`e_mail` is read as `email`, `ip_address` as `ipaddress`,
//!       `app_set_id` as `appsetid`; `c_id` is not `cid`). A token that
//!       *ends* with `address`, `email`, `token`, `password` or `clid` also
//!       counts, for compounds the word list cannot cut (`betoken`).
//!       `location` after a content word is a URL (`page_location`).
//!    2. *Holder + identifier.* A noun naming a person, an account, a device,
//!       an app installation, a session or a transaction is immediately
//!       followed by an identifier suffix (`customer_id`, `device_name`,
//!       `order_number`), or immediately preceded by `id`/`num` (French word
//!       order: `id_client`, `idclient`). Each class of noun takes its own
//!       suffixes: only people and devices take `name` (`ad_name`,
//!       `subscription_name` are a creative and a plan, not a person),
//!       advertising, platform and vendor nouns take only `id`-like suffixes
//!       (`ad_id` but not `ad_code`), phone lines only numbers (`mobile_no`),
//!       sessions no numbers (GA4's `ga_session_number` is a count). Name
//!       parts (`first`, `last`, `given`...) take only `name`, unless a
//!       content word comes first (Piano's `page_full_name`).
//!    3. *Digests.* A hash of an identifier is a pseudonymous identifier.
//!       Digest words (`hash`, `hashed`, `sha`, `md`, `digest`, `hmac`) are
//!       known words, so `emailsha256` and `idfamd5` are cut and refused by
//!       their identifier; they are identifier suffixes of every holder that
//!       takes `id` (`device_hash`, `customer_md5`, OpenRTB's `didsha1`);
//!       and they are transparent for the bare rule (`id_hash`,
//!       `hashed_uuid`). A digest word alone identifies nothing (`url_hash`).
//!    4. *Longitude.* `long` is the last word (`long`, `geo_long`,
//!       `geolong`); elsewhere it is the adjective (`long_press_count`).
//!    5. *Bare identifier.* The whole name, digests aside, is an unqualified
//!       identifier (`id`, `uuid`, `identifier`), `name`, or one of the few
//!       words that identify only when alone ([`BARE_ABBREVIATIONS`]: `sub`,
//!       `alias`, `em`, `ph`, `fn`, `ln`, `db`, `zp`, `mobile`).
//!
//! Each word list below is a named `const` with a one-line reason, so a
//! refusal can always be explained by [`identifying_reason`].
//!
//! # Sources
//!
//! - CNIL 2020-091 §13 counts OS identifiers (IDFA, IDFV, Android ID...) as
//!   trackers: they are refused, like the advertising ids built on them.
//! - CNIL 2020-091 §51 forbids cross-referencing exempt measurement with
//!   other processing.
//! - Piano's answers to the CNIL (seed 001) §4.2: a user ID is never
//!   collected in exempt mode; §4.3: location no finer than the city.
//! - `core/tests/data/identifying_names.tsv`, checked by
//!   `core/tests/identifying_names.rs`: real field names, one row each with
//!   its source. Analytics and attribution SDKs and APIs: Segment Spec
//!   (common fields, Identify traits, e-commerce, video, mobile, B2B SaaS),
//!   Mixpanel default and reserved properties, Amplitude HTTP V2 and
//!   Attribution APIs, Adjust (device identifiers, S2S API, Android SDK,
//!   partner placeholders), AppsFlyer raw data fields, Branch (Android SDK
//!   keys), Braze user attributes, mParticle Events API, Intercom contacts,
//!   OneSignal notifications, Google Analytics 4 and Firebase (event
//!   parameters and names, user properties, automatically collected and
//!   enhanced measurement, BigQuery export, Measurement Protocol and its
//!   user-provided data), Universal Analytics Measurement Protocol, Google
//!   Ads API and Data Manager API user identifiers, Matomo Tracking HTTP API,
//!   Piano Analytics (Android SDK property names, standard events,
//!   Collection API), PostHog (campaign and GeoIP properties, JS defaults),
//!   Adobe Analytics data feeds, Tealium, Mapp, Meta Conversions API,
//!   OpenRTB 2.6, and TrackHAR's adapters (tweaselORG), which map the field
//!   names real apps send to 20 trackers. Platforms: Android (Settings,
//!   TelephonyManager, WifiInfo, BluetoothAdapter, Build, Location,
//!   advertising and app set ids, Firebase Installations and Messaging,
//!   Play Billing), Apple (UIDevice, ASIdentifierManager, APNs, Contacts,
//!   Core Location, ProcessInfo, App Store Server API, SKAdNetwork, Sign in
//!   with Apple). Standards: schema.org (`Person`, `PostalAddress`,
//!   `GeoCoordinates`, `IndividualProduct`, `VideoObject`, `Article`),
//!   OpenID Connect claims, OAuth 2.0, HTML `autocomplete` tokens, W3C
//!   Payment Request and WebAuthn, LDAP `inetOrgPerson`, IAB OTT IFA types,
//!   HTTP headers, Google Maps `LatLngLiteral`, and payment and commerce
//!   APIs (Stripe, Shopify). The SDK's own names (its exempt properties,
//!   reserved keys and test lists) complete them.
//!
//! # Judgements
//!
//! - Content ids (`article_id`, `product_id`, `video_id`, `page_id`,
//!   `campaign_id`, `link_id`...) identify content, not a person: accepted.
//!   So are group and company ids (`group_id`, Segment's `groupId` and
//!   `company.id`): a group is not a person. `click_id` and Branch's
//!   `link_click_id` name a click, as `event_id` names a hit: accepted,
//!   while ad networks' click ids (below) are refused.
//! - Transaction ids (order, cart, basket, checkout, wishlist, invoice,
//!   booking, payment, purchase, receipt, refund, subscription, ticket,
//!   licence... and the abbreviations `txn`, `trx`, `ord`, `tx` and Matomo's
//!   `ec`, the last two before an id only) link a hit to a customer record
//!   in the controller's own systems, which is the cross-referencing CNIL
//!   2020-091 §51 forbids: refused. Amounts and counts (`cart_value`,
//!   `ecommerce.refund_value`) are accepted; `ord` alone (DoubleClick's
//!   cache-buster) and `tx_power` are accepted.
//! - Session and visit ids (`session_id`, `sess_id`, `visit_id`, `sid`,
//!   `jsessionid`) are refused: they would be a second identifier beside the
//!   app-scoped visitor id. Session measures and counts (`session_duration`,
//!   `ga_session_number`, Adobe's `visit_num`) are accepted. `sid` is refused
//!   alone too, where it may mean a site id (rename it `site_id`), and in
//!   OpenRTB's `gpp_sid`.
//! - Coarse geography (`country`, `region`, `city`, `geo_country`,
//!   `geo.city`, GA's `geoid`, OpenID's `locality`) is accepted (city level
//!   at most, seed 001 §4.3; the collector derives it from the truncated IP
//!   anyway). `geo` is only a qualifier: `geolat`, `geo_latitude`, `geo_zip`
//!   are refused by their coordinate or postal word, `geoip_*` by `ip`.
//!   Postcodes, streets, coordinates, `gps` and `location` are refused.
//!   `loc` is accepted: it is as often a page URL (Adform's `loc`) or a
//!   localisation as a location.
//! - `load_id` is accepted: it names one page load, as `event_id` names one
//!   hit, and `load` is not a person, device or transaction. PostHog's
//!   `$pageview_id`, Matomo's `pv_id` and Mixpanel's `$insert_id` likewise.
//! - `guid` and `uuid` identify only what they qualify: refused bare or after
//!   a holder noun (`device_uuid`, `ios_uuid`, `web_uuid`), accepted after
//!   content (`content_guid`). `uid` (and `uids`) is refused everywhere: in
//!   practice it means a user id.
//! - A bare `name` is refused: unqualified, it may well be a person's name;
//!   `page_name` and `product_name` are accepted.
//! - `user`, `usr`, `login` and `identity` are refused wherever they appear
//!   (`user_category`, `login_method`, `identity_provider`), as the previous
//!   glob list did for `user_*`.
//! - `player` is a person (a game player; OneSignal's `player_id` is its
//!   device subscription): `player_id` is refused, even where it would name
//!   a media player.
//! - Demographic attributes (`gender`, `age`, `nationality`) do not identify
//!   by their name and are not refused here; whether they are *necessary* is
//!   for the allowlist's written justification.
//! - Abbreviations: `usr` is `user`; `cust`, `acct`, `acc`, `mbr` are account
//!   holders (`acc_no`); `devc`, `dev` and `did` are devices, the last two
//!   before an id only (`dev_id`, OpenRTB's `didsha1`; `dev_mode` is
//!   development, and a developer id is an account id anyway); `mobile` is a
//!   device before an id (`mobile_id`) and a phone line before a number;
//!   `mob`, `cell`, `sms` are phone lines before a number only (`mob_no`,
//!   but a game's `mob_count` is accepted); `sess` is a session; `txn`,
//!   `trx`, `tx`, `ord` are transactions; `tel`, `pw`, `pwd`, `addr`,
//!   `msisdn`, `imsi`, `bday`, `yob` are strong words. Not added: `subs`
//!   (subtitles, substitutions), `sub` except alone (OpenID Connect's
//!   subject), `loc` (see above), `trans` (translation, transition) and
//!   `aid` (GA's app id, `hearing_aid`; Amazon's `amazon_aid` is a strong
//!   word).
//! - Platform and vendor ids (`google_id`, `apple_id`, `fb_id`,
//!   `amplitude_id`, `appsflyer_id`, `braze_id`, `onesignal_id`, `vendor_id`,
//!   `web_uuid`...) are account or install ids on those platforms: refused,
//!   even where `apple_id` is an App Store app id or `vendor_id` a seller.
//!   `external`, `crm` and `sso` ids are foreign keys to a person's record:
//!   refused. `anonymous`, `anon`, `distinct`, `identified`, `pseudo`,
//!   `unique` and `persistent` ids are user ids by another name: refused.
//!   So are Adobe's `visid` columns and mParticle's `mpid`.
//! - Ad click ids and ad cookies (`gclid`, `fbclid`, `msclkid`, `ttclid`,
//!   `wbraid`, `li_fat_id`, `epik`, Meta's `fbp` and `fbc`...) single out
//!   one click or browser of one person: refused, including Mailchimp's
//!   `mc_cid` (a campaign) caught by `cid`.
//! - Meta's one- and two-letter customer fields (`em`, `ph`,
//!   `fn`, `ln`, `db`, `zp`), mParticle's `$Mobile` and Mixpanel's `alias`
//!   are refused only as the whole name; inside a name they are too common
//!   (`fn_duration`, Branch's `customer_event_alias`). Meta's `ge`, `ct`,
//!   `st` (gender, city, state) are accepted.
//! - Push and registration ids (`push_token`, `registration_token`,
//!   `deviceToken`, OneSignal's bare `identifier`) address one device:
//!   refused. A bare `channel_id` (Airship's device channel, but far more
//!   often a TV or notification channel) is accepted.
//! - Tokens and secrets are refused by class, even when they belong to the
//!   app rather than the person (Adjust's `app_token` and `event_token`,
//!   `token_type`, `privacy_info.uses_transient_token`).
//! - Known limits, accepted: a name is read for what it says. Android's
//!   `getLine1Number` sent as `line1Number` reads `line`, `number` (a source
//!   line in a crash report); Stripe's `billing_details.name` reads as the
//!   name of the details; Mixpanel's `$android_devices` (push tokens) reads
//!   as a device list; tracker codes of two or three letters (`ae`, `i00`,
//!   Klaviyo's `_kx`) are not read at all. Unknown words glued to an
//!   identifier are not cut (the word list must know them): only the
//!   allowlist's written justification can catch what the name hides.
//! - Deliberate over-blocking, accepted because a refusal only costs a rename
//!   (or consent): `user_agent`, `is_active_user`, `ad_user_data`,
//!   `userInterfaceIdiom` (by `user`); `phone_model`, `phone_type`,
//!   `$has_telephone` (by `phone`); `ip_country`, `geoip_city_name`,
//!   `geo.ipservice` (by `ip`); `location_permission`, `location_mode`,
//!   `location.city`, `location_id` (a store), `globalLocationNumber` (by
//!   `location`); `address_country`, `address.city`, `address-level2` (by
//!   `address`); `email_opt_in`, `email_verified`, `email_domain`,
//!   `unsubscribed_from_emails` (by `email`); `cookie_consent`,
//!   `browser_cookie_acceptance` (by `cookie`); `mac_os_version` (by `mac`);
//!   `zip_file` (by `zip`); `is_long`; `is_lat` and `lat_val` (limit ad
//!   tracking flags, by `lat`); `device_name` and `hardware_name` (model
//!   names at Adjust and Piano); `build_fingerprint` and Android's
//!   `Build.FINGERPRINT`; `hardware_id_type`; `af_ad_id` and `iad_ad_id`
//!   (ad creatives, by `ad_id`); `network_account_id` (an ad network
//!   account); `account_name` (a B2B account); `vendor_id` (a seller);
//!   `hiddenSSID` (a flag); `$identity_failure_reason`.

use std::collections::HashSet;
use std::sync::OnceLock;

// Refusal reasons, one per class of identifying data.
const USER: &str = "a user or account identifier";
const OS_AD: &str = "an OS or advertising identifier";
const NETWORK: &str = "a network address";
const LOCATION: &str = "precise location";
const CONTACT: &str = "contact details";
const PERSON_NAME: &str = "a person's name";
const BIRTH: &str = "a birth date";
const POSTAL: &str = "a postal address";
const HARDWARE: &str = "a hardware identifier";
const INSTALLATION: &str = "an app installation identifier";
const CREDENTIAL: &str = "a token or credential";
const TRANSACTION: &str = "a transaction identifier";
const SESSION: &str = "a session identifier";
const OFFICIAL: &str = "an official or financial identifier";
const UNQUALIFIED: &str = "an unqualified identifier";

// ---- Rule 1: strong words (a word, or 2-3 adjacent words joined) ----

/// User ids are never collected in exempt mode (seed 001 §4.2); `cid` is GA's
/// and Matomo's visitor id, `ppid` a publisher-provided user id, `mpid`
/// mParticle's user id.
#[rustfmt::skip]
const USER_WORDS: &[&str] = &[
    "user", "usr", "uid", "uids", "login", "logon", "utilisateur", "identity", "cid", "ppid", "mpid",
    "visid", "mcvisid",
];
/// OS and advertising ids are trackers (CNIL 2020-091 §13), under every
/// platform's name (IAB's IFA types: `rida`, `afai`, `msai`, `tifa`, `vida`,
/// `lgudid`; Singular's `aifa`, `andi`, `asid`; OpenRTB's `ifa`, `dpid`).
#[rustfmt::skip]
const OS_AD_WORDS: &[&str] = &[
    "idfa", "idfv", "gaid", "aaid", "adid", "ssaid", "oaid", "gpsadid", "appsetid", "ifa", "ifv",
    "aifa", "andi", "asid", "madid", "rida", "afai", "msai", "tifa", "vida", "lgudid", "dpid",
    "amazonaid", "identifierforvendor",
];
/// Ad click ids and ad cookies single out one click or browser of one person.
#[rustfmt::skip]
const AD_CLICK_WORDS: &[&str] = &[
    "gclid", "dclid", "gbraid", "wbraid", "fbclid", "msclkid", "twclid", "ttclid", "yclid",
    "igshid", "epik", "sccid", "qclid", "irclid", "clid", "lifatid", "fbp", "fbc",
];
/// IP addresses, Wi-Fi network ids and host names point at a device or a home
/// (`cip` and `uip` are Matomo's and GA's IP overrides).
#[rustfmt::skip]
const NETWORK_WORDS: &[&str] = &[
    "ip", "ips", "ipv", "ipaddr", "ipaddress", "remoteaddr", "xforwardedfor", "ssid", "bssid",
    "hostname", "cip", "uip",
];
/// Location finer than the city is not allowed (seed 001 §4.3).
#[rustfmt::skip]
const LOCATION_WORDS: &[&str] = &[
    "latitude", "longitude", "lat", "lng", "lon", "latlng", "latlon", "latlong", "lnglat", "gps",
    "location", "geolocation", "geoloc", "geohash", "geopoint", "geoposition", "coord", "coords",
    "coordinate", "coordinates",
];
/// E-mail addresses and phone numbers reach a person directly.
#[rustfmt::skip]
const CONTACT_WORDS: &[&str] = &[
    "email", "emails", "mail", "emailaddress", "courriel", "phone", "phones", "phonenumber",
    "cellphone", "mobilenumber", "tel", "telephone", "msisdn", "fax", "impp",
];
/// Names that are a person's name on their own (others come from rule 2).
const PERSON_NAME_WORDS: &[&str] = &["surname", "forename", "prenom"];
/// A birth date (or year, or place) singles a person out.
#[rustfmt::skip]
const BIRTH_WORDS: &[&str] = &[
    "birth", "birthdate", "birthday", "birthyear", "birthplace", "dob", "dateofbirth", "naissance",
    "bday", "yob",
];
/// Postal addresses and postcodes are finer than the city.
#[rustfmt::skip]
const POSTAL_WORDS: &[&str] = &[
    "address", "addresses", "adresse", "addr", "street", "postcode", "postalcode", "codepostal",
    "zip", "zipcode", "housenumber", "pobox", "postofficebox",
];
/// Ids burnt into the device, its SIM or its network interfaces.
#[rustfmt::skip]
const HARDWARE_WORDS: &[&str] = &[
    "imei", "imeisv", "imsi", "iccid", "meid", "esn", "udid", "serial", "serialno", "serialnumber",
    "mac", "macaddr", "macaddress", "bluetoothaddress", "naid",
];
/// Secrets and tokens identify (and authenticate) their holder.
#[rustfmt::skip]
const CREDENTIAL_WORDS: &[&str] = &[
    "token", "tokens", "cookie", "cookies", "fingerprint", "password", "passwords", "passwd",
    "pwd", "pw", "secret", "secrets", "credential", "credentials", "apikey", "jwt", "bearer", "otp",
    "onetimecode", "passcode", "webauthn", "privatekey",
];
/// National, tax, bank and card numbers identify a person outright.
#[rustfmt::skip]
const OFFICIAL_WORDS: &[&str] = &[
    "iban", "ssn", "nir", "passport", "socialsecurity", "nationalid", "taxid", "creditcard",
    "cardnumber", "licenseplate", "driverlicense", "driverslicense", "cvv", "cvc", "csc",
];
/// Sessions under their cookie names: a second identifier beside the visitor id.
const SESSION_WORDS: &[&str] = &["sid", "jsessionid", "phpsessid"];

/// Every strong list with its reason, searched in this order.
const STRONG: [(&[&str], &str); 13] = [
    (USER_WORDS, USER),
    (OS_AD_WORDS, OS_AD),
    (AD_CLICK_WORDS, OS_AD),
    (NETWORK_WORDS, NETWORK),
    (LOCATION_WORDS, LOCATION),
    (CONTACT_WORDS, CONTACT),
    (PERSON_NAME_WORDS, PERSON_NAME),
    (BIRTH_WORDS, BIRTH),
    (POSTAL_WORDS, POSTAL),
    (HARDWARE_WORDS, HARDWARE),
    (CREDENTIAL_WORDS, CREDENTIAL),
    (OFFICIAL_WORDS, OFFICIAL),
    (SESSION_WORDS, SESSION),
];

/// Strong words no common English word ends with, so they also count at the
/// end of a token the word list cannot cut (`xyzaddress`, `accesstoken`).
const STRONG_ENDINGS: [(&str, &str); 5] = [("address", POSTAL), ("email", CONTACT), ("token", CREDENTIAL), ("password", CREDENTIAL), ("clid", OS_AD)];

/// Runs of up to this many adjacent words are joined and looked up.
const MAX_RUN: usize = 3;
/// A joined run shorter than this is a coincidence of short tokens (`c_id`).
const MIN_JOINED: usize = 4;
/// Strong words that name a URL after a content word (GA4's `page_location`).
const URL_WORDS: &[&str] = &["location"];

// ---- Rule 2: holder noun + identifier suffix ----

/// Suffixes that always make an identifier of what they follow.
const KEY_SUFFIXES: &[&str] = &["id", "ids", "uid", "uuid", "guid", "ident", "identifier"];
/// Numbers: identifiers of accounts, lines and documents.
const NUMBER_SUFFIXES: &[&str] = &["number", "num", "no", "nr", "numero"];
/// Codes, references and keys: identifiers by another name.
const REF_SUFFIXES: &[&str] = &["code", "ref", "reference", "token", "key"];
/// Digests: a hash of an identifier is a pseudonymous identifier.
const DIGEST_SUFFIXES: &[&str] = &["hash", "hashed", "sha", "md", "digest", "hmac"];
/// A name: identifying only after a person, a device or a name part.
const NAME_SUFFIXES: &[&str] = &["name"];
/// Words that identify the holder written *before* it (`id_client`, `num_client`).
const ID_PREFIXES: &[&str] = &["id", "uid", "uuid", "guid", "num", "numero"];

/// People and accounts: a user id in all but name (seed 001 §4.2).
#[rustfmt::skip]
const PERSON_NOUNS: &[&str] = &[
    "user", "customer", "account", "client", "member", "visitor", "subscriber", "profile",
    "contact", "person", "patient", "employee", "player", "household", "owner", "holder",
    "student", "guest", "passenger", "driver", "buyer", "recipient", "viewer", "reader", "lead",
    "loyalty", "abonne", "membership", "consumer", "shopper", "traveler", "traveller", "attendee",
    "participant", "respondent", "seller", "payer", "cust", "acct", "acc", "mbr",
];
/// Words that make a user id of the id they qualify (`distinct_id`, `anon_id`).
#[rustfmt::skip]
const PSEUDONYM_NOUNS: &[&str] = &[
    "anonymous", "anon", "distinct", "identified", "pseudo", "unique", "persistent",
];
/// Foreign keys to a person's record elsewhere (cross-referencing, CNIL 2020-091 §51).
const FOREIGN_NOUNS: &[&str] = &["external", "crm", "sso"];
/// Platform accounts: the id is the person's account on that platform.
#[rustfmt::skip]
const PLATFORM_NOUNS: &[&str] = &[
    "google", "apple", "facebook", "fb", "twitter", "instagram", "linkedin", "tiktok", "snapchat",
    "microsoft", "yahoo", "github",
];
/// Devices and SIMs: a device id, or a device name that often carries the owner's name.
#[rustfmt::skip]
const DEVICE_NOUNS: &[&str] = &[
    "device", "hardware", "hw", "sim", "devc", "handset", "machine", "bluetooth",
];
/// Devices only before an id: `dev_mode` is development, `mobile_number` a phone line.
const DEVICE_ABBREVIATIONS: &[&str] = &["dev", "did", "mobile"];
/// App installations: a per-install id is a device id for this app.
const INSTALLATION_NOUNS: &[&str] = &["install", "installation", "instance"];
/// Browsers and analytics vendors: their ids are per-install (or per-browser) ids.
#[rustfmt::skip]
const VENDOR_NOUNS: &[&str] = &[
    "browser", "web", "amplitude", "appsflyer", "adjust", "braze", "mparticle", "kochava",
    "onesignal", "clevertap", "leanplum", "airship", "mixpanel", "matomo", "piwik", "posthog",
    "firebase", "criteo", "taboola", "outbrain", "piano",
];
/// OS and advertising ids under their long names (CNIL 2020-091 §13).
const OS_AD_NOUNS: &[&str] = &["android", "ios", "advertiser", "advertising", "ad", "adv", "vendor"];
/// Sessions and visits: a second identifier beside the app-scoped visitor id.
const SESSION_NOUNS: &[&str] = &["session", "sess", "visit"];
/// Transactions link a hit to a customer record (cross-referencing, CNIL 2020-091 §51).
#[rustfmt::skip]
const TRANSACTION_NOUNS: &[&str] = &[
    "order", "transaction", "invoice", "booking", "reservation", "cart", "basket", "payment",
    "purchase", "receipt", "subscription", "ticket", "contract", "shipment", "checkout",
    "wishlist", "refund", "license", "licence", "txn", "trx", "ord",
];
/// Transaction abbreviations that are something else before a non-id word (`tx_power`).
const TRANSACTION_ABBREVIATIONS: &[&str] = &["tx", "ec"];
/// Push registrations: the push token or id addresses one device.
const PUSH_NOUNS: &[&str] = &["push", "fcm", "apns", "gcm", "registration"];
/// Phone lines, identifying before a number suffix (`mobile_no`).
const PHONE_NOUNS: &[&str] = &["mobile", "mob", "cell", "sms", "whatsapp"];
/// Tax numbers of a person or a sole trader (`vat_number`, schema.org's `vatID`).
const TAX_NOUNS: &[&str] = &["vat"];
/// Payment cards, before a number or a name only (HTML's `cc-number`, `cc-name`).
const CARD_NOUNS: &[&str] = &["cc"];
/// A home's number or door code is part of its postal address.
const HOME_NOUNS: &[&str] = &["home", "house", "apartment"];
/// Parts of a person's name, identifying before `name` only (`first_name`).
#[rustfmt::skip]
const NAME_PART_NOUNS: &[&str] = &[
    "first", "last", "full", "given", "family", "middle", "nick", "maiden", "additional", "real",
];
/// Content words before a name part (`page_full_name` names a page, not a
/// person) or before [`URL_WORDS`] (`page_location` is the page's URL).
#[rustfmt::skip]
const CONTENT_QUALIFIERS: &[&str] = &[
    "page", "click", "screen", "product", "item", "file", "level", "chapter", "event", "app", "link",
    "site", "video", "audio", "category", "list", "campaign", "article", "section", "content",
    "promotion", "creative",
];

/// A class of holder nouns, the suffixes that make them identifying, and why.
struct Holder {
    nouns: &'static [&'static str],
    suffixes: &'static [&'static [&'static str]],
    reason: &'static str,
}

impl Holder {
    fn has_noun(&self, word: &str) -> bool {
        self.nouns.contains(&word)
    }

    fn takes_suffix(&self, word: &str) -> bool {
        self.suffixes.iter().any(|set| set.contains(&word))
    }

    /// `id_client`-style prefixes go with the classes that take `id`.
    fn takes_prefix(&self, word: &str) -> bool {
        self.suffixes.contains(&KEY_SUFFIXES) && ID_PREFIXES.contains(&word)
    }
}

/// Suffixes of the classes that take every kind of identifier.
const ALL_IDS: &[&[&str]] = &[KEY_SUFFIXES, NUMBER_SUFFIXES, REF_SUFFIXES, DIGEST_SUFFIXES];
/// Suffixes of the classes that take every kind of identifier, and a name.
const ALL_IDS_AND_NAME: &[&[&str]] = &[KEY_SUFFIXES, NUMBER_SUFFIXES, REF_SUFFIXES, DIGEST_SUFFIXES, NAME_SUFFIXES];
/// Sessions take no number: a session number is a count (GA4's `ga_session_number`).
const SESSION_IDS: &[&[&str]] = &[KEY_SUFFIXES, REF_SUFFIXES, DIGEST_SUFFIXES];
/// Suffixes of the classes that take only `id`-like words (and their digests).
const KEYS: &[&[&str]] = &[KEY_SUFFIXES, DIGEST_SUFFIXES];

/// The position of the name-part class in [`HOLDERS`].
const NAME_PART_HOLDER: usize = HOLDERS.len() - 1;

/// Every holder class, searched in this order.
const HOLDERS: [Holder; 18] = [
    Holder { nouns: PERSON_NOUNS, suffixes: ALL_IDS_AND_NAME, reason: USER },
    Holder { nouns: PSEUDONYM_NOUNS, suffixes: KEYS, reason: USER },
    Holder { nouns: FOREIGN_NOUNS, suffixes: KEYS, reason: USER },
    Holder { nouns: PLATFORM_NOUNS, suffixes: KEYS, reason: USER },
    Holder { nouns: DEVICE_NOUNS, suffixes: ALL_IDS_AND_NAME, reason: HARDWARE },
    Holder { nouns: DEVICE_ABBREVIATIONS, suffixes: KEYS, reason: HARDWARE },
    Holder { nouns: INSTALLATION_NOUNS, suffixes: ALL_IDS, reason: INSTALLATION },
    Holder { nouns: VENDOR_NOUNS, suffixes: KEYS, reason: INSTALLATION },
    Holder { nouns: OS_AD_NOUNS, suffixes: KEYS, reason: OS_AD },
    Holder { nouns: SESSION_NOUNS, suffixes: SESSION_IDS, reason: SESSION },
    Holder { nouns: TRANSACTION_NOUNS, suffixes: ALL_IDS, reason: TRANSACTION },
    Holder { nouns: TRANSACTION_ABBREVIATIONS, suffixes: KEYS, reason: TRANSACTION },
    Holder { nouns: PUSH_NOUNS, suffixes: ALL_IDS, reason: CREDENTIAL },
    Holder { nouns: PHONE_NOUNS, suffixes: &[NUMBER_SUFFIXES], reason: CONTACT },
    Holder { nouns: TAX_NOUNS, suffixes: &[KEY_SUFFIXES, NUMBER_SUFFIXES], reason: OFFICIAL },
    Holder { nouns: CARD_NOUNS, suffixes: &[NUMBER_SUFFIXES, NAME_SUFFIXES], reason: OFFICIAL },
    Holder { nouns: HOME_NOUNS, suffixes: ALL_IDS, reason: POSTAL },
    Holder { nouns: NAME_PART_NOUNS, suffixes: &[NAME_SUFFIXES], reason: PERSON_NAME },
];

// ---- Rules 4 and 5 ----

/// `long` is longitude only as the last word (`geo_long`, not `long_press_count`).
const LONGITUDE_LAST: &str = "long";
/// Names that are nothing but an identifier: of whom is not said, so refused.
const BARE_IDENTIFIERS: &[&str] = &["id", "ids", "uuid", "guid", "ident", "identifier"];
/// Names that are nothing but a name: most likely a person's.
const BARE_NAMES: &[&str] = &["name"];
/// Abbreviations identifying only as the whole name, with their reasons:
/// OpenID Connect's subject, Meta's customer fields, mParticle's `$Mobile`.
#[rustfmt::skip]
const BARE_ABBREVIATIONS: &[(&str, &str)] = &[
    ("sub", USER),
    ("alias", USER),
    ("em", CONTACT),
    ("ph", CONTACT),
    ("mobile", CONTACT),
    ("fn", PERSON_NAME),
    ("ln", PERSON_NAME),
    ("db", BIRTH),
    ("zp", POSTAL),
];

// ---- Segmentation ----

/// Tokens longer than this many letters are kept whole, unsegmented.
const MAX_SEGMENTED_TOKEN: usize = 64;

/// Common words of analytics names, known so that glued names can be cut
/// around the identifying words (`wifimac`, `lastlogin`, `pagename`).
#[rustfmt::skip]
const NEUTRAL_WORDS: &[&str] = &[
    // pages, screens and navigation
    "page", "pages", "screen", "screens", "view", "views", "viewed", "click", "clicks", "clicked",
    "tap", "scroll", "depth", "chapter", "section", "title", "path", "url", "uri", "link", "links",
    "referrer", "referer", "referring", "domain", "host", "site", "website", "landing", "previous",
    "next", "current", "initial", "entry", "exit", "bounce", "navigation", "menu", "tab", "button",
    "banner", "widget", "element", "component", "layout", "modal", "popup", "dialog", "form",
    "field", "input", "step", "funnel", "flow", "route", "target", "outbound", "deep", "deeplink",
    // events
    "event", "events", "action", "actions", "category", "label", "value", "values", "type", "types",
    "kind", "source", "medium", "campaign", "term", "keyword", "keywords", "search", "query",
    "result", "results", "count", "counts", "total", "sum", "data", "info", "detail", "details",
    "property", "properties", "param", "params", "parameter", "tag", "tags", "trigger", "service",
    "analytics", "partner", "message", "instant",
    // time
    "time", "times", "timestamp", "date", "day", "days", "week", "month", "year", "hour", "hours",
    "minute", "minutes", "second", "seconds", "duration", "length", "start", "started", "end",
    "ended", "begin", "stop", "elapsed", "timezone", "zone", "utc", "local", "epoch", "ms",
    "millis", "created", "updated", "modified", "deleted", "received", "sent", "processed",
    "expires", "expiry", "since", "ago", "spent", "interval", "delay", "offset",
    // apps, devices and networks
    "app", "apps", "application", "version", "versions", "build", "sdk", "lib", "library",
    "platform", "os", "tablet", "desktop", "tv", "watch", "model", "brand", "manufacturer", "make",
    "cpu", "arch", "abi", "ram", "memory", "disk", "storage", "free", "used", "battery", "level",
    "charging", "orientation", "portrait", "landscape", "density", "dpi", "resolution", "width",
    "height", "size", "viewport", "display", "dark", "light", "mode", "theme", "font", "locale",
    "language", "lang", "country", "region", "city", "state", "continent", "metro", "geo",
    "carrier", "operator", "network", "connection", "connectivity", "wifi", "cellular", "bluetooth",
    "nfc", "radio", "signal", "roaming", "speed", "bandwidth", "bitrate", "framerate", "quality",
    "volume", "sound", "muted", "fullscreen", "rooted", "jailbroken", "emulator", "simulator",
    "agent", "kernel", "package", "bundle", "store", "market", "api", "endpoint", "http", "https",
    "server", "request", "response", "net", "online", "offline", "foreground", "background",
    "uptime", "boot", "mms", "hidden", "interface", "idiom", "voice", "global", "locality",
    "postal", "numbers", "phonetic", "non", "gregorian", "relations", "social", "department",
    // commerce
    "product", "products", "item", "items", "sku", "price", "quantity", "currency", "revenue",
    "tax", "discount", "coupon", "promo", "promotion", "affiliation", "variant", "list", "position",
    "index", "rating", "review", "stock", "inventory", "shop", "amount", "cost", "subtotal", "sale",
    "deal", "offer", "plan", "tier", "trial", "premium", "paid",
    // media
    "video", "audio", "media", "play", "pause", "resume", "seek", "ads", "pod", "creative", "slot",
    "placement", "format", "asset", "episode", "season", "program", "show", "genre", "channel",
    "publisher", "author", "article", "podcast", "live", "livestream", "song", "playlist",
    "content", "image", "photo", "picture", "thumbnail", "caption", "subtitle",
    // errors and code
    "error", "errors", "reason", "success", "failure", "failed", "method", "exception", "crash",
    "stack", "trace", "line", "file", "function", "class", "module",
    // flags, consent and experiments
    "is", "has", "can", "enabled", "disabled", "enable", "disable", "allowed", "opt", "opted",
    "consent", "privacy", "purpose", "purposes", "tracking", "limit", "limited", "personalization",
    "personalized", "test", "experiment", "variation", "group", "groups", "cohort", "segment",
    "bucket", "flag", "flags", "feature", "features", "setting", "settings", "config", "option",
    "options", "preference", "preferences", "notification", "notifications", "alert", "badge",
    "permission", "permissions", "granted", "denied", "gdpr", "ccpa", "coppa",
    // qualifiers and measures
    "obfuscated", "encoded", "masked", "anonymized", "known", "unknown", "saved", "stored", "cached",
    "linked", "connected", "associated", "backup", "recovery", "personal", "professional",
    "corporate", "preferred", "legal", "official", "registered", "delivery", "pickup", "return",
    "sender", "receiver", "handle", "handles",
    "new", "old", "main", "primary", "secondary", "default", "custom", "internal", "public",
    "private", "raw", "original", "final", "max", "min", "avg", "average", "rate", "ratio",
    "percent", "pct", "score", "points", "rank", "progress", "achievement", "reward", "coins",
    "virtual", "engagement", "engaged", "active", "inactive", "returning", "retention", "churn",
    "lifetime", "ltv", "work", "billing", "shipping", "business", "company", "organization",
    "organisation", "office", "emergency", "alternate", "other", "secure", "encrypted", "plain",
    "short", "upper", "lower", "hex", "set", "once", "all", "any", "none", "top", "bottom", "left",
    "right", "up", "down", "open", "close", "closed", "share", "shared", "sharing", "like",
    "comment", "follow", "download", "upload", "load", "loaded", "record", "records", "word",
    "words", "access", "auth", "oauth", "grant", "scope", "provider", "sign", "signup", "register",
    "verified", "verification", "confirmed", "gender", "age", "nationality", "job", "role", "team",
    "ecommerce",
    // connectors
    "of", "to", "by", "for", "from", "at", "in", "on", "per", "with", "and", "not",
];

/// Real words holding an identifier fragment, listed so that they stay whole
/// (one piece beats two): `ipad` is not `ip` + `ad`, `hotel` not `ho` + `tel`.
#[rustfmt::skip]
const GUARD_WORDS: &[&str] = &[
    "ipad", "iphone", "ipod", "iptv", "zipper", "latency", "latest", "later", "lateral", "latin",
    "latte", "lattice", "template", "templates", "tooltip", "hotel", "motel", "hostel", "intel",
    "telnet", "salon", "island", "recipe", "recipes", "ship", "shipped", "tip", "tips", "clip",
    "clipboard", "chip", "trip", "skip", "skipped", "equip", "equipment", "script", "description",
    "participant", "principal", "multiple", "relationship", "macro", "macbook", "pharmacy", "along",
    "belong", "oblong", "prolong", "longer", "longest", "london", "balloon", "melon", "colon",
    "plate", "flat", "translate", "translation", "relate", "related", "relation", "relative",
    "calculate", "chocolate", "collate", "telemetry", "telegram", "television", "telephony", "side",
    "sidebar", "inside", "outside", "consider", "shape", "shadow", "acid", "decide", "cipher",
    "addon", "adult", "admin", "advance", "advanced", "adventure", "adapter", "adaptive", "adblock",
    "adidas", "idle", "idea", "ideas", "valid", "invalid", "prepaid", "hybrid", "grid", "accident",
    "accidental", "accent", "accept", "accepted", "accel", "accelerometer", "accessibility",
    "accuracy", "accurate", "accordion", "headphone", "headphones", "earphone", "earphones",
    "microphone", "smartphone", "speakerphone", "ordinal", "ordered", "ordering", "border",
    "mailing", "guide", "serialized", "serialize", "webmail", "reallocation", "languid",
];

/// Every word the segmentation knows: the rule lists and the two lists above.
fn dictionary() -> &'static HashSet<&'static str> {
    static WORDS: OnceLock<HashSet<&'static str>> = OnceLock::new();
    WORDS.get_or_init(|| {
        let strong = STRONG.iter().flat_map(|(words, _)| words.iter());
        let holders = HOLDERS.iter().flat_map(|h| h.nouns.iter());
        let suffixes = [
            KEY_SUFFIXES,
            NUMBER_SUFFIXES,
            REF_SUFFIXES,
            DIGEST_SUFFIXES,
            NAME_SUFFIXES,
            ID_PREFIXES,
            CONTENT_QUALIFIERS,
            BARE_IDENTIFIERS,
            BARE_NAMES,
            NEUTRAL_WORDS,
            GUARD_WORDS,
        ]
        .into_iter()
        .flat_map(|words| words.iter());
        let endings = STRONG_ENDINGS.iter().map(|(word, _)| word);
        let bare = BARE_ABBREVIATIONS.iter().map(|(word, _)| word);
        strong.chain(holders).chain(suffixes).chain(endings).chain(bare).chain([&LONGITUDE_LAST]).copied().filter(|word| word.len() >= 2).collect()
    })
}

/// The longest word of the dictionary, the longest piece worth looking up.
fn longest_word() -> usize {
    static LONGEST: OnceLock<usize> = OnceLock::new();
    *LONGEST.get_or_init(|| dictionary().iter().map(|w| w.len()).max().unwrap_or(0))
}

/// Pushes onto `out` the pieces of `token` (lower-case ASCII letters): its
/// segmentation into known words with the fewest pieces (ties: the longest
/// first piece), or `token` itself when it has none.
fn segment<'a>(token: &'a str, out: &mut Vec<&'a str>) {
    const NONE: u8 = u8::MAX;
    let n = token.len();
    if n > MAX_SEGMENTED_TOKEN {
        out.push(token);
        return;
    }
    let dict = dictionary();
    let longest = longest_word();
    // pieces[i]: fewest pieces cutting token[i..]; next[i]: where the first ends.
    let mut pieces = [NONE; MAX_SEGMENTED_TOKEN + 1];
    let mut next = [0usize; MAX_SEGMENTED_TOKEN + 1];
    pieces[n] = 0;
    for i in (0..n).rev() {
        for end in (i + 2..=n.min(i + longest)).rev() {
            let rest = pieces[end];
            if rest != NONE && rest + 1 < pieces[i] && dict.contains(&token[i..end]) {
                pieces[i] = rest + 1;
                next[i] = end;
            }
        }
    }
    if pieces[0] == NONE {
        out.push(token);
        return;
    }
    let mut i = 0;
    while i < n {
        let end = next[i];
        out.push(&token[i..end]);
        i = end;
    }
}

/// The tokens of `lower` (a lower-cased name): its runs of letters.
fn tokens(lower: &str) -> impl Iterator<Item = &str> {
    lower.split(|c: char| !c.is_ascii_lowercase()).filter(|t| !t.is_empty())
}

/// Whether the property name `name` identifies a person or a device, and so
/// may never be sent without consent. See the module documentation for the
/// rules; equivalent to `identifying_reason(name).is_some()`.
#[must_use]
pub fn is_identifying(name: &str) -> bool {
    identifying_reason(name).is_some()
}

/// Why the property name `name` identifies a person or a device, as a short
/// English phrase naming the class of data ("a user or account identifier",
/// "precise location", "contact details"...), or `None` when it does not.
///
/// Case and separators do not matter: `User-ID`, `user.id` and `user_id` are
/// read alike, and so are glued names (`userid`, `customeruserid`).
#[must_use]
pub fn identifying_reason(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    let mut words = Vec::with_capacity(8);
    for token in tokens(&lower) {
        segment(token, &mut words);
    }
    let mut joined = String::with_capacity(lower.len());
    for i in 0..words.len() {
        if let Some(reason) = match_at(&words, i, &mut joined) {
            return Some(reason);
        }
    }
    for token in tokens(&lower) {
        if let Some((_, reason)) = STRONG_ENDINGS.iter().find(|(ending, _)| token.len() > ending.len() && token.ends_with(ending)) {
            return Some(reason);
        }
    }
    if words.last() == Some(&LONGITUDE_LAST) {
        return Some(LOCATION);
    }
    bare(&words)
}

/// Rules 1 and 2 for the words starting at `i`; `joined` is scratch space.
fn match_at(words: &[&str], i: usize, joined: &mut String) -> Option<&'static str> {
    // Rule 1: the longest run first, so `ip_address` reads as one word. A
    // joined run must make a word of four letters at least: `c_id` is not `cid`.
    for len in (1..=MAX_RUN.min(words.len() - i)).rev() {
        joined.clear();
        words[i..i + len].iter().for_each(|w| joined.push_str(w));
        if len > 1 && joined.len() < MIN_JOINED {
            continue;
        }
        if let Some(reason) = strong(joined) {
            let names_content = len == 1 && URL_WORDS.contains(&words[i]) && i > 0 && CONTENT_QUALIFIERS.contains(&words[i - 1]);
            if !names_content {
                return Some(reason);
            }
        }
    }
    // Rule 2: noun + suffix, or prefix + noun.
    let word = words[i];
    let next = words.get(i + 1).copied()?;
    HOLDERS
        .iter()
        .enumerate()
        .find(|&(class, h)| {
            let noun_then_suffix = h.has_noun(word) && h.takes_suffix(next);
            let prefix_then_noun = h.takes_prefix(word) && h.has_noun(next);
            let names_content = class == NAME_PART_HOLDER && i > 0 && CONTENT_QUALIFIERS.contains(&words[i - 1]);
            (noun_then_suffix || prefix_then_noun) && !names_content
        })
        .map(|(_, h)| h.reason)
}

/// The reason of the strong list holding `word`, if any.
fn strong(word: &str) -> Option<&'static str> {
    STRONG.iter().find(|(words, _)| words.contains(&word)).map(|&(_, reason)| reason)
}

/// Rule 5: the whole name, digest words aside, is one bare identifier.
fn bare(words: &[&str]) -> Option<&'static str> {
    let mut rest = words.iter().filter(|w| !DIGEST_SUFFIXES.contains(w));
    let (Some(only), None) = (rest.next(), rest.next()) else {
        return None;
    };
    if BARE_IDENTIFIERS.contains(only) {
        Some(UNQUALIFIED)
    } else if BARE_NAMES.contains(only) {
        Some(PERSON_NAME)
    } else if words.len() == 1 {
        BARE_ABBREVIATIONS.iter().find(|(word, _)| word == only).map(|&(_, reason)| reason)
    } else {
        None
    }
}

/// The words `name` is read as, for tests: its tokens, segmented.
#[cfg(test)]
pub(crate) fn words_of(name: &str) -> Vec<String> {
    let lower = name.to_ascii_lowercase();
    let mut words = Vec::new();
    for token in tokens(&lower) {
        segment(token, &mut words);
    }
    words.into_iter().map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names that identify a person or a device: refused in exempt mode.
    const REFUSED: &[&str] = &[
        // user and account ids (seed 001 §4.2)
        "userid",
        "username",
        "uid",
        "user_id",
        "user2_id",
        "user_category",
        "customer_id",
        "customerid",
        "customer_number",
        "account_id",
        "account_number",
        "client_id",
        "idclient",
        "id_client",
        "id_user",
        "member_id",
        "visitor_id",
        "subscriber_id",
        "profile_id",
        "patient_id",
        "employee_id",
        "player_id",
        "household_id",
        "loyalty_number",
        "login",
        "login_name",
        "contact_name",
        "User-ID",
        "customerId",
        // OS and advertising ids (CNIL 2020-091 §13)
        "idfa",
        "idfv",
        "gaid",
        "aaid",
        "adid",
        "ssaid",
        "android_id",
        "androidid",
        "advertising_id",
        "advertiserid",
        "ad_id",
        "gps_adid",
        "app_set_id",
        // devices, installations and hardware
        "device_id",
        "deviceid",
        "Device.ID",
        "device_name",
        "device_token",
        "install_id",
        "installation_id",
        "app_instance_id",
        "imei",
        "imsi",
        "iccid",
        "meid",
        "udid",
        "serialnumber",
        "serial_number",
        "macaddress",
        "mac_address",
        "wifi_mac",
        // network addresses
        "ip",
        "ipaddress",
        "ip_address",
        "ipv4",
        "IPv6",
        "wifi_ssid",
        "bssid",
        // precise location (seed 001 §4.3)
        "lat",
        "lng",
        "lon",
        "long",
        "geo_long",
        "home_long",
        "latitude",
        "longitude",
        "geo_latitude",
        "home_lat",
        "lat_lng",
        "gps_position",
        "geo_position",
        "geohash",
        "coordinates",
        "location",
        "precise_location",
        // contact details
        "mail",
        "email",
        "e_mail",
        "E-Mail",
        "contact_email",
        "emailaddress",
        "tel",
        "phone_number",
        "phonenumber",
        "msisdn",
        "mobile_number",
        // names, birth dates, postal addresses
        "full_name",
        "first_name",
        "last_name",
        "firstname",
        "surname",
        "nickname",
        "maiden_name",
        "name",
        "birthdate",
        "birthday",
        "birth_year",
        "date_of_birth",
        "dateofbirth",
        "dob",
        "address",
        "street_address",
        "billingaddress",
        "home_address",
        "postal_code",
        "postcode",
        "zip_code",
        "zipcode",
        "house_number",
        // official, financial, credentials
        "iban",
        "ssn",
        "passport_number",
        "credit_card_number",
        "push_token",
        "push_id",
        "access_token",
        "accesstoken",
        "cookie",
        "fingerprint",
        "password",
        "api_key",
        // sessions and transactions (CNIL 2020-091 §51)
        "session_id",
        "sessionid",
        "session_token",
        "order_id",
        "order_number",
        "transaction_id",
        "cart_id",
        "basket_id",
        "invoice_number",
        "booking_reference",
        "subscription_id",
        "ticket_number",
        "payment_id",
        // bare identifiers
        "id",
        "uuid",
        "guid",
        "id2",
    ];

    /// Ordinary analytics names: accepted.
    const ACCEPTED: &[&str] = &[
        // the built-in exempt properties
        "page",
        "page_chapter1",
        "page_chapter2",
        "page_chapter3",
        "previous_page",
        "click",
        "click_chapter1",
        "click_chapter2",
        "click_chapter3",
        "device_type",
        "device_brand",
        "device_model",
        "device_screen_width",
        "device_screen_height",
        "os",
        "os_version",
        "app_version",
        "connection_type",
        "device_timestamp_utc",
        "event_collection_platform",
        "event_collection_version",
        "page_duration",
        "page_load_time",
        "page_scroll_depth",
        "visitor_privacy_mode",
        "visitor_privacy_consent",
        "event_id",
        // content ids: they identify content, not a person
        "article_id",
        "product_id",
        "content_id",
        "content_guid",
        "category_id",
        "campaign_id",
        "experiment_id",
        "video_id",
        "page_id",
        "screen_id",
        "load_id",
        // other ordinary measures
        "ab_variant",
        "error_code",
        "http_status",
        "search_results_count",
        "screen_orientation",
        "app_language",
        "theme",
        "long_press_count",
        "media_position",
        "playback_rate",
        "video_duration",
        "site_section",
        "level",
        "score",
        "promo_code",
        "country_code",
        "page_name",
        "product_name",
        "device_model_name",
        "device_os_name",
        "ad_name",
        "ad_position",
        "advertiser_name",
        "subscription_plan",
        "subscription_name",
        "cart_value",
        "cart_item_count",
        "session_duration",
        "session_count",
        "new_visitor",
        "account_type",
        "android_version",
        "install_source",
        "first_launch",
        "last_page_name",
        "battery_level",
        "dark_mode",
        "font_size",
        "network_type",
        "latency_ms",
        "telemetry_enabled",
        "ticket_price",
        "button_label",
        "list_position",
        "scroll_depth",
        "sort_order",
        // coarse geography: city level at most (seed 001 §4.3)
        "country",
        "region",
        "city",
        // whole tokens: no substring matches
        "tooltip",
        "hotel",
        "salon",
        "zipper",
        "iphone_model",
        "template",
        "Page-Load.Time",
    ];

    #[test]
    fn refused_names_are_identifying() {
        for name in REFUSED {
            assert!(is_identifying(name), "{name:?} should be refused");
        }
    }

    #[test]
    fn accepted_names_are_not_identifying() {
        for name in ACCEPTED {
            assert!(!is_identifying(name), "{name:?} should be accepted, refused as {:?}", identifying_reason(name));
        }
    }

    #[test]
    fn every_refusal_has_a_reason() {
        for name in REFUSED {
            assert!(identifying_reason(name).is_some(), "{name:?} has no reason");
        }
    }

    #[test]
    fn tables_are_large_and_disjoint() {
        assert!(REFUSED.len() >= 70, "{} refused names", REFUSED.len());
        assert!(ACCEPTED.len() >= 45, "{} accepted names", ACCEPTED.len());
        for name in REFUSED {
            assert!(!ACCEPTED.contains(name), "{name:?} is in both tables");
        }
        for table in [REFUSED, ACCEPTED] {
            for (i, name) in table.iter().enumerate() {
                assert!(!table[..i].contains(name), "{name:?} is listed twice");
            }
        }
    }

    #[test]
    fn reasons_name_the_class() {
        let cases = [
            ("user_id", USER),
            ("idclient", USER),
            ("idfa", OS_AD),
            ("android_id", OS_AD),
            ("gps_adid", OS_AD),
            ("ip_address", NETWORK),
            ("geo_long", LOCATION),
            ("gps_position", LOCATION),
            ("contact_email", CONTACT),
            ("first_name", PERSON_NAME),
            ("date_of_birth", BIRTH),
            ("street_address", POSTAL),
            ("postal_code", POSTAL),
            ("mac_address", HARDWARE),
            ("device_id", HARDWARE),
            ("install_id", INSTALLATION),
            ("push_token", CREDENTIAL),
            ("order_id", TRANSACTION),
            ("session_id", SESSION),
            ("iban", OFFICIAL),
            ("uuid", UNQUALIFIED),
        ];
        for (name, reason) in cases {
            assert_eq!(identifying_reason(name), Some(reason), "{name:?}");
        }
    }

    #[test]
    fn case_and_separators_do_not_matter() {
        let names = ["user_id", "USER_ID", "User-Id", "user.id", "user__id", "_user_id_"];
        for name in names {
            assert_eq!(identifying_reason(name), Some(USER), "{name:?}");
        }
    }

    #[test]
    fn degenerate_names_are_accepted() {
        for name in ["", "_", "123", "-.-", "é"] {
            assert_eq!(identifying_reason(name), None, "{name:?}");
        }
    }

    #[test]
    fn documented_over_blocking_holds() {
        for name in [
            "user_agent",
            "phone_model",
            "ip_country",
            "location_permission",
            "cookie_consent",
            "email_opt_in",
            "mac_os_version",
            "is_long",
            "login_method",
            "media_player_id",
        ] {
            assert!(is_identifying(name), "{name:?} is documented as refused");
        }
    }

    #[test]
    fn glued_and_abbreviated_names_of_the_issue_are_refused() {
        let cases = [
            ("customeruserid", USER),
            ("clientip", NETWORK),
            ("geolat", LOCATION),
            ("wifimac", HARDWARE),
            ("emailsha256", CONTACT),
            ("usr_id", USER),
        ];
        for (name, reason) in cases {
            assert_eq!(identifying_reason(name), Some(reason), "{name:?} read as {:?}", words_of(name));
        }
    }

    #[test]
    fn tokens_are_cut_into_the_fewest_known_words() {
        let cases: [(&str, &[&str]); 12] = [
            ("customeruserid", &["customer", "user", "id"]),
            ("clientip", &["client", "ip"]),
            ("geolat", &["geo", "lat"]),
            ("wifimac", &["wifi", "mac"]),
            ("emailsha256", &["email", "sha"]),
            ("usr_id", &["usr", "id"]),
            ("$distinct_id", &["distinct", "id"]),
            ("device.advertisingId", &["device", "advertising", "id"]),
            ("ipad", &["ipad"]),
            ("accident", &["accident"]),
            ("allocation", &["allocation"]),
            ("qwxzy_latency", &["qwxzy", "latency"]),
        ];
        for (name, words) in cases {
            assert_eq!(words_of(name), words, "{name:?}");
        }
    }

    #[test]
    fn real_words_holding_a_fragment_stay_whole() {
        for name in [
            "ipad",
            "iphone",
            "ipod",
            "zipper",
            "latency",
            "latest",
            "template",
            "tooltip",
            "hotel",
            "salon",
            "island",
            "recipe",
            "shipping",
            "shipment_count",
            "intel",
            "microphone",
            "headphones",
            "smartphone",
            "webmail",
            "belong",
            "along",
            "accident",
            "platform",
            "translation",
            "telemetry",
            "television",
            "sidebar",
            "shared",
            "macbook",
            "machine",
            "devices",
            "development",
            "mobile_network",
            "reallocation",
            "is_iphone",
            "ipad_model",
        ] {
            assert_eq!(identifying_reason(name), None, "{name:?} read as {:?}", words_of(name));
        }
    }

    #[test]
    fn abbreviations_follow_the_documented_choices() {
        for name in [
            "usr",
            "cust_id",
            "custid",
            "acct_no",
            "acc_no",
            "mbr_id",
            "devid",
            "dev_id",
            "devc_id",
            "mobile_id",
            "mob_no",
            "mobile_num",
            "cell_number",
            "tel",
            "addr",
            "pwd",
            "pw",
            "sess_id",
            "sessid",
            "sid",
            "txn_id",
            "trx_id",
            "txid",
            "ord_no",
            "ordid",
            "ec_id",
            "msisdn",
            "imsi",
            "bday",
            "yob",
            "vat_number",
            "cc_number",
            "cc_name",
            "amazon_aid",
        ] {
            assert!(is_identifying(name), "{name:?} read as {:?}", words_of(name));
        }
        for name in [
            "dev_mode",
            "dev_build",
            "mob_count",
            "tx_power",
            "tx_bytes",
            "ord",
            "loc",
            "subs",
            "sub_category",
            "aid",
            "hearing_aid_enabled",
            "trans_type",
            "ec_items",
            "cc_language",
            "sms_opt_in",
            "cell_signal_level",
            "acc_x",
            "visit_num",
            "ga_session_number",
        ] {
            assert_eq!(identifying_reason(name), None, "{name:?} read as {:?}", words_of(name));
        }
    }

    #[test]
    fn digests_of_identifiers_are_identifiers() {
        for name in [
            "email_sha256",
            "emailsha256",
            "email_md5",
            "phone_hash",
            "ip_hash",
            "mac_sha1",
            "hashed_email",
            "sha256_email",
            "idfa_md5",
            "idfamd5",
            "user_id_hash",
            "device_hash",
            "devicehash",
            "customer_md5",
            "session_sha1",
            "id_hash",
            "hashed_uuid",
            "didsha1",
            "android_id_lower_sha1",
        ] {
            assert!(is_identifying(name), "{name:?} read as {:?}", words_of(name));
        }
        for name in ["url_hash", "content_sha", "file_md5", "page_hash", "hash", "sha256", "md5"] {
            assert_eq!(identifying_reason(name), None, "{name:?} read as {:?}", words_of(name));
        }
    }

    #[test]
    fn content_words_keep_names_and_urls_of_content() {
        for name in ["page_full_name", "click_full_name", "page_location", "link_location"] {
            assert_eq!(identifying_reason(name), None, "{name:?}");
        }
        for name in ["full_name", "customer_full_name", "location", "user_location", "store_location"] {
            assert!(is_identifying(name), "{name:?}");
        }
    }

    #[test]
    fn names_the_sdk_relies_on_stay_accepted() {
        for name in [
            // EXEMPT_PROPERTIES (rules.rs) and the SDK's own keys
            "page",
            "page_chapter1",
            "page_chapter2",
            "page_chapter3",
            "previous_page",
            "click",
            "click_chapter1",
            "click_chapter2",
            "click_chapter3",
            "device_type",
            "device_brand",
            "device_model",
            "device_screen_width",
            "device_screen_height",
            "os",
            "os_version",
            "app_version",
            "connection_type",
            "device_timestamp_utc",
            "event_collection_platform",
            "event_collection_version",
            "page_duration",
            "page_load_time",
            "page_scroll_depth",
            "visitor_privacy_mode",
            "visitor_privacy_consent",
            "visitor_privacy_purposes",
            "event_id",
            // event names
            "page.display",
            "click.action",
            "click.navigation",
            "click.download",
            "click.exit",
            "search.results",
            "video.play",
            // names of the SDK's tests and examples
            "article_id",
            "video_duration",
            "error_code",
            "theme",
            "search_results_count",
            "long_press_count",
            "app_language",
            "level",
            "ab_variant",
            "search_category",
            "basket_value",
            "reco_segment",
            "ad_campaign",
            "campaign_name",
            "free_text",
            "long_text",
            "list",
            "m_x",
            "visit_x",
            "reco_slot",
            "a_very_long_property_name_of_forty_one_ch",
        ] {
            assert_eq!(identifying_reason(name), None, "{name:?} read as {:?}", words_of(name));
        }
    }

    #[test]
    fn names_the_sdk_refuses_stay_refused() {
        for name in [
            "user_id",
            "userid",
            "username",
            "uid",
            "customer_id",
            "account_id",
            "client_id",
            "member_id",
            "deviceid",
            "device_id",
            "androidid",
            "android_id",
            "advertiserid",
            "advertising_id",
            "idfa",
            "idfv",
            "gaid",
            "ipaddress",
            "ip",
            "lat",
            "lng",
            "lon",
            "long",
            "geo_long",
            "geo_latitude",
            "location",
            "email",
            "mail",
            "tel",
            "phone_number",
            "imsi",
            "iccid",
            "serialnumber",
            "macaddress",
            "idclient",
            "visitor_id",
            "login",
            "full_name",
            "birthdate",
            "address",
            "ssaid",
            "user.login",
            "user_category",
        ] {
            assert!(is_identifying(name), "{name:?} read as {:?}", words_of(name));
        }
    }

    #[test]
    fn word_lists_hold_only_accepted_words_once() {
        let mut seen = HashSet::new();
        for word in NEUTRAL_WORDS.iter().chain(GUARD_WORDS) {
            assert!(seen.insert(word), "{word:?} is listed twice");
            assert!(word.len() >= 2, "{word:?} is too short to be a piece");
            assert_eq!(identifying_reason(word), None, "{word:?} is a neutral or guard word");
        }
        assert!(dictionary().iter().all(|w| w.len() >= 2 && w.bytes().all(|b| b.is_ascii_lowercase())));
    }

    #[test]
    fn long_tokens_are_kept_whole() {
        let long = "user".repeat(MAX_SEGMENTED_TOKEN / 4 + 1);
        assert_eq!(words_of(&long), std::slice::from_ref(&long));
        let fits = "user".repeat(MAX_SEGMENTED_TOKEN / 4);
        assert_eq!(words_of(&fits).len(), MAX_SEGMENTED_TOKEN / 4);
        assert!(is_identifying(&fits));
    }

    #[test]
    fn long_is_longitude_only_at_the_end() {
        assert_eq!(identifying_reason("long"), Some(LOCATION));
        assert_eq!(identifying_reason("geo_long"), Some(LOCATION));
        assert_eq!(identifying_reason("long_press_count"), None);
        assert_eq!(identifying_reason("long_video_share"), None);
    }
}
