/* Directories and names: create/remove, fd_readdir (cookies, a large directory,
 * small buffers and truncated entries), rename, hard and symbolic links,
 * readlink, unlink, path_filestat_get/set_times, prestat, trailing slashes.
 * Preopen: fd 3 = /work (read-write, starts empty). */
#include <dirent.h>
#include <stdlib.h>
#include "raw.h"

#define WORK 3
#define RD ((L)(2 | 4 | 32 | (1 << 14) | (1 << 21)))
#define RW (RD | 64 | (1 << 22))

static char buf[4096];

static int touch(const char *path, const char *text) {
  I fd = -1;
  int e = raw_path_open(WORK, 0, S(path), 1 | 8, RW, RW, 0, P(&fd));
  if (e) return e;
  __wasi_ciovec_t iov = {(const uint8_t *)text, strlen(text)};
  I n;
  raw_fd_write(fd, P(&iov), 1, P(&n));
  return raw_fd_close(fd);
}

static void pstat(const char *label, const char *path, int follow) {
  __wasi_filestat_t st;
  memset(&st, 0, sizeof st);
  int e = raw_path_filestat_get(WORK, follow, S(path), P(&st));
  out_s(label);
  out_s(": ");
  out_d(e);
  if (e == 0) {
    out_s(" type=");
    out_d(st.filetype);
    out_s(" nlink=");
    out_u(st.nlink);
    if (st.filetype != 3) { out_s(" size="); out_u(st.size); }
  }
  out_c('\n');
}

/* Sorted names of a directory, read `bufsize` bytes per fd_readdir call. */
static int names_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void listing(const char *label, const char *path, int bufsize) {
  I fd = -1;
  int e = raw_path_open(WORK, 1, S(path), 2, RD, RD, 0, P(&fd));
  if (e) { out_kv(label, e); return; }
  static char names[600][64];
  static char *sorted[600];
  int count = 0, calls = 0, truncated = 0, types_ok = 1;
  uint64_t cookie = 0;
  for (;;) {
    I used = 0;
    e = raw_fd_readdir(fd, P(buf), bufsize, (L)cookie, P(&used));
    calls++;
    if (e) break;
    I off = 0;
    while (off + 24 <= used) {
      __wasi_dirent_t *d = (__wasi_dirent_t *)(buf + off);
      if (off + 24 + (I)d->d_namlen > used) { truncated++; break; }
      if (count < 600 && d->d_namlen < 64) {
        memcpy(names[count], buf + off + 24, d->d_namlen);
        names[count][d->d_namlen] = 0;
        if ((strcmp(names[count], ".") == 0 || strcmp(names[count], "..") == 0) && d->d_type != 3) types_ok = 0;
        count++;
      }
      cookie = d->d_next;
      off += 24 + (I)d->d_namlen;
    }
    if (used < bufsize) break;
  }
  raw_fd_close(fd);
  for (int i = 0; i < count; i++) sorted[i] = names[i];
  qsort(sorted, (size_t)count, sizeof sorted[0], names_cmp);
  out_s(label);
  out_s(": ");
  out_d(e);
  out_s(" count=");
  out_d(count);
  out_s(" dots_are_dirs=");
  out_d(types_ok);
  out_s(" multiple_calls=");
  out_d(calls > 1);
  if (count <= 12) {
    out_s(" names=");
    for (int i = 0; i < count; i++) { if (i) out_c(','); out_s(sorted[i]); }
  } else {
    int in_order = 1;
    for (int i = 0; i + 1 < count; i++) if (strcmp(sorted[i], sorted[i + 1]) == 0) in_order = 0;
    out_s(" unique=");
    out_d(in_order);
  }
  out_c('\n');
}

