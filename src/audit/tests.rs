//! Tests of the audit sender. The parser here is written from the grammar
//! in the module documentation, independently of the encoder, so that a
//! round trip checks that a log reader can undo the encoding.

use std::collections::BTreeMap;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{Local, TimeZone};

use super::*;

// ---------------------------------------------------------------------------
// Parser of datagrams and messages

/// One datagram, split into the parts of `<PRI>TIMESTAMP IDENT[PID]: MESSAGE`.
#[derive(Debug)]
struct Datagram {
    priority: u32,
    timestamp: String,
    ident: String,
    pid: u32,
    message: String,
}

fn parse_datagram(bytes: &[u8]) -> Datagram {
    let text = std::str::from_utf8(bytes).expect("datagram is UTF-8");
    let rest = text.strip_prefix('<').expect("datagram starts with <");
    let (priority, rest) = rest.split_once('>').expect("PRI ends with >");
    let (timestamp, rest) = rest.split_at(15);
    let rest = rest.strip_prefix(' ').expect("space after timestamp");
    let (tag, message) = rest.split_once(": ").expect("tag ends with ': '");
    let (ident, pid) = tag.split_once('[').expect("tag has [pid]");
    let pid = pid.strip_suffix(']').expect("pid ends with ]");
    Datagram {
        priority: priority.parse().expect("PRI is a number"),
        timestamp: timestamp.to_owned(),
        ident: ident.to_owned(),
        pid: pid.parse().expect("pid is a number"),
        message: message.to_owned(),
    }
}

/// Checks `Mmm dd hh:mm:ss` with an English month and a space-padded day.
fn assert_timestamp_shape(timestamp: &str) {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let bytes = timestamp.as_bytes();
    assert_eq!(bytes.len(), 15, "timestamp {timestamp:?}");
    assert!(MONTHS.contains(&&timestamp[..3]), "month in {timestamp:?}");
    assert_eq!(bytes[3], b' ', "timestamp {timestamp:?}");
    assert!(
        bytes[4] == b' ' || (b'1'..=b'3').contains(&bytes[4]),
        "day tens in {timestamp:?}"
    );
    assert!(bytes[5].is_ascii_digit(), "day in {timestamp:?}");
    assert_eq!(&timestamp[6..7], " ", "timestamp {timestamp:?}");
    for index in [7, 8, 10, 11, 13, 14] {
        assert!(bytes[index].is_ascii_digit(), "time in {timestamp:?}");
    }
    assert_eq!(bytes[9], b':', "timestamp {timestamp:?}");
    assert_eq!(bytes[12], b':', "timestamp {timestamp:?}");
}

/// One field of a message. `continued` is set for a `key+=fragment` field.
#[derive(Debug, PartialEq, Eq)]
struct Token {
    key: String,
    continued: bool,
    value: String,
}

/// Parses a message into fields and unescapes the values. Panics on any
/// input outside the grammar.
fn parse_message(message: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut chars = message.chars().peekable();
    while chars.peek().is_some() {
        if !tokens.is_empty() {
            assert_eq!(
                chars.next(),
                Some(' '),
                "fields separated by one space in {message:?}"
            );
        }

        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if !(c.is_ascii_lowercase() || c == '_') {
                break;
            }
            key.push(c);
            chars.next();
        }
        assert!(!key.is_empty(), "key missing in {message:?}");
        let continued = chars.peek() == Some(&'+');
        if continued {
            chars.next();
        }
        assert_eq!(
            chars.next(),
            Some('='),
            "= after key {key:?} in {message:?}"
        );

        let value = if chars.peek() == Some(&'"') {
            chars.next();
            parse_quoted(&mut chars, message)
        } else {
            let mut value = String::new();
            while let Some(&c) = chars.peek() {
                if c == ' ' {
                    break;
                }
                assert!(
                    !matches!(c, '"' | '\\' | '='),
                    "{c:?} in bare value of {message:?}"
                );
                assert!(!is_invisible(c), "raw {c:?} in bare value of {message:?}");
                value.push(c);
                chars.next();
            }
            assert!(!value.is_empty(), "empty bare value in {message:?}");
            value
        };
        tokens.push(Token {
            key,
            continued,
            value,
        });
    }
    tokens
}

