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
 * Integer columns: exact sums in 64 bits per morsel (narrow types) or 128
 * bits (64-bit types); deviations from the morsel's first value are exact
 * integers, converted to double only for the squares.
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

/* Narrow integers (at most 32 bits): Σv fits int64 and Σv² fits 128 bits
 * for a morsel, so M2 = (n·Σv² - (Σv)²) / n is computed from an exact
 * numerator and rounded once. */
#define QN_STATS_INT(NAME, T)                                         \
  __attribute__((target_clones("avx2", "default"))) static void NAME( \
      const T *restrict v, int64_t n, struct qn_stats_acc *out) {     \
    int64_t s = 0;                                                    \
    __int128 q = 0;                                                   \
    T lo = v[0], hi = v[0];                                           \
    for (int64_t i = 0; i < n; i++) {                                 \
      int64_t x = (int64_t)v[i];                                      \
      s += x;                                                         \
      q += (__int128)x * x;                                           \
      lo = v[i] < lo ? v[i] : lo;                                     \
      hi = v[i] > hi ? v[i] : hi;                                     \
    }                                                                 \
    out->count = n;                                                   \
    out->isum = s;                                                    \
    out->imin = lo;                                                   \
    out->imax = hi;                                                   \
    out->mean = (long double)s / (long double)n;                      \
    __int128 num = q * n - (__int128)s * s;                           \
    out->m2 = (double)((long double)num / (long double)n);            \
  }

QN_STATS_INT(qn_stats_i8, int8_t)
QN_STATS_INT(qn_stats_i16, int16_t)
QN_STATS_INT(qn_stats_i32, int32_t)
QN_STATS_INT(qn_stats_u8, uint8_t)
QN_STATS_INT(qn_stats_u16, uint16_t)
QN_STATS_INT(qn_stats_u32, uint32_t)

/* 64-bit integers. Pass 1 finds min and max (vectorisable). The sum is
 * exact either way: in int64 lanes when every value is below 2^47 in
 * magnitude (a morsel of 2^16 such values cannot overflow), else in 128
 * bits. M2 from deviations d = v - min: when the range is below 2^24,
 * d² < 2^48 and Σd² over a morsel fits uint64 (vectorisable); below 2^40
 * Σd² is exact in 128 bits; either gives M2 = (n·Σd² - (Σd)²) / n from an
 * exact numerator. A wider range falls back to double deviations in 8
 * lanes. */
#define QN_STATS_WIDE(NAME, T)                                        \
  __attribute__((target_clones("avx2", "default"))) static void NAME( \
      const T *restrict v, int64_t n, struct qn_stats_acc *out) {     \
    T lo = v[0], hi = v[0];                                           \
    for (int64_t i = 0; i < n; i++) {                                 \
      lo = v[i] < lo ? v[i] : lo;                                     \
      hi = v[i] > hi ? v[i] : hi;                                     \
    }                                                                 \
    __int128 s = 0;                                                   \
    const __int128 small = (__int128)1 << 47;                         \
    if ((__int128)lo > -small && (__int128)hi < small) {              \
      int64_t s64 = 0;                                                \
      for (int64_t i = 0; i < n; i++) s64 += (int64_t)v[i];           \
      s = s64;                                                        \
    } else {                                                          \
      for (int64_t i = 0; i < n; i++) s += v[i];                      \
    }                                                                 \
    out->count = n;                                                   \
    out->isum = s;                                                    \
    out->imin = lo;                                                   \
    out->imax = hi;                                                   \
    out->mean = (long double)s / (long double)n;                      \
    __int128 range = (__int128)hi - (__int128)lo;                     \
    if (range < ((__int128)1 << 24)) {                                \
      uint64_t sd = 0, sq = 0;                                        \
      for (int64_t i = 0; i < n; i++) {                               \
        uint64_t d = (uint64_t)v[i] - (uint64_t)lo;                   \
        sd += d;                                                      \
        sq += d * d;                                                  \
      }                                                               \
      __int128 num = (__int128)sq * n - (__int128)sd * sd;            \
      out->m2 = (double)((long double)num / (long double)n);          \
      return;                                                         \
    }                                                                 \
    if (range < ((__int128)1 << 40)) {                                \
      __int128 sd = 0, sq = 0;                                        \
      for (int64_t i = 0; i < n; i++) {                               \
        int64_t d = (int64_t)((__int128)v[i] - (__int128)lo);         \
        sd += d;                                                      \
        sq += (__int128)d * d;                                        \
      }                                                               \
      __int128 num = sq * n - sd * sd;                                \
      out->m2 = (double)((long double)num / (long double)n);          \
      return;                                                         \
    }                                                                 \
    double md = (double)(s - (__int128)lo * n) / (double)n;           \
    double c[QN_LANES] = {0}, q[QN_LANES] = {0};                      \
    int64_t i = 0;                                                    \
    for (; i + QN_LANES <= n; i += QN_LANES)                          \
      for (int l = 0; l < QN_LANES; l++) {                            \
        double d = (double)((uint64_t)v[i + l] - (uint64_t)lo) - md;  \
        c[l] += d;                                                    \
        q[l] += d * d;                                                \
      }                                                               \
    for (; i < n; i++) {                                              \
      double d = (double)((uint64_t)v[i] - (uint64_t)lo) - md;        \
      c[0] += d;                                                      \
      q[0] += d * d;                                                  \
    }                                                                 \
    double cs = 0, qs = 0;                                            \
    for (int l = 0; l < QN_LANES; l++) cs += c[l], qs += q[l];        \
    double m2 = qs - cs * cs / (double)n;                             \
    out->m2 = m2 > 0 ? m2 : 0;                                        \
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
  } else {
    qn_neumaier_add(&a->sum, &a->sum_comp, b->sum);
    a->sum_comp += b->sum_comp;
  }
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
  out->var = a->m2 / (double)a->count;
  if (!out->is_integer && !isfinite(out->sum)) out->var = NAN;
  out->std = sqrt(out->var);
}
