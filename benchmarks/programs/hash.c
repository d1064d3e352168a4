/*
 * hash: three hash functions over an n-byte pseudo-random buffer.
 *
 * - SHA-256 (FIPS 180-4), with padding, over the whole buffer;
 * - 32-bit FNV-1a, byte at a time;
 * - a 64-bit, four-lane multiply-rotate hash in the style of xxHash
 *   (little-endian 8-byte loads, i64 multiplies and rotates).
 * The n bytes come from a xorshift generator seeded by n and are produced
 * and hashed in 64 KiB chunks, so every hash runs in streaming mode and the
 * memory footprint does not grow with n. The checksum folds the digest and
 * both hashes together.
 */
#include <stdint.h>

#define CHUNK (64u << 10) /* a multiple of 64 (SHA-256) and 32 (lanes) */

static uint8_t chunk[CHUNK];

/* ---- SHA-256 ------------------------------------------------------------ */

static const uint32_t round_k[64] = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u,
    0x923f82a4u, 0xab1c5ed5u, 0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u,
    0x72be5d74u, 0x80deb1feu, 0x9bdc06a7u, 0xc19bf174u, 0xe49b69c1u, 0xefbe4786u,
    0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu, 0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau,
    0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u, 0xc6e00bf3u, 0xd5a79147u,
    0x06ca6351u, 0x14292967u, 0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu, 0x53380d13u,
    0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u, 0xa2bfe8a1u, 0xa81a664bu,
    0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u,
    0x19a4c116u, 0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au,
    0x5b9cca4fu, 0x682e6ff3u, 0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u,
    0x90befffau, 0xa4506cebu, 0xbef9a3f7u, 0xc67178f2u,
};

static inline uint32_t rotr32(uint32_t x, unsigned r) {
    return (x >> r) | (x << (32 - r));
}

