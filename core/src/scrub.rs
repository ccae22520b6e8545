//! Which *values* identify a person or a device, and their masking.
//!
//! [`crate::identifying`] judges property names; this module judges what an
//! app puts in a property it is allowed to send. Without consent (exempt,
//! custom and anonymous modes) a screen name holding an e-mail address, a
//! chapter holding a phone number or a previous screen holding an IP address
//! would carry personal data on the exempt stream, which CNIL 2020-091 §51
//! limits to anonymous statistics. So, in every mode without consent, the
//! SDK masks what a value holds of:
//!
//! | finding | shape | mask |
//! |---|---|---|
//! | e-mail address | `local@domain.tld` | `[email]` |
//! | phone number | 9+ digits with `+`, spaces, dots, dashes or brackets | `[phone]` |
//! | long number | 9+ digits in a row: card, IBAN body, national or customer numbers, ids | `[number]` |
//! | IP address | dotted IPv4; IPv6 with `::` or 5+ groups | `[ip]` |
//! | UUID | `8-4-4-4-12` hex: advertising ids (IDFA, GAID), install ids | `[uuid]` |
//! | hex id | 16+ hex characters with a digit and a letter: Android ID, hashes of an identifier | `[id]` |
//! | IBAN | 2 letters, 2 digits, 11 to 30 letters or digits | `[iban]` |
//! | coordinates | two decimals of 3+ decimal places, within ±90 and ±180 | `[coordinates]` |
//! | credentials in a URL | `scheme://user:password@host` | `[credentials]` |
//! | token | a sensitive URL parameter's value (`token=`, `key=`, `password=`...), a JWT, or 32+ characters mixing upper case, lower case and digits | `[token]` |
//!
//! Numbers given as numbers (not text) of 9 digits or more are held back
//! whole: they are ids or phone numbers far more often than measures (a date
//! is sent as a date, which is never judged).
//!
//! # Method
//!
//! One left-to-right pass with a cursor; no regular expression, no
//! backtracking: at each position either a run of digits and separators
//! starts (phone, number, IPv4, date, coordinates), or a word (up to the next
//! white space or bracket) is judged by a fixed set of scans over its bytes
//! (e-mail, URL parts, UUID, hex id, digit runs, IPv6, IBAN, tokens), each
//! linear in the word. Every byte is looked at a bounded number of times, so
//! the cost is linear in the value's length (BENCHMARKS.md measures it).
//! Nothing allocates unless something is found.
//!
//! # Judgements
//!
//! - Dates written as `2026-12-02` or `02/12/2026` are not numbers: a run
//!   that starts like a date stops after it.
//! - Version fields (`app_version`, `os_version`) are read as versions: their
//!   digits and dots are never a phone number or an IP address
//!   ([`TextKind::Version`]); e-mail addresses, credentials and tokens in
//!   them still are.
//! - Times (`10:30:00`) are not IPv6 addresses: an IPv6 address needs `::`
//!   or five groups or more.
//! - A 9-digit run is the shortest a phone number (without its leading zero)
//!   or a national number takes; shorter counts, prices and years pass.
//! - UUIDs are masked even where they name content: without consent the SDK
//!   cannot tell an advertising id from an article's id by its shape. Name
//!   content with a readable slug or a short number instead.

/// What a value scan found: the class of identifying data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Finding {
    /// An e-mail address.
    Email,
    /// A phone number.
    Phone,
    /// A long number (card, IBAN body, national, customer or order number).
    Number,
    /// An IPv4 or IPv6 address.
    Ip,
    /// A UUID (advertising ids, install ids).
    Uuid,
    /// A long hexadecimal id (Android ID, a hash of an identifier).
    HexId,
    /// An IBAN.
    Iban,
    /// A pair of geographic coordinates.
    Coordinates,
    /// A user name and password in a URL.
    Credentials,
    /// A token, key or secret.
    Token,
}

