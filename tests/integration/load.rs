//! Load: many hook clients at once against one daemon. Every call must end
//! with the right exit status and leave exactly one audit record.
//! The daemon's peak memory is printed; nothing here asserts on time.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::thread;

use crate::support::{ALICE, BOB, Config, Daemon, ZERO_ID, reviewed};

/// Hook clients running at the same time.
const CLIENTS: usize = 64;

/// Calls in total, spread evenly over the clients. 1 280 calls took 13 s in
/// a debug build on a shared two-core machine.
const CALLS: usize = 1_280;

/// What one call pushes, chosen by its number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Reviewed,
    Unreviewed,
    SelfReviewed,
}

impl Kind {
    /// Half of the calls are accepted; the other half are rejected for one
    /// of two reasons.
    fn of(call: usize) -> Kind {
        match call % 4 {
            0 | 1 => Kind::Reviewed,
            2 => Kind::Unreviewed,
            _ => Kind::SelfReviewed,
        }
    }

    fn exit_code(self) -> i32 {
        match self {
            Kind::Reviewed => 0,
            Kind::Unreviewed | Kind::SelfReviewed => 1,
        }
    }

    fn decision(self) -> &'static str {
        match self {
            Kind::Reviewed => "accept",
            Kind::Unreviewed | Kind::SelfReviewed => "reject",
        }
    }
}

/// Returns the daemon's peak resident set size (`VmHWM`) as written in
/// `/proc/PID/status`, e.g. `"23456 kB"`.
fn peak_rss(pid: i32) -> String {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .map(|value| value.trim().to_owned())
        .unwrap_or_else(|| "unknown".to_owned())
}

#[test]
fn concurrent_hooks_all_answered_and_recorded() {
    // The deadline is raised because this test checks decisions and records,
    // not speed: a debug build with 64 clients on two cores can queue a
    // check for seconds.
    let config = Config::team()
        .rule("release", &["refs/heads/release/*"], "min_reviewers = 1")
        .limits("deadline_ms = 120000");
    let daemon = Daemon::start(&config);
    let remote = daemon.remote("load");
    let mut ids = BTreeMap::new();
    for (kind, branch, message) in [
        (Kind::Reviewed, "reviewed", reviewed("Reviewed", &[BOB])),
        (Kind::Unreviewed, "unreviewed", "Unreviewed\n".to_owned()),
        (
            Kind::SelfReviewed,
            "self",
            reviewed("Self-reviewed", &[ALICE]),
        ),
    ] {
        let id = remote.commit(branch, ALICE, &message);
        remote.fetch_into_bare(
            &format!("refs/heads/{branch}"),
            &format!("refs/keep/{branch}"),
        );
        ids.insert(format!("{kind:?}"), id);
    }
    let id_of = |kind: Kind| ids[&format!("{kind:?}")].clone();

    let per_client = CALLS / CLIENTS;
    let results: Vec<(usize, Option<i32>, String)> = thread::scope(|scope| {
        let workers: Vec<_> = (0..CLIENTS)
            .map(|client| {
                let remote = &remote;
                let id_of = &id_of;
                scope.spawn(move || {
                    (0..per_client)
                        .map(|index| {
                            let call = client * per_client + index;
                            let line = format!(
                                "{ZERO_ID} {} refs/heads/release/{call}\n",
                                id_of(Kind::of(call))
                            );
                            let output = remote.run_hook(&line);
                            let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
                            (call, output.status.code(), stderr)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| worker.join().expect("a client thread panicked"))
            .collect()
    });
    println!(
        "foureyesd peak RSS (VmHWM): {}",
        peak_rss(daemon.pid().as_raw())
    );

    assert_eq!(results.len(), CALLS);
    let wrong: Vec<_> = results
        .iter()
        .filter(|(call, code, _)| *code != Some(Kind::of(*call).exit_code()))
        .take(3)
        .collect();
    assert!(
        wrong.is_empty(),
        "calls with the wrong exit status: {wrong:#?}"
    );

    let records = daemon.wait_for_records(CALLS);
    assert_eq!(records.len(), CALLS);
    let record_ids: BTreeSet<&str> = records.iter().filter_map(|r| r.get("id")).collect();
    assert_eq!(record_ids.len(), CALLS);
    let mut by_ref: BTreeMap<&str, Vec<_>> = BTreeMap::new();
    for record in &records {
        by_ref
            .entry(record.get("ref").unwrap_or(""))
            .or_default()
            .push(record);
    }
    assert_eq!(by_ref.len(), CALLS);
    for call in 0..CALLS {
        let refname = format!("refs/heads/release/{call}");
        let kind = Kind::of(call);
        let found = by_ref.get(refname.as_str()).map_or(0, Vec::len);
        assert_eq!(found, 1, "records for {refname}");
        let record = by_ref[refname.as_str()][0];
        assert_eq!(record.get("new"), Some(id_of(kind).as_str()), "{refname}");
        assert_eq!(record.get("decision"), Some(kind.decision()), "{refname}");
    }
}
