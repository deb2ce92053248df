/* format.c — "%.17g" (or "%.Pg", P <= 17) of a double, the same bytes as
 * the C library's, fast.
 *
 * Text outputs print every statistic with 17 significant digits (enough
 * for an exact round trip). glibc's printf gets each digit by multiple-
 * precision arithmetic, about 0.7 us per value: a million-cell grid took
 * longer to write than to compute. Here the 17 digits come from one exact
 * 128-bit product or quotient: a finite double is m * 2^e (m < 2^53), and
 * for |v| in [1e-5, 1e19) the value scaled by 10^n, n = 16 - the
 * decimal exponent, is floor'ed exactly with the remainder, so the rounding
 * (to nearest, ties to even, as printf) is exact too. Values outside that
 * range, zero, NaN and infinities go to snprintf. tests/unit/test_format.c
 * compares both on many millions of values, halfway cases included.
 */
#include "qn_core.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#if defined(__SIZEOF_INT128__)
typedef unsigned __int128 qn_u128;

static const uint64_t qn_pow10[20] = {1ULL,
                                      10ULL,
                                      100ULL,
                                      1000ULL,
                                      10000ULL,
                                      100000ULL,
                                      1000000ULL,
                                      10000000ULL,
                                      100000000ULL,
                                      1000000000ULL,
                                      10000000000ULL,
                                      100000000000ULL,
                                      1000000000000ULL,
                                      10000000000000ULL,
                                      100000000000000ULL,
                                      1000000000000000ULL,
                                      10000000000000000ULL,
                                      100000000000000000ULL,
                                      1000000000000000000ULL,
                                      10000000000000000000ULL};

/* floor(m * 2^e * 10^n) into *t (when it is below 2^64) and whether the
 * dropped part is below, at or above one half: -1, 0, +1 (or 2 when
 * nothing was dropped). Returns 0 when the exact computation does not fit
 * in 128 bits. */
static int qn_scaled(uint64_t m, int e, int n, uint64_t *t, int *half) {
  if (n >= 0) {
    if (n > 22) return 0;
    const qn_u128 p10 =
        n <= 19 ? (qn_u128)qn_pow10[n] : (qn_u128)qn_pow10[19] * qn_pow10[n - 19];
    qn_u128 num = (qn_u128)m * p10; /* < 2^53 * 10^22 < 2^127 */
    if (e >= 0) {
      if (e > 10 || (num >> (127 - e)) != 0) return 0;
      num <<= e;
      if (num >> 64) return 0;
      *t = (uint64_t)num;
      *half = 2;
      return 1;
    }
    if (-e >= 127) return 0;
    const qn_u128 q = num >> -e, rem = num - (q << -e), halfway = (qn_u128)1 << (-e - 1);
    if (q >> 64) return 0;
    *t = (uint64_t)q;
    *half = rem == 0 ? 2 : rem < halfway ? -1 : rem == halfway ? 0 : 1;
    return 1;
  }
  if (-n > 19 || e < 0 || e > 63) return 0;
  const qn_u128 num = (qn_u128)m << e, d = qn_pow10[-n];
  const qn_u128 q = num / d, rem = num - q * d;
  if (q >> 64) return 0;
  *t = (uint64_t)q;
  *half = rem == 0 ? 2 : 2 * rem < d ? -1 : 2 * rem == d ? 0 : 1;
  return 1;
}

/* The `prec` significant digits of v > 0 as an integer in [10^(prec-1),
 * 10^prec) and the decimal exponent x (v ~ digits * 10^(x - prec + 1)).
 * Returns 0 to fall back. */
static int qn_digits(double v, int prec, uint64_t *digits, int *x) {
  uint64_t bits;
  memcpy(&bits, &v, sizeof bits); /* v is normal and positive here */
  const uint64_t m = (bits & ((1ULL << 52) - 1)) | (1ULL << 52);
  const int e = (int)(bits >> 52) - 1075; /* v = m * 2^e */
  /* floor(log10(2^(e + 52))) (78913 / 2^18 ~ log10(2)): the decimal
   * exponent k of v or one less; the loop corrects it */
  int k = (int)(((int64_t)(e + 52) * 78913) >> 18);
  for (int tries = 0; tries < 3; tries++) {
    uint64_t t;
    int half;
    if (!qn_scaled(m, e, prec - 1 - k, &t, &half)) return 0;
    if (t < qn_pow10[prec - 1]) {
      k--;
      continue;
    }
    if (t >= qn_pow10[prec]) {
      k++;
      continue;
    }
    if (half == 1 || (half == 0 && (t & 1))) t++;
    if (t == qn_pow10[prec]) {
      t = qn_pow10[prec - 1];
      k++;
    }
    *digits = t;
    *x = k;
    return 1;
  }
  return 0;
}

int qn_format_g(double v, int prec, char *buf) {
  uint64_t digits;
  int x;
  const double a = fabs(v);
  if (prec < 1 || prec > 17 || !(a >= 1e-5 && a < 1e19) || !qn_digits(a, prec, &digits, &x))
    return snprintf(buf, QN_FORMAT_G17_CAP, "%.*g", prec, v);
  char d[17];
  uint32_t lo = (uint32_t)(digits % 100000000U), hi = (uint32_t)(digits / 100000000U);
  for (int i = prec - 1; i >= 0; i--) {
    if (i >= prec - 8) {
      d[i] = (char)('0' + lo % 10);
      lo /= 10;
    } else {
      d[i] = (char)('0' + hi % 10);
      hi /= 10;
    }
  }
  int nd = prec; /* %g drops trailing zeros */
  while (nd > 1 && d[nd - 1] == '0') nd--;
  char *p = buf;
  if (v < 0) *p++ = '-';
  if (x < -4 || x >= prec) { /* d.ddde+XX */
    *p++ = d[0];
    if (nd > 1) {
      *p++ = '.';
      memcpy(p, d + 1, (size_t)nd - 1);
      p += nd - 1;
    }
    *p++ = 'e';
    *p++ = x < 0 ? '-' : '+';
    const int ax = x < 0 ? -x : x;
    if (ax >= 100) *p++ = (char)('0' + ax / 100);
    *p++ = (char)('0' + ax / 10 % 10);
    *p++ = (char)('0' + ax % 10);
  } else if (x >= 0) { /* ddd.ddd */
    memcpy(p, d, (size_t)x + 1);
    p += x + 1;
    if (nd > x + 1) {
      *p++ = '.';
      memcpy(p, d + x + 1, (size_t)(nd - x - 1));
      p += nd - x - 1;
    }
  } else { /* 0.000ddd */
    *p++ = '0';
    *p++ = '.';
    for (int i = 0; i < -x - 1; i++) *p++ = '0';
    memcpy(p, d, (size_t)nd);
    p += nd;
  }
  *p = '\0';
  return (int)(p - buf);
}
#else
int qn_format_g(double v, int prec, char *buf) {
  return snprintf(buf, QN_FORMAT_G17_CAP, "%.*g", prec, v);
}
#endif

int qn_format_g17(double v, char *buf) {
  return qn_format_g(v, 17, buf);
}
