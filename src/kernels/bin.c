/* bin.c — N-d bin indices and per-bin statistics (see qn_bin.h).
 *
 * Design. Rows are processed in blocks of QN_BIN_BLOCK: (1) each axis
 * column is converted to float64 (one loader per column type, instantiated
 * by a macro) and turned into that axis' contribution to the linear cell
 * index, 32-bit when plan->index32 (else float64, the original path);
 * (2) the block's cell indices are folded into the grid by a loop with no
 * branch: rows in no bin go to the trash cell (index ncells). Counts go to
 * 32-bit counters (flushed into 64-bit ones before they can overflow),
 * value sums to 32-byte cells, the cell 64 rows ahead prefetched.
 *
 * Exactness. The result must equal an exact comparison against the edges
 * (numpy.histogramdd's searchsorted(side='right') plus its closed last
 * bin), never an approximation:
 *  - regular axes, 32-bit path: b = floor((x - lo) * scale) is trusted when
 *    its fraction is clear of 0 and 1 by frac_tol, a proved bound on the
 *    rounding of the guess and of the linspace edges (qn_bin_axis_regular);
 *    a block with any other in-range row is redone with every row
 *    corrected by one step each way against the true linspace edges, which
 *    is exact when the guess is provably within one bin (guess_exact).
 *  - regular axes without that proof (pathological edges that round onto
 *    each other, a subnormal width) take the float64 path: correct,
 *    verify edges[b] <= x < edges[b+1] (or x <= hi in the last bin), and
 *    redo a failing block by binary search.
 *  - irregular axes: a table giving the first bin each of up to 2048 cells
 *    of [lo, hi] can hold, plus a fixed count of the next `span` edges
 *    <= x (qn_bin_lut_build); else a branchless binary search: the number
 *    of edges <= x (np.searchsorted side='right'), then the last-edge rule.
 *  NaN fails every comparison and lands in the trash cell.
 *
 * Accuracy. Per cell and lane: sum of v in row order (what np.bincount
 * does), and shifted sums s1 = sum(v - K), s2 = sum((v - K)^2) with K the
 * lane's first value in that cell, so data such as 1e6 + N(0,1) keeps its
 * digits. Lanes become (n, mean, M2) and fold with Chan's formula in lane
 * order. Mean is reported as sum / n (scipy's formula); std as sqrt(M2/n).
 * Any non-finite value in a cell makes its M2 (hence std) NaN, as in scipy.
 * Block size, index width, counter width and prefetching change no bit:
 * every cell still adds its rows in row order.
 *
 * Bounds. No allocation: the caller provides the grid and a workspace of
 * qn_bin_workspace_size() bytes. Work is O(rows * axes) for regular and
 * tabled irregular axes, O(rows * axes * log2(edges)) for the others.
 */
#include "qn_bin.h"

#include <assert.h>
#include <float.h>
#include <math.h>
#include <string.h>

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__) && !defined(QN_NO_CLONES)
#define QN_BIN_SIMD1 1 /* qn_bin_count1_simd, chosen at run time */
#include <immintrin.h>
#endif

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(QN_NO_CLONES)
#define QN_BIN_HOT __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
/* For loops that GCC if-converts (hence vectorises, with gathers) only
 * when comparisons may not trap; no result changes (no reassociation, no
 * contraction: ISO C mode keeps -ffp-contract=off). */
#define QN_BIN_HOT_GATHER                                            \
  __attribute__((target_clones("arch=x86-64-v4", "avx2", "default"), \
                 optimize("no-trapping-math")))
#else
#define QN_BIN_HOT
#define QN_BIN_HOT_GATHER
#endif

/* ----- edges ------------------------------------------------------------ */

static void qn_bin_lut_build(struct qn_bin_axis *ax);
static int qn_bin_grid_ways(const struct qn_bin_plan *plan);

/* Whether this CPU (and OS) runs qn_bin_count1_simd. */
static int qn_bin_have_simd1(void) {
#ifdef QN_BIN_SIMD1
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
#else
  return 0;
#endif
}

void qn_bin_linspace(double lo, double hi, int64_t nbins, double *edges) {
  /* numpy: step = (stop - start) / div; y = arange(num) * step; y += start;
   * y[-1] = stop. Two roundings per edge, so no FMA here (ISO C mode keeps
   * GCC from contracting; the volatile makes it explicit). When the step
   * underflows to 0, numpy computes (i / div) * delta instead. */
  const double delta = hi - lo;
  const double div = (double)nbins;
  const double step = delta / div;
  for (int64_t i = 0; i < nbins; i++) {
    volatile double y = step != 0 ? (double)i * step : ((double)i / div) * delta;
    edges[i] = y + lo;
  }
  edges[nbins] = hi;
}

int qn_bin_axis_regular(struct qn_bin_axis *ax, const char *name, int64_t nbins, double lo,
                        double hi, double *edges, struct qn_error *err) {
  if (nbins < 1)
    return qn_error_set(err, QN_EINVAL,
                        "axis %s: the number of bins must be at least 1, got %lld", name,
                        (long long)nbins);
  if (!isfinite(lo) || !isfinite(hi))
    return qn_error_set(err, QN_EINVAL, "axis %s: range [%.17g, %.17g] is not finite", name, lo,
                        hi);
  if (!(lo < hi))
    return qn_error_set(err, QN_EINVAL, "axis %s: LO must be below HI, got [%.17g, %.17g]",
                        name, lo, hi);
  if (!isfinite(hi - lo))
    return qn_error_set(err, QN_EINVAL,
                        "axis %s: range [%.17g, %.17g] is too wide (HI - LO overflows)", name,
                        lo, hi);
  qn_bin_linspace(lo, hi, nbins, edges);
  memset(ax, 0, sizeof *ax);
  ax->nbins = nbins;
  ax->edges = edges;
  ax->regular = 1;
  ax->lo = lo;
  ax->hi = hi;
  ax->scale = (double)nbins / (hi - lo);
  ax->step = (hi - lo) / (double)nbins; /* 0 when it underflows: exact path */
  /* Error of the guess t = fl(fl(x - lo) * scale), in bins: <= 3u * nbins;
   * error of each linspace edge against the ideal lo + i (hi - lo) / nbins:
   * <= 2u (|lo| + |hi|), i.e. 2u (|lo| + |hi|) / (hi - lo) * nbins bins.
   * With their sum below 1/4 the guess is off by at most one bin and a
   * single correction is exact (factor 4 of margin). */
  const double u = DBL_EPSILON / 2;
  const double err_bins = (double)nbins * u * (3.0 + 2.0 * (fabs(lo) + fabs(hi)) / (hi - lo));
  ax->guess_exact = ax->step != 0.0 && err_bins < 0.25;
  /* The fast path's tolerance (see qn_bin.h): t = fl(fl(x - lo) * scale)
   * with scale = fl(nbins / fl(hi - lo)) is within 4u * nbins bins of the
   * ideal position (x - lo) / (hi - lo) * nbins (four roundings; a
   * subnormal x - lo is exact, an underflowing t has a fraction near 0 and
   * is not trusted); a linspace edge fl(fl(i * step) + lo) is within
   * 3u (hi - lo) + u max(|lo|, |hi|) of the ideal edge, i.e.
   * nbins u (3 + max(|lo|, |hi|) / (hi - lo)) bins. Their sum, doubled: */
  const double tol = 2.0 * (double)nbins * u * (8.0 + (fabs(lo) + fabs(hi)) / (hi - lo));
  ax->frac_tol = ax->guess_exact && tol < 0.25 && isfinite(ax->scale) ? tol : 0.5;
  return QN_OK;
}

int qn_bin_axis_irregular(struct qn_bin_axis *ax, const char *name, const double *edges,
                          int64_t nedges, struct qn_error *err) {
  if (nedges < 2)
    return qn_error_set(err, QN_EINVAL, "axis %s: needs at least 2 edges, got %lld", name,
                        (long long)nedges);
  for (int64_t i = 0; i < nedges; i++) {
    if (isnan(edges[i]))
      return qn_error_set(err, QN_EINVAL, "axis %s: edge %lld is NaN", name, (long long)i);
    if (i > 0 && edges[i] < edges[i - 1])
      return qn_error_set(err, QN_EINVAL,
                          "axis %s: edges must be non-decreasing, but edge %lld (%.17g) < "
                          "edge %lld (%.17g)",
                          name, (long long)i, edges[i], (long long)(i - 1), edges[i - 1]);
  }
  memset(ax, 0, sizeof *ax);
  ax->nbins = nedges - 1;
  ax->edges = edges;
  ax->regular = 0;
  ax->lo = edges[0];
  ax->hi = edges[nedges - 1];
  qn_bin_lut_build(ax);
  return QN_OK;
}

/* Number of edges e[0..ne) that are <= x: np.searchsorted(e, x, 'right').
 * Branchless: the loop count depends on ne only. NaN gives 0. */
static inline int64_t qn_bin_upper(const double *e, int64_t ne, double x) {
  const double *base = e;
  int64_t len = ne;
  while (len > 1) {
    int64_t half = len >> 1;
    base = (base[half] <= x) ? base + half : base;
    len -= half;
  }
  return (int64_t)(base - e) + (base[0] <= x);
}

/* The irregular axis' lookup table. The kernel computes the cell of x as
 * j = min(max(fl(fl(x - lo) * lut_scale), 0), cells - 1) truncated; like
 * the regular guess (see qn_bin_axis_regular) that is within
 * 4u * cells + (rounding of lo + j w, below) of the ideal cell, far below
 * the 0.01 cell of margin taken here when the table is used at all. So
 * the bins a cell j can hold lie between the bin of lo + (j - 0.01) w and
 * that of lo + (j + 1.01) w; lut[j] is the first, shifted down when needed
 * so that lut[j] + span <= nbins (the kernel reads edges up to there). */
