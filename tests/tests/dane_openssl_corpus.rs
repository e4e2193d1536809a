//! OpenSSL's DANE corpus (`danetest.in`, `dane-cross.in`) through the
//! `danetest` driver logic: every case must give OpenSSL's (error, depth).
//!
//! Reads the files from `$DANEBOUND_SHARED/vectors/openssl-dane/`, by
//! default `../shared` beside the repository; skips (with a message) when
//! that folder is absent, fails instead when `CI` or `DANEBOUND_REQUIRE_SHARED` is set. The files are not copied into the repository.

use danebound_tests::{danetest, skip};

fn replay(base_domain: &str, ca_file: &str, tests: &str, expected_cases: usize) {
    let Some(dir) = skip::shared_path(tests, "vectors/openssl-dane") else {
        return;
    };
    let results = danetest::run_file(base_domain, &dir.join(ca_file), &dir.join(tests))
        .unwrap_or_else(|e| panic!("{tests}: {e}"));
    let failures: Vec<String> = results
        .iter()
        .filter(|r| !r.passed())
        .map(ToString::to_string)
        .collect();
    assert_eq!(results.len(), expected_cases, "{tests}: case count");
    assert!(failures.is_empty(), "{tests}:\n{}", failures.join("\n"));
}

#[test]
fn openssl_danetest_in_all_54_cases_match() {
    replay("example.com", "danetest.pem", "danetest.in", 54);
}

#[test]
fn openssl_dane_cross_in_does_not_build_past_the_ta() {
    replay("server.example", "cross-root.pem", "dane-cross.in", 1);
}
