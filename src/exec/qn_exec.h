/* qn_exec.h — helpers shared by the jobs in src/exec (internal). */
#ifndef QN_EXEC_H
#define QN_EXEC_H

#include "core/qn_core.h"
#include "io/qn_json.h"

struct qn_source;
/* Writes columns `cols` of the table to `output` (the format by its
 * extension) on the scan: every core encodes, the commit appends in
 * morsel order. sum (may be NULL) receives the file's checksum. */
int qn_exec_copy(struct qn_context *ctx, struct qn_source *src, const int *cols, int ncols,
                 const char *output, const char *codec, const char *label,
                 struct qn_checksum *sum, struct qn_error *err);

#endif
