//! The query layer over [`transport`](crate::transport): one exchange with
//! one server, shared by the forwarder and the iterator.
//!
//! [`ask`] builds the query — the header bits the caller chooses in
//! [`QueryFlags`] (RD for a recursive upstream, CD when we validate
//! ourselves), EDNS0 with DO=1 and a 1232-byte buffer, a random 16-bit ID —
//! and checks the reply before anyone reads it (RFC 5452 §4.1, §9.1): the
//! ID, QR=1, the opcode and the question must match the query, and the
//! transport only accepts datagrams from the address and port the query
//! went to. TC=1 is retried over TCP (RFC 7766 §5); FORMERR or NOTIMP to a
//! query with EDNS is retried once without it (RFC 6891 §7).
//!
//! 0x20 (draft-vixie-dnsext-dns0x20, unbound's `use-caps-for-id`): with
//! [`CaseRandomisation`] on, the letters of the query name get a random
//! case, and the reply must echo the question byte for byte (the
//! transport holds back replies that differ in case only and waits on for
//! the genuine one), which adds a bit per letter to the ID and port an
//! off-path forger must guess (RFC 5452 §9.3). A server that answers but
//! does not preserve case is asked again without 0x20 and remembered for
//! [`NO_CAPS_TTL`]; names without letters are never randomised. The
//! accepted reply gets the caller's case back in its question (and so in
//! every name compressed against it), as unbound restores it.
//!
//! It also owns the engine's upstream result types: [`UpstreamReply`] and
//! [`UpstreamError`].
//!
//! # What this module does not do
//! It does not choose servers, retry other servers or judge rcodes beyond
//! the EDNS fallback: that is the forwarder's and the iterator's job.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::transport::net::question_end;
use crate::transport::{FORGERIES, Protocol, Transport};
use crate::wire::{Message, MessageType, OpCode, Query, ResponseCode};

pub use crate::edns::EDNS_BUFFER;

/// A reply accepted from an upstream, with the upstream that sent it.
#[derive(Clone, Debug)]
pub struct UpstreamReply {
    /// The reply.
    pub message: Message,
    /// The server that answered (for logs, for naming an upstream that
    /// strips RRSIGs, for the iterator's infrastructure cache).
    pub server: SocketAddr,
    /// Whether the reply came over TCP (after TC=1).
    pub tcp: bool,
}

/// Why no usable reply came back.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UpstreamError {
    /// No upstream is configured.
    NoUpstreams,
    /// The query could not be encoded (e.g. a name too long).
    Encode(String),
    /// Every attempt timed out, failed or brought only garbage.
    Unreachable {
        /// The upstreams tried.
        tried: Vec<SocketAddr>,
        /// The last failure seen.
        last: String,
    },
    /// The iterator gave up: a budget ran out, no authority answered, or
    /// the aliases loop. `ede` is the RFC 8914 INFO-CODE the client gets,
    /// `why` its EXTRA-TEXT.
    Resolution {
        /// 22 No Reachable Authority, 23 Network Error, 0 Other (the text
        /// names the budget or the loop).
        ede: u16,
        /// What happened.
        why: String,
    },
}

/// RFC 8914 §4.23, "No Reachable Authority".
const NO_REACHABLE_AUTHORITY: u16 = 22;
/// RFC 8914 §4.1, "Other".
const OTHER: u16 = 0;

impl UpstreamError {
    /// The RFC 8914 INFO-CODE for a SERVFAIL caused by this error.
    pub fn ede_code(&self) -> u16 {
        match self {
            // A forwarder's upstreams are its authorities: none could
            // answer (§4.23 "or they potentially refused to reply").
            Self::NoUpstreams | Self::Unreachable { .. } => NO_REACHABLE_AUTHORITY,
            Self::Encode(_) => OTHER,
            Self::Resolution { ede, .. } => *ede,
        }
    }

    /// The EXTRA-TEXT for that SERVFAIL: what went wrong, for the client.
    pub fn ede_text(&self) -> String {
        match self {
            Self::Unreachable { .. } | Self::NoUpstreams => {
                "no usable answer from the upstream resolvers".into()
            }
            Self::Encode(e) => format!("cannot encode the query: {e}"),
            Self::Resolution { why, .. } => why.clone(),
        }
    }
}

