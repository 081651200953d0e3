//! Feeds arbitrary text to the configuration parser and validator. An
//! administrator writes the file, not a pusher, but a broken file must give
//! an error and not a panic, because the daemon parses it again on SIGHUP.
//! Invalid UTF-8 is replaced with U+FFFD.
//!
//! Checked besides "no panic":
//! - an error renders to non-empty text,
//! - each diagnostic has line, column and width from 1, its source line is
//!   that line of the input without trailing `\r`s, and its column is at most
//!   one past the end of that line,
//! - an accepted file keeps its path and finds every person by id and by
//!   each of their addresses.

#![no_main]

use std::path::Path;

use foureyes::config::{self, Config, ConfigError};
use foureyes::identity::Address;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let path = Path::new("fuzz.toml");
    match config::parse(&text, path) {
        Ok(config) => check_config(&config, path),
        Err(error) => check_error(&error, &text, path),
    }
});

fn check_error(error: &ConfigError, text: &str, path: &Path) {
    let rendered = error.to_string();
    assert!(!rendered.is_empty(), "error renders as empty text");
    assert!(!error.diagnostics.is_empty(), "error without diagnostics");

    for diagnostic in &error.diagnostics {
        assert_eq!(diagnostic.path, path);
        assert!(!diagnostic.message.is_empty(), "empty message");
        assert!(diagnostic.line >= 1, "no line in {diagnostic:?}");
        assert!(diagnostic.column >= 1, "no column in {diagnostic:?}");
        assert!(diagnostic.width >= 1, "no width in {diagnostic:?}");

        let line = text
            .split('\n')
            .nth(diagnostic.line - 1)
            .map(|line| line.trim_end_matches('\r'));
        assert_eq!(
            line,
            Some(diagnostic.source_line.as_str()),
            "source line of {diagnostic:?}"
        );
        let characters = diagnostic.source_line.chars().count();
        assert!(
            diagnostic.column <= characters + 1,
            "column past the end of the line in {diagnostic:?}"
        );
    }
}

fn check_config(config: &Config, path: &Path) {
    assert_eq!(config.path, path);
    for person in config.people.iter() {
        let by_id = config.people.get(&person.id).map(|found| &found.id);
        assert_eq!(by_id, Some(&person.id), "person looked up by id");
        for email in &person.emails {
            let address = Address::new(email);
            let by_email = config.people.by_email(&address).map(|found| &found.id);
            assert_eq!(by_email, Some(&person.id), "person looked up by {email:?}");
            assert_eq!(config.people.lookalike(&address), None);
        }
    }
}
