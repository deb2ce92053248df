/* reader.c — the Parquet qn_reader: qn_pq_open, read, info, minmax, close.
 *
 * Design: the footer is parsed once at open (meta.c). A read of rows
 * [row0, row0 + n) of one column walks row groups and pages with a
 * *cursor*: the position in one column chunk (next page offset, rows before
 * it), the current page decompressed with its level and value decoders, the
 * chunk's dictionary, an I/O window and scratch buffers. Cursors live in a
 * per-column pool: a read takes the idle cursor positioned closest before
 * row0 (or makes one), so consecutive reads continue where the last ended
 * and no page is decoded twice in a sequential scan; pages before the
 * target are skipped by their headers alone, without decompression.
 *
 * Threads: `read` may run on several workers at once (parallel_read = 1).
 * Each call holds its cursor exclusively; the pool is guarded by a mutex;
 * I/O is pread on a shared descriptor. Nothing else is mutable after open.
 *
 * Memory: per cursor, one page's compressed bytes (I/O window), its
 * decompressed bytes, the dictionary and small scratch, all from the
 * budget. Cursors exist at most as many per column as reads ran at once.
 *
 * Statistics: `minmax` answers a column's bounds from the column chunk
 * statistics alone when the specification lets them be trusted (see
 * qn_pq_chunk_bounds); the bin job's range pass then reads no value.
 *
 * Bounds: all offsets were checked against the file at open; each page's
 * header and body must lie inside its column chunk; the page walk advances
 * by at least one byte per step, so it ends; decoders check their input.
 */
#include "qn_pq.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define QN_PQ_PROBE 8192            /* bytes read to find a page header */
#define QN_PQ_MAX_HEADER (64 << 20) /* a page header larger than this is corrupt */
#define QN_PQ_CONV_CHUNK 4096

struct qn_pq_cursor {
  struct qn_pq_cursor *next; /* idle list link */
  int leaf;
  int rg; /* row group of the chunk, -1 = none */
  int64_t chunk_end;
  int64_t next_page;   /* offset of the next page header */
  int64_t rows_before; /* rows of the chunk before next_page */
  int dict_rg;         /* row group whose dictionary is loaded, -1 */
  /* current page */
  int page_valid;
  int64_t page_off, page_row0, page_rows, page_pos;
  struct qn_pq_page_header ph;
  const uint8_t *pdata, *pend;
  struct qn_pq_rle def;
  struct qn_pq_vdec vals;
  struct qn_pq_dict dict;
  /* I/O window: bytes [io_off, io_off + io_len) of the file */
  uint8_t *io;
  size_t io_cap, io_len;
  int64_t io_off;
  size_t last_page_bytes;
  struct qn_pq_scratch scr; /* 0 page, 1 conversion/levels, 2-3 values */
  struct qn_pq_codec_state *codec;
};

struct qn_pq_colpool {
  pthread_mutex_t lock;
  struct qn_pq_cursor *idle;
};

struct qn_pq_reader {
  struct qn_reader base; /* first: the reader handed out */
  int fd;
  struct qn_pq_meta *meta;
  int *leaf_of; /* exposed column -> leaf */
  struct qn_pq_colpool *pools;
  pthread_mutex_t fd_lock; /* guards reopening fd after release */
};

static const struct qn_reader_ops qn_pq_ops;

/* ----- cursor pool ----- */

static void qn_pq_cursor_free(struct qn_context *ctx, struct qn_pq_cursor *c) {
  if (!c) return;
  qn_pq_dict_free(ctx, &c->dict);
  qn_mem_free(ctx, c->io);
  qn_pq_scratch_free(&c->scr);
  qn_pq_codec_state_free(c->codec);
  free(c);
}

/* The idle cursor best placed for `row0`: the one whose position is at or
 * before row0 in the same row group and closest to it; else any. */
static struct qn_pq_cursor *qn_pq_cursor_take(struct qn_pq_reader *r, int leaf, int rg,
                                              int64_t rrow) {
  struct qn_pq_colpool *pool = &r->pools[leaf];
  pthread_mutex_lock(&pool->lock);
  struct qn_pq_cursor **best = NULL, **pp = &pool->idle;
  int64_t best_gap = INT64_MAX;
  for (; *pp; pp = &(*pp)->next) {
    struct qn_pq_cursor *c = *pp;
    int64_t pos = c->page_valid ? c->page_row0 + c->page_pos : c->rows_before;
    int64_t gap = (c->rg == rg && pos <= rrow) ? rrow - pos : INT64_MAX - 1;
    if (!best || gap < best_gap) {
      best = pp;
      best_gap = gap;
    }
  }
  struct qn_pq_cursor *c = NULL;
  if (best) {
    c = *best;
    *best = c->next;
    c->next = NULL;
  }
  pthread_mutex_unlock(&pool->lock);
  return c;
}

static void qn_pq_cursor_give(struct qn_pq_reader *r, struct qn_pq_cursor *c) {
  struct qn_pq_colpool *pool = &r->pools[c->leaf];
  pthread_mutex_lock(&pool->lock);
  c->next = pool->idle;
  pool->idle = c;
  pthread_mutex_unlock(&pool->lock);
}

static struct qn_pq_cursor *qn_pq_cursor_new(struct qn_pq_reader *r, int leaf) {
  struct qn_pq_cursor *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->leaf = leaf;
  c->rg = -1;
  c->dict_rg = -1;
  c->scr.ctx = r->base.ctx;
  c->codec = qn_pq_codec_state_new();
  if (!c->codec) {
    free(c);
    return NULL;
  }
  return c;
}

/* ----- I/O ----- */

