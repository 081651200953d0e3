//! Real pushes against the organisation features of a rule: quotas,
//! path rules, bots, reviewer and pusher groups, the pusher as author,
//! break-glass, shadow mode and `target_reachable_from`.

use std::fs;
use std::process::Output;

use crate::support::{
    ALICE, Author, BOB, CAROL, Config, DAVE, Daemon, ERIN, PushOutcome, PushSpec, Remote,
    SyslogRecord, ZERO_ID, explain, reviewed,
};

/// authpriv (10) * 8 + alert (1): a break-glass bypass.
const PRIORITY_ALERT: u8 = 81;

/// authpriv (10) * 8 + warning (4): a rejected ref.
const PRIORITY_REJECT: u8 = 84;

/// authpriv (10) * 8 + notice (5): an accepted ref.
const PRIORITY_ACCEPT: u8 = 85;

/// A bot whose reviews never count.
const CI: Author = Author {
    name: "CI Robot",
    email: "ci@example.com",
};

/// Returns the team plus a bot and three groups: bob is in core and
/// security, and dave releases.
fn organisation() -> Config {
    Config::team().raw(
        r#"
[[person]]
id = "ci"
emails = ["ci@example.com"]
usernames = ["ci"]
bot = true

[groups]
core = ["alice", "bob", "carol"]
security = ["bob"]
release = ["dave"]
"#,
    )
}

fn rejected(outcome: &PushOutcome) {
    assert_eq!(outcome.code, Some(1), "{}", outcome.stderr);
}

fn accepted(outcome: &PushOutcome) {
    assert_eq!(outcome.code, Some(0), "{}", outcome.stderr);
}

fn assert_says(outcome: &PushOutcome, text: &str) {
    assert!(
        outcome.remote_text().contains(text),
        "expected {text:?} in:\n{}",
        outcome.stderr
    );
}

fn only_record(daemon: &Daemon, refname: &str) -> SyslogRecord {
    let mut records = daemon.records_for(refname);
    assert_eq!(records.len(), 1, "{records:?}");
    records.remove(0)
}

/// Writes `path` in the work clone and commits everything as `author`.
fn commit_file(remote: &Remote, author: Author, path: &str, message: &str) -> String {
    let file = remote.work().join(path);
    fs::create_dir_all(file.parent().expect("a file has a parent"))
        .expect("cannot create the directory");
    fs::write(&file, format!("{path} by {}\n", author.name)).expect("cannot write the file");
    remote.set_user(author);
    remote.git(&["add", "--all"]);
    remote.git(&["commit", "--quiet", "-m", message]);
    remote.git(&["rev-parse", "HEAD"]).trim().to_owned()
}

fn allow_push_options(remote: &Remote) {
    remote.git_bare(&["config", "receive.advertisePushOptions", "true"]);
}

fn push_as(remote: &Remote, pusher: &str, args: &[&str]) -> PushOutcome {
    remote.push_with(&PushSpec::new(args).pusher(Some(pusher)))
}

// --- Quotas, paths, bots and reviewer groups --------------------------------

#[test]
fn person_in_two_groups_fills_one_slot() {
    let config = organisation().rule(
        "main",
        &["refs/heads/main"],
        r#"min_reviewers = 1
require = [{ group = "security", count = 1 }, { group = "core", count = 1 }]"#,
    );
    let daemon = Daemon::start(&config);

    let alone = daemon.remote("alone");
    alone.commit("main", ERIN, &reviewed("Reviewed by bob only", &[BOB]));
    let outcome = alone.push(&["main"]);
    rejected(&outcome);
    assert_says(
        &outcome,
        "needs 1 more reviewer from group core (bob fills the slot of group security; each person fills one slot)",
    );
    assert!(!outcome.moved("refs/heads/main"));

    let pair = daemon.remote("pair");
    pair.commit(
        "main",
        ERIN,
        &reviewed("Reviewed by bob and carol", &[BOB, CAROL]),
    );
    let outcome = pair.push(&["main"]);
    accepted(&outcome);
    assert!(outcome.moved("refs/heads/main"));
}

