/* qn_source.h — the reader interface every input format implements.
 *
 * A reader is one open file of one format. It exposes a flat list of
 * columns, each with its own row count (HDF5 datasets may differ in length;
 * the scan checks that the columns used together agree). The source
 * (source.c) joins many readers into one logical table.
 *
 * Thread rule: `read` is called from one thread at a time unless the reader
 * sets `parallel_read`, in which case workers call it concurrently for
 * disjoint or overlapping ranges (a pread-based path). libhdf5 is only ever
 * called from one thread: the HDF5 reader sets parallel_read only for the
 * columns whose raw bytes it can pread itself (see hdf5.c).
 */
#ifndef QN_SOURCE_H
#define QN_SOURCE_H

#include "../core/qn_core.h"

struct qn_reader;

struct qn_reader_column {
  char *name;
  enum qn_type type; /* in-memory type of the values `read` produces */
  char *type_name;   /* as stored: "int32", "timestamp[us]", "string" */
  int nullable;
  int64_t rows;
  int parallel_read; /* `read` of this column may run on any worker */
  /* `read` of any row range costs only its bytes (a plain pread of stored
   * values): the scan then keeps blocks cache-sized. Readers that decode
   * pages leave it 0 and get larger blocks (fewer pages cut in two). */
  int plain_read;
  /* timestamps: units per second (1e3 ms, 1e6 us, 1e9 ns); else 0 */
  int64_t time_unit;
  /* Budgeted working memory one concurrent read of this column may hold
   * (page buffers, decode scratch): the scan keeps this much per worker
   * aside when it sizes its own buffers. 0 = none. */
  int64_t work_bytes;
};

struct qn_reader_ops {
  const char *format; /* "hdf5", "parquet", "csv" */
  /* Read rows [row0, row0 + n) of column `col` into `out`, whose `data`
   * (and `valid`, when the column is nullable) the caller allocated for at
   * least n values. Sets out->valid to NULL if the range has no nulls.
   * Strings are read only by readers that produce them (out->offsets). */
  int (*read)(struct qn_reader *r, int col, int64_t row0, int64_t n, struct qn_colbuf *out,
              struct qn_error *err);
  /* Optional: the same for several columns of one row range at once
   * (out[i] for cols[i]), for readers that decode rows, not columns (CSV
   * parses a range once for all its columns). Without it the source
   * calls `read` once per column. Same thread rule as `read`. */
  int (*read_cols)(struct qn_reader *r, const int *cols, int ncols, int64_t row0, int64_t n,
                   struct qn_colbuf *out, struct qn_error *err);
  void (*close)(struct qn_reader *r);
  /* Optional: describe the layout for `quern info` by adding keys to
   * `info`, a jansson object (json_t *) that already holds "path",
   * "format", "rows" and "columns" (name, type, rows, nullable per column).
   * HDF5 adds per-column "dataset", "layout", "chunk", "filters"; Parquet
   * adds "row_groups" (rows, bytes, per column codec, encodings, sizes).
   * `quern info` prints the object as JSON or renders it as text. */
  int (*info)(struct qn_reader *r, void *info, struct qn_error *err);
  /* Optional: the scan is done with this file for now (no read in
   * flight); drop handles and caches. A later read must reopen them. */
  void (*release)(struct qn_reader *r);
  /* Optional: bounds of column `col` from the file's metadata alone (no
   * value is read). With *known = 1, every value of the column that is
   * neither null nor NaN, as float64, lies in [*lo, *hi], and both bounds
   * are such values (±inf included; the sign of a zero bound may be
   * either). *known = 0 when the metadata cannot tell: the caller then
   * reads the values. Parquet answers from its column chunk statistics.
   * Thread rule: reads only what open parsed; any thread. */
  int (*minmax)(struct qn_reader *r, int col, double *lo, double *hi, int *known,
                struct qn_error *err);
};

