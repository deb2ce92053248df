/* writer.c — the flat-table Parquet writer (qn_pq_writer.h).
 *
 * Layout written: "PAR1", then per row group the column chunks in schema
 * order, each a run of DATA_PAGE (v1) pages: [RLE definition levels with
 * their 4-byte length, when the column is OPTIONAL][PLAIN values],
 * compressed as a whole; then the FileMetaData (compact Thrift), its
 * length and "PAR1". Statistics per column chunk: null_count, min_value
 * and max_value in the column's sort order (signed, unsigned, IEEE without
 * NaN, bytewise for strings; -0.0/+0.0 as the spec asks), with
 * column_orders = TYPE_ORDER so readers may trust them.
 *
 * Flow: rows arrive in batches; each batch is cut into slices of at most
 * QN_PQ_SLICE rows; a slice is appended to every column's open page (pages
 * close at `page_bytes`), and after each slice the row group is flushed if
 * the buffered bytes reached `row_group_bytes`, so row groups end on the
 * same row in every column. Memory: the buffered row group plus one page
 * per column, all from the budget; the footer metadata is malloc'd and
 * grows by a few hundred bytes per column chunk.
 */
#include "io/qn_writer.h"
#include "qn_pq_writer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define QN_PQ_SLICE 8192
#define QN_PQ_STAT_MAX 256        /* longest string kept as a min/max statistic */
#define QN_PQ_PAGE_ROWS (1 << 20) /* rows per page at most (nulls add no bytes) */
#define QN_PQ_PART_ROWS 65536     /* rows per part of qn_pq_writer_write */
#define QN_PQ_POOL 64             /* page buffers kept for reuse */
#define QN_PQ_SLAB_ROWS 65536     /* rows per slab (a page of each column) at most */

struct qn_pq_buf {
  uint8_t *p;
  size_t len, cap;
};

struct qn_pq_wstat {
  int has;
  int64_t imin, imax;
  uint64_t umin, umax;
  double fmin, fmax;
  uint8_t smin[QN_PQ_STAT_MAX], smax[QN_PQ_STAT_MAX];
  size_t sminl, smaxl;
  int s_ok; /* every string fitted QN_PQ_STAT_MAX */
  int64_t nulls;
};

struct qn_pq_wchunk { /* a written column chunk, for the footer */
  int64_t offset, uncompressed, compressed, values;
  uint8_t *stats; /* serialised Statistics (malloc) */
  size_t stats_len;
};

struct qn_pq_rgmeta {
  int64_t rows, offset, bytes, compressed;
  struct qn_pq_wchunk *chunks;
};

struct qn_pq_wcolumn {
  struct qn_pq_wcol d;
  char *name;
  int phys, width, max_def, max_rep;
  int signed_order, unsigned_order, float_order;
  /* this row group's finished pages: the parts' page buffers, moved in
   * (never copied or regrown), written in order at the flush */
  struct qn_pq_buf *pieces;
  int npieces, cappieces;
  int64_t chunk_compressed;
  int64_t chunk_uncompressed, chunk_values;
  struct qn_pq_wstat st;
};

struct qn_pq_writer {
  struct qn_context *ctx;
  char *path;
  struct qn_outfile *of;
  int64_t off;
  struct qn_pq_writer_options opt;
  int ncols;
  struct qn_pq_wcolumn *cols;
  struct qn_pq_rgmeta *rgs;
  int nrg, caprg;
  int64_t rows;
  int64_t rg_rows, rg_bytes;      /* the open row group: rows, uncompressed bytes */
  struct qn_pq_wscratch *scratch; /* one per worker that may encode */
  int nscratch;
  /* Page buffers given back (written pieces, freed parts), reused by the
   * next parts: a fresh buffer costs a page fault every 4 KiB. Bounded
   * in count and bytes; budgeted as they were. */
  pthread_mutex_t pool_lock;
  struct qn_pq_buf pool[QN_PQ_POOL];
  int npool;
  int64_t pool_bytes;
  char created_by[64];
};

void qn_pq_writer_options_init(struct qn_pq_writer_options *opt) {
  memset(opt, 0, sizeof *opt);
  opt->codec = QN_PQ_SNAPPY;
  opt->row_group_rows = (int64_t)1 << 20;
  opt->row_group_bytes = (int64_t)4 << 20;
  opt->page_bytes = (int64_t)1 << 20;
}

int qn_pq_codec_parse(const char *name, int *codec, struct qn_error *err) {
  static const struct {
    const char *name;
    int codec;
  } map[] = {{"snappy", QN_PQ_SNAPPY},
             {"zstd", QN_PQ_ZSTD},
             {"gzip", QN_PQ_GZIP},
             {"none", QN_PQ_UNCOMPRESSED},
             {"uncompressed", QN_PQ_UNCOMPRESSED},
             {"lz4", QN_PQ_LZ4_RAW},
             {"lz4_raw", QN_PQ_LZ4_RAW},
             {"brotli", QN_PQ_BROTLI}};
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    if (strcmp(name, map[i].name) == 0) {
      *codec = map[i].codec;
      return QN_OK;
    }
  return qn_error_set(err, QN_EINVAL,
                      "unknown codec '%s' (use snappy, zstd, gzip, lz4, brotli or none)", name);
}

int64_t qn_pq_writer_rows(const struct qn_pq_writer *w) {
  return w->rows;
}
int qn_pq_writer_row_groups(const struct qn_pq_writer *w) {
  return w->nrg;
}

/* ----- buffers ----- */

static int qn_pq_buf_reserve(struct qn_context *ctx, struct qn_pq_buf *b, size_t extra,
                             struct qn_error *err) {
  if (b->len + extra <= b->cap) return QN_OK;
  size_t cap = QN_MAX(b->len + extra, QN_MAX(b->cap * 2, (size_t)4096));
  uint8_t *p = qn_mem_alloc(ctx, cap, "Parquet writer buffers", err);
  if (!p) return err ? err->code : QN_ELIMIT;
  if (b->len) memcpy(p, b->p, b->len);
  qn_mem_free(ctx, b->p);
  b->p = p;
  b->cap = cap;
  return QN_OK;
}

static int qn_pq_buf_put(struct qn_context *ctx, struct qn_pq_buf *b, const void *p, size_t n,
                         struct qn_error *err) {
  if (n == 0) return QN_OK;
  QN_RETURN_IF_ERROR(qn_pq_buf_reserve(ctx, b, n, err));
  memcpy(b->p + b->len, p, n);
  b->len += n;
  return QN_OK;
}

static void qn_pq_buf_free(struct qn_context *ctx, struct qn_pq_buf *b) {
  qn_mem_free(ctx, b->p);
  memset(b, 0, sizeof *b);
}

static int qn_pq_fwrite(struct qn_pq_writer *w, const void *p, size_t n, struct qn_error *err) {
  QN_RETURN_IF_ERROR(qn_outfile_write(w->of, p, n, err));
  w->off += (int64_t)n;
  return QN_OK;
}

/* ----- statistics ----- */

static void qn_pq_stat_str(struct qn_pq_wstat *s, const uint8_t *p, size_t n) {
  if (n > QN_PQ_STAT_MAX) {
    s->s_ok = 0;
    return;
  }
  if (!s->has) {
    memcpy(s->smin, p, n);
    memcpy(s->smax, p, n);
    s->sminl = s->smaxl = n;
    s->has = 1;
    return;
  }
  /* strictly between the bounds by the first byte: neither can change */
  if (n > 0 && s->sminl > 0 && s->smaxl > 0 && p[0] > s->smin[0] && p[0] < s->smax[0]) return;
  int c = memcmp(p, s->smin, QN_MIN(n, s->sminl));
  if (c < 0 || (c == 0 && n < s->sminl)) {
    memcpy(s->smin, p, n);
    s->sminl = n;
  }
  c = memcmp(p, s->smax, QN_MIN(n, s->smaxl));
  if (c > 0 || (c == 0 && n > s->smaxl)) {
    memcpy(s->smax, p, n);
    s->smaxl = n;
  }
}

