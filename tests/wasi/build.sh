#!/bin/sh
# Rebuild the committed WASI test programs:
#   tests/wasi/src/*.c and src/tools/*.c -> tests/wasi/wasm/*.wasm
#   tests/wasi/src/*.wat                 -> tests/wasi/wasm/*.wasm (with names)
# Needs clang with the wasm32-wasi target and wasi-libc (Debian: clang, lld,
# wasi-libc), and wabt's wat2wasm. Debug info is stripped (the name section
# stays, for backtraces).
# The .wasm files are committed, so running the tests never needs a compiler.
set -eu
cd "$(dirname "$0")"
CC=${WASI_CC:-clang}
SYSROOT=${WASI_SYSROOT:-/usr}
mkdir -p wasm
for src in src/*.c src/tools/*.c; do
    name=$(basename "$src" .c)
    "$CC" --target=wasm32-wasi --sysroot="$SYSROOT" -O2 -Wall -Wno-unused-function \
        -Wl,--strip-debug -o "wasm/$name.wasm" "$src"
    echo "built wasm/$name.wasm ($(wc -c < "wasm/$name.wasm") bytes)"
done
WAT2WASM=${WAT2WASM:-wat2wasm}
for src in src/*.wat; do
    name=$(basename "$src" .wat)
    "$WAT2WASM" --debug-names -o "wasm/$name.wasm" "$src"
    echo "built wasm/$name.wasm ($(wc -c < "wasm/$name.wasm") bytes)"
done
