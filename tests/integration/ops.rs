//! The ops commands against real repositories, a real daemon and real git:
//! `check-config`, `install-hook`, `doctor`, `generate`, `foureyesd`'s start
//! checks, and every example configuration in the documentation.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::{
    ALICE, BOB, Config, DEFAULT_PUSHER, Daemon, FOUREYES_BIN, FOUREYESD_BIN, PUSHER_VARIABLE,
    Remote, git_command, reviewed, run_with_input,
};

/// Runs `foureyes ARGS` with an empty environment besides `PATH`.
fn foureyes(args: &[&str]) -> Output {
    let mut command = Command::new(FOUREYES_BIN);
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    run_with_input(&mut command, b"")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

/// Returns a team and one rule on `refs/heads/main` with extra `settings`.
fn protect_main(settings: &str) -> Config {
    Config::team().rule("main", &["refs/heads/main"], settings)
}

/// Creates a repository of `daemon` whose hook is removed, so each test
/// installs its own.
fn remote_without_hook(daemon: &Daemon, name: &str) -> Remote {
    let remote = daemon.remote(name);
    fs::remove_file(remote.bare().join("hooks/pre-receive")).expect("remove the harness hook");
    remote
}

/// Pushes `main` with nothing but the pusher in the environment, so the
/// hook runs on the binary and socket written into it.
fn push_plain(remote: &Remote) -> Output {
    let mut command = git_command(&remote.home(), remote.work());
    command
        .args(["push", "origin", "main"])
        .env(PUSHER_VARIABLE, DEFAULT_PUSHER);
    run_with_input(&mut command, b"")
}

fn install(remote: &Remote, daemon: &Daemon, extra: &[&str]) -> Output {
    let mut args = vec!["install-hook", "--socket", path_str(daemon.socket())];
    args.extend_from_slice(extra);
    args.push(path_str(remote.bare()));
    foureyes(&args)
}

/// Runs `foureyes doctor --config CONFIG REPO` and returns its lines.
fn doctor(daemon: &Daemon, remote: &Remote) -> (Output, Vec<String>) {
    let config = daemon.config_path();
    let output = foureyes(&[
        "doctor",
        "--config",
        path_str(&config),
        path_str(remote.bare()),
    ]);
    let lines = stdout(&output).lines().map(str::to_owned).collect();
    (output, lines)
}

/// Returns the one line that contains `needle`, panicking with all lines
/// when there is not exactly one.
fn line_with<'a>(lines: &'a [String], needle: &str) -> &'a str {
    let found: Vec<&String> = lines.iter().filter(|line| line.contains(needle)).collect();
    assert_eq!(found.len(), 1, "lines with {needle:?} in {lines:#?}");
    found[0]
}

// --- install-hook -------------------------------------------------------------

#[test]
fn installed_hook_checks_push() {
    let daemon = Daemon::start(&protect_main("min_reviewers = 1"));
    let remote = remote_without_hook(&daemon, "installed");

    let output = install(&remote, &daemon, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("installed"), "{}", stdout(&output));

    remote.commit("main", ALICE, "Unreviewed\n");
    let rejected = push_plain(&remote);
    assert!(!rejected.status.success(), "{}", stderr(&rejected));
    assert!(
        stderr(&rejected).contains("refs/heads/main: rejected by rule \"main\""),
        "{}",
        stderr(&rejected)
    );

    let id = remote.commit_tree(&[], ALICE, &reviewed("Reviewed", &[BOB]));
    remote.git(&["update-ref", "refs/heads/main", &id]);
    let accepted = push_plain(&remote);
    assert!(accepted.status.success(), "{}", stderr(&accepted));
}

#[test]
fn install_hook_is_idempotent() {
    let daemon = Daemon::start(&protect_main("min_reviewers = 1"));
    let remote = remote_without_hook(&daemon, "twice");
    let hook = remote.bare().join("hooks/pre-receive");

    let first = install(&remote, &daemon, &[]);
    assert!(first.status.success(), "{}", stderr(&first));
    let text = fs::read_to_string(&hook).expect("hook written");
    let second = install(&remote, &daemon, &[]);
    assert!(second.status.success(), "{}", stderr(&second));

    assert!(
        stdout(&second).contains("already installed"),
        "{}",
        stdout(&second)
    );
    assert_eq!(fs::read_to_string(&hook).unwrap(), text);
    let mode = fs::metadata(&hook).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o755);
    assert_eq!(
        remote.git_bare(&["config", "--get", "receive.advertisePushOptions"]),
        "true"
    );
    assert!(text.contains(FOUREYES_BIN), "{text}");
    assert!(text.contains(path_str(daemon.socket())), "{text}");
}

