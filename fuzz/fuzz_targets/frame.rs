//! Feeds arbitrary bytes to the frame decoder that the daemon runs on every
//! connection: the first 4 bytes are the length prefix, the rest is what the
//! peer sends after it.
//!
//! Checked besides "no panic":
//! - `decode_header` accepts exactly the lengths up to the limit,
//! - a decoded message encodes and decodes back to the same value.

#![no_main]

use foureyes::protocol::{self, FrameError, Hello, Request, Response};
use libfuzzer_sys::fuzz_target;
use serde::Serialize;
use serde::de::DeserializeOwned;

fuzz_target!(|data: &[u8]| {
    let Some((header, rest)) = data.split_first_chunk::<4>() else {
        return;
    };
    let announced = u32::from_be_bytes(*header) as usize;

    // The bytes that follow the prefix are the limit, so both the accepted
    // and the rejected branch are reached.
    let length = match protocol::decode_header(*header, rest.len()) {
        Ok(length) => length,
        Err(FrameError::TooLarge { length, max }) => {
            assert_eq!(length, announced);
            assert_eq!(max, rest.len());
            assert!(length > max);
            return;
        }
        Err(other) => panic!("decode_header failed with {other:?}, not TooLarge"),
    };
    assert_eq!(length, announced);
    let payload = &rest[..length];

    // The daemon decodes a Request; the hook client decodes Hello and
    // Response from the daemon.
    check_round_trip::<Request>(payload);
    check_round_trip::<Hello>(payload);
    check_round_trip::<Response>(payload);
});

fn check_round_trip<T>(payload: &[u8])
where
    T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let decoded = match protocol::decode_payload::<T>(payload) {
        Ok(decoded) => decoded,
        Err(FrameError::Malformed(_)) => return,
        Err(other) => panic!("decode_payload failed with {other:?}, not Malformed"),
    };

    let frame = protocol::encode(&decoded);
    let (header, encoded_payload) = frame
        .split_first_chunk::<4>()
        .expect("a frame starts with a 4-byte prefix");
    let length = protocol::decode_header(*header, encoded_payload.len())
        .expect("an encoded frame announces its own payload length");
    assert_eq!(length, encoded_payload.len());

    let again: T =
        protocol::decode_payload(encoded_payload).expect("an encoded message decodes again");
    assert_eq!(again, decoded);
}
