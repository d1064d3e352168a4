/*
 * matmul: dense double-precision matrix multiply, C = A * B, n x n.
 *
 * A and B are filled from a linear congruential generator with values in
 * [-1, 1). The product uses the cache-friendly i-k-j loop order. The
 * checksum hashes the exact IEEE-754 bit patterns of the diagonal and of a
 * strided sample of C, so any rounding difference changes it.
 */
#include <stdint.h>

#define MAX_DIM 640

static double a[MAX_DIM * MAX_DIM];
static double b[MAX_DIM * MAX_DIM];
static double c[MAX_DIM * MAX_DIM];

static uint32_t lcg_state;

static double next_value(void) {
    lcg_state = lcg_state * 1664525u + 1013904223u;
    return (double)(int32_t)(lcg_state >> 8) / 8388608.0 - 1.0; /* 2^23 */
}

static uint32_t mix_double(uint32_t h, double d) {
    union {
        double d;
        uint64_t u;
    } v;
    v.d = d;
    h = (h ^ (uint32_t)v.u) * 0x01000193u;
    h = (h ^ (uint32_t)(v.u >> 32)) * 0x01000193u;
    return h;
}

int run(int n) {
    uint32_t dim = n < 1 ? 1u : (uint32_t)n;
    if (dim > MAX_DIM)
        dim = MAX_DIM;
    lcg_state = 12345u + dim;
    for (uint32_t i = 0; i < dim * dim; i++) {
        a[i] = next_value();
        b[i] = next_value();
        c[i] = 0.0;
    }
    for (uint32_t i = 0; i < dim; i++) {
        double *ci = &c[i * dim];
        for (uint32_t k = 0; k < dim; k++) {
            double aik = a[i * dim + k];
            const double *bk = &b[k * dim];
            for (uint32_t j = 0; j < dim; j++)
                ci[j] += aik * bk[j];
        }
    }
    uint32_t h = 2166136261u;
    for (uint32_t i = 0; i < dim; i++)
        h = mix_double(h, c[i * dim + i]);
    for (uint32_t i = 0; i < dim * dim; i += 7)
        h = mix_double(h, c[i]);
    return (int)h;
}
