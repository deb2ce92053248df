/* qn_pq.h — internal declarations of quern's Parquet implementation.
 *
 * Written from the specification (apache/parquet-format parquet.thrift,
 * Encodings.md, Compression.md, LogicalTypes.md; the Thrift compact
 * protocol spec). Modules:
 *   thrift.c    compact protocol: a bounded reader that skips unknown fields
 *               of every type, and a growable writer
 *   meta.c      FileMetaData: schema tree -> flat leaf columns with
 *               definition/repetition levels, row groups, column chunks
 *   codec.c     page (de)compression through the system libraries
 *   encoding.c  RLE/bit-packed hybrid, PLAIN, dictionary indices,
 *               DELTA_BINARY_PACKED, DELTA_(LENGTH_)BYTE_ARRAY,
 *               BYTE_STREAM_SPLIT: streaming value decoders with skip
 *   page.c      page headers, DATA_PAGE v1/v2 and DICTIONARY_PAGE
 *   reader.c    the qn_reader of qn_source.h (cursor per column and thread)
 *   writer.c    the flat-table writer (qn_pq_writer.h)
 *
 * Every decoder works on a [p, end) byte range and never reads outside it;
 * a corrupt input gives QN_EFORMAT with a message naming the file and the
 * byte offset. Not API.
 */
#ifndef QN_PQ_H
#define QN_PQ_H

#include "../qn_source.h"

/* ----- enums of parquet.thrift (values fixed by the format) ----- */
enum qn_pq_phys {
  QN_PQ_BOOLEAN = 0,
  QN_PQ_INT32 = 1,
  QN_PQ_INT64 = 2,
  QN_PQ_INT96 = 3,
  QN_PQ_FLOAT = 4,
  QN_PQ_DOUBLE = 5,
  QN_PQ_BYTE_ARRAY = 6,
  QN_PQ_FIXED = 7
};
enum qn_pq_encoding {
  QN_PQ_PLAIN = 0,
  QN_PQ_PLAIN_DICTIONARY = 2,
  QN_PQ_RLE = 3,
  QN_PQ_BIT_PACKED = 4,
  QN_PQ_DELTA_BINARY_PACKED = 5,
  QN_PQ_DELTA_LENGTH_BYTE_ARRAY = 6,
  QN_PQ_DELTA_BYTE_ARRAY = 7,
  QN_PQ_RLE_DICTIONARY = 8,
  QN_PQ_BYTE_STREAM_SPLIT = 9
};
enum qn_pq_codec {
  QN_PQ_UNCOMPRESSED = 0,
  QN_PQ_SNAPPY = 1,
  QN_PQ_GZIP = 2,
  QN_PQ_LZO = 3,
  QN_PQ_BROTLI = 4,
  QN_PQ_LZ4 = 5,
  QN_PQ_ZSTD = 6,
  QN_PQ_LZ4_RAW = 7
};
enum qn_pq_page_type {
  QN_PQ_DATA_PAGE = 0,
  QN_PQ_INDEX_PAGE = 1,
  QN_PQ_DICTIONARY_PAGE = 2,
  QN_PQ_DATA_PAGE_V2 = 3
};
enum qn_pq_repetition { QN_PQ_REQUIRED = 0, QN_PQ_OPTIONAL = 1, QN_PQ_REPEATED = 2 };
/* ConvertedType values we interpret. */
enum qn_pq_converted {
  QN_PQ_CT_UTF8 = 0,
  QN_PQ_CT_DECIMAL = 5,
  QN_PQ_CT_DATE = 6,
  QN_PQ_CT_TIME_MILLIS = 7,
  QN_PQ_CT_TIME_MICROS = 8,
  QN_PQ_CT_TIMESTAMP_MILLIS = 9,
  QN_PQ_CT_TIMESTAMP_MICROS = 10,
  QN_PQ_CT_UINT_8 = 11,
  QN_PQ_CT_UINT_16 = 12,
  QN_PQ_CT_UINT_32 = 13,
  QN_PQ_CT_UINT_64 = 14,
  QN_PQ_CT_INT_8 = 15,
  QN_PQ_CT_INT_16 = 16,
  QN_PQ_CT_INT_32 = 17,
  QN_PQ_CT_INT_64 = 18,
  QN_PQ_CT_JSON = 19
};

const char *qn_pq_codec_name(int codec);       /* "SNAPPY", never NULL */
const char *qn_pq_encoding_name(int encoding); /* "PLAIN", never NULL */
const char *qn_pq_phys_name(int phys);         /* "INT32", never NULL */

/* ----- thrift.c: compact protocol ----- */

