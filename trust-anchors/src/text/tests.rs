//! Tests of the presentation-format reader.

use std::path::{Path, PathBuf};

use hickory_proto::dnssec::rdata::DNSSECRData;
use hickory_proto::rr::{DNSClass, Name, RData, RecordType};

use super::*;

fn one(text: &str) -> Record {
    let mut v = parse_records(text, None, 3600).unwrap_or_else(|e| panic!("{text}: {e}"));
    assert_eq!(v.len(), 1, "{text}");
    v.remove(0)
}

fn raw(text: &str) -> RawRecord {
    let mut ctx = Context::default();
    parse_rr_line(text, &mut ctx)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .unwrap()
}

#[test]
fn basic_types_decode_to_hickory() {
    let r = one("www.example.com. 300 IN A 192.0.2.1");
    assert_eq!(r.ttl, 300);
    assert_eq!(r.data.ip_addr(), Some("192.0.2.1".parse().unwrap()));
    let r = one("x. AAAA 2001:db8::1");
    assert_eq!(r.ttl, 3600);
    assert_eq!(r.record_type(), RecordType::AAAA);
    for (text, t) in [
        ("x. NS ns.x.", RecordType::NS),
        ("x. CNAME y.", RecordType::CNAME),
        ("x. DNAME y.", RecordType::DNAME),
        ("x. PTR y.", RecordType::PTR),
        ("x. MX 10 mail.x.", RecordType::MX),
        (
            "x. SOA ns.x. host.x. 2017071101 1800 900 604800 1D",
            RecordType::SOA,
        ),
        (r#"x. TXT "hello world" "a\"b" plain"#, RecordType::TXT),
        (r#"x. SPF "v=spf1 -all""#, RecordType::Unknown(99)),
        (r#"x. HINFO "PC" "Linux""#, RecordType::HINFO),
        ("_x._tcp.x. SRV 0 1 443 t.x.", RecordType::SRV),
        (
            r#"x. NAPTR 100 10 "u" "E2U+sip" "!^.*$!sip:a@b!" ."#,
            RecordType::NAPTR,
        ),
        ("_25._tcp.x. TLSA 3 1 1 0102030405", RecordType::TLSA),
        ("x. SSHFP 1 1 0123456789abcdef", RecordType::SSHFP),
        (r#"x. CAA 0 issue "ca.example""#, RecordType::CAA),
    ] {
        let r = one(text);
        assert_eq!(r.record_type(), t, "{text}");
    }
}

#[test]
fn dnssec_types_decode_to_hickory() {
    let r =
        one(". IN DS 49060 8 2 E7B1EB56D7D5791B3D45630FEAA9C823DB84B385ACEEAC5F44DD08885C36700F");
    let RData::DNSSEC(DNSSECRData::DS(ds)) = &r.data else {
        panic!()
    };
    assert_eq!(ds.key_tag(), 49060);
    let r = one(
        "example.com. 10800 IN DNSKEY 257 3 RSASHA1 AwEAAc3Z5DQDJpH4oPdNtC4BUQHk50XMD+dHr4r8psHmivIa83hxR5CRgCtd9sENCW9Ae8OIO19xw9t/RPaEAqQa+OE= ;{id = 55582 (ksk), size = 512b}",
    );
    let RData::DNSSEC(DNSSECRData::DNSKEY(k)) = &r.data else {
        panic!()
    };
    assert_eq!(k.calculate_key_tag().unwrap(), 55582);
    let r = one(
        "www.example.com. 3600 IN RRSIG A 5 3 3600 20090924111500 20090821111500 30899 Example.com. pYGxVLsWUvOp1wSf0iwPap+JnECfC5GAm1lRqy3YEqecNGld7U7x/5Imo3CerbdZrVptUQs2oH0lcjwYJXMnsw==",
    );
    let RData::DNSSEC(DNSSECRData::RRSIG(sig)) = &r.data else {
        panic!()
    };
    assert_eq!(sig.input().type_covered, RecordType::A);
    assert_eq!(sig.input().sig_expiration.get(), 1_253_790_900);
    assert_eq!(sig.input().sig_inception.get(), 1_250_853_300);
    assert!(
        sig.input()
            .signer_name
            .eq_case(&Name::from_ascii("Example.com.").unwrap())
    );
    // Plain integer timestamps.
    let r = raw("x. RRSIG A 8 1 300 1253790900 1250853300 1 x. AAAA");
    assert_eq!(
        &r.rdata[8..16],
        &[0x4a, 0xbb, 0x54, 0xb4, 0x4a, 0x8e, 0x81, 0xb4]
    );
    let r = one("a.x. NSEC c.x. A RRSIG NSEC TYPE1234");
    assert_eq!(r.record_type(), RecordType::NSEC);
    let r = one("x. NSEC3 1 1 12 aabbccdd 2vptu5timamqttgl4luu9kg21e0aor3s A RRSIG");
    assert_eq!(r.record_type(), RecordType::NSEC3);
    let r = one("x. NSEC3 1 0 0 - 2VPTU5TIMAMQTTGL4LUU9KG21E0AOR3S");
    assert_eq!(r.record_type(), RecordType::NSEC3);
    let r = one("x. NSEC3PARAM 1 0 10 -");
    assert_eq!(r.record_type(), RecordType::NSEC3PARAM);
    let r = raw("x. CDS 0 0 0 00");
    assert_eq!(r.rdata, [0, 0, 0, 0, 0]);
    let r = raw("x. CDNSKEY 0 3 0 AA==");
    assert_eq!(r.rdata, [0, 0, 3, 0, 0]);
}

#[test]
fn nsec_bitmap_matches_rfc4034_example() {
    // RFC 4034 §4.3: A MX RRSIG NSEC TYPE1234.
    let r = raw("alfa.example.com. 86400 IN NSEC host.example.com. A MX RRSIG NSEC TYPE1234");
    let name_len = "host.example.com.".len() + 1;
    let expected: [u8; 37] = [
        0x00, 0x06, 0x40, 0x01, 0x00, 0x00, 0x00, 0x03, 0x04, 0x1b, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20,
    ];
    assert_eq!(&r.rdata[name_len..], &expected);
}

#[test]
fn bad_dnskey_protocol_keeps_raw_form() {
    let r = raw(". 3600000 IN DNSKEY 256 2 8 AwEAAe1oA46e ; protocol changed from 3 to 2");
    assert_eq!(r.rdata[2], 2);
    let err = r.to_record().unwrap_err();
    assert!(err.contains("DNSKEY"), "{err}");
    let err = parse_records(". DNSKEY 256 2 8 AwEAAe1oA46e", None, 0).unwrap_err();
    assert_eq!(err.line, 1);
    // Wire form still available.
    let mut wire = Vec::new();
    r.write_wire(&mut wire);
    assert_eq!(wire.len(), 1 + 10 + r.rdata.len());
}

#[test]
fn directives_relative_names_and_omitted_fields() {
    let text = "$ORIGIN Example.COM.\n$TTL 1h30m\n@ IN SOA ns hostmaster ( 1 2\n 3 4 5 )\nwww 60 A 192.0.2.1\n  CH 70 TXT x\nmail IN 2w MX 10 @\n";
    let rs = parse_raw_records(text, None, 0).unwrap();
    assert_eq!(rs.len(), 4);
    assert!(
        rs[0]
            .name
            .eq_case(&Name::from_ascii("Example.COM.").unwrap())
    );
    assert_eq!(rs[0].ttl, 5400);
    assert!(
        rs[1]
            .name
            .eq_case(&Name::from_ascii("www.Example.COM.").unwrap())
    );
    assert_eq!(rs[1].ttl, 60);
    assert!(rs[2].name.eq_case(&rs[1].name));
    assert_eq!(rs[2].class, DNSClass::CH);
    assert_eq!(rs[3].ttl, 1_209_600);
    let r = rs[3].to_record().unwrap();
    let RData::MX(mx) = &r.data else { panic!() };
    assert!(
        mx.exchange
            .eq_case(&Name::from_ascii("Example.COM.").unwrap())
    );
}

#[test]
fn relative_name_without_origin_is_absolute() {
    let r = raw("k.root-servers.net IN A 193.0.14.129");
    assert_eq!(r.name.to_string(), "k.root-servers.net.");
}

#[test]
fn escapes_in_names_and_strings() {
    let r = raw(r#"a\.b\065.x. TXT "\065\"\\""#);
    assert_eq!(r.name.iter().next().unwrap(), b"a.bA");
    assert_eq!(r.rdata, [3, b'A', b'"', b'\\']);
}

#[test]
fn generic_rfc3597_syntax() {
    let r = raw(r"x. CLASS1 TYPE1 \# 4 C0000201");
    assert_eq!(r.rtype, RecordType::A);
    assert_eq!(r.class, DNSClass::IN);
    assert!(r.to_record().is_ok());
    let r = raw(r"x. TYPE65000 \# 3 ABCDEF");
    assert_eq!(r.rdata, [0xab, 0xcd, 0xef]);
    let r = raw(r"x. TYPE65000 \# 0");
    assert!(r.rdata.is_empty());
    assert!(parse_rr_line(r"x. A \# 3 C00002", &mut Context::default()).is_ok());
    assert!(parse_rr_line(r"x. A \# 4 C00002", &mut Context::default()).is_err());
}

#[test]
fn case_of_names_is_kept() {
    let r = one("WwW.ExAmPlE. 1 IN CNAME TaRgEt.ExAmPlE.");
    assert!(r.name.eq_case(&Name::from_ascii("WwW.ExAmPlE.").unwrap()));
    let RData::CNAME(c) = &r.data else { panic!() };
    assert!(c.0.eq_case(&Name::from_ascii("TaRgEt.ExAmPlE.").unwrap()));
}

#[test]
fn question_lines() {
    let ctx = Context::default();
    let (n, t, c) =
        parse_question_line("k.root-servers.net.            IN      AAAA", &ctx).unwrap();
    assert_eq!(n.to_string(), "k.root-servers.net.");
    assert_eq!(t, RecordType::AAAA);
    assert_eq!(c, DNSClass::IN);
    let (_, t, _) = parse_question_line(". TYPE65 ; comment", &ctx).unwrap();
    assert_eq!(t, RecordType::from(65));
}

#[test]
fn sig_times() {
    assert_eq!(rdata::parse_sig_time("19700101000000"), Some(0));
    assert_eq!(rdata::parse_sig_time("20170409093827"), Some(1_491_730_707));
    assert_eq!(rdata::parse_sig_time("21060207062816"), Some(0)); // wraps at 2^32
    assert_eq!(rdata::parse_sig_time("4294967295"), Some(u32::MAX));
    assert_eq!(rdata::parse_sig_time("4294967296"), None);
    assert_eq!(rdata::parse_sig_time("20171309093827"), None);
}

#[test]
fn garbage_gives_errors_not_panics() {
    let cases = [
        "x. A",
        "x. A 1.2.3",
        "x. A 1.2.3.4 5",
        "x. AAAA ::g",
        "x. MX 70000 y.",
        "x. SOA a. b. 1 2 3",
        "x. IN 99999999999999999999 A 1.2.3.4",
        "x. DNSKEY 256 3 8 !!!notbase64",
        "x. DNSKEY 256 3",
        "x. DS 1 8 2 XYZ",
        "x. DS 1 8 2 ABC",
        "x. RRSIG A 8 1 300 2017x 2016 1 x. AAAA",
        "x. RRSIG BOGUS 8 1 300 1 2 1 x. AAAA",
        "x. NSEC3 1 0 0 - notbase32hex!",
        "x. NSEC3 1 0 0 zz 00",
        "x. NSEC y. NOTATYPE",
        "x. TXT \"unterminated",
        "x. TXT \"bad \\2 escape\"",
        "x. ( A 1.2.3.4",
        "x. A 1.2.3.4 )",
        "x. FOOBAR 1",
        "x. TYPE70000 \\# 0",
        "x. \\# 1 00",
        "x. A \\# 99999999999 00",
        "a..b. A 1.2.3.4",
        "\\",
        "x.\\300 A 1.2.3.4",
        &format!("{}. A 1.2.3.4", "a".repeat(64)),
        &format!("{}. A 1.2.3.4", "abcdefgh.".repeat(40)),
        "$ORIGIN",
        "$TTL forever",
        "$INCLUDE /etc/passwd",
        "x. 1h30 A 1.2.3.4",
        "  A 1.2.3.4",
        "x. CAA 0 \"is sue\" x",
        "x. TLSA 3 1 1",
    ];
    for case in cases {
        let mut ctx = Context::default();
        let r = parse_rr_line(case, &mut ctx);
        assert!(r.is_err(), "{case:?} gave {r:?}");
        assert!(parse_records(case, None, 0).is_err(), "{case:?}");
    }
    // Arbitrary bytes never panic.
    let mut seed = 0x1234_5678u32;
    let alphabet = b"aZ09.;()\"\\ \t\n$@#-+/=AINSOAX";
    for _ in 0..2000 {
        let mut s = String::new();
        for _ in 0..(seed % 40) {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            s.push(alphabet[(seed >> 16) as usize % alphabet.len()] as char);
        }
        let _ = parse_raw_records(&s, None, 0);
        let _ = parse_rr_line(&s, &mut Context::default());
        for prefix in ["x. DNSKEY ", "x. RRSIG ", "x. NSEC3 ", "x. SOA ", "x. TXT "] {
            let _ = parse_records(&format!("{prefix}{s}"), None, 0);
        }
    }
}

// ---------------------------------------------------------------------------
// Corpus round trip

use crate::skip;

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect_files(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// Whether a replay-file line looks like an RR line (not a keyword).
fn looks_like_rr(line: &str) -> bool {
    const KEYWORDS: &[&str] = &[
        "ENTRY_BEGIN",
        "ENTRY_END",
        "MATCH",
        "ADJUST",
        "REPLY",
        "SECTION",
        "RANGE_BEGIN",
        "RANGE_END",
        "ADDRESS",
        "STEP",
        "SCENARIO_BEGIN",
        "SCENARIO_END",
        "CONFIG_END",
        "FILE_BEGIN",
        "FILE_END",
        "AUTOTRUST_FILE",
        "AUTOTRUST_END",
        "HEX_",
        "RAW",
        "EXTRA_PACKET",
        "TEMPFILE",
        ";",
        "#",
    ];
    let t = line.trim_start();
    !t.is_empty() && !KEYWORDS.iter().any(|k| t.starts_with(k))
}

/// Parses every RR line inside the SECTION ANSWER/AUTHORITY/ADDITIONAL parts
/// of the conformance corpus, and every record of the unbound signature
/// vectors, and checks the wire form decodes back to the same bytes.
#[test]
fn corpus_rr_lines_round_trip() {
    let Some(shared) = skip::shared_path("corpus_rr_lines_round_trip", "") else {
        return;
    };
    let mut files = Vec::new();
    collect_files(&shared.join("conformance"), &mut files);
    let mut vectors = Vec::new();
    collect_files(&shared.join("vectors/unbound-unit"), &mut vectors);
    vectors.retain(|p| {
        p.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("test_sigs"))
    });
    files.retain(|p| p.extension().is_some_and(|e| e == "rpl"));
    let (mut total, mut decoded, mut raw_only, mut failed) = (0, 0, 0, Vec::new());
    let mut check = |line: &str, ctx: &mut Context, where_: String| match parse_rr_line(line, ctx) {
        Ok(None) => {}
        Ok(Some(rr)) => {
            total += 1;
            match rr.to_record() {
                Ok(rec) => {
                    let back = RawRecord::from_record(&rec).unwrap();
                    // Names inside RDATA may be re-emitted differently only in case;
                    // compare case-insensitively.
                    assert_eq!(
                        back.rdata.to_ascii_lowercase(),
                        rr.rdata.to_ascii_lowercase(),
                        "{where_}: {line}"
                    );
                    decoded += 1;
                }
                Err(_) => raw_only += 1,
            }
        }
        Err(e) => {
            total += 1;
            failed.push(format!("{where_}: {e}: {line}"));
        }
    };
    for f in files.iter().chain(&vectors) {
        let text = std::fs::read_to_string(f).unwrap_or_default();
        let mut ctx = Context::default();
        let mut in_section = false;
        for (i, line) in text.lines().enumerate() {
            let t = line.trim_start();
            if t.starts_with("SECTION") {
                in_section = !t.contains("QUESTION");
                continue;
            }
            if t.starts_with("ENTRY_END") || t.starts_with("ENTRY_BEGIN") {
                in_section = false;
            }
            let is_directive = t.starts_with("$ORIGIN") || t.starts_with("$TTL");
            if (in_section && looks_like_rr(line)) || is_directive {
                ctx.line = i + 1;
                check(t, &mut ctx, format!("{}:{}", f.display(), i + 1));
            }
        }
    }
    eprintln!(
        "corpus: {} files, {total} RR lines: {decoded} decoded by hickory, {raw_only} raw only, {} failed",
        files.len() + vectors.len(),
        failed.len()
    );
    for f in failed.iter().take(40) {
        eprintln!("  {f}");
    }
    assert!(total > 1000, "too few RR lines found: {total}");
    assert!(
        failed.is_empty(),
        "{} RR lines failed to parse",
        failed.len()
    );
}
