/* records.c — the tf.train.Example encoder, the checksums and the Riegeli
 * block arithmetic of the record formats (qn_records.h).
 *
 * The encoder takes two passes over a row: qn_example_measure sums each
 * feature's payload (varint lengths, string lengths) and checks for nulls,
 * qn_example_write writes the Example front to back with those sizes; no
 * allocation, no intermediate copy. Field layout (tag bytes):
 *   Example   0A len Features
 *   Features  (0A len Entry)*             map<string, Feature> feature = 1
 *   Entry     0A len name 12 len Feature  key = 1, value = 2
 *   Feature   0A len BytesList | 12 len FloatList | 1A len Int64List
 *   BytesList (0A len bytes)*             Float/Int64List: 0A len packed values
 */
#include <highwayhash/c_bindings.h>
#include <isa-l/crc.h>
#include <stdlib.h>
#include <string.h>

#include "io/qn_records.h"

int qn_varint_get(const uint8_t **p, const uint8_t *end, uint64_t *v) {
  uint64_t x = 0;
  const uint8_t *q = *p;
  for (int shift = 0; shift < 70; shift += 7) {
    if (q >= end) return 0;
    uint8_t b = *q++;
    x |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *p = q;
      *v = x;
      return 1;
    }
  }
  return 0;
}

uint32_t qn_crc32c(const void *p, size_t n) {
  /* ISA-L takes and returns the raw register: the standard CRC-32C starts
   * from all ones and inverts at the end (checked in test_records.c) */
  return crc32_iscsi((unsigned char *)p, (int)n, 0xffffffffu) ^ 0xffffffffu;
}

uint64_t qn_riegeli_hash(const void *p, size_t n) {
  static const uint64_t key[4] = {0x2f696c6567656952ULL, 0x0a7364726f636572ULL,
                                  0x2f696c6567656952ULL, 0x0a7364726f636572ULL};
  return HighwayHash64(key, (const char *)p, (uint64_t)n);
}

/* ----- Riegeli block arithmetic (the format doc's implementation notes) ----- */

uint64_t qn_riegeli_add_with_overhead(uint64_t begin, uint64_t size) {
  uint64_t blocks =
      (size + (begin + QN_RIEGELI_USABLE - 1) % QN_RIEGELI_BLOCK) / QN_RIEGELI_USABLE;
  return begin + size + blocks * QN_RIEGELI_BLOCK_HEADER;
}

uint64_t qn_riegeli_distance(uint64_t begin, uint64_t end) {
  /* a position inside a block header counts as that header's start */
  uint64_t headers = end / QN_RIEGELI_BLOCK - begin / QN_RIEGELI_BLOCK;
  uint64_t e = end - QN_MIN(end % QN_RIEGELI_BLOCK, (uint64_t)QN_RIEGELI_BLOCK_HEADER);
  uint64_t b = begin - QN_MIN(begin % QN_RIEGELI_BLOCK, (uint64_t)QN_RIEGELI_BLOCK_HEADER);
  return e - b - headers * QN_RIEGELI_BLOCK_HEADER;
}

static uint64_t qn_riegeli_round_up_boundary(uint64_t pos) {
  uint64_t r = qn_riegeli_remaining(pos);
  return pos + (r > QN_RIEGELI_USABLE - 1 ? r - (QN_RIEGELI_USABLE - 1) : 0);
}

uint64_t qn_riegeli_chunk_end(uint64_t begin, uint64_t data_size, uint64_t num_records) {
  uint64_t a = qn_riegeli_add_with_overhead(begin, QN_RIEGELI_CHUNK_HEADER + data_size);
  uint64_t b = qn_riegeli_round_up_boundary(begin + num_records);
  return QN_MAX(a, b);
}

void qn_riegeli_block_header(uint8_t out[24], uint64_t previous_chunk, uint64_t next_chunk) {
  qn_le64_put(out + 8, previous_chunk);
  qn_le64_put(out + 16, next_chunk);
  qn_le64_put(out, qn_riegeli_hash(out + 8, 16));
}

