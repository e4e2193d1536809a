//! Parsing a client's query without allocating: [`Request::parse`].
//!
//! The hot path (a cache hit) needs only the header flags, the question and
//! the OPT record, so this parser reads exactly those and skips the rest. It
//! is strict: anything malformed that still has a header is answered with
//! FORMERR, anything shorter is dropped, and no input can make it panic.

use std::fmt;

use crate::edns::EDNS_BUFFER;
use crate::wire::{BinDecodable, BinDecoder, DNSClass, Name, Query, RecordType};

/// The longest domain name in wire form (RFC 1035 §3.1).
pub const MAX_NAME_LEN: usize = 255;

/// The longest cache key: a wire name, type, class and the CD flag.
pub const MAX_KEY_LEN: usize = MAX_NAME_LEN + 5;

/// RCODEs this module produces (RFC 1035 §4.1.1, RFC 6891 §9).
pub mod rcode {
    /// Format error.
    pub const FORMERR: u16 = 1;
    /// Not implemented.
    pub const NOTIMP: u16 = 4;
    /// Refused.
    pub const REFUSED: u16 = 5;
    /// Bad OPT version (RFC 6891 §6.1.3), an extended RCODE.
    pub const BADVERS: u16 = 16;
}

/// The client's EDNS0 OPT record (RFC 6891 §6.1.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientEdns {
    /// The requestor's UDP payload size.
    pub payload: u16,
    /// The DO bit (RFC 3225).
    pub dnssec_ok: bool,
}

/// A parsed client query.
#[derive(Clone)]
pub struct Request {
    /// The ID.
    pub id: u16,
    /// RD.
    pub rd: bool,
    /// AD (RFC 6840 §5.7: the client understands AD).
    pub ad: bool,
    /// CD (RFC 4035 §3.2.2).
    pub cd: bool,
    /// The QTYPE.
    pub qtype: u16,
    /// The QCLASS.
    pub qclass: u16,
    /// The OPT record, if any.
    pub edns: Option<ClientEdns>,
    qname: [u8; MAX_NAME_LEN],
    qname_len: u16,
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("id", &self.id)
            .field("qname", &self.qname_wire())
            .field("qtype", &self.qtype)
            .field("rd", &self.rd)
            .field("ad", &self.ad)
            .field("cd", &self.cd)
            .field("edns", &self.edns)
            .finish()
    }
}

/// What to do with a datagram or TCP message.
// The request lives on the stack on purpose: no allocation per query.
#[expect(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Parsed {
    /// Too short to answer, or not a query: drop silently.
    Drop(&'static str),
    /// Answer with this RCODE and nothing else (see [`error_response`]).
    Reject {
        /// The RCODE (may be extended, e.g. BADVERS).
        rcode: u16,
        /// Why, for the logs.
        why: &'static str,
    },
    /// A query to answer.
    Query(Request),
}