static void qn_bin_lut_build(struct qn_bin_axis *ax) {
  ax->lut_cells = 0;
  const double lo = ax->lo, hi = ax->hi;
  if (!isfinite(lo) || !isfinite(hi) || !(hi > lo) || !isfinite(hi - lo)) return;
  if (ax->nbins > UINT32_MAX / 2) return;
  const int64_t cells = QN_MIN((int64_t)QN_BIN_LUT_CELLS, 16 * ax->nbins);
  const double u = DBL_EPSILON / 2;
  if ((double)cells * u * (8.0 + 4.0 * (fabs(lo) + fabs(hi)) / (hi - lo)) > 1e-3) return;
  const double w = (hi - lo) / (double)cells;
  const int64_t nb = ax->nbins;
  int64_t span = 0;
  /* first pass: the span; second: the starts */
  for (int pass = 0; pass < 2; pass++) {
    for (int64_t j = 0; j < cells; j++) {
      const double a = QN_MAX(lo, lo + ((double)j - 0.01) * w);
      const double z = QN_MIN(hi, lo + ((double)j + 1.01) * w);
      const int64_t blo = QN_MAX(0, qn_bin_upper(ax->edges, nb + 1, a) - 1);
      const int64_t bhi = qn_bin_upper(ax->edges, nb + 1, z) - 1; /* <= nb */
      if (pass == 0)
        span = QN_MAX(span, bhi - blo);
      else
        ax->lut[j] = (uint32_t)QN_MAX(0, QN_MIN(blo, nb - span));
    }
    if (span > QN_BIN_LUT_SPAN) return;
    span = QN_MIN(span, nb);
  }
  ax->lut_span = (int)span;
  ax->lut_scale = (double)cells / (hi - lo);
  ax->lut_cells = (int)cells;
}

int64_t qn_bin_axis_find(const struct qn_bin_axis *ax, double x) {
  const int64_t nb = ax->nbins;
  if (!(x >= ax->edges[0] && x <= ax->edges[nb])) return -1;
  int64_t b = qn_bin_upper(ax->edges, nb + 1, x) - 1;
  return b < nb - 1 ? b : nb - 1; /* x == last edge: the closed last bin */
}

/* ----- plan, grid, workspace ------------------------------------------ */

int qn_bin_plan_init(struct qn_bin_plan *plan, const struct qn_bin_axis *axes, int naxes,
                     int has_value, int has_weight, struct qn_error *err) {
  if (naxes < 1 || naxes > QN_BIN_MAX_AXES)
    return qn_error_set(err, QN_EINVAL, "between 1 and %d axes are supported, got %d",
                        QN_BIN_MAX_AXES, naxes);
  memset(plan, 0, sizeof *plan);
  plan->naxes = naxes;
  /* Cap the cell count well below 2^56 so index sums (<= 9 * ncells) and
   * byte sizes never overflow. */
  const int64_t cap = (int64_t)1 << 52;
  int64_t cells = 1;
  for (int k = naxes - 1; k >= 0; k--) {
    plan->axes[k] = axes[k];
    plan->strides[k] = cells;
    if (axes[k].nbins < 1 || axes[k].nbins > cap / cells)
      return qn_error_set(err, QN_ELIMIT, "the bin grid is too large (more than 2^52 cells)");
    cells *= axes[k].nbins;
  }
  plan->ncells = cells;
  plan->has_value = has_value;
  plan->has_weight = has_weight;
  plan->need_minmax = 1;
  /* The 32-bit path sums at most two contributions below 2^31 (the running
   * index is clamped to the trash cell after each axis). */
  plan->index32 = cells < INT32_MAX;
  for (int k = 0; k < naxes; k++)
    if (axes[k].regular && !axes[k].guess_exact) plan->index32 = 0;
  plan->fused = (naxes == 2 || naxes == 3) && cells < ((int64_t)1 << 29); /* sums < 2^31 */
  for (int k = 0; k < naxes; k++)
    if (!axes[k].regular || axes[k].frac_tol >= 0.5) plan->fused = 0;
  plan->simd1 = naxes == 1 && axes[0].regular && axes[0].frac_tol < 0.5 && plan->index32 &&
                !has_value && !has_weight && qn_bin_grid_ways(plan) == QN_BIN_WAYS &&
                qn_bin_have_simd1();
  return QN_OK;
}

static int64_t qn_bin_round64(int64_t b) {
  return (b + 63) & ~(int64_t)63;
}

static int qn_bin_grid_ways(const struct qn_bin_plan *plan) {
  return !plan->has_value && plan->ncells + 1 <= QN_BIN_WAYS_MAX_CELLS ? QN_BIN_WAYS : 1;
}

int64_t qn_bin_grid_bytes(const struct qn_bin_plan *plan) {
  const int64_t cells = plan->ncells + 1; /* <= 2^52 + 1: no overflow below */
  int64_t bytes = qn_bin_round64(cells * (int64_t)sizeof(int64_t));
  bytes += qn_bin_round64(cells * qn_bin_grid_ways(plan) * (int64_t)sizeof(uint32_t));
  if (plan->has_weight) bytes += qn_bin_round64(cells * (int64_t)sizeof(double));
  if (plan->has_value) {
    bytes += qn_bin_round64(cells * (int64_t)sizeof(struct qn_bin_vcell));
    if (plan->need_minmax)
      bytes += qn_bin_round64(cells * (int64_t)sizeof(struct qn_bin_mcell));
  }
  return bytes;
}

/* Workspace: idx (float64 or uint32 indices), x (three, for the fused
 * pass), v, w (double), QN_BIN_BLOCK each. */
#define QN_BIN_WS_ARRAYS 6
int64_t qn_bin_workspace_size(const struct qn_bin_plan *plan) {
  (void)plan;
  return (int64_t)QN_BIN_WS_ARRAYS * QN_BIN_BLOCK * 8;
}

void qn_bin_grid_layout(const struct qn_bin_plan *plan, struct qn_bin_grid *grid, void *mem) {
  const int64_t cells = plan->ncells + 1;
  char *p = mem;
  memset(grid, 0, sizeof *grid);
  grid->count = (int64_t *)p;
  p += qn_bin_round64(cells * (int64_t)sizeof(int64_t));
  grid->ways = qn_bin_grid_ways(plan);
  grid->c32 = (uint32_t *)p;
  p += qn_bin_round64(cells * grid->ways * (int64_t)sizeof(uint32_t));
  if (plan->has_weight) {
    grid->wcount = (double *)p;
    p += qn_bin_round64(cells * (int64_t)sizeof(double));
  }
  if (plan->has_value) {
    grid->v = (struct qn_bin_vcell *)p;
    p += qn_bin_round64(cells * (int64_t)sizeof(struct qn_bin_vcell));
    if (plan->need_minmax) grid->mm = (struct qn_bin_mcell *)p;
  }
}

void qn_bin_grid_clear(const struct qn_bin_plan *plan, struct qn_bin_grid *grid, int64_t c0,
                       int64_t c1, int zeroed) {
  const int64_t cells = plan->ncells + 1;
  const size_t n = (size_t)(c1 - c0);
  if (grid->mm) {
    const struct qn_bin_mcell zm = {INFINITY, -INFINITY};
    for (int64_t i = c0; i < c1; i++) grid->mm[i] = zm;
  }
  if (zeroed) return; /* all bits zero: 0 counts and +0.0 sums */
  memset(grid->count + c0, 0, n * sizeof(int64_t));
  for (int w = 0; w < grid->ways; w++)
    memset(grid->c32 + w * cells + c0, 0, n * sizeof(uint32_t));
  if (grid->wcount)
    for (int64_t i = c0; i < c1; i++) grid->wcount[i] = 0.0;
  if (grid->v) {
    const struct qn_bin_vcell z = {0.0, 0.0, 0.0, 0.0};
    for (int64_t i = c0; i < c1; i++) grid->v[i] = z;
  }
}

void qn_bin_grid_init(const struct qn_bin_plan *plan, struct qn_bin_grid *grid, void *mem) {
  qn_bin_grid_layout(plan, grid, mem);
  qn_bin_grid_clear(plan, grid, 0, plan->ncells + 1, 0);
}

/* Moves the 32-bit counters into the 64-bit counts. While accumulating
 * (`keep`), a counter that is not 0 keeps 1 so that "the lane has seen
 * this cell" (the value shift's test) survives; the counters are then at
 * most 1 (`pending`). */
static void qn_bin_flush_counts(const struct qn_bin_plan *plan, struct qn_bin_grid *grid,
                                int keep) {
  const int64_t cells = plan->ncells + 1;
  for (int w = 0; w < grid->ways; w++) {
    uint32_t *c = grid->c32 + w * cells;
    for (int64_t i = 0; i < cells; i++) {
      const uint32_t left = keep && c[i] > 0;
      grid->count[i] += c[i] - left;
      c[i] = left;
    }
  }
  grid->pending = keep;
}

/* Before adding m rows: flush when a counter could pass UINT32_MAX. */
static void qn_bin_count_room(const struct qn_bin_plan *plan, struct qn_bin_grid *grid,
                              int64_t m) {
  if (grid->pending > (int64_t)UINT32_MAX - m) qn_bin_flush_counts(plan, grid, 1);
  grid->pending += m;
}

/* ----- loaders: one per column type, from one body -------------------- */

// clang-format off
#define QN_BIN_TYPES(X)                                                  \
  X(QN_INT8, int8_t) X(QN_INT16, int16_t) X(QN_INT32, int32_t)           \
  X(QN_INT64, int64_t) X(QN_UINT8, uint8_t) X(QN_UINT16, uint16_t)       \
  X(QN_UINT32, uint32_t) X(QN_UINT64, uint64_t) X(QN_FLOAT32, float)     \
  X(QN_BOOL, uint8_t) X(QN_TIMESTAMP, int64_t) X(QN_DATE, int32_t)
// clang-format on

