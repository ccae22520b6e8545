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
//! The name is lower-cased and split into tokens on every character that is
//! not a letter `a`–`z` (`_`, `-`, `.`, digits...): `ipv4` gives `ipv`,
//! `page_chapter1` gives `page`, `chapter`, `User-ID` gives `user`, `id`.
//! Tokens are compared whole, never as substrings, so `hotel` does not
//! contain `tel`, `tooltip` does not contain `ip` and `latency` is not `lat`.
//! A name is identifying when one of these rules holds:
//!
//! 1. **Strong word.** A token, or two or three adjacent tokens written
//!    together, is a strong identifying word: `email`, `ip`, `imei`, `lat`,
//!    `address`, `token`... (`e_mail` is read as `email`, `ip_address` as
//!    `ipaddress`, `app_set_id` as `appsetid`). A token that *ends* with
//!    `address`, `email`, `token` or `password` also counts, for compounds
//!    written in one piece (`billingaddress`, `accesstoken`).
//! 2. **Holder + identifier.** A noun naming a person, an account, a device,
//!    an app installation, a session or a transaction is immediately followed
//!    by an identifier suffix (`customer_id`, `device_name`, `order_number`),
//!    or written together with it (`customerid`), or immediately preceded by
//!    `id`/`num` (French word order: `id_client`, `idclient`). Each class of
//!    noun takes its own suffixes: only people and devices take `name`
//!    (`ad_name`, `subscription_name` are a creative and a plan, not a
//!    person), and advertising nouns take only `id`-like suffixes (`ad_id`
//!    but not `ad_code`). Name parts (`first`, `last`, `given`...) take only
//!    `name`.
//! 3. **Longitude.** `long` is the last token (`long`, `geo_long`,
//!    `home_long`); elsewhere it is the adjective (`long_press_count`).
//! 4. **Bare identifier.** The whole name is an unqualified identifier
//!    (`id`, `uuid`, `guid`) or `name`.
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
//!
//! # Judgements
//!
//! - Content ids (`article_id`, `product_id`, `video_id`, `page_id`,
//!   `campaign_id`...) identify content, not a person: accepted.
//! - Transaction ids (order, cart, basket, invoice, booking, payment,
//!   subscription, ticket...) link a hit to a customer record in the
//!   controller's own systems, which is the cross-referencing CNIL 2020-091
//!   §51 forbids: refused. Amounts and counts (`cart_value`) are accepted.
//! - Session ids are refused: they would be a second identifier beside the
//!   app-scoped visitor id. Session measures (`session_duration`) are fine.
//! - Coarse geography (`country`, `region`, `city`) is accepted as a name
//!   (city level at most, seed 001 §4.3; the collector derives it from the
//!   truncated IP anyway). Postcodes, streets, coordinates, `gps` and
//!   `location` are refused.
//! - `load_id` is accepted: it names one page load, as `event_id` names one
//!   hit, and `load` is not a person, device or transaction.
//! - `guid` and `uuid` identify only what they qualify: refused bare or after
//!   a holder noun (`device_uuid`), accepted after content (`content_guid`).
//!   `uid` is refused everywhere: in practice it means a user id.
//! - A bare `name` is refused: unqualified, it may well be a person's name;
//!   `page_name` and `product_name` are accepted.
//! - `user` and `login` are refused wherever they appear (`user_category`,
//!   `login_method`), as the previous glob list did for `user_*`.
//! - `player` is a person (a game player): `player_id` is refused, even where
//!   it would name a media player.
//! - Demographic attributes (`gender`, `age`) do not identify by their name
//!   and are not refused here; whether they are *necessary* is for the
//!   allowlist's written justification.
//! - Some refusals are deliberate over-blocking, accepted because a refusal
//!   only costs a rename (or consent): `user_agent`, `phone_model`,
//!   `ip_country`, `location_permission`, `cookie_consent`,
//!   `email_opt_in`, `mac_os_version`, `is_long`.

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

// ---- Rule 1: strong words (a token, or 2-3 adjacent tokens joined) ----

