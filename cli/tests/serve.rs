//! `danebound serve` as a process: errors are one line and non-zero, SIGTERM
//! is a clean exit 0.

use std::net::UdpSocket;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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

#[test]
fn sigterm_exits_cleanly() {
    // A free port: bind, note, release.
    let port = UdpSocket::bind("127.54.3.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.54.3.1:{port}");
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            &listen,
            "--forward",
            "127.54.3.9:9",
            "--log-level",
            "warn",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until it answers `localhost. A` (a local zone).
    let client = UdpSocket::bind("127.54.3.2:0").unwrap();
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
        client.send_to(&q, &listen).unwrap();
        if client.recv_from(&mut buf).is_ok() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "server never answered"
        );
    }
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert_eq!(status.code(), Some(0));
            break;
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
