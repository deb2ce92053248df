/* test_parquet_gen.h — a deterministic table of every type quern writes to
 * Parquet, defined by formulas of the row number i that DuckDB evaluates
 * identically in SQL (tests/node/pq_write_check.mjs), so a file written by
 * quern can be checked value by value by an independent reader.
 * Shared by test_parquet.c (round trip through our reader) and
 * test_parquet_dump.c (`write` command). Keep the formulas in sync with
 * the SQL in pq_write_check.mjs.
 */
#ifndef QN_TEST_PARQUET_GEN_H
#define QN_TEST_PARQUET_GEN_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/parquet/qn_pq_writer.h"

enum { PQG_NCOLS = 16 };

static const struct qn_pq_wcol pqg_cols[PQG_NCOLS] = {
    {"i8", QN_INT8, 0, 0, 0},
    {"i16", QN_INT16, 0, 0, 0},
    {"i32", QN_INT32, 1, 0, 0},
    {"i64", QN_INT64, 0, 0, 0},
    {"u8", QN_UINT8, 0, 0, 0},
    {"u16", QN_UINT16, 0, 0, 0},
    {"u32", QN_UINT32, 0, 0, 0},
    {"u64", QN_UINT64, 0, 0, 0},
    {"f32", QN_FLOAT32, 0, 0, 0},
    {"f64", QN_FLOAT64, 1, 0, 0},
    {"b", QN_BOOL, 1, 0, 0},
    {"d", QN_DATE, 0, 0, 0},
    {"ts", QN_TIMESTAMP, 0, 1000000, 0},
    {"ts_ns", QN_TIMESTAMP, 1, 1000000000, 0},
    {"s", QN_STRING, 0, 0, 0},
    {"s2", QN_STRING, 1, 0, 0},
};

/* Buffers for one batch of up to `cap` rows. */
struct pqg_batch {
  int64_t cap;
  struct qn_colbuf cols[PQG_NCOLS];
  uint8_t *valid[PQG_NCOLS];
  char *sdata[PQG_NCOLS];
  size_t scap[PQG_NCOLS];
};

static int pqg_null(int c, int64_t i) {
  switch (c) {
    case 2:
      return i % 7 == 3;
    case 9:
      return i % 5 == 1;
    case 10:
      return i % 4 == 2;
    case 13:
      return i % 13 == 0;
    case 15:
      return i % 11 == 0;
    default:
      return 0;
  }
}

static void pqg_string(int c, int64_t i, char *buf, size_t cap) {
  if (c == 14) {
    snprintf(buf, cap, "k%lld", (long long)(i % 1000));
  } else {
    int n = snprintf(buf, cap, "row-%lld", (long long)i);
    for (int k = 0; k < (int)(i % 5) && (size_t)n + 1 < cap; k++) buf[n++] = 'x';
    buf[n] = 0;
  }
}

static void pqg_batch_init(struct pqg_batch *b, int64_t cap) {
  memset(b, 0, sizeof *b);
  b->cap = cap;
  for (int c = 0; c < PQG_NCOLS; c++) {
    b->cols[c].type = pqg_cols[c].type;
    size_t w = qn_type_size(pqg_cols[c].type);
    b->cols[c].data = w ? malloc(w * (size_t)cap) : NULL;
    b->valid[c] = malloc((size_t)cap);
    if (pqg_cols[c].type == QN_STRING) {
      b->cols[c].offsets = malloc(((size_t)cap + 1) * sizeof(int64_t));
      b->scap[c] = (size_t)cap * 24 + 64;
      b->sdata[c] = malloc(b->scap[c]);
    }
  }
}

static void pqg_batch_free(struct pqg_batch *b) {
  for (int c = 0; c < PQG_NCOLS; c++) {
    if (pqg_cols[c].type != QN_STRING) free(b->cols[c].data);
    free(b->valid[c]);
    free(b->cols[c].offsets);
    free(b->sdata[c]);
  }
}

