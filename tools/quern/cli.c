/* cli.c — common option handling and error reporting for subcommands. */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Whether this process prints errors: every rank of an MPI job meets the
 * same usage error, and agreed errors carry the same message on every
 * rank, so only rank 0 prints (read from the launcher's environment until
 * the comm is open, so that usage errors print once too). */
static int qn_cli_printer = -1;

static int qn_cli_prints(void) {
  if (qn_cli_printer < 0) {
    const char *r = getenv("OMPI_COMM_WORLD_RANK");
    if (!r) r = getenv("PMIX_RANK");
    qn_cli_printer = !r || atoi(r) == 0;
  }
  return qn_cli_printer;
}

void qn_cli_common_init(struct qn_cli_common *c) {
  memset(c, 0, sizeof *c);
  qn_context_options_init(&c->ctx);
}

int qn_cli_parse_i64(const char *opt, const char *text, long long lo, long long hi,
                     long long *out) {
  char *end = NULL;
  errno = 0;
  long long v = strtoll(text, &end, 10);
  if (errno || end == text || *end || v < lo || v > hi) {
    fprintf(stderr, "quern: error: %s must be an integer in [%lld, %lld], got '%s'\n", opt, lo,
            hi, text);
    return -1;
  }
  *out = v;
  return 0;
}

int qn_cli_common_option(struct qn_cli_common *c, int opt, const char *arg) {
  long long v;
  struct qn_error err;
  switch (opt) {
    case 't':
      if (qn_cli_parse_i64("--threads", arg, 1, 4096, &v) != 0) return -1;
      c->ctx.threads = (int)v;
      return 1;
    case 'm': {
      int64_t bytes;
      qn_error_init(&err);
      if (qn_parse_size(arg, &bytes, &err) != QN_OK) {
        fprintf(stderr, "quern: error: --memory-limit: %s\n", err.message);
        return -1;
      }
      c->ctx.memory_limit = bytes;
      return 1;
    }
    case QN_OPT_NO_PROGRESS:
      c->ctx.progress = 0;
      return 1;
    case 'q':
      c->ctx.quiet = 1;
      c->ctx.progress = 0;
      return 1;
    case 'h':
      c->help = 1;
      return 1;
    case 'V':
      c->version = 1;
      return 1;
    default:
      return 0;
  }
}

/* The long option `arg` ("--name" or "--name=value") names: exact match,
 * else the only one it is a prefix of (as getopt_long abbreviates). Sets
 * *nmatch to how many options it is a prefix of; NULL when not unique. */
static const struct option *qn_cli_find_long(const char *arg, const struct option *lo,
                                             int *nmatch) {
  const char *name = arg + 2;
  size_t len = strcspn(name, "=");
  const struct option *found = NULL;
  *nmatch = 0;
  for (; lo && lo->name; lo++) {
    if (strncmp(lo->name, name, len) != 0) continue;
    if (strlen(lo->name) == len) {
      *nmatch = 1;
      return lo;
    }
    found = lo;
    (*nmatch)++;
  }
  return *nmatch == 1 ? found : NULL;
}

int qn_cli_bad_option(const char *cmd, int code, char *const *argv,
                      const struct option *longopts) {
  /* getopt_long has stepped past a long option it rejects, and past a short
   * option whose value is missing (that happens only at the end of argv);
   * an unknown short option is in optopt, its element may not be behind. */
  const char *arg = optind > 0 ? argv[optind - 1] : "";
  int nmatch = 0;
  const struct option *o = NULL;
  int is_long = strncmp(arg, "--", 2) == 0 && arg[2];
  if (is_long) {
    o = qn_cli_find_long(arg, longopts, &nmatch);
    /* An unknown short option after a good long one: optopt is the short. */
    if (optopt != 0 && !(o && o->val == optopt && (code == ':' || strchr(arg, '='))))
      is_long = 0;
  }
  if (!is_long) {
    if (code == ':') return qn_cli_usage(cmd, "option '-%c' needs a value", optopt);
    return qn_cli_usage(cmd, "unknown option '-%c'", optopt);
  }
  int len = (int)strcspn(arg, "=");
  if (code == ':' && o) return qn_cli_usage(cmd, "option '--%s' needs a value", o->name);
  if (optopt != 0 && o) return qn_cli_usage(cmd, "option '--%s' takes no value", o->name);
  if (nmatch > 1) {
    char list[256] = "";
    size_t used = 0, plen = (size_t)len - 2;
    for (const struct option *p = longopts; p && p->name; p++)
      if (strncmp(p->name, arg + 2, plen) == 0 && used < sizeof list)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s--%s", used ? ", " : "",
                                 p->name);
    return qn_cli_usage(cmd, "ambiguous option '%.*s' (could be %s)", len, arg, list);
  }
  return qn_cli_usage(cmd, "unknown option '%.*s'", len, arg);
}

