//! A root zone whose KSK rolls (issue 9): NSD on 127.53.S.1 serving `.`,
//! re-signed with `ldns-signzone` for each phase of an RFC 5011 prepublish
//! rollover, with fresh ECDSA keys made by `ldns-keygen` and the revoked
//! form by `ldns-revoke`. The resolvers under test (danebound, and unbound
//! as the reference) are started by the test with [`RolloverRoot::spawn`].

use std::fs;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use danebound_trust_anchors::rfc5011::Key;
use danebound_trust_anchors::text::{Context, parse_rr_line};

use super::servers::{Server, Slot, nsd_conf};
use super::{LabError, check_available};
use crate::skip::{Need, skip};

/// The phases of the roll.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// K1 signs; K2 does not exist yet.
    K1,
    /// K2 is published; K1 still signs alone.
    K2Published,
    /// K1 carries the REVOKE bit and signs itself; K2 signs.
    K1Revoked,
    /// K1 is gone; K2 signs alone.
    K2Alone,
}

/// A running process of the test (NSD, unbound, danebound).
pub struct Process(Server);

impl Process {
    /// `kill -9` it.
    pub fn kill_hard(self) {
        self.0.kill_hard();
    }
}

/// The rolling root.
pub struct RolloverRoot {
    slot: Slot,
    dir: PathBuf,
    nsd: Option<Server>,
    k1: String,
    k1_revoked: String,
    k2: String,
    zsk: String,
}

