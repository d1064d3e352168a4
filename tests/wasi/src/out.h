/* Small output helpers on stdio, without printf: the test programs stay small,
 * which matters when they run on nanoproc's pure-Python tier. */
#ifndef OUT_H
#define OUT_H
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static void out_s(const char *s) { fputs(s, stdout); }
static void out_c(char c) { fputc(c, stdout); }

static void out_u(uint64_t v) {
  char buf[24];
  int i = sizeof buf;
  buf[--i] = 0;
  do { buf[--i] = (char)('0' + v % 10); v /= 10; } while (v);
  out_s(buf + i);
}

static void out_d(int64_t v) {
  if (v < 0) { out_c('-'); out_u((uint64_t)0 - (uint64_t)v); } else out_u((uint64_t)v);
}

static void out_x(uint64_t v) {
  char buf[20];
  int i = sizeof buf;
  buf[--i] = 0;
  do { buf[--i] = "0123456789abcdef"[v & 15]; v >>= 4; } while (v);
  out_s("0x");
  out_s(buf + i);
}

/* Bytes as text, with anything unprintable as \xNN (for names and contents). */
static void out_bytes(const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++) {
    if (b[i] >= 32 && b[i] < 127 && b[i] != '\\') out_c((char)b[i]);
    else { out_s("\\x"); out_c("0123456789abcdef"[b[i] >> 4]); out_c("0123456789abcdef"[b[i] & 15]); }
  }
}

/* "label: value\n" */
static void out_kv(const char *label, int64_t v) { out_s(label); out_s(": "); out_d(v); out_c('\n'); }
static void out_ks(const char *label, const char *s) { out_s(label); out_s(": "); out_s(s); out_c('\n'); }
#endif
