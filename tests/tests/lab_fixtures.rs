//! The committed fixtures in tests/data/zones/ are what MANIFEST.md says:
//! fixed validity windows, the case zones of the lab, a DS chain from the
//! trust anchor, and signatures an independent verifier (ldns-verify-zone,
//! at the pinned date) accepts for good zones and rejects for broken ones.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use danebound_tests::lab::CASE_ZONES;
use danebound_tests::skip::{Need, skip};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/zones");
/// The date validator tests pin (README.md): inside every good window.
const PINNED_NOW: &str = "20300101000000";

/// Zones whose signatures are broken on purpose.
const BROKEN: &[&str] = &[
    "expired.example.test.",
    "notyet.example.test.",
    "tampered.example.test.",
    "wrongsigner.example.test.",
    "norrsig.example.test.",
    "nodenial.example.test.",
    "nodenial-nsec3.example.test.",
];
/// Zones that are not signed.
const UNSIGNED: &[&str] = &[
    "insecure.example.test.",
    "unsigned.nsec3.example.test.",
    "unsigned.nsec3-optout.example.test.",
];

struct Zone {
    level: u8,
    name: String,
    file: PathBuf,
}

fn zones() -> Vec<Zone> {
    let list = fs::read_to_string(Path::new(FIXTURES).join("zones.list")).expect("zones.list");
    list.lines()
        .map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            Zone {
                level: f[0].parse().expect("level"),
                name: f[1].into(),
                file: Path::new(FIXTURES).join(f[2]),
            }
        })
        .collect()
}

