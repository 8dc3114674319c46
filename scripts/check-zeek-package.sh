#!/usr/bin/env bash
# Checks the Zeek package (zkg.meta + zeek-scripts/) without Zeek:
#  1. the btest suite in zeek-scripts/testing: the syntax test (every script
#     parses with `zeek-script parse` and is zeek-format clean) runs here;
#     the tests that need a Zeek binary are skipped when there is none;
#  2. zeek-scripts/tools/check_schema.py: every record type of the package
#     equals the #fields/#types header connscope writes for that log, and the
#     ConnScope::* notice types equal connscope's;
#  3. `zkg install` of the package into a scratch state directory (zkg runs
#     without Zeek when given a config file), from a temporary git repository
#     holding this working tree's zkg.meta and zeek-scripts/ (zkg installs
#     from git; this also works on a checkout with uncommitted changes).
# Usage: scripts/check-zeek-package.sh [CONNSCOPE_BINARY]
# The tools come from the venv made by scripts/ensure-deps.sh (.venv).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
venv="$root/.venv"
[ -x "$venv/bin/zkg" ] || scripts/ensure-deps.sh --test
bin="${1:-$root/target/debug/connscope}"
[ -x "$bin" ] || cargo build --quiet --bin connscope
export PATH="$venv/bin:$PATH"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "check-zeek-package: btest (zeek-scripts/testing)"
(cd zeek-scripts/testing && CONNSCOPE="$bin" btest -d)

echo "check-zeek-package: record types against connscope's log headers"
python3 zeek-scripts/tools/check_schema.py "$bin" "$root"

echo "check-zeek-package: zkg install into a scratch state directory"
pkg="$work/connscope"
mkdir -p "$pkg" "$work/state"
cp zkg.meta "$pkg/"
cp -r zeek-scripts "$pkg/"
rm -rf "$pkg/zeek-scripts/testing/.tmp" "$pkg/zeek-scripts/testing/.btest.failed.dat"
git -C "$pkg" init -q
git -C "$pkg" add -A
git -C "$pkg" -c user.name=connscope -c user.email=connscope@localhost commit -q -m package
cat > "$work/zkg.cfg" <<CFG
[sources]
[paths]
state_dir = $work/state
script_dir = $work/state/script_dir
plugin_dir = $work/state/plugin_dir
bin_dir = $work/state/bin
CFG
zkg --configfile "$work/zkg.cfg" install --force --skiptests "$pkg" 2>"$work/zkg.err" || {
  cat "$work/zkg.err" >&2
  echo "check-zeek-package: zkg install failed" >&2
  exit 1
}
installed="$work/state/script_dir/packages/connscope"
for f in __load__.zeek main.zeek flowmeter.zeek notice-reader.zeek; do
  cmp -s "zeek-scripts/scripts/$f" "$installed/$f" || {
    echo "check-zeek-package: zkg did not install $f" >&2
    exit 1
  }
done
grep -qx '@load ./connscope' "$work/state/script_dir/packages/packages.zeek" || {
  echo "check-zeek-package: packages.zeek does not load connscope" >&2
  exit 1
}
zkg --configfile "$work/zkg.cfg" list installed 2>/dev/null | grep -q '^.*connscope' || {
  echo "check-zeek-package: zkg does not list connscope as installed" >&2
  exit 1
}
echo "check-zeek-package: ok (zkg installed $(ls "$installed" | wc -l) scripts; packages.zeek loads ./connscope)"
