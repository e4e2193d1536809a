#!/usr/bin/env bash
# Build the lab's signed DNS hierarchy from the templates in tests/lab/zones/:
#
#   .  (level 0)  ->  test.  (level 1)  ->  example.test.  (level 2)
#      ->  one case zone per test case (level 3)  ->  unsigned zones (level 4)
#
# Used twice: by tests/lab/make-fixtures.sh with fixed validity windows (the
# committed fixtures in tests/data/zones/), and by the Rust lab harness
# (tests/src/lab/) at test time with windows around the real clock.
#
# Usage: build-zones.sh --out DIR --keys DIR [--net 127.53.S]
#                       [--valid FROM TO] [--past FROM TO] [--future FROM TO]
#   --out     where signed zones go: ZONE.zone (root: root.zone), plus
#             zones.list ("LEVEL ZONE FILE" per line) and trust-anchor.ds
#   --keys    key directory; keys found there are reused, missing ones made
#   --net     first three octets of the lab addresses (default 127.53.0):
#             NET.1 root, NET.2 test., NET.3 example.test., NET.4 level 3,
#             NET.5 level 4
#   --valid   RRSIG inception/expiration of good zones (YYYYMMDDhhmmss);
#             default: one hour ago .. 30 days ahead
#   --past    window of the "expired" case (default: 60 days ago .. 7 days
#             ago: further than validators' clock-skew allowance, which is
#             up to a day in unbound)
#   --future  window of the "notyet" case (default: 7 .. 60 days ahead)
#   --rsa-bits RSA key size of the case zones (default 2048; the root's
#             keys are always 2048 bits). The lab uses 1024 to start faster.
#   --extra   directory of extra records: DIR/ZONE.extra (ZONE without the
#             final dot, e.g. example.test.extra; root.extra for the root) is
#             appended to that zone before signing (TLSA, MX, ... for tests)
#
# Needs ldnsutils (ldns-keygen, ldns-signzone, ldns-key2ds) and bind9-utils
# (dnssec-keygen, dnssec-signzone).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
templates="$here/zones"

out="" keys="" net="127.53.0" extra="" rsa_bits=2048
stamp() { date -u -d "$1" +%Y%m%d%H%M%S; }
valid_from="" valid_to="" past_from="" past_to="" future_from="" future_to=""
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --keys) keys="$2"; shift 2 ;;
    --net) net="$2"; shift 2 ;;
    --valid) valid_from="$2"; valid_to="$3"; shift 3 ;;
    --past) past_from="$2"; past_to="$3"; shift 3 ;;
    --future) future_from="$2"; future_to="$3"; shift 3 ;;
    --extra) extra="$2"; shift 2 ;;
    --rsa-bits) rsa_bits="$2"; shift 2 ;;
    *) echo "build-zones.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done
[ -n "$out" ] && [ -n "$keys" ] || { echo "usage: build-zones.sh --out DIR --keys DIR [...]" >&2; exit 2; }
: "${valid_from:=$(stamp '-1 hour')}" "${valid_to:=$(stamp '+30 days')}"
: "${past_from:=$(stamp '-60 days')}" "${past_to:=$(stamp '-7 days')}"
: "${future_from:=$(stamp '+7 days')}" "${future_to:=$(stamp '+60 days')}"

mkdir -p "$out" "$keys"
out="$(cd "$out" && pwd)"
keys="$(cd "$keys" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
: > "$out/zones.list"

