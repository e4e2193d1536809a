//! Issue 11's attack zones in the lab (`tests/src/lab/attack.rs`): KeyTrap,
//! a DS flood, NSEC3 with 2,500 iterations, a 62 KB DNSKEY set, a deep CNAME
//! chain and (recursive mode) an NXNS delegation, asked of danebound
//! forwarding to the lab's unbound and recursing from the lab's root.
//!
//! For each attack query: the RFC outcome (SERVFAIL with the EDE that says
//! why, insecure with EDE 27, or secure), the validation work its sessions
//! counted (`stats`: signature verifications, DS digests, NSEC3 hashes)
//! within the per-session budget (`validator::Limits`), the upstream queries
//! it caused bounded, and a cached name answered from the cache after each
//! attack and while a thread sends attack queries. Counted work, never
//! timings. `--nocapture` prints the figures.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use danebound_resolver::stats::{self, Snapshot};
use danebound_resolver::validator::Limits;
use danebound_tests::lab::attack::{ATTACKS, DSFLOOD_DS};
use danebound_tests::lab::{Danebound, Keys, Lab, LabOptions, QueryOptions, Reply};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

/// The counters are process-wide: one test at a time reads them.
static SERIAL: Mutex<()> = Mutex::new(());

/// The cached name asked between and during attacks.
const CACHED: &str = "www.example.test.";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Forwarding,
    Recursive,
}

/// What an attack query must get: rcode, AD, EDE.
fn expected(attack: &str, mode: Mode) -> Option<(ResponseCode, bool, Option<u16>)> {
    Some(match attack {
        // RFC 4035 §5.3.3 / RFC 8914 §4.7: no RRSIG over www A verifies;
        // the budget stops trying at max_failed_verifications (16), not
        // after 101 keys × 50 RRSIGs.
        "keytrap" => (ResponseCode::ServFail, false, Some(6)),
        // RFC 4035 §5.2: no DNSKEY matches any DS: EDE 9 (DNSKEY Missing).
        "dsflood" => (ResponseCode::ServFail, false, Some(9)),
        // RFC 9276 §3.2 / RFC 8914 §4.28: iterations over 150 → insecure.
        "nsec3-2500" => (ResponseCode::NXDomain, false, Some(27)),
        // A good zone whose DNSKEY answer needs TCP: secure.
        "bigkey" => (ResponseCode::NoError, true, None),
        // Longer than the chain limit (16 links in the validator, 11
        // restarts in unbound and the iterator).
        // unbound (the forwarding upstream) gives up itself: EDE 22 says
        // no upstream answered usably.
        "cnamedeep" if mode == Mode::Forwarding => (ResponseCode::ServFail, false, Some(22)),
        // Recursing: the validator's chain limit (EDE 6) when one answer
        // carries the chain, the iterator's restart budget (EDE 0, "resolution
        // budget exhausted") when it is followed from the cache.
        "cnamedeep" => (ResponseCode::ServFail, false, None),
        // Recursive only: no NS name resolves (EDE 22, No Reachable
        // Authority); the NX target budget stops the lookups.
        "nxnsflood" if mode == Mode::Recursive => (ResponseCode::ServFail, false, Some(22)),
        _ => return None,
    })
}

fn ask(lab: &Lab, danebound: &Danebound, name: &str) -> Reply {
    let options = QueryOptions {
        timeout: Duration::from_secs(15),
        ..QueryOptions::default()
    };
    lab.query_with(danebound.addr(), name, RecordType::A, &options)
        .unwrap_or_else(|e| panic!("{name}: no answer: {e}"))
}

fn delta(after: &Snapshot, before: &Snapshot) -> (u64, u64, u64, u64, u64) {
    (
        after.work.sessions - before.work.sessions,
        after.work.verifications - before.work.verifications,
        after.work.digests - before.work.digests,
        after.work.nsec3_hashes - before.work.nsec3_hashes,
        after.upstream_queries - before.upstream_queries,
    )
}

