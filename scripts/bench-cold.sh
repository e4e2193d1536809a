#!/usr/bin/env bash
# Cold-cache recursive resolution: danebound vs unbound, both recursing from
# the signed test lab's root hints (loopback only). Not part of CI.
#
# Starts the lab (held by the ignored test tests/tests/lab_hold.rs), then for
# each resolver and each round, on a fresh process (cold caches):
#   * one at a time: every non-bogus lab case asked in turn with dig;
#   * all at once: the same list asked by PARALLEL dig processes;
# and reports the wall time and the number of queries the lab's NSD servers
# received (nsd-control stats_noreset, summed over the lab's NSDs) for each.
# Both resolvers run with one worker/thread, validate with the lab's trust
# anchor, and may ask loopback authorities. Resolvers are pinned to CPU 0
# and the clients to CPU 1 when the machine has two CPUs or more.
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
now_ms() { date +%s%3N; }

run() { # name how
  local name=$1 how=$2 before after t0 t1
  start "$name" recursive 1 $((1 << 30))
  export addr
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
  printf '%-10s %-10s %6d ms  %5d queries to the lab authorities\n' "$name" "$how" $((t1 - t0)) $((after - before))
  echo "$name $how $((t1 - t0)) $((after - before))" >>"$work/results"
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
  printf '%-10s one at a time %6d ms, %5d queries; all at once %6d ms, %5d queries\n' "$name" \
    "$(column "$name" sequential 3)" "$(column "$name" sequential 4)" \
    "$(column "$name" parallel 3)" "$(column "$name" parallel 4)"
done
echo "($(machine))"
