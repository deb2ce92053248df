/* values.c — decoders of the values section of a data page, one per
 * encoding (Encodings.md): PLAIN (all types), PLAIN_DICTIONARY and
 * RLE_DICTIONARY (indices into a decoded dictionary), RLE booleans,
 * DELTA_BINARY_PACKED (INT32/INT64), BYTE_STREAM_SPLIT (fixed width),
 * DELTA_LENGTH_BYTE_ARRAY and DELTA_BYTE_ARRAY (byte arrays).
 *
 * A decoder is set up per page for the page's non-null values and then
 * asked for values (or to skip them) in any number of calls. It never reads
 * outside [p, end): fixed-width reads check the bytes left, dictionary
 * indices are checked against the dictionary size, string lengths against
 * the bytes left. Failures return -1 with d->why naming the problem; the
 * reader adds file, column and page offset. DELTA_(LENGTH_)BYTE_ARRAY pages
 * decode their lengths once at set-up into budgeted scratch (O(values)).
 */
#include "qn_pq.h"

#include <string.h>

#define QN_PQ_CHUNK 1024

void *qn_pq_scratch_get(struct qn_pq_scratch *s, int slot, size_t bytes, const char *what,
                        struct qn_error *err) {
  if (bytes <= s->cap[slot]) return s->buf[slot];
  size_t cap = QN_MAX(bytes, s->cap[slot] + s->cap[slot] / 2);
  void *p = qn_mem_alloc(s->ctx, cap, what, err);
  if (!p) return NULL;
  qn_mem_free(s->ctx, s->buf[slot]);
  s->buf[slot] = p;
  s->cap[slot] = cap;
  return p;
}

void qn_pq_scratch_free(struct qn_pq_scratch *s) {
  for (int i = 0; i < QN_PQ_SCRATCH_SLOTS; i++) {
    qn_mem_free(s->ctx, s->buf[i]);
    s->buf[i] = NULL;
    s->cap[i] = 0;
  }
}

int qn_pq_strout_append(struct qn_pq_strout *o, const void *p, size_t n, struct qn_error *err) {
  if (o->len + n > o->cap) {
    size_t cap = QN_MAX(o->len + n, QN_MAX((size_t)4096, o->cap * 2));
    uint8_t *b = qn_mem_alloc(o->ctx, cap, "Parquet string values", err);
    if (!b) return err ? err->code : QN_ELIMIT;
    if (o->len) memcpy(b, o->data, o->len);
    qn_mem_free(o->ctx, o->data);
    o->data = b;
    o->cap = cap;
  }
  if (n) memcpy(o->data + o->len, p, n);
  o->len += n;
  return QN_OK;
}

/* ----- dictionary ----- */

void qn_pq_dict_free(struct qn_context *ctx, struct qn_pq_dict *d) {
  qn_mem_free(ctx, d->vals);
  qn_mem_free(ctx, d->offs);
  qn_mem_free(ctx, d->data);
  memset(d, 0, sizeof *d);
}

int qn_pq_dict_decode(struct qn_context *ctx, struct qn_pq_dict *d, int phys, int width,
                      const uint8_t *p, const uint8_t *end, int64_t n, struct qn_error *err) {
  qn_pq_dict_free(ctx, d);
  if (n < 0) return -1;
  if (phys == QN_PQ_BYTE_ARRAY) {
    /* two passes: validate and size, then copy */
    const uint8_t *q = p;
    size_t total = 0;
    for (int64_t i = 0; i < n; i++) {
      if (end - q < 4) return -1;
      uint32_t len = qn_pq_le32(q);
      if (len > (size_t)(end - q - 4)) return -1;
      q += 4 + len;
      total += len;
    }
    d->offs = qn_mem_alloc(ctx, (size_t)(n + 1) * sizeof *d->offs, "Parquet dictionary", err);
    d->data = qn_mem_alloc(ctx, total ? total : 1, "Parquet dictionary", err);
    if (!d->offs || !d->data) return err ? err->code : QN_ELIMIT;
    q = p;
    size_t at = 0;
    d->offs[0] = 0;
    for (int64_t i = 0; i < n; i++) {
      uint32_t len = qn_pq_le32(q);
      memcpy(d->data + at, q + 4, len);
      q += 4 + len;
      at += len;
      d->offs[i + 1] = (int64_t)at;
    }
  } else if (phys == QN_PQ_BOOLEAN) {
    if ((uint64_t)(end - p) * 8 < (uint64_t)n) return -1;
    d->vals = qn_mem_alloc(ctx, (size_t)(n ? n : 1), "Parquet dictionary", err);
    if (!d->vals) return err ? err->code : QN_ELIMIT;
    for (int64_t i = 0; i < n; i++) d->vals[i] = (p[i >> 3] >> (i & 7)) & 1;
    width = 1;
  } else {
    if (width <= 0 || (uint64_t)(end - p) / (uint64_t)width < (uint64_t)n) return -1;
    d->vals = qn_mem_alloc(ctx, (size_t)(n ? n : 1) * (size_t)width, "Parquet dictionary", err);
    if (!d->vals) return err ? err->code : QN_ELIMIT;
    memcpy(d->vals, p, (size_t)n * (size_t)width);
  }
  d->n = n;
  d->width = phys == QN_PQ_BYTE_ARRAY ? 0 : width;
  return 0;
}

