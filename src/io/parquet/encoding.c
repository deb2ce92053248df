/* encoding.c — the integer codings under Parquet's encodings (Encodings.md):
 * LSB-first bit unpacking, the RLE / bit-packed hybrid (levels, dictionary
 * indices, booleans) and DELTA_BINARY_PACKED.
 *
 * All decoders are streaming (a call continues where the previous ended)
 * and bounded: before a value is read its bits are checked to lie inside
 * [p, end). Run headers are validated (bit widths <= 32 for the hybrid,
 * <= 64 for delta miniblocks; block and miniblock sizes as the spec states
 * them), so the work per call is O(values requested + bytes consumed).
 * Corrupt data returns -1; the caller names the file, column and page.
 */
#include "qn_pq.h"

#include <string.h>

static inline uint64_t qn_pq_load64(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, 8); /* the format is little endian, as is every host we build on */
  return v;
}

/* Bits [bitpos, bitpos + width) of p, width <= 64; p + 8 may pass end only
 * through the slow path. */
static inline uint64_t qn_pq_bits(const uint8_t *p, const uint8_t *end, uint64_t bitpos,
                                  int width) {
  const uint8_t *b = p + (bitpos >> 3);
  unsigned shift = (unsigned)(bitpos & 7);
  uint64_t v;
  if (end - b >= 9) {
    v = qn_pq_load64(b) >> shift;
    if (shift + (unsigned)width > 64) v |= (uint64_t)b[8] << (64 - shift);
  } else {
    uint8_t tmp[16] = {0};
    memcpy(tmp, b, (size_t)(end - b));
    v = qn_pq_load64(tmp) >> shift;
    if (shift + (unsigned)width > 64) v |= (uint64_t)tmp[8] << (64 - shift);
  }
  return width == 64 ? v : v & ((UINT64_C(1) << width) - 1);
}

static int qn_pq_bits_fit(const uint8_t *p, const uint8_t *end, uint64_t bitpos, int width,
                          int64_t n) {
  uint64_t need = bitpos + (uint64_t)width * (uint64_t)n;
  return need <= (uint64_t)(end - p) * 8;
}

int qn_pq_unpack32(const uint8_t *p, const uint8_t *end, uint64_t bitpos, int width,
                   uint32_t *out, int64_t n) {
  if (width == 0) {
    memset(out, 0, (size_t)n * sizeof *out);
    return 0;
  }
  if (!qn_pq_bits_fit(p, end, bitpos, width, n)) return -1;
  uint64_t mask = (UINT64_C(1) << width) - 1;
  int64_t i = 0;
  /* fast loop while 8 bytes can be loaded without passing end */
  for (; i < n; i++) {
    const uint8_t *b = p + (bitpos >> 3);
    if (end - b < 8) break;
    out[i] = (uint32_t)((qn_pq_load64(b) >> (bitpos & 7)) & mask);
    bitpos += (uint64_t)width;
  }
  for (; i < n; i++, bitpos += (uint64_t)width)
    out[i] = (uint32_t)qn_pq_bits(p, end, bitpos, width);
  return 0;
}

int qn_pq_unpack64(const uint8_t *p, const uint8_t *end, uint64_t bitpos, int width,
                   uint64_t *out, int64_t n) {
  if (width == 0) {
    memset(out, 0, (size_t)n * sizeof *out);
    return 0;
  }
  if (!qn_pq_bits_fit(p, end, bitpos, width, n)) return -1;
  for (int64_t i = 0; i < n; i++, bitpos += (uint64_t)width)
    out[i] = qn_pq_bits(p, end, bitpos, width);
  return 0;
}

/* ----- RLE / bit-packed hybrid ----- */

void qn_pq_rle_init(struct qn_pq_rle *d, const uint8_t *p, const uint8_t *end, int width) {
  memset(d, 0, sizeof *d);
  d->p = p;
  d->end = end;
  d->width = width;
}

static int qn_pq_uleb(const uint8_t **pp, const uint8_t *end, uint64_t *v) {
  const uint8_t *p = *pp;
  uint64_t r = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (p >= end) return -1;
    uint8_t b = *p++;
    r |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *v = r;
      *pp = p;
      return 0;
    }
  }
  return -1;
}

/* Reads the next run header. Runs of length 0 are legal but useless; the
 * loop consumes at least one header byte per turn, so it ends. */