#[test]
fn path_rule_applies_per_commit() {
    let config = organisation().rule(
        "main",
        &["refs/heads/main"],
        r#"min_reviewers = 1
[[rule.paths]]
patterns = ["crypto/**", "auth/**"]
require = [{ group = "security", count = 1 }]"#,
    );
    let daemon = Daemon::start(&config);
    let remote = daemon.remote("paths");
    let docs = commit_file(
        &remote,
        ERIN,
        "docs/guide.md",
        &reviewed("Document the guide", &[ALICE]),
    );
    let crypto = commit_file(
        &remote,
        ERIN,
        "crypto/aes/impl.c",
        &reviewed("Speed up AES", &[ALICE]),
    );

    let outcome = remote.push(&["main"]);

    rejected(&outcome);
    assert_says(&outcome, &crypto[..12]);
    assert_says(
        &outcome,
        "needs 1 more reviewer from group security for changes to crypto/**, auth/**",
    );
    assert!(
        !outcome.remote_text().contains(&docs[..12]),
        "{}",
        outcome.stderr
    );
    let record = only_record(&daemon, "refs/heads/main");
    assert_eq!(record.get("checked"), Some("2"));
    assert_eq!(record.get("failed"), Some("1"));
}

#[test]
fn path_rule_met_by_security_reviewer() {
    let config = organisation().rule(
        "main",
        &["refs/heads/main"],
        r#"min_reviewers = 1
[[rule.paths]]
patterns = ["crypto/**"]
require = [{ group = "security", count = 1 }]"#,
    );
    let daemon = Daemon::start(&config);
    let remote = daemon.remote("paths-met");
    commit_file(&remote, ERIN, "README", &reviewed("Add a readme", &[ALICE]));
    commit_file(&remote, ERIN, "crypto/aes.c", &reviewed("Add AES", &[BOB]));

    let outcome = remote.push(&["main"]);

    accepted(&outcome);
    assert!(outcome.moved("refs/heads/main"));
}

#[test]
fn bot_reviewer_never_counts() {
    let config = organisation().rule("main", &["refs/heads/main"], "min_reviewers = 1");
    let daemon = Daemon::start(&config);
    let remote = daemon.remote("bot");
    remote.commit("main", ERIN, &reviewed("Approved by CI", &[CI]));

    let outcome = remote.push(&["main"]);

    rejected(&outcome);
    assert_says(
        &outcome,
        "not counted: Reviewed-by: CI Robot <ci@example.com>: a bot account",
    );
}

#[test]
fn reviewer_outside_reviewer_groups() {
    let config = organisation().rule(
        "main",
        &["refs/heads/main"],
        "min_reviewers = 1\nreviewer_groups = [\"core\"]",
    );
    let daemon = Daemon::start(&config);

    let outsider = daemon.remote("outsider");
    outsider.commit("main", CAROL, &reviewed("Reviewed by erin", &[ERIN]));
    let outcome = outsider.push(&["main"]);
    rejected(&outcome);
    assert_says(&outcome, "not in the rule's reviewer groups");

    let member = daemon.remote("member");
    member.commit("main", ERIN, &reviewed("Reviewed by alice", &[ALICE]));
    accepted(&member.push(&["main"]));
}

// --- Who may push ------------------------------------------------------------

#[test]
fn pusher_may_not_push_own_commit() {
    let config = organisation().rule(
        "main",
        &["refs/heads/main"],
        "min_reviewers = 1\npusher_may_be_author = false",
    );
    let daemon = Daemon::start(&config);
    let remote = daemon.remote("own");
    let id = remote.commit("main", DAVE, &reviewed("Dave's change", &[ALICE]));

    let outcome = push_as(&remote, "dave", &["main"]);
    rejected(&outcome);
    assert_says(&outcome, &id[..12]);
    assert_says(&outcome, "the pusher (dave) is the author of this commit");

    let outcome = push_as(&remote, "erin", &["main"]);
    accepted(&outcome);
    assert!(outcome.moved("refs/heads/main"));
}

#[test]
fn pusher_may_not_push_coauthored_commit() {
    let config = organisation().rule(
        "main",
        &["refs/heads/main"],
        "min_reviewers = 1\npusher_may_be_author = false",
    );
    let daemon = Daemon::start(&config);
    let remote = daemon.remote("coauthored");
    let message = format!(
        "Pair work\n\nCo-authored-by: {}\nReviewed-by: {}\n",
        DAVE.ident(),
        ALICE.ident()
    );
    remote.commit("main", ERIN, &message);

    let outcome = push_as(&remote, "dave", &["main"]);

    rejected(&outcome);
    assert_says(&outcome, "the pusher (dave) is a co-author of this commit");
}

