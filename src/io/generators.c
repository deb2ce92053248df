/* generators.c — synthetic tables as readers: `quern gen` scans one and
 * writes it with a writer, like any other table.
 *
 * Every value is a pure function of (seed, column, row): a counter-based
 * generator (SplitMix64's finaliser as a mixing function) gives uniforms,
 * so any row range is computed alone, on any worker (parallel_read), and
 * the bytes are the same for any thread count.
 *
 * sim: x, y, z uniform in [0, 1) and v standard normal (Box-Muller on the
 * uniforms of row pair (2k, 2k+1)), float64.
 *
 * measurements: probe data as the group-by job meets it. K probes with
 * skewed group sizes: 5% of probes have a single row, the others a size
 * drawn from a log-normal (sigma 0.6) scaled so that all sizes sum to the
 * row count (mean rows/K, about 26 by default), which gives a tail to a
 * few hundred rows. Rows are not grouped: row r holds the key of position
 * perm(r) of the grouped layout, where perm is a seeded Feistel bijection
 * of [0, rows) (cycle-walking). Columns: probe_id int64 (1000000 + k), ts
 * timestamp[us] (2025, uniform), value float64 (a per-probe level plus
 * noise), quality int32 in [0, 100], label string (ok, noisy, drift,
 * saturated; mostly ok).
 *
 * Memory: measurements keep the K-entry prefix table of group sizes (8
 * bytes a key) from the budget; strings come in budgeted blocks per read.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "qn_gen.h"
#include "qn_source.h"

enum qn_gen_kind { QN_GEN_SIM, QN_GEN_MEAS };

struct qn_gen_reader {
  struct qn_reader base;
  enum qn_gen_kind kind;
  uint64_t seed;
  int64_t rows, keys;
  int64_t *start; /* measurements: [keys + 1] first position of each key's group */
  int half_bits;  /* Feistel halves */
  uint64_t half_mask;
};

