//! Prometheus metrics over HTTP (off by default; `[metrics] listen`).
//!
//! A minimal HTTP/1.1 server: `GET /metrics` answers the counters of
//! [`crate::stats`] in the text exposition format (version 0.0.4), anything
//! else 404 or 405; one request per connection, requests limited in size
//! and time. Names follow Prometheus' conventions: `danebound_` prefix,
//! counters end in `_total`, latencies are histograms in seconds.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use crate::stats::{BUCKETS_US, HistogramSnapshot, RCODES, Snapshot, VALIDATION};

/// Where the numbers come from (the control interface's snapshot, with the
/// cache sizes filled in).
pub type Source = Arc<dyn Fn() -> Snapshot + Send + Sync>;

const MAX_REQUEST: usize = 8192;
const TIMEOUT: Duration = Duration::from_secs(5);
const MAX_CONNECTIONS: usize = 16;

/// Serves `listener` until dropped.
pub async fn serve(listener: TcpListener, source: Source) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::warn!("metrics accept error: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else {
            continue;
        };
        let source = Arc::clone(&source);
        tokio::spawn(async move {
            let _ = tokio::time::timeout(TIMEOUT, connection(stream, &source)).await;
            drop(permit);
        });
    }
}

async fn connection(mut stream: TcpStream, source: &Source) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.len() > MAX_REQUEST {
            return respond(&mut stream, "431 Request Header Fields Too Large", "").await;
        }
    }
    let request_line = buf.split(|&b| b == b'\r').next().unwrap_or_default();
    let mut parts = request_line.split(|&b| b == b' ');
    let (method, target) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let path = target.split(|&b| b == b'?').next().unwrap_or_default();
    match (method, path) {
        (b"GET", b"/metrics") => respond(&mut stream, "200 OK", &render(&source())).await,
        (b"GET", _) => respond(&mut stream, "404 Not Found", "see /metrics\n").await,
        _ => respond(&mut stream, "405 Method Not Allowed", "").await,
    }
}

async fn respond(stream: &mut TcpStream, status: &str, body: &str) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}

/// The exposition text.
pub fn render(s: &Snapshot) -> String {
    let mut out = String::from(
        "# HELP danebound_queries_total Queries received, by transport.\n\
         # TYPE danebound_queries_total counter\n",
    );
    let _ = writeln!(
        out,
        "danebound_queries_total{{transport=\"udp\"}} {}",
        s.queries_udp
    );
    let _ = writeln!(
        out,
        "danebound_queries_total{{transport=\"tcp\"}} {}",
        s.queries_tcp
    );
    let counter = |out: &mut String, name: &str, help: &str, v: u64| {
        let _ = writeln!(
            out,
            "# HELP danebound_{name} {help}\n# TYPE danebound_{name} counter\ndanebound_{name} {v}"
        );
    };
    counter(
        &mut out,
        "cache_hits_total",
        "Queries answered from the cache.",
        s.cache_hits,
    );
    counter(
        &mut out,
        "cache_misses_total",
        "Queries sent to the resolver.",
        s.cache_misses,
    );
    counter(
        &mut out,
        "prefetch_total",
        "Cache entries refreshed in the background before they expired.",
        s.prefetch,
    );
    counter(
        &mut out,
        "stale_answers_total",
        "Expired answers served because the upstreams failed (RFC 8767).",
        s.stale,
    );
    counter(
        &mut out,
        "aggressive_nxdomain_total",
        "NXDOMAIN answers from validated NSEC/NSEC3 spans (RFC 8198).",
        s.aggressive_nxdomain,
    );
    counter(
        &mut out,
        "aggressive_nodata_total",
        "NODATA answers from validated NSEC/NSEC3 spans (RFC 8198).",
        s.aggressive_nodata,
    );
    counter(
        &mut out,
        "upstream_queries_total",
        "Queries sent upstream (recursing: each query to an authority; forwarding: each question forwarded).",
        s.upstream_queries,
    );
    counter(
        &mut out,
        "upstream_failures_total",
        "Upstream queries that got no usable answer.",
        s.upstream_failures,
    );
    counter(
        &mut out,
        "upstream_dropped_foreign_total",
        "Upstream datagrams dropped for a foreign ID or question (RFC 5452).",
        s.forgeries.foreign,
    );
    counter(
        &mut out,
        "upstream_dropped_wrong_case_total",
        "Upstream replies dropped for not echoing the 0x20 case.",
        s.forgeries.wrong_case,
    );
    counter(
        &mut out,
        "upstream_caps_fallbacks_total",
        "Upstream queries asked again without 0x20.",
        s.forgeries.caps_fallbacks,
    );
    counter(
        &mut out,
        "upstream_tls_handshakes_total",
        "TLS handshakes begun with DNS-over-TLS upstreams.",
        s.upstream_tls_handshakes,
    );
    counter(
        &mut out,
        "upstream_tls_handshake_failures_total",
        "TLS handshakes with DNS-over-TLS upstreams that failed.",
        s.upstream_tls_failures,
    );
    let _ = writeln!(
        out,
        "# HELP danebound_answers_total Answers sent, by response code.\n# TYPE danebound_answers_total counter"
    );
    for (name, n) in RCODES.iter().zip(&s.rcodes) {
        let _ = writeln!(out, "danebound_answers_total{{rcode=\"{name}\"}} {n}");
    }
    let _ = writeln!(
        out,
        "# HELP danebound_answers_validated_total Answers from the resolver or cache, by validation result.\n# TYPE danebound_answers_validated_total counter"
    );
    for (name, n) in VALIDATION.iter().zip(&s.validation) {
        let _ = writeln!(
            out,
            "danebound_answers_validated_total{{status=\"{name}\"}} {n}"
        );
    }
    let ok = s.upstream_queries - s.upstream_failures;
    let _ = writeln!(
        out,
        "# HELP danebound_upstream_rtt_seconds_sum Summed round trips of successful upstream queries.\n# TYPE danebound_upstream_rtt_seconds_sum counter\ndanebound_upstream_rtt_seconds_sum {}\n# HELP danebound_upstream_rtt_seconds_count Successful upstream queries.\n# TYPE danebound_upstream_rtt_seconds_count counter\ndanebound_upstream_rtt_seconds_count {ok}",
        seconds(s.upstream_rtt_us)
    );
    for (name, help, v) in [
        (
            "cache_entries",
            "Answers in the cache.",
            s.sizes.cache_entries,
        ),
        (
            "cache_bytes",
            "Estimated bytes held by the answer cache.",
            s.sizes.cache_bytes,
        ),
        (
            "key_store_zones",
            "Zones in the key store.",
            s.sizes.key_zones,
        ),
        (
            "key_store_bytes",
            "Bytes held by the key store.",
            s.sizes.key_bytes,
        ),
        (
            "negative_trust_anchors",
            "Active negative trust anchors (RFC 7646).",
            s.sizes.negative_trust_anchors,
        ),
    ] {
        let _ = writeln!(
            out,
            "# HELP danebound_{name} {help}\n# TYPE danebound_{name} gauge\ndanebound_{name} {v}"
        );
    }
    let _ = writeln!(
        out,
        "# HELP danebound_uptime_seconds Seconds since the server started.\n# TYPE danebound_uptime_seconds gauge\ndanebound_uptime_seconds {}",
        s.uptime.as_secs()
    );
    let _ = writeln!(
        out,
        "# HELP danebound_response_duration_seconds Time from reading a query to its answer (cache hits: one in {} is timed).\n# TYPE danebound_response_duration_seconds histogram",
        crate::stats::HIT_SAMPLE
    );
    histogram(&mut out, "hit", &s.hit_latency);
    histogram(&mut out, "miss", &s.miss_latency);
    out
}

