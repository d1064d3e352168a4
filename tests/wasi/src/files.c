/* Regular files through every fd_* call and path_open flag, with error cases.
 * Preopen: fd 3 = /work (read-write, starts empty). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include "raw.h"

#define WORK 3
#define RD ((L)(2 | 4 | 32 | (1 << 14) | (1 << 21) | (1 << 7) | (1 << 3)))
#define WR ((L)(64 | 1 | 16 | (1 << 8) | (1 << 22) | (1 << 23) | 4 | 32 | (1 << 21) | (1 << 3) | (1 << 7)))
#define RW (RD | WR)

static char buf[256];

static I open_at(const char *path, int oflags, L rights, int fdflags, const char *label) {
  I fd = -1;
  int e = raw_path_open(WORK, 1, S(path), oflags, rights, rights, fdflags, P(&fd));
  out_kv(label, e);
  return e ? -1 : fd;
}

static int write_str(I fd, const char *s, I *n) {
  __wasi_ciovec_t iov = {(const uint8_t *)s, strlen(s)};
  return raw_fd_write(fd, P(&iov), 1, P(n));
}

static int read_n(I fd, int len, I *n) {
  __wasi_iovec_t iov = {(uint8_t *)buf, (size_t)len};
  memset(buf, 0, sizeof buf);
  return raw_fd_read(fd, P(&iov), 1, P(n));
}

static void show(const char *label, int e, I n) {
  out_s(label);
  out_s(": ");
  out_d(e);
  out_s(" n=");
  out_d(n);
  out_s(" data=");
  out_bytes(buf, (size_t)(n > 0 ? n : 0));
  out_c('\n');
}

static void stat_fd(const char *label, I fd) {
  __wasi_filestat_t st;
  int e = raw_fd_filestat_get(fd, P(&st));
  out_s(label);
  out_s(": ");
  out_d(e);
  out_s(" type=");
  out_d(st.filetype);
  out_s(" size=");
  out_u(st.size);
  out_s(" nlink=");
  out_u(st.nlink);
  out_c('\n');
}

static void fdstat(const char *label, I fd) {
  __wasi_fdstat_t st;
  int e = raw_fd_fdstat_get(fd, P(&st));
  out_s(label);
  out_s(": ");
  out_d(e);
  out_s(" type=");
  out_d(st.fs_filetype);
  out_s(" flags=");
  out_d(st.fs_flags);
  out_s(" read=");
  out_d((st.fs_rights_base & 2) != 0);
  out_s(" write=");
  out_d((st.fs_rights_base & 64) != 0);
  out_c('\n');
}

int main(void) {
  I n = 0;
  L off = 0;

  /* ---- path_open: oflags */
  I f = open_at("a.txt", 1, RW, 0, "open_creat");
  CHECK("write", write_str(f, "hello, world\n", &n));
  out_kv("write_n", n);
  open_at("a.txt", 1 | 4, RW, 0, "open_creat_excl_existing");
  open_at("missing.txt", 0, RD, 0, "open_missing");
  open_at("missing.txt", 4, RD, 0, "open_excl_without_creat_missing");
  I g = open_at("a.txt", 0, RD, 0, "open_read");
  show("read", read_n(g, 5, &n), n);
  show("read_more", read_n(g, 100, &n), n);
  show("read_eof", read_n(g, 100, &n), n);
  I t = open_at("a.txt", 8, RW, 0, "open_trunc");
  stat_fd("stat_after_trunc", t);
  CHECK("write_after_trunc", write_str(t, "0123456789", &n));
  CHECK("close_trunc", raw_fd_close(t));
  open_at("a.txt", 2, RD, 0, "open_directory_on_file");
  open_at("a.txt/", 0, RD, 0, "open_trailing_slash_on_file");
  open_at("dir", 1 | 2, RD, 0, "open_creat_directory");
  CHECK("mkdir", raw_path_create_directory(WORK, S("dir")));
  open_at("dir", 0, RW, 0, "open_dir_for_write");
  open_at("dir", 8, RD, 0, "open_dir_trunc");
  I d = open_at("dir", 2, RD, 0, "open_dir");
  fdstat("fdstat_dir", d);
  CHECK("close_dir", raw_fd_close(d));

  /* ---- reading and writing */
  CHECK("read_on_closed", read_n(t, 4, &n));
  CHECK("write_on_readonly_fd", write_str(g, "x", &n));
  I w = open_at("a.txt", 0, WR, 0, "open_write_only");
  CHECK("read_on_writeonly_fd", read_n(w, 4, &n));
  fdstat("fdstat_write_only", w);
  fdstat("fdstat_read_only", g);
  CHECK("close_w", raw_fd_close(w));
  {
    __wasi_iovec_t iovs[3] = {{(uint8_t *)buf, 0}, {(uint8_t *)buf, 4}, {(uint8_t *)buf + 4, 4}};
    memset(buf, 0, sizeof buf);
    CHECK("seek_start", raw_fd_seek(g, 0, 0, P(&off)));
    CHECK("readv_first_nonempty", raw_fd_read(g, P(iovs), 3, P(&n)));
    out_kv("readv_n", n);
    CHECK("readv_no_iovecs", raw_fd_read(g, P(iovs), 0, P(&n)));
    out_kv("readv_no_iovecs_n", n);
  }

  /* ---- seek and tell */
  CHECK("seek_set", raw_fd_seek(g, 3, 0, P(&off)));
  out_kv("seek_set_pos", off);
  CHECK("seek_cur", raw_fd_seek(g, 2, 1, P(&off)));
  out_kv("seek_cur_pos", off);
  CHECK("seek_cur_back", raw_fd_seek(g, -4, 1, P(&off)));
  out_kv("seek_cur_back_pos", off);
  CHECK("seek_end", raw_fd_seek(g, -3, 2, P(&off)));
  out_kv("seek_end_pos", off);
  show("read_after_seek_end", read_n(g, 10, &n), n);
  CHECK("seek_negative", raw_fd_seek(g, -100, 1, P(&off)));
  CHECK("seek_past_end", raw_fd_seek(g, 1000, 0, P(&off)));
  out_kv("seek_past_end_pos", off);
  CHECK("tell", raw_fd_tell(g, P(&off)));
  out_kv("tell_pos", off);
  show("read_past_end", read_n(g, 10, &n), n);
  CHECK("seek_stdout", raw_fd_seek(1, 0, 0, P(&off)));
  CHECK("tell_stdin", raw_fd_tell(0, P(&off)));
  CHECK("seek_dir", raw_fd_seek(WORK, 0, 0, P(&off)));
  CHECK("tell_closed", raw_fd_tell(t, P(&off)));

  /* ---- pread and pwrite (the position does not move) */
  I rw = open_at("a.txt", 0, RW, 0, "open_rw");
  {
    __wasi_iovec_t iov = {(uint8_t *)buf, 4};
    memset(buf, 0, sizeof buf);
    CHECK("pread", raw_fd_pread(rw, P(&iov), 1, 6, P(&n)));
    show("pread_data", 0, n);
    CHECK("pread_past_end", raw_fd_pread(rw, P(&iov), 1, 1000, P(&n)));
    out_kv("pread_past_end_n", n);
    CHECK("tell_after_pread", raw_fd_tell(rw, P(&off)));
    out_kv("tell_after_pread_pos", off);
    __wasi_ciovec_t c = {(const uint8_t *)"AB", 2};
    CHECK("pwrite", raw_fd_pwrite(rw, P(&c), 1, 2, P(&n)));
    CHECK("pwrite_far", raw_fd_pwrite(rw, P(&c), 1, 20, P(&n)));
    stat_fd("stat_after_pwrite_far", rw);
    CHECK("pread_stdin", raw_fd_pread(0, P(&iov), 1, 0, P(&n)));
    CHECK("pwrite_stdout", raw_fd_pwrite(1, P(&c), 1, 0, P(&n)));
    CHECK("pread_dir", raw_fd_pread(WORK, P(&iov), 1, 0, P(&n)));
    CHECK("pwrite_readonly_fd", raw_fd_pwrite(g, P(&c), 1, 0, P(&n)));
  }
  show("contents", (raw_fd_seek(rw, 0, 0, P(&off)), read_n(rw, 100, &n)), n);

  /* ---- append */
  I ap = open_at("log.txt", 1, RW, 1, "open_append");
  fdstat("fdstat_append", ap);
  write_str(ap, "one\n", &n);
  CHECK("seek_then_append", raw_fd_seek(ap, 0, 0, P(&off)));
  write_str(ap, "two\n", &n);
  CHECK("tell_append", raw_fd_tell(ap, P(&off)));
  out_kv("tell_append_pos", off);
  CHECK("set_flags_clear_append", raw_fd_fdstat_set_flags(ap, 0));
  CHECK("seek_start_again", raw_fd_seek(ap, 0, 0, P(&off)));
  write_str(ap, "ONE\n", &n);
  fdstat("fdstat_after_clear", ap);
  show("log", (raw_fd_seek(ap, 0, 0, P(&off)), read_n(ap, 100, &n)), n);
  CHECK("set_flags_append", raw_fd_fdstat_set_flags(ap, 1));
  CHECK("set_flags_nonblock", raw_fd_fdstat_set_flags(ap, 1 | 4));
  fdstat("fdstat_nonblock", ap);
  CHECK("set_flags_sync", raw_fd_fdstat_set_flags(ap, 16));
  CHECK("set_flags_dsync", raw_fd_fdstat_set_flags(ap, 2));
  CHECK("set_flags_rsync", raw_fd_fdstat_set_flags(ap, 8));
  CHECK("set_flags_on_dir", raw_fd_fdstat_set_flags(WORK, 1));
  CHECK("set_flags_on_stdout", raw_fd_fdstat_set_flags(1, 1));
  CHECK("close_append", raw_fd_close(ap));

  /* ---- fdflags at open */
  I nb = open_at("log.txt", 0, RD, 4, "open_nonblock");
  fdstat("fdstat_open_nonblock", nb);
  raw_fd_close(nb);
  I ds = open_at("log.txt", 0, RW, 2, "open_dsync");
  if (ds >= 0) { fdstat("fdstat_dsync", ds); raw_fd_close(ds); } else out_ks("fdstat_dsync", "none");
  I sy = open_at("log.txt", 0, RW, 16, "open_sync");
  if (sy >= 0) { fdstat("fdstat_sync", sy); raw_fd_close(sy); } else out_ks("fdstat_sync", "none");
  I rs = open_at("log.txt", 0, RW, 8, "open_rsync");
  if (rs >= 0) { fdstat("fdstat_rsync", rs); raw_fd_close(rs); } else out_ks("fdstat_rsync", "none");

  /* ---- sizes, space, sync, advice */
  CHECK("set_size_grow", raw_fd_filestat_set_size(rw, 100));
  stat_fd("stat_grown", rw);
  CHECK("set_size_shrink", raw_fd_filestat_set_size(rw, 5));
  stat_fd("stat_shrunk", rw);
  CHECK("set_size_readonly_fd", raw_fd_filestat_set_size(g, 0));
  CHECK("set_size_dir", raw_fd_filestat_set_size(WORK, 0));
  CHECK("set_size_stdout", raw_fd_filestat_set_size(1, 0));
  {
    I al = open_at("alloc.bin", 1, RW, 0, "open_alloc");
    CHECK("allocate", raw_fd_allocate(al, 0, 4096));
    __wasi_filestat_t st;
    raw_fd_filestat_get(al, P(&st));
    out_kv("allocate_size", st.size);
    CHECK("allocate_inside", raw_fd_allocate(al, 0, 10));
    CHECK("allocate_zero_len", raw_fd_allocate(al, 0, 0));
    raw_fd_close(al);
    CHECK("allocate_readonly_fd", raw_fd_allocate(g, 0, 1));
  }
  CHECK("allocate_dir", raw_fd_allocate(WORK, 0, 1));
  CHECK("datasync", raw_fd_datasync(rw));
  CHECK("sync", raw_fd_sync(rw));
  CHECK("sync_stdout", raw_fd_sync(1));
  CHECK("datasync_dir", raw_fd_datasync(WORK));
  CHECK("advise_sequential", raw_fd_advise(rw, 0, 100, 1));
  CHECK("advise_dontneed", raw_fd_advise(rw, 0, 0, 4));
  CHECK("advise_dir", raw_fd_advise(WORK, 0, 0, 0));
  CHECK("advise_stdout", raw_fd_advise(1, 0, 0, 0));

  /* ---- times */
  CHECK("set_times", raw_fd_filestat_set_times(rw, 1000000000LL, 2000000000LL, 1 | 4));
  {
    __wasi_filestat_t st;
    raw_fd_filestat_get(rw, P(&st));
    out_kv("atim", st.atim);
    out_kv("mtim", st.mtim);
    CHECK("set_mtime_only", raw_fd_filestat_set_times(rw, 0, 3000000000LL, 4));
    raw_fd_filestat_get(rw, P(&st));
    out_kv("atim_kept", st.atim);
    out_kv("mtim_changed", st.mtim);
    CHECK("set_times_now", raw_fd_filestat_set_times(rw, 0, 0, 2 | 8));
    raw_fd_filestat_get(rw, P(&st));
    out_kv("mtim_now_recent", st.mtim > 1577836800LL * 1000000000LL);
    CHECK("set_times_conflict", raw_fd_filestat_set_times(rw, 1, 1, 1 | 2));
    CHECK("set_times_none", raw_fd_filestat_set_times(rw, 0, 0, 0));
    CHECK("set_times_dir", raw_fd_filestat_set_times(WORK, 0, 5000000000LL, 4));
    CHECK("set_times_stdout", raw_fd_filestat_set_times(1, 0, 0, 2));
  }

  /* ---- stat and fdstat of the standard streams and the preopen */
  stat_fd("stat_file", rw);
  stat_fd("stat_dir", WORK);
  stat_fd("stat_stdin", 0);
  fdstat("fdstat_file", rw);
  {
    __wasi_fdstat_t st;
    for (int fd = 0; fd <= 3; fd++) {
      int e = raw_fd_fdstat_get(fd, P(&st));
      out_s("fdstat_fd");
      out_d(fd);
      out_s(": ");
      out_d(e);
      out_s(" flags=");
      out_d(st.fs_flags);
      out_s(" base=");
      out_x(st.fs_rights_base);
      out_s(" inheriting=");
      out_x(st.fs_rights_inheriting);
      out_c('\n');
    }
  }

  /* ---- renumber, close, and libc on top */
  I r2 = open_at("a.txt", 0, RD, 0, "open_for_renumber");
  CHECK("renumber", raw_fd_renumber(r2, g));
  CHECK("renumbered_from_gone", raw_fd_close(r2));
  show("read_renumbered", (raw_fd_seek(g, 0, 0, P(&off)), read_n(g, 5, &n)), n);
  CHECK("renumber_self", raw_fd_renumber(g, g));
  CHECK("renumber_to_unopened", raw_fd_renumber(g, 200));
  CHECK("renumber_from_unopened", raw_fd_renumber(200, g));
  CHECK("close", raw_fd_close(g));
  CHECK("close_again", raw_fd_close(g));
  CHECK("close_rw", raw_fd_close(rw));
  {
    FILE *fp = fopen("/work/stdio.txt", "w+");
    out_kv("fopen", fp != NULL);
    for (int i = 0; i < 100; i++) fputs("line of text\n", fp);
    out_kv("ftell", ftell(fp));
    rewind(fp);
    int lines = 0;
    char line[64];
    while (fgets(line, sizeof line, fp)) lines++;
    out_kv("fgets_lines", lines);
    out_kv("fclose", fclose(fp));
    int fd = open("/work/stdio.txt", O_RDONLY);
    out_kv("lseek_end", lseek(fd, 0, SEEK_END));
    out_kv("close_fd", close(fd));
    out_kv("open_excl_errno", open("/work/stdio.txt", O_CREAT | O_EXCL | O_WRONLY, 0644) < 0 ? errno : 0);
    out_kv("unlink", unlink("/work/stdio.txt"));
    out_kv("open_after_unlink_errno", open("/work/stdio.txt", O_RDONLY) < 0 ? errno : 0);
  }
  return 0;
}
