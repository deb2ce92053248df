/* test_format.c — qn_format_g17 gives the bytes of snprintf("%.17g") (the
 * C library is the oracle) on random bit patterns, random magnitudes in and
 * around the fast range, exact ties at the 17th digit, powers of ten and
 * their neighbours, integers and the values quern's outputs hold most
 * (means and edges of data in [0, 1)); and it is much faster. qn_format_g
 * does the same for the other precisions (convert's CSV tries 15 and 16). */
#include <time.h>

#include "core/qn_core.h"
#include "harness.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static uint64_t next_u64(void) { /* splitmix64 */
  uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}
static double from_bits(uint64_t b) {
  double d;
  memcpy(&d, &b, sizeof d);
  return d;
}

static long mismatches;
static void same_as_printf(double v) {
  char want[64], got[QN_FORMAT_G17_CAP];
  int nw = snprintf(want, sizeof want, "%.17g", v);
  int ng = qn_format_g17(v, got);
  if (ng != nw || strcmp(want, got) != 0) {
    if (mismatches++ < 10) fprintf(stderr, "%a: printf %s, qn_format_g17 %s\n", v, want, got);
  }
}

QN_TEST(same_bytes_as_printf) {
  mismatches = 0;
  /* any bit pattern: NaNs, infinities, subnormals, every exponent */
  for (int i = 0; i < 1000000; i++) same_as_printf(from_bits(next_u64()));
  /* magnitudes from 1e-7 to 1e21, both signs: the fast range and its edges */
  for (int i = 0; i < 1500000; i++) {
    double u = (double)(next_u64() >> 11) / 9007199254740992.0; /* [0, 1) */
    double v = pow(10.0, -7.0 + 28.0 * u);
    same_as_printf((next_u64() & 1) ? -v : v);
  }
  /* what quern writes: means of uniform data, linspace edges, sums */
  for (int i = 0; i < 500000; i++) {
    double u = (double)(next_u64() >> 11) / 9007199254740992.0;
    same_as_printf(u);
    same_as_printf(u * 1e6);
    same_as_printf((double)i / 1000.0);
    same_as_printf((double)(int64_t)(next_u64() >> 11));
  }
  /* powers of ten, their neighbours, and halfway cases of the 17th digit:
   * integers d * 10^j + 5 * 10^(j-1) with 18 digits are exact doubles for
   * small enough d, and print as ties */
  for (int p = -8; p <= 22; p++) {
    double t = pow(10.0, p);
    for (int k = -40; k <= 40; k++) {
      double v = t;
      for (int s = 0; s < (k < 0 ? -k : k); s++) v = nextafter(v, k < 0 ? 0.0 : INFINITY);
      same_as_printf(v);
      same_as_printf(-v);
    }
  }
  for (uint64_t d = 1; d < 200000; d++) {
    same_as_printf((double)(d * 10 + 5)); /* ties at the last digit */
    same_as_printf((double)(d * 10 + 5) * 1e12);
    same_as_printf((double)(100000000000000000ULL + d * 10 + 5)); /* 18 digits */
    same_as_printf(ldexp((double)d, -20));
  }
  same_as_printf(0.0);
  same_as_printf(-0.0);
  same_as_printf(1e-5);
  same_as_printf(nextafter(1e-5, 0.0));
  same_as_printf(1e19);
  same_as_printf(nextafter(1e19, 0.0));
  same_as_printf(9.9999999999999999e16);
  same_as_printf(99999999999999999.0);
  same_as_printf(0.99999999999999999);
  same_as_printf(9.999999999999999e-5);
  CHECK_EQ_INT(mismatches, 0);
}

static void same_as_printf_prec(double v, int prec) {
  char want[64], got[QN_FORMAT_G17_CAP];
  int nw = snprintf(want, sizeof want, "%.*g", prec, v);
  int ng = qn_format_g(v, prec, got);
  if (ng != nw || strcmp(want, got) != 0) {
    if (mismatches++ < 10)
      fprintf(stderr, "%a %%.%dg: printf %s, qn_format_g %s\n", v, prec, want, got);
  }
}

QN_TEST(other_precisions_same_bytes_as_printf) {
  mismatches = 0;
  for (int i = 0; i < 200000; i++) {
    double u = (double)(next_u64() >> 11) / 9007199254740992.0;
    double v = pow(10.0, -7.0 + 28.0 * u);
    for (int prec = 1; prec <= 17; prec++) same_as_printf_prec(v, prec);
    same_as_printf_prec(from_bits(next_u64()), 15);
    same_as_printf_prec(from_bits(next_u64()), 16);
  }
  for (uint64_t d = 1; d < 100000; d++) { /* ties at the 15th and 16th digit */
    same_as_printf_prec((double)(d * 10 + 5) * 100.0, 15);
    same_as_printf_prec((double)(d * 10 + 5) * 10.0, 16);
    same_as_printf_prec((double)(d * 10 + 5) / 1024.0, 15);
  }
  same_as_printf_prec(0.1, 0); /* precisions outside 1..17 go to printf */
  same_as_printf_prec(0.1, 20);
  CHECK_EQ_INT(mismatches, 0);
}

QN_TEST(faster_than_printf_cost) {
  enum { N = 200000 };
  double *v = malloc(N * sizeof *v);
  CHECK(v != NULL);
  for (int i = 0; i < N; i++) v[i] = (double)(next_u64() >> 11) / 9007199254740992.0 * 1000.0;
  char buf[64];
  size_t sink = 0;
  clock_t t0 = clock();
  for (int i = 0; i < N; i++) sink += (size_t)snprintf(buf, sizeof buf, "%.17g", v[i]);
  clock_t t1 = clock();
  for (int i = 0; i < N; i++) sink += (size_t)qn_format_g17(v[i], buf);
  clock_t t2 = clock();
  free(v);
  double slow = (double)(t1 - t0), fast = (double)(t2 - t1);
  fprintf(stderr, "printf %.0f ns, qn_format_g17 %.0f ns per value (%zu bytes)\n",
          slow / CLOCKS_PER_SEC / N * 1e9, fast / CLOCKS_PER_SEC / N * 1e9, sink);
  CHECK(fast * 4 < slow);
}