fn run(mode: Mode) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let options = LabOptions {
        keys: Keys::Fixtures,
        oracle: false,
        upstream: mode == Mode::Forwarding,
        attack_zones: true,
        ..LabOptions::default()
    };
    let Some(lab) = Lab::start_with_or_skip(&format!("lab_attack ({mode:?})"), options) else {
        return;
    };
    let host = if mode == Mode::Forwarding { 30 } else { 31 };
    let mut config = match mode {
        Mode::Forwarding => {
            Danebound::lab_config(&lab, lab.address(host), lab.upstream().expect("upstream"))
        }
        Mode::Recursive => Danebound::lab_recursive_config(&lab, lab.address(host)),
    };
    config.workers = 2;
    let danebound = Danebound::start(config).expect("danebound starts");
    let limits = Limits::default();

    let cached = ask(&lab, &danebound, CACHED);
    assert_eq!(
        cached.rcode(),
        ResponseCode::NoError,
        "{CACHED}: {cached:?}"
    );
    assert!(cached.ad(), "{CACHED} is secure");

    for attack in ATTACKS {
        let Some((rcode, ad, ede)) = expected(attack.name, mode) else {
            continue;
        };
        // Twice, then a new name under the zone (past the answer cache
        // and RFC 9520's failure cache, as an attacker would ask).
        for round in 1..=3 {
            let qname = if round == 3 {
                format!("fresh{round}.{}", attack.zone)
            } else {
                attack.qname.to_owned()
            };
            let (rcode, ad, ede) = match (attack.name, round) {
                // A new name in the good zone: NXDOMAIN, proven by NSEC.
                ("bigkey", 3) => (ResponseCode::NXDomain, true, None),
                _ => (rcode, ad, ede),
            };
            let before = stats::global().snapshot();
            let sent_before = lab.authoritative_queries().expect("NSD counts");
            let reply = ask(&lab, &danebound, &qname);
            let after = stats::global().snapshot();
            let authoritative = lab.authoritative_queries().expect("NSD counts") - sent_before;
            let (sessions, verifications, digests, hashes, upstream) = delta(&after, &before);
            eprintln!(
                "{mode:?} {} round {round}: {} AD={} EDE {:?} {:?}; sessions {sessions}, \
                 verifications {verifications}, DS digests {digests}, NSEC3 hashes {hashes}, \
                 upstream queries {upstream}, queries at the authoritatives {authoritative}",
                attack.name,
                reply.rcode(),
                reply.ad(),
                reply.ede_code(),
                reply.ede().first().map(|e| e.text.clone()),
            );
            let what = format!("{mode:?} {} ({}) round {round}", attack.name, attack.about);
            assert_eq!(reply.rcode(), rcode, "{what}: {reply:?}");
            assert_eq!(reply.ad(), ad, "{what}: AD");
            if let Some(code) = ede {
                assert_eq!(reply.ede_code(), Some(code), "{what}: {:?}", reply.ede());
            } else if rcode == ResponseCode::ServFail {
                assert!(reply.ede_code().is_some(), "{what}: a SERVFAIL says why");
            }
            // Every session stays within its budget; one client query
            // runs a few sessions at most (one, and a retry avoiding the
            // servers of a bogus answer).
            assert!(sessions <= 4, "{what}: {sessions} validation sessions");
            let s = sessions.max(1);
            assert!(
                verifications <= s * u64::from(limits.max_verifications),
                "{what}: {verifications} verifications in {sessions} sessions"
            );
            assert!(
                digests <= s * u64::from(limits.max_ds_digests),
                "{what}: {digests} DS digests in {sessions} sessions"
            );
            assert!(
                hashes <= s * u64::from(limits.max_nsec3_hashes),
                "{what}: {hashes} NSEC3 hashes in {sessions} sessions"
            );
            // The upstream work one query causes is bounded: the
            // validator's fetch limit (plus the question) in forwarding
            // mode; when recursing, what reached the authoritatives, by the
            // iterator's budget (5 NX target lookups for NXNS, 200 sends
            // in all).
            if mode == Mode::Forwarding {
                assert!(
                    upstream <= u64::from(limits.max_fetches) + 1,
                    "{what}: {upstream} upstream queries"
                );
            } else {
                // `upstream.queries` counts each query the iterator sends:
                // exactly what reached the authoritatives.
                assert_eq!(upstream, authoritative, "{what}: upstream.queries");
                let bound = if attack.name == "nxnsflood" { 40 } else { 200 };
                assert!(
                    authoritative <= bound && upstream <= bound,
                    "{what}: {authoritative} queries reached the authoritatives, \
                     {upstream} sent"
                );
            }
            // The counters count (else the bounds above say nothing): the
            // flood's keys are each hashed once on the first query, and
            // KeyTrap's junk is tried up to the failure limit.
            if attack.name == "dsflood" && round == 1 {
                assert!(
                    digests >= DSFLOOD_DS as u64,
                    "{what}: {digests} DS digests counted for {DSFLOOD_DS} keys"
                );
                // The flood's key set is judged once per query: a retry at
                // other servers (recursive mode) that gets the same DS and
                // DNSKEY data again keeps the first session's verdict, as
                // unbound's bad key entry does, instead of judging it afresh
                // (it cost 3 sessions and 903 digests).
                assert!(
                    digests < 2 * DSFLOOD_DS as u64,
                    "{what}: {digests} DS digests for {DSFLOOD_DS} keys: judged more than once"
                );
                assert!(sessions <= 2, "{what}: {sessions} validation sessions");
            }
            if attack.name == "keytrap" && round != 2 {
                assert!(
                    verifications >= u64::from(limits.max_failed_verifications),
                    "{what}: {verifications} verifications counted"
                );
            }
            // The cached name is still answered, from the cache.
            let hits = stats::global().snapshot().cache_hits;
            let reply = ask(&lab, &danebound, CACHED);
            assert_eq!(reply.rcode(), ResponseCode::NoError, "{what}: {CACHED}");
            assert!(reply.ad(), "{what}: {CACHED} AD");
            assert!(
                stats::global().snapshot().cache_hits > hits,
                "{what}: {CACHED} answered from the cache"
            );
        }
        if attack.name == "dsflood" {
            // Bogus key memory: the flood's key set is judged once; a
            // new name under it costs no digest at all.
            let before = stats::global().snapshot();
            let reply = ask(&lab, &danebound, "other.dsflood.example.test.");
            let (_, verifications, digests, _, _) = delta(&stats::global().snapshot(), &before);
            assert_eq!(reply.rcode(), ResponseCode::ServFail);
            assert_eq!(
                (verifications, digests),
                (0, 0),
                "{mode:?}: a new name under the DS flood is answered from the bogus key memory"
            );
        }
    }

    // During: a thread sends attack queries while the cached name is asked.
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut i = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let attack = &ATTACKS[i % ATTACKS.len()];
                i += 1;
                if expected(attack.name, mode).is_some() {
                    let _ = ask(&lab, &danebound, &format!("during{i}.{}", attack.zone));
                }
            }
        });
        for n in 0..50 {
            let reply = ask(&lab, &danebound, CACHED);
            assert_eq!(
                (reply.rcode(), reply.ad()),
                (ResponseCode::NoError, true),
                "{mode:?}: {CACHED} during the attack, query {n}"
            );
        }
        stop.store(true, Ordering::Relaxed);
    });
}

#[test]
fn attack_zones_forwarding() {
    run(Mode::Forwarding);
}

#[test]
fn attack_zones_recursive() {
    run(Mode::Recursive);
}
