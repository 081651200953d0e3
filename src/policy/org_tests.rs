//! Table tests for the organisation features of `judge_commit` and the
//! push options: quotas, path rules, bots, reviewer groups, the pusher as
//! author, and break-glass requests.

use std::path::Path;

use super::*;
use crate::config;

/// bob is in core and security, and ci is a bot.
const CONFIG: &str = r#"
    [groups]
    core = ["alice", "bob", "carol"]
    security = ["bob", "sam"]
    release = ["dave"]

    [[person]]
    id = "alice"
    emails = ["alice@example.com"]
    [[person]]
    id = "bob"
    emails = ["bob@example.com"]
    [[person]]
    id = "carol"
    emails = ["carol@example.com"]
    [[person]]
    id = "dave"
    emails = ["dave@example.com"]
    [[person]]
    id = "sam"
    emails = ["sam@example.com"]
    [[person]]
    id = "ci"
    emails = ["ci@example.com"]
    bot = true

    [[rule]]
    name = "quotas"
    refs = ["refs/heads/quotas"]
    min_reviewers = 1
    require = [{ group = "security", count = 1 }, { group = "core", count = 1 }]

    [[rule]]
    name = "paths"
    refs = ["refs/heads/paths"]
    min_reviewers = 1
    [[rule.paths]]
    patterns = ["crypto/**", "auth/**"]
    require = [{ group = "security", count = 1 }]
    [[rule.paths]]
    patterns = ["*.md"]
    require = [{ group = "core", count = 1 }]

    [[rule]]
    name = "groups"
    refs = ["refs/heads/groups"]
    min_reviewers = 1
    reviewer_groups = ["core"]

    [[rule]]
    name = "release"
    refs = ["refs/heads/release"]
    min_reviewers = 1
    pusher_may_be_author = false
"#;

fn config() -> Config {
    config::parse(CONFIG, Path::new("policy-test.toml")).expect("the test configuration is valid")
}

fn rule<'c>(config: &'c Config, name: &str) -> &'c Rule {
    config
        .rules
        .iter()
        .find(|rule| rule.name == name)
        .expect("the test configuration has this rule")
}

fn commit(author: &str, trailers: &[&str]) -> CommitData {
    let mut message = String::from("Change something\n\nBody.\n");
    if !trailers.is_empty() {
        message.push('\n');
        for trailer in trailers {
            message.push_str(trailer);
            message.push('\n');
        }
    }
    CommitData {
        id: ObjectId::null(gix::hash::Kind::Sha1),
        tree: ObjectId::empty_tree(gix::hash::Kind::Sha1),
        parents: Vec::new(),
        author_email: format!("{author}@example.com"),
        message,
        message_truncated: false,
    }
}

fn reviewed_by(id: &str) -> String {
    format!("Reviewed-by: {id} <{id}@example.com>")
}

