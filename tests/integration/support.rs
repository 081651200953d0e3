//! The end-to-end harness: real git, a real `foureyesd` on a temporary
//! socket and a real syslog receiver.
//!
//! Every fixture owns its temporary directory, so tests run in parallel
//! threads without sharing sockets, repositories or configuration. git is
//! isolated from the user's configuration (no system or global config, a
//! temporary `HOME`), and each push runs with a cleared environment, so a
//! pusher variable set in the test runner's environment never reaches the
//! hook.

use std::collections::BTreeMap;
use std::fs;
use std::io::{ErrorKind, Write};
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// The `foureyes` client binary, run by the installed hook.
pub const FOUREYES_BIN: &str = env!("CARGO_BIN_EXE_foureyes");

/// The daemon binary.
pub const FOUREYESD_BIN: &str = env!("CARGO_BIN_EXE_foureyesd");

/// The hook shim installed into every bare repository.
const HOOK_SOURCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/hooks/pre-receive");

/// The ident the daemon writes its syslog records under.
pub const SYSLOG_IDENT: &str = "foureyes";

/// The variable the harness sets to name the pusher, as `git http-backend`
/// does.
pub const PUSHER_VARIABLE: &str = "REMOTE_USER";

/// How long the harness waits for the daemon to accept connections and for
/// syslog datagrams to arrive. Generous, because tests share two cores.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(20);

/// The hook client's timeout in tests: well above the daemon's own deadline,
/// so a slow machine shows the daemon's message instead of the client's.
const CLIENT_TIMEOUT_MS: &str = "30000";

/// The zero object id of SHA-1 repositories: "no ref" in pre-receive input.
pub const ZERO_ID: &str = "0000000000000000000000000000000000000000";

/// A commit author (also used as committer).
#[derive(Clone, Copy, Debug)]
pub struct Author {
    pub name: &'static str,
    pub email: &'static str,
}

pub const ALICE: Author = Author {
    name: "Alice Liddell",
    email: "alice@example.com",
};
/// Alice's second address, listed in the same `[[person]]` entry.
pub const ALICE_HOME: Author = Author {
    name: "Alice Liddell",
    email: "alice@home.example",
};
pub const BOB: Author = Author {
    name: "Bob Builder",
    email: "bob@example.com",
};
pub const CAROL: Author = Author {
    name: "Carol Danvers",
    email: "carol@example.com",
};
pub const DAVE: Author = Author {
    name: "Dave Lister",
    email: "dave@example.com",
};
pub const ERIN: Author = Author {
    name: "Erin Brockovich",
    email: "erin@example.com",
};
/// An address that is in no `[[person]]` entry of [`Config::team`].
pub const MALLORY: Author = Author {
    name: "Mallory Stranger",
    email: "mallory@elsewhere.example",
};

/// The username the harness pushes as unless a test names another: Dave,
/// who reviews nothing in the tests that do not test the pusher.
pub const DEFAULT_PUSHER: &str = "dave";

impl Author {
    /// Returns the trailer value `Name <email>`.
    pub fn ident(&self) -> String {
        format!("{} <{}>", self.name, self.email)
    }
}

/// Builds a commit message: the subject, a blank line and one
/// `Reviewed-by` trailer per reviewer.
pub fn reviewed(subject: &str, reviewers: &[Author]) -> String {
    let trailers: Vec<String> = reviewers
        .iter()
        .map(|reviewer| format!("Reviewed-by: {}", reviewer.ident()))
        .collect();
    message(subject, &trailers)
}

/// Builds a commit message from a subject and trailer lines.
pub fn message(subject: &str, trailers: &[String]) -> String {
    if trailers.is_empty() {
        return format!("{subject}\n");
    }
    format!("{subject}\n\n{}\n", trailers.join("\n"))
}

/// The people and rules of a foureyes configuration; the harness adds the
/// socket, repo root and syslog sections when it writes the file.
#[derive(Clone, Debug, Default)]
pub struct Config {
    people: String,
    rules: String,
}

fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

fn toml_array(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|item| toml_string(item)).collect();
    format!("[{}]", quoted.join(", "))
}

impl Config {
    pub fn new() -> Config {
        Config::default()
    }

