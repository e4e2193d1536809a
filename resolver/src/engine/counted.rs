//! An [`Upstream`] that counts its queries and round trips in
//! [`crate::stats`], for `serve`'s statistics.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use super::{Upstream, UpstreamFuture};
use crate::wire::{DNSClass, Name, Record, RecordType};

/// Wraps the upstream `serve` uses (forwarder or iterator); every method is
/// passed through, so the iterator keeps its own DS/DNSKEY path.
pub(super) struct Counted(pub(super) Arc<dyn Upstream>);

/// Counts one upstream answer (or failure) and its round trip, unless the
/// upstream counts each query it sends itself (the iterator: one client
/// question is many queries to authorities).
fn counted(inner: UpstreamFuture<'_>, counts_own: bool) -> UpstreamFuture<'_> {
    if counts_own {
        return inner;
    }
    Box::pin(async move {
        let start = Instant::now();
        let reply = inner.await;
        crate::stats::global().upstream(reply.as_ref().ok().map(|_| start.elapsed()));
        reply
    })
}

impl Upstream for Counted {
    fn query<'a>(
        &'a self,
        name: &'a Name,
        rtype: RecordType,
        class: DNSClass,
    ) -> UpstreamFuture<'a> {
        counted(
            self.0.query(name, rtype, class),
            self.0.counts_own_queries(),
        )
    }

    fn query_unvalidated<'a>(
        &'a self,
        name: &'a Name,
        rtype: RecordType,
        class: DNSClass,
    ) -> UpstreamFuture<'a> {
        counted(
            self.0.query_unvalidated(name, rtype, class),
            self.0.counts_own_queries(),
        )
    }

    fn query_avoiding<'a>(
        &'a self,
        name: &'a Name,
        rtype: RecordType,
        class: DNSClass,
        avoid: &'a [IpAddr],
    ) -> Option<UpstreamFuture<'a>> {
        self.0
            .query_avoiding(name, rtype, class, avoid)
            .map(|f| counted(f, self.0.counts_own_queries()))
    }

    fn can_avoid(&self) -> bool {
        self.0.can_avoid()
    }

    fn counts_own_queries(&self) -> bool {
        self.0.counts_own_queries()
    }

    fn judged(&self, name: &Name, rtype: RecordType, records: &[Record], secure: bool) {
        self.0.judged(name, rtype, records, secure);
    }

    fn fetch<'a>(
        &'a self,
        name: &'a Name,
        rtype: RecordType,
        avoid: &'a [IpAddr],
    ) -> UpstreamFuture<'a> {
        counted(
            self.0.fetch(name, rtype, avoid),
            self.0.counts_own_queries(),
        )
    }
}