/// One `judge_commit` case.
struct Case {
    name: &'static str,
    rule: &'static str,
    author: &'static str,
    reviewers: &'static [&'static str],
    pusher: Option<&'static str>,
    /// Paths the commit changes.
    paths: &'static [&'static str],
    accepted: bool,
    /// Each must be part of one problem.
    problems: &'static [&'static str],
    counted: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        name: "bob and alice fill security and core",
        rule: "quotas",
        author: "carol",
        reviewers: &["bob", "alice"],
        pusher: None,
        paths: &[],
        accepted: true,
        problems: &[],
        counted: &["alice", "bob"],
    },
    Case {
        name: "bob alone cannot fill security and core",
        rule: "quotas",
        author: "carol",
        reviewers: &["bob"],
        pusher: None,
        paths: &[],
        accepted: false,
        problems: &[
            "needs 1 more reviewer from group core (bob fills the slot of group security; each person fills one slot)",
        ],
        counted: &["bob"],
    },
    Case {
        name: "sam and carol fill both quotas",
        rule: "quotas",
        author: "alice",
        reviewers: &["carol", "sam"],
        pusher: None,
        paths: &[],
        accepted: true,
        problems: &[],
        counted: &["carol", "sam"],
    },
    Case {
        name: "no security member at all",
        rule: "quotas",
        author: "bob",
        reviewers: &["alice", "carol"],
        pusher: None,
        paths: &[],
        accepted: false,
        problems: &["needs 1 more reviewer from group security"],
        counted: &["alice", "carol"],
    },
    Case {
        name: "path rule applies to crypto change",
        rule: "paths",
        author: "carol",
        reviewers: &["alice"],
        pusher: None,
        paths: &["crypto/aes/impl.c"],
        accepted: false,
        problems: &["needs 1 more reviewer from group security for changes to crypto/**, auth/**"],
        counted: &["alice"],
    },
    Case {
        name: "path rule does not apply to other change",
        rule: "paths",
        author: "carol",
        reviewers: &["alice"],
        pusher: None,
        paths: &["src/main.rs", "docs/guide.md"],
        accepted: true,
        problems: &[],
        counted: &["alice"],
    },
    Case {
        name: "path rule satisfied by security member",
        rule: "paths",
        author: "carol",
        reviewers: &["sam"],
        pusher: None,
        paths: &["auth/login.rs"],
        accepted: true,
        problems: &[],
        counted: &["sam"],
    },
    Case {
        name: "two path entries need two people",
        rule: "paths",
        author: "carol",
        reviewers: &["bob"],
        pusher: None,
        paths: &["auth/login.rs", "README.md"],
        accepted: false,
        problems: &["needs 1 more reviewer from group"],
        counted: &["bob"],
    },
    Case {
        name: "two path entries filled by bob and alice",
        rule: "paths",
        author: "carol",
        reviewers: &["bob", "alice"],
        pusher: None,
        paths: &["auth/login.rs", "README.md"],
        accepted: true,
        problems: &[],
        counted: &["alice", "bob"],
    },
    Case {
        name: "bot reviewer never counts",
        rule: "groups",
        author: "carol",
        reviewers: &["ci"],
        pusher: None,
        paths: &[],
        accepted: false,
        problems: &["has 0 of 1 required reviewers"],
        counted: &[],
    },
    Case {
        name: "reviewer outside reviewer_groups",
        rule: "groups",
        author: "carol",
        reviewers: &["sam"],
        pusher: None,
        paths: &[],
        accepted: false,
        problems: &["has 0 of 1 required reviewers"],
        counted: &[],
    },
    Case {
        name: "reviewer inside reviewer_groups",
        rule: "groups",
        author: "carol",
        reviewers: &["sam", "bob"],
        pusher: None,
        paths: &[],
        accepted: true,
        problems: &[],
        counted: &["bob"],
    },
    Case {
        name: "pusher is the author",
        rule: "release",
        author: "dave",
        reviewers: &["alice"],
        pusher: Some("dave"),
        paths: &[],
        accepted: false,
        problems: &["the pusher (dave) is the author of this commit"],
        counted: &["alice"],
    },
    Case {
        name: "pusher is not the author",
        rule: "release",
        author: "carol",
        reviewers: &["alice"],
        pusher: Some("dave"),
        paths: &[],
        accepted: true,
        problems: &[],
        counted: &["alice"],
    },
];

#[test]
fn judge_commit_table() {
    let config = config();
    for case in CASES {
        let rule = rule(&config, case.rule);
        let trailers: Vec<String> = case.reviewers.iter().map(|id| reviewed_by(id)).collect();
        let trailers: Vec<&str> = trailers.iter().map(String::as_str).collect();
        let pusher = case.pusher.map(|id| Who::Person(id.to_owned()));
        let matched = matching_path_rules(rule, case.paths.iter().copied());
        let verdict = judge_commit(
            &config,
            rule,
            &commit(case.author, &trailers),
            pusher.as_ref(),
            &matched,
        );
        assert_eq!(
            verdict.accepted, case.accepted,
            "{}: {:?}",
            case.name, verdict.problems
        );
        assert_eq!(verdict.reviewers, case.counted, "{}", case.name);
        for expected in case.problems {
            assert!(
                verdict
                    .problems
                    .iter()
                    .any(|problem| problem.contains(expected)),
                "{}: no problem contains {expected:?} in {:?}",
                case.name,
                verdict.problems
            );
        }
    }
}

