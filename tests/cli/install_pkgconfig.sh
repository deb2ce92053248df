#!/usr/bin/env bash
# install_pkgconfig.sh — a C program built against the *installed* library,
# as a user of libquern builds it: `cmake --install` into a fresh,
# non-default prefix, then `cc prog.c $(pkg-config --cflags --libs quern)`
# with PKG_CONFIG_PATH pointing there, run with LD_LIBRARY_PATH from the pc
# file's libdir. The program runs qn_stats_run on a CSV and prints what it
# found, which is compared with the values written. Then the same program
# is linked statically against libquern.a with `pkg-config --static` (the
# shared library removed from that copy of the prefix) and must give the
# same answer without libquern.so.
set -euo pipefail
: "${QN_SRC:?set QN_SRC to the source tree}" "${QN_BUILD:?set QN_BUILD to the build tree}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

prefix="$tmp/inst/prefix"
cmake --install "$QN_BUILD" --prefix "$prefix" >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log"; echo "FAIL: cmake --install"; exit 1; }
pc=$(find "$prefix" -name quern.pc)
[ -n "$pc" ] || { echo "FAIL: no quern.pc installed under $prefix"; exit 1; }
export PKG_CONFIG_PATH
PKG_CONFIG_PATH=$(dirname "$pc")
# the pc file must point into this prefix, wherever that is
pc_prefix=$(cd "$(pkg-config --variable=prefix quern)" && pwd -P)
[ "$pc_prefix" = "$(cd "$prefix" && pwd -P)" ] || fail "quern.pc's prefix is $pc_prefix, not $prefix"
libdir=$(pkg-config --variable=libdir quern)
[ -f "$libdir/libquern.so" ] || fail "no libquern.so in the pc file's libdir $libdir"
[ -f "$(pkg-config --variable=includedir quern)/quern.h" ] || fail "no quern.h in the pc file's includedir"
[ "$(pkg-config --modversion quern)" = "$(sed -n 's/^#define QN_VERSION_STRING "\(.*\)"/\1/p' "$QN_SRC/include/quern.h")" ] ||
  fail "pkg-config --modversion quern is $(pkg-config --modversion quern)"

cat >"$tmp/prog.c" <<'C'
/* Summarises column b of a CSV with the public API only. */
#include <quern.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  struct qn_error err;
  qn_error_init(&err);
  struct qn_context_options co;
  qn_context_options_init(&co);
  co.threads = 2;
  co.progress = 0;
  struct qn_context *ctx = NULL;
  struct qn_source *src = NULL;
  struct qn_stats_result *res = NULL;
  const char *inputs[] = {argv[1]};
  const char *cols[] = {"b"};
  struct qn_stats_options so;
  qn_stats_options_init(&so);
  so.columns = cols;
  so.ncolumns = 1;
  int st = qn_context_new(&co, &ctx, &err);
  if (st == QN_OK) st = qn_source_open(ctx, inputs, 1, &src, &err);
  if (st == QN_OK) st = qn_stats_run(ctx, src, &so, &res, &err);
  if (st == QN_OK) {
    const struct qn_column_stats *s = qn_stats_result_get(res, -1, 0);
    printf("%s %s count=%lld min=%g max=%g mean=%g\n", qn_version(),
           qn_stats_result_column_name(res, 0), (long long)s->count, s->min, s->max, s->mean);
  } else {
    fprintf(stderr, "prog: %s\n", err.message);
  }
  qn_stats_result_free(res);
  qn_source_close(src);
  qn_context_free(ctx);
  return st == QN_OK ? 0 : 1;
}
C
{
  echo "a,b"
  for i in $(seq 1 1000); do echo "$i,$((i % 7)).5"; done
} >"$tmp/data.csv"
# b = (i mod 7) + 0.5 for i = 1..1000 (numpy: mean 3.503)
want="$(sed -n 's/^#define QN_VERSION_STRING "\(.*\)"/\1/p' "$QN_SRC/include/quern.h") b count=1000 min=0.5 max=6.5 mean=3.503"

# shellcheck disable=SC2046 # pkg-config's output is meant to be split
cc -std=c11 -Wall -Wextra -Werror -o "$tmp/prog" "$tmp/prog.c" $(pkg-config --cflags --libs quern) ||
  { echo "FAIL: cc with pkg-config --cflags --libs quern"; exit 1; }
got=$(LD_LIBRARY_PATH="$libdir" "$tmp/prog" "$tmp/data.csv") || fail "the shared-linked program failed: $got"
[ "$got" = "$want" ] || fail "shared: got '$got', want '$want'"
# (ldd's output is kept first: `ldd | grep -q` fails under pipefail when
# grep exits before ldd has written everything)
deps=$(LD_LIBRARY_PATH="$libdir" ldd "$tmp/prog")
grep -qF "libquern.so.0 => $libdir/libquern.so.0" <<<"$deps" ||
  fail "the program did not load libquern from $libdir: $(grep quern <<<"$deps")"

# static: the same prefix without the shared library
static="$tmp/static/prefix"
mkdir -p "$tmp/static" && cp -a "$prefix" "$static"
find "$static" -name 'libquern.so*' -delete
PKG_CONFIG_PATH=$(dirname "$(find "$static" -name quern.pc)")
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror -o "$tmp/prog_static" "$tmp/prog.c" $(pkg-config --static --cflags --libs quern) ||
  { echo "FAIL: cc with pkg-config --static --cflags --libs quern"; exit 1; }
deps=$(ldd "$tmp/prog_static")
if grep -q libquern <<<"$deps"; then fail "the static program still loads libquern.so"; fi
got=$("$tmp/prog_static" "$tmp/data.csv") || fail "the static program failed: $got"
[ "$got" = "$want" ] || fail "static: got '$got', want '$want'"

[ "$fails" -eq 0 ] || exit 1
echo "install_pkgconfig: built with pkg-config from $prefix (shared and static): $got"
