#!/usr/bin/env bash
# Builds each libFuzzer target with ASan and runs it for SECONDS (default 60), seeded from
# Tests/Fuzz/Corpus/<target>. Fails if a target crashes, leaks, or records no coverage.
#   Tests/Fuzz/run-fuzzers.sh [SECONDS] [TARGET...]
# Targets: FuzzMessage FuzzResponder FuzzZoneFile FuzzHTTPRequest FuzzRegistrationBody.
# New inputs go to a scratch corpus; merge interesting ones into the committed corpus with
#   .build-fuzz/release/TARGET -merge=1 Tests/Fuzz/Corpus/TARGET SCRATCH
# A crash leaves its input in .build-fuzz/artifacts/TARGET/: turn it into a named regression test.
# If a target reports no coverage after other builds reused .build-fuzz, delete .build-fuzz: objects
# built earlier without the fuzzer flags were reused.
set -uo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(FuzzMessage FuzzResponder FuzzZoneFile FuzzHTTPRequest FuzzRegistrationBody)
# The default backtracer misreports ASan crashes and can hang on the output pipe (TOOLCHAIN.md).
export SWIFT_BACKTRACE=enable=no
status=0
for target in "${targets[@]}"; do
    echo "== $target: build"
    # swiftc keeps only its last -sanitize= flag, and SwiftPM writes its two in no fixed order: with
    # `-sanitize=fuzzer -sanitize=address` the code gets ASan but no coverage, and libFuzzer fuzzes
    # blind. The combined flag, appended after SwiftPM's, gives both; --sanitize still links the runtimes.
    if ! timeout 1200 swift build -c release --product "$target" --sanitize=fuzzer --sanitize=address \
        -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -DFUZZING \
        --scratch-path .build-fuzz 2>&1 | tail -3; then
        echo "not ok - $target did not build"; status=1; continue
    fi
    scratch=$(mktemp -d "/tmp/beacon-fuzz-$target.XXXXXX")
    artifacts=.build-fuzz/artifacts/$target
    mkdir -p "$artifacts"
    log=$scratch.log
    echo "== $target: fuzz for $seconds s"
    timeout $((seconds + 120)) ".build-fuzz/release/$target" -max_total_time="$seconds" -max_len=65535 \
        -print_final_stats=1 -artifact_prefix="$artifacts/" -rss_limit_mb=1024 "$scratch" "Tests/Fuzz/Corpus/$target" \
        >"$log" 2>&1
    code=$?
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
    if grep -q "Is the code instrumented for coverage" "$log" || ! grep -q "inline 8-bit counters" "$log"; then
        echo "not ok - $target records no coverage (build it with -parse-as-library)"; status=1
    elif [ $code -ne 0 ]; then
        echo "not ok - $target failed (exit $code) after $runs runs; input saved in $artifacts/"
        grep -E "ERROR|Fatal|precondition|SUMMARY|Test unit written" "$log" | head -10
        status=1
    else
        echo "ok - $target: $runs runs, no crash, $(ls "$scratch" | wc -l) new corpus inputs"
    fi
    rm -rf "$scratch" "$log"
done
exit $status
