/* test_bin.c — the binning kernel against a naive reference.
 *
 * The reference bins each value by a linear scan over the edges (the
 * definition: edges[b] <= x < edges[b+1], last bin closed) and computes the
 * statistics row by row in long double. With one lane the kernel's counts,
 * min, max and sums must be bit-identical to it (same order of additions);
 * std within 1e-12 relative. The regular edges are checked against values
 * printed by numpy.linspace. The range of NAME:BINS axes: the min/max loops
 * against a reference and their CPU cost against a memcpy, and the job's
 * use of Parquet column chunk statistics (same edges, no value read). */
#include "harness.h"

#include <float.h>

#include <time.h>
#include <unistd.h>

#include "io/parquet/qn_pq_writer.h"
#include "io/qn_source.h"
#include "kernels/qn_bin.h"

/* ----- helpers ----------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng_next(void) { /* splitmix64 */
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
static double rng_unif(void) {
  return (double)(rng_next() >> 11) * 0x1p-53;
}
static double rng_normal(void) {
  double u = rng_unif() + 0x1p-60, v = rng_unif();
  return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* Reference bin: linear scan, numpy.histogramdd's rule. */
static int64_t ref_bin(const double *e, int64_t nb, double x) {
  if (!(x >= e[0] && x <= e[nb])) return -1;
  if (x == e[nb]) return nb - 1;
  int64_t b = -1;
  for (int64_t i = 0; i <= nb; i++)
    if (e[i] <= x) b = i;
  return b;
}

struct ref_cell {
  int64_t n;
  double sum; /* same order as the kernel: row order */
  long double lsum;
  double mn, mx;
  double w;
};

struct fixture {
  int naxes;
  struct qn_bin_axis axes[QN_BIN_MAX_AXES];
  struct qn_bin_plan plan;
  struct qn_bin_grid grid;
  void *gmem, *ws;
};

static int fixture_init(struct fixture *f, int has_value, int has_weight) {
  struct qn_error err;
  qn_error_init(&err);
  if (qn_bin_plan_init(&f->plan, f->axes, f->naxes, has_value, has_weight, &err) != QN_OK)
    return -1;
  f->gmem = aligned_alloc(64, (size_t)qn_bin_grid_bytes(&f->plan));
  f->ws = aligned_alloc(64, (size_t)qn_bin_workspace_size(&f->plan));
  qn_bin_grid_init(&f->plan, &f->grid, f->gmem);
  return 0;
}

static void fixture_free(struct fixture *f) {
  free(f->gmem);
  free(f->ws);
}

static struct qn_colbuf col_f64(double *x, int64_t n) {
  struct qn_colbuf c = {QN_FLOAT64, n, x, NULL, NULL};
  return c;
}

/* Cell of row r by the reference, or -1. */
static int64_t ref_cell_of(const struct fixture *f, double *const *cols, int64_t r) {
  int64_t cell = 0;
  for (int k = 0; k < f->naxes; k++) {
    int64_t b = ref_bin(f->axes[k].edges, f->axes[k].nbins, cols[k][r]);
    if (b < 0) return -1;
    cell += b * f->plan.strides[k];
  }
  return cell;
}

/* Runs the kernel over n rows (f64 columns) in one lane and compares every
 * statistic with the reference. Returns 0 on success (and prints on
 * failure through the CHECK macros of the caller: we return the bad cell). */
static int64_t run_and_compare(struct fixture *f, double *const *cols, const double *val,
                               const double *w, int64_t n, int64_t *oor_out) {
  struct qn_colbuf cb[QN_BIN_MAX_AXES], vb, wb;
  const struct qn_colbuf *cp[QN_BIN_MAX_AXES];
  for (int k = 0; k < f->naxes; k++) {
    cb[k] = col_f64(cols[k], n);
    cp[k] = &cb[k];
  }
  vb = col_f64((double *)val, n);
  wb = col_f64((double *)w, n);
  /* Feed in uneven pieces to cross block boundaries. */
  for (int64_t r = 0; r < n;) {
    const int64_t piece = (int64_t)(1 + rng_next() % 3000); /* QN_MIN evaluates twice */
    int64_t m = QN_MIN(n - r, piece);
    qn_bin_accumulate(&f->plan, &f->grid, f->ws, cp, val ? &vb : NULL, w ? &wb : NULL, r, m);
    r += m;
  }
  qn_bin_grid_finish(&f->plan, &f->grid);
  const int64_t nc = f->plan.ncells;
  struct ref_cell *ref = calloc((size_t)nc, sizeof *ref);
  for (int64_t c = 0; c < nc; c++) {
    ref[c].mn = INFINITY;
    ref[c].mx = -INFINITY;
  }
  int64_t oor = 0;
  for (int64_t r = 0; r < n; r++) {
    int64_t c = ref_cell_of(f, cols, r);
    if (c < 0) {
      oor++;
      continue;
    }
    ref[c].n++;
    if (w) ref[c].w += w[r];
    if (val) {
      double v = val[r];
      ref[c].sum += v;
      ref[c].lsum += v;
      if (v < ref[c].mn || isnan(v)) ref[c].mn = isnan(ref[c].mn) ? ref[c].mn : v;
      if (v > ref[c].mx || isnan(v)) ref[c].mx = isnan(ref[c].mx) ? ref[c].mx : v;
    }
  }
  *oor_out = oor;
  double *cnt = malloc((size_t)nc * sizeof(double)), *sum = malloc((size_t)nc * sizeof(double));
  double *mean = malloc((size_t)nc * sizeof(double)), *sd = malloc((size_t)nc * sizeof(double));
  double *mn = malloc((size_t)nc * sizeof(double)), *mx = malloc((size_t)nc * sizeof(double));
  qn_bin_grid_stat(&f->plan, &f->grid, QN_BIN_K_COUNT, cnt);
  int64_t bad = -1;
  if (val) {
    qn_bin_grid_stat(&f->plan, &f->grid, QN_BIN_K_SUM, sum);
    qn_bin_grid_stat(&f->plan, &f->grid, QN_BIN_K_MEAN, mean);
    qn_bin_grid_stat(&f->plan, &f->grid, QN_BIN_K_STD, sd);
    qn_bin_grid_stat(&f->plan, &f->grid, QN_BIN_K_MIN, mn);
    qn_bin_grid_stat(&f->plan, &f->grid, QN_BIN_K_MAX, mx);
  }
  for (int64_t c = 0; c < nc && bad < 0; c++) {
    const struct ref_cell *rc = &ref[c];
    if (f->grid.count[c] != rc->n) {
      fprintf(stderr, "cell %lld: count %lld, reference %lld\n", (long long)c,
              (long long)f->grid.count[c], (long long)rc->n);
      bad = c;
    }
    if (w && !(cnt[c] == rc->w || (isnan(cnt[c]) && isnan(rc->w)))) bad = c;
    if (!w && cnt[c] != (double)rc->n) bad = c;
    if (!val) continue;
    if (!(sum[c] == rc->sum || (isnan(sum[c]) && isnan(rc->sum)))) bad = c;
    if (rc->n == 0) {
      if (!isnan(mean[c]) || !isnan(sd[c]) || !isnan(mn[c]) || !isnan(mx[c])) bad = c;
      continue;
    }
    double em = rc->sum / (double)rc->n;
    if (!(mean[c] == em || (isnan(mean[c]) && isnan(em)))) bad = c;
    if (!(mn[c] == rc->mn || (isnan(mn[c]) && isnan(rc->mn)))) bad = c;
    if (!(mx[c] == rc->mx || (isnan(mx[c]) && isnan(rc->mx)))) bad = c;
    /* std: two-pass in long double over the rows of the cell. */
    long double lm = rc->lsum / rc->n, m2 = 0;
    int finite = 1;
    for (int64_t r = 0; r < n; r++) {
      if (ref_cell_of(f, cols, r) != c) continue;
      if (!isfinite(val[r])) finite = 0;
      m2 += (val[r] - lm) * (val[r] - lm);
    }
    double es = finite ? (double)sqrtl(m2 / rc->n) : NAN;
    if (isnan(es) != isnan(sd[c])) bad = c;
    if (!isnan(es) && fabs(sd[c] - es) > 1e-12 * fabs(es) + 1e-300) bad = c;
    if (bad >= 0)
      fprintf(stderr,
              "cell %lld: n %lld sum %.17g/%.17g mean %.17g/%.17g std %.17g/%.17g "
              "min %.17g/%.17g max %.17g/%.17g\n",
              (long long)c, (long long)rc->n, sum[c], rc->sum, mean[c], em, sd[c], es, mn[c],
              rc->mn, mx[c], rc->mx);
  }
  free(cnt);
  free(sum);
  free(mean);
  free(sd);
  free(mn);
  free(mx);
  free(ref);
  return bad;
}

/* Values that sit exactly on each edge, one ULP either side, beyond both
 * ends, NaN and ±inf, followed by random values across the range. */
static void nasty_fill(const struct qn_bin_axis *ax, double *x, int64_t n) {
  int64_t i = 0;
  const double *e = ax->edges;
  for (int64_t j = 0; j <= ax->nbins && i + 3 <= n; j++) {
    x[i++] = e[j];
    x[i++] = nextafter(e[j], -INFINITY);
    x[i++] = nextafter(e[j], INFINITY);
  }
  const double special[] = {NAN, INFINITY, -INFINITY, -0.0, 0.0, DBL_MAX, -DBL_MAX};
  for (size_t j = 0; j < sizeof special / sizeof special[0] && i < n; j++) x[i++] = special[j];
  const double lo = e[0], span = e[ax->nbins] - e[0];
  for (; i < n; i++) {
    uint64_t u = rng_next() % 16;
    if (u == 0)
      x[i] = e[rng_next() % (uint64_t)(ax->nbins + 1)]; /* an edge */
    else
      x[i] = lo - 0.1 * span + 1.2 * span * rng_unif();
  }
}

static void shuffle(double *x, int64_t n) {
  for (int64_t i = n - 1; i > 0; i--) {
    int64_t j = (int64_t)(rng_next() % (uint64_t)(i + 1));
    double t = x[i];
    x[i] = x[j];
    x[j] = t;
  }
}

/* ----- edges ------------------------------------------------------------- */

static int edges_equal(const double *got, const double *want, int n) {
  for (int i = 0; i < n; i++)
    if (memcmp(&got[i], &want[i], sizeof(double)) != 0) {
      fprintf(stderr, "edge %d: %a != %a\n", i, got[i], want[i]);
      return 0;
    }
  return 1;
}

QN_TEST(linspace_matches_numpy) {
  /* np.linspace(a, b, n + 1) printed with float.hex() by numpy 1.24. */
  double e[11];
  const double w1[] = {0x0.0p+0,
                       0x1.999999999999ap-4,
                       0x1.999999999999ap-3,
                       0x1.3333333333334p-2,
                       0x1.999999999999ap-2,
                       0x1.0000000000000p-1,
                       0x1.3333333333334p-1,
                       0x1.6666666666667p-1,
                       0x1.999999999999ap-1,
                       0x1.ccccccccccccdp-1,
                       0x1.0000000000000p+0};
  qn_bin_linspace(0.0, 1.0, 10, e);
  CHECK(edges_equal(e, w1, 11));
  const double w2[] = {-0x1.a666666666666p+1, -0x1.d075075075075p+0, -0x1.5075075075078p-2,
                       0x1.283a83a83a838p+0,  0x1.5249249249248p+1,  0x1.083a83a83a83ap+2,
                       0x1.675075075074fp+2,  0x1.c666666666666p+2};
  qn_bin_linspace(-3.3, 7.1, 7, e);
  CHECK(edges_equal(e, w2, 8));
  const double w3[] = {0x1.999999999999ap-4, 0x1.3333333333333p-2, 0x1.0000000000000p-1,
                       0x1.6666666666666p-1};
  qn_bin_linspace(0.1, 0.7, 3, e);
  CHECK(edges_equal(e, w3, 4));
  const double w4[] = {0x1.1c37937e08000p+53, 0x1.1c37937e08000p+53, 0x1.1c37937e08001p+53,
                       0x1.1c37937e08002p+53, 0x1.1c37937e08002p+53};
  qn_bin_linspace(1e16, 1.0000000000000004e16, 4, e);
  CHECK(edges_equal(e, w4, 5));
  /* step underflows to 0: numpy's (i / div) * delta branch */
  const double w5[] = {0x0.0p+0,
                       0x0.0p+0,
                       0x0.0000000000001p-1022,
                       0x0.0000000000001p-1022,
                       0x0.0000000000001p-1022,
                       0x0.0000000000002p-1022,
                       0x0.0000000000002p-1022,
                       0x0.0000000000002p-1022,
                       0x0.0000000000002p-1022,
                       0x0.0000000000003p-1022,
                       0x0.0000000000003p-1022};
  qn_bin_linspace(0.0, 1.5e-323, 10, e);
  CHECK(edges_equal(e, w5, 11));
}

QN_TEST(axis_validation) {
  struct qn_bin_axis ax;
  double e[8];
  struct qn_error err;
  qn_error_init(&err);
  CHECK_EQ_INT(qn_bin_axis_regular(&ax, "x", 0, 0, 1, e, &err), QN_EINVAL);
  CHECK(strstr(err.message, "axis x") && strstr(err.message, "at least 1"));
  qn_error_init(&err);
  CHECK_EQ_INT(qn_bin_axis_regular(&ax, "x", 3, 2, 1, e, &err), QN_EINVAL);
  CHECK(strstr(err.message, "LO must be below HI"));
  qn_error_init(&err);
  CHECK_EQ_INT(qn_bin_axis_regular(&ax, "x", 3, NAN, 1, e, &err), QN_EINVAL);
  CHECK(strstr(err.message, "not finite"));
  qn_error_init(&err);
  CHECK_EQ_INT(qn_bin_axis_regular(&ax, "x", 3, 0, INFINITY, e, &err), QN_EINVAL);
  qn_error_init(&err);
  CHECK_EQ_INT(qn_bin_axis_regular(&ax, "x", 3, -DBL_MAX, DBL_MAX, e, &err), QN_EINVAL);
  CHECK(strstr(err.message, "too wide"));
  const double dec[] = {0, 2, 1};
  qn_error_init(&err);
  CHECK_EQ_INT(qn_bin_axis_irregular(&ax, "y", dec, 3, &err), QN_EINVAL);
  CHECK(strstr(err.message, "non-decreasing") && strstr(err.message, "edge 2"));
  const double nan_e[] = {0, NAN, 1};
  qn_error_init(&err);
  CHECK_EQ_INT(qn_bin_axis_irregular(&ax, "y", nan_e, 3, &err), QN_EINVAL);
  CHECK(strstr(err.message, "NaN"));
  qn_error_init(&err);
  CHECK_EQ_INT(qn_bin_axis_irregular(&ax, "y", dec, 1, &err), QN_EINVAL);
  const double inf_e[] = {-INFINITY, 0, INFINITY};
  CHECK_OK(qn_bin_axis_irregular(&ax, "y", inf_e, 3, NULL));
  CHECK_EQ_INT(qn_bin_axis_find(&ax, -INFINITY), 0);
  CHECK_EQ_INT(qn_bin_axis_find(&ax, 0.0), 1);
  CHECK_EQ_INT(qn_bin_axis_find(&ax, INFINITY), 1);
  CHECK_EQ_INT(qn_bin_axis_find(&ax, NAN), -1);
}

QN_TEST(plan_limits) {
  struct qn_bin_axis ax[9];
  double e[3];
  struct qn_bin_plan plan;
  struct qn_error err;
  for (int k = 0; k < 9; k++) CHECK_OK(qn_bin_axis_regular(&ax[k], "a", 2, 0, 1, e, NULL));
  qn_error_init(&err);
  CHECK_EQ_INT(qn_bin_plan_init(&plan, ax, 9, 0, 0, &err), QN_EINVAL);
  CHECK(strstr(err.message, "8 axes"));
  CHECK_OK(qn_bin_plan_init(&plan, ax, 8, 1, 1, NULL));
  CHECK_EQ_INT(plan.ncells, 256);
  CHECK_EQ_INT(plan.strides[0], 128);
  CHECK_EQ_INT(plan.strides[7], 1);
  CHECK(qn_bin_grid_bytes(&plan) >= 257 * (8 + 8 + 48));
  /* 8 axes of 2^10 bins: 2^80 cells */
  double big[2] = {0, 1};
  for (int k = 0; k < 8; k++) {
    ax[k].nbins = 1024;
    ax[k].edges = big; /* never read by plan_init */
  }
  qn_error_init(&err);
  CHECK_EQ_INT(qn_bin_plan_init(&plan, ax, 8, 0, 0, &err), QN_ELIMIT);
  CHECK(strstr(err.message, "too large"));
}

/* ----- counts ------------------------------------------------------------- */

QN_TEST(regular_1d_nasty_vs_reference) {
  const int64_t n = 20000;
  const double ranges[][3] = {
      {0, 1, 10},        {-3.3, 7.1, 7},       {0.1, 0.7, 3}, {1e16, 1.0000000000000004e16, 4},
      {0, 1.5e-323, 10}, {-1e-300, 1e-300, 5}, {0, 1, 1},     {-5, 5, 1000}};
  for (size_t t = 0; t < sizeof ranges / sizeof ranges[0]; t++) {
    struct fixture f = {.naxes = 1};
    double *e = malloc((size_t)(ranges[t][2] + 1) * sizeof(double));
    CHECK_OK(qn_bin_axis_regular(&f.axes[0], "x", (int64_t)ranges[t][2], ranges[t][0],
                                 ranges[t][1], e, NULL));
    CHECK_OK(fixture_init(&f, 0, 0));
    double *x = malloc((size_t)n * sizeof(double));
    nasty_fill(&f.axes[0], x, n);
    shuffle(x, n);
    int64_t oor;
    int64_t bad = run_and_compare(&f, &x, NULL, NULL, n, &oor);
    if (bad >= 0) fprintf(stderr, "range #%zu\n", t);
    CHECK_EQ_INT(bad, -1);
    CHECK_EQ_INT(f.grid.count[f.plan.ncells], oor);
    CHECK(oor > 0);
    fixture_free(&f);
    free(x);
    free(e);
  }
}

QN_TEST(every_edge_lands_in_its_bin) {
  /* Each edge e[i] (i < n) must land in bin i, the last edge in bin n-1,
   * and nextafter(e[i], -inf) in bin i-1: checked directly, no reference. */
  struct qn_bin_axis ax;
  double e[101];
  CHECK_OK(qn_bin_axis_regular(&ax, "x", 100, -2.7, 3.9, e, NULL));
  struct fixture f = {.naxes = 1};
  f.axes[0] = ax;
  CHECK_OK(fixture_init(&f, 0, 0));
  double x[303];
  for (int i = 0; i <= 100; i++) {
    x[3 * i] = e[i];
    x[3 * i + 1] = nextafter(e[i], -INFINITY);
    x[3 * i + 2] = nextafter(e[i], INFINITY);
  }
  struct qn_colbuf c = col_f64(x, 303);
  const struct qn_colbuf *cp = &c;
  qn_bin_accumulate(&f.plan, &f.grid, f.ws, &cp, NULL, NULL, 0, 303);
  qn_bin_grid_finish(&f.plan, &f.grid);
  /* bin 0: e0, e0+, e1-   ... bin i: e[i], e[i]+, e[i+1]-; last bin also e[100] */
  CHECK_EQ_INT(f.grid.count[0], 3);
  for (int i = 1; i < 99; i++) CHECK_EQ_INT(f.grid.count[i], 3);
  CHECK_EQ_INT(f.grid.count[99], 4);
  CHECK_EQ_INT(f.grid.count[100], 2); /* e0- and e100+ */
  fixture_free(&f);
}

QN_TEST(irregular_repeated_edges_vs_reference) {
  const double e1[] = {-1, 0, 0, 0.5, 1, 1, 3, 3}; /* repeated, last repeated */
  const double e2[] = {-INFINITY, -1, 2, INFINITY};
  const double e3[] = {5, 5}; /* one zero-width bin */
  double e4[258];
  e4[0] = -10;
  for (int i = 1; i < 258; i++) e4[i] = e4[i - 1] + (double)(rng_next() % 4) * 0.25;
  const struct {
    const double *e;
    int ne;
  } cases[] = {{e1, 8}, {e2, 4}, {e3, 2}, {e4, 258}};
  for (size_t t = 0; t < 4; t++) {
    struct fixture f = {.naxes = 1};
    CHECK_OK(qn_bin_axis_irregular(&f.axes[0], "x", cases[t].e, cases[t].ne, NULL));
    CHECK_OK(fixture_init(&f, 0, 0));
    const int64_t n = 5000;
    double *x = malloc((size_t)n * sizeof(double));
    int64_t i = 0;
    for (int j = 0; j < cases[t].ne; j++) {
      x[i++] = cases[t].e[j];
      x[i++] = nextafter(cases[t].e[j], -INFINITY);
      x[i++] = nextafter(cases[t].e[j], INFINITY);
    }
    x[i++] = NAN;
    for (; i < n; i++) x[i] = -12 + 90 * rng_unif();
    shuffle(x, n);
    int64_t oor;
    int64_t bad = run_and_compare(&f, &x, NULL, NULL, n, &oor);
    if (bad >= 0) fprintf(stderr, "edges #%zu\n", t);
    CHECK_EQ_INT(bad, -1);
    CHECK_EQ_INT(f.grid.count[f.plan.ncells], oor);
    fixture_free(&f);
    free(x);
  }
  /* numpy: histogramdd([1.0], bins=[[0, 1, 1, 2]]) -> [0, 0, 1] */
  struct qn_bin_axis ax;
  const double e5[] = {0, 1, 1, 2};
  CHECK_OK(qn_bin_axis_irregular(&ax, "x", e5, 4, NULL));
  CHECK_EQ_INT(qn_bin_axis_find(&ax, 1.0), 2);
  CHECK_EQ_INT(qn_bin_axis_find(&ax, 2.0), 2);
  const double e6[] = {0, 1, 2, 2}; /* last edge repeated: 2.0 in the last bin */
  CHECK_OK(qn_bin_axis_irregular(&ax, "x", e6, 4, NULL));
  CHECK_EQ_INT(qn_bin_axis_find(&ax, 2.0), 2);
  CHECK_EQ_INT(qn_bin_axis_find(&ax, nextafter(2.0, 0)), 1);
}

QN_TEST(multi_axis_4d_vs_reference) {
  struct fixture f = {.naxes = 4};
  double e0[6], e2[4];
  const double e1[] = {-2, -0.5, 0, 0, 0.25, 3};
  const double e3[] = {0, 1};
  CHECK_OK(qn_bin_axis_regular(&f.axes[0], "a", 5, -1, 1, e0, NULL));
  CHECK_OK(qn_bin_axis_irregular(&f.axes[1], "b", e1, 6, NULL));
  CHECK_OK(qn_bin_axis_regular(&f.axes[2], "c", 3, 0.1, 0.7, e2, NULL));
  CHECK_OK(qn_bin_axis_irregular(&f.axes[3], "d", e3, 2, NULL));
  CHECK_OK(fixture_init(&f, 1, 1));
  const int64_t n = 30000;
  double *cols[4], *v = malloc((size_t)n * 8), *w = malloc((size_t)n * 8);
  for (int k = 0; k < 4; k++) {
    cols[k] = malloc((size_t)n * 8);
    nasty_fill(&f.axes[k], cols[k], n);
    shuffle(cols[k], n);
  }
  for (int64_t i = 0; i < n; i++) {
    v[i] = rng_normal() * 3 + 10;
    w[i] = rng_unif();
  }
  v[17] = NAN;
  v[99] = INFINITY;
  w[5] = NAN;
  int64_t oor;
  CHECK_EQ_INT(run_and_compare(&f, cols, v, w, n, &oor), -1);
  CHECK_EQ_INT(f.grid.count[f.plan.ncells], oor);
  int64_t total = 0;
  for (int64_t c = 0; c < f.plan.ncells; c++) total += f.grid.count[c];
  CHECK_EQ_INT(total + oor, n);
  for (int k = 0; k < 4; k++) free(cols[k]);
  free(v);
  free(w);
  fixture_free(&f);
}

/* ----- statistics ---------------------------------------------------------- */

QN_TEST(stats_nan_inf_empty_vs_reference) {
  struct fixture f = {.naxes = 2};
  double e0[9], e1[5];
  CHECK_OK(qn_bin_axis_regular(&f.axes[0], "x", 8, 0, 1, e0, NULL));
  CHECK_OK(qn_bin_axis_regular(&f.axes[1], "y", 4, 0, 2, e1, NULL));
  CHECK_OK(fixture_init(&f, 1, 0));
  const int64_t n = 5000;
  double *x = malloc((size_t)n * 8), *y = malloc((size_t)n * 8), *v = malloc((size_t)n * 8);
  for (int64_t i = 0; i < n; i++) {
    x[i] = rng_unif() * 0.75; /* the last two x bins stay empty */
    y[i] = rng_unif() * 2;
    v[i] = rng_normal();
  }
  /* NaN in bin (0,0), +inf in bin (1,1), +inf and -inf in bin (2,2) */
  x[0] = 0.01;
  y[0] = 0.01;
  v[0] = NAN;
  x[1] = 0.13;
  y[1] = 0.6;
  v[1] = INFINITY;
  x[2] = 0.26;
  y[2] = 1.1;
  v[2] = INFINITY;
  x[3] = 0.27;
  y[3] = 1.2;
  v[3] = -INFINITY;
  double *cols[2] = {x, y};
  int64_t oor;
  CHECK_EQ_INT(run_and_compare(&f, cols, v, NULL, n, &oor), -1);
  double out[32];
  qn_bin_grid_stat(&f.plan, &f.grid, QN_BIN_K_MEAN, out);
  CHECK(isnan(out[0]));
  CHECK_EQ_DBL(out[1 * 4 + 1], INFINITY);
  CHECK(isnan(out[2 * 4 + 2]));
  CHECK(isnan(out[7 * 4 + 3])); /* empty */
  qn_bin_grid_stat(&f.plan, &f.grid, QN_BIN_K_STD, out);
  CHECK(isnan(out[1 * 4 + 1])); /* scipy: inf - inf */
  CHECK(isfinite(out[3 * 4 + 3]));
  qn_bin_grid_stat(&f.plan, &f.grid, QN_BIN_K_MIN, out);
  CHECK(isnan(out[0]));
  qn_bin_grid_stat(&f.plan, &f.grid, QN_BIN_K_SUM, out);
  CHECK_EQ_DBL(out[7 * 4 + 3], 0.0); /* empty: sum 0 */
  CHECK(isnan(out[0]));
  qn_bin_grid_stat(&f.plan, &f.grid, QN_BIN_K_COUNT, out);
  CHECK_EQ_DBL(out[7 * 4 + 3], 0.0);
  free(x);
  free(y);
  free(v);
  fixture_free(&f);
}

QN_TEST(empty_and_one_value) {
  struct fixture f = {.naxes = 1};
  double e[4];
  CHECK_OK(qn_bin_axis_regular(&f.axes[0], "x", 3, 0, 3, e, NULL));
  CHECK_OK(fixture_init(&f, 1, 0));
  double x[1] = {3.0}, v[1] = {42.5};
  struct qn_colbuf cx = col_f64(x, 1), cv = col_f64(v, 1);
  const struct qn_colbuf *cp = &cx;
  qn_bin_accumulate(&f.plan, &f.grid, f.ws, &cp, &cv, NULL, 0, 0); /* empty */
  CHECK_EQ_INT(f.grid.count[0] + f.grid.count[1] + f.grid.count[2] + f.grid.count[3], 0);
  qn_bin_accumulate(&f.plan, &f.grid, f.ws, &cp, &cv, NULL, 0, 1);
  qn_bin_grid_finish(&f.plan, &f.grid);
  double out[3];
  qn_bin_grid_stat(&f.plan, &f.grid, QN_BIN_K_COUNT, out);
  CHECK_EQ_DBL(out[2], 1.0); /* the last edge is in the last bin */
  qn_bin_grid_stat(&f.plan, &f.grid, QN_BIN_K_MEAN, out);
  CHECK_EQ_DBL(out[2], 42.5);
  CHECK(isnan(out[0]));
  qn_bin_grid_stat(&f.plan, &f.grid, QN_BIN_K_STD, out);
  CHECK_EQ_DBL(out[2], 0.0);
  qn_bin_grid_stat(&f.plan, &f.grid, QN_BIN_K_MIN, out);
  CHECK_EQ_DBL(out[2], 42.5);
  qn_bin_grid_stat(&f.plan, &f.grid, QN_BIN_K_MAX, out);
  CHECK_EQ_DBL(out[2], 42.5);
  fixture_free(&f);
}

/* Per-lane shifted sums folded with Chan's formula keep 1e-12 on data that
 * ruins a naive sum of squares: 1e6 + N(0,1), and int64 values near 2^53. */
QN_TEST(std_accuracy_lanes_shifted_data) {
  struct fixture f = {.naxes = 1};
  double e[3];
  CHECK_OK(qn_bin_axis_regular(&f.axes[0], "x", 2, 0, 1, e, NULL));
  CHECK_OK(fixture_init(&f, 1, 0));
  const int L = 5;
  void *lmem[5];
  struct qn_bin_grid lanes[5];
  for (int l = 0; l < L; l++) {
    lmem[l] = aligned_alloc(64, (size_t)qn_bin_grid_bytes(&f.plan));
    qn_bin_grid_init(&f.plan, &lanes[l], lmem[l]);
  }
  const int64_t n = 400000, morsel = 7000;
  double *x = malloc((size_t)n * 8), *v = malloc((size_t)n * 8);
  for (int64_t i = 0; i < n; i++) {
    x[i] = rng_unif();
    v[i] = x[i] < 0.5 ? 1e6 + rng_normal() : 9007199254740000.0 + (double)(rng_next() % 1000);
  }
  struct qn_colbuf cx = col_f64(x, n), cv = col_f64(v, n);
  const struct qn_colbuf *cp = &cx;
  for (int64_t m = 0; m * morsel < n; m++)
    qn_bin_accumulate(&f.plan, &lanes[m % L], f.ws, &cp, &cv, NULL, m * morsel,
                      QN_MIN(morsel, n - m * morsel));
  for (int l = 0; l < L; l++) qn_bin_grid_finish(&f.plan, &lanes[l]);
  for (int l = 1; l < L; l++) qn_bin_grid_fold(&f.plan, &lanes[0], &lanes[l]);
  double sd[2], mean[2], cnt[2];
  qn_bin_grid_stat(&f.plan, &lanes[0], QN_BIN_K_STD, sd);
  qn_bin_grid_stat(&f.plan, &lanes[0], QN_BIN_K_MEAN, mean);
  qn_bin_grid_stat(&f.plan, &lanes[0], QN_BIN_K_COUNT, cnt);
  for (int b = 0; b < 2; b++) {
    /* Exact reference: sums of v - K (K a value of the bin) in long double
     * stay exact here; a plain long double sum of values near 2^53 would
     * not (its ulp at 1.8e21 is 128). */
    const long double K = b == 0 ? 1e6L : 9007199254740000.0L;
    long double s = 0, m2 = 0;
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++)
      if ((x[i] >= 0.5) == (b == 1)) {
        s += v[i] - K;
        k++;
      }
    long double lm = s / k;
    for (int64_t i = 0; i < n; i++)
      if ((x[i] >= 0.5) == (b == 1)) m2 += (v[i] - K - lm) * (v[i] - K - lm);
    lm += K;
    CHECK_EQ_DBL(cnt[b], (double)k);
    CHECK_NEAR_REL(mean[b], (double)lm, 1e-13);
    CHECK_NEAR_REL(sd[b], (double)sqrtl(m2 / k), 1e-12);
  }
  CHECK(sd[0] > 0.9 && sd[0] < 1.1);
  for (int l = 0; l < L; l++) free(lmem[l]);
  free(x);
  free(v);
  fixture_free(&f);
}