/// User ids are never collected in exempt mode (seed 001 §4.2).
const USER_WORDS: &[&str] = &["user", "uid", "login", "logon", "utilisateur"];
/// OS and advertising ids are trackers (CNIL 2020-091 §13).
const OS_AD_WORDS: &[&str] = &[
    "idfa", "idfv", "gaid", "aaid", "adid", "ssaid", "oaid", "gpsadid", "appsetid",
];
/// IP addresses, Wi-Fi network ids and host names point at a device or a home.
const NETWORK_WORDS: &[&str] = &[
    "ip", "ipv", "ipaddr", "ipaddress", "remoteaddr", "xforwardedfor", "ssid", "bssid", "hostname",
];
/// Location finer than the city is not allowed (seed 001 §4.3).
const LOCATION_WORDS: &[&str] = &[
    "latitude", "longitude", "lat", "lng", "lon", "latlng", "latlon", "latlong", "lnglat", "gps",
    "location", "geolocation", "geoloc", "geohash", "geopoint", "geoposition", "coord", "coords",
    "coordinates",
];
/// E-mail addresses and phone numbers reach a person directly.
const CONTACT_WORDS: &[&str] = &[
    "email", "mail", "emailaddress", "courriel", "phone", "phonenumber", "cellphone",
    "mobilenumber", "tel", "telephone", "msisdn", "fax",
];
/// Names that are a person's name on their own (others come from rule 2).
const PERSON_NAME_WORDS: &[&str] = &["surname", "forename", "prenom"];
/// A birth date (or year, or place) singles a person out.
const BIRTH_WORDS: &[&str] = &[
    "birth", "birthdate", "birthday", "birthyear", "birthplace", "dob", "dateofbirth", "naissance",
];
/// Postal addresses and postcodes are finer than the city.
const POSTAL_WORDS: &[&str] = &[
    "address", "adresse", "addr", "street", "postcode", "postalcode", "codepostal", "zip",
    "zipcode", "housenumber",
];
/// Ids burnt into the device, its SIM or its network interfaces.
const HARDWARE_WORDS: &[&str] = &[
    "imei", "imeisv", "imsi", "iccid", "meid", "esn", "udid", "serial", "serialno", "serialnumber",
    "mac", "macaddr", "macaddress", "bluetoothaddress",
];
/// Secrets and tokens identify (and authenticate) their holder.
const CREDENTIAL_WORDS: &[&str] = &[
    "token", "cookie", "fingerprint", "password", "passwd", "pwd", "secret", "credential",
    "credentials", "apikey", "jwt", "bearer",
];
/// National, tax, bank and card numbers identify a person outright.
const OFFICIAL_WORDS: &[&str] = &[
    "iban", "ssn", "nir", "passport", "socialsecurity", "nationalid", "taxid", "creditcard",
    "cardnumber", "licenseplate", "driverlicense", "driverslicense",
];

/// Every strong list with its reason, searched in this order.
const STRONG: [(&[&str], &str); 11] = [
    (USER_WORDS, USER),
    (OS_AD_WORDS, OS_AD),
    (NETWORK_WORDS, NETWORK),
    (LOCATION_WORDS, LOCATION),
    (CONTACT_WORDS, CONTACT),
    (PERSON_NAME_WORDS, PERSON_NAME),
    (BIRTH_WORDS, BIRTH),
    (POSTAL_WORDS, POSTAL),
    (HARDWARE_WORDS, HARDWARE),
    (CREDENTIAL_WORDS, CREDENTIAL),
    (OFFICIAL_WORDS, OFFICIAL),
];

/// Strong words no common English word ends with, so they also count at the
/// end of a one-piece compound (`billingaddress`, `accesstoken`).
const STRONG_ENDINGS: [(&str, &str); 4] = [
    ("address", POSTAL),
    ("email", CONTACT),
    ("token", CREDENTIAL),
    ("password", CREDENTIAL),
];

/// Runs of up to this many adjacent tokens are joined and looked up.
const MAX_RUN: usize = 3;

// ---- Rule 2: holder noun + identifier suffix ----

