//! Text that comes from outside (a target's body, headers and reason phrase,
//! DNS answers, certificate fields, a receiver's answer, and error texts
//! built from them) made storable and displayable before it goes anywhere.
//!
//! PostgreSQL holds neither U+0000 in `text` nor `\u0000` in `jsonb`, so a
//! target that answers with a NUL byte could otherwise keep its own results
//! out of the database. Control characters and bidirectional overrides are
//! not rejected by PostgreSQL but make stored text misleading when a person
//! reads it. All of them are replaced with U+FFFD, invalid UTF-8 is decoded
//! lossily, and the length is bounded on a character boundary; callers
//! record that a text was altered, so the evidence says so.

use std::borrow::Cow;

use serde_json::{Map, Value};

/// What replaces a character that cannot be stored or shown as it is.
pub const REPLACEMENT: char = '\u{FFFD}';
/// Longest error text kept with a result or a delivery attempt, in bytes.
pub const MAX_ERROR_BYTES: usize = 1024;
/// Longest string kept inside a result's `details`, in bytes.
pub const MAX_DETAIL_BYTES: usize = 1024;

/// A text made storable, and what that changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cleaned<'a> {
    pub text: Cow<'a, str>,
    /// A character was replaced or invalid UTF-8 was decoded.
    pub replaced: bool,
    /// The text was cut to the bound.
    pub cut: bool,
}

impl Cleaned<'_> {
    /// Whether the text differs from what came in.
    pub fn altered(&self) -> bool {
        self.replaced || self.cut
    }
}

/// True for characters that are replaced: NUL and the other C0 controls
/// except tab, line feed and carriage return; DEL and the C1 controls; and
/// the bidirectional embedding, override and isolate characters.
pub fn is_replaced(c: char) -> bool {
    match c {
        '\t' | '\n' | '\r' => false,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' => true,
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => true,
        _ => false,
    }
}

/// `text` with replaced characters and at most `max_bytes` bytes.
pub fn clean(text: &str, max_bytes: usize) -> Cleaned<'_> {
    let mut end = 0;
    let mut needs_copy = false;
    for (at, c) in text.char_indices() {
        if is_replaced(c) {
            needs_copy = true;
            break;
        }
        if at + c.len_utf8() > max_bytes {
            break;
        }
        end = at + c.len_utf8();
    }
    if !needs_copy {
        return Cleaned {
            text: Cow::Borrowed(&text[..end]),
            replaced: false,
            cut: end < text.len(),
        };
    }
    let mut out = String::with_capacity(text.len().min(max_bytes));
    let mut taken = 0;
    let mut replaced = false;
    for c in text.chars() {
        let shown = if is_replaced(c) { REPLACEMENT } else { c };
        if out.len() + shown.len_utf8() > max_bytes {
            break;
        }
        out.push(shown);
        replaced |= shown != c;
        taken += c.len_utf8();
    }
    Cleaned {
        text: Cow::Owned(out),
        replaced,
        cut: taken < text.len(),
    }
}

/// Bytes from outside as storable text of at most `max_bytes` bytes.
pub fn clean_bytes(bytes: &[u8], max_bytes: usize) -> Cleaned<'static> {
    // Decoding more than the bound could only be cut away again; four bytes
    // more keeps a character that straddles the bound from reading as invalid.
    let head = &bytes[..bytes.len().min(max_bytes.saturating_add(4))];
    let decoded = String::from_utf8_lossy(head);
    let lossy = matches!(decoded, Cow::Owned(_));
    let cleaned = clean(&decoded, max_bytes);
    Cleaned {
        replaced: cleaned.replaced || lossy,
        cut: cleaned.cut || head.len() < bytes.len(),
        text: Cow::Owned(cleaned.text.into_owned()),
    }
}

/// Cleans an optional owned string in place; true when it changed.
pub fn clean_in_place(text: &mut Option<String>, max_bytes: usize) -> bool {
    let Some(current) = text.as_deref() else {
        return false;
    };
    let cleaned = clean(current, max_bytes);
    if !cleaned.altered() {
        return false;
    }
    *text = Some(cleaned.text.into_owned());
    true
}

