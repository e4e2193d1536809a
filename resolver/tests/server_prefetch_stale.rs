//! Prefetch (unbound's `prefetch`) and serve-stale (RFC 8767) through the
//! server's pipeline (`Responder`), with a fixed clock and a scripted
//! resolver that counts its calls.

mod server_common;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use danebound_resolver::clock::FixedClock;
use danebound_resolver::config::Config;
use danebound_resolver::resolve::Resolution;
use danebound_resolver::server::Responder;
use danebound_resolver::stats;
use danebound_resolver::validator::outcome::Outcome;
use danebound_resolver::wire::{Message, RecordType, ResponseCode};
use server_common::*;

const T0: u64 = 1_800_000_000;
const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn setup(
    config: &Config,
    table: Vec<(&str, Resolution)>,
) -> (Responder, Arc<FakeResolver>, Arc<FixedClock>) {
    let clock = Arc::new(FixedClock::new(T0));
    let resolver = Arc::new(FakeResolver::with(table));
    let responder = Responder::new(config, resolver.clone(), clock.clone());
    (responder, resolver, clock)
}

async fn ask(responder: &Responder, qname: &str, qtype: RecordType) -> Message {
    let wire = query_bytes(7, qname, qtype, Flags::dnssec());
    parse(
        &responder
            .respond(&wire, CLIENT, false)
            .await
            .expect("an answer"),
    )
}

fn set(resolver: &FakeResolver, qname: &str, resolution: Resolution) {
    let mut table = resolver.table.lock().unwrap();
    table.retain(|(n, _)| n != qname);
    table.push((qname.to_string(), resolution));
}

/// The EDE code of a response, if any.
fn ede(m: &Message) -> Option<u16> {
    danebound_resolver::answer::ede_of(m).map(|(code, _)| code)
}