static inline double qn_gnormal(uint64_t seed, uint64_t stream, uint64_t ctr) {
  double u1 = 1.0 - qn_gen_uniform(seed, stream, 2 * ctr),
         u2 = qn_gen_uniform(seed, stream, 2 * ctr + 1);
  return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* ----- sim ----- */

static void qn_gen_sim_col(uint64_t seed, int col, int64_t row0, int64_t n, double *out) {
  if (col < 3) {
    for (int64_t i = 0; i < n; i++)
      out[i] = qn_gen_uniform(seed, (uint64_t)col + 1, (uint64_t)(row0 + i));
    return;
  }
  /* Box-Muller on pairs: rows 2k and 2k+1 share u1, u2 of pair k. */
  for (int64_t i = 0; i < n; i++) {
    int64_t r = row0 + i;
    uint64_t pair = (uint64_t)r / 2;
    double u1 = 1.0 - qn_gen_uniform(seed, 4, pair); /* (0, 1]: log is finite */
    double u2 = qn_gen_uniform(seed, 5, pair);
    double rad = sqrt(-2.0 * log(u1)), ang = 2.0 * M_PI * u2;
    out[i] = r % 2 == 0 ? rad * cos(ang) : rad * sin(ang);
  }
}

/* ----- measurements ----- */

static const char *const qn_gen_labels[] = {"ok", "noisy", "drift", "saturated"};

/* A bijection of [0, 2^(2*half_bits)), four Feistel rounds keyed by seed. */
static uint64_t qn_feistel(const struct qn_gen_reader *g, uint64_t x) {
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
static int64_t qn_gen_perm(const struct qn_gen_reader *g, int64_t r) {
  uint64_t x = (uint64_t)r;
  do x = qn_feistel(g, x);
  while (x >= (uint64_t)g->rows);
  return (int64_t)x;
}

static int64_t qn_gen_key_at(const struct qn_gen_reader *g, int64_t pos) {
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

static int qn_gen_label_of(uint64_t seed, uint64_t r) {
  double u = qn_gen_uniform(seed, 15, r);
  return u < 0.85 ? 0 : u < 0.93 ? 1 : u < 0.98 ? 2 : 3;
}

/* keys: the probe index of each row, when the caller has them (NULL:
 * computed here). */
static int qn_gen_meas_col(const struct qn_gen_reader *g, int col, int64_t row0, int64_t n,
                           const int64_t *keys, struct qn_colbuf *out, struct qn_error *err) {
  const int64_t t0 = INT64_C(1735689600) * 1000000; /* 2025-01-01T00:00:00Z in us */
  const double year_us = 365.0 * 86400 * 1e6;
  uint64_t s = g->seed;
  for (int64_t i = 0; i < n && col < 4; i++) {
    uint64_t r = (uint64_t)(row0 + i);
    switch (col) {
      case 0:
        ((int64_t *)out->data)[i] =
            1000000 + (keys ? keys[i] : qn_gen_key_at(g, qn_gen_perm(g, (int64_t)r)));
        break;
      case 1:
        ((int64_t *)out->data)[i] = t0 + (int64_t)(qn_gen_uniform(s, 11, r) * year_us);
        break;
      case 2: {
        int64_t k = keys ? keys[i] : qn_gen_key_at(g, qn_gen_perm(g, (int64_t)r));
        ((double *)out->data)[i] = 10.0 * qn_gnormal(s, 12, (uint64_t)k) + qn_gnormal(s, 13, r);
        break;
      }
      default:
        ((int32_t *)out->data)[i] = (int32_t)(qn_gen_uniform(s, 14, r) * 101.0);
        break;
    }
  }
  if (col < 4) return QN_OK;
  char *text = qn_mem_alloc(g->base.ctx, (size_t)n * 9 + 1, "generated strings", err);
  if (!text) return err ? err->code : QN_ELIMIT;
  out->offsets[0] = 0;
  for (int64_t i = 0; i < n; i++) {
    const char *lab = qn_gen_labels[qn_gen_label_of(s, (uint64_t)(row0 + i))];
    size_t len = strlen(lab);
    memcpy(text + out->offsets[i], lab, len);
    out->offsets[i + 1] = out->offsets[i] + (int64_t)len;
  }
  out->data = text;
  return QN_OK;
}

/* Group sizes: 5% singles, the rest log-normal, summing exactly to rows. */
static void qn_gen_sizes(struct qn_gen_reader *g) {
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

/* ----- the reader ----- */

static int qn_gen_read(struct qn_reader *base, int col, int64_t row0, int64_t n,
                       struct qn_colbuf *out, struct qn_error *err) {
  const struct qn_gen_reader *g = (const struct qn_gen_reader *)base;
  out->valid = NULL;
  out->n = n;
  if (col < 0 || col >= base->ncols || row0 < 0 || n < 0 || row0 + n > g->rows)
    return qn_error_set(err, QN_EINVAL, "%s: rows %lld..%lld of column %d are out of range",
                        base->path, (long long)row0, (long long)(row0 + n), col);
  if (g->kind == QN_GEN_SIM) {
    qn_gen_sim_col(g->seed, col, row0, n, out->data);
    return QN_OK;
  }
  return qn_gen_meas_col(g, col, row0, n, NULL, out, err);
}

/* Several columns at once: probe_id and value share the (costly) key of
 * each row, computed once. */
static int qn_gen_read_cols(struct qn_reader *base, const int *cols, int ncols, int64_t row0,
                            int64_t n, struct qn_colbuf *out, struct qn_error *err) {
  const struct qn_gen_reader *g = (const struct qn_gen_reader *)base;
  int uses = 0, status = QN_OK;
  for (int i = 0; i < ncols; i++) uses += cols[i] == 0 || cols[i] == 2;
  int64_t *keys = NULL;
  if (g->kind == QN_GEN_MEAS && uses > 1 && n > 0 && row0 >= 0 && row0 + n <= g->rows) {
    keys = qn_mem_alloc(base->ctx, (size_t)n * sizeof *keys, "generated keys", err);
    if (!keys) return err ? err->code : QN_ELIMIT;
    for (int64_t i = 0; i < n; i++) keys[i] = qn_gen_key_at(g, qn_gen_perm(g, row0 + i));
  }
  for (int i = 0; i < ncols && status == QN_OK; i++) {
    if (!keys) {
      status = qn_gen_read(base, cols[i], row0, n, &out[i], err);
      continue;
    }
    out[i].valid = NULL;
    out[i].n = n;
    status = qn_gen_meas_col(g, cols[i], row0, n, keys, &out[i], err);
  }
  qn_mem_free(base->ctx, keys);
  return status;
}

static void qn_gen_close(struct qn_reader *base) {
  struct qn_gen_reader *g = (struct qn_gen_reader *)base;
  qn_mem_free(base->ctx, g->start);
  qn_reader_free_columns(base);
  free(base->path);
  free(g);
}

static const struct qn_reader_ops qn_gen_ops = {.format = "generator",
                                                .read = qn_gen_read,
                                                .read_cols = qn_gen_read_cols,
                                                .close = qn_gen_close};

static int qn_gen_column(struct qn_gen_reader *g, int i, const char *name, enum qn_type t,
                         const char *type_name, int64_t unit, struct qn_error *err) {
  struct qn_reader_column *c = &g->base.cols[i];
  c->name = qn_strdup(name);
  c->type_name = qn_strdup(type_name);
  if (!c->name || !c->type_name) return qn_error_set(err, QN_ENOMEM, "out of memory");
  c->type = t;
  c->rows = g->rows;
  c->parallel_read = 1;
  c->time_unit = unit;
  return QN_OK;
}

int qn_gen_reader_new(struct qn_context *ctx, const char *kind, int64_t rows, int64_t keys,
                      uint64_t seed, struct qn_reader **out, struct qn_error *err) {
  int status = QN_OK;
  int sim = kind && !strcmp(kind, "sim"), meas = kind && !strcmp(kind, "measurements");
  if (!sim && !meas)
    return qn_error_set(err, QN_EINVAL, "unknown generator '%s' (use sim or measurements)",
                        kind ? kind : "");
  if (rows < 0)
    return qn_error_set(err, QN_EINVAL, "rows must be >= 0, got %lld", (long long)rows);
  if (meas && (keys < 1 || keys > rows))
    return qn_error_set(err, QN_EINVAL,
                        "measurements need between 1 and rows (%lld) keys, got %lld",
                        (long long)rows, (long long)keys);
  struct qn_gen_reader *g = calloc(1, sizeof *g);
  if (!g || !(g->base.path = qn_strdup(sim ? "gen:sim" : "gen:measurements"))) {
    free(g);
    return qn_error_set(err, QN_ENOMEM, "out of memory");
  }
  g->base.ops = &qn_gen_ops;
  g->base.ctx = ctx;
  g->kind = sim ? QN_GEN_SIM : QN_GEN_MEAS;
  g->seed = seed;
  g->rows = rows;
  g->keys = keys;
  if (sim) {
    QN_CHECK(qn_reader_alloc_columns(&g->base, 4, err));
    const char *names[4] = {"x", "y", "z", "v"};
    for (int i = 0; i < 4; i++) {
      QN_CHECK(qn_gen_column(g, i, names[i], QN_FLOAT64, "float64", 0, err));
      g->base.cols[i].plain_read = 1;
    }
  } else {
    QN_CHECK(qn_reader_alloc_columns(&g->base, 5, err));
    QN_CHECK(qn_gen_column(g, 0, "probe_id", QN_INT64, "int64", 0, err));
    QN_CHECK(qn_gen_column(g, 1, "ts", QN_TIMESTAMP, "timestamp[us]", 1000000, err));
    QN_CHECK(qn_gen_column(g, 2, "value", QN_FLOAT64, "float64", 0, err));
    QN_CHECK(qn_gen_column(g, 3, "quality", QN_INT32, "int32", 0, err));
    QN_CHECK(qn_gen_column(g, 4, "label", QN_STRING, "string", 0, err));
    int bits = 2;
    while (((uint64_t)1 << bits) < (uint64_t)rows) bits += 2;
    g->half_bits = bits / 2;
    g->half_mask = ((uint64_t)1 << g->half_bits) - 1;
    g->start =
        qn_mem_alloc(ctx, (size_t)(keys + 1) * sizeof(int64_t), "probe group table", err);
    if (!g->start) {
      status = err ? err->code : QN_ELIMIT;
      goto done;
    }
    qn_gen_sizes(g);
  }
  *out = &g->base;
  g = NULL;
done:
  if (g) qn_gen_close(&g->base);
  return status;
}
