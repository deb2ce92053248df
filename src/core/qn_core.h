/* qn_core.h — internal declarations shared by every module of libquern.
 *
 * Not API: tools include only quern.h. This header gives modules the error
 * macros, the in-memory column batch, the thread pool, the progress bar,
 * the budgeted allocator and atomic output files. It depends on nothing
 * but quern.h and libc: the scan lives above the readers, in src/engine/.
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
 * within 1e-12 of numpy) and therefore output bytes. Only the fuzz build
 * sets another value (tests/fuzz: small inputs then span many morsels). */
#ifndef QN_MORSEL_ROWS
#define QN_MORSEL_ROWS 65536
#endif

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
  /* LIST columns (writers only): rows + 1 offsets into the elements, which
   * data / valid / offsets hold by element index (not rebased: row r has
   * elements [lists[r], lists[r + 1])). NULL for a flat column. */
  const int64_t *lists;
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

/* The processes of one job (src/exec/qn_comm.h has its operations; core
 * only keeps it in the context and reads node_size for the default
 * memory limit). */
struct qn_comm_ops;
struct qn_comm {
  int rank, size;
  int node_size;                 /* ranks on this machine: they share its memory */
  int fail_rank;                 /* QN_TEST_FAIL_RANK: this rank fails after its scan; -1 */
  int world_owned;               /* MPI was started by qn_comm_open; close ends it */
  const struct qn_comm_ops *ops; /* NULL: one process */
  void *impl;
};

#define QN_MEM_CACHE_SLOTS 32

struct qn_context {
  int threads;
  int64_t memory_limit;
  int64_t baseline_rss; /* process RSS when the context was made (0 with limit_own_only) */
  atomic_int cancel;    /* qn_context_cancel: the scan stops between morsels */
  int progress;
  int quiet;
  pthread_mutex_t mem_lock;
  int64_t mem_used;
  int64_t mem_peak;
  /* fault injection for tests: fail the Nth budgeted allocation (0 = off) */
  long fail_countdown;
  /* mapped blocks freed and kept for reuse (context.c): not in mem_used,
   * but given back before the budget would count them over capacity */
  void *cache_ptr[QN_MEM_CACHE_SLOTS];
  int64_t cache_len[QN_MEM_CACHE_SLOTS];
  int ncache;
  int64_t cached;
  struct qn_comm *comm; /* NULL: this process alone */
};

/* Unmaps the blocks freed and kept for reuse (context.c): memory goes
 * back to the system at the end of a job or between passes. */
void qn_mem_trim(struct qn_context *ctx);

/* Bytes of the limit that the fixed overhead of a process (code, libc and
 * library metadata, thread stacks) is assumed to take beyond what the
 * context counts. The planner never hands these out. */
#define QN_FIXED_OVERHEAD ((int64_t)6 << 20)

/* Checks, before any work, that `bytes` more can be had from the budget;
 * else QN_ELIMIT saying what needs how much and the smallest
 * --memory-limit that would do. Allocates nothing. */
/* qn_mem_alloc that also says whether the memory is known to be zero (a
 * fresh anonymous mapping): a caller that needs zeros may then skip
 * writing them, and its pages are faulted in (zeroed by the kernel) by
 * whichever thread touches them first. */
void *qn_mem_alloc_zeroed(struct qn_context *ctx, size_t size, const char *what,
                          struct qn_error *err, int *zeroed);
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

/* ----- atomic output files with checksums (outfile.c) ----- */
/* XXH3-128 of a file's bytes (as the hex string manifests carry: high 64
 * bits first, 32 lowercase digits) and its size. */
struct qn_checksum {
  uint64_t lo, hi;
  int64_t bytes;
};
void qn_checksum_hex(const struct qn_checksum *s, char out[33]);
/* The checksum of a whole file. Errors: QN_ENOTFOUND, QN_EIO, QN_ENOMEM. */
int qn_checksum_file(const char *path, struct qn_checksum *sum, struct qn_error *err);
/* Writes n bytes to the output, hashing them. Errors: QN_EIO naming the
 * path and offset. */
int qn_outfile_write(struct qn_outfile *f, const void *p, size_t n, struct qn_error *err);
/* qn_outfile_commit that also gives the checksum and size of the file
 * (sum may be NULL). Frees f. */
int qn_outfile_commit_sum(struct qn_outfile *f, struct qn_checksum *sum, struct qn_error *err);

#endif /* QN_CORE_H */
