#!/bin/sh
# Regenerates the fuzz seed corpus, tests/fuzz/corpus/*.wasm (committed).
#
# Sources: seeds/*.wat (written for the fuzzer: every operator family),
# a selection of the unit tests' modules, a few invalid ones, and
# deterministic damage — truncations and single-byte flips of valid seeds —
# so the fuzzer starts with inputs on both sides of every decoder check.
# Needs wabt's wat2wasm, od and dd. Run after editing a seed.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
unit=$here/../unit/wat
out=$here/corpus
mkdir -p "$out"
rm -f "$out"/*.wasm

for wat in "$here"/seeds/*.wat; do
    name=$(basename "$wat" .wat)
    wat2wasm --debug-names "$wat" -o "$out/seed-$name.wasm"
done

for name in api traps features host imports limits fuel start_trap data_oob elem_oob \
            valid_edges link_user host_loop; do
    wat2wasm --debug-names "$unit/$name.wat" -o "$out/unit-$name.wasm"
done

for name in type_mismatch br_depth unknown_local immutable_global_set data_without_memory \
            start_with_params alignment_too_large; do
    wat2wasm --no-check "$unit/invalid/$name.wat" -o "$out/invalid-$name.wasm"
done

size_of() { wc -c < "$1" | tr -d ' '; }

for name in control memory_ops bulk refs multivalue globals; do
    src=$out/seed-$name.wasm
    head -c $(( $(size_of "$src") / 2 )) "$src" > "$out/trunc-$name.wasm"
done

# flip_byte FILE OFFSET MASK: xor one byte in place
flip_byte() {
    old=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
    new=$(( old ^ $3 ))
    printf "\\$(printf '%03o' "$new")" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

for name in numeric_i32 call_indirect imports_all conversions control bulk; do
    src=$out/seed-$name.wasm
    size=$(size_of "$src")
    for frac in 3 5; do
        off=$(( size * frac / 7 ))
        dst=$out/flip-$name-$off.wasm
        cp "$src" "$dst"
        flip_byte "$dst" "$off" 128
    done
done

echo "$(ls "$out" | wc -l) files, $(cat "$out"/*.wasm | wc -c) bytes in $out"
