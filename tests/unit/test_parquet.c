/* test_parquet.c — unit tests of quern's Parquet implementation: the
 * compact Thrift reader (skipping of unknown fields of every type, bounds),
 * the RLE/bit-packed hybrid, DELTA_BINARY_PACKED and BYTE_STREAM_SPLIT
 * against the examples of Encodings.md, a writer -> reader round trip of
 * every type and codec, hand-built files for what our writer never emits
 * (INT96, a chunk that falls back from dictionary to PLAIN part way, v2
 * pages), and corrupt inputs (each a clean QN_EFORMAT naming the file and
 * a byte offset; never a crash), plus budget and allocation faults.
 */
#include "harness.h"
#include "io/parquet/qn_pq.h"
#include "test_parquet_build.h"
#include "test_parquet_gen.h"

#include <unistd.h>

static struct qn_context *new_ctx(int64_t limit) {
  struct qn_context_options o;
  qn_context_options_init(&o);
  o.memory_limit = limit;
  struct qn_context *ctx = NULL;
  if (qn_context_new(&o, &ctx, NULL) != QN_OK) abort();
  return ctx;
}

/* Files go to the harness's directory, removed when the test ends. */
static char *tmp_path(const char *name) {
  return qn_test_path(name);
}

static uint8_t *read_bytes(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  *n = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *p = malloc(*n + 1);
  if (fread(p, 1, *n, f) != *n) abort();
  fclose(f);
  return p;
}

/* ----- thrift ----- */

QN_TEST(thrift_skips_unknown_fields_of_every_type) {
  struct qn_pq_tout o;
  qn_pq_tout_init(&o);
  qn_pq_w_struct_begin(&o);
  qn_pq_w_i32(&o, 1, -7);               /* known */
  qn_pq_w_field(&o, 2, QN_PQ_T_DOUBLE); /* unknown double */
  double dv = 2.5;
  qn_pq_w_raw(&o, &dv, 8);
  qn_pq_w_bool(&o, 3, 1); /* unknown bools */
  qn_pq_w_bool(&o, 4, 0);
  qn_pq_w_field(&o, 5, QN_PQ_T_I8);
  uint8_t b = 0x80;
  qn_pq_w_raw(&o, &b, 1);
  qn_pq_w_field(&o, 6, QN_PQ_T_I16);
  qn_pq_w_varint(&o, 77);
  qn_pq_w_binary(&o, 7, "hello", 5);
  qn_pq_w_list(&o, 8, QN_PQ_T_STRUCT, 20); /* list of structs, long form */
  for (int i = 0; i < 20; i++) {
    qn_pq_w_struct_begin(&o);
    qn_pq_w_i64(&o, 1, i);
    qn_pq_w_struct_end(&o);
  }
  qn_pq_w_list(&o, 9, QN_PQ_T_TRUE, 3); /* list of bools: one byte each */
  uint8_t bools[3] = {1, 2, 1};
  qn_pq_w_raw(&o, bools, 3);
  qn_pq_w_field(&o, 10, QN_PQ_T_MAP); /* map<string, list<i32>> */
  qn_pq_w_varint(&o, 2);
  uint8_t kv = (QN_PQ_T_BINARY << 4) | QN_PQ_T_LIST;
  qn_pq_w_raw(&o, &kv, 1);
  for (int i = 0; i < 2; i++) {
    qn_pq_w_list_string(&o, "k");
    uint8_t lh = (2 << 4) | QN_PQ_T_I32;
    qn_pq_w_raw(&o, &lh, 1);
    qn_pq_w_list_i32(&o, 5);
    qn_pq_w_list_i32(&o, -5);
  }
  qn_pq_w_field(&o, 11, QN_PQ_T_MAP); /* empty map */
  qn_pq_w_varint(&o, 0);
  qn_pq_w_field(&o, 12, QN_PQ_T_UUID);
  uint8_t uuid[16] = {0};
  qn_pq_w_raw(&o, uuid, 16);
  qn_pq_w_field(&o, 13, QN_PQ_T_SET); /* set<double>, short form */
  uint8_t sh = (1 << 4) | QN_PQ_T_DOUBLE;
  qn_pq_w_raw(&o, &sh, 1);
  qn_pq_w_raw(&o, &dv, 8);
  qn_pq_w_field(&o, 14, QN_PQ_T_STRUCT); /* nested struct with a nested list */
  qn_pq_w_struct_begin(&o);
  qn_pq_w_list(&o, 1, QN_PQ_T_BINARY, 1);
  qn_pq_w_list_string(&o, "x");
  qn_pq_w_struct_end(&o);
  qn_pq_w_i64(&o, 300, INT64_MIN); /* long-form field id */
  qn_pq_w_string(&o, 301, "tail"); /* known, after all the rest */
  qn_pq_w_struct_end(&o);
  CHECK(!o.oom);

  struct qn_pq_tin t;
  struct qn_pq_tfield f;
  struct qn_error err;
  qn_error_init(&err);
  qn_pq_tin_init(&t, o.buf, o.len, 100, "x.parquet", "test", &err);
  int ft, seen = 0;
  int16_t id;
  int32_t v1 = 0;
  int64_t v300 = 0;
  char *tail = NULL;
  CHECK_OK(qn_pq_t_struct_begin(&t, &f));
  for (;;) {
    CHECK_OK(qn_pq_t_field(&t, &f, &ft, &id));
    if (ft == QN_PQ_T_STOP) break;
    seen++;
    if (id == 1)
      CHECK_OK(qn_pq_t_i32(&t, ft, &v1));
    else if (id == 300)
      CHECK_OK(qn_pq_t_i64(&t, ft, &v300));
    else if (id == 301)
      CHECK_OK(qn_pq_t_string(&t, ft, &tail));
    else
      CHECK_OK(qn_pq_t_skip(&t, ft));
  }
  CHECK_EQ_INT(seen, 16);
  CHECK_EQ_INT(v1, -7);
  CHECK(v300 == INT64_MIN);
  CHECK_EQ_STR(tail, "tail");
  CHECK(t.p == t.end);
  CHECK_EQ_INT(t.depth, 0);
  free(tail);

  /* every strict prefix fails cleanly (never reads past the end) */
  for (size_t n = 0; n < o.len; n++) {
    uint8_t *cut = malloc(n ? n : 1);
    memcpy(cut, o.buf, n);
    qn_error_init(&err);
    qn_pq_tin_init(&t, cut, n, 0, "x.parquet", "test", &err);
    int st = qn_pq_t_skip(&t, QN_PQ_T_STRUCT);
    free(cut);
    if (st == QN_OK) QN_FAIL_AT("prefix of %zu bytes parsed", n);
    CHECK_EQ_INT(st, QN_EFORMAT);
    CHECK(strstr(err.message, "x.parquet") && strstr(err.message, "at byte"));
  }
  qn_pq_tout_reset(&o);
}

