//! `foureyes doctor`: finds the deployments that look protected but are not.
//!
//! git accepts a push without a word when the pre-receive hook is missing,
//! not executable, a dangling symlink, or outside `core.hooksPath`, and the
//! hook itself can only fail closed when it runs at all. So for each
//! repository this checks where git looks for the hook, that the file there
//! will run and execs foureyes, which rules apply, and whether push options
//! are advertised where break-glass needs them. Once per run it checks the
//! configuration and that the daemon sends its greeting on the socket.
//!
//! Every check prints one line, `ok: ...` or `problem: ...; fix: ...`. It
//! changes nothing.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde::Deserialize;

use crate::config::{self, Config};
use crate::hook::DEFAULT_SOCKET;
use crate::install::{self, Layout};
use crate::protocol::{self, Hello, Response};
use crate::server;

/// Time allowed for connecting to the daemon and reading its greeting.
const DAEMON_TIMEOUT: Duration = Duration::from_secs(2);

/// Largest greeting accepted from the daemon, as in the hook client.
const MAX_GREETING_BYTES: usize = 64 * 1024;

/// Options of `foureyes doctor`.
#[derive(Clone, Debug)]
pub struct Options {
    pub config: Option<PathBuf>,
    pub layout: Layout,
    pub repos: Vec<PathBuf>,
}

/// The result of one check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// The checked item: `config`, `daemon`, or a repository path and an
    /// aspect such as `hook`.
    pub subject: String,
    pub message: String,
    /// `None` when the check passed.
    pub fix: Option<String>,
}

impl Check {
    fn ok(subject: &str, message: impl Into<String>) -> Check {
        Check {
            subject: subject.to_owned(),
            message: message.into(),
            fix: None,
        }
    }

    fn problem(subject: &str, message: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            subject: subject.to_owned(),
            message: message.into(),
            fix: Some(fix.into()),
        }
    }

    pub fn is_ok(&self) -> bool {
        self.fix.is_none()
    }

    /// Renders `ok: subject: message` or `problem: subject: message; fix: ...`.
    pub fn line(&self) -> String {
        match &self.fix {
            None => format!("ok: {}: {}", self.subject, self.message),
            Some(fix) => format!("problem: {}: {}; fix: {fix}", self.subject, self.message),
        }
    }
}

/// Runs every check, printing each line to `out` as soon as it is known,
/// and returns whether all passed.
pub fn run(options: &Options, out: &mut impl Write) -> io::Result<bool> {
    let mut all_ok = true;
    let mut report = |check: Check, out: &mut dyn Write| -> io::Result<()> {
        all_ok &= check.is_ok();
        writeln!(out, "{}", check.line())
    };

    let config = match &options.config {
        Some(path) => {
            let (check, config) = check_config(path);
            report(check, out)?;
            config
        }
        None => None,
    };

    // Only a configuration that loads names the socket the daemon listens on; without
    // one, each hook's own socket is checked instead of compared.
    let known_socket = config.as_ref().map(|config| config.daemon.socket.clone());
    let from_env = std::env::var_os("FOUREYES_SOCKET")
        .filter(|value| !value.is_empty())
        .map(PathBuf::from);
    match (&known_socket, &from_env) {
        (Some(socket), _) | (None, Some(socket)) => report(check_daemon(socket), out)?,
        // The default socket is a guess; the hooks' own sockets are checked
        // below instead.
        (None, None) if !options.repos.is_empty() => {}
        (None, None) => report(check_daemon(Path::new(DEFAULT_SOCKET)), out)?,
    }
    if let Some(config) = &config {
        report(check_syslog(config), out)?;
    }

    for repo in &options.repos {
        for check in check_repository(
            repo,
            options.layout,
            config.as_ref(),
            known_socket.as_deref(),
        ) {
            report(check, out)?;
        }
    }
    Ok(all_ok)
}

