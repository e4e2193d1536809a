//! `danebound query` and `danebound dane check` against the signed lab
//! (real NSD and a non-validating unbound upstream on 127.53.S.x), with
//! MX, A and TLSA records added to the lab's zones and in-process SMTP
//! servers with STARTTLS at the MX addresses. Skipped (with a message)
//! when the lab cannot run here (not root, NSD or unbound missing).

mod common;

use std::net::{SocketAddr, TcpListener};

use common::{Identity, Smtp, run, sha256_hex, spawn_smtp};
use danebound_tests::lab::{Keys, Lab, LabOptions};

struct Setup {
    lab: Lab,
    resolution: Vec<String>,
}

impl Setup {
    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(self.resolution.iter().map(String::as_str));
        run(&all)
    }

    fn peer(&self, host: &str, n: u8) -> String {
        format!("{host}[{}]:25", self.lab.address(n))
    }
}

fn start(test: &str, oracle: bool, extra: Vec<(String, String)>) -> Option<Setup> {
    let options = LabOptions {
        oracle,
        keys: Keys::Fixtures,
        extra_records: extra,
        ..LabOptions::default()
    };
    let lab = Lab::start_with_or_skip(test, options)?;
    let resolution = vec![
        "--forward".to_string(),
        lab.upstream().unwrap().to_string(),
        "--trust-anchor".to_string(),
        lab.trust_anchor_file().to_str().unwrap().to_string(),
        // The lab lives under test., a special-use name answered locally
        // by default.
        "--no-default-local-zones".to_string(),
    ];
    Some(Setup { lab, resolution })
}

