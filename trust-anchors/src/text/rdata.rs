//! RDATA text → wire bytes, one function per type family.
//!
//! Supported: A, AAAA, NS, CNAME, DNAME, PTR, MX, SOA, TXT, SPF, HINFO, SRV,
//! NAPTR, DS, CDS, DNSKEY, CDNSKEY, RRSIG, NSEC, NSEC3, NSEC3PARAM, TLSA,
//! SSHFP, CAA, and any type in RFC 3597 `\# len hex` form.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use data_encoding::{BASE32HEX_NOPAD, BASE64, BASE64_NOPAD, HEXLOWER_PERMISSIVE};
use hickory_proto::rr::RecordType;

use super::lexer::Token;
use super::{Context, TextError, unescape};

/// SPF (RFC 7208 §3.1, type 99), which hickory has no variant for.
const SPF: RecordType = RecordType::Unknown(99);

/// Reads a type mnemonic or `TYPEnnn`.
pub fn type_from_text(text: &str) -> Option<RecordType> {
    let up = text.to_ascii_uppercase();
    if let Some(n) = up.strip_prefix("TYPE")
        && let Ok(v) = n.parse::<u16>()
    {
        return Some(RecordType::from(v));
    }
    if up == "SPF" {
        return Some(SPF);
    }
    let t = RecordType::from_str(&up).ok()?;
    // hickory maps unknown mnemonics to errors, but guard against Unknown.
    match t {
        RecordType::Unknown(_) => None,
        t => Some(t),
    }
}

/// DNSSEC algorithm mnemonics (RFC 4034 App. A.1 and later registrations).
pub fn algorithm_from_mnemonic(text: &str) -> Option<u8> {
    Some(match text.to_ascii_uppercase().as_str() {
        "RSAMD5" => 1,
        "DH" => 2,
        "DSA" => 3,
        "ECC" => 4,
        "RSASHA1" => 5,
        "DSA-NSEC3-SHA1" => 6,
        "RSASHA1-NSEC3-SHA1" => 7,
        "RSASHA256" => 8,
        "RSASHA512" => 10,
        "ECC-GOST" => 12,
        "ECDSAP256SHA256" => 13,
        "ECDSAP384SHA384" => 14,
        "ED25519" => 15,
        "ED448" => 16,
        "INDIRECT" => 252,
        "PRIVATEDNS" => 253,
        "PRIVATEOID" => 254,
        _ => return None,
    })
}

/// A cursor over the RDATA tokens of one record.
struct Fields<'a> {
    toks: &'a [Token],
    pos: usize,
    line: usize,
    rtype: RecordType,
}

impl<'a> Fields<'a> {
    fn err(&self, reason: impl std::fmt::Display) -> TextError {
        TextError::new(self.line, format!("{}: {reason}", self.rtype))
    }

    fn next(&mut self, what: &str) -> Result<&'a Token, TextError> {
        let t = self
            .toks
            .get(self.pos)
            .ok_or_else(|| self.err(format!("missing {what}")))?;
        self.pos += 1;
        Ok(t)
    }

    fn text(&mut self, what: &str) -> Result<&'a str, TextError> {
        self.next(what).map(|t| t.text.as_str())
    }

    fn int<T: TryFrom<u64>>(&mut self, what: &str) -> Result<T, TextError> {
        let s = self.text(what)?;
        s.parse::<u64>()
            .ok()
            .and_then(|v| T::try_from(v).ok())
            .ok_or_else(|| self.err(format!("bad {what} {s:?}")))
    }

    fn algorithm(&mut self) -> Result<u8, TextError> {
        let s = self.text("algorithm")?;
        if let Ok(v) = s.parse::<u8>() {
            return Ok(v);
        }
        algorithm_from_mnemonic(s).ok_or_else(|| self.err(format!("bad algorithm {s:?}")))
    }

    fn name(&mut self, ctx: &Context, out: &mut Vec<u8>) -> Result<(), TextError> {
        let s = self.text("name")?;
        out.extend_from_slice(&ctx.name_wire(s, self.line)?);
        Ok(())
    }

    fn rest(&mut self) -> String {
        let s: String = self.toks[self.pos..]
            .iter()
            .map(|t| t.text.as_str())
            .collect();
        self.pos = self.toks.len();
        s
    }

    fn base64_rest(&mut self, what: &str) -> Result<Vec<u8>, TextError> {
        let s = self.rest();
        if s.is_empty() {
            return Err(self.err(format!("missing {what}")));
        }
        BASE64
            .decode(s.as_bytes())
            .or_else(|_| BASE64_NOPAD.decode(s.trim_end_matches('=').as_bytes()))
            .map_err(|e| self.err(format!("bad base64 in {what}: {e}")))
    }

    fn hex(&self, s: &str, what: &str) -> Result<Vec<u8>, TextError> {
        HEXLOWER_PERMISSIVE
            .decode(s.as_bytes())
            .map_err(|e| self.err(format!("bad hex in {what}: {e}")))
    }

    fn hex_rest(&mut self, what: &str) -> Result<Vec<u8>, TextError> {
        let s = self.rest();
        if s.is_empty() {
            return Err(self.err(format!("missing {what}")));
        }
        self.hex(&s, what)
    }

    fn char_string(&mut self, out: &mut Vec<u8>) -> Result<(), TextError> {
        let t = self.next("character string")?;
        let bytes = unescape_string(&t.text).ok_or_else(|| self.err("bad escape in string"))?;
        if bytes.len() > 255 {
            return Err(self.err("character string longer than 255 bytes"));
        }
        out.push(bytes.len() as u8);
        out.extend_from_slice(&bytes);
        Ok(())
    }

    fn done(&self) -> Result<(), TextError> {
        match self.toks.get(self.pos) {
            None => Ok(()),
            Some(t) => Err(self.err(format!("unexpected trailing {:?}", t.text))),
        }
    }

    fn remaining(&self) -> bool {
        self.pos < self.toks.len()
    }
}