#[test]
fn pusher_outside_pusher_groups() {
    let config = organisation().rule(
        "main",
        &["refs/heads/main"],
        "min_reviewers = 1\npusher_groups = [\"release\"]",
    );
    let daemon = Daemon::start(&config);
    let remote = daemon.remote("pusher-groups");
    remote.commit("main", ERIN, &reviewed("Reviewed change", &[ALICE]));

    let outcome = push_as(&remote, "carol", &["main"]);
    rejected(&outcome);
    assert_says(
        &outcome,
        "pusher carol is not in pusher_groups of rule \"main\" (release)",
    );

    let outcome = push_as(&remote, "dave", &["main"]);
    accepted(&outcome);
}

// --- Break-glass -------------------------------------------------------------

fn break_glass_config() -> Config {
    organisation().rule(
        "main",
        &["refs/heads/main", "refs/heads/hotfix"],
        "min_reviewers = 1\nbreak_glass_groups = [\"release\"]",
    )
}

#[test]
fn break_glass_by_allowed_pusher() {
    let daemon = Daemon::start(&break_glass_config());
    let remote = daemon.remote("glass");
    allow_push_options(&remote);
    let id = remote.commit("main", ERIN, "Emergency fix\n");

    let outcome = push_as(
        &remote,
        "dave",
        &["-o", "foureyes.break-glass=INC-123: database down", "main"],
    );

    accepted(&outcome);
    assert!(outcome.moved("refs/heads/main"));
    assert_says(
        &outcome,
        "refs/heads/main: accepted by break-glass under rule \"main\"; the bypass was recorded in the audit log",
    );
    assert_says(&outcome, "reason: INC-123: database down");
    let record = only_record(&daemon, "refs/heads/main");
    assert_eq!(record.priority, PRIORITY_ALERT, "{}", record.raw);
    assert_eq!(record.get("decision"), Some("accept"));
    assert_eq!(record.get("break_glass"), Some("main=used"));
    assert_eq!(
        record.get("break_glass_reason"),
        Some("INC-123: database down")
    );
    let bypassed = record.get("bypassed").unwrap_or_default();
    assert!(bypassed.contains(&id), "{bypassed}");
    assert!(
        bypassed.contains("has 0 of 1 required reviewers"),
        "{bypassed}"
    );
}

#[test]
fn break_glass_allows_force_push() {
    let daemon = Daemon::start(&break_glass_config());
    let remote = daemon.remote("glass-force");
    allow_push_options(&remote);
    remote.commit("main", ERIN, &reviewed("Reviewed base", &[ALICE]));
    accepted(&push_as(&remote, "dave", &["main"]));
    let rewritten = remote.commit_tree(&[], ERIN, "Rewritten history\n");
    remote.git(&["update-ref", "refs/heads/main", &rewritten]);

    let outcome = push_as(
        &remote,
        "dave",
        &[
            "-o",
            "foureyes.break-glass=INC-7: bad commit leaked",
            "+main",
        ],
    );

    accepted(&outcome);
    assert_eq!(
        outcome.after.get("refs/heads/main").map(String::as_str),
        Some(rewritten.as_str())
    );
    let records = daemon.records_for("refs/heads/main");
    let record = records.last().expect("the force push has a record");
    assert_eq!(record.priority, PRIORITY_ALERT, "{}", record.raw);
    let bypassed = record.get("bypassed").unwrap_or_default();
    assert!(bypassed.contains("not a fast-forward"), "{bypassed}");
}

#[test]
fn break_glass_allows_delete() {
    let daemon = Daemon::start(&break_glass_config());
    let remote = daemon.remote("glass-delete");
    allow_push_options(&remote);
    remote.commit("hotfix", ERIN, &reviewed("Reviewed hotfix", &[ALICE]));
    accepted(&push_as(&remote, "dave", &["hotfix"]));

    let plain_delete = push_as(&remote, "dave", &[":hotfix"]);
    rejected(&plain_delete);
    assert_says(&plain_delete, "deleting refs/heads/hotfix is not allowed");

    let outcome = push_as(
        &remote,
        "dave",
        &["-o", "foureyes.break-glass=INC-9: wrong branch", ":hotfix"],
    );
    accepted(&outcome);
    assert!(!outcome.after.contains_key("refs/heads/hotfix"));
    let records = daemon.records_for("refs/heads/hotfix");
    let record = records.last().expect("the delete has a record");
    assert_eq!(record.priority, PRIORITY_ALERT, "{}", record.raw);
    assert_eq!(record.get("new"), Some(ZERO_ID));
}

