//! The lab's cases: one query each, with the answer a validating resolver
//! must give (rcode, AD, EDE).
//!
//! Zone contents are in `tests/lab/zones/` and `tests/lab/build-zones.sh`
//! (which also lists every case zone, its signer, algorithm and denial);
//! `tests/data/zones/MANIFEST.md` explains each zone. Keep the three in step:
//! `tests/tests/lab_oracle.rs` asks a validating unbound every case and
//! fails on a disagreement.

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

/// What a validator concludes about a case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Validated from the anchor: AD=1.
    Secure,
    /// Provably unsigned (or signed with what we may not validate): data
    /// returned, AD=0.
    Insecure,
    /// Validation failed: SERVFAIL with an EDE.
    Bogus,
}

/// One query and its expected answer from a validating resolver asked with
/// RD=1, DO=1, CD=0.
#[derive(Clone, Copy, Debug)]
pub struct Case {
    /// Short unique identifier (used in test output).
    pub name: &'static str,
    /// The query name (absolute).
    pub qname: &'static str,
    /// The query type.
    pub qtype: RecordType,
    /// Secure, insecure or bogus.
    pub verdict: Verdict,
    /// Expected response code.
    pub rcode: ResponseCode,
    /// Expected AD bit.
    pub ad: bool,
    /// The RFC 8914 EDE code danebound must attach, if any. Insecure cases
    /// with a reason (unsupported algorithm or digest, NSEC3 iterations)
    /// carry one too.
    pub ede: Option<u16>,
    /// Where unbound 1.17 (the reference oracle) is known to differ from
    /// this row, and why; `None` when it agrees on rcode, AD and EDE.
    pub oracle_note: Option<&'static str>,
    /// What the case exercises.
    pub about: &'static str,
}

impl Case {
    /// Where `reply` disagrees with the table: rcode, AD, and the EDE code
    /// when `with_ede` (the client sent EDNS). Empty when it agrees.
    pub fn mismatches(&self, reply: &super::Reply, with_ede: bool) -> Vec<String> {
        let mut wrong = Vec::new();
        if reply.rcode() != self.rcode {
            wrong.push(format!("rcode {} (table: {})", reply.rcode(), self.rcode));
        }
        if reply.ad() != self.ad {
            wrong.push(format!("AD {} (table: {})", reply.ad(), self.ad));
        }
        if with_ede && reply.ede_code() != self.ede {
            wrong.push(format!(
                "EDE {:?} {:?} (table: {:?})",
                reply.ede_code(),
                reply.ede(),
                self.ede
            ));
        }
        wrong
    }
}

use RecordType::{A, AAAA, DS, SOA, TXT};
use ResponseCode::{NXDomain, NoError, ServFail};
use Verdict::{Bogus, Insecure, Secure};

const fn secure(
    name: &'static str,
    qname: &'static str,
    qtype: RecordType,
    about: &'static str,
) -> Case {
    Case {
        name,
        qname,
        qtype,
        verdict: Secure,
        rcode: NoError,
        ad: true,
        ede: None,
        oracle_note: None,
        about,
    }
}

const fn secure_nx(name: &'static str, qname: &'static str, about: &'static str) -> Case {
    Case {
        rcode: NXDomain,
        ..secure(name, qname, A, about)
    }
}

const fn insecure(
    name: &'static str,
    qname: &'static str,
    qtype: RecordType,
    rcode: ResponseCode,
    ede: Option<u16>,
    about: &'static str,
) -> Case {
    Case {
        name,
        qname,
        qtype,
        verdict: Insecure,
        rcode,
        ad: false,
        ede,
        oracle_note: None,
        about,
    }
}

const fn bogus(
    name: &'static str,
    qname: &'static str,
    qtype: RecordType,
    ede: u16,
    about: &'static str,
) -> Case {
    Case {
        name,
        qname,
        qtype,
        verdict: Bogus,
        rcode: ServFail,
        ad: false,
        ede: Some(ede),
        oracle_note: None,
        about,
    }
}

