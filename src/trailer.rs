//! Commit message trailers, found as git 2.47 finds them.
//!
//! [`parse`] returns the list that `git log --format='%(trailers:only,unfold)'`
//! prints for a commit with the same message, with git's default
//! configuration: separator `:`, comment character `#`, no `trailer.*`
//! settings. The rules were worked out from git 2.47.3's behaviour and are
//! checked against the installed git by the `trailers` integration tests.
//! [`stray`] finds `Key: value` lines that git does not read as trailers, so
//! that a rejection can explain why a reviewer did not count.
//!
//! The module is pure: it reads no configuration and runs no git. Every step
//! is a single pass over the message, so the cost is linear in its length.

use std::ops::Range;

/// The comment character that git uses when `core.commentChar` is not set.
const COMMENT_CHAR: u8 = b'#';

/// The line below which `git commit --cleanup=scissors` drops everything.
/// git ignores the scissors line and all that follows it also when it reads
/// trailers of a commit that already exists.
const SCISSORS_LINE: &str = "# ------------------------ >8 ------------------------\n";

/// Line prefixes that git itself writes. A block that contains one of them
/// counts as the trailer block when at least 25 % of its lines are trailers.
const GIT_GENERATED_PREFIXES: [&str; 2] = ["Signed-off-by: ", "(cherry picked from commit "];

/// One `key: value` trailer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trailer {
    /// The token before the separator, without surrounding whitespace, in
    /// the case the message uses. Compare keys ASCII case-insensitively.
    pub key: String,
    /// The value after the separator, trimmed, with continuation lines
    /// joined by single spaces.
    pub value: String,
}

/// Returns the trailers of the message's trailer block, unfolded, in order,
/// trimmed as git trims them: the same list as
/// `git log --format='%(trailers:only,unfold)'` shows for a commit with this
/// message (default git configuration, default separator ':'). Without
/// `only`, git also prints the block's other lines, such as
/// `(cherry picked from commit ...)`; they are not trailers and not returned.
///
/// Like git, the parser stops at the first NUL byte, skips blank lines
/// before the subject, and ignores a trailing run of comment lines, an old
/// `Conflicts:` block and everything below a scissors line. A `---` line
/// does not end the message, as in `git log` (`git interpret-trailers`
/// stops there).
pub fn parse(message: &str) -> Vec<Trailer> {
    let visible = visible_range(message);
    let items = trailer_items(&message[visible.clone()]);
    trailers_of(&message[visible], &items)
}

/// Returns `Key: value` lines that are NOT in the trailer block but whose key
/// is one of `keys` (ASCII case-insensitive), so the caller can explain
/// "Reviewed-by line not in the trailer block". Order of appearance.
///
/// Every line of the message is checked, including indented lines,
/// continuation lines folded into another trailer, and lines that git
/// ignores (after a NUL byte, below a scissors line). Leading spaces and tabs
/// are skipped before the key. The value is the rest of that one line, trimmed.
pub fn stray(message: &str, keys: &[String]) -> Vec<Trailer> {
    let visible = visible_range(message);
    let items = trailer_items(&message[visible.clone()]);
    stray_lines(message, visible, &items, keys)
}

/// Returns what [`parse`] and [`stray`] return for `message`, finding the
/// trailer block once instead of twice.
pub fn parse_with_stray(message: &str, keys: &[String]) -> (Vec<Trailer>, Vec<Trailer>) {
    let visible = visible_range(message);
    let items = trailer_items(&message[visible.clone()]);
    let trailers = trailers_of(&message[visible.clone()], &items);
    (trailers, stray_lines(message, visible, &items, keys))
}

/// Turns the items of `text`'s trailer block into trailers, skipping items
/// that are not trailers.
fn trailers_of(text: &str, items: &[Range<usize>]) -> Vec<Trailer> {
    items
        .iter()
        .filter_map(|item| to_trailer(&text[item.clone()]))
        .collect()
}

