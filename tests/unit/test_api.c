/* test_api.c — the library as a program linking libquern sees it: options
 * structs and their _init defaults, NULL options refused with QN_EINVAL
 * (never a crash), every indexed accessor out of range (NULL or the stated
 * value, never a read outside the object), and the stats and bin jobs giving
 * the same bits for any thread count and memory limit (these two cases are
 * also run under ThreadSanitizer, see tests/CMakeLists.txt). Only quern.h
 * calls, except qn_self_rss for a tight limit. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/qn_core.h"
#include "harness.h"

/* ----- files made by a case, removed at its end ----- */

static char made[8][128];
static int nmade;

static const char *tmp_path(const char *tag) {
  snprintf(made[nmade], sizeof made[nmade], "/tmp/qn_test_api_%d_%s", (int)getpid(), tag);
  return made[nmade++];
}
static void remove_made(void) {
  for (int i = 0; i < nmade; i++) unlink(made[i]);
  nmade = 0;
}

/* rows of "x,v": x = (i mod 1000 + 0.5) / 1000 (never on a bin edge of
 * 10 bins over [0, 1)), v = i mod 7, for i = first .. first + n - 1 */
static const char *write_csv(const char *tag, int64_t first, int64_t n) {
  const char *p = tmp_path(tag);
  FILE *f = fopen(p, "w");
  if (!f) return p;
  fputs("x,v\n", f);
  for (int64_t i = first; i < first + n; i++)
    fprintf(f, "%.4f,%d\n", ((double)(i % 1000) + 0.5) / 1000, (int)(i % 7));
  fclose(f);
  return p;
}

static struct qn_context *ctx_new(int threads, int64_t limit) {
  struct qn_context_options o;
  qn_context_options_init(&o);
  o.threads = threads;
  o.memory_limit = limit;
  o.progress = 0;
  struct qn_context *ctx = NULL;
  qn_context_new(&o, &ctx, NULL);
  return ctx;
}

/* ----- options ----- */

QN_TEST(options_init_sets_every_default) {
  /* start from garbage: _init must set every field, not rely on zeroed memory */
  struct qn_context_options co;
  memset(&co, 0xa5, sizeof co);
  qn_context_options_init(&co);
  CHECK_EQ_INT(co.threads, 0);
  CHECK_EQ_INT(co.memory_limit, 0);
  CHECK_EQ_INT(co.progress, 1);
  CHECK_EQ_INT(co.quiet, 0);
  CHECK_EQ_INT(co.limit_own_only, 0);
  struct qn_stats_options so;
  memset(&so, 0xa5, sizeof so);
  qn_stats_options_init(&so);
  CHECK(so.columns == NULL);
  CHECK_EQ_INT(so.ncolumns, 0);
  CHECK_EQ_INT(so.per_file, 0);
  struct qn_bin_options bo;
  memset(&bo, 0xa5, sizeof bo);
  qn_bin_options_init(&bo);
  CHECK(bo.axes == NULL && bo.value == NULL && bo.weight == NULL && bo.stats == NULL);
  CHECK_EQ_INT(bo.naxes, 0);
  CHECK_EQ_INT(bo.nstats, 0);
  struct qn_convert_options vo;
  memset(&vo, 0xa5, sizeof vo);
  qn_convert_options_init(&vo);
  CHECK(vo.output == NULL && vo.columns == NULL && vo.codec == NULL);
  CHECK_EQ_INT(vo.ncolumns, 0);
  struct qn_gen_options go;
  memset(&go, 0xa5, sizeof go);
  qn_gen_options_init(&go);
  CHECK(go.kind == NULL && go.output == NULL && go.codec == NULL);
  CHECK_EQ_INT(go.rows, 0);
  CHECK_EQ_U64(go.seed, 42);
  struct qn_monitor_options mo;
  memset(&mo, 0xa5, sizeof mo);
  qn_monitor_options_init(&mo);
  CHECK(mo.argv == NULL && mo.csv_path == NULL && mo.plot_path == NULL && mo.title == NULL);
  CHECK_EQ_INT(mo.interval_ms, QN_MONITOR_DEFAULT_INTERVAL_MS);
}