/// unbound 1.17 sends no EDE with insecure answers.
const NO_EDE_WHEN_INSECURE: Option<&str> = Some("unbound 1.17 attaches no EDE to insecure answers");

/// Every case, in a stable order.
pub const CASES: &[Case] = &[
    // --- the hierarchy ---------------------------------------------------------
    secure(
        "root-soa",
        ".",
        SOA,
        "the root's own data, signed by its ZSK (RSASHA256)",
    ),
    secure(
        "tld-www",
        "www.test.",
        A,
        "a name in test. (BIND, ECDSA KSK+ZSK)",
    ),
    secure(
        "example-www",
        "www.example.test.",
        A,
        "a name in example.test. (ldns, ECDSA CSK)",
    ),
    secure_nx(
        "example-nxdomain",
        "nx.example.test.",
        "NXDOMAIN proven by NSEC",
    ),
    secure(
        "example-nodata",
        "www.example.test.",
        TXT,
        "NODATA proven by NSEC",
    ),
    secure(
        "example-ent",
        "b.ent.example.test.",
        A,
        "NODATA at an empty non-terminal (NSEC)",
    ),
    secure(
        "wildcard",
        "foo.wild.example.test.",
        A,
        "wildcard expansion with an NSEC proof of no closer match",
    ),
    secure(
        "wildcard-nodata",
        "foo.wild.example.test.",
        AAAA,
        "NODATA at a wildcard (NSEC)",
    ),
    // --- CNAME and DNAME -------------------------------------------------------------
    secure("cname", "cname.example.test.", A, "CNAME inside the zone"),
    secure(
        "cname-chain",
        "cname-chain.example.test.",
        A,
        "two CNAMEs inside the zone",
    ),
    secure(
        "cname-cross",
        "cname-cross.example.test.",
        A,
        "CNAME into another signed zone (alg8)",
    ),
    insecure(
        "cname-insecure",
        "cname-insecure.example.test.",
        A,
        NoError,
        None,
        "CNAME (secure) into an insecure zone: the answer as a whole is insecure",
    ),
    bogus(
        "cname-bogus",
        "cname-bogus.example.test.",
        A,
        7,
        "CNAME into a zone whose signatures expired",
    ),
    Case {
        rcode: NXDomain,
        ..secure(
            "cname-dangling",
            "cname-dangling.example.test.",
            A,
            "CNAME to a name that does not exist",
        )
    },
    secure(
        "dname",
        "www.dname.example.test.",
        A,
        "DNAME into alg13.example.test. (synthesised CNAME)",
    ),
    // --- one zone per algorithm ------------------------------------------------------
    secure("alg5", "www.alg5.example.test.", A, "RSASHA1 (ldns)"),
    secure_nx(
        "alg5-nxdomain",
        "nx.alg5.example.test.",
        "RSASHA1, NSEC denial",
    ),
    secure(
        "alg7",
        "www.alg7.example.test.",
        A,
        "RSASHA1-NSEC3-SHA1 (BIND)",
    ),
    secure_nx(
        "alg7-nxdomain",
        "nx.alg7.example.test.",
        "RSASHA1-NSEC3-SHA1, NSEC3 denial",
    ),
    secure("alg8", "www.alg8.example.test.", A, "RSASHA256 (BIND)"),
    secure_nx(
        "alg8-nxdomain",
        "nx.alg8.example.test.",
        "RSASHA256, NSEC denial",
    ),
    secure("alg10", "www.alg10.example.test.", A, "RSASHA512 (ldns)"),
    secure_nx(
        "alg10-nxdomain",
        "nx.alg10.example.test.",
        "RSASHA512, NSEC denial",
    ),
    secure(
        "alg13",
        "www.alg13.example.test.",
        A,
        "ECDSAP256SHA256 (BIND)",
    ),
    secure_nx(
        "alg13-nxdomain",
        "nx.alg13.example.test.",
        "ECDSAP256SHA256, NSEC denial",
    ),
    secure(
        "alg14",
        "www.alg14.example.test.",
        A,
        "ECDSAP384SHA384 (ldns)",
    ),
    secure_nx(
        "alg14-nxdomain",
        "nx.alg14.example.test.",
        "ECDSAP384SHA384, NSEC denial",
    ),
    secure("alg15", "www.alg15.example.test.", A, "ED25519 (ldns)"),
    secure_nx(
        "alg15-nxdomain",
        "nx.alg15.example.test.",
        "ED25519, NSEC denial",
    ),
    secure("alg16", "www.alg16.example.test.", A, "ED448 (BIND)"),
    secure_nx(
        "alg16-nxdomain",
        "nx.alg16.example.test.",
        "ED448, NSEC denial",
    ),
    // The same algorithms from the other signer.
    secure(
        "alg5-bind",
        "www.alg5-bind.example.test.",
        A,
        "RSASHA1 (BIND)",
    ),
    secure_nx(
        "alg5-bind-nxdomain",
        "nx.alg5-bind.example.test.",
        "RSASHA1 (BIND), denial",
    ),
    secure(
        "alg7-ldns",
        "www.alg7-ldns.example.test.",
        A,
        "RSASHA1-NSEC3-SHA1 (ldns), NSEC3",
    ),
    secure_nx(
        "alg7-ldns-nxdomain",
        "nx.alg7-ldns.example.test.",
        "RSASHA1-NSEC3-SHA1 (ldns), NSEC3, denial",
    ),
    secure(
        "alg10-bind",
        "www.alg10-bind.example.test.",
        A,
        "RSASHA512 (BIND)",
    ),
    secure_nx(
        "alg10-bind-nxdomain",
        "nx.alg10-bind.example.test.",
        "RSASHA512 (BIND), denial",
    ),
    secure(
        "alg14-bind",
        "www.alg14-bind.example.test.",
        A,
        "ECDSAP384SHA384 (BIND)",
    ),
    secure_nx(
        "alg14-bind-nxdomain",
        "nx.alg14-bind.example.test.",
        "ECDSAP384SHA384 (BIND), denial",
    ),
    secure(
        "alg15-bind",
        "www.alg15-bind.example.test.",
        A,
        "ED25519 (BIND)",
    ),
    secure_nx(
        "alg15-bind-nxdomain",
        "nx.alg15-bind.example.test.",
        "ED25519 (BIND), denial",
    ),
    secure(
        "alg16-ldns",
        "www.alg16-ldns.example.test.",
        A,
        "ED448 (ldns)",
    ),
    secure_nx(
        "alg16-ldns-nxdomain",
        "nx.alg16-ldns.example.test.",
        "ED448 (ldns), denial",
    ),
    // --- NSEC3 -----------------------------------------------------------------------------
    secure(
        "nsec3",
        "www.nsec3.example.test.",
        A,
        "NSEC3 zone, positive answer",
    ),
    secure_nx(
        "nsec3-nxdomain",
        "nx.nsec3.example.test.",
        "NSEC3 (no salt, 0 iterations) closest-encloser proof",
    ),
    secure(
        "nsec3-nodata",
        "www.nsec3.example.test.",
        TXT,
        "NSEC3 NODATA",
    ),
    secure(
        "nsec3-ent",
        "b.ent.nsec3.example.test.",
        A,
        "NSEC3 NODATA at an empty non-terminal",
    ),
    secure(
        "nsec3-wildcard",
        "foo.wild.nsec3.example.test.",
        A,
        "wildcard expansion with an NSEC3 proof",
    ),
    secure(
        "nsec3-wildcard-nodata",
        "foo.wild.nsec3.example.test.",
        TXT,
        "NSEC3 wildcard NODATA",
    ),
    insecure(
        "nsec3-insecure-delegation",
        "www.unsigned.nsec3.example.test.",
        A,
        NoError,
        None,
        "insecure delegation proven by a matching NSEC3 without the DS bit",
    ),
    secure_nx(
        "nsec3-salt-nxdomain",
        "nx.nsec3-salt.example.test.",
        "NSEC3 with salt CAFE and 10 iterations (BIND)",
    ),
    secure(
        "nsec3-salt-wildcard",
        "foo.wild.nsec3-salt.example.test.",
        A,
        "wildcard with a salted NSEC3 proof",
    ),
    secure_nx(
        "nsec3-ldns-nxdomain",
        "nx.nsec3-ldns.example.test.",
        "NSEC3 with salt BEEF and 5 iterations (ldns)",
    ),
    secure(
        "nsec3-ldns-nodata",
        "www.nsec3-ldns.example.test.",
        TXT,
        "NSEC3 NODATA (ldns)",
    ),
    secure(
        "nsec3-optout",
        "www.nsec3-optout.example.test.",
        A,
        "positive answer in an opt-out zone",
    ),
    insecure(
        "nsec3-optout-delegation",
        "www.unsigned.nsec3-optout.example.test.",
        A,
        NoError,
        None,
        "insecure delegation inside an opt-out span (no NSEC3 of its own)",
    ),
    insecure(
        "nsec3-optout-delegation-ds",
        "unsigned.nsec3-optout.example.test.",
        DS,
        NoError,
        None,
        "no DS under opt-out: provably insecure, not provably absent (RFC 5155 §9.2)",
    ),
    insecure(
        "nsec3-optout-nxdomain",
        "nx.nsec3-optout.example.test.",
        A,
        NXDomain,
        None,
        "NXDOMAIN whose next-closer name is covered by an opt-out NSEC3: not authenticated",
    ),
    secure(
        "nsec3-iter200",
        "www.nsec3-iter200.example.test.",
        A,
        "a positive answer needs no NSEC3: secure despite 200 iterations",
    ),
    Case {
        oracle_note: NO_EDE_WHEN_INSECURE,
        ..insecure(
            "nsec3-iter200-nxdomain",
            "nx.nsec3-iter200.example.test.",
            A,
            NXDomain,
            Some(27),
            "NSEC3 with 200 iterations (over RFC 9276 limits): denial treated as insecure",
        )
    },
    Case {
        oracle_note: NO_EDE_WHEN_INSECURE,
        ..insecure(
            "nsec3-iter200-nodata",
            "www.nsec3-iter200.example.test.",
            TXT,
            NoError,
            Some(27),
            "NODATA with 200 NSEC3 iterations: insecure",
        )
    },
    // --- insecure delegations and unusable DS -----------------------------------------
    insecure(
        "insecure",
        "www.insecure.example.test.",
        A,
        NoError,
        None,
        "unsigned zone, no DS (NSEC proves it)",
    ),
    insecure(
        "insecure-nxdomain",
        "nx.insecure.example.test.",
        A,
        NXDomain,
        None,
        "NXDOMAIN from an unsigned zone",
    ),
    secure(
        "insecure-ds",
        "insecure.example.test.",
        DS,
        "the parent proves there is no DS (NSEC, NS bit, no DS bit)",
    ),
    Case {
        oracle_note: NO_EDE_WHEN_INSECURE,
        ..insecure(
            "unknown-digest",
            "www.unknown-digest.example.test.",
            A,
            NoError,
            Some(2),
            "the only DS has digest type 100 (unassigned): treated as insecure (RFC 4035 §5.2)",
        )
    },
    Case {
        oracle_note: NO_EDE_WHEN_INSECURE,
        ..insecure(
            "unknown-alg",
            "www.unknown-alg.example.test.",
            A,
            NoError,
            Some(1),
            "the only DS has algorithm 100 (unassigned): treated as insecure (RFC 4035 §5.2)",
        )
    },
    // --- bogus ---------------------------------------------------------------------------
    bogus(
        "expired",
        "www.expired.example.test.",
        A,
        7,
        "every signature in the zone expired",
    ),
    bogus(
        "notyet",
        "www.notyet.example.test.",
        A,
        8,
        "every signature in the zone not yet valid",
    ),
    bogus(
        "tampered",
        "www.tampered.example.test.",
        A,
        6,
        "one byte of the RRSIG over www A flipped",
    ),
    secure(
        "tampered-rest",
        "txt.tampered.example.test.",
        TXT,
        "the rest of the tampered zone is fine",
    ),
    Case {
        oracle_note: Some(
            "unbound 1.17 reports EDE 9 (\"signatures from unknown keys\"); the signer \
             name is not the zone's (RFC 4035 §5.3.1), a generic bogus: 6",
        ),
        ..bogus(
            "wrongsigner",
            "www.wrongsigner.example.test.",
            A,
            6,
            "RRSIG over www A names the parent as signer",
        )
    },
    bogus(
        "dsmismatch",
        "www.dsmismatch.example.test.",
        A,
        9,
        "the parent's DS matches no DNSKEY of the zone",
    ),
    bogus(
        "norrsig",
        "www.norrsig.example.test.",
        A,
        10,
        "the RRSIG over www A removed",
    ),
    secure(
        "nodenial-positive",
        "www.nodenial.example.test.",
        A,
        "positive answers need no NSEC",
    ),
    bogus(
        "nodenial-nxdomain",
        "nx.nodenial.example.test.",
        A,
        12,
        "NXDOMAIN without NSEC records",
    ),
    bogus(
        "nodenial-nodata",
        "www.nodenial.example.test.",
        TXT,
        12,
        "NODATA without NSEC records",
    ),
    bogus(
        "nodenial-nsec3-nxdomain",
        "nx.nodenial-nsec3.example.test.",
        A,
        12,
        "NXDOMAIN without NSEC3 records",
    ),
];

