//! DANE certificate matching (RFC 6698, RFC 7671, RFC 7672).
//!
//! Authenticated TLSA records and a certificate chain in, a [`Verdict`]
//! out: which record matched at which depth, or why none did.
//!
//! # What it does
//!
//! * Classifies records as usable or unusable (RFC 6698 §4.1, RFC 7671 §4;
//!   for SMTP also RFC 7672 §3.1.3) and applies digest agility (RFC 7671
//!   §9). See [`TlsaRecord::usability`].
//! * DANE-EE(3): compares the leaf certificate or key, nothing else
//!   (RFC 7671 §5.1).
//! * DANE-TA(2): validates the path from the leaf to a trust anchor that
//!   the record matches at depth ≥ 1, or that the record gives in full
//!   (`2 0 0` certificate, `2 1 0` bare key), with validity dates and name
//!   checks (RFC 7671 §5.2). Path building and signature checks are
//!   rustls-webpki's; where webpki is stricter than the RFC the code says
//!   so and follows the RFC.
//! * PKIX-TA(0) / PKIX-EE(1): PKIX validation to the trust store passed in
//!   [`VerifyParams::generic`], plus the TLSA match (RFC 7671 §5.3–5.4).
//! * Plain PKIX validation for when DANE does not apply ([`verify_pkix`]).
//! * Generates TLSA records from certificates ([`generate`]) and says how
//!   a record behaves at renewal ([`RenewalStability`]).
//! * Adapts all this to rustls ([`DaneServerVerifier`]).
//!
//! # What it does not do
//!
//! No DNS and no DNSSEC validation, no network I/O, no files, no clock:
//! the caller supplies the records, the chain, the trust store and the
//! time. It does not decide the SMTP policy (whether to use DANE at all,
//! what to do with insecure or bogus answers, RFC 7672 §2.2); the CLI does.
//!
//! # Safety model
//!
//! RFC 6698 §4 requires the TLSA RRset to be DNSSEC-validated. Matching
//! only accepts a [`SecureTlsa`], whose production constructor
//! [`SecureTlsa::from_validated`] is to be called with the records of a
//! Secure lookup outcome and nothing else (see its docs for the wiring).
//! The other constructor, [`danger::tlsa_without_dnssec`], marks the
//! records [`Provenance::Unvalidated`]; such a verdict may show a match,
//! but [`Verdict::is_authenticated`] is false and [`DaneServerVerifier`]
//! refuses the handshake. Everything else that relaxes a check lives in
//! [`danger`].
//!
//! Malformed input never panics: unusable records are reported, a bad
//! leaf or an absurd chain (longer than [`MAX_CHAIN_LEN`], looping issuers)
//! is a [`DaneError`].
//!
//! # Decisions and limitations
//!
//! * The DANE-TA trust anchor's own validity dates and CA bit are not
//!   checked: an anchor is a name and a key (RFC 5280 §6.1.1 (d)), RFC 7671
//!   §5.2 asks for neither, and webpki does the same (so did OpenSSL 3.0
//!   for an expired intermediate matched as TA at depth 1, when we checked).
//! * The lowest matching depth wins; DANE-EE beats DANE-TA, which beats
//!   PKIX (OpenSSL's order, danetest cases 43–46). Every anchor candidate is
//!   tried, so a valid path to a higher TA is found even when a lower one
//!   fails (OpenSSL stops at the first).
//! * A leaf marked CA:TRUE is accepted under DANE-TA (webpki refuses such a
//!   leaf; RFC 7671 §5.2 does not, nor does OpenSSL): its path is then
//!   validated by our own code, which refuses paths through certificates
//!   with name constraints.
//! * Path signatures use webpki's algorithms: no SHA-1 signatures, no RSA
//!   keys under 2048 bits, no DSA. DANE-EE is unaffected (digests only).
//!   An X.509 v1 leaf can match DANE-EE, not DANE-TA or PKIX.
//! * Reference identifiers are DNS names; CN is used only when the leaf has
//!   no DNS SAN (RFC 6125 §6.4.4); no partial wildcards.
//! * Not supported: raw public keys (RFC 7250), PrivCert/PrivSel/PrivMatch
//!   (255), revocation.
//!
//! # Example
//!
//! ```
//! use danebound_verifier::{danger, verify, TlsaRecord, VerifyParams};
//! use rustls_pki_types::UnixTime;
//!
//! let record: TlsaRecord = "3 1 1 0000000000000000000000000000000000000000000000000000000000000000"
//!     .parse()
//!     .unwrap();
//! let tlsa = danger::tlsa_without_dnssec(vec![record]);
//! let params = VerifyParams::smtp("mx.example.net", UnixTime::now());
//! let verdict = verify(&tlsa, &[], &params);
//! assert!(!verdict.is_authenticated());
//! ```

mod agility;
mod ca_leaf;
pub mod danger;
mod der;
mod generate;
mod names;
mod params;
mod pkix;
mod record;
mod report;
mod rustls;
mod secure;
mod verify;

pub use generate::{
    GenerateError, RenewalStability, generate, record_matches_certificate, survives_renewal,
};
pub use params::{Profile, VerifyParams};
pub use pkix::{PkixError, verify_pkix};
pub use record::{MatchingType, RecordParseError, Selector, TlsaRecord, Unusable, Usage};
pub use report::{DaneError, DaneMatch, MatchKind, RecordReport, RecordStatus, Verdict};
pub use rustls::{DaneServerVerifier, VerdictSlot};
pub use secure::{Provenance, SecureTlsa};
pub use verify::{MAX_CHAIN_LEN, verify};
