/* group_job.c — `quern group`: one row per key with ordered lists.
 *
 * Pass 0 (the scan over the key column): the range of the keys'
 * order-preserving prefixes (qn_group.h). Pass 1 (the scan over every
 * column the job needs): each worker cuts its morsels' rows into
 * QN_GROUP_PARTITIONS range partitions of that range and appends them to
 * its open block of each partition, noting where each morsel's rows start
 * (a segment). A full block is sealed into a byte image that stays in
 * memory while the budget's share for it holds, else goes LZ4-compressed
 * to the worker's spill run (qn_spill.h). Pass 2 takes the partitions in
 * order on every worker: gathers a partition's blocks, puts its segments
 * back in morsel order (so rows are in input order without carrying a
 * position), sorts the rows by (key, order, position) with the group
 * kernel, cuts the keys into their (split, shard) files and encodes each
 * file's share as a part; an ordered commit appends the parts partition by
 * partition, so each file receives its keys in ascending order.
 *
 * Determinism: partitions come from the data's key range alone, the split
 * and shard of a key from its bytes and the seed alone, and the writer lays
 * out its file from the rows and the parts (one per partition and file)
 * alone. Threads, the memory limit and the spill directory decide only
 * which blocks stay in memory and how much runs at once.
 *
 * Output is built in `.NAME.quern-tmp-XXXXXX` beside the directory (locked
 * while in use, swept by a later run if this one is killed) and renamed
 * into place when complete; --force swaps out an existing quern output.
 *
 * Across MPI ranks (qn_comm.h) every rank checks it sees rank 0's input,
 * reads every row and groups every partition, but encodes and writes only
 * the files f with f mod N = its rank, into the one temporary directory
 * rank 0 made (a filesystem every rank shares). Once all have closed their
 * files and agreed, rank 0 gathers their checksums, writes the manifest
 * and, once all agree again, renames the directory into place. The bytes
 * are the one process's; what is shared is the encoding and writing (the
 * exchange of rows between ranks is still to come: docs/scale-out.md).
 *
 * Memory: the scan's buffers; each worker's open blocks (partitions x
 * block rows, the block size chosen from the budget: it changes only the
 * spill layout); resident sealed blocks up to half of what is left; per
 * worker in pass 2 a partition gathered, its sort and its output (about
 * four times its bytes); the writers' row groups.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/qn_scan.h"
#include "engine/qn_spill.h"
#include "exec/qn_comm.h"
#include "exec/qn_exec.h"
#include "io/qn_writer.h"
#include "kernels/qn_group.h"

#define QN_GROUP_P QN_GROUP_PARTITIONS
/* Pieces a too-large partition is re-split into, each level: few, so that
 * a piece's runs of input rows stay long (each run costs bookkeeping). */
#define QN_GROUP_SUBP 16
#define QN_GROUP_MAX_SPLITS 16
#define QN_GROUP_TMP_PREFIX ".quern-tmp-"

/* Gives the heap's free pages back to the system (glibc keeps them in
 * each thread's arena otherwise): between the passes, where most of what
 * pass 1 held is freed, so the process stays within its limit. */
static void qn_group_trim(struct qn_context *ctx) {
  qn_mem_trim(ctx);
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

/* ----- the columns pass 1 keeps ----- */

/* Stored column 0 is the key; then the list columns; the order column is
 * kept as its order key and a missing flag beside them. */
struct qn_gcol {
  int src;  /* source column */
  int scan; /* position in the scan's columns */
  const char *name;
  enum qn_type type;
  const char *type_name;
  int nullable;
  int64_t time_unit;
  size_t width; /* bytes a value; 0 for strings */
};

/* A run of rows in a block that were consecutive rows of the input: they
 * start at row `start` of the block. Their place in the input is the key
 * (morsel, worker, seq, from): the block a worker filled first (seq) and
 * the row there (from). A block of pass 1 is that first block (worker
 * -1 until it is sealed: its own); one re-split from a partition keeps the
 * keys of the rows it took. */
struct qn_gseg {
  int64_t morsel, seq, from, start;
  int32_t worker;
};

/* A block being filled. Storage per stored column: values (or string
 * offsets) for cap rows, validity; string bytes grow. */
struct qn_gfill {
  int64_t rows, cap;
  int nseg, capseg;
  struct qn_gseg *seg;
  void **data;
  uint8_t **valid;
  char **bytes;
  int64_t *nbytes, *capbytes;
  uint64_t *ord;
  uint8_t *miss;
  struct qn_gseg last; /* key of the last run appended */
  int64_t last_src;    /* its row in the source, to tell a run goes on */
};

/* A sealed block: rows of one partition from one worker, in input order.
 * Resident, it keeps the arrays it was filled in (`mem`); spilled, it is
 * an image in the worker's spill run (`ref`). */
struct qn_gblock {
  int64_t rows, seq;
  int worker;
  int nseg;
  struct qn_gseg *seg;
  int resident;
  struct qn_gfill *mem; /* resident: the arrays it was filled in */
  int64_t size;         /* resident: bytes held; spilled: the image's size */
  struct qn_spill_ref ref;
};

/* Bytes of bookkeeping a sealed block holds (its entry, its runs, the
 * allocator's headers), counted against the budget. */
#define QN_GBLOCK_META(nseg) ((int64_t)160 + 64 * (int64_t)(nseg))

struct qn_gpart {
  int nblocks, cap;
  struct qn_gblock *blocks;
};

/* One output file (a split's shard). */
struct qn_gfile {
  struct qn_writer *w;
  char name[256]; /* relative to the directory */
  int64_t groups, rows;
  struct qn_checksum sum;
};

struct qn_gsplit {
  int64_t groups, rows, bytes_min, bytes_max;
  double bytes_sum;
};

struct qn_group_job {
  struct qn_context *ctx;
  struct qn_source *src;
  const struct qn_group_options *opt;
  int ncols; /* stored columns (key + list columns) */
  struct qn_gcol *cols;
  int has_order, order_scan, order_float;
  int key_string;
  int nscan;
  int *scan_cols;
  uint64_t lo, hi; /* key prefix range */
  uint64_t thresholds[QN_GROUP_MAX_SPLITS];
  int nsplits, shards;
  const struct qn_group_split *splits;
  struct qn_group_split all;
  /* pass 1 */
  int workers;
  int64_t block_rows;
  struct qn_gfill *fills; /* [workers * P] */
  int64_t *seqs;          /* [workers] */
  int64_t *null_keys;     /* [workers] */
  int64_t *work_rows;     /* [workers]: pid/idx scratch */
  uint16_t **pid;
  int32_t **idx;
  uint64_t **ordk;
  uint8_t **missk;
  struct qn_gpart parts[QN_GROUP_P];
  pthread_mutex_t lock;
  int64_t resident, resident_cap;
  struct qn_spill *spill;
  void **img; /* [workers]: a reused buffer to build spill images in */
  size_t *img_cap;
  /* pass 2 */
  int workers2;                  /* partitions grouped at once */
  int64_t room2;                 /* budget for pass 2 beside the writers */
  int64_t writers_bytes;         /* what the writers may take */
  uint8_t oversized[QN_GROUP_P]; /* re-split and streamed, alone */
  int nfiles;
  struct qn_gfile *files; /* w is NULL for a file another rank writes */
  int rank, nranks;       /* file f is written by rank f mod nranks */
  struct qn_gsplit gsplits[QN_GROUP_MAX_SPLITS];
  int64_t groups, rows_in;
  struct qn_progress *progress;
};

static size_t qn_round8(size_t n) {
  return (n + 7) & ~(size_t)7;
}

/* A worker's pass-2 memory, kept from one partition to the next (fresh
 * memory costs a page fault every 4 KiB): grown as needed. */
struct qn_gwork {
  struct qn_group_ws ws;
  void *store, *reads, *emit, *perm, *gs, *fileof, *which;
  size_t cap_store, cap_reads, cap_emit, cap_perm, cap_gs, cap_fileof, cap_which;
};

static void *qn_grow(struct qn_context *ctx, void **p, size_t *cap, size_t bytes,
                     struct qn_error *err) {
  if (*cap >= bytes && *p) return *p;
  qn_mem_free(ctx, *p);
  *cap = 0;
  size_t want = bytes + bytes / 4 + 64;
  *p = qn_mem_alloc(ctx, want, "group pass 2 buffers", err);
  if (*p) *cap = want;
  return *p;
}

static void qn_gwork_free(struct qn_context *ctx, struct qn_gwork *w) {
  qn_group_ws_reset(ctx, &w->ws);
  qn_mem_free(ctx, w->store);
  qn_mem_free(ctx, w->reads);
  qn_mem_free(ctx, w->emit);
  qn_mem_free(ctx, w->perm);
  qn_mem_free(ctx, w->gs);
  qn_mem_free(ctx, w->fileof);
  qn_mem_free(ctx, w->which);
  memset(w, 0, sizeof *w);
}

/* ----- options ----- */

static int qn_group_valid_name(const char *s) {
  if (!s || !*s || strlen(s) > 64) return 0;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
          *s == '_' || *s == '-' || *s == '.'))
      return 0;
  return 1;
}

void qn_group_options_init(struct qn_group_options *opt) {
  memset(opt, 0, sizeof *opt);
  opt->shards = 1;
}

static int qn_group_check_splits(struct qn_group_job *j, struct qn_error *err) {
  const struct qn_group_options *o = j->opt;
  j->splits = o->splits;
  j->nsplits = o->nsplits;
  if (!o->splits || o->nsplits == 0) {
    j->all = (struct qn_group_split){"all", 1.0};
    j->splits = &j->all;
    j->nsplits = 1;
  }
  if (j->nsplits > QN_GROUP_MAX_SPLITS)
    return qn_error_set(err, QN_EINVAL, "at most %d splits, got %d", QN_GROUP_MAX_SPLITS,
                        j->nsplits);
  long double cum = 0;
  for (int i = 0; i < j->nsplits; i++) {
    const struct qn_group_split *s = &j->splits[i];
    if (!qn_group_valid_name(s->name))
      return qn_error_set(err, QN_EINVAL,
                          "split name '%s' must be 1 to 64 of A-Z a-z 0-9 _ - .",
                          s->name ? s->name : "");
    for (int k = 0; k < i; k++)
      if (!strcmp(j->splits[k].name, s->name))
        return qn_error_set(err, QN_EINVAL, "split '%s' is named twice", s->name);
    if (!(s->fraction > 0) || !(s->fraction <= 1))
      return qn_error_set(err, QN_EINVAL, "split '%s': the fraction must be in (0, 1], got %g",
                          s->name, s->fraction);
    cum += s->fraction;
    /* floor(cumulative fraction * 2^64): a key's split is the first whose
     * threshold its hash is below */
    long double t = cum * 18446744073709551616.0L;
    j->thresholds[i] = t >= 18446744073709551615.0L ? UINT64_MAX : (uint64_t)t;
  }
  if (fabsl(cum - 1) > 1e-9)
    return qn_error_set(err, QN_EINVAL, "split fractions must sum to 1, they sum to %.10g",
                        (double)cum);
  j->thresholds[j->nsplits - 1] = UINT64_MAX;
  if (o->shards < 1 || o->shards > 99999)
    return qn_error_set(err, QN_EINVAL, "shards must be between 1 and 99999, got %d",
                        o->shards);
  j->shards = o->shards;
  return QN_OK;
}

static int qn_group_column(struct qn_group_job *j, const char *name, const char *what, int *out,
                           struct qn_error *err) {
  int c = qn_source_find_column(j->src, name);
  if (c < 0) {
    char list[256];
    qn_source_column_list(j->src, list, sizeof list);
    return qn_error_set(err, QN_ENOTFOUND, "%s: no %s column '%s' (columns: %s)",
                        qn_source_file_path(j->src, 0), what, name, list);
  }
  *out = c;
  return QN_OK;
}

static void qn_group_fill_gcol(struct qn_group_job *j, struct qn_gcol *g, int c) {
  const struct qn_column_info *ci = &j->src->cols[c];
  const struct qn_reader_column *rc =
      &j->src->files[0]->cols[qn_source_file_column(j->src, 0, c)];
  g->src = c;
  g->name = ci->name;
  g->type = ci->type;
  g->type_name = ci->type_name;
  g->nullable = ci->nullable;
  g->time_unit = ci->type == QN_TIMESTAMP ? (rc->time_unit ? rc->time_unit : 1000000) : 0;
  g->width = ci->type == QN_STRING ? 0 : qn_type_size(ci->type);
}

static int qn_group_plan_columns(struct qn_group_job *j, struct qn_error *err) {
  const struct qn_group_options *o = j->opt;
  int key, order = -1;
  if (!o->key) return qn_error_set(err, QN_EINVAL, "no key column given");
  QN_RETURN_IF_ERROR(qn_group_column(j, o->key, "key", &key, err));
  enum qn_type kt = j->src->cols[key].type;
  if (qn_type_is_float(kt))
    return qn_error_set(err, QN_ESCHEMA,
                        "key column '%s' is %s: keys are integers, timestamps or strings",
                        o->key, j->src->cols[key].type_name);
  if (o->order) {
    QN_RETURN_IF_ERROR(qn_group_column(j, o->order, "order", &order, err));
    if (j->src->cols[order].type == QN_STRING)
      return qn_error_set(err, QN_ESCHEMA,
                          "order column '%s' is a string column: order by a number or a "
                          "timestamp",
                          o->order);
  }
  int n = o->columns ? o->ncolumns : j->src->ncols - 1;
  j->cols = calloc((size_t)n + 2, sizeof *j->cols);
  j->scan_cols = calloc((size_t)n + 3, sizeof *j->scan_cols);
  if (!j->cols || !j->scan_cols) return qn_error_set(err, QN_ENOMEM, "out of memory");
  qn_group_fill_gcol(j, &j->cols[0], key);
  j->key_string = kt == QN_STRING;
  j->ncols = 1;
  for (int i = 0, c = 0; i < n; i++, c++) {
    int src = -1;
    if (o->columns) {
      QN_RETURN_IF_ERROR(qn_group_column(j, o->columns[i], "", &src, err));
      if (src == key)
        return qn_error_set(err, QN_EINVAL, "column '%s' is the key: it is not listed again",
                            o->columns[i]);
      for (int k = 1; k < j->ncols; k++)
        if (j->cols[k].src == src)
          return qn_error_set(err, QN_EINVAL, "column '%s' is named twice", o->columns[i]);
    } else {
      if (c == key) c++;
      src = c;
    }
    qn_group_fill_gcol(j, &j->cols[j->ncols++], src);
  }
  /* the scan reads the stored columns, then the order column if apart */
  for (int i = 0; i < j->ncols; i++)
    j->cols[i].scan = j->nscan, j->scan_cols[j->nscan++] = j->cols[i].src;
  j->has_order = order >= 0;
  if (j->has_order) {
    j->order_scan = -1;
    for (int i = 0; i < j->ncols; i++)
      if (j->cols[i].src == order) j->order_scan = j->cols[i].scan;
    if (j->order_scan < 0) {
      j->order_scan = j->nscan;
      j->scan_cols[j->nscan++] = order;
    }
    j->order_float = qn_type_is_float(j->src->cols[order].type);
  }
  return QN_OK;
}