/* The same rows folded through different lane counts give the same counts
 * and min/max exactly and sums within rounding. */
QN_TEST(fold_order_is_the_only_difference) {
  struct fixture f = {.naxes = 1};
  double e[11];
  CHECK_OK(qn_bin_axis_regular(&f.axes[0], "x", 10, 0, 1, e, NULL));
  CHECK_OK(fixture_init(&f, 1, 0));
  const int64_t n = 100000;
  double *x = malloc((size_t)n * 8), *v = malloc((size_t)n * 8);
  for (int64_t i = 0; i < n; i++) {
    x[i] = rng_unif();
    v[i] = rng_normal();
  }
  struct qn_colbuf cx = col_f64(x, n), cv = col_f64(v, n);
  const struct qn_colbuf *cp = &cx;
  double res[2][4][10];
  for (int t = 0; t < 2; t++) {
    const int L = t == 0 ? 1 : 3;
    struct qn_bin_grid g[3];
    void *mem[3];
    for (int l = 0; l < L; l++) {
      mem[l] = aligned_alloc(64, (size_t)qn_bin_grid_bytes(&f.plan));
      qn_bin_grid_init(&f.plan, &g[l], mem[l]);
    }
    for (int64_t m = 0; m * 1000 < n; m++)
      qn_bin_accumulate(&f.plan, &g[m % L], f.ws, &cp, &cv, NULL, m * 1000, 1000);
    for (int l = 0; l < L; l++) qn_bin_grid_finish(&f.plan, &g[l]);
    for (int l = 1; l < L; l++) qn_bin_grid_fold(&f.plan, &g[0], &g[l]);
    qn_bin_grid_stat(&f.plan, &g[0], QN_BIN_K_COUNT, res[t][0]);
    qn_bin_grid_stat(&f.plan, &g[0], QN_BIN_K_SUM, res[t][1]);
    qn_bin_grid_stat(&f.plan, &g[0], QN_BIN_K_MIN, res[t][2]);
    qn_bin_grid_stat(&f.plan, &g[0], QN_BIN_K_STD, res[t][3]);
    for (int l = 0; l < L; l++) free(mem[l]);
  }
  for (int b = 0; b < 10; b++) {
    CHECK_EQ_DBL(res[0][0][b], res[1][0][b]);
    CHECK_EQ_DBL(res[0][2][b], res[1][2][b]);
    CHECK(fabs(res[0][1][b] - res[1][1][b]) < 1e-10);
    CHECK_NEAR_REL(res[0][3][b], res[1][3][b], 1e-13);
  }
  free(x);
  free(v);
  fixture_free(&f);
}

