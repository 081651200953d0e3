//! The wire protocol between the hook client and the daemon.
//!
//! Every message is one frame: a 4-byte big-endian length followed by that
//! many bytes of JSON. A connection carries exactly one exchange:
//!
//! 1. the daemon sends [`Hello`] (protocol version and the environment
//!    variables it wants, so the client never sends its whole environment);
//! 2. the client sends [`Request`];
//! 3. the daemon sends [`Response`] and closes the connection.
//!
//! The decoder distinguishes "need more bytes" (the peer is slow or gone) from "bad
//! bytes" (oversized or malformed frame): both close the one connection, but
//! they are logged differently.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Read, Write};

use serde::{Deserialize, Serialize};

/// The protocol version both sides must speak. Bump it on any change to the
/// message types that an older peer would misread.
pub const VERSION: u32 = 1;

/// Bytes in the length prefix of a frame.
const HEADER_LEN: usize = 4;

/// Sent by the daemon as soon as a client connects.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hello {
    pub version: u32,
    /// Names of the environment variables the client should send.
    pub env: Vec<String>,
}

/// One line of the hook's standard input: `<old> <new> <ref>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefUpdate {
    pub old: String,
    pub new: String,
    #[serde(rename = "ref")]
    pub refname: String,
}

/// The data the hook client collects for one push.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    pub version: u32,
    /// Absolute path of the git directory the hook runs in.
    pub repo: String,
    pub updates: Vec<RefUpdate>,
    /// `GIT_QUARANTINE_PATH`: where the pushed objects are until the hook
    /// accepts. Absent for delete-only pushes.
    pub quarantine: Option<String>,
    /// `GIT_PUSH_OPTION_<n>` values, in order.
    pub push_options: Vec<String>,
    /// The variables named in [`Hello::env`] that are set, with their values.
    pub env: BTreeMap<String, String>,
}

/// The daemon's decision on the whole push.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Accept,
    /// The policy rejects at least one ref update.
    Reject,
    /// foureyes could not decide; the push is rejected.
    Error,
}

