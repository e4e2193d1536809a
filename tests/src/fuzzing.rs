//! The entry points of the fuzz targets (`fuzz/fuzz_targets/*.rs`), shared
//! with the replay of the committed corpora on stable
//! (`tests/tests/fuzz_corpora.rs`): each takes arbitrary bytes and must
//! return without a panic, a hang or an unbounded allocation.
//!
//! Several targets read their input as a sequence of messages: a two-byte
//! big-endian length and that many bytes, repeated ([`chunks`]); whatever is
//! left at the end is one more message.

use std::future::Future;
use std::io::{self, BufReader};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use danebound_resolver::cache::CacheConfig;
use danebound_resolver::clock::{Clock, FixedClock};
use danebound_resolver::config::Config;
use danebound_resolver::engine::Resolver;
use danebound_resolver::forward::Upstreams;
use danebound_resolver::request::{Parsed, Request, error_response};
use danebound_resolver::resolve::{Resolution, Resolve};
use danebound_resolver::server::Responder;
use danebound_resolver::transport::{ExchangeFuture, Protocol, Transport};
use danebound_resolver::validator::{Anchors, Fetched, Limits, Outcome, RingCrypto, Session, Step};
use danebound_resolver::wire::rdata::A;
use danebound_resolver::wire::{Message, Name, Query, RData, Record, RecordType, ResponseCode};
use danebound_trust_anchors::text;
use danebound_verifier::{MatchingType, Selector, TlsaRecord, Usage, VerifyParams, danger};
use rustls_pki_types::{CertificateDer, UnixTime};

use crate::zonedb::{FIXTURE_NOW, ZoneDb};

/// The STARTTLS dialogue of `danebound dane check`, included by path (the
/// CLI is a binary crate; the file is `std` only).
#[allow(dead_code, unreachable_pub)]
#[path = "../../cli/src/commands/dane/starttls/dialogue.rs"]
mod dialogue;

/// A fuzz target's entry point.
pub type Entry = fn(&[u8]);

/// Every target: its name (the file under `fuzz/fuzz_targets/`) and entry.
pub const TARGETS: &[(&str, Entry)] = &[
    ("client_request", client_request),
    ("upstream_replies", upstream_replies),
    ("validator_session", validator_session),
    ("zone_text", zone_text),
    ("autotrust_file", autotrust_file),
    ("starttls", starttls),
    ("tlsa_certificates", tlsa_certificates),
];

/// Splits `data` into length-prefixed messages (see the module docs).
pub fn chunks(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while rest.len() >= 2 {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        if rest.len() - 2 < len {
            break;
        }
        out.push(&rest[2..2 + len]);
        rest = &rest[2 + len..];
    }
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

/// The inverse of [`chunks`], for writing seeds.
pub fn join_chunks(messages: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for m in messages {
        let len = u16::try_from(m.len()).expect("a message fits 64 KB");
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(m);
    }
    out
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a runtime")
    })
}

// ---------------------------------------------------------------------------
// The client request parser and the serve pipeline
// ---------------------------------------------------------------------------

/// A resolver that answers every question with one Secure A record.
struct Answers;

impl Resolve for Answers {
    fn resolve<'a>(
        &'a self,
        query: &'a Query,
        _cd: bool,
    ) -> Pin<Box<dyn Future<Output = Resolution> + Send + 'a>> {
        let record = Record::from_rdata(
            query.name().clone(),
            300,
            RData::A(A(Ipv4Addr::new(192, 0, 2, 1))),
        );
        Box::pin(async move {
            Resolution {
                rcode: ResponseCode::NoError,
                answers: vec![record],
                authority: vec![],
                additional: vec![],
                outcome: Outcome::Secure,
                ttl: 300,
                failure: None,
            }
        })
    }
}

/// A client's message: the parser, the error responses, and the whole
/// `serve` pipeline (ACL, cache, local zones, answer rules) over UDP and TCP.
pub fn client_request(data: &[u8]) {
    let mut out = Vec::new();
    match Request::parse(data) {
        Parsed::Query(request) => {
            let _ = request.query();
            let _ = request.cache_key(request.cd);
            let _ = request.udp_limit();
        }
        Parsed::Reject { rcode, .. } => error_response(data, rcode, &mut out),
        Parsed::Drop(_) => {}
    }
    static RESPONDER: OnceLock<Responder> = OnceLock::new();
    let responder = RESPONDER.get_or_init(|| {
        let config = Config {
            cache: CacheConfig {
                max_entries: 1000,
                ..CacheConfig::default()
            },
            ..Config::default()
        };
        Responder::new(
            &config,
            Arc::new(Answers),
            Arc::new(FixedClock::new(FIXTURE_NOW)),
        )
    });
    let client = IpAddr::V4(Ipv4Addr::LOCALHOST);
    for tcp in [false, true] {
        if let Some(response) = runtime().block_on(responder.respond(data, client, tcp)) {
            assert!(tcp || response.len() <= 65_535);
            // What we send must parse.
            Message::from_vec(&response).expect("our response decodes");
        }
    }
}

