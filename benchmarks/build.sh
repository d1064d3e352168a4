#!/usr/bin/env bash
# Rebuilds the benchmark modules and the native baselines.
#
#   programs/<name>.wasm   clang --target=wasm32, no libc, exports run(i32) -> i32
#                          (committed, so tests and run.py need no compiler);
#                          the SIMD suite's with -msimd128 (see SIMD_PROGRAMS)
#   programs/micro.wasm    from programs/micro.wat (wasm-tools or wabt's wat2wasm)
#   native/<name>          gcc -O2 with programs/native_main.c (not committed)
#
# usage: benchmarks/build.sh [--wasm-only | --native-only]
# Environment: CLANG (default clang), CC (default gcc), WASM_LD (default wasm-ld).
# Keep NATIVE_FLAGS in sync with NATIVE_CFLAGS in run.py.
set -euo pipefail
cd "$(dirname "$0")"

CLANG=${CLANG:-clang}
CC=${CC:-gcc}
WASM_FLAGS=(--target=wasm32 -O2 -ffreestanding -ffp-contract=off -nostdlib
            -Wl,--no-entry -Wl,--export=run -Wl,--strip-all)
NATIVE_FLAGS=(-O2 -ffp-contract=off)
WASM_LD=${WASM_LD:-wasm-ld}
# The SIMD suite (programs/simd.json): -msimd128 lets clang vectorise loops and
# enables wasm_simd128.h; the native builds use simd_shim.h's plain C instead.
SIMD_PROGRAMS="vdot vblur vsearch vmandel"
SIMD_FLAGS=(--target=wasm32 -O2 -msimd128 -ffreestanding -ffp-contract=off -nostdlib)

build_wasm=1
build_native=1
case "${1:-}" in
    --wasm-only) build_native=0 ;;
    --native-only) build_wasm=0 ;;
    "") ;;
    *) echo "usage: $0 [--wasm-only | --native-only]" >&2; exit 2 ;;
esac

mkdir -p native
for src in programs/*.c; do
    name=$(basename "$src" .c)
    [ "$name" = native_main ] && continue
    if [ $build_wasm = 1 ]; then
        if [[ " $SIMD_PROGRAMS " == *" $name "* ]]; then
            # SIMD: compile, then link with wasm-ld directly (clang's driver would run
            # a wasm-opt from PATH without --enable-simd, which rejects the module)
            obj=$(mktemp --suffix=.o)
            "$CLANG" "${SIMD_FLAGS[@]}" -c -o "$obj" "$src"
            "$WASM_LD" --no-entry --export=run --strip-all -o "programs/$name.wasm" "$obj"
            rm -f "$obj"
        else
            "$CLANG" "${WASM_FLAGS[@]}" -o "programs/$name.wasm" "$src"
        fi
        chmod a-x "programs/$name.wasm"
        echo "programs/$name.wasm ($(wc -c < "programs/$name.wasm") bytes)"
    fi
    if [ $build_native = 1 ]; then
        "$CC" "${NATIVE_FLAGS[@]}" -o "native/$name" "$src" programs/native_main.c -lm
        echo "native/$name"
    fi
done

if [ $build_wasm = 1 ]; then
    if command -v wasm-tools > /dev/null; then
        wasm-tools parse programs/micro.wat -o programs/micro.wasm
    else
        wat2wasm programs/micro.wat -o programs/micro.wasm
    fi
    echo "programs/micro.wasm ($(wc -c < programs/micro.wasm) bytes)"
    # exceptions.wat uses Wasm exceptions (wabt's wat2wasm needs --enable-exceptions)
    if command -v wasm-tools > /dev/null; then
        wasm-tools parse programs/exceptions.wat -o programs/exceptions.wasm
    else
        wat2wasm --enable-exceptions programs/exceptions.wat -o programs/exceptions.wasm
    fi
    echo "programs/exceptions.wasm ($(wc -c < programs/exceptions.wasm) bytes)"
fi
