/* test_parquet_build.h — hand-built Parquet files for what quern's writer
 * never emits: INT96 values, a column chunk that falls back from dictionary
 * to PLAIN part way, DATA_PAGE_V2 pages, and damaged files (a dictionary
 * index past the dictionary, a schema whose num_children lie, a schema
 * nested deeper than the reader allows). Built with quern's own Thrift
 * writer; pages are uncompressed. Shared by test_parquet.c and
 * test_parquet_dump.c (`corrupt` command, used by the CLI corpus test).
 */
#ifndef QN_TEST_PARQUET_BUILD_H
#define QN_TEST_PARQUET_BUILD_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/parquet/qn_pq.h"

static void write_bytes(const char *path, const uint8_t *p, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(p, 1, n, f) != n) abort();
  fclose(f);
}

/* A tiny file builder over qn_pq_tout (uncompressed pages). */
struct fb {
  struct qn_pq_tout f;
};

static void fb_page(struct fb *b, int type, int32_t nvals, int enc,
                    const struct qn_pq_tout *body) {
  struct qn_pq_page_header h;
  struct qn_pq_tout hdr;
  memset(&h, 0, sizeof h);
  qn_pq_tout_init(&hdr);
  h.type = type;
  h.uncompressed_size = h.compressed_size = (int32_t)body->len;
  h.num_values = nvals;
  h.encoding = enc;
  h.def_encoding = h.rep_encoding = QN_PQ_RLE;
  qn_pq_page_header_write(&hdr, &h, NULL, 0);
  qn_pq_w_raw(&b->f, hdr.buf, hdr.len);
  qn_pq_w_raw(&b->f, body->buf, body->len);
  qn_pq_tout_reset(&hdr);
}

/* DATA_PAGE_V2 header written field by field (the writer emits v1 only). */
static void fb_page_v2(struct fb *b, int32_t nvals, int32_t nnulls, int enc, int32_t deflen,
                       const struct qn_pq_tout *body) {
  struct qn_pq_tout o;
  qn_pq_tout_init(&o);
  qn_pq_w_struct_begin(&o);
  qn_pq_w_i32(&o, 1, QN_PQ_DATA_PAGE_V2);
  qn_pq_w_i32(&o, 2, (int32_t)body->len);
  qn_pq_w_i32(&o, 3, (int32_t)body->len);
  qn_pq_w_field(&o, 8, QN_PQ_T_STRUCT);
  qn_pq_w_struct_begin(&o);
  qn_pq_w_i32(&o, 1, nvals);
  qn_pq_w_i32(&o, 2, nnulls);
  qn_pq_w_i32(&o, 3, nvals);
  qn_pq_w_i32(&o, 4, enc);
  qn_pq_w_i32(&o, 5, deflen);
  qn_pq_w_i32(&o, 6, 0);
  qn_pq_w_bool(&o, 7, 0);
  qn_pq_w_struct_end(&o);
  qn_pq_w_struct_end(&o);
  qn_pq_w_raw(&b->f, o.buf, o.len);
  qn_pq_w_raw(&b->f, body->buf, body->len);
  qn_pq_tout_reset(&o);
}

struct fb_chunk {
  int phys;
  const char *name;
  int optional;
  int64_t dict_off, data_off, size, values;
};