// ---------------------------------------------------------------------------
// Upstream replies through the engine
// ---------------------------------------------------------------------------

/// A transport that answers each exchange with the next scripted reply,
/// its ID set to the query's (and, when the reply's first byte is even, the
/// query's question spliced in), so replies reach the engine's checks
/// rather than being dropped as unmatched.
struct Scripted {
    replies: Mutex<Vec<Vec<u8>>>,
}

impl Transport for Scripted {
    fn exchange<'a>(
        &'a self,
        _server: SocketAddr,
        request: &'a [u8],
        _protocol: Protocol,
        _timeout: Duration,
    ) -> ExchangeFuture<'a> {
        let next = {
            let mut replies = self.replies.lock().unwrap_or_else(|e| e.into_inner());
            if replies.is_empty() {
                None
            } else {
                Some(replies.remove(0))
            }
        };
        Box::pin(async move {
            let Some(mut reply) = next else {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "script ended"));
            };
            Ok(match_query(request, &mut reply))
        })
    }
}

/// `reply` made to answer `request` (see [`Scripted`]).
fn match_query(request: &[u8], reply: &mut Vec<u8>) -> Vec<u8> {
    if reply.len() < 12 || request.len() < 12 {
        return std::mem::take(reply);
    }
    reply[..2].copy_from_slice(&request[..2]);
    if reply[0] % 2 == 1 {
        return std::mem::take(reply);
    }
    // The request's question: its name, type and class.
    let mut end = 12;
    while let Some(&len) = request.get(end) {
        end += 1 + usize::from(len);
        if len == 0 {
            break;
        }
    }
    let question = request.get(12..end + 4).unwrap_or(&[]);
    let mut out = reply[..12].to_vec();
    out[4..6].copy_from_slice(&1u16.to_be_bytes());
    out.extend_from_slice(question);
    out.extend_from_slice(&reply[12..]);
    out
}

/// The questions the engine target asks (the first input byte picks one).
pub const QUESTIONS: &[(&str, RecordType)] = &[
    ("www.example.test.", RecordType::A),
    ("nx.example.test.", RecordType::A),
    ("example.test.", RecordType::DNSKEY),
    ("_25._tcp.mx.example.test.", RecordType::TLSA),
    ("cname-chain.example.test.", RecordType::A),
    ("a.wild.example.test.", RecordType::TXT),
    ("nx.nsec3.example.test.", RecordType::AAAA),
    ("example.test.", RecordType::DS),
];

/// Scripted upstream replies through the whole engine (forwarding,
/// answer checks, validation against the fixtures' anchor, the key store).
pub fn upstream_replies(data: &[u8]) {
    let Some((&pick, data)) = data.split_first() else {
        return;
    };
    let (name, qtype) = QUESTIONS[usize::from(pick) % QUESTIONS.len()];
    let replies: Vec<Vec<u8>> = chunks(data).into_iter().map(<[u8]>::to_vec).collect();
    let transport = Arc::new(Scripted {
        replies: Mutex::new(replies),
    });
    let upstream = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 53)), 53);
    let upstreams = Upstreams::new(vec![upstream], transport).with_rounds(1);
    let clock: Arc<dyn Clock> = Arc::new(FixedClock::new(FIXTURE_NOW));
    let resolver = Resolver::new(
        Arc::new(upstreams),
        ZoneDb::fixture_anchors(),
        Arc::new(RingCrypto::default()),
        clock,
    );
    let query = Query::query(Name::from_ascii(name).expect("a constant name"), qtype);
    for cd in [false, true] {
        let _ = runtime().block_on(resolver.resolve(&query, cd));
    }
}

// ---------------------------------------------------------------------------
// The validator session
// ---------------------------------------------------------------------------

/// A session never asks for more fetches than this (the budget's
/// `max_fetches` bounds it far lower).
const MAX_STEPS: usize = 1000;

