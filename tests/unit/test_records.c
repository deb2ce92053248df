/* test_records.c — the record formats' pieces: CRC-32C and HighwayHash-64
 * against published check values, the Riegeli block arithmetic against the
 * format doc's examples, a tf.train.Example against bytes worked out by
 * hand from the field numbers, and the ArrayRecord layout byte for byte
 * against google/array_record's golden files (../shared/testdata or
 * $QN_SHARED). */
#include <errno.h>
#include <sys/stat.h>
#include <time.h>
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

/* ----- our Example bytes against protobuf-c's ----- */

#include "example.pb-c.h"

static uint64_t rng_next(uint64_t *s) { /* xorshift64* */
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return *s * 0x2545F4914F6CDD1DULL;
}

/* Rows of random lengths over the columns of `wc` (key, n, then lists). */
struct rows {
  int ncols;
  int64_t nrows, nelem;
  struct qn_wcolumn wc[12];
  struct qn_colbuf cols[12];
  int64_t *lists, *key, *n;
  void *data[12];
  int64_t *offsets[12];
  char *bytes[12];
};

static void rows_make(struct rows *r, int64_t nrows, int maxlen, const enum qn_type *types,
                      const char *const *names, int nlists, uint64_t seed) {
  memset(r, 0, sizeof *r);
  r->nrows = nrows;
  r->lists = malloc((size_t)(nrows + 1) * 8);
  r->key = malloc((size_t)nrows * 8);
  r->n = malloc((size_t)nrows * 8);
  r->lists[0] = 0;
  for (int64_t i = 0; i < nrows; i++) {
    r->key[i] = 1000000 + 7 * i - (i % 3 ? 0 : 5000000); /* some negative */
    r->n[i] = 1 + (int64_t)(rng_next(&seed) % (uint64_t)maxlen);
    r->lists[i + 1] = r->lists[i] + r->n[i];
  }
  int64_t m = r->nelem = r->lists[nrows];
  r->wc[0] = (struct qn_wcolumn){"probe_id", QN_INT64, 0, 0, 0};
  r->wc[1] = (struct qn_wcolumn){"n", QN_INT64, 0, 0, 0};
  r->cols[0] = (struct qn_colbuf){QN_INT64, nrows, r->key, NULL, NULL, NULL};
  r->cols[1] = (struct qn_colbuf){QN_INT64, nrows, r->n, NULL, NULL, NULL};
  for (int c = 0; c < nlists; c++) {
    enum qn_type t = types[c];
    struct qn_colbuf *cb = &r->cols[c + 2];
    r->wc[c + 2] = (struct qn_wcolumn){names[c], t, 0, 1000000, 1};
    *cb = (struct qn_colbuf){t, m, NULL, NULL, NULL, r->lists};
    if (t == QN_STRING) {
      static const char *words[] = {"ok", "", "drift", "noisy", "a-longer-label-of-text"};
      r->offsets[c] = malloc((size_t)(m + 1) * 8);
      r->bytes[c] = malloc((size_t)m * 24 + 1);
      r->offsets[c][0] = 0;
      for (int64_t e = 0; e < m; e++) {
        const char *w = words[rng_next(&seed) % 5];
        memcpy(r->bytes[c] + r->offsets[c][e], w, strlen(w));
        r->offsets[c][e + 1] = r->offsets[c][e] + (int64_t)strlen(w);
      }
      cb->data = r->bytes[c];
      cb->offsets = r->offsets[c];
      continue;
    }
    size_t w = qn_type_size(t);
    uint8_t *d = r->data[c] = malloc((size_t)m * w + 8);
    for (int64_t e = 0; e < m; e++) {
      uint64_t x = rng_next(&seed);
      if (t == QN_FLOAT64) {
        double v = ((double)(x >> 11) / 9007199254740992.0 - 0.5) * 40.0;
        if (e % 97 == 5) v = 1e300; /* beyond float32: infinity */
        memcpy(d + e * 8, &v, 8);
      } else if (t == QN_FLOAT32) {
        float v = (float)((double)(x >> 40) - 8e6);
        memcpy(d + e * 4, &v, 4);
      } else if (t == QN_TIMESTAMP) {
        int64_t v = 1700000000000000LL + (int64_t)(x % 100000000000ULL);
        memcpy(d + e * 8, &v, 8);
      } else if (t == QN_BOOL) {
        d[e] = (uint8_t)(x & 1);
      } else {
        memcpy(d + e * w, &x, w); /* any bits: negative numbers, huge unsigned */
      }
    }
    cb->data = d;
  }
  r->ncols = nlists + 2;
}

static void rows_free(struct rows *r) {
  for (int c = 0; c < 12; c++) {
    free(r->data[c]);
    free(r->offsets[c]);
    free(r->bytes[c]);
  }
  free(r->lists);
  free(r->key);
  free(r->n);
}

