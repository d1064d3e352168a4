/* poll_oneoff: relative and absolute clocks on both clocks, the earliest of
 * several, files and standard streams ready for reading or writing, mixed
 * subscriptions, and the error cases.
 * Preopen: fd 3 = /work (read-write). stdin: whatever the test gives. */
#include "raw.h"

#define WORK 3
#define MS 1000000LL

static __wasi_subscription_t subs[8];
static __wasi_event_t events[8];

static void clock_sub(int i, uint64_t userdata, int clock, int64_t timeout, int abstime) {
  memset(&subs[i], 0, sizeof subs[i]);
  subs[i].userdata = userdata;
  subs[i].u.tag = 0;
  subs[i].u.u.clock.id = (uint32_t)clock;
  subs[i].u.u.clock.timeout = (uint64_t)timeout;
  subs[i].u.u.clock.flags = abstime ? 1 : 0;
}

static void fd_sub(int i, uint64_t userdata, int type, int fd) {
  memset(&subs[i], 0, sizeof subs[i]);
  subs[i].userdata = userdata;
  subs[i].u.tag = (uint8_t)type;
  subs[i].u.u.fd_read.file_descriptor = (uint32_t)fd;
}

static L now(int clock) {
  L t = 0;
  raw_clock_time_get(clock, 0, P(&t));
  return t;
}

/* Poll `n` subscriptions; print the errno, the events (userdata, error, type,
 * nbytes>0) and whether the call took at least `min_ms`. */
static void poll_case(const char *label, int n, int64_t min_ms) {
  I nevents = -1;
  memset(events, 0xAA, sizeof events);
  L start = now(1);
  int e = raw_poll_oneoff(P(subs), P(events), n, P(&nevents));
  L took = now(1) - start;
  out_s(label);
  out_s(": ");
  out_d(e);
  if (e == 0) {
    out_s(" events=");
    out_d(nevents);
    for (int i = 0; i < nevents && i < 8; i++) {
      out_s(" [");
      out_u(events[i].userdata);
      out_c(' ');
      out_d(events[i].error);
      out_c(' ');
      out_d(events[i].type);
      if (events[i].type != 0) { out_s(" ready="); out_d(events[i].fd_readwrite.nbytes > 0); }
      out_c(']');
    }
  }
  if (min_ms >= 0) { out_s(" waited="); out_d(took >= min_ms * MS); }
  out_c('\n');
}

int main(void) {
  I fd = -1;
  raw_path_open(WORK, 0, S("data.txt"), 1, 2 | 64 | 4 | 32, 0, 0, P(&fd));
  __wasi_ciovec_t iov = {(const uint8_t *)"some data\n", 10};
  I n;
  L pos;
  raw_fd_write(fd, P(&iov), 1, P(&n));
  raw_fd_seek(fd, 0, 0, P(&pos));

  clock_sub(0, 11, 1, 30 * MS, 0);
  poll_case("monotonic_relative_30ms", 1, 30);
  clock_sub(0, 12, 0, 30 * MS, 0);
  poll_case("realtime_relative_30ms", 1, 30);
  clock_sub(0, 13, 1, 0, 0);
  poll_case("relative_zero", 1, -1);
  clock_sub(0, 14, 1, now(1) + 40 * MS, 1);
  poll_case("monotonic_absolute_40ms", 1, 35);
  clock_sub(0, 15, 0, now(0) + 40 * MS, 1);
  poll_case("realtime_absolute_40ms", 1, 35);
  clock_sub(0, 16, 0, now(0) - 1000 * MS, 1);
  poll_case("realtime_absolute_past", 1, -1);
  clock_sub(0, 17, 1, 1, 1);
  poll_case("monotonic_absolute_past", 1, -1);

  clock_sub(0, 21, 1, 200 * MS, 0);
  clock_sub(1, 22, 1, 20 * MS, 0);
  clock_sub(2, 23, 0, 300 * MS, 0);
  poll_case("earliest_of_three", 3, 20);

  fd_sub(0, 31, 1, fd);
  poll_case("file_readable", 1, -1);
  fd_sub(0, 32, 2, fd);
  poll_case("file_writable", 1, -1);
  fd_sub(0, 33, 2, 1);
  poll_case("stdout_writable", 1, -1);
  fd_sub(0, 34, 2, 2);
  clock_sub(1, 36, 1, 500 * MS, 0);
  poll_case("stream_before_clock", 2, -1);
  fd_sub(0, 35, 1, fd);
  clock_sub(1, 39, 1, 500 * MS, 0);
  poll_case("file_before_clock", 2, -1);
  fd_sub(0, 37, 1, 0);
  clock_sub(1, 38, 1, 2000 * MS, 0);
  poll_case("stdin_readable", 2, -1);

  /* errors */
  poll_case("no_subscriptions", 0, -1);
  fd_sub(0, 41, 1, 99);
  poll_case("unopened_fd", 1, -1);
  fd_sub(0, 42, 1, WORK);
  poll_case("directory_fd", 1, -1);
  fd_sub(0, 43, 1, 1);
  poll_case("read_on_stdout", 1, -1);
  clock_sub(0, 44, 2, 1000, 0);
  poll_case("cputime_clock", 1, -1);
  return 0;
}
