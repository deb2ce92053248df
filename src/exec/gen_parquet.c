/* gen_parquet.c — `quern gen` to Parquet: sim and measurements.
 *
 * sim: the same values as the HDF5 sim (qn_gen_sim_fill), written in
 * batches of 2^20 rows through quern's Parquet writer.
 *
 * measurements: probe data as the group-by job meets it. K probes with
 * skewed group sizes: 5% of probes have a single row, the others a size
 * drawn from a log-normal (sigma 0.6) scaled so that all sizes sum to the
 * row count (mean rows/K, about 26 by default), which gives a tail to a
 * few hundred rows. Rows are not grouped: row r holds the key of position
 * perm(r) of the grouped layout, where perm is a seeded Feistel bijection
 * of [0, rows) (cycle-walking), so any row range is computed independently
 * and the bytes are the same for any thread count.
 *
 * Columns: probe_id int64 (1000000 + k), ts timestamp[us] (2025, uniform),
 * value float64 (a per-probe level plus noise), quality int32 in [0, 100],
 * label string (ok, noisy, drift, saturated; mostly ok).
 *
 * Memory: the K-entry prefix table of group sizes (8 bytes a key) plus one
 * batch of columns, from the budget.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "exec/qn_exec.h"
#include "io/parquet/qn_pq_writer.h"

#define QN_GEN_BATCH ((int64_t)1 << 20)

static inline double qn_gnormal(uint64_t seed, uint64_t stream, uint64_t ctr) {
  double u1 = 1.0 - qn_gen_uniform(seed, stream, 2 * ctr),
         u2 = qn_gen_uniform(seed, stream, 2 * ctr + 1);
  return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

static int qn_gen_codec(const struct qn_gen_options *opt, struct qn_pq_writer_options *w,
                        struct qn_error *err) {
  qn_pq_writer_options_init(w);
  if (opt->codec) return qn_pq_codec_parse(opt->codec, &w->codec, err);
  return QN_OK;
}

/* ----- sim ----- */

int qn_gen_sim_parquet(struct qn_context *ctx, const struct qn_gen_options *opt,
                       struct qn_error *err) {
  static const struct qn_pq_wcol cols[4] = {{"x", QN_FLOAT64, 0, 0, 0},
                                            {"y", QN_FLOAT64, 0, 0, 0},
                                            {"z", QN_FLOAT64, 0, 0, 0},
                                            {"v", QN_FLOAT64, 0, 0, 0}};
  int status = QN_OK;
  struct qn_pq_writer *w = NULL;
  struct qn_pq_writer_options wo;
  int64_t batch = QN_MIN(QN_GEN_BATCH, QN_MAX(opt->rows, 1));
  double *buf = NULL;
  struct qn_progress *prog = NULL;
  QN_CHECK(qn_gen_codec(opt, &wo, err));
  buf = qn_mem_alloc(ctx, (size_t)batch * 4 * sizeof(double), "generator buffers", err);
  if (!buf) {
    status = err ? err->code : QN_ELIMIT;
    goto done;
  }
  QN_CHECK(qn_pq_writer_open(ctx, opt->output, cols, 4, &wo, &w, err));
  prog = qn_progress_start(ctx, "gen", opt->rows);
  double *const cols4[4] = {buf, buf + batch, buf + 2 * batch, buf + 3 * batch};
  for (int64_t row0 = 0; row0 < opt->rows; row0 += batch) {
    int64_t n = QN_MIN(batch, opt->rows - row0);
    qn_progress_add(prog, n);
    QN_CHECK(qn_gen_sim_fill_parallel(ctx, opt->seed, row0, n, cols4, err));
    struct qn_colbuf cb[4];
    for (int c = 0; c < 4; c++) cb[c] = (struct qn_colbuf){QN_FLOAT64, n, cols4[c], NULL, NULL};
    QN_CHECK(qn_pq_writer_write(w, cb, n, err));
  }
  status = qn_pq_writer_close(w, err);
  w = NULL;
done:
  qn_progress_finish(prog);
  qn_pq_writer_abort(w);
  qn_mem_free(ctx, buf);
  return status;
}

/* ----- measurements ----- */

static const char *const qn_gen_labels[] = {"ok", "noisy", "drift", "saturated"};

struct qn_gen_meas {
  uint64_t seed;
  int64_t rows, keys;
  int64_t *start; /* [keys + 1]: first position of each key's group */
  int half_bits;  /* Feistel halves */
  uint64_t half_mask;
  /* the batch */
  int64_t row0, n;
  int64_t *probe, *ts;
  double *value;
  int32_t *quality;
  uint8_t *label;
  int nworkers;
};