/* ----- set-up ----- */

static int qn_pq_vfail(struct qn_pq_vdec *d, const char *why) {
  d->why = why;
  return -1;
}

static int qn_pq_vdec_dlba(struct qn_pq_vdec *d, int64_t n, struct qn_pq_scratch *scr,
                           struct qn_error *err) {
  int64_t *lens = qn_pq_scratch_get(scr, 2, (size_t)(n ? n : 1) * sizeof *lens,
                                    "Parquet string lengths", err);
  if (!lens) return err ? err->code : QN_ELIMIT;
  const uint8_t *after;
  if (qn_pq_delta_init(&d->delta, d->p, d->end) || qn_pq_delta_all(&d->delta, lens, n, &after))
    return qn_pq_vfail(d, "bad DELTA_LENGTH_BYTE_ARRAY lengths"), QN_EFORMAT;
  uint64_t total = 0;
  for (int64_t i = 0; i < n; i++) {
    if (lens[i] < 0) return qn_pq_vfail(d, "negative byte array length"), QN_EFORMAT;
    total += (uint64_t)lens[i];
    if (total > (uint64_t)(d->end - after))
      return qn_pq_vfail(d, "byte array lengths exceed the page"), QN_EFORMAT;
  }
  d->lens = lens;
  d->data = after;
  return QN_OK;
}

/* DELTA_BYTE_ARRAY: prefix lengths, then suffixes as DELTA_LENGTH_BYTE_ARRAY;
 * values are materialised once (each depends on the previous). */
static int qn_pq_vdec_dba(struct qn_pq_vdec *d, int64_t n, struct qn_pq_scratch *scr,
                          struct qn_error *err) {
  size_t nn = (size_t)(n ? n : 1);
  int64_t *pre =
      qn_pq_scratch_get(scr, 2, (3 * nn + 1) * sizeof *pre, "Parquet string lengths", err);
  if (!pre) return err ? err->code : QN_ELIMIT;
  int64_t *suf = pre + nn, *offs = pre + 2 * nn;
  const uint8_t *after, *data;
  if (qn_pq_delta_init(&d->delta, d->p, d->end) || qn_pq_delta_all(&d->delta, pre, n, &after) ||
      qn_pq_delta_init(&d->delta, after, d->end) || qn_pq_delta_all(&d->delta, suf, n, &data))
    return qn_pq_vfail(d, "bad DELTA_BYTE_ARRAY lengths"), QN_EFORMAT;
  uint64_t total = 0, sufbytes = 0, prev = 0;
  for (int64_t i = 0; i < n; i++) {
    if (pre[i] < 0 || suf[i] < 0 || (uint64_t)pre[i] > prev)
      return qn_pq_vfail(d, "bad DELTA_BYTE_ARRAY prefix or suffix length"), QN_EFORMAT;
    sufbytes += (uint64_t)suf[i];
    if (sufbytes > (uint64_t)(d->end - data))
      return qn_pq_vfail(d, "byte array suffixes exceed the page"), QN_EFORMAT;
    prev = (uint64_t)pre[i] + (uint64_t)suf[i];
    total += prev;
    if (total > ((uint64_t)1 << 40))
      return qn_pq_vfail(d, "DELTA_BYTE_ARRAY too large"), QN_EFORMAT;
  }
  uint8_t *out =
      qn_pq_scratch_get(scr, 3, total ? (size_t)total : 1, "Parquet string values", err);
  if (!out) return err ? err->code : QN_ELIMIT;
  uint64_t at = 0, prev_at = 0;
  offs[0] = 0;
  for (int64_t i = 0; i < n; i++) {
    memmove(out + at, out + prev_at, (size_t)pre[i]);
    memcpy(out + at + pre[i], data, (size_t)suf[i]);
    data += suf[i];
    prev_at = at;
    at += (uint64_t)(pre[i] + suf[i]);
    offs[i + 1] = (int64_t)at;
  }
  d->lens = offs;
  d->data = out;
  return QN_OK;
}