#[test]
fn break_glass_by_other_pusher_rejected() {
    let daemon = Daemon::start(&break_glass_config());
    let remote = daemon.remote("glass-refused");
    allow_push_options(&remote);
    remote.commit("main", ALICE, "Emergency fix\n");

    let outcome = push_as(
        &remote,
        "erin",
        &["-o", "foureyes.break-glass=INC-123: database down", "main"],
    );

    rejected(&outcome);
    assert!(!outcome.moved("refs/heads/main"));
    assert_says(
        &outcome,
        "break-glass rejected: pusher erin is not in break_glass_groups of rule \"main\" (release)",
    );
    let record = only_record(&daemon, "refs/heads/main");
    assert_eq!(record.priority, PRIORITY_REJECT, "{}", record.raw);
    assert_eq!(record.get("decision"), Some("reject"));
    assert_eq!(record.get("break_glass"), Some("main=rejected"));
    assert_eq!(
        record.get("break_glass_reason"),
        Some("INC-123: database down")
    );
}

#[test]
fn break_glass_rejected_when_not_needed_by_other_pusher() {
    let daemon = Daemon::start(&break_glass_config());
    let remote = daemon.remote("glass-unneeded");
    allow_push_options(&remote);
    remote.commit("main", ALICE, &reviewed("Reviewed change", &[BOB]));

    let outcome = push_as(
        &remote,
        "erin",
        &["-o", "foureyes.break-glass=INC-1", "main"],
    );

    rejected(&outcome);
    assert_says(&outcome, "break-glass rejected: pusher erin");
}

#[test]
fn break_glass_with_empty_reason_rejected() {
    let daemon = Daemon::start(&break_glass_config());
    let remote = daemon.remote("glass-empty");
    allow_push_options(&remote);
    remote.commit("main", ERIN, "Emergency fix\n");

    let outcome = push_as(&remote, "dave", &["-o", "foureyes.break-glass=  ", "main"]);

    rejected(&outcome);
    assert!(!outcome.moved("refs/heads/main"));
    assert_says(&outcome, "break-glass rejected: the reason is empty");
    let record = only_record(&daemon, "refs/heads/main");
    assert_eq!(record.priority, PRIORITY_REJECT, "{}", record.raw);
    assert_eq!(record.get("break_glass"), Some("main=rejected"));
    assert_eq!(record.get("break_glass_reason"), Some(""));
}

#[test]
fn break_glass_not_needed_is_recorded() {
    let daemon = Daemon::start(&break_glass_config());
    let remote = daemon.remote("glass-not-needed");
    allow_push_options(&remote);
    remote.commit("main", ERIN, &reviewed("Reviewed change", &[ALICE]));

    let outcome = push_as(
        &remote,
        "dave",
        &["-o", "foureyes.break-glass=INC-2", "main"],
    );

    accepted(&outcome);
    assert_says(&outcome, "break-glass not needed");
    let record = only_record(&daemon, "refs/heads/main");
    assert_eq!(record.priority, PRIORITY_ACCEPT, "{}", record.raw);
    assert_eq!(record.get("break_glass"), Some("main=not-needed"));
}

// --- Shadow mode -------------------------------------------------------------

#[test]
fn shadow_mode_accepts_and_records() {
    let config = organisation().rule(
        "main",
        &["refs/heads/main"],
        "min_reviewers = 2\nmode = \"shadow\"",
    );
    let daemon = Daemon::start(&config);
    let remote = daemon.remote("shadow");
    remote.commit("main", ERIN, &reviewed("Half reviewed", &[ALICE]));

    let outcome = remote.push(&["main"]);

    accepted(&outcome);
    assert!(outcome.moved("refs/heads/main"));
    assert_says(
        &outcome,
        "refs/heads/main: would be rejected by rule \"main\" (shadow mode: not enforced)",
    );
    let record = only_record(&daemon, "refs/heads/main");
    assert_eq!(record.priority, PRIORITY_ACCEPT, "{}", record.raw);
    assert_eq!(record.get("decision"), Some("accept"));
    assert_eq!(record.get("mode"), Some("shadow"));
    assert_eq!(record.get("shadow_decision"), Some("reject"));
    assert_eq!(record.get("rule_decisions"), Some("main=reject"));
}