/* Row i as protobuf-c packs it, features in the order of ex (sorted);
 * scratch: room for the row's converted values (its best case: no
 * allocation a row). */
static size_t pbc_pack_row(const struct qn_example *ex, const struct rows *r, int64_t i,
                           uint8_t *out, uint8_t *scratch) {
  Quern__Example__Feature feat[12];
  Quern__Example__Features__FeatureEntry ent[12], *entp[12];
  Quern__Example__Int64List il[12];
  Quern__Example__FloatList fl[12];
  Quern__Example__BytesList bl[12];
  uint8_t *next = scratch;
  for (int k = 0; k < ex->n; k++) {
    const struct qn_example_feature *f = &ex->f[k];
    const struct qn_colbuf *cb = &r->cols[f->col];
    int64_t a = f->list ? cb->lists[i] : i, b = f->list ? cb->lists[i + 1] : i + 1;
    size_t m = (size_t)(b - a);
    quern__example__feature__init(&feat[k]);
    quern__example__features__feature_entry__init(&ent[k]);
    ent[k].key = (char *)f->name;
    ent[k].value = &feat[k];
    entp[k] = &ent[k];
    if (f->kind == QN_EX_INT64) {
      int64_t *v = (int64_t *)(void *)next;
      next += m * 8;
      for (size_t e = 0; e < m; e++) {
        int64_t x = a + (int64_t)e;
        switch (f->type) {
          case QN_INT8:
            v[e] = ((const int8_t *)cb->data)[x];
            break;
          case QN_INT16:
            v[e] = ((const int16_t *)cb->data)[x];
            break;
          case QN_INT32:
            v[e] = ((const int32_t *)cb->data)[x];
            break;
          case QN_UINT8:
          case QN_BOOL:
            v[e] = ((const uint8_t *)cb->data)[x];
            break;
          case QN_UINT16:
            v[e] = ((const uint16_t *)cb->data)[x];
            break;
          case QN_UINT32:
            v[e] = ((const uint32_t *)cb->data)[x];
            break;
          default:
            v[e] = ((const int64_t *)cb->data)[x];
        }
      }
      quern__example__int64_list__init(&il[k]);
      il[k].n_value = m;
      il[k].value = v;
      feat[k].kind_case = QUERN__EXAMPLE__FEATURE__KIND_INT64_LIST;
      feat[k].int64_list = &il[k];
    } else if (f->kind == QN_EX_FLOAT) {
      float *v = (float *)(void *)next;
      next += (m * 4 + 7) & ~(size_t)7;
      for (size_t e = 0; e < m; e++)
        v[e] = f->type == QN_FLOAT32 ? ((const float *)cb->data)[a + (int64_t)e]
                                     : (float)((const double *)cb->data)[a + (int64_t)e];
      quern__example__float_list__init(&fl[k]);
      fl[k].n_value = m;
      fl[k].value = v;
      feat[k].kind_case = QUERN__EXAMPLE__FEATURE__KIND_FLOAT_LIST;
      feat[k].float_list = &fl[k];
    } else {
      ProtobufCBinaryData *v = (ProtobufCBinaryData *)(void *)next;
      next += m * sizeof *v;
      for (size_t e = 0; e < m; e++) {
        int64_t x = a + (int64_t)e;
        v[e].data = (uint8_t *)cb->data + cb->offsets[x];
        v[e].len = (size_t)(cb->offsets[x + 1] - cb->offsets[x]);
      }
      quern__example__bytes_list__init(&bl[k]);
      bl[k].n_value = m;
      bl[k].value = v;
      feat[k].kind_case = QUERN__EXAMPLE__FEATURE__KIND_BYTES_LIST;
      feat[k].bytes_list = &bl[k];
    }
  }
  Quern__Example__Features fs = QUERN__EXAMPLE__FEATURES__INIT;
  fs.n_feature = (size_t)ex->n;
  fs.feature = entp;
  Quern__Example__Example exm = QUERN__EXAMPLE__EXAMPLE__INIT;
  exm.features = &fs;
  return quern__example__example__pack(&exm, out);
}

QN_TEST(example_same_bytes_as_protobuf_c) {
  static const enum qn_type types[] = {QN_TIMESTAMP, QN_FLOAT64, QN_INT32, QN_STRING, QN_UINT64,
                                       QN_BOOL,      QN_FLOAT32, QN_INT8,  QN_UINT32, QN_INT16};
  static const char *const names[] = {"ts",   "value", "quality", "label", "u64",
                                      "flag", "f32",   "i8",      "u32",   "aa_first"};
  struct rows r;
  rows_make(&r, 3000, 80, types, names, 10, 12345);
  struct qn_example ex;
  CHECK_OK(qn_example_init(&ex, r.wc, r.ncols, "t", NULL));
  uint64_t payload[12];
  struct qn_example_sizes sz = {0, 0, payload};
  uint8_t *ours = malloc(1 << 20), *theirs = malloc(1 << 20), *scratch = malloc(1 << 20);
  int64_t bad = -1;
  for (int64_t i = 0; i < r.nrows && bad < 0; i++) {
    if (qn_example_measure(&ex, r.cols, i, &sz, NULL) != QN_OK) {
      bad = i;
      break;
    }
    size_t a = (size_t)(qn_example_write(&ex, r.cols, i, &sz, ours) - ours);
    size_t b = pbc_pack_row(&ex, &r, i, theirs, scratch);
    if (a != b || a != sz.total || memcmp(ours, theirs, a) != 0) bad = i;
  }
  free(ours);
  free(theirs);
  free(scratch);
  qn_example_reset(&ex);
  rows_free(&r);
  CHECK_EQ_INT(bad, -1);
}

