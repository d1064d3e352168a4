/* cpr: copy files and directory trees (like cp -R -P -p without modes):
 * cpr [-v] SRC... DEST   Directories are copied recursively, symbolic links as
 * links, and modification times are kept. With several SRC, DEST is a directory. */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "tool.h"

static int verbose, status;

static void keep_times(const char *dst, const struct stat *st) {
  struct timespec t[2] = {st->st_atim, st->st_mtim};
  if (utimensat(AT_FDCWD, dst, t, AT_SYMLINK_NOFOLLOW) != 0) { complain(dst); status = 1; }
}

static void copy_file(const char *src, const char *dst, const struct stat *st) {
  int in = open(src, O_RDONLY);
  if (in < 0) { complain(src); status = 1; return; }
  int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0666);
  if (out < 0) { complain(dst); close(in); status = 1; return; }
  char buf[8192];
  ssize_t n;
  while ((n = read(in, buf, sizeof buf)) > 0) {
    for (ssize_t done = 0; done < n;) {
      ssize_t w = write(out, buf + done, (size_t)(n - done));
      if (w < 0) { complain(dst); status = 1; n = -1; break; }
      done += w;
    }
    if (n < 0) break;
  }
  if (n < 0 && errno) complain(src);
  close(in);
  if (close(out) != 0) { complain(dst); status = 1; }
  keep_times(dst, st);
}

static void copy(const char *src, const char *dst) {
  struct stat st;
  if (lstat(src, &st) != 0) { complain(src); status = 1; return; }
  if (verbose) { put(stdout, src); put(stdout, " -> "); put(stdout, dst); putchar('\n'); }
  if (S_ISLNK(st.st_mode)) {
    char target[4096];
    ssize_t n = readlink(src, target, sizeof target - 1);
    if (n < 0) { complain(src); status = 1; return; }
    target[n] = 0;
    if (symlink(target, dst) != 0) { complain(dst); status = 1; return; }
    keep_times(dst, &st);
  } else if (S_ISDIR(st.st_mode)) {
    if (mkdir(dst, 0777) != 0 && errno != EEXIST) { complain(dst); status = 1; return; }
    size_t n;
    char **names = list_dir(src, &n);
    if (!names) { complain(src); status = 1; return; }
    for (size_t i = 0; i < n; i++) {
      char *s = join(src, names[i]), *d = join(dst, names[i]);
      copy(s, d);
      free(s);
      free(d);
    }
    free_list(names, n);
    keep_times(dst, &st);
  } else if (S_ISREG(st.st_mode)) {
    copy_file(src, dst, &st);
  } else {
    put(stderr, "cpr: ");
    put(stderr, src);
    put(stderr, ": not a file, directory or link\n");
    status = 1;
  }
}

static const char *base(const char *p) {
  const char *s = strrchr(p, '/');
  return s && s[1] ? s + 1 : p;
}

int main(int argc, char **argv) {
  progname = "cpr";
  int i = 1;
  if (i < argc && strcmp(argv[i], "-v") == 0) { verbose = 1; i++; }
  if (argc - i < 2) { put(stderr, "usage: cpr [-v] SRC... DEST\n"); return 2; }
  const char *dest = argv[argc - 1];
  struct stat st;
  int into = stat(dest, &st) == 0 && S_ISDIR(st.st_mode);
  if (argc - i > 2 && !into) { put(stderr, "cpr: target is not a directory\n"); return 2; }
  for (; i < argc - 1; i++) {
    if (into) {
      char *d = join(dest, base(argv[i]));
      copy(argv[i], d);
      free(d);
    } else {
      copy(argv[i], dest);
    }
  }
  return status;
}
