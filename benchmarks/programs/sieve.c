/*
 * sieve: sieve of Eratosthenes over the odd numbers up to n, one bit each.
 *
 * Bit i of the table stands for the odd number 2*i + 1 and is set when that
 * number is composite. The checksum mixes the prime count, the sum of the
 * primes (mod 2^32) and a running hash of every 64th prime.
 */
#include <stdint.h>

#define MAX_N (1u << 27) /* 128 Mi: 64 Mi odd numbers, 8 MiB of bits */

static uint32_t bits[MAX_N / 64 + 1];

static inline int is_composite(uint32_t i) {
    return (bits[i >> 5] >> (i & 31)) & 1;
}

int run(int n) {
    uint32_t limit = n < 2 ? 2u : (uint32_t)n;
    if (limit > MAX_N)
        limit = MAX_N;
    uint32_t odd_count = (limit + 1) / 2; /* odd numbers 1, 3, ..., <= limit */
    uint32_t words = odd_count / 32 + 1;
    for (uint32_t w = 0; w < words; w++)
        bits[w] = 0;
    bits[0] |= 1; /* 1 is not prime */

    for (uint32_t p = 3; p * p <= limit; p += 2) {
        if (is_composite(p >> 1))
            continue;
        for (uint32_t m = p * p; m <= limit; m += 2 * p)
            bits[m >> 6] |= 1u << ((m >> 1) & 31);
    }

    uint32_t count = 1; /* the prime 2 */
    uint32_t sum = 2;
    uint32_t h = 0x9e3779b9u;
    for (uint32_t i = 1; i < odd_count; i++) {
        if (is_composite(i))
            continue;
        uint32_t p = 2 * i + 1;
        count++;
        sum += p;
        if ((count & 63) == 0)
            h = (h ^ p) * 0x01000193u;
    }
    return (int)((count * 0x85ebca6bu) ^ sum ^ h);
}
