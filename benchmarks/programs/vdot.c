/*
 * vdot: loops clang vectorises by itself (-O2 -msimd128, no intrinsics).
 *
 * Over arrays of LEN elements, n passes of: an int16 dot product accumulated in
 * int32 (i32x4.extmul / extadd), a single-precision a*x+y (f32x4 mul and add,
 * never fused: -ffp-contract=off), and a sum of absolute byte differences (widening
 * u8 arithmetic). Between passes one element of each input changes, so no pass can
 * be skipped. The checksum hashes the dot products, the SADs and the bits of y.
 */
#include <stdint.h>

#define LEN 1024

static int16_t xa[LEN], xb[LEN];
static float fx[LEN], fy[LEN];
static uint8_t ua[LEN], ub[LEN];
static uint32_t lcg_state;

static uint32_t next(void) {
    lcg_state = lcg_state * 1664525u + 1013904223u;
    return lcg_state >> 8;
}

static uint32_t mix(uint32_t h, uint32_t v) { return (h ^ v) * 0x01000193u; }

static int32_t dot16(const int16_t *a, const int16_t *b) {
    int32_t s = 0;
    for (int i = 0; i < LEN; i++)
        s += a[i] * b[i];
    return s;
}

static void axpy(float k, const float *x, float *y) {
    for (int i = 0; i < LEN; i++)
        y[i] = k * x[i] + y[i];
}

static uint32_t sad(const uint8_t *a, const uint8_t *b) {
    uint32_t s = 0;
    for (int i = 0; i < LEN; i++)
        s += (uint32_t)(a[i] > b[i] ? a[i] - b[i] : b[i] - a[i]);
    return s;
}

int run(int n) {
    lcg_state = 777u + (uint32_t)n;
    for (int i = 0; i < LEN; i++) {
        xa[i] = (int16_t)next();
        xb[i] = (int16_t)next();
        fx[i] = (float)(int32_t)(next() & 0xFFFF) / 4096.0f - 8.0f;
        fy[i] = (float)(int32_t)(next() & 0xFFFF) / 8192.0f;
        ua[i] = (uint8_t)next();
        ub[i] = (uint8_t)next();
    }
    uint32_t h = 2166136261u;
    for (int p = 0; p < n; p++) {
        h = mix(h, (uint32_t)dot16(xa, xb));
        axpy(0.5f + (float)(p & 7) * 0.125f, fx, fy);
        h = mix(h, sad(ua, ub));
        int j = (int)(next() % LEN);
        xa[j] = (int16_t)next();
        ua[j] = (uint8_t)next();
        fy[j] = 0.25f;
    }
    for (int i = 0; i < LEN; i += 3) {
        union { float f; uint32_t u; } v = {fy[i]};
        h = mix(h, v.u);
    }
    return (int)h;
}