impl Finding {
    /// Stable code (diagnostics).
    pub fn code(self) -> &'static str {
        match self {
            Finding::Email => "email",
            Finding::Phone => "phone",
            Finding::Number => "number",
            Finding::Ip => "ip",
            Finding::Uuid => "uuid",
            Finding::HexId => "hex_id",
            Finding::Iban => "iban",
            Finding::Coordinates => "coordinates",
            Finding::Credentials => "credentials",
            Finding::Token => "token",
        }
    }

    /// What replaces the span on the wire.
    pub fn mask(self) -> &'static str {
        match self {
            Finding::Email => "[email]",
            Finding::Phone => "[phone]",
            Finding::Number => "[number]",
            Finding::Ip => "[ip]",
            Finding::Uuid => "[uuid]",
            Finding::HexId => "[id]",
            Finding::Iban => "[iban]",
            Finding::Coordinates => "[coordinates]",
            Finding::Credentials => "[credentials]",
            Finding::Token => "[token]",
        }
    }
}

/// How a text is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    /// Free text: a screen name, a chapter, an app property.
    Free,
    /// A version (`3.1.0`, `10.0.19041.1`, `2024.12 (build 2024120501)`):
    /// digits and dots are never a number, a phone or an IP address.
    Version,
}

/// The smallest count of digits read as an identifier (a phone number
/// without its leading zero has 9; so has a French SIREN).
pub const MIN_IDENTIFYING_DIGITS: usize = 9;

/// Whether a number sent as a number is identifying: 9 digits or more.
pub fn int_is_identifying(n: i64) -> bool {
    n.unsigned_abs() >= 100_000_000
}

/// Whether a decimal number is identifying: a whole number of 9 digits or
/// more (a phone number or an id stored as a double).
pub fn float_is_identifying(f: f64) -> bool {
    f.is_finite() && f.fract() == 0.0 && f.abs() >= 1e8
}

/// The first identifying span `text` holds, if any (no allocation).
pub fn find(text: &str, kind: TextKind) -> Option<Finding> {
    let mut first = None;
    scan(text, kind, &mut |_, _, f| {
        first = first.or(Some(f));
    });
    first
}

/// `text` with every identifying span masked, and what was found (in order
/// of appearance, each class once); `None` when nothing was (no allocation).
pub fn scrub(text: &str, kind: TextKind) -> Option<(String, Vec<Finding>)> {
    let mut spans: Vec<(usize, usize, Finding)> = Vec::new();
    scan(text, kind, &mut |a, b, f| spans.push((a, b, f)));
    if spans.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut found = Vec::new();
    let mut at = 0;
    for (a, b, f) in spans {
        // Spans come in order and never overlap (see `scan`).
        if a >= at {
            out.push_str(&text[at..a]);
            out.push_str(f.mask());
            at = b;
            if !found.contains(&f) {
                found.push(f);
            }
        }
    }
    out.push_str(&text[at..]);
    Some((out, found))
}

#[inline]
fn is_digit(c: u8) -> bool {
    c.is_ascii_digit()
}
#[inline]
fn is_hex(c: u8) -> bool {
    c.is_ascii_hexdigit()
}
#[inline]
fn is_alnum(c: u8) -> bool {
    c.is_ascii_alphanumeric()
}
/// The bytes that end a word: white space, quotes, brackets and list
/// separators (a table: the scan asks for every byte).
const WORD_ENDS: [bool; 256] = {
    let mut t = [false; 256];
    let ends = b" \t\n\r\x0c\"'<>()[]{}|,;`";
    let mut i = 0;
    while i < ends.len() {
        t[ends[i] as usize] = true;
        i += 1;
    }
    t
};

#[inline]
fn ends_word(c: u8) -> bool {
    WORD_ENDS[c as usize]
}

