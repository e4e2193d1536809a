#!/usr/bin/env bash
# Cold-cache recursive resolution: danebound vs unbound, both recursing from
# the signed test lab's root hints (loopback only). Not part of CI.
#
# Starts the lab (held by the ignored test tests/tests/lab_hold.rs), then for
# each resolver and each round, on a fresh process (cold caches), sends every
# non-bogus lab case (DO=1) from ONE dnsperf process, once through the list:
#   * one at a time: one client, at most one query outstanding (-c 1 -q 1);
#   * all at once: PARALLEL clients, PARALLEL queries outstanding;
# and reports dnsperf's run time (first query sent to last answer), the
# resolver time (the sum of the per-query latencies: average latency x
# queries completed), the queries lost (no answer in 5 s) and the number of
# queries the lab's NSD servers received (nsd-control stats_noreset, summed
# over the lab's NSDs) for each. One client process for the whole list, so
# the wall time is the resolvers' (an earlier version started one dig per
# name, 40-150 ms each on a loaded machine, which swamped the 0-20 ms a
# resolution takes).
# Both resolvers run with one worker/thread, validate with the lab's trust
# anchor, and may ask loopback authorities. Resolvers are pinned to CPU 0
# and the client to CPU 1 when the machine has two CPUs or more.
#
# Usage (as root, with nsd unbound dnsperf installed):
#   scripts/bench-cold.sh [ROUNDS [PARALLEL]]      defaults: 3 16
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${1:-3}
PARALLEL=${2:-16}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
PATH=$PATH:/usr/sbin:/sbin
for p in unbound nsd nsd-control dnsperf taskset; do
  command -v "$p" >/dev/null || {
    echo "bench-cold: $p not found (apt-get install unbound nsd dnsperf util-linux)" >&2
    exit 1
  }
done
bench=bench-cold
# shellcheck source=scripts/lab-hold.sh
. scripts/lab-hold.sh
addr=$LAB_NET.24
queries=$work/queries.txt
count=$(wc -l <"$queries")

pin_resolver=() pin_client=()
if [ "$(nproc)" -ge 2 ]; then pin_resolver=(taskset -c 0); pin_client=(taskset -c 1); fi

# Queries received by all of the lab's NSD servers so far.
nsd_queries() {
  local total=0 n conf
  while IFS= read -r conf; do
    n=$(nsd-control -c "$conf" stats_noreset 2>/dev/null | awk -F= '$1 == "num.queries" {print $2}')
    total=$((total + ${n:-0}))
  done < <(find "$LAB_DIR" -name nsd.conf)
  echo "$total"
}

cat >"$work/danebound.toml" <<EOF
listen = ["$addr:53"]
root_hints = "$LAB_HINTS"
do_not_query_localhost = false
trust_anchors = ["$LAB_ANCHOR"]
default_local_zones = false
workers = 1
log_level = "warn"
EOF

mkdir -p "$work/unbound"
# A copy of the binary: Debian's AppArmor profile for /usr/sbin/unbound
# forbids reading files under /tmp.
cp "$(command -v unbound)" "$work/unbound/unbound"
cat >"$work/unbound/unbound.conf" <<EOF
server:
  interface: $addr
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
  root-hints: "$LAB_HINTS"
  local-zone: "test." nodefault
  module-config: "validator iterator"
  trust-anchor-file: "$LAB_ANCHOR"
  ede: yes
remote-control:
  control-enable: no
EOF

start() { # name
  case $1 in
    danebound) "${pin_resolver[@]}" "$danebound" serve --config "$work/danebound.toml" >>"$work/danebound.log" 2>&1 & ;;
    unbound) "${pin_resolver[@]}" "$work/unbound/unbound" -d -c "$work/unbound/unbound.conf" >>"$work/unbound.log" 2>&1 & ;;
  esac
  server=$!
  pids+=($server)
  # Ready when its TCP port accepts (no query: the cache stays cold).
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/$addr/53") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "bench-cold: $1 did not start" >&2
  tail -20 "$work/$1.log" >&2
  exit 1
}
stop() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  # Let the port go before the next start.
  sleep 0.3
}
run() { # name how
  local name=$1 how=$2 before after clients out
  start "$name"
  clients=1
  [ "$how" = sequential ] || clients=$PARALLEL
  before=$(nsd_queries)
  out=$("${pin_client[@]}" dnsperf -s "$addr" -d "$queries" -D -n 1 -t 5 -c "$clients" -q "$clients" 2>&1) || {
    echo "$out" >&2
    echo "bench-cold: dnsperf failed" >&2
    exit 1
  }
  after=$(nsd_queries)
  stop
  local wall resolving lost
  # "Run time (s): 0.123456", "Queries completed: 50 (...)",
  # "Queries lost: 0 (...)", "Average Latency (s): 0.002 (min ..., max ...)".
  wall=$(awk '/Run time \(s\):/ {printf "%d", $4 * 1000}' <<<"$out")
  lost=$(awk '/Queries lost:/ {print $3}' <<<"$out")
  resolving=$(awk '/Queries completed:/ {n = $3} /Average Latency \(s\):/ {l = $4} END {printf "%d", n * l * 1000}' <<<"$out")
  printf '%-10s %-10s %6d ms (resolving %5d ms, %d lost)  %5d queries to the lab authorities\n' "$name" "$how" "$wall" "$resolving" "$lost" $((after - before))
  echo "$name $how $wall $((after - before)) $resolving $lost" >>"$work/results"
}

echo "== $ROUNDS rounds, $count names, cold caches; parallel = $PARALLEL at once"
for round in $(seq 1 "$ROUNDS"); do
  echo "-- round $round"
  for how in sequential parallel; do
    if [ $((round % 2)) -eq 1 ]; then run danebound "$how"; run unbound "$how"; else run unbound "$how"; run danebound "$how"; fi
  done
done

echo "== medians over $ROUNDS rounds"
median() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
column() { awk -v n="$1" -v h="$2" -v c="$3" '$1 == n && $2 == h {print $c}' "$work/results" | median; }
for name in danebound unbound; do
  printf '%-10s one at a time %6d ms (resolving %5d ms, %d lost), %5d queries; all at once %6d ms (resolving %5d ms, %d lost), %5d queries\n' "$name" \
    "$(column "$name" sequential 3)" "$(column "$name" sequential 5)" "$(column "$name" sequential 6)" "$(column "$name" sequential 4)" \
    "$(column "$name" parallel 3)" "$(column "$name" parallel 5)" "$(column "$name" parallel 6)" "$(column "$name" parallel 4)"
done
echo "(loopback; $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); unbound $(unbound -V 2>/dev/null | awk 'NR == 1 {print $2}'))"
