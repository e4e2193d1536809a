//! `danebound dane tlsa` and `danebound dane check` without DNS: records
//! from certificates, and checks of an in-process SMTP server on 127.0.0.1
//! with records given by `--tlsa`.

mod common;

use std::net::TcpListener;

use common::{Identity, Smtp, pem_of, run, sha256_hex, spawn_smtp};

fn write_temp(dir: &tempfile::TempDir, name: &str, data: &[u8]) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, data).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn tlsa_from_a_certificate_file_has_the_known_digests() {
    let id = Identity::self_signed("mx.example.test");
    let dir = tempfile::tempdir().unwrap();
    let pem = write_temp(&dir, "leaf.pem", id.leaf_pem.as_bytes());
    let (code, out, err) = run(&[
        "dane",
        "tlsa",
        "--cert",
        &pem,
        "--name",
        "_25._tcp.mx.example.test",
    ]);
    assert_eq!(code, 0, "{err}");
    let spki_digest = sha256_hex(&id.spki);
    assert!(
        out.contains(&format!(
            "_25._tcp.mx.example.test. IN TLSA 3 1 1 {spki_digest}\n"
        )),
        "{out}"
    );
    assert!(
        out.contains("; warning: 3 1 1: survives renewal only if the key is reused"),
        "{out}"
    );

    // 3 0 1 of the DER file: the certificate digest, and the renewal warning.
    let der = write_temp(&dir, "leaf.der", id.chain[0].as_ref());
    let (code, out, _) = run(&[
        "dane",
        "tlsa",
        "--cert",
        &der,
        "--selector",
        "0",
        "--name",
        "_25._tcp.mx.example.test.",
    ]);
    assert_eq!(code, 0);
    let cert_digest = sha256_hex(id.chain[0].as_ref());
    assert!(
        out.contains(&format!("IN TLSA 3 0 1 {cert_digest}\n")),
        "{out}"
    );
    assert!(out.contains("changes at every renewal"), "{out}");
}

