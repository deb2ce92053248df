/* meta.c — the Parquet footer: FileMetaData -> flat leaf columns and row
 * groups.
 *
 * The schema is a depth-first list of SchemaElements; we rebuild the tree
 * with an explicit stack (never recursion), bounded at QN_PQ_MAX_NESTING
 * levels, and consume each element exactly once, so a schema whose
 * num_children counts lie (too many, negative, cycles by construction)
 * ends in an error after at most `n` steps. Each leaf gets its dotted path
 * name, its max definition and repetition levels, and the in-memory type
 * quern produces for it (from the physical type, the LogicalType and the
 * legacy ConvertedType, see LogicalTypes.md).
 *
 * Every column chunk is checked before any page is read: offsets and sizes
 * inside the file (before the footer), value counts equal to row counts for
 * flat columns, physical type equal to the schema's. Later page reads can
 * then trust that [start, start + size) lies inside the file.
 *
 * Column chunk Statistics (null count, fixed-width bounds, exactness
 * flags) and FileMetaData.column_orders are kept as read; what they may be
 * trusted for is the reader's decision (reader.c, qn_pq_minmax).
 */
#include "qn_pq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define QN_PQ_MAX_NESTING 64

/* One SchemaElement as parsed. */
struct qn_pq_selem {
  char *name;
  int has_type, type;
  int32_t type_length;
  int has_rep, rep;
  int32_t num_children;
  int has_children;
  int converted; /* -1 when absent */
  int32_t scale, precision;
  /* LogicalType: union member id (0 = absent) and its parameters */
  int logical;
  int lt_bits, lt_signed, lt_unit; /* unit: 1 ms, 2 us, 3 ns */
  int32_t lt_scale, lt_precision;
};

const char *qn_pq_codec_name(int codec) {
  static const char *names[] = {"UNCOMPRESSED", "SNAPPY", "GZIP", "LZO",
                                "BROTLI",       "LZ4",    "ZSTD", "LZ4_RAW"};
  return codec >= 0 && codec < 8 ? names[codec] : "UNKNOWN_CODEC";
}

const char *qn_pq_encoding_name(int e) {
  static const char *names[] = {
      "PLAIN",          "GROUP_VAR_INT",       "PLAIN_DICTIONARY",        "RLE",
      "BIT_PACKED",     "DELTA_BINARY_PACKED", "DELTA_LENGTH_BYTE_ARRAY", "DELTA_BYTE_ARRAY",
      "RLE_DICTIONARY", "BYTE_STREAM_SPLIT"};
  return e >= 0 && e < 10 ? names[e] : "UNKNOWN_ENCODING";
}

const char *qn_pq_phys_name(int t) {
  static const char *names[] = {"BOOLEAN", "INT32",  "INT64",      "INT96",
                                "FLOAT",   "DOUBLE", "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY"};
  return t >= 0 && t < 8 ? names[t] : "UNKNOWN_TYPE";
}

/* ----- Thrift struct parsers (unknown fields skipped) ----- */

static int qn_pq_parse_unit(struct qn_pq_tin *t, int *unit) {
  struct qn_pq_tfield f;
  int ft;
  int16_t id;
  QN_RETURN_IF_ERROR(qn_pq_t_struct_begin(t, &f));
  for (;;) {
    QN_RETURN_IF_ERROR(qn_pq_t_field(t, &f, &ft, &id));
    if (ft == QN_PQ_T_STOP) return QN_OK;
    if (id >= 1 && id <= 3 && ft == QN_PQ_T_STRUCT) *unit = id;
    QN_RETURN_IF_ERROR(qn_pq_t_skip(t, ft));
  }
}

/* TimestampType, TimeType, IntType and DecimalType share this loop: the
 * fields we read are typed, the rest skipped. */
static int qn_pq_parse_lt_params(struct qn_pq_tin *t, struct qn_pq_selem *e) {
  struct qn_pq_tfield f;
  int ft;
  int16_t id;
  int32_t v;
  QN_RETURN_IF_ERROR(qn_pq_t_struct_begin(t, &f));
  for (;;) {
    QN_RETURN_IF_ERROR(qn_pq_t_field(t, &f, &ft, &id));
    if (ft == QN_PQ_T_STOP) return QN_OK;
    int lt = e->logical;
    if ((lt == 7 || lt == 8) && id == 2 && ft == QN_PQ_T_STRUCT) {
      QN_RETURN_IF_ERROR(qn_pq_parse_unit(t, &e->lt_unit));
    } else if (lt == 10 && id == 1 && ft != QN_PQ_T_TRUE && ft != QN_PQ_T_FALSE) {
      QN_RETURN_IF_ERROR(qn_pq_t_i32(t, ft, &v));
      e->lt_bits = v;
    } else if (lt == 10 && id == 2) {
      QN_RETURN_IF_ERROR(qn_pq_t_bool(t, ft, &e->lt_signed));
    } else if (lt == 5 && (id == 1 || id == 2)) {
      QN_RETURN_IF_ERROR(qn_pq_t_i32(t, ft, id == 1 ? &e->lt_scale : &e->lt_precision));
    } else {
      QN_RETURN_IF_ERROR(qn_pq_t_skip(t, ft));
    }
  }
}

