#!/usr/bin/env bash
# Every C source and header of the tree is laid out by the checked-in
# .clang-format (Debian 12's clang-format 14): layout stays out of reviews.
set -euo pipefail
cd "${QN_SRC:?}"
command -v clang-format >/dev/null || { echo "FAIL: clang-format not installed (scripts/bootstrap.sh installs it)"; exit 1; }
mapfile -t files < <(find include src tools tests bench python -name '*.[ch]' \
  -not -path '*/node_modules/*' 2>/dev/null | sort)
[ "${#files[@]}" -gt 50 ] || { echo "FAIL: found only ${#files[@]} C files"; exit 1; }
if ! clang-format --dry-run --Werror "${files[@]}" 2>"${TMPDIR:-/tmp}/qn_format.$$"; then
  grep -E '^[^ ].*error:' "${TMPDIR:-/tmp}/qn_format.$$" | cut -d: -f1 | sort -u | sed 's/^/FAIL: not clang-formatted: /'
  rm -f "${TMPDIR:-/tmp}/qn_format.$$"
  echo "fix with: clang-format -i FILE"
  exit 1
fi
rm -f "${TMPDIR:-/tmp}/qn_format.$$"
echo "ok: ${#files[@]} files formatted"