QN_TEST(null_options_are_refused_or_defaults) {
  struct qn_context *ctx = ctx_new(2, 0);
  CHECK(ctx != NULL);
  const char *in[] = {write_csv("a.csv", 0, 100)};
  struct qn_source *src = NULL;
  CHECK_OK(qn_source_open(ctx, in, 1, &src, NULL));
  struct qn_error err;
  qn_error_init(&err);
  CHECK_EQ_INT(qn_gen_run(ctx, NULL, &err), QN_EINVAL);
  qn_error_init(&err);
  struct qn_bin_result *br = NULL;
  CHECK_EQ_INT(qn_bin_run(ctx, src, NULL, &br, &err), QN_EINVAL);
  CHECK(br == NULL);
  CHECK(strstr(err.message, "no axis") != NULL);
  qn_error_init(&err);
  CHECK_EQ_INT(qn_convert_run(ctx, src, NULL, &err), QN_EINVAL);
  qn_error_init(&err);
  struct qn_monitor_result mr;
  CHECK_EQ_INT(qn_monitor_run(NULL, &mr, &err), QN_EINVAL);
  /* a bin options struct whose statistics do not fit */
  struct qn_bin_axis_spec ax;
  CHECK_OK(qn_bin_axis_parse("x:10:0:1", &ax, NULL));
  struct qn_bin_options bo;
  qn_bin_options_init(&bo);
  bo.axes = &ax;
  bo.naxes = 1;
  bo.nstats = QN_BIN_NSTATS + 1;
  qn_error_init(&err);
  CHECK_EQ_INT(qn_bin_run(ctx, src, &bo, &br, &err), QN_EINVAL);
  enum qn_bin_stat bad = (enum qn_bin_stat)QN_BIN_NSTATS;
  bo.stats = &bad;
  bo.nstats = 1;
  qn_error_init(&err);
  CHECK_EQ_INT(qn_bin_run(ctx, src, &bo, &br, &err), QN_EINVAL);
  qn_bin_axis_spec_reset(&ax);
  /* stats: NULL means every numeric column */
  struct qn_stats_result *sr = NULL;
  CHECK_OK(qn_stats_run(ctx, src, NULL, &sr, NULL));
  CHECK_EQ_INT(qn_stats_result_ncolumns(sr), 2);
  CHECK_EQ_INT(qn_stats_result_get(sr, -1, 0)->count, 100);
  qn_stats_result_free(sr);
  qn_source_close(src);
  qn_context_free(ctx);
  remove_made();
}

/* ----- accessors out of range ----- */

QN_TEST(source_accessors_out_of_range) {
  struct qn_context *ctx = ctx_new(2, 0);
  const char *in[] = {write_csv("a.csv", 0, 10), write_csv("b.csv", 10, 5)};
  struct qn_source *src = NULL;
  CHECK_OK(qn_source_open(ctx, in, 2, &src, NULL));
  CHECK_EQ_INT(qn_source_ncolumns(src), 2);
  CHECK_EQ_STR(qn_source_column(src, 1)->name, "v");
  CHECK(qn_source_column(src, -1) == NULL);
  CHECK(qn_source_column(src, 2) == NULL);
  CHECK(qn_source_column(src, INT_MAX) == NULL);
  CHECK(qn_source_column(src, INT_MIN) == NULL);
  CHECK_EQ_INT(qn_source_nfiles(src), 2);
  CHECK_EQ_STR(qn_source_file_path(src, 1), in[1]);
  CHECK(qn_source_file_path(src, -1) == NULL);
  CHECK(qn_source_file_path(src, 2) == NULL);
  CHECK_EQ_INT(qn_source_find_column(src, "nope"), -1);
  int64_t rows = -1;
  const int good[] = {0, 1}, bad[] = {0, 2}, neg[] = {-1};
  CHECK_OK(qn_source_rows(src, good, 2, &rows, NULL));
  CHECK_EQ_INT(rows, 15);
  struct qn_error err;
  qn_error_init(&err);
  CHECK_EQ_INT(qn_source_rows(src, bad, 2, &rows, &err), QN_EINVAL);
  qn_error_init(&err);
  CHECK_EQ_INT(qn_source_rows(src, neg, 1, &rows, &err), QN_EINVAL);
  qn_source_close(src);
  qn_context_free(ctx);
  remove_made();
}

