/*
 * vsearch: byte search with wasm_simd128.h intrinsics. A LEN-byte text of 16
 * letters holds planted copies of some 4-byte needles; run(n) makes n searches,
 * each counting every occurrence of one needle (first byte compared 16 at a time:
 * i8x16.eq + i8x16.bitmask, then the candidates checked) and counting one byte
 * (popcount of the masks). The native build uses simd_shim.h's plain C.
 */
#include "simd_shim.h"

#define LEN 4096

static uint8_t text[LEN + 32];
static uint32_t lcg_state;

static uint32_t next(void) {
    lcg_state = lcg_state * 1664525u + 1013904223u;
    return lcg_state >> 8;
}

static uint32_t popcount(uint32_t x) {
    uint32_t c = 0;
    while (x) {
        x &= x - 1;
        c++;
    }
    return c;
}

static uint32_t find_all(const uint8_t *needle, uint32_t *positions) {
    vec first = U8_SPLAT(needle[0]);
    uint32_t count = 0, possum = 0;
    for (uint32_t i = 0; i < LEN; i += 16) {
        uint32_t m = U8_BITMASK(U8_EQ(V_LOAD(text + i), first));
        while (m) {
            uint32_t bit = (uint32_t)__builtin_ctz(m);
            m &= m - 1;
            const uint8_t *p = text + i + bit;
            if (p[1] == needle[1] && p[2] == needle[2] && p[3] == needle[3]) {
                count++;
                possum += i + bit;
            }
        }
    }
    *positions = possum;
    return count;
}

static uint32_t count_byte(uint8_t c) {
    vec k = U8_SPLAT(c);
    uint32_t count = 0;
    for (uint32_t i = 0; i < LEN; i += 16)
        count += popcount(U8_BITMASK(U8_EQ(V_LOAD(text + i), k)));
    return count;
}

int run(int n) {
    lcg_state = 99u + (uint32_t)n;
    for (uint32_t i = 0; i < LEN + 32; i++)
        text[i] = (uint8_t)('a' + next() % 16);
    uint8_t needles[8][4];
    for (int k = 0; k < 8; k++) {
        for (int j = 0; j < 4; j++)
            needles[k][j] = (uint8_t)('a' + next() % 16);
        for (int c = 0; c < 40; c++) {
            uint32_t at = next() % (LEN - 4);
            for (int j = 0; j < 4; j++)
                text[at + j] = needles[k][j];
        }
    }
    uint32_t h = 2166136261u;
    for (int s = 0; s < n; s++) {
        uint32_t pos = 0;
        uint32_t found = find_all(needles[s & 7], &pos);
        h = (h ^ found) * 0x01000193u;
        h = (h ^ pos) * 0x01000193u;
        h = (h ^ count_byte((uint8_t)('a' + s % 16))) * 0x01000193u;
        text[next() % LEN] = (uint8_t)('a' + next() % 16);
    }
    return (int)h;
}
