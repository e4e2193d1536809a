//! `danebound control` and the metrics endpoint against a real `danebound
//! serve` process, over its real Unix socket and HTTP port, with a fake
//! unsigned upstream on 127.54.4.x (so answers are bogus under the root
//! anchor, until a negative trust anchor makes them insecure).

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream, UdpSocket};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, MessageType, Query, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{Name, RData, Record, RecordType};

const BIN: &str = env!("CARGO_BIN_EXE_danebound");

/// A free port on `ip` (bind, note, release).
fn free_port(ip: &str) -> u16 {
    UdpSocket::bind(format!("{ip}:0"))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An upstream that answers every A query with 192.0.2.1 and anything else
/// with an empty NOERROR, all unsigned.
fn fake_upstream() -> SocketAddr {
    fake_upstream_answering(Ipv4Addr::new(192, 0, 2, 1))
}

/// The same, answering A queries with `address`.
fn fake_upstream_answering(address: Ipv4Addr) -> SocketAddr {
    let socket = UdpSocket::bind("127.54.4.9:0").unwrap();
    let addr = socket.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        loop {
            let Ok((n, peer)) = socket.recv_from(&mut buf) else {
                continue;
            };
            let Ok(q) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            let mut m = Message::response(q.metadata.id, q.metadata.op_code);
            m.metadata.message_type = MessageType::Response;
            m.metadata.recursion_available = true;
            m.metadata.recursion_desired = true;
            let Some(query) = q.queries.first().cloned() else {
                continue;
            };
            if query.query_type() == RecordType::A {
                m.add_answer(Record::from_rdata(
                    query.name().clone(),
                    300,
                    RData::A(A(address)),
                ));
            }
            m.add_query(query);
            let _ = socket.send_to(&m.to_vec().unwrap(), peer);
        }
    });
    addr
}