#[test]
fn query_validates_in_process_and_prints_dig_format() {
    let Some(s) = start("query_validates_in_process", true, Vec::new()) else {
        return;
    };
    let (code, out, err) = s.run(&["query", "www.example.test", "A"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(";; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: "),
        "{out}"
    );
    assert!(
        out.contains(";; flags: qr rd ra ad; QUERY: 1, ANSWER: 1,"),
        "{out}"
    );
    assert!(
        out.contains(";; ANSWER SECTION:\nwww.example.test.\t3600\tIN\tA\t192.0.2.10\n"),
        "{out}"
    );
    assert!(out.trim_end().ends_with("; fully validated"), "{out}");
    assert!(!out.contains("RRSIG"), "RRSIGs only with +dnssec: {out}");
    let (_, out, _) = s.run(&["query", "www.example.test", "+dnssec"]);
    assert!(out.contains("\tRRSIG\tA "), "{out}");

    // A secure NXDOMAIN is an answer: exit 0.
    let (code, out, _) = s.run(&["query", "nx.example.test"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("status: NXDOMAIN") && out.contains("; fully validated"),
        "{out}"
    );

    // Insecure.
    let (code, out, _) = s.run(&["query", "www.insecure.example.test"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(";; flags: qr rd ra;"), "{out}");
    assert!(out.contains("; unsigned answer"), "{out}");

    // Bogus: SERVFAIL, the EDE, exit 1; +cd shows the data anyway.
    let dot = tempfile::NamedTempFile::new().unwrap();
    let dot_path = dot.path().to_str().unwrap();
    let (code, out, _) = s.run(&[
        "query",
        "www.expired.example.test",
        "--trace-chain",
        "--dot",
        dot_path,
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("status: SERVFAIL"), "{out}");
    assert!(out.contains("; EDE: 7 (Signature Expired)"), "{out}");
    assert!(
        out.contains("; validation failed: ") && out.contains("(EDE 7)"),
        "{out}"
    );
    assert!(
        out.contains(";; CHAIN OF TRUST:\n;   . DNSKEY: trusted via trust anchor"),
        "{out}"
    );
    assert!(
        out.contains("expired.example.test. DNSKEY: BROKEN"),
        "{out}"
    );
    let graph = std::fs::read_to_string(dot.path()).unwrap();
    assert!(graph.starts_with("digraph"), "{graph}");
    assert!(
        graph.contains("\"zone example.test.\" -> \"zone expired.example.test.\"")
            && graph.contains("color=red"),
        "{graph}"
    );
    let (code, out, _) = s.run(&["query", "www.expired.example.test", "+cd"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("192.0.2.20") && out.contains("; validation failed"),
        "{out}"
    );

    // --json: one document with the same content.
    let (code, out, _) = s.run(&["query", "www.example.test", "--json"]);
    assert_eq!(code, 0);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["verdict"]["status"], "secure", "{out}");
    assert_eq!(doc["header"]["status"], "NOERROR");
    assert!(
        doc["header"]["flags"]
            .as_array()
            .unwrap()
            .contains(&"ad".into()),
        "{out}"
    );
    assert_eq!(doc["answer"][0]["data"], "192.0.2.10", "{out}");
    let (_, out, _) = s.run(&["query", "www.expired.example.test", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["verdict"]["status"], "bogus", "{out}");
    assert_eq!(doc["verdict"]["ede"], 7, "{out}");

    // dig mode: the upstream's answer as is (it does not validate: no AD).
    let upstream = s.lab.upstream().unwrap();
    let at = format!("@{}#{}", upstream.ip(), upstream.port());
    let (code, out, err) = run(&["query", "www.example.test", &at, "+tcp"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(";; flags: qr rd ra;"), "{out}");
    assert!(out.contains("192.0.2.10"), "{out}");
    assert!(
        out.contains(&format!(";; SERVER: {}#{}", upstream.ip(), upstream.port())),
        "{out}"
    );
    assert!(!out.contains("; the server says authenticated"), "{out}");
    // A validating server's AD is reported as its word, not ours.
    let oracle = s.lab.oracle().unwrap();
    let (code, out, _) = run(&["query", "www.example.test", &format!("@{oracle}")]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(";; flags: qr rd ra ad;"), "{out}");
    assert!(
        out.contains("; the server says authenticated (AD=1): not validated here"),
        "{out}"
    );
}

#[test]
fn dane_check_follows_rfc_7672_like_posttls_finger() {
    let ee = Identity::self_signed("mx1.dane.example.test");
    let (ta, ca) = Identity::ca_issued("mx1.ta.example.test");
    let ee_rec = format!("3 1 1 {}", sha256_hex(&ee.spki));
    let ta_rec = format!("2 0 1 {}", sha256_hex(ca.as_ref()));
    let example = format!(
        "dane IN MX 10 mx1.dane\n\
         mx1.dane IN A @NET@.20\n\
         _25._tcp.mx1.dane IN TLSA {ee_rec}\n\
         ta IN MX 10 mx1.ta\n\
         mx1.ta IN A @NET@.21\n\
         _25._tcp.mx1.ta IN TLSA {ta_rec}\n\
         wrong IN MX 10 mx1.wrong\n\
         mx1.wrong IN A @NET@.20\n\
         _25._tcp.mx1.wrong IN TLSA 3 1 1 {zeros}\n\
         bad IN MX 10 mx1.bad\n\
         mx1.bad IN A @NET@.20\n\
         _25._tcp.mx1.bad IN CNAME _25._tcp.www.dsmismatch.example.test.\n\
         unusable IN MX 10 mx1.unusable\n\
         mx1.unusable IN A @NET@.20\n\
         _25._tcp.mx1.unusable IN TLSA 1 1 1 {ee_digest}\n\
         alias IN MX 10 mx1.alias\n\
         mx1.alias IN CNAME mx1.dane\n\
         nodane IN MX 10 mx1.nodane\n\
         mx1.nodane IN A @NET@.20\n",
        zeros = "00".repeat(32),
        ee_digest = sha256_hex(&ee.spki),
    );
    let extra = vec![
        ("example.test.".to_string(), example),
        // The TLSA RRset behind mx1.bad's CNAME is in a zone whose DS
        // matches no key: bogus.
        (
            "dsmismatch.example.test.".to_string(),
            format!("_25._tcp.www IN TLSA {ee_rec}\n"),
        ),
        (
            "insecure.example.test.".to_string(),
            format!(
                "mail IN MX 10 mx1\n\
                 mx1 IN A @NET@.20\n\
                 _25._tcp.mx1 IN TLSA {ee_rec}\n\
                 half IN MX 10 mx1.dane.example.test.\n"
            ),
        ),
    ];
    let Some(s) = start("dane_check_follows_rfc_7672", false, extra) else {
        return;
    };
    let bind = |n: u8| TcpListener::bind(SocketAddr::new(s.lab.address(n).into(), 25)).unwrap();
    spawn_smtp(bind(20), &ee, Smtp::Good);
    spawn_smtp(bind(21), &ta, Smtp::Good);

    // DANE-EE 3 1 1: Verified.
    let (code, out, err) = s.run(&["dane", "check", "dane.example.test"]);
    let peer = s.peer("mx1.dane.example.test", 20);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(&format!(
            "{peer}: Matched DANE EE certificate at depth 0: {ee_rec}"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "Verified TLS connection established to {peer}: TLSv1.3 with cipher TLS_"
        )),
        "{out}"
    );
    assert!(
        out.contains("Summary for dane.example.test: 1 of 1 MX hosts verified"),
        "{out}"
    );

    // DANE-TA 2 0 1 on a private CA the server sends: Verified at depth 1.
    let (code, out, _) = s.run(&["dane", "check", "ta.example.test"]);
    let peer = s.peer("mx1.ta.example.test", 21);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!(
            "{peer}: Matched DANE TA certificate at depth 1: {ta_rec}"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("Verified TLS connection established to {peer}")),
        "{out}"
    );

    // An MX host that is an alias: TLSA at the expanded name (RFC 7672
    // section 2.2.3), which is also the SNI and reference identifier.
    let (code, out, _) = s.run(&["dane", "check", "alias.example.test"]);
    let peer = s.peer("mx1.alias.example.test", 20);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!("Verified TLS connection established to {peer}")),
        "{out}"
    );

    // A TLSA record that does not match: not verified.
    let (code, out, _) = s.run(&["dane", "check", "wrong.example.test"]);
    let peer = s.peer("mx1.wrong.example.test", 20);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!("server certificate verification failed for {peer}: num=65:No matching DANE TLSA records")), "{out}");
    assert!(
        out.contains(&format!("Untrusted TLS connection established to {peer}")),
        "{out}"
    );
    assert!(
        out.contains(&format!("{peer}: Server certificate not verified")),
        "{out}"
    );
    assert!(!out.contains("Verified TLS"), "{out}");

    // A bogus TLSA RRset: a TLSA lookup error, and no connection at all.
    let (code, out, _) = s.run(&["dane", "check", "bad.example.test"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("TLSA lookup error for mx1.bad.example.test:25: "),
        "{out}"
    );
    assert!(!out.contains("TLS connection established"), "{out}");

    // Secure records, none usable for SMTP (PKIX-EE): TLS without
    // authentication.
    let (code, out, _) = s.run(&["dane", "check", "unusable.example.test"]);
    let peer = s.peer("mx1.unusable.example.test", 20);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!(
            "{peer}: all TLSA records unusable, fallback to unauthenticated TLS"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("Untrusted TLS connection established to {peer}")),
        "{out}"
    );

    // A secure denial of TLSA: no DANE, opportunistic TLS.
    let (code, out, _) = s.run(&["dane", "check", "nodane.example.test"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("mx1.nodane.example.test: no DANE: no (secure denial) TLSA RRset"),
        "{out}"
    );
    assert!(
        out.contains("Untrusted TLS connection established to mx1.nodane.example.test["),
        "{out}"
    );

    // An insecure zone is not DANE, even with a matching TLSA record in it
    // (RFC 7672 section 2.2.2: no TLSA lookup for insecure addresses).
    let (code, out, _) = s.run(&["dane", "check", "mail.insecure.example.test"]);
    let peer = s.peer("mx1.insecure.example.test", 20);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("MX RRset for mail.insecure.example.test is insecure"),
        "{out}"
    );
    assert!(
        out.contains("mx1.insecure.example.test: no DANE: insecure address records"),
        "{out}"
    );
    assert!(
        out.contains(&format!("Untrusted TLS connection established to {peer}")),
        "{out}"
    );
    assert!(!out.contains("Matched"), "{out}");

    // An insecure MX pointing at a secure DANE host: authenticated, but at
    // most "Trusted" (Postfix's half-dane).
    let (code, out, _) = s.run(&["dane", "check", "half.insecure.example.test"]);
    let peer = s.peer("mx1.dane.example.test", 20);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!("Trusted TLS connection established to {peer}")),
        "{out}"
    );
    assert!(!out.contains("Verified TLS"), "{out}");

    // The [HOST]:PORT form skips the MX lookup and still uses DANE.
    let (code, out, _) = s.run(&["dane", "check", "[mx1.dane.example.test]:25", "--json"]);
    assert_eq!(code, 0, "{out}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["hosts"][0]["status"], "verified", "{out}");
    assert_eq!(doc["hosts"][0]["tlsa"]["status"], "secure", "{out}");
    assert_eq!(
        doc["hosts"][0]["connections"][0]["match"]["record"],
        ee_rec.as_str(),
        "{out}"
    );
    assert_eq!(doc["summary"]["ok"], true, "{out}");
}

