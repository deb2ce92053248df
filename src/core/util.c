/* util.c — small helpers: strings, sizes, clocks, memory facts of the host. */
#include "qn_core.h"

#include <ctype.h>
#include <math.h>
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
