//! Pushes over smart HTTP through `git http-backend`, run as a CGI program
//! by a small HTTP server on loopback that plays the web server: it sets
//! `REMOTE_USER` as an authenticating web server would. The hook then takes
//! the pusher from `REMOTE_USER`, so a reviewer who is also the pusher does
//! not count.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};

use crate::support::{
    ALICE, BOB, CAROL, Config, Daemon, FOUREYES_BIN, git_command, reviewed, run_with_input,
};

/// A loopback HTTP server that runs `git http-backend` once per request,
/// with `GIT_PROJECT_ROOT` at `root` and `REMOTE_USER` set to the current
/// user.
struct CgiServer {
    port: u16,
    remote_user: Arc<Mutex<String>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// Everything the CGI program gets besides the request.
#[derive(Clone)]
struct CgiSetup {
    root: PathBuf,
    home: PathBuf,
    socket: PathBuf,
}

impl CgiServer {
    fn start(setup: CgiSetup, remote_user: &str) -> CgiServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = listener.local_addr().expect("local address").port();
        let remote_user = Arc::new(Mutex::new(remote_user.to_owned()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let remote_user = remote_user.clone();
            let stop = stop.clone();
            thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let user = remote_user.lock().expect("lock not poisoned").clone();
                    if let Err(err) = serve(stream, &setup, &user) {
                        eprintln!("test HTTP server: {err}");
                    }
                }
            })
        };
        CgiServer {
            port,
            remote_user,
            stop,
            thread: Some(thread),
        }
    }

    fn set_remote_user(&self, user: &str) {
        *self.remote_user.lock().expect("lock not poisoned") = user.to_owned();
    }

    fn url(&self, repo: &str) -> String {
        format!("http://127.0.0.1:{}/{repo}", self.port)
    }
}

impl Drop for CgiServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it reads the stop flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One HTTP request as the CGI program needs it.
struct Request {
    method: String,
    path: String,
    query: String,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

/// Reads one request, runs the CGI program and writes its response, then
/// closes the connection.
fn serve(stream: TcpStream, setup: &CgiSetup, remote_user: &str) -> Result<(), String> {
    let mut writer = stream.try_clone().map_err(|err| err.to_string())?;
    let mut reader = BufReader::new(stream);
    let Some(request) = read_request(&mut reader, &mut writer)? else {
        return Ok(());
    };
    let output = run_cgi(&request, setup, remote_user);
    if !output.status.success() {
        return Err(format!(
            "git http-backend failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let response = cgi_to_http(&output.stdout)?;
    writer
        .write_all(&response)
        .map_err(|err| format!("cannot write the response: {err}"))
}

fn read_request(
    reader: &mut BufReader<TcpStream>,
    writer: &mut TcpStream,
) -> Result<Option<Request>, String> {
    let mut line = String::new();
    reader
        .read_line(&mut line)
        .map_err(|err| format!("cannot read the request line: {err}"))?;
    if line.trim().is_empty() {
        // The wake-up connection of Drop, or a client that gave up.
        return Ok(None);
    }
    let mut words = line.split_whitespace();
    let method = words.next().unwrap_or_default().to_owned();
    let target = words.next().unwrap_or_default();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));

    let mut headers = BTreeMap::new();
    loop {
        let mut header = String::new();
        reader
            .read_line(&mut header)
            .map_err(|err| format!("cannot read a header: {err}"))?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
    }
    if headers
        .get("expect")
        .is_some_and(|value| value == "100-continue")
    {
        writer
            .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
            .map_err(|err| err.to_string())?;
    }

    let body = if headers
        .get("transfer-encoding")
        .is_some_and(|value| value.eq_ignore_ascii_case("chunked"))
    {
        read_chunked(reader)?
    } else {
        let length: usize = headers
            .get("content-length")
            .map_or(Ok(0), |value| value.parse())
            .map_err(|err| format!("invalid Content-Length: {err}"))?;
        let mut body = vec![0; length];
        reader
            .read_exact(&mut body)
            .map_err(|err| format!("cannot read the body: {err}"))?;
        body
    };
    Ok(Some(Request {
        method,
        path: path.to_owned(),
        query: query.to_owned(),
        headers,
        body,
    }))
}

/// Reads a body sent with `Transfer-Encoding: chunked`, which git uses for
/// packs larger than `http.postBuffer`.
fn read_chunked(reader: &mut BufReader<TcpStream>) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let mut size_line = String::new();
        reader
            .read_line(&mut size_line)
            .map_err(|err| format!("cannot read a chunk size: {err}"))?;
        let size_text = size_line.trim().split(';').next().unwrap_or_default();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|err| format!("invalid chunk size {size_text:?}: {err}"))?;
        if size == 0 {
            let mut trailer = String::new();
            reader
                .read_line(&mut trailer)
                .map_err(|err| err.to_string())?;
            return Ok(body);
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader
            .read_exact(&mut body[start..])
            .map_err(|err| format!("cannot read a chunk: {err}"))?;
        let mut line_end = [0u8; 2];
        reader
            .read_exact(&mut line_end)
            .map_err(|err| err.to_string())?;
    }
}

