//! `danetest BASEDOMAIN CAFILE FILE.in`: replays an OpenSSL DANE test file
//! (same interface and semantics as OpenSSL's `test/danetest.c`). Prints a
//! line per case and last `N passed, N failed`; exits 1 on any failure.

use std::path::Path;
use std::process::ExitCode;

use danebound_tests::danetest;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, base_domain, ca_file, tests] = &args[..] else {
        eprintln!("usage: danetest BASEDOMAIN CAFILE FILE.in");
        return ExitCode::from(2);
    };
    let results = match danetest::run_file(base_domain, Path::new(ca_file), Path::new(tests)) {
        Ok(results) => results,
        Err(e) => {
            eprintln!("danetest: {e}");
            return ExitCode::from(2);
        }
    };
    for r in &results {
        println!("{r}");
    }
    let passed = results.iter().filter(|r| r.passed()).count();
    let failed = results.len() - passed;
    println!("{passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