/// Finds the stray lines for [`stray`]. `items` are the trailer block items
/// of `message[visible]`, with offsets relative to `visible.start`.
fn stray_lines(
    message: &str,
    visible: Range<usize>,
    items: &[Range<usize>],
    keys: &[String],
) -> Vec<Trailer> {
    let text_offset = visible.start;
    let text = &message[visible];
    let trailer_starts: Vec<usize> = items
        .iter()
        .filter(|item| separator_position(&text[(*item).clone()]).is_some())
        .map(|item| text_offset + item.start)
        .collect();

    let mut result = Vec::new();
    let mut next_trailer = trailer_starts.iter().peekable();
    for (start, line) in lines(message, 0) {
        while next_trailer.next_if(|&&s| s < start).is_some() {}
        if next_trailer.next_if(|&&s| s == start).is_some() {
            continue;
        }
        let candidate = line.trim_start_matches([' ', '\t']);
        let Some(separator) = separator_position(candidate) else {
            continue;
        };
        let key = trim_git_space(&candidate[..separator]);
        if keys.iter().any(|k| k.eq_ignore_ascii_case(key)) {
            result.push(Trailer {
                key: key.to_string(),
                value: trim_git_space(&candidate[separator + 1..]).to_string(),
            });
        }
    }
    result
}

/// Returns the byte range of the message that git reads: up to the first NUL
/// byte (git handles the message as a C string), without the blank lines
/// before the subject (`git log` skips them before it looks for trailers).
fn visible_range(message: &str) -> Range<usize> {
    let end = message.find('\0').unwrap_or(message.len());
    let mut start = 0;
    for (line_start, line) in lines(&message[..end], 0) {
        if !is_blank(line) {
            break;
        }
        start = line_start + line.len();
    }
    start..end
}

/// Returns the byte ranges of the items in the trailer block of `text`: each
/// item is a line plus the continuation lines git joins to it. Items are
/// trailers or, in a block accepted by the 25 % rule, other lines.
fn trailer_items(text: &str) -> Vec<Range<usize>> {
    let end = end_of_log_message(text);
    let block_start = trailer_block_start(text, end);

    let mut items: Vec<Range<usize>> = Vec::new();
    let mut last_is_trailer = false;
    for (start, line) in lines(&text[..end], block_start) {
        let continues = line.as_bytes().first().is_some_and(|&b| is_git_space(b));
        if last_is_trailer && continues {
            let last = items.last_mut().expect("a trailer item precedes");
            last.end = start + line.len();
            continue;
        }
        // git joins continuation lines only to a trailer, so a line after a
        // comment or prose line starts an item of its own.
        last_is_trailer = separator_position(line).is_some();
        items.push(start..start + line.len());
    }
    items
}

/// Returns the byte offset where git's log message ends: the start of a
/// trailing run of comment lines, empty lines and old `Conflicts:` blocks,
/// or else of the scissors line, or else the end of `text`.
fn end_of_log_message(text: &str) -> usize {
    let bytes = text.as_bytes();
    // The first line that is exactly the scissors line, newline included.
    let mut cutoff = text.len();
    let mut run_start: Option<usize> = None;
    let mut in_conflicts_block = false;
    for (start, line) in lines(text, 0) {
        if line == SCISSORS_LINE {
            cutoff = start;
            break;
        }
        if bytes[start] == COMMENT_CHAR || bytes[start] == b'\n' {
            run_start.get_or_insert(start);
        } else if line == "Conflicts:\n" {
            in_conflicts_block = true;
            run_start.get_or_insert(start);
        } else if in_conflicts_block && bytes[start] == b'\t' {
            // A path listed in the conflicts block.
        } else if run_start.is_some() {
            run_start = None;
            in_conflicts_block = false;
        }
    }
    run_start.unwrap_or(cutoff)
}