void qn_riegeli_chunk_header(uint8_t out[40], const void *data, uint64_t data_size,
                             uint8_t chunk_type, uint64_t num_records,
                             uint64_t decoded_data_size) {
  qn_le64_put(out + 8, data_size);
  qn_le64_put(out + 16, qn_riegeli_hash(data, (size_t)data_size));
  qn_le64_put(out + 24, (num_records << 8) | chunk_type); /* 1 byte type, 7 bytes count */
  qn_le64_put(out + 32, decoded_data_size);
  qn_le64_put(out, qn_riegeli_hash(out + 8, 32));
}

/* ----- tf.train.Example ----- */

enum qn_example_kind qn_example_kind_of(enum qn_type type) {
  if (type == QN_STRING) return QN_EX_BYTES;
  if (type == QN_FLOAT32 || type == QN_FLOAT64) return QN_EX_FLOAT;
  return QN_EX_INT64;
}

static int qn_example_cmp(const void *a, const void *b) {
  const struct qn_example_feature *x = a, *y = b;
  int c = memcmp(x->name, y->name, QN_MIN(x->name_len, y->name_len));
  if (c) return c;
  return x->name_len < y->name_len ? -1 : x->name_len > y->name_len;
}

int qn_example_init(struct qn_example *ex, const struct qn_wcolumn *cols, int ncols,
                    const char *path, struct qn_error *err) {
  memset(ex, 0, sizeof *ex);
  ex->f = calloc((size_t)ncols + 1, sizeof *ex->f);
  if (!ex->f) return qn_error_set(err, QN_ENOMEM, "out of memory");
  for (int c = 0; c < ncols; c++) {
    struct qn_example_feature *f = &ex->f[c];
    if (cols[c].type <= QN_TYPE_INVALID || cols[c].type >= QN_TYPE_COUNT) {
      qn_example_reset(ex);
      return qn_error_set(err, QN_EINVAL, "%s: column '%s' has no type", path, cols[c].name);
    }
    f->name = cols[c].name;
    f->name_len = strlen(cols[c].name);
    f->col = c;
    f->type = cols[c].type;
    f->kind = qn_example_kind_of(cols[c].type);
    f->list = cols[c].list;
  }
  ex->n = ncols;
  qsort(ex->f, (size_t)ncols, sizeof *ex->f, qn_example_cmp);
  for (int i = 1; i < ncols; i++)
    if (qn_example_cmp(&ex->f[i - 1], &ex->f[i]) == 0) {
      int st = qn_error_set(err, QN_EINVAL,
                            "%s: two columns are named '%s': a tf.train.Example holds one "
                            "feature a name",
                            path, ex->f[i].name);
      qn_example_reset(ex);
      return st;
    }
  return QN_OK;
}

void qn_example_reset(struct qn_example *ex) {
  free(ex->f);
  memset(ex, 0, sizeof *ex);
}

/* An integer element as the int64 the Example holds (unsigned 64-bit: its
 * bits; narrower unsigned types: their value). */
static inline int64_t qn_example_int(enum qn_type t, const void *data, int64_t i) {
  switch (t) {
    case QN_INT8:
      return ((const int8_t *)data)[i];
    case QN_INT16:
      return ((const int16_t *)data)[i];
    case QN_INT32:
    case QN_DATE:
      return ((const int32_t *)data)[i];
    case QN_UINT8:
    case QN_BOOL:
      return ((const uint8_t *)data)[i];
    case QN_UINT16:
      return ((const uint16_t *)data)[i];
    case QN_UINT32:
      return ((const uint32_t *)data)[i];
    default: /* int64, uint64, timestamps */
      return ((const int64_t *)data)[i];
  }
}

/* The elements [*a, *b) feature f holds in row r. */
static inline void qn_example_range(const struct qn_example_feature *f,
                                    const struct qn_colbuf *cb, int64_t r, int64_t *a,
                                    int64_t *b) {
  if (f->list) {
    *a = cb->lists[r];
    *b = cb->lists[r + 1];
  } else {
    *a = r;
    *b = r + 1;
  }
}

