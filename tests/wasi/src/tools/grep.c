/* grep: print lines matching a pattern (a small regular-expression language:
 * literal characters, '.', 'c*', '^' and '$'), like POSIX grep without -E.
 * grep [-i] [-v] [-n] [-c] [-r] [-l] PATTERN [PATH...]
 * Directories are searched (in name order) with -r; GREP_LABEL names stdin. */
#include <ctype.h>
#include <sys/stat.h>
#include "tool.h"

static int opt_i, opt_v, opt_n, opt_c, opt_r, opt_l, many;

static int eq(int a, int b) { return opt_i ? tolower(a) == tolower(b) : a == b; }

static int match_here(const char *re, const char *text);

static int match_star(int c, const char *re, const char *text) {
  do {
    if (match_here(re, text)) return 1;
  } while (*text && (c == '.' || eq(*text, c)) && text++);
  return 0;
}

static int match_here(const char *re, const char *text) {
  if (!re[0]) return 1;
  if (re[1] == '*') return match_star(re[0], re + 2, text);
  if (re[0] == '$' && !re[1]) return !*text;
  if (*text && (re[0] == '.' || eq(re[0], *text))) return match_here(re + 1, text + 1);
  return 0;
}

static int match(const char *re, const char *text) {
  if (re[0] == '^') return match_here(re + 1, text);
  do {
    if (match_here(re, text)) return 1;
  } while (*text++);
  return 0;
}

/* Search one stream; the number of selected lines. */
static long search(const char *re, FILE *f, const char *name) {
  char *line = NULL;
  size_t cap = 0;
  long count = 0, lineno = 0;
  ssize_t len;
  while ((len = getline(&line, &cap, f)) >= 0) {
    lineno++;
    if (len && line[len - 1] == '\n') line[--len] = 0;
    if (match(re, line) == opt_v) continue;
    count++;
    if (opt_c || opt_l) continue;
    if (many) { put(stdout, name); putchar(':'); }
    if (opt_n) { put_num(stdout, (unsigned long long)lineno, 0); putchar(':'); }
    put(stdout, line);
    putchar('\n');
  }
  free(line);
  if (opt_c) {
    if (many) { put(stdout, name); putchar(':'); }
    put_num(stdout, (unsigned long long)count, 0);
    putchar('\n');
  }
  if (opt_l && count) { put(stdout, name); putchar('\n'); }
  return count;
}

static long search_path(const char *re, const char *path, int *status) {
  struct stat st;
  if (stat(path, &st) != 0) { complain(path); *status = 2; return 0; }
  if (S_ISDIR(st.st_mode)) {
    if (!opt_r) { put(stderr, "grep: "); put(stderr, path); put(stderr, ": Is a directory\n"); return 0; }
    size_t n;
    char **names = list_dir(path, &n);
    if (!names) { complain(path); *status = 2; return 0; }
    long total = 0;
    for (size_t i = 0; i < n; i++) {
      char *child = join(path, names[i]);
      total += search_path(re, child, status);
      free(child);
    }
    free_list(names, n);
    return total;
  }
  FILE *f = fopen(path, "r");
  if (!f) { complain(path); *status = 2; return 0; }
  long c = search(re, f, path);
  fclose(f);
  return c;
}

int main(int argc, char **argv) {
  progname = "grep";
  int i = 1;
  for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++)
    for (const char *p = argv[i] + 1; *p; p++) {
      switch (*p) {
        case 'i': opt_i = 1; break;
        case 'v': opt_v = 1; break;
        case 'n': opt_n = 1; break;
        case 'c': opt_c = 1; break;
        case 'r': opt_r = 1; break;
        case 'l': opt_l = 1; break;
        default: put(stderr, "usage: grep [-ivncrl] PATTERN [PATH...]\n"); return 2;
      }
    }
  if (i >= argc) { put(stderr, "usage: grep [-ivncrl] PATTERN [PATH...]\n"); return 2; }
  const char *re = argv[i++];
  int status = 0;
  long found = 0;
  many = argc - i > 1 || opt_r;
  if (i == argc) {
    const char *label = getenv("GREP_LABEL");
    found = search(re, stdin, label ? label : "(standard input)");
  }
  for (; i < argc; i++) found += search_path(re, argv[i], &status);
  return status ? status : found ? 0 : 1;
}