/* ----- pass 0: the range of the key prefixes ----- */

struct qn_group_range {
  const struct qn_group_job *j;
  uint64_t lo[64], hi[64];
  int any[64];
};

static uint64_t qn_group_key_prefix(const struct qn_colbuf *k, int64_t i) {
  switch (k->type) {
    case QN_STRING:
      return qn_group_prefix_str((const uint8_t *)k->data + k->offsets[i],
                                 (size_t)(k->offsets[i + 1] - k->offsets[i]));
    case QN_INT8:
      return qn_group_prefix_int(((const int8_t *)k->data)[i]);
    case QN_INT16:
      return qn_group_prefix_int(((const int16_t *)k->data)[i]);
    case QN_INT32:
    case QN_DATE:
      return qn_group_prefix_int(((const int32_t *)k->data)[i]);
    case QN_UINT8:
    case QN_BOOL:
      return qn_group_prefix_int(((const uint8_t *)k->data)[i]);
    case QN_UINT16:
      return qn_group_prefix_int(((const uint16_t *)k->data)[i]);
    case QN_UINT32:
      return qn_group_prefix_int(((const uint32_t *)k->data)[i]);
    case QN_UINT64: /* unsigned order: no sign flip */
      return ((const uint64_t *)k->data)[i];
    default: /* int64, timestamps */
      return qn_group_prefix_int(((const int64_t *)k->data)[i]);
  }
}

/* The key as the canonical int64 of the hashes (unsigned 64-bit: its bits). */
static int64_t qn_group_key_int(const struct qn_colbuf *k, int64_t i) {
  switch (k->type) {
    case QN_INT8:
      return ((const int8_t *)k->data)[i];
    case QN_INT16:
      return ((const int16_t *)k->data)[i];
    case QN_INT32:
    case QN_DATE:
      return ((const int32_t *)k->data)[i];
    case QN_UINT8:
    case QN_BOOL:
      return ((const uint8_t *)k->data)[i];
    case QN_UINT16:
      return ((const uint16_t *)k->data)[i];
    case QN_UINT32:
      return ((const uint32_t *)k->data)[i];
    default:
      return ((const int64_t *)k->data)[i];
  }
}

static int qn_group_range_process(void *user, int worker, const struct qn_batch *b,
                                  struct qn_error *err) {
  struct qn_group_range *r = user;
  const struct qn_colbuf *k = &b->cols[0];
  uint64_t lo = r->lo[worker], hi = r->hi[worker];
  int any = r->any[worker];
  for (int64_t i = 0; i < b->nrows; i++) {
    if (k->valid && !k->valid[i]) continue;
    uint64_t p = qn_group_key_prefix(k, i);
    if (!any || p < lo) lo = p;
    if (!any || p > hi) hi = p;
    any = 1;
  }
  r->lo[worker] = lo;
  r->hi[worker] = hi;
  r->any[worker] = any;
  return QN_OK;
}

/* The key range from the files' metadata (Parquet column chunk
 * statistics) when every file with rows knows it and the key is an
 * integer whose bounds float64 holds exactly; *found = 0 otherwise. The
 * range only places the partition boundaries: wider bounds than the data's
 * give other partitions, never other bytes (rows reach the writers in key
 * order, whatever the partitions). */
static int qn_group_range_from_meta(struct qn_group_job *j, int *found, struct qn_error *err) {
  const int c = j->cols[0].src;
  *found = 0;
  switch (j->cols[0].type) {
    case QN_INT8:
    case QN_INT16:
    case QN_INT32:
    case QN_INT64:
    case QN_DATE:
    case QN_TIMESTAMP:
      break;
    default:
      return QN_OK;
  }
  double mn, mx;
  int known = 0;
  QN_RETURN_IF_ERROR(qn_source_minmax(j->src, c, &mn, &mx, &known, err));
  if (!known) return QN_OK;
  const double exact = 9007199254740992.0; /* 2^53 */
  if (!(mn >= -exact && mx <= exact && mn <= mx)) return QN_OK;
  j->lo = qn_group_prefix_int((int64_t)mn);
  j->hi = qn_group_prefix_int((int64_t)mx);
  *found = 1;
  return QN_OK;
}

static int qn_group_pass0(struct qn_group_job *j, struct qn_error *err) {
  int found = 0;
  QN_RETURN_IF_ERROR(qn_group_range_from_meta(j, &found, err));
  if (found) return QN_OK;
  struct qn_group_range r;
  memset(&r, 0, sizeof r);
  r.j = j;
  int col = j->cols[0].src;
  struct qn_scan_kernel k = {.user = &r, .process = qn_group_range_process};
  struct qn_scan_options so = {.cols = &col, .ncols = 1, .label = "group: key range"};
  QN_RETURN_IF_ERROR(qn_scan_run(j->ctx, j->src, &so, &k, err));
  int any = 0;
  for (int w = 0; w < 64; w++) {
    if (!r.any[w]) continue;
    if (!any || r.lo[w] < j->lo) j->lo = r.lo[w];
    if (!any || r.hi[w] > j->hi) j->hi = r.hi[w];
    any = 1;
  }
  return QN_OK;
}

/* ----- pass 1: partition the rows ----- */

static int64_t qn_group_row_bytes(const struct qn_group_job *j) {
  int64_t b = j->has_order ? 9 : 0;
  for (int i = 0; i < j->ncols; i++)
    b += (j->cols[i].width ? (int64_t)j->cols[i].width : 24) + (j->cols[i].nullable ? 1 : 0);
  return b;
}

static void qn_gfill_free(struct qn_group_job *j, struct qn_gfill *f) {
  for (int c = 0; f->data && c < j->ncols; c++) {
    qn_mem_free(j->ctx, f->data[c]);
    qn_mem_free(j->ctx, f->valid[c]);
    qn_mem_free(j->ctx, f->bytes[c]);
  }
  qn_mem_free(j->ctx, f->ord);
  qn_mem_free(j->ctx, f->miss);
  free(f->data);
  free(f->valid);
  free(f->bytes);
  free(f->nbytes);
  free(f->capbytes);
  free(f->seg);
  memset(f, 0, sizeof *f);
}

static int qn_gfill_init(struct qn_group_job *j, struct qn_gfill *f, struct qn_error *err) {
  int n = j->ncols;
  f->cap = j->block_rows;
  f->last.morsel = -1;
  f->data = calloc((size_t)n, sizeof *f->data);
  f->valid = calloc((size_t)n, sizeof *f->valid);
  f->bytes = calloc((size_t)n, sizeof *f->bytes);
  f->nbytes = calloc((size_t)n, sizeof *f->nbytes);
  f->capbytes = calloc((size_t)n, sizeof *f->capbytes);
  if (!f->data || !f->valid || !f->bytes || !f->nbytes || !f->capbytes)
    return qn_error_set(err, QN_ENOMEM, "out of memory");
  for (int c = 0; c < n; c++) {
    const struct qn_gcol *g = &j->cols[c];
    size_t bytes = g->width ? (size_t)f->cap * g->width : (size_t)(f->cap + 1) * 8;
    f->data[c] = qn_mem_alloc(j->ctx, bytes, "group partition buffers", err);
    if (!f->data[c]) return err && err->code ? err->code : QN_ELIMIT;
    if (!g->width) ((int64_t *)f->data[c])[0] = 0;
    if (g->nullable) {
      f->valid[c] = qn_mem_alloc(j->ctx, (size_t)f->cap, "group partition buffers", err);
      if (!f->valid[c]) return err && err->code ? err->code : QN_ELIMIT;
    }
  }
  if (j->has_order) {
    f->ord = qn_mem_alloc(j->ctx, (size_t)f->cap * 8, "group partition buffers", err);
    f->miss = qn_mem_alloc(j->ctx, (size_t)f->cap, "group partition buffers", err);
    if (!f->ord || !f->miss) return err && err->code ? err->code : QN_ELIMIT;
  }
  return QN_OK;
}

/* Image layout: string byte counts (int64 per column), then per column
 * values (or rows + 1 offsets, then the bytes), validity when nullable,
 * then order keys and missing flags; each piece 8-byte aligned. */
static int64_t qn_gimage_size(const struct qn_group_job *j, int64_t rows,
                              const int64_t *nbytes) {
  size_t s = qn_round8((size_t)j->ncols * 8);
  for (int c = 0; c < j->ncols; c++) {
    const struct qn_gcol *g = &j->cols[c];
    s += g->width ? qn_round8((size_t)rows * g->width)
                  : qn_round8((size_t)(rows + 1) * 8) + qn_round8((size_t)nbytes[c]);
    if (g->nullable) s += qn_round8((size_t)rows);
  }
  if (j->has_order) s += qn_round8((size_t)rows * 8) + qn_round8((size_t)rows);
  return (int64_t)s;
}

/* Views of the columns in an image (cols[ncols], ord, miss). */
static void qn_gimage_view(const struct qn_group_job *j, char *image, int64_t rows,
                           struct qn_colbuf *cols, uint64_t **ord, uint8_t **miss) {
  const int64_t *nbytes = (const int64_t *)(void *)image;
  char *p = image + qn_round8((size_t)j->ncols * 8);
  for (int c = 0; c < j->ncols; c++) {
    const struct qn_gcol *g = &j->cols[c];
    memset(&cols[c], 0, sizeof cols[c]);
    cols[c].type = g->type;
    cols[c].n = rows;
    if (g->width) {
      cols[c].data = p;
      p += qn_round8((size_t)rows * g->width);
    } else {
      cols[c].offsets = (int64_t *)(void *)p;
      p += qn_round8((size_t)(rows + 1) * 8);
      cols[c].data = p;
      p += qn_round8((size_t)nbytes[c]);
    }
    if (g->nullable) {
      cols[c].valid = (uint8_t *)p;
      p += qn_round8((size_t)rows);
    }
  }
  if (j->has_order) {
    *ord = (uint64_t *)(void *)p;
    p += qn_round8((size_t)rows * 8);
    *miss = (uint8_t *)p;
  }
}

static int qn_gpart_add(struct qn_gpart *gp, struct qn_gblock *b, struct qn_error *err) {
  if (gp->nblocks == gp->cap) {
    int cap = gp->cap ? 2 * gp->cap : 8;
    struct qn_gblock *x = realloc(gp->blocks, (size_t)cap * sizeof *x);
    if (!x) return qn_error_set(err, QN_ENOMEM, "out of memory");
    gp->blocks = x;
    gp->cap = cap;
  }
  gp->blocks[gp->nblocks++] = *b;
  return QN_OK;
}

/* Bytes a fill holds (what a resident block takes from the budget). */
static int64_t qn_gfill_bytes(const struct qn_group_job *j, const struct qn_gfill *f) {
  int64_t b = 0;
  for (int c = 0; c < j->ncols; c++) {
    const struct qn_gcol *g = &j->cols[c];
    b += g->width ? f->cap * (int64_t)g->width : (f->cap + 1) * 8 + f->capbytes[c];
    if (g->nullable) b += f->cap;
  }
  if (j->has_order) b += f->cap * 9;
  return b;
}

/* Views of the columns of a fill (cols[ncols], ord, miss). */
static void qn_gfill_view(const struct qn_group_job *j, const struct qn_gfill *f,
                          struct qn_colbuf *cols, uint64_t **ord, uint8_t **miss) {
  for (int c = 0; c < j->ncols; c++) {
    const struct qn_gcol *g = &j->cols[c];
    memset(&cols[c], 0, sizeof cols[c]);
    cols[c].type = g->type;
    cols[c].n = f->rows;
    if (g->width) {
      cols[c].data = f->data[c];
    } else {
      cols[c].offsets = f->data[c];
      cols[c].data = f->bytes[c];
    }
    cols[c].valid = f->valid[c];
  }
  *ord = f->ord;
  *miss = f->miss;
}

/* Seals worker w's open block of partition p: resident while the budget's
 * share for sealed blocks holds it (the block takes the fill's arrays; the
 * next rows get new ones), else spilled (an image built in the worker's
 * reused buffer, compressed; the fill is emptied and refilled). */
