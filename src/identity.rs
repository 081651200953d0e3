//! Identities: who pushed (from the transport) and who a trailer names.
//!
//! A [`Pusher`] comes from the environment that the Git host sets for an
//! authenticated push. A reviewer is only text in a commit message. The two
//! are different types so that one is never taken for the other.

use std::fmt;

use unicode_normalization::UnicodeNormalization;

/// The name of whoever pushes, as the transport reported it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pusher {
    /// The environment variable the name came from, for messages and audit.
    pub source: String,
    pub name: String,
}

/// An email address in the form used for comparison: NFC-normalized and
/// lowercased, so that `Bob@Example.COM` and `bob@example.com` are equal.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address(String);

impl Address {
    /// Normalizes `raw`, which should already be trimmed.
    pub fn new(raw: &str) -> Address {
        Address(normalize(raw))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Applies Unicode NFC normalization and lowercasing, the comparison form
/// for addresses and usernames. The result is in NFC, so normalizing it again
/// leaves it unchanged.
pub fn normalize(text: &str) -> String {
    // ASCII text is already in NFC, and most addresses are ASCII.
    if text.is_ascii() {
        return text.to_ascii_lowercase();
    }
    // Lowercasing can leave combining marks out of canonical order: `İ`
    // (U+0130) followed by U+0316 becomes `i`, U+0307, U+0316. NFC after
    // lowercasing puts them back in order.
    text.nfc()
        .collect::<String>()
        .to_lowercase()
        .nfc()
        .collect()
}

/// Returns the confusable skeleton of `text` (Unicode TS #39): two strings
/// that look alike, such as `bob` with a Latin `o` and with a Cyrillic `о`,
/// have the same skeleton.
pub fn skeleton(text: &str) -> String {
    unicode_security::skeleton(text)
        .collect::<String>()
        .to_lowercase()
}

/// Extracts the address from a trailer value: the text inside the last
/// `<...>`, or the whole value when it is a bare address. Returns `None`
/// when the value names no address, e.g. `Reviewed-by: Alice`.
pub fn address_of(value: &str) -> Option<Address> {
    let value = value.trim();
    // The last `<`, then the first `>` after it: `<bob@x>>` names bob@x.
    let inner = match value.rfind('<') {
        Some(open) => match value[open + 1..].find('>') {
            Some(close) => value[open + 1..open + 1 + close].trim(),
            None => return None,
        },
        None if value.contains('>') => return None,
        None => value,
    };
    if is_plausible_address(inner) {
        Some(Address::new(inner))
    } else {
        None
    }
}

/// Accepts `local@domain` with non-empty parts and no whitespace.
fn is_plausible_address(text: &str) -> bool {
    let Some((local, domain)) = text.rsplit_once('@') else {
        return false;
    };
    !local.is_empty() && !domain.is_empty() && !text.chars().any(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_of_table() {
        let cases: &[(&str, Option<&str>)] = &[
            ("Alice <alice@example.com>", Some("alice@example.com")),
            ("alice@example.com", Some("alice@example.com")),
            (
                "  Alice Liddell <Alice@Example.COM>  ",
                Some("alice@example.com"),
            ),
            ("Bob <bob@old> <bob@new.example>", Some("bob@new.example")),
            ("B <bob@example.com>>", Some("bob@example.com")),
            ("B <bob@example.com> (reviewer)", Some("bob@example.com")),
            ("bob@example.com>", None),
            ("<carol@example.com>", Some("carol@example.com")),
            ("Alice", None),
            ("Alice <>", None),
            ("Alice <not an address>", None),
            ("Alice <alice@example.com", None),
            ("alice@", None),
            ("@example.com", None),
            ("", None),
        ];
        for (value, expected) in cases {
            let got = address_of(value);
            assert_eq!(
                got.as_ref().map(Address::as_str),
                *expected,
                "value {value:?}"
            );
        }
    }

    #[test]
    fn normalize_reorders_after_lowercase() {
        let once = normalize("\u{130}\u{316}nci@example.com");
        assert_eq!(once, "i\u{316}\u{307}nci@example.com");
        assert_eq!(normalize(&once), once);
        assert_eq!(
            Address::new("\u{130}\u{316}nci@example.com"),
            Address::new("i\u{316}\u{307}nci@example.com")
        );
    }

    #[test]
    fn skeleton_matches_lookalikes() {
        let latin = skeleton("bob@example.com");
        assert_eq!(skeleton("b\u{43e}b@example.com"), latin, "Cyrillic o");
        assert_eq!(
            skeleton("bob@examp\u{217c}e.com"),
            latin,
            "Roman numeral fifty"
        );
        assert_ne!(skeleton("rob@example.com"), latin);
    }

    #[test]
    fn normalize_composes_and_lowercases() {
        // "e" followed by a combining acute accent composes to "é".
        assert_eq!(normalize("Ren\u{65}\u{301}@X.org"), "ren\u{e9}@x.org");
        assert_eq!(normalize("BOB@EXAMPLE.COM"), "bob@example.com");
    }
}
