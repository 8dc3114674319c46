#!/usr/bin/env bash
# The whole test suite: installs missing system packages, checks formatting
# and lints, then runs every unit, property and end-to-end test (including the
# Zeek conformance corpus when ../shared is present).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh --test
cargo fmt --all --check
cargo clippy --all-targets --quiet -- -D warnings
cargo test --all-targets
scripts/check-systemd.sh
scripts/check-zeek-package.sh
scripts/check-recipes.sh
# The Kafka output (cargo feature `kafka`): lint, unit tests, and the broker
# tests against tansu (built once into ~/.cache/connscope/tansu, ~8 min).
scripts/kafka-test.sh --broker
