/* stats.c — per-column statistics of one morsel, and their merge.
 *
 * Float columns, two passes over the morsel (it sits in L2):
 *   1. count, NaN count, min, max (NaN never wins a comparison, so it is
 *      ignored), and the sum in 8 independent lanes, each carrying the
 *      exact rounding error of its additions (Knuth's TwoSum: branch-free,
 *      vectorisable), so the morsel sum is correct to about one ulp;
 *   2. with m = sum / count: c = Σ(x - m) and q = Σ(x - m)²; then
 *      M2 = q - c²/n (the corrected two-pass algorithm).
 * ±inf: the sum becomes ±inf (or NaN for both signs) and M2 NaN, as numpy.
 * Integer columns: Σx and Σx² as exact integers (see below), from one pass
 * for narrow types and, for 64-bit types, a min/max pass and a pass over
 * the exact deviations from the morsel minimum; the variance is rounded
 * once, from the exact numerator, when the statistics are finished.
 *
 * Nullable columns take a scalar path that skips rows whose valid byte is 0.
 */
#include "qn_stats.h"

#include <math.h>
#include <string.h>

#define QN_LANES 8

void qn_stats_acc_init(struct qn_stats_acc *a) {
  memset(a, 0, sizeof *a);
  a->min = INFINITY;
  a->max = -INFINITY;
}

/* ----- floats ----- */

/* GCC/clang vector extensions: 4 doubles, compiled to AVX2 in the avx2
 * clone and to pairs of SSE2 operations otherwise. Two independent vector
 * accumulators (8 lanes) hide the latency of the TwoSum chain. */
typedef double qn_v4d __attribute__((vector_size(32)));
typedef float qn_v4f __attribute__((vector_size(16)));
typedef int64_t qn_v4l __attribute__((vector_size(32)));

/* Loads and selects are macros, not functions: a function taking or
 * returning a 32-byte vector would change the ABI between the avx2 and
 * default clones (clang rejects it). */
#define QN_LOAD4_F64(dst, p) memcpy(&(dst), (p), sizeof(dst))
#define QN_LOAD4_F32(dst, p)                        \
  do {                                              \
    qn_v4f qn_t_;                                   \
    memcpy(&qn_t_, (p), sizeof qn_t_);              \
    (dst) = __builtin_convertvector(qn_t_, qn_v4d); \
  } while (0)
/* Lane-wise select: m ? a : b (the vector ternary is C++-only). */
#define QN_SEL(m, a, b) ((qn_v4d)(((qn_v4l)(a) & (m)) | ((qn_v4l)(b) & ~(m))))

/* One step of pass 1 on 4 values: NaN count, min, max, TwoSum. */
#define QN_PASS1_STEP(x, s, e, mn, mx, nn)                                       \
  do {                                                                           \
    qn_v4l ok = (x) == (x);                                                      \
    qn_v4d y = (qn_v4d)((qn_v4l)(x)&ok);                                         \
    qn_v4d t = s + y, bp = t - s;                                                \
    e += (s - (t - bp)) + (y - bp);                                              \
    s = t;                                                                       \
    nn -= ~ok; /* ok is -1 where x is a number, 0 where NaN: ~ok is -1 on NaN */ \
    mn = QN_SEL((x) < mn, (x), mn);                                              \
    mx = QN_SEL((x) > mx, (x), mx);                                              \
  } while (0)