static int qn_pq_pread(struct qn_pq_reader *r, uint8_t *buf, size_t n, int64_t off,
                       struct qn_error *err) {
  size_t got = 0;
  while (got < n) {
    ssize_t k = pread(r->fd, buf + got, n - got, (off_t)(off + (int64_t)got));
    if (k < 0 && errno == EINTR) continue;
    if (k < 0)
      return qn_error_set(err, QN_EIO, "%s: read failed at byte %lld: %s", r->base.path,
                          (long long)(off + (int64_t)got), strerror(errno));
    if (k == 0)
      return qn_error_set(err, QN_EFORMAT, "%s: file ends at byte %lld (truncated?)",
                          r->base.path, (long long)(off + (int64_t)got));
    got += (size_t)k;
  }
  return QN_OK;
}

/* Makes [off, off + len) available at c->io + (off - c->io_off). Keeps
 * bytes already in the window. len is bounded by the chunk (checked). */
static int qn_pq_window(struct qn_pq_reader *r, struct qn_pq_cursor *c, int64_t off, size_t len,
                        struct qn_error *err) {
  if (off >= c->io_off && off + (int64_t)len <= c->io_off + (int64_t)c->io_len) return QN_OK;
  size_t keep = 0;
  if (off >= c->io_off && off < c->io_off + (int64_t)c->io_len) {
    keep = (size_t)(c->io_off + (int64_t)c->io_len - off);
  }
  if (len > c->io_cap) {
    size_t cap = QN_MAX(len, (size_t)64 << 10);
    uint8_t *b = qn_mem_alloc(r->base.ctx, cap, "Parquet page I/O buffer", err);
    if (!b) return err ? err->code : QN_ELIMIT;
    if (keep) memcpy(b, c->io + (off - c->io_off), keep);
    qn_mem_free(r->base.ctx, c->io);
    c->io = b;
    c->io_cap = cap;
  } else if (keep) {
    memmove(c->io, c->io + (off - c->io_off), keep);
  }
  c->io_off = off;
  c->io_len = keep;
  int st = qn_pq_pread(r, c->io + keep, len - keep, off + (int64_t)keep, err);
  if (st) {
    c->io_len = 0;
    return st;
  }
  c->io_len = len;
  return QN_OK;
}

/* ----- pages ----- */

static int qn_pq_page_fail(struct qn_pq_reader *r, struct qn_pq_cursor *c, int64_t off,
                           const char *why, struct qn_error *err) {
  return qn_error_set(err, QN_EFORMAT, "%s: column %s: corrupt page at byte %lld: %s",
                      r->base.path, r->meta->leaves[c->leaf].name, (long long)off, why);
}

/* Reads the header at c->next_page into c->ph; *hlen = its size. With
 * want_body the window also holds the page body afterwards. */
static int qn_pq_read_header(struct qn_pq_reader *r, struct qn_pq_cursor *c, int want_body,
                             size_t *hlen, struct qn_error *err) {
  const char *col = r->meta->leaves[c->leaf].name;
  int64_t off = c->next_page, left = c->chunk_end - off;
  size_t probe = QN_PQ_PROBE;
  if (want_body && c->last_page_bytes + 256 > probe) probe = c->last_page_bytes + 256;
  for (;;) {
    size_t len = (size_t)QN_MIN((int64_t)probe, left);
    QN_RETURN_IF_ERROR(qn_pq_window(r, c, off, len, err));
    int truncated = 0;
    int st = qn_pq_page_header_parse(c->io + (off - c->io_off), len, off, r->base.path, col,
                                     &c->ph, hlen, &truncated, err);
    if (st == QN_OK) break;
    if (!truncated) return st;
    if ((int64_t)len >= left || len >= QN_PQ_MAX_HEADER)
      return qn_pq_page_fail(r, c, off, "page header runs past the end of its column chunk",
                             err);
    probe *= 4;
  }
  const struct qn_pq_page_header *h = &c->ph;
  if ((int64_t)h->compressed_size > left - (int64_t)*hlen)
    return qn_pq_page_fail(r, c, off, "page runs past the end of its column chunk", err);
  return QN_OK;
}

/* Counts defined values among the first n levels of a copy of `def`. */
static int qn_pq_count_defined(struct qn_pq_rle def, int max_def, int64_t n, int64_t *k) {
  return qn_pq_rle_count(&def, n, (uint32_t)max_def, k);
}

static int qn_pq_bit_width(int v) {
  int w = 0;
  while (v >> w) w++;
  return w;
}

static int qn_pq_phys_width(const struct qn_pq_leaf *L) {
  switch (L->phys) {
    case QN_PQ_BOOLEAN:
      return 1;
    case QN_PQ_INT32:
    case QN_PQ_FLOAT:
      return 4;
    case QN_PQ_INT64:
    case QN_PQ_DOUBLE:
      return 8;
    case QN_PQ_INT96:
      return 12;
    case QN_PQ_FIXED:
      return L->type_length;
    default:
      return 0;
  }
}

