//! `danebound serve` as a process: errors are one line and non-zero, SIGTERM
//! is a clean exit 0.

use std::net::UdpSocket;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use danebound_tests::skip::{Need, skip};
use hickory_proto::op::{Message, Query};
use hickory_proto::rr::{Name, RecordType};

const BIN: &str = env!("CARGO_BIN_EXE_danebound");

fn run(args: &[&str]) -> (i32, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_wrong_flag_is_one_line_and_exit_2() {
    let (code, err) = run(&["serve", "--colour", "blue"]);
    assert_eq!(code, 2);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--colour"), "{err}");
}

#[test]
fn a_missing_config_file_is_named() {
    let (code, err) = run(&["serve", "--config", "/nonexistent/danebound.toml"]);
    assert_eq!(code, 1);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("/nonexistent/danebound.toml"), "{err}");
}

#[test]
fn a_bad_config_value_is_named() {
    let path = std::env::temp_dir().join(format!("danebound-test-{}.toml", std::process::id()));
    std::fs::write(&path, "workers = 0\n").unwrap();
    let (code, err) = run(&["serve", "--config", path.to_str().unwrap()]);
    std::fs::remove_file(&path).unwrap();
    assert_eq!(code, 1);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("workers"), "{err}");
    let (code, err) = run(&["serve", "--forward", "not-an-address"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("--forward") && err.contains("not-an-address"),
        "{err}"
    );
}

/// A free loopback address and port on `ip`: bind, note, release.
fn free_listen(ip: &str) -> String {
    let port = UdpSocket::bind(format!("{ip}:0"))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("{ip}:{port}")
}

/// `danebound serve` on `listen` with `extra` arguments; stderr piped.
fn spawn_serve(listen: &str, extra: &[&str]) -> Child {
    spawn_serve_with_state(listen, &scratch_state_file(), extra)
}

/// A root anchor state file in a fresh scratch directory that outlives the
/// test's server (never the host's /var/lib/danebound).
fn scratch_state_file() -> std::path::PathBuf {
    let dir = tempfile::tempdir().unwrap().keep();
    dir.join("state").join("root.key")
}