/// Checks that the syslog socket accepts datagrams, without sending one:
/// when it does not, every accepted push is rejected for want of an audit
/// record (unless `on_failure = "accept"`).
fn check_syslog(config: &Config) -> Check {
    let socket = &config.syslog.socket;
    let subject = format!("syslog socket {}", socket.display());
    match crate::daemon::probe_syslog(socket) {
        Ok(()) => Check::ok(&subject, "accepts datagrams"),
        Err(err) => Check::problem(
            &subject,
            format!(
                "does not accept datagrams ({err}), so audit records fail and accepted pushes are rejected"
            ),
            "start the syslog daemon, or set [syslog] socket to its datagram socket",
        ),
    }
}

/// Checks the configuration as the daemon would load it.
fn check_config(path: &Path) -> (Check, Option<Config>) {
    let subject = format!("config {}", path.display());
    match crate::check::check(path) {
        Ok(_) => {
            let config = config::load(path).ok();
            let rules = config.as_ref().map_or(0, |config| config.rules.len());
            let noun = if rules == 1 { "rule" } else { "rules" };
            (
                Check::ok(&subject, format!("valid, {rules} {noun}")),
                config,
            )
        }
        Err(err) => {
            let first = err
                .diagnostics
                .first()
                .map_or_else(String::new, |diagnostic| diagnostic.message.clone());
            let count = err.diagnostics.len();
            // A file the daemon rejects only for its permissions still
            // lists the rules that apply.
            let config = config::load(path).ok();
            let check = Check::problem(
                &subject,
                format!(
                    "foureyesd refuses to start with it ({count} {}; first: {first})",
                    if count == 1 { "problem" } else { "problems" }
                ),
                format!(
                    "run foureyes check-config {} and fix each problem",
                    path.display()
                ),
            );
            (check, config)
        }
    }
}

/// The first frame the daemon sends: a greeting, or a refusal when it does
/// not accept this peer.
#[derive(Deserialize)]
#[serde(untagged)]
enum Greeting {
    Hello(Hello),
    Refused(Response),
}

/// Connects to the daemon and reads its greeting, without sending a
/// request. The daemon logs a warning for the connection that closes
/// without a request.
fn check_daemon(socket: &Path) -> Check {
    let subject = format!("daemon {}", socket.display());
    let mut stream = match UnixStream::connect(socket) {
        Ok(stream) => stream,
        Err(err) => {
            return Check::problem(
                &subject,
                format!("cannot connect: {err}; every push to a protected repository is rejected"),
                "start foureyesd (systemctl start foureyes.socket foureyes.service), or point \
                 --config or FOUREYES_SOCKET at the socket it listens on",
            );
        }
    };
    if let Err(err) = stream.set_read_timeout(Some(DAEMON_TIMEOUT)) {
        return Check::problem(
            &subject,
            format!("cannot set a read timeout: {err}"),
            "retry; this is a local socket error",
        );
    }
    match protocol::read_frame::<Greeting>(&mut stream, MAX_GREETING_BYTES) {
        Ok(Greeting::Hello(hello)) if hello.version == protocol::VERSION => Check::ok(
            &subject,
            format!("foureyesd answers (protocol version {})", hello.version),
        ),
        Ok(Greeting::Hello(hello)) => Check::problem(
            &subject,
            format!(
                "foureyesd speaks protocol version {}, this client {}",
                hello.version,
                protocol::VERSION
            ),
            "install the same foureyes version for the hook and the daemon, then restart foureyesd",
        ),
        Ok(Greeting::Refused(response)) => Check::problem(
            &subject,
            format!(
                "foureyesd refused this connection from uid {}: {}",
                nix::unistd::getuid(),
                response.message.trim()
            ),
            "run doctor as the user that runs git (for example sudo -u git foureyes doctor), and \
             make sure that user is the daemon's or in [daemon] allowed_uids",
        ),
        Err(err) => Check::problem(
            &subject,
            format!("no greeting from foureyesd within {DAEMON_TIMEOUT:?}: {err}"),
            "check the daemon's log (journalctl -u foureyes)",
        ),
    }
}

