#!/usr/bin/env bash
# Builds the Debian package of danebound: the release binary, the man pages
# rendered from the clap definitions (cli/dist/man), then `cargo deb`.
# Prints the path of the .deb on its last line.
# Usage: scripts/build-deb.sh     (needs cargo-deb: cargo install cargo-deb --locked)
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-$PWD/target}
cargo build --release --locked -p danebound
rm -rf cli/dist/man
"$target/release/danebound" generate-man cli/dist/man >/dev/null
# The package ships a stripped binary (no symbols, no debug sections: 8 MB
# installed instead of 54 MB); the release profile keeps its line tables for
# profiling and backtraces of local builds.
cargo deb --no-build --locked -p danebound --strip --no-separate-debug-symbols | tail -n 1
