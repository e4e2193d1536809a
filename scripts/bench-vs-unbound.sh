#!/usr/bin/env bash
# danebound against unbound on the same machine, side by side, on the signed
# test lab (loopback only). Not part of CI; never asserts anything. Issue 12.
#
# Starts the lab once (NSD per zone level and a non-validating unbound
# upstream, held by the ignored test tests/tests/lab_hold.rs), then, RUNS
# times, on fresh processes each time, both resolvers validating with the
# lab's trust anchor and the same worker/thread count:
#   * cached throughput: forwarding to the lab upstream, caches warmed with
#     the lab's names (every non-bogus case), dnsperf closed loop (DO=1,
#     CLIENTS sockets, 256 outstanding) for SECONDS s; with 1 worker each
#     (resolver pinned to CPU 0, dnsperf to CPU 1) and with 2 workers each
#     (nothing pinned); q/s, server CPU per answer (utime+stime) and how
#     busy dnsperf was (perf stat task-clock over its run time, % of a CPU);
#   * each cached run twice, with two clients (CLIENT_TOOLS): dnsperf, and
#     dns_load (resolver/examples/dns_load.rs, LOAD_BIN to give a built
#     one), a closed-loop client that sends and reads 32 datagrams per
#     system call on LOAD_SOCKETS (16) connected sockets with
#     LOAD_OUTSTANDING (256) queries in flight: dnsperf spends ~6 us of CPU
#     per query and, pinned to one core, saturates before a fast resolver
#     does; dns_load's figures carry the suffix _dns_load;
#   * the harness ceiling, before the resolvers in each run: the same
#     client runs (1 server thread pinned, 2 not) against a UDP echo server
#     that does no DNS work (resolver/examples/udp_echo.rs, ECHO_BIN to
#     give a built one), as performance.md §4 asks: when a resolver comes
#     near it, its q/s measures the client, and server CPU per answer is
#     the figure;
#   * latency: 1 worker each, dnsperf open loop at LATENCY_QPS (2,000 q/s)
#     for SECONDS s, p50 and p99 of the per-answer latencies (dnsperf -v);
#   * cold resolution, recursive from the lab's root hints (bench-cold.sh's
#     method): the case list from one client process (COLD_CLIENT,
#     dns_load unless set to dnsperf: see bench-lib.sh), one at a time and
#     PARALLEL at once, wall time and queries received by the lab's NSDs;
#   * memory: RSS growth per cached answer after MEMORY_NAMES (50,000 and
#     100,000) distinct wildcard answers (nK.wild.example.test A, each with
#     the same NSEC proof), caches large enough to hold them all (1 GiB);
#   * the byte bound: RSS growth when a cache bounded at BOUND_MIB MiB is
#     full (60,000 names), as a fraction of that bound (unbound: msg +
#     rrset cache sizes adding up to the same bound).
# Then prints ONE table: metric, danebound, unbound, ratio (danebound /
# unbound), each the median over the RUNS repetitions.
#
# Usage (as root; installs dnsperf nsd unbound ldnsutils bind9-utils
# bind9-dnsutils from Debian when missing):
#   scripts/bench-vs-unbound.sh [RUNS]                 default: 3
# Environment: SECONDS_PER_RUN (10), CLIENTS (32: dnsperf's sockets),
# CLIENT_TOOLS ("dnsperf dns_load"), LOAD_SOCKETS (16), LOAD_OUTSTANDING
# (256), LATENCY_QPS (2000),
# PARALLEL (16), MEMORY_NAMES ("50000 100000"), MEMORY_CACHE_MIB (1024: the
# caches of the per-answer fills), BOUND_MIB (16),
# SKIP ("cached latency cold memory bound": the parts to leave out),
# PERF_RECORD (a file: `perf record` of danebound's cached path with
# PERF_WORKERS workers (1), all threads, in an extra unmeasured run; see
# README for the flame graphs),
# RESOLVERS ("danebound unbound": which to measure; the order alternates),
# DANEBOUND_BIN and LAB_HOLD_BIN (prebuilt binaries: see lab-hold.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${1:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
CLIENTS=${CLIENTS:-32}
CLIENT_TOOLS=${CLIENT_TOOLS:-dnsperf dns_load}
LOAD_SOCKETS=${LOAD_SOCKETS:-16}
LOAD_OUTSTANDING=${LOAD_OUTSTANDING:-256}
LATENCY_QPS=${LATENCY_QPS:-2000}
PARALLEL=${PARALLEL:-16}
MEMORY_NAMES=${MEMORY_NAMES:-50000 100000}
BOUND_MIB=${BOUND_MIB:-16}
SKIP=${SKIP:-}
RESOLVERS=${RESOLVERS:-danebound unbound}
BIG_CACHE=$((${MEMORY_CACHE_MIB:-1024} << 20))
bench=bench-vs-unbound
# shellcheck source=scripts/bench-lib.sh
. scripts/bench-lib.sh
results=$work/results
: >"$results"
skip() { [[ " $SKIP " == *" $1 "* ]]; }
record() { echo "$1 $2 $3" >>"$results"; } # metric resolver value

