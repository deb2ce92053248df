/* hdf5.c — the HDF5 reader.
 *
 * Columns: every 1-D numeric dataset (named by its path without the leading
 * '/'), each column j of a 2-D dataset (`m[j]`), each numeric field of a
 * compound dataset (`table` addressed as `file.h5:/table` gives its fields
 * by name, otherwise `table.field`). String datasets and fields are listed
 * as QN_STRING columns so a request for one gets a precise error.
 *
 * Two read paths:
 *  - raw: a 1-D dataset stored contiguous or in unfiltered chunks, whose
 *    file type is the native type, is read with pread() at the byte offsets
 *    libhdf5 reports at open time. This runs on worker threads
 *    (parallel_read) and never calls libhdf5.
 *  - library: everything else (filters, 2-D, compound, foreign byte order)
 *    goes through H5Dread with a chunk-aligned hyperslab, from the scan's
 *    single reader thread. The chunk cache of each such dataset holds one
 *    chunk and is counted against the memory budget.
 *
 * Files quern wrote (hdf5_writer.c) carry what HDF5 lacks: a `unit`
 * attribute makes an int64 dataset a timestamp ("us since 1970-01-01
 * UTC"), an int32 one a date, a uint8 one booleans ("bool"); a `valid`
 * attribute names a uint8 validity dataset under /_quern, whose zeros are
 * nulls (such a column is read on the reader thread, /_quern itself is
 * not listed). Columns are listed in link creation order when every group
 * tracks it, else by name.
 */
#include "qn_source.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum qn_h5_kind { QN_H5_PLAIN, QN_H5_COLUMN2D, QN_H5_FIELD };

struct qn_h5_col {
  enum qn_h5_kind kind;
  char *dset_path; /* absolute path of the dataset */
  hid_t dset;      /* opened lazily by the reader thread, -1 until then */
  hid_t native;    /* native memory type of the values */
  hid_t memtype;   /* what H5Dread converts to: native, or a one-field
                      compound for a field (made in qn_h5_prepare) */
  int j;           /* column of a 2-D dataset */
  int64_t ncols2d;
  char *field; /* compound field name */
  /* raw path: chunk c covers rows [c*chunk_rows, ...) at file offset addr[c] */
  int raw;
  int64_t chunk_rows;
  int64_t nchunks;
  int64_t *addr;
  int64_t cache_bytes; /* reserved from the budget for the chunk cache */
  char *valid_path;    /* validity dataset (NULL: no nulls) */
  hid_t valid_dset;    /* opened lazily by the reader thread, -1 until then */
};

/* Handles are opened lazily and dropped by qn_h5_release once the scan is
 * done with the file, so a table of a thousand files holds neither a
 * thousand HDF5 metadata caches nor a thousand descriptors. */
struct qn_h5_reader {
  struct qn_reader base;
  hid_t file; /* reader thread only */
  int fd;     /* any thread, under fd_lock */
  pthread_mutex_t fd_lock;
  char *prefix; /* group or dataset the columns are relative to ("/" = root) */
  struct qn_h5_col *hcols;
  int cap;
};

static const struct qn_reader_ops qn_h5_ops;

/* libhdf5 prints its error stack on stderr by default; quern reports each
 * error itself, in one line. The thread-safe libhdf5 keeps an error stack,
 * and whether to print it, per thread: every thread that calls libhdf5
 * turns the printing off before its first call (the scan's reader thread,
 * not only the thread that opened the file). QUERN_DEBUG=hdf5 in the
 * environment leaves libhdf5's printing on, to see where it failed. */
static _Thread_local int qn_h5_quiet_done;

static void qn_h5_quiet(void) {
  if (qn_h5_quiet_done) return;
  qn_h5_quiet_done = 1;
  const char *debug = getenv("QUERN_DEBUG");
  if (debug && strstr(debug, "hdf5")) return;
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

static herr_t qn_h5_cause_cb(unsigned n, const H5E_error2_t *e, void *buf) {
  if (n == 0 && e->desc && e->desc[0]) snprintf(buf, 256, ": %s", e->desc);
  return 0;
}

/* The innermost cause libhdf5 recorded for the call that just failed in
 * this thread (": inflate() failed", ": data error detected by Fletcher32
 * checksum"), or "" when there is none; clears the stack. */
static const char *qn_h5_cause(char buf[256]) {
  buf[0] = '\0';
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, qn_h5_cause_cb, buf);
  H5Eclear2(H5E_DEFAULT);
  return buf;
}

