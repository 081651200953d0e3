//! Splitting a record that does not fit one datagram into numbered parts.
//!
//! The part format is documented in the parent module.

use super::escape;

/// Returns the message texts for one record: a single `id=ID fields` text
/// when it fits in `room` bytes, else parts `id=ID part=I/N fields` that
/// each fit in `room` bytes.
///
/// A part exceeds `room` only when `room` cannot hold even one character of
/// a value next to its key, because a record is never truncated.
pub(super) fn messages(id: &str, fields: &[(String, String)], room: usize) -> Vec<String> {
    let mut whole = format!("id={id}");
    for (key, value) in fields {
        push_field(&mut whole, key, "=", value);
    }
    if whole.len() <= room {
        return vec![whole];
    }

    // The prefix length depends on the number of digits in the part count,
    // which depends on the room left after the prefix. Each retry adds one
    // digit, so the loop ends.
    let mut width = 1;
    loop {
        let prefix_len = format!("id={id} part=/ ").len() + 2 * width;
        let bodies = pack(fields, room.saturating_sub(prefix_len));
        let count = bodies.len();
        if count.to_string().len() <= width {
            return bodies
                .into_iter()
                .enumerate()
                .map(|(index, body)| format!("id={id} part={}/{count} {body}", index + 1))
                .collect();
        }
        width += 1;
    }
}

/// Packs the fields into part bodies of at most `room` bytes. A field goes
/// whole into the current part, or whole into a new part, or, when it is
/// longer than a part, in fragments starting in the current part.
fn pack(fields: &[(String, String)], room: usize) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    for (key, value) in fields {
        let token_len = key.len() + 1 + escape::encoded_len(value);
        if fits(&current, token_len, room) {
            push_field(&mut current, key, "=", value);
        } else if token_len <= room {
            parts.push(std::mem::take(&mut current));
            push_field(&mut current, key, "=", value);
        } else {
            push_fragments(&mut parts, &mut current, key, value, room);
        }
    }
    if !current.is_empty() {
        parts.push(current);
    }
    parts
}

/// Writes a value that is longer than a part as fragments: `key+=fragment`
/// ends a part and continues in the next one, and the last fragment is
/// written `key=fragment` at the start of its part.
fn push_fragments(
    parts: &mut Vec<String>,
    current: &mut String,
    key: &str,
    value: &str,
    room: usize,
) {
    let mut rest = value;
    loop {
        if rest.is_empty() {
            // Only a key too long for any part gets here, after the loop
            // below forced out single characters.
            if !current.is_empty() {
                parts.push(std::mem::take(current));
            }
            push_field(current, key, "=", rest);
            return;
        }

        // Checking with `longest_prefix` instead of `encoded_len` looks at
        // no more than one part of the rest, which keeps splitting a huge
        // value linear in its length.
        let separator_len = usize::from(!current.is_empty());
        let available = room.saturating_sub(current.len() + separator_len);
        let final_budget = available.saturating_sub(key.len() + 1);
        if escape::longest_prefix(rest, final_budget) == rest.len() {
            push_field(current, key, "=", rest);
            return;
        }

        let mut cut = escape::longest_prefix(rest, available.saturating_sub(key.len() + 2));
        if cut == 0 && !current.is_empty() {
            parts.push(std::mem::take(current));
            continue;
        }
        if cut == 0 {
            // Not even an empty part has room for the key and one character,
            // so this part gets longer than `room` rather than losing data.
            cut = rest.chars().next().map_or(0, char::len_utf8);
        }
        push_field(current, key, "+=", &rest[..cut]);
        parts.push(std::mem::take(current));
        rest = &rest[cut..];
    }
}

fn fits(current: &str, token_len: usize, room: usize) -> bool {
    let separator_len = usize::from(!current.is_empty());
    current.len() + separator_len + token_len <= room
}

fn push_field(out: &mut String, key: &str, operator: &str, value: &str) {
    if !out.is_empty() {
        out.push(' ');
    }
    out.push_str(key);
    out.push_str(operator);
    escape::push_value(out, value);
}