    /// Alice (two addresses), Bob, Carol, Dave and Erin, each with a
    /// username equal to their id.
    pub fn team() -> Config {
        Config::new()
            .person("alice", &[ALICE.email, ALICE_HOME.email], &["alice"])
            .person("bob", &[BOB.email], &["bob"])
            .person("carol", &[CAROL.email], &["carol"])
            .person("dave", &[DAVE.email], &["dave"])
            .person("erin", &[ERIN.email], &["erin"])
    }

    /// Adds a `[[person]]` table.
    pub fn person(mut self, id: &str, emails: &[&str], usernames: &[&str]) -> Config {
        self.people.push_str(&format!(
            "[[person]]\nid = {}\nemails = {}\nusernames = {}\n\n",
            toml_string(id),
            toml_array(emails),
            toml_array(usernames)
        ));
        self
    }

    /// Appends TOML text as it is, e.g. a file of `[[person]]` tables.
    pub fn raw(mut self, text: &str) -> Config {
        self.people.push_str(text);
        self.people.push_str("\n\n");
        self
    }

    /// Adds a `[[rule]]` table; `settings` contains further `key = value`
    /// lines, e.g. `"min_reviewers = 2"`.
    pub fn rule(mut self, name: &str, refs: &[&str], settings: &str) -> Config {
        self.rules.push_str(&format!(
            "[[rule]]\nname = {}\nrefs = {}\n{}\n\n",
            toml_string(name),
            toml_array(refs),
            settings.trim()
        ));
        self
    }

    /// Returns the whole file for a daemon listening on `socket`.
    pub fn to_toml(&self, socket: &Path, repo_root: &Path, syslog_socket: &Path) -> String {
        let path = |path: &Path| toml_string(path.to_str().expect("temporary paths are UTF-8"));
        format!(
            "[daemon]\nsocket = {}\nrepo_roots = [{}]\n\n[syslog]\nsocket = {}\n\n{}{}",
            path(socket),
            path(repo_root),
            path(syslog_socket),
            self.people,
            self.rules
        )
    }
}

/// Builds a `git` command isolated from the user's and the system's
/// configuration, with a cleared environment.
pub fn git_command(home: &Path, dir: &Path) -> Command {
    let mut command = Command::new("git");
    command
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("LC_ALL", "C");
    command
}

/// Runs `command` with `input` on standard input and returns its output.
pub fn run_with_input(command: &mut Command, input: &[u8]) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| panic!("cannot start {command:?}: {err}"));
    let mut stdin = child.stdin.take().expect("stdin was piped");
    let input = input.to_vec();
    // A separate writer avoids a deadlock when the child fills its output
    // pipes before reading all of its input.
    let writer = thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let output = child
        .wait_with_output()
        .unwrap_or_else(|err| panic!("cannot wait for {command:?}: {err}"));
    writer.join().expect("the stdin writer does not panic");
    output
}