/* ----- column types and nulls ------------------------------------------- */

QN_TEST(float32_and_int_columns) {
  struct fixture f = {.naxes = 2};
  double e0[6];
  const double e1[] = {-100, -1, 0, 1, 1e10};
  CHECK_OK(qn_bin_axis_regular(&f.axes[0], "f", 5, 0.1, 0.6, e0, NULL));
  CHECK_OK(qn_bin_axis_irregular(&f.axes[1], "i", e1, 5, NULL));
  CHECK_OK(fixture_init(&f, 1, 0));
  const int64_t n = 4000;
  float *xf = malloc((size_t)n * sizeof(float));
  int32_t *xi = malloc((size_t)n * sizeof(int32_t));
  int16_t *vi = malloc((size_t)n * sizeof(int16_t));
  double *xd = malloc((size_t)n * 8), *yd = malloc((size_t)n * 8), *vd = malloc((size_t)n * 8);
  for (int64_t i = 0; i < n; i++) {
    /* float32 values next to the float64 edges: they are compared as
     * float64, so 0.1f (> 0.1) is in bin 0 and nothing rounds. */
    xf[i] = (float)(rng_unif() * 0.7);
    if (i % 7 == 0) xf[i] = (float)e0[rng_next() % 6];
    xi[i] = (int32_t)(rng_next() % 400) - 200;
    if (i % 11 == 0) xi[i] = (int32_t)e1[rng_next() % 4];
    vi[i] = (int16_t)(rng_next() % 65536 - 32768);
    xd[i] = (double)xf[i];
    yd[i] = (double)xi[i];
    vd[i] = (double)vi[i];
  }
  xf[3] = NAN;
  xd[3] = NAN;
  struct qn_colbuf c0 = {QN_FLOAT32, n, xf, NULL, NULL}, c1 = {QN_INT32, n, xi, NULL, NULL};
  struct qn_colbuf cv = {QN_INT16, n, vi, NULL, NULL};
  const struct qn_colbuf *cp[2] = {&c0, &c1};
  qn_bin_accumulate(&f.plan, &f.grid, f.ws, cp, &cv, NULL, 0, n);
  qn_bin_grid_finish(&f.plan, &f.grid);
  /* reference through the float64 path */
  struct fixture g = f;
  CHECK_OK(fixture_init(&g, 1, 0));
  double *cols[2] = {xd, yd};
  int64_t oor;
  CHECK_EQ_INT(run_and_compare(&g, cols, vd, NULL, n, &oor), -1);
  for (int64_t c = 0; c <= f.plan.ncells; c++) CHECK_EQ_INT(f.grid.count[c], g.grid.count[c]);
  double a[20], b[20];
  qn_bin_grid_stat(&f.plan, &f.grid, QN_BIN_K_SUM, a);
  qn_bin_grid_stat(&g.plan, &g.grid, QN_BIN_K_SUM, b);
  for (int c = 0; c < 20; c++) CHECK_EQ_DBL(a[c], b[c]);
  CHECK(oor >= 1);
  free(xf);
  free(xi);
  free(vi);
  free(xd);
  free(yd);
  free(vd);
  fixture_free(&f);
  fixture_free(&g);
}

