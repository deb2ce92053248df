/* hdf5_writer.c — the HDF5 table writer (qn_writer.h).
 *
 * One 1-D dataset per column, named by the column (a '/' in a name makes
 * groups), in chunks of 2^20 rows, link creation order tracked so readers
 * (quern's among them) list the columns in the order written. Types are
 * kept: integers and floats as themselves; timestamps as int64, dates as
 * int32 and booleans as uint8, each with a `unit` attribute that says what
 * the numbers are ("us since 1970-01-01 UTC", "days since 1970-01-01",
 * "bool"); strings as variable-length UTF-8.
 *
 * Nulls: HDF5 has none. A column that may hold nulls gets a uint8
 * validity dataset (1 = present) at /_quern/valid/NAME, named by the
 * column's `valid` attribute; the value under a null is NaN for floats,
 * 0 otherwise (an empty string for strings). quern's reader hides
 * /_quern and gives the nulls back; h5py users see the two datasets.
 *
 * Writes: unfiltered datasets bypass the chunk cache (no fill, storage
 * allocated as written), so each part goes straight to the file; with gzip
 * (shuffle + deflate level 4) libhdf5 must compress whole chunks and keeps
 * one chunk per column in its cache, counted against the budget. libhdf5
 * is called only from append/close (the ordered, serial side); encode
 * copies the part's rows, because the scan reuses its buffers. The
 * checksum of the file is read back after libhdf5 closes it.
 */
#include <hdf5.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "qn_writer.h"

#define QN_H5W_CHUNK ((int64_t)1 << 20)

struct qn_h5w {
  struct qn_writer base;
  struct qn_outfile *of;
  int gzip;
  int64_t fixed_rows; /* datasets sized up front (-1: extended per part) */
  int64_t cache_bytes;
  hid_t file;
  hid_t *dsets, *types, *valids;
};

/* A copy of a part's rows (values, validity, string bytes). */
struct qn_h5w_part {
  int64_t n;
  struct qn_colbuf *cols;
  void *store;
};

