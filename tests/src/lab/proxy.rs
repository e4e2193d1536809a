//! Misbehaving servers: a UDP proxy that edits every answer it relays.
//! [`StrippingProxy`] sits in front of the lab's upstream and removes every
//! RRSIG (issue 3: "an upstream that strips RRSIGs from a signed zone is
//! recognised"); [`ForgingProxy`] sits in front of an authoritative server
//! and adds records of its choosing to the additional section (issue 10:
//! out-of-bailiwick data must never be cached or served).
//! Both: one thread, one query at a time, UDP only; stopped (and joined)
//! on drop.
//!
//! [`LossyProxy`]: a lossy, slow path (issue 11's soak): drops a share of
//! the queries and delays the rest, a thread per query. It stands in for
//! `tc qdisc … netem`, which the test machine's kernel lacks (no
//! sch_netem). TCP (after TC=1) is relayed too, delayed but not lost (TCP
//! would retransmit).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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

/// The questions a proxy relayed (name in lower case, type).
type Asked = Arc<Mutex<Vec<(String, RecordType)>>>;

/// Notes the question of a relayed answer.
fn note_question(seen: &Asked, message: &Message) {
    if let Some(q) = message.queries.first() {
        let mut seen = seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.push((q.name().to_ascii().to_lowercase(), q.query_type()));
    }
}

/// A running RRSIG-stripping proxy.
#[derive(Debug)]
pub struct StrippingProxy {
    _proxy: Proxy,
    asked: Asked,
}