/// Runs the checks of one repository.
fn check_repository(
    repo: &Path,
    layout: Layout,
    config: Option<&Config>,
    daemon_socket: Option<&Path>,
) -> Vec<Check> {
    let subject = repo.display().to_string();
    let git_dir = match install::git_dir_of(repo) {
        Ok(git_dir) => git_dir,
        Err(err) => {
            return vec![Check::problem(
                &subject,
                format!("{err:#}"),
                "give the path of a bare repository or of a work tree",
            )];
        }
    };
    let layout = match layout {
        Layout::Auto => install::detect_layout(&git_dir),
        layout => layout,
    };
    let git = GitUser::of(&git_dir);

    let mut checks = Vec::new();
    let install_fix = "run foureyes install-hook on the repository";
    let hook = match layout {
        Layout::Gitlab => {
            // Gitaly runs custom hooks itself and ignores core.hooksPath of
            // the repository.
            let hook = git_dir.join("custom_hooks/pre-receive.d/foureyes");
            Some((hook, install_fix.to_owned()))
        }
        Layout::Gitea => {
            let (check, hooks_dir) = check_hooks_path(&subject, &git_dir, &git);
            checks.push(check);
            let dispatcher = hooks_dir.join("pre-receive");
            let runs = check_runnable(&subject, &dispatcher, &git, &fix_for(&hooks_dir, &git_dir));
            let runs_ok = runs.is_ok();
            checks.push(runs);
            if runs_ok {
                checks.push(check_dispatcher(&subject, &dispatcher));
            }
            // Gitea's dispatcher runs "$GIT_DIR/hooks/pre-receive.d/*".
            let hook = git_dir.join("hooks/pre-receive.d/foureyes");
            Some((hook, install_fix.to_owned()))
        }
        Layout::Plain | Layout::Auto => {
            let (check, hooks_dir) = check_hooks_path(&subject, &git_dir, &git);
            checks.push(check);
            let hook = hooks_dir.join("pre-receive");
            let fix = fix_for(&hooks_dir, &git_dir);
            Some((hook, fix))
        }
    };
    if let Some((hook, fix)) = hook {
        let runs = check_runnable(&subject, &hook, &git, &fix);
        let runs_ok = runs.is_ok();
        checks.push(runs);
        if runs_ok {
            checks.push(check_execs_foureyes(&subject, &hook, daemon_socket));
        }
    }

    if let Some(config) = config {
        let (check, break_glass) = check_rules(&subject, config, &git_dir);
        checks.push(check);
        checks.push(check_push_options(&subject, &git_dir, &git, break_glass));
    }
    checks
}

/// The fix for a missing or broken hook in `hooks_dir`: install-hook writes
/// only into the repository's own `hooks`, so another directory needs a hand.
fn fix_for(hooks_dir: &Path, git_dir: &Path) -> String {
    if hooks_dir == git_dir.join("hooks") {
        "run foureyes install-hook on the repository".into()
    } else {
        format!(
            "unset core.hooksPath and run foureyes install-hook on the repository, or copy the \
             hook that foureyes install-hook writes into {}",
            hooks_dir.display()
        )
    }
}

/// The owner of a repository (the git service user), for running `git
/// config` with that user's home and none of the `GIT_*` variables of the
/// shell that runs doctor, as git sees the config in a push.
pub(crate) struct GitUser {
    uid: u32,
    gid: u32,
    pub(crate) name: String,
    home: Option<PathBuf>,
}

impl GitUser {
    pub(crate) fn of(git_dir: &Path) -> GitUser {
        let (uid, gid) =
            fs::metadata(git_dir).map_or((0, 0), |metadata| (metadata.uid(), metadata.gid()));
        let user = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
            .ok()
            .flatten();
        GitUser {
            uid,
            gid,
            name: user
                .as_ref()
                .map_or_else(|| format!("uid {uid}"), |user| user.name.clone()),
            home: user.map(|user| user.dir),
        }
    }

