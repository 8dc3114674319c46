#!/usr/bin/env bash
# Installs what connscope needs to build and test on Debian/Ubuntu when it is
# missing: libpcap headers (the `pcap` crate links libpcap) and pkg-config;
# with --test also what the test suite drives (tcpreplay, iproute2, chromium).
set -euo pipefail
need=()
if ! { pkg-config --exists libpcap 2>/dev/null || [ -e /usr/include/pcap.h ] || [ -e /usr/include/pcap/pcap.h ]; }; then
  need+=(libpcap-dev)
fi
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
command -v python3 >/dev/null 2>&1 || need+=(python3)
if [ "${1:-}" = "--test" ]; then
  # The live-capture test replays captures through a veth pair.
  command -v tcpreplay >/dev/null 2>&1 || need+=(tcpreplay)
  command -v ip >/dev/null 2>&1 || need+=(iproute2)
  # The report test renders the HTML report in headless Chromium.
  [ -x /usr/bin/chromium ] || need+=(chromium fonts-dejavu-core)
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "ensure-deps: installing ${need[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if [ "${1:-}" = "--test" ]; then
  # Python tools of the test suite, in a venv at the repository root (.venv):
  # zeekscript (zeek-script parse / zeek-format), btest and zkg for the Zeek
  # package check; mmdb-writer + netaddr to build test MaxMind databases;
  # pyarrow and duckdb to read the Parquet logs back (tests/parquet.rs).
  root="$(cd "$(dirname "$0")/.." && pwd)"
  venv="$root/.venv"
  pip_pkgs=(zeekscript btest zkg mmdb-writer netaddr pyarrow duckdb)
  if ! "$venv/bin/python" -c 'import zeekscript, mmdb_writer, netaddr, pyarrow, duckdb' >/dev/null 2>&1 \
     || [ ! -x "$venv/bin/zkg" ] || [ ! -x "$venv/bin/btest" ]; then
    py_need=()
    python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || py_need+=(python3-venv)
    command -v git >/dev/null 2>&1 || py_need+=(git)
    if [ ${#py_need[@]} -gt 0 ]; then
      echo "ensure-deps: installing ${py_need[*]}" >&2
      SUDO=""
      [ "$(id -u)" -eq 0 ] || SUDO="sudo"
      $SUDO apt-get update -qq
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${py_need[@]}" >/dev/null
    fi
    echo "ensure-deps: creating $venv with ${pip_pkgs[*]}" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "${pip_pkgs[@]}"
  fi
fi