# Cached throughput with $2 workers for resolver $1 ($3: pin on|off).
cached() {
  local name=$1 workers=$2 before after out qps completed tool
  pin "$3"
  start "$name" forward "$workers" "$BIG_CACHE"
  wait_secure
  dnsperf -s "$addr" -d "$queries" -D -n 2 -c 1 >/dev/null 2>&1 # warm
  for tool in $CLIENT_TOOLS; do
    before=$(cpu_ticks "$server")
    closed_loop "$tool" "$addr"
    after=$(cpu_ticks "$server")
    qps=$(dnsperf_value "$out" "Queries per second:")
    completed=$(dnsperf_value "$out" "Queries completed:")
    record "cached_qps_${workers}w$suffix" "$name" "${qps%.*}"
    record "cpu_us_${workers}w$suffix" "$name" "$(cpu_us_per $((after - before)) "$completed")"
    record "client_busy_${workers}w$suffix" "$name" "$(client_busy "$out")"
    # What was answered, not only how fast (both clients print it).
    echo "   $name, $workers worker(s), $tool: $qps q/s;$(awk -F: '/Response codes:/ {print $2}' <<<"$out")"
  done
  if [ -n "${PERF_RECORD:-}" ] && [ "$name" = danebound ] && [ "$workers" = "${PERF_WORKERS:-1}" ] && [ ! -e "$PERF_RECORD" ]; then
    # A profile of the hit path, in a run of its own (not measured).
    perf record -q -F 499 --call-graph dwarf,16384 -p "$server" -o "$PERF_RECORD" -- sleep 4 >/dev/null 2>&1 &
    "${pin_client[@]}" dnsperf -s "$addr" -d "$queries" -D -c "$CLIENTS" -q 256 -l 5 >/dev/null 2>&1
    wait $!
  fi
  if [ "$workers" = 1 ] && ! skip latency; then
    # Open loop at a fixed rate: latency without queueing in dnsperf.
    "${pin_client[@]}" dnsperf -s "$addr" -d "$queries" -D -c "$CLIENTS" -Q "$LATENCY_QPS" \
      -l "$SECONDS_PER_RUN" -v 2>/dev/null | awk '$1 == ">" {print $NF * 1e6}' | sort -g >"$work/lat"
    record p50_us "$name" "$(awk '{v[NR] = $1} END {print NR ? v[int(NR * 0.50) + 1] : 0}' "$work/lat")"
    record p99_us "$name" "$(awk '{v[NR] = $1} END {print NR ? v[int(NR * 0.99) + 1] : 0}' "$work/lat")"
  fi
  stop
}

