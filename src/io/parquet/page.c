/* page.c — PageHeader (parquet.thrift): parsing for the reader, writing
 * for the writer.
 *
 * Parsing is the compact-protocol reader over the bytes the caller has;
 * when they end inside the header the caller learns it (`truncated`) and
 * may read more and retry, so headers of any size (large statistics) work
 * without guessing. Sizes and counts are checked for sign here; the reader
 * checks them against the column chunk.
 */
#include "qn_pq.h"

#include <string.h>

static int qn_pq_parse_dph(struct qn_pq_tin *t, struct qn_pq_page_header *h) {
  struct qn_pq_tfield f;
  int ft;
  int16_t id;
  int32_t v;
  QN_RETURN_IF_ERROR(qn_pq_t_struct_begin(t, &f));
  for (;;) {
    QN_RETURN_IF_ERROR(qn_pq_t_field(t, &f, &ft, &id));
    if (ft == QN_PQ_T_STOP) return QN_OK;
    switch (id) {
      case 1:
        QN_RETURN_IF_ERROR(qn_pq_t_i32(t, ft, &h->num_values));
        break;
      case 2:
        QN_RETURN_IF_ERROR(qn_pq_t_i32(t, ft, &v));
        h->encoding = v;
        break;
      case 3:
        QN_RETURN_IF_ERROR(qn_pq_t_i32(t, ft, &v));
        h->def_encoding = v;
        break;
      case 4:
        QN_RETURN_IF_ERROR(qn_pq_t_i32(t, ft, &v));
        h->rep_encoding = v;
        break;
      default:
        QN_RETURN_IF_ERROR(qn_pq_t_skip(t, ft));
    }
  }
}

static int qn_pq_parse_dict_ph(struct qn_pq_tin *t, struct qn_pq_page_header *h) {
  struct qn_pq_tfield f;
  int ft;
  int16_t id;
  int32_t v;
  QN_RETURN_IF_ERROR(qn_pq_t_struct_begin(t, &f));
  for (;;) {
    QN_RETURN_IF_ERROR(qn_pq_t_field(t, &f, &ft, &id));
    if (ft == QN_PQ_T_STOP) return QN_OK;
    if (id == 1)
      QN_RETURN_IF_ERROR(qn_pq_t_i32(t, ft, &h->num_values));
    else if (id == 2) {
      QN_RETURN_IF_ERROR(qn_pq_t_i32(t, ft, &v));
      h->encoding = v;
    } else
      QN_RETURN_IF_ERROR(qn_pq_t_skip(t, ft));
  }
}

static int qn_pq_parse_dph2(struct qn_pq_tin *t, struct qn_pq_page_header *h) {
  struct qn_pq_tfield f;
  int ft;
  int16_t id;
  int32_t v;
  QN_RETURN_IF_ERROR(qn_pq_t_struct_begin(t, &f));
  for (;;) {
    QN_RETURN_IF_ERROR(qn_pq_t_field(t, &f, &ft, &id));
    if (ft == QN_PQ_T_STOP) return QN_OK;
    switch (id) {
      case 1:
        QN_RETURN_IF_ERROR(qn_pq_t_i32(t, ft, &h->num_values));
        break;
      case 2:
        QN_RETURN_IF_ERROR(qn_pq_t_i32(t, ft, &h->num_nulls));
        break;
      case 3:
        QN_RETURN_IF_ERROR(qn_pq_t_i32(t, ft, &h->num_rows));
        break;
      case 4:
        QN_RETURN_IF_ERROR(qn_pq_t_i32(t, ft, &v));
        h->encoding = v;
        break;
      case 5:
        QN_RETURN_IF_ERROR(qn_pq_t_i32(t, ft, &h->def_len));
        break;
      case 6:
        QN_RETURN_IF_ERROR(qn_pq_t_i32(t, ft, &h->rep_len));
        break;
      case 7:
        QN_RETURN_IF_ERROR(qn_pq_t_bool(t, ft, &h->is_compressed));
        break;
      default:
        QN_RETURN_IF_ERROR(qn_pq_t_skip(t, ft));
    }
  }
}