static int qn_h5_get_file(struct qn_h5_reader *h, struct qn_error *err) {
  qn_h5_quiet();
  if (h->file >= 0) return QN_OK;
  h->file = H5Fopen(h->base.path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (h->file < 0)
    return qn_error_set(err, QN_EIO, "%s: cannot reopen the HDF5 file", h->base.path);
  return QN_OK;
}

static int qn_h5_get_fd(struct qn_h5_reader *h, int *fd, struct qn_error *err) {
  pthread_mutex_lock(&h->fd_lock);
  if (h->fd < 0) h->fd = open(h->base.path, O_RDONLY | O_CLOEXEC);
  *fd = h->fd;
  int e = errno;
  pthread_mutex_unlock(&h->fd_lock);
  if (*fd < 0) return qn_error_set(err, QN_EIO, "%s: %s", h->base.path, strerror(e));
  return QN_OK;
}

/* Drops handles, datasets and chunk caches; the columns and the raw chunk
 * addresses stay, and the next read reopens what it needs. */
static void qn_h5_release(struct qn_reader *r) {
  struct qn_h5_reader *h = (struct qn_h5_reader *)r;
  qn_h5_quiet();
  for (int i = 0; i < r->ncols && h->hcols; i++) {
    struct qn_h5_col *hc = &h->hcols[i];
    if (hc->dset >= 0) H5Dclose(hc->dset);
    hc->dset = -1;
    if (hc->valid_dset >= 0) H5Dclose(hc->valid_dset);
    hc->valid_dset = -1;
    if (hc->memtype >= 0 && hc->memtype != hc->native) H5Tclose(hc->memtype);
    hc->memtype = hc->native;
    if (hc->cache_bytes) qn_mem_release(r->ctx, hc->cache_bytes);
    hc->cache_bytes = 0;
  }
  if (h->file >= 0) H5Fclose(h->file);
  h->file = -1;
  pthread_mutex_lock(&h->fd_lock);
  if (h->fd >= 0) close(h->fd);
  h->fd = -1;
  pthread_mutex_unlock(&h->fd_lock);
}

static enum qn_type qn_h5_map_type(hid_t t, hid_t *native) {
  H5T_class_t cls = H5Tget_class(t);
  size_t size = H5Tget_size(t);
  *native = -1;
  if (cls == H5T_INTEGER) {
    int sgn = H5Tget_sign(t) == H5T_SGN_2;
    switch (size) {
      case 1:
        *native = sgn ? H5T_NATIVE_INT8 : H5T_NATIVE_UINT8;
        return sgn ? QN_INT8 : QN_UINT8;
      case 2:
        *native = sgn ? H5T_NATIVE_INT16 : H5T_NATIVE_UINT16;
        return sgn ? QN_INT16 : QN_UINT16;
      case 4:
        *native = sgn ? H5T_NATIVE_INT32 : H5T_NATIVE_UINT32;
        return sgn ? QN_INT32 : QN_UINT32;
      case 8:
        *native = sgn ? H5T_NATIVE_INT64 : H5T_NATIVE_UINT64;
        return sgn ? QN_INT64 : QN_UINT64;
      default:
        return QN_TYPE_INVALID;
    }
  }
  if (cls == H5T_FLOAT) {
    if (size == 4) {
      *native = H5T_NATIVE_FLOAT;
      return QN_FLOAT32;
    }
    if (size == 8) {
      *native = H5T_NATIVE_DOUBLE;
      return QN_FLOAT64;
    }
    return QN_TYPE_INVALID;
  }
  if (cls == H5T_STRING) return QN_STRING;
  return QN_TYPE_INVALID;
}

/* Forgets the columns listed so far (a listing to start again). */
static void qn_h5_drop_columns(struct qn_h5_reader *h) {
  for (int i = 0; i < h->base.ncols; i++) {
    free(h->hcols[i].dset_path);
    free(h->hcols[i].field);
    free(h->hcols[i].valid_path);
    free(h->base.cols[i].name);
    free(h->base.cols[i].type_name);
  }
  h->base.ncols = 0;
}

static int qn_h5_add(struct qn_h5_reader *h, const char *name, enum qn_type type, int64_t rows,
                     struct qn_h5_col *hc, struct qn_error *err) {
  if (h->base.ncols == h->cap) {
    int cap = h->cap ? 2 * h->cap : 16;
    struct qn_reader_column *c = realloc(h->base.cols, (size_t)cap * sizeof *c);
    if (!c) goto oom;
    h->base.cols = c;
    struct qn_h5_col *x = realloc(h->hcols, (size_t)cap * sizeof *x);
    if (!x) goto oom;
    h->hcols = x;
    h->cap = cap;
  }
  struct qn_reader_column *rc = &h->base.cols[h->base.ncols];
  memset(rc, 0, sizeof *rc);
  rc->name = qn_strdup(name);
  rc->type_name = qn_strdup(qn_type_name(type));
  rc->type = type;
  rc->rows = rows;
  hc->dset = -1;
  hc->valid_dset = -1;
  h->hcols[h->base.ncols] = *hc;
  h->base.ncols++;
  if (!rc->name || !rc->type_name) goto oom;
  return QN_OK;
oom:
  free(hc->dset_path);
  free(hc->field);
  free(hc->valid_path);
  return qn_error_set(err, QN_ENOMEM, "out of memory reading %s", h->base.path);
}

/* A string attribute of obj into buf ("" when absent or not a string). */
static void qn_h5_attr_text(hid_t obj, const char *name, char *buf, size_t cap) {
  buf[0] = 0;
  if (H5Aexists(obj, name) <= 0) return;
  hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
  if (a < 0) return;
  hid_t t = H5Aget_type(a);
  if (H5Tget_class(t) == H5T_STRING && H5Tis_variable_str(t) <= 0) {
    size_t n = H5Tget_size(t);
    if (n < cap) {
      hid_t mt = H5Tcopy(H5T_C_S1);
      H5Tset_size(mt, n);
      if (H5Aread(a, mt, buf) >= 0)
        buf[n] = 0;
      else
        buf[0] = 0;
      H5Tclose(mt);
    }
  }
  H5Tclose(t);
  H5Aclose(a);
}

/* What quern's own attributes say of a 1-D dataset (see the top). */
static enum qn_type qn_h5_quern_type(hid_t d, enum qn_type stored, int64_t *time_unit,
                                     const char **type_name) {
  char unit[64];
  qn_h5_attr_text(d, "unit", unit, sizeof unit);
  *time_unit = 0;
  if (stored == QN_UINT8 && !strcmp(unit, "bool")) {
    *type_name = "bool";
    return QN_BOOL;
  }
  if (stored == QN_INT32 && !strcmp(unit, "days since 1970-01-01")) {
    *type_name = "date";
    return QN_DATE;
  }
  if (stored == QN_INT64) {
    static const struct {
      const char *text, *name;
      int64_t unit;
    } units[] = {{"ms since 1970-01-01 UTC", "timestamp[ms]", 1000},
                 {"us since 1970-01-01 UTC", "timestamp[us]", 1000000},
                 {"ns since 1970-01-01 UTC", "timestamp[ns]", 1000000000}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
      if (!strcmp(unit, units[i].text)) {
        *time_unit = units[i].unit;
        *type_name = units[i].name;
        return QN_TIMESTAMP;
      }
  }
  return stored;
}

/* Column name: dataset path relative to the prefix, without leading '/'. */
static const char *qn_h5_relname(const struct qn_h5_reader *h, const char *path) {
  size_t n = strlen(h->prefix);
  if (strcmp(h->prefix, "/") != 0 && strncmp(path, h->prefix, n) == 0) path += n;
  while (*path == '/') path++;
  return path;
}

static int qn_h5_add_dataset(struct qn_h5_reader *h, const char *path, int as_table,
                             struct qn_error *err) {
  int status = QN_OK;
  hid_t d = H5Dopen2(h->file, path, H5P_DEFAULT);
  hid_t t = -1, s = -1;
  if (d < 0)
    return qn_error_set(err, QN_EFORMAT, "%s: cannot open dataset %s", h->base.path, path);
  t = H5Dget_type(d);
  s = H5Dget_space(d);
  int rank = H5Sget_simple_extent_ndims(s);
  hsize_t dims[2] = {0, 0};
  if (rank == 1 || rank == 2) H5Sget_simple_extent_dims(s, dims, NULL);
  const char *rel = qn_h5_relname(h, path);
  if (H5Tget_class(t) == H5T_COMPOUND && rank == 1) {
    int nm = H5Tget_nmembers(t);
    for (int i = 0; i < nm && status == QN_OK; i++) {
      char *fname = H5Tget_member_name(t, (unsigned)i);
      hid_t ft = H5Tget_member_type(t, (unsigned)i);
      hid_t native;
      enum qn_type qt = qn_h5_map_type(ft, &native);
      if (qt != QN_TYPE_INVALID && fname) {
        char name[1024];
        if (as_table || !*rel)
          snprintf(name, sizeof name, "%s", fname);
        else
          snprintf(name, sizeof name, "%s.%s", rel, fname);
        struct qn_h5_col hc = {.kind = QN_H5_FIELD,
                               .dset_path = qn_strdup(path),
                               .field = qn_strdup(fname),
                               .native = native,
                               .memtype = native};
        status = qn_h5_add(h, name, qt, (int64_t)dims[0], &hc, err);
      }
      H5Tclose(ft);
      H5free_memory(fname);
    }
  } else if (rank == 1 || rank == 2) {
    hid_t native;
    enum qn_type qt = qn_h5_map_type(t, &native);
    if (qt != QN_TYPE_INVALID) {
      int64_t k = rank == 2 ? (int64_t)dims[1] : 1;
      for (int64_t j = 0; j < k && status == QN_OK; j++) {
        char name[1024];
        if (rank == 2)
          snprintf(name, sizeof name, "%s[%lld]", rel, (long long)j);
        else
          snprintf(name, sizeof name, "%s", rel);
        struct qn_h5_col hc = {.kind = rank == 2 ? QN_H5_COLUMN2D : QN_H5_PLAIN,
                               .dset_path = qn_strdup(path),
                               .native = native,
                               .memtype = native,
                               .j = (int)j,
                               .ncols2d = k};
        int64_t time_unit = 0;
        const char *type_name = NULL;
        char valid[1200] = "";
        enum qn_type t2 = qt;
        if (rank == 1) {
          t2 = qn_h5_quern_type(d, qt, &time_unit, &type_name);
          qn_h5_attr_text(d, "valid", valid, sizeof valid);
          if (valid[0] && !(hc.valid_path = qn_strdup(valid))) {
            free(hc.dset_path);
            return qn_error_set(err, QN_ENOMEM, "out of memory reading %s", h->base.path);
          }
        }
        status = qn_h5_add(h, name, t2, (int64_t)dims[0], &hc, err);
        if (status == QN_OK) {
          struct qn_reader_column *rc = &h->base.cols[h->base.ncols - 1];
          rc->time_unit = time_unit;
          rc->nullable = valid[0] != 0;
          if (type_name) {
            free(rc->type_name);
            rc->type_name = qn_strdup(type_name);
            if (!rc->type_name) status = qn_error_set(err, QN_ENOMEM, "out of memory");
          }
        }
      }
    }
  }
  H5Sclose(s);
  H5Tclose(t);
  H5Dclose(d);
  return status;
}

struct qn_h5_visit {
  struct qn_h5_reader *h;
  struct qn_error *err;
  int status;
};

static herr_t qn_h5_visit_cb(hid_t obj, const char *name, const H5O_info_t *info, void *op) {
  struct qn_h5_visit *v = op;
  if (info->type != H5O_TYPE_DATASET) return 0;
  char path[2048];
  const char *pre = v->h->prefix;
  /* quern's own bookkeeping (validity datasets) is not a column */
  if (!strcmp(pre, "/") && (!strncmp(name, "_quern/", 7) || !strcmp(name, "_quern"))) return 0;
  snprintf(path, sizeof path, "%s%s%s", pre, pre[strlen(pre) - 1] == '/' ? "" : "/", name);
  v->status = qn_h5_add_dataset(v->h, path, 0, v->err);
  return v->status == QN_OK ? 0 : -1;
}

/* Decides the raw path: native byte layout, no filters, allocated storage. */
static int qn_h5_plan_raw(struct qn_h5_reader *h, struct qn_h5_col *hc,
                          const struct qn_reader_column *rc, struct qn_error *err) {
  int status = QN_OK;
  hid_t d = H5Dopen2(h->file, hc->dset_path, H5P_DEFAULT);
  if (d < 0)
    return qn_error_set(err, QN_EFORMAT, "%s: cannot open dataset %s", h->base.path,
                        hc->dset_path);
  hid_t t = H5Dget_type(d), plist = H5Dget_create_plist(d);
  H5D_layout_t layout = H5Pget_layout(plist);
  int native = H5Tequal(t, hc->memtype) > 0;
  size_t w = qn_type_size(rc->type);
  if (!native || rc->rows == 0) goto done;
  if (layout == H5D_CONTIGUOUS) {
    haddr_t a = H5Dget_offset(d);
    if (a == HADDR_UNDEF) goto done;
    hc->addr = malloc(sizeof *hc->addr);
    if (!hc->addr) {
      status = qn_error_set(err, QN_ENOMEM, "out of memory");
      goto done;
    }
    hc->addr[0] = (int64_t)a;
    hc->nchunks = 1;
    hc->chunk_rows = rc->rows;
    hc->raw = 1;
  } else if (layout == H5D_CHUNKED && H5Pget_nfilters(plist) == 0) {
    hsize_t chunk[1];
    if (H5Pget_chunk(plist, 1, chunk) != 1 || chunk[0] == 0) goto done;
    int64_t n = (rc->rows + (int64_t)chunk[0] - 1) / (int64_t)chunk[0];
    hc->addr = malloc((size_t)n * sizeof *hc->addr);
    if (!hc->addr) {
      status = qn_error_set(err, QN_ENOMEM, "out of memory");
      goto done;
    }
    for (int64_t c = 0; c < n; c++) {
      hsize_t off[1] = {(hsize_t)c * chunk[0]};
      unsigned mask = 0;
      haddr_t a = HADDR_UNDEF;
      hsize_t size = 0;
      if (H5Dget_chunk_info_by_coord(d, off, &mask, &a, &size) < 0 || a == HADDR_UNDEF ||
          size < chunk[0] * w) {
        free(hc->addr); /* an unwritten chunk holds fill values: let libhdf5 read it */
        hc->addr = NULL;
        goto done;
      }
      hc->addr[c] = (int64_t)a;
    }
    hc->nchunks = n;
    hc->chunk_rows = (int64_t)chunk[0];
    hc->raw = 1;
  }
done:
  H5Pclose(plist);
  H5Tclose(t);
  H5Dclose(d);
  return status;
}

int qn_h5_open(struct qn_context *ctx, const char *path, const char *sub,
               struct qn_reader **out, struct qn_error *err) {
  int status = QN_OK;
  qn_h5_quiet();
  struct qn_h5_reader *h = calloc(1, sizeof *h);
  if (!h) return qn_error_set(err, QN_ENOMEM, "out of memory opening %s", path);
  h->base.ops = &qn_h5_ops;
  h->base.ctx = ctx;
  h->base.path = qn_strdup(path);
  h->file = -1;
  h->fd = -1;
  pthread_mutex_init(&h->fd_lock, NULL);
  h->prefix = qn_strdup(sub && *sub ? sub : "/");
  if (!h->base.path || !h->prefix) {
    status = qn_error_set(err, QN_ENOMEM, "out of memory opening %s", path);
    goto done;
  }
  h->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (h->file < 0) {
    struct stat st;
    char cause[256];
    long long size = stat(path, &st) == 0 ? (long long)st.st_size : -1;
    status = qn_error_set(err, QN_EFORMAT,
                          "%s: HDF5 signature at byte 0 but the file cannot be opened "
                          "(truncated or corrupt; %lld bytes%s)",
                          path, size, qn_h5_cause(cause));
    goto done;
  }
  H5O_info_t oi;
  if (H5Oget_info_by_name(h->file, h->prefix, &oi, H5P_DEFAULT) < 0) {
    status = qn_error_set(err, QN_ENOTFOUND, "%s: no group or dataset '%s'", path, h->prefix);
    goto done;
  }
  if (oi.type == H5O_TYPE_DATASET) {
    QN_CHECK(qn_h5_add_dataset(h, h->prefix, 1, err));
  } else if (oi.type == H5O_TYPE_GROUP) {
    hid_t g = H5Gopen2(h->file, h->prefix, H5P_DEFAULT);
    struct qn_h5_visit v = {h, err, QN_OK};
    /* the order written when every group tracks it, else by name */
    struct qn_error e2;
    qn_error_init(&e2);
    v.err = &e2;
    herr_t rc = H5Ovisit(g, H5_INDEX_CRT_ORDER, H5_ITER_INC, qn_h5_visit_cb, &v);
    if (rc < 0 || v.status != QN_OK) {
      qn_h5_drop_columns(h);
      v.status = QN_OK;
      v.err = err;
      rc = H5Ovisit(g, H5_INDEX_NAME, H5_ITER_INC, qn_h5_visit_cb, &v);
    }
    H5Gclose(g);
    if (v.status != QN_OK) {
      status = v.status;
      goto done;
    }
    if (rc < 0) {
      status =
          qn_error_set(err, QN_EFORMAT, "%s: cannot list the datasets under %s (corrupt file?)",
                       path, h->prefix);
      goto done;
    }
  } else {
    status =
        qn_error_set(err, QN_EINVAL, "%s: '%s' is not a group or dataset", path, h->prefix);
    goto done;
  }
  for (int i = 0; i < h->base.ncols; i++) {
    struct qn_h5_col *hc = &h->hcols[i];
    if (hc->kind == QN_H5_PLAIN && h->base.cols[i].type != QN_STRING)
      QN_CHECK(qn_h5_plan_raw(h, hc, &h->base.cols[i], err));
    /* validity is read through libhdf5: on the reader thread */
    h->base.cols[i].parallel_read = hc->raw && !hc->valid_path;
    h->base.cols[i].plain_read = hc->raw;
  }
  qn_h5_release(&h->base);
  *out = &h->base;
  h = NULL;
done:
  if (h) qn_h5_ops.close(&h->base);
  return status;
}

static void qn_h5_close(struct qn_reader *r) {
  struct qn_h5_reader *h = (struct qn_h5_reader *)r;
  qn_h5_release(r);
  for (int i = 0; i < r->ncols && h->hcols; i++) {
    free(h->hcols[i].dset_path);
    free(h->hcols[i].field);
    free(h->hcols[i].valid_path);
    free(h->hcols[i].addr);
  }
  free(h->hcols);
  qn_reader_free_columns(r);
  pthread_mutex_destroy(&h->fd_lock);
  free(h->prefix);
  free(r->path);
  free(h);
}

static int qn_h5_read_raw(struct qn_h5_reader *h, int col, int64_t row0, int64_t n,
                          struct qn_colbuf *out, struct qn_error *err) {
  const struct qn_h5_col *hc = &h->hcols[col];
  size_t w = qn_type_size(h->base.cols[col].type);
  char *dst = out->data;
  int fd;
  QN_RETURN_IF_ERROR(qn_h5_get_fd(h, &fd, err));
  int64_t row = row0, end = row0 + n;
  while (row < end) {
    int64_t c = row / hc->chunk_rows;
    int64_t in = row - c * hc->chunk_rows;
    int64_t take = QN_MIN(end - row, hc->chunk_rows - in);
    size_t bytes = (size_t)take * w;
    off_t off = (off_t)(hc->addr[c] + in * (int64_t)w);
    size_t got = 0;
    while (got < bytes) {
      ssize_t r = pread(fd, dst + got, bytes - got, off + (off_t)got);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        return qn_error_set(
            err, r == 0 ? QN_EFORMAT : QN_EIO,
            "%s: column '%s': cannot read rows %lld..%lld at byte offset %lld: %s",
            h->base.path, h->base.cols[col].name, (long long)row, (long long)(row + take),
            (long long)(off + (off_t)got), r == 0 ? "file is truncated" : strerror(errno));
      }
      got += (size_t)r;
    }
    dst += bytes;
    row += take;
  }
  return QN_OK;
}

/* First library read of a column: open the dataset with a chunk cache of one
 * chunk (budgeted) and build the memory type. Reader thread only. */
static int qn_h5_prepare(struct qn_h5_reader *h, int col, struct qn_error *err) {
  struct qn_h5_col *hc = &h->hcols[col];
  QN_RETURN_IF_ERROR(qn_h5_get_file(h, err));
  hid_t dapl = H5Pcreate(H5P_DATASET_ACCESS);
  hid_t d = H5Dopen2(h->file, hc->dset_path, H5P_DEFAULT);
  if (d < 0) {
    H5Pclose(dapl);
    return qn_error_set(err, QN_EFORMAT, "%s: cannot open dataset %s", h->base.path,
                        hc->dset_path);
  }
  hid_t plist = H5Dget_create_plist(d);
  int64_t cache = 0;
  if (H5Pget_layout(plist) == H5D_CHUNKED) {
    hsize_t chunk[2] = {0, 0};
    int rank = H5Pget_chunk(plist, 2, chunk);
    hid_t t = H5Dget_type(d);
    cache = (int64_t)H5Tget_size(t) * (int64_t)chunk[0] * (rank == 2 ? (int64_t)chunk[1] : 1);
    H5Tclose(t);
  }
  H5Pclose(plist);
  H5Dclose(d);
  if (cache > 0) {
    int st = qn_mem_reserve(h->base.ctx, cache, "the HDF5 chunk cache", err);
    if (st != QN_OK) {
      H5Pclose(dapl);
      return st;
    }
    hc->cache_bytes = cache;
  }
  H5Pset_chunk_cache(dapl, 521, (size_t)(cache > 0 ? cache : 0), 1.0);
  hc->dset = H5Dopen2(h->file, hc->dset_path, dapl);
  H5Pclose(dapl);
  if (hc->dset < 0)
    return qn_error_set(err, QN_EFORMAT, "%s: cannot open dataset %s", h->base.path,
                        hc->dset_path);
  if (hc->kind == QN_H5_FIELD) {
    hc->memtype = H5Tcreate(H5T_COMPOUND, H5Tget_size(hc->native));
    if (hc->memtype < 0 || H5Tinsert(hc->memtype, hc->field, 0, hc->native) < 0)
      return qn_error_set(err, QN_EFORMAT, "%s: cannot read field %s of %s", h->base.path,
                          hc->field, hc->dset_path);
  }
  return QN_OK;
}

static int qn_h5_read_lib(struct qn_h5_reader *h, int col, int64_t row0, int64_t n,
                          struct qn_colbuf *out, struct qn_error *err) {
  struct qn_h5_col *hc = &h->hcols[col];
  if (hc->dset < 0) QN_RETURN_IF_ERROR(qn_h5_prepare(h, col, err));
  hid_t fs = H5Dget_space(hc->dset);
  hsize_t mdims[1] = {(hsize_t)n};
  hid_t ms = H5Screate_simple(1, mdims, NULL);
  herr_t rc;
  if (hc->kind == QN_H5_COLUMN2D) {
    hsize_t start[2] = {(hsize_t)row0, (hsize_t)hc->j}, count[2] = {(hsize_t)n, 1};
    rc = H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
  } else {
    hsize_t start[1] = {(hsize_t)row0}, count[1] = {(hsize_t)n};
    rc = H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
  }
  if (rc >= 0) rc = H5Dread(hc->dset, hc->memtype, ms, fs, H5P_DEFAULT, out->data);
  char cause[256];
  if (rc < 0) qn_h5_cause(cause);
  H5Sclose(ms);
  H5Sclose(fs);
  if (rc < 0)
    return qn_error_set(
        err, QN_EFORMAT,
        "%s: column '%s': cannot read rows %lld..%lld%s (corrupt or truncated file?)",
        h->base.path, h->base.cols[col].name, (long long)row0, (long long)(row0 + n), cause);
  return QN_OK;
}

/* Strings (for convert): fixed-length or variable-length string datasets
 * through libhdf5, packed into out->offsets (caller's, n + 1 entries) and
 * bytes the reader allocates from the budget (the caller frees them with
 * qn_mem_free), as the Parquet reader does. Reader thread only. */
static int qn_h5_read_strings(struct qn_h5_reader *h, int col, int64_t row0, int64_t n,
                              struct qn_colbuf *out, struct qn_error *err) {
  struct qn_h5_col *hc = &h->hcols[col];
  const char *name = h->base.cols[col].name;
  if (hc->kind != QN_H5_PLAIN || !out->offsets)
    return qn_error_set(err, QN_EUNSUPPORTED, "%s: column '%s' is a string field, not numeric",
                        h->base.path, name);
  if (hc->dset < 0) QN_RETURN_IF_ERROR(qn_h5_prepare(h, col, err));
  int status = QN_OK;
  hid_t ft = H5Dget_type(hc->dset), mt = H5Tcopy(H5T_C_S1);
  hid_t fs = H5Dget_space(hc->dset), ms = -1;
  int vlen = H5Tis_variable_str(ft) > 0;
  size_t width = vlen ? sizeof(char *) : H5Tget_size(ft);
  char *raw = qn_mem_alloc(h->base.ctx, (size_t)n * width + 1, "string read buffer", err);
  char *bytes = NULL;
  if (!raw) {
    status = err ? err->code : QN_ELIMIT;
    goto done;
  }
  H5Tset_size(mt, vlen ? H5T_VARIABLE : width);
  H5Tset_cset(mt, H5Tget_cset(ft)); /* ASCII <-> UTF-8 is no conversion libhdf5 knows */
  H5Tset_strpad(mt, H5Tget_strpad(ft));
  hsize_t start[1] = {(hsize_t)row0}, count[1] = {(hsize_t)n};
  ms = H5Screate_simple(1, count, NULL);
  if (H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
      H5Dread(hc->dset, mt, ms, fs, H5P_DEFAULT, raw) < 0) {
    char cause[256];
    status = qn_error_set(
        err, QN_EFORMAT, "%s: column '%s': cannot read strings at rows %lld..%lld%s",
        h->base.path, name, (long long)row0, (long long)(row0 + n), qn_h5_cause(cause));
    goto done;
  }
  int64_t total = 0;
  for (int64_t i = 0; i < n; i++) {
    const char *v = vlen ? ((char **)raw)[i] : raw + (size_t)i * width;
    total += v ? (int64_t)(vlen ? strlen(v) : strnlen(v, width)) : 0;
  }
  bytes = qn_mem_alloc(h->base.ctx, (size_t)total + 1, "string values", err);
  if (!bytes) status = err ? err->code : QN_ELIMIT;
  out->offsets[0] = 0;
  for (int64_t i = 0; i < n && bytes; i++) {
    const char *v = vlen ? ((char **)raw)[i] : raw + (size_t)i * width;
    size_t len = v ? (vlen ? strlen(v) : strnlen(v, width)) : 0;
    memcpy(bytes + out->offsets[i], v, len);
    out->offsets[i + 1] = out->offsets[i] + (int64_t)len;
  }
  if (vlen) H5Dvlen_reclaim(mt, ms, H5P_DEFAULT, raw);
  out->data = bytes;
  bytes = NULL;
done:
  qn_mem_free(h->base.ctx, bytes);
  qn_mem_free(h->base.ctx, raw);
  if (ms >= 0) H5Sclose(ms);
  H5Sclose(fs);
  H5Tclose(mt);
  H5Tclose(ft);
  return status;
}

/* The validity of rows [row0, row0 + n) into out->valid, or NULL when
 * they are all present. Reader thread only. */
static int qn_h5_read_valid(struct qn_h5_reader *h, int col, int64_t row0, int64_t n,
                            struct qn_colbuf *out, struct qn_error *err) {
  struct qn_h5_col *hc = &h->hcols[col];
  uint8_t *v = out->valid;
  out->valid = NULL;
  if (!hc->valid_path || n == 0) return QN_OK;
  if (!v)
    return qn_error_set(err, QN_EINTERNAL, "%s: column '%s' has nulls but no validity buffer",
                        h->base.path, h->base.cols[col].name);
  qn_h5_quiet();
  QN_RETURN_IF_ERROR(qn_h5_get_file(h, err));
  if (hc->valid_dset < 0) hc->valid_dset = H5Dopen2(h->file, hc->valid_path, H5P_DEFAULT);
  herr_t rc = -1;
  if (hc->valid_dset >= 0) {
    hid_t fs = H5Dget_space(hc->valid_dset);
    hsize_t start[1] = {(hsize_t)row0}, count[1] = {(hsize_t)n};
    hid_t ms = H5Screate_simple(1, count, NULL);
    rc = H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
    if (rc >= 0) rc = H5Dread(hc->valid_dset, H5T_NATIVE_UINT8, ms, fs, H5P_DEFAULT, v);
    H5Sclose(ms);
    H5Sclose(fs);
  }
  if (rc < 0)
    return qn_error_set(err, QN_EFORMAT,
                        "%s: column '%s': cannot read its validity %s at rows %lld..%lld",
                        h->base.path, h->base.cols[col].name, hc->valid_path, (long long)row0,
                        (long long)(row0 + n));
  for (int64_t i = 0; i < n; i++)
    if (!v[i]) {
      out->valid = v;
      break;
    }
  return QN_OK;
}

static int qn_h5_read(struct qn_reader *r, int col, int64_t row0, int64_t n,
                      struct qn_colbuf *out, struct qn_error *err) {
  struct qn_h5_reader *h = (struct qn_h5_reader *)r;
  int status;
  if (r->cols[col].type == QN_STRING) {
    if (n == 0 && out->offsets) out->offsets[0] = 0;
    if (n == 0) {
      out->valid = NULL;
      return QN_OK;
    }
    qn_h5_quiet();
    status = qn_h5_read_strings(h, col, row0, n, out, err);
  } else if (n == 0) {
    status = QN_OK;
  } else if (h->hcols[col].raw) {
    status = qn_h5_read_raw(h, col, row0, n, out, err);
  } else {
    qn_h5_quiet();
    status = qn_h5_read_lib(h, col, row0, n, out, err);
  }
  if (status != QN_OK) return status;
  return qn_h5_read_valid(h, col, row0, n, out, err);
}

/* ----- quern info ----- */

static void qn_h5_filters(hid_t plist, char *buf, size_t cap) {
  int nf = H5Pget_nfilters(plist);
  buf[0] = 0;
  size_t used = 0;
  for (int i = 0; i < nf; i++) {
    unsigned flags;
    size_t nelem = 0;
    char name[64] = "";
    H5Z_filter_t id =
        H5Pget_filter2(plist, (unsigned)i, &flags, &nelem, NULL, sizeof name, name, NULL);
    const char *n = id == H5Z_FILTER_DEFLATE      ? "gzip"
                    : id == H5Z_FILTER_SHUFFLE    ? "shuffle"
                    : id == H5Z_FILTER_FLETCHER32 ? "fletcher32"
                    : id == H5Z_FILTER_SZIP       ? "szip"
                    : name[0]                     ? name
                                                  : "filter";
    used += (size_t)snprintf(buf + used, used < cap ? cap - used : 0, "%s%s", i ? "," : "", n);
  }
}

/* Adds per-column "dataset", "layout", "chunk", "filters", "storage_bytes"
 * and "fast_path" to the column objects of info["columns"]. */
static int qn_h5_info(struct qn_reader *r, void *info, struct qn_error *err) {
  struct qn_h5_reader *h = (struct qn_h5_reader *)r;
  json_t *cols = json_object_get((json_t *)info, "columns");
  QN_RETURN_IF_ERROR(qn_h5_get_file(h, err));
  for (int i = 0; i < r->ncols; i++) {
    const struct qn_h5_col *hc = &h->hcols[i];
    json_t *c = json_array_get(cols, (size_t)i);
    if (!c) break;
    hid_t d = H5Dopen2(h->file, hc->dset_path, H5P_DEFAULT);
    if (d < 0)
      return qn_error_set(err, QN_EFORMAT, "%s: cannot open %s", r->path, hc->dset_path);
    hid_t plist = H5Dget_create_plist(d);
    H5D_layout_t layout = H5Pget_layout(plist);
    json_t *chunk = json_array();
    char filters[256] = "";
    if (layout == H5D_CHUNKED) {
      hsize_t cd[2] = {0, 0};
      int rank = H5Pget_chunk(plist, 2, cd);
      for (int k = 0; k < rank && k < 2; k++)
        json_array_append_new(chunk, json_integer((json_int_t)cd[k]));
      qn_h5_filters(plist, filters, sizeof filters);
    }
    const char *lay = layout == H5D_CHUNKED      ? "chunked"
                      : layout == H5D_CONTIGUOUS ? "contiguous"
                      : layout == H5D_COMPACT    ? "compact"
                                                 : "other";
    json_object_set_new(c, "dataset", json_string(hc->dset_path));
    json_object_set_new(c, "layout", json_string(lay));
    json_object_set_new(c, "chunk", chunk);
    json_object_set_new(c, "filters", json_string(filters));
    json_object_set_new(c, "storage_bytes", json_integer((json_int_t)H5Dget_storage_size(d)));
    json_object_set_new(c, "fast_path", json_boolean(hc->raw));
    H5Pclose(plist);
    H5Dclose(d);
  }
  return QN_OK;
}

static const struct qn_reader_ops qn_h5_ops = {.format = "hdf5",
                                               .read = qn_h5_read,
                                               .close = qn_h5_close,
                                               .info = qn_h5_info,
                                               .release = qn_h5_release};

static int qn_h5_probe(const unsigned char *head, size_t got) {
  static const unsigned char magic[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  return got >= 8 && memcmp(head, magic, 8) == 0;
}

const struct qn_format qn_format_hdf5 = {"hdf5", qn_h5_probe, 1, qn_h5_open};