static int qn_pq_parse_logical(struct qn_pq_tin *t, struct qn_pq_selem *e) {
  struct qn_pq_tfield f;
  int ft;
  int16_t id;
  QN_RETURN_IF_ERROR(qn_pq_t_struct_begin(t, &f));
  for (;;) {
    QN_RETURN_IF_ERROR(qn_pq_t_field(t, &f, &ft, &id));
    if (ft == QN_PQ_T_STOP) return QN_OK;
    if (ft != QN_PQ_T_STRUCT) {
      QN_RETURN_IF_ERROR(qn_pq_t_skip(t, ft));
      continue;
    }
    e->logical = id;
    QN_RETURN_IF_ERROR(qn_pq_parse_lt_params(t, e));
  }
}

static int qn_pq_parse_selem(struct qn_pq_tin *t, struct qn_pq_selem *e) {
  struct qn_pq_tfield f;
  int ft;
  int16_t id;
  int32_t v;
  e->converted = -1;
  QN_RETURN_IF_ERROR(qn_pq_t_struct_begin(t, &f));
  for (;;) {
    QN_RETURN_IF_ERROR(qn_pq_t_field(t, &f, &ft, &id));
    if (ft == QN_PQ_T_STOP) break;
    switch (id) {
      case 1:
        QN_RETURN_IF_ERROR(qn_pq_t_i32(t, ft, &v));
        e->has_type = 1;
        e->type = v;
        break;
      case 2:
        QN_RETURN_IF_ERROR(qn_pq_t_i32(t, ft, &e->type_length));
        break;
      case 3:
        QN_RETURN_IF_ERROR(qn_pq_t_i32(t, ft, &v));
        e->has_rep = 1;
        e->rep = v;
        break;
      case 4:
        QN_RETURN_IF_ERROR(qn_pq_t_string(t, ft, &e->name));
        break;
      case 5:
        QN_RETURN_IF_ERROR(qn_pq_t_i32(t, ft, &e->num_children));
        e->has_children = 1;
        break;
      case 6:
        QN_RETURN_IF_ERROR(qn_pq_t_i32(t, ft, &v));
        e->converted = v;
        break;
      case 7:
        QN_RETURN_IF_ERROR(qn_pq_t_i32(t, ft, &e->scale));
        break;
      case 8:
        QN_RETURN_IF_ERROR(qn_pq_t_i32(t, ft, &e->precision));
        break;
      case 10:
        if (ft == QN_PQ_T_STRUCT)
          QN_RETURN_IF_ERROR(qn_pq_parse_logical(t, e));
        else
          QN_RETURN_IF_ERROR(qn_pq_t_skip(t, ft));
        break;
      default:
        QN_RETURN_IF_ERROR(qn_pq_t_skip(t, ft));
    }
  }
  if (!e->name) return qn_pq_tin_fail(t, "schema element without a name");
  return QN_OK;
}

/* One bound of Statistics: kept when it fits 8 bytes (fixed-width
 * types), else left absent. */
static int qn_pq_parse_bound(struct qn_pq_tin *t, int ft, uint8_t *dst, int8_t *len) {
  const uint8_t *p;
  uint32_t n;
  QN_RETURN_IF_ERROR(qn_pq_t_binary(t, ft, &p, &n));
  *len = 0;
  if (n >= 1 && n <= 8) {
    memcpy(dst, p, n);
    *len = (int8_t)n;
  }
  return QN_OK;
}