/* Sets up level and value decoders at the start of the loaded page. */
static int qn_pq_page_setup(struct qn_pq_reader *r, struct qn_pq_cursor *c,
                            struct qn_error *err) {
  const struct qn_pq_leaf *L = &r->meta->leaves[c->leaf];
  const struct qn_pq_page_header *h = &c->ph;
  const uint8_t *p = c->pdata, *end = c->pend;
  int64_t nonnull = h->num_values;
  int dw = qn_pq_bit_width(L->max_def);
  if (h->type == QN_PQ_DATA_PAGE) {
    if (L->max_def > 0) {
      if (h->def_encoding != QN_PQ_RLE)
        return qn_error_set(
            err, QN_EUNSUPPORTED,
            "%s: column %s: page at byte %lld: %s definition levels are not supported",
            r->base.path, L->name, (long long)c->page_off,
            qn_pq_encoding_name(h->def_encoding));
      if (end - p < 4 || qn_pq_le32(p) > (uint64_t)(end - p - 4))
        return qn_pq_page_fail(r, c, c->page_off, "definition levels run past the page", err);
      uint32_t len = qn_pq_le32(p);
      qn_pq_rle_init(&c->def, p + 4, p + 4 + len, dw);
      p += 4 + len;
      if (qn_pq_count_defined(c->def, L->max_def, h->num_values, &nonnull))
        return qn_pq_page_fail(r, c, c->page_off, "corrupt definition levels", err);
    }
  } else {
    int64_t lv = (int64_t)h->rep_len + h->def_len;
    if (h->rep_len < 0 || h->def_len < 0 || lv > end - p)
      return qn_pq_page_fail(r, c, c->page_off, "level lengths exceed the page", err);
    if (L->max_def > 0) qn_pq_rle_init(&c->def, p + h->rep_len, p + lv, dw);
    p += lv;
    nonnull = (int64_t)h->num_values - h->num_nulls;
    if (nonnull < 0 || h->num_nulls < 0 || (L->max_def == 0 && h->num_nulls > 0))
      return qn_pq_page_fail(r, c, c->page_off, "bad null count", err);
  }
  int st = qn_pq_vdec_init(&c->vals, h->encoding, L->phys, qn_pq_phys_width(L), p, end, nonnull,
                           (c->dict.vals || c->dict.offs) ? &c->dict : NULL, &c->scr, err);
  if (st == QN_EUNSUPPORTED)
    return qn_error_set(err, st,
                        "%s: column %s: page at byte %lld: encoding %s of %s is not supported",
                        r->base.path, L->name, (long long)c->page_off,
                        qn_pq_encoding_name(h->encoding), qn_pq_phys_name(L->phys));
  if (st == QN_EFORMAT && c->vals.why)
    return qn_pq_page_fail(r, c, c->page_off, c->vals.why, err);
  if (st) return st;
  c->page_pos = 0;
  return QN_OK;
}

/* Makes the page body (in the window) available decompressed. */
static int qn_pq_page_load(struct qn_pq_reader *r, struct qn_pq_cursor *c, size_t hlen,
                           const struct qn_pq_chunk *ch, struct qn_error *err) {
  const struct qn_pq_page_header *h = &c->ph;
  const char *col = r->meta->leaves[c->leaf].name;
  int64_t body = c->page_off + (int64_t)hlen;
  size_t cn = (size_t)h->compressed_size, un = (size_t)h->uncompressed_size;
  QN_RETURN_IF_ERROR(qn_pq_window(r, c, c->page_off, hlen + cn, err));
  c->last_page_bytes = hlen + cn;
  const uint8_t *src = c->io + (body - c->io_off);
  size_t lv = 0;
  int codec = ch->codec;
  if (h->type == QN_PQ_DATA_PAGE_V2) {
    if (h->def_len < 0 || h->rep_len < 0 ||
        (size_t)h->def_len + (size_t)h->rep_len > QN_MIN(cn, un))
      return qn_pq_page_fail(r, c, c->page_off, "level lengths exceed the page", err);
    lv = (size_t)h->def_len + (size_t)h->rep_len;
    if (!h->is_compressed) codec = QN_PQ_UNCOMPRESSED;
  }
  if (codec == QN_PQ_UNCOMPRESSED) {
    if (cn != un)
      return qn_pq_page_fail(r, c, c->page_off, "uncompressed page sizes disagree", err);
    c->pdata = src;
    c->pend = src + cn;
    return QN_OK;
  }
  uint8_t *dst = qn_pq_scratch_get(&c->scr, 0, un ? un : 1, "Parquet page buffer", err);
  if (!dst) return err ? err->code : QN_ELIMIT;
  memcpy(dst, src, lv);
  QN_RETURN_IF_ERROR(qn_pq_decompress(c->codec, codec, src + lv, cn - lv, dst + lv, un - lv,
                                      r->base.path, col, c->page_off, err));
  c->pdata = dst;
  c->pend = dst + un;
  return QN_OK;
}

static int qn_pq_load_dict(struct qn_pq_reader *r, struct qn_pq_cursor *c, size_t hlen,
                           const struct qn_pq_chunk *ch, struct qn_error *err) {
  const struct qn_pq_leaf *L = &r->meta->leaves[c->leaf];
  if (c->ph.encoding != QN_PQ_PLAIN && c->ph.encoding != QN_PQ_PLAIN_DICTIONARY)
    return qn_pq_page_fail(r, c, c->page_off, "dictionary page not PLAIN encoded", err);
  QN_RETURN_IF_ERROR(qn_pq_page_load(r, c, hlen, ch, err));
  int st = qn_pq_dict_decode(r->base.ctx, &c->dict, L->phys, qn_pq_phys_width(L), c->pdata,
                             c->pend, c->ph.num_values, err);
  if (st < 0)
    return qn_pq_page_fail(r, c, c->page_off, "dictionary values run past the page", err);
  if (st) return st;
  c->dict_rg = c->rg;
  return QN_OK;
}

static void qn_pq_chunk_open(struct qn_pq_reader *r, struct qn_pq_cursor *c, int rg) {
  const struct qn_pq_chunk *ch = &r->meta->rowgroups[rg].chunks[c->leaf];
  if (c->dict_rg != rg) qn_pq_dict_free(r->base.ctx, &c->dict), c->dict_rg = -1;
  c->rg = rg;
  c->chunk_end = ch->start + ch->size;
  c->next_page = ch->start;
  c->rows_before = 0;
  c->page_valid = 0;
}

/* Skips s rows of the current page (levels and values). */
static int qn_pq_page_skip(struct qn_pq_reader *r, struct qn_pq_cursor *c, int64_t s,
                           struct qn_error *err) {
  const struct qn_pq_leaf *L = &r->meta->leaves[c->leaf];
  int64_t k = s;
  if (L->max_def > 0 && qn_pq_rle_count(&c->def, s, (uint32_t)L->max_def, &k))
    return qn_pq_page_fail(r, c, c->page_off, "corrupt definition levels", err);
  if (qn_pq_vdec_skip(&c->vals, k)) return qn_pq_page_fail(r, c, c->page_off, c->vals.why, err);
  c->page_pos += s;
  return QN_OK;
}

