//! One trust point (RFC 5011 §4): its keys, their states and the probe
//! timers, driven by observations. No I/O, no clock: `now` and the random
//! jitter value come in as arguments.

use super::key::Key;
use super::state::{Event, KeyState, transition};

/// One day in seconds.
pub const DAY: u64 = 86_400;
/// One hour in seconds.
pub const HOUR: u64 = 3_600;

/// A DS record used as an initial anchor (unbound: DS lines in the file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DsAnchor {
    /// Key tag of the key it names.
    pub key_tag: u16,
    /// DNSSEC algorithm.
    pub algorithm: u8,
    /// Digest type (1 SHA-1, 2 SHA-256, 4 SHA-384).
    pub digest_type: u8,
    /// The digest.
    pub digest: Vec<u8>,
}

impl DsAnchor {
    /// Does this DS name `key` at the owner whose wire form is `owner_wire`
    /// (RFC 4034 §5.1.4)? `None` when the digest type is not supported.
    pub fn matches(&self, owner_wire: &[u8], key: &Key) -> Option<bool> {
        let alg = match self.digest_type {
            1 => &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
            2 => &ring::digest::SHA256,
            4 => &ring::digest::SHA384,
            _ => return None,
        };
        if key.key_tag() != self.key_tag || key.algorithm != self.algorithm {
            return Some(false);
        }
        let mut ctx = ring::digest::Context::new(alg);
        ctx.update(owner_wire);
        ctx.update(&key.rdata());
        Some(ctx.finish().as_ref() == self.digest.as_slice())
    }

    /// Is the digest type one we can compute?
    pub fn digest_supported(&self) -> bool {
        matches!(self.digest_type, 1 | 2 | 4)
    }
}

/// What a trust point does when its anchors are all revoked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OnAllRevoked {
    /// RFC 5011 §5: the trust point is deleted and treated as never
    /// configured (insecure unless a superior anchor covers it).
    #[default]
    Insecure,
}

/// The knobs of RFC 5011 processing (rfc5011.md §10).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Add hold-down (§2.4.1, 30 days).
    pub add_holddown: u64,
    /// Also hold down for the RRset's original TTL when it is longer
    /// (§2.4.1: max(30 days, TTL)). Off only in test labs that shorten
    /// the hold-down (like unbound's permit-small-holddown).
    pub holddown_covers_ttl: bool,
    /// Remove hold-down (§2.4.2, 30 days).
    pub remove_holddown: u64,
    /// Forget a Missing key after this long, but only while another Valid
    /// key remains (unbound's keep-missing). `None`: keep forever (§4).
    pub keep_missing: Option<u64>,
    /// Valid RRsets holding a pending key before it can be promoted (§2.4.1).
    pub min_sightings: u32,
    /// Keys tracked per trust point, against memory DoS (§2.4.3 asks for
    /// at least five; we handle ten and more).
    pub max_keys: usize,
    /// Replace the §2.3 query interval and retry time (test labs).
    pub probe_interval: Option<u64>,
    /// What happens when every anchor is revoked.
    pub on_all_revoked: OnAllRevoked,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            add_holddown: 30 * DAY,
            holddown_covers_ttl: true,
            remove_holddown: 30 * DAY,
            keep_missing: None,
            min_sightings: 2,
            max_keys: 32,
            probe_interval: None,
            on_all_revoked: OnAllRevoked::Insecure,
        }
    }
}

impl Policy {
    /// The add hold-down for an RRset with original TTL `ttl` (§2.4.1).
    pub fn holddown_for(&self, ttl: u32) -> u64 {
        if self.holddown_covers_ttl {
            self.add_holddown.max(u64::from(ttl))
        } else {
            self.add_holddown
        }
    }
}

