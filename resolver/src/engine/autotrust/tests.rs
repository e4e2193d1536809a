//! The engine's RFC 5011 path end to end, in process: a fake root that
//! signs on demand (Ed25519), the fixed clock, probes driven by
//! `probe_trust_points`, the state file on disk, and validation through the
//! swapped anchors.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use danebound_trust_anchors::rfc5011::{DAY, KeyState};

use danebound_trust_anchors::autotrust_file;
use danebound_trust_anchors::rfc5011::{Key, Policy};

use crate::autotrust::{AutotrustConfig, TrustPoints};
use crate::clock::{Clock, FixedClock};
use crate::engine::{Resolver, Upstream, UpstreamFuture};
use crate::forward::UpstreamReply;
use crate::validator::Anchors;
use crate::validator::signature::tests::{NOW, TestKey, dnskey_rrset, name};
use crate::validator::{Outcome, RingCrypto};
use crate::wire::rdata::A;
use crate::wire::{
    DNSClass, DNSSECRData, Message, MessageType, Name, OpCode, Query, RData, Record, RecordType,
};

const KSK: u16 = 257;
const REVOKED: u16 = 257 | 0x80;

/// The root as the test sets it: which keys are published, which sign the
/// DNSKEY RRset (and the data).
#[derive(Default)]
struct Root {
    published: Vec<(u8, u16)>,
    signers: Vec<(u8, u16)>,
}

struct FakeRoot(Mutex<Root>, Mutex<Vec<(Name, RecordType)>>);

impl FakeRoot {
    fn set(&self, published: &[(u8, u16)], signers: &[(u8, u16)]) {
        let mut r = self.0.lock().unwrap();
        r.published = published.to_vec();
        r.signers = signers.to_vec();
    }

    fn answer(&self, qname: &Name, rtype: RecordType) -> Message {
        let r = self.0.lock().unwrap();
        let keys: Vec<TestKey> = r
            .published
            .iter()
            .map(|&(s, f)| TestKey::new(s, f))
            .collect();
        let refs: Vec<&TestKey> = keys.iter().collect();
        let mut m = Message::new(0, MessageType::Response, OpCode::Query);
        m.add_query(Query::query(qname.clone(), rtype));
        let set = match rtype {
            RecordType::DNSKEY if qname.is_root() => dnskey_rrset(".", &refs),
            RecordType::A => crate::validator::Rrset::new(
                qname.clone(),
                DNSClass::IN,
                3600,
                RData::A(A::new(192, 0, 2, 1)),
            ),
            _ => return m,
        };
        for rec in set.records() {
            m.add_answer(rec);
        }
        for &(s, f) in &r.signers {
            let sig = TestKey::new(s, f).sign(&set, &name("."));
            m.add_answer(Record::from_rdata(
                set.name.clone(),
                set.ttl,
                RData::DNSSEC(DNSSECRData::RRSIG(sig)),
            ));
        }
        m
    }
}

impl Upstream for FakeRoot {
    fn query<'a>(
        &'a self,
        name: &'a Name,
        rtype: RecordType,
        _class: DNSClass,
    ) -> UpstreamFuture<'a> {
        self.1.lock().unwrap().push((name.clone(), rtype));
        let message = self.answer(name, rtype);
        Box::pin(async move {
            Ok(UpstreamReply {
                message,
                server: "127.0.0.1:53".parse().unwrap(),
                tcp: false,
            })
        })
    }
}