QN_TEST(thrift_bounds_nesting_and_list_sizes) {
  uint8_t deep[400];
  /* 200 nested struct fields: 0x1C = delta 1, type STRUCT */
  for (int i = 0; i < 200; i++) deep[i] = 0x1C;
  memset(deep + 200, 0, 200);
  struct qn_pq_tin t;
  struct qn_error err;
  qn_error_init(&err);
  qn_pq_tin_init(&t, deep, sizeof deep, 0, "d.parquet", "footer", &err);
  CHECK_EQ_INT(qn_pq_t_skip(&t, QN_PQ_T_STRUCT), QN_EFORMAT);
  CHECK(strstr(err.message, "nest deeper"));
  /* a list claiming 2^31-1 elements in 6 bytes */
  uint8_t big[] = {0x19, 0xF5, 0xFF, 0xFF, 0xFF, 0xFF, 0x07, 0};
  qn_error_init(&err);
  qn_pq_tin_init(&t, big, sizeof big, 0, "d.parquet", "footer", &err);
  CHECK_EQ_INT(qn_pq_t_skip(&t, QN_PQ_T_STRUCT), QN_EFORMAT);
  CHECK(strstr(err.message, "cannot fit"));
  /* an 11-byte varint */
  uint8_t vv[] = {0x15, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0};
  qn_error_init(&err);
  qn_pq_tin_init(&t, vv, sizeof vv, 0, "d.parquet", "footer", &err);
  CHECK_EQ_INT(qn_pq_t_skip(&t, QN_PQ_T_STRUCT), QN_EFORMAT);
}

/* ----- encodings ----- */

QN_TEST(rle_hybrid_spec_example_and_runs) {
  /* Encodings.md: 0..7 at width 3 bit-packed -> 10001000 11000110 11111010;
   * then an RLE run of 5 copies of 6. */
  uint8_t buf[] = {0x03, 0x88, 0xC6, 0xFA, 0x0A, 0x06};
  struct qn_pq_rle d;
  uint32_t out[13];
  qn_pq_rle_init(&d, buf, buf + sizeof buf, 3);
  CHECK_OK(qn_pq_rle_get32(&d, out, 13));
  for (int i = 0; i < 8; i++) CHECK_EQ_INT(out[i], i);
  for (int i = 8; i < 13; i++) CHECK_EQ_INT(out[i], 6);
  CHECK(qn_pq_rle_get32(&d, out, 1) != 0); /* nothing left */
  /* skip + get across runs */
  qn_pq_rle_init(&d, buf, buf + sizeof buf, 3);
  CHECK_OK(qn_pq_rle_skip(&d, 6));
  CHECK_OK(qn_pq_rle_get32(&d, out, 4));
  CHECK_EQ_INT(out[0], 6);
  CHECK_EQ_INT(out[1], 7);
  CHECK_EQ_INT(out[2], 6);
  CHECK_EQ_INT(out[3], 6);
}

QN_TEST(rle_encode_decode_roundtrip) {
  uint64_t s = 12345;
  for (int width = 1; width <= 8; width++) {
    for (int trial = 0; trial < 20; trial++) {
      int64_t n = 1 + (int64_t)(s % 3000);
      uint8_t *v = malloc((size_t)n), *back = malloc((size_t)n);
      for (int64_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        /* mix long runs and noise */
        v[i] = (s >> 60) < 8 && i > 0 ? v[i - 1] : (uint8_t)((s >> 33) % (1u << width));
      }
      struct qn_pq_tout o;
      qn_pq_tout_init(&o);
      qn_pq_rle_encode(&o, v, n, width);
      struct qn_pq_rle d;
      qn_pq_rle_init(&d, o.buf, o.buf + o.len, width);
      CHECK_OK(qn_pq_rle_get8(&d, back, n));
      int same = memcmp(v, back, (size_t)n) == 0;
      free(v);
      free(back);
      qn_pq_tout_reset(&o);
      if (!same) QN_FAIL_AT("width %d n %lld differs", width, (long long)n);
    }
  }
}

QN_TEST(delta_binary_packed_spec_example_2) {
  /* 7,5,3,1,2,3,4,5 -> deltas -2,-2,-2,1,1,1,1: min -2, relative 0,0,0,3,3,3,3
   * at 2 bits. Block size 128 with 4 miniblocks of 32 (the spec's example
   * uses 8, which is not a valid block size). */
  uint8_t buf[64] = {0x80, 0x01, 0x04, 0x08, 0x0E, /* header: 128, 4, 8, zz(7) */
                     0x03, 2,    0,    0,    0,    /* zz(-2), widths */
                     0xC0, 0x3F};                  /* 0,0,0,3 | 3,3,3,0 ... */
  size_t len = 5 + 5 + 8;                          /* one miniblock of 32 values x 2 bits */
  struct qn_pq_delta d;
  int64_t out[8];
  CHECK_OK(qn_pq_delta_init(&d, buf, buf + len));
  CHECK_OK(qn_pq_delta_get(&d, out, 3));
  CHECK_OK(qn_pq_delta_get(&d, out + 3, 5));
  int64_t want[8] = {7, 5, 3, 1, 2, 3, 4, 5};
  for (int i = 0; i < 8; i++) CHECK_EQ_INT(out[i], want[i]);
  CHECK(qn_pq_delta_get(&d, out, 1) != 0);
  /* decode-all reports where the stream ends */
  const uint8_t *after = NULL;
  CHECK_OK(qn_pq_delta_init(&d, buf, buf + len));
  CHECK_OK(qn_pq_delta_all(&d, out, 8, &after));
  CHECK(after == buf + len);
}

