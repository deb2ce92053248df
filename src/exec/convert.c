/* convert.c — `quern convert` and `quern gen`: a table (files, or a
 * generator) scanned and written by the output layer (qn_writer.h).
 *
 * Design: the scan hands each morsel to a worker, which encodes it for the
 * output format (Parquet pages and their compression, CSV text; a copy of
 * the rows for HDF5) into a slot of a window; the scan's ordered commit
 * passes the slots in morsel order to the appender, a thread of its own
 * that appends them to the writer. The writer lays out its file from the
 * rows and the morsels they came in alone, so the output is the same for
 * any thread count and memory limit.
 *
 * Why a thread: appending is where the bytes go to the file (write(2)
 * copying them into the page cache: half the CPU time of HDF5 -> Parquet),
 * and the scan runs commits under its own lock, so appending in the commit
 * stalled every worker that finished a morsel meanwhile. The commit now
 * only queues the part (waiting when the queue is full); the appender
 * writes while the workers encode. When the memory limit leaves no room
 * for a queue, the commit appends itself, as before.
 *
 * Types survive: every format keeps integers, floats, timestamps with their
 * unit, dates, booleans, strings and nulls (HDF5 through a validity
 * dataset, see hdf5_writer.c).
 *
 * Memory: the scan's buffers, a window of threads + 2 encoded morsels plus
 * up to QN_COPY_QUEUE queued ones, and the writer's own (a Parquet row
 * group), all from the budget.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "engine/qn_scan.h"
#include "exec/qn_exec.h"
#include "io/qn_gen.h"
#include "io/qn_writer.h"

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

/* Encoded morsels committed and not yet appended, at most. */
#define QN_COPY_QUEUE 2

struct qn_copy_job {
  struct qn_writer *w;
  int window;
  void **slots;       /* encoded morsels waiting for their commit */
  int64_t *file_row0; /* first output row of each file */
  /* The appender's queue, in commit order; lock guards it and the flags.
   * `stop`: no more parts will come; `discard`: the scan failed, free the
   * parts instead of appending them; `failed`: an append failed (err). */
  pthread_mutex_t lock;
  pthread_cond_t cond;
  void *queue[QN_COPY_QUEUE];
  int cap, head, len; /* cap 0: no appender, commits append */
  int stop, discard, failed;
  struct qn_error err;
};

static int qn_copy_process(void *user, int worker, const struct qn_batch *b,
                           struct qn_error *err) {
  struct qn_copy_job *j = user;
  int64_t row_base = j->file_row0[b->file] + b->file_row0;
  return qn_writer_encode(j->w, worker, b->cols, b->nrows, row_base,
                          &j->slots[b->morsel % j->window], err);
}

/* Queues the morsel's part for the appender, in commit order. */
static int qn_copy_commit(void *user, int64_t morsel, int file, struct qn_error *err) {
  struct qn_copy_job *j = user;
  void *part = j->slots[morsel % j->window];
  j->slots[morsel % j->window] = NULL;
  (void)file;
  if (j->cap == 0) return qn_writer_append(j->w, part, err);
  pthread_mutex_lock(&j->lock);
  while (j->len == j->cap && !j->failed) pthread_cond_wait(&j->cond, &j->lock);
  int status = QN_OK;
  if (j->failed) {
    status = j->err.code;
    if (err) *err = j->err;
  } else {
    j->queue[(j->head + j->len++) % QN_COPY_QUEUE] = part;
    part = NULL;
    pthread_cond_broadcast(&j->cond);
  }
  pthread_mutex_unlock(&j->lock);
  if (part) qn_writer_part_free(j->w, part);
  return status;
}

/* The appender: appends queued parts in order until told to stop; after
 * a failure (its own or the scan's) it frees what still comes. */
