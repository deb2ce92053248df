/* cmd_stats.c — `quern stats`: per-column summary as JSON. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char qn_stats_help[] =
    "usage: quern stats INPUT... [-c COLS] [-o FILE.json] [--per-file] [options]\n"
    "\n"
    "Per-column summary of one table made of one or many files (HDF5, Parquet,\n"
    "CSV; globs allowed, quoted: 'data/*.h5'). For each numeric column: type,\n"
    "count (values neither NaN nor null), nan, null, min, max, sum, mean, std\n"
    "and var (population, ddof 0) — numpy's nanmin, nanmax, nansum, nanmean,\n"
    "nanstd, nanvar. Every column has every key (null is 0 where there can be\n"
    "none). Integer min, max and sum are exact; integer var and std come from\n"
    "exact sums, rounded once. Output bytes are the same for any --threads and\n"
    "--memory-limit.\n"
    "\n"
    "  -c, --columns A,B,...    only these columns (default: every numeric one)\n"
    "  -o, --output FILE.json   write here (atomically) instead of stdout\n"
    "      --per-file           also one summary per input file\n" QN_CLI_COMMON_HELP
    "\n"
    "examples:\n"
    "  quern stats run.h5\n"
    "  quern stats 'runs/*.h5' -c energy,x --per-file -o summary.json\n"
    "  quern stats big.h5:/detector --memory-limit 512M\n";

int qn_cmd_stats(int argc, char **argv) {
  static const struct option longopts[] = {
      QN_CLI_COMMON_LONGOPTS,
      {"columns", required_argument, 0, 'c'},
      {"output", required_argument, 0, 'o'},
      {"per-file", no_argument, 0, 'P'},
      {0, 0, 0, 0},
  };
  struct qn_cli_common common;
  qn_cli_common_init(&common);
  struct qn_stats_options opt;
  qn_stats_options_init(&opt);
  char *columns = NULL;
  const char *output = NULL;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, QN_CLI_COMMON_SHORTOPTS "c:o:", longopts, NULL)) != -1) {
    int h = qn_cli_common_option(&common, c, optarg);
    if (h < 0) return 2;
    if (h > 0) continue;
    switch (c) {
      case 'c':
        columns = optarg;
        break;
      case 'o':
        output = optarg;
        break;
      case 'P':
        opt.per_file = 1;
        break;
      default:
        return qn_cli_bad_option("stats", c, argv, longopts);
    }
  }
  if (qn_cli_help_or_version(&common, qn_stats_help)) return 0;
  if (optind >= argc) return qn_cli_usage("stats", "no input file given");
  if (qn_cli_check_output("-o", output) != 0) return 1;
  char **names = NULL;
  int bad = qn_cli_columns("stats", columns, &names, &opt.ncolumns);
  if (bad) return bad;
  opt.columns = (const char *const *)names;
  struct qn_context *ctx = NULL;
  struct qn_source *src = NULL;
  struct qn_stats_result *res = NULL;
  struct qn_error err;
  qn_error_init(&err);
  int rc = qn_cli_context_ranks(&common, &ctx);
  if (rc != 0) goto done;
  /* under an MPI launcher every rank opens the source and runs the job;
   * rank 0 holds the result and writes it */
  int st = qn_source_open(ctx, (const char *const *)argv + optind, argc - optind, &src, &err);
  st = qn_cli_agree(&common, st, &err);
  if (st == QN_OK) st = qn_stats_run(ctx, src, &opt, &res, &err);
  if (st == QN_OK && qn_cli_rank0(&common)) st = qn_stats_write_json(res, output, &err);
  st = qn_cli_agree(&common, st, &err);
  if (st != QN_OK) rc = qn_cli_fail(st, &err);
done:
  qn_stats_result_free(res);
  qn_source_close(src);
  qn_context_free(ctx);
  qn_cli_common_reset(&common);
  free(names);
  return rc;
}