int qn_pq_vdec_init(struct qn_pq_vdec *d, int encoding, int phys, int width, const uint8_t *p,
                    const uint8_t *end, int64_t n, const struct qn_pq_dict *dict,
                    struct qn_pq_scratch *scr, struct qn_error *err) {
  memset(d, 0, sizeof *d);
  d->phys = phys;
  d->width = width;
  d->p = p;
  d->end = end;
  d->left = n;
  d->nvals = n;
  if (width <= 0 && phys != QN_PQ_BYTE_ARRAY) {
    d->why = "fixed-width type of zero width";
    return QN_EUNSUPPORTED;
  }
  switch (encoding) {
    case QN_PQ_PLAIN:
      d->kind = phys == QN_PQ_BOOLEAN      ? QN_PQ_V_PLAIN_BOOL
                : phys == QN_PQ_BYTE_ARRAY ? QN_PQ_V_PLAIN_BYTES
                                           : QN_PQ_V_PLAIN;
      return QN_OK;
    case QN_PQ_PLAIN_DICTIONARY:
    case QN_PQ_RLE_DICTIONARY:
      if (!dict || (!dict->offs && !dict->vals))
        return qn_pq_vfail(d, "dictionary-encoded page without a dictionary page"), QN_EFORMAT;
      d->kind = QN_PQ_V_DICT;
      d->dict = dict;
      if (p >= end) { /* no bit width byte: only a page without values */
        qn_pq_rle_init(&d->rle, end, end, 0);
        if (n == 0) return QN_OK;
        return qn_pq_vfail(d, "dictionary page data is empty"), QN_EFORMAT;
      }
      if (*p > 32) return qn_pq_vfail(d, "dictionary index bit width above 32"), QN_EFORMAT;
      qn_pq_rle_init(&d->rle, p + 1, end, *p);
      return QN_OK;
    case QN_PQ_RLE:
      if (phys != QN_PQ_BOOLEAN) break;
      if (end - p < 4) return qn_pq_vfail(d, "RLE boolean data without its length"), QN_EFORMAT;
      if (qn_pq_le32(p) > (uint64_t)(end - p - 4))
        return qn_pq_vfail(d, "RLE boolean length past the page"), QN_EFORMAT;
      d->kind = QN_PQ_V_RLE_BOOL;
      qn_pq_rle_init(&d->rle, p + 4, p + 4 + qn_pq_le32(p), 1);
      return QN_OK;
    case QN_PQ_DELTA_BINARY_PACKED:
      if (phys != QN_PQ_INT32 && phys != QN_PQ_INT64) break;
      d->kind = QN_PQ_V_DELTA;
      if (qn_pq_delta_init(&d->delta, p, end) || d->delta.total < (uint64_t)n)
        return qn_pq_vfail(d, "bad DELTA_BINARY_PACKED header"), QN_EFORMAT;
      return QN_OK;
    case QN_PQ_BYTE_STREAM_SPLIT:
      if (phys == QN_PQ_BOOLEAN || phys == QN_PQ_BYTE_ARRAY) break;
      if ((uint64_t)(end - p) != (uint64_t)n * (uint64_t)width)
        return qn_pq_vfail(d, "BYTE_STREAM_SPLIT data size differs from the value count"),
               QN_EFORMAT;
      d->kind = QN_PQ_V_BSS;
      return QN_OK;
    case QN_PQ_DELTA_LENGTH_BYTE_ARRAY:
      if (phys != QN_PQ_BYTE_ARRAY) break;
      d->kind = QN_PQ_V_DLBA;
      return qn_pq_vdec_dlba(d, n, scr, err);
    case QN_PQ_DELTA_BYTE_ARRAY:
      if (phys != QN_PQ_BYTE_ARRAY) break;
      d->kind = QN_PQ_V_DBA;
      return qn_pq_vdec_dba(d, n, scr, err);
    default:
      break;
  }
  d->why = "encoding not supported for this type";
  return QN_EUNSUPPORTED;
}

/* ----- fixed width ----- */

