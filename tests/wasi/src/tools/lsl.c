/* lsl: list directories in long form (like ls -l, minus what WASI cannot see:
 * permission bits and owners). lsl [-a] [-R] [PATH...]
 * Columns: type, links, size, modification time (UTC), name [-> target].
 * Times within six months of now show the time of day, older ones the year;
 * TIME_STYLE=iso shows "YYYY-MM-DD HH:MM:SS" for all. */
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "tool.h"

static int opt_a, opt_R, status;
static time_t now;
static const char *months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static void put_time(time_t t) {
  struct tm tm;
  gmtime_r(&t, &tm);
  const char *style = getenv("TIME_STYLE");
  if (style && strcmp(style, "iso") == 0) {
    put_num0(stdout, (unsigned long long)tm.tm_year + 1900, 4); putchar('-');
    put_num0(stdout, (unsigned long long)tm.tm_mon + 1, 2); putchar('-');
    put_num0(stdout, (unsigned long long)tm.tm_mday, 2); putchar(' ');
    put_num0(stdout, (unsigned long long)tm.tm_hour, 2); putchar(':');
    put_num0(stdout, (unsigned long long)tm.tm_min, 2); putchar(':');
    put_num0(stdout, (unsigned long long)tm.tm_sec, 2);
    return;
  }
  put(stdout, months[tm.tm_mon]);
  putchar(' ');
  put_num(stdout, (unsigned long long)tm.tm_mday, 2);
  putchar(' ');
  if (t > now - 183L * 24 * 3600 && t <= now + 3600) {
    put_num0(stdout, (unsigned long long)tm.tm_hour, 2);
    putchar(':');
    put_num0(stdout, (unsigned long long)tm.tm_min, 2);
  } else {
    put_num(stdout, (unsigned long long)tm.tm_year + 1900, 5);
  }
}

static void entry(const char *dir, const char *name) {
  char *path = dir ? join(dir, name) : xstrdup(name);
  struct stat st;
  if (lstat(path, &st) != 0) { complain(path); status = 1; free(path); return; }
  putchar(S_ISDIR(st.st_mode) ? 'd' : S_ISLNK(st.st_mode) ? 'l' : S_ISREG(st.st_mode) ? '-' : '?');
  put_num(stdout, (unsigned long long)st.st_nlink, 4);
  put_num(stdout, S_ISDIR(st.st_mode) ? 0 : (unsigned long long)st.st_size, 9);
  putchar(' ');
  put_time(st.st_mtime);
  putchar(' ');
  put(stdout, name);
  if (S_ISLNK(st.st_mode)) {
    char target[4096];
    ssize_t n = readlink(path, target, sizeof target - 1);
    if (n >= 0) { target[n] = 0; put(stdout, " -> "); put(stdout, target); }
  }
  putchar('\n');
  free(path);
}

static void list(const char *path, int header) {
  size_t n;
  char **names = list_dir(path, &n);
  if (!names) { complain(path); status = 1; return; }
  if (header) { put(stdout, path); put(stdout, ":\n"); }
  unsigned long long total = 0;
  for (size_t i = 0; i < n; i++) {
    if (!opt_a && names[i][0] == '.') continue;
    char *p = join(path, names[i]);
    struct stat st;
    if (lstat(p, &st) == 0 && !S_ISDIR(st.st_mode)) total += (unsigned long long)st.st_size;
    free(p);
  }
  put(stdout, "total bytes ");
  put_num(stdout, total, 0);
  putchar('\n');
  for (size_t i = 0; i < n; i++)
    if (opt_a || names[i][0] != '.') entry(path, names[i]);
  if (opt_R)
    for (size_t i = 0; i < n; i++) {
      if (!opt_a && names[i][0] == '.') continue;
      char *p = join(path, names[i]);
      struct stat st;
      if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) { putchar('\n'); list(p, 1); }
      free(p);
    }
  free_list(names, n);
}

int main(int argc, char **argv) {
  progname = "lsl";
  now = time(NULL);
  int i = 1;
  for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++)
    for (const char *p = argv[i] + 1; *p; p++) {
      if (*p == 'a') opt_a = 1;
      else if (*p == 'R') opt_R = 1;
      else { put(stderr, "usage: lsl [-aR] [PATH...]\n"); return 2; }
    }
  if (i == argc) { list(".", opt_R); return status; }
  int many = argc - i > 1 || opt_R;
  for (int k = i; k < argc; k++) {
    struct stat st;
    if (lstat(argv[k], &st) != 0) { complain(argv[k]); status = 1; continue; }
    if (S_ISDIR(st.st_mode)) {
      if (k > i) putchar('\n');
      list(argv[k], many);
    } else {
      entry(NULL, argv[k]);
    }
  }
  return status;
}
