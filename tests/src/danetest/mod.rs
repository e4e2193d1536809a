//! A replayer for OpenSSL's DANE test files (`test/danetest.in`,
//! `test/dane-cross.in`), with the semantics of OpenSSL's `test/danetest.c`:
//! the CA file is the PKIX trust store, the base domain is the reference
//! identifier, SHA2-256 is the preferred digest (as `danetest.c` configures
//! it), and each case's expected `(X509_V_ERR code, match depth)` must come
//! out exactly.
//!
//! File format: a header line `<tlsa-count> <cert-count> <nonamechecks>
//! <expected-error> <expected-depth>`, then `<tlsa-count>` lines `usage
//! selector mtype hex`, then `<cert-count>` PEM certificates, leaf first;
//! any other text before and between the certificates is skipped, as
//! OpenSSL's PEM reader does. Blank lines and `#` comments between cases
//! are ignored.
//!
//! One deliberate difference: `danetest.c` fails a case whose record
//! OpenSSL refuses as unusable; here the verifier drops it (RFC 7671 §4)
//! and the case is judged on the verdict. When no usable record remains
//! (or a case has none), the chain is judged as OpenSSL's library would:
//! DANE is then not enabled, so plain PKIX validation to the CA file with
//! the name check decides, and the depth is −1.

use std::fmt;
use std::path::Path;

pub mod pki;

use danebound_verifier::{
    DaneError, MatchingType, PkixError, TlsaRecord, VerifyParams, danger, verify, verify_pkix,
};
use rustls_pki_types::{CertificateDer, UnixTime};

/// One test case.
#[derive(Clone, Debug)]
pub struct Case {
    /// 1-based case number in the file.
    pub number: usize,
    /// Line of the header.
    pub line: usize,
    /// `DANE_FLAG_NO_DANE_EE_NAMECHECKS`.
    pub nonamechecks: bool,
    /// Expected `X509_V_ERR_*` code.
    pub want_error: i32,
    /// Expected match depth (−1: none).
    pub want_depth: i64,
    /// The records.
    pub tlsa: Vec<TlsaRecord>,
    /// The presented chain, leaf first.
    pub chain: Vec<CertificateDer<'static>>,
}

/// The result of one case.
#[derive(Clone, Debug)]
pub struct CaseResult {
    /// The case number.
    pub number: usize,
    /// The header line.
    pub line: usize,
    /// Expected (error, depth).
    pub want: (i32, i64),
    /// Obtained (error, depth).
    pub got: (i32, i64),
    /// The verdict in words.
    pub detail: String,
}

impl CaseResult {
    /// Whether the case gave OpenSSL's result.
    pub fn passed(&self) -> bool {
        self.want == self.got
    }
}

impl fmt::Display for CaseResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tag = if self.passed() { "ok  " } else { "FAIL" };
        write!(
            f,
            "{tag} case {} (line {}): want error {} depth {}, got error {} depth {}: {}",
            self.number, self.line, self.want.0, self.want.1, self.got.0, self.got.1, self.detail
        )
    }
}

