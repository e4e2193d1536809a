//! Unit tests per transition and timer rule, the golden timeline of
//! rfc5011.md §11, and property tests over arbitrary observation histories.

// The observations read best as literal key lists.
#![allow(clippy::cloned_ref_to_slice_refs, clippy::redundant_clone)]

use super::*;
use proptest::prelude::*;

const T0: u64 = 1_800_000_000;
const TTL: u32 = 172_800;

/// A KSK with a distinct public key; the machine never verifies signatures
/// (the resolver does and says so in the observation).
fn ksk(n: u8) -> Key {
    Key::new(257, 3, 8, vec![3, 1, 0, 1, n, n.wrapping_mul(7), 0xAB])
}

fn zsk() -> Key {
    Key::new(256, 3, 8, vec![3, 1, 0, 1, 200, 1, 2])
}

fn policy() -> Policy {
    Policy::default()
}

/// An RRset holding `keys` (and a ZSK), signed by `signers`, with
/// `self_revoked` revoked keys that signed themselves.
fn obs(keys: &[Key], signers: &[Key], self_revoked: &[Key]) -> Observation {
    let mut rrset = keys.to_vec();
    rrset.extend(self_revoked.iter().cloned());
    rrset.push(zsk());
    Observation {
        rrset,
        unsupported: Vec::new(),
        verified_by: signers.to_vec(),
        revoked_self_signed: self_revoked.to_vec(),
        orig_ttl: TTL,
        sig_expiration: u64::MAX / 4,
    }
}

fn point_with(keys: &[Key]) -> TrustPoint {
    let mut tp = TrustPoint::new(".").unwrap();
    for k in keys {
        tp.add_configured_key(k.clone(), TTL, 0);
    }
    tp
}

fn state(tp: &TrustPoint, k: &Key) -> Option<KeyState> {
    tp.keys()
        .iter()
        .find(|t| t.key.same_key(k))
        .map(|t| t.state)
}

fn trusted(tp: &TrustPoint, k: &Key) -> bool {
    tp.anchor_keys().any(|a| a == k)
}

#[test]
fn rfc5011_section4_newkey_starts_addpend_which_is_not_an_anchor() {
    let (a, b) = (ksk(1), ksk(2));
    let mut tp = point_with(&[a.clone()]);
    let out = tp.on_observation(
        T0,
        &obs(&[a.clone(), b.clone()], &[a.clone()], &[]),
        &policy(),
        0,
    );
    assert!(out.validated);
    assert_eq!(state(&tp, &b), Some(KeyState::AddPend));
    assert!(!trusted(&tp, &b));
    assert_eq!(out.changes[0].event, Event::NewKey);
    // A ZSK (no SEP flag) is not tracked.
    assert_eq!(state(&tp, &zsk()), None);
}

#[test]
fn rfc5011_section2_4_1_addtime_needs_holddown_and_a_later_valid_rrset() {
    let (a, b) = (ksk(1), ksk(2));
    let mut tp = point_with(&[a.clone()]);
    let o = obs(&[a.clone(), b.clone()], &[a.clone()], &[]);
    tp.on_observation(T0, &o, &policy(), 0);
    // Daily probes: still pending one second before 30 days.
    for d in 1..30 {
        tp.on_observation(T0 + d * DAY, &o, &policy(), 0);
    }
    tp.on_observation(T0 + 30 * DAY - 1, &o, &policy(), 0);
    assert_eq!(state(&tp, &b), Some(KeyState::AddPend));
    // Time alone does nothing: a failed probe after the hold-down.
    tp.on_failure(T0 + 30 * DAY, &policy(), 0);
    assert_eq!(state(&tp, &b), Some(KeyState::AddPend));
    let out = tp.on_observation(T0 + 30 * DAY, &o, &policy(), 0);
    assert_eq!(state(&tp, &b), Some(KeyState::Valid));
    assert!(out.anchors_changed);
    assert!(trusted(&tp, &b));
}

