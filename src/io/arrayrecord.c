/* arrayrecord.c — the ArrayRecord table writer: one tf.train.Example a row
 * (qn_records.h) in a Riegeli/records file laid out as google/array_record
 * writes it (its cpp/array_record_writer.cc and sequenced_chunk_writer.cc
 * read for the rules; riegeli's doc/riegeli_records_file_format.md):
 *
 *   signature chunk 's' (the fixed 64 bytes)
 *   simple chunks 'r' of group_size records each (the last may hold fewer)
 *   footer chunk 'r': RiegeliFooterMetadata{array_record_metadata{version 1,
 *     num_chunks, num_records, writer_options}}, then one ArrayRecordFooter
 *     {chunk_offset, decoded_data_size, num_records} a data chunk
 *   padding chunk 'p' to the next 64 KiB block
 *   postscript chunk 'r' (always uncompressed): 3 x RiegeliPostscript
 *     {footer_offset, magic}
 *   padding chunk 'p' to the next 64 KiB block (so the postscript is the
 *     chunk at size - 64 KiB, where readers look for it)
 *
 * with a 24-byte block header at every multiple of 64 KiB (even inside a
 * chunk header) and each chunk padded as the format's ChunkEnd says. A
 * simple chunk's data: compression byte (0 or 'z'), varint size of the
 * compressed record sizes, those sizes (varints; zstd-compressed with a
 * varint decompressed-size prefix), then the record values (likewise).
 * Hashes: HighwayHash-64 with Riegeli's key (libhighwayhash).
 *
 * Work split: with group_size 1 (the default: one record a chunk, what
 * grain's random access wants) encode, on any worker, builds every chunk
 * whole (Example, zstd when asked, both hashes) and append only lays the
 * chunks out (block headers, padding, the footer index). With a larger
 * group_size a chunk's records can come from two parts, so encode
 * serializes the Examples and append groups, compresses and hashes.
 *
 * Memory: parts (about the size of their Examples, in 1 MiB pieces
 * recycled through a small pool), a 256 KiB output
 * buffer, one zstd context a worker, and the footer index, about 12 bytes
 * a chunk, held until close (as the reference writer does); all from the
 * budget. Bytes: a function of the rows, their order and the options
 * alone (zstd single-threaded at a fixed level and window).
 */
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "io/qn_records.h"

#define QN_AR_STAGE ((size_t)256 << 10)
#define QN_AR_WINDOW_LOG 20 /* the reference writer's default for zstd */

/* A growable byte buffer from the budget. */
struct qn_ar_buf {
  uint8_t *p;
  size_t len, cap;
};

struct qn_ar_worker {
  ZSTD_CCtx *zc;
  int64_t zc_bytes;     /* what it holds, reserved from the budget */
  struct qn_ar_buf rec; /* an Example before compression */
};

struct qn_ar_file {
  struct qn_context *ctx;
  char *path;
  struct qn_outfile *of;
  struct qn_record_codec codec;
  char options[160]; /* writer_options of the footer */
  int nworkers;
  struct qn_ar_worker *workers; /* [nworkers + 1]: the last is the file's own */
  uint64_t pos;                 /* bytes of the file so far */
  uint64_t chunk_begin, chunk_end;
  struct qn_ar_buf stage;
  /* the footer: its records' sizes (varints) and values */
  struct qn_ar_buf fsizes, fvalues;
  uint64_t nchunks, nrecords;
  /* the chunk being filled (records added one by one) */
  struct qn_ar_buf psizes, pvalues;
  uint64_t pending;
  struct qn_ar_buf image;
};

static int qn_ar_reserve(struct qn_context *ctx, struct qn_ar_buf *b, size_t extra,
                         struct qn_error *err) {
  if (b->len + extra <= b->cap) return QN_OK;
  size_t cap = QN_MAX(b->cap * 2, b->len + extra + 4096);
  uint8_t *p = qn_mem_alloc(ctx, cap, "ArrayRecord buffers", err);
  if (!p) return err && err->code ? err->code : QN_ELIMIT;
  if (b->len) memcpy(p, b->p, b->len);
  qn_mem_free(ctx, b->p);
  b->p = p;
  b->cap = cap;
  return QN_OK;
}