/* A bijection of [0, 2^(2*half_bits)), four Feistel rounds keyed by seed. */
static uint64_t qn_feistel(const struct qn_gen_meas *g, uint64_t x) {
  uint64_t l = x >> g->half_bits, r = x & g->half_mask;
  for (uint64_t round = 0; round < 4; round++) {
    uint64_t f = qn_mix64(r ^ qn_mix64(g->seed * 0xd6e8feb86659fd93ULL + round)) & g->half_mask;
    uint64_t t = l ^ f;
    l = r;
    r = t;
  }
  return (l << g->half_bits) | r;
}

/* perm(r) in [0, rows): cycle-walk the Feistel bijection back into range. */
static int64_t qn_gen_perm(const struct qn_gen_meas *g, int64_t r) {
  uint64_t x = (uint64_t)r;
  do x = qn_feistel(g, x);
  while (x >= (uint64_t)g->rows);
  return (int64_t)x;
}

static int64_t qn_gen_key_at(const struct qn_gen_meas *g, int64_t pos) {
  int64_t lo = 0, hi = g->keys - 1; /* last k with start[k] <= pos */
  while (lo < hi) {
    int64_t mid = lo + (hi - lo + 1) / 2;
    if (g->start[mid] <= pos)
      lo = mid;
    else
      hi = mid - 1;
  }
  return lo;
}

static void qn_gen_meas_worker(void *arg, int w) {
  struct qn_gen_meas *g = arg;
  int64_t per = g->n / g->nworkers + 1;
  int64_t a = QN_MIN(g->n, per * w), b = QN_MIN(g->n, per * (w + 1));
  const int64_t t0 = INT64_C(1735689600) * 1000000; /* 2025-01-01T00:00:00Z in us */
  const double year_us = 365.0 * 86400 * 1e6;
  for (int64_t i = a; i < b; i++) {
    uint64_t r = (uint64_t)(g->row0 + i);
    int64_t k = qn_gen_key_at(g, qn_gen_perm(g, (int64_t)r));
    g->probe[i] = 1000000 + k;
    g->ts[i] = t0 + (int64_t)(qn_gen_uniform(g->seed, 11, r) * year_us);
    double level = 10.0 * qn_gnormal(g->seed, 12, (uint64_t)k);
    g->value[i] = level + qn_gnormal(g->seed, 13, r);
    g->quality[i] = (int32_t)(qn_gen_uniform(g->seed, 14, r) * 101.0);
    double u = qn_gen_uniform(g->seed, 15, r);
    g->label[i] = u < 0.85 ? 0 : u < 0.93 ? 1 : u < 0.98 ? 2 : 3;
  }
}

/* Group sizes: 5% singles, the rest log-normal, summing exactly to rows. */
static void qn_gen_sizes(struct qn_gen_meas *g) {
  int64_t K = g->keys, rows = g->rows;
  double total = 0;
  int64_t *size = g->start + 1; /* sizes first, prefix sums after */
  for (int64_t k = 0; k < K; k++)
    if (qn_gen_uniform(g->seed, 20, (uint64_t)k) >= 0.05)
      total += exp(0.6 * qn_gnormal(g->seed, 21, (uint64_t)k));
  double scale = total > 0 ? (double)(rows - K) / total : 0;
  int64_t sum = 0;
  for (int64_t k = 0; k < K; k++) {
    size[k] = 1;
    if (qn_gen_uniform(g->seed, 20, (uint64_t)k) >= 0.05)
      size[k] += (int64_t)(exp(0.6 * qn_gnormal(g->seed, 21, (uint64_t)k)) * scale +
                           qn_gen_uniform(g->seed, 22, (uint64_t)k));
    sum += size[k];
  }
  /* settle the rounding: one row more on multi-row keys (on any key when
   * all are single), one less on keys above one row, cycling */
  int all_single = 1;
  for (int64_t k = 0; k < K && all_single; k++) all_single = size[k] == 1;
  for (int64_t k = 0, diff = rows - sum; diff != 0; k = (k + 1) % K) {
    if (diff > 0 && (size[k] > 1 || all_single)) {
      size[k]++;
      diff--;
    } else if (diff < 0 && size[k] > 1) {
      size[k]--;
      diff++;
    }
  }
  g->start[0] = 0;
  for (int64_t k = 0; k < K; k++) g->start[k + 1] = g->start[k] + size[k];
}

