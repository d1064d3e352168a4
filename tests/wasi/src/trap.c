/* Exits or traps as told: "trap" hits unreachable two calls deep, "loop" spins
 * forever (for time limits), "exit N" calls proc_exit(N), "grow N" grows memory
 * by N pages; anything else returns 0. */
#include <stdlib.h>
#include "out.h"

__attribute__((noinline)) static void deepest(int x) {
  if (x > 0) __builtin_trap();
}

__attribute__((noinline)) static void deeper(int x) { deepest(x + 1); out_s("unreached\n"); }

int main(int argc, char **argv) {
  out_s("started\n");
  fflush(stdout);
  if (argc < 2) return 0;
  if (strcmp(argv[1], "trap") == 0) deeper(argc);
  if (strcmp(argv[1], "loop") == 0) {
    volatile unsigned long n = 0;
    for (;;) n++;
  }
  if (strcmp(argv[1], "exit") == 0 && argc > 2) exit(atoi(argv[2]));
  if (strcmp(argv[1], "grow") == 0 && argc > 2) {
    int pages = atoi(argv[2]);
    int old = __builtin_wasm_memory_grow(0, pages);
    out_s(old < 0 ? "grow failed\n" : "grew\n");
  }
  return 0;
}