static void qn_ar_buf_free(struct qn_context *ctx, struct qn_ar_buf *b) {
  qn_mem_free(ctx, b->p);
  memset(b, 0, sizeof *b);
}

/* ----- chunk images (any thread, each with its own worker) ----- */

size_t qn_ar_chunk_bound(size_t sizes_len, size_t values_len) {
  return QN_RIEGELI_CHUNK_HEADER + 1 + 3 * 10 + ZSTD_compressBound(sizes_len) +
         ZSTD_compressBound(values_len);
}

static int qn_ar_zstd(struct qn_ar_file *f, struct qn_ar_worker *wk, uint8_t *dst, size_t cap,
                      const uint8_t *src, size_t n, size_t *out, struct qn_error *err) {
  if (!wk->zc) {
    wk->zc = ZSTD_createCCtx();
    if (!wk->zc) return qn_error_set(err, QN_ENOMEM, "out of memory for zstd");
    ZSTD_CCtx_setParameter(wk->zc, ZSTD_c_compressionLevel, f->codec.level);
    ZSTD_CCtx_setParameter(wk->zc, ZSTD_c_windowLog, QN_AR_WINDOW_LOG);
  }
  size_t r = ZSTD_compress2(wk->zc, dst, cap, src, n);
  if (ZSTD_isError(r))
    return qn_error_set(err, QN_EINTERNAL, "%s: zstd: %s", f->path, ZSTD_getErrorName(r));
  *out = r;
  /* the context's tables exist once it has compressed: count them then */
  int64_t held = (int64_t)ZSTD_sizeof_CCtx(wk->zc);
  if (held > wk->zc_bytes) {
    QN_RETURN_IF_ERROR(qn_mem_reserve(f->ctx, held - wk->zc_bytes, "a zstd context", err));
    wk->zc_bytes = held;
  }
  return QN_OK;
}

/* Writes at out (room for qn_ar_chunk_bound) a simple chunk of `count`
 * records: sizes are their varint sizes, values their bytes. */
static int qn_ar_chunk_put(struct qn_ar_file *f, struct qn_ar_worker *wk, int zstd,
                           const uint8_t *sizes, size_t sizes_len, const uint8_t *values,
                           size_t values_len, uint64_t count, uint8_t *out, size_t *len,
                           struct qn_error *err) {
  uint8_t *data = out + QN_RIEGELI_CHUNK_HEADER, *q = data;
  if (!zstd) {
    *q++ = 0;
    q = qn_varint_put(q, sizes_len);
    memcpy(q, sizes, sizes_len);
    q += sizes_len;
    memcpy(q, values, values_len);
    q += values_len;
  } else {
    /* the compressed sizes go after their own length: compress them
     * beyond the room that length can take, then move them down */
    size_t cs, cv;
    uint8_t *tmp = data + 1 + 20;
    QN_RETURN_IF_ERROR(
        qn_ar_zstd(f, wk, tmp, ZSTD_compressBound(sizes_len), sizes, sizes_len, &cs, err));
    *q++ = 'z';
    q = qn_varint_put(q, (uint64_t)qn_varint_len(sizes_len) + cs);
    q = qn_varint_put(q, sizes_len);
    memmove(q, tmp, cs);
    q += cs;
    q = qn_varint_put(q, values_len);
    QN_RETURN_IF_ERROR(
        qn_ar_zstd(f, wk, q, ZSTD_compressBound(values_len), values, values_len, &cv, err));
    q += cv;
  }
  uint64_t data_size = (uint64_t)(q - data);
  qn_riegeli_chunk_header(out, data, data_size, 'r', count, values_len);
  *len = QN_RIEGELI_CHUNK_HEADER + (size_t)data_size;
  return QN_OK;
}