#define QN_BIN_DEF_LOAD(tag, T)                                                          \
  static void qn_bin_load_##tag(const void *src, int64_t row0, int64_t n, double *dst) { \
    const T *s = (const T *)src + row0;                                                  \
    for (int64_t i = 0; i < n; i++) dst[i] = (double)s[i];                               \
  }
QN_BIN_TYPES(QN_BIN_DEF_LOAD)
#undef QN_BIN_DEF_LOAD

/* Values of rows [row0, row0 + n) as float64: float64 columns are used in
 * place, others converted into buf (exactly as numpy's promotion does:
 * round to nearest for int64 beyond 2^53). */
static const double *qn_bin_load(const struct qn_colbuf *c, int64_t row0, int64_t n,
                                 double *buf) {
  switch (c->type) {
    case QN_FLOAT64:
      return (const double *)c->data + row0;
#define QN_BIN_CASE_LOAD(tag, T)              \
  case tag:                                   \
    qn_bin_load_##tag(c->data, row0, n, buf); \
    return buf;
      QN_BIN_TYPES(QN_BIN_CASE_LOAD)
#undef QN_BIN_CASE_LOAD
    default: /* strings are rejected when the plan is made */
      assert(0 && "non-numeric column in qn_bin_load");
      for (int64_t i = 0; i < n; i++) buf[i] = NAN;
      return buf;
  }
}

/* ----- index pass ------------------------------------------------------ */

/* The hot loops below are branch-free selects; GCC if-converts and
 * vectorises them only when it may assume that floating-point operations
 * do not trap. quern never unmasks FP exceptions, and the option changes
 * no result (no reassociation, no contraction). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

/* Cell indices travel as doubles (exact: cells <= 2^52) so that the index
 * pass vectorises with AVX2, which has no double <-> int64 conversions;
 * the accumulation loop, a scatter, converts one at a time. */

/* Edge b of a regular axis computed as numpy.linspace does (b < nbins). */
static inline double qn_bin_edge(double b, double step, double lo) {
  const double y = b * step; /* one rounding, then one more: no FMA */
  return y + lo;
}

/* The corrected cell offset of v on a regular axis: the scaled guess,
 * clamped, then one step up or down against the true linspace edges (the
 * last bin is closed at hi). Returns b*stride +/- stride; *in says whether
 * v lies in [lo, hi] at all. Shared by the float64 and uint32 index paths
 * so both land every value in the same bin. */
static inline double qn_bin_regular_cell(double v, double lo, double hi, double scale,
                                         double step, double last, double stride, int64_t *in) {
  double t = (v - lo) * scale;
  t = t >= 0.0 ? t : 0.0;
  t = t <= last ? t : last;
  const double b = floor(t);
  const double e0 = qn_bin_edge(b, step, lo);
  double e1 = qn_bin_edge(b + 1.0, step, lo);
  e1 = b < last ? e1 : hi;
  double up = v >= e1 ? stride : 0.0;
  up = b < last ? up : 0.0;
  const double dn = v < e0 ? stride : 0.0;
  *in = (v >= lo) & (v <= hi);
  return b * stride + up - dn;
}

/* idx[i] (+)= b * stride for x[i] in bin b, else `oor`. The guess
 * floor((x - lo) * scale) is corrected one step each way against edges
 * recomputed with linspace's own arithmetic (no table, no gather), then
 * verified. Returns nonzero when some in-range row failed verification:
 * the caller redoes the block by binary search. */
QN_BIN_HOT
static int qn_bin_index_regular(const struct qn_bin_axis *ax, const double *restrict x,
                                int64_t n, double stride, double oor, int add,
                                double *restrict idx) {
  const double lo = ax->lo, hi = ax->hi, scale = ax->scale, step = ax->step;
  const double last = (double)(ax->nbins - 1);
  int64_t bad = 0;
  /* Written as selects on doubles and 64-bit masks so that GCC vectorises
   * it (one loop per `add` so the select on it leaves the loop). */
#define QN_BIN_REGULAR_BODY(ADD)                                         \
  for (int64_t i = 0; i < n; i++) {                                      \
    const double v = x[i];                                               \
    double t = (v - lo) * scale;                                         \
    t = t >= 0.0 ? t : 0.0; /* NaN -> 0; such rows are masked by `in` */ \
    t = t <= last ? t : last;                                            \
    double b = floor(t);                                                 \
    double e0 = qn_bin_edge(b, step, lo);                                \
    double e1 = qn_bin_edge(b + 1.0, step, lo);                          \
    e1 = b < last ? e1 : hi;                                             \
    double up = v >= e1 ? 1.0 : 0.0;                                     \
    up = b < last ? up : 0.0;                                            \
    double dn = v < e0 ? 1.0 : 0.0;                                      \
    dn = b > 0.0 ? dn : 0.0;                                             \
    b = b + up - dn;                                                     \
    e0 = qn_bin_edge(b, step, lo);                                       \
    e1 = qn_bin_edge(b + 1.0, step, lo);                                 \
    e1 = b < last ? e1 : hi;                                             \
    const int64_t in = (v >= lo) & (v <= hi);                            \
    const int64_t ok = (v >= e0) & ((v < e1) | (b == last));             \
    bad |= in & ~ok;                                                     \
    const double c = in ? b * stride : oor;                              \
    idx[i] = ADD ? idx[i] + c : c;                                       \
  }
  if (add) {
    QN_BIN_REGULAR_BODY(1)
  } else {
    QN_BIN_REGULAR_BODY(0)
  }
#undef QN_BIN_REGULAR_BODY
  return bad != 0;
}

/* The same without verification, for axes whose guess is provably within
 * one bin (ax->guess_exact): one correction step each way is then exact. */
QN_BIN_HOT
static void qn_bin_index_regular_fast(const struct qn_bin_axis *ax, const double *restrict x,
                                      int64_t n, double stride, double oor, int add,
                                      double *restrict idx) {
  const double lo = ax->lo, hi = ax->hi, scale = ax->scale, step = ax->step;
  const double last = (double)(ax->nbins - 1);
#define QN_BIN_FAST_BODY(ADD)                                                           \
  for (int64_t i = 0; i < n; i++) {                                                     \
    int64_t in;                                                                         \
    const double c = qn_bin_regular_cell(x[i], lo, hi, scale, step, last, stride, &in); \
    const double cc = in ? c : oor;                                                     \
    idx[i] = ADD ? idx[i] + cc : cc;                                                    \
  }
  if (add) {
    QN_BIN_FAST_BODY(1)
  } else {
    QN_BIN_FAST_BODY(0)
  }
#undef QN_BIN_FAST_BODY
}

/* Irregular axis through the lookup table: start at the table's bin for
 * the value's cell, step down while below the bin's left edge, up while at
 * or past the next edge (a few steps at most: the table is built so). */
QN_BIN_HOT
static void qn_bin_index_lut(const struct qn_bin_axis *ax, const double *restrict x, int64_t n,
                             double stride, double oor, int add, double *restrict idx) {
  const double *restrict e = ax->edges;
  const int64_t last = ax->nbins - 1;
  const double lo = ax->lo, hi = ax->hi, ls = ax->lut_scale;
  const double lastcell = (double)(ax->lut_cells - 1);
  for (int64_t i = 0; i < n; i++) {
    const double v = x[i];
    double t = (v - lo) * ls;
    t = t >= 0.0 ? t : 0.0;
    t = t <= lastcell ? t : lastcell;
    int64_t b = ax->lut[(int64_t)t];
    while (b > 0 && v < e[b]) b--;
    while (b < last && v >= e[b + 1]) b++;
    const int in = (v >= lo) & (v <= hi);
    const double c = in ? (double)b * stride : oor;
    idx[i] = add ? idx[i] + c : c;
  }
}

QN_BIN_HOT
static void qn_bin_index_irregular(const struct qn_bin_axis *ax, const double *restrict x,
                                   int64_t n, double stride, double oor, int add,
                                   double *restrict idx) {
  const double *restrict e = ax->edges;
  const int64_t nb = ax->nbins, ne = nb + 1;
  const double lo = ax->lo, hi = ax->hi;
  for (int64_t i = 0; i < n; i++) {
    const double v = x[i];
    int64_t b = qn_bin_upper(e, ne, v) - 1;
    b = b < nb - 1 ? b : nb - 1;
    const int in = (v >= lo) & (v <= hi);
    const double c = in ? (double)b * stride : oor;
    idx[i] = add ? idx[i] + c : c;
  }
}

static void qn_bin_index_exact(const struct qn_bin_axis *ax, const double *x, int64_t n,
                               double stride, double oor, int add, double *idx) {
  for (int64_t i = 0; i < n; i++) {
    const int64_t b = qn_bin_axis_find(ax, x[i]);
    const double c = b >= 0 ? (double)b * stride : oor;
    idx[i] = add ? idx[i] + c : c;
  }
}

/* Out-of-range rows add `trash` per axis, so after the last axis any
 * index >= trash is clamped to the trash cell. */
static void qn_bin_clamp(double *restrict idx, int64_t n, double trash) {
  for (int64_t i = 0; i < n; i++) idx[i] = idx[i] < trash ? idx[i] : trash;
}

static void qn_bin_mask_nulls(const struct qn_colbuf *c, int64_t row0, int64_t n, double trash,
                              double *idx) {
  if (!c || !c->valid) return;
  const uint8_t *valid = c->valid + row0;
  for (int64_t i = 0; i < n; i++) idx[i] = valid[i] ? idx[i] : trash;
}

/* ----- index pass, 32-bit -------------------------------------------- */

/* The same cells as above, as uint32 (plan->index32): out-of-range rows
 * get `trash`; after the first axis each contribution is added and the
 * sum clamped to trash, so it stays below 2^32. The axis loops are
 * instantiated for the first axis (store) and the others (add). */

#define QN_BIN_IX_STORE(IX, I, U, TRASH, ADD) \
  do {                                        \
    if (ADD) {                                \
      const uint32_t s_ = (IX)[I] + (U);      \
      (IX)[I] = s_ < (TRASH) ? s_ : (TRASH);  \
    } else {                                  \
      (IX)[I] = (U);                          \
    }                                         \
  } while (0)