/// Suffixes that always make an identifier of what they follow.
const KEY_SUFFIXES: &[&str] = &["id", "ids", "uid", "uuid", "guid", "ident", "identifier"];
/// Numbers, codes, references, keys and hashes: identifiers by another name.
const REF_SUFFIXES: &[&str] = &[
    "number", "num", "no", "nr", "numero", "code", "ref", "reference", "token", "key", "hash",
];
/// A name: identifying only after a person, a device or a name part.
const NAME_SUFFIXES: &[&str] = &["name"];
/// Words that identify the holder written *before* it (`id_client`, `num_client`).
const ID_PREFIXES: &[&str] = &["id", "uid", "uuid", "guid", "num", "numero"];

/// People and accounts: a user id in all but name (seed 001 §4.2).
const PERSON_NOUNS: &[&str] = &[
    "user", "customer", "account", "client", "member", "visitor", "subscriber", "profile",
    "contact", "person", "patient", "employee", "player", "household", "owner", "holder",
    "student", "guest", "passenger", "driver", "buyer", "recipient", "viewer", "reader", "lead",
    "loyalty", "abonne",
];
/// Devices and SIMs: a device id, or a device name that often carries the owner's name.
const DEVICE_NOUNS: &[&str] = &["device", "hardware", "hw", "sim"];
/// App installations: a per-install id is a device id for this app.
const INSTALLATION_NOUNS: &[&str] = &["install", "installation", "instance"];
/// OS and advertising ids under their long names (CNIL 2020-091 §13).
const OS_AD_NOUNS: &[&str] = &["android", "advertiser", "advertising", "ad"];
/// Sessions: a second identifier beside the app-scoped visitor id.
const SESSION_NOUNS: &[&str] = &["session"];
/// Transactions link a hit to a customer record (cross-referencing, CNIL 2020-091 §51).
const TRANSACTION_NOUNS: &[&str] = &[
    "order", "transaction", "invoice", "booking", "reservation", "cart", "basket", "payment",
    "purchase", "receipt", "subscription", "ticket", "contract", "shipment",
];
/// Push registrations: the push token or id addresses one device.
const PUSH_NOUNS: &[&str] = &["push"];
/// A home's number or door code is part of its postal address.
const HOME_NOUNS: &[&str] = &["home", "house"];
/// Parts of a person's name, identifying before `name` only (`first_name`).
const NAME_PART_NOUNS: &[&str] = &[
    "first", "last", "full", "given", "family", "middle", "nick", "maiden",
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

    /// `token` is the noun and suffix written together (`customerid`, `idclient`).
    fn matches_compound(&self, token: &str) -> bool {
        let noun_then_suffix = self.suffixes.iter().flat_map(|set| set.iter()).any(|suffix| {
            token
                .strip_suffix(suffix)
                .is_some_and(|noun| self.has_noun(noun))
        });
        noun_then_suffix
            || ID_PREFIXES.iter().any(|prefix| {
                self.takes_prefix(prefix)
                    && token
                        .strip_prefix(prefix)
                        .is_some_and(|noun| self.has_noun(noun))
            })
    }
}

/// Every holder class, searched in this order.
const HOLDERS: [Holder; 9] = [
    Holder {
        nouns: PERSON_NOUNS,
        suffixes: &[KEY_SUFFIXES, REF_SUFFIXES, NAME_SUFFIXES],
        reason: USER,
    },
    Holder {
        nouns: DEVICE_NOUNS,
        suffixes: &[KEY_SUFFIXES, REF_SUFFIXES, NAME_SUFFIXES],
        reason: HARDWARE,
    },
    Holder {
        nouns: INSTALLATION_NOUNS,
        suffixes: &[KEY_SUFFIXES, REF_SUFFIXES],
        reason: INSTALLATION,
    },
    Holder {
        nouns: OS_AD_NOUNS,
        suffixes: &[KEY_SUFFIXES],
        reason: OS_AD,
    },
    Holder {
        nouns: SESSION_NOUNS,
        suffixes: &[KEY_SUFFIXES, REF_SUFFIXES],
        reason: SESSION,
    },
    Holder {
        nouns: TRANSACTION_NOUNS,
        suffixes: &[KEY_SUFFIXES, REF_SUFFIXES],
        reason: TRANSACTION,
    },
    Holder {
        nouns: PUSH_NOUNS,
        suffixes: &[KEY_SUFFIXES, REF_SUFFIXES],
        reason: CREDENTIAL,
    },
    Holder {
        nouns: HOME_NOUNS,
        suffixes: &[KEY_SUFFIXES, REF_SUFFIXES],
        reason: POSTAL,
    },
    Holder {
        nouns: NAME_PART_NOUNS,
        suffixes: &[NAME_SUFFIXES],
        reason: PERSON_NAME,
    },
];