static hid_t qn_h5w_file_type(enum qn_type t) {
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

static hid_t qn_h5w_mem_type(enum qn_type t) {
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

/* The `unit` attribute text of a column, or NULL. */
const char *qn_h5_unit_text(enum qn_type t, int64_t time_unit) {
  switch (t) {
    case QN_DATE:
      return "days since 1970-01-01";
    case QN_BOOL:
      return "bool";
    case QN_TIMESTAMP:
      return time_unit == 1000         ? "ms since 1970-01-01 UTC"
             : time_unit == 1000000000 ? "ns since 1970-01-01 UTC"
                                       : "us since 1970-01-01 UTC";
    default:
      return NULL;
  }
}

static int qn_h5w_attr_string(hid_t obj, const char *name, const char *text) {
  hid_t st = H5Tcopy(H5T_C_S1), as = H5Screate(H5S_SCALAR);
  H5Tset_size(st, strlen(text));
  hid_t a = H5Acreate2(obj, name, st, as, H5P_DEFAULT, H5P_DEFAULT);
  herr_t rc = a >= 0 ? H5Awrite(a, st, text) : -1;
  if (a >= 0) H5Aclose(a);
  H5Sclose(as);
  H5Tclose(st);
  return rc < 0 ? -1 : 0;
}

/* ----- parts ----- */

static void qn_h5w_part_free(struct qn_writer *w, void *p) {
  struct qn_h5w_part *part = p;
  if (!part) return;
  qn_mem_free(w->ctx, part->store);
  free(part->cols);
  free(part);
}

static int qn_h5w_encode(struct qn_writer *w, int worker, const struct qn_colbuf *cols,
                         int64_t n, int64_t row_base, void **out, struct qn_error *err) {
  size_t bytes = 0;
  for (int c = 0; c < w->ncols; c++) {
    const struct qn_colbuf *cb = &cols[c];
    if (cb->type != w->cols[c].type)
      return qn_error_set(err, QN_EINVAL, "%s: column %s: batch type %s differs from %s",
                          w->path, w->cols[c].name, qn_type_name(cb->type),
                          qn_type_name(w->cols[c].type));
    if (cb->type == QN_STRING)
      bytes += (size_t)(n + 1) * 8 + (size_t)(cb->offsets[n] - cb->offsets[0]) + 64;
    else
      bytes += (size_t)n * qn_type_size(cb->type) + 64;
    if (cb->valid) bytes += (size_t)n + 64;
  }
  struct qn_h5w_part *part = calloc(1, sizeof *part);
  if (!part || !(part->cols = calloc((size_t)w->ncols, sizeof *part->cols))) {
    free(part);
    return qn_error_set(err, QN_ENOMEM, "out of memory writing %s", w->path);
  }
  part->n = n;
  part->store = qn_mem_alloc(w->ctx, bytes + 1, "HDF5 output rows", err);
  if (!part->store) {
    qn_h5w_part_free(w, part);
    return err ? err->code : QN_ELIMIT;
  }
  char *next = part->store;
  for (int c = 0; c < w->ncols; c++) {
    const struct qn_colbuf *cb = &cols[c];
    struct qn_colbuf *d = &part->cols[c];
    d->type = cb->type;
    d->n = n;
    if (cb->type == QN_STRING) {
      int64_t b0 = cb->offsets[0], len = cb->offsets[n] - b0;
      d->offsets = (int64_t *)(void *)next;
      for (int64_t i = 0; i <= n; i++) d->offsets[i] = cb->offsets[i] - b0;
      next += ((size_t)(n + 1) * 8 + 63) & ~(size_t)63;
      d->data = next;
      memcpy(next, (const char *)cb->data + b0, (size_t)len);
      next += ((size_t)len + 63) & ~(size_t)63;
    } else {
      size_t vb = (size_t)n * qn_type_size(cb->type);
      d->data = next;
      memcpy(next, cb->data, vb);
      next += (vb + 63) & ~(size_t)63;
    }
    if (cb->valid) {
      d->valid = (uint8_t *)next;
      memcpy(next, cb->valid, (size_t)n);
      next += ((size_t)n + 63) & ~(size_t)63;
    }
  }
  (void)worker;
  (void)row_base;
  *out = part;
  return QN_OK;
}

/* ----- append: libhdf5, one thread ----- */

static int qn_h5w_put(struct qn_h5w *h, hid_t dset, hid_t memtype, int64_t row0, int64_t n,
                      const void *data) {
  hsize_t start[1] = {(hsize_t)row0}, count[1] = {(hsize_t)n};
  if (h->fixed_rows < 0) {
    hsize_t size[1] = {(hsize_t)(row0 + n)};
    if (H5Dset_extent(dset, size) < 0) return -1;
  }
  hid_t fs = H5Dget_space(dset), ms = H5Screate_simple(1, count, NULL);
  herr_t rc = H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
  if (rc >= 0) rc = H5Dwrite(dset, memtype, ms, fs, H5P_DEFAULT, data);
  H5Sclose(ms);
  H5Sclose(fs);
  return rc < 0 ? -1 : 0;
}

static int qn_h5w_column(struct qn_h5w *h, int c, struct qn_colbuf *cb, int64_t row0,
                         struct qn_error *err) {
  struct qn_writer *w = &h->base;
  int64_t n = cb->n;
  int rc;
  if (cb->type == QN_STRING) {
    /* variable-length strings want NUL-terminated pointers: the bytes once
     * more with a NUL after each value (a null is an empty string) */
    char **ptrs = qn_mem_alloc(w->ctx, (size_t)n * sizeof *ptrs + (size_t)(cb->offsets[n] + n),
                               "HDF5 string conversion", err);
    if (!ptrs) return err ? err->code : QN_ELIMIT;
    char *text = (char *)(ptrs + n);
    for (int64_t i = 0; i < n; i++) {
      size_t len = (size_t)(cb->offsets[i + 1] - cb->offsets[i]);
      if (cb->valid && !cb->valid[i]) len = 0;
      memcpy(text, (const char *)cb->data + cb->offsets[i], len);
      text[len] = 0;
      ptrs[i] = text;
      text += len + 1;
    }
    rc = qn_h5w_put(h, h->dsets[c], h->types[c], row0, n, ptrs);
    qn_mem_free(w->ctx, ptrs);
  } else {
    if (cb->valid) { /* the value under a null: NaN for floats, else 0 */
      size_t ws = qn_type_size(cb->type);
      for (int64_t i = 0; i < n; i++) {
        if (cb->valid[i]) continue;
        if (cb->type == QN_FLOAT64)
          ((double *)cb->data)[i] = NAN;
        else if (cb->type == QN_FLOAT32)
          ((float *)cb->data)[i] = NAN;
        else
          memset((char *)cb->data + (size_t)i * ws, 0, ws);
      }
    }
    rc = qn_h5w_put(h, h->dsets[c], qn_h5w_mem_type(cb->type), row0, n, cb->data);
  }
  if (rc == 0 && h->valids[c] >= 0) {
    uint8_t *ones = NULL;
    const uint8_t *v = cb->valid;
    if (!v) {
      ones = qn_mem_alloc(w->ctx, (size_t)n + 1, "HDF5 validity", err);
      if (!ones) return err ? err->code : QN_ELIMIT;
      memset(ones, 1, (size_t)n);
      v = ones;
    }
    rc = qn_h5w_put(h, h->valids[c], H5T_NATIVE_UINT8, row0, n, v);
    qn_mem_free(w->ctx, ones);
  }
  if (rc < 0)
    return qn_error_set(err, QN_EIO,
                        "%s: cannot write rows %lld..%lld of column '%s' (disk full?)", w->path,
                        (long long)row0, (long long)(row0 + n), w->cols[c].name);
  return QN_OK;
}

static int qn_h5w_append(struct qn_writer *w, void *p, struct qn_error *err) {
  struct qn_h5w *h = (struct qn_h5w *)w;
  struct qn_h5w_part *part = p;
  int status = QN_OK;
  if (!part) return QN_OK;
  if (h->fixed_rows >= 0 && w->rows + part->n > h->fixed_rows)
    status = qn_error_set(err, QN_EINTERNAL, "%s: more rows than the %lld announced", w->path,
                          (long long)h->fixed_rows);
  for (int c = 0; c < w->ncols && status == QN_OK; c++)
    status = qn_h5w_column(h, c, &part->cols[c], w->rows, err);
  if (status == QN_OK) w->rows += part->n;
  qn_h5w_part_free(w, part);
  return status;
}

/* ----- open, close ----- */

static void qn_h5w_free(struct qn_h5w *h) {
  for (int c = 0; c < h->base.ncols; c++) {
    if (h->dsets && h->dsets[c] >= 0) H5Dclose(h->dsets[c]);
    if (h->types && h->types[c] >= 0) H5Tclose(h->types[c]);
    if (h->valids && h->valids[c] >= 0) H5Dclose(h->valids[c]);
  }
  if (h->file >= 0) H5Fclose(h->file);
  h->file = -1;
  if (h->cache_bytes) qn_mem_release(h->base.ctx, h->cache_bytes);
  free(h->dsets);
  free(h->types);
  free(h->valids);
  qn_writer_base_reset(&h->base);
  free(h);
}

static int qn_h5w_close(struct qn_writer *w, struct qn_checksum *sum, struct qn_error *err) {
  struct qn_h5w *h = (struct qn_h5w *)w;
  int status = QN_OK;
  if (h->fixed_rows >= 0 && w->rows != h->fixed_rows)
    status = qn_error_set(err, QN_EINTERNAL, "%s: %lld rows written of the %lld announced",
                          w->path, (long long)w->rows, (long long)h->fixed_rows);
  for (int c = 0; c < w->ncols; c++) {
    if (h->dsets[c] >= 0 && H5Dclose(h->dsets[c]) < 0 && status == QN_OK)
      status =
          qn_error_set(err, QN_EIO, "%s: cannot finish column '%s'", w->path, w->cols[c].name);
    h->dsets[c] = -1;
    if (h->valids[c] >= 0) H5Dclose(h->valids[c]);
    h->valids[c] = -1;
  }
  herr_t rc = H5Fclose(h->file);
  h->file = -1;
  if (rc < 0 && status == QN_OK)
    status = qn_error_set(err, QN_EIO, "%s: cannot finish the HDF5 file (disk full?)", w->path);
  if (status == QN_OK)
    status = qn_outfile_commit_sum(h->of, sum, err);
  else
    qn_outfile_abort(h->of);
  h->of = NULL;
  qn_h5w_free(h);
  return status;
}

static void qn_h5w_abort(struct qn_writer *w) {
  struct qn_h5w *h = (struct qn_h5w *)w;
  for (int c = 0; c < w->ncols && h->dsets; c++) {
    if (h->dsets[c] >= 0) H5Dclose(h->dsets[c]);
    h->dsets[c] = -1;
    if (h->valids[c] >= 0) H5Dclose(h->valids[c]);
    h->valids[c] = -1;
  }
  if (h->file >= 0) H5Fclose(h->file);
  h->file = -1;
  if (h->of) qn_outfile_abort(h->of);
  h->of = NULL;
  qn_h5w_free(h);
}

static const struct qn_writer_ops qn_h5w_ops = {qn_h5w_encode, qn_h5w_append, qn_h5w_part_free,
                                                qn_h5w_close, qn_h5w_abort};

/* Creates the groups on the way to `name` (absolute or not), each
 * tracking link creation order, as the root does. */
static int qn_h5w_groups(hid_t file, const char *name, hid_t gcpl) {
  char path[1200];
  snprintf(path, sizeof path, "%s", name);
  for (char *p = path + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (H5Lexists(file, path, H5P_DEFAULT) <= 0) {
      hid_t g = H5Gcreate2(file, path, H5P_DEFAULT, gcpl, H5P_DEFAULT);
      if (g < 0) return -1;
      H5Gclose(g);
    }
    *p = '/';
  }
  return 0;
}

/* One dataset (values or validity) with the writer's layout. */
static hid_t qn_h5w_dataset(struct qn_h5w *h, const char *name, hid_t type, hid_t lcpl,
                            int64_t chunk_bytes) {
  int64_t rows = h->fixed_rows;
  hsize_t dims[1] = {(hsize_t)(rows >= 0 ? rows : 0)};
  hsize_t maxd[1] = {rows >= 0 ? (hsize_t)rows : H5S_UNLIMITED};
  hsize_t chunk[1] = {
      (hsize_t)(rows >= 0 ? QN_MIN(QN_H5W_CHUNK, QN_MAX(rows, 1)) : QN_H5W_CHUNK)};
  hid_t space = H5Screate_simple(1, dims, maxd);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE), dapl = H5Pcreate(H5P_DATASET_ACCESS);
  H5Pset_obj_track_times(dcpl, 0); /* no timestamps: same rows, same bytes */
  /* no fill (libhdf5 refuses that for variable-length strings) */
  if (H5Tis_variable_str(type) <= 0) H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER);
  H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_INCR);
  if (rows != 0) H5Pset_chunk(dcpl, 1, chunk);
  if (rows != 0 && h->gzip) {
    H5Pset_shuffle(dcpl);
    H5Pset_deflate(dcpl, 4);
  }
  /* unfiltered: no cache, parts go straight to the file; gzip: one chunk */
  H5Pset_chunk_cache(dapl, 521, h->gzip ? (size_t)chunk_bytes : 0, 1.0);
  hid_t d = H5Dcreate2(h->file, name, type, space, lcpl, dcpl, dapl);
  H5Pclose(dapl);
  H5Pclose(dcpl);
  H5Sclose(space);
  return d;
}

