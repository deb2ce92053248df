/* test_records.c — the record formats' pieces: CRC-32C and HighwayHash-64
 * against published check values, the Riegeli block arithmetic against the
 * format doc's examples, a tf.train.Example against bytes worked out by
 * hand from the field numbers, and the ArrayRecord layout byte for byte
 * against google/array_record's golden files (../shared/testdata or
 * $QN_SHARED). */
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "io/qn_records.h"

static struct qn_context *ctx_new(void) {
  struct qn_context_options o;
  qn_context_options_init(&o);
  o.threads = 2;
  o.progress = 0;
  struct qn_context *ctx = NULL;
  if (qn_context_new(&o, &ctx, NULL) != QN_OK) abort();
  return ctx;
}

static char *tmp_path(const char *name) {
  static char p[4][256];
  static int k;
  char *s = p[k++ % 4];
  snprintf(s, 256, "/tmp/qn_test_records_%d_%s", (int)getpid(), name);
  return s;
}

/* The whole of a file, malloc'd; NULL when it cannot be read. */
static uint8_t *slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *p = malloc((size_t)len + 1);
  if (p && fread(p, 1, (size_t)len, f) != (size_t)len) {
    free(p);
    p = NULL;
  }
  fclose(f);
  *n = (size_t)len;
  return p;
}

/* The golden files: $QN_SHARED/testdata/arrayrecord, else ../shared beside
 * the source tree (where CI checks the shared directory out). */
static const char *golden(const char *name) {
  static char p[4096];
  const char *shared = getenv("QN_SHARED");
  if (shared && *shared)
    snprintf(p, sizeof p, "%s/testdata/arrayrecord/%s", shared, name);
  else
    snprintf(p, sizeof p, "%s/../shared/testdata/arrayrecord/%s", QN_SRC_DIR, name);
  return p;
}

QN_TEST(crc32c_check_value) {
  /* the CRC-32C check value (RFC 3720 / the Castagnoli catalogue) */
  CHECK_EQ_U64(qn_crc32c("123456789", 9), 0xE3069283u);
  CHECK_EQ_U64(qn_crc32c("", 0), 0);
  /* RFC 3720 B.4: 32 bytes of zeros, of ones */
  uint8_t z[32] = {0}, o[32];
  memset(o, 0xff, sizeof o);
  CHECK_EQ_U64(qn_crc32c(z, 32), 0x8A9136AAu);
  CHECK_EQ_U64(qn_crc32c(o, 32), 0x62A8AB43u);
  /* masking: rotate right by 15, add 0xa282ead8 */
  CHECK_EQ_U64(qn_crc32c_mask(0), 0xa282ead8u);
  CHECK_EQ_U64(qn_crc32c_mask(0xE3069283u),
               ((0xE3069283u >> 15 | 0xE3069283u << 17) + 0xa282ead8u));
}

QN_TEST(highwayhash_riegeli_values) {
  /* FORMATS.md 5.4, reproduced there with npm highwayhasher: the fixed
   * signature's block header hash, chunk header hash and empty data hash */
  uint8_t bh[16] = {0}, ch[32] = {0};
  bh[8] = 0x40; /* previous_chunk 0, next_chunk 64 */
  CHECK_EQ_U64(qn_riegeli_hash(bh, 16), 0x3f4a880dd170af83ULL);
  CHECK_EQ_U64(qn_riegeli_hash("", 0), 0x72c3b1e9c0139fe1ULL);
  qn_le64_put(ch + 8, 0x72c3b1e9c0139fe1ULL);
  ch[16] = 's';
  CHECK_EQ_U64(qn_riegeli_hash(ch, 32), 0xa9e187923cc2ba91ULL);
}

QN_TEST(riegeli_block_arithmetic) {
  /* the doc's RoundUpToPossibleChunkBoundary examples, through chunk_end
   * with a chunk too small to matter: 0 -> 0, 1..25 -> 25, 26 -> 26 */
  CHECK_EQ_U64(qn_riegeli_chunk_end(64, 0, 65536 + 1 - 64), 65536 + 25);
  CHECK_EQ_U64(qn_riegeli_chunk_end(64, 0, 65536 + 25 - 64), 65536 + 25);
  CHECK_EQ_U64(qn_riegeli_chunk_end(64, 0, 65536 + 26 - 64), 65536 + 26);
  CHECK(!qn_riegeli_possible_boundary(65536 + 24));
  CHECK(qn_riegeli_possible_boundary(65536 + 25));
  CHECK(qn_riegeli_possible_boundary(65536));
  /* the signature: a block header and 40 bytes */
  CHECK_EQ_U64(qn_riegeli_chunk_end(0, 0, 0), 64);
  /* the golden file's chunks: 44 bytes from 64; its postscript */
  CHECK_EQ_U64(qn_riegeli_chunk_end(64, 4, 1), 108);
  CHECK_EQ_U64(qn_riegeli_chunk_end(65536, 44, 3), 65536 + 24 + 84);
  /* a block start inside a chunk header: 24 more bytes */
  CHECK_EQ_U64(qn_riegeli_chunk_end(65536 - 20, 100, 1), 65536 - 20 + 140 + 24);
  /* data that ends exactly at a block start: no block header counted */
  CHECK_EQ_U64(qn_riegeli_chunk_end(462, 65034, 0), 65536);
  CHECK_EQ_U64(qn_riegeli_distance(462, 65536), 65074);
  CHECK_EQ_U64(qn_riegeli_distance(65536 - 10, 2 * 65536 + 30), 10 + 65512 + 6);
}