QN_TEST(nulls_go_out_of_range) {
  struct fixture f = {.naxes = 1};
  double e[3];
  CHECK_OK(qn_bin_axis_regular(&f.axes[0], "x", 2, 0, 2, e, NULL));
  CHECK_OK(fixture_init(&f, 1, 0));
  double x[4] = {0.5, 0.5, 1.5, 1.5}, v[4] = {1, 2, 3, 4};
  uint8_t xv[4] = {1, 0, 1, 1}, vv[4] = {1, 1, 1, 0};
  struct qn_colbuf cx = {QN_FLOAT64, 4, x, xv, NULL}, cv = {QN_FLOAT64, 4, v, vv, NULL};
  const struct qn_colbuf *cp = &cx;
  qn_bin_accumulate(&f.plan, &f.grid, f.ws, &cp, &cv, NULL, 0, 4);
  qn_bin_grid_finish(&f.plan, &f.grid);
  CHECK_EQ_INT(f.grid.count[0], 1);
  CHECK_EQ_INT(f.grid.count[1], 1);
  CHECK_EQ_INT(f.grid.count[2], 2);
  double s[2];
  qn_bin_grid_stat(&f.plan, &f.grid, QN_BIN_K_SUM, s);
  CHECK_EQ_DBL(s[0], 1.0);
  CHECK_EQ_DBL(s[1], 3.0);
  fixture_free(&f);
}