static int qn_h5w_open(struct qn_context *ctx, const char *path, const struct qn_wcolumn *cols,
                       int ncols, const struct qn_writer_options *opt, struct qn_writer **out,
                       struct qn_error *err) {
  int status = QN_OK, gzip = 0;
  if (opt->codec && !strcasecmp(opt->codec, "gzip"))
    gzip = 1;
  else if (opt->codec && strcasecmp(opt->codec, "none"))
    return qn_error_set(err, QN_EINVAL, "codec %s: HDF5 output takes gzip or none", opt->codec);
  struct qn_h5w *h = calloc(1, sizeof *h);
  if (!h) return qn_error_set(err, QN_ENOMEM, "out of memory");
  h->file = -1;
  h->gzip = gzip;
  h->fixed_rows = opt->rows;
  h->base.ops = &qn_h5w_ops;
  hid_t fcpl = -1, lcpl = -1, gcpl = -1;
  h->dsets = malloc((size_t)ncols * sizeof *h->dsets);
  h->types = malloc((size_t)ncols * sizeof *h->types);
  h->valids = malloc((size_t)ncols * sizeof *h->valids);
  if (!h->dsets || !h->types || !h->valids) {
    free(h->dsets);
    free(h->types);
    free(h->valids);
    free(h);
    return qn_error_set(err, QN_ENOMEM, "out of memory");
  }
  for (int c = 0; c < ncols; c++) h->dsets[c] = h->types[c] = h->valids[c] = -1;
  QN_CHECK(qn_writer_base_init(&h->base, ctx, "hdf5", path, cols, ncols, err));
  for (int c = 0; c < ncols; c++)
    if (cols[c].type != QN_STRING && qn_h5w_file_type(cols[c].type) < 0) {
      status =
          qn_error_set(err, QN_EINVAL, "%s: column '%s': type %s cannot be written to HDF5",
                       path, cols[c].name, qn_type_name(cols[c].type));
      goto done;
    }
  if (gzip) { /* libhdf5 holds one chunk a column while compressing */
    int64_t bytes = 0;
    for (int c = 0; c < ncols; c++)
      bytes +=
          QN_H5W_CHUNK * (cols[c].type == QN_STRING ? 16 : (int64_t)qn_type_size(cols[c].type));
    QN_CHECK(qn_mem_reserve(ctx, bytes, "the HDF5 chunk cache for gzip", err));
    h->cache_bytes = bytes;
  }
  QN_CHECK(qn_outfile_open(path, &h->of, err));
  QN_CHECK(qn_outfile_close_stream(h->of, err));
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  fcpl = H5Pcreate(H5P_FILE_CREATE);
  H5Pset_link_creation_order(fcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
  h->file = H5Fcreate(qn_outfile_temp_path(h->of), H5F_ACC_TRUNC, fcpl, H5P_DEFAULT);
  if (h->file < 0) {
    status = qn_error_set(err, QN_EIO, "%s: cannot create HDF5 file", path);
    goto done;
  }
  lcpl = H5Pcreate(H5P_LINK_CREATE);
  gcpl = H5Pcreate(H5P_GROUP_CREATE);
  H5Pset_link_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
  for (int c = 0; c < ncols; c++) {
    enum qn_type t = cols[c].type;
    if (t == QN_STRING) {
      h->types[c] = H5Tcopy(H5T_C_S1);
      H5Tset_size(h->types[c], H5T_VARIABLE);
      H5Tset_cset(h->types[c], H5T_CSET_UTF8);
    } else {
      h->types[c] = H5Tcopy(qn_h5w_file_type(t));
    }
    int64_t cb = QN_H5W_CHUNK * (t == QN_STRING ? 16 : (int64_t)qn_type_size(t));
    if (qn_h5w_groups(h->file, cols[c].name, gcpl) == 0)
      h->dsets[c] = qn_h5w_dataset(h, cols[c].name, h->types[c], lcpl, cb);
    if (h->dsets[c] < 0) {
      status = qn_error_set(err, QN_EIO, "%s: cannot create dataset '%s'", path, cols[c].name);
      goto done;
    }
    const char *unit = qn_h5_unit_text(t, cols[c].time_unit);
    if (unit && qn_h5w_attr_string(h->dsets[c], "unit", unit) < 0) {
      status = qn_error_set(err, QN_EIO, "%s: cannot label column '%s'", path, cols[c].name);
      goto done;
    }
    if (cols[c].nullable) {
      char vname[1200];
      snprintf(vname, sizeof vname, "/_quern/valid/%s", cols[c].name);
      if (qn_h5w_groups(h->file, vname, gcpl) == 0)
        h->valids[c] = qn_h5w_dataset(h, vname, H5T_STD_U8LE, lcpl, QN_H5W_CHUNK);
      if (h->valids[c] < 0 || qn_h5w_attr_string(h->dsets[c], "valid", vname) < 0) {
        status = qn_error_set(err, QN_EIO, "%s: cannot create the validity of '%s'", path,
                              cols[c].name);
        goto done;
      }
    }
  }
  *out = &h->base;
  h = NULL;
done:
  if (fcpl >= 0) H5Pclose(fcpl);
  if (lcpl >= 0) H5Pclose(lcpl);
  if (gcpl >= 0) H5Pclose(gcpl);
  if (h) qn_h5w_abort(&h->base);
  return status;
}

static const char *const qn_h5w_ext[] = {".h5", ".hdf5", NULL};
const struct qn_writer_format qn_writer_hdf5 = {"hdf5", qn_h5w_ext, qn_h5w_open};
