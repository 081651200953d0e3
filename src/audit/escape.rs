//! The encoding of field values in audit messages.
//!
//! The grammar is documented in the parent module. This module only writes
//! it: a value is bare when that is unambiguous and quoted otherwise, and
//! every character that a terminal or log viewer could hide, move or turn
//! into a line break is written as an escape.

use std::fmt::Write;

/// Appends `value` to `out`, bare when possible and quoted otherwise.
pub(super) fn push_value(out: &mut String, value: &str) {
    if !needs_quotes(value) {
        out.push_str(value);
        return;
    }
    out.push('"');
    for c in value.chars() {
        push_char(out, c);
    }
    out.push('"');
}

/// Returns the number of bytes that [`push_value`] appends for `value`.
pub(super) fn encoded_len(value: &str) -> usize {
    if needs_quotes(value) {
        2 + value.chars().map(quoted_char_len).sum::<usize>()
    } else {
        value.len()
    }
}

/// Returns the byte length of the longest prefix of `value` whose encoding
/// takes at most `budget` bytes. The prefix always ends on a character
/// boundary, so an escape is never cut in two.
pub(super) fn longest_prefix(value: &str, budget: usize) -> usize {
    let mut best = 0;
    let mut quoted = false;
    let mut escaped_len = 0;
    for (index, c) in value.char_indices() {
        quoted |= forces_quotes(c);
        escaped_len += quoted_char_len(c);

        // A bare prefix is as long as its escaped form, because only
        // characters that force quotes have a longer escaped form.
        let len = if quoted { escaped_len + 2 } else { escaped_len };
        if len > budget {
            break;
        }
        best = index + c.len_utf8();
    }
    best
}

fn needs_quotes(value: &str) -> bool {
    value.is_empty() || value.chars().any(forces_quotes)
}

fn forces_quotes(c: char) -> bool {
    matches!(c, ' ' | '"' | '\\' | '=') || must_escape(c)
}

/// Returns whether `c` is written as `\xNN` or `\u{...}` inside quotes.
///
/// These are the control characters (C0, DEL and C1) and every Unicode
/// white space except the ASCII space, such as the line and paragraph
/// separators and no-break spaces. The format characters of general
/// category Cf are escaped too, such as bidi overrides and isolates,
/// zero-width characters and tag characters.
fn must_escape(c: char) -> bool {
    c.is_control() || (c.is_whitespace() && c != ' ') || is_format_char(c)
}

/// Returns whether `c` has general category Cf. The table is Unicode 14.0
/// as Python's `unicodedata` lists it, with the Egyptian hieroglyph format
/// controls taken as the whole range U+13430..U+1343F so that the ones
/// added by later Unicode versions are escaped too.
fn is_format_char(c: char) -> bool {
    matches!(
        c as u32,
        0xAD | 0x600..=0x605
            | 0x61C
            | 0x6DD
            | 0x70F
            | 0x890..=0x891
            | 0x8E2
            | 0x180E
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0001
            | 0xE0020..=0xE007F
    )
}

fn push_char(out: &mut String, c: char) {
    match c {
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        c if must_escape(c) && c.is_ascii() => {
            write!(out, "\\x{:02x}", c as u32).expect("writing to a String cannot fail");
        }
        c if must_escape(c) => {
            write!(out, "\\u{{{:x}}}", c as u32).expect("writing to a String cannot fail");
        }
        c => out.push(c),
    }
}

/// Returns the number of bytes that [`push_char`] appends for `c`.
fn quoted_char_len(c: char) -> usize {
    match c {
        '"' | '\\' => 2,
        c if must_escape(c) && c.is_ascii() => 4,
        c if must_escape(c) => {
            let hex_digits = (32 - (c as u32).leading_zeros()).div_ceil(4) as usize;
            hex_digits + 4
        }
        c => c.len_utf8(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(value: &str) -> String {
        let mut out = String::new();
        push_value(&mut out, value);
        out
    }

    #[test]
    fn push_value_table() {
        let cases: &[(&str, &str)] = &[
            ("refs/heads/main", "refs/heads/main"),
            ("alice@example.com", "alice@example.com"),
            ("Ren\u{e9}", "Ren\u{e9}"),
            ("", "\"\""),
            ("Alice Liddell", "\"Alice Liddell\""),
            ("a=b", "\"a=b\""),
            ("say \"hi\"", "\"say \\\"hi\\\"\""),
            ("C:\\dir", "\"C:\\\\dir\""),
            ("line\nbreak", "\"line\\x0abreak\""),
            ("tab\there", "\"tab\\x09here\""),
            ("esc\u{1b}[31m", "\"esc\\x1b[31m\""),
            ("del\u{7f}", "\"del\\x7f\""),
            ("c1\u{85}", "\"c1\\u{85}\""),
            ("nbsp\u{a0}x", "\"nbsp\\u{a0}x\""),
            ("ls\u{2028}ps\u{2029}", "\"ls\\u{2028}ps\\u{2029}\""),
            ("rlo\u{202e}txt", "\"rlo\\u{202e}txt\""),
            ("isolate\u{2066}", "\"isolate\\u{2066}\""),
            ("zwsp\u{200b}", "\"zwsp\\u{200b}\""),
            ("tag\u{e0041}", "\"tag\\u{e0041}\""),
            ("nul\0", "\"nul\\x00\""),
        ];
        for (value, expected) in cases {
            assert_eq!(encode(value), *expected, "value {value:?}");
        }
    }

    #[test]
    fn encoded_len_matches_output() {
        let values = [
            "",
            "plain",
            "two words",
            "\u{10ffff}\u{e0001}\u{85}\n\"\\",
            "\u{202e}abc",
            "Ren\u{e9}",
        ];
        for value in values {
            assert_eq!(encoded_len(value), encode(value).len(), "value {value:?}");
        }
    }

    #[test]
    fn longest_prefix_respects_budget() {
        let value = "ab\u{202e}cd";
        // Bare "ab" is 2 bytes. With the override the prefix needs quotes:
        // "ab\u{202e}" is 2 + 2 + 8 = 12 bytes.
        let cases: &[(usize, usize)] = &[(0, 0), (1, 1), (2, 2), (11, 2), (12, 5), (13, 6)];
        for (budget, expected) in cases {
            assert_eq!(longest_prefix(value, *budget), *expected, "budget {budget}");
        }
    }

    #[test]
    fn longest_prefix_fits_encoding() {
        let value = "x \u{1b}\u{10ffff}\"\u{e9}\u{2028}end";
        for budget in 0..=value.len() * 4 {
            // An empty prefix is never written, so its length of 2 for the
            // quotes of an empty value does not count.
            let cut = longest_prefix(value, budget);
            let len = if cut == 0 {
                0
            } else {
                encoded_len(&value[..cut])
            };
            assert!(len <= budget, "budget {budget}");
        }
    }
}
