//! The seam between the service plumbing and the validating engine: a
//! [`Resolve`] takes a question and returns a [`Resolution`].
//!
//! The server, the cache and the answer builder only ever see this contract.
//! `engine::Resolver` implements it with DNSSEC validation; the server's
//! stand-in ([`crate::forward::ForwardOnly`]) implements it without.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::validator::outcome::{Ede, Outcome, ede_code};
use crate::wire::{DNSSECRData, Message, Name, Query, RData, Record, RecordType, ResponseCode};

/// What the engine concluded about one question.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolution {
    /// Upstream rcode (NOERROR, NXDOMAIN, ...) or SERVFAIL.
    pub rcode: ResponseCode,
    /// As received: data, RRSIGs, NSEC/NSEC3 included.
    pub answers: Vec<Record>,
    /// Authority section as received.
    pub authority: Vec<Record>,
    /// Additional section; never includes OPT.
    pub additional: Vec<Record>,
    /// Secure / Insecure / Bogus(reason) / Indeterminate.
    pub outcome: Outcome,
    /// How long this may be cached (already capped by the validator).
    pub ttl: u32,
    /// Why there is no answer, when that is not a validation failure: the
    /// RFC 8914 EDE of a SERVFAIL the resolution itself produced (no
    /// reachable authority, a network error, a budget spent, an alias
    /// loop). `None` otherwise.
    pub failure: Option<Ede>,
}

/// Resolves one question.
pub trait Resolve: Send + Sync + 'static {
    /// `cd`: the client set CD=1 (return data even if bogus, RFC 4035 §3.2.2).
    fn resolve<'a>(
        &'a self,
        query: &'a Query,
        cd: bool,
    ) -> Pin<Box<dyn Future<Output = Resolution> + Send + 'a>>;
}

impl Resolution {
    /// A SERVFAIL with no data: the upstreams could not be reached or answered
    /// garbage. Not cached.
    pub fn servfail(outcome: Outcome) -> Self {
        Self {
            rcode: ResponseCode::ServFail,
            answers: Vec::new(),
            authority: Vec::new(),
            additional: Vec::new(),
            outcome,
            ttl: 0,
            failure: None,
        }
    }

    /// A SERVFAIL with no data that the resolution produced for `failure`
    /// (not a validation failure). Not cached.
    pub fn failed(failure: Ede) -> Self {
        Self {
            failure: Some(failure),
            ..Self::servfail(Outcome::Indeterminate)
        }
    }

    /// The SERVFAIL of a resolution that did not finish within `limit` (the
    /// server's time limit, whether recursing or forwarding): RFC 8914 §4.23
    /// "No Reachable Authority" (22), the text saying that time ran out.
    /// Not cached.
    pub fn timed_out(limit: Duration) -> Self {
        Self::failed(Ede {
            code: ede_code::NO_REACHABLE_AUTHORITY,
            text: format!("resolution timed out after {} s", limit.as_secs()),
        })
    }

    /// Builds a resolution from an upstream reply, with the given verdict.
    /// The TTL is the smallest TTL of the answer section for a positive
    /// answer, and for a negative one (NXDOMAIN, or NOERROR without answers)
    /// the smaller of the SOA's TTL and its MINIMUM field (RFC 2308 §5); a
    /// negative answer without SOA gets 0, i.e. is not cached (RFC 2308 §5:
    /// "Negative responses without SOA records SHOULD NOT be cached").
    pub fn from_message(message: Message, outcome: Outcome) -> Self {
        let rcode = message.metadata.response_code;
        let ttl = cacheable_ttl(rcode, &message.answers, &message.authorities);
        Self {
            rcode,
            answers: message.answers,
            authority: message.authorities,
            additional: message
                .additionals
                .into_iter()
                .filter(|r| r.record_type() != RecordType::OPT)
                .collect(),
            outcome,
            ttl,
            failure: None,
        }
    }