#[test]
fn shadow_mode_shown_by_explain() {
    let root = tempfile::tempdir().expect("cannot create a temporary directory");
    let socket = root.path().join("unused.sock");
    let remote = Remote::new(root.path(), "shadow-explain", &socket);
    let id = remote.commit("main", ERIN, "Unreviewed\n");
    let config = root.path().join("foureyes.toml");
    let text = organisation()
        .rule(
            "main",
            &["refs/heads/main"],
            "min_reviewers = 1\nmode = \"shadow\"",
        )
        .to_toml(
            &socket,
            root.path(),
            &root.path().join("unused-syslog.sock"),
        );
    fs::write(&config, text).expect("cannot write the configuration");

    let output: Output = explain(
        &[
            "--config",
            config.to_str().expect("temporary paths are UTF-8"),
            "--repo",
            remote.work().to_str().expect("temporary paths are UTF-8"),
            "--pusher",
            "dave",
            ZERO_ID,
            &id,
            "refs/heads/main",
        ],
        "",
    );

    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("refs/heads/main: reject by rule \"main\" (shadow mode, not enforced)"),
        "{stdout}"
    );
    assert!(stdout.contains("decision: accept"), "{stdout}");
}

// --- Release tags ------------------------------------------------------------

fn release_config() -> Config {
    organisation()
        .rule("main", &["refs/heads/main"], "min_reviewers = 1")
        .rule(
            "release-tags",
            &["refs/tags/v*"],
            "min_reviewers = 0\ntarget_reachable_from = [\"refs/heads/main\"]\npusher_groups = [\"release\"]",
        )
}

#[test]
fn release_tag_off_main_rejected() {
    let daemon = Daemon::start(&release_config());
    let remote = daemon.remote("tag-off-main");
    remote.commit("main", ERIN, &reviewed("Reviewed base", &[ALICE]));
    accepted(&remote.push(&["main"]));
    let topic = remote.commit("topic", ERIN, &reviewed("Topic work", &[ALICE]));
    accepted(&remote.push(&["topic"]));
    remote.git(&["tag", "-a", "-m", "Release 1.0", "v1.0", &topic]);

    let outcome = push_as(&remote, "dave", &["refs/tags/v1.0"]);

    rejected(&outcome);
    assert!(!outcome.after.contains_key("refs/tags/v1.0"));
    assert_says(
        &outcome,
        &format!("{} is not reachable from refs/heads/main", &topic[..12]),
    );
}

#[test]
fn release_tag_on_main_accepted() {
    let daemon = Daemon::start(&release_config());
    let remote = daemon.remote("tag-on-main");
    let base = remote.commit("main", ERIN, &reviewed("Reviewed base", &[ALICE]));
    accepted(&remote.push(&["main"]));
    remote.git(&["tag", "-a", "-m", "Release 1.0", "v1.0", &base]);

    let outcome = push_as(&remote, "dave", &["refs/tags/v1.0"]);

    accepted(&outcome);
    assert!(outcome.after.contains_key("refs/tags/v1.0"));
    let record = only_record(&daemon, "refs/tags/v1.0");
    assert_eq!(record.get("rule"), Some("release-tags"));
    assert_eq!(record.get("decision"), Some("accept"));
}

#[test]
fn release_tag_on_main_of_same_push() {
    let daemon = Daemon::start(&release_config());
    let remote = daemon.remote("tag-same-push");
    let head = remote.commit("main", ERIN, &reviewed("Reviewed release", &[ALICE]));
    remote.git(&["tag", "-a", "-m", "Release 2.0", "v2.0", &head]);

    let outcome = push_as(&remote, "dave", &["main", "refs/tags/v2.0"]);

    accepted(&outcome);
    assert!(outcome.moved("refs/heads/main"));
    assert!(outcome.after.contains_key("refs/tags/v2.0"));
}

#[test]
fn release_tag_by_other_pusher_rejected() {
    let daemon = Daemon::start(&release_config());
    let remote = daemon.remote("tag-pusher");
    let base = remote.commit("main", ERIN, &reviewed("Reviewed base", &[ALICE]));
    accepted(&remote.push(&["main"]));
    remote.git(&["tag", "v1.0", &base]);

    let outcome = push_as(&remote, "erin", &["refs/tags/v1.0"]);

    rejected(&outcome);
    assert_says(
        &outcome,
        "pusher erin is not in pusher_groups of rule \"release-tags\" (release)",
    );
}
