//! Certificates for the end-to-end tests, made by `openssl` at test time
//! (valid from now for 30 days: nothing committed, nothing expires), and the
//! TLSA digests computed by `openssl` too, so that the records published in
//! the lab do not depend on danebound's own code.
//!
//! * DANE-EE: a self-signed ECDSA P-256 leaf; TLSA `3 1 1` = SHA-256 of its
//!   SubjectPublicKeyInfo.
//! * DANE-TA: a private CA and a leaf it issued; the server sends both;
//!   TLSA `2 0 1` = SHA-256 of the CA certificate.
//! * A spare key that no server uses: a `3 1 1` record for it does not match.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What [`generate`] made.
#[derive(Debug, Clone)]
pub struct Certs {
    /// Key, then the self-signed leaf: an `smtpd_tls_chain_files` file.
    pub ee_chain: PathBuf,
    /// Key, then the leaf, then the private CA.
    pub ta_chain: PathBuf,
    /// The private CA certificate alone (PEM).
    pub ca_cert: PathBuf,
    /// `3 1 1` data of the self-signed leaf (lowercase hex).
    pub ee_spki_sha256: String,
    /// `2 0 1` data of the private CA (lowercase hex).
    pub ca_cert_sha256: String,
    /// `3 1 1` data of the DANE-TA leaf's key.
    pub ta_leaf_spki_sha256: String,
    /// `3 1 1` data of a key no server uses.
    pub spare_spki_sha256: String,
}

/// Makes the certificates in `dir`: the self-signed leaf names `ee_names`
/// (SAN dNSNames, CN = the first), the CA-issued leaf `ta_name`.
pub fn generate(dir: &Path, ee_names: &[&str], ta_name: &str) -> Result<Certs, String> {
    fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let p = |name: &str| dir.join(name);
    let sans = |names: &[&str]| {
        let list: Vec<String> = names.iter().map(|n| format!("DNS:{n}")).collect();
        format!("subjectAltName={}", list.join(","))
    };
    let ee_cn = format!("/CN={}", ee_names.first().ok_or("no EE name")?);

    // `-config /dev/null`: no extensions from the system openssl.cnf (whose
    // v3_ca section would mark every self-signed certificate CA:TRUE).
    let new_key = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let days = ["-days", "30"];
    openssl(
        &[
            &["req", "-x509", "-config", "/dev/null"],
            &new_key[..],
            &days[..],
        ]
        .concat(),
        &[
            "-subj",
            &ee_cn,
            "-addext",
            &sans(ee_names),
            "-addext",
            "basicConstraints=critical,CA:FALSE",
            "-addext",
            "extendedKeyUsage=serverAuth",
            "-keyout",
            &path(&p("ee.key")),
            "-out",
            &path(&p("ee.crt")),
        ],
    )?;
    openssl(
        &[
            &["req", "-x509", "-config", "/dev/null"],
            &new_key[..],
            &days[..],
        ]
        .concat(),
        &[
            "-subj",
            "/O=danebound tests/CN=danebound e2e private CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-keyout",
            &path(&p("ca.key")),
            "-out",
            &path(&p("ca.crt")),
        ],
    )?;
    openssl(
        &[
            &["req", "-x509", "-config", "/dev/null"],
            &new_key[..],
            &days[..],
        ]
        .concat(),
        &[
            "-CA",
            &path(&p("ca.crt")),
            "-CAkey",
            &path(&p("ca.key")),
            "-subj",
            &format!("/CN={ta_name}"),
            "-addext",
            &sans(&[ta_name]),
            "-addext",
            "basicConstraints=critical,CA:FALSE",
            "-addext",
            "extendedKeyUsage=serverAuth",
            "-keyout",
            &path(&p("ta.key")),
            "-out",
            &path(&p("ta.crt")),
        ],
    )?;
    openssl(
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ],
        &["-out", &path(&p("spare.key"))],
    )?;

    let ee_chain = p("ee-chain.pem");
    concat(&[&p("ee.key"), &p("ee.crt")], &ee_chain)?;
    let ta_chain = p("ta-chain.pem");
    concat(&[&p("ta.key"), &p("ta.crt"), &p("ca.crt")], &ta_chain)?;

    Ok(Certs {
        ee_chain,
        ta_chain,
        ca_cert: p("ca.crt"),
        ee_spki_sha256: digest(
            "openssl x509 -in \"$1\" -pubkey -noout | openssl pkey -pubin -outform DER",
            &p("ee.crt"),
        )?,
        ca_cert_sha256: digest("openssl x509 -in \"$1\" -outform DER", &p("ca.crt"))?,
        ta_leaf_spki_sha256: digest(
            "openssl x509 -in \"$1\" -pubkey -noout | openssl pkey -pubin -outform DER",
            &p("ta.crt"),
        )?,
        spare_spki_sha256: digest(
            "openssl pkey -in \"$1\" -pubout -outform DER",
            &p("spare.key"),
        )?,
    })
}

fn path(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

fn openssl(head: &[&str], tail: &[&str]) -> Result<(), String> {
    let output = Command::new("openssl")
        .args(head)
        .args(tail)
        .output()
        .map_err(|e| format!("running openssl: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "openssl {} {} failed: {}",
            head.join(" "),
            tail.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// SHA-256 (lowercase hex) of what `pipeline` (a shell pipeline reading
/// file `$1`) writes.
fn digest(pipeline: &str, file: &Path) -> Result<String, String> {
    let script = format!("set -o pipefail; {pipeline} | openssl dgst -sha256 -r");
    let output = Command::new("bash")
        .args(["-c", &script, "digest"])
        .arg(file)
        .output()
        .map_err(|e| format!("running bash: {e}"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    let hex = text.split_whitespace().next().unwrap_or("");
    if output.status.success() && hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(hex.to_ascii_lowercase())
    } else {
        Err(format!(
            "digest of {} failed: {}",
            file.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

fn concat(parts: &[&Path], out: &Path) -> Result<(), String> {
    let mut all = String::new();
    for part in parts {
        all.push_str(
            &fs::read_to_string(part).map_err(|e| format!("reading {}: {e}", part.display()))?,
        );
    }
    fs::write(out, all).map_err(|e| format!("writing {}: {e}", out.display()))
}
