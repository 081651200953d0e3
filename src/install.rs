//! `foureyes install-hook`: puts the pre-receive hook where the Git host
//! runs it, and turns on `receive.advertisePushOptions`.
//!
//! Three layouts are supported:
//!
//! - plain git: `hooks/pre-receive`;
//! - Gitea and Forgejo: `hooks/pre-receive.d/foureyes`, because their own
//!   `hooks/pre-receive` runs every executable in `hooks/pre-receive.d/`;
//! - GitLab server hooks: `custom_hooks/pre-receive.d/foureyes`, run by
//!   Gitaly.
//!
//! The hook is a small `sh` script that execs the `foureyes` binary that
//! installed it. A different existing hook is never replaced without
//! `--force`; installing again over a foureyes hook rewrites it in place.

use std::fs;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::doctor;

/// A line every hook written by this module contains, so that a later run
/// (and `foureyes doctor`) can tell its own hook from someone else's.
pub const MARKER: &str = "# foureyes pre-receive hook, written by foureyes install-hook";

/// The place a Git host looks for pre-receive hooks in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Layout {
    /// `hooks/pre-receive`.
    Plain,
    /// `hooks/pre-receive.d/foureyes` (Gitea and Forgejo).
    Gitea,
    /// `custom_hooks/pre-receive.d/foureyes` (GitLab server hooks).
    Gitlab,
    /// Detect the layout from the repository.
    Auto,
}

impl Layout {
    /// The hook file, relative to the git directory. `Auto` has none.
    pub fn hook_path(self) -> Option<&'static str> {
        match self {
            Layout::Plain => Some("hooks/pre-receive"),
            Layout::Gitea => Some("hooks/pre-receive.d/foureyes"),
            Layout::Gitlab => Some("custom_hooks/pre-receive.d/foureyes"),
            Layout::Auto => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Layout::Plain => "plain",
            Layout::Gitea => "gitea",
            Layout::Gitlab => "gitlab",
            Layout::Auto => "auto",
        }
    }
}

/// Picks the layout of the repository at `git_dir`: GitLab when it has a
/// `custom_hooks` directory or lies in GitLab's hashed storage
/// (`@hashed/`), Gitea or Forgejo when it has `hooks/pre-receive.d`, plain
/// git otherwise.
pub fn detect_layout(git_dir: &Path) -> Layout {
    let in_hashed_storage = git_dir
        .components()
        .any(|component| component.as_os_str() == "@hashed");
    if git_dir.join("custom_hooks").is_dir() || in_hashed_storage {
        Layout::Gitlab
    } else if git_dir.join("hooks/pre-receive.d").is_dir() {
        Layout::Gitea
    } else {
        Layout::Plain
    }
}

/// Options of `foureyes install-hook`.
#[derive(Clone, Debug)]
pub struct Options {
    pub layout: Layout,
    /// Replace a different existing hook.
    pub force: bool,
    /// Absolute path of the `foureyes` binary the hook runs by default.
    pub binary: PathBuf,
    /// The daemon's socket, written into the hook as the default of
    /// `FOUREYES_SOCKET`.
    pub socket: PathBuf,
}

/// The change [`install`] made to one repository.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Created,
    /// An older foureyes hook, or another hook replaced with `--force`.
    Replaced,
    Unchanged,
}

/// The result of installing into one repository.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Installed {
    pub git_dir: PathBuf,
    pub layout: Layout,
    pub hook: PathBuf,
    pub outcome: Outcome,
    /// The directory git runs hooks from instead, when `core.hooksPath`
    /// points away from the installed hook, and the file that sets it.
    pub shadowed_by: Option<(PathBuf, String)>,
}

/// Renders the hook script.
///
/// Both defaults can be overridden by the environment of the hook
/// (`FOUREYES_BIN`, `FOUREYES_SOCKET`). Local and `file://` pushes pass the
/// pusher's environment to the hook, but such a pusher can write the
/// repository directly anyway.
pub fn script(binary: &Path, socket: &Path) -> String {
    format!(
        "#!/bin/sh\n\
         {MARKER}.\n\
         # It hands the push to the foureyes daemon, which checks that every commit\n\
         # entering a protected ref was reviewed by enough other people.\n\
         FOUREYES_BIN=${{FOUREYES_BIN:-{binary}}}\n\
         FOUREYES_SOCKET=${{FOUREYES_SOCKET:-{socket}}}\n\
         export FOUREYES_SOCKET\n\
         if ! [ -x \"$FOUREYES_BIN\" ]; then\n\
         \x20   echo \"foureyes: client $FOUREYES_BIN is not an executable file; the push is rejected because it could not be checked\" >&2\n\
         \x20   echo \"hint: install foureyes, or run foureyes install-hook again from the installed binary\" >&2\n\
         \x20   exit 2\n\
         fi\n\
         exec \"$FOUREYES_BIN\" hook pre-receive\n",
        binary = shell_quote(&binary.to_string_lossy()),
        socket = shell_quote(&socket.to_string_lossy()),
    )
}

