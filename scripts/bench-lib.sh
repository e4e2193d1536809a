# Shared helpers of the benchmark scripts (bench-vs-unbound.sh,
# bench-dnsperf.sh, bench-cold.sh; others may source it too). Keep this
# file's name and its functions' names stable: other scripts source it.
#
# Source it after setting `bench` (the script's name, for messages); it
# sources scripts/lab-hold.sh (builds, starts the signed lab, defines `work`,
# `pids`, `danebound` and the EXIT trap), copies unbound where AppArmor lets
# it read the lab's files, and defines:
#   bench_need CMD...           installs the Debian packages of the benchmarks
#                               when one of the commands is missing
#   pin on|off                  sets pin_server / pin_client (taskset: the
#                               resolver on CPU 0, the clients on CPU 1)
#   configure NAME MODE W BYTES writes danebound's or unbound's configuration
#                               (MODE forward|recursive, W workers, cache BYTES)
#   start NAME MODE W BYTES     configures and starts NAME (danebound|unbound)
#                               on its own address; sets `server` (pid), `addr`
#   stop                        stops `server`
#   wait_secure                 waits until `addr` answers www.example.test. with AD
#   cold_list CLIENTS           sends the case list ($queries) once from ONE
#                               client process to `addr` (DO=1, 5 s timeout,
#                               CLIENTS sockets and outstanding queries); sets
#                               `wall` (run time, ms), `resolving` (sum of the
#                               per-query latencies, ms) and `lost`. The
#                               client is COLD_CLIENT: dns_load (default; the
#                               built example, or LOAD_BIN) or dnsperf
#   nsd_queries                 queries the lab's NSDs have received so far
#   cpu_ticks PID, rss_kib PID  utime+stime (ticks of 10 ms), VmRSS (KiB)
#   cpu_ns PID                  on-CPU ns of all of PID's threads (schedstat)
#   cpu_us_per TICKS N          server CPU per answer, µs
#   dnsperf_value OUT FIELD     a figure of dnsperf's summary ("Queries per
#                               second:", "Queries completed:", ...)
#   median                      the median of the numbers on stdin
#   machine                     one line: CPUs, model, unbound version, load
# Addresses: danebound on $db_addr, unbound on $ub_addr (in the lab's /24).
# shellcheck shell=bash

PATH=$PATH:/usr/sbin:/sbin
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}

bench_need() {
  local missing=() p
  for p in "$@"; do command -v "$p" >/dev/null || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "== $bench: installing what is missing (${missing[*]}) from Debian"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
      dnsperf unbound nsd ldnsutils bind9-utils bind9-dnsutils util-linux >/dev/null
  fi
}
bench_need unbound nsd nsd-control ldns-signzone dnssec-signzone dig dnsperf taskset

# shellcheck source=scripts/lab-hold.sh
. scripts/lab-hold.sh
db_addr=$LAB_NET.20
ub_addr=$LAB_NET.21
queries=$work/queries.txt

mkdir -p "$work/unbound"
# A copy of the binary: Debian's AppArmor profile for /usr/sbin/unbound
# forbids reading files under /tmp.
cp "$(command -v unbound)" "$work/unbound/unbound"

pin_server=() pin_client=()
pin() { # on|off
  if [ "$1" = on ] && [ "$(nproc)" -ge 2 ]; then
    pin_server=(taskset -c 0) pin_client=(taskset -c 1)
  else
    pin_server=() pin_client=()
  fi
}

configure() { # name mode workers bytes
  local name=$1 mode=$2 workers=$3 bytes=$4
  if [ "$name" = danebound ]; then
    {
      echo "listen = [\"$db_addr:53\"]"
      if [ "$mode" = forward ]; then
        echo "forward = [\"$LAB_UPSTREAM_IP:$LAB_UPSTREAM_PORT\"]"
      else
        echo "root_hints = \"$LAB_HINTS\""
        echo "do_not_query_localhost = false"
      fi
      cat <<EOF
trust_anchors = ["$LAB_ANCHOR"]
default_local_zones = false
workers = $workers
user = ""
log_level = "warn"

[cache]
max_entries = 10000000
max_bytes = $bytes
EOF
    } >"$work/danebound.toml"
  else
    {
      cat <<EOF
server:
  interface: $ub_addr
  port: 53
  num-threads: $workers
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
  msg-cache-size: $((bytes / 3))
  rrset-cache-size: $((bytes - bytes / 3))
  key-cache-size: 16m
EOF
      # Extra server: lines (UNBOUND_EXTRA, one per line).
      if [ -n "${UNBOUND_EXTRA:-}" ]; then sed 's/^/  /' <<<"$UNBOUND_EXTRA"; fi
      if [ "$mode" = recursive ]; then echo "  root-hints: \"$LAB_HINTS\""; fi
      echo "remote-control:"
      echo "  control-enable: no"
      if [ "$mode" = forward ]; then
        echo "forward-zone:"
        echo "  name: \".\""
        echo "  forward-addr: $LAB_UPSTREAM_IP@$LAB_UPSTREAM_PORT"
      fi
    } >"$work/unbound/unbound.conf"
  fi
}

