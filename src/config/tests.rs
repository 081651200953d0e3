use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use super::*;

/// Removes the first line break and the indentation common to all non-blank
/// lines, so that test files can be written indented.
fn dedent(text: &str) -> String {
    let text = text.strip_prefix('\n').unwrap_or(text);
    let indent = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.len() - line.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut out = String::new();
    for line in text.lines() {
        out.push_str(line.get(indent..).unwrap_or(""));
        out.push('\n');
    }
    out
}

fn parse_text(text: &str) -> Result<Config, ConfigError> {
    parse(&dedent(text), Path::new("test.toml"))
}

fn parse_ok(text: &str) -> Config {
    match parse_text(text) {
        Ok(config) => config,
        Err(err) => panic!("expected a valid configuration, got:\n{err}"),
    }
}

fn parse_err(text: &str) -> ConfigError {
    match parse_text(text) {
        Ok(_) => panic!("expected an error for:\n{}", dedent(text)),
        Err(err) => err,
    }
}

const EXAMPLE: &str = include_str!("../../config/foureyes.toml");

#[test]
fn example_file_parses() {
    let config = match parse(EXAMPLE, Path::new("config/foureyes.toml")) {
        Ok(config) => config,
        Err(err) => panic!("the example configuration is invalid:\n{err}"),
    };
    assert_eq!(config.people.len(), 6);
    assert_eq!(config.rules.len(), 2);
    assert_eq!(config.rules[0].name, "mainline");
    assert_eq!(config.rules[0].paths.len(), 1);
    assert_eq!(config.path, Path::new("config/foureyes.toml"));
}

/// The example documents every default, so its settings must equal those of
/// a file that sets nothing.
#[test]
fn example_file_shows_defaults() {
    let example = parse(EXAMPLE, Path::new("example.toml")).expect("the example is valid");
    let empty = parse_ok("");
    assert_eq!(example.daemon, empty.daemon);
    assert_eq!(example.limits, empty.limits);
    assert_eq!(example.syslog.socket, empty.syslog.socket);
    assert_eq!(example.syslog.facility as i32, empty.syslog.facility as i32);
    assert_eq!(example.syslog.ident, empty.syslog.ident);
    assert_eq!(example.syslog.on_failure, empty.syslog.on_failure);
    assert_eq!(example.pusher, empty.pusher);
    assert_eq!(example.messages, empty.messages);

    // The first rule writes every key with its default, except the keys
    // that have no default or whose example value differs.
    let written = &example.rules[0];
    let defaults = parse_ok(
        r#"
        [[person]]
        id = "alice"
        [[rule]]
        name = "defaults"
        refs = ["refs/heads/main"]
        "#,
    );
    let defaults = &defaults.rules[0];
    assert_eq!(written.repo_patterns, defaults.repo_patterns);
    assert_eq!(written.min_reviewers, defaults.min_reviewers);
    assert_eq!(written.review_trailers, defaults.review_trailers);
    assert_eq!(written.coauthor_trailers, defaults.coauthor_trailers);
    assert_eq!(written.unknown_reviewers, defaults.unknown_reviewers);
    assert_eq!(
        written.reviewer_may_be_pusher,
        defaults.reviewer_may_be_pusher
    );
    assert_eq!(written.allow_force_push, defaults.allow_force_push);
    assert_eq!(written.allow_delete, defaults.allow_delete);
    assert_eq!(written.scope, defaults.scope);
    assert_eq!(written.pusher_may_be_author, defaults.pusher_may_be_author);
    assert_eq!(written.break_glass_groups, defaults.break_glass_groups);
    assert_eq!(written.mode, defaults.mode);
    assert_eq!(
        written.target_reachable_from,
        defaults.target_reachable_from
    );
}

#[test]
fn defaults_fill_empty_file() {
    let config = parse_ok("");
    assert_eq!(
        config.daemon.socket,
        Path::new("/run/foureyes/foureyes.sock")
    );
    assert_eq!(config.daemon.repo_roots, [Path::new("/srv/git")]);
    assert!(config.daemon.allowed_uids.is_empty());
    assert_eq!(config.daemon.socket_mode, 0o660);

    assert_eq!(config.limits.max_request_bytes, 16 * 1024 * 1024);
    assert_eq!(config.limits.max_refs, 50_000);
    assert_eq!(config.limits.max_commits, 1_000_000);
    assert_eq!(config.limits.max_message_bytes, 1024 * 1024);
    assert!(config.limits.max_concurrent_checks >= 1);
    assert_eq!(config.limits.max_queued_checks, 128);
    assert_eq!(config.limits.deadline, Duration::from_millis(4000));
    assert_eq!(config.limits.idle_timeout, Duration::from_millis(2000));

    assert_eq!(config.syslog.socket, Path::new("/dev/log"));
    assert_eq!(
        config.syslog.facility as i32,
        syslog::Facility::LOG_AUTHPRIV as i32
    );
    assert_eq!(config.syslog.ident, "foureyes");
    assert_eq!(config.syslog.on_failure, OnFailure::Reject);
    assert_eq!(
        config.pusher.env,
        ["GL_USERNAME", "GITEA_PUSHER_NAME", "GL_USER", "REMOTE_USER"]
    );
    assert_eq!(config.messages.style, MessageStyle::Plain);

    assert!(config.people.is_empty());
    assert_eq!(config.groups.names().count(), 0);
    assert!(config.rules.is_empty());
}

