//! `foureyes demo`: the whole path on a temporary repository.
//!
//! It makes a temporary directory with a bare repository and the hook, a
//! configuration, a syslog socket of its own and the daemon (in this
//! process, on a temporary socket). Then it pushes one unreviewed commit,
//! which is rejected, and the same commit with a `Reviewed-by` trailer,
//! which is accepted, and prints what git showed and the audit records the
//! syslog socket received. Nothing outside the temporary directory is
//! touched, and it is removed at the end.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tokio_util::sync::CancellationToken;

use crate::config;
use crate::server::{self, State};

/// The hook script shipped in `hooks/pre-receive`.
const HOOK: &str = include_str!("../hooks/pre-receive");

/// Runs the demo, printing to standard output.
pub fn run() -> Result<()> {
    let dir = tempfile::Builder::new()
        .prefix("foureyes-demo-")
        .tempdir()
        .context("cannot create a temporary directory")?;
    let root = dir.path();
    let exe = std::env::current_exe().context("cannot find the foureyes executable")?;
    let socket = root.join("foureyes.sock");
    let log_socket = root.join("syslog.sock");
    let srv = root.join("srv");
    fs::create_dir_all(&srv)?;

    let config_text = demo_config(&socket, &srv, &log_socket);
    let config_path = root.join("foureyes.toml");
    fs::write(&config_path, &config_text)?;
    println!("== foureyes demo in {}", root.display());
    println!(
        "== configuration ({}):\n{}",
        config_path.display(),
        indent(&config_text)
    );

    let records = Arc::new(Mutex::new(Vec::new()));
    let receiver = UnixDatagram::bind(&log_socket).context("cannot bind the demo syslog socket")?;
    receiver.set_read_timeout(Some(Duration::from_millis(100)))?;
    let collected = records.clone();
    let stop_log = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop = stop_log.clone();
    let log_thread = std::thread::spawn(move || {
        let mut buf = vec![0u8; 65536];
        while !stop.load(std::sync::atomic::Ordering::SeqCst) {
            if let Ok(n) = receiver.recv(&mut buf) {
                let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                collected.lock().expect("log lock").push(text);
            }
        }
    });

    let config =
        config::parse(&config_text, &config_path).map_err(|err| anyhow::anyhow!("{err}"))?;
    let shutdown = CancellationToken::new();
    let daemon = start_daemon(config, &socket, shutdown.clone())?;
    println!("== daemon listening on {}", socket.display());

    let result = push_twice(root, &srv, &exe, &socket);

    shutdown.cancel();
    let _ = daemon.join();
    std::thread::sleep(Duration::from_millis(150));
    stop_log.store(true, std::sync::atomic::Ordering::SeqCst);
    let _ = log_thread.join();
    result?;

    println!(
        "\n== audit records received by the syslog socket {}:",
        log_socket.display()
    );
    for record in records.lock().expect("log lock").iter() {
        println!("  {record}");
    }
    println!("\n== done; the temporary directory is removed");
    Ok(())
}

fn demo_config(socket: &Path, srv: &Path, log_socket: &Path) -> String {
    format!(
        r#"[daemon]
socket = "{socket}"
repo_roots = ["{srv}"]

[syslog]
socket = "{log}"
facility = "authpriv"
ident = "foureyes"

[pusher]
env = ["REMOTE_USER"]

[[person]]
id = "alice"
emails = ["alice@example.com"]
usernames = ["alice"]

[[person]]
id = "bob"
emails = ["bob@example.com", "bob@users.example.org"]
usernames = ["bob"]

[[rule]]
name = "mainline"
refs = ["refs/heads/main"]
min_reviewers = 1
"#,
        socket = socket.display(),
        srv = srv.display(),
        log = log_socket.display()
    )
}

/// Starts the daemon on a thread of its own and waits until it listens.
fn start_daemon(
    config: config::Config,
    socket: &Path,
    shutdown: CancellationToken,
) -> Result<std::thread::JoinHandle<()>> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let listener = {
        let _guard = runtime.enter();
        crate::daemon::bind(socket, 0o600)?
    };
    let state = Arc::new(RwLock::new(Arc::new(State::new(config))));
    let handle = std::thread::spawn(move || {
        runtime.block_on(server::serve(listener, state, shutdown));
    });
    let started = Instant::now();
    while std::os::unix::net::UnixStream::connect(socket).is_err() {
        if started.elapsed() > Duration::from_secs(5) {
            bail!(
                "the demo daemon did not start listening on {}",
                socket.display()
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(handle)
}

fn push_twice(root: &Path, srv: &Path, exe: &Path, socket: &Path) -> Result<()> {
    let bare = srv.join("demo.git");
    git(
        root,
        &["init", "--quiet", "--bare", "-b", "main", path_str(&bare)?],
    )?;
    let hook = bare.join("hooks/pre-receive");
    fs::write(&hook, HOOK)?;
    fs::set_permissions(&hook, fs::Permissions::from_mode(0o755))?;
    println!(
        "== bare repository {} with hooks/pre-receive",
        bare.display()
    );

    let work = root.join("work");
    git(
        root,
        &["clone", "--quiet", path_str(&bare)?, path_str(&work)?],
    )?;
    git(&work, &["config", "user.name", "Alice"])?;
    git(&work, &["config", "user.email", "alice@example.com"])?;
    fs::write(work.join("README"), "hello\n")?;
    git(&work, &["add", "README"])?;
    git(&work, &["commit", "--quiet", "-m", "Add README"])?;

    let push = |title: &str| -> Result<Output> {
        println!("\n== {title}\n$ git push origin main   (as alice: REMOTE_USER=alice)");
        let output = Command::new("git")
            .current_dir(&work)
            .args(["push", "origin", "main"])
            .env("FOUREYES_BIN", exe)
            .env("FOUREYES_SOCKET", socket)
            .env("REMOTE_USER", "alice")
            .output()
            .context("cannot run git push")?;
        print!("{}", indent(&String::from_utf8_lossy(&output.stderr)));
        println!(
            "(git push exit status: {})",
            output.status.code().unwrap_or(-1)
        );
        Ok(output)
    };

    let first = push("1. alice pushes her own commit without a review")?;
    if first.status.success() {
        bail!("the unreviewed push was accepted; the demo expected a rejection");
    }
    git(
        &work,
        &[
            "commit",
            "--quiet",
            "--amend",
            "--no-edit",
            "--trailer",
            "Reviewed-by: Bob <bob@example.com>",
        ],
    )?;
    let second = push(
        "2. bob reviewed it: the commit now ends with \"Reviewed-by: Bob <bob@example.com>\"",
    )?;
    if !second.status.success() {
        bail!("the reviewed push was rejected; the demo expected it to be accepted");
    }
    Ok(())
}

fn git(dir: &Path, args: &[&str]) -> Result<()> {
    let output = Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .with_context(|| format!("cannot run git {}", args.join(" ")))?;
    if !output.status.success() {
        bail!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

fn path_str(path: &Path) -> Result<&str> {
    path.to_str()
        .with_context(|| format!("path {} is not valid UTF-8", path.display()))
}

fn indent(text: &str) -> String {
    text.lines().map(|line| format!("    {line}\n")).collect()
}
