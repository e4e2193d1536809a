//! A small `dig`: one query to one server over UDP (TCP when the answer is
//! truncated), with hickory-proto doing the wire format.

use std::io::{self, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::process::{Command, Stdio};
use std::str::FromStr as _;
use std::time::Duration;

use hickory_proto::op::{Edns, Message, Query, ResponseCode};
use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption};
use hickory_proto::rr::{Name, RecordType};

/// The EDNS option code of Extended DNS Errors (RFC 8914 §2).
const EDE_OPTION: u16 = 15;

/// How to ask. The default is what a stub behind a validating resolver
/// sends: RD=1, DO=1, CD=0, a 5 s timeout.
#[derive(Clone, Debug)]
pub struct QueryOptions {
    /// RD: ask for recursion.
    pub recursion_desired: bool,
    /// DO: ask for DNSSEC records (also adds EDNS0).
    pub dnssec_ok: bool,
    /// CD: ask the server not to validate.
    pub checking_disabled: bool,
    /// AD in the query (RFC 6840 §5.7): ask for the AD bit without DO.
    pub authentic_data: bool,
    /// Per-attempt receive timeout.
    pub timeout: Duration,
}

impl Default for QueryOptions {
    fn default() -> Self {
        Self {
            recursion_desired: true,
            dnssec_ok: true,
            checking_disabled: false,
            authentic_data: false,
            timeout: Duration::from_secs(5),
        }
    }
}

/// One Extended DNS Error option (RFC 8914).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ede {
    /// INFO-CODE.
    pub code: u16,
    /// EXTRA-TEXT (may be empty).
    pub text: String,
}

/// A decoded answer.
#[derive(Clone, Debug)]
pub struct Reply {
    /// The whole message.
    pub message: Message,
    /// Whether it came over TCP (after TC=1 on UDP).
    pub tcp: bool,
}

impl Reply {
    /// The response code (with the EDNS extended bits merged by hickory).
    pub fn rcode(&self) -> ResponseCode {
        self.message.metadata.response_code
    }

    /// The AD bit.
    pub fn ad(&self) -> bool {
        self.message.metadata.authentic_data
    }

    /// Every Extended DNS Error option in the answer.
    pub fn ede(&self) -> Vec<Ede> {
        let Some(edns) = &self.message.edns else {
            return Vec::new();
        };
        edns.options()
            .options
            .iter()
            .filter_map(|(code, option)| match (code, option) {
                (EdnsCode::Unknown(EDE_OPTION), EdnsOption::Unknown(_, data))
                    if data.len() >= 2 =>
                {
                    Some(Ede {
                        code: u16::from_be_bytes([data[0], data[1]]),
                        text: String::from_utf8_lossy(&data[2..]).into_owned(),
                    })
                }
                _ => None,
            })
            .collect()
    }

    /// The first EDE code, if any.
    pub fn ede_code(&self) -> Option<u16> {
        self.ede().first().map(|e| e.code)
    }

    /// The answer section's records of type `rtype`, in presentation format
    /// (RDATA only).
    pub fn answer_rdata(&self, rtype: RecordType) -> Vec<String> {
        self.message
            .answers
            .iter()
            .filter(|r| r.record_type() == rtype)
            .map(|r| r.data.to_string())
            .collect()
    }
}

/// Asks `server` for `name`/`rtype` (class IN). `name` may omit the final dot.
pub fn query(
    server: SocketAddr,
    name: &str,
    rtype: RecordType,
    options: &QueryOptions,
) -> io::Result<Reply> {
    let (wire, id) = encode_query(name, rtype, options)?;
    let reply = udp_exchange(server, &wire, id, options.timeout)?;
    if !reply.metadata.truncation {
        return Ok(Reply {
            message: reply,
            tcp: false,
        });
    }
    let message = tcp_exchange(server, &wire, id, options.timeout)?;
    Ok(Reply { message, tcp: true })
}

