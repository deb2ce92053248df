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

/* The sim generator: rows [row0, row0 + n) of x, y, z (uniform [0, 1)) and
 * v (standard normal), a pure function of (seed, row). */
void qn_gen_sim_fill(uint64_t seed, int64_t row0, int64_t n, double *x, double *y, double *z,
                     double *v);

#endif
