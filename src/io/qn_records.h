/* qn_records.h — what the record formats (TFRecord, ArrayRecord) share
 * with each other and with `quern verify`: the tf.train.Example encoding
 * of an output row, CRC-32C (Intel ISA-L) and HighwayHash-64 with Riegeli's
 * key (Debian's libhighwayhash), protobuf varints, and the Riegeli block
 * arithmetic.
 *
 * tf.train.Example (tensorflow/core/example/{example,feature}.proto; our own
 * copy of the messages, written from the published field numbers, is
 * src/io/example.proto): one Example per row, features sorted by name
 * (their bytes), each a packed int64_list (integers, booleans, dates,
 * timestamps in their unit; an unsigned 64-bit value keeps its bits), a
 * packed float_list (float32, float64 narrowed by a C cast: round to
 * nearest even, beyond the range to infinity) or a bytes_list (strings).
 * A flat column (the key, n) is a list of one value. Lists never hold a
 * null: the encoder refuses one, naming the column and the row's first
 * column (tf.train.Example has no null, and dropping it would put the
 * lists of a row out of step).
 *
 * Thread rule: a struct qn_example is read-only once built; any number of
 * threads encode with it at once, each with its own sizes.
 */
#ifndef QN_RECORDS_H
#define QN_RECORDS_H

#include "core/qn_core.h"
#include "io/qn_writer.h"

/* ----- protobuf varints ----- */

static inline int qn_varint_len(uint64_t v) {
  /* 7 bits a byte: (bits - 1) / 7 + 1 without a loop, bits = 64 - clz */
  return (int)(((63 - __builtin_clzll(v | 1)) * 9 + 73) / 64);
}
static inline uint8_t *qn_varint_put(uint8_t *p, uint64_t v) {
  while (v >= 0x80) *p++ = (uint8_t)(v | 0x80), v >>= 7;
  *p++ = (uint8_t)v;
  return p;
}
/* Reads a varint of at most 10 bytes from [*p, end); 0 when it runs past
 * end or is longer. */
int qn_varint_get(const uint8_t **p, const uint8_t *end, uint64_t *v);