static int qn_pq_rle_next(struct qn_pq_rle *d) {
  while (d->run_left == 0) {
    uint64_t h;
    if (qn_pq_uleb(&d->p, d->end, &h)) return -1;
    if (h & 1) {
      uint64_t groups = h >> 1;
      if (groups > (UINT64_C(1) << 28)) return -1;
      uint64_t bytes = groups * (uint64_t)d->width;
      uint64_t avail = (uint64_t)(d->end - d->p);
      /* A last run may be cut short by a writer; use what is there. */
      if (bytes > avail) bytes = avail;
      d->packed = 1;
      d->bits = d->p;
      d->bitpos = 0;
      d->bitlen = bytes * 8;
      uint64_t count = groups * 8;
      if (d->width > 0 && count > d->bitlen / (uint64_t)d->width)
        count = d->bitlen / (uint64_t)d->width;
      d->run_left = (uint32_t)count;
      d->p += bytes;
      if (groups > 0 && count == 0) return -1;
    } else {
      uint64_t count = h >> 1;
      if (count > UINT32_MAX) return -1;
      int nb = (d->width + 7) / 8;
      if (d->end - d->p < nb) return -1;
      uint32_t v = 0;
      for (int i = 0; i < nb; i++) v |= (uint32_t)d->p[i] << (8 * i);
      d->p += nb;
      d->packed = 0;
      d->value = d->width >= 32 ? v : v & ((UINT32_C(1) << d->width) - 1);
      d->run_left = (uint32_t)count;
    }
  }
  return 0;
}

int qn_pq_rle_get32(struct qn_pq_rle *d, uint32_t *out, int64_t n) {
  while (n > 0) {
    if (d->run_left == 0 && qn_pq_rle_next(d)) return -1;
    int64_t k = QN_MIN(n, (int64_t)d->run_left);
    if (d->packed) {
      if (qn_pq_unpack32(d->bits, d->bits + d->bitlen / 8, d->bitpos, d->width, out, k))
        return -1;
      d->bitpos += (uint64_t)k * (uint64_t)d->width;
    } else {
      for (int64_t i = 0; i < k; i++) out[i] = d->value;
    }
    d->run_left -= (uint32_t)k;
    out += k;
    n -= k;
  }
  return 0;
}

int qn_pq_rle_get8(struct qn_pq_rle *d, uint8_t *out, int64_t n) {
  uint32_t tmp[512];
  while (n > 0) {
    if (d->run_left == 0 && qn_pq_rle_next(d)) return -1;
    int64_t k = QN_MIN(n, (int64_t)d->run_left);
    if (!d->packed) {
      memset(out, (int)(uint8_t)d->value, (size_t)k);
      if (d->value > 255) return -1;
    } else {
      k = QN_MIN(k, 512);
      if (qn_pq_unpack32(d->bits, d->bits + d->bitlen / 8, d->bitpos, d->width, tmp, k))
        return -1;
      d->bitpos += (uint64_t)k * (uint64_t)d->width;
      for (int64_t i = 0; i < k; i++) out[i] = (uint8_t)tmp[i];
    }
    d->run_left -= (uint32_t)k;
    out += k;
    n -= k;
  }
  return 0;
}

int qn_pq_rle_skip(struct qn_pq_rle *d, int64_t n) {
  while (n > 0) {
    if (d->run_left == 0 && qn_pq_rle_next(d)) return -1;
    int64_t k = QN_MIN(n, (int64_t)d->run_left);
    if (d->packed) d->bitpos += (uint64_t)k * (uint64_t)d->width;
    d->run_left -= (uint32_t)k;
    n -= k;
  }
  return 0;
}

int qn_pq_rle_refill(struct qn_pq_rle *d) {
  return d->run_left == 0 ? qn_pq_rle_next(d) : 0;
}

int qn_pq_rle_count(struct qn_pq_rle *d, int64_t n, uint32_t value, int64_t *count) {
  uint32_t tmp[512];
  int64_t c = 0;
  while (n > 0) {
    if (d->run_left == 0 && qn_pq_rle_next(d)) return -1;
    int64_t k = QN_MIN(n, (int64_t)d->run_left);
    if (!d->packed) {
      c += d->value == value ? k : 0;
    } else {
      k = QN_MIN(k, 512);
      if (qn_pq_unpack32(d->bits, d->bits + d->bitlen / 8, d->bitpos, d->width, tmp, k))
        return -1;
      d->bitpos += (uint64_t)k * (uint64_t)d->width;
      for (int64_t i = 0; i < k; i++) c += tmp[i] == value;
    }
    d->run_left -= (uint32_t)k;
    n -= k;
  }
  *count = c;
  return 0;
}

/* Encoder: RLE runs for stretches of >= 8 equal values, bit-packed groups
 * of 8 elsewhere (the tail group padded with zeros). */
static int64_t qn_pq_run_len(const uint8_t *v, int64_t i, int64_t n) {
  int64_t j = i + 1;
  while (j < n && v[j] == v[i]) j++;
  return j - i;
}