/// An authenticated DNSKEY RRset as the resolver saw it, reduced to what
/// RFC 5011 needs. The resolver builds it from its validator's proofs
/// (`resolver::autotrust`); the state machine checks again that
/// `verified_by` names keys it trusts, so an observation can never make a
/// key trusted that no anchor vouched for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observation {
    /// The DNSKEY RRset (keys of supported algorithms).
    pub rrset: Vec<Key>,
    /// Keys of the RRset whose algorithm we cannot verify: present (so
    /// they are not KeyRem) but never added.
    pub unsupported: Vec<Key>,
    /// Keys of the RRset (REVOKE clear) whose RRSIG over the RRset verified.
    pub verified_by: Vec<Key>,
    /// Keys of the RRset with the REVOKE bit whose own RRSIG over the
    /// RRset verified (§2.1).
    pub revoked_self_signed: Vec<Key>,
    /// Original TTL from the verified RRSIG (a forwarder lowers the record TTL).
    pub orig_ttl: u32,
    /// Earliest expiration (Unix seconds) of the RRSIGs that verified.
    pub sig_expiration: u64,
}

/// A key of a trust point and its bookkeeping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackedKey {
    /// The key as last seen (revoked keys carry the REVOKE bit).
    pub key: Key,
    /// Its state.
    pub state: KeyState,
    /// Valid RRsets that held it while pending (unbound `;;count=`).
    pub count: u32,
    /// When the state last changed (for AddPend: the start of the hold-down).
    pub last_change: u64,
    /// The TTL to write it with.
    pub ttl: u32,
    /// The add hold-down that applies to it (set when it became pending).
    pub holddown: u64,
    /// The anchors that validated the RRsets it was seen in while pending
    /// (§2.2). Empty after a load from a file (unknown).
    pub validated_by: Vec<Key>,
    /// Since when a revoked key has been absent (§2.4.2).
    pub absent_since: Option<u64>,
}

/// The probe timers, as unbound keeps them in its file header.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Timers {
    /// Last probe sent.
    pub last_queried: u64,
    /// Last probe that validated.
    pub last_success: u64,
    /// When to probe next.
    pub next_probe_time: u64,
    /// Consecutive failed probes.
    pub query_failed: u32,
    /// §2.3 queryInterval in force.
    pub query_interval: u64,
    /// §2.3 retryTime in force.
    pub retry_time: u64,
}

/// A change for the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// The key (in the form it has now).
    pub key: Key,
    /// What happened.
    pub event: Event,
    /// State before.
    pub from: KeyState,
    /// State after.
    pub to: KeyState,
}

/// The result of one observation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Key state changes, in order.
    pub changes: Vec<Change>,
    /// Did anything that is persisted change (states, counts, timers)?
    pub changed: bool,
    /// Did the set of trusted keys change?
    pub anchors_changed: bool,
    /// Did the RRset validate with our anchors (false: a failed probe)?
    pub validated: bool,
    /// Things the operator should know (ignored REVOKE bits, caps, clock).
    pub warnings: Vec<String>,
}

/// One trust point: a zone, its keys, and its probe timers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustPoint {
    owner: String,
    owner_wire: Vec<u8>,
    class: u16,
    keys: Vec<TrackedKey>,
    ds: Vec<DsAnchor>,
    /// Configured anchors without the SEP flag (a ZSK from `dig DNSKEY`):
    /// they vouch for the first validated RRset only, like DS anchors.
    initial_zsks: Vec<Key>,
    /// The probe timers.
    pub timers: Timers,
    revoked: bool,
    highest_time: u64,
}

/// The RFC 1035 wire form of a presentation-format owner, lowercased.
pub(crate) fn owner_wire(owner: &str) -> Result<Vec<u8>, String> {
    let name = hickory_proto::rr::Name::from_ascii(owner)
        .map_err(|e| format!("bad owner name {owner:?}: {e}"))?
        .to_lowercase();
    Ok(crate::text::name_to_wire(&name))
}