/* Positions the cursor at row `rrow` of row group `rg`. */
static int qn_pq_seek(struct qn_pq_reader *r, struct qn_pq_cursor *c, int rg, int64_t rrow,
                      struct qn_error *err) {
  const struct qn_pq_chunk *ch = &r->meta->rowgroups[rg].chunks[c->leaf];
  if (c->rg != rg || (c->page_valid ? rrow < c->page_row0 : rrow < c->rows_before))
    qn_pq_chunk_open(r, c, rg);
  if (c->page_valid && rrow < c->page_row0 + c->page_rows) {
    if (rrow < c->page_row0 + c->page_pos) QN_RETURN_IF_ERROR(qn_pq_page_setup(r, c, err));
    return qn_pq_page_skip(r, c, rrow - c->page_row0 - c->page_pos, err);
  }
  c->page_valid = 0;
  for (;;) {
    if (c->next_page >= c->chunk_end)
      return qn_error_set(
          err, QN_EFORMAT,
          "%s: column %s: column chunk at byte %lld ends before row %lld of its "
          "row group",
          r->base.path, r->meta->leaves[c->leaf].name, (long long)ch->start, (long long)rrow);
    size_t hlen;
    c->page_off = c->next_page;
    int is_dict_needed = c->dict_rg != rg;
    QN_RETURN_IF_ERROR(qn_pq_read_header(r, c, 1, &hlen, err));
    const struct qn_pq_page_header *h = &c->ph;
    int64_t step = (int64_t)hlen + h->compressed_size;
    if (h->type == QN_PQ_DICTIONARY_PAGE) {
      if (is_dict_needed) QN_RETURN_IF_ERROR(qn_pq_load_dict(r, c, hlen, ch, err));
      c->next_page += step;
      continue;
    }
    if (h->type != QN_PQ_DATA_PAGE && h->type != QN_PQ_DATA_PAGE_V2) {
      c->next_page += step; /* index pages and unknown kinds */
      continue;
    }
    if (!(h->has_data_header & (h->type == QN_PQ_DATA_PAGE ? 1 : 4)))
      return qn_pq_page_fail(r, c, c->page_off, "data page without its data page header", err);
    int64_t rows = h->type == QN_PQ_DATA_PAGE_V2 ? h->num_rows : h->num_values;
    if (rows < 0 || rows != h->num_values)
      return qn_pq_page_fail(r, c, c->page_off,
                             "row and value counts disagree in a flat column", err);
    if (rrow >= c->rows_before + rows) {
      c->rows_before += rows;
      c->next_page += step;
      continue;
    }
    QN_RETURN_IF_ERROR(qn_pq_page_load(r, c, hlen, ch, err));
    c->page_row0 = c->rows_before;
    c->page_rows = rows;
    c->rows_before += rows;
    c->next_page += step;
    QN_RETURN_IF_ERROR(qn_pq_page_setup(r, c, err));
    c->page_valid = 1;
    return qn_pq_page_skip(r, c, rrow - c->page_row0, err);
  }
}

/* ----- conversion to quern's in-memory types ----- */

static void qn_pq_convert(const struct qn_pq_leaf *L, const uint8_t *src, uint8_t *dst,
                          int64_t n) {
  static const double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                               1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                               1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
  switch (L->conv) {
    case QN_PQ_CV_NARROW8:
      for (int64_t i = 0; i < n; i++) {
        int32_t v;
        memcpy(&v, src + 4 * i, 4);
        dst[i] = (uint8_t)v;
      }
      break;
    case QN_PQ_CV_NARROW16:
      for (int64_t i = 0; i < n; i++) {
        int32_t v;
        memcpy(&v, src + 4 * i, 4);
        uint16_t w = (uint16_t)v;
        memcpy(dst + 2 * i, &w, 2);
      }
      break;
    case QN_PQ_CV_INT96:
      /* 8 bytes of nanoseconds in the day, then the Julian day (2440588 is
       * 1970-01-01); unsigned arithmetic so hostile values wrap, not trap */
      for (int64_t i = 0; i < n; i++) {
        uint64_t ns;
        int32_t jd;
        memcpy(&ns, src + 12 * i, 8);
        memcpy(&jd, src + 12 * i + 8, 4);
        uint64_t v = (uint64_t)((int64_t)jd - 2440588) * UINT64_C(86400000000000) + ns;
        memcpy(dst + 8 * i, &v, 8);
      }
      break;
    case QN_PQ_CV_DEC32:
    case QN_PQ_CV_DEC64: {
      double sc = L->scale <= 22 ? p10[L->scale] : 1e22;
      for (int64_t i = 0; i < n; i++) {
        double d;
        if (L->conv == QN_PQ_CV_DEC32) {
          int32_t v;
          memcpy(&v, src + 4 * i, 4);
          d = (double)v / sc;
        } else {
          int64_t v;
          memcpy(&v, src + 8 * i, 8);
          d = (double)v / sc;
        }
        memcpy(dst + 8 * i, &d, 8);
      }
      break;
    }
    default:
      memcpy(dst, src, (size_t)n * qn_type_size(L->type));
      break;
  }
}

/* Spreads k dense values over the m rows marked in valid (from the end, in
 * place); null rows become zero. */
static void qn_pq_expand(uint8_t *data, size_t w, const uint8_t *valid, int64_t m, int64_t k) {
  for (int64_t i = m - 1; i >= 0; i--) {
    if (valid[i]) {
      k--;
      if (k != i) memmove(data + (size_t)i * w, data + (size_t)k * w, w);
    } else {
      memset(data + (size_t)i * w, 0, w);
    }
  }
}

static void qn_pq_expand_offsets(int64_t *o, const uint8_t *valid, int64_t m, int64_t k) {
  o[m] = o[k];
  for (int64_t i = m - 1; i >= 0; i--) {
    if (valid[i])
      o[i] = o[--k];
    else
      o[i] = o[i + 1];
  }
}

