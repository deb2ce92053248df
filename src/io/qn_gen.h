/* qn_gen.h — the counter-based generator behind `quern gen` (internal).
 *
 * SplitMix64's finaliser as a mixing function, and a uniform in [0, 1) with
 * 53 random bits for (seed, stream, counter): a pure function, so any
 * range of rows can be generated alone, on any thread. */
#ifndef QN_GEN_H
#define QN_GEN_H

#include "core/qn_core.h"

static inline uint64_t qn_mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
static inline double qn_gen_uniform(uint64_t seed, uint64_t stream, uint64_t counter) {
  uint64_t key = qn_mix64(seed * 0x9e3779b97f4a7c15ULL + stream);
  return (double)(qn_mix64(key + counter * 0x9e3779b97f4a7c15ULL) >> 11) * 0x1.0p-53;
}

struct qn_reader;
/* A generator as a reader: kind "sim" (x, y, z, v) or "measurements"
 * (probe_id, ts, value, quality, label; keys in [1, rows]). Errors:
 * QN_EINVAL (kind, rows < 0, keys), QN_ELIMIT, QN_ENOMEM. */
int qn_gen_reader_new(struct qn_context *ctx, const char *kind, int64_t rows, int64_t keys,
                      uint64_t seed, struct qn_reader **out, struct qn_error *err);

#endif /* QN_GEN_H */