impl TrustPoint {
    /// A trust point for `owner` (presentation form, e.g. `.` or
    /// `example.com.`) with no keys yet.
    pub fn new(owner: &str) -> Result<Self, String> {
        let owner_wire = owner_wire(owner)?;
        // Kept in the parser's own presentation form (escapes normalised),
        // so that a state file written with it reads back (found by the
        // autotrust_file fuzz target: `\1` was kept as typed, written as
        // `\1.`, and refused on reading).
        let mut owner = hickory_proto::rr::Name::from_ascii(owner)
            .map_err(|e| format!("bad owner name {owner:?}: {e}"))?
            .to_lowercase()
            .to_ascii();
        if !owner.ends_with('.') {
            owner.push('.');
        }
        Ok(Self {
            owner,
            owner_wire,
            class: 1,
            keys: Vec::new(),
            ds: Vec::new(),
            initial_zsks: Vec::new(),
            timers: Timers::default(),
            revoked: false,
            highest_time: 0,
        })
    }

    /// The zone, in presentation form with the final dot.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// The owner in wire form.
    pub fn owner_wire(&self) -> &[u8] {
        &self.owner_wire
    }

    /// The class (1, IN).
    pub fn class(&self) -> u16 {
        self.class
    }

    /// The tracked keys.
    pub fn keys(&self) -> &[TrackedKey] {
        &self.keys
    }

    /// DS anchors not yet matched by a key of a validated RRset.
    pub fn pending_ds(&self) -> &[DsAnchor] {
        &self.ds
    }

    /// Were all anchors revoked (§5)? Then the trust point is gone.
    pub fn is_revoked(&self) -> bool {
        self.revoked
    }

    /// The highest time the trust point has seen (the clock never runs
    /// backwards for it).
    pub fn highest_time(&self) -> u64 {
        self.highest_time
    }

    /// Add a configured DNSKEY anchor (from a file without state, or the
    /// built-in keys): Valid at once, as the operator vouches for it.
    /// A key without the SEP flag only vouches for the first validated
    /// RRset (RFC 5011 tracks SEP keys); unbound does the same.
    pub fn add_configured_key(&mut self, key: Key, ttl: u32, now: u64) {
        if !key.is_sep() {
            if !key.is_revoked() && !self.initial_zsks.contains(&key) {
                self.initial_zsks.push(key);
            }
            return;
        }
        if self.find(&key).is_some() {
            return;
        }
        self.keys.push(TrackedKey {
            state: if key.is_revoked() {
                KeyState::Revoked
            } else {
                KeyState::Valid
            },
            key,
            count: 0,
            last_change: now,
            ttl,
            holddown: 0,
            validated_by: Vec::new(),
            absent_since: None,
        });
    }

    /// Add a configured DS anchor.
    pub fn add_configured_ds(&mut self, ds: DsAnchor) {
        if !self.ds.contains(&ds) {
            self.ds.push(ds);
        }
    }

    /// Restore a key with its state (from a state file).
    pub fn restore_key(&mut self, tracked: TrackedKey) {
        self.highest_time = self.highest_time.max(tracked.last_change);
        if self.find(&tracked.key).is_none() {
            self.keys.push(tracked);
        }
    }

    /// Restore the header of a state file.
    pub fn restore_timers(&mut self, timers: Timers, revoked: bool) {
        self.highest_time = self
            .highest_time
            .max(timers.last_queried)
            .max(timers.last_success);
        self.timers = timers;
        self.revoked = revoked;
    }

    /// The keys that are trust anchors now: Valid and Missing (§4).
    /// Nothing when the trust point is revoked.
    pub fn anchor_keys(&self) -> impl Iterator<Item = &Key> {
        self.keys
            .iter()
            .filter(move |k| !self.revoked && k.state.is_anchor())
            .map(|k| &k.key)
            .chain(self.initial_zsks.iter().filter(move |_| !self.revoked))
    }

    /// Configured non-SEP anchors still waiting for a validated RRset.
    pub fn initial_keys(&self) -> &[Key] {
        &self.initial_zsks
    }

    /// Does the trust point still vouch for anything (keys or DS)?
    pub fn has_anchors(&self) -> bool {
        !self.revoked && (self.anchor_keys().next().is_some() || !self.ds.is_empty())
    }