struct Serve {
    child: Child,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Serve {
    fn start(config: &Path, socket: &Path) -> Self {
        let child = Command::new(BIN)
            .args(["serve", "--config", config.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let serve = Self { child };
        let started = Instant::now();
        while control(socket, &["status"]).0 != 0 {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "control socket never answered"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        serve
    }

    /// SIGTERM, and the exit status.
    fn stop(mut self) -> i32 {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            assert!(started.elapsed() < Duration::from_secs(5), "no exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// `danebound control --socket S ARGS`: exit code, stdout, stderr.
fn control(socket: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .arg("control")
        .arg("--socket")
        .arg(socket)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ok(socket: &Path, args: &[&str]) -> String {
    let (code, out, err) = control(socket, args);
    assert_eq!(code, 0, "{args:?}: {out} {err}");
    out
}

/// Asks `name A` over UDP: rcode, AD, number of answers.
fn ask(server: SocketAddr, name: &str) -> (ResponseCode, bool, usize) {
    let m = ask_message(server, name);
    (
        m.metadata.response_code,
        m.metadata.authentic_data,
        m.answers.len(),
    )
}

/// The rcode and the first A record's address of `name A`.
fn ask_a(server: SocketAddr, name: &str) -> (ResponseCode, Option<Ipv4Addr>) {
    let m = ask_message(server, name);
    let a = m.answers.iter().find_map(|r| match &r.data {
        RData::A(a) => Some(a.0),
        _ => None,
    });
    (m.metadata.response_code, a)
}

fn ask_message(server: SocketAddr, name: &str) -> Message {
    let client = UdpSocket::bind("127.54.4.2:0").unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut q = Message::query();
    q.metadata.recursion_desired = true;
    q.add_query(Query::query(Name::from_ascii(name).unwrap(), RecordType::A));
    client.send_to(&q.to_vec().unwrap(), server).unwrap();
    let mut buf = [0u8; 4096];
    let (n, _) = client.recv_from(&mut buf).unwrap();
    Message::from_vec(&buf[..n]).unwrap()
}

/// The value of `key=` in `stats` output.
fn stat(stats: &str, key: &str) -> u64 {
    stats
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key} in {stats}"))
        .parse()
        .unwrap()
}

fn http_get(addr: SocketAddr, path: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn control_stats_flush_nta_and_metrics_over_real_sockets() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("control.sock");
    let nta_file = dir.path().join("nta");
    let config = dir.path().join("danebound.toml");
    let listen: SocketAddr = format!("127.54.4.1:{}", free_port("127.54.4.1"))
        .parse()
        .unwrap();
    let metrics: SocketAddr = format!("127.54.4.1:{}", free_port("127.54.4.1"))
        .parse()
        .unwrap();
    let upstream = fake_upstream();
    std::fs::write(
        &config,
        format!(
            "listen = [\"{listen}\"]\nforward = [\"{upstream}\"]\nworkers = 1\n\
             user = \"\"\nroot_anchor_file = \"{}\"\n\
             [control]\nsocket = \"{}\"\nnta_file = \"{}\"\n\
             [metrics]\nlisten = \"{metrics}\"\n",
            dir.path().join("root.key").display(),
            socket.display(),
            nta_file.display()
        ),
    )
    .unwrap();
    let serve = Serve::start(&config, &socket);
    let mode = std::fs::metadata(&socket).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o660, "socket mode {mode:o}");
    assert!(ok(&socket, &["status"]).contains("is running"));

    // Unsigned data under the root anchor: bogus, then held in the cache.
    assert_eq!(ask(listen, "www.example.com.").0, ResponseCode::ServFail);
    assert_eq!(ask(listen, "www.example.com.").0, ResponseCode::ServFail);
    let stats = ok(&socket, &["stats"]);
    assert!(stat(&stats, "queries.udp") >= 2, "{stats}");
    assert!(stat(&stats, "cache.misses") >= 1, "{stats}");
    assert!(stat(&stats, "cache.hits") >= 1, "{stats}");
    assert!(stat(&stats, "answers.validation.bogus") >= 2, "{stats}");
    assert!(stat(&stats, "answers.rcode.SERVFAIL") >= 2, "{stats}");
    assert!(stat(&stats, "upstream.queries") >= 2, "{stats}");
    assert!(stat(&stats, "cache.entries") >= 1, "{stats}");
    // The root's DNSKEY set failed, so the key store may hold nothing; the
    // counter is there either way.
    let _ = stat(&stats, "keys.bytes");
    let json: serde_json::Value = serde_json::from_str(&ok(&socket, &["stats", "--json"])).unwrap();
    assert!(json["cache"]["hits"].as_u64().unwrap() >= 1, "{json}");

    // unbound's own protocol, as unbound_exporter speaks it.
    let mut raw = std::os::unix::net::UnixStream::connect(&socket).unwrap();
    raw.write_all(b"UBCT1 stats_noreset\n").unwrap();
    let mut text = String::new();
    raw.read_to_string(&mut text).unwrap();
    assert!(text.contains("thread0.num.queries="), "{text}");
    assert!(text.lines().all(|l| l.contains('=')), "{text}");

    assert!(ok(&socket, &["flush_bogus"]).contains("removed 1 bogus"));

    // A negative trust anchor: the same data is now answered, without AD.
    let added = ok(&socket, &["insecure_add", "Example.COM", "--for", "2h"]);
    assert!(
        added.contains("example.com. is not validated until"),
        "{added}"
    );
    assert!(added.contains("(in 2 hours)"), "{added}");
    assert_eq!(
        ask(listen, "www.example.com."),
        (ResponseCode::NoError, false, 1)
    );
    assert!(ok(&socket, &["insecure_list"]).starts_with("example.com. expires "));
    let stats = ok(&socket, &["stats"]);
    assert!(stat(&stats, "answers.validation.nta") >= 1, "{stats}");
    assert_eq!(stat(&stats, "negative_trust_anchors"), 1, "{stats}");
    assert!(
        std::fs::read_to_string(&nta_file)
            .unwrap()
            .contains("example.com. ")
    );
    assert!(ok(&socket, &["flush", "www.example.com"]).contains("removed 1 cached"));
    assert_eq!(
        ask(listen, "www.example.com."),
        (ResponseCode::NoError, false, 1)
    );

    // Prometheus.
    let page = http_get(metrics, "/metrics");
    assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
    assert!(page.contains("text/plain; version=0.0.4"), "{page}");
    assert!(page.contains("\ndanebound_cache_hits_total "), "{page}");
    assert!(page.contains("danebound_answers_validated_total{status=\"nta\"} "));
    assert!(
        page.contains("danebound_response_duration_seconds_bucket{cache=\"hit\",le=\"+Inf\"} ")
    );
    assert!(page.contains("danebound_response_duration_seconds_count{cache=\"miss\"} "));
    assert!(http_get(metrics, "/").starts_with("HTTP/1.1 404"));

    // Bad commands are usage errors before any connection; a command the
    // server refuses is exit 1 with its reason.
    let (code, _, err) = control(&socket, &["insecure_add", "x.example", "--for", "30d"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = control(&socket, &["frobnicate"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = control(&socket, &["insecure_remove", "other.example"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("no negative trust anchor for other.example."),
        "{err}"
    );
    // The root anchor is RFC 5011-managed in this test's directory.
    let anchors = ok(&socket, &["list_auto_trust_anchors"]);
    let root_key = dir.path().join("root.key");
    assert!(
        anchors.starts_with(&format!(";; {}\n", root_key.display())),
        "{anchors}"
    );
    assert!(
        anchors.contains("; autotrust trust anchor file"),
        "{anchors}"
    );
    assert!(anchors.contains(";;state=2 [  VALID  ]"), "{anchors}");
    let reload = ok(&socket, &["reload"]);
    assert!(reload.contains("nothing else changed"), "{reload}");

    // Someone else: the file mode refuses them, and so does the server when
    // the mode is looser.
    if std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
        .ok()
        == Some(0)
        && Path::new("/usr/bin/setpriv").exists()
    {
        let as_nobody = |args: &[&str]| {
            let out = Command::new("setpriv")
                .args([
                    "--reuid=65534",
                    "--regid=65534",
                    "--clear-groups",
                    BIN,
                    "control",
                ])
                .arg("--socket")
                .arg(&socket)
                .args(args)
                .output()
                .unwrap();
            (
                out.status.code(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        };
        // The temporary directory is 0700: open it so only the socket's
        // mode stands in the way.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let (code, err) = as_nobody(&["status"]);
        assert_eq!(code, Some(1), "{err}");
        assert!(err.contains("permission denied on"), "{err}");
        std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o666)).unwrap();
        let (code, err) = as_nobody(&["flush_bogus"]);
        assert_eq!(code, Some(1), "{err}");
        assert!(err.contains("permission denied: uid 65534"), "{err}");
    } else {
        eprintln!("skipping the refusal checks: they need root and setpriv");
    }

    // Restart: the negative trust anchor persists.
    assert_eq!(serve.stop(), 0);
    assert!(!socket.exists(), "socket left behind");
    let serve = Serve::start(&config, &socket);
    assert!(ok(&socket, &["insecure_list"]).starts_with("example.com. expires "));
    assert_eq!(ask(listen, "www.example.com.").0, ResponseCode::NoError);
    assert!(ok(&socket, &["insecure_remove", "example.com"]).contains("validated again"));
    assert_eq!(ask(listen, "www.example.com.").0, ResponseCode::ServFail);
    assert_eq!(
        ok(&socket, &["insecure_list"]),
        "no negative trust anchors\n"
    );
    assert!(
        !std::fs::read_to_string(&nta_file)
            .unwrap()
            .contains("example.com.")
    );
    assert_eq!(serve.stop(), 0);
}

/// What `reload` applies live, what it keeps, and what it refuses (issue
/// 13): the cache survives a log-level change, and goes when the upstreams,
/// the trust anchors, `domain_insecure` or the local zones change; access
/// control, rate limits and local zones apply at once; listen addresses and
/// the user are reported as needing a restart; a bad file changes nothing.
#[test]
fn reload_applies_what_it_can_and_keeps_the_cache_where_it_still_applies() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("control.sock");
    let config = dir.path().join("danebound.toml");
    let listen: SocketAddr = format!("127.54.4.1:{}", free_port("127.54.4.1"))
        .parse()
        .unwrap();
    let first = fake_upstream_answering(Ipv4Addr::new(192, 0, 2, 1));
    let second = fake_upstream_answering(Ipv4Addr::new(192, 0, 2, 2));
    // Static anchors for corp. only: example.com. has none and is Insecure.
    let corp = dir.path().join("corp.ds");
    let example = dir.path().join("example.ds");
    let digest = "A".repeat(64);
    std::fs::write(&corp, format!("corp. 3600 IN DS 12345 8 2 {digest}\n")).unwrap();
    std::fs::write(
        &example,
        format!("example.com. 3600 IN DS 12345 8 2 {digest}\n"),
    )
    .unwrap();
    let write = |settings: &str| {
        std::fs::write(
            &config,
            format!(
                "listen = [\"{listen}\"]\nworkers = 1\nuser = \"\"\n{settings}\n\
                 [control]\nsocket = \"{}\"\nnta_file = \"{}\"\n",
                socket.display(),
                dir.path().join("nta").display()
            ),
        )
        .unwrap();
    };
    let anchors = |files: &[&Path]| {
        let list: Vec<String> = files
            .iter()
            .map(|f| format!("\"{}\"", f.display()))
            .collect();
        format!("trust_anchors = [{}]", list.join(", "))
    };
    let corp_only = anchors(&[corp.as_path()]);
    write(&format!(
        "forward = [\"{first}\"]\n{corp_only}\nlog_level = \"info\""
    ));
    let serve = Serve::start(&config, &socket);
    let stats = || ok(&socket, &["stats"]);
    let a1 = Some(Ipv4Addr::new(192, 0, 2, 1));
    let a2 = Some(Ipv4Addr::new(192, 0, 2, 2));

    assert_eq!(
        ask_a(listen, "www.example.com."),
        (ResponseCode::NoError, a1)
    );
    let before = stats();

    // Only the log level: applied, and the cache still answers.
    write(&format!(
        "forward = [\"{first}\"]\n{corp_only}\nlog_level = \"debug\""
    ));
    let reload = ok(&socket, &["reload"]);
    assert!(reload.contains("applied: log_level"), "{reload}");
    assert!(reload.contains("answer cache kept"), "{reload}");
    assert!(reload.contains("nothing else changed"), "{reload}");
    assert_eq!(
        ask_a(listen, "www.example.com."),
        (ResponseCode::NoError, a1)
    );
    let after = stats();
    assert_eq!(
        stat(&after, "cache.hits"),
        stat(&before, "cache.hits") + 1,
        "{after}"
    );
    assert_eq!(
        stat(&after, "upstream.queries"),
        stat(&before, "upstream.queries"),
        "the answer came from the cache: {after}"
    );

    // Another forwarder: applied, and its answers replace the cached ones.
    let base = format!("{corp_only}\nlog_level = \"debug\"");
    write(&format!("forward = [\"{second}\"]\n{base}"));
    let reload = ok(&socket, &["reload"]);
    assert!(reload.contains("applied: upstreams"), "{reload}");
    assert!(
        reload.contains("answer cache flushed: upstreams changed"),
        "{reload}"
    );
    assert_eq!(
        ask_a(listen, "www.example.com."),
        (ResponseCode::NoError, a2)
    );

    // A static anchor for example.com.: the unsigned answer is now bogus.
    let both = anchors(&[corp.as_path(), example.as_path()]);
    let fwd = format!("forward = [\"{second}\"]\nlog_level = \"debug\"");
    write(&format!("{fwd}\n{both}"));
    let reload = ok(&socket, &["reload"]);
    assert!(reload.contains("applied: trust_anchors"), "{reload}");
    assert!(
        reload.contains("flushed: trust_anchors changed"),
        "{reload}"
    );
    assert_eq!(ask_a(listen, "www.example.com.").0, ResponseCode::ServFail);

    // domain_insecure (a configured negative trust anchor): insecure again.
    let nta = "domain_insecure = [\"example.com.\"]";
    write(&format!("{fwd}\n{both}\n{nta}"));
    let reload = ok(&socket, &["reload"]);
    assert!(reload.contains("applied: domain_insecure"), "{reload}");
    assert!(
        reload.contains("flushed: domain_insecure changed"),
        "{reload}"
    );
    assert_eq!(
        ask_a(listen, "www.example.com."),
        (ResponseCode::NoError, a2)
    );

    // Local zones off: localhost. goes to the upstream.
    assert_eq!(
        ask_a(listen, "localhost.").1,
        Some(Ipv4Addr::LOCALHOST),
        "answered locally"
    );
    let settings = format!("{fwd}\n{both}\n{nta}\ndefault_local_zones = false");
    write(&settings);
    let reload = ok(&socket, &["reload"]);
    assert!(reload.contains("default_local_zones"), "{reload}");
    assert_eq!(ask_a(listen, "localhost."), (ResponseCode::NoError, a2));

    // A file with an error: refused with the checkconf message, nothing
    // changes (the new forwarder in the same file is not used).
    write(&format!(
        "{}\nforward = [\"{first}\"]\nmax_inflight = 0",
        settings.replace(&format!("forward = [\"{second}\"]"), "")
    ));
    let (code, out, err) = control(&socket, &["reload"]);
    assert_ne!(code, 0, "{out}");
    assert!(err.contains("max_inflight"), "{err}");
    assert_eq!(ask_a(listen, "www.new.example.").1, a2);
    // An anchor file that does not load: refused the same way.
    let missing = anchors(&[dir.path().join("missing.ds").as_path()]);
    write(&format!(
        "forward = [\"{first}\"]\nlog_level = \"debug\"\n{missing}"
    ));
    let (code, _, err) = control(&socket, &["reload"]);
    assert_ne!(code, 0);
    assert!(err.contains("missing.ds"), "{err}");
    assert_eq!(ask_a(listen, "www.new2.example.").1, a2);

    // Rate limits apply; listen addresses and the user need a restart and
    // are named; the server keeps answering where it listens.
    let other: SocketAddr = format!("127.54.4.1:{}", free_port("127.54.4.1"))
        .parse()
        .unwrap();
    std::fs::write(
        &config,
        format!(
            "listen = [\"{other}\"]\nworkers = 1\nuser = \"nobody\"\n{settings}\n\
             [ratelimit]\nresponses_per_second = 1000\n\
             [control]\nsocket = \"{}\"\nnta_file = \"{}\"\n",
            socket.display(),
            dir.path().join("nta").display()
        ),
    )
    .unwrap();
    let reload = ok(&socket, &["reload"]);
    assert!(reload.contains("applied: ratelimit"), "{reload}");
    assert!(
        reload.contains("not applied, restart danebound for: listen, user"),
        "{reload}"
    );
    assert_eq!(ask_a(listen, "www.example.com.").0, ResponseCode::NoError);

    // Access control: this client is no longer allowed.
    std::fs::write(
        &config,
        format!(
            "listen = [\"{listen}\"]\nworkers = 1\nuser = \"\"\n{settings}\n\
             [access]\nallow = [\"127.54.4.3/32\"]\n\
             [control]\nsocket = \"{}\"\nnta_file = \"{}\"\n",
            socket.display(),
            dir.path().join("nta").display()
        ),
    )
    .unwrap();
    let reload = ok(&socket, &["reload"]);
    assert!(reload.contains("access"), "{reload}");
    assert_eq!(ask_a(listen, "www.example.com.").0, ResponseCode::Refused);
    assert_eq!(serve.stop(), 0);
}

#[test]
fn no_server_is_a_clear_error() {
    let (code, _, err) = control(Path::new("/nonexistent/control.sock"), &["status"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("no danebound control socket at /nonexistent/control.sock"),
        "{err}"
    );
}
