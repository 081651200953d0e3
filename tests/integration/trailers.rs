//! Agreement of `foureyes::trailer::parse` with the installed git on a corpus
//! of commit messages.
//!
//! Each message becomes a commit object in a temporary bare repository,
//! written with `git hash-object --literally` so its bytes reach git
//! unchanged. git's output gives the expected values: `git log` with
//! `%(trailers:only,unfold)` for all commits in one call, and
//! `git interpret-trailers --parse` for each message.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use foureyes::trailer::{self, Trailer};
use tempfile::TempDir;

/// Bytes that `git log` writes between the fields of its output. They must
/// not occur in any message of the corpus.
const ID_END: u8 = 0x01;
const TRAILER_SEPARATOR: u8 = 0x02;
const KEY_VALUE_SEPARATOR: u8 = 0x03;
const RECORD_END: u8 = 0x04;

const SCISSORS: &str = "# ------------------------ >8 ------------------------\n";

/// A bare repository in a temporary directory, and git run on it with no
/// system or global configuration.
struct Repo {
    dir: TempDir,
    git_dir: PathBuf,
}

impl Repo {
    fn new() -> Repo {
        let dir = tempfile::tempdir().expect("create temporary directory");
        let git_dir = dir.path().join("repo.git");
        let repo = Repo { dir, git_dir };
        repo.git(
            &["init", "--quiet", "--bare", repo.git_dir.to_str().unwrap()],
            b"",
        );
        repo
    }

