//! Real `git push` through the installed hook to a running daemon: what is
//! accepted, what is rejected with which message, whether the ref moves and
//! which fields the audit records carry.

use std::fs;

use crate::support::{
    ALICE, ALICE_HOME, Author, BOB, CAROL, Config, Daemon, ERIN, MALLORY, PushSpec, Remote,
    ZERO_ID, message, reviewed,
};

/// The syslog priority of an accepted ref: authpriv (10) * 8 + notice (5).
const PRIORITY_ACCEPT: u8 = 85;

/// The syslog priority of a rejected ref: authpriv (10) * 8 + warning (4).
const PRIORITY_REJECT: u8 = 84;

/// Returns a team and one rule on `refs/heads/main` with extra `settings`.
fn protect_main(settings: &str) -> Config {
    Config::team().rule("main", &["refs/heads/main"], settings)
}

/// Makes one commit on `main` by `author` with `message` and pushes it to a
/// fresh repository of `daemon`, as `pusher`.
fn push_one(
    daemon: &Daemon,
    name: &str,
    author: Author,
    message: &str,
    pusher: Option<&str>,
) -> crate::support::PushOutcome {
    let remote = daemon.remote(name);
    remote.commit("main", author, message);
    remote.push_with(&PushSpec::new(&["main"]).pusher(pusher))
}

fn canonical_repo(remote: &Remote) -> String {
    remote
        .bare()
        .canonicalize()
        .expect("the bare repository exists")
        .display()
        .to_string()
}

// --- Which refs are checked -------------------------------------------------

#[test]
fn unprotected_ref_accepted_without_record() {
    let daemon = Daemon::start(&protect_main("min_reviewers = 2"));
    let remote = daemon.remote("unprotected");
    remote.commit("topic", ALICE, "Unreviewed work\n");

    let outcome = remote.push(&["topic"]);

    assert_eq!(outcome.code, Some(0), "{}", outcome.stderr);
    assert!(outcome.moved("refs/heads/topic"));
    assert_eq!(outcome.remote_lines(), Vec::<&str>::new());
    assert_eq!(daemon.records().len(), 0);
}

#[test]
fn reviewed_push_accepted_with_record() {
    let daemon = Daemon::start(&protect_main("min_reviewers = 2"));
    let remote = daemon.remote("reviewed");
    let id = remote.commit("main", ALICE, &reviewed("Add parser", &[BOB, CAROL]));

    let outcome = remote.push(&["main"]);

    assert_eq!(outcome.code, Some(0), "{}", outcome.stderr);
    assert!(outcome.moved("refs/heads/main"));
    assert!(
        outcome
            .remote_text()
            .contains("refs/heads/main: passes rule \"main\": 1 commit checked, all reviewed"),
        "{}",
        outcome.stderr
    );
    let records = daemon.records();
    assert_eq!(records.len(), 1, "{records:?}");
    let record = &records[0];
    assert_eq!(record.priority, PRIORITY_ACCEPT, "{}", record.raw);
    assert_eq!(record.get("decision"), Some("accept"));
    assert_eq!(record.get("repo"), Some(canonical_repo(&remote).as_str()));
    assert_eq!(record.get("ref"), Some("refs/heads/main"));
    assert_eq!(record.get("old"), Some(ZERO_ID));
    assert_eq!(record.get("new"), Some(id.as_str()));
    assert_eq!(record.get("pusher"), Some("dave"));
    assert_eq!(record.get("rule"), Some("main"));
    assert_eq!(record.get("checked"), Some("1"));
    assert_eq!(record.get("failed"), Some("0"));
    assert_eq!(record.get("reviewers"), Some("bob,carol"));
}

// --- Deletion and force pushes ------------------------------------------------

/// Pushes one reviewed commit to `refs/heads/stable` and checks it landed.
fn stable_remote(daemon: &Daemon) -> Remote {
    let remote = daemon.remote("stable");
    remote.commit("stable", ALICE, &reviewed("Stabilize", &[BOB]));
    let first = remote.push(&["stable"]);
    assert_eq!(first.code, Some(0), "setup push failed: {}", first.stderr);
    remote
}

#[test]
fn delete_rejected_without_allow_delete() {
    let daemon = Daemon::start(&Config::team().rule("stable", &["refs/heads/stable"], ""));
    let remote = stable_remote(&daemon);

    let outcome = remote.push(&[":refs/heads/stable"]);

    assert_eq!(outcome.code, Some(1), "{}", outcome.stderr);
    assert!(!outcome.moved("refs/heads/stable"));
    assert!(
        outcome
            .remote_text()
            .contains("deleting refs/heads/stable is not allowed by rule \"stable\""),
        "{}",
        outcome.stderr
    );
    let records = daemon.records_for("refs/heads/stable");
    assert_eq!(records.len(), 2, "{records:?}");
    assert_eq!(records[1].get("decision"), Some("reject"));
    assert_eq!(records[1].get("new"), Some(ZERO_ID));
}

