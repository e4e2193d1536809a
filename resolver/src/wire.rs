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
pub use hickory_proto::serialize::binary::{BinDecodable, BinDecoder, BinEncodable, BinEncoder};