#[test]
fn rfc5011_section2_4_1_one_sighting_is_not_enough() {
    // Seen once; the next valid RRset comes after the hold-down: that is
    // the second sighting, so it is promoted then, never before.
    let (a, b) = (ksk(1), ksk(2));
    let mut tp = point_with(&[a.clone()]);
    let o = obs(&[a.clone(), b.clone()], &[a.clone()], &[]);
    tp.on_observation(T0, &o, &policy(), 0);
    let p = Policy {
        min_sightings: 3,
        ..policy()
    };
    tp.on_observation(T0 + 31 * DAY, &o, &p, 0);
    assert_eq!(state(&tp, &b), Some(KeyState::AddPend), "2 of 3 sightings");
    tp.on_observation(T0 + 32 * DAY, &o, &p, 0);
    assert_eq!(state(&tp, &b), Some(KeyState::Valid));
}

#[test]
fn rfc5011_section2_4_1_holddown_is_the_longer_of_30_days_and_the_ttl() {
    let (a, b) = (ksk(1), ksk(2));
    let mut tp = point_with(&[a.clone()]);
    let mut o = obs(&[a.clone(), b.clone()], &[a.clone()], &[]);
    o.orig_ttl = 40 * DAY as u32;
    tp.on_observation(T0, &o, &policy(), 0);
    tp.on_observation(T0 + 35 * DAY, &o, &policy(), 0);
    assert_eq!(state(&tp, &b), Some(KeyState::AddPend));
    tp.on_observation(T0 + 40 * DAY, &o, &policy(), 0);
    assert_eq!(state(&tp, &b), Some(KeyState::Valid));
    assert_eq!(policy().holddown_for(10_800), 30 * DAY);
}

#[test]
fn rfc5011_section4_keyrem_from_addpend_goes_to_start_and_starts_over() {
    let (a, b) = (ksk(1), ksk(2));
    let mut tp = point_with(&[a.clone()]);
    tp.on_observation(
        T0,
        &obs(&[a.clone(), b.clone()], &[a.clone()], &[]),
        &policy(),
        0,
    );
    tp.on_observation(
        T0 + 20 * DAY,
        &obs(&[a.clone()], &[a.clone()], &[]),
        &policy(),
        0,
    );
    assert_eq!(state(&tp, &b), None, "back to Start (not stored)");
    let o = obs(&[a.clone(), b.clone()], &[a.clone()], &[]);
    tp.on_observation(T0 + 25 * DAY, &o, &policy(), 0);
    tp.on_observation(T0 + 40 * DAY, &o, &policy(), 0);
    assert_eq!(
        state(&tp, &b),
        Some(KeyState::AddPend),
        "hold-down from day 25"
    );
    tp.on_observation(T0 + 55 * DAY, &o, &policy(), 0);
    assert_eq!(state(&tp, &b), Some(KeyState::Valid));
}

#[test]
fn rfc5011_section4_valid_keyrem_missing_stays_an_anchor_and_keypres_returns() {
    let (a, b) = (ksk(1), ksk(2));
    let mut tp = point_with(&[a.clone(), b.clone()]);
    tp.on_observation(T0, &obs(&[a.clone()], &[a.clone()], &[]), &policy(), 0);
    assert_eq!(state(&tp, &b), Some(KeyState::Missing));
    assert!(trusted(&tp, &b), "Missing keys stay anchors");
    tp.on_observation(
        T0 + DAY,
        &obs(&[a.clone(), b.clone()], &[a.clone()], &[]),
        &policy(),
        0,
    );
    assert_eq!(state(&tp, &b), Some(KeyState::Valid));
}