    /// Runs git with `stdin` and returns its stdout, panicking with stderr
    /// when git fails.
    fn git(&self, args: &[&str], stdin: &[u8]) -> Vec<u8> {
        let mut child = Command::new("git")
            .args(args)
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_DIR", &self.git_dir)
            .env("LC_ALL", "C")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start git");
        let mut input = child.stdin.take().expect("stdin is piped");
        let stdin = stdin.to_vec();
        let writer = std::thread::spawn(move || input.write_all(&stdin));
        let output = child.wait_with_output().expect("wait for git");
        writer
            .join()
            .expect("stdin writer thread")
            .expect("write git stdin");
        assert!(
            output.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output.stdout
    }

    /// Writes one commit object per message and returns their ids in order.
    fn write_commits(&self, messages: &[&[u8]]) -> Vec<String> {
        let tree = self.git(&["mktree"], b"");
        let tree = String::from_utf8(tree).expect("tree id is ASCII");
        let header = format!(
            "tree {}\nauthor A <a@example.com> 1700000000 +0000\n\
             committer A <a@example.com> 1700000000 +0000\n\n",
            tree.trim()
        );

        let mut paths = String::new();
        for (i, message) in messages.iter().enumerate() {
            let path = self.dir.path().join(format!("commit-{i}"));
            let mut object = header.clone().into_bytes();
            object.extend_from_slice(message);
            std::fs::write(&path, object).expect("write commit object file");
            writeln!(paths, "{}", path.display()).unwrap();
        }
        let args = [
            "hash-object",
            "-t",
            "commit",
            "-w",
            "--literally",
            "--stdin-paths",
        ];
        let ids = self.git(&args, paths.as_bytes());
        let ids: Vec<String> = String::from_utf8(ids)
            .expect("ids are ASCII")
            .lines()
            .map(str::to_string)
            .collect();
        assert_eq!(ids.len(), messages.len());
        ids
    }

    /// Returns the trailers that `git log` shows for each commit, by id.
    fn log_trailers(&self, ids: &[String]) -> HashMap<String, Vec<(String, String)>> {
        let format = "--format=%H%x01\
                      %(trailers:only,unfold,separator=%x02,key_value_separator=%x03)%x04";
        let stdin = ids.join("\n") + "\n";
        let output = self.git(
            &["log", "--no-walk=unsorted", "--stdin", format],
            stdin.as_bytes(),
        );

        let mut trailers = HashMap::new();
        for record in output.split(|&b| b == RECORD_END) {
            let record = record.strip_prefix(b"\n").unwrap_or(record);
            if record.is_empty() {
                continue;
            }
            let (id, list) = split_once(record, ID_END).expect("record has an id");
            let list = if list.is_empty() {
                Vec::new()
            } else {
                list.split(|&b| b == TRAILER_SEPARATOR)
                    .map(|item| {
                        let (key, value) =
                            split_once(item, KEY_VALUE_SEPARATOR).expect("trailer has a key");
                        (lossy(key), lossy(value))
                    })
                    .collect()
            };
            trailers.insert(lossy(id), list);
        }
        trailers
    }

    /// Returns what `git interpret-trailers --parse` prints for `message`.
    fn interpret_trailers(&self, message: &[u8]) -> Vec<(String, String)> {
        let output = self.git(&["interpret-trailers", "--parse"], message);
        let output = lossy(&output);
        output
            .lines()
            .map(|line| {
                let (key, value) = line.split_once(": ").expect("line has `: `");
                (key.to_string(), value.to_string())
            })
            .collect()
    }
}

fn split_once(bytes: &[u8], separator: u8) -> Option<(&[u8], &[u8])> {
    let at = bytes.iter().position(|&b| b == separator)?;
    Some((&bytes[..at], &bytes[at + 1..]))
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Parses `message` as the daemon does: decoded lossily, then parsed.
fn parsed(message: &[u8]) -> Vec<(String, String)> {
    trailer::parse(&lossy(message))
        .into_iter()
        .map(|Trailer { key, value }| (key, value))
        .collect()
}

/// Returns `message` up to its first `---` divider line, the place where
/// `git interpret-trailers` ends the message and `git log` does not. git
/// reads up to the first NUL byte only, so a divider after it does not count.
fn before_divider(message: &[u8]) -> Option<&[u8]> {
    let visible = message.split(|&b| b == 0).next().unwrap_or(message);
    let mut start = 0;
    for line in visible.split_inclusive(|&b| b == b'\n') {
        let is_divider = line.starts_with(b"---")
            && line
                .get(3)
                .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
        if is_divider {
            return Some(&message[..start]);
        }
        start += line.len();
    }
    None
}

/// Builds a message whose last block has `prose` lines, then a
/// `Signed-off-by` line with `continuations` indented lines under it, then
/// `trailers - 1` more trailers, to test the 25 % rule.
fn ratio_message(trailers: usize, prose: usize, continuations: usize) -> Vec<u8> {
    let mut message = String::from("Subject\n\nBody.\n\n");
    for i in 0..prose {
        writeln!(message, "prose line {i}").unwrap();
    }
    message.push_str("Signed-off-by: S <s@example.com>\n");
    for _ in 0..continuations {
        message.push_str("  continued\n");
    }
    for i in 1..trailers {
        writeln!(message, "Reviewed-by: R{i} <r{i}@example.com>").unwrap();
    }
    message.into_bytes()
}

/// Returns the hand-written corpus: a name for failure messages and the raw
/// message bytes of each case.
fn corpus() -> Vec<(String, Vec<u8>)> {
    let fixed: &[(&str, &[u8])] = &[
        // Shapes of the message.
        ("empty", b""),
        ("newline only", b"\n"),
        ("subject without newline", b"Subject"),
        ("subject only", b"Subject\n"),
        ("subject and blank", b"Subject\n\n"),
        ("body without trailers", b"Subject\n\nBody text.\n"),
        ("one reviewer", b"Subject\n\nReviewed-by: A <a@example.com>\n"),
        (
            "reviewers and sign-off",
            b"Subject\n\nBody.\n\nReviewed-by: A <a@x>\nReviewed-by: B <b@x>\nSigned-off-by: C <c@x>\n",
        ),
        ("under subject", b"Subject\nReviewed-by: A\n"),
        ("under subject then body", b"Subject\nReviewed-by: A\n\nBody.\n"),
        ("trailer as subject", b"Reviewed-by: A\n"),
        ("two trailers as subject", b"Reviewed-by: A\nReviewed-by: B\n"),
        ("trailer subject and block", b"Reviewed-by: A\n\nReviewed-by: B\n"),
        ("trailer subject then body", b"Reviewed-by: A\n\nBody.\n"),
        ("trailing blank lines", b"Subject\n\nReviewed-by: A\n\n\n"),
        ("trailing whitespace lines", b"Subject\n\nReviewed-by: A\n  \n\t\n"),
        ("whitespace line after subject", b"Subject\n   \nReviewed-by: A\n"),
        ("leading blank lines", b"\n\nSubject\n\nReviewed-by: A\n"),
        ("leading whitespace line", b" \nReviewed-by: A\n"),
        ("leading blank then trailer", b"\nReviewed-by: A\n"),
        ("no final newline", b"Subject\n\nReviewed-by: A"),
        ("two blocks", b"Subject\n\nReviewed-by: A\n\nReviewed-by: B\n"),
        ("body after block", b"Subject\n\nReviewed-by: A\n\nBody.\n"),
        // Tokens.
        ("space in token", b"Subject\n\nReviewed by: A\n"),
        ("breaking change alone", b"Subject\n\nBREAKING CHANGE: api\n"),
        (
            "breaking change hides block",
            b"Subject\n\nBREAKING CHANGE: api\nReviewed-by: A\n",
        ),
        ("breaking change with dash", b"Subject\n\nBREAKING-CHANGE: api\n"),
        ("no space after colon", b"Subject\n\nReviewed-by:A\n"),
        ("space before colon", b"Subject\n\nReviewed-by : A\n"),
        ("spaces and tab before colon", b"Subject\n\nReviewed-by \t : A\n"),
        ("tab after colon", b"Subject\n\nReviewed-by:\tA\n"),
        (
            "case variants",
            b"Subject\n\nreviewed-BY: A\nREVIEWED-BY: B\nReviewed-By: C\n",
        ),
        ("indented first line", b"Subject\n\n Reviewed-by: A\n"),
        (
            "indented line after trailer",
            b"Subject\n\nAcked-by: X\n Reviewed-by: A\n",
        ),
        ("token starts with dash", b"Subject\n\n-Key: v\n"),
        ("token only dashes", b"Subject\n\n--: v\n"),
        ("empty token", b"Subject\n\n: v\n"),
        ("space then colon", b"Subject\n\n :v\n"),
        ("empty values", b"Subject\n\nA:\nB: \nC: \t \n"),
        ("digit token", b"Subject\n\n123: v\n"),
        ("underscore token", b"Subject\n\nCo_author: x\n"),
        ("dot in token", b"Subject\n\nKey.x: v\n"),
        ("non-ASCII token", "Subject\n\nRévisé-par: A\n".as_bytes()),
        ("non-ASCII value", "Subject\n\nReviewed-by: Zoë <z@x>\n".as_bytes()),
        ("URL alone", b"Subject\n\nhttps://example.com/p/1\n"),
        (
            "URL among trailers",
            b"Subject\n\nReviewed-by: A\nLink: https://example.com/p/1\n",
        ),
        ("URL under prose", b"Subject\n\nSee\nhttps://example.com/p/1\n"),
        ("colons in value", b"Subject\n\nKey: a: b: c\n"),
        ("double colon", b"Subject\n\nKey:: v\n"),
        ("colon in value without spaces", b"Subject\n\nKey:v:w\n"),
        ("hash in value", b"Subject\n\nKey: a # b\n"),
        // Continuation lines.
        (
            "wrapped value",
            b"Subject\n\nReviewed-by: A Long Name\n  <a@example.com>\n",
        ),
        (
            "several continuations",
            b"Subject\n\nKey: one\n\ttwo\n   three\nNext: n\n",
        ),
        ("trailing spaces before fold", b"Subject\n\nKey: a  \n  b\n"),
        ("whitespace line in fold", b"Subject\n\nKey: a\n  \n  b\n"),
        ("continuation first", b"Subject\n\n  cont\nKey: v\n"),
        ("empty value then fold", b"Subject\n\nKey:\n  value\n"),
        (
            "fold after prose with sign-off",
            b"Subject\n\nprose\n  cont\nSigned-off-by: S\n",
        ),
        (
            "fold after comment",
            b"Subject\n\nReviewed-by: A\n# note\n  cont\n",
        ),
        (
            "fold after cherry-pick",
            b"Subject\n\nSigned-off-by: S\n(cherry picked from commit 0123456789abcdef)\n  cont\n",
        ),
        // Comment lines.
        (
            "comment inside block",
            b"Subject\n\nReviewed-by: A\n# note\nReviewed-by: B\n",
        ),
        ("comment after block", b"Subject\n\nReviewed-by: A\n# note\n"),
        (
            "comment block after blank",
            b"Subject\n\nReviewed-by: A\n\n# one\n# two\n",
        ),
        ("comment as subject", b"# subject\n\nReviewed-by: A\n"),
        ("hash before key", b"Subject\n\n#Reviewed-by: A\n"),
        ("comment in subject paragraph", b"Subject\n# note\nReviewed-by: A\n"),
        ("bare hash line", b"Subject\n\n#\nReviewed-by: A\n"),
        (
            "comment between blank lines",
            b"Subject\n\nReviewed-by: A\n\n# note\n\nReviewed-by: B\n",
        ),
        // Conflicts blocks.
        (
            "conflicts after blank",
            b"Subject\n\nReviewed-by: A\n\nConflicts:\n\tsrc/a.c\n\tsrc/b.c\n",
        ),
        (
            "conflicts without blank",
            b"Subject\n\nReviewed-by: A\nConflicts:\n\tsrc/a.c\n",
        ),
        (
            "conflicts with CRLF",
            b"Subject\r\n\r\nReviewed-by: A\r\nConflicts:\r\n\tsrc/a.c\r\n",
        ),
        (
            "conflicts then prose",
            b"Subject\n\nReviewed-by: A\n\nConflicts:\n\tsrc/a.c\nmore\n",
        ),
        (
            "conflicts with value",
            b"Subject\n\nReviewed-by: A\nConflicts: src/a.c\n",
        ),
        (
            "conflicts then comment",
            b"Subject\n\nReviewed-by: A\nConflicts:\n\tsrc/a.c\n# note\n",
        ),
        // Dividers.
        ("divider before block", b"Subject\n\nBody.\n---\nReviewed-by: A\n"),
        (
            "divider after block",
            b"Subject\n\nReviewed-by: A\n---\n file | 1 +\n",
        ),
        (
            "divider paragraph after block",
            b"Subject\n\nReviewed-by: A\n\n--- \nstat\n",
        ),
        ("dashes without space", b"Subject\n\nReviewed-by: A\n---x\n"),
        ("divider with tab", b"Subject\n\nBody.\n\n---\tx\n\nReviewed-by: A\n"),
        // Lines that git generates.
        (
            "sign-off and prose",
            b"Subject\n\nprose one\nprose two\nSigned-off-by: S <s@x>\nReviewed-by: A\n",
        ),
        (
            "sign-off without space",
            b"Subject\n\nprose\nprose\nSigned-off-by:S\n",
        ),
        (
            "sign-off lowercase",
            b"Subject\n\nprose\nsigned-off-by: S\n",
        ),
        (
            "sign-off empty value",
            b"Subject\n\nprose\nSigned-off-by: \n",
        ),
        (
            "cherry-pick and prose",
            b"Subject\n\nprose\nprose\nprose\n(cherry picked from commit 0123456789abcdef)\n",
        ),
        (
            "cherry-pick and reviewer",
            b"Subject\n\nReviewed-by: A\nprose\n(cherry picked from commit 0123456789abcdef)\n",
        ),
        (
            "merged-from after reviewers",
            b"Subject\n\nReviewed-by: A <a@x>\nReviewed-by: B <b@x>\n(Merged from https://github.com/o/r/pull/1)\n",
        ),
        (
            "merged-from with sign-off",
            b"Subject\n\nReviewed-by: A <a@x>\nSigned-off-by: S <s@x>\n(Merged from https://github.com/o/r/pull/1)\n",
        ),
        (
            "sign-off in earlier paragraph",
            b"Subject\n\nSigned-off-by: S\n\nprose\nReviewed-by: A\n",
        ),
        // Line endings and whitespace.
        (
            "CRLF throughout",
            b"Subject\r\n\r\nBody.\r\n\r\nReviewed-by: A <a@x>\r\nKey: v\r\n",
        ),
        (
            "CRLF fold",
            b"Subject\r\n\r\nReviewed-by: A \r\n  <a@x>\r\n",
        ),
        ("CR only", b"Subject\r\rReviewed-by: A\r"),
        ("CR inside value", b"Subject\n\nReviewed-by: a\rb\n"),
        (
            "trailing whitespace on values",
            b"Subject\n\nReviewed-by: A  \t\nKey:  v \n",
        ),
        ("vertical tab first", b"Subject\n\n\x0bKey: v\n"),
        ("vertical tab fold", b"Subject\n\nKey: a\n\x0bb\n"),
        ("vertical tab after value", b"Subject\n\nKey: a\x0b\n"),
        ("form feed line", b"Subject\n\x0c\nKey: v\n"),
        (
            "no-break space line",
            "Subject\n\u{a0}\nReviewed-by: A\n".as_bytes(),
        ),
        (
            "no-break space in token",
            "Subject\n\nReviewed-by\u{a0}: A\n".as_bytes(),
        ),
        ("tab fold", b"Subject\n\nKey: a\n\tb\n"),
        // NUL bytes.
        ("NUL before block", b"Subject\n\nbody\0\n\nReviewed-by: A\n"),
        ("NUL after trailer", b"Subject\n\nReviewed-by: A\0\nReviewed-by: B\n"),
        ("NUL in subject", b"Sub\0ject\n\nReviewed-by: A\n"),
        ("NUL in value", b"Subject\n\nReviewed-by: A\0B\n"),
        // Bytes that are not UTF-8.
        ("latin-1 value", b"Subject\n\nReviewed-by: J\xf6rg <j@x>\n"),
        ("invalid byte in token", b"Subject\n\nRevi\xffewed-by: A\n"),
        (
            "invalid bytes in prose",
            b"Subject\n\nBody \xc3\x28 \xe2\x82\n\nReviewed-by: A\n",
        ),
        (
            "truncated sequence before fold",
            b"Subject\n\nKey: a\xe2\x82\n  b\n",
        ),
    ];

    let mut corpus: Vec<(String, Vec<u8>)> = fixed
        .iter()
        .map(|(name, message)| (name.to_string(), message.to_vec()))
        .collect();

    // Scissors lines: git drops the line and all text below it.
    let scissors_cases = [
        (
            "scissors after block",
            format!("Subject\n\nReviewed-by: A\n{SCISSORS}Reviewed-by: B\n"),
        ),
        (
            "scissors after blank",
            format!("Subject\n\nReviewed-by: A\n\n{SCISSORS}diff\n"),
        ),
        (
            "scissors first",
            format!("{SCISSORS}Subject\n\nReviewed-by: A\n"),
        ),
        (
            "scissors mid-line",
            format!("Subject\n\nReviewed-by: A\nKey: x{SCISSORS}Reviewed-by: B\n"),
        ),
        (
            "scissors with CRLF",
            format!(
                "Subject\n\nReviewed-by: A\n{}Reviewed-by: B\n",
                SCISSORS.replace('\n', "\r\n")
            ),
        ),
        (
            "scissors short",
            "Subject\n\nReviewed-by: A\n# ---------- >8 ----------\nReviewed-by: B\n".to_string(),
        ),
    ];
    for (name, message) in scissors_cases {
        corpus.push((name.to_string(), message.into_bytes()));
    }

    // The 25 % rule: trailer lines against other lines in a block with a
    // `Signed-off-by` line. 6 of 25 is 24 %, 6 of 24 is 25 %, 13 of 50 is
    // 26 %. Continuation lines under a trailer count on neither side.
    let ratios = [
        ("ratio 24 %", 6, 19, 0),
        ("ratio 25 %", 6, 18, 0),
        ("ratio 26 %", 13, 37, 0),
        ("ratio 1 of 4", 1, 3, 0),
        ("ratio 1 of 5", 1, 4, 0),
        ("ratio 25 % with folds", 6, 18, 5),
        ("ratio 24 % with folds", 6, 19, 5),
    ];
    for (name, trailers, prose, continuations) in ratios {
        corpus.push((
            name.to_string(),
            ratio_message(trailers, prose, continuations),
        ));
    }

    // Sizes.
    let long_value = format!("Subject\n\nKey: {}\n", "v".repeat(100_000));
    corpus.push(("long value".to_string(), long_value.into_bytes()));
    let long_prose = format!("Subject\n\n{}\n\nReviewed-by: A\n", "word ".repeat(50_000));
    corpus.push(("long prose line".to_string(), long_prose.into_bytes()));
    let mut many = String::from("Subject\n\n");
    for i in 0..1_000 {
        writeln!(many, "Reviewed-by: R{i} <r{i}@example.com>").unwrap();
    }
    corpus.push(("1000 trailers".to_string(), many.into_bytes()));

    corpus
}

fn assert_no_separator_bytes(corpus: &[(String, Vec<u8>)]) {
    for (name, message) in corpus {
        let clashes = message.iter().any(|b| (ID_END..=RECORD_END).contains(b));
        assert!(!clashes, "case {name:?} contains a separator byte");
    }
}

fn describe(
    name: &str,
    message: &[u8],
    from_git: &[(String, String)],
    from_parse: &[(String, String)],
) -> String {
    let excerpt: Vec<u8> = message.iter().copied().take(200).collect();
    format!(
        "case {name:?}\n  message {:?}\n  git     {from_git:?}\n  parse   {from_parse:?}\n",
        lossy(&excerpt)
    )
}

/// Asserts that `parse` returns what `git log` shows for each message.
/// Returns how many messages have trailers.
fn assert_matches_git_log(corpus: &[(String, Vec<u8>)]) -> usize {
    assert_no_separator_bytes(corpus);
    let repo = Repo::new();
    let messages: Vec<&[u8]> = corpus.iter().map(|(_, m)| m.as_slice()).collect();
    let ids = repo.write_commits(&messages);
    let from_git = repo.log_trailers(&ids);

    let mut mismatches = String::new();
    let mut with_trailers = 0;
    for ((name, message), id) in corpus.iter().zip(&ids) {
        let expected = from_git.get(id).expect("git log printed every commit");
        let actual = parsed(message);
        if !expected.is_empty() {
            with_trailers += 1;
        }
        if *expected != actual {
            mismatches.push_str(&describe(name, message, expected, &actual));
        }
    }
    assert!(
        mismatches.is_empty(),
        "parse differs from git log:\n{mismatches}"
    );
    with_trailers
}

#[test]
fn trailers_match_git_log() {
    let corpus = corpus();
    assert!(corpus.len() >= 80, "corpus has only {} cases", corpus.len());
    let with_trailers = assert_matches_git_log(&corpus);
    // Guards against a corpus (or a format string) where git finds nothing.
    assert!(
        with_trailers >= 40,
        "only {with_trailers} cases have trailers"
    );
}

/// Lines that the generated messages are assembled from: each kind of line
/// that the rules treat differently.
const GENERATED_LINES: &[&str] = &[
    "Subject\n",
    "\n",
    " \t\n",
    "\r\n",
    "Reviewed-by: A <a@x>\n",
    "reviewed-BY :B\n",
    "Signed-off-by: S <s@x>\n",
    "(cherry picked from commit 0123456789abcdef)\n",
    "Key:\n",
    "prose line\n",
    "  continued\n",
    "\tcontinued\n",
    "# comment\n",
    "Conflicts:\n",
    "\tsrc/a.c\n",
    "---\n",
    SCISSORS,
    "https://example.com/p/1\n",
    "BREAKING CHANGE: x\n",
    "Value: a\r\n",
];

/// Builds `count` messages from [`GENERATED_LINES`] with a fixed-seed
/// xorshift generator, so a failure is reproducible.
fn generated_corpus(count: usize) -> Vec<(String, Vec<u8>)> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..count)
        .map(|i| {
            let line_count = 1 + (next() % 12) as usize;
            let mut message = String::new();
            for _ in 0..line_count {
                let line = GENERATED_LINES[(next() % GENERATED_LINES.len() as u64) as usize];
                message.push_str(line);
            }
            (format!("generated {i}"), message.into_bytes())
        })
        .collect()
}

