/* source.c — many files as one table.
 *
 * Inputs are paths or globs (sorted by name, in the order given);
 * `file.h5:/group` addresses part of an HDF5 file. Each file is opened by
 * the reader its first bytes select (HDF5 signature, "PAR1", else CSV).
 * Every file must expose the same column names with the same types, in any
 * order; the first file fixes the order the table reports.
 */
#include "qn_source.h"

#include <errno.h>
#include <glob.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int qn_reader_alloc_columns(struct qn_reader *r, int ncols, struct qn_error *err) {
  r->cols = calloc(ncols > 0 ? (size_t)ncols : 1, sizeof *r->cols);
  if (!r->cols) return qn_error_set(err, QN_ENOMEM, "out of memory reading %s", r->path);
  r->ncols = ncols;
  return QN_OK;
}

void qn_reader_free_columns(struct qn_reader *r) {
  if (!r->cols) return;
  for (int i = 0; i < r->ncols; i++) {
    free(r->cols[i].name);
    free(r->cols[i].type_name);
  }
  free(r->cols);
  r->cols = NULL;
  r->ncols = 0;
}

void qn_reader_close(struct qn_reader *r) {
  if (r) r->ops->close(r);
}

int qn_reader_read_cols(struct qn_reader *r, const int *cols, int ncols, int64_t row0,
                        int64_t n, struct qn_colbuf *out, struct qn_error *err) {
  if (r->ops->read_cols) return r->ops->read_cols(r, cols, ncols, row0, n, out, err);
  for (int i = 0; i < ncols; i++)
    QN_RETURN_IF_ERROR(r->ops->read(r, cols[i], row0, n, &out[i], err));
  return QN_OK;
}

int qn_reader_open(struct qn_context *ctx, const char *path, const char *sub,
                   struct qn_reader **out, struct qn_error *err) {
  struct stat st;
  if (stat(path, &st) != 0) {
    int e = errno;
    return qn_error_set(err, e == ENOENT ? QN_ENOTFOUND : QN_EIO, "%s: %s", path, strerror(e));
  }
  if (S_ISDIR(st.st_mode)) return qn_error_set(err, QN_EIO, "%s: is a directory", path);
  FILE *f = fopen(path, "rb");
  if (!f) {
    int e = errno;
    return qn_error_set(err, QN_EIO, "%s: %s", path, strerror(e));
  }
  unsigned char head[16] = {0};
  size_t got = fread(head, 1, sizeof head, f);
  fclose(f);
  const struct qn_format *fmt = NULL;
  for (int i = 0; qn_formats[i] && !fmt; i++)
    if (qn_formats[i]->probe && qn_formats[i]->probe(head, got)) fmt = qn_formats[i];
  for (int i = 0; qn_formats[i] && !fmt && !sub; i++)
    if (!qn_formats[i]->probe) fmt = qn_formats[i];
  if (sub && (!fmt || !fmt->takes_sub))
    return qn_error_set(err, QN_EINVAL, "%s: not an HDF5 file, so ':%s' cannot address a group",
                        path, sub);
  if (!fmt) return qn_error_set(err, QN_EFORMAT, "%s: not a file format quern reads", path);
  return fmt->open(ctx, path, sub, out, err);
}

/* ----- input expansion ----- */

struct qn_pathlist {
  char **paths;
  char **subs;
  int n, cap;
};

static int qn_pathlist_push(struct qn_pathlist *l, const char *path, const char *sub) {
  if (l->n == l->cap) {
    int cap = l->cap ? 2 * l->cap : 16;
    char **p = realloc(l->paths, (size_t)cap * sizeof *p);
    if (!p) return QN_ENOMEM;
    l->paths = p;
    char **s = realloc(l->subs, (size_t)cap * sizeof *s);
    if (!s) return QN_ENOMEM;
    l->subs = s;
    l->cap = cap;
  }
  l->paths[l->n] = qn_strdup(path);
  l->subs[l->n] = sub ? qn_strdup(sub) : NULL;
  if (!l->paths[l->n] || (sub && !l->subs[l->n])) return QN_ENOMEM;
  l->n++;
  return QN_OK;
}

static void qn_pathlist_free(struct qn_pathlist *l) {
  for (int i = 0; i < l->n; i++) {
    free(l->paths[i]);
    free(l->subs[i]);
  }
  free(l->paths);
  free(l->subs);
}

/* Splits "file.h5:/group" into path and sub when the part before ":/" names
 * an existing file and the whole string does not. */
