//! Table tests for `judge_commit`: identity resolution and reviewer counting.

use std::path::Path;

use super::*;
use crate::config;

const PEOPLE: &str = r#"
[[person]]
id = "alice"
emails = ["alice@example.com", "alice@users.example.org"]
usernames = ["alice"]

[[person]]
id = "bob"
emails = ["bob@example.com", "Bob.Old@Example.org"]
usernames = ["bob"]

[[person]]
id = "carol"
emails = ["carol@example.com"]
usernames = ["carol"]

[[person]]
id = "dave"
emails = ["dave@example.com"]
usernames = ["dave"]
"#;

fn config_with(rule: &str) -> Config {
    let text =
        format!("{PEOPLE}\n[[rule]]\nname = \"main\"\nrefs = [\"refs/heads/main\"]\n{rule}\n");
    config::parse(&text, Path::new("test.toml")).unwrap_or_else(|err| panic!("{err}"))
}

fn commit(author: &str, message: &str) -> CommitData {
    CommitData {
        id: ObjectId::null(gix::hash::Kind::Sha1),
        tree: ObjectId::empty_tree(gix::hash::Kind::Sha1),
        parents: Vec::new(),
        author_email: author.to_owned(),
        message: message.to_owned(),
        message_truncated: false,
    }
}

struct Case {
    name: &'static str,
    rule: &'static str,
    author: &'static str,
    pusher: Option<&'static str>,
    message: &'static str,
    accepted: bool,
    reviewers: &'static [&'static str],
    not_counted: Vec<NotCountedReason>,
}