/* An uncompressed chunk of one record of n bytes at image: returns where
 * the record's bytes go; qn_ar_single_seal then hashes. */
static uint8_t *qn_ar_single_begin(uint8_t *image, uint64_t n) {
  uint8_t *d = image + QN_RIEGELI_CHUNK_HEADER;
  *d++ = 0;
  d = qn_varint_put(d, (uint64_t)qn_varint_len(n));
  return qn_varint_put(d, n);
}
static uint8_t *qn_ar_single_seal(uint8_t *image, const uint8_t *end, uint64_t n) {
  const uint8_t *data = image + QN_RIEGELI_CHUNK_HEADER;
  qn_riegeli_chunk_header(image, data, (uint64_t)(end - data), 'r', 1, n);
  return (uint8_t *)end;
}

/* ----- laying chunks out (one thread, in file order) ----- */

static int qn_ar_flush(struct qn_ar_file *f, struct qn_error *err) {
  int st = qn_outfile_write(f->of, f->stage.p, f->stage.len, err);
  f->stage.len = 0;
  return st;
}

static int qn_ar_put(struct qn_ar_file *f, const void *p, size_t n, struct qn_error *err) {
  while (n > 0) {
    if (f->stage.len == f->stage.cap) QN_RETURN_IF_ERROR(qn_ar_flush(f, err));
    size_t k = QN_MIN(n, f->stage.cap - f->stage.len);
    if (p) {
      memcpy(f->stage.p + f->stage.len, p, k);
      p = (const uint8_t *)p + k;
    } else {
      memset(f->stage.p + f->stage.len, 0, k);
    }
    f->stage.len += k;
    n -= k;
  }
  return QN_OK;
}

/* n bytes of the current chunk (zeros when p is NULL), a block header
 * first at every block start they reach. */
static int qn_ar_emit(struct qn_ar_file *f, const uint8_t *p, uint64_t n,
                      struct qn_error *err) {
  while (n > 0) {
    if (f->pos % QN_RIEGELI_BLOCK == 0) {
      uint8_t h[QN_RIEGELI_BLOCK_HEADER];
      qn_riegeli_block_header(h, f->pos - f->chunk_begin, f->chunk_end - f->pos);
      QN_RETURN_IF_ERROR(qn_ar_put(f, h, sizeof h, err));
      f->pos += QN_RIEGELI_BLOCK_HEADER;
    }
    uint64_t k = QN_MIN(n, qn_riegeli_remaining(f->pos));
    QN_RETURN_IF_ERROR(qn_ar_put(f, p, (size_t)k, err));
    if (p) p += k;
    f->pos += k;
    n -= k;
  }
  return QN_OK;
}

/* Lays out one chunk image (header and data) at the current position. */
static int qn_ar_write_chunk(struct qn_ar_file *f, const uint8_t *image, struct qn_error *err) {
  uint64_t data_size = qn_le64_get(image + 8), count = qn_le64_get(image + 24) >> 8;
  f->chunk_begin = f->pos;
  f->chunk_end = qn_riegeli_chunk_end(f->pos, data_size, count);
  QN_RETURN_IF_ERROR(qn_ar_emit(f, image, QN_RIEGELI_CHUNK_HEADER + data_size, err));
  if (f->pos > f->chunk_end)
    return qn_error_set(err, QN_EINTERNAL, "%s: a chunk ran past its end", f->path);
  return qn_ar_emit(f, NULL, f->chunk_end - f->pos, err); /* its padding */
}