    /// Runs `git --git-dir=GIT_DIR ARGS` as this user would see the config,
    /// and returns standard output without its final line break when git
    /// exits 0, `None` when it exits 1 (the key is not set).
    pub(crate) fn config(&self, git_dir: &Path, args: &[&str]) -> Result<Option<String>, String> {
        let mut command = Command::new("git");
        command
            .arg("--git-dir")
            .arg(git_dir)
            .arg("config")
            .args(args);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("GIT_") {
                command.env_remove(key);
            }
        }
        command.env_remove("XDG_CONFIG_HOME");
        if let Some(home) = &self.home {
            command.env("HOME", home);
        }
        let output = command
            .output()
            .map_err(|err| format!("cannot run git: {err}"))?;
        match output.status.code() {
            Some(0) => Ok(Some(
                String::from_utf8_lossy(&output.stdout)
                    .trim_end_matches('\n')
                    .to_owned(),
            )),
            Some(1) => Ok(None),
            _ => Err(format!(
                "git config {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr).trim()
            )),
        }
    }
}

/// Returns `core.hooksPath` resolved against the git directory, and the
/// file that sets it, when it is set.
pub(crate) fn hooks_path(
    git_dir: &Path,
    git: &GitUser,
) -> Result<Option<(PathBuf, String)>, String> {
    let Some(value) = git.config(git_dir, &["--type=path", "--get", "core.hooksPath"])? else {
        return Ok(None);
    };
    // receive-pack runs in the git directory, so a relative hooksPath is
    // taken relative to it.
    let hooks_dir = git_dir.join(value);
    let origin = git
        .config(git_dir, &["--show-origin", "--get", "core.hooksPath"])
        .ok()
        .flatten()
        .and_then(|line| line.split('\t').next().map(str::to_owned))
        .unwrap_or_else(|| "unknown origin".into());
    Ok(Some((hooks_dir, origin)))
}

/// Finds the directory git runs hooks from: `core.hooksPath` when set
/// (system, global or repository config, as the repository's owner sees
/// them), else `hooks` in the git directory.
fn check_hooks_path(subject: &str, git_dir: &Path, git: &GitUser) -> (Check, PathBuf) {
    let default = git_dir.join("hooks");
    let subject = format!("{subject}: hooks directory");
    let (hooks_dir, origin) = match hooks_path(git_dir, git) {
        Ok(Some(found)) => found,
        Ok(None) => {
            let check = Check::ok(
                &subject,
                format!("git runs hooks from {}", default.display()),
            );
            return (check, default);
        }
        Err(err) => {
            let check = Check::problem(
                &subject,
                err,
                format!(
                    "run git --git-dir {} config --list as {}",
                    git_dir.display(),
                    git.name
                ),
            );
            return (check, default);
        }
    };
    let message = format!(
        "core.hooksPath is set ({origin}, as {} sees it), so git runs hooks from {} and \
         ignores {}",
        git.name,
        hooks_dir.display(),
        default.display()
    );
    (Check::ok(&subject, message), hooks_dir)
}

/// Checks that git will run the file at `hook`: it exists, is not a
/// dangling symlink, is a regular file and is executable by the git user.
fn check_runnable(subject: &str, hook: &Path, git: &GitUser, install_fix: &str) -> Check {
    let subject = format!("{subject}: hook");
    let link = match fs::symlink_metadata(hook) {
        Ok(link) => link,
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            return Check::problem(
                &subject,
                format!(
                    "{} does not exist, so git accepts every push unchecked",
                    hook.display()
                ),
                install_fix,
            );
        }
        Err(err) => {
            return Check::problem(
                &subject,
                format!("cannot inspect {}: {err}", hook.display()),
                "check the permissions of the hooks directory",
            );
        }
    };
    let metadata = match fs::metadata(hook) {
        Ok(metadata) => metadata,
        Err(_) if link.file_type().is_symlink() => {
            let target = fs::read_link(hook).unwrap_or_default();
            return Check::problem(
                &subject,
                format!(
                    "{} is a dangling symlink to {}, so git skips it and accepts every push",
                    hook.display(),
                    target.display()
                ),
                format!("remove the symlink and {install_fix}"),
            );
        }
        Err(err) => {
            return Check::problem(
                &subject,
                format!("cannot inspect {}: {err}", hook.display()),
                "check the permissions of the hooks directory",
            );
        }
    };
    if !metadata.is_file() {
        return Check::problem(
            &subject,
            format!("{} is not a regular file", hook.display()),
            format!("remove it and {install_fix}"),
        );
    }
    if !executable_by(&metadata, git.uid, git.gid) {
        return Check::problem(
            &subject,
            format!(
                "{} is not executable by {} (mode {:04o}), so git skips it and accepts every push",
                hook.display(),
                git.name,
                metadata.mode() & 0o7777
            ),
            format!("chmod 755 {}", hook.display()),
        );
    }
    Check::ok(&subject, format!("{} is executable", hook.display()))
}

