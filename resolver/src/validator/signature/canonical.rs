//! Canonical form (RFC 4034 §6, RFC 6840 §5.1) and the signed data of an
//! RRSIG (RFC 4034 §3.1.8.1).
//!
//! ```text
//! signed_data = RRSIG_RDATA | RR(1) | RR(2)...
//!    RRSIG_RDATA is the wire format of the RRSIG RDATA fields
//!       with the Signer's Name field in canonical form and
//!       the Signature field excluded;
//!    RR(i) = owner | type | class | OrigTTL | RDATA length | RDATA
//! ```
//!
//! RDATA is encoded by hickory's `BinEncoder` in canonical form: no name
//! compression, and the names inside NS, CNAME, SOA, PTR, MX, SRV, NAPTR,
//! RRSIG/SIG RDATA lowercased; NSEC names are left as they are (RFC 6840
//! §5.1) and HINFO has no names, so nothing in it changes. Types that
//! hickory decodes as unknown but whose RDATA holds names listed in RFC 4034
//! §6.2 item 3 (DNAME, RP, AFSDB, RT, KX, PX, MINFO, MB, MG, MR, MD, MF,
//! NXT, A6) are lowercased here.

use crate::wire::{BinEncodable, BinEncoder, Name, RData, RRSIG};

/// Append the canonical wire form of `name` (uncompressed, ASCII
/// lowercased; RFC 4034 §6.2 items 1–2) to `out`. With `skip` > 0, the first
/// `skip` labels are replaced by a single `*` label (RFC 4035 §5.3.2).
pub(crate) fn push_name(out: &mut Vec<u8>, name: &Name, skip: usize) {
    if skip > 0 {
        out.extend_from_slice(b"\x01*");
    }
    for label in name.iter().skip(skip) {
        // A label is at most 63 octets: hickory's Name enforces it.
        out.push(label.len() as u8);
        out.extend(label.iter().map(u8::to_ascii_lowercase));
    }
    out.push(0);
}

/// The RRSIG RDATA with the Signer's Name in canonical form and without the
/// Signature field (RFC 4034 §3.1.8.1).
pub(crate) fn push_rrsig_rdata(out: &mut Vec<u8>, rrsig: &RRSIG) {
    let input = rrsig.input();
    out.extend_from_slice(&u16::from(input.type_covered).to_be_bytes());
    out.push(u8::from(input.algorithm));
    out.push(input.num_labels);
    out.extend_from_slice(&input.original_ttl.to_be_bytes());
    out.extend_from_slice(&input.sig_expiration.get().to_be_bytes());
    out.extend_from_slice(&input.sig_inception.get().to_be_bytes());
    out.extend_from_slice(&input.key_tag.to_be_bytes());
    push_name(out, &input.signer_name, 0);
}

/// Append the canonical RDATA of `rdata` to `out`. `one` is a scratch
/// buffer (hickory's encoder limits a buffer to 65535 octets, so each RDATA
/// is encoded on its own and then appended).
pub(crate) fn push_rdata(
    out: &mut Vec<u8>,
    one: &mut Vec<u8>,
    rdata: &RData,
) -> Result<(), String> {
    one.clear();
    {
        let mut encoder = BinEncoder::new(one);
        encoder.set_canonical_form(true);
        rdata
            .emit(&mut encoder)
            .map_err(|e| format!("cannot encode {} RDATA: {e}", rdata.record_type()))?;
    }
    if let RData::Unknown { code, .. } = rdata {
        lowercase_legacy_names(u16::from(*code), one);
    }
    out.extend_from_slice(one);
    Ok(())
}

/// Field layouts of the RFC 4034 §6.2 item 3 types that hickory keeps as
/// raw bytes.
enum Field {
    Name,
    Skip(usize),
}

fn lowercase_legacy_names(rtype: u16, rdata: &mut [u8]) {
    use Field::{Name as N, Skip};
    let layout: &[Field] = match rtype {
        // MD, MF, MB, MG, MR, DNAME (RFC 6672 §5.2 keeps it in the list)
        3 | 4 | 7 | 8 | 9 | 39 => &[N],
        // MINFO, RP
        14 | 17 => &[N, N],
        // AFSDB, RT, KX
        18 | 21 | 36 => &[Skip(2), N],
        // PX
        26 => &[Skip(2), N, N],
        // NXT: next domain name, then a bitmap
        30 => &[N],
        // A6 (RFC 2874 §3.1): prefix length, address suffix, prefix name
        38 => {
            let Some(&prefix_len) = rdata.first() else {
                return;
            };
            if prefix_len == 0 || prefix_len > 128 {
                return;
            }
            let suffix = usize::from(128 - prefix_len).div_ceil(8);
            lowercase_fields(&mut rdata[..], &[Skip(1 + suffix), N]);
            return;
        }
        _ => return,
    };
    lowercase_fields(rdata, layout);
}