# One closed-loop run of client $1 (dnsperf or dns_load) against $2, as
# pinned by `pin`, under `perf stat`: sets out (its summary) and suffix (the
# metrics' suffix: none for dnsperf).
closed_loop() {
  local cmd
  case $1 in
    dnsperf)
      suffix=
      cmd=(dnsperf -s "$2" -d "$queries" -D -c "$CLIENTS" -q 256 -l "$SECONDS_PER_RUN")
      ;;
    dns_load)
      suffix=_dns_load
      cmd=("$load_bin" -s "$2" -d "$queries" -D -c "$LOAD_SOCKETS" -q "$LOAD_OUTSTANDING" -l "$SECONDS_PER_RUN")
      ;;
    *)
      echo "$bench: unknown client $1 in CLIENT_TOOLS" >&2
      exit 2
      ;;
  esac
  out=$(perf stat -x, -e task-clock -o "$work/client.txt" -- "${pin_client[@]}" "${cmd[@]}" 2>&1)
}

# How busy the client was in its last run (its task-clock over its run
# time, % of one CPU): at 100 % the client, not the server, set the pace.
client_busy() {
  awk -F, -v t="$(dnsperf_value "$1" "Run time (s):")" '$3 == "task-clock" && t > 0 {printf "%.0f", $1 / t / 10}' "$work/client.txt"
}

# The harness ceiling (performance.md §4): the same client runs against a
# UDP echo server (resolver/examples/udp_echo.rs: recvmmsg/sendmmsg, no DNS
# work) with $1 threads, pinned as the resolvers are ($2: on|off): what the
# client and the kernel allow. Recorded under the name "echo".
echo_ceiling() {
  local threads=$1 out echo_pid qps tool
  pin "$2"
  "${pin_server[@]}" "$echo_bin" "$echo_addr:53" "$threads" >>"$work/echo.log" 2>&1 &
  echo_pid=$!
  pids+=("$echo_pid")
  sleep 0.3
  for tool in $CLIENT_TOOLS; do
    closed_loop "$tool" "$echo_addr"
    qps=$(dnsperf_value "$out" "Queries per second:")
    record "cached_qps_${threads}w$suffix" echo "${qps%.*}"
    record "client_busy_${threads}w$suffix" echo "$(client_busy "$out")"
  done
  kill "$echo_pid" 2>/dev/null || true
  wait "$echo_pid" 2>/dev/null || true
}

# Cold recursive resolution of the case list by resolver $1, $2 = one|all.
cold() {
  local name=$1 how=$2 before after clients=1
  [ "$how" = one ] || clients=$PARALLEL
  pin on
  start "$name" recursive 1 "$BIG_CACHE"
  before=$(nsd_queries)
  cold_list "$clients"
  after=$(nsd_queries)
  stop
  record "cold_${how}_ms" "$name" "$wall"
  record "cold_${how}_queries" "$name" $((after - before))
}

# Fills resolver $1 (cache $2 bytes) with $3 distinct wildcard answers;
# sets `growth` (RSS growth in bytes) and `answered`.
fill() {
  local name=$1 bytes=$2 count=$3 rss0 rss1 out
  pin on
  start "$name" forward 1 "$bytes"
  wait_secure # loads the keys, so the growth is the answers'
  awk -v n="$count" 'BEGIN { for (i = 1; i <= n; i++) print "n" i ".wild.example.test A" }' >"$work/names"
  sleep 0.5
  rss0=$(rss_kib "$server")
  out=$("${pin_client[@]}" dnsperf -s "$addr" -d "$work/names" -D -n 1 -c 4 -q 200 -t 10 2>&1)
  sleep 0.5
  rss1=$(rss_kib "$server")
  stop
  growth=$(((rss1 - rss0) * 1024))
  answered=$(dnsperf_value "$out" "Queries completed:")
  echo "   $name: $count names, cache $bytes B: $answered answered, $(dnsperf_value "$out" "Queries lost:") lost, in $(dnsperf_value "$out" "Run time (s):") s; RSS +$((growth >> 10)) KiB"
}