#define QN_STATS_FLOAT(NAME, T, LOAD4)                                           \
  __attribute__((target_clones("avx2", "default"))) static void NAME(            \
      const T *restrict v, int64_t n, struct qn_stats_acc *out) {                \
    const qn_v4d inf = {INFINITY, INFINITY, INFINITY, INFINITY};                 \
    qn_v4d s0 = {0}, s1 = {0}, e0 = {0}, e1 = {0};                               \
    qn_v4d mn0 = inf, mn1 = inf, mx0 = -inf, mx1 = -inf;                         \
    qn_v4l nn0 = {0}, nn1 = {0};                                                 \
    int64_t i = 0;                                                               \
    for (; i + 8 <= n; i += 8) {                                                 \
      qn_v4d a, b;                                                               \
      LOAD4(a, v + i);                                                           \
      LOAD4(b, v + i + 4);                                                       \
      QN_PASS1_STEP(a, s0, e0, mn0, mx0, nn0);                                   \
      QN_PASS1_STEP(b, s1, e1, mn1, mx1, nn1);                                   \
    }                                                                            \
    double sum = 0, err = 0, lo = INFINITY, hi = -INFINITY;                      \
    int64_t nan = 0;                                                             \
    for (int l = 0; l < 8; l++) {                                                \
      double sl = l < 4 ? s0[l] : s1[l - 4], el = l < 4 ? e0[l] : e1[l - 4];     \
      double t = sum + sl, bp = t - sum;                                         \
      err += (sum - (t - bp)) + (sl - bp) + el;                                  \
      sum = t;                                                                   \
      nan += l < 4 ? nn0[l] : nn1[l - 4];                                        \
      double a = l < 4 ? mn0[l] : mn1[l - 4], b = l < 4 ? mx0[l] : mx1[l - 4];   \
      lo = a < lo ? a : lo;                                                      \
      hi = b > hi ? b : hi;                                                      \
    }                                                                            \
    for (; i < n; i++) {                                                         \
      double x = (double)v[i];                                                   \
      if (x != x) {                                                              \
        nan++;                                                                   \
        continue;                                                                \
      }                                                                          \
      double t = sum + x, bp = t - sum;                                          \
      err += (sum - (t - bp)) + (x - bp);                                        \
      sum = t;                                                                   \
      lo = x < lo ? x : lo;                                                      \
      hi = x > hi ? x : hi;                                                      \
    }                                                                            \
    if (isfinite(sum)) sum += err;                                               \
    int64_t cnt = n - nan;                                                       \
    out->count = cnt;                                                            \
    out->nan = nan;                                                              \
    out->min = lo;                                                               \
    out->max = hi;                                                               \
    if (cnt == 0) return;                                                        \
    out->sum = sum;                                                              \
    double m = sum / (double)cnt;                                                \
    if (!isfinite(m)) { /* inf in the data: numpy gives inf/nan sums, nan var */ \
      out->mean = m;                                                             \
      out->m2 = NAN;                                                             \
      return;                                                                    \
    }                                                                            \
    const qn_v4d mv = {m, m, m, m}, zero = {0, 0, 0, 0};                         \
    qn_v4d c0 = zero, c1 = zero, q0 = zero, q1 = zero;                           \
    for (i = 0; i + 8 <= n; i += 8) {                                            \
      qn_v4d a, b;                                                               \
      LOAD4(a, v + i);                                                           \
      LOAD4(b, v + i + 4);                                                       \
      qn_v4d da = (qn_v4d)((qn_v4l)(a - mv) & (a == a));                         \
      qn_v4d db = (qn_v4d)((qn_v4l)(b - mv) & (b == b));                         \
      c0 += da;                                                                  \
      c1 += db;                                                                  \
      q0 += da * da;                                                             \
      q1 += db * db;                                                             \
    }                                                                            \
    double cs = 0, qs = 0;                                                       \
    for (int l = 0; l < 4; l++) cs += c0[l] + c1[l], qs += q0[l] + q1[l];        \
    for (; i < n; i++) {                                                         \
      double x = (double)v[i];                                                   \
      double d = x == x ? x - m : 0.0;                                           \
      cs += d;                                                                   \
      qs += d * d;                                                               \
    }                                                                            \
    out->mean = (long double)m + (long double)cs / (long double)cnt;             \
    double m2 = qs - cs * cs / (double)cnt;                                      \
    out->m2 = m2 > 0 ? m2 : 0;                                                   \
  }

QN_STATS_FLOAT(qn_stats_f64, double, QN_LOAD4_F64)
QN_STATS_FLOAT(qn_stats_f32, float, QN_LOAD4_F32)

/* ----- integers ----- */

/* Exact moments: an integer column carries Σx (128 bits) and Σx² (192 bits,
 * enough for any count below 2^63 of values below 2^64 in magnitude) as
 * integers, so morsels merge by addition and the variance comes from the
 * exact numerator n·Σx² - (Σx)² (at most 2^254, below 2^256) with one
 * rounding at the end. Σx² is kept modulo 2^192: its terms may be negative
 * (n·r² + 2r·Σd + Σd² with r < 0), but the true value lies in [0, 2^192),
 * so the wrapped sum is exact; likewise the numerator modulo 2^256. */

#define QN_INT_BLOCK 65536 /* rows per exact block: bounds the narrow sums below */

static void qn_u192_add(uint64_t a[3], const uint64_t b[3]) {
  unsigned __int128 t = (unsigned __int128)a[0] + b[0];
  a[0] = (uint64_t)t;
  t = (t >> 64) + a[1] + b[1];
  a[1] = (uint64_t)t;
  a[2] += b[2] + (uint64_t)(t >> 64);
}