/// Records as whitespace-separated fields, comments dropped.
fn records(file: &Path) -> Vec<Vec<String>> {
    fs::read_to_string(file)
        .expect("zone file")
        .lines()
        .map(|l| l.split(';').next().unwrap_or(""))
        .filter(|l| !l.trim().is_empty() && !l.starts_with('$'))
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

fn program_available(name: &str) -> bool {
    Command::new(name).arg("-v").output().is_ok()
}

#[test]
fn every_case_zone_of_the_lab_is_a_fixture_and_in_the_manifest() {
    let zones = zones();
    let level3: BTreeSet<&str> = zones
        .iter()
        .filter(|z| z.level == 3)
        .map(|z| z.name.as_str())
        .collect();
    let table: BTreeSet<&str> = CASE_ZONES.iter().copied().collect();
    assert_eq!(level3, table, "zones.list and lab::CASE_ZONES differ");
    let manifest = fs::read_to_string(Path::new(FIXTURES).join("MANIFEST.md")).expect("manifest");
    for zone in &zones {
        assert!(zone.file.is_file(), "{} missing", zone.file.display());
        let file = zone.file.file_name().unwrap().to_string_lossy();
        assert!(
            manifest.contains(&format!("`{file}`")),
            "{file} not in MANIFEST.md"
        );
    }
}

#[test]
fn fixtures_are_small() {
    let total: u64 = walk(Path::new(FIXTURES))
        .iter()
        .map(|p| p.metadata().unwrap().len())
        .sum();
    assert!(total < 2_000_000, "fixtures take {total} bytes");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn every_signature_has_the_fixed_window_of_its_zone() {
    for zone in zones() {
        let (inception, expiration) = match zone.name.as_str() {
            "expired.example.test." => ("20200101000000", "20250101000000"),
            "notyet.example.test." => ("20400101000000", "20500101000000"),
            _ => ("20260101000000", "20360101000000"),
        };
        let rrsigs: Vec<Vec<String>> = records(&zone.file)
            .into_iter()
            .filter(|r| r.get(3).map(String::as_str) == Some("RRSIG"))
            .collect();
        if UNSIGNED.contains(&zone.name.as_str()) {
            assert!(rrsigs.is_empty(), "{} should be unsigned", zone.name);
            continue;
        }
        assert!(!rrsigs.is_empty(), "{} has no RRSIG", zone.name);
        for r in rrsigs {
            // owner ttl class RRSIG covered alg labels origttl EXP INC ...
            assert_eq!(
                (r[9].as_str(), r[8].as_str()),
                (inception, expiration),
                "{}: {r:?}",
                zone.name
            );
        }
    }
}

#[test]
fn ldns_verify_zone_accepts_good_fixtures_and_rejects_broken_ones() {
    if !program_available("ldns-verify-zone") {
        skip(
            Need::Lab,
            "ldns_verify_zone_accepts_good_fixtures_and_rejects_broken_ones",
            "ldns-verify-zone (ldnsutils) not installed",
        );
        return;
    }
    for zone in zones() {
        if UNSIGNED.contains(&zone.name.as_str()) {
            continue;
        }
        let out = Command::new("ldns-verify-zone")
            .args(["-t", PINNED_NOW])
            .arg(&zone.file)
            .output()
            .expect("ldns-verify-zone");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let verified = text.contains("Zone is verified and complete");
        if BROKEN.contains(&zone.name.as_str()) {
            assert!(!verified, "{} verified but is broken on purpose", zone.name);
        } else {
            assert!(
                verified,
                "{} does not verify at {PINNED_NOW}:\n{text}",
                zone.name
            );
        }
    }
}

#[test]
fn each_parent_holds_the_ds_of_its_child_from_the_trust_anchor_down() {
    if !program_available("ldns-key2ds") {
        skip(
            Need::Lab,
            "each_parent_holds_the_ds_of_its_child_from_the_trust_anchor_down",
            "ldns-key2ds (ldnsutils) not installed",
        );
        return;
    }
    let zones = zones();
    let tmp = tempfile::tempdir().expect("tempdir");
    let anchor = fs::read_to_string(Path::new(FIXTURES).join("trust-anchor.ds")).unwrap();
    for zone in &zones {
        // The DS set for this zone: in its parent, or the anchor for the root.
        let ds: BTreeSet<String> = if zone.name == "." {
            anchor.lines().map(ds_key).collect()
        } else {
            let parent = zones
                .iter()
                .filter(|p| {
                    zone.name.ends_with(&format!(".{}", p.name))
                        || (p.name == "." && zone.level == 1)
                })
                .max_by_key(|p| p.name.len())
                .expect("parent");
            records(&parent.file)
                .into_iter()
                .filter(|r| r[0] == zone.name && r[3] == "DS")
                .map(|r| ds_key(&r.join(" ")))
                .collect()
        };
        // The DS records of the zone's own KSKs (flags 257).
        let mut expected = BTreeSet::new();
        for (i, key) in records(&zone.file)
            .into_iter()
            .filter(|r| r[0] == zone.name && r[3] == "DNSKEY" && r[4] == "257")
            .enumerate()
        {
            let file = tmp.path().join(format!("k{i}.key"));
            fs::write(&file, format!("{}\n", key.join(" "))).unwrap();
            let out = Command::new("ldns-key2ds")
                .args(["-n", "-2"])
                .arg(&file)
                .output()
                .unwrap();
            expected.insert(ds_key(String::from_utf8_lossy(&out.stdout).trim()));
        }
        match zone.name.as_str() {
            "insecure.example.test."
            | "unsigned.nsec3.example.test."
            | "unsigned.nsec3-optout.example.test." => {
                assert!(ds.is_empty(), "{}: insecure delegation has a DS", zone.name)
            }
            "dsmismatch.example.test." => {
                assert_eq!(ds.len(), 1);
                assert!(ds.is_disjoint(&expected), "dsmismatch: DS matches a key");
            }
            "unknown-digest.example.test." => {
                assert!(
                    ds.iter().all(|d| d.split(' ').nth(2) == Some("100")),
                    "{ds:?}"
                )
            }
            "unknown-alg.example.test." => {
                assert!(
                    ds.iter().all(|d| d.split(' ').nth(1) == Some("100")),
                    "{ds:?}"
                )
            }
            _ => assert_eq!(ds, expected, "{}: parent DS vs child KSK", zone.name),
        }
    }
}

/// "tag alg digest-type digest" in lower case, from a DS line (BIND splits
/// long digests into several fields).
fn ds_key(line: &str) -> String {
    let f: Vec<&str> = line.split_whitespace().collect();
    let at = f.iter().position(|x| *x == "DS").expect("a DS record");
    format!(
        "{} {} {} {}",
        f[at + 1],
        f[at + 2],
        f[at + 3],
        f[at + 4..].concat()
    )
    .to_lowercase()
}