/// Reads a quoted value after its opening quote up to the closing quote.
fn parse_quoted(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, message: &str) -> String {
    let mut value = String::new();
    loop {
        let c = chars
            .next()
            .unwrap_or_else(|| panic!("unterminated quote in {message:?}"));
        match c {
            '"' => return value,
            '\\' => value.push(unescape(chars, message)),
            c => {
                assert!(!is_invisible(c), "raw {c:?} in {message:?}");
                value.push(c);
            }
        }
    }
}

/// Returns whether `c` can hide, move or break text in a log viewer. The
/// list is written by hand, apart from the encoder's table, so that a
/// character dropped from that table fails the round-trip tests.
fn is_invisible(c: char) -> bool {
    let format_char = matches!(
        c as u32,
        0xAD | 0x61C
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x2069
            | 0xFEFF
            | 0xE0001..=0xE007F
    );
    c.is_control() || (c.is_whitespace() && c != ' ') || format_char
}

/// Decodes one escape after its backslash.
fn unescape(chars: &mut impl Iterator<Item = char>, message: &str) -> char {
    match chars.next() {
        Some('"') => '"',
        Some('\\') => '\\',
        Some('x') => {
            let digits: String = chars.take(2).collect();
            assert_eq!(digits.len(), 2, "short \\x escape in {message:?}");
            assert_lowercase_hex(&digits, message);
            let code = u32::from_str_radix(&digits, 16).expect("hex digits");
            assert!(code < 0x80, "\\x escape above 7f in {message:?}");
            char::from_u32(code).expect("ASCII code point")
        }
        Some('u') => {
            assert_eq!(chars.next(), Some('{'), "\\u{{ in {message:?}");
            let digits: String = chars.by_ref().take_while(|&c| c != '}').collect();
            assert!(
                (1..=6).contains(&digits.len()),
                "\\u{{}} length in {message:?}"
            );
            assert_lowercase_hex(&digits, message);
            let code = u32::from_str_radix(&digits, 16).expect("hex digits");
            char::from_u32(code).expect("valid code point")
        }
        other => panic!("unknown escape {other:?} in {message:?}"),
    }
}

fn assert_lowercase_hex(digits: &str, message: &str) {
    let valid = digits
        .chars()
        .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c));
    assert!(valid, "lowercase hex {digits:?} in {message:?}");
}

/// Joins split records: returns the fields of every record by id, with
/// fragments joined, after checking the part numbering.
fn reassemble(messages: &[String]) -> BTreeMap<String, Vec<(String, String)>> {
    let mut parts_by_id: BTreeMap<String, Vec<(usize, usize, Vec<Token>)>> = BTreeMap::new();
    for message in messages {
        let mut tokens = parse_message(message).into_iter();
        let id = tokens.next().expect("id field");
        assert_eq!(id.key, "id", "first field of {message:?}");
        let rest: Vec<Token> = tokens.collect();
        let numbering = rest
            .first()
            .filter(|token| token.key == "part")
            .map(|part| {
                let (index, count) = part.value.split_once('/').expect("part is I/N");
                (index.parse().unwrap(), count.parse().unwrap())
            });
        let (index, count, fields) = match numbering {
            Some((index, count)) => (index, count, rest.into_iter().skip(1).collect()),
            None => (1, 1, rest),
        };
        parts_by_id
            .entry(id.value)
            .or_default()
            .push((index, count, fields));
    }

    let mut records = BTreeMap::new();
    for (id, mut parts) in parts_by_id {
        parts.sort_by_key(|(index, _, _)| *index);
        let count = parts[0].1;
        let indexes: Vec<usize> = parts.iter().map(|(index, _, _)| *index).collect();
        assert_eq!(
            indexes,
            (1..=count).collect::<Vec<_>>(),
            "parts of record {id}"
        );

        let mut fields: Vec<(String, String)> = Vec::new();
        let mut pending: Option<(String, String)> = None;
        for token in parts.into_iter().flat_map(|(_, _, tokens)| tokens) {
            let value = match pending.take() {
                Some((key, start)) => {
                    assert_eq!(key, token.key, "fragment key in record {id}");
                    start + &token.value
                }
                None => token.value,
            };
            if token.continued {
                pending = Some((token.key, value));
            } else {
                fields.push((token.key, value));
            }
        }
        assert_eq!(pending, None, "unfinished fragment in record {id}");
        records.insert(id, fields);
    }
    records
}

