/* main.c — `quern CMD ...`: dispatch to one cmd_*.c per subcommand. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

struct qn_command {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *summary;
};

static void qn_usage(FILE *out) {
  const struct qn_command cmds[] = {
      {"stats", qn_cmd_stats, "per-column summary (count, nan, min, max, sum, mean, std)"},
      {"bin", qn_cmd_bin, "N-d binned statistics: histograms, mean/std per bin, plots"},
      {"gen", qn_cmd_gen, "synthetic data for demos and benchmarks"},
      {"info", qn_cmd_info, "what is in a file: columns, types, rows, layout"},
      {"convert", qn_cmd_convert, "between HDF5, Parquet and CSV"},
      {"monitor", qn_cmd_monitor, "memory profile of any command, as CSV and a plot"},
      {"group", qn_cmd_group, "one row per key, train/test split"},
      {"verify", qn_cmd_verify, "integrity of outputs"},
  };
  fprintf(out,
          "quern %s — statistics, binning and group-by over large HDF5, Parquet and CSV\n"
          "tables, in bounded memory, on every core, with results identical for any\n"
          "thread count.\n\n"
          "usage: quern COMMAND [options] INPUT...\n\ncommands:\n",
          qn_version());
  for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
    if (cmds[i].run) fprintf(out, "  %-9s %s\n", cmds[i].name, cmds[i].summary);
  fprintf(out,
          "\nRun 'quern COMMAND --help' for the options of a command.\n"
          "Exit codes: 0 ok, 1 runtime failure, 2 usage error, 3 memory limit too small.\n");
}

int main(int argc, char **argv) {
  const struct qn_command cmds[] = {
      {"stats", qn_cmd_stats, NULL},     {"bin", qn_cmd_bin, NULL},
      {"gen", qn_cmd_gen, NULL},         {"info", qn_cmd_info, NULL},
      {"convert", qn_cmd_convert, NULL}, {"monitor", qn_cmd_monitor, NULL},
      {"group", qn_cmd_group, NULL},     {"verify", qn_cmd_verify, NULL},
  };
  if (argc < 2) {
    char names[128] = "";
    size_t used = 0;
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
      if (cmds[i].run && used < sizeof names)
        used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", used ? ", " : "",
                                 cmds[i].name);
    fprintf(stderr, "quern: error: no command given; one of %s (see 'quern --help')\n", names);
    return 2;
  }
  const char *name = argv[1];
  if (!strcmp(name, "-h") || !strcmp(name, "--help") || !strcmp(name, "help")) {
    qn_usage(stdout);
    return 0;
  }
  if (!strcmp(name, "-V") || !strcmp(name, "--version")) {
    struct qn_context_options opt;
    qn_context_options_init(&opt);
    printf("quern %s\n", qn_version());
    qn_cli_print_defaults(&opt);
    return 0;
  }
  for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
    if (!strcmp(name, cmds[i].name) && cmds[i].run) return cmds[i].run(argc - 1, argv + 1);
  if (name[0] == '-' && name[1])
    fprintf(
        stderr,
        "quern: error: unknown option '%s'; options follow the command (see 'quern --help')\n",
        name);
  else
    fprintf(stderr, "quern: error: unknown command '%s' (see 'quern --help')\n", name);
  return 2;
}