static void *qn_copy_appender(void *arg) {
  struct qn_copy_job *j = arg;
  pthread_mutex_lock(&j->lock);
  for (;;) {
    while (j->len == 0 && !j->stop) pthread_cond_wait(&j->cond, &j->lock);
    if (j->len == 0) break;
    void *part = j->queue[j->head];
    j->head = (j->head + 1) % QN_COPY_QUEUE;
    j->len--;
    int skip = j->failed || j->discard;
    pthread_mutex_unlock(&j->lock);
    struct qn_error e;
    qn_error_init(&e);
    int st = QN_OK;
    if (skip)
      qn_writer_part_free(j->w, part);
    else
      st = qn_writer_append(j->w, part, &e); /* takes the part, also on failure */
    pthread_mutex_lock(&j->lock);
    if (st != QN_OK && !j->failed) {
      j->failed = 1;
      j->err = e;
      if (j->err.code == QN_OK) j->err.code = st;
    }
    pthread_cond_broadcast(&j->cond);
  }
  pthread_mutex_unlock(&j->lock);
  return NULL;
}

/* Runs the scan with the appender beside it; returns the first error of
 * either. */
static int qn_copy_scan(struct qn_context *ctx, struct qn_source *src,
                        const struct qn_scan_options *so, const struct qn_scan_kernel *k,
                        struct qn_copy_job *j, struct qn_error *err) {
  if (j->cap == 0) return qn_scan_run(ctx, src, so, k, err);
  pthread_t appender;
  if (pthread_create(&appender, NULL, qn_copy_appender, j) != 0)
    return qn_error_set(err, QN_ENOMEM, "cannot start the writer thread");
  int status = qn_scan_run(ctx, src, so, k, err);
  pthread_mutex_lock(&j->lock);
  j->stop = 1;
  j->discard = status != QN_OK;
  pthread_cond_broadcast(&j->cond);
  pthread_mutex_unlock(&j->lock);
  pthread_join(appender, NULL);
  if (status == QN_OK && j->failed) {
    status = j->err.code;
    if (err) *err = j->err;
  }
  return status;
}

int qn_exec_copy(struct qn_context *ctx, struct qn_source *src, const int *cols, int ncols,
                 const char *output, const char *codec, const char *label,
                 struct qn_checksum *sum, struct qn_error *err) {
  int status = QN_OK;
  int64_t rows = 0;
  struct qn_copy_job j = {0};
  pthread_mutex_init(&j.lock, NULL);
  pthread_cond_init(&j.cond, NULL);
  qn_error_init(&j.err);
  struct qn_wcolumn *wc = calloc((size_t)ncols + 1, sizeof *wc);
  j.file_row0 = calloc((size_t)src->nfiles + 1, sizeof *j.file_row0);
  j.window = qn_context_threads(ctx) + 2;
  j.slots = calloc((size_t)j.window, sizeof *j.slots);
  if (!wc || !j.file_row0 || !j.slots) {
    status = qn_error_set(err, QN_ENOMEM, "out of memory");
    goto done;
  }
  QN_CHECK(qn_source_rows(src, cols, ncols, &rows, err));
  for (int f = 0; f < src->nfiles; f++)
    j.file_row0[f + 1] = j.file_row0[f] + qn_source_file_rows(src, f, cols, ncols);
  for (int c = 0; c < ncols; c++) {
    const struct qn_column_info *ci = &src->cols[cols[c]];
    const struct qn_reader_column *rc =
        &src->files[0]->cols[qn_source_file_column(src, 0, cols[c])];
    wc[c] = (struct qn_wcolumn){
        ci->name, ci->type, ci->nullable,
        ci->type == QN_TIMESTAMP ? (rc->time_unit ? rc->time_unit : 1000000) : 0};
  }
  struct qn_writer_options wo;
  qn_writer_options_init(&wo);
  wo.codec = codec;
  wo.rows = rows;
  QN_CHECK(qn_writer_open(ctx, output, wc, ncols, &wo, &j.w, err));
  /* Encoded morsels in flight: as many as fit beside the scan's least and
   * the writer's row group (threads + 2 at most). The window changes how
   * much is in flight, never the bytes written. */
  int64_t part = 0, widest = 0, writer = QN_WRITER_WORK_BYTES;
  for (int c = 0; c < ncols; c++) {
    int64_t w = wc[c].type == QN_STRING ? 16 : (int64_t)qn_type_size(wc[c].type);
    part += (w + (wc[c].nullable ? 1 : 0)) * QN_MORSEL_ROWS;
    widest = QN_MAX(widest, (w + 1) * QN_MORSEL_ROWS);
  }
  /* each worker's page scratch: values and the compressed page */
  int64_t scratch = 2 * widest;
  int64_t room = qn_mem_available(ctx) - qn_scan_min_bytes(src, cols, ncols) - writer - scratch;
  int64_t fit = room / QN_MAX(part, 1) / 2;
  j.window = (int)QN_MAX(2, QN_MIN((int64_t)j.window, fit));
  j.cap = (int)QN_MAX(0, QN_MIN((int64_t)QN_COPY_QUEUE, fit - j.window));
  struct qn_scan_kernel k = {
      .user = &j, .window = j.window, .process = qn_copy_process, .commit = qn_copy_commit};
  struct qn_scan_options so = {.cols = cols,
                               .ncols = ncols,
                               .label = label,
                               .kernel_bytes = writer + (int64_t)(j.window + j.cap) * part,
                               .kernel_worker_bytes = scratch};
  QN_CHECK(qn_copy_scan(ctx, src, &so, &k, &j, err));
  status = qn_writer_close(j.w, sum, err);
  j.w = NULL;
done:
  for (int i = 0; j.slots && i < j.window; i++)
    if (j.slots[i]) qn_writer_part_free(j.w, j.slots[i]);
  qn_writer_abort(j.w);
  free(j.slots);
  free(j.file_row0);
  free(wc);
  pthread_mutex_destroy(&j.lock);
  pthread_cond_destroy(&j.cond);
  return status;
}