// ---------------------------------------------------------------------------
// Generators of nasty values

/// xorshift64: a small deterministic generator, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }

    /// Returns a value mixing plain text with characters that the grammar
    /// must quote or escape.
    fn nasty_value(&mut self, max_len: usize) -> String {
        const ALPHABET: &[char] = &[
            'a',
            'Z',
            '0',
            '/',
            '-',
            '.',
            '@',
            ' ',
            '"',
            '\\',
            '=',
            '+',
            '\'',
            '{',
            '}',
            '\0',
            '\t',
            '\n',
            '\r',
            '\u{1b}',
            '\u{7f}',
            '\u{80}',
            '\u{85}',
            '\u{9f}',
            '\u{a0}',
            '\u{ad}',
            '\u{e9}',
            '\u{43e}',
            '\u{200b}',
            '\u{200e}',
            '\u{2028}',
            '\u{2029}',
            '\u{202a}',
            '\u{202e}',
            '\u{2066}',
            '\u{2069}',
            '\u{3000}',
            '\u{feff}',
            '\u{fffd}',
            '\u{1f600}',
            '\u{e0041}',
            '\u{10ffff}',
        ];
        let len = self.below(max_len + 1);
        (0..len)
            .map(|_| ALPHABET[self.below(ALPHABET.len())])
            .collect()
    }
}

const NASTY_VALUES: &[&str] = &[
    "",
    " ",
    "\"",
    "\\",
    "=",
    "+=",
    "\\x41",
    "\\u{41}",
    "a b=c \"d\" \\e",
    "refs/heads/main\nresult=accept",
    "x\u{202e}kcatta\u{202c}",
    "\u{2028}\u{2029}\u{85}",
    "Ren\u{e9} \u{43e}leg <r@example.com>",
    "\u{1b}[2J\u{1b}[H",
    "trailing space ",
    "\u{10ffff}\u{e0001}\u{feff}",
];

// ---------------------------------------------------------------------------
// A syslog daemon stand-in: a datagram socket bound at a temporary path

struct Receiver {
    _dir: tempfile::TempDir,
    path: PathBuf,
    socket: UnixDatagram,
}

impl Receiver {
    fn bind() -> Receiver {
        let dir = tempfile::tempdir().expect("create temporary directory");
        let path = dir.path().join("log");
        let socket = UnixDatagram::bind(&path).expect("bind receiver socket");
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("set read timeout");
        Receiver {
            _dir: dir,
            path,
            socket,
        }
    }

    fn receive(&self) -> Vec<u8> {
        let mut buffer = vec![0; 65536];
        let len = self.socket.recv(&mut buffer).expect("receive a datagram");
        buffer.truncate(len);
        buffer
    }

    fn assert_nothing_pending(&self) {
        self.socket.set_nonblocking(true).unwrap();
        let mut buffer = [0; 16];
        let result = self.socket.recv(&mut buffer);
        assert_eq!(
            result.map_err(|error| error.kind()).err(),
            Some(io::ErrorKind::WouldBlock),
            "unexpected extra datagram"
        );
        self.socket.set_nonblocking(false).unwrap();
    }
}

fn audit_log(path: &Path) -> AuditLog {
    AuditLog::new(
        path.to_owned(),
        Facility::LOG_AUTHPRIV,
        "foureyes".to_owned(),
    )
}

fn messages_of(datagrams: &[Vec<u8>]) -> Vec<String> {
    datagrams
        .iter()
        .map(|d| parse_datagram(d).message)
        .collect()
}