#[test]
fn trailers_match_git_log_generated() {
    let corpus = generated_corpus(600);
    let with_trailers = assert_matches_git_log(&corpus);
    assert!(
        with_trailers >= 50,
        "only {with_trailers} cases have trailers"
    );
}

/// `git interpret-trailers` reads the message as given, so it differs from
/// `git log` in two ways: it ends the message at a `---` line, and it does
/// not skip blank lines before the subject. Both are asserted here.
#[test]
fn trailers_match_interpret_trailers() {
    let corpus = corpus();
    let repo = Repo::new();

    let mut mismatches = String::new();
    let mut divider_differences = 0;
    let mut leading_blank_differences = 0;
    for (name, message) in &corpus {
        let from_git = repo.interpret_trailers(message);

        let mut equivalent = before_divider(message).unwrap_or(message).to_vec();
        let starts_blank = equivalent
            .split(|&b| b == b'\n')
            .next()
            .is_some_and(|line| line.iter().all(|b| b" \t\r".contains(b)));
        if starts_blank && !equivalent.is_empty() {
            // With a subject in front, `git log` finds the subject paragraph
            // where `git interpret-trailers` does.
            equivalent.splice(0..0, b"Subject\n".iter().copied());
        }
        let expected = parsed(&equivalent);
        if from_git != expected {
            mismatches.push_str(&describe(name, message, &from_git, &expected));
        }

        if from_git != parsed(message) {
            if before_divider(message).is_some() {
                divider_differences += 1;
            } else if starts_blank {
                leading_blank_differences += 1;
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "parse of the equivalent message differs from git interpret-trailers:\n{mismatches}"
    );
    assert!(
        divider_differences >= 2,
        "divider differences: {divider_differences}"
    );
    assert!(
        leading_blank_differences >= 2,
        "leading blank line differences: {leading_blank_differences}"
    );
}

#[test]
fn trailers_corpus_names_unique() {
    let corpus = corpus();
    let mut names: Vec<&str> = corpus.iter().map(|(name, _)| name.as_str()).collect();
    names.sort_unstable();
    let count = names.len();
    names.dedup();
    assert_eq!(names.len(), count);
}