QN_TEST(stats_accessors_out_of_range) {
  struct qn_context *ctx = ctx_new(2, 0);
  const char *in[] = {write_csv("a.csv", 0, 10), write_csv("b.csv", 10, 5)};
  struct qn_source *src = NULL;
  CHECK_OK(qn_source_open(ctx, in, 2, &src, NULL));
  struct qn_stats_options so;
  qn_stats_options_init(&so);
  so.per_file = 1;
  struct qn_stats_result *r = NULL;
  CHECK_OK(qn_stats_run(ctx, src, &so, &r, NULL));
  CHECK_EQ_INT(qn_stats_result_ncolumns(r), 2);
  CHECK_EQ_STR(qn_stats_result_column_name(r, 0), "x");
  CHECK(qn_stats_result_column_name(r, -1) == NULL);
  CHECK(qn_stats_result_column_name(r, 2) == NULL);
  CHECK_EQ_INT(qn_stats_result_get(r, -1, 1)->count, 15);
  CHECK_EQ_INT(qn_stats_result_get(r, 0, 1)->count, 10);
  CHECK_EQ_INT(qn_stats_result_get(r, 1, 1)->count, 5);
  CHECK(qn_stats_result_get(r, 2, 1) == NULL);
  CHECK(qn_stats_result_get(r, -2, 1) == NULL); /* only -1 means the whole table */
  CHECK(qn_stats_result_get(r, INT_MIN, 0) == NULL);
  CHECK(qn_stats_result_get(r, -1, 2) == NULL);
  CHECK(qn_stats_result_get(r, -1, -1) == NULL);
  qn_stats_result_free(r);
  /* without per_file there is no per-file result */
  r = NULL;
  CHECK_OK(qn_stats_run(ctx, src, NULL, &r, NULL));
  CHECK(qn_stats_result_get(r, -1, 0) != NULL);
  CHECK(qn_stats_result_get(r, 0, 0) == NULL);
  qn_stats_result_free(r);
  qn_source_close(src);
  qn_context_free(ctx);
  remove_made();
}

QN_TEST(bin_accessors_out_of_range) {
  struct qn_context *ctx = ctx_new(2, 0);
  const char *in[] = {write_csv("a.csv", 0, 1000)};
  struct qn_source *src = NULL;
  CHECK_OK(qn_source_open(ctx, in, 1, &src, NULL));
  struct qn_bin_axis_spec ax;
  CHECK_OK(qn_bin_axis_parse("x:10:0:1", &ax, NULL));
  const enum qn_bin_stat stats[] = {QN_BIN_COUNT, QN_BIN_MEAN};
  struct qn_bin_options bo;
  qn_bin_options_init(&bo);
  bo.axes = &ax;
  bo.naxes = 1;
  bo.value = "v";
  bo.stats = stats;
  bo.nstats = 2;
  struct qn_bin_result *r = NULL;
  CHECK_OK(qn_bin_run(ctx, src, &bo, &r, NULL));
  CHECK_EQ_INT(qn_bin_result_naxes(r), 1);
  CHECK_EQ_STR(qn_bin_result_axis_name(r, 0), "x");
  CHECK(qn_bin_result_axis_name(r, -1) == NULL);
  CHECK(qn_bin_result_axis_name(r, 1) == NULL);
  CHECK(qn_bin_result_axis_name(r, QN_BIN_MAX_AXES) == NULL);
  CHECK_EQ_INT(qn_bin_result_nbins(r, 0), 10);
  CHECK_EQ_INT(qn_bin_result_nbins(r, 1), 0);
  CHECK_EQ_INT(qn_bin_result_nbins(r, -1), 0);
  CHECK_EQ_DBL(qn_bin_result_edges(r, 0)[10], 1.0);
  CHECK(qn_bin_result_edges(r, 1) == NULL);
  CHECK(qn_bin_result_edges(r, -1) == NULL);
  CHECK(qn_bin_result_edges(r, INT_MAX) == NULL);
  CHECK_EQ_DBL(qn_bin_result_stat(r, QN_BIN_COUNT)[3], 100.0);
  CHECK(qn_bin_result_stat(r, QN_BIN_MEAN) != NULL);
  CHECK(qn_bin_result_stat(r, QN_BIN_STD) == NULL); /* not asked for */
  CHECK(qn_bin_result_stat(r, QN_BIN_NSTATS) == NULL);
  CHECK(qn_bin_result_stat(r, (enum qn_bin_stat) - 1) == NULL);
  CHECK_EQ_STR(qn_bin_stat_name((enum qn_bin_stat)99), "unknown");
  CHECK_EQ_STR(qn_type_name((enum qn_type)99), "invalid");
  CHECK_EQ_INT(qn_type_size((enum qn_type) - 3), 0);
  CHECK(qn_status_str(-7) != NULL && qn_status_str(1000) != NULL);
  qn_bin_result_free(r);
  qn_bin_axis_spec_reset(&ax);
  qn_source_close(src);
  qn_context_free(ctx);
  remove_made();
}