impl fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoUpstreams => write!(f, "no upstream nameserver configured"),
            Self::Encode(e) => write!(f, "cannot encode the query: {e}"),
            Self::Unreachable { tried, last } => {
                write!(f, "no usable reply from {tried:?} (last: {last})")
            }
            Self::Resolution { ede, why } => write!(f, "resolution failed (EDE {ede}): {why}"),
        }
    }
}

impl std::error::Error for UpstreamError {}

/// The header bits of a query, chosen by the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueryFlags {
    /// RD: ask a recursive resolver (forwarding) or not (authorities).
    pub rd: bool,
    /// CD: the upstream must not withhold data it thinks bogus; we validate
    /// ourselves (RFC 4035 §3.2.2, RFC 6840 §5.9).
    pub cd: bool,
}

impl QueryFlags {
    /// A validating stub's query to a recursive upstream: RD=1, CD=1.
    pub const FORWARD: Self = Self { rd: true, cd: true };
    /// An iterative query to an authoritative server: RD=0. CD is
    /// meaningless to an authority; unbound sets it when validating, and
    /// so do we, which also makes a recursive-lame server hand over data.
    pub const ITERATE: Self = Self {
        rd: false,
        cd: true,
    };
}

/// What one exchange with one server brought.
#[derive(Debug)]
pub enum Exchange {
    /// A reply that passed the RFC 5452 checks (any rcode).
    Reply(UpstreamReply),
    /// Timeout, socket error or garbage.
    Failed {
        /// What happened.
        why: String,
        /// True for a timeout (the iterator backs off such a server).
        timeout: bool,
    },
}

/// How long a server that did not echo the 0x20 case is asked without it
/// (unbound's infra-host-ttl).
pub const NO_CAPS_TTL: Duration = Duration::from_secs(900);

/// At most this many servers are remembered as not preserving case; when
/// full, expired entries go, then an arbitrary one.
pub const NO_CAPS_MAX: usize = 4096;

/// 0x20 on or off, the servers that do not preserve case, and those that
/// fail EDNS (a small infrastructure memory shared by every query of one
/// forwarder or iterator).
#[derive(Debug)]
pub struct CaseRandomisation {
    enabled: bool,
    no_caps: Mutex<HashMap<SocketAddr, Instant>>,
    /// Servers that answered FORMERR/NOTIMP to EDNS and then answered
    /// without it: asked without EDNS until the entry expires (unbound's
    /// infra cache keeps the EDNS status per host for `infra-host-ttl`),
    /// rather than rediscovered on every query.
    no_edns: Mutex<HashMap<SocketAddr, Instant>>,
}

impl Default for CaseRandomisation {
    /// On, as `use_caps_for_id` is by default.
    fn default() -> Self {
        Self::new(true)
    }
}

impl CaseRandomisation {
    /// 0x20 on (`true`) or off.
    pub fn new(enabled: bool) -> Self {
        Self {
            enabled,
            no_caps: Mutex::new(HashMap::new()),
            no_edns: Mutex::new(HashMap::new()),
        }
    }

    /// Whether 0x20 is configured.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Whether to randomise the case of a query to `server`.
    pub fn use_for(&self, server: SocketAddr) -> bool {
        self.enabled && !remembered(&self.no_caps, server)
    }

    /// `server` answered without echoing the case: ask it without 0x20
    /// for [`NO_CAPS_TTL`].
    pub fn remember_no_caps(&self, server: SocketAddr) {
        remember(&self.no_caps, server);
    }

    /// Whether `server` is remembered as failing EDNS (ask it without).
    pub fn no_edns(&self, server: SocketAddr) -> bool {
        remembered(&self.no_edns, server)
    }

    /// `server` refused EDNS and answered without it: ask it without EDNS
    /// for [`NO_CAPS_TTL`] (then EDNS is tried again).
    pub fn remember_no_edns(&self, server: SocketAddr) {
        remember(&self.no_edns, server);
    }

    /// How many servers are remembered (tests, statistics).
    pub fn remembered(&self) -> usize {
        self.no_caps.lock().map_or(0, |m| m.len())
    }
}

/// Whether `server` is in `map` and not expired (an expired entry goes).
fn remembered(map: &Mutex<HashMap<SocketAddr, Instant>>, server: SocketAddr) -> bool {
    let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
    match map.get(&server) {
        Some(until) if *until > Instant::now() => true,
        Some(_) => {
            map.remove(&server);
            false
        }
        None => false,
    }
}

