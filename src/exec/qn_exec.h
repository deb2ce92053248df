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

#endif
