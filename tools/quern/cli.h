/* cli.h — what every quern subcommand shares: the common options, error
 * printing and the exit-code contract of docs/cli.md. Uses only quern.h. */
#ifndef QN_CLI_H
#define QN_CLI_H

#include <getopt.h>
#include <stdio.h>

#include "quern.h"

#define QN_OPT_NO_PROGRESS 1000
/* Long options common to every command; put first in a command's table. */
#define QN_CLI_COMMON_LONGOPTS                                                             \
  {"threads", required_argument, 0, 't'}, {"memory-limit", required_argument, 0, 'm'},     \
      {"no-progress", no_argument, 0, QN_OPT_NO_PROGRESS}, {"quiet", no_argument, 0, 'q'}, \
      {"help", no_argument, 0, 'h'}, {                                                     \
    "version", no_argument, 0, 'V'                                                         \
  }
/* The leading ':' makes getopt_long return ':' for a missing value and keep
 * quiet: qn_cli_bad_option prints the one error line. Put it first in a
 * command's option string (after '+' where there is one). */
#define QN_CLI_COMMON_SHORTOPTS ":t:m:qhV"

#define QN_CLI_COMMON_HELP                                                         \
  "  -t, --threads N          worker threads (default: the CPUs this process\n"    \
  "                           may run on)\n"                                       \
  "  -m, --memory-limit SIZE  hard budget for the whole process: 256M, 2G, 1.5G\n" \
  "                           (default: 80% of physical memory, or of the\n"       \
  "                           cgroup's memory limit when that is smaller)\n"       \
  "      --no-progress        no progress bar (it is shown only on a terminal)\n"  \
  "  -q, --quiet              only errors on stderr\n"                             \
  "  -h, --help               this help\n"                                         \
  "  -V, --version            the version, and the threads and memory limit\n"     \
  "                           this command would use\n"

struct qn_cli_common {
  struct qn_context_options ctx;
  int help, version;
};

void qn_cli_common_init(struct qn_cli_common *c);
/* Handles a common option. Returns 1 when handled, 0 when `opt` is not a
 * common option, -1 on a bad value (message printed; exit 2). */
int qn_cli_common_option(struct qn_cli_common *c, int opt, const char *arg);
/* After option parsing: prints the help text for --help, or for --version
 * the version and the thread count and memory limit the command would use
 * with these options, and returns 1 (the command then exits 0); else 0. */
int qn_cli_help_or_version(const struct qn_cli_common *c, const char *help);
/* Prints "threads: N" and "memory limit: SIZE (BYTES bytes)", what a
 * context made from `opt` gets (the defaults where opt leaves them 0). */
void qn_cli_print_defaults(const struct qn_context_options *opt);
/* For a getopt_long result `code` of '?' or ':' (called right after it, with
 * the same argv and long options): prints one line naming the option —
 * unknown, ambiguous, missing its value or given a value it does not take
 * — and returns 2. */
int qn_cli_bad_option(const char *cmd, int code, char *const *argv,
                      const struct option *longopts);
/* Prints "quern: error: MESSAGE" and returns the exit code for status. */
int qn_cli_fail(int status, const struct qn_error *err);
/* Prints "quern: error: ..." (printf style) and returns exit code 2. */
int qn_cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Makes a context from the common options; on failure prints and returns
 * the exit code (else 0). */
int qn_cli_context(const struct qn_cli_common *c, struct qn_context **ctx);
/* The same for a command that runs across the ranks of an MPI launcher
 * (stats, bin, group): joins the job first (qn_comm_open; alone when no
 * launcher started us), then makes the context with it. From then on only
 * rank 0 prints errors. qn_cli_common_reset ends the job's MPI (call it
 * after freeing the context, on every path). */
int qn_cli_context_ranks(struct qn_cli_common *c, struct qn_context **ctx);
/* qn_comm_agree on the command's comm: every rank calls it at the same
 * point; all return the lowest failing rank's status and message. */
int qn_cli_agree(const struct qn_cli_common *c, int status, struct qn_error *err);
int qn_cli_rank0(const struct qn_cli_common *c); /* rank 0, or alone */
void qn_cli_common_reset(struct qn_cli_common *c);
/* Before any work: fails (exit 1, message printed) when the directory of
 * output path `path` does not exist or is not writable. Returns 0 if fine. */
int qn_cli_check_output(const char *opt, const char *path);
/* Splits "a,b,c" in place into *n names (a malloc'd array the caller
 * frees; the strings point into text). Returns -1 on ENOMEM. */
int qn_cli_split_list(char *text, char ***out, int *n);
/* The -c COLS option of `cmd`: NULL text leaves *names NULL and *n as it
 * is; else the names as qn_cli_split_list splits them (the caller frees
 * *names). Returns 0, or the exit code with the message printed (an empty
 * list is a usage error). */
int qn_cli_columns(const char *cmd, char *text, char ***names, int *n);
/* Parses an integer option value in [lo, hi]; -1 with a message if bad. */
int qn_cli_parse_i64(const char *opt, const char *text, long long lo, long long hi,
                     long long *out);

/* One per cmd_*.c. Weak, so the tool links while a command is being built;
 * main.c lists only those present. */
int qn_cmd_stats(int argc, char **argv) __attribute__((weak));
int qn_cmd_gen(int argc, char **argv) __attribute__((weak));
int qn_cmd_info(int argc, char **argv) __attribute__((weak));
int qn_cmd_bin(int argc, char **argv) __attribute__((weak));
int qn_cmd_convert(int argc, char **argv) __attribute__((weak));
int qn_cmd_monitor(int argc, char **argv) __attribute__((weak));
int qn_cmd_group(int argc, char **argv) __attribute__((weak));
int qn_cmd_verify(int argc, char **argv) __attribute__((weak));

#endif