/* a += b · 2^(64·limb), modulo 2^192 (limb 0 or 1). */
static void qn_u192_add128(uint64_t a[3], unsigned __int128 b, int limb) {
  uint64_t w[3] = {0, 0, 0};
  w[limb] = (uint64_t)b;
  w[limb + 1] = (uint64_t)(b >> 64);
  qn_u192_add(a, w);
}

/* a · b modulo 2^192. */
static void qn_u192_mul(unsigned __int128 a, uint64_t b, uint64_t out[3]) {
  unsigned __int128 lo = (unsigned __int128)(uint64_t)a * b;
  unsigned __int128 hi = (unsigned __int128)(uint64_t)(a >> 64) * b + (lo >> 64);
  out[0] = (uint64_t)lo;
  out[1] = (uint64_t)hi;
  out[2] = (uint64_t)(hi >> 64);
}

static void qn_u192_neg(uint64_t a[3]) {
  const uint64_t one[3] = {1, 0, 0};
  a[0] = ~a[0], a[1] = ~a[1], a[2] = ~a[2];
  qn_u192_add(a, one);
}

/* Adds n values x = r + d (d >= 0), given n, Σd and Σd², to out's Σx and
 * Σx² = n·r² + 2r·Σd + Σd². |r| < 2^64 and Σd < 2^127. */
static void qn_int_add_shifted(struct qn_stats_acc *out, int64_t n, __int128 r,
                               unsigned __int128 sd, const uint64_t sq[3]) {
  int neg = r < 0;
  uint64_t ra = neg ? (uint64_t)0 - (uint64_t)r : (uint64_t)r; /* |r|, even for -2^63 */
  uint64_t t[3];
  out->isum += r * (__int128)n + (__int128)sd; /* each term below 2^127 in magnitude */
  qn_u192_mul((unsigned __int128)ra * ra, (uint64_t)n, t);
  qn_u192_add(out->isq, t);
  qn_u192_mul(sd, ra, t);
  qn_u192_add(t, t); /* 2·|r|·Σd */
  if (neg) qn_u192_neg(t);
  qn_u192_add(out->isq, t);
  qn_u192_add(out->isq, sq);
}

/* Narrow integers (at most 32 bits): x² < 2^64 (as uint64 also for
 * negative x: the square modulo 2^64 is the square), summed as two 32-bit
 * halves so that the 64-bit lanes of a block of 2^16 rows cannot overflow. */
#define QN_STATS_INT(NAME, T)                                          \
  __attribute__((target_clones("avx2", "default"))) static void NAME(  \
      const T *restrict v, int64_t n, struct qn_stats_acc *out) {      \
    T lo = v[0], hi = v[0];                                            \
    for (int64_t b = 0; b < n; b += QN_INT_BLOCK) {                    \
      int64_t e = QN_MIN(n, b + QN_INT_BLOCK), s = 0;                  \
      uint64_t q0 = 0, q1 = 0;                                         \
      for (int64_t i = b; i < e; i++) {                                \
        int64_t x = (int64_t)v[i];                                     \
        uint64_t p = (uint64_t)x * (uint64_t)x;                        \
        s += x;                                                        \
        q0 += p & 0xffffffffu;                                         \
        q1 += p >> 32;                                                 \
        lo = v[i] < lo ? v[i] : lo;                                    \
        hi = v[i] > hi ? v[i] : hi;                                    \
      }                                                                \
      out->isum += s;                                                  \
      qn_u192_add128(out->isq, ((unsigned __int128)q1 << 32) + q0, 0); \
    }                                                                  \
    out->count = n;                                                    \
    out->imin = lo;                                                    \
    out->imax = hi;                                                    \
  }

QN_STATS_INT(qn_stats_i8, int8_t)
QN_STATS_INT(qn_stats_i16, int16_t)
QN_STATS_INT(qn_stats_i32, int32_t)
QN_STATS_INT(qn_stats_u8, uint8_t)
QN_STATS_INT(qn_stats_u16, uint16_t)
QN_STATS_INT(qn_stats_u32, uint32_t)