/* Regular axis, fast path: floor((x - lo) * scale) when its fraction is
 * clear of both bin edges by frac_tol (see qn_bin.h); returns nonzero when
 * some in-range row was not, and the caller redoes the block by
 * qn_bin_ix_regular_fix. No table, no gather: the loop vectorises. */
QN_BIN_HOT
static int qn_bin_ix_regular(const struct qn_bin_axis *ax, const double *restrict x, int64_t n,
                             double stride, uint32_t trash, int add, uint32_t *restrict ix) {
  const double lo = ax->lo, hi = ax->hi, scale = ax->scale;
  const double tol = ax->frac_tol, tol1 = 1.0 - ax->frac_tol, dtrash = (double)trash;
  int64_t bad = 0;
#define QN_BIN_IXR_BODY(ADD)                                            \
  for (int64_t i = 0; i < n; i++) {                                     \
    const double v = x[i];                                              \
    const double t = (v - lo) * scale;                                  \
    const double b = floor(t);                                          \
    const double f = t - b; /* exact; NaN for NaN or inf */             \
    const int64_t in = (v >= lo) & (v <= hi);                           \
    const int64_t ok = (f > tol) & (f < tol1);                          \
    bad |= in & ~ok;                                                    \
    /* in-range rows have 0 <= b <= nbins: the conversion is defined */ \
    const double c = in ? b * stride : dtrash;                          \
    const uint32_t u = (uint32_t)(int32_t)c;                            \
    QN_BIN_IX_STORE(ix, i, u, trash, ADD);                              \
  }
  if (add) {
    QN_BIN_IXR_BODY(1)
  } else {
    QN_BIN_IXR_BODY(0)
  }
#undef QN_BIN_IXR_BODY
  return bad != 0;
}

/* Two or three regular axes in one pass (the fast path of
 * qn_bin_ix_regular for all of them): each column is read once and the
 * block's indices written once, instead of a read-modify-write per axis.
 * The sum of b_k * stride_k is exact in float64 (integers below 2^31). */
#define QN_BIN_DEF_IX_FUSED(NAX)                                                           \
  QN_BIN_HOT                                                                               \
  static int qn_bin_ix_fused##NAX(const struct qn_bin_plan *plan,                          \
                                  const double *const *restrict xs, int64_t n,             \
                                  uint32_t *restrict ix) {                                 \
    double lo[NAX], hi[NAX], sc[NAX], tol[NAX], tol1[NAX], st[NAX];                        \
    const double *restrict x[NAX];                                                         \
    for (int k = 0; k < NAX; k++) {                                                        \
      const struct qn_bin_axis *ax = &plan->axes[k];                                       \
      lo[k] = ax->lo, hi[k] = ax->hi, sc[k] = ax->scale, st[k] = (double)plan->strides[k]; \
      tol[k] = ax->frac_tol, tol1[k] = 1.0 - ax->frac_tol, x[k] = xs[k];                   \
    }                                                                                      \
    const uint32_t trash = (uint32_t)plan->ncells;                                         \
    int64_t bad = 0;                                                                       \
    for (int64_t i = 0; i < n; i++) {                                                      \
      double c = 0.0;                                                                      \
      int64_t in = 1;                                                                      \
      for (int k = 0; k < NAX; k++) {                                                      \
        const double v = x[k][i];                                                          \
        const double t = (v - lo[k]) * sc[k];                                              \
        const double b = floor(t);                                                         \
        const double f = t - b;                                                            \
        const int64_t ink = (v >= lo[k]) & (v <= hi[k]);                                   \
        bad |= ink & ((f <= tol[k]) | (f >= tol1[k])); /* too near an edge */              \
        in &= ink;                                                                         \
        c += ink ? b * st[k] : 0.0;                                                        \
      }                                                                                    \
      ix[i] = in ? (uint32_t)(int32_t)c : trash;                                           \
    }                                                                                      \
    return bad != 0;                                                                       \
  }
QN_BIN_DEF_IX_FUSED(2)
QN_BIN_DEF_IX_FUSED(3)
#undef QN_BIN_DEF_IX_FUSED

/* Regular axis (guess_exact), every row corrected by one step each way
 * against the linspace edges (as qn_bin_index_regular_fast). */
QN_BIN_HOT
static void qn_bin_ix_regular_fix(const struct qn_bin_axis *ax, const double *restrict x,
                                  int64_t n, double stride, uint32_t trash, int add,
                                  uint32_t *restrict ix) {
  const double lo = ax->lo, hi = ax->hi, scale = ax->scale, step = ax->step;
  const double last = (double)(ax->nbins - 1), dtrash = (double)trash;
#define QN_BIN_IXF_BODY(ADD)                                                            \
  for (int64_t i = 0; i < n; i++) {                                                     \
    int64_t in;                                                                         \
    const double c = qn_bin_regular_cell(x[i], lo, hi, scale, step, last, stride, &in); \
    const uint32_t u = (uint32_t)(int32_t)(in ? c : dtrash);                            \
    QN_BIN_IX_STORE(ix, i, u, trash, ADD);                                              \
  }
  if (add) {
    QN_BIN_IXF_BODY(1)
  } else {
    QN_BIN_IXF_BODY(0)
  }
#undef QN_BIN_IXF_BODY
}

/* Irregular axis through the table: lut[j] plus the number of the next
 * SPAN edges that are <= x (see qn_bin_lut_build), clamped to the closed
 * last bin. One body per span so the inner count unrolls. */
#define QN_BIN_IX_LUT_BODY(SPAN, ADD)                                           \
  for (int64_t i = 0; i < n; i++) {                                             \
    const double v = x[i];                                                      \
    double t = (v - lo) * ls;                                                   \
    t = t >= 0.0 ? t : 0.0; /* NaN -> 0; masked by `in` */                      \
    t = t <= lastcell ? t : lastcell;                                           \
    const int32_t b0 = (int32_t)lut[(int32_t)t];                                \
    int32_t b = b0;                                                             \
    for (int s = 1; s <= SPAN; s++) b += (int32_t)(e[b0 + s] <= v ? 1 : 0);     \
    b = b < last ? b : last;                                                    \
    const int32_t in = (int32_t)(v >= lo ? 1 : 0) & (int32_t)(v <= hi ? 1 : 0); \
    const uint32_t u = in ? (uint32_t)b * stride : trash;                       \
    QN_BIN_IX_STORE(ix, i, u, trash, ADD);                                      \
  }
#define QN_BIN_DEF_IX_LUT(SPAN)                                                           \
  QN_BIN_HOT_GATHER                                                                       \
  static void qn_bin_ix_lut##SPAN(const struct qn_bin_axis *ax, const double *restrict x, \
                                  int64_t n, uint32_t stride, uint32_t trash, int add,    \
                                  uint32_t *restrict ix) {                                \
    const double *restrict e = ax->edges;                                                 \
    const uint32_t *restrict lut = ax->lut;                                               \
    const int32_t last = (int32_t)(ax->nbins - 1);                                        \
    const double lo = ax->lo, hi = ax->hi, ls = ax->lut_scale;                            \
    const double lastcell = (double)(ax->lut_cells - 1);                                  \
    if (add) {                                                                            \
      QN_BIN_IX_LUT_BODY(SPAN, 1)                                                         \
    } else {                                                                              \
      QN_BIN_IX_LUT_BODY(SPAN, 0)                                                         \
    }                                                                                     \
  }
QN_BIN_DEF_IX_LUT(0)
QN_BIN_DEF_IX_LUT(1)
QN_BIN_DEF_IX_LUT(2)
QN_BIN_DEF_IX_LUT(3)
QN_BIN_DEF_IX_LUT(4)
#undef QN_BIN_DEF_IX_LUT
#undef QN_BIN_IX_LUT_BODY

static void qn_bin_ix_search(const struct qn_bin_axis *ax, const double *restrict x, int64_t n,
                             uint32_t stride, uint32_t trash, int add, uint32_t *restrict ix) {
  const double *restrict e = ax->edges;
  const int64_t nb = ax->nbins, ne = nb + 1;
  const double lo = ax->lo, hi = ax->hi;
  for (int64_t i = 0; i < n; i++) {
    const double v = x[i];
    int64_t b = qn_bin_upper(e, ne, v) - 1;
    b = b < nb - 1 ? b : nb - 1;
    const int in = (v >= lo) & (v <= hi);
    const uint32_t u = in ? (uint32_t)b * stride : trash;
    QN_BIN_IX_STORE(ix, i, u, trash, add);
  }
}

/* Indices of the block's rows [r, r + m) into ix. `fix`: regular axes are
 * corrected row by row instead of trusting the fast path. Returns nonzero
 * when the fast path declined some row. */
static int qn_bin_ix_block(const struct qn_bin_plan *plan, const struct qn_colbuf *const *axes,
                           int64_t r, int64_t m, double *xb, int fix, uint32_t *ix) {
  const uint32_t trash = (uint32_t)plan->ncells;
  int bad = 0;
  if (!fix && plan->fused) {
    const double *xs[QN_BIN_MAX_AXES];
    for (int k = 0; k < plan->naxes; k++)
      xs[k] = qn_bin_load(axes[k], r, m, xb + (size_t)k * QN_BIN_BLOCK);
    return plan->naxes == 2 ? qn_bin_ix_fused2(plan, xs, m, ix)
                            : qn_bin_ix_fused3(plan, xs, m, ix);
  }
  for (int k = 0; k < plan->naxes; k++) {
    const struct qn_bin_axis *ax = &plan->axes[k];
    const double *x = qn_bin_load(axes[k], r, m, xb);
    const uint32_t stride = (uint32_t)plan->strides[k];
    if (ax->regular && (fix || ax->frac_tol >= 0.5)) {
      qn_bin_ix_regular_fix(ax, x, m, (double)stride, trash, k > 0, ix);
    } else if (ax->regular) {
      bad |= qn_bin_ix_regular(ax, x, m, (double)stride, trash, k > 0, ix);
    } else if (ax->lut_cells > 0) {
      switch (ax->lut_span) {
        case 0:
          qn_bin_ix_lut0(ax, x, m, stride, trash, k > 0, ix);
          break;
        case 1:
          qn_bin_ix_lut1(ax, x, m, stride, trash, k > 0, ix);
          break;
        case 2:
          qn_bin_ix_lut2(ax, x, m, stride, trash, k > 0, ix);
          break;
        case 3:
          qn_bin_ix_lut3(ax, x, m, stride, trash, k > 0, ix);
          break;
        default:
          qn_bin_ix_lut4(ax, x, m, stride, trash, k > 0, ix);
          break;
      }
    } else {
      qn_bin_ix_search(ax, x, m, stride, trash, k > 0, ix);
    }
  }
  return bad;
}

