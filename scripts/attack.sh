#!/usr/bin/env bash
# Attack figures (issue 11): what the lab's attack zones cost danebound
# (release build), on loopback only. Not part of CI; tests/tests/lab_attack.rs
# is the test (outcomes and counted work), this measures CPU and throughput.
#
# Starts the lab with its attack zones (DANEBOUND_LAB_ATTACK=1, held by the
# ignored test tests/tests/lab_hold.rs, see scripts/lab-hold.sh), then two
# danebound serve processes, 1 worker each, validating with the lab's anchor:
# one forwarding to the lab's unbound upstream (127.53.S.20), one recursing
# from the lab's root hints (127.53.S.23). Then
#   1. per attack zone (tests/src/lab/attack.rs): ATTACK_N queries for new
#      names under the zone (RANDOM.zone: past the answer and failure caches,
#      as an attacker would ask) at ATTACK_RATE/s; danebound's process CPU
#      (utime+stime from /proc/PID/stat) before and after, divided by N: CPU
#      per attack query. Forwarding for all but nxnsflood, which needs
#      recursion (the forwarding upstream would do the work);
#   2. cached-name throughput of the forwarding danebound: dnsperf (closed
#      loop, the lab's non-bogus names, warmed) for SECONDS alone, then the
#      same while a second dnsperf sends 100 attack queries/s (new names under
#      every attack zone in turn); ROUNDS times each, alternating; medians and
#      their ratio (goal: at least 90 %);
#      (and the median of the rounds' ratios, attacked / alone);
#   3. RSS of both processes after all that.
# Part 1 ends with a baseline row: new names under the unsigned
# insecure.example.test., an ordinary cache miss.
# danebound is pinned to CPU 0, the dnsperf clients to CPU 1 (two CPUs or more).
#
# Usage (as root; installs the Debian packages it needs when missing, through
# scripts/bench-lib.sh):
#   scripts/attack.sh [SECONDS [ROUNDS]]        defaults: 10 3
#   ATTACK_N=600 ATTACK_RATE=200 ATTACK_QPS=100 (DANEBOUND_BIN=PATH, LAB_HOLD_BIN=PATH)
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_RUN=${1:-10}
ROUNDS=${2:-3}
ATTACK_N=${ATTACK_N:-600}
ATTACK_RATE=${ATTACK_RATE:-200}
ATTACK_QPS=${ATTACK_QPS:-100}

export DANEBOUND_LAB_ATTACK=1
bench=attack
# The lab (scripts/lab-hold.sh, with its attack zones), the Debian packages,
# the CPU and RSS readers and the median: shared with the benchmarks.
# shellcheck source=scripts/bench-lib.sh
. scripts/bench-lib.sh
[ -s "$work/attacks.txt" ] || { echo "attack: the lab holder wrote no attacks.txt" >&2; exit 1; }
fwd_addr=$LAB_NET.20
rec_addr=$LAB_NET.23

pin on # the resolvers on CPU 0, the clients on CPU 1 (pin_server, pin_client)

start_danebound() { # name addr extra-config
  cat >"$work/$1.toml" <<EOF
listen = ["$2:53"]
trust_anchors = ["$LAB_ANCHOR"]
default_local_zones = false
workers = 1
log_level = "error"
$3
[control]
enable = false
EOF
  "${pin_server[@]}" "$danebound" serve --config "$work/$1.toml" >"$work/$1.log" 2>&1 &
  pids+=($!)
  echo $! >"$work/$1.pid"
}
start_danebound forwarding "$fwd_addr" "forward = [\"$LAB_UPSTREAM_IP:$LAB_UPSTREAM_PORT\"]"
start_danebound recursive "$rec_addr" "root_hints = \"$LAB_HINTS\"
do_not_query_localhost = false"
fwd_pid=$(cat "$work/forwarding.pid")
rec_pid=$(cat "$work/recursive.pid")
for addr in "$fwd_addr" "$rec_addr"; do
  ok=
  for _ in $(seq 1 100); do
    if dig +dnssec +time=2 +tries=1 @"$addr" www.example.test. A 2>/dev/null | grep -q 'flags:.* ad'; then ok=1; break; fi
    sleep 0.2
  done
  [ -n "$ok" ] || {
    tail -20 "$work/forwarding.log" "$work/recursive.log" >&2
    echo "attack: $addr does not answer www.example.test. with AD" >&2
    exit 1
  }
done

fresh_names() { # zone count prefix -> stdout (dnsperf format)
  od -An -N$(($2 * 6)) -tx2 -w6 /dev/urandom |
    awk -v z="$1" -v p="$3" '{printf "%s%s%s%s.%s A\n", p, $1, $2, $3, z}'
}

queries=$work/queries.txt
echo "== warming the forwarding cache with $(wc -l <"$queries") lab names"
dnsperf -s "$fwd_addr" -d "$queries" -D -n 2 -c 1 >/dev/null 2>&1
rss_start_fwd=$(rss_kib "$fwd_pid")
rss_start_rec=$(rss_kib "$rec_pid")

