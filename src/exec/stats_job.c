/* stats_job.c — `quern stats`: source → scan → stats kernel → JSON.
 *
 * Each worker summarises one morsel of every selected column into a slot of
 * a ring (slot = morsel mod window); the scan commits morsels in index order
 * and the commit folds the slot into the whole-table accumulator and into
 * the current file's. The fold order is therefore the morsel order, whatever
 * the threads or the memory limit: the JSON bytes never change.
 *
 * Across MPI ranks (qn_comm.h): rank r scans the contiguous morsels
 * [floor(rM/N), floor((r+1)M/N)) of the M in the plan; its commit keeps
 * each morsel's summaries (8 + 144 B per column) in morsel order instead
 * of folding them, and rank 0 receives them rank by rank and folds them
 * through the same commit after its own share: the fold order is the
 * morsel order of one process, so are the bytes.
 *
 * Memory: window × columns accumulators (a few KiB) plus the scan's
 * buffers; with ranks, a rank other than 0 also holds its share's
 * summaries and rank 0 one received piece (at most 8 MiB).
 */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/qn_scan.h"
#include "exec/qn_comm.h"
#include "exec/qn_exec.h"
#include "io/qn_json.h"
#include "kernels/qn_stats.h"

#define QN_STATS_WINDOW 256

struct qn_stats_result {
  int ncols;
  char **names;
  enum qn_type *types;
  char **type_names;
  int64_t rows;
  int nfiles;
  char **paths;
  int64_t *file_rows;
  int per_file;
  struct qn_column_stats *total; /* [ncols] */
  struct qn_column_stats *per;   /* [nfiles * ncols] when per_file */
};

struct qn_stats_job {
  struct qn_source *src;
  const int *cols;
  int ncols;
  int *is_integer;            /* [ncols] */
  struct qn_stats_acc *slots; /* [window * ncols] */
  struct qn_stats_acc *total; /* [ncols] */
  struct qn_stats_acc *file;  /* [ncols], the file being committed */
  int cur_file;
  struct qn_stats_result *res;
  /* a rank other than 0: its share's summaries, one record per morsel
   * (the morsel index, then ncols accumulators), kept for rank 0 */
  char *keep;
  int64_t keep_first;
  size_t rec;
};

static void qn_stats_flush_file(struct qn_stats_job *j) {
  if (j->cur_file < 0 || !j->res->per_file) return;
  for (int c = 0; c < j->ncols; c++)
    qn_stats_finish(&j->file[c], j->src->cols[j->cols[c]].type,
                    &j->res->per[j->cur_file * j->ncols + c]);
}

static int qn_stats_process(void *user, int worker, const struct qn_batch *b,
                            struct qn_error *err) {
  struct qn_stats_job *j = user;
  struct qn_stats_acc *slot = &j->slots[(b->morsel % QN_STATS_WINDOW) * j->ncols];
  for (int c = 0; c < j->ncols; c++) qn_stats_morsel(&b->cols[c], &slot[c]);
  return QN_OK;
}

/* Folds one morsel's summaries (slot[ncols]), in morsel order. */
static void qn_stats_fold(struct qn_stats_job *j, int file, const struct qn_stats_acc *slot) {
  if (file != j->cur_file) {
    qn_stats_flush_file(j);
    j->cur_file = file;
    for (int c = 0; c < j->ncols; c++) qn_stats_acc_init(&j->file[c]);
  }
  for (int c = 0; c < j->ncols; c++) {
    qn_stats_merge(&j->total[c], &slot[c], j->is_integer[c]);
    if (j->res->per_file) qn_stats_merge(&j->file[c], &slot[c], j->is_integer[c]);
  }
}

static int qn_stats_commit(void *user, int64_t morsel, int file, struct qn_error *err) {
  struct qn_stats_job *j = user;
  const struct qn_stats_acc *slot = &j->slots[(morsel % QN_STATS_WINDOW) * j->ncols];
  if (j->keep) {
    char *r = j->keep + (size_t)(morsel - j->keep_first) * j->rec;
    memcpy(r, &morsel, sizeof morsel);
    memcpy(r + sizeof morsel, slot, j->rec - sizeof morsel);
  } else {
    qn_stats_fold(j, file, slot);
  }
  return QN_OK;
}

