/* membw.c — how much faster two threads read memory than one on this
 * machine, at this moment: the ceiling of 1 -> 2 thread scaling for work
 * that streams its input once (quern bin's count cases are close to that).
 * Sums a 1 GiB array already in RAM with 1 and 2 threads, 5 times each,
 * interleaved, and prints the median GB/s of each and their ratio. On a
 * shared VM the ratio moves with the neighbours' load (seen here: 1.2x to
 * 1.9x within an hour). bench_bin.sh builds it:
 *   cc -O2 -pthread bench/membw.c -o membw && ./membw */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N ((size_t)1 << 27) /* doubles: 1 GiB */
#define REPEAT 5

static double *a;
static int nthreads;
static double sums[2];

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void *sum_part(void *arg) {
  size_t id = (size_t)arg, lo = N / (size_t)nthreads * id, hi = N / (size_t)nthreads * (id + 1);
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (size_t i = lo; i < hi; i += 4) {
    s0 += a[i];
    s1 += a[i + 1];
    s2 += a[i + 2];
    s3 += a[i + 3];
  }
  sums[id] = s0 + s1 + s2 + s3;
  return NULL;
}

static double gbs(int threads) {
  pthread_t t[2];
  nthreads = threads;
  double t0 = now();
  for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, sum_part, (void *)(size_t)i);
  for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
  return (double)(N * sizeof *a) / (now() - t0) / 1e9;
}

static int cmp(const void *x, const void *y) {
  double u = *(const double *)x, v = *(const double *)y;
  return (u > v) - (u < v);
}

int main(void) {
  a = malloc(N * sizeof *a);
  if (!a) return 1;
  for (size_t i = 0; i < N; i++) a[i] = (double)(i & 1023);
  double one[REPEAT], two[REPEAT];
  for (int r = 0; r < REPEAT; r++) {
    one[r] = gbs(1);
    two[r] = gbs(2);
  }
  qsort(one, REPEAT, sizeof *one, cmp);
  qsort(two, REPEAT, sizeof *two, cmp);
  printf(
      "memory read bandwidth now: 1 thread %.1f GB/s, 2 threads %.1f GB/s: %.2fx "
      "(checksum %.0f)\n",
      one[REPEAT / 2], two[REPEAT / 2], two[REPEAT / 2] / one[REPEAT / 2], sums[0] + sums[1]);
  free(a);
  return 0;
}
