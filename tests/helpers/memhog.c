/* memhog.c — test helper for `quern monitor`: holds known amounts of
 * resident memory in steps, optionally in a forked child as well, then
 * exits with a chosen code or dies from a chosen signal.
 *
 *   memhog [--fork] [--sampled-by PID|parent] [--ready FILE] [--exit N] [--signal N]
 *          MIB:MS [MIB:MS ...]
 *
 * Each step makes the process hold exactly MIB mebibytes of private,
 * touched memory for MS milliseconds. Memory is 1 MiB anonymous mappings,
 * every page written, so it is resident at once; shrinking munmaps whole
 * mappings, so RSS really drops (free() might keep it).
 *
 * What the tests rely on holds whatever the load on the machine; nothing
 * depends on how fast a process is scheduled:
 *  - The hold time of a step starts once its memory is resident (touching
 *    200 MiB can take a second on a busy machine).
 *  - --fork: a child runs the same steps in lockstep with the parent. They
 *    meet over two pipes after every step's memory is resident, and the
 *    parent holds the step while the child waits for it, so during each
 *    hold the pair holds exactly twice the step, never a mix of two steps.
 *  - --sampled-by PID: once a step's memory is resident, wait until process
 *    PID (the monitor) has read files in three separate bursts before the
 *    hold time starts. quern monitor reads /proc in one burst per sample, so
 *    at least one whole sample saw the step (reads seen: /proc/PID/io).
 *    PID must be the parent, or become it: an orphan waits until it is
 *    re-parented to PID (a subreaper) before its first step is sampled.
 *    `parent` stands for the parent's pid.
 *  - --ready FILE: after each step is resident (and sampled, with
 *    --sampled-by), FILE holds the number of steps done (written under a
 *    temporary name and renamed), for a test that must act on a step.
 */
#include <errno.h>
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

struct hog {
  int to_child, from_child;   /* parent's ends of the lockstep pipes, or -1 */
  int to_parent, from_parent; /* child's ends, or -1 */
  pid_t sampled_by;           /* 0: none */
  const char *ready;          /* marker file, or NULL */
};

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

/* Bytes process pid has read (rchar in /proc/PID/io), or -1. */
static long long read_count(pid_t pid) {
  char path[64];
  long long v = -1;
  snprintf(path, sizeof path, "/proc/%d/io", (int)pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  if (fscanf(f, "rchar: %lld", &v) != 1) v = -1;
  fclose(f);
  return v;
}

/* Waits until pid has read in three bursts (a poll that sees its count
 * move after one that did not starts a burst). One sample of quern monitor
 * is a burst of reads, so even if the first burst seen was the end of a
 * sample that began before the memory was resident, and one sample was
 * cut in two by preemption, a whole sample lies in between. */
static int wait_sampled(pid_t pid) {
  for (int i = 0; getppid() != pid; i++) {
    if (i == 30000) { /* a minute */
      fprintf(stderr, "memhog: process %d never became the parent\n", (int)pid);
      return -1;
    }
    sleep_ms(2);
  }
  long long last = read_count(pid);
  int bursts = 0, moving = 1; /* a burst under way at the start is not counted */
  while (bursts < 3) {
    sleep_ms(2);
    long long now = read_count(pid);
    if (now < 0 || last < 0) {
      fprintf(stderr, "memhog: cannot read /proc/%d/io\n", (int)pid);
      return -1;
    }
    if (now != last && !moving) bursts++;
    moving = now != last;
    last = now;
  }
  return 0;
}

static int mark_ready(const char *path, int steps) {
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  if (!f || fprintf(f, "%d\n", steps) < 0 || fclose(f) != 0 || rename(tmp, path) != 0) {
    perror("memhog: --ready");
    return -1;
  }
  return 0;
}

/* One byte each way; 0 when the other side is gone. */
static int put(int fd) {
  ssize_t n;
  do n = write(fd, "s", 1);
  while (n < 0 && errno == EINTR);
  return n == 1;
}
static int get(int fd) {
  char c;
  ssize_t n;
  do n = read(fd, &c, 1);
  while (n < 0 && errno == EINTR);
  return n == 1;
}

static int run_steps(const struct hog *h, int nsteps, char **steps) {
  for (int i = 0; i < nsteps; i++) {
    int mib = 0, ms = 0;
    if (sscanf(steps[i], "%d:%d", &mib, &ms) != 2 || mib < 0 || mib > MAX_CHUNKS || ms < 0) {
      fprintf(stderr, "memhog: bad step '%s' (want MIB:MS)\n", steps[i]);
      return 2;
    }
    if (hold(mib) != 0) return 1;
    if (h->to_parent >= 0) { /* the child: resident; wait for the parent's hold */
      if (!put(h->to_parent) || !get(h->from_parent)) return 1;
      continue;
    }
    if (h->from_child >= 0 && !get(h->from_child)) {
      fprintf(stderr, "memhog: the forked child is gone\n");
      return 1;
    }
    if (h->sampled_by > 0 && wait_sampled(h->sampled_by) != 0) return 1;
    if (h->ready && mark_ready(h->ready, i + 1) != 0) return 1;
    sleep_ms(ms);
    if (h->to_child >= 0 && !put(h->to_child)) return 1;
  }
  return 0;
}

/* Makes the lockstep pipes and forks; returns the child's pid (0 in the
 * child), -1 on failure. */
static pid_t fork_pair(struct hog *h) {
  int up[2], down[2];
  if (pipe(up) != 0 || pipe(down) != 0) {
    perror("memhog: pipe");
    return -1;
  }
  pid_t child = fork();
  if (child < 0) {
    perror("memhog: fork");
    return -1;
  }
  if (child == 0) {
    close(up[0]);
    close(down[1]);
    h->to_parent = up[1];
    h->from_parent = down[0];
  } else {
    close(up[1]);
    close(down[0]);
    h->from_child = up[0];
    h->to_child = down[1];
  }
  return child;
}

int main(int argc, char **argv) {
  struct hog h = {-1, -1, -1, -1, 0, NULL};
  int do_fork = 0, code = 0, sig = 0, i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    if (!strcmp(argv[i], "--fork"))
      do_fork = 1;
    else if (!strcmp(argv[i], "--exit") && i + 1 < argc)
      code = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--signal") && i + 1 < argc)
      sig = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--sampled-by") && i + 1 < argc) {
      i++;
      h.sampled_by = !strcmp(argv[i], "parent") ? getppid() : (pid_t)atoi(argv[i]);
    } else if (!strcmp(argv[i], "--ready") && i + 1 < argc) {
      h.ready = argv[++i];
    } else {
      fprintf(stderr,
              "usage: memhog [--fork] [--sampled-by PID|parent] [--ready FILE] [--exit N] "
              "[--signal N] MIB:MS...\n");
      return 2;
    }
  }
  pid_t child = do_fork ? fork_pair(&h) : -1;
  if (do_fork && child < 0) return 1;
  int st = run_steps(&h, argc - i, argv + i);
  if (child == 0) _exit(st);
  if (child > 0) {
    int cst = 0;
    close(h.to_child); /* a child still waiting for a step sees EOF and ends */
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
