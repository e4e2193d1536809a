//! One shard of the cache: a hash table of slab indices into a slab of
//! nodes kept on an intrusive doubly linked list in least-recently-used
//! order. All operations are O(1); no `unsafe`.
//!
//! Memory (issue 12): the key is held once, by the entry (`Entry::key`);
//! the table holds only a 4-byte slab index per slot (hashbrown's
//! `HashTable`, probed with the key's hash and compared against the
//! entry's key), and a node is the entry's pointer and two 4-byte links,
//! 16 bytes.

use std::hash::RandomState;
use std::sync::Arc;

use hashbrown::HashTable;

use super::rrset::heap;
use super::{Entry, Meter};

const NIL: u32 = u32::MAX;

/// Bytes of one slab slot.
const NODE_SIZE: usize = size_of::<Option<Node>>();

struct Node {
    entry: Arc<Entry>,
    prev: u32,
    next: u32,
}

/// An LRU table bounded by entry count and bytes.
pub(super) struct Lru {
    /// Slab indices, hashed by their entry's key.
    table: HashTable<u32>,
    nodes: Vec<Option<Node>>,
    free: Vec<u32>,
    /// Hashes keys as the cache does (it picks the shard with the same
    /// hash and hands it in).
    hasher: RandomState,
    /// Most recently used.
    head: u32,
    /// Least recently used.
    tail: u32,
    /// Bytes of the entries at insertion.
    bytes: usize,
    /// Bytes of the RRset store, shared by all shards.
    shared: Arc<Meter>,
    /// Number of shards: each counts its part of the store.
    shards: usize,
    max_entries: usize,
    max_bytes: usize,
}

/// The entry at `idx` of a slab.
fn entry_at(nodes: &[Option<Node>], idx: u32) -> Option<&Entry> {
    nodes.get(idx as usize)?.as_ref().map(|n| &*n.entry)
}

impl Lru {
    pub(super) fn new(
        max_entries: usize,
        max_bytes: usize,
        shared: Arc<Meter>,
        shards: usize,
        hasher: RandomState,
    ) -> Self {
        Self {
            table: HashTable::new(),
            nodes: Vec::new(),
            free: Vec::new(),
            hasher,
            head: NIL,
            tail: NIL,
            bytes: 0,
            shared,
            shards: shards.max(1),
            // Slab indices are u32 (NIL excluded).
            max_entries: max_entries.clamp(1, NIL as usize - 1),
            max_bytes: max_bytes.max(1),
        }
    }

    pub(super) fn len(&self) -> usize {
        self.table.len()
    }

    /// Bytes held: the entries, this shard's part of the RRset store they
    /// point at, and the slab, free list and table as allocated (capacity,
    /// not length).
    pub(super) fn bytes(&self) -> usize {
        self.bytes
            + self.shared.get() / self.shards
            + heap(self.nodes.capacity() * NODE_SIZE)
            + heap(self.free.capacity() * size_of::<u32>())
            + heap(self.table.allocation_size())
    }

    fn over_bound(&self) -> bool {
        self.table.len() > self.max_entries || self.bytes() > self.max_bytes
    }

    /// Evicts least recently used entries, but never the most recent one,
    /// until the bounds hold. Returns how many were evicted.
    pub(super) fn evict_over_bound(&mut self) -> usize {
        let mut evicted = 0;
        while self.over_bound() && self.tail != self.head && self.tail != NIL {
            self.remove_at(self.tail);
            evicted += 1;
        }
        evicted
    }

    /// The slab index of the entry under `key` (whose hash is `hash`).
    fn find(&self, hash: u64, key: &[u8]) -> Option<u32> {
        let nodes = &self.nodes;
        self.table
            .find(hash, |&i| {
                entry_at(nodes, i).is_some_and(|e| e.is_under(key))
            })
            .copied()
    }