/// A read position over a message; every read is bounds-checked.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn u8(&mut self) -> Option<u8> {
        let b = *self.buf.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    fn u16(&mut self) -> Option<u16> {
        let b = self.buf.get(self.pos..self.pos + 2)?;
        self.pos += 2;
        Some(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Option<u32> {
        let b = self.buf.get(self.pos..self.pos + 4)?;
        self.pos += 4;
        Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn skip(&mut self, n: usize) -> Option<()> {
        if self.buf.len() - self.pos < n {
            return None;
        }
        self.pos += n;
        Some(())
    }

    /// Skips a possibly compressed name, checking it on the way: every
    /// pointer must point backwards (RFC 1035 §4.1.4: "a prior occurrence"),
    /// and the name, pointers followed, must stay within 255 bytes. That
    /// rules out compression loops. Returns true when the name is the root.
    fn skip_name(&mut self) -> Option<bool> {
        let mut at = self.pos;
        let mut end = None;
        let mut len = 0usize;
        for _ in 0..MAX_NAME_LEN {
            let byte = *self.buf.get(at)?;
            match byte & 0xC0 {
                0x00 if byte == 0 => {
                    self.pos = end.unwrap_or(at + 1);
                    return Some(len == 0);
                }
                0x00 => {
                    len += 1 + usize::from(byte);
                    if len + 1 > MAX_NAME_LEN {
                        return None;
                    }
                    at += 1 + usize::from(byte);
                }
                0xC0 => {
                    let low = *self.buf.get(at + 1)?;
                    let target = usize::from(byte & 0x3F) << 8 | usize::from(low);
                    if target >= at {
                        return None;
                    }
                    end.get_or_insert(at + 2);
                    at = target;
                }
                // 0x40 and 0x80: extended label types (RFC 6891 §5), unused.
                _ => return None,
            }
        }
        None
    }
}

impl Request {
    /// Parses a client message (RFC 1035 §4.1).
    pub fn parse(buf: &[u8]) -> Parsed {
        if buf.len() < 12 {
            return Parsed::Drop("shorter than a DNS header");
        }
        let flags = u16::from_be_bytes([buf[2], buf[3]]);
        if flags & 0x8000 != 0 {
            // Never answer a response: that is how reflection loops start.
            return Parsed::Drop("QR=1");
        }
        let opcode = (flags >> 11) & 0xF;
        if opcode != 0 {
            // RFC 1035 §4.1.1: NOTIMP for a kind of query we do not support.
            return Parsed::Reject {
                rcode: rcode::NOTIMP,
                why: "opcode other than QUERY",
            };
        }
        let counts = |i: usize| u16::from_be_bytes([buf[4 + 2 * i], buf[5 + 2 * i]]);
        let (qd, an, ns, ar) = (counts(0), counts(1), counts(2), counts(3));
        let formerr = |why| Parsed::Reject {
            rcode: rcode::FORMERR,
            why,
        };
        // RFC 9619 §4: a QUERY carries exactly one question.
        if qd != 1 {
            return formerr("QDCOUNT is not 1");
        }
        let mut cur = Cursor { buf, pos: 12 };
        let mut qname = [0u8; MAX_NAME_LEN];
        let mut qname_len = 0usize;
        loop {
            let Some(len) = cur.u8() else {
                return formerr("question truncated");
            };
            if len & 0xC0 != 0 {
                // A pointer here could only point into the header.
                return formerr("compressed or extended label in the question");
            }
            let len = usize::from(len);
            if qname_len + 1 + len > MAX_NAME_LEN {
                return formerr("question name over 255 bytes");
            }
            if buf.len() - cur.pos < len {
                return formerr("question truncated");
            }
            qname_len += 1 + len;
            cur.pos += len;
            if len == 0 {
                break;
            }
        }
        // No pointers: the name lies whole from offset 12, copied at once
        // rather than label by label (issue 12: the hit path's parse).
        let Some(wire) = buf.get(12..cur.pos) else {
            return formerr("question truncated");
        };
        qname[..qname_len].copy_from_slice(wire);
        let (Some(qtype), Some(qclass)) = (cur.u16(), cur.u16()) else {
            return formerr("question truncated");
        };
        // Skip answer and authority records; a query should carry none, but
        // they are not worth refusing.
        for _ in 0..u32::from(an) + u32::from(ns) {
            if skip_record(&mut cur).is_none() {
                return formerr("record truncated");
            }
        }
        let mut edns = None;
        let mut version = 0u8;
        for _ in 0..ar {
            let Some(root) = cur.skip_name() else {
                return formerr("additional record truncated");
            };
            let (Some(rtype), Some(class), Some(ttl), Some(rdlen)) =
                (cur.u16(), cur.u16(), cur.u32(), cur.u16())
            else {
                return formerr("additional record truncated");
            };
            if cur.skip(usize::from(rdlen)).is_none() {
                return formerr("additional record truncated");
            }
            if rtype == u16::from(RecordType::OPT) {
                // RFC 6891 §6.1.1: more than one OPT MUST get FORMERR.
                if edns.is_some() {
                    return formerr("more than one OPT record");
                }
                // RFC 6891 §6.1.2: the owner of OPT MUST be the root.
                if !root {
                    return formerr("OPT owner is not the root");
                }
                version = (ttl >> 16) as u8;
                edns = Some(ClientEdns {
                    payload: class,
                    dnssec_ok: ttl & 0x8000 != 0,
                });
            }
        }
        // RFC 6891 §6.1.3: a version we do not implement MUST get BADVERS.
        if version != 0 {
            return Parsed::Reject {
                rcode: rcode::BADVERS,
                why: "EDNS version other than 0",
            };
        }
        if qtype == u16::from(RecordType::OPT) {
            return formerr("QTYPE OPT");
        }
        let request = Self {
            id: u16::from_be_bytes([buf[0], buf[1]]),
            rd: flags & 0x0100 != 0,
            ad: flags & 0x0020 != 0,
            cd: flags & 0x0010 != 0,
            qtype,
            qclass,
            edns,
            qname,
            qname_len: qname_len as u16,
        };
        if matches!(RecordType::from(qtype), RecordType::AXFR | RecordType::IXFR) {
            return Parsed::Reject {
                rcode: rcode::REFUSED,
                why: "zone transfer asked of a resolver",
            };
        }
        Parsed::Query(request)
    }

    /// The question name in wire form, in the client's case.
    pub fn qname_wire(&self) -> &[u8] {
        &self.qname[..usize::from(self.qname_len)]
    }

    /// The question as a hickory [`Query`], in the client's case.
    pub fn query(&self) -> Query {
        let mut decoder = BinDecoder::new(self.qname_wire());
        // The wire name was checked by `parse`; root is a safe fallback.
        let name = Name::read(&mut decoder).unwrap_or_else(|_| Name::root());
        let mut query = Query::query(name, RecordType::from(self.qtype));
        query.set_query_class(DNSClass::from(self.qclass));
        query
    }

    /// The DO bit (RFC 3225); false without EDNS.
    pub fn dnssec_ok(&self) -> bool {
        self.edns.is_some_and(|e| e.dnssec_ok)
    }

    /// RFC 6840 §5.8: the client signalled that it understands AD, by DO=1 or
    /// AD=1.
    pub fn wants_ad(&self) -> bool {
        self.ad || self.dnssec_ok()
    }

    /// The largest UDP response this client takes: its EDNS payload size,
    /// at least 512 (RFC 6891 §6.2.3) and at most our 1232; 512 without
    /// EDNS (RFC 1035 §4.2.1).
    pub fn udp_limit(&self) -> usize {
        match self.edns {
            Some(e) => usize::from(e.payload.clamp(512, EDNS_BUFFER)),
            None => 512,
        }
    }
}

fn skip_record(cur: &mut Cursor<'_>) -> Option<()> {
    cur.skip_name()?;
    cur.skip(8)?;
    let rdlen = cur.u16()?;
    cur.skip(usize::from(rdlen))
}

/// Writes an error response to the raw message `buf` (at least 12 bytes):
/// the ID, opcode, RD and CD copied, QR=1, RA=1, the RCODE, no sections. An
/// extended RCODE (BADVERS) goes with an OPT record (RFC 6891 §6.1.3).
pub fn error_response(buf: &[u8], rcode: u16, out: &mut Vec<u8>) {
    out.clear();
    if buf.len() < 12 {
        return;
    }
    out.extend_from_slice(&buf[..2]);
    // QR=1, opcode and RD copied.
    out.push(0x80 | (buf[2] & 0x79));
    // RA=1, CD copied, RCODE low bits.
    out.push(0x80 | (buf[3] & 0x10) | (rcode & 0xF) as u8);
    let extended = rcode > 0xF;
    out.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, u8::from(extended)]);
    if extended {
        out.push(0); // root
        out.extend_from_slice(&u16::from(RecordType::OPT).to_be_bytes());
        out.extend_from_slice(&EDNS_BUFFER.to_be_bytes());
        out.push((rcode >> 4) as u8); // EXTENDED-RCODE
        out.extend_from_slice(&[0, 0, 0]); // version 0, flags
        out.extend_from_slice(&[0, 0]); // RDLEN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(name: &str, qtype: RecordType) -> Vec<u8> {
        let mut m = crate::wire::Message::query();
        m.add_query(Query::query(Name::from_ascii(name).unwrap(), qtype));
        m.to_vec().unwrap()
    }

    #[test]
    fn parses_a_plain_query() {
        let bytes = query("WwW.Example.", RecordType::A);
        let Parsed::Query(r) = Request::parse(&bytes) else {
            panic!()
        };
        assert_eq!(r.query().name().to_ascii(), "WwW.Example.");
        assert_eq!(r.qtype, 1);
        assert!(r.edns.is_none());
        assert_eq!(r.udp_limit(), 512);
    }

    #[test]
    fn short_packets_are_dropped_and_truncated_ones_get_formerr() {
        let bytes = query("www.example.", RecordType::A);
        for cut in 0..bytes.len() {
            match Request::parse(&bytes[..cut]) {
                Parsed::Drop(_) => assert!(cut < 12),
                Parsed::Reject { rcode, .. } => {
                    assert!(cut >= 12);
                    assert_eq!(rcode, rcode::FORMERR);
                }
                Parsed::Query(_) => panic!("accepted a query cut at {cut}"),
            }
        }
    }

    #[test]
    fn error_response_copies_id_and_sets_rcode() {
        let bytes = query("www.example.", RecordType::A);
        let mut out = Vec::new();
        error_response(&bytes, rcode::BADVERS, &mut out);
        let m = crate::wire::Message::from_vec(&out).unwrap();
        assert_eq!(m.metadata.id, u16::from_be_bytes([bytes[0], bytes[1]]));
        assert_eq!(u16::from(m.metadata.response_code), 16);
    }
}