int qn_pq_page_header_parse(const uint8_t *p, size_t n, int64_t off, const char *path,
                            const char *col, struct qn_pq_page_header *h, size_t *hlen,
                            int *truncated, struct qn_error *err) {
  struct qn_pq_tin t;
  struct qn_pq_tfield f;
  int ft, status;
  int16_t id;
  int32_t v;
  int have_type = 0, have_sizes = 0;
  memset(h, 0, sizeof *h);
  h->is_compressed = 1;
  h->type = -1;
  /* A local error: a truncated parse is retried with more bytes, and only
   * then does its message reach the caller. */
  struct qn_error local;
  qn_error_init(&local);
  qn_pq_tin_init(&t, p, n, off, path, "page header", &local);
  status = qn_pq_t_struct_begin(&t, &f);
  while (status == QN_OK) {
    status = qn_pq_t_field(&t, &f, &ft, &id);
    if (status || ft == QN_PQ_T_STOP) break;
    switch (id) {
      case 1:
        status = qn_pq_t_i32(&t, ft, &v);
        h->type = v;
        have_type = 1;
        break;
      case 2:
        status = qn_pq_t_i32(&t, ft, &h->uncompressed_size);
        have_sizes |= 1;
        break;
      case 3:
        status = qn_pq_t_i32(&t, ft, &h->compressed_size);
        have_sizes |= 2;
        break;
      case 5:
        if (ft == QN_PQ_T_STRUCT) {
          status = qn_pq_parse_dph(&t, h);
          h->has_data_header |= 1;
        } else
          status = qn_pq_t_skip(&t, ft);
        break;
      case 7:
        if (ft == QN_PQ_T_STRUCT) {
          status = qn_pq_parse_dict_ph(&t, h);
          h->has_data_header |= 2;
        } else
          status = qn_pq_t_skip(&t, ft);
        break;
      case 8:
        if (ft == QN_PQ_T_STRUCT) {
          status = qn_pq_parse_dph2(&t, h);
          h->has_data_header |= 4;
        } else
          status = qn_pq_t_skip(&t, ft);
        break;
      default:
        status = qn_pq_t_skip(&t, ft);
    }
  }
  *truncated = status != QN_OK && t.truncated;
  if (status == QN_OK && (!have_type || have_sizes != 3 || h->uncompressed_size < 0 ||
                          h->compressed_size < 0 || h->num_values < 0))
    status = qn_pq_tin_fail(&t, "page header lacks its type or sizes, or has negative ones");
  if (status != QN_OK) {
    if (!*truncated) qn_error_set(err, local.code, "%s (column %s)", local.message, col);
    return status;
  }
  *hlen = (size_t)(t.p - p);
  return QN_OK;
}

void qn_pq_page_header_write(struct qn_pq_tout *o, const struct qn_pq_page_header *h,
                             const uint8_t *stats, size_t stats_len) {
  qn_pq_w_struct_begin(o);
  qn_pq_w_i32(o, 1, h->type);
  qn_pq_w_i32(o, 2, h->uncompressed_size);
  qn_pq_w_i32(o, 3, h->compressed_size);
  if (h->type == QN_PQ_DATA_PAGE) {
    qn_pq_w_field(o, 5, QN_PQ_T_STRUCT);
    qn_pq_w_struct_begin(o);
    qn_pq_w_i32(o, 1, h->num_values);
    qn_pq_w_i32(o, 2, h->encoding);
    qn_pq_w_i32(o, 3, h->def_encoding);
    qn_pq_w_i32(o, 4, h->rep_encoding);
    if (stats && stats_len) {
      qn_pq_w_field(o, 5, QN_PQ_T_STRUCT);
      qn_pq_w_raw(o, stats, stats_len); /* a complete serialised Statistics */
    }
    qn_pq_w_struct_end(o);
  } else if (h->type == QN_PQ_DICTIONARY_PAGE) {
    qn_pq_w_field(o, 7, QN_PQ_T_STRUCT);
    qn_pq_w_struct_begin(o);
    qn_pq_w_i32(o, 1, h->num_values);
    qn_pq_w_i32(o, 2, h->encoding);
    qn_pq_w_struct_end(o);
  }
  qn_pq_w_struct_end(o);
}
