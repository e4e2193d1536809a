//! What an authoritative reply is worth: the scrubber and the response
//! classification, after unbound's `iter_scrub.c` and `iter_resptype.c`.
//!
//! Only data inside the bailiwick of the zone we asked (the delegation
//! point) survives: the answer is the chain from the question name (CNAMEs
//! and DNAMEs, at most [`MAX_CNAME_HOPS`]) while it stays in the zone; the
//! authority section keeps one NS set at or above the name, SOA, NSEC,
//! NSEC3, DS on the delegation and their RRSIGs; the additional section
//! keeps only A/AAAA for the kept NS names, in the zone (unbound
//! `harden-glue`). Additional data is never an answer (RFC 2181 §5.4.1).

use crate::wire::{Message, Name, RData, Record, RecordType, ResponseCode};

/// unbound `iter-scrub-cname`: CNAME/DNAME hops kept from one reply.
pub const MAX_CNAME_HOPS: usize = 11;
/// unbound `iter-scrub-ns`: NS records kept from one reply.
pub const MAX_NS: usize = 20;
/// unbound `iter-scrub-rrsig`: RRSIGs kept per RRset.
pub const MAX_RRSIGS: usize = 8;

/// The response types of unbound's `iter_resptype.c`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Data for the question (or its chain end), NODATA or NXDOMAIN.
    Answer,
    /// The chain leaves the reply at `target`, without the data asked.
    Cname {
        /// Where to restart.
        target: Name,
    },
    /// A delegation strictly below the zone we asked.
    Referral {
        /// The child zone.
        zone: Name,
    },
    /// The server is not authoritative for the zone (upward or self
    /// referral, nothing useful).
    Lame,
    /// A recursive server answered from its cache (RA=1, AA=0) although we
    /// asked RD=0.
    RecLame,
    /// Unusable (error rcode, empty, truncated): ask another server.
    Throwaway,
}

/// A scrubbed reply.
#[derive(Clone, Debug)]
pub struct Scrubbed {
    /// Its type.
    pub kind: Kind,
    /// The rcode.
    pub rcode: ResponseCode,
    /// AA was set.
    pub aa: bool,
    /// The chain's CNAME/DNAME records (with RRSIGs) followed by the data.
    pub answers: Vec<Record>,
    /// SOA, NSEC, NSEC3, NS, DS and RRSIGs in the zone.
    pub authority: Vec<Record>,
    /// Glue for the kept NS names.
    pub additional: Vec<Record>,
}

fn covers(sig: &Record, name: &Name, rtype: RecordType) -> bool {
    sig.name == *name
        && matches!(&sig.data, RData::DNSSEC(crate::wire::DNSSECRData::RRSIG(s)) if s.input().type_covered == rtype)
}

fn take_set(from: &[Record], name: &Name, rtype: RecordType, into: &mut Vec<Record>) -> bool {
    let before = into.len();
    into.extend(
        from.iter()
            .filter(|r| r.name == *name && r.record_type() == rtype)
            .cloned(),
    );
    let found = into.len() > before;
    if found {
        into.extend(
            from.iter()
                .filter(|r| covers(r, name, rtype))
                .take(MAX_RRSIGS)
                .cloned(),
        );
    }
    found
}

