//! Feeds arbitrary text to the trailer parser, which reads commit messages
//! written by the pusher. Invalid UTF-8 in the input is replaced with U+FFFD,
//! as `repo` does for messages that are not UTF-8.
//!
//! Checked besides "no panic":
//! - every key is a non-empty token of ASCII letters, digits and `-` that
//!   occurs in the message,
//! - no value contains a line feed,
//! - `stray` returns only the requested keys,
//! - `parse` and `stray` return the same result when called twice.

#![no_main]

use foureyes::trailer::{self, Trailer};
use libfuzzer_sys::fuzz_target;

/// Keys that the policy passes to `stray`, plus one in lowercase to reach the
/// case-insensitive comparison.
const STRAY_KEYS: [&str; 3] = ["Reviewed-by", "Signed-off-by", "acked-by"];

fuzz_target!(|data: &[u8]| {
    let message = String::from_utf8_lossy(data);

    let trailers = trailer::parse(&message);
    assert_eq!(trailer::parse(&message), trailers, "parse is deterministic");
    for found in &trailers {
        check_trailer(&message, found);
    }

    let mut keys: Vec<String> = STRAY_KEYS.iter().map(|key| key.to_string()).collect();
    keys.extend(trailers.iter().map(|found| found.key.clone()));
    let strays = trailer::stray(&message, &keys);
    assert_eq!(
        trailer::stray(&message, &keys),
        strays,
        "stray is deterministic"
    );
    for found in &strays {
        check_trailer(&message, found);
        assert!(
            keys.iter().any(|key| key.eq_ignore_ascii_case(&found.key)),
            "stray key {:?} is not one of the requested keys",
            found.key
        );
    }
});

fn check_trailer(message: &str, found: &Trailer) {
    assert!(!found.key.is_empty(), "empty key in {found:?}");
    assert!(
        found
            .key
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-'),
        "key {:?} is not a token",
        found.key
    );
    assert!(
        message.contains(&found.key),
        "key {:?} does not occur in the message",
        found.key
    );
    assert!(
        !found.value.contains('\n'),
        "value {:?} contains a line feed",
        found.value
    );
}
