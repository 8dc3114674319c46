#!/usr/bin/env bash
# Installs what connscope needs to build and test on Debian/Ubuntu when it is
# missing: libpcap headers (the `pcap` crate links libpcap) and pkg-config;
# with --test also what the test suite drives (tcpreplay, iproute2, chromium);
# with --kafka the C build tools of the `kafka` feature (bundled
# librdkafka); with --kafka-broker also the tansu broker of tests/kafka.rs,
# built once (unoptimised, ~8 min on 2 cores) into ~/.cache/connscope/tansu
# (scripts/test.sh runs scripts/kafka-test.sh --broker).
set -euo pipefail
# Installs Debian packages (as root, or through sudo).
apt_install() {
  echo "ensure-deps: installing $*" >&2
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
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
  apt_install "${need[@]}"
fi
if [ "${1:-}" = "--test" ]; then
  # Python tools of the test suite, in a venv at the repository root (.venv):
  # zeekscript (zeek-script parse / zeek-format), btest and zkg for the Zeek
  # package check; mmdb-writer + netaddr to build test MaxMind databases;
  # pandas + duckdb for docs/RECIPES.md (scripts/check-recipes.sh); pyarrow
  # (and duckdb) to read the Parquet logs back (tests/parquet.rs).
  root="$(cd "$(dirname "$0")/.." && pwd)"
  venv="$root/.venv"
  # confluent-kafka reads the Kafka output's topics back (tests/kafka.rs).
  pip_pkgs=(zeekscript btest zkg mmdb-writer netaddr pandas duckdb pyarrow confluent-kafka)
  if ! "$venv/bin/python" -c 'import zeekscript, mmdb_writer, netaddr, pandas, duckdb, pyarrow, confluent_kafka' >/dev/null 2>&1 \
     || [ ! -x "$venv/bin/zkg" ] || [ ! -x "$venv/bin/btest" ]; then
    py_need=()
    python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || py_need+=(python3-venv)
    command -v git >/dev/null 2>&1 || py_need+=(git)
    if [ ${#py_need[@]} -gt 0 ]; then
      apt_install "${py_need[@]}"
    fi
    echo "ensure-deps: creating $venv with ${pip_pkgs[*]}" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "${pip_pkgs[@]}"
  fi
fi
if [ "${1:-}" = "--kafka" ] || [ "${1:-}" = "--kafka-broker" ]; then
  # rdkafka compiles its bundled librdkafka (static): cc, make, perl, zlib.
  k_need=()
  command -v cc >/dev/null 2>&1 || k_need+=(gcc libc6-dev)
  command -v make >/dev/null 2>&1 || k_need+=(make)
  command -v perl >/dev/null 2>&1 || k_need+=(perl)
  [ -e /usr/include/zlib.h ] || k_need+=(zlib1g-dev)
  if [ ${#k_need[@]} -gt 0 ]; then
    apt_install "${k_need[@]}"
  fi
fi
if [ "${1:-}" = "--kafka-broker" ]; then
  # The Kafka-protocol broker of tests/kafka.rs: tansu from crates.io with
  # only the sqlite storage engine (persistent, so a restarted broker keeps
  # what it acknowledged). Built once; later runs find it in the cache.
  tansu_root="${CONNSCOPE_TANSU_ROOT:-$HOME/.cache/connscope/tansu}"
  tansu_version=0.6.0
  if ! [ -x "$tansu_root/bin/tansu" ] || [ "$(cat "$tansu_root/VERSION" 2>/dev/null)" != "$tansu_version+libsql" ]; then
    echo "ensure-deps: building tansu $tansu_version (sqlite storage) into $tansu_root; this takes a while, once" >&2
    start=$(date +%s)
    # An unoptimised build (--debug): ~8 min on 2 cores instead of ~35 for
    # the release profile, and the broker only carries test traffic.
    cargo install tansu --version "$tansu_version" --locked --no-default-features --features libsql \
      --debug --root "$tansu_root" --quiet
    echo "$tansu_version+libsql" > "$tansu_root/VERSION"
    echo "ensure-deps: tansu built in $(( $(date +%s) - start )) s" >&2
  fi
fi
