#!/usr/bin/env python3
"""Benchmark the foureyes hook path against a no-op hook and a shell hook.

Run from the repository root:

    python3 benches/bench.py            # full run, about 10 minutes
    python3 benches/bench.py --quick    # fewer rounds, about 3 minutes

The script builds the release binaries, then makes every input itself under
the work directory (default target/bench). The inputs are synthetic
repositories of 1 000, 10 000 and 100 000 commits made with `git
fast-import`, and the anonymized real history from
../shared/data/crypto-history (or tests/data/crypto-history). It also writes
a people table and a foureyesd configuration, and runs a syslog receiver and
foureyesd. It writes results.json and report.md into the work directory and
prints the report. Only the Python standard library is used.

All ratios in the report come from one run: the variants of a case are timed
in interleaved rounds, so drift of the shared machine hits them alike.
"""

import argparse
import hashlib
import json
import os
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ZERO = "0" * 40
PUSHER = "bench-pusher"

# Commits already on main in the server before a synthetic push.
BASE_COMMITS = 200
SIZES = [1000, 10000, 100000]

# Rounds per case: (full, quick).
ROUNDS = {
    "startup": (200, 50),
    "push1": (40, 15),
    "hook1": (100, 30),
    "large": {1000: (20, 7), 10000: (7, 3), 100000: (3, 1)},
    "push_large": {1000: (10, 5), 10000: (11, 2), 100000: (3, 1)},
    "crypto": (20, 7),
    "concurrent": (10, 3),
}

# Synthetic people: id -> addresses. The first address is the usual one;
# the others are aliases that must count as the same person.
SYNTHETIC_PEOPLE = {
    "alice": ["alice@example.org", "alice.smith@corp.example.org"],
    "bob": ["bob@example.org", "robert@corp.example.org", "bob@users.example.net"],
    "carol": ["carol@example.org"],
    "dave": ["dave@example.org", "dave.jones@corp.example.org"],
    "erin": ["erin@example.org"],
    "frank": ["frank@example.org", "f.miller@corp.example.org"],
    "grace": ["grace@example.org"],
    "heidi": ["heidi@example.org", "heidi@users.example.net"],
    "ivan": ["ivan@example.org"],
    "judy": ["judy@example.org", "judy.w@corp.example.org"],
    "mallory": ["mallory@example.org"],
    "oscar": ["oscar@example.org", "oscar.k@corp.example.org"],
}
BOT = ("ci-bot", "ci-bot@example.org")
COMPONENTS = ["net", "crypto", "ssh", "http", "auth", "build", "docs", "ci", "db", "ui"]
VERBS = ["fix", "add", "remove", "refactor", "speed up", "document", "test", "rename"]
NOUNS = [
    "the retry loop",
    "buffer handling",
    "the parser",
    "error messages",
    "config loading",
    "the cache",
    "timeouts",
    "logging",
]
WORDS = (
    "the a this change makes it so that we now handle case where value is "
    "empty or missing and returns an error instead of panicking because caller "
    "expects result previous code assumed input was always valid which broke "
    "when server sent partial response under load"
).split()


def log(message):
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def run(argv, **kwargs):
    """Run a setup command, failing loudly."""
    kwargs.setdefault("check", True)
    return subprocess.run(argv, **kwargs)


def git(*args, cwd=None, **kwargs):
    return run(["git", *args], cwd=cwd, **kwargs)


def git_out(*args, cwd=None):
    return run(["git", *args], cwd=cwd, capture_output=True, text=True).stdout.strip()


# ---------------------------------------------------------------- inputs


def display_name(person):
    return person.capitalize() + " Example"