/* 64-bit integers: deviations d = x - r from the morsel minimum r are exact
 * in uint64 (the range is below 2^64). Σd and Σd² of a block of at most
 * 2^16 rows come from 64-bit lanes (vectorisable) whose sums cannot
 * overflow, chosen by the range R:
 *   R < 2^24: d² < 2^48, so Σd² < 2^64 directly;
 *   R < 2^48: d = h·2^24 + l with h, l < 2^24, d² = h²·2^48 + 2hl·2^24 + l²,
 *             each of Σh², Σhl, Σl² below 2^64;
 *   else:     d = h·2^32 + l with h, l < 2^32; the products h², hl, l² are
 *             below 2^64 and are summed as separate 32-bit halves. */
__attribute__((target_clones("avx2", "default"))) static void qn_dev_small(
    const uint64_t *restrict v, int64_t n, uint64_t r, unsigned __int128 *sd, uint64_t sq[3]) {
  uint64_t s = 0, q = 0;
  for (int64_t i = 0; i < n; i++) {
    uint32_t d = (uint32_t)(v[i] - r);
    s += d;
    q += (uint64_t)d * d;
  }
  *sd += s;
  qn_u192_add128(sq, q, 0);
}

__attribute__((target_clones("avx2", "default"))) static void qn_dev_mid(
    const uint64_t *restrict v, int64_t n, uint64_t r, unsigned __int128 *sd, uint64_t sq[3]) {
  const uint64_t m24 = ((uint64_t)1 << 24) - 1;
  uint64_t sh = 0, sl = 0, hh = 0, hl = 0, ll = 0;
  for (int64_t i = 0; i < n; i++) {
    uint64_t d = v[i] - r;
    uint32_t h = (uint32_t)(d >> 24), l = (uint32_t)(d & m24);
    sh += h;
    sl += l;
    hh += (uint64_t)h * h;
    hl += (uint64_t)h * l;
    ll += (uint64_t)l * l;
  }
  *sd += ((unsigned __int128)sh << 24) + sl;
  qn_u192_add128(sq, ll, 0);
  qn_u192_add128(sq, (unsigned __int128)hl << 25, 0);
  qn_u192_add128(sq, (unsigned __int128)hh << 48, 0);
}

__attribute__((target_clones("avx2", "default"))) static void qn_dev_wide(
    const uint64_t *restrict v, int64_t n, uint64_t r, unsigned __int128 *sd, uint64_t sq[3]) {
  const uint64_t m32 = 0xffffffffu;
  uint64_t sh = 0, sl = 0, hh0 = 0, hh1 = 0, hl0 = 0, hl1 = 0, ll0 = 0, ll1 = 0;
  for (int64_t i = 0; i < n; i++) {
    uint64_t d = v[i] - r;
    uint32_t h = (uint32_t)(d >> 32), l = (uint32_t)d;
    uint64_t phh = (uint64_t)h * h, phl = (uint64_t)h * l, pll = (uint64_t)l * l;
    sh += h;
    sl += l;
    hh0 += phh & m32, hh1 += phh >> 32;
    hl0 += phl & m32, hl1 += phl >> 32;
    ll0 += pll & m32, ll1 += pll >> 32;
  }
  *sd += ((unsigned __int128)sh << 32) + sl;
  unsigned __int128 shh = ((unsigned __int128)hh1 << 32) + hh0; /* Σh² < 2^81 */
  unsigned __int128 shl = ((unsigned __int128)hl1 << 32) + hl0;
  unsigned __int128 sll = ((unsigned __int128)ll1 << 32) + ll0;
  qn_u192_add128(sq, sll, 0);
  qn_u192_add128(sq, shl << 33, 0); /* 2·Σhl·2^32 < 2^114 */
  qn_u192_add128(sq, shh, 1);
}

#define QN_STATS_WIDE(NAME, T)                                                               \
  __attribute__((target_clones("avx2", "default"))) static void NAME(                        \
      const T *restrict v, int64_t n, struct qn_stats_acc *out) {                            \
    T lo = v[0], hi = v[0];                                                                  \
    for (int64_t i = 0; i < n; i++) {                                                        \
      lo = v[i] < lo ? v[i] : lo;                                                            \
      hi = v[i] > hi ? v[i] : hi;                                                            \
    }                                                                                        \
    out->count = n;                                                                          \
    out->imin = lo;                                                                          \
    out->imax = hi;                                                                          \
    qn_stats_wide_moments((const uint64_t *)v, n, (uint64_t)lo, (uint64_t)hi - (uint64_t)lo, \
                          lo, out);                                                          \
  }

/* int64_t and uint64_t data share the representation (and may alias), so
 * the deviation kernels read both as uint64_t. */