/* ----- the jobs on many threads (also run under ThreadSanitizer) ----- */

#define ROWS 300001 /* several 65536-row morsels and a ragged end */

/* count, sum, mean, std of v over nb bins of x in [0, 1], with `threads`
 * workers, into out (4 x nb); the lane count and the edges when asked. */
static int bin_run_nb(const char *path, int64_t nb, int threads, int64_t limit, double *out,
                      int *lanes, double *edges) {
  struct qn_context *ctx = ctx_new(threads, limit);
  if (!ctx) return QN_ENOMEM;
  struct qn_source *src = NULL;
  struct qn_bin_result *r = NULL;
  struct qn_bin_axis_spec ax;
  char axis[64];
  snprintf(axis, sizeof axis, "x:%lld:0:1", (long long)nb);
  int st = qn_bin_axis_parse(axis, &ax, NULL);
  const enum qn_bin_stat stats[] = {QN_BIN_COUNT, QN_BIN_SUM, QN_BIN_MEAN, QN_BIN_STD};
  struct qn_bin_options bo;
  qn_bin_options_init(&bo);
  bo.axes = &ax;
  bo.naxes = 1;
  bo.value = "v";
  bo.stats = stats;
  bo.nstats = 4;
  if (st == QN_OK) st = qn_source_open(ctx, &path, 1, &src, NULL);
  if (st == QN_OK) st = qn_bin_run(ctx, src, &bo, &r, NULL);
  for (int s = 0; st == QN_OK && s < 4; s++)
    memcpy(out + nb * s, qn_bin_result_stat(r, stats[s]), (size_t)nb * sizeof *out);
  if (st == QN_OK && lanes) *lanes = qn_bin_result_lanes(r);
  if (st == QN_OK && edges)
    memcpy(edges, qn_bin_result_edges(r, 0), (size_t)(nb + 1) * sizeof *edges);
  qn_bin_result_free(r);
  qn_bin_axis_spec_reset(&ax);
  qn_source_close(src);
  if (st == QN_OK && qn_context_used_bytes(ctx) != 0) st = QN_EINTERNAL;
  qn_context_free(ctx);
  return st;
}

static int bin_run(const char *path, int threads, int64_t limit, double *out /* 40 */) {
  return bin_run_nb(path, 10, threads, limit, out, NULL, NULL);
}

QN_TEST(bin_job_same_bits_for_any_threads) {
  const char *path = write_csv("bin.csv", 0, ROWS);
  double a[40], b[40], c[40];
  CHECK_OK(bin_run(path, 1, 0, a));
  CHECK_OK(bin_run(path, 3, 0, b));
  CHECK_OK(bin_run(path, 2, qn_self_rss() + (24 << 20), c)); /* small blocks */
  CHECK(memcmp(a, b, sizeof a) == 0);
  CHECK(memcmp(a, c, sizeof a) == 0);
  /* the exact count and sum of each bin, from the formula that wrote the file */
  double count[10] = {0}, sum[10] = {0};
  for (int64_t i = 0; i < ROWS; i++) {
    count[(i % 1000) / 100] += 1;
    sum[(i % 1000) / 100] += (double)(i % 7);
  }
  for (int k = 0; k < 10; k++) {
    CHECK_EQ_DBL(a[k], count[k]);
    CHECK_EQ_DBL(a[10 + k], sum[k]);
    CHECK_NEAR_REL(a[20 + k], sum[k] / count[k], 1e-14);
    CHECK(a[30 + k] > 1.9 && a[30 + k] < 2.1); /* v is near uniform on 0..6: std 2 */
  }
  remove_made();
}