static inline void qn_le64_put(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint64_t qn_le64_get(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}
static inline void qn_le32_put(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint32_t qn_le32_get(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ----- checksums ----- */

/* CRC-32C (Castagnoli) of n bytes: ISA-L's crc32_iscsi with the standard
 * initial value and final xor (check value: "123456789" -> 0xE3069283). */
uint32_t qn_crc32c(const void *p, size_t n);
/* TFRecord's masked CRC: ((crc >> 15) | (crc << 17)) + 0xa282ead8. */
static inline uint32_t qn_crc32c_mask(uint32_t crc) {
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}
/* HighwayHash-64 with Riegeli's key ('Riegeli/', 'records\n', twice). */
uint64_t qn_riegeli_hash(const void *p, size_t n);

/* ----- Riegeli blocks (google/riegeli doc/riegeli_records_file_format.md) ----- */

#define QN_RIEGELI_BLOCK ((uint64_t)1 << 16)
#define QN_RIEGELI_BLOCK_HEADER 24
#define QN_RIEGELI_USABLE (QN_RIEGELI_BLOCK - QN_RIEGELI_BLOCK_HEADER)
#define QN_RIEGELI_CHUNK_HEADER 40
/* ArrayRecord's postscript magic (array_record cpp/array_record_writer.cc). */
#define QN_ARRAYRECORD_MAGIC 0x71930e704fdae05eULL

static inline uint64_t qn_riegeli_remaining(uint64_t pos) { /* to the next block start */
  return (QN_RIEGELI_BLOCK - pos % QN_RIEGELI_BLOCK) % QN_RIEGELI_BLOCK;
}
/* A chunk may begin or end at pos: not inside or just after a block header. */
static inline int qn_riegeli_possible_boundary(uint64_t pos) {
  return qn_riegeli_remaining(pos) < QN_RIEGELI_USABLE;
}
/* Where `size` bytes of a chunk begun at `begin` end, block headers counted. */
uint64_t qn_riegeli_add_with_overhead(uint64_t begin, uint64_t size);
/* Bytes between begin and end that are not block headers. */
uint64_t qn_riegeli_distance(uint64_t begin, uint64_t end);
/* The end of a chunk (with its padding) begun at `begin`. */
uint64_t qn_riegeli_chunk_end(uint64_t begin, uint64_t data_size, uint64_t num_records);
/* Fills a 24-byte block header. */
void qn_riegeli_block_header(uint8_t out[24], uint64_t previous_chunk, uint64_t next_chunk);
/* Fills a 40-byte chunk header for `data`. */
void qn_riegeli_chunk_header(uint8_t out[40], const void *data, uint64_t data_size,
                             uint8_t chunk_type, uint64_t num_records,
                             uint64_t decoded_data_size);

/* ----- tf.train.Example ----- */

enum qn_example_kind { QN_EX_BYTES = 1, QN_EX_FLOAT = 2, QN_EX_INT64 = 3 };

struct qn_example_feature {
  const char *name;
  size_t name_len;
  int col; /* the batch column */
  enum qn_type type;
  enum qn_example_kind kind;
  int list;
};

struct qn_example {
  int n;
  struct qn_example_feature *f; /* sorted by name */
};

/* Per-row sizes the encoder computes once and writes with. */
struct qn_example_sizes {
  uint64_t total; /* the Example's bytes */
  uint64_t features;
  uint64_t *payload; /* [n]: a feature's list payload */
};

/* The features of the writer columns, sorted by name. Errors: QN_EINVAL
 * (two columns of one name: an Example holds one feature a name; a type
 * it cannot hold), QN_ENOMEM. */
int qn_example_init(struct qn_example *ex, const struct qn_wcolumn *cols, int ncols,
                    const char *path, struct qn_error *err);
void qn_example_reset(struct qn_example *ex);
/* The kind a column type is written as. */
enum qn_example_kind qn_example_kind_of(enum qn_type type);

/* Sizes row r of cols (the writer's columns; lists as colbuf.lists) into
 * *sz (sz->payload has room for ex->n). Errors: QN_EUNSUPPORTED (a null in
 * a list), QN_EINVAL (an Example of 2 GiB or more). */
int qn_example_measure(const struct qn_example *ex, const struct qn_colbuf *cols, int64_t r,
                       struct qn_example_sizes *sz, struct qn_error *err);
/* Writes row r's Example (sz->total bytes, as measured) at out; returns
 * the end. */
uint8_t *qn_example_write(const struct qn_example *ex, const struct qn_colbuf *cols, int64_t r,
                          const struct qn_example_sizes *sz, uint8_t *out);

/* The value of int64 feature `name` when it holds exactly one, read from a
 * serialized Example (what `quern verify` sums `n` with). Returns 1 found,
 * 0 absent, -1 when the bytes are not an Example. */
int qn_example_find_int64(const uint8_t *p, size_t n, const char *name, int64_t *value);

/* ----- writer options the record formats share ----- */

/* The --codec text of a record format. TFRecord: "none" (or
 * "uncompressed"). ArrayRecord, in its own option syntax, comma separated:
 * "none"/"uncompressed", "zstd" (level 3), "zstd:LEVEL", "group_size:N".
 * NULL or "" is the default: uncompressed, 1 record a chunk. Errors:
 * QN_EINVAL naming the option. */
struct qn_record_codec {
  int zstd;       /* 0: uncompressed */
  int level;      /* zstd level */
  int group_size; /* records a chunk (ArrayRecord) */
};
int qn_record_codec_parse(const char *format, const char *text, int arrayrecord,
                          struct qn_record_codec *out, struct qn_error *err);

/* ----- a part's bytes: pieces from a pool ----- */

/* Encoded rows go into pieces of 1 MiB (a row never spans two; a larger
 * row gets a piece of its own), taken from and given back to a small pool
 * of the writer's: fresh memory costs a page fault and a zeroed page every
 * 4 KiB, and a group job encodes hundreds of parts a file. */
#define QN_REC_PIECE ((size_t)1 << 20)
#define QN_REC_POOL 4 /* pieces a writer keeps */

struct qn_rec_piece {
  uint8_t *p;
  size_t len, cap;
};
struct qn_rec_chain {
  struct qn_rec_piece *pieces;
  int n, cap;
};
struct qn_rec_pool {
  struct qn_context *ctx;
  pthread_mutex_t lock;
  uint8_t *free[QN_REC_POOL];
  int nfree;
};
void qn_rec_pool_init(struct qn_rec_pool *pool, struct qn_context *ctx);
void qn_rec_pool_reset(struct qn_rec_pool *pool);
/* Room for `need` bytes at the end of the chain's last piece (a new piece
 * when it lacks them); the caller writes there and adds to its len.
 * Errors: QN_ELIMIT, QN_ENOMEM (NULL returned). Thread rule: any thread,
 * one chain each. */
uint8_t *qn_rec_chain_room(struct qn_rec_pool *pool, struct qn_rec_chain *c, size_t need,
                           struct qn_error *err);
void qn_rec_chain_free(struct qn_rec_pool *pool, struct qn_rec_chain *c);

/* ----- ArrayRecord files of raw records (arrayrecord.c) ----- */

/* An ArrayRecord file being written: the layout under the table writer,
 * open for records given as bytes (what test_records.c builds the golden
 * files with). nworkers: how many threads may build chunk images for it.
 * Thread rule: one thread adds, in order. */
struct qn_ar_file;
int qn_ar_file_open(struct qn_context *ctx, const char *path,
                    const struct qn_record_codec *codec, int nworkers, struct qn_ar_file **out,
                    struct qn_error *err);
/* Appends n records: values back to back, sizes[i] bytes each. */
int qn_ar_file_add(struct qn_ar_file *f, const uint8_t *values, const uint64_t *sizes,
                   int64_t n, struct qn_error *err);
/* Lays out a whole data chunk image (chunk header and data) and indexes it. */
int qn_ar_file_chunk(struct qn_ar_file *f, const uint8_t *image, struct qn_error *err);
size_t qn_ar_chunk_bound(size_t sizes_len, size_t values_len);
/* Writes the footer, the postscript and their padding, renames the file
 * into place; frees f either way. */
int qn_ar_file_close(struct qn_ar_file *f, struct qn_checksum *sum, struct qn_error *err);
void qn_ar_file_abort(struct qn_ar_file *f); /* NULL is a no-op */

#endif /* QN_RECORDS_H */
