#!/bin/sh
# Rebuild the committed WASI 0.2 test components:
#   src/p2command.c -> wasm32-wasi core module -> component (wasm/p2command.wasm)
#   tests/wasi/src/hostile.c (preview1's hostile battery), files.c, dirs.c -> wasm/*.wasm
# with wasm-tools and the preview1 command adapter that npm's
# @bytecodealliance/jco ships (lib/wasi_snapshot_preview1.command.wasm);
#   src/p2handler.c, src/p2sockets.c, src/p2edges.c (no libc, canonical ABI by hand) ->
# wasm/NAME.wasm, embedding wit/handler.wit, wit/sockets.wit and
# wit/edges.wit, whose wasi packages come from the WIT jco ships
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
for src in src/p2command.c ../wasi/src/hostile.c ../wasi/src/files.c ../wasi/src/dirs.c; do
    name=$(basename "$src" .c)
    "$CC" --target=wasm32-wasi --sysroot="$SYSROOT" -O2 -Wall -Wl,--strip-debug \
        -o "wasm/$name.core.wasm" "$src"
    wasm-tools component new "wasm/$name.core.wasm" \
        --adapt "wasi_snapshot_preview1=$ADAPTER" -o "wasm/$name.wasm"
    rm "wasm/$name.core.wasm"
    echo "built wasm/$name.wasm ($(wc -c < "wasm/$name.wasm") bytes)"
done

# The hostile battery without its two invalid-UTF-8 paths (they trap in the
# adapter), so that the cases after them run as a component too.
"$CC" --target=wasm32-wasi --sysroot="$SYSROOT" -O2 -Wall -Wl,--strip-debug -DSKIP_INVALID_UTF8 \
    -o wasm/hostile_tail.core.wasm ../wasi/src/hostile.c
wasm-tools component new wasm/hostile_tail.core.wasm \
    --adapt "wasi_snapshot_preview1=$ADAPTER" -o wasm/hostile_tail.wasm
rm wasm/hostile_tail.core.wasm
echo "built wasm/hostile_tail.wasm ($(wc -c < wasm/hostile_tail.wasm) bytes)"

# Components written against the canonical ABI directly (no libc): each C file
# is a core module embedded with its WIT world (wit/WORLD.wit, world WORLD).
wit=$(mktemp -d)
for pkg in http io clocks random cli filesystem sockets; do
    mkdir -p "$wit/deps/$pkg"
    cp "$JCO/lib/wit/builtin/0.2.12/wasi-$pkg/package.wit" "$wit/deps/$pkg/"
done
for pair in p2handler:handler p2sockets:sockets p2edges:edges; do
    name=${pair%%:*}
    world=${pair#*:}
    rm -f "$wit"/*.wit
    cp "wit/$world.wit" "$wit/"
    "$CC" --target=wasm32 -O2 -nostdlib -Wall -Wl,--no-entry -Wl,--strip-debug \
        -o "wasm/$name.core.wasm" "src/$name.c"
    wasm-tools component embed "$wit" --world "$world" "wasm/$name.core.wasm" -o "wasm/$name.embed.wasm"
    wasm-tools component new "wasm/$name.embed.wasm" -o "wasm/$name.wasm"
    rm "wasm/$name.core.wasm" "wasm/$name.embed.wasm"
    echo "built wasm/$name.wasm ($(wc -c < "wasm/$name.wasm") bytes)"
done
rm -r "$wit"
