//! RFC 5011 trust points as the engine runs them: the pure state machine of
//! `danebound-trust-anchors` ([`TrustPoint`]) per managed file, fed only with
//! [`AuthenticatedDnskeys`], persisted in unbound's auto-trust-anchor-file
//! format with atomic writes, and composed with the static anchors into the
//! [`Anchors`] the validator uses.
//!
//! This module reads and writes the state files but never the clock: `now`
//! and the jitter value come from the engine's driver
//! (`engine::Resolver::probe_trust_points`).

mod proof;
pub mod sentinel;

use std::path::{Path, PathBuf};

use danebound_trust_anchors::autotrust_file::{self, FileError};
use danebound_trust_anchors::rfc5011::{Key, KeyState, Policy, TrustPoint};
use danebound_trust_anchors::root::ROOT_KEYS;
use danebound_trust_anchors::store;
use danebound_trust_anchors::text::decode_rdata;
use tracing::{error, info, warn};

pub use proof::AuthenticatedDnskeys;

use crate::validator::Anchors;
use crate::validator::crypto::Crypto;
use crate::wire::{Name, Record, RecordType};

/// How trust points are managed (`[autotrust]` in the configuration).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AutotrustConfig {
    /// Hold-downs, caps and the probe interval override.
    pub policy: Policy,
    /// RFC 8145 §5 key-tag signalling (`_ta-XXXX` queries).
    pub signaling: bool,
    /// RFC 8509 root-key-sentinel answers.
    pub sentinel: bool,
}

impl Default for AutotrustConfig {
    fn default() -> Self {
        Self {
            policy: Policy::default(),
            signaling: true,
            sentinel: true,
        }
    }
}

/// One managed trust point and its file.
#[derive(Clone, Debug)]
struct Managed {
    path: PathBuf,
    tp: TrustPoint,
    zone: Name,
    /// The file is behind the state in memory (first start, failed write).
    dirty: bool,
}

/// The managed trust points and the static anchors beside them.
#[derive(Debug)]
pub struct TrustPoints {
    points: Vec<Managed>,
    statics: Anchors,
    config: AutotrustConfig,
}

/// What one probe did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// The set of trusted keys changed: the engine swaps its anchors and
    /// drops key sets authenticated through anchors no longer trusted.
    pub anchors_changed: bool,
    /// The probe validated.
    pub validated: bool,
}

/// The built-in root keys as a trust point: Valid from the start, as an
/// operator-configured anchor is.
pub fn builtin_root() -> TrustPoint {
    let mut tp = TrustPoint::new(".").expect("the root is a name");
    for k in ROOT_KEYS {
        tp.add_configured_key(
            Key::new(k.flags, 3, k.algorithm, k.public_key()),
            172_800,
            0,
        );
    }
    tp
}

/// Read a state file. A missing or empty file starts from the built-in
/// root keys (`Ok((tp, true))`: to be written); anything unreadable or
/// damaged is an error naming the file and line.
pub fn load_file(path: &Path, policy: &Policy) -> Result<(TrustPoint, bool), String> {
    let name = path.display().to_string();
    let content = match std::fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes)
            .map_err(|_| format!("{name}: not a text file (invalid UTF-8)"))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(format!("{name}: {e}")),
    };
    match autotrust_file::parse(&content, &name, policy) {
        Ok(tp) => Ok((tp, false)),
        Err(FileError { empty: true, .. }) => Ok((builtin_root(), true)),
        Err(e) => Err(format!(
            "{e}; repair it with `danebound anchor bootstrap {name}`"
        )),
    }
}

/// Is there a key or DS in `tp` we can validate with? (An anchor file whose
/// every key or DS uses an unsupported algorithm or digest would otherwise
/// make the whole tree insecure without a word.)
pub fn check_supported(tp: &TrustPoint, crypto: &dyn Crypto, file: &str) -> Result<(), String> {
    if tp.is_revoked() {
        return Ok(());
    }
    let keys = tp
        .anchor_keys()
        .chain(
            tp.keys()
                .iter()
                .filter(|t| t.state == KeyState::AddPend)
                .map(|t| &t.key),
        )
        .any(|k| crypto.supports_algorithm(k.algorithm, &k.public_key));
    let ds = tp.pending_ds().iter().any(|d| {
        crypto.supports_algorithm(d.algorithm, &[]) && crypto.supports_digest(d.digest_type)
    });
    if keys || ds {
        Ok(())
    } else {
        Err(format!(
            "{file}: every key and DS of trust point {} uses an unsupported algorithm or digest; \
             it would validate nothing",
            tp.owner()
        ))
    }
}