static int qn_gfill_seal_to(struct qn_group_job *j, int w, struct qn_gfill *f,
                            struct qn_gpart *gp, int spill_only, struct qn_error *err) {
  if (f->rows == 0) return QN_OK;
  int status = QN_OK;
  struct qn_gblock b = {.rows = f->rows, .seq = j->seqs[w]++, .worker = w, .nseg = f->nseg};
  b.seg = malloc((size_t)f->nseg * sizeof *b.seg);
  if (!b.seg) return qn_error_set(err, QN_ENOMEM, "out of memory");
  memcpy(b.seg, f->seg, (size_t)f->nseg * sizeof *b.seg);
  for (int i = 0; i < b.nseg; i++)
    if (b.seg[i].worker < 0) { /* runs of pass 1: this block is where they were first put */
      b.seg[i].worker = w;
      b.seg[i].seq = b.seq;
      b.seg[i].from = b.seg[i].start;
    }
  int64_t held = qn_gfill_bytes(j, f);
  pthread_mutex_lock(&j->lock);
  int keep = !spill_only && j->resident + held <= j->resident_cap;
  if (keep) j->resident += held;
  pthread_mutex_unlock(&j->lock);
  if (keep) {
    b.resident = 1;
    b.size = held;
    b.mem = malloc(sizeof *b.mem);
    if (!b.mem) {
      free(b.seg);
      pthread_mutex_lock(&j->lock);
      j->resident -= held;
      pthread_mutex_unlock(&j->lock);
      return qn_error_set(err, QN_ENOMEM, "out of memory");
    }
    *b.mem = *f;
    b.mem->seg = NULL; /* the fill keeps its segment array */
    b.mem->nseg = b.mem->capseg = 0;
    struct qn_gseg *seg = f->seg;
    int capseg = f->capseg;
    memset(f, 0, sizeof *f); /* new arrays at the next append */
    f->seg = seg;
    f->capseg = capseg;
  } else {
    b.size = qn_gimage_size(j, f->rows, f->nbytes);
    char *image = qn_grow(j->ctx, &j->img[w], &j->img_cap[w], (size_t)b.size, err);
    if (!image) {
      free(b.seg);
      return err && err->code ? err->code : QN_ELIMIT;
    }
    memcpy(image, f->nbytes, (size_t)j->ncols * 8);
    struct qn_colbuf v[64], s[64];
    uint64_t *ord = NULL, *sord = NULL;
    uint8_t *miss = NULL, *smiss = NULL;
    qn_gimage_view(j, image, f->rows, v, &ord, &miss);
    qn_gfill_view(j, f, s, &sord, &smiss);
    for (int c = 0; c < j->ncols; c++) {
      const struct qn_gcol *g = &j->cols[c];
      if (g->width) {
        memcpy(v[c].data, s[c].data, (size_t)f->rows * g->width);
      } else {
        memcpy(v[c].offsets, s[c].offsets, (size_t)(f->rows + 1) * 8);
        if (f->nbytes[c]) memcpy(v[c].data, s[c].data, (size_t)f->nbytes[c]);
      }
      if (g->nullable) memcpy(v[c].valid, s[c].valid, (size_t)f->rows);
    }
    if (j->has_order) {
      memcpy(ord, sord, (size_t)f->rows * 8);
      memcpy(miss, smiss, (size_t)f->rows);
    }
    status = qn_spill_write(j->spill, w, image, b.size, &b.ref, err);
  }
  /* the block's bookkeeping (its entry, its runs) counts too: with many
   * small blocks it is not small */
  if (status == QN_OK)
    status = qn_mem_reserve(j->ctx, QN_GBLOCK_META(b.nseg), "the group's block index", err);
  if (status == QN_OK) {
    pthread_mutex_lock(&j->lock);
    status = qn_gpart_add(gp, &b, err);
    pthread_mutex_unlock(&j->lock);
    if (status != QN_OK) qn_mem_release(j->ctx, QN_GBLOCK_META(b.nseg));
  }
  if (status != QN_OK) {
    if (b.resident) {
      qn_gfill_free(j, b.mem);
      free(b.mem);
    }
    free(b.seg);
  }
  f->rows = 0;
  f->nseg = 0;
  f->last.morsel = -1;
  for (int c = 0; f->nbytes && c < j->ncols; c++) f->nbytes[c] = 0;
  return status;
}

static int qn_gfill_seal(struct qn_group_job *j, int w, int p, struct qn_error *err) {
  return qn_gfill_seal_to(j, w, &j->fills[w * QN_GROUP_P + p], &j->parts[p], 0, err);
}

/* Appends rows idx[0..m) of `src` (the stored columns' layout; ordk and
 * missk by the same row) to fill f, sealing it into gp when full. The rows
 * are one run of the input (key `run`, its first row at source row
 * run_src): a new segment starts when the run changes, or when it does not
 * go on where the last one ended. */
static int qn_gfill_append(struct qn_group_job *j, int w, struct qn_gfill *f,
                           struct qn_gpart *gp, int spill_only, const struct qn_colbuf *src,
                           const int32_t *idx, int64_t m, const uint64_t *ordk,
                           const uint8_t *missk, const struct qn_gseg *run, int64_t run_src,
                           struct qn_error *err) {
  int64_t done = 0;
  while (done < m) {
    if (f->data && f->rows == f->cap)
      QN_RETURN_IF_ERROR(qn_gfill_seal_to(j, w, f, gp, spill_only, err));
    if (!f->data) QN_RETURN_IF_ERROR(qn_gfill_init(j, f, err)); /* new, or handed to a block */
    int64_t at = run_src + idx[done]; /* where this row was in its run's source */
    if (f->nseg == 0 || f->last.morsel != run->morsel || f->last.worker != run->worker ||
        f->last.seq != run->seq || f->last.from != run->from || f->last_src > at) {
      if (f->nseg == f->capseg) {
        int cap = f->capseg ? 2 * f->capseg : 8;
        struct qn_gseg *x = realloc(f->seg, (size_t)cap * sizeof *x);
        if (!x) return qn_error_set(err, QN_ENOMEM, "out of memory");
        f->seg = x;
        f->capseg = cap;
      }
      struct qn_gseg sg = *run;
      sg.from = run->worker < 0 ? -1 : run->from + (at - run_src);
      sg.start = f->rows;
      f->seg[f->nseg++] = sg;
      f->last = *run;
    }
    int64_t take = QN_MIN(m - done, f->cap - f->rows);
    for (int c = 0; c < j->ncols; c++) {
      const struct qn_gcol *g = &j->cols[c];
      const struct qn_colbuf *s = &src[c];
      if (g->width) {
        char *d = (char *)f->data[c] + (size_t)f->rows * g->width;
        const char *sv = s->data;
        switch (g->width) {
          case 8:
            for (int64_t i = 0; i < take; i++)
              memcpy(d + 8 * i, sv + 8 * (size_t)idx[done + i], 8);
            break;
          case 4:
            for (int64_t i = 0; i < take; i++)
              memcpy(d + 4 * i, sv + 4 * (size_t)idx[done + i], 4);
            break;
          default:
            for (int64_t i = 0; i < take; i++)
              memcpy(d + g->width * (size_t)i, sv + g->width * (size_t)idx[done + i], g->width);
        }
      } else {
        int64_t *off = (int64_t *)f->data[c];
        int64_t need = 0;
        for (int64_t i = 0; i < take; i++) {
          int32_t r = idx[done + i];
          need += s->offsets[r + 1] - s->offsets[r];
        }
        if (f->nbytes[c] + need > f->capbytes[c]) {
          int64_t cap = QN_MAX(f->nbytes[c] + need, 2 * f->capbytes[c]);
          cap = QN_MAX(cap, (int64_t)4096);
          char *x = qn_mem_alloc(j->ctx, (size_t)cap, "group string buffers", err);
          if (!x) return err && err->code ? err->code : QN_ELIMIT;
          if (f->nbytes[c]) memcpy(x, f->bytes[c], (size_t)f->nbytes[c]);
          qn_mem_free(j->ctx, f->bytes[c]);
          f->bytes[c] = x;
          f->capbytes[c] = cap;
        }
        for (int64_t i = 0; i < take; i++) {
          int32_t r = idx[done + i];
          int64_t len = s->offsets[r + 1] - s->offsets[r];
          memcpy(f->bytes[c] + f->nbytes[c], (const char *)s->data + s->offsets[r],
                 (size_t)len);
          f->nbytes[c] += len;
          off[f->rows + i + 1] = f->nbytes[c];
        }
      }
      if (g->nullable) {
        uint8_t *v = f->valid[c] + f->rows;
        for (int64_t i = 0; i < take; i++) v[i] = s->valid ? s->valid[idx[done + i]] : 1;
      }
    }
    if (j->has_order) {
      for (int64_t i = 0; i < take; i++) {
        f->ord[f->rows + i] = ordk[idx[done + i]];
        f->miss[f->rows + i] = missk[idx[done + i]];
      }
    }
    f->rows += take;
    f->last_src = run_src + idx[done + take - 1] + 1;
    done += take;
  }
  return QN_OK;
}

static void qn_group_order_keys(const struct qn_group_job *j, const struct qn_colbuf *o,
                                int64_t n, uint64_t *ordk, uint8_t *missk) {
  for (int64_t i = 0; i < n; i++) {
    int miss = o->valid && !o->valid[i];
    uint64_t v = 0;
    if (!miss) {
      switch (o->type) {
        case QN_FLOAT64: {
          double d = ((const double *)o->data)[i];
          miss = isnan(d);
          v = qn_group_order_double(d);
          break;
        }
        case QN_FLOAT32: {
          double d = ((const float *)o->data)[i];
          miss = isnan(d);
          v = qn_group_order_double(d);
          break;
        }
        case QN_UINT64:
          v = ((const uint64_t *)o->data)[i];
          break;
        default:
          v = qn_group_order_int(qn_group_key_int(o, i));
      }
    }
    ordk[i] = miss ? 0 : v;
    missk[i] = (uint8_t)miss;
  }
}

static int qn_group_process(void *user, int worker, const struct qn_batch *b,
                            struct qn_error *err) {
  struct qn_group_job *j = user;
  const struct qn_colbuf *k = &b->cols[0];
  int64_t n = b->nrows;
  uint16_t *pid = j->pid[worker];
  int32_t *idx = j->idx[worker];
  int64_t counts[QN_GROUP_P + 1] = {0};
  for (int64_t i = 0; i < n; i++) {
    if (k->valid && !k->valid[i]) {
      pid[i] = QN_GROUP_P; /* a null key: left out, counted */
      j->null_keys[worker]++;
      continue;
    }
    pid[i] = (uint16_t)qn_group_partition_of(qn_group_key_prefix(k, i), j->lo, j->hi);
    counts[pid[i]]++;
  }
  if (j->has_order)
    qn_group_order_keys(j, &b->cols[j->order_scan], n, j->ordk[worker], j->missk[worker]);
  int64_t start[QN_GROUP_P + 1];
  start[0] = 0;
  for (int p = 0; p < QN_GROUP_P; p++) start[p + 1] = start[p] + counts[p];
  int64_t next[QN_GROUP_P];
  memcpy(next, start, sizeof next);
  for (int64_t i = 0; i < n; i++)
    if (pid[i] < QN_GROUP_P) idx[next[pid[i]]++] = (int32_t)i;
  struct qn_colbuf src[64];
  for (int c = 0; c < j->ncols; c++) src[c] = b->cols[j->cols[c].scan];
  /* the morsel is one run; its block (worker, seq) is filled in at the seal */
  struct qn_gseg run = {b->morsel, -1, -1, 0, -1};
  for (int p = 0; p < QN_GROUP_P; p++)
    if (counts[p])
      QN_RETURN_IF_ERROR(qn_gfill_append(j, worker, &j->fills[worker * QN_GROUP_P + p],
                                         &j->parts[p], 0, src, idx + start[p], counts[p],
                                         j->ordk ? j->ordk[worker] : NULL,
                                         j->missk ? j->missk[worker] : NULL, &run, 0, err));
  return QN_OK;
}

/* ----- pass 2: each partition grouped, in order ----- */

/* A segment of a partition: rows [start, start + len) of block b. */
struct qn_gpseg {
  struct qn_gseg key;
  int64_t start, len;
  int block;
};

static int qn_gpseg_cmp(const void *a, const void *b) {
  const struct qn_gseg *x = &((const struct qn_gpseg *)a)->key,
                       *y = &((const struct qn_gpseg *)b)->key;
  if (x->morsel != y->morsel) return x->morsel < y->morsel ? -1 : 1;
  if (x->worker != y->worker) return x->worker < y->worker ? -1 : 1;
  if (x->seq != y->seq) return x->seq < y->seq ? -1 : 1;
  return (x->from > y->from) - (x->from < y->from);
}

/* One partition in memory: its rows in input order, column by column. */
struct qn_gpdata {
  int64_t rows;
  struct qn_colbuf cols[64];
  uint64_t *ord;
  uint8_t *miss;
  void *store;
};

/* What a worker hands the ordered commit for one partition. */
struct qn_gpout {
  void **parts; /* per file */
  int64_t *groups, *rows;
  int64_t bytes_min[QN_GROUP_MAX_SPLITS], bytes_max[QN_GROUP_MAX_SPLITS];
  double bytes_sum[QN_GROUP_MAX_SPLITS];
  int64_t split_groups[QN_GROUP_MAX_SPLITS], split_rows[QN_GROUP_MAX_SPLITS];
  int done;
};

