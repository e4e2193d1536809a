#!/usr/bin/env bash
# User-space instructions of one cold case list, danebound vs unbound, counted
# by valgrind's callgrind (issue 12): steady to about 0.1 % between runs on
# a shared host where wall and CPU times swing by tens of percent, so it is
# the measure for comparing two builds of danebound (DANEBOUND_BIN, see
# scripts/lab-hold.sh). It leaves out the kernel's work (system calls, page
# faults, wake-ups: a quarter of danebound's cold CPU) and counts an
# instruction as an instruction whatever it costs (a signature verification
# is few instructions for its time), so it does not replace bench-cold.sh's
# times, and the two resolvers' counts compare their code, not their speed.
#
# For each resolver and round: a fresh process under callgrind (cold
# caches), counters zeroed once it listens, the list sent one name at a
# time (as bench-cold.sh), the counters dumped. Not part of CI.
#
# Usage (as root; installs valgrind when missing; helpers in
# scripts/bench-lib.sh):
#   scripts/cold-instructions.sh [ROUNDS [RESOLVERS]]   defaults: 2 "danebound unbound"
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${1:-2}
WHO=${2:-danebound unbound}
bench=cold-instructions
command -v callgrind_control >/dev/null || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null
}
# shellcheck source=scripts/bench-lib.sh
. scripts/bench-lib.sh
pin on
dumps=$work/callgrind
mkdir -p "$dumps"
for name in $WHO; do
  for round in $(seq 1 "$ROUNDS"); do
    rm -f "$dumps"/*
    pin_server=(taskset -c 0 valgrind --tool=callgrind --callgrind-out-file="$dumps/out.%p")
    start "$name" recursive 1 $((1 << 30))
    callgrind_control -z "$server" >/dev/null 2>&1
    cold_list 1
    callgrind_control -d "$server" >/dev/null 2>&1
    dump=
    for _ in $(seq 1 100); do
      dump=$(find "$dumps" -name 'out.*.1' | head -1)
      [ -n "$dump" ] && grep -q '^summary:' "$dump" && break
      sleep 0.1
    done
    stop
    [ -n "$dump" ] || { echo "$bench: no callgrind dump for $name" >&2; exit 1; }
    printf '%-10s round %d: %12d instructions (%s lost)\n' "$name" "$round" \
      "$(awk '$1 == "summary:" {print $2}' "$dump")" "$lost"
  done
done
echo "($(machine))"