fn cases() -> Vec<Case> {
    use NotCountedReason as R;
    vec![
        Case {
            name: "two distinct reviewers",
            rule: "min_reviewers = 2",
            author: "alice@example.com",
            pusher: Some("alice"),
            message: "Fix\n\nReviewed-by: Bob <bob@example.com>\nReviewed-by: Carol <carol@example.com>\n",
            accepted: true,
            reviewers: &["bob", "carol"],
            not_counted: vec![],
        },
        Case {
            name: "one of two reviewers",
            rule: "min_reviewers = 2",
            author: "alice@example.com",
            pusher: Some("alice"),
            message: "Fix\n\nReviewed-by: Bob <bob@example.com>\n",
            accepted: false,
            reviewers: &["bob"],
            not_counted: vec![],
        },
        Case {
            name: "same person under two addresses",
            rule: "min_reviewers = 2",
            author: "alice@example.com",
            pusher: Some("alice"),
            message: "Fix\n\nReviewed-by: Bob <bob@example.com>\nReviewed-by: Bob <bob.old@example.org>\n",
            accepted: false,
            reviewers: &["bob"],
            not_counted: vec![R::Duplicate],
        },
        Case {
            name: "address case ignored",
            rule: "min_reviewers = 1",
            author: "alice@example.com",
            pusher: Some("alice"),
            message: "Fix\n\nReviewed-by: BOB <BOB@EXAMPLE.COM>\n",
            accepted: true,
            reviewers: &["bob"],
            not_counted: vec![],
        },
        Case {
            name: "key case ignored",
            rule: "min_reviewers = 1",
            author: "alice@example.com",
            pusher: Some("alice"),
            message: "Fix\n\nreviewed-BY: Bob <bob@example.com>\n",
            accepted: true,
            reviewers: &["bob"],
            not_counted: vec![],
        },
        Case {
            name: "author under another address",
            rule: "min_reviewers = 1",
            author: "alice@example.com",
            pusher: Some("bob"),
            message: "Fix\n\nReviewed-by: Alice <alice@users.example.org>\n",
            accepted: false,
            reviewers: &[],
            not_counted: vec![R::Author],
        },
        Case {
            name: "co-authors never count",
            rule: "min_reviewers = 1",
            author: "alice@example.com",
            pusher: Some("alice"),
            message: "Fix\n\nCo-authored-by: Bob <bob@example.com>\nCo-developed-by: Carol <carol@example.com>\nReviewed-by: Bob <bob@example.com>\nReviewed-by: Carol <carol@example.com>\n",
            accepted: false,
            reviewers: &[],
            not_counted: vec![R::CoAuthor, R::CoAuthor],
        },
        Case {
            name: "pusher never counts",
            rule: "min_reviewers = 1",
            author: "alice@example.com",
            pusher: Some("bob"),
            message: "Fix\n\nReviewed-by: Bob <bob@example.com>\n",
            accepted: false,
            reviewers: &[],
            not_counted: vec![R::Pusher],
        },
        Case {
            name: "pusher counts when allowed",
            rule: "min_reviewers = 1\nreviewer_may_be_pusher = true",
            author: "alice@example.com",
            pusher: Some("bob"),
            message: "Fix\n\nReviewed-by: Bob <bob@example.com>\n",
            accepted: true,
            reviewers: &["bob"],
            not_counted: vec![],
        },
        Case {
            name: "unknown address ignored",
            rule: "min_reviewers = 1",
            author: "alice@example.com",
            pusher: Some("alice"),
            message: "Fix\n\nReviewed-by: Eve <eve@example.net>\n",
            accepted: false,
            reviewers: &[],
            not_counted: vec![R::Unknown],
        },
        Case {
            name: "unknown address counted",
            rule: "min_reviewers = 1\nunknown_reviewers = \"count\"",
            author: "alice@example.com",
            pusher: Some("alice"),
            message: "Fix\n\nReviewed-by: Eve <Eve@Example.net>\n",
            accepted: true,
            reviewers: &["eve@example.net"],
            not_counted: vec![],
        },
        Case {
            name: "value without address",
            rule: "min_reviewers = 1",
            author: "alice@example.com",
            pusher: Some("alice"),
            message: "Fix\n\nReviewed-by: Bob\n",
            accepted: false,
            reviewers: &[],
            not_counted: vec![R::NoAddress],
        },
        Case {
            name: "prose hides the trailer block",
            rule: "min_reviewers = 1",
            author: "alice@example.com",
            pusher: Some("alice"),
            message: "Fix\n\nReviewed-by: Bob <bob@example.com>\nthanks for the review\n",
            accepted: false,
            reviewers: &[],
            not_counted: vec![R::NotInTrailerBlock],
        },
        Case {
            name: "lookalike of a known address",
            rule: "min_reviewers = 1\nunknown_reviewers = \"count\"",
            author: "alice@example.com",
            pusher: Some("alice"),
            message: "Fix\n\nReviewed-by: Bob <b\u{43e}b@example.com>\n",
            accepted: false,
            reviewers: &[],
            not_counted: vec![R::Lookalike("bob@example.com".into())],
        },
        Case {
            name: "lookalike of a counted unknown",
            rule: "min_reviewers = 2\nunknown_reviewers = \"count\"",
            author: "alice@example.com",
            pusher: Some("alice"),
            message: "Fix\n\nReviewed-by: Eve <eve@example.net>\nReviewed-by: Eve <\u{435}ve@example.net>\n",
            accepted: false,
            reviewers: &["eve@example.net"],
            not_counted: vec![R::Lookalike("eve@example.net".into())],
        },
        Case {
            name: "lookalike of an unknown author",
            rule: "min_reviewers = 1\nunknown_reviewers = \"count\"",
            author: "mallory@example.net",
            pusher: Some("alice"),
            message: "Fix\n\nReviewed-by: M <rnallory@example.net>\n",
            accepted: false,
            reviewers: &[],
            not_counted: vec![R::Lookalike("mallory@example.net".into())],
        },
        Case {
            name: "zero reviewers required",
            rule: "min_reviewers = 0",
            author: "alice@example.com",
            pusher: Some("alice"),
            message: "Fix\n",
            accepted: true,
            reviewers: &[],
            not_counted: vec![],
        },
    ]
}

#[test]
fn judge_commit_table() {
    for case in cases() {
        let config = config_with(case.rule);
        let rule = &config.rules[0];
        let pusher = case
            .pusher
            .and_then(|name| config.people.by_username(name))
            .map(|person| Who::Person(person.id.clone()));
        let verdict = judge_commit(
            &config,
            rule,
            &commit(case.author, case.message),
            pusher.as_ref(),
            &[],
        );
        assert_eq!(verdict.accepted, case.accepted, "{}: accepted", case.name);
        assert_eq!(
            verdict.reviewers, case.reviewers,
            "{}: reviewers",
            case.name
        );
        let reasons: Vec<NotCountedReason> = verdict
            .not_counted
            .iter()
            .map(|skipped| skipped.reason.clone())
            .collect();
        assert_eq!(reasons, case.not_counted, "{}: reasons", case.name);
    }
}

#[test]
fn judge_commit_truncated_message_fails() {
    let config = config_with("min_reviewers = 0");
    let mut data = commit("alice@example.com", "Fix\n");
    data.message_truncated = true;
    let verdict = judge_commit(&config, &config.rules[0], &data, None, &[]);
    assert!(!verdict.accepted);
    assert!(
        verdict.problems[0].contains("max_message_bytes"),
        "{:?}",
        verdict.problems
    );
}