#[test]
fn rfc5011_section4_missing_is_kept_unless_keep_missing_and_another_valid() {
    let (a, b) = (ksk(1), ksk(2));
    let p = Policy {
        keep_missing: Some(10 * DAY),
        ..policy()
    };
    let mut tp = point_with(&[a.clone(), b.clone()]);
    tp.on_observation(T0, &obs(&[a.clone()], &[a.clone()], &[]), &p, 0);
    tp.on_observation(T0 + 11 * DAY, &obs(&[a.clone()], &[a.clone()], &[]), &p, 0);
    assert_eq!(state(&tp, &b), None, "forgotten while A is Valid");
    // Without keep_missing, kept for ever.
    let mut tp = point_with(&[a.clone(), b.clone()]);
    tp.on_observation(T0, &obs(&[a.clone()], &[a.clone()], &[]), &policy(), 0);
    tp.on_observation(
        T0 + 900 * DAY,
        &obs(&[a.clone()], &[a.clone()], &[]),
        &policy(),
        0,
    );
    assert_eq!(state(&tp, &b), Some(KeyState::Missing));
}

#[test]
fn rfc5011_section2_1_revbit_needs_the_revoked_keys_own_signature() {
    let (a, b) = (ksk(1), ksk(2));
    let mut tp = point_with(&[a.clone(), b.clone()]);
    // A's revoked form in the RRset, signed only by B: the bit is ignored.
    let mut o = obs(&[b.clone(), a.revoked()], &[b.clone()], &[]);
    o.revoked_self_signed.clear();
    let out = tp.on_observation(T0, &o, &policy(), 0);
    assert_eq!(state(&tp, &a), Some(KeyState::Valid));
    assert!(!out.warnings.is_empty());
    // A signature by the revoked key itself: Revoked, never an anchor again.
    let out = tp.on_observation(
        T0 + DAY,
        &obs(&[b.clone()], &[b.clone()], &[a.revoked()]),
        &policy(),
        0,
    );
    assert_eq!(state(&tp, &a), Some(KeyState::Revoked));
    assert!(out.anchors_changed);
    assert!(!tp.anchor_keys().any(|k| k.same_key(&a)));
    // It comes back without the bit: stays revoked.
    tp.on_observation(
        T0 + 2 * DAY,
        &obs(&[a.clone(), b.clone()], &[b.clone()], &[]),
        &policy(),
        0,
    );
    assert_eq!(state(&tp, &a), Some(KeyState::Revoked));
}

#[test]
fn rfc5011_section2_1_revbit_is_never_matched_by_tag_alone() {
    // Another key that happens to have A's revoked tag cannot revoke A.
    let a = ksk(1);
    let mut impostor = a.revoked();
    impostor.public_key[4] ^= 0xFF;
    let mut tp = point_with(&[a.clone()]);
    tp.on_observation(
        T0,
        &obs(&[a.clone()], &[a.clone()], &[impostor]),
        &policy(),
        0,
    );
    assert_eq!(state(&tp, &a), Some(KeyState::Valid));
}

#[test]
fn rfc5011_section4_revoked_is_removed_after_the_remove_holddown_of_absence() {
    let (a, b) = (ksk(1), ksk(2));
    let mut tp = point_with(&[a.clone(), b.clone()]);
    tp.on_observation(
        T0,
        &obs(&[b.clone()], &[b.clone()], &[a.revoked()]),
        &policy(),
        0,
    );
    let gone = obs(&[b.clone()], &[b.clone()], &[]);
    tp.on_observation(T0 + DAY, &gone, &policy(), 0);
    tp.on_observation(T0 + 30 * DAY, &gone, &policy(), 0);
    assert_eq!(state(&tp, &a), Some(KeyState::Revoked));
    tp.on_observation(T0 + 31 * DAY, &gone, &policy(), 0);
    assert_eq!(state(&tp, &a), Some(KeyState::Removed));
}

#[test]
fn rfc5011_section4_addpend_revoked_goes_to_start() {
    let (a, b) = (ksk(1), ksk(2));
    let mut tp = point_with(&[a.clone()]);
    tp.on_observation(
        T0,
        &obs(&[a.clone(), b.clone()], &[a.clone()], &[]),
        &policy(),
        0,
    );
    tp.on_observation(
        T0 + DAY,
        &obs(&[a.clone()], &[a.clone()], &[b.revoked()]),
        &policy(),
        0,
    );
    assert_eq!(state(&tp, &b), None);
}