/* Reads m rows of the current page into out at row offset `at`. */
static int qn_pq_take(struct qn_pq_reader *r, struct qn_pq_cursor *c, int64_t m,
                      struct qn_colbuf *out, int64_t at, struct qn_pq_strout *so, int *nulls,
                      struct qn_error *err) {
  const struct qn_pq_leaf *L = &r->meta->leaves[c->leaf];
  int64_t k = m;
  uint8_t *valid = NULL;
  if (L->max_def > 0) {
    valid = out->valid ? out->valid + at
                       : qn_pq_scratch_get(&c->scr, 1, (size_t)m, "Parquet levels", err);
    if (!valid) return err ? err->code : QN_ELIMIT;
    struct qn_pq_rle *def = &c->def;
    if (qn_pq_rle_refill(def) == 0 && !def->packed && def->run_left >= m &&
        def->value == (uint32_t)L->max_def) {
      /* the common case: one RLE run of "defined" covers the range */
      memset(valid, 1, (size_t)m);
      def->run_left -= (uint32_t)m;
    } else {
      if (qn_pq_rle_get8(def, valid, m))
        return qn_pq_page_fail(r, c, c->page_off, "corrupt definition levels", err);
      k = 0;
      for (int64_t i = 0; i < m; i++) {
        valid[i] = valid[i] == L->max_def;
        k += valid[i];
      }
    }
    if (k < m) {
      if (!out->valid)
        return qn_error_set(err, QN_EINTERNAL, "%s: column %s has nulls but no validity buffer",
                            r->base.path, L->name);
      *nulls = 1;
    }
  }
  if (L->type == QN_STRING) {
    so->offs = out->offsets + at;
    int st = qn_pq_vdec_strings(&c->vals, so, k, err);
    if (st == QN_EFORMAT && c->vals.why)
      return qn_pq_page_fail(r, c, c->page_off, c->vals.why, err);
    if (st) return st;
    if (k < m) qn_pq_expand_offsets(out->offsets + at, valid, m, k);
  } else {
    size_t ow = qn_type_size(L->type);
    uint8_t *dst = (uint8_t *)out->data + (size_t)at * ow;
    int pw = L->phys == QN_PQ_BOOLEAN ? 1 : qn_pq_phys_width(L);
    if (L->conv == QN_PQ_CV_NONE && (size_t)pw == ow) {
      if (qn_pq_vdec_fixed(&c->vals, dst, k))
        return qn_pq_page_fail(r, c, c->page_off, c->vals.why, err);
    } else {
      uint8_t *tmp = qn_pq_scratch_get(&c->scr, 1, (size_t)QN_PQ_CONV_CHUNK * (size_t)pw,
                                       "Parquet conversion buffer", err);
      if (!tmp) return err ? err->code : QN_ELIMIT;
      if (valid == tmp) return qn_error_set(err, QN_EINTERNAL, "scratch slot clash");
      for (int64_t done = 0; done < k;) {
        int64_t j = QN_MIN(k - done, QN_PQ_CONV_CHUNK);
        if (qn_pq_vdec_fixed(&c->vals, tmp, j))
          return qn_pq_page_fail(r, c, c->page_off, c->vals.why, err);
        qn_pq_convert(L, tmp, dst + (size_t)done * ow, j);
        done += j;
      }
    }
    if (k < m) qn_pq_expand(dst, ow, valid, m, k);
  }
  c->page_pos += m;
  return QN_OK;
}

/* Row group holding table row `row` (binary search over first_row). */
static int qn_pq_find_rg(const struct qn_pq_meta *m, int64_t row) {
  int lo = 0, hi = m->nrowgroups - 1;
  while (lo < hi) {
    int mid = lo + (hi - lo + 1) / 2;
    if (m->rowgroups[mid].first_row <= row)
      lo = mid;
    else
      hi = mid - 1;
  }
  while (lo < m->nrowgroups - 1 && m->rowgroups[lo].num_rows == 0) lo++;
  return lo;
}

static int qn_pq_reopen(struct qn_pq_reader *r, struct qn_error *err) {
  int status = QN_OK;
  pthread_mutex_lock(&r->fd_lock);
  if (r->fd < 0) {
    r->fd = open(r->base.path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0)
      status =
          qn_error_set(err, QN_EIO, "%s: cannot reopen: %s", r->base.path, strerror(errno));
  }
  pthread_mutex_unlock(&r->fd_lock);
  return status;
}

static int qn_pq_read(struct qn_reader *base, int col, int64_t row0, int64_t n,
                      struct qn_colbuf *out, struct qn_error *err) {
  struct qn_pq_reader *r = (struct qn_pq_reader *)base;
  if (col < 0 || col >= base->ncols || row0 < 0 || n < 0 || row0 > base->cols[col].rows - n)
    return qn_error_set(err, QN_EINVAL,
                        "%s: read of rows [%lld, +%lld) of column %d is out of range",
                        base->path, (long long)row0, (long long)n, col);
  int leaf = r->leaf_of[col];
  const struct qn_pq_leaf *L = &r->meta->leaves[leaf];
  struct qn_pq_strout so = {base->ctx, NULL, 0, 0, NULL};
  int status = QN_OK, nulls = 0;
  out->type = L->type;
  out->n = n;
  if (L->type == QN_STRING) {
    if (!out->offsets)
      return qn_error_set(err, QN_EINVAL, "%s: string column %s read without offsets",
                          base->path, L->name);
    out->offsets[0] = 0;
    out->data = NULL;
  }
  if (n == 0) {
    out->valid = NULL;
    return QN_OK;
  }
  QN_RETURN_IF_ERROR(qn_pq_reopen(r, err));
  int rg = qn_pq_find_rg(r->meta, row0);
  struct qn_pq_cursor *c =
      qn_pq_cursor_take(r, leaf, rg, row0 - r->meta->rowgroups[rg].first_row);
  if (!c && !(c = qn_pq_cursor_new(r, leaf)))
    return qn_error_set(err, QN_ENOMEM, "%s: out of memory reading column %s", base->path,
                        L->name);
  if (L->type == QN_STRING) { /* room for the bytes at once: no regrowth and copy */
    const struct qn_pq_rowgroup *g = &r->meta->rowgroups[rg];
    const int64_t body = g->chunks[leaf].uncompressed_size - 4 * g->num_rows;
    if (body > 0 && g->num_rows > 0 && body / g->num_rows < ((int64_t)1 << 20)) {
      const size_t want =
          (size_t)((double)body / (double)g->num_rows * (double)n * 1.0625) + 4096;
      so.data = qn_mem_alloc(base->ctx, want, "Parquet string values", NULL);
      if (so.data) so.cap = want;
    }
  }
  for (int64_t filled = 0; filled < n;) {
    int64_t row = row0 + filled;
    rg = qn_pq_find_rg(r->meta, row);
    const struct qn_pq_rowgroup *g = &r->meta->rowgroups[rg];
    QN_CHECK(qn_pq_seek(r, c, rg, row - g->first_row, err));
    int64_t m = QN_MIN(n - filled, c->page_rows - c->page_pos);
    m = QN_MIN(m, g->num_rows - (row - g->first_row));
    if (m <= 0) {
      status =
          qn_pq_page_fail(r, c, c->page_off, "page holds more rows than its row group", err);
      goto done;
    }
    QN_CHECK(qn_pq_take(r, c, m, out, filled, &so, &nulls, err));
    filled += m;
  }
  if (!nulls) out->valid = NULL;
done:
  if (status != QN_OK) {
    /* a failed cursor restarts from scratch next time */
    c->rg = -1;
    c->page_valid = 0;
    qn_mem_free(base->ctx, so.data);
    so.data = NULL;
  }
  if (L->type == QN_STRING) out->data = so.data;
  qn_pq_cursor_give(r, c);
  return status;
}

