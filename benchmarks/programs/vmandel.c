/*
 * vmandel: the Mandelbrot set in single precision, four pixels per f32x4 vector
 * (wasm_simd128.h intrinsics: mul, add, sub, le, any_true, i32x4 counters). run(n)
 * renders a W x H view with at most n iterations per pixel and hashes the counts.
 * Never fused (-ffp-contract=off): the native build (simd_shim.h's plain C, x86-64
 * SSE arithmetic) gives the same bits.
 */
#include "simd_shim.h"

#define W 32
#define H 24

int run(int n) {
    uint32_t h = 2166136261u;
    vec four = F32_SPLAT(4.0f);
    vec one = I32_SPLAT(1);
    for (int y = 0; y < H; y++) {
        float ci0 = -1.2f + 2.4f * (float)y / (float)H;
        for (int x = 0; x < W; x += 4) {
            float cr0 = -2.1f + 2.8f * (float)x / (float)W;
            float step = 2.8f / (float)W;
            vec cr = F32_MAKE(cr0, cr0 + step, cr0 + 2.0f * step, cr0 + 3.0f * step);
            vec ci = F32_SPLAT(ci0);
            vec zr = F32_SPLAT(0.0f), zi = F32_SPLAT(0.0f), cnt = I32_SPLAT(0);
            for (int it = 0; it < n; it++) {
                vec zr2 = F32_MUL(zr, zr), zi2 = F32_MUL(zi, zi);
                vec live = F32_LE(F32_ADD(zr2, zi2), four);
                if (!V_ANY(live))
                    break;
                cnt = I32_ADD(cnt, V_AND(live, one));
                vec t = F32_ADD(F32_SUB(zr2, zi2), cr);
                zi = F32_ADD(F32_MUL(F32_ADD(zr, zr), zi), ci);
                zr = t;
            }
            h = (h ^ (uint32_t)I32_LANE(cnt, 0)) * 0x01000193u;
            h = (h ^ (uint32_t)I32_LANE(cnt, 1)) * 0x01000193u;
            h = (h ^ (uint32_t)I32_LANE(cnt, 2)) * 0x01000193u;
            h = (h ^ (uint32_t)I32_LANE(cnt, 3)) * 0x01000193u;
        }
    }
    return (int)h;
}
