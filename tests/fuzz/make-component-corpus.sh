#!/bin/sh
# Regenerates the component fuzz corpus, tests/fuzz/corpus_component/*.wasm
# (committed), from the test components a build made with jco
# (tests/component: basic.wasm, and resources.wasm, whose nested component
# and instance types put failures inside nested scopes), so the corpus
# needs no npm to replay:
#   tests/fuzz/make-component-corpus.sh build/tests/component/components
# Inputs: the component itself, truncations at several lengths, and
# single-byte flips after its core module (the component-level sections),
# so the fuzzer starts on both sides of the decoder's checks.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src=${1:?usage: make-component-corpus.sh COMPONENTS-DIR}/basic.wasm
out=$here/corpus_component
mkdir -p "$out"
rm -f "$out"/*.wasm
cp "$src" "$out/basic.wasm"
size=$(wc -c < "$src")
for frac in 3 10 50 90 97 99; do
    n=$((size * frac / 100))
    head -c "$n" "$src" > "$out/trunc-$frac.wasm"
done
# the component-level sections follow the core module (about the last
# 1,300 bytes, the producers section last): flip bytes among them
i=0
for back in 90 160 233 301 388 450 611 770 930 1190; do
    pos=$((size - back))
    i=$((i + 1))
    cp "$src" "$out/flip-$i.wasm"
    byte=$(od -An -tu1 -j "$pos" -N1 "$src" | tr -d ' ')
    printf "$(printf '\\%03o' $(( (byte + 1 + i * 37) % 256 )))" |
        dd of="$out/flip-$i.wasm" bs=1 seek="$pos" conv=notrunc 2>/dev/null
done
res=${1}/resources.wasm
cp "$res" "$out/resources.wasm"
rsize=$(wc -c < "$res")
for back in 700 900 1100 1300 1500 1700 1900 2100; do
    n=$((rsize - back))
    head -c "$n" "$res" > "$out/resources-trunc-$back.wasm"
done
# bytes flipped inside the nested (re-export) component, about 1,200 to
# 600 bytes from the end
i=0
for back in 1180 1130 1070 1010 950 890 830 770 710 650; do
    pos=$((rsize - back))
    i=$((i + 1))
    cp "$res" "$out/resources-flip-$i.wasm"
    byte=$(od -An -tu1 -j "$pos" -N1 "$res" | tr -d ' ')
    printf "$(printf '\\%03o' $(( (byte + 1 + i * 53) % 256 )))" |
        dd of="$out/resources-flip-$i.wasm" bs=1 seek="$pos" conv=notrunc 2>/dev/null
done
echo "wrote $(ls "$out" | wc -l) inputs to $out"