    /// The answer to `target qtype` that a Secure answer to `qname qtype`
    /// ending in an alias chain (CNAME, or DNAME with its synthesised
    /// CNAME) holds: the chain's last RRset with its RRSIGs, as a Secure
    /// resolution of its own, so that the target asked directly is not
    /// validated again (unbound answers it from its RRset cache with the
    /// security status it proved). `None` without a chain, for any other
    /// verdict (an Insecure answer may hold a Secure tail; it is not
    /// cached as Insecure), or when the last RRset was expanded from a
    /// wildcard (RFC 4035 §5.3.4: valid only beside the proof that its
    /// owner does not exist, which belongs to the chain's answer).
    pub fn alias_tail(&self, qname: &Name, qtype: RecordType) -> Option<(Name, Self)> {
        if self.outcome != Outcome::Secure
            || self.rcode != ResponseCode::NoError
            || matches!(
                qtype,
                RecordType::CNAME | RecordType::DNAME | RecordType::ANY | RecordType::RRSIG
            )
        {
            return None;
        }
        let mut current = qname.clone();
        for _ in 0..=self.answers.len() {
            let next = self.answers.iter().find_map(|r| match &r.data {
                RData::CNAME(c) if r.name == current => Some(c.0.clone()),
                _ => None,
            });
            match next {
                Some(next) => current = next,
                None => break,
            }
        }
        if current == *qname {
            return None;
        }
        let at_target = |r: &&Record| r.name == current;
        let data: Vec<Record> = self
            .answers
            .iter()
            .filter(at_target)
            .filter(|r| r.record_type() == qtype)
            .cloned()
            .collect();
        let sigs: Vec<Record> = self
            .answers
            .iter()
            .filter(at_target)
            .filter(|r| match &r.data {
                RData::DNSSEC(DNSSECRData::RRSIG(sig)) => sig.input().type_covered == qtype,
                _ => false,
            })
            .cloned()
            .collect();
        let owner_labels = current.num_labels();
        let expanded = sigs.iter().any(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::RRSIG(sig)) => sig.input().num_labels < owner_labels,
            _ => true,
        });
        if data.is_empty() || sigs.is_empty() || expanded {
            return None;
        }
        let mut answers = data;
        answers.extend(sigs);
        let ttl = answers
            .iter()
            .map(|r| r.ttl)
            .min()
            .unwrap_or(0)
            .min(self.ttl);
        Some((
            current,
            Self {
                rcode: ResponseCode::NoError,
                answers,
                authority: Vec::new(),
                additional: Vec::new(),
                outcome: Outcome::Secure,
                ttl,
                failure: None,
            },
        ))
    }

    /// True for a negative answer: NXDOMAIN, or NOERROR/NODATA.
    pub fn is_negative(&self) -> bool {
        self.rcode == ResponseCode::NXDomain
            || (self.rcode == ResponseCode::NoError && self.answers.is_empty())
    }
}

/// The TTL a reply may be cached for, before any bounds: RFC 2308 §5 for
/// negative answers, the smallest answer TTL for positive ones, 0 for errors.
pub fn cacheable_ttl(rcode: ResponseCode, answers: &[Record], authority: &[Record]) -> u32 {
    match rcode {
        ResponseCode::NoError if !answers.is_empty() => {
            answers.iter().map(|r| r.ttl).min().unwrap_or(0)
        }
        ResponseCode::NoError | ResponseCode::NXDomain => negative_ttl(authority).unwrap_or(0),
        _ => 0,
    }
}

