#!/bin/sh
# Converts one .wast file with wast2json into OUTDIR and runs spec_runner on
# the result. Used by CTest (tests/spec/CMakeLists.txt), one call per file.
# Usage: run-wast.sh WAST2JSON SPEC_RUNNER FILE.wast OUTDIR [WAST2JSON-FLAG...]
# (flags such as --enable-tail-call for the tests of tests/spec/wasm3)
set -eu

if [ $# -lt 4 ]; then
    echo "usage: run-wast.sh WAST2JSON SPEC_RUNNER FILE.wast OUTDIR [WAST2JSON-FLAG...]" >&2
    exit 2
fi
wast2json=$1
runner=$2
wast=$3
out=$4
shift 4
name=$(basename "$wast" .wast)

mkdir -p "$out"
# Drop the output of an earlier run so no stale module is ever picked up.
rm -f "$out/$name.json" "$out/$name".*.wasm "$out/$name".*.wat
"$wast2json" "$@" "$wast" -o "$out/$name.json"
exec "$runner" "$out/$name.json"
