#!/usr/bin/env bash
# Server CPU and system calls per cached answer, danebound against unbound
# (issue 12), counted by `perf stat` on the server process: figures that
# do not move with the machine's load the way q/s does. Not part of CI;
# never asserts anything. Loopback only (the signed lab).
#
# Starts the lab once, then ROUNDS times, rotating the order, for each
# danebound build given and for unbound 1.17 (`num-threads: W`,
# `so-reuseport`), on fresh processes in bench-vs-unbound.sh's cached
# configuration (forwarding to the lab's upstream, validating, caches
# warmed with the lab's 67 non-bogus names): dnsperf closed loop (DO=1,
# CLIENTS sockets, 256 outstanding, SECONDS_PER_RUN s) while `perf stat`
# counts, on every thread of the server:
#   task-clock        CPU time, µs per answer (utime+stime, exact)
#   context-switches  per answer (how often the server slept)
#   system calls      per answer, all of them and the socket calls by name
#                     (recvmmsg/sendmmsg for danebound, recvfrom/sendto
#                     and epoll_wait for unbound)
# With W=1 the server runs on CPU 0 and dnsperf on CPU 1; with W=2 nothing
# is pinned. Prints one line per run, then the medians and each round's
# ratio against unbound's run of the same round.
#
# Usage (as root; installs dnsperf, nsd, unbound, ldnsutils, bind9 tools and
# perf from Debian when missing):
#   scripts/bench-cpu.sh [ROUNDS]                      default: 3
# Environment: W (workers/threads, 1), SECONDS_PER_RUN (10), CLIENTS (32),
# BUILDS ("NAME=PATH ...": danebound binaries to compare, e.g. an older
# build; default: the release build of this tree as "danebound"),
# DANEBOUND_BIN and LAB_HOLD_BIN (see lab-hold.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${1:-3}
W=${W:-1}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
CLIENTS=${CLIENTS:-32}
bench=bench-cpu
# shellcheck source=scripts/bench-lib.sh
. scripts/bench-lib.sh
command -v perf >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q linux-perf >/dev/null

declare -A builds=()
names=()
for b in ${BUILDS:-danebound=$danebound}; do
  builds[${b%%=*}]=${b#*=}
  names+=("${b%%=*}")
done
names+=(unbound)
events=task-clock,context-switches,raw_syscalls:sys_enter
calls=(recvmmsg sendmmsg epoll_wait recvfrom sendto recvmsg sendmsg)
for c in "${calls[@]}"; do events+=,syscalls:sys_enter_$c; done
if [ "$W" = 1 ]; then pin on; else pin off; fi
results=$work/results
: >"$results"

echo "== $ROUNDS rounds; W=$W; ${SECONDS_PER_RUN}s per run, $CLIENTS clients; $(wc -l <"$queries") lab names"
for round in $(seq 1 "$ROUNDS"); do
  k=$(((round - 1) % ${#names[@]}))
  for name in "${names[@]:k}" "${names[@]:0:k}"; do
    if [ "$name" = unbound ]; then
      start unbound forward "$W" $((1 << 30))
    else
      danebound=${builds[$name]}
      start danebound forward "$W" $((1 << 30))
    fi
    wait_secure
    dnsperf -s "$addr" -d "$queries" -D -n 2 -c 1 >/dev/null 2>&1 # warm
    perf stat -x, -e "$events" -p "$server" -o "$work/perf.txt" -- sleep $((SECONDS_PER_RUN + 1)) &
    counting=$!
    sleep 0.5
    out=$("${pin_client[@]}" dnsperf -s "$addr" -d "$queries" -D -c "$CLIENTS" -q 256 -l "$SECONDS_PER_RUN" 2>&1)
    wait "$counting"
    stop
    qps=$(dnsperf_value "$out" "Queries per second:")
    answers=$(dnsperf_value "$out" "Queries completed:")
    # perf -x, lines: value,unit,event,...
    awk -F, -v n="$answers" -v name="$name" -v round="$round" -v qps="${qps%.*}" '
      $3 == "task-clock" { cpu = $1 * 1000 / n }       # msec -> µs per answer
      $3 == "context-switches" { cs = $1 / n }
      $3 == "raw_syscalls:sys_enter" { all = $1 / n }
      $3 ~ /^syscalls:sys_enter_/ { sub("syscalls:sys_enter_", "", $3); if ($1 > 0) by = by sprintf(" %s %.3f", $3, $1 / n) }
      END {
        printf "round %d %-12s %8d q/s  CPU %5.2f µs/answer  %.3f switches  %.3f syscalls/answer (%s)\n",
          round, name, qps, cpu, cs, all, substr(by, 2)
        printf "%s %d %d %.3f %.4f %.4f\n", name, round, qps, cpu, cs, all >> "/dev/stderr"
      }' "$work/perf.txt" 2>>"$results"
  done
done

echo
echo "== medians over $ROUNDS rounds, W=$W ($(date -u '+%Y-%m-%d %H:%M UTC'))"
printf '%-12s %9s %12s %10s %12s   %s\n' resolver "q/s" "CPU µs/ans" "switches" "syscalls" "CPU ratio to unbound by round"
for name in "${names[@]}"; do
  col() { awk -v n="$name" -v c="$1" '$1 == n {print $c}' "$results" | median; }
  ratios=$(awk -v n="$name" '$1 == "unbound" {u[$2] = $4} $1 == n {d[$2] = $4}
    END {for (r = 1; r in d; r++) printf "%s%.2f", (r > 1 ? " " : ""), (u[r] > 0 ? d[r] / u[r] : 0)}' "$results")
  printf '%-12s %9s %12s %10s %12s   %s\n' "$name" "$(col 3)" "$(col 4)" "$(col 5)" "$(col 6)" "$ratios"
done
echo "($(machine))"
