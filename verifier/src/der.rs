//! A minimal DER reader: just enough to split a certificate and a
//! SubjectPublicKeyInfo into the pieces a signature check needs, and to
//! strip outer headers for `pki_types::TrustAnchor`. Every function returns
//! `None` on malformed input; nothing here panics.

/// One TLV: (tag, whole TLV, contents, what follows).
pub(crate) type Tlv<'a> = (u8, &'a [u8], &'a [u8], &'a [u8]);

/// Reads one TLV.
pub(crate) fn read_tlv(input: &[u8]) -> Option<Tlv<'_>> {
    let (&tag, rest) = input.split_first()?;
    if tag & 0x1f == 0x1f {
        return None; // multi-byte tags do not occur where we look
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let (len_bytes, rest) = rest.split_at(n);
        let len = len_bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, rest)
    };
    if rest.len() < len {
        return None;
    }
    let header = input.len() - rest.len();
    let (contents, after) = rest.split_at(len);
    Some((tag, &input[..header + len], contents, after))
}

/// The contents of a single SEQUENCE spanning all of `input`.
pub(crate) fn sequence_contents(input: &[u8]) -> Option<&[u8]> {
    match read_tlv(input)? {
        (0x30, _, contents, []) => Some(contents),
        _ => None,
    }
}

/// The parts of a signed certificate (RFC 5280 §4.1).
pub(crate) struct SignedCert<'a> {
    /// The whole TBSCertificate TLV: the signed message.
    pub(crate) tbs: &'a [u8],
    /// The contents of signatureAlgorithm.
    pub(crate) algorithm: &'a [u8],
    /// The signature bits.
    pub(crate) signature: &'a [u8],
}

pub(crate) fn split_certificate(der: &[u8]) -> Option<SignedCert<'_>> {
    let body = sequence_contents(der)?;
    let (0x30, tbs, _, rest) = read_tlv(body)? else {
        return None;
    };
    let (0x30, _, algorithm, rest) = read_tlv(rest)? else {
        return None;
    };
    let (0x03, _, bits, []) = read_tlv(rest)? else {
        return None;
    };
    let ([0], signature) = bits.split_at_checked(1)? else {
        return None;
    };
    Some(SignedCert {
        tbs,
        algorithm,
        signature,
    })
}

/// (algorithm contents, public key bits) of a DER SubjectPublicKeyInfo.
pub(crate) fn split_spki(der: &[u8]) -> Option<(&[u8], &[u8])> {
    let body = sequence_contents(der)?;
    let (0x30, _, algorithm, rest) = read_tlv(body)? else {
        return None;
    };
    let (0x03, _, bits, []) = read_tlv(rest)? else {
        return None;
    };
    let ([0], key) = bits.split_at_checked(1)? else {
        return None;
    };
    Some((algorithm, key))
}

/// `contents` wrapped in a SEQUENCE header (re-wraps a `TrustAnchor` SPKI).
pub(crate) fn wrap_sequence(contents: &[u8]) -> Vec<u8> {
    let len = contents.len();
    let mut out = vec![0x30];
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .iter()
            .copied()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend_from_slice(&bytes);
    }
    out.extend_from_slice(contents);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_and_overlong_lengths_are_none() {
        assert!(read_tlv(&[]).is_none());
        assert!(read_tlv(&[0x30]).is_none());
        assert!(read_tlv(&[0x30, 0x05, 0x00]).is_none());
        assert!(read_tlv(&[0x30, 0x85, 1, 1, 1, 1, 1]).is_none());
        assert!(read_tlv(&[0x30, 0x82, 0xff]).is_none());
        assert_eq!(
            read_tlv(&[0x30, 0x01, 0x05, 0x07]).map(|t| t.2),
            Some(&[5u8][..])
        );
        assert!(sequence_contents(&[0x30, 0x00, 0x00]).is_none());
        assert!(split_certificate(&[0x30, 0x00]).is_none());
        assert!(split_spki(&[0x30, 0x02, 0x30, 0x00]).is_none());
        for len in [0usize, 1, 127, 128, 255, 256, 70000] {
            let contents = vec![7u8; len];
            let wrapped = wrap_sequence(&contents);
            assert_eq!(sequence_contents(&wrapped), Some(&contents[..]));
        }
    }
}