fn histogram(out: &mut String, cache: &str, h: &HistogramSnapshot) {
    let name = "danebound_response_duration_seconds";
    let mut cumulative = 0;
    for (bound, n) in BUCKETS_US.iter().zip(&h.buckets) {
        cumulative += n;
        let _ = writeln!(
            out,
            "{name}_bucket{{cache=\"{cache}\",le=\"{}\"}} {cumulative}",
            seconds(*bound)
        );
    }
    let count = h.count();
    let _ = writeln!(
        out,
        "{name}_bucket{{cache=\"{cache}\",le=\"+Inf\"}} {count}"
    );
    let _ = writeln!(out, "{name}_sum{{cache=\"{cache}\"}} {}", seconds(h.sum_us));
    let _ = writeln!(out, "{name}_count{{cache=\"{cache}\"}} {count}");
}

/// Microseconds as seconds, without trailing zeros.
fn seconds(us: u64) -> String {
    let s = format!("{}.{:06}", us / 1_000_000, us % 1_000_000);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_is_well_formed() {
        let mut s = Snapshot {
            queries_udp: 3,
            cache_hits: 2,
            rcodes: [3, 0, 0, 0, 0, 0, 0],
            validation: [1, 1, 0, 0, 0],
            ..Snapshot::default()
        };
        s.hit_latency.buckets[2] = 2;
        s.hit_latency.sum_us = 80;
        let text = render(&s);
        assert!(text.contains("danebound_queries_total{transport=\"udp\"} 3\n"));
        assert!(text.contains("danebound_cache_hits_total 2\n"));
        assert!(text.contains("danebound_answers_total{rcode=\"NOERROR\"} 3\n"));
        assert!(text.contains(
            "danebound_response_duration_seconds_bucket{cache=\"hit\",le=\"0.00005\"} 2\n"
        ));
        assert!(
            text.contains(
                "danebound_response_duration_seconds_bucket{cache=\"hit\",le=\"10\"} 2\n"
            )
        );
        assert!(text.contains("danebound_response_duration_seconds_sum{cache=\"hit\"} 0.00008\n"));
        assert!(text.contains("danebound_response_duration_seconds_count{cache=\"miss\"} 0\n"));
        // Every sample line is `name{labels} value` with a numeric value,
        // and every family has HELP and TYPE once.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (_, value) = line.rsplit_once(' ').unwrap();
            assert!(value.parse::<f64>().is_ok(), "{line}");
        }
        let types = text.lines().filter(|l| l.starts_with("# TYPE")).count();
        let helps = text.lines().filter(|l| l.starts_with("# HELP")).count();
        assert_eq!(types, helps);
        assert_eq!(seconds(1_800_000), "1.8");
        assert_eq!(seconds(0), "0");
    }
}