QN_TEST(delta_wraps_as_twos_complement) {
  /* INT64_MAX then +1 must give INT64_MIN (spec: overflow wraps). */
  struct qn_pq_tout o;
  qn_pq_tout_init(&o);
  qn_pq_w_varint(&o, 128);
  qn_pq_w_varint(&o, 4);
  qn_pq_w_varint(&o, 2);
  qn_pq_w_varint(&o, UINT64_MAX - 1); /* zigzag(INT64_MAX) */
  qn_pq_w_varint(&o, 2);              /* min delta zigzag(1) */
  uint8_t w[4] = {0, 0, 0, 0};
  qn_pq_w_raw(&o, w, 4);
  struct qn_pq_delta d;
  int64_t out[2];
  CHECK_OK(qn_pq_delta_init(&d, o.buf, o.buf + o.len));
  CHECK_OK(qn_pq_delta_get(&d, out, 2));
  CHECK(out[0] == INT64_MAX);
  CHECK(out[1] == INT64_MIN);
  /* malformed headers are refused */
  uint8_t bad1[] = {0x81, 0x01, 0x04, 0x01, 0x00}; /* block size 129 */
  uint8_t bad2[] = {0x80, 0x01, 0x03, 0x01, 0x00}; /* 128/3 not whole */
  uint8_t bad3[] = {0x80, 0x01, 0x08, 0x01, 0x00}; /* 16 per miniblock */
  CHECK(qn_pq_delta_init(&d, bad1, bad1 + sizeof bad1) != 0);
  CHECK(qn_pq_delta_init(&d, bad2, bad2 + sizeof bad2) != 0);
  CHECK(qn_pq_delta_init(&d, bad3, bad3 + sizeof bad3) != 0);
  qn_pq_tout_reset(&o);
}

QN_TEST(byte_stream_split_doubles) {
  double v[5] = {1.5, -2.25, 1e300, -0.0, 3.0};
  uint8_t enc[40];
  for (int i = 0; i < 5; i++)
    for (int b = 0; b < 8; b++) enc[b * 5 + i] = ((uint8_t *)&v[i])[b];
  struct qn_pq_vdec d;
  struct qn_pq_scratch scr = {0};
  double out[5];
  CHECK_OK(qn_pq_vdec_init(&d, QN_PQ_BYTE_STREAM_SPLIT, QN_PQ_DOUBLE, 8, enc, enc + 40, 5, NULL,
                           &scr, NULL));
  CHECK_OK(qn_pq_vdec_skip(&d, 1));
  CHECK_OK(qn_pq_vdec_fixed(&d, out, 4));
  for (int i = 0; i < 4; i++) CHECK(memcmp(&out[i], &v[i + 1], 8) == 0);
  /* wrong size refused */
  CHECK(qn_pq_vdec_init(&d, QN_PQ_BYTE_STREAM_SPLIT, QN_PQ_DOUBLE, 8, enc, enc + 39, 5, NULL,
                        &scr, NULL) != QN_OK);
}

/* ----- writer -> reader round trip ----- */

static void check_column(struct qn_reader *r, int c, int64_t row0, int64_t n, int *ok) {
  struct pqg_batch b;
  pqg_batch_init(&b, n);
  pqg_fill(&b, row0, n);
  struct qn_colbuf out;
  memset(&out, 0, sizeof out);
  size_t w = qn_type_size(pqg_cols[c].type);
  out.data = w ? malloc(w * (size_t)n) : NULL;
  uint8_t *valid = malloc((size_t)n + 1);
  out.valid = valid;
  out.offsets = pqg_cols[c].type == QN_STRING ? malloc(((size_t)n + 1) * 8) : NULL;
  struct qn_error err;
  qn_error_init(&err);
  if (r->ops->read(r, c, row0, n, &out, &err) != QN_OK) {
    fprintf(stderr, "read failed: %s\n", err.message);
    *ok = 0;
  }
  const struct qn_colbuf *e = &b.cols[c];
  for (int64_t k = 0; *ok && k < n; k++) {
    int ev = e->valid ? e->valid[k] : 1, gv = out.valid ? out.valid[k] : 1;
    if (ev != gv) {
      fprintf(stderr, "column %s row %lld: valid %d != %d\n", pqg_cols[c].name,
              (long long)(row0 + k), gv, ev);
      *ok = 0;
    } else if (!ev) {
      continue;
    } else if (out.offsets) {
      int64_t l1 = out.offsets[k + 1] - out.offsets[k], l2 = e->offsets[k + 1] - e->offsets[k];
      if (l1 != l2 || memcmp((char *)out.data + out.offsets[k], (char *)e->data + e->offsets[k],
                             (size_t)l1))
        *ok = 0;
    } else if (memcmp((char *)out.data + k * w, (char *)e->data + k * w, w) != 0) {
      fprintf(stderr, "column %s row %lld differs\n", pqg_cols[c].name, (long long)(row0 + k));
      *ok = 0;
    }
  }
  if (out.offsets)
    qn_mem_free(r->ctx, out.data);
  else
    free(out.data);
  free(valid);
  free(out.offsets);
  pqg_batch_free(&b);
}

