/* thrift.c — the Thrift compact protocol, as Parquet uses it for the footer
 * (FileMetaData) and page headers.
 *
 * Reader: a cursor over a byte range [p, end). Every read checks the bytes
 * left first, so no input can make it read outside the range. Unknown fields
 * of every type (scalars, binary, lists, sets, maps, structs, uuid) are
 * skipped, so files written against newer parquet.thrift versions read.
 * Nesting is bounded by QN_PQ_THRIFT_MAX_DEPTH, and list sizes are checked
 * against the bytes left (each element takes at least one byte, or bits for
 * bools packed as bytes), so a hostile length cannot make us loop for long:
 * work is O(bytes of input).
 *
 * Writer: appends to a malloc'd buffer; allocation failure is sticky (oom)
 * and checked once by the caller, which keeps the call sites short.
 */
#include "qn_pq.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void qn_pq_tin_init(struct qn_pq_tin *t, const uint8_t *p, size_t n, int64_t file_off,
                    const char *path, const char *what, struct qn_error *err) {
  t->base = p;
  t->p = p;
  t->end = p + n;
  t->base_off = file_off;
  t->path = path;
  t->what = what;
  t->depth = 0;
  t->truncated = 0;
  t->err = err;
}

int64_t qn_pq_tin_offset(const struct qn_pq_tin *t) {
  return t->base_off + (int64_t)(t->p - t->base);
}

int qn_pq_tin_fail(struct qn_pq_tin *t, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return qn_error_set(t->err, QN_EFORMAT, "%s: corrupt Parquet %s at byte %lld: %s", t->path,
                      t->what, (long long)qn_pq_tin_offset(t), msg);
}

static int qn_pq_t_short(struct qn_pq_tin *t) {
  t->truncated = 1;
  return qn_pq_tin_fail(t, "data ends inside a Thrift value");
}

int qn_pq_t_varint(struct qn_pq_tin *t, uint64_t *v) {
  uint64_t r = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (t->p >= t->end) return qn_pq_t_short(t);
    uint8_t b = *t->p++;
    if (shift == 63 && (b & 0x7e)) return qn_pq_tin_fail(t, "varint overflows 64 bits");
    r |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *v = r;
      return QN_OK;
    }
  }
  return qn_pq_tin_fail(t, "varint longer than 10 bytes");
}