/// RFC 2308 §5: "the TTL of this record is set from the minimum of the
/// MINIMUM field of the SOA record and the TTL of the SOA itself". `None`
/// when the authority section has no SOA.
pub fn negative_ttl(authority: &[Record]) -> Option<u32> {
    authority.iter().find_map(|r| match &r.data {
        RData::SOA(soa) => Some(soa.minimum.min(r.ttl)),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use hickory_proto::dnssec::rdata::SigInput;
    use hickory_proto::rr::SerialNumber;

    use super::*;
    use crate::validator::outcome::InsecureReason;
    use crate::wire::rdata::{A, CNAME};
    use crate::wire::{Algorithm, RRSIG};

    fn n(s: &str) -> Name {
        Name::from_str(s).unwrap()
    }

    fn a(owner: &str, ttl: u32) -> Record {
        Record::from_rdata(n(owner), ttl, RData::A(A::new(192, 0, 2, 1)))
    }

    fn cname(owner: &str, target: &str) -> Record {
        Record::from_rdata(n(owner), 300, RData::CNAME(CNAME(n(target))))
    }

    /// An RRSIG over `covered` at `owner` whose labels field is `labels`.
    fn sig(owner: &str, covered: RecordType, labels: u8, ttl: u32) -> Record {
        let input = SigInput {
            type_covered: covered,
            algorithm: Algorithm::ED25519,
            num_labels: labels,
            original_ttl: 300,
            sig_expiration: SerialNumber::new(2),
            sig_inception: SerialNumber::new(1),
            key_tag: 1,
            signer_name: n("example."),
        };
        Record::from_rdata(
            n(owner),
            ttl,
            RData::DNSSEC(DNSSECRData::RRSIG(RRSIG::from_sig(input, vec![1; 64]))),
        )
    }

    fn secure(answers: Vec<Record>) -> Resolution {
        Resolution {
            rcode: ResponseCode::NoError,
            ttl: answers.iter().map(|r| r.ttl).min().unwrap_or(0),
            answers,
            authority: Vec::new(),
            additional: Vec::new(),
            outcome: Outcome::Secure,
            failure: None,
        }
    }

    #[test]
    fn a_secure_chain_hands_its_last_rrset_to_its_owner() {
        let chain = secure(vec![
            cname("alias.example.", "mid.example."),
            sig("alias.example.", RecordType::CNAME, 2, 300),
            cname("MID.example.", "www.other.example."),
            sig("mid.example.", RecordType::CNAME, 2, 300),
            a("www.other.example.", 200),
            sig("www.other.example.", RecordType::A, 3, 100),
        ]);
        let (target, tail) = chain
            .alias_tail(&n("alias.example."), RecordType::A)
            .unwrap();
        assert_eq!(target, n("www.other.example."));
        assert_eq!(tail.outcome, Outcome::Secure);
        assert_eq!(tail.answers, chain.answers[4..].to_vec());
        assert!(tail.authority.is_empty());
        assert_eq!(tail.ttl, 100, "the smallest TTL of the tail and its RRSIG");
        // Asked for the alias type itself, or without a chain: nothing.
        assert!(
            chain
                .alias_tail(&n("alias.example."), RecordType::CNAME)
                .is_none()
        );
        let plain = secure(vec![
            a("www.example.", 300),
            sig("www.example.", RecordType::A, 2, 300),
        ]);
        assert!(
            plain
                .alias_tail(&n("www.example."), RecordType::A)
                .is_none()
        );
    }

    #[test]
    fn a_dname_chain_hands_its_tail_through_the_synthesised_cname() {
        let chain = secure(vec![
            // The DNAME (hickory has no RDATA type for it) and its RRSIG,
            // then the CNAME synthesised from it (RFC 6672 §3.1), unsigned.
            sig("dname.example.", RecordType::DNAME, 2, 300),
            cname("www.dname.example.", "www.other.example."),
            a("www.other.example.", 300),
            sig("www.other.example.", RecordType::A, 3, 300),
        ]);
        let (target, _) = chain
            .alias_tail(&n("www.dname.example."), RecordType::A)
            .unwrap();
        assert_eq!(target, n("www.other.example."));
    }

    #[test]
    fn no_tail_from_a_wildcard_expansion_an_unsigned_or_missing_tail_or_another_verdict() {
        let with_tail = |tail: Vec<Record>| {
            let mut answers = vec![
                cname("alias.example.", "www.other.example."),
                sig("alias.example.", RecordType::CNAME, 2, 300),
            ];
            answers.extend(tail);
            secure(answers)
        };
        let q = n("alias.example.");
        // RFC 4035 §5.3.4: labels below the owner's: expanded from
        // *.other.example., valid only beside its denial proof.
        let expanded = with_tail(vec![
            a("www.other.example.", 300),
            sig("www.other.example.", RecordType::A, 2, 300),
        ]);
        assert!(expanded.alias_tail(&q, RecordType::A).is_none());
        let unsigned = with_tail(vec![a("www.other.example.", 300)]);
        assert!(unsigned.alias_tail(&q, RecordType::A).is_none());
        let dangling = with_tail(Vec::new());
        assert!(dangling.alias_tail(&q, RecordType::A).is_none());
        let mut insecure = with_tail(vec![
            a("www.other.example.", 300),
            sig("www.other.example.", RecordType::A, 3, 300),
        ]);
        assert!(insecure.alias_tail(&q, RecordType::A).is_some());
        insecure.outcome = Outcome::Insecure(InsecureReason::UnsignedDelegation {
            zone: n("other.example."),
        });
        assert!(insecure.alias_tail(&q, RecordType::A).is_none());
    }
}
