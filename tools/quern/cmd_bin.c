/* cmd_bin.c — `quern bin`: N-d histograms and per-bin statistics.
 *
 * Parses the options into a struct qn_bin_options (axis specs are parsed
 * by the library, qn_bin_axis_parse), checks that the output and plot
 * paths are writable before any work, runs qn_bin_run and saves with
 * qn_bin_save (output and plot appear together or not at all). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char qn_bin_help[] =
    "usage: quern bin INPUT... --axis SPEC [--axis SPEC ...] [--value COL]\n"
    "                 [--weight COL] [--stat LIST] [-o OUT] [--plot FILE.png] [options]\n"
    "\n"
    "Histograms and per-bin statistics over 1 to 8 axes, with the semantics of\n"
    "numpy.histogramdd and scipy.stats.binned_statistic_dd, streaming over any\n"
    "number of rows in bounded memory. Bins are [e_i, e_i+1) except the last,\n"
    "which includes its right edge; rows with NaN or an out-of-range axis value\n"
    "fall in no bin and are counted in \"out_of_range\". Output bytes are the same\n"
    "for any --threads and --memory-limit.\n"
    "\n"
    "axes (repeat --axis; the first is the slowest-varying index):\n"
    "  -a, --axis NAME:BINS:LO:HI  BINS regular bins over [LO, HI]; the edges are\n"
    "                              exactly numpy.linspace(LO, HI, BINS + 1)\n"
    "  -a, --axis NAME:BINS        LO and HI from the data's finite min and max\n"
    "                              (one extra pass; LO == HI widens to +-0.5)\n"
    "  -a, --axis NAME@E0,E1,...   irregular, non-decreasing edges\n"
    "  -a, --axis NAME@FILE        the same, one edge per line in FILE\n"
    "\n"
    "statistics:\n"
    "  -s, --stat LIST          comma list of count (default), sum, mean, std\n"
    "                           (population, ddof 0), min, max; the first one is\n"
    "                           plotted. Empty bins: count 0, sum 0, others NaN.\n"
    "                           A NaN value makes its bin's sum..max NaN.\n"
    "  -v, --value COL          the column that sum, mean, std, min, max describe\n"
    "  -w, --weight COL         count becomes the sum of COL per bin (numpy's\n"
    "                           weights=); the other statistics stay unweighted\n"
    "\n"
    "outputs:\n"
    "  -o, --output OUT         .json (default: JSON on stdout), .h5 (one dataset\n"
    "                           per statistic, edges in /edges/NAME) or .csv (one\n"
    "                           row per bin); NaN is null in JSON\n"
    "  -p, --plot FILE.png      1-D: bars of the first statistic; 2-D: heatmap\n"
    "                           with a colour bar; empty bins hatched\n" QN_CLI_COMMON_HELP
    "\n"
    "examples:\n"
    "  # 100-bin histogram of x over [0, 1] as JSON on stdout\n"
    "  quern bin sim.h5 --axis x:100:0:1\n"
    "  # the range from the data, like np.histogram(x, 100)\n"
    "  quern bin sim.h5 --axis x:100 --plot x.png -o x.json\n"
    "  # irregular edges, weighted counts (np.histogram(x, edges, weights=w))\n"
    "  quern bin sim.h5 --axis x@0,0.1,0.5,0.9,1 --weight w\n"
    "  # mean and std of v on a 100 x 100 grid of (x, y), with a heatmap\n"
    "  quern bin 'runs/*.h5' -a x:100:0:1 -a y:100:0:1 -v v -s mean,std,count \\\n"
    "      -o grid.h5 --plot mean.png\n"
    "  # read it back:  h5py.File('grid.h5')['mean'][...], ['edges/x'][...]\n"
    "\n"
    "exit codes: 0 ok, 1 runtime failure, 2 usage error (bad axis, unknown\n"
    "column), 3 the bin grids do not fit in --memory-limit (the message says\n"
    "how much they need).\n";

int qn_cmd_bin(int argc, char **argv) {
  static const struct option longopts[] = {
      QN_CLI_COMMON_LONGOPTS,
      {"axis", required_argument, 0, 'a'},
      {"value", required_argument, 0, 'v'},
      {"weight", required_argument, 0, 'w'},
      {"stat", required_argument, 0, 's'},
      {"output", required_argument, 0, 'o'},
      {"plot", required_argument, 0, 'p'},
      {0, 0, 0, 0},
  };
  struct qn_cli_common common;
  qn_cli_common_init(&common);
  struct qn_bin_options opt;
  qn_bin_options_init(&opt);
  struct qn_bin_axis_spec axes[QN_BIN_MAX_AXES];
  memset(axes, 0, sizeof axes);
  enum qn_bin_stat stats[QN_BIN_NSTATS];
  const char *output = NULL, *plot = NULL, *stat_text = NULL;
  const char *axis_text[QN_BIN_MAX_AXES + 1];
  int naxis_text = 0, too_many = 0;
  struct qn_context *ctx = NULL;
  struct qn_source *src = NULL;
  struct qn_bin_result *res = NULL;
  struct qn_error err;
  qn_error_init(&err);
  int rc = 0, c;
  optind = 1;
  while ((c = getopt_long(argc, argv, QN_CLI_COMMON_SHORTOPTS "a:v:w:s:o:p:", longopts,
                          NULL)) != -1) {
    int h = qn_cli_common_option(&common, c, optarg);
    if (h < 0) return 2;
    if (h > 0) continue;
    switch (c) {
      case 'a':
        if (naxis_text < QN_BIN_MAX_AXES)
          axis_text[naxis_text++] = optarg;
        else
          too_many++;
        break;
      case 'v':
        opt.value = optarg;
        break;
      case 'w':
        opt.weight = optarg;
        break;
      case 's':
        stat_text = optarg;
        break;
      case 'o':
        output = optarg;
        break;
      case 'p':
        plot = optarg;
        break;
      default:
        return qn_cli_bad_option("bin", c, argv, longopts);
    }
  }
  if (qn_cli_help_or_version(&common, qn_bin_help)) return 0;
  if (optind >= argc) return qn_cli_usage("bin", "no input file given");
  if (naxis_text == 0) return qn_cli_usage("bin", "give at least one --axis NAME:BINS:LO:HI");
  if (too_many)
    return qn_cli_usage("bin", "at most %d axes are supported, got %d", QN_BIN_MAX_AXES,
                        naxis_text + too_many);
  if (stat_text) {
    if (qn_bin_stats_parse(stat_text, stats, &opt.nstats, &err) != QN_OK)
      return qn_cli_usage("bin", "--stat: %s", err.message);
    opt.stats = stats;
    for (int i = 0; i < opt.nstats; i++)
      if (stats[i] != QN_BIN_COUNT && !opt.value)
        return qn_cli_usage("bin", "--stat %s needs --value COL (the column to summarise)",
                            qn_bin_stat_name(stats[i]));
  }
  for (int k = 0; k < naxis_text; k++) {
    int st = qn_bin_axis_parse(axis_text[k], &axes[k], &err);
    if (st != QN_OK) {
      rc = qn_cli_fail(st, &err);
      goto done;
    }
    opt.naxes = k + 1;
  }
  opt.axes = axes;
  /* the library's message names the file; the option is added here */
  if (qn_bin_output_check(output, NULL, naxis_text, &err) != QN_OK) {
    rc = qn_cli_usage("bin", "-o %s", err.message);
    goto done;
  }
  if (qn_bin_output_check(NULL, plot, naxis_text, &err) != QN_OK) {
    rc = qn_cli_usage("bin", "--plot %s", err.message);
    goto done;
  }
  if (qn_cli_check_output("-o", output) != 0 || qn_cli_check_output("--plot", plot) != 0) {
    rc = 1;
    goto done;
  }
  rc = qn_cli_context_ranks(&common, &ctx);
  if (rc != 0) goto done;
  int st = qn_source_open(ctx, (const char *const *)argv + optind, argc - optind, &src, &err);
  st = qn_cli_agree(&common, st, &err); /* every rank, or none, runs the job */
  if (st == QN_OK) st = qn_bin_run(ctx, src, &opt, &res, &err);
  if (st == QN_OK && qn_cli_rank0(&common)) st = qn_bin_save(res, output, plot, &err);
  st = qn_cli_agree(&common, st, &err);
  if (st != QN_OK) rc = qn_cli_fail(st, &err);
done:
  qn_bin_result_free(res);
  qn_source_close(src);
  qn_context_free(ctx);
  qn_cli_common_reset(&common);
  for (int k = 0; k < QN_BIN_MAX_AXES; k++) qn_bin_axis_spec_reset(&axes[k]);
  return rc;
}