def synthetic_message(rng, index, author, author_address):
    """A commit message with a realistic trailer block that passes one
    reviewer, plus trailers that must not count."""
    subject = f"{rng.choice(COMPONENTS)}: {rng.choice(VERBS)} {rng.choice(NOUNS)} ({index})"
    body = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 40)))
    paragraphs = [subject, textwrap.fill(body, 72)]
    if rng.random() < 0.05:
        # Prose that looks like a trailer but is not one.
        paragraphs.append("Reviewed by: the whole team in the design meeting.")

    others = [p for p in SYNTHETIC_PEOPLE if p != author]
    trailers = [f"Signed-off-by: {display_name(author)} <{author_address}>"]
    coauthor = None
    if rng.random() < 0.08:
        coauthor = rng.choice(others)
        others.remove(coauthor)
        trailers.append(
            f"Co-authored-by: {display_name(coauthor)} <{rng.choice(SYNTHETIC_PEOPLE[coauthor])}>"
        )
    change = hashlib.sha1(f"change {index}".encode()).hexdigest()
    trailers.append(f"Change-Id: I{change}")
    trailers.append(f"Reviewed-on: https://review.example.org/c/{index}")

    count = rng.choices([1, 2, 3], weights=[60, 30, 10])[0]
    reviewers = rng.sample(others, count)
    for reviewer in reviewers:
        address = rng.choice(SYNTHETIC_PEOPLE[reviewer])
        if rng.random() < 0.03:
            # A folded value: git unfolds the continuation line.
            trailers.append(f"Reviewed-by: {display_name(reviewer)}\n <{address}>")
        else:
            trailers.append(f"Reviewed-by: {display_name(reviewer)} <{address}>")
    if rng.random() < 0.10:
        alias = rng.choice(SYNTHETIC_PEOPLE[author])
        trailers.append(f"Reviewed-by: {display_name(author)} <{alias}>")
    if rng.random() < 0.05:
        first = reviewers[0]
        alias = SYNTHETIC_PEOPLE[first][-1]
        trailers.append(f"reviewed-by: {display_name(first)} <{alias.upper()}>")
    if rng.random() < 0.05:
        trailers.append(f"Reviewed-by: CI Bot <{BOT[1]}>")
    if rng.random() < 0.03:
        trailers.append(f"Reviewed-by: Visitor <visitor{index}@elsewhere.example>")
    if coauthor and rng.random() < 0.5:
        trailers.append(
            f"Reviewed-by: {display_name(coauthor)} <{SYNTHETIC_PEOPLE[coauthor][0]}>"
        )
    paragraphs.append("\n".join(trailers))
    return "\n\n".join(paragraphs) + "\n"


def fast_import_commit(out, ref, mark, parents, author, address, when, message, path, content):
    data = message.encode()
    out.append(f"commit {ref}\nmark :{mark}\n")
    out.append(f"author {display_name(author)} <{address}> {when} +0000\n")
    out.append(f"committer {display_name(author)} <{address}> {when} +0000\n")
    out.append(f"data {len(data)}\n{message}")
    if parents:
        out.append(f"from :{parents[0]}\n")
        for parent in parents[1:]:
            out.append(f"merge :{parent}\n")
    out.append(f"M 100644 inline {path}\ndata {len(content)}\n{content}\n\n")


def synthetic_stream(total):
    """Build a fast-import stream of `total` commits on refs/heads/main, with
    a merged two-commit topic branch every 50 commits. Returns the stream and
    the marks of the main tips after BASE_COMMITS and BASE_COMMITS + 1
    commits and of the final tip."""
    rng = random.Random(4242)
    out = []
    mark = 0
    main_tip = None
    base_mark = one_mark = None
    people = list(SYNTHETIC_PEOPLE)

    def commit(ref, parents, message=None):
        nonlocal mark
        mark += 1
        author = rng.choice(people)
        address = rng.choice(SYNTHETIC_PEOPLE[author])
        if message is None:
            text = synthetic_message(rng, mark, author, address)
        else:
            reviewer = rng.choice([p for p in people if p != author])
            address_of_reviewer = SYNTHETIC_PEOPLE[reviewer][0]
            text = f"{message}\n\nReviewed-by: {display_name(reviewer)} <{address_of_reviewer}>\n"
        path = f"src/d{mark % 16}/f{mark % 128}.txt"
        fast_import_commit(
            out, ref, mark, parents, author, address, 1_600_000_000 + mark * 97, text, path, f"{mark}\n"
        )
        return mark

    while mark < total:
        remaining = total - mark
        after_base = mark > BASE_COMMITS + 1
        if after_base and mark % 50 == 0 and remaining >= 4:
            fork = main_tip
            topic = commit("refs/heads/topic", [fork])
            topic = commit("refs/heads/topic", [topic])
            main_tip = commit("refs/heads/main", [main_tip])
            main_tip = commit("refs/heads/main", [main_tip, topic], f"Merge branch 'topic-{topic}'")
        else:
            main_tip = commit("refs/heads/main", [main_tip] if main_tip else [])
        if mark == BASE_COMMITS:
            base_mark = main_tip
        if mark == BASE_COMMITS + 1:
            one_mark = main_tip
    return "".join(out).encode(), base_mark, one_mark, main_tip


