/* util.c — small helpers: strings, sizes, clocks, and the facts of the host
 * the defaults come from: physical memory, the cgroup's memory limit, the
 * CPUs this process may run on. */
#include "qn_core.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

char *qn_strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *p = malloc(n);
  if (p) memcpy(p, s, n);
  return p;
}

int qn_str_has_suffix(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

int64_t qn_physical_memory(void) {
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  return (pages > 0 && page > 0) ? (int64_t)pages * page : 0;
}

int qn_cpus_allowed(void) {
  /* The kernel's mask may be larger than cpu_set_t's 1024 CPUs: grow the
   * set until sched_getaffinity stops saying EINVAL. */
  long conf = sysconf(_SC_NPROCESSORS_CONF);
  for (int n = conf > 0 && conf < (1 << 20) ? (int)conf : 1024; n <= (1 << 20); n *= 2) {
    cpu_set_t *set = CPU_ALLOC(n);
    if (!set) break;
    size_t size = CPU_ALLOC_SIZE(n);
    int count = sched_getaffinity(0, size, set) == 0 ? CPU_COUNT_S(size, set) : -1;
    int e = errno;
    CPU_FREE(set);
    if (count > 0) return count;
    if (count < 0 && e != EINVAL) break;
  }
  long online = sysconf(_SC_NPROCESSORS_ONLN);
  return online > 0 ? (int)online : 1;
}

/* ----- the cgroup's memory limit -----
 * /proc/self/cgroup names the process's cgroup in each hierarchy ("0::PATH"
 * for v2, "N:memory,...:PATH" for v1's memory controller); PATH is relative
 * to the hierarchy's root, and /proc/self/mountinfo says where that
 * hierarchy is mounted and which of its directories the mount shows (a
 * container sees its own cgroup as the mount's top). The limit that binds
 * is the smallest on the way from the process's cgroup up to the mount. */

/* Copies a mountinfo field, decoding the octal escapes (\040 for a space). */
static void qn_mountinfo_field(const char *in, char *out, size_t cap) {
  size_t n = 0;
  while (*in && n + 1 < cap) {
    if (in[0] == '\\' && in[1] >= '0' && in[1] <= '3' && in[2] >= '0' && in[2] <= '7' &&
        in[3] >= '0' && in[3] <= '7') {
      out[n++] = (char)((in[1] - '0') * 64 + (in[2] - '0') * 8 + (in[3] - '0'));
      in += 4;
    } else {
      out[n++] = *in++;
    }
  }
  out[n] = '\0';
}

struct qn_cgroup_mount {
  char root[PATH_MAX];  /* the hierarchy's directory the mount shows */
  char point[PATH_MAX]; /* where it is mounted */
};

/* Finds the v2 mount (v2 != 0) or v1's memory mount in mountinfo. */
static int qn_cgroup_find_mount(const char *root, int v2, struct qn_cgroup_mount *m) {
  char path[PATH_MAX], line[4096];
  snprintf(path, sizeof path, "%s/proc/self/mountinfo", root);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  int found = -1;
  while (found < 0 && fgets(line, sizeof line, f)) {
    char mroot[PATH_MAX], point[PATH_MAX], fstype[64], opts[1024];
    const char *dash = strstr(line, " - ");
    if (!dash || sscanf(line, "%*s %*s %*s %4095s %4095s", mroot, point) != 2 ||
        sscanf(dash + 3, "%63s %*s %1023s", fstype, opts) != 2)
      continue;
    int ok = v2 ? strcmp(fstype, "cgroup2") == 0 : strcmp(fstype, "cgroup") == 0;
    if (ok && !v2) { /* the super options list the controllers: "rw,memory" */
      ok = 0;
      char *save = NULL;
      for (char *t = strtok_r(opts, ",", &save); t && !ok; t = strtok_r(NULL, ",", &save))
        ok = strcmp(t, "memory") == 0;
    }
    if (!ok) continue;
    qn_mountinfo_field(mroot, m->root, sizeof m->root);
    qn_mountinfo_field(point, m->point, sizeof m->point);
    found = 0;
  }
  fclose(f);
  return found;
}

/* The process's cgroup path in the v2 hierarchy or v1's memory one. */
static int qn_cgroup_self_path(const char *root, int v2, char *out, size_t cap) {
  char path[PATH_MAX], line[4096];
  snprintf(path, sizeof path, "%s/proc/self/cgroup", root);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  int found = -1;
  while (found < 0 && fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = '\0';
    char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2) continue;
    *c2 = '\0';
    const char *ctrls = c1 + 1;
    int ok = v2 ? ctrls[0] == '\0' : 0;
    if (!v2) {
      char *save = NULL;
      for (char *t = strtok_r(c1 + 1, ",", &save); t && !ok; t = strtok_r(NULL, ",", &save))
        ok = strcmp(t, "memory") == 0;
    }
    if (ok && (size_t)snprintf(out, cap, "%s", c2 + 1) < cap) found = 0;
  }
  fclose(f);
  return found;
}