/// Remembers `server` in `map` for [`NO_CAPS_TTL`]; at [`NO_CAPS_MAX`]
/// servers, expired entries go, then an arbitrary one.
fn remember(map: &Mutex<HashMap<SocketAddr, Instant>>, server: SocketAddr) {
    let now = Instant::now();
    let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
    if map.len() >= NO_CAPS_MAX && !map.contains_key(&server) {
        map.retain(|_, until| *until > now);
        if map.len() >= NO_CAPS_MAX
            && let Some(any) = map.keys().next().copied()
        {
            map.remove(&any);
        }
    }
    map.insert(server, now + NO_CAPS_TTL);
}

/// One exchange with `server`: UDP, TCP on TC=1, no-EDNS retry on
/// FORMERR/NOTIMP, and (with `caps` on and a name with letters) 0x20 with
/// its fallback. Errors only when the query cannot be encoded.
pub async fn ask(
    transport: &dyn Transport,
    server: SocketAddr,
    question: &Query,
    flags: QueryFlags,
    timeout: Duration,
    caps: &CaseRandomisation,
) -> Result<Exchange, UpstreamError> {
    let mut edns = !caps.no_edns(server);
    let mut refused_edns = false;
    let mut protocol = Protocol::Udp;
    // No letters, nothing to randomise.
    let mut mixed = caps.use_for(server) && has_letters(question);
    // At most: UDP, TCP after TC, each once more without EDNS, and once
    // more without 0x20.
    for _ in 0..6 {
        let id: u16 = rand::random();
        let mut request = build_query(id, question, flags, edns)
            .map_err(|e| UpstreamError::Encode(e.to_string()))?;
        let asked = question_end(&request).map(|end| 12..end);
        let original = asked.clone().map(|q| request[q].to_vec());
        let exchange = match &asked {
            Some(q) if mixed => {
                // The name only, not QTYPE and QCLASS.
                randomise_case(&mut request[q.start..q.end - 4]);
                transport.exchange_echo(server, &request, protocol, timeout)
            }
            _ => transport.exchange(server, &request, protocol, timeout),
        };
        let mut bytes = match exchange.await {
            Ok(bytes) => bytes,
            Err(e) => {
                return Ok(Exchange::Failed {
                    timeout: e.kind() == std::io::ErrorKind::TimedOut,
                    why: e.to_string(),
                });
            }
        };
        if mixed && let (Some(q), Some(original)) = (asked, original) {
            match bytes.get(q.clone()) {
                Some(echo) if echo == &request[q.clone()] => {
                    // Restore the caller's case (in the question and in
                    // every name compressed against it).
                    bytes[q].copy_from_slice(&original);
                }
                Some(echo) if echo.eq_ignore_ascii_case(&request[q]) => {
                    // The transport waited for an exact echo until the
                    // deadline: the server does not preserve case (or
                    // only a forger answered). Ask again plainly.
                    tracing::info!(%server, name = %question.name(), "reply did not echo the 0x20 case; asking without it");
                    FORGERIES.caps_fallback();
                    caps.remember_no_caps(server);
                    mixed = false;
                    continue;
                }
                // Another question: check_reply drops it.
                _ => {}
            }
        }
        match check_reply(id, question, &bytes) {
            Checked::Garbage(why) => {
                return Ok(Exchange::Failed {
                    why,
                    timeout: false,
                });
            }
            Checked::Truncated if protocol == Protocol::Udp => {
                // RFC 7766 §5: a truncated UDP reply is retried over TCP.
                tracing::debug!(%server, name = %question.name(), "TC=1, retrying over TCP");
                protocol = Protocol::Tcp;
            }
            Checked::Truncated => {
                return Ok(Exchange::Failed {
                    why: "truncated over TCP".into(),
                    timeout: false,
                });
            }
            Checked::Good(message)
                if edns
                    && matches!(
                        message.metadata.response_code,
                        ResponseCode::FormErr | ResponseCode::NotImp
                    ) =>
            {
                // RFC 6891 §7: a responder without EDNS answers FORMERR
                // (or NOTIMP); ask again without the OPT record.
                tracing::debug!(%server, rcode = %message.metadata.response_code, "retrying without EDNS");
                edns = false;
                refused_edns = true;
            }
            Checked::Good(message) => {
                if refused_edns
                    && matches!(
                        message.metadata.response_code,
                        ResponseCode::NoError | ResponseCode::NXDomain
                    )
                {
                    // Without EDNS it answers: remember, per server.
                    caps.remember_no_edns(server);
                }
                return Ok(Exchange::Reply(UpstreamReply {
                    message,
                    server,
                    tcp: protocol == Protocol::Tcp,
                }));
            }
        }
    }
    Ok(Exchange::Failed {
        why: "no usable reply after the TCP, EDNS and 0x20 fallbacks".into(),
        timeout: false,
    })
}