// ---- Rules 3 and 4 ----

/// `long` is longitude only as the last token (`geo_long`, not `long_press_count`).
const LONGITUDE_LAST: &str = "long";
/// Names that are nothing but an identifier: of whom is not said, so refused.
const BARE_IDENTIFIERS: &[&str] = &["id", "ids", "uuid", "guid", "ident", "identifier"];
/// Names that are nothing but a name: most likely a person's.
const BARE_NAMES: &[&str] = &["name"];

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
/// read alike.
#[must_use]
pub fn identifying_reason(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    let tokens: Vec<&str> = lower
        .split(|c: char| !c.is_ascii_lowercase())
        .filter(|t| !t.is_empty())
        .collect();
    let mut joined = String::with_capacity(lower.len());
    for i in 0..tokens.len() {
        if let Some(reason) = match_at(&tokens, i, &mut joined) {
            return Some(reason);
        }
    }
    if tokens.last() == Some(&LONGITUDE_LAST) {
        return Some(LOCATION);
    }
    match tokens.as_slice() {
        [only] if BARE_IDENTIFIERS.contains(only) => Some(UNQUALIFIED),
        [only] if BARE_NAMES.contains(only) => Some(PERSON_NAME),
        _ => None,
    }
}

/// Rules 1 and 2 for the tokens starting at `i`; `joined` is scratch space.
fn match_at(tokens: &[&str], i: usize, joined: &mut String) -> Option<&'static str> {
    let token = tokens[i];
    // Rule 1: the longest run first, so `ip_address` reads as one word.
    for len in (1..=MAX_RUN.min(tokens.len() - i)).rev() {
        joined.clear();
        tokens[i..i + len].iter().for_each(|t| joined.push_str(t));
        if let Some(reason) = strong(joined) {
            return Some(reason);
        }
    }
    if let Some((_, reason)) = STRONG_ENDINGS
        .iter()
        .find(|(ending, _)| token.len() > ending.len() && token.ends_with(ending))
    {
        return Some(reason);
    }
    // Rule 2: noun + suffix, prefix + noun, or either written as one token.
    let next = tokens.get(i + 1).copied();
    HOLDERS
        .iter()
        .find(|h| {
            next.is_some_and(|next| {
                (h.has_noun(token) && h.takes_suffix(next))
                    || (h.takes_prefix(token) && h.has_noun(next))
            }) || h.matches_compound(token)
        })
        .map(|h| h.reason)
}

