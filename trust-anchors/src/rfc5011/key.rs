//! A DNSKEY as RFC 5011 tracks it: flags, protocol, algorithm, public key.

use std::fmt;

/// DNSKEY flag bits (RFC 4034 §2.1.1, RFC 5011 §7).
pub const FLAG_ZONE: u16 = 0x0100;
/// The REVOKE bit (RFC 5011 §7).
pub const FLAG_REVOKE: u16 = 0x0080;
/// Secure Entry Point (RFC 3757).
pub const FLAG_SEP: u16 = 0x0001;

/// One DNSKEY's RDATA, decoded just enough for RFC 5011.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    /// DNSKEY flags.
    pub flags: u16,
    /// Protocol octet (3).
    pub protocol: u8,
    /// DNSSEC algorithm number.
    pub algorithm: u8,
    /// The public key bytes.
    pub public_key: Vec<u8>,
}

impl Key {
    /// A key from its parts.
    pub fn new(flags: u16, protocol: u8, algorithm: u8, public_key: Vec<u8>) -> Self {
        Self {
            flags,
            protocol,
            algorithm,
            public_key,
        }
    }

    /// Decode DNSKEY RDATA in wire form.
    pub fn from_rdata(rdata: &[u8]) -> Result<Self, String> {
        if rdata.len() < 5 {
            return Err(format!(
                "DNSKEY RDATA of {} octets is too short",
                rdata.len()
            ));
        }
        Ok(Self {
            flags: u16::from_be_bytes([rdata[0], rdata[1]]),
            protocol: rdata[2],
            algorithm: rdata[3],
            public_key: rdata[4..].to_vec(),
        })
    }

    /// The RDATA in wire form.
    pub fn rdata(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(4 + self.public_key.len());
        v.extend_from_slice(&self.flags.to_be_bytes());
        v.push(self.protocol);
        v.push(self.algorithm);
        v.extend_from_slice(&self.public_key);
        v
    }

    /// RFC 4034 Appendix B key tag (it covers the flags, so the revoked
    /// form has another tag).
    pub fn key_tag(&self) -> u16 {
        let mut ac: u32 = 0;
        for (i, b) in self.rdata().iter().enumerate() {
            ac += if i & 1 == 1 {
                u32::from(*b)
            } else {
                u32::from(*b) << 8
            };
        }
        ac += (ac >> 16) & 0xFFFF;
        (ac & 0xFFFF) as u16
    }

    /// Has the Secure Entry Point flag.
    pub fn is_sep(&self) -> bool {
        self.flags & FLAG_SEP != 0
    }

    /// Has the Zone Key flag (a key without it can sign nothing, RFC 4034 §2.1.1).
    pub fn is_zone_key(&self) -> bool {
        self.flags & FLAG_ZONE != 0
    }

    /// Has the REVOKE bit.
    pub fn is_revoked(&self) -> bool {
        self.flags & FLAG_REVOKE != 0
    }

    /// The same key with the REVOKE bit set.
    pub fn revoked(&self) -> Self {
        Self {
            flags: self.flags | FLAG_REVOKE,
            ..self.clone()
        }
    }

    /// The same key with the REVOKE bit clear.
    pub fn unrevoked(&self) -> Self {
        Self {
            flags: self.flags & !FLAG_REVOKE,
            ..self.clone()
        }
    }

    /// The same key, ignoring the REVOKE bit (RFC 5011 §2.1; unbound
    /// `dnskey_compare_skip_revbit`). Never a match on the key tag alone.
    pub fn same_key(&self, other: &Self) -> bool {
        self.flags & !FLAG_REVOKE == other.flags & !FLAG_REVOKE
            && self.protocol == other.protocol
            && self.algorithm == other.algorithm
            && self.public_key == other.public_key
    }

    /// The key size in bits as `ldns`/unbound print it in `;{id = …, size = …b}`.
    pub fn size_bits(&self) -> usize {
        let k = &self.public_key;
        match self.algorithm {
            // RSA (RFC 3110 §2): exponent length, exponent, modulus.
            1 | 5 | 7 | 8 | 10 => {
                let (offset, exp) = match k.first() {
                    Some(0) if k.len() >= 3 => (3, usize::from(u16::from_be_bytes([k[1], k[2]]))),
                    Some(&e) => (1, usize::from(e)),
                    None => return 0,
                };
                k.len().saturating_sub(offset + exp) * 8
            }
            // DSA (RFC 2536 §2): T.
            3 | 6 => k.first().map_or(0, |t| 512 + usize::from(*t) * 64),
            12 | 13 | 15 => 256,
            14 => 384,
            16 => 456,
            _ => 0,
        }
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Key({} alg {} flags {})",
            self.key_tag(),
            self.algorithm,
            self.flags
        )
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (algorithm {}{})",
            self.key_tag(),
            self.algorithm,
            if self.is_revoked() { ", revoked" } else { "" }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::root::ROOT_KEYS;

    fn root(i: usize) -> Key {
        let k = ROOT_KEYS[i];
        Key::new(k.flags, 3, k.algorithm, k.public_key())
    }

    #[test]
    fn rfc5011_section7_revoked_root_tags() {
        // The revoked forms of KSK-2017 and KSK-2024 (rfc5011.md §3).
        assert_eq!(root(0).key_tag(), 20326);
        assert_eq!(root(0).revoked().key_tag(), 20454);
        assert_eq!(root(1).key_tag(), 38696);
        assert_eq!(root(1).revoked().key_tag(), 38824);
        assert_eq!(root(0).size_bits(), 2048);
    }

    #[test]
    fn rfc4034_appendix_b_tag_wraps_around() {
        // A key whose sum overflows 16 bits: the carry is added back.
        let k = Key::new(0xFFFF, 0xFF, 0xFF, vec![0xFF; 8]);
        let sum: u32 = 6 * 0xFFFF;
        let expected = ((sum + (sum >> 16)) & 0xFFFF) as u16;
        assert_eq!(k.key_tag(), expected);
    }

    #[test]
    fn rfc5011_section2_1_matching_ignores_only_the_revoke_bit() {
        let k = root(0);
        assert!(k.same_key(&k.revoked()));
        assert!(!k.same_key(&root(1)));
        let mut other_flags = k.clone();
        other_flags.flags = 256;
        assert!(!k.same_key(&other_flags));
        assert_eq!(Key::from_rdata(&k.rdata()).unwrap(), k);
        assert!(Key::from_rdata(&[1, 1, 3]).is_err());
    }
}