#[test]
fn install_hook_keeps_other_hook() {
    let daemon = Daemon::start(&protect_main("min_reviewers = 1"));
    let remote = remote_without_hook(&daemon, "other");
    let hook = remote.bare().join("hooks/pre-receive");
    let other = "#!/bin/sh\necho site policy\n";
    fs::write(&hook, other).unwrap();
    fs::set_permissions(&hook, fs::Permissions::from_mode(0o755)).unwrap();

    let kept = install(&remote, &daemon, &[]);
    assert_eq!(kept.status.code(), Some(1));
    assert_eq!(fs::read_to_string(&hook).unwrap(), other);
    let message = stderr(&kept);
    assert!(message.contains("is not a foureyes hook"), "{message}");
    assert!(message.contains("--force"), "{message}");
    assert!(message.contains("pre-receive.local"), "{message}");

    let forced = install(&remote, &daemon, &["--force"]);
    assert!(forced.status.success(), "{}", stderr(&forced));
    assert!(stdout(&forced).contains("replaced"), "{}", stdout(&forced));
    assert_ne!(fs::read_to_string(&hook).unwrap(), other);
}

#[test]
fn install_hook_layouts() {
    let daemon = Daemon::start(&protect_main("min_reviewers = 1"));

    // A Gitea or Forgejo repository: its own hooks/pre-receive dispatches to
    // hooks/pre-receive.d, and must stay as it is.
    let gitea = daemon.remote("gitea");
    let dispatcher = fs::read_to_string(gitea.bare().join("hooks/pre-receive")).unwrap();
    fs::create_dir(gitea.bare().join("hooks/pre-receive.d")).unwrap();
    let output = install(&gitea, &daemon, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("(gitea layout)"),
        "{}",
        stdout(&output)
    );
    let installed = gitea.bare().join("hooks/pre-receive.d/foureyes");
    assert!(installed.is_file());
    assert_eq!(
        fs::read_to_string(gitea.bare().join("hooks/pre-receive")).unwrap(),
        dispatcher
    );

    let gitlab = remote_without_hook(&daemon, "gitlab");
    let output = install(&gitlab, &daemon, &["--layout", "gitlab"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let installed = gitlab.bare().join("custom_hooks/pre-receive.d/foureyes");
    let mode = fs::metadata(&installed).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o755);
    assert!(!gitlab.bare().join("hooks/pre-receive").exists());
}

#[test]
fn install_hook_warns_about_hooks_path() {
    let daemon = Daemon::start(&protect_main("min_reviewers = 1"));
    let remote = remote_without_hook(&daemon, "shadowed");
    remote.git_bare(&["config", "core.hooksPath", "/nonexistent/hooks"]);

    let output = install(&remote, &daemon, &[]);

    assert_eq!(output.status.code(), Some(1));
    assert!(remote.bare().join("hooks/pre-receive").is_file());
    assert!(
        stderr(&output).contains("core.hooksPath is set"),
        "{}",
        stderr(&output)
    );
}

// --- doctor -------------------------------------------------------------------

#[test]
fn doctor_healthy_repository() {
    let daemon = Daemon::start(&protect_main("min_reviewers = 1"));
    let remote = remote_without_hook(&daemon, "healthy");
    assert!(install(&remote, &daemon, &[]).status.success());

    let (output, lines) = doctor(&daemon, &remote);

    assert_eq!(output.status.code(), Some(0), "{lines:#?}");
    assert!(
        lines.iter().all(|line| line.starts_with("ok: ")),
        "{lines:#?}"
    );
    assert!(
        line_with(&lines, "daemon /").contains("foureyesd answers"),
        "{lines:#?}"
    );
    assert!(
        line_with(&lines, ": rules:").contains("healthy.git: main (refs/heads/main)"),
        "{lines:#?}"
    );
}

/// git runs no hook that is not executable, and accepts the push: the
/// failure doctor looks for.
#[test]
fn doctor_finds_non_executable_hook() {
    let daemon = Daemon::start(&protect_main("min_reviewers = 1"));
    let remote = remote_without_hook(&daemon, "noexec");
    assert!(install(&remote, &daemon, &[]).status.success());
    let hook = remote.bare().join("hooks/pre-receive");
    fs::set_permissions(&hook, fs::Permissions::from_mode(0o644)).unwrap();

    remote.commit("main", ALICE, "Unreviewed\n");
    let push = push_plain(&remote);
    assert!(push.status.success(), "git ran the hook: {}", stderr(&push));

    let (output, lines) = doctor(&daemon, &remote);
    assert_eq!(output.status.code(), Some(1));
    let line = line_with(&lines, ": hook:");
    assert!(line.starts_with("problem: "), "{line}");
    assert!(line.contains("is not executable"), "{line}");
    assert!(line.contains("fix: chmod 755"), "{line}");
}

#[test]
fn doctor_finds_missing_syslog_socket() {
    let daemon = Daemon::start(&protect_main("min_reviewers = 1"));
    let remote = remote_without_hook(&daemon, "nosyslog");
    assert!(install(&remote, &daemon, &[]).status.success());
    daemon.remove_syslog_socket();

    let (output, lines) = doctor(&daemon, &remote);

    assert_eq!(output.status.code(), Some(1), "{lines:#?}");
    let line = line_with(&lines, "syslog socket");
    assert!(line.starts_with("problem: "), "{line}");
    assert!(line.contains("does not accept datagrams"), "{line}");
}

#[test]
fn doctor_with_invalid_config_checks_hook_socket() {
    // An invalid file names no daemon socket, so doctor must not advise
    // moving a working hook to the default socket.
    let daemon = Daemon::start(&protect_main("min_reviewers = 1"));
    let remote = remote_without_hook(&daemon, "badconfig");
    assert!(install(&remote, &daemon, &[]).status.success());
    let broken = daemon.config_path().with_file_name("broken.toml");
    fs::write(
        &broken,
        "[[rule]]\nname = \"x\"\nrefs = [\"refs/heads/main\"]\nmin_reviewers = \"two\"\n",
    )
    .unwrap();

    let output = foureyes(&[
        "doctor",
        "--config",
        path_str(&broken),
        path_str(remote.bare()),
    ]);
    let lines: Vec<String> = stdout(&output).lines().map(str::to_owned).collect();

    assert_eq!(output.status.code(), Some(1), "{lines:#?}");
    assert!(
        line_with(&lines, "config ").starts_with("problem: "),
        "{lines:#?}"
    );
    let hook = line_with(&lines, ": hook command:");
    assert!(hook.starts_with("ok: "), "{hook}");
    assert!(hook.contains("a daemon answers on its socket"), "{hook}");
    assert!(
        !lines
            .iter()
            .any(|line| line.contains("install-hook --socket")),
        "{lines:#?}"
    );
}

#[test]
fn doctor_finds_dangling_symlink() {
    let daemon = Daemon::start(&protect_main("min_reviewers = 1"));
    let remote = remote_without_hook(&daemon, "dangling");
    let hook = remote.bare().join("hooks/pre-receive");
    std::os::unix::fs::symlink("/nonexistent/foureyes-hook", &hook).unwrap();

    let (output, lines) = doctor(&daemon, &remote);

    assert_eq!(output.status.code(), Some(1));
    let line = line_with(&lines, ": hook:");
    assert!(line.starts_with("problem: "), "{line}");
    assert!(line.contains("dangling symlink"), "{line}");
}

#[test]
fn doctor_finds_hooks_path_shadow() {
    let daemon = Daemon::start(&protect_main("min_reviewers = 1"));
    let remote = remote_without_hook(&daemon, "hookspath");
    assert!(install(&remote, &daemon, &[]).status.success());
    let elsewhere = remote.home().join("shared-hooks");
    fs::create_dir(&elsewhere).unwrap();
    remote.git_bare(&["config", "core.hooksPath", path_str(&elsewhere)]);

    remote.commit("main", ALICE, "Unreviewed\n");
    let push = push_plain(&remote);
    assert!(push.status.success(), "git ran the hook: {}", stderr(&push));

    let (output, lines) = doctor(&daemon, &remote);
    assert_eq!(output.status.code(), Some(1));
    let directory = line_with(&lines, "hooks directory");
    assert!(directory.contains("core.hooksPath is set"), "{directory}");
    let hook = line_with(&lines, ": hook:");
    assert!(hook.starts_with("problem: "), "{hook}");
    assert!(
        hook.contains(&format!(
            "{}/pre-receive does not exist",
            elsewhere.display()
        )),
        "{hook}"
    );
    assert!(hook.contains("unset core.hooksPath"), "{hook}");
}

#[test]
fn doctor_finds_foreign_hook() {
    let daemon = Daemon::start(&protect_main("min_reviewers = 1"));
    let remote = remote_without_hook(&daemon, "foreign");
    let hook = remote.bare().join("hooks/pre-receive");
    fs::write(&hook, "#!/bin/sh\nexit 0\n").unwrap();
    fs::set_permissions(&hook, fs::Permissions::from_mode(0o755)).unwrap();

    let (output, lines) = doctor(&daemon, &remote);

    assert_eq!(output.status.code(), Some(1));
    let line = line_with(&lines, "hook command");
    assert!(line.starts_with("problem: "), "{line}");
    assert!(
        line.contains("does not run foureyes hook pre-receive"),
        "{line}"
    );
}

#[test]
fn doctor_finds_missing_daemon() {
    let daemon = Daemon::start(&protect_main("min_reviewers = 1"));
    let remote = remote_without_hook(&daemon, "nodaemon");
    let missing = remote.home().join("missing.sock");
    let output = foureyes(&[
        "install-hook",
        "--socket",
        path_str(&missing),
        path_str(remote.bare()),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));

    let mut command = Command::new(FOUREYES_BIN);
    command
        .args(["doctor", path_str(remote.bare())])
        .env_clear()
        .env("FOUREYES_SOCKET", &missing);
    let output = run_with_input(&mut command, b"");
    let lines: Vec<String> = stdout(&output).lines().map(str::to_owned).collect();

    assert_eq!(output.status.code(), Some(1));
    let line = line_with(&lines, "daemon /");
    assert!(line.starts_with("problem: "), "{line}");
    assert!(line.contains("cannot connect"), "{line}");
}

#[test]
fn doctor_finds_wrong_socket_in_hook() {
    let daemon = Daemon::start(&protect_main("min_reviewers = 1"));
    let remote = remote_without_hook(&daemon, "wrongsocket");
    let output = foureyes(&["install-hook", path_str(remote.bare())]);
    assert!(output.status.success(), "{}", stderr(&output));

    let (output, lines) = doctor(&daemon, &remote);

    assert_eq!(output.status.code(), Some(1));
    let line = line_with(&lines, "hook command");
    assert!(line.starts_with("problem: "), "{line}");
    assert!(line.contains("/run/foureyes/foureyes.sock"), "{line}");
    assert!(line.contains("install-hook --socket"), "{line}");
}

#[test]
fn doctor_needs_push_options_for_break_glass() {
    let config = Config::team().raw("[groups]\nops = [\"erin\"]").rule(
        "main",
        &["refs/heads/main"],
        "break_glass_groups = [\"ops\"]",
    );
    let daemon = Daemon::start(&config);
    let remote = daemon.remote("breakglass");

    let (output, lines) = doctor(&daemon, &remote);
    assert_eq!(output.status.code(), Some(1));
    let line = line_with(&lines, "push options");
    assert!(line.starts_with("problem: "), "{line}");
    assert!(line.contains("break_glass_groups"), "{line}");

    remote.git_bare(&["config", "receive.advertisePushOptions", "true"]);
    let (_, lines) = doctor(&daemon, &remote);
    assert!(
        line_with(&lines, "push options").starts_with("ok: "),
        "{lines:#?}"
    );
}

#[test]
fn doctor_finds_repository_outside_roots() {
    let daemon = Daemon::start(&protect_main("min_reviewers = 1"));
    let elsewhere = tempfile::tempdir().unwrap();
    let remote = Remote::new(elsewhere.path(), "outside", daemon.socket());

    let (output, lines) = doctor(&daemon, &remote);

    assert_eq!(output.status.code(), Some(1));
    let line = line_with(&lines, ": rules:");
    assert!(line.starts_with("problem: "), "{line}");
    assert!(line.contains("repo_roots"), "{line}");
}

// --- check-config and foureyesd's start checks ----------------------------------

/// Writes `text` as a configuration with `mode` into a fresh private
/// directory.
fn config_file(text: &str, mode: u32) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("foureyes.toml");
    fs::write(&path, text).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
    (dir, path)
}

