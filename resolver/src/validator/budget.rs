//! Limits against algorithmic complexity attacks on validation.
//!
//! KeyTrap (CVE-2023-50387) makes a validator try every key against every
//! signature by colliding key tags; the NSEC3 variant (CVE-2023-50868) makes
//! it hash many names with many iterations. Every validation session carries
//! a [`Budget`]; each costly step is charged to it, and running out ends the
//! session with a bogus reason instead of burning CPU.

use super::outcome::BogusReason;

/// The limits, each with its default, its range and its source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Keys tried for one RRSIG whose key tag and algorithm match several
    /// DNSKEYs. Default 4, range 1–16. hickory uses 2
    /// (`MAX_KEY_TAG_COLLISIONS`); BIND 9.18.24 and unbound 1.19.1 cap it
    /// after CVE-2023-50387. Real zones collide at most during a rollover.
    pub max_keys_per_rrsig: u32,
    /// RRSIGs tried per RRset. Default 8, range 1–32: unbound's
    /// `MAX_VALIDATE_RRSIGS` and hickory's `MAX_RRSIGS_PER_RRSET`.
    pub max_rrsigs_per_rrset: u32,
    /// Signature verifications per validation session (one response with
    /// its whole chain). Default 64, range 8–1024. A three-level chain with a
    /// DNAME, a CNAME and a denial needs fewer than 20.
    pub max_verifications: u32,
    /// Failed signature verifications per session. Default 16, range 1–256;
    /// after CVE-2023-50387 BIND stops at the first few failures
    /// (`max-validation-failures-per-fetch`).
    pub max_failed_verifications: u32,
    /// NSEC3 hash computations per session. Default 128, range 8–4096; unbound
    /// 1.19.1 limits NSEC3 calculations per message after CVE-2023-50868.
    pub max_nsec3_hashes: u32,
    /// Largest NSEC3 iteration count that is validated; above it the zone is
    /// treated as insecure with EDE 27. Default 150 (RFC 9276 §3.2: "Validating
    /// resolvers MAY return an insecure response to their clients when
    /// processing NSEC3 records with iterations larger than 0"; 150 is the
    /// value in use by BIND, unbound and Knot Resolver).
    pub max_nsec3_iterations: u16,
    /// Smallest RSA modulus accepted, in bits. Default 512, the floor of
    /// RFC 5702 §2 (and RFC 3110), which is also what unbound validates:
    /// a zone signed with a weak key is still checked, where refusing the
    /// key would make it insecure (RFC 4035 §5.2) and check nothing. Keys
    /// below count as unsupported algorithms, which makes the zone
    /// insecure; values below 512 act as 512, and RSA/SHA-512 keys need
    /// 1024 bits whatever the limit (RFC 5702 §2). Moduli below 1024 bits
    /// are verified by `crypto/rsa.rs`, larger ones by ring.
    pub min_rsa_bits: u32,
    /// DS and DNSKEY fetches one validation may ask for. Default 64, range
    /// 8–512. A walk costs at most two fetches per label between the anchor
    /// and the signer (a DS, and a DNSKEY at each cut), so a deep name under
    /// a three-level chain needs about ten; the limit stops a hostile
    /// upstream from turning one client query into thousands of upstream
    /// queries through long chains of CNAMEs into deep names (unbound bounds
    /// the same with `max-query-restarts` and its validation suspend limit).
    pub max_fetches: u32,
    /// DS digests (RFC 4034 §5.1.4) computed per validation session. Default
    /// 1024, range 16–8192. Each DNSKEY is hashed at most once per digest
    /// type, and only when a DS names its key tag and algorithm; a DNSKEY
    /// answer fits about 800 P-256 keys, so the default lets the key a DS
    /// names be found among hundreds sharing its tag while bounding a DS
    /// flood (600 DS × 600 keys with one tag was 360,000 uncharged digests;
    /// unbound bounds the same work by its key-tag collision limits).
    pub max_ds_digests: u32,
    /// Bytes of DNSKEY sets one validation session may authenticate and
    /// hold (`ZoneKeys::bytes`). Default 1 MiB, range 64 KiB–64 MiB. A
    /// three-level chain holds about 20 KB; a DNSKEY set that fills a 64 KB
    /// message holds 331 KB, so three such sets fit. With the server's bound
    /// on sessions in flight this bounds the memory validations in progress
    /// can take.
    pub max_key_bytes: u32,
    /// CNAME/DNAME links followed in one answer. Default 16, range 1–64:
    /// unbound's `max-query-restarts` is 11, BIND's 16.
    pub max_chain_links: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_keys_per_rrsig: 4,
            max_rrsigs_per_rrset: 8,
            max_verifications: 64,
            max_failed_verifications: 16,
            max_nsec3_hashes: 128,
            max_nsec3_iterations: 150,
            min_rsa_bits: 512,
            max_chain_links: 16,
            max_fetches: 64,
            max_ds_digests: 1024,
            max_key_bytes: 1 << 20,
        }
    }
}