static uint64_t qn_example_int_payload(enum qn_type t, const void *data, int64_t a, int64_t b) {
  uint64_t s = 0;
  switch (t) { /* the usual element types get a loop of their own */
    case QN_INT64:
    case QN_UINT64:
    case QN_TIMESTAMP:
      for (int64_t i = a; i < b; i++)
        s += (uint64_t)qn_varint_len((uint64_t)((const int64_t *)data)[i]);
      return s;
    case QN_INT32:
      for (int64_t i = a; i < b; i++)
        s += (uint64_t)qn_varint_len((uint64_t)(int64_t)((const int32_t *)data)[i]);
      return s;
    default:
      for (int64_t i = a; i < b; i++)
        s += (uint64_t)qn_varint_len((uint64_t)qn_example_int(t, data, i));
      return s;
  }
}

/* The bytes of a list message (Int64List, FloatList, BytesList) holding
 * payload p; packed lists put it in one field, omitted when empty. */
static inline uint64_t qn_example_list_size(enum qn_example_kind k, uint64_t p) {
  if (k == QN_EX_BYTES || p == 0) return p;
  return 1 + (uint64_t)qn_varint_len(p) + p;
}

static inline uint64_t qn_example_entry_size(const struct qn_example_feature *f, uint64_t p) {
  uint64_t list = qn_example_list_size(f->kind, p);
  uint64_t feature = 1 + (uint64_t)qn_varint_len(list) + list;
  return 1 + (uint64_t)qn_varint_len(f->name_len) + f->name_len + 1 +
         (uint64_t)qn_varint_len(feature) + feature;
}

static int qn_example_null(const struct qn_example *ex, const struct qn_example_feature *f,
                           const struct qn_colbuf *cols, int64_t r, struct qn_error *err) {
  char first[96] = "?";
  const struct qn_colbuf *k = &cols[0];
  if (k->type == QN_STRING && !k->lists)
    snprintf(first, sizeof first, "'%.*s'",
             (int)QN_MIN(k->offsets[r + 1] - k->offsets[r], (int64_t)64),
             (const char *)k->data + k->offsets[r]);
  else if (qn_example_kind_of(k->type) == QN_EX_INT64 && !k->lists)
    snprintf(first, sizeof first, "%lld", (long long)qn_example_int(k->type, k->data, r));
  const char *kname = "the first column";
  for (int i = 0; i < ex->n; i++)
    if (ex->f[i].col == 0) kname = ex->f[i].name;
  return qn_error_set(err, QN_EUNSUPPORTED,
                      "column '%s' holds a null in the row of %s %s: tf.train.Example lists "
                      "cannot hold nulls (write Parquet, or drop or fill the nulls "
                      "first)",
                      f->name, kname, first);
}

int qn_example_measure(const struct qn_example *ex, const struct qn_colbuf *cols, int64_t r,
                       struct qn_example_sizes *sz, struct qn_error *err) {
  uint64_t features = 0;
  for (int i = 0; i < ex->n; i++) {
    const struct qn_example_feature *f = &ex->f[i];
    const struct qn_colbuf *cb = &cols[f->col];
    int64_t a, b;
    qn_example_range(f, cb, r, &a, &b);
    if (cb->valid)
      for (int64_t e = a; e < b; e++)
        if (!cb->valid[e]) return qn_example_null(ex, f, cols, r, err);
    uint64_t p;
    if (f->kind == QN_EX_FLOAT) {
      p = 4 * (uint64_t)(b - a);
    } else if (f->kind == QN_EX_INT64) {
      p = qn_example_int_payload(f->type, cb->data, a, b);
    } else {
      p = 0;
      for (int64_t e = a; e < b; e++) {
        uint64_t len = (uint64_t)(cb->offsets[e + 1] - cb->offsets[e]);
        p += 1 + (uint64_t)qn_varint_len(len) + len;
      }
    }
    sz->payload[i] = p;
    uint64_t entry = qn_example_entry_size(f, p);
    features += 1 + (uint64_t)qn_varint_len(entry) + entry;
  }
  sz->features = features;
  sz->total = 1 + (uint64_t)qn_varint_len(features) + features;
  if (sz->total >= ((uint64_t)1 << 31)) {
    const struct qn_example_feature *f = &ex->f[0];
    return qn_error_set(err, QN_EINVAL,
                        "a row of %llu bytes (its first feature '%s'): a tf.train.Example "
                        "must stay under 2 GiB",
                        (unsigned long long)sz->total, f->name);
  }
  return QN_OK;
}