/* Statistics (ColumnMetaData field 12) into s. */
static int qn_pq_parse_stats(struct qn_pq_tin *t, struct qn_pq_stats *s) {
  struct qn_pq_tfield f;
  int ft, b;
  int16_t id;
  memset(s, 0, sizeof *s);
  s->min_exact = s->max_exact = -1;
  s->null_count = -1;
  QN_RETURN_IF_ERROR(qn_pq_t_struct_begin(t, &f));
  for (;;) {
    QN_RETURN_IF_ERROR(qn_pq_t_field(t, &f, &ft, &id));
    if (ft == QN_PQ_T_STOP) return QN_OK;
    switch (id) {
      case 1:
        QN_RETURN_IF_ERROR(qn_pq_parse_bound(t, ft, s->max, &s->max_len));
        break;
      case 2:
        QN_RETURN_IF_ERROR(qn_pq_parse_bound(t, ft, s->min, &s->min_len));
        break;
      case 3:
        QN_RETURN_IF_ERROR(qn_pq_t_i64(t, ft, &s->null_count));
        break;
      case 5:
        QN_RETURN_IF_ERROR(qn_pq_parse_bound(t, ft, s->max_value, &s->max_value_len));
        break;
      case 6:
        QN_RETURN_IF_ERROR(qn_pq_parse_bound(t, ft, s->min_value, &s->min_value_len));
        break;
      case 7:
      case 8:
        QN_RETURN_IF_ERROR(qn_pq_t_bool(t, ft, &b));
        *(id == 7 ? &s->max_exact : &s->min_exact) = (int8_t)(b != 0);
        break;
      default:
        QN_RETURN_IF_ERROR(qn_pq_t_skip(t, ft));
    }
  }
}

/* ColumnMetaData into a chunk. */
static int qn_pq_parse_colmeta(struct qn_pq_tin *t, struct qn_pq_chunk *c, int64_t *dict_off) {
  struct qn_pq_tfield f;
  int ft, et;
  int16_t id;
  int32_t v, n;
  QN_RETURN_IF_ERROR(qn_pq_t_struct_begin(t, &f));
  for (;;) {
    QN_RETURN_IF_ERROR(qn_pq_t_field(t, &f, &ft, &id));
    if (ft == QN_PQ_T_STOP) return QN_OK;
    switch (id) {
      case 1:
        QN_RETURN_IF_ERROR(qn_pq_t_i32(t, ft, &v));
        c->phys = v;
        break;
      case 2:
        QN_RETURN_IF_ERROR(qn_pq_t_list(t, ft, &et, &n));
        for (int32_t i = 0; i < n; i++) {
          QN_RETURN_IF_ERROR(qn_pq_t_i32(t, et, &v));
          if (v >= 0 && v < 32) c->encodings |= 1u << v;
        }
        break;
      case 4:
        QN_RETURN_IF_ERROR(qn_pq_t_i32(t, ft, &v));
        c->codec = v;
        break;
      case 5:
        QN_RETURN_IF_ERROR(qn_pq_t_i64(t, ft, &c->num_values));
        break;
      case 6:
        QN_RETURN_IF_ERROR(qn_pq_t_i64(t, ft, &c->uncompressed_size));
        break;
      case 7:
        QN_RETURN_IF_ERROR(qn_pq_t_i64(t, ft, &c->size));
        break;
      case 9:
        QN_RETURN_IF_ERROR(qn_pq_t_i64(t, ft, &c->data_page_offset));
        break;
      case 11:
        QN_RETURN_IF_ERROR(qn_pq_t_i64(t, ft, dict_off));
        break;
      case 12:
        if (ft != QN_PQ_T_STRUCT)
          return qn_pq_tin_fail(t, "column statistics are not a struct");
        QN_RETURN_IF_ERROR(qn_pq_parse_stats(t, &c->stats));
        c->has_stats = 1;
        break;
      default:
        QN_RETURN_IF_ERROR(qn_pq_t_skip(t, ft));
    }
  }
}

static int qn_pq_parse_chunk(struct qn_pq_tin *t, struct qn_pq_chunk *c, int64_t *dict_off,
                             int *has_meta) {
  struct qn_pq_tfield f;
  int ft;
  int16_t id;
  QN_RETURN_IF_ERROR(qn_pq_t_struct_begin(t, &f));
  for (;;) {
    QN_RETURN_IF_ERROR(qn_pq_t_field(t, &f, &ft, &id));
    if (ft == QN_PQ_T_STOP) return QN_OK;
    if (id == 3 && ft == QN_PQ_T_STRUCT) {
      QN_RETURN_IF_ERROR(qn_pq_parse_colmeta(t, c, dict_off));
      *has_meta = 1;
    } else if (id == 1 && ft == QN_PQ_T_BINARY) {
      return qn_error_set(t->err, QN_EUNSUPPORTED,
                          "%s: column data stored in another file (file_path) is not supported",
                          t->path);
    } else if (id == 8 || id == 9) {
      return qn_error_set(t->err, QN_EUNSUPPORTED,
                          "%s: encrypted Parquet columns are not supported", t->path);
    } else {
      QN_RETURN_IF_ERROR(qn_pq_t_skip(t, ft));
    }
  }
}