static void roundtrip(const char *codec, int64_t rows, int64_t rg_bytes, int64_t page_bytes) {
  struct qn_context *ctx = new_ctx(0);
  struct qn_error err;
  qn_error_init(&err);
  struct qn_pq_writer_options opt;
  qn_pq_writer_options_init(&opt);
  CHECK_OK(qn_pq_codec_parse(codec, &opt.codec, &err));
  opt.row_group_bytes = rg_bytes;
  opt.page_bytes = page_bytes;
  char *path = tmp_path(codec);
  if (pqg_write(ctx, path, rows, &opt, &err) != QN_OK) QN_FAIL_AT("write: %s", err.message);
  CHECK_EQ_INT(qn_context_used_bytes(ctx), 0);
  struct qn_reader *r = NULL;
  if (qn_pq_open(ctx, path, &r, &err) != QN_OK) QN_FAIL_AT("open: %s", err.message);
  CHECK_EQ_INT(r->ncols, PQG_NCOLS);
  int ok = 1;
  for (int c = 0; c < PQG_NCOLS && ok; c++) {
    CHECK_EQ_STR(r->cols[c].name, pqg_cols[c].name);
    CHECK_EQ_INT(r->cols[c].type, pqg_cols[c].type);
    CHECK_EQ_INT(r->cols[c].rows, rows);
    CHECK_EQ_INT(r->cols[c].nullable, pqg_cols[c].nullable);
    /* sequential 64K blocks, then odd ranges backwards across pages */
    for (int64_t r0 = 0; r0 < rows && ok; r0 += 65536)
      check_column(r, c, r0, QN_MIN((int64_t)65536, rows - r0), &ok);
    for (int64_t r0 = rows - 1; r0 >= 0 && ok; r0 -= 77777)
      check_column(r, c, r0, QN_MIN((int64_t)12345, rows - r0), &ok);
  }
  CHECK(ok);
  r->ops->close(r);
  CHECK_EQ_INT(qn_context_used_bytes(ctx), 0);
  unlink(path);
  qn_context_free(ctx);
}

QN_TEST(writer_reader_roundtrip_snappy_many_row_groups) {
  roundtrip("snappy", 250000, 1 << 20, 50000);
}
QN_TEST(writer_reader_roundtrip_zstd) {
  roundtrip("zstd", 100000, 64 << 20, 1 << 20);
}
QN_TEST(writer_reader_roundtrip_gzip) {
  roundtrip("gzip", 70000, 2 << 20, 100000);
}
QN_TEST(writer_reader_roundtrip_none) {
  roundtrip("none", 70000, 3 << 20, 30000);
}
QN_TEST(writer_reader_roundtrip_lz4) {
  roundtrip("lz4", 70000, 1 << 20, 64 << 10);
}
QN_TEST(writer_reader_roundtrip_brotli) {
  roundtrip("brotli", 30000, 1 << 20, 64 << 10);
}
QN_TEST(writer_reader_roundtrip_empty_and_one_row) {
  roundtrip("snappy", 0, 1 << 20, 1 << 20);
  roundtrip("zstd", 1, 1 << 20, 1 << 20);
}

QN_TEST(writer_rejects_bad_input) {
  struct qn_context *ctx = new_ctx(0);
  struct qn_error err;
  qn_error_init(&err);
  int codec;
  CHECK_EQ_INT(qn_pq_codec_parse("lzo", &codec, &err), QN_EINVAL);
  CHECK(strstr(err.message, "lzo"));
  struct qn_pq_wcol cols[1] = {{"t", QN_TIMESTAMP, 0, 60, 0}};
  struct qn_pq_writer *w = NULL;
  char *path = tmp_path("bad.parquet");
  unlink(path);
  qn_error_init(&err);
  CHECK_EQ_INT(qn_pq_writer_open(ctx, path, cols, 1, NULL, &w, &err), QN_EINVAL);
  /* a LIST column given a flat batch */
  cols[0] = (struct qn_pq_wcol){"x", QN_INT32, 0, 0, 1};
  CHECK_OK(qn_pq_writer_open(ctx, path, cols, 1, NULL, &w, &err));
  int32_t one[1] = {7};
  struct qn_colbuf flat = {QN_INT32, 1, one, NULL, NULL};
  qn_error_init(&err);
  CHECK_EQ_INT(qn_pq_writer_write(w, &flat, 1, &err), QN_EINVAL);
  CHECK(strstr(err.message, "list of"));
  qn_pq_writer_abort(w);
  CHECK(access(path, F_OK) != 0);
  /* a null in a REQUIRED column: error, and abort leaves no file */
  cols[0] = (struct qn_pq_wcol){"x", QN_INT32, 0, 0, 0};
  CHECK_OK(qn_pq_writer_open(ctx, path, cols, 1, NULL, &w, &err));
  int32_t v[2] = {1, 2};
  uint8_t valid[2] = {1, 0};
  struct qn_colbuf cb = {QN_INT32, 2, v, valid, NULL};
  qn_error_init(&err);
  CHECK_EQ_INT(qn_pq_writer_write(w, &cb, 2, &err), QN_EINVAL);
  CHECK(strstr(err.message, "row 1"));
  qn_pq_writer_abort(w);
  CHECK(access(path, F_OK) != 0);
  CHECK_EQ_INT(qn_context_used_bytes(ctx), 0);
  qn_context_free(ctx);
}

/* ----- hand-built files: INT96, dictionary fallback, v2 pages ----- */

QN_TEST(reader_int96_and_dictionary_fallback_part_way) {
  struct qn_context *ctx = new_ctx(0);
  struct qn_error err;
  qn_error_init(&err);
  char *path = tmp_path("fallback.parquet");
  build_fallback_file(path, 0, 0);
  struct qn_reader *r = NULL;
  if (qn_pq_open(ctx, path, &r, &err) != QN_OK) QN_FAIL_AT("%s", err.message);
  CHECK_EQ_INT(r->ncols, 2);
  CHECK_EQ_INT(r->cols[0].type, QN_TIMESTAMP);
  CHECK_EQ_INT(r->cols[0].time_unit, 1000000000);
  CHECK_EQ_STR(r->cols[1].type_name, "string");
  int64_t ts[10];
  struct qn_colbuf out = {QN_TIMESTAMP, 10, ts, NULL, NULL};
  CHECK_OK(r->ops->read(r, 0, 0, 10, &out, &err));
  const int64_t day = 86400000000000LL;
  int64_t d0 = 0, d1 = day + 1500000000LL, d2 = -1;
  int64_t want[10] = {d2, d0, d1, d1, d0, d2, 0, day + 1000, 2 * day + 2000, 3 * day + 3000};
  for (int i = 0; i < 10; i++) CHECK_EQ_INT(ts[i], want[i]);
  /* a range that starts in the PLAIN page, then one back in the dict page */
  out.n = 2;
  CHECK_OK(r->ops->read(r, 0, 7, 2, &out, &err));
  CHECK_EQ_INT(ts[0], day + 1000);
  CHECK_OK(r->ops->read(r, 0, 4, 2, &out, &err));
  CHECK_EQ_INT(ts[0], d0);
  CHECK_EQ_INT(ts[1], d2);
  /* strings with nulls across a dictionary v1 page and a PLAIN v2 page */
  int64_t offs[11];
  uint8_t valid[10];
  struct qn_colbuf so = {QN_STRING, 10, NULL, valid, offs};
  CHECK_OK(r->ops->read(r, 1, 0, 10, &so, &err));
  CHECK(so.valid == valid);
  const char *ws[10] = {"aa", NULL, "b", "aa", NULL, "b", "zz", NULL, "", "q"};
  for (int i = 0; i < 10; i++) {
    CHECK_EQ_INT(valid[i], ws[i] != NULL);
    if (!ws[i]) continue;
    int64_t len = offs[i + 1] - offs[i];
    CHECK_EQ_INT(len, (int64_t)strlen(ws[i]));
    CHECK(memcmp((char *)so.data + offs[i], ws[i], (size_t)len) == 0);
  }
  qn_mem_free(ctx, so.data);
  /* a range without nulls reports valid = NULL */
  so.valid = valid;
  so.data = NULL;
  CHECK_OK(r->ops->read(r, 1, 8, 2, &so, &err));
  CHECK(so.valid == NULL);
  qn_mem_free(ctx, so.data);
  r->ops->close(r);
  CHECK_EQ_INT(qn_context_used_bytes(ctx), 0);
  unlink(path);
  qn_context_free(ctx);
}