#[test]
fn rfc5011_section5_all_anchors_revoked_removes_the_trust_point() {
    let (a, b) = (ksk(1), ksk(2));
    let mut tp = point_with(&[a.clone()]);
    tp.on_observation(
        T0,
        &obs(&[a.clone(), b.clone()], &[a.clone()], &[]),
        &policy(),
        0,
    );
    // A revokes itself before B's hold-down ends: nothing is trusted.
    let out = tp.on_observation(
        T0 + DAY,
        &obs(&[b.clone()], &[b.clone()], &[a.revoked()]),
        &policy(),
        0,
    );
    assert!(tp.is_revoked());
    assert!(out.anchors_changed);
    assert!(!tp.has_anchors());
    assert_eq!(tp.anchor_keys().count(), 0);
    // Nothing revives it: not even an RRset "signed" by B.
    tp.on_observation(
        T0 + 40 * DAY,
        &obs(&[b.clone()], &[b.clone()], &[]),
        &policy(),
        0,
    );
    assert!(tp.is_revoked());
    assert!(!trusted(&tp, &b));
}

#[test]
fn rfc5011_section2_2_holddown_restarts_when_every_validator_is_revoked() {
    let (a, b, c) = (ksk(1), ksk(2), ksk(3));
    let mut tp = point_with(&[a.clone(), c.clone()]);
    // B is seen in RRsets validated only by A.
    let o = obs(&[a.clone(), b.clone(), c.clone()], &[a.clone()], &[]);
    tp.on_observation(T0, &o, &policy(), 0);
    tp.on_observation(T0 + 10 * DAY, &o, &policy(), 0);
    // A is revoked on day 20; C still signs.
    let out = tp.on_observation(
        T0 + 20 * DAY,
        &obs(&[b.clone(), c.clone()], &[c.clone()], &[a.revoked()]),
        &policy(),
        0,
    );
    assert!(out.warnings.iter().any(|w| w.contains("§2.2")));
    let o = obs(&[b.clone(), c.clone()], &[c.clone()], &[]);
    tp.on_observation(T0 + 31 * DAY, &o, &policy(), 0);
    assert_eq!(
        state(&tp, &b),
        Some(KeyState::AddPend),
        "restarted on day 20"
    );
    tp.on_observation(T0 + 50 * DAY, &o, &policy(), 0);
    assert_eq!(state(&tp, &b), Some(KeyState::Valid));
}

#[test]
fn a_probe_not_validated_by_an_anchor_changes_no_key() {
    let (a, b) = (ksk(1), ksk(2));
    let mut tp = point_with(&[a.clone()]);
    let before = tp.keys().to_vec();
    // Signed only by B (not an anchor), and A absent: no KeyRem, no NewKey.
    let out = tp.on_observation(T0, &obs(&[b.clone()], &[b.clone()], &[]), &policy(), 0);
    assert!(!out.validated);
    assert_eq!(tp.keys(), &before[..]);
    assert_eq!(tp.timers.query_failed, 1);
    // A signer claimed but not in the RRset counts for nothing either.
    let out = tp.on_observation(T0, &obs(&[b.clone()], &[a.clone()], &[]), &policy(), 0);
    assert!(!out.validated);
    assert_eq!(tp.keys(), &before[..]);
}

#[test]
fn initial_ds_makes_the_matched_key_valid_at_once_and_keeps_unmatched_ds() {
    let a = ksk(1);
    let mut tp = TrustPoint::new(".").unwrap();
    let digest = ring::digest::digest(&ring::digest::SHA256, &[&[0u8][..], &a.rdata()].concat());
    tp.add_configured_ds(DsAnchor {
        key_tag: a.key_tag(),
        algorithm: 8,
        digest_type: 2,
        digest: digest.as_ref().to_vec(),
    });
    tp.add_configured_ds(DsAnchor {
        key_tag: 1,
        algorithm: 8,
        digest_type: 2,
        digest: vec![0; 32],
    });
    assert!(tp.has_anchors());
    let out = tp.on_observation(T0, &obs(&[a.clone()], &[a.clone()], &[]), &policy(), 0);
    assert!(out.validated);
    assert_eq!(state(&tp, &a), Some(KeyState::Valid));
    assert_eq!(tp.pending_ds().len(), 1, "the unmatched DS is kept");
}