static void qn_bin_mask_nulls32(const struct qn_colbuf *c, int64_t row0, int64_t n,
                                uint32_t trash, uint32_t *ix) {
  if (!c || !c->valid) return;
  const uint8_t *valid = c->valid + row0;
  for (int64_t i = 0; i < n; i++) ix[i] = valid[i] ? ix[i] : trash;
}

/* ----- accumulation pass ------------------------------------------------ */

QN_BIN_HOT
static void qn_bin_acc_count(int64_t *restrict count, const double *restrict idx, int64_t n) {
  for (int64_t i = 0; i < n; i++) count[(int64_t)idx[i]]++;
}

/* Rows ahead whose cell is prefetched: a lane's grid is cold when its
 * morsel starts (L lanes take turns), and a large grid lives in L2/L3. */
#define QN_BIN_PREFETCH 64
#if defined(__GNUC__)
#define QN_BIN_PREFETCH_W(p) __builtin_prefetch((p), 1, 3)
#else
#define QN_BIN_PREFETCH_W(p) ((void)0)
#endif

/* 32-bit counters, row i in copy i mod ways (ways is 1 or QN_BIN_WAYS). */
QN_BIN_HOT
static void qn_bin_acc_count32(uint32_t *restrict c32, int ways, int64_t cells,
                               const uint32_t *restrict ix, int64_t n) {
  int64_t i = 0;
  if (ways == QN_BIN_WAYS) {
    uint32_t *restrict c0 = c32, *restrict c1 = c32 + cells;
    uint32_t *restrict c2 = c32 + 2 * cells, *restrict c3 = c32 + 3 * cells;
    for (; i + 4 <= n; i += 4) {
      c0[ix[i]]++;
      c1[ix[i + 1]]++;
      c2[ix[i + 2]]++;
      c3[ix[i + 3]]++;
    }
  }
  for (; i + QN_BIN_PREFETCH < n; i++) {
    QN_BIN_PREFETCH_W(&c32[ix[i + QN_BIN_PREFETCH]]);
    c32[ix[i]]++;
  }
  for (; i < n; i++) c32[ix[i]]++;
}

#ifdef QN_BIN_SIMD1
/* One regular axis, count only (plan->simd1): qn_bin_ix_regular with
 * stride 1 and qn_bin_acc_count32 with four ways in one loop of 16 rows,
 * so that the vector ports compute one step's indices while the load and
 * store ports count those of two steps before (read back from ix once
 * their stores have left, with no forwarding stall). On 1e8 rows, -t 2,
 * user CPU 81 -> 52 ms against the two loops one after the other.
 *
 * Same bins, same flags: floor(t) of t = (x - lo) * scale comes from one
 * rounding, y = fl(t - 0.5) + 1.5 * 2^52, whose low 32 bits are the bin.
 * For a row whose fraction t - floor(t) lies in (frac_tol, 1 - frac_tol),
 * t - 0.5 is exact (t >= 0.25) or stays inside (-0.5, -0.25) (frac_tol >
 * 2^-54), so y rounds to floor(t) with no tie and f = t - (y - 1.5 * 2^52)
 * is that fraction exactly; for any other in-range row f is outside the
 * interval too. Rows are flagged exactly as qn_bin_ix_regular flags them.
 * In-range t is below 2^31 (index32), so every step is exact.
 *
 * Returns 0 when every row was counted; else its counts are undone and
 * the caller redoes the block by the corrected path. */
#define QN_BIN_COUNT4(OP, P)  \
  do {                        \
    const uint32_t *p_ = (P); \
    c0[p_[0]] OP;             \
    c1[p_[1]] OP;             \
    c2[p_[2]] OP;             \
    c3[p_[3]] OP;             \
  } while (0)
__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl"))) static int qn_bin_count1_simd(
    const struct qn_bin_axis *ax, const double *restrict x, int64_t n, uint32_t trash,
    uint32_t *restrict c32, int64_t cells, uint32_t *restrict ix) {
  uint32_t *restrict c0 = c32, *restrict c1 = c32 + cells;
  uint32_t *restrict c2 = c32 + 2 * cells, *restrict c3 = c32 + 3 * cells;
  const __m512d lo = _mm512_set1_pd(ax->lo), hi = _mm512_set1_pd(ax->hi);
  const __m512d sc = _mm512_set1_pd(ax->scale), half = _mm512_set1_pd(0.5);
  const __m512d magic = _mm512_set1_pd(0x1.8p52);
  const __m512d tol = _mm512_set1_pd(ax->frac_tol), tol1 = _mm512_set1_pd(1.0 - ax->frac_tol);
  const __m512i vtrash = _mm512_set1_epi32((int)trash);
  const __m512i low32 =
      _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  __mmask16 bad = 0;
  const int64_t n16 = n & ~(int64_t)15;
  for (int64_t i = 0; i < n16; i += 16) {
    const __m512d v0 = _mm512_loadu_pd(x + i), v1 = _mm512_loadu_pd(x + i + 8);
    const __m512d t0 = _mm512_mul_pd(_mm512_sub_pd(v0, lo), sc);
    const __m512d t1 = _mm512_mul_pd(_mm512_sub_pd(v1, lo), sc);
    const __m512d y0 = _mm512_add_pd(_mm512_sub_pd(t0, half), magic);
    const __m512d y1 = _mm512_add_pd(_mm512_sub_pd(t1, half), magic);
    const __m512d f0 = _mm512_sub_pd(t0, _mm512_sub_pd(y0, magic));
    const __m512d f1 = _mm512_sub_pd(t1, _mm512_sub_pd(y1, magic));
    const __mmask8 in0 =
        _mm512_mask_cmp_pd_mask(_mm512_cmp_pd_mask(v0, lo, _CMP_GE_OQ), v0, hi, _CMP_LE_OQ);
    const __mmask8 in1 =
        _mm512_mask_cmp_pd_mask(_mm512_cmp_pd_mask(v1, lo, _CMP_GE_OQ), v1, hi, _CMP_LE_OQ);
    const __mmask8 ok0 =
        _mm512_mask_cmp_pd_mask(_mm512_cmp_pd_mask(f0, tol, _CMP_GT_OQ), f0, tol1, _CMP_LT_OQ);
    const __mmask8 ok1 =
        _mm512_mask_cmp_pd_mask(_mm512_cmp_pd_mask(f1, tol, _CMP_GT_OQ), f1, tol1, _CMP_LT_OQ);
    const __mmask16 in = _mm512_kunpackb(in1, in0), ok = _mm512_kunpackb(ok1, ok0);
    bad = _kor_mask16(bad, _kandn_mask16(ok, in));
    const __m512i b =
        _mm512_permutex2var_epi32(_mm512_castpd_si512(y0), low32, _mm512_castpd_si512(y1));
    _mm512_storeu_si512(ix + i, _mm512_mask_blend_epi32(in, vtrash, b));
    if (i >= 32)
      for (int j = 0; j < 16; j += 4) QN_BIN_COUNT4(++, ix + i - 32 + j);
  }
  for (int64_t i = n16 >= 32 ? n16 - 32 : 0; i < n16; i += 4) QN_BIN_COUNT4(++, ix + i);
  const int tail_bad = qn_bin_ix_regular(ax, x + n16, n - n16, 1.0, trash, 0, ix + n16);
  for (int64_t i = n16; i < n; i++) c0[ix[i]]++;
  if (!bad && !tail_bad) return 0;
  for (int64_t i = 0; i < n16; i += 4) QN_BIN_COUNT4(--, ix + i);
  for (int64_t i = n16; i < n; i++) c0[ix[i]]--;
  return 1;
}
#undef QN_BIN_COUNT4
#endif

/* Weight sums in row order per cell (the bits depend on it), for either
 * index type. */
#define QN_BIN_DEF_ACC_WEIGHT(NAME, IT)                                                       \
  QN_BIN_HOT                                                                                  \
  static void NAME(double *restrict wcount, const IT *restrict idx, const double *restrict w, \
                   int64_t n) {                                                               \
    for (int64_t i = 0; i < n; i++) wcount[(int64_t)idx[i]] += w[i];                          \
  }
QN_BIN_DEF_ACC_WEIGHT(qn_bin_acc_weight, double)
QN_BIN_DEF_ACC_WEIGHT(qn_bin_acc_weight32, uint32_t)
#undef QN_BIN_DEF_ACC_WEIGHT

/* Value accumulators, no branch: the shift is the cell's first value in
 * this lane (selected, not branched on); min/max are NaN-sticky (once NaN,
 * no comparison replaces it; a NaN value replaces any). With MINMAX 0 they
 * are left alone (the plan's need_minmax). The cell `PF` rows ahead is
 * prefetched: a lane's grid is cold when its morsel starts. */
