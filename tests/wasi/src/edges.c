/* WASI and the CLI at their edges (issue 18). argv[1] picks what to do:
 *
 *   args             print argv (argv[0] included) and the environment
 *   status N         write to stdout and stderr, then exit with status N
 *   sleep-max        poll_oneoff: relative clock timeout of u64 max
 *   sleep-i64        poll_oneoff: relative clock timeout of 0x7fffffffffffffff
 *   sleep-abs        poll_oneoff: absolute realtime timeout of u64 max
 *   nanosleep        nanosleep(LLONG_MAX seconds) through wasi-libc
 *   stdin-clock      poll_oneoff: stdin readable, or a clock of ~35 days
 *   open N           open N files in fd 3 (".") and keep them open
 *   trailing         every path operation with trailing slashes, in fd 3
 *   recurse          unbounded recursion (a stack overflow trap)
 *
 * The sleeps never return in the tests: they are stopped by -W timeout. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include "raw.h"

extern char **environ;

#define DIR_FD 3

static __wasi_subscription_t subs[2];
static __wasi_event_t events[2];

static void clock_sub(int i, uint64_t timeout, int clock, int abstime) {
  memset(&subs[i], 0, sizeof subs[i]);
  subs[i].userdata = 100 + (uint64_t)i;
  subs[i].u.tag = 0;
  subs[i].u.u.clock.id = (uint32_t)clock;
  subs[i].u.u.clock.timeout = timeout;
  subs[i].u.u.clock.flags = abstime ? 1 : 0;
}

static int sleep_case(const char *what) {
  int n = 1;
  if (strcmp(what, "sleep-max") == 0) clock_sub(0, UINT64_MAX, 1, 0);
  else if (strcmp(what, "sleep-i64") == 0) clock_sub(0, 0x7fffffffffffffffULL, 1, 0);
  else if (strcmp(what, "sleep-abs") == 0) clock_sub(0, UINT64_MAX, 0, 1);
  else {
    memset(&subs[0], 0, sizeof subs[0]);
    subs[0].userdata = 7;
    subs[0].u.tag = 1; /* fd_read */
    subs[0].u.u.fd_read.file_descriptor = 0;
    clock_sub(1, 35ULL * 24 * 3600 * 1000000000ULL, 1, 0);
    n = 2;
  }
  out_s("sleeping\n");
  fflush(stdout);
  I nevents = 0;
  int e = raw_poll_oneoff(P(subs), P(events), n, P(&nevents));
  out_kv("poll_oneoff", e);
  out_kv("events", nevents);
  if (nevents > 0) out_kv("first", (int64_t)events[0].userdata);
  return 0;
}

static void path_case(const char *label, int e) { out_kv(label, e); }

static I len(const char *s) { return (I)strlen(s); }

static int mkdir_(const char *p) { return raw_path_create_directory(DIR_FD, P(p), len(p)); }
static int rmdir_(const char *p) { return raw_path_remove_directory(DIR_FD, P(p), len(p)); }
static int unlink_(const char *p) { return raw_path_unlink_file(DIR_FD, P(p), len(p)); }

static int open_(const char *p, int follow, int oflags, int64_t rights) {
  I fd = -1;
  int e = raw_path_open(DIR_FD, follow, P(p), len(p), oflags, rights, rights, 0, P(&fd));
  if (e == 0) raw_fd_close(fd);
  return e;
}

static void stat_(const char *label, const char *p, int follow) {
  __wasi_filestat_t st;
  memset(&st, 0, sizeof st);
  int e = raw_path_filestat_get(DIR_FD, follow, P(p), len(p), P(&st));
  out_s(label);
  out_s(": ");
  out_d(e);
  if (e == 0) { out_s(" type="); out_d(st.filetype); }
  out_c('\n');
}

static int rename_(const char *a, const char *b) {
  return raw_path_rename(DIR_FD, P(a), len(a), DIR_FD, P(b), len(b));
}

static int link_(const char *a, const char *b) {
  return raw_path_link(DIR_FD, 0, P(a), len(a), DIR_FD, P(b), len(b));
}