    /// Would the current anchors validate `obs`? Used before writing, so
    /// that a file is never written with an anchor set that cannot
    /// validate the RRset just seen (a revoked trust point validates
    /// nothing and needs nothing).
    pub fn validates(&self, obs: &Observation) -> bool {
        self.revoked || obs.verified_by.iter().any(|v| self.vouches_for(v))
    }

    /// Is `key` (REVOKE clear) an anchor or named by a DS anchor?
    fn vouches_for(&self, key: &Key) -> bool {
        if self.revoked || key.is_revoked() {
            return false;
        }
        self.keys
            .iter()
            .any(|t| t.state.is_anchor() && t.key == *key)
            || self.initial_zsks.contains(key)
            || self
                .ds
                .iter()
                .any(|d| d.matches(&self.owner_wire, key) == Some(true))
    }

    fn find(&self, key: &Key) -> Option<usize> {
        self.keys.iter().position(|t| t.key.same_key(key))
    }

    fn set_state(
        &mut self,
        i: usize,
        event: Event,
        now: u64,
        out: &mut Outcome,
    ) -> Option<KeyState> {
        let from = self.keys[i].state;
        let to = transition(from, event)?;
        let t = &mut self.keys[i];
        t.state = to;
        t.last_change = now;
        out.changed = true;
        if from.is_anchor() != to.is_anchor() {
            out.anchors_changed = true;
        }
        out.changes.push(Change {
            key: t.key.clone(),
            event,
            from,
            to,
        });
        Some(to)
    }

    /// A probe that did not produce a validated RRset (timeout, SERVFAIL,
    /// bogus): nothing but the retry timer changes (§2.3; a bogus probe is
    /// not KeyRem).
    pub fn on_failure(&mut self, now: u64, policy: &Policy, random: u32) {
        let now = self.advance_clock(now, &mut Vec::new());
        self.timers.last_queried = now;
        self.timers.query_failed = self.timers.query_failed.saturating_add(1);
        if self.timers.retry_time == 0 {
            self.timers.retry_time = policy.probe_interval.unwrap_or(HOUR);
        }
        self.timers.next_probe_time = now + jittered(self.timers.retry_time, random);
    }

    fn advance_clock(&mut self, now: u64, warnings: &mut Vec<String>) -> u64 {
        if now < self.highest_time {
            // The clock went backwards: elapsed time counts as zero, so no
            // hold-down gets shorter (rfc5011.md §4).
            warnings.push(format!(
                "trust point {}: the clock went back {} s; hold-downs wait",
                self.owner,
                self.highest_time - now
            ));
            self.highest_time
        } else {
            self.highest_time = now;
            now
        }
    }

