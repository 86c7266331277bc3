#!/bin/sh
# bench/check_kernel.sh WEFT KERNEL.wasm KERNEL-native — e2e test of one kernel.
#
# Runs the kernel's small `check` work (`weft run KERNEL.wasm check`) under
# weft and in the native build and fails, naming both values, unless the
# checksums are equal. That proves the engine right on real clang-compiled
# C, not just on hand-written tests.
set -u
weft=$1
wasm=$2
native=$3
name=$(basename "$wasm" .wasm)

expected=$("$native" check) || { echo "FAIL $name: native build exited with $?"; exit 1; }
got=$("$weft" run "$wasm" check)
rc=$?
if [ "$rc" -ne 0 ]; then
    echo "FAIL $name: weft run $name.wasm check exited with $rc (expected checksum $expected)"
    exit 1
fi
if [ "$got" != "$expected" ]; then
    echo "FAIL $name: checksum mismatch: native $expected, weft $got"
    exit 1
fi
echo "ok $name: checksum $got"
