//! Canonical JSON, the form TUF signatures cover (TUF §4.2: "the canonical JSON form
//! of the signed portion"), written exactly as securesystemslib writes it, since that
//! is what python-tuf and the repositories it produced sign: object keys sorted by code
//! point, no whitespace, strings escaping only `"` and `\`, every other character
//! (control characters and non-NFC sequences included) written as it is, integers
//! only.
//!
//! Not `olpc-cjson`, the usual choice: that crate NFC-normalises
//! strings and securesystemslib does not, so a python-tuf repository with a target
//! path such as "e" + U+0301 fails verification under it (regression test:
//! `python_tuf_repository_with_every_key_type`); it also orders keys by their quoted
//! form (`" "` before `""`), where securesystemslib sorts by code point; and it is
//! far slower on large targets documents (its formatter buffers and re-sorts every
//! object). `olpc-cjson` remains the test oracle for every input on which the two
//! agree.

use crate::{Error, Result};
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Serialize;
use serde_json::Value;
use std::borrow::Cow;
use std::fmt;

/// Canonical JSON of any serialisable value: its JSON text, canonicalised.
pub fn to_canonical_json<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>> {
    let text = serde_json::to_string(value)
        .map_err(|e| Error::malformed("canonical JSON", e.to_string()))?;
    Ok(match canonical_text_borrowed(&text)? {
        Cow::Borrowed(_) => text.into_bytes(),
        Cow::Owned(written) => written,
    })
}

/// Canonical JSON of raw JSON text.
pub fn canonical_text(json: &str) -> Result<Vec<u8>> {
    canonical_text_borrowed(json).map(Cow::into_owned)
}

/// [`canonical_text`], borrowing `json` itself when it is canonical already: tuflog's
/// own documents, and any producer's that stores what it signed, arrive that way, and
/// then one scan replaces a parse, a rewrite and a copy.
///
/// Canonical JSON is written one way, by [`transcode`]; [`is_canonical`] only
/// recognises text that [`transcode`] would return unchanged, and errs towards
/// `false` (fuzzed against [`transcode`]).
pub fn canonical_text_borrowed(json: &str) -> Result<Cow<'_, [u8]>> {
    if is_canonical(json) {
        return Ok(Cow::Borrowed(json.as_bytes()));
    }
    transcode(json).map(Cow::Owned)
}

/// The canonical writer: raw JSON text in, its canonical form out, in one
/// streaming pass without building a tree. Objects whose keys arrive in order (as
/// every TUF producer writes them) are copied through; others are reordered in
/// place. Text with a repeated key is parsed whole first, keeping the last
/// occurrence as python's parser does.
pub fn transcode(json: &str) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(json.len());
    let mut de = serde_json::Deserializer::from_str(json);
    let streamed = Transcode { out: &mut out }
        .deserialize(&mut de)
        .and_then(|()| de.end());
    match streamed {
        Ok(()) => Ok(out),
        Err(e) if e.to_string().starts_with(DUPLICATE_KEY) => {
            let once = serde_json::from_str::<Value>(json)
                .and_then(|v| serde_json::to_string(&v))
                .map_err(|e| Error::malformed("canonical JSON", e.to_string()))?;
            transcode(&once)
        }
        Err(e) => Err(Error::malformed("canonical JSON", e.to_string())),
    }
}

const DUPLICATE_KEY: &str = "duplicate object key";

/// Deepest nesting [`is_canonical`] follows; deeper text takes the full path (whose
/// parser stops at 128 levels).
const CANONICAL_CHECK_MAX_DEPTH: usize = 64;

/// Whether `json` is exactly the canonical form of itself, i.e. whether
/// [`transcode`] would return these same bytes. Only ever errs towards `false`:
/// any text it is unsure of (a key with an escape, deep nesting) takes the full path,
/// which decides. `true` needs: no whitespace; object keys strictly increasing by code
/// point (so no repeats); strings whose only escapes are `\"` and `\\`; integers as
/// the shortest decimal of a value that parses as a `u64` or `i64` (no `-0`, no
/// leading zeros, no fraction or exponent); `true`, `false`, `null`.
pub fn is_canonical(json: &str) -> bool {
    let mut scan = CanonicalScan {
        text: json.as_bytes(),
        at: 0,
    };
    scan.value(0) && scan.at == scan.text.len()
}