/* Parsing context shared by the row-group parser. */
struct qn_pq_mparse {
  struct qn_pq_tin *t;
  struct qn_pq_meta *m;
  int64_t data_end; /* column data must end before the footer */
};

static int qn_pq_check_chunk(struct qn_pq_mparse *mp, struct qn_pq_rowgroup *rg,
                             struct qn_pq_chunk *c, int64_t dict_off, int leaf, int64_t at) {
  struct qn_pq_meta *m = mp->m;
  const struct qn_pq_leaf *L = &m->leaves[leaf];
  const char *path = mp->t->path;
  struct qn_error *err = mp->t->err;
#define QN_PQ_BAD(...)          \
  qn_error_set(err, QN_EFORMAT, \
               "%s: corrupt Parquet footer at byte %lld: column %s: " __VA_ARGS__)
  if (c->phys != L->phys)
    return QN_PQ_BAD("chunk type %s differs from schema type %s", path, (long long)at, L->name,
                     qn_pq_phys_name(c->phys), qn_pq_phys_name(L->phys));
  c->start = c->data_page_offset;
  if (dict_off > 0 && dict_off < c->data_page_offset) {
    c->start = dict_off;
    c->has_dict = 1;
  }
  if (c->start < 4 || c->size <= 0 || c->start > mp->data_end ||
      c->size > mp->data_end - c->start)
    return QN_PQ_BAD("chunk at byte %lld of %lld bytes lies outside the data (file has %lld)",
                     path, (long long)at, L->name, (long long)c->start, (long long)c->size,
                     (long long)m->file_size);
  if (c->data_page_offset >= c->start + c->size)
    return QN_PQ_BAD("data page offset %lld is past the chunk end", path, (long long)at,
                     L->name, (long long)c->data_page_offset);
  if (c->num_values < 0 || (L->max_rep == 0 && c->num_values != rg->num_rows))
    return QN_PQ_BAD("chunk holds %lld values for %lld rows", path, (long long)at, L->name,
                     (long long)c->num_values, (long long)rg->num_rows);
#undef QN_PQ_BAD
  return QN_OK;
}

static int qn_pq_parse_rowgroup(struct qn_pq_mparse *mp, struct qn_pq_rowgroup *rg) {
  struct qn_pq_tin *t = mp->t;
  struct qn_pq_meta *m = mp->m;
  struct qn_pq_tfield f;
  int ft, et;
  int16_t id;
  int32_t n;
  int seen_columns = 0;
  int64_t cols_at = 0;
  rg->num_rows = -1;
  int64_t *dict = NULL;
  int *has_meta = NULL;
  int status = qn_pq_t_struct_begin(t, &f);
  if (status) return status;
  for (;;) {
    QN_CHECK(qn_pq_t_field(t, &f, &ft, &id));
    if (ft == QN_PQ_T_STOP) break;
    if (id == 1 && !seen_columns) {
      cols_at = qn_pq_tin_offset(t);
      QN_CHECK(qn_pq_t_list(t, ft, &et, &n));
      if (et != QN_PQ_T_STRUCT || n != m->nleaves) {
        status = qn_pq_tin_fail(t, "row group has %d column chunks for %d schema columns",
                                (int)n, m->nleaves);
        goto done;
      }
      rg->chunks = calloc((size_t)(n ? n : 1), sizeof *rg->chunks);
      dict = calloc((size_t)(n ? n : 1), sizeof *dict);
      has_meta = calloc((size_t)(n ? n : 1), sizeof *has_meta);
      if (!rg->chunks || !dict || !has_meta) {
        status =
            qn_error_set(t->err, QN_ENOMEM, "%s: out of memory reading the footer", t->path);
        goto done;
      }
      for (int32_t i = 0; i < n; i++)
        QN_CHECK(qn_pq_parse_chunk(t, &rg->chunks[i], &dict[i], &has_meta[i]));
      seen_columns = 1;
    } else if (id == 3) {
      QN_CHECK(qn_pq_t_i64(t, ft, &rg->num_rows));
    } else {
      QN_CHECK(qn_pq_t_skip(t, ft));
    }
  }
  if (!seen_columns || rg->num_rows < 0) {
    status = qn_pq_tin_fail(t, "row group without columns or row count");
    goto done;
  }
  for (int i = 0; i < m->nleaves; i++) {
    if (!has_meta[i]) {
      status = qn_pq_tin_fail(t, "column chunk %d has no metadata", i);
      goto done;
    }
    QN_CHECK(qn_pq_check_chunk(mp, rg, &rg->chunks[i], dict[i], i, cols_at));
  }
done:
  free(dict);
  free(has_meta);
  return status;
}