/* Lays out a data chunk and notes it in the footer index. */
int qn_ar_file_chunk(struct qn_ar_file *f, const uint8_t *image, struct qn_error *err) {
  uint64_t offset = f->pos, decoded = qn_le64_get(image + 32),
           count = qn_le64_get(image + 24) >> 8;
  QN_RETURN_IF_ERROR(qn_ar_write_chunk(f, image, err));
  QN_RETURN_IF_ERROR(qn_ar_reserve(f->ctx, &f->fvalues, 33, err));
  QN_RETURN_IF_ERROR(qn_ar_reserve(f->ctx, &f->fsizes, 10, err));
  uint8_t *q0 = f->fvalues.p + f->fvalues.len, *q = q0;
  *q++ = 0x08; /* ArrayRecordFooter.chunk_offset */
  q = qn_varint_put(q, offset);
  *q++ = 0x10; /* decoded_data_size */
  q = qn_varint_put(q, decoded);
  *q++ = 0x18; /* num_records */
  q = qn_varint_put(q, count);
  f->fvalues.len += (size_t)(q - q0);
  f->fsizes.len =
      (size_t)(qn_varint_put(f->fsizes.p + f->fsizes.len, (uint64_t)(q - q0)) - f->fsizes.p);
  f->nchunks++;
  f->nrecords += count;
  return QN_OK;
}

/* A padding chunk to the next block start (riegeli's PadToBlockBoundary):
 * nothing when there already; a chunk header needs 40 bytes, so a shorter
 * gap pads to the block after. */
static int qn_ar_pad(struct qn_ar_file *f, struct qn_error *err) {
  uint64_t r = f->pos % QN_RIEGELI_BLOCK;
  if (r == 0) return QN_OK;
  uint64_t length = QN_RIEGELI_BLOCK - r;
  while (length < QN_RIEGELI_CHUNK_HEADER) length += QN_RIEGELI_BLOCK;
  uint64_t end = f->pos + length;
  uint64_t data = qn_riegeli_distance(f->pos, end) - QN_RIEGELI_CHUNK_HEADER;
  uint8_t *zeros = calloc(1, QN_RIEGELI_CHUNK_HEADER + (size_t)data);
  if (!zeros) return qn_error_set(err, QN_ENOMEM, "out of memory");
  qn_riegeli_chunk_header(zeros, zeros + QN_RIEGELI_CHUNK_HEADER, data, 'p', 0, 0);
  int status = qn_ar_write_chunk(f, zeros, err);
  free(zeros);
  if (status == QN_OK && f->pos != end)
    status = qn_error_set(err, QN_EINTERNAL, "%s: padding ends at %llu, not %llu", f->path,
                          (unsigned long long)f->pos, (unsigned long long)end);
  return status;
}

/* The chunk being filled, compressed and hashed, laid out. */
static int qn_ar_flush_pending(struct qn_ar_file *f, struct qn_error *err) {
  if (f->pending == 0) return QN_OK;
  f->image.len = 0;
  QN_RETURN_IF_ERROR(
      qn_ar_reserve(f->ctx, &f->image, qn_ar_chunk_bound(f->psizes.len, f->pvalues.len), err));
  size_t len;
  QN_RETURN_IF_ERROR(qn_ar_chunk_put(f, &f->workers[f->nworkers], f->codec.zstd, f->psizes.p,
                                     f->psizes.len, f->pvalues.p, f->pvalues.len, f->pending,
                                     f->image.p, &len, err));
  f->psizes.len = f->pvalues.len = 0;
  f->pending = 0;
  return qn_ar_file_chunk(f, f->image.p, err);
}

int qn_ar_file_add(struct qn_ar_file *f, const uint8_t *values, const uint64_t *sizes,
                   int64_t n, struct qn_error *err) {
  for (int64_t i = 0; i < n; i++) {
    uint64_t len = sizes[i];
    if (f->codec.group_size == 1 && !f->codec.zstd) { /* as the table writer's encode does */
      f->image.len = 0;
      QN_RETURN_IF_ERROR(qn_ar_reserve(f->ctx, &f->image, qn_ar_chunk_bound(10, len), err));
      uint8_t *d = qn_ar_single_begin(f->image.p, len);
      memcpy(d, values, (size_t)len);
      qn_ar_single_seal(f->image.p, d + len, len);
      QN_RETURN_IF_ERROR(qn_ar_file_chunk(f, f->image.p, err));
    } else {
      QN_RETURN_IF_ERROR(qn_ar_reserve(f->ctx, &f->pvalues, (size_t)len, err));
      QN_RETURN_IF_ERROR(qn_ar_reserve(f->ctx, &f->psizes, 10, err));
      memcpy(f->pvalues.p + f->pvalues.len, values, (size_t)len);
      f->pvalues.len += (size_t)len;
      f->psizes.len = (size_t)(qn_varint_put(f->psizes.p + f->psizes.len, len) - f->psizes.p);
      if (++f->pending == (uint64_t)f->codec.group_size)
        QN_RETURN_IF_ERROR(qn_ar_flush_pending(f, err));
    }
    values += len;
  }
  return QN_OK;
}