/// Lets spawned tasks run until `done` holds (bounded: a refresh that
/// never comes fails the test instead of hanging it).
async fn until(done: impl Fn() -> bool) -> bool {
    for _ in 0..500 {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    done()
}

// -- Prefetch -------------------------------------------------------------------

#[tokio::test]
async fn a_hit_in_the_last_tenth_of_its_ttl_is_refreshed_before_it_expires() {
    let config = Config::default();
    assert!(config.prefetch, "prefetch is on by default");
    let (responder, resolver, clock) = setup(
        &config,
        vec![("www.example.", positive(Outcome::Secure, 100))],
    );
    let before = stats::global().snapshot().prefetch;

    let m = ask(&responder, "www.example.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert_eq!(resolver.calls(), 1, "the miss");

    // At 50 % of the TTL a hit is only a hit.
    clock.advance(50);
    ask(&responder, "www.example.", RecordType::A).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(resolver.calls(), 1, "no refresh before the last 10 %");

    // In the last 10 %: answered from the cache, refreshed in the background.
    clock.advance(45);
    let m = ask(&responder, "www.example.", RecordType::A).await;
    assert_eq!(m.answers.len(), 2, "answered from the cache: {m:?}");
    assert!(
        until(|| resolver.calls() == 2).await,
        "the scripted resolver sees the refresh query"
    );
    assert!(stats::global().snapshot().prefetch > before, "counted");

    // After the original expiry (T0 + 100) the answer is still a hit: the
    // refreshed entry (stored at T0 + 95) lives to T0 + 195.
    clock.advance(10);
    let m = ask(&responder, "www.example.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert_eq!(m.answers.len(), 2);
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(resolver.calls(), 2, "a hit, no new resolution");
}

#[tokio::test]
async fn concurrent_hits_start_one_refresh_and_a_failed_one_is_not_repeated() {
    let config = Config::default();
    let clock = Arc::new(FixedClock::new(T0));
    let resolver = Arc::new(FakeResolver {
        delay_ms: 50,
        ..FakeResolver::with(vec![("www.example.", positive(Outcome::Secure, 100))])
    });
    let responder = Responder::new(&config, resolver.clone(), clock.clone());
    ask(&responder, "www.example.", RecordType::A).await;
    assert_eq!(resolver.calls(), 1);

    clock.advance(95);
    // The refresh will fail (SERVFAIL is not cached).
    set(
        &resolver,
        "www.example.",
        Resolution::servfail(Outcome::Indeterminate),
    );
    for _ in 0..5 {
        ask(&responder, "www.example.", RecordType::A).await;
    }
    assert!(until(|| resolver.calls() == 2).await);
    tokio::time::sleep(Duration::from_millis(120)).await;
    for _ in 0..5 {
        ask(&responder, "www.example.", RecordType::A).await;
    }
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert_eq!(
        resolver.calls(),
        2,
        "one refresh for the entry, however many hits, and not again after it failed"
    );
}

#[tokio::test]
async fn prefetch_can_be_turned_off() {
    let config = Config::from_toml("prefetch = false").unwrap();
    let (responder, resolver, clock) = setup(
        &config,
        vec![("www.example.", positive(Outcome::Secure, 100))],
    );
    ask(&responder, "www.example.", RecordType::A).await;
    clock.advance(95);
    ask(&responder, "www.example.", RecordType::A).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(resolver.calls(), 1);
}

#[tokio::test]
async fn bogus_entries_are_not_prefetched() {
    let config = Config::default();
    let mut bogus_answer = positive(bogus(), 100);
    bogus_answer.answers.clear();
    let (responder, resolver, clock) = setup(&config, vec![("www.example.", bogus_answer)]);
    ask(&responder, "www.example.", RecordType::A).await;
    // Held bogus_ttl (60 s); at 57 s it is in its last 10 %.
    clock.advance(57);
    let m = ask(&responder, "www.example.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(resolver.calls(), 1);
}

// -- Serve-stale ----------------------------------------------------------------

fn stale_config() -> Config {
    Config::from_toml(
        "serve_stale = true\nserve_stale_max = \"1h\"\nserve_stale_reply_ttl = 30\nprefetch = false",
    )
    .unwrap()
}

#[tokio::test]
async fn serve_stale_is_off_by_default_and_then_a_failure_is_servfail() {
    let config = Config::default();
    assert!(!config.serve_stale.enabled);
    let (responder, resolver, clock) = setup(
        &config,
        vec![("www.example.", positive(Outcome::Secure, 60))],
    );
    ask(&responder, "www.example.", RecordType::A).await;
    clock.advance(120);
    set(
        &resolver,
        "www.example.",
        Resolution::servfail(Outcome::Indeterminate),
    );
    let m = ask(&responder, "www.example.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    assert_eq!(ede(&m), Some(22), "no reachable authority");
}

#[tokio::test]
async fn an_expired_secure_answer_is_served_with_ede_3_when_every_upstream_fails() {
    let (responder, resolver, clock) = setup(
        &stale_config(),
        vec![("www.example.", positive(Outcome::Secure, 60))],
    );
    let before = stats::global().snapshot().stale;
    ask(&responder, "www.example.", RecordType::A).await;
    clock.advance(600);
    set(
        &resolver,
        "www.example.",
        Resolution::servfail(Outcome::Indeterminate),
    );
    let m = ask(&responder, "www.example.", RecordType::A).await;
    assert_eq!(
        resolver.calls(),
        2,
        "the refresh was tried first (RFC 8767 §7)"
    );
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert_eq!(ede(&m), Some(3), "Stale Answer");
    assert!(m.metadata.authentic_data, "secure, signatures still valid");
    assert!(!m.answers.is_empty());
    for r in &m.answers {
        assert!(r.ttl <= 30 && r.ttl > 0, "RFC 8767 §4 reply TTL: {r:?}");
    }
    assert!(stats::global().snapshot().stale > before);

    // When the upstream answers again, the fresh answer replaces it.
    set(&resolver, "www.example.", positive(Outcome::Secure, 60));
    let m = ask(&responder, "www.example.", RecordType::A).await;
    assert_eq!(ede(&m), None);
    assert_eq!(m.answers[0].ttl, 60);
}

#[tokio::test]
async fn stale_nxdomain_carries_ede_19() {
    let (responder, resolver, clock) = setup(
        &stale_config(),
        vec![("nx.example.", nxdomain(Outcome::Secure, 60, 60))],
    );
    ask(&responder, "nx.example.", RecordType::A).await;
    clock.advance(120);
    set(
        &resolver,
        "nx.example.",
        Resolution::servfail(Outcome::Indeterminate),
    );
    let m = ask(&responder, "nx.example.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(ede(&m), Some(19), "Stale NXDOMAIN Answer");
}

#[tokio::test]
async fn bogus_tlsa_and_too_old_entries_are_never_served_stale() {
    let mut bogus_answer = positive(bogus(), 60);
    bogus_answer.answers.clear();
    let (responder, resolver, clock) = setup(
        &stale_config(),
        vec![
            ("bogus.example.", bogus_answer),
            ("www.example.", positive(Outcome::Secure, 60)),
            ("_25._tcp.mx.example.", positive(Outcome::Secure, 60)),
        ],
    );
    ask(&responder, "bogus.example.", RecordType::A).await;
    ask(&responder, "www.example.", RecordType::A).await;
    ask(&responder, "_25._tcp.mx.example.", RecordType::TLSA).await;
    clock.advance(120);
    for n in ["bogus.example.", "www.example.", "_25._tcp.mx.example."] {
        set(&resolver, n, Resolution::servfail(Outcome::Indeterminate));
    }
    let m = ask(&responder, "bogus.example.", RecordType::A).await;
    assert_eq!(
        m.metadata.response_code,
        ResponseCode::ServFail,
        "never bogus"
    );
    assert_ne!(ede(&m), Some(3));
    let m = ask(&responder, "_25._tcp.mx.example.", RecordType::TLSA).await;
    assert_eq!(
        m.metadata.response_code,
        ResponseCode::ServFail,
        "never TLSA"
    );
    // serve_stale_max = 1h past expiry, then no more.
    clock.advance(3_600);
    let m = ask(&responder, "www.example.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::ServFail, "too old");
}

#[tokio::test]
async fn a_stale_secure_answer_whose_signatures_expired_loses_ad() {
    // `rrsig()` expires at 2_000_000_000.
    let clock = Arc::new(FixedClock::new(1_999_999_950));
    let resolver = Arc::new(FakeResolver::with(vec![(
        "www.example.",
        positive(Outcome::Secure, 30),
    )]));
    let responder = Responder::new(&stale_config(), resolver.clone(), clock.clone());
    ask(&responder, "www.example.", RecordType::A).await;
    clock.advance(100);
    set(
        &resolver,
        "www.example.",
        Resolution::servfail(Outcome::Indeterminate),
    );
    let m = ask(&responder, "www.example.", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert_eq!(ede(&m), Some(3));
    assert!(!m.metadata.authentic_data, "the RRSIG expired: no AD");
}