/* A limit file's value: bytes, or 0 for "max", a missing file or nonsense. */
static int64_t qn_cgroup_read_limit(const char *path) {
  char buf[64] = "";
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  int ok = fgets(buf, sizeof buf, f) != NULL;
  fclose(f);
  if (!ok) return 0;
  char *end = NULL;
  errno = 0;
  unsigned long long v = strtoull(buf, &end, 10);
  if (end == buf || errno || v == 0 || v > (unsigned long long)INT64_MAX) return 0;
  return (int64_t)v; /* v1's "no limit" is a huge page-rounded number */
}

/* The smallest limit in `file` from the process's cgroup up to the mount. */
static int64_t qn_cgroup_hierarchy_limit(const char *root, int v2, const char *file) {
  struct qn_cgroup_mount m;
  char self[PATH_MAX], dir[3 * PATH_MAX], path[4 * PATH_MAX];
  if (qn_cgroup_find_mount(root, v2, &m) != 0 ||
      qn_cgroup_self_path(root, v2, self, sizeof self))
    return 0;
  /* The part of the path below the mount's root; a cgroup outside what the
   * mount shows (or a path with "..", seen across namespaces) counts as its
   * top. */
  const char *rel = self;
  size_t rl = strlen(m.root);
  if (strcmp(m.root, "/") != 0) {
    if (strncmp(self, m.root, rl) == 0 && (self[rl] == '/' || self[rl] == '\0'))
      rel = self + rl;
    else
      rel = "";
  }
  if (strstr(rel, "/..")) rel = "";
  snprintf(dir, sizeof dir, "%s%s%s", root, m.point, rel);
  size_t top = strlen(root) + strlen(m.point);
  int64_t best = 0;
  for (;;) {
    snprintf(path, sizeof path, "%s/%s", dir, file);
    int64_t v = qn_cgroup_read_limit(path);
    if (v > 0 && (best == 0 || v < best)) best = v;
    char *slash = strrchr(dir, '/');
    if (strlen(dir) <= top || !slash || (size_t)(slash - dir) < top) break;
    *slash = '\0';
  }
  return best;
}

int64_t qn_cgroup_memory_limit(const char *root) {
  if (!root) root = "";
  int64_t v2 = qn_cgroup_hierarchy_limit(root, 1, "memory.max");
  int64_t v1 = qn_cgroup_hierarchy_limit(root, 0, "memory.limit_in_bytes");
  if (v1 > 0 && (v2 == 0 || v1 < v2)) return v1;
  return v2;
}

int64_t qn_self_rss(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  if (!f) return 0;
  long size = 0, resident = 0;
  int ok = fscanf(f, "%ld %ld", &size, &resident) == 2;
  fclose(f);
  return ok ? (int64_t)resident * sysconf(_SC_PAGESIZE) : 0;
}

double qn_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int qn_parse_size(const char *text, int64_t *bytes, struct qn_error *err) {
  if (!text || !*text) return qn_error_set(err, QN_EINVAL, "empty size");
  char *end = NULL;
  double v = strtod(text, &end);
  if (end == text || !isfinite(v) || v < 0)
    return qn_error_set(err, QN_EINVAL, "bad size '%s' (expected e.g. 512M, 2G, 1.5G)", text);
  double mult = 1;
  if (*end) {
    switch (toupper((unsigned char)*end)) {
      case 'B':
        mult = 1;
        break;
      case 'K':
        mult = 1024.0;
        break;
      case 'M':
        mult = 1024.0 * 1024;
        break;
      case 'G':
        mult = 1024.0 * 1024 * 1024;
        break;
      case 'T':
        mult = 1024.0 * 1024 * 1024 * 1024;
        break;
      default:
        return qn_error_set(err, QN_EINVAL, "bad size '%s' (unit must be K, M, G or T)", text);
    }
    end++;
    if (*end == 'i' || *end == 'I') end++;
    if (*end == 'B' || *end == 'b') end++;
    if (*end)
      return qn_error_set(err, QN_EINVAL, "bad size '%s' (expected e.g. 512M, 2G, 1.5G)", text);
  }
  double b = v * mult;
  if (b >= 9.0e18) return qn_error_set(err, QN_EINVAL, "size '%s' is too large", text);
  if (b < 1) return qn_error_set(err, QN_EINVAL, "size '%s' must be positive", text);
  *bytes = (int64_t)b;
  return QN_OK;
}

char *qn_format_size(int64_t bytes, char *buf, size_t cap) {
  static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = (double)bytes;
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    u++;
  }
  if (u == 0)
    snprintf(buf, cap, "%lld B", (long long)bytes);
  else
    snprintf(buf, cap, "%.1f %s", v, units[u]);
  return buf;
}