// ---------------------------------------------------------------------------
// Formatting

#[test]
fn priority_matches_rfc_values() {
    let cases: &[(Facility, Severity, u32)] = &[
        (Facility::LOG_AUTHPRIV, Severity::Notice, 85),
        (Facility::LOG_KERN, Severity::Alert, 1),
        (Facility::LOG_USER, Severity::Err, 11),
        (Facility::LOG_DAEMON, Severity::Warning, 28),
        (Facility::LOG_AUTH, Severity::Info, 38),
        (Facility::LOG_LOCAL7, Severity::Info, 190),
    ];
    let now = Local::now();
    for (facility, severity, expected) in cases {
        let datagram = format_datagram(*facility, *severity, "x", 1, now, "m");
        let parsed = parse_datagram(&datagram);
        assert_eq!(parsed.priority, *expected, "{facility:?} {severity:?}");
    }
}

#[test]
fn facility_parses_config_names() {
    let facility: Facility = "authpriv".parse().expect("authpriv is a facility");
    assert_eq!(facility as u32, 10 * 8);
}

#[test]
fn format_datagram_exact_bytes() {
    let cases: &[(&str, &str)] = &[
        (
            "2026-03-05 07:08:09",
            "<85>Mar  5 07:08:09 foureyes[4711]: ref=x",
        ),
        (
            "2026-12-15 23:59:01",
            "<85>Dec 15 23:59:01 foureyes[4711]: ref=x",
        ),
    ];
    for (local_time, expected) in cases {
        let naive = chrono::NaiveDateTime::parse_from_str(local_time, "%Y-%m-%d %H:%M:%S")
            .expect("valid test time");
        let now = Local
            .from_local_datetime(&naive)
            .single()
            .expect("unambiguous local time");
        let datagram = format_datagram(
            Facility::LOG_AUTHPRIV,
            Severity::Notice,
            "foureyes",
            4711,
            now,
            "ref=x",
        );
        assert_eq!(String::from_utf8(datagram).unwrap(), *expected);
    }
}

#[test]
fn to_message_escapes_values() {
    let record = Record::new(Severity::Notice)
        .field("ref", "refs/heads/main")
        .field("reviewer", "Alice <alice@example.com>")
        .field("note", "a\nb")
        .field("count", 2);
    assert_eq!(
        record.to_message(),
        "ref=refs/heads/main reviewer=\"Alice <alice@example.com>\" note=\"a\\x0ab\" count=2"
    );
}

#[test]
#[should_panic(expected = "must match [a-z_]+")]
#[cfg(debug_assertions)]
fn field_rejects_bad_key() {
    let _ = Record::new(Severity::Info).field("Bad key", 1);
}

#[test]
#[should_panic(expected = "reserved")]
#[cfg(debug_assertions)]
fn field_rejects_reserved_key() {
    let _ = Record::new(Severity::Info).field("part", 1);
}

// ---------------------------------------------------------------------------
// Escaping round trip

#[test]
fn escaping_round_trips_nasty_values() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut values: Vec<String> = NASTY_VALUES.iter().map(|v| (*v).to_owned()).collect();
    values.extend((0..2000).map(|_| rng.nasty_value(40)));

    for value in values {
        let record = Record::new(Severity::Info)
            .field("a", &value)
            .field("b", "after");
        let tokens = parse_message(&record.to_message());
        assert_eq!(tokens.len(), 2, "value {value:?}");
        assert_eq!(tokens[0].value, value, "value {value:?}");
        assert_eq!(tokens[1].value, "after", "value {value:?}");
    }
}

#[test]
fn escaped_message_has_no_raw_separators() {
    let mut rng = Rng(42);
    for _ in 0..500 {
        let record = Record::new(Severity::Info).field("v", rng.nasty_value(30));
        let message = record.to_message();
        let hidden = message.chars().find(|&c| is_invisible(c));
        assert_eq!(hidden, None, "message {message:?}");
    }
}