void qn_convert_options_init(struct qn_convert_options *opt) {
  memset(opt, 0, sizeof *opt);
}

int qn_convert_run(struct qn_context *ctx, struct qn_source *src,
                   const struct qn_convert_options *opt, struct qn_error *err) {
  int status = QN_OK;
  int *cols = NULL, ncols = 0;
  if (!opt || !opt->output)
    return qn_error_set(err, QN_EINVAL, "convert: no output path given");
  if (!qn_writer_format_for(opt->output))
    return qn_error_set(err, QN_EINVAL, "%s: output must end in %s", opt->output,
                        qn_writer_extensions());
  QN_CHECK(qn_convert_columns(src, opt, &cols, &ncols, err));
  status = qn_exec_copy(ctx, src, cols, ncols, opt->output, opt->codec, "convert", NULL, err);
done:
  free(cols);
  return status;
}

void qn_gen_options_init(struct qn_gen_options *opt) {
  memset(opt, 0, sizeof *opt);
  opt->seed = 42;
  opt->keys = 0;
}

int qn_gen_run(struct qn_context *ctx, const struct qn_gen_options *opt, struct qn_error *err) {
  if (!opt || !opt->kind)
    return qn_error_set(err, QN_EINVAL, "gen: which data? 'sim' or 'measurements'");
  if (!opt->output) return qn_error_set(err, QN_EINVAL, "gen: no output path given");
  if (!qn_writer_format_for(opt->output))
    return qn_error_set(err, QN_EINVAL, "%s: output must end in %s", opt->output,
                        qn_writer_extensions());
  struct qn_reader *r = NULL;
  struct qn_source *src = NULL;
  QN_RETURN_IF_ERROR(
      qn_gen_reader_new(ctx, opt->kind, opt->rows, opt->keys, opt->seed, &r, err));
  QN_RETURN_IF_ERROR(qn_source_from_readers(ctx, &r, 1, &src, err));
  int cols[8];
  for (int c = 0; c < src->ncols; c++) cols[c] = c;
  int status =
      qn_exec_copy(ctx, src, cols, src->ncols, opt->output, opt->codec, "gen", NULL, err);
  qn_source_close(src);
  return status;
}
