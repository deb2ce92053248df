/* cmd_info.c — `quern info`: what is in a file. */
#include "cli.h"

static const char qn_info_help[] =
    "usage: quern info FILE [--json]\n"
    "\n"
    "Columns with their types and rows, and the layout that matters for speed:\n"
    "HDF5 dataset layout, chunk shape and filters (and whether quern reads it\n"
    "with its fast pread path); Parquet row groups, codecs and encodings.\n"
    "`file.h5:/group` describes only that group.\n"
    "\n"
    "      --json     machine-readable output\n" QN_CLI_COMMON_HELP;

int qn_cmd_info(int argc, char **argv) {
  static const struct option longopts[] = {
      QN_CLI_COMMON_LONGOPTS,
      {"json", no_argument, 0, 'J'},
      {0, 0, 0, 0},
  };
  struct qn_cli_common common;
  qn_cli_common_init(&common);
  int as_json = 0, c;
  optind = 1;
  while ((c = getopt_long(argc, argv, QN_CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
    int h = qn_cli_common_option(&common, c, optarg);
    if (h < 0) return 2;
    if (h > 0) continue;
    if (c == 'J')
      as_json = 1;
    else
      return qn_cli_bad_option("info", c, argv, longopts);
  }
  if (qn_cli_help_or_version(&common, qn_info_help)) return 0;
  if (optind >= argc) return qn_cli_usage("info", "no input file given");
  if (optind + 1 < argc) return qn_cli_usage("info", "one file at a time");
  struct qn_context *ctx = NULL;
  int rc = qn_cli_context(&common, &ctx);
  if (rc != 0) return rc;
  struct qn_error err;
  qn_error_init(&err);
  int st = qn_info_print(ctx, argv[optind], as_json, stdout, &err);
  if (st != QN_OK) rc = qn_cli_fail(st, &err);
  qn_context_free(ctx);
  return rc;
}