// ---------------------------------------------------------------------------
// Splitting

/// Formats `record` for `log` at the current time and returns the datagrams.
fn datagrams_for(log: &AuditLog, record: &Record) -> Vec<Vec<u8>> {
    let id = next_record_id(log.pid);
    log.datagrams(record, &id, Local::now())
        .expect("format record")
}

fn assert_round_trip(log: &AuditLog, record: &Record) -> Vec<String> {
    let datagrams = datagrams_for(log, record);
    for datagram in &datagrams {
        assert!(
            datagram.len() <= MAX_DATAGRAM,
            "datagram of {} bytes",
            datagram.len()
        );
    }
    let messages = messages_of(&datagrams);
    let records = reassemble(&messages);
    assert_eq!(records.len(), 1, "one record id in {messages:?}");
    let fields = records.into_values().next().unwrap();
    assert_eq!(fields, record.fields);
    messages
}

#[test]
fn short_record_has_id_and_no_part() {
    let log = audit_log(Path::new("/nonexistent"));
    let record = Record::new(Severity::Notice).field("result", "accept");
    let messages = assert_round_trip(&log, &record);
    assert_eq!(messages.len(), 1);
    let tokens = parse_message(&messages[0]);
    assert_eq!(tokens[0].key, "id");
    assert_eq!(tokens[1].key, "result");
    assert_eq!(tokens.len(), 2);
}

#[test]
fn split_between_fields() {
    let log = audit_log(Path::new("/nonexistent"));
    let mut record = Record::new(Severity::Notice);
    for index in 0..300 {
        record = record.field("commit", format!("{index:040x}"));
    }
    let messages = assert_round_trip(&log, &record);
    assert!(messages.len() > 1, "record split");

    let count = messages.len();
    for (index, message) in messages.iter().enumerate() {
        let tokens = parse_message(message);
        assert_eq!(tokens[0].key, "id");
        assert_eq!(tokens[1].key, "part");
        assert_eq!(tokens[1].value, format!("{}/{count}", index + 1));
        let fragments = tokens.iter().filter(|t| t.continued).count();
        assert_eq!(fragments, 0, "no value cut in {message:?}");
    }
}

#[test]
fn split_inside_long_value() {
    let log = audit_log(Path::new("/nonexistent"));
    let long_value: String = "x\u{202e}\"y ".repeat(1000);
    let record = Record::new(Severity::Notice)
        .field("ref", "refs/heads/main")
        .field("message", &long_value)
        .field("result", "accept");
    let messages = assert_round_trip(&log, &record);
    assert!(messages.len() >= 5, "{} parts", messages.len());

    // Every part but the last ends with a fragment that continues, and
    // every part but the first starts with the fragment's key.
    for (index, message) in messages.iter().enumerate() {
        let tokens = parse_message(message);
        let last = tokens.last().unwrap();
        assert_eq!(
            last.continued,
            index + 1 < messages.len(),
            "part {}",
            index + 1
        );
        if index > 0 {
            assert_eq!(tokens[2].key, "message", "part {}", index + 1);
        }
    }
}

#[test]
fn split_round_trips_random_records() {
    let mut rng = Rng(7);
    for case in 0..100 {
        let ident = "i".repeat(rng.below(200) + 1);
        let log = AuditLog::new(PathBuf::from("/nonexistent"), Facility::LOG_LOCAL0, ident);
        let mut record = Record::new(Severity::Info);
        for _ in 0..rng.below(40) {
            let max_len = [10, 100, 1000, 3000][rng.below(4)];
            record = record.field("value", rng.nasty_value(max_len));
        }
        let datagrams = datagrams_for(&log, &record);
        for datagram in &datagrams {
            assert!(datagram.len() <= MAX_DATAGRAM, "case {case}");
        }
        let records = reassemble(&messages_of(&datagrams));
        let fields = records.into_values().next().expect("one record");
        assert_eq!(fields, record.fields, "case {case}");
    }
}

