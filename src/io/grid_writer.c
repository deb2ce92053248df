/* grid_writer.c — the N-d results of a binning job (one array of ncells
 * per statistic, C order over the axes, with each axis's edges) as JSON,
 * CSV or HDF5: the output layer's writer for grids, beside the table
 * writers (writers.c). The bytes depend on the grid alone. */
#include <hdf5.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io/qn_grid.h"
#include "io/qn_json.h"

/* The statistics are streamed, not built as a jansson tree: a tree costs
 * ~60 bytes of unbudgeted memory per cell and its dump dominates the time
 * of a large grid. The bytes are the ones json_dumpf writes (", " and ": "
 * separators, reals as %.17g with ".0" added to integral values and the
 * exponent without '+' or leading zeros, NaN as null, infinities as
 * "inf"/"-inf"); the head of the document still comes from jansson. */
struct qn_grid_jw {
  FILE *f;
  char buf[1 << 16];
  size_t n;
  int failed;
};

static void qn_grid_jw_flush(struct qn_grid_jw *w) {
  if (w->n && fwrite(w->buf, 1, w->n, w->f) != w->n) w->failed = 1;
  w->n = 0;
}

static void qn_grid_jw_put(struct qn_grid_jw *w, const char *s, size_t len) {
  if (w->n + len > sizeof w->buf) qn_grid_jw_flush(w);
  if (len > sizeof w->buf) {
    if (fwrite(s, 1, len, w->f) != len) w->failed = 1;
    return;
  }
  memcpy(w->buf + w->n, s, len);
  w->n += len;
}

static void qn_grid_jw_int(struct qn_grid_jw *w, long long v) {
  char t[24];
  int i = (int)sizeof t;
  unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
  do {
    t[--i] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  if (v < 0) t[--i] = '-';
  qn_grid_jw_put(w, t + i, sizeof t - (size_t)i);
}

static void qn_grid_jw_real(struct qn_grid_jw *w, double v) {
  if (isnan(v)) {
    qn_grid_jw_put(w, "null", 4);
    return;
  }
  if (isinf(v)) {
    qn_grid_jw_put(w, v > 0 ? "\"inf\"" : "\"-inf\"", v > 0 ? 5 : 6);
    return;
  }
  char t[QN_FORMAT_G17_CAP + 4];
  int len = qn_format_g17(v, t);
  char *e = strchr(t, 'e');
  if (!e && !strchr(t, '.')) {
    memcpy(t + len, ".0", 3);
    len += 2;
  } else if (e) { /* e+05 -> e5, e-05 -> e-5 */
    char *from = e + 1, *to = e + 1;
    if (*from == '+')
      from++;
    else if (*from == '-')
      from++, to++;
    while (*from == '0' && from[1]) from++;
    memmove(to, from, strlen(from) + 1);
    len = (int)strlen(t);
  }
  qn_grid_jw_put(w, t, (size_t)len);
}

/* Nested arrays [i0][i1]... of statistic s starting at cell `base`. */
static void qn_grid_jw_nested(struct qn_grid_jw *w, const struct qn_grid *r, int s, int axis,
                              int64_t base, int64_t stride) {
  const int64_t sub = stride / r->nbins[axis];
  const int ints = r->as_int[s];
  qn_grid_jw_put(w, "[", 1);
  for (int64_t i = 0; i < r->nbins[axis]; i++) {
    int64_t c = base + i * sub;
    if (i) qn_grid_jw_put(w, ", ", 2);
    if (axis < r->naxes - 1)
      qn_grid_jw_nested(w, r, s, axis + 1, c, sub);
    else if (ints)
      qn_grid_jw_int(w, (long long)r->values[s][c]);
    else
      qn_grid_jw_real(w, r->values[s][c]);
  }
  qn_grid_jw_put(w, "]", 1);
}

/* Everything but "stats", which is streamed after it. */
static json_t *qn_grid_json_head(const struct qn_grid *r) {
  json_t *root = json_object();
  json_object_set_new(root, "quern_version", json_string(r->version));
  json_t *in = json_array();
  for (int i = 0; i < r->ninputs; i++) json_array_append_new(in, json_string(r->inputs[i]));
  json_object_set_new(root, "inputs", in);
  json_object_set_new(root, "rows", json_integer(r->rows));
  json_object_set_new(root, "out_of_range", json_integer(r->out_of_range));
  if (r->value) json_object_set_new(root, "value", json_string(r->value));
  if (r->weight) json_object_set_new(root, "weight", json_string(r->weight));
  json_t *axes = json_array();
  for (int k = 0; k < r->naxes; k++) {
    json_t *ax = json_object(), *e = json_array();
    json_object_set_new(ax, "name", json_string(r->names[k]));
    for (int64_t i = 0; i <= r->nbins[k]; i++)
      json_array_append_new(e, qn_json_double(r->edges[k][i]));
    json_object_set_new(ax, "edges", e);
    json_array_append_new(axes, ax);
  }
  json_object_set_new(root, "axes", axes);
  return root;
}

int qn_grid_write_json(const struct qn_grid *r, FILE *f, const char *path,
                       struct qn_error *err) {
  json_t *root = qn_grid_json_head(r);
  char *head = root ? json_dumps(root, JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17)) : NULL;
  json_decref(root);
  if (!head) return qn_error_set(err, QN_ENOMEM, "out of memory building JSON");
  struct qn_grid_jw *w = malloc(sizeof *w);
  if (!w) {
    free(head);
    return qn_error_set(err, QN_ENOMEM, "out of memory writing JSON");
  }
  w->f = f;
  w->n = 0;
  w->failed = 0;
  qn_grid_jw_put(w, head, strlen(head) - 1); /* without the closing brace */
  free(head);
  qn_grid_jw_put(w, ", \"stats\": {", 12);
  for (int i = 0; i < r->nstats; i++) {
    const char *name = r->stat_names[i];
    if (i) qn_grid_jw_put(w, ", ", 2);
    qn_grid_jw_put(w, "\"", 1);
    qn_grid_jw_put(w, name, strlen(name));
    qn_grid_jw_put(w, "\": ", 3);
    qn_grid_jw_nested(w, r, i, 0, 0, r->ncells);
  }
  qn_grid_jw_put(w, "}}\n", 3);
  qn_grid_jw_flush(w);
  int failed = w->failed;
  free(w);
  if (failed || ferror(f))
    return qn_error_set(err, QN_EIO, "cannot write %s", path ? path : "standard output");
  return QN_OK;
}