/* The footer chunk, its padding, the postscript and its padding. */
static int qn_ar_finish(struct qn_ar_file *f, struct qn_error *err) {
  struct qn_context *ctx = f->ctx;
  QN_RETURN_IF_ERROR(qn_ar_flush_pending(f, err));
  /* record 0 of the footer: RiegeliFooterMetadata, before the index */
  size_t olen = strlen(f->options);
  uint8_t meta[256], *m = meta, inner[220], *q = inner;
  *q++ = 0x08; /* version */
  q = qn_varint_put(q, 1);
  *q++ = 0x10; /* num_chunks */
  q = qn_varint_put(q, f->nchunks);
  *q++ = 0x18; /* num_records */
  q = qn_varint_put(q, f->nrecords);
  *q++ = 0x22; /* writer_options */
  q = qn_varint_put(q, olen);
  memcpy(q, f->options, olen);
  q += olen;
  *m++ = 0x0a; /* array_record_metadata */
  m = qn_varint_put(m, (uint64_t)(q - inner));
  memcpy(m, inner, (size_t)(q - inner));
  m += q - inner;
  size_t mlen = (size_t)(m - meta);
  struct qn_ar_buf sizes = {0}, values = {0};
  int status = QN_OK;
  QN_CHECK(qn_ar_reserve(ctx, &sizes, f->fsizes.len + 10, err));
  QN_CHECK(qn_ar_reserve(ctx, &values, f->fvalues.len + mlen, err));
  sizes.len = (size_t)(qn_varint_put(sizes.p, mlen) - sizes.p);
  if (f->fsizes.len) memcpy(sizes.p + sizes.len, f->fsizes.p, f->fsizes.len);
  sizes.len += f->fsizes.len;
  memcpy(values.p, meta, mlen);
  if (f->fvalues.len) memcpy(values.p + mlen, f->fvalues.p, f->fvalues.len);
  values.len = mlen + f->fvalues.len;
  qn_ar_buf_free(ctx, &f->fsizes);
  qn_ar_buf_free(ctx, &f->fvalues);
  f->image.len = 0;
  QN_CHECK(qn_ar_reserve(ctx, &f->image, qn_ar_chunk_bound(sizes.len, values.len), err));
  size_t len;
  QN_CHECK(qn_ar_chunk_put(f, &f->workers[f->nworkers], f->codec.zstd, sizes.p, sizes.len,
                           values.p, values.len, f->nchunks + 1, f->image.p, &len, err));
  uint64_t footer = f->pos;
  QN_CHECK(qn_ar_write_chunk(f, f->image.p, err));
  QN_CHECK(qn_ar_pad(f, err));
  /* the postscript: 3 x {footer_offset, magic}, uncompressed */
  uint8_t ps[32], *e = ps, psizes[3], pvalues[96];
  *e++ = 0x08;
  e = qn_varint_put(e, footer);
  *e++ = 0x10;
  e = qn_varint_put(e, QN_ARRAYRECORD_MAGIC);
  size_t plen = (size_t)(e - ps);
  for (int i = 0; i < 3; i++) {
    psizes[i] = (uint8_t)plen;
    memcpy(pvalues + i * plen, ps, plen);
  }
  uint8_t image[QN_RIEGELI_CHUNK_HEADER + 128];
  QN_CHECK(qn_ar_chunk_put(f, NULL, 0, psizes, 3, pvalues, 3 * plen, 3, image, &len, err));
  QN_CHECK(qn_ar_write_chunk(f, image, err));
  QN_CHECK(qn_ar_pad(f, err));
  status = qn_ar_flush(f, err);
done:
  qn_ar_buf_free(ctx, &sizes);
  qn_ar_buf_free(ctx, &values);
  return status;
}