static int qn_group_load(struct qn_group_job *j, struct qn_gwork *wk, struct qn_gpart *gp,
                         struct qn_gpdata *d, struct qn_error *err) {
  int status = QN_OK, nseg = 0;
  char **images = calloc((size_t)gp->nblocks + 1, sizeof *images);
  struct qn_colbuf(*views)[64] = calloc((size_t)gp->nblocks + 1, sizeof *views);
  uint64_t **ords = calloc((size_t)gp->nblocks + 1, sizeof *ords);
  uint8_t **misses = calloc((size_t)gp->nblocks + 1, sizeof *misses);
  int total_seg = 0;
  for (int b = 0; b < gp->nblocks; b++) total_seg += gp->blocks[b].nseg;
  struct qn_gpseg *segs = calloc((size_t)total_seg + 1, sizeof *segs);
  if (!images || !views || !ords || !misses || !segs) {
    status = qn_error_set(err, QN_ENOMEM, "out of memory");
    goto done;
  }
  int64_t rows = 0, sbytes[64] = {0};
  size_t spilled = 0;
  for (int b = 0; b < gp->nblocks; b++)
    if (!gp->blocks[b].resident) spilled += qn_round8((size_t)gp->blocks[b].size);
  char *reads = spilled ? qn_grow(j->ctx, &wk->reads, &wk->cap_reads, spilled, err) : NULL;
  if (spilled && !reads) {
    status = err && err->code ? err->code : QN_ELIMIT;
    goto done;
  }
  for (int b = 0; b < gp->nblocks; b++) {
    struct qn_gblock *bl = &gp->blocks[b];
    if (bl->resident) {
      qn_gfill_view(j, bl->mem, views[b], &ords[b], &misses[b]);
    } else {
      images[b] = reads;
      reads += qn_round8((size_t)bl->size);
      QN_CHECK(qn_spill_read(j->spill, &bl->ref, images[b], err));
      qn_gimage_view(j, images[b], bl->rows, views[b], &ords[b], &misses[b]);
    }
    for (int s = 0; s < bl->nseg; s++) {
      int64_t end = s + 1 < bl->nseg ? bl->seg[s + 1].start : bl->rows;
      segs[nseg++] = (struct qn_gpseg){bl->seg[s], bl->seg[s].start, end - bl->seg[s].start, b};
    }
    rows += bl->rows;
    for (int c = 0; c < j->ncols; c++)
      if (!j->cols[c].width) sbytes[c] += views[b][c].offsets[bl->rows];
  }
  qsort(segs, (size_t)nseg, sizeof *segs, qn_gpseg_cmp);
  /* the partition's columns, contiguous, in input order */
  size_t size = 0;
  for (int c = 0; c < j->ncols; c++) {
    const struct qn_gcol *g = &j->cols[c];
    size += g->width ? qn_round8((size_t)rows * g->width)
                     : qn_round8((size_t)(rows + 1) * 8) + qn_round8((size_t)sbytes[c]);
    if (g->nullable) size += qn_round8((size_t)rows);
  }
  if (j->has_order) size += qn_round8((size_t)rows * 8) + qn_round8((size_t)rows);
  d->store = qn_grow(j->ctx, &wk->store, &wk->cap_store, size + 8, err);
  if (!d->store) {
    status = err && err->code ? err->code : QN_ELIMIT;
    goto done;
  }
  d->rows = rows;
  char *q = d->store;
  for (int c = 0; c < j->ncols; c++) {
    const struct qn_gcol *g = &j->cols[c];
    struct qn_colbuf *cb = &d->cols[c];
    memset(cb, 0, sizeof *cb);
    cb->type = g->type;
    cb->n = rows;
    if (g->width) {
      cb->data = q;
      q += qn_round8((size_t)rows * g->width);
    } else {
      cb->offsets = (int64_t *)(void *)q;
      q += qn_round8((size_t)(rows + 1) * 8);
      cb->data = q;
      q += qn_round8((size_t)sbytes[c]);
      cb->offsets[0] = 0;
    }
    if (g->nullable) {
      cb->valid = (uint8_t *)q;
      q += qn_round8((size_t)rows);
    }
  }
  if (j->has_order) {
    d->ord = (uint64_t *)(void *)q;
    q += qn_round8((size_t)rows * 8);
    d->miss = (uint8_t *)q;
  }
  int64_t at = 0;
  for (int s = 0; s < nseg; s++) {
    const struct qn_gpseg *sg = &segs[s];
    const struct qn_colbuf *v = views[sg->block];
    for (int c = 0; c < j->ncols; c++) {
      const struct qn_gcol *g = &j->cols[c];
      struct qn_colbuf *cb = &d->cols[c];
      if (g->width) {
        memcpy((char *)cb->data + (size_t)at * g->width,
               (const char *)v[c].data + (size_t)sg->start * g->width,
               (size_t)sg->len * g->width);
      } else {
        int64_t a = v[c].offsets[sg->start], e = v[c].offsets[sg->start + sg->len];
        int64_t base = cb->offsets[at];
        memcpy((char *)cb->data + base, (const char *)v[c].data + a, (size_t)(e - a));
        for (int64_t i = 1; i <= sg->len; i++)
          cb->offsets[at + i] = base + v[c].offsets[sg->start + i] - a;
      }
      if (g->nullable) memcpy(cb->valid + at, v[c].valid + sg->start, (size_t)sg->len);
    }
    if (j->has_order) {
      memcpy(d->ord + at, ords[sg->block] + sg->start, (size_t)sg->len * 8);
      memcpy(d->miss + at, misses[sg->block] + sg->start, (size_t)sg->len);
    }
    at += sg->len;
  }
done:
  free(images);
  free(views);
  free(ords);
  free(misses);
  free(segs);
  return status;
}

/* Frees a partition's blocks once they are read (resident: their memory). */
static void qn_group_drop_part(struct qn_group_job *j, struct qn_gpart *gp) {
  int64_t freed = 0;
  for (int b = 0; b < gp->nblocks; b++) {
    qn_mem_release(j->ctx, QN_GBLOCK_META(gp->blocks[b].nseg));
    if (gp->blocks[b].resident) {
      qn_gfill_free(j, gp->blocks[b].mem);
      free(gp->blocks[b].mem);
      freed += gp->blocks[b].size;
    }
    free(gp->blocks[b].seg);
  }
  free(gp->blocks);
  memset(gp, 0, sizeof *gp);
  pthread_mutex_lock(&j->lock);
  j->resident -= freed;
  pthread_mutex_unlock(&j->lock);
}

/* Stored size of an output row: key and n, then each list's values as
 * Parquet PLAIN holds them (strings with their 4-byte lengths). */
static int64_t qn_group_row_store(const struct qn_group_job *j, const struct qn_gpdata *d,
                                  const int64_t *perm, int64_t a, int64_t b) {
  int64_t bytes =
      8 + (j->key_string ? 4 + d->cols[0].offsets[perm[a] + 1] - d->cols[0].offsets[perm[a]]
                         : (int64_t)j->cols[0].width);
  for (int c = 1; c < j->ncols; c++) {
    const struct qn_gcol *g = &j->cols[c];
    if (g->width) {
      bytes += (b - a) * (int64_t)g->width;
      continue;
    }
    for (int64_t i = a; i < b; i++)
      bytes += 4 + d->cols[c].offsets[perm[i] + 1] - d->cols[c].offsets[perm[i]];
  }
  return bytes;
}

/* Output columns of one file: the keys, n and the lists of the groups
 * listed in `which` (indices into the partition's groups, ascending). */
/* Where a partition's output rows go, file by file. */
struct qn_gpend;
struct qn_gsink {
  int (*deliver)(struct qn_group_job *j, struct qn_gwork *wk, int worker, int f,
                 struct qn_colbuf *out, int64_t rows, struct qn_gsink *sink,
                 struct qn_error *err);
  struct qn_gpout *o;    /* the whole partition at once: one part per file */
  struct qn_gpend *pend; /* streamed: what each file has pending */
};

static int qn_group_deliver_part(struct qn_group_job *j, struct qn_gwork *wk, int worker, int f,
                                 struct qn_colbuf *out, int64_t rows, struct qn_gsink *sink,
                                 struct qn_error *err) {
  (void)wk;
  if (!j->files[f].w) return QN_OK; /* another rank's file */
  return qn_writer_encode(j->files[f].w, worker, out, rows, 0, &sink->o->parts[f], err);
}

static int qn_group_emit(struct qn_group_job *j, struct qn_gwork *wk, int worker, int f,
                         struct qn_gsink *sink, const struct qn_gpdata *d, const int64_t *perm,
                         const int64_t *gs, const int64_t *which, int64_t ng, int64_t nrows,
                         struct qn_error *err) {
  int status = QN_OK;
  struct qn_colbuf out[66];
  memset(out, 0, sizeof out);
  size_t size = (size_t)ng * 8 * 2 + (size_t)(ng + 1) * 8 + 64;
  int64_t kbytes = 0;
  if (j->key_string)
    for (int64_t g = 0; g < ng; g++) {
      int64_t r = perm[gs[which[g]]];
      kbytes += d->cols[0].offsets[r + 1] - d->cols[0].offsets[r];
    }
  size += qn_round8((size_t)(ng + 1) * 8) + qn_round8((size_t)kbytes);
  int64_t sb[64] = {0};
  for (int c = 1; c < j->ncols; c++) {
    const struct qn_gcol *g = &j->cols[c];
    if (!g->width)
      for (int64_t k = 0; k < ng; k++)
        for (int64_t i = gs[which[k]]; i < gs[which[k] + 1]; i++)
          sb[c] += d->cols[c].offsets[perm[i] + 1] - d->cols[c].offsets[perm[i]];
    size += g->width ? qn_round8((size_t)nrows * g->width)
                     : qn_round8((size_t)(nrows + 1) * 8) + qn_round8((size_t)sb[c]);
    if (g->nullable) size += qn_round8((size_t)nrows);
  }
  char *store = qn_grow(j->ctx, &wk->emit, &wk->cap_emit, size, err);
  if (!store) return err && err->code ? err->code : QN_ELIMIT;
  char *q = store;
  /* lists: rows + 1 offsets shared by every list column */
  int64_t *lists = (int64_t *)(void *)q;
  q += qn_round8((size_t)(ng + 1) * 8);
  lists[0] = 0;
  for (int64_t k = 0; k < ng; k++) lists[k + 1] = lists[k] + gs[which[k] + 1] - gs[which[k]];
  int64_t *n = (int64_t *)(void *)q;
  q += qn_round8((size_t)ng * 8);
  for (int64_t k = 0; k < ng; k++) n[k] = lists[k + 1] - lists[k];
  /* the key */
  const struct qn_gcol *kg = &j->cols[0];
  out[0].type = kg->type;
  out[0].n = ng;
  if (kg->width) {
    out[0].data = q;
    for (int64_t k = 0; k < ng; k++)
      memcpy(q + (size_t)k * kg->width,
             (const char *)d->cols[0].data + (size_t)perm[gs[which[k]]] * kg->width, kg->width);
    q += qn_round8((size_t)ng * kg->width + 8);
  } else {
    int64_t *off = (int64_t *)(void *)q;
    q += qn_round8((size_t)(ng + 1) * 8);
    char *bytes = q;
    q += qn_round8((size_t)kbytes);
    off[0] = 0;
    for (int64_t k = 0; k < ng; k++) {
      int64_t r = perm[gs[which[k]]];
      int64_t a = d->cols[0].offsets[r], e = d->cols[0].offsets[r + 1];
      memcpy(bytes + off[k], (const char *)d->cols[0].data + a, (size_t)(e - a));
      off[k + 1] = off[k] + (e - a);
    }
    out[0].offsets = off;
    out[0].data = bytes;
  }
  out[1] = (struct qn_colbuf){QN_INT64, ng, n, NULL, NULL, NULL};
  for (int c = 1; c < j->ncols; c++) {
    const struct qn_gcol *g = &j->cols[c];
    struct qn_colbuf *o = &out[c + 1];
    o->type = g->type;
    o->n = nrows;
    o->lists = lists;
    const struct qn_colbuf *s = &d->cols[c];
    if (g->width) {
      o->data = q;
      int64_t e = 0;
      for (int64_t k = 0; k < ng; k++) {
        int64_t a = gs[which[k]], b = gs[which[k] + 1];
        switch (g->width) { /* a constant size: the copies inline */
          case 8:
            for (int64_t i = a; i < b; i++, e++)
              memcpy(q + 8 * e, (const char *)s->data + 8 * perm[i], 8);
            break;
          case 4:
            for (int64_t i = a; i < b; i++, e++)
              memcpy(q + 4 * e, (const char *)s->data + 4 * perm[i], 4);
            break;
          case 2:
            for (int64_t i = a; i < b; i++, e++)
              memcpy(q + 2 * e, (const char *)s->data + 2 * perm[i], 2);
            break;
          default:
            for (int64_t i = a; i < b; i++, e++) q[e] = ((const char *)s->data)[perm[i]];
        }
      }
      q += qn_round8((size_t)nrows * g->width);
    } else {
      int64_t *off = (int64_t *)(void *)q;
      q += qn_round8((size_t)(nrows + 1) * 8);
      char *bytes = q;
      q += qn_round8((size_t)sb[c]);
      off[0] = 0;
      int64_t e = 0;
      for (int64_t k = 0; k < ng; k++)
        for (int64_t i = gs[which[k]]; i < gs[which[k] + 1]; i++, e++) {
          int64_t a = s->offsets[perm[i]], b = s->offsets[perm[i] + 1];
          memcpy(bytes + off[e], (const char *)s->data + a, (size_t)(b - a));
          off[e + 1] = off[e] + (b - a);
        }
      o->offsets = off;
      o->data = bytes;
    }
    if (g->nullable) {
      o->valid = (uint8_t *)q;
      int64_t e = 0;
      for (int64_t k = 0; k < ng; k++)
        for (int64_t i = gs[which[k]]; i < gs[which[k] + 1]; i++, e++)
          o->valid[e] = s->valid ? s->valid[perm[i]] : 1;
      q += qn_round8((size_t)nrows);
    }
  }
  status = sink->deliver(j, wk, worker, f, out, ng, sink, err);
  return status;
}

/* Groups the rows of a partition (or a piece of one) and hands each
 * file's rows to the sink; counts go to o. */
