//! TLSA records: the RFC 6698 §2 fields, the presentation and wire forms,
//! and the usability classification of RFC 6698 §4.1 / RFC 7671 §4.

use std::fmt;
use std::str::FromStr;

use x509_parser::prelude::FromDer;

use crate::params::Profile;

/// RFC 6698 §2.1.1 certificate usage (acronyms from RFC 7218).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Usage {
    /// 0: CA constraint, with PKIX validation.
    PkixTa,
    /// 1: service certificate constraint, with PKIX validation.
    PkixEe,
    /// 2: trust anchor assertion.
    DaneTa,
    /// 3: domain-issued certificate.
    DaneEe,
}

impl Usage {
    /// The IANA code point.
    pub fn code(self) -> u8 {
        match self {
            Self::PkixTa => 0,
            Self::PkixEe => 1,
            Self::DaneTa => 2,
            Self::DaneEe => 3,
        }
    }

    fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0 => Self::PkixTa,
            1 => Self::PkixEe,
            2 => Self::DaneTa,
            3 => Self::DaneEe,
            _ => return None,
        })
    }

    /// Whether the usage requires PKIX validation (usages 0 and 1).
    pub fn is_pkix(self) -> bool {
        matches!(self, Self::PkixTa | Self::PkixEe)
    }
}

/// RFC 6698 §2.1.2 selector.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Selector {
    /// 0: the full DER certificate.
    Cert,
    /// 1: the DER SubjectPublicKeyInfo, exactly as encoded in the certificate.
    Spki,
}

impl Selector {
    /// The IANA code point.
    pub fn code(self) -> u8 {
        match self {
            Self::Cert => 0,
            Self::Spki => 1,
        }
    }

    fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0 => Self::Cert,
            1 => Self::Spki,
            _ => return None,
        })
    }
}

/// RFC 6698 §2.1.3 matching type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MatchingType {
    /// 0: exact match on the selected content.
    Full,
    /// 1: SHA2-256 of the selected content.
    Sha256,
    /// 2: SHA2-512 of the selected content.
    Sha512,
}

impl MatchingType {
    /// The IANA code point.
    pub fn code(self) -> u8 {
        match self {
            Self::Full => 0,
            Self::Sha256 => 1,
            Self::Sha512 => 2,
        }
    }

    fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0 => Self::Full,
            1 => Self::Sha256,
            2 => Self::Sha512,
            _ => return None,
        })
    }

    /// The digest length in octets, `None` for [`MatchingType::Full`].
    pub fn digest_len(self) -> Option<usize> {
        match self {
            Self::Full => None,
            Self::Sha256 => Some(32),
            Self::Sha512 => Some(64),
        }
    }

    /// Applies the matching type to `content` (identity for `Full`).
    pub fn apply(self, content: &[u8]) -> Vec<u8> {
        match self {
            Self::Full => content.to_vec(),
            Self::Sha256 => ring::digest::digest(&ring::digest::SHA256, content)
                .as_ref()
                .to_vec(),
            Self::Sha512 => ring::digest::digest(&ring::digest::SHA512, content)
                .as_ref()
                .to_vec(),
        }
    }
}

/// One TLSA record as it appears in DNS: three code points and the
/// association data. Any values are representable, including ones this
/// crate cannot use; [`TlsaRecord::usability`] classifies them.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TlsaRecord {
    /// Certificate usage code point.
    pub usage: u8,
    /// Selector code point.
    pub selector: u8,
    /// Matching type code point.
    pub matching_type: u8,
    /// Certificate association data.
    pub data: Vec<u8>,
}

impl TlsaRecord {
    /// A record from its four fields.
    pub fn new(usage: u8, selector: u8, matching_type: u8, data: Vec<u8>) -> Self {
        Self {
            usage,
            selector,
            matching_type,
            data,
        }
    }

    /// A record from its RDATA in wire form (RFC 6698 §2.1: three octets,
    /// then the association data).
    pub fn from_rdata(rdata: &[u8]) -> Result<Self, RecordParseError> {
        match rdata {
            [usage, selector, mtype, data @ ..] => {
                Ok(Self::new(*usage, *selector, *mtype, data.to_vec()))
            }
            _ => Err(RecordParseError::TruncatedRdata(rdata.len())),
        }
    }

    /// The RDATA in wire form.
    pub fn to_rdata(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(3 + self.data.len());
        out.extend_from_slice(&[self.usage, self.selector, self.matching_type]);
        out.extend_from_slice(&self.data);
        out
    }

    /// The typed parameters, when all three code points are known.
    pub fn params(&self) -> Option<(Usage, Selector, MatchingType)> {
        Some((
            Usage::from_code(self.usage)?,
            Selector::from_code(self.selector)?,
            MatchingType::from_code(self.matching_type)?,
        ))
    }

