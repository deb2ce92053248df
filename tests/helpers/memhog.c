/* memhog.c — test helper for `quern monitor`: holds known amounts of
 * resident memory in timed steps, optionally in a forked child as well, then
 * exits with a chosen code or dies from a chosen signal.
 *
 *   memhog [--fork] [--exit N] [--signal N] MIB:MS [MIB:MS ...]
 *
 * Each step makes the process hold exactly MIB mebibytes of private,
 * touched memory for MS milliseconds. Memory is 1 MiB anonymous mappings,
 * every page written, so it is resident at once; shrinking munmaps whole
 * mappings, so RSS really drops (free() might keep it). With --fork the
 * child runs the same steps at the same time (the tree then holds twice the
 * amount) and the parent waits for it before exiting.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MIB ((size_t)1 << 20)
#define MAX_CHUNKS 65536

static void *chunks[MAX_CHUNKS];
static int nchunks;

static int hold(int mib) {
  while (nchunks < mib) {
    void *p = mmap(NULL, MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      perror("memhog: mmap");
      return -1;
    }
    memset(p, 0x5a, MIB); /* touch every page: resident, not just reserved */
    chunks[nchunks++] = p;
  }
  while (nchunks > mib) munmap(chunks[--nchunks], MIB);
  return 0;
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

static int run_steps(int nsteps, char **steps) {
  for (int i = 0; i < nsteps; i++) {
    int mib = 0, ms = 0;
    if (sscanf(steps[i], "%d:%d", &mib, &ms) != 2 || mib < 0 || mib > MAX_CHUNKS || ms < 0) {
      fprintf(stderr, "memhog: bad step '%s' (want MIB:MS)\n", steps[i]);
      return 2;
    }
    if (hold(mib) != 0) return 1;
    sleep_ms(ms);
  }
  return 0;
}

int main(int argc, char **argv) {
  int do_fork = 0, code = 0, sig = 0, i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    if (!strcmp(argv[i], "--fork"))
      do_fork = 1;
    else if (!strcmp(argv[i], "--exit") && i + 1 < argc)
      code = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--signal") && i + 1 < argc)
      sig = atoi(argv[++i]);
    else {
      fprintf(stderr, "usage: memhog [--fork] [--exit N] [--signal N] MIB:MS...\n");
      return 2;
    }
  }
  pid_t child = do_fork ? fork() : -1;
  if (do_fork && child < 0) {
    perror("memhog: fork");
    return 1;
  }
  int st = run_steps(argc - i, argv + i);
  if (child == 0) _exit(st);
  if (child > 0) {
    int cst = 0;
    waitpid(child, &cst, 0);
    if (st == 0 && !(WIFEXITED(cst) && WEXITSTATUS(cst) == 0)) st = 1;
  }
  if (st != 0) return st;
  if (sig) {
    signal(sig, SIG_DFL);
    raise(sig);
  }
  return code;
}
