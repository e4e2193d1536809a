#!/usr/bin/env bash
# The whole test suite: installs what the tests need (Debian/Ubuntu, as root),
# then checks formatting and lints and runs every test.
# Usage: scripts/test.sh            (from anywhere in the checkout)
set -euo pipefail
cd "$(dirname "$0")/.."

# --- system packages the tests use ------------------------------------------
# The lab tests start real authoritative servers and resolvers; the fixture
# tests read zones signed by ldns-signzone and dnssec-signzone; the
# end-to-end test (tests/tests/e2e_postfix.rs) runs Postfix's smtpd and
# posttls-finger and makes certificates with openssl (so does the DNS-over-TLS
# lab test, tests/tests/lab_dot.rs); the package test checks the packaged
# binary is stripped with binutils' readelf (cargo-deb strips with its strip);
# the binary's allocator (tikv-jemalloc-sys) builds jemalloc with make.
PACKAGES=(libssl-dev pkg-config ldnsutils bind9-utils bind9-dnsutils nsd unbound iproute2 openssl postfix binutils make)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    # Keep package services from starting by themselves: the tests start
    # their own instances from generated configs.
    created_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
      created_policy=1
    fi
    export DEBIAN_FRONTEND=noninteractive
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    [ "$created_policy" -eq 1 ] && rm -f /usr/sbin/policy-rc.d
  else
    echo "warning: not root, cannot install: ${missing[*]} (tests needing them skip)" >&2
  fi
fi

# --- cargo-deb ---------------------------------------------------------------
# tests/tests/package_deb.rs builds, installs and purges the Debian package
# (scripts/build-deb.sh); under CI it fails without cargo-deb.
if ! cargo deb --version >/dev/null 2>&1; then
  cargo install cargo-deb --locked
fi

# --- checks ------------------------------------------------------------------
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
# Every skipped test appends one line here (tests/src/skip.rs); under CI or
# DANEBOUND_REQUIRE_LAB / DANEBOUND_REQUIRE_SHARED a skip fails the test instead.
export DANEBOUND_SKIP_LOG="${TMPDIR:-/tmp}/danebound-skips.$$"
: > "$DANEBOUND_SKIP_LOG"
status=0
cargo test --workspace --quiet 2>&1 | tee /tmp/danebound-test.log || status=$?
skips=$(wc -l < "$DANEBOUND_SKIP_LOG")
if [ "$skips" -gt 0 ]; then
  echo "== $skips test(s) SKIPPED (missing lab packages, root or ../shared):"
  sort "$DANEBOUND_SKIP_LOG"
else
  echo "== no test skipped"
fi
rm -f "$DANEBOUND_SKIP_LOG"
exit "$status"
