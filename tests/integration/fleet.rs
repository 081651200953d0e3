//! Audit records of real pushes through real rsyslog daemons: stored by the
//! rsyslogd of the Git server, and forwarded over TCP on 127.0.0.1 to a
//! second rsyslogd acting as the central collector. The rsyslog rules follow
//! the ones in `docs/syslog.md`. The tests print a message and pass when
//! rsyslogd is not installed.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, TcpStream};
use std::path::Path;

use crate::support::rsyslogd::{Rsyslogd, free_local_port, skip_without_rsyslogd, wait_until};
use crate::support::{ALICE, BOB, Config, Daemon, Launch, Remote, parse_fields, reviewed};

/// The host name the Git server's rsyslogd puts in its messages, so the
/// collector's copy shows which server a record came from.
const NODE_HOSTNAME: &str = "git-node-1";

/// A branch whose name needs quoting and escaping in the record, and
/// contains non-ASCII text that must arrive unchanged.
const ODD_BRANCH: &str = "topic/ü=\"x\"";

/// Columns of every stored line, separated by `|`: host name,
/// `facility.severity`, tag, pid and message.
const LINE_TEMPLATE: &str =
    "%hostname%|%syslogfacility-text%.%syslogseverity-text%|%programname%|%procid%|%msg%\\n";

/// One stored line, split into its columns and the record's fields.
#[derive(Debug, PartialEq)]
struct StoredRecord {
    hostname: String,
    facility: String,
    severity: String,
    tag: String,
    pid: String,
    /// The message as stored, without leading spaces.
    message: String,
    fields: BTreeMap<String, String>,
}

fn parse_line(line: &str) -> StoredRecord {
    let columns: Vec<&str> = line.splitn(5, '|').collect();
    assert_eq!(columns.len(), 5, "{line}");
    let (facility, severity) = columns[1]
        .split_once('.')
        .unwrap_or_else(|| panic!("no facility.severity in {line:?}"));
    // rsyslog keeps the space that follows `tag[pid]:` in the message, and
    // RFC 5424 forwarding adds the separator after the structured data.
    let message = columns[4].trim_start();
    let fields =
        parse_fields(message).unwrap_or_else(|err| panic!("invalid fields in {line:?}: {err}"));
    StoredRecord {
        hostname: columns[0].to_owned(),
        facility: facility.to_owned(),
        severity: severity.to_owned(),
        tag: columns[2].to_owned(),
        pid: columns[3].to_owned(),
        message: message.to_owned(),
        fields,
    }
}

fn field<'a>(record: &'a StoredRecord, key: &str) -> Option<&'a str> {
    record.fields.get(key).map(String::as_str)
}

/// Protects main and the topic branches with one reviewer.
fn config() -> Config {
    Config::team().rule(
        "reviewed",
        &["refs/heads/main", "refs/heads/topic/*"],
        "min_reviewers = 1",
    )
}

/// Pushes a reviewed commit to main (accepted) and an unreviewed one to
/// [`ODD_BRANCH`] (rejected), and returns the reviewed commit's id.
fn push_accept_and_reject(remote: &Remote) -> String {
    let reviewed_id = remote.commit("main", ALICE, &reviewed("Reviewed change", &[BOB]));
    let accepted = remote.push(&["main"]);
    assert_eq!(accepted.code, Some(0), "{}", accepted.stderr);

    remote.commit(ODD_BRANCH, ALICE, "Unreviewed change\n");
    let rejected = remote.push(&[ODD_BRANCH]);
    assert_ne!(rejected.code, Some(0), "{}", rejected.stderr);
    reviewed_id
}

/// Returns the rsyslog rules of a Git server: read the private socket `log`
/// in `dir`, and write foureyes records to `node.log`.
fn node_config(dir: &Path) -> String {
    format!(
        "global(localHostname=\"{NODE_HOSTNAME}\")\n\
         module(load=\"imuxsock\" SysSock.Use=\"off\")\n\
         input(type=\"imuxsock\" Socket=\"{socket}\" RateLimit.Interval=\"0\")\n\
         template(name=\"line\" type=\"string\" string=\"{LINE_TEMPLATE}\")\n\
         if $programname == 'foureyes' and $syslogfacility-text == 'authpriv' then {{\n\
             action(type=\"omfile\" file=\"{output}\" template=\"line\")\n\
         }}\n",
        socket = dir.join("log").display(),
        output = dir.join("node.log").display(),
    )
}