/// `danebound serve` with a control socket, in `dir`, listening on
/// `ip` (a free port), with `settings` (top-level TOML lines) and
/// `control` (lines of `[control]`); killed on drop.
struct Serve {
    child: std::process::Child,
    socket: std::path::PathBuf,
    listen: String,
}

impl Serve {
    fn start(dir: &std::path::Path, ip: &str, settings: &str, control: &str) -> Self {
        let socket = dir.join("control.sock");
        let port = std::net::UdpSocket::bind(format!("{ip}:0"))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let listen = format!("{ip}:{port}");
        let config = dir.join("danebound.toml");
        std::fs::write(
            &config,
            format!(
                "listen = [\"{listen}\"]\n{settings}default_local_zones = false\nuser = \"\"\n\
                 [control]\nsocket = \"{}\"\n{control}",
                socket.display(),
            ),
        )
        .unwrap();
        let child = std::process::Command::new(common::BIN)
            .args(["serve", "--config", config.to_str().unwrap()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let serve = Self {
            child,
            socket,
            listen,
        };
        let started = std::time::Instant::now();
        while run(&[
            "control",
            "--socket",
            serve.socket.to_str().unwrap(),
            "status",
        ])
        .0 != 0
        {
            assert!(started.elapsed().as_secs() < 10, "no control socket");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        serve
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `danebound control --socket S ARGS` must succeed; its stdout.
fn control_ok(socket: &std::path::Path, args: &[&str]) -> String {
    let mut all = vec!["control", "--socket", socket.to_str().unwrap()];
    all.extend_from_slice(args);
    let (code, out, err) = run(&all);
    assert_eq!(code, 0, "{args:?}: {out}{err}");
    out
}

#[test]
fn negative_trust_anchors_and_readable_times_over_the_lab() {
    let Some(s) = start("negative_trust_anchors", false, Vec::new()) else {
        return;
    };
    // The validation error names the expiry as a date and a duration.
    let (code, out, _) = s.run(&["query", "www.expired.example.test", "A", "--trace-chain"]);
    assert_eq!(code, 1, "{out}");
    let verdict = out.lines().last().unwrap_or_default();
    assert!(verdict.contains("(EDE 7)"), "{out}");
    let expired = verdict
        .split_once(" expired ")
        .map(|(_, rest)| rest)
        .unwrap_or_else(|| panic!("no expiry in {verdict}"));
    // `2026-10-30 12:00:12 UTC (20261030120012), 33 days ago`
    let b = expired.as_bytes();
    assert!(
        b.len() > 24 && b[4] == b'-' && b[7] == b'-' && b[10] == b' ' && b[13] == b':',
        "{verdict}"
    );
    assert!(
        expired[19..].starts_with(" UTC (") && expired.contains(" ago"),
        "{verdict}"
    );
    assert!(!verdict.contains("expired at "), "{verdict}");

    // A server with a control socket, rechecking NTAs every second.
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(
        dir.path(),
        "127.54.6.1",
        &format!(
            "forward = [\"{}\"]\ntrust_anchors = [\"{}\"]\n",
            s.lab.upstream().unwrap(),
            s.lab.trust_anchor_file().display(),
        ),
        &format!(
            "nta_file = \"{}\"\nnta_recheck_secs = 1\n",
            dir.path().join("nta").display()
        ),
    );
    let (socket, listen) = (serve.socket.clone(), serve.listen.clone());
    let ask = |name: &str| {
        let server = format!("@{}", listen.replace(':', "#"));
        let (_, out, _) = run(&["query", name, "A", &server, "+dnssec"]);
        out
    };
    assert!(ask("www.expired.example.test").contains("status: SERVFAIL"));

    // The broken zone stays broken: its NTA outlives the rechecks, and its
    // data is answered without AD.
    control_ok(
        &socket,
        &["insecure_add", "expired.example.test", "--for", "1h"],
    );
    let out = ask("www.expired.example.test");
    assert!(out.contains("status: NOERROR"), "{out}");
    assert!(
        out.contains(";; flags: qr rd ra;"),
        "no AD under an NTA: {out}"
    );
    // A zone that validates: the recheck ends its NTA (RFC 7646 §4)...
    control_ok(&socket, &["insecure_add", "example.test"]);
    let started = std::time::Instant::now();
    loop {
        let list = control_ok(&socket, &["insecure_list"]);
        if !list.contains("\nexample.test.") && !list.starts_with("example.test.") {
            assert!(list.contains("expired.example.test."), "{list}");
            break;
        }
        assert!(
            started.elapsed().as_secs() < 15,
            "NTA never rechecked: {list}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    // ... unless forced.
    control_ok(&socket, &["insecure_add", "example.test", "--force"]);
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let list = control_ok(&socket, &["insecure_list"]);
    assert!(
        list.contains("example.test. expires") && list.contains(", forced"),
        "{list}"
    );
    let out = ask("www.example.test");
    assert!(
        out.contains("status: NOERROR") && out.contains(";; flags: qr rd ra;"),
        "{out}"
    );
    control_ok(&socket, &["insecure_remove", "example.test"]);
    let out = ask("www.example.test");
    assert!(out.contains(";; flags: qr rd ra ad;"), "AD again: {out}");
}

/// Issue 10: `query` and `dane check` recurse from the lab's root hints
/// themselves (no upstream resolver), with loopback authorities allowed by
/// `--do-not-query-localhost no`; without that flag the lab's servers are
/// never asked and the failure says why.
#[test]
fn query_and_dane_check_recurse_from_the_lab_root_hints() {
    let ee = Identity::self_signed("mx1.dane.example.test");
    let ee_rec = format!("3 1 1 {}", sha256_hex(&ee.spki));
    let extra = vec![(
        "example.test.".to_string(),
        format!(
            "dane IN MX 10 mx1.dane\n\
             mx1.dane IN A @NET@.27\n\
             _25._tcp.mx1.dane IN TLSA {ee_rec}\n"
        ),
    )];
    let options = LabOptions {
        oracle: false,
        keys: Keys::Fixtures,
        extra_records: extra,
        ..LabOptions::default()
    };
    let Some(lab) = Lab::start_with_or_skip("cli_recursive", options) else {
        return;
    };
    let hints = lab.root_hints_file().to_str().unwrap().to_string();
    let anchor = lab.trust_anchor_file().to_str().unwrap().to_string();
    let recursive = |args: &[&str], localhost: Option<&str>| {
        let mut all: Vec<&str> = args.to_vec();
        all.extend([
            "--root-hints",
            hints.as_str(),
            "--trust-anchor",
            anchor.as_str(),
            "--no-default-local-zones",
        ]);
        if let Some(v) = localhost {
            all.extend(["--do-not-query-localhost", v]);
        }
        run(&all)
    };
    let (code, out, err) = recursive(&["query", "www.example.test", "A"], Some("no"));
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(";; flags: qr rd ra ad;"), "{out}");
    assert!(out.contains("192.0.2.10"), "{out}");
    assert!(out.trim_end().ends_with("; fully validated"), "{out}");
    let (code, out, _) = recursive(&["query", "www.expired.example.test"], Some("no"));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("; EDE: 7 (Signature Expired)"), "{out}");

    // The root hints are configured, so they are asked; the loopback
    // servers of test. learned from the root's referral are not.
    let (code, out, _) = recursive(&["query", "www.example.test", "A"], None);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("status: SERVFAIL"), "{out}");
    assert!(
        out.contains("; EDE: 22 (No Reachable Authority)")
            && out.contains("do-not-query-localhost"),
        "{out}"
    );

    // .27: no other test of this file listens there (their SMTP servers
    // outlive their labs, whose slots are reused).
    let listener = TcpListener::bind(SocketAddr::new(lab.address(27).into(), 25)).unwrap();
    spawn_smtp(listener, &ee, Smtp::Good);
    let (code, out, err) = recursive(&["dane", "check", "dane.example.test"], Some("no"));
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("Summary for dane.example.test: 1 of 1 MX hosts verified"),
        "{out}"
    );
}

/// `danebound query --forward ADDR@853#NAME^sha256/PIN` (issue 13): the
/// in-process resolver forwards over DNS over TLS to the lab's unbound, the
/// key pinned (the lab CA is not among the system's roots); a wrong pin
/// fails instead of asking in clear text.
#[test]
fn query_forwards_over_dns_over_tls() {
    let options = LabOptions {
        oracle: false,
        keys: Keys::Fixtures,
        dot_upstream: true,
        ..LabOptions::default()
    };
    let Some(lab) = Lab::start_with_or_skip("query_forwards_over_dns_over_tls", options) else {
        return;
    };
    let dot = lab.dot_upstream().unwrap();
    let anchor = lab.trust_anchor_file();
    let query = |forward: &str| {
        run(&[
            "query",
            "www.example.test",
            "A",
            "--forward",
            forward,
            "--trust-anchor",
            anchor.to_str().unwrap(),
            "--no-default-local-zones",
        ])
    };
    let (code, out, err) = query(&format!("{}^sha256/{}", dot.forward(), dot.pin));
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("status: NOERROR"), "{out}");
    assert!(
        out.contains("www.example.test.\t3600\tIN\tA\t192.0.2.10"),
        "{out}"
    );
    assert!(out.trim_end().ends_with("; fully validated"), "{out}");
    // SHA-256 of nothing anyone uses: 32 zero bytes.
    let wrong = format!("{}=", "A".repeat(43));
    let (code, out, err) = query(&format!("{}^sha256/{wrong}", dot.forward()));
    assert_ne!(code, 0, "{out}{err}");
    assert!(!out.contains("192.0.2.10"), "{out}");
}

/// The value of `key` in `danebound control stats` (`key=value` lines).
fn stat(socket: &std::path::Path, key: &str) -> u64 {
    let out = control_ok(socket, &["stats"]);
    out.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {key} in {out}"))
}

/// Issue 10 (session 5): in recursive mode `upstream.queries` of `control
/// stats` counts each query the iterator sends (priming, referrals, NS
/// address lookups, the validator's DS and DNSKEY), not one per question:
/// over cold names it moves exactly as the lab's NSD servers count the
/// queries that reached them.
#[test]
fn control_stats_count_each_query_the_iterator_sends() {
    let options = LabOptions {
        oracle: false,
        upstream: false,
        keys: Keys::Fixtures,
        ..LabOptions::default()
    };
    let Some(lab) = Lab::start_with_or_skip("cli_recursive_stats", options) else {
        return;
    };
    // From a cold start: priming (RFC 9609), the chain of trust, a
    // glueless NS name, CNAMEs across zones. Counted by danebound from
    // its start, and by the lab's NSD from before it.
    let nsd_before = lab.authoritative_queries().expect("NSD counts");
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(
        dir.path(),
        "127.54.6.2",
        &format!(
            "root_hints = \"{}\"\ntrust_anchors = [\"{}\"]\ndo_not_query_localhost = false\n",
            lab.root_hints_file().display(),
            lab.trust_anchor_file().display(),
        ),
        "",
    );
    let ask = |name: &str| {
        let server = format!("@{}", serve.listen.replace(':', "#"));
        let (_, out, _) = run(&["query", name, "A", &server, "+dnssec"]);
        out
    };
    let names = [
        "www.example.test",
        "www.alg8.example.test",
        "www.unsigned.nsec3.example.test",
        "cname-cross.example.test",
    ];
    for name in names {
        let out = ask(name);
        assert!(out.contains("status: NOERROR"), "{name}: {out}");
    }
    let sent = stat(&serve.socket, "upstream.queries");
    let arrived = lab.authoritative_queries().expect("NSD counts") - nsd_before;
    eprintln!(
        "{} names from a cold start: upstream.queries {sent}, queries at the lab's NSD {arrived}",
        names.len()
    );
    assert_eq!(
        sent, arrived,
        "upstream.queries counts each query that reached an authority"
    );
}
