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
    // No anchor option: the root is managed in the state file, created on
    // first start from the built-in keys (here in a temporary directory).
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state").join("root.key");
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            &listen,
            "--forward",
            "127.54.3.9:9",
            "--root-anchor-file",
            state.to_str().unwrap(),
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
    let written = std::fs::read_to_string(&state).unwrap();
    assert!(
        written.starts_with("; autotrust trust anchor file\n;;id: . 1\n"),
        "{written}"
    );
    assert!(written.contains(";{id = 20326 (ksk), size = 2048b} ;;state=2 [  VALID  ]"));
    assert!(written.contains(";{id = 38696 (ksk), size = 2048b} ;;state=2 [  VALID  ]"));
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
