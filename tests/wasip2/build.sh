#!/bin/sh
# Rebuild the committed WASI 0.2 test components:
#   tests/wasip2/src/*.c -> wasm32-wasi core module -> component (wasm/*.wasm)
#   tests/wasi/src/hostile.c (preview1's hostile battery) -> wasm/hostile.wasm
# with wasm-tools and the preview1 command adapter that npm's
# @bytecodealliance/jco ships (lib/wasi_snapshot_preview1.command.wasm).
# Set ADAPTER to its path, or let the script fetch it with `npm pack`.
# The .wasm files are committed, so running the tests never needs a compiler.
set -eu
cd "$(dirname "$0")"
CC=${WASI_CC:-clang}
SYSROOT=${WASI_SYSROOT:-/usr}
if [ -z "${ADAPTER:-}" ]; then
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent @bytecodealliance/jco@1.35.0 >/dev/null && tar xzf ./*.tgz)
    ADAPTER="$tmp/package/lib/wasi_snapshot_preview1.command.wasm"
fi
mkdir -p wasm
for src in src/*.c ../wasi/src/hostile.c; do
    name=$(basename "$src" .c)
    "$CC" --target=wasm32-wasi --sysroot="$SYSROOT" -O2 -Wall -Wl,--strip-debug \
        -o "wasm/$name.core.wasm" "$src"
    wasm-tools component new "wasm/$name.core.wasm" \
        --adapt "wasi_snapshot_preview1=$ADAPTER" -o "wasm/$name.wasm"
    rm "wasm/$name.core.wasm"
    echo "built wasm/$name.wasm ($(wc -c < "wasm/$name.wasm") bytes)"
done