def read_marks(path):
    marks = {}
    for line in Path(path).read_text().splitlines():
        mark, sha = line.split()
        marks[int(mark[1:])] = sha
    return marks


def import_repo(path, stream_bytes, marks_file):
    git("init", "--quiet", "--bare", "-b", "main", str(path))
    git("fast-import", "--quiet", f"--export-marks={marks_file}", cwd=path, input=stream_bytes)
    return read_marks(marks_file)


def prepare_synthetic(work, size):
    """Client repository (main = tip), a push template (main = base) and a
    ready repository holding every object with main = base."""
    directory = work / "data" / f"syn-{size}"
    info_file = directory / "info.json"
    if info_file.exists():
        return json.loads(info_file.read_text())
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    total = BASE_COMMITS + size
    log(f"generating a synthetic history of {total} commits")
    stream_bytes, base_mark, one_mark, tip_mark = synthetic_stream(total)
    (directory / "stream.fi").write_bytes(stream_bytes)

    client = directory / "client.git"
    marks = import_repo(client, stream_bytes, directory / "marks")
    git("update-ref", "-d", "refs/heads/topic", cwd=client)
    info = {
        "size": size,
        "base": marks[base_mark],
        "one": marks[one_mark],
        "tip": marks[tip_mark],
        "client": str(client),
    }
    count = int(git_out("rev-list", "--count", info["tip"], "--not", info["base"], cwd=client))
    assert count == size, f"synthetic range has {count} commits, expected {size}"

    # The push template: the base history only, packed as gc packs it.
    template = directory / "template.git"
    git("init", "--quiet", "--bare", "-b", "main", str(template))
    git("push", "--quiet", str(template), f"{info['base']}:refs/heads/main", cwd=client)
    git("gc", "--quiet", cwd=template)
    info["template"] = str(template)

    # The ready repository: every object present, main at base, gc'ed so it
    # has a commit-graph as a served repository usually has.
    log(f"packing the ready repository of {total} commits")
    ready = work / "srv" / f"ready-{size}.git"
    if ready.exists():
        shutil.rmtree(ready)
    shutil.copytree(client, ready, symlinks=True)
    git("update-ref", "refs/heads/main", info["base"], cwd=ready)
    # A ref outside the rule keeps the range alive through gc; it hides
    # nothing, because only refs the rule protects are hidden.
    git("update-ref", "refs/bench/tip", info["tip"], cwd=ready)
    git("gc", "--quiet", "--prune=now", cwd=ready)
    info["ready"] = str(ready)
    info_file.write_text(json.dumps(info))
    return info


def find_crypto_history():
    for candidate in [
        ROOT / "tests" / "data" / "crypto-history",
        ROOT.parent / "shared" / "data" / "crypto-history",
        Path("/work/shared/data/crypto-history"),
    ]:
        if (candidate / "history.fi").exists():
            return candidate
    sys.exit("bench: crypto-history/history.fi not found in tests/data or ../shared/data")


def prepare_crypto(work, source):
    directory = work / "data" / "crypto"
    info_file = directory / "info.json"
    if info_file.exists():
        return json.loads(info_file.read_text())
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    stream_bytes = (source / "history.fi").read_bytes()
    client = directory / "client.git"
    import_repo(client, stream_bytes, directory / "marks")
    tip = git_out("rev-parse", "main", cwd=client)
    size = int(git_out("rev-list", "--count", tip, cwd=client))

    # The server has no main yet: the push creates it with every commit.
    template = directory / "template.git"
    git("init", "--quiet", "--bare", "-b", "main", str(template))
    ready = work / "srv" / "ready-crypto.git"
    if ready.exists():
        shutil.rmtree(ready)
    shutil.copytree(client, ready, symlinks=True)
    git("update-ref", "refs/heads/imported", tip, cwd=ready)
    git("update-ref", "-d", "refs/heads/main", cwd=ready)
    git("symbolic-ref", "HEAD", "refs/heads/imported", cwd=ready)
    git("gc", "--quiet", "--prune=now", cwd=ready)
    info = {
        "size": size,
        "base": ZERO,
        "tip": tip,
        "client": str(client),
        "template": str(template),
        "ready": str(ready),
    }
    info_file.write_text(json.dumps(info))
    return info


def crypto_people(source):
    with open(source / "people.toml", "rb") as file:
        return {
            person["id"]: person.get("emails", [])
            for person in tomllib.load(file).get("person", [])
        }


def toml_string(value):
    return json.dumps(value)