/// Parses a danetest file.
pub fn parse(text: &str) -> Result<Vec<Case>, String> {
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    let mut cases = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        i += 1;
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let header: Vec<i64> = line
            .split_whitespace()
            .map(str::parse)
            .collect::<Result<_, _>>()
            .map_err(|_| format!("line {i}: expected a case header, got {line:?}"))?;
        let [ntlsa, ncert, nonamechecks, want_error, want_depth] = header[..] else {
            return Err(format!("line {i}: a header has 5 numbers, got {line:?}"));
        };
        let (Ok(ntlsa), Ok(ncert), Ok(want_error)) = (
            usize::try_from(ntlsa),
            usize::try_from(ncert),
            i32::try_from(want_error),
        ) else {
            return Err(format!("line {i}: bad header {line:?}"));
        };
        let header_line = i;
        let mut tlsa = Vec::with_capacity(ntlsa);
        while tlsa.len() < ntlsa {
            let Some(l) = lines.get(i) else {
                return Err(format!(
                    "line {header_line}: file ends inside the TLSA records"
                ));
            };
            i += 1;
            if l.trim().is_empty() || l.trim_start().starts_with('#') {
                continue;
            }
            tlsa.push(
                l.parse::<TlsaRecord>()
                    .map_err(|e| format!("line {i}: bad TLSA record: {e}"))?,
            );
        }
        let mut chain = Vec::with_capacity(ncert);
        while chain.len() < ncert {
            let Some(l) = lines.get(i) else {
                return Err(format!(
                    "line {header_line}: file ends inside the certificates"
                ));
            };
            i += 1;
            if l.trim() != "-----BEGIN CERTIFICATE-----" {
                continue; // PEM_read_bio() skips text outside PEM blocks
            }
            let mut b64 = String::new();
            loop {
                let Some(l) = lines.get(i) else {
                    return Err(format!("line {i}: unterminated PEM block"));
                };
                i += 1;
                if l.trim() == "-----END CERTIFICATE-----" {
                    break;
                }
                b64.push_str(l.trim());
            }
            let der = data_encoding::BASE64
                .decode(b64.as_bytes())
                .map_err(|e| format!("line {i}: bad base64: {e}"))?;
            chain.push(CertificateDer::from(der));
        }
        cases.push(Case {
            number: cases.len() + 1,
            line: header_line,
            nonamechecks: nonamechecks != 0,
            want_error,
            want_depth,
            tlsa,
            chain,
        });
    }
    Ok(cases)
}

/// All certificates of a PEM file (the CA file).
pub fn parse_pem_certs(text: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    rustls_pemfile::certs(&mut text.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("bad PEM: {e}"))
}

/// Runs one case as `danetest.c` does.
pub fn run_case(
    case: &Case,
    base_domain: &str,
    roots: &[CertificateDer<'static>],
    now: UnixTime,
) -> CaseResult {
    // danetest.c: SSL_CTX_dane_mtype_set(sha512, 2, ordinal 1) and
    // (sha256, 1, ordinal 2): SHA2-256 is preferred.
    let params = VerifyParams::generic(base_domain, roots.to_vec(), now)
        .with_ee_name_checks(!case.nonamechecks)
        .with_digest_preference(&[MatchingType::Sha256, MatchingType::Sha512]);
    // The corpus is test data: no DNSSEC behind it.
    let tlsa = danger::tlsa_without_dnssec(case.tlsa.clone());
    let verdict = verify(&tlsa, &case.chain, &params);
    let (mut got, mut detail) = (
        (verdict.openssl_code(), verdict.openssl_depth()),
        match verdict.outcome() {
            Ok(m) => m.certmatch_line(),
            Err(e) => e.to_string(),
        },
    );
    if let Err(DaneError::NoUsableRecords { .. }) = verdict.outcome() {
        // OpenSSL (SSL_dane_enable(3)): with no usable record, DANE is not
        // enabled and the chain is judged by ordinary PKIX rules against
        // the CA file, with the name check; no TLSA depth.
        let pkix = verify_pkix(&case.chain, &params);
        got = (
            pkix.as_ref().map_or_else(PkixError::openssl_code, |_| 0),
            -1,
        );
        detail = match pkix {
            Ok(name) => format!("no usable TLSA records; PKIX OK for {name}"),
            Err(e) => format!("no usable TLSA records; {e}"),
        };
    }
    for (record, why) in verdict.unusable() {
        detail.push_str(&format!("; unusable TLSA RR {record}: {why}"));
    }
    CaseResult {
        number: case.number,
        line: case.line,
        want: (case.want_error, case.want_depth),
        got,
        detail,
    }
}

/// Runs a whole file: `danetest BASEDOMAIN CAFILE FILE.in`.
pub fn run_file(
    base_domain: &str,
    ca_file: &Path,
    tests: &Path,
) -> Result<Vec<CaseResult>, String> {
    let read = |p: &Path| std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()));
    let roots = parse_pem_certs(&read(ca_file)?)?;
    let cases = parse(&read(tests)?).map_err(|e| format!("{}: {e}", tests.display()))?;
    let now = UnixTime::now();
    Ok(cases
        .iter()
        .map(|case| run_case(case, base_domain, &roots, now))
        .collect())
}
