/*
 * simd_shim.h: the few wasm_simd128.h intrinsics the SIMD benchmarks use, and a
 * plain C version of each with the same results, so that the native build (gcc,
 * no Wasm SIMD) computes the reference checksums the Wasm builds must match.
 */
#ifndef SIMD_SHIM_H
#define SIMD_SHIM_H
#include <stdint.h>

#ifdef __wasm_simd128__
#include <wasm_simd128.h>
typedef v128_t vec;
#define V_LOAD(p) wasm_v128_load(p)
#define V_STORE(p, v) wasm_v128_store((p), (v))
#define U8_SPLAT(x) wasm_i8x16_splat((int8_t)(x))
#define U8_EQ(a, b) wasm_i8x16_eq((a), (b))
#define U8_BITMASK(a) ((uint32_t)wasm_i8x16_bitmask(a))
#define U16_EXTEND_LOW(a) wasm_u16x8_extend_low_u8x16(a)
#define U16_EXTEND_HIGH(a) wasm_u16x8_extend_high_u8x16(a)
#define U16_ADD(a, b) wasm_i16x8_add((a), (b))
#define U16_SHL(a, k) wasm_i16x8_shl((a), (k))
#define U16_SHR(a, k) wasm_u16x8_shr((a), (k))
#define U16_SPLAT(x) wasm_i16x8_splat((int16_t)(x))
#define U8_NARROW(a, b) wasm_u8x16_narrow_i16x8((a), (b))
#define F32_SPLAT(x) wasm_f32x4_splat(x)
#define F32_MAKE(a, b, c, d) wasm_f32x4_make((a), (b), (c), (d))
#define F32_ADD(a, b) wasm_f32x4_add((a), (b))
#define F32_SUB(a, b) wasm_f32x4_sub((a), (b))
#define F32_MUL(a, b) wasm_f32x4_mul((a), (b))
#define F32_LE(a, b) wasm_f32x4_le((a), (b))
#define I32_SPLAT(x) wasm_i32x4_splat(x)
#define I32_ADD(a, b) wasm_i32x4_add((a), (b))
#define I32_SUB(a, b) wasm_i32x4_sub((a), (b))
#define V_AND(a, b) wasm_v128_and((a), (b))
#define V_ANY(a) wasm_v128_any_true(a)
#define I32_LANE(a, i) wasm_i32x4_extract_lane((a), (i))
#else
#include <string.h>
typedef union {
    uint8_t u8[16];
    uint16_t u16[8];
    int32_t i32[4];
    uint32_t u32[4];
    float f32[4];
} vec;
static inline vec V_LOAD(const void *p) { vec v; memcpy(&v, p, 16); return v; }
static inline void V_STORE(void *p, vec v) { memcpy(p, &v, 16); }
static inline vec U8_SPLAT(uint8_t x) { vec v; for (int i = 0; i < 16; i++) v.u8[i] = x; return v; }
static inline vec U8_EQ(vec a, vec b) { vec v; for (int i = 0; i < 16; i++) v.u8[i] = a.u8[i] == b.u8[i] ? 0xFF : 0; return v; }
static inline uint32_t U8_BITMASK(vec a) { uint32_t m = 0; for (int i = 0; i < 16; i++) m |= (uint32_t)(a.u8[i] >> 7) << i; return m; }
static inline vec U16_EXTEND_LOW(vec a) { vec v; for (int i = 0; i < 8; i++) v.u16[i] = a.u8[i]; return v; }
static inline vec U16_EXTEND_HIGH(vec a) { vec v; for (int i = 0; i < 8; i++) v.u16[i] = a.u8[8 + i]; return v; }
static inline vec U16_ADD(vec a, vec b) { vec v; for (int i = 0; i < 8; i++) v.u16[i] = (uint16_t)(a.u16[i] + b.u16[i]); return v; }
static inline vec U16_SHL(vec a, int k) { vec v; for (int i = 0; i < 8; i++) v.u16[i] = (uint16_t)(a.u16[i] << k); return v; }
static inline vec U16_SHR(vec a, int k) { vec v; for (int i = 0; i < 8; i++) v.u16[i] = (uint16_t)(a.u16[i] >> k); return v; }
static inline vec U16_SPLAT(uint16_t x) { vec v; for (int i = 0; i < 8; i++) v.u16[i] = x; return v; }
static inline uint8_t sat_u8(int16_t x) { return x < 0 ? 0 : x > 255 ? 255 : (uint8_t)x; }
static inline vec U8_NARROW(vec a, vec b) {
    vec v;
    for (int i = 0; i < 8; i++) {
        v.u8[i] = sat_u8((int16_t)a.u16[i]);
        v.u8[8 + i] = sat_u8((int16_t)b.u16[i]);
    }
    return v;
}
static inline vec F32_SPLAT(float x) { vec v; for (int i = 0; i < 4; i++) v.f32[i] = x; return v; }
static inline vec F32_MAKE(float a, float b, float c, float d) { vec v; v.f32[0] = a; v.f32[1] = b; v.f32[2] = c; v.f32[3] = d; return v; }
static inline vec F32_ADD(vec a, vec b) { vec v; for (int i = 0; i < 4; i++) v.f32[i] = a.f32[i] + b.f32[i]; return v; }
static inline vec F32_SUB(vec a, vec b) { vec v; for (int i = 0; i < 4; i++) v.f32[i] = a.f32[i] - b.f32[i]; return v; }
static inline vec F32_MUL(vec a, vec b) { vec v; for (int i = 0; i < 4; i++) v.f32[i] = a.f32[i] * b.f32[i]; return v; }
static inline vec F32_LE(vec a, vec b) { vec v; for (int i = 0; i < 4; i++) v.u32[i] = a.f32[i] <= b.f32[i] ? 0xFFFFFFFFu : 0; return v; }
static inline vec I32_SPLAT(int32_t x) { vec v; for (int i = 0; i < 4; i++) v.i32[i] = x; return v; }
static inline vec I32_ADD(vec a, vec b) { vec v; for (int i = 0; i < 4; i++) v.u32[i] = a.u32[i] + b.u32[i]; return v; }
static inline vec I32_SUB(vec a, vec b) { vec v; for (int i = 0; i < 4; i++) v.u32[i] = a.u32[i] - b.u32[i]; return v; }
static inline vec V_AND(vec a, vec b) { vec v; for (int i = 0; i < 4; i++) v.u32[i] = a.u32[i] & b.u32[i]; return v; }
static inline int V_ANY(vec a) { return (a.u32[0] | a.u32[1] | a.u32[2] | a.u32[3]) != 0; }
#define I32_LANE(a, i) ((a).i32[i])
#endif
#endif