#[test]
fn judge_commit_names_bot() {
    let config = config();
    let trailer = reviewed_by("ci");
    let verdict = judge_commit(
        &config,
        rule(&config, "quotas"),
        &commit("carol", &[&trailer]),
        None,
        &[],
    );
    assert_eq!(verdict.not_counted.len(), 1);
    assert_eq!(verdict.not_counted[0].reason, NotCountedReason::Bot);
    assert_eq!(verdict.not_counted[0].reason.describe(), "a bot account");
}

#[test]
fn judge_commit_pusher_coauthor() {
    let config = config();
    let trailers = [
        reviewed_by("alice"),
        "Co-authored-by: Dave <dave@example.com>".to_owned(),
    ];
    let trailers: Vec<&str> = trailers.iter().map(String::as_str).collect();
    let pusher = Who::Person("dave".to_owned());
    let verdict = judge_commit(
        &config,
        rule(&config, "release"),
        &commit("carol", &trailers),
        Some(&pusher),
        &[],
    );
    assert!(!verdict.accepted);
    assert_eq!(verdict.problems.len(), 1);
    assert!(
        verdict.problems[0].contains("the pusher (dave) is a co-author"),
        "{:?}",
        verdict.problems
    );
}

#[test]
fn judge_commit_reports_quota_fills() {
    let config = config();
    let trailers = [reviewed_by("bob"), reviewed_by("alice")];
    let trailers: Vec<&str> = trailers.iter().map(String::as_str).collect();
    let rule = rule(&config, "paths");
    let verdict = judge_commit(&config, rule, &commit("carol", &trailers), None, &[0, 1]);
    let fills: Vec<(&str, Vec<String>)> = verdict
        .quotas
        .iter()
        .map(|quota| (quota.group.as_str(), quota.filled_by.clone()))
        .collect();
    assert_eq!(
        fills,
        [
            ("security", vec!["bob".to_owned()]),
            ("core", vec!["alice".to_owned()])
        ]
    );
    assert_eq!(
        verdict.quotas[0].paths,
        Some(vec!["crypto/**".to_owned(), "auth/**".to_owned()])
    );
}

#[test]
fn matching_path_rules_table() {
    let config = config();
    let rule = rule(&config, "paths");
    let cases: &[(&[&str], &[usize])] = &[
        (&[], &[]),
        (&["src/main.rs"], &[]),
        (&["crypto/aes.c"], &[0]),
        (&["crypto/aes/impl.c"], &[0]),
        (&["auth"], &[]),
        (&["src/auth/login.rs"], &[]),
        (&["README.md"], &[1]),
        (&["docs/README.md"], &[]),
        (&["README.md", "auth/x"], &[0, 1]),
    ];
    for (paths, expected) in cases {
        let matched = matching_path_rules(rule, paths.iter().copied());
        assert_eq!(matched, *expected, "paths {paths:?}");
    }
}

#[test]
fn break_glass_reason_table() {
    let cases: &[(&[&str], Option<&str>)] = &[
        (&[], None),
        (&["ci.skip"], None),
        (
            &["foureyes.break-glass=INC-1: db down"],
            Some("INC-1: db down"),
        ),
        (&["foureyes.break-glass=  INC-1  "], Some("INC-1")),
        (&["foureyes.break-glass="], Some("")),
        (&["foureyes.break-glass"], Some("")),
        (&["foureyes.break-glass=   "], Some("")),
        (&["foureyes.break-glassy=INC-1"], None),
        (&["FOUREYES.BREAK-GLASS=INC-1"], None),
        (
            &["foureyes.break-glass=a", "foureyes.break-glass=b"],
            Some("a; b"),
        ),
        (
            &["foureyes.break-glass=", "foureyes.break-glass=b"],
            Some("b"),
        ),
        (&["foureyes.break-glass=x=y"], Some("x=y")),
    ];
    for (options, expected) in cases {
        let options: Vec<String> = options.iter().map(|option| option.to_string()).collect();
        let reason = break_glass_reason(&options);
        assert_eq!(reason.as_deref(), *expected, "options {options:?}");
    }
}