static int qn_split_sub(const char *input, char **path, const char **sub) {
  *path = qn_strdup(input);
  *sub = NULL;
  if (!*path) return QN_ENOMEM;
  struct stat st;
  if (stat(input, &st) == 0) return QN_OK;
  char *colon = strstr(*path, ":/");
  if (colon) {
    *colon = '\0';
    *sub = input + (colon - *path) + 1;
  }
  return QN_OK;
}

static int qn_expand_input(const char *input, struct qn_pathlist *l, struct qn_error *err) {
  char *path = NULL;
  const char *sub = NULL;
  int status = QN_OK;
  if (qn_split_sub(input, &path, &sub) != QN_OK)
    return qn_error_set(err, QN_ENOMEM, "out of memory");
  if (strpbrk(path, "*?[")) {
    struct stat st;
    if (stat(path, &st) == 0) {
      status = qn_pathlist_push(l, path, sub);
    } else {
      glob_t g;
      int rc = glob(path, 0, NULL, &g); /* sorted by name */
      if (rc == GLOB_NOMATCH) {
        status = qn_error_set(err, QN_ENOTFOUND, "%s: no file matches this pattern", input);
      } else if (rc != 0) {
        status = qn_error_set(err, QN_EIO, "%s: cannot expand this pattern", input);
      } else {
        for (size_t i = 0; i < g.gl_pathc && status == QN_OK; i++)
          status = qn_pathlist_push(l, g.gl_pathv[i], sub);
      }
      if (rc == 0) globfree(&g);
    }
  } else {
    status = qn_pathlist_push(l, path, sub);
  }
  if (status == QN_ENOMEM) qn_error_set(err, QN_ENOMEM, "out of memory");
  free(path);
  return status;
}

/* ----- the table ----- */

/* CSV types are inferred per file: a column that is int64 in one file and
 * float64 in another is read as float64 everywhere (the CSV reader converts
 * on request), and timestamps of different units (a file whose values
 * have 3 fraction digits, another with 6) are read in the finest of them
 * (the CSV reader parses text into its column's time_unit, which
 * qn_source_time_units raises). Other formats store their types, which
 * must agree, timestamp units included. */
static int qn_source_unifiable(const struct qn_reader *a, const struct qn_reader_column *ca,
                               const struct qn_reader *b, const struct qn_reader_column *cb) {
  int num_a = ca->type == QN_INT64 || ca->type == QN_FLOAT64;
  int num_b = cb->type == QN_INT64 || cb->type == QN_FLOAT64;
  int times = ca->type == QN_TIMESTAMP && cb->type == QN_TIMESTAMP;
  return (num_a && num_b) || times
             ? !strcmp(a->ops->format, "csv") && !strcmp(b->ops->format, "csv")
             : 0;
}

static int qn_source_same_type(const struct qn_reader_column *a,
                               const struct qn_reader_column *b) {
  return a->type == b->type && (a->type != QN_TIMESTAMP || a->time_unit == b->time_unit);
}

static int qn_source_check_schema(struct qn_source *src, int f, struct qn_error *err) {
  const struct qn_reader *first = src->files[0], *r = src->files[f];
  for (int i = 0; i < first->ncols; i++) {
    int found = -1;
    for (int j = 0; j < r->ncols && found < 0; j++)
      if (strcmp(first->cols[i].name, r->cols[j].name) == 0) found = j;
    if (found < 0)
      return qn_error_set(err, QN_ESCHEMA, "%s: has no column '%s', which %s has", r->path,
                          first->cols[i].name, first->path);
    if (!qn_source_same_type(&first->cols[i], &r->cols[found]) &&
        !qn_source_unifiable(first, &first->cols[i], r, &r->cols[found]))
      return qn_error_set(err, QN_ESCHEMA, "%s: column '%s' is %s but %s in %s", r->path,
                          first->cols[i].name, r->cols[found].type_name,
                          first->cols[i].type_name, first->path);
  }
  for (int j = 0; j < r->ncols; j++) {
    int found = 0;
    for (int i = 0; i < first->ncols && !found; i++)
      found = strcmp(first->cols[i].name, r->cols[j].name) == 0;
    if (!found)
      return qn_error_set(err, QN_ESCHEMA, "%s: has a column '%s' that %s lacks", r->path,
                          r->cols[j].name, first->path);
  }
  return QN_OK;
}

