/* cmd_group.c — `quern group`: one row per key with ordered lists. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static const char qn_group_help[] =
    "usage: quern group INPUT... --key COL [--order COL] [-c COLS] -o DIR\n"
    "                   [--split NAME=FRAC[,NAME=FRAC...]] [--seed S] [--shards N]\n"
    "                   [--format parquet|tfrecord|arrayrecord] [--codec C] [--spill-dir DIR]\n"
    "                   [--force] [options]\n"
    "\n"
    "Turns rows that are not grouped (measurements of many probes, say) into one\n"
    "row per key: the key, n (its rows) and, for every other column, the list of\n"
    "that key's values ordered by --order (ties and NaN/null orders: input\n"
    "position; NaN and nulls last). Keys are integers, timestamps or strings;\n"
    "rows with a null key are left out and counted. Each key goes to a split\n"
    "(a seeded hash of its bytes, so it stays there as the data grows) and a\n"
    "shard; each file holds its keys in ascending order. Works in any\n"
    "--memory-limit that holds the largest group: what does not fit is spilled,\n"
    "compressed, to --spill-dir and removed afterwards. The output appears at\n"
    "DIR only when complete, with manifest.json (counts, sizes, checksums: see\n"
    "quern verify). Every byte is the same for any --threads and --memory-limit.\n"
    "\n"
    "  -k, --key COL            the key column\n"
    "      --order COL          order of each list (numbers or timestamps)\n"
    "  -c, --columns A,B,...    list columns (default: every column but the key)\n"
    "  -o, --output DIR         the directory to create (must not exist or be empty)\n"
    "      --split N=F,...      splits and their fractions (default: all=1)\n"
    "      --seed S             seed of the split hash (default 0)\n"
    "      --shards N           files per split (default 1)\n"
    "      --format F           parquet (default: the standard 3-level LIST columns),\n"
    "                           tfrecord or arrayrecord (one tf.train.Example a row;\n"
    "                           float64 lists as float32, nulls in lists refused)\n"
    "      --codec C            parquet: snappy (default), zstd or none; tfrecord: none;\n"
    "                           arrayrecord: none (default) or zstd[:LEVEL], and\n"
    "                           group_size:N records a chunk (default 1), e.g. "
    "zstd,group_size:64\n"
    "      --spill-dir DIR      where spill files go (default: beside the output)\n"
    "      --force              replace an existing quern output directory\n" QN_CLI_COMMON_HELP
    "\n"
    "examples:\n"
    "  quern group meas.parquet --key probe_id --order ts -o probes \\\n"
    "      --split train=0.9,test=0.1 --memory-limit 2G\n"
    "  quern group 'shards/*.parquet' --key probe_id --order ts -c ts,value -o rows --shards "
    "8\n"
    "  quern group meas.parquet --key probe_id --order ts -o rec --format arrayrecord\n"
    "  quern verify probes\n";

/* Before any work: the output's parent directory exists and is writable
 * (the directory itself may exist: the library decides, with --force). */
static int qn_group_check_parent(const char *dir) {
  char parent[4096];
  snprintf(parent, sizeof parent, "%s", dir);
  size_t n = strlen(parent);
  while (n > 1 && parent[n - 1] == '/') parent[--n] = 0;
  char *slash = strrchr(parent, '/');
  if (!slash)
    snprintf(parent, sizeof parent, ".");
  else if (slash == parent)
    parent[1] = 0;
  else
    *slash = 0;
  struct stat st;
  if (stat(parent, &st) != 0 || !S_ISDIR(st.st_mode)) {
    fprintf(stderr, "quern: error: -o %s: directory '%s' does not exist\n", dir, parent);
    return 1;
  }
  if (access(parent, W_OK) != 0) {
    fprintf(stderr, "quern: error: -o %s: directory '%s' is not writable\n", dir, parent);
    return 1;
  }
  return 0;
}

