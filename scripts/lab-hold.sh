# Sourced by scripts/bench-lib.sh (the benchmark scripts) and soak.sh: builds
# the release danebound and the lab holder, starts the signed lab in the
# background and loads its addresses ($work/lab.env). Set `bench` (the
# script's name, for messages) before sourcing; DANEBOUND_BIN=PATH uses that
# binary instead of building the release one. Defines `work`, `pids` (the
# caller adds the processes it starts), `holder`, `danebound`, and an EXIT
# trap that stops everything and removes $work.
# shellcheck shell=bash

[ "$(id -u)" -eq 0 ] || { echo "$bench: needs root (port 53 on 127.53.x.y)" >&2; exit 1; }

work=$(mktemp -d "/tmp/danebound-$bench.XXXXXX")
pids=()
holder=
cleanup() {
  rm -f "$work/lab.env"            # tells the lab holder to stop its lab
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "$holder" ]; then
    for _ in $(seq 1 100); do kill -0 "$holder" 2>/dev/null || break; sleep 0.1; done
    kill "$holder" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# DANEBOUND_BIN (a danebound binary) and LAB_HOLD_BIN (a built lab_hold
# test binary) skip the builds, e.g. to measure an older build.
echo "== building (release danebound, lab holder)"
if [ -n "${DANEBOUND_BIN:-}" ]; then
  danebound=$DANEBOUND_BIN
else
  cargo build --release --quiet -p danebound
  danebound=$CARGO_TARGET_DIR/release/danebound
fi
[ -n "${LAB_HOLD_BIN:-}" ] || cargo test --quiet -p danebound-tests --test lab_hold --no-run

echo "== starting the lab"
if [ -n "${LAB_HOLD_BIN:-}" ]; then
  DANEBOUND_LAB_HOLD=$work "$LAB_HOLD_BIN" --ignored --nocapture >"$work/lab.log" 2>&1 &
else
  DANEBOUND_LAB_HOLD=$work cargo test --quiet -p danebound-tests --test lab_hold -- \
    --ignored --nocapture >"$work/lab.log" 2>&1 &
fi
holder=$!
for _ in $(seq 1 600); do [ -f "$work/lab.env" ] && break; sleep 0.1; done
[ -f "$work/lab.env" ] || { cat "$work/lab.log" >&2; echo "$bench: lab did not start" >&2; exit 1; }
# shellcheck disable=SC1091
. "$work/lab.env"