#[test]
fn delete_accepted_with_allow_delete() {
    let config = Config::team().rule("stable", &["refs/heads/stable"], "allow_delete = true");
    let daemon = Daemon::start(&config);
    let remote = stable_remote(&daemon);

    let outcome = remote.push(&[":refs/heads/stable"]);

    assert_eq!(outcome.code, Some(0), "{}", outcome.stderr);
    assert!(outcome.moved("refs/heads/stable"));
    assert_eq!(outcome.after.get("refs/heads/stable"), None);
    let records = daemon.records_for("refs/heads/stable");
    assert_eq!(records.len(), 2, "{records:?}");
    assert_eq!(records[1].get("decision"), Some("accept"));
}

/// Pushes two reviewed commits to main, then rewrites the second one in the
/// work clone (still reviewed); returns the remote and the rewritten tip.
fn rewritten_main(daemon: &Daemon) -> (Remote, String) {
    let remote = daemon.remote("rewrite");
    let ids = remote.commits("main", 2, ALICE, &[BOB]);
    let first = remote.push(&["main"]);
    assert_eq!(first.code, Some(0), "setup push failed: {}", first.stderr);
    let rewritten = remote.commit_tree(&[&ids[0]], ALICE, &reviewed("Rewritten change", &[BOB]));
    remote.git(&["update-ref", "refs/heads/main", &rewritten]);
    (remote, rewritten)
}

#[test]
fn force_push_rejected_by_default() {
    let daemon = Daemon::start(&protect_main(""));
    let (remote, _) = rewritten_main(&daemon);

    let outcome = remote.push(&["--force", "main"]);

    assert_eq!(outcome.code, Some(1), "{}", outcome.stderr);
    assert!(!outcome.moved("refs/heads/main"));
    let text = outcome.remote_text();
    assert!(text.contains("is not a fast-forward of"), "{text}");
    assert!(
        text.contains("rewriting history is not allowed by rule \"main\""),
        "{text}"
    );
}

#[test]
fn force_push_accepted_when_allowed() {
    let daemon = Daemon::start(&protect_main("allow_force_push = true"));
    let (remote, rewritten) = rewritten_main(&daemon);

    let outcome = remote.push(&["--force", "main"]);

    assert_eq!(outcome.code, Some(0), "{}", outcome.stderr);
    assert_eq!(
        outcome.after.get("refs/heads/main").map(String::as_str),
        Some(rewritten.as_str())
    );
    let records = daemon.records_for("refs/heads/main");
    assert_eq!(records.len(), 2, "{records:?}");
    assert_eq!(records[1].get("checked"), Some("1"));
}

#[test]
fn fast_forward_through_other_protected_ref() {
    // main moves onto a commit that release/1 already has, so the only
    // pushed commit's parent is hidden and is not the old tip of main: the
    // fast-forward is proved by the full ancestry walk, not by the range.
    let config = Config::team().rule("release", &["refs/heads/main", "refs/heads/release/*"], "");
    let daemon = Daemon::start(&config);
    let remote = daemon.remote("fast-forward-via-release");
    remote.commit("main", ALICE, &reviewed("Base", &[BOB]));
    let first = remote.push(&["main"]);
    assert_eq!(first.code, Some(0), "setup push failed: {}", first.stderr);
    remote.git(&["branch", "release/1", "main"]);
    remote.commit("release/1", ALICE, &reviewed("Release fix", &[BOB]));
    let second = remote.push(&["release/1"]);
    assert_eq!(second.code, Some(0), "setup push failed: {}", second.stderr);
    remote.git(&["update-ref", "refs/heads/main", "refs/heads/release/1"]);
    remote.commit("main", ALICE, &reviewed("Mainline change", &[BOB]));

    let outcome = remote.push(&["main"]);

    assert_eq!(outcome.code, Some(0), "{}", outcome.stderr);
    assert!(outcome.moved("refs/heads/main"));
    let records = daemon.records_for("refs/heads/main");
    assert_eq!(records.len(), 2, "{records:?}");
    assert_eq!(records[1].get("checked"), Some("1"));
}

// --- Which commits are checked ------------------------------------------------

#[test]
fn new_branch_checks_only_new_commits() {
    let config = Config::team().rule("release", &["refs/heads/main", "refs/heads/release/*"], "");
    let daemon = Daemon::start(&config);
    let remote = daemon.remote("branching");
    remote.commits("main", 3, ALICE, &[BOB]);
    let first = remote.push(&["main"]);
    assert_eq!(first.code, Some(0), "setup push failed: {}", first.stderr);
    remote.git(&["branch", "release/1", "main"]);
    remote.commit("release/1", ALICE, &reviewed("Bump version", &[CAROL]));

    let outcome = remote.push(&["release/1"]);

    assert_eq!(outcome.code, Some(0), "{}", outcome.stderr);
    assert!(outcome.moved("refs/heads/release/1"));
    assert!(
        outcome
            .remote_text()
            .contains("1 commit checked, all reviewed"),
        "{}",
        outcome.stderr
    );
    let records = daemon.records_for("refs/heads/release/1");
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0].get("old"), Some(ZERO_ID));
    assert_eq!(records[0].get("checked"), Some("1"));
}

