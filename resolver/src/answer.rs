//! Building the client's response from its request and a [`Resolution`].
//!
//! The rules, in one place:
//! - AD=1 only when the outcome is Secure and the client set DO or AD
//!   (RFC 6840 §5.7–5.8), and never when it set CD (our policy: a CD=1
//!   client asked us not to judge, so we do not vouch either).
//! - Bogus and CD=0: SERVFAIL with no data and the Extended DNS Error
//!   (RFC 4035 §5.5, RFC 8914). CD=1: the data, never a validation SERVFAIL
//!   (RFC 4035 §3.2.2).
//! - DO=0: no RRSIG, NSEC or NSEC3 unless the question asks for that type
//!   (RFC 4035 §3.2.1).
//! - RA=1; RD and CD copied (RFC 4035 §3.1.6); an OPT with a 1232-byte
//!   buffer and the DO bit echoed for EDNS clients (RFC 6891 §6.1.1, RFC
//!   3225 §3); the EDE of an insecure outcome too (e.g. EDE 27).
//! - A UDP response larger than the client's buffer goes out with TC=1 and
//!   no records (RFC 1035 §4.2.1, RFC 6891 §7).

use crate::wire::rdata::opt::EdnsOption;

use crate::edns::EDNS_BUFFER;
use crate::request::Request;
use crate::resolve::Resolution;
use crate::validator::outcome::{Ede, Outcome, ede_code};
use crate::wire::{Edns, Message, OpCode, Record, RecordType, ResponseCode};

/// The EDNS option code of Extended DNS Errors (RFC 8914 §2).
pub const EDE_OPTION: u16 = 15;

/// The longest EXTRA-TEXT we send, so that a SERVFAIL stays small.
pub const MAX_EDE_TEXT: usize = 300;

/// A SERVFAIL that no validation produced: the reason the resolution
/// gave (`Resolution::failure`: no reachable authority, a network error, a
/// budget spent, the server's time limit, ...) or, without one (a
/// forwarding upstream's own SERVFAIL), RFC 8914 §4.23 "No Reachable
/// Authority" (22), the closest code for upstreams that could not answer.
fn unreachable_upstream(resolution: &Resolution) -> Option<Ede> {
    (resolution.rcode == ResponseCode::ServFail
        && matches!(resolution.outcome, Outcome::Indeterminate)
        && resolution.answers.is_empty())
    .then(|| {
        resolution.failure.clone().unwrap_or_else(|| Ede {
            code: ede_code::NO_REACHABLE_AUTHORITY,
            text: "no usable answer from the upstream resolvers".into(),
        })
    })
}

/// The response to `request` carrying `resolution`.
pub fn build(request: &Request, resolution: &Resolution) -> Message {
    let mut message = header_for(request);
    let outcome = &resolution.outcome;
    let ede = outcome.ede().or_else(|| unreachable_upstream(resolution));
    if outcome.is_bogus() && !request.cd {
        // RFC 4035 §5.5: a security-aware resolver MUST return SERVFAIL for
        // bogus data when CD=0.
        message.metadata.response_code = ResponseCode::ServFail;
    } else {
        message.metadata.response_code = resolution.rcode;
        let keep = dnssec_filter(request);
        message.answers = resolution
            .answers
            .iter()
            .filter(|r| keep(r))
            .cloned()
            .collect();
        message.authorities = resolution
            .authority
            .iter()
            .filter(|r| keep(r))
            .cloned()
            .collect();
        message.additionals = resolution
            .additional
            .iter()
            .filter(|r| r.record_type() != RecordType::OPT && keep(r))
            .cloned()
            .collect();
        // RFC 6840 §5.8: AD only for a client that set DO or AD; RFC 4035
        // §3.2.3: only when all the data is authentic.
        message.metadata.authentic_data = outcome.is_secure() && request.wants_ad() && !request.cd;
    }
    set_edns(&mut message, request, ede.as_ref());
    message
}

/// Puts `ede` in the response's OPT in place of any other EDE (an EDNS
/// client only, RFC 6891 §7): serve-stale marks its answers so.
pub fn set_ede(message: &mut Message, request: &Request, ede: &Ede) {
    set_edns(message, request, Some(ede));
}

/// A response with `rcode` and the question, no data (REFUSED, SERVFAIL).
pub fn error(request: &Request, rcode: ResponseCode) -> Message {
    let mut message = header_for(request);
    message.metadata.response_code = rcode;
    set_edns(&mut message, request, None);
    message
}

/// Encodes `message` for `request` over UDP: if it does not fit in the
/// client's buffer, the response goes out with TC=1 and no records.
pub fn encode_udp(request: &Request, message: &Message) -> Vec<u8> {
    let bytes = encode(message);
    if bytes.len() <= request.udp_limit() {
        return bytes;
    }
    encode(&truncated(message))
}