static int qn_group_rows(struct qn_group_job *j, struct qn_gwork *wk, int worker,
                         struct qn_gpart *gp, struct qn_gpout *o, struct qn_gsink *sink,
                         struct qn_error *err) {
  int status = QN_OK;
  struct qn_gpdata d;
  memset(&d, 0, sizeof d);
  int64_t *perm = NULL, *gs = NULL, *fileof = NULL, *which = NULL;
  QN_CHECK(qn_group_load(j, wk, gp, &d, err));
  qn_group_drop_part(j, gp);
  int64_t n = d.rows, ng = 0;
  perm = qn_grow(j->ctx, &wk->perm, &wk->cap_perm, (size_t)(n + 1) * 8, err);
  gs = qn_grow(j->ctx, &wk->gs, &wk->cap_gs, (size_t)(n + 2) * 8, err);
  if (!perm || !gs) {
    status = err && err->code ? err->code : QN_ELIMIT;
    goto done;
  }
  struct qn_group_keys keys = {j->key_string, NULL, NULL, NULL};
  int64_t *widened = NULL;
  if (j->key_string) {
    keys.bytes = d.cols[0].data;
    keys.offsets = d.cols[0].offsets;
  } else if (j->cols[0].type == QN_INT64 || j->cols[0].type == QN_TIMESTAMP ||
             j->cols[0].type == QN_UINT64) {
    keys.ikeys = d.cols[0].data; /* 64-bit keys as they are (uint64: re-mapped below) */
  }
  if (!j->key_string && !keys.ikeys) { /* narrower integers: widen for the kernel */
    widened = qn_mem_alloc(j->ctx, (size_t)(n + 1) * 8, "group keys", err);
    if (!widened) {
      status = err && err->code ? err->code : QN_ELIMIT;
      goto done;
    }
    for (int64_t i = 0; i < n; i++) widened[i] = qn_group_key_int(&d.cols[0], i);
    keys.ikeys = widened;
  }
  if (j->cols[0].type == QN_UINT64) { /* compare unsigned: map to the signed order */
    widened = qn_mem_alloc(j->ctx, (size_t)(n + 1) * 8, "group keys", err);
    if (!widened) {
      status = err && err->code ? err->code : QN_ELIMIT;
      goto done;
    }
    for (int64_t i = 0; i < n; i++)
      widened[i] = (int64_t)(((const uint64_t *)d.cols[0].data)[i] ^ ((uint64_t)1 << 63));
    keys.ikeys = widened;
  }
  status = qn_group_partition_sort(j->ctx, &wk->ws, &keys, j->has_order ? d.ord : NULL,
                                   j->has_order ? d.miss : NULL, n, perm, gs, &ng, err);
  qn_mem_free(j->ctx, widened);
  if (status != QN_OK) goto done;
  /* each key's file: (split, shard) from its canonical bytes */
  fileof = qn_grow(j->ctx, &wk->fileof, &wk->cap_fileof, (size_t)(ng + 1) * 8, err);
  which = qn_grow(j->ctx, &wk->which, &wk->cap_which, (size_t)(ng + 1) * 8, err);
  if (!fileof || !which) {
    status = err && err->code ? err->code : QN_ELIMIT;
    goto done;
  }
  for (int64_t g = 0; g < ng; g++) {
    int64_t r = perm[gs[g]];
    uint64_t hs, hh;
    if (j->key_string) {
      const uint8_t *s = (const uint8_t *)d.cols[0].data + d.cols[0].offsets[r];
      size_t len = (size_t)(d.cols[0].offsets[r + 1] - d.cols[0].offsets[r]);
      hs = qn_group_hash_str(s, len, j->opt->seed);
      hh = qn_group_hash_str(s, len, QN_GROUP_SHARD_SEED);
    } else {
      int64_t v = qn_group_key_int(&d.cols[0], r);
      hs = qn_group_hash_int(v, j->opt->seed);
      hh = qn_group_hash_int(v, QN_GROUP_SHARD_SEED);
    }
    int s = qn_group_split_of(hs, j->thresholds, j->nsplits);
    fileof[g] = (int64_t)s * j->shards + (int64_t)(hh % (uint64_t)j->shards);
    int64_t rb = qn_group_row_store(j, &d, perm, gs[g], gs[g + 1]);
    o->bytes_min[s] = QN_MIN(o->bytes_min[s], rb);
    o->bytes_max[s] = QN_MAX(o->bytes_max[s], rb);
    o->bytes_sum[s] += (double)rb;
    o->split_groups[s]++;
    o->split_rows[s] += gs[g + 1] - gs[g];
  }
  for (int f = 0; f < j->nfiles; f++) {
    int64_t m = 0, rows = 0;
    for (int64_t g = 0; g < ng; g++)
      if (fileof[g] == f) {
        which[m++] = g;
        rows += gs[g + 1] - gs[g];
      }
    o->groups[f] += m;
    o->rows[f] += rows;
    if (m > 0)
      QN_CHECK(qn_group_emit(j, wk, worker, f, sink, &d, perm, gs, which, m, rows, err));
  }
done:
  return status;
}

static int qn_group_partition(struct qn_group_job *j, struct qn_gwork *wk, int worker, int p,
                              struct qn_gpout *o, struct qn_error *err) {
  for (int s = 0; s < j->nsplits; s++) {
    o->bytes_min[s] = INT64_MAX;
    o->bytes_max[s] = 0;
  }
  for (int f = 0; f < j->nfiles; f++) o->groups[f] = o->rows[f] = 0;
  struct qn_gsink sink = {qn_group_deliver_part, o, NULL};
  return qn_group_rows(j, wk, worker, &j->parts[p], o, &sink, err);
}

/* ----- a partition too large to group at once ----- */

/* A file's output rows waiting for the rows that follow them in the same
 * partition (a streamed partition's pages are cut as if it came whole). */
struct qn_gpend {
  struct qn_colbuf cols[66];
  int64_t rows;
  void *buf[2];
  size_t cap[2];
  int cur;
};

/* Bytes of rows [r0, r1) of an output column set (key, n, lists). */
static size_t qn_gout_bytes(const struct qn_group_job *j, const struct qn_colbuf *o, int64_t r0,
                            int64_t r1, int64_t *elems) {
  int64_t e = (j->ncols > 1 && r1 > r0) ? o[2].lists[r1] - o[2].lists[r0] : 0;
  *elems = e;
  size_t b = 0;
  if (j->key_string) b += (size_t)(o[0].offsets[r1] - o[0].offsets[r0]);
  for (int c = 1; c < j->ncols; c++)
    if (!j->cols[c].width && e > 0) {
      int64_t a = o[c + 1].lists[r0], z = o[c + 1].lists[r1];
      b += (size_t)(o[c + 1].offsets[z] - o[c + 1].offsets[a]);
    }
  return b;
}

/* dst := rows [a0, a1) of A then [b0, b1) of B (A may be NULL), in buf. */
static int qn_gout_concat(struct qn_group_job *j, void **buf, size_t *cap,
                          struct qn_colbuf *dst, const struct qn_colbuf *A, int64_t a0,
                          int64_t a1, const struct qn_colbuf *B, int64_t b0, int64_t b1,
                          struct qn_error *err) {
  int64_t ea = 0, eb = 0;
  size_t sa = A ? qn_gout_bytes(j, A, a0, a1, &ea) : 0, sb = qn_gout_bytes(j, B, b0, b1, &eb);
  int64_t rows = (A ? a1 - a0 : 0) + (b1 - b0), el = ea + eb;
  size_t size = 64 + qn_round8((size_t)(rows + 1) * 8) * 3 + qn_round8(sa + sb);
  for (int c = 1; c < j->ncols; c++) {
    const struct qn_gcol *g = &j->cols[c];
    size += g->width ? qn_round8((size_t)el * g->width) : qn_round8((size_t)(el + 1) * 8);
    if (g->nullable) size += qn_round8((size_t)el);
  }
  size += qn_round8((size_t)rows * (j->cols[0].width ? j->cols[0].width : 0));
  char *q = qn_grow(j->ctx, buf, cap, size, err);
  if (!q) return err && err->code ? err->code : QN_ELIMIT;
  const struct qn_colbuf *src[2] = {A, B};
  int64_t from[2] = {a0, b0}, to[2] = {a1, b1};
  /* key */
  const struct qn_gcol *kg = &j->cols[0];
  memset(dst, 0, sizeof(struct qn_colbuf) * (size_t)(j->ncols + 1));
  dst[0].type = kg->type;
  dst[0].n = rows;
  int64_t *lists = NULL;
  if (kg->width) {
    dst[0].data = q;
    char *d = q;
    for (int k = 0; k < 2; k++)
      if (src[k] && to[k] > from[k]) {
        size_t n = (size_t)(to[k] - from[k]) * kg->width;
        memcpy(d, (const char *)src[k][0].data + (size_t)from[k] * kg->width, n);
        d += n;
      }
    q += qn_round8((size_t)rows * kg->width);
  } else {
    int64_t *off = (int64_t *)(void *)q;
    q += qn_round8((size_t)(rows + 1) * 8);
    char *bytes = q;
    off[0] = 0;
    int64_t r = 0;
    for (int k = 0; k < 2; k++)
      for (int64_t i = from[k]; src[k] && i < to[k]; i++, r++) {
        int64_t x = src[k][0].offsets[i], y = src[k][0].offsets[i + 1];
        memcpy(bytes + off[r], (const char *)src[k][0].data + x, (size_t)(y - x));
        off[r + 1] = off[r] + (y - x);
      }
    dst[0].offsets = off;
    dst[0].data = bytes;
    q += qn_round8((size_t)off[rows]);
  }
  /* n */
  int64_t *nn = (int64_t *)(void *)q;
  q += qn_round8((size_t)(rows + 1) * 8);
  dst[1] = (struct qn_colbuf){QN_INT64, rows, nn, NULL, NULL, NULL};
  int64_t r = 0;
  for (int k = 0; k < 2; k++)
    for (int64_t i = from[k]; src[k] && i < to[k]; i++)
      nn[r++] = ((const int64_t *)src[k][1].data)[i];
  /* the lists' offsets, shared */
  lists = (int64_t *)(void *)q;
  q += qn_round8((size_t)(rows + 1) * 8);
  lists[0] = 0;
  r = 0;
  for (int k = 0; k < 2; k++)
    for (int64_t i = from[k]; src[k] && i < to[k]; i++, r++) lists[r + 1] = lists[r] + nn[r];
  for (int c = 1; c < j->ncols; c++) {
    const struct qn_gcol *g = &j->cols[c];
    struct qn_colbuf *o = &dst[c + 1];
    o->type = g->type;
    o->n = el;
    o->lists = lists;
    int64_t e = 0;
    if (g->width) {
      o->data = q;
      for (int k = 0; k < 2; k++) {
        if (!src[k] || to[k] <= from[k]) continue;
        int64_t x = src[k][c + 1].lists[from[k]], y = src[k][c + 1].lists[to[k]];
        memcpy(q + (size_t)e * g->width,
               (const char *)src[k][c + 1].data + (size_t)x * g->width,
               (size_t)(y - x) * g->width);
        e += y - x;
      }
      q += qn_round8((size_t)el * g->width);
    } else {
      int64_t *off = (int64_t *)(void *)q;
      q += qn_round8((size_t)(el + 1) * 8);
      off[0] = 0;
      char *bytes = q;
      for (int k = 0; k < 2; k++) {
        if (!src[k] || to[k] <= from[k]) continue;
        const struct qn_colbuf *sc = &src[k][c + 1];
        int64_t x = sc->lists[from[k]], y = sc->lists[to[k]];
        int64_t bx = sc->offsets[x], by = sc->offsets[y];
        memcpy(bytes + off[e], (const char *)sc->data + bx, (size_t)(by - bx));
        for (int64_t i = x; i < y; i++, e++)
          off[e + 1] = off[e] + (sc->offsets[i + 1] - sc->offsets[i]);
      }
      o->offsets = off;
      o->data = bytes;
      q += qn_round8((size_t)off[el]);
    }
    if (g->nullable) {
      o->valid = (uint8_t *)q;
      e = 0;
      for (int k = 0; k < 2; k++) {
        if (!src[k] || to[k] <= from[k]) continue;
        const struct qn_colbuf *sc = &src[k][c + 1];
        int64_t x = sc->lists[from[k]], y = sc->lists[to[k]];
        for (int64_t i = x; i < y; i++, e++) o->valid[e] = sc->valid ? sc->valid[i] : 1;
      }
      q += qn_round8((size_t)el);
    }
  }
  return QN_OK;
}

/* Streamed delivery: the file's pending rows and these, encoded as far as
 * whole pages go and appended (this partition is the only one running and
 * every earlier one is written); the rest waits. */
static int qn_group_deliver_stream(struct qn_group_job *j, struct qn_gwork *wk, int worker,
                                   int f, struct qn_colbuf *out, int64_t rows,
                                   struct qn_gsink *sink, struct qn_error *err) {
  struct qn_gpend *pd = &sink->pend[f];
  int nxt = 1 - pd->cur;
  struct qn_colbuf all[66];
  (void)wk;
  if (!j->files[f].w) return QN_OK; /* another rank's file */
  QN_RETURN_IF_ERROR(qn_gout_concat(j, &pd->buf[nxt], &pd->cap[nxt], all,
                                    pd->rows ? pd->cols : NULL, 0, pd->rows, out, 0, rows,
                                    err));
  int64_t n = pd->rows + rows, used = 0;
  void *part = NULL;
  QN_RETURN_IF_ERROR(
      qn_writer_encode_partial(j->files[f].w, worker, all, n, 0, &part, &used, err));
  if (part) QN_RETURN_IF_ERROR(qn_writer_append(j->files[f].w, part, err));
  /* what waits goes to the other buffer */
  pd->rows = n - used;
  if (pd->rows > 0)
    QN_RETURN_IF_ERROR(qn_gout_concat(j, &pd->buf[pd->cur], &pd->cap[pd->cur], pd->cols, NULL,
                                      0, 0, all, used, n, err));
  return QN_OK;
}

/* The last rows of a streamed partition, as the end of its part. */
static int qn_group_stream_finish(struct qn_group_job *j, int worker, struct qn_gpend *pend,
                                  struct qn_error *err) {
  for (int f = 0; f < j->nfiles; f++) {
    struct qn_gpend *pd = &pend[f];
    if (pd->rows == 0 || !j->files[f].w) continue;
    void *part = NULL;
    QN_RETURN_IF_ERROR(
        qn_writer_encode(j->files[f].w, worker, pd->cols, pd->rows, 0, &part, err));
    QN_RETURN_IF_ERROR(qn_writer_append(j->files[f].w, part, err));
    pd->rows = 0;
  }
  return QN_OK;
}

/* Re-splits the rows of gp (prefixes in [lo, hi]) into QN_GROUP_SUBP pieces
 * by the finer range, spilled; gp's blocks are freed as they are read. */