/// Every key set to a value other than its default, and read back.
#[test]
fn good_config_round_trip() {
    let config = parse_ok(
        r#"
        [daemon]
        socket = "/tmp/fe/fe.sock"
        repo_roots = ["/srv/git", "/var/lib/gitea/repos"]
        allowed_uids = [998, 999]
        socket_mode = "0600"

        [limits]
        max_request_bytes = 1000
        max_refs = 10
        max_commits = 20
        max_message_bytes = 30
        max_concurrent_checks = 3
        max_queued_checks = 0
        deadline_ms = 1500
        idle_timeout_ms = 500

        [syslog]
        socket = "/tmp/fe/log"
        facility = "local3"
        ident = "fe-test"
        on_failure = "accept"

        [pusher]
        env = ["MY_USER"]

        [messages]
        style = "gitlab"

        [groups]
        core = ["alice", "bob"]
        security = ["bob", "sam"]
        release = ["dave"]

        [[person]]
        id = "alice"
        emails = ["Alice@Example.COM"]
        usernames = ["Alice"]

        [[person]]
        id = "bob"
        emails = ["bob@example.com"]

        [[person]]
        id = "sam"
        emails = ["sam@example.com"]

        [[person]]
        id = "dave"
        usernames = ["dave"]

        [[person]]
        id = "ci"
        emails = ["ci@example.com"]
        bot = true

        [[rule]]
        name = "main"
        refs = ["refs/heads/main"]
        repos = ["team/*"]
        min_reviewers = 2
        review_trailers = ["Reviewed-by", "Approved-by"]
        coauthor_trailers = ["Co-authored-by"]
        unknown_reviewers = "count"
        reviewer_may_be_pusher = true
        allow_force_push = true
        allow_delete = true
        scope = "first-parent"
        reviewer_groups = ["core", "security"]
        require = [{ group = "security", count = 1 }]
        pusher_groups = ["release"]
        pusher_may_be_author = false
        break_glass_groups = ["release"]
        mode = "shadow"
        target_reachable_from = ["refs/heads/develop"]

        [[rule.paths]]
        patterns = ["crypto/**"]
        require = [{ group = "core", count = 1 }]
        "#,
    );

    let daemon = &config.daemon;
    assert_eq!(daemon.socket, Path::new("/tmp/fe/fe.sock"));
    assert_eq!(
        daemon.repo_roots,
        [Path::new("/srv/git"), Path::new("/var/lib/gitea/repos")]
    );
    assert_eq!(daemon.allowed_uids, [998, 999]);
    assert_eq!(daemon.socket_mode, 0o600);

    let limits = &config.limits;
    assert_eq!(limits.max_request_bytes, 1000);
    assert_eq!(limits.max_refs, 10);
    assert_eq!(limits.max_commits, 20);
    assert_eq!(limits.max_message_bytes, 30);
    assert_eq!(limits.max_concurrent_checks, 3);
    assert_eq!(limits.max_queued_checks, 0);
    assert_eq!(limits.deadline, Duration::from_millis(1500));
    assert_eq!(limits.idle_timeout, Duration::from_millis(500));

    assert_eq!(config.syslog.socket, Path::new("/tmp/fe/log"));
    assert_eq!(
        config.syslog.facility as i32,
        syslog::Facility::LOG_LOCAL3 as i32
    );
    assert_eq!(config.syslog.ident, "fe-test");
    assert_eq!(config.syslog.on_failure, OnFailure::Accept);
    assert_eq!(config.pusher.env, ["MY_USER"]);
    assert_eq!(config.messages.style, MessageStyle::Gitlab);

    // Emails and usernames are stored in comparison form.
    let alice = config.people.get("alice").expect("alice is defined");
    assert_eq!(alice.emails, ["alice@example.com"]);
    assert_eq!(alice.usernames, ["alice"]);
    assert!(!alice.bot);
    assert!(config.people.get("ci").expect("ci is defined").bot);
    assert_eq!(config.people.len(), 5);
    let ids: Vec<&str> = config.people.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["alice", "bob", "sam", "dave", "ci"]);

    assert!(config.groups.contains("core", "bob"));
    assert!(!config.groups.contains("core", "sam"));
    assert!(!config.groups.contains("nonexistent", "bob"));
    let names: Vec<&str> = config.groups.names().collect();
    assert_eq!(names, ["core", "release", "security"]);
    let release = config
        .groups
        .members("release")
        .expect("release is defined");
    assert_eq!(release.iter().collect::<Vec<_>>(), ["dave"]);

    let rule = &config.rules[0];
    assert_eq!(rule.name, "main");
    assert_eq!(rule.ref_patterns, ["refs/heads/main"]);
    assert_eq!(rule.repo_patterns, ["team/*"]);
    assert_eq!(rule.min_reviewers, 2);
    assert_eq!(rule.review_trailers, ["Reviewed-by", "Approved-by"]);
    assert_eq!(rule.coauthor_trailers, ["Co-authored-by"]);
    assert_eq!(rule.unknown_reviewers, UnknownReviewers::Count);
    assert!(rule.reviewer_may_be_pusher);
    assert!(rule.allow_force_push);
    assert!(rule.allow_delete);
    assert_eq!(rule.scope, Scope::FirstParent);
    assert_eq!(
        rule.reviewer_groups.as_deref(),
        Some(&["core".to_string(), "security".to_string()][..])
    );
    let security_one = Quota {
        group: "security".to_string(),
        count: 1,
    };
    assert_eq!(rule.require, [security_one]);
    assert_eq!(
        rule.pusher_groups.as_deref(),
        Some(&["release".to_string()][..])
    );
    assert!(!rule.pusher_may_be_author);
    assert_eq!(rule.break_glass_groups, ["release"]);
    assert_eq!(rule.mode, Mode::Shadow);
    assert_eq!(rule.target_reachable_from, ["refs/heads/develop"]);
    assert_eq!(rule.paths.len(), 1);
    assert_eq!(rule.paths[0].patterns, ["crypto/**"]);
    let core_one = Quota {
        group: "core".to_string(),
        count: 1,
    };
    assert_eq!(rule.paths[0].require, [core_one]);
}

#[test]
fn max_concurrent_checks_zero_means_cpus() {
    let config = parse_ok("[limits]\nmax_concurrent_checks = 0\n");
    let cpus = std::thread::available_parallelism().map_or(1, |count| count.get());
    assert_eq!(config.limits.max_concurrent_checks, cpus);
}

