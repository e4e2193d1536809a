//! One shard of the cache: a hash map into a slab of nodes kept on an
//! intrusive doubly linked list in least-recently-used order. All operations
//! are O(1); no `unsafe`.

use std::collections::HashMap;
use std::sync::Arc;

use super::rrset::heap;
use super::{Entry, Meter};

const NIL: usize = usize::MAX;

/// Bytes of one slab slot.
const NODE_SIZE: usize = size_of::<Option<Node>>();
/// Bytes of one map slot.
const MAP_SLOT: usize = size_of::<(Box<[u8]>, usize)>();

struct Node {
    key: Box<[u8]>,
    entry: Arc<Entry>,
    prev: usize,
    next: usize,
}

/// An LRU table bounded by entry count and bytes.
pub(super) struct Lru {
    map: HashMap<Box<[u8]>, usize>,
    nodes: Vec<Option<Node>>,
    free: Vec<usize>,
    /// Most recently used.
    head: usize,
    /// Least recently used.
    tail: usize,
    /// Bytes of the entries at insertion.
    bytes: usize,
    /// Bytes of the RRset store, shared by all shards.
    shared: Arc<Meter>,
    /// Number of shards: each counts its part of the store.
    shards: usize,
    max_entries: usize,
    max_bytes: usize,
}

impl Lru {
    pub(super) fn new(
        max_entries: usize,
        max_bytes: usize,
        shared: Arc<Meter>,
        shards: usize,
    ) -> Self {
        Self {
            map: HashMap::new(),
            nodes: Vec::new(),
            free: Vec::new(),
            head: NIL,
            tail: NIL,
            bytes: 0,
            shared,
            shards: shards.max(1),
            max_entries: max_entries.max(1),
            max_bytes: max_bytes.max(1),
        }
    }

    pub(super) fn len(&self) -> usize {
        self.map.len()
    }

    /// Bytes held: the entries, this shard's part of the RRset store they
    /// point at, and the slab, free list and map as allocated (capacity,
    /// not length).
    pub(super) fn bytes(&self) -> usize {
        self.bytes
            + self.shared.get() / self.shards
            + heap(self.nodes.capacity() * NODE_SIZE)
            + heap(self.free.capacity() * size_of::<usize>())
            // hashbrown: buckets are the next power of two of 8/7 of the
            // capacity, each a slot and a control byte.
            + heap((self.map.capacity() * 8 / 7 + 1).next_power_of_two() * (MAP_SLOT + 1))
    }

    fn over_bound(&self) -> bool {
        self.map.len() > self.max_entries || self.bytes() > self.max_bytes
    }

    /// Evicts least recently used entries, but never the most recent one,
    /// until the bounds hold. Returns how many were evicted.
    pub(super) fn evict_over_bound(&mut self) -> usize {
        let mut evicted = 0;
        while self.over_bound() && self.tail != self.head && self.tail != NIL {
            let Some(key) = self.nodes[self.tail].as_ref().map(|n| n.key.clone()) else {
                break;
            };
            self.remove(&key);
            evicted += 1;
        }
        evicted
    }

    /// The entry under `key`, marked most recently used.
    pub(super) fn get(&mut self, key: &[u8]) -> Option<&Arc<Entry>> {
        let idx = *self.map.get(key)?;
        self.unlink(idx);
        self.push_front(idx);
        self.nodes[idx].as_ref().map(|n| &n.entry)
    }

    /// Removes the entry under `key`.
    pub(super) fn remove(&mut self, key: &[u8]) {
        if let Some(idx) = self.map.remove(key) {
            self.unlink(idx);
            if let Some(node) = self.nodes[idx].take() {
                self.bytes -= node.entry.size;
            }
            self.free.push(idx);
        }
    }

    /// Inserts or replaces, then evicts least recently used entries until
    /// the bounds hold again. Returns how many were evicted.
    pub(super) fn insert(&mut self, key: Box<[u8]>, entry: Arc<Entry>) -> usize {
        self.remove(&key);
        self.bytes += entry.size;
        let node = Node {
            key: key.clone(),
            entry,
            prev: NIL,
            next: NIL,
        };
        let idx = match self.free.pop() {
            Some(idx) => {
                self.nodes[idx] = Some(node);
                idx
            }
            None => {
                self.nodes.push(Some(node));
                self.nodes.len() - 1
            }
        };
        self.map.insert(key, idx);
        self.push_front(idx);
        self.evict_over_bound()
    }

    /// Removes every entry for which `drop` is true; returns how many.
    pub(super) fn remove_where(&mut self, mut drop: impl FnMut(&[u8], &Entry) -> bool) -> usize {
        let keys: Vec<Box<[u8]>> = self
            .nodes
            .iter()
            .flatten()
            .filter(|n| drop(&n.key, &n.entry))
            .map(|n| n.key.clone())
            .collect();
        for key in &keys {
            self.remove(key);
        }
        keys.len()
    }

    pub(super) fn clear(&mut self) {
        *self = Self::new(
            self.max_entries,
            self.max_bytes,
            Arc::clone(&self.shared),
            self.shards,
        );
    }

    fn unlink(&mut self, idx: usize) {
        let (prev, next) = match &self.nodes[idx] {
            Some(n) => (n.prev, n.next),
            None => return,
        };
        match prev {
            NIL => self.head = next,
            p => {
                if let Some(n) = self.nodes[p].as_mut() {
                    n.next = next;
                }
            }
        }
        match next {
            NIL => self.tail = prev,
            n => {
                if let Some(node) = self.nodes[n].as_mut() {
                    node.prev = prev;
                }
            }
        }
        if let Some(n) = self.nodes[idx].as_mut() {
            n.prev = NIL;
            n.next = NIL;
        }
    }

    fn push_front(&mut self, idx: usize) {
        let old = self.head;
        if let Some(n) = self.nodes[idx].as_mut() {
            n.prev = NIL;
            n.next = old;
        }
        if old != NIL {
            if let Some(n) = self.nodes[old].as_mut() {
                n.prev = idx;
            }
        } else {
            self.tail = idx;
        }
        self.head = idx;
    }
}