/// The reason of the strong list holding `word`, if any.
fn strong(word: &str) -> Option<&'static str> {
    STRONG
        .iter()
        .find(|(words, _)| words.contains(&word))
        .map(|&(_, reason)| reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names that identify a person or a device: refused in exempt mode.
    const REFUSED: &[&str] = &[
        // user and account ids (seed 001 §4.2)
        "userid", "username", "uid", "user_id", "user2_id", "user_category", "customer_id",
        "customerid", "customer_number", "account_id", "account_number", "client_id", "idclient",
        "id_client", "id_user", "member_id", "visitor_id", "subscriber_id", "profile_id",
        "patient_id", "employee_id", "player_id", "household_id", "loyalty_number", "login",
        "login_name", "contact_name", "User-ID", "customerId",
        // OS and advertising ids (CNIL 2020-091 §13)
        "idfa", "idfv", "gaid", "aaid", "adid", "ssaid", "android_id", "androidid",
        "advertising_id", "advertiserid", "ad_id", "gps_adid", "app_set_id",
        // devices, installations and hardware
        "device_id", "deviceid", "Device.ID", "device_name", "device_token", "install_id",
        "installation_id", "app_instance_id", "imei", "imsi", "iccid", "meid", "udid",
        "serialnumber", "serial_number", "macaddress", "mac_address", "wifi_mac",
        // network addresses
        "ip", "ipaddress", "ip_address", "ipv4", "IPv6", "wifi_ssid", "bssid",
        // precise location (seed 001 §4.3)
        "lat", "lng", "lon", "long", "geo_long", "home_long", "latitude", "longitude",
        "geo_latitude", "home_lat", "lat_lng", "gps_position", "geo_position", "geohash",
        "coordinates", "location", "precise_location",
        // contact details
        "mail", "email", "e_mail", "E-Mail", "contact_email", "emailaddress", "tel", "phone_number",
        "phonenumber", "msisdn", "mobile_number",
        // names, birth dates, postal addresses
        "full_name", "first_name", "last_name", "firstname", "surname", "nickname", "maiden_name",
        "name", "birthdate", "birthday", "birth_year", "date_of_birth", "dateofbirth", "dob",
        "address", "street_address", "billingaddress", "home_address", "postal_code", "postcode",
        "zip_code", "zipcode", "house_number",
        // official, financial, credentials
        "iban", "ssn", "passport_number", "credit_card_number", "push_token", "push_id",
        "access_token", "accesstoken", "cookie", "fingerprint", "password", "api_key",
        // sessions and transactions (CNIL 2020-091 §51)
        "session_id", "sessionid", "session_token", "order_id", "order_number", "transaction_id",
        "cart_id", "basket_id", "invoice_number", "booking_reference", "subscription_id",
        "ticket_number", "payment_id",
        // bare identifiers
        "id", "uuid", "guid", "id2",
    ];

    /// Ordinary analytics names: accepted.
    const ACCEPTED: &[&str] = &[
        // the built-in exempt properties
        "page", "page_chapter1", "page_chapter2", "page_chapter3", "previous_page", "click",
        "click_chapter1", "click_chapter2", "click_chapter3", "device_type", "device_brand",
        "device_model", "device_screen_width", "device_screen_height", "os", "os_version",
        "app_version", "connection_type", "device_timestamp_utc", "event_collection_platform",
        "event_collection_version", "page_duration", "page_load_time", "page_scroll_depth",
        "visitor_privacy_mode", "visitor_privacy_consent", "event_id",
        // content ids: they identify content, not a person
        "article_id", "product_id", "content_id", "content_guid", "category_id", "campaign_id",
        "experiment_id", "video_id", "page_id", "screen_id", "load_id",
        // other ordinary measures
        "ab_variant", "error_code", "http_status", "search_results_count", "screen_orientation",
        "app_language", "theme", "long_press_count", "media_position", "playback_rate",
        "video_duration", "site_section", "level", "score", "promo_code", "country_code",
        "page_name", "product_name", "device_model_name", "device_os_name", "ad_name",
        "ad_position", "advertiser_name", "subscription_plan", "subscription_name", "cart_value",
        "cart_item_count", "session_duration", "session_count", "new_visitor", "account_type",
        "android_version", "install_source", "first_launch", "last_page_name", "battery_level",
        "dark_mode", "font_size", "network_type", "latency_ms", "telemetry_enabled", "ticket_price",
        "button_label", "list_position", "scroll_depth", "sort_order",
        // coarse geography: city level at most (seed 001 §4.3)
        "country", "region", "city",
        // whole tokens: no substring matches
        "tooltip", "hotel", "salon", "zipper", "iphone_model", "template", "Page-Load.Time",
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
            assert!(
                !is_identifying(name),
                "{name:?} should be accepted, refused as {:?}",
                identifying_reason(name)
            );
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
            "user_agent", "phone_model", "ip_country", "location_permission", "cookie_consent",
            "email_opt_in", "mac_os_version", "is_long", "login_method", "media_player_id",
        ] {
            assert!(is_identifying(name), "{name:?} is documented as refused");
        }
    }

    #[test]
    fn long_is_longitude_only_at_the_end() {
        assert_eq!(identifying_reason("long"), Some(LOCATION));
        assert_eq!(identifying_reason("geo_long"), Some(LOCATION));
        assert_eq!(identifying_reason("long_press_count"), None);
        assert_eq!(identifying_reason("long_video_share"), None);
    }
}
