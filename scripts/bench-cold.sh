#!/usr/bin/env bash
# Cold-cache recursive resolution: danebound vs unbound, both recursing from
# the signed test lab's root hints (loopback only). Not part of CI.
#
# Starts the lab (held by the ignored test tests/tests/lab_hold.rs), then for
# each resolver and each round, on a fresh process (cold caches), sends every
# non-bogus lab case (DO=1) from ONE client process (COLD_CLIENT: dns_load,
# or dnsperf; see scripts/bench-lib.sh), once through the list:
#   * one at a time: one client, at most one query outstanding (-c 1 -q 1);
#   * all at once: PARALLEL clients, PARALLEL queries outstanding;
# and reports the client's run time (first query sent to last answer), the
# resolver time (the sum of the per-query latencies: average latency x
# queries completed), the queries lost (no answer in 5 s), the resolver's
# on-CPU time during the list (schedstat of all its threads: moves little
# with the machine's load, unlike the wall times) and the number of
# queries the lab's NSD servers received (nsd-control stats_noreset, summed
# over the lab's NSDs) for each. One client process for the whole list, so
# the wall time is the resolvers' (an earlier version started one dig per
# name, 40-150 ms each on a loaded machine, which swamped the 0-20 ms a
# resolution takes).
# Both resolvers run with one worker/thread, validate with the lab's trust
# anchor, and may ask loopback authorities. Resolvers are pinned to CPU 0
# and the client to CPU 1 when the machine has two CPUs or more.
#
# Usage (as root; installs dnsperf nsd unbound ldnsutils bind9-utils from
# Debian when missing; helpers in scripts/bench-lib.sh):
#   scripts/bench-cold.sh [ROUNDS [PARALLEL]]      defaults: 3 16
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${1:-3}
PARALLEL=${2:-16}
bench=bench-cold
# shellcheck source=scripts/bench-lib.sh
. scripts/bench-lib.sh
count=$(wc -l <"$queries")
pin on
run() { # name how
  local name=$1 how=$2 before after clients
  start "$name" recursive 1 $((1 << 30))
  clients=1
  [ "$how" = sequential ] || clients=$PARALLEL
  before=$(nsd_queries)
  c0=$(cpu_ns "$server")
  cold_list "$clients"
  c1=$(cpu_ns "$server")
  after=$(nsd_queries)
  stop
  cpu=$(((c1 - c0) / 1000000))
  printf '%-10s %-10s %6d ms (resolving %5d ms, %d lost, CPU %4d ms)  %5d queries to the lab authorities\n' "$name" "$how" "$wall" "$resolving" "$lost" "$cpu" $((after - before))
  echo "$name $how $wall $((after - before)) $resolving $lost $cpu" >>"$work/results"
}

echo "== $ROUNDS rounds, $count names, cold caches; parallel = $PARALLEL at once"
for round in $(seq 1 "$ROUNDS"); do
  echo "-- round $round"
  for how in sequential parallel; do
    if [ $((round % 2)) -eq 1 ]; then run danebound "$how"; run unbound "$how"; else run unbound "$how"; run danebound "$how"; fi
  done
done

echo "== medians over $ROUNDS rounds"
column() { awk -v n="$1" -v h="$2" -v c="$3" '$1 == n && $2 == h {print $c}' "$work/results" | median; }
for name in danebound unbound; do
  printf '%-10s one at a time %6d ms (resolving %5d ms, %d lost, CPU %4d ms), %5d queries; all at once %6d ms (resolving %5d ms, %d lost, CPU %4d ms), %5d queries\n' "$name" \
    "$(column "$name" sequential 3)" "$(column "$name" sequential 5)" "$(column "$name" sequential 6)" "$(column "$name" sequential 7)" "$(column "$name" sequential 4)" \
    "$(column "$name" parallel 3)" "$(column "$name" parallel 5)" "$(column "$name" parallel 6)" "$(column "$name" parallel 7)" "$(column "$name" parallel 4)"
done
# Wall times of single runs swing with the shared host (a resolver sometimes
# waited 15-100 ms on dnsperf's gaps between queries, which dns_load does
# not have); the time the client saw
# the queries resolving and the on-CPU time move far less, so they are
# printed beside the wall times.
echo "== per-round ratios danebound/unbound (each round runs both under the same load):"
echo "   wall one at a time, wall all at once; resolving one at a time; CPU one at a time, CPU all at once"
for round in $(seq 1 "$ROUNDS"); do
  awk -v r="$round" 'NR > 4 * (r - 1) && NR <= 4 * r {w[$1 " " $2] = $3; res[$1 " " $2] = $5; cpu[$1 " " $2] = $7}
    function ratio(a, b) { return b > 0 ? sprintf("%.2f", a / b) : "-" }
    END {printf "round %d: %s %s; %s; %s %s\n", r,
      ratio(w["danebound sequential"], w["unbound sequential"]), ratio(w["danebound parallel"], w["unbound parallel"]),
      ratio(res["danebound sequential"], res["unbound sequential"]),
      ratio(cpu["danebound sequential"], cpu["unbound sequential"]), ratio(cpu["danebound parallel"], cpu["unbound parallel"])}' "$work/results"
done
# The median of each column of the per-round ratios: steadier than the
# ratio of the medians when a few rounds stall.
for round in $(seq 1 "$ROUNDS"); do
  awk -v r="$round" 'NR > 4 * (r - 1) && NR <= 4 * r {w[$1 " " $2] = $3; res[$1 " " $2] = $5; cpu[$1 " " $2] = $7}
    function d(a, b) { return b > 0 ? a / b : 0 }
    END {print d(w["danebound sequential"], w["unbound sequential"]), d(w["danebound parallel"], w["unbound parallel"]),
      d(res["danebound sequential"], res["unbound sequential"]),
      d(cpu["danebound sequential"], cpu["unbound sequential"]), d(cpu["danebound parallel"], cpu["unbound parallel"])}' "$work/results"
done >"$work/ratios"
ratio_median() { awk -v c="$1" '{print $c}' "$work/ratios" | median | awk '{printf "%.2f", $1}'; }
echo "== median of the per-round ratios: wall one at a time $(ratio_median 1), all at once $(ratio_median 2);" \
  "resolving one at a time $(ratio_median 3); CPU one at a time $(ratio_median 4), all at once $(ratio_median 5)"
echo "($(machine))"