/// How many leading bytes of `text`, a whole number of 16-byte blocks, need no look
/// inside a string: no quote, backslash or control character. Target paths and hex
/// digests are long runs of such bytes, and a block at a time is several times
/// faster than a byte at a time.
fn plain_prefix(text: &[u8]) -> usize {
    const BLOCK: usize = 16;
    text.chunks_exact(BLOCK)
        .take_while(|block| {
            // Without early exits inside a block, this compiles to vector compares.
            !block.iter().fold(false, |special, &b| {
                special | (b == b'"') | (b == b'\\') | (b < 0x20)
            })
        })
        .count()
        * BLOCK
}

struct CanonicalScan<'t> {
    text: &'t [u8],
    at: usize,
}

impl<'t> CanonicalScan<'t> {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        let here = self.peek() == Some(byte);
        if here {
            self.at += 1;
        }
        here
    }

    fn value(&mut self, depth: usize) -> bool {
        match self.peek() {
            Some(b'{') => depth < CANONICAL_CHECK_MAX_DEPTH && self.object(depth + 1),
            Some(b'[') => depth < CANONICAL_CHECK_MAX_DEPTH && self.array(depth + 1),
            Some(b'"') => self.string().is_some(),
            Some(b'-' | b'0'..=b'9') => self.integer(),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            _ => false,
        }
    }

    fn literal(&mut self, word: &[u8]) -> bool {
        let matches = self.text[self.at..].starts_with(word);
        if matches {
            self.at += word.len();
        }
        matches
    }

    fn object(&mut self, depth: usize) -> bool {
        self.at += 1;
        if self.eat(b'}') {
            return true;
        }
        let mut previous: Option<&'t [u8]> = None;
        loop {
            // An escaped key's code points differ from its bytes; the full path
            // orders those.
            let Some((key, false)) = self.string() else {
                return false;
            };
            // Bytewise order of UTF-8 is code-point order; equal keys are a repeat.
            if previous.is_some_and(|p| p >= key) {
                return false;
            }
            previous = Some(key);
            if !self.eat(b':') || !self.value(depth) {
                return false;
            }
            if self.eat(b'}') {
                return true;
            }
            if !self.eat(b',') {
                return false;
            }
        }
    }

    fn array(&mut self, depth: usize) -> bool {
        self.at += 1;
        if self.eat(b']') {
            return true;
        }
        loop {
            if !self.value(depth) {
                return false;
            }
            if self.eat(b']') {
                return true;
            }
            if !self.eat(b',') {
                return false;
            }
        }
    }

    /// The raw bytes between the quotes of a canonical string, and whether they hold
    /// an escape.
    fn string(&mut self) -> Option<(&'t [u8], bool)> {
        if !self.eat(b'"') {
            return None;
        }
        let start = self.at;
        let mut escaped = false;
        self.at += plain_prefix(self.text.get(self.at..)?);
        loop {
            match self.peek()? {
                b'"' => {
                    let body = &self.text[start..self.at];
                    self.at += 1;
                    return Some((body, escaped));
                }
                b'\\' => match self.text.get(self.at + 1)? {
                    b'"' | b'\\' => {
                        escaped = true;
                        self.at += 2;
                    }
                    _ => return None,
                },
                // Not JSON: the full path reports it.
                0x00..=0x1f => return None,
                _ => self.at += 1,
            }
        }
    }

    fn integer(&mut self) -> bool {
        let negative = self.eat(b'-');
        let start = self.at;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.at += 1;
        }
        let digits = &self.text[start..self.at];
        if digits.is_empty()
            || (digits[0] == b'0' && (digits.len() > 1 || negative))
            || matches!(self.peek(), Some(b'.' | b'e' | b'E'))
        {
            return false;
        }
        let mut magnitude: u64 = 0;
        for d in digits {
            match magnitude
                .checked_mul(10)
                .and_then(|m| m.checked_add(u64::from(d - b'0')))
            {
                Some(m) => magnitude = m,
                None => return false,
            }
        }
        // serde_json reads a negative integer as i64 only down to i64::MIN.
        !negative || magnitude <= i64::MIN.unsigned_abs()
    }
}

/// Writes canonical JSON of whatever it deserialises straight into `out`.
struct Transcode<'o> {
    out: &'o mut Vec<u8>,
}

impl<'de> DeserializeSeed<'de> for Transcode<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