/// Returns a configuration whose daemon would start, with its socket and
/// syslog socket in `dir`.
fn startable(dir: &Path, rules: &str) -> String {
    format!(
        "[daemon]\nsocket = \"{dir}/foureyes.sock\"\nrepo_roots = [\"{dir}\"]\n\n\
         [syslog]\nsocket = \"{dir}/log\"\n\n\
         [[person]]\nid = \"alice\"\nemails = [\"alice@example.com\"]\n\n{rules}",
        dir = dir.display()
    )
}

const GOOD_RULE: &str = "[[rule]]\nname = \"main\"\nrefs = [\"refs/heads/main\"]\n";

const BAD_RULE: &str =
    "[[rule]]\nname = \"main\"\nrefs = [\"refs/heads/main\"]\nreviewer_groups = [\"nobody\"]\n";

#[test]
fn check_config_valid() {
    let dir = tempfile::tempdir().unwrap();
    let (_config_dir, path) = config_file(&startable(dir.path(), GOOD_RULE), 0o600);

    let output = foureyes(&["check-config", path_str(&path)]);

    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("1 person, 0 groups, 1 rule"), "{text}");
    assert!(
        text.contains("rule \"main\" protects refs/heads/main"),
        "{text}"
    );
}

#[test]
fn check_config_reports_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    let rules = format!("{BAD_RULE}\n[[rule]]\nname = \"tags\"\nrefs = [\"tags/*\"]\n");
    let (_config_dir, path) = config_file(&startable(dir.path(), &rules), 0o620);

    let output = foureyes(&["check-config", path_str(&path)]);

    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert!(text.contains("writable by group or others"), "{text}");
    assert!(text.contains(&format!("{}:15:", path.display())), "{text}");
    assert!(text.contains("nobody"), "{text}");
    assert!(
        text.contains("15 | reviewer_groups = [\"nobody\"]"),
        "{text}"
    );
    assert!(text.contains("^^^"), "{text}");
    assert!(text.contains("tags/*"), "{text}");
    assert!(text.contains("3 problems found"), "{text}");
}