impl StrippingProxy {
    /// Listens on `listen` and relays to `upstream`.
    pub fn start(listen: SocketAddr, upstream: SocketAddr) -> io::Result<Self> {
        let asked = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&asked);
        let strip = move |message: &mut Message| {
            note_question(&seen, message);
            for section in [
                &mut message.answers,
                &mut message.authorities,
                &mut message.additionals,
            ] {
                section.retain(|r| r.record_type() != RecordType::RRSIG);
            }
        };
        let _proxy = Proxy::start(listen, upstream, "lab-stripping-proxy", Box::new(strip))?;
        Ok(Self { _proxy, asked })
    }

    /// The questions relayed so far (name in lower case, type).
    pub fn asked(&self) -> Vec<(String, RecordType)> {
        self.asked.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// A running proxy that adds forged records to the additional section of
/// every answer (before any OPT record).
#[derive(Debug)]
pub struct ForgingProxy {
    _proxy: Proxy,
    asked: Asked,
}

impl ForgingProxy {
    /// Listens on `listen` and relays to `server`, adding `forged`.
    pub fn start(listen: SocketAddr, server: SocketAddr, forged: Vec<Record>) -> io::Result<Self> {
        let asked = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&asked);
        let forge = move |message: &mut Message| {
            note_question(&seen, message);
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

/// Sends `query` upstream and returns the answer.
fn forward(query: &[u8], upstream: SocketAddr) -> Option<Vec<u8>> {
    let socket = UdpSocket::bind(("0.0.0.0", 0)).ok()?;
    socket.set_read_timeout(Some(UPSTREAM_TIMEOUT)).ok()?;
    socket.send_to(query, upstream).ok()?;
    let mut buffer = vec![0u8; 65535];
    let (len, _) = socket.recv_from(&mut buffer).ok()?;
    buffer.truncate(len);
    Some(buffer)
}

/// Sends `query` upstream and returns the answer edited (or as it came, if
/// it does not parse).
fn relay(query: &[u8], upstream: SocketAddr, edit: &Edit) -> Option<Vec<u8>> {
    let answer = forward(query, upstream)?;
    let Ok(mut message) = Message::from_vec(&answer) else {
        return Some(answer);
    };
    edit(&mut message);
    message.to_vec().ok()
}

/// A running lossy, slow UDP path to an upstream.
#[derive(Debug)]
pub struct LossyProxy {
    stop: Arc<AtomicBool>,
    dropped: Arc<AtomicU64>,
    relayed: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
    tcp_thread: Option<JoinHandle<()>>,
}

/// Relays one TCP connection's queries to `upstream`, each after `delay`.
fn relay_tcp(mut client: TcpStream, upstream: SocketAddr, delay: Duration) -> io::Result<()> {
    client.set_read_timeout(Some(UPSTREAM_TIMEOUT))?;
    let mut server = TcpStream::connect_timeout(&upstream, UPSTREAM_TIMEOUT)?;
    server.set_read_timeout(Some(UPSTREAM_TIMEOUT))?;
    loop {
        let mut len = [0u8; 2];
        if client.read_exact(&mut len).is_err() {
            return Ok(());
        }
        let mut query = vec![0u8; usize::from(u16::from_be_bytes(len))];
        client.read_exact(&mut query)?;
        thread::sleep(delay);
        server.write_all(&[&len[..], &query].concat())?;
        server.read_exact(&mut len)?;
        let mut answer = vec![0u8; usize::from(u16::from_be_bytes(len))];
        server.read_exact(&mut answer)?;
        client.write_all(&[&len[..], &answer].concat())?;
    }
}

impl LossyProxy {
    /// Listens on `listen`; drops `loss_percent` % of the queries (at
    /// random) and relays the rest to `upstream` after `delay`.
    pub fn start(
        listen: SocketAddr,
        upstream: SocketAddr,
        loss_percent: u32,
        delay: Duration,
    ) -> io::Result<Self> {
        let socket = UdpSocket::bind(listen)?;
        socket.set_read_timeout(Some(POLL))?;
        let listener = TcpListener::bind(listen)?;
        listener.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let tcp_stop = stop.clone();
        let tcp_thread = thread::Builder::new()
            .name("lab-lossy-tcp".into())
            .spawn(move || {
                while !tcp_stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((client, _)) => {
                            let _ = client.set_nonblocking(false);
                            let _ = thread::Builder::new()
                                .name("lab-lossy-tcp-relay".into())
                                .spawn(move || relay_tcp(client, upstream, delay));
                        }
                        Err(_) => thread::sleep(Duration::from_millis(10)),
                    }
                }
            })?;
        let dropped = Arc::new(AtomicU64::new(0));
        let relayed = Arc::new(AtomicU64::new(0));
        let (flag, lost, sent) = (stop.clone(), dropped.clone(), relayed.clone());
        let thread = thread::Builder::new()
            .name("lab-lossy-proxy".into())
            .spawn(move || {
                // xorshift, seeded from the clock.
                let mut state = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
                    | 1;
                let mut buffer = vec![0u8; 65535];
                while !flag.load(Ordering::Relaxed) {
                    let Ok((len, client)) = socket.recv_from(&mut buffer) else {
                        continue;
                    };
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    if state % 100 < u64::from(loss_percent) {
                        lost.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    sent.fetch_add(1, Ordering::Relaxed);
                    let query = buffer[..len].to_vec();
                    let Ok(reply_socket) = socket.try_clone() else {
                        continue;
                    };
                    let _ =
                        thread::Builder::new()
                            .name("lab-lossy-relay".into())
                            .spawn(move || {
                                thread::sleep(delay);
                                if let Some(answer) = forward(&query, upstream) {
                                    let _ = reply_socket.send_to(&answer, client);
                                }
                            });
                }
            })?;
        Ok(Self {
            stop,
            dropped,
            relayed,
            thread: Some(thread),
            tcp_thread: Some(tcp_thread),
        })
    }

    /// Queries dropped and relayed so far.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.dropped.load(Ordering::Relaxed),
            self.relayed.load(Ordering::Relaxed),
        )
    }
}

impl Drop for LossyProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in [self.thread.take(), self.tcp_thread.take()]
            .into_iter()
            .flatten()
        {
            let _ = thread.join();
        }
    }
}
