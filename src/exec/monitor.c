/* monitor.c — `quern monitor`: run a command, sample the resident memory of
 * its whole process tree, pass its exit status through, write CSV and plot.
 *
 * Design:
 * - The process tree is walked from the monitor itself through
 *   /proc/PID/task/TID/children (one small read per thread, so the cost of a
 *   sample grows with the size of CMD's tree, not with the number of
 *   processes on the machine); kernels without that file fall back to a scan
 *   of every /proc/PID/stat. The resident size of each process is the second
 *   field of /proc/PID/statm. A process that vanishes between the walk and
 *   the read is skipped: every read failure is "gone", never an error.
 * - The monitor makes itself a child subreaper for the run, so a grandchild
 *   orphaned by an exiting shell is re-parented to it and stays counted.
 * - Waiting is sigtimedwait() on a blocked set {SIGCHLD, SIGINT, SIGTERM,
 *   SIGHUP, SIGQUIT} with a timeout to the next sample: no handler, no
 *   busy loop, and the exit of CMD is noticed at once, not at the next tick.
 * - exec failure travels back through a close-on-exec pipe (the errno), so
 *   "cannot start" is told apart from "CMD exited 127" and the first sample
 *   is taken after exec, not of the forked copy of quern.
 * Bounds: CSV rows are streamed to the output file as they are taken; the
 * points kept for the plot are at most QN_MON_PLOT_POINTS (pairs are merged
 * keeping the higher value when full, so the peak survives). The walk keeps
 * one pid array sized to the largest tree seen.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/qn_core.h"
#include "plot/qn_plot.h"

#define QN_MON_PLOT_POINTS 65536
#define QN_MON_TITLE_MAX 160

/* ----- process tree walk ----- */

struct qn_mon_tree {
  int *pids;
  size_t n, cap;
  long page;
  int children_file; /* /proc/PID/task/TID/children exists */
};

static int qn_mon_tree_init(struct qn_mon_tree *t) {
  char path[64];
  memset(t, 0, sizeof *t);
  t->page = sysconf(_SC_PAGESIZE);
  if (t->page <= 0) t->page = 4096;
  snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)getpid(), (int)getpid());
  t->children_file = access(path, R_OK) == 0;
  t->cap = 256;
  t->pids = malloc(t->cap * sizeof *t->pids);
  return t->pids ? QN_OK : QN_ENOMEM;
}

static void qn_mon_tree_reset(struct qn_mon_tree *t) {
  free(t->pids);
  t->pids = NULL;
}

static int qn_mon_tree_push(struct qn_mon_tree *t, int pid) {
  if (t->n == t->cap) {
    int *p = realloc(t->pids, 2 * t->cap * sizeof *p);
    if (!p) return QN_ENOMEM;
    t->pids = p;
    t->cap *= 2;
  }
  t->pids[t->n++] = pid;
  return QN_OK;
}

/* Reads a whole small /proc file into buf (NUL-terminated); -1 if gone. */
static ssize_t qn_mon_read(const char *path, char *buf, size_t cap) {
  size_t n = 0;
  ssize_t r, result = -1;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) goto done;
  while (n + 1 < cap && (r = read(fd, buf + n, cap - 1 - n)) != 0) {
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) goto done;
    n += (size_t)r;
  }
  buf[n] = '\0';
  result = (ssize_t)n;
done:
  if (fd >= 0) close(fd);
  return result;
}

/* Appends the pids listed in one task's children file. The file is read in
 * chunks; a number split across two chunks is carried over. */
static int qn_mon_task_children(struct qn_mon_tree *t, const char *path) {
  int status = QN_OK;
  char buf[4096];
  long cur = -1;
  ssize_t r;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return QN_OK; /* the task is gone */
  while ((r = read(fd, buf, sizeof buf)) != 0) {
    if (r < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (ssize_t i = 0; i < r; i++) {
      if (buf[i] >= '0' && buf[i] <= '9') {
        cur = (cur < 0 ? 0 : cur * 10) + (buf[i] - '0');
      } else if (cur >= 0) {
        QN_CHECK(qn_mon_tree_push(t, (int)cur));
        cur = -1;
      }
    }
  }
  if (cur >= 0) status = qn_mon_tree_push(t, (int)cur);
done:
  close(fd);
  return status;
}

static int qn_mon_children_of(struct qn_mon_tree *t, int pid) {
  int status = QN_OK;
  char path[96];
  snprintf(path, sizeof path, "/proc/%d/task", pid);
  DIR *d = opendir(path);
  if (!d) return QN_OK;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    snprintf(path, sizeof path, "/proc/%d/task/%.16s/children", pid, e->d_name);
    QN_CHECK(qn_mon_task_children(t, path));
  }
done:
  closedir(d);
  return status;
}