/// Calls `emit(start, end, finding)` for each identifying span, in order,
/// never overlapping. Spans start and end on ASCII bytes or the text's ends,
/// so they are valid `str` boundaries.
fn scan(text: &str, kind: TextKind, emit: &mut dyn FnMut(usize, usize, Finding)) {
    let b = text.as_bytes();
    let n = b.len();
    let mut i = 0;
    while i < n {
        let c = b[i];
        if ends_word(c) && c != b'(' {
            i += 1;
            continue;
        }
        let at_word_start = i == 0 || !is_alnum(b[i - 1]);
        let starts_number = is_digit(c) || (matches!(c, b'+' | b'(' | b'-') && i + 1 < n && is_digit(b[i + 1]));
        if starts_number && at_word_start && kind == TextKind::Free {
            if let Some((end, finding)) = numeric_run(b, i) {
                if let Some(f) = finding {
                    emit(i, end, f);
                }
                i = end;
                continue;
            }
        }
        if c == b'(' {
            i += 1;
            continue;
        }
        let mut w = i;
        while w < n && !ends_word(b[w]) {
            w += 1;
        }
        word(b, i, w, kind, emit);
        i = w;
    }
}

/// A run of digits and separators (a single space, `-`, `.` or bracket, or
/// `) `, ` (`, `)-` between two digits), starting at `i` on a digit or on a
/// `+`, `-` or `(` before one. `None` when the run is part of a larger word
/// (letters, `_`, `@` or `:` and a hex digit follow it): the word scan judges
/// it. Otherwise its end and what it is.
fn numeric_run(b: &[u8], i: usize) -> Option<(usize, Option<Finding>)> {
    let n = b.len();
    let lead = b[i];
    let plus = lead == b'+';
    let signed = lead == b'-';
    let mut j = if is_digit(lead) { i } else { i + 1 };
    let first = j;
    // The first four groups (digits, the separator before: 0 first, `x`
    // for two), and what the rule needs of the others: no allocation.
    let mut shape = [(0usize, 0u8); 4];
    let (mut groups, mut digits, mut longest) = (0usize, 0usize, 0usize);
    let mut only_dots = true;
    let mut sep = 0u8;
    let mut end = j;
    loop {
        let g0 = j;
        while j < n && is_digit(b[j]) {
            j += 1;
        }
        if j == g0 {
            break;
        }
        if groups < 4 {
            shape[groups] = (j - g0, sep);
        }
        if groups > 0 && sep != b'.' {
            only_dots = false;
        }
        groups += 1;
        digits += j - g0;
        longest = longest.max(j - g0);
        end = j;
        let k0 = j;
        let mut k = j;
        while k < n && k - k0 < 2 && matches!(b[k], b' ' | b'-' | b'.' | b'(' | b')') {
            k += 1;
        }
        let s = &b[k0..k];
        let valid = matches!(s, [_] | [b')', b' '] | [b' ', b'('] | [b')', b'-']);
        if valid && k < n && is_digit(b[k]) {
            sep = if s.len() == 1 { s[0] } else { b'x' };
            j = k;
        } else {
            break;
        }
    }
    if digits == 0 {
        return None;
    }
    if groups == 4 && only_dots && longest <= 3 && is_digit(lead) {
        let octets_ok = text_groups(b, first, end).iter().all(|g| g.parse::<u16>().is_ok_and(|v| v <= 255));
        let followed = end + 1 < n && b[end] == b'.' && is_digit(b[end + 1]);
        if octets_ok && !followed {
            return Some((end, Some(Finding::Ip)));
        }
    }
    // Part of a word (`123abc`, `0612345678@sms.example`, `2001:db8::1`).
    let word_follows = end < n
        && (b[end].is_ascii_alphabetic()
            || matches!(b[end], b'@' | b'_')
            || (b[end] == b':' && end + 1 < n && (is_hex(b[end + 1]) || b[end + 1] == b':')));
    if word_follows {
        return None;
    }
    // A date stops the run: `2026-12-02`, `02.12.2026` (a slash ends a run).
    if let Some(date_end) = date_prefix(first, &shape[..groups.min(4)]) {
        return Some((date_end, None));
    }
    // One decimal, then `,` or `;` and another: coordinates.
    if groups == 2 && shape[1].1 == b'.' && shape[0].0 <= 3 && shape[1].0 >= 3 && (is_digit(lead) || signed) {
        if let Some((pair_end, second)) = second_coordinate(b, end) {
            let lat = parse_decimal(&b[i..end]);
            let lon = parse_decimal(&b[second..pair_end]);
            if let (Some(lat), Some(lon)) = (lat, lon) {
                if lat.abs() <= 90.0 && lon.abs() <= 180.0 {
                    return Some((pair_end, Some(Finding::Coordinates)));
                }
            }
        }
    }
    if digits >= MIN_IDENTIFYING_DIGITS {
        let separated = groups > 1 || plus || lead == b'(';
        return Some((end, Some(if separated { Finding::Phone } else { Finding::Number })));
    }
    Some((end, None))
}