/* Serialises the chunk's Statistics (PLAIN-encoded bounds). */
static int qn_pq_stats_serialise(struct qn_pq_wcolumn *c, struct qn_pq_wchunk *out,
                                 struct qn_error *err) {
  struct qn_pq_tout o;
  uint8_t mn[8], mx[8];
  size_t w = 0;
  const void *pmin = mn, *pmax = mx;
  const struct qn_pq_wstat *s = &c->st;
  int have = s->has;
  qn_pq_tout_init(&o);
  if (have) {
    if (c->phys == QN_PQ_BYTE_ARRAY) {
      have = s->s_ok;
      pmin = s->smin;
      pmax = s->smax;
    } else if (c->float_order) {
      double lo = s->fmin == 0 ? -0.0 : s->fmin, hi = s->fmax == 0 ? 0.0 : s->fmax;
      if (c->phys == QN_PQ_FLOAT) {
        float a = (float)lo, b = (float)hi;
        memcpy(mn, &a, 4);
        memcpy(mx, &b, 4);
        w = 4;
      } else {
        memcpy(mn, &lo, 8);
        memcpy(mx, &hi, 8);
        w = 8;
      }
    } else {
      uint64_t a = c->unsigned_order ? s->umin : (uint64_t)s->imin;
      uint64_t b = c->unsigned_order ? s->umax : (uint64_t)s->imax;
      w = c->phys == QN_PQ_INT64 ? 8 : c->phys == QN_PQ_BOOLEAN ? 1 : 4;
      for (size_t i = 0; i < 8; i++) {
        mn[i] = (uint8_t)(a >> (8 * i));
        mx[i] = (uint8_t)(b >> (8 * i));
      }
    }
  }
  qn_pq_w_struct_begin(&o);
  qn_pq_w_i64(&o, 3, s->nulls);
  if (have) {
    qn_pq_w_binary(&o, 5, pmax, c->phys == QN_PQ_BYTE_ARRAY ? s->smaxl : w);
    qn_pq_w_binary(&o, 6, pmin, c->phys == QN_PQ_BYTE_ARRAY ? s->sminl : w);
  }
  qn_pq_w_struct_end(&o);
  if (o.oom) {
    qn_pq_tout_reset(&o);
    return qn_error_set(err, QN_ENOMEM, "out of memory writing statistics");
  }
  out->stats = o.buf;
  out->stats_len = o.len;
  return QN_OK;
}

/* ----- parts: rows encoded into pages, on any thread ----- */

/* One column of a slab: its page (header + compressed data), what it
 * counts, and the statistics of its values. */
struct qn_pq_pcol {
  struct qn_pq_buf pages;
  int64_t uncompressed; /* page header + uncompressed page body */
  int64_t values;       /* level entries */
  struct qn_pq_wstat st;
};

/* A slab: consecutive whole rows of a part, one page per column. Row
 * groups close only between slabs, so every column's pages line up with
 * the row groups and no row is ever split. */
struct qn_pq_slab {
  int64_t rows;
  struct qn_pq_pcol *cols;
};

struct qn_pq_part {
  int64_t rows;
  int ncols, nslabs;
  struct qn_pq_slab *slabs;
};

/* A pooled buffer of at least `need` bytes into the empty *b (the
 * smallest that fits, else none: the caller allocates). */
static void qn_pq_pool_get(struct qn_pq_writer *w, struct qn_pq_buf *b, size_t need) {
  pthread_mutex_lock(&w->pool_lock);
  int best = -1;
  for (int i = 0; i < w->npool; i++)
    if (w->pool[i].cap >= need && (best < 0 || w->pool[i].cap < w->pool[best].cap)) best = i;
  if (best >= 0) {
    *b = w->pool[best];
    b->len = 0;
    w->pool_bytes -= (int64_t)b->cap;
    w->pool[best] = w->pool[--w->npool];
  }
  pthread_mutex_unlock(&w->pool_lock);
}

/* Gives *b back to the pool, or frees it when the pool is full. */
static void qn_pq_pool_put(struct qn_pq_writer *w, struct qn_pq_buf *b) {
  if (!b->p) return;
  pthread_mutex_lock(&w->pool_lock);
  int kept =
      w->npool < QN_PQ_POOL && w->pool_bytes + (int64_t)b->cap <= w->opt.row_group_bytes / 2;
  if (kept) {
    w->pool[w->npool++] = *b;
    w->pool_bytes += (int64_t)b->cap;
  }
  pthread_mutex_unlock(&w->pool_lock);
  if (!kept) qn_pq_buf_free(w->ctx, b);
  memset(b, 0, sizeof *b);
}

/* A worker's buffers for building one page: values, levels, the page
 * body and its compressed form. Kept between parts (same worker). */
struct qn_pq_wscratch {
  struct qn_pq_buf vals, defs, reps, page, comp;
};

static void qn_pq_wscratch_free(struct qn_context *ctx, struct qn_pq_wscratch *sc) {
  qn_pq_buf_free(ctx, &sc->vals);
  qn_pq_buf_free(ctx, &sc->defs);
  qn_pq_buf_free(ctx, &sc->reps);
  qn_pq_buf_free(ctx, &sc->page);
  qn_pq_buf_free(ctx, &sc->comp);
}

/* Closes the page of `rows` level entries held in sc->vals / sc->defs /
 * sc->reps: levels and values into the page body (v1: repetition levels,
 * then definition levels, each with its 4-byte length), compressed,
 * header and body into pc. */
static int qn_pq_page_put(const struct qn_pq_writer *w, const struct qn_pq_wcolumn *c,
                          struct qn_pq_wscratch *sc, const uint8_t *body, size_t body_len,
                          int64_t rows, struct qn_pq_pcol *pc, struct qn_error *err);

static int qn_pq_page_finish(const struct qn_pq_writer *w, const struct qn_pq_wcolumn *c,
                             struct qn_pq_wscratch *sc, int64_t rows, struct qn_pq_pcol *pc,
                             struct qn_error *err) {
  if (rows == 0) return QN_OK;
  struct qn_context *ctx = w->ctx;
  struct qn_pq_tout lv;
  int status = QN_OK;
  qn_pq_tout_init(&lv);
  sc->page.len = 0;
  const uint8_t *body = sc->page.p;
  size_t body_len = 0;
  if (c->max_def == 0 && c->max_rep == 0 && c->phys != QN_PQ_BOOLEAN) { /* just the values */
    body = sc->vals.p;
    body_len = sc->vals.len;
    goto put;
  }
  for (int k = 0; k < 2; k++) { /* repetition, then definition levels */
    int maxl = k == 0 ? c->max_rep : c->max_def;
    if (maxl == 0) continue;
    lv.len = 0;
    qn_pq_rle_encode(&lv, k == 0 ? sc->reps.p : sc->defs.p, rows, maxl > 1 ? 2 : 1);
    uint8_t len[4];
    qn_pq_put_le32(len, (uint32_t)lv.len);
    QN_CHECK(qn_pq_buf_put(ctx, &sc->page, len, 4, err));
    QN_CHECK(qn_pq_buf_put(ctx, &sc->page, lv.buf, lv.len, err));
  }
  if (c->phys == QN_PQ_BOOLEAN) {
    size_t nb = (sc->vals.len + 7) / 8;
    QN_CHECK(qn_pq_buf_reserve(ctx, &sc->page, nb, err));
    memset(sc->page.p + sc->page.len, 0, nb);
    for (size_t i = 0; i < sc->vals.len; i++)
      sc->page.p[sc->page.len + i / 8] |= (uint8_t)((sc->vals.p[i] != 0) << (i % 8));
    sc->page.len += nb;
  } else {
    QN_CHECK(qn_pq_buf_put(ctx, &sc->page, sc->vals.p, sc->vals.len, err));
  }
  body = sc->page.p;
  body_len = sc->page.len;
  if (lv.oom) {
    status = qn_error_set(err, QN_ENOMEM, "out of memory writing a page header");
    goto done;
  }
put:
  QN_CHECK(qn_pq_page_put(w, c, sc, body, body_len, rows, pc, err));
  sc->vals.len = 0;
  sc->defs.len = 0;
  sc->reps.len = 0;
done:
  qn_pq_tout_reset(&lv);
  return status;
}

