//! A root KSK rollover end to end (issue 9): real NSD serving a root zone
//! re-signed by ldns-signzone at each phase of an RFC 5011 prepublish roll,
//! `danebound serve` managing the root anchor in unbound's file format with
//! shortened hold-downs, and unbound with the same hold-downs as the
//! reference. Names keep validating (AD=1) throughout; `kill -9` in the
//! middle keeps the state; a second danebound whose hold-down has not run
//! out when K1 is revoked never trusts K2.
//!
//! Needs root and nsd, unbound, ldnsutils; skips otherwise unless `CI` or
//! `DANEBOUND_REQUIRE_LAB` is set.

use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use danebound_tests::e2e::danebound_binary;
use danebound_tests::lab::rollover::{Phase, Process, RolloverRoot};
use danebound_tests::lab::{QueryOptions, query};
use danebound_trust_anchors::autotrust_file;
use danebound_trust_anchors::rfc5011::{Key, KeyState, Policy, TrustPoint};
use hickory_proto::rr::RecordType;

const HOLDDOWN: u64 = 20;

fn read(path: &Path) -> Option<TrustPoint> {
    let text = fs::read_to_string(path).ok()?;
    autotrust_file::parse(&text, &path.display().to_string(), &Policy::default()).ok()
}

fn state(path: &Path, key: &Key) -> Option<KeyState> {
    read(path)?
        .keys()
        .iter()
        .find(|t| t.key.same_key(key))
        .map(|t| t.state)
}