#[test]
fn split_round_trips_with_small_room() {
    const KEYS: [&str; 3] = ["k", "value", "a_long_key_name"];
    let mut rng = Rng(11);
    for case in 0..1000 {
        let room = 60 + rng.below(140);
        let fields: Vec<(String, String)> = (0..rng.below(8))
            .map(|_| {
                let key = KEYS[rng.below(KEYS.len())].to_owned();
                (key, rng.nasty_value(300))
            })
            .collect();
        let messages = split::messages("7", &fields, room);
        for message in &messages {
            assert!(message.len() <= room, "case {case}: {message:?}");
        }
        let records = reassemble(&messages);
        assert_eq!(records.get("7"), Some(&fields), "case {case}");
    }
}

#[test]
fn split_key_longer_than_part() {
    // A part cannot hold the key and one character, so parts exceed the
    // room, but no character is lost.
    let key = "k".repeat(50);
    let cases = ["", "ab", "\u{202e}\n"];
    for value in cases {
        let fields = vec![
            ("a".to_owned(), "1".to_owned()),
            (key.clone(), value.to_owned()),
            ("b".to_owned(), "2".to_owned()),
        ];
        let messages = split::messages("7", &fields, 40);
        let records = reassemble(&messages);
        assert_eq!(records.get("7"), Some(&fields), "value {value:?}");
    }
}

#[test]
fn part_count_with_many_digits() {
    let log = audit_log(Path::new("/nonexistent"));
    let record = Record::new(Severity::Info).field("blob", "\u{202e}".repeat(40_000));
    let messages = assert_round_trip(&log, &record);
    assert!(messages.len() >= 100, "{} parts", messages.len());
}

#[test]
fn record_ids_are_unique() {
    let log = audit_log(Path::new("/nonexistent"));
    let record = Record::new(Severity::Info).field("a", 1);
    let ids: std::collections::BTreeSet<String> = (0..1000)
        .map(|_| {
            parse_message(&messages_of(&datagrams_for(&log, &record))[0])[0]
                .value
                .clone()
        })
        .collect();
    assert_eq!(ids.len(), 1000);
}

#[test]
fn long_ident_is_rejected() {
    let log = AuditLog::new(
        PathBuf::from("/dev/log"),
        Facility::LOG_AUTHPRIV,
        "x".repeat(MAX_DATAGRAM),
    );
    let error = log
        .send(&Record::new(Severity::Info).field("a", 1))
        .expect_err("ident leaves no room");
    let message = error.to_string();
    assert!(
        message.starts_with("cannot write audit record to /dev/log: "),
        "{message}"
    );
    assert!(message.contains("ident is 2048 bytes long"), "{message}");
}

// ---------------------------------------------------------------------------
// Sending over real sockets

#[test]
fn send_delivers_exact_datagram() {
    let receiver = Receiver::bind();
    let log = audit_log(&receiver.path);
    let record = Record::new(Severity::Notice)
        .field("ref", "refs/heads/main")
        .field("reviewer", "Bob \u{202e}<b@x>");
    log.send(&record).expect("send record");

    let datagram = parse_datagram(&receiver.receive());
    assert_eq!(datagram.priority, 85);
    assert_timestamp_shape(&datagram.timestamp);
    assert_eq!(datagram.ident, "foureyes");
    assert_eq!(datagram.pid, std::process::id());
    let (id, rest) = datagram.message.split_once(' ').expect("id then fields");
    assert!(
        id.starts_with(&format!("id={}-", std::process::id())),
        "{id}"
    );
    assert_eq!(rest, "ref=refs/heads/main reviewer=\"Bob \\u{202e}<b@x>\"");
    receiver.assert_nothing_pending();
}

#[test]
fn send_delivers_every_part() {
    let receiver = Receiver::bind();
    let log = audit_log(&receiver.path);
    let record = Record::new(Severity::Warning)
        .field("ref", "refs/heads/main")
        .field("message", "long line\n".repeat(800));
    log.send(&record).expect("send record");

    let first = parse_datagram(&receiver.receive());
    let count: usize = parse_message(&first.message)[1]
        .value
        .split_once('/')
        .expect("part is I/N")
        .1
        .parse()
        .unwrap();
    assert!(count > 1, "record split");
    let mut messages = vec![first.message];
    for _ in 1..count {
        messages.push(parse_datagram(&receiver.receive()).message);
    }
    receiver.assert_nothing_pending();

    let records = reassemble(&messages);
    assert_eq!(records.into_values().next().unwrap(), record.fields);
}