#[test]
fn rfc5011_section2_4_3_ten_sep_keys_and_a_cap() {
    let a = ksk(0);
    let mut tp = point_with(&[a.clone()]);
    let mut keys: Vec<Key> = (0..10).map(ksk).collect();
    let o = obs(&keys, &[a.clone()], &[]);
    tp.on_observation(T0, &o, &policy(), 0);
    tp.on_observation(T0 + 30 * DAY, &o, &policy(), 0);
    assert_eq!(tp.anchor_keys().count(), 10);
    keys.extend((10..60).map(ksk));
    let out = tp.on_observation(T0 + 31 * DAY, &obs(&keys, &[a.clone()], &[]), &policy(), 0);
    assert_eq!(tp.keys().len(), policy().max_keys);
    assert!(out.warnings.iter().any(|w| w.contains("ignored")));
}

#[test]
fn rfc6840_section5_11_algorithm_rollover() {
    // RSASHA256 → ECDSAP256SHA256: the new key is pended, promoted, and
    // the old one revoked; only the new algorithm remains trusted.
    let old = ksk(1);
    let new = Key::new(257, 3, 13, vec![9; 64]);
    let mut tp = point_with(&[old.clone()]);
    let o = obs(
        &[old.clone(), new.clone()],
        &[old.clone(), new.clone()],
        &[],
    );
    tp.on_observation(T0, &o, &policy(), 0);
    tp.on_observation(T0 + 30 * DAY, &o, &policy(), 0);
    assert_eq!(state(&tp, &new), Some(KeyState::Valid));
    tp.on_observation(
        T0 + 40 * DAY,
        &obs(&[new.clone()], &[new.clone()], &[old.revoked()]),
        &policy(),
        0,
    );
    assert_eq!(tp.anchor_keys().cloned().collect::<Vec<_>>(), vec![new]);
}

#[test]
fn unsupported_algorithm_keys_are_never_added_nor_removed() {
    let a = ksk(1);
    let odd = Key::new(257, 3, 200, vec![1, 2, 3]);
    let mut tp = point_with(&[a.clone()]);
    let mut o = obs(&[a.clone()], &[a.clone()], &[]);
    o.unsupported.push(odd.clone());
    tp.on_observation(T0, &o, &policy(), 0);
    assert_eq!(state(&tp, &odd), None);
}

#[test]
fn the_clock_going_backwards_shortens_no_holddown() {
    let (a, b) = (ksk(1), ksk(2));
    let mut tp = point_with(&[a.clone()]);
    let o = obs(&[a.clone(), b.clone()], &[a.clone()], &[]);
    tp.on_observation(T0 + 10 * DAY, &o, &policy(), 0);
    // The clock is set back 10 days, then 30 days pass on it.
    let out = tp.on_observation(T0, &o, &policy(), 0);
    assert!(out.warnings.iter().any(|w| w.contains("clock")));
    tp.on_observation(T0 + 30 * DAY, &o, &policy(), 0);
    assert_eq!(state(&tp, &b), Some(KeyState::AddPend));
    tp.on_observation(T0 + 40 * DAY, &o, &policy(), 0);
    assert_eq!(state(&tp, &b), Some(KeyState::Valid));
    assert_eq!(tp.highest_time(), T0 + 40 * DAY);
}