/// `danebound serve` on `listen`, managing the root anchor in `state`
/// (no anchor option: RFC 5011 from the built-in keys), with `extra`
/// arguments; stderr piped.
fn spawn_serve_with_state(listen: &str, state: &std::path::Path, extra: &[&str]) -> Child {
    Command::new(BIN)
        .args([
            "serve",
            "--listen",
            listen,
            "--forward",
            "127.54.3.9:9",
            "--root-anchor-file",
            state.to_str().unwrap(),
            "--log-level",
            "info",
        ])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Asks `localhost. A` (a local zone) from `client_ip` until answered (at
/// most 10 s, a liveness bound).
fn wait_until_answering(listen: &str, client_ip: &str) {
    let client = UdpSocket::bind(format!("{client_ip}:0")).unwrap();
    client
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut q = Message::query();
    q.add_query(Query::query(
        Name::from_ascii("localhost.").unwrap(),
        RecordType::A,
    ));
    let q = q.to_vec().unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 512];
    loop {
        client.send_to(&q, listen).unwrap();
        if client.recv_from(&mut buf).is_ok() {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "server never answered"
        );
    }
}

/// SIGTERM, then the exit status (within 5 s).
fn terminate(child: &mut Child) -> Option<i32> {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "no exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `serve --check-config`: stdout, exit code.
fn check_config(text: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("danebound.toml");
    std::fs::write(&path, text).unwrap();
    let out = Command::new(BIN)
        .args([
            "serve",
            "--check-config",
            "--config",
            path.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).replace(path.to_str().unwrap(), "FILE"),
    )
}

#[test]
fn check_config_lists_every_problem_with_its_line() {
    let (code, out) = check_config(
        "# danebound\nworkers = 0\nlisten = [\"127.0.0.1\"]\n\n[cache]\nmax_ttl = 0\n[colour]\n",
    );
    assert_eq!(code, 1, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 5, "{out}");
    assert!(lines[0].starts_with("FILE:2: error: workers"), "{out}");
    assert!(lines[1].starts_with("FILE:3: error: listen"), "{out}");
    assert!(
        lines[2].starts_with("FILE:6: error: cache.max_ttl"),
        "{out}"
    );
    assert!(lines[3].starts_with("FILE:7: error: colour"), "{out}");
    assert_eq!(lines[4], "danebound: 4 errors in FILE", "{out}");
}

#[test]
fn check_config_checks_what_serve_loads() {
    let (code, out) = check_config("log_level = \"info\"\n[cache]\nmax_ttl = 600\n");
    assert_eq!((code, out.as_str()), (0, "danebound: no errors in FILE\n"));
    let (code, out) = check_config("trust_anchors = [\"/nonexistent/root.key\"]\n");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("/nonexistent/root.key"), "{out}");
    let (code, out) = check_config("workers = 2\n[cache\n");
    assert_eq!(code, 1, "{out}");
    assert!(out.starts_with("FILE:2: error: "), "{out}");
    let (code, _) = check_config("");
    assert_eq!(code, 0);
}

#[test]
fn sigterm_exits_cleanly() {
    let listen = free_listen("127.54.3.1");
    let state = scratch_state_file();
    let mut child = spawn_serve_with_state(&listen, &state, &[]);
    wait_until_answering(&listen, "127.54.3.2");
    // No anchor option: the root is managed in the state file, created on
    // first start from the built-in keys.
    let written = std::fs::read_to_string(&state).unwrap();
    assert!(
        written.starts_with("; autotrust trust anchor file\n;;id: . 1\n"),
        "{written}"
    );
    assert!(written.contains(";{id = 20326 (ksk), size = 2048b} ;;state=2 [  VALID  ]"));
    assert!(written.contains(";{id = 38696 (ksk), size = 2048b} ;;state=2 [  VALID  ]"));
    assert_eq!(terminate(&mut child), Some(0));
}

fn is_root() -> bool {
    status_ids(
        &std::fs::read_to_string("/proc/self/status").unwrap(),
        "Uid:",
    )[0] == 0
}

/// The four ids (real, effective, saved, filesystem) of a `Uid:` or `Gid:`
/// line of /proc/PID/status.
fn status_ids(status: &str, key: &str) -> Vec<u32> {
    status
        .lines()
        .find(|l| l.starts_with(key))
        .unwrap_or_else(|| panic!("no {key} in status"))
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse().unwrap())
        .collect()
}

/// The uid and gid of `user` from /etc/passwd.
fn passwd_ids(user: &str) -> (u32, u32) {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    let line = passwd
        .lines()
        .find(|l| l.split(':').next() == Some(user))
        .unwrap_or_else(|| panic!("no user {user}"));
    let f: Vec<&str> = line.split(':').collect();
    (f[2].parse().unwrap(), f[3].parse().unwrap())
}

fn config_file(text: &str) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), text).unwrap();
    file
}

#[test]
fn started_as_root_serve_drops_to_the_configured_user_and_still_answers() {
    if !is_root() {
        return skip(Need::Lab, "serve_drops_root", "needs root to drop it");
    }
    let (uid, gid) = passwd_ids("nobody");
    let config = config_file("user = \"nobody\"\n");
    let listen = free_listen("127.54.3.3");
    let mut child = spawn_serve(&listen, &["--config", config.path().to_str().unwrap()]);
    wait_until_answering(&listen, "127.54.3.4");
    // Every thread, not just the main one, runs as nobody:nogroup with no
    // other groups.
    let tasks = format!("/proc/{}/task", child.id());
    let mut threads = 0;
    for task in std::fs::read_dir(&tasks).unwrap().flatten() {
        let status = std::fs::read_to_string(task.path().join("status")).unwrap();
        assert_eq!(status_ids(&status, "Uid:"), [uid; 4], "{status}");
        assert_eq!(status_ids(&status, "Gid:"), [gid; 4], "{status}");
        let groups = status.lines().find(|l| l.starts_with("Groups:")).unwrap();
        assert_eq!(
            groups.split_whitespace().skip(1).collect::<Vec<_>>(),
            [gid.to_string()]
        );
        threads += 1;
    }
    assert!(threads > 1, "the runtime's threads were checked");
    // Still answering after the drop.
    wait_until_answering(&listen, "127.54.3.4");
    assert_eq!(terminate(&mut child), Some(0));
}