/* ----- column chunk statistics: the reader's `minmax` ----- */

/* Value k of a numeric column buffer as float64, as the bin kernel
 * converts it. */
static double value_as_double(enum qn_type t, const void *d, int64_t k) {
  switch (t) {
    case QN_INT8:
      return ((const int8_t *)d)[k];
    case QN_INT16:
      return ((const int16_t *)d)[k];
    case QN_INT32:
    case QN_DATE:
      return ((const int32_t *)d)[k];
    case QN_INT64:
    case QN_TIMESTAMP:
      return (double)((const int64_t *)d)[k];
    case QN_UINT8:
      return ((const uint8_t *)d)[k];
    case QN_UINT16:
      return ((const uint16_t *)d)[k];
    case QN_UINT32:
      return ((const uint32_t *)d)[k];
    case QN_UINT64:
      return (double)((const uint64_t *)d)[k];
    case QN_FLOAT32:
      return ((const float *)d)[k];
    case QN_FLOAT64:
      return ((const double *)d)[k];
    default:
      return NAN;
  }
}

/* Every type quern writes, several row groups: where the reader answers
 * from the statistics, the bounds are exactly the min and max of the
 * values read back (nulls and NaN left out, ±inf kept); it answers for
 * every numeric type but booleans, never for strings. */
QN_TEST(minmax_from_statistics_equals_the_values) {
  struct qn_context *ctx = new_ctx(0);
  struct qn_error err;
  qn_error_init(&err);
  struct qn_pq_writer_options opt;
  qn_pq_writer_options_init(&opt);
  opt.row_group_bytes = 1 << 20;
  char *path = tmp_path("minmax.parquet");
  const int64_t rows = 120000;
  if (pqg_write(ctx, path, rows, &opt, &err) != QN_OK) QN_FAIL_AT("write: %s", err.message);
  struct qn_reader *r = NULL;
  if (qn_pq_open(ctx, path, &r, &err) != QN_OK) QN_FAIL_AT("open: %s", err.message);
  CHECK(r->ops->minmax != NULL);
  for (int c = 0; c < PQG_NCOLS; c++) {
    const enum qn_type t = pqg_cols[c].type;
    const int want_known = t != QN_BOOL && t != QN_STRING;
    double lo = 0, hi = 0, rlo = INFINITY, rhi = -INFINITY;
    int known = -1;
    CHECK_OK(r->ops->minmax(r, c, &lo, &hi, &known, &err));
    if (known != want_known) fprintf(stderr, "column %s: known %d\n", pqg_cols[c].name, known);
    CHECK_EQ_INT(known, want_known);
    if (!want_known) continue;
    void *data = malloc(qn_type_size(t) * (size_t)rows);
    uint8_t *valid = malloc((size_t)rows);
    struct qn_colbuf out = {t, rows, data, valid, NULL};
    CHECK_OK(r->ops->read(r, c, 0, rows, &out, &err));
    for (int64_t k = 0; k < rows; k++) {
      const double v = value_as_double(t, data, k);
      if ((out.valid && !out.valid[k]) || isnan(v)) continue;
      rlo = QN_MIN(rlo, v);
      rhi = QN_MAX(rhi, v);
    }
    free(data);
    free(valid);
    if (lo != rlo || hi != rhi)
      fprintf(stderr, "column %s: [%.17g, %.17g], values [%.17g, %.17g]\n", pqg_cols[c].name,
              lo, hi, rlo, rhi);
    CHECK_EQ_DBL(lo, rlo);
    CHECK_EQ_DBL(hi, rhi);
  }
  r->ops->close(r);
  unlink(path);
  qn_context_free(ctx);
}

/* Statistics bytes of one chunk. `lo`/`hi` as the physical type (DOUBLE
 * or INT32); `fields`: ST_NEW min_value/max_value, ST_OLD the deprecated
 * min/max, ST_INEXACT is_max_value_exact = false, ST_ALLNULL null_count =
 * num_values (4), else 0. */
enum { ST_NEW = 1, ST_OLD = 2, ST_INEXACT = 4, ST_ALLNULL = 8 };
static void st_bytes(struct qn_pq_tout *o, int phys, double lo, double hi, int fields) {
  uint8_t a[8], b[8];
  size_t w = phys == QN_PQ_DOUBLE ? 8 : 4;
  if (phys == QN_PQ_DOUBLE) {
    memcpy(a, &lo, 8);
    memcpy(b, &hi, 8);
  } else {
    int32_t x = (int32_t)lo, y = (int32_t)hi;
    memcpy(a, &x, 4);
    memcpy(b, &y, 4);
  }
  qn_pq_w_struct_begin(o);
  if (fields & ST_OLD) {
    qn_pq_w_binary(o, 1, b, w);
    qn_pq_w_binary(o, 2, a, w);
  }
  qn_pq_w_i64(o, 3, fields & ST_ALLNULL ? 4 : 0);
  if (fields & ST_NEW) {
    qn_pq_w_binary(o, 5, b, w);
    qn_pq_w_binary(o, 6, a, w);
  }
  if (fields & ST_INEXACT) qn_pq_w_bool(o, 7, 0);
  qn_pq_w_struct_end(o);
}

