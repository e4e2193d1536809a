//! The lab upstream's DNS over TLS (RFC 7858): a lab CA and a server
//! certificate made by openssl, and the unbound lines that serve TLS on
//! port 853 with them (tls-service-key, tls-service-pem, tls-port).

use std::fs;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::{LabError, search_path};

/// The upstream's DNS-over-TLS side.
#[derive(Clone, Debug)]
pub struct DotUpstream {
    /// Where it listens (port 853).
    pub addr: SocketAddr,
    /// The lab CA's certificate (PEM): the root to verify it with.
    pub ca_file: PathBuf,
    /// The SHA-256 of the server key's SubjectPublicKeyInfo, base64, as
    /// openssl computes it (RFC 7858 §4.2).
    pub pin: String,
    key: PathBuf,
    cert: PathBuf,
}

impl DotUpstream {
    /// The name on the server's certificate.
    pub const NAME: &'static str = "dns.lab.test";

    /// `ADDR@853#NAME`, as danebound's `forward` takes it.
    pub fn forward(&self) -> String {
        format!("{}@{}#{}", self.addr.ip(), self.addr.port(), Self::NAME)
    }
}

/// Runs `openssl ARGS` in `dir`, returning its standard output.
fn openssl(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Result<Vec<u8>, LabError> {
    use std::io::Write as _;
    let mut child = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .env("PATH", search_path())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| LabError::io("running openssl", e))?;
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(input)
            .map_err(|e| LabError::io("writing to openssl", e))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| LabError::io("running openssl", e))?;
    if !out.status.success() {
        return Err(LabError::Setup(format!(
            "openssl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(out.stdout)
}

/// A lab CA and a certificate for [`DotUpstream::NAME`] signed by it, in
/// `dir`; the upstream at `addr` will serve TLS with them.
pub(crate) fn make(dir: &Path, addr: Ipv4Addr) -> Result<DotUpstream, LabError> {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let ca = [
        &["req", "-x509"][..],
        &ec,
        &[
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=danebound lab CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign",
        ],
    ]
    .concat();
    openssl(dir, &ca, None)?;
    let subject = format!("/CN={}", DotUpstream::NAME);
    let csr = [
        &["req"][..],
        &ec,
        &["-keyout", "tls.key", "-out", "tls.csr", "-subj", &subject],
    ]
    .concat();
    openssl(dir, &csr, None)?;
    fs::write(
        dir.join("tls.ext"),
        format!(
            "subjectAltName=DNS:{}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
            DotUpstream::NAME
        ),
    )
    .map_err(|e| LabError::io("writing tls.ext", e))?;
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "tls.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-set_serial",
            "2",
            "-days",
            "2",
            "-extfile",
            "tls.ext",
            "-out",
            "tls.pem",
        ],
        None,
    )?;
    // The pin as stubby's documentation computes it.
    let spki = openssl(
        dir,
        &["pkey", "-in", "tls.key", "-pubout", "-outform", "der"],
        None,
    )?;
    let digest = openssl(dir, &["dgst", "-sha256", "-binary"], Some(&spki))?;
    let pin = openssl(dir, &["base64", "-A"], Some(&digest))?;
    Ok(DotUpstream {
        addr: SocketAddr::new(IpAddr::V4(addr), 853),
        ca_file: dir.join("ca.pem"),
        pin: String::from_utf8_lossy(&pin).trim().to_string(),
        key: dir.join("tls.key"),
        cert: dir.join("tls.pem"),
    })
}

/// `conf` (the upstream's unbound.conf) serving DNS over TLS as well.
pub(crate) fn unbound_conf(conf: String, dot: &DotUpstream) -> String {
    let extra = format!(
        "  interface: {ip}@{port}\n  tls-port: {port}\n  \
         tls-service-key: \"{key}\"\n  tls-service-pem: \"{cert}\"\n",
        ip = dot.addr.ip(),
        port = dot.addr.port(),
        key = dot.key.display(),
        cert = dot.cert.display(),
    );
    conf.replacen("server:\n", &format!("server:\n{extra}"), 1)
}