/// An object key, borrowed from the input when it has no escapes: a field name read
/// this way costs no allocation.
pub(crate) struct Key<'de>(pub(crate) Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> std::result::Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> std::result::Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de> Visitor<'de> for Transcode<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON without floats")
    }

    fn visit_bool<E>(self, b: bool) -> std::result::Result<(), E> {
        self.out
            .extend_from_slice(if b { b"true" } else { b"false" });
        Ok(())
    }

    fn visit_i64<E>(self, i: i64) -> std::result::Result<(), E> {
        self.out
            .extend_from_slice(itoa::Buffer::new().format(i).as_bytes());
        Ok(())
    }

    fn visit_u64<E>(self, i: u64) -> std::result::Result<(), E> {
        self.out
            .extend_from_slice(itoa::Buffer::new().format(i).as_bytes());
        Ok(())
    }

    fn visit_f64<E: serde::de::Error>(self, f: f64) -> std::result::Result<(), E> {
        Err(E::custom(format!(
            "{f} is not an integer; canonical JSON has no floats"
        )))
    }

    fn visit_str<E>(self, s: &str) -> std::result::Result<(), E> {
        write_string(s, self.out);
        Ok(())
    }

    fn visit_unit<E>(self) -> std::result::Result<(), E> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
        self.out.push(b'[');
        let mut first = true;
        loop {
            let mark = self.out.len();
            if !first {
                self.out.push(b',');
            }
            if seq
                .next_element_seed(Transcode { out: self.out })?
                .is_none()
            {
                self.out.truncate(mark);
                break;
            }
            first = false;
        }
        self.out.push(b']');
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<(), A::Error> {
        let start = self.out.len();
        self.out.push(b'{');
        // Each member's key and where its `"key":value` bytes sit in `out`.
        let mut members: Vec<(Key<'de>, usize, usize)> = Vec::new();
        let mut sorted = true;
        while let Some(key) = map.next_key::<Key<'de>>()? {
            if let Some((prev, _, _)) = members.last() {
                match prev.0.as_ref().cmp(key.0.as_ref()) {
                    std::cmp::Ordering::Less => {}
                    std::cmp::Ordering::Equal => {
                        return Err(serde::de::Error::custom(DUPLICATE_KEY));
                    }
                    std::cmp::Ordering::Greater => sorted = false,
                }
            }
            if !members.is_empty() {
                self.out.push(b',');
            }
            let begin = self.out.len();
            write_string(&key.0, self.out);
            self.out.push(b':');
            map.next_value_seed(Transcode { out: self.out })?;
            members.push((key, begin, self.out.len()));
        }
        self.out.push(b'}');
        if !sorted {
            members.sort_by(|a, b| a.0 .0.cmp(&b.0 .0));
            if members.windows(2).any(|w| w[0].0 .0 == w[1].0 .0) {
                return Err(serde::de::Error::custom(DUPLICATE_KEY));
            }
            let mut object = Vec::with_capacity(self.out.len() - start);
            object.push(b'{');
            for (i, (_, b, e)) in members.iter().enumerate() {
                if i > 0 {
                    object.push(b',');
                }
                object.extend_from_slice(&self.out[*b..*e]);
            }
            object.push(b'}');
            self.out.truncate(start);
            self.out.extend_from_slice(&object);
        }
        Ok(())
    }
}

