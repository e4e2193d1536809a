//! Special-use names answered locally, as unbound does by default:
//! [`LocalZones`].
//!
//! - `localhost.` (RFC 6761 §6.3): every name at or below it has A 127.0.0.1
//!   and AAAA ::1 (unbound's `redirect` zone).
//! - `127.in-addr.arpa.` and the `::1` reverse zone: `PTR localhost.` for the
//!   loopback address, NXDOMAIN for the rest.
//! - `test.` (RFC 6761 §6.2), `invalid.` (§6.4), `onion.` (RFC 7686 §2),
//!   `home.arpa.` (RFC 8375 §6), and the reverse zones of RFC 6303 §4 (RFC
//!   1918 space, link-local, documentation ranges, `d.f.ip6.arpa.`):
//!   NXDOMAIN with a synthesised SOA, NODATA at the apex except for SOA and
//!   NS (unbound's `static` zones).
//!
//! Answers are never validated: their outcome is Indeterminate, so they never
//! carry AD. `--no-default-local-zones` turns all of this off.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::resolve::Resolution;
use crate::validator::outcome::Outcome;
use crate::wire::rdata::{A, AAAA, NS, PTR, SOA};
use crate::wire::{DNSClass, Name, Query, RData, Record, RecordType, ResponseCode};

/// The TTL of synthesised data (unbound uses 10800).
const LOCAL_TTL: u32 = 10_800;

#[derive(Clone, Debug)]
enum Kind {
    /// Every name at or below the apex answers like the apex.
    Redirect,
    /// Only the names listed exist.
    Static,
}

#[derive(Clone, Debug)]
struct LocalZone {
    apex: Name,
    kind: Kind,
    /// Records other than the apex SOA and NS.
    data: Vec<Record>,
}

/// The set of locally answered zones.
#[derive(Clone, Debug, Default)]
pub struct LocalZones {
    zones: Vec<LocalZone>,
}

fn name(s: &str) -> Name {
    Name::from_ascii(s).expect("constant name")
}

const STATIC_ZONES: &[&str] = &[
    "test.",
    "invalid.",
    "onion.",
    "home.arpa.",
    // RFC 6303 §4.1: RFC 1918 space.
    "10.in-addr.arpa.",
    "168.192.in-addr.arpa.",
    // RFC 6303 §4.2-4.5: this network, link local, broadcast, documentation.
    "0.in-addr.arpa.",
    "254.169.in-addr.arpa.",
    "2.0.192.in-addr.arpa.",
    "100.51.198.in-addr.arpa.",
    "113.0.203.in-addr.arpa.",
    "255.255.255.255.in-addr.arpa.",
    // RFC 6303 §4.7-4.9: unspecified address, ULA, link local, documentation.
    "0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa.",
    "d.f.ip6.arpa.",
    "8.e.f.ip6.arpa.",
    "9.e.f.ip6.arpa.",
    "a.e.f.ip6.arpa.",
    "b.e.f.ip6.arpa.",
    "8.b.d.0.1.0.0.2.ip6.arpa.",
];

const LOOPBACK6_REVERSE: &str =
    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa.";

impl LocalZones {
    /// No local zones (`--no-default-local-zones`).
    pub fn none() -> Self {
        Self::default()
    }

    /// unbound's default local zones.
    pub fn defaults() -> Self {
        let localhost = name("localhost.");
        let ptr = |owner: &str| {
            Record::from_rdata(name(owner), LOCAL_TTL, RData::PTR(PTR(localhost.clone())))
        };
        let mut zones = vec![
            LocalZone {
                apex: localhost.clone(),
                kind: Kind::Redirect,
                data: vec![
                    Record::from_rdata(
                        localhost.clone(),
                        LOCAL_TTL,
                        RData::A(A(Ipv4Addr::LOCALHOST)),
                    ),
                    Record::from_rdata(
                        localhost.clone(),
                        LOCAL_TTL,
                        RData::AAAA(AAAA(Ipv6Addr::LOCALHOST)),
                    ),
                ],
            },
            LocalZone {
                apex: name("127.in-addr.arpa."),
                kind: Kind::Static,
                data: vec![ptr("1.0.0.127.in-addr.arpa.")],
            },
            LocalZone {
                apex: name(LOOPBACK6_REVERSE),
                kind: Kind::Static,
                data: vec![ptr(LOOPBACK6_REVERSE)],
            },
        ];
        let private_172 = (16..=31).map(|n| format!("{n}.172.in-addr.arpa."));
        for apex in STATIC_ZONES
            .iter()
            .map(|s| s.to_string())
            .chain(private_172)
        {
            zones.push(LocalZone {
                apex: name(&apex),
                kind: Kind::Static,
                data: Vec::new(),
            });
        }
        Self { zones }
    }

    /// True when no zone is configured.
    pub fn is_empty(&self) -> bool {
        self.zones.is_empty()
    }