/* ----- info, close, open ----- */

/* Encodings of a bit set as a JSON array of names. */
static json_t *qn_pq_encodings_json(uint32_t set) {
  json_t *enc = json_array();
  for (int e = 0; e < 32; e++)
    if (set & (1u << e)) json_array_append_new(enc, json_string(qn_pq_encoding_name(e)));
  return enc;
}

/* `quern info`: per column the physical type, codec(s), encodings and
 * sizes over all row groups; then the row groups (with per-chunk detail
 * only for files of at most 16 row groups, so big files stay readable). */
static int qn_pq_info(struct qn_reader *base, void *info, struct qn_error *err) {
  struct qn_pq_reader *r = (struct qn_pq_reader *)base;
  const struct qn_pq_meta *m = r->meta;
  json_t *o = info;
  json_object_set_new(o, "created_by", json_string(m->created_by ? m->created_by : ""));
  json_object_set_new(o, "format_version", json_integer(m->version));
  json_object_set_new(o, "rows", json_integer(m->num_rows));
  json_t *cols = json_object_get(o, "columns");
  for (int i = 0; i < base->ncols && cols; i++) {
    int l = r->leaf_of[i];
    json_t *co = json_array_get(cols, (size_t)i);
    if (!co) continue;
    uint32_t codecs = 0, encs = 0;
    int64_t cb = 0, ub = 0;
    for (int g = 0; g < m->nrowgroups; g++) {
      const struct qn_pq_chunk *ch = &m->rowgroups[g].chunks[l];
      if (ch->codec >= 0 && ch->codec < 32) codecs |= 1u << ch->codec;
      encs |= ch->encodings;
      cb += ch->size;
      ub += ch->uncompressed_size;
    }
    json_object_set_new(co, "physical", json_string(qn_pq_phys_name(m->leaves[l].phys)));
    json_t *cj = json_array();
    for (int c = 0; c < 32; c++)
      if (codecs & (1u << c)) json_array_append_new(cj, json_string(qn_pq_codec_name(c)));
    json_object_set_new(co, "codec", cj);
    json_object_set_new(co, "encodings", qn_pq_encodings_json(encs));
    json_object_set_new(co, "compressed_bytes", json_integer(cb));
    json_object_set_new(co, "uncompressed_bytes", json_integer(ub));
  }
  json_t *rgs = json_array();
  for (int g = 0; g < m->nrowgroups; g++) {
    const struct qn_pq_rowgroup *rg = &m->rowgroups[g];
    json_t *go = json_object(), *cc = json_array();
    int64_t bytes = 0, ubytes = 0;
    for (int l = 0; l < m->nleaves; l++) {
      const struct qn_pq_chunk *ch = &rg->chunks[l];
      bytes += ch->size;
      ubytes += ch->uncompressed_size;
      if (m->nrowgroups > 16) continue;
      json_t *co = json_object();
      json_object_set_new(co, "name", json_string(m->leaves[l].name));
      json_object_set_new(co, "codec", json_string(qn_pq_codec_name(ch->codec)));
      json_object_set_new(co, "encodings", qn_pq_encodings_json(ch->encodings));
      json_object_set_new(co, "compressed_bytes", json_integer(ch->size));
      json_object_set_new(co, "uncompressed_bytes", json_integer(ch->uncompressed_size));
      json_array_append_new(cc, co);
    }
    json_object_set_new(go, "rows", json_integer(rg->num_rows));
    json_object_set_new(go, "compressed_bytes", json_integer(bytes));
    json_object_set_new(go, "uncompressed_bytes", json_integer(ubytes));
    if (m->nrowgroups <= 16)
      json_object_set_new(go, "columns", cc);
    else
      json_decref(cc);
    json_array_append_new(rgs, go);
  }
  json_object_set_new(o, "row_groups", rgs);
  json_t *skipped = json_array();
  for (int l = 0; l < m->nleaves; l++) {
    if (m->leaves[l].type != QN_TYPE_INVALID) continue;
    json_t *s = json_object();
    json_object_set_new(s, "name", json_string(m->leaves[l].name));
    json_object_set_new(s, "reason", json_string(m->leaves[l].skip_reason));
    json_array_append_new(skipped, s);
  }
  if (json_array_size(skipped))
    json_object_set_new(o, "unsupported_columns", skipped);
  else
    json_decref(skipped);
  (void)err;
  return QN_OK;
}

/* ----- bounds from the column chunk statistics ----- */