# --- the case zones (level 3, children of example.test.) ---------------------
# name | signer | algorithm | denial | modification
#   denial: nsec, nsec3:SALT:ITERATIONS, nsec3-optout:SALT:ITERATIONS
#           (SALT "-" = empty), none (unsigned)
#   modification: what makes the case: "-" (a good zone), delegate (has an
#   insecure delegation "unsigned.ZONE" to level 4), past/future (validity
#   window), flip/signer/norrsig/nodenial (the signed zone edited), ds-digest/
#   ds-alg/ds-other (the DS in the parent edited)
# Keep in step with tests/src/lab/cases.rs and make-fixtures.sh's MANIFEST.
CASES="
alg5           ldns 5  nsec               -
alg7           bind 7  nsec3:-:0          -
alg8           bind 8  nsec               -
alg10          ldns 10 nsec               -
alg13          bind 13 nsec               -
alg14          ldns 14 nsec               -
alg15          ldns 15 nsec               -
alg16          bind 16 nsec               -
alg5-bind      bind 5  nsec               -
alg7-ldns      ldns 7  nsec3:-:0          -
alg10-bind     bind 10 nsec               -
alg14-bind     bind 14 nsec               -
alg15-bind     bind 15 nsec               -
alg16-ldns     ldns 16 nsec               -
nsec3          bind 13 nsec3:-:0          delegate
nsec3-salt     bind 13 nsec3:cafe:10      -
nsec3-ldns     ldns 13 nsec3:beef:5       -
nsec3-optout   bind 8  nsec3-optout:-:0   delegate
nsec3-iter200  ldns 13 nsec3:ab:200       -
insecure       none 0  none               -
unknown-digest ldns 13 nsec               ds-digest
unknown-alg    ldns 13 nsec               ds-alg
expired        ldns 13 nsec               past
notyet         ldns 13 nsec               future
tampered       ldns 13 nsec               flip
wrongsigner    ldns 13 nsec               signer
dsmismatch     ldns 13 nsec               ds-other
norrsig        ldns 13 nsec               norrsig
nodenial       ldns 13 nsec               nodenial
nodenial-nsec3 bind 13 nsec3:-:0          nodenial
"

# --- helpers -------------------------------------------------------------------

ldns_alg() {
  case "$1" in
    5) echo RSASHA1 ;; 7) echo RSASHA1-NSEC3-SHA1 ;; 8) echo RSASHA256 ;;
    10) echo RSASHA512 ;; 13) echo ECDSAP256SHA256 ;; 14) echo ECDSAP384SHA384 ;;
    15) echo ED25519 ;; 16) echo ED448 ;; *) return 1 ;;
  esac
}
bind_alg() {
  case "$1" in
    5) echo RSASHA1 ;; 7) echo NSEC3RSASHA1 ;; 8) echo RSASHA256 ;;
    10) echo RSASHA512 ;; 13) echo ECDSAP256SHA256 ;; 14) echo ECDSAP384SHA384 ;;
    15) echo ED25519 ;; 16) echo ED448 ;; *) return 1 ;;
  esac
}
keydir_of() { if [ "$1" = "." ]; then echo "$keys/root"; else echo "$keys/${1%.}"; fi; }
file_of() { if [ "$1" = "." ]; then echo "root.zone"; else echo "${1%.}.zone"; fi; }

# make_key ZONE SIGNER ALG ROLE: prints the key's base path; reuses a key
# recorded in KEYDIR/ROLE. ROLE is ksk, zsk (flags 256) or other (a KSK that
# is never published: the DS-mismatch case).
make_key() {
  local zone="$1" signer="$2" alg="$3" role="$4" dir base bits=()
  dir="$(keydir_of "$zone")"
  mkdir -p "$dir"
  if [ -s "$dir/$role" ]; then echo "$dir/$(cat "$dir/$role")"; return; fi
  case "$alg" in 5|7|8|10) bits=(-b "$rsa_bits") ;; esac
  [ "$zone" != . ] || bits=(-b 2048)
  if [ "$signer" = ldns ]; then
    local ksk=(); [ "$role" = zsk ] || ksk=(-k)
    base="$(cd "$dir" && ldns-keygen -a "$(ldns_alg "$alg")" "${bits[@]}" "${ksk[@]}" "$zone")"
    rm -f "$dir/$base.ds"
  else
    local ksk=(); [ "$role" = zsk ] || ksk=(-f KSK)
    base="$(dnssec-keygen -q -K "$dir" -a "$(bind_alg "$alg")" "${bits[@]}" "${ksk[@]}" -n ZONE "$zone")"
  fi
  echo "$base" > "$dir/$role"
  echo "$dir/$base"
}

