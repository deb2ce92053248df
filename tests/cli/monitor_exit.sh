#!/usr/bin/env bash
# quern monitor passes the command's exit status through: its code, 128+N
# when signal N kills it, 127 when it cannot start (with one 'quern: error:'
# line and no output file); 2 for usage errors; 1 when an output cannot be
# created (and then the command is not run).
set -u
QUERN=${QUERN:?path to quern}; MEMHOG=${QN_BUILD:?}/tests/memhog
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

expect() { # expect CODE DESCRIPTION -- ARGS...
  local want=$1 what=$2; shift 2
  "$QUERN" monitor "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  [ "$got" -eq "$want" ] || fail "$what: exit $got, expected $want; stderr: $(cat "$tmp/err")"
}

expect 0 "exit 0" -- "$MEMHOG" 5:100
grep -q '^  exit      0$' "$tmp/err" || fail "summary lacks 'exit 0'"
expect 3 "exit 3" -- "$MEMHOG" --exit 3 5:100
grep -q '^  exit      3$' "$tmp/err" || fail "summary lacks 'exit 3'"
expect 42 "exit 42 from a shell" -- sh -c 'exit 42'
expect 137 "SIGKILL" -- "$MEMHOG" --signal 9 5:100
grep -q 'exit      137 (killed by signal 9)' "$tmp/err" || fail "summary lacks the signal: $(cat "$tmp/err")"
expect 143 "SIGTERM" -- "$MEMHOG" --signal 15 5:100
expect 134 "SIGABRT in a forked pair" -- "$MEMHOG" --fork --signal 6 5:100

expect 127 "unknown command" -o "$tmp/none.csv" -- quern-no-such-command-xyz arg
grep -q "^quern: error: cannot run 'quern-no-such-command-xyz': No such file or directory$" "$tmp/err" \
  || fail "unknown command message: $(cat "$tmp/err")"
[ ! -e "$tmp/none.csv" ] || fail "a CSV was written for a command that never started"
[ -z "$(ls -A "$tmp" | grep tmp-)" ] || fail "temporary file left behind: $(ls -A "$tmp")"
expect 127 "not executable" -- /dev/null

expect 2 "interval 0" --interval 0 -- true
grep -q '^quern: error: --interval' "$tmp/err" || fail "bad interval message: $(cat "$tmp/err")"
expect 2 "interval abc" --interval abc -- true
expect 2 "no command" --interval 10
expect 2 "unknown option" --bogus -- true
expect 2 "bad plot size" --plot "$tmp/p.png" --plot-size 10x10 -- true

# Options after CMD belong to CMD, not to quern.
expect 5 "CMD options untouched" -- sh -c 'exit $#' sh -o --interval 0 --help -q
# An output that cannot be created fails before CMD runs.
expect 1 "unwritable CSV" -o "$tmp/no/such/dir/x.csv" -- touch "$tmp/ran"
[ ! -e "$tmp/ran" ] || fail "CMD ran although the CSV could not be created"
grep -q '^quern: error: cannot create output' "$tmp/err" || fail "message: $(cat "$tmp/err")"
expect 1 "unwritable plot" --plot "$tmp/no/such/dir/x.png" -- touch "$tmp/ran"
[ ! -e "$tmp/ran" ] || fail "CMD ran although the plot could not be created"

"$QUERN" monitor --help | grep -q -- '--interval MS' || fail "--help lacks --interval"
echo "ok monitor_exit"
