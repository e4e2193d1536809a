#!/usr/bin/env bash
# Soak (issue 11): danebound serve (release build) under a steady rate of mixed
# names for SOAK_SECONDS, forwarding to the signed lab's upstream over a lossy,
# slow path, on loopback only. Not part of CI.
#
# Starts the lab (held by the ignored test tests/tests/lab_hold.rs, see
# scripts/lab-hold.sh) with a lossy relay in front of its unbound upstream
# (DANEBOUND_LAB_LOSSY: SOAK_LOSS % of the queries dropped, the rest delayed by
# SOAK_DELAY_MS; a userspace relay, because `tc qdisc netem` needs sch_netem,
# which the test machine's kernel lacks), then danebound on 127.53.S.22:53
# forwarding through it (3 rounds), validating with the lab's anchor, 1 worker.
# Four dnsperf clients run side by side for SOAK_SECONDS, one per class of name:
#   secure    the lab's secure cases         (40 % of SOAK_QPS)
#   insecure  the lab's insecure cases       (20 %)
#   bogus     the lab's bogus cases          (10 %; SERVFAIL expected)
#   nxdomain  random names under SOAK_NX_ZONE (insecure.example.test.,
#             unsigned), a new one per query, so that
#             the cache cannot answer them   (30 %)
# and prints answers per second and rcode counts per class (SERVFAIL should
# appear only for bogus, apart from queries whose upstream attempts were all
# lost), the panics in danebound's log (none expected), and danebound's RSS
# sampled every SOAK_SAMPLE seconds, with its change after the warm-up (the
# first fifth of the run; the goal is within 10 %). The answer cache is bounded
# at SOAK_CACHE_BYTES (1 MiB) so that it is full by the end of the warm-up.
#
# Usage (as root; installs the Debian packages it needs when missing, through
# scripts/bench-lib.sh):
#   SOAK_SECONDS=600 SOAK_QPS=200 SOAK_LOSS=10 SOAK_DELAY_MS=50 scripts/soak.sh
# (DANEBOUND_BIN=PATH runs that binary instead of building the release one.)
set -euo pipefail
cd "$(dirname "$0")/.."

SOAK_SECONDS=${SOAK_SECONDS:-600}
SOAK_QPS=${SOAK_QPS:-200}
SOAK_LOSS=${SOAK_LOSS:-10}
SOAK_DELAY_MS=${SOAK_DELAY_MS:-50}
SOAK_SAMPLE=${SOAK_SAMPLE:-10}
# Where the random names go: an unsigned zone, so that every one is a cache
# miss. Under a signed zone (example.test.) the validated NSEC spans answer
# them from the cache (RFC 8198) and the lossy path is hardly used.
SOAK_NX_ZONE=${SOAK_NX_ZONE:-insecure.example.test.}
# The answer cache's bound for the run: small, so that the cache is full by
# the end of the warm-up and any RSS growth after it is not the cache filling.
SOAK_CACHE_BYTES=${SOAK_CACHE_BYTES:-1048576}

export DANEBOUND_LAB_LOSSY="$SOAK_LOSS,$SOAK_DELAY_MS"
bench=soak
# The lab (scripts/lab-hold.sh, with the lossy relay), the Debian packages
# and the RSS reader: shared with the benchmarks.
# shellcheck source=scripts/bench-lib.sh
. scripts/bench-lib.sh
[ -n "${LAB_LOSSY_IP:-}" ] || { echo "soak: the lab holder started no lossy relay" >&2; exit 1; }
db_addr=$LAB_NET.22

echo "== danebound on $db_addr, forwarding through the lossy relay $LAB_LOSSY_IP:$LAB_LOSSY_PORT" \
  "($SOAK_LOSS % lost, $SOAK_DELAY_MS ms delay) to $LAB_UPSTREAM_IP:$LAB_UPSTREAM_PORT"
cat >"$work/danebound.toml" <<EOF
listen = ["$db_addr:53"]
forward = ["$LAB_LOSSY_IP:$LAB_LOSSY_PORT"]
trust_anchors = ["$LAB_ANCHOR"]
default_local_zones = false
workers = 1
log_level = "warn"
[upstream]
rounds = 3
[cache]
max_bytes = $SOAK_CACHE_BYTES
[control]
enable = false
EOF
"$danebound" serve --config "$work/danebound.toml" >"$work/danebound.log" 2>&1 &
db_pid=$!
pids+=($db_pid)
# Warm the upstream (directly, not through the lossy path): its first
# recursion through the lab can take longer than danebound's upstream timeout,
# and a chain that failed is remembered as bogus for bogus_ttl (60 s).
dig +time=5 +tries=2 +dnssec @"$LAB_UPSTREAM_IP" www.example.test. A >/dev/null 2>&1 || true
ok=
for _ in $(seq 1 90); do
  if dig +time=2 +tries=3 @"$db_addr" www.example.test. A 2>/dev/null | grep -q 'status: NOERROR'; then ok=1; break; fi
  sleep 1