/// Panics with the command's stderr unless it succeeded; returns stdout
/// without the trailing newline.
fn checked_stdout(command: &Command, output: Output) -> String {
    assert!(
        output.status.success(),
        "{command:?} failed with {}:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("git output is UTF-8")
        .trim_end()
        .to_owned()
}

/// A bare repository with the foureyes hook installed, and a work clone to
/// make commits in and push from.
pub struct Remote {
    dir: TempDir,
    bare: PathBuf,
    work: PathBuf,
    socket: PathBuf,
    empty_tree: String,
}

/// What a push did.
#[derive(Debug)]
pub struct PushOutcome {
    /// The exit status of `git push`; `None` when it died by a signal.
    pub code: Option<i32>,
    pub stderr: String,
    /// Every ref of the bare repository before the push, name to id.
    pub before: BTreeMap<String, String>,
    /// Every ref of the bare repository after the push.
    pub after: BTreeMap<String, String>,
}

impl PushOutcome {
    /// Returns whether `refname` changed in the bare repository (created, updated
    /// or deleted).
    pub fn moved(&self, refname: &str) -> bool {
        self.before.get(refname) != self.after.get(refname)
    }

    /// The lines the hook printed, without git's `remote: ` prefix.
    pub fn remote_lines(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter_map(|line| line.strip_prefix("remote: "))
            .collect()
    }

    /// Returns the hook's output as one text.
    pub fn remote_text(&self) -> String {
        let mut text = self.remote_lines().join("\n");
        text.push('\n');
        text
    }
}

/// How to run one push: pusher, extra environment and arguments.
#[derive(Clone, Debug)]
pub struct PushSpec {
    /// The value of [`PUSHER_VARIABLE`]; `None` leaves it unset.
    pub pusher: Option<String>,
    pub env: Vec<(String, String)>,
    /// Arguments after `git push origin`: refspecs and options.
    pub args: Vec<String>,
}

impl PushSpec {
    pub fn new(args: &[&str]) -> PushSpec {
        PushSpec {
            pusher: Some(DEFAULT_PUSHER.to_owned()),
            env: Vec::new(),
            args: args.iter().map(|arg| (*arg).to_owned()).collect(),
        }
    }

    pub fn pusher(mut self, pusher: Option<&str>) -> PushSpec {
        self.pusher = pusher.map(str::to_owned);
        self
    }

    pub fn env(mut self, name: &str, value: &str) -> PushSpec {
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }
}

impl Remote {
    /// Creates `<repo_root>/<name>.git` with the hook and a work clone whose
    /// pushes go to the daemon at `socket`.
    pub fn new(repo_root: &Path, name: &str, socket: &Path) -> Remote {
        let dir = tempfile::Builder::new()
            .prefix("foureyes-remote-")
            .tempdir()
            .expect("cannot create a temporary directory");
        let home = dir.path().join("home");
        fs::create_dir(&home).expect("cannot create the temporary HOME");
        let bare = repo_root.join(format!("{name}.git"));
        let work = dir.path().join("work");
        let mut remote = Remote {
            dir,
            bare,
            work,
            socket: socket.to_path_buf(),
            empty_tree: String::new(),
        };

        remote.git_in(
            repo_root,
            &[
                "init",
                "--quiet",
                "--bare",
                "-b",
                "main",
                &format!("{name}.git"),
            ],
        );
        let hook = remote.bare.join("hooks/pre-receive");
        fs::copy(HOOK_SOURCE, &hook).expect("cannot install the pre-receive hook");

        remote.git_in(
            remote.dir.path(),
            &["init", "--quiet", "-b", "main", "work"],
        );
        let bare = remote
            .bare
            .to_str()
            .expect("temporary paths are UTF-8")
            .to_owned();
        remote.git(&["remote", "add", "origin", &bare]);
        remote.set_user(DAVE);
        remote.empty_tree = remote.git(&["mktree"]);
        remote
    }

    /// Returns the bare repository's git directory.
    pub fn bare(&self) -> &Path {
        &self.bare
    }

    /// Returns the work clone's directory.
    pub fn work(&self) -> &Path {
        &self.work
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// Sets `user.name` and `user.email` of the work clone.
    pub fn set_user(&self, author: Author) {
        self.git(&["config", "user.name", author.name]);
        self.git(&["config", "user.email", author.email]);
    }

    /// Runs git in the work clone and returns its stdout; panics on failure.
    pub fn git(&self, args: &[&str]) -> String {
        self.git_in(&self.work, args)
    }

    /// Runs git in the bare repository and returns its stdout.
    pub fn git_bare(&self, args: &[&str]) -> String {
        self.git_in(&self.bare, args)
    }

    fn git_in(&self, dir: &Path, args: &[&str]) -> String {
        let mut command = git_command(&self.home(), dir);
        command.args(args);
        let output = run_with_input(&mut command, b"");
        checked_stdout(&command, output)
    }

    /// Writes a commit object with the exact `message`, by `author`, with
    /// the tree of the first parent (or the empty tree), and returns its id.
    pub fn commit_tree(&self, parents: &[&str], author: Author, message: &str) -> String {
        let tree = match parents.first() {
            Some(parent) => self.git(&["rev-parse", &format!("{parent}^{{tree}}")]),
            None => self.empty_tree.clone(),
        };
        let mut command = git_command(&self.home(), &self.work);
        command.arg("commit-tree").arg(&tree);
        for parent in parents {
            command.arg("-p").arg(parent);
        }
        command
            .env("GIT_AUTHOR_NAME", author.name)
            .env("GIT_AUTHOR_EMAIL", author.email)
            .env("GIT_COMMITTER_NAME", author.name)
            .env("GIT_COMMITTER_EMAIL", author.email);
        let output = run_with_input(&mut command, message.as_bytes());
        checked_stdout(&command, output)
    }

    /// Commits `message` on top of `branch` of the work clone (creating the
    /// branch when missing) and returns the new commit's id.
    pub fn commit(&self, branch: &str, author: Author, message: &str) -> String {
        let refname = format!("refs/heads/{branch}");
        let parent = self.rev_parse_work(&refname);
        let parents: Vec<&str> = parent.iter().map(String::as_str).collect();
        let id = self.commit_tree(&parents, author, message);
        self.git(&["update-ref", &refname, &id]);
        id
    }

    /// Makes `count` commits on `branch` by `author`, each reviewed by
    /// `reviewers`, subjects numbered from 1; returns the ids, oldest first.
    pub fn commits(
        &self,
        branch: &str,
        count: usize,
        author: Author,
        reviewers: &[Author],
    ) -> Vec<String> {
        (1..=count)
            .map(|number| {
                let subject = format!("Change {number} on {branch}");
                self.commit(branch, author, &reviewed(&subject, reviewers))
            })
            .collect()
    }

    /// Returns the id `name` resolves to in the work clone, if it exists.
    pub fn rev_parse_work(&self, name: &str) -> Option<String> {
        let mut command = git_command(&self.home(), &self.work);
        command.args(["rev-parse", "--verify", "--quiet", name]);
        let output = run_with_input(&mut command, b"");
        output.status.success().then(|| {
            String::from_utf8(output.stdout)
                .expect("object ids are ASCII")
                .trim()
                .to_owned()
        })
    }

    /// Lists every ref of the bare repository, name to id.
    pub fn bare_refs(&self) -> BTreeMap<String, String> {
        self.git_bare(&["for-each-ref", "--format=%(refname) %(objectname)"])
            .lines()
            .filter_map(|line| line.split_once(' '))
            .map(|(name, id)| (name.to_owned(), id.to_owned()))
            .collect()
    }

    /// Runs `git push origin ARGS...` as [`DEFAULT_PUSHER`].
    pub fn push(&self, args: &[&str]) -> PushOutcome {
        self.push_with(&PushSpec::new(args))
    }

    /// Runs the real `git push` with the hook pointed at the daemon.
    pub fn push_with(&self, spec: &PushSpec) -> PushOutcome {
        let before = self.bare_refs();
        let mut command = git_command(&self.home(), &self.work);
        command
            .args(["push", "--porcelain", "origin"])
            .args(&spec.args)
            .env("FOUREYES_BIN", FOUREYES_BIN)
            .env("FOUREYES_SOCKET", &self.socket)
            .env("FOUREYES_TIMEOUT_MS", CLIENT_TIMEOUT_MS);
        if let Some(pusher) = &spec.pusher {
            command.env(PUSHER_VARIABLE, pusher);
        }
        for (name, value) in &spec.env {
            command.env(name, value);
        }
        let output = run_with_input(&mut command, b"");
        PushOutcome {
            code: output.status.code(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            before,
            after: self.bare_refs(),
        }
    }

    /// Runs `foureyes hook pre-receive` directly in the bare repository, as
    /// git would, with `updates` on standard input.
    pub fn run_hook(&self, updates: &str) -> Output {
        let mut command = Command::new(FOUREYES_BIN);
        command
            .args(["hook", "pre-receive"])
            .current_dir(&self.bare)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("GIT_DIR", ".")
            .env("FOUREYES_SOCKET", &self.socket)
            .env("FOUREYES_TIMEOUT_MS", CLIENT_TIMEOUT_MS)
            .env(PUSHER_VARIABLE, DEFAULT_PUSHER);
        run_with_input(&mut command, updates.as_bytes())
    }
}

/// One syslog record, split into its priority and its `key=value` fields.
#[derive(Clone, Debug)]
pub struct SyslogRecord {
    pub raw: String,
    /// `facility * 8 + severity`.
    pub priority: u8,
    pub fields: BTreeMap<String, String>,
}

impl SyslogRecord {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields.get(key).map(String::as_str)
    }

    pub fn severity(&self) -> u8 {
        self.priority % 8
    }

    pub fn facility(&self) -> u8 {
        self.priority / 8
    }
}

/// Parses a syslog datagram: `<PRI>`, a header that contains `ident` (the
/// RFC 3164 `Mmm dd hh:mm:ss ident[pid]:` or just `ident:`), then
/// `key=value` fields after the first `": "` that follows the ident.
pub fn parse_record(raw: &str, ident: &str) -> Result<SyslogRecord, String> {
    let rest = raw
        .strip_prefix('<')
        .ok_or_else(|| format!("record {raw:?} does not start with <PRI>"))?;
    let (priority, rest) = rest
        .split_once('>')
        .ok_or_else(|| format!("record {raw:?} has no closing > after the priority"))?;
    let priority: u8 = priority
        .parse()
        .map_err(|_| format!("record {raw:?} has an invalid priority {priority:?}"))?;
    let at = rest
        .find(ident)
        .ok_or_else(|| format!("record {raw:?} does not contain the ident {ident:?}"))?;
    let after_ident = &rest[at + ident.len()..];
    let colon = after_ident
        .find(": ")
        .ok_or_else(|| format!("record {raw:?} has no \": \" after the ident"))?;
    let fields = parse_fields(&after_ident[colon + 2..])?;
    Ok(SyslogRecord {
        raw: raw.to_owned(),
        priority,
        fields,
    })
}

/// Parses space-separated `key=value` fields. A value is either bare (up to
/// the next space) or double-quoted with backslash escapes (`\"`, `\\`,
/// `\n`, `\r`, `\t`, `\xHH`, `\u{H..}`).
///
/// NOTE: a word without `=` is taken as the continuation of the previous
/// bare value, joined with one space, so that records of a sender that
/// leaves values with spaces unquoted still parse. A key that repeats
/// keeps its last value.
pub fn parse_fields(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut fields = BTreeMap::new();
    let mut last_key: Option<String> = None;
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek() == Some(&' ') {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut word = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c == ' ' {
                break;
            }
            word.push(c);
            chars.next();
        }
        if chars.peek() != Some(&'=') {
            let key = last_key
                .as_ref()
                .ok_or_else(|| format!("fields {text:?} start with {word:?}, not key=value"))?;
            let value: &mut String = fields.get_mut(key).expect("the last key was inserted");
            value.push(' ');
            value.push_str(&word);
            continue;
        }
        chars.next();
        let value = if chars.peek() == Some(&'"') {
            chars.next();
            let value = parse_quoted(&mut chars).map_err(|err| format!("{err} in {text:?}"))?;
            // A quoted value cannot be continued by later bare words.
            last_key = None;
            fields.insert(word, value);
            continue;
        } else {
            let mut value = String::new();
            while let Some(&c) = chars.peek() {
                if c == ' ' {
                    break;
                }
                value.push(c);
                chars.next();
            }
            value
        };
        last_key = Some(word.clone());
        fields.insert(word, value);
    }
    Ok(fields)
}

/// Reads a quoted value up to its closing quote; the opening quote is
/// already consumed.
fn parse_quoted(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Result<String, String> {
    let mut value = String::new();
    loop {
        match chars.next() {
            None => return Err("unterminated quoted value".into()),
            Some('"') => return Ok(value),
            Some('\\') => match chars.next() {
                None => return Err("backslash at the end of a quoted value".into()),
                Some('n') => value.push('\n'),
                Some('r') => value.push('\r'),
                Some('t') => value.push('\t'),
                Some('x') => {
                    let hex: String = chars.by_ref().take(2).collect();
                    let code = u32::from_str_radix(&hex, 16)
                        .map_err(|_| format!("invalid escape \\x{hex}"))?;
                    value.push(char::from_u32(code).expect("two hex digits are a valid char"));
                }
                Some('u') => {
                    if chars.next() != Some('{') {
                        return Err("invalid escape \\u without {".into());
                    }
                    let hex: String = chars.by_ref().take_while(|&c| c != '}').collect();
                    let code = u32::from_str_radix(&hex, 16)
                        .ok()
                        .and_then(char::from_u32)
                        .ok_or_else(|| format!("invalid escape \\u{{{hex}}}"))?;
                    value.push(code);
                }
                Some(other) => value.push(other),
            },
            Some(c) => value.push(c),
        }
    }
}

/// A syslog server stand-in: a datagram socket at a temporary path whose
/// datagrams a background thread collects.
struct SyslogReceiver {
    path: PathBuf,
    datagrams: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    markers: AtomicUsize,
}

/// Prefix of the datagrams the harness sends itself to learn that every
/// earlier datagram was collected.
const MARKER_PREFIX: &str = "foureyes-test-marker ";

impl SyslogReceiver {
    fn bind(path: PathBuf) -> SyslogReceiver {
        let socket = UnixDatagram::bind(&path)
            .unwrap_or_else(|err| panic!("cannot bind syslog socket {}: {err}", path.display()));
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .expect("a positive timeout is valid");
        let datagrams = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let datagrams = datagrams.clone();
            let stop = stop.clone();
            thread::spawn(move || {
                let mut buffer = vec![0u8; 256 * 1024];
                while !stop.load(Ordering::SeqCst) {
                    match socket.recv(&mut buffer) {
                        Ok(length) => {
                            let text = String::from_utf8_lossy(&buffer[..length]).into_owned();
                            datagrams
                                .lock()
                                .expect("the collector never panics holding the lock")
                                .push(text);
                        }
                        Err(err)
                            if matches!(
                                err.kind(),
                                ErrorKind::WouldBlock
                                    | ErrorKind::TimedOut
                                    | ErrorKind::Interrupted
                            ) => {}
                        Err(err) => panic!("syslog socket receive failed: {err}"),
                    }
                }
            })
        };
        SyslogReceiver {
            path,
            datagrams,
            stop,
            thread: Some(thread),
            markers: AtomicUsize::new(0),
        }
    }

    /// Returns every datagram received so far. Unix datagram sockets keep
    /// order, so once a marker sent now is collected, so is everything the
    /// daemon sent before this call.
    fn collect(&self) -> Vec<String> {
        let number = self.markers.fetch_add(1, Ordering::SeqCst);
        let marker = format!("{MARKER_PREFIX}{number}");
        let sender = UnixDatagram::unbound().expect("cannot create a datagram socket");
        sender
            .send_to(marker.as_bytes(), &self.path)
            .expect("cannot send a marker to the syslog socket");
        let started = Instant::now();
        loop {
            {
                let datagrams = self
                    .datagrams
                    .lock()
                    .expect("the collector never panics holding the lock");
                if datagrams.contains(&marker) {
                    return datagrams
                        .iter()
                        .filter(|datagram| !datagram.starts_with(MARKER_PREFIX))
                        .cloned()
                        .collect();
                }
            }
            assert!(
                started.elapsed() < STARTUP_TIMEOUT,
                "syslog marker not received within {STARTUP_TIMEOUT:?}"
            );
            thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for SyslogReceiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A running `foureyesd` with its own configuration, repo root, socket and
/// syslog receiver; killed and reaped on drop.
pub struct Daemon {
    dir: TempDir,
    child: Child,
    socket: PathBuf,
    syslog: SyslogReceiver,
}

impl Daemon {
    /// Writes the configuration, starts the daemon and waits until its
    /// socket accepts connections.
    pub fn start(config: &Config) -> Daemon {
        let dir = tempfile::Builder::new()
            .prefix("foureyesd-")
            .tempdir()
            .expect("cannot create a temporary directory");
        let socket = dir.path().join("foureyes.sock");
        let repo_root = dir.path().join("repos");
        fs::create_dir(&repo_root).expect("cannot create the repo root");
        let syslog = SyslogReceiver::bind(dir.path().join("syslog.sock"));
        let config_path = dir.path().join("foureyes.toml");
        fs::write(
            &config_path,
            config.to_toml(&socket, &repo_root, &syslog.path),
        )
        .expect("cannot write the configuration");

        let log = fs::File::create(dir.path().join("foureyesd.log"))
            .expect("cannot create the daemon log");
        let child = Command::new(FOUREYESD_BIN)
            .arg("--config")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("cannot start foureyesd");
        let mut daemon = Daemon {
            dir,
            child,
            socket,
            syslog,
        };
        daemon.wait_until_listening();
        daemon
    }

    fn wait_until_listening(&mut self) {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("cannot poll foureyesd") {
                panic!(
                    "foureyesd exited with {status} before listening:\n{}",
                    self.log()
                );
            }
            if UnixStream::connect(&self.socket).is_ok() {
                return;
            }
            assert!(
                started.elapsed() < STARTUP_TIMEOUT,
                "foureyesd did not listen on {} within {STARTUP_TIMEOUT:?}:\n{}",
                self.socket.display(),
                self.log()
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn repo_root(&self) -> PathBuf {
        self.dir.path().join("repos")
    }

    /// Returns the daemon's diagnostics so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("foureyesd.log")).unwrap_or_default()
    }

    /// Creates a bare repository under the repo root whose pushes go to
    /// this daemon.
    pub fn remote(&self, name: &str) -> Remote {
        Remote::new(&self.repo_root(), name, &self.socket)
    }

    /// Removes the syslog socket, so that every later audit record fails
    /// to send. [`Daemon::records`] must not be called afterwards.
    pub fn remove_syslog_socket(&self) {
        fs::remove_file(&self.syslog.path).expect("cannot remove the syslog socket");
    }

    /// Returns every syslog record the daemon has sent, in order.
    pub fn records(&self) -> Vec<SyslogRecord> {
        self.syslog
            .collect()
            .iter()
            .map(|raw| parse_record(raw, SYSLOG_IDENT).unwrap_or_else(|err| panic!("{err}")))
            .collect()
    }

    /// Returns the records about `refname`.
    pub fn records_for(&self, refname: &str) -> Vec<SyslogRecord> {
        self.records()
            .into_iter()
            .filter(|record| record.get("ref") == Some(refname))
            .collect()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `foureyes explain` with `args`, feeding `stdin`.
pub fn explain(args: &[&str], stdin: &str) -> Output {
    let mut command = Command::new(FOUREYES_BIN);
    command
        .arg("explain")
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    run_with_input(&mut command, stdin.as_bytes())
}

#[test]
fn parse_record_formats() {
    type Case<'a> = (&'a str, u8, &'a [(&'a str, &'a str)]);
    let cases: &[Case] = &[
        (
            "<85>foureyes: decision=accept ref=refs/heads/main",
            85,
            &[("decision", "accept"), ("ref", "refs/heads/main")],
        ),
        (
            "<84>Dec  4 15:46:01 foureyes[123]: decision=reject pusher=\"\" problems=\"a \\\"b\\\" c\\\\d\\n\"",
            84,
            &[
                ("decision", "reject"),
                ("pusher", ""),
                ("problems", "a \"b\" c\\d\n"),
            ],
        ),
        (
            "<84>foureyes: pusher= problems=two words",
            84,
            &[("pusher", ""), ("problems", "two words")],
        ),
        (
            "<85>foureyes: subject=\"x\\x1by\\u{7f}\"",
            85,
            &[("subject", "x\u{1b}y\u{7f}")],
        ),
    ];
    for (raw, priority, fields) in cases {
        let record = parse_record(raw, SYSLOG_IDENT).unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(record.priority, *priority, "priority of {raw:?}");
        for (key, value) in *fields {
            assert_eq!(record.get(key), Some(*value), "field {key} of {raw:?}");
        }
        assert_eq!(record.fields.len(), fields.len(), "field count of {raw:?}");
    }
}

#[test]
fn parse_record_rejects_garbage() {
    for raw in [
        "no priority",
        "<x>foureyes: a=b",
        "<85>other: a=b",
        "<85>foureyes: a=\"open",
    ] {
        assert!(parse_record(raw, SYSLOG_IDENT).is_err(), "{raw:?} parsed");
    }
}
