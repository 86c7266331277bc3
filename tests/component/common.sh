# Sourced by the component tests run by `weft run` (fs_test.sh,
# p2_run_test.sh): `component_setup COMPONENT` exits 77 (skipped) when the
# component was not built (no jco), else makes the scratch directory $T
# (removed on exit), points WEFT_DATA_DIR into it and sets fail=0;
# `check WHAT GOT WANT` reports a difference and sets fail=1.
component_setup() {
    if [ ! -f "$1" ]; then
        echo "SKIP: $1 was not built (jco not installed: run scripts/install-deps.sh)"
        exit 77
    fi
    T=$(mktemp -d)
    trap 'rm -rf "$T"' EXIT INT TERM
    export WEFT_DATA_DIR="$T/data"
    fail=0
}

check() { # check WHAT GOT WANT
    if [ "$2" != "$3" ]; then
        echo "FAIL: $1: got '$2', want '$3'"
        fail=1
    fi
}
