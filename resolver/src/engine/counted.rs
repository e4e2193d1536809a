//! An [`Upstream`] that counts its queries and round trips in
//! [`crate::stats`], for `serve`'s statistics.

use std::time::Instant;

use super::{Upstream, UpstreamFuture};
use crate::wire::{DNSClass, Name, RecordType};

/// Wraps the upstream `serve` uses.
pub(super) struct Counted<U>(pub(super) U);

impl<U: Upstream> Upstream for Counted<U> {
    fn query<'a>(
        &'a self,
        name: &'a Name,
        rtype: RecordType,
        class: DNSClass,
    ) -> UpstreamFuture<'a> {
        Box::pin(async move {
            let start = Instant::now();
            let reply = self.0.query(name, rtype, class).await;
            crate::stats::global().upstream(reply.as_ref().ok().map(|_| start.elapsed()));
            reply
        })
    }
}