/* A page of `rows` level entries whose body is `body`: compressed into the
 * worker's scratch, then header and compressed body appended to pc. */
static int qn_pq_page_put(const struct qn_pq_writer *w, const struct qn_pq_wcolumn *c,
                          struct qn_pq_wscratch *sc, const uint8_t *body, size_t body_len,
                          int64_t rows, struct qn_pq_pcol *pc, struct qn_error *err) {
  struct qn_context *ctx = w->ctx;
  struct qn_pq_tout hdr;
  int status = QN_OK;
  qn_pq_tout_init(&hdr);
  if (body_len > INT32_MAX) {
    status =
        qn_error_set(err, QN_EINVAL, "%s: a page of column %s exceeds 2 GiB", w->path, c->name);
    goto done;
  }
  size_t bound = qn_pq_compress_bound(w->opt.codec, body_len);
  if (bound > sc->comp.len)
    QN_CHECK(qn_pq_buf_reserve(ctx, &sc->comp, bound - sc->comp.len, err));
  size_t cn = sc->comp.cap;
  QN_CHECK(qn_pq_compress(w->opt.codec, w->opt.level, body, body_len, sc->comp.p, &cn, err));
  struct qn_pq_page_header h;
  memset(&h, 0, sizeof h);
  h.type = QN_PQ_DATA_PAGE;
  h.uncompressed_size = (int32_t)body_len;
  h.compressed_size = (int32_t)cn;
  h.num_values = (int32_t)rows;
  h.encoding = QN_PQ_PLAIN;
  h.def_encoding = QN_PQ_RLE;
  h.rep_encoding = QN_PQ_RLE;
  qn_pq_page_header_write(&hdr, &h, NULL, 0);
  if (hdr.oom) {
    status = qn_error_set(err, QN_ENOMEM, "out of memory writing a page header");
    goto done;
  }
  if (!pc->pages.p) qn_pq_pool_get((struct qn_pq_writer *)w, &pc->pages, hdr.len + cn);
  QN_CHECK(qn_pq_buf_reserve(ctx, &pc->pages, hdr.len + cn, err));
  memcpy(pc->pages.p + pc->pages.len, hdr.buf, hdr.len);
  memcpy(pc->pages.p + pc->pages.len + hdr.len, sc->comp.p, cn);
  pc->pages.len += hdr.len + cn;
  pc->uncompressed += (int64_t)(hdr.len + body_len);
  pc->values += rows;
done:
  qn_pq_tout_reset(&hdr);
  return status;
}

/* ----- values into a page ----- */

#define QN_PQ_STAT_SIGNED(v)                      \
  do {                                            \
    int64_t sv = (int64_t)(v);                    \
    if (!st->has || sv < st->imin) st->imin = sv; \
    if (!st->has || sv > st->imax) st->imax = sv; \
    st->has = 1;                                  \
  } while (0)
#define QN_PQ_STAT_UNSIGNED(v)                    \
  do {                                            \
    uint64_t uv = (uint64_t)(v);                  \
    if (!st->has || uv < st->umin) st->umin = uv; \
    if (!st->has || uv > st->umax) st->umax = uv; \
    st->has = 1;                                  \
  } while (0)
#define QN_PQ_STAT_FLOAT(v)                         \
  do {                                              \
    double fv = (double)(v);                        \
    if (fv == fv) {                                 \
      if (!st->has || fv < st->fmin) st->fmin = fv; \
      if (!st->has || fv > st->fmax) st->fmax = fv; \
      st->has = 1;                                  \
    }                                               \
  } while (0)

/* Appends the non-null values of rows [r0, r0 + n) converted to the
 * physical type; stats updated. One loop per type (no per-value switch). */
#define QN_PQ_APPEND(CT, PT, STAT)               \
  do {                                           \
    const CT *s = (const CT *)cb->data + r0;     \
    PT *d = (PT *)(void *)(vals->p + vals->len); \
    int64_t k = 0;                               \
    for (int64_t i = 0; i < n; i++) {            \
      if (valid && !valid[i]) continue;          \
      PT v = (PT)s[i];                           \
      memcpy(d + k, &v, sizeof v);               \
      k++;                                       \
      STAT(v);                                   \
    }                                            \
    vals->len += (size_t)k * sizeof(PT);         \
  } while (0)

static void qn_pq_append_fixed(const struct qn_pq_wcolumn *c, struct qn_pq_buf *vals,
                               struct qn_pq_wstat *st, const struct qn_colbuf *cb, int64_t r0,
                               int64_t n, const uint8_t *valid) {
  switch (c->d.type) {
    case QN_INT8:
      QN_PQ_APPEND(int8_t, int32_t, QN_PQ_STAT_SIGNED);
      break;
    case QN_INT16:
      QN_PQ_APPEND(int16_t, int32_t, QN_PQ_STAT_SIGNED);
      break;
    case QN_INT32:
    case QN_DATE:
      QN_PQ_APPEND(int32_t, int32_t, QN_PQ_STAT_SIGNED);
      break;
    case QN_INT64:
    case QN_TIMESTAMP:
      QN_PQ_APPEND(int64_t, int64_t, QN_PQ_STAT_SIGNED);
      break;
    case QN_UINT8:
      QN_PQ_APPEND(uint8_t, uint32_t, QN_PQ_STAT_UNSIGNED);
      break;
    case QN_UINT16:
      QN_PQ_APPEND(uint16_t, uint32_t, QN_PQ_STAT_UNSIGNED);
      break;
    case QN_UINT32:
      QN_PQ_APPEND(uint32_t, uint32_t, QN_PQ_STAT_UNSIGNED);
      break;
    case QN_UINT64:
      QN_PQ_APPEND(uint64_t, uint64_t, QN_PQ_STAT_UNSIGNED);
      break;
    case QN_FLOAT32:
      QN_PQ_APPEND(float, float, QN_PQ_STAT_FLOAT);
      break;
    case QN_FLOAT64:
      QN_PQ_APPEND(double, double, QN_PQ_STAT_FLOAT);
      break;
    case QN_BOOL:
      QN_PQ_APPEND(uint8_t, uint8_t, QN_PQ_STAT_SIGNED);
      break;
    default:
      break;
  }
}

/* Definition levels of n values: top for a value, top - 1 for a null. */
static void qn_pq_append_defs(struct qn_pq_buf *defs, struct qn_pq_wstat *st,
                              const uint8_t *valid, int64_t n, int top) {
  uint8_t *d = defs->p + defs->len;
  if (valid) {
    for (int64_t i = 0; i < n; i++) {
      d[i] = (uint8_t)(valid[i] ? top : top - 1);
      st->nulls += !valid[i];
    }
  } else {
    memset(d, top, (size_t)n);
  }
  defs->len += (size_t)n;
}

/* Bytes row r of column c adds to a page (values and levels, roughly):
 * what cuts slabs. */
static int64_t qn_pq_row_bytes(const struct qn_pq_wcolumn *c, const struct qn_colbuf *cb,
                               int64_t r) {
  int64_t e0 = cb->lists ? cb->lists[r] : r, e1 = cb->lists ? cb->lists[r + 1] : r + 1;
  if (c->phys != QN_PQ_BYTE_ARRAY) return (e1 - e0) * c->width + (cb->lists ? 1 : 0);
  return 4 * (e1 - e0) + (cb->offsets[e1] - cb->offsets[e0]) + (cb->lists ? 1 : 0);
}

/* Elements [e0, e1) of rows [r0, r1) of one column into the scratch:
 * values (non-null), definition and repetition levels. Returns the level
 * entries, or -1 with err set. */
