/* test_stats.c — the stats kernel against a naive long-double reference on
 * random data and the nasty cases: NaN, ±inf, empty, one value, float32,
 * nulls, 64-bit integers past 2^53, and morsel merges in any split. */
#include "harness.h"
#include "kernels/qn_stats.h"

static uint64_t rng_state = 88172645463325252ULL;
static uint64_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}
static double urand(void) {
  return (double)(rnd() >> 11) * 0x1.0p-53;
}

static struct qn_column_stats run(enum qn_type t, void *data, int64_t n, uint8_t *valid) {
  struct qn_colbuf col = {t, n, data, valid, NULL};
  struct qn_stats_acc a;
  qn_stats_morsel(&col, &a);
  struct qn_column_stats s;
  qn_stats_finish(&a, t, &s);
  return s;
}

QN_TEST(float64_against_reference) {
  enum { N = 10007 };
  static double x[N];
  long double s = 0;
  double lo = INFINITY, hi = -INFINITY;
  for (int i = 0; i < N; i++) {
    x[i] = 1e6 + (urand() - 0.5) * 3.0; /* large mean, small spread */
    s += x[i];
    lo = fmin(lo, x[i]);
    hi = fmax(hi, x[i]);
  }
  long double mean = s / N, q = 0;
  for (int i = 0; i < N; i++) q += (x[i] - mean) * (x[i] - mean);
  struct qn_column_stats st = run(QN_FLOAT64, x, N, NULL);
  CHECK_EQ_INT(st.count, N);
  CHECK_EQ_DBL(st.min, lo);
  CHECK_EQ_DBL(st.max, hi);
  CHECK_NEAR_REL(st.sum, (double)s, 1e-15);
  CHECK_NEAR_REL(st.mean, (double)mean, 1e-15);
  CHECK_NEAR_REL(st.var, (double)(q / N), 1e-12);
}

QN_TEST(nan_and_inf) {
  double x[] = {1, NAN, 2, INFINITY, 3, NAN};
  struct qn_column_stats st = run(QN_FLOAT64, x, 6, NULL);
  CHECK_EQ_INT(st.count, 4);
  CHECK_EQ_INT(st.nan, 2);
  CHECK_EQ_DBL(st.min, 1);
  CHECK_EQ_DBL(st.max, INFINITY);
  CHECK_EQ_DBL(st.sum, INFINITY);
  CHECK(isnan(st.var)); /* numpy: nanvar with inf is nan */
  double y[] = {-INFINITY, INFINITY, 5};
  st = run(QN_FLOAT64, y, 3, NULL);
  CHECK(isnan(st.sum));
  CHECK(isnan(st.mean));
  double z[] = {NAN, NAN};
  st = run(QN_FLOAT64, z, 2, NULL);
  CHECK_EQ_INT(st.count, 0);
  CHECK_EQ_INT(st.nan, 2);
  CHECK(isnan(st.min) && isnan(st.mean));
  CHECK_EQ_DBL(st.sum, 0);
}

QN_TEST(empty_and_single) {
  struct qn_column_stats st = run(QN_FLOAT64, NULL, 0, NULL);
  CHECK_EQ_INT(st.count, 0);
  CHECK(isnan(st.min));
  double one = -2.5;
  st = run(QN_FLOAT64, &one, 1, NULL);
  CHECK_EQ_DBL(st.min, -2.5);
  CHECK_EQ_DBL(st.mean, -2.5);
  CHECK_EQ_DBL(st.var, 0);
}

QN_TEST(float32_accumulates_in_double) {
  enum { N = 4099 };
  static float x[N];
  long double s = 0;
  for (int i = 0; i < N; i++) {
    x[i] = (float)(urand() * 100);
    s += x[i];
  }
  struct qn_column_stats st = run(QN_FLOAT32, x, N, NULL);
  CHECK_NEAR_REL(st.sum, (double)s, 1e-15);
}