static void fb_footer(struct fb *b, struct fb_chunk *ch, int n, int64_t rows,
                      int64_t nrg_bad_children) {
  struct qn_pq_tout o;
  qn_pq_tout_init(&o);
  qn_pq_w_struct_begin(&o);
  qn_pq_w_i32(&o, 1, 1);
  qn_pq_w_list(&o, 2, QN_PQ_T_STRUCT, n + 1);
  qn_pq_w_struct_begin(&o);
  qn_pq_w_string(&o, 4, "schema");
  qn_pq_w_i32(&o, 5, (int32_t)(n + nrg_bad_children));
  qn_pq_w_struct_end(&o);
  for (int i = 0; i < n; i++) {
    qn_pq_w_struct_begin(&o);
    qn_pq_w_i32(&o, 1, ch[i].phys);
    qn_pq_w_i32(&o, 3, ch[i].optional ? QN_PQ_OPTIONAL : QN_PQ_REQUIRED);
    qn_pq_w_string(&o, 4, ch[i].name);
    if (ch[i].phys == QN_PQ_BYTE_ARRAY) qn_pq_w_i32(&o, 6, QN_PQ_CT_UTF8);
    qn_pq_w_struct_end(&o);
  }
  qn_pq_w_i64(&o, 3, rows);
  qn_pq_w_list(&o, 4, QN_PQ_T_STRUCT, 1);
  qn_pq_w_struct_begin(&o);
  qn_pq_w_list(&o, 1, QN_PQ_T_STRUCT, n);
  for (int i = 0; i < n; i++) {
    qn_pq_w_struct_begin(&o);
    qn_pq_w_i64(&o, 2, 0);
    qn_pq_w_field(&o, 3, QN_PQ_T_STRUCT);
    qn_pq_w_struct_begin(&o);
    qn_pq_w_i32(&o, 1, ch[i].phys);
    qn_pq_w_list(&o, 2, QN_PQ_T_I32, 2);
    qn_pq_w_list_i32(&o, QN_PQ_PLAIN);
    qn_pq_w_list_i32(&o, QN_PQ_RLE_DICTIONARY);
    qn_pq_w_list(&o, 3, QN_PQ_T_BINARY, 1);
    qn_pq_w_list_string(&o, ch[i].name);
    qn_pq_w_i32(&o, 4, QN_PQ_UNCOMPRESSED);
    qn_pq_w_i64(&o, 5, ch[i].values);
    qn_pq_w_i64(&o, 6, ch[i].size);
    qn_pq_w_i64(&o, 7, ch[i].size);
    qn_pq_w_i64(&o, 9, ch[i].data_off);
    if (ch[i].dict_off) qn_pq_w_i64(&o, 11, ch[i].dict_off);
    qn_pq_w_struct_end(&o);
    qn_pq_w_struct_end(&o);
  }
  qn_pq_w_i64(&o, 2, 1);
  qn_pq_w_i64(&o, 3, rows);
  qn_pq_w_struct_end(&o);
  qn_pq_w_struct_end(&o);
  uint8_t tail[8];
  qn_pq_put_le32(tail, (uint32_t)o.len);
  memcpy(tail + 4, "PAR1", 4);
  qn_pq_w_raw(&b->f, o.buf, o.len);
  qn_pq_w_raw(&b->f, tail, 8);
  qn_pq_tout_reset(&o);
}

static void int96(uint8_t *p, int32_t julian, uint64_t nanos) {
  memcpy(p, &nanos, 8);
  memcpy(p + 8, &julian, 4);
}

/* INT96 column: dictionary page of 3 values, a dictionary page of 6 rows,
 * then (the dictionary "full") a PLAIN page of 4 rows: a chunk that falls
 * back part way. A string column: dictionary + dict page with nulls, then a
 * PLAIN v2 page with nulls. `bad_index` puts an index past the dictionary. */
