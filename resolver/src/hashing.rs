//! The hasher of the long-lived maps keyed by domain names.
//!
//! hickory's `Hash for Name` feeds a name to the hasher one lowercased byte
//! per `write_u8` call. std's SipHash pays a whole round of bookkeeping per
//! call, which made hashing names a fifth of the user-space instructions of
//! a cache miss (issue 12). [`NameState`] keeps SipHash, randomly keyed per
//! map, because these maps are keyed by names that anyone who can query
//! chooses, and feeds it the same bytes in blocks: std's SipHash is a
//! streaming hash, so the hash of a key is what it was, only cheaper.
//!
//! [`NameKey`] goes further for the busiest maps (the iterator cache, the
//! key store): a name as a key, hashed from its lower-cased wire form in
//! one write.
//!
//! The validator's per-message maps use foldhash instead (its sponge already
//! takes bytes cheaply, and they live for one message).
//!
//! # What this module does not do
//! - It does not define what names are equal: [`NameKey`] compares as
//!   `Name` does; other key types keep their own `Eq` and `Hash`.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, DefaultHasher, Hash, Hasher, RandomState};

use crate::wire::Name;

/// Bytes gathered before they are handed to SipHash in one `write`.
const BLOCK: usize = 64;

/// A domain name as a map key: equal as names are (case aside, RFC 4343),
/// hashed in one write from its lower-cased wire form built on the stack,
/// where hickory's `Hash for Name` makes a call per byte.
#[derive(Clone, Debug)]
pub struct NameKey(Name);

impl NameKey {
    /// The key of `name`.
    pub fn new(name: &Name) -> Self {
        Self(name.clone())
    }

    /// The name.
    pub fn name(&self) -> &Name {
        &self.0
    }
}

impl From<Name> for NameKey {
    fn from(name: Name) -> Self {
        Self(name)
    }
}

impl PartialEq for NameKey {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl Eq for NameKey {}

impl Hash for NameKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // The name in lower-cased wire form (length octet, label), written
        // at once: at most 255 octets (RFC 1035 §2.3.4); anything longer
        // is written as it fills the buffer.
        let mut wire = [0u8; 256];
        let mut at = 0;
        for label in self.0.iter() {
            if at + 1 + label.len() > wire.len() {
                state.write(&wire[..at]);
                at = 0;
            }
            let end = (at + 1 + label.len()).min(wire.len());
            wire[at] = label.len() as u8;
            for (to, from) in wire[at + 1..end].iter_mut().zip(label) {
                *to = from.to_ascii_lowercase();
            }
            at = end;
        }
        state.write(&wire[..at]);
    }
}

/// A map with [`NameState`]'s hasher.
pub type NameMap<K, V> = HashMap<K, V, NameState>;
/// A set with [`NameState`]'s hasher.
pub type NameSet<K> = HashSet<K, NameState>;

/// Builds [`Buffered`] SipHash hashers, keyed at random like
/// [`RandomState`].
#[derive(Clone, Debug, Default)]
pub struct NameState(RandomState);

impl BuildHasher for NameState {
    type Hasher = Buffered;

    fn build_hasher(&self) -> Buffered {
        Buffered {
            inner: self.0.build_hasher(),
            block: [0; BLOCK],
            len: 0,
        }
    }
}

/// SipHash fed in blocks of up to [`BLOCK`] bytes.
#[derive(Clone, Debug)]
pub struct Buffered {
    inner: DefaultHasher,
    block: [u8; BLOCK],
    len: usize,
}

impl Buffered {
    fn flush(&mut self) {
        self.inner.write(&self.block[..self.len]);
        self.len = 0;
    }
}

impl Hasher for Buffered {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        if self.len + bytes.len() > BLOCK {
            self.flush();
            if bytes.len() > BLOCK {
                self.inner.write(bytes);
                return;
            }
        }
        self.block[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }

    #[inline]
    fn write_u8(&mut self, byte: u8) {
        if self.len == BLOCK {
            self.flush();
        }
        self.block[self.len] = byte;
        self.len += 1;
    }

    fn finish(&self) -> u64 {
        let mut inner = self.inner.clone();
        inner.write(&self.block[..self.len]);
        inner.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Buffering changes how bytes reach SipHash, never the hash: SipHash
    /// over the same stream of bytes written all at once.
    #[test]
    fn same_hash_as_one_write() {
        let state = NameState::default();
        for len in [0, 1, 7, 63, 64, 65, 130, 300] {
            let bytes: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let mut buffered = state.build_hasher();
            for chunk in bytes.chunks(3) {
                if chunk.len() == 1 {
                    buffered.write_u8(chunk[0]);
                } else {
                    buffered.write(chunk);
                }
            }
            buffered.write(&bytes);
            let mut plain = state.0.build_hasher();
            plain.write(&bytes);
            plain.write(&bytes);
            assert_eq!(buffered.finish(), plain.finish(), "{len} bytes");
        }
    }

    /// Names equal under DNS rules (case) hash equal; different names do not
    /// (with overwhelming probability).
    #[test]
    fn names_hash_as_they_compare() {
        let state = NameState::default();
        let hash = |name: &str| state.hash_one(Name::from_ascii(name).unwrap());
        assert_eq!(hash("WwW.Example.TEST."), hash("www.example.test."));
        assert_ne!(hash("www.example.test."), hash("ww.wexample.test."));
        let long = format!("{}.test.", ["a123456789"; 20].join("."));
        assert_eq!(hash(&long), hash(&long.to_uppercase()));
        let key = |name: &str| state.hash_one(NameKey::from(Name::from_ascii(name).unwrap()));
        assert_eq!(key("WwW.Example.TEST."), key("www.example.test."));
        assert_ne!(key("www.example.test."), key("ww.wexample.test."));
        assert_eq!(key(&long), key(&long.to_uppercase()));
        let mut set = NameSet::default();
        set.insert(Name::from_ascii("A.test.").unwrap());
        assert!(set.contains(&Name::from_ascii("a.TEST.").unwrap()));
    }
}