static int qn_group_resplit(struct qn_group_job *j, int w, struct qn_gpart *gp, uint64_t lo,
                            uint64_t hi, struct qn_gpart *sub, struct qn_error *err) {
  int status = QN_OK;
  struct qn_gfill *fills = calloc(QN_GROUP_SUBP, sizeof *fills);
  int32_t *idx = malloc((size_t)(j->block_rows > 0 ? j->block_rows : 4096) * 4 + 4);
  uint16_t *pid = NULL;
  int64_t pid_cap = 0;
  int32_t *bucket = NULL;
  if (!fills || !idx) {
    status = qn_error_set(err, QN_ENOMEM, "out of memory");
    goto done;
  }
  for (int b = 0; b < gp->nblocks && status == QN_OK; b++) {
    struct qn_gblock *bl = &gp->blocks[b];
    struct qn_colbuf v[64];
    uint64_t *ord = NULL;
    uint8_t *miss = NULL;
    char *image = NULL;
    if (bl->resident) {
      qn_gfill_view(j, bl->mem, v, &ord, &miss);
    } else {
      image = qn_mem_alloc(j->ctx, (size_t)bl->size, "a group block re-split", err);
      if (!image) {
        status = err && err->code ? err->code : QN_ELIMIT;
        break;
      }
      QN_CHECK(qn_spill_read(j->spill, &bl->ref, image, err));
      qn_gimage_view(j, image, bl->rows, v, &ord, &miss);
    }
    if (bl->rows > pid_cap) {
      free(pid);
      free(bucket);
      pid_cap = bl->rows;
      pid = malloc((size_t)pid_cap * sizeof *pid);
      bucket = malloc((size_t)pid_cap * sizeof *bucket);
      if (!pid || !bucket) {
        qn_mem_free(j->ctx, image);
        status = qn_error_set(err, QN_ENOMEM, "out of memory");
        break;
      }
    }
    for (int64_t r = 0; r < bl->rows;
         r++) { /* equal-width slices of [lo, hi], as the pieces are taken */
      const uint64_t k = qn_group_key_prefix(&v[0], r);
      uint64_t width = (hi - lo) / QN_GROUP_SUBP + 1, x = k < lo ? 0 : k - lo;
      pid[r] = (uint16_t)QN_MIN(x / width, (uint64_t)QN_GROUP_SUBP - 1);
    }
    for (int s = 0; s < bl->nseg && status == QN_OK; s++) { /* one run at a time */
      int64_t a = bl->seg[s].start, z = s + 1 < bl->nseg ? bl->seg[s + 1].start : bl->rows;
      int64_t counts[QN_GROUP_SUBP + 1] = {0}, start[QN_GROUP_SUBP + 1];
      for (int64_t r = a; r < z; r++) counts[pid[r]]++;
      start[0] = 0;
      for (int q = 0; q < QN_GROUP_SUBP; q++) start[q + 1] = start[q] + counts[q];
      int64_t next[QN_GROUP_SUBP];
      memcpy(next, start, sizeof next);
      for (int64_t r = a; r < z; r++) bucket[next[pid[r]]++] = (int32_t)(r - a);
      for (int q = 0; q < QN_GROUP_SUBP && status == QN_OK; q++) {
        if (!counts[q]) continue;
        /* the source columns from the run's first row on */
        struct qn_colbuf src[64];
        for (int c = 0; c < j->ncols; c++) {
          src[c] = v[c];
          if (j->cols[c].width)
            src[c].data = (char *)v[c].data + (size_t)a * j->cols[c].width;
          else
            src[c].offsets = v[c].offsets + a;
          if (v[c].valid) src[c].valid = v[c].valid + a;
        }
        status =
            qn_gfill_append(j, w, &fills[q], &sub[q], 1, src, bucket + start[q], counts[q],
                            ord ? ord + a : NULL, miss ? miss + a : NULL, &bl->seg[s], a, err);
      }
    }
    qn_mem_free(j->ctx, image);
  }
  for (int q = 0; q < QN_GROUP_SUBP && status == QN_OK; q++)
    status = qn_gfill_seal_to(j, w, &fills[q], &sub[q], 1, err);
done:
  qn_group_drop_part(j, gp);
  for (int q = 0; fills && q < QN_GROUP_SUBP; q++) qn_gfill_free(j, &fills[q]);
  free(fills);
  free(idx);
  free(pid);
  free(bucket);
  return status;
}

static void qn_gpart_free(struct qn_group_job *j, struct qn_gpart *gp) {
  for (int b = 0; b < gp->nblocks; b++) {
    qn_mem_release(j->ctx, QN_GBLOCK_META(gp->blocks[b].nseg));
    if (gp->blocks[b].resident) {
      qn_gfill_free(j, gp->blocks[b].mem);
      free(gp->blocks[b].mem);
    }
    free(gp->blocks[b].seg);
  }
  free(gp->blocks);
  memset(gp, 0, sizeof *gp);
}

/* Groups gp (prefixes in [lo, hi]) alone: at once when it fits the
 * budget, else re-split by range and each piece in order, recursively. */
static int qn_group_stream(struct qn_group_job *j, struct qn_gwork *wk, int worker,
                           struct qn_gpart *gp, uint64_t lo, uint64_t hi, struct qn_gpout *o,
                           struct qn_gsink *sink, struct qn_error *err) {
  int64_t rows, need = 0;
  for (int b = 0; b < gp->nblocks; b++) need += gp->blocks[b].size;
  rows = 0;
  for (int b = 0; b < gp->nblocks; b++) rows += gp->blocks[b].rows;
  need = 3 * need + 48 * rows + ((int64_t)2 << 20);
  /* the room now: it grows as earlier partitions free their resident
   * blocks; this one's own resident blocks are in its need */
  int64_t own = 0;
  for (int b = 0; b < gp->nblocks; b++) own += gp->blocks[b].resident ? gp->blocks[b].size : 0;
  int64_t room = qn_mem_available(j->ctx) - j->writers_bytes + own;
  if (need <= room || lo == hi) /* fits, or one prefix: cannot be split (checked by the plan) */
    return qn_group_rows(j, wk, worker, gp, o, sink, err);
  struct qn_gpart *sub = calloc(QN_GROUP_SUBP, sizeof *sub);
  if (!sub) return qn_error_set(err, QN_ENOMEM, "out of memory");
  int status = qn_group_resplit(j, worker, gp, lo, hi, sub, err);
  uint64_t width = (hi - lo) / QN_GROUP_SUBP + 1;
  for (int q = 0; q < QN_GROUP_SUBP && status == QN_OK; q++) {
    if (sub[q].nblocks == 0) continue;
    uint64_t a = lo + (uint64_t)q * width;
    uint64_t z = (q == QN_GROUP_SUBP - 1 || hi - a < width) ? hi : a + width - 1;
    status = qn_group_stream(j, wk, worker, &sub[q], a, z, o, sink, err);
  }
  for (int q = 0; q < QN_GROUP_SUBP; q++) qn_gpart_free(j, &sub[q]);
  free(sub);
  return status;
}

/* Partition p, too large for a worker's share: re-split and streamed. */
static int qn_group_partition_stream(struct qn_group_job *j, struct qn_gwork *wk, int worker,
                                     int p, struct qn_gpout *o, struct qn_error *err) {
  for (int s = 0; s < j->nsplits; s++) {
    o->bytes_min[s] = INT64_MAX;
    o->bytes_max[s] = 0;
  }
  for (int f = 0; f < j->nfiles; f++) o->groups[f] = o->rows[f] = 0;
  struct qn_gpend *pend = calloc((size_t)j->nfiles, sizeof *pend);
  if (!pend) return qn_error_set(err, QN_ENOMEM, "out of memory");
  struct qn_gsink sink = {qn_group_deliver_stream, o, pend};
  uint64_t width = (j->hi - j->lo) / QN_GROUP_P + 1;
  uint64_t a = j->lo + (uint64_t)p * width;
  uint64_t z = (p == QN_GROUP_P - 1 || j->hi - a < width) ? j->hi : a + width - 1;
  int status = qn_group_stream(j, wk, worker, &j->parts[p], a, z, o, &sink, err);
  if (status == QN_OK) status = qn_group_stream_finish(j, worker, pend, err);
  qn_group_trim(j->ctx);
  for (int f = 0; f < j->nfiles; f++) {
    qn_mem_free(j->ctx, pend[f].buf[0]);
    qn_mem_free(j->ctx, pend[f].buf[1]);
  }
  free(pend);
  return status;
}

/* The ordered commit of pass 2: partitions run on every worker, at most
 * `window` ahead of the oldest not yet appended; appends go in order. */
struct qn_group_pass2 {
  struct qn_group_job *j;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int next_take, next_commit, window, failed;
  int exclusive; /* a streamed partition runs: nobody takes another */
  struct qn_gpout *slots;
  struct qn_gwork *work; /* per worker */
  struct qn_error err;
};

static int qn_group_commit(struct qn_group_pass2 *q, struct qn_gpout *o, struct qn_error *err) {
  struct qn_group_job *j = q->j;
  int status = QN_OK;
  for (int f = 0; f < j->nfiles; f++) {
    void *part = o->parts[f];
    o->parts[f] = NULL;
    if (part && status == QN_OK)
      status = qn_writer_append(j->files[f].w, part, err);
    else if (part)
      qn_writer_part_free(j->files[f].w, part);
    j->files[f].groups += o->groups[f];
    j->files[f].rows += o->rows[f];
  }
  for (int s = 0; s < j->nsplits; s++) {
    struct qn_gsplit *g = &j->gsplits[s];
    if (o->split_groups[s] == 0) continue;
    g->bytes_min = g->groups ? QN_MIN(g->bytes_min, o->bytes_min[s]) : o->bytes_min[s];
    g->bytes_max = QN_MAX(g->bytes_max, o->bytes_max[s]);
    g->bytes_sum += o->bytes_sum[s];
    g->groups += o->split_groups[s];
    g->rows += o->split_rows[s];
    j->groups += o->split_groups[s];
  }
  return status;
}

static void qn_group_pass2_worker(void *arg, int worker) {
  struct qn_group_pass2 *q = arg;
  struct qn_group_job *j = q->j;
  struct qn_error err;
  qn_error_init(&err);
  for (;;) {
    pthread_mutex_lock(&q->lock);
    while (!q->failed && q->next_take < QN_GROUP_P &&
           (q->exclusive || q->next_take >= q->next_commit + q->window))
      pthread_cond_wait(&q->cond, &q->lock);
    if (q->failed || q->next_take >= QN_GROUP_P) {
      pthread_mutex_unlock(&q->lock);
      return;
    }
    int p = q->next_take++;
    struct qn_gpout *o = &q->slots[p % q->window];
    int alone = j->oversized[p];
    if (alone) { /* every earlier partition written, nothing else running */
      q->exclusive = 1;
      while (!q->failed && q->next_commit != p) pthread_cond_wait(&q->cond, &q->lock);
    }
    pthread_mutex_unlock(&q->lock);
    int64_t prow = 0;
    for (int b = 0; b < j->parts[p].nblocks; b++) prow += j->parts[p].blocks[b].rows;
    int st = QN_OK;
    if (atomic_load_explicit(&j->ctx->cancel, memory_order_relaxed)) /* qn_context_cancel */
      st = qn_error_set(&err, QN_ECANCELED, "the job was cancelled");
    else if (alone && q->failed)
      st = QN_EINTERNAL;
    else if (alone)
      st = qn_group_partition_stream(j, &q->work[worker], worker, p, o, &err);
    else
      st = qn_group_partition(j, &q->work[worker], worker, p, o, &err);
    qn_progress_add(j->progress, prow);
    pthread_mutex_lock(&q->lock);
    o->done = 1;
    while (st == QN_OK && !q->failed && q->next_commit < QN_GROUP_P &&
           q->slots[q->next_commit % q->window].done) {
      struct qn_gpout *c = &q->slots[q->next_commit % q->window];
      st = qn_group_commit(q, c, &err);
      c->done = 0;
      for (int s = 0; s < j->nsplits; s++)
        c->split_groups[s] = c->split_rows[s] = 0, c->bytes_sum[s] = 0;
      q->next_commit++;
    }
    if (alone) q->exclusive = 0;
    if (st != QN_OK && !q->failed) {
      q->failed = 1;
      q->err = err;
    }
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->lock);
    if (st != QN_OK) return;
  }
}

static int qn_group_pass2(struct qn_group_job *j, struct qn_error *err) {
  struct qn_group_pass2 q;
  memset(&q, 0, sizeof q);
  q.j = j;
  q.window = QN_MAX(1, j->workers2) + 1;
  qn_error_init(&q.err);
  pthread_mutex_init(&q.lock, NULL);
  pthread_cond_init(&q.cond, NULL);
  int status = QN_OK;
  q.slots = calloc((size_t)q.window, sizeof *q.slots);
  q.work = calloc((size_t)QN_MAX(1, j->workers2), sizeof *q.work);
  if (!q.slots || !q.work) {
    status = qn_error_set(err, QN_ENOMEM, "out of memory");
    goto done;
  }
  for (int i = 0; i < q.window; i++) {
    q.slots[i].parts = calloc((size_t)j->nfiles, sizeof(void *));
    q.slots[i].groups = calloc((size_t)j->nfiles, sizeof(int64_t));
    q.slots[i].rows = calloc((size_t)j->nfiles, sizeof(int64_t));
    if (!q.slots[i].parts || !q.slots[i].groups || !q.slots[i].rows) {
      status = qn_error_set(err, QN_ENOMEM, "out of memory");
      goto done;
    }
  }
  j->progress = qn_progress_start(j->ctx, "group: write", j->rows_in);
  status = qn_pool_run(j->ctx, QN_MAX(1, j->workers2), qn_group_pass2_worker, &q, err);
  qn_progress_finish(j->progress);
  j->progress = NULL;
  if (status == QN_OK && q.failed) {
    status = q.err.code ? q.err.code : QN_EINTERNAL;
    if (err && err->code == QN_OK) *err = q.err;
  }
done:
  for (int i = 0; q.slots && i < q.window; i++) {
    for (int f = 0; q.slots[i].parts && f < j->nfiles; f++)
      if (q.slots[i].parts[f]) qn_writer_part_free(j->files[f].w, q.slots[i].parts[f]);
    free(q.slots[i].parts);
    free(q.slots[i].groups);
    free(q.slots[i].rows);
  }
  free(q.slots);
  for (int w = 0; q.work && w < QN_MAX(1, j->workers2); w++) qn_gwork_free(j->ctx, &q.work[w]);
  free(q.work);
  pthread_mutex_destroy(&q.lock);
  pthread_cond_destroy(&q.cond);
  return status;
}

/* ----- the output directory ----- */

/* dirname of path into buf ("." when it has none). */
static void qn_group_parent(const char *path, char *buf, size_t cap) {
  snprintf(buf, cap, "%s", path);
  size_t n = strlen(buf);
  while (n > 1 && buf[n - 1] == '/') buf[--n] = 0;
  char *slash = strrchr(buf, '/');
  if (!slash)
    snprintf(buf, cap, ".");
  else if (slash == buf)
    buf[1] = 0;
  else
    *slash = 0;
}

static const char *qn_group_base(const char *path, char *buf, size_t cap) {
  snprintf(buf, cap, "%s", path);
  size_t n = strlen(buf);
  while (n > 1 && buf[n - 1] == '/') buf[--n] = 0;
  char *slash = strrchr(buf, '/');
  return slash ? slash + 1 : buf;
}

/* The directory must not exist, be empty, or (with force) be a quern
 * output (it has a manifest.json). */