#[test]
fn people_lookup_normalizes() {
    let config = parse_ok(
        r#"
        [[person]]
        id = "alice"
        emails = ["Alice@Example.com"]
        usernames = ["AliceL"]
        [[person]]
        id = "rene"
        emails = ["rene@example.com"]
        usernames = ["Ren\u00e9"]
        "#,
    );
    let people = &config.people;
    let found = |address: &str| {
        people
            .by_email(&identity::Address::new(address))
            .map(|person| person.id.as_str())
    };
    assert_eq!(found("alice@example.com"), Some("alice"));
    assert_eq!(found("ALICE@EXAMPLE.COM"), Some("alice"));
    assert_eq!(found("bob@example.com"), None);
    let by_name = |name: &str| people.by_username(name).map(|person| person.id.as_str());
    assert_eq!(by_name("alicel"), Some("alice"));
    assert_eq!(by_name("ALICEL"), Some("alice"));
    // "e" plus a combining acute accent is the same name as "é".
    assert_eq!(by_name("Rene\u{301}"), Some("rene"));
    assert_eq!(by_name("rene"), None);
    assert_eq!(people.get("alice").map(|p| p.id.as_str()), Some("alice"));
    assert!(people.get("Alice").is_none());
}

const RULES_FOR: &str = r#"
    [[person]]
    id = "alice"

    [[rule]]
    name = "main-everywhere"
    refs = ["refs/heads/main"]

    [[rule]]
    name = "release-trees"
    refs = ["refs/heads/release/*"]
    repos = ["team/*"]

    [[rule]]
    name = "tags-of-app"
    refs = ["refs/tags/v[0-9]*"]
    repos = ["App.git", "team/app.git"]

    [[rule]]
    name = "all-heads"
    refs = ["refs/heads/**"]
    repos = ["*.git"]
"#;

#[test]
fn rules_for_table() {
    let config = parse_ok(RULES_FOR);
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "x.git",
            "refs/heads/main",
            &["main-everywhere", "all-heads"],
        ),
        ("x", "refs/heads/main", &["main-everywhere"]),
        (
            "team/a.git",
            "refs/heads/release/1.0",
            &["release-trees", "all-heads"],
        ),
        // `*` also matches `/` in refs and in repos.
        (
            "team/a.git",
            "refs/heads/release/1.0/fix",
            &["release-trees", "all-heads"],
        ),
        (
            "team/sub/a.git",
            "refs/heads/release/1.0",
            &["release-trees", "all-heads"],
        ),
        ("other/a.git", "refs/heads/release/1.0", &["all-heads"]),
        (
            "nested/deep/x.git",
            "refs/heads/main",
            &["main-everywhere", "all-heads"],
        ),
        // A ref pattern matches the whole name, not a prefix.
        ("x", "refs/heads/main2", &[]),
        ("x", "refs/heads/mainline/x", &[]),
        ("team/a.git", "refs/heads/release", &["all-heads"]),
        ("App.git", "refs/tags/v1.0", &["tags-of-app"]),
        ("team/app.git", "refs/tags/v2", &["tags-of-app"]),
        ("App.git", "refs/tags/latest", &[]),
        // Repo globs are case-sensitive.
        ("app.git", "refs/tags/v1.0", &[]),
        ("Team/a.git", "refs/heads/release/1.0", &["all-heads"]),
        ("x.GIT", "refs/heads/feature", &[]),
    ];
    for (repo, refname, expected) in cases {
        let names: Vec<&str> = config
            .rules_for(repo, refname)
            .map(|rule| rule.name.as_str())
            .collect();
        assert_eq!(names, *expected, "repo {repo:?}, ref {refname:?}");
    }
}

#[test]
fn path_rule_globs() {
    let config = parse_ok(
        r#"
        [groups]
        security = ["alice"]
        [[person]]
        id = "alice"
        [[rule]]
        name = "main"
        refs = ["refs/heads/main"]
        [[rule.paths]]
        patterns = ["crypto/**", "keys/*.pem", "*.lock", "docs/**/secret.md"]
        require = [{ group = "security", count = 1 }]
        "#,
    );
    let paths = &config.rules[0].paths[0];
    let cases: &[(&str, bool)] = &[
        ("crypto/aes.c", true),
        ("crypto/aes/impl.c", true),
        ("crypto", false),
        ("src/crypto/aes.c", false),
        // `*` stays within one directory.
        ("keys/a.pem", true),
        ("keys/old/a.pem", false),
        ("Cargo.lock", true),
        ("sub/Cargo.lock", false),
        // `**` in the middle matches zero or more directories.
        ("docs/secret.md", true),
        ("docs/a/b/secret.md", true),
        ("docs/a/b/public.md", false),
        ("CRYPTO/aes.c", false),
    ];
    for (path, expected) in cases {
        assert_eq!(paths.matches(path), *expected, "path {path:?}");
    }
}

#[test]
fn needs_pusher_table() {
    // (extra keys, expected)
    let cases: &[(&str, bool)] = &[
        ("", true),
        ("reviewer_may_be_pusher = true", false),
        (
            "reviewer_may_be_pusher = true\npusher_groups = [\"core\"]",
            true,
        ),
        (
            "reviewer_may_be_pusher = true\npusher_may_be_author = false",
            true,
        ),
        (
            "reviewer_may_be_pusher = true\nbreak_glass_groups = [\"core\"]",
            true,
        ),
        ("reviewer_may_be_pusher = true\npusher_groups = []", true),
    ];
    for (extra, expected) in cases {
        let text = format!(
            "[groups]\ncore = [\"alice\"]\n[[person]]\nid = \"alice\"\n\
             [[rule]]\nname = \"r\"\nrefs = [\"refs/heads/main\"]\n{extra}\n"
        );
        let config = parse(&text, Path::new("test.toml")).expect("the case is valid");
        assert_eq!(config.rules[0].needs_pusher(), *expected, "keys {extra:?}");
    }
}