static int64_t qn_pq_fill_page(const struct qn_pq_writer *w, const struct qn_pq_wcolumn *c,
                               struct qn_pq_wscratch *sc, const struct qn_colbuf *cb,
                               int64_t r0, int64_t r1, int64_t row_base, struct qn_pq_pcol *pc,
                               struct qn_error *err) {
  struct qn_context *ctx = w->ctx;
  int64_t e0 = cb->lists ? cb->lists[r0] : r0, e1 = cb->lists ? cb->lists[r1] : r1;
  int64_t ne = e1 - e0, empty = 0;
  const uint8_t *valid = cb->valid ? cb->valid + e0 : NULL;
  if (cb->lists)
    for (int64_t r = r0; r < r1; r++) empty += cb->lists[r + 1] == cb->lists[r];
  int64_t nlev = ne + empty;
  if (c->d.nullable == 0 && valid) {
    for (int64_t i = 0; i < ne; i++)
      if (!valid[i]) {
        {
          int64_t row = row_base + i; /* flat: element i is row r0 + i */
          if (cb->lists)              /* the row holding element e0 + i */
            for (int64_t r = r0; r < r1; r++)
              if (cb->lists[r + 1] > e0 + i) {
                row = row_base + (r - r0);
                break;
              }
          qn_error_set(err, QN_EINVAL,
                       "%s: column %s is not nullable but row %lld holds a null", w->path,
                       c->name, (long long)row);
        }
        return -1;
      }
    valid = NULL;
  }
  if (qn_pq_buf_reserve(ctx, &sc->defs, (size_t)nlev + 1, err) != QN_OK ||
      qn_pq_buf_reserve(ctx, &sc->reps, (size_t)nlev + 1, err) != QN_OK)
    return -1;
  if (c->phys == QN_PQ_BYTE_ARRAY) {
    int64_t bytes = cb->offsets[e1] - cb->offsets[e0];
    if (qn_pq_buf_reserve(ctx, &sc->vals, (size_t)(4 * ne + bytes), err) != QN_OK) return -1;
    for (int64_t i = 0; i < ne; i++) {
      if (valid && !valid[i]) continue;
      int64_t a = cb->offsets[e0 + i], b = cb->offsets[e0 + i + 1];
      if (a < 0 || b < a || b - a > INT32_MAX) {
        qn_error_set(err, QN_EINVAL, "%s: column %s: bad string offsets near row %lld", w->path,
                     c->name, (long long)row_base);
        return -1;
      }
      uint8_t len[4];
      qn_pq_put_le32(len, (uint32_t)(b - a));
      memcpy(sc->vals.p + sc->vals.len, len, 4);
      memcpy(sc->vals.p + sc->vals.len + 4, (const uint8_t *)cb->data + a, (size_t)(b - a));
      sc->vals.len += 4 + (size_t)(b - a);
      qn_pq_stat_str(&pc->st, (const uint8_t *)cb->data + a, (size_t)(b - a));
    }
  } else {
    if (qn_pq_buf_reserve(ctx, &sc->vals, (size_t)(ne * c->width), err) != QN_OK) return -1;
    qn_pq_append_fixed(c, &sc->vals, &pc->st, cb, e0, ne, valid);
  }
  if (!cb->lists) { /* flat: one level entry per row */
    if (c->max_def > 0) qn_pq_append_defs(&sc->defs, &pc->st, valid, ne, 1);
    return nlev;
  }
  /* a list: repetition 0 starts a row, 1 continues it; an empty list is
   * one entry at definition max_def - 1 - (optional element) */
  int top = c->max_def, k = 0;
  uint8_t *rep = sc->reps.p + sc->reps.len, *def = sc->defs.p + sc->defs.len;
  for (int64_t r = r0; r < r1; r++) {
    int64_t a = cb->lists[r], b = cb->lists[r + 1];
    if (a == b) {
      rep[k] = 0;
      def[k++] = (uint8_t)(c->d.nullable ? top - 2 : top - 1);
      continue;
    }
    for (int64_t e = a; e < b; e++) {
      rep[k] = e > a;
      int ok = !cb->valid || cb->valid[e];
      def[k++] = (uint8_t)(ok ? top : top - 1);
      pc->st.nulls += !ok;
    }
  }
  sc->reps.len += (size_t)k;
  sc->defs.len += (size_t)k;
  return nlev;
}

void qn_pq_part_free(struct qn_pq_writer *w, struct qn_pq_part *part) {
  if (!part) return;
  for (int s = 0; part->slabs && s < part->nslabs; s++) {
    for (int i = 0; part->slabs[s].cols && i < part->ncols; i++)
      qn_pq_pool_put(w, &part->slabs[s].cols[i].pages);
    free(part->slabs[s].cols);
  }
  free(part->slabs);
  free(part);
}

/* The slabs of a part: whole rows, closing at a row end once the slab's
 * bytes reach page_bytes or its rows QN_PQ_SLAB_ROWS; a function of the
 * part's rows alone. */
/* Whether column c's values in memory are its page body as they are: no
 * levels, no nulls, and the physical type is the in-memory one. */
static int qn_pq_plain_body(const struct qn_pq_wcolumn *c, const struct qn_colbuf *cb) {
  if (c->max_def > 0 || c->max_rep > 0 || cb->lists || cb->valid) return 0;
  switch (c->d.type) {
    case QN_INT32:
    case QN_DATE:
      return c->phys == QN_PQ_INT32 && c->width == 4;
    case QN_INT64:
    case QN_TIMESTAMP:
    case QN_UINT64:
      return c->phys == QN_PQ_INT64 && c->width == 8;
    case QN_FLOAT64:
      return c->phys == QN_PQ_DOUBLE && c->width == 8;
    default:
      return 0;
  }
}

/* Statistics of n such values: one read-only pass. A NaN is no bound (it
 * loses every comparison). */
#define QN_PQ_MINMAX(T, LO, HI)                \
  do {                                         \
    const T *v = (const T *)(const void *)src; \
    T lo = v[0], hi = v[0];                    \
    for (int64_t i = 1; i < n; i++) {          \
      lo = v[i] < lo ? v[i] : lo;              \
      hi = v[i] > hi ? v[i] : hi;              \
    }                                          \
    if (!st->has || lo < st->LO) st->LO = lo;  \
    if (!st->has || hi > st->HI) st->HI = hi;  \
    st->has = 1;                               \
  } while (0)

static void qn_pq_stat_plain(const struct qn_pq_wcolumn *c, struct qn_pq_wstat *st,
                             const uint8_t *src, int64_t n) {
  if (n <= 0) return;
  switch (c->d.type) {
    case QN_INT32:
    case QN_DATE:
      QN_PQ_MINMAX(int32_t, imin, imax);
      break;
    case QN_INT64:
    case QN_TIMESTAMP:
      QN_PQ_MINMAX(int64_t, imin, imax);
      break;
    case QN_UINT64:
      QN_PQ_MINMAX(uint64_t, umin, umax);
      break;
    default: { /* QN_FLOAT64 */
      const double *v = (const double *)(const void *)src;
      double lo = INFINITY, hi = -INFINITY;
      for (int64_t i = 0; i < n; i++) {
        lo = v[i] < lo ? v[i] : lo;
        hi = v[i] > hi ? v[i] : hi;
      }
      if (lo > hi) return; /* NaN only */
      if (!st->has || lo < st->fmin) st->fmin = lo;
      if (!st->has || hi > st->fmax) st->fmax = hi;
      st->has = 1;
    }
  }
}

static int qn_pq_cut_slabs(const struct qn_pq_writer *w, const struct qn_colbuf *cols,
                           int64_t nrows, int64_t **ends, int *nslabs, int *last_forced) {
  int cap = 4, n = 0;
  int64_t *e = malloc((size_t)cap * sizeof *e);
  if (!e) return QN_ENOMEM;
  int64_t bytes = 0, start = 0;
  for (int64_t r = 0; r < nrows; r++) {
    for (int i = 0; i < w->ncols; i++) bytes += qn_pq_row_bytes(&w->cols[i], &cols[i], r);
    int full = bytes >= w->opt.page_bytes || r + 1 - start >= QN_PQ_SLAB_ROWS;
    if (full || r + 1 == nrows) {
      *last_forced = !full;
      if (n == cap) {
        int64_t *x = realloc(e, (size_t)(cap *= 2) * sizeof *e);
        if (!x) {
          free(e);
          return QN_ENOMEM;
        }
        e = x;
      }
      e[n++] = r + 1;
      start = r + 1;
      bytes = 0;
    }
  }
  *ends = e;
  *nslabs = n;
  return QN_OK;
}

