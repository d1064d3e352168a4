#!/bin/sh
# Rebuild the committed WASI 0.2 test components:
#   tests/wasip2/src/*.c -> wasm32-wasi core module -> component (wasm/*.wasm)
#   tests/wasi/src/hostile.c (preview1's hostile battery) -> wasm/hostile.wasm
# with wasm-tools and the preview1 command adapter that npm's
# @bytecodealliance/jco ships (lib/wasi_snapshot_preview1.command.wasm);
#   src/p2handler.c (no libc, canonical ABI by hand) -> wasm/p2handler.wasm
# embedding wit/handler.wit, whose wasi packages come from the WIT jco ships
# (lib/wit/builtin/0.2.12). Set JCO to an unpacked jco package, or let the
# script fetch it with `npm pack`.
# The .wasm files are committed, so running the tests never needs a compiler.
set -eu
cd "$(dirname "$0")"
CC=${WASI_CC:-clang}
SYSROOT=${WASI_SYSROOT:-/usr}
if [ -z "${JCO:-}" ]; then
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent @bytecodealliance/jco@1.35.0 >/dev/null && tar xzf ./*.tgz)
    JCO="$tmp/package"
fi
ADAPTER="$JCO/lib/wasi_snapshot_preview1.command.wasm"
mkdir -p wasm
for src in src/p2command.c ../wasi/src/hostile.c; do
    name=$(basename "$src" .c)
    "$CC" --target=wasm32-wasi --sysroot="$SYSROOT" -O2 -Wall -Wl,--strip-debug \
        -o "wasm/$name.core.wasm" "$src"
    wasm-tools component new "wasm/$name.core.wasm" \
        --adapt "wasi_snapshot_preview1=$ADAPTER" -o "wasm/$name.wasm"
    rm "wasm/$name.core.wasm"
    echo "built wasm/$name.wasm ($(wc -c < "wasm/$name.wasm") bytes)"
done

# The HTTP handler: a core module with no libc, embedded with its WIT world.
wit=$(mktemp -d)
cp wit/handler.wit "$wit/"
for pkg in http io clocks random cli filesystem sockets; do
    mkdir -p "$wit/deps/$pkg"
    cp "$JCO/lib/wit/builtin/0.2.12/wasi-$pkg/package.wit" "$wit/deps/$pkg/"
done
"$CC" --target=wasm32 -O2 -nostdlib -Wall -Wl,--no-entry -Wl,--strip-debug \
    -o wasm/p2handler.core.wasm src/p2handler.c
wasm-tools component embed "$wit" --world handler wasm/p2handler.core.wasm -o wasm/p2handler.embed.wasm
wasm-tools component new wasm/p2handler.embed.wasm -o wasm/p2handler.wasm
rm -r wasm/p2handler.core.wasm wasm/p2handler.embed.wasm "$wit"
echo "built wasm/p2handler.wasm ($(wc -c < wasm/p2handler.wasm) bytes)"