QN_TEST(varints) {
  uint8_t b[10], *e;
  uint64_t v;
  const uint8_t *p;
  static const uint64_t cases[] = {0, 1, 127, 128, 300, 1ULL << 35, UINT64_MAX};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    e = qn_varint_put(b, cases[i]);
    CHECK_EQ_INT(e - b, qn_varint_len(cases[i]));
    p = b;
    CHECK(qn_varint_get(&p, e, &v));
    CHECK_EQ_U64(v, cases[i]);
    CHECK(p == e);
    p = b;
    if (e - b > 1) CHECK(!qn_varint_get(&p, e - 1, &v)); /* cut short */
  }
  CHECK_EQ_INT(qn_varint_len((uint64_t)(int64_t)-1), 10); /* negatives sign-extend */
  e = qn_varint_put(b, 300);
  CHECK(b[0] == 0xac && b[1] == 0x02);
}

/* A row: k int64 7, n 2, v float64 [1.5, -2], s string ["a", ""],
 * t int32 [-1, 300]; the bytes worked out from the field numbers
 * (FORMATS.md section 4), features sorted k, n, s, t, v. */
static const uint8_t example_bytes[] = {
    0x0a, 0x50, /* Example.features */
    0x0a, 0x0a, 0x0a, 0x01, 'k',  0x12, 0x05, 0x1a, 0x03, 0x0a, 0x01, 0x07, /* k: [7] */
    0x0a, 0x0a, 0x0a, 0x01, 'n',  0x12, 0x05, 0x1a, 0x03, 0x0a, 0x01, 0x02, /* n: [2] */
    0x0a, 0x0c, 0x0a, 0x01, 's',  0x12, 0x07, 0x0a, 0x05, 0x0a, 0x01, 'a',  0x0a,
    0x00, 0x0a, 0x15, 0x0a, 0x01, 't',  0x12, 0x10, 0x1a, 0x0e, 0x0a, 0x0c, /* t: packed */
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0xac, 0x02, 0x0a,
    0x11, 0x0a, 0x01, 'v',  0x12, 0x0c, 0x12, 0x0a, 0x0a, 0x08, /* v: packed floats */
    0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00, 0x00, 0xc0};

struct example_row {
  int64_t k[1], n[1], lists[2], soff[3];
  double v[2];
  int32_t t[2];
  uint8_t vvalid[2];
  struct qn_colbuf cols[5];
  struct qn_wcolumn wc[5];
};

static void example_row_init(struct example_row *x) {
  memset(x, 0, sizeof *x);
  x->k[0] = 7;
  x->n[0] = 2;
  x->lists[0] = 0;
  x->lists[1] = 2;
  x->v[0] = 1.5;
  x->v[1] = -2;
  x->t[0] = -1;
  x->t[1] = 300;
  x->soff[0] = 0;
  x->soff[1] = 1;
  x->soff[2] = 1;
  x->vvalid[0] = x->vvalid[1] = 1;
  x->cols[0] = (struct qn_colbuf){QN_INT64, 1, x->k, NULL, NULL, NULL};
  x->cols[1] = (struct qn_colbuf){QN_INT64, 1, x->n, NULL, NULL, NULL};
  x->cols[2] = (struct qn_colbuf){QN_FLOAT64, 2, x->v, NULL, NULL, x->lists};
  x->cols[3] = (struct qn_colbuf){QN_STRING, 2, (void *)"a", NULL, x->soff, x->lists};
  x->cols[4] = (struct qn_colbuf){QN_INT32, 2, x->t, NULL, NULL, x->lists};
  x->wc[0] = (struct qn_wcolumn){"k", QN_INT64, 0, 0, 0};
  x->wc[1] = (struct qn_wcolumn){"n", QN_INT64, 0, 0, 0};
  x->wc[2] = (struct qn_wcolumn){"v", QN_FLOAT64, 1, 0, 1};
  x->wc[3] = (struct qn_wcolumn){"s", QN_STRING, 0, 0, 1};
  x->wc[4] = (struct qn_wcolumn){"t", QN_INT32, 0, 0, 1};
}