/// Does the question name have a letter to randomise?
fn has_letters(question: &Query) -> bool {
    question
        .name()
        .iter()
        .any(|label| label.iter().any(u8::is_ascii_alphabetic))
}

/// Gives every ASCII letter of a wire-format name a random case (the
/// length octets are below 64, never letters).
fn randomise_case(name: &mut [u8]) {
    let mut bits = 0u64;
    for (i, byte) in name
        .iter_mut()
        .filter(|b| b.is_ascii_alphabetic())
        .enumerate()
    {
        if i % 64 == 0 {
            bits = rand::random();
        }
        *byte = if bits & 1 == 1 {
            byte.to_ascii_uppercase()
        } else {
            byte.to_ascii_lowercase()
        };
        bits >>= 1;
    }
}

/// The query we send: the caller's RD/CD, EDNS0 with DO=1 and a 1232-byte
/// buffer (unless `edns` is false), the given ID.
///
/// Written byte by byte (RFC 1035 §4.1, RFC 6891 §6.1.2): one uncompressed
/// question and at most an OPT record, where hickory's encoder builds a
/// `Message` and a compression table for it (0.8 % of the cold case list's
/// CPU). The unit test holds it to hickory's encoding, byte for byte.
pub fn build_query(
    id: u16,
    question: &Query,
    flags: QueryFlags,
    edns: bool,
) -> Result<Vec<u8>, crate::wire::ProtoError> {
    let name = question.name();
    let mut wire = Vec::with_capacity(12 + name.len() + 1 + 4 + 11);
    wire.extend_from_slice(&id.to_be_bytes());
    // QR=0, OPCODE=QUERY, AA=0, TC=0, RD; RA=0, Z=0, AD=0, CD, RCODE=0.
    wire.push(u8::from(flags.rd));
    wire.push(if flags.cd { 0x10 } else { 0 });
    // QDCOUNT 1, ANCOUNT 0, NSCOUNT 0, ARCOUNT (the OPT record).
    wire.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, u8::from(edns)]);
    for label in name.iter() {
        // A `Name` holds labels of at most 63 octets.
        wire.push(label.len() as u8);
        wire.extend_from_slice(label);
    }
    wire.push(0);
    wire.extend_from_slice(&u16::from(question.query_type()).to_be_bytes());
    wire.extend_from_slice(&u16::from(question.query_class()).to_be_bytes());
    if edns {
        // Root owner, TYPE OPT (41), CLASS = the UDP payload size, extended
        // RCODE 0, version 0, the DO bit, no options.
        wire.extend_from_slice(&[0, 0, 41]);
        wire.extend_from_slice(&EDNS_BUFFER.to_be_bytes());
        wire.extend_from_slice(&[0, 0, 0x80, 0, 0, 0]);
    }
    Ok(wire)
}

/// The verdict of [`check_reply`].
enum Checked {
    /// From the right place, for our question (any rcode).
    Good(Message),
    /// TC=1: retry over TCP.
    Truncated,
    /// Not a reply to our query.
    Garbage(String),
}

