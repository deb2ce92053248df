/* quern.h — the whole public API of libquern.
 *
 * quern turns large numeric tables (HDF5, Parquet, CSV) into answers in
 * bounded memory, using every core, with results that are byte-identical for
 * any thread count and memory limit. Anything not declared here is not API.
 *
 * Sections:
 *   1. version, status codes, errors
 *   2. column types
 *   3. context: allocator, memory budget, threads, progress
 *   4. sources: many files as one table
 *   5. stats job
 *   6. gen and info
 *   7. bin job
 *   8. convert
 *   9. monitor and plots
 *  10. small utilities for tools (size parsing, atomic output files)
 *
 * Conventions: every fallible function returns QN_OK (0) or an enum qn_status
 * value and fills the caller's struct qn_error (NULL accepted; the first
 * error written wins). The library never exits or aborts on bad data or on
 * memory exhaustion. Thread rules are stated per type. Messages speak of
 * options by their meaning here ("the memory limit", "axis 'x:10:0:1'"),
 * never by a command-line flag.
 *
 * Options structs (qn_context_options, qn_stats_options, qn_gen_options,
 * qn_bin_options, qn_convert_options, qn_monitor_options) each have an
 * _init function: call it first, then set the fields you need. New fields
 * are only ever added at the end of a struct, and _init gives them a value
 * that keeps the earlier behaviour, so code written this way compiles and
 * behaves the same against a later quern.h. The structs carry no size or
 * version field: a struct that grows changes the binary layout, so the
 * library's SONAME is raised when one does, and a program built against an
 * older libquern.so.N keeps loading that one. Every function that takes an
 * options pointer also accepts NULL, meaning the _init defaults (where
 * those lack something required, such as an output file or an axis, the
 * call fails with QN_EINVAL).
 *
 * Accessors that take an index (qn_source_column, qn_stats_result_get,
 * qn_bin_result_edges, ...) return NULL, or the value stated for them, when
 * the index is out of range; they never read outside their object.
 *
 * Linking: `cc prog.c $(pkg-config --cflags --libs quern)`; see
 * docs/library.md. Only the functions declared here are exported from
 * libquern.so (each marked QN_API).
 */
#ifndef QUERN_H
#define QUERN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Marks the library's exported functions. libquern is compiled with
 * -fvisibility=hidden, so everything else stays internal. */
#if defined(__GNUC__) || defined(__clang__)
#define QN_API __attribute__((visibility("default")))
#else
#define QN_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ===== 1. version, status, errors ===================================== */

#define QN_VERSION_MAJOR 0
#define QN_VERSION_MINOR 1
#define QN_VERSION_PATCH 0
#define QN_VERSION_STRING "0.1.0"

/* Returns QN_VERSION_STRING of the library actually linked. */
QN_API const char *qn_version(void);

/* Status codes. Shipped values never change. */
enum qn_status {
  QN_OK = 0,
  QN_EINVAL = 1,       /* bad argument or option value (a usage error) */
  QN_ENOMEM = 2,       /* the system allocator failed */
  QN_ELIMIT = 3,       /* the memory budget cannot be met */
  QN_EIO = 4,          /* open, read, write, rename failed */
  QN_EFORMAT = 5,      /* corrupt, truncated or unrecognised data */
  QN_EUNSUPPORTED = 6, /* valid data we do not handle (a type, a codec) */
  QN_ENOTFOUND = 7,    /* a named column, dataset or file does not exist */
  QN_ESCHEMA = 8,      /* inputs or columns that do not fit together */
  QN_ECHILD = 9,       /* a child process could not be started */
  QN_EINTERNAL = 10,   /* a bug in quern: please report it */
  QN_ECANCELED = 11    /* qn_context_cancel() stopped the job */
};

/* Never NULL: a short English name for any int, known or not. */
QN_API const char *qn_status_str(int status);

#define QN_ERROR_SIZE 1024
/* Details of a failure. Owned by the caller; initialise with
 * qn_error_init(). The function that detects a problem writes the message,
 * naming the file, column and row or byte offset; callers pass it up
 * unchanged (first error wins). */