render() { # TEMPLATE ZONE NS -> stdout (with the zone's extra records)
  sed -e "s/@NET@/$net/g" -e "s/@ZONE@/$2/g" -e "s/@NS@/$3/g" "$templates/$1"
  local x; x="$extra/$(file_of "$2")"; x="${x%.zone}.extra"
  if [ -n "$extra" ] && [ -f "$x" ]; then echo "\$ORIGIN $2"; cat "$x"; fi
}

# sign ZONE SIGNER DENIAL FROM TO INPUT OUTPUT KEYBASE...
sign() {
  local zone="$1" signer="$2" denial="$3" from="$4" to="$5" in="$6" output="$7"
  shift 7
  local kind="${denial%%:*}" salt="" iter="" nsec3=()
  if [ "$kind" != nsec ]; then
    salt="$(echo "$denial" | cut -d: -f2)"; iter="$(echo "$denial" | cut -d: -f3)"
  fi
  for k in "$@"; do cat "$k.key" >> "$in"; done
  if [ "$signer" = ldns ]; then
    if [ "$kind" != nsec ]; then
      nsec3=(-n -a 1 -t "$iter")
      [ "$salt" = - ] || nsec3+=(-s "$salt")
      [ "$kind" = nsec3-optout ] && nsec3+=(-p)
    fi
    ldns-signzone "${nsec3[@]}" -i "$from" -e "$to" -o "$zone" -f "$output" "$in" "$@"
  else
    if [ "$kind" != nsec ]; then
      nsec3=(-3 "$salt" -H "$iter")
      [ "$kind" = nsec3-optout ] && nsec3+=(-A)
    fi
    # -z: a single KSK signs everything (a combined signing key)
    local z=(); [ $# -eq 1 ] && z=(-z)
    dnssec-signzone -q -P -O full "${z[@]}" -d "$work" -s "$from" -e "$to" "${nsec3[@]}" \
      -o "$zone" -f "$output" "$in" "$@" > /dev/null
  fi
}

ds_of() { ldns-key2ds -n -2 "$1.key"; }

# Post-signing edits that break a good zone (awk over one-record-per-line
# output: owner ttl class RRSIG covered alg labels origttl exp inc tag signer sig).
break_zone() {
  local zone="$1" how="$2" file="$3" www="www.$1"
  case "$how" in
    flip) # flip one base64 character of the signature over www A (and over
          # any TLSA RRset: extra records of DANE tests, e.g. e2e_postfix.rs)
      awk -v o="$www" '$4=="RRSIG" && (($1==o && $5=="A") || $5=="TLSA") {
          s=$NF; c=substr(s,10,1); r=(c=="A")?"B":"A";
          $NF=substr(s,1,9) r substr(s,11) } {print}' "$file" ;;
    signer) # the RRSIG over www A names example.test. as its signer
      awk -v o="$www" '$1==o && $4=="RRSIG" && $5=="A" { $12="example.test." } {print}' "$file" ;;
    norrsig) # the RRSIG over www A removed
      awk -v o="$www" '!($1==o && $4=="RRSIG" && $5=="A")' "$file" ;;
    nodenial) # every NSEC/NSEC3 and its RRSIG removed
      awk '!($4=="NSEC" || $4=="NSEC3" || ($4=="RRSIG" && ($5=="NSEC" || $5=="NSEC3")))' "$file" ;;
    *) cat "$file" ;;
  esac > "$file.tmp"
  mv "$file.tmp" "$file"
}

# edit_ds MOD: rewrites DS lines on stdin (owner ttl class DS tag alg dtype digest)
edit_ds() {
  case "$1" in
    ds-digest) awk '$4=="DS" { $7=100 } {print}' ;;   # unassigned digest type
    ds-alg) awk '$4=="DS" { $6=100 } {print}' ;;      # unassigned algorithm
    *) cat ;;
  esac
}

add_zone() { echo "$1 $2 $(file_of "$2")" >> "$out/zones.list"; }

