/* cmd_gen.c — `quern gen`: synthetic data. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char qn_gen_help[] =
    "usage: quern gen sim --rows N -o FILE.h5|FILE.parquet [--seed S]\n"
    "       quern gen measurements --rows N --keys K -o FILE.parquet [--seed S]\n"
    "\n"
    "Realistic synthetic inputs for demos, tests and benchmarks. The same seed\n"
    "gives the same bytes, whatever the thread count.\n"
    "\n"
    "  sim           x, y, z uniform in [0, 1) and v standard normal (float64),\n"
    "                HDF5 in chunks of 1Mi rows, or Parquet\n"
    "  measurements  probe_id (int64, K keys, skewed group sizes, unordered),\n"
    "                ts (timestamp), value (float64), quality (int32), label (string)\n"
    "\n"
    "  -n, --rows N      rows to write (1e8 and 100M are accepted)\n"
    "  -k, --keys K      distinct probe ids, 1 to N (measurements; default N/26)\n"
    "  -s, --seed S      random seed (default 42)\n"
    "  -o, --output FILE output file; the format follows the extension\n"
    "      --codec C     Parquet codec: snappy (default), zstd, gzip, none\n" QN_CLI_COMMON_HELP
    "\n"
    "examples:\n"
    "  quern gen sim --rows 1e8 -o sim.h5\n"
    "  quern gen measurements --rows 20M --keys 800K -o meas.parquet\n";

/* Accepts 1000000, 1e6, 10M, 2.5K (decimal multipliers). */
static int qn_parse_count(const char *opt, const char *text, int64_t *out) {
  char *end = NULL;
  double v = strtod(text, &end);
  double mult = 1;
  if (end && *end == 'K')
    mult = 1e3, end++;
  else if (end && *end == 'M')
    mult = 1e6, end++;
  else if (end && *end == 'G')
    mult = 1e9, end++;
  double r = v * mult;
  if (end == text || *end || !(r >= 0) || r > 9e15 || r != (double)(int64_t)r) {
    fprintf(stderr,
            "quern: error: %s must be a whole number >= 0 such as 1000000, 1e6 or 10M, got "
            "'%s'\n",
            opt, text);
    return -1;
  }
  *out = (int64_t)r;
  return 0;
}

/* measurements: every one of the K probe ids appears in at least one row,
 * so 1 <= K <= rows (K defaults to rows/26, at least 1). */
static int qn_gen_check_keys(struct qn_gen_options *opt, int have_keys) {
  if (opt->rows == 0)
    return qn_cli_usage("gen", "--rows 0: measurements need at least one row (one per probe)");
  if (!have_keys) opt->keys = opt->rows / 26 > 0 ? opt->rows / 26 : 1;
  if (opt->keys == 0)
    return qn_cli_usage("gen", "--keys 0: measurements need at least one key");
  if (opt->keys > opt->rows)
    return qn_cli_usage(
        "gen",
        "--keys %lld is more than --rows %lld: every probe id appears in at least "
        "one row",
        (long long)opt->keys, (long long)opt->rows);
  return 0;
}

int qn_cmd_gen(int argc, char **argv) {
  static const struct option longopts[] = {
      QN_CLI_COMMON_LONGOPTS,
      {"rows", required_argument, 0, 'n'},
      {"keys", required_argument, 0, 'k'},
      {"seed", required_argument, 0, 's'},
      {"output", required_argument, 0, 'o'},
      {"codec", required_argument, 0, 'C'},
      {0, 0, 0, 0},
  };
  struct qn_cli_common common;
  qn_cli_common_init(&common);
  struct qn_gen_options opt;
  qn_gen_options_init(&opt);
  int have_rows = 0, have_keys = 0, c;
  optind = 1;
  while ((c = getopt_long(argc, argv, QN_CLI_COMMON_SHORTOPTS "n:k:s:o:", longopts, NULL)) !=
         -1) {
    int h = qn_cli_common_option(&common, c, optarg);
    if (h < 0) return 2;
    if (h > 0) continue;
    long long v;
    switch (c) {
      case 'n':
        if (qn_parse_count("--rows", optarg, &opt.rows) != 0) return 2;
        have_rows = 1;
        break;
      case 'k':
        if (qn_parse_count("--keys", optarg, &opt.keys) != 0) return 2;
        have_keys = 1;
        break;
      case 's':
        if (qn_cli_parse_i64("--seed", optarg, 0, INT64_MAX, &v) != 0) return 2;
        opt.seed = (uint64_t)v;
        break;
      case 'o':
        opt.output = optarg;
        break;
      case 'C':
        opt.codec = optarg;
        break;
      default:
        return qn_cli_bad_option("gen", c, argv, longopts);
    }
  }
  if (qn_cli_help_or_version(&common, qn_gen_help)) return 0;
  if (optind >= argc) return qn_cli_usage("gen", "which data? 'sim' or 'measurements'");
  if (optind + 1 < argc)
    return qn_cli_usage("gen", "unexpected argument '%s'", argv[optind + 1]);
  opt.kind = argv[optind];
  if (strcmp(opt.kind, "sim") && strcmp(opt.kind, "measurements"))
    return qn_cli_usage("gen", "unknown kind '%s' (expected sim or measurements)", opt.kind);
  if (!have_rows) return qn_cli_usage("gen", "--rows N is required");
  if (!opt.output) return qn_cli_usage("gen", "-o FILE is required");
  if (!strcmp(opt.kind, "measurements")) {
    int rc = qn_gen_check_keys(&opt, have_keys);
    if (rc != 0) return rc;
  }
  struct qn_context *ctx = NULL;
  int rc = qn_cli_context(&common, &ctx);
  if (rc != 0) return rc;
  struct qn_error err;
  qn_error_init(&err);
  int st = qn_gen_run(ctx, &opt, &err);
  if (st != QN_OK) rc = qn_cli_fail(st, &err);
  qn_context_free(ctx);
  return rc;
}