#[test]
fn new_branch_in_empty_repository() {
    let daemon = Daemon::start(&protect_main(""));
    let remote = daemon.remote("empty");
    let ids = remote.commits("main", 2, ALICE, &[BOB]);

    let outcome = remote.push(&["main"]);

    assert_eq!(outcome.code, Some(0), "{}", outcome.stderr);
    assert!(outcome.moved("refs/heads/main"));
    let records = daemon.records_for("refs/heads/main");
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0].get("old"), Some(ZERO_ID));
    assert_eq!(records[0].get("new"), Some(ids[1].as_str()));
    assert_eq!(records[0].get("checked"), Some("2"));
}

#[test]
fn fast_forward_onto_unprotected_commit_rejected() {
    let daemon = Daemon::start(&protect_main(""));
    let remote = daemon.remote("laundering");
    remote.commit("main", ALICE, &reviewed("Base", &[BOB]));
    let first = remote.push(&["main"]);
    assert_eq!(first.code, Some(0), "setup push failed: {}", first.stderr);
    remote.git(&["branch", "topic", "main"]);
    let unreviewed = remote.commit("topic", ALICE, "Sneak in a change\n");
    let topic = remote.push(&["topic"]);
    assert_eq!(topic.code, Some(0), "topic push failed: {}", topic.stderr);

    // The commit is already in the repository, but not yet in main.
    remote.git(&["update-ref", "refs/heads/main", &unreviewed]);
    let outcome = remote.push(&["main"]);

    assert_eq!(outcome.code, Some(1), "{}", outcome.stderr);
    assert!(!outcome.moved("refs/heads/main"));
    let text = outcome.remote_text();
    assert!(text.contains(&unreviewed[..12]), "{text}");
    assert!(text.contains("has 0 of 1 required reviewers"), "{text}");
    let records = daemon.records_for("refs/heads/main");
    assert_eq!(records.len(), 2, "{records:?}");
    assert_eq!(records[1].get("checked"), Some("1"));
    assert_eq!(records[1].get("failed"), Some("1"));
}

#[test]
fn annotated_tag_checks_tagged_commit() {
    let daemon = Daemon::start(&Config::team().rule("releases", &["refs/tags/v*"], ""));
    let remote = daemon.remote("tags");
    let unreviewed = remote.commit("main", ALICE, "Unreviewed release\n");
    let main = remote.push(&["main"]);
    assert_eq!(
        main.code,
        Some(0),
        "main is unprotected here: {}",
        main.stderr
    );
    remote.git(&["tag", "-a", "v1.0", "-m", "Release 1.0", "main"]);
    let tag = remote.git(&["rev-parse", "refs/tags/v1.0"]);

    let outcome = remote.push(&["refs/tags/v1.0"]);

    assert_eq!(outcome.code, Some(1), "{}", outcome.stderr);
    assert!(!outcome.moved("refs/tags/v1.0"));
    assert!(
        outcome.remote_text().contains(&unreviewed[..12]),
        "{}",
        outcome.stderr
    );
    let records = daemon.records_for("refs/tags/v1.0");
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0].get("new"), Some(tag.as_str()));
    assert_eq!(records[0].get("decision"), Some("reject"));
}

#[test]
fn tags_check_commits_since_previous_tag() {
    let daemon = Daemon::start(&Config::team().rule("releases", &["refs/tags/v*"], ""));
    let remote = daemon.remote("tag-range");
    remote.commits("main", 2, ALICE, &[BOB]);
    remote.git(&["tag", "-a", "v1.0", "-m", "Release 1.0", "main"]);
    let annotated = remote.push(&["main", "refs/tags/v1.0"]);
    assert_eq!(annotated.code, Some(0), "{}", annotated.stderr);
    assert!(annotated.moved("refs/tags/v1.0"));
    remote.commits("main", 3, ALICE, &[CAROL]);
    remote.git(&["tag", "v1.1", "main"]);

    let lightweight = remote.push(&["main", "refs/tags/v1.1"]);

    assert_eq!(lightweight.code, Some(0), "{}", lightweight.stderr);
    assert!(lightweight.moved("refs/tags/v1.1"));
    let first = daemon.records_for("refs/tags/v1.0");
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(first[0].get("checked"), Some("2"));
    let second = daemon.records_for("refs/tags/v1.1");
    assert_eq!(second.len(), 1, "{second:?}");
    assert_eq!(second[0].get("checked"), Some("3"));
}

