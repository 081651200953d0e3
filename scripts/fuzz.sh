#!/bin/sh
# Runs every fuzz target in fuzz/ for a bounded time, one after the other.
#
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
#
# SECONDS is the time for each target (default 60). Without TARGET names,
# every target runs. Each target starts from the committed seeds in
# fuzz/seeds/<target>/ and keeps what it learns in fuzz/corpus/<target>/
# (git-ignored). A crash is saved under fuzz/artifacts/<target>/.
#
# The toolchain here is stable Rust, and cargo-fuzz passes nightly-only -Z
# flags to rustc, so RUSTC_BOOTSTRAP=1 is set for the build. Set
# FUZZ_SANITIZER=none to build without AddressSanitizer.
#
# Exits 0 when no target crashed, 1 when at least one did, 2 on bad usage.

set -u

seconds=${1:-60}
case $seconds in
'' | *[!0-9]*)
    echo "fuzz.sh: invalid time in seconds: $seconds; pass a whole number" >&2
    exit 2
    ;;
esac
[ $# -gt 0 ] && shift

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/fuzz" || exit 2

if [ $# -gt 0 ]; then
    targets=$*
else
    targets=$(RUSTC_BOOTSTRAP=1 cargo fuzz list) || exit 2
fi

sanitizer=${FUZZ_SANITIZER:-address}
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz build --sanitizer "$sanitizer"; then
    echo "fuzz.sh: building the fuzz targets failed" >&2
    exit 2
fi

failed=""
for target in $targets; do
    if [ ! -d "seeds/$target" ]; then
        echo "fuzz.sh: no seeds for target $target in fuzz/seeds/$target" >&2
        exit 2
    fi
    mkdir -p "corpus/$target"
    dictionary=""
    if [ -f "dictionaries/$target.dict" ]; then
        dictionary="-dict=dictionaries/$target.dict"
    fi
    echo "fuzz.sh: running $target for $seconds s" >&2
    # The first corpus directory receives new inputs, so the seeds stay
    # as committed.
    # shellcheck disable=SC2086 # $dictionary is empty or one word
    if ! cargo fuzz run --sanitizer "$sanitizer" "$target" \
        "corpus/$target" "seeds/$target" -- \
        -max_total_time="$seconds" -print_final_stats=1 $dictionary; then
        failed="$failed $target"
    fi
done

if [ -n "$failed" ]; then
    echo "fuzz.sh: crashes found in:$failed; see fuzz/artifacts/<target>/" >&2
    exit 1
fi
echo "fuzz.sh: no crash in $seconds s per target" >&2