QN_TEST(finite_minmax) {
  double x[] = {NAN, 3, -INFINITY, -2, INFINITY, 7};
  uint8_t valid[] = {1, 1, 1, 1, 1, 0};
  struct qn_colbuf c = {QN_FLOAT64, 6, x, valid, NULL};
  double mn = INFINITY, mx = -INFINITY;
  CHECK_EQ_INT(qn_bin_finite_minmax(&c, 0, 6, &mn, &mx), 2);
  CHECK_EQ_DBL(mn, -2.0);
  CHECK_EQ_DBL(mx, 3.0);
  int64_t xi[] = {5, -9, 4};
  struct qn_colbuf ci = {QN_INT64, 3, xi, NULL, NULL};
  CHECK_EQ_INT(qn_bin_finite_minmax(&ci, 1, 2, &mn, &mx), 2);
  CHECK_EQ_DBL(mn, -9.0);
  CHECK_EQ_DBL(mx, 4.0);
  double none[] = {NAN, INFINITY};
  struct qn_colbuf cn = {QN_FLOAT64, 2, none, NULL, NULL};
  mn = INFINITY;
  mx = -INFINITY;
  CHECK_EQ_INT(qn_bin_finite_minmax(&cn, 0, 2, &mn, &mx), 0);
}

/* ----- kernel paths --------------------------------------------------------- */

/* All statistics and out_of_range of n rows through one lane, as bytes:
 * [0] out_of_range, then ncells doubles per statistic. `index32` and
 * `minmax` override the plan's choices; `pending` starts the 32-bit
 * counters that close to their flush. Caller frees. */
static double *run_stats(const struct qn_bin_axis *axes, int naxes, double *const *cols,
                         const double *val, const double *w, int64_t n, int index32, int minmax,
                         int64_t pending, int64_t *nout) {
  struct qn_bin_plan plan;
  if (qn_bin_plan_init(&plan, axes, naxes, val != NULL, w != NULL, NULL) != QN_OK) return NULL;
  plan.index32 = plan.index32 && index32;
  plan.need_minmax = minmax;
  void *gmem = aligned_alloc(64, (size_t)qn_bin_grid_bytes(&plan));
  void *ws = aligned_alloc(64, (size_t)qn_bin_workspace_size(&plan));
  struct qn_bin_grid g;
  qn_bin_grid_init(&plan, &g, gmem);
  g.pending = pending;
  struct qn_colbuf cb[QN_BIN_MAX_AXES], vb = col_f64((double *)val, n),
                                        wb = col_f64((double *)w, n);
  const struct qn_colbuf *cp[QN_BIN_MAX_AXES];
  for (int k = 0; k < naxes; k++) {
    cb[k] = col_f64(cols[k], n);
    cp[k] = &cb[k];
  }
  for (int64_t r = 0; r < n;) {
    const int64_t piece = (int64_t)(1 + rng_next() % 40000);
    const int64_t m = QN_MIN(n - r, piece);
    qn_bin_accumulate(&plan, &g, ws, cp, val ? &vb : NULL, w ? &wb : NULL, r, m);
    r += m;
  }
  qn_bin_grid_finish(&plan, &g);
  const int nst = val ? (minmax ? 6 : 4) : 1;
  *nout = 1 + nst * plan.ncells;
  double *out = malloc((size_t)*nout * sizeof(double));
  out[0] = (double)g.count[plan.ncells];
  for (int s = 0; s < nst; s++)
    qn_bin_grid_stat(&plan, &g, (enum qn_bin_kstat)s, out + 1 + s * plan.ncells);
  free(gmem);
  free(ws);
  return out;
}

/* Bit equality of two run_stats results (NaN payloads included). */
static int same_bits(const double *a, const double *b, int64_t n, const char *what) {
  for (int64_t i = 0; i < n; i++)
    if (memcmp(&a[i], &b[i], sizeof(double)) != 0) {
      fprintf(stderr, "%s: element %lld: %.17g != %.17g\n", what, (long long)i, a[i], b[i]);
      return 0;
    }
  return 1;
}

/* The 32-bit index path (fast regular guess, span table, fused regular
 * axes) against the float64 one, and both against the reference: 1-D
 * regular, integer data on every edge, 3-D regular x irregular (table) x
 * irregular (search), 2-D and 3-D regular, with values and weights. Skipping min/max leaves the
 * rest unchanged. */
QN_TEST(index_paths_agree) {
  const int64_t n = 70000;
  double er[101], eq[56], ei[12];
  const double *eu = NULL;
  double euneven[40];
  euneven[0] = 0; /* steps from 1e-9 to 1: no table */
  for (int i = 1; i < 40; i++) euneven[i] = euneven[i - 1] + pow(10.0, -9.0 + 9.0 * i / 39.0);
  eu = euneven;
  for (int i = 0; i < 12; i++) ei[i] = i < 3 ? -1.0 + i * 0.001 : (i - 3) * 0.15;
  struct qn_bin_axis ax[3];
  double *cols[3], *v = malloc((size_t)n * 8), *w = malloc((size_t)n * 8);
  for (int k = 0; k < 3; k++) cols[k] = malloc((size_t)n * 8);
  for (int64_t i = 0; i < n; i++) {
    v[i] = 1e6 + rng_normal();
    w[i] = rng_unif();
  }
  v[3] = NAN;
  v[4] = -INFINITY;
  double er2[8], er3[31];
  for (int t = 0; t < 5; t++) {
    int naxes = 1;
    if (t == 0) { /* regular, nasty values */
      CHECK_OK(qn_bin_axis_regular(&ax[0], "x", 100, -3, 7, er, NULL));
      nasty_fill(&ax[0], cols[0], n);
    } else if (t == 1) { /* integers, every one on an edge */
      CHECK_OK(qn_bin_axis_regular(&ax[0], "i", 55, -5, 50, eq, NULL));
      for (int64_t i = 0; i < n; i++) cols[0][i] = (double)((int64_t)(rng_next() % 60) - 7);
    } else if (t >= 3) { /* 2 or 3 regular axes: the fused pass */
      naxes = t - 1;
      CHECK_OK(qn_bin_axis_regular(&ax[0], "x", 100, -3, 7, er, NULL));
      CHECK_OK(qn_bin_axis_regular(&ax[1], "y", 7, 0.1, 0.8, er2, NULL));
      CHECK_OK(qn_bin_axis_regular(&ax[2], "z", 30, -1e3, 2e3, er3, NULL));
      for (int k = 0; k < naxes; k++) nasty_fill(&ax[k], cols[k], n);
    } else {
      naxes = 3;
      CHECK_OK(qn_bin_axis_regular(&ax[0], "x", 100, -3, 7, er, NULL));
      CHECK_OK(qn_bin_axis_irregular(&ax[1], "y", ei, 12, NULL));
      CHECK_OK(qn_bin_axis_irregular(&ax[2], "z", eu, 40, NULL));
      CHECK(ax[1].lut_cells > 0);
      CHECK_EQ_INT(ax[2].lut_cells, 0);
      for (int k = 0; k < 3; k++) nasty_fill(&ax[k], cols[k], n);
    }
    for (int k = 0; k < naxes; k++) { /* the nasty values stay in the first 5000 */
      shuffle(cols[k], 5000);
      shuffle(cols[k] + 5000, n - 5000);
    }
    struct fixture f = {.naxes = naxes};
    memcpy(f.axes, ax, sizeof ax);
    CHECK_OK(fixture_init(&f, 1, 1));
    CHECK(f.plan.index32);
    CHECK_EQ_INT(f.plan.fused, t >= 3);
    int64_t oor; /* the reference is O(rows x cells): a prefix suffices */
    CHECK_EQ_INT(run_and_compare(&f, cols, v, w, 5000, &oor), -1);
    fixture_free(&f);
    for (int withv = 0; withv < 2; withv++) {
      int64_t na, nb, nc;
      double *a =
          run_stats(ax, naxes, cols, withv ? v : NULL, withv ? NULL : w, n, 1, 1, 0, &na);
      double *b =
          run_stats(ax, naxes, cols, withv ? v : NULL, withv ? NULL : w, n, 0, 1, 0, &nb);
      double *c =
          run_stats(ax, naxes, cols, withv ? v : NULL, withv ? NULL : w, n, 1, 0, 0, &nc);
      CHECK(a && b && c);
      CHECK_EQ_INT(na, nb);
      CHECK(same_bits(a, b, na, "index32 vs float64 index"));
      CHECK(same_bits(a, c, nc, "min/max skipped"));
      free(a);
      free(b);
      free(c);
    }
  }
  for (int k = 0; k < 3; k++) free(cols[k]);
  free(v);
  free(w);
}

