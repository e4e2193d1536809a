//! What `serve` runs beside the DNS listener for the operator: the control
//! socket, the Prometheus endpoint, `reload`, and the systemd readiness
//! notification (sd_notify).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use danebound_resolver::cache::Cache;
use danebound_resolver::checkconf;
use danebound_resolver::clock::Clock;
use danebound_resolver::config::{Config, DEFAULT_CONFIG_PATH, Overrides};
use danebound_resolver::control::{self, Controller, ReloadFn, socket};
use danebound_resolver::engine::Resolver;
use danebound_resolver::metrics;
use danebound_resolver::server::Settings;

/// Changes the log filter of the running process.
pub(crate) type SetLogLevel = Box<dyn Fn(&str) -> Result<(), String> + Send + Sync>;

/// The control socket and metrics endpoint, running on the current runtime
/// until dropped (the socket file is removed then).
pub(crate) struct Ops {
    tasks: Vec<tokio::task::JoinHandle<()>>,
    socket: Option<PathBuf>,
}

impl Drop for Ops {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
        if let Some(path) = &self.socket {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// What `start` needs from `serve`.
pub(crate) struct Setup {
    pub(crate) config: Config,
    pub(crate) config_path: Option<PathBuf>,
    pub(crate) overrides: Overrides,
    pub(crate) set_log_level: SetLogLevel,
    pub(crate) status: Vec<String>,
}

/// Starts the control socket and the metrics endpoint of `setup.config`.
/// Must run inside the runtime.
pub(crate) async fn start(
    setup: Setup,
    resolver: Arc<Resolver>,
    cache: Arc<Cache>,
    settings: Settings,
    clock: Arc<dyn Clock>,
) -> Result<Ops, String> {
    let config = setup.config.clone();
    let live = Live {
        resolver: Arc::clone(&resolver),
        cache: Arc::clone(&cache),
        settings,
        set_log_level: setup.set_log_level,
    };
    let controller = Controller::new(resolver, cache, clock)
        .with_nta_file(&config.control.nta_file)
        .with_status(setup.status)
        .with_reload(reload_fn(
            setup.config,
            setup.config_path,
            setup.overrides,
            live,
        ));
    match controller.load_negative_anchors() {
        Ok(0) => {}
        Ok(n) => tracing::info!("{n} negative trust anchors loaded"),
        Err(e) => tracing::warn!("negative trust anchors not loaded: {e}"),
    }
    let controller = Arc::new(controller);
    let mut ops = Ops {
        tasks: vec![tokio::spawn(control::maintain(
            Arc::clone(&controller),
            config.control.nta_recheck,
        ))],
        socket: None,
    };
    if config.control.enable {
        let path = &config.control.socket;
        match socket::bind(path) {
            Ok(listener) => {
                tracing::info!(socket = %path.display(), "control socket");
                ops.socket = Some(path.clone());
                ops.tasks.push(tokio::spawn(socket::serve(
                    listener,
                    Arc::clone(&controller),
                )));
            }
            Err(e) if config.control.socket_is_default && !parent_exists(path) => {
                tracing::warn!(
                    "no control socket: {} does not exist (systemd's RuntimeDirectory makes \
                     it; or set [control] socket): {e}",
                    path.parent().unwrap_or(path).display()
                );
            }
            Err(e) => return Err(format!("control socket {}: {e}", path.display())),
        }
    }
    if let Some(addr) = config.metrics_listen {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| format!("metrics listen {addr}: {e}"))?;
        if !addr.ip().is_loopback() {
            tracing::warn!(%addr, "metrics are served beyond loopback");
        }
        tracing::info!(addr = ?listener.local_addr().ok(), "Prometheus metrics at /metrics");
        let source: metrics::Source = Arc::new(move || controller.snapshot());
        ops.tasks
            .push(tokio::spawn(metrics::serve(listener, source)));
    }
    Ok(ops)
}

fn parent_exists(path: &Path) -> bool {
    path.parent().is_some_and(Path::exists)
}

/// What `reload` changes in the running process.
struct Live {
    resolver: Arc<Resolver>,
    cache: Arc<Cache>,
    settings: Settings,
    set_log_level: SetLogLevel,
}

/// `reload`: re-reads the file and applies what can change while running:
/// the upstreams (forward, forward_zone, stub_zone, DNS over TLS), access
/// control, rate limits, local zones, `domain_insecure`, static trust
/// anchors and the log level. The answer cache is dropped only when what
/// produced its answers changed (upstreams, anchors, `domain_insecure`,
/// local zones); the negative trust anchors added with `insecure_add` stay.
/// Everything else is reported by name as needing a restart. A file with
/// errors is refused with them, and nothing changes.
fn reload_fn(running: Config, path: Option<PathBuf>, overrides: Overrides, live: Live) -> ReloadFn {
    let running = Mutex::new(running);
    Box::new(move || {
        let shown = path
            .as_deref()
            .unwrap_or(Path::new(DEFAULT_CONFIG_PATH))
            .display()
            .to_string();
        let text = match &path {
            Some(p) => std::fs::read_to_string(p).map_err(|e| format!("{shown}: {e}"))?,
            None => match std::fs::read_to_string(DEFAULT_CONFIG_PATH) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
                Err(e) => return Err(format!("{shown}: {e}")),
            },
        };
        let mut new = checkconf::check(&text).map_err(|problems| {
            problems
                .iter()
                .map(|p| match p.line {
                    Some(line) => format!("{shown}:{line}: {}", p.message),
                    None => format!("{shown}: {}", p.message),
                })
                .collect::<Vec<_>>()
                .join("; ")
        })?;
        new.apply(&overrides).map_err(|e| e.0)?;
        // Checked before anything is applied, so a bad filter changes nothing.
        tracing_subscriber::EnvFilter::try_new(&new.log_level)
            .map_err(|e| format!("{shown}: log_level `{}`: {e}", new.log_level))?;
        let mut running = running.lock().unwrap_or_else(|e| e.into_inner());
        // The engine prepares everything before it swaps anything: an error
        // here (an anchor file that does not load) leaves it as it was.
        let engine = live.resolver.reconfigure(&mut running, &new)?;
        let mut applied = engine.applied;
        let mut flush = engine.flush;
        let server = live.settings.apply(&mut running, &new);
        if server.contains(&"default_local_zones") {
            // Names that local zones now answer (or no longer answer) may
            // sit in the cache with the other answer.
            flush.push("default_local_zones");
        }
        applied.extend(server);
        if new.log_level != running.log_level {
            (live.set_log_level)(&new.log_level)?;
            running.log_level.clone_from(&new.log_level);
            applied.push("log_level");
        }
        let mut lines = vec![format!("ok, {shown} re-read")];
        if !applied.is_empty() {
            lines.push(format!("applied: {}", applied.join(", ")));
        }
        if flush.is_empty() {
            lines.push("answer cache kept".into());
        } else {
            live.cache.clear();
            // RFC 8198 spans were proven under the old anchors and
            // domain_insecure too.
            if let Some(spans) = live.resolver.aggressive_nsec() {
                spans.clear();
            }
            lines.push(format!(
                "answer cache flushed: {} changed",
                flush.join(", ")
            ));
        }
        let changed = restart_needed(&running, &new);
        if changed.is_empty() {
            lines.push("nothing else changed".into());
        } else {
            lines.push(format!(
                "not applied, restart danebound for: {}",
                changed.join(", ")
            ));
        }
        tracing::info!("reload: {}", lines[1..].join("; "));
        Ok(lines)
    })
}