#[test]
fn non_commit_ref_rejected() {
    let daemon = Daemon::start(&protect_main(""));
    for kind in ["blob", "tree"] {
        let remote = daemon.remote(kind);
        let id = match kind {
            "blob" => remote.git(&["hash-object", "-w", "--stdin"]),
            _ => remote.git(&["mktree"]),
        };

        let outcome = remote.push(&[&format!("{id}:refs/heads/main")]);

        assert_eq!(outcome.code, Some(1), "{kind}: {}", outcome.stderr);
        assert!(!outcome.moved("refs/heads/main"), "{kind}");
        assert!(
            outcome
                .remote_text()
                .contains(&format!("would point to {id}, a {kind}, not a commit")),
            "{kind}: {}",
            outcome.stderr
        );
    }
}

// --- Counting reviewers --------------------------------------------------------

#[test]
fn reviewer_count_against_minimum() {
    let daemon = Daemon::start(&protect_main("min_reviewers = 2"));
    let cases: &[(&str, &[Author], Option<i32>, &str)] = &[
        ("none", &[], Some(1), "has 0 of 2 required reviewers"),
        (
            "one",
            &[BOB],
            Some(1),
            "has 1 of 2 required reviewers (bob)",
        ),
        ("two", &[BOB, CAROL], Some(0), "passes rule \"main\""),
    ];
    for (name, reviewers, code, expected) in cases {
        let outcome = push_one(
            &daemon,
            name,
            ALICE,
            &reviewed("Change", reviewers),
            Some("dave"),
        );

        assert_eq!(outcome.code, *code, "{name}: {}", outcome.stderr);
        assert_eq!(outcome.moved("refs/heads/main"), *code == Some(0), "{name}");
        assert!(
            outcome.remote_text().contains(expected),
            "{name}: {}",
            outcome.stderr
        );
    }
}

#[test]
fn reviewer_address_case_insensitive() {
    let daemon = Daemon::start(&protect_main("min_reviewers = 2"));
    let trailers = [
        "Reviewed-by: Bob Builder <BOB@Example.COM>".to_owned(),
        "reviewed-by: Carol Danvers <Carol@EXAMPLE.com>".to_owned(),
    ];

    let outcome = push_one(
        &daemon,
        "case",
        ALICE,
        &message("Change", &trailers),
        Some("dave"),
    );

    assert_eq!(outcome.code, Some(0), "{}", outcome.stderr);
    let records = daemon.records();
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0].get("reviewers"), Some("bob,carol"));
}

#[test]
fn same_person_two_addresses_counts_once() {
    let daemon = Daemon::start(&protect_main("min_reviewers = 2"));

    let outcome = push_one(
        &daemon,
        "same-person",
        BOB,
        &reviewed("Change", &[ALICE, ALICE_HOME]),
        Some("dave"),
    );

    assert_eq!(outcome.code, Some(1), "{}", outcome.stderr);
    let text = outcome.remote_text();
    assert!(
        text.contains("has 1 of 2 required reviewers (alice)"),
        "{text}"
    );
    assert!(
        text.contains("the same person as an earlier reviewer"),
        "{text}"
    );
}

#[test]
fn unknown_reviewer_ignored_by_default() {
    let daemon = Daemon::start(&protect_main("min_reviewers = 2"));

    let outcome = push_one(
        &daemon,
        "unknown",
        ALICE,
        &reviewed("Change", &[BOB, MALLORY]),
        Some("dave"),
    );

    assert_eq!(outcome.code, Some(1), "{}", outcome.stderr);
    let text = outcome.remote_text();
    assert!(
        text.contains("has 1 of 2 required reviewers (bob)"),
        "{text}"
    );
    assert!(
        text.contains(
            "not counted: Reviewed-by: Mallory Stranger <mallory@elsewhere.example>: unknown address"
        ),
        "{text}"
    );
}

#[test]
fn unknown_reviewer_counted_when_configured() {
    let daemon = Daemon::start(&protect_main(
        "min_reviewers = 2\nunknown_reviewers = \"count\"",
    ));

    let outcome = push_one(
        &daemon,
        "unknown-count",
        ALICE,
        &reviewed("Change", &[BOB, MALLORY]),
        Some("dave"),
    );

    assert_eq!(outcome.code, Some(0), "{}", outcome.stderr);
    let records = daemon.records();
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(
        records[0].get("reviewers"),
        Some("bob,mallory@elsewhere.example")
    );
}

#[test]
fn reviewer_without_address_not_counted() {
    let daemon = Daemon::start(&protect_main("min_reviewers = 2"));
    let trailers = [
        "Reviewed-by: Bob Builder".to_owned(),
        format!("Reviewed-by: {}", CAROL.ident()),
    ];

    let outcome = push_one(
        &daemon,
        "no-address",
        ALICE,
        &message("Change", &trailers),
        Some("dave"),
    );

    assert_eq!(outcome.code, Some(1), "{}", outcome.stderr);
    let text = outcome.remote_text();
    assert!(
        text.contains("has 1 of 2 required reviewers (carol)"),
        "{text}"
    );
    assert!(
        text.contains("not counted: Reviewed-by: Bob Builder: no email address in the trailer"),
        "{text}"
    );
}

// --- Who never counts ----------------------------------------------------------

