#!/usr/bin/env bash
# Cached-answer throughput and latency: danebound vs a validating unbound,
# side by side on the signed test lab (loopback only). Not part of CI.
#
# Starts the lab (NSD authoritatives and a non-validating unbound upstream,
# held by the ignored test tests/tests/lab_hold.rs), then
#   * danebound serve (release build), forwarding to the lab upstream,
#     validating with the lab's trust anchor, 1 worker, on 127.53.S.20:53;
#   * unbound, forwarding to the same upstream, validating with the same
#     anchor, 1 thread, on 127.53.S.21:53;
# checks that both answer www.example.test. with AD, warms both caches with
# the lab names (every non-bogus case), then runs dnsperf (DO=1) against
# each in alternation, ROUNDS times for SECONDS s: a throughput run
# (closed loop, up to 512 queries outstanding: its latency is mostly queueing)
# and a latency run at a fixed LATENCY_QPS (default 10000). Prints qps,
# latency and server CPU per query for each run, and the medians. Resolvers are pinned to CPU 0 and dnsperf
# to CPU 1 when the machine has two CPUs or more.
#
# Usage (as root; installs dnsperf nsd unbound ldnsutils bind9-utils from
# Debian when missing; helpers in scripts/bench-lib.sh):
#   scripts/bench-dnsperf.sh [SECONDS [CLIENTS [ROUNDS]]]     defaults: 10 20 3
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_RUN=${1:-10}
CLIENTS=${2:-20}
ROUNDS=${3:-3}
# The fixed rate of the latency runs (open loop, well below saturation).
LATENCY_QPS=${LATENCY_QPS:-10000}
bench=bench-dnsperf
# shellcheck source=scripts/bench-lib.sh
. scripts/bench-lib.sh
pin on

echo "== starting danebound on $db_addr and unbound on $ub_addr (forwarding to $LAB_UPSTREAM_IP:$LAB_UPSTREAM_PORT)"
start danebound forward 1 $((192 << 20))
db_pid=$server
start unbound forward 1 $((192 << 20))
ub_pid=$server
for addr in "$db_addr" "$ub_addr"; do wait_secure; done

echo "== warming both caches with $(wc -l <"$queries") lab names"
for addr in "$db_addr" "$ub_addr"; do
  dnsperf -s "$addr" -d "$queries" -D -n 2 -c 1 >/dev/null 2>&1
done

run() { # name addr pid
  local name=$1 addr=$2 pid=$3 out before after
  before=$(cpu_ticks "$pid")
  out=$("${pin_client[@]}" dnsperf -s "$addr" -d "$queries" -D -c "$CLIENTS" -l "$SECONDS_PER_RUN" -q 512 2>&1)
  after=$(cpu_ticks "$pid")
  local qps lat lost completed cpu_us fixed fixed_lat fixed_sd
  qps=$(dnsperf_value "$out" "Queries per second:")
  lat=$(awk '/Average Latency/ {print $4 * 1e6}' <<<"$out")
  completed=$(dnsperf_value "$out" "Queries completed:")
  lost=$(dnsperf_value "$out" "Queries lost:")
  # Server CPU per answered query, from utime+stime (clock ticks, 100/s).
  cpu_us=$(cpu_us_per $((after - before)) "$completed")
  fixed=$("${pin_client[@]}" dnsperf -s "$addr" -d "$queries" -D -c "$CLIENTS" -l "$SECONDS_PER_RUN" -Q "$LATENCY_QPS" 2>&1)
  fixed_lat=$(awk '/Average Latency/ {print $4 * 1e6}' <<<"$fixed")
  fixed_sd=$(awk '/Latency StdDev/ {print $4 * 1e6}' <<<"$fixed")
  printf '%-10s max %8.0f qps (lost %s, avg latency %6.0f us, server CPU %5s us/query); at %s qps: avg latency %5.0f us (sd %5.0f)\n' \
    "$name" "$qps" "$lost" "$lat" "$cpu_us" "$LATENCY_QPS" "$fixed_lat" "$fixed_sd"
  echo "$name $qps $cpu_us $fixed_lat" >>"$work/results"
}

echo "== dnsperf: $ROUNDS rounds x ${SECONDS_PER_RUN}s, -c $CLIENTS, DO=1, cache hits"
for round in $(seq 1 "$ROUNDS"); do
  echo "-- round $round"
  if [ $((round % 2)) -eq 1 ]; then
    run danebound "$db_addr" "$db_pid"; run unbound "$ub_addr" "$ub_pid"
  else
    run unbound "$ub_addr" "$ub_pid"; run danebound "$db_addr" "$db_pid"
  fi
done

echo "== medians over $ROUNDS rounds"
column() { awk -v n="$1" -v c="$2" '$1 == n {print $c}' "$work/results" | median; }
for name in danebound unbound; do
  printf '%-10s max %8.0f qps, server CPU %5.1f us/query; avg latency at %s qps %5.0f us\n' "$name" \
    "$(column "$name" 2)" "$(column "$name" 3)" "$LATENCY_QPS" "$(column "$name" 4)"
done
echo "($(machine); resolvers on CPU 0, dnsperf on CPU 1)"
