//! A misbehaving upstream: a UDP proxy in front of the lab's upstream that
//! removes every RRSIG from the answers it relays (issue 3: "an upstream
//! that strips RRSIGs from a signed zone is recognised").
//!
//! One thread, one query at a time, UDP only; stopped (and joined) on drop.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use hickory_proto::op::Message;
use hickory_proto::rr::RecordType;

/// How often the proxy thread looks at its stop flag.
const POLL: Duration = Duration::from_millis(100);
/// How long it waits for the upstream.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(3);

/// A running RRSIG-stripping proxy.
#[derive(Debug)]
pub(crate) struct StrippingProxy {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl StrippingProxy {
    /// Listens on `listen` and relays to `upstream`.
    pub(crate) fn start(listen: SocketAddr, upstream: SocketAddr) -> io::Result<Self> {
        let socket = UdpSocket::bind(listen)?;
        socket.set_read_timeout(Some(POLL))?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = thread::Builder::new()
            .name("lab-stripping-proxy".into())
            .spawn(move || serve(&socket, upstream, &flag))?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for StrippingProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(socket: &UdpSocket, upstream: SocketAddr, stop: &AtomicBool) {
    let mut buffer = vec![0u8; 65535];
    while !stop.load(Ordering::Relaxed) {
        let Ok((len, client)) = socket.recv_from(&mut buffer) else {
            continue; // timeout: look at the flag again
        };
        if let Some(answer) = relay(&buffer[..len], upstream) {
            let _ = socket.send_to(&answer, client);
        }
    }
}

/// Sends `query` upstream and returns the answer without RRSIGs (or as it
/// came, if it does not parse).
fn relay(query: &[u8], upstream: SocketAddr) -> Option<Vec<u8>> {
    let socket = UdpSocket::bind(("0.0.0.0", 0)).ok()?;
    socket.set_read_timeout(Some(UPSTREAM_TIMEOUT)).ok()?;
    socket.send_to(query, upstream).ok()?;
    let mut buffer = vec![0u8; 65535];
    let (len, _) = socket.recv_from(&mut buffer).ok()?;
    let answer = &buffer[..len];
    let Ok(mut message) = Message::from_vec(answer) else {
        return Some(answer.to_vec());
    };
    for section in [
        &mut message.answers,
        &mut message.authorities,
        &mut message.additionals,
    ] {
        section.retain(|r| r.record_type() != RecordType::RRSIG);
    }
    message.to_vec().ok()
}