/// The digit groups of `b[i..end]` as text.
fn text_groups(b: &[u8], i: usize, end: usize) -> Vec<&str> {
    std::str::from_utf8(&b[i..end]).unwrap_or("").split(|c: char| !c.is_ascii_digit()).filter(|g| !g.is_empty()).collect()
}

/// Where a date at the start of a run ends: `YYYY-MM-DD`, `YYYY.MM.DD`,
/// `DD-MM-YYYY` or `DD.MM.YYYY` (with `-` or `.` both times).
fn date_prefix(start: usize, groups: &[(usize, u8)]) -> Option<usize> {
    if groups.len() < 3 {
        return None;
    }
    let shape: Vec<usize> = groups[..3].iter().map(|(d, _)| *d).collect();
    let seps = (groups[1].1, groups[2].1);
    let same_sep = seps.0 == seps.1 && matches!(seps.0, b'-' | b'.');
    if !same_sep || !(shape == [4, 2, 2] || shape == [2, 2, 4]) {
        return None;
    }
    Some(start + shape.iter().sum::<usize>() + 2)
}

/// After a first decimal ending at `end`: optional spaces, `,` or `;`,
/// optional spaces, an optional `-`, and a decimal with 3+ decimal places.
/// Returns (end of the pair, start of the second number).
fn second_coordinate(b: &[u8], end: usize) -> Option<(usize, usize)> {
    let n = b.len();
    let mut j = end;
    while j < n && b[j] == b' ' {
        j += 1;
    }
    if j >= n || !matches!(b[j], b',' | b';') {
        return None;
    }
    j += 1;
    while j < n && b[j] == b' ' {
        j += 1;
    }
    let start = j;
    if j < n && b[j] == b'-' {
        j += 1;
    }
    let int_start = j;
    while j < n && is_digit(b[j]) {
        j += 1;
    }
    if j == int_start || j - int_start > 3 || j >= n || b[j] != b'.' {
        return None;
    }
    j += 1;
    let frac_start = j;
    while j < n && is_digit(b[j]) {
        j += 1;
    }
    (j - frac_start >= 3).then_some((j, start))
}

fn parse_decimal(b: &[u8]) -> Option<f64> {
    std::str::from_utf8(b).ok()?.parse().ok()
}