/* The span table: edges packed closer than a table cell give spans 1..4
 * (each checked against the reference); more than 4 edges in a cell fall
 * back to the binary search. */
QN_TEST(irregular_table_spans_vs_reference) {
  for (int cluster = 1; cluster <= 6; cluster++) {
    double e[40];
    int ne = 0;
    for (int i = 0; i <= 30; i++) {
      e[ne++] = i;
      if (i == 13) /* `cluster` more edges within 1e-6 */
        for (int j = 1; j <= cluster; j++) e[ne++] = 13 + j * 1e-7;
    }
    struct fixture f = {.naxes = 1};
    CHECK_OK(qn_bin_axis_irregular(&f.axes[0], "x", e, ne, NULL));
    if (cluster + 1 <= QN_BIN_LUT_SPAN) {
      CHECK(f.axes[0].lut_cells > 0);
      CHECK(f.axes[0].lut_span >= cluster && f.axes[0].lut_span <= QN_BIN_LUT_SPAN);
    } else {
      CHECK_EQ_INT(f.axes[0].lut_cells, 0);
    }
    CHECK_OK(fixture_init(&f, 0, 0));
    const int64_t n = 20000;
    double *x = malloc((size_t)n * 8);
    nasty_fill(&f.axes[0], x, n);
    for (int64_t i = n / 2; i < n; i++) x[i] = 13 + (double)(rng_next() % 2000) * 1e-9;
    shuffle(x, n);
    int64_t oor;
    CHECK_EQ_INT(run_and_compare(&f, &x, NULL, NULL, n, &oor), -1);
    fixture_free(&f);
    free(x);
  }
}

/* 32-bit counters near overflow are flushed into the 64-bit counts; a
 * value grid keeps "cell seen" (its shift) across the flush: every
 * statistic stays bit-identical. Also the interleaved counters of a
 * small count grid and the single ones of a large grid. */
QN_TEST(counter_flush_keeps_results) {
  const int64_t n = 50000;
  double e[3][5000];
  struct qn_bin_axis ax[2];
  double *cols[2], *v = malloc((size_t)n * 8);
  for (int k = 0; k < 2; k++) cols[k] = malloc((size_t)n * 8);
  for (int64_t i = 0; i < n; i++) {
    cols[0][i] = rng_unif();
    cols[1][i] = rng_normal();
    v[i] = -2e5 + rng_normal();
  }
  for (int t = 0; t < 2; t++) {
    CHECK_OK(qn_bin_axis_regular(&ax[0], "x", t ? 4000 : 10, 0, 1, e[0], NULL));
    CHECK_OK(qn_bin_axis_regular(&ax[1], "y", 7, -2, 2, e[1], NULL));
    for (int withv = 0; withv < 2; withv++) {
      int64_t na, nb;
      const double *val = withv ? v : NULL;
      double *a = run_stats(ax, 2, cols, val, NULL, n, 1, 1, 0, &na);
      double *b = run_stats(ax, 2, cols, val, NULL, n, 1, 1, (int64_t)UINT32_MAX - 30000, &nb);
      CHECK(a && b);
      CHECK(same_bits(a, b, na, "flushed counters"));
      free(a);
      free(b);
    }
  }
  for (int k = 0; k < 2; k++) free(cols[k]);
  free(v);
}

/* Counts of one regular axis through one lane, rows fed in random pieces;
 * `simd` 0 clears plan.simd1 (the index + count loops), `pending` starts
 * the 32-bit counters close to their flush. Returns ncells + 1 counts. */
static int64_t *count_1d(const struct qn_bin_axis *ax, const double *x, int64_t n, int simd,
                         int64_t pending, int *used_simd) {
  struct qn_bin_plan plan;
  if (qn_bin_plan_init(&plan, ax, 1, 0, 0, NULL) != QN_OK) return NULL;
  plan.simd1 = plan.simd1 && simd;
  *used_simd = plan.simd1;
  void *gmem = aligned_alloc(64, (size_t)qn_bin_grid_bytes(&plan));
  void *ws = aligned_alloc(64, (size_t)qn_bin_workspace_size(&plan));
  struct qn_bin_grid g;
  qn_bin_grid_init(&plan, &g, gmem);
  g.pending = pending;
  struct qn_colbuf c = col_f64((double *)x, n);
  const struct qn_colbuf *cp = &c;
  for (int64_t r = 0; r < n;) {
    const int64_t piece = (int64_t)(1 + rng_next() % 9000);
    const int64_t m = QN_MIN(n - r, piece);
    qn_bin_accumulate(&plan, &g, ws, &cp, NULL, NULL, r, m);
    r += m;
  }
  qn_bin_grid_finish(&plan, &g);
  int64_t *out = malloc((size_t)(plan.ncells + 1) * sizeof(int64_t));
  memcpy(out, g.count, (size_t)(plan.ncells + 1) * sizeof(int64_t));
  free(gmem);
  free(ws);
  return out;
}

/* The AVX-512 count of one regular axis (plan.simd1) gives the counts of
 * the scalar loops: on clean data (no block redone), with edge values and
 * NaN/inf in some blocks (those blocks redone after their counts are
 * undone), in pieces whose lengths are not multiples of 16, next to a
 * counter flush; and it is chosen exactly when the CPU has AVX-512. */
QN_TEST(simd1_count_matches_scalar) {
  int cpu = 0;
#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
  __builtin_cpu_init();
  cpu = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
#endif
  const int64_t n = 60000;
  const double ranges[][3] = {{0, 1, 100},   {-3.3, 7.1, 7}, {1e16, 1.0000000000000004e16, 4},
                              {-5, 5, 1000}, {0, 1, 1},      {0.1, 0.7, 3}};
  double *x = malloc((size_t)n * sizeof(double));
  for (size_t t = 0; t < sizeof ranges / sizeof ranges[0]; t++) {
    struct qn_bin_axis ax;
    double *e = malloc((size_t)(ranges[t][2] + 1) * sizeof(double));
    CHECK_OK(qn_bin_axis_regular(&ax, "x", (int64_t)ranges[t][2], ranges[t][0], ranges[t][1], e,
                                 NULL));
    for (int data = 0; data < 3; data++) {
      const double lo = ranges[t][0], span = ranges[t][1] - ranges[t][0];
      for (int64_t i = 0; i < n; i++) x[i] = lo - 0.1 * span + 1.2 * span * rng_unif();
      if (data == 1) { /* edges, NaN, inf in the first 3000 rows only */
        nasty_fill(&ax, x, 3000);
        shuffle(x, 3000);
      } else if (data == 2) { /* and scattered over the whole column */
        for (int64_t i = 0; i < n; i += 997)
          x[i] = i % 3 ? e[rng_next() % (uint64_t)(ax.nbins + 1)] : NAN;
      }
      for (int flush = 0; flush < 2; flush++) {
        const int64_t pending = flush ? (int64_t)UINT32_MAX - 20000 : 0;
        int sa, sb;
        int64_t *a = count_1d(&ax, x, n, 1, pending, &sa);
        int64_t *b = count_1d(&ax, x, n, 0, pending, &sb);
        CHECK(a && b);
        CHECK_EQ_INT(sb, 0);
        if (ax.frac_tol < 0.5) CHECK_EQ_INT(sa, cpu);
        int64_t total = 0;
        for (int64_t c = 0; c <= ax.nbins; c++) {
          if (a[c] != b[c])
            fprintf(stderr, "range #%zu data %d flush %d cell %lld: %lld vs %lld\n", t, data,
                    flush, (long long)c, (long long)a[c], (long long)b[c]);
          CHECK_EQ_INT(a[c], b[c]);
          total += a[c];
        }
        CHECK_EQ_INT(total, n);
        free(a);
        free(b);
      }
    }
    free(e);
  }
  free(x);
}

/* ----- range detection ----------------------------------------------------- */

/* Reference: count, min and max of the finite values, one at a time. */
static int64_t ref_minmax(const double *x, int64_t n, double *mn, double *mx) {
  int64_t seen = 0;
  for (int64_t i = 0; i < n; i++) {
    if (!isfinite(x[i])) continue;
    seen++;
    if (x[i] < *mn) *mn = x[i];
    if (x[i] > *mx) *mx = x[i];
  }
  return seen;
}

/* The vector loops (AVX2 or AVX-512, whichever this CPU has) and the
 * portable one against the reference: random lengths and offsets, NaN,
 * ±inf (which send a block to the portable loop), signed zeros, blocks of
 * nothing but NaN, and folding into bounds already set. */