#[test]
fn author_never_counts() {
    let daemon = Daemon::start(&protect_main("min_reviewers = 2"));
    // Alice reviews her own commit, once under the author address and once
    // under her other address.
    let cases: &[(&str, Author, Author)] = &[
        ("same-address", ALICE, ALICE),
        ("other-address", ALICE_HOME, ALICE),
    ];
    for (name, author, self_review) in cases {
        let outcome = push_one(
            &daemon,
            name,
            *author,
            &reviewed("Change", &[*self_review, BOB]),
            Some("dave"),
        );

        assert_eq!(outcome.code, Some(1), "{name}: {}", outcome.stderr);
        let text = outcome.remote_text();
        assert!(
            text.contains("has 1 of 2 required reviewers (bob)"),
            "{name}: {text}"
        );
        assert!(text.contains("the commit's author"), "{name}: {text}");
    }
}

#[test]
fn coauthor_never_counts() {
    let daemon = Daemon::start(&protect_main("min_reviewers = 2"));
    for key in ["Co-authored-by", "Co-developed-by"] {
        let trailers = [
            format!("{key}: {}", CAROL.ident()),
            format!("Reviewed-by: {}", CAROL.ident()),
            format!("Reviewed-by: {}", BOB.ident()),
        ];

        let outcome = push_one(
            &daemon,
            key,
            ALICE,
            &message("Pair work", &trailers),
            Some("dave"),
        );

        assert_eq!(outcome.code, Some(1), "{key}: {}", outcome.stderr);
        let text = outcome.remote_text();
        assert!(
            text.contains("has 1 of 2 required reviewers (bob)"),
            "{key}: {text}"
        );
        assert!(text.contains("a co-author of the commit"), "{key}: {text}");
    }
}

#[test]
fn pusher_never_counts_by_default() {
    let daemon = Daemon::start(&protect_main("min_reviewers = 2"));

    let outcome = push_one(
        &daemon,
        "pusher",
        ALICE,
        &reviewed("Change", &[BOB, CAROL]),
        Some("carol"),
    );

    assert_eq!(outcome.code, Some(1), "{}", outcome.stderr);
    assert!(!outcome.moved("refs/heads/main"));
    let text = outcome.remote_text();
    assert!(
        text.contains("has 1 of 2 required reviewers (bob)"),
        "{text}"
    );
    assert!(text.contains("the pusher"), "{text}");
}

#[test]
fn pusher_counts_when_allowed() {
    let daemon = Daemon::start(&protect_main(
        "min_reviewers = 2\nreviewer_may_be_pusher = true",
    ));

    let outcome = push_one(
        &daemon,
        "pusher-allowed",
        ALICE,
        &reviewed("Change", &[BOB, CAROL]),
        Some("carol"),
    );

    assert_eq!(outcome.code, Some(0), "{}", outcome.stderr);
    assert!(outcome.moved("refs/heads/main"));
    let records = daemon.records();
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0].get("pusher"), Some("carol"));
    assert_eq!(records[0].get("reviewers"), Some("bob,carol"));
}

#[test]
fn missing_pusher_rejected() {
    let daemon = Daemon::start(&protect_main(""));

    let outcome = push_one(
        &daemon,
        "anonymous",
        ALICE,
        &reviewed("Change", &[BOB]),
        None,
    );

    assert_eq!(outcome.code, Some(1), "{}", outcome.stderr);
    assert!(!outcome.moved("refs/heads/main"));
    let text = outcome.remote_text();
    assert!(text.contains("cannot tell who is pushing"), "{text}");
    assert!(text.contains("REMOTE_USER"), "{text}");
    let records = daemon.records();
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0].get("pusher"), Some(""));
}

#[test]
fn pusher_from_gitlab_variable() {
    let daemon = Daemon::start(&protect_main(""));
    let remote = daemon.remote("gitlab");
    remote.commit("main", ALICE, &reviewed("Change", &[BOB]));
    let spec = PushSpec::new(&["main"])
        .pusher(None)
        .env("GL_USERNAME", "carol");

    let outcome = remote.push_with(&spec);

    assert_eq!(outcome.code, Some(0), "{}", outcome.stderr);
    let records = daemon.records();
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0].get("pusher"), Some("carol"));
}

// --- Merges -----------------------------------------------------------------------

/// Pushes a reviewed base, then builds a reviewed merge of two unreviewed
/// side commits onto main in the work clone.
fn merge_of_unreviewed_side(daemon: &Daemon, name: &str) -> Remote {
    let remote = daemon.remote(name);
    let base = remote.commit("main", ALICE, &reviewed("Base", &[BOB]));
    let first = remote.push(&["main"]);
    assert_eq!(first.code, Some(0), "setup push failed: {}", first.stderr);
    remote.git(&["branch", "side", &base]);
    remote.commit("side", ERIN, "Side step one\n");
    let side = remote.commit("side", ERIN, "Side step two\n");
    let merge = remote.commit_tree(
        &[&base, &side],
        ERIN,
        &reviewed("Merge side", &[BOB, CAROL]),
    );
    remote.git(&["update-ref", "refs/heads/main", &merge]);
    remote
}

