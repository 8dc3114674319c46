#!/usr/bin/env bash
# Fuzzes every parser that sees packet or file bytes (see fuzz/ and the
# README's "Fuzzing" section).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# SECONDS_PER_TARGET defaults to 60; TARGETs default to all of
# `cargo fuzz list`. Builds the targets (nightly, release with debug
# assertions and overflow checks; FUZZ_SANITIZER=address for ASan, default
# none), builds the seed corpus in fuzz/corpus/ (gitignored) from pcaps/,
# ../shared/conformance/zeek/**/*.pcap* when present and the committed
# fuzz/seeds/, runs each target for the given time (-rss_limit_mb=2048,
# -timeout=5) and prints per target: executions, exec/s, crashes found.
# Crashing inputs land in fuzz/artifacts/<target>/; logs in fuzz/logs/.
# Extra libFuzzer flags: FUZZ_ARGS="-max_len=4096 ...". Runs under nice.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

secs=${1:-60}
[ $# -gt 0 ] && shift
sanitizer=${FUZZ_SANITIZER:-none}
nice_cmd=(nice -n "${FUZZ_NICE:-10}")

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz.sh: needs a nightly toolchain (rustup toolchain install nightly)" >&2
    exit 2
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz.sh: installing cargo-fuzz" >&2
    "${nice_cmd[@]}" cargo install cargo-fuzz --locked
fi

if [ $# -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cd fuzz && cargo +nightly fuzz list)
fi

echo "== building ${#targets[@]} targets (sanitizer: $sanitizer)"
(cd fuzz && "${nice_cmd[@]}" cargo +nightly fuzz build -s "$sanitizer")

echo "== seed corpus"
captures=(pcaps/*.pcap)
if [ -d ../shared/conformance/zeek ]; then
    while IFS= read -r -d '' f; do captures+=("$f"); done < <(
        find ../shared/conformance/zeek \( -name '*.pcap' -o -name '*.pcapng' \) -print0 | sort -z)
fi
python3 fuzz/make_corpus.py fuzz/corpus "${captures[@]}"
for t in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
    if [ -d "fuzz/seeds/$t" ]; then cp -n fuzz/seeds/"$t"/* "fuzz/corpus/$t/" 2>/dev/null || true; fi
done
# A full model file seed from the binary when one is built and model_json
# is fuzzed (fuzz/seeds has a cut-down one: two trees).
bin=""
for b in target/release/connscope target/debug/connscope; do [ -x "$b" ] && bin=$b && break; done
if [ -n "$bin" ] && [ -d fuzz/corpus/model_json ] && [ ! -e fuzz/corpus/model_json/trained-tcp_states.json ]; then
    tmp=$(mktemp -d)
    "$bin" train -r pcaps/tcp_states.pcap -o "$tmp/m.json" -w "$tmp" >/dev/null 2>&1 &&
        cp "$tmp/m.json" fuzz/corpus/model_json/trained-tcp_states.json || true
    rm -rf "$tmp"
fi

mkdir -p fuzz/logs
summary=()
status=0
for t in "${targets[@]}"; do
    before=$(ls "fuzz/artifacts/$t" | wc -l)
    log="fuzz/logs/$t.log"
    echo "== $t: ${secs}s"
    set +e
    (cd fuzz && "${nice_cmd[@]}" cargo +nightly fuzz run -s "$sanitizer" "$t" "corpus/$t" -- \
        -max_total_time="$secs" -rss_limit_mb=2048 -timeout=5 -print_final_stats=1 \
        ${FUZZ_ARGS:-} >"$root/$log" 2>&1)
    rc=$?
    set -e
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -n 1)
    rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -n 1)
    if [ -z "$execs" ]; then
        # A crash ends the run before the final stats: take the last status line.
        execs=$(grep -o '^#[0-9]*' "$log" | tail -n 1 | tr -d '#')
    fi
    after=$(ls "fuzz/artifacts/$t" | wc -l)
    crashes=$((after - before))
    if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then crashes="?(rc $rc, see $log)"; fi
    [ "$rc" -ne 0 ] && status=1
    summary+=("$(printf '%-18s %14s %10s %s' "$t" "${execs:-0}" "${rate:-0}" "$crashes")")
    if [ "$rc" -ne 0 ]; then
        grep -E 'panicked|ERROR: libFuzzer|SUMMARY|Test unit written' "$log" | head -n 5 | sed 's/^/    /'
    fi
done

echo
printf '%-18s %14s %10s %s\n' target executions exec/s crashes
for l in "${summary[@]}"; do echo "$l"; done
exit $status