/* Index in file f of table column c (files may order columns differently). */
int qn_source_file_column(const struct qn_source *src, int f, int c) {
  const struct qn_reader *r = src->files[f];
  if (c < r->ncols && strcmp(r->cols[c].name, src->cols[c].name) == 0) return c;
  for (int j = 0; j < r->ncols; j++)
    if (strcmp(r->cols[j].name, src->cols[c].name) == 0) return j;
  return -1;
}

/* Timestamp columns of CSV files whose units differ (checked unifiable):
 * every file's reader column is raised to the finest unit, so that it
 * parses its text in that unit. */
static int qn_source_time_units(struct qn_source *src, int c, struct qn_error *err) {
  int64_t unit = 0;
  for (int f = 0; f < src->nfiles; f++) {
    const struct qn_reader_column *rc = &src->files[f]->cols[qn_source_file_column(src, f, c)];
    if (rc->type != QN_TIMESTAMP) return QN_OK;
    unit = QN_MAX(unit, rc->time_unit);
  }
  for (int f = 0; f < src->nfiles; f++) {
    struct qn_reader *r = src->files[f];
    struct qn_reader_column *rc = &r->cols[qn_source_file_column(src, f, c)];
    if (rc->time_unit == unit) continue;
    if (strcmp(r->ops->format, "csv") != 0)
      return qn_error_set(err, QN_ESCHEMA,
                          "%s: column '%s' is %s, but timestamps of a finer unit in other "
                          "files (only CSV timestamps are unified)",
                          r->path, rc->name, rc->type_name);
    char *name = qn_strdup(unit == 1000000000 ? "timestamp[ns]" : "timestamp[us]");
    if (!name) return qn_error_set(err, QN_ENOMEM, "out of memory opening inputs");
    free(rc->type_name);
    rc->type_name = name;
    rc->time_unit = unit;
  }
  return QN_OK;
}

/* Names and types of the table from its files (the first fixes the order). */
static int qn_source_columns(struct qn_source *src, struct qn_error *err) {
  const struct qn_reader *first = src->files[0];
  src->ncols = first->ncols;
  src->cols = calloc(first->ncols > 0 ? (size_t)first->ncols : 1, sizeof *src->cols);
  if (!src->cols) return qn_error_set(err, QN_ENOMEM, "out of memory opening inputs");
  for (int c = 0; c < src->ncols; c++) {
    struct qn_column_info *ci = &src->cols[c];
    ci->name = first->cols[c].name;
    QN_RETURN_IF_ERROR(qn_source_time_units(src, c, err));
    ci->type = first->cols[c].type;
    ci->type_name = first->cols[c].type_name;
    ci->nullable = first->cols[c].nullable;
    for (int f = 0; f < src->nfiles; f++) {
      const struct qn_reader_column *rc =
          &src->files[f]->cols[qn_source_file_column(src, f, c)];
      ci->rows += rc->rows;
      ci->nullable |= rc->nullable;
      if (rc->type != ci->type) { /* unified (CSV): int64 and float64 read as float64 */
        ci->type = QN_FLOAT64;
        ci->type_name = "float64";
      }
    }
  }
  return QN_OK;
}

int qn_source_from_readers(struct qn_context *ctx, struct qn_reader **readers, int n,
                           struct qn_source **out, struct qn_error *err) {
  int status = QN_OK;
  struct qn_source *src = calloc(1, sizeof *src);
  if (!src || !(src->files = calloc((size_t)QN_MAX(n, 1), sizeof *src->files))) {
    for (int i = 0; i < n; i++) qn_reader_close(readers[i]);
    free(src);
    return qn_error_set(err, QN_ENOMEM, "out of memory opening inputs");
  }
  src->ctx = ctx;
  for (int i = 0; i < n; i++) src->files[src->nfiles++] = readers[i];
  if (n <= 0) {
    status = qn_error_set(err, QN_EINVAL, "no input given");
    goto done;
  }
  for (int i = 1; i < n; i++) QN_CHECK(qn_source_check_schema(src, i, err));
  QN_CHECK(qn_source_columns(src, err));
  *out = src;
  src = NULL;
done:
  qn_source_close(src);
  return status;
}