def write_config(work, people):
    """Write the foureyesd configuration and the shell hook's people file."""
    run_dir = work / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    lines = [
        "[daemon]",
        f"socket = {toml_string(str(run_dir / 'foureyes.sock'))}",
        f"repo_roots = [{toml_string(str(work / 'srv'))}]",
        "",
        "[limits]",
        "# Long enough for the 100 000-commit push, so that the time is",
        "# measured rather than cut at the default 4 s deadline.",
        "deadline_ms = 60000",
        "",
        "[syslog]",
        f"socket = {toml_string(str(run_dir / 'syslog.sock'))}",
        "",
        "[pusher]",
        'env = ["GL_USERNAME"]',
        "",
    ]
    for person, emails in people.items():
        lines += ["[[person]]", f"id = {toml_string(person)}", f"emails = {json.dumps(emails)}", ""]
    lines += [
        "[[person]]",
        'id = "pusher"',
        'emails = ["pusher@example.org"]',
        f'usernames = ["{PUSHER}"]',
        "",
        "[[person]]",
        f'id = "{BOT[0]}"',
        f'emails = ["{BOT[1]}"]',
        "bot = true",
        "",
        "[[rule]]",
        'name = "mainline"',
        'refs = ["refs/heads/main"]',
        "min_reviewers = 1",
        "",
    ]
    config = work / "foureyes.toml"
    config.write_text("\n".join(lines))
    config.chmod(0o644)

    shell_people = work / "people.txt"
    with open(shell_people, "w") as file:
        for person, emails in people.items():
            for email in emails:
                file.write(f"{email.lower()} {person}\n")
        file.write("pusher@example.org pusher\n")
        file.write(f"user:{PUSHER} pusher\n")
    return config, shell_people


# ---------------------------------------------------------------- processes


class Daemon:
    """foureyesd plus a syslog datagram receiver, both on temp sockets."""

    def __init__(self, work, config, binary):
        self.work = work
        self.config = config
        self.binary = binary
        self.process = None
        self.receiver = None

    def start(self):
        run_dir = self.work / "run"
        for name in ["foureyes.sock", "syslog.sock"]:
            (run_dir / name).unlink(missing_ok=True)
        self.receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.receiver.bind(str(run_dir / "syslog.sock"))
        self.records = 0
        threading.Thread(target=self._drain, daemon=True).start()
        log_file = open(self.work / "foureyesd.log", "ab")
        self.process = subprocess.Popen(
            [str(self.binary), "--config", str(self.config)],
            stdout=log_file,
            stderr=log_file,
            env={**os.environ, "RUST_LOG": "warn"},
        )
        socket_path = run_dir / "foureyes.sock"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if socket_path.exists():
                return
            if self.process.poll() is not None:
                sys.exit(f"bench: foureyesd exited with {self.process.returncode}; see foureyesd.log")
            time.sleep(0.01)
        sys.exit("bench: foureyesd did not create its socket within 10 s")

    def _drain(self):
        receiver = self.receiver
        while True:
            try:
                receiver.recv(65536)
            except OSError:
                return
            self.records += 1

    def sample_anon_rss(self, stop, peaks):
        """Poll RssAnon (heap and stacks, without mapped files) every 5 ms
        until `stop` is set; VmHWM also counts pack files mapped by gix."""
        path = Path(f"/proc/{self.process.pid}/status")
        while not stop.is_set():
            for line in path.read_text().splitlines():
                if line.startswith("RssAnon:"):
                    peaks.append(int(line.split()[1]))
            time.sleep(0.005)

    def peak_rss_kib(self):
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        return None

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)
        if self.receiver:
            self.receiver.close()


def run_measured(argv, stdin_bytes=b"", cwd=None, env=None):
    """Run one process; return (seconds, exit code, peak RSS KiB, stderr)."""
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err, cwd=cwd, env=env
        )
        try:
            process.stdin.write(stdin_bytes)
        except BrokenPipeError:
            pass
        process.stdin.close()
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        return elapsed, process.returncode, usage.ru_maxrss, err.read().decode(errors="replace")


def summarize(samples):
    ordered = sorted(samples)
    quartiles = statistics.quantiles(ordered, n=4) if len(ordered) >= 2 else [ordered[0]] * 3
    return {
        "n": len(ordered),
        "median": statistics.median(ordered),
        "min": ordered[0],
        "max": ordered[-1],
        "p25": quartiles[0],
        "p75": quartiles[2],
    }


