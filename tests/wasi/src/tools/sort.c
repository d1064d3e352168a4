/* sort: sort lines (like POSIX sort, in the C locale).
 * sort [-r] [-n] [-u] [-f] [-k FIELD] [-o OUT] [FILE...]
 * -k sorts on the FIELDth blank-separated field (1-based) to the end of line. */
#include <ctype.h>
#include "tool.h"

static int opt_r, opt_n, opt_u, opt_f, key_field;

static const char *key(const char *s) {
  for (int f = 1; f < key_field; f++) {
    while (*s && isblank((unsigned char)*s)) s++;
    while (*s && !isblank((unsigned char)*s)) s++;
  }
  return s;
}

static int compare_text(const char *a, const char *b) {
  if (!opt_f) return strcmp(a, b);
  for (;; a++, b++) {
    int x = toupper((unsigned char)*a), y = toupper((unsigned char)*b);
    if (x != y || !x) return x - y;
  }
}

static int compare(const void *pa, const void *pb) {
  const char *a = key(*(char *const *)pa), *b = key(*(char *const *)pb);
  int c;
  if (opt_n) {
    double x = strtod(a, NULL), y = strtod(b, NULL);
    c = x < y ? -1 : x > y;
    if (!c) c = strcmp(*(char *const *)pa, *(char *const *)pb);
  } else {
    c = compare_text(a, b);
    if (!c) c = strcmp(*(char *const *)pa, *(char *const *)pb);
  }
  return opt_r ? -c : c;
}

static char **lines;
static size_t nlines, cap;

static void read_lines(FILE *f) {
  char *line = NULL;
  size_t lcap = 0;
  ssize_t len;
  while ((len = getline(&line, &lcap, f)) >= 0) {
    if (len && line[len - 1] == '\n') line[len - 1] = 0;
    if (nlines == cap) {
      cap = cap ? 2 * cap : 64;
      char **more = xmalloc(cap * sizeof *lines);
      if (nlines) memcpy(more, lines, nlines * sizeof *lines);
      free(lines);
      lines = more;
    }
    lines[nlines++] = xstrdup(line);
  }
  free(line);
}

int main(int argc, char **argv) {
  progname = "sort";
  const char *out = NULL;
  int i = 1;
  for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
    if (strcmp(argv[i], "-k") == 0 && i + 1 < argc) { key_field = atoi(argv[++i]); continue; }
    if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) { out = argv[++i]; continue; }
    for (const char *p = argv[i] + 1; *p; p++) {
      if (*p == 'r') opt_r = 1;
      else if (*p == 'n') opt_n = 1;
      else if (*p == 'u') opt_u = 1;
      else if (*p == 'f') opt_f = 1;
      else { put(stderr, "usage: sort [-rnuf] [-k N] [-o OUT] [FILE...]\n"); return 2; }
    }
  }
  if (i == argc) read_lines(stdin);
  for (; i < argc; i++) {
    FILE *f = strcmp(argv[i], "-") == 0 ? stdin : fopen(argv[i], "r");
    if (!f) { complain(argv[i]); return 2; }
    read_lines(f);
    if (f != stdin) fclose(f);
  }
  qsort(lines, nlines, sizeof *lines, compare);
  FILE *o = out ? fopen(out, "w") : stdout;
  if (!o) { complain(out); return 2; }
  for (size_t k = 0; k < nlines; k++) {
    if (opt_u && k && compare_text(key(lines[k]), key(lines[k - 1])) == 0) continue;
    put(o, lines[k]);
    fputc('\n', o);
  }
  if (o != stdout && fclose(o) != 0) { complain(out); return 2; }
  return 0;
}
