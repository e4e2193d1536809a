//! Issue 6, "End to end, in the tests": Postfix's own DANE client,
//! `posttls-finger`, resolving through `danebound serve`, against a Postfix
//! smtpd with STARTTLS, all inside the signed lab's network namespace.
//!
//! ```text
//!   namespace danebound-lab-S
//!     signed lab (NSD per level) ── unbound upstream 127.53.S.10 (no validation)
//!     danebound serve 127.0.0.1:53 --forward upstream --trust-anchor <lab anchor>
//!       (and, in the second test, recursive: --root-hints <lab hints>)
//!                                  --no-default-local-zones
//!     resolv.conf: nameserver 127.0.0.1 / options trust-ad
//!     Postfix smtpd 127.53.S.20:25  self-signed leaf        (DANE-EE target)
//!     Postfix smtpd 127.53.S.21:25  leaf + private CA       (DANE-TA target)
//!     posttls-finger -c -l dane -t5 -T10 DOMAIN      for every case below
//!     danebound dane check --starttls smtp DOMAIN …  (when the binary has it)
//! ```
//!
//! | case | domain → MX | TLSA at the MX | posttls-finger must say |
//! |---|---|---|---|
//! | dane-ee | dane-ee.example.test → mx-ee (.20) | 3 1 1 of the leaf key | Verified |
//! | dane-ta | dane-ta.example.test → mx-ta (.21) | 2 0 1 of the private CA | Verified |
//! | mismatch | dane-mismatch.example.test → mx-mismatch (.20) | 3 1 1 of another key | not Verified |
//! | bogus | dane-bogus.example.test → mx.tampered (.20) | 3 1 1 of the leaf key, RRSIG broken | TLSA lookup error |
//! | insecure | insecure.example.test → mx.insecure (.20) | 3 1 1 of the leaf key, unsigned zone | Untrusted (no DANE) |
//! | half-dane | half-dane.insecure.example.test → mx-ee.example.test | (secure, matching) | Trusted, never Verified |
//! | no-tlsa | dane-none.example.test → mx-none (.20) | none (secure NXDOMAIN) | Untrusted |
//! | unusable | dane-unusable.example.test → mx-unusable (.20) | 1 1 1 (PKIX-EE: unusable in SMTP) | Untrusted |
//! | ta-wrong-name | dane-ta-name.example.test → mx-ta-name (.21) | 2 0 1 of the CA; the leaf names mx-ta only | not Verified |
//!
//! The bogus TLSA lives in the lab's `tampered.example.test.` zone, whose
//! builder flips a signature byte of every TLSA RRset (and of www A); the
//! MX host's address there stays valid, so only the TLSA lookup fails. The
//! matching-but-bogus and matching-but-insecure records make sure a verdict
//! of "Verified" can only come from danebound's validation.
//!
//! `danebound dane check` (run in the namespace, forwarding to `danebound
//! serve` on 127.0.0.1) must agree with posttls-finger on every case: the
//! same summary words (Verified/Trusted/Untrusted or none), exit status 0
//! exactly when posttls-finger verified, and for the bogus TLSA the same
//! "TLSA lookup error for HOST:25" with the real reason (the signature that
//! does not verify). A binary without `dane check` fails.
//!
//! Certificates are made by openssl at test time (`danebound_tests::e2e::certs`).
//! Needs root and the Debian packages of the lab plus postfix and openssl;
//! skips with a message without them, unless `CI` or `DANEBOUND_REQUIRE_LAB`
//! is set. `DANEBOUND_KEEP_LAB=1` keeps the lab's and Postfix's files;
//! `DANEBOUND_E2E_PAUSE=SECONDS` keeps it all running that long after the
//! cases, for a look inside the namespace.
//!
//! The danebound binary: `DANEBOUND_BIN`, else `target/<profile>/danebound`
//! next to this test, refreshed with `cargo build -p danebound` (see
//! `danebound_tests::e2e::danebound_binary`).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use danebound_tests::e2e::postfix::{self, Finger, Listener, Postfix};
use danebound_tests::e2e::{self, Danebound, TempDir, certs, run_with_timeout};
use danebound_tests::lab::{Keys, Lab, LabOptions, QueryOptions};
use danebound_tests::skip::Need;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