/// Configurations at the edge of the checks that must still load.
#[test]
fn valid_edge_cases() {
    let cases: &[(&str, &str)] = &[
        (
            "unknown reviewers can make up min_reviewers",
            r#"
            [[rule]]
            name = "r"
            refs = ["refs/heads/main"]
            min_reviewers = 3
            unknown_reviewers = "count"
            "#,
        ),
        (
            "min_reviewers may be lower than the quota slots",
            r#"
            [groups]
            security = ["a", "b"]
            [[person]]
            id = "a"
            [[person]]
            id = "b"
            [[rule]]
            name = "r"
            refs = ["refs/heads/main"]
            min_reviewers = 1
            require = [{ group = "security", count = 2 }]
            "#,
        ),
        (
            "a rule without reviewers needs no people",
            r#"
            [[rule]]
            name = "r"
            refs = ["refs/heads/main"]
            min_reviewers = 0
            "#,
        ),
        (
            "socket_mode with leading zeros",
            "[daemon]\nsocket_mode = \"000600\"\n",
        ),
        ("facility in capitals", "[syslog]\nfacility = \"LOCAL7\"\n"),
        (
            "ident with a dot and dash",
            "[syslog]\nident = \"four.eyes-d\"\n",
        ),
        (
            "env name with underscore first",
            "[pusher]\nenv = [\"_USER1\"]\n",
        ),
        (
            "max_queued_checks zero",
            "[limits]\nmax_queued_checks = 0\n",
        ),
        (
            "person id with dot, underscore and dash",
            r#"
            [[person]]
            id = "a.b_c-1"
            emails = ["a@example.com", "b@example.com"]
            "#,
        ),
    ];
    for (name, text) in cases {
        if let Err(err) = parse_text(text) {
            panic!("case {name:?} was rejected:\n{err}");
        }
    }
}

/// One bad configuration, the position of its only diagnostic and a
/// fragment of the message.
struct Bad {
    text: &'static str,
    line: usize,
    column: usize,
    fragment: &'static str,
}

const fn bad(text: &'static str, line: usize, column: usize, fragment: &'static str) -> Bad {
    Bad {
        text,
        line,
        column,
        fragment,
    }
}

/// A person and a group that rule cases can refer to.
const PEOPLE: &str = r#"
[groups]
core = ["alice", "bob"]
security = ["bob"]
nobody = []
[[person]]
id = "alice"
[[person]]
id = "bob"
"#;