#[test]
fn rfc5011_section2_3_timer_table() {
    let p = policy();
    let far = T0 + 100 * DAY;
    assert_eq!(probe_intervals(172_800, far, T0, &p), (86_400, 17_280));
    assert_eq!(probe_intervals(10_800, far, T0, &p), (5_400, 3_600));
    assert_eq!(probe_intervals(3_600, far, T0, &p), (3_600, 3_600));
    assert_eq!(probe_intervals(0, far, T0, &p), (3_600, 3_600));
    assert_eq!(probe_intervals(u32::MAX, far, T0, &p), (15 * DAY, DAY));
    // Signatures expiring in 4 days: half and a tenth of that.
    assert_eq!(
        probe_intervals(u32::MAX, T0 + 4 * DAY, T0, &p),
        (2 * DAY, 34_560)
    );
    // An expired signature: the floor.
    assert_eq!(probe_intervals(172_800, T0 - 1, T0, &p), (3_600, 3_600));
    let labs = Policy {
        probe_interval: Some(20),
        ..p
    };
    assert_eq!(probe_intervals(172_800, far, T0, &labs), (20, 20));
}

#[test]
fn jitter_is_ninety_to_a_hundred_percent_and_failures_use_retry_time() {
    assert_eq!(jittered(86_400, 0), 77_760);
    assert_eq!(jittered(86_400, u32::MAX), 86_400);
    let a = ksk(1);
    let mut tp = point_with(&[a.clone()]);
    tp.on_observation(
        T0,
        &obs(&[a.clone()], &[a.clone()], &[]),
        &policy(),
        u32::MAX,
    );
    assert_eq!(tp.timers.next_probe_time, T0 + 86_400);
    assert_eq!(tp.timers.last_success, T0);
    tp.on_failure(T0 + DAY, &policy(), u32::MAX);
    assert_eq!(tp.timers.next_probe_time, T0 + DAY + 17_280);
    assert_eq!(tp.timers.query_failed, 1);
    assert_eq!(tp.timers.last_success, T0);
}

#[test]
fn golden_timeline_of_a_root_roll() {
    // rfc5011.md §11: A signs; B published day 10; B signs day 100; A
    // revoked day 130; A gone day 160. Daily probes.
    let (a, b) = (ksk(1), ksk(2));
    let mut tp = point_with(&[a.clone()]);
    let mut b_valid_on = None;
    let mut a_removed_on = None;
    for day in 0..=200u64 {
        let o = match day {
            0..10 => obs(&[a.clone()], &[a.clone()], &[]),
            10..100 => obs(&[a.clone(), b.clone()], &[a.clone()], &[]),
            100..130 => obs(&[a.clone(), b.clone()], &[b.clone()], &[]),
            130..160 => obs(&[b.clone()], &[b.clone()], &[a.revoked()]),
            _ => obs(&[b.clone()], &[b.clone()], &[]),
        };
        let out = tp.on_observation(T0 + day * DAY, &o, &policy(), 0);
        assert!(out.validated, "day {day}");
        if b_valid_on.is_none() && state(&tp, &b) == Some(KeyState::Valid) {
            b_valid_on = Some(day);
        }
        if a_removed_on.is_none() && state(&tp, &a) == Some(KeyState::Removed) {
            a_removed_on = Some(day);
        }
        // Names keep validating throughout.
        assert!(tp.validates(&o), "day {day}");
    }
    assert_eq!(b_valid_on, Some(40));
    assert_eq!(state(&tp, &a), Some(KeyState::Removed));
    assert_eq!(a_removed_on, Some(190));
}

// -- Properties ---------------------------------------------------------------

#[derive(Clone, Debug)]
enum Step {
    /// A probe answered with keys (indexes into the pool), signed by some,
    /// self-revoked by some, after `dt` seconds (negative: clock back).
    Probe {
        dt: i64,
        present: Vec<usize>,
        signers: Vec<usize>,
        revoked: Vec<usize>,
    },
    Fail {
        dt: i64,
    },
}

