//! The systemd integration: the unit files under `systemd/` as
//! `systemd-analyze` judges them, and the daemon's side of socket activation
//! and of the notify protocol. systemd does not need to run as PID 1 for
//! any of this. Tests print a message and pass when a tool is missing.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The highest exposure score that `systemd-analyze security` may give
/// `foureyes.service`. systemd 252 scores the unit 0.2, all of it for the
/// settings listed in [`ACCEPTED_EXPOSURE`]. Removing any one of `User=`,
/// `NoNewPrivileges=`, `ProtectSystem=`, `ProtectHome=`, `PrivateTmp=`,
/// `PrivateUsers=`, `PrivateNetwork=`, `RestrictAddressFamilies=`,
/// `SystemCallFilter=` or `CapabilityBoundingSet=` raises it to 0.4 or more.
const MAX_EXPOSURE: f64 = 0.3;

/// The checks of `systemd-analyze security` (systemd 252) that the unit fails
/// on purpose. The daemon needs `AF_UNIX`, and `RemoveIPC=` would delete the
/// IPC objects of every git process. `ProtectClock=` itself allows reading
/// the RTC device. A separate root directory would need an image of the
/// daemon and its libraries.
const ACCEPTED_EXPOSURE: [&str; 4] = [
    "RemoveIPC=",
    "RootDirectory=/RootImage=",
    "RestrictAddressFamilies=~AF_UNIX",
    "DeviceAllow=",
];

fn unit_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd")
}

fn systemd_analyze() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/bin")])
        .map(|dir| dir.join("systemd-analyze"))
        .find(|candidate| candidate.is_file())
}

fn skip_without_systemd_analyze() {
    println!("skipping: systemd-analyze is not installed; install it with apt-get install systemd");
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn run(command: &mut Command) -> Output {
    command
        .output()
        .unwrap_or_else(|err| panic!("failed to run {command:?}: {err}"))
}

/// Builds a file system root for `systemd-analyze verify --root`: the host's
/// system units (for `sysinit.target` and friends), our two unit files, and
/// the programs that `ExecStart=` and `ExecReload=` name, so that verify
/// checks the unit files unchanged.
fn verify_root(dir: &Path) -> PathBuf {
    let root = dir.join("root");
    let system_units = ["/usr/lib/systemd/system", "/lib/systemd/system"]
        .into_iter()
        .map(Path::new)
        .find(|path| path.is_dir())
        .expect("systemd-analyze is installed, so the system unit directory exists");
    copy_dir(system_units, &root.join("usr/lib/systemd/system"));

    let units = root.join("etc/systemd/system");
    fs::create_dir_all(&units).expect("create etc/systemd/system");
    for name in ["foureyes.service", "foureyes.socket"] {
        fs::copy(unit_dir().join(name), units.join(name)).expect("copy unit file");
    }

    let programs = [
        (
            PathBuf::from(env!("CARGO_BIN_EXE_foureyesd")),
            "usr/bin/foureyesd",
        ),
        (PathBuf::from("/bin/kill"), "bin/kill"),
    ];
    for (source, target) in programs {
        let target = root.join(target);
        fs::create_dir_all(target.parent().expect("target has a parent"))
            .expect("create bin directory");
        fs::copy(&source, &target).unwrap_or_else(|err| panic!("copy {}: {err}", source.display()));
    }
    root
}

fn copy_dir(source: &Path, target: &Path) {
    fs::create_dir_all(target).expect("create directory");
    for entry in fs::read_dir(source).expect("read directory") {
        let entry = entry.expect("read directory entry");
        let path = entry.path();
        let destination = target.join(entry.file_name());
        let file_type = entry.file_type().expect("read file type");
        if file_type.is_symlink() {
            let link = fs::read_link(&path).expect("read symlink");
            std::os::unix::fs::symlink(link, &destination).expect("copy symlink");
        } else if file_type.is_dir() {
            copy_dir(&path, &destination);
        } else {
            fs::copy(&path, &destination).expect("copy file");
        }
    }
}

#[test]
fn units_pass_systemd_analyze_verify() {
    let Some(analyze) = systemd_analyze() else {
        return skip_without_systemd_analyze();
    };
    let dir = tempfile::tempdir().expect("create temporary directory");
    let root = verify_root(dir.path());

    // Without --man=no, verify runs man(1) for each Documentation=man: line,
    // and whether man pages are installed depends on the machine.
    let output = run(Command::new(analyze)
        .arg("verify")
        .arg("--man=no")
        .arg(format!("--root={}", root.display()))
        .arg("foureyes.service")
        .arg("foureyes.socket")
        .current_dir(dir.path()));

    let stderr = text(&output.stderr);
    assert!(output.status.success(), "verify failed:\n{stderr}");
    // verify exits 0 on unknown keys and unparsable values, which it only
    // prints, so any output at all is a finding.
    assert_eq!(stderr, "", "verify printed findings");
    assert_eq!(text(&output.stdout), "", "verify printed findings");
}

#[test]
fn verify_reports_a_missing_program() {
    let Some(analyze) = systemd_analyze() else {
        return skip_without_systemd_analyze();
    };
    let dir = tempfile::tempdir().expect("create temporary directory");
    let root = verify_root(dir.path());
    fs::remove_file(root.join("usr/bin/foureyesd")).expect("remove foureyesd");

    let output = run(Command::new(analyze)
        .arg("verify")
        .arg("--man=no")
        .arg(format!("--root={}", root.display()))
        .arg("foureyes.service")
        .current_dir(dir.path()));

    let stderr = text(&output.stderr);
    assert!(!output.status.success(), "verify passed:\n{stderr}");
    assert!(stderr.contains("/usr/bin/foureyesd"), "{stderr}");
}

/// Returns the overall exposure score and the names of the failed checks.
fn parse_security(stdout: &str) -> (f64, Vec<String>) {
    let score = stdout
        .lines()
        .find_map(|line| line.split_once("Overall exposure level for foureyes.service: "))
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(|number| number.parse().ok())
        .unwrap_or_else(|| panic!("no overall exposure level in:\n{stdout}"));
    let failed = stdout
        .lines()
        .filter_map(|line| line.strip_prefix("✗ "))
        .filter_map(|rest| rest.split_whitespace().next())
        .map(str::to_owned)
        .collect();
    (score, failed)
}

#[test]
fn service_exposure_is_low() {
    let Some(analyze) = systemd_analyze() else {
        return skip_without_systemd_analyze();
    };
    let output = run(Command::new(analyze)
        .arg("security")
        .arg("--offline=yes")
        .arg("--no-pager")
        .arg(unit_dir().join("foureyes.service")));

    let stdout = text(&output.stdout);
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "security failed:\n{stderr}");
    assert_eq!(stderr, "", "security printed warnings");

    let (score, failed) = parse_security(&stdout);
    assert!(score <= MAX_EXPOSURE, "exposure {score}:\n{stdout}");
    for check in &failed {
        assert!(
            ACCEPTED_EXPOSURE.contains(&check.as_str()),
            "unexpected failed check {check}:\n{stdout}"
        );
    }
}