/// The settings that differ and that only a restart applies.
fn restart_needed(old: &Config, new: &Config) -> Vec<&'static str> {
    let mut changed = Vec::new();
    let mut check = |name, differs: bool| {
        if differs {
            changed.push(name);
        }
    };
    check("listen", old.listen != new.listen);
    check("user", old.user != new.user);
    check(
        "auto_trust_anchors",
        old.managed_anchor_files() != new.managed_anchor_files(),
    );
    check("autotrust", old.autotrust != new.autotrust);
    check("forward", old.forward != new.forward);
    check("trust_anchors", old.trust_anchors != new.trust_anchors);
    check(
        "default_local_zones",
        old.default_local_zones != new.default_local_zones,
    );
    check("workers", old.workers != new.workers);
    check(
        "max_inflight",
        old.max_inflight != new.max_inflight || old.max_inflight_bytes != new.max_inflight_bytes,
    );
    check("cache", old.cache != new.cache);
    check(
        "aggressive_nsec",
        old.aggressive_nsec != new.aggressive_nsec,
    );
    check("prefetch", old.prefetch != new.prefetch);
    check("serve_stale", old.serve_stale != new.serve_stale);
    check("access", old.acl != new.acl);
    check(
        "tcp",
        old.tcp_idle_timeout != new.tcp_idle_timeout
            || old.max_tcp_connections != new.max_tcp_connections,
    );
    check(
        "upstream",
        old.upstream_timeout != new.upstream_timeout
            || old.upstream_rounds != new.upstream_rounds
            || old.use_caps_for_id != new.use_caps_for_id,
    );
    check("control", old.control != new.control);
    check("metrics", old.metrics_listen != new.metrics_listen);
    // Anything this list does not name yet (settings added later).
    let mut rest = new.clone();
    rest.log_level.clone_from(&old.log_level);
    if changed.is_empty() && &rest != old {
        changed.push("other settings");
    }
    changed
}

