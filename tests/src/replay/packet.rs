//! A DNS message as the harness sees it: header fields, sections of
//! [`RawRecord`]s and the EDNS fields, written to wire form by hand.
//!
//! The harness builds mock replies itself (no hickory encoder), so records
//! that hickory refuses to decode (test data with DNSKEY protocol 2, bogus
//! keys, …) still reach the resolver byte for byte.

use danebound_resolver::wire::{BinEncodable, BinEncoder, DNSClass, Message, Name, RecordType};
use danebound_trust_anchors::text::{RawRecord, name_to_wire};

/// Header flag bits (RFC 1035 §4.1.1, RFC 4035 §3.2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flags {
    pub qr: bool,
    pub aa: bool,
    pub tc: bool,
    pub rd: bool,
    pub ra: bool,
    pub z: bool,
    pub ad: bool,
    pub cd: bool,
}

impl Flags {
    fn to_bits(self) -> u16 {
        let mut b = 0u16;
        for (set, bit) in [
            (self.qr, 0x8000),
            (self.aa, 0x0400),
            (self.tc, 0x0200),
            (self.rd, 0x0100),
            (self.ra, 0x0080),
            (self.z, 0x0040),
            (self.ad, 0x0020),
            (self.cd, 0x0010),
        ] {
            if set {
                b |= bit;
            }
        }
        b
    }

    /// The flags that are set, as text (`QR RD RA AD`).
    pub fn describe(self) -> String {
        let mut v = Vec::new();
        for (set, name) in [
            (self.qr, "QR"),
            (self.aa, "AA"),
            (self.tc, "TC"),
            (self.rd, "RD"),
            (self.ra, "RA"),
            (self.z, "Z"),
            (self.ad, "AD"),
            (self.cd, "CD"),
        ] {
            if set {
                v.push(name);
            }
        }
        v.join(" ")
    }
}

/// One question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    pub name: Name,
    pub qtype: RecordType,
    pub qclass: DNSClass,
}

/// The EDNS(0) OPT pseudo-record (RFC 6891 §6.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edns {
    pub payload: u16,
    pub ext_rcode: u8,
    pub version: u8,
    /// DO bit (RFC 3225).
    pub dnssec_ok: bool,
    /// CO bit (compact denial of existence).
    pub compact_ok: bool,
    /// The OPT RDATA (the options, in wire form).
    pub options: Vec<u8>,
}

impl Edns {
    /// The option with `code`, if present.
    pub fn option(&self, code: u16) -> Option<&[u8]> {
        self.split_options()
            .into_iter()
            .find(|(c, _)| *c == code)
            .map(|(_, d)| d)
    }

    /// The options as (code, data) pairs; a truncated tail is dropped.
    pub fn split_options(&self) -> Vec<(u16, &[u8])> {
        let mut out = Vec::new();
        let mut rest = self.options.as_slice();
        while rest.len() >= 4 {
            let code = u16::from_be_bytes([rest[0], rest[1]]);
            let len = usize::from(u16::from_be_bytes([rest[2], rest[3]]));
            let Some(data) = rest.get(4..4 + len) else {
                break;
            };
            out.push((code, data));
            rest = &rest[4 + len..];
        }
        out
    }

    /// Removes every option with `code`.
    pub fn remove_option(&mut self, code: u16) {
        let keep: Vec<u8> = self
            .split_options()
            .into_iter()
            .filter(|(c, _)| *c != code)
            .flat_map(|(c, d)| {
                let mut v = c.to_be_bytes().to_vec();
                v.extend_from_slice(&(d.len() as u16).to_be_bytes());
                v.extend_from_slice(d);
                v
            })
            .collect();
        self.options = keep;
    }
}

/// A whole DNS message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Packet {
    pub id: u16,
    pub opcode: u8,
    /// The full rcode: the header's 4 bits plus the EDNS extended bits.
    pub rcode: u16,
    pub flags: Flags,
    pub question: Vec<Question>,
    pub answer: Vec<RawRecord>,
    pub authority: Vec<RawRecord>,
    pub additional: Vec<RawRecord>,
    pub edns: Option<Edns>,
}

/// The three record sections, for loops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Answer,
    Authority,
    Additional,
}

impl Section {
    pub const ALL: [Self; 3] = [Self::Answer, Self::Authority, Self::Additional];

    pub fn name(self) -> &'static str {
        match self {
            Self::Answer => "ANSWER",
            Self::Authority => "AUTHORITY",
            Self::Additional => "ADDITIONAL",
        }
    }
}

impl Packet {
    /// The records of `section`.
    pub fn section(&self, section: Section) -> &Vec<RawRecord> {
        match section {
            Section::Answer => &self.answer,
            Section::Authority => &self.authority,
            Section::Additional => &self.additional,
        }
    }

    /// The records of `section`, mutable.
    pub fn section_mut(&mut self, section: Section) -> &mut Vec<RawRecord> {
        match section {
            Section::Answer => &mut self.answer,
            Section::Authority => &mut self.authority,
            Section::Additional => &mut self.additional,
        }
    }

    /// The first question, if any.
    pub fn first_question(&self) -> Option<&Question> {
        self.question.first()
    }