/// What a validation session has spent so far against its [`Limits`].
#[derive(Clone, Debug)]
pub struct Budget {
    limits: Limits,
    verifications: u32,
    failed_verifications: u32,
    nsec3_hashes: u32,
    digests: u32,
    key_bytes: u32,
}

impl Budget {
    /// A fresh budget under the given limits.
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            verifications: 0,
            failed_verifications: 0,
            nsec3_hashes: 0,
            digests: 0,
            key_bytes: 0,
        }
    }

    /// The limits this budget enforces.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Charge one signature verification; fails when the session is out of
    /// verifications.
    pub(crate) fn charge_verification(
        &mut self,
        what: &dyn std::fmt::Display,
    ) -> Result<(), BogusReason> {
        let max = self.limits.max_verifications;
        charge(&mut self.verifications, max, "max_verifications", what)
    }

    /// Record a failed verification; fails when too many have failed.
    pub(crate) fn record_failure(
        &mut self,
        what: &dyn std::fmt::Display,
    ) -> Result<(), BogusReason> {
        self.failed_verifications += 1;
        if self.failed_verifications > self.limits.max_failed_verifications {
            return Err(BogusReason::BudgetExceeded {
                limit: "max_failed_verifications",
                detail: what.to_string(),
            });
        }
        Ok(())
    }

    /// Charge one NSEC3 hash computation (of any iteration count up to
    /// `max_nsec3_iterations`).
    pub(crate) fn charge_nsec3_hash(
        &mut self,
        what: &dyn std::fmt::Display,
    ) -> Result<(), BogusReason> {
        let max = self.limits.max_nsec3_hashes;
        charge(&mut self.nsec3_hashes, max, "max_nsec3_hashes", what)
    }

    /// Charge one DS digest computation.
    pub(crate) fn charge_digest(
        &mut self,
        what: &dyn std::fmt::Display,
    ) -> Result<(), BogusReason> {
        let max = self.limits.max_ds_digests;
        charge(&mut self.digests, max, "max_ds_digests", what)
    }

    /// What has been charged so far against the limit named `limit` (the
    /// name a [`BogusReason::BudgetExceeded`] carries); 0 for other names.
    pub(crate) fn spent(&self, limit: &str) -> u32 {
        match limit {
            "max_verifications" => self.verifications,
            "max_failed_verifications" => self.failed_verifications,
            "max_nsec3_hashes" => self.nsec3_hashes,
            "max_ds_digests" => self.digests,
            "max_key_bytes" => self.key_bytes,
            _ => 0,
        }
    }

    /// Charge `bytes` of an authenticated DNSKEY set held by the session.
    pub(crate) fn charge_key_bytes(
        &mut self,
        bytes: usize,
        what: &dyn std::fmt::Display,
    ) -> Result<(), BogusReason> {
        let bytes = u32::try_from(bytes).unwrap_or(u32::MAX);
        if self.key_bytes.saturating_add(bytes) > self.limits.max_key_bytes {
            return Err(BogusReason::BudgetExceeded {
                limit: "max_key_bytes",
                detail: what.to_string(),
            });
        }
        self.key_bytes += bytes;
        Ok(())
    }

    /// Bytes of DNSKEY sets charged so far.
    pub fn key_bytes(&self) -> u32 {
        self.key_bytes
    }

    /// DS digests charged so far.
    pub fn digests(&self) -> u32 {
        self.digests
    }

    /// Verifications charged so far.
    pub fn verifications(&self) -> u32 {
        self.verifications
    }

    /// NSEC3 hashes charged so far.
    pub fn nsec3_hashes(&self) -> u32 {
        self.nsec3_hashes
    }
}

/// Count one unit against `max`, or fail naming `limit` when none is left.
fn charge(
    count: &mut u32,
    max: u32,
    limit: &'static str,
    what: &dyn std::fmt::Display,
) -> Result<(), BogusReason> {
    if *count >= max {
        return Err(BogusReason::BudgetExceeded {
            limit,
            detail: what.to_string(),
        });
    }
    *count += 1;
    Ok(())
}

impl Default for Budget {
    fn default() -> Self {
        Self::new(Limits::default())
    }
}