/// Returns the byte offset where the trailer block of `text[..end]` starts,
/// or `end` when the message has no trailer block.
///
/// The block is the last paragraph after the subject paragraph. It counts
/// when all its lines are trailers, or when it contains a line from
/// [`GIT_GENERATED_PREFIXES`] and at least 25 % of its lines are trailers.
/// Comment lines are not counted. Indented lines under a trailer line are not
/// counted either, but under any other line they count as other lines.
fn trailer_block_start(text: &str, end: usize) -> usize {
    let body_start = end_of_subject_paragraph(text, end);
    let body_lines: Vec<(usize, &str)> = lines(&text[..end], body_start).collect();

    let mut only_blank_so_far = true;
    let mut has_generated_line = false;
    let mut trailer_lines = 0usize;
    let mut other_lines = 0usize;
    // Indented lines seen since the last trailer line; scanning backwards,
    // their kind is known only when the line they continue is reached.
    let mut pending_continuations = 0usize;

    for &(start, line) in body_lines.iter().rev() {
        let first_byte = line.as_bytes()[0];
        if first_byte == COMMENT_CHAR {
            other_lines += pending_continuations;
            pending_continuations = 0;
            continue;
        }
        if is_blank(line) {
            if only_blank_so_far {
                continue;
            }
            other_lines += pending_continuations;
            let after_blank = start + line.len();
            // trailers >= 25 % of all counted lines, in integers.
            if has_generated_line && trailer_lines * 3 >= other_lines {
                return after_blank;
            }
            if trailer_lines > 0 && other_lines == 0 {
                return after_blank;
            }
            return end;
        }
        only_blank_so_far = false;

        if GIT_GENERATED_PREFIXES.iter().any(|p| line.starts_with(p)) {
            trailer_lines += 1;
            pending_continuations = 0;
            has_generated_line = true;
        } else if separator_position(line).is_some() {
            trailer_lines += 1;
            pending_continuations = 0;
        } else if is_git_space(first_byte) {
            pending_continuations += 1;
        } else {
            other_lines += 1 + pending_continuations;
            pending_continuations = 0;
        }
    }
    end
}

/// Returns the offset of the first blank line of `text[..end]` (comment
/// lines are skipped), or `end` when the subject paragraph fills it.
fn end_of_subject_paragraph(text: &str, end: usize) -> usize {
    for (start, line) in lines(&text[..end], 0) {
        if line.as_bytes()[0] != COMMENT_CHAR && is_blank(line) {
            return start;
        }
    }
    end
}

/// Splits `item` (a line and its continuation lines) into an unfolded
/// trailer, or returns `None` when it does not start with a token and `:`.
fn to_trailer(item: &str) -> Option<Trailer> {
    let separator = separator_position(item)?;
    Some(Trailer {
        key: trim_git_space(&item[..separator]).to_string(),
        value: unfold(trim_git_space(&item[separator + 1..])),
    })
}

/// Returns the position of the `:` that makes `line` a trailer: a non-empty
/// token of ASCII letters, digits and `-`, optional spaces or tabs, then `:`.
fn separator_position(line: &str) -> Option<usize> {
    let mut after_whitespace = false;
    for (i, byte) in line.bytes().enumerate() {
        if byte == b':' {
            return (i >= 1).then_some(i);
        }
        if !after_whitespace && (byte.is_ascii_alphanumeric() || byte == b'-') {
            continue;
        }
        if i > 0 && (byte == b' ' || byte == b'\t') {
            after_whitespace = true;
            continue;
        }
        return None;
    }
    None
}

/// Joins continuation lines as git's `unfold` option does: each newline and
/// all whitespace after it become one space. Whitespace before the newline
/// stays, so `"a \n b"` becomes `"a  b"`.
fn unfold(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut unfolded = String::with_capacity(value.len());
    let mut rest_start = 0;
    while let Some(newline) = value[rest_start..].find('\n') {
        let newline = rest_start + newline;
        unfolded.push_str(&value[rest_start..newline]);
        unfolded.push(' ');
        rest_start = newline + 1;
        while rest_start < bytes.len() && is_git_space(bytes[rest_start]) {
            rest_start += 1;
        }
    }
    unfolded.push_str(&value[rest_start..]);
    trim_git_space(&unfolded).to_string()
}

/// Iterates the lines of `text` from byte offset `from` (a line start), each
/// with its offset and its `\n` if it has one.
fn lines(text: &str, from: usize) -> impl Iterator<Item = (usize, &str)> {
    text[from..]
        .split_inclusive('\n')
        .scan(from, |offset, line| {
            let start = *offset;
            *offset += line.len();
            Some((start, line))
        })
}