static int qn_pq_gather(struct qn_pq_vdec *d, uint8_t *dst, int64_t n) {
  uint32_t idx[QN_PQ_CHUNK];
  const struct qn_pq_dict *dict = d->dict;
  int w = dict->width;
  uint32_t nd = (uint32_t)dict->n;
  while (n > 0) {
    int64_t k = QN_MIN(n, QN_PQ_CHUNK);
    if (qn_pq_rle_get32(&d->rle, idx, k)) return qn_pq_vfail(d, "corrupt dictionary indices");
    uint32_t bad = 0;
    if (w == 8) {
      const uint64_t *v = (const uint64_t *)(const void *)dict->vals;
      uint64_t *o = (uint64_t *)(void *)dst;
      for (int64_t i = 0; i < k; i++) {
        uint32_t j = idx[i];
        bad |= j >= nd;
        o[i] = v[j < nd ? j : 0];
      }
    } else if (w == 4) {
      const uint32_t *v = (const uint32_t *)(const void *)dict->vals;
      uint32_t *o = (uint32_t *)(void *)dst;
      for (int64_t i = 0; i < k; i++) {
        uint32_t j = idx[i];
        bad |= j >= nd;
        o[i] = v[j < nd ? j : 0];
      }
    } else {
      for (int64_t i = 0; i < k; i++) {
        uint32_t j = idx[i];
        bad |= j >= nd;
        if (j < nd) memcpy(dst + i * w, dict->vals + (size_t)j * (size_t)w, (size_t)w);
      }
    }
    if (bad) return qn_pq_vfail(d, "dictionary index out of range");
    dst += k * w;
    n -= k;
  }
  return 0;
}

static int qn_pq_delta_fixed(struct qn_pq_vdec *d, uint8_t *dst, int64_t n) {
  int64_t tmp[QN_PQ_CHUNK];
  while (n > 0) {
    int64_t k = QN_MIN(n, QN_PQ_CHUNK);
    if (qn_pq_delta_get(&d->delta, tmp, k))
      return qn_pq_vfail(d, "corrupt DELTA_BINARY_PACKED data");
    if (d->phys == QN_PQ_INT32) {
      int32_t *o = (int32_t *)(void *)dst;
      for (int64_t i = 0; i < k; i++) o[i] = (int32_t)(uint32_t)(uint64_t)tmp[i];
    } else {
      memcpy(dst, tmp, (size_t)k * 8);
    }
    dst += k * d->width;
    n -= k;
  }
  return 0;
}

static void qn_pq_bss(struct qn_pq_vdec *d, uint8_t *dst, int64_t n) {
  int w = d->width;
  int64_t N = d->nvals, i0 = d->idx;
  for (int b = 0; b < w; b++) {
    const uint8_t *s = d->p + (size_t)b * (size_t)N + (size_t)i0;
    for (int64_t i = 0; i < n; i++) dst[i * w + b] = s[i];
  }
}

int qn_pq_vdec_fixed(struct qn_pq_vdec *d, void *dst, int64_t n) {
  uint8_t *o = dst;
  if (n > d->left) return qn_pq_vfail(d, "page holds fewer values than its levels say");
  switch (d->kind) {
    case QN_PQ_V_PLAIN: {
      size_t bytes = (size_t)n * (size_t)d->width;
      if ((size_t)(d->end - d->p) < bytes)
        return qn_pq_vfail(d, "PLAIN values run past the page");
      memcpy(o, d->p, bytes);
      d->p += bytes;
      break;
    }
    case QN_PQ_V_PLAIN_BOOL:
      if ((uint64_t)(d->end - d->p) * 8 < d->bitpos + (uint64_t)n)
        return qn_pq_vfail(d, "PLAIN booleans run past the page");
      for (int64_t i = 0; i < n; i++, d->bitpos++)
        o[i] = (d->p[d->bitpos >> 3] >> (d->bitpos & 7)) & 1;
      break;
    case QN_PQ_V_RLE_BOOL:
      if (qn_pq_rle_get8(&d->rle, o, n)) return qn_pq_vfail(d, "corrupt RLE booleans");
      break;
    case QN_PQ_V_DICT:
      if (d->dict->width == 0)
        return qn_pq_vfail(d, "dictionary of byte arrays for a fixed-width column");
      if (qn_pq_gather(d, o, n)) return -1;
      break;
    case QN_PQ_V_DELTA:
      if (qn_pq_delta_fixed(d, o, n)) return -1;
      break;
    case QN_PQ_V_BSS:
      qn_pq_bss(d, o, n);
      d->idx += n;
      break;
    default:
      return qn_pq_vfail(d, "byte array encoding for a fixed-width column");
  }
  d->left -= n;
  return 0;
}

/* ----- byte arrays ----- */

static int qn_pq_put_str(struct qn_pq_strout *o, const void *p, size_t len,
                         struct qn_error *err) {
  int st = qn_pq_strout_append(o, p, len, err);
  if (st) return st;
  *++o->offs = (int64_t)o->len;
  return QN_OK;
}