    /// The entry under `key`, marked most recently used.
    pub(super) fn get(&mut self, hash: u64, key: &[u8]) -> Option<&Arc<Entry>> {
        let idx = self.find(hash, key)?;
        self.unlink(idx);
        self.push_front(idx);
        self.nodes[idx as usize].as_ref().map(|n| &n.entry)
    }

    /// Removes the entry under `key`.
    pub(super) fn remove(&mut self, hash: u64, key: &[u8]) {
        if let Some(idx) = self.find(hash, key) {
            self.remove_at(idx);
        }
    }

    /// Removes the entry at slab index `idx`.
    fn remove_at(&mut self, idx: u32) {
        let Some(hash) = entry_at(&self.nodes, idx).map(|e| e.key_hash(&self.hasher)) else {
            return;
        };
        if let Ok(found) = self.table.find_entry(hash, |&i| i == idx) {
            found.remove();
        }
        self.unlink(idx);
        if let Some(node) = self.nodes[idx as usize].take() {
            self.bytes -= node.entry.bytes();
        }
        self.free.push(idx);
    }

    /// Inserts or replaces `entry` under `key` (whose hash is `hash`; the
    /// entry is under it), then evicts least recently used entries until
    /// the bounds hold again. Returns how many were evicted.
    pub(super) fn insert(&mut self, hash: u64, key: &[u8], entry: Arc<Entry>) -> usize {
        self.remove(hash, key);
        self.bytes += entry.bytes();
        let node = Node {
            entry,
            prev: NIL,
            next: NIL,
        };
        let idx = match self.free.pop() {
            Some(idx) => {
                self.nodes[idx as usize] = Some(node);
                idx
            }
            None => {
                self.nodes.push(Some(node));
                (self.nodes.len() - 1) as u32
            }
        };
        let (nodes, hasher) = (&self.nodes, &self.hasher);
        self.table.insert_unique(hash, idx, |&i| {
            entry_at(nodes, i).map_or(0, |e| e.key_hash(hasher))
        });
        self.push_front(idx);
        self.evict_over_bound()
    }

    /// Removes every entry for which `drop` (given the name of its key and
    /// the entry) is true; returns how many.
    pub(super) fn remove_where(&mut self, mut drop: impl FnMut(&[u8], &Entry) -> bool) -> usize {
        let doomed: Vec<u32> = (0..self.nodes.len() as u32)
            .filter(|&i| entry_at(&self.nodes, i).is_some_and(|e| drop(e.qname(), e)))
            .collect();
        for &idx in &doomed {
            self.remove_at(idx);
        }
        doomed.len()
    }

    pub(super) fn clear(&mut self) {
        *self = Self::new(
            self.max_entries,
            self.max_bytes,
            Arc::clone(&self.shared),
            self.shards,
            self.hasher.clone(),
        );
    }

    fn node_mut(&mut self, idx: u32) -> Option<&mut Node> {
        self.nodes.get_mut(idx as usize)?.as_mut()
    }

    fn unlink(&mut self, idx: u32) {
        let Some((prev, next)) = self.node_mut(idx).map(|n| (n.prev, n.next)) else {
            return;
        };
        match prev {
            NIL => self.head = next,
            p => {
                if let Some(n) = self.node_mut(p) {
                    n.next = next;
                }
            }
        }
        match next {
            NIL => self.tail = prev,
            n => {
                if let Some(node) = self.node_mut(n) {
                    node.prev = prev;
                }
            }
        }
        if let Some(n) = self.node_mut(idx) {
            n.prev = NIL;
            n.next = NIL;
        }
    }

    fn push_front(&mut self, idx: u32) {
        let old = self.head;
        if let Some(n) = self.node_mut(idx) {
            n.prev = NIL;
            n.next = old;
        }
        if old != NIL {
            if let Some(n) = self.node_mut(old) {
                n.prev = idx;
            }
        } else {
            self.tail = idx;
        }
        self.head = idx;
    }
}
