//! Attack zones (issue 11): zones built to make a validator or an iterator
//! work hard, children of `example.test.` served by the case-zone NSD
//! (127.53.S.4), built with ldns-signzone and then edited. Started with
//! [`super::LabOptions::attack_zones`]; `tests/tests/lab_attack.rs` asserts
//! what danebound answers and how much work it counts for each.
//!
//! | zone | what |
//! |---|---|
//! | `keytrap.example.test.` | KeyTrap (CVE-2023-50387): the KSK and [`KEYTRAP_KEYS`] junk ZSKs share one key tag; `www` A and the wildcard `*` A carry [`KEYTRAP_SIGS`] junk RRSIGs with that tag and no good one |
//! | `dsflood.example.test.` | [`DSFLOOD_DS`] DS records in `example.test.`, all with the KSK's tag and junk digests, and as many junk DNSKEYs with that tag in the zone |
//! | `nsec3-2500.example.test.` | NSEC3 with 2,500 iterations and [`NSEC3_NAMES`] names (CVE-2023-50868) |
//! | `bigkey.example.test.` | a DNSKEY set of about 62 KB ([`BIGKEY_KEYS`] junk 4096-bit RSA keys beside the KSK): only TCP carries it |
//! | `cnamedeep.example.test.` | a chain of [`CNAME_LINKS`] CNAMEs (`c0` → `c1` → … → `www`; `*` → `c1`) |
//! | `nxnsflood.example.test.` | NXNS: an insecure delegation to [`NXNS_NAMES`] NS names without glue, none of which exists |
//!
//! Every zone but `nxnsflood` is signed with one ECDSA P-256 KSK made at lab
//! start and delegated securely (DS) from `example.test.`, so each attack
//! sits under a chain of trust from the lab's anchor.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use data_encoding::BASE64;

use super::{LabError, search_path};

/// Junk ZSKs sharing the KSK's key tag in `keytrap.example.test.`.
pub const KEYTRAP_KEYS: usize = 100;
/// Junk RRSIGs over `www.keytrap.example.test.` A, all naming that tag.
pub const KEYTRAP_SIGS: usize = 50;
/// DS records for `dsflood.example.test.` (and junk DNSKEYs in it), all with
/// one key tag.
pub const DSFLOOD_DS: usize = 300;
/// NSEC3 iterations of `nsec3-2500.example.test.`.
pub const NSEC3_ITERATIONS: u16 = 2500;
/// Names (hence NSEC3 records) in `nsec3-2500.example.test.`.
pub const NSEC3_NAMES: usize = 200;
/// Junk RSA-4096 DNSKEYs in `bigkey.example.test.`.
pub const BIGKEY_KEYS: usize = 112;
/// CNAME links in `cnamedeep.example.test.`.
pub const CNAME_LINKS: usize = 40;
/// NS names of `nxnsflood.example.test.`'s delegation.
pub const NXNS_NAMES: usize = 300;

/// One attack query and what it is.
#[derive(Clone, Copy, Debug)]
pub struct Attack {
    /// Short name (zone's first label).
    pub name: &'static str,
    /// The query (A).
    pub qname: &'static str,
    /// The zone: a new name under it (`RANDOM.zone`) makes the same attack
    /// again past any cache (wildcards where the attack needs one).
    pub zone: &'static str,
    /// What it attacks.
    pub about: &'static str,
}