    /// Process one probe's authenticated DNSKEY RRset (RFC 5011 §2, §4).
    /// `random` is a uniformly random value for the probe jitter.
    pub fn on_observation(
        &mut self,
        now: u64,
        obs: &Observation,
        policy: &Policy,
        random: u32,
    ) -> Outcome {
        let mut out = Outcome::default();
        let now = self.advance_clock(now, &mut out.warnings);
        if self.revoked {
            // §5: the trust point is gone; only a new configuration revives it.
            out.warnings.push(format!(
                "trust point {}: all anchors are revoked; ignoring the probe",
                self.owner
            ));
            self.timers.last_queried = now;
            return out;
        }
        let in_rrset = |k: &Key| obs.rrset.iter().any(|r| r == k);

        // §2.1, processed before validation with the current anchors: a
        // REVOKE bit counts only with an RRSIG by the revoked key itself
        // over this RRset; the key is matched ignoring the bit, never by tag.
        for rk in &obs.rrset {
            if !rk.is_revoked() {
                continue;
            }
            let self_signed = obs.revoked_self_signed.contains(rk);
            let Some(i) = self.find(rk) else {
                continue;
            };
            if !self_signed {
                if self.keys[i].state != KeyState::Revoked {
                    out.warnings.push(format!(
                        "trust point {}: key {} carries the REVOKE bit without its own signature; ignored (RFC 5011 §2.1)",
                        self.owner,
                        rk.unrevoked().key_tag()
                    ));
                }
                continue;
            }
            match self.keys[i].state {
                KeyState::Valid | KeyState::Missing => {
                    self.keys[i].key = rk.clone();
                    self.set_state(i, Event::RevBit, now, &mut out);
                    let revoked = rk.unrevoked();
                    self.on_validator_revoked(&revoked, now, &mut out);
                }
                KeyState::AddPend => {
                    // A pending key that is revoked is dropped (rfc5011.md §3).
                    out.warnings.push(format!(
                        "trust point {}: pending key {} was revoked before its hold-down ended; dropped",
                        self.owner,
                        rk.unrevoked().key_tag()
                    ));
                    let t = self.keys.remove(i);
                    out.changes.push(Change {
                        key: t.key,
                        event: Event::RevBit,
                        from: KeyState::AddPend,
                        to: KeyState::Start,
                    });
                    out.changed = true;
                }
                KeyState::Revoked => {
                    self.keys[i].absent_since = None;
                }
                KeyState::Start | KeyState::Removed => {}
            }
        }

        if self.all_revoked() {
            self.revoke_trust_point(now, &mut out);
            return out;
        }

        // Does the RRset validate with a current anchor (after the
        // revocations above)?
        let verifiers: Vec<Key> = obs
            .verified_by
            .iter()
            .filter(|k| in_rrset(k) && self.vouches_for(k))
            .cloned()
            .collect();
        if verifiers.is_empty() {
            // Not a valid RRset: no KeyRem, no sightings (§2.3: retry).
            self.on_failure(now, policy, random);
            out.changed = true;
            return out;
        }
        out.validated = true;

        // Initial DS anchors: the keys they name become Valid at once, and
        // a matched DS has done its work.
        let mut ds_left = Vec::new();
        for ds in std::mem::take(&mut self.ds) {
            let matched: Vec<Key> = obs
                .rrset
                .iter()
                .filter(|k| !k.is_revoked() && ds.matches(&self.owner_wire, k) == Some(true))
                .cloned()
                .collect();
            if matched.is_empty() {
                ds_left.push(ds);
                continue;
            }
            for key in matched {
                match self.find(&key) {
                    Some(i) if self.keys[i].state == KeyState::AddPend => {
                        self.keys[i].state = KeyState::Valid;
                        self.keys[i].last_change = now;
                    }
                    Some(_) => {}
                    None => self.add_configured_key(key, obs.orig_ttl, now),
                }
                out.changed = true;
                out.anchors_changed = true;
            }
        }
        self.ds = ds_left;
        // Initial non-SEP anchors have done their work once an RRset
        // validated. When they were the only anchors, the SEP keys of the
        // RRset they authenticated become Valid at once (unbound
        // `init_zsk_to_ksk`): the operator's anchor vouched for them.
        if !self.initial_zsks.is_empty() {
            let only_zsks = !self.keys.iter().any(|t| t.state.is_anchor());
            let by_zsk = verifiers.iter().any(|v| self.initial_zsks.contains(v));
            self.initial_zsks.clear();
            if only_zsks && by_zsk {
                for key in &obs.rrset {
                    if key.is_sep() && key.is_zone_key() && !key.is_revoked() {
                        match self.find(key) {
                            Some(i) if self.keys[i].state == KeyState::AddPend => {
                                self.keys[i].state = KeyState::Valid;
                                self.keys[i].last_change = now;
                            }
                            Some(_) => {}
                            None => self.add_configured_key(key.clone(), obs.orig_ttl, now),
                        }
                    }
                }
            }
            out.changed = true;
            out.anchors_changed = true;
        }

        // Sightings: NewKey, AddTime, KeyPres.
        for key in &obs.rrset {
            if key.is_revoked() || !key.is_sep() || !key.is_zone_key() {
                continue;
            }
            match self.find(key) {
                None => self.new_key(key, obs, &verifiers, now, policy, &mut out),
                Some(i) => match self.keys[i].state {
                    KeyState::AddPend => {
                        let t = &mut self.keys[i];
                        t.count = t.count.saturating_add(1);
                        for v in &verifiers {
                            if !t.validated_by.contains(v) {
                                t.validated_by.push(v.clone());
                            }
                        }
                        out.changed = true;
                        // §2.4.1: the hold-down has passed since first
                        // sight, this valid RRset was retrieved after it,
                        // and at least `min_sightings` valid RRsets held it.
                        if now.saturating_sub(t.last_change) >= t.holddown
                            && t.count >= policy.min_sightings
                        {
                            self.set_state(i, Event::AddTime, now, &mut out);
                            self.keys[i].count = 0;
                            self.keys[i].validated_by.clear();
                        }
                    }
                    KeyState::Missing => {
                        self.set_state(i, Event::KeyPres, now, &mut out);
                    }
                    KeyState::Revoked => {
                        // Back without the bit: stays revoked (§2.1); its
                        // removal waits again.
                        if self.keys[i].absent_since.take().is_some() {
                            out.changed = true;
                        }
                    }
                    KeyState::Removed => {
                        out.warnings.push(format!(
                            "trust point {}: removed key {} is back; it starts over as a new key (RFC 5011 §4 calls re-use bad practice)",
                            self.owner,
                            key.key_tag()
                        ));
                        self.keys.remove(i);
                        self.new_key(key, obs, &verifiers, now, policy, &mut out);
                    }
                    KeyState::Valid | KeyState::Start => {}
                },
            }
        }

        // Absences: KeyRem, RemTime, keep-missing.
        let present = |k: &Key| {
            obs.rrset
                .iter()
                .chain(&obs.unsupported)
                .any(|r| r.same_key(k))
        };
        let mut i = 0;
        while i < self.keys.len() {
            let k = self.keys[i].key.clone();
            if present(&k) {
                if self.keys[i].state == KeyState::Revoked && self.keys[i].absent_since.is_some() {
                    self.keys[i].absent_since = None;
                    out.changed = true;
                }
                i += 1;
                continue;
            }
            match self.keys[i].state {
                KeyState::AddPend => {
                    // §4: KeyRem → Start; a reappearance starts from zero.
                    self.set_state(i, Event::KeyRem, now, &mut out);
                    self.keys.remove(i);
                    continue;
                }
                KeyState::Valid => {
                    self.set_state(i, Event::KeyRem, now, &mut out);
                }
                KeyState::Missing => {
                    let other_valid = self
                        .keys
                        .iter()
                        .any(|t| t.state == KeyState::Valid && !t.key.same_key(&k));
                    if let Some(keep) = policy.keep_missing
                        && other_valid
                        && now.saturating_sub(self.keys[i].last_change) >= keep
                    {
                        out.warnings.push(format!(
                            "trust point {}: forgetting key {}, missing since {}",
                            self.owner,
                            k.key_tag(),
                            self.keys[i].last_change
                        ));
                        self.keys.remove(i);
                        out.changed = true;
                        out.anchors_changed = true;
                        continue;
                    }
                }
                KeyState::Revoked => {
                    let since = *self.keys[i].absent_since.get_or_insert(now);
                    if now.saturating_sub(since) >= policy.remove_holddown {
                        self.set_state(i, Event::RemTime, now, &mut out);
                    }
                    out.changed = true;
                }
                KeyState::Start | KeyState::Removed => {}
            }
            i += 1;
        }

        // Timers (§2.3).
        let (interval, retry) = probe_intervals(obs.orig_ttl, obs.sig_expiration, now, policy);
        self.timers.last_queried = now;
        self.timers.last_success = now;
        self.timers.query_failed = 0;
        self.timers.query_interval = interval;
        self.timers.retry_time = retry;
        self.timers.next_probe_time = now + jittered(interval, random);
        out.changed = true;
        out
    }