fn wait_for(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// AD=1 on `www.` A through `server`.
fn validates(server: SocketAddr) -> bool {
    let options = QueryOptions {
        timeout: Duration::from_secs(2),
        ..QueryOptions::default()
    };
    query(server, "www.", RecordType::A, &options).is_ok_and(|r| r.ad())
}

struct Resolver {
    name: &'static str,
    host: u8,
    file: PathBuf,
    process: Option<Process>,
}

impl Resolver {
    fn addr(&self, root: &RolloverRoot) -> SocketAddr {
        SocketAddr::new(root.address(self.host).into(), 53)
    }
}

fn start_danebound(root: &RolloverRoot, bin: &Path, r: &mut Resolver) {
    let config = root.dir().join(format!("{}.toml", r.name));
    fs::write(
        &config,
        // `user = ""`: stay root, so that the state files in the lab's
        // (root-owned) directory stay writable; a host with a `danebound`
        // user would otherwise drop to it.
        format!(
            "user = \"\"\n[autotrust]\nadd_holddown = \"{HOLDDOWN}s\"\nremove_holddown = \"{HOLDDOWN}s\"\n\
             probe_interval = \"1s\"\ntrust_anchor_signaling = false\n"
        ),
    )
    .unwrap();
    let listen = r.addr(root).to_string();
    let upstream = root.server().to_string();
    let args = [
        "serve",
        "--config",
        config.to_str().unwrap(),
        "--listen",
        &listen,
        "--forward",
        &upstream,
        "--auto-trust-anchor",
        r.file.to_str().unwrap(),
        "--no-default-local-zones",
        "--log-level",
        "info",
    ];
    r.process = Some(
        root.spawn(r.name, r.host, bin.to_str().unwrap(), &args)
            .unwrap(),
    );
}

fn start_unbound(root: &RolloverRoot, r: &mut Resolver) {
    let conf = root.dir().join("unbound.conf");
    let addr = root.address(r.host);
    fs::write(
        &conf,
        format!(
            "server:\n  interface: {addr}\n  port: 53\n  num-threads: 1\n  username: \"\"\n  \
             chroot: \"\"\n  directory: \"{dir}\"\n  pidfile: \"\"\n  use-syslog: no\n  \
             verbosity: 1\n  access-control: 127.0.0.0/8 allow\n  do-not-query-localhost: no\n  \
             so-reuseport: no\n  qname-minimisation: no\n  target-fetch-policy: \"0 0 0 0 0\"\n  \
             auto-trust-anchor-file: \"{file}\"\n  add-holddown: {HOLDDOWN}\n  del-holddown: {HOLDDOWN}\n  \
             permit-small-holddown: yes\n  trust-anchor-signaling: no\n  \
             msg-cache-size: 1m\n  rrset-cache-size: 1m\n  cache-max-ttl: 1\n\
             stub-zone:\n  name: \".\"\n  stub-addr: {ns}\n\
             remote-control:\n  control-enable: no\n",
            dir = root.dir().display(),
            file = r.file.display(),
            ns = root.address(1),
        ),
    )
    .unwrap();
    r.process = Some(
        root.spawn(
            "unbound",
            r.host,
            "unbound",
            &["-d", "-c", conf.to_str().unwrap()],
        )
        .unwrap(),
    );
}

#[test]
fn a_root_ksk_rollover_with_real_nsd_and_unbound_as_reference() {
    let Some(mut root) = RolloverRoot::start_or_skip("lab_rollover") else {
        return;
    };
    let bin = danebound_binary().unwrap();
    let (k1, k2) = (root.key(1), root.key(2));
    let seed = format!("{}\n", root.seed_line(1));
    let resolver = |name, host| {
        let file = root.dir().join(format!("{name}.key"));
        fs::write(&file, &seed).unwrap();
        Resolver {
            name,
            host,
            file,
            process: None,
        }
    };
    let mut a = resolver("danebound-a", 20);
    let mut b = resolver("danebound-b", 21);
    let mut u = resolver("unbound", 22);
    let limit = Duration::from_secs(HOLDDOWN * 4);

    // K1 signs. Both resolvers take it up from the seed.
    start_danebound(&root, &bin, &mut a);
    start_unbound(&root, &mut u);
    wait_for("A's first probe", limit, || {
        read(&a.file).is_some_and(|t| t.timers.last_success > 0)
    });
    assert_eq!(state(&a.file, &k1), Some(KeyState::Valid));
    assert!(validates(a.addr(&root)));

    // `anchor bootstrap` checks the live root before writing: the built-in
    // (real root) keys do not validate the lab's root, so nothing is
    // written and the exit is 2; an RFC 9718 file naming K1 does (exit 1).
    let bootstrap = |file: &Path, extra: &[&str]| {
        let upstream = root.server().to_string();
        let mut args = vec![
            "anchor",
            "bootstrap",
            file.to_str().unwrap(),
            "--forward",
            &upstream,
        ];
        args.extend(extra);
        let out = std::process::Command::new(&bin)
            .args(&args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let fresh = root.dir().join("bootstrap.key");
    let (code, err) = bootstrap(&fresh, &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("does not validate"), "{err}");
    assert!(!fresh.exists());
    let xml = root.dir().join("root-anchors.xml");
    fs::write(&xml, root.root_anchors_xml().unwrap()).unwrap();
    let (code, err) = bootstrap(&fresh, &["--xml", xml.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(state(&fresh, &k1), Some(KeyState::Valid));

    // K2 published: pending in both.
    root.set_phase(Phase::K2Published).unwrap();
    wait_for("K2 pending at A", limit, || {
        state(&a.file, &k2) == Some(KeyState::AddPend)
    });
    assert!(validates(a.addr(&root)));
    // kill -9 and a restart keep the state: the hold-down goes on.
    let before = read(&a.file).unwrap();
    a.process.take().unwrap().kill_hard();
    let after = read(&a.file).expect("a complete, readable file after kill -9");
    assert_eq!(after.keys(), before.keys());
    start_danebound(&root, &bin, &mut a);
    assert!(validates(a.addr(&root)));
    wait_for("K2 valid at A", limit, || {
        state(&a.file, &k2) == Some(KeyState::Valid)
    });
    wait_for("K2 valid at unbound", limit, || {
        state(&u.file, &k2) == Some(KeyState::Valid)
    });

    // B starts now: its hold-down for K2 has just begun.
    start_danebound(&root, &bin, &mut b);
    wait_for("K2 pending at B", limit, || {
        state(&b.file, &k2) == Some(KeyState::AddPend)
    });

    // K1 is revoked (signed by itself) and K2 signs.
    root.set_phase(Phase::K1Revoked).unwrap();
    wait_for("K1 revoked at A", limit, || {
        state(&a.file, &k1) == Some(KeyState::Revoked)
    });
    assert!(validates(a.addr(&root)), "A validates through K2");
    wait_for("K1 revoked at unbound", limit, || {
        state(&u.file, &k1) == Some(KeyState::Revoked)
    });
    // B trusted only K1: with K1 revoked before its hold-down ran out it
    // has no anchor left (RFC 5011 §5) and never trusts K2 early.
    wait_for("K1 revoked at B", limit, || {
        read(&b.file).is_some_and(|t| t.is_revoked())
    });
    assert_ne!(state(&b.file, &k2), Some(KeyState::Valid));
    assert!(!validates(b.addr(&root)), "B has no anchor: no AD");

    // The reference agrees on every key's state.
    let states = |f: &Path| {
        let mut s: Vec<(u16, KeyState)> = read(f)
            .unwrap()
            .keys()
            .iter()
            .map(|t| (t.key.unrevoked().key_tag(), t.state))
            .collect();
        s.sort();
        s
    };
    assert_eq!(
        states(&a.file),
        states(&u.file),
        "danebound and unbound disagree"
    );

    // K1 is gone; K2 signs alone: still validating.
    root.set_phase(Phase::K2Alone).unwrap();
    std::thread::sleep(Duration::from_secs(3));
    assert!(validates(a.addr(&root)));
    assert_eq!(state(&a.file, &k2), Some(KeyState::Valid));
    assert_ne!(state(&b.file, &k2), Some(KeyState::Valid));
}