/// Encodes `message` (over TCP: no size limit but 65535). A message hickory
/// cannot encode becomes a SERVFAIL carrying just the question.
pub fn encode(message: &Message) -> Vec<u8> {
    match message.to_vec() {
        Ok(bytes) if bytes.len() <= usize::from(u16::MAX) => bytes,
        _ => {
            let mut m = truncated(message);
            m.metadata.truncation = false;
            m.metadata.response_code = ResponseCode::ServFail;
            m.to_vec().unwrap_or_default()
        }
    }
}

/// The TC=1 form of `message`: header, question and OPT, no records.
pub fn truncated(message: &Message) -> Message {
    let mut m = message.clone();
    m.answers.clear();
    m.authorities.clear();
    m.additionals.clear();
    m.metadata.truncation = true;
    m.metadata.authentic_data = false;
    m
}

/// A response header and question for `request`: QR=1, RA=1, RD and CD
/// copied (RFC 4035 §3.1.6: "the CD bit ... MUST be copied").
fn header_for(request: &Request) -> Message {
    let mut message = Message::response(request.id, OpCode::Query);
    message.metadata.recursion_desired = request.rd;
    message.metadata.recursion_available = true;
    message.metadata.checking_disabled = request.cd;
    message.add_query(request.query());
    message
}

/// RFC 4035 §3.2.1: without DO, RRSIG, NSEC and NSEC3 are left out unless
/// the question asks for them (or for ANY).
fn dnssec_filter(request: &Request) -> impl Fn(&Record) -> bool + use<> {
    let dnssec_ok = request.dnssec_ok();
    let qtype = RecordType::from(request.qtype);
    move |r: &Record| {
        let rtype = r.record_type();
        dnssec_ok
            || qtype == RecordType::ANY
            || rtype == qtype
            || !matches!(
                rtype,
                RecordType::RRSIG | RecordType::NSEC | RecordType::NSEC3
            )
    }
}

/// An OPT for EDNS clients only (RFC 6891 §7: no OPT to a client that sent
/// none), with our buffer size, DO echoed (RFC 3225 §3) and the EDE.
fn set_edns(message: &mut Message, request: &Request, ede: Option<&Ede>) {
    let Some(client) = request.edns else {
        return;
    };
    let mut edns = Edns::new();
    edns.set_max_payload(EDNS_BUFFER);
    edns.set_dnssec_ok(client.dnssec_ok);
    if let Some(ede) = ede {
        edns.options_mut()
            .insert(EdnsOption::Unknown(EDE_OPTION, ede_option_data(ede)));
    }
    message.set_edns(edns);
}

/// RFC 8914 §2: INFO-CODE (16 bits) then EXTRA-TEXT, UTF-8 without NUL,
/// cut at a character boundary to [`MAX_EDE_TEXT`] bytes.
pub fn ede_option_data(ede: &Ede) -> Vec<u8> {
    let mut end = ede.text.len().min(MAX_EDE_TEXT);
    while !ede.text.is_char_boundary(end) {
        end -= 1;
    }
    let mut data = Vec::with_capacity(2 + end);
    data.extend_from_slice(&ede.code.to_be_bytes());
    data.extend_from_slice(&ede.text.as_bytes()[..end]);
    data
}

/// Reads the EDE option of a response, if any (for tests and the CLI).
pub fn ede_of(message: &Message) -> Option<(u16, String)> {
    let edns = message.edns.as_ref()?;
    edns.options()
        .as_ref()
        .iter()
        .find_map(|(_, option)| match option {
            EdnsOption::Unknown(EDE_OPTION, data) if data.len() >= 2 => Some((
                u16::from_be_bytes([data[0], data[1]]),
                String::from_utf8_lossy(&data[2..]).into_owned(),
            )),
            _ => None,
        })
}

/// The offsets of the TTL fields of every record (OPT excluded) in an
/// encoded message, with the TTL found there. `None` if the message does not
/// parse (it was produced by hickory, so that would be a bug).
pub fn ttl_offsets(wire: &[u8]) -> Option<Vec<(usize, u32)>> {
    let get16 = |at: usize| -> Option<u16> {
        Some(u16::from_be_bytes([*wire.get(at)?, *wire.get(at + 1)?]))
    };
    let skip_name = |mut at: usize| -> Option<usize> {
        loop {
            let len = *wire.get(at)?;
            match len & 0xC0 {
                0 if len == 0 => return Some(at + 1),
                0 => at += 1 + usize::from(len),
                0xC0 => return Some(at + 2),
                _ => return None,
            }
        }
    };
    let qd = get16(4)?;
    let records = u32::from(get16(6)?) + u32::from(get16(8)?) + u32::from(get16(10)?);
    let mut at = 12;
    for _ in 0..qd {
        at = skip_name(at)? + 4;
    }
    let mut out = Vec::new();
    for _ in 0..records {
        at = skip_name(at)?;
        let rtype = get16(at)?;
        let ttl_at = at + 4;
        let ttl = u32::from_be_bytes(wire.get(ttl_at..ttl_at + 4)?.try_into().ok()?);
        let rdlen = usize::from(get16(at + 8)?);
        if rtype != u16::from(RecordType::OPT) {
            out.push((ttl_at, ttl));
        }
        at += 10 + rdlen;
    }
    (at <= wire.len()).then_some(out)
}