/// Quotes `text` for use inside `${VAR:-...}` in `sh`, where single quotes
/// keep every character literal.
fn shell_quote(text: &str) -> String {
    let safe = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+,@%".contains(c));
    if safe {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// Returns the default value of `variable` in a hook written by [`script`],
/// or `None` when the hook has no such line.
pub fn script_default(hook_text: &str, variable: &str) -> Option<String> {
    let prefix = format!("{variable}=${{{variable}:-");
    let line = hook_text
        .lines()
        .find_map(|line| line.trim().strip_prefix(&prefix))?;
    let value = line.strip_suffix('}')?;
    Some(unquote(value))
}

/// Reverses [`shell_quote`].
fn unquote(value: &str) -> String {
    match value
        .strip_prefix('\'')
        .and_then(|inner| inner.strip_suffix('\''))
    {
        Some(inner) => inner.replace("'\\''", "'"),
        None => value.to_owned(),
    }
}

/// Resolves `repo` (a bare repository or a work tree) to its git directory.
pub fn git_dir_of(repo: &Path) -> Result<PathBuf> {
    let absolute = std::path::absolute(repo)
        .with_context(|| format!("invalid repository path {}", repo.display()))?;
    let dot_git = absolute.join(".git");
    let candidate = if dot_git.is_dir() { dot_git } else { absolute };
    if !candidate.join("objects").is_dir() || !candidate.join("HEAD").is_file() {
        bail!(
            "{} is not a git repository (no objects directory or HEAD); give the path of a bare \
             repository or of a work tree",
            repo.display()
        );
    }
    candidate
        .canonicalize()
        .with_context(|| format!("cannot resolve {}", candidate.display()))
}

/// Installs the hook into one repository and sets
/// `receive.advertisePushOptions=true` in its config.
///
/// # Errors
///
/// Fails without changing anything when another hook exists and `force` is
/// off, and on any file system or `git config` error.
pub fn install(repo: &Path, options: &Options) -> Result<Installed> {
    let git_dir = git_dir_of(repo)?;
    let layout = match options.layout {
        Layout::Auto => detect_layout(&git_dir),
        layout => layout,
    };
    let relative = layout.hook_path().expect("a detected layout is never Auto");
    let hook = git_dir.join(relative);
    let text = script(&options.binary, &options.socket);
    let owner = fs::metadata(&git_dir)
        .with_context(|| format!("cannot read metadata of {}", git_dir.display()))?;

    let outcome = match fs::symlink_metadata(&hook) {
        Err(err) if err.kind() == io::ErrorKind::NotFound => Outcome::Created,
        Err(err) => {
            return Err(err).with_context(|| format!("cannot inspect {}", hook.display()));
        }
        Ok(metadata) => {
            let existing = if metadata.is_file() {
                fs::read(&hook).ok()
            } else {
                None
            };
            let executable = metadata.permissions().mode() & 0o111 == 0o111;
            match existing {
                Some(bytes) if bytes == text.as_bytes() && executable => Outcome::Unchanged,
                Some(bytes) if String::from_utf8_lossy(&bytes).contains(MARKER) => {
                    Outcome::Replaced
                }
                _ if options.force => Outcome::Replaced,
                _ => bail!("{}", refusal(&hook, layout, &options.binary)),
            }
        }
    };

    if outcome != Outcome::Unchanged {
        write_hook(&hook, &text, &git_dir, &owner)?;
    }
    enable_push_options(&git_dir)?;
    let shadowed_by = shadowing_hooks_path(&git_dir, layout);
    Ok(Installed {
        git_dir,
        layout,
        hook,
        outcome,
        shadowed_by,
    })
}

/// Returns where git runs hooks from instead of the installed hook's
/// directory, when `core.hooksPath` (as the repository's owner sees it)
/// points elsewhere. GitLab's Gitaly ignores the setting, and a failure to
/// read the config is left to `foureyes doctor`.
fn shadowing_hooks_path(git_dir: &Path, layout: Layout) -> Option<(PathBuf, String)> {
    if layout == Layout::Gitlab {
        return None;
    }
    let git = doctor::GitUser::of(git_dir);
    let (hooks_dir, origin) = doctor::hooks_path(git_dir, &git).ok().flatten()?;
    let own = git_dir.join("hooks");
    let same = hooks_dir == own || hooks_dir.canonicalize().ok() == own.canonicalize().ok();
    if same {
        None
    } else {
        Some((hooks_dir, origin))
    }
}

/// The message for an existing hook that is not ours, with the ways out.
fn refusal(hook: &Path, layout: Layout, binary: &Path) -> String {
    let head = format!(
        "{} exists and is not a foureyes hook; it was left unchanged\n\
         hint: run again with --force to replace it",
        hook.display()
    );
    if layout != Layout::Plain {
        return format!(
            "{head}, or rename the existing file: every executable file in {} runs",
            hook.parent()
                .expect("hook paths have a parent directory")
                .display()
        );
    }
    format!(
        "{head}, or keep it and run both: rename it to pre-receive.local and write this \
         hooks/pre-receive, which feeds the same ref updates to each and stops at the first \
         failure:\n\
         #!/bin/sh\n\
         input=$(cat)\n\
         printf '%s\\n' \"$input\" | \"$(dirname \"$0\")/pre-receive.local\" || exit 1\n\
         printf '%s\\n' \"$input\" | {} hook pre-receive",
        shell_quote(&binary.to_string_lossy())
    )
}

/// Writes the hook through a temporary file in the same directory and
/// renames it into place, so that git never runs a half-written hook.
/// Directories and the file get the owner of the git directory when this
/// runs as root, because the hook must stay readable by the git user.
fn write_hook(hook: &Path, text: &str, git_dir: &Path, owner: &fs::Metadata) -> Result<()> {
    let directory = hook.parent().expect("hook paths have a parent directory");
    create_directories(directory, git_dir, owner)?;

    let mut temporary = tempfile::Builder::new()
        .prefix(".foureyes-hook-")
        .tempfile_in(directory)
        .with_context(|| format!("cannot create a temporary file in {}", directory.display()))?;
    io::Write::write_all(&mut temporary, text.as_bytes())
        .with_context(|| format!("cannot write the hook into {}", directory.display()))?;
    let file = temporary.as_file();
    file.set_permissions(fs::Permissions::from_mode(0o755))
        .with_context(|| format!("cannot make the hook in {} executable", directory.display()))?;
    give_to_owner(temporary.path(), owner)?;

    // A symlink at the hook path is replaced by the file, not followed.
    temporary
        .persist(hook)
        .with_context(|| format!("cannot move the hook into place at {}", hook.display()))?;
    Ok(())
}

/// Creates the missing directories between `git_dir` and `directory`.
fn create_directories(directory: &Path, git_dir: &Path, owner: &fs::Metadata) -> Result<()> {
    let mut missing = Vec::new();
    let mut current = directory;
    while current != git_dir && !current.is_dir() {
        missing.push(current.to_path_buf());
        current = current
            .parent()
            .expect("the hook directory lies inside the git directory");
    }
    for path in missing.iter().rev() {
        fs::create_dir(path).with_context(|| format!("cannot create {}", path.display()))?;
        fs::set_permissions(path, fs::Permissions::from_mode(0o755))
            .with_context(|| format!("cannot set the mode of {}", path.display()))?;
        give_to_owner(path, owner)?;
    }
    Ok(())
}

/// Changes the owner of `path` to that of `owner` when running as root; does
/// nothing otherwise, because only root can give files away.
fn give_to_owner(path: &Path, owner: &fs::Metadata) -> Result<()> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(());
    }
    std::os::unix::fs::lchown(path, Some(owner.uid()), Some(owner.gid()))
        .with_context(|| format!("cannot change the owner of {}", path.display()))
}

