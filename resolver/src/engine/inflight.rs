//! One byte budget for every resolution in flight (issue 11, item 7): the
//! decoded messages each resolution holds — its upstream reply, and the
//! DS/DNSKEY answer its validation is judging — are charged to a
//! process-wide count while held. The server bounds resolutions by number
//! (`max_inflight`); this bounds them by what they hold, so that thousands
//! of resolutions each holding a 64 KB answer (a third of a megabyte
//! decoded) cannot grow the process without limit. When the count is at or
//! over the budget, a new resolution is not started: the client gets
//! SERVFAIL (EDE 0 naming the memory budget, since no upstream was asked) and
//! nothing is cached. Resolutions already running finish; each holds at
//! most its reply and one fetched message, so the overshoot is bounded by
//! the server's `max_inflight` times two of the largest messages.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};

use crate::wire::{DNSSECRData, Message, Name, PublicKey, RData, Record};

pub use crate::config::DEFAULT_MAX_INFLIGHT_BYTES;

/// The count of bytes held by resolutions in flight.
#[derive(Debug)]
pub(crate) struct InflightBytes {
    used: AtomicUsize,
    limit: usize,
    refused: AtomicU64,
}

impl InflightBytes {
    pub(crate) fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self {
            used: AtomicUsize::new(0),
            limit,
            refused: AtomicU64::new(0),
        })
    }

    /// May a new resolution start? Counts a refusal when not.
    pub(crate) fn admit(&self) -> bool {
        if self.used.load(Relaxed) < self.limit {
            return true;
        }
        self.refused.fetch_add(1, Relaxed);
        false
    }

    /// Charges `message` until the returned guard is dropped.
    pub(crate) fn hold(self: &Arc<Self>, message: &Message) -> Held {
        let bytes = message_bytes(message);
        self.used.fetch_add(bytes, Relaxed);
        Held {
            owner: Arc::clone(self),
            bytes,
        }
    }

    /// Bytes held now.
    pub(crate) fn used(&self) -> usize {
        self.used.load(Relaxed)
    }

    /// Resolutions refused so far.
    pub(crate) fn refused(&self) -> u64 {
        self.refused.load(Relaxed)
    }
}

/// A message's charge; given back on drop.
#[derive(Debug)]
pub(crate) struct Held {
    owner: Arc<InflightBytes>,
    bytes: usize,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.owner.used.fetch_sub(self.bytes, Relaxed);
    }
}

/// What a decoded message holds, estimated from what dominates it: the
/// record structs (sections at capacity), names past their inline storage
/// (twice, for the owner and any name in the data), and the variable-length
/// data of the record types that make messages large (keys, signatures,
/// text, NSEC3 hashes, unknown data).
pub(crate) fn message_bytes(message: &Message) -> usize {
    let sections = [
        &message.queries.capacity(),
        &message.answers.capacity(),
        &message.authorities.capacity(),
        &message.additionals.capacity(),
    ];
    let slots: usize = sections.iter().copied().sum();
    size_of::<Message>()
        + slots * size_of::<Record>()
        + message
            .answers
            .iter()
            .chain(&message.authorities)
            .chain(&message.additionals)
            .map(record_heap)
            .sum::<usize>()
}

/// Heap bytes of one record beyond its struct.
fn record_heap(record: &Record) -> usize {
    name_heap(&record.name)
        + match &record.data {
            RData::DNSSEC(DNSSECRData::DNSKEY(k)) => k.public_key().public_bytes().len(),
            RData::DNSSEC(DNSSECRData::RRSIG(s)) => {
                s.sig().len() + name_heap(&s.input().signer_name)
            }
            RData::DNSSEC(DNSSECRData::NSEC3(n)) => {
                n.salt().len() + n.next_hashed_owner_name().len() + 32
            }
            RData::DNSSEC(DNSSECRData::NSEC(n)) => name_heap(n.next_domain_name()) + 32,
            RData::DNSSEC(DNSSECRData::DS(d)) => d.digest().len(),
            RData::TXT(t) => t.txt_data.iter().map(|s| s.len() + 16).sum(),
            RData::Unknown { rdata, .. } => rdata.anything.len(),
            _ => 32,
        }
}