void qn_pq_rle_encode(struct qn_pq_tout *o, const uint8_t *v, int64_t n, int width) {
  int64_t i = 0;
  int nb = (width + 7) / 8;
  while (i < n) {
    int64_t r = qn_pq_run_len(v, i, n);
    if (r >= 8 || r == n - i) {
      qn_pq_w_varint(o, (uint64_t)r << 1);
      uint8_t val[4] = {v[i], 0, 0, 0};
      qn_pq_w_raw(o, val, (size_t)nb);
      i += r;
      continue;
    }
    int64_t j = i;
    while (j < n && qn_pq_run_len(v, j, n) < 8) j += qn_pq_run_len(v, j, n);
    int64_t groups = (j - i + 7) / 8;
    qn_pq_w_varint(o, ((uint64_t)groups << 1) | 1);
    for (int64_t g = 0; g < groups; g++) {
      uint64_t acc = 0;
      for (int k = 0; k < 8; k++) {
        int64_t idx = i + g * 8 + k;
        uint64_t x = idx < n ? v[idx] : 0;
        acc |= x << (k * width);
      }
      uint8_t bytes[8];
      for (int k = 0; k < width; k++) bytes[k] = (uint8_t)(acc >> (8 * k));
      qn_pq_w_raw(o, bytes, (size_t)width);
    }
    i += groups * 8;
  }
}

/* ----- DELTA_BINARY_PACKED ----- */

static int64_t qn_pq_unzz(uint64_t v) {
  return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

int qn_pq_delta_init(struct qn_pq_delta *d, const uint8_t *p, const uint8_t *end) {
  uint64_t first;
  memset(d, 0, sizeof *d);
  d->end = end;
  if (qn_pq_uleb(&p, end, &d->block_size) || qn_pq_uleb(&p, end, &d->nmini) ||
      qn_pq_uleb(&p, end, &d->total) || qn_pq_uleb(&p, end, &first))
    return -1;
  if (d->block_size == 0 || d->block_size % 128 || d->block_size > (1u << 20) ||
      d->nmini == 0 || d->nmini > 256 || d->block_size % d->nmini)
    return -1;
  d->per_mini = d->block_size / d->nmini;
  if (d->per_mini % 32) return -1;
  d->p = p;
  d->last = qn_pq_unzz(first);
  d->left = d->total;
  d->first_pending = d->total > 0;
  d->mini_idx = d->nmini; /* no block read yet */
  d->in_mini = d->per_mini;
  return 0;
}

/* Moves to the next miniblock, reading a block header when needed. */
static int qn_pq_delta_next_mini(struct qn_pq_delta *d) {
  if (++d->mini_idx >= d->nmini) {
    uint64_t md;
    if (qn_pq_uleb(&d->p, d->end, &md)) return -1;
    d->min_delta = qn_pq_unzz(md);
    if ((uint64_t)(d->end - d->p) < d->nmini) return -1;
    memcpy(d->widths, d->p, d->nmini);
    d->p += d->nmini;
    d->mini_idx = 0;
  }
  int w = d->widths[d->mini_idx];
  if (w > 64) return -1;
  uint64_t bytes = d->per_mini * (uint64_t)w / 8;
  uint64_t avail = (uint64_t)(d->end - d->p);
  d->mini = d->p;
  /* A final miniblock cut short is tolerated: the unpack checks bounds. */
  d->mini_bytes = bytes < avail ? bytes : avail;
  d->p += d->mini_bytes;
  d->in_mini = 0;
  return 0;
}

int qn_pq_delta_get(struct qn_pq_delta *d, int64_t *out, int64_t n) {
  if ((uint64_t)n > d->left) return -1;
  if (n > 0 && d->first_pending) {
    *out++ = d->last;
    d->first_pending = 0;
    d->left--;
    n--;
  }
  while (n > 0) {
    if (d->in_mini >= d->per_mini && qn_pq_delta_next_mini(d)) return -1;
    int w = d->widths[d->mini_idx];
    int64_t k = QN_MIN(n, (int64_t)(d->per_mini - d->in_mini));
    if (qn_pq_unpack64(d->mini, d->mini + d->mini_bytes, d->in_mini * (uint64_t)w, w,
                       (uint64_t *)out, k))
      return -1;
    uint64_t last = (uint64_t)d->last, md = (uint64_t)d->min_delta;
    for (int64_t i = 0; i < k; i++) {
      last += md + (uint64_t)out[i]; /* wraps as two's complement, per the spec */
      out[i] = (int64_t)last;
    }
    d->last = (int64_t)last;
    d->in_mini += (uint64_t)k;
    d->left -= (uint64_t)k;
    out += k;
    n -= k;
  }
  return 0;
}

int qn_pq_delta_all(struct qn_pq_delta *d, int64_t *out, int64_t n, const uint8_t **after) {
  if ((uint64_t)n != d->total) return -1;
  if (qn_pq_delta_get(d, out, n)) return -1;
  /* the stream ends after the last miniblock that held values */
  *after = d->p;
  return 0;
}
