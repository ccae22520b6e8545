//! One tracking call written into one byte buffer: how the Kotlin and Swift
//! wrappers hand `track`, `trackScreen` and `trackClick` to the core in a
//! single FFI crossing, instead of a string and a map of tagged values each
//! lowered (and allocated) on its own. It is transport only: the decoded
//! call goes through [`crate::Sdk::track`], [`crate::Sdk::track_screen`] or
//! [`crate::Sdk::track_click`], so every privacy rule applies to it as to
//! the others. A buffer that does not decode is refused
//! ([`TrackError::InvalidEncoding`]) and reported; nothing is queued.
//!
//! The format, version 1 (integers little-endian):
//!
//! ```text
//! call   = version:u8 (= 1)  kind:u8  name:str  count:u32  (key:str value){count}
//! kind   = 0 track | 1 screen | 2 click.action | 3 click.navigation | 4 click.download | 5 click.exit
//! str    = length:u32 bytes{length}   (UTF-8)
//! value  = 0 str (text) | 1 i64 (integer) | 2 f64 (decimal, IEEE 754 bits) | 3 u8 (flag: 0 or 1)
//!        | 4 i64 (date, ms since the epoch) | 10 type:str (a type the SDK cannot send)
//!        | 5..=9 count:u32 then that many of 0..=4 (text, integer, decimal, flag, date list)
//! ```
//!
//! Nothing after the last value. Lengths are checked against the bytes
//! left before anything is allocated, so a forged length cannot make the
//! decoder allocate more than the buffer's own size.

use crate::error::TrackError;
use crate::hit::{ClickKind, Value};

/// The format's version: the buffer's first byte.
pub const ENCODING_VERSION: u8 = 1;

/// Which call the buffer holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodedKind {
    /// [`crate::Sdk::track`].
    Track,
    /// [`crate::Sdk::track_screen`].
    Screen,
    /// [`crate::Sdk::track_click`].
    Click(ClickKind),
}

impl EncodedKind {
    /// The kind's byte.
    pub fn byte(self) -> u8 {
        match self {
            EncodedKind::Track => 0,
            EncodedKind::Screen => 1,
            EncodedKind::Click(ClickKind::Action) => 2,
            EncodedKind::Click(ClickKind::Navigation) => 3,
            EncodedKind::Click(ClickKind::Download) => 4,
            EncodedKind::Click(ClickKind::Exit) => 5,
        }
    }
}

/// A decoded call.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DecodedCall {
    pub kind: EncodedKind,
    pub name: String,
    pub properties: Vec<(String, Value)>,
}

struct Reader<'a> {
    bytes: &'a [u8],
}

type Decoded<T> = Result<T, &'static str>;

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Decoded<&'a [u8]> {
        if n > self.bytes.len() {
            return Err("the buffer ends inside a field");
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn u8(&mut self) -> Decoded<u8> {
        Ok(self.take(1)?[0])
    }

    fn array<const N: usize>(&mut self) -> Decoded<[u8; N]> {
        self.take(N)?.try_into().map_err(|_| "the buffer ends inside a field")
    }

    fn u32(&mut self) -> Decoded<usize> {
        usize::try_from(u32::from_le_bytes(self.array()?)).map_err(|_| "a length does not fit in memory")
    }

    fn i64(&mut self) -> Decoded<i64> {
        Ok(i64::from_le_bytes(self.array()?))
    }

    fn f64(&mut self) -> Decoded<f64> {
        Ok(f64::from_bits(u64::from_le_bytes(self.array()?)))
    }

    fn flag(&mut self) -> Decoded<bool> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err("a flag is neither 0 nor 1"),
        }
    }

    fn str(&mut self) -> Decoded<String> {
        let n = self.u32()?;
        let bytes = self.take(n)?;
        std::str::from_utf8(bytes).map(str::to_owned).map_err(|_| "a text is not UTF-8")
    }

    /// A count of items of at least `min_size` bytes each, checked against
    /// the bytes left (so the vector it sizes is never larger than the buffer).
    fn count(&mut self, min_size: usize) -> Decoded<usize> {
        let n = self.u32()?;
        if n.saturating_mul(min_size) > self.bytes.len() {
            return Err("a count is larger than the buffer");
        }
        Ok(n)
    }

    fn list<T>(&mut self, min_size: usize, mut item: impl FnMut(&mut Self) -> Decoded<T>) -> Decoded<Vec<T>> {
        let n = self.count(min_size)?;
        (0..n).map(|_| item(self)).collect()
    }

    fn value(&mut self) -> Decoded<Value> {
        Ok(match self.u8()? {
            0 => Value::String(self.str()?),
            1 => Value::Int(self.i64()?),
            2 => Value::Float(self.f64()?),
            3 => Value::Bool(self.flag()?),
            4 => Value::Date(self.i64()?),
            5 => Value::StringArray(self.list(4, Self::str)?),
            6 => Value::IntArray(self.list(8, Self::i64)?),
            7 => Value::FloatArray(self.list(8, Self::f64)?),
            8 => Value::BoolArray(self.list(1, Self::flag)?),
            9 => Value::DateArray(self.list(8, Self::i64)?),
            10 => Value::Unsupported(self.str()?),
            _ => return Err("unknown value tag"),
        })
    }
}

