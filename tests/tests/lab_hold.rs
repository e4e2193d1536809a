//! Not a test: keeps a lab running for `scripts/bench-dnsperf.sh` and
//! `scripts/bench-cold.sh`.
//!
//! Ignored unless asked for. With `DANEBOUND_LAB_HOLD=DIR` it starts a lab
//! (fixture keys, the non-validating upstream, no oracle), writes
//! `DIR/lab.env` (shell variables: the slot's address prefix, the upstream,
//! the trust anchor file, the root hints file, the lab's directory) and
//! `DIR/queries.txt` (one `name type` line per
//! non-bogus case, dnsperf's format; and `queries-secure.txt`,
//! `queries-insecure.txt`, `queries-bogus.txt` by verdict), then holds the
//! lab until `DIR/lab.env` is removed (at most an hour) and stops it.
//!
//! With `DANEBOUND_LAB_LOSSY=LOSS_PERCENT,DELAY_MS` it also starts a lossy,
//! slow path to the upstream on 127.53.S.13:53 (`LAB_LOSSY_IP`,
//! `LAB_LOSSY_PORT`; for `scripts/soak.sh`) and keeps what it dropped and
//! relayed so far in `DIR/lossy.txt`.
//!
//! With `DANEBOUND_LAB_ATTACK=1` the lab also serves the attack zones
//! (`danebound_tests::lab::attack`, for `scripts/attack.sh`), listed in
//! `DIR/attacks.txt` (`name zone qname` per line).

use std::fs;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use danebound_tests::lab::attack::ATTACKS;
use danebound_tests::lab::{CASES, Keys, Lab, LabOptions, LossyProxy, Verdict};

#[test]
#[ignore = "holds a lab for scripts/bench-dnsperf.sh; run with DANEBOUND_LAB_HOLD=DIR"]
fn hold_lab_for_benchmark() {
    let Some(dir) = std::env::var_os("DANEBOUND_LAB_HOLD").map(PathBuf::from) else {
        eprintln!("SKIPPED hold_lab_for_benchmark: DANEBOUND_LAB_HOLD is not set");
        return;
    };
    let options = LabOptions {
        keys: Keys::Fixtures,
        oracle: false,
        attack_zones: std::env::var_os("DANEBOUND_LAB_ATTACK").is_some(),
        ..LabOptions::default()
    };
    let lab = Lab::start_with(options).expect("lab starts");
    fs::create_dir_all(&dir).expect("hold dir");
    let queries: String = CASES
        .iter()
        .filter(|c| c.verdict != Verdict::Bogus)
        .map(|c| format!("{} {}\n", c.qname, c.qtype))
        .collect();
    fs::write(dir.join("queries.txt"), queries).expect("queries.txt");
    for (verdict, file) in [
        (Verdict::Secure, "queries-secure.txt"),
        (Verdict::Insecure, "queries-insecure.txt"),
        (Verdict::Bogus, "queries-bogus.txt"),
    ] {
        let lines: String = CASES
            .iter()
            .filter(|c| c.verdict == verdict)
            .map(|c| format!("{} {}\n", c.qname, c.qtype))
            .collect();
        fs::write(dir.join(file), lines).expect(file);
    }
    let attacks: String = ATTACKS
        .iter()
        .map(|a| format!("{} {} {}\n", a.name, a.zone, a.qname))
        .collect();
    fs::write(dir.join("attacks.txt"), attacks).expect("attacks.txt");
    let upstream = lab.upstream().expect("upstream");
    let lossy = std::env::var("DANEBOUND_LAB_LOSSY").ok().map(|spec| {
        let (loss, delay) = spec
            .split_once(',')
            .and_then(|(l, d)| Some((l.parse::<u32>().ok()?, d.parse::<u64>().ok()?)))
            .expect("DANEBOUND_LAB_LOSSY=LOSS_PERCENT,DELAY_MS");
        let listen = std::net::SocketAddr::new(lab.address(13).into(), 53);
        let proxy = LossyProxy::start(listen, upstream, loss, Duration::from_millis(delay))
            .expect("lossy proxy starts");
        (listen, proxy)
    });
    let env = format!(
        "LAB_SLOT={}\nLAB_NET=127.53.{}\nLAB_UPSTREAM_IP={}\nLAB_UPSTREAM_PORT={}\nLAB_ANCHOR={}\n\
         LAB_HINTS={}\nLAB_DIR={}\n",
        lab.slot(),
        lab.slot(),
        upstream.ip(),
        upstream.port(),
        lab.trust_anchor_file().display(),
        lab.root_hints_file().display(),
        lab.dir().display()
    ) + &lossy.as_ref().map_or(String::new(), |(addr, _)| {
        format!(
            "LAB_LOSSY_IP={}\nLAB_LOSSY_PORT={}\n",
            addr.ip(),
            addr.port()
        )
    });
    let env_file = dir.join("lab.env");
    let partial = dir.join("lab.env.tmp");
    fs::write(&partial, env).expect("lab.env");
    fs::rename(&partial, &env_file).expect("lab.env");
    eprintln!("lab held: {}", env_file.display());
    let deadline = Instant::now() + Duration::from_secs(3600);
    while env_file.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        if let Some((_, proxy)) = &lossy {
            let (dropped, relayed) = proxy.counts();
            let _ = fs::write(
                dir.join("lossy.txt"),
                format!("dropped {dropped} relayed {relayed}\n"),
            );
        }
    }
    drop(lossy);
    drop(lab);
}