/* A statistics bound (PLAIN bytes) as the float64 the bin kernel compares:
 * the in-memory value of the column's type converted, as the data path
 * converts it. 0 when the type is not covered (decimals, INT96, booleans:
 * their conversion or order differs) or the bound cannot be a value of
 * the in-memory type (a narrowed integer out of its range). */
static int qn_pq_bound_value(const struct qn_pq_leaf *L, const uint8_t *p, int len,
                             double *out) {
  const int is_unsigned = L->type == QN_UINT8 || L->type == QN_UINT16 || L->type == QN_UINT32 ||
                          L->type == QN_UINT64;
  if (L->phys == QN_PQ_DOUBLE && L->type == QN_FLOAT64 && L->conv == QN_PQ_CV_NONE &&
      len == 8) {
    memcpy(out, p, 8);
    return 1;
  }
  if (L->phys == QN_PQ_FLOAT && L->type == QN_FLOAT32 && len == 4) {
    float f;
    memcpy(&f, p, 4);
    *out = (double)f;
    return 1;
  }
  if (L->phys == QN_PQ_INT32 && len == 4 &&
      (L->conv == QN_PQ_CV_NONE || L->conv == QN_PQ_CV_NARROW8 ||
       L->conv == QN_PQ_CV_NARROW16)) {
    int32_t v;
    memcpy(&v, p, 4);
    const int64_t x = is_unsigned ? (int64_t)(uint32_t)v : (int64_t)v;
    const int64_t bits = L->conv == QN_PQ_CV_NARROW8    ? 8
                         : L->conv == QN_PQ_CV_NARROW16 ? 16
                                                        : 32;
    const int64_t lo = is_unsigned ? 0 : -((int64_t)1 << (bits - 1));
    const int64_t hi = is_unsigned ? ((int64_t)1 << bits) - 1 : ((int64_t)1 << (bits - 1)) - 1;
    if (x < lo || x > hi) return 0;
    *out = (double)x;
    return 1;
  }
  if (L->phys == QN_PQ_INT64 && L->conv == QN_PQ_CV_NONE && len == 8) {
    uint64_t u;
    memcpy(&u, p, 8);
    *out = is_unsigned ? (double)u : (double)(int64_t)u;
    return 1;
  }
  return 0;
}

/* The chunk's bounds: min_value/max_value when the file says which order
 * they follow (TYPE_ORDER, or IEEE 754 total order for floats) and does not
 * call them inexact; else the deprecated min/max, which are in signed order
 * (right for all but unsigned integers). NaN bounds are never used (the
 * spec asks readers to ignore them). */
static int qn_pq_chunk_bounds(const struct qn_pq_leaf *L, const struct qn_pq_stats *s,
                              double *lo, double *hi) {
  const int is_float = L->phys == QN_PQ_FLOAT || L->phys == QN_PQ_DOUBLE;
  const int is_unsigned = L->type == QN_UINT8 || L->type == QN_UINT16 || L->type == QN_UINT32 ||
                          L->type == QN_UINT64;
  int ok = 0;
  if ((L->column_order == 1 || (L->column_order == 2 && is_float)) && s->min_value_len &&
      s->max_value_len && s->min_exact != 0 && s->max_exact != 0)
    ok = qn_pq_bound_value(L, s->min_value, s->min_value_len, lo) &&
         qn_pq_bound_value(L, s->max_value, s->max_value_len, hi);
  if (!ok && !is_unsigned && s->min_len && s->max_len)
    ok = qn_pq_bound_value(L, s->min, s->min_len, lo) &&
         qn_pq_bound_value(L, s->max, s->max_len, hi);
  return ok && !isnan(*lo) && !isnan(*hi) && *lo <= *hi;
}

/* reader op `minmax`: folds the bounds of every column chunk; a chunk of
 * nulls only (null_count == num_values) adds nothing, any other chunk
 * without usable bounds makes the answer unknown. */
static int qn_pq_minmax(struct qn_reader *base, int col, double *lo, double *hi, int *known,
                        struct qn_error *err) {
  (void)err;
  struct qn_pq_reader *r = (struct qn_pq_reader *)base;
  const struct qn_pq_meta *m = r->meta;
  *known = 0;
  if (col < 0 || col >= base->ncols) return QN_OK;
  const int l = r->leaf_of[col];
  const struct qn_pq_leaf *L = &m->leaves[l];
  double mn = INFINITY, mx = -INFINITY;
  int any = 0;
  for (int g = 0; g < m->nrowgroups; g++) {
    const struct qn_pq_chunk *c = &m->rowgroups[g].chunks[l];
    double a, b;
    if (m->rowgroups[g].num_rows == 0 || (c->has_stats && c->stats.null_count == c->num_values))
      continue;
    if (!c->has_stats || !qn_pq_chunk_bounds(L, &c->stats, &a, &b)) return QN_OK;
    mn = a < mn ? a : mn;
    mx = b > mx ? b : mx;
    any = 1;
  }
  if (any) {
    *lo = mn;
    *hi = mx;
    *known = 1;
  }
  return QN_OK;
}

static void qn_pq_close(struct qn_reader *base) {
  if (!base) return;
  struct qn_pq_reader *r = (struct qn_pq_reader *)base;
  if (r->pools && r->meta) {
    for (int l = 0; l < r->meta->nleaves; l++) {
      struct qn_pq_cursor *c = r->pools[l].idle;
      while (c) {
        struct qn_pq_cursor *next = c->next;
        qn_pq_cursor_free(base->ctx, c);
        c = next;
      }
      pthread_mutex_destroy(&r->pools[l].lock);
    }
  }
  free(r->pools);
  free(r->leaf_of);
  qn_pq_meta_free(r->meta);
  if (r->fd >= 0) close(r->fd);
  pthread_mutex_destroy(&r->fd_lock);
  qn_reader_free_columns(base);
  free(base->path);
  free(r);
}

/* The scan is done with this file for now: close the descriptor and drop
 * every cursor (page buffers, dictionaries). A later read reopens. */