int qn_source_open(struct qn_context *ctx, const char *const *inputs, int ninputs,
                   struct qn_source **out, struct qn_error *err) {
  int status = QN_OK;
  struct qn_pathlist list = {0};
  struct qn_source *src = NULL;
  if (ninputs <= 0) return qn_error_set(err, QN_EINVAL, "no input file given");
  for (int i = 0; i < ninputs; i++) QN_CHECK(qn_expand_input(inputs[i], &list, err));
  src = calloc(1, sizeof *src);
  if (!src || !(src->files = calloc((size_t)list.n, sizeof *src->files))) {
    status = qn_error_set(err, QN_ENOMEM, "out of memory opening inputs");
    goto done;
  }
  src->ctx = ctx;
  for (int i = 0; i < list.n; i++) {
    QN_CHECK(qn_reader_open(ctx, list.paths[i], list.subs[i], &src->files[i], err));
    src->nfiles++;
    if (i > 0) QN_CHECK(qn_source_check_schema(src, i, err));
  }
  QN_CHECK(qn_source_columns(src, err));
  *out = src;
  src = NULL;
done:
  qn_source_close(src);
  qn_pathlist_free(&list);
  return status;
}

void qn_source_close(struct qn_source *src) {
  if (!src) return;
  for (int i = 0; i < src->nfiles; i++) qn_reader_close(src->files[i]);
  free(src->files);
  free(src->cols);
  free(src);
}

int qn_source_ncolumns(const struct qn_source *src) {
  return src->ncols;
}
const struct qn_column_info *qn_source_column(const struct qn_source *src, int i) {
  return (i >= 0 && i < src->ncols) ? &src->cols[i] : NULL;
}
int qn_source_find_column(const struct qn_source *src, const char *name) {
  for (int i = 0; i < src->ncols; i++)
    if (strcmp(src->cols[i].name, name) == 0) return i;
  return -1;
}
int qn_source_nfiles(const struct qn_source *src) {
  return src->nfiles;
}
const char *qn_source_file_path(const struct qn_source *src, int file) {
  return (file >= 0 && file < src->nfiles) ? src->files[file]->path : NULL;
}

int64_t qn_source_file_rows(const struct qn_source *src, int f, const int *cols, int ncols) {
  if (ncols == 0) return 0;
  return src->files[f]->cols[qn_source_file_column(src, f, cols[0])].rows;
}

int qn_source_rows(const struct qn_source *src, const int *cols, int ncols, int64_t *rows,
                   struct qn_error *err) {
  int64_t total = 0;
  for (int f = 0; f < src->nfiles; f++) {
    const struct qn_reader *r = src->files[f];
    int64_t n = -1;
    int c0 = -1;
    for (int k = 0; k < ncols; k++) {
      int c = cols[k];
      if (c < 0 || c >= src->ncols)
        return qn_error_set(err, QN_EINVAL, "bad column index %d", c);
      int64_t m = r->cols[qn_source_file_column(src, f, c)].rows;
      if (n < 0) {
        n = m;
        c0 = c;
      } else if (m != n) {
        return qn_error_set(err, QN_ESCHEMA,
                            "%s: columns '%s' (%lld rows) and '%s' (%lld rows) differ in "
                            "length and cannot be used together (select columns of one length)",
                            r->path, src->cols[c0].name, (long long)n, src->cols[c].name,
                            (long long)m);
      }
    }
    total += n > 0 ? n : 0;
  }
  *rows = total;
  return QN_OK;
}

void qn_source_column_list(const struct qn_source *src, char *buf, size_t cap) {
  size_t used = 0;
  buf[0] = 0;
  for (int i = 0; i < src->ncols; i++) {
    size_t need = strlen(src->cols[i].name) + 2;
    if (used + need + 4 >= cap) {
      snprintf(buf + used, cap - used, "...");
      return;
    }
    used += (size_t)snprintf(buf + used, cap - used, "%s%s", i ? ", " : "", src->cols[i].name);
  }
}

int qn_source_minmax(struct qn_source *src, int c, double *lo, double *hi, int *known,
                     struct qn_error *err) {
  double mn = INFINITY, mx = -INFINITY;
  int any = 0;
  *known = 0;
  for (int f = 0; f < src->nfiles; f++) {
    struct qn_reader *rd = src->files[f];
    const int fc = qn_source_file_column(src, f, c);
    double a, b;
    int k = 0;
    if (rd->cols[fc].rows == 0) continue;
    if (!rd->ops->minmax) return QN_OK;
    QN_RETURN_IF_ERROR(rd->ops->minmax(rd, fc, &a, &b, &k, err));
    if (!k) return QN_OK;
    mn = QN_MIN(mn, a);
    mx = QN_MAX(mx, b);
    any = 1;
  }
  if (!any) return QN_OK;
  *lo = mn;
  *hi = mx;
  *known = 1;
  return QN_OK;
}