static void qn_grid_csv_double(FILE *f, double v) {
  if (isnan(v))
    fputs("nan", f);
  else if (isinf(v))
    fputs(v > 0 ? "inf" : "-inf", f);
  else {
    char t[QN_FORMAT_G17_CAP];
    qn_format_g17(v, t);
    fputs(t, f);
  }
}

/* A CSV field: quoted (RFC 4180) when it holds a comma, a quote or a line
 * break, as a column name may. */
static void qn_grid_csv_field(FILE *f, const char *s, const char *suffix) {
  if (!strpbrk(s, ",\"\r\n")) {
    fprintf(f, "%s%s", s, suffix);
    return;
  }
  fputc('"', f);
  for (const char *p = s; *p; p++) {
    if (*p == '"') fputc('"', f);
    fputc(*p, f);
  }
  fprintf(f, "%s\"", suffix);
}

#define QN_GRID_EDGE_TEXT QN_FORMAT_G17_CAP

int qn_grid_write_csv(struct qn_context *ctx, const struct qn_grid *r, FILE *f,
                      const char *path, struct qn_error *err) {
  /* Each axis's edges are formatted once, not once per cell: a 1000 x 1000
   * grid has two million edge fields. */
  int64_t nedges = 0;
  for (int k = 0; k < r->naxes; k++) nedges += r->nbins[k] + 1;
  char *text = qn_mem_alloc(ctx, (size_t)nedges * QN_GRID_EDGE_TEXT, "CSV edge text", err);
  if (!text) return err ? err->code : QN_ELIMIT;
  const char *etext[QN_GRID_MAX_AXES];
  char *t = text;
  for (int k = 0; k < r->naxes; k++) {
    etext[k] = t;
    for (int64_t i = 0; i <= r->nbins[k]; i++, t += QN_GRID_EDGE_TEXT)
      qn_format_g17(r->edges[k][i], t);
  }
  for (int k = 0; k < r->naxes; k++) {
    if (k) fputc(',', f);
    qn_grid_csv_field(f, r->names[k], "_lo");
    fputc(',', f);
    qn_grid_csv_field(f, r->names[k], "_hi");
  }
  for (int i = 0; i < r->nstats; i++) fprintf(f, ",%s", r->stat_names[i]);
  fputc('\n', f);
  int status = QN_OK;
  for (int64_t c = 0; c < r->ncells && status == QN_OK; c++) {
    int64_t rest = c, idx[QN_GRID_MAX_AXES];
    for (int k = r->naxes - 1; k >= 0; k--) {
      idx[k] = rest % r->nbins[k];
      rest /= r->nbins[k];
    }
    for (int k = 0; k < r->naxes; k++) {
      if (k) fputc(',', f);
      fputs(etext[k] + idx[k] * QN_GRID_EDGE_TEXT, f);
      fputc(',', f);
      fputs(etext[k] + (idx[k] + 1) * QN_GRID_EDGE_TEXT, f);
    }
    for (int i = 0; i < r->nstats; i++) {
      const double v = r->values[i][c];
      fputc(',', f);
      if (r->as_int[i])
        fprintf(f, "%lld", (long long)v);
      else
        qn_grid_csv_double(f, v);
    }
    if (fputc('\n', f) == EOF) status = qn_error_set(err, QN_EIO, "cannot write %s", path);
  }
  qn_mem_free(ctx, text);
  if (status == QN_OK && ferror(f)) status = qn_error_set(err, QN_EIO, "cannot write %s", path);
  return status;
}

