//! End-to-end checks of the audit sender against a real `rsyslogd` on a
//! private socket. The tests print a message and pass when rsyslogd is not
//! installed, because the unit tests already cover the datagrams.

use std::path::Path;

use foureyes::audit::{AuditLog, Facility, MAX_DATAGRAM, Record, Severity};

use crate::support::rsyslogd::{Rsyslogd, skip_without_rsyslogd};

fn audit_log(socket: &Path) -> AuditLog {
    AuditLog::new(
        socket.to_owned(),
        Facility::LOG_AUTHPRIV,
        "foureyes".to_owned(),
    )
}

#[test]
fn rsyslog_stores_record_unchanged() {
    let dir = tempfile::tempdir().expect("create temporary directory");
    let Some(rsyslogd) = Rsyslogd::local(dir.path()) else {
        return skip_without_rsyslogd();
    };
    let log = audit_log(&rsyslogd.socket());
    let record = Record::new(Severity::Notice)
        .field("ref", "refs/heads/main")
        .field("reviewer", "Ren\u{e9} \u{202e}<r@x>\n")
        .field("result", "accept");
    log.send(&record).expect("send record");

    let lines = rsyslogd.lines(1);
    let pid = std::process::id();
    let prefix = format!("authpriv|notice|foureyes|{pid}| id={pid}-");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].starts_with(&prefix), "{}", lines[0]);
    let expected_end = format!(" {}", record.to_message());
    assert!(lines[0].ends_with(&expected_end), "{}", lines[0]);
}

#[test]
fn rsyslog_receives_every_part() {
    let dir = tempfile::tempdir().expect("create temporary directory");
    let Some(rsyslogd) = Rsyslogd::local(dir.path()) else {
        return skip_without_rsyslogd();
    };
    let log = audit_log(&rsyslogd.socket());
    let record = Record::new(Severity::Warning)
        .field("message", "x".repeat(3 * MAX_DATAGRAM))
        .field("result", "reject");
    log.send(&record).expect("send record");

    // The first part to arrive says how many parts to wait for.
    let first = rsyslogd.lines(1).remove(0);
    let count: usize = first
        .split_once("part=1/")
        .and_then(|(_, rest)| rest.split(' ').next())
        .expect("first part has part=1/N")
        .parse()
        .expect("part count is a number");
    assert!(count >= 4, "6 KiB value in {count} parts");
    let lines = rsyslogd.lines(count);
    assert_eq!(lines.len(), count, "{lines:?}");
    for (index, line) in lines.iter().enumerate() {
        let message = line.split('|').nth(4).expect("five columns");
        let part = message
            .split(' ')
            .find_map(|field| field.strip_prefix("part="))
            .expect("part field");
        assert_eq!(part, format!("{}/{count}", index + 1), "{line}");
        assert!(
            message.len() < MAX_DATAGRAM,
            "part of {} bytes",
            message.len()
        );
    }
    let last = lines.last().unwrap();
    assert!(last.ends_with(" result=reject"), "{last}");
}

#[test]
fn rsyslog_restart_loses_no_record() {
    let dir = tempfile::tempdir().expect("create temporary directory");
    let Some(rsyslogd) = Rsyslogd::local(dir.path()) else {
        return skip_without_rsyslogd();
    };
    let log = audit_log(&rsyslogd.socket());
    log.send(&Record::new(Severity::Info).field("n", 1))
        .expect("send before restart");
    rsyslogd.lines(1);

    let dir_path = rsyslogd.stop();
    let rsyslogd = Rsyslogd::local(&dir_path).expect("rsyslogd starts again");
    log.send(&Record::new(Severity::Info).field("n", 2))
        .expect("send after restart");

    let lines = rsyslogd.lines(2);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].ends_with(" n=1"), "{}", lines[0]);
    assert!(lines[1].ends_with(" n=2"), "{}", lines[1]);
}