/// Checks the mode bits that apply to `uid` and `gid`.
///
/// # Limitations
///
/// Supplementary groups and ACLs are not considered, and a `noexec` mount is
/// not detected.
fn executable_by(metadata: &fs::Metadata, uid: u32, gid: u32) -> bool {
    let mode = metadata.mode();
    if uid == 0 {
        mode & 0o111 != 0
    } else if metadata.uid() == uid {
        mode & 0o100 != 0
    } else if metadata.gid() == gid {
        mode & 0o010 != 0
    } else {
        mode & 0o001 != 0
    }
}

/// Checks that Gitea's or Forgejo's `hooks/pre-receive` runs the scripts in
/// `hooks/pre-receive.d`.
fn check_dispatcher(subject: &str, dispatcher: &Path) -> Check {
    let subject = format!("{subject}: hook dispatcher");
    let text = fs::read_to_string(dispatcher).unwrap_or_default();
    if text.contains("pre-receive.d") || text.contains("${hookname}.d") {
        Check::ok(
            &subject,
            format!("{} runs the scripts in pre-receive.d", dispatcher.display()),
        )
    } else {
        Check::problem(
            &subject,
            format!(
                "{} does not run the scripts in pre-receive.d, so the foureyes hook there never \
                 runs",
                dispatcher.display()
            ),
            "let Gitea or Forgejo rewrite its hooks (admin panel: resynchronize the pre-receive, \
             update and post-receive hooks of all repositories), or use --layout plain",
        )
    }
}

/// Checks that the hook execs `foureyes hook pre-receive`. For a hook written
/// by `foureyes install-hook` it also checks that the binary it names is
/// executable and that its socket is the daemon's.
fn check_execs_foureyes(subject: &str, hook: &Path, daemon_socket: Option<&Path>) -> Check {
    let subject = format!("{subject}: hook command");
    let text = match fs::read(hook) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(err) => {
            return Check::problem(
                &subject,
                format!("cannot read {}: {err}", hook.display()),
                "run doctor as root or as the user that runs git",
            );
        }
    };
    if !text.contains(install::MARKER) {
        let calls = text.contains("foureyes") && text.contains("hook pre-receive");
        return if calls {
            Check::ok(
                &subject,
                format!(
                    "{} calls foureyes hook pre-receive (not written by install-hook, so its \
                     binary and socket are not checked)",
                    hook.display()
                ),
            )
        } else {
            Check::problem(
                &subject,
                format!("{} does not run foureyes hook pre-receive", hook.display()),
                "run foureyes install-hook on the repository (with --force to replace this hook)",
            )
        };
    }

    let binary = install::script_default(&text, "FOUREYES_BIN").unwrap_or_default();
    let binary_ok = fs::metadata(&binary)
        .is_ok_and(|metadata| metadata.is_file() && metadata.mode() & 0o111 != 0);
    if !binary_ok {
        return Check::problem(
            &subject,
            format!(
                "{} runs {binary:?}, which is not an executable file, so every push is rejected",
                hook.display()
            ),
            "run foureyes install-hook again from the installed foureyes binary",
        );
    }
    let socket = install::script_default(&text, "FOUREYES_SOCKET").unwrap_or_default();
    let Some(daemon_socket) = daemon_socket else {
        // No valid configuration names the daemon's socket: check that the
        // hook's own socket has a daemon instead.
        let answer = check_daemon(Path::new(&socket));
        return if answer.is_ok() {
            Check::ok(
                &subject,
                format!(
                    "{} execs {binary}; a daemon answers on its socket {socket}",
                    hook.display()
                ),
            )
        } else {
            Check::problem(
                &subject,
                format!(
                    "{} connects to {socket}, where no foureyes daemon answers",
                    hook.display()
                ),
                "start foureyesd on that socket, or give --config so doctor can compare it with [daemon] socket",
            )
        };
    };
    if Path::new(&socket) != daemon_socket {
        return Check::problem(
            &subject,
            format!(
                "{} connects to {socket}, but the daemon listens on {}",
                hook.display(),
                daemon_socket.display()
            ),
            format!(
                "run foureyes install-hook --socket {} on the repository",
                daemon_socket.display()
            ),
        );
    }
    Check::ok(
        &subject,
        format!("{} execs {binary} with socket {socket}", hook.display()),
    )
}

