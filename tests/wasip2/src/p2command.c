/* A WASI 0.2 command (a preview1 program made a component with the preview1
   command adapter): prints one line per check, then exits with the status
   given as its last argument. Expects a read-write preopen "/sb" and a
   read-only preopen "/ro" (with ro.txt), and a symlink sb/out -> ../ .  */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void opened(const char *what, const char *path, int flags) {
    int fd = open(path, flags, 0644);
    if (fd >= 0) {
        printf("%s: opened\n", what);
        close(fd);
    } else {
        printf("%s: errno %d\n", what, errno);
    }
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "sleep") == 0) { /* for -W timeout */
        struct timespec hour = {3600, 0};
        nanosleep(&hour, NULL);
        puts("woke up");
        return 0;
    }
    printf("argc %d\n", argc);
    for (int i = 1; i < argc; i++) printf("arg %s\n", argv[i]);
    const char *e = getenv("GREETING");
    printf("env GREETING=%s\n", e ? e : "(unset)");
    fprintf(stderr, "to stderr\n");

    char buf[256];
    size_t n = fread(buf, 1, sizeof buf - 1, stdin);
    buf[n] = 0;
    printf("stdin %zu bytes: %s\n", n, buf);

    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    struct timespec nap = {0, 2000000};
    nanosleep(&nap, NULL);
    clock_gettime(CLOCK_MONOTONIC, &b);
    long long dt = (b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
    printf("monotonic advanced >= 2ms: %d\n", dt >= 2000000);
    struct timespec w;
    clock_gettime(CLOCK_REALTIME, &w);
    printf("wall clock after 2020: %d\n", w.tv_sec > 1577836800);

    unsigned char r1[16] = {0}, r2[16] = {0};
    arc4random_buf(r1, sizeof r1);
    arc4random_buf(r2, sizeof r2);
    printf("random differs: %d\n", memcmp(r1, r2, sizeof r1) != 0);

    FILE *f = fopen("/sb/hello.txt", "w");
    if (f) {
        fputs("written by the guest\n", f);
        fclose(f);
    }
    f = fopen("/sb/hello.txt", "r");
    if (f) {
        char line[64] = {0};
        fgets(line, sizeof line, f);
        fclose(f);
        printf("read back: %s", line);
    } else {
        printf("read back: errno %d\n", errno);
    }
    struct stat st;
    printf("stat size: %lld\n", stat("/sb/hello.txt", &st) == 0 ? (long long)st.st_size : -1LL);
    printf("mkdir: %d\n", mkdir("/sb/made", 0755) == 0 ? 0 : errno);
    printf("rename: %d\n", rename("/sb/hello.txt", "/sb/made/moved.txt") == 0 ? 0 : errno);
    printf("unlink: %d\n", unlink("/sb/made/moved.txt") == 0 ? 0 : errno);
    printf("rmdir: %d\n", rmdir("/sb/made") == 0 ? 0 : errno);

    opened("dotdot escape", "/sb/../secret.txt", O_RDONLY);
    opened("nested dotdot escape", "/sb/sub/../../secret.txt", O_RDONLY);
    opened("absolute host path", "/etc/passwd", O_RDONLY);
    opened("symlink escape", "/sb/out/secret.txt", O_RDONLY);
    opened("read-only preopen read", "/ro/ro.txt", O_RDONLY);
    opened("read-only preopen write", "/ro/ro.txt", O_WRONLY);
    opened("read-only preopen create", "/ro/new.txt", O_WRONLY | O_CREAT);
    printf("read-only mkdir: %d\n", mkdir("/ro/d", 0755) == 0 ? 0 : errno);
    printf("read-only unlink: %d\n", unlink("/ro/ro.txt") == 0 ? 0 : errno);
    fflush(stdout);
    return argc > 1 ? atoi(argv[argc - 1]) : 0;
}
