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

struct qn_source;
/* Writes columns `cols` of the table to `output` (the format by its
 * extension) on the scan: every core encodes, the commit appends in
 * morsel order. sum (may be NULL) receives the file's checksum. */
int qn_exec_copy(struct qn_context *ctx, struct qn_source *src, const int *cols, int ncols,
                 const char *output, const char *codec, const char *label,
                 struct qn_checksum *sum, struct qn_error *err);

#endif