QN_TEST(int64_past_2_53_exact) {
  enum { N = 1000 };
  static int64_t x[N];
  for (int i = 0; i < N; i++) x[i] = (INT64_C(1) << 62) + i;
  struct qn_column_stats st = run(QN_INT64, x, N, NULL);
  __int128 want = (__int128)N * ((__int128)1 << 62) + (__int128)N * (N - 1) / 2;
  __int128 got = ((__int128)st.sum_hi << 64) | st.sum_lo;
  CHECK(got == want);
  CHECK_EQ_INT(st.imin, INT64_C(1) << 62);
  CHECK_EQ_INT(st.imax, (INT64_C(1) << 62) + N - 1);
  /* var of 0..N-1 is (N^2 - 1) / 12 exactly */
  CHECK_NEAR_REL(st.var, (N * (double)N - 1) / 12.0, 1e-14);
}

QN_TEST(uint64_max_sum) {
  uint64_t x[3] = {UINT64_MAX, UINT64_MAX, 1};
  struct qn_column_stats st = run(QN_UINT64, x, 3, NULL);
  CHECK(st.is_unsigned);
  CHECK_EQ_U64(st.umax, UINT64_MAX);
  CHECK_EQ_U64(st.umin, 1);
  unsigned __int128 got = ((unsigned __int128)(uint64_t)st.sum_hi << 64) | st.sum_lo;
  CHECK(got == (unsigned __int128)UINT64_MAX * 2 + 1);
}

QN_TEST(nulls_skipped) {
  double x[] = {1, 100, 2, 100, 3};
  uint8_t valid[] = {1, 0, 1, 0, 1};
  struct qn_column_stats st = run(QN_FLOAT64, x, 5, valid);
  CHECK_EQ_INT(st.count, 3);
  CHECK_EQ_INT(st.null, 2);
  CHECK_EQ_DBL(st.max, 3);
  CHECK_EQ_DBL(st.mean, 2);
}

QN_TEST(merge_equals_whole) {
  enum { N = 50000 };
  static double x[N];
  for (int i = 0; i < N; i++) x[i] = urand() < 0.01 ? NAN : urand() * 1e3 - 20;
  struct qn_column_stats whole = run(QN_FLOAT64, x, N, NULL);
  int cuts[] = {1, 777, 8192, 33333};
  for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
    struct qn_colbuf a = {QN_FLOAT64, cuts[k], x, NULL, NULL};
    struct qn_colbuf b = {QN_FLOAT64, N - cuts[k], x + cuts[k], NULL, NULL};
    struct qn_stats_acc pa, pb;
    qn_stats_morsel(&a, &pa);
    qn_stats_morsel(&b, &pb);
    qn_stats_merge(&pa, &pb, 0);
    struct qn_column_stats st;
    qn_stats_finish(&pa, QN_FLOAT64, &st);
    CHECK_EQ_INT(st.count, whole.count);
    CHECK_EQ_INT(st.nan, whole.nan);
    CHECK_EQ_DBL(st.min, whole.min);
    CHECK_NEAR_REL(st.sum, whole.sum, 1e-14);
    CHECK_NEAR_REL(st.var, whole.var, 1e-13);
  }
}

QN_TEST(narrow_ints) {
  int8_t a[] = {-128, 127, 0, -1};
  struct qn_column_stats st = run(QN_INT8, a, 4, NULL);
  CHECK_EQ_INT(st.imin, -128);
  CHECK_EQ_INT(st.imax, 127);
  CHECK_EQ_INT(st.sum_lo, (uint64_t)(int64_t)-2);
  CHECK_EQ_INT(st.sum_hi, -1);
  uint32_t b[] = {UINT32_MAX, 0};
  st = run(QN_UINT32, b, 2, NULL);
  CHECK_NEAR_REL(st.var, (double)UINT32_MAX * UINT32_MAX / 4, 1e-15);
}

/* Each M2 path of 64-bit integers (range < 2^24, < 2^40, wider up to the
 * full int64 range) against an exact reference: deviations from x[0] are
 * exact in 128 bits, and so are Σd and Σd² while the range is below 2^56. */