/// Returns whether `line` contains only whitespace as git defines it.
fn is_blank(line: &str) -> bool {
    line.bytes().all(is_git_space)
}

/// git's `isspace`: space, tab, line feed and carriage return only, so a
/// vertical tab, a form feed or a non-ASCII space is not whitespace.
fn is_git_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r')
}

fn trim_git_space(text: &str) -> &str {
    text.trim_matches([' ', '\t', '\n', '\r'])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(message: &str) -> Vec<(String, String)> {
        parse(message)
            .into_iter()
            .map(|t| (t.key, t.value))
            .collect()
    }

    fn owned(expected: &[(&str, &str)]) -> Vec<(String, String)> {
        expected
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn parse_table() {
        let cases: &[(&str, &[(&str, &str)])] = &[
            ("Subject", &[]),
            (
                "Subject\n\nReviewed-by: A <a@x>\n",
                &[("Reviewed-by", "A <a@x>")],
            ),
            ("Subject\nReviewed-by: A\n", &[]),
            (
                "Subject\n\nBody text.\n\nAcked-by: B\n",
                &[("Acked-by", "B")],
            ),
            ("Subject\n\nprose\nAcked-by: B\n", &[]),
            ("Subject\n\nReviewed by: A\n", &[]),
            ("Subject\n\nKey :  v  \n", &[("Key", "v")]),
            ("Subject\n\nKey:\n", &[("Key", "")]),
            ("Subject\n\nKey: a\n  b\n\tc\n", &[("Key", "a b c")]),
            ("Subject\n\nKey: a\r\nB: c\r\n", &[("Key", "a"), ("B", "c")]),
            ("Subject\n\n# note\nKey: a\n", &[("Key", "a")]),
            ("\n\nSubject\n\nKey: a\n", &[("Key", "a")]),
            ("Subject\n\nKey: a\0\nB: b\n", &[("Key", "a")]),
            (
                "Subject\n\nprose\nprose\nprose\nSigned-off-by: S\n",
                &[("Signed-off-by", "S")],
            ),
            (
                "Subject\n\nprose\nprose\nprose\nprose\nSigned-off-by: S\n",
                &[],
            ),
            (
                "Subject\n\nKey: a\n\n# ------------------------ >8 ------------------------\nB: b\n",
                &[("Key", "a")],
            ),
        ];
        for (message, expected) in cases {
            assert_eq!(pairs(message), owned(expected), "message {message:?}");
        }
    }

    #[test]
    fn separator_position_table() {
        let cases: &[(&str, Option<usize>)] = &[
            ("Key: v", Some(3)),
            ("Key:v", Some(3)),
            ("Key \t: v", Some(5)),
            ("-Key: v", Some(4)),
            (": v", None),
            (" Key: v", None),
            ("Key x: v", None),
            ("Ключ: v", None),
            ("Key", None),
        ];
        for (line, expected) in cases {
            assert_eq!(separator_position(line), *expected, "line {line:?}");
        }
    }

    #[test]
    fn stray_outside_block() {
        let message = "Subject\nReviewed-by: A\n\nSee:\n  reviewed-BY: B\n\nReviewed-by: C\n";
        let keys = vec!["Reviewed-by".to_string()];
        let found = stray(message, &keys);
        let expected = vec![
            Trailer {
                key: "Reviewed-by".into(),
                value: "A".into(),
            },
            Trailer {
                key: "reviewed-BY".into(),
                value: "B".into(),
            },
        ];
        assert_eq!(found, expected);
    }

    #[test]
    fn stray_folded_line() {
        let message = "Subject\n\nSigned-off-by: S\n  Reviewed-by: B\n";
        let keys = vec!["Reviewed-by".to_string()];
        assert_eq!(
            pairs(message),
            owned(&[("Signed-off-by", "S Reviewed-by: B")])
        );
        let found = stray(message, &keys);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].value, "B");
    }

    #[test]
    fn stray_ignores_other_keys() {
        let message = "Subject\nAcked-by: A\n\nBody.\n";
        let keys = vec!["Reviewed-by".to_string()];
        assert!(stray(message, &keys).is_empty());
    }

    #[test]
    fn stray_hidden_block() {
        let message = "Subject\n\nReviewed-by: A\nprose\nAcked-by: X\n";
        let keys = vec!["reviewed-by".to_string()];
        let found = stray(message, &keys);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].value, "A");
    }

    #[test]
    fn parse_ten_thousand_trailers() {
        let mut message = String::from("Subject\n\nBody.\n\n");
        for i in 0..10_000 {
            message.push_str(&format!("Reviewed-by: R{i} <r{i}@x>\n"));
        }
        let trailers = parse(&message);
        assert_eq!(trailers.len(), 10_000);
        assert_eq!(trailers[9_999].value, "R9999 <r9999@x>");
        assert!(stray(&message, &["Reviewed-by".to_string()]).is_empty());
    }

    #[test]
    fn parse_with_stray_matches_both() {
        let keys = ["Reviewed-by".to_string()];
        let messages = [
            "Subject",
            "Subject\n\nReviewed-by: A <a@x>\n",
            "Subject\n\nReviewed-by: A <a@x>\nprose\n",
            "Subject\n\nReviewed-by: early\n\nKey: a\n  Reviewed-by: folded\n",
            "Subject\n\nKey: a\n# ------------------------ >8 ------------------------\nReviewed-by: B\n",
            "# ------------------------ >8 ------------------------\nReviewed-by: B\n",
            "Subject\n\nKey: a\n# ------------------------ >8 ------------------------",
            "Subject\n\nReviewed-by: A\0\nReviewed-by: B\n",
            "Subject\n\nReviewed-by: A\n\nConflicts:\n\tsrc/a.rs\n",
        ];
        for message in messages {
            let (trailers, stray_found) = parse_with_stray(message, &keys);
            assert_eq!(trailers, parse(message), "trailers of {message:?}");
            assert_eq!(stray_found, stray(message, &keys), "stray of {message:?}");
        }
    }

    #[test]
    fn scissors_line_needs_its_newline() {
        let without_newline =
            "Subject\n\nKey: a\n\n# ------------------------ >8 ------------------------";
        let indented =
            "Subject\n\nKey: a\n # ------------------------ >8 ------------------------\n";
        // Checked against git 2.47.3: the first is a trailing comment line,
        // the second continues the trailer above it.
        assert_eq!(pairs(without_newline), owned(&[("Key", "a")]));
        assert_eq!(
            pairs(indented),
            owned(&[(
                "Key",
                "a # ------------------------ >8 ------------------------"
            )])
        );
    }

    #[test]
    fn parse_one_megabyte_message() {
        let mut message = String::from("Subject\n\n");
        let line = "x".repeat(99) + "\n";
        while message.len() < 1_000_000 {
            message.push_str(&line);
        }
        message.push_str("\nReviewed-by: A\n");
        let long_value = "v".repeat(1_000_000);
        let long_line = format!("Subject\n\nKey: {long_value}\n");
        assert_eq!(pairs(&message), owned(&[("Reviewed-by", "A")]));
        assert_eq!(parse(&long_line)[0].value.len(), 1_000_000);
    }

    #[test]
    fn parse_one_megabyte_shapes() {
        let folded = format!("Subject\n\nKey: a\n{}", " b\n".repeat(300_000));
        let comments = format!("Subject\n\nKey: a\n{}", "#\n".repeat(500_000));
        let blanks = format!("Subject\n\nKey: a\n{}", "\n".repeat(1_000_000));
        let scissors_prefixes = format!("Subject\n\nKey: a\n{}", "\n# -----".repeat(125_000));

        assert_eq!(parse(&folded)[0].value.len(), 1 + 2 * 300_000);
        assert_eq!(pairs(&comments), owned(&[("Key", "a")]));
        assert_eq!(pairs(&blanks), owned(&[("Key", "a")]));
        assert_eq!(pairs(&scissors_prefixes), owned(&[("Key", "a")]));
    }
}
