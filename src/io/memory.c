/* memory.c — a reader over columns already in memory (arrays a caller
 * owns: the Python module's numpy arrays, tests of the engine).
 *
 * The reader hands rows [row0, row0 + n) of a column to the scan: dense
 * values in place (out->data points into the caller's array), strided
 * values, validity and string offsets (rebased to 0, the bytes into a
 * budgeted block) copied into the scan's buffer; from any thread at once:
 * it only reads the caller's arrays, which must stay unchanged while the
 * reader is open. Values may be strided (a column of a row-major 2-D
 * array): `stride` is bytes between values, 0 for dense.
 * qn_source_open_arrays (the public entry) wraps one such reader.
 */
#include <stdlib.h>
#include <string.h>

#include "qn_source.h"

struct qn_mem_reader {
  struct qn_reader base;
  struct qn_mem_column *cols; /* the caller's descriptors (pointers not owned) */
};

static int qn_mem_read(struct qn_reader *base, int col, int64_t row0, int64_t n,
                       struct qn_colbuf *out, struct qn_error *err) {
  const struct qn_mem_reader *r = (const struct qn_mem_reader *)base;
  const struct qn_mem_column *c = &r->cols[col];
  if (col < 0 || col >= base->ncols || row0 < 0 || n < 0 || row0 + n > c->rows)
    return qn_error_set(err, QN_EINVAL, "%s: rows %lld..%lld of column %d are out of range",
                        base->path, (long long)row0, (long long)(row0 + n), col);
  out->n = n;
  if (c->type == QN_STRING) {
    int64_t b0 = c->offsets[row0], b1 = c->offsets[row0 + n];
    for (int64_t i = 0; i <= n; i++) out->offsets[i] = c->offsets[row0 + i] - b0;
    out->data = qn_mem_alloc(base->ctx, (size_t)(b1 - b0) + 1, "string values", err);
    if (!out->data) return err ? err->code : QN_ELIMIT;
    memcpy(out->data, (const char *)c->data + b0, (size_t)(b1 - b0));
  } else {
    size_t w = qn_type_size(c->type);
    size_t stride = c->stride ? (size_t)c->stride : w;
    const char *src = (const char *)c->data + (size_t)row0 * stride;
    if (stride == w) {
      /* dense: the scan reads the caller's values in place (kernels only
       * read a batch), so a block costs no copy and no cache traffic */
      out->data = (void *)src;
    } else {
      char *dst = out->data;
      for (int64_t i = 0; i < n; i++) memcpy(dst + (size_t)i * w, src + (size_t)i * stride, w);
    }
  }
  int any_null = 0;
  if (c->valid) {
    for (int64_t i = 0; i < n && !any_null; i++) any_null = !c->valid[row0 + i];
    if (any_null) memcpy(out->valid, c->valid + row0, (size_t)n);
  }
  if (!any_null) out->valid = NULL;
  return QN_OK;
}

static void qn_mem_close(struct qn_reader *base) {
  struct qn_mem_reader *r = (struct qn_mem_reader *)base;
  qn_reader_free_columns(base);
  free(r->cols);
  free(base->path);
  free(r);
}

static const struct qn_reader_ops qn_mem_ops = {
    .format = "memory", .read = qn_mem_read, .close = qn_mem_close};

int qn_mem_reader_new(struct qn_context *ctx, const char *name,
                      const struct qn_mem_column *cols, int ncols, struct qn_reader **out,
                      struct qn_error *err) {
  int status = QN_OK;
  struct qn_mem_reader *r = calloc(1, sizeof *r);
  if (!r || !(r->base.path = qn_strdup(name ? name : "(memory)")) ||
      !(r->cols = calloc((size_t)ncols + 1, sizeof *r->cols))) {
    status = qn_error_set(err, QN_ENOMEM, "out of memory");
    goto done;
  }
  r->base.ops = &qn_mem_ops;
  r->base.ctx = ctx;
  QN_CHECK(qn_reader_alloc_columns(&r->base, ncols, err));
  for (int i = 0; i < ncols; i++) {
    const struct qn_mem_column *c = &cols[i];
    if (c->type <= QN_TYPE_INVALID || c->type >= QN_TYPE_COUNT || c->rows < 0 ||
        (c->rows > 0 && !c->data) || (c->type == QN_STRING && !c->offsets)) {
      status = qn_error_set(err, QN_EINVAL, "%s: column %d ('%s') is not a valid array",
                            r->base.path, i, c->name ? c->name : "");
      goto done;
    }
    r->cols[i] = *c;
    struct qn_reader_column *rc = &r->base.cols[i];
    rc->name = qn_strdup(c->name ? c->name : "");
    rc->type_name = qn_strdup(qn_type_name(c->type));
    if (!rc->name || !rc->type_name) {
      status = qn_error_set(err, QN_ENOMEM, "out of memory");
      goto done;
    }
    rc->type = c->type;
    rc->nullable = c->valid != NULL;
    rc->rows = c->rows;
    rc->parallel_read = 1;
    rc->plain_read = c->type != QN_STRING;
    rc->time_unit = c->type == QN_TIMESTAMP ? (c->time_unit ? c->time_unit : 1000000) : 0;
  }
  *out = &r->base;
  r = NULL;
done:
  if (r) qn_mem_close(&r->base);
  return status;
}

int qn_source_open_arrays(struct qn_context *ctx, const char *name,
                          const struct qn_array_column *cols, int ncols, struct qn_source **out,
                          struct qn_error *err) {
  const char *what = name ? name : "(memory)";
  if (!cols || ncols <= 0) return qn_error_set(err, QN_EINVAL, "%s: no array given", what);
  struct qn_mem_column *mc = calloc((size_t)ncols, sizeof *mc);
  if (!mc) return qn_error_set(err, QN_ENOMEM, "out of memory");
  int status = QN_OK;
  for (int i = 0; i < ncols && status == QN_OK; i++) {
    const struct qn_array_column *c = &cols[i];
    if (c->type == QN_STRING ||
        (c->stride != 0 && (c->stride < 0 || (size_t)c->stride < qn_type_size(c->type))))
      status = qn_error_set(err, QN_EINVAL,
                            "%s: column %d ('%s') must be numeric values with a stride of at "
                            "least their size",
                            what, i, c->name ? c->name : "");
    mc[i] = (struct qn_mem_column){.name = c->name,
                                   .type = c->type,
                                   .rows = c->rows,
                                   .data = c->data,
                                   .stride = c->stride};
  }
  struct qn_reader *r = NULL;
  if (status == QN_OK) status = qn_mem_reader_new(ctx, what, mc, ncols, &r, err);
  free(mc);
  if (status == QN_OK) status = qn_source_from_readers(ctx, &r, 1, out, err);
  return status;
}