#[test]
fn check_config_missing_file_one_problem() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.toml");

    let output = foureyes(&["check-config", path_str(&path)]);

    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert!(text.contains("cannot read the file"), "{text}");
    assert!(text.contains("1 problem found"), "{text}");
}

/// Runs foureyesd on `path` and returns its output once it exits. A daemon
/// still running after 20 s has started, so the test fails.
fn run_daemon(path: &Path) -> Output {
    let mut child = Command::new(FOUREYESD_BIN)
        .arg("--config")
        .arg(path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start foureyesd");
    let started = Instant::now();
    while child.try_wait().expect("poll foureyesd").is_none() {
        if started.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("foureyesd started with {}", path.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("collect foureyesd output")
}

#[test]
fn daemon_rejects_invalid_config() {
    let dir = tempfile::tempdir().unwrap();
    let (_config_dir, path) = config_file(&startable(dir.path(), BAD_RULE), 0o600);

    let output = run_daemon(&path);

    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert!(text.contains(&format!("{}:15:", path.display())), "{text}");
    assert!(text.contains("nobody"), "{text}");
    assert!(!dir.path().join("foureyes.sock").exists());
}

#[test]
fn daemon_rejects_writable_config() {
    let dir = tempfile::tempdir().unwrap();
    let (_config_dir, path) = config_file(&startable(dir.path(), GOOD_RULE), 0o602);

    let output = run_daemon(&path);

    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert!(text.contains("writable by group or others"), "{text}");
    assert!(!dir.path().join("foureyes.sock").exists());
}

// --- generated files and documentation -------------------------------------------

#[test]
fn generate_writes_man_pages() {
    let dir = tempfile::tempdir().unwrap();
    let output = foureyes(&["generate", "man", path_str(dir.path())]);
    assert!(output.status.success(), "{}", stderr(&output));
    let page = fs::read_to_string(dir.path().join("foureyes-install-hook.1")).unwrap();
    assert!(page.contains("\\-\\-layout"), "{page}");
    assert!(dir.path().join("foureyesd.8").is_file());
}

/// Returns the ```toml blocks of a Markdown file.
fn toml_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match &mut current {
            None if line.trim() == "```toml" => current = Some(String::new()),
            None => {}
            Some(_) if line.trim() == "```" => blocks.push(current.take().unwrap()),
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
        }
    }
    blocks
}

fn markdown_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            markdown_files(&path, found);
        } else if path.extension().is_some_and(|extension| extension == "md") {
            found.push(path);
        }
    }
}

#[test]
fn documented_configs_load() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    markdown_files(&root.join("docs"), &mut files);
    let mut host_pages = 0;
    for file in &files {
        let text = fs::read_to_string(file).unwrap();
        let blocks = toml_blocks(&text);
        for (index, block) in blocks.iter().enumerate() {
            let name = PathBuf::from(format!("{}#{}", file.display(), index + 1));
            if let Err(err) = foureyes::config::parse(block, &name) {
                panic!(
                    "example configuration {} is invalid:\n{err}",
                    name.display()
                );
            }
        }
        let in_hosts = file
            .parent()
            .is_some_and(|parent| parent.ends_with("hosts"));
        if in_hosts && !file.ends_with("README.md") {
            assert!(
                !blocks.is_empty(),
                "{} has no example configuration",
                file.display()
            );
            host_pages += 1;
        }
    }
    assert_eq!(host_pages, 6, "host pages found: {files:?}");

    let example = root.join("config/foureyes.toml");
    let text = fs::read_to_string(&example).unwrap();
    if let Err(err) = foureyes::config::parse(&text, &example) {
        panic!("{err}");
    }
}