static void qn_ar_file_free(struct qn_ar_file *f) {
  if (!f) return;
  for (int i = 0; f->workers && i <= f->nworkers; i++) {
    ZSTD_freeCCtx(f->workers[i].zc);
    qn_mem_release(f->ctx, f->workers[i].zc_bytes);
    qn_ar_buf_free(f->ctx, &f->workers[i].rec);
  }
  free(f->workers);
  qn_ar_buf_free(f->ctx, &f->stage);
  qn_ar_buf_free(f->ctx, &f->fsizes);
  qn_ar_buf_free(f->ctx, &f->fvalues);
  qn_ar_buf_free(f->ctx, &f->psizes);
  qn_ar_buf_free(f->ctx, &f->pvalues);
  qn_ar_buf_free(f->ctx, &f->image);
  free(f->path);
  free(f);
}

void qn_ar_file_abort(struct qn_ar_file *f) {
  if (!f) return;
  if (f->of) qn_outfile_abort(f->of);
  qn_ar_file_free(f);
}

int qn_ar_file_close(struct qn_ar_file *f, struct qn_checksum *sum, struct qn_error *err) {
  int status = qn_ar_finish(f, err);
  if (status == QN_OK) {
    status = qn_outfile_commit_sum(f->of, sum, err);
    f->of = NULL;
  }
  qn_ar_file_abort(f);
  return status;
}

int qn_ar_file_open(struct qn_context *ctx, const char *path,
                    const struct qn_record_codec *codec, int nworkers, struct qn_ar_file **out,
                    struct qn_error *err) {
  int status = QN_OK;
  struct qn_ar_file *f = calloc(1, sizeof *f);
  if (!f) return qn_error_set(err, QN_ENOMEM, "out of memory");
  f->ctx = ctx;
  f->codec = *codec;
  /* the options as the reference writer spells them (Options::ToString);
   * the bytes are those of its single-threaded writer */
  char comp[40];
  if (codec->zstd)
    snprintf(comp, sizeof comp, "zstd:%d,window_log:%d", codec->level, QN_AR_WINDOW_LOG);
  else
    snprintf(comp, sizeof comp, "uncompressed");
  snprintf(f->options, sizeof f->options,
           "group_size:%d,transpose:false,pad_to_block_boundary:false,%s,max_parallelism:1",
           codec->group_size, comp);
  f->nworkers = QN_MAX(1, nworkers);
  f->workers = calloc((size_t)f->nworkers + 1, sizeof *f->workers);
  f->path = qn_strdup(path);
  if (!f->workers || !f->path) {
    status = qn_error_set(err, QN_ENOMEM, "out of memory");
    goto done;
  }
  QN_CHECK(qn_ar_reserve(ctx, &f->stage, QN_AR_STAGE, err));
  QN_CHECK(qn_outfile_open(path, &f->of, err));
  /* the signature chunk: no data, no records */
  uint8_t sig[QN_RIEGELI_CHUNK_HEADER];
  qn_riegeli_chunk_header(sig, "", 0, 's', 0, 0);
  QN_CHECK(qn_ar_write_chunk(f, sig, err));
  *out = f;
  f = NULL;
done:
  qn_ar_file_abort(f);
  return status;
}

/* ----- the table writer ----- */

struct qn_ar_part {
  struct qn_rec_chain bytes; /* group_size 1: chunk images; else the Examples */
  uint64_t *sizes;           /* group_size > 1: each Example's bytes */
  int64_t rows;
};

struct qn_ar_writer {
  struct qn_writer base;
  struct qn_example ex;
  struct qn_ar_file *file;
  struct qn_rec_pool pool;
};