#[test]
fn node_rsyslog_stores_push_records() {
    let node_dir = tempfile::tempdir().expect("create temporary directory");
    let Some(node) = Rsyslogd::start(node_dir.path(), &node_config(node_dir.path())) else {
        return skip_without_rsyslogd();
    };
    let socket = node_dir.path().join("log");
    node.wait_for_file(&socket);
    let launch = Launch {
        syslog_socket: Some(socket),
        ..Launch::default()
    };
    let daemon = Daemon::start_with(&config(), &launch);
    let remote = daemon.remote("node");

    let reviewed_id = push_accept_and_reject(&remote);

    let lines = node.lines_of(&node_dir.path().join("node.log"), 2);
    assert_eq!(lines.len(), 2, "{lines:?}");
    let accepted = parse_line(&lines[0]);
    let rejected = parse_line(&lines[1]);
    let pid = daemon.pid().to_string();
    for record in [&accepted, &rejected] {
        assert_eq!(record.hostname, NODE_HOSTNAME);
        assert_eq!(record.facility, "authpriv");
        assert_eq!(record.tag, "foureyes");
        assert_eq!(record.pid, pid);
        assert_eq!(field(record, "pusher"), Some("dave"));
    }
    assert_eq!(accepted.severity, "notice");
    assert_eq!(field(&accepted, "decision"), Some("accept"));
    assert_eq!(field(&accepted, "ref"), Some("refs/heads/main"));
    assert_eq!(field(&accepted, "new"), Some(reviewed_id.as_str()));
    assert_eq!(field(&accepted, "reviewers"), Some("bob"));
    assert_eq!(rejected.severity, "warning");
    assert_eq!(field(&rejected, "decision"), Some("reject"));
    let odd_ref = format!("refs/heads/{ODD_BRANCH}");
    assert_eq!(field(&rejected, "ref"), Some(odd_ref.as_str()));
}

#[test]
fn collector_receives_records_intact() {
    let collector_dir = tempfile::tempdir().expect("create temporary directory");
    let port = free_local_port();
    let collector_config = format!(
        "module(load=\"imtcp\")\n\
         input(type=\"imtcp\" address=\"127.0.0.1\" port=\"{port}\" ruleset=\"remote\")\n\
         template(name=\"line\" type=\"string\" string=\"{LINE_TEMPLATE}\")\n\
         ruleset(name=\"remote\") {{\n\
             if $programname == 'foureyes' then {{\n\
                 action(type=\"omfile\" file=\"{output}\" template=\"line\")\n\
             }}\n\
         }}\n",
        output = collector_dir.path().join("collector.log").display(),
    );
    let Some(collector) = Rsyslogd::start(collector_dir.path(), &collector_config) else {
        return skip_without_rsyslogd();
    };
    wait_until(&format!("the collector listens on port {port}"), || {
        TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok()
    });

    // The Git server's rules, with the forwarding action of docs/syslog.md
    // aimed at the collector.
    let node_dir = tempfile::tempdir().expect("create temporary directory");
    let forward = format!(
        "if $programname == 'foureyes' then {{\n\
             action(type=\"omfwd\" target=\"127.0.0.1\" port=\"{port}\" protocol=\"tcp\"\n\
                    TCP_Framing=\"octet-counted\"\n\
                    template=\"RSYSLOG_SyslogProtocol23Format\"\n\
                    queue.type=\"LinkedList\" queue.filename=\"foureyes-forward\"\n\
                    queue.saveOnShutdown=\"on\" action.resumeRetryCount=\"-1\")\n\
         }}\n"
    );
    let node_rules = format!("{}{forward}", node_config(node_dir.path()));
    let node = Rsyslogd::start(node_dir.path(), &node_rules).expect("rsyslogd is installed");
    let socket = node_dir.path().join("log");
    node.wait_for_file(&socket);
    let launch = Launch {
        syslog_socket: Some(socket),
        ..Launch::default()
    };
    let daemon = Daemon::start_with(&config(), &launch);
    let remote = daemon.remote("fleet");

    push_accept_and_reject(&remote);

    let stored: Vec<StoredRecord> = node
        .lines_of(&node_dir.path().join("node.log"), 2)
        .iter()
        .map(|line| parse_line(line))
        .collect();
    let received: Vec<StoredRecord> = collector
        .lines_of(&collector_dir.path().join("collector.log"), 2)
        .iter()
        .map(|line| parse_line(line))
        .collect();
    assert_eq!(stored.len(), 2, "{stored:?}");
    assert_eq!(received.len(), 2, "{received:?}");
    for record in &stored {
        let id = field(record, "id").expect("every record has an id");
        let copy = received
            .iter()
            .find(|copy| field(copy, "id") == Some(id))
            .unwrap_or_else(|| panic!("record {id} missing on the collector: {received:?}"));
        assert_eq!(copy, record);
    }

    // The comparison above would pass if both sides mangled a value in the
    // same way, so check the hard values on the collector's side too.
    let odd_ref = format!("refs/heads/{ODD_BRANCH}");
    let rejected = received
        .iter()
        .find(|copy| field(copy, "decision") == Some("reject"))
        .expect("the rejected push has a record");
    assert_eq!(field(rejected, "ref"), Some(odd_ref.as_str()));
    assert_eq!(rejected.hostname, NODE_HOSTNAME);
    assert_eq!(rejected.facility, "authpriv");
    assert_eq!(rejected.severity, "warning");
    assert_eq!(rejected.tag, "foureyes");
    assert_eq!(rejected.pid, daemon.pid().to_string());
}
