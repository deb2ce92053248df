/* tfrecord.c — the TFRecord table writer: one tf.train.Example a row
 * (qn_records.h), each framed as
 *   uint64 length | uint32 masked CRC-32C of those 8 bytes | data | uint32 masked CRC-32C of
 * data all little-endian (TensorFlow's "TFRecords format details"). No header, no index, no
 * compression.
 *
 * encode (any worker, several at once) does all the work: it encodes and
 * frames the part's rows into pieces of 1 MiB (qn_rec_chain, recycled
 * through the writer's pool); append (in output order) writes the pieces.
 * The bytes are a function of the rows and their order alone.
 */
#include <stdlib.h>
#include <string.h>

#include "io/qn_records.h"

struct qn_tfr_part {
  struct qn_rec_chain bytes;
  int64_t rows;
};

struct qn_tfr_writer {
  struct qn_writer base;
  struct qn_outfile *of;
  struct qn_example ex;
  struct qn_rec_pool pool;
};

static int qn_tfr_check_cols(struct qn_writer *w, const struct qn_colbuf *cols,
                             struct qn_error *err) {
  for (int i = 0; i < w->ncols; i++)
    if (cols[i].type != w->cols[i].type || !cols[i].lists != !w->cols[i].list)
      return qn_error_set(err, QN_EINVAL, "%s: column %s: batch type %s%s differs from %s%s",
                          w->path, w->cols[i].name, cols[i].lists ? "list of " : "",
                          qn_type_name(cols[i].type), w->cols[i].list ? "list of " : "",
                          qn_type_name(w->cols[i].type));
  return QN_OK;
}

static void qn_tfr_part_free(struct qn_writer *w, void *part) {
  struct qn_tfr_part *p = part;
  if (!p) return;
  qn_rec_chain_free(&((struct qn_tfr_writer *)w)->pool, &p->bytes);
  free(p);
}

static int qn_tfr_encode(struct qn_writer *w, int worker, const struct qn_colbuf *cols,
                         int64_t n, int64_t row_base, void **out, struct qn_error *err) {
  struct qn_tfr_writer *t = (struct qn_tfr_writer *)w;
  int status = QN_OK;
  QN_RETURN_IF_ERROR(qn_tfr_check_cols(w, cols, err));
  struct qn_tfr_part *p = calloc(1, sizeof *p);
  struct qn_example_sizes sz = {0, 0, calloc((size_t)t->ex.n + 1, sizeof(uint64_t))};
  if (!p || !sz.payload) {
    status = qn_error_set(err, QN_ENOMEM, "out of memory writing %s", w->path);
    goto done;
  }
  p->rows = n;
  for (int64_t r = 0; r < n; r++) {
    QN_CHECK(qn_example_measure(&t->ex, cols, r, &sz, err));
    uint8_t *q = qn_rec_chain_room(&t->pool, &p->bytes, (size_t)sz.total + 16, err);
    if (!q) {
      status = err && err->code ? err->code : QN_ENOMEM;
      goto done;
    }
    qn_le64_put(q, sz.total);
    qn_le32_put(q + 8, qn_crc32c_mask(qn_crc32c(q, 8)));
    uint8_t *data = q + 12, *end = qn_example_write(&t->ex, cols, r, &sz, data);
    qn_le32_put(end, qn_crc32c_mask(qn_crc32c(data, sz.total)));
    p->bytes.pieces[p->bytes.n - 1].len += (size_t)sz.total + 16;
  }
  *out = p;
  p = NULL;
done:
  free(sz.payload);
  qn_tfr_part_free(w, p);
  return status;
}

static int qn_tfr_append(struct qn_writer *w, void *part, struct qn_error *err) {
  struct qn_tfr_writer *t = (struct qn_tfr_writer *)w;
  struct qn_tfr_part *p = part;
  int status = QN_OK;
  for (int i = 0; p && i < p->bytes.n && status == QN_OK; i++)
    status = qn_outfile_write(t->of, p->bytes.pieces[i].p, p->bytes.pieces[i].len, err);
  if (p && status == QN_OK) w->rows += p->rows;
  qn_tfr_part_free(w, p);
  return status;
}

static void qn_tfr_free(struct qn_tfr_writer *t) {
  qn_rec_pool_reset(&t->pool);
  qn_example_reset(&t->ex);
  qn_writer_base_reset(&t->base);
  free(t);
}

static int qn_tfr_close(struct qn_writer *w, struct qn_checksum *sum, struct qn_error *err) {
  struct qn_tfr_writer *t = (struct qn_tfr_writer *)w;
  int status = qn_outfile_commit_sum(t->of, sum, err);
  qn_tfr_free(t);
  return status;
}

static void qn_tfr_abort(struct qn_writer *w) {
  struct qn_tfr_writer *t = (struct qn_tfr_writer *)w;
  if (t->of) qn_outfile_abort(t->of);
  qn_tfr_free(t);
}

static const struct qn_writer_ops qn_tfr_ops = {qn_tfr_encode, qn_tfr_append, qn_tfr_part_free,
                                                qn_tfr_close, qn_tfr_abort};

static int qn_tfr_check(const struct qn_writer_options *opt, struct qn_error *err) {
  struct qn_record_codec c;
  return qn_record_codec_parse("tfrecord", opt ? opt->codec : NULL, 0, &c, err);
}

static int qn_tfr_open(struct qn_context *ctx, const char *path, const struct qn_wcolumn *cols,
                       int ncols, const struct qn_writer_options *opt, struct qn_writer **out,
                       struct qn_error *err) {
  int status = QN_OK;
  QN_RETURN_IF_ERROR(qn_tfr_check(opt, err));
  struct qn_tfr_writer *t = calloc(1, sizeof *t);
  if (!t) return qn_error_set(err, QN_ENOMEM, "out of memory");
  t->base.ops = &qn_tfr_ops;
  qn_rec_pool_init(&t->pool, ctx);
  QN_CHECK(qn_writer_base_init(&t->base, ctx, "tfrecord", path, cols, ncols, err));
  QN_CHECK(qn_example_init(&t->ex, t->base.cols, ncols, path, err));
  QN_CHECK(qn_outfile_open(path, &t->of, err));
  *out = &t->base;
  t = NULL;
done:
  if (t) qn_tfr_free(t);
  return status;
}

static const char *const qn_tfr_ext[] = {".tfrecord", ".tfrecords", NULL};
const struct qn_writer_format qn_writer_tfrecord = {"tfrecord", qn_tfr_ext, qn_tfr_open,
                                                    qn_tfr_check};