/* Thrift compact types (field and element types share these codes, with
 * BOOL elements as 1 or 2 in both positions). */
enum qn_pq_ttype {
  QN_PQ_T_STOP = 0,
  QN_PQ_T_TRUE = 1,
  QN_PQ_T_FALSE = 2,
  QN_PQ_T_I8 = 3,
  QN_PQ_T_I16 = 4,
  QN_PQ_T_I32 = 5,
  QN_PQ_T_I64 = 6,
  QN_PQ_T_DOUBLE = 7,
  QN_PQ_T_BINARY = 8,
  QN_PQ_T_LIST = 9,
  QN_PQ_T_SET = 10,
  QN_PQ_T_MAP = 11,
  QN_PQ_T_STRUCT = 12,
  QN_PQ_T_UUID = 13
};

/* Nesting bound for structs, lists and maps, so that a malicious input
 * cannot exhaust the stack. parquet.thrift nests at most 6 deep. */
#define QN_PQ_THRIFT_MAX_DEPTH 32

/* A bounded reader over [p, end). Errors name `path`, `what` and the byte
 * offset `base_off + (p - base)` in the file. */
struct qn_pq_tin {
  const uint8_t *base, *p, *end;
  int64_t base_off;
  const char *path;
  const char *what; /* "footer", "page header" */
  int depth;
  int truncated; /* set when an error was running out of bytes */
  struct qn_error *err;
};

void qn_pq_tin_init(struct qn_pq_tin *t, const uint8_t *p, size_t n, int64_t file_off,
                    const char *path, const char *what, struct qn_error *err);