static void build_fallback_file(const char *path, int bad_index, int extra_children) {
  struct fb b;
  struct qn_pq_tout body;
  struct fb_chunk ch[2] = {{QN_PQ_INT96, "t96", 0, 0, 0, 0, 10},
                           {QN_PQ_BYTE_ARRAY, "s", 1, 0, 0, 0, 10}};
  qn_pq_tout_init(&b.f);
  qn_pq_w_raw(&b.f, "PAR1", 4);
  /* column 0 */
  ch[0].dict_off = (int64_t)b.f.len;
  qn_pq_tout_init(&body);
  uint8_t v[12];
  int96(v, 2440588, 0); /* 1970-01-01 00:00:00 */
  qn_pq_w_raw(&body, v, 12);
  int96(v, 2440589, 1500000000ULL); /* 1970-01-02 00:00:01.5 */
  qn_pq_w_raw(&body, v, 12);
  int96(v, 2440587, 86399999999999ULL); /* 1969-12-31 23:59:59.999999999 */
  qn_pq_w_raw(&body, v, 12);
  fb_page(&b, QN_PQ_DICTIONARY_PAGE, 3, QN_PQ_PLAIN, &body);
  qn_pq_tout_reset(&body);
  ch[0].data_off = (int64_t)b.f.len;
  uint8_t idx[6] = {2, 0, 1, 1, (uint8_t)(bad_index ? 3 : 0), 2};
  uint8_t bw = 2;
  qn_pq_w_raw(&body, &bw, 1);
  qn_pq_rle_encode(&body, idx, 6, 2);
  fb_page(&b, QN_PQ_DATA_PAGE, 6, QN_PQ_RLE_DICTIONARY, &body);
  qn_pq_tout_reset(&body);
  for (int i = 0; i < 4; i++) {
    int96(v, 2440588 + i, (uint64_t)i * 1000);
    qn_pq_w_raw(&body, v, 12);
  }
  fb_page(&b, QN_PQ_DATA_PAGE, 4, QN_PQ_PLAIN, &body);
  qn_pq_tout_reset(&body);
  ch[0].size = (int64_t)b.f.len - ch[0].dict_off;
  /* column 1: dict ["aa", "b"], page 1 (v1): aa null b aa null b; page 2 (v2): PLAIN "zz" null
   * "" "q" */
  ch[1].dict_off = (int64_t)b.f.len;
  uint8_t l4[4];
  qn_pq_put_le32(l4, 2);
  qn_pq_w_raw(&body, l4, 4);
  qn_pq_w_raw(&body, "aa", 2);
  qn_pq_put_le32(l4, 1);
  qn_pq_w_raw(&body, l4, 4);
  qn_pq_w_raw(&body, "b", 1);
  fb_page(&b, QN_PQ_DICTIONARY_PAGE, 2, QN_PQ_PLAIN_DICTIONARY, &body);
  qn_pq_tout_reset(&body);
  ch[1].data_off = (int64_t)b.f.len;
  uint8_t defs1[6] = {1, 0, 1, 1, 0, 1}, sidx[4] = {0, 1, 0, 1};
  struct qn_pq_tout lv;
  qn_pq_tout_init(&lv);
  qn_pq_rle_encode(&lv, defs1, 6, 1);
  qn_pq_put_le32(l4, (uint32_t)lv.len);
  qn_pq_w_raw(&body, l4, 4);
  qn_pq_w_raw(&body, lv.buf, lv.len);
  qn_pq_tout_reset(&lv);
  bw = 1;
  qn_pq_w_raw(&body, &bw, 1);
  qn_pq_rle_encode(&body, sidx, 4, 1);
  fb_page(&b, QN_PQ_DATA_PAGE, 6, QN_PQ_PLAIN_DICTIONARY, &body);
  qn_pq_tout_reset(&body);
  uint8_t defs2[4] = {1, 0, 1, 1};
  qn_pq_rle_encode(&lv, defs2, 4, 1);
  int32_t deflen = (int32_t)lv.len;
  qn_pq_w_raw(&body, lv.buf, lv.len);
  qn_pq_tout_reset(&lv);
  const char *sv[3] = {"zz", "", "q"};
  for (int i = 0; i < 3; i++) {
    qn_pq_put_le32(l4, (uint32_t)strlen(sv[i]));
    qn_pq_w_raw(&body, l4, 4);
    qn_pq_w_raw(&body, sv[i], strlen(sv[i]));
  }
  fb_page_v2(&b, 4, 1, QN_PQ_PLAIN, deflen, &body);
  qn_pq_tout_reset(&body);
  ch[1].size = (int64_t)b.f.len - ch[1].dict_off;
  fb_footer(&b, ch, 2, 10, extra_children);
  write_bytes(path, b.f.buf, b.f.len);
  qn_pq_tout_reset(&b.f);
}

/* root -> g -> g -> ... (`depth` OPTIONAL groups) -> an INT32 leaf */
static void build_deep_schema_file(const char *path, int depth) {
  struct qn_pq_tout o;
  struct fb b;
  qn_pq_tout_init(&o);
  qn_pq_tout_init(&b.f);
  qn_pq_w_raw(&b.f, "PAR1", 4);
  qn_pq_w_struct_begin(&o);
  qn_pq_w_i32(&o, 1, 1);
  qn_pq_w_list(&o, 2, QN_PQ_T_STRUCT, depth + 1);
  for (int i = 0; i < depth; i++) {
    qn_pq_w_struct_begin(&o);
    qn_pq_w_i32(&o, 3, QN_PQ_OPTIONAL);
    qn_pq_w_string(&o, 4, "g");
    qn_pq_w_i32(&o, 5, 1);
    qn_pq_w_struct_end(&o);
  }
  qn_pq_w_struct_begin(&o);
  qn_pq_w_i32(&o, 1, QN_PQ_INT32);
  qn_pq_w_string(&o, 4, "x");
  qn_pq_w_struct_end(&o);
  qn_pq_w_i64(&o, 3, 0);
  qn_pq_w_list(&o, 4, QN_PQ_T_STRUCT, 0);
  qn_pq_w_struct_end(&o);
  uint8_t tail[8];
  qn_pq_put_le32(tail, (uint32_t)o.len);
  memcpy(tail + 4, "PAR1", 4);
  qn_pq_w_raw(&b.f, o.buf, o.len);
  qn_pq_w_raw(&b.f, tail, 8);
  write_bytes(path, b.f.buf, b.f.len);
  qn_pq_tout_reset(&o);
  qn_pq_tout_reset(&b.f);
}

#endif /* QN_TEST_PARQUET_BUILD_H */