/// Cases that start with a rule get `PEOPLE` (8 lines) prepended; their
/// line numbers count from the top of the combined text.
const BAD: &[Bad] = &[
    // TOML syntax and serde errors.
    bad(
        "[daemon\nsocket = \"/x\"\n",
        1,
        8,
        "unclosed table, expected `]`",
    ),
    bad("[deamon]\n", 1, 2, "unknown field `deamon`"),
    bad(
        "[daemon]\nsockett = \"/x\"\n",
        2,
        1,
        "unknown field `sockett`",
    ),
    bad(
        "[limits]\nmax_refs = \"many\"\n",
        2,
        12,
        "invalid type: string \"many\"",
    ),
    bad(
        "[daemon]\nallowed_uids = [-1]\n",
        2,
        17,
        "invalid value: integer `-1`",
    ),
    bad(
        "[[rule]]\nrefs = [\"refs/heads/main\"]\n",
        9,
        1,
        "missing field `name`",
    ),
    bad(
        "[[rule]]\nname = \"r\"\nrefs = [\"refs/heads/main\"]\nmin_reviewer = 2\n",
        12,
        1,
        "unknown field `min_reviewer`",
    ),
    bad(
        "[[rule]]\nname = \"r\"\nrefs = [\"refs/heads/main\"]\nrequire = [{ group = \"core\" }]\n",
        12,
        12,
        "missing field `count`",
    ),
    // [daemon]
    bad(
        "[daemon]\nsocket = \"run/fe.sock\"\n",
        2,
        10,
        "socket \"run/fe.sock\" is not an absolute path",
    ),
    bad(
        "[daemon]\nrepo_roots = [\"/srv\", \"git\"]\n",
        2,
        23,
        "repo root \"git\" is not an absolute path",
    ),
    bad("[daemon]\nrepo_roots = []\n", 2, 14, "repo_roots is empty"),
    bad(
        "[daemon]\nsocket_mode = \"0886\"\n",
        2,
        15,
        "socket_mode \"0886\" is not an octal number",
    ),
    bad(
        "[daemon]\nsocket_mode = \"\"\n",
        2,
        15,
        "socket_mode \"\" is not an octal number",
    ),
    bad(
        "[daemon]\nsocket_mode = \"1777\"\n",
        2,
        15,
        "socket_mode \"1777\" is greater than 0777",
    ),
    // [limits]
    bad(
        "[limits]\nmax_request_bytes = 0\n",
        2,
        21,
        "max_request_bytes is 0",
    ),
    bad("[limits]\nmax_refs = 0\n", 2, 12, "max_refs is 0"),
    bad("[limits]\nmax_commits = 0\n", 2, 15, "max_commits is 0"),
    bad(
        "[limits]\nmax_message_bytes = 0\n",
        2,
        21,
        "max_message_bytes is 0",
    ),
    bad(
        "[limits]\ndeadline_ms = 0\n",
        2,
        15,
        "deadline_ms is 0, so every request would time out",
    ),
    bad(
        "[limits]\nidle_timeout_ms = 0\n",
        2,
        19,
        "idle_timeout_ms is 0",
    ),
    // [syslog]
    bad(
        "[syslog]\nfacility = \"securty\"\n",
        2,
        12,
        "invalid facility \"securty\"",
    ),
    bad("[syslog]\nident = \"\"\n", 2, 9, "ident is empty"),
    bad(
        "[syslog]\nident = \"four eyes\"\n",
        2,
        9,
        "ident \"four eyes\" contains whitespace",
    ),
    bad(
        "[syslog]\nident = \"fe[1]\"\n",
        2,
        9,
        "ident \"fe[1]\" contains",
    ),
    bad(
        "[syslog]\nident = \"fe:\"\n",
        2,
        9,
        "ident \"fe:\" contains",
    ),
    bad(
        "[syslog]\non_failure = \"ignore\"\n",
        2,
        14,
        "invalid on_failure \"ignore\"; use \"reject\" or \"accept\"",
    ),
    bad(
        "[syslog]\nsocket = \"dev/log\"\n",
        2,
        10,
        "syslog socket \"dev/log\" is not an absolute path",
    ),
    // [pusher] and [messages]
    bad(
        "[pusher]\nenv = [\"GL_USER\", \"GL-USER\"]\n",
        2,
        19,
        "environment variable name \"GL-USER\" is invalid",
    ),
    bad(
        "[pusher]\nenv = [\"\"]\n",
        2,
        8,
        "environment variable name \"\" is invalid",
    ),
    bad(
        "[pusher]\nenv = [\"1USER\"]\n",
        2,
        8,
        "environment variable name \"1USER\" is invalid",
    ),
    bad("[pusher]\nenv = []\n", 2, 7, "env is empty"),
    bad(
        "[messages]\nstyle = \"github\"\n",
        2,
        9,
        "invalid style \"github\"; use \"plain\" or \"gitlab\"",
    ),
    // People.
    bad(
        "[[person]]\nid = \"alice\"\n[[person]]\nid = \"alice\"\n",
        4,
        6,
        "person id \"alice\" is already used",
    ),
    bad(
        "[[person]]\nid = \"al ice\"\n",
        2,
        6,
        "person id \"al ice\" is invalid",
    ),
    bad("[[person]]\nid = \"\"\n", 2, 6, "person id \"\" is invalid"),
    bad(
        "[[person]]\nid = \"a\"\nemails = [\"a@x.org\"]\n[[person]]\nid = \"b\"\nemails = [\"A@X.ORG\"]\n",
        6,
        11,
        "email \"A@X.ORG\" already belongs to person \"a\"",
    ),
    bad(
        "[[person]]\nid = \"a\"\nemails = [\"a@x.org\", \"a@x.org\"]\n",
        3,
        22,
        "email \"a@x.org\" is listed twice for person \"a\"",
    ),
    bad(
        "[[person]]\nid = \"a\"\nemails = [\"alice\"]\n",
        3,
        11,
        "email \"alice\" of person \"a\" is invalid",
    ),
    bad(
        "[[person]]\nid = \"a\"\nemails = [\"Alice <a@x.org>\"]\n",
        3,
        11,
        "email \"Alice <a@x.org>\" of person \"a\" is invalid",
    ),
    bad(
        "[[person]]\nid = \"a\"\nusernames = [\"sam\"]\n[[person]]\nid = \"b\"\nusernames = [\"Sam\"]\n",
        6,
        14,
        "username \"Sam\" already belongs to person \"a\"",
    ),
    bad(
        "[[person]]\nid = \"a\"\nusernames = [\"\"]\n",
        3,
        14,
        "username of person \"a\" is empty",
    ),
    // Groups.
    bad(
        "[groups]\ncore = [\"zed\"]\n",
        2,
        9,
        "group \"core\" lists unknown person \"zed\"",
    ),
    bad(
        "[groups]\n\"co re\" = []\n",
        2,
        1,
        "group name \"co re\" is invalid",
    ),
    // Rules; PEOPLE comes first, so the rule starts on line 9.
    bad(
        "[[rule]]\nname = \"r\"\nrefs = [\"refs/heads/main\"]\nreviewer_groups = [\"cor\"]\n",
        12,
        20,
        "unknown group \"cor\" in reviewer_groups",
    ),
    bad(
        "[[rule]]\nname = \"r\"\nrefs = [\"refs/heads/main\"]\nrequire = [{ group = \"sec\", count = 1 }]\n",
        12,
        22,
        "unknown group \"sec\" in require",
    ),
    bad(
        "[[rule]]\nname = \"r\"\nrefs = [\"refs/heads/main\"]\npusher_groups = [\"rel\"]\n",
        12,
        18,
        "unknown group \"rel\" in pusher_groups",
    ),
    bad(
        "[[rule]]\nname = \"r\"\nrefs = [\"refs/heads/main\"]\nbreak_glass_groups = [\"ops\"]\n",
        12,
        23,
        "unknown group \"ops\" in break_glass_groups",
    ),
    bad(
        "[[rule]]\nname = \"r\"\nrefs = [\"refs/heads/main\"]\n[[rule.paths]]\npatterns = [\"a/**\"]\nrequire = [{ group = \"ops\", count = 1 }]\n",
        14,
        22,
        "unknown group \"ops\" in require",
    ),
    bad(
        "[[rule]]\nname = \"r\"\nrefs = [\"refs/heads/main\"]\nrequire = [{ group = \"nobody\", count = 1 }]\n",
        12,
        22,
        "group \"nobody\" is empty, so a quota on it can never be filled",
    ),
    bad(
        "[[rule]]\nname = \"r\"\nrefs = [\"refs/heads/main\"]\nrequire = [{ group = \"core\", count = 0 }]\n",
        12,
        38,
        "quota count is 0",
    ),
    bad(
        "[[rule]]\nname = \"r\"\nrefs = [\"refs/heads/main\"]\n[[rule]]\nname = \"r\"\nrefs = [\"refs/heads/dev\"]\n",
        13,
        8,
        "rule name \"r\" is already used",
    ),
    bad(
        "[[rule]]\nname = \"\"\nrefs = [\"refs/heads/main\"]\n",
        10,
        8,
        "rule name is empty",
    ),
    bad(
        "[[rule]]\nname = \"r\"\nrefs = []\n",
        11,
        8,
        "refs is empty",
    ),
    bad(
        "[[rule]]\nname = \"r\"\nrefs = [\"heads/main\"]\n",
        11,
        9,
        "ref pattern \"heads/main\" does not start with \"refs/\"",
    ),
    bad(
        "[[rule]]\nname = \"r\"\nrefs = [\"refs/heads/[main\"]\n",
        11,
        9,
        "invalid glob \"refs/heads/[main\": unclosed character class",
    ),
    bad(
        "[[rule]]\nname = \"r\"\nrefs = [\"refs/heads/main\"]\nrepos = [\"a{b\"]\n",
        12,
        10,
        "invalid glob \"a{b\": unclosed alternate group",
    ),
    bad(
        "[[rule]]\nname = \"r\"\nrefs = [\"refs/heads/main\"]\nrepos = []\n",
        12,
        9,
        "repos is empty",
    ),
    bad(
        "[[rule]]\nname = \"r\"\nrefs = [\"refs/heads/main\"]\nrepos = [\"\"]\n",
        12,
        10,
        "glob is empty",
    ),
    bad(
        "[[rule]]\nname = \"r\"\nrefs = [\"refs/heads/main\"]\n[[rule.paths]]\npatterns = [\"crypto/[\"]\nrequire = [{ group = \"core\", count = 1 }]\n",
        13,
        13,
        "invalid glob \"crypto/[\"",
    ),
    bad(
        "[[rule]]\nname = \"r\"\nrefs = [\"refs/heads/main\"]\n[[rule.paths]]\npatterns = []\nrequire = [{ group = \"core\", count = 1 }]\n",
        13,
        12,
        "patterns is empty",
    ),
    bad(
        "[[rule]]\nname = \"r\"\nrefs = [\"refs/heads/main\"]\n[[rule.paths]]\npatterns = [\"a/**\"]\nrequire = []\n",
        14,
        11,
        "require is empty, so this paths entry adds nothing",
    ),
    bad(
        "[[rule]]\nname = \"r\"\nrefs = [\"refs/heads/main\"]\nreview_trailers = [\"Reviewed by\"]\n",
        12,
        20,
        "trailer key \"Reviewed by\" in review_trailers is invalid",
    ),
    bad(
        "[[rule]]\nname = \"r\"\nrefs = [\"refs/heads/main\"]\ncoauthor_trailers = [\"Co_author\"]\n",
        12,
        22,
        "trailer key \"Co_author\" in coauthor_trailers is invalid",
    ),
    bad(
        "[[rule]]\nname = \"r\"\nrefs = [\"refs/heads/main\"]\nreview_trailers = []\n",
        12,
        19,
        "review_trailers is empty",
    ),
    bad(
        "[[rule]]\nname = \"r\"\nrefs = [\"refs/heads/main\"]\ncoauthor_trailers = [\"reviewed-BY\"]\n",
        12,
        22,
        "trailer key \"reviewed-BY\" is in both review_trailers and coauthor_trailers",
    ),
    bad(
        "[[rule]]\nname = \"r\"\nrefs = [\"refs/heads/main\"]\nreview_trailers = [\"Co-authored-by\"]\n",
        12,
        20,
        "trailer key \"Co-authored-by\" is also a default coauthor_trailers key",
    ),
    bad(
        "[[rule]]\nname = \"r\"\nrefs = [\"refs/heads/main\"]\nmode = \"strict\"\n",
        12,
        8,
        "invalid mode \"strict\"; use \"enforce\" or \"shadow\"",
    ),
    bad(
        "[[rule]]\nname = \"r\"\nrefs = [\"refs/heads/main\"]\nscope = \"all\"\n",
        12,
        9,
        "invalid scope \"all\"; use \"every-commit\" or \"first-parent\"",
    ),
    bad(
        "[[rule]]\nname = \"r\"\nrefs = [\"refs/heads/main\"]\nunknown_reviewers = \"allow\"\n",
        12,
        21,
        "invalid unknown_reviewers \"allow\"; use \"ignore\" or \"count\"",
    ),
    bad(
        "[[rule]]\nname = \"r\"\nrefs = [\"refs/heads/main\"]\ntarget_reachable_from = [\"main\"]\n",
        12,
        26,
        "target_reachable_from entry \"main\" does not start with \"refs/\"",
    ),
    bad(
        "[[rule]]\nname = \"r\"\nrefs = [\"refs/heads/main\"]\ntarget_reachable_from = [\"refs/heads/*\"]\n",
        12,
        26,
        "target_reachable_from entry \"refs/heads/*\" contains a glob character",
    ),
    // Rules that can never pass.
    bad(
        "[[rule]]\nname = \"r\"\nrefs = [\"refs/heads/main\"]\nmin_reviewers = 3\n",
        12,
        17,
        "rule \"r\" can never pass: min_reviewers is 3 but there are only 2 eligible non-bot people",
    ),
    bad(
        "[[rule]]\nname = \"r\"\nrefs = [\"refs/heads/main\"]\nmin_reviewers = 2\nreviewer_groups = [\"security\"]\n",
        12,
        17,
        "min_reviewers is 2 but there are only 1 eligible non-bot people in reviewer_groups",
    ),
    bad(
        "[[rule]]\nname = \"r\"\nrefs = [\"refs/heads/main\"]\nmin_reviewers = 2\nrequire = [{ group = \"security\", count = 1 }, { group = \"core\", count = 2 }]\n",
        13,
        57,
        "rule \"r\" can never pass: eligible non-bot people cannot fill 1 of 2 slots of group \"core\"",
    ),
    bad(
        "[[rule]]\nname = \"r\"\nrefs = [\"refs/heads/main\"]\nreviewer_groups = [\"security\"]\nrequire = [{ group = \"core\", count = 2 }]\n",
        13,
        22,
        "eligible non-bot people in reviewer_groups cannot fill 1 of 2 slots of group \"core\"",
    ),
    bad(
        "[[rule]]\nname = \"r\"\nrefs = [\"refs/heads/main\"]\nrequire = [{ group = \"core\", count = 1 }]\n[[rule.paths]]\npatterns = [\"a/**\"]\nrequire = [{ group = \"security\", count = 1 }, { group = \"core\", count = 1 }]\n",
        15,
        11,
        "rule \"r\" can never pass for paths [\"a/**\"]",
    ),
];