QN_TEST(minmax_vector_paths_agree) {
  enum { CAP = 70000 };
  double *buf = malloc(CAP * sizeof *buf);
  CHECK(buf != NULL);
  for (int t = 0; t < 3000; t++) {
    const int64_t n =
        t < 2900 ? (int64_t)(rng_next() % 300) : 40000 + (int64_t)(rng_next() % 30000);
    const int64_t off = (int64_t)(rng_next() % 8);
    const int kind = (int)(rng_next() % 6); /* 0: plain, 1-3: specials, 4: all NaN, 5: zeros */
    double *x = buf + off;
    if (off + n > CAP) continue;
    for (int64_t i = 0; i < n; i++) {
      x[i] = rng_unif() * 2000.0 - 1000.0;
      const uint64_t r = rng_next() % 100;
      if (kind >= 1 && kind <= 3 && r < 4) x[i] = NAN;
      if (kind == 2 && r == 5) x[i] = INFINITY;
      if (kind == 3 && r == 6) x[i] = -INFINITY;
      if (kind == 4) x[i] = NAN;
      if (kind == 5) x[i] = r < 50 ? -0.0 : 0.0;
    }
    if (kind >= 2 && kind <= 3 && n > 0)
      x[rng_next() % (uint64_t)n] = kind == 2 ? INFINITY : -INFINITY;
    const double start[2][2] = {{INFINITY, -INFINITY}, {-5.0, 7.5}};
    for (int s = 0; s < 2; s++) {
      double rlo = start[s][0], rhi = start[s][1];
      const int64_t want = ref_minmax(x, n, &rlo, &rhi);
      for (int simd = 0; simd < 2; simd++) {
        double lo = start[s][0], hi = start[s][1];
        const int64_t got = qn_bin_minmax_f64(x, n, &lo, &hi, simd);
        if (got != want || lo != rlo || hi != rhi)
          fprintf(
              stderr,
              "trial %d n %lld kind %d simd %d: %lld [%.17g, %.17g] want %lld [%.17g, %.17g]\n",
              t, (long long)n, kind, simd, (long long)got, lo, hi, (long long)want, rlo, rhi);
        CHECK_EQ_INT(got, want);
        CHECK_EQ_DBL(lo, rlo); /* == : -0.0 and +0.0 count as equal */
        CHECK_EQ_DBL(hi, rhi);
      }
    }
  }
  free(buf);
}

