/*
 * vblur: a 3x3 Gaussian blur ([1 2 1; 2 4 2; 1 2 1] / 16, rounded) of an 8-bit
 * grayscale image, written with wasm_simd128.h intrinsics: 16 pixels at a time,
 * widened to 16 bits (u16x8 extend), summed, shifted and narrowed back (u8x16
 * narrow). run(n) blurs a W x H image n times (ping-pong buffers; the border
 * stays) and hashes the result. The native build uses simd_shim.h's plain C.
 */
#include "simd_shim.h"

#define W 66
#define H 48

static uint8_t img[2][H][W + 16];
static uint32_t lcg_state;

static uint32_t next(void) {
    lcg_state = lcg_state * 1664525u + 1013904223u;
    return lcg_state >> 8;
}

static vec weigh(vec l, vec c, vec r) { /* l + 2c + r, per 16-bit lane */
    return U16_ADD(U16_ADD(l, U16_SHL(c, 1)), r);
}

static vec row_lo(const uint8_t *p, vec *hi) { /* one row's l + 2c + r, both halves */
    vec l = V_LOAD(p - 1), c = V_LOAD(p), r = V_LOAD(p + 1);
    *hi = weigh(U16_EXTEND_HIGH(l), U16_EXTEND_HIGH(c), U16_EXTEND_HIGH(r));
    return weigh(U16_EXTEND_LOW(l), U16_EXTEND_LOW(c), U16_EXTEND_LOW(r));
}

static void blur_row(uint8_t *dst, const uint8_t *up, const uint8_t *mid, const uint8_t *down) {
    vec round = U16_SPLAT(8);
    for (int x = 1; x + 16 <= W - 1; x += 16) {
        vec uh, mh, dh;
        vec ul = row_lo(up + x, &uh), ml = row_lo(mid + x, &mh), dl = row_lo(down + x, &dh);
        vec sl = U16_SHR(U16_ADD(weigh(ul, ml, dl), round), 4);
        vec sh = U16_SHR(U16_ADD(weigh(uh, mh, dh), round), 4);
        V_STORE(dst + x, U8_NARROW(sl, sh));
    }
}

int run(int n) {
    lcg_state = 4242u + (uint32_t)n;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            img[0][y][x] = img[1][y][x] = (uint8_t)(next() ^ (uint32_t)(x * y));
    int cur = 0;
    for (int p = 0; p < n; p++) {
        for (int y = 1; y < H - 1; y++)
            blur_row(img[1 - cur][y], img[cur][y - 1], img[cur][y], img[cur][y + 1]);
        cur = 1 - cur;
        img[cur][next() % H][next() % W] = (uint8_t)next();
    }
    uint32_t h = 2166136261u;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x += 4) {
            uint32_t w = img[cur][y][x] | (uint32_t)img[cur][y][x + 1] << 8 |
                         (uint32_t)img[cur][y][x + 2] << 16 | (uint32_t)img[cur][y][x + 3] << 24;
            h = (h ^ w) * 0x01000193u;
        }
    return (int)h;
}