/// Judges a reply to the query `id` / `question` (RFC 5452 §4.1, §9.1).
fn check_reply(id: u16, question: &Query, bytes: &[u8]) -> Checked {
    let message = match crate::wire::decode_message(bytes) {
        Ok(m) => m,
        Err(e) => return Checked::Garbage(format!("malformed reply dropped: {e}")),
    };
    // RFC 5452 §9.1: the ID and the question must match the query.
    if message.metadata.id != id {
        return Checked::Garbage("reply with a foreign ID dropped".into());
    }
    if message.metadata.message_type != MessageType::Response {
        return Checked::Garbage("reply with QR=0 dropped".into());
    }
    if message.metadata.op_code != OpCode::Query {
        return Checked::Garbage("reply with another opcode dropped".into());
    }
    // A truncated reply may carry no question (RFC 7766 §5 lets the client
    // retry regardless); judge the question only when it is there.
    if message.metadata.truncation && message.queries.is_empty() {
        return Checked::Truncated;
    }
    // An error reply without a question (FORMERR from a server that could
    // not parse the OPT) is still a statement from that server.
    if message.queries.is_empty()
        && matches!(
            message.metadata.response_code,
            ResponseCode::FormErr | ResponseCode::NotImp
        )
    {
        return Checked::Good(message);
    }
    let same_question = message.queries.len() == 1 && {
        let q = &message.queries[0];
        // Name equality is case-insensitive (RFC 4343).
        q.name() == question.name()
            && q.query_type() == question.query_type()
            && q.query_class() == question.query_class()
    };
    if !same_question {
        return Checked::Garbage("reply for another question dropped".into());
    }
    if message.metadata.truncation {
        return Checked::Truncated;
    }
    Checked::Good(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::ExchangeFuture;
    use crate::wire::{Name, RecordType};

    /// A server that echoes the question (as `echo` transforms its name
    /// bytes) and records what it was sent.
    struct Echoing {
        echo: fn(&mut [u8]),
        sent: Mutex<Vec<Vec<u8>>>,
    }

    impl Transport for Echoing {
        fn exchange<'a>(
            &'a self,
            _server: SocketAddr,
            request: &'a [u8],
            _protocol: Protocol,
            _timeout: Duration,
        ) -> ExchangeFuture<'a> {
            self.sent.lock().unwrap().push(request.to_vec());
            let mut reply = request.to_vec();
            reply[2] |= 0x80;
            let end = question_end(&reply).unwrap();
            (self.echo)(&mut reply[12..end - 4]);
            // An answer compressed against the question: `A 192.0.2.1`.
            reply[7] = 1;
            reply[11] = 0; // no OPT
            reply.truncate(end);
            reply.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]);
            Box::pin(async move { Ok(reply) })
        }
    }

    fn echoing(echo: fn(&mut [u8])) -> Echoing {
        Echoing {
            echo,
            sent: Mutex::new(Vec::new()),
        }
    }

    fn run<T>(f: impl Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    }

    /// One forwarding exchange through `t`.
    fn ask_forward(
        t: &Echoing,
        server: SocketAddr,
        q: &Query,
        caps: &CaseRandomisation,
    ) -> Result<Exchange, UpstreamError> {
        run(ask(
            t,
            server,
            q,
            QueryFlags::FORWARD,
            Duration::from_secs(1),
            caps,
        ))
    }

    /// Forty letters: all forty lower case by chance once in 2^40.
    const LONG: &str = "abcdefghijklmnopqrst.uvwxyzabcdefghijklmn.example.";

    fn server(last: u8) -> SocketAddr {
        SocketAddr::from(([192, 0, 2, last], 53))
    }

    fn sent_name(request: &[u8]) -> Vec<u8> {
        request[12..question_end(request).unwrap() - 4].to_vec()
    }

    fn lower(name: &str) -> Vec<u8> {
        let q = Query::query(Name::from_ascii(name).unwrap(), RecordType::A);
        sent_name(&build_query(0, &q, QueryFlags::FORWARD, false).unwrap())
    }

    /// A server without EDNS: FORMERR to a query with an OPT record, an
    /// answer to one without.
    struct NoEdns {
        sent: Mutex<Vec<Vec<u8>>>,
    }

    impl Transport for NoEdns {
        fn exchange<'a>(
            &'a self,
            _server: SocketAddr,
            request: &'a [u8],
            _protocol: Protocol,
            _timeout: Duration,
        ) -> ExchangeFuture<'a> {
            self.sent.lock().unwrap().push(request.to_vec());
            let with_opt = request[11] > 0;
            let end = question_end(request).unwrap();
            let mut reply = request[..end].to_vec();
            reply[2] |= 0x80;
            reply[3] = if with_opt { 1 } else { 0 }; // FORMERR or NOERROR
            reply[11] = 0;
            Box::pin(async move { Ok(reply) })
        }
    }

    #[test]
    fn a_server_that_fails_edns_is_remembered_and_asked_without_it() {
        let q = Query::query(Name::from_ascii("example.").unwrap(), RecordType::A);
        let t = NoEdns {
            sent: Mutex::new(Vec::new()),
        };
        let caps = CaseRandomisation::new(false);
        let iterate = |server| {
            run(ask(
                &t,
                server,
                &q,
                QueryFlags::ITERATE,
                Duration::from_secs(1),
                &caps,
            ))
        };
        // First: EDNS, FORMERR, then without: two queries.
        let Ok(Exchange::Reply(r)) = iterate(server(1)) else {
            panic!("an answer without EDNS")
        };
        assert_eq!(r.message.metadata.response_code, ResponseCode::NoError);
        assert_eq!(t.sent.lock().unwrap().len(), 2);
        assert!(caps.no_edns(server(1)));
        // Then: without EDNS at once, one query.
        let Ok(Exchange::Reply(_)) = iterate(server(1)) else {
            panic!("an answer without EDNS")
        };
        let sent = t.sent.lock().unwrap().clone();
        assert_eq!(sent.len(), 3);
        assert_eq!(sent[2][11], 0, "no OPT record the second time");
        // Per server: another one still gets EDNS first.
        assert!(!caps.no_edns(server(2)));
        let _ = iterate(server(2));
        assert!(t.sent.lock().unwrap()[3][11] > 0);
    }

    #[test]
    fn caps_for_id_randomises_the_case_and_restores_the_callers() {
        let q = Query::query(Name::from_ascii(LONG).unwrap(), RecordType::A);
        let t = echoing(|_| {});
        let caps = CaseRandomisation::new(true);
        let Exchange::Reply(reply) = ask_forward(&t, server(1), &q, &caps).unwrap() else {
            panic!("an exact echo is accepted")
        };
        let sent = t.sent.lock().unwrap()[0].clone();
        let name = sent_name(&sent);
        assert!(name.eq_ignore_ascii_case(&lower(LONG)));
        assert_ne!(name, lower(LONG), "the name went out in mixed case");
        // The caller's case comes back, in the question and in the
        // answer compressed against it.
        let asked = reply.message.queries[0].name();
        assert!(asked.eq_case(q.name()), "{asked}");
        assert!(reply.message.answers[0].name.eq_case(q.name()));
        assert_eq!(caps.remembered(), 0);
    }

    #[test]
    fn a_server_that_does_not_echo_the_case_is_asked_plainly_and_remembered() {
        let q = Query::query(Name::from_ascii(LONG).unwrap(), RecordType::A);
        let t = echoing(|name| name.make_ascii_lowercase());
        let caps = CaseRandomisation::new(true);
        let before = FORGERIES.snapshot().caps_fallbacks;
        let exchange = ask_forward(&t, server(2), &q, &caps).unwrap();
        assert!(matches!(exchange, Exchange::Reply(_)), "{exchange:?}");
        let sent = t.sent.lock().unwrap().clone();
        assert_eq!(sent.len(), 2, "mixed case, then plain");
        assert_ne!(sent_name(&sent[0]), lower(LONG));
        assert_eq!(sent_name(&sent[1]), lower(LONG));
        assert!(FORGERIES.snapshot().caps_fallbacks > before);
        assert!(!caps.use_for(server(2)), "remembered");
        assert!(caps.use_for(server(3)), "for that server only");
        // The next query goes out plainly at once.
        ask_forward(&t, server(2), &q, &caps).unwrap();
        let sent = t.sent.lock().unwrap().clone();
        assert_eq!(sent.len(), 3);
        assert_eq!(sent_name(&sent[2]), lower(LONG));
    }

    #[test]
    fn no_caps_for_names_without_letters_or_when_off() {
        let digits = Query::query(Name::from_ascii("1.2.3.4.").unwrap(), RecordType::A);
        let t = echoing(|name| name.make_ascii_uppercase());
        let caps = CaseRandomisation::new(true);
        let exchange = ask_forward(&t, server(4), &digits, &caps).unwrap();
        assert!(matches!(exchange, Exchange::Reply(_)));
        assert_eq!(t.sent.lock().unwrap().len(), 1);
        assert!(caps.use_for(server(4)), "nothing to remember");
        let q = Query::query(Name::from_ascii(LONG).unwrap(), RecordType::A);
        let t = echoing(|_| {});
        ask_forward(&t, server(5), &q, &CaseRandomisation::new(false)).unwrap();
        assert_eq!(sent_name(&t.sent.lock().unwrap()[0]), lower(LONG));
    }

    #[test]
    fn randomise_case_touches_letters_only() {
        let mut name = b"\x05a-b_9\x03xyz\x00".to_vec();
        let mut upper = 0;
        for _ in 0..64 {
            let before = name.clone();
            randomise_case(&mut name);
            assert!(name.eq_ignore_ascii_case(&before));
            for i in [0, 2, 4, 5, 6, 10] {
                assert_eq!(name[i], before[i], "not a letter: {i}");
            }
            upper += name.iter().filter(|b| b.is_ascii_uppercase()).count();
        }
        assert!(upper > 0, "some letter went upper case in 64 rounds");
    }

    #[test]
    fn the_no_caps_memory_is_bounded() {
        let caps = CaseRandomisation::new(true);
        for i in 0..(NO_CAPS_MAX + 10) {
            let port = u16::try_from(i % 60_000).unwrap();
            let ip = [10, 0, u8::try_from(i / 60_000).unwrap(), 1];
            caps.remember_no_caps(SocketAddr::from((ip, port)));
        }
        assert_eq!(caps.remembered(), NO_CAPS_MAX);
    }

    /// The bytes hickory's encoder writes for the same query.
    fn hickory_query(id: u16, question: &Query, flags: QueryFlags, edns: bool) -> Vec<u8> {
        let mut message = Message::new(id, MessageType::Query, OpCode::Query);
        message.metadata.recursion_desired = flags.rd;
        message.metadata.checking_disabled = flags.cd;
        message.add_query(question.clone());
        if edns {
            let mut opt = crate::wire::Edns::new();
            opt.set_max_payload(EDNS_BUFFER);
            opt.set_dnssec_ok(true);
            message.set_edns(opt);
        }
        message.to_vec().unwrap()
    }

    #[test]
    fn the_query_is_the_bytes_hickory_would_write() {
        for (name, rtype) in [
            ("example.", RecordType::A),
            (".", RecordType::NS),
            ("WwW.Example.TEST.", RecordType::DS),
            ("_25._tcp.mail.example.", RecordType::TLSA),
        ] {
            let q = Query::query(Name::from_ascii(name).unwrap(), rtype);
            for (rd, cd) in [(false, false), (false, true), (true, false), (true, true)] {
                let flags = QueryFlags { rd, cd };
                for edns in [true, false] {
                    assert_eq!(
                        build_query(0xBEEF, &q, flags, edns).unwrap(),
                        hickory_query(0xBEEF, &q, flags, edns),
                        "{name} {rtype} {flags:?} edns={edns}"
                    );
                }
            }
        }
    }

    #[test]
    fn flags_and_edns_are_the_callers() {
        let q = Query::query(Name::from_ascii("example.").unwrap(), RecordType::A);
        let wire = build_query(7, &q, QueryFlags::ITERATE, true).unwrap();
        let m = Message::from_vec(&wire).unwrap();
        assert!(!m.metadata.recursion_desired);
        assert!(m.metadata.checking_disabled);
        let edns = m.edns.as_ref().unwrap();
        assert!(edns.flags().dnssec_ok);
        assert_eq!(edns.max_payload(), EDNS_BUFFER);
        let wire = build_query(7, &q, QueryFlags::FORWARD, false).unwrap();
        let m = Message::from_vec(&wire).unwrap();
        assert!(m.metadata.recursion_desired && m.edns.is_none());
    }

    #[test]
    fn rfc5452_replies_must_match_id_question_and_qr() {
        let q = Query::query(Name::from_ascii("example.").unwrap(), RecordType::A);
        let mut reply = Message::new(9, MessageType::Response, OpCode::Query);
        reply.add_query(q.clone());
        let bytes = reply.to_vec().unwrap();
        assert!(matches!(check_reply(9, &q, &bytes), Checked::Good(_)));
        assert!(matches!(check_reply(8, &q, &bytes), Checked::Garbage(_)));
        let other = Query::query(Name::from_ascii("other.").unwrap(), RecordType::A);
        assert!(matches!(
            check_reply(9, &other, &bytes),
            Checked::Garbage(_)
        ));
        reply.metadata.message_type = MessageType::Query;
        let bytes = reply.to_vec().unwrap();
        assert!(matches!(check_reply(9, &q, &bytes), Checked::Garbage(_)));
    }
}