static double thread_cpu(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* The range pass runs at reading speed: over one morsel of float64 (65536
 * rows, 512 KiB, in L2 as after the scan's read) qn_bin_finite_minmax
 * costs at most twice a memcpy of the same bytes (measured here: about
 * half; the one-value-at-a-time loop it replaced cost 6 times). CPU time
 * of this thread, the fastest of 15 alternated rounds of each, so that a
 * busy machine slows both alike and preemption does not count. */
QN_TEST(range_pass_cost) {
  enum { N = 65536, CALLS = 100, ROUNDS = 15 };
  double *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y);
  CHECK(x && y);
  for (int i = 0; i < N; i++) x[i] = rng_normal();
  x[N / 3] = NAN; /* NaN is skipped on the fast path */
  struct qn_colbuf c = {QN_FLOAT64, N, x, NULL, NULL};
  double best_mm = INFINITY, best_copy = INFINITY, sink = 0;
  for (int r = 0; r < ROUNDS; r++) {
    double t0 = thread_cpu();
    for (int k = 0; k < CALLS; k++) {
      double lo = INFINITY, hi = -INFINITY;
      sink += (double)qn_bin_finite_minmax(&c, 0, N, &lo, &hi) + lo + hi;
    }
    double t1 = thread_cpu();
    for (int k = 0; k < CALLS; k++) {
      memcpy(y, x, N * sizeof *x);
      sink += y[k];
    }
    double t2 = thread_cpu();
    best_mm = QN_MIN(best_mm, t1 - t0);
    best_copy = QN_MIN(best_copy, t2 - t1);
  }
  fprintf(stderr, "range pass %.3f ns, memcpy %.3f ns per value (%g)\n",
          best_mm / CALLS / N * 1e9, best_copy / CALLS / N * 1e9, sink);
  free(x);
  free(y);
  CHECK(best_mm <= 2.0 * best_copy);
}

/* ----- range from Parquet statistics (the job, through the library) ------- */

/* Rows read per column of the file, through a copy of its reader's ops. */
static const struct qn_reader_ops *counted_ops;
static int64_t counted_rows[16];
static int counted_read(struct qn_reader *r, int col, int64_t row0, int64_t n,
                        struct qn_colbuf *out, struct qn_error *err) {
  __atomic_fetch_add(&counted_rows[col], n, __ATOMIC_RELAXED);
  return counted_ops->read(r, col, row0, n, out, err);
}

enum { SR_ROWS = 30000, SR_NCOLS = 7 };
/* x: NaN and nulls; z: a min of ±0 (the file holds -0.0 only); f: float32;
 * k: int16; u: uint64 above 2^63 (unsigned order); w: one +inf (the
 * statistics' max is inf: the finite max needs the data); g: one row group
 * of NaN only (its chunk has no bounds: the data again). */
static const struct qn_pq_wcol sr_cols[SR_NCOLS] = {
    {"x", QN_FLOAT64, 1, 0, 0}, {"z", QN_FLOAT64, 0, 0, 0}, {"f", QN_FLOAT32, 0, 0, 0},
    {"k", QN_INT16, 0, 0, 0},   {"u", QN_UINT64, 0, 0, 0},  {"w", QN_FLOAT64, 0, 0, 0},
    {"g", QN_FLOAT64, 0, 0, 0}};

static double sr_value(int c, int64_t i, int *null) {
  *null = c == 0 && i % 89 == 4;
  switch (c) {
    case 0:
      return i % 97 == 5 ? NAN : -3.0 + 8.0 * rng_unif();
    case 1:
      return i == 777 ? -0.0 : 0.25 + rng_unif();
    case 2:
      return (double)(float)(rng_normal() * 10.0);
    case 3:
      return (double)(int)(rng_next() % 600) - 300.0;
    case 4:
      return (double)((uint64_t)1 << 63) + (double)(rng_next() % 1000) * 4096.0;
    case 5:
      return i == 20000 ? INFINITY : rng_normal();
    default:
      return i < 12000 ? NAN : rng_unif();
  }
}

/* Writes the table in several row groups; want_lo/hi: the finite range. */
static int sr_write(const char *path, double *want_lo, double *want_hi) {
  struct qn_context *ctx;
  struct qn_error err;
  qn_error_init(&err);
  if (qn_context_new(NULL, &ctx, &err) != QN_OK) return -1;
  struct qn_pq_writer_options opt;
  qn_pq_writer_options_init(&opt);
  opt.row_group_rows = 6000; /* 5 row groups, cut between pages */
  opt.page_bytes = 16384;
  struct qn_pq_writer *w = NULL;
  int st = qn_pq_writer_open(ctx, path, sr_cols, SR_NCOLS, &opt, &w, &err);
  double *v[SR_NCOLS] = {0};
  uint8_t *valid = malloc(SR_ROWS);
  float *f32 = malloc(SR_ROWS * sizeof *f32);
  int16_t *i16 = malloc(SR_ROWS * sizeof *i16);
  uint64_t *u64 = malloc(SR_ROWS * sizeof *u64);
  for (int c = 0; c < SR_NCOLS; c++) {
    v[c] = malloc(SR_ROWS * sizeof(double));
    want_lo[c] = INFINITY;
    want_hi[c] = -INFINITY;
  }
  for (int64_t i = 0; i < SR_ROWS; i++)
    for (int c = 0; c < SR_NCOLS; c++) {
      int null;
      v[c][i] = sr_value(c, i, &null);
      if (c == 0) valid[i] = !null;
      if (!null && isfinite(v[c][i])) {
        want_lo[c] = QN_MIN(want_lo[c], v[c][i]);
        want_hi[c] = QN_MAX(want_hi[c], v[c][i]);
      }
      if (c == 2) f32[i] = (float)v[c][i];
      if (c == 3) i16[i] = (int16_t)v[c][i];
      if (c == 4) u64[i] = (uint64_t)v[c][i];
    }
  struct qn_colbuf cb[SR_NCOLS] = {
      {QN_FLOAT64, SR_ROWS, v[0], valid, NULL}, {QN_FLOAT64, SR_ROWS, v[1], NULL, NULL},
      {QN_FLOAT32, SR_ROWS, f32, NULL, NULL},   {QN_INT16, SR_ROWS, i16, NULL, NULL},
      {QN_UINT64, SR_ROWS, u64, NULL, NULL},    {QN_FLOAT64, SR_ROWS, v[5], NULL, NULL},
      {QN_FLOAT64, SR_ROWS, v[6], NULL, NULL}};
  if (st == QN_OK) st = qn_pq_writer_write(w, cb, SR_ROWS, &err);
  const int groups = st == QN_OK ? qn_pq_writer_row_groups(w) : 0;
  if (st == QN_OK)
    st = qn_pq_writer_close(w, &err);
  else
    qn_pq_writer_abort(w);
  if (st == QN_OK && groups < 3) st = qn_error_set(&err, QN_EINTERNAL, "%d row groups", groups);
  if (st != QN_OK) fprintf(stderr, "writing %s: %s\n", path, err.message);
  for (int c = 0; c < SR_NCOLS; c++) free(v[c]);
  free(valid);
  free(f32);
  free(i16);
  free(u64);
  qn_context_free(ctx);
  return st;
}

/* Bins every column with NAME:BINS through the library; reads counted.
 * with_meta = 0 hides the reader's `minmax` (the data pass for all). */
static struct qn_bin_result *sr_bin(struct qn_context *ctx, const char *path, int with_meta,
                                    int64_t *rows_read) {
  struct qn_source *src = NULL;
  struct qn_bin_result *res = NULL;
  struct qn_error err;
  qn_error_init(&err);
  struct qn_bin_axis_spec specs[SR_NCOLS];
  memset(specs, 0, sizeof specs);
  static struct qn_reader_ops ops;
  int st = QN_OK;
  for (int c = 0; c < SR_NCOLS && st == QN_OK; c++) {
    char text[32];
    snprintf(text, sizeof text, "%s:%d", sr_cols[c].name, c == 0 ? 3 : 2);
    st = qn_bin_axis_parse(text, &specs[c], &err);
  }
  const char *in[] = {path};
  if (st == QN_OK) st = qn_source_open(ctx, in, 1, &src, &err);
  if (st == QN_OK) {
    counted_ops = src->files[0]->ops;
    ops = *counted_ops;
    ops.read = counted_read;
    if (!with_meta) ops.minmax = NULL;
    src->files[0]->ops = &ops;
    memset(counted_rows, 0, sizeof counted_rows);
    struct qn_bin_options bo = {specs, SR_NCOLS, NULL, NULL, NULL, 0};
    st = qn_bin_run(ctx, src, &bo, &res, &err);
    for (int c = 0; c < SR_NCOLS; c++)
      rows_read[c] = counted_rows[qn_source_file_column(src, 0, c)];
    src->files[0]->ops = counted_ops;
  }
  if (st != QN_OK) fprintf(stderr, "bin %s: %s\n", path, err.message);
  for (int c = 0; c < SR_NCOLS; c++) qn_bin_axis_spec_reset(&specs[c]);
  qn_source_close(src);
  return res;
}

/* Auto-range axes on a Parquet file whose chunks carry min/max statistics
 * take their range from them and read no value for it: each such column
 * is read once (by the binning pass), and the edges are bit for bit those
 * of the data pass (the reader's `minmax` hidden) and numpy's
 * linspace(min, max) of the finite values. Columns whose statistics cannot
 * give the finite range (an inf bound, a chunk of NaN only) are read twice. */
QN_TEST(range_from_parquet_statistics) {
  char path[8192];
  snprintf(path, sizeof path, "%s", qn_test_path("bin_range.parquet"));
  double lo[SR_NCOLS], hi[SR_NCOLS];
  const int wrote = sr_write(path, lo, hi);
  int64_t read_meta[SR_NCOLS], read_data[SR_NCOLS];
  struct qn_context_options o;
  qn_context_options_init(&o);
  o.threads = 2;
  o.progress = 0;
  struct qn_context *ctx = NULL;
  CHECK_OK(qn_context_new(&o, &ctx, NULL));
  struct qn_bin_result *a = wrote == QN_OK ? sr_bin(ctx, path, 1, read_meta) : NULL;
  struct qn_bin_result *b = wrote == QN_OK ? sr_bin(ctx, path, 0, read_data) : NULL;
  unlink(path);
  CHECK_EQ_INT(wrote, QN_OK);
  CHECK(a && b);
  for (int c = 0; c < SR_NCOLS; c++) {
    const int64_t nb = qn_bin_result_nbins(a, c);
    double want[4];
    qn_bin_linspace(lo[c] == 0 ? 0.0 : lo[c], hi[c], nb, want);
    const double *ea = qn_bin_result_edges(a, c), *eb = qn_bin_result_edges(b, c);
    CHECK(same_bits(ea, eb, nb + 1, sr_cols[c].name));
    CHECK(same_bits(ea, want, nb + 1, sr_cols[c].name));
    CHECK(ea[0] != 0 || !signbit(ea[0])); /* a zero LO is +0.0 on both paths */
    const int64_t want_meta = c <= 4 ? SR_ROWS : 2 * SR_ROWS;
    if (read_meta[c] != want_meta || read_data[c] != 2 * SR_ROWS)
      fprintf(stderr, "column %s: rows read %lld with statistics, %lld without\n",
              sr_cols[c].name, (long long)read_meta[c], (long long)read_data[c]);
    CHECK_EQ_INT(read_meta[c], want_meta);
    CHECK_EQ_INT(read_data[c], 2 * SR_ROWS);
  }
  CHECK_EQ_INT(qn_bin_result_rows(a), SR_ROWS);
  CHECK_EQ_INT(qn_bin_result_out_of_range(a), qn_bin_result_out_of_range(b));
  CHECK(same_bits(qn_bin_result_stat(a, QN_BIN_COUNT), qn_bin_result_stat(b, QN_BIN_COUNT),
                  3 * 64, "count"));
  qn_bin_result_free(a);
  qn_bin_result_free(b);
  CHECK_EQ_INT(qn_context_used_bytes(ctx), 0);
  qn_context_free(ctx);
}

/* Sliced accumulation (qn_bin_rows_fill / apply): each cell takes its rows
 * in input order, so the grid has the bits of one lane fed every morsel in
 * order, for any slice count and any interleaving of slices and morsels.
 * 3-D (regular, irregular with a repeated edge, regular), value and
 * weight, NaN, inf, nulls in an axis and in the value, float32 value. */
QN_TEST(sliced_rows_give_one_lane_bits) {
  struct fixture f = {.naxes = 3};
  double ex[41], ez[31];
  const double ey[] = {-1.0, -0.5, 0.0, 0.0, 0.1, 0.7, 0.7, 1.0};
  CHECK_OK(qn_bin_axis_regular(&f.axes[0], "x", 40, 0, 1, ex, NULL));
  CHECK_OK(qn_bin_axis_irregular(&f.axes[1], "y", ey, 8, NULL));
  CHECK_OK(qn_bin_axis_regular(&f.axes[2], "z", 30, -1, 1, ez, NULL));
  CHECK_OK(fixture_init(&f, 1, 1));
  CHECK(f.plan.index32);
  const int64_t n = 150000, morsel = 7001, nm = (n + morsel - 1) / morsel;
  double *x = malloc((size_t)n * 8), *y = malloc((size_t)n * 8), *z = malloc((size_t)n * 8);
  float *v = malloc((size_t)n * 4);
  double *w = malloc((size_t)n * 8);
  uint8_t *yvalid = malloc((size_t)n), *vvalid = malloc((size_t)n);
  for (int64_t i = 0; i < n; i++) {
    x[i] = rng_unif() * 1.1 - 0.05;
    y[i] = i % 97 == 0 ? 0.7 : rng_unif() * 2 - 1;
    z[i] = i % 1001 == 0 ? NAN : rng_normal() * 0.4;
    v[i] = (float)(i % 5003 == 0 ? INFINITY : i % 7919 == 0 ? NAN : 1e6 + rng_normal());
    w[i] = rng_unif() + 0.25;
    yvalid[i] = i % 89 != 0;
    vvalid[i] = i % 211 != 0;
  }
  struct qn_colbuf cx = col_f64(x, n), cy = col_f64(y, n), cz = col_f64(z, n);
  struct qn_colbuf cv = {QN_FLOAT32, n, v, vvalid, NULL}, cw = col_f64(w, n);
  cy.valid = yvalid;
  const struct qn_colbuf *cp[3] = {&cx, &cy, &cz};
  for (int64_t m = 0; m < nm; m++) /* the one-lane reference */
    qn_bin_accumulate(&f.plan, &f.grid, f.ws, cp, &cv, &cw, m * morsel,
                      QN_MIN(morsel, n - m * morsel));
  qn_bin_grid_finish(&f.plan, &f.grid);
  const int64_t cells = f.plan.ncells;
  double *want = malloc((size_t)cells * 6 * 8), *got = malloc((size_t)cells * 6 * 8);
  for (int s = 0; s < 6; s++)
    qn_bin_grid_stat(&f.plan, &f.grid, (enum qn_bin_kstat)s, want + s * cells);
  CHECK(want[0] != want[0] || want[0] >= 0);
  const int max_slices[3] = {1, 5, 256};
  for (int t = 0; t < 3; t++) {
    const int shift = qn_bin_slice_shift(&f.plan, max_slices[t]);
    const int ns = qn_bin_slices(&f.plan, shift);
    CHECK(ns <= max_slices[t] && (t == 0 || ns > 1));
    const int64_t rb = qn_bin_rows_bytes(&f.plan, ns, morsel);
    char *rmem = aligned_alloc(64, (size_t)(rb * nm));
    struct qn_bin_rows *rows = malloc((size_t)nm * sizeof *rows);
    int64_t pending[256] = {0};
    void *gmem = aligned_alloc(64, (size_t)qn_bin_grid_bytes(&f.plan));
    struct qn_bin_grid g;
    qn_bin_grid_layout(&f.plan, &g, gmem);
    for (int64_t c0 = 0; c0 <= cells; c0 += 1000) /* cleared piecewise, as threads do */
      qn_bin_grid_clear(&f.plan, &g, c0, QN_MIN(c0 + 1000, cells + 1), 0);
    for (int64_t m = 0; m < nm; m++) {
      qn_bin_rows_init(&f.plan, &rows[m], rmem + rb * m, ns, morsel);
      qn_bin_rows_fill(&f.plan, f.ws, &rows[m], shift, cp, &cv, &cw, m * morsel,
                       QN_MIN(morsel, n - m * morsel));
    }
    /* t = 1: morsel by morsel; else slice by slice, the last slice first */
    for (int64_t k = 0; k < nm * ns; k++) {
      const int64_t m = t == 1 ? k / ns : k % nm;
      const int s = t == 1 ? (int)(k % ns) : ns - 1 - (int)(k / nm);
      qn_bin_rows_apply(&f.plan, &g, &rows[m], shift, s, &pending[s]);
    }
    for (int64_t c0 = 0; c0 <= cells; c0 += 777)
      qn_bin_grid_finish_cells(&f.plan, &g, c0, QN_MIN(c0 + 777, cells + 1));
    g.finished = 1;
    for (int s = 0; s < 6; s++)
      qn_bin_grid_stat_cells(&f.plan, &g, (enum qn_bin_kstat)s, got + s * cells, 0, cells);
    CHECK(same_bits(got, want, cells * 6, "sliced vs one lane"));
    CHECK_EQ_INT(g.count[cells], f.grid.count[cells]); /* out of range */
    free(gmem);
    free(rows);
    free(rmem);
  }
  CHECK(f.grid.count[cells] > n / 20); /* nulls, NaN, rows outside: real trash */
  free(want);
  free(got);
  free(x);
  free(y);
  free(z);
  free(v);
  free(w);
  free(yvalid);
  free(vvalid);
  fixture_free(&f);
}