/* A grid above 128 MiB (nominal) with a value: sliced (one grid, every
 * worker, owner computes). x:2500000:0:1: 1000 distinct x, each in its
 * own bin; count, sum, mean, std of v into out (4 x NB), and the edges. */
#define BIG_NB 2500000
static int bin_run_sliced(const char *path, int threads, int64_t limit, double *out, int *lanes,
                          double *edges) {
  return bin_run_nb(path, BIG_NB, threads, limit, out, lanes, edges);
}

QN_TEST(bin_job_sliced_same_bits_for_any_threads) {
  const char *path = write_csv("big.csv", 0, ROWS);
  const size_t bytes = 4 * BIG_NB * sizeof(double);
  double *a = malloc(bytes), *b = malloc(bytes), *c = malloc(bytes);
  double *e = malloc((BIG_NB + 1) * sizeof *e);
  double *count = calloc(BIG_NB, sizeof *count), *sum = calloc(BIG_NB, sizeof *sum);
  int la = 0, lb = 0, lc = 0;
  CHECK(a && b && c && e && count && sum);
  CHECK_OK(bin_run_sliced(path, 1, 0, a, &la, e));
  CHECK_OK(bin_run_sliced(path, 3, 0, b, &lb, NULL));
  /* little room left for the scan: the 110 MB grid, then 80 MB of results */
  CHECK_OK(bin_run_sliced(path, 2, qn_self_rss() + ((int64_t)240 << 20), c, &lc, NULL));
  CHECK(memcmp(a, b, bytes) == 0);
  CHECK(memcmp(a, c, bytes) == 0);
  CHECK(la == 1 && lb == 1 && lc == 1); /* one grid, whatever the threads */
  /* the exact count and sum of each bin: x as the file holds it, its bin
   * by the edges (the last edge <= x; x < 1) */
  int64_t hit = 0;
  for (int64_t i = 0; i < ROWS; i++) {
    char buf[32];
    snprintf(buf, sizeof buf, "%.4f", ((double)(i % 1000) + 0.5) / 1000);
    const double x = strtod(buf, NULL);
    int64_t lo = 0, hi = BIG_NB; /* e[lo] <= x < e[hi] */
    while (hi - lo > 1) {
      const int64_t mid = (lo + hi) / 2;
      if (e[mid] <= x)
        lo = mid;
      else
        hi = mid;
    }
    count[lo] += 1;
    sum[lo] += (double)(i % 7);
  }
  for (int64_t k = 0; k < BIG_NB; k++) {
    hit += count[k] > 0;
    CHECK_EQ_DBL(a[k], count[k]);
    CHECK_EQ_DBL(a[BIG_NB + k], sum[k]);
    if (count[k] > 0) CHECK_NEAR_REL(a[2 * BIG_NB + k], sum[k] / count[k], 1e-14);
    if (count[k] == 0) CHECK(isnan(a[2 * BIG_NB + k]) && isnan(a[3 * BIG_NB + k]));
  }
  CHECK(hit > 900); /* the thousand values fill (almost) as many bins */
  free(a);
  free(b);
  free(c);
  free(e);
  free(count);
  free(sum);
  remove_made();
}

static int stats_run(const char *path, int threads, int64_t limit,
                     struct qn_column_stats *out) {
  struct qn_context *ctx = ctx_new(threads, limit);
  if (!ctx) return QN_ENOMEM;
  struct qn_source *src = NULL;
  struct qn_stats_result *r = NULL;
  int st = qn_source_open(ctx, &path, 1, &src, NULL);
  if (st == QN_OK) st = qn_stats_run(ctx, src, NULL, &r, NULL);
  for (int c = 0; st == QN_OK && c < qn_stats_result_ncolumns(r); c++)
    out[c] = *qn_stats_result_get(r, -1, c);
  qn_stats_result_free(r);
  qn_source_close(src);
  if (st == QN_OK && qn_context_used_bytes(ctx) != 0) st = QN_EINTERNAL;
  qn_context_free(ctx);
  return st;
}

