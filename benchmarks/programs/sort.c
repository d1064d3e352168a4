/*
 * sort: quicksort and heapsort of n pseudo-random 32-bit signed integers.
 *
 * The keys come from a xorshift generator; a copy of the array is sorted by
 * each algorithm. Quicksort uses median-of-three pivots, insertion sort for
 * short ranges, and recurses into the smaller side only (O(log n) depth).
 * The checksum verifies that both results are sorted and identical and
 * hashes a strided sample of the sorted keys.
 */
#include <stdint.h>

#define MAX_LEN (1u << 20)

static int32_t keys_q[MAX_LEN];
static int32_t keys_h[MAX_LEN];

static void insertion_sort(int32_t *v, int32_t lo, int32_t hi) {
    for (int32_t i = lo + 1; i <= hi; i++) {
        int32_t key = v[i];
        int32_t j = i - 1;
        while (j >= lo && v[j] > key) {
            v[j + 1] = v[j];
            j--;
        }
        v[j + 1] = key;
    }
}

static inline void swap(int32_t *v, int32_t i, int32_t j) {
    int32_t t = v[i];
    v[i] = v[j];
    v[j] = t;
}

static void quicksort(int32_t *v, int32_t lo, int32_t hi) {
    while (hi - lo > 16) {
        int32_t mid = lo + (hi - lo) / 2;
        if (v[mid] < v[lo])
            swap(v, mid, lo);
        if (v[hi] < v[lo])
            swap(v, hi, lo);
        if (v[hi] < v[mid])
            swap(v, hi, mid);
        int32_t pivot = v[mid];
        int32_t i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot)
                i++;
            while (v[j] > pivot)
                j--;
            if (i <= j) {
                swap(v, i, j);
                i++;
                j--;
            }
        }
        if (j - lo < hi - i) {
            quicksort(v, lo, j);
            lo = i;
        } else {
            quicksort(v, i, hi);
            hi = j;
        }
    }
    insertion_sort(v, lo, hi);
}

static void sift_down(int32_t *v, uint32_t root, uint32_t len) {
    int32_t value = v[root];
    for (;;) {
        uint32_t child = 2 * root + 1;
        if (child >= len)
            break;
        if (child + 1 < len && v[child + 1] > v[child])
            child++;
        if (v[child] <= value)
            break;
        v[root] = v[child];
        root = child;
    }
    v[root] = value;
}

static void heapsort(int32_t *v, uint32_t len) {
    if (len < 2)
        return;
    for (uint32_t i = len / 2; i-- > 0;)
        sift_down(v, i, len);
    for (uint32_t end = len - 1; end > 0; end--) {
        swap(v, 0, (int32_t)end);
        sift_down(v, 0, end);
    }
}

int run(int n) {
    uint32_t len = n < 1 ? 1u : (uint32_t)n;
    if (len > MAX_LEN)
        len = MAX_LEN;
    uint32_t x = 0x9e3779b9u ^ len;
    for (uint32_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        keys_q[i] = (int32_t)x;
        keys_h[i] = (int32_t)x;
    }
    quicksort(keys_q, 0, (int32_t)len - 1);
    heapsort(keys_h, len);

    uint32_t bad = 0;
    for (uint32_t i = 0; i < len; i++) {
        bad += keys_q[i] != keys_h[i];
        if (i > 0)
            bad += keys_q[i - 1] > keys_q[i];
    }
    uint32_t h = 2166136261u ^ bad;
    uint32_t stride = len / 97 + 1;
    for (uint32_t i = 0; i < len; i += stride)
        h = (h ^ (uint32_t)keys_q[i]) * 0x01000193u;
    return (int)(h + bad * 0x9e3779b9u);
}
