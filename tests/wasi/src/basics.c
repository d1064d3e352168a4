/* Arguments, environment, clocks, randomness, scheduling, signals, stdin/stderr
 * and the exit status. Prints only what is deterministic.
 * Usage: basics [ARGS...]; "exit N" as the last two arguments exits with N. */
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include "raw.h"

extern char **environ;

static int nonzero(const unsigned char *p, int n) {
  for (int i = 0; i < n; i++) if (p[i]) return 1;
  return 0;
}

int main(int argc, char **argv) {
  /* ---- arguments: through libc, then the raw calls */
  out_kv("argc", argc);
  for (int i = 1; i < argc; i++) { out_s("arg: "); out_bytes(argv[i], strlen(argv[i])); out_c('\n'); }
  I count = -1, size = -1;
  CHECK("args_sizes_get", raw_args_sizes_get(P(&count), P(&size)));
  out_kv("args_count", count);
  out_kv("args_bytes", size);
  {
    char *ptrs[64];
    static char text[4096];
    if (count < 64 && size < 4096) {
      CHECK("args_get", raw_args_get(P(ptrs), P(text)));
      out_kv("args_get_last_matches", strcmp(ptrs[count - 1], argv[argc - 1]) == 0);
      out_kv("args_nul_terminated", text[size - 1] == 0);
    }
  }

  /* ---- environment */
  int n = 0;
  for (char **e = environ; *e; e++) n++;
  out_kv("environ_count", n);
  const char *names[] = {"GREETING", "EMPTY", "UNICODE", "MISSING"};
  for (int i = 0; i < 4; i++) {
    const char *v = getenv(names[i]);
    out_s("env ");
    out_s(names[i]);
    out_s(": ");
    if (v) { out_c('"'); out_bytes(v, strlen(v)); out_c('"'); } else out_s("unset");
    out_c('\n');
  }
  CHECK("environ_sizes_get", raw_environ_sizes_get(P(&count), P(&size)));
  out_kv("environ_sizes_count", count);
  out_kv("environ_sizes_bytes", size);

  /* ---- clocks */
  L res = 0, t1 = 0, t2 = 0;
  CHECK("clock_res_realtime", raw_clock_res_get(0, P(&res)));
  out_kv("clock_res_realtime_sane", res > 0 && res <= 1000000000LL);
  CHECK("clock_res_monotonic", raw_clock_res_get(1, P(&res)));
  out_kv("clock_res_monotonic_sane", res > 0 && res <= 1000000000LL);
  CHECK("clock_realtime", raw_clock_time_get(0, 1, P(&t1)));
  out_kv("clock_realtime_after_2020", t1 > 1577836800LL * 1000000000LL);
  CHECK("clock_monotonic", raw_clock_time_get(1, 0, P(&t1)));
  CHECK("clock_monotonic_again", raw_clock_time_get(1, 0, P(&t2)));
  out_kv("clock_monotonic_nondecreasing", t2 >= t1);
  CHECK("clock_process_cputime", raw_clock_time_get(2, 0, P(&t1)));
  CHECK("clock_thread_cputime", raw_clock_time_get(3, 0, P(&t1)));
  CHECK("clock_res_process_cputime", raw_clock_res_get(2, P(&res)));
  CHECK("clock_res_thread_cputime", raw_clock_res_get(3, P(&res)));
  {
    struct timespec a, b, d = {0, 30 * 1000 * 1000};
    clock_gettime(CLOCK_MONOTONIC, &a);
    CHECK("nanosleep", nanosleep(&d, NULL));
    clock_gettime(CLOCK_MONOTONIC, &b);
    int64_t ns = (b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
    out_kv("nanosleep_waited_30ms", ns >= 30 * 1000 * 1000);
    out_kv("time_matches_realtime", time(NULL) > 1577836800);
  }

  /* ---- randomness */
  {
    unsigned char a[64], b[64];
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    CHECK("random_get", raw_random_get(P(a), sizeof a));
    CHECK("random_get_again", raw_random_get(P(b), sizeof b));
    out_kv("random_nonzero", nonzero(a, sizeof a));
    out_kv("random_differs", memcmp(a, b, sizeof a) != 0);
    CHECK("random_get_empty", raw_random_get(P(a), 0));
    static unsigned char big[200000];
    CHECK("random_get_large", raw_random_get(P(big), sizeof big));
    out_kv("random_large_tail_nonzero", nonzero(big + sizeof big - 64, 64));
  }

  /* ---- scheduling and signals */
  CHECK("sched_yield", raw_sched_yield());
  CHECK("proc_raise_term", raw_proc_raise(15));
  CHECK("proc_raise_zero", raw_proc_raise(0));

  /* ---- stdin to stdout, a note on stderr */
  {
    char buf[256];
    size_t total = 0, got;
    unsigned sum = 0;
    while ((got = fread(buf, 1, sizeof buf, stdin)) > 0) {
      for (size_t i = 0; i < got; i++) sum = sum * 31 + (unsigned char)buf[i];
      total += got;
    }
    out_kv("stdin_bytes", (int64_t)total);
    out_kv("stdin_hash", sum);
    out_kv("stdin_eof", feof(stdin) != 0);
    fputs("note on stderr\n", stderr);
  }

  fflush(stdout);
  if (argc >= 3 && strcmp(argv[argc - 2], "exit") == 0) exit(atoi(argv[argc - 1]));
  return 0;
}