/// The attack queries, one per zone.
pub const ATTACKS: &[Attack] = &[
    Attack {
        name: "keytrap",
        qname: "www.keytrap.example.test.",
        zone: "keytrap.example.test.",
        about: "KeyTrap: 101 keys with one tag, 50 RRSIGs",
    },
    Attack {
        name: "dsflood",
        qname: "www.dsflood.example.test.",
        zone: "dsflood.example.test.",
        about: "300 DS with one tag, 300 keys with it",
    },
    Attack {
        name: "nsec3-2500",
        qname: "nx.nsec3-2500.example.test.",
        zone: "nsec3-2500.example.test.",
        about: "NXDOMAIN under NSEC3 with 2,500 iterations",
    },
    Attack {
        name: "bigkey",
        qname: "www.bigkey.example.test.",
        zone: "bigkey.example.test.",
        about: "a 62 KB DNSKEY set",
    },
    Attack {
        name: "cnamedeep",
        qname: "c0.cnamedeep.example.test.",
        zone: "cnamedeep.example.test.",
        about: "40 CNAME links",
    },
    Attack {
        name: "nxnsflood",
        qname: "www.nxnsflood.example.test.",
        zone: "nxnsflood.example.test.",
        about: "300 glueless NS names that do not exist",
    },
];

/// What [`build`] made: zone files (name, file name in the zones directory)
/// and the records `example.test.` needs (delegations, DS), relative to it.
pub(super) struct Built {
    pub(super) zones: Vec<(String, String)>,
    pub(super) parent_records: String,
}

/// A tiny xorshift generator: junk needs no quality, only variety.
struct Junk(u64);

impl Junk {
    fn new() -> Self {
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0x9e37_79b9, |d| d.as_nanos() as u64);
        Self(seed | 1)
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n)
            .map(|_| {
                self.0 ^= self.0 << 13;
                self.0 ^= self.0 >> 7;
                self.0 ^= self.0 << 17;
                (self.0 >> 24) as u8
            })
            .collect()
    }
}

/// RFC 4034 Appendix B key tag of DNSKEY RDATA.
fn key_tag(rdata: &[u8]) -> u16 {
    let mut ac: u32 = 0;
    for (i, b) in rdata.iter().enumerate() {
        ac += if i % 2 == 0 {
            u32::from(*b) << 8
        } else {
            u32::from(*b)
        };
    }
    ac += ac >> 16;
    (ac & 0xffff) as u16
}

/// A DNSKEY (flags 256) of `alg` with `len` junk key bytes whose tag is
/// `tag` (the last two bytes are chosen to make it so), as presentation
/// RDATA.
fn colliding_key(junk: &mut Junk, alg: u8, len: usize, tag: u16) -> String {
    loop {
        let mut rdata = vec![0x01, 0x00, 3, alg];
        rdata.extend(junk.bytes(len));
        let n = rdata.len();
        rdata[n - 2] = 0;
        rdata[n - 1] = 0;
        let partial = u32::from(key_tag(&rdata));
        // The last word is at an even offset when `len` is even.
        let want = (u32::from(tag) + 0x10000 - partial) & 0xffff;
        rdata[n - 2] = (want >> 8) as u8;
        rdata[n - 1] = want as u8;
        if key_tag(&rdata) == tag {
            return format!("256 3 {alg} {}", BASE64.encode(&rdata[4..]));
        }
    }
}

