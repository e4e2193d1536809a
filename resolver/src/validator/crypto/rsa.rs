//! The RFC 3110 §2 RSA public key format used by DNSKEY algorithms 5, 7, 8
//! and 10.
//!
//! ```text
//!  Field             Size
//!  -----             ----
//!  exponent length   1 or 3 octets (see text)
//!  exponent          as specified by length field
//!  modulus           remaining space
//! ```
//! "For interoperability, the exponent and modulus are each limited to 4096
//! bits in length. The public key exponent is a variable length unsigned
//! integer. Its length in octets is represented as one octet if it is in the
//! range of 1 to 255 and by a zero octet followed by a two octet unsigned
//! length if it is longer than 255 bytes."

/// An RSA public key split out of a DNSKEY public key field. Borrows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RsaPublicKey<'a> {
    /// The public exponent, big-endian.
    pub exponent: &'a [u8],
    /// The modulus, big-endian.
    pub modulus: &'a [u8],
}

impl<'a> RsaPublicKey<'a> {
    /// Parse the RFC 3110 §2 format; `None` when it is truncated or a part is
    /// empty.
    pub fn parse(key: &'a [u8]) -> Option<Self> {
        let (&first, rest) = key.split_first()?;
        let (exp_len, rest) = if first == 0 {
            // "a zero octet followed by a two octet unsigned length"
            let (len, rest) = rest.split_at_checked(2)?;
            (usize::from(u16::from_be_bytes([len[0], len[1]])), rest)
        } else {
            (usize::from(first), rest)
        };
        if exp_len == 0 {
            return None;
        }
        let (exponent, modulus) = rest.split_at_checked(exp_len)?;
        if modulus.is_empty() {
            return None;
        }
        Some(Self { exponent, modulus })
    }

    /// The modulus size in bits (leading zero bits not counted).
    pub fn modulus_bits(&self) -> u32 {
        significant_bits(self.modulus)
    }
}

/// The modulus size in bits of an RFC 3110 key, `None` when malformed.
pub fn rsa_modulus_bits(key: &[u8]) -> Option<u32> {
    RsaPublicKey::parse(key).map(|k| k.modulus_bits())
}

fn significant_bits(be: &[u8]) -> u32 {
    let Some(first) = be.iter().position(|&b| b != 0) else {
        return 0;
    };
    let bytes = u32::try_from(be.len() - first).unwrap_or(u32::MAX / 8);
    (bytes - 1) * 8 + (8 - be[first].leading_zeros())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3110_section2_short_and_long_exponent_lengths() {
        let short = [3u8, 1, 0, 1, 0x80, 0, 0];
        let k = RsaPublicKey::parse(&short).unwrap();
        assert_eq!(k.exponent, &[1, 0, 1]);
        assert_eq!(k.modulus_bits(), 24);
        let long = [0u8, 0, 1, 3, 0x01, 0xff];
        let k = RsaPublicKey::parse(&long).unwrap();
        assert_eq!(k.exponent, &[3]);
        assert_eq!(k.modulus_bits(), 9);
    }

    #[test]
    fn rfc3110_section2_truncated_keys_are_rejected() {
        for bad in [
            &[][..],
            &[0],
            &[0, 0],
            &[0, 0, 0, 1],
            &[3, 1, 0, 1],
            &[4, 1, 0, 1],
        ] {
            assert!(RsaPublicKey::parse(bad).is_none(), "{bad:?}");
        }
    }
}