pub(crate) fn write_string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut from = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'"' || b == b'\\' {
            out.extend_from_slice(&bytes[from..i]);
            out.push(b'\\');
            from = i;
        }
    }
    out.extend_from_slice(&bytes[from..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The test oracle: canonical JSON of a parsed value, by walking the tree.
    /// `serde_json`'s map keeps keys in byte order, which for UTF-8 is code-point
    /// order, the order securesystemslib sorts by.
    fn canonical_value(value: &Value) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        write_value(value, &mut out)?;
        Ok(out)
    }

    fn write_value(v: &Value, out: &mut Vec<u8>) -> Result<()> {
        match v {
            Value::Null => out.extend_from_slice(b"null"),
            Value::Bool(true) => out.extend_from_slice(b"true"),
            Value::Bool(false) => out.extend_from_slice(b"false"),
            Value::Number(n) => {
                if let Some(i) = n.as_u64() {
                    out.extend_from_slice(itoa::Buffer::new().format(i).as_bytes());
                } else if let Some(i) = n.as_i64() {
                    out.extend_from_slice(itoa::Buffer::new().format(i).as_bytes());
                } else {
                    return Err(Error::malformed(
                        "canonical JSON",
                        format!("{n} is not an integer; canonical JSON has no floats"),
                    ));
                }
            }
            Value::String(s) => write_string(s, out),
            Value::Array(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_value(item, out)?;
                }
                out.push(b']');
            }
            Value::Object(map) => {
                out.push(b'{');
                for (i, (k, item)) in map.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_string(k, out);
                    out.push(b':');
                    write_value(item, out)?;
                }
                out.push(b'}');
            }
        }
        Ok(())
    }

    fn canon(json: &str) -> Vec<u8> {
        canonical_value(&serde_json::from_str(json).unwrap()).unwrap()
    }

    #[test]
    fn keys_are_sorted_and_whitespace_dropped() {
        assert_eq!(
            canon(r#"{ "b": 1, "a": [true, null, "x\"y"], "c": {"z": 0, "y": -3} }"#),
            br#"{"a":[true,null,"x\"y"],"b":1,"c":{"y":-3,"z":0}}"#
        );
    }

    /// Expected bytes from securesystemslib 1.6.0's `encode_canonical`.
    #[test]
    fn matches_securesystemslib_on_quotes_control_characters_and_unicode() {
        assert_eq!(
            canon(r#"{"a]":4,"a\\":3,"a#":2,"a\"":1}"#),
            br#"{"a\"":1,"a#":2,"a\\":3,"a]":4}"#
        );
        assert_eq!(canon(r#"{"x":"a\nb\u0001"}"#), b"{\"x\":\"a\nb\x01\"}");
        // U+F900 and "e" + U+0301 stay as they are: no NFC normalisation.
        assert_eq!(
            canon(r#"["\uf900", "e\u0301"]"#),
            "[\"\u{F900}\",\"e\u{301}\"]".as_bytes()
        );
    }

    #[test]
    fn floats_are_refused() {
        let v: Value = serde_json::from_str(r#"{"a": 1.5}"#).unwrap();
        assert!(canonical_value(&v).is_err());
    }

    fn olpc_cjson(v: &Value) -> Vec<u8> {
        let mut out = Vec::new();
        let mut ser =
            serde_json::Serializer::with_formatter(&mut out, olpc_cjson::CanonicalFormatter::new());
        v.serialize(&mut ser).unwrap();
        out
    }

    /// Values on which olpc-cjson and securesystemslib agree: strings already in NFC,
    /// and keys made of characters above `"`. olpc-cjson orders keys by their quoted,
    /// escaped form, so it puts `" "` before `""` and `a#` before `a"`, where
    /// securesystemslib (and [`canonical_value`]) sort by code point.
    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            "[ -~\\n\\t\\u{1}é€𝄞]{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map("[#-\\[\\]-~é]{0,6}", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// JSON text for `v` with object members in a shuffled order, repeated keys now
    /// and then, and whitespace, as real producers write it.
    fn scrambled_text(v: &Value, seed: &mut u64, out: &mut String) {
        let mut next = || {
            *seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            *seed >> 33
        };
        match v {
            Value::Object(m) => {
                let mut members: Vec<(&String, &Value)> = m.iter().collect();
                for i in (1..members.len()).rev() {
                    members.swap(i, (next() as usize) % (i + 1));
                }
                out.push_str("{ ");
                for (i, (k, item)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push_str(",\n ");
                    }
                    out.push_str(&serde_json::to_string(k).unwrap());
                    out.push_str(" : ");
                    scrambled_text(item, seed, out);
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    scrambled_text(item, seed, out);
                }
                out.push(']');
            }
            other => out.push_str(&serde_json::to_string(other).unwrap()),
        }
    }

    #[test]
    fn repeated_keys_keep_the_last_value_as_python_does() {
        assert_eq!(
            canonical_text(r#"{"b":1,"a":2,"b":3}"#).unwrap(),
            br#"{"a":2,"b":3}"#
        );
        assert_eq!(canonical_text(r#"{"a":1,"a":2}"#).unwrap(), br#"{"a":2}"#);
        assert!(canonical_text(r#"{"a":1.5}"#).is_err());
        assert!(canonical_text(r#"{"a":1} x"#).is_err());
        assert!(canonical_text(r#"{"a":"#).is_err());
    }

    #[test]
    fn text_already_canonical_is_recognised_and_nothing_else() {
        for canonical in [
            r#"{"a":[true,false,null,"x\"y\\z"],"b":{"c":-3,"d":0}}"#,
            "18446744073709551615",
            "-9223372036854775808",
            r#"{"":1," ":2,"é":3,"𝄞":4}"#,
            "[]",
            "{}",
            "\"a\u{7f}é\"",
        ] {
            assert!(is_canonical(canonical), "{canonical}");
            assert_eq!(transcode(canonical).unwrap(), canonical.as_bytes());
        }
        for other in [
            "-0",
            "01",
            "1.0",
            "1e5",
            "18446744073709551616",
            "-9223372036854775809",
            r#"{"a":1,"a":1}"#,
            r#"{"b":1,"a":2}"#,
            r#"{"a\\":1}"#,
            r#""\n""#,
            r#""\u0041""#,
            r#""\/""#,
            "\"a\u{1}\"",
            " 1",
            "1 ",
            "[1,]",
            r#"{"a":1,}"#,
            "[1 ,2]",
            "tru",
            "",
            // Regression: a key's opening quote was taken on trust.
            r#"{x":1}"#,
            r#"{"a":1,b":2}"#,
        ] {
            assert!(!is_canonical(other), "{other}");
        }
        let deep = format!("{}{}", "[".repeat(64), "]".repeat(64));
        assert!(is_canonical(&deep));
        let deeper = format!("{}{}", "[".repeat(65), "]".repeat(65));
        assert!(!is_canonical(&deeper));
    }

    #[test]
    fn long_strings_are_judged_at_every_position_of_a_special_byte() {
        // Strings are skipped a block at a time; a quote, an escape or a control
        // character must be seen wherever it falls in a block, in values and in keys.
        let is_its_own_canonical_form =
            |text: &str| transcode(text).is_ok_and(|t| t == text.as_bytes());
        for len in [15, 16, 17, 31, 32, 33, 48, 64, 70] {
            for at in 0..len {
                for special in [
                    "\\\"", "\\\\", "\\n", "\\u0041", "\u{1}", "\u{1f}", "\"", "\u{7f}",
                ] {
                    let body = format!("{}{special}{}", "a".repeat(at), "b".repeat(len - at));
                    let in_value = format!("[\"{body}\",1]");
                    assert_eq!(
                        is_canonical(&in_value),
                        is_its_own_canonical_form(&in_value),
                        "{in_value:?}"
                    );
                    // A key with an escape is left to the full path, so only one way.
                    for in_key in [
                        format!("{{\"{body}\":1}}"),
                        format!("{{\"a\":1,\"{body}\":2}}"),
                    ] {
                        assert!(
                            !is_canonical(&in_key) || is_its_own_canonical_form(&in_key),
                            "{in_key:?}"
                        );
                    }
                }
            }
        }
    }

    /// Applies `edits` (position, byte, kind) to `text`: insert, replace or delete.
    fn mutated(text: &[u8], edits: &[(usize, u8, u8)]) -> Vec<u8> {
        let mut out = text.to_vec();
        for &(at, byte, kind) in edits {
            if out.is_empty() {
                out.push(byte);
                continue;
            }
            let at = at % out.len();
            match kind % 3 {
                0 => out.insert(at, byte),
                1 => out[at] = byte,
                _ => {
                    out.remove(at);
                }
            }
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]
        /// The fast path is taken for what the writer writes (unless it wrote a raw
        /// control character, which is not JSON text).
        #[test]
        fn canonical_output_takes_the_fast_path(v in json_value()) {
            let c = canonical_value(&v).unwrap();
            if !c.iter().any(|b| *b < 0x20) {
                prop_assert!(is_canonical(std::str::from_utf8(&c).unwrap()));
            }
        }

        /// Soundness: whatever the check accepts, the full path returns unchanged,
        /// including after edits that break canonical form in every small way.
        #[test]
        fn text_the_check_accepts_is_its_own_canonical_form(
            v in json_value(),
            edits in prop::collection::vec(
                (any::<usize>(), prop::sample::select(b" \t\n\"\\-+.eE0159{}[],:nu/a".to_vec()), any::<u8>()),
                0..4,
            ),
        ) {
            let c = canonical_value(&v).unwrap();
            let m = mutated(&c, &edits);
            if let Ok(text) = std::str::from_utf8(&m) {
                if is_canonical(text) {
                    prop_assert_eq!(transcode(text).unwrap(), m.clone());
                }
            }
        }

        #[test]
        fn agrees_with_olpc_cjson_where_it_agrees_with_securesystemslib(v in json_value()) {
            prop_assert_eq!(canonical_value(&v).unwrap(), olpc_cjson(&v));
        }

        #[test]
        fn streaming_from_text_equals_canonicalising_the_parsed_value(
            v in json_value(),
            seed in any::<u64>(),
        ) {
            let mut text = String::new();
            let mut s = seed;
            scrambled_text(&v, &mut s, &mut text);
            prop_assert_eq!(canonical_text(&text).unwrap(), canonical_value(&v).unwrap());
        }
    }
}