static int qn_group_check_output(const char *dir, int force, int *exists,
                                 struct qn_error *err) {
  struct stat st;
  *exists = 0;
  if (stat(dir, &st) != 0) return QN_OK;
  if (!S_ISDIR(st.st_mode))
    return qn_error_set(err, QN_EINVAL, "%s exists and is not a directory", dir);
  DIR *d = opendir(dir);
  if (!d) return qn_error_set(err, QN_EIO, "%s: %s", dir, strerror(errno));
  int entries = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) entries++;
  closedir(d);
  if (entries == 0) {
    *exists = 1; /* empty: replaced */
    return QN_OK;
  }
  char manifest[4200];
  snprintf(manifest, sizeof manifest, "%s/manifest.json", dir);
  if (!force)
    return qn_error_set(
        err, QN_EINVAL,
        "%s exists and is not empty (a quern output is replaced only with force)", dir);
  if (access(manifest, F_OK) != 0)
    return qn_error_set(err, QN_EINVAL,
                        "%s is not a quern output (no manifest.json): not replaced, even "
                        "with force",
                        dir);
  *exists = 2;
  return QN_OK;
}

/* The output format: parquet (the default), tfrecord or arrayrecord, the
 * writers of the output layer that hold lists. */
static const struct qn_writer_format *qn_group_format(const struct qn_group_options *o) {
  const char *name = o->format ? o->format : "parquet";
  if (strcmp(name, "parquet") && strcmp(name, "tfrecord") && strcmp(name, "arrayrecord"))
    return NULL;
  return qn_writer_format_named(name);
}

/* The format, its codec and, for tf.train.Example records (one feature a
 * name), no column named as the count: before any work. */
static int qn_group_check_format(const struct qn_group_job *j, struct qn_error *err) {
  const struct qn_group_options *o = j->opt;
  const struct qn_writer_format *wf = qn_group_format(o);
  if (!wf)
    return qn_error_set(err, QN_EINVAL,
                        "format '%s' is not one group writes (use parquet, tfrecord or "
                        "arrayrecord)",
                        o->format);
  for (int c = 0; c < j->ncols && strcmp(wf->name, "parquet") != 0; c++)
    if (!strcmp(j->cols[c].name, "n"))
      return qn_error_set(err, QN_EINVAL,
                          "column 'n' has the name of the count: a %s record holds one "
                          "feature a name (leave the column out with -c or rename it)",
                          wf->name);
  struct qn_writer_options wo;
  qn_writer_options_init(&wo);
  wo.codec = o->codec;
  return wf->check ? wf->check(&wo, err) : QN_OK;
}

static json_t *qn_group_manifest(struct qn_group_job *j) {
  const struct qn_group_options *o = j->opt;
  json_t *m = json_object();
  json_object_set_new(m, "quern_version", json_string(QN_VERSION_STRING));
  const struct qn_writer_format *wf = qn_group_format(o);
  int records = strcmp(wf->name, "parquet") != 0; /* tf.train.Example records */
  json_object_set_new(m, "format", json_string(wf->name));
  json_t *opts = json_object();
  json_object_set_new(opts, "key", json_string(o->key));
  json_object_set_new(opts, "order", o->order ? json_string(o->order) : json_null());
  json_t *split = json_array();
  for (int s = 0; s < j->nsplits; s++) {
    json_t *x = json_object();
    json_object_set_new(x, "name", json_string(j->splits[s].name));
    json_object_set_new(x, "fraction", qn_json_double(j->splits[s].fraction));
    json_array_append_new(split, x);
  }
  json_object_set_new(opts, "split", split);
  json_object_set_new(opts, "seed", json_integer((json_int_t)o->seed));
  json_object_set_new(opts, "shards", json_integer(j->shards));
  const char *codec = o->codec;
  if (!codec) codec = records ? "none" : "snappy";
  json_object_set_new(opts, "codec", json_string(codec));
  json_object_set_new(opts, "partitions", json_integer(QN_GROUP_P));
  json_object_set_new(m, "options", opts);
  json_t *inputs = json_array();
  for (int f = 0; f < j->src->nfiles; f++)
    json_array_append_new(inputs, json_string(qn_source_file_path(j->src, f)));
  json_object_set_new(m, "inputs", inputs);
  json_object_set_new(m, "rows", json_integer(j->rows_in));
  json_object_set_new(m, "groups", json_integer(j->groups));
  int64_t nulls = 0;
  for (int w = 0; w < j->workers; w++) nulls += j->null_keys[w];
  json_object_set_new(m, "null_key_rows", json_integer(nulls));
  json_t *key = json_object();
  json_object_set_new(key, "name", json_string(j->cols[0].name));
  json_object_set_new(key, "type", json_string(j->cols[0].type_name));
  json_object_set_new(m, "key", key);
  if (o->order) {
    json_t *ord = json_object();
    int oc = qn_source_find_column(j->src, o->order);
    json_object_set_new(ord, "name", json_string(o->order));
    json_object_set_new(ord, "type", json_string(j->src->cols[oc].type_name));
    json_object_set_new(m, "order", ord);
  } else {
    json_object_set_new(m, "order", json_null());
  }
  json_t *cols = json_array();
  for (int c = -1; c < j->ncols; c++) {
    json_t *x = json_object();
    const char *name = c < 0 ? j->cols[0].name : c == 0 ? "n" : j->cols[c].name;
    const char *type = c < 0 ? j->cols[0].type_name : c == 0 ? "int64" : j->cols[c].type_name;
    json_object_set_new(x, "name", json_string(name));
    json_object_set_new(x, "type", json_string(type));
    json_object_set_new(x, "list", json_boolean(c > 0));
    if (c > 0) json_object_set_new(x, "nullable", json_boolean(j->cols[c].nullable));
    json_array_append_new(cols, x);
  }
  json_object_set_new(m, "columns", cols);
  if (records) { /* tf.train.Example has no float64: these lists hold float32 */
    json_t *narrow = json_array();
    for (int c = 1; c < j->ncols; c++)
      if (j->cols[c].type == QN_FLOAT64)
        json_array_append_new(narrow, json_string(j->cols[c].name));
    json_object_set_new(m, "narrowed_to_float32", narrow);
  }
  json_t *splits = json_array();
  for (int s = 0; s < j->nsplits; s++) {
    const struct qn_gsplit *g = &j->gsplits[s];
    json_t *x = json_object();
    json_object_set_new(x, "name", json_string(j->splits[s].name));
    json_object_set_new(x, "groups", json_integer(g->groups));
    json_object_set_new(x, "rows", json_integer(g->rows));
    json_t *rb = json_object();
    json_object_set_new(rb, "min", g->groups ? json_integer(g->bytes_min) : json_null());
    json_object_set_new(
        rb, "mean", g->groups ? qn_json_double(g->bytes_sum / (double)g->groups) : json_null());
    json_object_set_new(rb, "max", g->groups ? json_integer(g->bytes_max) : json_null());
    json_object_set_new(x, "row_bytes", rb);
    json_t *files = json_array();
    for (int h = 0; h < j->shards; h++) {
      const struct qn_gfile *f = &j->files[s * j->shards + h];
      json_t *y = json_object();
      char hex[33];
      qn_checksum_hex(&f->sum, hex);
      json_object_set_new(y, "path", json_string(f->name));
      json_object_set_new(y, "groups", json_integer(f->groups));
      json_object_set_new(y, "rows", json_integer(f->rows));
      json_object_set_new(y, "bytes", json_integer(f->sum.bytes));
      json_object_set_new(y, "xxh3_128", json_string(hex));
      json_array_append_new(files, y);
    }
    json_object_set_new(x, "files", files);
    json_array_append_new(splits, x);
  }
  json_object_set_new(m, "splits", splits);
  return m;
}

/* ----- the job ----- */

/* Rank 0 takes each file's checksum from the rank that wrote it. */
struct qn_group_sums {
  struct qn_group_job *j;
  int64_t at; /* bytes taken so far from the current rank */
};

static int qn_group_take_sums(void *user, int rank, const void *buf, size_t len,
                              struct qn_error *err) {
  struct qn_group_sums *g = user;
  const struct qn_checksum *s = buf;
  (void)err;
  if (g->at >= (int64_t)g->j->nfiles) g->at = 0; /* the next rank */
  for (size_t i = 0; i < len / sizeof *s; i++, g->at++)
    if (g->at % g->j->nranks == rank) g->j->files[g->at].sum = s[i];
  return QN_OK;
}

static int qn_group_open_files(struct qn_group_job *j, const char *tmp, struct qn_error *err) {
  j->nfiles = j->nsplits * j->shards;
  j->files = calloc((size_t)j->nfiles, sizeof *j->files);
  struct qn_wcolumn *wc = calloc((size_t)j->ncols + 2, sizeof *wc);
  int status = QN_OK;
  if (!j->files || !wc) {
    free(wc);
    return qn_error_set(err, QN_ENOMEM, "out of memory");
  }
  wc[0] = (struct qn_wcolumn){j->cols[0].name, j->cols[0].type, 0, j->cols[0].time_unit, 0};
  wc[1] = (struct qn_wcolumn){"n", QN_INT64, 0, 0, 0};
  for (int c = 1; c < j->ncols; c++)
    wc[c + 1] = (struct qn_wcolumn){j->cols[c].name, j->cols[c].type, j->cols[c].nullable,
                                    j->cols[c].time_unit, 1};
  struct qn_writer_options wo;
  qn_writer_options_init(&wo);
  wo.codec = j->opt->codec;
  for (int s = 0; s < j->nsplits && status == QN_OK; s++)
    for (int h = 0; h < j->shards && status == QN_OK; h++) {
      struct qn_gfile *f = &j->files[s * j->shards + h];
      snprintf(f->name, sizeof f->name, "%s-%05d-of-%05d%s", j->splits[s].name, h, j->shards,
               qn_group_format(j->opt)->extensions[0]);
      if ((s * j->shards + h) % j->nranks != j->rank) continue; /* another rank's file */
      char path[4400];
      snprintf(path, sizeof path, "%s/%s", tmp, f->name);
      status = qn_writer_open(j->ctx, path, wc, j->ncols + 1, &wo, &f->w, err);
    }
  free(wc);
  return status;
}

/* What grouping partition p takes in pass 2: the partition gathered, the
 * spilled blocks read back, its order, its output rows and their encoded
 * pages (about three times its bytes) and 48 bytes a row of sort arrays. */
static int64_t qn_group_part_need(const struct qn_group_job *j, int p, int64_t *rows) {
  int64_t bytes = 0, r = 0;
  for (int b = 0; b < j->parts[p].nblocks; b++) {
    bytes += j->parts[p].blocks[b].size;
    r += j->parts[p].blocks[b].rows;
  }
  *rows = r;
  return 3 * bytes + 48 * r + ((int64_t)2 << 20);
}

/* The key with the most rows in partition p, read block by block (a
 * spilled one at a time): what an impossible memory limit is named by. */
static int qn_group_largest_key(struct qn_group_job *j, int p, char *name, size_t cap,
                                int64_t *krows, struct qn_error *err) {
  struct qn_gpart *gp = &j->parts[p];
  int64_t total = 0;
  for (int b = 0; b < gp->nblocks; b++) total += gp->blocks[b].rows;
  int64_t tcap = 64;
  while (tcap < 2 * total) tcap *= 2;
  /* (key as int64 or hash of the string, count, a row holding it) */
  int64_t *keys = calloc((size_t)tcap, sizeof *keys), *cnt = calloc((size_t)tcap, sizeof *cnt);
  char **text = j->key_string ? calloc((size_t)tcap, sizeof *text) : NULL;
  if (!keys || !cnt || (j->key_string && !text)) {
    free(keys);
    free(cnt);
    free(text);
    return qn_error_set(err, QN_ENOMEM, "out of memory");
  }
  int status = QN_OK;
  int64_t best = -1;
  for (int b = 0; b < gp->nblocks && status == QN_OK; b++) {
    struct qn_gblock *bl = &gp->blocks[b];
    struct qn_colbuf v[64];
    uint64_t *ord;
    uint8_t *miss;
    char *image = NULL;
    if (bl->resident) {
      qn_gfill_view(j, bl->mem, v, &ord, &miss);
    } else {
      image = malloc((size_t)bl->size);
      if (!image || qn_spill_read(j->spill, &bl->ref, image, err) != QN_OK) {
        status = image ? (err && err->code ? err->code : QN_EIO)
                       : qn_error_set(err, QN_ENOMEM, "out of memory");
        free(image);
        break;
      }
      qn_gimage_view(j, image, bl->rows, v, &ord, &miss);
    }
    for (int64_t r = 0; r < bl->rows; r++) {
      int64_t k;
      const char *s = NULL;
      size_t len = 0;
      if (j->key_string) {
        s = (const char *)v[0].data + v[0].offsets[r];
        len = (size_t)(v[0].offsets[r + 1] - v[0].offsets[r]);
        k = (int64_t)qn_group_hash_str((const uint8_t *)s, len, 1);
      } else {
        k = qn_group_key_int(&v[0], r);
      }
      uint64_t h = (uint64_t)qn_group_hash_int(k, 2) & (uint64_t)(tcap - 1);
      while (cnt[h] && keys[h] != k) h = (h + 1) & (uint64_t)(tcap - 1);
      if (!cnt[h]) {
        keys[h] = k;
        if (j->key_string) text[h] = strndup(s, len);
      }
      if (++cnt[h] > (best >= 0 ? cnt[best] : 0)) best = (int64_t)h;
    }
    free(image);
  }
  if (status == QN_OK && best >= 0) {
    *krows = cnt[best];
    if (j->key_string)
      snprintf(name, cap, "'%s'", text[best] ? text[best] : "");
    else if (j->cols[0].type == QN_UINT64)
      snprintf(name, cap, "%llu", (unsigned long long)keys[best]);
    else
      snprintf(name, cap, "%lld", (long long)keys[best]);
  }
  for (int64_t i = 0; text && i < tcap; i++) free(text[i]);
  free(text);
  free(keys);
  free(cnt);
  return status;
}

/* Pass 2's plan, before any file is opened. Every worker groups its own
 * partition when each fits a worker's share of the budget; a larger one
 * waits for the others and is grouped alone, re-split by key range into
 * pieces that fit (recursively), its rows streamed to the writers. When a
 * partition cannot fit even alone, its largest key is found: if that one
 * key's rows cannot fit, the error names it, before anything is written. */