/// Host numbers of the two smtpd listeners in the lab's /24.
const EE_HOST: u8 = 20;
const TA_HOST: u8 = 21;

/// What posttls-finger must conclude for a case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// DANE authentication succeeded: "Verified TLS connection established".
    Verified,
    /// DANE applies (usable TLSA) but nothing matches: no "Verified", and
    /// posttls-finger names the failed verification.
    Mismatch,
    /// The TLSA RRset is bogus: "TLSA lookup error", no TLS session at all.
    TlsaLookupError,
    /// Insecure MX and host: no DANE, plain opportunistic TLS ("Untrusted").
    NotDane,
    /// Insecure MX, secure host with a matching TLSA: "Trusted" (half-dane),
    /// never "Verified".
    HalfDane,
    /// Secure, but no TLSA records: no DANE ("Untrusted").
    NoTlsa,
    /// Secure TLSA records, all unusable for SMTP (PKIX-EE): TLS without
    /// authentication ("Untrusted"), no match attempted.
    Unusable,
    /// DANE-TA matches the CA, but the leaf does not name the MX host (nor
    /// the domain): not Verified.
    WrongName,
}

struct Case {
    name: &'static str,
    domain: &'static str,
    expect: Expect,
}

const CASES: &[Case] = &[
    Case {
        name: "dane-ee",
        domain: "dane-ee.example.test",
        expect: Expect::Verified,
    },
    Case {
        name: "dane-ta",
        domain: "dane-ta.example.test",
        expect: Expect::Verified,
    },
    Case {
        name: "mismatch",
        domain: "dane-mismatch.example.test",
        expect: Expect::Mismatch,
    },
    Case {
        name: "bogus",
        domain: "dane-bogus.example.test",
        expect: Expect::TlsaLookupError,
    },
    Case {
        name: "insecure",
        domain: "insecure.example.test",
        expect: Expect::NotDane,
    },
    Case {
        name: "half-dane",
        domain: "half-dane.insecure.example.test",
        expect: Expect::HalfDane,
    },
    Case {
        name: "no-tlsa",
        domain: "dane-none.example.test",
        expect: Expect::NoTlsa,
    },
    Case {
        name: "unusable",
        domain: "dane-unusable.example.test",
        expect: Expect::Unusable,
    },
    Case {
        name: "ta-wrong-name",
        domain: "dane-ta-name.example.test",
        expect: Expect::WrongName,
    },
];

/// The records each case needs, per zone.
fn extra_records(c: &certs::Certs) -> Vec<(String, String)> {
    let ee = &c.ee_spki_sha256;
    let ta = &c.ca_cert_sha256;
    let other = &c.spare_spki_sha256;
    vec![
        (
            "example.test.".into(),
            format!(
                "dane-ee IN MX 10 mx-ee\n\
                 mx-ee IN A @NET@.{EE_HOST}\n\
                 _25._tcp.mx-ee IN TLSA 3 1 1 {ee}\n\
                 dane-ta IN MX 10 mx-ta\n\
                 mx-ta IN A @NET@.{TA_HOST}\n\
                 _25._tcp.mx-ta IN TLSA 2 0 1 {ta}\n\
                 dane-mismatch IN MX 10 mx-mismatch\n\
                 mx-mismatch IN A @NET@.{EE_HOST}\n\
                 _25._tcp.mx-mismatch IN TLSA 3 1 1 {other}\n\
                 dane-bogus IN MX 10 mx.tampered.example.test.\n\
                 dane-none IN MX 10 mx-none\n\
                 mx-none IN A @NET@.{EE_HOST}\n\
                 dane-unusable IN MX 10 mx-unusable\n\
                 mx-unusable IN A @NET@.{EE_HOST}\n\
                 _25._tcp.mx-unusable IN TLSA 1 1 1 {ee}\n\
                 dane-ta-name IN MX 10 mx-ta-name\n\
                 mx-ta-name IN A @NET@.{TA_HOST}\n\
                 _25._tcp.mx-ta-name IN TLSA 2 0 1 {ta}\n"
            ),
        ),
        (
            // build-zones.sh breaks the signature of every TLSA RRset here.
            "tampered.example.test.".into(),
            format!(
                "mx IN A @NET@.{EE_HOST}\n\
                 _25._tcp.mx IN TLSA 3 1 1 {ee}\n"
            ),
        ),
        (
            // Unsigned (no DS in example.test.).
            "insecure.example.test.".into(),
            format!(
                "@ IN MX 10 mx\n\
                 mx IN A @NET@.{EE_HOST}\n\
                 _25._tcp.mx IN TLSA 3 1 1 {ee}\n\
                 half-dane IN MX 10 mx-ee.example.test.\n"
            ),
        ),
    ]
}