int qn_cli_fail(int status, const struct qn_error *err) {
  const char *msg =
      (err && err->code != QN_OK && err->message[0]) ? err->message : qn_status_str(status);
  /* The library speaks of "the memory limit"; the tool names its option. */
  const char *hint =
      status == QN_ELIMIT && strstr(msg, "memory limit") ? " (option -m/--memory-limit)" : "";
  if (qn_cli_prints()) fprintf(stderr, "quern: error: %s%s\n", msg, hint);
  return qn_status_exit_code(status);
}

int qn_cli_usage(const char *cmd, const char *fmt, ...) {
  if (!qn_cli_prints()) return 2;
  va_list ap;
  va_start(ap, fmt);
  fputs("quern: error: ", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, " (see 'quern %s --help')\n", cmd);
  return 2;
}

int qn_cli_context(const struct qn_cli_common *c, struct qn_context **ctx) {
  struct qn_error err;
  qn_error_init(&err);
  int st = qn_context_new(&c->ctx, ctx, &err);
  return st == QN_OK ? 0 : qn_cli_fail(st, &err);
}

int qn_cli_context_ranks(struct qn_cli_common *c, struct qn_context **ctx) {
  struct qn_error err;
  qn_error_init(&err);
  int st = qn_comm_open(&c->ctx.comm, &err);
  if (st != QN_OK) return qn_cli_fail(st, &err);
  qn_cli_printer = qn_comm_rank(c->ctx.comm) == 0;
  return qn_cli_context(c, ctx);
}

int qn_cli_agree(const struct qn_cli_common *c, int status, struct qn_error *err) {
  return qn_comm_agree(c->ctx.comm, status, err);
}

int qn_cli_rank0(const struct qn_cli_common *c) {
  return qn_comm_rank(c->ctx.comm) == 0;
}

void qn_cli_common_reset(struct qn_cli_common *c) {
  qn_comm_close(c->ctx.comm);
  c->ctx.comm = NULL;
}

int qn_cli_check_output(const char *opt, const char *path) {
  if (!path || strcmp(path, "-") == 0) return 0;
  char dir[4096];
  const char *slash = strrchr(path, '/');
  if (!slash)
    snprintf(dir, sizeof dir, ".");
  else if (slash == path)
    snprintf(dir, sizeof dir, "/");
  else
    snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
  struct stat st;
  const char *why = NULL;
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
    why = "does not exist";
  else if (access(dir, W_OK) != 0)
    why = "is not writable";
  if (why) {
    if (qn_cli_prints())
      fprintf(stderr, "quern: error: %s %s: directory '%s' %s\n", opt, path, dir, why);
    return 1;
  }
  if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
    if (qn_cli_prints()) fprintf(stderr, "quern: error: %s %s: is a directory\n", opt, path);
    return 1;
  }
  return 0;
}

int qn_cli_split_list(char *text, char ***out, int *n) {
  int cap = 1;
  for (char *p = text; *p; p++) cap += *p == ',';
  char **v = calloc((size_t)cap, sizeof *v);
  if (!v) return -1;
  int k = 0;
  char *save = NULL;
  for (char *tok = strtok_r(text, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
    v[k++] = tok;
  *out = v;
  *n = k;
  return 0;
}

int qn_cli_help_or_version(const struct qn_cli_common *c, const char *help) {
  if ((c->help || c->version) && !qn_cli_prints()) return 1; /* rank 0 prints it, once */
  if (c->help) {
    fputs(help, stdout);
  } else if (c->version) {
    printf("quern %s\n", qn_version());
    qn_cli_print_defaults(&c->ctx);
  }
  return c->help || c->version;
}

void qn_cli_print_defaults(const struct qn_context_options *opt) {
  struct qn_context *ctx = NULL;
  if (qn_context_new(opt, &ctx, NULL) != QN_OK) return;
  char size[32];
  int64_t limit = qn_context_memory_limit(ctx);
  printf("threads: %d\nmemory limit: %s (%lld bytes)\n", qn_context_threads(ctx),
         qn_format_size(limit, size, sizeof size), (long long)limit);
  qn_context_free(ctx);
}

int qn_cli_columns(const char *cmd, char *text, char ***names, int *n) {
  *names = NULL;
  if (!text) return 0;
  if (qn_cli_split_list(text, names, n) != 0) return 1;
  if (*n == 0) {
    free(*names);
    *names = NULL;
    return qn_cli_usage(cmd, "-c needs at least one column name");
  }
  return 0;
}