fn run(command: &mut Command, what: &str) -> Result<String, LabError> {
    let output = command
        .env("PATH", search_path())
        .output()
        .map_err(|e| LabError::io(what, e))?;
    if !output.status.success() {
        return Err(LabError::Setup(format!(
            "{what} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// RRSIG validity window: an hour ago to 30 days ahead (as build-zones.sh).
fn window() -> Result<(String, String), LabError> {
    let stamp = |when: &str| -> Result<String, LabError> {
        Ok(run(
            Command::new("date").args(["-u", "-d", when, "+%Y%m%d%H%M%S"]),
            "date",
        )?
        .trim()
        .to_owned())
    };
    Ok((stamp("-1 hour")?, stamp("+30 days")?))
}

/// A fresh ECDSA P-256 KSK for `zone` in `dir`: (key file base path, tag).
fn make_ksk(dir: &Path, zone: &str) -> Result<(String, u16), LabError> {
    let base = run(
        Command::new("ldns-keygen")
            .current_dir(dir)
            .args(["-a", "ECDSAP256SHA256", "-k", zone]),
        "ldns-keygen",
    )?;
    let base = base.trim();
    let _ = fs::remove_file(dir.join(format!("{base}.ds")));
    let tag = base
        .rsplit('+')
        .next()
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| LabError::Setup(format!("ldns-keygen: odd key name {base}")))?;
    Ok((dir.join(base).to_string_lossy().into_owned(), tag))
}

/// Builds every attack zone into `zones_dir` (working files in `work`).
pub(super) fn build(work: &Path, zones_dir: &Path) -> Result<Built, LabError> {
    fs::create_dir_all(work).map_err(|e| LabError::io("creating attack dir", e))?;
    fs::create_dir_all(zones_dir).map_err(|e| LabError::io("creating zones dir", e))?;
    let (from, to) = window()?;
    let mut junk = Junk::new();
    let mut parent = String::new();
    let mut zones = Vec::new();
    for name in ["keytrap", "dsflood", "nsec3-2500", "bigkey", "cnamedeep"] {
        let zone = format!("{name}.example.test.");
        let (key, tag) = make_ksk(work, &zone)?;
        let mut text = format!(
            "$ORIGIN {zone}\n$TTL 3600\n\
             @ IN SOA ns3.example.test. hostmaster.example.test. 1 3600 900 604800 300\n\
             @ IN NS ns3.example.test.\nwww IN A 192.0.2.30\n"
        );
        let mut nsec3: Vec<String> = Vec::new();
        match name {
            "keytrap" | "dsflood" => {
                if name == "keytrap" {
                    text.push_str("* IN A 192.0.2.30\n");
                }
                let count = if name == "keytrap" {
                    KEYTRAP_KEYS
                } else {
                    DSFLOOD_DS
                };
                for _ in 0..count {
                    let key = colliding_key(&mut junk, 13, 64, tag);
                    let _ = writeln!(text, "@ IN DNSKEY {key}");
                }
            }
            "nsec3-2500" => {
                for i in 0..NSEC3_NAMES {
                    let _ = writeln!(text, "n{i} IN A 192.0.2.31");
                }
                nsec3 = ["-n", "-a", "1", "-s", "ab", "-t"]
                    .iter()
                    .map(|s| (*s).to_owned())
                    .chain([NSEC3_ITERATIONS.to_string()])
                    .collect();
            }
            "bigkey" => {
                for _ in 0..BIGKEY_KEYS {
                    // RFC 3110: exponent length 3, exponent 65537, a
                    // 512-byte (4096-bit) junk modulus.
                    let mut key = vec![3, 1, 0, 1];
                    key.extend(junk.bytes(512));
                    let _ = writeln!(text, "@ IN DNSKEY 256 3 8 {}", BASE64.encode(&key));
                }
            }
            _ => {
                text.push_str("* IN CNAME c1\n");
                for i in 0..CNAME_LINKS {
                    let next = if i + 1 == CNAME_LINKS {
                        "www".to_owned()
                    } else {
                        format!("c{}", i + 1)
                    };
                    let _ = writeln!(text, "c{i} IN CNAME {next}");
                }
            }
        }
        // The KSK's own record, as build-zones.sh does: ldns-signzone adds
        // a key only when no DNSKEY with its tag is there already.
        let public = fs::read_to_string(format!("{key}.key"))
            .map_err(|e| LabError::io("reading a key", e))?;
        text.push_str(&public);
        text.push('\n');
        let input = work.join(format!("{name}.in"));
        let output = zones_dir.join(format!("{name}.example.test.zone"));
        fs::write(&input, &text).map_err(|e| LabError::io("writing an attack zone", e))?;
        run(
            Command::new("ldns-signzone")
                .args(&nsec3)
                .args(["-i", &from, "-e", &to, "-o", &zone, "-f"])
                .arg(&output)
                .arg(&input)
                .arg(&key),
            "ldns-signzone",
        )?;
        if name == "keytrap" {
            keytrap_signatures(&output, &zone, &mut junk)?;
        }
        let _ = writeln!(parent, "{name} IN NS ns3.example.test.");
        if name == "dsflood" {
            for _ in 0..DSFLOOD_DS {
                let digest = data_encoding::HEXUPPER.encode(&junk.bytes(32));
                let _ = writeln!(parent, "{name} IN DS {tag} 13 2 {digest}");
            }
        } else {
            let ds = run(
                Command::new("ldns-key2ds").args(["-n", "-2", &format!("{key}.key")]),
                "ldns-key2ds",
            )?;
            parent.push_str(ds.trim());
            parent.push('\n');
        }
        zones.push((zone, format!("{name}.example.test.zone")));
    }
    for i in 0..NXNS_NAMES {
        let _ = writeln!(parent, "nxnsflood IN NS ns{i}.nxnsflood-void.example.test.");
    }
    Ok(Built {
        zones,
        parent_records: parent,
    })
}

/// Replaces the good RRSIGs over `www` A and `*` A in the signed `file` by
/// [`KEYTRAP_SIGS`] junk ones with the same fields (so the same key tag).
fn keytrap_signatures(file: &Path, zone: &str, junk: &mut Junk) -> Result<(), LabError> {
    let text = fs::read_to_string(file).map_err(|e| LabError::io("reading keytrap zone", e))?;
    let owners = [format!("www.{zone}"), format!("*.{zone}")];
    let mut out = String::with_capacity(text.len() + KEYTRAP_SIGS * 200);
    let mut replaced = false;
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() >= 13
            && owners.iter().any(|o| o == fields[0])
            && fields[3] == "RRSIG"
            && fields[4] == "A"
        {
            for _ in 0..KEYTRAP_SIGS {
                let _ = writeln!(
                    out,
                    "{} {}",
                    fields[..12].join(" "),
                    BASE64.encode(&junk.bytes(64))
                );
            }
            replaced = true;
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    if !replaced {
        return Err(LabError::Setup("keytrap: no RRSIG over www A".into()));
    }
    fs::write(file, out).map_err(|e| LabError::io("writing keytrap zone", e))
}

impl super::Lab {
    /// Queries the lab's authoritative servers (every NSD) have received
    /// so far: the sum of `num.queries` from `nsd-control stats_noreset`.
    /// What a recursive resolver sent, counted where it arrived.
    pub fn authoritative_queries(&self) -> Result<u64, LabError> {
        let mut total = 0;
        for level in super::Level::ALL {
            let text = self.nsd_stats(level)?;
            total += text
                .lines()
                .find_map(|l| l.strip_prefix("num.queries="))
                .and_then(|n| n.trim().parse::<u64>().ok())
                .ok_or_else(|| LabError::Setup(format!("nsd-control: no num.queries in {text}")))?;
        }
        Ok(total)
    }

    /// Queries of type `qtype` (`DS`, `DNSKEY`, ...) the NSD of `level`
    /// has received so far (`num.type.QTYPE` of `nsd-control
    /// stats_noreset`; absent: none yet).
    pub fn authoritative_queries_of_type(
        &self,
        level: super::Level,
        qtype: &str,
    ) -> Result<u64, LabError> {
        let text = self.nsd_stats(level)?;
        if !text.lines().any(|l| l.starts_with("num.queries=")) {
            return Err(LabError::Setup(format!("nsd-control: no stats in {text}")));
        }
        let key = format!("num.type.{qtype}=");
        Ok(text
            .lines()
            .find_map(|l| l.strip_prefix(key.as_str()))
            .and_then(|n| n.trim().parse::<u64>().ok())
            .unwrap_or(0))
    }

    fn nsd_stats(&self, level: super::Level) -> Result<String, LabError> {
        let conf = self
            .dir
            .join(format!("nsd{}", level.number()))
            .join("nsd.conf");
        run(
            self.command("nsd-control")
                .arg("-c")
                .arg(&conf)
                .arg("stats_noreset"),
            "nsd-control stats_noreset",
        )
    }
}