/* "train=0.9,test=0.1" into splits (names point into text). */
static int qn_group_parse_splits(char *text, struct qn_group_split *out, int *n) {
  *n = 0;
  for (char *tok = strtok(text, ","); tok; tok = strtok(NULL, ",")) {
    char *eq = strchr(tok, '=');
    if (!eq || *n >= 16)
      return qn_cli_usage("group", "--split: '%s' is not NAME=FRACTION (at most 16)", tok);
    *eq = 0;
    char *end = NULL;
    double f = strtod(eq + 1, &end);
    if (!end || *end || end == eq + 1)
      return qn_cli_usage("group", "--split %s: '%s' is not a number", tok, eq + 1);
    out[(*n)++] = (struct qn_group_split){tok, f};
  }
  if (*n == 0) return qn_cli_usage("group", "--split needs NAME=FRACTION");
  return 0;
}

int qn_cmd_group(int argc, char **argv) {
  enum { O_ORDER = 2000, O_SPLIT, O_SEED, O_SHARDS, O_FORMAT, O_CODEC, O_SPILL, O_FORCE };
  static const struct option longopts[] = {
      QN_CLI_COMMON_LONGOPTS,
      {"key", required_argument, 0, 'k'},
      {"order", required_argument, 0, O_ORDER},
      {"columns", required_argument, 0, 'c'},
      {"output", required_argument, 0, 'o'},
      {"split", required_argument, 0, O_SPLIT},
      {"seed", required_argument, 0, O_SEED},
      {"shards", required_argument, 0, O_SHARDS},
      {"format", required_argument, 0, O_FORMAT},
      {"codec", required_argument, 0, O_CODEC},
      {"spill-dir", required_argument, 0, O_SPILL},
      {"force", no_argument, 0, O_FORCE},
      {0, 0, 0, 0},
  };
  struct qn_cli_common common;
  qn_cli_common_init(&common);
  struct qn_group_options opt;
  qn_group_options_init(&opt);
  struct qn_group_split splits[16];
  char *columns = NULL;
  long long v;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, QN_CLI_COMMON_SHORTOPTS "k:c:o:", longopts, NULL)) !=
         -1) {
    int h = qn_cli_common_option(&common, c, optarg);
    if (h < 0) return 2;
    if (h > 0) continue;
    switch (c) {
      case 'k':
        opt.key = optarg;
        break;
      case O_ORDER:
        opt.order = optarg;
        break;
      case 'c':
        columns = optarg;
        break;
      case 'o':
        opt.output = optarg;
        break;
      case O_SPLIT:
        if (qn_group_parse_splits(optarg, splits, &opt.nsplits) != 0) return 2;
        opt.splits = splits;
        break;
      case O_SEED:
        if (qn_cli_parse_i64("--seed", optarg, 0, INT64_MAX, &v) != 0) return 2;
        opt.seed = (uint64_t)v;
        break;
      case O_SHARDS:
        if (qn_cli_parse_i64("--shards", optarg, 1, 99999, &v) != 0) return 2;
        opt.shards = (int)v;
        break;
      case O_FORMAT:
        opt.format = optarg;
        break;
      case O_CODEC:
        opt.codec = optarg;
        break;
      case O_SPILL:
        opt.spill_dir = optarg;
        break;
      case O_FORCE:
        opt.force = 1;
        break;
      default:
        return qn_cli_bad_option("group", c, argv, longopts);
    }
  }
  if (qn_cli_help_or_version(&common, qn_group_help)) return 0;
  if (optind >= argc) return qn_cli_usage("group", "no input file given");
  if (!opt.key) return qn_cli_usage("group", "--key COL is required");
  if (!opt.output) return qn_cli_usage("group", "-o DIR is required");
  if (qn_group_check_parent(opt.output) != 0) return 1;
  char **names = NULL;
  int bad = qn_cli_columns("group", columns, &names, &opt.ncolumns);
  if (bad) return bad;
  opt.columns = (const char *const *)names;
  struct qn_context *ctx = NULL;
  struct qn_source *src = NULL;
  struct qn_error err;
  qn_error_init(&err);
  int rc = qn_cli_context_ranks(&common, &ctx);
  if (rc == 0) {
    int st = qn_source_open(ctx, (const char *const *)argv + optind, argc - optind, &src, &err);
    st = qn_cli_agree(&common, st, &err); /* every rank, or none, runs the job */
    if (st == QN_OK) st = qn_group_run(ctx, src, &opt, &err);
    st = qn_cli_agree(&common, st, &err);
    if (st != QN_OK) rc = qn_cli_fail(st, &err);
  }
  qn_source_close(src);
  qn_context_free(ctx);
  qn_cli_common_reset(&common);
  free(names);
  return rc;
}
