//! `danebound serve`: the local validating resolver.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::{Arg, ArgAction, ArgMatches, Command, value_parser};
use danebound_resolver::checkconf;
use danebound_resolver::clock::SystemClock;
use danebound_resolver::config::{
    Config, DEFAULT_CONFIG_PATH, DEFAULT_ROOT_ANCHOR_FILE, Overrides,
};
use danebound_resolver::server::Server;
use tracing_subscriber::EnvFilter;

use crate::commands::{ops, privileges, resolution};
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
        .arg(config_arg(format!(
            "TOML configuration file [default: {DEFAULT_CONFIG_PATH}, if it exists]"
        )))
        .arg(repeatable(
            "listen",
            "ADDR:PORT",
            "Address to serve on, UDP and TCP; repeatable [default: 127.0.0.1:53, [::1]:53]",
        ))
        .arg(
            Arg::new("check-config")
                .long("check-config")
                .action(ArgAction::SetTrue)
                .help(
                    "Check the configuration file (--config or the default) and print \
                     every problem with its line number, like unbound-checkconf; exit 0 \
                     when it is valid, 1 otherwise",
                ),
        )
        .arg(
            Arg::new("root-anchor-file")
                .long("root-anchor-file")
                .value_name("PATH")
                .value_parser(value_parser!(PathBuf))
                .help(format!(
                    "RFC 5011 state of the root anchor, used when no anchor option is given \
                     [default: {DEFAULT_ROOT_ANCHOR_FILE}]"
                )),
        )
        .arg(
            Arg::new("log-level")
                .long("log-level")
                .value_name("FILTER")
                .help("error, warn, info, debug, trace, or a tracing filter [default: info]"),
        );
    resolution::args(command)
}

/// `--config PATH`, shared with `control`.
pub(crate) fn config_arg(help: String) -> Arg {
    Arg::new("config")
        .long("config")
        .value_name("PATH")
        .value_parser(value_parser!(PathBuf))
        .help(help)
}

pub(crate) fn run(m: &ArgMatches) -> Result<(), String> {
    if m.get_flag("check-config") {
        return check_config(m.get_one::<PathBuf>("config").map(PathBuf::as_path));
    }
    let strings = |id: &str| -> Vec<String> {
        m.get_many::<String>(id)
            .map(|v| v.cloned().collect())
            .unwrap_or_default()
    };
    let overrides = Overrides {
        listen: strings("listen"),
        log_level: m.get_one::<String>("log-level").cloned(),
        root_anchor_file: m.get_one::<PathBuf>("root-anchor-file").cloned(),
        ..resolution::overrides(m)
    };
    let config_path = m.get_one::<PathBuf>("config").cloned();
    let mut config = Config::load(config_path.as_deref()).map_err(|e| e.0)?;
    config.apply(&overrides).map_err(|e| e.0)?;
    let set_log_level = init_logging(&config.log_level)?;
    serve(ops::Setup {
        config,
        config_path,
        overrides,
        set_log_level,
        status: Vec::new(),
    })
}

/// `--check-config`: every problem of the file, `PATH:LINE: error: …` per
/// line on stdout, then a summary; the file must exist, even the default.
fn check_config(path: Option<&Path>) -> Result<(), String> {
    let path = path.unwrap_or(Path::new(DEFAULT_CONFIG_PATH));
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read config file {}: {e}", path.display()))?;
    let shown = path.display();
    let mut lines = Vec::new();
    match checkconf::check(&text) {
        Err(problems) => {
            for p in problems {
                lines.push(match p.line {
                    Some(line) => format!("{shown}:{line}: error: {}", p.message),
                    None => format!("{shown}: error: {}", p.message),
                });
            }
        }
        Ok(config) => {
            // What `serve` would reject at start-up beyond the file's syntax.
            if let Err(e) = EnvFilter::try_new(&config.log_level) {
                lines.push(format!(
                    "{shown}: error: log_level `{}`: {e}",
                    config.log_level
                ));
            }
            if let Err(e) = danebound_resolver::engine::load_anchors(&config.trust_anchors) {
                lines.push(format!("{shown}: error: {e}"));
            }
        }
    }
    if lines.is_empty() {
        crate::out(&format!("danebound: no errors in {shown}\n"));
        return Ok(());
    }
    let count = lines.len();
    lines.push(format!(
        "danebound: {count} error{} in {shown}",
        if count == 1 { "" } else { "s" }
    ));
    crate::out(&(lines.join("\n") + "\n"));
    Err(format!("{shown} is not valid"))
}