/* One OPTIONAL column "c" (DOUBLE, or INT32 with ConvertedType
 * `converted` when >= 0) in two row groups of 4 rows, each a PLAIN page;
 * `stats[g]` are chunk g's Statistics bytes (len 0: none); `order` the
 * ColumnOrder member written in column_orders (0: no column_orders). */
static void build_stats_file(const char *path, int phys, int converted,
                             const struct qn_pq_tout *stats, int order) {
  struct fb b;
  int64_t off[2], size[2];
  qn_pq_tout_init(&b.f);
  qn_pq_w_raw(&b.f, "PAR1", 4);
  for (int g = 0; g < 2; g++) {
    struct qn_pq_tout body;
    qn_pq_tout_init(&body);
    off[g] = (int64_t)b.f.len;
    uint8_t defs[4] = {1, 1, 1, 1}, l4[4];
    struct qn_pq_tout lv;
    qn_pq_tout_init(&lv);
    qn_pq_rle_encode(&lv, defs, 4, 1);
    qn_pq_put_le32(l4, (uint32_t)lv.len);
    qn_pq_w_raw(&body, l4, 4);
    qn_pq_w_raw(&body, lv.buf, lv.len);
    qn_pq_tout_reset(&lv);
    for (int i = 0; i < 4; i++) {
      double d = g * 4 + i;
      int32_t v = g * 4 + i;
      qn_pq_w_raw(&body, phys == QN_PQ_DOUBLE ? (const void *)&d : (const void *)&v,
                  phys == QN_PQ_DOUBLE ? 8 : 4);
    }
    fb_page(&b, QN_PQ_DATA_PAGE, 4, QN_PQ_PLAIN, &body);
    qn_pq_tout_reset(&body);
    size[g] = (int64_t)b.f.len - off[g];
  }
  struct qn_pq_tout o;
  qn_pq_tout_init(&o);
  qn_pq_w_struct_begin(&o);
  qn_pq_w_i32(&o, 1, 1);
  qn_pq_w_list(&o, 2, QN_PQ_T_STRUCT, 2);
  qn_pq_w_struct_begin(&o);
  qn_pq_w_string(&o, 4, "schema");
  qn_pq_w_i32(&o, 5, 1);
  qn_pq_w_struct_end(&o);
  qn_pq_w_struct_begin(&o);
  qn_pq_w_i32(&o, 1, phys);
  qn_pq_w_i32(&o, 3, QN_PQ_OPTIONAL);
  qn_pq_w_string(&o, 4, "c");
  if (converted >= 0) qn_pq_w_i32(&o, 6, converted);
  qn_pq_w_struct_end(&o);
  qn_pq_w_i64(&o, 3, 8);
  qn_pq_w_list(&o, 4, QN_PQ_T_STRUCT, 2);
  for (int g = 0; g < 2; g++) {
    qn_pq_w_struct_begin(&o);
    qn_pq_w_list(&o, 1, QN_PQ_T_STRUCT, 1);
    qn_pq_w_struct_begin(&o);
    qn_pq_w_i64(&o, 2, 0);
    qn_pq_w_field(&o, 3, QN_PQ_T_STRUCT);
    qn_pq_w_struct_begin(&o);
    qn_pq_w_i32(&o, 1, phys);
    qn_pq_w_list(&o, 2, QN_PQ_T_I32, 2);
    qn_pq_w_list_i32(&o, QN_PQ_PLAIN);
    qn_pq_w_list_i32(&o, QN_PQ_RLE);
    qn_pq_w_list(&o, 3, QN_PQ_T_BINARY, 1);
    qn_pq_w_list_string(&o, "c");
    qn_pq_w_i32(&o, 4, QN_PQ_UNCOMPRESSED);
    qn_pq_w_i64(&o, 5, 4);
    qn_pq_w_i64(&o, 6, size[g]);
    qn_pq_w_i64(&o, 7, size[g]);
    qn_pq_w_i64(&o, 9, off[g]);
    if (stats[g].len) {
      qn_pq_w_field(&o, 12, QN_PQ_T_STRUCT);
      qn_pq_w_raw(&o, stats[g].buf, stats[g].len); /* its fields and STOP */
    }
    qn_pq_w_struct_end(&o);
    qn_pq_w_struct_end(&o);
    qn_pq_w_i64(&o, 2, size[g]);
    qn_pq_w_i64(&o, 3, 4);
    qn_pq_w_struct_end(&o);
  }
  if (order) {
    qn_pq_w_list(&o, 7, QN_PQ_T_STRUCT, 1);
    qn_pq_w_struct_begin(&o);
    qn_pq_w_field(&o, (int16_t)order, QN_PQ_T_STRUCT);
    qn_pq_w_struct_begin(&o);
    qn_pq_w_struct_end(&o);
    qn_pq_w_struct_end(&o);
  }
  qn_pq_w_struct_end(&o);
  uint8_t tail[8];
  qn_pq_put_le32(tail, (uint32_t)o.len);
  memcpy(tail + 4, "PAR1", 4);
  qn_pq_w_raw(&b.f, o.buf, o.len);
  qn_pq_w_raw(&b.f, tail, 8);
  qn_pq_tout_reset(&o);
  write_bytes(path, b.f.buf, b.f.len);
  qn_pq_tout_reset(&b.f);
}

struct st_case {
  const char *what;
  int phys, converted, order;
  double lo[2], hi[2];
  int fields[2]; /* -1: no statistics in that chunk */
  int known;
  double want_lo, want_hi;
};

/* What the statistics may be trusted for: min_value/max_value only with
 * column_orders (TYPE_ORDER, or IEEE 754 total order for floats) and not
 * flagged inexact; the deprecated min/max in signed order only (not for
 * unsigned integers); never a NaN bound; a chunk without statistics makes
 * the whole answer unknown; a chunk of nulls only adds nothing; a bound
 * outside a narrowed integer type is not a value of it. */