/// A name's bytes past its inline capacity (32 octets of labels, 24 label
/// ends), as the key store counts them.
fn name_heap(name: &Name) -> usize {
    crate::validator::keys::name_heap(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::rdata::A;
    use crate::wire::{MessageType, OpCode, Query, RecordType};

    fn answer(n: usize) -> Message {
        let mut m = Message::new(1, MessageType::Response, OpCode::Query);
        let name = Name::from_ascii("www.example.").unwrap();
        m.add_query(Query::query(name.clone(), RecordType::A));
        for i in 0..n {
            m.add_answer(Record::from_rdata(
                name.clone(),
                60,
                RData::A(A::new(192, 0, 2, (i % 250) as u8)),
            ));
        }
        m
    }

    #[test]
    fn held_messages_are_counted_and_given_back() {
        let budget = InflightBytes::new(10_000);
        let small = answer(1);
        let big = answer(100);
        assert!(message_bytes(&big) > 100 * size_of::<Record>());
        let a = budget.hold(&small);
        assert!(budget.admit());
        let b = budget.hold(&big);
        assert_eq!(budget.used(), message_bytes(&small) + message_bytes(&big));
        assert!(!budget.admit(), "over the budget: no new resolution");
        assert_eq!(budget.refused(), 1);
        drop(b);
        assert!(budget.admit());
        drop(a);
        assert_eq!(budget.used(), 0);
    }

    mod engine {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::{Arc, Mutex};

        use tokio::sync::Semaphore;

        use crate::clock::FixedClock;
        use crate::engine::{Resolver, Upstream, UpstreamFuture};
        use crate::forward::UpstreamReply;
        use crate::validator::signature::tests::TestKey;
        use crate::validator::{Anchors, RingCrypto};
        use crate::wire::rdata::A;
        use crate::wire::{
            DNSClass, Message, MessageType, Name, OpCode, Query, RData, Record, RecordType,
            ResponseCode,
        };

        /// Answers every question at once with an unsigned `A`, and holds
        /// the validator's fetches until the gate opens.
        struct Gated {
            gate: Semaphore,
            queries: AtomicUsize,
            fetches: AtomicUsize,
            names: Mutex<Vec<Name>>,
        }

        fn reply(name: &Name, rtype: RecordType) -> UpstreamReply {
            let mut m = Message::new(0, MessageType::Response, OpCode::Query);
            m.add_query(Query::query(name.clone(), rtype));
            for i in 0..50 {
                m.add_answer(Record::from_rdata(
                    name.clone(),
                    60,
                    RData::A(A::new(192, 0, 2, i)),
                ));
            }
            UpstreamReply {
                message: m,
                server: "127.0.0.1:53".parse().unwrap(),
                tcp: false,
            }
        }

        impl Upstream for Gated {
            fn query<'a>(
                &'a self,
                name: &'a Name,
                rtype: RecordType,
                _class: DNSClass,
            ) -> UpstreamFuture<'a> {
                self.queries.fetch_add(1, Ordering::SeqCst);
                self.names.lock().unwrap().push(name.clone());
                Box::pin(async move { Ok(reply(name, rtype)) })
            }

            fn fetch<'a>(
                &'a self,
                name: &'a Name,
                rtype: RecordType,
                _avoid: &'a [std::net::IpAddr],
            ) -> UpstreamFuture<'a> {
                self.fetches.fetch_add(1, Ordering::SeqCst);
                Box::pin(async move {
                    let _permit = self.gate.acquire().await;
                    Ok(reply(name, rtype))
                })
            }
        }

        #[test]
        fn over_the_byte_budget_new_resolutions_get_servfail_and_nothing_leaks() {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let upstream = Arc::new(Gated {
                gate: Semaphore::new(0),
                queries: AtomicUsize::new(0),
                fetches: AtomicUsize::new(0),
                names: Mutex::new(Vec::new()),
            });
            let mut anchors = Anchors::new();
            let key = TestKey::new(1, 257);
            anchors.add(&Record::from_rdata(Name::root(), 3600, key.rdata()));
            let resolver = Arc::new(
                Resolver::new(
                    upstream.clone(),
                    anchors,
                    Arc::new(RingCrypto::default()),
                    Arc::new(FixedClock::new(crate::validator::signature::tests::NOW)),
                )
                // One message of 50 records is over it.
                .with_max_inflight_bytes(1000),
            );
            let q = |n: &str| Query::query(Name::from_ascii(n).unwrap(), RecordType::A);
            runtime.block_on(async {
                // The first resolution gets its reply and waits in
                // validation for the root's keys, holding the reply.
                let first = tokio::spawn({
                    let resolver = resolver.clone();
                    let query = q("one.example.");
                    async move { resolver.resolve_query(&query, false).await }
                });
                while upstream.fetches.load(Ordering::SeqCst) == 0 {
                    tokio::task::yield_now().await;
                }
                let (held, _) = resolver.inflight_bytes();
                assert!(held > 1000, "the reply is counted: {held}");
                // A new resolution is refused at once, without asking.
                let refused = resolver.resolve_query(&q("two.example."), false).await;
                assert_eq!(refused.rcode, ResponseCode::ServFail);
                assert!(refused.answers.is_empty());
                assert_eq!(upstream.queries.load(Ordering::SeqCst), 1);
                assert_eq!(resolver.inflight_bytes().1, 1);
                // Released, the first ends and gives its bytes back.
                upstream.gate.add_permits(1000);
                let _ = first.await.unwrap();
                assert_eq!(resolver.inflight_bytes().0, 0, "nothing leaks");
                // And new resolutions are admitted again.
                let _ = resolver.resolve_query(&q("three.example."), false).await;
                assert_eq!(upstream.queries.load(Ordering::SeqCst), 2);
                assert_eq!(resolver.inflight_bytes(), (0, 1));
            });
            let names = upstream.names.lock().unwrap().clone();
            assert!(!names.iter().any(|n| n.to_ascii().starts_with("two")));
        }
    }
}