def interleaved(variants, rounds, warmup=1):
    """Time each variant `rounds` times, one of each per round. A variant is
    (name, prepare, measure): prepare() runs untimed, measure() returns
    (seconds, exit code, rss, stderr). Returns name -> summary and last
    outcome."""
    samples = {name: [] for name, _, _ in variants}
    outcome = {}
    for round_index in range(warmup + rounds):
        for name, prepare, measure in variants:
            if prepare:
                prepare()
            seconds, code, rss, stderr = measure()
            outcome[name] = {"exit": code, "rss_kib": rss, "stderr_tail": stderr.strip().splitlines()[-3:]}
            if round_index >= warmup:
                samples[name].append(seconds)
    return {name: {**summarize(values), **outcome[name]} for name, values in samples.items()}


# ---------------------------------------------------------------- hooks


class Hooks:
    def __init__(self, work, binary, shell_people, daemon_socket):
        self.binary = binary
        directory = work / "hooks"
        directory.mkdir(exist_ok=True)
        self.noop = directory / "noop"
        self.noop.write_text("#!/bin/sh\ncat >/dev/null\n")
        self.noop.chmod(0o755)
        self.foureyes = ROOT / "hooks" / "pre-receive"
        self.shell = ROOT / "benches" / "shell-hook.sh"
        self.env = {
            **os.environ,
            "FOUREYES_BIN": str(binary),
            "FOUREYES_SOCKET": str(daemon_socket),
            "FOUREYES_TIMEOUT_MS": "60000",
            "FOUREYES_SHELL_PEOPLE": str(shell_people),
            "FOUREYES_SHELL_MIN": "1",
            "GL_USERNAME": PUSHER,
        }
        for name in ["GIT_DIR", "GIT_QUARANTINE_PATH", "GIT_OBJECT_DIRECTORY"]:
            self.env.pop(name, None)

    def by_name(self):
        return {"no-op": self.noop, "foureyes": self.foureyes, "shell": self.shell}

    def run_alone(self, hook, repo, update_line):
        """Run a hook as git runs it on a quarantine-less update: cwd = the
        git directory, GIT_DIR=., the update on stdin."""
        env = {**self.env, "GIT_DIR": "."}
        return run_measured([str(hook)], f"{update_line}\n".encode(), cwd=repo, env=env)


def install_hook(repo, hook):
    target = Path(repo) / "hooks" / "pre-receive"
    target.unlink(missing_ok=True)
    if hook is not None:
        target.symlink_to(hook)


def push_variants(work, hooks, info, refspec):
    """Variants that each push `refspec` from the client into a fresh copy
    of the template, through a different pre-receive hook."""
    server = work / "srv" / "push.git"

    def prepare(hook):
        def inner():
            if server.exists():
                shutil.rmtree(server)
            shutil.copytree(info["template"], server, symlinks=True)
            install_hook(server, hook)

        return inner

    def measure():
        return run_measured(
            ["git", "push", "--quiet", str(server), refspec], cwd=info["client"], env=hooks.env
        )

    variants = [("no hook", prepare(None), measure)]
    for name, hook in hooks.by_name().items():
        variants.append((name, prepare(hook), measure))
    return variants


def alone_variants(hooks, info, config, extra_explain=True):
    line = f"{info['base']} {info['tip']} refs/heads/main"
    variants = [
        (name, None, (lambda hook=hook: hooks.run_alone(hook, info["ready"], line)))
        for name, hook in hooks.by_name().items()
    ]
    if extra_explain:
        argv = [
            str(hooks.binary),
            "explain",
            "--config",
            str(config),
            "--repo",
            info["ready"],
            "--pusher",
            PUSHER,
            info["base"],
            info["tip"],
            "refs/heads/main",
        ]
        variants.append(("explain", None, lambda: run_measured(argv, env=hooks.env)))
    return variants


# ---------------------------------------------------------------- cases


def rounds_of(key, quick, size=None):
    entry = ROUNDS[key] if size is None else ROUNDS[key][size]
    return entry[1] if quick else entry[0]


