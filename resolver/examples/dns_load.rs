//! A light closed-loop DNS load generator for the benchmarks, beside
//! dnsperf (performance.md §4).
//!
//! dnsperf sends and receives one datagram per system call and, on this
//! two-core machine, spends about 6 µs of CPU per query: pinned to one
//! core it saturates at 150–176k q/s, which is less than a fast resolver
//! on the other core can answer, so its q/s measures dnsperf. This client
//! does what danebound's own workers do: each thread keeps SOCKETS
//! connected UDP sockets (so that a server's SO_REUSEPORT spreads them over
//! its workers as it spreads clients), sends up to 32 queries per
//! `sendmmsg` and reads up to 32 answers per `recvmmsg`, and keeps
//! OUTSTANDING queries in flight (closed loop, like `dnsperf -q`). Queries
//! come from a dnsperf data file (`NAME TYPE` per line, in order, looping),
//! with RD set and, with `-D`, EDNS(0) with DO=1.
//!
//! An answer counts when its ID is one in flight on the socket it came in
//! on and QR is set; a query unanswered after TIMEOUT seconds is lost and
//! its slot freed. Answers that arrive after the run's end are not counted.
//! The summary uses dnsperf's field names ("Queries per second:", "Queries
//! completed:", "Run time (s):"), so the bench scripts read both alike.
//!
//! ```text
//! cargo run --release -p danebound-resolver --example dns_load -- \
//!     -s ADDR[:PORT] -d FILE [-D] [-c SOCKETS] [-q OUTSTANDING] [-l SECONDS] [-T THREADS] [-t TIMEOUT] [-n RUNS]
//! ```
//! Defaults: port 53, 4 sockets, 256 outstanding, 10 s, 1 thread, 5 s;
//! sockets and outstanding queries are shared out among the threads.
//!
//! With `-n RUNS` (like dnsperf's) the file is sent RUNS times through and
//! the run ends when every query is answered or lost (or at `-l`); "Run
//! time" is then the time to the last answer. With `-c 1 -q 1` that is one
//! query at a time on one thread, the next sent as soon as the answer is
//! read: no second thread to wake, unlike dnsperf, whose sender at times
//! waits about 100 ms after an answer arrived (seen against a warm cache,
//! where the queries themselves take 3–5 ms in all). Used by
//! `scripts/bench-vs-unbound.sh`. Not part of the server; loopback only in
//! the scripts.

use std::io::{self, IoSlice, IoSliceMut};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::{AsFd, AsRawFd};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::socket::{MsgFlags, MultiHeaders, SockaddrStorage, recvmmsg, sendmmsg};

/// Datagrams per system call, as danebound's workers.
const BATCH: usize = 32;
/// Room for any answer (EDNS buffer size 4096 in the queries).
const DATAGRAM: usize = 4096;
/// Latency histogram: buckets of 10 µs up to 1 s, then one overflow bucket.
const BUCKET_NS: u64 = 10_000;
const BUCKETS: usize = 100_000;

struct Options {
    server: SocketAddr,
    queries: Vec<Vec<u8>>,
    sockets: usize,
    outstanding: usize,
    seconds: f64,
    threads: usize,
    timeout: Duration,
    /// `-n`: passes through the file, then stop.
    runs: Option<usize>,
}

const USAGE: &str = "usage: dns_load -s ADDR[:PORT] -d FILE [-D] [-c SOCKETS] [-q OUTSTANDING] [-l SECONDS] [-T THREADS] [-t TIMEOUT] [-n RUNS]";

fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(e) => {
            eprintln!("dns_load: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(options.seconds);
    let mut handles = Vec::new();
    for t in 0..options.threads {
        // Share sockets and outstanding queries out, the first threads
        // taking what does not divide evenly.
        let share =
            |total: usize| total / options.threads + usize::from(t < total % options.threads);
        let sockets = share(options.sockets).max(1);
        let window = share(options.outstanding).max(sockets);
        let mut conns = Vec::with_capacity(sockets);
        for _ in 0..sockets {
            match Conn::open(options.server) {
                Ok(conn) => conns.push(conn),
                Err(e) => {
                    eprintln!("dns_load: socket for {}: {e}", options.server);
                    return ExitCode::FAILURE;
                }
            }
        }
        let queries = options.queries.clone();
        let timeout = options.timeout;
        // Threads start at different places in the file.
        let first = t * queries.len() / options.threads;
        let quota = options.runs.map(|runs| share(runs * queries.len()) as u64);
        handles.push(std::thread::spawn(move || {
            Load::new(conns, window, queries, first, timeout, quota).run(deadline)
        }));
    }
    let mut total = Stats::new();
    for handle in handles {
        match handle.join() {
            Ok(stats) => total.add(&stats),
            Err(_) => {
                eprintln!("dns_load: a load thread panicked");
                return ExitCode::FAILURE;
            }
        }
    }
    let run = match options.runs {
        // To the last answer (or loss): the threads end there.
        Some(_) => start.elapsed(),
        None => start
            .elapsed()
            .min(Duration::from_secs_f64(options.seconds)),
    };
    total.print(&options, run);
    ExitCode::SUCCESS
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut server = None;
    let mut file = None;
    let mut dnssec = false;
    let mut sockets = 4usize;
    let mut outstanding = 256usize;
    let mut seconds = 10f64;
    let mut threads = 1usize;
    let mut timeout = 5f64;
    let mut runs = None;
    while let Some(flag) = args.next() {
        if flag == "-D" {
            dnssec = true;
            continue;
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = |what: &str| format!("{flag} {value}: not {what}");
        let count = || -> Result<usize, String> {
            value
                .parse()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| bad("a count"))
        };
        let secs = || -> Result<f64, String> {
            value
                .parse()
                .ok()
                .filter(|&s: &f64| s > 0.0)
                .ok_or_else(|| bad("seconds"))
        };
        match flag.as_str() {
            "-s" => {
                server = Some(
                    value
                        .parse::<SocketAddr>()
                        .or_else(|_| {
                            value
                                .parse::<std::net::IpAddr>()
                                .map(|ip| SocketAddr::new(ip, 53))
                        })
                        .map_err(|_| bad("an address"))?,
                );
            }
            "-d" => file = Some(value),
            "-c" => sockets = count()?,
            "-q" => outstanding = count()?,
            "-T" => threads = count()?,
            "-l" => seconds = secs()?,
            "-t" => timeout = secs()?,
            "-n" => runs = Some(count()?),
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    let server = server.ok_or("-s is required")?;
    let file = file.ok_or("-d is required")?;
    let text = std::fs::read_to_string(&file).map_err(|e| format!("{file}: {e}"))?;
    let mut queries = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with(';') || line.starts_with('#') {
            continue;
        }
        let query = encode_query(line, dnssec).map_err(|e| format!("{file}:{}: {e}", n + 1))?;
        queries.push(query);
    }
    if queries.is_empty() {
        return Err(format!("{file}: no queries"));
    }
    if threads > sockets {
        return Err(format!(
            "{threads} threads need at least as many sockets (-c)"
        ));
    }
    // Per socket, IDs must stay unique among the queries in flight.
    if outstanding / sockets > 60_000 {
        return Err("more than 60,000 outstanding queries per socket".into());
    }
    Ok(Options {
        server,
        queries,
        sockets,
        outstanding,
        seconds,
        threads,
        timeout: Duration::from_secs_f64(timeout),
        runs,
    })
}

/// A query for `line` ("NAME TYPE") in wire form, with ID 0.
fn encode_query(line: &str, dnssec: bool) -> Result<Vec<u8>, String> {
    let mut words = line.split_whitespace();
    let name = words.next().ok_or("no name")?;
    let qtype = match words.next() {
        None => 1,
        Some(t) => rrtype(t).ok_or_else(|| format!("unknown type {t}"))?,
    };
    let mut q = vec![0, 0, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, u8::from(dnssec)];
    let name = name.strip_suffix('.').unwrap_or(name);
    let mut length = 1;
    if !name.is_empty() {
        for label in name.split('.') {
            if label.is_empty() || label.len() > 63 {
                return Err(format!("bad label in {name}"));
            }
            q.push(label.len() as u8);
            q.extend_from_slice(label.as_bytes());
            length += label.len() + 1;
        }
    }
    if length > 255 {
        return Err(format!("{name}: name too long"));
    }
    q.push(0);
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&[0, 1]); // IN
    if dnssec {
        // OPT (RFC 6891): root owner, 4096-byte payload, DO set (RFC 3225).
        q.extend_from_slice(&[0, 0, 41, 0x10, 0x00, 0, 0, 0x80, 0x00, 0, 0]);
    }
    Ok(q)
}

fn rrtype(t: &str) -> Option<u16> {
    let t = t.to_ascii_uppercase();
    if let Some(n) = t.strip_prefix("TYPE") {
        return n.parse().ok();
    }
    Some(match t.as_str() {
        "A" => 1,
        "NS" => 2,
        "CNAME" => 5,
        "SOA" => 6,
        "PTR" => 12,
        "MX" => 15,
        "TXT" => 16,
        "AAAA" => 28,
        "SRV" => 33,
        "NAPTR" => 35,
        "DNAME" => 39,
        "DS" => 43,
        "SSHFP" => 44,
        "RRSIG" => 46,
        "NSEC" => 47,
        "DNSKEY" => 48,
        "NSEC3" => 50,
        "NSEC3PARAM" => 51,
        "TLSA" => 52,
        "SVCB" => 64,
        "HTTPS" => 65,
        "CAA" => 257,
        "ANY" => 255,
        _ => return None,
    })
}

/// One connected socket and its queries in flight.
struct Conn {
    socket: UdpSocket,
    /// Per ID: when the query went out (ns since the thread's start), 0
    /// when the ID is free.
    sent_at: Box<[u64]>,
    next_id: u16,
    in_flight: usize,
}

impl Conn {
    fn open(server: SocketAddr) -> io::Result<Self> {
        let local: SocketAddr = if server.is_ipv4() {
            "0.0.0.0:0".parse().expect("address")
        } else {
            "[::]:0".parse().expect("address")
        };
        let socket = UdpSocket::bind(local)?;
        socket.connect(server)?;
        socket.set_nonblocking(true)?;
        let socket2 = socket2::SockRef::from(&socket);
        let _ = socket2.set_recv_buffer_size(4 << 20);
        Ok(Self {
            socket,
            sent_at: vec![0; 1 << 16].into_boxed_slice(),
            next_id: 0,
            in_flight: 0,
        })
    }

    /// A free ID, marked as sent at `now`.
    fn take_id(&mut self, now: u64) -> u16 {
        loop {
            let id = self.next_id;
            self.next_id = self.next_id.wrapping_add(1);
            if self.sent_at[usize::from(id)] == 0 {
                self.sent_at[usize::from(id)] = now;
                self.in_flight += 1;
                return id;
            }
        }
    }
}

struct Stats {
    sent: u64,
    completed: u64,
    lost: u64,
    unexpected: u64,
    rcodes: [u64; 16],
    truncated: u64,
    latency: Vec<u64>,
    latency_sum_ns: u128,
}

impl Stats {
    fn new() -> Self {
        Self {
            sent: 0,
            completed: 0,
            lost: 0,
            unexpected: 0,
            rcodes: [0; 16],
            truncated: 0,
            latency: vec![0; BUCKETS + 1],
            latency_sum_ns: 0,
        }
    }

    fn add(&mut self, other: &Self) {
        self.sent += other.sent;
        self.completed += other.completed;
        self.lost += other.lost;
        self.unexpected += other.unexpected;
        self.truncated += other.truncated;
        for (a, b) in self.rcodes.iter_mut().zip(&other.rcodes) {
            *a += b;
        }
        for (a, b) in self.latency.iter_mut().zip(&other.latency) {
            *a += b;
        }
        self.latency_sum_ns += other.latency_sum_ns;
    }

    /// The latency below which `fraction` of the answers came, in seconds
    /// (the upper edge of its bucket).
    fn percentile(&self, fraction: f64) -> f64 {
        let target = (self.completed as f64 * fraction).ceil() as u64;
        let mut seen = 0;
        for (i, &n) in self.latency.iter().enumerate() {
            seen += n;
            if seen >= target && n > 0 {
                return (i as u64 + 1) as f64 * BUCKET_NS as f64 / 1e9;
            }
        }
        0.0
    }

    fn print(&self, options: &Options, run: Duration) {
        let secs = run.as_secs_f64();
        let percent = |n: u64| {
            if self.sent == 0 {
                0.0
            } else {
                100.0 * n as f64 / self.sent as f64
            }
        };
        const NAMES: [&str; 6] = [
            "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
        ];
        let rcodes: Vec<String> = self
            .rcodes
            .iter()
            .enumerate()
            .filter(|&(_, &n)| n > 0)
            .map(|(i, n)| match NAMES.get(i) {
                Some(name) => format!("{name} {n}"),
                None => format!("RCODE{i} {n}"),
            })
            .collect();
        println!(
            "dns_load: {} threads, {} sockets, {} outstanding, {} queries in the file, to {}",
            options.threads,
            options.sockets,
            options.outstanding,
            options.queries.len(),
            options.server
        );
        println!("Statistics:");
        println!("  Queries sent:         {}", self.sent);
        println!(
            "  Queries completed:    {} ({:.2}%)",
            self.completed,
            percent(self.completed)
        );
        println!(
            "  Queries lost:         {} ({:.2}%)",
            self.lost,
            percent(self.lost)
        );
        println!("  Unexpected answers:   {}", self.unexpected);
        println!("  Truncated answers:    {}", self.truncated);
        println!("  Response codes:       {}", rcodes.join(", "));
        println!("  Run time (s):         {secs:.6}");
        println!(
            "  Queries per second:   {:.6}",
            self.completed as f64 / secs
        );
        let average = if self.completed == 0 {
            0.0
        } else {
            self.latency_sum_ns as f64 / self.completed as f64 / 1e9
        };
        println!("  Average Latency (s):  {average:.6}");
        println!("  Latency p50 (s):      {:.6}", self.percentile(0.50));
        println!("  Latency p99 (s):      {:.6}", self.percentile(0.99));
    }
}

/// One thread's load: its sockets, its share of the window, its place in
/// the query file.
struct Load {
    conns: Vec<Conn>,
    per_conn: usize,
    queries: Vec<Vec<u8>>,
    next_query: usize,
    timeout_ns: u64,
    epoch: Instant,
    stats: Stats,
    output: Vec<Vec<u8>>,
    input: Vec<Vec<u8>>,
    send_headers: MultiHeaders<SockaddrStorage>,
    recv_headers: MultiHeaders<SockaddrStorage>,
    /// Queries still to send (`-n`); `None`: no end but the deadline.
    quota: Option<u64>,
}

impl Load {
    fn new(
        conns: Vec<Conn>,
        window: usize,
        queries: Vec<Vec<u8>>,
        first: usize,
        timeout: Duration,
        quota: Option<u64>,
    ) -> Self {
        let per_conn = window.div_ceil(conns.len());
        Self {
            conns,
            per_conn,
            next_query: first % queries.len(),
            queries,
            timeout_ns: timeout.as_nanos() as u64,
            epoch: Instant::now(),
            stats: Stats::new(),
            output: (0..BATCH).map(|_| Vec::with_capacity(512)).collect(),
            input: (0..BATCH).map(|_| vec![0; DATAGRAM]).collect(),
            send_headers: MultiHeaders::preallocate(BATCH, None),
            recv_headers: MultiHeaders::preallocate(BATCH, None),
            quota,
        }
    }

    /// Nanoseconds since the thread started, never 0 (0 marks a free ID).
    fn now(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64 + 1
    }

    fn run(mut self, deadline: Instant) -> Stats {
        let mut last_sweep = self.now();
        loop {
            if Instant::now() >= deadline {
                break;
            }
            if self.quota == Some(0) && self.conns.iter().all(|c| c.in_flight == 0) {
                break;
            }
            let mut busy = false;
            for c in 0..self.conns.len() {
                busy |= self.top_up(c);
                busy |= self.drain(c);
            }
            let now = self.now();
            if now - last_sweep > 100_000_000 {
                self.sweep(now);
                last_sweep = now;
            }
            if !busy {
                let mut fds: Vec<PollFd<'_>> = self
                    .conns
                    .iter()
                    .map(|c| PollFd::new(c.socket.as_fd(), PollFlags::POLLIN))
                    .collect();
                let _ = poll(&mut fds, PollTimeout::from(10u8));
            }
        }
        self.stats
    }

    /// Fills connection `c`'s window: true if anything was sent.
    fn top_up(&mut self, c: usize) -> bool {
        let mut any = false;
        loop {
            let room = self
                .per_conn
                .saturating_sub(self.conns[c].in_flight)
                .min(BATCH)
                .min(self.quota.map_or(BATCH, |q| q.min(BATCH as u64) as usize));
            if room == 0 {
                return any;
            }
            let now = self.now();
            let mut ids = [0u16; BATCH];
            for (i, id) in ids.iter_mut().enumerate().take(room) {
                let query = &self.queries[self.next_query];
                self.next_query = (self.next_query + 1) % self.queries.len();
                *id = self.conns[c].take_id(now);
                let out = &mut self.output[i];
                out.clear();
                out.extend_from_slice(query);
                out[..2].copy_from_slice(&id.to_be_bytes());
            }
            let slices: Vec<[IoSlice<'_>; 1]> = self.output[..room]
                .iter()
                .map(|o| [IoSlice::new(o)])
                .collect();
            let addrs: [Option<SockaddrStorage>; BATCH] = [None; BATCH];
            let sent = match sendmmsg(
                self.conns[c].socket.as_raw_fd(),
                &mut self.send_headers,
                slices.iter(),
                &addrs[..room],
                [],
                MsgFlags::MSG_DONTWAIT,
            ) {
                Ok(results) => results.count(),
                Err(_) => 0, // EAGAIN (or a refused port): try again later
            };
            // IDs taken for queries that did not go out are freed again.
            for &id in &ids[sent..room] {
                self.conns[c].sent_at[usize::from(id)] = 0;
                self.conns[c].in_flight -= 1;
            }
            // They are asked again next time round, in the same order.
            let unsent = room - sent;
            self.next_query =
                (self.next_query + self.queries.len() * BATCH - unsent) % self.queries.len();
            self.stats.sent += sent as u64;
            if let Some(quota) = &mut self.quota {
                *quota -= sent as u64;
            }
            if sent == 0 {
                return any;
            }
            any = true;
        }
    }

    /// Reads what connection `c` has queued: true if anything was read.
    fn drain(&mut self, c: usize) -> bool {
        let mut any = false;
        loop {
            let mut lengths = [0usize; BATCH];
            let read = {
                let mut slices: Vec<[IoSliceMut<'_>; 1]> = self
                    .input
                    .iter_mut()
                    .map(|b| [IoSliceMut::new(b)])
                    .collect();
                match recvmmsg(
                    self.conns[c].socket.as_raw_fd(),
                    &mut self.recv_headers,
                    slices.iter_mut(),
                    MsgFlags::MSG_DONTWAIT,
                    None,
                ) {
                    Ok(results) => {
                        let mut n = 0;
                        for (msg, length) in results.zip(lengths.iter_mut()) {
                            *length = msg.bytes.min(DATAGRAM);
                            n += 1;
                        }
                        n
                    }
                    Err(_) => 0,
                }
            };
            if read == 0 {
                return any;
            }
            any = true;
            let now = self.now();
            for (buf, &length) in self.input.iter().zip(&lengths[..read]) {
                let conn = &mut self.conns[c];
                if length < 12 || buf[2] & 0x80 == 0 {
                    self.stats.unexpected += 1;
                    continue;
                }
                let id = usize::from(u16::from_be_bytes([buf[0], buf[1]]));
                let sent_at = conn.sent_at[id];
                if sent_at == 0 {
                    self.stats.unexpected += 1;
                    continue;
                }
                conn.sent_at[id] = 0;
                conn.in_flight -= 1;
                self.stats.completed += 1;
                self.stats.rcodes[usize::from(buf[3] & 0x0f)] += 1;
                if buf[2] & 0x02 != 0 {
                    self.stats.truncated += 1;
                }
                let latency = now.saturating_sub(sent_at);
                self.stats.latency_sum_ns += u128::from(latency);
                self.stats.latency[((latency / BUCKET_NS) as usize).min(BUCKETS)] += 1;
            }
            if read < BATCH {
                return any;
            }
        }
    }

    /// Frees the IDs of queries unanswered for longer than the timeout,
    /// counting them lost.
    fn sweep(&mut self, now: u64) {
        for conn in &mut self.conns {
            for slot in conn.sent_at.iter_mut() {
                if *slot != 0 && now - *slot > self.timeout_ns {
                    *slot = 0;
                    conn.in_flight -= 1;
                    self.stats.lost += 1;
                }
            }
        }
    }
}