int qn_pq_vdec_strings(struct qn_pq_vdec *d, struct qn_pq_strout *o, int64_t n,
                       struct qn_error *err) {
  int st;
  if (n > d->left)
    return qn_pq_vfail(d, "page holds fewer values than its levels say"), QN_EFORMAT;
  switch (d->kind) {
    case QN_PQ_V_PLAIN_BYTES:
      for (int64_t i = 0; i < n; i++) {
        if (d->end - d->p < 4)
          return qn_pq_vfail(d, "PLAIN byte array runs past the page"), QN_EFORMAT;
        uint32_t len = qn_pq_le32(d->p);
        if (len > (uint64_t)(d->end - d->p - 4))
          return qn_pq_vfail(d, "PLAIN byte array runs past the page"), QN_EFORMAT;
        if ((st = qn_pq_put_str(o, d->p + 4, len, err))) return st;
        d->p += 4 + (size_t)len;
      }
      break;
    case QN_PQ_V_DICT: {
      uint32_t idx[QN_PQ_CHUNK];
      const struct qn_pq_dict *dict = d->dict;
      if (dict->width != 0)
        return qn_pq_vfail(d, "fixed-width dictionary for a byte array column"), QN_EFORMAT;
      for (int64_t done = 0; done < n;) {
        int64_t k = QN_MIN(n - done, QN_PQ_CHUNK);
        if (qn_pq_rle_get32(&d->rle, idx, k))
          return qn_pq_vfail(d, "corrupt dictionary indices"), QN_EFORMAT;
        for (int64_t i = 0; i < k; i++) {
          if (idx[i] >= (uint64_t)dict->n)
            return qn_pq_vfail(d, "dictionary index out of range"), QN_EFORMAT;
          int64_t a = dict->offs[idx[i]], b = dict->offs[idx[i] + 1];
          if ((st = qn_pq_put_str(o, dict->data + a, (size_t)(b - a), err))) return st;
        }
        done += k;
      }
      break;
    }
    case QN_PQ_V_DLBA:
      for (int64_t i = 0; i < n; i++) {
        size_t len = (size_t)d->lens[d->idx++];
        if ((st = qn_pq_put_str(o, d->data, len, err))) return st;
        d->data += len;
      }
      break;
    case QN_PQ_V_DBA:
      for (int64_t i = 0; i < n; i++, d->idx++) {
        int64_t a = d->lens[d->idx], b = d->lens[d->idx + 1];
        if ((st = qn_pq_put_str(o, d->data + a, (size_t)(b - a), err))) return st;
      }
      break;
    default:
      return qn_pq_vfail(d, "fixed-width encoding for a byte array column"), QN_EFORMAT;
  }
  d->left -= n;
  return QN_OK;
}

int qn_pq_vdec_skip(struct qn_pq_vdec *d, int64_t n) {
  if (n > d->left) return qn_pq_vfail(d, "page holds fewer values than its levels say");
  switch (d->kind) {
    case QN_PQ_V_PLAIN:
      if ((uint64_t)(d->end - d->p) / (uint64_t)d->width < (uint64_t)n)
        return qn_pq_vfail(d, "PLAIN values run past the page");
      d->p += (size_t)n * (size_t)d->width;
      break;
    case QN_PQ_V_PLAIN_BOOL:
      d->bitpos += (uint64_t)n;
      break;
    case QN_PQ_V_RLE_BOOL:
    case QN_PQ_V_DICT:
      if (qn_pq_rle_skip(&d->rle, n)) return qn_pq_vfail(d, "corrupt RLE data");
      break;
    case QN_PQ_V_DELTA: {
      int64_t tmp[QN_PQ_CHUNK];
      for (int64_t done = 0; done < n;) {
        int64_t k = QN_MIN(n - done, QN_PQ_CHUNK);
        if (qn_pq_delta_get(&d->delta, tmp, k))
          return qn_pq_vfail(d, "corrupt DELTA_BINARY_PACKED data");
        done += k;
      }
      break;
    }
    case QN_PQ_V_BSS:
    case QN_PQ_V_DBA:
      d->idx += n;
      break;
    case QN_PQ_V_PLAIN_BYTES:
      for (int64_t i = 0; i < n; i++) {
        if (d->end - d->p < 4) return qn_pq_vfail(d, "PLAIN byte array runs past the page");
        uint32_t len = qn_pq_le32(d->p);
        if (len > (uint64_t)(d->end - d->p - 4))
          return qn_pq_vfail(d, "PLAIN byte array runs past the page");
        d->p += 4 + (size_t)len;
      }
      break;
    case QN_PQ_V_DLBA:
      for (int64_t i = 0; i < n; i++) d->data += d->lens[d->idx++];
      break;
    default:
      return -1;
  }
  d->left -= n;
  return 0;
}