struct qn_error {
  int code;
  char message[QN_ERROR_SIZE];
};

QN_API void qn_error_init(struct qn_error *err);
/* Writes code and a printf-style message unless err already holds an error.
 * Returns code, so `return qn_error_set(err, QN_EIO, ...)` reads well. */
QN_API int qn_error_set(struct qn_error *err, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Maps a status to the CLI exit code contract: 0 ok, 2 usage (QN_EINVAL,
 * QN_ENOTFOUND, QN_ESCHEMA), 3 memory limit (QN_ELIMIT), 1 anything else. */
QN_API int qn_status_exit_code(int status);

/* ===== 2. column types ================================================= */

enum qn_type {
  QN_TYPE_INVALID = 0,
  QN_INT8,
  QN_INT16,
  QN_INT32,
  QN_INT64,
  QN_UINT8,
  QN_UINT16,
  QN_UINT32,
  QN_UINT64,
  QN_FLOAT32,
  QN_FLOAT64,
  QN_BOOL,      /* one byte per value, 0 or 1 */
  QN_TIMESTAMP, /* int64 in the column's unit (see struct qn_column_info) */
  QN_DATE,      /* int32 days since 1970-01-01 */
  QN_STRING,    /* variable length bytes: offsets + data */
  QN_TYPE_COUNT
};

/* "int8" .. "float64", "bool", "timestamp", "date", "string". Never NULL. */
QN_API const char *qn_type_name(enum qn_type type);
/* Bytes per value in memory; 0 for QN_STRING. */
QN_API size_t qn_type_size(enum qn_type type);
QN_API int qn_type_is_integer(enum qn_type type); /* int*, uint*, bool, date, timestamp */
QN_API int qn_type_is_float(enum qn_type type);
QN_API int qn_type_is_numeric(enum qn_type type); /* everything but QN_STRING */

/* ===== 3. context ====================================================== */

/* A context owns the allocator, the memory budget, the worker threads and
 * the progress bar. Thread rule: one thread creates, uses and frees a
 * context; the library's own worker threads use it internally. There is no
 * global mutable state: two contexts are independent. */
struct qn_context;

struct qn_context_options {
  int threads;          /* worker threads; 0 = all online cores */
  int64_t memory_limit; /* hard budget for the whole process in bytes;
                           0 = 80% of physical memory */
  int progress;         /* 1 = progress bar on stderr when it is a tty */
  int quiet;            /* 1 = nothing but errors on stderr */
  /* 1 = memory_limit counts only the context's own allocations; 0 (the
   * default) = the whole process: the resident memory the process holds
   * when the context is made is taken off the limit first. A host process
   * whose memory is not quern's to budget (Python with its arrays) sets 1. */
  int limit_own_only;
  /* The MPI job this process is one rank of (qn_comm_open), or NULL: this
   * process alone. stats, bin and group then share the work among the
   * ranks, and the default memory limit is the rank's share of the
   * machine (80% divided by the ranks on it). Must outlive the context. */
  struct qn_comm *comm;
};

QN_API void qn_context_options_init(struct qn_context_options *opt);
/* On success *out owns a new context; free it with qn_context_free().
 * Errors: QN_EINVAL (threads < 0, limit < 0), QN_ENOMEM. */
QN_API int qn_context_new(const struct qn_context_options *opt, struct qn_context **out,
                          struct qn_error *err);
QN_API void qn_context_free(struct qn_context *ctx);

QN_API int qn_context_threads(const struct qn_context *ctx);
QN_API int64_t qn_context_memory_limit(const struct qn_context *ctx);
/* Asks the job running in ctx to stop: the scan checks between morsels
 * (and the group job's second pass between partitions), and the job returns QN_ECANCELED ("the
 * job was cancelled") soon after, freeing what it holds. The one function of a context that
 * another thread may call while a job runs (a signal handler may too: it only sets an atomic
 * flag). The flag stays set: later jobs in this context stop at once; qn_context_uncancel()
 * clears it. */
QN_API void qn_context_cancel(struct qn_context *ctx);
QN_API void qn_context_uncancel(struct qn_context *ctx);

/* Highest number of budgeted bytes held at once so far. */
QN_API int64_t qn_context_peak_bytes(const struct qn_context *ctx);
/* Budgeted bytes held now. */
QN_API int64_t qn_context_used_bytes(const struct qn_context *ctx);

/* Every large allocation goes through the budget. `what` names the buffer
 * for the error message ("column buffers for x"). Thread-safe.
 * Errors: QN_ELIMIT (would exceed the limit; the message names what and how
 * much), QN_ENOMEM. Memory is 64-byte aligned and not zeroed. */
QN_API void *qn_mem_alloc(struct qn_context *ctx, size_t size, const char *what,
                          struct qn_error *err);
QN_API void *qn_mem_calloc(struct qn_context *ctx, size_t size, const char *what,
                           struct qn_error *err);
QN_API void qn_mem_free(struct qn_context *ctx, void *ptr); /* NULL is a no-op */
/* Account for memory that someone else allocates (a library's cache).
 * qn_mem_release() gives it back. Thread-safe. */
QN_API int qn_mem_reserve(struct qn_context *ctx, int64_t bytes, const char *what,
                          struct qn_error *err);
QN_API void qn_mem_release(struct qn_context *ctx, int64_t bytes);
/* Bytes still available under the limit. */
QN_API int64_t qn_mem_available(const struct qn_context *ctx);

/* ===== 4. sources ====================================================== */

/* A source is many files (paths or globs, sorted by name) read as one table.
 * The format is detected from the first bytes (HDF5 signature, "PAR1"),
 * otherwise CSV. `file.h5:/group` restricts an HDF5 file to a group or a
 * compound dataset. All files must expose the same columns with the same
 * types. Thread rule: one thread at a time. */
struct qn_source;

struct qn_column_info {
  const char *name;
  enum qn_type type;     /* the type as stored, reported by stats/info */
  const char *type_name; /* as stored, e.g. "int32", "timestamp[us]" */
  int nullable;          /* may hold nulls (Parquet) */
  int64_t rows;          /* rows of this column summed over all files */
};

/* Errors: QN_EIO / QN_ENOTFOUND (missing file, glob that matches nothing),
 * QN_EFORMAT (corrupt file), QN_ESCHEMA (files disagree), QN_ENOMEM. */
QN_API int qn_source_open(struct qn_context *ctx, const char *const *inputs, int ninputs,
                          struct qn_source **out, struct qn_error *err);
QN_API void qn_source_close(struct qn_source *src); /* NULL is a no-op */

QN_API int qn_source_ncolumns(const struct qn_source *src);
/* Column i (0 .. ncolumns - 1), owned by the source; NULL when i is out of
 * range. */
QN_API const struct qn_column_info *qn_source_column(const struct qn_source *src, int i);
/* Index of the column named `name`, or -1. */
QN_API int qn_source_find_column(const struct qn_source *src, const char *name);
QN_API int qn_source_nfiles(const struct qn_source *src);
/* Path of file `file` (0 .. nfiles - 1); NULL when out of range. */
QN_API const char *qn_source_file_path(const struct qn_source *src, int file);
/* Rows of the table restricted to columns `cols` (all must agree).
 * Errors: QN_EINVAL (a column index out of range), QN_ESCHEMA. */
QN_API int qn_source_rows(const struct qn_source *src, const int *cols, int ncols,
                          int64_t *rows, struct qn_error *err);

/* A column of values in the caller's memory for qn_source_open_arrays. */
struct qn_array_column {
  const char *name;  /* copied */
  enum qn_type type; /* a numeric type (not QN_STRING) */
  int64_t rows;
  const void *data; /* rows values, each qn_type_size(type) bytes */
  int64_t stride;   /* bytes from one value to the next; 0 = dense */
};
/* A one-"file" table over arrays the caller owns (numpy arrays, say):
 * nothing is copied up front; dense columns are read in place, strided
 * ones are gathered a block at a time. The caller keeps the arrays alive
 * and unchanged until qn_source_close(). `name` stands for the path in
 * messages (NULL: "(memory)"). Columns may differ in length: a job checks
 * that the columns it uses together agree (QN_ESCHEMA).
 * Errors: QN_EINVAL (no column, a NULL array with rows, a string column,
 * a stride smaller than the value), QN_ENOMEM. */
QN_API int qn_source_open_arrays(struct qn_context *ctx, const char *name,
                                 const struct qn_array_column *cols, int ncols,
                                 struct qn_source **out, struct qn_error *err);

/* ===== 5. stats ======================================================== */

/* Per-column summary with numpy's definitions (see docs/cli.md). */
struct qn_column_stats {
  int64_t count; /* values neither NaN nor null */
  int64_t nan;
  int64_t null;
  int is_integer; /* min/max/sum are exact integers in imin.. */
  /* integer columns: exact min, max and 128-bit sum */
  int64_t imin, imax;  /* for unsigned columns, stored as int64 only if */
  uint64_t umin, umax; /* ... is_unsigned; then umin/umax hold them */
  int is_unsigned;
  int64_t sum_hi; /* sum = sum_hi * 2^64 + sum_lo (two's complement) */
  uint64_t sum_lo;
  double min, max, sum, mean, var, std; /* floats (and the float view of ints) */
};

struct qn_stats_options {
  const char *const *columns; /* NULL = every numeric column */
  int ncolumns;
  int per_file; /* also keep one result per file */
};
/* Every numeric column, no per-file results. */
QN_API void qn_stats_options_init(struct qn_stats_options *opt);

struct qn_stats_result; /* owned by the caller after qn_stats_run */

QN_API int qn_stats_run(struct qn_context *ctx, struct qn_source *src,
                        const struct qn_stats_options *opt, struct qn_stats_result **out,
                        struct qn_error *err);
/* Writes the JSON of docs/cli.md to `path` atomically, or to stdout when
 * path is NULL or "-". */
QN_API int qn_stats_write_json(const struct qn_stats_result *res, const char *path,
                               struct qn_error *err);
QN_API void qn_stats_result_free(struct qn_stats_result *res);
QN_API int qn_stats_result_ncolumns(const struct qn_stats_result *res);
/* NULL when i is not in 0 .. ncolumns - 1. */
QN_API const char *qn_stats_result_column_name(const struct qn_stats_result *res, int i);
/* file = -1 for the whole table, else the file index (needs per_file).
 * NULL when i or file is out of range, or for a file without per_file. */
QN_API const struct qn_column_stats *qn_stats_result_get(const struct qn_stats_result *res,
                                                         int file, int i);

/* ===== 6. gen and info ================================================= */

struct qn_gen_options {
  const char *kind; /* "sim" or "measurements" */
  int64_t rows;
  int64_t keys; /* measurements: distinct probe ids */
  uint64_t seed;
  const char *output; /* .h5 / .hdf5 or .parquet, chosen by extension */
  const char *codec;  /* parquet codec; NULL = snappy */
};
QN_API void qn_gen_options_init(struct qn_gen_options *opt);
QN_API int qn_gen_run(struct qn_context *ctx, const struct qn_gen_options *opt,
                      struct qn_error *err);

/* Describes one file (columns, types, rows, layout) as text or JSON on `out`. */
QN_API int qn_info_print(struct qn_context *ctx, const char *path, int as_json, FILE *out,
                         struct qn_error *err);

/* ===== 7. bin ========================================================== */
/* (declarations added with the bin job) */
/* N-d binned statistics with numpy.histogramdd / scipy binned_statistic_dd
 * semantics (docs/bin.md): bins [e_i, e_i+1), the last one closed; regular
 * edges are exactly numpy.linspace(LO, HI, BINS + 1); rows with NaN or an
 * out-of-range axis value fall in no bin and are counted in out_of_range.
 * Results are byte-identical for any thread count and memory limit. */

#define QN_BIN_MAX_AXES 8

/* One axis. Regular: bins >= 1 and [lo, hi] (or auto_range: numpy's range
 * from the data's finite min and max). Irregular: nedges >= 2 edges. */
struct qn_bin_axis_spec {
  char *column;   /* owned (malloc) */
  int64_t bins;   /* regular: number of bins; 0 for irregular */
  int auto_range; /* regular: LO and HI from the data */
  double lo, hi;  /* regular, unless auto_range */
  double *edges;  /* irregular: owned (malloc), nedges values */
  int64_t nedges;
};

/* Parses "NAME:BINS:LO:HI", "NAME:BINS", "NAME@E0,E1,...,En" or
 * "NAME@FILE" (one edge per line; '#' starts a comment). The spec owns
 * what it allocates on success; free with qn_bin_axis_spec_reset (also
 * safe on a zeroed spec). Checks what the text alone decides: 0 bins,
 * LO > HI, non-finite LO/HI, fewer than 2 edges, NaN or decreasing edges.
 * Errors: QN_EINVAL (message quotes the spec), QN_EIO (edge file), QN_ENOMEM. */
QN_API int qn_bin_axis_parse(const char *text, struct qn_bin_axis_spec *spec,
                             struct qn_error *err);
QN_API void qn_bin_axis_spec_reset(struct qn_bin_axis_spec *spec);

enum qn_bin_stat {
  QN_BIN_COUNT = 0, /* rows per bin; the weight sum with a weight column */
  QN_BIN_SUM,       /* needs a value column; empty bin: 0 */
  QN_BIN_MEAN,      /* empty bin: NaN */
  QN_BIN_STD,       /* population (ddof 0); empty bin: NaN */
  QN_BIN_MIN,
  QN_BIN_MAX,
  QN_BIN_NSTATS
};
/* "count", "sum", "mean", "std", "min", "max"; never NULL. */
QN_API const char *qn_bin_stat_name(enum qn_bin_stat stat);
/* Parses a comma list such as "count,mean,std" into stats[QN_BIN_NSTATS]
 * in the order given, duplicates dropped. Errors: QN_EINVAL. */
QN_API int qn_bin_stats_parse(const char *text, enum qn_bin_stat *stats, int *nstats,
                              struct qn_error *err);

struct qn_bin_options {
  const struct qn_bin_axis_spec *axes;
  int naxes;                     /* 1 .. QN_BIN_MAX_AXES */
  const char *value;             /* column of sum/mean/std/min/max; NULL = none */
  const char *weight;            /* column whose per-bin sum is `count`; NULL = none */
  const enum qn_bin_stat *stats; /* NULL or nstats 0 = count only */
  int nstats;
};
/* No axes (set at least one), no value or weight column, count only. */
QN_API void qn_bin_options_init(struct qn_bin_options *opt);

/* The result of a run. Thread rule: read-only, any thread. */
struct qn_bin_result;

/* Bins the table. Checks options and columns (unknown: QN_ENOTFOUND; not
 * numeric: QN_ESCHEMA; a statistic that needs a value column without one,
 * more than 8 axes, bad axes: QN_EINVAL), then reserves the per-lane bin
 * grids from the budget before reading any row (QN_ELIMIT names the bytes
 * needed), runs the range pass for auto-range axes (QN_EINVAL when an axis
 * has no finite value) and the binning pass. On success *out is owned by
 * the caller (qn_bin_result_free). */
QN_API int qn_bin_run(struct qn_context *ctx, struct qn_source *src,
                      const struct qn_bin_options *opt, struct qn_bin_result **out,
                      struct qn_error *err);
/* Writes the result by the extension of `path`: .json (also NULL or "-":
 * stdout), .h5/.hdf5, .csv; and, when plot is not NULL, a PNG of the first
 * statistic (1-D bars, 2-D heatmap; more axes: QN_EINVAL). Both files are
 * written under temporary names and appear together or not at all.
 * Errors: QN_EIO naming the path, QN_EINVAL (unknown extension). */
QN_API int qn_bin_save(const struct qn_bin_result *res, const char *path, const char *plot,
                       struct qn_error *err);
/* Checks, before any work, that qn_bin_save can write `path` (its
 * extension) and `plot` (a .png, and at most 2 axes for `naxes`): QN_OK or
 * QN_EINVAL naming the file at fault (a NULL plot is not checked). Touches
 * no file. */
QN_API int qn_bin_output_check(const char *path, const char *plot, int naxes,
                               struct qn_error *err);
QN_API void qn_bin_result_free(struct qn_bin_result *res); /* NULL is a no-op */

/* Per-axis accessors take axis 0 .. naxes - 1; out of range, the name and
 * the edges are NULL and the number of bins is 0. */
QN_API int qn_bin_result_naxes(const struct qn_bin_result *res);
QN_API const char *qn_bin_result_axis_name(const struct qn_bin_result *res, int axis);
QN_API int64_t qn_bin_result_nbins(const struct qn_bin_result *res, int axis);
QN_API const double *qn_bin_result_edges(const struct qn_bin_result *res,
                                         int axis); /* nbins + 1 */
QN_API int64_t qn_bin_result_rows(const struct qn_bin_result *res);
QN_API int64_t qn_bin_result_out_of_range(const struct qn_bin_result *res);
/* Values of a statistic, one per bin in row-major order ([i0][i1]..., last
 * axis fastest), or NULL when it was not asked for (or is no statistic). */
QN_API const double *qn_bin_result_stat(const struct qn_bin_result *res, enum qn_bin_stat stat);
/* Lanes the job used (a function of the grid size alone; 1 for the sliced
 * grids above 128 MiB that every thread fills, see docs/bin.md) and bytes of
 * all lane grids: what the memory limit must leave room for. */
QN_API int qn_bin_result_lanes(const struct qn_bin_result *res);
QN_API int64_t qn_bin_result_grid_bytes(const struct qn_bin_result *res);

/* ===== 8. convert ====================================================== */
/* Copies a table (or some of its columns) to Parquet, HDF5 or CSV, chosen
 * by the output's extension (.parquet, .h5/.hdf5, .csv), atomically. Nulls
 * survive in Parquet and CSV; in HDF5 a null float becomes NaN and a null
 * of another type is an error (QN_EUNSUPPORTED naming column and row).
 * Errors: QN_EINVAL (extension, codec), QN_ENOTFOUND (column), QN_EIO. */
struct qn_convert_options {
  const char *output;
  const char *const *columns; /* NULL = every column */
  int ncolumns;
  const char *codec; /* Parquet: snappy (default), zstd, gzip, lz4, brotli,
                        none; HDF5: gzip or none (default); CSV: none */
};
/* No output (set one), every column, the format's default codec. */
QN_API void qn_convert_options_init(struct qn_convert_options *opt);
QN_API int qn_convert_run(struct qn_context *ctx, struct qn_source *src,
                          const struct qn_convert_options *opt, struct qn_error *err);

/* ===== 9. monitor and plots ============================================ */
/* `quern monitor`: run a command, sample the resident memory of it and of
 * every process it starts, write the samples as CSV and a PNG plot. */

#define QN_MONITOR_DEFAULT_INTERVAL_MS 50
#define QN_MONITOR_MAX_INTERVAL_MS 3600000
#define QN_MONITOR_EXIT_NOT_STARTED 127

struct qn_monitor_options {
  /* CMD and its arguments, NULL-terminated. CMD is looked up in PATH. */
  const char *const *argv;
  int interval_ms;       /* sampling period, 1 .. QN_MONITOR_MAX_INTERVAL_MS;
                            0 = QN_MONITOR_DEFAULT_INTERVAL_MS */
  const char *csv_path;  /* "t_s,rss_bytes,processes" rows; NULL = none */
  const char *plot_path; /* PNG of memory over time; NULL = none */
  int plot_width;        /* pixels; 0 = 1200 */
  int plot_height;       /* pixels; 0 = 675 */
  const char *title;     /* plot title; NULL = the command line */
};

struct qn_monitor_result {
  int started;                   /* 1 once CMD was exec'd */
  int exit_code;                 /* as a shell reports it: CMD's exit status, 128+N
                                    when a signal N killed it, 127 when not started */
  int term_signal;               /* N when signal N killed CMD, else 0 */
  int64_t samples;               /* samples taken, one every interval from exec */
  int64_t peak_bytes;            /* highest sampled sum of resident memory */
  double peak_s;                 /* seconds after exec of that sample */
  int peak_processes;            /* processes counted in that sample */
  int max_processes;             /* most processes in any sample */
  int64_t mean_bytes;            /* mean over the samples */
  int64_t final_bytes;           /* the last sample before CMD exited */
  int64_t max_rss_process_bytes; /* the kernel's high-water mark of the single
                            largest process reaped (getrusage ru_maxrss);
                            catches a spike shorter than the interval */
  double duration_s;             /* exec to exit, seconds */
  double cpu_s;                  /* CPU time (user + system) the monitor spent while
                                    sampling: its whole cost to the machine */
};

QN_API void qn_monitor_options_init(struct qn_monitor_options *opt);

/* Runs opt->argv, samples until it exits, then writes the CSV and the plot
 * (each atomically) and fills *res. Sampling: the resident set (VmRSS, from
 * /proc/PID/statm) of every descendant of the calling process, summed; a
 * page shared by two processes counts twice, as in `ps`. Processes that
 * start and end between two samples are never seen; ones that vanish while
 * being read are skipped. The calling process becomes a child subreaper for
 * the run, so processes orphaned by CMD are still counted.
 *
 * Signals: SIGINT, SIGTERM, SIGHUP and SIGQUIT sent to the caller by another
 * process are forwarded to CMD (a terminal's Ctrl-C reaches CMD directly, so
 * it is not sent twice); the run ends when CMD exits. CMD's status is in
 * res->exit_code, whatever it is: QN_OK means the monitoring worked.
 *
 * Thread rule: call from the main thread of a process that has no other
 * children; for the duration it blocks SIGCHLD and the four signals above,
 * sets SIGCHLD to its default action and reaps every child, then restores
 * all of that.
 *
 * Errors: QN_EINVAL (no command, bad interval or plot size; nothing run),
 * QN_EIO (an output cannot be created: checked before CMD starts, so CMD is
 * not run; or writing failed after it ran: res is filled), QN_ECHILD (CMD
 * cannot be started: res->exit_code is 127, the message says why), QN_ENOMEM.
 * Outputs are written only when CMD ran; they are written even when it
 * failed or was killed. */
QN_API int qn_monitor_run(const struct qn_monitor_options *opt, struct qn_monitor_result *res,
                          struct qn_error *err);

/* Resident bytes of every descendant of process `pid` (and of pid itself
 * when include_root), summed now, and how many processes had any resident
 * memory. Processes that vanish while being read are skipped.
 * Errors: QN_ENOTFOUND (pid does not exist), QN_ENOMEM. */
QN_API int qn_proc_tree_rss(int pid, int include_root, int64_t *rss_bytes, int *processes,
                            struct qn_error *err);

/* ===== 11. group and verify =========================================== */
/* `quern group`: one output row per distinct key with that key's rows as
 * ordered lists, split and sharded, written with a manifest; the contract
 * is docs/cli.md ("quern group"). `quern verify` checks such a directory. */

struct qn_group_split {
  const char *name; /* [A-Za-z0-9_.-]+ */
  double fraction;  /* > 0; all of them sum to 1 */
};

struct qn_group_options {
  const char *key;            /* key column: integers, timestamps or strings */
  const char *order;          /* NULL: input order */
  const char *const *columns; /* list columns; NULL = every column but the key */
  int ncolumns;
  const char *output;                  /* the directory to create */
  const struct qn_group_split *splits; /* NULL = one split named "all" */
  int nsplits;                         /* at most 16 */
  uint64_t seed;                       /* of the split hash (default 0) */
  int shards;                          /* files per split (default 1) */
  const char *format;                  /* "parquet" (default) */
  const char *codec;                   /* Parquet codec: snappy (default), zstd, none */
  const char *spill_dir;               /* NULL: the output's parent directory */
  int force;                           /* replace an existing quern output directory */
};
QN_API void qn_group_options_init(struct qn_group_options *opt);
/* Runs the job. Errors: QN_EINVAL (options: splits, shards, format, an
 * existing directory without force), QN_ENOTFOUND (key, order or column),
 * QN_ESCHEMA (a float key, a string order column), QN_ELIMIT (the memory
 * limit cannot hold the largest group: the message names the key and the
 * bytes needed), QN_EIO, QN_EFORMAT. On failure nothing is left at
 * opt->output and no spill file remains. */
QN_API int qn_group_run(struct qn_context *ctx, struct qn_source *src,
                        const struct qn_group_options *opt, struct qn_error *err);

/* Checks a group output directory (or its manifest.json): every file
 * present with its size and XXH3-128, its own framing (Parquet footer and
 * row count), and the totals. Prints one line per problem and a summary to
 * `out` (JSON when as_json), sets *problems. Returns QN_OK when it could
 * check (problems or not); QN_EINVAL / QN_ENOTFOUND when `path` is no
 * manifest, QN_EFORMAT when the manifest cannot be read. */
QN_API int qn_verify_run(const char *path, int as_json, FILE *out, int64_t *problems,
                         struct qn_error *err);

/* ===== 12. many processes: MPI ======================================== */
/* The ranks of one job started by an MPI launcher (Open MPI's mpirun, or
 * Slurm's srun --mpi=pmix), or this process alone. Run with a context made
 * with opts.comm set, qn_stats_run, qn_bin_run and qn_group_run are called
 * by every rank with the same arguments; each rank reads its own share of
 * the morsels and rank 0 folds the partial results in the order one
 * process uses, so the outputs are the same bytes for any number of ranks.
 * The results of stats and bin are complete on rank 0 only: rank 0 saves
 * them. Thread rule: the thread that called qn_comm_open makes every call
 * that takes the comm, or a context made with it. */
struct qn_comm;

/* Joins the job when the environment shows a launcher started this process
 * (OMPI_COMM_WORLD_SIZE, PMIX_RANK), starting MPI; otherwise, and in a
 * build without MPI, *out is this process alone and MPI is never started
 * (it costs a tenth of a second or more). Call once, before making a
 * context. Errors: QN_EUNSUPPORTED when the launcher started several
 * processes that cannot join one job (another MPI's launcher, srun without
 * PMIx, a build without MPI): each would otherwise run the whole job. */
QN_API int qn_comm_open(struct qn_comm **out, struct qn_error *err);
QN_API int qn_comm_rank(const struct qn_comm *comm); /* 0 .. size - 1 */
QN_API int qn_comm_size(const struct qn_comm *comm); /* processes in the job */
/* Every rank passes its status; all return the same: QN_OK when all were
 * QN_OK, else the status of the lowest failing rank, whose message every
 * rank receives in err (prefixed "rank R: " when there are several). */
QN_API int qn_comm_agree(struct qn_comm *comm, int status, struct qn_error *err);
/* Ends the job's use of MPI (every rank calls it) and frees comm. */
QN_API void qn_comm_close(struct qn_comm *comm); /* NULL is a no-op */

/* ===== 10. utilities for tools ========================================= */

/* Parses "256M", "2G", "1.5G", "4096" (bytes), "512K", "1T" (powers of 1024).
 * Errors: QN_EINVAL with a message quoting the text. */
QN_API int qn_parse_size(const char *text, int64_t *bytes, struct qn_error *err);
/* Formats bytes as "1.5 GiB" into buf. Returns buf. */
QN_API char *qn_format_size(int64_t bytes, char *buf, size_t cap);

/* An output file written under a temporary name in the same directory and
 * renamed into place by qn_outfile_commit(); qn_outfile_abort() (or a
 * failed commit) removes the temporary and leaves any existing file alone.
 * Thread rule: one thread. */
struct qn_outfile;
QN_API int qn_outfile_open(const char *path, struct qn_outfile **out, struct qn_error *err);
QN_API FILE *qn_outfile_stream(struct qn_outfile *f);
QN_API const char *qn_outfile_temp_path(const struct qn_outfile *f);
/* Closes the stream so another library (libhdf5) can write the temporary
 * path itself; commit then only renames. Returns QN_EIO on a write error. */
QN_API int qn_outfile_close_stream(struct qn_outfile *f, struct qn_error *err);
QN_API int qn_outfile_commit(struct qn_outfile *f, struct qn_error *err); /* frees f */
QN_API void qn_outfile_abort(struct qn_outfile *f);                       /* frees f */

#ifdef __cplusplus
}
#endif
#endif /* QUERN_H */