#[test]
fn started_as_root_a_missing_configured_user_is_an_error() {
    if !is_root() {
        return skip(Need::Lab, "serve_missing_user", "needs root to drop it");
    }
    let config = config_file("user = \"no-such-user-danebound-test\"\n");
    let listen = free_listen("127.54.3.5");
    let out = spawn_serve(&listen, &["--config", config.path().to_str().unwrap()])
        .wait_with_output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("no-such-user-danebound-test"), "{err}");
}

#[test]
fn started_as_root_user_empty_stays_root() {
    if !is_root() {
        return skip(Need::Lab, "serve_user_empty", "needs root");
    }
    let config = config_file("user = \"\"\n");
    let listen = free_listen("127.54.3.6");
    let mut child = spawn_serve(&listen, &["--config", config.path().to_str().unwrap()]);
    wait_until_answering(&listen, "127.54.3.7");
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    assert_eq!(status_ids(&status, "Uid:"), [0; 4]);
    assert_eq!(terminate(&mut child), Some(0));
}

#[test]
fn a_damaged_anchor_state_file_stops_serve_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("root.key");
    std::fs::write(
        &state,
        "; autotrust trust anchor file\n;;id: . 1\n;;query_failed: 0\n\
         .\t172800\tIN\tDNSKEY\t257 3 8 AwEAAaz/tAm8yTn4Mfeh5eyI96WSVexTBAvkMgJzkKTOiW1vkIbzxeF3+/4RgWOq7HrxRixHlFlExOLAJr5emLvN7SWXgnLh4+B5xQlNVz8Og8kvArMtNROxVQuCaSnIDdD5LKyWbRd2n9WGe2R8PzgCmr3EgVLrjyBxWezF0jLHwVN8efS3rCj/EWgvIWgb9tarpVUDK/b58Da+sqqls3eNbuv7pr+eoZG+SrDK6nWeL3c6H5Apxz7LjVc1uTIdsIXxuOLYA4/ilBmSVIzuDWfdRUfhHdY6+cn8HFRm+2hM8AnXGXws9555KrUB5qihylGa8subX2Nn6UwNR1AkUTV74bU= ;{id = 20326 (ksk), size = 2048b}\n",
    )
    .unwrap();
    let (code, err) = run(&[
        "serve",
        "--listen",
        "127.54.3.1:0",
        "--forward",
        "127.54.3.9:9",
        "--auto-trust-anchor",
        state.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!("{}:4: key without ;;state=", state.display())),
        "{err}"
    );
    assert!(err.contains("danebound anchor bootstrap"), "{err}");
}

#[test]
fn an_anchor_file_of_only_unsupported_algorithms_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("odd.ds");
    std::fs::write(
        &file,
        ". IN DS 12345 200 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n",
    )
    .unwrap();
    let (code, err) = run(&[
        "serve",
        "--listen",
        "127.54.3.1:0",
        "--forward",
        "127.54.3.9:9",
        "--trust-anchor",
        file.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("unsupported algorithm or digest"), "{err}");
}

#[test]
fn ready_is_sent_to_systemd_once_the_sockets_are_bound() {
    let dir = tempfile::tempdir().unwrap();
    let notify_path = dir.path().join("notify");
    let notify = std::os::unix::net::UnixDatagram::bind(&notify_path).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let port = UdpSocket::bind("127.54.3.3:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.54.3.3:{port}");
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", &listen, "--forward", "127.54.3.9:9"])
        .arg("--root-anchor-file")
        .arg(scratch_state_file())
        .args(["--log-level", "warn"])
        .env("NOTIFY_SOCKET", &notify_path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut buf = [0u8; 256];
    let received = notify.recv(&mut buf);
    // Ready means serving: the first query is answered.
    let client = UdpSocket::bind("127.54.3.2:0").unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut q = Message::query();
    q.add_query(Query::query(
        Name::from_ascii("localhost.").unwrap(),
        RecordType::A,
    ));
    client.send_to(&q.to_vec().unwrap(), &listen).unwrap();
    let answered = client.recv_from(&mut [0u8; 512]).is_ok();
    let _ = child.kill();
    let _ = child.wait();
    let n = received.expect("no READY=1 within 10 s");
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.lines().any(|l| l == "READY=1"), "{text}");
    assert!(answered, "not answering after READY=1");
}
