#!/usr/bin/env bash
# The Kafka output's tests. Builds connscope with the `kafka` feature
# (librdkafka compiled from source), lints it, runs its unit tests and
# tests/kafka.rs: the broker tests there need the tansu broker (a
# Kafka-protocol broker from crates.io; records are read back with Python
# confluent-kafka from .venv, made by `scripts/ensure-deps.sh --test`).
#
#   scripts/kafka-test.sh --broker  (run by scripts/test.sh) builds tansu
#                                   first when it is missing (once, an
#                                   unoptimised build: 7.5 min measured on a
#                                   busy 2-core machine) and fails if a broker
#                                   test cannot run
#   scripts/kafka-test.sh           the broker tests run when tansu is
#                                   already built (~/.cache/connscope/tansu,
#                                   CONNSCOPE_TANSU or PATH) and print
#                                   SKIPPED otherwise
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--broker" ]; then
  scripts/ensure-deps.sh --test
  scripts/ensure-deps.sh --kafka-broker
  export CONNSCOPE_KAFKA_TEST=1
  export CONNSCOPE_TANSU="${CONNSCOPE_TANSU:-${CONNSCOPE_TANSU_ROOT:-$HOME/.cache/connscope/tansu}/bin/tansu}"
else
  scripts/ensure-deps.sh --kafka
fi
cargo clippy --features kafka --all-targets --quiet -- -D warnings
cargo test --features kafka --lib output::
cargo test --features kafka --test kafka -- --nocapture
