/* qn_writer.h — the output layer: one table writer per format (Parquet,
 * HDF5, CSV), used by every job that writes rows.
 *
 * Rows arrive as parts. A job hands each part to qn_writer_encode from
 * any worker, several at once (the format's CPU work: Parquet pages and
 * their compression, CSV text; HDF5 keeps a copy), then to
 * qn_writer_append strictly in output order from one thread at a time (the
 * scan's ordered commit). Every writer lays out its file (Parquet row
 * groups and pages, HDF5 chunks, CSV text) by counts over the rows, the
 * parts they came in and the options alone: never by the memory budget or
 * the thread count, so the bytes are the same for any of them.
 *
 * Every writer writes under a temporary name and renames into place on a
 * successful close, which also gives the XXH3-128 checksum of the bytes
 * written (struct qn_checksum); abort removes the temporary. Memory comes
 * from the budget.
 *
 * Formats register in a table (src/io/writers.c), chosen by the output's
 * extension; jobs name none of them.
 */
#ifndef QN_WRITER_H
#define QN_WRITER_H

#include "core/qn_core.h"

/* A column to write. */
struct qn_wcolumn {
  const char *name;
  enum qn_type type;
  int nullable;      /* may hold nulls */
  int64_t time_unit; /* QN_TIMESTAMP: 1000, 1000000 or 1000000000 per second */
  int list;          /* a LIST of `type` (batches carry colbuf.lists): Parquet, TFRecord
                        and ArrayRecord */
};

/* Working memory a writer may hold beyond its parts in flight and its
 * workers' scratch (a Parquet row group of 4 MiB of pages, half as much
 * in reused page buffers, a slab in transit, headers, footer): what a
 * job leaves it. */
#define QN_WRITER_WORK_BYTES ((int64_t)7 << 20)

struct qn_writer_options {
  const char *codec; /* format's codec name; NULL = its default (ArrayRecord: its
                        option text, e.g. "zstd:3,group_size:64") */
  int64_t rows;      /* rows to come when known in advance (HDF5 sizes its
                        datasets with it), else -1 */
};
void qn_writer_options_init(struct qn_writer_options *opt);

struct qn_writer;
struct qn_writer_ops {
  /* Encodes rows [0, n) of cols into *part (may stay NULL when there is
   * nothing to defer). row_base: the first row's index in the output. */
  int (*encode)(struct qn_writer *w, int worker, const struct qn_colbuf *cols, int64_t n,
                int64_t row_base, void **part, struct qn_error *err);
  /* Appends a part after the previous ones; takes it, also on failure. */
  int (*append)(struct qn_writer *w, void *part, struct qn_error *err);
  void (*part_free)(struct qn_writer *w, void *part);
  /* Finishes the file and renames it into place; frees w either way. */
  int (*close)(struct qn_writer *w, struct qn_checksum *sum, struct qn_error *err);
  void (*abort)(struct qn_writer *w); /* frees w, removes the temporary */
  /* Optional: encodes the first rows of a part whose other rows come later
   * (a part too large to hold at once), exactly as the whole part would be
   * encoded; *consumed rows are in *part, the rest must come again with
   * the following rows. Without it, every row is encoded (for formats
   * whose layout does not depend on where parts end). */
  int (*encode_partial)(struct qn_writer *w, int worker, const struct qn_colbuf *cols,
                        int64_t n, int64_t row_base, void **part, int64_t *consumed,
                        struct qn_error *err);
};

struct qn_writer {
  const struct qn_writer_ops *ops;
  const char *format; /* "parquet", "hdf5", "csv", "tfrecord", "arrayrecord" */
  struct qn_context *ctx;
  char *path;
  int ncols;
  struct qn_wcolumn *cols; /* copies (names owned) */
  int64_t rows;            /* appended so far */
};

/* A format a table can be written in, chosen by the extension. */
struct qn_writer_format {
  const char *name;
  const char *const *extensions; /* NULL-terminated, with the dot */
  int (*open)(struct qn_context *ctx, const char *path, const struct qn_wcolumn *cols,
              int ncols, const struct qn_writer_options *opt, struct qn_writer **out,
              struct qn_error *err);
  /* Checks the options (the codec) before any work; NULL: open checks. */
  int (*check)(const struct qn_writer_options *opt, struct qn_error *err);
};
extern const struct qn_writer_format *const qn_writer_formats[];

/* The format of `path` by its extension, or NULL. */
const struct qn_writer_format *qn_writer_format_for(const char *path);
/* The format named `name` ("parquet", "tfrecord", "arrayrecord", ...), or
 * NULL. */
const struct qn_writer_format *qn_writer_format_named(const char *name);
/* "a.parquet, .pq, .h5, ..." for messages. */
const char *qn_writer_extensions(void);

/* Opens a writer for `path` (format by extension). Errors: QN_EINVAL (no
 * format for the extension, bad codec, a type the format cannot hold),
 * QN_EIO, QN_ELIMIT, QN_ENOMEM. */
int qn_writer_open(struct qn_context *ctx, const char *path, const struct qn_wcolumn *cols,
                   int ncols, const struct qn_writer_options *opt, struct qn_writer **out,
                   struct qn_error *err);
int qn_writer_encode(struct qn_writer *w, int worker, const struct qn_colbuf *cols, int64_t n,
                     int64_t row_base, void **part, struct qn_error *err);
int qn_writer_append(struct qn_writer *w, void *part, struct qn_error *err);
/* The ops' encode_partial, or encode of every row when the format has none. */
int qn_writer_encode_partial(struct qn_writer *w, int worker, const struct qn_colbuf *cols,
                             int64_t n, int64_t row_base, void **part, int64_t *consumed,
                             struct qn_error *err);
void qn_writer_part_free(struct qn_writer *w, void *part);
/* Encode and append at once, from one thread (worker 0). */
int qn_writer_write(struct qn_writer *w, const struct qn_colbuf *cols, int64_t n,
                    struct qn_error *err);
int qn_writer_close(struct qn_writer *w, struct qn_checksum *sum, struct qn_error *err);
void qn_writer_abort(struct qn_writer *w); /* NULL is a no-op */

/* For the formats: fill the base (ops set by the caller). */
int qn_writer_base_init(struct qn_writer *w, struct qn_context *ctx, const char *format,
                        const char *path, const struct qn_wcolumn *cols, int ncols,
                        struct qn_error *err);
void qn_writer_base_reset(struct qn_writer *w);

#endif /* QN_WRITER_H */