/// Judges the word `b[start..end]`: collects its spans from each scan, then
/// emits them in order, merged where they overlap.
fn word(b: &[u8], start: usize, end: usize, kind: TextKind, emit: &mut dyn FnMut(usize, usize, Finding)) {
    if end <= start {
        return;
    }
    let w = &b[start..end];
    // One pass to see which scans can find anything: most words of a
    // screen name or a chapter need none.
    let (mut at, mut colons, mut query, mut digits, mut upper, mut dash) = (false, 0usize, false, 0usize, false, false);
    for &c in w {
        match c {
            b'@' => at = true,
            b':' => colons += 1,
            b'?' | b'#' => query = true,
            b'0'..=b'9' => digits += 1,
            b'A'..=b'Z' => upper = true,
            b'-' => dash = true,
            _ => {}
        }
    }
    let mut spans: Vec<(usize, usize, Finding)> = Vec::new();
    let userinfo_at = if colons > 0 || query { url_parts(w, &mut spans) } else { None };
    if at {
        emails(w, userinfo_at, &mut spans);
    }
    if w.len() >= 36 && dash {
        uuids(w, &mut spans);
    }
    if w.len() >= 32 || (w.starts_with(b"eyJ") && w.len() >= 10) {
        tokens(w, &mut spans);
    }
    if kind == TextKind::Free {
        if w.len() >= 16 && digits > 0 {
            hex_ids(w, &mut spans);
        }
        if digits >= MIN_IDENTIFYING_DIGITS {
            digit_runs(w, &mut spans);
        }
        if colons >= 2 {
            ipv6(w, &mut spans);
        }
        if w.len() >= 15 && upper && digits >= 2 {
            ibans(w, &mut spans);
        }
    }
    if spans.is_empty() {
        return;
    }
    spans.sort_by_key(|s| (s.0, std::cmp::Reverse(s.1)));
    let mut last: Option<(usize, usize, Finding)> = None;
    for s in spans {
        match &mut last {
            Some(l) if s.0 < l.1 => l.1 = l.1.max(s.1),
            _ => {
                if let Some(l) = last.take() {
                    emit(start + l.0, start + l.1, l.2);
                }
                last = Some(s);
            }
        }
    }
    if let Some(l) = last {
        emit(start + l.0, start + l.1, l.2);
    }
}

/// URL parameters whose value is a secret or names a person.
const SENSITIVE_PARAMETERS: &[&str] = &[
    "token",
    "access_token",
    "id_token",
    "refresh_token",
    "auth",
    "authorization",
    "key",
    "api_key",
    "apikey",
    "password",
    "passwd",
    "pass",
    "pwd",
    "secret",
    "client_secret",
    "session",
    "sessionid",
    "session_id",
    "sid",
    "sig",
    "signature",
    "code",
    "jwt",
    "ticket",
    "otp",
    "email",
    "mail",
    "user",
    "username",
    "userid",
    "user_id",
    "uid",
    "phone",
    "tel",
    "login",
];

/// `scheme://user:pass@host` and the values of sensitive parameters.
/// Returns the position of the `@` that ends a URL's user information (it
/// is not an e-mail address's).
fn url_parts(w: &[u8], spans: &mut Vec<(usize, usize, Finding)>) -> Option<usize> {
    let Some(scheme_end) = find_sub(w, b"://") else {
        // Parameters without a scheme (`/path?token=…`) are still URL parts.
        if let Some(q) = w.iter().position(|c| *c == b'?' || *c == b'#') {
            parameters(w, q, spans);
        }
        return None;
    };
    let host_start = scheme_end + 3;
    let authority_end = w[host_start..].iter().position(|c| matches!(c, b'/' | b'?' | b'#')).map_or(w.len(), |p| host_start + p);
    let userinfo_at = w[host_start..authority_end].iter().rposition(|c| *c == b'@').map(|at| host_start + at);
    if let Some(at) = userinfo_at {
        spans.push((host_start, at, Finding::Credentials));
    }
    if let Some(q) = w[authority_end..].iter().position(|c| *c == b'?' || *c == b'#') {
        parameters(w, authority_end + q, spans);
    }
    userinfo_at
}

/// Masks the value of each sensitive `key=value` after `from` (`?`/`#`).
fn parameters(w: &[u8], from: usize, spans: &mut Vec<(usize, usize, Finding)>) {
    let mut i = from + 1;
    while i < w.len() {
        let end = w[i..].iter().position(|c| matches!(c, b'&' | b'#' | b'?')).map_or(w.len(), |p| i + p);
        if let Some(eq) = w[i..end].iter().position(|c| *c == b'=') {
            let key = &w[i..i + eq];
            let sensitive = SENSITIVE_PARAMETERS.iter().any(|s| key.eq_ignore_ascii_case(s.as_bytes()));
            if sensitive && i + eq + 1 < end {
                spans.push((i + eq + 1, end, Finding::Token));
            }
        }
        i = end + 1;
    }
}

