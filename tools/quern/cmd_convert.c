/* cmd_convert.c — `quern convert`: between HDF5, Parquet and CSV. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char qn_convert_help[] =
    "usage: quern convert INPUT... -o OUT.parquet|OUT.h5|OUT.csv [-c COLS]\n"
    "                     [--codec snappy|zstd|gzip|none] [options]\n"
    "\n"
    "Copies a table — one or many files of any format, read as one table —\n"
    "to Parquet, HDF5 or CSV, chosen by the output's extension. The output is\n"
    "written under a temporary name and appears only when complete.\n"
    "\n"
    "  -o, --output FILE        .parquet, .h5 / .hdf5 or .csv\n"
    "  -c, --columns A,B,...    only these columns, in this order (default: all)\n"
    "      --codec C            Parquet: snappy (default), zstd, gzip, lz4, brotli,\n"
    "                           none; HDF5: gzip or none (default)\n" QN_CLI_COMMON_HELP
    "\n"
    "Nulls survive in Parquet and CSV. HDF5 has no nulls: a null float becomes\n"
    "NaN, a null in another column is an error. CSV output writes floats in\n"
    "their shortest round-trip form, nan/inf spelled out, timestamps as ISO 8601.\n"
    "\n"
    "examples:\n"
    "  quern convert sim.h5 -o sim.parquet --codec zstd\n"
    "  quern convert 'runs/*.parquet' -c probe_id,value -o values.h5\n"
    "  quern convert meas.parquet -o meas.csv\n";

int qn_cmd_convert(int argc, char **argv) {
  static const struct option longopts[] = {
      QN_CLI_COMMON_LONGOPTS,
      {"output", required_argument, 0, 'o'},
      {"columns", required_argument, 0, 'c'},
      {"codec", required_argument, 0, 'C'},
      {0, 0, 0, 0},
  };
  struct qn_cli_common common;
  qn_cli_common_init(&common);
  struct qn_convert_options opt;
  qn_convert_options_init(&opt);
  char *columns = NULL;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, QN_CLI_COMMON_SHORTOPTS "o:c:", longopts, NULL)) != -1) {
    int h = qn_cli_common_option(&common, c, optarg);
    if (h < 0) return 2;
    if (h > 0) continue;
    switch (c) {
      case 'o':
        opt.output = optarg;
        break;
      case 'c':
        columns = optarg;
        break;
      case 'C':
        opt.codec = optarg;
        break;
      default:
        return qn_cli_bad_option("convert", c, argv, longopts);
    }
  }
  if (qn_cli_help_or_version(&common, qn_convert_help)) return 0;
  if (optind >= argc) return qn_cli_usage("convert", "no input file given");
  if (!opt.output) return qn_cli_usage("convert", "-o OUTPUT is required");
  if (qn_cli_check_output("-o", opt.output) != 0) return 1;
  char **names = NULL;
  int bad = qn_cli_columns("convert", columns, &names, &opt.ncolumns);
  if (bad) return bad;
  opt.columns = (const char *const *)names;
  struct qn_context *ctx = NULL;
  struct qn_source *src = NULL;
  struct qn_error err;
  qn_error_init(&err);
  int rc = qn_cli_context(&common, &ctx);
  if (rc == 0) {
    int st = qn_source_open(ctx, (const char *const *)argv + optind, argc - optind, &src, &err);
    if (st == QN_OK) st = qn_convert_run(ctx, src, &opt, &err);
    if (st != QN_OK) rc = qn_cli_fail(st, &err);
  }
  qn_source_close(src);
  qn_context_free(ctx);
  free(names);
  return rc;
}
