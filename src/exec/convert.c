/* convert.c — `quern convert`: any input table to Parquet, HDF5 or CSV.
 *
 * Design: a loop over files and row ranges of QN_CONVERT_ROWS rows reads
 * every selected column into budgeted buffers and hands the batch to a
 * sink chosen by the output's extension:
 *   .parquet  quern's Parquet writer (qn_pq_writer.h), codec from --codec
 *   .h5       one 1-D dataset per column (chunks of up to 2^20 rows; names
 *             with '/' become groups; strings as variable-length UTF-8;
 *             timestamps as int64 with a "unit" attribute; gzip on request)
 *   .csv      a header row, then one line per row (shortest round-trip
 *             floats, nan/inf spelled out, empty fields for nulls, RFC 4180
 *             quoting, ISO 8601 timestamps and dates)
 * Outputs are written under a temporary name and renamed when complete.
 *
 * Nulls: Parquet and CSV keep them; HDF5 has none, so a null float becomes
 * NaN and a null in any other column is an error naming column and row.
 *
 * Memory: one batch of the selected columns (strings: the reader allocates
 * their bytes from the budget, freed after each batch) plus the sink's own
 * (a Parquet row group; HDF5's chunk cache of one chunk a column).
 */
#include <hdf5.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "exec/qn_exec.h"
#include "io/parquet/qn_pq_writer.h"
#include "io/qn_source.h"

#define QN_CONVERT_ROWS ((int64_t)1 << 18)
#define QN_H5_OUT_CHUNK ((int64_t)1 << 20)

struct qn_sink;
struct qn_sink_ops {
  int (*write)(struct qn_sink *s, const struct qn_colbuf *cols, int64_t n,
               struct qn_error *err);
  int (*close)(struct qn_sink *s, struct qn_error *err); /* commit; frees */
  void (*abort)(struct qn_sink *s);                      /* frees */
};

struct qn_sink {
  const struct qn_sink_ops *ops;
  struct qn_context *ctx;
  const char *path;
  int ncols;
  const struct qn_column_info *cols; /* the table's columns, selected */
  int64_t rows_done;
};

/* ----- Parquet ----- */

struct qn_sink_pq {
  struct qn_sink base;
  struct qn_pq_writer *w;
};

static int qn_sink_pq_write(struct qn_sink *s, const struct qn_colbuf *cols, int64_t n,
                            struct qn_error *err) {
  return qn_pq_writer_write(((struct qn_sink_pq *)s)->w, cols, n, err);
}
static int qn_sink_pq_close(struct qn_sink *s, struct qn_error *err) {
  int st = qn_pq_writer_close(((struct qn_sink_pq *)s)->w, err);
  free(s);
  return st;
}
static void qn_sink_pq_abort(struct qn_sink *s) {
  qn_pq_writer_abort(((struct qn_sink_pq *)s)->w);
  free(s);
}
static const struct qn_sink_ops qn_sink_pq_ops = {qn_sink_pq_write, qn_sink_pq_close,
                                                  qn_sink_pq_abort};

static int qn_sink_pq_open(struct qn_sink *proto, const struct qn_reader_column *rcols,
                           const char *codec, struct qn_sink **out, struct qn_error *err) {
  int status = QN_OK;
  struct qn_pq_writer_options wo;
  qn_pq_writer_options_init(&wo);
  if (codec) QN_RETURN_IF_ERROR(qn_pq_codec_parse(codec, &wo.codec, err));
  struct qn_sink_pq *s = calloc(1, sizeof *s);
  struct qn_pq_wcol *wc = calloc((size_t)proto->ncols, sizeof *wc);
  if (!s || !wc) {
    status = qn_error_set(err, QN_ENOMEM, "out of memory");
    goto done;
  }
  for (int c = 0; c < proto->ncols; c++)
    wc[c] =
        (struct qn_pq_wcol){proto->cols[c].name, proto->cols[c].type, proto->cols[c].nullable,
                            rcols[c].time_unit ? rcols[c].time_unit : 1000000, 0};
  QN_CHECK(qn_pq_writer_open(proto->ctx, proto->path, wc, proto->ncols, &wo, &s->w, err));
  s->base = *proto;
  s->base.ops = &qn_sink_pq_ops;
  *out = &s->base;
  s = NULL;
done:
  free(s);
  free(wc);
  return status;
}

/* ----- HDF5 ----- */