static void qn_ar_part_free(struct qn_writer *w, void *part) {
  struct qn_ar_part *p = part;
  if (!p) return;
  qn_rec_chain_free(&((struct qn_ar_writer *)w)->pool, &p->bytes);
  free(p->sizes);
  free(p);
}

static int qn_ar_check_cols(struct qn_writer *w, const struct qn_colbuf *cols,
                            struct qn_error *err) {
  for (int i = 0; i < w->ncols; i++)
    if (cols[i].type != w->cols[i].type || !cols[i].lists != !w->cols[i].list)
      return qn_error_set(err, QN_EINVAL, "%s: column %s: batch type %s%s differs from %s%s",
                          w->path, w->cols[i].name, cols[i].lists ? "list of " : "",
                          qn_type_name(cols[i].type), w->cols[i].list ? "list of " : "",
                          qn_type_name(w->cols[i].type));
  return QN_OK;
}

/* Row r as one whole chunk at q (group_size 1); returns its length. */
static int qn_ar_encode_chunk(struct qn_ar_writer *a, struct qn_ar_worker *wk,
                              const struct qn_colbuf *cols, int64_t r,
                              const struct qn_example_sizes *sz, uint8_t *q, size_t *len,
                              struct qn_error *err) {
  struct qn_ar_file *f = a->file;
  uint64_t n = sz->total;
  if (!f->codec.zstd) { /* the Example straight into place */
    uint8_t *d = qn_ar_single_begin(q, n);
    *len = (size_t)(qn_ar_single_seal(q, qn_example_write(&a->ex, cols, r, sz, d), n) - q);
    return QN_OK;
  }
  wk->rec.len = 0;
  QN_RETURN_IF_ERROR(qn_ar_reserve(f->ctx, &wk->rec, (size_t)n, err));
  qn_example_write(&a->ex, cols, r, sz, wk->rec.p);
  uint8_t size[10];
  size_t slen = (size_t)(qn_varint_put(size, n) - size);
  return qn_ar_chunk_put(f, wk, 1, size, slen, wk->rec.p, (size_t)n, 1, q, len, err);
}

static int qn_ar_encode(struct qn_writer *w, int worker, const struct qn_colbuf *cols,
                        int64_t n, int64_t row_base, void **out, struct qn_error *err) {
  struct qn_ar_writer *a = (struct qn_ar_writer *)w;
  struct qn_ar_file *f = a->file;
  int status = QN_OK;
  QN_RETURN_IF_ERROR(qn_ar_check_cols(w, cols, err));
  if (worker < 0 || worker >= f->nworkers)
    return qn_error_set(err, QN_EINTERNAL, "%s: encode from worker %d of %d", w->path, worker,
                        f->nworkers);
  int whole = f->codec.group_size == 1;
  struct qn_ar_part *p = calloc(1, sizeof *p);
  struct qn_example_sizes sz = {0, 0, calloc((size_t)a->ex.n + 1, sizeof(uint64_t))};
  if (!p || !sz.payload ||
      (!whole && !(p->sizes = malloc(((size_t)n + 1) * sizeof *p->sizes)))) {
    status = qn_error_set(err, QN_ENOMEM, "out of memory writing %s", w->path);
    goto done;
  }
  p->rows = n;
  for (int64_t r = 0; r < n; r++) {
    QN_CHECK(qn_example_measure(&a->ex, cols, r, &sz, err));
    size_t need = whole ? qn_ar_chunk_bound(10, (size_t)sz.total) : (size_t)sz.total, len;
    uint8_t *q = qn_rec_chain_room(&a->pool, &p->bytes, need, err);
    if (!q) {
      status = err && err->code ? err->code : QN_ENOMEM;
      goto done;
    }
    if (whole) {
      QN_CHECK(qn_ar_encode_chunk(a, &f->workers[worker], cols, r, &sz, q, &len, err));
    } else {
      qn_example_write(&a->ex, cols, r, &sz, q);
      p->sizes[r] = len = (size_t)sz.total;
    }
    p->bytes.pieces[p->bytes.n - 1].len += len;
  }
  *out = p;
  p = NULL;
done:
  free(sz.payload);
  qn_ar_part_free(w, p);
  return status;
}