    fn new_key(
        &mut self,
        key: &Key,
        obs: &Observation,
        verifiers: &[Key],
        now: u64,
        policy: &Policy,
        out: &mut Outcome,
    ) {
        if self.keys.len() >= policy.max_keys {
            // Make room from forgotten keys first.
            if let Some(i) = self.keys.iter().position(|t| t.state == KeyState::Removed) {
                self.keys.remove(i);
            } else {
                out.warnings.push(format!(
                    "trust point {}: {} keys tracked already; new key {} ignored",
                    self.owner,
                    self.keys.len(),
                    key.key_tag()
                ));
                return;
            }
        }
        self.keys.push(TrackedKey {
            key: key.clone(),
            state: KeyState::Start,
            count: 1,
            last_change: now,
            ttl: obs.orig_ttl,
            holddown: policy.holddown_for(obs.orig_ttl),
            validated_by: verifiers.to_vec(),
            absent_since: None,
        });
        let i = self.keys.len() - 1;
        self.set_state(i, Event::NewKey, now, out);
    }

    /// §2.2: when every key that validated a pending key is revoked before
    /// its hold-down ends, the acceptance process stops and restarts.
    fn on_validator_revoked(&mut self, revoked: &Key, now: u64, out: &mut Outcome) {
        for t in &mut self.keys {
            if t.state != KeyState::AddPend || t.validated_by.is_empty() {
                continue;
            }
            t.validated_by.retain(|v| !v.same_key(revoked));
            if t.validated_by.is_empty() {
                t.last_change = now;
                t.count = 0;
                out.changed = true;
                out.warnings.push(format!(
                    "trust point {}: every key that validated pending key {} is revoked; its hold-down restarts (RFC 5011 §2.2)",
                    self.owner,
                    t.key.key_tag()
                ));
            }
        }
    }