# --- level 4: unsigned zones below insecure delegations --------------------------
for parent in $(echo "$CASES" | awk '$5=="delegate" {print $1}'); do
  z="unsigned.$parent.example.test."
  render unsigned.zone "$z" ns4.example.test. > "$out/$(file_of "$z")"
  add_zone 4 "$z"
done

# --- level 3: the case zones (signed in parallel) --------------------------------
build_case() { # NAME SIGNER ALG DENIAL MOD; writes $work/NAME.deleg
  local name="$1" signer="$2" alg="$3" denial="$4" mod="$5"
  local zone="$name.example.test." in="$work/$name.in" deleg="$work/$name.deleg"
  local file="$out/$(file_of "$name.example.test.")" from="$valid_from" to="$valid_to" key
  render child.zone "$zone" ns3.example.test. > "$in"
  echo "$zone IN NS ns3.example.test." > "$deleg"
  if [ "$mod" = delegate ]; then
    echo "unsigned.$zone IN NS ns4.example.test." >> "$in"
  fi
  if [ "$signer" = none ]; then
    cp "$in" "$file"
    return
  fi
  [ "$mod" = past ] && from="$past_from" to="$past_to"
  [ "$mod" = future ] && from="$future_from" to="$future_to"
  key="$(make_key "$zone" "$signer" "$alg" ksk)"
  sign "$zone" "$signer" "$denial" "$from" "$to" "$in" "$file" "$key"
  break_zone "$zone" "$mod" "$file"
  if [ "$mod" = ds-other ]; then
    ds_of "$(make_key "$zone" "$signer" "$alg" other)" >> "$deleg"
  else
    ds_of "$key" | edit_ds "$mod" >> "$deleg"
  fi
}
# The upper levels' keys (RSA-2048 for the root: the slowest) are made
# while the case zones are built.
pids=() names=()
for spec in ". ldns 8 ksk" ". ldns 8 zsk" "test. bind 13 ksk" "test. bind 13 zsk" \
            "example.test. ldns 13 ksk"; do
  # shellcheck disable=SC2086
  make_key $spec > /dev/null &
  pids+=($!)
done
while read -r name signer alg denial mod; do
  [ -n "$name" ] || continue
  add_zone 3 "$name.example.test."
  names+=("$name")
  build_case "$name" "$signer" "$alg" "$denial" "$mod" &
  pids+=($!)
done <<< "$CASES"
for pid in "${pids[@]}"; do wait "$pid"; done
delegations="$work/delegations"
for name in "${names[@]}"; do cat "$work/$name.deleg"; done > "$delegations"

# --- level 2: example.test. (ldns, ECDSA P-256, one key, NSEC) -------------------
in="$work/example.in"
render example.test.zone example.test. - > "$in"
cat "$delegations" >> "$in"
key="$(make_key example.test. ldns 13 ksk)"
sign example.test. ldns nsec "$valid_from" "$valid_to" "$in" "$out/example.test.zone" "$key"
add_zone 2 example.test.

# --- level 1: test. (BIND, ECDSA P-256, KSK + ZSK, NSEC) --------------------------
in="$work/test.in"
render test.zone test. - > "$in"
ds_of "$key" >> "$in"
ksk="$(make_key test. bind 13 ksk)"
zsk="$(make_key test. bind 13 zsk)"
sign test. bind nsec "$valid_from" "$valid_to" "$in" "$out/test.zone" "$ksk" "$zsk"
add_zone 1 test.

# --- level 0: the root (ldns, RSASHA256, KSK + ZSK, NSEC) ------------------------
in="$work/root.in"
render root.zone . - > "$in"
ds_of "$ksk" >> "$in"
ksk="$(make_key . ldns 8 ksk)"
zsk="$(make_key . ldns 8 zsk)"
sign . ldns nsec "$valid_from" "$valid_to" "$in" "$out/root.zone" "$ksk" "$zsk"
add_zone 0 .
ds_of "$ksk" > "$out/trust-anchor.ds"