/* ppid of pid from /proc/PID/stat; -1 if gone. The command name in field 2
 * may hold spaces and parentheses, so parse after the last ')'. */
static int qn_mon_ppid(int pid) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  if (qn_mon_read(path, buf, sizeof buf) <= 0) return -1;
  const char *p = strrchr(buf, ')');
  int ppid = -1;
  char state;
  if (!p || sscanf(p + 1, " %c %d", &state, &ppid) != 2) return -1;
  return ppid;
}

/* Fallback without children files: every pid whose parent chain reaches
 * root, found by repeated passes over the (pid, ppid) table. */
static int qn_mon_scan_all(struct qn_mon_tree *t, int root) {
  int status = QN_OK;
  size_t cap = 1024, n = 0;
  int *pid = malloc(cap * sizeof *pid), *ppid = malloc(cap * sizeof *ppid);
  DIR *d = opendir("/proc");
  if (!pid || !ppid || !d) {
    status = d ? QN_ENOMEM : QN_EIO;
    goto done;
  }
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    int p = atoi(e->d_name), pp;
    if (p <= 0 || (pp = qn_mon_ppid(p)) < 0) continue;
    if (n == cap) {
      int *a = realloc(pid, 2 * cap * sizeof *a),
          *b = a ? realloc(ppid, 2 * cap * sizeof *b) : NULL;
      if (a) pid = a;
      if (b) ppid = b;
      if (!a || !b) {
        status = QN_ENOMEM;
        goto done;
      }
      cap *= 2;
    }
    pid[n] = p;
    ppid[n++] = pp;
  }
  /* t->pids holds root; each pass adds the children of the pids the
   * previous pass added. A tree of depth D takes D passes. */
  for (size_t from = 0, to = t->n; from < to; from = to, to = t->n)
    for (size_t i = 0; i < n; i++)
      for (size_t k = from; k < to; k++)
        if (ppid[i] == t->pids[k] && pid[i] != root) {
          QN_CHECK(qn_mon_tree_push(t, pid[i]));
          break;
        }
done:
  if (d) closedir(d);
  free(pid);
  free(ppid);
  return status;
}

