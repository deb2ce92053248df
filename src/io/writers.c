/* writers.c — the table of output formats and the calls every job makes
 * on a writer (qn_writer.h). A new format adds one line to the table. */
#include <stdlib.h>
#include <string.h>

#include "qn_writer.h"

extern const struct qn_writer_format qn_writer_parquet;
extern const struct qn_writer_format qn_writer_hdf5;
extern const struct qn_writer_format qn_writer_csv;
extern const struct qn_writer_format qn_writer_tfrecord;
extern const struct qn_writer_format qn_writer_arrayrecord;

const struct qn_writer_format *const qn_writer_formats[] = {
    &qn_writer_parquet,  &qn_writer_hdf5,        &qn_writer_csv,
    &qn_writer_tfrecord, &qn_writer_arrayrecord, NULL};

void qn_writer_options_init(struct qn_writer_options *opt) {
  memset(opt, 0, sizeof *opt);
  opt->rows = -1;
}

const struct qn_writer_format *qn_writer_format_for(const char *path) {
  for (int i = 0; qn_writer_formats[i]; i++)
    for (const char *const *e = qn_writer_formats[i]->extensions; *e; e++)
      if (qn_str_has_suffix(path, *e)) return qn_writer_formats[i];
  return NULL;
}

const struct qn_writer_format *qn_writer_format_named(const char *name) {
  for (int i = 0; name && qn_writer_formats[i]; i++)
    if (!strcmp(qn_writer_formats[i]->name, name)) return qn_writer_formats[i];
  return NULL;
}

const char *qn_writer_extensions(void) {
  return ".parquet, .pq, .h5, .hdf5, .csv, .tfrecord or .array_record";
}

int qn_writer_open(struct qn_context *ctx, const char *path, const struct qn_wcolumn *cols,
                   int ncols, const struct qn_writer_options *opt, struct qn_writer **out,
                   struct qn_error *err) {
  const struct qn_writer_format *f = qn_writer_format_for(path);
  if (!f)
    return qn_error_set(err, QN_EINVAL, "%s: output must end in %s", path,
                        qn_writer_extensions());
  if (ncols <= 0) return qn_error_set(err, QN_EINVAL, "%s: no columns to write", path);
  struct qn_writer_options o;
  qn_writer_options_init(&o);
  if (opt) o = *opt;
  return f->open(ctx, path, cols, ncols, &o, out, err);
}

int qn_writer_encode(struct qn_writer *w, int worker, const struct qn_colbuf *cols, int64_t n,
                     int64_t row_base, void **part, struct qn_error *err) {
  *part = NULL;
  return w->ops->encode(w, worker, cols, n, row_base, part, err);
}

int qn_writer_encode_partial(struct qn_writer *w, int worker, const struct qn_colbuf *cols,
                             int64_t n, int64_t row_base, void **part, int64_t *consumed,
                             struct qn_error *err) {
  *part = NULL;
  if (w->ops->encode_partial)
    return w->ops->encode_partial(w, worker, cols, n, row_base, part, consumed, err);
  *consumed = n;
  return w->ops->encode(w, worker, cols, n, row_base, part, err);
}

int qn_writer_append(struct qn_writer *w, void *part, struct qn_error *err) {
  return w->ops->append(w, part, err);
}

void qn_writer_part_free(struct qn_writer *w, void *part) {
  if (part) w->ops->part_free(w, part);
}

int qn_writer_write(struct qn_writer *w, const struct qn_colbuf *cols, int64_t n,
                    struct qn_error *err) {
  void *part = NULL;
  QN_RETURN_IF_ERROR(qn_writer_encode(w, 0, cols, n, w->rows, &part, err));
  return qn_writer_append(w, part, err);
}

int qn_writer_close(struct qn_writer *w, struct qn_checksum *sum, struct qn_error *err) {
  return w->ops->close(w, sum, err);
}

void qn_writer_abort(struct qn_writer *w) {
  if (w) w->ops->abort(w);
}

int qn_writer_base_init(struct qn_writer *w, struct qn_context *ctx, const char *format,
                        const char *path, const struct qn_wcolumn *cols, int ncols,
                        struct qn_error *err) {
  w->format = format;
  w->ctx = ctx;
  w->path = qn_strdup(path);
  w->cols = calloc((size_t)ncols + 1, sizeof *w->cols);
  if (!w->path || !w->cols) return qn_error_set(err, QN_ENOMEM, "out of memory");
  for (int i = 0; i < ncols; i++) {
    w->cols[i] = cols[i];
    w->cols[i].name = qn_strdup(cols[i].name ? cols[i].name : "");
    if (!w->cols[i].name) return qn_error_set(err, QN_ENOMEM, "out of memory");
    w->ncols = i + 1;
  }
  return QN_OK;
}

void qn_writer_base_reset(struct qn_writer *w) {
  for (int i = 0; w->cols && i < w->ncols; i++) free((char *)w->cols[i].name);
  free(w->cols);
  free(w->path);
  w->cols = NULL;
  w->path = NULL;
}
