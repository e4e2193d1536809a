//! The committed fuzz corpora replayed on stable through the fuzz targets'
//! own entry points (`danebound_tests::fuzzing`): the seeds
//! (`fuzz/seeds/TARGET/`) and every input that ever crashed a target
//! (`fuzz/regressions/TARGET/`, each a regression test). A quick check, not
//! fuzzing: `scripts/fuzz.sh SECONDS` fuzzes.
//!
//! `write_seeds` (ignored) regenerates the seeds from the signed fixtures,
//! hand-written dialogues and rcgen certificates.

use std::path::{Path, PathBuf};

use danebound_resolver::validator::{Fetched, Limits, RingCrypto, Session, Step};
use danebound_resolver::wire::{Message, Name, RecordType};
use danebound_tests::danetest::pki::Node;
use danebound_tests::fuzzing::{QUESTIONS, TARGETS, join_chunks};
use danebound_tests::zonedb::{FIXTURE_NOW, ZoneDb, fixtures_dir};
use danebound_verifier::{MatchingType, Selector, Usage, generate};
use hickory_proto::op::{Edns, MessageType, OpCode, Query};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    out.sort();
    out
}

#[test]
fn committed_corpora_replay_cleanly() {
    for (target, entry) in TARGETS {
        let seeds = files(&fuzz_dir().join("seeds").join(target));
        assert!(!seeds.is_empty(), "no seeds for fuzz target {target}");
        let regressions = files(&fuzz_dir().join("regressions").join(target));
        for file in seeds.iter().chain(&regressions) {
            let data = std::fs::read(file).unwrap();
            // A panic names the file through the hook's message.
            eprintln!("{}", file.display());
            entry(&data);
        }
    }
}

#[test]
fn every_target_has_a_fuzz_target_file() {
    for (target, _) in TARGETS {
        let file = fuzz_dir().join("fuzz_targets").join(format!("{target}.rs"));
        let text =
            std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(
            text.contains(&format!("fuzzing::{target}(")),
            "{} does not call fuzzing::{target}",
            file.display()
        );
    }
}

// ---------------------------------------------------------------------------
// Seeds
// ---------------------------------------------------------------------------

fn write(target: &str, name: &str, data: &[u8]) {
    let dir = fuzz_dir().join("seeds").join(target);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), data).unwrap();
}

fn query(
    id: u16,
    name: &str,
    qtype: RecordType,
    edns: Option<(u16, bool, u8)>,
    cd: bool,
) -> Vec<u8> {
    let mut m = Message::new(id, MessageType::Query, OpCode::Query);
    m.metadata.recursion_desired = true;
    m.metadata.checking_disabled = cd;
    m.add_query(Query::query(Name::from_ascii(name).unwrap(), qtype));
    if let Some((payload, dnssec_ok, version)) = edns {
        let mut e = Edns::new();
        e.set_max_payload(payload);
        e.set_dnssec_ok(dnssec_ok);
        e.set_version(version);
        m.set_edns(e);
    }
    m.to_vec().unwrap()
}

/// The messages a validating stub sees for `name qtype` against the
/// fixtures: the answer, then each DS or DNSKEY answer the session fetches.
fn exchange(db: &ZoneDb, name: &str, qtype: RecordType) -> Vec<Vec<u8>> {
    let qname = Name::from_ascii(name).unwrap();
    let response = db.answer(&qname, qtype);
    let mut messages = vec![response.to_vec().unwrap()];
    let anchors = ZoneDb::fixture_anchors();
    let crypto = RingCrypto::default();
    let mut session = Session::new(
        &qname,
        qtype,
        &response,
        &anchors,
        FIXTURE_NOW,
        Limits::default(),
        &crypto,
    );
    loop {
        match session.step() {
            Step::Fetch(request) => {
                let fetched = db.fetch(&request);
                if let Fetched::Response(m) = &fetched {
                    messages.push(m.to_vec().unwrap());
                }
                session.supply(&request, fetched);
            }
            Step::Done(_) => return messages,
        }
    }
}