#[test]
fn first_parent_scope_accepts_reviewed_merge() {
    let daemon = Daemon::start(&protect_main("scope = \"first-parent\""));
    let remote = merge_of_unreviewed_side(&daemon, "first-parent");

    let outcome = remote.push(&["main"]);

    assert_eq!(outcome.code, Some(0), "{}", outcome.stderr);
    assert!(outcome.moved("refs/heads/main"));
    let records = daemon.records_for("refs/heads/main");
    assert_eq!(records.len(), 2, "{records:?}");
    assert_eq!(records[1].get("checked"), Some("1"));
}

#[test]
fn every_commit_scope_rejects_unreviewed_side() {
    let daemon = Daemon::start(&protect_main(""));
    let remote = merge_of_unreviewed_side(&daemon, "every-commit");

    let outcome = remote.push(&["main"]);

    assert_eq!(outcome.code, Some(1), "{}", outcome.stderr);
    assert!(!outcome.moved("refs/heads/main"));
    assert!(
        outcome
            .remote_text()
            .contains("2 of 3 checked commits fail"),
        "{}",
        outcome.stderr
    );
    let records = daemon.records_for("refs/heads/main");
    assert_eq!(records.len(), 2, "{records:?}");
    assert_eq!(records[1].get("checked"), Some("3"));
    assert_eq!(records[1].get("failed"), Some("2"));
}

// --- Size and failure --------------------------------------------------------------

#[test]
fn many_refs_one_record_per_protected_ref() {
    let daemon = Daemon::start(&Config::team().rule("release", &["refs/heads/release/*"], ""));
    let remote = daemon.remote("many-refs");
    let reviewed_id = remote.commit("main", ALICE, &reviewed("Reviewed", &[BOB]));
    let unreviewed_id = remote.commit("scratch", ALICE, "Unreviewed\n");
    let mut refspecs = Vec::new();
    for number in 0..16 {
        refspecs.push(format!("{reviewed_id}:refs/heads/release/{number}"));
        refspecs.push(format!("{unreviewed_id}:refs/heads/topic/{number}"));
    }
    let args: Vec<&str> = refspecs.iter().map(String::as_str).collect();

    let outcome = remote.push(&args);

    assert_eq!(outcome.code, Some(0), "{}", outcome.stderr);
    assert_eq!(outcome.after.len(), 32, "{:?}", outcome.after);
    let records = daemon.records();
    assert_eq!(records.len(), 16, "{records:?}");
    let mut refs: Vec<&str> = records
        .iter()
        .filter_map(|record| record.get("ref"))
        .collect();
    refs.sort();
    let mut expected: Vec<String> = (0..16)
        .map(|number| format!("refs/heads/release/{number}"))
        .collect();
    expected.sort();
    assert_eq!(refs, expected);
    for record in &records {
        assert_eq!(record.get("decision"), Some("accept"), "{}", record.raw);
    }
}

#[test]
fn large_push_arrives_as_pack() {
    let daemon = Daemon::start(&protect_main(""));
    let remote = daemon.remote("large");
    // 150 commits and their tree are more objects than git unpacks loose
    // (receive.unpackLimit is 100), so the quarantine contains a pack.
    remote.commits("main", 150, ALICE, &[BOB]);

    let outcome = remote.push(&["main"]);

    assert_eq!(outcome.code, Some(0), "{}", outcome.stderr);
    assert!(outcome.moved("refs/heads/main"));
    let packs = fs::read_dir(remote.bare().join("objects/pack"))
        .expect("the pack directory exists")
        .filter_map(Result::ok)
        .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "pack"))
        .count();
    assert_eq!(packs, 1);
    let records = daemon.records();
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0].get("checked"), Some("150"));
}

#[test]
fn daemon_down_rejects_push() {
    let root = tempfile::tempdir().expect("cannot create a temporary directory");
    let socket = root.path().join("no-daemon.sock");
    let remote = Remote::new(root.path(), "down", &socket);
    remote.commit("main", ALICE, &reviewed("Change", &[BOB]));

    let outcome = remote.push(&["main"]);

    assert_eq!(outcome.code, Some(1), "{}", outcome.stderr);
    assert!(!outcome.moved("refs/heads/main"));
    let expected = format!("cannot reach the foureyes daemon at {}", socket.display());
    assert!(
        outcome.remote_text().contains(&expected),
        "{}",
        outcome.stderr
    );
}

#[test]
fn daemon_down_hook_exits_two() {
    let root = tempfile::tempdir().expect("cannot create a temporary directory");
    let socket = root.path().join("no-daemon.sock");
    let remote = Remote::new(root.path(), "down", &socket);
    let id = remote.commit("main", ALICE, &reviewed("Change", &[BOB]));

    let output = remote.run_hook(&format!("{ZERO_ID} {id} refs/heads/main\n"));

    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let expected = format!("cannot reach the foureyes daemon at {}", socket.display());
    assert!(stderr.contains(&expected), "{stderr}");
}