/// The validation session on arbitrary messages: the first is the response
/// to validate (its question is the one asked), the next ones answer the
/// session's DS and DNSKEY fetches in order; an undecodable one is a
/// failed fetch.
pub fn validator_session(data: &[u8]) {
    let messages = chunks(data);
    let Some((first, fetches)) = messages.split_first() else {
        return;
    };
    let Ok(response) = Message::from_vec(first) else {
        return;
    };
    let Some(question) = response.queries.first() else {
        return;
    };
    static ANCHORS: OnceLock<Anchors> = OnceLock::new();
    let anchors = ANCHORS.get_or_init(ZoneDb::fixture_anchors);
    let crypto = RingCrypto::default();
    let mut session = Session::new(
        question.name(),
        question.query_type(),
        &response,
        anchors,
        FIXTURE_NOW,
        Limits::default(),
        &crypto,
    );
    let mut next = fetches.iter();
    for _ in 0..MAX_STEPS {
        match session.step() {
            Step::Fetch(request) => {
                let fetched = match next.next().map(|m| Message::from_vec(m)) {
                    Some(Ok(message)) => Fetched::Response(message),
                    Some(Err(e)) => Fetched::Failed(e.to_string()),
                    None => Fetched::Failed("no more input".into()),
                };
                session.supply(&request, fetched);
            }
            Step::Done(_) => return,
        }
    }
    panic!("the session asked for more than {MAX_STEPS} fetches");
}

// ---------------------------------------------------------------------------
// Zone files and trust anchors
// ---------------------------------------------------------------------------

/// The zone-file reader and the trust-anchor reader on arbitrary text.
pub fn zone_text(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(records) = text::parse_records(&text, None, 3600) else {
        return;
    };
    let mut anchors = Anchors::new();
    for record in &records {
        let _ = anchors.add(record);
    }
}

/// The RFC 5011 state-file reader (unbound's auto-trust-anchor-file
/// format) on arbitrary text. What it accepts must write out and read back
/// to the same lines: a state file danebound wrote is one it can read.
pub fn autotrust_file(data: &[u8]) {
    use danebound_trust_anchors::autotrust_file;
    use danebound_trust_anchors::rfc5011::Policy;
    let text = String::from_utf8_lossy(data);
    let policy = Policy::default();
    let Ok(point) = autotrust_file::parse(&text, "fuzz", &policy) else {
        return;
    };
    let written = autotrust_file::write(&point);
    let again = autotrust_file::parse(&written, "fuzz (rewritten)", &policy)
        .unwrap_or_else(|e| panic!("a written state file does not read back: {e}\n{written}"));
    // The same lines; their order is not significant (keys are grouped by
    // kind when written, as they are held).
    let lines = |text: &str| {
        let mut l: Vec<String> = text.lines().map(str::to_owned).collect();
        l.sort();
        l
    };
    assert_eq!(
        lines(&autotrust_file::write(&again)),
        lines(&written),
        "the round trip changed the file"
    );
}

// ---------------------------------------------------------------------------
// STARTTLS
// ---------------------------------------------------------------------------

/// A server's side of the STARTTLS dialogue (the first byte picks SMTP,
/// IMAP, POP3 or XMPP) against `dane check`'s client.
pub fn starttls(data: &[u8]) {
    use dialogue::Starttls;
    let Some((&pick, server)) = data.split_first() else {
        return;
    };
    let protocol = [
        Starttls::Smtp,
        Starttls::Imap,
        Starttls::Pop3,
        Starttls::Xmpp,
    ][usize::from(pick) % 4];
    let mut reader = BufReader::new(server);
    let _ = dialogue::speak(
        &mut reader,
        &mut io::sink(),
        protocol,
        "client.example.test",
        "example.test",
    );
}

// ---------------------------------------------------------------------------
// TLSA records and certificates
// ---------------------------------------------------------------------------

/// TLSA RDATA (first message), TLSA presentation text (second) and a
/// certificate chain (the rest, leaf first) through the DANE verifier and
/// the record generator.
pub fn tlsa_certificates(data: &[u8]) {
    let messages = chunks(data);
    let mut records = Vec::new();
    if let Some(rdata) = messages.first()
        && let Ok(record) = TlsaRecord::from_rdata(rdata)
    {
        records.push(record);
    }
    if let Some(text) = messages.get(1)
        && let Ok(record) = String::from_utf8_lossy(text).parse::<TlsaRecord>()
    {
        records.push(record);
    }
    let chain: Vec<CertificateDer<'_>> = messages
        .iter()
        .skip(2)
        .map(|der| CertificateDer::from(*der))
        .collect();
    let now = UnixTime::since_unix_epoch(Duration::from_secs(FIXTURE_NOW));
    let params = VerifyParams::smtp("mx.example.test", now);
    let verdict =
        danebound_verifier::verify(&danger::tlsa_without_dnssec(records), &chain, &params);
    assert!(
        !verdict.is_authenticated(),
        "unvalidated records authenticate nothing"
    );
    if let Some(leaf) = chain.first() {
        for selector in [Selector::Cert, Selector::Spki] {
            let _ =
                danebound_verifier::generate(leaf, Usage::DaneEe, selector, MatchingType::Sha256);
        }
    }
}