fn skip(why: &str) {
    danebound_tests::skip::skip(Need::Lab, "e2e_postfix", why);
}

#[test]
fn postfix_and_posttls_finger_through_danebound() {
    postfix_through_danebound(false);
}

/// The same with danebound recursing from the lab's root hints (issue 10).
#[test]
fn postfix_and_posttls_finger_through_recursive_danebound() {
    postfix_through_danebound(true);
}

fn postfix_through_danebound(recursive: bool) {
    let started = Instant::now();
    if !e2e::is_root() {
        return skip("needs root (network namespace, port 53 and 25)");
    }
    if let Some(why) = postfix::missing() {
        return skip(&why);
    }
    let scratch = TempDir::new("postfix").expect("scratch dir");
    let binary = e2e::danebound_binary().unwrap_or_else(|e| panic!("danebound binary: {e}"));
    let dane_check = e2e::has_dane_check(&binary);
    eprintln!(
        "danebound binary: {} (dane check: {})",
        binary.display(),
        if dane_check { "yes" } else { "no" }
    );
    let certs = certs::generate(
        &scratch.path().join("tls"),
        &["mx-ee.example.test"],
        "mx-ta.example.test",
    )
    .unwrap_or_else(|e| panic!("certificates: {e}"));

    let options = LabOptions {
        netns: true,
        keys: Keys::Fixtures,
        extra_records: extra_records(&certs),
        ..LabOptions::default()
    };
    let name = if recursive {
        "e2e_postfix_recursive"
    } else {
        "e2e_postfix"
    };
    let Some(lab) = Lab::start_with_or_skip(name, options) else {
        return;
    };
    eprintln!("lab up in {:?} (slot {})", lab.started_in(), lab.slot());

    let danebound = if recursive {
        Danebound::start_recursive(&lab, &binary, scratch.path())
    } else {
        Danebound::start(&lab, &binary, scratch.path())
    }
    .unwrap_or_else(|e| panic!("danebound serve: {e}"));
    lab.set_resolv_conf(&[danebound.addr().ip()])
        .expect("resolv.conf");
    check_dns(&lab, &danebound);

    let postfix = Postfix::start(
        &lab,
        &scratch.path().join("postfix"),
        &[
            Listener {
                addr: lab.address(EE_HOST),
                chain: certs.ee_chain.clone(),
            },
            Listener {
                addr: lab.address(TA_HOST),
                chain: certs.ta_chain,
            },
        ],
    )
    .unwrap_or_else(|e| panic!("postfix: {e}"));
    let client = postfix::client_config(scratch.path()).expect("posttls-finger config");
    eprintln!("danebound and postfix up at {:?}", started.elapsed());

    // Every case runs and reports before anything fails.
    let mut failures = Vec::new();
    let mut fingers = Vec::new();
    for case in CASES {
        let finger = postfix::posttls_finger(&lab, &client, case.domain)
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        eprintln!(
            "--- {} ({}): {:?} -> {:?}\n{}",
            case.name,
            case.domain,
            case.expect,
            finger.summaries(),
            finger.output.trim_end()
        );
        if let Err(why) = judge(case, &finger) {
            failures.push(format!("{} ({}): {why}", case.name, case.domain));
        }
        fingers.push(finger);
    }

    // `danebound dane check` must agree with posttls-finger on every case.
    if dane_check {
        for (case, finger) in CASES.iter().zip(&fingers) {
            if let Err(why) = compare_dane_check(&lab, &binary, case, finger) {
                failures.push(format!(
                    "{} ({}): dane check: {why}",
                    case.name, case.domain
                ));
            }
        }
    } else {
        failures.push(format!("{} has no `dane check`", binary.display()));
    }

    // DANEBOUND_E2E_PAUSE=SECONDS: keep everything running for a look
    // (`ip netns exec NAME dig @127.0.0.1 …`) before tearing down.
    if let Some(secs) = std::env::var("DANEBOUND_E2E_PAUSE")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
    {
        eprintln!(
            "pausing {secs} s: namespace {}, danebound on {}, files in {}",
            lab.netns().unwrap_or("?"),
            danebound.addr(),
            scratch.path().display()
        );
        std::thread::sleep(Duration::from_secs(secs));
    }

    if !failures.is_empty() {
        panic!(
            "{} failure(s):\n{}\n\n--- danebound log (end):\n{}\n\n--- postfix maillog (end):\n{}",
            failures.len(),
            failures.join("\n"),
            danebound.log_tail(40),
            postfix.maillog_tail(40)
        );
    }
    eprintln!("e2e_postfix passed in {:?}", started.elapsed());
}

