//! Skipping a test whose prerequisites are absent — loudly, and never in CI.
//!
//! Two kinds of prerequisite: the lab ([`Need::Lab`]: root, the Debian
//! packages of `scripts/test.sh`, network namespaces) and the shared
//! reference data ([`Need::Shared`]: `../shared` or `$DANEBOUND_SHARED`).
//! When `DANEBOUND_REQUIRE_LAB` (resp. `DANEBOUND_REQUIRE_SHARED`) or `CI`
//! is set, [`skip`] panics instead, so a CI machine that lacks a package or
//! a folder fails rather than passing an empty test.
//!
//! A skip is written straight to the process's stderr, which the test
//! harness does not capture, so it shows in every `cargo test` run; and when
//! `DANEBOUND_SKIP_LOG` names a file, one line per skip is appended to it
//! (`scripts/test.sh` prints a summary from it).
//!
//! This file is also compiled into `resolver/tests/common` (by `#[path]`),
//! which cannot depend on this crate; it uses only `std`.

#![allow(dead_code, unreachable_pub)]

use std::io::Write;
use std::path::PathBuf;

/// What a test needs that a machine may lack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Root, the lab's Debian packages, network namespaces.
    Lab,
    /// The shared reference data (`../shared`).
    Shared,
}

impl Need {
    /// The variable that turns this skip into a failure (besides `CI`).
    pub fn variable(self) -> &'static str {
        match self {
            Self::Lab => "DANEBOUND_REQUIRE_LAB",
            Self::Shared => "DANEBOUND_REQUIRE_SHARED",
        }
    }

    /// Whether a missing prerequisite of this kind must fail the test.
    pub fn required(self) -> bool {
        [self.variable(), "CI"]
            .iter()
            .any(|var| std::env::var(var).is_ok_and(|v| !v.is_empty() && v != "0" && v != "false"))
    }
}

/// Skips `test` because `why`: reports it where a test run shows it, or
/// panics when `need` is required (CI).
pub fn skip(need: Need, test: &str, why: &str) {
    if need.required() {
        panic!(
            "{test}: {why} ({} or CI is set, so this fails instead of skipping)",
            need.variable()
        );
    }
    let line = format!(
        "SKIPPED {test}: {why} (set {} to fail instead)",
        need.variable()
    );
    // Not `eprintln!`: the test harness captures that for passing tests.
    let _ = writeln!(std::io::stderr(), "{line}");
    if let Some(log) = std::env::var_os("DANEBOUND_SKIP_LOG")
        && let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
    {
        let _ = writeln!(file, "{line}");
    }
}

/// The shared reference folder: `$DANEBOUND_SHARED`, or `../shared` beside
/// the workspace. It may not exist; see [`shared_path`].
pub fn shared_dir() -> PathBuf {
    std::env::var_os("DANEBOUND_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"))
}

/// `rel` inside the shared folder when it exists; otherwise skips `test`
/// (or fails, see [`skip`]) and returns `None`.
pub fn shared_path(test: &str, rel: &str) -> Option<PathBuf> {
    let path = shared_dir().join(rel);
    if path.exists() {
        Some(path)
    } else {
        skip(
            Need::Shared,
            test,
            &format!("{} not found ", path.display()),
        );
        None
    }
}