    /// Classifies the record per RFC 6698 §4.1 and RFC 7671 §4: a record
    /// with unknown parameters, a digest of the wrong length or Full(0)
    /// data that does not parse is unusable.
    ///
    /// [`Profile::Smtp`] applies RFC 7672 §3.1.3: SMTP clients treat records with the
    /// PKIX usages, PKIX-TA(0) and PKIX-EE(1), as unusable (they have no
    /// common set of trusted CAs to validate against).
    pub fn usability(&self, profile: Profile) -> Result<(Usage, Selector, MatchingType), Unusable> {
        let smtp = profile == Profile::Smtp;
        let usage = Usage::from_code(self.usage).ok_or(Unusable::UnknownUsage(self.usage))?;
        let selector =
            Selector::from_code(self.selector).ok_or(Unusable::UnknownSelector(self.selector))?;
        let mtype = MatchingType::from_code(self.matching_type)
            .ok_or(Unusable::UnknownMatchingType(self.matching_type))?;
        if smtp && usage.is_pkix() {
            // RFC 7672 §3.1.3: PKIX-TA(0) and PKIX-EE(1) are unusable for SMTP.
            return Err(Unusable::PkixUsageInSmtp(usage));
        }
        match mtype.digest_len() {
            Some(len) if self.data.len() != len => {
                // RFC 7671 §4: a digest of the wrong length cannot match.
                return Err(Unusable::DigestLength {
                    expected: len,
                    actual: self.data.len(),
                });
            }
            Some(_) => {}
            None => match selector {
                // RFC 7671 §4 (and OpenSSL's SSL_dane_tlsa_add): Full(0)
                // data must parse as what the selector says it is.
                Selector::Cert => {
                    if !parses_completely_as_certificate(&self.data) {
                        return Err(Unusable::MalformedCertificate);
                    }
                }
                Selector::Spki => {
                    if !parses_completely_as_spki(&self.data) {
                        return Err(Unusable::MalformedPublicKey);
                    }
                }
            },
        }
        Ok((usage, selector, mtype))
    }
}

pub(crate) fn parses_completely_as_certificate(der: &[u8]) -> bool {
    matches!(
        x509_parser::certificate::X509Certificate::from_der(der),
        Ok((rest, _)) if rest.is_empty()
    )
}

pub(crate) fn parses_completely_as_spki(der: &[u8]) -> bool {
    matches!(
        x509_parser::x509::SubjectPublicKeyInfo::from_der(der),
        Ok((rest, _)) if rest.is_empty()
    )
}

/// The presentation form: `usage selector mtype HEX` (upper-case hex).
impl fmt::Display for TlsaRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {}",
            self.usage,
            self.selector,
            self.matching_type,
            hex_upper(&self.data)
        )
    }
}

impl fmt::Debug for TlsaRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TlsaRecord({self})")
    }
}

/// Parses the presentation form: three decimals, then hex that may contain
/// whitespace (RFC 6698 §2.2). An empty data field is accepted here and
/// classified as unusable later for Full(0) (it parses as nothing).
impl FromStr for TlsaRecord {
    type Err = RecordParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut fields = s.split_whitespace();
        let mut number = |name: &'static str| -> Result<u8, RecordParseError> {
            let field = fields.next().ok_or(RecordParseError::MissingField(name))?;
            field
                .parse::<u8>()
                .map_err(|_| RecordParseError::BadNumber(name, field.to_owned()))
        };
        let usage = number("usage")?;
        let selector = number("selector")?;
        let mtype = number("matching type")?;
        let hex: String = fields.collect();
        let data = decode_hex(&hex)?;
        Ok(Self::new(usage, selector, mtype, data))
    }
}

pub(crate) fn hex_upper(data: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(data.len() * 2);
    for b in data {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
}

fn decode_hex(hex: &str) -> Result<Vec<u8>, RecordParseError> {
    let digits: Vec<u8> = hex.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        return Err(RecordParseError::OddHexLength);
    }
    let nibble = |c: u8| -> Result<u8, RecordParseError> {
        match c {
            b'0'..=b'9' => Ok(c - b'0'),
            b'a'..=b'f' => Ok(c - b'a' + 10),
            b'A'..=b'F' => Ok(c - b'A' + 10),
            _ => Err(RecordParseError::BadHex(c as char)),
        }
    };
    digits
        .chunks(2)
        .map(|pair| Ok(nibble(pair[0])? << 4 | nibble(pair[1])?))
        .collect()
}

/// Why a TLSA record could not even be read.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordParseError {
    /// A hex digit that is not one.
    BadHex(char),
    /// A code point field that is not a number in 0..=255.
    BadNumber(&'static str, String),
    /// A field is missing from the presentation form.
    MissingField(&'static str),
    /// The hex data has an odd number of digits.
    OddHexLength,
    /// Wire RDATA shorter than the three fixed octets.
    TruncatedRdata(usize),
}

impl fmt::Display for RecordParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadHex(c) => write!(f, "invalid hex digit {c:?}"),
            Self::BadNumber(name, v) => write!(f, "invalid {name} {v:?}"),
            Self::MissingField(name) => write!(f, "missing {name}"),
            Self::OddHexLength => f.write_str("odd number of hex digits"),
            Self::TruncatedRdata(n) => write!(f, "TLSA RDATA of {n} octets is truncated"),
        }
    }
}