def case_startup(work, hooks, quick):
    log("case 5: start-up of the hook client")
    minimal_source = work / "minimal.rs"
    minimal_source.write_text("fn main() {}\n")
    minimal = work / "minimal"
    run(["rustc", "-O", "-o", str(minimal), str(minimal_source)])
    missing_socket = {**hooks.env, "FOUREYES_SOCKET": str(work / "run" / "absent.sock"), "GIT_DIR": "."}
    unprotected = f"{ZERO} {'1' * 40} refs/heads/feature\n".encode()
    repo = work / "srv" / "ready-1000.git"
    variants = [
        ("/bin/true", None, lambda: run_measured(["/bin/true"])),
        ("minimal Rust binary", None, lambda: run_measured([str(minimal)])),
        ("foureyes --version", None, lambda: run_measured([str(hooks.binary), "--version"])),
        (
            "foureyes hook pre-receive, no daemon (exit 2)",
            None,
            lambda: run_measured(
                [str(hooks.binary), "hook", "pre-receive"], unprotected, cwd=repo, env=missing_socket
            ),
        ),
        (
            "foureyes hook pre-receive, unprotected ref",
            None,
            lambda: run_measured(
                [str(hooks.binary), "hook", "pre-receive"],
                unprotected,
                cwd=repo,
                env={**hooks.env, "GIT_DIR": "."},
            ),
        ),
        (
            "hooks/pre-receive shim, unprotected ref",
            None,
            lambda: hooks.run_alone(hooks.foureyes, repo, unprotected.decode().strip()),
        ),
    ]
    results = interleaved(variants, rounds_of("startup", quick), warmup=3)
    stripped = work / "foureyes.stripped"
    run(["strip", "-o", str(stripped), str(hooks.binary)])
    sizes = {
        "foureyes": hooks.binary.stat().st_size,
        "foureyes stripped": stripped.stat().st_size,
        "minimal Rust binary": minimal.stat().st_size,
    }
    return {"timings": results, "sizes": sizes}


def case_one_commit(work, hooks, info, quick):
    log("case 1: 1-commit push")
    push = interleaved(
        push_variants(work, hooks, info, f"{info['one']}:refs/heads/main"), rounds_of("push1", quick)
    )
    line = f"{info['base']} {info['one']} refs/heads/main"
    alone = interleaved(
        [
            (name, None, (lambda hook=hook: hooks.run_alone(hook, info["ready"], line)))
            for name, hook in hooks.by_name().items()
        ],
        rounds_of("hook1", quick),
        warmup=3,
    )
    return {"push": push, "alone": alone}


def case_large(work, hooks, infos, config, quick):
    results = {}
    for size, info in infos.items():
        log(f"case 2: {size} commits, hooks alone and explain")
        alone = interleaved(alone_variants(hooks, info, config), rounds_of("large", quick, size))
        log(f"case 2: {size} commits, pushes")
        push = interleaved(
            push_variants(work, hooks, info, f"{info['tip']}:refs/heads/main"),
            rounds_of("push_large", quick, size),
            warmup=0,
        )
        results[size] = {"alone": alone, "push": push}
    return results


def case_crypto(work, hooks, info, config, quick):
    log("case 2: crypto history, hooks alone and explain")
    alone = interleaved(alone_variants(hooks, info, config), rounds_of("crypto", quick))
    push = interleaved(
        push_variants(work, hooks, info, f"{info['tip']}:refs/heads/main"), rounds_of("crypto", quick)
    )
    return {"alone": alone, "push": push}


def case_concurrent(hooks, info, daemon, quick):
    log("case 3: 64 concurrent hook calls")
    line = f"{info['base']} {info['one']} refs/heads/main"
    latencies = []
    errors = []
    for _ in range(rounds_of("concurrent", quick)):
        barrier = threading.Barrier(64)
        lock = threading.Lock()

        def call():
            barrier.wait()
            seconds, code, _, stderr = hooks.run_alone(hooks.foureyes, info["ready"], line)
            with lock:
                latencies.append(seconds)
                if code != 0:
                    errors.append(stderr.strip()[-300:])

        threads = [threading.Thread(target=call) for _ in range(64)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    ordered = sorted(latencies)
    return {
        "calls": len(ordered),
        "p50": statistics.median(ordered),
        "p99": ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))],
        "max": ordered[-1],
        "errors": len(errors),
        "error_samples": errors[:3],
        "daemon_peak_rss_kib": daemon.peak_rss_kib(),
    }