int qn_pq_writer_encode(struct qn_pq_writer *w, int worker, const struct qn_colbuf *cols,
                        int64_t nrows, int64_t row_base, struct qn_pq_part **out,
                        struct qn_error *err) {
  int64_t consumed;
  return qn_pq_writer_encode_ex(w, worker, cols, nrows, row_base, 1, out, &consumed, err);
}

int qn_pq_writer_encode_ex(struct qn_pq_writer *w, int worker, const struct qn_colbuf *cols,
                           int64_t nrows, int64_t row_base, int final, struct qn_pq_part **out,
                           int64_t *consumed, struct qn_error *err) {
  int status = QN_OK, forced = 0;
  int64_t *ends = NULL;
  if (worker < 0 || worker >= w->nscratch)
    return qn_error_set(err, QN_EINTERNAL, "%s: encode from worker %d of %d", w->path, worker,
                        w->nscratch);
  for (int i = 0; i < w->ncols; i++)
    if (cols[i].type != w->cols[i].d.type || !cols[i].lists != !w->cols[i].d.list)
      return qn_error_set(err, QN_EINVAL, "%s: column %s: batch type %s%s differs from %s%s",
                          w->path, w->cols[i].name, cols[i].lists ? "list of " : "",
                          qn_type_name(cols[i].type), w->cols[i].d.list ? "list of " : "",
                          qn_type_name(w->cols[i].d.type));
  struct qn_pq_part *part = calloc(1, sizeof *part);
  if (!part) return qn_error_set(err, QN_ENOMEM, "out of memory writing %s", w->path);
  part->ncols = w->ncols;
  part->rows = nrows;
  int ns = 0;
  if (nrows > 0 && qn_pq_cut_slabs(w, cols, nrows, &ends, &ns, &forced) != QN_OK) {
    status = qn_error_set(err, QN_ENOMEM, "out of memory writing %s", w->path);
    goto done;
  }
  /* not the part's end: a slab that ended only because the rows did waits
   * for the rows that follow, so the slabs are those of one whole part */
  if (!final && ns > 0 && forced) ns--;
  *consumed = ns ? ends[ns - 1] : 0;
  part->rows = *consumed;
  part->slabs = calloc((size_t)ns + 1, sizeof *part->slabs);
  if (!part->slabs) {
    status = qn_error_set(err, QN_ENOMEM, "out of memory writing %s", w->path);
    goto done;
  }
  part->nslabs = ns;
  struct qn_pq_wscratch *sc = &w->scratch[worker];
  for (int s = 0; s < ns; s++) {
    int64_t a = s ? ends[s - 1] : 0, b = ends[s];
    struct qn_pq_slab *sl = &part->slabs[s];
    sl->rows = b - a;
    sl->cols = calloc((size_t)w->ncols, sizeof *sl->cols);
    if (!sl->cols) {
      status = qn_error_set(err, QN_ENOMEM, "out of memory writing %s", w->path);
      goto done;
    }
    for (int i = 0; i < w->ncols; i++) {
      struct qn_pq_pcol *pc = &sl->cols[i];
      pc->st.s_ok = 1;
      sc->vals.len = sc->defs.len = sc->reps.len = 0;
      if (qn_pq_plain_body(&w->cols[i], &cols[i])) { /* compressed from the batch itself */
        const struct qn_pq_wcolumn *c = &w->cols[i];
        const uint8_t *src = (const uint8_t *)cols[i].data + a * c->width;
        qn_pq_stat_plain(c, &pc->st, src, b - a);
        QN_CHECK(qn_pq_page_put(w, c, sc, src, (size_t)((b - a) * c->width), b - a, pc, err));
        continue;
      }
      int64_t nlev = qn_pq_fill_page(w, &w->cols[i], sc, &cols[i], a, b, row_base + a, pc, err);
      if (nlev < 0) {
        status = err && err->code ? err->code : QN_EINVAL;
        goto done;
      }
      QN_CHECK(qn_pq_page_finish(w, &w->cols[i], sc, nlev, pc, err));
    }
  }
  *out = part;
  part = NULL;
done:
  free(ends);
  qn_pq_part_free(w, part);
  return status;
}

/* ----- row groups ----- */

static void qn_pq_stat_merge(const struct qn_pq_wcolumn *c, struct qn_pq_wstat *a,
                             const struct qn_pq_wstat *b) {
  a->nulls += b->nulls;
  if (c->phys == QN_PQ_BYTE_ARRAY) {
    if (!b->s_ok) a->s_ok = 0;
    if (b->has) {
      qn_pq_stat_str(a, b->smin, b->sminl);
      qn_pq_stat_str(a, b->smax, b->smaxl);
    }
    return;
  }
  if (!b->has) return;
  if (!a->has) {
    int64_t nulls = a->nulls;
    *a = *b;
    a->nulls = nulls;
    return;
  }
  a->imin = QN_MIN(a->imin, b->imin);
  a->imax = QN_MAX(a->imax, b->imax);
  a->umin = QN_MIN(a->umin, b->umin);
  a->umax = QN_MAX(a->umax, b->umax);
  a->fmin = QN_MIN(a->fmin, b->fmin);
  a->fmax = QN_MAX(a->fmax, b->fmax);
}

static int qn_pq_flush_rowgroup(struct qn_pq_writer *w, struct qn_error *err) {
  if (w->rg_rows == 0) return QN_OK;
  if (w->nrg == w->caprg) {
    int cap = w->caprg ? 2 * w->caprg : 16;
    struct qn_pq_rgmeta *p = realloc(w->rgs, (size_t)cap * sizeof *p);
    if (!p) return qn_error_set(err, QN_ENOMEM, "out of memory writing %s", w->path);
    w->rgs = p;
    w->caprg = cap;
  }
  struct qn_pq_rgmeta *rg = &w->rgs[w->nrg];
  memset(rg, 0, sizeof *rg);
  rg->chunks = calloc((size_t)w->ncols, sizeof *rg->chunks);
  if (!rg->chunks) return qn_error_set(err, QN_ENOMEM, "out of memory writing %s", w->path);
  w->nrg++;
  rg->rows = w->rg_rows;
  rg->offset = w->off;
  for (int i = 0; i < w->ncols; i++) {
    struct qn_pq_wcolumn *c = &w->cols[i];
    struct qn_pq_wchunk *ch = &rg->chunks[i];
    ch->offset = w->off;
    ch->uncompressed = c->chunk_uncompressed;
    ch->compressed = c->chunk_compressed;
    ch->values = c->chunk_values;
    QN_RETURN_IF_ERROR(qn_pq_stats_serialise(c, ch, err));
    for (int k = 0; k < c->npieces; k++) {
      QN_RETURN_IF_ERROR(qn_pq_fwrite(w, c->pieces[k].p, c->pieces[k].len, err));
      qn_pq_pool_put(w, &c->pieces[k]);
    }
    c->npieces = 0;
    rg->bytes += ch->uncompressed;
    rg->compressed += ch->compressed;
    c->chunk_compressed = 0;
    c->chunk_uncompressed = 0;
    c->chunk_values = 0;
    memset(&c->st, 0, sizeof c->st);
    c->st.s_ok = 1;
  }
  w->rg_rows = 0;
  w->rg_bytes = 0;
  return QN_OK;
}

