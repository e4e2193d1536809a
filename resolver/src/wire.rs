//! The one import seam for hickory-proto: every wire type the resolver uses is
//! re-exported from here, so that a change in hickory's crate layout touches
//! one file.
//!
//! hickory's `Record::proof` field is never read or written by danebound:
//! validation status lives in our own types.

pub use hickory_proto::ProtoError;
pub use hickory_proto::dnssec::rdata::{
    DNSKEY, DNSSECRData, DS, NSEC, NSEC3, NSEC3PARAM, RRSIG, SIG,
};
pub use hickory_proto::dnssec::{
    Algorithm, DigestType, Nsec3HashAlgorithm, PublicKey, PublicKeyBuf,
};
pub use hickory_proto::op::{Edns, Header, Message, MessageType, OpCode, Query, ResponseCode};
pub use hickory_proto::rr::rdata;
pub use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordSet, RecordType};
pub use hickory_proto::serialize::binary::{
    BinDecodable, BinDecoder, BinEncodable, BinEncoder, NameEncoding,
};

use hickory_proto::rr::rdata::NULL;
use hickory_proto::serialize::binary::DecodeError;

/// Up to this many names, [`deepest_holder`]'s callers scan them all
/// rather than walk up the name asked (which builds a name per label).
pub const SCAN_HOLDERS: usize = 8;

/// Of `zones`, the deepest that holds `name` (is `name` or an ancestor of
/// it, without regard to case), compared label by label in place.
pub fn deepest_holder<'a, V>(
    zones: impl Iterator<Item = (&'a Name, V)>,
    name: &Name,
) -> Option<(&'a Name, V)> {
    zones
        .filter(|(zone, _)| zone.zone_of(name))
        .max_by_key(|(zone, _)| zone.iter().len())
}

/// Decode a DNS message, keeping records whose RDATA hickory refuses.
///
/// hickory rejects a whole message when one record's RDATA breaks its rules,
/// e.g. a DNSKEY whose protocol is not 3 or an NSEC3 with an unknown hash
/// algorithm. The RFCs want such records ignored, not the response lost
/// (RFC 4034 §2.1.2: such a DNSKEY is "invalid during signature
/// verification"; RFC 5155 §8.1: "Validators MUST ignore NSEC3 RRs with
/// unknown hash types"). Such a record is kept as [`RData::Unknown`] with its
/// raw bytes, which the validator never mistakes for a usable key or proof.
/// A message whose framing itself is broken is still an error.
pub fn decode_message(bytes: &[u8]) -> Result<Message, DecodeError> {
    match Message::from_vec(bytes) {
        Ok(message) => Ok(message),
        Err(first) => decode_keeping_unknown(bytes).ok_or(first),
    }
}

fn decode_keeping_unknown(bytes: &[u8]) -> Option<Message> {
    let mut decoder = BinDecoder::new(bytes);
    let Header { metadata, counts } = Header::read(&mut decoder).ok()?;
    let mut message = Message::new(metadata.id, metadata.message_type, metadata.op_code);
    message.metadata = metadata;
    for _ in 0..counts.queries {
        message.queries.push(Query::read(&mut decoder).ok()?);
    }
    for (section, count) in [
        (0, counts.answers),
        (1, counts.authorities),
        (2, counts.additionals),
    ] {
        for _ in 0..count {
            let record = read_record_keeping_unknown(&mut decoder)?;
            if record.record_type() == RecordType::OPT {
                // The OPT record's own checks are hickory's; without it the
                // message still carries everything validation needs.
                continue;
            }
            match section {
                0 => message.answers.push(record),
                1 => message.authorities.push(record),
                _ => message.additionals.push(record),
            }
        }
    }
    Some(message)
}

fn read_record_keeping_unknown(decoder: &mut BinDecoder<'_>) -> Option<Record> {
    let start = u16::try_from(decoder.index()).ok()?;
    let mut attempt = decoder.clone(start);
    if let Ok(record) = Record::read(&mut attempt) {
        *decoder = attempt;
        return Some(record);
    }
    let name = Name::read(decoder).ok()?;
    let rtype = RecordType::from(decoder.read_u16().ok()?.unverified());
    // Only types whose field values the RFCs tell a validator to ignore;
    // anything else that hickory refuses (an A record of three bytes) is a
    // malformed message.
    if !matches!(
        rtype,
        RecordType::DNSKEY | RecordType::CDNSKEY | RecordType::NSEC3 | RecordType::NSEC3PARAM
    ) {
        return None;
    }
    let class = DNSClass::from(decoder.read_u16().ok()?.unverified());
    let ttl = decoder.read_u32().ok()?.unverified();
    let len = usize::from(decoder.read_u16().ok()?.unverified());
    let raw = decoder.read_slice(len).ok()?.unverified();
    let mut record = Record::from_rdata(
        name,
        ttl,
        RData::Unknown {
            code: rtype,
            rdata: NULL::with(raw.to_vec()),
        },
    );
    record.dns_class = class;
    Some(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A response with a DNSKEY of protocol 2 and an NSEC3 of hash algorithm
    /// 2 decodes, with those records kept as unknown RDATA.
    #[test]
    fn rfc4034_section_2_1_2_bad_dnskey_keeps_the_message() {
        let mut wire = vec![
            0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0, // header
            7, b'e', b'x', b'a', b'm', b'p', b'l', b'e', 0, 0, 48, 0, 1, // question
        ];
        // example. DNSKEY 256 2 8 AQID  (protocol 2)
        wire.extend_from_slice(&[0xC0, 12, 0, 48, 0, 1, 0, 0, 0x0E, 0x10, 0, 7]);
        wire.extend_from_slice(&[1, 0, 2, 8, 1, 2, 3]);
        // x.example. NSEC3 2 0 0 - (hash algorithm 2), empty bitmap
        wire.extend_from_slice(&[1, b'x', 0xC0, 12, 0, 50, 0, 1, 0, 0, 0x0E, 0x10, 0, 7]);
        wire.extend_from_slice(&[2, 0, 0, 0, 0, 1, 0xAA]);
        assert!(
            Message::from_vec(&wire).is_err(),
            "hickory rejects it whole"
        );
        let message = decode_message(&wire).expect("kept");
        assert_eq!(message.answers.len(), 2);
        assert!(matches!(
            &message.answers[0].data,
            RData::Unknown {
                code: RecordType::DNSKEY,
                ..
            }
        ));
        assert!(matches!(
            &message.answers[1].data,
            RData::Unknown {
                code: RecordType::NSEC3,
                ..
            }
        ));
        // Broken framing is still an error.
        let mut truncated = wire.clone();
        truncated.truncate(wire.len() - 3);
        assert!(decode_message(&truncated).is_err());
        // So is a malformed record of any other type: an A of three bytes.
        let mut short_a = wire[..25].to_vec();
        short_a[7] = 1; // ANCOUNT 1
        short_a.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1, 0, 0, 0x0E, 0x10, 0, 3, 192, 0, 2]);
        assert!(decode_message(&short_a).is_err());
    }
}