static void qn_stats_wide_moments(const uint64_t *v, int64_t n, uint64_t r, uint64_t range,
                                  __int128 rv, struct qn_stats_acc *out) {
  unsigned __int128 sd = 0;
  uint64_t sq[3] = {0, 0, 0};
  for (int64_t b = 0; b < n; b += QN_INT_BLOCK) {
    int64_t m = QN_MIN(n - b, QN_INT_BLOCK);
    if (range < ((uint64_t)1 << 24))
      qn_dev_small(v + b, m, r, &sd, sq);
    else if (range < ((uint64_t)1 << 48))
      qn_dev_mid(v + b, m, r, &sd, sq);
    else
      qn_dev_wide(v + b, m, r, &sd, sq);
  }
  qn_int_add_shifted(out, n, rv, sd, sq);
}

QN_STATS_WIDE(qn_stats_i64, int64_t)
QN_STATS_WIDE(qn_stats_u64, uint64_t)

/* ----- nullable columns: gather the present values, then the same code ----- */

static void qn_stats_dense(enum qn_type t, const void *data, int64_t n,
                           struct qn_stats_acc *out) {
  switch (t) {
    case QN_FLOAT64:
      qn_stats_f64(data, n, out);
      break;
    case QN_FLOAT32:
      qn_stats_f32(data, n, out);
      break;
    case QN_INT8:
      qn_stats_i8(data, n, out);
      break;
    case QN_INT16:
      qn_stats_i16(data, n, out);
      break;
    case QN_INT32:
    case QN_DATE:
      qn_stats_i32(data, n, out);
      break;
    case QN_INT64:
    case QN_TIMESTAMP:
      qn_stats_i64(data, n, out);
      break;
    case QN_UINT8:
    case QN_BOOL:
      qn_stats_u8(data, n, out);
      break;
    case QN_UINT16:
      qn_stats_u16(data, n, out);
      break;
    case QN_UINT32:
      qn_stats_u32(data, n, out);
      break;
    case QN_UINT64:
      qn_stats_u64(data, n, out);
      break;
    default:
      break;
  }
  if (qn_type_is_integer(t) && out->count > 0) {
    out->min = (double)out->imin;
    out->max = (double)out->imax;
  }
}

void qn_stats_morsel(const struct qn_colbuf *col, struct qn_stats_acc *out) {
  qn_stats_acc_init(out);
  if (col->n == 0) return;
  if (!col->valid) {
    qn_stats_dense(col->type, col->data, col->n, out);
    return;
  }
  /* Compact the present values in place order into a stack-sized scratch in
   * slices, summarising each slice and merging: keeps the kernel free of
   * allocation. */
  enum { SLICE = 4096 };
  union {
    double d[SLICE];
    uint64_t u[SLICE];
  } scratch;
  size_t w = qn_type_size(col->type);
  int is_int = qn_type_is_integer(col->type);
  int64_t i = 0;
  while (i < col->n) {
    int64_t k = 0;
    for (; i < col->n && k < SLICE; i++) {
      if (!col->valid[i]) {
        out->null++;
        continue;
      }
      memcpy((char *)scratch.u + (size_t)k * w, (const char *)col->data + (size_t)i * w, w);
      k++;
    }
    if (k == 0) continue;
    struct qn_stats_acc part;
    qn_stats_acc_init(&part);
    qn_stats_dense(col->type, scratch.u, k, &part);
    int64_t null = out->null;
    out->null = 0;
    qn_stats_merge(out, &part, is_int);
    out->null = null;
  }
}

static void qn_neumaier_add(double *sum, double *comp, double x) {
  double t = *sum + x;
  if (fabs(*sum) >= fabs(x))
    *comp += (*sum - t) + x;
  else
    *comp += (x - t) + *sum;
  *sum = t;
}

void qn_stats_merge(struct qn_stats_acc *a, const struct qn_stats_acc *b, int is_integer) {
  a->nan += b->nan;
  a->null += b->null;
  if (b->min < a->min) a->min = b->min;
  if (b->max > a->max) a->max = b->max;
  if (b->count == 0) return;
  if (is_integer) {
    if (a->count == 0 || b->imin < a->imin) a->imin = b->imin;
    if (a->count == 0 || b->imax > a->imax) a->imax = b->imax;
    a->isum += b->isum;
    qn_u192_add(a->isq, b->isq); /* exact: no mean, no M2 to carry */
    a->count += b->count;
    return;
  }
  qn_neumaier_add(&a->sum, &a->sum_comp, b->sum);
  a->sum_comp += b->sum_comp;
  if (a->count == 0) {
    a->count = b->count;
    a->mean = b->mean;
    a->m2 = b->m2;
    return;
  }
  long double na = (long double)a->count, nb = (long double)b->count, n = na + nb;
  long double delta = b->mean - a->mean;
  a->m2 = (double)((long double)a->m2 + (long double)b->m2 + delta * delta * (na * nb / n));
  a->mean += delta * (nb / n);
  a->count += b->count;
}