QN_TEST(stats_job_parquet_same_bits_for_any_threads) {
  const char *path = tmp_path("sim.parquet");
  struct qn_context *ctx = ctx_new(2, 0);
  struct qn_gen_options g;
  qn_gen_options_init(&g);
  g.kind = "sim";
  g.rows = ROWS;
  g.output = path;
  CHECK_OK(qn_gen_run(ctx, &g, NULL));
  qn_context_free(ctx);
  struct qn_column_stats a[4], b[4], c[4];
  CHECK_OK(stats_run(path, 1, 0, a));
  CHECK_OK(stats_run(path, 3, 0, b));
  CHECK_OK(stats_run(path, 2, qn_self_rss() + (24 << 20), c));
  for (int k = 0; k < 4; k++) {
    CHECK_EQ_INT(a[k].count, ROWS);
    CHECK(memcmp(&a[k], &b[k], sizeof a[k]) == 0);
    CHECK(memcmp(&a[k], &c[k], sizeof a[k]) == 0);
  }
  remove_made();
}

/* A source over caller arrays (dense, strided, int and float) bins as the
 * values say; a cancelled context stops the job with QN_ECANCELED, and
 * runs again once uncancelled. */
QN_TEST(arrays_source_and_cancel) {
  struct qn_context *ctx = ctx_new(2, 0);
  enum { N = 200000 };
  double *x = malloc(sizeof(double) * N);
  int32_t *pairs = malloc(sizeof(int32_t) * 2 * N); /* column 1 of an (N, 2) array */
  CHECK(x && pairs);
  for (int i = 0; i < N; i++) {
    x[i] = (i % 10) / 10.0 + 0.05;
    pairs[2 * i] = -1;
    pairs[2 * i + 1] = i % 4;
  }
  struct qn_array_column cols[] = {{"x", QN_FLOAT64, N, x, 0},
                                   {"k", QN_INT32, N, pairs + 1, 2 * sizeof(int32_t)}};
  struct qn_source *src = NULL;
  CHECK_OK(qn_source_open_arrays(ctx, "test arrays", cols, 2, &src, NULL));
  CHECK_EQ_INT(qn_source_ncolumns(src), 2);
  struct qn_bin_axis_spec ax[2];
  CHECK_OK(qn_bin_axis_parse("x:10:0:1", &ax[0], NULL));
  CHECK_OK(qn_bin_axis_parse("k:4:0:4", &ax[1], NULL));
  struct qn_bin_options bo;
  qn_bin_options_init(&bo);
  bo.axes = ax;
  bo.naxes = 2;
  struct qn_bin_result *r = NULL;
  CHECK_OK(qn_bin_run(ctx, src, &bo, &r, NULL));
  const double *c = qn_bin_result_stat(r, QN_BIN_COUNT);
  /* x's bin is i mod 10, k's is i mod 4: cell (a, b) holds the i with
   * i = a (mod 10) and i = b (mod 4), N / 20 of them when a = b (mod 2) */
  for (int a = 0; a < 10; a++)
    for (int b = 0; b < 4; b++) CHECK_EQ_DBL(c[a * 4 + b], (a % 2 == b % 2) ? N / 20 : 0);
  qn_bin_result_free(r);
  r = NULL;
  qn_context_cancel(ctx);
  struct qn_error err;
  qn_error_init(&err);
  CHECK_EQ_INT(qn_bin_run(ctx, src, &bo, &r, &err), QN_ECANCELED);
  CHECK(r == NULL);
  CHECK_EQ_STR(err.message, "the job was cancelled");
  CHECK_EQ_STR(qn_status_str(QN_ECANCELED), "cancelled");
  qn_context_uncancel(ctx);
  CHECK_OK(qn_bin_run(ctx, src, &bo, &r, NULL));
  qn_bin_result_free(r);
  struct qn_array_column bad = {"s", QN_FLOAT64, 10, x, 4}; /* stride below the value size */
  struct qn_source *none = NULL;
  CHECK_EQ_INT(qn_source_open_arrays(ctx, NULL, &bad, 1, &none, NULL), QN_EINVAL);
  CHECK_EQ_INT(qn_source_open_arrays(ctx, NULL, NULL, 0, &none, NULL), QN_EINVAL);
  qn_bin_axis_spec_reset(&ax[0]);
  qn_bin_axis_spec_reset(&ax[1]);
  qn_source_close(src);
  qn_context_free(ctx);
  free(x);
  free(pairs);
}
