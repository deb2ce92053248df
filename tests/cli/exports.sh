#!/usr/bin/env bash
# exports.sh — libquern.so exports exactly the API: every dynamic symbol it
# defines is a function declared in include/quern.h, and every function
# declared there is exported (so a caller linking the shared library finds
# all of them and nothing else). Declarations are read from the
# preprocessed header, so comments that name functions do not count.
set -euo pipefail
: "${QN_SRC:?set QN_SRC to the source tree}" "${QN_BUILD:?set QN_BUILD to the build tree}"
lib="$QN_BUILD/libquern.so"
[ -f "$lib" ] || { echo "FAIL: $lib not built"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cc -E -P -I "$QN_SRC/include" "$QN_SRC/include/quern.h" |
  grep -oE '\bqn_[a-z0-9_]+ *\(' | tr -d ' (' | sort -u >"$tmp/declared"
nm -D --defined-only "$lib" | awk '{print $3}' | sort -u >"$tmp/exported"
nm -D --defined-only "$lib" | awk '$2 != "T" {print $3 " (" $2 ")"}' >"$tmp/not_code"

fails=0
declared=$(wc -l <"$tmp/declared")
exported=$(wc -l <"$tmp/exported")
# the header must have been read at all (a broken extraction finds nothing)
if [ "$declared" -lt 60 ]; then
  echo "FAIL: found only $declared functions in quern.h"
  fails=$((fails + 1))
fi
extra=$(comm -13 "$tmp/declared" "$tmp/exported")
missing=$(comm -23 "$tmp/declared" "$tmp/exported")
if [ -n "$extra" ]; then
  echo "FAIL: $(echo "$extra" | wc -l) exported symbols are not declared in quern.h:"
  echo "$extra" | head -20 | sed 's/^/  /'
  fails=$((fails + 1))
fi
if [ -n "$missing" ]; then
  echo "FAIL: declared in quern.h but not exported:"
  echo "$missing" | sed 's/^/  /'
  fails=$((fails + 1))
fi
if [ -s "$tmp/not_code" ]; then
  echo "FAIL: exported symbols that are not functions:"
  sed 's/^/  /' "$tmp/not_code"
  fails=$((fails + 1))
fi
[ "$fails" -eq 0 ] || exit 1
echo "exports: $exported symbols, the $declared functions of quern.h"