/* Rank 0: another rank's records, folded in their (morsel) order. */
static int qn_stats_take(void *user, int rank, const void *buf, size_t len,
                         struct qn_error *err) {
  struct qn_stats_job *j = user;
  struct qn_stats_acc *acc = j->slots; /* the scan is over: slot 0 is free */
  for (size_t off = 0; off + j->rec <= len; off += j->rec) {
    int64_t m, row0, rows;
    memcpy(&m, (const char *)buf + off, sizeof m);
    memcpy(acc, (const char *)buf + off + sizeof m, j->rec - sizeof m);
    int file = qn_scan_morsel_rows(j->src, j->cols, j->ncols, m, &row0, &rows);
    if (file < 0)
      return qn_error_set(err, QN_EINTERNAL, "rank %d sent morsel %lld, not in the plan", rank,
                          (long long)m);
    qn_stats_fold(j, file, acc);
  }
  return QN_OK;
}

void qn_stats_result_free(struct qn_stats_result *r) {
  if (!r) return;
  for (int c = 0; c < r->ncols; c++) {
    free(r->names ? r->names[c] : NULL);
    free(r->type_names ? r->type_names[c] : NULL);
  }
  for (int f = 0; f < r->nfiles; f++) free(r->paths ? r->paths[f] : NULL);
  free(r->names);
  free(r->types);
  free(r->type_names);
  free(r->paths);
  free(r->file_rows);
  free(r->total);
  free(r->per);
  free(r);
}

/* Resolves -c names (or all numeric columns) to column indices. */
static int qn_stats_columns(struct qn_source *src, const struct qn_stats_options *opt,
                            int **cols, int *ncols, struct qn_error *err) {
  int n = opt && opt->columns ? opt->ncolumns : src->ncols;
  int *idx = calloc((size_t)n + 1, sizeof *idx);
  if (!idx) return qn_error_set(err, QN_ENOMEM, "out of memory");
  int k = 0;
  for (int i = 0; i < n; i++) {
    int c = i;
    if (opt && opt->columns) {
      c = qn_source_find_column(src, opt->columns[i]);
      if (c < 0) {
        free(idx);
        char list[256];
        qn_source_column_list(src, list, sizeof list);
        return qn_error_set(err, QN_ENOTFOUND, "%s: no column '%s' (columns: %s)",
                            src->files[0]->path, opt->columns[i], list);
      }
      if (src->cols[c].type == QN_STRING) {
        free(idx);
        return qn_error_set(err, QN_EINVAL, "%s: column '%s' is a string column, not numeric",
                            src->files[0]->path, opt->columns[i]);
      }
    } else if (src->cols[c].type == QN_STRING) {
      continue;
    }
    for (int j = 0; j < k; j++)
      if (idx[j] == c) {
        free(idx);
        return qn_error_set(err, QN_EINVAL, "column '%s' is named twice in the column list",
                            src->cols[c].name);
      }
    idx[k++] = c;
  }
  *cols = idx;
  *ncols = k;
  return QN_OK;
}

static int qn_stats_result_new(struct qn_source *src, const int *cols, int ncols, int per_file,
                               int64_t rows, struct qn_stats_result **out,
                               struct qn_error *err) {
  struct qn_stats_result *r = calloc(1, sizeof *r);
  if (!r) return qn_error_set(err, QN_ENOMEM, "out of memory");
  r->ncols = ncols;
  r->nfiles = src->nfiles;
  r->rows = rows;
  r->per_file = per_file;
  r->names = calloc((size_t)ncols + 1, sizeof *r->names);
  r->type_names = calloc((size_t)ncols + 1, sizeof *r->type_names);
  r->types = calloc((size_t)ncols + 1, sizeof *r->types);
  r->total = calloc((size_t)ncols + 1, sizeof *r->total);
  r->paths = calloc((size_t)src->nfiles, sizeof *r->paths);
  r->file_rows = calloc((size_t)src->nfiles, sizeof *r->file_rows);
  r->per = per_file ? calloc((size_t)src->nfiles * (size_t)ncols + 1, sizeof *r->per) : NULL;
  int ok = r->names && r->type_names && r->types && r->total && r->paths && r->file_rows &&
           (!per_file || r->per);
  for (int c = 0; ok && c < ncols; c++) {
    r->names[c] = qn_strdup(src->cols[cols[c]].name);
    r->type_names[c] = qn_strdup(src->cols[cols[c]].type_name);
    r->types[c] = src->cols[cols[c]].type;
    ok = r->names[c] && r->type_names[c];
  }
  for (int f = 0; ok && f < src->nfiles; f++) {
    r->paths[f] = qn_strdup(src->files[f]->path);
    r->file_rows[f] = qn_source_file_rows(src, f, cols, ncols);
    ok = r->paths[f] != NULL;
  }
  if (!ok) {
    qn_stats_result_free(r);
    return qn_error_set(err, QN_ENOMEM, "out of memory");
  }
  *out = r;
  return QN_OK;
}

