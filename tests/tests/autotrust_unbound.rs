//! The state files danebound writes are ones unbound accepts: each is
//! loaded by `unbound-checkconf` as an `auto-trust-anchor-file` (unbound's
//! own reader, `autr_read_file`), and a damaged one is refused, so the check
//! can fail. Skips without unbound unless `CI` or `DANEBOUND_REQUIRE_LAB`.

use std::process::Command;

use danebound_trust_anchors::autotrust_file;
use danebound_trust_anchors::rfc5011::{DAY, Key, Observation, Policy, TrustPoint};
use danebound_trust_anchors::root::ROOT_KEYS;

fn root_key(i: usize) -> Key {
    let k = ROOT_KEYS[i];
    Key::new(k.flags, 3, k.algorithm, k.public_key())
}

fn checkconf(dir: &std::path::Path, contents: &str) -> Option<(bool, String)> {
    let file = dir.join("root.key");
    std::fs::write(&file, contents).unwrap();
    let conf = dir.join("unbound.conf");
    std::fs::write(
        &conf,
        format!(
            "server:\n  auto-trust-anchor-file: \"{}\"\n  chroot: \"\"\n  username: \"\"\n  directory: \"{}\"\n  pidfile: \"\"\n",
            file.display(),
            dir.display()
        ),
    )
    .unwrap();
    let out = Command::new("unbound-checkconf").arg(&conf).output().ok()?;
    Some((
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout),
    ))
}

#[test]
fn unbound_accepts_every_file_we_write() {
    let dir = tempfile::tempdir().unwrap();
    let Some((ok, text)) = checkconf(dir.path(), "garbage\n") else {
        return danebound_tests::skip::skip(
            danebound_tests::skip::Need::Lab,
            "unbound_accepts_every_file_we_write",
            "unbound-checkconf is not installed (scripts/test.sh installs unbound)",
        );
    };
    assert!(!ok, "unbound must refuse a damaged file: {text}");

    let t0 = 1_795_852_800;
    let obs = |keys: Vec<Key>, signers: Vec<Key>, revoked: Vec<Key>| Observation {
        rrset: keys.into_iter().chain(revoked.iter().cloned()).collect(),
        unsupported: vec![],
        verified_by: signers,
        revoked_self_signed: revoked,
        orig_ttl: 172_800,
        sig_expiration: t0 + 20 * DAY,
    };
    let (a, b) = (root_key(0), root_key(1));
    let mut tp = TrustPoint::new(".").unwrap();
    tp.add_configured_key(a.clone(), 172_800, 0);
    let mut files = vec![("configured", autotrust_file::write(&tp))];
    tp.on_observation(
        t0,
        &obs(vec![a.clone(), b.clone()], vec![a.clone()], vec![]),
        &Policy::default(),
        0,
    );
    files.push(("pending", autotrust_file::write(&tp)));
    tp.on_observation(
        t0 + 31 * DAY,
        &obs(vec![a.clone(), b.clone()], vec![a.clone()], vec![]),
        &Policy::default(),
        0,
    );
    tp.on_observation(
        t0 + 40 * DAY,
        &obs(vec![b.clone()], vec![b.clone()], vec![a.revoked()]),
        &Policy::default(),
        0,
    );
    files.push(("rolled, one revoked", autotrust_file::write(&tp)));
    tp.on_observation(
        t0 + 41 * DAY,
        &obs(vec![], vec![], vec![b.revoked()]),
        &Policy::default(),
        0,
    );
    assert!(tp.is_revoked());
    files.push(("all revoked", autotrust_file::write(&tp)));
    // A DS-only seed (plain RR list).
    let mut seed = TrustPoint::new(".").unwrap();
    seed.add_configured_ds(danebound_trust_anchors::rfc5011::DsAnchor {
        key_tag: 20326,
        algorithm: 8,
        digest_type: 2,
        digest: data_encoding::HEXUPPER
            .decode(ROOT_KEYS[0].ds_sha256_hex.as_bytes())
            .unwrap(),
    });
    files.push(("DS seed", autotrust_file::write(&seed)));
    for (what, contents) in files {
        let (ok, text) = checkconf(dir.path(), &contents).unwrap();
        assert!(ok, "unbound refused our {what} file:\n{contents}\n{text}");
    }
}
