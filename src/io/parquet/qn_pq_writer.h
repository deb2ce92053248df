/* qn_pq_writer.h — quern's Parquet writer for flat tables (internal).
 *
 * Writes DATA_PAGE (v1) pages with PLAIN values and RLE definition levels
 * for nullable columns, compressed with SNAPPY (default), ZSTD, GZIP,
 * LZ4_RAW, BROTLI or nothing; each column chunk carries statistics (null
 * count, min and max; NaN never counted in min/max); created_by is
 * "quern version X.Y.Z". The output is written under a temporary name and
 * renamed into place only by a successful qn_pq_writer_close.
 *
 * Rows arrive as parts. A part is encoded (pages cut from its first row:
 * page_bytes of values, a fixed row count for fixed-width types; then
 * compressed) by qn_pq_writer_encode, on any worker, several at once;
 * qn_pq_writer_append adds parts in order, and a row group closes after
 * the part that brings it to row_group_rows rows or row_group_bytes of
 * uncompressed pages. So the bytes depend on the rows, the parts they
 * came in and the options, never on threads or the memory budget.
 *
 * Memory: one row group of compressed pages (about row_group_bytes) plus
 * the parts in flight and a page of scratch per worker, all from the
 * budget. Thread rule: encode from workers 0 .. threads-1, each worker
 * index from one thread at a time; everything else from one thread.
 *
 * Room for LIST columns (quern group's one-row-per-key output): a column
 * descriptor carries `list`; the page builder keeps definition *and*
 * repetition levels per value (max_def/max_rep per leaf), so a list column
 * becomes a 3-level LIST group whose leaf pages get repetition levels. Only
 * `list = 0` is implemented today; qn_pq_writer_open rejects the rest.
 */
#ifndef QN_PQ_WRITER_H
#define QN_PQ_WRITER_H

#include "qn_pq.h"

struct qn_pq_writer;

struct qn_pq_wcol {
  const char *name;
  enum qn_type type; /* any quern type; QN_STRING as UTF-8 BYTE_ARRAY */
  int nullable;      /* OPTIONAL (definition levels) vs REQUIRED */
  int64_t time_unit; /* QN_TIMESTAMP: 1000, 1000000 or 1000000000 per second */
  int list;          /* 1 = a LIST of `type` (the standard 3-level form, required) */
};

struct qn_pq_writer_options {
  int codec;               /* enum qn_pq_codec; default QN_PQ_SNAPPY */
  int level;               /* codec level; 0 = the codec's default */
  int64_t row_group_rows;  /* close a row group at this many rows (1 Mi) */
  int64_t row_group_bytes; /* ... or this many uncompressed page bytes (4 MiB) */
  int64_t page_bytes;      /* target uncompressed page size (1 MiB) */
  const char *created_by;  /* default "quern version " QN_VERSION_STRING */
};

void qn_pq_writer_options_init(struct qn_pq_writer_options *opt);
/* "snappy", "zstd", "gzip", "none"/"uncompressed", "lz4" (LZ4_RAW),
 * "brotli" -> enum qn_pq_codec. Errors: QN_EINVAL naming the text. */
int qn_pq_codec_parse(const char *name, int *codec, struct qn_error *err);

/* Starts writing `path` (atomically). On success *out owns the writer;
 * finish with qn_pq_writer_close or qn_pq_writer_abort.
 * Errors: QN_EINVAL (no columns, bad type/unit, list), QN_EIO, QN_ELIMIT. */
int qn_pq_writer_open(struct qn_context *ctx, const char *path, const struct qn_pq_wcol *cols,
                      int ncols, const struct qn_pq_writer_options *opt,
                      struct qn_pq_writer **out, struct qn_error *err);
/* Rows encoded into pages, waiting to be appended. */
struct qn_pq_part;
/* Encodes `nrows` rows (cols[i] holds column i, of the declared type;
 * `valid` NULL = no nulls; strings with offsets[nrows + 1] into data) into
 * a part, from worker `worker` (0 .. context threads - 1). row_base is the
 * first row's index in the output, for messages. */
int qn_pq_writer_encode(struct qn_pq_writer *w, int worker, const struct qn_colbuf *cols,
                        int64_t nrows, int64_t row_base, struct qn_pq_part **out,
                        struct qn_error *err);
/* The same, with final = 0 for rows that more rows of the same part will
 * follow: only whole slabs are encoded (as encoding the whole part at once
 * would cut them); *consumed says how many rows they hold, the caller
 * passes the rest again with what follows. final = 1 is qn_pq_writer_encode. */
int qn_pq_writer_encode_ex(struct qn_pq_writer *w, int worker, const struct qn_colbuf *cols,
                           int64_t nrows, int64_t row_base, int final, struct qn_pq_part **out,
                           int64_t *consumed, struct qn_error *err);
/* Appends a part after the previous ones; takes it (also on failure). */
int qn_pq_writer_append(struct qn_pq_writer *w, struct qn_pq_part *part, struct qn_error *err);
void qn_pq_part_free(struct qn_pq_writer *w, struct qn_pq_part *part); /* NULL: no-op */
/* Encode and append on this thread, in parts of 65536 rows. */
int qn_pq_writer_write(struct qn_pq_writer *w, const struct qn_colbuf *cols, int64_t nrows,
                       struct qn_error *err);
/* Flushes, writes the footer and renames the file into place; frees w
 * whatever happens (on failure no file is left). */
int qn_pq_writer_close(struct qn_pq_writer *w, struct qn_error *err);
/* The same, also giving the file's XXH3-128 checksum and size. */
int qn_pq_writer_close_sum(struct qn_pq_writer *w, struct qn_checksum *sum,
                           struct qn_error *err);
void qn_pq_writer_abort(struct qn_pq_writer *w); /* frees w; NULL is a no-op */
/* Rows and row groups written so far (for messages and tests). */
int64_t qn_pq_writer_rows(const struct qn_pq_writer *w);
int qn_pq_writer_row_groups(const struct qn_pq_writer *w);

#endif /* QN_PQ_WRITER_H */
