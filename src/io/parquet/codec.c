/* codec.c — page compression and decompression through the system
 * libraries (Compression.md): SNAPPY (libsnappy), GZIP (zlib, RFC 1952,
 * several members accepted), ZSTD (libzstd, several frames accepted),
 * LZ4_RAW (liblz4 block format), the deprecated Hadoop-framed LZ4 (with a
 * raw-block fallback, as other readers do), BROTLI (libbrotli).
 *
 * Decompression always targets a buffer of exactly the page's declared
 * uncompressed size; producing fewer or more bytes is QN_EFORMAT, so a lying
 * header can never make us write past the buffer. A codec state holds the
 * reusable contexts of one thread (zstd, zlib).
 */
#include "qn_pq.h"

#include <brotli/decode.h>
#include <brotli/encode.h>
#include <lz4.h>
#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

struct qn_pq_codec_state {
  ZSTD_DCtx *zstd;
};

struct qn_pq_codec_state *qn_pq_codec_state_new(void) {
  return calloc(1, sizeof(struct qn_pq_codec_state));
}

void qn_pq_codec_state_free(struct qn_pq_codec_state *s) {
  if (!s) return;
  ZSTD_freeDCtx(s->zstd);
  free(s);
}

int qn_pq_codec_supported(int codec) {
  return codec == QN_PQ_UNCOMPRESSED || codec == QN_PQ_SNAPPY || codec == QN_PQ_GZIP ||
         codec == QN_PQ_BROTLI || codec == QN_PQ_LZ4 || codec == QN_PQ_ZSTD ||
         codec == QN_PQ_LZ4_RAW;
}

/* zlib inflate of possibly several gzip members into exactly dn bytes. */
static int qn_pq_gunzip(const uint8_t *src, size_t n, uint8_t *dst, size_t dn) {
  z_stream z;
  memset(&z, 0, sizeof z);
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) return -1;
  z.next_in = (Bytef *)src;
  z.next_out = dst;
  int rc = 0;
  size_t in_left = n, out_left = dn;
  for (;;) {
    /* zlib counts in uInt; feed at most 1 GiB per call */
    uInt ci = (uInt)QN_MIN(in_left, (size_t)1 << 30),
         co = (uInt)QN_MIN(out_left, (size_t)1 << 30);
    z.avail_in = ci;
    z.avail_out = co;
    int r = inflate(&z, Z_NO_FLUSH);
    in_left -= ci - z.avail_in;
    out_left -= co - z.avail_out;
    if (r == Z_STREAM_END) {
      if (in_left == 0 || out_left == 0) break;
      if (inflateReset(&z) != Z_OK) {
        rc = -1;
        break;
      }
      continue; /* another gzip member */
    }
    if (r != Z_OK || (ci == z.avail_in && co == z.avail_out)) {
      rc = -1;
      break;
    }
  }
  inflateEnd(&z);
  return (rc == 0 && out_left == 0) ? 0 : -1;
}

/* Hadoop's LZ4 framing: blocks of [be32 raw size][be32 compressed size][lz4]. */
static int qn_pq_lz4_hadoop(const uint8_t *src, size_t n, uint8_t *dst, size_t dn) {
  size_t in = 0, out = 0;
  while (in < n) {
    if (n - in < 8) return -1;
    uint32_t raw = (uint32_t)src[in] << 24 | (uint32_t)src[in + 1] << 16 |
                   (uint32_t)src[in + 2] << 8 | src[in + 3];
    uint32_t comp = (uint32_t)src[in + 4] << 24 | (uint32_t)src[in + 5] << 16 |
                    (uint32_t)src[in + 6] << 8 | src[in + 7];
    in += 8;
    if (comp > n - in || raw > dn - out || comp > INT32_MAX || raw > INT32_MAX) return -1;
    int got =
        LZ4_decompress_safe((const char *)src + in, (char *)dst + out, (int)comp, (int)raw);
    if (got != (int)raw) return -1;
    in += comp;
    out += raw;
  }
  return out == dn ? 0 : -1;
}