/// Decodes one call; the error says why it does not decode.
pub(crate) fn decode(bytes: &[u8]) -> Result<DecodedCall, TrackError> {
    decode_inner(bytes).map_err(|reason| TrackError::InvalidEncoding { reason })
}

const KINDS: [EncodedKind; 6] = [
    EncodedKind::Track,
    EncodedKind::Screen,
    EncodedKind::Click(ClickKind::Action),
    EncodedKind::Click(ClickKind::Navigation),
    EncodedKind::Click(ClickKind::Download),
    EncodedKind::Click(ClickKind::Exit),
];

fn decode_inner(bytes: &[u8]) -> Decoded<DecodedCall> {
    let mut r = Reader { bytes };
    if r.u8()? != ENCODING_VERSION {
        return Err("unknown version (the wrapper and the core are from different releases)");
    }
    let kind = r.u8()?;
    let kind = KINDS.into_iter().find(|k| k.byte() == kind).ok_or("unknown call kind")?;
    let name = r.str()?;
    // A property is at least a key's length and a value's tag: 5 bytes.
    let properties = r.list(5, |r| Ok((r.str()?, r.value()?)))?;
    if !r.bytes.is_empty() {
        return Err("bytes left after the last property");
    }
    Ok(DecodedCall { kind, name, properties })
}