static void qn_pq_release(struct qn_reader *base) {
  struct qn_pq_reader *r = (struct qn_pq_reader *)base;
  for (int l = 0; l < r->meta->nleaves; l++) {
    pthread_mutex_lock(&r->pools[l].lock);
    struct qn_pq_cursor *c = r->pools[l].idle;
    r->pools[l].idle = NULL;
    pthread_mutex_unlock(&r->pools[l].lock);
    while (c) {
      struct qn_pq_cursor *next = c->next;
      qn_pq_cursor_free(base->ctx, c);
      c = next;
    }
  }
  pthread_mutex_lock(&r->fd_lock);
  if (r->fd >= 0) close(r->fd);
  r->fd = -1;
  pthread_mutex_unlock(&r->fd_lock);
}

static const struct qn_reader_ops qn_pq_ops = {.format = "parquet",
                                               .read = qn_pq_read,
                                               .close = qn_pq_close,
                                               .info = qn_pq_info,
                                               .release = qn_pq_release,
                                               .minmax = qn_pq_minmax};

static int qn_pq_check_codecs(struct qn_pq_reader *r, struct qn_error *err) {
  const struct qn_pq_meta *m = r->meta;
  for (int g = 0; g < m->nrowgroups; g++)
    for (int l = 0; l < m->nleaves; l++) {
      int codec = m->rowgroups[g].chunks[l].codec;
      if (m->leaves[l].type != QN_TYPE_INVALID && !qn_pq_codec_supported(codec))
        return qn_error_set(err, QN_EUNSUPPORTED, "%s: column %s: codec %s is not supported",
                            r->base.path, m->leaves[l].name, qn_pq_codec_name(codec));
    }
  return QN_OK;
}

static int qn_pq_fill_columns(struct qn_pq_reader *r, struct qn_error *err) {
  const struct qn_pq_meta *m = r->meta;
  int n = 0;
  for (int l = 0; l < m->nleaves; l++) n += m->leaves[l].type != QN_TYPE_INVALID;
  r->leaf_of = calloc(n > 0 ? (size_t)n : 1, sizeof *r->leaf_of);
  r->pools = calloc(m->nleaves > 0 ? (size_t)m->nleaves : 1, sizeof *r->pools);
  if (!r->leaf_of || !r->pools)
    return qn_error_set(err, QN_ENOMEM, "%s: out of memory", r->base.path);
  for (int l = 0; l < m->nleaves; l++) pthread_mutex_init(&r->pools[l].lock, NULL);
  QN_RETURN_IF_ERROR(qn_reader_alloc_columns(&r->base, n, err));
  for (int l = 0, i = 0; l < m->nleaves; l++) {
    const struct qn_pq_leaf *L = &m->leaves[l];
    if (L->type == QN_TYPE_INVALID) continue;
    struct qn_reader_column *rc = &r->base.cols[i];
    r->leaf_of[i++] = l;
    rc->name = qn_strdup(L->name);
    rc->type_name = qn_strdup(L->type_name);
    if (!rc->name || !rc->type_name)
      return qn_error_set(err, QN_ENOMEM, "%s: out of memory", r->base.path);
    rc->type = L->type;
    rc->nullable = L->max_def > 0;
    rc->rows = m->num_rows;
    rc->parallel_read = 1;
    rc->time_unit = L->time_unit;
    /* a cursor's I/O window and decompressed page (writers cut pages near
     * 1 MiB; no page is larger than its column chunk) plus level and
     * conversion scratch */
    int64_t chunk = 0;
    for (int g = 0; g < m->nrowgroups; g++) {
      const struct qn_pq_chunk *ch = &m->rowgroups[g].chunks[l];
      chunk = QN_MAX(chunk, ch->size + ch->uncompressed_size);
    }
    rc->work_bytes = QN_MIN((int64_t)3 << 20, chunk + ((int64_t)192 << 10));
  }
  return QN_OK;
}

int qn_pq_open(struct qn_context *ctx, const char *path, struct qn_reader **out,
               struct qn_error *err) {
  int status = QN_OK;
  struct qn_pq_reader *r = calloc(1, sizeof *r);
  if (!r) return qn_error_set(err, QN_ENOMEM, "out of memory opening %s", path);
  r->fd = -1;
  pthread_mutex_init(&r->fd_lock, NULL);
  r->base.ops = &qn_pq_ops;
  r->base.ctx = ctx;
  r->base.path = qn_strdup(path);
  if (!r->base.path) {
    status = qn_error_set(err, QN_ENOMEM, "out of memory opening %s", path);
    goto done;
  }
  r->fd = open(path, O_RDONLY | O_CLOEXEC);
  if (r->fd < 0) {
    int e = errno;
    status =
        qn_error_set(err, e == ENOENT ? QN_ENOTFOUND : QN_EIO, "%s: %s", path, strerror(e));
    goto done;
  }
  QN_CHECK(qn_pq_meta_read(ctx, r->fd, path, &r->meta, err));
  QN_CHECK(qn_pq_check_codecs(r, err));
  QN_CHECK(qn_pq_fill_columns(r, err));
  /* The footer is all open needs: a table of thousands of files holds no
   * descriptor until the scan reads a file (qn_pq_reopen) and none after
   * it releases it, as for HDF5 and CSV. */
  close(r->fd);
  r->fd = -1;
done:
  if (status != QN_OK) {
    qn_pq_close(&r->base);
    return status;
  }
  *out = &r->base;
  return QN_OK;
}

static int qn_pq_probe(const unsigned char *head, size_t got) {
  return got >= 4 && memcmp(head, "PAR1", 4) == 0;
}

static int qn_pq_open_any(struct qn_context *ctx, const char *path, const char *sub,
                          struct qn_reader **out, struct qn_error *err) {
  (void)sub; /* the source refuses a sub-path for formats without takes_sub */
  return qn_pq_open(ctx, path, out, err);
}

const struct qn_format qn_format_parquet = {"parquet", qn_pq_probe, 0, qn_pq_open_any};