/// Runs `git http-backend` with the CGI variables of `request`. The hook
/// inherits this environment through `git receive-pack`.
fn run_cgi(request: &Request, setup: &CgiSetup, remote_user: &str) -> Output {
    let mut command = git_command(&setup.home, &setup.root);
    command
        .arg("http-backend")
        .env("GIT_PROJECT_ROOT", &setup.root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("GATEWAY_INTERFACE", "CGI/1.1")
        .env("SERVER_PROTOCOL", "HTTP/1.1")
        .env("REQUEST_METHOD", &request.method)
        .env("PATH_INFO", &request.path)
        .env("QUERY_STRING", &request.query)
        .env("CONTENT_LENGTH", request.body.len().to_string())
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("FOUREYES_BIN", FOUREYES_BIN)
        .env("FOUREYES_SOCKET", &setup.socket)
        .env("FOUREYES_TIMEOUT_MS", "30000");
    // An empty user stands for a location without authentication, where the
    // web server sets no REMOTE_USER at all.
    if !remote_user.is_empty() {
        command.env("REMOTE_USER", remote_user);
    }
    if let Some(content_type) = request.headers.get("content-type") {
        command.env("CONTENT_TYPE", content_type);
    }
    if let Some(encoding) = request.headers.get("content-encoding") {
        command.env("HTTP_CONTENT_ENCODING", encoding);
    }
    if let Some(protocol) = request.headers.get("git-protocol") {
        command.env("GIT_PROTOCOL", protocol);
    }
    run_with_input(&mut command, &request.body)
}

/// Turns CGI output (headers, a blank line, the body) into an HTTP/1.1
/// response that closes the connection.
fn cgi_to_http(output: &[u8]) -> Result<Vec<u8>, String> {
    let (head, body) = split_head(output).ok_or("CGI output has no blank line after headers")?;
    let head = String::from_utf8_lossy(head);
    let mut status = "200 OK".to_owned();
    let mut headers = String::new();
    for line in head.lines() {
        let line = line.trim_end_matches('\r');
        match line.split_once(':') {
            Some((name, value)) if name.eq_ignore_ascii_case("status") => {
                status = value.trim().to_owned();
            }
            Some(_) => {
                headers.push_str(line);
                headers.push_str("\r\n");
            }
            None => {}
        }
    }
    let mut response = format!(
        "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    response.extend_from_slice(body);
    Ok(response)
}

fn split_head(output: &[u8]) -> Option<(&[u8], &[u8])> {
    for separator in [&b"\r\n\r\n"[..], &b"\n\n"[..]] {
        if let Some(index) = output
            .windows(separator.len())
            .position(|window| window == separator)
        {
            return Some((&output[..index], &output[index + separator.len()..]));
        }
    }
    None
}

/// Pushes `main` of the work clone at `work` to `url`, with no pusher
/// variable in the client's environment.
fn push_over_http(home: &Path, work: &Path, url: &str) -> Output {
    let mut command = git_command(home, work);
    command.args(["push", url, "main"]);
    run_with_input(&mut command, b"")
}

#[test]
fn http_pusher_from_remote_user() {
    let config = Config::team().rule("main", &["refs/heads/main"], "min_reviewers = 1");
    let daemon = Daemon::start(&config);
    let remote = daemon.remote("web");
    remote.commit("main", ALICE, &reviewed("Change reviewed by Bob", &[BOB]));
    let setup = CgiSetup {
        root: daemon.repo_root(),
        home: remote.home(),
        socket: daemon.socket().to_path_buf(),
    };
    let server = CgiServer::start(setup, "bob");
    let url = server.url("web.git");

    // Bob pushes his own review: it does not count.
    let rejected = push_over_http(&remote.home(), remote.work(), &url);
    let text = String::from_utf8_lossy(&rejected.stderr).into_owned();
    assert!(!rejected.status.success(), "{text}");
    assert!(text.contains("pre-receive hook declined"), "{text}");
    assert!(text.contains("has 0 of 1 required reviewers"), "{text}");
    assert_eq!(remote.bare_refs().get("refs/heads/main"), None);
    let records = daemon.records_for("refs/heads/main");
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0].get("pusher"), Some("bob"));
    assert_eq!(records[0].get("decision"), Some("reject"));

    // Carol pushes the same commit: Bob's review counts.
    server.set_remote_user("carol");
    let accepted = push_over_http(&remote.home(), remote.work(), &url);
    let text = String::from_utf8_lossy(&accepted.stderr).into_owned();
    assert!(accepted.status.success(), "{text}");
    assert!(remote.bare_refs().contains_key("refs/heads/main"));
    let records = daemon.records_for("refs/heads/main");
    assert_eq!(records.len(), 2, "{records:?}");
    assert_eq!(records[1].get("pusher"), Some("carol"));
    assert_eq!(records[1].get("decision"), Some("accept"));
}

/// Without `REMOTE_USER`, http-backend refuses the push before any hook
/// runs, so an unauthenticated location cannot push at all.
#[test]
fn http_push_without_remote_user() {
    let config = Config::team().rule("main", &["refs/heads/main"], "min_reviewers = 1");
    let daemon = Daemon::start(&config);
    let remote = daemon.remote("anonymous");
    remote.commit(
        "main",
        ALICE,
        &reviewed("Change reviewed by Carol", &[CAROL]),
    );
    let setup = CgiSetup {
        root: daemon.repo_root(),
        home: remote.home(),
        socket: daemon.socket().to_path_buf(),
    };
    let server = CgiServer::start(setup, "");

    let output = push_over_http(&remote.home(), remote.work(), &server.url("anonymous.git"));

    assert!(!output.status.success());
    assert_eq!(remote.bare_refs().get("refs/heads/main"), None);
    assert_eq!(daemon.records().len(), 0);
}

#[test]
fn cgi_output_becomes_http() {
    let cgi = b"Status: 403 Forbidden\r\nContent-Type: text/plain\r\n\r\nno";
    let response = String::from_utf8(cgi_to_http(cgi).unwrap()).unwrap();
    assert!(
        response.starts_with("HTTP/1.1 403 Forbidden\r\n"),
        "{response}"
    );
    assert!(
        response.contains("Content-Type: text/plain\r\n"),
        "{response}"
    );
    assert!(response.contains("Content-Length: 2\r\n"), "{response}");
    assert!(response.ends_with("\r\n\r\nno"), "{response}");
}