#[test]
fn bad_configs_table() {
    assert!(BAD.len() >= 30);
    for case in BAD {
        let text = if case.text.starts_with("[[rule]]") {
            format!("{}{}", PEOPLE.trim_start(), case.text)
        } else {
            case.text.to_string()
        };
        let err = match parse(&text, Path::new("bad.toml")) {
            Ok(_) => panic!("expected an error for:\n{text}"),
            Err(err) => err,
        };
        let context = format!("case {:?}, errors:\n{err}", case.fragment);
        assert_eq!(err.diagnostics.len(), 1, "{context}");
        let diagnostic = &err.diagnostics[0];
        assert!(diagnostic.message.contains(case.fragment), "{context}");
        assert_eq!(diagnostic.line, case.line, "{context}");
        assert_eq!(diagnostic.column, case.column, "{context}");
        assert_eq!(diagnostic.path, Path::new("bad.toml"), "{context}");
        let expected_line = text.lines().nth(case.line - 1).unwrap_or_default();
        assert_eq!(diagnostic.source_line, expected_line, "{context}");
    }
}

#[test]
fn bot_does_not_make_rule_passable() {
    let err = parse_err(
        r#"
        [[person]]
        id = "alice"
        [[person]]
        id = "ci"
        bot = true
        [[rule]]
        name = "r"
        refs = ["refs/heads/main"]
        min_reviewers = 2
        "#,
    );
    assert_eq!(err.diagnostics.len(), 1);
    let message = &err.diagnostics[0].message;
    assert!(
        message.contains("min_reviewers is 2 but there are only 1 eligible"),
        "{message}"
    );
}