#[test]
fn send_survives_syslog_restart() {
    let receiver = Receiver::bind();
    let log = audit_log(&receiver.path);
    log.send(&Record::new(Severity::Info).field("n", 1))
        .expect("send before restart");
    let before = parse_datagram(&receiver.receive());
    assert!(before.message.ends_with(" n=1"), "{}", before.message);

    // A restarted syslog daemon removes the socket file and binds a new one.
    std::fs::remove_file(&receiver.path).expect("remove socket file");
    let restarted = UnixDatagram::bind(&receiver.path).expect("bind new socket");
    restarted
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();

    log.send(&Record::new(Severity::Info).field("n", 2))
        .expect("send after restart");
    let mut buffer = vec![0; 4096];
    let len = restarted.recv(&mut buffer).expect("receive on new socket");
    let after = parse_datagram(&buffer[..len]);
    assert!(after.message.ends_with(" n=2"), "{}", after.message);
}

#[test]
fn send_to_missing_socket_fails() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing");
    let log = audit_log(&path);

    let started = Instant::now();
    let error = log
        .send(&Record::new(Severity::Notice).field("a", 1))
        .expect_err("no socket");
    let elapsed = started.elapsed();

    let message = error.to_string();
    let prefix = format!("cannot write audit record to {}: ", path.display());
    assert!(message.starts_with(&prefix), "{message}");
    assert!(message.contains("os error 2"), "{message}");
    assert_eq!(error.socket_path(), path);
    // The retry waits before its attempt, so the wait shows that it ran.
    assert!(elapsed >= RETRY_DELAY, "returned after {elapsed:?}");
}

#[test]
fn send_from_many_threads() {
    const THREADS: usize = 16;
    const RECORDS: usize = 100;

    let receiver = Receiver::bind();
    let log = Arc::new(audit_log(&receiver.path));
    let senders: Vec<_> = (0..THREADS)
        .map(|thread| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for index in 0..RECORDS {
                    let record = Record::new(Severity::Info)
                        .field("thread", thread)
                        .field("index", index);
                    log.send(&record).expect("send record");
                }
            })
        })
        .collect();

    let mut seen = BTreeMap::new();
    for _ in 0..THREADS * RECORDS {
        let message = parse_datagram(&receiver.receive()).message;
        let tokens = parse_message(&message);
        let key = (tokens[1].value.clone(), tokens[2].value.clone());
        *seen.entry(key).or_insert(0) += 1;
    }
    for sender in senders {
        sender.join().expect("sender thread");
    }
    receiver.assert_nothing_pending();

    assert_eq!(seen.len(), THREADS * RECORDS);
    let duplicates = seen.values().filter(|&&count| count != 1).count();
    assert_eq!(duplicates, 0);
}

#[test]
fn send_times_out_when_syslog_is_wedged() {
    // The receiver never reads, so its queue fills and sends block.
    let receiver = Receiver::bind();
    let log = audit_log(&receiver.path);
    let record = Record::new(Severity::Info).field("filler", "x".repeat(1000));

    let mut failure = None;
    for _ in 0..1000 {
        let started = Instant::now();
        if let Err(error) = log.send(&record) {
            failure = Some((error, started.elapsed()));
            break;
        }
    }
    let (error, elapsed) = failure.expect("a send fails once the queue is full");

    let message = error.to_string();
    assert!(message.contains("timed out after 1 s"), "{message}");
    assert!(elapsed >= 2 * WRITE_TIMEOUT, "failed after {elapsed:?}");
    assert!(elapsed < 4 * WRITE_TIMEOUT, "failed after {elapsed:?}");
}