memory() { # resolver
  local count
  for count in $MEMORY_NAMES; do
    fill "$1" "$BIG_CACHE" "$count"
    record "bytes_per_answer_$((count / 1000))k" "$1" $((growth / (answered > 0 ? answered : 1)))
  done
}

bound() { # resolver
  fill "$1" $((BOUND_MIB << 20)) 60000
  record "rss_over_bound_${BOUND_MIB}MiB" "$1" "$(awk -v g="$growth" -v b=$((BOUND_MIB << 20)) 'BEGIN { printf "%.2f", g / b }')"
}

command -v perf >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q linux-perf >/dev/null
echo_addr=$LAB_NET.22
# (dns_load is built, or LOAD_BIN taken, by bench-lib.sh: load_bin.)
if [ -z "${ECHO_BIN:-}" ]; then
  cargo build --release --quiet -p danebound-resolver --example udp_echo
fi
echo_bin=${ECHO_BIN:-$CARGO_TARGET_DIR/release/examples/udp_echo}

echo "== $RUNS runs; ${SECONDS_PER_RUN}s per dnsperf run, $CLIENTS clients; $(wc -l <"$queries") lab names"
for run in $(seq 1 "$RUNS"); do
  echo "-- run $run of $RUNS"
  # Alternate which resolver goes first.
  read -r -a order <<<"$RESOLVERS"
  if [ $((run % 2)) -eq 0 ]; then mapfile -t order < <(printf '%s\n' "${order[@]}" | tac); fi
  if ! skip cached; then
    echo_ceiling 1 on
    echo_ceiling 2 off
  fi
  for name in "${order[@]}"; do
    if ! skip cached; then
      cached "$name" 1 on
      cached "$name" 2 off
    fi
    if ! skip cold; then
      cold "$name" one
      cold "$name" all
    fi
    skip memory || memory "$name"
    skip bound || bound "$name"
  done
done

echo
echo "== medians over $RUNS runs ($(date -u '+%Y-%m-%d %H:%M UTC'))"
value() { awk -v m="$1" -v n="$2" '$1 == m && $2 == n {print $3}' "$results" | median; }
# Each run's own ratio too: the two resolvers of one run shared its load.
by_run() { # metric
  awk -v m="$1" '$1 == m { v[$2, ++n[$2]] = $3 }
    END { for (i = 1; i <= n["danebound"] && i <= n["unbound"]; i++)
            printf "%s%s", (i > 1 ? " " : ""), (v["unbound", i] + 0 > 0 ? sprintf("%.2f", v["danebound", i] / v["unbound", i]) : "-") }' "$results"
}
printf '%-26s %12s %12s %7s  %s\n' metric danebound unbound ratio "ratio by run"
for metric in $(awk '!seen[$1]++ {print $1}' "$results"); do
  d=$(value "$metric" danebound)
  u=$(value "$metric" unbound)
  printf '%-26s %12s %12s %7s  %s\n' "$metric" "$d" "$u" \
    "$(awk -v d="$d" -v u="$u" 'BEGIN { if (u + 0 > 0) printf "%.2f", d / u; else print "-" }')" \
    "$(by_run "$metric")"
done
if ! skip cached; then
  percent() { awk -v v="$1" -v c="$2" 'BEGIN { if (c > 0) printf "%.0f", 100 * v / c; else print "-" }'; }
  for tool in $CLIENT_TOOLS; do
    suffix=
    [ "$tool" = dnsperf ] || suffix=_$tool
    for w in 1 2; do
      m=cached_qps_${w}w$suffix
      ceiling=$(value "$m" echo)
      echo "harness ceiling, $w thread(s) ($tool against a UDP echo server, pinned as the resolvers):" \
        "$ceiling q/s, $tool $(value "client_busy_${w}w$suffix" echo) % busy;" \
        "$m is $(percent "$(value "$m" danebound)" "$ceiling") % of it for danebound," \
        "$(percent "$(value "$m" unbound)" "$ceiling") % for unbound"
    done
  done
fi
echo "(ratio = danebound / unbound; $(machine))"
