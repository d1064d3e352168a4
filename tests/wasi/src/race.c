/* Races the host: while this loop opens, stats and lists through "race", the
 * test swaps the symbolic link "race" between a directory inside the sandbox
 * and ones outside it. Every attempt must either stay inside or fail; the
 * program counts what it saw ("race_leaks" must be 0).
 * Preopen: fd 3 = /sandbox. argv[1] = number of rounds. */
#include <stdlib.h>
#include "raw.h"

#define SANDBOX 3
#define RD ((L)(2 | 4 | 32 | (1 << 14) | (1 << 21)))

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 100;
  int inside = 0, refused = 0, leaks = 0, listed = 0;
  char buf[256];
  for (int i = 0; i < rounds; i++) {
    /* check, then use: stat first, open only if it looked like our file */
    __wasi_filestat_t st;
    if (raw_path_filestat_get(SANDBOX, 1, S("race/secret_race.txt"), P(&st)) == 0 && st.size == 12) {
      I fd = -1;
      if (raw_path_open(SANDBOX, 1, S("race/secret_race.txt"), 0, RD, RD, 0, P(&fd)) == 0) {
        __wasi_iovec_t iov = {(uint8_t *)buf, sizeof buf};
        I n = 0;
        raw_fd_read(fd, P(&iov), 1, P(&n));
        raw_fd_close(fd);
        if (n == 12 && memcmp(buf, "INSIDE RACE\n", 12) == 0) inside++;
        else { leaks++; out_s("leaked: "); out_bytes(buf, (size_t)n); out_c('\n'); }
      } else refused++;
    } else refused++;
    /* list through the link */
    I dfd = -1;
    if (raw_path_open(SANDBOX, 1, S("race/"), 2, RD, RD, 0, P(&dfd)) == 0) {
      I used = 0;
      raw_fd_readdir(dfd, P(buf), sizeof buf, 0, P(&used));
      for (I off = 0; off + 24 <= used;) {
        __wasi_dirent_t *d = (__wasi_dirent_t *)(buf + off);
        if (off + 24 + (I)d->d_namlen <= used && d->d_namlen == 5 && memcmp(buf + off + 24, "inner", 5) == 0) leaks++;
        off += 24 + (I)d->d_namlen;
      }
      raw_fd_close(dfd);
      listed++;
    }
  }
  out_kv("race_rounds", rounds);
  out_kv("race_leaks", leaks);
  out_kv("race_inside", inside);
  out_kv("race_refused", refused);
  out_kv("race_listed", listed);
  return leaks ? 1 : 0;
}