/// Lists the rules whose `repos` match the repository, and returns whether
/// any of them has break-glass groups.
fn check_rules(subject: &str, config: &Config, git_dir: &Path) -> (Check, bool) {
    let subject = format!("{subject}: rules");
    let relative = match server::locate_repository(config, git_dir) {
        Ok((_, relative)) => relative,
        Err(err) => {
            let check = Check::problem(
                &subject,
                format!("foureyesd rejects every push to it: {err}"),
                "add the directory that contains it to [daemon] repo_roots",
            );
            return (check, false);
        }
    };
    let rules: Vec<&config::Rule> = config
        .rules
        .iter()
        .filter(|rule| rule.matches_repo(&relative))
        .collect();
    if rules.is_empty() {
        let check = Check::ok(
            &subject,
            format!("no rule applies to {relative}, so every push to it is accepted"),
        );
        return (check, false);
    }
    let listed: Vec<String> = rules
        .iter()
        .map(|rule| format!("{} ({})", rule.name, rule.ref_patterns.join(", ")))
        .collect();
    let break_glass = rules.iter().any(|rule| !rule.break_glass_groups.is_empty());
    let check = Check::ok(&subject, format!("{relative}: {}", listed.join("; ")));
    (check, break_glass)
}

/// Checks `receive.advertisePushOptions`, which `git push -o break-glass`
/// needs: without it the client refuses to send push options.
fn check_push_options(subject: &str, git_dir: &Path, git: &GitUser, needed: bool) -> Check {
    let subject = format!("{subject}: push options");
    let value = git.config(
        git_dir,
        &["--type=bool", "--get", "receive.advertisePushOptions"],
    );
    let enabled = matches!(value, Ok(Some(ref text)) if text == "true");
    match (enabled, needed) {
        (true, _) => Check::ok(&subject, "receive.advertisePushOptions is true"),
        (false, false) => Check::ok(
            &subject,
            "receive.advertisePushOptions is off, and no rule here uses break_glass_groups",
        ),
        (false, true) => Check::problem(
            &subject,
            "a rule here has break_glass_groups, but receive.advertisePushOptions is off, so \
             git push -o fails",
            format!(
                "git --git-dir {} config receive.advertisePushOptions true (or run foureyes \
                 install-hook on it)",
                git_dir.display()
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_lines() {
        let ok = Check::ok("daemon /run/x.sock", "foureyesd answers");
        let problem = Check::problem("repo: hook", "missing", "install it");
        assert_eq!(ok.line(), "ok: daemon /run/x.sock: foureyesd answers");
        assert_eq!(
            problem.line(),
            "problem: repo: hook: missing; fix: install it"
        );
        assert!(ok.is_ok());
        assert!(!problem.is_ok());
    }
}
