/* qn_core.h — internal declarations shared by every module of libquern.
 *
 * Not API: tools include only quern.h. This header gives modules the error
 * macros, the in-memory column batch, the thread pool, the progress bar and
 * the morsel scan with its fixed-order merge (see scan.c for the design).
 */
#ifndef QN_CORE_H
#define QN_CORE_H

#include "quern.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#define QN_RETURN_IF_ERROR(expr)        \
  do {                                  \
    int qn__st = (expr);                \
    if (qn__st != QN_OK) return qn__st; \
  } while (0)

/* Jump to `done` with `status` set when expr fails (one exit per function). */
#define QN_CHECK(expr)              \
  do {                              \
    status = (expr);                \
    if (status != QN_OK) goto done; \
  } while (0)

#define QN_MIN(a, b) ((a) < (b) ? (a) : (b))
#define QN_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Rows per morsel: the arithmetic unit. Fixed by the input alone, never by
 * threads or memory; changing it changes floating-point results (still
 * within 1e-12 of numpy) and therefore output bytes. */
#define QN_MORSEL_ROWS 65536

/* ----- strings and small helpers (util.c, format.c) ----- */
/* snprintf(buf, QN_FORMAT_G17_CAP, "%.17g", v), the same bytes, about 10
 * times faster for the usual magnitudes; qn_format_g: "%.*g" with a
 * precision of 1 to 17. Return the length. */
#define QN_FORMAT_G17_CAP 32
int qn_format_g17(double v, char *buf);
int qn_format_g(double v, int prec, char *buf);
char *qn_strdup(const char *s);                           /* malloc'd; NULL on ENOMEM */
int qn_str_has_suffix(const char *s, const char *suffix); /* case-insensitive */
/* Physical memory in bytes (sysconf), and resident set size of this process
 * (from /proc/self/statm); 0 when unknown. */
int64_t qn_physical_memory(void);
int64_t qn_self_rss(void);
/* The memory limit of this process's cgroup in bytes, 0 when there is none
 * or it cannot be read: the smallest of cgroup v2's memory.max and v1's
 * memory.limit_in_bytes from the process's cgroup (/proc/self/cgroup) up to
 * the top of the hierarchy as mounted (/proc/self/mountinfo). Every path is
 * read under `root` ("" for the real files; tests pass a fake tree). */
int64_t qn_cgroup_memory_limit(const char *root);
/* The CPUs this process may run on (sched_getaffinity: fewer than online
 * under taskset, a container's cpuset or an MPI launcher's binding); >= 1. */
int qn_cpus_allowed(void);
double qn_now(void); /* monotonic seconds */

/* ----- column buffers ----- */

/* One column of a batch. Fixed-width values are dense in `data`; `valid` is
 * NULL when the column has no nulls in this range, else one byte per row
 * (1 = present). Strings: `offsets` has n+1 entries into `data`. */
struct qn_colbuf {
  enum qn_type type;
  int64_t n;
  void *data;
  uint8_t *valid;
  int64_t *offsets;
};

/* A view of rows [row0, row0 + nrows) of the logical table. */
struct qn_batch {
  int file;          /* index of the file these rows come from */
  int64_t file_row0; /* first row within that file */
  int64_t morsel;    /* global morsel index of the first row */
  int64_t nrows;
  int ncols;
  struct qn_colbuf *cols;
};

/* ----- context (context.c) ----- */
struct qn_progress;

struct qn_context {
  int threads;
  int64_t memory_limit;
  int64_t baseline_rss; /* process RSS when the context was made */
  int progress;
  int quiet;
  pthread_mutex_t mem_lock;
  int64_t mem_used;
  int64_t mem_peak;
  /* fault injection for tests: fail the Nth budgeted allocation (0 = off) */
  long fail_countdown;
};

/* Bytes of the limit that the fixed overhead of a process (code, libc and
 * library metadata, thread stacks) is assumed to take beyond what the
 * context counts. The planner never hands these out. */
#define QN_FIXED_OVERHEAD ((int64_t)6 << 20)

/* Checks, before any work, that `bytes` more can be had from the budget;
 * else QN_ELIMIT saying what needs how much and the smallest
 * --memory-limit that would do. Allocates nothing. */
int qn_mem_require(struct qn_context *ctx, int64_t bytes, const char *what,
                   struct qn_error *err);

/* ----- thread pool (pool.c) ----- */
typedef void (*qn_worker_fn)(void *arg, int worker);
/* Runs fn(arg, w) for w in [0, nworkers) on nworkers threads (the caller
 * is worker 0) and returns when all have returned. */
int qn_pool_run(struct qn_context *ctx, int nworkers, qn_worker_fn fn, void *arg,
                struct qn_error *err);

/* ----- progress bar (progress.c) ----- */
/* A bar on stderr, drawn only when enabled and stderr is a terminal, at most
 * ten times a second. Thread-safe add(). */
struct qn_progress *qn_progress_start(struct qn_context *ctx, const char *label, int64_t total);
void qn_progress_add(struct qn_progress *p, int64_t done);
void qn_progress_finish(struct qn_progress *p);

/* ----- morsel scan (scan.c) ----- */
struct qn_source;

/* What a job plugs into the scan. All callbacks may run on any worker
 * thread; the scan guarantees the ordering stated for each. */
struct qn_scan_kernel {
  void *user;
  /* Lanes: when > 0, morsel i belongs to lane i mod nlanes and the scan
   * calls `process` for the morsels of one lane strictly in index order,
   * never two of the same lane at once. When 0, no lane ordering. */
  int nlanes;
  /* Window for ordered commits: when `commit` is set, at most `window`
   * morsels are processed ahead of the oldest uncommitted one, so a kernel
   * may keep per-morsel partials in `window` slots (slot = i mod window). */
  int window;
  /* Compute morsel `batch->morsel` (batch covers exactly one morsel). */
  int (*process)(void *user, int worker, const struct qn_batch *batch, struct qn_error *err);
  /* Called once per morsel, in strictly increasing morsel order, serialised. */
  int (*commit)(void *user, int64_t morsel, int file, struct qn_error *err);
};

struct qn_scan_options {
  const int *cols; /* source column indices to read */
  int ncols;
  const char *label; /* progress bar label */
};

/* Reads the selected columns of every file morsel by morsel and feeds them
 * to the kernel; returns the first error of any worker. Memory for I/O
 * buffers comes from the budget; QN_ELIMIT names the minimum. */
int qn_scan_run(struct qn_context *ctx, struct qn_source *src,
                const struct qn_scan_options *opt, const struct qn_scan_kernel *k,
                struct qn_error *err);

/* Bytes the scan needs at least for these columns (one morsel in flight
 * per worker, plus one being read). */
int64_t qn_scan_min_bytes(struct qn_source *src, const int *cols, int ncols);

#endif /* QN_CORE_H */
