//! The `.rpl` replay harness (issue 4; format in `shared/docs/rpl-format.md`).
//!
//! * [`parse`]: config (unbound, Deckard and Stelline dialects) and scenario
//!   grammar; [`entry`]: ENTRY blocks.
//! * [`network`]: the fake network answering from RANGEs.
//! * [`compare`]: MATCH rules and the `semantic`/`strict` profiles.
//! * [`run`]: the step driver and the [`ResolverUnderTest`] trait an engine
//!   implements.
//! * [`macros`]: `${…}` expressions.
//!
//! # Plugging in a resolver
//!
//! Implement [`ResolverUnderTest`] and pass a constructor to
//! [`run_file`]/[`run_scenario`]:
//!
//! ```ignore
//! struct Engine { rt: tokio::runtime::Runtime, resolver: danebound_resolver::Resolver }
//! impl ResolverUnderTest for Engine {
//!     fn resolve(&mut self, q: &Message, net: &ScenarioNetwork, t: ScenarioTime) -> Result<Message, String> {
//!         // A Transport whose send(server, transport, bytes) calls
//!         // `net.answer_wire(server, transport, &bytes)` (None = timeout);
//!         // `t.now` is the engine clock, `t.validation` the signature time.
//!         self.rt.block_on(self.resolver.resolve_with(q, NetTransport(net.clone()), t))
//!     }
//! }
//! let report = run_file(path, dialect_for_path(path), Profile::Semantic, |cfg| Engine::new(cfg));
//! ```
//!
//! The constructor reads [`ScenarioConfig`]: `trust_anchors`,
//! `autotrust_records(id)`, `validation_time`, `domain_insecure`,
//! `qname_minimisation`, and `mode()` (iterate from a root stub, or forward;
//! every `domain-fwd` file is forwarding). Returning `Err("unsupported: …")`
//! skips the file with that reason. In the Stelline dialect the network
//! ignores destination addresses, so a forwarder may use any address,
//! including when `mode()` lists none.
//!
//! Replies are built byte by byte from the scenario, so records that hickory
//! refuses to decode (a DNSKEY with protocol 2, for example) reach the
//! engine as they are; `Message::from_vec` then fails on the whole message,
//! which the engine must treat like any undecodable upstream reply.
//!
//! What it does not do (yet): deliver REPLY/TIMEOUT/ERROR steps to pending
//! queries (the model is synchronous: an unmatched query times out at
//! once, and REPLY steps are one-shot fallbacks as in Deckard); multi-packet
//! (EXTRA_PACKET) TCP answers beyond the first packet; CHECK_TEMPFILE and
//! the unbound-internal steps; raw client queries.

pub mod compare;
pub mod engine;
pub mod entry;
pub mod macros;
pub mod network;
pub mod packet;
pub mod parse;
pub mod run;

pub use compare::{Profile, Transport};
pub use network::ScenarioNetwork;
pub use parse::{Dialect, Scenario, ScenarioConfig, parse_scenario, parse_scenario_as};
pub use run::{Report, ResolverUnderTest, ScenarioTime, Verdict, run_scenario};

use std::path::{Path, PathBuf};

/// Collects the `.rpl`/`.crpl` files under `paths` (files taken as given),
/// sorted.
pub fn collect_files(paths: &[PathBuf]) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rpl" || x == "crpl") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut v = Vec::new();
            walk(p, &mut v);
            v.sort();
            out.extend(v);
        } else {
            out.push(p.clone());
        }
    }
    out
}

/// The dialect a suite folder implies: files under a `domain-fwd` folder
/// are adapted for a forwarding validator whatever their config looks like.
pub fn dialect_for_path(path: &Path) -> Option<Dialect> {
    path.components()
        .any(|c| c.as_os_str() == "domain-fwd")
        .then_some(Dialect::Stelline)
}

/// Reads, parses and runs one file. `dialect` overrides detection.
pub fn run_file<R: ResolverUnderTest>(
    path: &Path,
    dialect: Option<Dialect>,
    profile: Profile,
    make: impl FnOnce(&ScenarioConfig) -> Result<R, String>,
) -> Report {
    let text = match std::fs::read(path) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(e) => {
            return Report {
                dialect: Dialect::Unbound,
                verdict: Verdict::Skip(format!("cannot read: {e}")),
                other_profile: None,
                ignored_options: Vec::new(),
                unanswered_queries: 0,
            };
        }
    };
    match parse_scenario_as(&text, dialect) {
        Ok(s) => run_scenario(&s, profile, make),
        Err(e) => Report {
            dialect: Dialect::Unbound,
            verdict: Verdict::Skip(format!("unsupported: parse error at {e}")),
            other_profile: None,
            ignored_options: Vec::new(),
            unanswered_queries: 0,
        },
    }
}