int qn_gen_measurements(struct qn_context *ctx, const struct qn_gen_options *opt,
                        struct qn_error *err) {
  static const struct qn_pq_wcol cols[5] = {{"probe_id", QN_INT64, 0, 0, 0},
                                            {"ts", QN_TIMESTAMP, 0, 1000000, 0},
                                            {"value", QN_FLOAT64, 0, 0, 0},
                                            {"quality", QN_INT32, 0, 0, 0},
                                            {"label", QN_STRING, 0, 0, 0}};
  int status = QN_OK;
  struct qn_pq_writer *w = NULL;
  struct qn_pq_writer_options wo;
  struct qn_gen_meas g;
  memset(&g, 0, sizeof g);
  char *buf = NULL, *text = NULL;
  int64_t *offsets = NULL;
  struct qn_progress *prog = NULL;
  if (opt->keys < 1 || opt->keys > opt->rows)
    return qn_error_set(
        err, QN_EINVAL,
        "gen: the number of keys must be between 1 and the number of rows (%lld), got %lld",
        (long long)opt->rows, (long long)opt->keys);
  int64_t batch = QN_MIN(QN_GEN_BATCH, opt->rows);
  QN_CHECK(qn_gen_codec(opt, &wo, err));
  g.seed = opt->seed;
  g.rows = opt->rows;
  g.keys = opt->keys;
  int bits = 2;
  while (((uint64_t)1 << bits) < (uint64_t)opt->rows) bits += 2;
  g.half_bits = bits / 2;
  g.half_mask = ((uint64_t)1 << g.half_bits) - 1;
  g.start =
      qn_mem_alloc(ctx, (size_t)(opt->keys + 1) * sizeof(int64_t), "probe group table", err);
  buf = qn_mem_alloc(ctx, (size_t)batch * (8 + 8 + 8 + 4 + 1), "generator buffers", err);
  text = qn_mem_alloc(ctx, (size_t)batch * 9, "generator buffers", err);
  offsets = qn_mem_alloc(ctx, (size_t)(batch + 1) * sizeof(int64_t), "generator buffers", err);
  if (!g.start || !buf || !text || !offsets) {
    status = err ? err->code : QN_ELIMIT;
    goto done;
  }
  qn_gen_sizes(&g);
  g.probe = (int64_t *)buf;
  g.ts = g.probe + batch;
  g.value = (double *)(g.ts + batch);
  g.quality = (int32_t *)(g.value + batch);
  g.label = (uint8_t *)(g.quality + batch);
  QN_CHECK(qn_pq_writer_open(ctx, opt->output, cols, 5, &wo, &w, err));
  prog = qn_progress_start(ctx, "gen", opt->rows);
  for (int64_t row0 = 0; row0 < opt->rows; row0 += batch) {
    qn_progress_add(prog, QN_MIN(batch, opt->rows - row0));
    g.row0 = row0;
    g.n = QN_MIN(batch, opt->rows - row0);
    g.nworkers = (int)QN_MIN((int64_t)qn_context_threads(ctx), QN_MAX(1, g.n / 65536));
    QN_CHECK(qn_pool_run(ctx, g.nworkers, qn_gen_meas_worker, &g, err));
    offsets[0] = 0;
    for (int64_t i = 0; i < g.n; i++) {
      const char *s = qn_gen_labels[g.label[i]];
      size_t len = strlen(s);
      memcpy(text + offsets[i], s, len);
      offsets[i + 1] = offsets[i] + (int64_t)len;
    }
    struct qn_colbuf cb[5] = {{QN_INT64, g.n, g.probe, NULL, NULL},
                              {QN_TIMESTAMP, g.n, g.ts, NULL, NULL},
                              {QN_FLOAT64, g.n, g.value, NULL, NULL},
                              {QN_INT32, g.n, g.quality, NULL, NULL},
                              {QN_STRING, g.n, text, NULL, offsets}};
    QN_CHECK(qn_pq_writer_write(w, cb, g.n, err));
  }
  status = qn_pq_writer_close(w, err);
  w = NULL;
done:
  qn_progress_finish(prog);
  qn_pq_writer_abort(w);
  qn_mem_free(ctx, g.start);
  qn_mem_free(ctx, buf);
  qn_mem_free(ctx, text);
  qn_mem_free(ctx, offsets);
  return status;
}
