/* qn_exec.h — helpers shared by the jobs in src/exec (internal). */
#ifndef QN_EXEC_H
#define QN_EXEC_H

#include <jansson.h>

#include "core/qn_core.h"

/* A double as JSON: NaN → null, ±inf → "inf" / "-inf", else a real. */
json_t *qn_json_double(double v);
/* Dumps root (reference stolen) with 2-space indent and 17 significant
 * digits to `path` atomically, or to stdout for NULL or "-". */
int qn_json_dump_file(json_t *root, const char *path, struct qn_error *err);

/* The counter-based generator behind `quern gen`: SplitMix64's finaliser
 * as a mixing function, and a uniform in [0, 1) with 53 random bits for
 * (seed, stream, counter) — a pure function, so any range of rows can be
 * generated alone, on any thread. */
static inline uint64_t qn_mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
static inline double qn_gen_uniform(uint64_t seed, uint64_t stream, uint64_t counter) {
  uint64_t key = qn_mix64(seed * 0x9e3779b97f4a7c15ULL + stream);
  return (double)(qn_mix64(key + counter * 0x9e3779b97f4a7c15ULL) >> 11) * 0x1.0p-53;
}

/* The sim generator: rows [row0, row0 + n) of x, y, z (uniform [0, 1)) and
 * v (standard normal), a pure function of (seed, row). */
void qn_gen_sim_fill(uint64_t seed, int64_t row0, int64_t n, double *x, double *y, double *z,
                     double *v);
/* The same for cols[0..3] = x, y, z, v, split over the context's threads. */
int qn_gen_sim_fill_parallel(struct qn_context *ctx, uint64_t seed, int64_t row0, int64_t n,
                             double *const cols[4], struct qn_error *err);

#endif
