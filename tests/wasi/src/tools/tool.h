/* Shared bits of the small command-line tools: portable C (POSIX), built both
 * for wasm32-wasi and natively with gcc so their output can be compared byte for
 * byte. Output goes through stdio with these helpers rather than printf, which
 * keeps the modules small for nanoproc's pure-Python tier. */
#ifndef TOOL_H
#define TOOL_H
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *progname = "tool";

static void put(FILE *f, const char *s) { fputs(s, f); }

/* An unsigned number, right-aligned in `width` columns (0: no padding). */
static void put_num(FILE *f, unsigned long long v, int width) {
  char buf[32];
  int i = sizeof buf;
  buf[--i] = 0;
  do { buf[--i] = (char)('0' + v % 10); v /= 10; } while (v);
  for (int pad = width - ((int)sizeof buf - 1 - i); pad > 0; pad--) fputc(' ', f);
  fputs(buf + i, f);
}

/* A number with leading zeros to `width` digits. */
static void put_num0(FILE *f, unsigned long long v, int width) {
  char buf[32];
  int i = sizeof buf;
  buf[--i] = 0;
  do { buf[--i] = (char)('0' + v % 10); v /= 10; width--; } while (v || width > 0);
  fputs(buf + i, f);
}

/* "prog: what: strerror(errno)" on stderr. */
static void complain(const char *what) {
  int e = errno;
  put(stderr, progname);
  put(stderr, ": ");
  put(stderr, what);
  put(stderr, ": ");
  put(stderr, strerror(e));
  put(stderr, "\n");
}

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) { put(stderr, "out of memory\n"); exit(2); }
  return p;
}

static char *xstrdup(const char *s) {
  size_t n = strlen(s) + 1;
  return memcpy(xmalloc(n), s, n);
}

/* `dir` + "/" + `name`, freshly allocated. */
static char *join(const char *dir, const char *name) {
  size_t a = strlen(dir), b = strlen(name);
  char *p = xmalloc(a + b + 2);
  memcpy(p, dir, a);
  p[a] = '/';
  memcpy(p + a + 1, name, b + 1);
  return p;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The names in directory `path` (without . and ..), sorted; NULL on error. */
#include <dirent.h>
static char **list_dir(const char *path, size_t *count) {
  DIR *d = opendir(path);
  if (!d) return NULL;
  size_t n = 0, cap = 16;
  char **names = xmalloc(cap * sizeof *names);
  struct dirent *e;
  while ((e = readdir(d))) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    if (n == cap) {
      char **more = xmalloc(2 * cap * sizeof *names);
      memcpy(more, names, n * sizeof *names);
      free(names);
      names = more;
      cap *= 2;
    }
    names[n++] = xstrdup(e->d_name);
  }
  closedir(d);
  qsort(names, n, sizeof *names, cmp_str);
  *count = n;
  return names;
}

static void free_list(char **names, size_t n) {
  for (size_t i = 0; i < n; i++) free(names[i]);
  free(names);
}
#endif
