/* arc: a small tar (POSIX ustar) archiver.
 *   arc c [-v] ARCHIVE PATH...   create (directories recursively, in name order)
 *   arc t ARCHIVE                list: type, size, mtime, name [-> link]
 *   arc x ARCHIVE [DEST]         extract, keeping modification times
 * Modes are not recorded (WASI cannot see them): files 0644, directories 0755.
 * ARC_EXCLUDE=name1,name2 skips entries with those names when creating.
 * With -v, create also reports its elapsed time (from the clock) on stderr. */
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "tool.h"

#define BLOCK 512

static int verbose, status;
static unsigned long long entries, bytes;

static void octal(char *field, int width, unsigned long long v) {
  field[width - 1] = 0;
  for (int i = width - 2; i >= 0; i--) { field[i] = (char)('0' + (v & 7)); v >>= 3; }
}

static unsigned long long parse_octal(const char *field, int width) {
  unsigned long long v = 0;
  for (int i = 0; i < width && field[i] >= '0' && field[i] <= '7'; i++) v = v * 8 + (unsigned)(field[i] - '0');
  return v;
}

static int excluded(const char *name) {
  const char *list = getenv("ARC_EXCLUDE");
  if (!list) return 0;
  size_t n = strlen(name);
  for (const char *p = list; *p;) {
    const char *end = strchr(p, ',');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if (len == n && strncmp(p, name, n) == 0) return 1;
    if (!end) break;
    p = end + 1;
  }
  return 0;
}

static void write_all(int fd, const void *buf, size_t n) {
  const char *p = buf;
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w <= 0) { complain("write"); exit(2); }
    p += w;
    n -= (size_t)w;
  }
}

static int header(int out, const char *name, char type, unsigned long long size, unsigned long long mtime,
                  const char *link) {
  char h[BLOCK];
  memset(h, 0, sizeof h);
  size_t len = strlen(name);
  if (len <= 100) {
    memcpy(h, name, len);
  } else {
    const char *split = name + len - 101;
    while (*split && *split != '/') split++;
    if (!*split || split - name > 155) { put(stderr, "arc: name too long: "); put(stderr, name); put(stderr, "\n"); return -1; }
    memcpy(h + 345, name, (size_t)(split - name));
    memcpy(h, split + 1, strlen(split + 1));
  }
  octal(h + 100, 8, type == '5' ? 0755 : type == '2' ? 0777 : 0644);
  octal(h + 108, 8, 0);
  octal(h + 116, 8, 0);
  octal(h + 124, 12, size);
  octal(h + 136, 12, mtime);
  h[156] = type;
  if (link) strncpy(h + 157, link, 100);
  memcpy(h + 257, "ustar", 6);
  memcpy(h + 263, "00", 2);
  memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (int i = 0; i < BLOCK; i++) sum += (unsigned char)h[i];
  octal(h + 148, 7, sum);
  h[155] = ' ';
  write_all(out, h, sizeof h);
  return 0;
}

static void add(int out, const char *path) {
  struct stat st;
  if (lstat(path, &st) != 0) { complain(path); status = 1; return; }
  if (verbose) { put(stdout, path); putchar('\n'); }
  entries++;
  if (S_ISDIR(st.st_mode)) {
    char *name = join(path, "");
    header(out, name, '5', 0, (unsigned long long)st.st_mtime, NULL);
    free(name);
    size_t n;
    char **names = list_dir(path, &n);
    if (!names) { complain(path); status = 1; return; }
    for (size_t i = 0; i < n; i++) {
      if (excluded(names[i])) continue;
      char *child = join(path, names[i]);
      add(out, child);
      free(child);
    }
    free_list(names, n);
  } else if (S_ISLNK(st.st_mode)) {
    char target[101];
    ssize_t n = readlink(path, target, 100);
    if (n < 0) { complain(path); status = 1; return; }
    target[n] = 0;
    header(out, path, '2', 0, (unsigned long long)st.st_mtime, target);
  } else if (S_ISREG(st.st_mode)) {
    int in = open(path, O_RDONLY);
    if (in < 0) { complain(path); status = 1; return; }
    if (header(out, path, '0', (unsigned long long)st.st_size, (unsigned long long)st.st_mtime, NULL) != 0) {
      close(in);
      status = 1;
      return;
    }
    char buf[BLOCK * 8];
    unsigned long long left = (unsigned long long)st.st_size;
    while (left) {
      size_t want = left < sizeof buf ? (size_t)left : sizeof buf;
      ssize_t n = read(in, buf, want);
      if (n <= 0) { complain(path); exit(2); }
      write_all(out, buf, (size_t)n);
      left -= (unsigned long long)n;
    }
    bytes += (unsigned long long)st.st_size;
    size_t pad = (size_t)((BLOCK - st.st_size % BLOCK) % BLOCK);
    memset(buf, 0, pad);
    write_all(out, buf, pad);
    close(in);
  }
}

static int safe(const char *name) {
  if (name[0] == '/') return 0;
  for (const char *p = name; *p;) {
    if (p[0] == '.' && p[1] == '.' && (p[2] == '/' || !p[2])) return 0;
    const char *s = strchr(p, '/');
    if (!s) break;
    p = s + 1;
  }
  return 1;
}