int main(void) {
  I n = 0;

  /* ---- prestat */
  __wasi_prestat_t pre;
  CHECK("prestat_get", raw_fd_prestat_get(WORK, P(&pre)));
  out_kv("prestat_tag", pre.tag);
  out_kv("prestat_name_len", pre.u.dir.pr_name_len);
  memset(buf, 0, 16);
  CHECK("prestat_dir_name", raw_fd_prestat_dir_name(WORK, P(buf), pre.u.dir.pr_name_len));
  out_ks("prestat_name", buf);
  CHECK("prestat_dir_name_short", raw_fd_prestat_dir_name(WORK, P(buf), 1));
  CHECK("prestat_get_stdout", raw_fd_prestat_get(1, P(&pre)));
  CHECK("prestat_get_unopened", raw_fd_prestat_get(40, P(&pre)));

  /* ---- create and remove directories */
  CHECK("mkdir", raw_path_create_directory(WORK, S("d")));
  CHECK("mkdir_exists", raw_path_create_directory(WORK, S("d")));
  CHECK("mkdir_nested", raw_path_create_directory(WORK, S("d/e")));
  CHECK("mkdir_missing_parent", raw_path_create_directory(WORK, S("x/y")));
  CHECK("mkdir_trailing_slash", raw_path_create_directory(WORK, S("t/")));
  CHECK("mkdir_dot", raw_path_create_directory(WORK, S(".")));
  CHECK("mkdir_empty", raw_path_create_directory(WORK, P(""), 0));
  CHECK("rmdir_nonempty", raw_path_remove_directory(WORK, S("d")));
  CHECK("rmdir", raw_path_remove_directory(WORK, S("d/e")));
  CHECK("rmdir_missing", raw_path_remove_directory(WORK, S("d/e")));
  CHECK("touch", touch("d/f.txt", "data\n"));
  CHECK("rmdir_file", raw_path_remove_directory(WORK, S("d/f.txt")));
  CHECK("unlink_dir", raw_path_unlink_file(WORK, S("d")));
  CHECK("rmdir_dot", raw_path_remove_directory(WORK, S("d/.")));
  CHECK("rmdir_t", raw_path_remove_directory(WORK, S("t")));

  /* ---- stat */
  pstat("stat_file", "d/f.txt", 0);
  pstat("stat_dir", "d", 0);
  pstat("stat_dot", ".", 0);
  pstat("stat_dotdot_inside", "d/..", 0);
  pstat("stat_missing", "nope", 0);
  pstat("stat_through_file", "d/f.txt/x", 0);
  pstat("stat_trailing_slash_dir", "d/", 0);
  pstat("stat_trailing_slash_file", "d/f.txt/", 0);

  /* ---- symbolic links and readlink */
  CHECK("symlink", raw_path_symlink(S("d/f.txt"), WORK, S("lf")));
  CHECK("symlink_dir", raw_path_symlink(S("d"), WORK, S("ld")));
  CHECK("symlink_dangling", raw_path_symlink(S("nowhere"), WORK, S("dangling")));
  CHECK("symlink_exists", raw_path_symlink(S("x"), WORK, S("lf")));
  CHECK("symlink_absolute", raw_path_symlink(S("/d/f.txt"), WORK, S("labs")));
  CHECK("symlink_empty", raw_path_symlink(P(""), 0, WORK, S("lempty")));
  pstat("stat_link_nofollow", "lf", 0);
  pstat("stat_link_follow", "lf", 1);
  pstat("stat_dangling_follow", "dangling", 1);
  pstat("stat_through_dir_link", "ld/f.txt", 0);
  memset(buf, 0, 64);
  CHECK("readlink", raw_path_readlink(WORK, S("lf"), P(buf), 64, P(&n)));
  out_kv("readlink_n", n);
  out_ks("readlink_text", buf);
  memset(buf, 0, 64);
  CHECK("readlink_short", raw_path_readlink(WORK, S("lf"), P(buf), 3, P(&n)));
  out_kv("readlink_short_n", n);
  out_ks("readlink_short_text", buf);
  CHECK("readlink_not_link", raw_path_readlink(WORK, S("d"), P(buf), 64, P(&n)));
  CHECK("readlink_missing", raw_path_readlink(WORK, S("zz"), P(buf), 64, P(&n)));
  {
    I lfd = -1;
    CHECK("open_link_follow", raw_path_open(WORK, 1, S("lf"), 0, RD, RD, 0, P(&lfd)));
    raw_fd_close(lfd);
    CHECK("open_link_nofollow", raw_path_open(WORK, 0, S("lf"), 0, RD, RD, 0, P(&lfd)));
    CHECK("open_dir_link_nofollow", raw_path_open(WORK, 0, S("ld"), 2, RD, RD, 0, P(&lfd)));
    CHECK("open_dir_link_trailing_slash", raw_path_open(WORK, 0, S("ld/"), 2, RD, RD, 0, P(&lfd)));
    raw_fd_close(lfd);
    CHECK("creat_through_dangling", raw_path_open(WORK, 1, S("dangling"), 1, RW, RW, 0, P(&lfd)));
    raw_fd_close(lfd);
    pstat("stat_created_target", "nowhere", 0);
    CHECK("creat_excl_on_link", raw_path_open(WORK, 1, S("dangling"), 1 | 4, RW, RW, 0, P(&lfd)));
  }

  /* ---- hard links */
  CHECK("link", raw_path_link(WORK, 0, S("d/f.txt"), WORK, S("hard.txt")));
  pstat("stat_linked", "hard.txt", 0);
  CHECK("link_exists", raw_path_link(WORK, 0, S("d/f.txt"), WORK, S("hard.txt")));
  CHECK("link_dir", raw_path_link(WORK, 0, S("d"), WORK, S("hd")));
  CHECK("link_missing", raw_path_link(WORK, 0, S("zz"), WORK, S("hz")));
  CHECK("link_symlink_itself", raw_path_link(WORK, 0, S("lf"), WORK, S("lf2")));
  pstat("stat_linked_symlink", "lf2", 0);
  CHECK("link_follow_flag", raw_path_link(WORK, 1, S("lf"), WORK, S("lf3")));

  /* ---- rename */
  CHECK("rename_file", raw_path_rename(WORK, S("hard.txt"), WORK, S("moved.txt")));
  pstat("stat_old_name", "hard.txt", 0);
  pstat("stat_new_name", "moved.txt", 0);
  CHECK("touch_other", touch("other.txt", "other\n"));
  CHECK("rename_over_file", raw_path_rename(WORK, S("other.txt"), WORK, S("moved.txt")));
  pstat("stat_replaced", "moved.txt", 0);
  CHECK("rename_dir", raw_path_rename(WORK, S("d"), WORK, S("dd")));
  CHECK("rename_file_over_dir", raw_path_rename(WORK, S("moved.txt"), WORK, S("dd")));
  CHECK("mkdir_empty_target", raw_path_create_directory(WORK, S("empty")));
  CHECK("rename_dir_over_empty_dir", raw_path_rename(WORK, S("dd"), WORK, S("empty")));
  CHECK("rename_dir_over_file", raw_path_rename(WORK, S("empty"), WORK, S("moved.txt")));
  CHECK("mkdir_full", raw_path_create_directory(WORK, S("full")));
  CHECK("touch_full", touch("full/x", "x"));
  CHECK("rename_dir_over_nonempty", raw_path_rename(WORK, S("empty"), WORK, S("full")));
  CHECK("rename_into_itself", raw_path_rename(WORK, S("empty"), WORK, S("empty/inner")));
  CHECK("rename_missing", raw_path_rename(WORK, S("zz"), WORK, S("yy")));
  CHECK("rename_trailing_slash_file", raw_path_rename(WORK, S("moved.txt"), WORK, S("m2/")));
  CHECK("rename_trailing_slash_dir", raw_path_rename(WORK, S("empty/"), WORK, S("empty2/")));
  CHECK("rename_back", raw_path_rename(WORK, S("empty2"), WORK, S("empty")));
  CHECK("symlink_to_empty", raw_path_symlink(S("empty"), WORK, S("le")));
  CHECK("rename_symlink", raw_path_rename(WORK, S("lf2"), WORK, S("lf4")));
  pstat("stat_renamed_symlink", "lf4", 0);

  /* ---- unlink */
  CHECK("unlink", raw_path_unlink_file(WORK, S("moved.txt")));
  CHECK("unlink_missing", raw_path_unlink_file(WORK, S("moved.txt")));
  CHECK("unlink_symlink", raw_path_unlink_file(WORK, S("lf4")));
  pstat("stat_target_kept", "empty/f.txt", 0);
  CHECK("unlink_trailing_slash", raw_path_unlink_file(WORK, S("lf/")));
  CHECK("unlink_dir_link_trailing_slash", raw_path_unlink_file(WORK, S("le/")));
  CHECK("unlink_dotdot_inside", raw_path_unlink_file(WORK, S("empty/..")));

  /* ---- times through paths */
  CHECK("set_times_path", raw_path_filestat_set_times(WORK, 0, S("empty/f.txt"), 1000000000LL, 7000000000LL, 1 | 4));
  {
    __wasi_filestat_t st;
    raw_path_filestat_get(WORK, 0, S("empty/f.txt"), P(&st));
    out_kv("path_mtim", st.mtim);
    out_kv("path_atim", st.atim);
    CHECK("set_times_link_nofollow", raw_path_filestat_set_times(WORK, 0, S("lf"), 0, 8000000000LL, 4));
    raw_path_filestat_get(WORK, 0, S("lf"), P(&st));
    out_kv("link_mtim", st.mtim);
    raw_path_filestat_get(WORK, 1, S("empty/f.txt"), P(&st));
    out_kv("target_mtim_unchanged", st.mtim);
    CHECK("set_times_conflict", raw_path_filestat_set_times(WORK, 0, S("empty/f.txt"), 0, 0, 4 | 8));
    CHECK("set_times_missing", raw_path_filestat_set_times(WORK, 0, S("zz"), 0, 0, 2));
  }

  /* ---- fd_readdir */
  CHECK("mkdir_big", raw_path_create_directory(WORK, S("big")));
  for (int i = 0; i < 300; i++) {
    char name[32] = "big/entry-";
    int len = (int)strlen(name), v = i;
    char digits[8];
    int k = 0;
    do { digits[k++] = (char)('0' + v % 10); v /= 10; } while (v);
    while (k) name[len++] = digits[--k];
    name[len] = 0;
    if (touch(name, "")) { out_ks("touch_failed", name); break; }
  }
  listing("list_small_dir", "empty", 4096);
  listing("list_big", "big", 4096);
  listing("list_big_tiny_buffer", "big", 40);
  listing("list_big_one_entry_per_call", "big", 24 + 9);
  {
    I dfd = -1;
    raw_path_open(WORK, 0, S("empty"), 2, RD, RD, 0, P(&dfd));
    I used = 0;
    CHECK("readdir_zero_buffer", raw_fd_readdir(dfd, P(buf), 0, 0, P(&used)));
    out_kv("readdir_zero_buffer_used", used);
    CHECK("readdir_truncating", raw_fd_readdir(dfd, P(buf), 30, 0, P(&used)));
    out_kv("readdir_truncating_used", used);
    __wasi_dirent_t *d = (__wasi_dirent_t *)buf;
    out_kv("first_entry_next", (int64_t)d->d_next);
    out_kv("first_entry_namlen", d->d_namlen);
    CHECK("readdir_cookie_past_end", raw_fd_readdir(dfd, P(buf), 4096, 1000, P(&used)));
    out_kv("readdir_cookie_past_end_used", used);
    CHECK("readdir_on_file", raw_fd_readdir(0, P(buf), 100, 0, P(&used)));
    raw_fd_close(dfd);
  }
  {
    DIR *dir = opendir("/work/big");
    int count = 0;
    struct dirent *e;
    while ((e = readdir(dir))) count++;
    out_kv("libc_readdir_count", count);
    rewinddir(dir);
    int again = 0;
    while ((e = readdir(dir))) again++;
    out_kv("libc_rewinddir_count", again);
    closedir(dir);
  }
  listing("list_root", ".", 4096);
  return 0;
}