static int symlink_(const char *target, const char *p) {
  return raw_path_symlink(P(target), len(target), DIR_FD, P(p), len(p));
}

static int readlink_(const char *p) {
  char buf[64];
  I used = 0;
  return raw_path_readlink(DIR_FD, P(p), len(p), P(buf), sizeof buf, P(&used));
}

static int times_(const char *p, int follow) {
  return raw_path_filestat_set_times(DIR_FD, follow, P(p), len(p), 0, 0, 0);
}

/* The tree (made by the test): dir/ (empty), full/x, file, link-dir -> dir,
 * link-file -> file, dangling -> nowhere. Each case leaves it as it was. */
static int trailing(void) {
  const int64_t RW = 0x1fffffff;
  path_case("mkdir new/", mkdir_("new/"));
  path_case("rmdir new/", rmdir_("new/"));
  path_case("mkdir new//", mkdir_("new//"));
  path_case("rmdir new//", rmdir_("new//"));
  path_case("mkdir file/", mkdir_("file/"));
  path_case("mkdir dir/", mkdir_("dir/"));
  path_case("mkdir link-dir/", mkdir_("link-dir/"));
  path_case("mkdir dangling/", mkdir_("dangling/"));
  path_case("rmdir link-dir/", rmdir_("link-dir/"));
  path_case("rmdir link-file/", rmdir_("link-file/"));
  path_case("rmdir file/", rmdir_("file/"));
  path_case("rmdir missing/", rmdir_("missing/"));
  path_case("rmdir dangling/", rmdir_("dangling/"));
  path_case("rmdir full/", rmdir_("full/"));
  path_case("rmdir dir/.", rmdir_("dir/."));
  path_case("rmdir ./", rmdir_("./"));
  path_case("unlink file/", unlink_("file/"));
  path_case("unlink dir/", unlink_("dir/"));
  path_case("unlink link-file/", unlink_("link-file/"));
  path_case("unlink link-dir/", unlink_("link-dir/"));
  path_case("unlink dangling/", unlink_("dangling/"));
  path_case("unlink missing/", unlink_("missing/"));
  path_case("open newf/ creat", open_("newf/", 0, 1, RW));
  path_case("open newf/ creat excl", open_("newf/", 0, 1 | 4, RW));
  path_case("open file/ creat", open_("file/", 0, 1, RW));
  path_case("open dir/ creat", open_("dir/", 0, 1, RW));
  path_case("open file/", open_("file/", 0, 0, RW));
  path_case("open file/ follow", open_("file/", 1, 0, RW));
  path_case("open dir/", open_("dir/", 0, 0, 0x4000 | 0x2));
  path_case("open dir/ directory", open_("dir/", 0, 2, 0x4000 | 0x2));
  path_case("open link-dir/", open_("link-dir/", 0, 0, 0x4000 | 0x2));
  path_case("open link-file/", open_("link-file/", 1, 0, RW));
  path_case("open dangling/", open_("dangling/", 1, 0, RW));
  path_case("open dangling/ creat", open_("dangling/", 1, 1, RW));
  path_case("open missing/", open_("missing/", 0, 0, RW));
  path_case("open file/ trunc", open_("file/", 0, 8, RW));
  stat_("stat file/", "file/", 0);
  stat_("stat dir/", "dir/", 0);
  stat_("stat link-dir/", "link-dir/", 0);
  stat_("stat link-dir", "link-dir", 0);
  stat_("stat link-file/", "link-file/", 1);
  stat_("stat dangling/", "dangling/", 0);
  stat_("stat missing/", "missing/", 0);
  path_case("times file/", times_("file/", 0));
  path_case("times dir/", times_("dir/", 0));
  path_case("times link-dir/", times_("link-dir/", 0));
  path_case("rename file file2/", rename_("file", "file2/"));
  path_case("rename file/ file2", rename_("file/", "file2"));
  path_case("rename dir/ dir2/", rename_("dir/", "dir2/"));
  path_case("rename dir2 dir/", rename_("dir2", "dir/"));
  path_case("rename dir dir2", rename_("dir", "dir2"));
  path_case("rename dir2/ dir", rename_("dir2/", "dir"));
  path_case("rename link-dir/ x", rename_("link-dir/", "x"));
  path_case("rename link-file/ x", rename_("link-file/", "x"));
  path_case("rename missing/ x", rename_("missing/", "x"));
  path_case("link file hard/", link_("file", "hard/"));
  path_case("link file/ hard", link_("file/", "hard"));
  path_case("link dir/ hard", link_("dir/", "hard"));
  path_case("symlink file sl/", symlink_("file", "sl/"));
  path_case("symlink dir/ sl", symlink_("dir/", "sl"));
  path_case("unlink sl", unlink_("sl"));
  path_case("readlink link-dir/", readlink_("link-dir/"));
  path_case("readlink link-file/", readlink_("link-file/"));
  path_case("readlink file/", readlink_("file/"));
  path_case("open missing/newf/ creat", open_("missing/newf/", 0, 1, RW));
  path_case("open full/x/ creat", open_("full/x/", 0, 1, RW));
  path_case("mkdir missing/new/", mkdir_("missing/new/"));
  path_case("mkdir full/x/", mkdir_("full/x/"));
  path_case("rename dir file/", rename_("dir", "file/"));
  path_case("rename file dir/", rename_("file", "dir/"));
  path_case("rename full/x dir/", rename_("full/x", "dir/"));
  path_case("unlink full/x/", unlink_("full/x/"));
  path_case("rmdir full/x/", rmdir_("full/x/"));
  stat_("stat full/x/", "full/x/", 0);
  stat_("stat full/", "full/", 0);
  stat_("stat ./", "./", 0);
  return 0;
}