fn find_sub(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn local_char(c: u8) -> bool {
    is_alnum(c) || matches!(c, b'.' | b'_' | b'%' | b'+' | b'-')
}
fn domain_char(c: u8) -> bool {
    is_alnum(c) || matches!(c, b'.' | b'-')
}

/// `local@domain.tld`: each `@` with a local part before it and a domain of
/// two labels or more, the last of two letters or more, after it.
fn emails(w: &[u8], userinfo_at: Option<usize>, spans: &mut Vec<(usize, usize, Finding)>) {
    let mut floor = 0; // the left scan never goes back past the previous `@`
    for at in 0..w.len() {
        if w[at] != b'@' {
            continue;
        }
        if userinfo_at == Some(at) {
            floor = at + 1;
            continue;
        }
        let mut a = at;
        while a > floor && local_char(w[a - 1]) {
            a -= 1;
        }
        // Leading dots and dashes are not part of the address.
        while a < at && matches!(w[a], b'.' | b'-') {
            a += 1;
        }
        let mut z = at + 1;
        while z < w.len() && domain_char(w[z]) {
            z += 1;
        }
        while z > at + 1 && matches!(w[z - 1], b'.' | b'-') {
            z -= 1;
        }
        floor = at + 1;
        if a == at || z == at + 1 {
            continue;
        }
        let domain = &w[at + 1..z];
        let last_label = domain.rsplit(|c| *c == b'.').next().unwrap_or(b"");
        let labels = domain.split(|c| *c == b'.').count();
        if labels >= 2 && last_label.len() >= 2 && last_label.iter().all(u8::is_ascii_alphabetic) {
            spans.push((a, z, Finding::Email));
        }
    }
}

/// `8-4-4-4-12` hexadecimal, not inside a longer run of letters or digits.
fn uuids(w: &[u8], spans: &mut Vec<(usize, usize, Finding)>) {
    const SHAPE: [usize; 5] = [8, 4, 4, 4, 12];
    let mut i = 0;
    while i + 36 <= w.len() {
        if (i > 0 && is_alnum(w[i - 1])) || !is_hex(w[i]) {
            i += 1;
            continue;
        }
        let mut j = i;
        let mut ok = true;
        for (k, len) in SHAPE.iter().enumerate() {
            if k > 0 {
                if w[j] != b'-' {
                    ok = false;
                    break;
                }
                j += 1;
            }
            if !w[j..j + len].iter().all(|c| is_hex(*c)) {
                ok = false;
                break;
            }
            j += len;
        }
        if ok && (j == w.len() || !is_alnum(w[j])) {
            spans.push((i, j, Finding::Uuid));
            i = j;
        } else {
            i += 1;
        }
    }
}

/// Maximal runs of `pred`, bounded by bytes that are not alphanumeric.
fn runs(w: &[u8], pred: impl Fn(u8) -> bool, mut f: impl FnMut(usize, usize)) {
    let mut i = 0;
    while i < w.len() {
        if !pred(w[i]) {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < w.len() && pred(w[j]) {
            j += 1;
        }
        let bounded = (i == 0 || !is_alnum(w[i - 1])) && (j == w.len() || !is_alnum(w[j]));
        if bounded {
            f(i, j);
        }
        i = j;
    }
}

/// 16+ hexadecimal characters with a digit and a letter.
fn hex_ids(w: &[u8], spans: &mut Vec<(usize, usize, Finding)>) {
    runs(w, is_hex, |i, j| {
        let r = &w[i..j];
        if r.len() >= 16 && r.iter().any(|c| is_digit(*c)) && r.iter().any(|c| c.is_ascii_alphabetic()) {
            spans.push((i, j, Finding::HexId));
        }
    });
}

/// 9+ digits in a row, inside a word too (`order123456789`).
fn digit_runs(w: &[u8], spans: &mut Vec<(usize, usize, Finding)>) {
    let mut i = 0;
    while i < w.len() {
        if !is_digit(w[i]) {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < w.len() && is_digit(w[j]) {
            j += 1;
        }
        if j - i >= MIN_IDENTIFYING_DIGITS {
            spans.push((i, j, Finding::Number));
        }
        i = j;
    }
}

/// Runs of hex digits, `:` and `.` with two `:` or more, and `::` or five
/// groups or more (so `10:30:00` is a time, not an address).
fn ipv6(w: &[u8], spans: &mut Vec<(usize, usize, Finding)>) {
    let mut i = 0;
    while i < w.len() {
        let ok = |c: u8| is_hex(c) || c == b':' || c == b'.';
        if !ok(w[i]) {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < w.len() && ok(w[j]) {
            j += 1;
        }
        let r = &w[i..j];
        let colons = r.iter().filter(|c| **c == b':').count();
        let groups = r.split(|c| *c == b':').filter(|g| !g.is_empty()).count();
        let compressed = find_sub(r, b"::").is_some();
        let bounded = (i == 0 || !is_alnum(w[i - 1])) && (j == w.len() || !is_alnum(w[j]));
        if bounded && colons >= 2 && (compressed || groups >= 5) && r.iter().any(|c| is_hex(*c)) {
            spans.push((i, j, Finding::Ip));
        }
        i = j;
    }
}

/// Two capital letters, two digits, then 11 to 30 capitals or digits.
fn ibans(w: &[u8], spans: &mut Vec<(usize, usize, Finding)>) {
    runs(w, is_alnum, |i, j| {
        let r = &w[i..j];
        let shaped = r.len() >= 15
            && r.len() <= 34
            && r[..2].iter().all(u8::is_ascii_uppercase)
            && r[2..4].iter().all(u8::is_ascii_digit)
            && r[4..].iter().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if shaped {
            spans.push((i, j, Finding::Iban));
        }
    });
}

fn base64url(c: u8) -> bool {
    is_alnum(c) || matches!(c, b'_' | b'-')
}

/// JWTs (`eyJ….….…`) and 32+ base64url characters mixing upper case,
/// lower case and digits.
fn tokens(w: &[u8], spans: &mut Vec<(usize, usize, Finding)>) {
    let mut i = 0;
    while i < w.len() {
        if !base64url(w[i]) {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < w.len() && (base64url(w[j]) || w[j] == b'.') {
            j += 1;
        }
        let r = &w[i..j];
        if r.starts_with(b"eyJ") && r.iter().filter(|c| **c == b'.').count() >= 2 {
            spans.push((i, j, Finding::Token));
        } else {
            // Each dot-separated piece on its own.
            let mut k = i;
            for piece in r.split(|c| *c == b'.') {
                let mixed = piece.len() >= 32
                    && piece.iter().any(u8::is_ascii_uppercase)
                    && piece.iter().any(u8::is_ascii_lowercase)
                    && piece.iter().any(u8::is_ascii_digit);
                if mixed {
                    spans.push((k, k + piece.len(), Finding::Token));
                }
                k += piece.len() + 1;
            }
        }
        i = j;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(s: &str) -> String {
        scrub(s, TextKind::Free).map(|(t, _)| t).unwrap_or_else(|| s.to_owned())
    }

    #[test]
    fn each_class_is_masked() {
        let cases = [
            ("jane.doe@example.com", "[email]"),
            ("Order for Jane.Doe+news@mail.example.co.uk now", "Order for [email] now"),
            ("+33 6 12 34 56 78", "[phone]"),
            ("06 12 34 56 78", "[phone]"),
            ("06.12.34.56.78", "[phone]"),
            ("(555) 123-4567", "[phone]"),
            ("+1-202-555-0143", "[phone]"),
            ("call 0612345678 now", "call [number] now"),
            ("4111 1111 1111 1111", "[phone]"),
            ("4111111111111111", "[number]"),
            ("order123456789", "order[number]"),
            ("82.64.12.3", "[ip]"),
            ("from 192.168.1.10:8080", "from [ip]:8080"),
            ("2001:db8:85a3::8a2e:370:7334", "[ip]"),
            ("fe80::1", "[ip]"),
            ("38400000-8cf0-11bd-b23e-10b96e40000d", "[uuid]"),
            ("idfa=6D92078A-8246-4BA4-AE5B-76104861E7DC", "idfa=[uuid]"),
            ("9774d56d682e549c", "[id]"),
            ("5d41402abc4b2a76b9719d911017c592", "[id]"),
            ("FR7630006000011234567890189", "[iban]"),
            ("48.8566, 2.3522", "[coordinates]"),
            ("at -33.8688,151.2093 today", "at [coordinates] today"),
            ("https://jane:secret@example.com/x", "https://[credentials]@example.com/x"),
            ("https://example.com/cb?code=abc&state=1", "https://example.com/cb?code=[token]&state=1"),
            ("/reset?token=Zm9vYmFy&lang=fr", "/reset?token=[token]&lang=fr"),
            ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig", "[token]"),
            ("key AbCdEfGhIjKlMnOpQrStUvWxYz0123456789", "key [token]"),
        ];
        for (input, want) in cases {
            assert_eq!(masked(input), want, "{input:?}");
        }
    }

    #[test]
    fn ordinary_values_pass() {
        for s in [
            "home",
            "Home > News > Sports",
            "article 1234",
            "page 2 of 10",
            "2026-12-02",
            "02/12/2026",
            "2026-12-02 10:30",
            "10:30:00",
            "v3.1.0",
            "3.1.0",
            "1.2.3.4.5",
            "Top 100",
            "price 12.50",
            "12345678",
            "iPhone15,2",
            "Pixel 8 Pro",
            "SM-G991B",
            "wifi",
            "[email]",
            "ratio 0.125, 0.5",
            "https://example.com/articles/42?lang=fr&page=2",
            "café-crème",
            "tooltip",
            "user guide",
            "deadbeef",
            "3.14159",
            "x".repeat(40).as_str(),
            "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGH",
        ] {
            assert_eq!(find(s, TextKind::Free), None, "{s:?} found as {:?}", find(s, TextKind::Free));
        }
    }

    #[test]
    fn versions_keep_their_digits() {
        for s in ["10.0.19041.1", "4.2.1.0", "2024.12 (build 2024120501)", "17.2.1"] {
            assert_eq!(find(s, TextKind::Version), None, "{s:?}");
        }
        assert_eq!(find("1.0 jane@example.com", TextKind::Version), Some(Finding::Email));
        assert_eq!(find("4.2.1.0", TextKind::Free), Some(Finding::Ip), "free text reads it as an address");
    }

    #[test]
    fn masking_is_idempotent_and_clean() {
        for s in ["jane@example.com +33 6 12 34 56 78 82.64.12.3", "a 48.8566, 2.3522 b FR7630006000011234567890189"] {
            let once = masked(s);
            assert_eq!(find(&once, TextKind::Free), None, "{once:?}");
            assert_eq!(masked(&once), once);
        }
    }

    #[test]
    fn numbers_of_nine_digits_are_identifying() {
        assert!(!int_is_identifying(99_999_999));
        assert!(int_is_identifying(100_000_000));
        assert!(int_is_identifying(-33_612_345_678));
        assert!(int_is_identifying(i64::MIN));
        assert!(!float_is_identifying(12.5));
        assert!(float_is_identifying(33_612_345_678.0));
        assert!(!float_is_identifying(f64::NAN));
    }

    #[test]
    fn any_text_is_scanned_without_panicking() {
        let samples = ["", "@", "@@", "a@", "@b.c", "+", "(", "((((1", "1.", "1..2", ":::", "é@é.é", "::1", "-", "-1.", "1)", "1) 2"];
        for s in samples {
            let _ = scrub(s, TextKind::Free);
            let _ = scrub(s, TextKind::Version);
        }
        let long = "1.".repeat(10_000);
        let _ = scrub(&long, TextKind::Free);
    }
}
