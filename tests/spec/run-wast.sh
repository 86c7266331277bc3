#!/bin/sh
# Converts one .wast file with wast2json into OUTDIR and runs spec_runner on
# the result. Used by CTest (tests/spec/CMakeLists.txt), one call per file.
# Usage: run-wast.sh WAST2JSON SPEC_RUNNER FILE.wast OUTDIR [FLAG...]
# Flags --enable-* and --no-check go to wast2json (tests/spec/wasm3 needs the
# features on, and wabt 1.0.32 refuses some valid Wasm 3.0 modules), the
# others to spec_runner (--wasm2 for the core suite).
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
convert_flags=
run_flags=
for flag in "$@"; do
    case $flag in
    --enable-* | --no-check) convert_flags="$convert_flags $flag" ;;
    *) run_flags="$run_flags $flag" ;;
    esac
done
name=$(basename "$wast" .wast)

mkdir -p "$out"
# Drop the output of an earlier run so no stale module is ever picked up.
rm -f "$out/$name.json" "$out/$name".*.wasm "$out/$name".*.wat
# shellcheck disable=SC2086 # the flags are words without spaces
"$wast2json" $convert_flags "$wast" -o "$out/$name.json"
# shellcheck disable=SC2086
exec "$runner" $run_flags "$out/$name.json"
