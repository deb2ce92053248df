/* fuzz_parquet.c — libFuzzer harness over quern's Parquet decoding.
 *
 * The first input byte picks the target, the rest is its input:
 *   0-3  a whole file: qn_pq_open, then every column read in full and in a
 *        few sub-ranges (columns of more than 2^20 rows are skipped: the
 *        caller, not the reader, sizes output buffers);
 *   4    the footer alone (qn_pq_meta_parse);
 *   5    a page header (qn_pq_page_header_parse);
 *   6    a values section: byte 1 the encoding, byte 2 the physical type,
 *        byte 3 the value count; a small dictionary is supplied;
 *   7    the RLE/bit-packed hybrid (byte 1 the bit width) and
 *        DELTA_BINARY_PACKED.
 * Everything must end in QN_OK or a clean error: crashes, leaks, reads out
 * of bounds (ASan) and undefined behaviour (UBSan) are findings. The
 * context's budget is 256 MiB so hostile sizes end in QN_ELIMIT, not in an
 * out-of-memory kill of the fuzzer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "io/parquet/qn_pq.h"

static struct qn_context *qn_fuzz_ctx(void) {
  static struct qn_context *ctx;
  if (!ctx) {
    struct qn_context_options o;
    qn_context_options_init(&o);
    o.memory_limit = (int64_t)256 << 20;
    o.progress = 0;
    if (qn_context_new(&o, &ctx, NULL) != QN_OK) abort();
  }
  return ctx;
}

static void qn_fuzz_read(struct qn_reader *r, int c, int64_t row0, int64_t n) {
  size_t w = qn_type_size(r->cols[c].type);
  struct qn_colbuf out;
  memset(&out, 0, sizeof out);
  out.data = w ? malloc(w * (size_t)n + 1) : NULL;
  uint8_t *valid = malloc((size_t)n + 1);
  out.valid = valid;
  out.offsets = w ? NULL : malloc(((size_t)n + 1) * sizeof(int64_t));
  struct qn_error err;
  qn_error_init(&err);
  r->ops->read(r, c, row0, n, &out, &err);
  if (!w)
    qn_mem_free(r->ctx, out.data);
  else
    free(out.data);
  free(valid);
  free(out.offsets);
}

static void qn_fuzz_file(const uint8_t *data, size_t size) {
  int fd = memfd_create("fuzz.parquet", 0);
  if (fd < 0) return;
  if (write(fd, data, size) != (ssize_t)size) {
    close(fd);
    return;
  }
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  struct qn_context *ctx = qn_fuzz_ctx();
  struct qn_reader *r = NULL;
  struct qn_error err;
  qn_error_init(&err);
  if (qn_pq_open(ctx, path, &r, &err) == QN_OK) {
    for (int c = 0; c < r->ncols; c++) {
      int64_t rows = r->cols[c].rows;
      if (rows <= 0 || rows > (1 << 20)) continue;
      qn_fuzz_read(r, c, 0, rows);
      qn_fuzz_read(r, c, rows / 2, rows - rows / 2);
      qn_fuzz_read(r, c, rows / 3, 1);
    }
    if (r->ops->release) r->ops->release(r);
    r->ops->close(r);
  }
  close(fd);
  if (qn_context_used_bytes(ctx) != 0) abort(); /* leaked budget */
}

static void qn_fuzz_values(const uint8_t *data, size_t size) {
  if (size < 4) return;
  static const int widths[8] = {1, 4, 8, 12, 4, 8, 0, 3};
  int enc = data[1] % 10, phys = data[2] % 8;
  int64_t n = data[3];
  struct qn_context *ctx = qn_fuzz_ctx();
  struct qn_pq_scratch scr = {ctx, {0}, {0}};
  struct qn_pq_dict dict;
  memset(&dict, 0, sizeof dict);
  static const uint8_t dvals[] = {3, 0, 0, 0, 'a', 'b', 'c', 1, 0, 0, 0, 'z', 9, 9, 9, 9,
                                  9, 9, 9, 9, 9,   9,   9,   9, 9, 9, 9, 9,   9, 9, 9, 9};
  qn_pq_dict_decode(ctx, &dict, phys, widths[phys], dvals, dvals + sizeof dvals, 2, NULL);
  struct qn_pq_vdec d;
  const uint8_t *p = data + 4, *end = data + size;
  if (qn_pq_vdec_init(&d, enc, phys, widths[phys], p, end, n, &dict, &scr, NULL) == QN_OK) {
    if (phys == QN_PQ_BYTE_ARRAY) {
      int64_t offs[300];
      struct qn_pq_strout so = {ctx, NULL, 0, 0, offs};
      offs[0] = 0;
      if (qn_pq_vdec_skip(&d, n / 3) == 0) qn_pq_vdec_strings(&d, &so, n - n / 3, NULL);
      qn_mem_free(ctx, so.data);
    } else {
      uint8_t out[256 * 12];
      if (qn_pq_vdec_skip(&d, n / 3) == 0) qn_pq_vdec_fixed(&d, out, n - n / 3);
    }
  }
  qn_pq_dict_free(ctx, &dict);
  qn_pq_scratch_free(&scr);
}

static void qn_fuzz_ints(const uint8_t *data, size_t size) {
  if (size < 2) return;
  uint32_t out[512];
  struct qn_pq_rle r;
  qn_pq_rle_init(&r, data + 2, data + size, data[1] % 33);
  if (qn_pq_rle_skip(&r, data[1] % 7) == 0) qn_pq_rle_get32(&r, out, 512);
  int64_t v[600];
  struct qn_pq_delta d;
  const uint8_t *after;
  if (qn_pq_delta_init(&d, data + 1, data + size) == 0 && d.total <= 600)
    qn_pq_delta_all(&d, v, (int64_t)d.total, &after);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  struct qn_error err;
  qn_error_init(&err);
  switch (data[0] % 8) {
    case 4: {
      struct qn_pq_meta *m = NULL;
      if (qn_pq_meta_parse(data + 1, size - 1, 4, (int64_t)size + 64, "fuzz", &m, &err) ==
          QN_OK)
        qn_pq_meta_free(m);
      break;
    }
    case 5: {
      struct qn_pq_page_header h;
      size_t hlen;
      int truncated;
      qn_pq_page_header_parse(data + 1, size - 1, 4, "fuzz", "c", &h, &hlen, &truncated, &err);
      break;
    }
    case 6:
      qn_fuzz_values(data, size);
      break;
    case 7:
      qn_fuzz_ints(data, size);
      break;
    default:
      qn_fuzz_file(data + 1, size - 1);
      break;
  }
  return 0;
}