static int qn_mon_cmp_int(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

/* Fills t->pids with root's descendants (and root when include_root),
 * each once. A process re-parented during the walk may be listed twice. */
static int qn_mon_walk(struct qn_mon_tree *t, int root, int include_root) {
  int status = QN_OK;
  t->n = 0;
  QN_CHECK(qn_mon_tree_push(t, root));
  if (t->children_file) {
    for (size_t i = 0; i < t->n; i++) QN_CHECK(qn_mon_children_of(t, t->pids[i]));
  } else {
    QN_CHECK(qn_mon_scan_all(t, root));
  }
  if (!include_root) {
    t->pids[0] = t->pids[t->n - 1];
    t->n--;
  }
  qsort(t->pids, t->n, sizeof *t->pids, qn_mon_cmp_int);
  size_t k = 0;
  for (size_t i = 0; i < t->n; i++)
    if (k == 0 || t->pids[i] != t->pids[k - 1]) t->pids[k++] = t->pids[i];
  t->n = k;
done:
  return status;
}

/* Sums resident memory over t->pids; processes gone or without any
 * resident page (zombies) are not counted. */
static void qn_mon_sum(const struct qn_mon_tree *t, int64_t *bytes, int *procs) {
  char path[64], buf[256];
  int64_t sum = 0;
  int count = 0;
  for (size_t i = 0; i < t->n; i++) {
    long size, resident;
    snprintf(path, sizeof path, "/proc/%d/statm", t->pids[i]);
    if (qn_mon_read(path, buf, sizeof buf) <= 0) continue;
    if (sscanf(buf, "%ld %ld", &size, &resident) != 2 || resident <= 0) continue;
    sum += (int64_t)resident * t->page;
    count++;
  }
  *bytes = sum;
  *procs = count;
}

int qn_proc_tree_rss(int pid, int include_root, int64_t *rss_bytes, int *processes,
                     struct qn_error *err) {
  int status = QN_OK;
  struct qn_mon_tree t;
  char path[64];
  snprintf(path, sizeof path, "/proc/%d", pid);
  if (pid <= 0 || access(path, F_OK) != 0)
    return qn_error_set(err, QN_ENOTFOUND, "no process with pid %d", pid);
  if (qn_mon_tree_init(&t) != QN_OK) {
    status = qn_error_set(err, QN_ENOMEM, "out of memory walking the process tree");
    goto done;
  }
  if (qn_mon_walk(&t, pid, include_root) != QN_OK) {
    status = qn_error_set(err, QN_ENOMEM, "out of memory walking the tree of pid %d", pid);
    goto done;
  }
  qn_mon_sum(&t, rss_bytes, processes);
done:
  qn_mon_tree_reset(&t);
  return status;
}

/* ----- samples kept for the plot ----- */

struct qn_mon_points {
  double *t, *rss; /* seconds, bytes */
  size_t n;
  size_t stride; /* samples merged into one point */
  size_t group;  /* samples in the open group */
  double group_t, group_max;
};

static int qn_mon_points_init(struct qn_mon_points *p) {
  memset(p, 0, sizeof *p);
  p->stride = 1;
  p->t = malloc(QN_MON_PLOT_POINTS * sizeof *p->t);
  p->rss = malloc(QN_MON_PLOT_POINTS * sizeof *p->rss);
  return p->t && p->rss ? QN_OK : QN_ENOMEM;
}

static void qn_mon_points_reset(struct qn_mon_points *p) {
  free(p->t);
  free(p->rss);
}

static void qn_mon_points_flush(struct qn_mon_points *p) {
  if (p->group == 0) return;
  if (p->n == QN_MON_PLOT_POINTS) {
    /* Full: halve by merging neighbours, keeping the higher value so the
     * peak is never lost, and merge twice as many samples from now on. */
    for (size_t i = 0; i < p->n / 2; i++) {
      p->t[i] = p->t[2 * i];
      p->rss[i] = fmax(p->rss[2 * i], p->rss[2 * i + 1]);
    }
    p->n /= 2;
    p->stride *= 2;
  }
  p->t[p->n] = p->group_t;
  p->rss[p->n++] = p->group_max;
  p->group = 0;
}

static void qn_mon_points_add(struct qn_mon_points *p, double t, double rss) {
  if (p->group == 0) {
    p->group_t = t;
    p->group_max = rss;
  } else {
    p->group_max = fmax(p->group_max, rss);
  }
  if (++p->group >= p->stride) qn_mon_points_flush(p);
}

/* ----- the run ----- */

struct qn_mon_run {
  const struct qn_monitor_options *opt;
  struct qn_monitor_result *res;
  struct qn_mon_tree tree;
  struct qn_mon_points points;
  struct qn_outfile *csv;
  double mean_acc;
  double t0;
  pid_t child;
  int child_done;
  /* what the run changes in the process, restored at the end */
  sigset_t set, old_mask;
  struct sigaction old_chld;
  int old_subreaper;
};

static double qn_mon_cpu_now(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
         (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
}

static int qn_mon_sample(struct qn_mon_run *r, struct qn_error *err) {
  int64_t bytes;
  int procs;
  struct qn_monitor_result *res = r->res;
  double now = qn_now();
  if (res->samples == 0) r->t0 = now; /* time 0 is the first sample */
  double t = now - r->t0;
  if (qn_mon_walk(&r->tree, (int)getpid(), 0) != QN_OK)
    return qn_error_set(err, QN_ENOMEM, "out of memory walking the process tree");
  qn_mon_sum(&r->tree, &bytes, &procs);
  /* Nothing resident left: CMD has exited and is a zombie not yet reaped
   * (SIGCHLD is on its way). Not a sample of the command's memory. */
  if (procs == 0) return QN_OK;
  if (res->samples == 0 || bytes > res->peak_bytes) {
    res->peak_bytes = bytes;
    res->peak_s = t;
    res->peak_processes = procs;
  }
  res->max_processes = QN_MAX(res->max_processes, procs);
  res->final_bytes = bytes;
  res->samples++;
  r->mean_acc += (double)bytes;
  qn_mon_points_add(&r->points, t, (double)bytes);
  if (r->csv) fprintf(qn_outfile_stream(r->csv), "%.3f,%lld,%d\n", t, (long long)bytes, procs);
  return QN_OK;
}

/* Reaps every child that has exited; notes the status of CMD. Orphans
 * re-parented to us (subreaper) are reaped here too. */
static void qn_mon_reap(struct qn_mon_run *r) {
  int st;
  pid_t p;
  while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
    if (p != r->child) continue;
    r->child_done = 1;
    if (WIFSIGNALED(st)) {
      r->res->term_signal = WTERMSIG(st);
      r->res->exit_code = 128 + WTERMSIG(st);
    } else {
      r->res->exit_code = WEXITSTATUS(st);
    }
  }
}

static void qn_mon_forward(struct qn_mon_run *r, const siginfo_t *info) {
  /* si_code <= 0: sent by a process (kill, sigqueue, tgkill). A terminal's
   * Ctrl-C is sent by the kernel to the whole foreground group, CMD
   * included, and must not reach CMD twice. */
  if (info->si_code <= 0 && info->si_pid != r->child) kill(r->child, info->si_signo);
}

static int qn_mon_loop(struct qn_mon_run *r, struct qn_error *err) {
  int status = QN_OK;
  double interval =
      (r->opt->interval_ms > 0 ? r->opt->interval_ms : QN_MONITOR_DEFAULT_INTERVAL_MS) / 1000.0;
  double next = 0;
  while (!r->child_done) {
    double now = qn_now() - r->t0;
    if (now >= next) {
      QN_CHECK(qn_mon_sample(r, err));
      next += interval;
      if (next <= now) next = now + interval; /* we fell behind: skip, never burst */
      now = qn_now() - r->t0;
    }
    double wait = fmax(next - now, 0);
    struct timespec ts = {(time_t)wait, (long)((wait - floor(wait)) * 1e9)};
    siginfo_t info;
    int sig = sigtimedwait(&r->set, &info, &ts);
    if (sig == SIGCHLD)
      qn_mon_reap(r);
    else if (sig > 0)
      qn_mon_forward(r, &info);
    else if (errno != EAGAIN && errno != EINTR) {
      status = qn_error_set(err, QN_EINTERNAL, "waiting for the command: %s", strerror(errno));
      goto done;
    }
  }
done:
  return status;
}

/* Blocks the signals the loop waits for and makes the caller a subreaper. */
static void qn_mon_enter(struct qn_mon_run *r) {
  struct sigaction dfl;
  sigemptyset(&r->set);
  sigaddset(&r->set, SIGCHLD);
  sigaddset(&r->set, SIGINT);
  sigaddset(&r->set, SIGTERM);
  sigaddset(&r->set, SIGHUP);
  sigaddset(&r->set, SIGQUIT);
  sigprocmask(SIG_BLOCK, &r->set, &r->old_mask);
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL; /* SIG_IGN would auto-reap CMD and lose its status */
  sigaction(SIGCHLD, &dfl, &r->old_chld);
  r->old_subreaper = 0;
  prctl(PR_GET_CHILD_SUBREAPER, &r->old_subreaper);
  prctl(PR_SET_CHILD_SUBREAPER, 1);
}

static void qn_mon_leave(struct qn_mon_run *r) {
  struct timespec zero = {0, 0};
  prctl(PR_SET_CHILD_SUBREAPER, r->old_subreaper);
  /* Consume what is pending so unblocking does not deliver a SIGINT that
   * was meant for (and already forwarded to) CMD. */
  while (sigtimedwait(&r->set, NULL, &zero) > 0) {
  }
  sigaction(SIGCHLD, &r->old_chld, NULL);
  sigprocmask(SIG_SETMASK, &r->old_mask, NULL);
}

/* The forked child: back to the caller's signal state, then exec. On
 * failure the errno goes up the close-on-exec pipe. Never returns. */
static void qn_mon_child(struct qn_mon_run *r, int fd) {
  sigaction(SIGCHLD, &r->old_chld, NULL);
  sigprocmask(SIG_SETMASK, &r->old_mask, NULL);
  execvp(r->opt->argv[0], (char *const *)r->opt->argv);
  int e = errno;
  ssize_t w = write(fd, &e, sizeof e);
  (void)w;
  _exit(QN_MONITOR_EXIT_NOT_STARTED);
}

/* Forks and execs CMD. Returns QN_OK once exec succeeded, QN_ECHILD with
 * the reason when it did not (the child is reaped). */
static int qn_mon_spawn(struct qn_mon_run *r, struct qn_error *err) {
  int status = QN_OK, fds[2] = {-1, -1}, e = 0;
  const char *cmd = r->opt->argv[0];
  ssize_t n;
  if (pipe2(fds, O_CLOEXEC) != 0) {
    status = qn_error_set(err, QN_ECHILD, "cannot run '%s': pipe: %s", cmd, strerror(errno));
    goto done;
  }
  fflush(NULL); /* no buffered output may be written twice */
  pid_t pid = fork();
  if (pid < 0) {
    status = qn_error_set(err, QN_ECHILD, "cannot run '%s': fork: %s", cmd, strerror(errno));
    goto done;
  }
  if (pid == 0) {
    close(fds[0]);
    qn_mon_child(r, fds[1]);
  }
  close(fds[1]);
  fds[1] = -1;
  do n = read(fds[0], &e, sizeof e);
  while (n < 0 && errno == EINTR);
  r->child = pid;
  if (n == (ssize_t)sizeof e) { /* exec failed; EOF means it succeeded */
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
    r->child_done = 1;
    status = qn_error_set(err, QN_ECHILD, "cannot run '%s': %s", cmd, strerror(e));
  }
done:
  if (fds[0] >= 0) close(fds[0]);
  if (fds[1] >= 0) close(fds[1]);
  return status;
}

/* "cmd arg1 arg2" for the plot title, cut with "..." past QN_MON_TITLE_MAX. */
static void qn_mon_cmdline(const char *const *argv, char *buf, size_t cap) {
  size_t n = 0;
  buf[0] = '\0';
  for (int i = 0; argv[i] && n + 1 < cap; i++)
    n += (size_t)snprintf(buf + n, cap - n, "%s%s", i ? " " : "", argv[i]);
  if (n >= QN_MON_TITLE_MAX) strcpy(buf + QN_MON_TITLE_MAX - 4, "...");
}

static int qn_mon_plot(struct qn_mon_run *r, struct qn_error *err) {
  int status = QN_OK;
  const struct qn_monitor_options *opt = r->opt;
  const struct qn_monitor_result *res = r->res;
  struct qn_mon_points *p = &r->points;
  char title[QN_MON_TITLE_MAX + 256], cmd[QN_MON_TITLE_MAX + 64], pk[32], mn[32], fn[32];
  int gib = res->peak_bytes >= ((int64_t)10 << 30);
  double ys = gib ? 1.0 / (1 << 30) : 1.0 / (1 << 20);
  qn_mon_points_flush(p);
  double tmax = p->n ? p->t[p->n - 1] : 0;
  double ts = tmax > 3 * 3600 ? 1 / 3600.0 : tmax > 1200 ? 1 / 60.0 : 1;
  for (size_t i = 0; i < p->n; i++) {
    p->t[i] *= ts;
    p->rss[i] *= ys;
  }
  qn_mon_cmdline(opt->argv, cmd, sizeof cmd);
  if (res->samples > 0)
    snprintf(title, sizeof title, "%s\npeak %s  ·  mean %s  ·  final %s  ·  %.1f s  ·  exit %d",
             opt->title ? opt->title : cmd, qn_format_size(res->peak_bytes, pk, sizeof pk),
             qn_format_size(res->mean_bytes, mn, sizeof mn),
             qn_format_size(res->final_bytes, fn, sizeof fn), res->duration_s, res->exit_code);
  else /* CMD ended before the first sample: say so over an empty axis */
    snprintf(title, sizeof title, "%s\nno sample: the command ended within %.3f s  ·  exit %d",
             opt->title ? opt->title : cmd, res->duration_s, res->exit_code);
  double zero = 0;
  struct qn_plot_series s = {p->n ? p->t : &zero, p->n ? p->rss : &zero, p->n ? p->n : 1, NULL};
  status = qn_plot_lines(opt->plot_path, opt->plot_width > 0 ? opt->plot_width : 1200,
                         opt->plot_height > 0 ? opt->plot_height : 675, title,
                         ts == 1          ? "time (s)"
                         : ts > 1 / 100.0 ? "time (min)"
                                          : "time (h)",
                         gib ? "memory (GiB)" : "memory (MiB)", &s, 1, p->n > 0, err);
  return status;
}

void qn_monitor_options_init(struct qn_monitor_options *opt) {
  memset(opt, 0, sizeof *opt);
  opt->interval_ms = QN_MONITOR_DEFAULT_INTERVAL_MS;
}

static int qn_mon_check(const struct qn_monitor_options *opt, struct qn_error *err) {
  if (!opt || !opt->argv || !opt->argv[0] || !opt->argv[0][0])
    return qn_error_set(err, QN_EINVAL, "no command to monitor");
  if (opt->interval_ms < 0 || opt->interval_ms > QN_MONITOR_MAX_INTERVAL_MS)
    return qn_error_set(err, QN_EINVAL, "interval must be 1 .. %d ms, got %d",
                        QN_MONITOR_MAX_INTERVAL_MS, opt->interval_ms);
  int w = opt->plot_width, h = opt->plot_height;
  if ((w && (w < 100 || w > 10000)) || (h && (h < 100 || h > 10000)))
    return qn_error_set(err, QN_EINVAL, "plot size %dx%d is outside 100 .. 10000", w, h);
  return QN_OK;
}

/* Creates the CSV (header written) and proves the plot's directory is
 * writable, both before CMD runs. */
static int qn_mon_outputs(struct qn_mon_run *r, struct qn_error *err) {
  int status = QN_OK;
  struct qn_outfile *probe = NULL;
  if (r->opt->plot_path) {
    QN_CHECK(qn_outfile_open(r->opt->plot_path, &probe, err));
    qn_outfile_abort(probe);
  }
  if (r->opt->csv_path) {
    QN_CHECK(qn_outfile_open(r->opt->csv_path, &r->csv, err));
    fputs("t_s,rss_bytes,processes\n", qn_outfile_stream(r->csv));
  }
done:
  return status;
}

static int qn_mon_finish(struct qn_mon_run *r, struct qn_error *err) {
  int status = QN_OK;
  struct qn_monitor_result *res = r->res;
  struct rusage ru;
  if (res->samples > 0) res->mean_bytes = (int64_t)llround(r->mean_acc / (double)res->samples);
  if (getrusage(RUSAGE_CHILDREN, &ru) == 0)
    res->max_rss_process_bytes = (int64_t)ru.ru_maxrss * 1024; /* ru_maxrss is in KiB */
  if (r->csv) {
    struct qn_outfile *csv = r->csv;
    r->csv = NULL;
    QN_CHECK(qn_outfile_commit(csv, err));
  }
  if (r->opt->plot_path) QN_CHECK(qn_mon_plot(r, err));
done:
  return status;
}

int qn_monitor_run(const struct qn_monitor_options *opt, struct qn_monitor_result *res,
                   struct qn_error *err) {
  int status = QN_OK, entered = 0;
  struct qn_mon_run r;
  memset(&r, 0, sizeof r);
  memset(res, 0, sizeof *res);
  res->exit_code = QN_MONITOR_EXIT_NOT_STARTED;
  r.opt = opt;
  r.res = res;
  QN_CHECK(qn_mon_check(opt, err));
  if (qn_mon_tree_init(&r.tree) != QN_OK || qn_mon_points_init(&r.points) != QN_OK) {
    status = qn_error_set(err, QN_ENOMEM, "out of memory starting the monitor");
    goto done;
  }
  QN_CHECK(qn_mon_outputs(&r, err));
  qn_mon_enter(&r);
  entered = 1;
  QN_CHECK(qn_mon_spawn(&r, err));
  res->started = 1;
  r.t0 = qn_now();
  double cpu0 = qn_mon_cpu_now();
  status = qn_mon_loop(&r, err);
  res->cpu_s = qn_mon_cpu_now() - cpu0;
  res->duration_s = qn_now() - r.t0;
  if (status != QN_OK) { /* cannot wait any more: do not leave CMD behind */
    kill(r.child, SIGKILL);
    while (waitpid(r.child, NULL, 0) < 0 && errno == EINTR) {
    }
    goto done;
  }
  qn_mon_reap(&r); /* orphans that exited with CMD */
  qn_mon_leave(&r);
  entered = 0;
  status = qn_mon_finish(&r, err);
done:
  if (entered) qn_mon_leave(&r);
  qn_outfile_abort(r.csv);
  qn_mon_tree_reset(&r.tree);
  qn_mon_points_reset(&r.points);
  return status;
}
