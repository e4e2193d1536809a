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
# Usage (as root, with nsd unbound ldnsutils bind9-utils dnsperf installed):
#   scripts/bench-dnsperf.sh [SECONDS [CLIENTS [ROUNDS]]]     defaults: 10 20 3
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_RUN=${1:-10}
CLIENTS=${2:-20}
ROUNDS=${3:-3}
# The fixed rate of the latency runs (open loop, well below saturation).
LATENCY_QPS=${LATENCY_QPS:-10000}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}

for p in dnsperf unbound nsd dig taskset; do
  command -v "$p" >/dev/null || PATH=$PATH:/usr/sbin:/sbin command -v "$p" >/dev/null || {
    echo "bench-dnsperf: $p not found (apt-get install dnsperf unbound nsd bind9-dnsutils util-linux)" >&2
    exit 1
  }
done
PATH=$PATH:/usr/sbin:/sbin
bench=bench-dnsperf
# shellcheck source=scripts/lab-hold.sh
. scripts/lab-hold.sh
upstream="$LAB_UPSTREAM_IP@$LAB_UPSTREAM_PORT"
db_addr=$LAB_NET.20
ub_addr=$LAB_NET.21

pin_resolver=() pin_client=()
if [ "$(nproc)" -ge 2 ]; then pin_resolver=(taskset -c 0); pin_client=(taskset -c 1); fi

echo "== starting danebound on $db_addr and unbound on $ub_addr (forwarding to $LAB_UPSTREAM_IP:$LAB_UPSTREAM_PORT)"
cat >"$work/danebound.toml" <<EOF
listen = ["$db_addr:53"]
forward = ["$LAB_UPSTREAM_IP:$LAB_UPSTREAM_PORT"]
trust_anchors = ["$LAB_ANCHOR"]
default_local_zones = false
workers = 1
log_level = "warn"
EOF
"${pin_resolver[@]}" "$danebound" serve --config "$work/danebound.toml" >"$work/danebound.log" 2>&1 &
db_pid=$!
pids+=($db_pid)

mkdir -p "$work/unbound"
# A copy of the binary: Debian's AppArmor profile for /usr/sbin/unbound
# forbids reading files under /tmp.
cp "$(command -v unbound)" "$work/unbound/unbound"
cat >"$work/unbound/unbound.conf" <<EOF
server:
  interface: $ub_addr
  port: 53
  num-threads: 1
  username: ""
  chroot: ""
  directory: "$work/unbound"
  pidfile: ""
  use-syslog: no
  verbosity: 0
  access-control: 127.0.0.0/8 allow
  do-not-query-localhost: no
  local-zone: "test." nodefault
  module-config: "validator iterator"
  trust-anchor-file: "$LAB_ANCHOR"
  ede: yes
  so-reuseport: yes
  so-rcvbuf: 4m
  so-sndbuf: 4m
  msg-cache-size: 64m
  rrset-cache-size: 128m
remote-control:
  control-enable: no
forward-zone:
  name: "."
  forward-addr: $upstream
EOF
"${pin_resolver[@]}" "$work/unbound/unbound" -d -c "$work/unbound/unbound.conf" >"$work/unbound.log" 2>&1 &
ub_pid=$!
pids+=($ub_pid)

for addr in "$db_addr" "$ub_addr"; do
  ok=
  for _ in $(seq 1 100); do
    if dig +dnssec +time=1 +tries=1 @"$addr" www.example.test. A 2>/dev/null | grep -q 'flags:.* ad'; then ok=1; break; fi
    sleep 0.1
  done
  [ -n "$ok" ] || {
    echo "bench-dnsperf: $addr does not answer www.example.test. with AD" >&2
    tail -20 "$work/danebound.log" "$work/unbound.log" >&2
    exit 1
  }
done

queries=$work/queries.txt
echo "== warming both caches with $(wc -l <"$queries") lab names"
for addr in "$db_addr" "$ub_addr"; do
  dnsperf -s "$addr" -d "$queries" -D -n 2 -c 1 >/dev/null 2>&1
done

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
run() { # name addr pid
  local name=$1 addr=$2 pid=$3 out before after
  before=$(cpu_ticks "$pid")
  out=$("${pin_client[@]}" dnsperf -s "$addr" -d "$queries" -D -c "$CLIENTS" -l "$SECONDS_PER_RUN" -q 512 2>&1)
  after=$(cpu_ticks "$pid")
  local qps lat lost completed cpu_us fixed fixed_lat fixed_sd
  qps=$(awk '/Queries per second:/ {print $4}' <<<"$out")
  lat=$(awk '/Average Latency/ {print $4 * 1e6}' <<<"$out")
  completed=$(awk '/Queries completed:/ {print $3}' <<<"$out")
  lost=$(awk '/Queries lost:/ {print $3}' <<<"$out")
  # Server CPU per answered query, from utime+stime (clock ticks, 100/s).
  cpu_us=$(awk -v t=$((after - before)) -v n="$completed" 'BEGIN { printf "%.1f", n ? t * 10000 / n : 0 }')
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
median() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
column() { awk -v n="$1" -v c="$2" '$1 == n {print $c}' "$work/results" | median; }
for name in danebound unbound; do
  printf '%-10s max %8.0f qps, server CPU %5.1f us/query; avg latency at %s qps %5.0f us\n' "$name" \
    "$(column "$name" 2)" "$(column "$name" 3)" "$LATENCY_QPS" "$(column "$name" 4)"
done
echo "(loopback; $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); resolvers on CPU 0, dnsperf on CPU 1)"