/* A variable-length string attribute: scalar when n == 0 (one value),
 * else an array of n (lists stay arrays even with one element). */
static int qn_grid_h5_strings(hid_t obj, const char *name, const char *const *v, size_t n) {
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, H5T_VARIABLE);
  H5Tset_cset(t, H5T_CSET_UTF8);
  hsize_t dims[1] = {n};
  hid_t sp = n == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, dims, NULL);
  hid_t a = H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
  int rc = (a >= 0 && H5Awrite(a, t, v) >= 0) ? 0 : -1;
  if (a >= 0) H5Aclose(a);
  H5Sclose(sp);
  H5Tclose(t);
  return rc;
}

static int qn_grid_h5_int(hid_t obj, const char *name, int64_t v) {
  hid_t sp = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(obj, name, H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
  int rc = (a >= 0 && H5Awrite(a, H5T_NATIVE_INT64, &v) >= 0) ? 0 : -1;
  if (a >= 0) H5Aclose(a);
  H5Sclose(sp);
  return rc;
}

static int qn_grid_h5_dataset(hid_t loc, const char *name, int rank, const hsize_t *dims,
                              int as_int, const double *v, int64_t n) {
  hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(lcpl, 1);
  /* No modification times in object headers: same result, same bytes. */
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_obj_track_times(dcpl, 0);
  hid_t sp = H5Screate_simple(rank, dims, NULL);
  hid_t d = H5Dcreate2(loc, name, as_int ? H5T_STD_I64LE : H5T_IEEE_F64LE, sp, lcpl, dcpl,
                       H5P_DEFAULT);
  int rc = -1;
  if (d >= 0) {
    /* Integer counts (exact in a double) are converted by libhdf5 as it
     * writes, through its 1 MiB conversion buffer: no copy of the grid. */
    (void)n;
    rc = H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0 ? 0 : -1;
    H5Dclose(d);
  }
  H5Sclose(sp);
  H5Pclose(dcpl);
  H5Pclose(lcpl);
  return rc;
}

int qn_grid_write_h5(const struct qn_grid *r, const char *tmp, const char *path,
                     struct qn_error *err) {
  int status = QN_OK;
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  hid_t f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (f < 0) return qn_error_set(err, QN_EIO, "%s: cannot create HDF5 file", path);
  hsize_t dims[QN_GRID_MAX_AXES];
  for (int k = 0; k < r->naxes; k++) dims[k] = (hsize_t)r->nbins[k];
  int rc = 0;
  for (int i = 0; i < r->nstats && rc == 0; i++) {
    rc = qn_grid_h5_dataset(f, r->stat_names[i], r->naxes, dims, r->as_int[i], r->values[i],
                            r->ncells);
  }
  hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
  H5Pset_obj_track_times(gcpl, 0);
  hid_t g = H5Gcreate2(f, "edges", H5P_DEFAULT, gcpl, H5P_DEFAULT);
  if (g < 0)
    rc = -1;
  else
    H5Gclose(g);
  H5Pclose(gcpl);
  for (int k = 0; k < r->naxes && rc == 0; k++) {
    char name[1024];
    snprintf(name, sizeof name, "edges/%s", r->names[k]);
    hsize_t n[1] = {(hsize_t)r->nbins[k] + 1};
    rc = qn_grid_h5_dataset(f, name, 1, n, 0, r->edges[k], r->nbins[k] + 1);
  }
  const char *ver = r->version;
  if (rc == 0) rc = qn_grid_h5_strings(f, "quern_version", &ver, 0);
  if (rc == 0) rc = qn_grid_h5_strings(f, "inputs", r->inputs, (size_t)r->ninputs);
  if (rc == 0) rc = qn_grid_h5_strings(f, "axes", r->names, (size_t)r->naxes);
  if (rc == 0) rc = qn_grid_h5_strings(f, "stats", r->stat_names, (size_t)r->nstats);
  if (rc == 0 && r->value) rc = qn_grid_h5_strings(f, "value", &r->value, 0);
  if (rc == 0 && r->weight) rc = qn_grid_h5_strings(f, "weight", &r->weight, 0);
  if (rc == 0) rc = qn_grid_h5_int(f, "rows", r->rows);
  if (rc == 0) rc = qn_grid_h5_int(f, "out_of_range", r->out_of_range);
  if (rc != 0) status = qn_error_set(err, QN_EIO, "%s: cannot write the HDF5 datasets", path);
  if (H5Fclose(f) < 0 && status == QN_OK)
    status = qn_error_set(err, QN_EIO, "%s: cannot finish the HDF5 file", path);
  return status;
}
