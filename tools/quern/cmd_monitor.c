/* cmd_monitor.c — `quern monitor [options] -- CMD [ARGS...]`: the memory
 * profile of any command as CSV, a PNG plot and a summary on stderr.
 *
 * Exit code: CMD's own (128+N when signal N killed it); 127 when CMD cannot
 * be started; 2 for a usage error; 1 when quern cannot write an output
 * (unless CMD itself failed: its code wins, it is the more important fact).
 * The work is qn_monitor_run() in libquern; this file parses options and
 * prints.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define QN_OPT_PLOT 2001
#define QN_OPT_PLOT_SIZE 2002
#define QN_OPT_TITLE 2003

static const char qn_monitor_help[] =
    "usage: quern monitor [options] -- CMD [ARGS...]\n"
    "\n"
    "Runs CMD, samples the resident memory (RSS) of it and of every process it\n"
    "starts, passes its exit code through, and prints peak, mean and final\n"
    "memory and the duration on stderr.\n"
    "\n"
    "options:\n"
    "  -i, --interval MS        sampling period in milliseconds (default 50)\n"
    "  -o, --output FILE.csv    samples as CSV: t_s,rss_bytes,processes\n"
    "      --plot FILE.png      memory (MiB) over time (s), the peak marked\n"
    "      --plot-size WxH      plot size in pixels (default 1200x675)\n"
    "      --title TEXT         plot title (default: the command line)\n"
    "  -q, --quiet              no summary\n"
    "  -h, --help               this help\n"
    "  -V, --version            print the version\n"
    "\n"
    "Exit code: CMD's; 128+N when signal N killed it; 127 when it cannot be\n"
    "started; 2 for a usage error; 1 when an output cannot be written.\n"
    "SIGINT, SIGTERM, SIGHUP and SIGQUIT sent to quern are forwarded to CMD.\n"
    "\n"
    "example: quern monitor -o mem.csv --plot mem.png -- python3 process_data.py\n";

struct qn_monitor_cli {
  struct qn_cli_common common;
  struct qn_monitor_options opt;
};

static int qn_monitor_parse_size(const char *text, int *w, int *h) {
  char *end = NULL;
  long a = strtol(text, &end, 10), b;
  if (end == text || (*end != 'x' && *end != 'X')) return -1;
  const char *second = end + 1;
  b = strtol(second, &end, 10);
  if (end == second || *end || a < 100 || a > 10000 || b < 100 || b > 10000) return -1;
  *w = (int)a;
  *h = (int)b;
  return 0;
}

/* Returns -1 to go on, else the exit code. */
static int qn_monitor_option(struct qn_monitor_cli *c, int o, const char *arg) {
  long long v;
  switch (o) {
    case 'i':
      if (qn_cli_parse_i64("--interval", arg, 1, QN_MONITOR_MAX_INTERVAL_MS, &v) != 0) return 2;
      c->opt.interval_ms = (int)v;
      return -1;
    case 'o':
      c->opt.csv_path = arg;
      return -1;
    case QN_OPT_PLOT:
      c->opt.plot_path = arg;
      return -1;
    case QN_OPT_TITLE:
      c->opt.title = arg;
      return -1;
    case QN_OPT_PLOT_SIZE:
      if (qn_monitor_parse_size(arg, &c->opt.plot_width, &c->opt.plot_height) != 0)
        return qn_cli_usage("monitor",
                            "--plot-size must be WxH with each 100 .. 10000, got '%s'", arg);
      return -1;
    default: {
      int r = qn_cli_common_option(&c->common, o, arg);
      if (r < 0) return 2;
      if (r == 0) return qn_cli_usage("monitor", "unknown option"); /* not reached */
      return -1;
    }
  }
}