#[test]
fn tlsa_usage_2_is_made_for_the_issuer() {
    let (id, ca) = Identity::ca_issued("mx.example.test");
    let dir = tempfile::tempdir().unwrap();
    let mut chain_pem = id.leaf_pem;
    chain_pem.push_str(&pem_of(ca.as_ref()));
    let pem = write_temp(&dir, "chain.pem", chain_pem.as_bytes());
    let (code, out, err) = run(&[
        "dane",
        "tlsa",
        "--cert",
        &pem,
        "--usage",
        "2",
        "--selector",
        "0",
        "--name",
        "_25._tcp.mx.example.test",
    ]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().filter(|l| l.contains("IN TLSA")).collect();
    assert_eq!(
        lines,
        [format!(
            "_25._tcp.mx.example.test. IN TLSA 2 0 1 {}",
            sha256_hex(ca.as_ref())
        )],
        "{out}"
    );
    assert!(out.contains("CA rotates"), "{out}");
}

#[test]
fn tlsa_agrees_with_ldns_dane_create() {
    if std::process::Command::new("ldns-dane")
        .arg("-v")
        .output()
        .is_err()
    {
        danebound_tests::skip::skip(
            danebound_tests::skip::Need::Lab,
            "tlsa_agrees_with_ldns_dane_create",
            "ldns-dane (ldnsutils) is not installed",
        );
        return;
    }
    let id = Identity::self_signed("mx.example.test");
    let dir = tempfile::tempdir().unwrap();
    let pem = write_temp(&dir, "leaf.pem", id.leaf_pem.as_bytes());
    for (s, m) in [("1", "1"), ("0", "1"), ("1", "2")] {
        let ldns = std::process::Command::new("ldns-dane")
            .args(["-c", &pem, "create", "mx.example.test", "25", "3", s, m])
            .output()
            .unwrap();
        let ldns = String::from_utf8_lossy(&ldns.stdout).to_ascii_uppercase();
        let (code, ours, _) = run(&[
            "dane",
            "tlsa",
            "--cert",
            &pem,
            "--selector",
            s,
            "--mtype",
            m,
            "--name",
            "_25._tcp.mx.example.test",
        ]);
        assert_eq!(code, 0);
        let hex = ours
            .lines()
            .next()
            .unwrap()
            .split_whitespace()
            .last()
            .unwrap()
            .to_string();
        assert!(
            ldns.contains(&hex),
            "3 {s} {m}: ldns-dane says {ldns}, we say {ours}"
        );
    }
}

#[test]
fn tlsa_from_server_reads_the_chain_after_starttls() {
    let id = Identity::self_signed("mx.example.test");
    let addr = spawn_smtp(TcpListener::bind("127.0.0.1:0").unwrap(), &id, Smtp::Good);
    let target = format!("{addr}");
    let (code, out, err) = run(&[
        "dane",
        "tlsa",
        "--from-server",
        &target,
        "--starttls",
        "smtp",
        "--name",
        "_25._tcp.mx.example.test",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!("IN TLSA 3 1 1 {}", sha256_hex(&id.spki))),
        "{out}"
    );
}

#[test]
fn tlsa_errors_are_one_line() {
    let (code, _, err) = run(&["dane", "tlsa", "--cert", "/nonexistent.pem"]);
    assert_eq!(code, 1);
    assert_eq!(err.lines().count(), 1, "{err}");
    let dir = tempfile::tempdir().unwrap();
    let junk = write_temp(&dir, "junk.pem", b"not a certificate");
    let (code, _, err) = run(&["dane", "tlsa", "--cert", &junk]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    let bad_der = write_temp(&dir, "bad.der", &[0x30, 0x03, 0x01, 0x02]);
    let (code, _, err) = run(&["dane", "tlsa", "--cert", &bad_der]);
    assert_eq!(code, 1, "{err}");
    let (code, _, err) = run(&["dane", "tlsa", "--cert", &junk, "--usage", "7"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = run(&["dane", "tlsa"]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

fn check_with(addr: std::net::SocketAddr, tlsa: &str) -> (i32, String, String) {
    let target = format!("[{}]:{}", addr.ip(), addr.port());
    run(&[
        "dane",
        "check",
        &target,
        "--tlsa",
        tlsa,
        "--timeout",
        "5",
        "--forward",
        "127.0.0.1:9",
    ])
}

#[test]
fn check_matches_a_starttls_server_against_given_records() {
    let id = Identity::self_signed("mx.example.test");
    let addr = spawn_smtp(TcpListener::bind("127.0.0.1:0").unwrap(), &id, Smtp::Good);
    let good = format!("3 1 1 {}", sha256_hex(&id.spki));
    let (code, out, err) = check_with(addr, &good);
    assert_eq!(code, 0, "{out}{err}");
    let peer = format!("127.0.0.1[127.0.0.1]:{}", addr.port());
    assert!(
        out.contains(&format!(
            "{peer}: Matched DANE EE certificate at depth 0: {good}"
        )),
        "{out}"
    );
    // Records from the command line authenticate nothing: never "Verified".
    assert!(
        out.contains(&format!(
            "Untrusted TLS connection established to {peer}: TLSv1.3 with cipher TLS_"
        )),
        "{out}"
    );
    assert!(!out.contains("Verified"), "{out}");

    let wrong = format!("3 1 1 {}", "00".repeat(32));
    let (code, out, _) = check_with(addr, &wrong);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!("server certificate verification failed for {peer}: num=65:No matching DANE TLSA records")), "{out}");
    assert!(
        out.contains(&format!("{peer}: Server certificate not verified")),
        "{out}"
    );

    let (code, out, _) = run(&[
        "dane",
        "check",
        &format!("[127.0.0.1]:{}", addr.port()),
        "--tlsa",
        &good,
        "--json",
        "--forward",
        "127.0.0.1:9",
    ]);
    assert_eq!(code, 0, "{out}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let conn = &doc["hosts"][0]["connections"][0];
    assert_eq!(conn["matched"], true, "{out}");
    assert_eq!(conn["tls"]["version"], "TLSv1.3", "{out}");
    assert_eq!(conn["match"]["record"], good.as_str(), "{out}");
}

#[test]
fn check_refuses_bytes_pipelined_after_the_starttls_go_ahead() {
    let id = Identity::self_signed("mx.example.test");
    let addr = spawn_smtp(
        TcpListener::bind("127.0.0.1:0").unwrap(),
        &id,
        Smtp::Pipelines,
    );
    let (code, out, _) = check_with(addr, &format!("3 1 1 {}", sha256_hex(&id.spki)));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("pipelined after the STARTTLS go-ahead"),
        "{out}"
    );
    assert!(!out.contains("TLS connection established"), "{out}");
}

#[test]
fn check_fails_a_dane_host_without_starttls() {
    let id = Identity::self_signed("mx.example.test");
    let addr = spawn_smtp(
        TcpListener::bind("127.0.0.1:0").unwrap(),
        &id,
        Smtp::NoStarttls,
    );
    let (code, out, _) = check_with(addr, &format!("3 1 1 {}", sha256_hex(&id.spki)));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("STARTTLS not offered, but TLSA records require TLS"),
        "{out}"
    );
}

#[test]
fn check_reports_tls_that_rustls_cannot_speak_as_such() {
    let id = Identity::self_signed("mx.example.test");
    let addr = spawn_smtp(TcpListener::bind("127.0.0.1:0").unwrap(), &id, Smtp::OldTls);
    let (code, out, _) = check_with(addr, &format!("3 1 1 {}", sha256_hex(&id.spki)));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("TLS parameters incompatible: rustls speaks TLS 1.2/1.3"),
        "{out}"
    );
    assert!(!out.contains("num=65"), "not a DANE failure: {out}");
}

#[test]
fn check_speaks_imap_pop3_xmpp_and_plain_tls() {
    let id = Identity::self_signed("mail.example.test");
    let good = format!("3 1 1 {}", sha256_hex(&id.spki));
    for (mode, proto) in [
        (Smtp::Imap, "imap"),
        (Smtp::Pop3, "pop3"),
        (Smtp::Xmpp, "xmpp"),
        (Smtp::Tls, "none"),
    ] {
        let addr = spawn_smtp(TcpListener::bind("127.0.0.1:0").unwrap(), &id, mode);
        let target = format!("[127.0.0.1]:{}", addr.port());
        let (code, out, err) = run(&[
            "dane",
            "check",
            "--starttls",
            proto,
            &target,
            "--tlsa",
            &good,
            "--timeout",
            "5",
        ]);
        assert_eq!(code, 0, "{proto}: {out}{err}");
        assert!(
            out.contains("Matched DANE EE certificate at depth 0"),
            "{proto}: {out}"
        );
        assert!(
            out.contains(&format!(
                "TLS connection established to 127.0.0.1[127.0.0.1]:{}: TLSv1.3",
                addr.port()
            )),
            "{proto}: {out}"
        );
    }
}

#[test]
fn check_usage_errors_are_one_line_and_exit_2() {
    for args in [
        &["dane", "check"][..],
        &["dane", "check", "example.com", "--starttls", "gopher"],
        &["dane", "check", "example.com:notaport"],
        &["dane", "check", "www.example.com", "--starttls", "none"],
        &["dane", "check", "example.com", "--tlsa", "3 1"],
        &["dane", "check", "a..b"],
    ] {
        let (code, _, err) = run(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    }
    // A missing subcommand shows the help, as a usage error.
    assert_eq!(run(&["dane"]).0, 2);
}

#[test]
fn every_command_has_help_with_examples() {
    for args in [
        &["query", "--help"][..],
        &["dane", "check", "--help"],
        &["dane", "tlsa", "--help"],
    ] {
        let (code, out, _) = run(args);
        assert_eq!(code, 0, "{args:?}");
        assert!(out.contains("Examples:"), "{args:?}: {out}");
    }
}

#[test]
fn query_without_an_upstream_says_so_and_exits_1() {
    let (code, out, err) = run(&["query", "example.com", "--forward", "127.0.0.1:9"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("status: SERVFAIL"), "{out}");
    assert!(out.contains("; resolution failed: no answer"), "{out}");
}

#[test]
fn query_usage_errors_are_one_line_and_exit_2() {
    for args in [
        &["query"][..],
        &["query", "example.com", "NOTATYPE"],
        &["query", "example.com", "+frobnicate"],
        &["query", "example.com", "@nowhere"],
        &["query", "example.com", "@127.0.0.1", "--trace-chain"],
        &["query", "example.com", "--forward", "not-an-address"],
    ] {
        let (code, _, err) = run(args);
        assert!(
            code == 2 || (code == 1 && args.contains(&"--forward")),
            "{args:?}: {code} {err}"
        );
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    }
}
