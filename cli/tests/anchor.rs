//! `danebound anchor show` and `anchor bootstrap` as a user runs them.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_danebound");

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn shared(path: &str) -> Option<std::path::PathBuf> {
    let base = std::env::var("DANEBOUND_SHARED").unwrap_or_else(|_| "../../shared".into());
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(base)
        .join(path);
    p.exists().then_some(p)
}

#[test]
fn bootstrap_exits_like_unbound_anchor_and_show_reads_the_result() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("root.key");
    let f = file.to_str().unwrap();
    let (code, out, err) = run(&["anchor", "bootstrap", f, "--no-fetch"]);
    assert_eq!(code, 1, "written: {out}{err}");
    let (code, out, _) = run(&["anchor", "bootstrap", f, "--no-fetch"]);
    assert_eq!(code, 0, "nothing changed: {out}");
    let (code, out, _) = run(&["anchor", "show", f]);
    assert_eq!(code, 0);
    assert!(out.contains("trust point ."), "{out}");
    assert!(
        out.contains("key 20326 RSASHA256 (8), valid, trusted"),
        "{out}"
    );
    assert!(
        out.contains("key 38696 RSASHA256 (8), valid, trusted"),
        "{out}"
    );
    let (code, out, _) = run(&["anchor", "show", f, "--json"]);
    assert_eq!(code, 0);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["trust_point"], ".");
    assert_eq!(doc["keys"][1]["key_tag"], 38696);
    assert_eq!(doc["keys"][1]["state"], "valid");
}

#[test]
fn a_damaged_file_is_named_by_show_and_repaired_by_bootstrap() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("root.key");
    let f = file.to_str().unwrap();
    std::fs::write(
        &file,
        "; autotrust trust anchor file\n;;id: . 1\n;;last_queried: 12\n",
    )
    .unwrap();
    let (code, _, err) = run(&["anchor", "show", f]);
    assert_eq!(code, 1);
    assert!(err.contains(f) && err.contains("no DNSKEY or DS"), "{err}");
    let (code, _, err) = run(&["anchor", "bootstrap", f, "--no-fetch"]);
    assert_eq!(code, 1, "{err}");
    let (code, _, _) = run(&["anchor", "show", f]);
    assert_eq!(code, 0);
    // An error is ≥ 2.
    let (code, _, err) = run(&["anchor", "bootstrap", f, "--xml", "/nonexistent.xml"]);
    assert_eq!(code, 0, "the repaired file is in order: {err}");
    let other = dir.path().join("other.key");
    let (code, _, err) = run(&[
        "anchor",
        "bootstrap",
        other.to_str().unwrap(),
        "--xml",
        "/nonexistent.xml",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(!other.exists());
}

#[test]
fn bootstrap_from_iana_xml_keeps_only_the_entries_valid_now() {
    let Some(xml) = shared("root-anchors/root-anchors.xml") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "../shared/root-anchors is required"
        );
        eprintln!("skipped: ../shared/root-anchors absent");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("root.key");
    let f = file.to_str().unwrap();
    let (code, out, err) = run(&[
        "anchor",
        "bootstrap",
        f,
        "--xml",
        xml.to_str().unwrap(),
        "--no-fetch",
    ]);
    assert_eq!(code, 1, "{out}{err}");
    let (_, out, _) = run(&["anchor", "show", f]);
    assert!(
        out.contains("key 20326") && out.contains("key 38696"),
        "{out}"
    );
    assert!(!out.contains("19036"), "KSK-2010 expired in 2019: {out}");
}