/// Whether posttls-finger's output is what the case demands.
fn judge(case: &Case, f: &Finger) -> Result<(), String> {
    let summaries = f.summaries();
    let has = |word: &str| summaries.iter().any(|w| w == word);
    let all = |word: &str| !summaries.is_empty() && summaries.iter().all(|w| w == word);
    let says = |text: &str| f.output.to_lowercase().contains(&text.to_lowercase());
    let ok = match case.expect {
        // "Matched DANE EE certificate at depth 0" / "… TA certificate at depth 1".
        Expect::Verified => all("Verified") && says("Matched DANE"),
        // posttls-finger goes on to report the session ("Untrusted"), where
        // Postfix's smtp would refuse to deliver.
        Expect::Mismatch => {
            !has("Verified") && !has("Trusted") && says("num=65:no matching DANE TLSA records")
        }
        // No connection at all: "TLSA lookup error for HOST:25".
        Expect::TlsaLookupError => summaries.is_empty() && says("TLSA lookup error for"),
        Expect::NotDane | Expect::NoTlsa => all("Untrusted") && !says("Matched DANE"),
        // "MX RRset insecure: log verified as trusted".
        Expect::HalfDane => all("Trusted") && says("MX RRset insecure"),
        // Postfix drops usages 0 and 1 at parse time: "unsupported TLSA
        // certificate usage", then plain opportunistic TLS.
        Expect::Unusable => {
            all("Untrusted") && !says("Matched DANE") && says("unsupported TLSA certificate usage")
        }
        // "num=62:hostname mismatch".
        Expect::WrongName => !has("Verified") && !summaries.is_empty() && says("num=62:"),
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "expected {:?}, posttls-finger said {summaries:?} (exit {:?}):\n{}",
            case.expect,
            f.code,
            f.output.trim_end()
        ))
    }
}