#define QN_BIN_DEF_ACC_VALUE(NAME, IT, MINMAX)                                 \
  QN_BIN_HOT                                                                   \
  static void NAME(uint32_t *restrict cnt, struct qn_bin_vcell *restrict vc,   \
                   struct qn_bin_mcell *restrict mm, const IT *restrict idx,   \
                   const double *restrict val, int64_t n) {                    \
    for (int64_t i = 0; i < n; i++) {                                          \
      if (i + QN_BIN_PREFETCH < n) {                                           \
        QN_BIN_PREFETCH_W(&vc[(int64_t)idx[i + QN_BIN_PREFETCH]]);             \
        if (MINMAX) QN_BIN_PREFETCH_W(&mm[(int64_t)idx[i + QN_BIN_PREFETCH]]); \
      }                                                                        \
      const int64_t c = (int64_t)idx[i];                                       \
      struct qn_bin_vcell *cell = &vc[c];                                      \
      const double v = val[i];                                                 \
      const uint32_t k = cnt[c];                                               \
      const double shift = k == 0 ? v : cell->shift;                           \
      const double d = v - shift;                                              \
      cnt[c] = k + 1;                                                          \
      cell->shift = shift;                                                     \
      cell->sum += v;                                                          \
      cell->s1 += d;                                                           \
      cell->s2 += d * d;                                                       \
      if (MINMAX) {                                                            \
        const double mn = mm[c].min, mx = mm[c].max;                           \
        const double a = v < mn ? v : mn, z = v > mx ? v : mx;                 \
        mm[c].min = v != v ? v : a;                                            \
        mm[c].max = v != v ? v : z;                                            \
      }                                                                        \
    }                                                                          \
  }
QN_BIN_DEF_ACC_VALUE(qn_bin_acc_value, double, 1)
QN_BIN_DEF_ACC_VALUE(qn_bin_acc_value_nominmax, double, 0)
QN_BIN_DEF_ACC_VALUE(qn_bin_acc_value32, uint32_t, 1)
QN_BIN_DEF_ACC_VALUE(qn_bin_acc_value32_nominmax, uint32_t, 0)
#undef QN_BIN_DEF_ACC_VALUE

/* The float64 index path (plan->index32 == 0): grids of 2^31 cells or
 * more, and regular axes whose guess cannot be proved within one bin. */
static void qn_bin_accumulate64(const struct qn_bin_plan *plan, struct qn_bin_grid *grid,
                                void *ws, const struct qn_colbuf *const *axes,
                                const struct qn_colbuf *value, const struct qn_colbuf *weight,
                                int64_t row0, int64_t n) {
  double *idx = ws;
  double *xb = idx + QN_BIN_BLOCK;
  double *vb = xb + QN_BIN_BLOCK;
  double *wb = vb + QN_BIN_BLOCK;
  const double trash = (double)plan->ncells;
  const int naxes = plan->naxes;
  for (int64_t r = row0; r < row0 + n; r += QN_BIN_BLOCK) {
    const int64_t m = QN_MIN((int64_t)QN_BIN_BLOCK, row0 + n - r);
    for (int k = 0; k < naxes; k++) {
      const struct qn_bin_axis *ax = &plan->axes[k];
      const double *x = qn_bin_load(axes[k], r, m, xb);
      const double stride = (double)plan->strides[k];
      if (ax->regular && ax->guess_exact) {
        qn_bin_index_regular_fast(ax, x, m, stride, trash, k > 0, idx);
      } else if (ax->regular && ax->step != 0.0) {
        /* On failure the axis' contribution is unknown: rebuild the
         * block's indices from axis 0 by the exact path. */
        if (qn_bin_index_regular(ax, x, m, stride, trash, k > 0, idx)) {
          for (int j = 0; j <= k; j++)
            qn_bin_index_exact(&plan->axes[j], qn_bin_load(axes[j], r, m, xb), m,
                               (double)plan->strides[j], trash, j > 0, idx);
        }
      } else if (ax->regular) {
        qn_bin_index_exact(ax, x, m, stride, trash, k > 0, idx);
      } else if (ax->lut_cells > 0) {
        qn_bin_index_lut(ax, x, m, stride, trash, k > 0, idx);
      } else {
        qn_bin_index_irregular(ax, x, m, stride, trash, k > 0, idx);
      }
    }
    if (naxes > 1) qn_bin_clamp(idx, m, trash);
    for (int k = 0; k < naxes; k++) qn_bin_mask_nulls(axes[k], r, m, trash, idx);
    if (plan->has_value) qn_bin_mask_nulls(value, r, m, trash, idx);
    if (plan->has_weight) qn_bin_mask_nulls(weight, r, m, trash, idx);
    if (plan->has_weight)
      qn_bin_acc_weight(grid->wcount, idx, qn_bin_load(weight, r, m, wb), m);
    if (plan->has_value) {
      const double *v = qn_bin_load(value, r, m, vb);
      qn_bin_count_room(plan, grid, m);
      if (plan->need_minmax)
        qn_bin_acc_value(grid->c32, grid->v, grid->mm, idx, v, m);
      else
        qn_bin_acc_value_nominmax(grid->c32, grid->v, grid->mm, idx, v, m);
    } else {
      qn_bin_acc_count(grid->count, idx, m);
    }
  }
}

void qn_bin_accumulate(const struct qn_bin_plan *plan, struct qn_bin_grid *grid, void *ws,
                       const struct qn_colbuf *const *axes, const struct qn_colbuf *value,
                       const struct qn_colbuf *weight, int64_t row0, int64_t n) {
  assert(!grid->finished);
  if (!plan->index32) {
    qn_bin_accumulate64(plan, grid, ws, axes, value, weight, row0, n);
    return;
  }
  uint32_t *ix = ws;
  double *xb = (double *)ws + QN_BIN_BLOCK; /* 3 blocks */
  double *vb = xb + 3 * QN_BIN_BLOCK;
  double *wb = vb + QN_BIN_BLOCK;
  const uint32_t trash = (uint32_t)plan->ncells;
  /* One column streams well in short blocks, whose indices stay in L1. */
  const int64_t block =
      plan->naxes + plan->has_value + plan->has_weight == 1 ? QN_BIN_BLOCK_1COL : QN_BIN_BLOCK;
  for (int64_t r = row0; r < row0 + n; r += block) {
    const int64_t m = QN_MIN(block, row0 + n - r);
    int fix = 0; /* the fast path is known to decline this block */
#ifdef QN_BIN_SIMD1
    if (plan->simd1 && !axes[0]->valid) {
      qn_bin_count_room(plan, grid, m);
      if (!qn_bin_count1_simd(&plan->axes[0], qn_bin_load(axes[0], r, m, xb), m, trash,
                              grid->c32, plan->ncells + 1, ix))
        continue;
      grid->pending -= m; /* undone: reserved again below */
      fix = 1;
    }
#endif
    if (fix || qn_bin_ix_block(plan, axes, r, m, xb, 0, ix))
      qn_bin_ix_block(plan, axes, r, m, xb, 1, ix);
    for (int k = 0; k < plan->naxes; k++) qn_bin_mask_nulls32(axes[k], r, m, trash, ix);
    if (plan->has_value) qn_bin_mask_nulls32(value, r, m, trash, ix);
    if (plan->has_weight) qn_bin_mask_nulls32(weight, r, m, trash, ix);
    if (plan->has_weight)
      qn_bin_acc_weight32(grid->wcount, ix, qn_bin_load(weight, r, m, wb), m);
    qn_bin_count_room(plan, grid, m);
    if (plan->has_value) {
      const double *v = qn_bin_load(value, r, m, vb);
      if (plan->need_minmax)
        qn_bin_acc_value32(grid->c32, grid->v, grid->mm, ix, v, m);
      else
        qn_bin_acc_value32_nominmax(grid->c32, grid->v, grid->mm, ix, v, m);
    } else {
      qn_bin_acc_count32(grid->c32, grid->ways, plan->ncells + 1, ix, m);
    }
  }
}

/* ----- sliced accumulation ("owner computes") ------------------------- */

int qn_bin_slice_shift(const struct qn_bin_plan *plan, int max_slices) {
  const int64_t cells = plan->ncells + 1;
  int shift = 0;
  while (((cells - 1) >> shift) + 1 > max_slices) shift++;
  return shift;
}

int qn_bin_slices(const struct qn_bin_plan *plan, int shift) {
  return (int)((plan->ncells >> shift) + 1);
}

/* tmp (unsorted indices), ix, v, w: `rows` each; off and cur: slices + 1. */
int64_t qn_bin_rows_bytes(const struct qn_bin_plan *plan, int nslices, int64_t rows) {
  int64_t b = 2 * qn_bin_round64(rows * (int64_t)sizeof(uint32_t));
  if (plan->has_value) b += qn_bin_round64(rows * (int64_t)sizeof(double));
  if (plan->has_weight) b += qn_bin_round64(rows * (int64_t)sizeof(double));
  return b + 2 * qn_bin_round64(((int64_t)nslices + 1) * (int64_t)sizeof(int64_t));
}

void qn_bin_rows_init(const struct qn_bin_plan *plan, struct qn_bin_rows *rows, void *mem,
                      int nslices, int64_t cap) {
  char *p = mem;
  memset(rows, 0, sizeof *rows);
  rows->nslices = nslices;
  rows->cap = cap;
  rows->tmp = (uint32_t *)p;
  p += qn_bin_round64(cap * (int64_t)sizeof(uint32_t));
  rows->ix = (uint32_t *)p;
  p += qn_bin_round64(cap * (int64_t)sizeof(uint32_t));
  if (plan->has_value) {
    rows->v = (double *)p;
    p += qn_bin_round64(cap * (int64_t)sizeof(double));
  }
  if (plan->has_weight) {
    rows->w = (double *)p;
    p += qn_bin_round64(cap * (int64_t)sizeof(double));
  }
  rows->off = (int64_t *)p;
  p += qn_bin_round64(((int64_t)nslices + 1) * (int64_t)sizeof(int64_t));
  rows->cur = (int64_t *)p;
}