/* Fills rows [row0, row0 + n) of every column. */
static void pqg_fill(struct pqg_batch *b, int64_t row0, int64_t n) {
  for (int c = 0; c < PQG_NCOLS; c++) {
    struct qn_colbuf *cb = &b->cols[c];
    cb->n = n;
    cb->valid = pqg_cols[c].nullable ? b->valid[c] : NULL;
    size_t at = 0;
    if (cb->offsets) cb->offsets[0] = 0;
    for (int64_t k = 0; k < n; k++) {
      int64_t i = row0 + k;
      int isnull = pqg_null(c, i);
      if (cb->valid) cb->valid[k] = !isnull;
      void *d = cb->data;
      switch (c) {
        case 0:
          ((int8_t *)d)[k] = (int8_t)((i * 37) % 256 - 128);
          break;
        case 1:
          ((int16_t *)d)[k] = (int16_t)((i * 7919) % 65536 - 32768);
          break;
        case 2:
          ((int32_t *)d)[k] =
              isnull ? 0 : (int32_t)((i * 2654435761LL) % 4294967296LL - 2147483648LL);
          break;
        case 3:
          ((int64_t *)d)[k] = i * 1000000007000LL - 4000000000000000000LL;
          break;
        case 4:
          ((uint8_t *)d)[k] = (uint8_t)(i % 256);
          break;
        case 5:
          ((uint16_t *)d)[k] = (uint16_t)((i * 31) % 65536);
          break;
        case 6:
          ((uint32_t *)d)[k] = (uint32_t)((i * 2654435761LL) % 4294967296LL);
          break;
        case 7:
          ((uint64_t *)d)[k] = (uint64_t)i * UINT64_C(0x9E3779B97F4A7C15);
          break;
        case 8:
          ((float *)d)[k] = (float)((double)(i % 10000) * 0.25 - 1000.0);
          break;
        case 9: {
          double v = (double)i * 0.001 - 17.5;
          if (i % 101 == 0)
            v = NAN;
          else if (i % 103 == 0)
            v = INFINITY;
          else if (i % 107 == 0)
            v = -INFINITY;
          ((double *)d)[k] = isnull ? 0 : v;
          break;
        }
        case 10:
          ((uint8_t *)d)[k] = i % 3 == 0;
          break;
        case 11:
          ((int32_t *)d)[k] = (int32_t)(i % 30000 - 10000);
          break;
        case 12:
          ((int64_t *)d)[k] = i * 1000003LL - 500000000000LL;
          break;
        case 13:
          ((int64_t *)d)[k] = i * 999999937LL;
          break;
        default: {
          char s[64];
          if (!isnull)
            pqg_string(c, i, s, sizeof s);
          else
            s[0] = 0;
          size_t len = strlen(s);
          if (at + len > b->scap[c]) len = 0; /* cannot happen with the cap above */
          memcpy(b->sdata[c] + at, s, len);
          at += len;
          cb->offsets[k + 1] = (int64_t)at;
          cb->data = b->sdata[c];
        }
      }
    }
  }
}

/* Writes `rows` rows to `path` with `opt`. */
static int pqg_write(struct qn_context *ctx, const char *path, int64_t rows,
                     const struct qn_pq_writer_options *opt, struct qn_error *err) {
  struct qn_pq_writer *w = NULL;
  int st = qn_pq_writer_open(ctx, path, pqg_cols, PQG_NCOLS, opt, &w, err);
  if (st) return st;
  struct pqg_batch b;
  pqg_batch_init(&b, 65536);
  for (int64_t r0 = 0; r0 < rows && st == 0; r0 += b.cap) {
    int64_t n = rows - r0 < b.cap ? rows - r0 : b.cap;
    pqg_fill(&b, r0, n);
    st = qn_pq_writer_write(w, b.cols, n, err);
  }
  pqg_batch_free(&b);
  if (st) {
    qn_pq_writer_abort(w);
    return st;
  }
  return qn_pq_writer_close(w, err);
}

#endif /* QN_TEST_PARQUET_GEN_H */
