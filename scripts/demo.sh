#!/usr/bin/env bash
# Runs connscope on the bundled demo capture and says where the logs went.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh
cargo build --release --quiet
out="${1:-out/demo}"
mkdir -p "$out"
target/release/connscope read -r pcaps/tcp_states.pcap -w "$out"
echo "logs written to $out:"
ls -l "$out"
echo "first records of $out/conn.log:"
head -n 5 "$out/conn.log"