def case_memory(work, hooks, info, daemon_factory):
    """Peak RSS of a fresh daemon for one 100 000-commit check, through a
    real push (quarantine) and on the ready repository."""
    log("case 4: peak memory for the largest push")
    out = {}
    def sampled(daemon, action):
        stop = threading.Event()
        peaks = []
        sampler = threading.Thread(target=daemon.sample_anon_rss, args=(stop, peaks))
        sampler.start()
        before = daemon.peak_rss_kib()
        seconds, code, _, _ = action()
        stop.set()
        sampler.join()
        return {
            "idle_kib": before,
            "peak_kib": daemon.peak_rss_kib(),
            "peak_anon_kib": max(peaks, default=0),
            "seconds": seconds,
            "exit": code,
        }

    daemon = daemon_factory()
    line = f"{info['base']} {info['tip']} refs/heads/main"
    out["alone"] = sampled(daemon, lambda: hooks.run_alone(hooks.foureyes, info["ready"], line))
    daemon.stop()

    daemon = daemon_factory()
    server = work / "srv" / "push.git"
    if server.exists():
        shutil.rmtree(server)
    shutil.copytree(info["template"], server, symlinks=True)
    install_hook(server, hooks.foureyes)
    argv = ["git", "push", "--quiet", str(server), f"{info['tip']}:refs/heads/main"]
    out["push"] = sampled(daemon, lambda: run_measured(argv, cwd=info["client"], env=hooks.env))
    daemon.stop()
    return out


# ---------------------------------------------------------------- report


def ms(seconds):
    return f"{seconds * 1000:.1f}"


def spread(summary):
    return f"{ms(summary['min'])} / {ms(summary['p25'])} / {ms(summary['p75'])} / {ms(summary['max'])}"


def timing_table(results, reference, commits=None):
    columns = ["variant", "median ms", "min / p25 / p75 / max ms", f"× {reference}"]
    if commits:
        columns.append("commits/s")
    columns.append("exit")
    rows = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    base = results[reference]["median"]
    for name, summary in results.items():
        ratio = summary["median"] / base
        row = f"| {name} | {ms(summary['median'])} | {spread(summary)} | {ratio:.2f} |"
        if commits:
            row += f" {commits / summary['median']:,.0f} |"
        row += f" {summary['exit']} |"
        rows.append(row)
    return "\n".join(rows)


def machine_description():
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
    git_version = git_out("--version")
    rustc = run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    return (
        f"{cpu}, {os.cpu_count()} CPUs, {int(memory) // 1024} MiB RAM, "
        f"{platform.system()} {platform.release()}, {git_version}, {rustc}"
    )


def render(results):
    lines = [
        f"Machine: {results['machine']}",
        f"Command: `{results['command']}`",
        "Load average (1 min) at start and end: "
        f"{results['load_start']:.1f}, {results['load_end']:.1f}",
        "",
    ]
    if "startup" in results:
        startup = results["startup"]
        lines += ["### Start-up of the hook client", "", timing_table(startup["timings"], "/bin/true"), ""]
        lines += ["| binary | bytes |", "|---|---|"]
        lines += [f"| {name} | {size:,} |" for name, size in startup["sizes"].items()]
        lines.append("")
    if "one" in results:
        one = results["one"]
        lines += ["### Case 1: 1-commit push (git push, wall time)", "", timing_table(one["push"], "no-op"), ""]
        lines += ["### Case 1: 1-commit update, hook process alone", "", timing_table(one["alone"], "no-op"), ""]
    for size, result in results.get("large", {}).items():
        lines += [
            f"### Case 2: {int(size):,} commits, hook process alone and explain",
            "",
            timing_table(result["alone"], "shell", commits=int(size)),
            "",
            f"### Case 2: {int(size):,} commits, git push wall time",
            "",
            timing_table(result["push"], "shell", commits=int(size)),
            "",
        ]
    if "crypto" in results:
        crypto = results["crypto"]
        size = crypto["size"]
        lines += [
            f"### Case 2: crypto history ({size:,} real commits), hook process alone and explain",
            "",
            timing_table(crypto["alone"], "shell", commits=size),
            "",
            "Last stderr lines: "
            + "; ".join(
                f"{name}: {' / '.join(outcome['stderr_tail'][-1:])}"
                for name, outcome in crypto["alone"].items()
                if outcome["stderr_tail"]
            ),
            "",
            f"### Case 2: crypto history ({size:,} real commits), git push wall time",
            "",
            timing_table(crypto["push"], "shell", commits=size),
            "",
        ]
    if "concurrent" in results:
        c = results["concurrent"]
        lines += [
            "### Case 3: 64 concurrent hook calls (1-commit update each)",
            "",
            "| calls | p50 ms | p99 ms | max ms | p99 / p50 | errors | daemon peak RSS MiB |",
            "|---|---|---|---|---|---|---|",
            f"| {c['calls']} | {ms(c['p50'])} | {ms(c['p99'])} | {ms(c['max'])} | "
            f"{c['p99'] / c['p50']:.2f} | {c['errors']} | {c['daemon_peak_rss_kib'] / 1024:.1f} |",
            "",
        ]
    if "memory" in results:
        memory = results["memory"]
        lines += [
            "### Case 4: peak memory, largest push",
            "",
            "| process | idle RSS MiB | peak RSS (VmHWM) MiB | peak RssAnon MiB | seconds | exit |",
            "|---|---|---|---|---|---|",
        ]
        for name, m in memory.items():
            if name == "explain":
                lines.append(f"| explain | - | {m['peak_kib'] / 1024:.1f} | - | {m['seconds']:.2f} | {m['exit']} |")
            else:
                lines.append(
                    f"| foureyesd, {name} | {m['idle_kib'] / 1024:.1f} | {m['peak_kib'] / 1024:.1f} | "
                    f"{m['peak_anon_kib'] / 1024:.1f} | {m['seconds']:.2f} | {m['exit']} |"
                )
        lines.append("")
    return "\n".join(lines)