fn lowercase_fields(rdata: &mut [u8], layout: &[Field]) {
    let mut at = 0usize;
    for field in layout {
        match field {
            Field::Skip(n) => at += n,
            Field::Name => loop {
                let Some(&len) = rdata.get(at) else {
                    return;
                };
                if len == 0 {
                    at += 1;
                    break;
                }
                if len & 0xc0 != 0 {
                    // A compression pointer or an extended label: leave the
                    // rest as received; the signature will tell.
                    return;
                }
                let end = (at + 1 + usize::from(len)).min(rdata.len());
                rdata[at + 1..end].make_ascii_lowercase();
                at = end;
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::rdata::{HINFO, MX, NULL};
    use crate::wire::{RecordType, rdata::CNAME};
    use std::str::FromStr;

    fn canon(rdata: &RData) -> Vec<u8> {
        let mut out = Vec::new();
        push_rdata(&mut out, &mut Vec::new(), rdata).unwrap();
        out
    }

    #[test]
    fn rfc4034_section6_2_names_in_mx_and_cname_rdata_are_lowercased() {
        let mx = RData::MX(MX::new(10, Name::from_str("Mail.EXAMPLE.com.").unwrap()));
        assert_eq!(canon(&mx), b"\x00\x0a\x04mail\x07example\x03com\x00");
        let cname = RData::CNAME(CNAME(Name::from_str("WWW.Example.").unwrap()));
        assert_eq!(canon(&cname), b"\x03www\x07example\x00");
    }

    #[test]
    fn rfc4034_section6_2_hinfo_text_is_not_lowercased() {
        let hinfo = RData::HINFO(HINFO::new("Jelte".into(), "Machine van".into()));
        assert_eq!(canon(&hinfo), b"\x05Jelte\x0bMachine van");
    }

    #[test]
    fn rfc4034_section6_2_dname_held_as_unknown_is_lowercased() {
        let raw = b"\x03FoO\x07EXAMPLE\x00".to_vec();
        let dname = RData::Unknown {
            code: RecordType::from(39),
            rdata: NULL::with(raw),
        };
        assert_eq!(canon(&dname), b"\x03foo\x07example\x00");
        let afsdb = RData::Unknown {
            code: RecordType::from(18),
            rdata: NULL::with(b"\x00\x01\x01A\x00".to_vec()),
        };
        assert_eq!(canon(&afsdb), b"\x00\x01\x01a\x00");
        // Unlisted unknown types are left alone.
        let other = RData::Unknown {
            code: RecordType::from(65280),
            rdata: NULL::with(b"\x01A\x00".to_vec()),
        };
        assert_eq!(canon(&other), b"\x01A\x00");
    }

    #[test]
    fn rfc4035_section5_3_2_wildcard_owner_is_star_plus_rightmost_labels() {
        let mut out = Vec::new();
        push_name(&mut out, &Name::from_str("A.B.Example.").unwrap(), 2);
        assert_eq!(out, b"\x01*\x07example\x00");
    }
}

#[cfg(test)]
mod roundtrip {
    //! RDATA must be signed as received: hickory decodes and re-encodes it,
    //! so each type must round-trip byte for byte (modulo lowercasing).
    use crate::wire::{BinDecoder, RData, RecordType};
    use hickory_proto::serialize::binary::Restrict;

    fn roundtrip(rtype: RecordType, wire: &[u8]) -> Vec<u8> {
        let mut decoder = BinDecoder::new(wire);
        let rdata = RData::read(&mut decoder, rtype, Restrict::new(wire.len() as u16)).unwrap();
        let mut out = Vec::new();
        super::push_rdata(&mut out, &mut Vec::new(), &rdata).unwrap();
        out
    }

    #[test]
    fn rdata_types_round_trip_byte_for_byte() {
        let cases: &[(RecordType, &[u8])] = &[
            // TLSA 3 1 1 <32 octets>
            (
                RecordType::TLSA,
                &[
                    3, 1, 1, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
                    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28,
                ],
            ),
            // TLSA with an unassigned usage and matching type
            (RecordType::TLSA, &[200, 7, 9, 1, 2]),
            // CAA 0 issue "ca.example.net; account=230123"
            (
                RecordType::CAA,
                b"\x00\x05issueca.example.net; account=230123",
            ),
            // CAA 128 tbs "Unknown" (critical flag, unknown tag, mixed case)
            (RecordType::CAA, b"\x80\x03TbsUnknown"),
            // CAA 0 iodef "mailto:security@example.com"
            (RecordType::CAA, b"\x00\x05iodefmailto:security@example.com"),
            // CAA issue values in unusual spellings
            (RecordType::CAA, b"\x00\x05issueca.example.net;account=1"),
            (
                RecordType::CAA,
                b"\x00\x05issue  ca.example.net ; a=b ; c=d",
            ),
            (RecordType::CAA, b"\x00\x05issue%%%bad value"),
            (RecordType::CAA, b"\x00\x05ISSUEca.example.net"),
            (RecordType::CAA, b"\x00\x05iodefnot a url"),
            // CAA 0 issue ";" (no CA)
            (RecordType::CAA, b"\x00\x05issue;"),
            // TXT with an empty string and two strings
            (RecordType::TXT, b"\x00\x03abc"),
            // SSHFP 4 2 <32 octets>
            (
                RecordType::SSHFP,
                &[
                    4, 2, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
                    21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
                ],
            ),
            // HINFO "Jelte" "Machine van"
            (RecordType::HINFO, b"\x05Jelte\x0bMachine van"),
            // SVCB 1 . alpn=h2,h3 port=8443
            (
                RecordType::SVCB,
                b"\x00\x01\x00\x00\x01\x00\x06\x02h2\x02h3\x00\x03\x00\x02\x20\xfb",
            ),
            // OPENPGPKEY
            (RecordType::OPENPGPKEY, b"\x99\x01\x0d\x04"),
        ];
        let mut failures = Vec::new();
        for (rtype, wire) in cases {
            let out = std::panic::catch_unwind(|| roundtrip(*rtype, wire));
            match out {
                Ok(out) if out == *wire => {}
                Ok(out) => failures.push(format!("{rtype}: {wire:?} -> {out:?}")),
                Err(_) => failures.push(format!("{rtype}: panicked")),
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
    }
}