struct dirtime { char *path; unsigned long long mtime; };

static void set_mtime(const char *path, unsigned long long mtime) {
  struct timespec t[2] = {{(time_t)mtime, 0}, {(time_t)mtime, 0}};
  if (utimensat(AT_FDCWD, path, t, AT_SYMLINK_NOFOLLOW) != 0) { complain(path); status = 1; }
}

static int read_block(int in, char *h) {
  size_t got = 0;
  while (got < BLOCK) {
    ssize_t n = read(in, h + got, BLOCK - got);
    if (n <= 0) return 0;
    got += (size_t)n;
  }
  return 1;
}

static int extract(const char *archive, const char *dest, int list_only) {
  int in = open(archive, O_RDONLY);
  if (in < 0) { complain(archive); return 2; }
  struct dirtime dirs[1024];
  int ndirs = 0;
  char h[BLOCK];
  while (read_block(in, h) && h[0]) {
    char name[260];
    size_t plen = strnlen(h + 345, 155);
    size_t nlen = strnlen(h, 100);
    name[0] = 0;
    if (plen) { memcpy(name, h + 345, plen); name[plen] = '/'; name[plen + 1] = 0; }
    size_t at = strlen(name);
    memcpy(name + at, h, nlen);
    name[at + nlen] = 0;
    unsigned long long size = parse_octal(h + 124, 12), mtime = parse_octal(h + 136, 12);
    char type = h[156] ? h[156] : '0';
    char link[101];
    memcpy(link, h + 157, 100);
    link[100] = 0;
    if (list_only) {
      putchar(type == '5' ? 'd' : type == '2' ? 'l' : '-');
      put_num(stdout, size, 9);
      putchar(' ');
      put_num(stdout, mtime, 11);
      putchar(' ');
      put(stdout, name);
      if (type == '2') { put(stdout, " -> "); put(stdout, link); }
      putchar('\n');
    }
    char *path = join(dest, name);
    size_t plen2 = strlen(path);
    if (plen2 && path[plen2 - 1] == '/') path[plen2 - 1] = 0;
    int ok = safe(name);
    if (!ok && !list_only) { put(stderr, "arc: skipping unsafe name "); put(stderr, name); put(stderr, "\n"); status = 1; }
    int out = -1;
    if (ok && !list_only) {
      if (type == '5') {
        if (mkdir(path, 0777) != 0 && errno != EEXIST) { complain(path); status = 1; }
        else if (ndirs < 1024) { dirs[ndirs].path = xstrdup(path); dirs[ndirs++].mtime = mtime; }
      } else if (type == '2') {
        if (symlink(link, path) != 0) { complain(path); status = 1; }
        else set_mtime(path, mtime);
      } else {
        out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
        if (out < 0) { complain(path); status = 1; }
      }
    }
    for (unsigned long long left = size; left > 0;) {
      char data[BLOCK];
      if (!read_block(in, data)) { put(stderr, "arc: truncated archive\n"); return 2; }
      size_t use = left < BLOCK ? (size_t)left : BLOCK;
      if (out >= 0) write_all(out, data, use);
      left -= use;
    }
    if (out >= 0) { close(out); set_mtime(path, mtime); }
    free(path);
  }
  close(in);
  while (ndirs > 0) {
    ndirs--;
    set_mtime(dirs[ndirs].path, dirs[ndirs].mtime);
    free(dirs[ndirs].path);
  }
  return status;
}

int main(int argc, char **argv) {
  progname = "arc";
  if (argc < 3) { put(stderr, "usage: arc c [-v] ARCHIVE PATH... | arc t ARCHIVE | arc x ARCHIVE [DEST]\n"); return 2; }
  if (strcmp(argv[1], "c") == 0) {
    int i = 2;
    if (strcmp(argv[i], "-v") == 0) { verbose = 1; i++; }
    if (argc - i < 2) { put(stderr, "arc: nothing to archive\n"); return 2; }
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    int out = open(argv[i], O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (out < 0) { complain(argv[i]); return 2; }
    for (int k = i + 1; k < argc; k++) add(out, argv[k]);
    char zero[BLOCK * 2];
    memset(zero, 0, sizeof zero);
    write_all(out, zero, sizeof zero);
    close(out);
    clock_gettime(CLOCK_MONOTONIC, &end);
    if (verbose) {
      put_num(stdout, entries, 0);
      put(stdout, " entries, ");
      put_num(stdout, bytes, 0);
      put(stdout, " bytes\n");
      long long ms = (end.tv_sec - start.tv_sec) * 1000LL + (end.tv_nsec - start.tv_nsec) / 1000000;
      put(stderr, "arc: took ");
      put_num(stderr, (unsigned long long)(ms < 0 ? 0 : ms), 0);
      put(stderr, " ms\n");
    }
    return status;
  }
  if (strcmp(argv[1], "t") == 0) return extract(argv[2], ".", 1);
  if (strcmp(argv[1], "x") == 0) return extract(argv[2], argc > 3 ? argv[3] : ".", 0);
  put(stderr, "arc: unknown command\n");
  return 2;
}