/* ----- schema tree -> leaves ----- */

static void qn_pq_name_int(struct qn_pq_leaf *L, const struct qn_pq_selem *e) {
  int bits = 0, is_signed = 1;
  if (e->logical == 10) {
    bits = e->lt_bits;
    is_signed = e->lt_signed;
  } else if (e->converted >= QN_PQ_CT_UINT_8 && e->converted <= QN_PQ_CT_INT_64) {
    static const int cb[] = {8, 16, 32, 64, 8, 16, 32, 64};
    bits = cb[e->converted - QN_PQ_CT_UINT_8];
    is_signed = e->converted >= QN_PQ_CT_INT_8;
  }
  if (L->phys == QN_PQ_INT32) {
    if (bits == 8) {
      L->type = is_signed ? QN_INT8 : QN_UINT8;
      L->conv = QN_PQ_CV_NARROW8;
    } else if (bits == 16) {
      L->type = is_signed ? QN_INT16 : QN_UINT16;
      L->conv = QN_PQ_CV_NARROW16;
    } else {
      L->type = (bits == 32 && !is_signed) ? QN_UINT32 : QN_INT32;
    }
  } else {
    L->type = (bits == 64 && !is_signed) ? QN_UINT64 : QN_INT64;
  }
  snprintf(L->type_name, sizeof L->type_name, "%s", qn_type_name(L->type));
}

/* Decides the in-memory type of a leaf. */
static void qn_pq_leaf_type(struct qn_pq_leaf *L, const struct qn_pq_selem *e) {
  static const char *units[] = {"", "ms", "us", "ns"};
  static const int64_t per_s[] = {0, 1000, 1000000, 1000000000};
  int ct = e->converted, lt = e->logical;
  int unit = lt == 8                           ? e->lt_unit
             : ct == QN_PQ_CT_TIMESTAMP_MILLIS ? 1
             : ct == QN_PQ_CT_TIMESTAMP_MICROS ? 2
                                               : 0;
  int is_decimal = lt == 5 || ct == QN_PQ_CT_DECIMAL;
  int is_time = lt == 7 || ct == QN_PQ_CT_TIME_MILLIS || ct == QN_PQ_CT_TIME_MICROS;
  L->type = QN_TYPE_INVALID;
  if (L->max_rep > 0) {
    L->skip_reason = "repeated (list) columns are not read yet";
    return;
  }
  switch (L->phys) {
    case QN_PQ_BOOLEAN:
      L->type = QN_BOOL;
      break;
    case QN_PQ_FLOAT:
      L->type = QN_FLOAT32;
      break;
    case QN_PQ_DOUBLE:
      L->type = QN_FLOAT64;
      break;
    case QN_PQ_INT96:
      L->type = QN_TIMESTAMP;
      L->conv = QN_PQ_CV_INT96;
      L->time_unit = 1000000000;
      snprintf(L->type_name, sizeof L->type_name, "timestamp[ns]");
      return;
    case QN_PQ_BYTE_ARRAY:
      if (is_decimal) {
        L->skip_reason = "BYTE_ARRAY decimals are not supported";
        return;
      }
      L->type = QN_STRING;
      snprintf(L->type_name, sizeof L->type_name, "%s",
               (lt == 1 || lt == 4 || lt == 12 || ct == QN_PQ_CT_UTF8 || ct == 4 ||
                ct == QN_PQ_CT_JSON)
                   ? "string"
                   : "binary");
      return;
    case QN_PQ_FIXED:
      L->skip_reason = "FIXED_LEN_BYTE_ARRAY columns are not supported";
      return;
    case QN_PQ_INT32:
    case QN_PQ_INT64:
      if (is_decimal) {
        L->type = QN_FLOAT64;
        L->conv = L->phys == QN_PQ_INT32 ? QN_PQ_CV_DEC32 : QN_PQ_CV_DEC64;
        L->scale = lt == 5 ? e->lt_scale : e->scale;
        int prec = lt == 5 ? e->lt_precision : e->precision;
        if (L->scale < 0 || L->scale > 38) L->scale = 0;
        snprintf(L->type_name, sizeof L->type_name, "decimal(%d,%d)", prec, L->scale);
        return;
      }
      if (L->phys == QN_PQ_INT32 && (lt == 6 || ct == QN_PQ_CT_DATE)) {
        L->type = QN_DATE;
        break;
      }
      if (L->phys == QN_PQ_INT64 && unit >= 1 && unit <= 3 && !is_time) {
        L->type = QN_TIMESTAMP;
        L->time_unit = per_s[unit];
        snprintf(L->type_name, sizeof L->type_name, "timestamp[%s]", units[unit]);
        return;
      }
      qn_pq_name_int(L, e);
      if (is_time) {
        int tu = lt == 7 ? e->lt_unit : (ct == QN_PQ_CT_TIME_MILLIS ? 1 : 2);
        snprintf(L->type_name, sizeof L->type_name, "time[%s]",
                 units[tu >= 1 && tu <= 3 ? tu : 0]);
      }
      return;
    default:
      L->skip_reason = "unknown physical type";
      return;
  }
  snprintf(L->type_name, sizeof L->type_name, "%s", qn_type_name(L->type));
}