int qn_pq_decompress(struct qn_pq_codec_state *s, int codec, const uint8_t *src, size_t n,
                     uint8_t *dst, size_t dn, const char *path, const char *col, int64_t off,
                     struct qn_error *err) {
  int ok = 0;
  switch (codec) {
    case QN_PQ_UNCOMPRESSED:
      ok = n == dn;
      if (ok) memcpy(dst, src, n);
      break;
    case QN_PQ_SNAPPY: {
      size_t len = 0;
      ok = snappy_uncompressed_length((const char *)src, n, &len) == SNAPPY_OK && len == dn &&
           snappy_uncompress((const char *)src, n, (char *)dst, &len) == SNAPPY_OK && len == dn;
      break;
    }
    case QN_PQ_GZIP:
      ok = qn_pq_gunzip(src, n, dst, dn) == 0;
      break;
    case QN_PQ_ZSTD: {
      if (!s->zstd && !(s->zstd = ZSTD_createDCtx()))
        return qn_error_set(err, QN_ENOMEM, "%s: out of memory for a zstd context", path);
      size_t r = ZSTD_decompressDCtx(s->zstd, dst, dn, src, n);
      ok = !ZSTD_isError(r) && r == dn;
      break;
    }
    case QN_PQ_LZ4_RAW:
      ok = n <= INT32_MAX && dn <= INT32_MAX &&
           LZ4_decompress_safe((const char *)src, (char *)dst, (int)n, (int)dn) == (int)dn;
      break;
    case QN_PQ_LZ4:
      ok = qn_pq_lz4_hadoop(src, n, dst, dn) == 0 ||
           (n <= INT32_MAX && dn <= INT32_MAX &&
            LZ4_decompress_safe((const char *)src, (char *)dst, (int)n, (int)dn) == (int)dn);
      break;
    case QN_PQ_BROTLI: {
      size_t len = dn;
      ok = BrotliDecoderDecompress(n, src, &len, dst) == BROTLI_DECODER_RESULT_SUCCESS &&
           len == dn;
      break;
    }
    default:
      return qn_error_set(err, QN_EUNSUPPORTED,
                          "%s: column %s: codec %s (page at byte %lld) is not supported", path,
                          col, qn_pq_codec_name(codec), (long long)off);
  }
  if (!ok)
    return qn_error_set(err, QN_EFORMAT,
                        "%s: column %s: corrupt %s page at byte %lld (does not decompress to "
                        "its declared %zu bytes)",
                        path, col, qn_pq_codec_name(codec), (long long)off, dn);
  return QN_OK;
}

size_t qn_pq_compress_bound(int codec, size_t n) {
  switch (codec) {
    case QN_PQ_SNAPPY:
      return snappy_max_compressed_length(n);
    case QN_PQ_GZIP:
      return (size_t)compressBound((uLong)n) + 32;
    case QN_PQ_ZSTD:
      return ZSTD_compressBound(n);
    case QN_PQ_LZ4_RAW:
      return (size_t)LZ4_compressBound((int)QN_MIN(n, (size_t)LZ4_MAX_INPUT_SIZE));
    case QN_PQ_BROTLI:
      return BrotliEncoderMaxCompressedSize(n) ? BrotliEncoderMaxCompressedSize(n) : n + 1024;
    default:
      return n;
  }
}

static int qn_pq_gzip(int level, const uint8_t *src, size_t n, uint8_t *dst, size_t *dn) {
  z_stream z;
  memset(&z, 0, sizeof z);
  if (deflateInit2(&z, level > 0 ? level : 6, Z_DEFLATED, 16 + MAX_WBITS, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK)
    return -1;
  z.next_in = (Bytef *)src;
  z.avail_in = (uInt)n;
  z.next_out = dst;
  z.avail_out = (uInt)*dn;
  int r = deflate(&z, Z_FINISH);
  *dn = z.total_out;
  deflateEnd(&z);
  return r == Z_STREAM_END ? 0 : -1;
}

int qn_pq_compress(int codec, int level, const uint8_t *src, size_t n, uint8_t *dst, size_t *dn,
                   struct qn_error *err) {
  int ok = 0;
  size_t cap = *dn;
  switch (codec) {
    case QN_PQ_UNCOMPRESSED:
      ok = cap >= n;
      if (ok) {
        memcpy(dst, src, n);
        *dn = n;
      }
      break;
    case QN_PQ_SNAPPY:
      ok = snappy_compress((const char *)src, n, (char *)dst, dn) == SNAPPY_OK;
      break;
    case QN_PQ_GZIP:
      ok = n <= UINT32_MAX / 2 && qn_pq_gzip(level, src, n, dst, dn) == 0;
      break;
    case QN_PQ_ZSTD: {
      size_t r = ZSTD_compress(dst, cap, src, n, level > 0 ? level : 3);
      ok = !ZSTD_isError(r);
      *dn = r;
      break;
    }
    case QN_PQ_LZ4_RAW: {
      int r = n <= (size_t)LZ4_MAX_INPUT_SIZE
                  ? LZ4_compress_default((const char *)src, (char *)dst, (int)n,
                                         (int)QN_MIN(cap, (size_t)INT32_MAX))
                  : 0;
      ok = r > 0;
      *dn = (size_t)r;
      break;
    }
    case QN_PQ_BROTLI:
      ok = BrotliEncoderCompress(level > 0 ? level : 5, BROTLI_DEFAULT_WINDOW,
                                 BROTLI_MODE_GENERIC, n, src, dn, dst) == BROTLI_TRUE;
      break;
    default:
      return qn_error_set(err, QN_EUNSUPPORTED, "cannot write codec %s",
                          qn_pq_codec_name(codec));
  }
  if (!ok)
    return qn_error_set(err, QN_EINTERNAL, "%s compression of a %zu-byte page failed",
                        qn_pq_codec_name(codec), n);
  return QN_OK;
}
