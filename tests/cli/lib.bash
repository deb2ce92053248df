# lib.bash — shared by the CLI test scripts (sourced, not a test itself).
# run_quern EXPECTED_RC ARGS...: runs quern, keeps stdout/stderr in $out/$err,
# fails the test when the exit code differs.
set -euo pipefail
: "${QUERN:?set QUERN to the quern binary}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0
out="$work/.stdout"; err="$work/.stderr"

run_quern() {
  local want=$1; shift
  local rc=0
  "$QUERN" "$@" >"$out" 2>"$err" || rc=$?
  if [ "$rc" != "$want" ]; then
    echo "FAIL: quern $* exited $rc, expected $want"; sed 's/^/  stderr: /' "$err" | head -5
    fails=$((fails + 1)); return 0
  fi
}

# expect_err TEXT...: stderr is one 'quern: error:' line containing every TEXT
expect_err() {
  if [ "$(grep -c '^quern: error: ' "$err")" != 1 ]; then
    echo "FAIL: expected one 'quern: error:' line, got:"; sed 's/^/  /' "$err" | head -5
    fails=$((fails + 1)); return 0
  fi
  for t in "$@"; do
    if ! grep -qF -- "$t" "$err"; then
      echo "FAIL: error message lacks '$t':"; sed 's/^/  /' "$err" | head -3
      fails=$((fails + 1))
    fi
  done
}

check() { # check DESCRIPTION COMMAND...: the command must succeed
  local what=$1; shift
  if ! "$@"; then echo "FAIL: $what"; fails=$((fails + 1)); fi
}

finish() {
  if [ "$fails" -ne 0 ]; then echo "$fails check(s) failed"; exit 1; fi
  echo "all checks passed"
}