struct Lab {
    root: Arc<FakeRoot>,
    clock: Arc<FixedClock>,
    resolver: Resolver,
    file: PathBuf,
    runtime: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

fn key(seed: u8, flags: u16) -> Key {
    let k = TestKey::new(seed, flags);
    let rec = Record::from_rdata(Name::root(), 0, k.rdata());
    Key::from_rdata(
        &danebound_trust_anchors::text::RawRecord::from_record(&rec)
            .unwrap()
            .rdata,
    )
    .unwrap()
}

fn lab(seed_file: &str) -> Lab {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("root.key");
    std::fs::write(&file, seed_file).unwrap();
    let crypto = RingCrypto::default();
    let tps = TrustPoints::load(
        std::slice::from_ref(&file),
        Anchors::new(),
        AutotrustConfig::default(),
        &crypto,
    )
    .unwrap();
    let root = Arc::new(FakeRoot(Mutex::new(Root::default()), Mutex::default()));
    let clock = Arc::new(FixedClock::new(NOW));
    let resolver = Resolver::new(
        root.clone(),
        Anchors::new(),
        Arc::new(crypto),
        clock.clone(),
    )
    .with_validation_time(Some(NOW))
    .with_trust_points(tps);
    Lab {
        root,
        clock,
        resolver,
        file,
        runtime: tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap(),
        _dir: dir,
    }
}

impl Lab {
    /// Probe whenever due, up to `until` (seconds after NOW).
    fn run_until(&self, until: u64) {
        loop {
            let next = self.runtime.block_on(self.resolver.probe_trust_points());
            // Nothing more to do (a revoked trust point), or not before `until`.
            let Some(next) = next.filter(|n| *n <= NOW + until) else {
                self.clock.set(NOW + until);
                return;
            };
            self.clock.set(next.max(self.clock.unix_now() + 1));
        }
    }

    fn state_of(&self, k: &Key) -> Option<KeyState> {
        let text = std::fs::read_to_string(&self.file).unwrap();
        let tp = autotrust_file::parse(&text, "f", &Policy::default()).unwrap();
        tp.keys()
            .iter()
            .find(|t| t.key.same_key(k))
            .map(|t| t.state)
    }

    fn rcode(&self, qname: &str) -> crate::wire::ResponseCode {
        let q = Query::query(name(qname), RecordType::A);
        self.runtime
            .block_on(self.resolver.resolve_query(&q, false))
            .rcode
    }