/// Cleans every string and object key inside `value` (each bounded to
/// `max_bytes`); true when anything changed.
pub fn clean_json(value: &mut Value, max_bytes: usize) -> bool {
    match value {
        Value::String(text) => {
            let cleaned = clean(text, max_bytes);
            if cleaned.altered() {
                *text = cleaned.text.into_owned();
                true
            } else {
                false
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |altered, item| clean_json(item, max_bytes) | altered),
        Value::Object(map) => clean_map(map, max_bytes),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

/// [`clean_json`] over the entries of an object.
pub fn clean_map(map: &mut Map<String, Value>, max_bytes: usize) -> bool {
    let keys_clean = map.keys().all(|key| !clean(key, max_bytes).altered());
    if keys_clean {
        return map
            .values_mut()
            .fold(false, |altered, item| clean_json(item, max_bytes) | altered);
    }
    let entries = std::mem::take(map);
    for (key, mut item) in entries {
        clean_json(&mut item, max_bytes);
        map.insert(clean(&key, max_bytes).text.into_owned(), item);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn nul_and_controls_are_replaced_and_reported() {
        let cleaned = clean("ok\0ok keyword\u{1b}[31m", 100);
        assert_eq!(cleaned.text, "ok\u{FFFD}ok keyword\u{FFFD}[31m");
        assert!(cleaned.replaced && !cleaned.cut);
        let kept = clean("tab\tnew\nline\r é ✓", 100);
        assert_eq!(kept.text, "tab\tnew\nline\r é ✓");
        assert!(!kept.altered());
        assert!(matches!(kept.text, Cow::Borrowed(_)));
        assert_eq!(clean("a\u{202e}b\u{85}c", 100).text, "a\u{FFFD}b\u{FFFD}c");
    }

    #[test]
    fn texts_are_cut_on_character_boundaries() {
        let cleaned = clean("ééé", 5);
        assert_eq!(cleaned.text, "éé");
        assert!(cleaned.cut && !cleaned.replaced);
        // A replacement is three bytes: the bound still holds.
        let grown = clean("\0\0\0\0", 7);
        assert_eq!(grown.text, "\u{FFFD}\u{FFFD}");
        assert!(grown.cut);
        assert!(!clean("\0\0", 6).cut);
        assert_eq!(clean("", 0).text, "");
    }

    #[test]
    fn invalid_utf8_is_decoded_and_reported() {
        let cleaned = clean_bytes(b"ok\xff\xfe done", 100);
        assert_eq!(cleaned.text, "ok\u{FFFD}\u{FFFD} done");
        assert!(cleaned.replaced);
        assert!(!clean_bytes("plain é".as_bytes(), 100).altered());
        // A character straddling the bound is cut whole, not made invalid.
        let cut = clean_bytes("aé".as_bytes(), 2);
        assert_eq!(cut.text, "a");
    }

    #[test]
    fn json_strings_and_keys_are_cleaned() {
        let mut value = json!({"txt": ["a\0b", "fine"], "k\0ey": {"n": 1, "s": "x\u{7}"}});
        assert!(clean_json(&mut value, 100));
        assert_eq!(
            value,
            json!({"txt": ["a\u{FFFD}b", "fine"], "k\u{FFFD}ey": {"n": 1, "s": "x\u{FFFD}"}})
        );
        let mut clean_value = json!({"a": ["b", 1, null, true]});
        assert!(!clean_json(&mut clean_value, 100));
    }

    proptest! {
        #[test]
        fn any_bytes_become_bounded_storable_text(
            bytes in proptest::collection::vec(any::<u8>(), 0..4096),
            max in 0usize..2048,
        ) {
            let cleaned = clean_bytes(&bytes, max);
            prop_assert!(cleaned.text.len() <= max);
            prop_assert!(!cleaned.text.contains('\0'));
            prop_assert!(!cleaned.text.chars().any(is_replaced));
            // Clean input up to the bound passes through unchanged.
            if !cleaned.altered() {
                prop_assert_eq!(cleaned.text.as_bytes(), &bytes[..]);
            }
        }

        #[test]
        fn any_string_becomes_bounded_storable_text(text in any::<String>(), max in 0usize..512) {
            let cleaned = clean(&text, max);
            prop_assert!(cleaned.text.len() <= max);
            prop_assert!(!cleaned.text.chars().any(is_replaced));
            prop_assert_eq!(cleaned.altered(), cleaned.text != text);
        }
    }
}
