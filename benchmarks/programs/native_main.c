/*
 * Native driver for the benchmark programs: link with one program's .c file.
 *
 *     usage: PROGRAM N [REPEAT]
 *            PROGRAM --serve
 *
 * Calls run(N) REPEAT times (default 1) and prints, one line per call,
 *     checksum=<unsigned 32-bit checksum> ns=<wall time of the call>
 * With --serve, reads one N per line from stdin and answers each with such a
 * line (flushed), so a harness can interleave calls with other engines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int run(int n);

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void timed_run(int n) {
    long long start = now_ns();
    unsigned checksum = (unsigned)run(n);
    long long elapsed = now_ns() - start;
    printf("checksum=%u ns=%lld\n", checksum, elapsed);
    fflush(stdout);
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "--serve") == 0) {
        char line[64];
        while (fgets(line, sizeof line, stdin))
            timed_run(atoi(line));
        return 0;
    }
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s N [REPEAT] | %s --serve\n", argv[0], argv[0]);
        return 2;
    }
    int n = atoi(argv[1]);
    int repeat = argc == 3 ? atoi(argv[2]) : 1;
    for (int i = 0; i < repeat; i++)
        timed_run(n);
    return 0;
}