QN_TEST(minmax_trusts_only_what_the_spec_allows) {
  const double nan = NAN, inf = INFINITY;
  const int D = QN_PQ_DOUBLE, I = QN_PQ_INT32, U16 = QN_PQ_CT_UINT_16;
  const struct st_case cases[] = {
      {"new, TYPE_ORDER", D, -1, 1, {0, -2}, {3, 7}, {ST_NEW, ST_NEW}, 1, -2, 7},
      {"new, IEEE 754 order", D, -1, 2, {0, 4}, {3, 7}, {ST_NEW, ST_NEW}, 1, 0, 7},
      {"new, unknown order", D, -1, 9, {0, 4}, {3, 7}, {ST_NEW, ST_NEW}, 0, 0, 0},
      {"new, no column_orders", D, -1, 0, {0, 4}, {3, 7}, {ST_NEW, ST_NEW}, 0, 0, 0},
      {"old, no column_orders", D, -1, 0, {0, 4}, {3, 7}, {ST_OLD, ST_OLD}, 1, 0, 7},
      {"a chunk without statistics", D, -1, 1, {0, 4}, {3, 7}, {ST_NEW, -1}, 0, 0, 0},
      {"a chunk without bounds", D, -1, 1, {0, 4}, {3, 7}, {ST_NEW, 0}, 0, 0, 0},
      {"NaN min", D, -1, 1, {0, nan}, {3, 7}, {ST_NEW, ST_NEW}, 0, 0, 0},
      {"NaN max, old", D, -1, 0, {0, 4}, {nan, 7}, {ST_OLD, ST_OLD}, 0, 0, 0},
      {"inexact max", D, -1, 1, {0, 4}, {3, 7}, {ST_NEW, ST_NEW | ST_INEXACT}, 0, 0, 0},
      {"inexact new, exact old",
       D,
       -1,
       1,
       {0, 4},
       {3, 7},
       {ST_NEW, ST_NEW | ST_OLD | ST_INEXACT},
       1,
       0,
       7},
      {"inf max reported", D, -1, 1, {0, 4}, {3, inf}, {ST_NEW, ST_NEW}, 1, 0, inf},
      {"nulls only", D, -1, 1, {0, 0}, {3, 0}, {ST_NEW, ST_ALLNULL}, 1, 0, 3},
      {"min above max", D, -1, 1, {0, 9}, {3, 7}, {ST_NEW, ST_NEW}, 0, 0, 0},
      {"int32", I, -1, 1, {-5, 4}, {3, 7}, {ST_NEW, ST_NEW}, 1, -5, 7},
      {"uint16, new", I, U16, 1, {0, 4}, {3, 65535}, {ST_NEW, ST_NEW}, 1, 0, 65535},
      {"uint16, old only", I, U16, 0, {0, 4}, {3, 7}, {ST_OLD, ST_OLD}, 0, 0, 0},
      {"uint16 beyond its range", I, U16, 1, {0, 4}, {3, 70000}, {ST_NEW, ST_NEW}, 0, 0, 0},
  };
  struct qn_context *ctx = new_ctx(0);
  char *path = tmp_path("stats.parquet");
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    const struct st_case *t = &cases[k];
    struct qn_pq_tout st[2];
    for (int g = 0; g < 2; g++) {
      qn_pq_tout_init(&st[g]);
      if (t->fields[g] >= 0) st_bytes(&st[g], t->phys, t->lo[g], t->hi[g], t->fields[g]);
    }
    build_stats_file(path, t->phys, t->converted, st, t->order);
    for (int g = 0; g < 2; g++) qn_pq_tout_reset(&st[g]);
    struct qn_error err;
    qn_error_init(&err);
    struct qn_reader *r = NULL;
    if (qn_pq_open(ctx, path, &r, &err) != QN_OK) QN_FAIL_AT("%s: %s", t->what, err.message);
    double lo = -1, hi = -1;
    int known = -1;
    CHECK_OK(r->ops->minmax(r, 0, &lo, &hi, &known, &err));
    if (known != t->known || (known && (lo != t->want_lo || hi != t->want_hi)))
      fprintf(stderr, "%s: known %d [%g, %g]\n", t->what, known, lo, hi);
    CHECK_EQ_INT(known, t->known);
    if (t->known) {
      CHECK_EQ_DBL(lo, t->want_lo);
      CHECK_EQ_DBL(hi, t->want_hi);
    }
    /* the values themselves still read (the file is well formed) */
    int32_t v32[8];
    double v64[8];
    uint8_t valid[8];
    struct qn_colbuf out = {r->cols[0].type, 8, t->phys == D ? (void *)v64 : (void *)v32, valid,
                            NULL};
    if (t->converted < 0) CHECK_OK(r->ops->read(r, 0, 0, 8, &out, &err));
    r->ops->close(r);
  }
  unlink(path);
  CHECK_EQ_INT(qn_context_used_bytes(ctx), 0);
  qn_context_free(ctx);
}

/* ----- corrupt inputs ----- */

static int open_and_read_all(struct qn_context *ctx, const char *path, struct qn_error *err) {
  struct qn_reader *r = NULL;
  int st = qn_pq_open(ctx, path, &r, err);
  if (st) return st;
  for (int c = 0; c < r->ncols && st == QN_OK; c++) {
    int64_t n = r->cols[c].rows;
    size_t w = qn_type_size(r->cols[c].type);
    struct qn_colbuf out;
    memset(&out, 0, sizeof out);
    out.data = w ? malloc(w * (size_t)(n ? n : 1)) : NULL;
    out.valid = malloc((size_t)(n ? n : 1));
    uint8_t *valid = out.valid;
    out.offsets = w ? NULL : malloc(((size_t)n + 1) * 8);
    st = r->ops->read(r, c, 0, n, &out, err);
    if (!w)
      qn_mem_free(ctx, out.data);
    else
      free(out.data);
    free(valid);
    free(out.offsets);
  }
  r->ops->close(r);
  return st;
}