impl Decision {
    /// Returns the hook's exit status for this decision.
    pub fn exit_code(self) -> u8 {
        match self {
            Decision::Accept => 0,
            Decision::Reject => 1,
            Decision::Error => 2,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Accept => "accept",
            Decision::Reject => "reject",
            Decision::Error => "error",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Response {
    pub decision: Decision,
    /// Text for the pusher, shown by git as `remote:` lines. May be empty.
    pub message: String,
}

/// The reason reading a frame failed.
#[derive(Debug)]
pub enum FrameError {
    /// The peer closed the connection before a whole frame arrived.
    Incomplete {
        received: usize,
    },
    /// The length prefix announces more than the receiver accepts.
    TooLarge {
        length: usize,
        max: usize,
    },
    /// The payload is not the expected JSON message.
    Malformed(serde_json::Error),
    Io(io::Error),
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::Incomplete { received: 0 } => write!(f, "connection closed before a frame"),
            FrameError::Incomplete { received } => {
                write!(f, "connection closed after {received} bytes of a frame")
            }
            FrameError::TooLarge { length, max } => {
                write!(
                    f,
                    "frame of {length} bytes exceeds the limit of {max} bytes"
                )
            }
            FrameError::Malformed(err) => write!(f, "malformed frame: {err}"),
            FrameError::Io(err) => write!(f, "{err}"),
        }
    }
}

impl std::error::Error for FrameError {}

impl From<io::Error> for FrameError {
    fn from(err: io::Error) -> FrameError {
        FrameError::Io(err)
    }
}

/// Encodes `message` as one frame.
pub fn encode<T: Serialize>(message: &T) -> Vec<u8> {
    let payload = serde_json::to_vec(message).expect("protocol types serialize to JSON");
    let length = u32::try_from(payload.len()).expect("protocol messages are below 4 GiB");
    let mut frame = Vec::with_capacity(HEADER_LEN + payload.len());
    frame.extend_from_slice(&length.to_be_bytes());
    frame.extend_from_slice(&payload);
    frame
}

/// Reads the length prefix of a frame and checks it against `max`.
pub fn decode_header(header: [u8; HEADER_LEN], max: usize) -> Result<usize, FrameError> {
    let length = u32::from_be_bytes(header) as usize;
    if length > max {
        return Err(FrameError::TooLarge { length, max });
    }
    Ok(length)
}

/// Parses a frame's payload.
pub fn decode_payload<T: for<'de> Deserialize<'de>>(payload: &[u8]) -> Result<T, FrameError> {
    serde_json::from_slice(payload).map_err(FrameError::Malformed)
}

/// Returns the `version` field of a JSON object payload, ignoring every
/// other field, so that a peer speaking another version gets an error naming both versions even
/// when the rest of its message does not parse.
pub fn peek_version(payload: &[u8]) -> Option<u32> {
    #[derive(Deserialize)]
    struct Versioned {
        version: u32,
    }
    serde_json::from_slice::<Versioned>(payload)
        .ok()
        .map(|versioned| versioned.version)
}

/// Writes one frame to a blocking stream.
pub fn write_frame<T: Serialize>(stream: &mut impl Write, message: &T) -> io::Result<()> {
    stream.write_all(&encode(message))?;
    stream.flush()
}

/// Reads one frame from a blocking stream, accepting at most `max` payload
/// bytes.
pub fn read_frame<T: for<'de> Deserialize<'de>>(
    stream: &mut impl Read,
    max: usize,
) -> Result<T, FrameError> {
    let mut header = [0u8; HEADER_LEN];
    read_exact_counted(stream, &mut header, 0)?;
    let length = decode_header(header, max)?;
    let mut payload = vec![0u8; length];
    read_exact_counted(stream, &mut payload, HEADER_LEN)?;
    decode_payload(&payload)
}

/// Fills `buf`, reporting a clean end of stream as [`FrameError::Incomplete`]
/// with the number of frame bytes seen so far.
fn read_exact_counted(
    stream: &mut impl Read,
    buf: &mut [u8],
    already: usize,
) -> Result<(), FrameError> {
    let mut filled = 0;
    while filled < buf.len() {
        match stream.read(&mut buf[filled..]) {
            Ok(0) => {
                return Err(FrameError::Incomplete {
                    received: already + filled,
                });
            }
            Ok(n) => filled += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(FrameError::Io(err)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_request() -> Request {
        Request {
            version: VERSION,
            repo: "/srv/git/app.git".into(),
            updates: vec![RefUpdate {
                old: "0".repeat(40),
                new: "a".repeat(40),
                refname: "refs/heads/main".into(),
            }],
            quarantine: Some("/srv/git/app.git/objects/tmp_objdir-incoming-x".into()),
            push_options: vec!["ci.skip".into()],
            env: BTreeMap::from([("GL_USERNAME".into(), "alice".into())]),
        }
    }

    #[test]
    fn frame_round_trip() {
        let request = sample_request();
        let frame = encode(&request);
        let decoded: Request = read_frame(&mut frame.as_slice(), 1 << 20).unwrap();
        assert_eq!(decoded, request);
    }

    #[test]
    fn frame_too_large() {
        let frame = encode(&sample_request());
        let err = read_frame::<Request>(&mut frame.as_slice(), 10).unwrap_err();
        assert!(matches!(err, FrameError::TooLarge { max: 10, .. }), "{err}");
    }

    #[test]
    fn frame_truncated() {
        let frame = encode(&sample_request());
        let cut = &frame[..frame.len() - 3];
        let err = read_frame::<Request>(&mut &cut[..], 1 << 20).unwrap_err();
        let FrameError::Incomplete { received } = err else {
            panic!("expected Incomplete, got {err}");
        };
        assert_eq!(received, frame.len() - 3);
    }

    #[test]
    fn frame_empty_stream() {
        let err = read_frame::<Request>(&mut &[][..], 1 << 20).unwrap_err();
        assert!(
            matches!(err, FrameError::Incomplete { received: 0 }),
            "{err}"
        );
    }

    #[test]
    fn frame_malformed_json() {
        let mut frame = 5u32.to_be_bytes().to_vec();
        frame.extend_from_slice(b"{nope");
        let err = read_frame::<Request>(&mut frame.as_slice(), 1 << 20).unwrap_err();
        assert!(matches!(err, FrameError::Malformed(_)), "{err}");
    }

    #[test]
    fn frame_unknown_field() {
        let payload = br#"{"decision":"accept","message":"","extra":1}"#;
        let mut frame = (payload.len() as u32).to_be_bytes().to_vec();
        frame.extend_from_slice(payload);
        let err = read_frame::<Response>(&mut frame.as_slice(), 1 << 20).unwrap_err();
        assert!(matches!(err, FrameError::Malformed(_)), "{err}");
    }

    #[test]
    fn peek_version_cases() {
        let cases: &[(&[u8], Option<u32>)] = &[
            (br#"{"version":2,"unknown":true}"#, Some(2)),
            (br#"{"version":1}"#, Some(1)),
            (br#"{"version":"1"}"#, None),
            (br#"{"repo":"/x"}"#, None),
            (b"[2]", Some(2)),
            (b"{nope", None),
            (b"", None),
        ];
        for (payload, expected) in cases {
            let shown = String::from_utf8_lossy(payload);
            assert_eq!(peek_version(payload), *expected, "{shown}");
        }
    }

    #[test]
    fn decision_exit_codes() {
        assert_eq!(Decision::Accept.exit_code(), 0);
        assert_eq!(Decision::Reject.exit_code(), 1);
        assert_eq!(Decision::Error.exit_code(), 2);
    }
}
