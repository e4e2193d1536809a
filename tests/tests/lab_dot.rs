//! danebound forwarding over DNS over TLS (RFC 7858, issue 13): the lab's
//! upstream unbound also serves TLS on port 853 with a certificate for
//! `dns.lab.test` from a lab CA made by openssl (`tls-service-key`,
//! `tls-service-pem`, `tls-port`), and danebound forwards to it as
//! `ADDR@853#dns.lab.test` with that CA as `[upstream] tls_ca_file`.
//!
//! * Every case of the lab's table through the TLS upstream: the table's
//!   rcode, AD bit and EDE code.
//! * The connection is reused: the TLS handshakes danebound counts
//!   (`upstream.tls.handshakes` of `control stats`) are a small fraction of
//!   the queries it sent upstream.
//! * A certificate for another name, a CA that did not sign it, and a wrong
//!   SPKI pin all fail: SERVFAIL with EDE 22, never a silent answer over
//!   plain DNS (the upstream answers on port 53 too). The right pin alone
//!   (no CA file) works: openssl's pin and danebound's agree.

use std::net::Ipv4Addr;
use std::sync::Mutex;

use danebound_resolver::config::{Config, Overrides};
use danebound_resolver::stats;
use danebound_resolver::transport::tls::CaRoots;
use danebound_tests::lab::{CASES, Danebound, DotUpstream, Keys, Lab, LabOptions};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

/// The handshake counter is process-wide: one test at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn lab() -> Option<Lab> {
    Lab::start_with_or_skip(
        "lab_dot",
        LabOptions {
            keys: Keys::Fixtures,
            oracle: false,
            dot_upstream: true,
            ..LabOptions::default()
        },
    )
}

/// danebound on `listen`, forwarding only to `forward` (an `ADDR@853#…`
/// string, parsed as `--forward` would be), with `ca` as the CA roots.
fn danebound(lab: &Lab, listen: Ipv4Addr, forward: &str, ca: CaRoots) -> Danebound {
    let upstream = lab.upstream().expect("upstream");
    let mut config: Config = Danebound::lab_config(lab, listen, upstream);
    config
        .apply(&Overrides {
            forward: vec![forward.to_string()],
            ..Overrides::default()
        })
        .expect("--forward parses");
    config.tls_ca = ca;
    assert_eq!(config.forward, vec![lab.dot_upstream().unwrap().addr]);
    assert!(
        !config.forward.contains(&upstream),
        "only the TLS upstream is configured"
    );
    Danebound::start(config).expect("danebound starts")
}

fn ca_file(dot: &DotUpstream) -> CaRoots {
    CaRoots::File(dot.ca_file.clone())
}

#[test]
fn every_lab_case_through_a_dns_over_tls_upstream_on_one_connection() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(lab) = lab() else { return };
    let dot = lab.dot_upstream().expect("DoT upstream").clone();
    let server = danebound(&lab, lab.address(20), &dot.forward(), ca_file(&dot));
    let before = stats::global().snapshot();
    let mut failures = Vec::new();
    for case in CASES {
        match lab.query(server.addr(), case.qname, case.qtype) {
            Ok(reply) => {
                let wrong = case.mismatches(&reply, true);
                eprintln!(
                    "{:<28} rcode={:<9} ad={:<5} ede={:?}",
                    case.name,
                    reply.rcode().to_string(),
                    reply.ad(),
                    reply.ede_code()
                );
                if !wrong.is_empty() {
                    failures.push(format!("{}: {}", case.name, wrong.join("; ")));
                }
            }
            Err(e) => failures.push(format!("{}: query failed: {e}", case.name)),
        }
    }
    let after = stats::global().snapshot();
    let handshakes = after.upstream_tls_handshakes - before.upstream_tls_handshakes;
    let failed = after.upstream_tls_failures - before.upstream_tls_failures;
    let queries = after.upstream_queries - before.upstream_queries;
    eprintln!(
        "{} cases: {queries} upstream queries over {handshakes} TLS handshakes ({failed} failed)",
        CASES.len()
    );
    if failed != 0 {
        failures.push(format!("{failed} TLS handshakes failed"));
    }
    // RFC 7766 §6.2.1 / RFC 7858 §3.4: connections are reused. Not one
    // handshake exactly (the server may close an idle connection), but far
    // fewer handshakes than queries.
    if handshakes == 0 || handshakes * 4 > queries {
        failures.push(format!(
            "{handshakes} TLS handshakes for {queries} upstream queries: connections not reused"
        ));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// What a misauthenticated upstream must give: SERVFAIL, EDE 22, and a
/// failed handshake counted.
fn must_fail(lab: &Lab, listen: Ipv4Addr, forward: &str, ca: CaRoots) -> Vec<String> {
    let before = stats::global().snapshot().upstream_tls_failures;
    let server = danebound(lab, listen, forward, ca);
    let mut wrong = Vec::new();
    match lab.query(server.addr(), "www.example.test.", RecordType::A) {
        Ok(reply) => {
            if reply.rcode() != ResponseCode::ServFail {
                wrong.push(format!("{forward}: rcode {}, want SERVFAIL", reply.rcode()));
            }
            if reply.ede_code() != Some(22) {
                wrong.push(format!(
                    "{forward}: EDE {:?}, want 22 (No Reachable Authority)",
                    reply.ede()
                ));
            }
            if !reply.answer_rdata(RecordType::A).is_empty() {
                wrong.push(format!("{forward}: an answer came through"));
            }
        }
        Err(e) => wrong.push(format!("{forward}: query failed: {e}")),
    }
    if stats::global().snapshot().upstream_tls_failures == before {
        wrong.push(format!("{forward}: no failed TLS handshake counted"));
    }
    wrong
}

#[test]
fn rfc7858_wrong_name_wrong_ca_and_wrong_pin_fail_without_fallback() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(lab) = lab() else { return };
    let dot = lab.dot_upstream().expect("DoT upstream").clone();
    let ip = dot.addr.ip();
    let mut failures = Vec::new();
    // A name the certificate is not for.
    failures.extend(must_fail(
        &lab,
        lab.address(21),
        &format!("{ip}@853#wrong.lab.test"),
        ca_file(&dot),
    ));
    // The right name, but roots that did not sign it (the system's).
    failures.extend(must_fail(
        &lab,
        lab.address(22),
        &dot.forward(),
        CaRoots::System,
    ));
    // A pin of another key (RFC 7858 §4.2): the pin decides, not the CA.
    let wrong_pin = data_encoding::BASE64.encode(&[0x5a; 32]);
    failures.extend(must_fail(
        &lab,
        lab.address(23),
        &format!("{}^sha256/{wrong_pin}", dot.forward()),
        ca_file(&dot),
    ));
    // The right pin, with no CA that knows the lab: secure answers.
    let pinned = danebound(
        &lab,
        lab.address(24),
        &format!("{}^sha256/{}", dot.forward(), dot.pin),
        CaRoots::File("/nonexistent/ca.pem".into()),
    );
    match lab.query(pinned.addr(), "www.example.test.", RecordType::A) {
        Ok(reply) if reply.rcode() == ResponseCode::NoError && reply.ad() => {}
        other => failures.push(format!("right pin {}: {other:?}", dot.pin)),
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