/* What every rank derives alone: the columns, the rows, the result. */
static int qn_stats_plan(struct qn_context *ctx, struct qn_source *src,
                         const struct qn_stats_options *opt, int **cols, int *ncols,
                         int64_t *rows, struct qn_stats_result **res, struct qn_error *err) {
  (void)ctx;
  QN_RETURN_IF_ERROR(qn_stats_columns(src, opt, cols, ncols, err));
  if (*ncols == 0)
    return qn_error_set(err, QN_EINVAL, "%s: no numeric column to summarise",
                        src->files[0]->path);
  QN_RETURN_IF_ERROR(qn_source_rows(src, *cols, *ncols, rows, err));
  return qn_stats_result_new(src, *cols, *ncols, opt && opt->per_file, *rows, res, err);
}

void qn_stats_options_init(struct qn_stats_options *opt) {
  memset(opt, 0, sizeof *opt);
}

int qn_stats_run(struct qn_context *ctx, struct qn_source *src,
                 const struct qn_stats_options *opt, struct qn_stats_result **out,
                 struct qn_error *err) {
  int status = QN_OK;
  int *cols = NULL, ncols = 0;
  int64_t rows = 0;
  struct qn_stats_job j;
  memset(&j, 0, sizeof j);
  struct qn_stats_result *res = NULL;
  struct qn_comm *comm = qn_comm_of(ctx);
  /* every rank plans alone; they agree before the first collective */
  status = qn_stats_plan(ctx, src, opt, &cols, &ncols, &rows, &res, err);
  QN_CHECK(qn_comm_agree(comm, status, err));
  QN_CHECK(qn_comm_check_plan(comm, qn_comm_plan_digest(src, cols, ncols, NULL, 0),
                              "input files or columns", err));
  j.src = src;
  j.cols = cols;
  j.ncols = ncols;
  j.res = res;
  j.cur_file = -1;
  size_t acc = sizeof(struct qn_stats_acc) * (size_t)ncols;
  status = qn_mem_require(
      ctx, (int64_t)acc * (QN_STATS_WINDOW + 2) + 256 + qn_scan_min_bytes(src, cols, ncols),
      "summarising these columns", err);
  QN_CHECK(qn_comm_agree(comm, status, err));
  j.slots = qn_mem_alloc(ctx, acc * QN_STATS_WINDOW, "statistics accumulators", err);
  j.total = qn_mem_alloc(ctx, acc, "statistics accumulators", err);
  j.file = qn_mem_alloc(ctx, acc, "statistics accumulators", err);
  j.is_integer = calloc((size_t)ncols, sizeof *j.is_integer);
  if (!j.is_integer) status = qn_error_set(err, QN_ENOMEM, "out of memory");
  if (!j.slots || !j.total || !j.file || !j.is_integer) status = err ? err->code : QN_ELIMIT;
  QN_CHECK(qn_comm_agree(comm, status, err));
  for (int c = 0; c < ncols; c++) {
    qn_stats_acc_init(&j.total[c]);
    qn_stats_acc_init(&j.file[c]);
    j.is_integer[c] = qn_type_is_integer(src->cols[cols[c]].type);
  }
  struct qn_scan_kernel k = {.user = &j,
                             .nlanes = 0,
                             .window = QN_STATS_WINDOW,
                             .process = qn_stats_process,
                             .commit = qn_stats_commit};
  int64_t m0 = 0, m1 = 0;
  qn_comm_share(comm, qn_scan_morsels(src, cols, ncols), &m0, &m1);
  j.rec = sizeof(int64_t) + acc;
  if (comm->rank != 0 && m1 > m0)
    j.keep =
        qn_mem_alloc(ctx, (size_t)(m1 - m0) * j.rec, "statistics of this rank's share", err);
  if (comm->rank != 0 && m1 > m0 && !j.keep) status = err ? err->code : QN_ELIMIT;
  j.keep_first = m0;
  /* a share of no morsel scans nothing (no range would mean every one) */
  struct qn_scan_range share = {m0, m1};
  struct qn_scan_options so = {.cols = cols, .ncols = ncols, .label = "stats"};
  if (comm->size > 1) {
    so.ranges = &share;
    so.nranges = 1;
  }
  if (status == QN_OK && m1 > m0) status = qn_scan_run(ctx, src, &so, &k, err);
  QN_CHECK(qn_comm_agree_scan(comm, status, err));
  if (comm->size > 1) {
    status = qn_comm_gather(comm, j.keep, j.keep ? (size_t)(m1 - m0) * j.rec : 0, j.rec, NULL,
                            0, qn_stats_take, &j, err);
    QN_CHECK(qn_comm_agree(comm, status, err));
  }
  qn_stats_flush_file(&j);
  for (int c = 0; c < ncols; c++) qn_stats_finish(&j.total[c], res->types[c], &res->total[c]);
  if (res->per_file) /* files with no rows never reached a commit */
    for (int f = 0; f < res->nfiles; f++)
      if (res->file_rows[f] == 0)
        for (int c = 0; c < ncols; c++) {
          struct qn_stats_acc empty;
          qn_stats_acc_init(&empty);
          qn_stats_finish(&empty, res->types[c], &res->per[f * ncols + c]);
        }
  *out = res;
  res = NULL;
done:
  qn_mem_free(ctx, j.slots);
  qn_mem_free(ctx, j.total);
  qn_mem_free(ctx, j.file);
  qn_mem_free(ctx, j.keep);
  free(j.is_integer);
  qn_stats_result_free(res);
  free(cols);
  return status;
}

