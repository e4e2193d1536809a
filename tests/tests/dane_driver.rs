//! The danetest driver on files made here: the file format (comments, text
//! around PEM blocks, CRLF), and OpenSSL's behaviour when no record is
//! usable (DANE not enabled: plain PKIX with the name check, depth −1).

use danebound_tests::danetest::pki::{CURRENT, NOW, Node};
use danebound_tests::danetest::{parse, run_case};
use danebound_verifier::{
    MatchingType, PkixError, Selector, Usage, VerifyParams, generate, verify_pkix,
};
use rustls_pki_types::CertificateDer;

fn pem(cert: &CertificateDer<'_>) -> String {
    let b64 = data_encoding::BASE64.encode(cert.as_ref());
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap());
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

#[test]
fn file_format_and_no_usable_records_fall_back_to_pkix() {
    let root = Node::root("Root CA");
    let issuer = root.intermediate("Issuer CA", CURRENT);
    let leaf = issuer.leaf(&["mx.example.com"]);
    let other = issuer.leaf(&["other.example.org"]);
    let ee = generate(
        &leaf.cert,
        Usage::DaneEe,
        Selector::Spki,
        MatchingType::Sha256,
    )
    .unwrap();

    let mut text = String::from("# comment\n\n");
    // 1: a usable EE record
    text += &format!(
        "1 2 1 0 0\n{ee}\nsubject= CN = mx.example.com\n{}{}\n",
        pem(&leaf.cert),
        pem(&issuer.cert)
    );
    // 2: only an unusable record (digest too short): PKIX decides, OK
    text += &format!(
        "1 2 1 0 -1\n3 1 1 00 11\n{}{}\n",
        pem(&leaf.cert),
        pem(&issuer.cert)
    );
    // 3: no record, wrong name: 62
    text += &format!("0 2 1 62 -1\n{}{}\n", pem(&other.cert), pem(&issuer.cert));
    // 4: no record, issuer missing: 20
    text += &format!("# missing issuer\n0 1 1 20 -1\n{}\n", pem(&leaf.cert));
    let text = text.replace('\n', "\r\n");

    let cases = parse(&text).expect("parses");
    assert_eq!(cases.len(), 4);
    assert_eq!(cases[1].tlsa.len(), 1);
    assert_eq!(cases[2].chain.len(), 2);
    let roots = vec![root.cert.clone()];
    for case in &cases {
        let r = run_case(case, "mx.example.com", &roots, NOW);
        assert!(r.passed(), "{r}");
    }
}

#[test]
fn malformed_files_are_errors() {
    assert!(parse("1 1 1 0\n").is_err(), "four numbers");
    assert!(parse("x y z\n").is_err());
    assert!(parse("1 1 1 0 0\n").is_err(), "ends in the records");
    assert!(parse("1 1 1 0 0\n3 1 1 zz\n").is_err(), "bad hex");
    assert!(parse("0 1 1 0 0\n").is_err(), "ends in the certificates");
    assert!(parse("0 1 1 0 0\n-----BEGIN CERTIFICATE-----\nAAAA\n").is_err());
    assert!(
        parse("0 1 1 0 0\n-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n").is_err()
    );
    assert_eq!(parse("# only comments\n\n").unwrap().len(), 0);
}

#[test]
fn plain_pkix_validation_for_when_dane_does_not_apply() {
    let root = Node::root("Root CA");
    let issuer = root.intermediate("Issuer CA", CURRENT);
    let leaf = issuer.leaf(&["mx.example.com"]);
    let chain = [leaf.cert.clone(), issuer.cert.clone()];
    let params = VerifyParams::generic("mx.example.com", vec![root.cert.clone()], NOW);
    assert_eq!(
        verify_pkix(&chain, &params).as_deref(),
        Ok("mx.example.com")
    );

    let wrong_name = VerifyParams::generic("mail.example.net", vec![root.cert.clone()], NOW);
    assert!(matches!(
        verify_pkix(&chain, &wrong_name),
        Err(PkixError::NameMismatch { .. })
    ));
    let no_roots = VerifyParams::generic("mx.example.com", Vec::new(), NOW);
    let err = verify_pkix(&chain, &no_roots).unwrap_err();
    assert_eq!(err.openssl_code(), 20);
    assert_eq!(verify_pkix(&[], &params), Err(PkixError::EmptyChain));
}