    fn secure(&self) -> bool {
        let q = Query::query(name("www."), RecordType::A);
        let res = self
            .runtime
            .block_on(self.resolver.resolve_query(&q, false));
        matches!(res.outcome, Outcome::Secure)
    }
}

#[test]
fn a_root_ksk_rollover_end_to_end_through_the_engine() {
    let (k1, k2) = (key(1, KSK), key(2, KSK));
    let lab = lab(&autotrust_file::dnskey_line(".", 3600, &k1));
    // K1 alone.
    lab.root.set(&[(1, KSK)], &[(1, KSK)]);
    lab.run_until(DAY);
    assert_eq!(lab.state_of(&k1), Some(KeyState::Valid));
    assert!(lab.secure());
    // K2 published: pending for the hold-down, then Valid.
    lab.root.set(&[(1, KSK), (2, KSK)], &[(1, KSK)]);
    lab.run_until(10 * DAY);
    assert_eq!(lab.state_of(&k2), Some(KeyState::AddPend));
    assert!(
        !lab.resolver
            .anchors()
            .closest(&Name::root())
            .unwrap()
            .1
            .dnskeys()
            .iter()
            .any(|d| crate::validator::key_tag(d) == k2.key_tag())
    );
    lab.run_until(45 * DAY);
    assert_eq!(lab.state_of(&k2), Some(KeyState::Valid));
    assert!(lab.secure());
    // RFC 8509 §3 sees the new key at once.
    use crate::wire::ResponseCode::{NoError, ServFail};
    let t2 = k2.key_tag();
    assert_eq!(
        lab.rcode(&format!("root-key-sentinel-is-ta-{t2:05}.")),
        NoError
    );
    assert_eq!(
        lab.rcode(&format!("root-key-sentinel-not-ta-{t2:05}.")),
        ServFail
    );
    assert_eq!(lab.rcode("root-key-sentinel-is-ta-00001."), ServFail);
    // The root signs with K2; K1 revokes itself.
    lab.root
        .set(&[(1, REVOKED), (2, KSK)], &[(1, REVOKED), (2, KSK)]);
    lab.run_until(50 * DAY);
    assert_eq!(lab.state_of(&k1), Some(KeyState::Revoked));
    assert!(lab.secure(), "validates through K2 after the swap");
    // A root signed only by K1 (revoked, so untrusted) is now bogus.
    lab.root.set(&[(1, KSK)], &[(1, KSK)]);
    assert!(!lab.secure());
    // A bogus probe (only an unknown key signs) changes nothing.
    lab.root.set(&[(2, KSK), (3, KSK)], &[(3, KSK)]);
    let before = std::fs::read_to_string(&lab.file).unwrap();
    lab.run_until(52 * DAY);
    let after = std::fs::read_to_string(&lab.file).unwrap();
    assert_eq!(before, after, "a failed probe writes nothing");
    assert_eq!(lab.state_of(&key(3, KSK)), None);
}

#[test]
fn rfc5011_section5_all_revoked_is_written_and_leaves_no_anchor() {
    let k1 = key(1, KSK);
    let lab = lab(&autotrust_file::dnskey_line(".", 3600, &k1));
    // The owner of the answer cache is told of every change of the anchors.
    let told = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = Arc::clone(&told);
    lab.resolver.on_anchor_change(Box::new(move || {
        count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }));
    lab.root.set(&[(1, KSK)], &[(1, KSK)]);
    lab.run_until(DAY);
    assert!(lab.secure());
    let before = told.load(std::sync::atomic::Ordering::Relaxed);
    lab.root
        .set(&[(1, REVOKED), (2, KSK)], &[(1, REVOKED), (2, KSK)]);
    lab.run_until(2 * DAY);
    let text = std::fs::read_to_string(&lab.file).unwrap();
    assert!(text.contains(";;REVOKED"), "{text}");
    assert!(lab.resolver.anchors().is_empty(), "as never configured");
    assert!(
        told.load(std::sync::atomic::Ordering::Relaxed) > before,
        "the answer cache's owner is told when the anchors go"
    );
    assert!(!lab.secure());
}

#[test]
fn a_reload_from_the_file_carries_on() {
    // V8 of the reference: reload from storage mid-roll, same result.
    let (k1, k2) = (key(1, KSK), key(2, KSK));
    let lab1 = lab(&autotrust_file::dnskey_line(".", 3600, &k1));
    lab1.root.set(&[(1, KSK), (2, KSK)], &[(1, KSK)]);
    lab1.run_until(20 * DAY);
    let state = std::fs::read_to_string(&lab1.file).unwrap();
    let lab2 = lab(&state);
    lab2.clock.set(NOW + 20 * DAY);
    lab2.root.set(&[(1, KSK), (2, KSK)], &[(1, KSK)]);
    lab2.run_until(29 * DAY);
    assert_eq!(lab2.state_of(&k2), Some(KeyState::AddPend));
    lab2.run_until(32 * DAY);
    assert_eq!(lab2.state_of(&k2), Some(KeyState::Valid));
}

#[test]
fn a_failed_write_keeps_the_state_and_is_retried() {
    let (k1, k2) = (key(1, KSK), key(2, KSK));
    let lab = lab(&autotrust_file::dnskey_line(".", 3600, &k1));
    lab.root.set(&[(1, KSK), (2, KSK)], &[(1, KSK)]);
    // Make the directory unwritable by replacing the file with a directory
    // (rename over a directory fails even for root).
    std::fs::remove_file(&lab.file).unwrap();
    std::fs::create_dir(&lab.file).unwrap();
    lab.run_until(300);
    assert!(lab.resolver.persist_trust_points().is_err());
    // The state in memory went on.
    let files = lab.resolver.trust_point_files();
    assert!(files[0].1.contains(";;state=1 [ ADDPEND ]"));
    // The way is clear again: the next wake writes it.
    std::fs::remove_dir(&lab.file).unwrap();
    lab.run_until(420);
    assert_eq!(lab.state_of(&k2), Some(KeyState::AddPend));
}

#[test]
fn rfc8145_section5_key_tags_are_signalled_after_a_validated_probe() {
    let k1 = key(1, KSK);
    let lab = lab(&autotrust_file::dnskey_line(".", 3600, &k1));
    lab.root.set(&[(1, KSK)], &[(1, KSK)]);
    lab.run_until(60);
    let ta = name(&format!("_ta-{:04x}.", k1.key_tag()));
    let asked = lab.root.1.lock().unwrap().clone();
    assert!(asked.contains(&(ta, RecordType::NULL)), "{asked:?}");
    // A bogus probe is not followed by a signal.
    lab.root.1.lock().unwrap().clear();
    lab.root.set(&[(3, KSK)], &[(3, KSK)]);
    lab.run_until(2 * DAY);
    let asked = lab.root.1.lock().unwrap().clone();
    assert!(
        asked
            .iter()
            .any(|(n, t)| n.is_root() && *t == RecordType::DNSKEY)
    );
    assert!(
        !asked.iter().any(|(_, t)| *t == RecordType::NULL),
        "{asked:?}"
    );
}