fn step() -> impl Strategy<Value = Step> {
    let idx = || proptest::collection::vec(0usize..5, 0..5);
    let dt = prop_oneof![-(40 * DAY as i64)..0, 0..(45 * DAY as i64)];
    prop_oneof![
        4 => (dt.clone(), idx(), idx(), idx()).prop_map(|(dt, present, signers, revoked)| Step::Probe { dt, present, signers, revoked }),
        1 => dt.prop_map(|dt| Step::Fail { dt }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// No sequence of observations makes a never-validated key an anchor;
    /// a promoted key had ≥ 2 sightings and its hold-down; a revoked key
    /// is never trusted again.
    #[test]
    fn no_history_trusts_a_key_that_was_never_validated(steps in proptest::collection::vec(step(), 1..40)) {
        // Key 0 is the configured anchor; 1..5 are candidates.
        let pool: Vec<Key> = (0..5).map(|i| ksk(i as u8)).collect();
        let mut tp = point_with(&pool[..1]);
        let mut now = T0;
        // Per key: times of valid sightings as the machine counts them.
        let mut sightings: Vec<Vec<u64>> = vec![Vec::new(); 5];
        let mut ever_revoked = [false; 5];
        for s in steps {
            match s {
                Step::Fail { dt } => {
                    now = now.saturating_add_signed(dt);
                    tp.on_failure(now, &policy(), 7);
                }
                Step::Probe { dt, present, signers, revoked } => {
                    now = now.saturating_add_signed(dt);
                    let keys: Vec<Key> = present.iter().filter(|i| !revoked.contains(i)).map(|&i| pool[i].clone()).collect();
                    let sig: Vec<Key> = signers.iter().map(|&i| pool[i].clone()).collect();
                    let rev: Vec<Key> = revoked.iter().map(|&i| pool[i].revoked()).collect();
                    let o = obs(&keys, &sig, &rev);
                    let before: Vec<bool> = pool.iter().map(|k| trusted(&tp, k)).collect();
                    let out = tp.on_observation(now, &o, &policy(), 7);
                    // The machine's own notion of now (it never goes back).
                    let highest = tp.highest_time();
                    for &r in &revoked {
                        if before[r] { ever_revoked[r] = true; }
                    }
                    if out.validated {
                        for (i, k) in pool.iter().enumerate() {
                            if keys.contains(k) { sightings[i].push(highest); }
                        }
                    }
                }
            }
            for (i, k) in pool.iter().enumerate().skip(1) {
                if trusted(&tp, k) {
                    let seen = &sightings[i];
                    prop_assert!(seen.len() >= 2, "key {i} trusted after {} sightings", seen.len());
                    prop_assert!(seen.last().unwrap() - seen.first().unwrap() >= 30 * DAY);
                }
                if ever_revoked[i] {
                    prop_assert!(!trusted(&tp, k), "revoked key {i} trusted again");
                }
            }
            if ever_revoked[0] {
                prop_assert!(!trusted(&tp, &pool[0]));
            }
            // The next probe is never more than 15 days away (§2.3).
            prop_assert!(tp.timers.next_probe_time <= tp.highest_time() + 15 * DAY);
        }
    }
}

#[test]
fn a_configured_zsk_vouches_once_and_its_ksks_become_valid() {
    // unbound's init_zsk: an anchor file holding only a ZSK (say from
    // `dig DNSKEY`) authenticates the first RRset; its SEP keys are then
    // trusted at once and the ZSK is no longer an anchor.
    let a = ksk(1);
    let mut tp = TrustPoint::new(".").unwrap();
    tp.add_configured_key(zsk(), TTL, 0);
    assert!(tp.has_anchors());
    assert_eq!(tp.keys().len(), 0, "RFC 5011 tracks SEP keys only");
    let out = tp.on_observation(T0, &obs(&[a.clone()], &[zsk()], &[]), &policy(), 0);
    assert!(out.validated && out.anchors_changed);
    assert_eq!(state(&tp, &a), Some(KeyState::Valid));
    assert!(tp.initial_keys().is_empty());
    assert!(!tp.anchor_keys().any(|k| *k == zsk()));
    // Beside a KSK anchor a configured ZSK adds nothing and is dropped.
    let mut tp = point_with(&[a.clone(), zsk()]);
    let b = ksk(2);
    tp.on_observation(
        T0,
        &obs(&[a.clone(), b.clone()], &[a.clone()], &[]),
        &policy(),
        0,
    );
    assert_eq!(state(&tp, &b), Some(KeyState::AddPend));
    assert!(tp.initial_keys().is_empty());
}