/* Stable scatter of a block's rows to their slices' runs. */
static void qn_bin_rows_scatter(struct qn_bin_rows *rows, int shift, const uint32_t *bix,
                                const double *v, const double *w, int64_t m) {
  int64_t *restrict cur = rows->cur;
  uint32_t *restrict ix = rows->ix;
  for (int64_t i = 0; i < m; i++) {
    const int64_t p = cur[bix[i] >> shift]++;
    ix[p] = bix[i];
    if (v) rows->v[p] = v[i];
    if (w) rows->w[p] = w[i];
  }
}

void qn_bin_rows_fill(const struct qn_bin_plan *plan, void *ws, struct qn_bin_rows *rows,
                      int shift, const struct qn_colbuf *const *axes,
                      const struct qn_colbuf *value, const struct qn_colbuf *weight,
                      int64_t row0, int64_t n) {
  assert(plan->index32 && n <= rows->cap && qn_bin_slices(plan, shift) == rows->nslices);
  double *xb = (double *)ws + QN_BIN_BLOCK; /* 3 blocks, as qn_bin_accumulate */
  double *vb = xb + 3 * QN_BIN_BLOCK;
  double *wb = vb + QN_BIN_BLOCK;
  const uint32_t trash = (uint32_t)plan->ncells;
  int64_t *off = rows->off;
  memset(off, 0, ((size_t)rows->nslices + 1) * sizeof *off);
  for (int64_t r = row0; r < row0 + n; r += QN_BIN_BLOCK) {
    const int64_t m = QN_MIN((int64_t)QN_BIN_BLOCK, row0 + n - r);
    uint32_t *bix = rows->tmp + (r - row0);
    if (qn_bin_ix_block(plan, axes, r, m, xb, 0, bix))
      qn_bin_ix_block(plan, axes, r, m, xb, 1, bix);
    for (int k = 0; k < plan->naxes; k++) qn_bin_mask_nulls32(axes[k], r, m, trash, bix);
    if (plan->has_value) qn_bin_mask_nulls32(value, r, m, trash, bix);
    if (plan->has_weight) qn_bin_mask_nulls32(weight, r, m, trash, bix);
    for (int64_t i = 0; i < m; i++) off[(bix[i] >> shift) + 1]++;
  }
  for (int s = 0; s < rows->nslices; s++) {
    off[s + 1] += off[s];
    rows->cur[s] = off[s];
  }
  for (int64_t r = row0; r < row0 + n; r += QN_BIN_BLOCK) {
    const int64_t m = QN_MIN((int64_t)QN_BIN_BLOCK, row0 + n - r);
    const double *v = plan->has_value ? qn_bin_load(value, r, m, vb) : NULL;
    const double *w = plan->has_weight ? qn_bin_load(weight, r, m, wb) : NULL;
    qn_bin_rows_scatter(rows, shift, rows->tmp + (r - row0), v, w, m);
  }
}

void qn_bin_rows_apply(const struct qn_bin_plan *plan, struct qn_bin_grid *grid,
                       const struct qn_bin_rows *rows, int shift, int slice, int64_t *pending) {
  assert(grid->ways == 1 && !grid->finished);
  const int64_t a = rows->off[slice], n = rows->off[slice + 1] - a;
  if (n == 0) return;
  const uint32_t *ix = rows->ix + a;
  if (plan->has_weight) qn_bin_acc_weight32(grid->wcount, ix, rows->w + a, n);
  /* The slice's counters, flushed before they could overflow (as
   * qn_bin_count_room does for a whole grid). */
  if (*pending > (int64_t)UINT32_MAX - n) {
    const int64_t c0 = (int64_t)slice << shift;
    const int64_t c1 = QN_MIN(c0 + ((int64_t)1 << shift), plan->ncells + 1);
    for (int64_t c = c0; c < c1; c++) {
      const uint32_t left = grid->c32[c] > 0;
      grid->count[c] += grid->c32[c] - left;
      grid->c32[c] = left;
    }
    *pending = 1;
  }
  *pending += n;
  if (plan->has_value && plan->need_minmax)
    qn_bin_acc_value32(grid->c32, grid->v, grid->mm, ix, rows->v + a, n);
  else if (plan->has_value)
    qn_bin_acc_value32_nominmax(grid->c32, grid->v, grid->mm, ix, rows->v + a, n);
  else
    qn_bin_acc_count32(grid->c32, 1, plan->ncells + 1, ix, n);
}

/* ----- lanes: finish, fold, statistics -------------------------------- */

void qn_bin_grid_finish(const struct qn_bin_plan *plan, struct qn_bin_grid *grid) {
  if (grid->finished) return;
  qn_bin_grid_finish_cells(plan, grid, 0, plan->ncells + 1);
  grid->finished = 1;
}

void qn_bin_grid_finish_cells(const struct qn_bin_plan *plan, struct qn_bin_grid *grid,
                              int64_t c0, int64_t c1) {
  assert(!grid->finished);
  const int64_t cells = plan->ncells + 1;
  for (int w = 0; w < grid->ways; w++) {
    const uint32_t *c = grid->c32 + w * cells;
    for (int64_t i = c0; i < c1; i++) grid->count[i] += c[i];
  }
  if (!plan->has_value) return;
  for (int64_t c = c0; c < QN_MIN(c1, plan->ncells); c++) {
    struct qn_bin_vcell *v = &grid->v[c];
    const int64_t k = grid->count[c];
    if (k == 0) continue;
    const double n = (double)k;
    const double m2 = v->s2 - v->s1 * (v->s1 / n);
    /* The lane mean stays split as shift + s1 / n: far from zero (values
     * near 2^53) a single double would round the mean to an integer and
     * Chan's delta^2 term would carry that error into M2. */
    v->s1 = v->s1 / n;
    v->s2 = m2 < 0 ? 0.0 : m2; /* rounding can dip below 0; NaN stays */
  }
}

void qn_bin_grid_fold(const struct qn_bin_plan *plan, struct qn_bin_grid *dst,
                      const struct qn_bin_grid *src) {
  assert(dst->finished && src->finished);
  for (int64_t c = 0; c <= plan->ncells; c++) {
    const int64_t na = dst->count[c], nb = src->count[c];
    if (nb == 0) continue;
    dst->count[c] = na + nb;
    if (plan->has_weight) dst->wcount[c] += src->wcount[c];
    if (!plan->has_value || c == plan->ncells) continue;
    struct qn_bin_vcell *a = &dst->v[c];
    const struct qn_bin_vcell *b = &src->v[c];
    if (na == 0) {
      *a = *b;
      if (dst->mm) dst->mm[c] = src->mm[c];
      continue;
    }
    /* Chan et al.: combine (na, mean_a, M2_a) and (nb, mean_b, M2_b); each
     * mean is shift + s1, and the shifts of two lanes of one cell are close
     * (or the difference is large and its rounding harmless), so
     * b->shift - a->shift is exact or nearly so. */
    const double fa = (double)na, fb = (double)nb, n = fa + fb;
    const double delta = (b->shift - a->shift) + (b->s1 - a->s1);
    a->s1 = a->s1 + delta * (fb / n);
    a->s2 = a->s2 + b->s2 + delta * delta * (fa * fb / n);
    a->sum += b->sum;
    if (!dst->mm) continue;
    struct qn_bin_mcell *am = &dst->mm[c];
    const struct qn_bin_mcell *bm = &src->mm[c];
    am->min = ((bm->min < am->min) | (bm->min != bm->min)) ? bm->min : am->min;
    am->max = ((bm->max > am->max) | (bm->max != bm->max)) ? bm->max : am->max;
  }
}

void qn_bin_grid_stat(const struct qn_bin_plan *plan, const struct qn_bin_grid *grid,
                      enum qn_bin_kstat stat, double *out) {
  qn_bin_grid_stat_cells(plan, grid, stat, out, 0, plan->ncells);
}

void qn_bin_grid_stat_cells(const struct qn_bin_plan *plan, const struct qn_bin_grid *grid,
                            enum qn_bin_kstat stat, double *out, int64_t c0, int64_t c1) {
  assert(grid->finished);
  for (int64_t c = c0; c < QN_MIN(c1, plan->ncells); c++) {
    const int64_t k = grid->count[c];
    const struct qn_bin_vcell *v = plan->has_value ? &grid->v[c] : NULL;
    double r = NAN;
    switch (stat) {
      case QN_BIN_K_COUNT:
        r = plan->has_weight ? grid->wcount[c] : (double)k;
        break;
      case QN_BIN_K_SUM:
        r = v ? v->sum : NAN;
        break;
      case QN_BIN_K_MEAN:
        r = (v && k) ? v->sum / (double)k : NAN;
        break;
      case QN_BIN_K_STD:
        /* scipy: std is NaN as soon as the cell holds a non-finite value;
         * M2 is NaN then, except when a finite sum overflowed. */
        r = (v && k) ? (isfinite(v->sum) ? sqrt(v->s2 / (double)k) : NAN) : NAN;
        break;
      case QN_BIN_K_MIN:
        r = (v && k) ? grid->mm[c].min : NAN;
        break;
      case QN_BIN_K_MAX:
        r = (v && k) ? grid->mm[c].max : NAN;
        break;
    }
    out[c] = r;
  }
}

/* ----- range detection -------------------------------------------------- */

/* The range pass reads every value once and should cost what reading
 * costs. The portable loop keeps 4 x 4 float64 lanes, each with its own
 * min, max and count of finite values, and selects instead of branches: a
 * lane takes x only when x - x == 0, false for NaN and ±inf (numpy's range
 * would raise on them; quern ignores them, see docs/bin.md). The AVX2 and
 * AVX-512 loops (chosen at run time) take min and max of every value
 * (vminpd/vmaxpd ignore a NaN in their first operand) and count the NaN;
 * only when a bound comes out infinite (an inf in the block, rare) is the
 * block redone by the portable loop. All give the same min, max and count,
 * except which of -0.0 and +0.0 a bound keeps (it depends on the order the
 * lanes saw them); the job makes a zero bound +0.0. */
typedef double qn_bin_v4d __attribute__((vector_size(32)));
typedef int64_t qn_bin_v4l __attribute__((vector_size(32)));