fn record(zone: &Name, ttl: u32, rtype: RecordType, rdata: &[u8]) -> Option<Record> {
    let data = decode_rdata(rtype, rdata).ok()?;
    Some(Record::from_rdata(zone.clone(), ttl, data))
}

/// Add the anchors of `tp` (zone `zone`) to `anchors`: its Valid and
/// Missing keys and its initial DS records; nothing when it is revoked
/// (RFC 5011 §5: as never configured).
pub fn add_trust_point(anchors: &mut Anchors, zone: &Name, tp: &TrustPoint) {
    if tp.is_revoked() {
        return;
    }
    for key in tp.anchor_keys() {
        if let Some(r) = record(zone, 172_800, RecordType::DNSKEY, &key.rdata()) {
            anchors.add(&r);
        }
    }
    for ds in tp.pending_ds() {
        let mut rdata = ds.key_tag.to_be_bytes().to_vec();
        rdata.extend([ds.algorithm, ds.digest_type]);
        rdata.extend(&ds.digest);
        if let Some(r) = record(zone, 172_800, RecordType::DS, &rdata) {
            anchors.add(&r);
        }
    }
}

impl TrustPoints {
    /// Load the managed files beside the static anchors.
    pub fn load(
        paths: &[PathBuf],
        statics: Anchors,
        config: AutotrustConfig,
        crypto: &dyn Crypto,
    ) -> Result<Self, String> {
        let mut points: Vec<Managed> = Vec::new();
        for path in paths {
            let (tp, dirty) = load_file(path, &config.policy)?;
            check_supported(&tp, crypto, &path.display().to_string())?;
            let zone = Name::from_ascii(tp.owner())
                .map_err(|e| format!("{}: owner {}: {e}", path.display(), tp.owner()))?;
            if let Some(other) = points.iter().find(|m| m.zone == zone) {
                return Err(format!(
                    "{} and {} both manage trust point {zone}",
                    other.path.display(),
                    path.display()
                ));
            }
            if tp.is_revoked() {
                warn!(file = %path.display(), "trust point {zone}: all keys revoked; it has no anchor (RFC 5011 §5)");
            }
            points.push(Managed {
                path: path.clone(),
                tp,
                zone,
                dirty,
            });
        }
        Ok(Self {
            points,
            statics,
            config,
        })
    }

    /// Replaces the static anchors (a reload re-read their files); the
    /// managed ones stay as they are.
    pub(crate) fn set_statics(&mut self, statics: Anchors) {
        self.statics = statics;
    }

    /// The configuration.
    pub fn config(&self) -> &AutotrustConfig {
        &self.config
    }

    /// Is anything managed?
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// The anchors the validator uses: the static ones and, per managed
    /// trust point, its Valid and Missing keys and initial DS records. A
    /// revoked trust point contributes nothing (§5: as never configured).
    pub fn anchors(&self) -> Anchors {
        let mut anchors = self.statics.clone();
        for m in &self.points {
            add_trust_point(&mut anchors, &m.zone, &m.tp);
        }
        anchors
    }

    /// The trust points due for a probe at `now`: (index, zone, a copy of
    /// the trust point to judge the answer against).
    pub fn due(&self, now: u64) -> Vec<(usize, Name, TrustPoint)> {
        self.points
            .iter()
            .enumerate()
            .filter(|(_, m)| !m.tp.is_revoked() && m.tp.timers.next_probe_time <= now)
            .map(|(i, m)| (i, m.zone.clone(), m.tp.clone()))
            .collect()
    }

    /// When the next probe or write retry is due.
    pub fn next_wake(&self) -> Option<u64> {
        let probe = self
            .points
            .iter()
            .filter(|m| !m.tp.is_revoked())
            .map(|m| m.tp.timers.next_probe_time)
            .min();
        let retry = self.points.iter().any(|m| m.dirty).then(|| {
            self.points
                .iter()
                .map(|m| m.tp.highest_time())
                .max()
                .unwrap_or(0)
                + 60
        });
        match (probe, retry) {
            (Some(p), Some(r)) => Some(p.min(r)),
            (p, r) => p.or(r),
        }
    }