/// Sets up logging; returns how to change the level later (`reload`).
fn init_logging(level: &str) -> Result<ops::SetLogLevel, String> {
    let filter = EnvFilter::try_new(level).map_err(|e| format!("log level `{level}`: {e}"))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_filter_reloading();
    let handle = builder.reload_handle();
    builder.init();
    Ok(Box::new(move |level: &str| {
        let filter = EnvFilter::try_new(level).map_err(|e| format!("log level `{level}`: {e}"))?;
        handle
            .reload(filter)
            .map_err(|e| format!("log level `{level}`: {e}"))
    }))
}

fn serve(mut setup: ops::Setup) -> Result<(), String> {
    let config = setup.config.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(config.workers)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let result = runtime.block_on(async {
        let resolver = Arc::new(danebound_resolver::engine::build_resolver(&config)?);
        if resolver.manages_trust_points() {
            // First start: the state files must be writable, or RFC 5011
            // could not follow a key roll across restarts.
            resolver
                .persist_trust_points()
                .map_err(|e| format!("trust anchor state: {e}"))?;
        }
        let clock = Arc::new(SystemClock);
        let server = Server::bind(&config, Arc::clone(&resolver) as _, clock.clone())
            .map_err(|e| e.to_string())?;
        setup
            .status
            .push(format!("listening: {:?}", server.local_addrs()));
        // RFC 5011 changed the trusted keys: answers validated through a key
        // that is no longer trusted leave the cache with it.
        let cache = server.cache();
        resolver.on_anchor_change(Box::new(move || {
            cache.clear();
            tracing::info!("trust anchors changed: answer cache flushed");
        }));
        // The control socket is made as root (owned by root and the
        // danebound group, mode 0660) before root is dropped.
        let _ops = ops::start(
            setup,
            Arc::clone(&resolver),
            server.cache(),
            server.settings(),
            clock,
        )
        .await?;
        // The sockets are bound and the anchors read: root is no longer
        // needed. The RFC 5011 state files and the negative trust anchor file
        // stay writable for the user; so does the default state directory
        // (atomic writes create a temporary file beside the state file).
        // Other directories are not chowned: the administrator (or systemd's
        // StateDirectory=) grants them.
        let managed = config.managed_anchor_files();
        let default_dir = Path::new(DEFAULT_ROOT_ANCHOR_FILE).parent();
        let mut writable: Vec<&Path> = Vec::new();
        for file in managed
            .iter()
            .chain(std::iter::once(&config.control.nta_file))
        {
            if let Some(dir) = file.parent().filter(|d| Some(*d) == default_dir)
                && dir.exists()
                && !writable.contains(&dir)
            {
                writable.push(dir);
            }
            if file.exists() {
                writable.push(file.as_path());
            }
        }
        let notifier = ops::Notifier::connect();
        privileges::drop_root(config.user.as_deref(), &writable)?;
        if resolver.manages_trust_points() {
            tokio::spawn(Arc::clone(&resolver).maintain_trust_points());
        }
        tracing::info!(
            addrs = ?server.local_addrs(),
            trust_anchors = ?config.trust_anchors,
            auto_trust_anchors = ?managed,
            "danebound serving"
        );
        let shutdown = shutdown_signal().map_err(|e| format!("cannot watch signals: {e}"))?;
        // Sockets bound, anchors loaded: systemd may call us up.
        notifier.ready();
        let _watchdog = notifier.watchdog();
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
