//! `danebound serve`: the local validating resolver.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Arg, ArgMatches, Command, value_parser};
use danebound_resolver::clock::SystemClock;
use danebound_resolver::config::{Config, DEFAULT_CONFIG_PATH, Overrides};
use danebound_resolver::server::Server;
use tracing_subscriber::EnvFilter;

use crate::commands::resolution;
use crate::repeatable;

pub(crate) fn command() -> Command {
    let command = Command::new("serve")
        .about("Run the validating resolver")
        .long_about(
            "Run the validating resolver on 127.0.0.1:53 and [::1]:53: recursive from the root \
             (like unbound), or forwarding to --forward, validating every answer itself.\n\n\
             Examples:\n  danebound serve\n  danebound serve --listen 127.0.0.1:5353 \
             --forward 192.0.2.1 --log-level debug\n  danebound serve --config ./lab.toml \
             --no-default-local-zones --trust-anchor ./root.ds",
        )
        .arg(
            Arg::new("config")
                .long("config")
                .value_name("PATH")
                .value_parser(value_parser!(PathBuf))
                .help(format!(
                    "TOML configuration file [default: {DEFAULT_CONFIG_PATH}, if it exists]"
                )),
        )
        .arg(repeatable(
            "listen",
            "ADDR:PORT",
            "Address to serve on, UDP and TCP; repeatable [default: 127.0.0.1:53, [::1]:53]",
        ))
        .arg(
            Arg::new("log-level")
                .long("log-level")
                .value_name("FILTER")
                .help("error, warn, info, debug, trace, or a tracing filter [default: info]"),
        );
    resolution::args(command)
}

pub(crate) fn run(m: &ArgMatches) -> Result<(), String> {
    let strings = |id: &str| -> Vec<String> {
        m.get_many::<String>(id)
            .map(|v| v.cloned().collect())
            .unwrap_or_default()
    };
    let overrides = Overrides {
        listen: strings("listen"),
        log_level: m.get_one::<String>("log-level").cloned(),
        ..resolution::overrides(m)
    };
    let mut config =
        Config::load(m.get_one::<PathBuf>("config").map(PathBuf::as_path)).map_err(|e| e.0)?;
    config.apply(&overrides).map_err(|e| e.0)?;
    init_logging(&config.log_level)?;
    serve(config)
}

fn init_logging(level: &str) -> Result<(), String> {
    let filter = EnvFilter::try_new(level).map_err(|e| format!("log level `{level}`: {e}"))?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    Ok(())
}

fn serve(config: Config) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(config.workers)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let result = runtime.block_on(async {
        let resolver = danebound_resolver::engine::build(&config)?;
        let server = Server::bind(&config, resolver, Arc::new(SystemClock)).map_err(|e| e.to_string())?;
        tracing::info!(addrs = ?server.local_addrs(), trust_anchors = ?config.trust_anchors, "danebound serving");
        let shutdown = shutdown_signal().map_err(|e| format!("cannot watch signals: {e}"))?;
        server.run(shutdown).await.map_err(|e| e.to_string())
    });
    runtime.shutdown_timeout(Duration::from_secs(1));
    result
}

/// Completes on SIGTERM or SIGINT.
fn shutdown_signal() -> std::io::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM"),
            _ = int.recv() => tracing::info!("SIGINT"),
        }
    })
}
