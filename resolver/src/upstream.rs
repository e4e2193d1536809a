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
//! It also owns the engine's upstream result types: [`UpstreamReply`] and
//! [`UpstreamError`].
//!
//! # What this module does not do
//! It does not choose servers, retry other servers or judge rcodes beyond
//! the EDNS fallback: that is the forwarder's and the iterator's job.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::op::{Edns, MessageType};

use crate::transport::{Protocol, Transport};
use crate::wire::{Message, OpCode, Query, ResponseCode};

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

/// One exchange with `server`: UDP, TCP on TC=1, no-EDNS retry on
/// FORMERR/NOTIMP. Errors only when the query cannot be encoded.
pub async fn ask(
    transport: &dyn Transport,
    server: SocketAddr,
    question: &Query,
    flags: QueryFlags,
    timeout: Duration,
) -> Result<Exchange, UpstreamError> {
    let mut edns = true;
    let mut protocol = Protocol::Udp;
    // At most: UDP, TCP after TC, and each once more without EDNS.
    for _ in 0..4 {
        let id: u16 = rand::random();
        let request = build_query(id, question, flags, edns)
            .map_err(|e| UpstreamError::Encode(e.to_string()))?;
        let bytes = match transport
            .exchange(server, &request, protocol, timeout)
            .await
        {
            Ok(bytes) => bytes,
            Err(e) => {
                return Ok(Exchange::Failed {
                    timeout: e.kind() == std::io::ErrorKind::TimedOut,
                    why: e.to_string(),
                });
            }
        };
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
            }
            Checked::Good(message) => {
                return Ok(Exchange::Reply(UpstreamReply {
                    message,
                    server,
                    tcp: protocol == Protocol::Tcp,
                }));
            }
        }
    }
    Ok(Exchange::Failed {
        why: "no usable reply after the TCP and EDNS fallbacks".into(),
        timeout: false,
    })
}

/// The query we send: the caller's RD/CD, EDNS0 with DO=1 and a 1232-byte
/// buffer (unless `edns` is false), the given ID.
pub fn build_query(
    id: u16,
    question: &Query,
    flags: QueryFlags,
    edns: bool,
) -> Result<Vec<u8>, crate::wire::ProtoError> {
    let mut message = Message::new(id, MessageType::Query, OpCode::Query);
    message.metadata.recursion_desired = flags.rd;
    message.metadata.checking_disabled = flags.cd;
    message.add_query(question.clone());
    if edns {
        let mut opt = Edns::new();
        opt.set_max_payload(EDNS_BUFFER);
        opt.set_dnssec_ok(true);
        message.set_edns(opt);
    }
    message.to_vec()
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
    use crate::wire::{Name, RecordType};

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
