//! The lab cleans up after itself — on drop and on panic — and can run
//! inside a network namespace of its own.

use std::panic;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use danebound_tests::lab::{Keys, Lab, LabOptions, Level, QueryOptions, query};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

fn quick() -> LabOptions {
    LabOptions {
        keys: Keys::Fixtures,
        upstream: false,
        ..LabOptions::default()
    }
}

fn is_gone(server: std::net::SocketAddr) -> bool {
    let options = QueryOptions {
        timeout: Duration::from_millis(300),
        ..QueryOptions::default()
    };
    query(server, ".", RecordType::SOA, &options).is_err()
}

#[test]
fn dropping_the_lab_stops_servers_and_removes_files() {
    let Some(lab) = Lab::start_with_or_skip("dropping_the_lab_stops_servers", quick()) else {
        return;
    };
    let dir = lab.dir().to_path_buf();
    let root = lab.server(Level::Root);
    let reply = lab.query(root, ".", RecordType::SOA).expect("root answers");
    assert_eq!(reply.rcode(), ResponseCode::NoError);
    drop(lab);
    assert!(!dir.exists(), "{} left behind", dir.display());
    assert!(is_gone(root), "root server still answers after drop");
}

#[test]
fn a_panicking_test_still_stops_its_lab() {
    let mut seen: Option<(PathBuf, std::net::SocketAddr)> = None;
    let outcome = panic::catch_unwind(panic::AssertUnwindSafe(|| {
        let Some(lab) = Lab::start_with_or_skip("a_panicking_test_still_stops_its_lab", quick())
        else {
            return;
        };
        seen = Some((lab.dir().to_path_buf(), lab.server(Level::Root)));
        panic!("test failure while the lab runs");
    }));
    let Some((dir, root)) = seen else {
        return; // skipped
    };
    assert!(outcome.is_err());
    assert!(!dir.exists(), "{} left behind", dir.display());
    assert!(is_gone(root), "root server still answers after the panic");
}

#[test]
fn lab_in_a_namespace_serves_programs_run_there() {
    let options = LabOptions {
        netns: true,
        ..quick()
    };
    let Some(lab) = Lab::start_with_or_skip("lab_in_a_namespace", options) else {
        return;
    };
    let netns = lab.netns().expect("namespace").to_string();
    let oracle = lab.oracle().expect("oracle");

    // From the test process, through `ip netns exec`.
    let reply = lab
        .query(oracle, "www.example.test.", RecordType::A)
        .expect("query");
    assert_eq!(reply.rcode(), ResponseCode::NoError);
    assert!(reply.ad(), "validated inside the namespace");

    // Not from the host: the servers live in the namespace only.
    assert!(
        is_gone(lab.server(Level::Root)),
        "lab reachable from the host"
    );

    // A program in the namespace uses the resolv.conf the lab writes.
    lab.set_resolv_conf(&[oracle.ip()]).expect("resolv.conf");
    if Command::new("dig").arg("-v").output().is_ok() {
        let out = lab
            .command("dig")
            .args([
                "+short",
                "+time=2",
                "+tries=1",
                "www.alg8.example.test",
                "A",
            ])
            .output()
            .expect("dig in the namespace");
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "192.0.2.20");
    }

    drop(lab);
    let list = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .expect("ip netns list");
    assert!(
        !String::from_utf8_lossy(&list.stdout).contains(&netns),
        "namespace {netns} left behind"
    );
    assert!(!PathBuf::from("/etc/netns").join(&netns).exists());
}

#[test]
fn extra_records_are_signed_into_their_zone() {
    let options = LabOptions {
        extra_records: vec![(
            "example.test.".into(),
            "mx1 IN A @NET@.25\n_25._tcp.mx1 IN TLSA 3 1 1 \
             0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                .into(),
        )],
        ..quick()
    };
    let Some(lab) = Lab::start_with_or_skip("extra_records_are_signed_into_their_zone", options)
    else {
        return;
    };
    let oracle = lab.oracle().expect("oracle");
    let reply = lab
        .query(oracle, "mx1.example.test.", RecordType::A)
        .expect("query");
    assert!(reply.ad());
    assert_eq!(
        reply.answer_rdata(RecordType::A),
        vec![lab.address(25).to_string()]
    );
    let reply = lab
        .query(oracle, "_25._tcp.mx1.example.test.", RecordType::TLSA)
        .expect("query");
    assert_eq!(reply.rcode(), ResponseCode::NoError);
    assert!(reply.ad(), "TLSA validated");
    assert_eq!(reply.answer_rdata(RecordType::TLSA).len(), 1);
}

#[test]
fn the_stripping_upstream_relays_answers_without_rrsigs() {
    let options = LabOptions {
        upstream: true,
        oracle: false,
        stripping_upstream: true,
        ..quick()
    };
    let Some(lab) = Lab::start_with_or_skip("the_stripping_upstream", options) else {
        return;
    };
    let options = QueryOptions {
        checking_disabled: true,
        ..QueryOptions::default()
    };
    let name = "www.example.test.";
    let upstream = lab.upstream().expect("upstream");
    let full = query(upstream, name, RecordType::A, &options).expect("upstream answers");
    assert!(!full.answer_rdata(RecordType::RRSIG).is_empty());
    let stripping = lab.stripping_upstream().expect("stripping upstream");
    let stripped = query(stripping, name, RecordType::A, &options).expect("proxy answers");
    assert_eq!(stripped.rcode(), ResponseCode::NoError);
    assert_eq!(
        stripped.answer_rdata(RecordType::A),
        vec!["192.0.2.10".to_string()]
    );
    assert!(
        stripped.answer_rdata(RecordType::RRSIG).is_empty(),
        "RRSIG relayed"
    );
}
