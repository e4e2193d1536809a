//! danebound itself, run in-process against a lab: `danebound serve` in
//! forwarding or recursive mode (the same `engine::build` and `Server` the
//! binary uses),
//! on a tokio runtime of its own thread, stopped on drop.
//!
//! ```no_run
//! use danebound_tests::lab::{Danebound, Lab};
//! let Some(lab) = Lab::start_or_skip("my_test") else { return };
//! let config = Danebound::lab_config(&lab, lab.address(20), lab.upstream().unwrap());
//! let danebound = Danebound::start(config).unwrap();
//! let reply = lab.query(danebound.addr(), "www.example.test.", hickory_proto::rr::RecordType::A);
//! ```

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use danebound_resolver::clock::{Clock, SystemClock};
use danebound_resolver::config::Config;
use danebound_resolver::engine;
use danebound_resolver::server::Server;
use tokio::sync::oneshot;

use super::Lab;

/// A running danebound server. Dropping it shuts the server down and joins
/// its thread.
pub struct Danebound {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl fmt::Debug for Danebound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Danebound")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Danebound {
    /// What `danebound serve --listen LISTEN:53 --forward UPSTREAM
    /// --trust-anchor <the lab's> --no-default-local-zones` configures (the
    /// lab's names live under the special-use `test.`), with one worker.
    pub fn lab_config(lab: &Lab, listen: Ipv4Addr, upstream: SocketAddr) -> Config {
        Config {
            listen: vec![SocketAddr::new(IpAddr::V4(listen), 53)],
            listen_is_default: false,
            forward: vec![upstream],
            trust_anchors: vec![lab.trust_anchor_file()],
            default_local_zones: false,
            workers: 1,
            ..Config::default()
        }
    }

    /// The same server in recursive mode: no `--forward`, the lab's root
    /// hints (`--root-hints`), and loopback authorities allowed (the lab's
    /// servers live on 127.53.0.0/16).
    pub fn lab_recursive_config(lab: &Lab, listen: Ipv4Addr) -> Config {
        Config {
            listen: vec![SocketAddr::new(IpAddr::V4(listen), 53)],
            listen_is_default: false,
            root_hints: Some(lab.root_hints_file()),
            do_not_query_localhost: false,
            trust_anchors: vec![lab.trust_anchor_file()],
            default_local_zones: false,
            workers: 1,
            ..Config::default()
        }
    }

    /// Builds the engine for `config` and serves on its listen addresses
    /// until dropped. Fails when the engine cannot be built (bad anchors) or
    /// an address cannot be bound.
    pub fn start(config: Config) -> Result<Self, String> {
        Self::start_with_clock(config, Arc::new(SystemClock))
    }

    /// [`Danebound::start`] with `clock` as the answer cache's clock (the
    /// engine keeps the system clock): a test moves it to expire entries.
    pub fn start_with_clock(config: Config, clock: Arc<dyn Clock>) -> Result<Self, String> {
        let (ready_tx, ready_rx) = mpsc::channel::<Result<SocketAddr, String>>();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let thread = thread::Builder::new()
            .name("danebound-serve".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(config.workers.max(1))
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        let _ = ready_tx.send(Err(format!("runtime: {e}")));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let server = engine::build(&config).and_then(|resolver| {
                        Server::bind(&config, resolver, clock).map_err(|e| e.to_string())
                    });
                    let server = match server {
                        Ok(server) => server,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    let addr = server.local_addrs().first().copied();
                    let _ = ready_tx.send(addr.ok_or_else(|| "no listen address".to_string()));
                    let _ = server
                        .run(async {
                            let _ = stop_rx.await;
                        })
                        .await;
                });
                runtime.shutdown_timeout(Duration::from_secs(1));
            })
            .map_err(|e| format!("spawning the server thread: {e}"))?;
        let addr = ready_rx
            .recv_timeout(Duration::from_secs(10))
            .map_err(|e| format!("danebound did not start: {e}"))??;
        Ok(Self {
            addr,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// Where it answers (UDP and TCP).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Danebound {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