/// The default min_reviewers of 1 with no people defined: the diagnostic
/// points at the rule's name because min_reviewers is not written.
#[test]
fn default_min_reviewers_points_at_name() {
    let err = parse_err("[[rule]]\nname = \"r\"\nrefs = [\"refs/heads/main\"]\n");
    assert_eq!(err.diagnostics.len(), 1);
    let diagnostic = &err.diagnostics[0];
    assert!(
        diagnostic
            .message
            .contains("min_reviewers is 1 but there are only 0")
    );
    assert_eq!((diagnostic.line, diagnostic.column), (2, 8));
}

#[test]
fn semantic_errors_reported_together() {
    let err = parse_err(
        r#"
        [daemon]
        socket_mode = "999"

        [limits]
        deadline_ms = 0

        [[person]]
        id = "alice"
        emails = ["nobody"]
        "#,
    );
    let found: Vec<(usize, usize)> = err
        .diagnostics
        .iter()
        .map(|diagnostic| (diagnostic.line, diagnostic.column))
        .collect();
    assert_eq!(found, [(2, 15), (5, 15), (9, 11)]);
    assert!(err.diagnostics[0].message.contains("socket_mode \"999\""));
    assert!(err.diagnostics[1].message.contains("deadline_ms is 0"));
    assert!(err.diagnostics[2].message.contains("email \"nobody\""));
}

/// Errors come out in file order even when found out of order.
#[test]
fn diagnostics_sorted_by_position() {
    let err = parse_err(
        r#"
        [[rule]]
        name = "r"
        refs = ["main"]
        reviewer_groups = ["x"]
        [groups]
        g = ["ghost"]
        [daemon]
        repo_roots = ["rel"]
        "#,
    );
    let lines: Vec<usize> = err.diagnostics.iter().map(|d| d.line).collect();
    assert_eq!(lines, [3, 4, 6, 8]);
}

/// A tab before the value stays a tab in the caret line, so the caret
/// lines up whatever the tab width.
#[test]
fn display_renders_caret() {
    let text = "[limits]\n\tmax_refs = 0\n";
    let err = parse(text, Path::new("/etc/foureyes.toml")).expect_err("max_refs 0 is invalid");
    let expected = "/etc/foureyes.toml:2:13: error: max_refs is 0, so every push would be \
                    rejected; set a positive value such as 50000\n  \
                    |\n\
                    2 | \tmax_refs = 0\n  \
                    | \t           ^";
    assert_eq!(err.to_string(), expected);
}

#[test]
fn display_underlines_whole_value() {
    let err = parse_err(
        r#"
        [[rule]]
        name = "r"
        refs = ["refs/heads/main"]
        min_reviewers = 1
        mode = "strict"
        "#,
    );
    // No people are defined, but whether the rule can pass is only checked once
    // the rule has no other errors, so the mode is the only diagnostic.
    assert_eq!(err.diagnostics.len(), 1);
    let rendered = err.to_string();
    let lines: Vec<&str> = rendered.lines().collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[2], "5 | mode = \"strict\"");
    assert_eq!(lines[3], "  |        ^^^^^^^^");
}

#[test]
fn display_separates_diagnostics() {
    let err = parse_err("[limits]\nmax_refs = 0\nmax_commits = 0\n");
    let rendered = err.to_string();
    let blocks: Vec<&str> = rendered.split("\n\n").collect();
    assert_eq!(blocks.len(), 2);
    assert!(blocks[0].starts_with("test.toml:2:12: error: max_refs is 0"));
    assert!(blocks[1].starts_with("test.toml:3:15: error: max_commits is 0"));
}

#[test]
fn load_missing_file() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("absent.toml");
    let err = load(&path).expect_err("the file does not exist");
    assert_eq!(err.diagnostics.len(), 1);
    let diagnostic = &err.diagnostics[0];
    assert_eq!(diagnostic.line, 0);
    assert!(
        diagnostic
            .message
            .starts_with("failed to read the configuration file")
    );
    let rendered = err.to_string();
    let prefix = format!("{}: error: failed to read", path.display());
    assert!(rendered.starts_with(&prefix), "{rendered}");
}

#[test]
fn load_reads_file() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("foureyes.toml");
    std::fs::write(&path, "[syslog]\nident = \"fe\"\n").expect("write the file");
    let config = load(&path).expect("the file is valid");
    assert_eq!(config.syslog.ident, "fe");
    assert_eq!(config.path, path);
}

