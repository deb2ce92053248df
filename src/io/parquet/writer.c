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
#include "qn_pq_writer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define QN_PQ_SLICE 8192
#define QN_PQ_STAT_MAX 256        /* longest string kept as a min/max statistic */
#define QN_PQ_PAGE_ROWS (1 << 20) /* rows per page at most (nulls add no bytes) */

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
  int phys, width, max_def;
  int signed_order, unsigned_order, float_order;
  struct qn_pq_buf vals; /* open page: PLAIN values (BOOLEAN: 1 byte each) */
  struct qn_pq_buf defs; /* open page: one definition level per row */
  int64_t page_rows;
  struct qn_pq_buf chunk; /* this row group's finished pages */
  int64_t chunk_uncompressed, chunk_values;
  struct qn_pq_wstat st;
};

struct qn_pq_writer {
  struct qn_context *ctx;
  char *path;
  struct qn_outfile *of;
  FILE *fp;
  int64_t off;
  struct qn_pq_writer_options opt;
  int ncols;
  struct qn_pq_wcolumn *cols;
  struct qn_pq_rgmeta *rgs;
  int nrg, caprg;
  int64_t rows;
  struct qn_pq_buf page, comp; /* page assembly and compressed output */
  char created_by[64];
};

void qn_pq_writer_options_init(struct qn_pq_writer_options *opt) {
  memset(opt, 0, sizeof *opt);
  opt->codec = QN_PQ_SNAPPY;
  opt->row_group_bytes = (int64_t)64 << 20;
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
  if (n && fwrite(p, 1, n, w->fp) != n)
    return qn_error_set(err, QN_EIO, "%s: write failed at byte %lld", w->path,
                        (long long)w->off);
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

/* ----- pages ----- */

static int qn_pq_page_finish(struct qn_pq_writer *w, struct qn_pq_wcolumn *c,
                             struct qn_error *err) {
  if (c->page_rows == 0) return QN_OK;
  struct qn_context *ctx = w->ctx;
  struct qn_pq_tout lv, hdr;
  int status = QN_OK;
  qn_pq_tout_init(&lv);
  qn_pq_tout_init(&hdr);
  w->page.len = 0;
  if (c->max_def > 0) {
    qn_pq_rle_encode(&lv, c->defs.p, c->page_rows, 1);
    uint8_t len[4];
    qn_pq_put_le32(len, (uint32_t)lv.len);
    QN_CHECK(qn_pq_buf_put(ctx, &w->page, len, 4, err));
    QN_CHECK(qn_pq_buf_put(ctx, &w->page, lv.buf, lv.len, err));
  }
  if (c->phys == QN_PQ_BOOLEAN) {
    size_t nb = (c->vals.len + 7) / 8;
    QN_CHECK(qn_pq_buf_reserve(ctx, &w->page, nb, err));
    memset(w->page.p + w->page.len, 0, nb);
    for (size_t i = 0; i < c->vals.len; i++)
      w->page.p[w->page.len + i / 8] |= (uint8_t)((c->vals.p[i] != 0) << (i % 8));
    w->page.len += nb;
  } else {
    QN_CHECK(qn_pq_buf_put(ctx, &w->page, c->vals.p, c->vals.len, err));
  }
  if (w->page.len > INT32_MAX) {
    status =
        qn_error_set(err, QN_EINVAL, "%s: a page of column %s exceeds 2 GiB", w->path, c->name);
    goto done;
  }
  size_t bound = qn_pq_compress_bound(w->opt.codec, w->page.len);
  QN_CHECK(qn_pq_buf_reserve(ctx, &w->comp, bound - w->comp.len, err));
  size_t cn = w->comp.cap;
  QN_CHECK(
      qn_pq_compress(w->opt.codec, w->opt.level, w->page.p, w->page.len, w->comp.p, &cn, err));
  struct qn_pq_page_header h;
  memset(&h, 0, sizeof h);
  h.type = QN_PQ_DATA_PAGE;
  h.uncompressed_size = (int32_t)w->page.len;
  h.compressed_size = (int32_t)cn;
  h.num_values = (int32_t)c->page_rows;
  h.encoding = QN_PQ_PLAIN;
  h.def_encoding = QN_PQ_RLE;
  h.rep_encoding = QN_PQ_RLE;
  qn_pq_page_header_write(&hdr, &h, NULL, 0);
  if (lv.oom || hdr.oom) {
    status = qn_error_set(err, QN_ENOMEM, "out of memory writing a page header");
    goto done;
  }
  if (c->chunk.cap == 0) {
    /* size the chunk buffer once for its share of a row group, so it does
     * not grow by doubling (and copying) page after page */
    int64_t share = w->opt.row_group_bytes / w->ncols + (int64_t)(hdr.len + cn);
    QN_CHECK(qn_pq_buf_reserve(ctx, &c->chunk, (size_t)QN_MIN(share, (int64_t)64 << 20), err));
  }
  QN_CHECK(qn_pq_buf_put(ctx, &c->chunk, hdr.buf, hdr.len, err));
  QN_CHECK(qn_pq_buf_put(ctx, &c->chunk, w->comp.p, cn, err));
  c->chunk_uncompressed += (int64_t)(hdr.len + w->page.len);
  c->chunk_values += c->page_rows;
  c->page_rows = 0;
  c->vals.len = 0;
  c->defs.len = 0;
done:
  qn_pq_tout_reset(&lv);
  qn_pq_tout_reset(&hdr);
  return status;
}

/* ----- appending values ----- */

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
#define QN_PQ_APPEND(CT, PT, STAT)                   \
  do {                                               \
    const CT *s = (const CT *)cb->data + r0;         \
    PT *d = (PT *)(void *)(c->vals.p + c->vals.len); \
    int64_t k = 0;                                   \
    for (int64_t i = 0; i < n; i++) {                \
      if (valid && !valid[i]) continue;              \
      PT v = (PT)s[i];                               \
      memcpy(d + k, &v, sizeof v);                   \
      k++;                                           \
      STAT(v);                                       \
    }                                                \
    c->vals.len += (size_t)k * sizeof(PT);           \
  } while (0)

static void qn_pq_append_fixed(struct qn_pq_wcolumn *c, const struct qn_colbuf *cb, int64_t r0,
                               int64_t n, const uint8_t *valid) {
  struct qn_pq_wstat *st = &c->st;
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

static void qn_pq_append_defs(struct qn_pq_wcolumn *c, const uint8_t *valid, int64_t n) {
  uint8_t *d = c->defs.p + c->defs.len;
  if (valid) {
    for (int64_t i = 0; i < n; i++) {
      d[i] = valid[i] != 0;
      c->st.nulls += !valid[i];
    }
  } else {
    memset(d, 1, (size_t)n);
  }
  c->defs.len += (size_t)n;
}

static int qn_pq_append_strings(struct qn_pq_writer *w, struct qn_pq_wcolumn *c,
                                const struct qn_colbuf *cb, int64_t r0, int64_t n,
                                struct qn_error *err) {
  const uint8_t *valid = cb->valid ? cb->valid + r0 : NULL;
  for (int64_t i = 0; i < n; i++) {
    if (c->max_def > 0) {
      QN_RETURN_IF_ERROR(qn_pq_buf_reserve(w->ctx, &c->defs, 1, err));
      qn_pq_append_defs(c, valid ? valid + i : NULL, 1);
    }
    c->page_rows++;
    if (!valid || valid[i]) {
      int64_t a = cb->offsets[r0 + i], b = cb->offsets[r0 + i + 1];
      if (a < 0 || b < a || b - a > INT32_MAX)
        return qn_error_set(err, QN_EINVAL, "%s: column %s: bad string offsets at row %lld",
                            w->path, c->name, (long long)(w->rows + r0 + i));
      uint8_t len[4];
      qn_pq_put_le32(len, (uint32_t)(b - a));
      QN_RETURN_IF_ERROR(qn_pq_buf_put(w->ctx, &c->vals, len, 4, err));
      QN_RETURN_IF_ERROR(
          qn_pq_buf_put(w->ctx, &c->vals, (const uint8_t *)cb->data + a, (size_t)(b - a), err));
      qn_pq_stat_str(&c->st, (const uint8_t *)cb->data + a, (size_t)(b - a));
    }
    if ((int64_t)c->vals.len >= w->opt.page_bytes || c->page_rows >= QN_PQ_PAGE_ROWS)
      QN_RETURN_IF_ERROR(qn_pq_page_finish(w, c, err));
  }
  return QN_OK;
}

/* Appends rows [r0, r0 + n) of one column, closing pages as they fill. */
static int qn_pq_append(struct qn_pq_writer *w, struct qn_pq_wcolumn *c,
                        const struct qn_colbuf *cb, int64_t r0, int64_t n,
                        struct qn_error *err) {
  if (c->d.nullable == 0 && cb->valid) {
    for (int64_t i = 0; i < n; i++)
      if (!cb->valid[r0 + i])
        return qn_error_set(err, QN_EINVAL,
                            "%s: column %s is not nullable but row %lld is null", w->path,
                            c->name, (long long)(w->rows + r0 + i));
  }
  if (c->phys == QN_PQ_BYTE_ARRAY) return qn_pq_append_strings(w, c, cb, r0, n, err);
  int64_t cap =
      QN_MIN(QN_MAX((int64_t)1, w->opt.page_bytes / c->width), (int64_t)QN_PQ_PAGE_ROWS);
  while (n > 0) {
    int64_t m = QN_MIN(n, cap - c->page_rows);
    QN_RETURN_IF_ERROR(qn_pq_buf_reserve(w->ctx, &c->vals, (size_t)(m * c->width), err));
    QN_RETURN_IF_ERROR(qn_pq_buf_reserve(w->ctx, &c->defs, (size_t)m, err));
    const uint8_t *valid = cb->valid ? cb->valid + r0 : NULL;
    if (c->max_def > 0) qn_pq_append_defs(c, valid, m);
    qn_pq_append_fixed(c, cb, r0, m, valid);
    c->page_rows += m;
    if (c->page_rows >= cap) QN_RETURN_IF_ERROR(qn_pq_page_finish(w, c, err));
    r0 += m;
    n -= m;
  }
  return QN_OK;
}

/* ----- row groups ----- */

static int qn_pq_flush_rowgroup(struct qn_pq_writer *w, int64_t rows, struct qn_error *err) {
  if (rows == 0) return QN_OK;
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
  rg->rows = rows;
  rg->offset = w->off;
  for (int i = 0; i < w->ncols; i++) {
    struct qn_pq_wcolumn *c = &w->cols[i];
    QN_RETURN_IF_ERROR(qn_pq_page_finish(w, c, err));
    struct qn_pq_wchunk *ch = &rg->chunks[i];
    ch->offset = w->off;
    ch->uncompressed = c->chunk_uncompressed;
    ch->compressed = (int64_t)c->chunk.len;
    ch->values = c->chunk_values;
    QN_RETURN_IF_ERROR(qn_pq_stats_serialise(c, ch, err));
    QN_RETURN_IF_ERROR(qn_pq_fwrite(w, c->chunk.p, c->chunk.len, err));
    rg->bytes += ch->uncompressed;
    rg->compressed += ch->compressed;
    c->chunk.len = 0;
    c->chunk_uncompressed = 0;
    c->chunk_values = 0;
    memset(&c->st, 0, sizeof c->st);
    c->st.s_ok = 1;
  }
  return QN_OK;
}

static int64_t qn_pq_buffered(const struct qn_pq_writer *w) {
  int64_t b = 0;
  for (int i = 0; i < w->ncols; i++) b += (int64_t)(w->cols[i].chunk.len + w->cols[i].vals.len);
  return b;
}

int qn_pq_writer_write(struct qn_pq_writer *w, const struct qn_colbuf *cols, int64_t nrows,
                       struct qn_error *err) {
  for (int64_t r0 = 0; r0 < nrows;) {
    int64_t n = QN_MIN(nrows - r0, QN_PQ_SLICE);
    for (int i = 0; i < w->ncols; i++) {
      if (cols[i].type != w->cols[i].d.type)
        return qn_error_set(err, QN_EINVAL, "%s: column %s: batch type %s differs from %s",
                            w->path, w->cols[i].name, qn_type_name(cols[i].type),
                            qn_type_name(w->cols[i].d.type));
      QN_RETURN_IF_ERROR(qn_pq_append(w, &w->cols[i], &cols[i], r0, n, err));
    }
    r0 += n;
    w->rows += n;
    int64_t rg_rows = w->rows;
    for (int g = 0; g < w->nrg; g++) rg_rows -= w->rgs[g].rows;
    if (qn_pq_buffered(w) >= w->opt.row_group_bytes)
      QN_RETURN_IF_ERROR(qn_pq_flush_rowgroup(w, rg_rows, err));
  }
  return QN_OK;
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

static void qn_pq_w_schema_leaf(struct qn_pq_tout *o, const struct qn_pq_wcolumn *c) {
  qn_pq_w_struct_begin(o);
  qn_pq_w_i32(o, 1, c->phys);
  qn_pq_w_i32(o, 3, c->d.nullable ? QN_PQ_OPTIONAL : QN_PQ_REQUIRED);
  qn_pq_w_string(o, 4, c->name);
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
  qn_pq_w_list(o, 3, QN_PQ_T_BINARY, 1);
  qn_pq_w_list_string(o, c->name);
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
  qn_pq_w_list(&o, 2, QN_PQ_T_STRUCT, w->ncols + 1);
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
  if (d->list)
    return qn_error_set(err, QN_EINVAL, "%s: column %s: LIST columns are not written yet",
                        w->path, c->name);
  c->max_def = d->nullable ? 1 : 0;
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
    qn_pq_buf_free(w->ctx, &c->vals);
    qn_pq_buf_free(w->ctx, &c->defs);
    qn_pq_buf_free(w->ctx, &c->chunk);
  }
  for (int g = 0; g < w->nrg; g++) {
    for (int i = 0; w->rgs[g].chunks && i < w->ncols; i++) free(w->rgs[g].chunks[i].stats);
    free(w->rgs[g].chunks);
  }
  free(w->rgs);
  free(w->cols);
  qn_pq_buf_free(w->ctx, &w->page);
  qn_pq_buf_free(w->ctx, &w->comp);
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
  if (w->opt.page_bytes <= 0) w->opt.page_bytes = (int64_t)1 << 20;
  if (w->opt.row_group_bytes <= 0) w->opt.row_group_bytes = (int64_t)64 << 20;
  /* a row group must fit the budget with room for the rest of the job */
  int64_t avail = qn_mem_available(ctx) / 3;
  if (w->opt.row_group_bytes > avail) w->opt.row_group_bytes = QN_MAX(avail, (int64_t)1 << 20);
  w->path = qn_strdup(path);
  w->cols = calloc((size_t)ncols, sizeof *w->cols);
  if (!w->path || !w->cols) {
    status = qn_error_set(err, QN_ENOMEM, "out of memory");
    goto done;
  }
  w->ncols = ncols;
  for (int i = 0; i < ncols; i++) QN_CHECK(qn_pq_wcol_setup(w, &w->cols[i], &cols[i], err));
  QN_CHECK(qn_outfile_open(path, &w->of, err));
  w->fp = qn_outfile_stream(w->of);
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
  int64_t rg_rows = w->rows;
  for (int g = 0; g < w->nrg; g++) rg_rows -= w->rgs[g].rows;
  int status = qn_pq_flush_rowgroup(w, rg_rows, err);
  if (status == QN_OK) status = qn_pq_write_footer(w, err);
  if (status == QN_OK) {
    status = qn_outfile_commit(w->of, err);
    w->of = NULL;
  }
  qn_pq_writer_abort(w);
  return status;
}