/// Scrubs and classifies `reply` to `qname`/`qtype`, sent to a server of
/// `zone`. `forward`: the server is a recursive forwarder (everything it
/// says counts as an answer, from any zone). `rd`: we sent RD=1.
pub fn scrub(
    reply: &Message,
    qname: &Name,
    qtype: RecordType,
    zone: &Name,
    forward: bool,
    rd: bool,
) -> Scrubbed {
    let rcode = reply.metadata.response_code;
    let aa = reply.metadata.authoritative;
    let ra = reply.metadata.recursion_available;
    let in_zone = |n: &Name| forward || zone.zone_of(n);
    let mut out = Scrubbed {
        kind: Kind::Throwaway,
        rcode,
        aa,
        answers: Vec::new(),
        authority: Vec::new(),
        additional: Vec::new(),
    };
    if reply.metadata.truncation
        || !matches!(
            rcode,
            ResponseCode::NoError | ResponseCode::NXDomain | ResponseCode::YXDomain
        )
    {
        return out;
    }
    // The answer: the chain from qname, in the zone.
    let mut name = qname.clone();
    let mut found = false;
    let mut hops = 0;
    let mut visited: Vec<Name> = Vec::new();
    let mut looped = false;
    while in_zone(&name) {
        // A DNAME above the name (RFC 6672 §2.2), in the zone: it comes
        // before the CNAME synthesised from it (even when that CNAME is
        // what was asked), or the CNAME cannot be validated.
        let dname = reply
            .answers
            .iter()
            .find(|r| {
                r.record_type() == RecordType::DNAME
                    && r.name != name
                    && r.name.zone_of(&name)
                    && in_zone(&r.name)
            })
            .cloned();
        if let Some(d) = dname
            && !out
                .answers
                .iter()
                .any(|r| r.name == d.name && r.record_type() == RecordType::DNAME)
        {
            take_set(&reply.answers, &d.name, RecordType::DNAME, &mut out.answers);
        }
        if qtype == RecordType::ANY {
            let before = out.answers.len();
            out.answers
                .extend(reply.answers.iter().filter(|r| r.name == name).cloned());
            if out.answers.len() > before {
                found = true;
                break;
            }
        } else if take_set(&reply.answers, &name, qtype, &mut out.answers) {
            found = true;
            break;
        }
        if hops >= MAX_CNAME_HOPS {
            break;
        }
        let cname = reply.answers.iter().find_map(|r| match &r.data {
            RData::CNAME(c) if r.name == name => Some(c.0.clone()),
            _ => None,
        });
        let Some(target) = cname else {
            break;
        };
        take_set(&reply.answers, &name, RecordType::CNAME, &mut out.answers);
        visited.push(name);
        name = target;
        hops += 1;
        if visited.contains(&name) {
            // A loop inside the reply (RFC 1034 §3.6.2: "CNAME loops
            // signalled as an error"): the restart at a name already
            // visited ends the resolution.
            looped = true;
            break;
        }
    }
    let chained = name != *qname || looped;
    // The authority section: one NS set at or above the chain's end, in the
    // zone; SOA/NSEC/NSEC3 in the zone; RRSIGs of what is kept.
    let mut upward_ns = false;
    let mut ns_owner: Option<Name> = None;
    for r in &reply.authorities {
        if r.record_type() != RecordType::NS {
            continue;
        }
        if !in_zone(&r.name) {
            if r.name.zone_of(zone) {
                upward_ns = true;
            }
            continue;
        }
        if !r.name.zone_of(&name) {
            continue;
        }
        if ns_owner.is_none() {
            ns_owner = Some(r.name.clone());
        }
    }
    let has_soa = reply
        .authorities
        .iter()
        .any(|r| r.record_type() == RecordType::SOA && in_zone(&r.name) && r.name.zone_of(&name));
    let negative = rcode == ResponseCode::NXDomain || (!found && has_soa);
    for r in &reply.authorities {
        let t = r.record_type();
        let keep = in_zone(&r.name)
            && match t {
                RecordType::SOA => r.name.zone_of(&name),
                RecordType::NSEC | RecordType::NSEC3 => true,
                RecordType::NS => !negative && !found && ns_owner.as_ref() == Some(&r.name),
                RecordType::DS => ns_owner.as_ref() == Some(&r.name),
                _ => false,
            };
        if keep {
            out.authority.push(r.clone());
        }
    }
    let ns_count = out
        .authority
        .iter()
        .filter(|r| r.record_type() == RecordType::NS)
        .count();
    if ns_count > MAX_NS {
        let mut seen = 0;
        out.authority.retain(|r| {
            if r.record_type() != RecordType::NS {
                return true;
            }
            seen += 1;
            seen <= MAX_NS
        });
    }
    let kept: Vec<(Name, RecordType)> = out
        .authority
        .iter()
        .map(|r| (r.name.clone(), r.record_type()))
        .collect();
    out.authority.extend(
        reply
            .authorities
            .iter()
            .filter(|s| kept.iter().any(|(n, t)| covers(s, n, *t)))
            .cloned(),
    );
    // Glue: A/AAAA of kept NS names (and of NS/MX/SRV answers), in the
    // zone (harden-glue).
    let targets: Vec<Name> = out
        .authority
        .iter()
        .chain(out.answers.iter())
        .filter_map(|r| match &r.data {
            RData::NS(ns) => Some(ns.0.clone()),
            RData::MX(mx) => Some(mx.exchange.clone()),
            RData::SRV(srv) => Some(srv.target.clone()),
            _ => None,
        })
        .collect();
    out.additional = reply
        .additionals
        .iter()
        .filter(|r| {
            matches!(r.record_type(), RecordType::A | RecordType::AAAA)
                && targets.contains(&r.name)
                && in_zone(&r.name)
        })
        .cloned()
        .collect();
    // Classification.
    let rec_lame = ra && !aa && !rd && !forward;
    out.kind = if looped {
        Kind::Cname { target: name }
    } else if forward {
        if chained && !found && rcode != ResponseCode::NXDomain {
            Kind::Cname { target: name }
        } else {
            Kind::Answer
        }
    } else if rcode == ResponseCode::NXDomain {
        if rec_lame && !chained {
            Kind::RecLame
        } else if chained && !in_zone(&name) {
            Kind::Cname { target: name }
        } else {
            Kind::Answer
        }
    } else if found {
        Kind::Answer
    } else if chained {
        Kind::Cname { target: name }
    } else if rcode == ResponseCode::YXDomain {
        Kind::Throwaway
    } else if let Some(owner) = ns_owner.filter(|o| !has_soa && o != zone) {
        if qtype == RecordType::DS && owner == *qname {
            // A referral to the child for its own DS: the DS it carries is
            // the answer (unbound: "a DS referral to a DS query becomes
            // the answer"), else the parent's NSEC proves the delegation
            // unsigned; the DS query is never followed down to the child.
            let (ds, rest): (Vec<Record>, Vec<Record>) = std::mem::take(&mut out.authority)
                .into_iter()
                .partition(|r| {
                    r.name == *qname
                        && (r.record_type() == RecordType::DS || covers(r, qname, RecordType::DS))
                });
            out.answers = ds;
            out.authority = rest
                .into_iter()
                .filter(|r| r.record_type() != RecordType::NS && !covers(r, qname, RecordType::NS))
                .collect();
            out.additional.clear();
            Kind::Answer
        } else {
            Kind::Referral { zone: owner }
        }
    } else if upward_ns && !has_soa {
        // NS above the zone: an upward referral, AA or not.
        Kind::Lame
    } else if has_soa || aa {
        if rec_lame {
            Kind::RecLame
        } else {
            Kind::Answer
        }
    } else if upward_ns || ns_count > 0 {
        // An upward referral or a non-AA referral to the zone itself.
        Kind::Lame
    } else if rec_lame {
        Kind::RecLame
    } else if rcode == ResponseCode::NoError && !out.authority.is_empty() {
        // A NODATA without SOA that still carries in-zone authority data
        // (an NSEC or NSEC3 denial): unbound's `response_type_from_server`
        // ends in ANSWER here, and the validator judges the proof. Fully
        // empty replies stay THROWAWAY and are taken as NODATA only when
        // repeated (EMPTY_NODATA_RETRY_COUNT, in the machine).
        Kind::Answer
    } else {
        Kind::Throwaway
    };
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::rdata::{A, CNAME, NS, SOA};
    use crate::wire::{MessageType, OpCode};

    fn n(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }
    fn a(name: &str) -> Record {
        Record::from_rdata(n(name), 300, RData::A(A::new(192, 0, 2, 1)))
    }
    fn ns(zone: &str, host: &str) -> Record {
        Record::from_rdata(n(zone), 300, RData::NS(NS(n(host))))
    }
    fn reply() -> Message {
        Message::new(1, MessageType::Response, OpCode::Query)
    }

    #[test]
    fn referral_keeps_in_bailiwick_glue_only() {
        let mut m = reply();
        m.authorities.push(ns("example.com.", "ns.example.com."));
        m.authorities.push(ns("example.com.", "ns.other.net."));
        m.additionals.push(a("ns.example.com."));
        m.additionals.push(a("ns.other.net."));
        m.additionals.push(a("www.victim.org."));
        let s = scrub(
            &m,
            &n("www.example.com."),
            RecordType::A,
            &n("com."),
            false,
            false,
        );
        assert_eq!(
            s.kind,
            Kind::Referral {
                zone: n("example.com.")
            }
        );
        assert_eq!(s.additional.len(), 1);
        assert_eq!(s.additional[0].name, n("ns.example.com."));
    }

    #[test]
    fn a_nodata_without_soa_but_with_a_denial_is_an_answer() {
        // Non-AA, no SOA, an NSEC from the zone: the validator judges it
        // (unbound's response_type_from_server ends in ANSWER); a fully
        // empty reply stays THROWAWAY for the retry rule.
        use crate::wire::NSEC;
        let mut m = reply();
        m.authorities.push(Record::from_rdata(
            n("www.example.com."),
            300,
            RData::DNSSEC(crate::wire::DNSSECRData::NSEC(NSEC::new(
                n("example.com."),
                [RecordType::A, RecordType::RRSIG, RecordType::NSEC],
            ))),
        ));
        let args = (&n("www.example.com."), RecordType::A, &n("example.com."));
        let s = scrub(&m, args.0, args.1, args.2, false, false);
        assert_eq!(s.kind, Kind::Answer);
        let s = scrub(&reply(), args.0, args.1, args.2, false, false);
        assert_eq!(s.kind, Kind::Throwaway);
    }

    #[test]
    fn upward_and_sideways_referrals_are_lame() {
        let mut m = reply();
        m.authorities.push(ns(".", "a.root-servers.net."));
        let s = scrub(
            &m,
            &n("www.example.com."),
            RecordType::A,
            &n("example.com."),
            false,
            false,
        );
        assert_eq!(s.kind, Kind::Lame);
        let mut m = reply();
        m.authorities.push(ns("other.com.", "ns.other.com."));
        let s = scrub(
            &m,
            &n("www.example.com."),
            RecordType::A,
            &n("com."),
            false,
            false,
        );
        assert_ne!(
            s.kind,
            Kind::Referral {
                zone: n("other.com.")
            }
        );
    }

    #[test]
    fn answers_out_of_bailiwick_are_dropped_and_chains_restart() {
        let mut m = reply();
        m.metadata.authoritative = true;
        m.answers.push(Record::from_rdata(
            n("www.example.com."),
            300,
            RData::CNAME(CNAME(n("www.other.net."))),
        ));
        m.answers.push(a("www.other.net."));
        let s = scrub(
            &m,
            &n("www.example.com."),
            RecordType::A,
            &n("example.com."),
            false,
            false,
        );
        assert_eq!(
            s.kind,
            Kind::Cname {
                target: n("www.other.net.")
            }
        );
        assert_eq!(
            s.answers.len(),
            1,
            "the forged A of another zone is not kept"
        );
    }

    #[test]
    fn a_cname_loop_inside_one_reply_is_not_an_answer() {
        let mut m = reply();
        m.metadata.authoritative = true;
        m.answers.push(Record::from_rdata(
            n("cyc.example."),
            300,
            RData::CNAME(CNAME(n("cyc.example."))),
        ));
        let s = scrub(
            &m,
            &n("cyc.example."),
            RecordType::A,
            &n("example."),
            false,
            false,
        );
        assert_eq!(
            s.kind,
            Kind::Cname {
                target: n("cyc.example.")
            }
        );
    }

    #[test]
    fn nodata_and_reclame() {
        let mut m = reply();
        m.metadata.authoritative = true;
        let soa = SOA::new(n("ns.example."), n("h.example."), 1, 2, 3, 4, 5);
        m.authorities
            .push(Record::from_rdata(n("example."), 300, RData::SOA(soa)));
        let s = scrub(
            &m,
            &n("www.example."),
            RecordType::A,
            &n("example."),
            false,
            false,
        );
        assert_eq!(s.kind, Kind::Answer);
        m.metadata.authoritative = false;
        m.metadata.recursion_available = true;
        let s = scrub(
            &m,
            &n("www.example."),
            RecordType::A,
            &n("example."),
            false,
            false,
        );
        assert_eq!(s.kind, Kind::RecLame);
    }
}