/// Runs `git config receive.advertisePushOptions true` on the repository's
/// own config file. git writes the file through a lock file and a rename,
/// which makes the caller its owner, so the previous owner is restored when
/// this runs as root.
fn enable_push_options(git_dir: &Path) -> Result<()> {
    let config = git_dir.join("config");
    let before = fs::metadata(&config).ok();
    let output = Command::new("git")
        .arg("config")
        .arg("--file")
        .arg(&config)
        .arg("receive.advertisePushOptions")
        .arg("true")
        .output()
        .context("cannot run git config; check that git is installed")?;
    if !output.status.success() {
        bail!(
            "git config --file {} receive.advertisePushOptions true failed: {}",
            config.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    if let Some(before) = before {
        give_to_owner(&config, &before)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_default_round_trip() {
        let cases = [
            "/usr/bin/foureyes",
            "/opt/four eyes/bin/foureyes",
            "/home/o'brien/foureyes",
        ];
        for binary in cases {
            let text = script(Path::new(binary), Path::new("/run/foureyes/foureyes.sock"));
            assert_eq!(
                script_default(&text, "FOUREYES_BIN").as_deref(),
                Some(binary),
                "{text}"
            );
            assert_eq!(
                script_default(&text, "FOUREYES_SOCKET").as_deref(),
                Some("/run/foureyes/foureyes.sock")
            );
        }
    }

    #[test]
    fn script_without_defaults() {
        assert_eq!(
            script_default("#!/bin/sh\nexec foureyes\n", "FOUREYES_BIN"),
            None
        );
    }

    #[test]
    fn layout_detection() {
        let dir = tempfile::tempdir().expect("create temp dir");
        let plain = dir.path().join("plain.git");
        let gitea = dir.path().join("gitea.git");
        let gitlab = dir.path().join("gitlab.git");
        let hashed = dir.path().join("@hashed/ab/cd/abcd.git");
        fs::create_dir_all(plain.join("hooks")).unwrap();
        fs::create_dir_all(gitea.join("hooks/pre-receive.d")).unwrap();
        fs::create_dir_all(gitlab.join("custom_hooks")).unwrap();
        fs::create_dir_all(hashed.join("hooks")).unwrap();
        assert_eq!(detect_layout(&plain), Layout::Plain);
        assert_eq!(detect_layout(&gitea), Layout::Gitea);
        assert_eq!(detect_layout(&gitlab), Layout::Gitlab);
        assert_eq!(detect_layout(&hashed), Layout::Gitlab);
    }
}