done
[ -n "$ok" ] || { tail -20 "$work/danebound.log" >&2; echo "soak: danebound does not answer" >&2; exit 1; }

# The random names: one per query the nxdomain client can send.
nx_qps=$((SOAK_QPS * 30 / 100))
nx_count=$((nx_qps * SOAK_SECONDS + 1000))
od -An -N$((nx_count * 6)) -tx2 -w6 /dev/urandom |
  awk -v z="$SOAK_NX_ZONE" '{printf "soak-%s%s%s.%s A\n", $1, $2, $3, z}' >"$work/queries-nxdomain.txt"

echo "== $SOAK_SECONDS s at $SOAK_QPS queries/s (secure 40 %, insecure 20 %, bogus 10 %, nxdomain 30 %)"
start=$(date +%s)
declare -A share=([secure]=40 [insecure]=20 [bogus]=10 [nxdomain]=30)
client_pids=()
for class in secure insecure bogus nxdomain; do
  rate=$((SOAK_QPS * share[$class] / 100))
  [ "$rate" -ge 1 ] || rate=1
  dnsperf -s "$db_addr" -d "$work/queries-$class.txt" -D -c 2 -t 10 -l "$SOAK_SECONDS" -Q "$rate" \
    >"$work/dnsperf-$class.txt" 2>&1 &
  client_pids+=($!)
  pids+=($!)
done
echo "0 $(rss_kib "$db_pid")" >"$work/rss.txt"
while :; do
  alive=
  for pid in "${client_pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
  [ -n "$alive" ] || break
  sleep "$SOAK_SAMPLE"
  kill -0 "$db_pid" 2>/dev/null || { echo "soak: danebound died" >&2; tail -30 "$work/danebound.log" >&2; exit 1; }
  echo "$(($(date +%s) - start)) $(rss_kib "$db_pid")" >>"$work/rss.txt"
done
for pid in "${client_pids[@]}"; do wait "$pid" || true; done

echo "== results"
printf '%-9s %9s %9s %7s %9s %9s %9s %9s\n' class sent answered lost "ans/s" NOERROR NXDOMAIN SERVFAIL
total_answered=0
for class in secure insecure bogus nxdomain; do
  f=$work/dnsperf-$class.txt
  sent=$(awk '/Queries sent:/ {print $3}' "$f")
  done_=$(awk '/Queries completed:/ {print $3}' "$f")
  lost=$(awk '/Queries lost:/ {print $3}' "$f")
  qps=$(awk '/Queries per second:/ {print $4}' "$f")
  rc() { grep -o "$1 [0-9]*" "$f" | awk '{print $2}' | head -1; }
  printf '%-9s %9s %9s %7s %9.1f %9s %9s %9s\n' "$class" "$sent" "$done_" "$lost" "$qps" \
    "$(rc NOERROR || true)" "$(rc NXDOMAIN || true)" "$(rc SERVFAIL || true)"
  total_answered=$((total_answered + ${done_:-0}))
done
echo "answers/s overall: $(awk -v n="$total_answered" -v s="$SOAK_SECONDS" 'BEGIN {printf "%.1f", n / s}')"
echo "lossy relay: $(cat "$work/lossy.txt" 2>/dev/null || echo unknown)"
echo "panics in danebound's log: $(grep -c 'panicked' "$work/danebound.log" || true)"
echo "RSS (kB) every ${SOAK_SAMPLE}s: $(awk '{printf "%s%s", (NR > 1 ? " " : ""), $2}' "$work/rss.txt")"
awk -v warm=$((SOAK_SECONDS / 5)) '
  $1 >= warm && !base { base = $2 }
  $1 >= warm { if ($2 > max) max = $2; if (!min || $2 < min) min = $2; last = $2 }
  END {
    if (!base) { print "RSS: run too short for a warm-up"; exit }
    printf "RSS after warm-up (%d s): %d kB, then min %d, max %d, last %d kB: %+.1f %% at the end, spread %.1f %%\n",
      warm, base, min, max, last, (last - base) * 100 / base, (max - min) * 100 / base
  }' "$work/rss.txt"