/// Runs `danebound dane check` for the case inside the namespace and
/// compares it with posttls-finger: the same verdict (Verified or not) and
/// the same summary words, exit status 0 exactly when verified.
fn compare_dane_check(
    lab: &Lab,
    binary: &Path,
    case: &Case,
    finger: &Finger,
) -> Result<(), String> {
    let anchor = lab.trust_anchor_file();
    let mut command: Command = lab.command(&binary.to_string_lossy());
    let args = [
        "dane",
        "check",
        "--starttls",
        "smtp",
        case.domain,
        "--forward",
        "127.0.0.1",
        "--trust-anchor",
        &anchor.to_string_lossy(),
        "--no-default-local-zones",
    ];
    command.args(args);
    let (code, out, err) = run_with_timeout(command, Duration::from_secs(60))
        .map_err(|e| format!("running it: {e}"))?;
    let output = format!("{out}{err}");
    eprintln!(
        "--- {} (danebound dane check): exit {code:?}\n{}",
        case.name,
        output.trim_end()
    );
    let summaries = postfix::summaries(&output);
    let verified = !summaries.is_empty() && summaries.iter().all(|w| w == "Verified");
    let mut problems = Vec::new();
    if verified != finger.verified() {
        problems.push(format!(
            "verified = {verified}, posttls-finger: {}",
            finger.verified()
        ));
    }
    if (code == Some(0)) != finger.verified() {
        problems.push(format!(
            "exit {code:?}, but posttls-finger {} verified",
            if finger.verified() { "was" } else { "was not" }
        ));
    }
    let mut ours = summaries;
    let mut theirs = finger.summaries();
    for v in [&mut ours, &mut theirs] {
        v.sort();
        v.dedup();
    }
    if ours != theirs {
        problems.push(format!("says {ours:?}, posttls-finger {theirs:?}"));
    }
    // The bogus TLSA: the same words as Postfix, and the real reason (the
    // flipped signature, EDE 6), not a reason made up from a CD=1 answer
    // that lost its records on the way through `danebound serve`.
    if case.expect == Expect::TlsaLookupError {
        if !output.contains("TLSA lookup error for ") {
            problems.push("no \"TLSA lookup error for HOST:25\"".into());
        }
        if !output.contains("does not verify") {
            problems.push("the reason does not name the signature that does not verify".into());
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} (danebound {}):\n{}",
            problems.join("; "),
            args.join(" "),
            output.trim_end()
        ))
    }
}

/// The DNS facts the cases rest on, asked of the lab's validating unbound
/// (is the lab set up right?) and of danebound (does it validate them?).
fn check_dns(lab: &Lab, danebound: &Danebound) {
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Want {
        Secure,
        Insecure,
        Bogus,
    }
    let facts: &[(&str, RecordType, Want)] = &[
        ("dane-ee.example.test.", RecordType::MX, Want::Secure),
        ("mx-ee.example.test.", RecordType::A, Want::Secure),
        (
            "_25._tcp.mx-ee.example.test.",
            RecordType::TLSA,
            Want::Secure,
        ),
        (
            "_25._tcp.mx-ta.example.test.",
            RecordType::TLSA,
            Want::Secure,
        ),
        (
            "_25._tcp.mx-mismatch.example.test.",
            RecordType::TLSA,
            Want::Secure,
        ),
        ("mx.tampered.example.test.", RecordType::A, Want::Secure),
        (
            "_25._tcp.mx.tampered.example.test.",
            RecordType::TLSA,
            Want::Bogus,
        ),
        ("insecure.example.test.", RecordType::MX, Want::Insecure),
        (
            "_25._tcp.mx.insecure.example.test.",
            RecordType::TLSA,
            Want::Insecure,
        ),
        (
            "_25._tcp.mx-none.example.test.",
            RecordType::TLSA,
            Want::Secure,
        ),
    ];
    let options = QueryOptions {
        timeout: Duration::from_secs(5),
        ..QueryOptions::default()
    };
    let oracle = lab.oracle().expect("oracle");
    let mut problems = Vec::new();
    for (who, server) in [
        ("unbound oracle (lab setup)", oracle),
        ("danebound", danebound.addr()),
    ] {
        for (name, rtype, want) in facts {
            let got = match lab.query_with(server, name, *rtype, &options) {
                Ok(r) if r.rcode() == ResponseCode::ServFail => Want::Bogus,
                // NXDOMAIN counts too: no TLSA at mx-none is a proven denial.
                Ok(r) if matches!(r.rcode(), ResponseCode::NoError | ResponseCode::NXDomain) => {
                    if r.ad() { Want::Secure } else { Want::Insecure }
                }
                Ok(r) => {
                    problems.push(format!("{who}: {name} {rtype}: rcode {}", r.rcode()));
                    continue;
                }
                Err(e) => {
                    problems.push(format!("{who}: {name} {rtype}: {e}"));
                    continue;
                }
            };
            if got != *want {
                problems.push(format!("{who}: {name} {rtype}: {got:?}, want {want:?}"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "DNS preconditions:\n{}\n--- danebound log (end):\n{}",
        problems.join("\n"),
        danebound.log_tail(40)
    );
}