/// systemd's notification socket (Type=notify, sd_notify(3)), connected
/// while still root: after root is dropped the socket file may no longer be
/// reachable by path, but a connected datagram socket keeps working.
pub(crate) struct Notifier(Option<std::os::unix::net::UnixDatagram>);

impl Notifier {
    /// Connects to `$NOTIFY_SOCKET` (an abstract socket is written `@name`);
    /// nothing without it.
    pub(crate) fn connect() -> Self {
        let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
            return Self(None);
        };
        let result = (|| -> std::io::Result<std::os::unix::net::UnixDatagram> {
            let socket = std::os::unix::net::UnixDatagram::unbound()?;
            let bytes = path.as_encoded_bytes();
            if let Some(name) = bytes.strip_prefix(b"@") {
                use std::os::linux::net::SocketAddrExt;
                let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
                socket.connect_addr(&addr)?;
            } else {
                socket.connect(&path)?;
            }
            Ok(socket)
        })();
        match result {
            Ok(socket) => Self(Some(socket)),
            Err(e) => {
                tracing::warn!("cannot reach systemd at {}: {e}", path.to_string_lossy());
                Self(None)
            }
        }
    }

    /// Tells systemd that the service is ready: one `READY=1` datagram.
    pub(crate) fn ready(&self) {
        if let Some(socket) = &self.0
            && let Err(e) = socket.send(b"READY=1\nSTATUS=serving")
        {
            tracing::warn!("cannot notify systemd: {e}");
        }
    }

    /// systemd's watchdog (`WatchdogSec=`, sd_watchdog_enabled(3)): when
    /// `$WATCHDOG_USEC` is set for this process, a task on the runtime sends
    /// `WATCHDOG=1` every half period, so a runtime that stops running tasks
    /// is restarted. Must run inside the runtime; the task ends when the
    /// returned handle is dropped.
    pub(crate) fn watchdog(self) -> Option<Watchdog> {
        let socket = self.0?;
        let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
        if let Ok(pid) = std::env::var("WATCHDOG_PID")
            && pid.parse::<u32>().ok() != Some(std::process::id())
        {
            return None;
        }
        let half =
            std::time::Duration::from_micros(usec / 2).max(std::time::Duration::from_millis(10));
        Some(Watchdog(tokio::spawn(async move {
            let mut tick = tokio::time::interval(half);
            loop {
                tick.tick().await;
                if let Err(e) = socket.send(b"WATCHDOG=1") {
                    tracing::warn!("cannot ping systemd's watchdog: {e}");
                }
            }
        })))
    }
}

/// The watchdog task; stops when dropped.
pub(crate) struct Watchdog(tokio::task::JoinHandle<()>);

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.0.abort();
    }
}