static int64_t qn_pq_unzigzag(uint64_t v) {
  return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

int qn_pq_t_i64(struct qn_pq_tin *t, int type, int64_t *v) {
  if (type == QN_PQ_T_I8) {
    if (t->p >= t->end) return qn_pq_t_short(t);
    *v = (int8_t)*t->p++;
    return QN_OK;
  }
  if (type != QN_PQ_T_I16 && type != QN_PQ_T_I32 && type != QN_PQ_T_I64)
    return qn_pq_tin_fail(t, "expected an integer, found Thrift type %d", type);
  uint64_t u = 0;
  QN_RETURN_IF_ERROR(qn_pq_t_varint(t, &u));
  *v = qn_pq_unzigzag(u);
  return QN_OK;
}

int qn_pq_t_i32(struct qn_pq_tin *t, int type, int32_t *v) {
  int64_t w = 0;
  if (type == QN_PQ_T_I64) return qn_pq_tin_fail(t, "expected a 32-bit integer, found i64");
  QN_RETURN_IF_ERROR(qn_pq_t_i64(t, type, &w));
  if (w < INT32_MIN || w > INT32_MAX) return qn_pq_tin_fail(t, "integer out of 32-bit range");
  *v = (int32_t)w;
  return QN_OK;
}

int qn_pq_t_bool(struct qn_pq_tin *t, int type, int *v) {
  if (type != QN_PQ_T_TRUE && type != QN_PQ_T_FALSE)
    return qn_pq_tin_fail(t, "expected a bool, found Thrift type %d", type);
  *v = type == QN_PQ_T_TRUE;
  return QN_OK;
}

int qn_pq_t_binary(struct qn_pq_tin *t, int type, const uint8_t **p, uint32_t *n) {
  if (type != QN_PQ_T_BINARY)
    return qn_pq_tin_fail(t, "expected binary, found Thrift type %d", type);
  uint64_t len = 0;
  QN_RETURN_IF_ERROR(qn_pq_t_varint(t, &len));
  if (len > (uint64_t)(t->end - t->p)) {
    t->truncated = 1;
    return qn_pq_tin_fail(t, "binary of %llu bytes runs past the end", (unsigned long long)len);
  }
  *p = t->p;
  *n = (uint32_t)len;
  t->p += len;
  return QN_OK;
}

int qn_pq_t_string(struct qn_pq_tin *t, int type, char **out) {
  const uint8_t *p = NULL;
  uint32_t n = 0;
  QN_RETURN_IF_ERROR(qn_pq_t_binary(t, type, &p, &n));
  char *s = malloc((size_t)n + 1);
  if (!s)
    return qn_error_set(t->err, QN_ENOMEM, "%s: out of memory reading the %s", t->path,
                        t->what);
  memcpy(s, p, n);
  s[n] = '\0';
  free(*out); /* a repeated field keeps the last value */
  *out = s;
  return QN_OK;
}

int qn_pq_t_struct_begin(struct qn_pq_tin *t, struct qn_pq_tfield *f) {
  if (++t->depth > QN_PQ_THRIFT_MAX_DEPTH)
    return qn_pq_tin_fail(t, "Thrift structures nest deeper than %d", QN_PQ_THRIFT_MAX_DEPTH);
  f->last_id = 0;
  return QN_OK;
}

int qn_pq_t_field(struct qn_pq_tin *t, struct qn_pq_tfield *f, int *type, int16_t *id) {
  if (t->p >= t->end) return qn_pq_t_short(t);
  uint8_t b = *t->p++;
  *type = b & 0x0f;
  if (*type == QN_PQ_T_STOP) {
    t->depth--;
    *id = 0;
    return QN_OK;
  }
  int delta = b >> 4;
  if (delta) {
    *id = (int16_t)(f->last_id + delta);
  } else {
    int64_t v;
    QN_RETURN_IF_ERROR(qn_pq_t_i64(t, QN_PQ_T_I16, &v));
    if (v < INT16_MIN || v > INT16_MAX) return qn_pq_tin_fail(t, "field id out of range");
    *id = (int16_t)v;
  }
  if (*type > QN_PQ_T_UUID) return qn_pq_tin_fail(t, "unknown Thrift field type %d", *type);
  f->last_id = *id;
  return QN_OK;
}

/* Least encoded bytes of one element of `etype`, for the size check. */
static int64_t qn_pq_t_min_size(int etype) {
  switch (etype) {
    case QN_PQ_T_DOUBLE:
      return 8;
    case QN_PQ_T_UUID:
      return 16;
    default:
      return 1;
  }
}

int qn_pq_t_list(struct qn_pq_tin *t, int type, int *etype, int32_t *size) {
  if (type != QN_PQ_T_LIST && type != QN_PQ_T_SET)
    return qn_pq_tin_fail(t, "expected a list, found Thrift type %d", type);
  if (t->p >= t->end) return qn_pq_t_short(t);
  uint8_t b = *t->p++;
  uint64_t n = b >> 4;
  *etype = b & 0x0f;
  if (n == 15) QN_RETURN_IF_ERROR(qn_pq_t_varint(t, &n));
  if (*etype == QN_PQ_T_STOP || *etype > QN_PQ_T_UUID)
    return qn_pq_tin_fail(t, "unknown Thrift element type %d", *etype);
  if (n > INT32_MAX || (int64_t)n * qn_pq_t_min_size(*etype) > (int64_t)(t->end - t->p)) {
    t->truncated = 1;
    return qn_pq_tin_fail(t, "list of %llu elements cannot fit in the bytes left",
                          (unsigned long long)n);
  }
  *size = (int32_t)n;
  return QN_OK;
}

static int qn_pq_t_skip_n(struct qn_pq_tin *t, size_t n) {
  if (n > (size_t)(t->end - t->p)) return qn_pq_t_short(t);
  t->p += n;
  return QN_OK;
}

/* Skips a list element or map key/value of `etype`: bools are one byte
 * there, unlike in field position where they take none. */
static int qn_pq_t_skip_elem(struct qn_pq_tin *t, int etype) {
  if (etype == QN_PQ_T_TRUE || etype == QN_PQ_T_FALSE) return qn_pq_t_skip_n(t, 1);
  return qn_pq_t_skip(t, etype);
}

int qn_pq_t_skip(struct qn_pq_tin *t, int type) {
  uint64_t v;
  switch (type) {
    case QN_PQ_T_TRUE:
    case QN_PQ_T_FALSE:
      return QN_OK;
    case QN_PQ_T_I8:
      return qn_pq_t_skip_n(t, 1);
    case QN_PQ_T_I16:
    case QN_PQ_T_I32:
    case QN_PQ_T_I64:
      return qn_pq_t_varint(t, &v);
    case QN_PQ_T_DOUBLE:
      return qn_pq_t_skip_n(t, 8);
    case QN_PQ_T_UUID:
      return qn_pq_t_skip_n(t, 16);
    case QN_PQ_T_BINARY: {
      const uint8_t *p;
      uint32_t n;
      return qn_pq_t_binary(t, type, &p, &n);
    }
    case QN_PQ_T_LIST:
    case QN_PQ_T_SET: {
      int etype;
      int32_t n;
      if (++t->depth > QN_PQ_THRIFT_MAX_DEPTH)
        return qn_pq_tin_fail(t, "Thrift structures nest deeper than %d",
                              QN_PQ_THRIFT_MAX_DEPTH);
      QN_RETURN_IF_ERROR(qn_pq_t_list(t, type, &etype, &n));
      for (int32_t i = 0; i < n; i++) QN_RETURN_IF_ERROR(qn_pq_t_skip_elem(t, etype));
      t->depth--;
      return QN_OK;
    }
    case QN_PQ_T_MAP: {
      uint64_t n = 0;
      if (++t->depth > QN_PQ_THRIFT_MAX_DEPTH)
        return qn_pq_tin_fail(t, "Thrift structures nest deeper than %d",
                              QN_PQ_THRIFT_MAX_DEPTH);
      QN_RETURN_IF_ERROR(qn_pq_t_varint(t, &n));
      if (n > 0) {
        if (t->p >= t->end) return qn_pq_t_short(t);
        uint8_t kv = *t->p++;
        int kt = kv >> 4, vt = kv & 0x0f;
        if (kt == 0 || kt > QN_PQ_T_UUID || vt == 0 || vt > QN_PQ_T_UUID)
          return qn_pq_tin_fail(t, "unknown Thrift map element types %d/%d", kt, vt);
        if (n > (uint64_t)(t->end - t->p) / 2) return qn_pq_t_short(t);
        for (uint64_t i = 0; i < n; i++) {
          QN_RETURN_IF_ERROR(qn_pq_t_skip_elem(t, kt));
          QN_RETURN_IF_ERROR(qn_pq_t_skip_elem(t, vt));
        }
      }
      t->depth--;
      return QN_OK;
    }
    case QN_PQ_T_STRUCT: {
      struct qn_pq_tfield f;
      int ft;
      int16_t id;
      QN_RETURN_IF_ERROR(qn_pq_t_struct_begin(t, &f));
      for (;;) {
        QN_RETURN_IF_ERROR(qn_pq_t_field(t, &f, &ft, &id));
        if (ft == QN_PQ_T_STOP) return QN_OK;
        QN_RETURN_IF_ERROR(qn_pq_t_skip(t, ft));
      }
    }
    default:
      return qn_pq_tin_fail(t, "unknown Thrift type %d", type);
  }
}

/* ----- writer ----- */

void qn_pq_tout_init(struct qn_pq_tout *o) {
  memset(o, 0, sizeof *o);
}

void qn_pq_tout_reset(struct qn_pq_tout *o) {
  free(o->buf);
  qn_pq_tout_init(o);
}

void qn_pq_w_raw(struct qn_pq_tout *o, const void *p, size_t n) {
  if (o->oom) return;
  if (o->len + n > o->cap) {
    size_t cap = o->cap ? o->cap : 256;
    while (cap < o->len + n) cap *= 2;
    uint8_t *b = realloc(o->buf, cap);
    if (!b) {
      o->oom = 1;
      return;
    }
    o->buf = b;
    o->cap = cap;
  }
  memcpy(o->buf + o->len, p, n);
  o->len += n;
}

void qn_pq_w_varint(struct qn_pq_tout *o, uint64_t v) {
  uint8_t b[10];
  int n = 0;
  do {
    b[n] = (uint8_t)(v & 0x7f);
    v >>= 7;
    if (v) b[n] |= 0x80;
    n++;
  } while (v);
  qn_pq_w_raw(o, b, (size_t)n);
}

static uint64_t qn_pq_zigzag(int64_t v) {
  return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

void qn_pq_w_field(struct qn_pq_tout *o, int16_t id, int type) {
  int16_t last = o->last_id[o->depth];
  if (id > last && id - last <= 15) {
    uint8_t b = (uint8_t)(((id - last) << 4) | type);
    qn_pq_w_raw(o, &b, 1);
  } else {
    uint8_t b = (uint8_t)type;
    qn_pq_w_raw(o, &b, 1);
    qn_pq_w_varint(o, qn_pq_zigzag(id));
  }
  o->last_id[o->depth] = id;
}

void qn_pq_w_struct_begin(struct qn_pq_tout *o) {
  if (o->depth + 1 >= QN_PQ_THRIFT_MAX_DEPTH) {
    o->oom = 1; /* a writer bug; reported as a failure at the end */
    return;
  }
  o->last_id[++o->depth] = 0;
}

void qn_pq_w_struct_end(struct qn_pq_tout *o) {
  uint8_t stop = 0;
  qn_pq_w_raw(o, &stop, 1);
  if (o->depth > 0) o->depth--;
}

void qn_pq_w_i32(struct qn_pq_tout *o, int16_t id, int32_t v) {
  qn_pq_w_field(o, id, QN_PQ_T_I32);
  qn_pq_w_varint(o, qn_pq_zigzag(v));
}

void qn_pq_w_i64(struct qn_pq_tout *o, int16_t id, int64_t v) {
  qn_pq_w_field(o, id, QN_PQ_T_I64);
  qn_pq_w_varint(o, qn_pq_zigzag(v));
}

void qn_pq_w_bool(struct qn_pq_tout *o, int16_t id, int v) {
  qn_pq_w_field(o, id, v ? QN_PQ_T_TRUE : QN_PQ_T_FALSE);
}

void qn_pq_w_binary(struct qn_pq_tout *o, int16_t id, const void *p, size_t n) {
  qn_pq_w_field(o, id, QN_PQ_T_BINARY);
  qn_pq_w_varint(o, n);
  qn_pq_w_raw(o, p, n);
}

void qn_pq_w_string(struct qn_pq_tout *o, int16_t id, const char *s) {
  qn_pq_w_binary(o, id, s, strlen(s));
}

void qn_pq_w_list(struct qn_pq_tout *o, int16_t id, int etype, int32_t n) {
  qn_pq_w_field(o, id, QN_PQ_T_LIST);
  if (n < 15) {
    uint8_t b = (uint8_t)((n << 4) | etype);
    qn_pq_w_raw(o, &b, 1);
  } else {
    uint8_t b = (uint8_t)(0xf0 | etype);
    qn_pq_w_raw(o, &b, 1);
    qn_pq_w_varint(o, (uint64_t)n);
  }
}

void qn_pq_w_list_i32(struct qn_pq_tout *o, int32_t v) {
  qn_pq_w_varint(o, qn_pq_zigzag(v));
}

void qn_pq_w_list_string(struct qn_pq_tout *o, const char *s) {
  size_t n = strlen(s);
  qn_pq_w_varint(o, n);
  qn_pq_w_raw(o, s, n);
}