/// Decodes the escapes of a character string.
fn unescape_string(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            let (b, used) = unescape(&bytes[i + 1..])?;
            out.push(b);
            i += 1 + used;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

/// Converts the RDATA tokens of a `rtype` record to wire bytes.
pub(crate) fn to_wire(
    rtype: RecordType,
    toks: &[Token],
    ctx: &Context,
    line: usize,
) -> Result<Vec<u8>, TextError> {
    let mut f = Fields {
        toks,
        pos: 0,
        line,
        rtype,
    };
    let mut out = Vec::new();
    if toks.first().is_some_and(|t| !t.quoted && t.text == "\\#") {
        f.pos = 1;
        let len: usize = f.int("length")?;
        let data = if len == 0 {
            Vec::new()
        } else {
            f.hex_rest("generic data")?
        };
        if data.len() != len {
            return Err(f.err(format!("\\# length {len} but {} bytes of data", data.len())));
        }
        return Ok(data);
    }
    match rtype {
        RecordType::A => {
            let s = f.text("address")?;
            let a = Ipv4Addr::from_str(s).map_err(|_| f.err(format!("bad IPv4 address {s:?}")))?;
            out.extend_from_slice(&a.octets());
        }
        RecordType::AAAA => {
            let s = f.text("address")?;
            let a = Ipv6Addr::from_str(s).map_err(|_| f.err(format!("bad IPv6 address {s:?}")))?;
            out.extend_from_slice(&a.octets());
        }
        RecordType::NS
        | RecordType::CNAME
        | RecordType::DNAME
        | RecordType::PTR
        | RecordType::ANAME => {
            f.name(ctx, &mut out)?;
        }
        RecordType::MX => {
            out.extend_from_slice(&f.int::<u16>("preference")?.to_be_bytes());
            f.name(ctx, &mut out)?;
        }
        RecordType::SOA => {
            f.name(ctx, &mut out)?;
            f.name(ctx, &mut out)?;
            out.extend_from_slice(&f.int::<u32>("serial")?.to_be_bytes());
            for what in ["refresh", "retry", "expire", "minimum"] {
                let s = f.text(what)?;
                let v = super::parse_ttl(s).map_err(|e| f.err(e))?;
                out.extend_from_slice(&v.to_be_bytes());
            }
        }
        RecordType::TXT | SPF => {
            f.char_string(&mut out)?;
            while f.remaining() {
                f.char_string(&mut out)?;
            }
        }
        RecordType::HINFO => {
            f.char_string(&mut out)?;
            f.char_string(&mut out)?;
        }
        RecordType::SRV => {
            for what in ["priority", "weight", "port"] {
                out.extend_from_slice(&f.int::<u16>(what)?.to_be_bytes());
            }
            f.name(ctx, &mut out)?;
        }
        RecordType::NAPTR => {
            out.extend_from_slice(&f.int::<u16>("order")?.to_be_bytes());
            out.extend_from_slice(&f.int::<u16>("preference")?.to_be_bytes());
            for _ in 0..3 {
                f.char_string(&mut out)?;
            }
            f.name(ctx, &mut out)?;
        }
        RecordType::DS | RecordType::CDS => {
            out.extend_from_slice(&f.int::<u16>("key tag")?.to_be_bytes());
            out.push(f.algorithm()?);
            out.push(f.int("digest type")?);
            let digest = f.hex_rest("digest")?;
            out.extend_from_slice(&digest);
        }
        RecordType::DNSKEY | RecordType::CDNSKEY | RecordType::KEY => {
            out.extend_from_slice(&f.int::<u16>("flags")?.to_be_bytes());
            out.push(f.int("protocol")?);
            out.push(f.algorithm()?);
            let key = f.base64_rest("public key")?;
            out.extend_from_slice(&key);
        }
        RecordType::RRSIG | RecordType::SIG => {
            let s = f.text("type covered")?;
            let covered =
                type_from_text(s).ok_or_else(|| f.err(format!("bad type covered {s:?}")))?;
            out.extend_from_slice(&u16::from(covered).to_be_bytes());
            out.push(f.algorithm()?);
            out.push(f.int("labels")?);
            out.extend_from_slice(&f.int::<u32>("original TTL")?.to_be_bytes());
            for what in ["expiration", "inception"] {
                let s = f.text(what)?;
                let t = parse_sig_time(s).ok_or_else(|| f.err(format!("bad {what} time {s:?}")))?;
                out.extend_from_slice(&t.to_be_bytes());
            }
            out.extend_from_slice(&f.int::<u16>("key tag")?.to_be_bytes());
            f.name(ctx, &mut out)?;
            let sig = f.base64_rest("signature")?;
            out.extend_from_slice(&sig);
        }
        RecordType::NSEC => {
            f.name(ctx, &mut out)?;
            type_bitmap(&mut f, &mut out)?;
        }
        RecordType::NSEC3 | RecordType::NSEC3PARAM => {
            out.push(f.int("hash algorithm")?);
            out.push(f.int("flags")?);
            out.extend_from_slice(&f.int::<u16>("iterations")?.to_be_bytes());
            let s = f.text("salt")?;
            let salt = if s == "-" {
                Vec::new()
            } else {
                f.hex(s, "salt")?
            };
            if salt.len() > 255 {
                return Err(f.err("salt longer than 255 bytes"));
            }
            out.push(salt.len() as u8);
            out.extend_from_slice(&salt);
            if rtype == RecordType::NSEC3 {
                let s = f.text("next hashed owner")?;
                let hash = BASE32HEX_NOPAD
                    .decode(s.to_ascii_uppercase().as_bytes())
                    .map_err(|e| f.err(format!("bad base32hex next hashed owner: {e}")))?;
                if hash.len() > 255 {
                    return Err(f.err("next hashed owner longer than 255 bytes"));
                }
                out.push(hash.len() as u8);
                out.extend_from_slice(&hash);
                type_bitmap(&mut f, &mut out)?;
            }
        }
        RecordType::TLSA => {
            out.push(f.int("usage")?);
            out.push(f.int("selector")?);
            out.push(f.int("matching type")?);
            let data = f.hex_rest("certificate association data")?;
            out.extend_from_slice(&data);
        }
        RecordType::SSHFP => {
            out.push(f.int("algorithm")?);
            out.push(f.int("fingerprint type")?);
            let data = f.hex_rest("fingerprint")?;
            out.extend_from_slice(&data);
        }
        RecordType::CAA => {
            out.push(f.int("flags")?);
            let tag = f.text("tag")?;
            if tag.is_empty() || tag.len() > 255 || !tag.bytes().all(|b| b.is_ascii_alphanumeric())
            {
                return Err(f.err(format!("bad tag {tag:?}")));
            }
            out.push(tag.len() as u8);
            out.extend_from_slice(tag.as_bytes());
            let t = f.next("value")?;
            let value = unescape_string(&t.text).ok_or_else(|| f.err("bad escape in value"))?;
            out.extend_from_slice(&value);
        }
        other => {
            return Err(f.err(format!(
                "no presentation-format reader for {other}; write it as \\# <len> <hex>"
            )));
        }
    }
    f.done()?;
    Ok(out)
}

/// Encodes an NSEC/NSEC3 type bitmap (RFC 4034 §4.1.2) from the remaining
/// tokens.
fn type_bitmap(f: &mut Fields<'_>, out: &mut Vec<u8>) -> Result<(), TextError> {
    let mut types = Vec::new();
    while f.remaining() {
        let s = f.text("type")?;
        let t = type_from_text(s).ok_or_else(|| f.err(format!("bad type {s:?} in bitmap")))?;
        types.push(u16::from(t));
    }
    types.sort_unstable();
    types.dedup();
    let mut i = 0;
    while i < types.len() {
        let window = (types[i] >> 8) as u8;
        let mut bits = [0u8; 32];
        let mut len = 0;
        while i < types.len() && (types[i] >> 8) as u8 == window {
            let low = (types[i] & 0xff) as usize;
            bits[low / 8] |= 0x80 >> (low % 8);
            len = low / 8 + 1;
            i += 1;
        }
        out.push(window);
        out.push(len as u8);
        out.extend_from_slice(&bits[..len]);
    }
    Ok(())
}

/// Reads an RRSIG time: `YYYYMMDDHHmmSS` (UTC) or seconds since the epoch.
/// Times past 2106 wrap modulo 2^32 (RFC 4034 §3.1.5, serial arithmetic).
pub(crate) fn parse_sig_time(s: &str) -> Option<u32> {
    if s.len() == 14 && s.bytes().all(|b| b.is_ascii_digit()) {
        return Some(parse_date(s)?.rem_euclid(1 << 32) as u32);
    }
    s.parse::<u32>().ok()
}

/// Seconds since the epoch of a `YYYYMMDDHHmmSS` UTC date (the RRSIG date
/// form of RFC 4034 §3.2, also used by unbound's `val-override-date`).
pub fn parse_date(s: &str) -> Option<i64> {
    if s.len() != 14 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |a: usize, b: usize| s[a..b].parse::<i64>().ok();
    let (y, mo, d, h, mi, se) = (
        n(0, 4)?,
        n(4, 6)?,
        n(6, 8)?,
        n(8, 10)?,
        n(10, 12)?,
        n(12, 14)?,
    );
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    Some(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}