impl std::error::Error for RecordParseError {}

/// Why a record is unusable (RFC 6698 §4.1, RFC 7671 §4, RFC 7672 §3.1.3).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unusable {
    /// The digest has the wrong length for its matching type.
    DigestLength {
        /// Length the matching type produces.
        expected: usize,
        /// Length of the association data.
        actual: usize,
    },
    /// Selector 0, matching type 0 data that is not a DER certificate.
    MalformedCertificate,
    /// Selector 1, matching type 0 data that is not a DER SubjectPublicKeyInfo.
    MalformedPublicKey,
    /// Usage 0 or 1 under the SMTP profile (RFC 7672 §3.1.3).
    PkixUsageInSmtp(Usage),
    /// A matching type other than 0, 1, 2 (255 PrivMatch included).
    UnknownMatchingType(u8),
    /// A selector other than 0, 1 (255 PrivSel included).
    UnknownSelector(u8),
    /// A usage other than 0..=3 (255 PrivCert included).
    UnknownUsage(u8),
}

impl fmt::Display for Unusable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DigestLength { expected, actual } => {
                write!(f, "digest of {actual} octets, expected {expected}")
            }
            Self::MalformedCertificate => f.write_str("full certificate data does not parse"),
            Self::MalformedPublicKey => f.write_str("full public key data does not parse"),
            Self::PkixUsageInSmtp(u) => write!(
                f,
                "usage {} is unusable for SMTP (RFC 7672 section 3.1.3)",
                u.code()
            ),
            Self::UnknownMatchingType(m) => write!(f, "unsupported matching type {m}"),
            Self::UnknownSelector(s) => write!(f, "unsupported selector {s}"),
            Self::UnknownUsage(u) => write!(f, "unsupported certificate usage {u}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presentation_form_round_trips_and_tolerates_spaces() {
        let r: TlsaRecord = "3 1 1 ab cd\tEF 01".parse().unwrap();
        assert_eq!(r, TlsaRecord::new(3, 1, 1, vec![0xab, 0xcd, 0xef, 0x01]));
        assert_eq!(r.to_string(), "3 1 1 ABCDEF01");
        assert_eq!(TlsaRecord::from_rdata(&r.to_rdata()).unwrap(), r);
    }

    #[test]
    fn malformed_presentation_and_rdata_are_errors_not_panics() {
        assert!("3 1".parse::<TlsaRecord>().is_err());
        assert!("3 1 1 abc".parse::<TlsaRecord>().is_err());
        assert!("3 1 1 zz".parse::<TlsaRecord>().is_err());
        assert!("300 1 1 00".parse::<TlsaRecord>().is_err());
        assert!(TlsaRecord::from_rdata(&[3, 1]).is_err());
    }

    #[test]
    fn rfc7671_section_4_unusable_records() {
        let digest =
            |m: u8, n: usize| TlsaRecord::new(3, 1, m, vec![0; n]).usability(Profile::Generic);
        assert!(digest(1, 32).is_ok());
        assert!(digest(2, 64).is_ok());
        assert_eq!(
            digest(1, 31),
            Err(Unusable::DigestLength {
                expected: 32,
                actual: 31
            })
        );
        assert!(matches!(digest(2, 32), Err(Unusable::DigestLength { .. })));
        assert_eq!(digest(255, 32), Err(Unusable::UnknownMatchingType(255)));
        assert_eq!(
            TlsaRecord::new(4, 1, 1, vec![0; 32]).usability(Profile::Generic),
            Err(Unusable::UnknownUsage(4))
        );
        assert_eq!(
            TlsaRecord::new(3, 2, 1, vec![0; 32]).usability(Profile::Generic),
            Err(Unusable::UnknownSelector(2))
        );
        assert_eq!(
            TlsaRecord::new(3, 0, 0, vec![0x30, 0x03, 0x02, 0x01]).usability(Profile::Generic),
            Err(Unusable::MalformedCertificate)
        );
        assert_eq!(
            TlsaRecord::new(2, 1, 0, vec![]).usability(Profile::Generic),
            Err(Unusable::MalformedPublicKey)
        );
    }

    #[test]
    fn rfc7672_section_3_1_3_pkix_usages_unusable_for_smtp() {
        for usage in [0, 1] {
            let r = TlsaRecord::new(usage, 1, 1, vec![0; 32]);
            assert!(r.usability(Profile::Generic).is_ok());
            assert!(matches!(
                r.usability(Profile::Smtp),
                Err(Unusable::PkixUsageInSmtp(_))
            ));
        }
        assert!(
            TlsaRecord::new(2, 1, 1, vec![0; 32])
                .usability(Profile::Smtp)
                .is_ok()
        );
    }
}