int qn_pq_writer_append(struct qn_pq_writer *w, struct qn_pq_part *part, struct qn_error *err) {
  int status = QN_OK;
  for (int sl = 0; sl < part->nslabs; sl++) {
    struct qn_pq_slab *slab = &part->slabs[sl];
    for (int i = 0; i < w->ncols; i++) {
      struct qn_pq_wcolumn *c = &w->cols[i];
      struct qn_pq_pcol *pc = &slab->cols[i];
      if (c->npieces == c->cappieces) {
        int cap = c->cappieces ? 2 * c->cappieces : 16;
        struct qn_pq_buf *p = realloc(c->pieces, (size_t)cap * sizeof *p);
        if (!p) {
          status = qn_error_set(err, QN_ENOMEM, "out of memory writing %s", w->path);
          goto done;
        }
        c->pieces = p;
        c->cappieces = cap;
      }
      c->pieces[c->npieces++] = pc->pages; /* moved: the part no longer owns it */
      memset(&pc->pages, 0, sizeof pc->pages);
      c->chunk_compressed += (int64_t)c->pieces[c->npieces - 1].len;
      c->chunk_uncompressed += pc->uncompressed;
      c->chunk_values += pc->values;
      qn_pq_stat_merge(c, &c->st, &pc->st);
      w->rg_bytes += pc->uncompressed;
    }
    w->rows += slab->rows;
    w->rg_rows += slab->rows;
    /* cut between slabs, by counts over the data alone, never by memory */
    if (w->rg_rows >= w->opt.row_group_rows || w->rg_bytes >= w->opt.row_group_bytes)
      QN_CHECK(qn_pq_flush_rowgroup(w, err));
  }
done:
  qn_pq_part_free(w, part);
  return status;
}

int qn_pq_writer_write(struct qn_pq_writer *w, const struct qn_colbuf *cols, int64_t nrows,
                       struct qn_error *err) {
  struct qn_colbuf *view = calloc((size_t)w->ncols, sizeof *view);
  if (!view) return qn_error_set(err, QN_ENOMEM, "out of memory writing %s", w->path);
  int status = QN_OK;
  for (int64_t r0 = 0; r0 < nrows && status == QN_OK;) {
    int64_t n = QN_MIN(nrows - r0, (int64_t)QN_PQ_PART_ROWS);
    for (int i = 0; i < w->ncols; i++) {
      view[i] = cols[i];
      view[i].n = n;
      if (cols[i].lists) /* elements stay where they are: indexed absolutely */
        view[i].lists = cols[i].lists + r0;
      else if (cols[i].type == QN_STRING)
        view[i].offsets = cols[i].offsets + r0;
      else if (cols[i].data)
        view[i].data = (char *)cols[i].data + (size_t)r0 * qn_type_size(cols[i].type);
      view[i].valid = cols[i].valid ? cols[i].valid + r0 : NULL;
    }
    struct qn_pq_part *part = NULL;
    status = qn_pq_writer_encode(w, 0, view, n, w->rows, &part, err);
    if (status == QN_OK) status = qn_pq_writer_append(w, part, err);
    r0 += n;
  }
  free(view);
  return status;
}

/* ----- footer ----- */

static void qn_pq_w_empty_struct(struct qn_pq_tout *o, int16_t id) {
  qn_pq_w_field(o, id, QN_PQ_T_STRUCT);
  qn_pq_w_struct_begin(o);
  qn_pq_w_struct_end(o);
}

static void qn_pq_w_int_logical(struct qn_pq_tout *o, int bits, int is_signed) {
  qn_pq_w_field(o, 10, QN_PQ_T_STRUCT); /* SchemaElement.logicalType */
  qn_pq_w_struct_begin(o);
  qn_pq_w_field(o, 10, QN_PQ_T_STRUCT); /* LogicalType.INTEGER */
  qn_pq_w_struct_begin(o);
  qn_pq_w_field(o, 1, QN_PQ_T_I8);
  uint8_t b = (uint8_t)bits;
  qn_pq_w_raw(o, &b, 1);
  qn_pq_w_bool(o, 2, is_signed);
  qn_pq_w_struct_end(o);
  qn_pq_w_struct_end(o);
}

/* A LIST column's two outer levels (the standard 3-level form):
 * required group NAME (LIST) { repeated group list { <leaf> element; } } */
static void qn_pq_w_list_groups(struct qn_pq_tout *o, const struct qn_pq_wcolumn *c) {
  qn_pq_w_struct_begin(o);
  qn_pq_w_i32(o, 3, QN_PQ_REQUIRED);
  qn_pq_w_string(o, 4, c->name);
  qn_pq_w_i32(o, 5, 1);
  qn_pq_w_i32(o, 6, 3);                 /* ConvertedType LIST */
  qn_pq_w_field(o, 10, QN_PQ_T_STRUCT); /* LogicalType */
  qn_pq_w_struct_begin(o);
  qn_pq_w_empty_struct(o, 3); /* LIST */
  qn_pq_w_struct_end(o);
  qn_pq_w_struct_end(o);
  qn_pq_w_struct_begin(o);
  qn_pq_w_i32(o, 3, QN_PQ_REPEATED);
  qn_pq_w_string(o, 4, "list");
  qn_pq_w_i32(o, 5, 1);
  qn_pq_w_struct_end(o);
}

static void qn_pq_w_schema_leaf(struct qn_pq_tout *o, const struct qn_pq_wcolumn *c) {
  if (c->d.list) qn_pq_w_list_groups(o, c);
  qn_pq_w_struct_begin(o);
  qn_pq_w_i32(o, 1, c->phys);
  qn_pq_w_i32(o, 3, c->d.nullable ? QN_PQ_OPTIONAL : QN_PQ_REQUIRED);
  qn_pq_w_string(o, 4, c->d.list ? "element" : c->name);
  switch (c->d.type) {
    case QN_INT8:
      qn_pq_w_i32(o, 6, QN_PQ_CT_INT_8);
      qn_pq_w_int_logical(o, 8, 1);
      break;
    case QN_INT16:
      qn_pq_w_i32(o, 6, QN_PQ_CT_INT_16);
      qn_pq_w_int_logical(o, 16, 1);
      break;
    case QN_UINT8:
      qn_pq_w_i32(o, 6, QN_PQ_CT_UINT_8);
      qn_pq_w_int_logical(o, 8, 0);
      break;
    case QN_UINT16:
      qn_pq_w_i32(o, 6, QN_PQ_CT_UINT_16);
      qn_pq_w_int_logical(o, 16, 0);
      break;
    case QN_UINT32:
      qn_pq_w_i32(o, 6, QN_PQ_CT_UINT_32);
      qn_pq_w_int_logical(o, 32, 0);
      break;
    case QN_UINT64:
      qn_pq_w_i32(o, 6, QN_PQ_CT_UINT_64);
      qn_pq_w_int_logical(o, 64, 0);
      break;
    case QN_STRING:
      qn_pq_w_i32(o, 6, QN_PQ_CT_UTF8);
      qn_pq_w_field(o, 10, QN_PQ_T_STRUCT);
      qn_pq_w_struct_begin(o);
      qn_pq_w_empty_struct(o, 1);
      qn_pq_w_struct_end(o);
      break;
    case QN_DATE:
      qn_pq_w_i32(o, 6, QN_PQ_CT_DATE);
      qn_pq_w_field(o, 10, QN_PQ_T_STRUCT);
      qn_pq_w_struct_begin(o);
      qn_pq_w_empty_struct(o, 6);
      qn_pq_w_struct_end(o);
      break;
    case QN_TIMESTAMP: {
      int unit = c->d.time_unit == 1000 ? 1 : c->d.time_unit == 1000000 ? 2 : 3;
      if (unit < 3)
        qn_pq_w_i32(o, 6, unit == 1 ? QN_PQ_CT_TIMESTAMP_MILLIS : QN_PQ_CT_TIMESTAMP_MICROS);
      qn_pq_w_field(o, 10, QN_PQ_T_STRUCT);
      qn_pq_w_struct_begin(o);
      qn_pq_w_field(o, 8, QN_PQ_T_STRUCT); /* TimestampType */
      qn_pq_w_struct_begin(o);
      qn_pq_w_bool(o, 1, 0);               /* isAdjustedToUTC: naive, as quern's timestamps */
      qn_pq_w_field(o, 2, QN_PQ_T_STRUCT); /* TimeUnit */
      qn_pq_w_struct_begin(o);
      qn_pq_w_empty_struct(o, (int16_t)unit);
      qn_pq_w_struct_end(o);
      qn_pq_w_struct_end(o);
      qn_pq_w_struct_end(o);
      break;
    }
    default:
      break;
  }
  qn_pq_w_struct_end(o);
}