# Ready when its TCP port accepts (no query, so the cache stays cold).
start() { # name mode workers bytes
  local name=$1
  configure "$@"
  case $name in
    danebound)
      addr=$db_addr
      "${pin_server[@]}" "$danebound" serve --config "$work/danebound.toml" >>"$work/danebound.log" 2>&1 &
      ;;
    unbound)
      addr=$ub_addr
      "${pin_server[@]}" "$work/unbound/unbound" -d -c "$work/unbound/unbound.conf" >>"$work/unbound.log" 2>&1 &
      ;;
  esac
  server=$!
  pids+=("$server")
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/$addr/53") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "$bench: $name did not start" >&2
  tail -20 "$work/$name.log" >&2
  exit 1
}
stop() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  sleep 0.3 # let the port go before the next start
}
wait_secure() {
  for _ in $(seq 1 100); do
    if dig +dnssec +time=1 +tries=1 @"$addr" www.example.test. A 2>/dev/null | grep -q 'flags:.* ad'; then return 0; fi
    sleep 0.1
  done
  echo "$bench: $addr does not answer www.example.test. with AD" >&2
  tail -20 "$work/danebound.log" "$work/unbound.log" >&2
  exit 1
}

# One dnsperf process for the whole list, so the time is the resolver's and
# not that of starting a client per name (one dig costs 40-150 ms on a loaded
# machine, a resolution 0-20 ms).
#
# dns_load by default: one thread sends each query as soon as it has read
# the last answer. dnsperf's sender thread at times waits about 100 ms after
# an answer came (against a warm cache: 4 of 20 lists took 105 ms for 4 ms
# of queries, with danebound; none of 40 with dns_load, either resolver),
# which swung single wall ratios from 0.18 to 3.2.
COLD_CLIENT=${COLD_CLIENT:-dns_load}
if [ "$COLD_CLIENT" = dns_load ] && [ -z "${LOAD_BIN:-}" ]; then
  cargo build --release --quiet -p danebound-resolver --example dns_load
fi
load_bin=${LOAD_BIN:-$CARGO_TARGET_DIR/release/examples/dns_load}
cold_list() {
  local out client=(dnsperf)
  [ "$COLD_CLIENT" = dns_load ] && client=("$load_bin")
  out=$("${pin_client[@]}" "${client[@]}" -s "$addr" -d "$queries" -D -n 1 -t 5 -c "$1" -q "$1" 2>&1) || {
    echo "$out" >&2
    echo "$bench: $COLD_CLIENT failed" >&2
    exit 1
  }
  # "Run time (s): 0.123456", "Queries completed: 50 (...)",
  # "Queries lost: 0 (...)", "Average Latency (s): 0.002 (min ..., max ...)".
  wall=$(awk '/Run time \(s\):/ {printf "%d", $4 * 1000}' <<<"$out")
  lost=$(awk '/Queries lost:/ {print $3}' <<<"$out")
  resolving=$(awk '/Queries completed:/ {n = $3} /Average Latency \(s\):/ {l = $4} END {printf "%d", n * l * 1000}' <<<"$out")
}

nsd_queries() {
  local total=0 n conf
  while IFS= read -r conf; do
    n=$(nsd-control -c "$conf" stats_noreset 2>/dev/null | awk -F= '$1 == "num.queries" {print $2}')
    total=$((total + ${n:-0}))
  done < <(find "$LAB_DIR" -name nsd.conf)
  echo "$total"
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# On-CPU time of all of PID's threads, ns (schedstat: finer than ticks, and
# counts only the time on the CPU, so it moves little with the load).
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {printf "%d", s}'; }
rss_kib() { awk '$1 == "VmRSS:" {print $2}' "/proc/$1/status"; }
cpu_us_per() { awk -v t="$1" -v n="$2" 'BEGIN { printf "%.2f", n ? t * 10000 / n : 0 }'; }
dnsperf_value() { # output field: the first number after FIELD
  awk -v f="$2" 'index($0, f) { split(substr($0, index($0, f) + length(f)), w, " "); print w[1]; exit }' <<<"$1"
}
median() { sort -g | awk '{v[NR] = $1} END {print NR ? v[int((NR + 1) / 2)] : "-"}'; }
machine() {
  echo "loopback; $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //');" \
    "unbound $("$work/unbound/unbound" -V 2>/dev/null | awk 'NR == 1 {print $2}');" \
    "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
}