#[test]
fn failing_commits_detail_capped() {
    let daemon = Daemon::start(&protect_main(""));
    let remote = daemon.remote("many-failing");
    remote.commits("main", 25, ALICE, &[]);

    let outcome = remote.push(&["main"]);

    assert_eq!(outcome.code, Some(1), "{}", outcome.stderr);
    let detailed = outcome
        .remote_lines()
        .iter()
        .filter(|line| is_commit_line(line))
        .count();
    assert_eq!(detailed, 20, "{}", outcome.stderr);
    let text = outcome.remote_text();
    assert!(text.contains("25 of 25 checked commits fail"), "{text}");
    assert!(
        text.contains("... and 5 more failing commits not shown"),
        "{text}"
    );
}

/// Returns whether `line` is a detailed commit line: two spaces, a 12-digit
/// abbreviated id, a space and the subject.
fn is_commit_line(line: &str) -> bool {
    let Some(rest) = line.strip_prefix("  ") else {
        return false;
    };
    let Some((id, _subject)) = rest.split_once(' ') else {
        return false;
    };
    id.len() == 12 && id.bytes().all(|byte| byte.is_ascii_hexdigit())
}

#[test]
fn control_characters_escaped_in_output() {
    let daemon = Daemon::start(&protect_main(""));

    let outcome = push_one(
        &daemon,
        "control",
        ALICE,
        "Fix \u{1b}[31mred\u{1b}[0m text\u{7}\n",
        Some("dave"),
    );

    assert_eq!(outcome.code, Some(1), "{}", outcome.stderr);
    assert!(
        outcome
            .stderr
            .contains("Fix \\u{1b}[31mred\\u{1b}[0m text\\u{7}"),
        "{}",
        outcome.stderr
    );
    assert!(!outcome.stderr.contains('\u{1b}'), "{:?}", outcome.stderr);
    assert!(!outcome.stderr.contains('\u{7}'), "{:?}", outcome.stderr);
}

#[test]
fn audit_failure_rejects_accepted_push() {
    let daemon = Daemon::start(&protect_main(""));
    let remote = daemon.remote("no-syslog");
    remote.commit("main", ALICE, &reviewed("Change", &[BOB]));
    daemon.remove_syslog_socket();

    let outcome = remote.push(&["main"]);

    assert_eq!(outcome.code, Some(1), "{}", outcome.stderr);
    assert!(!outcome.moved("refs/heads/main"));
    let text = outcome.remote_text();
    assert!(
        text.contains("push rejected: audit log unavailable; the decision could not be recorded"),
        "{text}"
    );
    assert!(!text.contains("could not check it"), "{text}");
}

// --- Audit severity ------------------------------------------------------------------

#[test]
fn audit_priority_by_decision() {
    let daemon = Daemon::start(&protect_main(""));
    let accepted = push_one(
        &daemon,
        "notice",
        ALICE,
        &reviewed("Good", &[BOB]),
        Some("dave"),
    );
    assert_eq!(accepted.code, Some(0), "{}", accepted.stderr);
    let rejected = push_one(&daemon, "warning", ALICE, "Unreviewed\n", Some("dave"));
    assert_eq!(rejected.code, Some(1), "{}", rejected.stderr);

    let records = daemon.records();

    assert_eq!(records.len(), 2, "{records:?}");
    assert_eq!(records[0].get("decision"), Some("accept"));
    assert_eq!(records[0].priority, PRIORITY_ACCEPT, "{}", records[0].raw);
    assert_eq!(records[0].facility(), 10);
    assert_eq!(records[0].severity(), 5);
    assert_eq!(records[1].get("decision"), Some("reject"));
    assert_eq!(records[1].priority, PRIORITY_REJECT, "{}", records[1].raw);
    assert_eq!(records[1].facility(), 10);
    assert_eq!(records[1].severity(), 4);
}

// --- Several protected refs sharing history in one push ---------------------

#[test]
fn shared_commits_judged_once_per_push() {
    let config = Config::team().rule("release", &["refs/heads/main", "refs/heads/release/*"], "");
    let daemon = Daemon::start(&config);
    let remote = daemon.remote("shared");
    remote.commits("main", 3, ALICE, &[BOB]);
    remote.git(&["branch", "release/1", "main"]);
    remote.git(&["branch", "release/2", "main"]);

    let outcome = remote.push(&["main", "release/1", "release/2"]);

    assert_eq!(outcome.code, Some(0), "{}", outcome.stderr);
    assert!(outcome.moved("refs/heads/release/2"));
    let checked: Vec<String> = [
        "refs/heads/main",
        "refs/heads/release/1",
        "refs/heads/release/2",
    ]
    .iter()
    .map(|refname| {
        daemon.records_for(refname)[0]
            .get("checked")
            .unwrap_or("")
            .to_owned()
    })
    .collect();
    let total: usize = checked
        .iter()
        .map(|count| count.parse::<usize>().unwrap())
        .sum();
    assert_eq!(total, 3, "each commit is judged once: {checked:?}");
}

