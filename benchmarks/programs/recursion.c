/*
 * recursion: call-heavy workloads with tiny bodies.
 *
 * fib(n)                naive doubly recursive Fibonacci (about 1.6^n calls)
 * tak(x, y, z)          the Takeuchi function: irregular, three-argument calls
 * ack(2, k)             Ackermann with m = 2: O(k^2) calls, O(k) stack depth
 *
 * The call depth stays well under 1024 frames for every n used by the
 * benchmarks, so stack-limited interpreters can run it too.
 */
#include <stdint.h>

static int32_t fib(int32_t n) {
    if (n < 2)
        return n;
    return fib(n - 1) + fib(n - 2);
}

static int32_t tak(int32_t x, int32_t y, int32_t z) {
    if (y >= x)
        return z;
    return tak(tak(x - 1, y, z), tak(y - 1, z, x), tak(z - 1, x, y));
}

static uint32_t ack(uint32_t m, uint32_t k) {
    if (m == 0)
        return k + 1;
    if (k == 0)
        return ack(m - 1, 1);
    return ack(m - 1, ack(m, k - 1));
}

int run(int n) {
    uint32_t h = 2166136261u;
    h = (h ^ (uint32_t)fib(n)) * 16777619u;
    h = (h ^ (uint32_t)tak(n / 2 + 2, n / 3 + 1, n / 6)) * 16777619u;
    h = (h ^ ack(2, (uint32_t)n * 4u)) * 16777619u;
    return (int)h;
}