struct qn_sink_h5 {
  struct qn_sink base;
  struct qn_outfile *of;
  hid_t file;
  hid_t *dsets;
  hid_t *types;
  char **scratch; /* strings: NUL-terminated copies for one batch */
};

static hid_t qn_h5_file_type(enum qn_type t) {
  switch (t) {
    case QN_INT8:
      return H5T_STD_I8LE;
    case QN_INT16:
      return H5T_STD_I16LE;
    case QN_INT32:
    case QN_DATE:
      return H5T_STD_I32LE;
    case QN_INT64:
    case QN_TIMESTAMP:
      return H5T_STD_I64LE;
    case QN_UINT8:
    case QN_BOOL:
      return H5T_STD_U8LE;
    case QN_UINT16:
      return H5T_STD_U16LE;
    case QN_UINT32:
      return H5T_STD_U32LE;
    case QN_UINT64:
      return H5T_STD_U64LE;
    case QN_FLOAT32:
      return H5T_IEEE_F32LE;
    case QN_FLOAT64:
      return H5T_IEEE_F64LE;
    default:
      return -1;
  }
}

static hid_t qn_h5_mem_type(enum qn_type t) {
  switch (t) {
    case QN_INT8:
      return H5T_NATIVE_INT8;
    case QN_INT16:
      return H5T_NATIVE_INT16;
    case QN_INT32:
    case QN_DATE:
      return H5T_NATIVE_INT32;
    case QN_INT64:
    case QN_TIMESTAMP:
      return H5T_NATIVE_INT64;
    case QN_UINT8:
    case QN_BOOL:
      return H5T_NATIVE_UINT8;
    case QN_UINT16:
      return H5T_NATIVE_UINT16;
    case QN_UINT32:
      return H5T_NATIVE_UINT32;
    case QN_UINT64:
      return H5T_NATIVE_UINT64;
    case QN_FLOAT32:
      return H5T_NATIVE_FLOAT;
    case QN_FLOAT64:
      return H5T_NATIVE_DOUBLE;
    default:
      return -1;
  }
}

static void qn_sink_h5_free(struct qn_sink_h5 *s) {
  for (int c = 0; c < s->base.ncols && s->dsets; c++) {
    if (s->dsets[c] >= 0) H5Dclose(s->dsets[c]);
    if (s->types && s->types[c] >= 0) H5Tclose(s->types[c]);
  }
  if (s->file >= 0) H5Fclose(s->file);
  free(s->dsets);
  free(s->types);
  free(s->scratch);
  free(s);
}

/* HDF5 has no null: NaN for a null float, an error for anything else. */
static int qn_sink_h5_nulls(struct qn_sink_h5 *s, int c, struct qn_colbuf *cb,
                            struct qn_error *err) {
  if (!cb->valid) return QN_OK;
  for (int64_t i = 0; i < cb->n; i++) {
    if (cb->valid[i]) continue;
    if (cb->type == QN_FLOAT64)
      ((double *)cb->data)[i] = NAN;
    else if (cb->type == QN_FLOAT32)
      ((float *)cb->data)[i] = NAN;
    else
      return qn_error_set(err, QN_EUNSUPPORTED,
                          "%s: column '%s' has a null at row %lld and HDF5 has no nulls "
                          "(leave that column out, or write Parquet)",
                          s->base.path, s->base.cols[c].name,
                          (long long)(s->base.rows_done + i));
  }
  return QN_OK;
}

