//! The resolution flags `query` and `dane check` share with `serve`
//! (`--forward`, `--root-hints`, `--do-not-query-localhost`,
//! `--trust-anchor`, `--auto-trust-anchor`, `--no-default-local-zones`), and the in-process validating resolver they
//! build: recursive from the root by default, forwarding with `--forward`.

use std::path::PathBuf;

use clap::{Arg, ArgAction, ArgMatches, Command, value_parser};
use danebound_resolver::config::{Config, Overrides};
use danebound_resolver::engine::{Resolver, build_resolver};
use danebound_resolver::local_zones::LocalZones;
use danebound_resolver::resolve::Resolution;
use danebound_resolver::validator::trace::TraceEvent;
use danebound_resolver::wire::{Name, Query, RecordType};

use crate::repeatable;

/// Adds the resolution flags to `command`.
pub(crate) fn args(command: Command) -> Command {
    command
        .arg(repeatable(
            "forward",
            "ADDR[:PORT]|ADDR@853#NAME",
            "Forward every query to this recursive resolver (forwarding mode); repeatable. ADDR@853#NAME: DNS over TLS, the certificate must be valid for NAME (system CA roots); ADDR@853#NAME^sha256/BASE64: authenticated by SPKI pin instead [default: recursive from the root]",
        ))
        .arg(
            Arg::new("root-hints")
                .long("root-hints")
                .value_name("FILE")
                .value_parser(value_parser!(PathBuf))
                .help("Root servers in named.root format, for recursive mode [default: built-in IANA list]"),
        )
        .arg(
            Arg::new("do-not-query-localhost")
                .long("do-not-query-localhost")
                .value_name("yes|no")
                .value_parser(clap::builder::BoolishValueParser::new())
                .help("Recursive mode: never ask authoritative servers on loopback addresses learned from referrals (unbound's option; 'no' for a test lab on 127.0.0.0/8) [default: yes]"),
        )
        .arg(
            Arg::new("trust-anchor")
                .long("trust-anchor")
                .value_name("PATH")
                .action(ArgAction::Append)
                .value_parser(value_parser!(PathBuf))
                .help("Static DS or DNSKEY records in zone-file format; repeatable"),
        )
        .arg(
            Arg::new("auto-trust-anchor")
                .long("auto-trust-anchor")
                .value_name("PATH")
                .action(ArgAction::Append)
                .value_parser(value_parser!(PathBuf))
                .help("RFC 5011-managed anchor file (unbound's auto-trust-anchor-file format); repeatable [default without any anchor option: the root in /var/lib/danebound/root.key, from the built-in KSKs 20326, 38696]"),
        )
        .arg(
            Arg::new("no-default-local-zones")
                .long("no-default-local-zones")
                .action(ArgAction::SetTrue)
                .help("Do not answer special-use names (localhost., private reverse zones, ...) locally"),
        )
}

/// The resolution flags of `m` (added by [`args`]) as config overrides.
pub(crate) fn overrides(m: &ArgMatches) -> Overrides {
    Overrides {
        forward: m
            .get_many::<String>("forward")
            .map(|v| v.cloned().collect())
            .unwrap_or_default(),
        trust_anchors: m
            .get_many::<PathBuf>("trust-anchor")
            .map(|v| v.cloned().collect())
            .unwrap_or_default(),
        auto_trust_anchors: m
            .get_many::<PathBuf>("auto-trust-anchor")
            .map(|v| v.cloned().collect())
            .unwrap_or_default(),
        no_default_local_zones: m.get_flag("no-default-local-zones"),
        root_hints: m.get_one::<PathBuf>("root-hints").cloned(),
        do_not_query_localhost: m.get_one::<bool>("do-not-query-localhost").copied(),
        ..Overrides::default()
    }
}

/// The in-process validating resolver: danebound's engine, recursive or
/// forwarding as the flags say, on a single-threaded runtime.
pub(crate) struct Dns {
    runtime: tokio::runtime::Runtime,
    resolver: Resolver,
    local: LocalZones,
}

impl Dns {
    /// Builds the resolver from the resolution flags in `m`.
    pub(crate) fn from_matches(m: &ArgMatches) -> Result<Self, String> {
        let overrides = overrides(m);
        let mut config = Config::default();
        config.apply(&overrides).map_err(|e| e.0)?;
        // We serve nothing: a `--forward 127.0.0.1` (say, `danebound
        // serve`) is an upstream like any other.
        config.listen = Vec::new();
        let resolver = build_resolver(&config)?;
        let local = if config.default_local_zones {
            LocalZones::defaults()
        } else {
            LocalZones::none()
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the runtime: {e}"))?;
        Ok(Self {
            runtime,
            resolver,
            local,
        })
    }

    /// Resolves and validates `name`/`rtype` (CD=0: the engine validates;
    /// the caller decides what to show of bogus data).
    pub(crate) fn resolve(&self, name: &Name, rtype: RecordType) -> Resolution {
        self.resolve_traced(name, rtype, false).0
    }

    /// The upstream's data, not validated (CD=1): what `query +cd` shows of
    /// an answer that failed validation.
    pub(crate) fn resolve_unchecked(&self, name: &Name, rtype: RecordType) -> Resolution {
        let query = Query::query(name.clone(), rtype);
        self.runtime
            .block_on(self.resolver.resolve_query(&query, true))
    }

    /// Like [`Dns::resolve`], with the chain of trust when `trace`.
    pub(crate) fn resolve_traced(
        &self,
        name: &Name,
        rtype: RecordType,
        trace: bool,
    ) -> (Resolution, Vec<TraceEvent>) {
        let query = Query::query(name.clone(), rtype);
        if let Some(local) = self.local.answer(&query) {
            return (local, Vec::new());
        }
        if trace {
            self.runtime
                .block_on(self.resolver.resolve_traced(&query, false))
        } else {
            (
                self.runtime
                    .block_on(self.resolver.resolve_query(&query, false)),
                Vec::new(),
            )
        }
    }
}