    /// The local answer to `query`, or `None` if no local zone covers it.
    pub fn answer(&self, query: &Query) -> Option<Resolution> {
        if query.query_class() != DNSClass::IN {
            return None;
        }
        let qname = query.name();
        let zone = self
            .zones
            .iter()
            .filter(|z| z.apex.zone_of(qname))
            .max_by_key(|z| z.apex.num_labels())?;
        let qtype = query.query_type();
        let soa = Record::from_rdata(
            zone.apex.clone(),
            LOCAL_TTL,
            RData::SOA(SOA::new(
                name("localhost."),
                name("nobody.invalid."),
                1,
                3600,
                1200,
                604_800,
                LOCAL_TTL,
            )),
        );
        let ns = Record::from_rdata(
            zone.apex.clone(),
            LOCAL_TTL,
            RData::NS(NS(name("localhost."))),
        );
        // The records owned by the name asked about (as the apex under a
        // redirect), renamed to the question's spelling.
        let at_apex = matches!(zone.kind, Kind::Redirect) || *qname == zone.apex;
        let mut owned: Vec<Record> = zone
            .data
            .iter()
            .filter(|r| matches!(zone.kind, Kind::Redirect) || r.name == *qname)
            .cloned()
            .collect();
        if at_apex {
            owned.push(soa.clone());
            owned.push(ns);
        }
        let exists = !owned.is_empty()
            || zone
                .data
                .iter()
                .any(|r| qname.zone_of(&r.name) && r.name != *qname);
        let mut answers: Vec<Record> = owned
            .into_iter()
            .filter(|r| qtype == RecordType::ANY || r.record_type() == qtype)
            .collect();
        for r in &mut answers {
            r.name = qname.clone();
        }
        let rcode = if exists {
            ResponseCode::NoError
        } else {
            ResponseCode::NXDomain
        };
        let authority = if answers.is_empty() {
            vec![soa]
        } else {
            Vec::new()
        };
        Some(Resolution {
            rcode,
            answers,
            authority,
            additional: Vec::new(),
            outcome: Outcome::Indeterminate,
            ttl: LOCAL_TTL,
            failure: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(zones: &LocalZones, qname: &str, qtype: RecordType) -> Option<Resolution> {
        zones.answer(&Query::query(name(qname), qtype))
    }

    #[test]
    fn localhost_and_below_have_loopback_addresses() {
        let z = LocalZones::defaults();
        let r = ask(&z, "LocalHost.", RecordType::A).unwrap();
        assert_eq!(r.rcode, ResponseCode::NoError);
        assert_eq!(r.answers.len(), 1);
        assert_eq!(r.answers[0].data, RData::A(A(Ipv4Addr::LOCALHOST)));
        let r = ask(&z, "foo.localhost.", RecordType::AAAA).unwrap();
        assert_eq!(r.answers[0].data, RData::AAAA(AAAA(Ipv6Addr::LOCALHOST)));
        assert_eq!(r.answers[0].name, name("foo.localhost."));
        let r = ask(&z, "localhost.", RecordType::MX).unwrap();
        assert_eq!(r.rcode, ResponseCode::NoError);
        assert!(r.answers.is_empty());
        assert_eq!(r.authority[0].record_type(), RecordType::SOA);
    }

    #[test]
    fn special_use_names_are_nxdomain_with_soa() {
        let z = LocalZones::defaults();
        for q in [
            "foo.test.",
            "x.invalid.",
            "duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion.",
            "printer.home.arpa.",
            "4.3.2.10.in-addr.arpa.",
            "1.0.20.172.in-addr.arpa.",
            "9.9.168.192.in-addr.arpa.",
            "1.2.3.4.d.f.ip6.arpa.",
            "2.0.0.127.in-addr.arpa.",
        ] {
            let r = ask(&z, q, RecordType::A).unwrap_or_else(|| panic!("{q} not local"));
            assert_eq!(r.rcode, ResponseCode::NXDomain, "{q}");
            assert_eq!(r.authority[0].record_type(), RecordType::SOA, "{q}");
        }
        // Apex: NODATA, or the SOA when asked.
        let r = ask(&z, "test.", RecordType::A).unwrap();
        assert_eq!(r.rcode, ResponseCode::NoError);
        let r = ask(&z, "test.", RecordType::SOA).unwrap();
        assert_eq!(r.answers[0].record_type(), RecordType::SOA);
        // Not special: 172.15/16 and 172.32/16, and ordinary names.
        assert!(ask(&z, "1.0.15.172.in-addr.arpa.", RecordType::PTR).is_none());
        assert!(ask(&z, "1.0.32.172.in-addr.arpa.", RecordType::PTR).is_none());
        assert!(ask(&z, "example.com.", RecordType::A).is_none());
        assert!(ask(&z, "testing.", RecordType::A).is_none());
    }

    #[test]
    fn loopback_reverse_names_point_to_localhost() {
        let z = LocalZones::defaults();
        let r = ask(&z, "1.0.0.127.in-addr.arpa.", RecordType::PTR).unwrap();
        assert_eq!(r.answers[0].data, RData::PTR(PTR(name("localhost."))));
        let r = ask(&z, LOOPBACK6_REVERSE, RecordType::PTR).unwrap();
        assert_eq!(r.answers.len(), 1);
        // An empty non-terminal exists: NODATA, not NXDOMAIN.
        let r = ask(&z, "0.0.127.in-addr.arpa.", RecordType::PTR).unwrap();
        assert_eq!(r.rcode, ResponseCode::NoError);
    }

    #[test]
    fn none_answers_nothing() {
        assert!(ask(&LocalZones::none(), "foo.test.", RecordType::A).is_none());
    }
}
