/* csv_writer.c — the CSV table writer (qn_writer.h).
 *
 * A header row of names, then one line per row: shortest round-trip floats
 * (15 to 17 significant digits, the first that reads back as the same
 * double), nan / inf / -inf spelled out, integers in decimal, booleans as
 * true / false, timestamps and dates in ISO 8601 (UTC, the column's unit
 * as the fraction), empty fields for nulls, RFC 4180 quoting (a field with
 * a comma, quote, CR or LF is quoted, quotes doubled; an empty string is
 * "", so that it reads back as a string, not a null); LF line ends.
 *
 * Parts: the text of the part's rows, formatted on the encoding worker
 * into a budgeted buffer; append writes it. Text depends on the values
 * alone, so any part size gives the same bytes.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "qn_writer.h"

struct qn_csv_text {
  char *p;
  size_t len, cap;
};

struct qn_csv_writer {
  struct qn_writer base;
  struct qn_outfile *of;
};

static int qn_csv_text_reserve(struct qn_context *ctx, struct qn_csv_text *t, size_t extra,
                               struct qn_error *err) {
  if (t->len + extra <= t->cap) return QN_OK;
  size_t cap = QN_MAX(t->len + extra, QN_MAX(2 * t->cap, (size_t)1 << 16));
  char *p = qn_mem_alloc(ctx, cap, "CSV output text", err);
  if (!p) return err ? err->code : QN_ELIMIT;
  if (t->len) memcpy(p, t->p, t->len);
  qn_mem_free(ctx, t->p);
  t->p = p;
  t->cap = cap;
  return QN_OK;
}

static void qn_csv_put(struct qn_csv_text *t, const char *s, size_t n) {
  memcpy(t->p + t->len, s, n);
  t->len += n;
}

/* Shortest text that reads back as the same double. */
static int qn_csv_fmt_double(double v, char *buf) {
  if (isnan(v)) return (int)strlen(strcpy(buf, "nan"));
  if (isinf(v)) return (int)strlen(strcpy(buf, v > 0 ? "inf" : "-inf"));
  int n = 0;
  for (int prec = 15; prec <= 17; prec++) {
    n = qn_format_g(v, prec, buf);
    if (prec == 17 || strtod(buf, NULL) == v) break;
  }
  return n;
}

/* A string field, quoted when it must be: at most 2 * len + 2 bytes. */
static void qn_csv_put_string(struct qn_csv_text *t, const char *s, size_t len) {
  /* s is not NUL-terminated: strcspn would run on through the next values;
   * an empty string is "", as an empty field is a null */
  int quote = len == 0;
  for (size_t i = 0; i < len && !quote; i++)
    quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
  if (!quote) {
    qn_csv_put(t, s, len);
    return;
  }
  t->p[t->len++] = '"';
  for (size_t i = 0; i < len; i++) {
    if (s[i] == '"') t->p[t->len++] = '"';
    t->p[t->len++] = s[i];
  }
  t->p[t->len++] = '"';
}

static int qn_csv_fmt_time(int64_t v, int64_t unit, int date_only, char *buf) {
  int64_t secs = v / unit, frac = v % unit;
  if (frac < 0) {
    frac += unit;
    secs--;
  }
  time_t tt = (time_t)secs;
  struct tm tm;
  gmtime_r(&tt, &tm);
  size_t n = strftime(buf, 48, date_only ? "%Y-%m-%d" : "%Y-%m-%d %H:%M:%S", &tm);
  if (date_only) return (int)n;
  if (unit == 1000) n += (size_t)sprintf(buf + n, ".%03lld", (long long)frac);
  if (unit == 1000000) n += (size_t)sprintf(buf + n, ".%06lld", (long long)frac);
  if (unit == 1000000000) n += (size_t)sprintf(buf + n, ".%09lld", (long long)frac);
  return (int)n;
}

/* One value as text into buf (at most 64 bytes); strings are not here. */
static int qn_csv_fmt_value(const struct qn_colbuf *cb, int64_t i, int64_t unit, char *buf) {
  const void *d = cb->data;
  switch (cb->type) {
    case QN_INT8:
      return sprintf(buf, "%d", ((const int8_t *)d)[i]);
    case QN_INT16:
      return sprintf(buf, "%d", ((const int16_t *)d)[i]);
    case QN_INT32:
      return sprintf(buf, "%d", ((const int32_t *)d)[i]);
    case QN_INT64:
      return sprintf(buf, "%lld", (long long)((const int64_t *)d)[i]);
    case QN_UINT8:
      return sprintf(buf, "%u", ((const uint8_t *)d)[i]);
    case QN_UINT16:
      return sprintf(buf, "%u", ((const uint16_t *)d)[i]);
    case QN_UINT32:
      return sprintf(buf, "%u", ((const uint32_t *)d)[i]);
    case QN_UINT64:
      return sprintf(buf, "%llu", (unsigned long long)((const uint64_t *)d)[i]);
    case QN_BOOL:
      return (int)strlen(strcpy(buf, ((const uint8_t *)d)[i] ? "true" : "false"));
    case QN_FLOAT32:
      return qn_csv_fmt_double(((const float *)d)[i], buf);
    case QN_FLOAT64:
      return qn_csv_fmt_double(((const double *)d)[i], buf);
    case QN_TIMESTAMP:
      return qn_csv_fmt_time(((const int64_t *)d)[i], unit, 0, buf);
    case QN_DATE:
      return qn_csv_fmt_time((int64_t)((const int32_t *)d)[i] * 86400, 1, 1, buf);
    default:
      return 0;
  }
}

