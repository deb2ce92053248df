/* formats.c — the table of input formats the source can open.
 *
 * Each reader defines its struct qn_format (name, how to recognise its
 * first bytes, how to open a file); the source tries them in this order
 * and knows none of them by name. A new reader adds one line here.
 */
#include "qn_source.h"

extern const struct qn_format qn_format_hdf5;
extern const struct qn_format qn_format_parquet;
extern const struct qn_format qn_format_csv;

const struct qn_format *const qn_formats[] = {&qn_format_hdf5, &qn_format_parquet,
                                              &qn_format_csv, NULL};