/// The case zones (level 3), as built by `tests/lab/build-zones.sh`.
pub const CASE_ZONES: &[&str] = &[
    "alg5.example.test.",
    "alg7.example.test.",
    "alg8.example.test.",
    "alg10.example.test.",
    "alg13.example.test.",
    "alg14.example.test.",
    "alg15.example.test.",
    "alg16.example.test.",
    "alg5-bind.example.test.",
    "alg7-ldns.example.test.",
    "alg10-bind.example.test.",
    "alg14-bind.example.test.",
    "alg15-bind.example.test.",
    "alg16-ldns.example.test.",
    "nsec3.example.test.",
    "nsec3-salt.example.test.",
    "nsec3-ldns.example.test.",
    "nsec3-optout.example.test.",
    "nsec3-iter200.example.test.",
    "insecure.example.test.",
    "unknown-digest.example.test.",
    "unknown-alg.example.test.",
    "expired.example.test.",
    "notyet.example.test.",
    "tampered.example.test.",
    "wrongsigner.example.test.",
    "dsmismatch.example.test.",
    "norrsig.example.test.",
    "nodenial.example.test.",
    "nodenial-nsec3.example.test.",
];

/// Looks a case up by its name.
pub fn case(name: &str) -> Option<&'static Case> {
    CASES.iter().find(|c| c.name == name)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn case_names_are_unique_and_qnames_absolute() {
        let mut seen = HashSet::new();
        for case in CASES {
            assert!(seen.insert(case.name), "duplicate case {}", case.name);
            assert!(case.qname.ends_with('.'), "{}: relative qname", case.name);
        }
    }

    #[test]
    fn verdicts_agree_with_rcode_ad_and_ede() {
        for case in CASES {
            match case.verdict {
                Secure => assert!(case.ad && case.ede.is_none(), "{}", case.name),
                Insecure => assert!(!case.ad && case.rcode != ServFail, "{}", case.name),
                Bogus => {
                    assert!(
                        !case.ad && case.rcode == ServFail && case.ede.is_some(),
                        "{}",
                        case.name
                    )
                }
            }
        }
    }

    #[test]
    fn every_case_zone_has_a_case() {
        for zone in CASE_ZONES {
            assert!(
                CASES.iter().any(|c| c.qname.ends_with(&format!(".{zone}"))),
                "no case queries {zone}"
            );
        }
    }
}