    /// The managed trust points.
    pub fn trust_points(&self) -> impl Iterator<Item = (&Path, &TrustPoint)> {
        self.points.iter().map(|m| (m.path.as_path(), &m.tp))
    }

    /// Feed the outcome of the probe of trust point `i`.
    pub fn apply(
        &mut self,
        i: usize,
        now: u64,
        probe: Result<AuthenticatedDnskeys, String>,
        random: u32,
    ) -> Applied {
        let policy = self.config.policy.clone();
        let Some(m) = self.points.get_mut(i) else {
            return Applied::default();
        };
        let proof = match probe {
            Ok(proof) => proof,
            Err(reason) => {
                // §2.3: retry later; a failed or bogus probe changes no key
                // and is not written.
                m.tp.on_failure(now, &policy, random);
                warn!(
                    zone = %m.zone, failures = m.tp.timers.query_failed,
                    "trust anchor probe failed: {reason}; next try in {} s",
                    m.tp.timers.next_probe_time.saturating_sub(now)
                );
                return Applied::default();
            }
        };
        let obs = proof.observation();
        let out = m.tp.on_observation(now, obs, &policy, random);
        for w in &out.warnings {
            warn!(zone = %m.zone, "{w}");
        }
        for c in &out.changes {
            info!(
                zone = %m.zone, key = c.key.key_tag(), algorithm = c.key.algorithm,
                "trust anchor {:?}: {} -> {}", c.event, c.from, c.to
            );
        }
        if out.changed {
            if m.tp.validates(obs) {
                // (A revoked trust point validates nothing and needs
                // nothing: its `;;REVOKED` file is written.)
                m.dirty = true;
            } else if out.validated {
                // Never write an anchor set that cannot validate the RRset
                // just seen (it would lock us out after a restart).
                error!(zone = %m.zone, "trust anchor state would not validate the DNSKEY RRset just seen; not written");
            }
        }
        if !out.validated && !m.tp.is_revoked() {
            warn!(zone = %m.zone, "trust anchor probe: the DNSKEY RRset does not validate with our anchors");
        }
        Applied {
            anchors_changed: out.anchors_changed,
            validated: out.validated,
        }
    }

    /// Write every file that is behind. A failed write keeps the previous
    /// file and the state in memory; it is logged and retried at the next
    /// wake. Returns the errors.
    pub fn flush(&mut self) -> Vec<String> {
        let mut errors = Vec::new();
        for m in &mut self.points {
            if !m.dirty {
                continue;
            }
            if let Some(dir) = m
                .path
                .parent()
                .filter(|d| !d.as_os_str().is_empty() && !d.exists())
            {
                // First start: the state directory (e.g. /var/lib/danebound).
                if let Err(e) = std::fs::create_dir_all(dir) {
                    errors.push(format!("cannot create {}: {e}", dir.display()));
                    continue;
                }
            }
            match store::write_atomic(&m.path, autotrust_file::write(&m.tp).as_bytes()) {
                Ok(()) => m.dirty = false,
                Err(e) => {
                    error!(zone = %m.zone, "cannot write trust anchor state: {e}; keeping it in memory and retrying");
                    errors.push(e.to_string());
                }
            }
        }
        errors
    }

    /// Can every state file be rewritten? (Checked at startup: a read-only
    /// directory would only show at the first key event.)
    pub fn check_writable(&self) -> Vec<String> {
        self.points
            .iter()
            .filter_map(|m| store::check_writable(&m.path).err())
            .map(|e| e.to_string())
            .collect()
    }

    /// RFC 8145 §5.1 key-tag query names, one per trust point with anchors:
    /// `_ta-` and the anchors' key tags as 4-digit lowercase hex, ascending,
    /// joined by `-`, under the trust point.
    pub fn signal_names(&self) -> Vec<Name> {
        self.points
            .iter()
            .filter_map(|m| {
                let mut tags: Vec<u16> = m.tp.anchor_keys().map(Key::key_tag).collect();
                tags.sort_unstable();
                tags.dedup();
                sentinel::key_tag_query(&m.zone, &tags)
            })
            .collect()
    }
}
