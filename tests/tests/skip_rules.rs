//! The skip rules themselves (`danebound_tests::skip`): a test whose
//! prerequisite is absent skips visibly on a developer machine and fails
//! when `CI`, `DANEBOUND_REQUIRE_LAB` or `DANEBOUND_REQUIRE_SHARED` is set.
//!
//! Each case re-runs this test binary on [`absent_shared_data`] or
//! [`absent_lab_package`] (ignored by default: they exist to be run here)
//! with a chosen environment.

use std::process::{Command, Output};

use danebound_tests::skip::{Need, shared_path, skip};

const REQUIRE_VARS: &[&str] = &["CI", "DANEBOUND_REQUIRE_LAB", "DANEBOUND_REQUIRE_SHARED"];

/// Runs the ignored test `name` of this binary with `env` set (and every
/// require variable not in `env` removed).
fn run_child(name: &str, env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(std::env::current_exe().expect("test binary"));
    command.args(["--ignored", "--exact", name, "--test-threads=1"]);
    for var in REQUIRE_VARS {
        command.env_remove(var);
    }
    command.env_remove("DANEBOUND_SKIP_LOG");
    command.env("DANEBOUND_SHARED", "/nonexistent/danebound-shared");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("run the test binary")
}

#[test]
#[ignore = "run by the skip rule tests with a chosen environment"]
fn absent_shared_data() {
    assert!(shared_path("absent_shared_data", "conformance").is_none());
}

#[test]
#[ignore = "run by the skip rule tests with a chosen environment"]
fn absent_lab_package() {
    skip(Need::Lab, "absent_lab_package", "no such package");
}

#[test]
fn a_missing_shared_folder_skips_visibly_on_a_developer_machine() {
    let log = tempfile::NamedTempFile::new().expect("temp file");
    let log_path = log.path().to_str().expect("utf-8 path").to_owned();
    let out = run_child("absent_shared_data", &[("DANEBOUND_SKIP_LOG", &log_path)]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // Shown without --nocapture: the harness does not capture it.
    assert!(
        stderr.contains("SKIPPED absent_shared_data")
            && stderr.contains("DANEBOUND_REQUIRE_SHARED"),
        "{stderr}"
    );
    let logged = std::fs::read_to_string(log.path()).expect("skip log");
    assert_eq!(logged.lines().count(), 1, "{logged}");
}

#[test]
fn a_missing_shared_folder_fails_when_required() {
    for var in ["CI", "DANEBOUND_REQUIRE_SHARED"] {
        let out = run_child("absent_shared_data", &[(var, "1")]);
        assert!(!out.status.success(), "{var}=1 did not fail the test");
    }
    // The lab's variable does not require the shared data.
    let out = run_child("absent_shared_data", &[("DANEBOUND_REQUIRE_LAB", "1")]);
    assert!(out.status.success());
}

#[test]
fn a_missing_lab_package_fails_when_required() {
    for var in ["CI", "DANEBOUND_REQUIRE_LAB"] {
        let out = run_child("absent_lab_package", &[(var, "1")]);
        assert!(!out.status.success(), "{var}=1 did not fail the test");
    }
    let out = run_child("absent_lab_package", &[("CI", "0")]);
    assert!(out.status.success(), "CI=0 is not CI");
}