echo "== 1. CPU per attack query ($ATTACK_N new names per zone at $ATTACK_RATE/s)"
printf '%-11s %-10s %9s %9s %9s %9s %10s\n' attack mode answered NOERROR NXDOMAIN SERVFAIL "CPU us/q"
# The last row, baseline, is an ordinary cache miss for comparison: new names
# under the unsigned insecure.example.test. (a signed zone's NSEC would answer
# them from the cache, RFC 8198).
while read -r name zone qname; do
  if [ "$name" = nxnsflood ]; then mode=recursive addr=$rec_addr pid=$rec_pid; else mode=forwarding addr=$fwd_addr pid=$fwd_pid; fi
  # The first query loads the zone's keys (or its bogus verdict): not counted.
  dig +dnssec +time=5 +tries=1 @"$addr" "$qname" A >/dev/null 2>&1 || true
  fresh_names "$zone" "$ATTACK_N" a >"$work/attack-$name.txt"
  before=$(cpu_ticks "$pid")
  out=$("${pin_client[@]}" dnsperf -s "$addr" -d "$work/attack-$name.txt" -D -n 1 -c 4 -t 10 -Q "$ATTACK_RATE" 2>&1)
  after=$(cpu_ticks "$pid")
  completed=$(awk '/Queries completed:/ {print $3}' <<<"$out")
  rc() { grep -o "$1 [0-9]*" <<<"$out" | awk '{print $2}' | head -1; }
  # utime+stime over the queries sent.
  cpu_us=$(cpu_us_per $((after - before)) "$ATTACK_N")
  printf '%-11s %-10s %9s %9s %9s %9s %10s\n' "$name" "$mode" "$completed" \
    "$(rc NOERROR || true)" "$(rc NXDOMAIN || true)" "$(rc SERVFAIL || true)" "$cpu_us"
  echo "$name $mode $cpu_us" >>"$work/cpu.txt"
done < <(cat "$work/attacks.txt"; echo "baseline insecure.example.test. www.insecure.example.test.")

# The attack mix for part 2: new names under every zone the forwarding
# danebound is attacked with, interleaved.
mix_count=$((ATTACK_QPS * SECONDS_PER_RUN * 2 + 1000))
while read -r name zone _; do
  [ "$name" = nxnsflood ] || fresh_names "$zone" "$mix_count" "m-$name-" >"$work/mix-$name.txt"
done <"$work/attacks.txt"
paste -d '\n' "$work"/mix-*.txt | grep -v '^$' >"$work/mix.txt"

throughput() { # -> qps of the cached names
  "${pin_client[@]}" dnsperf -s "$fwd_addr" -d "$queries" -D -c 20 -q 512 -l "$SECONDS_PER_RUN" 2>&1 |
    awk '/Queries per second:/ {print $4}'
}
echo "== 2. cached-name throughput alone and under $ATTACK_QPS attack queries/s ($ROUNDS x ${SECONDS_PER_RUN}s each)"
for round in $(seq 1 "$ROUNDS"); do
  alone=$(throughput)
  "${pin_client[@]}" dnsperf -s "$fwd_addr" -d "$work/mix.txt" -D -c 4 -t 10 -Q "$ATTACK_QPS" \
    -l $((SECONDS_PER_RUN + 2)) >"$work/mix-$round.out" 2>&1 &
  mix_pid=$!
  pids+=($mix_pid)
  sleep 1
  attacked=$(throughput)
  wait "$mix_pid" || true
  mix_done=$(awk '/Queries completed:/ {print $3}' "$work/mix-$round.out")
  mix_sf=$(grep -o 'SERVFAIL [0-9]*' "$work/mix-$round.out" | awk '{print $2}' | head -1)
  printf 'round %d: alone %8.0f qps, under attack %8.0f qps (%5.1f %%); attack queries answered %s (SERVFAIL %s)\n' \
    "$round" "$alone" "$attacked" "$(awk -v a="$attacked" -v b="$alone" 'BEGIN {print a * 100 / b}')" \
    "$mix_done" "${mix_sf:-0}"
  echo "$alone $attacked" >>"$work/throughput.txt"
done
alone=$(awk '{print $1}' "$work/throughput.txt" | median)
attacked=$(awk '{print $2}' "$work/throughput.txt" | median)
# The median of the rounds' ratios: each round's two runs are back to back,
# so a change in the machine's load between rounds cancels out.
ratio=$(awk '{print $2 * 100 / $1}' "$work/throughput.txt" | median)

echo "== results"
echo "| attack | mode | CPU per attack query |"
echo "|---|---|---|"
while read -r name mode cpu; do echo "| $name | $mode | $cpu us |"; done <"$work/cpu.txt"
printf '| cached names, alone | forwarding | %.0f qps (median of %d) |\n' "$alone" "$ROUNDS"
printf '| cached names, %d attack q/s | forwarding | %.0f qps (median of %d); median ratio per round %.1f %% (goal >= 90 %%) |\n' \
  "$ATTACK_QPS" "$attacked" "$ROUNDS" "$ratio"
echo "| RSS forwarding | | $rss_start_fwd kB warm, $(rss_kib "$fwd_pid") kB after the attacks |"
echo "| RSS recursive | | $rss_start_rec kB warm, $(rss_kib "$rec_pid") kB after the attacks |"
echo "panics in the logs: $(cat "$work/forwarding.log" "$work/recursive.log" | grep -c panicked || true)"
echo "($(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load average $(cut -d' ' -f1-3 /proc/loadavg); danebound on CPU 0, dnsperf on CPU 1)"