/* Lane-wise m ? a : b (a macro: a function returning a 32-byte vector
 * would differ in ABI between the target clones). */
#define QN_BIN_SEL4(m, a, b) ((qn_bin_v4d)(((qn_bin_v4l)(a) & (m)) | ((qn_bin_v4l)(b) & ~(m))))
#define QN_BIN_MM_STEP(X, LO, HI, CNT)                \
  do {                                                \
    const qn_bin_v4l ok_ = ((X) - (X)) == zero4;      \
    LO = QN_BIN_SEL4(ok_ & ((X) < LO), X, LO);        \
    HI = QN_BIN_SEL4(ok_ & ((X) > HI), X, HI);        \
    CNT -= ok_; /* ok_ is -1 in a lane that took x */ \
  } while (0)

/* Folds the finite values of x[0..n) into *mn / *mx; how many. */
QN_BIN_HOT static int64_t qn_bin_minmax_portable(const double *restrict x, int64_t n,
                                                 double *mn, double *mx) {
  const qn_bin_v4d zero4 = {0, 0, 0, 0}, inf4 = {INFINITY, INFINITY, INFINITY, INFINITY};
  qn_bin_v4d lo0 = inf4, lo1 = inf4, lo2 = inf4, lo3 = inf4;
  qn_bin_v4d hi0 = -inf4, hi1 = -inf4, hi2 = -inf4, hi3 = -inf4;
  qn_bin_v4l c0 = {0}, c1 = {0}, c2 = {0}, c3 = {0};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    qn_bin_v4d a, b, c, d;
    memcpy(&a, x + i, sizeof a);
    memcpy(&b, x + i + 4, sizeof b);
    memcpy(&c, x + i + 8, sizeof c);
    memcpy(&d, x + i + 12, sizeof d);
    QN_BIN_MM_STEP(a, lo0, hi0, c0);
    QN_BIN_MM_STEP(b, lo1, hi1, c1);
    QN_BIN_MM_STEP(c, lo2, hi2, c2);
    QN_BIN_MM_STEP(d, lo3, hi3, c3);
  }
  double lo = *mn, hi = *mx;
  int64_t seen = 0;
  for (int l = 0; l < 4; l++) {
    const double l4[4] = {lo0[l], lo1[l], lo2[l], lo3[l]};
    const double h4[4] = {hi0[l], hi1[l], hi2[l], hi3[l]};
    for (int k = 0; k < 4; k++) {
      lo = l4[k] < lo ? l4[k] : lo;
      hi = h4[k] > hi ? h4[k] : hi;
    }
    seen += c0[l] + c1[l] + c2[l] + c3[l];
  }
  for (; i < n; i++) {
    const double v = x[i];
    const int use = v - v == 0;
    seen += use;
    lo = use && v < lo ? v : lo;
    hi = use && v > hi ? v : hi;
  }
  *mn = lo;
  *mx = hi;
  return seen;
}
#undef QN_BIN_MM_STEP
#undef QN_BIN_SEL4

#ifdef QN_BIN_SIMD1
/* The fast loops' end: the tail rows, then either the fold (no infinite
 * bound: every non-NaN value was finite) or the portable loop again. */
static int64_t qn_bin_minmax_finish(const double *restrict x, int64_t n, int64_t i, double lo,
                                    double hi, int64_t nan, double *mn, double *mx) {
  for (; i < n; i++) {
    const double v = x[i];
    nan += v != v;
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
  }
  if (lo == -INFINITY || hi == INFINITY) return qn_bin_minmax_portable(x, n, mn, mx);
  *mn = lo < *mn ? lo : *mn;
  *mx = hi > *mx ? hi : *mx;
  return n - nan;
}

#define QN_BIN_MM512(K, LO, HI, NN)                                                    \
  do {                                                                                 \
    const __m512d v_ = _mm512_loadu_pd(x + i + (K));                                   \
    LO = _mm512_min_pd(v_, LO);                                                        \
    HI = _mm512_max_pd(v_, HI);                                                        \
    NN = _mm512_mask_add_epi64(NN, _mm512_cmp_pd_mask(v_, v_, _CMP_UNORD_Q), NN, one); \
  } while (0)
__attribute__((target("avx512f"))) static int64_t qn_bin_minmax_avx512(const double *restrict x,
                                                                       int64_t n, double *mn,
                                                                       double *mx) {
  const __m512d inf = _mm512_set1_pd(INFINITY), ninf = _mm512_set1_pd(-INFINITY);
  const __m512i one = _mm512_set1_epi64(1);
  __m512d lo0 = inf, lo1 = inf, lo2 = inf, lo3 = inf, hi0 = ninf, hi1 = ninf, hi2 = ninf,
          hi3 = ninf;
  __m512i n0 = _mm512_setzero_si512(), n1 = n0, n2 = n0, n3 = n0;
  const int64_t n32 = n & ~(int64_t)31;
  for (int64_t i = 0; i < n32; i += 32) {
    QN_BIN_MM512(0, lo0, hi0, n0);
    QN_BIN_MM512(8, lo1, hi1, n1);
    QN_BIN_MM512(16, lo2, hi2, n2);
    QN_BIN_MM512(24, lo3, hi3, n3);
  }
  const __m512d lo = _mm512_min_pd(_mm512_min_pd(lo0, lo1), _mm512_min_pd(lo2, lo3));
  const __m512d hi = _mm512_max_pd(_mm512_max_pd(hi0, hi1), _mm512_max_pd(hi2, hi3));
  const __m512i nn = _mm512_add_epi64(_mm512_add_epi64(n0, n1), _mm512_add_epi64(n2, n3));
  return qn_bin_minmax_finish(x, n, n32, _mm512_reduce_min_pd(lo), _mm512_reduce_max_pd(hi),
                              _mm512_reduce_add_epi64(nn), mn, mx);
}
#undef QN_BIN_MM512

#define QN_BIN_MM256(K, LO, HI, NN)                                                      \
  do {                                                                                   \
    const __m256d v_ = _mm256_loadu_pd(x + i + (K));                                     \
    LO = _mm256_min_pd(v_, LO);                                                          \
    HI = _mm256_max_pd(v_, HI);                                                          \
    NN = _mm256_sub_epi64(NN, _mm256_castpd_si256(_mm256_cmp_pd(v_, v_, _CMP_UNORD_Q))); \
  } while (0)
__attribute__((target("avx2"))) static int64_t qn_bin_minmax_avx2(const double *restrict x,
                                                                  int64_t n, double *mn,
                                                                  double *mx) {
  const __m256d inf = _mm256_set1_pd(INFINITY), ninf = _mm256_set1_pd(-INFINITY);
  __m256d lo0 = inf, lo1 = inf, lo2 = inf, lo3 = inf, hi0 = ninf, hi1 = ninf, hi2 = ninf,
          hi3 = ninf;
  __m256i n0 = _mm256_setzero_si256(), n1 = n0, n2 = n0, n3 = n0;
  const int64_t n16 = n & ~(int64_t)15;
  for (int64_t i = 0; i < n16; i += 16) {
    QN_BIN_MM256(0, lo0, hi0, n0);
    QN_BIN_MM256(4, lo1, hi1, n1);
    QN_BIN_MM256(8, lo2, hi2, n2);
    QN_BIN_MM256(12, lo3, hi3, n3);
  }
  double l4[4], h4[4];
  int64_t c4[4];
  _mm256_storeu_pd(l4, _mm256_min_pd(_mm256_min_pd(lo0, lo1), _mm256_min_pd(lo2, lo3)));
  _mm256_storeu_pd(h4, _mm256_max_pd(_mm256_max_pd(hi0, hi1), _mm256_max_pd(hi2, hi3)));
  _mm256_storeu_si256((__m256i *)c4,
                      _mm256_add_epi64(_mm256_add_epi64(n0, n1), _mm256_add_epi64(n2, n3)));
  double lo = INFINITY, hi = -INFINITY;
  for (int k = 0; k < 4; k++) {
    lo = l4[k] < lo ? l4[k] : lo;
    hi = h4[k] > hi ? h4[k] : hi;
  }
  return qn_bin_minmax_finish(x, n, n16, lo, hi, c4[0] + c4[1] + c4[2] + c4[3], mn, mx);
}
#undef QN_BIN_MM256
#endif

int64_t qn_bin_minmax_f64(const double *x, int64_t n, double *mn, double *mx, int simd) {
#ifdef QN_BIN_SIMD1
  if (simd) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return qn_bin_minmax_avx512(x, n, mn, mx);
    if (__builtin_cpu_supports("avx2")) return qn_bin_minmax_avx2(x, n, mn, mx);
  }
#else
  (void)simd;
#endif
  return qn_bin_minmax_portable(x, n, mn, mx);
}

/* Null rows become NaN, which the range pass skips (a select, vectorised). */
static void qn_bin_nan_nulls(double *restrict buf, const double *restrict x,
                             const uint8_t *restrict valid, int64_t n) {
  for (int64_t i = 0; i < n; i++) buf[i] = valid[i] ? x[i] : NAN;
}

int64_t qn_bin_finite_minmax(const struct qn_colbuf *col, int64_t row0, int64_t n, double *mn,
                             double *mx) {
  if (col->type == QN_FLOAT64 && !col->valid)
    return qn_bin_minmax_f64((const double *)col->data + row0, n, mn, mx, 1);
  double buf[1024], nb[1024]; /* on the stack: a small block */
  int64_t seen = 0;
  for (int64_t r = row0; r < row0 + n; r += 1024) {
    const int64_t m = QN_MIN((int64_t)1024, row0 + n - r);
    const double *x = qn_bin_load(col, r, m, buf);
    if (col->valid) {
      qn_bin_nan_nulls(nb, x, col->valid + r, m);
      x = nb;
    }
    seen += qn_bin_minmax_f64(x, m, mn, mx, 1);
  }
  return seen;
}