/// Writes a call in the format above: the reference the Kotlin and Swift
/// encoders are tested against (and the fuzz target's and the tests' way
/// to make valid buffers).
pub fn encode_call(kind: EncodedKind, name: &str, properties: &[(String, Value)]) -> Vec<u8> {
    fn str(out: &mut Vec<u8>, s: &str) {
        len(out, s.len());
        out.extend_from_slice(s.as_bytes());
    }
    fn len(out: &mut Vec<u8>, n: usize) {
        out.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes());
    }
    fn list<T>(out: &mut Vec<u8>, tag: u8, items: &[T], mut item: impl FnMut(&mut Vec<u8>, &T)) {
        out.push(tag);
        len(out, items.len());
        for i in items {
            item(out, i);
        }
    }
    let mut out = vec![ENCODING_VERSION, kind.byte()];
    str(&mut out, name);
    len(&mut out, properties.len());
    for (key, value) in properties {
        str(&mut out, key);
        match value {
            Value::String(s) => {
                out.push(0);
                str(&mut out, s);
            }
            Value::Int(i) => {
                out.push(1);
                out.extend_from_slice(&i.to_le_bytes());
            }
            Value::Float(f) => {
                out.push(2);
                out.extend_from_slice(&f.to_bits().to_le_bytes());
            }
            Value::Bool(b) => out.extend_from_slice(&[3, u8::from(*b)]),
            Value::Date(d) => {
                out.push(4);
                out.extend_from_slice(&d.to_le_bytes());
            }
            Value::StringArray(v) => list(&mut out, 5, v, |o, s| str(o, s)),
            Value::IntArray(v) => list(&mut out, 6, v, |o, i| o.extend_from_slice(&i.to_le_bytes())),
            Value::FloatArray(v) => list(&mut out, 7, v, |o, f| o.extend_from_slice(&f.to_bits().to_le_bytes())),
            Value::BoolArray(v) => list(&mut out, 8, v, |o, b| o.push(u8::from(*b))),
            Value::DateArray(v) => list(&mut out, 9, v, |o, d| o.extend_from_slice(&d.to_le_bytes())),
            Value::Unsupported(t) => {
                out.push(10);
                str(&mut out, t);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_value() -> Vec<(String, Value)> {
        vec![
            ("t".into(), Value::String("é€𝄞".into())),
            ("i".into(), Value::Int(i64::MIN)),
            ("f".into(), Value::Float(-0.1)),
            ("b".into(), Value::Bool(true)),
            ("d".into(), Value::Date(1_700_000_000_123)),
            ("ts".into(), Value::StringArray(vec!["a".into(), String::new()])),
            ("is".into(), Value::IntArray(vec![1, -2])),
            ("fs".into(), Value::FloatArray(vec![1.5, f64::NAN])),
            ("bs".into(), Value::BoolArray(vec![false, true])),
            ("ds".into(), Value::DateArray(vec![0, -1])),
            ("u".into(), Value::Unsupported("android.net.Uri".into())),
            ("".into(), Value::IntArray(vec![])),
        ]
    }

    #[test]
    fn every_kind_and_value_round_trips() {
        for (byte, kind) in KINDS.into_iter().enumerate() {
            assert_eq!(usize::from(kind.byte()), byte);
            let bytes = encode_call(kind, "page.display", &every_value());
            let call = decode(&bytes).unwrap();
            assert_eq!(call.kind, kind);
            assert_eq!(call.name, "page.display");
            // NaN is not equal to itself: compare the bits through a re-encoding.
            assert_eq!(encode_call(kind, &call.name, &call.properties), bytes);
        }
    }

    #[test]
    fn the_byte_layout_is_the_documented_one() {
        let bytes = encode_call(EncodedKind::Screen, "Home", &[("n".into(), Value::Int(-2)), ("b".into(), Value::Bool(true))]);
        #[rustfmt::skip]
        let expected = [
            1, 1, 4, 0, 0, 0, b'H', b'o', b'm', b'e', 2, 0, 0, 0,
            1, 0, 0, 0, b'n', 1, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            1, 0, 0, 0, b'b', 3, 1,
        ];
        assert_eq!(bytes, expected);
    }

    fn refused(bytes: &[u8]) -> &'static str {
        match decode(bytes) {
            Err(TrackError::InvalidEncoding { reason }) => reason,
            other => panic!("{bytes:?} decoded: {other:?}"),
        }
    }

    #[test]
    fn every_truncation_and_every_bad_byte_is_refused_with_a_reason() {
        let bytes = encode_call(EncodedKind::Track, "e", &every_value());
        for end in 0..bytes.len() {
            assert!(!refused(&bytes[..end]).is_empty());
        }
        let mut extra = bytes.clone();
        extra.push(0);
        assert_eq!(refused(&extra), "bytes left after the last property");
        let mut version = bytes.clone();
        version[0] = 2;
        assert!(refused(&version).starts_with("unknown version"));
        let mut kind = bytes.clone();
        kind[1] = 6;
        assert_eq!(refused(&kind), "unknown call kind");
        let flag = encode_call(EncodedKind::Track, "e", &[("b".into(), Value::Bool(true))]);
        let mut bad_flag = flag.clone();
        *bad_flag.last_mut().unwrap() = 2;
        assert_eq!(refused(&bad_flag), "a flag is neither 0 nor 1");
        let mut bad_tag = flag.clone();
        let at = bad_tag.len() - 2;
        bad_tag[at] = 11;
        assert_eq!(refused(&bad_tag), "unknown value tag");
        let mut not_utf8 = encode_call(EncodedKind::Track, "e", &[]);
        not_utf8[6] = 0xff;
        assert_eq!(refused(&not_utf8), "a text is not UTF-8");
    }

    #[test]
    fn a_forged_count_is_refused_before_anything_is_allocated() {
        // u32::MAX properties, then u32::MAX list items, in a few bytes.
        let mut many = vec![ENCODING_VERSION, 0, 1, 0, 0, 0, b'e'];
        many.extend_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(refused(&many), "a count is larger than the buffer");
        let mut list = encode_call(EncodedKind::Track, "e", &[("l".into(), Value::IntArray(vec![]))]);
        let at = list.len() - 4;
        list[at..].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(refused(&list), "a count is larger than the buffer");
        let mut text = encode_call(EncodedKind::Track, "e", &[]);
        text[2..6].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(refused(&text), "the buffer ends inside a field");
    }

    proptest::proptest! {
        /// Any bytes: a call or a typed refusal, never a panic; and a valid
        /// call with any bytes appended or any byte changed decodes to a
        /// call that re-encodes to exactly those bytes, or is refused.
        #[test]
        fn any_bytes_decode_or_are_refused(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
                                           at in 0usize..400, byte in proptest::prelude::any::<u8>()) {
            if let Ok(call) = decode(&bytes) {
                proptest::prop_assert_eq!(encode_call(call.kind, &call.name, &call.properties), bytes.clone());
            }
            let mut changed = encode_call(EncodedKind::Track, "e", &every_value());
            let at = at % changed.len();
            changed[at] = byte;
            changed.extend_from_slice(&bytes[..bytes.len().min(3)]);
            if let Ok(call) = decode(&changed) {
                proptest::prop_assert_eq!(encode_call(call.kind, &call.name, &call.properties), changed);
            }
        }
    }
}