/* w += x · 2^(64·limb), modulo 2^256. */
static void qn_u256_add128(uint64_t w[4], unsigned __int128 x, int limb) {
  unsigned __int128 c = 0;
  for (int k = limb; k < 4; k++) {
    c += w[k];
    if (k == limb) c += (uint64_t)x;
    if (k == limb + 1) c += (uint64_t)(x >> 64);
    w[k] = (uint64_t)c;
    c >>= 64;
  }
}

/* The population variance (n·Σx² - (Σx)²) / n² of an integer column from
 * its exact sums. The numerator is computed exactly (modulo 2^256; its
 * value lies in [0, 2^254)), then converted and divided in long double
 * (each of the few roundings below 2^-63 relative) and rounded to double:
 * within one ulp of the exact variance. */
static double qn_int_variance(int64_t n, __int128 sum, const uint64_t sq[3]) {
  uint64_t num[4] = {0, 0, 0, 0}, neg[4] = {0, 0, 0, 0};
  for (int k = 0; k < 3; k++) /* n·Σx² */
    qn_u256_add128(num, (unsigned __int128)sq[k] * (uint64_t)n, k);
  unsigned __int128 a = sum < 0 ? -(unsigned __int128)sum : (unsigned __int128)sum;
  uint64_t a0 = (uint64_t)a, a1 = (uint64_t)(a >> 64);
  qn_u256_add128(neg, (unsigned __int128)a0 * a0, 0); /* (Σx)² */
  qn_u256_add128(neg, (unsigned __int128)a0 * a1, 1);
  qn_u256_add128(neg, (unsigned __int128)a0 * a1, 1);
  qn_u256_add128(neg, (unsigned __int128)a1 * a1, 2);
  for (int k = 0; k < 4; k++) neg[k] = ~neg[k]; /* num - (Σx)² = num + ~neg + 1 */
  qn_u256_add128(num, 1, 0);
  for (int k = 0; k < 4; k++) qn_u256_add128(num, neg[k], k);
  long double x = 0;
  for (int k = 3; k >= 0; k--) x = ldexpl(x, 64) + (long double)num[k];
  long double nn = (long double)n;
  return (double)(x / (nn * nn));
}

void qn_stats_finish(const struct qn_stats_acc *a, enum qn_type type,
                     struct qn_column_stats *out) {
  memset(out, 0, sizeof *out);
  out->count = a->count;
  out->nan = a->nan;
  out->null = a->null;
  out->is_integer = qn_type_is_integer(type);
  out->is_unsigned = type == QN_UINT8 || type == QN_UINT16 || type == QN_UINT32 ||
                     type == QN_UINT64 || type == QN_BOOL;
  if (out->is_integer) {
    unsigned __int128 u = (unsigned __int128)a->isum;
    out->sum_lo = (uint64_t)u;
    out->sum_hi = (int64_t)(a->isum >> 64);
    out->imin = (int64_t)a->imin;
    out->imax = (int64_t)a->imax;
    out->umin = (uint64_t)a->imin;
    out->umax = (uint64_t)a->imax;
    out->sum = (double)a->isum;
  } else {
    out->sum = a->sum + a->sum_comp;
    if (isnan(a->sum_comp) && !isnan(a->sum)) out->sum = a->sum; /* inf - inf in the comp */
  }
  if (a->count == 0) {
    out->min = out->max = out->mean = out->var = out->std = NAN;
    out->sum = 0;
    return;
  }
  out->min = out->is_integer ? (double)a->imin : a->min;
  out->max = out->is_integer ? (double)a->imax : a->max;
  out->mean = out->is_integer ? (double)((long double)a->isum / (long double)a->count)
                              : out->sum / (double)a->count;
  out->var =
      out->is_integer ? qn_int_variance(a->count, a->isum, a->isq) : a->m2 / (double)a->count;
  if (!out->is_integer && !isfinite(out->sum)) out->var = NAN;
  out->std = sqrt(out->var);
}
