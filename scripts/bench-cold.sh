#!/usr/bin/env bash
# Cold-cache recursive resolution: danebound vs unbound, both recursing from
# the signed test lab's root hints (loopback only). Not part of CI.
#
# Starts the lab (held by the ignored test tests/tests/lab_hold.rs), then for
# each resolver and each round, on a fresh process (cold caches):
#   * one at a time: every non-bogus lab case asked in turn with dig;
#   * all at once: the same list asked by PARALLEL dig processes;
# and reports the wall time, the resolver time (the sum of the "Query time"
# dig reports per name: the wall time less starting one dig process per name,
# which dominates it on a loaded machine) and the number of queries the lab's
# NSD servers received (nsd-control stats_noreset, summed over the lab's NSDs)
# for each.
# Both resolvers run with one worker/thread, validate with the lab's trust
# anchor, and may ask loopback authorities. Resolvers are pinned to CPU 0
# and the clients to CPU 1 when the machine has two CPUs or more.
#
# Usage (as root, with nsd unbound bind9-dnsutils installed):
#   scripts/bench-cold.sh [ROUNDS [PARALLEL]]      defaults: 3 16
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${1:-3}
PARALLEL=${2:-16}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
PATH=$PATH:/usr/sbin:/sbin
for p in unbound nsd nsd-control dig taskset; do
  command -v "$p" >/dev/null || {
    echo "bench-cold: $p not found (apt-get install unbound nsd bind9-dnsutils util-linux)" >&2
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
now_ms() { date +%s%3N; }
# Appends dig's "Query time" (ms) to $qtimes.
ask() {
  dig +dnssec +tries=1 +time=5 @"$addr" "$1" "$2" 2>/dev/null |
    awk '/Query time:/ {print $4}' >>"$qtimes" || true
}
export -f ask
export addr
qtimes=$work/qtimes
export qtimes

run() { # name how
  local name=$1 how=$2 before after t0 t1
  start "$name"
  : >"$qtimes"
  before=$(nsd_queries)
  t0=$(now_ms)
  if [ "$how" = sequential ]; then
    while read -r qname qtype; do "${pin_client[@]}" bash -c 'ask "$0" "$1"' "$qname" "$qtype"; done <"$queries"
  else
    "${pin_client[@]}" xargs -P "$PARALLEL" -L 1 bash -c 'ask "$0" "$1"' <"$queries"
  fi
  t1=$(now_ms)
  after=$(nsd_queries)
  stop
  local resolving
  resolving=$(awk '{s += $1} END {print s + 0}' "$qtimes")
  printf '%-10s %-10s %6d ms (resolving %5d ms)  %5d queries to the lab authorities\n' "$name" "$how" $((t1 - t0)) "$resolving" $((after - before))
  echo "$name $how $((t1 - t0)) $((after - before)) $resolving" >>"$work/results"
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
  printf '%-10s one at a time %6d ms (resolving %5d ms), %5d queries; all at once %6d ms (resolving %5d ms), %5d queries\n' "$name" \
    "$(column "$name" sequential 3)" "$(column "$name" sequential 5)" "$(column "$name" sequential 4)" \
    "$(column "$name" parallel 3)" "$(column "$name" parallel 5)" "$(column "$name" parallel 4)"
done
echo "(loopback; $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); unbound $(unbound -V 2>/dev/null | awk 'NR == 1 {print $2}'))"