static uint8_t *qn_example_put_values(const struct qn_example_feature *f,
                                      const struct qn_colbuf *cb, int64_t a, int64_t b,
                                      uint8_t *q) {
  if (f->kind == QN_EX_FLOAT) {
    if (f->type == QN_FLOAT32) {
      memcpy(q, (const float *)cb->data + a, 4 * (size_t)(b - a));
      return q + 4 * (b - a);
    }
    const double *d = cb->data;
    for (int64_t e = a; e < b; e++, q += 4) {
      float x = (float)d[e]; /* the narrowing the manifest records */
      memcpy(q, &x, 4);
    }
    return q;
  }
  if (f->kind == QN_EX_INT64) {
    if (f->type == QN_INT64 || f->type == QN_UINT64 || f->type == QN_TIMESTAMP) {
      const int64_t *d = cb->data;
      for (int64_t e = a; e < b; e++) q = qn_varint_put(q, (uint64_t)d[e]);
    } else {
      for (int64_t e = a; e < b; e++)
        q = qn_varint_put(q, (uint64_t)qn_example_int(f->type, cb->data, e));
    }
    return q;
  }
  for (int64_t e = a; e < b; e++) {
    uint64_t len = (uint64_t)(cb->offsets[e + 1] - cb->offsets[e]);
    *q++ = 0x0a;
    q = qn_varint_put(q, len);
    memcpy(q, (const char *)cb->data + cb->offsets[e], (size_t)len);
    q += len;
  }
  return q;
}

uint8_t *qn_example_write(const struct qn_example *ex, const struct qn_colbuf *cols, int64_t r,
                          const struct qn_example_sizes *sz, uint8_t *out) {
  static const uint8_t feature_tag[4] = {0, 0x0a, 0x12, 0x1a};
  uint8_t *q = out;
  *q++ = 0x0a;
  q = qn_varint_put(q, sz->features);
  for (int i = 0; i < ex->n; i++) {
    const struct qn_example_feature *f = &ex->f[i];
    uint64_t p = sz->payload[i];
    uint64_t list = qn_example_list_size(f->kind, p);
    uint64_t feature = 1 + (uint64_t)qn_varint_len(list) + list;
    *q++ = 0x0a; /* Features.feature entry */
    q = qn_varint_put(q, qn_example_entry_size(f, p));
    *q++ = 0x0a; /* key */
    q = qn_varint_put(q, f->name_len);
    memcpy(q, f->name, f->name_len);
    q += f->name_len;
    *q++ = 0x12; /* value */
    q = qn_varint_put(q, feature);
    *q++ = feature_tag[f->kind];
    q = qn_varint_put(q, list);
    if (f->kind != QN_EX_BYTES && p) {
      *q++ = 0x0a; /* the packed values */
      q = qn_varint_put(q, p);
    }
    int64_t a, b;
    qn_example_range(f, &cols[f->col], r, &a, &b);
    q = qn_example_put_values(f, &cols[f->col], a, b, q);
  }
  return q;
}

/* ----- reading an Example back (quern verify) ----- */

/* The next field of [*p, end): its number, wire type and, for a length
 * field, its bytes. 0 at the end, -1 when malformed. */