static void qn_pq_w_chunk(struct qn_pq_tout *o, const struct qn_pq_writer *w,
                          const struct qn_pq_wcolumn *c, const struct qn_pq_wchunk *ch) {
  qn_pq_w_struct_begin(o); /* ColumnChunk */
  qn_pq_w_i64(o, 2, 0);
  qn_pq_w_field(o, 3, QN_PQ_T_STRUCT); /* ColumnMetaData */
  qn_pq_w_struct_begin(o);
  qn_pq_w_i32(o, 1, c->phys);
  qn_pq_w_list(o, 2, QN_PQ_T_I32, 2);
  qn_pq_w_list_i32(o, QN_PQ_PLAIN);
  qn_pq_w_list_i32(o, QN_PQ_RLE);
  qn_pq_w_list(o, 3, QN_PQ_T_BINARY, c->d.list ? 3 : 1); /* path_in_schema */
  qn_pq_w_list_string(o, c->name);
  if (c->d.list) {
    qn_pq_w_list_string(o, "list");
    qn_pq_w_list_string(o, "element");
  }
  qn_pq_w_i32(o, 4, w->opt.codec);
  qn_pq_w_i64(o, 5, ch->values);
  qn_pq_w_i64(o, 6, ch->uncompressed);
  qn_pq_w_i64(o, 7, ch->compressed);
  qn_pq_w_i64(o, 9, ch->offset);
  if (ch->stats) {
    qn_pq_w_field(o, 12, QN_PQ_T_STRUCT);
    qn_pq_w_raw(o, ch->stats, ch->stats_len);
  }
  qn_pq_w_struct_end(o);
  qn_pq_w_struct_end(o);
}

static int qn_pq_write_footer(struct qn_pq_writer *w, struct qn_error *err) {
  struct qn_pq_tout o;
  qn_pq_tout_init(&o);
  qn_pq_w_struct_begin(&o);
  qn_pq_w_i32(&o, 1, 1);
  int nschema = 1;
  for (int i = 0; i < w->ncols; i++) nschema += w->cols[i].d.list ? 3 : 1;
  qn_pq_w_list(&o, 2, QN_PQ_T_STRUCT, nschema);
  qn_pq_w_struct_begin(&o);
  qn_pq_w_string(&o, 4, "schema");
  qn_pq_w_i32(&o, 5, w->ncols);
  qn_pq_w_struct_end(&o);
  for (int i = 0; i < w->ncols; i++) qn_pq_w_schema_leaf(&o, &w->cols[i]);
  qn_pq_w_i64(&o, 3, w->rows);
  qn_pq_w_list(&o, 4, QN_PQ_T_STRUCT, w->nrg);
  for (int g = 0; g < w->nrg; g++) {
    const struct qn_pq_rgmeta *rg = &w->rgs[g];
    qn_pq_w_struct_begin(&o);
    qn_pq_w_list(&o, 1, QN_PQ_T_STRUCT, w->ncols);
    for (int i = 0; i < w->ncols; i++) qn_pq_w_chunk(&o, w, &w->cols[i], &rg->chunks[i]);
    qn_pq_w_i64(&o, 2, rg->bytes);
    qn_pq_w_i64(&o, 3, rg->rows);
    qn_pq_w_i64(&o, 5, rg->offset);
    qn_pq_w_i64(&o, 6, rg->compressed);
    qn_pq_w_struct_end(&o);
  }
  qn_pq_w_string(&o, 6, w->opt.created_by ? w->opt.created_by : w->created_by);
  qn_pq_w_list(&o, 7, QN_PQ_T_STRUCT, w->ncols); /* column_orders: TYPE_ORDER each */
  for (int i = 0; i < w->ncols; i++) {
    qn_pq_w_struct_begin(&o);
    qn_pq_w_empty_struct(&o, 1);
    qn_pq_w_struct_end(&o);
  }
  qn_pq_w_struct_end(&o);
  int status = QN_OK;
  if (o.oom || o.len > UINT32_MAX) {
    status = qn_error_set(err, QN_ENOMEM, "%s: out of memory writing the footer", w->path);
  } else {
    uint8_t tail[8];
    qn_pq_put_le32(tail, (uint32_t)o.len);
    memcpy(tail + 4, "PAR1", 4);
    status = qn_pq_fwrite(w, o.buf, o.len, err);
    if (status == QN_OK) status = qn_pq_fwrite(w, tail, 8, err);
  }
  qn_pq_tout_reset(&o);
  return status;
}

/* ----- open, close ----- */

static int qn_pq_wcol_setup(struct qn_pq_writer *w, struct qn_pq_wcolumn *c,
                            const struct qn_pq_wcol *d, struct qn_error *err) {
  c->d = *d;
  c->st.s_ok = 1;
  c->name = qn_strdup(d->name ? d->name : "");
  if (!c->name) return qn_error_set(err, QN_ENOMEM, "out of memory");
  /* flat: optional adds a definition level; a required LIST of elements
   * adds one for the repeated level and one more for optional elements */
  c->max_def = (d->list ? 1 : 0) + (d->nullable ? 1 : 0);
  c->max_rep = d->list ? 1 : 0;
  switch (d->type) {
    case QN_INT8:
    case QN_INT16:
    case QN_INT32:
    case QN_DATE:
      c->phys = QN_PQ_INT32;
      c->width = 4;
      c->signed_order = 1;
      break;
    case QN_UINT8:
    case QN_UINT16:
    case QN_UINT32:
      c->phys = QN_PQ_INT32;
      c->width = 4;
      c->unsigned_order = 1;
      break;
    case QN_INT64:
      c->phys = QN_PQ_INT64;
      c->width = 8;
      c->signed_order = 1;
      break;
    case QN_TIMESTAMP:
      if (d->time_unit != 1000 && d->time_unit != 1000000 && d->time_unit != 1000000000)
        return qn_error_set(err, QN_EINVAL,
                            "%s: column %s: timestamp unit %lld per second is not "
                            "ms, us or ns",
                            w->path, c->name, (long long)d->time_unit);
      c->phys = QN_PQ_INT64;
      c->width = 8;
      c->signed_order = 1;
      break;
    case QN_UINT64:
      c->phys = QN_PQ_INT64;
      c->width = 8;
      c->unsigned_order = 1;
      break;
    case QN_FLOAT32:
      c->phys = QN_PQ_FLOAT;
      c->width = 4;
      c->float_order = 1;
      break;
    case QN_FLOAT64:
      c->phys = QN_PQ_DOUBLE;
      c->width = 8;
      c->float_order = 1;
      break;
    case QN_BOOL:
      c->phys = QN_PQ_BOOLEAN;
      c->width = 1;
      c->signed_order = 1;
      break;
    case QN_STRING:
      c->phys = QN_PQ_BYTE_ARRAY;
      c->width = 0;
      break;
    default:
      return qn_error_set(err, QN_EINVAL, "%s: column %s: type %s cannot be written to Parquet",
                          w->path, c->name, qn_type_name(d->type));
  }
  return QN_OK;
}

