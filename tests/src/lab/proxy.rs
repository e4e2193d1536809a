//! Misbehaving servers: a UDP proxy that edits every answer it relays.
//! [`StrippingProxy`] sits in front of the lab's upstream and removes every
//! RRSIG (issue 3: "an upstream that strips RRSIGs from a signed zone is
//! recognised"); [`ForgingProxy`] sits in front of an authoritative server
//! and adds records of its choosing to the additional section (issue 10:
//! out-of-bailiwick data must never be cached or served).
//!
//! One thread, one query at a time, UDP only; stopped (and joined) on drop.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use hickory_proto::op::Message;
use hickory_proto::rr::{Record, RecordType};

/// How often the proxy thread looks at its stop flag.
const POLL: Duration = Duration::from_millis(100);
/// How long it waits for the upstream.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(3);

/// What a proxy does to each answer it relays.
type Edit = Box<dyn Fn(&mut Message) + Send>;

/// A running proxy.
#[derive(Debug)]
struct Proxy {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Proxy {
    /// Listens on `listen` and relays to `upstream`, editing each answer.
    fn start(listen: SocketAddr, upstream: SocketAddr, name: &str, edit: Edit) -> io::Result<Self> {
        let socket = UdpSocket::bind(listen)?;
        socket.set_read_timeout(Some(POLL))?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = thread::Builder::new()
            .name(name.into())
            .spawn(move || serve(&socket, upstream, &flag, &edit))?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A running RRSIG-stripping proxy.
#[derive(Debug)]
pub(crate) struct StrippingProxy {
    _proxy: Proxy,
}

impl StrippingProxy {
    /// Listens on `listen` and relays to `upstream`.
    pub(crate) fn start(listen: SocketAddr, upstream: SocketAddr) -> io::Result<Self> {
        let strip = |message: &mut Message| {
            for section in [
                &mut message.answers,
                &mut message.authorities,
                &mut message.additionals,
            ] {
                section.retain(|r| r.record_type() != RecordType::RRSIG);
            }
        };
        let _proxy = Proxy::start(listen, upstream, "lab-stripping-proxy", Box::new(strip))?;
        Ok(Self { _proxy })
    }
}

/// A running proxy that adds forged records to the additional section of
/// every answer (before any OPT record).
#[derive(Debug)]
pub struct ForgingProxy {
    _proxy: Proxy,
    asked: Arc<Mutex<Vec<(String, RecordType)>>>,
}

impl ForgingProxy {
    /// Listens on `listen` and relays to `server`, adding `forged`.
    pub fn start(listen: SocketAddr, server: SocketAddr, forged: Vec<Record>) -> io::Result<Self> {
        let asked = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&asked);
        let forge = move |message: &mut Message| {
            if let Some(q) = message.queries.first() {
                let mut seen = seen.lock().unwrap_or_else(|e| e.into_inner());
                seen.push((q.name().to_ascii().to_lowercase(), q.query_type()));
            }
            message.additionals.extend(forged.iter().cloned());
        };
        let _proxy = Proxy::start(listen, server, "lab-forging-proxy", Box::new(forge))?;
        Ok(Self { _proxy, asked })
    }

    /// The questions relayed so far (name in lower case, type).
    pub fn asked(&self) -> Vec<(String, RecordType)> {
        self.asked.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

fn serve(socket: &UdpSocket, upstream: SocketAddr, stop: &AtomicBool, edit: &Edit) {
    let mut buffer = vec![0u8; 65535];
    while !stop.load(Ordering::Relaxed) {
        let Ok((len, client)) = socket.recv_from(&mut buffer) else {
            continue; // timeout: look at the flag again
        };
        if let Some(answer) = relay(&buffer[..len], upstream, edit) {
            let _ = socket.send_to(&answer, client);
        }
    }
}

/// Sends `query` upstream and returns the answer edited (or as it came, if
/// it does not parse).
fn relay(query: &[u8], upstream: SocketAddr, edit: &Edit) -> Option<Vec<u8>> {
    let socket = UdpSocket::bind(("0.0.0.0", 0)).ok()?;
    socket.set_read_timeout(Some(UPSTREAM_TIMEOUT)).ok()?;
    socket.send_to(query, upstream).ok()?;
    let mut buffer = vec![0u8; 65535];
    let (len, _) = socket.recv_from(&mut buffer).ok()?;
    let answer = &buffer[..len];
    let Ok(mut message) = Message::from_vec(answer) else {
        return Some(answer.to_vec());
    };
    edit(&mut message);
    message.to_vec().ok()
}