QN_TEST(int64_every_range_path) {
  const int64_t spans[] = {1000, INT64_C(1) << 30, INT64_C(1) << 50, INT64_MAX};
  for (size_t k = 0; k < sizeof spans / sizeof spans[0]; k++) {
    enum { N = 5003 };
    static int64_t x[N];
    for (int i = 0; i < N; i++) {
      uint64_t u = rnd() % ((uint64_t)spans[k] + 1);
      x[i] = (int64_t)(u - (uint64_t)(spans[k] / 2)) + (k == 0 ? (INT64_C(1) << 60) : 0);
    }
    if (k == 3) x[0] = INT64_MIN, x[1] = INT64_MAX;
    __int128 sum = 0, sd = 0, sq = 0;
    long double ld_mean = 0, ld_q = 0;
    for (int i = 0; i < N; i++) {
      sum += x[i];
      __int128 d = (__int128)x[i] - x[0];
      sd += d;
      if (k < 3) sq += d * d;
    }
    double want_var;
    if (k < 3) {
      want_var = (double)((long double)(sq * N - sd * sd) / ((long double)N * N));
    } else { /* full range: long double is accurate to ~1e-19 relative here */
      for (int i = 0; i < N; i++) ld_mean += (long double)x[i];
      ld_mean /= N;
      for (int i = 0; i < N; i++)
        ld_q += ((long double)x[i] - ld_mean) * ((long double)x[i] - ld_mean);
      want_var = (double)(ld_q / N);
    }
    struct qn_column_stats st = run(QN_INT64, x, N, NULL);
    __int128 got = (__int128)(((unsigned __int128)(uint64_t)st.sum_hi << 64) | st.sum_lo);
    CHECK(got == sum);
    CHECK_NEAR_REL(st.var, want_var, 1e-12);
  }
}

/* Summarises x[0..n) as morsels of `step` rows (nulls where valid[i] is 0),
 * merged in order, as the stats job does. */
static struct qn_column_stats run_morsels(enum qn_type t, const void *x, int64_t n,
                                          const uint8_t *valid, int64_t step) {
  size_t w = qn_type_size(t);
  struct qn_stats_acc tot, part;
  qn_stats_acc_init(&tot);
  for (int64_t a = 0; a < n; a += step) {
    int64_t m = n - a < step ? n - a : step;
    struct qn_colbuf col = {t, m, (char *)x + (size_t)a * w,
                            valid ? (uint8_t *)valid + a : NULL, NULL};
    qn_stats_morsel(&col, &part);
    qn_stats_merge(&tot, &part, 1);
  }
  struct qn_column_stats s;
  qn_stats_finish(&tot, t, &s);
  return s;
}

/* Integer variance is exact (issue 11): values base ± d with a small spread
 * d and a huge base, where the variance is that of d alone. The reference
 * is computed from d in 128-bit integers; the result must not depend on how
 * the rows are cut into morsels, and nulls must drop out exactly. */