int qn_pq_tin_fail(struct qn_pq_tin *t, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
int64_t qn_pq_tin_offset(const struct qn_pq_tin *t);
int qn_pq_t_varint(struct qn_pq_tin *t, uint64_t *v);
int qn_pq_t_i32(struct qn_pq_tin *t, int type, int32_t *v); /* I8/I16/I32 */
int qn_pq_t_i64(struct qn_pq_tin *t, int type, int64_t *v); /* any int */
int qn_pq_t_bool(struct qn_pq_tin *t, int type, int *v);
/* Binary/string: *p points into the input (not NUL-terminated). */
int qn_pq_t_binary(struct qn_pq_tin *t, int type, const uint8_t **p, uint32_t *n);
int qn_pq_t_string(struct qn_pq_tin *t, int type, char **out); /* malloc'd */
/* Struct framing: begin pushes the field-id context, next returns the next
 * field (type QN_PQ_T_STOP at the end, which also pops). */
struct qn_pq_tfield {
  int16_t last_id;
};
int qn_pq_t_struct_begin(struct qn_pq_tin *t, struct qn_pq_tfield *f);
int qn_pq_t_field(struct qn_pq_tin *t, struct qn_pq_tfield *f, int *type, int16_t *id);
/* List header: element type and size; size is checked against the bytes
 * left (each element takes at least one byte, except BOOL... also 1 byte). */
int qn_pq_t_list(struct qn_pq_tin *t, int type, int *etype, int32_t *size);
/* Skips one value of `type` (any type, recursively, bounded depth). */
int qn_pq_t_skip(struct qn_pq_tin *t, int type);

/* Growable output buffer for the compact writer (malloc'd; a footer is a
 * few KiB per row group and column). */
struct qn_pq_tout {
  uint8_t *buf;
  size_t len, cap;
  int16_t last_id[QN_PQ_THRIFT_MAX_DEPTH];
  int depth;
  int oom; /* sticky allocation failure, checked once at the end */
};
void qn_pq_tout_init(struct qn_pq_tout *o);
void qn_pq_tout_reset(struct qn_pq_tout *o);
void qn_pq_w_struct_begin(struct qn_pq_tout *o);
void qn_pq_w_struct_end(struct qn_pq_tout *o); /* writes STOP */
void qn_pq_w_field(struct qn_pq_tout *o, int16_t id, int type);
void qn_pq_w_i32(struct qn_pq_tout *o, int16_t id, int32_t v);
void qn_pq_w_i64(struct qn_pq_tout *o, int16_t id, int64_t v);
void qn_pq_w_bool(struct qn_pq_tout *o, int16_t id, int v);
void qn_pq_w_binary(struct qn_pq_tout *o, int16_t id, const void *p, size_t n);
void qn_pq_w_string(struct qn_pq_tout *o, int16_t id, const char *s);
/* List of `n` elements of `etype` as field `id`; elements follow. */
void qn_pq_w_list(struct qn_pq_tout *o, int16_t id, int etype, int32_t n);
void qn_pq_w_list_i32(struct qn_pq_tout *o, int32_t v); /* one I32 element */
void qn_pq_w_list_string(struct qn_pq_tout *o, const char *s);
void qn_pq_w_raw(struct qn_pq_tout *o, const void *p, size_t n);
void qn_pq_w_varint(struct qn_pq_tout *o, uint64_t v);

/* ----- meta.c: FileMetaData ----- */

/* How stored values map to quern's in-memory values. */
enum qn_pq_conv {
  QN_PQ_CV_NONE = 0, /* same bytes */
  QN_PQ_CV_NARROW8,  /* INT32 -> 1 byte */
  QN_PQ_CV_NARROW16, /* INT32 -> 2 bytes */
  QN_PQ_CV_INT96,    /* INT96 -> int64 nanoseconds since the epoch */
  QN_PQ_CV_DEC32,    /* INT32 decimal -> float64 value / 10^scale */
  QN_PQ_CV_DEC64,    /* INT64 decimal -> float64 */
  QN_PQ_CV_MS_TO_X   /* unused placeholder to keep values stable */
};

struct qn_pq_leaf {
  char *name;      /* dotted path without the root ("a.b") */
  int phys;        /* enum qn_pq_phys */
  int type_length; /* FIXED_LEN_BYTE_ARRAY width */
  int max_def, max_rep;
  int schema_index;        /* index of the SchemaElement */
  enum qn_type type;       /* output type; QN_TYPE_INVALID = not exposed */
  int conv;                /* enum qn_pq_conv */
  int64_t time_unit;       /* timestamps: units per second */
  int scale;               /* decimals */
  char type_name[48];      /* "int32", "timestamp[us]", "decimal(9,2)" */
  const char *skip_reason; /* why not exposed, when type is INVALID */
  /* FileMetaData.column_orders: the member of the ColumnOrder union that
   * min_value/max_value follow (1 TYPE_ORDER, 2 IEEE_754_TOTAL_ORDER, 3
   * INT96 order, another id as read); 0 when the file has none. */
  int column_order;
};

/* A column chunk's Statistics, as much as the range of a numeric column
 * needs: the PLAIN bytes of fixed-width bounds. A bound longer than 8
 * bytes (a string) is kept as absent. */
struct qn_pq_stats {
  uint8_t min_value[8], max_value[8]; /* fields 6, 5: in the column order */
  uint8_t min[8], max[8];             /* fields 2, 1: deprecated, signed order */
  int8_t min_value_len, max_value_len, min_len, max_len; /* bytes; 0 = absent */
  int8_t min_exact, max_exact;                           /* fields 8, 7: -1 absent */
  int64_t null_count;                                    /* field 3; -1 absent */
};

struct qn_pq_chunk {
  int has_stats;
  struct qn_pq_stats stats;
  int64_t start; /* first page (dictionary or data) */
  int64_t size;  /* total_compressed_size */
  int64_t data_page_offset;
  int64_t num_values;
  int codec;
  int phys;
  uint32_t encodings; /* bit set of enum qn_pq_encoding values */
  int64_t uncompressed_size;
  int has_dict;
};

struct qn_pq_rowgroup {
  int64_t num_rows;
  int64_t first_row;          /* prefix sum over previous row groups */
  struct qn_pq_chunk *chunks; /* one per leaf */
};

struct qn_pq_meta {
  int64_t file_size;
  int64_t footer_off, footer_len;
  int64_t num_rows;
  int version;
  char *created_by;
  int nleaves;
  struct qn_pq_leaf *leaves;
  int nrowgroups;
  struct qn_pq_rowgroup *rowgroups;
};

/* Parses the footer bytes [p, p+n) read from file offset `off`. On success
 * *out is malloc'd; free with qn_pq_meta_free. Checks every offset and size
 * against file_size. */
int qn_pq_meta_parse(const uint8_t *p, size_t n, int64_t off, int64_t file_size,
                     const char *path, struct qn_pq_meta **out, struct qn_error *err);
void qn_pq_meta_free(struct qn_pq_meta *m);
/* Reads and parses the footer of an open file descriptor. */
int qn_pq_meta_read(struct qn_context *ctx, int fd, const char *path, struct qn_pq_meta **out,
                    struct qn_error *err);

/* ----- codec.c ----- */
struct qn_pq_codec_state; /* per-thread decompression contexts */
struct qn_pq_codec_state *qn_pq_codec_state_new(void);
void qn_pq_codec_state_free(struct qn_pq_codec_state *s);
/* Decompresses [src, src+n) into exactly `dn` bytes at dst. Errors name
 * path, column and the page's file offset. */
int qn_pq_decompress(struct qn_pq_codec_state *s, int codec, const uint8_t *src, size_t n,
                     uint8_t *dst, size_t dn, const char *path, const char *col, int64_t off,
                     struct qn_error *err);
/* Upper bound of compressed size for `n` input bytes. */
size_t qn_pq_compress_bound(int codec, size_t n);
/* Compresses into dst (capacity from qn_pq_compress_bound); *dn = size. */
int qn_pq_compress(int codec, int level, const uint8_t *src, size_t n, uint8_t *dst, size_t *dn,
                   struct qn_error *err);
int qn_pq_codec_supported(int codec);

/* ----- encoding.c ----- */

/* RLE / bit-packed hybrid decoder over [p, end) with a fixed bit width
 * (0..32). Streaming: get() and skip() continue where the last call ended.*/
struct qn_pq_rle {
  const uint8_t *p, *end;
  int width;
  uint32_t run_left;   /* values left in the current run */
  int packed;          /* current run is bit-packed */
  uint32_t value;      /* RLE run value */
  const uint8_t *bits; /* bit-packed run data */
  uint64_t bitpos;     /* next value's bit offset within `bits` */
  uint64_t bitlen;     /* bits available in the packed run (bounds) */
};
void qn_pq_rle_init(struct qn_pq_rle *d, const uint8_t *p, const uint8_t *end, int width);
/* Decodes n values. Returns 0 or -1 on corrupt/short data. */
int qn_pq_rle_get32(struct qn_pq_rle *d, uint32_t *out, int64_t n);
int qn_pq_rle_get8(struct qn_pq_rle *d, uint8_t *out, int64_t n);
int qn_pq_rle_skip(struct qn_pq_rle *d, int64_t n);
/* Loads the next run header when the current run is used up. */
int qn_pq_rle_refill(struct qn_pq_rle *d);
/* Consumes n values and counts those equal to `value` (RLE runs counted
 * without expanding them). */
int qn_pq_rle_count(struct qn_pq_rle *d, int64_t n, uint32_t value, int64_t *count);

/* Bit-width encoder helper for writers: RLE runs only (levels and booleans
 * in quern's writer). Appends to a tout buffer. */
void qn_pq_rle_encode(struct qn_pq_tout *o, const uint8_t *vals, int64_t n, int width);

/* DELTA_BINARY_PACKED streaming decoder (INT32 or INT64 values). */
struct qn_pq_delta {
  const uint8_t *p, *end; /* p = next unread byte of the stream */
  uint64_t block_size, nmini, per_mini;
  uint64_t total, left; /* values in the stream, values not yet emitted */
  int64_t last;
  int first_pending; /* first value not yet emitted */
  int64_t min_delta;
  uint8_t widths[256];
  uint64_t mini_idx;   /* miniblock within the block */
  uint64_t in_mini;    /* values emitted from the current miniblock */
  const uint8_t *mini; /* current miniblock data */
  uint64_t mini_bytes;
  const uint8_t *stream_end; /* computed by qn_pq_delta_end */
};
int qn_pq_delta_init(struct qn_pq_delta *d, const uint8_t *p, const uint8_t *end);
int qn_pq_delta_get(struct qn_pq_delta *d, int64_t *out, int64_t n);
/* Decodes everything and returns the byte just past the stream (the
 * DELTA_(LENGTH_)BYTE_ARRAY data follows it). */
int qn_pq_delta_all(struct qn_pq_delta *d, int64_t *out, int64_t n, const uint8_t **after);

/* Bit-packed unpack of `n` values of `width` bits from bit offset `bitpos`
 * in [p, end). Returns -1 if it would read past end. */
int qn_pq_unpack32(const uint8_t *p, const uint8_t *end, uint64_t bitpos, int width,
                   uint32_t *out, int64_t n);
int qn_pq_unpack64(const uint8_t *p, const uint8_t *end, uint64_t bitpos, int width,
                   uint64_t *out, int64_t n);

static inline uint32_t qn_pq_le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline void qn_pq_put_le32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}