int qn_stats_result_ncolumns(const struct qn_stats_result *r) {
  return r->ncols;
}
const char *qn_stats_result_column_name(const struct qn_stats_result *r, int i) {
  return (i >= 0 && i < r->ncols) ? r->names[i] : NULL;
}
const struct qn_column_stats *qn_stats_result_get(const struct qn_stats_result *r, int file,
                                                  int i) {
  if (i < 0 || i >= r->ncols) return NULL;
  if (file == -1) return &r->total[i];
  if (!r->per_file || file < 0 || file >= r->nfiles) return NULL;
  return &r->per[file * r->ncols + i];
}

/* ----- JSON ----- */

/* Every column has every key, whatever the format: `null` is 0 for a
 * column that cannot hold nulls (HDF5, a REQUIRED Parquet column). */
static json_t *qn_stats_column_json(const struct qn_column_stats *s, const char *type_name) {
  json_t *o = json_object();
  json_object_set_new(o, "type", json_string(type_name));
  json_object_set_new(o, "count", json_integer(s->count));
  json_object_set_new(o, "nan", json_integer(s->nan));
  json_object_set_new(o, "null", json_integer(s->null));
  if (s->count == 0) {
    json_object_set_new(o, "min", json_null());
    json_object_set_new(o, "max", json_null());
    json_object_set_new(o, "sum", s->is_integer ? json_integer(0) : json_real(0.0));
  } else if (s->is_integer) {
    json_object_set_new(o, "min",
                        s->is_unsigned ? qn_json_int128(s->umin) : json_integer(s->imin));
    json_object_set_new(o, "max",
                        s->is_unsigned ? qn_json_int128(s->umax) : json_integer(s->imax));
    /* shift as unsigned: left-shifting a negative value is undefined */
    __int128 sum = (__int128)(((unsigned __int128)(uint64_t)s->sum_hi << 64) | s->sum_lo);
    json_object_set_new(o, "sum", qn_json_int128(sum));
  } else {
    json_object_set_new(o, "min", qn_json_double(s->min));
    json_object_set_new(o, "max", qn_json_double(s->max));
    json_object_set_new(o, "sum", qn_json_double(s->sum));
  }
  json_object_set_new(o, "mean", qn_json_double(s->mean));
  json_object_set_new(o, "std", qn_json_double(s->std));
  json_object_set_new(o, "var", qn_json_double(s->var));
  return o;
}

static json_t *qn_stats_columns_json(const struct qn_stats_result *r,
                                     const struct qn_column_stats *s) {
  json_t *cols = json_object();
  for (int c = 0; c < r->ncols; c++)
    json_object_set_new(cols, r->names[c], qn_stats_column_json(&s[c], r->type_names[c]));
  return cols;
}

int qn_stats_write_json(const struct qn_stats_result *r, const char *path,
                        struct qn_error *err) {
  json_t *root = json_object();
  json_object_set_new(root, "quern_version", json_string(qn_version()));
  json_t *inputs = json_array();
  for (int f = 0; f < r->nfiles; f++) json_array_append_new(inputs, json_string(r->paths[f]));
  json_object_set_new(root, "inputs", inputs);
  json_object_set_new(root, "rows", json_integer(r->rows));
  json_object_set_new(root, "columns", qn_stats_columns_json(r, r->total));
  if (r->per_file) {
    json_t *files = json_array();
    for (int f = 0; f < r->nfiles; f++) {
      json_t *o = json_object();
      json_object_set_new(o, "path", json_string(r->paths[f]));
      json_object_set_new(o, "rows", json_integer(r->file_rows[f]));
      json_object_set_new(o, "columns", qn_stats_columns_json(r, &r->per[f * r->ncols]));
      json_array_append_new(files, o);
    }
    json_object_set_new(root, "files", files);
  }
  return qn_json_dump_file(root, path, err);
}
