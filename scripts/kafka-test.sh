#!/usr/bin/env bash
# The Kafka output's tests (part of scripts/test.sh): builds connscope with
# the `kafka` feature (librdkafka compiled from source), lints it, and runs
# its unit tests and tests/kafka.rs against a real Kafka-protocol broker
# (tansu, started by the test; records read back with Python confluent-kafka).
# Dependencies: scripts/ensure-deps.sh --kafka (C build tools, tansu) and
# --test (the .venv with confluent-kafka).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh --kafka
cargo clippy --features kafka --all-targets --quiet -- -D warnings
export CONNSCOPE_KAFKA_TEST=1
export CONNSCOPE_TANSU="${CONNSCOPE_TANSU:-${CONNSCOPE_TANSU_ROOT:-$HOME/.cache/connscope/tansu}/bin/tansu}"
cargo test --features kafka --lib output::
cargo test --features kafka --test kafka -- --nocapture