static void expect_format_error(struct qn_context *ctx, const char *path, const uint8_t *p,
                                size_t n, const char *needle, int *ok) {
  write_bytes(path, p, n);
  struct qn_error err;
  qn_error_init(&err);
  int st = open_and_read_all(ctx, path, &err);
  if (st != QN_EFORMAT || !strstr(err.message, path) || !strstr(err.message, "byte") ||
      (needle && !strstr(err.message, needle))) {
    fprintf(stderr, "expected a format error with '%s', got %d: %s\n", needle ? needle : "", st,
            err.message);
    *ok = 0;
  }
}

QN_TEST(corrupt_files_give_format_errors_with_offsets) {
  struct qn_context *ctx = new_ctx(0);
  struct qn_error err;
  qn_error_init(&err);
  char *good = tmp_path("good.parquet"), *bad = tmp_path("bad.parquet");
  struct qn_pq_writer_options opt;
  qn_pq_writer_options_init(&opt);
  opt.page_bytes = 4096;
  CHECK_OK(pqg_write(ctx, good, 5000, &opt, &err));
  size_t n;
  uint8_t *f = read_bytes(good, &n);
  uint8_t *g = malloc(n);
  uint32_t flen = qn_pq_le32(f + n - 8);
  int ok = 1;
  memcpy(g, f, n);
  g[0] = 'X';
  expect_format_error(ctx, bad, g, n, "magic at byte 0", &ok);
  expect_format_error(ctx, bad, f, n - 3, "magic", &ok); /* truncated */
  memcpy(g, f, n);
  qn_pq_put_le32(g + n - 8, (uint32_t)n); /* footer too long */
  expect_format_error(ctx, bad, g, n, "footer length", &ok);
  memcpy(g, f, n);
  qn_pq_put_le32(g + n - 8, flen - 10); /* footer cut short */
  expect_format_error(ctx, bad, g, n, NULL, &ok);
  expect_format_error(ctx, bad, f, 7, "only 7 bytes", &ok);
  /* pages: damage the first page header (snappy data damaged in its
   * literals may decode to other values: Parquet has no mandatory CRC) */
  memcpy(g, f, n);
  for (size_t i = 4; i < 16; i++) g[i] = 0xFF;
  write_bytes(bad, g, n);
  qn_error_init(&err);
  int st = open_and_read_all(ctx, bad, &err);
  CHECK(st == QN_EFORMAT);
  CHECK(strstr(err.message, "byte"));
  /* any single byte of the footer changed: never a crash; errors are
   * QN_EFORMAT or QN_EUNSUPPORTED and name the file */
  uint64_t s = 99;
  for (int trial = 0; trial < 3000; trial++) {
    memcpy(g, f, n);
    s = s * 6364136223846793005ULL + 1;
    size_t at = n - 8 - flen + (size_t)((s >> 33) % flen);
    g[at] = (uint8_t)(s >> 17);
    if (trial % 3 == 0) g[at + 1 < n - 8 ? at + 1 : at] ^= 0xFF;
    write_bytes(bad, g, n);
    qn_error_init(&err);
    st = open_and_read_all(ctx, bad, &err);
    if (st != QN_OK && st != QN_EFORMAT && st != QN_EUNSUPPORTED && st != QN_ELIMIT) {
      fprintf(stderr, "trial %d: status %d: %s\n", trial, st, err.message);
      ok = 0;
    }
    if (st != QN_OK && !strstr(err.message, bad)) ok = 0;
  }
  CHECK(ok);
  CHECK_EQ_INT(qn_context_used_bytes(ctx), 0);
  free(f);
  free(g);
  unlink(good);
  unlink(bad);
  qn_context_free(ctx);
}

QN_TEST(corrupt_dictionary_index_and_schema) {
  struct qn_context *ctx = new_ctx(0);
  char *path = tmp_path("badidx.parquet");
  int ok = 1;
  build_fallback_file(path, 1, 0);
  size_t n;
  uint8_t *f = read_bytes(path, &n);
  expect_format_error(ctx, path, f, n, "dictionary index out of range", &ok);
  free(f);
  build_fallback_file(path, 0, 5); /* root claims 7 children for 2 elements */
  f = read_bytes(path, &n);
  expect_format_error(ctx, path, f, n, "num_children", &ok);
  free(f);
  CHECK(ok);
  unlink(path);
  qn_context_free(ctx);
}

QN_TEST(deeply_nested_schema_is_refused) {
  struct qn_context *ctx = new_ctx(0);
  char *path = tmp_path("deep.parquet");
  int ok = 1;
  build_deep_schema_file(path, 101);
  size_t n;
  uint8_t *f = read_bytes(path, &n);
  expect_format_error(ctx, path, f, n, "nests deeper", &ok);
  CHECK(ok);
  free(f);
  unlink(path);
  qn_context_free(ctx);
}

/* ----- budget and allocation faults ----- */

QN_TEST(allocation_faults_fail_cleanly_without_leaks) {
  struct qn_context *ctx = new_ctx(0);
  struct qn_error err;
  qn_error_init(&err);
  char *path = tmp_path("faults.parquet");
  struct qn_pq_writer_options opt;
  qn_pq_writer_options_init(&opt);
  opt.page_bytes = 8192;
  CHECK_OK(pqg_write(ctx, path, 20000, &opt, &err));
  int failures = 0;
  for (long k = 1; k < 400; k++) {
    ctx->fail_countdown = k;
    qn_error_init(&err);
    int st = open_and_read_all(ctx, path, &err);
    if (st != QN_OK) {
      failures++;
      if (st != QN_ENOMEM) QN_FAIL_AT("fault %ld: status %d: %s", k, st, err.message);
    }
    if (qn_context_used_bytes(ctx) != 0) QN_FAIL_AT("fault %ld leaked budget", k);
  }
  CHECK(failures > 10);
  /* the writer too */
  for (long k = 1; k < 120; k++) {
    ctx->fail_countdown = k;
    qn_error_init(&err);
    int st = pqg_write(ctx, tmp_path("faults_w.parquet"), 20000, &opt, &err);
    if (st != QN_OK && st != QN_ENOMEM)
      QN_FAIL_AT("writer fault %ld: %d %s", k, st, err.message);
    if (qn_context_used_bytes(ctx) != 0) QN_FAIL_AT("writer fault %ld leaked budget", k);
  }
  ctx->fail_countdown = 0;
  unlink(tmp_path("faults_w.parquet"));
  unlink(path);
  qn_context_free(ctx);
}