struct qn_pq_frame {
  int32_t remaining;
  int def, rep;
  size_t pathlen;
};

/* Walks the depth-first element list; fills m->leaves. */
static int qn_pq_build_leaves(struct qn_pq_tin *t, struct qn_pq_meta *m, struct qn_pq_selem *el,
                              int32_t n) {
  struct qn_pq_frame stack[QN_PQ_MAX_NESTING];
  int depth = 1, status = QN_OK;
  char *path = NULL;
  size_t cap = 0;
  int32_t i = 1, nleaves = 0;
  if (n < 1 || el[0].has_type) return qn_pq_tin_fail(t, "schema has no root group");
  if (el[0].num_children < 0) return qn_pq_tin_fail(t, "negative num_children in the schema");
  for (int32_t k = 1; k < n; k++) nleaves += el[k].has_type;
  m->leaves = calloc((size_t)(nleaves ? nleaves : 1), sizeof *m->leaves);
  if (!m->leaves) return qn_error_set(t->err, QN_ENOMEM, "%s: out of memory", t->path);
  stack[0] = (struct qn_pq_frame){el[0].num_children, 0, 0, 0};
  while (depth > 0) {
    struct qn_pq_frame *top = &stack[depth - 1];
    if (top->remaining == 0) {
      depth--;
      continue;
    }
    if (i >= n) {
      status = qn_pq_tin_fail(t, "schema num_children counts exceed its %d elements", (int)n);
      goto done;
    }
    top->remaining--;
    struct qn_pq_selem *e = &el[i];
    size_t nl = strlen(e->name), pl = top->pathlen + (top->pathlen ? 1 : 0) + nl;
    if (pl + 1 > cap) {
      cap = (pl + 1) * 2;
      char *np = realloc(path, cap);
      if (!np) {
        status = qn_error_set(t->err, QN_ENOMEM, "%s: out of memory", t->path);
        goto done;
      }
      path = np;
    }
    if (top->pathlen) path[top->pathlen] = '.';
    memcpy(path + pl - nl, e->name, nl);
    path[pl] = '\0';
    int rep = e->has_rep ? e->rep : QN_PQ_REQUIRED;
    if (rep < 0 || rep > QN_PQ_REPEATED) {
      status = qn_pq_tin_fail(t, "field %s has repetition type %d", path, rep);
      goto done;
    }
    int def = top->def + (rep != QN_PQ_REQUIRED), lev = top->rep + (rep == QN_PQ_REPEATED);
    if (!e->has_type) {
      if (e->num_children < 0) {
        status = qn_pq_tin_fail(t, "field %s has negative num_children", path);
        goto done;
      }
      if (depth >= QN_PQ_MAX_NESTING) {
        status = qn_pq_tin_fail(t, "schema nests deeper than %d levels", QN_PQ_MAX_NESTING);
        goto done;
      }
      stack[depth++] = (struct qn_pq_frame){e->num_children, def, lev, pl};
    } else {
      if (e->has_children && e->num_children > 0) {
        status = qn_pq_tin_fail(t, "leaf %s claims %d children", path, (int)e->num_children);
        goto done;
      }
      struct qn_pq_leaf *L = &m->leaves[m->nleaves++];
      L->name = qn_strdup(path);
      if (!L->name) {
        status = qn_error_set(t->err, QN_ENOMEM, "%s: out of memory", t->path);
        goto done;
      }
      L->phys = e->type;
      L->type_length = e->type_length;
      L->max_def = def;
      L->max_rep = lev;
      L->schema_index = i;
      qn_pq_leaf_type(L, e);
    }
    i++;
  }
  if (i != n)
    status = qn_pq_tin_fail(t, "schema has %d elements but its tree holds %d", (int)n, (int)i);
done:
  free(path);
  return status;
}

static void qn_pq_selems_free(struct qn_pq_selem *el, int32_t n) {
  if (!el) return;
  for (int32_t i = 0; i < n; i++) free(el[i].name);
  free(el);
}