    fn all_revoked(&self) -> bool {
        self.ds.is_empty()
            && self.initial_zsks.is_empty()
            && self.keys.iter().any(|t| t.state == KeyState::Revoked)
            && !self.keys.iter().any(|t| t.state.is_anchor())
    }

    /// §5: every anchor is revoked; the trust point is deleted and treated
    /// as never configured.
    fn revoke_trust_point(&mut self, now: u64, out: &mut Outcome) {
        self.revoked = true;
        self.keys.retain(|t| t.state == KeyState::Revoked);
        self.timers.last_queried = now;
        out.changed = true;
        out.anchors_changed = true;
        out.warnings.push(format!(
            "trust point {}: every anchor is revoked; it is removed and the zone has no anchor now (RFC 5011 §5)",
            self.owner
        ));
    }
}

/// §2.3: `queryInterval = max(1 h, min(15 d, TTL/2, expiry/2))` and
/// `retryTime = max(1 h, min(1 d, TTL/10, expiry/10))`, where expiry runs
/// from now to the earliest expiration of the verified signatures.
pub fn probe_intervals(
    orig_ttl: u32,
    sig_expiration: u64,
    now: u64,
    policy: &Policy,
) -> (u64, u64) {
    if let Some(fixed) = policy.probe_interval {
        return (fixed, fixed);
    }
    let ttl = u64::from(orig_ttl);
    let exp = sig_expiration.saturating_sub(now);
    let interval = HOUR.max((15 * DAY).min(ttl / 2).min(exp / 2));
    let retry = HOUR.max(DAY.min(ttl / 10).min(exp / 10));
    (interval, retry)
}

/// The wait, jittered to 90–100 % of it like unbound: `wait − wait/10 +
/// random·wait/10`, `random` uniform over `u32`.
pub fn jittered(wait: u64, random: u32) -> u64 {
    let tenth = wait / 10;
    let offset = (u128::from(tenth) * u128::from(random) / u128::from(u32::MAX)) as u64;
    wait - tenth + offset
}