/* ----- values.c: value decoders over one page ----- */

/* Budgeted scratch buffers that grow and are reused (one set per cursor). */
#define QN_PQ_SCRATCH_SLOTS 4
struct qn_pq_scratch {
  struct qn_context *ctx;
  void *buf[QN_PQ_SCRATCH_SLOTS];
  size_t cap[QN_PQ_SCRATCH_SLOTS];
};
void *qn_pq_scratch_get(struct qn_pq_scratch *s, int slot, size_t bytes, const char *what,
                        struct qn_error *err);
void qn_pq_scratch_free(struct qn_pq_scratch *s);

/* A decoded dictionary: fixed-width values (physical bytes, `width` each)
 * or strings (offsets + data). Memory from the budget. */
struct qn_pq_dict {
  int64_t n;
  int width; /* 0 for BYTE_ARRAY */
  uint8_t *vals;
  int64_t *offs; /* n + 1 entries for BYTE_ARRAY */
  uint8_t *data;
};
void qn_pq_dict_free(struct qn_context *ctx, struct qn_pq_dict *d);
/* Decodes a PLAIN dictionary page of n values. Returns -1 on short data. */
int qn_pq_dict_decode(struct qn_context *ctx, struct qn_pq_dict *d, int phys, int width,
                      const uint8_t *p, const uint8_t *end, int64_t n, struct qn_error *err);

