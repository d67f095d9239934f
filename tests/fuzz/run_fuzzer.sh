#!/bin/sh
# Runs one fuzz target on a fresh working corpus seeded from the committed one:
#   run_fuzzer.sh <fuzzer binary> <seed corpus dir> <work dir> [libFuzzer flags...]
# New inputs go to <work dir>/corpus (rebuilt each time, so `make test` runs
# the same executions every time), crashes to <work dir>/artifacts; the seed
# directory in the source tree is only read.
set -eu
fuzzer=$1 seeds=$2 work=$3
shift 3
rm -rf "$work/corpus"
mkdir -p "$work/corpus" "$work/artifacts"
exec "$fuzzer" -artifact_prefix="$work/artifacts/" "$@" "$work/corpus" "$seeds"