#[test]
fn shared_history_still_checks_new_commits() {
    let config = Config::team().rule("release", &["refs/heads/main", "refs/heads/release/*"], "");
    let daemon = Daemon::start(&config);
    let remote = daemon.remote("shared-new");
    remote.commits("main", 2, ALICE, &[BOB]);
    remote.git(&["branch", "release/1", "main"]);
    let unreviewed = remote.commit("release/1", ALICE, "Unreviewed on top\n");

    let outcome = remote.push(&["main", "release/1"]);

    assert_eq!(outcome.code, Some(1), "{}", outcome.stderr);
    assert!(!outcome.moved("refs/heads/main"));
    assert!(
        outcome.remote_text().contains(&unreviewed[..12]),
        "{}",
        outcome.stderr
    );
    let records = daemon.records_for("refs/heads/release/1");
    assert_eq!(records[0].get("decision"), Some("reject"));
    assert_eq!(records[0].get("failed"), Some("1"));
}

#[test]
fn shared_unreviewed_commit_rejects_push() {
    let config = Config::team().rule("release", &["refs/heads/main", "refs/heads/release/*"], "");
    let daemon = Daemon::start(&config);
    let remote = daemon.remote("shared-bad");
    remote.commit("main", ALICE, "Unreviewed\n");
    remote.git(&["branch", "release/1", "main"]);

    let outcome = remote.push(&["main", "release/1"]);

    assert_eq!(outcome.code, Some(1), "{}", outcome.stderr);
    assert!(!outcome.moved("refs/heads/release/1"));
    assert!(!outcome.moved("refs/heads/main"));
    // Each ref's record names the failing commit it brings in, even though
    // the other ref brought it in first.
    for refname in ["refs/heads/main", "refs/heads/release/1"] {
        let records = daemon.records_for(refname);
        assert_eq!(records[0].get("decision"), Some("reject"), "{refname}");
        assert_eq!(records[0].get("failed"), Some("1"), "{refname}");
    }
}

#[test]
fn force_push_rejected_without_reviews_required() {
    // min_reviewers = 0 skips the walk, and with it the walk's proof of a
    // fast-forward; the rewrite must still be caught.
    let daemon = Daemon::start(&protect_main("min_reviewers = 0"));
    let (remote, _) = rewritten_main(&daemon);

    let outcome = remote.push(&["--force", "main"]);

    assert_eq!(outcome.code, Some(1), "{}", outcome.stderr);
    assert!(!outcome.moved("refs/heads/main"));
    assert!(
        outcome.remote_text().contains("is not a fast-forward of"),
        "{}",
        outcome.stderr
    );
}

#[test]
fn force_push_to_commit_judged_for_another_ref() {
    // release/1 is rewound to a commit that main brings in the same push:
    // the commit is judged once, under main, and release/1's update walks
    // nothing, which must not hide that it is not a fast-forward.
    let config = Config::team().rule("release", &["refs/heads/main", "refs/heads/release/*"], "");
    let daemon = Daemon::start(&config);
    let remote = daemon.remote("rewind");
    let base = remote.commits("main", 1, ALICE, &[BOB]);
    remote.git(&["branch", "release/1", "main"]);
    remote.commit("release/1", ALICE, &reviewed("Release only", &[BOB]));
    let setup = remote.push(&["main", "release/1"]);
    assert_eq!(setup.code, Some(0), "setup push failed: {}", setup.stderr);
    let next = remote.commit("main", ALICE, &reviewed("Next on main", &[BOB]));
    remote.git(&["update-ref", "refs/heads/release/1", &next]);
    assert_ne!(base[0], next);

    let outcome = remote.push(&["--force", "main", "release/1"]);

    assert_eq!(outcome.code, Some(1), "{}", outcome.stderr);
    assert!(!outcome.moved("refs/heads/release/1"));
    let records = daemon.records_for("refs/heads/release/1");
    let last = records.last().expect("a record for release/1");
    assert_eq!(last.get("decision"), Some("reject"));
    assert!(
        last.get("problems")
            .unwrap_or("")
            .contains("is not a fast-forward of"),
        "{last:?}"
    );
}

#[test]
fn too_many_commits_names_the_limit() {
    let daemon = Daemon::start(&protect_main("").limits("max_commits = 3"));
    let remote = daemon.remote("max-commits");
    remote.commits("main", 5, ALICE, &[BOB]);

    let outcome = remote.push(&["main"]);

    assert_eq!(outcome.code, Some(1), "{}", outcome.stderr);
    assert!(!outcome.moved("refs/heads/main"));
    let text = outcome.remote_text();
    assert!(
        text.contains("more than 3 commits, the limit max_commits"),
        "{text}"
    );
    let records = daemon.records_for("refs/heads/main");
    assert_eq!(records[0].get("decision"), Some("reject"));
}