    /// Wire form, without name compression.
    pub fn to_wire(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(512);
        out.extend_from_slice(&self.id.to_be_bytes());
        let bits = self.flags.to_bits() | (u16::from(self.opcode & 0xf) << 11) | (self.rcode & 0xf);
        out.extend_from_slice(&bits.to_be_bytes());
        let count = |n: usize| (n.min(usize::from(u16::MAX)) as u16).to_be_bytes();
        out.extend_from_slice(&count(self.question.len()));
        out.extend_from_slice(&count(self.answer.len()));
        out.extend_from_slice(&count(self.authority.len()));
        out.extend_from_slice(&count(
            self.additional.len() + usize::from(self.edns.is_some()),
        ));
        for q in &self.question {
            out.extend_from_slice(&name_to_wire(&q.name));
            out.extend_from_slice(&u16::from(q.qtype).to_be_bytes());
            out.extend_from_slice(&u16::from(q.qclass).to_be_bytes());
        }
        for rr in self
            .answer
            .iter()
            .chain(&self.authority)
            .chain(&self.additional)
        {
            rr.write_wire(&mut out);
        }
        if let Some(e) = &self.edns {
            out.push(0);
            out.extend_from_slice(&41u16.to_be_bytes());
            out.extend_from_slice(&e.payload.to_be_bytes());
            let ext = (self.rcode >> 4) as u8 | e.ext_rcode;
            out.push(ext);
            out.push(e.version);
            let mut f = 0u16;
            if e.dnssec_ok {
                f |= 0x8000;
            }
            if e.compact_ok {
                f |= 0x4000;
            }
            out.extend_from_slice(&f.to_be_bytes());
            out.extend_from_slice(&(e.options.len() as u16).to_be_bytes());
            out.extend_from_slice(&e.options);
        }
        out
    }

    /// Converts to a hickory message (fails where hickory refuses a record).
    pub fn to_message(&self) -> Result<Message, String> {
        Message::from_vec(&self.to_wire())
            .map_err(|e| format!("hickory cannot decode the message: {e}"))
    }

    /// Reads wire bytes through hickory.
    pub fn from_wire(wire: &[u8]) -> Result<Self, String> {
        let m = Message::from_vec(wire).map_err(|e| format!("undecodable message: {e}"))?;
        Self::from_message(&m)
    }

    /// Converts a hickory message.
    pub fn from_message(m: &Message) -> Result<Self, String> {
        let md = &m.metadata;
        let flags = Flags {
            qr: md.message_type == danebound_resolver::wire::MessageType::Response,
            aa: md.authoritative,
            tc: md.truncation,
            rd: md.recursion_desired,
            ra: md.recursion_available,
            z: false,
            ad: md.authentic_data,
            cd: md.checking_disabled,
        };
        let records = |v: &[danebound_resolver::wire::Record]| -> Result<Vec<RawRecord>, String> {
            v.iter().map(RawRecord::from_record).collect()
        };
        let edns = match &m.edns {
            None => None,
            Some(e) => {
                let mut options = Vec::new();
                let mut enc = BinEncoder::new(&mut options);
                e.options()
                    .emit(&mut enc)
                    .map_err(|err| format!("cannot encode EDNS options: {err}"))?;
                Some(Edns {
                    payload: e.max_payload(),
                    ext_rcode: 0,
                    version: e.version(),
                    dnssec_ok: e.flags().dnssec_ok,
                    compact_ok: e.flags().z & 0x4000 != 0,
                    options,
                })
            }
        };
        Ok(Self {
            id: md.id,
            opcode: u8::from(md.op_code),
            rcode: u16::from(md.response_code),
            flags,
            question: m
                .queries
                .iter()
                .map(|q| Question {
                    name: q.name().clone(),
                    qtype: q.query_type(),
                    qclass: q.query_class(),
                })
                .collect(),
            answer: records(&m.answers)?,
            authority: records(&m.authorities)?,
            additional: records(&m.additionals)?,
            edns,
        })
    }
}

/// Rcode mnemonics (RFC 1035, 2136, 6891, 7873).
pub fn rcode_from_text(s: &str) -> Option<u16> {
    Some(match s {
        "NOERROR" => 0,
        "FORMERR" => 1,
        "SERVFAIL" => 2,
        "NXDOMAIN" => 3,
        "NOTIMPL" | "NOTIMP" => 4,
        "REFUSED" => 5,
        "YXDOMAIN" => 6,
        "YXRRSET" => 7,
        "NXRRSET" => 8,
        "NOTAUTH" => 9,
        "NOTZONE" => 10,
        "BADVERS" => 16,
        "BADCOOKIE" => 23,
        _ => return None,
    })
}

/// The mnemonic of an rcode, or its number.
pub fn rcode_name(rcode: u16) -> String {
    let names = [
        "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMPL", "REFUSED", "YXDOMAIN", "YXRRSET",
        "NXRRSET", "NOTAUTH", "NOTZONE",
    ];
    match rcode {
        16 => "BADVERS".into(),
        23 => "BADCOOKIE".into(),
        r => names
            .get(usize::from(r))
            .map_or_else(|| format!("RCODE{r}"), |s| (*s).to_string()),
    }
}

/// Opcode mnemonics.
pub fn opcode_from_text(s: &str) -> Option<u8> {
    Some(match s {
        "QUERY" => 0,
        "IQUERY" => 1,
        "STATUS" => 2,
        "NOTIFY" => 4,
        "UPDATE" => 5,
        _ => return None,
    })
}