static int qn_pb_next(const uint8_t **p, const uint8_t *end, uint64_t *field, int *wire,
                      const uint8_t **val, uint64_t *len) {
  if (*p == end) return 0;
  uint64_t tag, v;
  if (!qn_varint_get(p, end, &tag)) return -1;
  *field = tag >> 3;
  *wire = (int)(tag & 7);
  switch (*wire) {
    case 0:
      if (!qn_varint_get(p, end, &v)) return -1;
      *len = v;
      return 1;
    case 1:
    case 5: {
      size_t w = *wire == 1 ? 8 : 4;
      if ((size_t)(end - *p) < w) return -1;
      *val = *p;
      *p += w;
      return 1;
    }
    case 2:
      if (!qn_varint_get(p, end, &v) || v > (uint64_t)(end - *p)) return -1;
      *val = *p;
      *len = v;
      *p += v;
      return 1;
    default:
      return -1;
  }
}

/* One int64 from an Int64List (packed or not); 1 when it holds exactly one. */
static int qn_example_one_int64(const uint8_t *p, const uint8_t *end, int64_t *value) {
  uint64_t field, len, v;
  int wire, count = 0, st;
  const uint8_t *val = NULL;
  while ((st = qn_pb_next(&p, end, &field, &wire, &val, &len)) == 1) {
    if (field != 1) continue;
    if (wire == 0) {
      *value = (int64_t)len;
      count++;
    } else if (wire == 2) {
      const uint8_t *q = val, *e = val + len;
      while (q < e) {
        if (!qn_varint_get(&q, e, &v)) return -1;
        *value = (int64_t)v;
        count++;
      }
    } else {
      return -1;
    }
  }
  return st < 0 ? -1 : count == 1;
}

int qn_example_find_int64(const uint8_t *p, size_t n, const char *name, int64_t *value) {
  const uint8_t *end = p + n, *val = NULL;
  uint64_t field, len;
  int wire, st, found = 0;
  size_t nlen = strlen(name);
  while ((st = qn_pb_next(&p, end, &field, &wire, &val, &len)) == 1) {
    if (field != 1 || wire != 2) continue;
    const uint8_t *fp = val, *fe = val + len, *ev = NULL;
    uint64_t ef, el;
    int ew, fst;
    while ((fst = qn_pb_next(&fp, fe, &ef, &ew, &ev, &el)) == 1) {
      if (ef != 1 || ew != 2) continue;
      /* a map entry: key (1) and value (2) */
      const uint8_t *mp = ev, *me = ev + el, *mv = NULL, *key = NULL, *feat = NULL;
      uint64_t mf, ml, klen = 0, flen = 0;
      int mw, mst;
      while ((mst = qn_pb_next(&mp, me, &mf, &mw, &mv, &ml)) == 1) {
        if (mw != 2) continue;
        if (mf == 1) key = mv, klen = ml;
        if (mf == 2) feat = mv, flen = ml;
      }
      if (mst < 0) return -1;
      if (!key || klen != nlen || memcmp(key, name, nlen) != 0) continue;
      if (!feat) return -1;
      const uint8_t *xp = feat, *xe = feat + flen, *xv = NULL;
      uint64_t xf, xl;
      int xw, xst;
      while ((xst = qn_pb_next(&xp, xe, &xf, &xw, &xv, &xl)) == 1)
        if (xf == 3 && xw == 2) {
          int one = qn_example_one_int64(xv, xv + xl, value);
          if (one < 0) return -1;
          found = one;
        }
      if (xst < 0) return -1;
    }
    if (fst < 0) return -1;
  }
  return st < 0 ? -1 : found;
}

/* ----- a part's bytes ----- */

void qn_rec_pool_init(struct qn_rec_pool *pool, struct qn_context *ctx) {
  memset(pool, 0, sizeof *pool);
  pool->ctx = ctx;
  pthread_mutex_init(&pool->lock, NULL);
}

void qn_rec_pool_reset(struct qn_rec_pool *pool) {
  if (!pool->ctx) return;
  for (int i = 0; i < pool->nfree; i++) qn_mem_free(pool->ctx, pool->free[i]);
  pthread_mutex_destroy(&pool->lock);
  memset(pool, 0, sizeof *pool);
}