static int qn_group_plan_pass2(struct qn_group_job *j, struct qn_error *err) {
  int64_t writers = (int64_t)j->nsplits * j->shards * QN_WRITER_WORK_BYTES;
  j->room2 = qn_mem_available(j->ctx) - writers;
  j->writers_bytes = writers;
  j->workers2 = QN_MAX(1, j->workers);
  int64_t share = j->room2 / j->workers2;
  for (int p = 0; p < QN_GROUP_P; p++) {
    int64_t rows, need = qn_group_part_need(j, p, &rows);
    j->oversized[p] = need > share;
    if (need <= j->room2) continue;
    char key[160] = "?";
    int64_t krows = 0;
    QN_RETURN_IF_ERROR(qn_group_largest_key(j, p, key, sizeof key, &krows, err));
    int64_t per_row = (need - ((int64_t)2 << 20)) / QN_MAX(rows, (int64_t)1);
    int64_t kneed = krows * per_row + ((int64_t)2 << 20);
    if (kneed > j->room2) {
      char what[320];
      snprintf(what, sizeof what, "key %s of column '%s' (%lld rows)", key, j->cols[0].name,
               (long long)krows);
      return qn_mem_require(j->ctx, kneed + writers, what, err);
    }
  }
  return QN_OK;
}

static int qn_group_pass1(struct qn_group_job *j, struct qn_error *err) {
  int status = QN_OK;
  int W = QN_MAX(1, qn_context_threads(j->ctx));
  j->workers = W;
  j->fills = calloc((size_t)W * QN_GROUP_P, sizeof *j->fills);
  j->seqs = calloc((size_t)W, sizeof *j->seqs);
  j->null_keys = calloc((size_t)W, sizeof *j->null_keys);
  j->pid = calloc((size_t)W, sizeof *j->pid);
  j->idx = calloc((size_t)W, sizeof *j->idx);
  j->ordk = calloc((size_t)W, sizeof *j->ordk);
  j->missk = calloc((size_t)W, sizeof *j->missk);
  j->img = calloc((size_t)W, sizeof *j->img);
  j->img_cap = calloc((size_t)W, sizeof *j->img_cap);
  if (!j->img || !j->img_cap || !j->fills || !j->seqs || !j->null_keys || !j->pid || !j->idx ||
      !j->ordk || !j->missk)
    return qn_error_set(err, QN_ENOMEM, "out of memory");
  for (int w = 0; w < W; w++) {
    j->pid[w] = qn_mem_alloc(j->ctx, QN_MORSEL_ROWS * 2, "group scratch", err);
    j->idx[w] = qn_mem_alloc(j->ctx, QN_MORSEL_ROWS * 4, "group scratch", err);
    if (j->has_order) {
      j->ordk[w] = qn_mem_alloc(j->ctx, QN_MORSEL_ROWS * 8, "group scratch", err);
      j->missk[w] = qn_mem_alloc(j->ctx, QN_MORSEL_ROWS, "group scratch", err);
    }
    if (!j->pid[w] || !j->idx[w] || (j->has_order && (!j->ordk[w] || !j->missk[w])))
      return err && err->code ? err->code : QN_ELIMIT;
  }
  /* Open blocks: up to a quarter of the budget over every worker's
   * partitions (256 to 4096 rows each, and no more than the rows give
   * them; only the spill layout depends on it: smaller blocks cost more
   * bookkeeping, about 200 bytes each). Sealed blocks stay resident while
   * they take at most half of what remains, the rest is pass 2's room. */
  int64_t avail = qn_mem_available(j->ctx) - qn_scan_min_bytes(j->src, j->scan_cols, j->nscan);
  int64_t rb = qn_group_row_bytes(j);
  int64_t per_fill = j->rows_in / ((int64_t)W * QN_GROUP_P) + 1;
  j->block_rows = QN_MAX(256, QN_MIN(QN_MIN((int64_t)4096, QN_MAX(per_fill, (int64_t)256)),
                                     avail / 4 / ((int64_t)W * QN_GROUP_P * rb)));
  int64_t fills = (int64_t)W * QN_GROUP_P * j->block_rows * rb;
  j->resident_cap = QN_MAX((int64_t)0, (avail - fills) / 2);
  struct qn_scan_kernel k = {.user = j, .process = qn_group_process};
  struct qn_scan_options so = {.cols = j->scan_cols,
                               .ncols = j->nscan,
                               .label = "group: partition",
                               .kernel_bytes = fills + j->resident_cap};
  QN_CHECK(qn_scan_run(j->ctx, j->src, &so, &k, err));
  for (int w = 0; w < W; w++)
    for (int p = 0; p < QN_GROUP_P; p++) QN_CHECK(qn_gfill_seal(j, w, p, err));
done:
  for (int w = 0; j->fills && w < W; w++)
    for (int p = 0; p < QN_GROUP_P; p++) qn_gfill_free(j, &j->fills[w * QN_GROUP_P + p]);
  for (int w = 0; w < W; w++) {
    qn_mem_free(j->ctx, j->img[w]);
    j->img[w] = NULL;
    j->img_cap[w] = 0;
    qn_mem_free(j->ctx, j->pid[w]);
    qn_mem_free(j->ctx, j->idx[w]);
    if (j->ordk) qn_mem_free(j->ctx, j->ordk[w]);
    if (j->missk) qn_mem_free(j->ctx, j->missk[w]);
    j->pid[w] = NULL;
    j->idx[w] = NULL;
  }
  return status;
}

static void qn_group_free(struct qn_group_job *j) {
  for (int p = 0; p < QN_GROUP_P; p++) {
    for (int b = 0; b < j->parts[p].nblocks; b++) {
      qn_mem_release(j->ctx, QN_GBLOCK_META(j->parts[p].blocks[b].nseg));
      if (j->parts[p].blocks[b].resident) {
        qn_gfill_free(j, j->parts[p].blocks[b].mem);
        free(j->parts[p].blocks[b].mem);
      }
      free(j->parts[p].blocks[b].seg);
    }
    free(j->parts[p].blocks);
  }
  for (int f = 0; j->files && f < j->nfiles; f++) qn_writer_abort(j->files[f].w);
  free(j->files);
  free(j->fills);
  free(j->seqs);
  free(j->null_keys);
  free(j->pid);
  free(j->idx);
  if (j->ordk) free(j->ordk);
  if (j->missk) free(j->missk);
  free(j->cols);
  free(j->scan_cols);
  free(j->img);
  free(j->img_cap);
  qn_spill_close(j->spill);
  pthread_mutex_destroy(&j->lock);
}

static int qn_group_run_here(struct qn_context *ctx, struct qn_source *src,
                             const struct qn_group_options *o, struct qn_error *err) {
  int status = QN_OK, exists = 0, tmp_lock = -1, agreed = 0, final = 0;
  struct qn_comm *comm = qn_comm_of(ctx);
  struct qn_group_job j;
  memset(&j, 0, sizeof j);
  j.ctx = ctx;
  j.src = src;
  j.opt = o;
  j.rank = comm->rank;
  j.nranks = comm->size;
  pthread_mutex_init(&j.lock, NULL);
  char parent[4096], basebuf[4096], tmp[4400] = "", old[4400] = "", lock[4500] = "";
  if (!o || !o->output || !*o->output) {
    status = qn_error_set(err, QN_EINVAL, "no output directory given");
    goto done;
  }
  QN_CHECK(qn_group_check_splits(&j, err));
  QN_CHECK(qn_group_plan_columns(&j, err));
  QN_CHECK(qn_group_check_format(&j, err));
  QN_CHECK(qn_group_check_output(o->output, o->force, &exists, err));
  int64_t rows = 0;
  QN_CHECK(qn_source_rows(src, j.scan_cols, j.nscan, &rows, err));
  j.rows_in = rows;
  /* the temporary output beside DIR (swept later if this run is killed) */
  qn_group_parent(o->output, parent, sizeof parent);
  const char *base = qn_group_base(o->output, basebuf, sizeof basebuf);
  char prefix[4200];
  snprintf(prefix, sizeof prefix, ".%s%s", base, QN_GROUP_TMP_PREFIX);
  if (comm->rank == 0)
    qn_spill_sweep(parent, QN_GROUP_TMP_PREFIX); /* outputs of killed runs, any name */
  snprintf(tmp, sizeof tmp, "%s/%s%d-XXXXXX", parent, prefix, (int)getpid());
  if (comm->size > 1) {
    agreed = 1; /* every rank got here: the checks above passed everywhere */
    QN_CHECK(qn_comm_agree(comm, QN_OK, err));
    /* every rank runs the plan and writes its share of the files: all
     * must see the same rows */
    QN_CHECK(qn_comm_check_plan(comm, qn_comm_plan_digest(src, j.scan_cols, j.nscan, NULL, 0),
                                "input files or columns", err));
    agreed = 0;
  }
  if (comm->size > 1) {
    /* rank 0 makes the directory (a shared filesystem), every rank writes
     * its files into it */
    char shared[sizeof tmp];
    memset(shared, 0, sizeof shared);
    int made = comm->rank != 0 || mkdtemp(tmp) != NULL, e = errno;
    if (comm->rank == 0 && made) snprintf(shared, sizeof shared, "%s", tmp);
    if (comm->rank == 0 && !made) tmp[0] = 0;
    status = qn_comm_bcast(comm, shared, sizeof shared, 0, err);
    if (status != QN_OK) goto done;
    if (!shared[0]) {
      if (comm->rank != 0) tmp[0] = 0;
      status = qn_error_set(err, QN_EIO, "cannot create the output beside %s: %s", o->output,
                            comm->rank == 0 ? strerror(e) : "rank 0 could not");
      goto done;
    }
    if (comm->rank != 0) {
      snprintf(tmp, sizeof tmp, "%s", shared);
      strcpy(lock, ""); /* rank 0 holds the lock and removes the directory */
      goto made;
    }
  } else if (!mkdtemp(tmp)) {
    int e = errno;
    tmp[0] = 0;
    status = qn_error_set(err, QN_EIO, "cannot create the output beside %s: %s", o->output,
                          strerror(e));
    goto done;
  }
  mode_t mask = umask(0); /* mkdtemp made it 0700: give it a directory's usual mode */
  umask(mask);
  chmod(tmp, 0777 & ~mask);
  snprintf(lock, sizeof lock, "%s/.lock", tmp);
  tmp_lock = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (tmp_lock < 0 || flock(tmp_lock, LOCK_EX) != 0) {
    status = qn_error_set(err, QN_EIO, "cannot lock %s: %s", tmp, strerror(errno));
    goto done;
  }
made:
  QN_CHECK(qn_spill_open(ctx, o->spill_dir ? o->spill_dir : parent,
                         QN_MAX(1, qn_context_threads(ctx)), &j.spill, err));
  QN_CHECK(qn_group_pass0(&j, err));
  QN_CHECK(qn_group_pass1(&j, err));
  qn_group_trim(ctx);
  QN_CHECK(qn_group_plan_pass2(&j, err));
  QN_CHECK(qn_group_open_files(&j, tmp, err));
  QN_CHECK(qn_group_pass2(&j, err));
  for (int f = 0; f < j.nfiles; f++) {
    struct qn_writer *w = j.files[f].w;
    j.files[f].w = NULL;
    if (w) QN_CHECK(qn_writer_close(w, &j.files[f].sum, err));
  }
  if (comm->size > 1) {
    /* every rank's files are complete: rank 0 takes their checksums (the
     * counts it derived itself, as every rank did) */
    agreed = 1;
    QN_CHECK(qn_comm_agree_scan(comm, QN_OK, err));
    agreed = 0;
    struct qn_checksum *sums = calloc((size_t)j.nfiles, sizeof *sums);
    if (!sums) {
      status = qn_error_set(err, QN_ENOMEM, "out of memory");
      goto done;
    }
    for (int f = 0; f < j.nfiles; f++) sums[f] = j.files[f].sum;
    struct qn_group_sums gs = {&j, 0};
    status = qn_comm_gather(comm, sums, (size_t)j.nfiles * sizeof *sums, sizeof *sums, NULL, 0,
                            qn_group_take_sums, &gs, err);
    free(sums);
    if (status != QN_OK) goto done;
  }
  if (comm->rank == 0) {
    char mpath[4500];
    snprintf(mpath, sizeof mpath, "%s/manifest.json", tmp);
    QN_CHECK(qn_json_dump_file(qn_group_manifest(&j), mpath, err));
  }
  /* every rank agrees before the output appears */
  agreed = 1;
  QN_CHECK(qn_comm_agree_scan(comm, QN_OK, err));
  final = 1;
  if (comm->rank != 0) {
    tmp[0] = 0; /* rank 0's to rename */
    goto done;
  }
  unlink(lock);
  /* into place: an empty DIR is removed first; a quern output is moved
   * aside and removed once the new one is in */
  if (exists == 1 && rmdir(o->output) != 0) {
    status = qn_error_set(err, QN_EIO, "cannot replace %s: %s", o->output, strerror(errno));
    goto done;
  }
  if (exists == 2) {
    snprintf(old, sizeof old, "%s/%sold-%d", parent, prefix, (int)getpid());
    if (rename(o->output, old) != 0) {
      status =
          qn_error_set(err, QN_EIO, "cannot move %s aside: %s", o->output, strerror(errno));
      old[0] = 0;
      goto done;
    }
  }
  if (rename(tmp, o->output) != 0) {
    status = qn_error_set(err, QN_EIO, "cannot rename the output into %s: %s", o->output,
                          strerror(errno));
    if (old[0]) rename(old, o->output); /* put the old one back */
    old[0] = 0;
    goto done;
  }
  tmp[0] = 0;
  if (old[0]) qn_spill_rmdir(old);
done:
  if (!agreed) status = qn_comm_agree_scan(comm, status, err);
  if (comm->size > 1 && status != QN_OK && !final) {
    /* every rank knows of the failure: each removes its files, then rank 0
     * the directory */
    for (int f = 0; j.files && f < j.nfiles; f++) {
      qn_writer_abort(j.files[f].w);
      j.files[f].w = NULL;
    }
    struct qn_error e2;
    memset(&e2, 0, sizeof e2);
    qn_comm_agree(comm, status, &e2);
  }
  qn_group_free(&j);
  if (tmp[0] && comm->rank == 0) qn_spill_rmdir(tmp);
  if (tmp_lock >= 0) close(tmp_lock);
  return status;
}

int qn_group_run(struct qn_context *ctx, struct qn_source *src,
                 const struct qn_group_options *o, struct qn_error *err) {
  return qn_group_run_here(ctx, src, o, err);
}