static double cpu_now(void) { /* this thread's CPU time: the machine may be busy */
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Why quern writes its own encoder: protobuf-c (at its best: no allocation
 * a row) would take far more than 20% of the TFRecord writer's time (the
 * issue's threshold; docs/group.md gives the figures). Rows like `quern gen
 * measurements` grouped (26 values a list on average), written in parts of
 * 2000 rows as a group job does; CPU time of this thread, best of 3. */
QN_TEST(example_encoder_vs_protobuf_c_cost) {
  static const enum qn_type types[] = {QN_TIMESTAMP, QN_FLOAT64, QN_INT32, QN_STRING};
  static const char *const names[] = {"ts", "value", "quality", "label"};
  struct rows r;
  rows_make(&r, 40000, 51, types, names, 4, 99);
  struct qn_context *ctx = ctx_new();
  struct qn_example ex;
  CHECK_OK(qn_example_init(&ex, r.wc, r.ncols, "t", NULL));
  uint64_t payload[12];
  struct qn_example_sizes sz = {0, 0, payload};
  uint8_t *buf = malloc((size_t)r.nelem * 32 + (size_t)r.nrows * 256),
          *scratch = malloc(1 << 20);
  double best_own = 1e9, best_pbc = 1e9, best_writer = 1e9;
  size_t own_bytes = 0, pbc_bytes = 0;
  for (int rep = 0; rep < 3; rep++) {
    double t0 = cpu_now();
    uint8_t *q = buf;
    for (int64_t i = 0; i < r.nrows; i++) {
      qn_example_measure(&ex, r.cols, i, &sz, NULL);
      q = qn_example_write(&ex, r.cols, i, &sz, q);
    }
    double t1 = cpu_now();
    own_bytes = (size_t)(q - buf);
    q = buf;
    for (int64_t i = 0; i < r.nrows; i++) q += pbc_pack_row(&ex, &r, i, q, scratch);
    double t2 = cpu_now();
    pbc_bytes = (size_t)(q - buf);
    /* the whole writer: encode, frame, CRC, write the file, in parts of
     * 2000 rows as a group job hands them over */
    struct qn_writer *w = NULL;
    char *path = tmp_path("cost.tfrecord");
    CHECK_OK(qn_writer_open(ctx, path, r.wc, r.ncols, NULL, &w, NULL));
    for (int64_t r0 = 0; r0 < r.nrows; r0 += 2000) {
      struct qn_colbuf view[12];
      for (int c = 0; c < r.ncols; c++) {
        view[c] = r.cols[c];
        if (c < 2)
          view[c].data = (int64_t *)r.cols[c].data + r0;
        else
          view[c].lists = r.lists + r0; /* elements stay where they are */
      }
      void *part = NULL;
      CHECK_OK(
          qn_writer_encode(w, 0, view, QN_MIN((int64_t)2000, r.nrows - r0), r0, &part, NULL));
      CHECK_OK(qn_writer_append(w, part, NULL));
    }
    CHECK_OK(qn_writer_close(w, NULL, NULL));
    double t3 = cpu_now();
    unlink(path);
    best_own = QN_MIN(best_own, t1 - t0);
    best_pbc = QN_MIN(best_pbc, t2 - t1);
    best_writer = QN_MIN(best_writer, t3 - t2);
  }
  double with_pbc = best_writer - best_own + best_pbc;
  printf(
      "rows %lld, %.1f MB of Examples: our encoder %.1f ms, protobuf-c %.1f ms (with its "
      "conversions); TFRecord writer %.1f ms with ours, %.1f ms with protobuf-c: protobuf-c "
      "takes %.0f%% of it\n",
      (long long)r.nrows, (double)own_bytes / 1e6, best_own * 1e3, best_pbc * 1e3,
      best_writer * 1e3, with_pbc * 1e3, 100 * best_pbc / with_pbc);
  free(buf);
  free(scratch);
  qn_example_reset(&ex);
  qn_context_free(ctx);
  rows_free(&r);
  CHECK_EQ_U64(own_bytes, pbc_bytes);
  CHECK(best_pbc > 0.2 * with_pbc); /* the reason for our own encoder */
}