static int open_many(int n) {
  int opened = 0;
  char name[32];
  for (int i = 0; i < n; i++) {
    strcpy(name, "f");
    char num[12];
    int k = sizeof num;
    num[--k] = 0;
    int v = i;
    do { num[--k] = (char)('0' + v % 10); v /= 10; } while (v);
    strcat(name, num + k);
    I fd = -1;
    int e = raw_path_open(DIR_FD, 0, P(name), len(name), 1, 0x1fffffff, 0x1fffffff, 0, P(&fd));
    if (e != 0) {
      out_kv("errno", e);
      break;
    }
    opened++;
  }
  out_kv("opened", opened);
  return 0;
}

__attribute__((noinline)) static int recurse(volatile int *depth) {
  volatile char pad[64];
  pad[0] = (char)*depth;
  if (++*depth < 0) return 0; /* never: the stack runs out first */
  return recurse(depth) + pad[0];
}

int main(int argc, char **argv) {
  if (argc < 2) return 0;
  const char *what = argv[1];
  if (strcmp(what, "args") == 0) {
    for (int i = 0; i < argc; i++) {
      out_s("argv[");
      out_d(i);
      out_s("]: ");
      out_bytes(argv[i], strlen(argv[i]));
      out_c('\n');
    }
    for (char **e = environ; *e; e++) {
      out_s("env: ");
      out_bytes(*e, strlen(*e));
      out_c('\n');
    }
    return 0;
  }
  if (strcmp(what, "status") == 0 && argc > 2) {
    out_s("to stdout\n");
    fflush(stdout);
    fputs("to stderr\n", stderr);
    return atoi(argv[2]);
  }
  if (strncmp(what, "sleep-", 6) == 0 || strcmp(what, "stdin-clock") == 0) return sleep_case(what);
  if (strcmp(what, "nanosleep") == 0) {
    out_s("sleeping\n");
    fflush(stdout);
    struct timespec ts = {LLONG_MAX, 0};
    int r = nanosleep(&ts, NULL);
    out_kv("nanosleep", r < 0 ? errno : 0);
    return 0;
  }
  if (strcmp(what, "open") == 0 && argc > 2) return open_many(atoi(argv[2]));
  if (strcmp(what, "trailing") == 0) return trailing();
  if (strcmp(what, "recurse") == 0) {
    volatile int depth = 0;
    return recurse(&depth);
  }
  out_s("unknown mode\n");
  return 1;
}