#[test]
#[ignore = "writes fuzz/seeds; run by hand after changing the targets"]
fn write_seeds() {
    // client_request
    let c = "client_request";
    write(
        c,
        "plain",
        &query(1, "www.example.test.", RecordType::A, None, false),
    );
    write(
        c,
        "dnssec",
        &query(
            2,
            "www.example.test.",
            RecordType::A,
            Some((1232, true, 0)),
            false,
        ),
    );
    write(
        c,
        "cd",
        &query(
            3,
            "example.test.",
            RecordType::DNSKEY,
            Some((4096, true, 0)),
            true,
        ),
    );
    write(
        c,
        "badvers",
        &query(
            4,
            "example.test.",
            RecordType::SOA,
            Some((1232, false, 1)),
            false,
        ),
    );
    write(
        c,
        "local",
        &query(5, "localhost.", RecordType::A, None, false),
    );
    write(
        c,
        "small-edns",
        &query(
            6,
            "example.test.",
            RecordType::TXT,
            Some((100, true, 0)),
            false,
        ),
    );
    let mut notimp = query(7, "example.test.", RecordType::A, None, false);
    notimp[2] |= 0x10; // opcode 2 (STATUS)
    write(c, "notimp", &notimp);
    write(
        c,
        "header-only",
        &[0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0],
    );

    // validator_session and upstream_replies: the fixture exchanges.
    let db = ZoneDb::fixtures();
    for (i, (name, qtype)) in QUESTIONS.iter().enumerate() {
        let messages = exchange(&db, name, *qtype);
        let stem = format!("{}-{qtype}", name.trim_end_matches('.'));
        write("validator_session", &stem, &join_chunks(&messages));
        // Replies as the engine gets them: an odd first byte keeps each
        // reply's own question (see fuzzing::Scripted).
        let replies: Vec<Vec<u8>> = messages
            .into_iter()
            .map(|mut m| {
                m[0] |= 1;
                m
            })
            .collect();
        let mut seed = vec![u8::try_from(i).unwrap()];
        seed.extend(join_chunks(&replies));
        write("upstream_replies", &stem, &seed);
    }

    // zone_text: the anchor and a few small signed zones.
    for file in [
        "trust-anchor.ds",
        "insecure.example.test.zone",
        "unsigned.nsec3.example.test.zone",
        "nodenial.example.test.zone",
    ] {
        let text = std::fs::read(fixtures_dir().join(file)).unwrap();
        write("zone_text", file, &text);
    }
    write(
        "zone_text",
        "dnskey-and-directives",
        b"$ORIGIN example.\n$TTL 300\n@ IN DNSKEY 257 3 13 ( mdsswUyr3DPW132mOi8V9xESWE8jTo0d\n xCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ== ) ; KSK\n\
          . 3600 IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n",
    );

    // autotrust_file: unbound's state file as both write it, the legacy
    // header-less form, and a revoked trust point.
    write(
        "autotrust_file",
        "root-valid",
        b"; autotrust trust anchor file\n;;id: . 1\n;;last_queried: 1795852800 ;;Sat Nov 28 08:00:00 2026\n\
          ;;last_success: 1795852800 ;;Sat Nov 28 08:00:00 2026\n;;next_probe_time: 1795934880 ;;Sun Nov 29 06:48:00 2026\n\
          ;;query_failed: 0\n;;query_interval: 86400\n;;retry_time: 17280\n\
          .\t172800\tIN\tDNSKEY\t257 3 8 AwEAAaz/tAm8yTn4Mfeh5eyI96WSVexTBAvkMgJzkKTOiW1vkIbzxeF3+/4RgWOq7HrxRixHlFlExOLAJr5emLvN7SWXgnLh4+B5xQlNVz8Og8kvArMtNROxVQuCaSnIDdD5LKyWbRd2n9WGe2R8PzgCmr3EgVLrjyBxWezF0jLHwVN8efS3rCj/EWgvIWgb9tarpVUDK/b58Da+sqqls3eNbuv7pr+eoZG+SrDK6nWeL3c6H5Apxz7LjVc1uTIdsIXxuOLYA4/ilBmSVIzuDWfdRUfhHdY6+cn8HFRm+2hM8AnXGXws9555KrUB5qihylGa8subX2Nn6UwNR1AkUTV74bU= ;{id = 20326 (ksk), size = 2048b} ;;state=2 [  VALID  ] ;;count=0 ;;lastchange=1502896424 ;;Wed Aug 16 15:13:44 2017\n",
    );
    write(
        "autotrust_file",
        "plain-ds",
        b". IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n",
    );

    // starttls: a good dialogue per protocol (first byte: 0 SMTP, 1 IMAP,
    // 2 POP3, 3 XMPP).
    let s = "starttls";
    write(s, "smtp", b"\x00220 mx.example.test ESMTP\r\n250-mx.example.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n220 2.0.0 go ahead\r\n");
    write(
        s,
        "imap",
        b"\x01* OK ready\r\n* CAPABILITY IMAP4rev1 STARTTLS\r\na1 OK done\r\na2 OK begin TLS\r\n",
    );
    write(
        s,
        "pop3",
        b"\x02+OK ready\r\n+OK capabilities\r\nUSER\r\nSTLS\r\n.\r\n+OK begin TLS\r\n",
    );
    write(
        s,
        "xmpp",
        b"\x03<?xml version='1.0'?><stream:stream from='example.test' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'><stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features><proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>",
    );

    // tlsa_certificates: DANE-EE and DANE-TA over rcgen chains.
    let t = "tlsa_certificates";
    let leaf = Node::self_signed_leaf(&["mx.example.test"]);
    let ee = generate(
        &leaf.cert,
        Usage::DaneEe,
        Selector::Spki,
        MatchingType::Sha256,
    )
    .unwrap();
    write(
        t,
        "dane-ee",
        &join_chunks(&[
            ee.to_rdata(),
            ee.to_string().into_bytes(),
            leaf.cert.to_vec(),
        ]),
    );
    let root = Node::root("Fuzz Root");
    let issued = root.leaf(&["mx.example.test"]);
    let ta = generate(
        &root.cert,
        Usage::DaneTa,
        Selector::Cert,
        MatchingType::Sha256,
    )
    .unwrap();
    write(
        t,
        "dane-ta",
        &join_chunks(&[
            ta.to_rdata(),
            ta.to_string().into_bytes(),
            issued.cert.to_vec(),
            root.cert.to_vec(),
        ]),
    );
}