struct qn_reader {
  const struct qn_reader_ops *ops;
  struct qn_context *ctx;
  char *path; /* as given, for messages */
  int ncols;
  struct qn_reader_column *cols;
};

/* A file format the source can open: readers register here (formats.c
 * lists them), the source knows no reader by name. `probe` says from the
 * first bytes of a file (got of them, up to 16) whether it is this
 * format; NULL probes are tried last (CSV takes what nobody claims).
 * `sub` is the part after "file.h5:" (NULL if none); formats that cannot
 * address a part of a file set takes_sub 0. */
struct qn_format {
  const char *name;
  int (*probe)(const unsigned char *head, size_t got);
  int takes_sub;
  int (*open)(struct qn_context *ctx, const char *path, const char *sub, struct qn_reader **out,
              struct qn_error *err);
};
/* The registered formats, NULL-terminated, in probing order. */
extern const struct qn_format *const qn_formats[];

/* Opens one path, detecting the format from its first bytes. */
int qn_reader_open(struct qn_context *ctx, const char *path, const char *sub,
                   struct qn_reader **out, struct qn_error *err);
void qn_reader_close(struct qn_reader *r);
/* A column in memory for qn_mem_reader_new: the caller keeps the arrays
 * alive and unchanged while the reader is open. */
struct qn_mem_column {
  const char *name;
  enum qn_type type;
  int64_t rows;
  const void *data;       /* values; strings: their bytes */
  int64_t stride;         /* bytes between values; 0 = dense */
  const uint8_t *valid;   /* NULL = no nulls; else one byte a row, 1 = present */
  const int64_t *offsets; /* strings: rows + 1 offsets into data */
  int64_t time_unit;      /* timestamps: units per second (default 1e6) */
};
/* A reader over columns in memory (memory.c); `name` stands for the path
 * in messages. Errors: QN_EINVAL (a bad descriptor), QN_ENOMEM. */
int qn_mem_reader_new(struct qn_context *ctx, const char *name,
                      const struct qn_mem_column *cols, int ncols, struct qn_reader **out,
                      struct qn_error *err);

/* Reads rows [row0, row0 + n) of several columns of one reader, through
 * read_cols when the reader has it, else column by column. */
int qn_reader_read_cols(struct qn_reader *r, const int *cols, int ncols, int64_t row0,
                        int64_t n, struct qn_colbuf *out, struct qn_error *err);
/* Helpers for readers: allocate and free the column array. */
int qn_reader_alloc_columns(struct qn_reader *r, int ncols, struct qn_error *err);
void qn_reader_free_columns(struct qn_reader *r);

/* The source as the scan sees it. */
struct qn_source {
  struct qn_context *ctx;
  int nfiles;
  struct qn_reader **files;
  int ncols;
  struct qn_column_info *cols; /* names and types from the first file */
};

/* A table of readers already open (in memory, generators, or files the
 * caller opened): the source owns them from the call on, also when it
 * fails. Their columns must agree as files of one table do. */
int qn_source_from_readers(struct qn_context *ctx, struct qn_reader **readers, int n,
                           struct qn_source **out, struct qn_error *err);

/* Index in file f of table column c (files may order columns differently). */
int qn_source_file_column(const struct qn_source *src, int f, int c);
/* Bounds of table column c from every file's metadata (the readers'
 * `minmax`, no value read): *known = 1 when every file with rows knows
 * its bounds, [*lo, *hi] then holds every value that is neither null nor
 * NaN (±inf included); *known = 0 when some file cannot tell (an empty
 * table is unknown too). */
int qn_source_minmax(struct qn_source *src, int c, double *lo, double *hi, int *known,
                     struct qn_error *err);
/* Rows of file f for the columns used together (checked by qn_source_rows). */
int64_t qn_source_file_rows(const struct qn_source *src, int f, const int *cols, int ncols);

/* "a, b, c" (cut with "..." to fit cap), for error messages. */
void qn_source_column_list(const struct qn_source *src, char *buf, size_t cap);

#endif /* QN_SOURCE_H */
