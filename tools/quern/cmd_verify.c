/* cmd_verify.c — `quern verify`: integrity of a group output. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char qn_verify_help[] =
    "usage: quern verify DIR|DIR/manifest.json [--json]\n"
    "\n"
    "Checks a directory written by quern group against its manifest.json: every\n"
    "listed file is present with its recorded size and XXH3-128 checksum, its\n"
    "Parquet footer reads and holds the recorded keys and rows, no unlisted file\n"
    "is there, and files, splits and totals add up. Prints one line per problem\n"
    "and a summary. Exit 0 when all holds, 1 when anything does not, 2 for a\n"
    "usage error.\n"
    "\n"
    "      --json               one JSON object instead of lines\n"
    "  -h, --help               this help\n"
    "\n"
    "examples:\n"
    "  quern verify probes\n"
    "  quern verify probes/manifest.json --json\n";

int qn_cmd_verify(int argc, char **argv) {
  enum { O_JSON = 2000 };
  static const struct option longopts[] = {
      QN_CLI_COMMON_LONGOPTS,
      {"json", no_argument, 0, O_JSON},
      {0, 0, 0, 0},
  };
  struct qn_cli_common common;
  qn_cli_common_init(&common);
  int json = 0, c;
  optind = 1;
  while ((c = getopt_long(argc, argv, QN_CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
    int h = qn_cli_common_option(&common, c, optarg);
    if (h < 0) return 2;
    if (h > 0) continue;
    if (c == O_JSON)
      json = 1;
    else
      return qn_cli_bad_option("verify", c, argv, longopts);
  }
  if (qn_cli_help_or_version(&common, qn_verify_help)) return 0;
  if (optind >= argc) return qn_cli_usage("verify", "no directory given");
  if (optind + 1 < argc) return qn_cli_usage("verify", "one directory at a time");
  struct qn_error err;
  qn_error_init(&err);
  int64_t problems = 0;
  int st = qn_verify_run(argv[optind], json, stdout, &problems, &err);
  if (st != QN_OK) return qn_cli_fail(st, &err);
  return problems ? 1 : 0;
}