static int qn_ar_append(struct qn_writer *w, void *part, struct qn_error *err) {
  struct qn_ar_writer *a = (struct qn_ar_writer *)w;
  struct qn_ar_part *p = part;
  int status = QN_OK;
  if (!p) return QN_OK;
  int64_t r = 0; /* rows never span pieces */
  for (int i = 0; i < p->bytes.n; i++) {
    const uint8_t *q = p->bytes.pieces[i].p, *end = q + p->bytes.pieces[i].len;
    while (q < end) {
      if (a->file->codec.group_size == 1) {
        QN_CHECK(qn_ar_file_chunk(a->file, q, err));
        q += QN_RIEGELI_CHUNK_HEADER + qn_le64_get(q + 8);
      } else {
        QN_CHECK(qn_ar_file_add(a->file, q, &p->sizes[r], 1, err));
        q += p->sizes[r];
      }
      r++;
    }
  }
  if (r != p->rows)
    status = qn_error_set(err, QN_EINTERNAL, "%s: a part of %lld rows held %lld", w->path,
                          (long long)p->rows, (long long)r);
  else
    w->rows += p->rows;
done:
  qn_ar_part_free(w, p);
  return status;
}

static void qn_ar_free(struct qn_ar_writer *a) {
  qn_rec_pool_reset(&a->pool);
  qn_example_reset(&a->ex);
  qn_writer_base_reset(&a->base);
  free(a);
}

static int qn_ar_close(struct qn_writer *w, struct qn_checksum *sum, struct qn_error *err) {
  struct qn_ar_writer *a = (struct qn_ar_writer *)w;
  int status = qn_ar_file_close(a->file, sum, err);
  qn_ar_free(a);
  return status;
}

static void qn_ar_abort(struct qn_writer *w) {
  struct qn_ar_writer *a = (struct qn_ar_writer *)w;
  qn_ar_file_abort(a->file);
  qn_ar_free(a);
}

static const struct qn_writer_ops qn_ar_ops = {qn_ar_encode, qn_ar_append, qn_ar_part_free,
                                               qn_ar_close, qn_ar_abort};

static int qn_ar_check(const struct qn_writer_options *opt, struct qn_error *err) {
  struct qn_record_codec c;
  return qn_record_codec_parse("arrayrecord", opt ? opt->codec : NULL, 1, &c, err);
}

static int qn_ar_open(struct qn_context *ctx, const char *path, const struct qn_wcolumn *cols,
                      int ncols, const struct qn_writer_options *opt, struct qn_writer **out,
                      struct qn_error *err) {
  int status = QN_OK;
  struct qn_record_codec codec;
  QN_RETURN_IF_ERROR(
      qn_record_codec_parse("arrayrecord", opt ? opt->codec : NULL, 1, &codec, err));
  struct qn_ar_writer *a = calloc(1, sizeof *a);
  if (!a) return qn_error_set(err, QN_ENOMEM, "out of memory");
  a->base.ops = &qn_ar_ops;
  qn_rec_pool_init(&a->pool, ctx);
  QN_CHECK(qn_writer_base_init(&a->base, ctx, "arrayrecord", path, cols, ncols, err));
  QN_CHECK(qn_example_init(&a->ex, a->base.cols, ncols, path, err));
  QN_CHECK(qn_ar_file_open(ctx, path, &codec, qn_context_threads(ctx), &a->file, err));
  *out = &a->base;
  a = NULL;
done:
  if (a) qn_ar_abort(&a->base);
  return status;
}

static const char *const qn_ar_ext[] = {".array_record", ".arrayrecord", NULL};
const struct qn_writer_format qn_writer_arrayrecord = {"arrayrecord", qn_ar_ext, qn_ar_open,
                                                       qn_ar_check};