/// Like [`query`], for a server inside network namespace `netns`: the query
/// goes over TCP from a `bash` started there by `ip netns exec` (the test
/// process itself cannot enter the namespace without `unsafe`).
pub(crate) fn query_in_netns(
    netns: &str,
    server: SocketAddr,
    name: &str,
    rtype: RecordType,
    options: &QueryOptions,
) -> io::Result<Reply> {
    /// Sends stdin (a length-prefixed query) to $1:$2 over TCP and prints
    /// the length-prefixed answer's message. `head -c` reads no more than
    /// it is asked for, so the two reads split the frame exactly.
    const TCP_CLIENT: &str = r#"exec 3<>"/dev/tcp/$1/$2" || exit 111
cat >&3
set -- $(head -c 2 <&3 | od -An -tu1)
[ $# -eq 2 ] || exit 112
head -c $(( $1 * 256 + $2 )) <&3"#;
    let (wire, id) = encode_query(name, rtype, options)?;
    let len = u16::try_from(wire.len()).map_err(io::Error::other)?;
    let mut framed = len.to_be_bytes().to_vec();
    framed.extend_from_slice(&wire);
    let seconds = options.timeout.as_secs_f64().max(0.1);
    let mut child = Command::new("ip")
        .args(["netns", "exec", netns, "timeout", &format!("{seconds:.1}")])
        .args(["bash", "-c", TCP_CLIENT, "bash"])
        .arg(server.ip().to_string())
        .arg(server.port().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(&framed)?;
    }
    let output = child.wait_with_output()?;
    if !output.status.success() {
        return Err(io::Error::other(format!(
            "query in netns {netns} to {server} failed: {}",
            output.status
        )));
    }
    let message = decode(&output.stdout)?;
    if message.metadata.id != id {
        return Err(io::Error::other("answer with the wrong ID"));
    }
    Ok(Reply { message, tcp: true })
}

fn encode_query(
    name: &str,
    rtype: RecordType,
    options: &QueryOptions,
) -> io::Result<(Vec<u8>, u16)> {
    let qname = Name::from_str(name)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{name}: {e}")))?;
    let mut request = Message::query();
    request.add_query(Query::query(qname, rtype));
    request.metadata.recursion_desired = options.recursion_desired;
    request.metadata.checking_disabled = options.checking_disabled;
    request.metadata.authentic_data = options.authentic_data;
    if options.dnssec_ok {
        let mut edns = Edns::new();
        edns.set_max_payload(1232);
        edns.set_dnssec_ok(true);
        request.set_edns(edns);
    }
    let wire = request.to_vec().map_err(io::Error::other)?;
    Ok((wire, request.metadata.id))
}

fn udp_exchange(
    server: SocketAddr,
    wire: &[u8],
    id: u16,
    timeout: Duration,
) -> io::Result<Message> {
    let socket = UdpSocket::bind(("0.0.0.0", 0))?;
    socket.set_read_timeout(Some(timeout))?;
    socket.send_to(wire, server)?;
    let mut buffer = vec![0u8; 65535];
    loop {
        let (len, from) = socket.recv_from(&mut buffer)?;
        if from != server {
            continue;
        }
        let message = decode(&buffer[..len])?;
        if message.metadata.id == id {
            return Ok(message);
        }
    }
}

fn tcp_exchange(
    server: SocketAddr,
    wire: &[u8],
    id: u16,
    timeout: Duration,
) -> io::Result<Message> {
    let mut stream = TcpStream::connect_timeout(&server, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    let len = u16::try_from(wire.len()).map_err(io::Error::other)?;
    let mut framed = len.to_be_bytes().to_vec();
    framed.extend_from_slice(wire);
    stream.write_all(&framed)?;
    let mut len = [0u8; 2];
    stream.read_exact(&mut len)?;
    let mut buffer = vec![0u8; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut buffer)?;
    let message = decode(&buffer)?;
    if message.metadata.id != id {
        return Err(io::Error::other("TCP answer with the wrong ID"));
    }
    Ok(message)
}

fn decode(bytes: &[u8]) -> io::Result<Message> {
    Message::from_vec(bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))
}
