#!/usr/bin/env bash
# Per-name cost of cold recursive resolution, danebound vs unbound, measured
# without clocks where possible (issue 12; the lab of scripts/bench-cold.sh).
#
# For each resolver, on ONE fresh process (cold caches), sends the lab's case
# list one name at a time, in the order of scripts/bench-cold.sh, and prints
# per name:
#   * queries the lab's NSDs received for it (nsd-control stats_noreset);
#   * the resolver's CPU time for it (on-CPU ns of all its threads,
#     /proc/PID/task/*/schedstat: load-independent up to cache effects);
#   * danebound only (control stats): upstream queries it sent, validation
#     sessions, signatures verified, DS digests, NSEC3 hashes;
#   * the latency dig saw (ms; wall time, moves with the load).
# Then the totals. Prints the table to stdout; keeps nothing.
#
# Usage (as root; helpers in scripts/bench-lib.sh):
#   scripts/cold-per-name.sh [danebound|unbound|both]     default: both
set -euo pipefail
cd "$(dirname "$0")/.."

WHO=${1:-both}
bench=cold-per-name
# shellcheck source=scripts/bench-lib.sh
. scripts/bench-lib.sh
pin on

db_stats() { # the counters this script reads, as "k=v" lines
  "$danebound" control --socket "$work/control.sock" stats 2>/dev/null |
    grep -E '^(upstream\.queries|validation\.(sessions|verifications|digests|nsec3_hashes))=' || true
}
stat_of() { awk -F= -v k="$1" '$1 == k {print $2}' <<<"$2"; }

per_name() { # name
  local name=$1 q0 q1 c0 c1 s0 s1 ms qname qtype
  start "$name" recursive 1 $((1 << 30))
  if [ "$name" = danebound ]; then
    # `start` wrote the configuration; a control socket needs a restart.
    stop
    printf '[control]\nsocket = "%s"\n' "$work/control.sock" >>"$work/danebound.toml"
    "${pin_server[@]}" "$danebound" serve --config "$work/danebound.toml" >>"$work/danebound.log" 2>&1 &
    server=$!
    pids+=("$server")
    for _ in $(seq 1 100); do
      (exec 3<>"/dev/tcp/$addr/53") 2>/dev/null && break
      sleep 0.1
    done
  fi
  printf '%-10s %-42s %-5s %4s %8s %6s' "$name" qname qtype nsd cpu_us dig_ms
  [ "$name" = danebound ] && printf ' %4s %4s %4s %4s %6s' up sess sigs dig n3h
  echo
  local tq=0 tc=0
  while read -r qname qtype; do
    # The control socket is served by the resolver: read it outside the
    # CPU window.
    [ "$name" = danebound ] && s0=$(db_stats)
    q0=$(nsd_queries)
    c0=$(cpu_ns "$server")
    ms=$("${pin_client[@]}" dig +dnssec +tries=1 +time=5 @"$addr" "$qname" "$qtype" | awk '/Query time:/ {print $4}')
    c1=$(cpu_ns "$server")
    q1=$(nsd_queries)
    tq=$((tq + q1 - q0))
    tc=$((tc + c1 - c0))
    printf '%-10s %-42s %-5s %4d %8d %6s' "$name" "$qname" "$qtype" $((q1 - q0)) $(((c1 - c0) / 1000)) "${ms:--}"
    if [ "$name" = danebound ]; then
      s1=$(db_stats)
      for k in upstream.queries validation.sessions validation.verifications validation.digests validation.nsec3_hashes; do
        printf ' %4d' $(($(stat_of "$k" "$s1") - $(stat_of "$k" "$s0")))
      done
    fi
    echo
  done <"$queries"
  printf '%-10s %-48s %4d %8d\n' "$name" "TOTAL" "$tq" $((tc / 1000))
  stop
}

case $WHO in
  danebound | unbound) per_name "$WHO" ;;
  both) per_name danebound; per_name unbound ;;
  *) echo "usage: $0 [danebound|unbound|both]" >&2; exit 2 ;;
esac
echo "($(machine))"
