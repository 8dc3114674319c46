#!/usr/bin/env bash
# Checks the systemd units: `systemd-analyze verify` must print nothing (it
# only warns, exit 0, on unknown keys and bad values, so any output fails),
# and `systemd-analyze security --offline=yes` must stay at or under an
# exposure of 2.0 (threshold 20 in systemd-analyze's tenths).
# ExecStart is pointed at the built binary so verify can check it exists.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "check-systemd: SKIPPED (systemd-analyze not installed)"
  exit 0
fi
bin="${1:-$PWD/target/debug/connscope}"
[ -x "$bin" ] || cargo build --quiet
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
sed "s#/usr/bin/connscope#$bin#" systemd/connscope@.service > "$work/connscope@.service"
cp systemd/connscope.target "$work/"
cp "$work/connscope@.service" "$work/connscope@eth0.service"
out="$(cd "$work" && systemd-analyze verify --man=no connscope@eth0.service connscope.target 2>&1 || true)"
if [ -n "$out" ]; then
  echo "check-systemd: systemd-analyze verify reported:" >&2
  echo "$out" >&2
  exit 1
fi
threshold="${CONNSCOPE_SECURITY_THRESHOLD:-20}"
sec="$(systemd-analyze security --offline=yes --threshold="$threshold" "$work/connscope@eth0.service" 2>&1)" || {
  echo "$sec" | tail -5 >&2
  echo "check-systemd: exposure above $threshold" >&2
  exit 1
}
echo "check-systemd: verify clean; $(echo "$sec" | grep -i 'overall exposure' | tr -s ' ')"
