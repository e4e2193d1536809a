//! The visible conformance corpora (`../shared/conformance`, or
//! `$DANEBOUND_SHARED/conformance`): every file parses, and every file that
//! `tests/conformance/expected-outcomes.txt` lists as PASS still passes.
//!
//! Regenerate the list after an improvement with
//! `RPL_UPDATE_EXPECTED=1 cargo test -p danebound-tests --test replay_corpus`.
//! That never lowers the bar silently: while a file listed PASS fails, the
//! list is not rewritten and the test fails, unless
//! `RPL_ACCEPT_REGRESSIONS=<file>,<file>…` names every such file (a
//! deliberate, reviewed change, e.g. a new policy divergence).
//! Files that must fail by policy go to `tests/conformance/DIVERGENCES.md`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use danebound_tests::replay::engine::EngineUnderTest;
use danebound_tests::replay::{
    Profile, ScenarioConfig, Verdict, collect_files, dialect_for_path, parse_scenario_as, run_file,
};
use danebound_tests::skip;

const SUITES: &[&str] = &["deckard", "domain-fwd", "unbound-autotrust"];

/// The shared folder holding `conformance/`; `None` after a skip.
fn shared_dir(test: &str) -> Option<PathBuf> {
    skip::shared_path(test, "conformance").map(|_| skip::shared_dir())
}

/// The resolver under test: danebound's engine behind the whole `serve`
/// pipeline, recursive or forwarding as the scenario says.
fn make_resolver(config: &ScenarioConfig) -> Result<EngineUnderTest, String> {
    EngineUnderTest::new(config)
}

fn corpus_files(shared: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    for suite in SUITES {
        for f in collect_files(&[shared.join("conformance").join(suite)]) {
            let name = format!(
                "{suite}/{}",
                f.file_name().unwrap_or_default().to_string_lossy()
            );
            out.push((name, f));
        }
    }
    out
}

#[test]
fn every_scenario_parses() {
    let Some(shared) = shared_dir("every_scenario_parses") else {
        return;
    };
    let files = corpus_files(&shared);
    let mut errors = Vec::new();
    let mut by_dialect = BTreeMap::new();
    for (name, path) in &files {
        let text = String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned();
        match std::panic::catch_unwind(|| parse_scenario_as(&text, dialect_for_path(path))) {
            Ok(Ok(s)) => *by_dialect.entry(s.config.dialect.to_string()).or_insert(0) += 1,
            Ok(Err(e)) => errors.push(format!("{name}: {e}")),
            Err(_) => errors.push(format!("{name}: PANIC")),
        }
    }
    eprintln!(
        "{} files parsed, by dialect {by_dialect:?}",
        files.len() - errors.len()
    );
    for e in &errors {
        eprintln!("  parse error: {e}");
    }
    assert!(files.len() > 100, "only {} files found", files.len());
    assert!(errors.is_empty(), "{} files failed to parse", errors.len());
}

#[test]
fn expected_outcomes_hold() {
    let Some(shared) = shared_dir("expected_outcomes_hold") else {
        return;
    };
    let list_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance/expected-outcomes.txt");
    let list = std::fs::read_to_string(&list_path).unwrap_or_default();
    let expected: BTreeMap<&str, &str> = list
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            Some((w.next()?, w.next()?))
        })
        .collect();
    let mut now = BTreeMap::new();
    let mut regressions = Vec::new();
    let mut skipped = BTreeMap::<String, usize>::new();
    for (name, path) in corpus_files(&shared) {
        let report = run_file(
            &path,
            dialect_for_path(&path),
            Profile::Semantic,
            make_resolver,
        );
        let label = report.verdict.label();
        if let Verdict::Skip(reason) = &report.verdict {
            *skipped.entry(reason.clone()).or_default() += 1;
        }
        if expected.get(name.as_str()) == Some(&"PASS") && label != "PASS" {
            regressions.push(format!("{name}: {}", report.verdict));
        }
        now.insert(name, label);
    }
    let count = |l: &str| now.values().filter(|v| **v == l).count();
    eprintln!(
        "semantic profile: {} passed, {} failed, {} skipped",
        count("PASS"),
        count("FAIL"),
        count("SKIP")
    );
    for (reason, n) in &skipped {
        eprintln!("  {n} skipped: {reason}");
    }
    let accepted = accepted_regressions();
    let unaccepted: Vec<&String> = regressions
        .iter()
        .filter(|r| {
            !accepted
                .iter()
                .any(|a| r.split(':').next() == Some(a.as_str()))
        })
        .collect();
    if std::env::var_os("RPL_UPDATE_EXPECTED").is_some() && unaccepted.is_empty() {
        let mut text = String::from(
            "# Expected outcomes of the visible corpora under the semantic profile.\n\
             # A file listed PASS must keep passing (tests/tests/replay_corpus.rs).\n\
             # Regenerate: RPL_UPDATE_EXPECTED=1 cargo test -p danebound-tests --test replay_corpus\n",
        );
        for (name, label) in &now {
            text.push_str(&format!("{name} {label}\n"));
        }
        std::fs::write(&list_path, text).unwrap();
    }
    assert!(
        unaccepted.is_empty(),
        "files that passed now fail (the expected list was not rewritten; name them in \
         RPL_ACCEPT_REGRESSIONS to accept the change):\n{}",
        unaccepted
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
    check_divergences(&now);
}

/// The files named in `RPL_ACCEPT_REGRESSIONS` (comma-separated, as listed
/// in `expected-outcomes.txt`): regressions a reviewer accepted.
fn accepted_regressions() -> Vec<String> {
    std::env::var("RPL_ACCEPT_REGRESSIONS")
        .unwrap_or_default()
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// `DIVERGENCES.md` names the files that fail, with the reason: each listed
/// file must fail, and every failing forwarding scenario (`domain-fwd`) and
/// recursive Deckard scenario must be listed.
fn check_divergences(now: &BTreeMap<String, &str>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance/DIVERGENCES.md");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let listed: Vec<String> = text
        .lines()
        .filter(|l| l.starts_with("| `"))
        .filter_map(|l| l.split('`').nth(1).map(str::to_string))
        .collect();
    for name in &listed {
        assert_eq!(
            now.get(name.as_str()).copied(),
            Some("FAIL"),
            "{name} is listed in DIVERGENCES.md but does not fail: remove it"
        );
    }
    for (name, label) in now {
        let covered = name.starts_with("domain-fwd/") || name.starts_with("deckard/");
        if covered && *label == "FAIL" {
            assert!(
                listed.contains(name),
                "{name} fails but is not a documented divergence: fix the resolver"
            );
        }
    }
}

/// Counts the mock replies hickory cannot decode (deliberately broken test
/// data such as DNSKEY protocol 2). Informational: the engine must treat
/// them as undecodable upstream replies.
#[test]
fn replies_hickory_refuses_are_counted() {
    let Some(shared) = shared_dir("replies_hickory_refuses_are_counted") else {
        return;
    };
    let (mut total, mut refused) = (0, Vec::new());
    for (name, path) in corpus_files(&shared) {
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        let Ok(s) = parse_scenario_as(&text, dialect_for_path(&path)) else {
            continue;
        };
        for r in &s.ranges {
            for e in &r.entries {
                for p in e.packets.iter().filter(|p| p.raw.is_none()) {
                    total += 1;
                    if let Err(err) = p.packet.to_message() {
                        refused.push(format!("{name}:{}: {err}", e.line));
                    }
                }
            }
        }
    }
    eprintln!("{total} mock replies, {} refused by hickory", refused.len());
    for r in &refused {
        eprintln!("  {r}");
    }
    assert!(total > 1000);
}
