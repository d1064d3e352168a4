/* wc: count lines, words and bytes (like POSIX wc).
 * wc [-l] [-w] [-c] [FILE...]   (no FILE, or "-": standard input) */
#include <ctype.h>
#include "tool.h"

static int show_l, show_w, show_c;

static void report(unsigned long long l, unsigned long long w, unsigned long long c, const char *name) {
  if (show_l) put_num(stdout, l, 7);
  if (show_w) { if (show_l) putchar(' '); put_num(stdout, w, 7); }
  if (show_c) { if (show_l || show_w) putchar(' '); put_num(stdout, c, 7); }
  if (name) { putchar(' '); put(stdout, name); }
  putchar('\n');
}

int main(int argc, char **argv) {
  progname = "wc";
  int i = 1, status = 0;
  for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++)
    for (const char *p = argv[i] + 1; *p; p++) {
      if (*p == 'l') show_l = 1;
      else if (*p == 'w') show_w = 1;
      else if (*p == 'c') show_c = 1;
      else { put(stderr, "usage: wc [-lwc] [FILE...]\n"); return 2; }
    }
  if (!show_l && !show_w && !show_c) show_l = show_w = show_c = 1;
  unsigned long long tl = 0, tw = 0, tc = 0;
  int files = argc - i;
  for (int k = i; k < argc || (files == 0 && k == i); k++) {
    const char *name = files ? argv[k] : NULL;
    FILE *f = (!name || strcmp(name, "-") == 0) ? stdin : fopen(name, "rb");
    if (!f) { complain(name); status = 1; continue; }
    unsigned long long l = 0, w = 0, c = 0;
    int ch, inword = 0;
    while ((ch = getc(f)) != EOF) {
      c++;
      if (ch == '\n') l++;
      if (isspace(ch)) inword = 0;
      else if (!inword) { inword = 1; w++; }
    }
    if (f != stdin) fclose(f);
    report(l, w, c, name);
    tl += l; tw += w; tc += c;
  }
  if (files > 1) report(tl, tw, tc, "total");
  return status;
}