QN_TEST(int64_huge_base_variance_exact) {
  enum { N = 5 * 65536 + 1234 };
  static int64_t x[N];
  static uint64_t u[N];
  static uint8_t valid[N];
  static uint32_t d[N];
  const int64_t bases[] = {INT64_C(1) << 53,    -(INT64_C(1) << 53), INT64_C(1) << 62,
                           -(INT64_C(1) << 62), INT64_MAX - 1000,    INT64_MIN};
  for (int i = 0; i < N; i++) {
    d[i] = (uint32_t)(rnd() % 1001);
    valid[i] = rnd() % 7 != 0;
  }
  for (size_t k = 0; k < sizeof bases / sizeof bases[0]; k++) {
    int64_t sign = bases[k] < 0 && bases[k] != INT64_MIN ? -1 : 1; /* stay in range */
    for (int i = 0; i < N; i++) x[i] = bases[k] + sign * (int64_t)d[i];
    for (int with_nulls = 0; with_nulls < 2; with_nulls++) {
      __int128 n = 0, sd = 0, sq = 0;
      for (int i = 0; i < N; i++)
        if (!with_nulls || valid[i]) n++, sd += d[i], sq += (__int128)d[i] * d[i];
      double want =
          (double)((long double)(n * sq - sd * sd) / ((long double)n * (long double)n));
      const uint8_t *v = with_nulls ? valid : NULL;
      struct qn_column_stats one = run_morsels(QN_INT64, x, N, v, N);
      struct qn_column_stats many = run_morsels(QN_INT64, x, N, v, 65536);
      struct qn_column_stats odd = run_morsels(QN_INT64, x, N, v, 777);
      CHECK_EQ_INT(many.count, (int64_t)n);
      CHECK_NEAR_REL(many.var, want, 1e-15);
      CHECK_NEAR_REL(many.std, sqrt(want), 1e-15);
      CHECK_EQ_DBL(one.var, many.var); /* exact sums: any cut, the same bits */
      CHECK_EQ_DBL(odd.var, many.var);
      CHECK_EQ_DBL(odd.mean, many.mean);
    }
  }
  /* uint64 just below 2^64 */
  for (int i = 0; i < N; i++) u[i] = UINT64_MAX - d[i];
  __int128 sd = 0, sq = 0;
  for (int i = 0; i < N; i++) sd += d[i], sq += (__int128)d[i] * d[i];
  double want = (double)((long double)(N * sq - sd * sd) / ((long double)N * N));
  struct qn_column_stats st = run_morsels(QN_UINT64, u, N, NULL, 65536);
  CHECK_NEAR_REL(st.var, want, 1e-15);
  CHECK_EQ_U64(st.umin, UINT64_MAX - 1000);
}

/* The deviation tiers (range below 2^24, below 2^48, wider) at and across
 * their limits: two values a range R apart, n/2 each, have variance R²/4. */
QN_TEST(int64_tier_limits_variance) {
  const uint64_t ranges[] = {(UINT64_C(1) << 24) - 1, UINT64_C(1) << 24,
                             (UINT64_C(1) << 48) - 1, UINT64_C(1) << 48, UINT64_MAX};
  enum { N = 70000 };
  static uint64_t x[N];
  for (size_t k = 0; k < sizeof ranges / sizeof ranges[0]; k++) {
    uint64_t lo = k < 4 ? UINT64_C(1) << 62 : 0;
    for (int i = 0; i < N; i++) x[i] = i % 2 ? lo + ranges[k] : lo;
    struct qn_column_stats st = run_morsels(QN_UINT64, x, N, NULL, 65536);
    long double r = (long double)ranges[k];
    CHECK_EQ_DBL(st.var, (double)(r * r / 4));
    struct qn_column_stats si = run_morsels(QN_INT64, x, N, NULL, 65536);
    if (k < 4) CHECK_EQ_DBL(si.var, (double)(r * r / 4));
  }
}

/* Narrow types at their limits, several morsels: exact variance too. */
QN_TEST(narrow_ints_variance_exact) {
  enum { N = 3 * 65536 + 5 };
  static int32_t a[N];
  static int8_t b[N];
  __int128 sa = 0, sqa = 0, sb = 0, sqb = 0;
  for (int i = 0; i < N; i++) {
    int32_t da = (int32_t)(rnd() % 5);
    a[i] = INT32_MIN + da;
    sa += da, sqa += (__int128)da * da;
    b[i] = (int8_t)(127 - (int)(rnd() % 2));
    sb += 127 - b[i], sqb += (127 - b[i]) * (127 - b[i]);
  }
  struct qn_column_stats st = run_morsels(QN_INT32, a, N, NULL, 65536);
  CHECK_NEAR_REL(st.var, (double)((long double)(N * sqa - sa * sa) / ((long double)N * N)),
                 1e-15);
  st = run_morsels(QN_INT8, b, N, NULL, 65536);
  CHECK_NEAR_REL(st.var, (double)((long double)(N * sqb - sb * sb) / ((long double)N * N)),
                 1e-15);
}