static int qn_sink_h5_write(struct qn_sink *base, const struct qn_colbuf *cols, int64_t n,
                            struct qn_error *err) {
  struct qn_sink_h5 *s = (struct qn_sink_h5 *)base;
  if (n == 0) return QN_OK;
  hsize_t start[1] = {(hsize_t)base->rows_done}, count[1] = {(hsize_t)n};
  for (int c = 0; c < base->ncols; c++) {
    struct qn_colbuf cb = cols[c];
    const void *data = cb.data;
    if (cb.type == QN_STRING) {
      if (cb.valid)
        for (int64_t i = 0; i < n; i++)
          if (!cb.valid[i])
            return qn_error_set(err, QN_EUNSUPPORTED,
                                "%s: column '%s' has a null at row %lld and HDF5 has no nulls",
                                base->path, base->cols[c].name,
                                (long long)(base->rows_done + i));
      /* variable-length strings want NUL-terminated pointers: copy the
       * batch's bytes once with a NUL after each value */
      char **ptrs =
          qn_mem_alloc(base->ctx, (size_t)n * sizeof *ptrs + (size_t)(cb.offsets[n] + n),
                       "string conversion buffer", err);
      if (!ptrs) return err ? err->code : QN_ELIMIT;
      char *text = (char *)(ptrs + n);
      for (int64_t i = 0; i < n; i++) {
        size_t len = (size_t)(cb.offsets[i + 1] - cb.offsets[i]);
        memcpy(text, (const char *)cb.data + cb.offsets[i], len);
        text[len] = 0;
        ptrs[i] = text;
        text += len + 1;
      }
      hid_t fs = H5Dget_space(s->dsets[c]), ms = H5Screate_simple(1, count, NULL);
      H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
      herr_t rc = H5Dwrite(s->dsets[c], s->types[c], ms, fs, H5P_DEFAULT, ptrs);
      H5Sclose(ms);
      H5Sclose(fs);
      qn_mem_free(base->ctx, ptrs);
      if (rc < 0)
        return qn_error_set(err, QN_EIO, "%s: cannot write column '%s' (disk full?)",
                            base->path, base->cols[c].name);
      continue;
    }
    QN_RETURN_IF_ERROR(qn_sink_h5_nulls(s, c, &cb, err));
    hid_t fs = H5Dget_space(s->dsets[c]), ms = H5Screate_simple(1, count, NULL);
    H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
    herr_t rc = H5Dwrite(s->dsets[c], qn_h5_mem_type(cb.type), ms, fs, H5P_DEFAULT, data);
    H5Sclose(ms);
    H5Sclose(fs);
    if (rc < 0)
      return qn_error_set(err, QN_EIO, "%s: cannot write column '%s' (disk full?)", base->path,
                          base->cols[c].name);
  }
  base->rows_done += n;
  return QN_OK;
}

static int qn_sink_h5_close(struct qn_sink *base, struct qn_error *err) {
  struct qn_sink_h5 *s = (struct qn_sink_h5 *)base;
  for (int c = 0; c < base->ncols; c++) {
    H5Dclose(s->dsets[c]);
    s->dsets[c] = -1;
  }
  herr_t rc = H5Fclose(s->file);
  s->file = -1;
  int st = rc < 0 ? qn_error_set(err, QN_EIO, "%s: cannot finish the HDF5 file", base->path)
                  : qn_outfile_commit(s->of, err);
  if (rc < 0) qn_outfile_abort(s->of);
  qn_sink_h5_free(s);
  return st;
}

static void qn_sink_h5_abort(struct qn_sink *base) {
  struct qn_sink_h5 *s = (struct qn_sink_h5 *)base;
  for (int c = 0; c < base->ncols && s->dsets; c++) {
    if (s->dsets[c] >= 0) H5Dclose(s->dsets[c]);
    s->dsets[c] = -1;
  }
  if (s->file >= 0) H5Fclose(s->file);
  s->file = -1;
  qn_outfile_abort(s->of);
  qn_sink_h5_free(s);
}

static const struct qn_sink_ops qn_sink_h5_ops = {qn_sink_h5_write, qn_sink_h5_close,
                                                  qn_sink_h5_abort};