QN_TEST(example_bytes_by_hand) {
  struct example_row x;
  example_row_init(&x);
  struct qn_example ex;
  CHECK_OK(qn_example_init(&ex, x.wc, 5, "t", NULL));
  uint64_t payload[5];
  struct qn_example_sizes sz = {0, 0, payload};
  CHECK_OK(qn_example_measure(&ex, x.cols, 0, &sz, NULL));
  CHECK_EQ_U64(sz.total, sizeof example_bytes);
  uint8_t out[256];
  uint8_t *e = qn_example_write(&ex, x.cols, 0, &sz, out);
  CHECK_EQ_INT(e - out, (long long)sizeof example_bytes);
  for (size_t i = 0; i < sizeof example_bytes; i++)
    if (out[i] != example_bytes[i])
      QN_FAIL_AT("byte %zu: %02x, expected %02x", i, out[i], example_bytes[i]);
  int64_t v = 0;
  CHECK_EQ_INT(qn_example_find_int64(out, sizeof example_bytes, "n", &v), 1);
  CHECK_EQ_INT(v, 2);
  CHECK_EQ_INT(qn_example_find_int64(out, sizeof example_bytes, "k", &v), 1);
  CHECK_EQ_INT(v, 7);
  CHECK_EQ_INT(qn_example_find_int64(out, sizeof example_bytes, "t", &v), 0); /* two values */
  CHECK_EQ_INT(qn_example_find_int64(out, sizeof example_bytes, "zz", &v), 0);
  CHECK_EQ_INT(qn_example_find_int64(out, 20, "n", &v), -1); /* cut short */
  qn_example_reset(&ex);
}

QN_TEST(example_refuses_nulls_and_twin_names) {
  struct example_row x;
  example_row_init(&x);
  struct qn_example ex;
  CHECK_OK(qn_example_init(&ex, x.wc, 5, "t", NULL));
  uint64_t payload[5];
  struct qn_example_sizes sz = {0, 0, payload};
  x.vvalid[1] = 0;
  x.cols[2].valid = x.vvalid;
  struct qn_error err;
  qn_error_init(&err);
  CHECK_EQ_INT(qn_example_measure(&ex, x.cols, 0, &sz, &err), QN_EUNSUPPORTED);
  CHECK(strstr(err.message, "column 'v' holds a null in the row of k 7") != NULL);
  qn_example_reset(&ex);
  x.wc[4].name = "k";
  qn_error_init(&err);
  CHECK_EQ_INT(qn_example_init(&ex, x.wc, 5, "out.tfrecord", &err), QN_EINVAL);
  CHECK(strstr(err.message, "two columns are named 'k'") != NULL);
}

QN_TEST(codec_options) {
  struct qn_record_codec c;
  struct qn_error err;
  CHECK_OK(qn_record_codec_parse("arrayrecord", NULL, 1, &c, NULL));
  CHECK(c.zstd == 0 && c.group_size == 1);
  CHECK_OK(qn_record_codec_parse("arrayrecord", "zstd:5,group_size:64", 1, &c, NULL));
  CHECK(c.zstd == 1 && c.level == 5 && c.group_size == 64);
  CHECK_OK(qn_record_codec_parse("tfrecord", "none", 0, &c, NULL));
  qn_error_init(&err);
  CHECK_EQ_INT(qn_record_codec_parse("tfrecord", "zstd", 0, &c, &err), QN_EINVAL);
  CHECK(strstr(err.message, "tfrecord") && strstr(err.message, "zstd"));
  qn_error_init(&err);
  CHECK_EQ_INT(qn_record_codec_parse("arrayrecord", "group_size:0", 1, &c, &err), QN_EINVAL);
  CHECK_EQ_INT(qn_record_codec_parse("arrayrecord", "snappy", 1, &c, &err), QN_EINVAL);
}

/* Writes the digits [first, first + n) as raw records with the golden
 * files' options and compares the bytes. */
static void golden_digits(const char *name, char first) {
  struct qn_context *ctx = ctx_new();
  char *path = tmp_path(name);
  struct qn_record_codec c;
  CHECK_OK(qn_record_codec_parse("arrayrecord", "uncompressed,group_size:1", 1, &c, NULL));
  struct qn_ar_file *f = NULL;
  struct qn_error err;
  qn_error_init(&err);
  CHECK_OK(qn_ar_file_open(ctx, path, &c, 1, &f, &err));
  for (char d = first; d < first + 5; d++) {
    uint64_t one = 1;
    CHECK_OK(qn_ar_file_add(f, (const uint8_t *)&d, &one, 1, &err));
  }
  struct qn_checksum sum;
  CHECK_OK(qn_ar_file_close(f, &sum, &err));
  size_t n = 0, m = 0;
  uint8_t *got = slurp(path, &n), *want = slurp(golden(name), &m);
  unlink(path);
  qn_context_free(ctx);
  if (!want) QN_FAIL_AT("cannot read the golden file %s: %s", golden(name), strerror(errno));
  CHECK(got != NULL);
  CHECK_EQ_INT(n, m);
  CHECK_EQ_INT(sum.bytes, (long long)m);
  for (size_t i = 0; i < n && i < m; i++)
    if (got[i] != want[i]) {
      free(got);
      free(want);
      QN_FAIL_AT("%s: byte %zu differs from the golden file", name, i);
    }
  free(got);
  free(want);
}

QN_TEST(arrayrecord_golden_00000) {
  golden_digits("digits.array_record-00000-of-00002", '0');
}

QN_TEST(arrayrecord_golden_00001) {
  golden_digits("digits.array_record-00001-of-00002", '5');
}
