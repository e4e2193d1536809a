//! Helpers shared by the `server_*` integration tests.
#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use danebound_resolver::request::{Parsed, Request};
use danebound_resolver::resolve::{Resolution, Resolve};
use danebound_resolver::validator::outcome::{BogusReason, InsecureReason, Outcome, RrsetId};
use danebound_resolver::wire::rdata::{A, SOA, TXT};
use danebound_resolver::wire::{
    Algorithm, DNSClass, DNSSECRData, Edns, Message, NSEC, Name, OpCode, Query, RData, RRSIG,
    Record, RecordType, ResponseCode,
};
use hickory_proto::dnssec::rdata::sig::SigInput;
use hickory_proto::op::MessageType;
use hickory_proto::rr::SerialNumber;

pub fn name(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

/// The flags of a client query.
#[derive(Clone, Copy, Debug, Default)]
pub struct Flags {
    pub rd: bool,
    pub ad: bool,
    pub cd: bool,
    /// `Some((payload, DO))` for an EDNS query.
    pub edns: Option<(u16, bool)>,
}

impl Flags {
    pub fn dnssec() -> Self {
        Self {
            rd: true,
            edns: Some((1232, true)),
            ..Self::default()
        }
    }
    pub fn plain() -> Self {
        Self {
            rd: true,
            ..Self::default()
        }
    }
}

pub fn query_bytes(id: u16, qname: &str, qtype: RecordType, f: Flags) -> Vec<u8> {
    let mut m = Message::new(id, MessageType::Query, OpCode::Query);
    m.metadata.recursion_desired = f.rd;
    m.metadata.authentic_data = f.ad;
    m.metadata.checking_disabled = f.cd;
    m.add_query(Query::query(name(qname), qtype));
    if let Some((payload, dnssec_ok)) = f.edns {
        let mut e = Edns::new();
        e.set_max_payload(payload);
        e.set_dnssec_ok(dnssec_ok);
        m.set_edns(e);
    }
    m.to_vec().unwrap()
}

pub fn request(qname: &str, qtype: RecordType, f: Flags) -> Request {
    match Request::parse(&query_bytes(0x1234, qname, qtype, f)) {
        Parsed::Query(r) => r,
        other => panic!("not a query: {other:?}"),
    }
}

pub fn a(owner: &str, ttl: u32, ip: [u8; 4]) -> Record {
    Record::from_rdata(name(owner), ttl, RData::A(A(Ipv4Addr::from(ip))))
}

pub fn txt(owner: &str, ttl: u32, text: &str) -> Record {
    Record::from_rdata(
        name(owner),
        ttl,
        RData::TXT(TXT::new(vec![text.to_string()])),
    )
}

pub fn soa(zone: &str, ttl: u32, minimum: u32) -> Record {
    Record::from_rdata(
        name(zone),
        ttl,
        RData::SOA(SOA::new(
            name("ns.example."),
            name("h.example."),
            1,
            7200,
            3600,
            1209600,
            minimum,
        )),
    )
}

pub fn rrsig(owner: &str, ttl: u32, covered: RecordType) -> Record {
    let input = SigInput {
        type_covered: covered,
        algorithm: Algorithm::ECDSAP256SHA256,
        num_labels: name(owner).num_labels(),
        original_ttl: ttl,
        sig_expiration: SerialNumber::new(2_000_000_000),
        sig_inception: SerialNumber::new(1_700_000_000),
        key_tag: 4711,
        signer_name: name("example."),
    };
    Record::from_rdata(
        name(owner),
        ttl,
        RData::DNSSEC(DNSSECRData::RRSIG(RRSIG::from_sig(input, vec![7; 64]))),
    )
}

pub fn nsec(owner: &str, ttl: u32, next: &str) -> Record {
    Record::from_rdata(
        name(owner),
        ttl,
        RData::DNSSEC(DNSSECRData::NSEC(NSEC::new(
            name(next),
            [RecordType::A, RecordType::RRSIG, RecordType::NSEC],
        ))),
    )
}

pub fn positive(outcome: Outcome, ttl: u32) -> Resolution {
    Resolution {
        rcode: ResponseCode::NoError,
        answers: vec![
            a("www.example.", ttl, [192, 0, 2, 1]),
            rrsig("www.example.", ttl, RecordType::A),
        ],
        authority: vec![],
        additional: vec![],
        outcome,
        ttl,
        failure: None,
    }
}

pub fn nxdomain(outcome: Outcome, soa_ttl: u32, minimum: u32) -> Resolution {
    Resolution {
        rcode: ResponseCode::NXDomain,
        answers: vec![],
        authority: vec![
            soa("example.", soa_ttl, minimum),
            rrsig("example.", soa_ttl, RecordType::SOA),
            nsec("example.", soa_ttl, "zzz.example."),
            rrsig("example.", soa_ttl, RecordType::NSEC),
        ],
        additional: vec![],
        outcome,
        ttl: soa_ttl.min(minimum),
        failure: None,
    }
}

pub fn bogus() -> Outcome {
    Outcome::Bogus(BogusReason::SignatureExpired {
        rrset: RrsetId::new(&name("www.example."), RecordType::A),
        signer: name("example."),
        key_tag: 4711,
        expiration: 1_700_000_000,
        now: 1_700_086_400,
    })
}

pub fn insecure_iterations() -> Outcome {
    Outcome::Insecure(InsecureReason::Nsec3Unsupported {
        zone: name("example."),
        detail: "500 iterations".into(),
        iterations: true,
    })
}

/// A fake resolver answering from a table by lower-cased qname, counting
/// calls.
#[derive(Default)]
pub struct FakeResolver {
    pub table: Mutex<Vec<(String, Resolution)>>,
    pub calls: AtomicUsize,
    /// How long each resolution takes.
    pub delay_ms: u64,
}

impl FakeResolver {
    pub fn with(entries: Vec<(&str, Resolution)>) -> Self {
        Self {
            table: Mutex::new(
                entries
                    .into_iter()
                    .map(|(n, r)| (n.to_string(), r))
                    .collect(),
            ),
            calls: AtomicUsize::new(0),
            delay_ms: 0,
        }
    }
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl Resolve for FakeResolver {
    fn resolve<'a>(
        &'a self,
        query: &'a Query,
        _cd: bool,
    ) -> Pin<Box<dyn Future<Output = Resolution> + Send + 'a>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let qname = query.name().to_lowercase().to_ascii();
        let found = self
            .table
            .lock()
            .unwrap()
            .iter()
            .find(|(n, _)| *n == qname)
            .map(|(_, r)| r.clone());
        let delay = std::time::Duration::from_millis(self.delay_ms);
        Box::pin(async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            found.unwrap_or(Resolution {
                rcode: ResponseCode::NXDomain,
                answers: vec![],
                authority: vec![soa("example.", 300, 300)],
                additional: vec![],
                outcome: Outcome::Indeterminate,
                ttl: 300,
                failure: None,
            })
        })
    }
}

pub fn parse(bytes: &[u8]) -> Message {
    Message::from_vec(bytes).unwrap()
}

pub fn dns_class_in() -> DNSClass {
    DNSClass::IN
}

pub fn any_addr() -> SocketAddr {
    "127.54.0.1:0".parse().unwrap()
}