static int qn_pq_parse_schema(struct qn_pq_tin *t, int ft, struct qn_pq_meta *m) {
  int et, status;
  int32_t n;
  QN_RETURN_IF_ERROR(qn_pq_t_list(t, ft, &et, &n));
  if (et != QN_PQ_T_STRUCT) return qn_pq_tin_fail(t, "schema is not a list of structs");
  struct qn_pq_selem *el = calloc((size_t)(n ? n : 1), sizeof *el);
  if (!el) return qn_error_set(t->err, QN_ENOMEM, "%s: out of memory", t->path);
  int32_t parsed = 0;
  for (; parsed < n; parsed++) {
    status = qn_pq_parse_selem(t, &el[parsed]);
    if (status) {
      parsed++;
      goto done;
    }
  }
  status = qn_pq_build_leaves(t, m, el, n);
done:
  qn_pq_selems_free(el, parsed);
  return status;
}

static int qn_pq_parse_rowgroups(struct qn_pq_mparse *mp, int ft) {
  struct qn_pq_tin *t = mp->t;
  struct qn_pq_meta *m = mp->m;
  int et;
  int32_t n;
  if (m->leaves == NULL) return qn_pq_tin_fail(t, "row groups come before the schema");
  QN_RETURN_IF_ERROR(qn_pq_t_list(t, ft, &et, &n));
  if (et != QN_PQ_T_STRUCT) return qn_pq_tin_fail(t, "row groups are not structs");
  m->rowgroups = calloc((size_t)(n ? n : 1), sizeof *m->rowgroups);
  if (!m->rowgroups) return qn_error_set(t->err, QN_ENOMEM, "%s: out of memory", t->path);
  int64_t rows = 0;
  for (int32_t i = 0; i < n; i++) {
    m->nrowgroups = i + 1;
    QN_RETURN_IF_ERROR(qn_pq_parse_rowgroup(mp, &m->rowgroups[i]));
    m->rowgroups[i].first_row = rows;
    if (m->rowgroups[i].num_rows > INT64_MAX / 2 - rows)
      return qn_pq_tin_fail(t, "row counts overflow");
    rows += m->rowgroups[i].num_rows;
  }
  m->num_rows = rows;
  return QN_OK;
}

/* FileMetaData.column_orders: a list of ColumnOrder unions, one per leaf;
 * each element's member id goes to orders[i] (at most cap of them). */
static int qn_pq_parse_orders(struct qn_pq_tin *t, int ft, int *orders, int32_t cap,
                              int32_t *count) {
  int et, mt;
  int32_t n;
  int16_t id;
  QN_RETURN_IF_ERROR(qn_pq_t_list(t, ft, &et, &n));
  if (et != QN_PQ_T_STRUCT) return qn_pq_tin_fail(t, "column orders are not structs");
  for (int32_t i = 0; i < n; i++) {
    struct qn_pq_tfield f;
    int member = 0;
    QN_RETURN_IF_ERROR(qn_pq_t_struct_begin(t, &f));
    for (;;) {
      QN_RETURN_IF_ERROR(qn_pq_t_field(t, &f, &mt, &id));
      if (mt == QN_PQ_T_STOP) break;
      if (mt == QN_PQ_T_STRUCT && id > 0) member = id;
      QN_RETURN_IF_ERROR(qn_pq_t_skip(t, mt));
    }
    if (i < cap) orders[i] = member;
  }
  *count = n;
  return QN_OK;
}

