//! The built-in root zone trust anchors: KSK-2017 (tag 20326) and KSK-2024
//! (tag 38696), both RSASHA256 (algorithm 8).
//!
//! The DS digests (type 2, SHA-256) are the ones IANA publishes in
//! root-anchors.xml. The tests below recompute the key tags (RFC 4034
//! Appendix B) and the digests (RFC 4034 §5.1.4) from the public keys, so a
//! typo in either can never ship.

use hickory_proto::dnssec::rdata::{DNSKEY, DNSSECRData, DS};
use hickory_proto::dnssec::{Algorithm, DigestType, PublicKeyBuf};
use hickory_proto::rr::{Name, RData, Record};

/// One built-in root key.
#[derive(Clone, Copy, Debug)]
pub struct RootKey {
    /// The name ICANN gives it.
    pub label: &'static str,
    /// Key tag (RFC 4034 Appendix B).
    pub key_tag: u16,
    /// DNSKEY flags (257: Zone Key + Secure Entry Point).
    pub flags: u16,
    /// DNSSEC algorithm number.
    pub algorithm: u8,
    /// The public key, base64 as in the zone file.
    pub public_key_b64: &'static str,
    /// SHA-256 DS digest, hex.
    pub ds_sha256_hex: &'static str,
}

/// The root KSKs trusted by default.
pub const ROOT_KEYS: [RootKey; 2] = [
    RootKey {
        label: "KSK-2017",
        key_tag: 20326,
        flags: 257,
        algorithm: 8,
        public_key_b64: "AwEAAaz/tAm8yTn4Mfeh5eyI96WSVexTBAvkMgJzkKTOiW1vkIbzxeF3+/4RgWOq7HrxRixHlFlExOLAJr5emLvN7SWXgnLh4+B5xQlNVz8Og8kvArMtNROxVQuCaSnIDdD5LKyWbRd2n9WGe2R8PzgCmr3EgVLrjyBxWezF0jLHwVN8efS3rCj/EWgvIWgb9tarpVUDK/b58Da+sqqls3eNbuv7pr+eoZG+SrDK6nWeL3c6H5Apxz7LjVc1uTIdsIXxuOLYA4/ilBmSVIzuDWfdRUfhHdY6+cn8HFRm+2hM8AnXGXws9555KrUB5qihylGa8subX2Nn6UwNR1AkUTV74bU=",
        ds_sha256_hex: "E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D",
    },
    RootKey {
        label: "KSK-2024",
        key_tag: 38696,
        flags: 257,
        algorithm: 8,
        public_key_b64: "AwEAAa96jeuknZlaeSrvyAJj6ZHv28hhOKkx3rLGXVaC6rXTsDc449/cidltpkyGwCJNnOAlFNKF2jBosZBU5eeHspaQWOmOElZsjICMQMC3aeHbGiShvZsx4wMYSjH8e7Vrhbu6irwCzVBApESjbUdpWWmEnhathWu1jo+siFUiRAAxm9qyJNg/wOZqqzL/dL/q8PkcRU5oUKEpUge71M3ej2/7CPqpdVwuMoTvoB+ZOT4YeGyxMvHmbrxlFzGOHOijtzN+u1TQNatX2XBuzZNQ1K+s2CXkPIZo7s6JgZyvaBevYtxPvYLw4z9mR7K2vaF18UYH9Z9GNUUeayffKC73PYc=",
        ds_sha256_hex: "683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16",
    },
];

impl RootKey {
    /// The public key bytes.
    pub fn public_key(&self) -> Vec<u8> {
        // The constants are valid base64; the test below proves it.
        data_encoding::BASE64
            .decode(self.public_key_b64.as_bytes())
            .unwrap_or_default()
    }

    /// The key as a DNSKEY record at the root.
    pub fn dnskey_record(&self) -> Record {
        let key = DNSKEY::with_flags(
            self.flags,
            PublicKeyBuf::new(self.public_key(), Algorithm::from_u8(self.algorithm)),
        );
        Record::from_rdata(
            Name::root(),
            172800,
            RData::DNSSEC(DNSSECRData::DNSKEY(key)),
        )
    }

    /// The key as a SHA-256 DS record at the root.
    pub fn ds_record(&self) -> Record {
        let digest = data_encoding::HEXUPPER
            .decode(self.ds_sha256_hex.as_bytes())
            .unwrap_or_default();
        let ds = DS::new(
            self.key_tag,
            Algorithm::from_u8(self.algorithm),
            DigestType::SHA256,
            digest,
        );
        Record::from_rdata(Name::root(), 172800, RData::DNSSEC(DNSSECRData::DS(ds)))
    }
}

/// The default root anchors as DS records.
pub fn default_root_ds() -> Vec<Record> {
    ROOT_KEYS.iter().map(RootKey::ds_record).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rdata(k: &RootKey) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&k.flags.to_be_bytes());
        v.push(3);
        v.push(k.algorithm);
        v.extend_from_slice(&k.public_key());
        v
    }

    #[test]
    fn rfc4034_appendix_b_root_key_tags_recomputed() {
        for k in ROOT_KEYS {
            let key = crate::rfc5011::Key::from_rdata(&rdata(&k)).unwrap();
            assert_eq!(key.key_tag(), k.key_tag, "{}", k.label);
        }
    }

    #[test]
    fn rfc4034_section_5_1_4_root_ds_digests_recomputed() {
        for k in ROOT_KEYS {
            // digest = SHA-256(owner name in canonical wire form | DNSKEY RDATA)
            let mut data = vec![0u8]; // the root name
            data.extend_from_slice(&rdata(&k));
            let d = ring::digest::digest(&ring::digest::SHA256, &data);
            assert_eq!(
                data_encoding::HEXUPPER.encode(d.as_ref()),
                k.ds_sha256_hex,
                "{}",
                k.label
            );
        }
    }

    #[test]
    fn default_root_ds_has_both_keys() {
        let tags: Vec<u16> = default_root_ds()
            .iter()
            .filter_map(|r| match &r.data {
                RData::DNSSEC(DNSSECRData::DS(ds)) => Some(ds.key_tag()),
                _ => None,
            })
            .collect();
        assert_eq!(tags, vec![20326, 38696]);
    }
}