static void qn_pq_writer_free(struct qn_pq_writer *w) {
  if (!w) return;
  for (int i = 0; w->cols && i < w->ncols; i++) {
    struct qn_pq_wcolumn *c = &w->cols[i];
    free(c->name);
    for (int k = 0; k < c->npieces; k++) qn_pq_buf_free(w->ctx, &c->pieces[k]);
    free(c->pieces);
  }
  for (int g = 0; g < w->nrg; g++) {
    for (int i = 0; w->rgs[g].chunks && i < w->ncols; i++) free(w->rgs[g].chunks[i].stats);
    free(w->rgs[g].chunks);
  }
  free(w->rgs);
  free(w->cols);
  for (int i = 0; i < w->npool; i++) qn_pq_buf_free(w->ctx, &w->pool[i]);
  pthread_mutex_destroy(&w->pool_lock);
  for (int i = 0; w->scratch && i < w->nscratch; i++)
    qn_pq_wscratch_free(w->ctx, &w->scratch[i]);
  free(w->scratch);
  free(w->path);
  free(w);
}

int qn_pq_writer_open(struct qn_context *ctx, const char *path, const struct qn_pq_wcol *cols,
                      int ncols, const struct qn_pq_writer_options *opt,
                      struct qn_pq_writer **out, struct qn_error *err) {
  int status = QN_OK;
  if (ncols <= 0) return qn_error_set(err, QN_EINVAL, "%s: no columns to write", path);
  struct qn_pq_writer *w = calloc(1, sizeof *w);
  if (!w) return qn_error_set(err, QN_ENOMEM, "out of memory");
  pthread_mutex_init(&w->pool_lock, NULL);
  w->ctx = ctx;
  if (opt)
    w->opt = *opt;
  else
    qn_pq_writer_options_init(&w->opt);
  snprintf(w->created_by, sizeof w->created_by, "quern version %s", QN_VERSION_STRING);
  if (!qn_pq_codec_supported(w->opt.codec) || w->opt.codec == QN_PQ_LZ4) {
    status =
        qn_error_set(err, QN_EINVAL, "cannot write codec %s", qn_pq_codec_name(w->opt.codec));
    goto done;
  }
  /* the layout comes from these counts alone, never from the budget */
  if (w->opt.page_bytes <= 0) w->opt.page_bytes = (int64_t)1 << 20;
  if (w->opt.row_group_rows <= 0) w->opt.row_group_rows = (int64_t)1 << 20;
  if (w->opt.row_group_bytes <= 0) w->opt.row_group_bytes = (int64_t)4 << 20;
  w->path = qn_strdup(path);
  w->cols = calloc((size_t)ncols, sizeof *w->cols);
  w->nscratch = QN_MAX(1, qn_context_threads(ctx));
  w->scratch = calloc((size_t)w->nscratch, sizeof *w->scratch);
  if (!w->path || !w->cols || !w->scratch) {
    status = qn_error_set(err, QN_ENOMEM, "out of memory");
    goto done;
  }
  w->ncols = ncols;
  for (int i = 0; i < ncols; i++) QN_CHECK(qn_pq_wcol_setup(w, &w->cols[i], &cols[i], err));
  QN_CHECK(qn_outfile_open(path, &w->of, err));
  QN_CHECK(qn_pq_fwrite(w, "PAR1", 4, err));
done:
  if (status != QN_OK) {
    qn_pq_writer_abort(w);
    return status;
  }
  *out = w;
  return QN_OK;
}

void qn_pq_writer_abort(struct qn_pq_writer *w) {
  if (!w) return;
  if (w->of) qn_outfile_abort(w->of);
  qn_pq_writer_free(w);
}

int qn_pq_writer_close(struct qn_pq_writer *w, struct qn_error *err) {
  return qn_pq_writer_close_sum(w, NULL, err);
}

int qn_pq_writer_close_sum(struct qn_pq_writer *w, struct qn_checksum *sum,
                           struct qn_error *err) {
  int status = qn_pq_flush_rowgroup(w, err);
  if (status == QN_OK) status = qn_pq_write_footer(w, err);
  if (status == QN_OK) {
    status = qn_outfile_commit_sum(w->of, sum, err);
    w->of = NULL;
  }
  qn_pq_writer_abort(w);
  return status;
}

/* ----- the table writer of qn_writer.h ----- */

struct qn_pq_table {
  struct qn_writer base;
  struct qn_pq_writer *pq;
};

static int qn_pq_t_encode(struct qn_writer *w, int worker, const struct qn_colbuf *cols,
                          int64_t n, int64_t row_base, void **part, struct qn_error *err) {
  return qn_pq_writer_encode(((struct qn_pq_table *)w)->pq, worker, cols, n, row_base,
                             (struct qn_pq_part **)part, err);
}
static int qn_pq_t_append(struct qn_writer *w, void *part, struct qn_error *err) {
  struct qn_pq_table *t = (struct qn_pq_table *)w;
  int st = qn_pq_writer_append(t->pq, part, err);
  if (st == QN_OK) w->rows = qn_pq_writer_rows(t->pq);
  return st;
}
static void qn_pq_t_part_free(struct qn_writer *w, void *part) {
  qn_pq_part_free(((struct qn_pq_table *)w)->pq, part);
}
static void qn_pq_t_free(struct qn_pq_table *t) {
  qn_writer_base_reset(&t->base);
  free(t);
}
static int qn_pq_t_close(struct qn_writer *w, struct qn_checksum *sum, struct qn_error *err) {
  struct qn_pq_table *t = (struct qn_pq_table *)w;
  int st = qn_pq_writer_close_sum(t->pq, sum, err);
  qn_pq_t_free(t);
  return st;
}
static void qn_pq_t_abort(struct qn_writer *w) {
  struct qn_pq_table *t = (struct qn_pq_table *)w;
  qn_pq_writer_abort(t->pq);
  qn_pq_t_free(t);
}
static int qn_pq_t_encode_partial(struct qn_writer *w, int worker, const struct qn_colbuf *cols,
                                  int64_t n, int64_t row_base, void **part, int64_t *consumed,
                                  struct qn_error *err);
static const struct qn_writer_ops qn_pq_t_ops = {qn_pq_t_encode,    qn_pq_t_append,
                                                 qn_pq_t_part_free, qn_pq_t_close,
                                                 qn_pq_t_abort,     qn_pq_t_encode_partial};

static int qn_pq_t_open(struct qn_context *ctx, const char *path, const struct qn_wcolumn *cols,
                        int ncols, const struct qn_writer_options *opt, struct qn_writer **out,
                        struct qn_error *err) {
  int status = QN_OK;
  struct qn_pq_writer_options wo;
  qn_pq_writer_options_init(&wo);
  if (opt->codec) QN_RETURN_IF_ERROR(qn_pq_codec_parse(opt->codec, &wo.codec, err));
  struct qn_pq_table *t = calloc(1, sizeof *t);
  struct qn_pq_wcol *wc = calloc((size_t)ncols + 1, sizeof *wc);
  if (!t || !wc) {
    status = qn_error_set(err, QN_ENOMEM, "out of memory");
    goto done;
  }
  t->base.ops = &qn_pq_t_ops;
  QN_CHECK(qn_writer_base_init(&t->base, ctx, "parquet", path, cols, ncols, err));
  for (int c = 0; c < ncols; c++)
    wc[c] = (struct qn_pq_wcol){cols[c].name, cols[c].type, cols[c].nullable,
                                cols[c].time_unit ? cols[c].time_unit : 1000000, cols[c].list};
  QN_CHECK(qn_pq_writer_open(ctx, path, wc, ncols, &wo, &t->pq, err));
  *out = &t->base;
  t = NULL;
done:
  if (t) qn_pq_t_free(t);
  free(wc);
  return status;
}

static const char *const qn_pq_t_ext[] = {".parquet", ".pq", NULL};
const struct qn_writer_format qn_writer_parquet = {"parquet", qn_pq_t_ext, qn_pq_t_open};

static int qn_pq_t_encode_partial(struct qn_writer *w, int worker, const struct qn_colbuf *cols,
                                  int64_t n, int64_t row_base, void **part, int64_t *consumed,
                                  struct qn_error *err) {
  return qn_pq_writer_encode_ex(((struct qn_pq_table *)w)->pq, worker, cols, n, row_base, 0,
                                (struct qn_pq_part **)part, consumed, err);
}