static void sha256_block(uint32_t state[8], const uint8_t *p) {
    uint32_t w[64];
    for (int t = 0; t < 16; t++)
        w[t] = (uint32_t)p[4 * t] << 24 | (uint32_t)p[4 * t + 1] << 16 |
               (uint32_t)p[4 * t + 2] << 8 | (uint32_t)p[4 * t + 3];
    for (int t = 16; t < 64; t++) {
        uint32_t s0 = rotr32(w[t - 15], 7) ^ rotr32(w[t - 15], 18) ^ (w[t - 15] >> 3);
        uint32_t s1 = rotr32(w[t - 2], 17) ^ rotr32(w[t - 2], 19) ^ (w[t - 2] >> 10);
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
    uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
    for (int t = 0; t < 64; t++) {
        uint32_t big1 = rotr32(e, 6) ^ rotr32(e, 11) ^ rotr32(e, 25);
        uint32_t choose = (e & f) ^ (~e & g);
        uint32_t t1 = h + big1 + choose + round_k[t] + w[t];
        uint32_t big0 = rotr32(a, 2) ^ rotr32(a, 13) ^ rotr32(a, 22);
        uint32_t majority = (a & b) ^ (a & c) ^ (b & c);
        uint32_t t2 = big0 + majority;
        h = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
    state[4] += e;
    state[5] += f;
    state[6] += g;
    state[7] += h;
}

static const uint32_t sha256_initial[8] = {
    0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
    0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u,
};

/* Hashes the final 0..63 bytes plus padding; total_len is the message length. */
static void sha256_finish(uint32_t state[8], const uint8_t *rest, uint32_t rest_len,
                          uint64_t total_len) {
    uint8_t tail[128];
    for (uint32_t i = 0; i < rest_len; i++)
        tail[i] = rest[i];
    tail[rest_len] = 0x80;
    uint32_t tail_len = rest_len + 9 <= 64 ? 64 : 128;
    for (uint32_t i = rest_len + 1; i < tail_len - 8; i++)
        tail[i] = 0;
    uint64_t bit_len = total_len * 8;
    for (int i = 0; i < 8; i++)
        tail[tail_len - 1 - i] = (uint8_t)(bit_len >> (8 * i));
    for (uint32_t off = 0; off < tail_len; off += 64)
        sha256_block(state, tail + off);
}

/* ---- FNV-1a -------------------------------------------------------------- */

static uint32_t fnv1a(uint32_t h, const uint8_t *data, uint32_t len) {
    for (uint32_t i = 0; i < len; i++)
        h = (h ^ data[i]) * 16777619u;
    return h;
}

/* ---- four-lane 64-bit multiply-rotate hash ------------------------------- */

#define M1 0x9e3779b185ebca87ull
#define M2 0xc2b2ae3d27d4eb4full
#define M3 0x165667b19e3779f9ull

static inline uint64_t rotl64(uint64_t x, unsigned r) {
    return (x << r) | (x >> (64 - r));
}

static inline uint64_t load64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static inline uint64_t lane_step(uint64_t acc, uint64_t input) {
    acc += input * M2;
    acc = rotl64(acc, 31);
    return acc * M1;
}

/* Consumes whole 32-byte stripes; returns how many bytes it used. */
static uint32_t lanes_update(uint64_t v[4], const uint8_t *data, uint32_t len) {
    uint32_t i = 0;
    for (; i + 32 <= len; i += 32) {
        v[0] = lane_step(v[0], load64(data + i));
        v[1] = lane_step(v[1], load64(data + i + 8));
        v[2] = lane_step(v[2], load64(data + i + 16));
        v[3] = lane_step(v[3], load64(data + i + 24));
    }
    return i;
}

static uint64_t lanes_finish(const uint64_t v[4], const uint8_t *rest, uint32_t rest_len,
                             uint64_t total_len) {
    uint64_t h = rotl64(v[0], 1) + rotl64(v[1], 7) + rotl64(v[2], 12) + rotl64(v[3], 18);
    h += total_len;
    for (uint32_t i = 0; i < rest_len; i++)
        h = rotl64(h ^ (rest[i] * M3), 11) * M1;
    h ^= h >> 33;
    h *= M2;
    h ^= h >> 29;
    h *= M3;
    h ^= h >> 32;
    return h;
}

/* ---- driver --------------------------------------------------------------- */

int run(int n) {
    uint32_t total = n < 0 ? 0u : (uint32_t)n;
    uint32_t x = 0x6d2b79f5u ^ total;

    uint32_t sha[8];
    for (int i = 0; i < 8; i++)
        sha[i] = sha256_initial[i];
    uint32_t fnv = 2166136261u;
    const uint64_t seed = 0x27d4eb2f165667c5ull;
    uint64_t lanes[4] = {seed + M1 + M2, seed + M2, seed, seed - M1};

    uint32_t done = 0, len;
    for (;;) {
        len = total - done < CHUNK ? total - done : CHUNK;
        for (uint32_t i = 0; i < len; i++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            chunk[i] = (uint8_t)(x >> 24);
        }
        fnv = fnv1a(fnv, chunk, len);
        done += len;
        if (len < CHUNK || done == total)
            break; /* the last chunk is hashed below, with the tails */
        for (uint32_t off = 0; off < CHUNK; off += 64)
            sha256_block(sha, chunk + off);
        lanes_update(lanes, chunk, CHUNK);
    }

    uint32_t full = len & ~63u;
    for (uint32_t off = 0; off < full; off += 64)
        sha256_block(sha, chunk + off);
    sha256_finish(sha, chunk + full, len - full, total);
    uint32_t used = lanes_update(lanes, chunk, len);
    uint64_t l = lanes_finish(lanes, chunk + used, len - used, total);

    uint32_t h = fnv;
    for (int i = 0; i < 8; i++)
        h = (h ^ sha[i]) * 0x01000193u;
    h ^= (uint32_t)l;
    h = (h ^ (uint32_t)(l >> 32)) * 0x01000193u;
    return (int)h;
}