static int qn_monitor_parse(struct qn_monitor_cli *c, int argc, char **argv) {
  static const struct option longopts[] = {
      QN_CLI_COMMON_LONGOPTS,
      {"interval", required_argument, 0, 'i'},
      {"output", required_argument, 0, 'o'},
      {"plot", required_argument, 0, QN_OPT_PLOT},
      {"plot-size", required_argument, 0, QN_OPT_PLOT_SIZE},
      {"title", required_argument, 0, QN_OPT_TITLE},
      {0, 0, 0, 0}};
  int o;
  /* '+': stop at CMD, so CMD's own options are never taken for ours. */
  while ((o = getopt_long(argc, argv, "+" QN_CLI_COMMON_SHORTOPTS "i:o:", longopts, NULL)) !=
         -1) {
    if (o == '?' || o == ':') return qn_cli_bad_option("monitor", o, argv, longopts);
    int r = qn_monitor_option(c, o, optarg);
    if (r >= 0) return r;
  }
  if (c->common.help || c->common.version) return -1;
  if (optind >= argc) return qn_cli_usage("monitor", "no command to run; put it after '--'");
  c->opt.argv = (const char *const *)(argv + optind);
  return -1;
}

static void qn_monitor_summary(const struct qn_monitor_cli *c,
                               const struct qn_monitor_result *res) {
  char pk[32], mn[32], fn[32], hw[32], cost[96] = "";
  /* The share of a core means little over a run shorter than a second. */
  if (res->duration_s >= 1)
    snprintf(cost, sizeof cost, "; sampling used %.2f%% of one core",
             100.0 * res->cpu_s / res->duration_s);
  fprintf(stderr, "quern monitor: %s\n", c->opt.argv[0]);
  if (res->samples > 0)
    fprintf(stderr,
            "  peak      %-11s at %.2f s, %d process%s\n"
            "  mean      %s\n"
            "  final     %s\n",
            qn_format_size(res->peak_bytes, pk, sizeof pk), res->peak_s, res->peak_processes,
            res->peak_processes == 1 ? "" : "es",
            qn_format_size(res->mean_bytes, mn, sizeof mn),
            qn_format_size(res->final_bytes, fn, sizeof fn));
  else
    fprintf(stderr, "  no sample: the command ended before the first one\n");
  fprintf(stderr, "  duration  %.2f s, %lld sample%s every %d ms%s\n", res->duration_s,
          (long long)res->samples, res->samples == 1 ? "" : "s", c->opt.interval_ms, cost);
  /* The kernel's high-water mark also holds the forked copy of quern before
   * exec (a few MiB), so only a clear excess is worth a line. */
  int64_t excess = res->max_rss_process_bytes - res->peak_bytes;
  if (excess > ((int64_t)16 << 20) && excess > res->peak_bytes / 10)
    fprintf(stderr,
            "  note      one process reached %s between samples (kernel high-water mark)\n",
            qn_format_size(res->max_rss_process_bytes, hw, sizeof hw));
  if (res->term_signal)
    fprintf(stderr, "  exit      %d (killed by signal %d)\n", res->exit_code, res->term_signal);
  else
    fprintf(stderr, "  exit      %d\n", res->exit_code);
}

int qn_cmd_monitor(int argc, char **argv) {
  struct qn_monitor_cli c;
  struct qn_monitor_result res;
  struct qn_error err;
  qn_cli_common_init(&c.common);
  qn_monitor_options_init(&c.opt);
  qn_error_init(&err);
  int code = qn_monitor_parse(&c, argc, argv);
  if (code >= 0) return code;
  if (qn_cli_help_or_version(&c.common, qn_monitor_help)) return 0;
  int st = qn_monitor_run(&c.opt, &res, &err);
  if (res.started && !c.common.ctx.quiet) qn_monitor_summary(&c, &res);
  if (st == QN_OK) return res.exit_code;
  if (st == QN_ECHILD) {
    qn_cli_fail(st, &err);
    return QN_MONITOR_EXIT_NOT_STARTED;
  }
  code = qn_cli_fail(st, &err);
  return res.started && res.exit_code != 0 ? res.exit_code : code;
}