static int qn_sink_h5_open(struct qn_sink *proto, const struct qn_reader_column *rcols,
                           int64_t rows, const char *codec, struct qn_sink **out,
                           struct qn_error *err) {
  int status = QN_OK, gzip = 0;
  if (codec && !strcasecmp(codec, "gzip"))
    gzip = 1;
  else if (codec && strcasecmp(codec, "none"))
    return qn_error_set(err, QN_EINVAL, "codec '%s': HDF5 output takes gzip or none", codec);
  struct qn_sink_h5 *s = calloc(1, sizeof *s);
  if (!s) return qn_error_set(err, QN_ENOMEM, "out of memory");
  s->base = *proto;
  s->base.ops = &qn_sink_h5_ops;
  s->file = -1;
  s->dsets = malloc((size_t)proto->ncols * sizeof *s->dsets);
  s->types = malloc((size_t)proto->ncols * sizeof *s->types);
  if (!s->dsets || !s->types) {
    free(s->dsets);
    free(s->types);
    free(s);
    return qn_error_set(err, QN_ENOMEM, "out of memory");
  }
  for (int c = 0; c < proto->ncols; c++) s->dsets[c] = s->types[c] = -1;
  hid_t lcpl = H5Pcreate(H5P_LINK_CREATE), dcpl = -1, space = -1;
  H5Pset_create_intermediate_group(lcpl, 1);
  QN_CHECK(qn_outfile_open(proto->path, &s->of, err));
  QN_CHECK(qn_outfile_close_stream(s->of, err));
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  s->file = H5Fcreate(qn_outfile_temp_path(s->of), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (s->file < 0) {
    status = qn_error_set(err, QN_EIO, "%s: cannot create HDF5 file", proto->path);
    goto done;
  }
  hsize_t dims[1] = {(hsize_t)rows},
          chunk[1] = {(hsize_t)QN_MIN(QN_H5_OUT_CHUNK, QN_MAX(rows, 1))};
  space = H5Screate_simple(1, dims, NULL);
  dcpl = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_obj_track_times(dcpl, 0);
  if (rows > 0) H5Pset_chunk(dcpl, 1, chunk);
  if (rows > 0 && gzip) {
    H5Pset_shuffle(dcpl);
    H5Pset_deflate(dcpl, 4);
  }
  for (int c = 0; c < proto->ncols; c++) {
    enum qn_type t = proto->cols[c].type;
    if (t == QN_STRING) {
      s->types[c] = H5Tcopy(H5T_C_S1);
      H5Tset_size(s->types[c], H5T_VARIABLE);
      H5Tset_cset(s->types[c], H5T_CSET_UTF8);
    } else {
      s->types[c] = H5Tcopy(qn_h5_file_type(t));
    }
    s->dsets[c] =
        H5Dcreate2(s->file, proto->cols[c].name, s->types[c], space, lcpl, dcpl, H5P_DEFAULT);
    if (s->dsets[c] < 0) {
      status = qn_error_set(err, QN_EIO, "%s: cannot create dataset '%s'", proto->path,
                            proto->cols[c].name);
      goto done;
    }
    if (t == QN_TIMESTAMP || t == QN_DATE || t == QN_BOOL) {
      const char *unit = t == QN_DATE                       ? "days since 1970-01-01"
                         : t == QN_BOOL                     ? "bool"
                         : rcols[c].time_unit == 1000       ? "ms since 1970-01-01 UTC"
                         : rcols[c].time_unit == 1000000000 ? "ns since 1970-01-01 UTC"
                                                            : "us since 1970-01-01 UTC";
      hid_t st = H5Tcopy(H5T_C_S1), as = H5Screate(H5S_SCALAR);
      H5Tset_size(st, strlen(unit));
      hid_t a = H5Acreate2(s->dsets[c], "unit", st, as, H5P_DEFAULT, H5P_DEFAULT);
      if (a >= 0) {
        H5Awrite(a, st, unit);
        H5Aclose(a);
      }
      H5Sclose(as);
      H5Tclose(st);
    }
  }
  *out = &s->base;
  s = NULL;
done:
  if (dcpl >= 0) H5Pclose(dcpl);
  if (space >= 0) H5Sclose(space);
  H5Pclose(lcpl);
  if (s) qn_sink_h5_abort(&s->base);
  return status;
}

/* ----- CSV ----- */

struct qn_sink_csv {
  struct qn_sink base;
  struct qn_outfile *of;
  FILE *f;
  int64_t *units; /* per column: timestamp units per second */
};

/* Shortest text that reads back as the same double. */
static void qn_csv_double(FILE *f, double v) {
  if (isnan(v)) {
    fputs("nan", f);
    return;
  }
  if (isinf(v)) {
    fputs(v > 0 ? "inf" : "-inf", f);
    return;
  }
  char buf[QN_FORMAT_G17_CAP];
  for (int prec = 15; prec <= 17; prec++) {
    qn_format_g(v, prec, buf);
    if (prec == 17 || strtod(buf, NULL) == v) break;
  }
  fputs(buf, f);
}

static void qn_csv_string(FILE *f, const char *s, size_t len) {
  int quote = len == 0 ? 0 : strcspn(s, ",\"\r\n") < len;
  if (!quote) {
    fwrite(s, 1, len, f);
    return;
  }
  fputc('"', f);
  for (size_t i = 0; i < len; i++) {
    if (s[i] == '"') fputc('"', f);
    fputc(s[i], f);
  }
  fputc('"', f);
}

static void qn_csv_time(FILE *f, int64_t v, int64_t unit, int date_only) {
  int64_t secs = v / unit, frac = v % unit;
  if (frac < 0) {
    frac += unit;
    secs--;
  }
  time_t t = (time_t)secs;
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[64];
  if (date_only) {
    strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
    fputs(buf, f);
    return;
  }
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  fputs(buf, f);
  if (unit == 1000)
    fprintf(f, ".%03lld", (long long)frac);
  else if (unit == 1000000)
    fprintf(f, ".%06lld", (long long)frac);
  else if (unit == 1000000000)
    fprintf(f, ".%09lld", (long long)frac);
}

static void qn_csv_value(FILE *f, const struct qn_colbuf *cb, int64_t i, int64_t unit) {
  if (cb->valid && !cb->valid[i]) return; /* null: empty field */
  const void *d = cb->data;
  switch (cb->type) {
    case QN_INT8:
      fprintf(f, "%d", ((const int8_t *)d)[i]);
      break;
    case QN_INT16:
      fprintf(f, "%d", ((const int16_t *)d)[i]);
      break;
    case QN_INT32:
      fprintf(f, "%d", ((const int32_t *)d)[i]);
      break;
    case QN_INT64:
      fprintf(f, "%lld", (long long)((const int64_t *)d)[i]);
      break;
    case QN_UINT8:
      fprintf(f, "%u", ((const uint8_t *)d)[i]);
      break;
    case QN_UINT16:
      fprintf(f, "%u", ((const uint16_t *)d)[i]);
      break;
    case QN_UINT32:
      fprintf(f, "%u", ((const uint32_t *)d)[i]);
      break;
    case QN_UINT64:
      fprintf(f, "%llu", (unsigned long long)((const uint64_t *)d)[i]);
      break;
    case QN_BOOL:
      fputs(((const uint8_t *)d)[i] ? "true" : "false", f);
      break;
    case QN_FLOAT32:
      qn_csv_double(f, ((const float *)d)[i]);
      break;
    case QN_FLOAT64:
      qn_csv_double(f, ((const double *)d)[i]);
      break;
    case QN_TIMESTAMP:
      qn_csv_time(f, ((const int64_t *)d)[i], unit, 0);
      break;
    case QN_DATE:
      qn_csv_time(f, (int64_t)((const int32_t *)d)[i] * 86400, 1, 1);
      break;
    case QN_STRING:
      qn_csv_string(f, (const char *)d + cb->offsets[i],
                    (size_t)(cb->offsets[i + 1] - cb->offsets[i]));
      break;
    default:
      break;
  }
}

static int qn_sink_csv_write(struct qn_sink *base, const struct qn_colbuf *cols, int64_t n,
                             struct qn_error *err) {
  struct qn_sink_csv *s = (struct qn_sink_csv *)base;
  for (int64_t i = 0; i < n; i++) {
    for (int c = 0; c < base->ncols; c++) {
      if (c) fputc(',', s->f);
      qn_csv_value(s->f, &cols[c], i, s->units[c]);
    }
    fputc('\n', s->f);
  }
  base->rows_done += n;
  if (ferror(s->f))
    return qn_error_set(err, QN_EIO, "%s: write error (disk full?)", base->path);
  return QN_OK;
}

static int qn_sink_csv_close(struct qn_sink *base, struct qn_error *err) {
  struct qn_sink_csv *s = (struct qn_sink_csv *)base;
  int st = qn_outfile_commit(s->of, err);
  free(s->units);
  free(s);
  return st;
}
static void qn_sink_csv_abort(struct qn_sink *base) {
  struct qn_sink_csv *s = (struct qn_sink_csv *)base;
  qn_outfile_abort(s->of);
  free(s->units);
  free(s);
}
static const struct qn_sink_ops qn_sink_csv_ops = {qn_sink_csv_write, qn_sink_csv_close,
                                                   qn_sink_csv_abort};

static int qn_sink_csv_open(struct qn_sink *proto, const struct qn_reader_column *rcols,
                            const char *codec, struct qn_sink **out, struct qn_error *err) {
  if (codec && strcasecmp(codec, "none"))
    return qn_error_set(err, QN_EINVAL, "codec '%s': CSV output is not compressed", codec);
  struct qn_sink_csv *s = calloc(1, sizeof *s);
  int64_t *units = calloc((size_t)proto->ncols + 1, sizeof *units);
  if (!s || !units) {
    free(s);
    free(units);
    return qn_error_set(err, QN_ENOMEM, "out of memory");
  }
  int st = qn_outfile_open(proto->path, &s->of, err);
  if (st != QN_OK) {
    free(s);
    free(units);
    return st;
  }
  s->base = *proto;
  s->base.ops = &qn_sink_csv_ops;
  s->f = qn_outfile_stream(s->of);
  s->units = units;
  for (int c = 0; c < proto->ncols; c++) {
    units[c] = rcols[c].time_unit ? rcols[c].time_unit : 1000000;
    if (c) fputc(',', s->f);
    qn_csv_string(s->f, proto->cols[c].name, strlen(proto->cols[c].name));
  }
  fputc('\n', s->f);
  *out = &s->base;
  return QN_OK;
}

/* ----- the job ----- */

static int qn_convert_columns(struct qn_source *src, const struct qn_convert_options *opt,
                              int **cols, int *ncols, struct qn_error *err) {
  int n = opt->columns ? opt->ncolumns : src->ncols;
  int *idx = calloc((size_t)n + 1, sizeof *idx);
  if (!idx) return qn_error_set(err, QN_ENOMEM, "out of memory");
  for (int i = 0; i < n; i++) {
    idx[i] = opt->columns ? qn_source_find_column(src, opt->columns[i]) : i;
    if (idx[i] < 0) {
      char list[256];
      qn_source_column_list(src, list, sizeof list);
      free(idx);
      return qn_error_set(err, QN_ENOTFOUND, "%s: no column '%s' (columns: %s)",
                          src->files[0]->path, opt->columns[i], list);
    }
  }
  if (n == 0) {
    free(idx);
    return qn_error_set(err, QN_EINVAL, "%s: no columns to convert", src->files[0]->path);
  }
  for (int i = 0; i < n; i++)
    for (int j = 0; j < i; j++)
      if (idx[i] == idx[j]) {
        int c = idx[i];
        free(idx);
        return qn_error_set(err, QN_EINVAL, "column '%s' is named twice in the column list",
                            src->cols[c].name);
      }
  *cols = idx;
  *ncols = n;
  return QN_OK;
}

struct qn_convert_batch {
  struct qn_colbuf *cb;
  void **data;     /* fixed-width storage per column */
  uint8_t **valid; /* per column */
};

static void qn_convert_batch_free(struct qn_context *ctx, struct qn_convert_batch *b,
                                  int ncols) {
  for (int c = 0; c < ncols && b->data; c++) {
    qn_mem_free(ctx, b->data[c]);
    qn_mem_free(ctx, b->valid[c]);
  }
  free(b->cb);
  free(b->data);
  free(b->valid);
}

static int qn_convert_batch_init(struct qn_context *ctx, struct qn_source *src, const int *cols,
                                 int ncols, struct qn_convert_batch *b, struct qn_error *err) {
  b->cb = calloc((size_t)QN_MAX(ncols, 1), sizeof *b->cb);
  b->data = calloc((size_t)QN_MAX(ncols, 1), sizeof *b->data);
  b->valid = calloc((size_t)QN_MAX(ncols, 1), sizeof *b->valid);
  if (!b->cb || !b->data || !b->valid) return qn_error_set(err, QN_ENOMEM, "out of memory");
  for (int c = 0; c < ncols; c++) {
    const struct qn_column_info *ci = &src->cols[cols[c]];
    size_t w = ci->type == QN_STRING ? sizeof(int64_t) : qn_type_size(ci->type);
    int64_t rows = ci->type == QN_STRING ? QN_CONVERT_ROWS + 1 : QN_CONVERT_ROWS;
    b->data[c] = qn_mem_alloc(ctx, (size_t)rows * w, "conversion buffers", err);
    if (!b->data[c]) return err ? err->code : QN_ELIMIT;
    if (ci->nullable) {
      b->valid[c] = qn_mem_alloc(ctx, QN_CONVERT_ROWS, "conversion buffers", err);
      if (!b->valid[c]) return err ? err->code : QN_ELIMIT;
    }
  }
  return QN_OK;
}

/* Reads rows [row0, row0 + n) of file f into the batch. */
static int qn_convert_read(struct qn_source *src, int f, const int *cols, int ncols,
                           struct qn_convert_batch *b, int64_t row0, int64_t n,
                           struct qn_error *err) {
  struct qn_reader *r = src->files[f];
  for (int c = 0; c < ncols; c++) {
    int fc = qn_source_file_column(src, f, cols[c]);
    struct qn_colbuf *cb = &b->cb[c];
    memset(cb, 0, sizeof *cb);
    cb->type = src->cols[cols[c]].type;
    cb->n = n;
    cb->valid = r->cols[fc].nullable ? b->valid[c] : NULL;
    if (cb->type == QN_STRING)
      cb->offsets = b->data[c]; /* the reader allocates the bytes */
    else
      cb->data = b->data[c];
    QN_RETURN_IF_ERROR(r->ops->read(r, fc, row0, n, cb, err));
  }
  return QN_OK;
}

static void qn_convert_drop_strings(struct qn_context *ctx, struct qn_convert_batch *b,
                                    int ncols) {
  for (int c = 0; c < ncols; c++)
    if (b->cb[c].type == QN_STRING && b->cb[c].data) {
      qn_mem_free(ctx, b->cb[c].data);
      b->cb[c].data = NULL;
    }
}

void qn_convert_options_init(struct qn_convert_options *opt) {
  memset(opt, 0, sizeof *opt);
}

int qn_convert_run(struct qn_context *ctx, struct qn_source *src,
                   const struct qn_convert_options *opt, struct qn_error *err) {
  int status = QN_OK;
  int *cols = NULL, ncols = 0;
  int64_t rows = 0;
  struct qn_column_info *infos = NULL;
  struct qn_reader_column *rcols = NULL;
  struct qn_sink *sink = NULL;
  struct qn_convert_batch batch = {0};
  if (!opt || !opt->output)
    return qn_error_set(err, QN_EINVAL, "convert: no output file given");
  QN_CHECK(qn_convert_columns(src, opt, &cols, &ncols, err));
  QN_CHECK(qn_source_rows(src, cols, ncols, &rows, err));
  infos = calloc((size_t)QN_MAX(ncols, 1), sizeof *infos);
  rcols = calloc((size_t)QN_MAX(ncols, 1), sizeof *rcols);
  if (!infos || !rcols) {
    status = qn_error_set(err, QN_ENOMEM, "out of memory");
    goto done;
  }
  for (int c = 0; c < ncols; c++) {
    infos[c] = src->cols[cols[c]];
    rcols[c] = src->files[0]->cols[qn_source_file_column(src, 0, cols[c])];
  }
  QN_CHECK(qn_convert_batch_init(ctx, src, cols, ncols, &batch, err));
  struct qn_sink proto = {NULL, ctx, opt->output, ncols, infos, 0};
  const char *o = opt->output;
  if (qn_str_has_suffix(o, ".parquet") || qn_str_has_suffix(o, ".pq"))
    status = qn_sink_pq_open(&proto, rcols, opt->codec, &sink, err);
  else if (qn_str_has_suffix(o, ".h5") || qn_str_has_suffix(o, ".hdf5"))
    status = qn_sink_h5_open(&proto, rcols, rows, opt->codec, &sink, err);
  else if (qn_str_has_suffix(o, ".csv"))
    status = qn_sink_csv_open(&proto, rcols, opt->codec, &sink, err);
  else
    status =
        qn_error_set(err, QN_EINVAL, "%s: output must end in .parquet, .h5, .hdf5 or .csv", o);
  if (status != QN_OK) goto done;
  struct qn_progress *prog = qn_progress_start(ctx, "convert", rows);
  for (int f = 0; f < src->nfiles && status == QN_OK; f++) {
    int64_t frows = qn_source_file_rows(src, f, cols, ncols);
    for (int64_t row0 = 0; row0 < frows && status == QN_OK; row0 += QN_CONVERT_ROWS) {
      int64_t n = QN_MIN(QN_CONVERT_ROWS, frows - row0);
      status = qn_convert_read(src, f, cols, ncols, &batch, row0, n, err);
      if (status == QN_OK) status = sink->ops->write(sink, batch.cb, n, err);
      qn_convert_drop_strings(ctx, &batch, ncols);
      qn_progress_add(prog, n);
    }
    if (src->files[f]->ops->release) src->files[f]->ops->release(src->files[f]);
  }
  qn_progress_finish(prog);
  if (status == QN_OK) {
    status = sink->ops->close(sink, err);
    sink = NULL;
  }
done:
  if (sink) sink->ops->abort(sink);
  qn_convert_batch_free(ctx, &batch, ncols);
  free(infos);
  free(rcols);
  free(cols);
  return status;
}