# ---------------------------------------------------------------- main


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds per case")
    parser.add_argument("--workdir", type=Path, default=ROOT / "target" / "bench", help="inputs and results")
    parser.add_argument("--no-build", action="store_true", help="use the existing release binaries")
    parser.add_argument(
        "--cases",
        default="startup,one,large,crypto,concurrent,memory",
        help="comma-separated cases to run (default: all)",
    )
    parser.add_argument(
        "--sizes", default=",".join(map(str, SIZES)), help="synthetic sizes for case 2 (default: all)"
    )
    args = parser.parse_args()
    cases = set(args.cases.split(","))
    sizes = [int(size) for size in args.sizes.split(",")]
    work = args.workdir.resolve()
    (work / "srv").mkdir(parents=True, exist_ok=True)

    if not args.no_build:
        log("building release binaries")
        run(["cargo", "build", "--release", "--quiet", "--bins"], cwd=ROOT)
    binary = ROOT / "target" / "release" / "foureyes"
    daemon_binary = ROOT / "target" / "release" / "foureyesd"

    crypto_source = find_crypto_history()
    needed = sorted(set(sizes) | {1000} | ({max(SIZES)} if "memory" in cases else set()))
    infos = {size: prepare_synthetic(work, size) for size in needed}
    crypto = prepare_crypto(work, crypto_source)
    people = {**SYNTHETIC_PEOPLE, **crypto_people(crypto_source)}
    config, shell_people = write_config(work, people)

    def start_daemon():
        daemon = Daemon(work, config, daemon_binary)
        daemon.start()
        return daemon

    hooks = Hooks(work, binary, shell_people, work / "run" / "foureyes.sock")
    results = {
        "machine": machine_description(),
        "command": "python3 benches/bench.py" + (" --quick" if args.quick else ""),
        "base_commits": BASE_COMMITS,
        "load_start": os.getloadavg()[0],
    }
    daemon = start_daemon()
    try:
        if "startup" in cases:
            results["startup"] = case_startup(work, hooks, args.quick)
        if "one" in cases:
            results["one"] = case_one_commit(work, hooks, infos[1000], args.quick)
        if "large" in cases:
            chosen = {size: infos[size] for size in sizes}
            results["large"] = case_large(work, hooks, chosen, config, args.quick)
        if "crypto" in cases:
            results["crypto"] = {"size": crypto["size"], **case_crypto(work, hooks, crypto, config, args.quick)}
        if "concurrent" in cases:
            daemon.stop()
            daemon = start_daemon()
            results["concurrent"] = case_concurrent(hooks, infos[1000], daemon, args.quick)
    finally:
        daemon.stop()
    if "memory" in cases:
        largest = infos[max(SIZES)]
        results["memory"] = case_memory(work, hooks, largest, start_daemon)
        argv = [
            str(binary), "explain", "--config", str(config), "--repo", largest["ready"],
            "--pusher", PUSHER, largest["base"], largest["tip"], "refs/heads/main",
        ]
        seconds, code, rss, _ = run_measured(argv, env=hooks.env)
        results["memory"]["explain"] = {"peak_kib": rss, "seconds": seconds, "exit": code}

    results["load_end"] = os.getloadavg()[0]
    (work / "results.json").write_text(json.dumps(results, indent=2))
    report = render(results)
    (work / "report.md").write_text(report + "\n")
    print(report)


if __name__ == "__main__":
    main()