#[test]
fn check_permissions_table() {
    // (directory mode, file mode, expected fragment of the error or None)
    let cases: &[(u32, u32, Option<&str>)] = &[
        (0o755, 0o644, None),
        (0o700, 0o600, None),
        (0o755, 0o444, None),
        (0o1777, 0o644, None),
        (
            0o755,
            0o664,
            Some("file is writable by group or others (mode 0664)"),
        ),
        (
            0o755,
            0o646,
            Some("file is writable by group or others (mode 0646)"),
        ),
        (0o755, 0o666, Some("run chmod go-w ")),
        (
            0o775,
            0o644,
            Some("is writable by group or others (mode 0775)"),
        ),
        (0o757, 0o644, Some("so they could replace the file")),
    ];
    for &(dir_mode, file_mode, expected) in cases {
        let root = tempfile::tempdir().expect("a temporary directory");
        let dir = root.path().join("etc");
        std::fs::create_dir(&dir).expect("create the directory");
        let path = dir.join("foureyes.toml");
        std::fs::write(&path, "").expect("write the file");
        let set_mode = |target: &Path, mode: u32| {
            std::fs::set_permissions(target, std::fs::Permissions::from_mode(mode))
                .expect("set the mode");
        };
        set_mode(&path, file_mode);
        set_mode(&dir, dir_mode);

        let result = check_permissions(&path);
        let context = format!("directory {dir_mode:o}, file {file_mode:o}");
        match expected {
            None => assert!(result.is_ok(), "{context}: {:?}", result.err()),
            Some(fragment) => {
                let err = result.expect_err(&context);
                assert_eq!(err.diagnostics.len(), 1, "{context}");
                let message = &err.diagnostics[0].message;
                assert!(message.contains(fragment), "{context}: {message}");
            }
        }
    }
}

/// A link in a safe directory to a file in a directory that others can
/// write is rejected, and the message names the target's directory.
#[test]
fn check_permissions_follows_symlink() {
    let root = tempfile::tempdir().expect("a temporary directory");
    let safe = root.path().join("safe");
    let open = root.path().join("open");
    std::fs::create_dir(&safe).expect("create the safe directory");
    std::fs::create_dir(&open).expect("create the open directory");
    let target = open.join("foureyes.toml");
    std::fs::write(&target, "").expect("write the file");
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644))
        .expect("set the file mode");
    std::fs::set_permissions(&safe, std::fs::Permissions::from_mode(0o755))
        .expect("set the safe mode");
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777))
        .expect("set the open mode");
    let link = safe.join("foureyes.toml");
    std::os::unix::fs::symlink(&target, &link).expect("create the link");

    let err = check_permissions(&link).expect_err("the target directory is writable by others");
    let message = &err.diagnostics[0].message;
    let expected = format!("directory {} is writable", open.display());
    assert!(message.starts_with(&expected), "{message}");

    // The same target in a safe directory passes through the link.
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755))
        .expect("set the open mode");
    let result = check_permissions(&link);
    assert!(result.is_ok(), "{:?}", result.err());
}

#[test]
fn check_permissions_missing_file() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let err = check_permissions(&dir.path().join("absent.toml")).expect_err("no such file");
    assert!(
        err.diagnostics[0]
            .message
            .starts_with("failed to read file metadata")
    );
}

#[test]
fn unterminated_string_crlf_column() {
    let text = "[syslog]\r\nident = \"x\r\n";
    let err = match parse(text, Path::new("test.toml")) {
        Ok(_) => panic!("expected an error for an unterminated string"),
        Err(err) => err,
    };
    let diagnostic = &err.diagnostics[0];
    assert_eq!(diagnostic.line, 2);
    assert_eq!(diagnostic.source_line, "ident = \"x");
    assert_eq!(diagnostic.column, 11);
}

#[test]
fn type_errors_use_toml_words() {
    let cases = [
        (
            "[limits]\nmax_refs = \"many\"\n",
            "expected a whole number of 0 or more",
        ),
        ("[pusher]\nenv = \"GL_USER\"\n", "expected an array"),
        (
            "[[rule]]\nname = \"r\"\nrefs = [\"refs/heads/main\"]\nallow_delete = 1\n",
            "expected true or false",
        ),
    ];
    for (text, expected) in cases {
        let err = parse_err(text);
        let messages: Vec<&str> = err.diagnostics.iter().map(|d| d.message.as_str()).collect();
        assert!(
            messages.iter().any(|m| m.contains(expected)),
            "{text:?}: {messages:?}"
        );
        assert!(
            !messages.iter().any(|m| m.contains("usize")),
            "{text:?}: {messages:?}"
        );
    }
}

#[test]
fn several_type_errors_reported() {
    let text = "[daemon]\nsocket_mode = 660\n\n[limits]\nmax_refs = \"many\"\nbogus = 1\n\n\
                [[person]]\nid = \"alice\"\nemails = [\"alice@example.com\"]\n\n\
                [[rule]]\nname = \"r\"\nrefs = [\"refs/heads/main\"]\nscope = \"all\"\nallow_delete = \"no\"\n";
    let err = parse_err(text);
    let lines: Vec<usize> = err.diagnostics.iter().map(|d| d.line).collect();

    assert!(lines.contains(&2), "socket_mode: {:#?}", err.diagnostics);
    assert!(lines.contains(&5), "max_refs: {:#?}", err.diagnostics);
    assert!(lines.contains(&6), "bogus: {:#?}", err.diagnostics);
    assert!(lines.contains(&15), "scope: {:#?}", err.diagnostics);
    assert!(lines.contains(&16), "allow_delete: {:#?}", err.diagnostics);
}

#[test]
fn syntax_error_stops_search() {
    let err = parse_err("[limits]\nmax_refs = \"many\"\nbroken = [\n");
    assert_eq!(err.diagnostics.len(), 1, "{:#?}", err.diagnostics);
}