int qn_pq_meta_parse(const uint8_t *p, size_t n, int64_t off, int64_t file_size,
                     const char *path, struct qn_pq_meta **out, struct qn_error *err) {
  struct qn_pq_tin t;
  struct qn_pq_tfield f;
  int ft, status = QN_OK, seen_schema = 0, seen_rg = 0, seen_orders = 0;
  int16_t id;
  int64_t declared_rows = -1;
  int *orders = NULL;
  struct qn_pq_meta *m = calloc(1, sizeof *m);
  if (!m) return qn_error_set(err, QN_ENOMEM, "%s: out of memory", path);
  m->file_size = file_size;
  m->footer_off = off;
  m->footer_len = (int64_t)n;
  qn_pq_tin_init(&t, p, n, off, path, "footer", err);
  struct qn_pq_mparse mp = {&t, m, off};
  QN_CHECK(qn_pq_t_struct_begin(&t, &f));
  for (;;) {
    QN_CHECK(qn_pq_t_field(&t, &f, &ft, &id));
    if (ft == QN_PQ_T_STOP) break;
    if (id == 1) {
      QN_CHECK(qn_pq_t_i32(&t, ft, &m->version));
    } else if (id == 2 && !seen_schema) {
      QN_CHECK(qn_pq_parse_schema(&t, ft, m));
      seen_schema = 1;
    } else if (id == 3) {
      QN_CHECK(qn_pq_t_i64(&t, ft, &declared_rows));
    } else if (id == 4 && !seen_rg) {
      QN_CHECK(qn_pq_parse_rowgroups(&mp, ft));
      seen_rg = 1;
    } else if (id == 6) {
      QN_CHECK(qn_pq_t_string(&t, ft, &m->created_by));
    } else if (id == 7 && seen_schema && !seen_orders) {
      /* one per leaf, else ignored (statistics bounds are then not used) */
      int32_t cap = m->nleaves, count = -1;
      orders = calloc((size_t)(cap ? cap : 1), sizeof *orders);
      if (!orders) {
        status = qn_error_set(err, QN_ENOMEM, "%s: out of memory", path);
        goto done;
      }
      QN_CHECK(qn_pq_parse_orders(&t, ft, orders, cap, &count));
      if (count == cap)
        for (int i = 0; i < cap; i++) m->leaves[i].column_order = orders[i];
      seen_orders = 1;
    } else if (id == 8) {
      status = qn_error_set(err, QN_EUNSUPPORTED,
                            "%s: encrypted Parquet files are not supported", path);
      goto done;
    } else {
      QN_CHECK(qn_pq_t_skip(&t, ft));
    }
  }
  if (!seen_schema || !seen_rg || declared_rows < 0) {
    status = qn_pq_tin_fail(&t, "FileMetaData lacks its schema, row groups or row count");
    goto done;
  }
done:
  free(orders);
  if (status) {
    qn_pq_meta_free(m);
    return status;
  }
  *out = m;
  return QN_OK;
}

void qn_pq_meta_free(struct qn_pq_meta *m) {
  if (!m) return;
  for (int i = 0; i < m->nleaves; i++) free(m->leaves[i].name);
  free(m->leaves);
  for (int i = 0; i < m->nrowgroups; i++) free(m->rowgroups[i].chunks);
  free(m->rowgroups);
  free(m->created_by);
  free(m);
}

static int qn_pq_pread_all(int fd, void *buf, size_t n, int64_t off) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = pread(fd, (char *)buf + got, n - got, (off_t)(off + (int64_t)got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    got += (size_t)r;
  }
  return 0;
}

int qn_pq_meta_read(struct qn_context *ctx, int fd, const char *path, struct qn_pq_meta **out,
                    struct qn_error *err) {
  struct stat st;
  uint8_t tail[8], head[4];
  int status = QN_OK;
  uint8_t *buf = NULL;
  if (fstat(fd, &st) != 0)
    return qn_error_set(err, QN_EIO, "%s: cannot stat: %s", path, strerror(errno));
  int64_t size = (int64_t)st.st_size;
  if (size < 12)
    return qn_error_set(err, QN_EFORMAT, "%s: not a Parquet file: only %lld bytes (at byte 0)",
                        path, (long long)size);
  if (qn_pq_pread_all(fd, head, 4, 0) || qn_pq_pread_all(fd, tail, 8, size - 8))
    return qn_error_set(err, QN_EIO, "%s: read failed: %s", path, strerror(errno));
  if (memcmp(head, "PAR1", 4) != 0)
    return qn_error_set(err, QN_EFORMAT, "%s: bad Parquet magic at byte 0", path);
  if (memcmp(tail + 4, "PARE", 4) == 0)
    return qn_error_set(err, QN_EUNSUPPORTED, "%s: encrypted Parquet footer is not supported",
                        path);
  if (memcmp(tail + 4, "PAR1", 4) != 0)
    return qn_error_set(err, QN_EFORMAT, "%s: bad Parquet magic at byte %lld (truncated file?)",
                        path, (long long)(size - 4));
  int64_t flen = qn_pq_le32(tail);
  if (flen <= 0 || flen > size - 12)
    return qn_error_set(
        err, QN_EFORMAT,
        "%s: corrupt Parquet footer length %lld at byte %lld (file has %lld bytes)", path,
        (long long)flen, (long long)(size - 8), (long long)size);
  int64_t off = size - 8 - flen;
  buf = qn_mem_alloc(ctx, (size_t)flen, "Parquet footer", err);
  if (!buf) return err ? err->code : QN_ENOMEM;
  if (qn_pq_pread_all(fd, buf, (size_t)flen, off)) {
    status = qn_error_set(err, QN_EIO, "%s: read failed at byte %lld: %s", path, (long long)off,
                          strerror(errno));
    goto done;
  }
  status = qn_pq_meta_parse(buf, (size_t)flen, off, size, path, out, err);
done:
  qn_mem_free(ctx, buf);
  return status;
}