static int qn_csv_w_encode(struct qn_writer *w, int worker, const struct qn_colbuf *cols,
                           int64_t n, int64_t row_base, void **part, struct qn_error *err) {
  struct qn_csv_text *t = calloc(1, sizeof *t);
  if (!t) return qn_error_set(err, QN_ENOMEM, "out of memory writing %s", w->path);
  int status = QN_OK;
  char buf[96];
  for (int64_t i = 0; i < n; i++) {
    for (int c = 0; c < w->ncols; c++) {
      const struct qn_colbuf *cb = &cols[c];
      size_t need = 2 + (c ? 1 : 0);
      if (cb->type == QN_STRING)
        need += 2 * (size_t)(cb->offsets[i + 1] - cb->offsets[i]) + 2;
      else
        need += 64;
      QN_CHECK(qn_csv_text_reserve(w->ctx, t, need, err));
      if (c) t->p[t->len++] = ',';
      if (cb->valid && !cb->valid[i]) continue; /* null: an empty field */
      if (cb->type == QN_STRING) {
        qn_csv_put_string(t, (const char *)cb->data + cb->offsets[i],
                          (size_t)(cb->offsets[i + 1] - cb->offsets[i]));
      } else {
        int len =
            qn_csv_fmt_value(cb, i, w->cols[c].time_unit ? w->cols[c].time_unit : 1000000, buf);
        qn_csv_put(t, buf, (size_t)len);
      }
    }
    QN_CHECK(qn_csv_text_reserve(w->ctx, t, 1, err));
    t->p[t->len++] = '\n';
  }
  *part = t;
  t = NULL;
done:
  if (t) {
    qn_mem_free(w->ctx, t->p);
    free(t);
  }
  (void)worker;
  (void)row_base;
  return status;
}

static void qn_csv_w_part_free(struct qn_writer *w, void *part) {
  struct qn_csv_text *t = part;
  if (!t) return;
  qn_mem_free(w->ctx, t->p);
  free(t);
}

static int qn_csv_w_append(struct qn_writer *w, void *part, struct qn_error *err) {
  struct qn_csv_writer *cw = (struct qn_csv_writer *)w;
  struct qn_csv_text *t = part;
  int st = t ? qn_outfile_write(cw->of, t->p, t->len, err) : QN_OK;
  qn_csv_w_part_free(w, part);
  return st;
}

static void qn_csv_w_free(struct qn_csv_writer *cw) {
  qn_writer_base_reset(&cw->base);
  free(cw);
}

static int qn_csv_w_close(struct qn_writer *w, struct qn_checksum *sum, struct qn_error *err) {
  struct qn_csv_writer *cw = (struct qn_csv_writer *)w;
  int st = qn_outfile_commit_sum(cw->of, sum, err);
  qn_csv_w_free(cw);
  return st;
}

static void qn_csv_w_abort(struct qn_writer *w) {
  struct qn_csv_writer *cw = (struct qn_csv_writer *)w;
  if (cw->of) qn_outfile_abort(cw->of);
  qn_csv_w_free(cw);
}

static const struct qn_writer_ops qn_csv_w_ops = {
    qn_csv_w_encode, qn_csv_w_append, qn_csv_w_part_free, qn_csv_w_close, qn_csv_w_abort};

static int qn_csv_w_open(struct qn_context *ctx, const char *path,
                         const struct qn_wcolumn *cols, int ncols,
                         const struct qn_writer_options *opt, struct qn_writer **out,
                         struct qn_error *err) {
  if (opt->codec && strcmp(opt->codec, "none") != 0)
    return qn_error_set(err, QN_EINVAL, "codec %s: CSV output is not compressed", opt->codec);
  int status = QN_OK;
  struct qn_csv_text head = {0};
  struct qn_csv_writer *cw = calloc(1, sizeof *cw);
  if (!cw) return qn_error_set(err, QN_ENOMEM, "out of memory");
  cw->base.ops = &qn_csv_w_ops;
  QN_CHECK(qn_writer_base_init(&cw->base, ctx, "csv", path, cols, ncols, err));
  QN_CHECK(qn_outfile_open(path, &cw->of, err));
  for (int c = 0; c < ncols; c++) {
    size_t len = strlen(cols[c].name);
    QN_CHECK(qn_csv_text_reserve(ctx, &head, 2 * len + 4, err));
    if (c) head.p[head.len++] = ',';
    qn_csv_put_string(&head, cols[c].name, len);
  }
  QN_CHECK(qn_csv_text_reserve(ctx, &head, 1, err));
  head.p[head.len++] = '\n';
  QN_CHECK(qn_outfile_write(cw->of, head.p, head.len, err));
  *out = &cw->base;
  cw = NULL;
done:
  qn_mem_free(ctx, head.p);
  if (cw) qn_csv_w_abort(&cw->base);
  return status;
}

static const char *const qn_csv_w_ext[] = {".csv", NULL};
const struct qn_writer_format qn_writer_csv = {"csv", qn_csv_w_ext, qn_csv_w_open};
