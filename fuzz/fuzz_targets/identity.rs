//! Feeds arbitrary text to the address extraction and the confusable
//! skeleton, which the policy runs on reviewer trailer values. Invalid UTF-8
//! is replaced with U+FFFD.
//!
//! Checked besides "no panic":
//! - an extracted address is non-empty, contains `@` and no whitespace, and
//!   normalizing it again leaves it unchanged,
//! - a bare value `x` and `Name <x>` give the same address,
//! - both functions return the same result when called twice.

#![no_main]

use foureyes::identity::{self, Address};
use foureyes::trailer;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);

    check_value(&text);
    // Values as the policy reads them: parsed from a trailer block.
    for found in trailer::parse(&text) {
        check_value(&found.value);
    }

    assert_eq!(
        identity::skeleton(&text),
        identity::skeleton(&text),
        "skeleton is deterministic"
    );
});

fn check_value(value: &str) {
    let address = identity::address_of(value);
    assert_eq!(
        identity::address_of(value),
        address,
        "address_of is deterministic"
    );

    if !value.contains(['<', '>']) {
        let wrapped = format!("Name <{value}>");
        assert_eq!(
            identity::address_of(&wrapped),
            address,
            "bare and bracketed forms differ for {value:?}"
        );
    }

    let Some(address) = address else {
        return;
    };
    let text = address.as_str();
    assert!(!text.is_empty(), "empty address from {value:?}");
    assert!(text.contains('@'), "address {text:?} has no '@'");
    assert!(
        !text.chars().any(char::is_whitespace),
        "address {text:?} contains whitespace"
    );
    assert_eq!(
        Address::new(text),
        address,
        "normalizing {text:?} again changes it"
    );
    assert_eq!(
        identity::skeleton(text),
        identity::skeleton(text),
        "skeleton is deterministic"
    );
}