fn run(dir: &Path, program: &str, args: &[&str]) -> Result<String, LabError> {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| LabError::io(&format!("running {program}"), e))?;
    if !out.status.success() {
        return Err(LabError::Setup(format!(
            "{program} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

impl RolloverRoot {
    /// Make the keys and start NSD in phase [`Phase::K1`], or skip (see
    /// [`super::Lab::start_or_skip`]).
    pub fn start_or_skip(test: &str) -> Option<Self> {
        match Self::start() {
            Ok(r) => Some(r),
            Err(LabError::Unavailable(why)) => {
                skip(Need::Lab, test, &why);
                None
            }
            Err(e) => panic!("{test}: {e}"),
        }
    }

    fn start() -> Result<Self, LabError> {
        check_available()?;
        let slot = Slot::claim()?;
        let dir = std::env::temp_dir().join(format!(
            "{}rollover-{}-{}",
            super::servers::DIR_MARKER,
            slot.number,
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("nsd")).map_err(|e| LabError::io("creating lab dir", e))?;
        let keygen = |ksk: bool| {
            let mut args = vec!["-a", "ECDSAP256SHA256"];
            if ksk {
                args.push("-k");
            }
            args.push(".");
            run(&dir, "ldns-keygen", &args)
        };
        let k1 = keygen(true)?;
        let k2 = keygen(true)?;
        let zsk = keygen(false)?;
        // The revoked form of K1: same private key, flags 385.
        let k1_revoked = format!("{k1}-revoked");
        for ext in ["key", "private"] {
            fs::copy(
                dir.join(format!("{k1}.{ext}")),
                dir.join(format!("{k1_revoked}.{ext}")),
            )
            .map_err(|e| LabError::io("copying K1", e))?;
        }
        run(&dir, "ldns-revoke", &[&format!("{k1_revoked}.key")])?;
        let mut root = Self {
            slot,
            dir,
            nsd: None,
            k1,
            k1_revoked,
            k2,
            zsk,
        };
        root.set_phase(Phase::K1)?;
        Ok(root)
    }

    /// The lab directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Address `127.53.S.host`.
    pub fn address(&self, host: u8) -> Ipv4Addr {
        self.slot.addr(host)
    }

    /// The root server.
    pub fn server(&self) -> SocketAddr {
        SocketAddr::new(self.address(1).into(), 53)
    }

    fn key_line(&self, base: &str) -> Result<String, LabError> {
        let text = fs::read_to_string(self.dir.join(format!("{base}.key")))
            .map_err(|e| LabError::io("reading key", e))?;
        text.lines()
            .find(|l| l.contains("DNSKEY"))
            .map(str::to_string)
            .ok_or_else(|| LabError::Setup(format!("{base}.key holds no DNSKEY")))
    }

    /// A DNSKEY line for K1 (1) or K2 (2), as a seed file holds it.
    pub fn seed_line(&self, which: u8) -> String {
        let base = if which == 1 { &self.k1 } else { &self.k2 };
        self.key_line(base).unwrap_or_default()
    }

    /// K1 (1) or K2 (2), REVOKE bit clear.
    pub fn key(&self, which: u8) -> Key {
        let line = self.seed_line(which);
        let rr = parse_rr_line(
            line.split(';').next().unwrap_or(""),
            &mut Context::default(),
        )
        .ok()
        .flatten()
        .expect("a DNSKEY line");
        Key::from_rdata(&rr.rdata).expect("DNSKEY RDATA")
    }

    /// An IANA-style root-anchors.xml (RFC 9718) naming K1, valid from 2020.
    pub fn root_anchors_xml(&self) -> Result<String, LabError> {
        let ds = fs::read_to_string(self.dir.join(format!("{}.ds", self.k1)))
            .map_err(|e| LabError::io("reading K1's DS", e))?;
        let f: Vec<&str> = ds.split_whitespace().collect();
        let [_, _, _, tag, alg, digest_type, digest] = f[..] else {
            return Err(LabError::Setup(format!("unexpected DS file: {ds}")));
        };
        let key = self.key(1);
        let public_key = data_encoding::BASE64.encode(&key.public_key);
        Ok(format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<TrustAnchor id=\"lab\" source=\"lab\">\n\
             <Zone>.</Zone>\n<KeyDigest id=\"K1\" validFrom=\"2020-01-01T00:00:00+00:00\">\n\
             <KeyTag>{tag}</KeyTag>\n<Algorithm>{alg}</Algorithm>\n<DigestType>{digest_type}</DigestType>\n\
             <Digest>{}</Digest>\n<PublicKey>{public_key}</PublicKey>\n<Flags>{}</Flags>\n\
             </KeyDigest>\n</TrustAnchor>\n",
            digest.to_uppercase(),
            key.flags
        ))
    }

    /// Re-sign the zone for `phase` and restart NSD with it.
    pub fn set_phase(&mut self, phase: Phase) -> Result<(), LabError> {
        let ns = self.address(1);
        let mut zone = format!(
            "$TTL 10\n.\t10\tIN\tSOA\tns.lab. hostmaster.lab. 1 3600 600 86400 10\n\
             .\t10\tIN\tNS\tns.lab.\nns.lab.\t10\tIN\tA\t{ns}\nwww.\t10\tIN\tA\t192.0.2.1\n"
        );
        let signers: Vec<&str> = match phase {
            Phase::K1 => vec![&self.zsk, &self.k1],
            Phase::K2Published => {
                // Published, not signing: its DNSKEY is a record of the zone.
                zone.push_str(&self.key_line(&self.k2)?);
                zone.push('\n');
                vec![&self.zsk, &self.k1]
            }
            Phase::K1Revoked => vec![&self.zsk, &self.k1_revoked, &self.k2],
            Phase::K2Alone => vec![&self.zsk, &self.k2],
        };
        fs::write(self.dir.join("root.zone"), zone).map_err(|e| LabError::io("writing zone", e))?;
        let mut args = vec!["-f", "nsd/root.zone.signed", "root.zone"];
        args.extend(signers.iter().copied());
        run(&self.dir, "ldns-signzone", &args)?;
        // A restart rather than a reload: simple and certain.
        self.nsd = None;
        let conf = self.dir.join("nsd.conf");
        fs::write(
            &conf,
            nsd_conf(
                ns,
                &self.dir.join("nsd"),
                &self.dir.join("nsd"),
                &[(".", "root.zone.signed")],
            ),
        )
        .map_err(|e| LabError::io("writing nsd.conf", e))?;
        let conf_s = conf.display().to_string();
        let mut nsd = Server::spawn(
            "nsd .",
            self.server(),
            "nsd",
            &["-d", "-c", &conf_s],
            self.dir.join("nsd.log"),
            &self.slot,
            None,
        )?;
        nsd.wait_ready(".", Instant::now() + Duration::from_secs(10), None)?;
        self.nsd = Some(nsd);
        Ok(())
    }

    /// Start `program args…` on `127.53.S.host`:53 with its output in
    /// `log` (in the lab directory); ready once it answers.
    pub fn spawn(
        &self,
        name: &str,
        host: u8,
        program: &str,
        args: &[&str],
    ) -> Result<Process, LabError> {
        let addr = SocketAddr::new(self.address(host).into(), 53);
        let mut server = Server::spawn(
            name,
            addr,
            program,
            args,
            self.dir.join(format!("{name}.log")),
            &self.slot,
            None,
        )?;
        server.wait_ready(".", Instant::now() + Duration::from_secs(20), None)?;
        Ok(Process(server))
    }
}

impl Drop for RolloverRoot {
    fn drop(&mut self) {
        self.nsd = None;
        if !std::thread::panicking() {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}