uint8_t *qn_rec_chain_room(struct qn_rec_pool *pool, struct qn_rec_chain *c, size_t need,
                           struct qn_error *err) {
  struct qn_rec_piece *last = c->n ? &c->pieces[c->n - 1] : NULL;
  if (last && last->cap - last->len >= need) return last->p + last->len;
  if (c->n == c->cap) {
    int cap = c->cap ? 2 * c->cap : 8;
    struct qn_rec_piece *x = realloc(c->pieces, (size_t)cap * sizeof *x);
    if (!x) {
      qn_error_set(err, QN_ENOMEM, "out of memory");
      return NULL;
    }
    c->pieces = x;
    c->cap = cap;
  }
  struct qn_rec_piece *pc = &c->pieces[c->n];
  pc->len = 0;
  pc->cap = QN_MAX(need, QN_REC_PIECE);
  pc->p = NULL;
  if (pc->cap == QN_REC_PIECE) {
    pthread_mutex_lock(&pool->lock);
    if (pool->nfree) pc->p = pool->free[--pool->nfree];
    pthread_mutex_unlock(&pool->lock);
  }
  if (!pc->p) pc->p = qn_mem_alloc(pool->ctx, pc->cap, "encoded records", err);
  if (!pc->p) return NULL;
  c->n++;
  return pc->p;
}

void qn_rec_chain_free(struct qn_rec_pool *pool, struct qn_rec_chain *c) {
  for (int i = 0; i < c->n; i++) {
    int kept = 0;
    if (c->pieces[i].cap == QN_REC_PIECE) {
      pthread_mutex_lock(&pool->lock);
      if (pool->nfree < QN_REC_POOL) {
        pool->free[pool->nfree++] = c->pieces[i].p;
        kept = 1;
      }
      pthread_mutex_unlock(&pool->lock);
    }
    if (!kept) qn_mem_free(pool->ctx, c->pieces[i].p);
  }
  free(c->pieces);
  memset(c, 0, sizeof *c);
}

/* ----- codec options ----- */

int qn_record_codec_parse(const char *format, const char *text, int arrayrecord,
                          struct qn_record_codec *out, struct qn_error *err) {
  memset(out, 0, sizeof *out);
  out->group_size = 1;
  out->level = 3;
  if (!text || !*text) return QN_OK;
  char buf[256];
  if (strlen(text) >= sizeof buf)
    return qn_error_set(err, QN_EINVAL, "%s: codec '%.40s...' is too long", format, text);
  snprintf(buf, sizeof buf, "%s", text);
  char *save = NULL;
  for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    char *end = NULL;
    long v;
    if (!strcmp(tok, "none") || !strcmp(tok, "uncompressed")) {
      out->zstd = 0;
    } else if (!arrayrecord) {
      return qn_error_set(err, QN_EINVAL,
                          "%s: codec '%s' is not written (records are uncompressed: use none)",
                          format, tok);
    } else if (!strcmp(tok, "zstd")) {
      out->zstd = 1;
    } else if (!strncmp(tok, "zstd:", 5)) {
      v = strtol(tok + 5, &end, 10);
      if (!end || *end || end == tok + 5 || v < 1 || v > 19)
        return qn_error_set(err, QN_EINVAL, "%s: zstd level '%s' is not 1 to 19", format,
                            tok + 5);
      out->zstd = 1;
      out->level = (int)v;
    } else if (!strncmp(tok, "group_size:", 11)) {
      v = strtol(tok + 11, &end, 10);
      if (!end || *end || end == tok + 11 || v < 1 || v > 1000000)
        return qn_error_set(err, QN_EINVAL, "%s: group_size '%s' is not 1 to 1000000", format,
                            tok + 11);
      out->group_size = (int)v;
    } else {
      return qn_error_set(err, QN_EINVAL,
                          "%s: unknown codec option '%s' (use none, zstd, zstd:LEVEL and "
                          "group_size:N, comma separated)",
                          format, tok);
    }
  }
  return QN_OK;
}