/* Growing string output (offsets written by the caller). */
struct qn_pq_strout {
  struct qn_context *ctx;
  uint8_t *data;
  size_t len, cap;
  int64_t *offs; /* where the next offsets go */
};
int qn_pq_strout_append(struct qn_pq_strout *o, const void *p, size_t n, struct qn_error *err);

enum qn_pq_vkind {
  QN_PQ_V_PLAIN,
  QN_PQ_V_PLAIN_BOOL,
  QN_PQ_V_PLAIN_BYTES,
  QN_PQ_V_DICT,
  QN_PQ_V_RLE_BOOL,
  QN_PQ_V_DELTA,
  QN_PQ_V_BSS,
  QN_PQ_V_DLBA,
  QN_PQ_V_DBA
};

struct qn_pq_vdec {
  int kind;
  int phys, width; /* physical type, bytes per value (BOOLEAN: 1) */
  const uint8_t *p, *end;
  int64_t left;         /* values not yet consumed */
  uint64_t bitpos;      /* PLAIN BOOLEAN */
  struct qn_pq_rle rle; /* dictionary indices, RLE booleans */
  const struct qn_pq_dict *dict;
  struct qn_pq_delta delta;
  int64_t nvals, idx;  /* BSS, DLBA, DBA: position in the page */
  const int64_t *lens; /* DLBA lengths / DBA materialised offsets */
  const uint8_t *data; /* DLBA data cursor / DBA materialised data */
  const char *why;     /* reason of the last failure */
};

/* Sets up decoding of `n` values in [p, end). Scratch slots 2 and 3 hold
 * DLBA/DBA lengths and DBA values. Returns QN_OK, or QN_EFORMAT /
 * QN_EUNSUPPORTED with d->why set (no message written), or a budget error. */
int qn_pq_vdec_init(struct qn_pq_vdec *d, int encoding, int phys, int width, const uint8_t *p,
                    const uint8_t *end, int64_t n, const struct qn_pq_dict *dict,
                    struct qn_pq_scratch *scr, struct qn_error *err);
/* Fixed width: writes n physical values (BOOLEAN as one byte 0/1). */
int qn_pq_vdec_fixed(struct qn_pq_vdec *d, void *dst, int64_t n);
/* Byte arrays: appends n values; writes n offsets (end positions) to
 * o->offs[1..n] and advances o->offs by n. */
int qn_pq_vdec_strings(struct qn_pq_vdec *d, struct qn_pq_strout *o, int64_t n,
                       struct qn_error *err);
int qn_pq_vdec_skip(struct qn_pq_vdec *d, int64_t n);

/* ----- page.c ----- */

struct qn_pq_page_header {
  int type;
  int32_t uncompressed_size, compressed_size;
  int32_t num_values; /* data pages and dictionary */
  int32_t num_nulls;  /* v2 */
  int32_t num_rows;   /* v2 */
  int encoding;
  int def_encoding, rep_encoding; /* v1 */
  int32_t def_len, rep_len;       /* v2 */
  int is_compressed;              /* v2, default 1 */
  int has_data_header;
};
/* Parses a PageHeader at [p, p+n) (file offset off). *hlen = header bytes.
 * When the bytes end inside the header, returns QN_EFORMAT with
 * t->truncated set through *truncated so callers can read more. */
int qn_pq_page_header_parse(const uint8_t *p, size_t n, int64_t off, const char *path,
                            const char *col, struct qn_pq_page_header *h, size_t *hlen,
                            int *truncated, struct qn_error *err);

/* Writes a PageHeader for writers. */
void qn_pq_page_header_write(struct qn_pq_tout *o, const struct qn_pq_page_header *h,
                             const uint8_t *stats, size_t stats_len);

/* Opens a Parquet file as a reader (the source opens files through the
 * format table; tests and tools call this directly). */
int qn_pq_open(struct qn_context *ctx, const char *path, struct qn_reader **out,
               struct qn_error *err);

#endif /* QN_PQ_H */
